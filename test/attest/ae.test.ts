/**
 * The Witness PCE and QE (ae/), driven through their ECALLs as the quoting service drives them:
 * the PCE's PPID and PCK are what the manufacturer computes from the platform's provisioning root
 * (on Windows and through the Linux driver); the PCE certifies only PROVISIONKEY enclaves' REPORTs
 * addressed to it, never a debug enclave's, never above its own PCESVN or the platform's CPUSVN;
 * the QE quotes only REPORTs addressed to it, with its own sealed key and its own certified report.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCrypto, toHex } from '../../src/lib/index.js';
import { WITNESS_AE_MRSIGNER } from '../../src/attest/identities.js';
import { REPORT, SIGSTRUCT, DEFAULT_CPUSVN } from '../../src/arch/index.js';
import { defaultQeIdentity, DEFAULT_TCB_LEVELS } from '../../src/attest/pki.js';
import { derivePlatformSecrets } from '../../src/arch/secrets.js';
import { loadEnclave, type HostEnclave, type HostPlatform } from '../../src/sdk/index.js';
import { createLinuxPlatform } from '../../src/platform/index.js';
import { architecturalEnclaves, PCE_CONFIG, QE_CONFIG } from '../../src/attest/ae.js';
import { ppidFor, pckPublicKeyFor, type PceIdentity } from '../../src/attest/provisioning.js';
import { PCE_RESULT, QE_RESULT } from '../../src/attest/quoting.js';
import { newPlatform, loadFixture } from '../helpers/sdk.js';

const crypto = defaultCrypto();
const SEED = new TextEncoder().encode('attestation test platform seed!!');
const AUTH = Uint8Array.from({ length: 32 }, (_, i) => i);
/** The platforms' CPUSVN (the processor's default). */
const CPUSVN = DEFAULT_CPUSVN;

interface Aes {
  readonly pce: HostEnclave;
  readonly qe: HostEnclave;
  readonly pceTi: Uint8Array;
  readonly qeTi: Uint8Array;
}

function loadAes(p: HostPlatform): Aes {
  const ae = architecturalEnclaves();
  const pce = loadEnclave(p, ae.pce.image, { sigstruct: ae.pce.sigstruct });
  const qe = loadEnclave(p, ae.qe.image, { sigstruct: ae.qe.sigstruct });
  const pceTi = new Uint8Array(512), qeTi = new Uint8Array(512);
  assert.equal(pce.ecall('pce_get_target_info', [pceTi]), 0);
  assert.equal(qe.ecall('qe_get_target_info', [qeTi]), 0);
  return { pce, qe, pceTi, qeTi };
}

function pcInfo(pce: HostEnclave): { ppid: Uint8Array; pck: Uint8Array; report: Uint8Array } {
  const ppid = new Uint8Array(16), pck = new Uint8Array(64), report = new Uint8Array(432);
  assert.equal(pce.ecall('pce_get_pc_info', [ppid, pck, report]), PCE_RESULT.OK);
  return { ppid, pck, report };
}

function pceIdentity(report: Uint8Array): PceIdentity {
  const r = REPORT.decode(report);
  return { mrsigner: r.MRSIGNER, isvProdId: r.ISVPRODID, attributesFlags: r.ATTRIBUTES.FLAGS, miscSelect: r.MISCSELECT };
}

function qeInit(a: Aes): { sealed: Uint8Array; pub: Uint8Array; report: Uint8Array } {
  const sealed = new Uint8Array(656), pub = new Uint8Array(64), report = new Uint8Array(432);
  assert.equal(a.qe.ecall('qe_init', [a.pceTi, AUTH, AUTH.length, sealed, sealed.length, pub, report]), QE_RESULT.OK);
  return { sealed, pub, report };
}

describe('the PCE', () => {
  test('PPID and PCK are the manufacturer\'s derivation from the provisioning root, on Windows and through /dev/sgx_enclave', () => {
    const root = derivePlatformSecrets(crypto, SEED).provisioningRoot;
    const seen: string[] = [];
    for (const p of [newPlatform({ seed: SEED }), createLinuxPlatform({ profile: 'linux-sgx1', seed: SEED, epcSize: 16 << 20 })]) {
      const { pce } = loadAes(p);
      const { ppid, pck, report } = pcInfo(pce);
      const r = REPORT.decode(report);
      assert.equal(r.ISVPRODID, PCE_CONFIG.isvProdId);
      assert.equal(r.ISVSVN, PCE_CONFIG.isvSvn);
      assert.equal(toHex(r.MRSIGNER), toHex(architecturalEnclaves().mrsigner));
      assert.equal(r.ATTRIBUTES.FLAGS, 0x15n, 'INIT | MODE64BIT | PROVISIONKEY');
      assert.equal(toHex(ppid), toHex(ppidFor(crypto, root, pceIdentity(report))));
      assert.equal(toHex(pck), toHex(pckPublicKeyFor(crypto, root, pceIdentity(report), r.CPUSVN, r.ISVSVN)));
      seen.push(toHex(ppid) + toHex(pck));
    }
    assert.equal(seen[0], seen[1], 'one platform, one PPID and PCK whichever OS loads the PCE');
    const other = pcInfo(loadAes(newPlatform({ seed: SEED.map((b) => b ^ 1) })).pce);
    assert.notEqual(toHex(other.ppid) + toHex(other.pck), seen[0], 'another platform has another PPID and PCK');
  });

  test('the PPID is the same at a lower TCB; the PCK is not', () => {
    const root = derivePlatformSecrets(crypto, SEED).provisioningRoot;
    const { pce } = loadAes(newPlatform({ seed: SEED }));
    const { report, pck } = pcInfo(pce);
    const id = pceIdentity(report);
    const lower = REPORT.decode(report).CPUSVN.slice();
    const i = lower.findIndex((b) => b > 0);
    assert.ok(i >= 0, 'the platform\'s CPUSVN has a non-zero byte');
    lower[i]! -= 1;
    assert.notEqual(toHex(pckPublicKeyFor(crypto, root, id, lower, PCE_CONFIG.isvSvn)), toHex(pck));
    assert.notEqual(toHex(pckPublicKeyFor(crypto, root, id, REPORT.decode(report).CPUSVN, 0)), toHex(pck));
  });

  test('certify: the QE\'s REPORT body, signed by the PCK; REPORTDATA binds the attestation key and auth data', () => {
    const a = loadAes(newPlatform({ seed: SEED }));
    const { pck } = pcInfo(a.pce);
    const q = qeInit(a);
    const sig = new Uint8Array(64);
    assert.equal(a.pce.ecall('pce_certify', [q.report, CPUSVN, PCE_CONFIG.isvSvn, sig]), PCE_RESULT.OK);
    assert.equal(crypto.ecdsaP256Verify(pck, q.report.subarray(0, 384), sig), true);
    const body = REPORT.decode(q.report);
    assert.equal(toHex(body.REPORTDATA), toHex(crypto.sha256(new Uint8Array([...q.pub, ...AUTH]))) + '00'.repeat(32));
    assert.equal(body.ISVPRODID, QE_CONFIG.isvProdId);
    assert.equal(body.ATTRIBUTES.FLAGS & 0x10n, 0x10n, 'the QE has PROVISIONKEY');
    // At a lower TCB (the PCK certificate the host selected) it signs with that TCB's PCK.
    const root = derivePlatformSecrets(crypto, SEED).provisioningRoot;
    const id = pceIdentity(pcInfo(a.pce).report);
    assert.equal(a.pce.ecall('pce_certify', [q.report, CPUSVN, 0, sig]), PCE_RESULT.OK);
    assert.equal(crypto.ecdsaP256Verify(pck, q.report.subarray(0, 384), sig), false);
    assert.equal(crypto.ecdsaP256Verify(pckPublicKeyFor(crypto, root, id, CPUSVN, 0), q.report.subarray(0, 384), sig), true);
    const lower = CPUSVN.slice();
    lower[0] = 1;
    assert.equal(a.pce.ecall('pce_certify', [q.report, lower, PCE_CONFIG.isvSvn, sig]), PCE_RESULT.OK);
    assert.equal(crypto.ecdsaP256Verify(pckPublicKeyFor(crypto, root, id, lower, PCE_CONFIG.isvSvn), q.report.subarray(0, 384), sig), true);
    // Above the platform's CPUSVN there is no key (EGETKEY: INVALID_CPUSVN), and no signature.
    const above = CPUSVN.slice();
    above[15] = 1;
    assert.equal(a.pce.ecall('pce_certify', [q.report, above, PCE_CONFIG.isvSvn, sig]), PCE_RESULT.INVALID_SVN);
    assert.ok(sig.every((b) => b === 0));
  });

  test('certify refuses: a changed REPORT, one addressed elsewhere, an enclave without PROVISIONKEY or a debug one (PCE_INVALID_PRIVILEGE, as Intel\'s PCE), a PCESVN above its own', () => {
    const p = newPlatform({ seed: SEED });
    const a = loadAes(p);
    const q = qeInit(a);
    const sig = new Uint8Array(64);
    const changed = q.report.slice();
    changed[REPORT.field('REPORTDATA').offset]! ^= 1;
    assert.equal(a.pce.ecall('pce_certify', [changed, CPUSVN, 1, sig]), PCE_RESULT.INVALID_REPORT);
    const app = loadFixture(p, 'identity');
    const toQe = new Uint8Array(432), toPce = new Uint8Array(432);
    assert.equal(app.ecall('ecall_report', [a.qeTi, new Uint8Array(64), toQe]), 0);
    assert.equal(a.pce.ecall('pce_certify', [toQe, CPUSVN, 1, sig]), PCE_RESULT.INVALID_REPORT, 'addressed to the QE');
    assert.equal(app.ecall('ecall_report', [a.pceTi, new Uint8Array(64), toPce]), 0);
    assert.equal(a.pce.ecall('pce_certify', [toPce, CPUSVN, 1, sig]), PCE_RESULT.INVALID_PRIVILEGE);
    const debugProv = loadFixture(p, 'identity', { config: { debug: true, provisionKey: true } });
    assert.equal(debugProv.ecall('ecall_report', [a.pceTi, new Uint8Array(64), toPce]), 0);
    assert.equal(a.pce.ecall('pce_certify', [toPce, CPUSVN, 1, sig]), PCE_RESULT.INVALID_PRIVILEGE);
    assert.equal(a.pce.ecall('pce_certify', [q.report, CPUSVN, PCE_CONFIG.isvSvn + 1, sig]), PCE_RESULT.INVALID_SVN);
    assert.ok(sig.every((b) => b === 0), 'no signature came out of a refusal');
  });
});

describe('the QE', () => {
  let a: Aes;
  let q: { sealed: Uint8Array; pub: Uint8Array; report: Uint8Array };
  let qeSig: Uint8Array;
  let app: HostEnclave;
  const CERT = new TextEncoder().encode('-----BEGIN CERTIFICATE-----\n(a chain)\n-----END CERTIFICATE-----\n');

  before(() => {
    const p = newPlatform({ seed: SEED });
    a = loadAes(p);
    q = qeInit(a);
    qeSig = new Uint8Array(64);
    assert.equal(a.pce.ecall('pce_certify', [q.report, CPUSVN, PCE_CONFIG.isvSvn, qeSig]), 0);
    app = loadFixture(p, 'identity');
  });

  function quote(report: Uint8Array, over: { sealed?: Uint8Array; qeBody?: Uint8Array; cap?: number } = {}): { result: number; quote: Uint8Array; len: number } {
    const sealed = over.sealed ?? q.sealed, out = new Uint8Array(over.cap ?? 4096), len = new Uint8Array(4);
    const result = a.qe.ecall('qe_quote', [report, sealed, sealed.length, over.qeBody ?? q.report.subarray(0, 384), qeSig, AUTH, AUTH.length, PCE_CONFIG.isvSvn, 5, CERT, CERT.length, out, out.length, len]) as number;
    const n = new DataView(len.buffer).getUint32(0, true);
    return { result, quote: out.subarray(0, n), len: n };
  }

  function appReport(ti: Uint8Array, rd = Uint8Array.from({ length: 64 }, (_, i) => i + 1)): Uint8Array {
    const r = new Uint8Array(432);
    assert.equal(app.ecall('ecall_report', [ti, rd, r]), 0);
    return r;
  }

  test('a quote: the sgx_quote_3_t header, the application\'s REPORT body, and signature data that verifies', () => {
    const rep = appReport(a.qeTi);
    const { result, quote: qb, len } = quote(rep);
    assert.equal(result, QE_RESULT.OK);
    assert.equal(len, 436 + 64 + 64 + 384 + 64 + 2 + AUTH.length + 6 + CERT.length);
    const dv = new DataView(qb.buffer, qb.byteOffset);
    assert.deepEqual([dv.getUint16(0, true), dv.getUint16(2, true), dv.getUint32(4, true), dv.getUint16(8, true), dv.getUint16(10, true)], [3, 2, 0, QE_CONFIG.isvSvn, PCE_CONFIG.isvSvn]);
    assert.equal(toHex(qb.subarray(12, 28)), '939a7233f79c4ca9940a0db3957f0607');
    assert.equal(toHex(qb.subarray(44, 48)), '00000000');
    assert.equal(toHex(qb.subarray(48, 432)), toHex(rep.subarray(0, 384)));
    assert.equal(dv.getUint32(432, true), len - 436);
    assert.equal(crypto.ecdsaP256Verify(q.pub, qb.subarray(0, 432), qb.subarray(436, 500)), true);
    assert.equal(toHex(qb.subarray(500, 564)), toHex(q.pub));
    assert.equal(toHex(qb.subarray(564, 948)), toHex(q.report.subarray(0, 384)));
    assert.equal(toHex(qb.subarray(948, 1012)), toHex(qeSig));
    assert.equal(dv.getUint16(1012, true), AUTH.length);
    assert.equal(dv.getUint16(1014 + AUTH.length, true), 5);
    assert.equal(dv.getUint32(1016 + AUTH.length, true), CERT.length);
    assert.equal(new TextDecoder().decode(qb.subarray(1020 + AUTH.length)), new TextDecoder().decode(CERT));
    // The QE ID is one value per platform: the same in a second quote.
    assert.equal(toHex(quote(appReport(a.qeTi)).quote.subarray(28, 44)), toHex(qb.subarray(28, 44)));
  });

  test('refused: a REPORT addressed to another enclave or changed (QE_INVALID_REPORT)', () => {
    assert.equal(quote(appReport(a.pceTi)).result, QE_RESULT.INVALID_REPORT);
    const r = appReport(a.qeTi);
    r[REPORT.field('REPORTDATA').offset + 5]! ^= 0x80;
    assert.equal(quote(r).result, QE_RESULT.INVALID_REPORT);
  });

  test('refused: a changed sealed key, or one sealed by another QE signer (QE_INVALID_KEY_BLOB)', () => {
    const bad = q.sealed.slice();
    bad[bad.length - 40]! ^= 1;
    assert.equal(quote(appReport(a.qeTi), { sealed: bad }).result, QE_RESULT.INVALID_KEY_BLOB);
    // The identity fixture (another signer) seals 32 bytes with 64 bytes of MAC text: the same shape, another key.
    const blob = new Uint8Array(656);
    assert.equal(app.ecall('ecall_seal', [2, new Uint8Array(64), 64, new Uint8Array(32).fill(7), 32, blob, blob.length]), 0);
    assert.equal(quote(appReport(a.qeTi), { sealed: blob }).result, QE_RESULT.INVALID_KEY_BLOB);
  });

  test('refused: a QE report body that does not bind this key (QE_CERTIFICATION_MISMATCH)', () => {
    const other = qeInit(a); // a second key: its report binds the second key, not the first
    assert.equal(quote(appReport(a.qeTi), { qeBody: other.report.subarray(0, 384) }).result, QE_RESULT.CERTIFICATION_MISMATCH);
  });

  test('a buffer too small: QE_BUFFER_TOO_SMALL with the length needed', () => {
    const r = quote(appReport(a.qeTi), { cap: 600 });
    assert.equal(r.result, QE_RESULT.BUFFER_TOO_SMALL);
    assert.equal(r.len, 436 + 64 + 64 + 384 + 64 + 2 + AUTH.length + 6 + CERT.length);
  });
});

describe('loading the PCE', () => {
  test('Linux: a process that may not open /dev/sgx_provision cannot initialize it (INIT is EACCES)', () => {
    const p = createLinuxPlatform({ profile: 'linux-sgx1', seed: SEED, epcSize: 16 << 20, linux: { provisionDeviceDenied: true } });
    const ae = architecturalEnclaves();
    assert.throws(() => loadEnclave(p, ae.pce.image, { sigstruct: ae.pce.sigstruct }), (e: Error & { code?: string; data?: { errno?: number } }) => e.code === 'INIT_FAILED' && e.data?.errno === 13);
    // An enclave without PROVISIONKEY still loads there.
    assert.doesNotThrow(() => loadFixture(p, 'identity'));
  });

  test('the committed signer is the documented MRSIGNER, and what the PCS publishes by default is what was built and signed', () => {
    const ae = architecturalEnclaves();
    assert.equal(toHex(ae.mrsigner), toHex(WITNESS_AE_MRSIGNER));
    const qe = SIGSTRUCT.decode(ae.qe.sigstruct), pce = SIGSTRUCT.decode(ae.pce.sigstruct);
    const id = defaultQeIdentity();
    assert.equal(toHex(id.mrsigner), toHex(ae.mrsigner));
    assert.equal(qe.ISVPRODID, id.isvProdId);
    assert.equal(qe.ISVSVN, id.tcbLevels[0]!.isvsvn, 'the built QE is at the UpToDate level');
    assert.equal(pce.ISVSVN, DEFAULT_TCB_LEVELS[0]!.pcesvn, 'the built PCE is at the UpToDate TCB level');
    assert.deepEqual(DEFAULT_TCB_LEVELS[0]!.components, [...DEFAULT_CPUSVN]);
    assert.equal(qe.ATTRIBUTES.FLAGS & 0x10n, 0x10n, 'the QE has PROVISIONKEY, as the QE identity\'s attributes say');
  });
});
