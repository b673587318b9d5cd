/**
 * Deep copy of structure members (edger8r's CodeGen.ml for a structure passed by pointer whose
 * pointer members carry size= or count=), end to end with the deepcopy fixture, with the bridges
 * compiled and interpreted: what the enclave receives, what comes back to the host's buffers, the
 * host's pointers restored in its structure, and the refusals (a member buffer not wholly outside
 * the enclave, count × size overflowing size_t, a length that is not whole elements, an enclave
 * that grows a member after the call), which leave the enclave as it was. The host writes its
 * structure in the wasm32 layout: a member pointer is 32 bits, so the member buffers lie below 4 GiB.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTrustedRuntime, loadEnclave, type HostEnclave } from '../../src/sdk/index.js';
import type { Platform } from '../../src/platform/index.js';
import { newPlatform, buildFixture, signFixture, untrusted, callStatus, STATUS } from '../helpers/sdk.js';

/** struct blob on wasm32: buf @0, len @4, items @8, n @12, quad @16; 20 bytes. */
function blob(buf: number, len: number, items: number, n: number, quad: number): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  [buf, len, items, n, quad].forEach((v, i) => dv.setUint32(4 * i, v >>> 0, true));
  return b;
}
const words = (b: Uint8Array): number[] => Array.from({ length: b.length >> 2 }, (_, i) => new DataView(b.buffer, b.byteOffset).getUint32(4 * i, true));

interface Side {
  readonly p: Platform;
  readonly e: HostEnclave;
  /** 128 KiB of untrusted memory below 4 GiB. */
  readonly u: number;
}

function side(mode: 'compiled' | 'interpreted'): Side {
  const runtime = createTrustedRuntime({ bridges: mode });
  const p = newPlatform({ engine: runtime });
  const b = buildFixture('deepcopy');
  const e = loadEnclave(p, b.image, { sigstruct: signFixture(b), bridges: mode });
  untrusted(p, 0x10000, e.base - 0x10000); // mapped just below the enclave: a buffer there is read, not faulted on
  return { p, e, u: untrusted(p, 0x20000, 0x3000_0000) };
}

function report(e: HostEnclave): number[] {
  const out = new Uint8Array(256);
  const n = e.ecall('ecall_report', [out, out.length]) as number;
  return words(out.subarray(0, 4 * n));
}
const calls = (e: HostEnclave): number => e.ecall('ecall_calls') as number;

/** Host buffers: buf (32 bytes, 1…32) at u, items (3 × i32: 10, 20, 30) at u+0x100, quad (4 × u16: 1…4) at u+0x200. */
function setUp(s: Side): { buf: number; items: number; quad: number } {
  const { p, u } = s;
  p.process.write(u, Uint8Array.from({ length: 32 }, (_, i) => i + 1));
  const it = new Uint8Array(12);
  [10, 20, 30].forEach((v, i) => new DataView(it.buffer).setInt32(4 * i, v, true));
  p.process.write(u + 0x100, it);
  p.process.write(u + 0x200, Uint8Array.from([1, 0, 2, 0, 3, 0, 4, 0]));
  return { buf: u, items: u + 0x100, quad: u + 0x200 };
}

const sides: Record<string, Side> = {};
before(() => {
  sides.compiled = side('compiled');
  sides.interpreted = side('interpreted');
  assert.ok(sides.compiled.e.base + sides.compiled.e.size <= 2 ** 32, 'the fixture enclave lies below 4 GiB (a 32-bit member can point into it)');
});

for (const mode of ['compiled', 'interpreted'] as const) {
  describe(`deep copy, bridges ${mode}`, () => {
    let s: Side;
    before(() => {
      s = sides[mode]!;
    });

    test('[in]: the enclave gets copies of what the members point to, at its own addresses; nothing comes back', () => {
      const h = setUp(s);
      const st = blob(h.buf, 32, h.items, 3, h.quad);
      const before = st.slice();
      assert.equal(s.e.ecall('ecall_blob_in', [st]), 0);
      const r = report(s.e);
      assert.deepEqual([r[1], r[3], r[5], r[6], r[7]], [32, 3, (32 * 33) / 2, 60, 10]);
      // The enclave's pointers are its own (wasm addresses in its memory), none of them the host's.
      for (const k of [0, 2, 4]) {
        assert.ok(r[k]! !== 0 && ![h.buf, h.items, h.quad].includes(r[k]!), `member ${k}: 0x${r[k]!.toString(16)}`);
      }
      assert.deepEqual(st, before);
    });

    test('[in, out]: the members\' buffers come back to the host\'s own buffers; the host\'s structure keeps its pointers', () => {
      const h = setUp(s);
      const st = blob(h.buf, 32, h.items, 3, h.quad);
      const before = st.slice();
      assert.equal(s.e.ecall('ecall_blob_inout', [st, 0, 0]), 0);
      assert.deepEqual(st, before);
      assert.deepEqual([...s.p.process.read(h.buf, 33)], [...Array.from({ length: 32 }, (_, i) => i + 2), 0]);
      assert.deepEqual(words(s.p.process.read(h.items, 12)), [20, 40, 60]);
      assert.deepEqual([...s.p.process.read(h.quad, 8)], [1, 1, 2, 1, 3, 1, 4, 1]);
    });

    test('[in, out]: a member the enclave shortens comes back as far as the enclave says; the new length reaches the host', () => {
      const h = setUp(s);
      const st = blob(h.buf, 32, h.items, 3, h.quad);
      // mode 2: buf points to the enclave's own 16 bytes of 0xEE, len = 16 (at most the 32 copied in).
      assert.equal(s.e.ecall('ecall_blob_inout', [st, 0, 2]), 0);
      assert.deepEqual(words(st), [h.buf, 16, h.items, 3, h.quad]);
      assert.deepEqual([...s.p.process.read(h.buf, 18)], [...new Array<number>(16).fill(0xee), 17, 18]);
      // mode 4: len = 5: five bytes come back (unchanged: the enclave wrote none), the length is 5.
      assert.equal(s.e.ecall('ecall_blob_inout', [st, 5, 4]), 0);
      assert.deepEqual(words(st), [h.buf, 5, h.items, 3, h.quad]);
    });

    test('[in, out]: a member the enclave sets to NULL copies nothing back, and the host\'s pointer is restored', () => {
      const h = setUp(s);
      const st = blob(h.buf, 32, h.items, 3, h.quad);
      assert.equal(s.e.ecall('ecall_blob_inout', [st, 0, 3]), 0);
      assert.deepEqual(words(st), [h.buf, 32, h.items, 3, h.quad]);
      assert.deepEqual(words(s.p.process.read(h.items, 12)), [10, 20, 30]);
    });

    test('[in, out]: a member the enclave grows past what was copied in: SGX_ERROR_INVALID_PARAMETER after the call, and nothing comes back', () => {
      const h = setUp(s);
      const st = blob(h.buf, 32, h.items, 3, h.quad);
      const before = st.slice();
      const n0 = calls(s.e);
      assert.equal(callStatus(() => s.e.ecall('ecall_blob_inout', [st, 4, 1])), STATUS.INVALID_PARAMETER);
      assert.equal(calls(s.e), n0 + 1, 'the body ran (edger8r checks after the call)');
      assert.deepEqual(st, before);
      assert.deepEqual([...s.p.process.read(h.buf, 4)], [1, 2, 3, 4]);
    });

    test('NULL member with a non-zero count: accepted as edger8r does (nothing copied, NULL in the enclave, the count kept); a member with count 0 reaches the enclave as NULL', () => {
      const h = setUp(s);
      const st = blob(h.buf, 32, 0, 3, h.quad);
      assert.equal(s.e.ecall('ecall_blob_inout', [st, 0, 0]), 0);
      const r = report(s.e);
      assert.deepEqual([r[2], r[3], r[6]], [0, 3, 0]);
      assert.deepEqual(words(st), [h.buf, 32, 0, 3, h.quad]);
      const z = blob(h.buf, 0, h.items, 0, h.quad);
      assert.equal(s.e.ecall('ecall_blob_inout', [z, 0, 0]), 0);
      const r2 = report(s.e);
      assert.deepEqual([r2[0], r2[1], r2[2], r2[3]], [0, 0, 0, 0]);
      assert.deepEqual(words(z), [h.buf, 0, h.items, 0, h.quad], 'the host\'s pointers, even of empty members');
    });

    test('refused before the body runs, SGX_ERROR_INVALID_PARAMETER: a member in the enclave, straddling its start or end, count × size overflowing (NULL too), a length not whole elements', () => {
      const h = setUp(s);
      const { base, size } = s.e;
      const cases: [string, Uint8Array, string][] = [
        ['buf inside the enclave', blob(base + 0x1000, 16, h.items, 3, h.quad), 'ecall_blob_in'],
        ['buf straddling the start', blob(base - 8, 16, h.items, 3, h.quad), 'ecall_blob_in'],
        ['quad straddling the end', blob(h.buf, 32, h.items, 3, base + size - 4), 'ecall_blob_inout'],
        ['items: n × 4 overflows size_t', blob(h.buf, 32, h.items, 0x4000_0000, h.quad), 'ecall_blob_in'],
        ['items NULL, n × 4 overflows size_t', blob(h.buf, 32, 0, 0xffff_ffff, h.quad), 'ecall_blob_inout'],
        ['buf of 2 GiB (insane)', blob(h.buf, 0x8000_0000, h.items, 3, h.quad), 'ecall_blob_in'],
      ];
      for (const [what, st, fn] of cases) {
        const n0 = calls(s.e);
        const args = fn === 'ecall_blob_in' ? [st] : [st, 0, 0];
        const before = st.slice();
        assert.equal(callStatus(() => s.e.ecall(fn, args)), STATUS.INVALID_PARAMETER, what);
        assert.equal(calls(s.e), n0, `${what}: the body did not run`);
        assert.deepEqual(st, before, what);
      }
      // The host's buffers are as they were, and the enclave works on.
      assert.deepEqual([...s.p.process.read(h.buf, 3)], [1, 2, 3]);
      assert.equal(s.e.ecall('ecall_blob_in', [blob(h.buf, 32, h.items, 3, h.quad)]), 0);
    });

    test('struct holder: a pointer to structures (no whole-element check) and a signed size= (6: not whole int32_t; -4: a huge size_t)', () => {
      const { p, u } = s;
      const pairs = u + 0x400, w = u + 0x500;
      const pb = new Uint8Array(16);
      [1, 2, 3, 4].forEach((v, i) => new DataView(pb.buffer).setUint32(4 * i, v, true));
      p.process.write(pairs, pb);
      p.process.write(w, new Uint8Array([7, 0, 0, 0, 8, 0, 0, 0]));
      const holder = (sz: number) => {
        const b = new Uint8Array(12);
        const dv = new DataView(b.buffer);
        dv.setUint32(0, pairs, true);
        dv.setInt32(4, sz, true);
        dv.setUint32(8, w, true);
        return b;
      };
      const h = holder(8);
      assert.equal(s.e.ecall('ecall_holder_inout', [h]), 0);
      assert.deepEqual(h, holder(8));
      assert.deepEqual(words(p.process.read(pairs, 16)), [3, 2, 7, 4]);
      assert.deepEqual(words(p.process.read(w, 8)), [8, 9]);
      assert.equal(callStatus(() => s.e.ecall('ecall_holder_inout', [holder(6)])), STATUS.INVALID_PARAMETER);
      assert.equal(callStatus(() => s.e.ecall('ecall_holder_inout', [holder(-4)])), STATUS.INVALID_PARAMETER);
      assert.deepEqual(words(p.process.read(w, 8)), [8, 9]);
    });

    test('an array of structures ([count=k]): every element deep-copied, in and in/out', () => {
      const { p, u } = s;
      const h = setUp(s);
      const b2 = u + 0x600;
      p.process.write(b2, Uint8Array.from([100, 101, 102, 103]));
      const two = new Uint8Array(40);
      two.set(blob(h.buf, 4, h.items, 3, h.quad), 0);
      two.set(blob(b2, 4, 0, 0, h.quad), 20);
      const before = two.slice();
      assert.equal(s.e.ecall('ecall_blobs_in', [two, 2]), 2);
      const r = report(s.e);
      assert.deepEqual([r[5], r[6], r[13], r[14]], [10, 60, 406, 0]);
      assert.notEqual(r[0], r[8]);
      assert.equal(s.e.ecall('ecall_blobs_inout', [two, 2]), 2);
      assert.deepEqual(two, before);
      assert.deepEqual([...p.process.read(h.buf, 5)], [2, 3, 4, 5, 5]);
      assert.deepEqual([...p.process.read(b2, 4)], [102, 103, 104, 105]);
    });

    test('nothing leaks: 300 calls with a 48 KiB member', () => {
      const { p, u } = s;
      p.process.write(u + 0x1000, new Uint8Array(48 << 10).fill(1));
      for (let k = 0; k < 300; k++) assert.equal(s.e.ecall('ecall_blob_inout', [blob(u + 0x1000, 48 << 10, 0, 0, 0), 0, 0]), 0);
      assert.equal(p.process.read(u + 0x1000, 1)[0], (1 + 300) & 0xff);
    });
  });
}

describe('deep copy: compiled and interpreted bridges agree', () => {
  test('random structures (members anywhere, any lengths and counts, every mode): the same status, structure, host memory and record', () => {
    const C = sides.compiled!, I = sides.interpreted!;
    assert.equal(C.e.base, I.e.base);
    assert.equal(C.u, I.u);
    const addr = (s: Side) => fc.constantFrom(0, s.u, s.u + 0x40, s.u + 0xfff0, s.e.base, s.e.base - 4, s.e.base + s.e.size - 8);
    const len = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0x4000_0000, 0xffff_ffff, 0x8000_0000));
    const arb = fc.record({ buf: addr(C), len, items: addr(C), n: len, quad: addr(C), newN: fc.integer({ min: 0, max: 80 }), mode: fc.integer({ min: 0, max: 5 }), inout: fc.boolean() });
    const outcome = (s: Side, x: { buf: number; len: number; items: number; n: number; quad: number; newN: number; mode: number; inout: boolean }) => {
      s.p.process.write(s.u, Uint8Array.from({ length: 0x10000 }, (_, i) => (i * 7) & 0xff));
      const st = blob(x.buf, x.len, x.items, x.n, x.quad);
      let status = 0;
      try {
        if (x.inout) s.e.ecall('ecall_blob_inout', [st, x.newN, x.mode]);
        else s.e.ecall('ecall_blob_in', [st]);
      } catch (err) {
        status = callStatus(() => {
          throw err;
        });
      }
      // The enclave's own addresses may differ run to run only if the heaps differ: they must not.
      return { status, st: [...st], mem: [...s.p.process.read(s.u, 0x10200)].join(','), report: report(s.e), calls: calls(s.e) };
    };
    const seen = new Set<number>();
    fc.assert(fc.property(arb, (x) => {
      const c = outcome(C, x);
      assert.deepEqual(c, outcome(I, x));
      assert.notEqual(c.status, STATUS.ENCLAVE_CRASHED, 'no member buffer is read where nothing is mapped');
      seen.add(c.status);
    }), { numRuns: 300, seed: 0xdee9, endOnFailure: true });
    // Success, INVALID_PARAMETER; UNEXPECTED (a member NULL on the host that the enclave gave a buffer:
    // edger8r's memcpy_s to NULL fails); OUT_OF_MEMORY (a 1 GiB member on a small heap).
    assert.deepEqual([...seen].sort(), [STATUS.SUCCESS, STATUS.UNEXPECTED, STATUS.INVALID_PARAMETER, STATUS.OUT_OF_MEMORY]);
  });
});
