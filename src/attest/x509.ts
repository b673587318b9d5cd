/**
 * The X.509 subset DCAP attestation uses (RFC 5280): v3 certificates and v2 CRLs signed with
 * ecdsa-with-SHA256 over P-256 keys, as the "Intel SGX PCK Certificate and Certificate Revocation
 * List Profile Specification" profiles them. Building, strict parsing and chain checks; the
 * signatures go through the CryptoProvider (r ‖ s, converted to DER Ecdsa-Sig-Value here).
 *
 * Parse failures are `AttestError` `X509_MALFORMED` (the DER problem as `cause`, its code as
 * `data.derCode`) or a code naming the unsupported feature; chain failures have `X509_CHAIN_*`
 * codes (see verifyCertificateChain).
 */
import { LayoutError } from '../lib/errors.js';
import { bytesEqual, concatBytes, toBase64, fromBase64 } from '../lib/bytes.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import {
  DER_TAG, derBoolean, derDecode, derExpect, derExplicit, derImplicit, derInteger, derNamedBits, derOctetString, derOid, derPrintableString,
  derReadBitString, derReadBoolean, derReadInteger, derReadNamedBits, derReadOctetString, derReadOid, derReadString, derReadTime,
  derSequence, derSequenceOf, derSet, derTime, derUtf8String, derBitString, derContextTag, derReadSmallInteger, derIa5String,
  ecdsaSignatureFromDer, ecdsaSignatureToDer, type DerNode,
} from '../lib/der.js';
import { AttestError } from './errors.js';

/** Object identifiers (RFC 5280 §4.2.1, RFC 5480, RFC 5758 §3.2). */
export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  commonName: '2.5.4.3',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  cRLNumber: '2.5.29.20',
  cRLDistributionPoints: '2.5.29.31',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, nonRepudiation: 1, keyCertSign: 5, cRLSign: 6 } as const;

const NAME_OIDS: Readonly<Record<string, string>> = { CN: OID.commonName, C: OID.countryName, L: OID.localityName, ST: OID.stateOrProvinceName, O: OID.organizationName };
const NAME_SHORT: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(NAME_OIDS).map(([k, v]) => [v, k]));

/** A distinguished name as (short name, value) pairs in order, e.g. [['CN', '…'], ['O', '…'], ['C', 'US']]. */
export type NameSpec = readonly (readonly [keyof typeof NAME_OIDS | 'CN' | 'O' | 'L' | 'ST' | 'C', string])[];

/** Name DER: one attribute per RDN; C as PrintableString, the others UTF8String (as Intel's certificates have them). */
export function encodeName(name: NameSpec): Uint8Array {
  return derSequence(...name.map(([k, v]) => derSet(derSequence(derOid(NAME_OIDS[k]!), k === 'C' ? derPrintableString(v) : derUtf8String(v)))));
}

/** A parsed Name: its exact DER (what chaining compares) and a readable form. */
export interface X509Name {
  readonly der: Uint8Array;
  readonly attributes: readonly { readonly oid: string; readonly value: string }[];
  /** "CN=…, O=…, C=…" */
  readonly text: string;
}

function parseName(node: DerNode | undefined, what: string): X509Name {
  const attributes: { oid: string; value: string }[] = [];
  for (const rdn of derSequenceOf(node, what)) {
    const set = derExpect(rdn, DER_TAG.SET, `${what}.RDN`);
    if (set.children.length === 0) malformed(`${what}: empty RDN`, what);
    for (const atv of set.children) {
      const [t, v] = derSequenceOf(atv, `${what}.AttributeTypeAndValue`, 2);
      attributes.push({ oid: derReadOid(t, `${what}.type`), value: derReadString(v, `${what}.value`) });
    }
  }
  return { der: node!.bytes.slice(), attributes, text: attributes.map((a) => `${NAME_SHORT[a.oid] ?? a.oid}=${a.value}`).join(', ') };
}

const malformed = (message: string, field: string, cause?: unknown): never => {
  throw new AttestError('X509_MALFORMED', message, { field, ...(cause instanceof LayoutError ? { derCode: cause.code } : {}) }, cause === undefined ? undefined : { cause });
};

/** Run a parser, turning the DER layer's LayoutError into AttestError X509_MALFORMED (the boundary translation). */
function translating<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LayoutError) return malformed(`${what}: ${e.message}`, typeof e.data.field === 'string' ? e.data.field : what, e);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Building

const ECDSA_SHA256 = derSequence(derOid(OID.ecdsaWithSha256));

/** SubjectPublicKeyInfo of a P-256 point (x ‖ y): id-ecPublicKey, prime256v1, uncompressed point (RFC 5480 §2). */
export function encodeP256PublicKeyInfo(publicKey: Uint8Array): Uint8Array {
  checkPoint(publicKey, 'publicKey');
  return derSequence(derSequence(derOid(OID.ecPublicKey), derOid(OID.prime256v1)), derBitString(concatBytes(Uint8Array.of(4), publicKey)));
}

function checkPoint(p: Uint8Array, field: string): void {
  if (!(p instanceof Uint8Array) || p.length !== 64) throw new AttestError('X509_PARAMS', `${field}: a P-256 public key is 64 bytes (x ‖ y)`, { field });
}

/**
 * A key identifier: the leftmost 160 bits of SHA-256 of the subjectPublicKey bits (RFC 7093 §2,
 * method 1). Model choice: the provider has SHA-256 only, not RFC 5280's SHA-1.
 */
export function keyIdentifier(publicKey: Uint8Array, crypto: CryptoProvider): Uint8Array {
  return crypto.sha256(concatBytes(Uint8Array.of(4), publicKey)).slice(0, 20);
}

/** One Extension: SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE (omitted when false), extnValue OCTET STRING }. */
export function encodeExtension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? derSequence(derOid(oid), derBoolean(true), derOctetString(value)) : derSequence(derOid(oid), derOctetString(value));
}

/** basicConstraints (critical in the PCK profile): cA and, for a CA, pathLenConstraint. */
export function basicConstraintsExtension(ca: boolean, pathLen?: number): Uint8Array {
  const parts = ca ? [derBoolean(true), ...(pathLen === undefined ? [] : [derInteger(pathLen)])] : [];
  return encodeExtension(OID.basicConstraints, true, derSequence(...parts));
}
/** keyUsage (critical). */
export function keyUsageExtension(bits: readonly number[]): Uint8Array {
  return encodeExtension(OID.keyUsage, true, derNamedBits(bits));
}
/** subjectKeyIdentifier. */
export function subjectKeyIdExtension(keyId: Uint8Array): Uint8Array {
  return encodeExtension(OID.subjectKeyIdentifier, false, derOctetString(keyId));
}
/** authorityKeyIdentifier with the keyIdentifier [0] only. */
export function authorityKeyIdExtension(keyId: Uint8Array): Uint8Array {
  return encodeExtension(OID.authorityKeyIdentifier, false, derSequence(derImplicit(0, derOctetString(keyId))));
}
/** cRLDistributionPoints with one fullName URI. */
export function crlDistributionPointExtension(uri: string): Uint8Array {
  return encodeExtension(OID.cRLDistributionPoints, false, derSequence(derSequence(derExplicit(0, derImplicit(0, derSequence(derImplicit(6, derIa5String(uri))))))));
}

/** What a certificate says; the issuer signs the TBSCertificate built from it. */
export interface CertificateSpec {
  readonly serial: bigint;
  readonly issuer: NameSpec;
  readonly subject: NameSpec;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject's P-256 point, x ‖ y. */
  readonly publicKey: Uint8Array;
  /** Encoded Extension values (encodeExtension and helpers), in order. */
  readonly extensions: readonly Uint8Array[];
}

/** A signed v3 certificate (DER): TBSCertificate, ecdsa-with-SHA256, the issuer's signature. */
export function signCertificate(spec: CertificateSpec, issuerPrivateKey: Uint8Array, crypto: CryptoProvider): Uint8Array {
  if (spec.serial <= 0n || spec.serial >= 1n << 159n) throw new AttestError('X509_PARAMS', 'serial must be positive and at most 20 octets (RFC 5280 §4.1.2.2)', { field: 'serial' });
  const tbs = derSequence(
    derExplicit(0, derInteger(2)),
    derInteger(spec.serial),
    ECDSA_SHA256,
    encodeName(spec.issuer),
    derSequence(derTime(spec.notBefore), derTime(spec.notAfter)),
    encodeName(spec.subject),
    encodeP256PublicKeyInfo(spec.publicKey),
    derExplicit(3, derSequence(...spec.extensions)),
  );
  return signed(tbs, issuerPrivateKey, crypto);
}

function signed(tbs: Uint8Array, key: Uint8Array, crypto: CryptoProvider): Uint8Array {
  return derSequence(tbs, ECDSA_SHA256, derBitString(ecdsaSignatureToDer(crypto.ecdsaP256Sign(key, tbs))));
}

// ---------------------------------------------------------------------------------------------
// Parsing

export interface Extension {
  readonly critical: boolean;
  /** The extnValue octets (the DER of the extension's own value). */
  readonly value: Uint8Array;
}

/** A parsed certificate. */
export interface Certificate {
  readonly der: Uint8Array;
  /** The signed bytes: the TBSCertificate TLV. */
  readonly tbs: Uint8Array;
  readonly serial: bigint;
  readonly issuer: X509Name;
  readonly subject: X509Name;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** P-256 x ‖ y. */
  readonly publicKey: Uint8Array;
  /** r ‖ s. */
  readonly signature: Uint8Array;
  /** By OID, in certificate order. */
  readonly extensions: ReadonlyMap<string, Extension>;
  readonly basicConstraints: { readonly ca: boolean; readonly pathLen: number | null } | null;
  readonly keyUsage: readonly number[] | null;
  readonly subjectKeyId: Uint8Array | null;
  readonly authorityKeyId: Uint8Array | null;
}

/** The extensions this parser understands; an unknown critical one is refused (RFC 5280 §4.2). */
const KNOWN_EXTENSIONS = new Set<string>([OID.subjectKeyIdentifier, OID.keyUsage, OID.basicConstraints, OID.cRLDistributionPoints, OID.authorityKeyIdentifier]);

function readAlgorithm(node: DerNode | undefined, what: string): void {
  const parts = derSequenceOf(node, what);
  const oid = derReadOid(parts[0], `${what}.algorithm`);
  if (oid !== OID.ecdsaWithSha256 || parts.length !== 1) {
    throw new AttestError('X509_UNSUPPORTED_ALGORITHM', `${what}: ${oid}${parts.length !== 1 ? ' with parameters' : ''}; only ecdsa-with-SHA256 (no parameters) is supported`, { field: what, oid });
  }
}

function readPublicKey(node: DerNode | undefined): Uint8Array {
  const [alg, key] = derSequenceOf(node, 'subjectPublicKeyInfo', 2);
  const [a, c] = derSequenceOf(alg, 'subjectPublicKeyInfo.algorithm', 2);
  const ao = derReadOid(a, 'subjectPublicKeyInfo.algorithm');
  const co = derReadOid(c, 'subjectPublicKeyInfo.parameters');
  if (ao !== OID.ecPublicKey || co !== OID.prime256v1) throw new AttestError('X509_UNSUPPORTED_KEY', `subjectPublicKeyInfo: ${ao} / ${co}; only P-256 keys are supported`, { field: 'subjectPublicKeyInfo', oid: ao, curve: co });
  const { bytes, unusedBits } = derReadBitString(key, 'subjectPublicKey');
  if (unusedBits !== 0 || bytes.length !== 65 || bytes[0] !== 4) throw new AttestError('X509_UNSUPPORTED_KEY', 'subjectPublicKey: not an uncompressed P-256 point', { field: 'subjectPublicKey' });
  return bytes.slice(1);
}

function readSignatureValue(node: DerNode | undefined): Uint8Array {
  const { bytes, unusedBits } = derReadBitString(node, 'signatureValue');
  if (unusedBits !== 0) malformed('signatureValue: unused bits', 'signatureValue');
  return ecdsaSignatureFromDer(bytes);
}

function readExtensions(node: DerNode | undefined, what: string): Map<string, Extension> {
  const out = new Map<string, Extension>();
  for (const ext of derSequenceOf(node, what)) {
    const parts = derSequenceOf(ext, `${what}.Extension`);
    if (parts.length !== 2 && parts.length !== 3) malformed(`${what}: an Extension has ${parts.length} elements`, what);
    const oid = derReadOid(parts[0], `${what}.extnID`);
    let critical = false;
    if (parts.length === 3) {
      critical = derReadBoolean(parts[1], `${what}.critical`);
      if (!critical) malformed(`${what} ${oid}: critical FALSE must be omitted in DER (DEFAULT)`, `${what}.critical`);
    }
    const value = derReadOctetString(parts[parts.length - 1], `${what}.extnValue`);
    if (out.has(oid)) throw new AttestError('X509_DUPLICATE_EXTENSION', `${what}: ${oid} appears twice`, { field: what, oid });
    out.set(oid, { critical, value });
  }
  return out;
}

/**
 * Parse a DER certificate strictly (v3, ecdsa-with-SHA256, P-256, no unique IDs).
 * @throws {AttestError} X509_MALFORMED, X509_VERSION, X509_UNSUPPORTED_ALGORITHM, X509_UNSUPPORTED_KEY,
 * X509_DUPLICATE_EXTENSION, X509_UNKNOWN_CRITICAL_EXTENSION.
 */
export function parseCertificate(der: Uint8Array): Certificate {
  return translating('Certificate', () => {
    const [tbsNode, alg, sig] = derSequenceOf(derDecode(der), 'Certificate', 3);
    const t = derSequenceOf(tbsNode, 'tbsCertificate');
    if (t.length !== 8) malformed(`tbsCertificate: ${t.length} elements (a v3 certificate with extensions has 8; unique IDs are not supported)`, 'tbsCertificate');
    const ver = derExpect(t[0], derContextTag(0), 'tbsCertificate.version');
    if (ver.children.length !== 1 || derReadInteger(ver.children[0], 'tbsCertificate.version') !== 2n) throw new AttestError('X509_VERSION', 'only v3 certificates are supported', { field: 'version' });
    const serial = derReadInteger(t[1], 'tbsCertificate.serialNumber');
    if (serial <= 0n) malformed('serialNumber must be positive', 'serialNumber');
    readAlgorithm(t[2], 'tbsCertificate.signature');
    const issuer = parseName(t[3], 'issuer');
    const [nb, na] = derSequenceOf(t[4], 'validity', 2);
    const notBefore = derReadTime(nb, 'validity.notBefore');
    const notAfter = derReadTime(na, 'validity.notAfter');
    const subject = parseName(t[5], 'subject');
    const publicKey = readPublicKey(t[6]);
    const extWrap = derExpect(t[7], derContextTag(3), 'tbsCertificate.extensions');
    if (extWrap.children.length !== 1) malformed('extensions: [3] holds one SEQUENCE', 'extensions');
    const extensions = readExtensions(extWrap.children[0], 'extensions');
    readAlgorithm(alg, 'signatureAlgorithm');
    const signature = readSignatureValue(sig);
    for (const [oid, e] of extensions) {
      if (e.critical && !KNOWN_EXTENSIONS.has(oid)) throw new AttestError('X509_UNKNOWN_CRITICAL_EXTENSION', `extension ${oid} is critical and not understood`, { oid });
    }
    let basicConstraints: Certificate['basicConstraints'] = null;
    const bc = extensions.get(OID.basicConstraints);
    if (bc) {
      const parts = derSequenceOf(derDecode(bc.value), 'basicConstraints');
      let i = 0;
      let ca = false;
      if (parts[i]?.tag === DER_TAG.BOOLEAN) {
        ca = derReadBoolean(parts[i++], 'basicConstraints.cA');
        if (!ca) malformed('basicConstraints: cA FALSE must be omitted in DER (DEFAULT)', 'basicConstraints.cA');
      }
      const pathLen = parts[i] !== undefined ? derReadSmallInteger(parts[i++], 'basicConstraints.pathLenConstraint', 0, 255) : null;
      if (i !== parts.length) malformed('basicConstraints: extra elements', 'basicConstraints');
      basicConstraints = { ca, pathLen };
    }
    const ku = extensions.get(OID.keyUsage);
    const keyUsage = ku ? derReadNamedBits(derDecode(ku.value), 'keyUsage') : null;
    const ski = extensions.get(OID.subjectKeyIdentifier);
    const subjectKeyId = ski ? derReadOctetString(derDecode(ski.value), 'subjectKeyIdentifier') : null;
    const aki = extensions.get(OID.authorityKeyIdentifier);
    let authorityKeyId: Uint8Array | null = null;
    if (aki) {
      const first = derSequenceOf(derDecode(aki.value), 'authorityKeyIdentifier')[0];
      if (first?.tag === derContextTag(0, false)) authorityKeyId = first.content.slice();
    }
    return { der: der.slice(), tbs: tbsNode!.bytes.slice(), serial, issuer, subject, notBefore, notAfter, publicKey, signature, extensions, basicConstraints, keyUsage, subjectKeyId, authorityKeyId };
  });
}

// ---------------------------------------------------------------------------------------------
// PEM (RFC 7468)

/** PEM text of one DER object, base64 in 64-character lines. */
export function pemEncode(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = toBase64(der);
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/**
 * Every `label` block of a PEM text, decoded, in order. Text between blocks is allowed (RFC 7468
 * §2); within a block only base64 and whitespace.
 * @throws {AttestError} PEM_MALFORMED (unterminated block, bad base64, no block at all).
 */
export function pemDecodeAll(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  if (typeof pem !== 'string') throw new AttestError('PEM_MALFORMED', 'PEM input is not a string', {});
  const out: Uint8Array[] = [];
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  let at = 0;
  for (;;) {
    const b = pem.indexOf(begin, at);
    if (b < 0) break;
    const e = pem.indexOf(end, b + begin.length);
    if (e < 0) throw new AttestError('PEM_MALFORMED', `unterminated ${label} block`, { offset: b });
    const body = pem.slice(b + begin.length, e).replace(/\s+/g, '');
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(body) || body.length === 0) throw new AttestError('PEM_MALFORMED', `${label} block ${out.length}: not base64`, { index: out.length });
    let der: Uint8Array;
    try {
      // Bits past the last byte are dropped, as OpenSSL's PEM reader (and so QVL) drops them.
      der = fromBase64(body, 'ignore');
    } catch (cause) {
      throw new AttestError('PEM_MALFORMED', `${label} block ${out.length}: not base64`, { index: out.length }, { cause });
    }
    out.push(der);
    at = e + end.length;
  }
  if (out.length === 0) throw new AttestError('PEM_MALFORMED', `no ${label} block`, {});
  return out;
}

// ---------------------------------------------------------------------------------------------
// CRLs (RFC 5280 §5): v2, ecdsa-with-SHA256, with cRLNumber and authorityKeyIdentifier

export interface CrlSpec {
  readonly issuer: NameSpec;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revoked: readonly { readonly serial: bigint; readonly date: Date }[];
  readonly crlNumber: bigint;
  readonly authorityKeyId: Uint8Array;
}

/** A signed v2 CRL (DER). */
export function signCrl(spec: CrlSpec, issuerPrivateKey: Uint8Array, crypto: CryptoProvider): Uint8Array {
  const revoked = spec.revoked.length ? [derSequence(...spec.revoked.map((r) => derSequence(derInteger(r.serial), derTime(r.date))))] : [];
  const tbs = derSequence(
    derInteger(1),
    ECDSA_SHA256,
    encodeName(spec.issuer),
    derTime(spec.thisUpdate),
    derTime(spec.nextUpdate),
    ...revoked,
    derExplicit(0, derSequence(encodeExtension(OID.cRLNumber, false, derInteger(spec.crlNumber)), authorityKeyIdExtension(spec.authorityKeyId))),
  );
  return signed(tbs, issuerPrivateKey, crypto);
}

export interface Crl {
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly issuer: X509Name;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revokedSerials: readonly bigint[];
  readonly signature: Uint8Array;
}

/** Parse a v2 CRL strictly. @throws {AttestError} X509_MALFORMED, X509_VERSION, X509_UNSUPPORTED_ALGORITHM, X509_UNKNOWN_CRITICAL_EXTENSION. */
export function parseCrl(der: Uint8Array): Crl {
  return translating('CertificateList', () => {
    const [tbsNode, alg, sig] = derSequenceOf(derDecode(der), 'CertificateList', 3);
    const t = derSequenceOf(tbsNode, 'tbsCertList');
    let i = 0;
    if (derReadInteger(t[i++], 'tbsCertList.version') !== 1n) throw new AttestError('X509_VERSION', 'only v2 CRLs are supported', { field: 'version' });
    readAlgorithm(t[i++], 'tbsCertList.signature');
    const issuer = parseName(t[i++], 'issuer');
    const thisUpdate = derReadTime(t[i++], 'thisUpdate');
    if (t[i] === undefined || (t[i]!.tag !== DER_TAG.UTC_TIME && t[i]!.tag !== DER_TAG.GENERALIZED_TIME)) malformed('nextUpdate is required (RFC 5280 §5.1.2.5)', 'nextUpdate');
    const nextUpdate = derReadTime(t[i++], 'nextUpdate');
    const revokedSerials: bigint[] = [];
    if (t[i]?.tag === DER_TAG.SEQUENCE) {
      for (const entry of derSequenceOf(t[i++], 'revokedCertificates')) {
        const parts = derSequenceOf(entry, 'revokedCertificates.entry');
        if (parts.length !== 2) malformed('revokedCertificates: entry extensions are not supported', 'revokedCertificates');
        revokedSerials.push(derReadInteger(parts[0], 'revokedCertificates.userCertificate'));
        derReadTime(parts[1], 'revokedCertificates.revocationDate');
      }
    }
    if (t[i] !== undefined) {
      const wrap = derExpect(t[i++], derContextTag(0), 'crlExtensions');
      if (wrap.children.length !== 1) malformed('crlExtensions: [0] holds one SEQUENCE', 'crlExtensions');
      for (const [oid, e] of readExtensions(wrap.children[0], 'crlExtensions')) {
        if (e.critical && oid !== OID.cRLNumber && oid !== OID.authorityKeyIdentifier) throw new AttestError('X509_UNKNOWN_CRITICAL_EXTENSION', `CRL extension ${oid} is critical and not understood`, { oid });
      }
    }
    if (i !== t.length) malformed('tbsCertList: extra elements', 'tbsCertList');
    readAlgorithm(alg, 'signatureAlgorithm');
    return { der: der.slice(), tbs: tbsNode!.bytes.slice(), issuer, thisUpdate, nextUpdate, revokedSerials, signature: readSignatureValue(sig) };
  });
}

// ---------------------------------------------------------------------------------------------
// Chains

/** The CRLs a chain check consults (matched to a certificate by issuer name and signature). */
export interface ChainCheckOptions {
  readonly now: Date;
  readonly crypto: CryptoProvider;
  readonly crls?: readonly Crl[];
  /** Check validity periods of certificates and CRLs at `now` (default true; the quote verifier reports expiry separately, as the QvE does). */
  readonly checkValidity?: boolean;
}

const chainError = (code: string, message: string, data: Record<string, unknown>): never => {
  throw new AttestError(code, message, data);
};

/**
 * Check a leaf-first chain that must end with exactly `trustedRoot` (byte for byte), RFC 5280 §6.1
 * in the small: each certificate's issuer name equals the next one's subject, its signature
 * verifies under the next one's key (the root's under its own), every certificate is within its
 * validity at `now`, each issuer is a CA with keyCertSign and a pathLenConstraint the chain does
 * not exceed, the leaf is not a CA, and no certificate is on a CRL of its issuer.
 * @throws {AttestError} X509_CHAIN_LENGTH, X509_CHAIN_UNTRUSTED_ROOT, X509_CHAIN_ISSUER_MISMATCH,
 * X509_CHAIN_SIGNATURE, X509_CHAIN_EXPIRED (data.index, data.subject), X509_CHAIN_NOT_CA,
 * X509_CHAIN_PATH_LENGTH, X509_CHAIN_KEY_USAGE, X509_CHAIN_LEAF_IS_CA, X509_CRL_SIGNATURE,
 * X509_CRL_EXPIRED, X509_REVOKED (data.index, data.serial).
 */
export function verifyCertificateChain(chain: readonly Certificate[], trustedRoot: Certificate, options: ChainCheckOptions): void {
  const { now, crypto } = options;
  if (chain.length < 2) chainError('X509_CHAIN_LENGTH', `a chain needs a leaf and the root; got ${chain.length} certificate(s)`, { length: chain.length });
  const root = chain[chain.length - 1]!;
  if (!bytesEqual(root.der, trustedRoot.der)) chainError('X509_CHAIN_UNTRUSTED_ROOT', `the chain ends at "${root.subject.text}", not at the trusted root`, { subject: root.subject.text });
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    const issuer = chain[Math.min(i + 1, chain.length - 1)]!;
    const at = { index: i, subject: cert.subject.text };
    if (!bytesEqual(cert.issuer.der, issuer.subject.der)) chainError('X509_CHAIN_ISSUER_MISMATCH', `certificate ${i} ("${cert.subject.text}") names issuer "${cert.issuer.text}", the next is "${issuer.subject.text}"`, at);
    if (!crypto.ecdsaP256Verify(issuer.publicKey, cert.tbs, cert.signature)) chainError('X509_CHAIN_SIGNATURE', `certificate ${i} ("${cert.subject.text}"): signature does not verify`, at);
    if (options.checkValidity !== false && (now < cert.notBefore || now > cert.notAfter)) chainError('X509_CHAIN_EXPIRED', `certificate ${i} ("${cert.subject.text}") is valid ${cert.notBefore.toISOString()} – ${cert.notAfter.toISOString()}, not at ${now.toISOString()}`, at);
    if (i > 0) {
      if (!cert.basicConstraints?.ca) chainError('X509_CHAIN_NOT_CA', `certificate ${i} ("${cert.subject.text}") issues certificates but is not a CA`, at);
      if (!cert.keyUsage?.includes(KEY_USAGE.keyCertSign)) chainError('X509_CHAIN_KEY_USAGE', `certificate ${i} ("${cert.subject.text}") lacks keyCertSign`, at);
      const below = i - 1; // CA certificates below this one in the chain (the leaf excluded)
      const pl = cert.basicConstraints!.pathLen;
      if (pl !== null && below > pl) chainError('X509_CHAIN_PATH_LENGTH', `certificate ${i} allows ${pl} intermediate(s) below it, the chain has ${below}`, at);
    } else if (cert.basicConstraints?.ca) {
      chainError('X509_CHAIN_LEAF_IS_CA', `the leaf ("${cert.subject.text}") is a CA certificate`, at);
    }
  }
  for (const crl of options.crls ?? []) {
    const idx = chain.findIndex((c) => bytesEqual(c.subject.der, crl.issuer.der));
    if (idx < 0) continue; // a CRL of another issuer (the caller passes all it has)
    const issuer = chain[idx]!;
    if (!crypto.ecdsaP256Verify(issuer.publicKey, crl.tbs, crl.signature)) chainError('X509_CRL_SIGNATURE', `the CRL of "${crl.issuer.text}" does not verify`, { issuer: crl.issuer.text });
    if (options.checkValidity !== false && (now < crl.thisUpdate || now > crl.nextUpdate)) chainError('X509_CRL_EXPIRED', `the CRL of "${crl.issuer.text}" is valid ${crl.thisUpdate.toISOString()} – ${crl.nextUpdate.toISOString()}`, { issuer: crl.issuer.text });
    for (let i = 0; i < idx; i++) {
      const cert = chain[i]!;
      if (bytesEqual(cert.issuer.der, crl.issuer.der) && crl.revokedSerials.includes(cert.serial)) {
        chainError('X509_REVOKED', `certificate ${i} ("${cert.subject.text}", serial ${cert.serial.toString(16)}) is revoked`, { index: i, serial: cert.serial.toString(16) });
      }
    }
  }
}
