/**
 * The model's Provisioning Certification Service: a simulated stand-in for Intel's PCS. It is NOT
 * Intel's: its root is "Witness SGX Root CA" under "Witness (simulated)", its keys come from a seed
 * or the provider's random bytes, and nothing it signs chains to Intel's SGX Root CA. Its
 * certificates follow the "Intel SGX PCK Certificate and Certificate Revocation List Profile
 * Specification" (P-256, ecdsa-with-SHA256, X.509 v3; the same extensions, criticality and key
 * usages), and its collateral follows the PCS API v4 formats (TCB Info v3, QE Identity v2, CRLs).
 *
 * Hierarchy (as Intel's): Root CA (self-signed, CA pathLen 1) → Platform CA (CA pathLen 0) →
 * PCK certificates; Root CA → TCB Signing certificate (signs TCB Info and QE Identity).
 */
import { fromHex } from '../lib/bytes.js';
import { defaultCrypto } from '../lib/crypto/default.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { DEFAULT_CPUSVN } from '../arch/index.js';
import { AttestError } from './errors.js';
import { WITNESS_AE_MRSIGNER, QE_ISVPRODID, QE_ISVSVN, PCE_ISVSVN } from './identities.js';
import { encodeQeIdentity, encodeTcbInfo, type QeTcbLevel, type TcbLevel, type QeIdentity, type TcbInfo } from './collateral.js';
import { encodeSgxExtensions, parsePckCertificate, SGX_EXTENSION_OID, SGX_TYPE, type PckCertificate } from './pck.js';
import {
  KEY_USAGE, authorityKeyIdExtension, basicConstraintsExtension, crlDistributionPointExtension, encodeExtension, keyIdentifier, keyUsageExtension,
  parseCertificate, parseCrl, pemDecodeAll, pemEncode, signCertificate, signCrl, subjectKeyIdExtension, verifyCertificateChain, type Certificate, type NameSpec,
} from './x509.js';

/** Names of the simulated hierarchy (Intel's shape: CN, O, L, ST, C; not Intel's names). */
const ORG: NameSpec = [['O', 'Witness (simulated)'], ['L', 'Nowhere'], ['ST', 'NA'], ['C', 'ZZ']];
export const PCS_NAMES = {
  root: [['CN', 'Witness SGX Root CA'], ...ORG] as NameSpec,
  platformCa: [['CN', 'Witness SGX PCK Platform CA'], ...ORG] as NameSpec,
  pck: [['CN', 'Witness SGX PCK Certificate'], ...ORG] as NameSpec,
  tcbSigning: [['CN', 'Witness SGX TCB Signing'], ...ORG] as NameSpec,
} as const;

/** Default FMSPC: ASCII "WIT" then zeros, chosen to match no real platform. */
export const DEFAULT_FMSPC = fromHex('574954000000');
/** Default PCE-ID 0000 (the PCE ID Intel's PCE reports). */
export const DEFAULT_PCE_ID = fromHex('0000');

/**
 * Default TCB levels, highest first: a Witness platform as created by default (CPUSVN
 * DEFAULT_CPUSVN, the Witness PCE's PCESVN) is UpToDate; everything lower is OutOfDate.
 */
export const DEFAULT_TCB_LEVELS: readonly TcbLevel[] = [
  { components: [...DEFAULT_CPUSVN], pcesvn: PCE_ISVSVN, tcbDate: '2026-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
  { components: new Array<number>(16).fill(0), pcesvn: 0, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['WITNESS-SA-00001'] },
];

/** The QE identity the service publishes. */
export interface QeIdentityOptions {
  readonly mrsigner: Uint8Array;
  readonly isvProdId?: number;
  /** Highest first. */
  readonly tcbLevels?: readonly QeTcbLevel[];
  readonly miscselect?: number;
  readonly miscselectMask?: number;
  readonly attributes?: Uint8Array;
  readonly attributesMask?: Uint8Array;
}

/**
 * Default QE identity: the Witness QE (identities.ts: its MRSIGNER, ISVPRODID 1), levels ISVSVN
 * QE_ISVSVN UpToDate / 0 OutOfDate; MISCSELECT 0 under mask FFFFFFFF; ATTRIBUTES 0x11 (INIT |
 * PROVISIONKEY) under mask FBFFFFFFFFFFFFFF0…0 (the masks and values Intel's QE identity publishes).
 */
export function defaultQeIdentity(): Required<QeIdentityOptions> {
  return {
    mrsigner: WITNESS_AE_MRSIGNER.slice(),
    isvProdId: QE_ISVPRODID,
    tcbLevels: [
      { isvsvn: QE_ISVSVN, tcbDate: '2026-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
      { isvsvn: 0, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'OutOfDate' },
    ],
    miscselect: 0,
    miscselectMask: 0xffffffff,
    attributes: fromHex('11000000000000000000000000000000'),
    attributesMask: fromHex('fbffffffffffffff0000000000000000'),
  };
}

export interface PcsOptions {
  /** Deterministic keys and serials: each derived from the seed with HKDF-SHA256. Default: random. */
  readonly seed?: Uint8Array;
  readonly crypto?: CryptoProvider;
  /** 6 bytes; default DEFAULT_FMSPC. */
  readonly fmspc?: Uint8Array;
  /** 2 bytes; default DEFAULT_PCE_ID. */
  readonly pceId?: Uint8Array;
  /** TCB Info levels, highest first; default DEFAULT_TCB_LEVELS. */
  readonly tcbLevels?: readonly TcbLevel[];
  readonly tcbEvaluationDataNumber?: number;
  readonly qeIdentity?: QeIdentityOptions;
  /** The service's clock (certificate validity starts, collateral issue dates); default the wall clock. */
  readonly now?: () => Date;
}

export interface PckRequest {
  /** The PCK public key, x ‖ y. */
  readonly publicKey: Uint8Array;
  readonly ppid: Uint8Array;
  readonly cpusvn: Uint8Array;
  readonly pcesvn: number;
  /** 2 bytes; default the service's PCE-ID. */
  readonly pceId?: Uint8Array;
  /** 6 bytes; default the service's FMSPC. */
  readonly fmspc?: Uint8Array;
  /** Standard (0) only. */
  readonly sgxType?: number;
}

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly serial: bigint;
}

/** sgx_ql_qve_collateral_t's contents (sgx_qve_header.h / the QvE's collateral), as the service serves them. */
export interface QuoteCollateral {
  /** PEM: Platform CA ‖ Root CA (PCK-CRL-Issuer-Chain). */
  readonly pckCrlIssuerChain: string;
  /** DER. */
  readonly rootCaCrl: Uint8Array;
  /** DER, issued by the Platform CA. */
  readonly pckCrl: Uint8Array;
  /** PEM: TCB Signing ‖ Root CA (TCB-Info-Issuer-Chain). */
  readonly tcbInfoIssuerChain: string;
  readonly tcbInfo: string;
  /** PEM: TCB Signing ‖ Root CA (SGX-Enclave-Identity-Issuer-Chain). */
  readonly qeIdentityIssuerChain: string;
  readonly qeIdentity: string;
}

export interface ProvisioningCertificationService {
  readonly rootCertificate: IssuedCertificate;
  readonly platformCaCertificate: IssuedCertificate;
  readonly tcbSigningCertificate: IssuedCertificate;
  readonly fmspc: Uint8Array;
  readonly pceId: Uint8Array;
  /** A PCK certificate for a platform key, signed by the Platform CA. TCB component i = CPUSVN byte i (model choice). */
  issuePckCertificate(request: PckRequest): IssuedCertificate;
  /** PCK ‖ Platform CA ‖ Root CA as concatenated PEM (a quote's certification data type 5). */
  pckCertChainPem(pck: IssuedCertificate | string): string;
  /** Signed TCB Info v3 JSON for the service's FMSPC. */
  tcbInfo(): string;
  tcbInfoIssuerChain(): string;
  /** Signed QE Identity v2 JSON. */
  qeIdentity(): string;
  qeIdentityIssuerChain(): string;
  /** Revoke a certificate this service issued (PCK → PCK CRL; Platform CA or TCB Signing → Root CA CRL). */
  revoke(serial: bigint): void;
  /** The Root CA's CRL (DER). */
  rootCaCrl(): Uint8Array;
  /** The Platform CA's CRL of PCK certificates (DER). */
  pckCrl(): Uint8Array;
  /** Everything a verifier needs besides the quote and the trusted root. */
  collateral(): QuoteCollateral;
}

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const second = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** Create a simulated PCS. @throws {AttestError} PCS_PARAMS for a wrong-sized option. */
export function createProvisioningCertificationService(options: PcsOptions = {}): ProvisioningCertificationService {
  const crypto = options.crypto ?? defaultCrypto();
  const now = options.now ?? (() => new Date());
  const seed = options.seed ?? crypto.randomBytes(32);
  const fmspc = (options.fmspc ?? DEFAULT_FMSPC).slice();
  const pceId = (options.pceId ?? DEFAULT_PCE_ID).slice();
  if (fmspc.length !== 6) throw new AttestError('PCS_PARAMS', 'fmspc: 6 bytes', { field: 'fmspc' });
  if (pceId.length !== 2) throw new AttestError('PCS_PARAMS', 'pceId: 2 bytes', { field: 'pceId' });
  const tcbLevels = options.tcbLevels ?? DEFAULT_TCB_LEVELS;
  const qe = { ...defaultQeIdentity(), ...(options.qeIdentity ?? {}) };
  if (qe.mrsigner.length !== 32) throw new AttestError('PCS_PARAMS', 'qeIdentity.mrsigner: 32 bytes', { field: 'qeIdentity.mrsigner' });
  const enc = new TextEncoder();
  const salt = enc.encode('Witness simulated PCS');

  /** A P-256 scalar from the seed: HKDF until the scalar is in [1, n−1]. */
  const deriveKey = (label: string): { priv: Uint8Array; pub: Uint8Array } => {
    for (let i = 0; ; i++) {
      const priv = crypto.hkdfSha256(seed, salt, enc.encode(`${label}/${i}`), 32);
      const pub = crypto.ecdsaP256PublicKey(priv);
      if (pub) return { priv, pub };
    }
  };
  let serialCounter = 0;
  /** A serial from the seed: 16 bytes, top bit clear and low bit of the first byte set, so a positive INTEGER of exactly 16 octets. */
  const nextSerial = (): bigint => {
    const b = crypto.hkdfSha256(seed, salt, enc.encode(`serial/${serialCounter++}`), 16);
    b[0] = (b[0]! & 0x7f) | 0x01;
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    return v;
  };

  const t0 = second(now());
  const root = deriveKey('root-ca');
  const platform = deriveKey('platform-ca');
  const tcbSigning = deriveKey('tcb-signing');
  const rootKid = keyIdentifier(root.pub, crypto);
  const platformKid = keyIdentifier(platform.pub, crypto);
  const issue = (serial: bigint, der: Uint8Array): IssuedCertificate => ({ der, pem: pemEncode(der), serial });
  const crlUri = (which: string): string => `https://pcs.witness.invalid/sgx/certification/v4/${which}`;

  const rootSerial = nextSerial();
  const rootCertificate = issue(rootSerial, signCertificate({
    serial: rootSerial, issuer: PCS_NAMES.root, subject: PCS_NAMES.root, notBefore: t0, notAfter: new Date(t0.getTime() + 25 * YEAR), publicKey: root.pub,
    extensions: [authorityKeyIdExtension(rootKid), crlDistributionPointExtension(crlUri('rootcacrl')), subjectKeyIdExtension(rootKid), keyUsageExtension([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]), basicConstraintsExtension(true, 1)],
  }, root.priv, crypto));
  const caSerial = nextSerial();
  const platformCaCertificate = issue(caSerial, signCertificate({
    serial: caSerial, issuer: PCS_NAMES.root, subject: PCS_NAMES.platformCa, notBefore: t0, notAfter: new Date(t0.getTime() + 15 * YEAR), publicKey: platform.pub,
    extensions: [authorityKeyIdExtension(rootKid), crlDistributionPointExtension(crlUri('rootcacrl')), subjectKeyIdExtension(platformKid), keyUsageExtension([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]), basicConstraintsExtension(true, 0)],
  }, root.priv, crypto));
  const tsSerial = nextSerial();
  const tcbSigningCertificate = issue(tsSerial, signCertificate({
    serial: tsSerial, issuer: PCS_NAMES.root, subject: PCS_NAMES.tcbSigning, notBefore: t0, notAfter: new Date(t0.getTime() + 7 * YEAR), publicKey: tcbSigning.pub,
    extensions: [authorityKeyIdExtension(rootKid), crlDistributionPointExtension(crlUri('rootcacrl')), subjectKeyIdExtension(keyIdentifier(tcbSigning.pub, crypto)), keyUsageExtension([KEY_USAGE.digitalSignature, KEY_USAGE.nonRepudiation]), basicConstraintsExtension(false)],
  }, root.priv, crypto));

  const pckSerials = new Set<bigint>();
  const revokedPck: { serial: bigint; date: Date }[] = [];
  const revokedCa: { serial: bigint; date: Date }[] = [];
  let crlNumber = 1n;

  const service: ProvisioningCertificationService = {
    rootCertificate,
    platformCaCertificate,
    tcbSigningCertificate,
    fmspc,
    pceId,
    issuePckCertificate(r: PckRequest): IssuedCertificate {
      if (!(r.cpusvn instanceof Uint8Array) || r.cpusvn.length !== 16) throw new AttestError('PCS_PARAMS', 'cpusvn: 16 bytes', { field: 'cpusvn' });
      const start = second(now());
      const serial = nextSerial();
      const sgx = encodeSgxExtensions({
        ppid: r.ppid, tcb: { components: [...r.cpusvn], pcesvn: r.pcesvn, cpusvn: r.cpusvn }, pceId: r.pceId ?? pceId, fmspc: r.fmspc ?? fmspc, sgxType: r.sgxType ?? SGX_TYPE.Standard,
      });
      const der = signCertificate({
        serial, issuer: PCS_NAMES.platformCa, subject: PCS_NAMES.pck, notBefore: start, notAfter: new Date(start.getTime() + 7 * YEAR), publicKey: r.publicKey,
        extensions: [authorityKeyIdExtension(platformKid), crlDistributionPointExtension(crlUri('pckcrl?ca=platform')), subjectKeyIdExtension(keyIdentifier(r.publicKey, crypto)), keyUsageExtension([KEY_USAGE.digitalSignature, KEY_USAGE.nonRepudiation]), basicConstraintsExtension(false), encodeExtension(SGX_EXTENSION_OID, false, sgx)],
      }, platform.priv, crypto);
      pckSerials.add(serial);
      return issue(serial, der);
    },
    pckCertChainPem(pck) {
      return (typeof pck === 'string' ? pck : pck.pem) + platformCaCertificate.pem + rootCertificate.pem;
    },
    tcbInfo() {
      const issued = second(now());
      const info: TcbInfo = { version: 3, issueDate: issued, nextUpdate: new Date(issued.getTime() + 30 * DAY), fmspc, pceId, tcbEvaluationDataNumber: options.tcbEvaluationDataNumber ?? 17, tcbLevels };
      return encodeTcbInfo(info, tcbSigning.priv, crypto);
    },
    tcbInfoIssuerChain: () => tcbSigningCertificate.pem + rootCertificate.pem,
    qeIdentity() {
      const issued = second(now());
      const id: QeIdentity = {
        version: 2, issueDate: issued, nextUpdate: new Date(issued.getTime() + 30 * DAY), tcbEvaluationDataNumber: options.tcbEvaluationDataNumber ?? 17,
        miscselect: qe.miscselect, miscselectMask: qe.miscselectMask, attributes: qe.attributes, attributesMask: qe.attributesMask, mrsigner: qe.mrsigner, isvprodid: qe.isvProdId, tcbLevels: qe.tcbLevels,
      };
      return encodeQeIdentity(id, tcbSigning.priv, crypto);
    },
    qeIdentityIssuerChain: () => tcbSigningCertificate.pem + rootCertificate.pem,
    revoke(serial: bigint) {
      const date = second(now());
      const list = pckSerials.has(serial) ? revokedPck : serial === caSerial || serial === tsSerial ? revokedCa : null;
      if (list === null) throw new AttestError('PCS_UNKNOWN_SERIAL', `serial ${serial.toString(16)} was not issued by this service (or is the root)`, { serial: serial.toString(16) });
      if (!list.some((r) => r.serial === serial)) list.push({ serial, date }); // once: a CRL lists a serial once
    },
    rootCaCrl() {
      const t = second(now());
      return signCrl({ issuer: PCS_NAMES.root, thisUpdate: t, nextUpdate: new Date(t.getTime() + 30 * DAY), revoked: revokedCa, crlNumber: crlNumber++, authorityKeyId: rootKid }, root.priv, crypto);
    },
    pckCrl() {
      const t = second(now());
      return signCrl({ issuer: PCS_NAMES.platformCa, thisUpdate: t, nextUpdate: new Date(t.getTime() + 30 * DAY), revoked: revokedPck, crlNumber: crlNumber++, authorityKeyId: platformKid }, platform.priv, crypto);
    },
    collateral() {
      return {
        pckCrlIssuerChain: platformCaCertificate.pem + rootCertificate.pem,
        rootCaCrl: service.rootCaCrl(),
        pckCrl: service.pckCrl(),
        tcbInfoIssuerChain: service.tcbInfoIssuerChain(),
        tcbInfo: service.tcbInfo(),
        qeIdentityIssuerChain: service.qeIdentityIssuerChain(),
        qeIdentity: service.qeIdentity(),
      };
    },
  };
  return Object.freeze(service);
}

/** A trusted root given as DER or PEM (one certificate). */
export function trustedRootCertificate(root: Uint8Array | string): Certificate {
  const der = typeof root === 'string' ? pemDecodeAll(root) : [root];
  if (der.length !== 1) throw new AttestError('X509_CHAIN_LENGTH', `the trusted root is one certificate; got ${der.length}`, { length: der.length });
  return parseCertificate(der[0]!);
}

/**
 * Verify a PCK certificate chain (PEM: PCK ‖ Platform CA ‖ Root CA, the three DCAP expects) to
 * exactly `trustedRoot`, with the CRLs given (DER), and return the parsed PCK certificate. The
 * CRLs are optional here (a tool that checks a chain's shape and signatures); without them no
 * revocation is checked. verifyQuote requires both.
 * @throws {AttestError} PEM_MALFORMED, X509_* (parse and chain codes, see verifyCertificateChain),
 * PCK_* (SGX Extensions).
 */
export function verifyPckCertChain(pem: string, trustedRoot: Uint8Array | string, now: Date, options: { crypto?: CryptoProvider; crls?: readonly Uint8Array[] } = {}): PckCertificate {
  const ders = pemDecodeAll(pem);
  if (ders.length !== 3) throw new AttestError('X509_CHAIN_LENGTH', `a PCK certificate chain has 3 certificates (PCK, Platform CA, Root CA); got ${ders.length}`, { length: ders.length });
  const pck = parsePckCertificate(ders[0]!);
  const chain = [pck.certificate, ...ders.slice(1).map((d) => parseCertificate(d))];
  verifyCertificateChain(chain, trustedRootCertificate(trustedRoot), { now, crypto: options.crypto ?? defaultCrypto(), crls: (options.crls ?? []).map((c) => parseCrl(c)) });
  return pck;
}
