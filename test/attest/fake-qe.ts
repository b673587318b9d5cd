/** A fake platform for the attestation tests: a PCK key, a QE made of ecdsaP256Sign calls, and the PCS's certificate for the PCK. */
import { defaultCrypto, fromHex } from '../../src/lib/index.js';
import { ATTRIBUTES } from '../../src/arch/index.js';
import {
  createProvisioningCertificationService, defaultQeIdentity, encodeQuote, qeReportDataFor, CERT_KEY_TYPE,
  type PcsOptions, type ProvisioningCertificationService, type QuoteParts, type TcbLevel, type QeIdentityOptions,
} from '../../src/attest/index.js';

export const crypto = defaultCrypto();
export const T0 = new Date(Date.UTC(2026, 0, 15, 12, 0, 0));
export const LATER = new Date(T0.getTime() + 86_400_000);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface FakePlatformOptions {
  readonly pcs?: ProvisioningCertificationService;
  readonly pcsOptions?: PcsOptions;
  /** CPUSVN (= TCB components): default all 2 (the default TCB Info's UpToDate level). */
  readonly cpusvn?: Uint8Array;
  readonly pcesvn?: number;
  readonly qeIsvSvn?: number;
  readonly qeMrsigner?: Uint8Array;
  readonly qeAttributesFlags?: bigint;
  readonly authData?: Uint8Array;
}

export interface FakePlatform {
  readonly pcs: ProvisioningCertificationService;
  readonly pckPriv: Uint8Array;
  readonly attestPriv: Uint8Array;
  readonly attestPub: Uint8Array;
  readonly chainPem: string;
  /** The parts of a quote over `reportData` (signed), for tests that alter one part and re-encode. */
  parts(reportData: Uint8Array): QuoteParts;
  quote(reportData: Uint8Array): Uint8Array;
}

export const ISV_MRENCLAVE = crypto.sha256(enc('the attested enclave'));

/**
 * The fake platform's own TCB levels and QE identity (not the PCS's defaults, which describe the
 * Witness platform): components all 2 with PCESVN 13 up to date, all 1 with PCESVN 10 out of date;
 * a QE signed by SHA-256("Witness simulated QE signer"), ISVSVN 8 up to date, 0 out of date.
 */
export const FAKE_TCB_LEVELS: readonly TcbLevel[] = [
  { components: new Array<number>(16).fill(2), pcesvn: 13, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
  { components: new Array<number>(16).fill(1), pcesvn: 10, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['WITNESS-SA-00001'] },
];
export const FAKE_QE_IDENTITY: Required<QeIdentityOptions> = {
  ...defaultQeIdentity(),
  mrsigner: crypto.sha256(enc('Witness simulated QE signer')),
  tcbLevels: [
    { isvsvn: 8, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
    { isvsvn: 0, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'OutOfDate' },
  ],
};
/** A PCS publishing the fake platform's levels and QE identity. */
export function fakePcs(options: PcsOptions = {}): ProvisioningCertificationService {
  return createProvisioningCertificationService({ seed: enc('verify test PCS'), now: () => T0, tcbLevels: FAKE_TCB_LEVELS, qeIdentity: FAKE_QE_IDENTITY, ...options });
}

/** The PCS fakePlatform uses unless given one (or options for one): one instance, so that its root stays the same. */
export const DEFAULT_PCS = fakePcs();

export function fakePlatform(o: FakePlatformOptions = {}): FakePlatform {
  const pcs = o.pcs ?? (o.pcsOptions ? fakePcs(o.pcsOptions) : DEFAULT_PCS);
  const pckPriv = crypto.sha256(enc('pck private key'));
  const attestPriv = crypto.sha256(enc('attestation private key'));
  const attestPub = crypto.ecdsaP256PublicKey(attestPriv)!;
  const cpusvn = o.cpusvn ?? new Uint8Array(16).fill(2);
  const pcesvn = o.pcesvn ?? 13;
  const pck = pcs.issuePckCertificate({ publicKey: crypto.ecdsaP256PublicKey(pckPriv)!, ppid: fromHex('0102030405060708090a0b0c0d0e0f10'), cpusvn, pcesvn });
  const chainPem = pcs.pckCertChainPem(pck);
  const authData = o.authData ?? Uint8Array.from({ length: 32 }, (_, i) => i);
  const qe = FAKE_QE_IDENTITY;
  const parts = (reportData: Uint8Array): QuoteParts => {
    const qeReport = {
      CPUSVN: cpusvn,
      MISCSELECT: 0,
      ATTRIBUTES: ATTRIBUTES.decode(ATTRIBUTES.encode({ FLAGS: o.qeAttributesFlags ?? 0x15n, XFRM: 3n } as Parameters<typeof ATTRIBUTES.encode>[0])),
      MRENCLAVE: crypto.sha256(enc('the model QE')),
      MRSIGNER: o.qeMrsigner ?? qe.mrsigner,
      ISVPRODID: 1,
      ISVSVN: o.qeIsvSvn ?? 8,
      REPORTDATA: qeReportDataFor((b) => crypto.sha256(b), attestPub, authData),
    };
    const unsigned: QuoteParts = {
      header: { qeSvn: o.qeIsvSvn ?? 8, pceSvn: pcesvn, userData: new Uint8Array(20).fill(0xee) },
      reportBody: {
        CPUSVN: cpusvn, MRENCLAVE: ISV_MRENCLAVE, MRSIGNER: crypto.sha256(enc('the ISV signer')), ISVPRODID: 7, ISVSVN: 3, REPORTDATA: reportData,
        ATTRIBUTES: ATTRIBUTES.decode(ATTRIBUTES.encode({ FLAGS: 0x05n, XFRM: 3n } as Parameters<typeof ATTRIBUTES.encode>[0])),
      },
      signature: new Uint8Array(64), attestPubKey: attestPub, qeReport, qeReportSignature: new Uint8Array(64), authData,
      certificationData: { type: CERT_KEY_TYPE.PCK_CERT_CHAIN, data: enc(chainPem) },
    };
    const draft = encodeQuote(unsigned);
    const qeReportSignature = crypto.ecdsaP256Sign(pckPriv, draft.slice(436 + 128, 436 + 512));
    const signature = crypto.ecdsaP256Sign(attestPriv, draft.slice(0, 432));
    return { ...unsigned, qeReportSignature, signature };
  };
  return { pcs, pckPriv, attestPriv, attestPub, chainPem, parts, quote: (rd) => encodeQuote(parts(rd)) };
}
