/** src/attest: DCAP-style remote attestation — the Witness PCE and QE, the quoting service, DER/X.509, the simulated PCS, ECDSA quotes, the quote verifier. */
export { AttestError } from './errors.js';
export {
  OID, KEY_USAGE, encodeName, encodeExtension, encodeP256PublicKeyInfo, keyIdentifier, basicConstraintsExtension, keyUsageExtension, subjectKeyIdExtension,
  authorityKeyIdExtension, crlDistributionPointExtension, signCertificate, parseCertificate, pemEncode, pemDecodeAll, signCrl, parseCrl, verifyCertificateChain,
  type NameSpec, type X509Name, type CertificateSpec, type Certificate, type Extension, type CrlSpec, type Crl, type ChainCheckOptions,
} from './x509.js';
export { SGX_EXTENSION_OID, SGX_TYPE, encodeSgxExtensions, parseSgxExtensions, parsePckCertificate, type PckTcb, type SgxExtensions, type PckCertificate } from './pck.js';
export {
  TCB_STATUSES, QE_TCB_STATUSES, encodeTcbInfo, encodeQeIdentity, parseTcbInfo, parseQeIdentity, pcsDate,
  type TcbStatus, type QeTcbStatus, type TcbLevel, type TcbInfo, type QeTcbLevel, type QeIdentity, type SignedCollateral,
} from './collateral.js';
export {
  PCS_NAMES, DEFAULT_FMSPC, DEFAULT_PCE_ID, DEFAULT_TCB_LEVELS, defaultQeIdentity, createProvisioningCertificationService, trustedRootCertificate, verifyPckCertChain,
  type QeIdentityOptions, type PcsOptions, type PckRequest, type IssuedCertificate, type QuoteCollateral, type ProvisioningCertificationService,
} from './pki.js';
export { QV_RESULT, QUOTE3_ERROR, qvResultName, type QvResult, type QvResultName, type Quote3ErrorName } from './results.js';
export {
  SGX_QL_ALG_ECDSA_P256, QUOTE_VERSION_3, CERT_KEY_TYPE, QE_VENDOR_ID_INTEL, QUOTE_HEADER, QUOTE3_FIXED, ECDSA_SIG_DATA_FIXED, QUOTE_SIGNED_LENGTH, QUOTE_MIN_SIZE,
  parseQuote, quoteSignedBytes, qeReportSignedBytes, qeReportDataFor, encodeQuote, type QuoteHeader, type Quote, type QuoteParts,
} from './quote.js';
export { verifyQuote, collateralToJson, collateralFromJson, COLLATERAL_FILE_VERSION, type VerificationCollateral, type VerifyQuoteOptions, type QeIdentityStatus, type QuoteVerification } from './verify.js';
export { WITNESS_AE_MRSIGNER, QE_ISVPRODID, QE_ISVSVN, PCE_ISVPRODID, PCE_ISVSVN } from './identities.js';
export { architecturalEnclaves, AE_DIRECTORY, QE_CONFIG, PCE_CONFIG, AE_DATE, type ArchitecturalEnclave, type ArchitecturalEnclaves } from './ae.js';
export { PCE_KEY_FLAGS_MASK, pceProvisionKey, ppidFor, pckPublicKeyFor, type PceIdentity } from './provisioning.js';
export { createPckCertificateService, witnessPceIdentity, type PckCertificateService, type EnrolledPlatform } from './registration.js';
export {
  createQuotingService, PCE_RESULT, QE_RESULT, DEFAULT_QE_AUTH_DATA,
  type QuotingService, type QuotingServiceOptions, type PckCertificateRequest, type PckCertificateSource,
} from './quoting.js';
