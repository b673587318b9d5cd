/**
 * The model's quote verifier: Intel's Quote Verification Library (QVL, `sgxAttestationVerifyQuote`)
 * and the QvE's wrapper (`sgx_qv_verify_quote`, sgx_dcap_quoteverify.h) in the small, for v3 ECDSA
 * quotes with certification data type 5 (PCK certificate chain).
 *
 * Order, as in QVL: the quote's format; the PCK certificate chain to the trusted root, with the
 * Root CA and PCK CRLs; TCB Info (its signing chain, signature); QE Identity (likewise); then
 * QuoteVerifier: FMSPC/PCE-ID of the PCK against TCB Info, the QE report's signature by the PCK,
 * the QE REPORTDATA binding of the attestation key and auth data, the QE report against the QE
 * identity (MISCSELECT/ATTRIBUTES under their masks, MRSIGNER, ISVPRODID, then ISVSVN → level),
 * the quote's signature by the attestation key, and the TCB level: the first TCB Info level
 * whose 16 component SVNs and PCESVN are all ≤ the PCK's, converged with the QE's status.
 *
 * Two channels, as the QvE has them:
 * - A verdict (`result`, an sgx_ql_qv_result_t) for every quote the verifier could judge: OK, the
 *   TCB statuses, INVALID_SIGNATURE (a signature over the quote, QE report, CRL or collateral
 *   fails) and REVOKED (PCK, Platform CA or TCB Signing certificate on a CRL, a Revoked TCB level,
 *   or a revoked QE: its ISVSVN at a Revoked QE identity level).
 * - A thrown `AttestError` where the QvE's result would be UNSPECIFIED: malformed or unsupported
 *   input, chains that do not lead to the trusted root, collateral for another platform, a QE that
 *   is not the one the identity describes. `data.status` is QVL's Status name, `data.quote3Error`
 *   and `data.quote3ErrorValue` the quote3_error_t sgx_qv_verify_quote would return.
 *
 * Expiry does not change the verdict: like the QvE's collateral_expiration_status, the result
 * reports `collateralExpired` (some certificate, CRL or collateral document is outside its
 * validity at `now`) and `earliestExpiration`.
 */
import { bytesEqual, toHex, fromHex } from '../lib/bytes.js';
import { defaultCrypto } from '../lib/crypto/default.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { ATTRIBUTES, type ReportBody } from '../arch/index.js';
import { AttestError } from './errors.js';
import { parseQeIdentity, parseTcbInfo, type QeIdentity, type QeTcbStatus, type TcbInfo, type TcbStatus, type SignedCollateral } from './collateral.js';
import { parsePckCertificate, type PckCertificate } from './pck.js';
import { trustedRootCertificate, type QuoteCollateral } from './pki.js';
import { CERT_KEY_TYPE, QE_VENDOR_ID_INTEL, parseQuote, qeReportDataFor, qeReportSignedBytes, quoteSignedBytes, type Quote } from './quote.js';
import { QUOTE3_ERROR, QV_RESULT, qvResultName, type Quote3ErrorName, type QvResult } from './results.js';
import { parseCertificate, parseCrl, pemDecodeAll, verifyCertificateChain, type Certificate, type Crl } from './x509.js';

/** The collateral (sgx_ql_qve_collateral_t's members); the CRLs are DER. */
export interface VerificationCollateral {
  /** PEM: the chain that issued the PCK CRL (Platform CA ‖ Root CA). Carried, not used: the verifier checks the PCK CRL against the quote's own chain. */
  readonly pckCrlIssuerChain?: string;
  readonly tcbInfo: string;
  readonly tcbInfoIssuerChain: string;
  readonly qeIdentity: string;
  readonly qeIdentityIssuerChain: string;
  /** The Root CA's CRL (DER): required, as in sgx_ql_qve_collateral_t. */
  readonly rootCaCrl: Uint8Array;
  /** The PCK CRL of the PCK certificate's issuer (DER): required. */
  readonly pckCrl: Uint8Array;
}

export interface VerifyQuoteOptions {
  /** The one root every chain must end at (DER or PEM). */
  readonly trustedRoot: Uint8Array | string;
  readonly collateral: VerificationCollateral;
  /** The time expiry is judged at (the QvE's expiration_check_date); default the wall clock. */
  readonly now?: Date;
  readonly crypto?: CryptoProvider;
  /** The QE vendor the quote must name; default Intel's. */
  readonly qeVendorId?: Uint8Array;
}

/** The QE's status from its identity: a level's status, or none matched (QVL: ISVSVN out of date). */
export type QeIdentityStatus = QeTcbStatus | 'IsvSvnOutOfDate';

export interface QuoteVerification {
  readonly result: QvResult;
  /** e.g. "SGX_QL_QV_RESULT_OK". */
  readonly resultName: string;
  /** QVL's Status for the verdict, e.g. "STATUS_OK", "STATUS_TCB_OUT_OF_DATE", "STATUS_INVALID_QUOTE_SIGNATURE". */
  readonly status: string;
  /**
   * What sgx_qv_verify_quote would return (the QvE's status_error_to_quote3_error): SGX_QL_SUCCESS
   * for the non-terminal verdicts, the error for INVALID_SIGNATURE (e.g. SGX_QL_RESULT_INVALID_SIGNATURE,
   * SGX_QL_QE_REPORT_INVALID_SIGNATURE) and REVOKED (SGX_QL_PCK_REVOKED, SGX_QL_TCB_REVOKED).
   */
  readonly quote3Error: Quote3ErrorName;
  /** The matched TCB level's status (null when verification stopped before the TCB step). */
  readonly tcbStatus: TcbStatus | null;
  readonly qeIdentityStatus: QeIdentityStatus | null;
  readonly advisoryIDs: readonly string[];
  readonly quote: Quote;
  /** The attested enclave's REPORTBODY. */
  readonly reportBody: ReportBody;
  readonly pck: PckCertificate;
  readonly collateralExpired: boolean;
  readonly earliestExpiration: Date;
}

/** X.520 commonName. */
const OID_CN = '2.5.4.3';

/** A fixed valid scalar (1), used only to ask the provider whether a point is on P-256. */
const POINT_CHECK_SCALAR = Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 1 : 0));

const fail = (code: string, status: string, quote3Error: Quote3ErrorName, message: string, cause?: unknown): never => {
  throw new AttestError(code, message, { status, quote3Error, quote3ErrorValue: QUOTE3_ERROR[quote3Error] }, cause === undefined ? undefined : { cause });
};

/** Run a parser; its AttestError becomes `code` with the QVL status and quote3 error (the inner error as cause). */
function guarded<T>(code: string, status: string, q3: Quote3ErrorName, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AttestError) return fail(code, status, q3, `${what}: ${e.message}`, e);
    throw e;
  }
}

/** QVL TcbStatus → (sgx_ql_qv_result_t, Status, quote3_error_t): the QvE's status_error_to_ql_qve_result / status_error_to_quote3_error. */
const TCB_VERDICT: Record<TcbStatus, readonly [QvResult, string, Quote3ErrorName]> = {
  UpToDate: [QV_RESULT.OK, 'STATUS_OK', 'SGX_QL_SUCCESS'],
  SWHardeningNeeded: [QV_RESULT.SW_HARDENING_NEEDED, 'STATUS_TCB_SW_HARDENING_NEEDED', 'SGX_QL_SUCCESS'],
  ConfigurationNeeded: [QV_RESULT.CONFIG_NEEDED, 'STATUS_TCB_CONFIGURATION_NEEDED', 'SGX_QL_SUCCESS'],
  ConfigurationAndSWHardeningNeeded: [QV_RESULT.CONFIG_AND_SW_HARDENING_NEEDED, 'STATUS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED', 'SGX_QL_SUCCESS'],
  OutOfDate: [QV_RESULT.OUT_OF_DATE, 'STATUS_TCB_OUT_OF_DATE', 'SGX_QL_SUCCESS'],
  OutOfDateConfigurationNeeded: [QV_RESULT.OUT_OF_DATE_CONFIG_NEEDED, 'STATUS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED', 'SGX_QL_SUCCESS'],
  Revoked: [QV_RESULT.REVOKED, 'STATUS_TCB_REVOKED', 'SGX_QL_TCB_REVOKED'],
};

/**
 * The platform TCB status once the QE's own is taken in (QVL's convergence): an out-of-date QE
 * makes an up-to-date or SW-hardening-needed TCB OutOfDate and a configuration-needed one
 * OutOfDateConfigurationNeeded; a revoked QE makes it Revoked.
 */
function converge(tcb: TcbStatus, qe: QeIdentityStatus): TcbStatus {
  if (qe === 'Revoked') return 'Revoked';
  if (qe === 'UpToDate') return tcb;
  if (tcb === 'UpToDate' || tcb === 'SWHardeningNeeded') return 'OutOfDate';
  if (tcb === 'ConfigurationNeeded' || tcb === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  return tcb;
}

/**
 * Verify a v3 ECDSA quote against the collateral and the trusted root.
 * @throws {AttestError} with data.status / data.quote3Error (see the module comment):
 * VERIFY_QUOTE_FORMAT (SGX_QL_QUOTE_FORMAT_UNSUPPORTED), VERIFY_CERTIFICATION_DATA
 * (SGX_QL_QUOTE_CERTIFICATION_DATA_UNSUPPORTED), VERIFY_PCK_FORMAT (SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT),
 * VERIFY_PCK_CHAIN (SGX_QL_PCK_CERT_CHAIN_ERROR), VERIFY_CRL_FORMAT (SGX_QL_CRL_UNSUPPORTED_FORMAT),
 * VERIFY_TCB_INFO_FORMAT / VERIFY_TCB_INFO_CHAIN, VERIFY_QE_IDENTITY_FORMAT / VERIFY_QE_IDENTITY_CHAIN,
 * VERIFY_TCB_INFO_MISMATCH (SGX_QL_TCBINFO_MISMATCH), VERIFY_QE_REPORT_DATA (SGX_QL_ERROR_UNEXPECTED,
 * the QvE's mapping of STATUS_INVALID_QE_REPORT_DATA), VERIFY_QE_IDENTITY_MISMATCH
 * (SGX_QL_QEIDENTITY_MISMATCH), VERIFY_TCB_NOT_SUPPORTED (no TCB level matches: QVL's
 * STATUS_TCB_NOT_SUPPORTED, SGX_QL_TCB_NOT_SUPPORTED), VERIFY_PARAMETERS (SGX_QL_ERROR_INVALID_PARAMETER),
 * VERIFY_CRL_ISSUER (a CRL that is not its issuer's).
 */
export function verifyQuote(quoteBytes: Uint8Array, options: VerifyQuoteOptions): QuoteVerification {
  // 0. The parameters (sgx_qv_verify_quote: SGX_QL_ERROR_INVALID_PARAMETER; QVL: STATUS_MISSING_PARAMETERS).
  const missing = (what: string): never => fail('VERIFY_PARAMETERS', 'STATUS_MISSING_PARAMETERS', 'SGX_QL_ERROR_INVALID_PARAMETER', what);
  if (!(quoteBytes instanceof Uint8Array)) missing('the quote must be bytes (a Uint8Array)');
  if (typeof options !== 'object' || options === null) missing('options { trustedRoot, collateral } are required');
  const { collateral } = options;
  if (typeof collateral !== 'object' || collateral === null) missing('the collateral is required');
  for (const k of ['tcbInfo', 'tcbInfoIssuerChain', 'qeIdentity', 'qeIdentityIssuerChain'] as const) if (typeof collateral[k] !== 'string') missing(`collateral.${k} is required (a string)`);
  for (const k of ['rootCaCrl', 'pckCrl'] as const) if (!(collateral[k] instanceof Uint8Array)) missing(`collateral.${k} is required (DER bytes): revocation is never optional`);
  const now = options.now ?? new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) missing('options.now must be a valid Date');
  const crypto = options.crypto ?? defaultCrypto();

  // 1. The quote's format.
  const quote = guarded('VERIFY_QUOTE_FORMAT', 'STATUS_UNSUPPORTED_QUOTE_FORMAT', 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED', 'quote', () => parseQuote(quoteBytes));
  if (!bytesEqual(quote.header.qeVendorId, options.qeVendorId ?? QE_VENDOR_ID_INTEL)) fail('VERIFY_QUOTE_FORMAT', 'STATUS_UNSUPPORTED_QUOTE_FORMAT', 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED', 'quote: the QE vendor ID is not the expected one');
  if (quote.certificationData.type !== CERT_KEY_TYPE.PCK_CERT_CHAIN) {
    fail('VERIFY_CERTIFICATION_DATA', 'STATUS_UNSUPPORTED_QE_CERTIFICATION_DATA_TYPE', 'SGX_QL_QUOTE_CERTIFICATION_DATA_UNSUPPORTED', `certification data type ${quote.certificationData.type}; the verifier needs 5 (PCK_CERT_CHAIN)`);
  }

  // 2. Parse the chains, CRLs and collateral.
  const root = guarded('VERIFY_PCK_CHAIN', 'STATUS_SGX_ROOT_CA_UNTRUSTED', 'SGX_QL_PCK_CERT_CHAIN_ERROR', 'trusted root', () => trustedRootCertificate(options.trustedRoot));
  const pckText = new TextDecoder().decode(quote.certificationData.data).replace(/\0+$/, '');
  const pckDers = guarded('VERIFY_PCK_FORMAT', 'STATUS_UNSUPPORTED_PCK_CERT_FORMAT', 'SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT', 'PCK certificate chain', () => pemDecodeAll(pckText));
  if (pckDers.length !== 3) fail('VERIFY_PCK_FORMAT', 'STATUS_UNSUPPORTED_PCK_CERT_FORMAT', 'SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT', `the PCK certificate chain has ${pckDers.length} certificates, expected 3`);
  const pck = guarded('VERIFY_PCK_FORMAT', 'STATUS_UNSUPPORTED_PCK_CERT_FORMAT', 'SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT', 'PCK certificate', () => parsePckCertificate(pckDers[0]!));
  const pckChain = [pck.certificate, ...pckDers.slice(1).map((d) => guarded('VERIFY_PCK_FORMAT', 'STATUS_UNSUPPORTED_CERT_FORMAT', 'SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT', 'PCK chain certificate', () => parseCertificate(d)))];
  const parseCrlOf = (der: Uint8Array, what: string): Crl => guarded('VERIFY_CRL_FORMAT', 'STATUS_SGX_CRL_UNSUPPORTED_FORMAT', 'SGX_QL_CRL_UNSUPPORTED_FORMAT', what, () => parseCrl(der));
  const rootCrl = parseCrlOf(collateral.rootCaCrl, 'Root CA CRL'), pckCrl = parseCrlOf(collateral.pckCrl, 'PCK CRL');
  const crls: Crl[] = [rootCrl, pckCrl];
  const tcbChain = guarded('VERIFY_TCB_INFO_CHAIN', 'STATUS_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED', 'SGX_QL_TCBINFO_CHAIN_ERROR', 'TCB Info issuer chain', () => pemDecodeAll(collateral.tcbInfoIssuerChain).map((d) => parseCertificate(d)));
  const tcbInfo = guarded('VERIFY_TCB_INFO_FORMAT', 'STATUS_SGX_TCB_INFO_UNSUPPORTED_FORMAT', 'SGX_QL_TCBINFO_UNSUPPORTED_FORMAT', 'TCB Info', () => parseTcbInfo(collateral.tcbInfo));
  const qeChain = guarded('VERIFY_QE_IDENTITY_CHAIN', 'STATUS_SGX_ENCLAVE_IDENTITY_INVALID', 'SGX_QL_QEIDENTITY_CHAIN_ERROR', 'QE Identity issuer chain', () => pemDecodeAll(collateral.qeIdentityIssuerChain).map((d) => parseCertificate(d)));
  const qeIdentity = guarded('VERIFY_QE_IDENTITY_FORMAT', 'STATUS_SGX_QE_IDENTITY_UNSUPPORTED_FORMAT', 'SGX_QL_QEIDENTITY_UNSUPPORTED_FORMAT', 'QE Identity', () => parseQeIdentity(collateral.qeIdentity));

  // The certificates' roles, by their CN as QVL checks them (Intel's names end in these phrases; the
  // simulated PCS's begin with "Witness" instead of "Intel"), and each CRL's issuer: the Root CA CRL
  // is the root's, the PCK CRL the PCK's issuer's (QVL: STATUS_SGX_CRL_UNKNOWN_ISSUER). A CRL of
  // another issuer would otherwise be skipped, and revocation with it.
  const role = (c: Certificate, phrases: readonly string[]): boolean => {
    const cn = c.subject.attributes.find((a) => a.oid === OID_CN)?.value ?? '';
    return phrases.some((p) => cn.includes(p));
  };
  if (!role(pckChain[0]!, ['SGX PCK Certificate']) || !role(pckChain[1]!, ['SGX PCK Platform CA', 'SGX PCK Processor CA']) || !role(pckChain[2]!, ['SGX Root CA'])) {
    fail('VERIFY_PCK_CHAIN', 'STATUS_SGX_PCK_CERT_CHAIN_UNTRUSTED', 'SGX_QL_PCK_CERT_CHAIN_ERROR', 'the PCK certificate chain is not PCK Certificate ‖ PCK Platform/Processor CA ‖ Root CA');
  }
  for (const [chain, what, code, status, q3] of [
    [tcbChain, 'TCB Info', 'VERIFY_TCB_INFO_CHAIN', 'STATUS_SGX_TCB_SIGNING_CERT_MISSING', 'SGX_QL_TCBINFO_CHAIN_ERROR'],
    [qeChain, 'QE Identity', 'VERIFY_QE_IDENTITY_CHAIN', 'STATUS_SGX_TCB_SIGNING_CERT_MISSING', 'SGX_QL_QEIDENTITY_CHAIN_ERROR'],
  ] as const) {
    // QVL's TCBSigningChain: exactly the TCB Signing certificate, issued by the root.
    if (chain.length !== 2 || !role(chain[0]!, ['SGX TCB Signing']) || !role(chain[1]!, ['SGX Root CA'])) fail(code, status, q3, `the ${what} issuer chain is not TCB Signing ‖ Root CA`);
  }
  if (!bytesEqual(rootCrl.issuer.der, root.subject.der)) fail('VERIFY_CRL_ISSUER', 'STATUS_SGX_CRL_UNKNOWN_ISSUER', 'SGX_QL_CRL_UNSUPPORTED_FORMAT', `the Root CA CRL is issued by "${rootCrl.issuer.text}", not the root`);
  if (!bytesEqual(pckCrl.issuer.der, pckChain[1]!.subject.der)) fail('VERIFY_CRL_ISSUER', 'STATUS_SGX_CRL_UNKNOWN_ISSUER', 'SGX_QL_CRL_UNSUPPORTED_FORMAT', `the PCK CRL is issued by "${pckCrl.issuer.text}", not the PCK certificate's issuer`);

  const expiries: Date[] = [...pckChain, ...tcbChain, ...qeChain].map((c) => c.notAfter);
  const starts: Date[] = [...pckChain, ...tcbChain, ...qeChain].map((c) => c.notBefore);
  for (const c of crls) {
    expiries.push(c.nextUpdate);
    starts.push(c.thisUpdate);
  }
  expiries.push(tcbInfo.value.nextUpdate, qeIdentity.value.nextUpdate);
  starts.push(tcbInfo.value.issueDate, qeIdentity.value.issueDate);
  const earliestExpiration = new Date(Math.min(...expiries.map((d) => d.getTime())));
  const collateralExpired = now > earliestExpiration || starts.some((d) => now < d);

  const verdict = (result: QvResult, status: string, quote3Error: Quote3ErrorName, extra: { tcbStatus?: TcbStatus; qeIdentityStatus?: QeIdentityStatus; advisoryIDs?: readonly string[] } = {}): QuoteVerification => ({
    result, resultName: qvResultName(result)!, status, quote3Error,
    tcbStatus: extra.tcbStatus ?? null, qeIdentityStatus: extra.qeIdentityStatus ?? null, advisoryIDs: extra.advisoryIDs ?? [],
    quote, reportBody: quote.reportBody, pck, collateralExpired, earliestExpiration,
  });

  // 3. The PCK chain to the trusted root, with the CRLs (validity is reported, not enforced).
  const chainVerdict = (chain: readonly Certificate[], what: 'pck' | 'tcb' | 'qe'): QuoteVerification | null => {
    try {
      verifyCertificateChain(chain, root, { now, crypto, crls, checkValidity: false });
      return null;
    } catch (e) {
      if (!(e instanceof AttestError)) throw e;
      if (e.code === 'X509_REVOKED') {
        const status = what === 'pck' ? (e.data.index === 0 ? 'STATUS_SGX_PCK_REVOKED' : 'STATUS_SGX_INTERMEDIATE_CA_REVOKED') : 'STATUS_SGX_TCB_SIGNING_CERT_REVOKED';
        return verdict(QV_RESULT.REVOKED, status, 'SGX_QL_PCK_REVOKED');
      }
      if (e.code === 'X509_CRL_SIGNATURE') return verdict(QV_RESULT.INVALID_SIGNATURE, 'STATUS_SGX_CRL_INVALID_SIGNATURE', 'SGX_QL_RESULT_INVALID_SIGNATURE');
      if (what === 'pck') return fail('VERIFY_PCK_CHAIN', 'STATUS_SGX_PCK_CERT_CHAIN_UNTRUSTED', 'SGX_QL_PCK_CERT_CHAIN_ERROR', `PCK certificate chain: ${e.message}`, e);
      if (what === 'tcb') return fail('VERIFY_TCB_INFO_CHAIN', 'STATUS_SGX_TCB_SIGNING_CERT_CHAIN_UNTRUSTED', 'SGX_QL_TCBINFO_CHAIN_ERROR', `TCB Info issuer chain: ${e.message}`, e);
      return fail('VERIFY_QE_IDENTITY_CHAIN', 'STATUS_SGX_ENCLAVE_IDENTITY_INVALID', 'SGX_QL_QEIDENTITY_CHAIN_ERROR', `QE Identity issuer chain: ${e.message}`, e);
    }
  };
  const pckVerdict = chainVerdict(pckChain, 'pck');
  if (pckVerdict) return pckVerdict;

  // 4. TCB Info and 5. QE Identity: signing chains and signatures.
  const signedBy = (doc: SignedCollateral<TcbInfo> | SignedCollateral<QeIdentity>, chain: readonly Certificate[]): boolean => crypto.ecdsaP256Verify(chain[0]!.publicKey, doc.signedBytes, doc.signature);
  const tcbChainVerdict = chainVerdict(tcbChain, 'tcb');
  if (tcbChainVerdict) return tcbChainVerdict;
  if (!signedBy(tcbInfo, tcbChain)) return verdict(QV_RESULT.INVALID_SIGNATURE, 'STATUS_TCB_INFO_INVALID_SIGNATURE', 'SGX_QL_TCBINFO_CHAIN_ERROR');
  const qeChainVerdict = chainVerdict(qeChain, 'qe');
  if (qeChainVerdict) return qeChainVerdict;
  if (!signedBy(qeIdentity, qeChain)) return verdict(QV_RESULT.INVALID_SIGNATURE, 'STATUS_SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE', 'SGX_QL_QEIDENTITY_CHAIN_ERROR');

  // 6. QuoteVerifier: the PCK against TCB Info.
  const info = tcbInfo.value;
  if (!bytesEqual(pck.fmspc, info.fmspc) || !bytesEqual(pck.pceId, info.pceId)) fail('VERIFY_TCB_INFO_MISMATCH', 'STATUS_TCB_INFO_MISMATCH', 'SGX_QL_TCBINFO_MISMATCH', 'the PCK certificate\'s FMSPC or PCE-ID differs from the TCB Info\'s');

  // 7. The QE report, signed by the PCK.
  if (!crypto.ecdsaP256Verify(pck.publicKey, qeReportSignedBytes(quote.bytes), quote.qeReportSignature)) return verdict(QV_RESULT.INVALID_SIGNATURE, 'STATUS_INVALID_QE_REPORT_SIGNATURE', 'SGX_QL_QE_REPORT_INVALID_SIGNATURE');

  // 8. The QE REPORTDATA binds the attestation key and the auth data. As QVL, only the hash (the
  // first 32 bytes) is compared; the QE writes zeros after it.
  const binding = qeReportDataFor((b) => crypto.sha256(b), quote.attestPubKey, quote.authData).subarray(0, 32);
  if (!bytesEqual(quote.qeReport.REPORTDATA.subarray(0, 32), binding)) {
    fail('VERIFY_QE_REPORT_DATA', 'STATUS_INVALID_QE_REPORT_DATA', 'SGX_QL_ERROR_UNEXPECTED', 'the QE report\'s REPORTDATA does not begin with SHA-256(attestation key ‖ auth data)');
  }

  // 9. The QE report against the QE identity.
  const qeId = qeIdentity.value;
  const miscselect = quote.qeReport.MISCSELECT;
  const attributes = ATTRIBUTES.encode(quote.qeReport.ATTRIBUTES);
  const mismatch = (what: string): never => fail('VERIFY_QE_IDENTITY_MISMATCH', `STATUS_SGX_ENCLAVE_REPORT_${what}_MISMATCH`, 'SGX_QL_QEIDENTITY_MISMATCH', `the QE report's ${what} does not match the QE identity`);
  if (((miscselect & qeId.miscselectMask) >>> 0) !== ((qeId.miscselect & qeId.miscselectMask) >>> 0)) mismatch('MISCSELECT');
  if (attributes.some((b, i) => (b & qeId.attributesMask[i]!) !== (qeId.attributes[i]! & qeId.attributesMask[i]!))) mismatch('ATTRIBUTES');
  if (!bytesEqual(quote.qeReport.MRSIGNER, qeId.mrsigner)) mismatch('MRSIGNER');
  if (quote.qeReport.ISVPRODID !== qeId.isvprodid) mismatch('ISVPRODID');
  const qeLevel = qeId.tcbLevels.find((l) => quote.qeReport.ISVSVN >= l.isvsvn);
  const qeIdentityStatus: QeIdentityStatus = qeLevel ? qeLevel.tcbStatus : 'IsvSvnOutOfDate';
  // A revoked QE is not a verdict yet: QVL goes on to the quote's signature and the TCB level, and
  // the convergence makes the result Revoked (STATUS_TCB_REVOKED).

  // 10. The quote, signed by the attestation key, which must be a P-256 point (QVL converts it just
  // before: STATUS_UNSUPPORTED_QUOTE_FORMAT otherwise; the provider's ECDH refuses off-curve points).
  if (crypto.ecdhP256Shared(POINT_CHECK_SCALAR, quote.attestPubKey) === null) fail('VERIFY_QUOTE_FORMAT', 'STATUS_UNSUPPORTED_QUOTE_FORMAT', 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED', 'the attestation key is not a P-256 point');
  if (!crypto.ecdsaP256Verify(quote.attestPubKey, quoteSignedBytes(quote.bytes), quote.signature)) return verdict(QV_RESULT.INVALID_SIGNATURE, 'STATUS_INVALID_QUOTE_SIGNATURE', 'SGX_QL_RESULT_INVALID_SIGNATURE', { qeIdentityStatus });

  // 11. The TCB level.
  // QVL keeps the levels in a set ordered highest first (components, then PCESVN): the first match
  // in that order, whatever the document's order.
  const ordered = [...info.tcbLevels].sort((a, b) => {
    for (let i = 0; i < 16; i++) if (a.components[i] !== b.components[i]) return b.components[i]! - a.components[i]!;
    return b.pcesvn - a.pcesvn;
  });
  const level = ordered.find((l) => l.components.every((svn, i) => pck.tcb.components[i]! >= svn) && pck.tcb.pcesvn >= l.pcesvn);
  if (!level) fail('VERIFY_TCB_NOT_SUPPORTED', 'STATUS_TCB_NOT_SUPPORTED', 'SGX_QL_TCB_NOT_SUPPORTED', 'no TCB Info level is at or below the PCK certificate\'s TCB');
  const tcbStatus = converge(level!.tcbStatus, qeIdentityStatus);
  const [result, status, q3] = TCB_VERDICT[tcbStatus];
  // The converged status is QVL's (an out-of-date QE makes it STATUS_TCB_OUT_OF_DATE), and the
  // advisories are the platform level's and the QE level's together.
  const advisoryIDs = [...new Set([...(level!.advisoryIDs ?? []), ...(qeLevel?.advisoryIDs ?? [])])];
  return verdict(result, status, q3, { tcbStatus, qeIdentityStatus, advisoryIDs });
}

// ---------------------------------------------------------------------------------------------
// The collateral as a file

/** The version of the collateral file format (the file's, not Intel's struct version). */
export const COLLATERAL_FILE_VERSION = 1;

/**
 * The members of the collateral file, in the order of sgx_ql_qve_collateral_t (Intel DCAP,
 * QuoteGeneration/quote_wrapper/common/inc/sgx_ql_lib_common.h; the QvE takes it through
 * sgx_qv_verify_quote, sgx_dcap_quoteverify.h / sgx_qve_header.h), named in camelCase as
 * QuoteCollateral names them. The struct's own version/tee_type are not carried: the file is
 * SGX collateral with the CRLs as hex DER, as major_version 3, minor_version 0 of the struct
 * means ("Base16 encoded DER"). The PCK CRL issuer chain may be null (the verifier takes the
 * CRL's issuer from the quote's PCK chain); every other member is a string: the CRLs are never
 * optional, since a verifier without them cannot see a revocation.
 */
const COLLATERAL_MEMBERS = ['pckCrlIssuerChain', 'rootCaCrl', 'pckCrl', 'tcbInfoIssuerChain', 'tcbInfo', 'qeIdentityIssuerChain', 'qeIdentity'] as const;
const NULLABLE_MEMBERS: ReadonlySet<string> = new Set(['pckCrlIssuerChain']);

/**
 * The collateral as a JSON file: `{"version":1,"pckCrlIssuerChain":…,"rootCaCrl":"<hex DER>",
 * "pckCrl":"<hex DER>","tcbInfoIssuerChain":…,"tcbInfo":…,"qeIdentityIssuerChain":…,"qeIdentity":…}`
 * (the JSON documents as the exact text the PCS served, since their signatures cover those bytes).
 * A VerificationCollateral without the PCK CRL issuer chain has it as null.
 */
export function collateralToJson(c: QuoteCollateral | VerificationCollateral): string {
  const o: Record<string, unknown> = { version: COLLATERAL_FILE_VERSION };
  o.pckCrlIssuerChain = c.pckCrlIssuerChain ?? null;
  o.rootCaCrl = toHex(c.rootCaCrl);
  o.pckCrl = toHex(c.pckCrl);
  o.tcbInfoIssuerChain = c.tcbInfoIssuerChain;
  o.tcbInfo = c.tcbInfo;
  o.qeIdentityIssuerChain = c.qeIdentityIssuerChain;
  o.qeIdentity = c.qeIdentity;
  return JSON.stringify(o, null, 2) + '\n';
}

const malformed = (field: string, message: string, cause?: unknown): never => {
  throw new AttestError('COLLATERAL_FILE_MALFORMED', `collateral file: ${field === '' ? message : `${field}: ${message}`}`, { field }, cause === undefined ? undefined : { cause });
};

/** Run a member's parser; its AttestError becomes COLLATERAL_FILE_MALFORMED naming the member. */
function member<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AttestError) return malformed(field, e.message, e);
    throw e;
  }
}

function hexMember(field: string, v: string): Uint8Array {
  if (v.length === 0 || v.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(v)) return malformed(field, 'not a non-empty, even-length hex string');
  return fromHex(v);
}

function chainMember(field: string, pem: string): void {
  member(field, () => {
    const ders = pemDecodeAll(pem);
    if (ders.length === 0) malformed(field, 'no certificate');
    for (const d of ders) parseCertificate(d);
  });
}

/**
 * Parse a collateral file (see collateralToJson). Strict: the top level is an object with exactly
 * `version` (1) and the seven members; the chains must be PEM certificates, the CRLs hex DER that
 * parse, the TCB Info and QE Identity documents the PCS formats (parseTcbInfo / parseQeIdentity).
 * Signatures and chains are not checked here: that is the verifier's work.
 * @throws {AttestError} COLLATERAL_FILE_MALFORMED with data.field naming the member ('' for the
 * file as a whole), the member parser's error as cause.
 */
export function collateralFromJson(text: string): VerificationCollateral {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return malformed('', `not JSON (${(e as Error).message})`, e);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return malformed('', 'not a JSON object');
  const rec = o as Record<string, unknown>;
  const known = ['version', ...COLLATERAL_MEMBERS];
  for (const k of Object.keys(rec)) if (!known.includes(k)) malformed(k, 'unknown member');
  for (const k of known) if (!Object.hasOwn(rec, k)) malformed(k, 'missing');
  if (rec.version !== COLLATERAL_FILE_VERSION) malformed('version', `${JSON.stringify(rec.version)}; the file format is version ${COLLATERAL_FILE_VERSION}`);
  const str = (k: (typeof COLLATERAL_MEMBERS)[number]): string | null => {
    const v = rec[k];
    if (v === null && NULLABLE_MEMBERS.has(k)) return null;
    if (typeof v !== 'string') return malformed(k, `expected a string${NULLABLE_MEMBERS.has(k) ? ' or null' : ''}, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
    return v;
  };
  const pckCrlIssuerChain = str('pckCrlIssuerChain');
  const rootCaCrlHex = str('rootCaCrl')!;
  const pckCrlHex = str('pckCrl')!;
  const tcbInfoIssuerChain = str('tcbInfoIssuerChain')!;
  const tcbInfo = str('tcbInfo')!;
  const qeIdentityIssuerChain = str('qeIdentityIssuerChain')!;
  const qeIdentity = str('qeIdentity')!;
  if (pckCrlIssuerChain !== null) chainMember('pckCrlIssuerChain', pckCrlIssuerChain);
  const rootCaCrl = hexMember('rootCaCrl', rootCaCrlHex);
  const pckCrl = hexMember('pckCrl', pckCrlHex);
  member('rootCaCrl', () => parseCrl(rootCaCrl));
  member('pckCrl', () => parseCrl(pckCrl));
  chainMember('tcbInfoIssuerChain', tcbInfoIssuerChain);
  member('tcbInfo', () => parseTcbInfo(tcbInfo));
  chainMember('qeIdentityIssuerChain', qeIdentityIssuerChain);
  member('qeIdentity', () => parseQeIdentity(qeIdentity));
  return {
    ...(pckCrlIssuerChain !== null ? { pckCrlIssuerChain } : {}),
    rootCaCrl,
    pckCrl,
    tcbInfoIssuerChain, tcbInfo, qeIdentityIssuerChain, qeIdentity,
  };
}
