/**
 * Remote attestation of an unmodified WASI program: with `attestation: true` in its manifest the
 * program finds Gramine's /dev/attestation files, writes its report data, reads a REPORT and a
 * DCAP quote, and a relying party verifies the quote (verifyQuote) and finds the program's
 * MRENCLAVE and report data in it. A host without a quoting service gives ENOSYS; a host that
 * hands back a quote of something else is refused; a short write to user_report_data is EINVAL.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform, type Platform } from '../../src/platform/index.js';
import { createProvisioningCertificationService, verifyQuote, QV_RESULT, type ProvisioningCertificationService } from '../../src/attest/index.js';
import { createQuotingService, type QuotingService } from '../../src/attest/quoting.js';
import { createPckCertificateService } from '../../src/attest/registration.js';
import { MemoryFileSystem, OP, Encoder, Decoder, resolveManifest, ShieldError, type ShieldManifest } from '../../src/shield/index.js';
import { toHex } from '../../src/lib/index.js';
import { runFixture, shielded, text } from '../helpers/shield.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const manifest = (data: string): ShieldManifest => ({ args: ['shieldtest', 'attest', data, '/out/quote.bin'], attestation: true, mounts: [{ path: '/out', kind: 'host' }] });

describe('/dev/attestation', () => {
  let pcs: ProvisioningCertificationService;
  let platform: Platform;
  let qs: QuotingService;
  before(() => {
    pcs = createProvisioningCertificationService({ seed: enc('shield attestation test PCS') });
    const manufacturer = createPckCertificateService(pcs);
    platform = createPlatform({ seed: enc('shield attestation platform seed') });
    manufacturer.enroll(platform);
    qs = createQuotingService(platform, { pcs: manufacturer });
  });
  after(() => qs.close());

  test('the program writes its report data, reads a REPORT and a quote; the quote verifies, with its MRENCLAVE and report data', () => {
    const out = new MemoryFileSystem();
    const m = manifest('hello from a WASI program');
    const r = runFixture(platform, m, { mounts: { '/out': out }, quoting: qs });
    const mrenclave = toHex(shielded(m).built.mrenclave);
    assert.deepEqual(r.violations, []);
    const lines = text(r.stdout).split('\n');
    assert.equal(lines[0], 'attestation type: dcap');
    assert.equal(lines[1], `report: MRENCLAVE ${mrenclave}, REPORTDATA hello from a WASI program`);
    assert.match(lines[2]!, /^quote: \d+ bytes$/);
    assert.equal(lines[3], 'a short user_report_data: 28', 'a write of 10 bytes to user_report_data is EINVAL at close');
    const quote = out.files.get('quote.bin')!;
    const v = verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() });
    assert.equal(v.result, QV_RESULT.OK, v.resultName);
    assert.equal(toHex(v.reportBody.MRENCLAVE), mrenclave);
    assert.equal(new TextDecoder().decode(v.reportBody.REPORTDATA).replace(/\0+$/, ''), 'hello from a WASI program');
  });

  test('a host without a quoting service: the quote is ENOSYS, the REPORT still works', () => {
    const r = runFixture(platform, manifest('no quote'), { mounts: { '/out': new MemoryFileSystem() } });
    assert.match(text(r.stdout), /^attestation type: dcap\nreport: MRENCLAVE [0-9a-f]{64}, REPORTDATA no quote\nerror quote: 52 /);
  });

  test('a host that answers with a quote of another REPORT, or a TARGETINFO of another size, is refused', () => {
    // Another enclave's quote (the QE quotes whatever REPORT it is given; the host swaps it).
    const other = runFixture(platform, manifest('the other one'), { mounts: { '/out': new MemoryFileSystem() }, quoting: qs });
    assert.deepEqual(other.violations, []);
    const foreign = (other.mounts.get('/out') as MemoryFileSystem).files.get('quote.bin')!.slice();
    const swapped = runFixture(platform, manifest('mine'), {
      mounts: { '/out': new MemoryFileSystem() },
      quoting: { qeTargetInfo: qs.qeTargetInfo, quote: () => foreign },
    });
    assert.match(text(swapped.stdout), /\nerror quote: 29 /);
    assert.match(swapped.violations[0]!.what, /the quote does not carry the enclave's REPORT/);
    const shortTi = runFixture(platform, manifest('mine'), {
      mounts: { '/out': new MemoryFileSystem() },
      quoting: qs,
      intercept: (op) => (op === OP.QE_TARGET_INFO ? new Encoder().u32(0).bytes(new Uint8Array(100)).finish() : undefined),
    });
    assert.match(text(shortTi.stdout), /\nerror quote: 29 /);
    assert.match(shortTi.violations[0]!.what, /TARGETINFO of 100 bytes/);
    // What the host was asked to quote is a REPORT for its QE, with the program's data in it.
    let asked: Uint8Array | null = null;
    runFixture(platform, manifest('seen by the host'), { mounts: { '/out': new MemoryFileSystem() }, quoting: qs, intercept: (op, req) => void (op === OP.QUOTE && (asked = new Decoder(req.subarray(4)).bytes())) });
    assert.ok(asked !== null);
    assert.equal(new TextDecoder().decode((asked as Uint8Array).subarray(320, 336)), 'seen by the host');
  });

  test('without attestation in the manifest there is no /dev/attestation; with it, no mount may sit there', () => {
    const r = runFixture(platform, { ...manifest('x'), attestation: false }, { mounts: { '/out': new MemoryFileSystem() } });
    assert.match(text(r.stdout), /^error attestation_type: (44|76) /);
    assert.throws(() => resolveManifest({ attestation: true, mounts: [{ path: '/dev/attestation', kind: 'host' }] }), (e: unknown) => e instanceof ShieldError && e.code === 'MANIFEST_INVALID');
    assert.notEqual(toHex(shielded(manifest('x')).built.mrenclave), toHex(shielded({ ...manifest('x'), attestation: false }).built.mrenclave), 'attestation is measured');
  });
});
