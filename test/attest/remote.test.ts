/**
 * Remote attestation end to end, on modelled platforms: the manufacturer enrols a platform, the
 * quoting service loads the Witness PCE and QE on it and gets its PCK certificate from the PCS, an
 * application enclave's REPORT for the QE becomes a quote, and the verifier (and, as an independent
 * oracle, Phala's pure-JS DCAP verifier @phala/dcap-qvl with the Witness root) accepts it with the
 * application's identity. Then what must fail: a platform never enrolled, a REPORT made on another
 * platform, a QE signed by someone else (the PCE certifies any PROVISIONKEY enclave: the QE identity
 * is what stops it), a platform whose TCB is below the PCS's levels.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { toHex, defaultCrypto } from '../../src/lib/index.js';
import { REPORT, DEFAULT_CPUSVN } from '../../src/arch/index.js';
import { loadEnclave, generateSigningKey, signSigstruct, sigstructFieldsFor, type HostEnclave, type HostPlatform } from '../../src/sdk/index.js';
import { createLinuxPlatform, type Platform } from '../../src/platform/index.js';
import {
  AttestError, verifyQuote, parseQuote, createProvisioningCertificationService, QV_RESULT, type ProvisioningCertificationService,
} from '../../src/attest/index.js';
import { architecturalEnclaves, QE_CONFIG, AE_DIRECTORY } from '../../src/attest/ae.js';
import { createQuotingService, QE_RESULT, type QuotingService } from '../../src/attest/quoting.js';
import { createPckCertificateService, type PckCertificateService } from '../../src/attest/registration.js';
import { buildImage, resolveEdl } from '../../src/sdk/index.js';
import { readFileSync } from 'node:fs';
import { newPlatform, loadFixture } from '../helpers/sdk.js';

const crypto = defaultCrypto();
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const RD = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);

function appReport(app: HostEnclave, ti: Uint8Array, rd = RD): Uint8Array {
  const r = new Uint8Array(432);
  assert.equal(app.ecall('ecall_report', [ti, rd, r]), 0);
  return r;
}

/** @phala/dcap-qvl's collateral: each JSON document split into its body text and hex signature. */
function qvlCollateral(pcs: ProvisioningCertificationService): Record<string, unknown> {
  const c = pcs.collateral();
  const split = (doc: string, key: string): [string, string] => [doc.slice(`{"${key}":`.length, doc.lastIndexOf(',"signature"')), (JSON.parse(doc) as { signature: string }).signature];
  const [tcb, tcbSig] = split(c.tcbInfo, 'tcbInfo');
  const [qe, qeSig] = split(c.qeIdentity, 'enclaveIdentity');
  return {
    pck_crl_issuer_chain: c.pckCrlIssuerChain, root_ca_crl: Buffer.from(c.rootCaCrl), pck_crl: Buffer.from(c.pckCrl), tcb_info_issuer_chain: c.tcbInfoIssuerChain,
    tcb_info: tcb, tcb_info_signature: tcbSig, qe_identity_issuer_chain: c.qeIdentityIssuerChain, qe_identity: qe, qe_identity_signature: qeSig,
  };
}

interface QuoteVerifierLike {
  verify(quote: Uint8Array, collateral: Record<string, unknown>, nowSecs: number): { status: string; report: unknown };
}
const { QuoteVerifier } = createRequire(import.meta.url)('@phala/dcap-qvl') as { QuoteVerifier: { newWithRootCa(der: Buffer): QuoteVerifierLike } };

describe('remote attestation on a Windows platform and through the Linux driver', () => {
  let pcs: ProvisioningCertificationService;
  let registry: PckCertificateService;
  before(() => {
    pcs = createProvisioningCertificationService({ seed: enc('remote attestation test PCS') });
    registry = createPckCertificateService(pcs);
  });

  for (const os of ['win-x64-sgx1', 'linux-sgx2'] as const) {
    test(`${os}: a quote of the application's REPORT verifies, UpToDate, with its identity; dcap-qvl agrees`, () => {
      const p: HostPlatform = os === 'linux-sgx2' ? createLinuxPlatform({ profile: os, epcSize: 16 << 20 }) : newPlatform({ profile: os });
      const ppid = registry.enroll(p as Platform);
      const qs = createQuotingService(p, { pcs: registry });
      assert.equal(toHex(qs.platform.ppid), toHex(ppid));
      const app = loadFixture(p, 'identity');
      const report = appReport(app, qs.qeTargetInfo);
      const quote = qs.quote(report);
      assert.equal(quote.length, qs.quoteSize);
      const v = verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() });
      assert.equal(v.resultName, 'SGX_QL_QV_RESULT_OK');
      assert.equal(v.tcbStatus, 'UpToDate');
      assert.equal(v.qeIdentityStatus, 'UpToDate');
      const r = REPORT.decode(report);
      assert.equal(toHex(v.reportBody.MRENCLAVE), toHex(r.MRENCLAVE));
      assert.equal(toHex(v.reportBody.MRSIGNER), toHex(r.MRSIGNER));
      assert.equal(toHex(v.reportBody.REPORTDATA), toHex(RD));
      assert.equal(toHex(v.pck.ppid), toHex(ppid));
      assert.equal(toHex(v.pck.tcb.cpusvn), toHex(DEFAULT_CPUSVN));
      assert.equal(v.quote.header.qeSvn, QE_CONFIG.isvSvn);
      // The independent verifier, given the Witness root instead of Intel's.
      const qvl = QuoteVerifier.newWithRootCa(Buffer.from(pcs.rootCertificate.der)).verify(quote, qvlCollateral(pcs), Date.now() / 1000);
      assert.equal(qvl.status, 'UpToDate');
      const changed = quote.slice();
      changed[48 + 320]! ^= 1; // REPORTDATA
      assert.equal(verifyQuote(changed, { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() }).result, QV_RESULT.INVALID_SIGNATURE);
      assert.throws(() => QuoteVerifier.newWithRootCa(Buffer.from(pcs.rootCertificate.der)).verify(changed, qvlCollateral(pcs), Date.now() / 1000), /signature is invalid/);
      qs.close();
    });
  }

  test('the same platform after a restart: the same PPID and PCK certificate key; its quotes verify', () => {
    const p = newPlatform();
    registry.enroll(p);
    const a = createQuotingService(p, { pcs: registry });
    const again = newPlatform({ saved: p.save() });
    const b = createQuotingService(again, { pcs: registry });
    assert.equal(toHex(b.platform.ppid), toHex(a.platform.ppid));
    assert.notEqual(toHex(b.attestationPublicKey), toHex(a.attestationPublicKey), 'a fresh attestation key');
    const quote = b.quote(appReport(loadFixture(again, 'identity'), b.qeTargetInfo));
    assert.equal(verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() }).result, QV_RESULT.OK);
  });

  test('enroll takes a platform or its save(); anything else is ENROLL_INVALID, never a TypeError', () => {
    for (const bad of [null, undefined, 'abc', 7, {}, { save: 1 }, { save: () => null }, { secrets: {} }]) {
      assert.throws(() => registry.enroll(bad as unknown as Platform), (e: unknown) => e instanceof AttestError && e.code === 'ENROLL_INVALID', String(bad));
    }
    const p = newPlatform();
    assert.equal(toHex(registry.enroll(p.save())), toHex(registry.enroll(p)));
  });

  test('a platform never enrolled gets no certificate (PLATFORM_NOT_ENROLLED), and nothing stays loaded', () => {
    const p = newPlatform();
    const free = p.processor.inspect.freeEpcPages;
    assert.throws(() => createQuotingService(p, { pcs: registry }), (e: unknown) => e instanceof AttestError && e.code === 'PLATFORM_NOT_ENROLLED');
    assert.equal(p.processor.inspect.freeEpcPages, free, 'the PCE and QE were unloaded');
  });

  test('a PCS that answers with another key\'s certificate is refused (PCK_CERT_MISMATCH)', () => {
    const p = newPlatform();
    registry.enroll(p);
    const liar = { pckCertChain: (r: Parameters<PckCertificateService['pckCertChain']>[0]) => registry.pckCertChain({ ...r, pceSvn: 0 }) };
    assert.throws(() => createQuotingService(p, { pcs: liar }), (e: unknown) => e instanceof AttestError && e.code === 'PCK_CERT_MISMATCH');
  });

  test('a REPORT made on another platform cannot be quoted (QE_INVALID_REPORT)', () => {
    const a = newPlatform(), b = newPlatform();
    registry.enroll(a);
    const qs = createQuotingService(a, { pcs: registry });
    const elsewhere = appReport(loadFixture(b, 'identity'), qs.qeTargetInfo);
    assert.throws(() => qs.quote(elsewhere), (e: unknown) => e instanceof AttestError && e.code === 'QE_INVALID_REPORT' && e.data.result === QE_RESULT.INVALID_REPORT);
  });

  test('an impostor QE (the same code signed by another key) gets its key certified by the PCE, but its quotes fail the QE identity', () => {
    const p = newPlatform();
    registry.enroll(p);
    const ae = architecturalEnclaves();
    const key = generateSigningKey(crypto);
    const built = buildImage({ module: new Uint8Array(readFileSync(AE_DIRECTORY + 'qe/qe.wasm')), interface: resolveEdl(AE_DIRECTORY + 'qe/qe.edl'), config: QE_CONFIG });
    const impostor = loadEnclave(p, built.image, { sigstruct: signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), key.privateKeyPem, crypto) });
    const qs = createQuotingService(p, { pcs: registry });
    const pce = loadEnclave(p, ae.pce.image, { sigstruct: ae.pce.sigstruct });
    const pceTi = new Uint8Array(512), ti = new Uint8Array(512);
    assert.equal(pce.ecall('pce_get_target_info', [pceTi]), 0);
    assert.equal(impostor.ecall('qe_get_target_info', [ti]), 0);
    const auth = new Uint8Array(32), sealed = new Uint8Array(656), pub = new Uint8Array(64), qeReport = new Uint8Array(432), sig = new Uint8Array(64);
    assert.equal(impostor.ecall('qe_init', [pceTi, auth, 32, sealed, 656, pub, qeReport]), 0);
    assert.equal(pce.ecall('pce_certify', [qeReport, DEFAULT_CPUSVN, 1, sig]), 0, 'the PCE certifies every PROVISIONKEY enclave on its platform');
    const cert = enc(qs.pckCertChain), out = new Uint8Array(8192), len = new Uint8Array(4);
    const rep = appReport(loadFixture(p, 'identity'), ti);
    assert.equal(impostor.ecall('qe_quote', [rep, sealed, 656, qeReport.subarray(0, 384), sig, auth, 32, 1, 5, cert, cert.length, out, out.length, len]), 0);
    const quote = out.subarray(0, new DataView(len.buffer).getUint32(0, true));
    assert.equal(toHex(parseQuote(quote).qeReport.MRSIGNER), toHex(crypto.sha256(crypto.rsaPublicNumbers(key.privateKeyPem).modulus.slice().reverse())));
    assert.throws(() => verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() }), (e: unknown) => e instanceof AttestError && e.code === 'VERIFY_QE_IDENTITY_MISMATCH');
  });

  test('a deployment with its own AE signing key: its quotes verify against its QE identity; a QE signed with the public ae/signer.pem does not', () => {
    const key = generateSigningKey(crypto).privateKeyPem;
    const own = architecturalEnclaves(key);
    const pcs2 = createProvisioningCertificationService({ seed: enc('private AE signer PCS'), qeIdentity: { mrsigner: own.mrsigner } });
    const registry2 = createPckCertificateService(pcs2, { aeSigner: key });
    const p = newPlatform();
    registry2.enroll(p);
    const qs = createQuotingService(p, { pcs: registry2, aeSigner: key });
    const app = loadFixture(p, 'identity');
    const collateral = pcs2.collateral();
    assert.equal(verifyQuote(qs.quote(appReport(app, qs.qeTargetInfo)), { trustedRoot: pcs2.rootCertificate.der, collateral }).result, QV_RESULT.OK);
    // The default Witness AEs (the public key) on the same platform: their PCE has another MRSIGNER, so
    // another PPID and PCK, of which this deployment's records know nothing.
    assert.throws(() => createQuotingService(p, { pcs: registry2 }), (e: unknown) => e instanceof AttestError && e.code === 'PLATFORM_NOT_ENROLLED');
    // A PCS that certifies the public PCE still refuses the public QE under the private QE identity.
    const registry3 = createPckCertificateService(pcs2);
    registry3.enroll(p);
    const pub = createQuotingService(p, { pcs: registry3 });
    assert.throws(() => verifyQuote(pub.quote(appReport(app, pub.qeTargetInfo)), { trustedRoot: pcs2.rootCertificate.der, collateral }), (e: unknown) => e instanceof AttestError && e.code === 'VERIFY_QE_IDENTITY_MISMATCH');
  });

  test('the service quotes with its own copies: changing the auth data given, or the values it hands out, changes no quote', () => {
    const p = newPlatform();
    registry.enroll(p);
    const auth = new Uint8Array(16).fill(1);
    const qs = createQuotingService(p, { pcs: registry, authData: auth });
    auth[0] = 9;
    qs.qeReportSignature[0]! ^= 1;
    qs.qeReportBody[0]! ^= 1;
    qs.qeTargetInfo[0]! ^= 1;
    qs.platform.ppid[0]! ^= 1;
    const app = loadFixture(p, 'identity');
    const v = verifyQuote(qs.quote(appReport(app, qs.qeTargetInfo)), { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() });
    assert.equal(v.result, QV_RESULT.OK);
    assert.equal(toHex(v.quote.authData), toHex(new Uint8Array(16).fill(1)));
    // A failed quote leaves it working.
    assert.throws(() => qs.quote(new Uint8Array(3)), (e: unknown) => e instanceof AttestError && e.code === 'REPORT_LENGTH');
    const changed = appReport(app, qs.qeTargetInfo);
    changed[400]! ^= 1;
    assert.throws(() => qs.quote(changed), (e: unknown) => e instanceof AttestError && e.code === 'QE_INVALID_REPORT');
    assert.equal(verifyQuote(qs.quote(appReport(app, qs.qeTargetInfo)), { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() }).result, QV_RESULT.OK);
  });

  test('a platform below the PCS\'s TCB levels: OutOfDate (its CPUSVN is lower)', () => {
    const lower = DEFAULT_CPUSVN.slice();
    lower[0] = 1;
    const p = newPlatform({ processor: { cpusvn: lower } });
    registry.enroll(p);
    const qs = createQuotingService(p, { pcs: registry });
    const v = verifyQuote(qs.quote(appReport(loadFixture(p, 'identity'), qs.qeTargetInfo)), { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() });
    assert.equal(v.resultName, 'SGX_QL_QV_RESULT_OUT_OF_DATE');
    assert.equal(v.tcbStatus, 'OutOfDate');
    assert.deepEqual(v.advisoryIDs, ['WITNESS-SA-00001']);
    assert.equal(QuoteVerifier.newWithRootCa(Buffer.from(pcs.rootCertificate.der)).verify(qs.quote(appReport(loadFixture(p, 'identity'), qs.qeTargetInfo)), qvlCollateral(pcs), Date.now() / 1000).status, 'OutOfDate');
  });

  test('a quote verified against another PCS\'s root is refused', () => {
    const p = newPlatform();
    registry.enroll(p);
    const qs: QuotingService = createQuotingService(p, { pcs: registry });
    const other = createProvisioningCertificationService({ seed: enc('another PCS') });
    assert.throws(() => verifyQuote(qs.quote(appReport(loadFixture(p, 'identity'), qs.qeTargetInfo)), { trustedRoot: other.rootCertificate.der, collateral: other.collateral() }), AttestError);
  });
});
