/** Deep copy's edge cases against edger8r (CodeGen.ml): the checks after the call, a 64-bit count, an array parameter (Witness's departure), aliasing. */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTrustedRuntime, loadEnclave, type HostEnclave } from '../../src/sdk/index.js';
import type { Platform } from '../../src/platform/index.js';
import { newPlatform, buildFixture, signFixture, untrusted, callStatus, STATUS } from '../helpers/sdk.js';

interface Side { readonly p: Platform; readonly e: HostEnclave; readonly u: number; readonly d: HostEnclave }
function side(mode: 'compiled' | 'interpreted'): Side {
  const runtime = createTrustedRuntime({ bridges: mode });
  const p = newPlatform({ engine: runtime });
  const b = buildFixture('deepedge');
  const e = loadEnclave(p, b.image, { sigstruct: signFixture(b), bridges: mode });
  const b2 = buildFixture('deepcopy');
  const d = loadEnclave(p, b2.image, { sigstruct: signFixture(b2), bridges: mode });
  return { p, e, d, u: untrusted(p, 0x20000, 0x3000_0000) };
}
const u32 = (vals: number[]): Uint8Array => {
  const b = new Uint8Array(4 * vals.length);
  vals.forEach((v, i) => new DataView(b.buffer).setUint32(4 * i, v >>> 0, true));
  return b;
};
const words = (b: Uint8Array): number[] => Array.from({ length: b.length >> 2 }, (_, i) => new DataView(b.buffer, b.byteOffset).getUint32(4 * i, true));

for (const mode of ['compiled', 'interpreted'] as const) {
  describe(`deep copy edge cases, ${mode}`, () => {
    let s: Side;
    before(() => { s = side(mode); });

    test('edger8r: after the call only out_len > in_len is refused; its whole-element test is on in_len (CodeGen.ml gen_struct_ptr_direction_post) — sz 8 → 6 is copied back, 6 bytes', () => {
      const w = s.u + 0x100;
      s.p.process.write(w, u32([7, 0x0a0b0c08, 0x55]));
      const h = u32([8, w]);
      assert.equal(s.e.ecall('ecall_shrink', [h, 6]), 0, 'the call succeeds');
      assert.deepEqual(words(h), [6, w]);
      // words became [8, 0x0a0b0c09]; 6 bytes back: 08 00 00 00 09 0c, the rest of the host's word kept.
      assert.deepEqual([...s.p.process.read(w, 12)], [8, 0, 0, 0, 9, 0x0c, 0x0b, 0x0a, 0x55, 0, 0, 0]);
    });

    test('a 64-bit count member above 4 GiB: refused (edger8r on a 32-bit size_t truncates it)', () => {
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, 4, true); dv.setUint32(4, 1, true); dv.setUint32(8, s.u, true);
      assert.equal(callStatus(() => s.e.ecall('ecall_big', [b])), STATUS.INVALID_PARAMETER);
      dv.setUint32(4, 0, true);
      const q = s.e.ecall('ecall_big', [b]) as number;
      assert.ok(q !== 0 && q !== s.u);
    });

    test('an array parameter struct blob b[2] ([in]): edger8r does NOT deep-copy it (invoke_if_struct matches Ptr(Struct) only); Witness does', () => {
      s.p.process.write(s.u + 0x300, new Uint8Array([1, 2, 3, 4]));
      const arr = u32([s.u + 0x300, 4, 0, 0]);
      const q = s.e.ecall('ecall_arr', [arr]) as number;
      assert.notEqual(q, s.u + 0x300, 'deep-copied: the enclave sees its own copy (a documented departure from edger8r)');
      assert.ok(q !== 0);
    });

    test('aliasing: two elements of [in, out, count=2] whose bufs are the same host buffer; a member pointing at another member\'s buffer', () => {
      const H = s.u + 0x400;
      s.p.process.write(H, new Uint8Array([10, 20, 30, 40]));
      const two = new Uint8Array(40);
      two.set(u32([H, 4, 0, 0, 0]), 0);
      two.set(u32([H + 2, 2, 0, 0, 0]), 20);
      assert.equal(s.d.ecall('ecall_blobs_inout', [two, 2]), 2);
      // element 0: [11,21,31,41] written, then element 1 (its copy of [30,40] + 2) at H+2.
      assert.deepEqual([...s.p.process.read(H, 4)], [11, 21, 32, 42]);
      assert.deepEqual(words(two), [H, 4, 0, 0, 0, H + 2, 2, 0, 0, 0]);
    });
  });
}
