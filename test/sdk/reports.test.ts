/**
 * Local attestation REPORTs with the identity fixture: a REPORT made for the right TARGETINFO
 * verifies in its target; one made for another target, or for the right one with other ATTRIBUTES
 * or MISCSELECT, does not; neither does one with any single bit of its body, KEYID or MAC flipped;
 * REPORTDATA is carried intact; and the identity fields equal what the image and SIGSTRUCT say.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../src/lib/index.js';
import { REPORT, TARGETINFO, ATTR } from '../../src/arch/index.js';
import { attributesFlagsOf, type HostEnclave } from '../../src/sdk/index.js';
import type { Platform } from '../../src/platform/index.js';
import { newPlatform, loadFixture, buildFixture, testKey, STATUS, statusName } from '../helpers/sdk.js';

const RD = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);

function report(e: HostEnclave, ti: Uint8Array | null, rd: Uint8Array | null = RD): Uint8Array {
  const out = new Uint8Array(432);
  const st = e.ecall('ecall_report', [ti, rd, out]) as number;
  assert.equal(st, STATUS.SUCCESS, statusName(st));
  return out;
}
const verify = (e: HostEnclave, rep: Uint8Array): number => e.ecall('ecall_verify', [rep]) as number;

/** The TARGETINFO of the enclave that made `rep` (sgx_get_target_info from a self-report). */
function targetInfoOf(rep: Uint8Array, over: { flags?: bigint; miscSelect?: number } = {}): Uint8Array {
  const r = REPORT.decode(rep);
  return TARGETINFO.encode({
    MEASUREMENT: r.MRENCLAVE, ATTRIBUTES: { FLAGS: over.flags ?? r.ATTRIBUTES.FLAGS, XFRM: r.ATTRIBUTES.XFRM }, MISCSELECT: over.miscSelect ?? r.MISCSELECT, CONFIGSVN: r.CONFIGSVN, CONFIGID: r.CONFIGID,
  });
}

let p: Platform;
/** A: the verifier; B: another enclave (same signer) that reports to A; D: a debug enclave by another signer. */
let A: HostEnclave, B: HostEnclave, D: HostEnclave;
let tiA: Uint8Array, tiB: Uint8Array;

before(() => {
  p = newPlatform();
  A = loadFixture(p, 'identity', { config: { isvProdId: 0x1234, isvSvn: 7 } });
  B = loadFixture(p, 'identity', { config: { isvProdId: 0x55aa, isvSvn: 0xfffe, heapSize: 512 << 10 } });
  D = loadFixture(p, 'identity', { config: { isvProdId: 9, isvSvn: 1, debug: true }, key: testKey(1) });
  tiA = targetInfoOf(report(A, null));
  tiB = targetInfoOf(report(B, null));
});

describe('verification by the target', () => {
  test('a REPORT for the right TARGETINFO verifies in the target', () => {
    assert.equal(verify(A, report(B, tiA)), STATUS.SUCCESS);
    assert.equal(verify(B, report(A, tiB)), STATUS.SUCCESS);
    assert.equal(verify(A, report(A, tiA)), STATUS.SUCCESS, 'self-targeted');
    assert.equal(verify(A, report(D, tiA)), STATUS.SUCCESS, 'from a debug enclave of another signer: verification says who, not whether to trust');
  });

  test('a REPORT for another enclave\'s TARGETINFO fails in this one (MAC_MISMATCH)', () => {
    assert.equal(verify(A, report(B, tiB)), STATUS.MAC_MISMATCH);
    assert.equal(verify(B, report(B, tiA)), STATUS.MAC_MISMATCH, 'the target is A, not B');
    assert.equal(verify(A, report(B, null)), STATUS.MAC_MISMATCH, 'no target (zero TARGETINFO)');
  });

  test('the right MRENCLAVE with other ATTRIBUTES or MISCSELECT in the TARGETINFO fails', () => {
    const rA = report(A, null);
    const flags = REPORT.decode(rA).ATTRIBUTES.FLAGS;
    for (const f of [flags ^ ATTR.DEBUG, flags ^ ATTR.PROVISIONKEY, flags & ~ATTR.INIT]) {
      assert.equal(verify(A, report(B, targetInfoOf(rA, { flags: f }))), STATUS.MAC_MISMATCH, `FLAGS 0x${f.toString(16)}`);
    }
    assert.equal(verify(A, report(B, targetInfoOf(rA, { miscSelect: 1 }))), STATUS.MAC_MISMATCH, 'MISCSELECT 1');
  });

  test('a REPORT from another platform fails', () => {
    const q = newPlatform();
    const far = loadFixture(q, 'identity', { config: { isvProdId: 0x1234, isvSvn: 7 } });
    try {
      const tiFar = targetInfoOf(report(far, null));
      assert.equal(toHex(tiFar), toHex(tiA), 'the same enclave on both platforms');
      assert.equal(verify(A, report(far, tiA)), STATUS.MAC_MISMATCH);
      assert.equal(verify(far, report(far, tiA)), STATUS.SUCCESS);
    } finally {
      far.destroy();
    }
  });
});

describe('tampering', () => {
  test('any single flipped bit of the body, KEYID or MAC fails (MAC_MISMATCH)', () => {
    const rep = report(B, tiA);
    assert.equal(verify(A, rep), STATUS.SUCCESS);
    const wrong: string[] = [];
    for (let bit = 0; bit < 432 * 8; bit++) {
      const r = rep.slice();
      r[bit >> 3] ^= 1 << (bit & 7);
      const st = verify(A, r);
      if (st !== STATUS.MAC_MISMATCH) wrong.push(`byte ${bit >> 3} bit ${bit & 7}: ${statusName(st)}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('a REPORT of the wrong length is refused by the bridge, not verified', () => {
    assert.throws(() => A.ecall('ecall_verify', [new Uint8Array(431)]), /needs 432 bytes/);
  });
});

describe('contents', () => {
  test('REPORTDATA is carried intact (and zero when none is given)', () => {
    const rep = report(B, tiA, RD);
    assert.equal(toHex(REPORT.decode(rep).REPORTDATA), toHex(RD));
    assert.equal(toHex(REPORT.decode(report(B, tiA, null)).REPORTDATA), '00'.repeat(64));
  });

  test('MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN, ATTRIBUTES, MISCSELECT, CPUSVN equal the image, the SIGSTRUCT and the platform', () => {
    for (const [e, config, key] of [
      [A, { isvProdId: 0x1234, isvSvn: 7 }, testKey(0)],
      [B, { isvProdId: 0x55aa, isvSvn: 0xfffe, heapSize: 512 << 10 }, testKey(0)],
      [D, { isvProdId: 9, isvSvn: 1, debug: true }, testKey(1)],
    ] as const) {
      const built = buildFixture('identity', config);
      const r = REPORT.decode(report(e, tiA));
      assert.equal(toHex(r.MRENCLAVE), toHex(built.mrenclave));
      assert.equal(toHex(r.MRENCLAVE), e.mrenclave);
      assert.equal(toHex(r.MRSIGNER), toHex(key.mrsigner), 'SHA-256 of the signer\'s modulus');
      assert.equal(r.ISVPRODID, config.isvProdId);
      assert.equal(r.ISVSVN, config.isvSvn);
      assert.equal(r.ATTRIBUTES.FLAGS, attributesFlagsOf(built.config) | ATTR.INIT, 'the SIGSTRUCT attributes, with INIT');
      assert.equal(r.ATTRIBUTES.FLAGS & ATTR.DEBUG, 'debug' in config ? ATTR.DEBUG : 0n);
      assert.equal(r.ATTRIBUTES.XFRM, built.config.xfrm);
      assert.equal(r.MISCSELECT, 0);
      assert.equal(toHex(r.CPUSVN), toHex(p.processor.inspect.cpusvn));
      const info = p.processor.inspect.enclaves().find((x) => x.baseAddr === e.base);
      assert.ok(info && info.mrenclave && info.mrsigner);
      assert.equal(toHex(info.mrenclave), toHex(r.MRENCLAVE));
      assert.equal(toHex(info.mrsigner), toHex(r.MRSIGNER));
    }
  });
});
