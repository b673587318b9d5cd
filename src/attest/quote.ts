/**
 * The ECDSA quote, version 3 (Intel sgx_quote_3.h; "Intel SGX ECDSA Quote Library API", Appendix
 * A "ECDSA Quote Format"):
 *
 *   sgx_quote3_t        @0    sgx_quote_header_t (48)
 *                       @48   the attested enclave's REPORTBODY (384)
 *                       @432  signature_data_len u32
 *                       @436  signature_data[signature_data_len]
 *   sgx_ql_ecdsa_sig_data_t (signature_data):
 *                       +0    sig[64]              ECDSA P-256 r ‖ s (big-endian) over quote[0, 432)
 *                       +64   attest_pub_key[64]   x ‖ y (big-endian)
 *                       +128  qe3_report (REPORTBODY, 384)
 *                       +512  qe3_report_sig[64]   by the certification key (the PCK) over qe3_report
 *                       +576  sgx_ql_auth_data_t          { u16 size; u8 auth_data[size] }
 *                             sgx_ql_certification_data_t { u16 cert_key_type; u32 size; u8 data[size] }
 *
 * The QE report's REPORTDATA is SHA-256(attest_pub_key ‖ auth_data) ‖ 32 zero bytes. All integers
 * are little-endian; the keys and signatures are big-endian byte strings.
 *
 * parseQuote is strict: version 3, att_key_type 2 (SGX_QL_ALG_ECDSA_P256), att_key_data_0 zero
 * (the model's strictness: v3 ECDSA quotes carry nothing there), reserved REPORTBODY bytes zero,
 * signature_data_len exactly covering the ECDSA data, no trailing bytes. Every refusal is an
 * `AttestError` whose data names the field and the quote3_error_t the QVL would return
 * (SGX_QL_QUOTE_FORMAT_UNSUPPORTED).
 */
import { LayoutError } from '../lib/errors.js';
import { fromHex, u16le, u32le, writeU16le, writeU32le, concatBytes } from '../lib/bytes.js';
import { defineLayout, u16, u32, bytes, struct } from '../lib/layout.js';
import { REPORTBODY, type ReportBody } from '../arch/index.js';
import { AttestError } from './errors.js';
import { QUOTE3_ERROR } from './results.js';

/** sgx_ql_attestation_algorithm_id_t: SGX_QL_ALG_ECDSA_P256. */
export const SGX_QL_ALG_ECDSA_P256 = 2;
/** Quote version of sgx_quote3_t. */
export const QUOTE_VERSION_3 = 3;
/** sgx_ql_cert_key_type_t (sgx_quote_3.h). */
export const CERT_KEY_TYPE = {
  PPID_CLEARTEXT: 1,
  PPID_RSA2048_ENCRYPTED: 2,
  PPID_RSA3072_ENCRYPTED: 3,
  PCK_CLEARTEXT: 4,
  PCK_CERT_CHAIN: 5,
  ECDSA_SIG_AUX_DATA: 6,
} as const;
/** The QE vendor ID of Intel's quoting enclave (939A7233-F79C-4CA9-940A-0DB3957F0607), which the model's QE also writes. */
export const QE_VENDOR_ID_INTEL = fromHex('939a7233f79c4ca9940a0db3957f0607');

/** sgx_quote_header_t (48 bytes). */
export const QUOTE_HEADER = defineLayout('sgx_quote_header_t', 48, [
  u16('version', 0, 'quote structure version (3)'),
  u16('attKeyType', 2, 'sgx_ql_attestation_algorithm_id_t (2 = ECDSA-256-with-P-256)'),
  u32('attKeyData0', 4, 'optional data of the key type; zero for ECDSA P-256'),
  u16('qeSvn', 8, "the QE's ISVSVN when the quote was made"),
  u16('pceSvn', 10, "the PCE's ISVSVN when the quote was made"),
  bytes('qeVendorId', 12, 16, 'the QE vendor'),
  bytes('userData', 28, 20, 'attestation key owner data; DCAP: QE ID in the first 16 bytes'),
] as const);
export type QuoteHeader = ReturnType<typeof QUOTE_HEADER.decode>;

/** The fixed part of sgx_quote3_t: header, ISV REPORTBODY, signature_data_len (436 bytes). */
export const QUOTE3_FIXED = defineLayout('sgx_quote3_t', 436, [
  struct('header', 0, QUOTE_HEADER),
  struct('reportBody', 48, REPORTBODY, "the attested enclave's REPORTBODY"),
  u32('signatureDataLen', 432),
] as const);

/** The fixed part of sgx_ql_ecdsa_sig_data_t (576 bytes). */
export const ECDSA_SIG_DATA_FIXED = defineLayout('sgx_ql_ecdsa_sig_data_t', 576, [
  bytes('signature', 0, 64, 'r ‖ s over quote[0, 432), by the attestation key'),
  bytes('attestPubKey', 64, 64, 'the attestation public key, x ‖ y'),
  struct('qeReport', 128, REPORTBODY, "the QE's REPORTBODY; REPORTDATA binds the attestation key"),
  bytes('qeReportSignature', 512, 64, 'r ‖ s over the QE REPORTBODY, by the PCK'),
] as const);

/** The quote bytes the attestation key signs: header ‖ ISV REPORTBODY, [0, 432). */
export const QUOTE_SIGNED_LENGTH = 432;
/** The smallest v3 ECDSA quote: 436 + 576 + 2 (empty auth data) + 6 (empty certification data) = 1020. */
export const QUOTE_MIN_SIZE = 436 + 576 + 2 + 6;

/** A decoded quote. */
export interface Quote {
  readonly header: QuoteHeader;
  readonly reportBody: ReportBody;
  readonly signature: Uint8Array;
  readonly attestPubKey: Uint8Array;
  readonly qeReport: ReportBody;
  readonly qeReportSignature: Uint8Array;
  readonly authData: Uint8Array;
  readonly certificationData: { readonly type: number; readonly data: Uint8Array };
  /** The bytes parsed (a copy). */
  readonly bytes: Uint8Array;
}

/** What encodeQuote needs (signatures already made). */
export interface QuoteParts {
  readonly header: Partial<QuoteHeader>;
  readonly reportBody: Partial<ReportBody>;
  readonly signature: Uint8Array;
  readonly attestPubKey: Uint8Array;
  readonly qeReport: Partial<ReportBody>;
  readonly qeReportSignature: Uint8Array;
  readonly authData: Uint8Array;
  readonly certificationData: { readonly type: number; readonly data: Uint8Array };
}

const formatError = (code: string, message: string, field: string, extra: Record<string, unknown> = {}, cause?: unknown): never => {
  throw new AttestError(code, `quote: ${message}`, { field, quote3Error: 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED', quote3ErrorValue: QUOTE3_ERROR.SGX_QL_QUOTE_FORMAT_UNSUPPORTED, ...extra }, cause === undefined ? undefined : { cause });
};

/**
 * Parse a v3 ECDSA quote.
 * @throws {AttestError} QUOTE_TOO_SHORT, QUOTE_VERSION, QUOTE_ATT_KEY_TYPE, QUOTE_RESERVED (att_key_data_0
 * or a REPORTBODY reserved field non-zero), QUOTE_SIGNATURE_DATA_LENGTH, QUOTE_AUTH_DATA_LENGTH,
 * QUOTE_CERT_DATA_LENGTH, QUOTE_CERT_DATA_TYPE, QUOTE_TRAILING_BYTES; data.field names the field.
 */
export function parseQuote(quote: Uint8Array): Quote {
  if (!(quote instanceof Uint8Array)) return formatError('QUOTE_TOO_SHORT', 'not a Uint8Array', 'quote');
  if (quote.length < QUOTE_MIN_SIZE) formatError('QUOTE_TOO_SHORT', `${quote.length} bytes; a v3 ECDSA quote has at least ${QUOTE_MIN_SIZE}`, 'quote', { length: quote.length });
  const version = u16le(quote, 0);
  if (version !== QUOTE_VERSION_3) formatError('QUOTE_VERSION', `version ${version}; the model reads version 3 (sgx_quote3_t)`, 'header.version', { value: version });
  const keyType = u16le(quote, 2);
  if (keyType !== SGX_QL_ALG_ECDSA_P256) formatError('QUOTE_ATT_KEY_TYPE', `att_key_type ${keyType}; only 2 (SGX_QL_ALG_ECDSA_P256) is supported`, 'header.attKeyType', { value: keyType });
  if (u32le(quote, 4) !== 0) formatError('QUOTE_RESERVED', 'att_key_data_0 is not zero', 'header.attKeyData0');
  const sigLen = u32le(quote, 432);
  if (sigLen !== quote.length - 436) {
    formatError(sigLen > quote.length - 436 ? 'QUOTE_SIGNATURE_DATA_LENGTH' : 'QUOTE_TRAILING_BYTES', `signature_data_len ${sigLen}, but ${quote.length - 436} bytes follow it`, 'signatureDataLen', { value: sigLen, available: quote.length - 436 });
  }
  let fixed: ReturnType<typeof QUOTE3_FIXED.decode>;
  let sig: ReturnType<typeof ECDSA_SIG_DATA_FIXED.decode>;
  try {
    fixed = QUOTE3_FIXED.decode(quote.subarray(0, 436));
    sig = ECDSA_SIG_DATA_FIXED.decode(quote.subarray(436, 436 + 576));
  } catch (e) {
    if (e instanceof LayoutError) return formatError('QUOTE_RESERVED', e.message, String(e.data.field ?? 'quote'), {}, e);
    throw e;
  }
  let at = 436 + 576;
  const authLen = u16le(quote, at);
  if (at + 2 + authLen + 6 > quote.length) formatError('QUOTE_AUTH_DATA_LENGTH', `auth data size ${authLen} runs past the signature data`, 'authData.size', { value: authLen });
  const authData = quote.slice(at + 2, at + 2 + authLen);
  at += 2 + authLen;
  const certType = u16le(quote, at);
  const certLen = u32le(quote, at + 2);
  at += 6;
  if (certLen > quote.length - at) formatError('QUOTE_CERT_DATA_LENGTH', `certification data size ${certLen} runs past the signature data`, 'certificationData.size', { value: certLen });
  if (certLen < quote.length - at) formatError('QUOTE_TRAILING_BYTES', `${quote.length - at - certLen} bytes after the certification data`, 'certificationData', { extra: quote.length - at - certLen });
  if (!Object.values(CERT_KEY_TYPE).includes(certType as 1)) formatError('QUOTE_CERT_DATA_TYPE', `certification data type ${certType} is not a sgx_ql_cert_key_type_t`, 'certificationData.type', { value: certType });
  return {
    header: fixed.header,
    reportBody: fixed.reportBody,
    signature: sig.signature,
    attestPubKey: sig.attestPubKey,
    qeReport: sig.qeReport,
    qeReportSignature: sig.qeReportSignature,
    authData,
    certificationData: { type: certType, data: quote.slice(at, at + certLen) },
    bytes: quote.slice(),
  };
}

/** The bytes the attestation key signs: quote[0, 432) (header ‖ ISV REPORTBODY). */
export function quoteSignedBytes(quote: Uint8Array): Uint8Array {
  if (quote.length < QUOTE_SIGNED_LENGTH) formatError('QUOTE_TOO_SHORT', `${quote.length} bytes`, 'quote');
  return quote.slice(0, QUOTE_SIGNED_LENGTH);
}

/** The bytes the PCK signs: the QE REPORTBODY, quote[564, 948). */
export function qeReportSignedBytes(quote: Uint8Array): Uint8Array {
  if (quote.length < 436 + 512) formatError('QUOTE_TOO_SHORT', `${quote.length} bytes`, 'quote');
  return quote.slice(436 + 128, 436 + 512);
}

/** The QE REPORTDATA that binds an attestation key: SHA-256(attest_pub_key ‖ auth_data) ‖ 32 zero bytes. */
export function qeReportDataFor(sha256: (b: Uint8Array) => Uint8Array, attestPubKey: Uint8Array, authData: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(sha256(concatBytes(attestPubKey, authData)), 0);
  return out;
}

/**
 * Assemble a quote from its parts (a builder for tests and tooling; it signs nothing). Header
 * fields not given default to version 3, att_key_type 2, Intel's QE vendor ID.
 * @throws {AttestError} QUOTE_PARAMS for a wrong-sized part (the layouts' LayoutError as cause).
 */
export function encodeQuote(parts: QuoteParts): Uint8Array {
  const check = (b: Uint8Array, n: number, field: string): void => {
    if (!(b instanceof Uint8Array) || b.length !== n) throw new AttestError('QUOTE_PARAMS', `${field}: expected ${n} bytes`, { field });
  };
  check(parts.signature, 64, 'signature');
  check(parts.attestPubKey, 64, 'attestPubKey');
  check(parts.qeReportSignature, 64, 'qeReportSignature');
  if (parts.authData.length > 0xffff) throw new AttestError('QUOTE_PARAMS', 'authData: at most 65535 bytes', { field: 'authData' });
  if (parts.certificationData.data.length > 0xffffffff) throw new AttestError('QUOTE_PARAMS', 'certificationData: too large', { field: 'certificationData' });
  const sigLen = 576 + 2 + parts.authData.length + 6 + parts.certificationData.data.length;
  const out = new Uint8Array(436 + sigLen);
  try {
    QUOTE3_FIXED.encodeInto(out, 0, {
      header: { version: QUOTE_VERSION_3, attKeyType: SGX_QL_ALG_ECDSA_P256, attKeyData0: 0, qeSvn: 0, pceSvn: 0, qeVendorId: QE_VENDOR_ID_INTEL, userData: new Uint8Array(20), ...parts.header },
      reportBody: REPORTBODY.decode(REPORTBODY.encode(parts.reportBody)),
      signatureDataLen: sigLen,
    });
    ECDSA_SIG_DATA_FIXED.encodeInto(out, 436, { signature: parts.signature, attestPubKey: parts.attestPubKey, qeReport: REPORTBODY.decode(REPORTBODY.encode(parts.qeReport)), qeReportSignature: parts.qeReportSignature });
  } catch (e) {
    if (e instanceof LayoutError) throw new AttestError('QUOTE_PARAMS', `quote part: ${e.message}`, { field: e.data.field }, { cause: e });
    throw e;
  }
  let at = 436 + 576;
  writeU16le(out, at, parts.authData.length);
  out.set(parts.authData, at + 2);
  at += 2 + parts.authData.length;
  writeU16le(out, at, parts.certificationData.type);
  writeU32le(out, at + 2, parts.certificationData.data.length);
  out.set(parts.certificationData.data, at + 6);
  return out;
}
