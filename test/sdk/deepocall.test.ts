/**
 * Deep copy in OCALLs (edger8r's trusted proxy of an untrusted function taking a pointer to a
 * structure whose pointer members carry size= or count=), end to end with the deepocall fixture in
 * both bridge modes: the host's implementation receives the structure's bytes with its member
 * pointers rewritten to untrusted copies (below 4 GiB, outside the enclave), reads and writes them
 * through the process's memory as a C host would, and for [in, out] the enclave copies back into
 * its own member buffers no more than it sent, its own pointers kept; a host that grows a length is
 * refused (nothing copied back).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createTrustedRuntime, loadEnclave, type HostEnclave, type OcallImpl } from '../../src/sdk/index.js';
import type { Platform } from '../../src/platform/index.js';
import { newPlatform, buildFixture, signFixture, STATUS } from '../helpers/sdk.js';

const words = (b: Uint8Array): number[] => Array.from({ length: b.length >> 2 }, (_, i) => new DataView(b.buffer, b.byteOffset).getUint32(4 * i, true));
const setWord = (b: Uint8Array, i: number, v: number): void => new DataView(b.buffer, b.byteOffset).setUint32(4 * i, v >>> 0, true);

interface Seen { struct: number[]; buf: number[]; items: number[] }
interface Side { readonly p: Platform; readonly e: HostEnclave; seen: Seen[]; inout: (b: Uint8Array, p: Platform) => number }

function side(mode: 'compiled' | 'interpreted'): Side {
  const runtime = createTrustedRuntime({ bridges: mode });
  const p = newPlatform({ engine: runtime });
  const b = buildFixture('deepocall');
  const s: { p: Platform; e: HostEnclave | null; seen: Seen[]; inout: (b: Uint8Array, p: Platform) => number } = { p, e: null, seen: [], inout: () => 0 };
  // What the host's implementation sees: the structure, and the member buffers its pointers name.
  const look = (x: Uint8Array): void => {
    const [buf, len, items, n] = words(x);
    s.seen.push({ struct: words(x), buf: buf === 0 ? [] : [...p.process.read(buf!, len!)], items: items === 0 ? [] : words(p.process.read(items!, 4 * n!)) });
  };
  const ocalls: Record<string, OcallImpl> = {
    ocall_blob_in: (x) => { look(x as Uint8Array); return 7; },
    ocall_blob_inout: (x) => { look(x as Uint8Array); return s.inout(x as Uint8Array, p); },
  };
  const e = loadEnclave(p, b.image, { sigstruct: signFixture(b), bridges: mode, ocalls });
  s.e = e;
  return s as Side;
}
function report(e: HostEnclave): number[] {
  const out = new Uint8Array(40);
  e.ecall('ecall_report', [out]);
  return words(out);
}

for (const mode of ['compiled', 'interpreted'] as const) {
  describe(`deep copy in OCALLs, bridges ${mode}`, () => {
    let s: Side;
    before(() => { s = side(mode); });
    const outside = (a: number): boolean => a !== 0 && a + 16 <= 2 ** 32 && (a + 16 <= s.e.base || a >= s.e.base + s.e.size);

    test('[in]: the host reads the member buffers through the untrusted copies the structure names (never the enclave\'s addresses)', () => {
      s.seen = [];
      assert.equal(s.e.ecall('ecall_run', [0]), STATUS.SUCCESS);
      const [v] = s.seen;
      assert.ok(v);
      assert.ok(outside(v.struct[0]!) && outside(v.struct[2]!), 'the member pointers are untrusted addresses below 4 GiB');
      assert.deepEqual([v.struct[1], v.struct[3]], [16, 4]);
      assert.deepEqual(v.buf, Array.from({ length: 16 }, (_, i) => i + 1));
      assert.deepEqual(v.items, [10, 20, 30, 40]);
      // result 7; the enclave's structure and buffers as they were.
      assert.deepEqual(report(s.e), [7, 1, 16, 1, 4, 136, 100, 1, 10, 16]);
    });

    test('[in, out]: copied back into the enclave\'s own buffers, at most what was sent, its own pointers kept', () => {
      s.seen = [];
      s.inout = (b, p) => {
        const [buf, , items] = words(b);
        p.process.write(buf!, p.process.read(buf!, 16).map((x) => x + 1));
        p.process.write(items!, Uint8Array.from(p.process.read(items!, 16)).map((x, i) => (i % 4 === 0 ? x * 2 : x)));
        setWord(b, 1, 8); // fewer bytes back
        return 3;
      };
      assert.equal(s.e.ecall('ecall_run', [1]), STATUS.SUCCESS);
      // buf kept, len 8 (8 bytes back: +8), items kept, items doubled.
      assert.deepEqual(report(s.e), [3, 1, 8, 1, 4, 144, 200, 2, 20, 16]);
    });

    test('[in, out]: a host that moves a member pointer, or NULLs one it leaves a length for, is refused (edger8r: INVALID_PARAMETER), nothing copied back', () => {
      for (const [ptr, why] of [[0x1234, 'moved'], [0, 'NULLed']] as const) {
        s.inout = (b, p) => {
          p.process.write(words(b)[0]!, new Uint8Array(16).fill(0xee));
          setWord(b, 2, ptr);
          return 5;
        };
        assert.equal(s.e.ecall('ecall_run', [1]), STATUS.INVALID_PARAMETER, why);
        assert.deepEqual(report(s.e), [0xffffffff, 1, 16, 1, 4, 136, 100, 1, 10, 16], why);
      }
      // A member the host leaves with length 0 is not checked (nothing comes back for it).
      s.inout = (b) => { setWord(b, 2, 0); setWord(b, 3, 0); return 4; };
      assert.equal(s.e.ecall('ecall_run', [1]), STATUS.SUCCESS);
      assert.deepEqual(report(s.e).slice(0, 5), [4, 1, 16, 1, 0]);
    });

    test('[in, out]: a host that grows a length beyond what was sent is refused (INVALID_PARAMETER), nothing copied back', () => {
      s.inout = (b, p) => {
        p.process.write(words(b)[0]!, new Uint8Array(16).fill(0xee));
        setWord(b, 1, 32);
        return 5;
      };
      assert.equal(s.e.ecall('ecall_run', [1]), STATUS.INVALID_PARAMETER);
      assert.deepEqual(report(s.e), [0xffffffff, 1, 16, 1, 4, 136, 100, 1, 10, 16]);
    });

    test('[in, out]: a NULL member goes out NULL; the host may set any length for it (the enclave keeps NULL)', () => {
      s.seen = [];
      s.inout = (b) => { setWord(b, 0, 0x4000); setWord(b, 1, 1000); return 1; };
      assert.equal(s.e.ecall('ecall_run', [2]), STATUS.SUCCESS);
      assert.equal(s.seen[0]!.struct[0], 0);
      assert.deepEqual(s.seen[0]!.buf, []);
      assert.deepEqual(report(s.e), [1, 0, 1000, 1, 4, 136, 100, 1, 10, 16]);
    });
  });
}
