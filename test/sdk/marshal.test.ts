/**
 * ECALL marshalling, end to end through HostEnclave and the trusted runtime, with the marshal
 * fixture (test/fixtures/marshal): every pointer attribute form, arrays, scalars of every width and
 * signedness, return values of every width, NULL and zero-length buffers. The enclave logs the bytes
 * it received; the host checks what it got back, and that nothing beyond a buffer's declared length
 * was touched — through HostEnclave (guard bytes around the caller's Uint8Array) and, entering with
 * the processor directly, in untrusted memory (guard bytes around the buffers the runtime copies).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeU32le, writeU64le, u64le, toHex } from '../../src/lib/index.js';
import { EXIT_ECALL_RETURN, MAX_STRING, type HostEnclave } from '../../src/sdk/index.js';
import { terminatorLength, scanStringLength, writeSlot } from '../../src/sdk/marshal.js';
import type { Platform } from '../../src/platform/index.js';
import {
  newPlatform, loadFixture, readLog, calls, untrusted, ecallPlan, writeMs, rawEnter, isSdkError, STATUS, type LogRecord,
} from '../helpers/sdk.js';

const enc = new TextEncoder();

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 31 + (i >> 8)) & 0xff;
  return b;
}
const bytesRec = (b: Uint8Array): LogRecord => ({ kind: 1, bytes: b });
const nullRec: LogRecord = { kind: 0, bytes: new Uint8Array(0) };
const u32Rec = (v: number): LogRecord => {
  const b = new Uint8Array(4);
  writeU32le(b, 0, v);
  return { kind: 2, bytes: b };
};
function valueRec(width: number, write: (dv: DataView) => void): LogRecord {
  const b = new Uint8Array(width);
  write(new DataView(b.buffer));
  return { kind: 2, bytes: b };
}

/** A Uint8Array view of `n` bytes with `guard` bytes of 0xEE on each side; `check()` asserts the guards. */
function guarded(n: number, fill = 0xee, guard = 16): { view: Uint8Array; check: () => void } {
  const all = new Uint8Array(n + 2 * guard).fill(fill);
  const view = all.subarray(guard, guard + n);
  return {
    view,
    check: () => {
      for (let i = 0; i < guard; i++) assert.equal(all[i], fill, `guard byte ${i - guard} before the buffer changed`);
      for (let i = guard + n; i < all.length; i++) assert.equal(all[i], fill, `guard byte +${i - guard - n} after the buffer changed`);
    },
  };
}

let p: Platform;
let e: HostEnclave;

before(() => {
  p = newPlatform();
  e = loadFixture(p, 'marshal', { ocalls: { ocall_lie: () => 0, ocall_big: () => 0 } });
});

describe('pointer attributes through HostEnclave', () => {
  test('[in] int32_t *: exactly the 4 bytes of the pointee, even from a longer array', () => {
    const src = Uint8Array.of(0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb, 0xcc, 0xdd);
    assert.equal(e.ecall('ecall_in_i32', [src]), 0x04030201);
    assert.deepEqual(readLog(e), [bytesRec(src.subarray(0, 4))]);
    assert.deepEqual([...src], [1, 2, 3, 4, 0xaa, 0xbb, 0xcc, 0xdd], 'an [in] buffer is not written back');
    assert.throws(() => e.ecall('ecall_in_i32', [new Uint8Array(3)]), isSdkError('BAD_ARGUMENTS'));
  });

  test('[out] int32_t *: arrives zeroed, the 4 bytes written come back, nothing around them', () => {
    const g = guarded(4, 0x77);
    assert.equal(e.ecall('ecall_out_i32', [g.view, -2]), 0);
    assert.deepEqual(readLog(e), [bytesRec(new Uint8Array(4))], 'the enclave must see a zeroed buffer, not the caller\'s bytes');
    assert.deepEqual([...g.view], [0xfe, 0xff, 0xff, 0xff]);
    g.check();
  });

  test('[in, out] int32_t *: the input arrives, the complement comes back', () => {
    const g = guarded(4);
    g.view.set([0x44, 0x33, 0x22, 0x11]);
    e.ecall('ecall_inout_i32', [g.view]);
    assert.deepEqual(readLog(e), [bytesRec(Uint8Array.of(0x44, 0x33, 0x22, 0x11))]);
    assert.deepEqual([...g.view], [0xbb, 0xcc, 0xdd, 0xee]);
    g.check();
  });

  // 64 and 256: small aligned [out] copies, zeroed as words; 62 and 260 (and the rest) by TypedArray#fill.
  for (const n of [1, 37, 62, 64, 256, 260, 4096, 10_000]) {
    test(`[in, size=n], n = ${n}: exactly n bytes`, () => {
      const src = pattern(n + 5, n);
      assert.equal(e.ecall('ecall_in_size', [src, n]), n);
      assert.deepEqual(readLog(e), [bytesRec(src.subarray(0, n)), u32Rec(n)]);
    });

    test(`[out, size=n], n = ${n}: arrives zeroed, n bytes come back, guards intact`, () => {
      e.ecall('ecall_in_size', [new Uint8Array(n).fill(0xa5), n]); // the heap holds these bytes where the copy may go next
      readLog(e);
      const g = guarded(n);
      assert.equal(e.ecall('ecall_out_size', [g.view, n, 9]), n);
      assert.deepEqual(readLog(e), [bytesRec(new Uint8Array(n))]);
      for (let i = 0; i < n; i++) if (g.view[i] !== ((9 + 7 * i) & 0xff)) assert.fail(`byte ${i}: ${g.view[i]}`);
      g.check();
    });

    test(`[in, out, size=n], n = ${n}: in and back, guards intact`, () => {
      const g = guarded(n);
      const src = pattern(n, 3);
      g.view.set(src);
      e.ecall('ecall_inout_size', [g.view, n]);
      assert.deepEqual(readLog(e), [bytesRec(src)]);
      assert.deepEqual(g.view, src.map((x) => x ^ 0xff));
      g.check();
    });
  }

  test('[out, size=64] into a Uint8Array subclass whose views clamp (Symbol.species): the bytes come back as bytes', () => {
    class Clamping extends Uint8Array {
      static get [Symbol.species](): unknown {
        return Uint8ClampedArray;
      }
    }
    const buf = new Clamping(128);
    assert.equal(e.ecall('ecall_out_size', [buf, 64, 9]), 64);
    readLog(e);
    for (let i = 0; i < 64; i++) assert.equal(buf[i], (9 + 7 * i) & 0xff, `byte ${i}`);
  });

  test('[in, count=n] with a 4-byte element: 4n bytes', () => {
    const a = new Uint8Array(20);
    const dv = new DataView(a.buffer);
    [1, 2, 3, 0xffffffff, 0x12345678].forEach((v, i) => dv.setUint32(4 * i, v, true));
    assert.equal(e.ecall('ecall_in_count32', [a, 4]), (1 + 2 + 3 + 0xffffffff) | 0, 'only the first 4 elements');
    assert.deepEqual(readLog(e), [bytesRec(a.subarray(0, 16))]);
  });

  test('[in, count=n] with an 8-byte element: 8n bytes', () => {
    const a = pattern(8 * 3 + 8, 0x40);
    assert.equal(e.ecall('ecall_in_count64', [a, 3]), 3);
    assert.deepEqual(readLog(e), [bytesRec(a.subarray(0, 24))]);
  });

  test('[out, count=n] with an 8-byte element: 8n bytes back, guards intact', () => {
    const g = guarded(24);
    assert.equal(e.ecall('ecall_out_count64', [g.view, 3]), 3);
    const dv = new DataView(g.view.buffer, g.view.byteOffset, 24);
    for (let i = 0; i < 3; i++) assert.equal(dv.getBigUint64(8 * i, true), BigInt.asUintN(64, 0x0102030405060708n * BigInt(i + 1)));
    g.check();
  });

  test('the buffers of one ECALL arrive disjoint and 16-aligned, as separate mallocs would give them', () => {
    for (const [na, nb, nc] of [[1, 1, 1], [3, 17, 5], [16, 16, 16], [100, 0, 7], [4096, 1, 33]] as const) {
      const c = guarded(nc);
      assert.equal(e.ecall('ecall_align3', [pattern(na), na, pattern(nb, 2), nb, c.view, nc]), 0, `${na}, ${nb}, ${nc}`);
      assert.deepEqual(c.view, new Uint8Array(nc).fill(0x5a));
      c.check();
    }
  });

  test('[in, size=4, count=n] on a void *: 4n bytes', () => {
    const a = pattern(40, 0x61);
    assert.equal(e.ecall('ecall_in_size_count', [a, 5]), 5);
    assert.deepEqual(readLog(e), [bytesRec(a.subarray(0, 20))]);
  });

  test('[in, string]: the UTF-8 bytes and the terminator', () => {
    const s = 'héllo, wörld — ✓';
    assert.equal(e.ecall('ecall_in_string', [s]), enc.encode(s).length);
    assert.deepEqual(readLog(e), [bytesRec(enc.encode(s + '\0'))]);
    assert.equal(e.ecall('ecall_in_string', ['']), 0);
    assert.deepEqual(readLog(e), [bytesRec(new Uint8Array(1))]);
  });

  test('[in, out, string]: changed in place, same length', () => {
    const b = enc.encode('mixed Case 123\0');
    assert.equal(e.ecall('ecall_inout_string', [b]), 14);
    assert.deepEqual(readLog(e), [bytesRec(enc.encode('mixed Case 123\0'))]);
    assert.equal(new TextDecoder().decode(b), 'MIXED CASE 123\0');
  });

  test('[in, wstring]: 4-byte code units (wchar_t on wasm32) and a 4-byte terminator', () => {
    const s = 'aé€😀';
    assert.equal(e.ecall('ecall_in_wstring', [s]), 4);
    const want = new Uint8Array(20);
    const dv = new DataView(want.buffer);
    [0x61, 0xe9, 0x20ac, 0x1f600].forEach((c, i) => dv.setUint32(4 * i, c, true));
    assert.deepEqual(readLog(e), [bytesRec(want)]);
  });

  test('[in] int32_t a[4]: the 16 bytes of the array', () => {
    const a = new Uint8Array(16);
    const dv = new DataView(a.buffer);
    [10, -20, 30, 1000].forEach((v, i) => dv.setInt32(4 * i, v, true));
    assert.equal(e.ecall('ecall_array', [a]), 1020);
    assert.deepEqual(readLog(e), [bytesRec(a)]);
    assert.throws(() => e.ecall('ecall_array', [new Uint8Array(15)]), isSdkError('BAD_ARGUMENTS'));
  });

  test('[user_check]: the host address is passed through; the enclave copies from it itself', () => {
    const at = untrusted(p, 0x1000, 0x3000_0000);
    const data = pattern(64, 0x99);
    p.process.write(at + 0x100, data);
    assert.equal(e.ecall('ecall_user_check', [at + 0x100, 64]), 64);
    const addr = new Uint8Array(8);
    writeU64le(addr, 0, at + 0x100);
    assert.deepEqual(readLog(e), [{ kind: 2, bytes: addr }, bytesRec(data)]);
    // A user_check pointer is not copied: NULL stays NULL.
    assert.equal(e.ecall('ecall_user_check', [null, 0]), 0);
    assert.deepEqual(readLog(e)[0], { kind: 2, bytes: new Uint8Array(8) });
  });

  test('[user_check] into the enclave: the enclave can tell (witness_is_outside_enclave)', () => {
    // ecall_user_check returns -0x100 when the address is not outside the enclave.
    const inside = e.base + 0x1000;
    assert.equal(e.ecall('ecall_user_check', [inside, 16]), -0x100);
  });

  test('[user_check] above 4 GiB: the enclave sees the full host address', () => {
    // Its own enclave: reading the truncated address may fault and crash the enclave.
    const own = loadFixture(p, 'marshal');
    try {
      const at = untrusted(p, 0x1000, 0x5_0000_0000);
      const data = pattern(16, 0x42);
      p.process.write(at, data);
      assert.equal(own.ecall('ecall_user_check', [at, 16]), 16);
      const addr = new Uint8Array(8);
      writeU64le(addr, 0, at);
      assert.deepEqual(readLog(own), [{ kind: 2, bytes: addr }, bytesRec(data)]);
    } finally {
      own.destroy();
    }
  });

  test('witness_copy_from_outside with a full 64-bit address above 4 GiB works', () => {
    const at = untrusted(p, 0x1000, 0x6_0000_0000);
    const data = pattern(32, 0x17);
    p.process.write(at + 8, data);
    assert.equal(e.ecall('ecall_read_outside', [BigInt(at + 8), 32]), STATUS.SUCCESS);
    assert.deepEqual(readLog(e), [bytesRec(data)]);
    assert.equal(e.ecall('ecall_read_outside', [BigInt(e.base + 0x2000), 16]), STATUS.INVALID_PARAMETER, 'not from inside the enclave');
    assert.equal(e.ecall('ecall_read_outside', [BigInt(e.base - 8), 16]), STATUS.INVALID_PARAMETER, 'not straddling its start');
  });
});

describe('NULL and zero-length buffers', () => {
  test('NULL [in], [out], [in, out], string, array pointers arrive as NULL', () => {
    assert.equal(e.ecall('ecall_in_i32', [null]), -1);
    assert.deepEqual(readLog(e), [nullRec]);
    assert.equal(e.ecall('ecall_out_i32', [null, 5]), 0);
    assert.deepEqual(readLog(e), [nullRec]);
    e.ecall('ecall_inout_i32', [null]);
    assert.deepEqual(readLog(e), [nullRec]);
    assert.equal(e.ecall('ecall_in_string', [null]), -1);
    assert.deepEqual(readLog(e), [nullRec]);
    assert.equal(e.ecall('ecall_in_wstring', [null]), -1);
    assert.equal(e.ecall('ecall_array', [null]), -1);
    assert.equal(e.ecall('ecall_out_count64', [null, 2]), 2);
    assert.deepEqual(readLog(e), [nullRec]);
  });

  test('a NULL [in, size=n] with n > 0 arrives as NULL with its n', () => {
    assert.equal(e.ecall('ecall_in_size', [null, 100]), 100);
    assert.deepEqual(readLog(e), [nullRec, u32Rec(100)]);
    assert.equal(e.ecall('ecall_out_size', [null, 100, 1]), 100);
    assert.deepEqual(readLog(e), [nullRec]);
  });

  test('zero-length buffers: nothing copied either way, they arrive as NULL (edger8r copies only a non-NULL pointer with a length), the call succeeds', () => {
    assert.equal(e.ecall('ecall_in_size', [new Uint8Array(0), 0]), 0);
    const log = readLog(e);
    assert.equal(log.length, 2);
    assert.deepEqual(log[0], nullRec);
    assert.deepEqual(log[1], u32Rec(0));
    const g = guarded(0);
    assert.equal(e.ecall('ecall_out_size', [g.view, 0, 1]), 0);
    g.check();
    const g2 = guarded(0);
    assert.equal(e.ecall('ecall_out_count64', [g2.view, 0]), 0);
    g2.check();
    assert.equal(e.ecall('ecall_in_count32', [new Uint8Array(8), 0]), 0);
    assert.deepEqual(readLog(e)[0], nullRec);
  });
});

describe('scalars', () => {
  test('every width and signedness arrives as the enclave\'s C value', () => {
    const args = [-128, -32768, -2147483648, -(2n ** 63n), 255, 65535, 4294967295, 2n ** 64n - 1n, -3.4028234663852886e38, -Math.PI, 4294967295];
    assert.equal(e.ecall('ecall_scalars', args), 11);
    assert.deepEqual(readLog(e), [
      valueRec(1, (d) => d.setInt8(0, -128)),
      valueRec(2, (d) => d.setInt16(0, -32768, true)),
      valueRec(4, (d) => d.setInt32(0, -2147483648, true)),
      valueRec(8, (d) => d.setBigInt64(0, -(2n ** 63n), true)),
      valueRec(1, (d) => d.setUint8(0, 255)),
      valueRec(2, (d) => d.setUint16(0, 65535, true)),
      valueRec(4, (d) => d.setUint32(0, 4294967295, true)),
      valueRec(8, (d) => d.setBigUint64(0, 2n ** 64n - 1n, true)),
      valueRec(4, (d) => d.setFloat32(0, -3.4028234663852886e38, true)),
      valueRec(8, (d) => d.setFloat64(0, -Math.PI, true)),
      valueRec(4, (d) => d.setUint32(0, 4294967295, true)),
    ]);
  });

  test('mid-range values, and a float that is not exactly representable (rounded to float)', () => {
    const args = [0x5a, 0x1234, 0x12345678, 0x0123456789abcdefn, 0x80, 0x8000, 0x80000000, 0x8000000000000000n, 0.1, 1e308, 7];
    e.ecall('ecall_scalars', args);
    const log = readLog(e);
    assert.equal(toHex(log[0]!.bytes), '5a');
    assert.equal(toHex(log[3]!.bytes), 'efcdab8967452301');
    assert.equal(toHex(log[4]!.bytes), '80');
    assert.equal(toHex(log[7]!.bytes), '0000000000000080');
    assert.equal(new DataView(log[8]!.bytes.buffer).getFloat32(0, true), Math.fround(0.1));
    assert.equal(new DataView(log[9]!.bytes.buffer).getFloat64(0, true), 1e308);
  });

  test('a host value wider than its C type but within its Wasm type is converted as C converts it (truncated to the width)', () => {
    e.ecall('ecall_scalars', [0x1ff, 0x18000, -1, 0, 0x1fe, 0x10001, -1, -1n, 0, 0, -2]);
    const log = readLog(e);
    assert.equal(new DataView(log[0]!.bytes.buffer).getInt8(0), -1);
    assert.equal(new DataView(log[1]!.bytes.buffer).getInt16(0, true), -32768);
    assert.equal(new DataView(log[2]!.bytes.buffer).getInt32(0, true), -1);
    assert.equal(log[4]!.bytes[0], 0xfe);
    assert.equal(new DataView(log[5]!.bytes.buffer).getUint16(0, true), 1);
    assert.equal(new DataView(log[6]!.bytes.buffer).getUint32(0, true), 0xffffffff);
    assert.equal(new DataView(log[7]!.bytes.buffer).getBigUint64(0, true), 2n ** 64n - 1n);
    assert.equal(new DataView(log[10]!.bytes.buffer).getUint32(0, true), 0xfffffffe);
  });

  test('i32 and i64 values as bigints or numbers, at the ends of their Wasm types\' ranges', () => {
    e.ecall('ecall_scalars', [0, 0, 2n ** 32n - 1n, 2 ** 63, 0, 0, -(2n ** 31n), -(2 ** 53), 0, 0, 2 ** 32 - 1]);
    const log = readLog(e);
    assert.equal(new DataView(log[2]!.bytes.buffer).getInt32(0, true), -1);
    assert.equal(new DataView(log[3]!.bytes.buffer).getBigUint64(0, true), 2n ** 63n);
    assert.equal(new DataView(log[6]!.bytes.buffer).getUint32(0, true), 0x80000000);
    assert.equal(new DataView(log[7]!.bytes.buffer).getBigInt64(0, true), -(2n ** 53n));
    assert.equal(new DataView(log[10]!.bytes.buffer).getUint32(0, true), 0xffffffff);
  });

  describe('values no C conversion gives: BAD_ARGUMENTS before the enclave is entered', () => {
    // ecall_scalars(int8_t a, int16_t b, int32_t c, int64_t d, uint8_t e, uint16_t f, uint32_t g, uint64_t h, float x, double y, size_t z)
    const ok: (number | bigint)[] = [0, 0, 0, 0n, 0, 0, 0, 0n, 0, 0, 0];
    const bad: [string, number, unknown][] = [
      ['NaN for an int8_t', 0, NaN],
      ['1.5 for an int32_t', 2, 1.5],
      ['Infinity for a uint32_t', 6, Infinity],
      ['1e300 for a size_t', 10, 1e300],
      ['2^32 for an int32_t (beyond i32)', 2, 2 ** 32],
      ['2^32 + 5 for a uint32_t', 6, 2 ** 32 + 5],
      ['-2^31 - 1 for an int32_t', 2, -(2 ** 31) - 1],
      ['2^32 as a bigint for a uint16_t', 5, 2n ** 32n],
      ['NaN for an int64_t (was a RangeError)', 3, NaN],
      ['1.5 for a uint64_t', 7, 1.5],
      ['2^64 for a uint64_t', 7, 2n ** 64n],
      ['2^64 as a number for an int64_t', 3, 2 ** 64],
      ['-2^63 - 1 for an int64_t', 3, -(2n ** 63n) - 1n],
      ['a bigint for a float', 8, 1n],
      ['a string for a double', 9, '1'],
      ['a string for an int32_t', 2, '7'],
      ['bytes for a size_t', 10, new Uint8Array(4)],
      ['null for an int8_t', 0, null],
    ];
    for (const [what, at, v] of bad) {
      test(what, () => {
        const before = calls(e);
        const args = ok.slice() as unknown[];
        args[at] = v;
        assert.throws(() => e.ecall('ecall_scalars', args as (number | bigint)[]), isSdkError('BAD_ARGUMENTS'));
        assert.equal(calls(e), before, 'the ECALL ran');
      });
    }

    test('a [user_check] pointer that is not an address: a string, a negative number, a fraction, 2^64', () => {
      const before = calls(e);
      for (const v of ['0x1000', -1, 0.5, 2 ** 53, 2n ** 64n, -1n, new Uint8Array(8)]) {
        assert.throws(() => e.ecall('ecall_user_check', [v as number, 0]), isSdkError('BAD_ARGUMENTS'), String(v));
      }
      assert.equal(calls(e), before);
      assert.equal(e.ecall('ecall_user_check', [0n, 0]), 0, 'a bigint address is accepted');
    });

    test('the arena and the TCS are free again after a refused call', () => {
      const own = loadFixture(p, 'marshal', { arenaSize: 4096, config: { tcsCount: 1 } });
      try {
        const buf = new Uint8Array(4096 - 24); // after the ms of two slots and the return slot
        for (let i = 0; i < 3; i++) assert.throws(() => own.ecall('ecall_in_size', [buf, 1.5]), isSdkError('BAD_ARGUMENTS'));
        assert.equal(own.ecall('ecall_in_size', [buf, buf.length]), buf.length, 'the whole arena, on the only TCS');
      } finally {
        own.destroy();
      }
    });

    test('a size operand is used as the enclave sees it: a uint8_t n of 0x110 copies 0x10 bytes', () => {
      const g = new Uint8Array(0x10);
      assert.equal(e.ecall('ecall_out_narrow', [g, 0x110]), 0x10);
      assert.ok(g.every((x) => x === 0x5a));
    });
  });
});

describe('return values', () => {
  const cases: [string, (number | bigint)[], 'number' | 'bigint'][] = [
    ['ecall_ret_i8', [-128, -1, 0, 127], 'number'],
    ['ecall_ret_i16', [-32768, -2, 32767], 'number'],
    ['ecall_ret_i32', [-2147483648, -3, 2147483647], 'number'],
    ['ecall_ret_i64', [-(2n ** 63n), -4n, 2n ** 63n - 1n, -(2n ** 53n) - 1n], 'bigint'],
    ['ecall_ret_u8', [0, 128, 255], 'number'],
    ['ecall_ret_u16', [0, 32768, 65535], 'number'],
    ['ecall_ret_u32', [0, 2147483648, 4294967295], 'number'],
    ['ecall_ret_u64', [0n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n + 1n], 'bigint'],
    ['ecall_ret_size', [0, 4294967295], 'number'],
  ];
  for (const [name, values, type] of cases) {
    test(`${name}: ${values.map(String).join(', ')}`, () => {
      for (const v of values) {
        const r = e.ecall(name, [v]);
        assert.equal(typeof r, type);
        assert.equal(r, v);
      }
    });
  }

  test('float and double returns, including -0, NaN and the infinities', () => {
    for (const v of [Math.fround(1.1), -0, Infinity, -Infinity, Math.fround(-3.4028234663852886e38), 1.401298464324817e-45]) assert.ok(Object.is(e.ecall('ecall_ret_f32', [v]), v), `f32 ${v}`);
    assert.equal(e.ecall('ecall_ret_f32', [1.1]), Math.fround(1.1), 'a double narrowed to float');
    assert.ok(Number.isNaN(e.ecall('ecall_ret_f32', [NaN])));
    for (const v of [-Math.E, -0, Infinity, Number.MAX_VALUE, Number.MIN_VALUE]) assert.ok(Object.is(e.ecall('ecall_ret_f64', [v]), v), `f64 ${v}`);
    assert.ok(Number.isNaN(e.ecall('ecall_ret_f64', [NaN])));
  });

  test('a void ECALL returns undefined', () => {
    const before = calls(e);
    assert.equal(e.ecall('ecall_void', []), undefined);
    assert.equal(calls(e), before + 1);
  });
});

describe('in untrusted memory (entering with the processor directly)', () => {
  let U: number; // 64 KiB of untrusted memory: ms at +0, buffers from +0x1000, scratch at +0x8000
  const MS = 0, BUF = 0x1000, SCRATCH = 0x8000;
  before(() => {
    U = untrusted(p, 0x10000, 0x4000_0000);
  });

  function enter(name: string, slots: (number | bigint)[]): { status: number; ret: bigint } {
    const f = ecallPlan(e, name);
    writeMs(p, U + MS, slots);
    const { exit, regs } = rawEnter(p, e, { index: f.index, ms: U + MS, scratch: U + SCRATCH, scratchSize: 0x8000 });
    assert.equal(exit.reason, 'eexit', `exit ${exit.reason} ${exit.detail ?? ''}`);
    assert.equal(regs.rdi, EXIT_ECALL_RETURN);
    return { status: regs.rax, ret: u64le(p.process.read(U + MS + 8 * slots.length, 8), 0) };
  }

  /** Fill [BUF − 64, BUF + n + 64) with 0xEE, put `content` at BUF. */
  function stage(n: number, content: Uint8Array | null = null): void {
    p.process.write(U + BUF - 64, new Uint8Array(n + 128).fill(0xee));
    if (content) p.process.write(U + BUF, content);
  }
  function assertGuards(n: number): void {
    const before = p.process.read(U + BUF - 64, 64);
    const after = p.process.read(U + BUF + n, 64);
    assert.ok(before.every((x) => x === 0xee), `bytes before the buffer changed: ${toHex(before)}`);
    assert.ok(after.every((x) => x === 0xee), `bytes after the buffer changed: ${toHex(after)}`);
  }

  test('[out, size=n]: exactly n bytes written, the return slot set, the argument slots untouched', () => {
    stage(33);
    const r = enter('ecall_out_size', [U + BUF, 33, 200]);
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(r.ret, 33n);
    const got = p.process.read(U + BUF, 33);
    for (let i = 0; i < 33; i++) assert.equal(got[i], (200 + 7 * i) & 0xff);
    assertGuards(33);
    const ms = p.process.read(U + MS, 24);
    assert.equal(u64le(ms, 0), BigInt(U + BUF));
    assert.equal(u64le(ms, 8), 33n);
    assert.equal(u64le(ms, 16), 200n);
  });

  test('[in, out, size=n] and [out] int32_t: exactly the declared bytes come back', () => {
    const src = pattern(50, 5);
    stage(50, src);
    assert.equal(enter('ecall_inout_size', [U + BUF, 50]).status, STATUS.SUCCESS);
    assert.deepEqual(p.process.read(U + BUF, 50), src.map((x) => x ^ 0xff));
    assertGuards(50);
    stage(4);
    assert.equal(enter('ecall_out_i32', [U + BUF, 0x01020304]).status, STATUS.SUCCESS);
    assert.equal(toHex(p.process.read(U + BUF, 4)), '04030201');
    assertGuards(4);
  });

  test('[out, count=n] of 8-byte elements: exactly 8n bytes', () => {
    stage(16);
    assert.equal(enter('ecall_out_count64', [U + BUF, 2]).status, STATUS.SUCCESS);
    assertGuards(16);
  });

  test('[in] buffers are not written back, even when the enclave overwrites its copy', () => {
    const src = pattern(40, 8);
    stage(40, src);
    assert.equal(enter('ecall_in_scribble', [U + BUF, 40]).status, STATUS.SUCCESS);
    assert.equal(readLog(e)[0]!.bytes.length, 40, 'the body ran on its copy');
    assert.deepEqual(p.process.read(U + BUF, 40), src);
    assertGuards(40);
  });

  test('size= × count= as edger8r computes them on size_t: two negative operands (a product of 1 or 4 in signed arithmetic) are INVALID_PARAMETER, the body does not run; a negative one times 0 is an empty buffer (NULL inside)', () => {
    stage(16, pattern(16, 3));
    for (const [sz, cnt] of [[-1, -1], [-2, -2], [-1, 4], [4, -1]]) {
      const before = calls(e);
      assert.equal(enter('ecall_in_signed_size_count', [U + BUF, BigInt.asUintN(64, BigInt(sz)), BigInt.asUintN(64, BigInt(cnt))]).status, STATUS.INVALID_PARAMETER, `size ${sz} × count ${cnt}`);
      assert.equal(calls(e), before, 'the body did not run');
    }
    for (const [sz, cnt] of [[-3, 0], [0, -3]]) {
      assert.equal(enter('ecall_in_signed_size_count', [U + BUF, BigInt.asUintN(64, BigInt(sz)), BigInt.asUintN(64, BigInt(cnt))]).status, STATUS.SUCCESS, `size ${sz} × count ${cnt}`);
      assert.equal(readLog(e)[0]!.kind, 0, 'an empty buffer arrives as NULL');
    }
    assert.equal(enter('ecall_in_signed_size_count', [U + BUF, 2, 3]).status, STATUS.SUCCESS);
    assert.deepEqual(readLog(e)[0]!.bytes, pattern(16, 3).subarray(0, 6));
  });

  test('an [in, size=n] buffer that ends exactly where untrusted memory ends is read without going past it', () => {
    const page = untrusted(p, 0x1000, 0x4100_0000); // the next page is not mapped
    const src = pattern(100, 2);
    p.process.write(page + 0x1000 - 100, src);
    const r = enter('ecall_in_size', [page + 0x1000 - 100, 100]);
    assert.equal(r.status, STATUS.SUCCESS);
    assert.deepEqual(readLog(e), [bytesRec(src), u32Rec(100)]);
  });

  test('an [in, string] whose terminator is the last byte of untrusted memory is read without going past it', () => {
    // Its own enclave: an over-read faults and crashes it.
    const own = loadFixture(p, 'marshal');
    try {
      const page = untrusted(p, 0x1000, 0x4200_0000); // the next page is not mapped
      const s = enc.encode('near the end\0');
      p.process.write(page + 0x1000 - s.length, s);
      assert.equal(own.ecall('ecall_in_string', [null]), -1);
      const f = ecallPlan(own, 'ecall_in_string');
      writeMs(p, U + MS, [page + 0x1000 - s.length]);
      const { exit, regs } = rawEnter(p, own, { index: f.index, ms: U + MS, scratch: U + SCRATCH, scratchSize: 0x8000 });
      assert.equal(exit.reason, 'eexit', `exit ${exit.reason}: ${exit.detail ?? ''}`);
      assert.equal(regs.rax, STATUS.SUCCESS);
      assert.deepEqual(readLog(own), [bytesRec(s)]);
    } finally {
      own.destroy();
    }
  });

  test('a [size=n] operand is used with its declared type: a uint8_t n carried in a wider slot', () => {
    stage(0x110);
    // n is a uint8_t: slot 0x110 means n = 0x10 to the enclave; 16 bytes may come back, not 0x110.
    const r = enter('ecall_out_narrow', [U + BUF, 0x110]);
    if (r.status === STATUS.SUCCESS) {
      assert.ok(p.process.read(U + BUF + 16, 0x100).every((x) => x === 0xee), 'bytes beyond the enclave\'s n were written');
      assert.equal(r.ret, 16n);
    } else assert.equal(r.status, STATUS.INVALID_PARAMETER);
  });

  test('the raw return slot carries the value at its declared width', () => {
    const r = enter('ecall_ret_u16', [0xabcd]);
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(r.ret & 0xffffn, 0xabcdn);
    const s = enter('ecall_ret_i8', [0x80]);
    assert.equal(s.ret & 0xffn, 0x80n);
  });

  test('HostEnclave rejects an insane count before entering, with an SdkError (BAD_ARGUMENTS)', () => {
    const before = calls(e);
    assert.throws(() => e.ecall('ecall_in_count32', [new Uint8Array(8), 2 ** 30]), isSdkError('BAD_ARGUMENTS'));
    assert.throws(() => e.ecall('ecall_in_size', [new Uint8Array(8), 2 ** 30 + 1]), isSdkError('BAD_ARGUMENTS'));
    assert.equal(calls(e), before);
  });
});

describe('terminatorLength and scanStringLength', () => {
  test('terminatorLength: the first NUL byte, or the first all-zero 4-byte unit counted from the start, before the end', () => {
    const b = Uint8Array.of(0x61, 0x62, 0, 0x63, 0, 0, 0, 0, 0x64, 0, 0, 0, 0);
    assert.equal(terminatorLength(b, 0, b.length, 1), 3);
    assert.equal(terminatorLength(b, 3, b.length, 1), 2);
    assert.equal(terminatorLength(b, 0, 2, 1), -1, 'not before the end');
    assert.equal(terminatorLength(b, 0, b.length, 4), 8, 'bytes 4..7; the zeros at 2..5 straddle units');
    assert.equal(terminatorLength(b, 1, b.length, 4), 12, 'units counted from the start: 9..12');
    assert.equal(terminatorLength(b, 0, 7, 4), -1, 'a unit must end before the end');
  });

  /** Memory of `pages` pages at 0x10000 where reading outside them (or past `stop`) throws, as an unmapped page faults. */
  function memory(pages: number, stop = Infinity): { mem: { readInto(a: number, into: Uint8Array): void }; bytes: Uint8Array; reads: [number, number][] } {
    const bytes = new Uint8Array(pages * 4096).fill(0x41);
    const reads: [number, number][] = [];
    return {
      bytes,
      reads,
      mem: {
        readInto(a: number, into: Uint8Array): void {
          reads.push([a, into.length]);
          if (a < 0x10000 || a + into.length > 0x10000 + bytes.length || a + into.length > stop) throw new RangeError(`read of [0x${a.toString(16)}, +${into.length}) outside the mapped pages`);
          into.set(bytes.subarray(a - 0x10000, a - 0x10000 + into.length));
        },
      },
    };
  }
  const scratch = new Uint8Array(256);

  test('a string whose terminator is the last byte of the last mapped page: no read crosses into the next page', () => {
    const { mem, bytes, reads } = memory(2);
    bytes[bytes.length - 1] = 0;
    assert.equal(scanStringLength(mem, 0x10000 + 4096 - 10, 1, Number.MAX_SAFE_INTEGER, scratch), 4096 + 10);
    for (const [a, n] of reads) assert.ok(Math.floor(a / 4096) === Math.floor((a + n - 1) / 4096), `the read [0x${a.toString(16)}, +${n}) crosses a page`);
    bytes.fill(0, bytes.length - 4);
    assert.equal(scanStringLength(mem, 0x10000 + 4096, 4, Number.MAX_SAFE_INTEGER, scratch), 4096);
  });

  test('no terminator before the limit, or within MAX_STRING bytes: -1 without reading past either', () => {
    const { mem, bytes } = memory(2, 0x10000 + 6000);
    bytes[7000] = 0;
    assert.equal(scanStringLength(mem, 0x10000, 1, 0x10000 + 6000, scratch), -1);
    const open = memory(2);
    open.bytes[7000] = 0;
    assert.equal(scanStringLength(open.mem, 0x10000, 1, 0x10000 + 7000, scratch), -1, 'the terminator is the first byte past the limit');
    assert.equal(scanStringLength(open.mem, 0x10000, 1, 0x10000 + 7001, scratch), 7001);
    const big = memory(MAX_STRING / 4096 + 2);
    big.bytes[MAX_STRING] = 0;
    assert.equal(scanStringLength(big.mem, 0x10000, 1, Number.MAX_SAFE_INTEGER, scratch), -1, 'a string of MAX_STRING + 1 bytes');
    big.bytes[MAX_STRING - 1] = 0;
    assert.equal(scanStringLength(big.mem, 0x10000, 1, Number.MAX_SAFE_INTEGER, scratch), MAX_STRING, 'MAX_STRING bytes with the terminator');
  });
});

describe('writeSlot', () => {
  test('a float\'s slot is zero above its 4 bytes, whatever was written before', () => {
    const ms = new Uint8Array(16).fill(0xcc);
    writeSlot(ms, 0, { wasm: 'i64', width: 8, float: false, signed: false }, 2n ** 64n - 1n);
    writeSlot(ms, 1, { wasm: 'f32', width: 4, float: true, signed: true }, 1.5);
    assert.equal(toHex(ms.subarray(8)), '0000c03f00000000');
    writeSlot(ms, 1, { wasm: 'f64', width: 8, float: true, signed: true }, 1.5);
    assert.equal(toHex(ms.subarray(8)), '000000000000f83f');
  });
});

describe('an enclave that runs memory.grow(0)', () => {
  test('the grow replaces the memory\'s buffer; the bridges, the runtime services and the processor follow it', () => {
    let seen: number[] = [];
    const own = loadFixture(p, 'marshal', {
      ocalls: {
        ocall_lie: () => 0,
        ocall_big: (buf) => {
          seen = [...(buf as Uint8Array)];
          return 7;
        },
      },
    });
    try {
      assert.equal(own.ecall('ecall_in_size', [pattern(64, 1), 64]), 64); // the runtime has its view now
      assert.ok((own.ecall('ecall_grow_zero', []) as number) > 0, 'the grow succeeds at the maximum');
      const src = pattern(300, 5);
      assert.equal(own.ecall('ecall_in_size', [src, 300]), 300);
      assert.deepEqual(readLog(own), [bytesRec(src), u32Rec(300)], '[in] bytes arrive in the new buffer');
      const out = new Uint8Array(40);
      assert.equal(own.ecall('ecall_out_size', [out, 40, 3]), 40);
      assert.equal(out[39], (3 + 7 * 39) & 0xff, '[out] bytes come back from it');
      // An OCALL with an [in] buffer copies from the new buffer too.
      assert.equal(own.ecall('ecall_ocall_big', [16]), 0x10007);
      assert.deepEqual(seen, [...Array(16).keys()]);
    } finally {
      own.destroy();
    }
  });
});
