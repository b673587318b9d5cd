/**
 * Intel DCAP's result codes, for the model's verifier to report in Intel's terms.
 *
 * - `sgx_ql_qv_result_t` (sgx_qve_header.h): the verdict on a quote.
 * - `quote3_error_t` (sgx_ql_lib_common.h, SGX_QL_MK_ERROR(x) = 0xE000 | x): the error the
 *   verification API returns; the codes the QvE maps the statuses of the model's checks to
 *   (status_error_to_quote3_error), and their neighbours a caller may meet in Intel's headers.
 */

/** sgx_ql_qv_result_t. */
export const QV_RESULT = {
  OK: 0x0000,
  CONFIG_NEEDED: 0xa001,
  OUT_OF_DATE: 0xa002,
  OUT_OF_DATE_CONFIG_NEEDED: 0xa003,
  INVALID_SIGNATURE: 0xa004,
  REVOKED: 0xa005,
  UNSPECIFIED: 0xa006,
  SW_HARDENING_NEEDED: 0xa007,
  CONFIG_AND_SW_HARDENING_NEEDED: 0xa008,
} as const;
export type QvResultName = keyof typeof QV_RESULT;
export type QvResult = (typeof QV_RESULT)[QvResultName];

/** The SGX_QL_QV_RESULT_* name of a value ("SGX_QL_QV_RESULT_OUT_OF_DATE"), or null. */
export function qvResultName(value: number): string | null {
  const e = Object.entries(QV_RESULT).find(([, v]) => v === value);
  return e ? `SGX_QL_QV_RESULT_${e[0]}` : null;
}

/** quote3_error_t values (sgx_ql_lib_common.h, DCAP 1.2x: TCB_NOT_SUPPORTED 0x66, RESULT_INVALID_SIGNATURE 0x68). */
export const QUOTE3_ERROR = {
  SGX_QL_SUCCESS: 0x0000,
  SGX_QL_ERROR_UNEXPECTED: 0xe001,
  SGX_QL_ERROR_INVALID_PARAMETER: 0xe002,
  SGX_QL_QUOTE_CERTIFICATION_DATA_UNSUPPORTED: 0xe01c,
  SGX_QL_QUOTE_FORMAT_UNSUPPORTED: 0xe01d,
  SGX_QL_QE_REPORT_INVALID_SIGNATURE: 0xe01f,
  SGX_QL_QE_REPORT_UNSUPPORTED_FORMAT: 0xe020,
  SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT: 0xe021,
  SGX_QL_PCK_CERT_CHAIN_ERROR: 0xe022,
  SGX_QL_TCBINFO_UNSUPPORTED_FORMAT: 0xe023,
  SGX_QL_TCBINFO_MISMATCH: 0xe024,
  SGX_QL_QEIDENTITY_UNSUPPORTED_FORMAT: 0xe025,
  SGX_QL_QEIDENTITY_MISMATCH: 0xe026,
  SGX_QL_TCB_OUT_OF_DATE: 0xe027,
  SGX_QL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED: 0xe028,
  SGX_QL_QE_IDENTITY_OUT_OF_DATE: 0xe02b,
  SGX_QL_SGX_TCB_INFO_EXPIRED: 0xe02c,
  SGX_QL_SGX_PCK_CERT_CHAIN_EXPIRED: 0xe02d,
  SGX_QL_SGX_CRL_EXPIRED: 0xe02e,
  SGX_QL_SGX_SIGNING_CERT_CHAIN_EXPIRED: 0xe02f,
  SGX_QL_SGX_ENCLAVE_IDENTITY_EXPIRED: 0xe030,
  SGX_QL_PCK_REVOKED: 0xe031,
  SGX_QL_TCB_REVOKED: 0xe032,
  SGX_QL_TCB_CONFIGURATION_NEEDED: 0xe033,
  SGX_QL_CRL_UNSUPPORTED_FORMAT: 0xe038,
  SGX_QL_QEIDENTITY_CHAIN_ERROR: 0xe039,
  SGX_QL_TCBINFO_CHAIN_ERROR: 0xe03a,
  SGX_QL_TCB_SW_HARDENING_NEEDED: 0xe03c,
  SGX_QL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED: 0xe03d,
  SGX_QL_TCB_NOT_SUPPORTED: 0xe066,
  SGX_QL_RESULT_INVALID_SIGNATURE: 0xe068,
} as const;
export type Quote3ErrorName = keyof typeof QUOTE3_ERROR;
