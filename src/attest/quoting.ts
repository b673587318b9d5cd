/**
 * The platform's quoting service: the model's counterpart of DCAP's quote library with AESM/QGS.
 * It loads the PCE and the QE on a platform, has the QE make an attestation key and the PCE certify
 * it, fetches the PCK certificate chain for the platform's TCB from a PCS, and turns REPORTs
 * addressed to the QE into quotes. It is untrusted host code: everything it relays is checked by
 * the enclaves (REPORT MACs) or by the verifier (signatures, certificates).
 */
import { bytesEqual, u16le, u32le } from '../lib/bytes.js';
import { loadEnclave, statusName, type HostEnclave, type HostPlatform } from '../sdk/index.js';
import { architecturalEnclaves } from './ae.js';
import { REPORTBODY } from '../arch/index.js';
import { AttestError } from './errors.js';
import { CERT_KEY_TYPE, QUOTE_MIN_SIZE } from './quote.js';
import { DEFAULT_PCE_ID } from './pki.js';
import { parsePckCertificate } from './pck.js';
import { pemDecodeAll } from './x509.js';

/** enum pce_result (ae/pce/pce.edl). */
export const PCE_RESULT = { OK: 0, INVALID_REPORT: 1, INVALID_PRIVILEGE: 2, INVALID_SVN: 3 } as const;
/** enum qe_result (ae/qe/qe.edl). */
export const QE_RESULT = { OK: 0, INVALID_REPORT: 1, INVALID_KEY_BLOB: 2, CERTIFICATION_MISMATCH: 3, BUFFER_TOO_SMALL: 4, INVALID_PARAMETER: 5 } as const;

/** The QE authentication data when none is given: 32 bytes 00 01 … 1f (the model's choice). */
export const DEFAULT_QE_AUTH_DATA = Uint8Array.from({ length: 32 }, (_, i) => i);

/** What a PCS is asked for a platform's PCK certificate (the PCS API's query: PPID, CPUSVN, PCESVN, PCE-ID). */
export interface PckCertificateRequest {
  readonly ppid: Uint8Array;
  readonly cpusvn: Uint8Array;
  readonly pceSvn: number;
  readonly pceId: Uint8Array;
}

/** Where the quoting service gets the PCK certificate chain (leaf first, PEM). */
export interface PckCertificateSource {
  pckCertChain(request: PckCertificateRequest): string;
}

export interface QuotingServiceOptions {
  /** The PCS (or a cache of its answers). */
  readonly pcs: PckCertificateSource;
  /** QE authentication data (at most 256 bytes). Default DEFAULT_QE_AUTH_DATA. */
  readonly authData?: Uint8Array;
  /**
   * The PEM of the key the PCE and QE are signed with. Default: ae/signer.pem, which is public (so
   * anyone can sign a "Witness QE"); a deployment that wants its QE identity to mean something signs
   * with a key of its own and publishes that MRSIGNER in its PCS's QE identity.
   */
  readonly aeSigner?: string;
}

export interface QuotingService {
  /** The QE's TARGETINFO: address the REPORT to be quoted to it. */
  readonly qeTargetInfo: Uint8Array;
  /** The PPID, CPUSVN and PCESVN the PCK certificate was asked for. */
  readonly platform: PckCertificateRequest;
  /** The PCK certificate chain the quotes carry. */
  readonly pckCertChain: string;
  /** The QE's REPORT body that the PCE certified, and the PCE's signature of it. */
  readonly qeReportBody: Uint8Array;
  readonly qeReportSignature: Uint8Array;
  readonly attestationPublicKey: Uint8Array;
  /** The size of every quote this service makes (sgx_qe_get_quote_size): QUOTE_MIN_SIZE (1020) + auth data + certification data. */
  readonly quoteSize: number;
  /**
   * A quote of `report` (432 bytes, addressed to the QE).
   * @throws {AttestError} QE_INVALID_REPORT when the QE cannot verify the REPORT (addressed to another enclave, or changed).
   */
  quote(report: Uint8Array): Uint8Array;
  /** Unload the QE and the PCE. */
  close(): void;
}

function resultName(table: Readonly<Record<string, number>>, prefix: string, r: number): string {
  if (r < 0) return statusName(-r);
  for (const [k, v] of Object.entries(table)) if (v === r) return `${prefix}_${k}`;
  return String(r);
}

function call(e: HostEnclave, who: 'PCE' | 'QE', name: string, args: Parameters<HostEnclave['ecall']>[1]): void {
  const r = e.ecall(name, args) as number;
  if (r === 0) return;
  const table = who === 'PCE' ? PCE_RESULT : QE_RESULT;
  const n = resultName(table, who, r);
  throw new AttestError(r < 0 ? `${who}_FAILED` : n, `${name}: ${n}`, { result: r, resultName: n });
}

/** The PCK certificate's key (x ‖ y) and TCB: the chain's first certificate, parsed strictly. */
function pckOf(pem: string): { publicKey: Uint8Array; cpusvn: Uint8Array; pcesvn: number } {
  try {
    const leaf = pemDecodeAll(pem)[0];
    if (!leaf) throw new AttestError('PEM_MALFORMED', 'no certificate in the PEM text');
    const pck = parsePckCertificate(leaf);
    return { publicKey: pck.publicKey, cpusvn: pck.tcb.cpusvn, pcesvn: pck.tcb.pcesvn };
  } catch (e) {
    throw new AttestError('PCK_CERT_INVALID', 'the PCS answered with no readable PCK certificate', {}, { cause: e });
  }
}

/**
 * Load the PCE and the QE on `platform` and certify a fresh attestation key.
 * @throws {AttestError} PCK_CERT_MISMATCH when the PCS's certificate is not for this PCE's key;
 * PCE_…/QE_… results of the enclaves; {EnclaveLoadError} when the platform cannot load them (no SGX,
 * or a Linux process that may not open /dev/sgx_provision).
 */
export function createQuotingService(platform: HostPlatform, options: QuotingServiceOptions): QuotingService {
  if (typeof options !== 'object' || options === null || typeof options.pcs?.pckCertChain !== 'function') throw new AttestError('BAD_OPTIONS', 'a PCS (an object with pckCertChain) is required');
  const given = options.authData ?? DEFAULT_QE_AUTH_DATA;
  if (!(given instanceof Uint8Array) || given.length > 256) throw new AttestError('AUTH_DATA', 'the QE authentication data is at most 256 bytes');
  const auth = given.slice(); // the service's own: a caller reusing its array changes no later quote
  const ae = architecturalEnclaves(options.aeSigner);
  const pce = loadEnclave(platform, ae.pce.image, { sigstruct: ae.pce.sigstruct });
  let qe: HostEnclave | undefined;
  try {
    qe = loadEnclave(platform, ae.qe.image, { sigstruct: ae.qe.sigstruct });
    // The platform's identity and raw TCB, and the PCK certificate the PCS has for it.
    const ppid = new Uint8Array(16), pckPublic = new Uint8Array(64), pceReport = new Uint8Array(432);
    call(pce, 'PCE', 'pce_get_pc_info', [ppid, pckPublic, pceReport]);
    const cpusvn = pceReport.slice(0, 16), pceSvn = u16le(pceReport, REPORTBODY.field('ISVSVN').offset);
    const request: PckCertificateRequest = { ppid, cpusvn, pceSvn, pceId: DEFAULT_PCE_ID.slice() };
    const chain = options.pcs.pckCertChain({ ppid: ppid.slice(), cpusvn: cpusvn.slice(), pceSvn, pceId: DEFAULT_PCE_ID.slice() });
    if (typeof chain !== 'string') throw new AttestError('PCK_CERT_INVALID', 'the PCS answered with no PEM chain');
    const pck = pckOf(chain);
    if (!bytesEqual(pck.publicKey, pckPublic) || !bytesEqual(pck.cpusvn, cpusvn) || pck.pcesvn !== pceSvn) throw new AttestError('PCK_CERT_MISMATCH', 'the PCS\'s PCK certificate is not for this platform\'s PCE key at this TCB');
    // An attestation key, certified by the PCE at the certificate's TCB (certify_enclave's cert_psvn).
    const pceTi = new Uint8Array(512), qeTi = new Uint8Array(512);
    call(pce, 'PCE', 'pce_get_target_info', [pceTi]);
    call(qe, 'QE', 'qe_get_target_info', [qeTi]);
    const sealed = new Uint8Array(560 + 96), attestationPublicKey = new Uint8Array(64), qeReport = new Uint8Array(432);
    call(qe, 'QE', 'qe_init', [pceTi, auth, auth.length, sealed, sealed.length, attestationPublicKey, qeReport]);
    const qeReportSignature = new Uint8Array(64);
    call(pce, 'PCE', 'pce_certify', [qeReport, pck.cpusvn, pck.pcesvn, qeReportSignature]);
    const certData = new TextEncoder().encode(chain);
    const qeReportBody = qeReport.slice(0, 384);
    const quoteSize = QUOTE_MIN_SIZE + auth.length + certData.length;
    const theQe = qe;
    let closed = false;
    // Every value handed out is a copy: what the service quotes with is its own.
    return {
      get qeTargetInfo() { return qeTi.slice(); },
      get platform() { return { ppid: request.ppid.slice(), cpusvn: request.cpusvn.slice(), pceSvn, pceId: request.pceId.slice() }; },
      pckCertChain: chain,
      get qeReportBody() { return qeReportBody.slice(); },
      get qeReportSignature() { return qeReportSignature.slice(); },
      get attestationPublicKey() { return attestationPublicKey.slice(); },
      quoteSize,
      quote(report: Uint8Array): Uint8Array {
        if (closed) throw new AttestError('CLOSED', 'the quoting service was closed');
        if (!(report instanceof Uint8Array) || report.length !== 432) throw new AttestError('REPORT_LENGTH', 'a REPORT is 432 bytes');
        const out = new Uint8Array(quoteSize), len = new Uint8Array(4);
        call(theQe, 'QE', 'qe_quote', [report, sealed, sealed.length, qeReportBody, qeReportSignature, auth, auth.length, pck.pcesvn, CERT_KEY_TYPE.PCK_CERT_CHAIN, certData, certData.length, out, out.length, len]);
        return out.slice(0, u32le(len, 0));
      },
      close(): void {
        if (closed) return;
        closed = true;
        theQe.destroy();
        pce.destroy();
      },
    };
  } catch (e) {
    qe?.destroy();
    pce.destroy();
    throw e;
  }
}
