import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeU16le } from '../../src/lib/index.js';
import { encodeTcbInfo, encodeQeIdentity, parseTcbInfo, parseQeIdentity, type TcbInfo, type QeIdentity } from '../../src/attest/collateral.js';
import {
  AttestError, verifyQuote, encodeQuote, qeReportDataFor, qeReportSignedBytes, QV_RESULT, QUOTE3_ERROR, CERT_KEY_TYPE,
  type VerifyQuoteOptions, type QuoteParts,
} from '../../src/attest/index.js';
import { fakePlatform, fakePcs, FAKE_TCB_LEVELS, T0, LATER, ISV_MRENCLAVE, crypto } from './fake-qe.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const reportData = new Uint8Array(64).fill(0x5a);
const platform = fakePlatform();
const options = (p = platform, now = LATER): VerifyQuoteOptions => ({ trustedRoot: p.pcs.rootCertificate.pem, collateral: p.pcs.collateral(), now });
const throwsWith = (code: string, quote3Error: keyof typeof QUOTE3_ERROR) => (e: unknown): boolean => {
  assert.ok(e instanceof AttestError, `not an AttestError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.equal(e.data.quote3Error, quote3Error);
  assert.equal(e.data.quote3ErrorValue, QUOTE3_ERROR[quote3Error]);
  return true;
};
const resign = (parts: QuoteParts, change: (p: QuoteParts) => QuoteParts): Uint8Array => encodeQuote(change(parts));

describe('verifyQuote: a good quote', () => {
  test('OK, with the attested enclave\'s report body and the PCK fields', () => {
    const v = verifyQuote(platform.quote(reportData), options());
    assert.equal(v.result, QV_RESULT.OK);
    assert.equal(v.resultName, 'SGX_QL_QV_RESULT_OK');
    assert.equal(v.status, 'STATUS_OK');
    assert.equal(v.quote3Error, 'SGX_QL_SUCCESS');
    assert.equal(v.tcbStatus, 'UpToDate');
    assert.equal(v.qeIdentityStatus, 'UpToDate');
    assert.deepEqual(v.reportBody.REPORTDATA, reportData);
    assert.deepEqual(v.reportBody.MRENCLAVE, ISV_MRENCLAVE);
    assert.equal(v.reportBody.ISVPRODID, 7);
    assert.equal(v.pck.tcb.pcesvn, 13);
    assert.equal(v.collateralExpired, false);
    assert.equal(v.earliestExpiration.getTime(), T0.getTime() + 30 * 86_400_000);
  });
  test('expired collateral is reported, not a different verdict (the QvE\'s collateral_expiration_status)', () => {
    const v = verifyQuote(platform.quote(reportData), options(platform, new Date(T0.getTime() + 40 * 86_400_000)));
    assert.equal(v.result, QV_RESULT.OK);
    assert.equal(v.collateralExpired, true);
  });
});

describe('verifyQuote: tampering', () => {
  const good = platform.quote(reportData);
  const flip = (at: number): Uint8Array => {
    const q = good.slice();
    q[at]! ^= 0x01;
    return q;
  };
  test('a quote body byte (REPORTDATA) → INVALID_SIGNATURE', () => {
    const v = verifyQuote(flip(48 + 320), options());
    assert.equal(v.result, QV_RESULT.INVALID_SIGNATURE);
    assert.equal(v.status, 'STATUS_INVALID_QUOTE_SIGNATURE');
  });
  test('a header byte (user data) → INVALID_SIGNATURE', () => {
    assert.equal(verifyQuote(flip(30), options()).result, QV_RESULT.INVALID_SIGNATURE);
  });
  test('the quote signature itself → INVALID_SIGNATURE', () => {
    assert.equal(verifyQuote(flip(436 + 5), options()).result, QV_RESULT.INVALID_SIGNATURE);
  });
  test('the attestation key → the QE REPORTDATA no longer binds it (SGX_QL_ERROR_UNEXPECTED, as the QvE maps STATUS_INVALID_QE_REPORT_DATA)', () => {
    assert.throws(() => verifyQuote(flip(436 + 64 + 10), options()), throwsWith('VERIFY_QE_REPORT_DATA', 'SGX_QL_ERROR_UNEXPECTED'));
  });
  test('a swapped attestation key with its own signature still fails the binding', () => {
    const parts = platform.parts(reportData);
    const otherPriv = crypto.sha256(enc('another attestation key'));
    const q0 = encodeQuote({ ...parts, attestPubKey: crypto.ecdsaP256PublicKey(otherPriv)! });
    const q = resign(parts, (p) => ({ ...p, attestPubKey: crypto.ecdsaP256PublicKey(otherPriv)!, signature: crypto.ecdsaP256Sign(otherPriv, q0.slice(0, 432)) }));
    assert.throws(() => verifyQuote(q, options()), throwsWith('VERIFY_QE_REPORT_DATA', 'SGX_QL_ERROR_UNEXPECTED'));
  });
  test('an attestation key that is not a P-256 point, correctly bound and signed → SGX_QL_QUOTE_FORMAT_UNSUPPORTED', () => {
    const parts = platform.parts(reportData);
    const zeros = new Uint8Array(64);
    const bound = { ...parts, attestPubKey: zeros, qeReport: { ...parts.qeReport, REPORTDATA: qeReportDataFor((b) => crypto.sha256(b), zeros, parts.authData) } };
    const draft = encodeQuote(bound);
    const q = encodeQuote({ ...bound, qeReportSignature: crypto.ecdsaP256Sign(platform.pckPriv, qeReportSignedBytes(draft)) });
    assert.throws(() => verifyQuote(q, options()), (e: unknown) => throwsWith('VERIFY_QUOTE_FORMAT', 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED')(e) && (e as AttestError).data.status === 'STATUS_UNSUPPORTED_QUOTE_FORMAT');
    // QVL converts the key after the QE identity check: a QE that also mismatches its identity is that mismatch.
    const evil = fakePlatform({ qeMrsigner: crypto.sha256(enc('evil signer')) }).parts(reportData);
    const boundEvil = { ...evil, attestPubKey: zeros, qeReport: { ...evil.qeReport, REPORTDATA: qeReportDataFor((b) => crypto.sha256(b), zeros, evil.authData) } };
    const qe = encodeQuote({ ...boundEvil, qeReportSignature: crypto.ecdsaP256Sign(platform.pckPriv, qeReportSignedBytes(encodeQuote(boundEvil))) });
    assert.throws(() => verifyQuote(qe, options()), throwsWith('VERIFY_QE_IDENTITY_MISMATCH', 'SGX_QL_QEIDENTITY_MISMATCH'));
  });
  test('the upper half of the QE REPORTDATA is not compared (as QVL)', () => {
    const parts = platform.parts(reportData);
    const rd = parts.qeReport.REPORTDATA!.slice();
    rd[40] = 1;
    const moved = { ...parts, qeReport: { ...parts.qeReport, REPORTDATA: rd } };
    const q = encodeQuote({ ...moved, qeReportSignature: crypto.ecdsaP256Sign(platform.pckPriv, qeReportSignedBytes(encodeQuote(moved))) });
    assert.equal(verifyQuote(q, options()).result, QV_RESULT.OK);
  });
  test('the QE report → INVALID_SIGNATURE (STATUS_INVALID_QE_REPORT_SIGNATURE)', () => {
    const v = verifyQuote(flip(436 + 128 + 64), options());
    assert.equal(v.result, QV_RESULT.INVALID_SIGNATURE);
    assert.equal(v.status, 'STATUS_INVALID_QE_REPORT_SIGNATURE');
    assert.equal(v.quote3Error, 'SGX_QL_QE_REPORT_INVALID_SIGNATURE');
  });
  test('the QE report signature → INVALID_SIGNATURE', () => {
    assert.equal(verifyQuote(flip(436 + 512 + 3), options()).status, 'STATUS_INVALID_QE_REPORT_SIGNATURE');
  });
  test('the auth data → the binding fails', () => {
    assert.throws(() => verifyQuote(flip(1012 + 2 + 4), options()), throwsWith('VERIFY_QE_REPORT_DATA', 'SGX_QL_ERROR_UNEXPECTED'));
  });
  test('a PCK chain from another PCS → SGX_QL_PCK_CERT_CHAIN_ERROR', () => {
    const otherPcs = fakePcs({ seed: enc('someone else'), now: () => T0 });
    const foreign = fakePlatform({ pcs: otherPcs });
    assert.throws(() => verifyQuote(foreign.quote(reportData), options()), throwsWith('VERIFY_PCK_CHAIN', 'SGX_QL_PCK_CERT_CHAIN_ERROR'));
  });
  test('collateral from another PCS → SGX_QL_TCBINFO_CHAIN_ERROR', () => {
    const otherPcs = fakePcs({ seed: enc('someone else'), now: () => T0 });
    const o = options();
    const collateral = { ...o.collateral, tcbInfo: otherPcs.tcbInfo(), tcbInfoIssuerChain: otherPcs.tcbInfoIssuerChain() };
    assert.throws(() => verifyQuote(good, { ...o, collateral }), throwsWith('VERIFY_TCB_INFO_CHAIN', 'SGX_QL_TCBINFO_CHAIN_ERROR'));
  });
  test('TCB Info altered after signing → INVALID_SIGNATURE', () => {
    const o = options();
    const collateral = { ...o.collateral, tcbInfo: o.collateral.tcbInfo.replace('"pcesvn":13', '"pcesvn":12') };
    const v = verifyQuote(good, { ...o, collateral });
    assert.equal(v.result, QV_RESULT.INVALID_SIGNATURE);
    assert.equal(v.status, 'STATUS_TCB_INFO_INVALID_SIGNATURE');
  });
  test('QE Identity altered after signing → INVALID_SIGNATURE', () => {
    const o = options();
    const collateral = { ...o.collateral, qeIdentity: o.collateral.qeIdentity.replace('"isvprodid":1', '"isvprodid":2') };
    assert.equal(verifyQuote(good, { ...o, collateral }).status, 'STATUS_SGX_ENCLAVE_IDENTITY_INVALID_SIGNATURE');
  });
});

describe('verifyQuote: TCB and QE identity statuses', () => {
  test('a TCB lower than the UpToDate level → OUT_OF_DATE with the level\'s advisories', () => {
    const p = fakePlatform({ cpusvn: new Uint8Array(16).fill(1), pcesvn: 10 });
    const v = verifyQuote(p.quote(reportData), options(p));
    assert.equal(v.result, QV_RESULT.OUT_OF_DATE);
    assert.equal(v.status, 'STATUS_TCB_OUT_OF_DATE');
    assert.equal(v.quote3Error, 'SGX_QL_SUCCESS');
    assert.deepEqual(v.advisoryIDs, FAKE_TCB_LEVELS[1]!.advisoryIDs);
  });
  test('one component lower is enough to drop a level; a lower PCESVN too', () => {
    const c = new Uint8Array(16).fill(2);
    c[15] = 1;
    assert.equal(verifyQuote(fakePlatform({ cpusvn: c }).quote(reportData), options()).tcbStatus, 'OutOfDate');
    assert.equal(verifyQuote(fakePlatform({ pcesvn: 12 }).quote(reportData), options()).tcbStatus, 'OutOfDate');
  });
  test('below every level → VERIFY_TCB_NOT_SUPPORTED', () => {
    assert.throws(() => verifyQuote(fakePlatform({ cpusvn: new Uint8Array(16) }).quote(reportData), options()), (e: unknown) => throwsWith('VERIFY_TCB_NOT_SUPPORTED', 'SGX_QL_TCB_NOT_SUPPORTED')(e) && (e as AttestError).data.status === 'STATUS_TCB_NOT_SUPPORTED');
  });
  test('each TCB Info status maps to its sgx_ql_qv_result_t', () => {
    const cases = [
      ['SWHardeningNeeded', QV_RESULT.SW_HARDENING_NEEDED],
      ['ConfigurationNeeded', QV_RESULT.CONFIG_NEEDED],
      ['ConfigurationAndSWHardeningNeeded', QV_RESULT.CONFIG_AND_SW_HARDENING_NEEDED],
      ['OutOfDateConfigurationNeeded', QV_RESULT.OUT_OF_DATE_CONFIG_NEEDED],
      ['Revoked', QV_RESULT.REVOKED],
    ] as const;
    for (const [tcbStatus, result] of cases) {
      const p = fakePlatform({ pcsOptions: { seed: enc(`status ${tcbStatus}`), tcbLevels: [{ components: new Array<number>(16).fill(1), pcesvn: 1, tcbDate: '2024-01-01T00:00:00Z', tcbStatus }] } });
      assert.equal(verifyQuote(p.quote(reportData), options(p)).result, result, tcbStatus);
    }
  });
  test('a QE with a lower ISVSVN → OUT_OF_DATE (QE identity OutOfDate converges with an UpToDate TCB)', () => {
    const p = fakePlatform({ qeIsvSvn: 5 });
    const v = verifyQuote(p.quote(reportData), options());
    assert.equal(v.qeIdentityStatus, 'OutOfDate');
    assert.equal(v.tcbStatus, 'OutOfDate');
    assert.equal(v.result, QV_RESULT.OUT_OF_DATE);
    assert.equal(v.status, 'STATUS_TCB_OUT_OF_DATE', 'QVL\'s converged status');
  });
  test('a QE below every identity level → OUT_OF_DATE (ISVSVN out of date)', () => {
    const pcs = fakePcs({ seed: enc('qe levels'), now: () => T0, qeIdentity: { mrsigner: fakePlatform().parts(reportData).qeReport.MRSIGNER!, tcbLevels: [{ isvsvn: 8, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }] } });
    const p = fakePlatform({ pcs, qeIsvSvn: 7 });
    const v = verifyQuote(p.quote(reportData), options(p));
    assert.equal(v.qeIdentityStatus, 'IsvSvnOutOfDate');
    assert.equal(v.result, QV_RESULT.OUT_OF_DATE);
    assert.equal(v.status, 'STATUS_TCB_OUT_OF_DATE', 'QVL\'s converged status');
  });
  test('a revoked QE is judged after the quote signature and the TCB level, as QVL converges it: REVOKED / STATUS_TCB_REVOKED', () => {
    const mrsigner = fakePlatform().parts(reportData).qeReport.MRSIGNER!;
    const pcs = fakePcs({ seed: enc('revoked qe'), now: () => T0, qeIdentity: { mrsigner, tcbLevels: [
      { isvsvn: 9, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }, { isvsvn: 0, tcbDate: '2023-01-01T00:00:00Z', tcbStatus: 'Revoked' }] } });
    const p = fakePlatform({ pcs, qeIsvSvn: 8 });
    const v = verifyQuote(p.quote(reportData), options(p));
    assert.equal(v.result, QV_RESULT.REVOKED);
    assert.equal(v.status, 'STATUS_TCB_REVOKED');
    assert.equal(v.quote3Error, 'SGX_QL_TCB_REVOKED');
    assert.equal(v.tcbStatus, 'Revoked');
    assert.equal(v.qeIdentityStatus, 'Revoked');
    const forged = p.quote(reportData);
    forged[48 + 320]! ^= 1;
    const f = verifyQuote(forged, options(p));
    assert.equal(f.result, QV_RESULT.INVALID_SIGNATURE, 'a forged quote is a bad signature, whatever its QE');
    assert.equal(f.quote3Error, 'SGX_QL_RESULT_INVALID_SIGNATURE');
    const low = fakePlatform({ pcs, qeIsvSvn: 8, cpusvn: new Uint8Array(16) });
    assert.throws(() => verifyQuote(low.quote(reportData), options(low)), throwsWith('VERIFY_TCB_NOT_SUPPORTED', 'SGX_QL_TCB_NOT_SUPPORTED'));
  });
  test('a QE with a different MRSIGNER, a DEBUG QE → SGX_QL_QEIDENTITY_MISMATCH', () => {
    assert.throws(() => verifyQuote(fakePlatform({ qeMrsigner: new Uint8Array(32).fill(1) }).quote(reportData), options()), (e: unknown) => throwsWith('VERIFY_QE_IDENTITY_MISMATCH', 'SGX_QL_QEIDENTITY_MISMATCH')(e) && (e as AttestError).data.status === 'STATUS_SGX_ENCLAVE_REPORT_MRSIGNER_MISMATCH');
    assert.throws(() => verifyQuote(fakePlatform({ qeAttributesFlags: 0x17n }).quote(reportData), options()), (e: unknown) => throwsWith('VERIFY_QE_IDENTITY_MISMATCH', 'SGX_QL_QEIDENTITY_MISMATCH')(e) && (e as AttestError).data.status === 'STATUS_SGX_ENCLAVE_REPORT_ATTRIBUTES_MISMATCH');
  });
  test('the PCK\'s FMSPC differs from the TCB Info\'s → SGX_QL_TCBINFO_MISMATCH', () => {
    const otherFmspc = fakePcs({ seed: enc('verify test PCS'), now: () => T0, fmspc: new Uint8Array(6).fill(7) });
    const o = options();
    assert.throws(() => verifyQuote(platform.quote(reportData), { ...o, collateral: { ...o.collateral, tcbInfo: otherFmspc.tcbInfo() } }), throwsWith('VERIFY_TCB_INFO_MISMATCH', 'SGX_QL_TCBINFO_MISMATCH'));
  });
});

describe('verifyQuote: revocation and malformed input', () => {
  test('a revoked PCK → REVOKED (STATUS_SGX_PCK_REVOKED, SGX_QL_PCK_REVOKED)', () => {
    const pcs = fakePcs({ seed: enc('revoking PCS'), now: () => T0 });
    const p = fakePlatform({ pcs });
    const quote = p.quote(reportData);
    assert.equal(verifyQuote(quote, options(p)).result, QV_RESULT.OK);
    const serial = verifyQuote(quote, options(p)).pck.certificate.serial;
    pcs.revoke(serial);
    const v = verifyQuote(quote, options(p));
    assert.equal(v.result, QV_RESULT.REVOKED);
    assert.equal(v.status, 'STATUS_SGX_PCK_REVOKED');
    assert.equal(v.quote3Error, 'SGX_QL_PCK_REVOKED');
    const pcs2 = fakePcs({ seed: enc('revoking PCS 2'), now: () => T0 });
    const p2 = fakePlatform({ pcs: pcs2 });
    pcs2.revoke(pcs2.tcbSigningCertificate.serial);
    assert.equal(verifyQuote(p2.quote(reportData), options(p2)).status, 'STATUS_SGX_TCB_SIGNING_CERT_REVOKED');
  });
  test('revocation cannot be turned off: a missing CRL is VERIFY_PARAMETERS, another issuer\'s CRL in its place VERIFY_CRL_ISSUER', () => {
    const pcs = fakePcs({ seed: enc('revoking PCS 3'), now: () => T0 });
    const p = fakePlatform({ pcs });
    pcs.revoke(verifyQuote(p.quote(reportData), options(p)).pck.certificate.serial);
    const c = pcs.collateral();
    const { pckCrl: _p, ...noPckCrl } = c;
    const { rootCaCrl: _r, ...noRootCrl } = c;
    for (const collateral of [noPckCrl, noRootCrl]) {
      assert.throws(() => verifyQuote(p.quote(reportData), { ...options(p), collateral: collateral as typeof c }), throwsWith('VERIFY_PARAMETERS', 'SGX_QL_ERROR_INVALID_PARAMETER'));
    }
    assert.throws(() => verifyQuote(p.quote(reportData), { ...options(p), collateral: { ...c, pckCrl: c.rootCaCrl } }), (e: unknown) => throwsWith('VERIFY_CRL_ISSUER', 'SGX_QL_CRL_UNSUPPORTED_FORMAT')(e) && (e as AttestError).data.status === 'STATUS_SGX_CRL_UNKNOWN_ISSUER');
    assert.throws(() => verifyQuote(p.quote(reportData), { ...options(p), collateral: { ...c, rootCaCrl: c.pckCrl } }), throwsWith('VERIFY_CRL_ISSUER', 'SGX_QL_CRL_UNSUPPORTED_FORMAT'));
  });
  test('collateral signed by a PCK (a leaked platform key) is not trusted: TCB Info and QE Identity need the TCB Signing certificate', () => {
    const pcs = fakePcs({ seed: enc('leaked PCK'), now: () => T0 });
    const low = fakePlatform({ pcs, cpusvn: new Uint8Array(16).fill(1), pcesvn: 10 });
    const c = pcs.collateral();
    // The leaked PCK re-rates every TCB as UpToDate…
    const info: TcbInfo = { ...parseTcbInfo(c.tcbInfo).value, tcbLevels: [{ components: new Array<number>(16).fill(0), pcesvn: 0, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate' }] };
    const forgedTcb = { ...c, tcbInfo: encodeTcbInfo(info, low.pckPriv, crypto), tcbInfoIssuerChain: low.chainPem };
    assert.throws(() => verifyQuote(low.quote(reportData), { ...options(low), collateral: forgedTcb }), (e: unknown) => throwsWith('VERIFY_TCB_INFO_CHAIN', 'SGX_QL_TCBINFO_CHAIN_ERROR')(e) && (e as AttestError).data.status === 'STATUS_SGX_TCB_SIGNING_CERT_MISSING');
    // …or names its own QE signer.
    const evil = crypto.sha256(enc('evil signer'));
    const impostor = fakePlatform({ pcs, qeMrsigner: evil });
    const id: QeIdentity = { ...parseQeIdentity(c.qeIdentity).value, mrsigner: evil };
    const forgedQe = { ...c, qeIdentity: encodeQeIdentity(id, impostor.pckPriv, crypto), qeIdentityIssuerChain: impostor.chainPem };
    assert.throws(() => verifyQuote(impostor.quote(reportData), { ...options(impostor), collateral: forgedQe }), throwsWith('VERIFY_QE_IDENTITY_CHAIN', 'SGX_QL_QEIDENTITY_CHAIN_ERROR'));
    // The TCB Signing certificate followed by the Platform CA (not the root) is refused too.
    const platformCaChain = c.tcbInfoIssuerChain.split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n' + pcs.platformCaCertificate.pem;
    assert.throws(() => verifyQuote(platform.quote(reportData), { ...options(), collateral: { ...options().collateral, tcbInfoIssuerChain: platformCaChain } }), AttestError);
  });
  test('TCB levels are matched highest first whatever their order in the document (QVL keeps them ordered)', () => {
    const levels = [...FAKE_TCB_LEVELS].reverse();
    const pcs = fakePcs({ seed: enc('reversed levels'), now: () => T0, tcbLevels: levels });
    const p = fakePlatform({ pcs });
    assert.equal(parseTcbInfo(pcs.tcbInfo()).value.tcbLevels[0]!.tcbStatus, 'OutOfDate', 'the document lists the lower level first');
    assert.equal(verifyQuote(p.quote(reportData), options(p)).tcbStatus, 'UpToDate');
  });
  test('bad parameters are VERIFY_PARAMETERS, never a TypeError: no options, no collateral, an invalid date', () => {
    const q = platform.quote(reportData);
    for (const bad of [undefined, null, { trustedRoot: platform.pcs.rootCertificate.der }, { ...options(), now: new Date(NaN) }, { ...options(), collateral: { ...options().collateral, tcbInfo: 7 } }]) {
      assert.throws(() => verifyQuote(q, bad as unknown as VerifyQuoteOptions), throwsWith('VERIFY_PARAMETERS', 'SGX_QL_ERROR_INVALID_PARAMETER'));
    }
    assert.throws(() => verifyQuote('quote' as unknown as Uint8Array, options()), throwsWith('VERIFY_PARAMETERS', 'SGX_QL_ERROR_INVALID_PARAMETER'));
  });
  test('malformed quote → VERIFY_QUOTE_FORMAT with the parser\'s error as cause', () => {
    const q = platform.quote(reportData);
    writeU16le(q, 0, 4);
    assert.throws(() => verifyQuote(q, options()), (e: unknown) => throwsWith('VERIFY_QUOTE_FORMAT', 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED')(e) && (e as AttestError).cause instanceof AttestError);
    const v = platform.quote(reportData);
    v[12]! ^= 1;
    assert.throws(() => verifyQuote(v, options()), throwsWith('VERIFY_QUOTE_FORMAT', 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED'));
  });
  test('certification data other than a PCK chain → SGX_QL_QUOTE_CERTIFICATION_DATA_UNSUPPORTED', () => {
    const q = resign(platform.parts(reportData), (p) => ({ ...p, certificationData: { type: CERT_KEY_TYPE.PPID_CLEARTEXT, data: new Uint8Array(36) } }));
    assert.throws(() => verifyQuote(q, options()), throwsWith('VERIFY_CERTIFICATION_DATA', 'SGX_QL_QUOTE_CERTIFICATION_DATA_UNSUPPORTED'));
  });
  test('a PCK chain of two certificates, garbage PEM → SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT', () => {
    const two = resign(platform.parts(reportData), (p) => ({ ...p, certificationData: { type: 5, data: enc(platform.chainPem.slice(0, platform.chainPem.lastIndexOf('-----BEGIN'))) } }));
    assert.throws(() => verifyQuote(two, options()), throwsWith('VERIFY_PCK_FORMAT', 'SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT'));
    const junk = resign(platform.parts(reportData), (p) => ({ ...p, certificationData: { type: 5, data: enc('junk') } }));
    assert.throws(() => verifyQuote(junk, options()), throwsWith('VERIFY_PCK_FORMAT', 'SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT'));
  });
  test('malformed collateral → its format error', () => {
    const o = options();
    assert.throws(() => verifyQuote(platform.quote(reportData), { ...o, collateral: { ...o.collateral, tcbInfo: '{}' } }), throwsWith('VERIFY_TCB_INFO_FORMAT', 'SGX_QL_TCBINFO_UNSUPPORTED_FORMAT'));
    assert.throws(() => verifyQuote(platform.quote(reportData), { ...o, collateral: { ...o.collateral, qeIdentity: '[]' } }), throwsWith('VERIFY_QE_IDENTITY_FORMAT', 'SGX_QL_QEIDENTITY_UNSUPPORTED_FORMAT'));
    assert.throws(() => verifyQuote(platform.quote(reportData), { ...o, collateral: { ...o.collateral, pckCrl: new Uint8Array([0x30, 0x00]) } }), throwsWith('VERIFY_CRL_FORMAT', 'SGX_QL_CRL_UNSUPPORTED_FORMAT'));
  });
});
