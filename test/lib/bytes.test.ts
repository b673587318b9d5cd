import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  toHex, fromHex, concatBytes, bytesEqual, timingSafeEqual, isZero, u16le, u32le, u64le, u64leNumber, u64leNumberOrNeg,
  writeU16le, writeU32le, writeU64le, leBytesToBigInt, beBytesToBigInt, bigIntToLeBytes, bigIntToBeBytes, reversed, modPow,
  copyBytes, copyDisjoint, LentBuffer, LibError, WitnessError, toBase64, fromBase64,
} from '../../src/lib/index.js';

function libError(code: string): (e: unknown) => boolean {
  return (e) => e instanceof LibError && e instanceof WitnessError && e.code === code;
}

describe('hex', () => {
  test('known encodings', () => {
    assert.equal(toHex(Uint8Array.from([0x00, 0x01, 0x7f, 0x80, 0xab, 0xff])), '00017f80abff');
    assert.equal(toHex(new Uint8Array(0)), '');
    assert.deepEqual(fromHex('00017f80ABff'), Uint8Array.from([0x00, 0x01, 0x7f, 0x80, 0xab, 0xff]));
    assert.deepEqual(fromHex('0xdeadBEEF'), Uint8Array.from([0xde, 0xad, 0xbe, 0xef]));
    assert.deepEqual(fromHex('0X01'), Uint8Array.from([1]));
    assert.deepEqual(fromHex(''), new Uint8Array(0));
  });

  test('invalid hex is LibError HEX_INVALID', () => {
    for (const bad of ['abc', '0x1', 'zz', '12 34', '12-3', 'g0']) assert.throws(() => fromHex(bad), libError('HEX_INVALID'), bad);
  });

  test('round trip (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const h = toHex(b);
      assert.equal(h.length, b.length * 2);
      assert.match(h, /^[0-9a-f]*$/);
      assert.deepEqual(fromHex(h), b);
      assert.deepEqual(fromHex(h.toUpperCase()), b);
      assert.equal(h, Buffer.from(b).toString('hex'));
    }));
  });
});

describe('little-endian integers', () => {
  test('reads of a known buffer', () => {
    const b = fromHex('0102030405060708ff');
    assert.equal(u16le(b, 0), 0x0201);
    assert.equal(u32le(b, 0), 0x04030201);
    assert.equal(u32le(b, 5), 0xff080706);
    assert.equal(u64le(b, 0), 0x0807060504030201n);
    assert.equal(u64le(b, 1), 0xff08070605040302n);
    assert.equal(u64leNumber(fromHex('0102030405061f00'), 0), 0x1f060504030201);
    assert.throws(() => u64leNumber(b, 0), libError('U64_NOT_SAFE'));
  });

  test('u32le is unsigned', () => {
    assert.equal(u32le(fromHex('ffffffff'), 0), 0xffffffff);
    assert.equal(u32le(fromHex('00000080'), 0), 0x80000000);
  });

  test('u64leNumber refuses values of 2^53 and above; u64leNumberOrNeg returns -1', () => {
    const b = new Uint8Array(8);
    writeU64le(b, 0, 2n ** 53n - 1n);
    assert.equal(u64leNumber(b, 0), Number.MAX_SAFE_INTEGER);
    assert.equal(u64leNumberOrNeg(b, 0), Number.MAX_SAFE_INTEGER);
    writeU64le(b, 0, 2n ** 53n);
    assert.throws(() => u64leNumber(b, 0), libError('U64_NOT_SAFE'));
    assert.equal(u64leNumberOrNeg(b, 0), -1);
    writeU64le(b, 0, 0xffffffffffffffffn);
    assert.equal(u64leNumberOrNeg(b, 0), -1);
  });

  test('writes', () => {
    const b = new Uint8Array(16);
    writeU16le(b, 0, 0xbeef);
    writeU32le(b, 2, 0xdeadbeef);
    writeU64le(b, 6, 0x0102030405060708n);
    assert.equal(toHex(b), 'efbeefbeadde0807060504030201' + '0000');
    writeU64le(b, 8, 0x123456789ab);
    assert.equal(toHex(b.subarray(8)), 'ab89674523010000');
    writeU64le(b, 8, -1n); // bigints wrap to 64 bits
    assert.equal(toHex(b.subarray(8)), 'ffffffffffffffff');
  });

  test('writeU64le rejects unsafe or negative numbers', () => {
    const b = new Uint8Array(8);
    assert.throws(() => writeU64le(b, 0, -1), libError('U64_RANGE'));
    assert.throws(() => writeU64le(b, 0, 2 ** 53), libError('U64_RANGE'));
    assert.throws(() => writeU64le(b, 0, 1.5), libError('U64_RANGE'));
  });

  test('round trips (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.bigInt(0n, 2n ** 64n - 1n), fc.maxSafeNat(), (a, c, d, e) => {
      const b = new Uint8Array(30);
      writeU16le(b, 1, a);
      writeU32le(b, 3, c);
      writeU64le(b, 7, d);
      writeU64le(b, 15, e);
      assert.equal(u16le(b, 1), a);
      assert.equal(u32le(b, 3), c);
      assert.equal(u64le(b, 7), d);
      assert.equal(u64leNumber(b, 15), e);
      assert.equal(u64le(b, 15), BigInt(e));
      const dv = new DataView(b.buffer);
      assert.equal(dv.getUint16(1, true), a);
      assert.equal(dv.getUint32(3, true), c);
      assert.equal(dv.getBigUint64(7, true), d);
    }));
  });
});

describe('bigint conversions', () => {
  test('known values', () => {
    assert.equal(leBytesToBigInt(fromHex('0100')), 1n);
    assert.equal(leBytesToBigInt(fromHex('00010203')), 0x03020100n);
    assert.equal(beBytesToBigInt(fromHex('00010203')), 0x010203n);
    assert.equal(beBytesToBigInt(new Uint8Array(0)), 0n);
    assert.equal(leBytesToBigInt(new Uint8Array(0)), 0n);
    assert.equal(toHex(bigIntToBeBytes(0x0102n, 4)), '00000102');
    assert.equal(toHex(bigIntToLeBytes(0x0102n, 4)), '02010000');
    assert.equal(toHex(bigIntToLeBytes(0n, 2)), '0000');
  });

  test('too large or negative', () => {
    assert.throws(() => bigIntToBeBytes(0x10000n, 2), libError('BIGINT_TOO_LARGE'));
    assert.throws(() => bigIntToLeBytes(0x10000n, 2), libError('BIGINT_TOO_LARGE'));
    assert.throws(() => bigIntToBeBytes(-1n, 8), libError('BIGINT_NEGATIVE'));
    assert.equal(toHex(bigIntToBeBytes(0xffffn, 2)), 'ffff');
  });

  test('round trips and byte order (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 400 }), (b) => {
      const le = leBytesToBigInt(b);
      assert.equal(le, beBytesToBigInt(reversed(b)));
      assert.deepEqual(bigIntToLeBytes(le, b.length), b);
      assert.deepEqual(bigIntToBeBytes(beBytesToBigInt(b), b.length), b);
      assert.equal(beBytesToBigInt(b), b.length ? BigInt('0x' + Buffer.from(b).toString('hex')) : 0n);
    }));
  });
});

describe('modPow', () => {
  test('known values', () => {
    assert.equal(modPow(4n, 13n, 497n), 445n);
    assert.equal(modPow(2n, 10n, 1000n), 24n);
    assert.equal(modPow(5n, 0n, 7n), 1n);
    assert.equal(modPow(123n, 456n, 1n), 0n);
    assert.equal(modPow(10n, 3n, 7n), 6n);
    // Fermat: a^(p-1) = 1 mod p for the Mersenne prime 2^127 - 1
    const p = 2n ** 127n - 1n;
    assert.equal(modPow(3n, p - 1n, p), 1n);
    assert.equal(modPow(3n, p, p), 3n);
  });

  test('agrees with repeated multiplication (property)', () => {
    fc.assert(fc.property(fc.bigInt(0n, 2n ** 80n), fc.integer({ min: 0, max: 40 }), fc.bigInt(2n, 2n ** 70n), (b, e, m) => {
      let r = 1n;
      for (let i = 0; i < e; i++) r = (r * b) % m;
      assert.equal(modPow(b, BigInt(e), m), r % m);
    }));
  });
});

describe('other helpers', () => {
  test('concat, equality, isZero, copies', () => {
    assert.equal(toHex(concatBytes(fromHex('01'), new Uint8Array(0), fromHex('0203'))), '010203');
    assert.equal(bytesEqual(fromHex('0102'), fromHex('0102')), true);
    assert.equal(bytesEqual(fromHex('0102'), fromHex('0103')), false);
    assert.equal(bytesEqual(fromHex('0102'), fromHex('010200')), false);
    assert.equal(timingSafeEqual(fromHex('aabb'), fromHex('aabb')), true);
    assert.equal(timingSafeEqual(fromHex('aabb'), fromHex('aabc')), false);
    assert.equal(timingSafeEqual(fromHex('aa'), fromHex('aabb')), false);
    const z = new Uint8Array(4096);
    assert.equal(isZero(z), true);
    z[4095] = 1;
    assert.equal(isZero(z), false);
    assert.equal(isZero(z, 0, 4095), true);
    assert.equal(isZero(z, 4095, 4096), false);
    const src = fromHex('00112233');
    const c = copyBytes(src, 1, 2);
    assert.equal(toHex(c), '1122');
    c[0] = 0;
    assert.equal(src[1], 0x11, 'copyBytes returns a copy, not a view');
    const r = reversed(src);
    assert.equal(toHex(r), '33221100');
    assert.equal(toHex(src), '00112233');
  });

  test('copyDisjoint copies exactly the range, at any size and offset, between views of one buffer too (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.nat(40), fc.nat(40), fc.nat(200), (src, so, dOff, n0) => {
      const n = Math.min(n0, Math.max(0, src.length - so));
      if (so > src.length) return;
      const dst = new Uint8Array(dOff + n + 7).fill(0xee);
      const before = dst.slice();
      copyDisjoint(dst, dOff, src, so, n);
      assert.deepEqual(dst.subarray(dOff, dOff + n), src.subarray(so, so + n));
      assert.deepEqual(dst.subarray(0, dOff), before.subarray(0, dOff), 'nothing before the range changes');
      assert.deepEqual(dst.subarray(dOff + n), before.subarray(dOff + n), 'nothing after the range changes');
      // Disjoint parts of one buffer, through two views.
      const shared = new Uint8Array(600);
      shared.set(src, 0);
      const a = shared.subarray(0, 300), b = shared.subarray(301);
      copyDisjoint(b, dOff, a, so, n);
      assert.deepEqual(b.subarray(dOff, dOff + n), src.subarray(so, so + n));
      assert.deepEqual(a.subarray(0, src.length), src, 'the source is unchanged');
    }));
  });

  test('copyDisjoint: every small part of a buffer (9..65 bytes, the byte-wise path and either side of it) copies exactly', () => {
    const src = Uint8Array.from({ length: 80 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let n = 9; n <= 65; n++) {
      for (let so = 0; so <= 80 - n && so <= 3; so++) {
        const dst = new Uint8Array(n + 6).fill(0xee);
        copyDisjoint(dst, 3, src, so, n);
        assert.deepEqual(dst.subarray(3, 3 + n), src.subarray(so, so + n), `n ${n} from ${so}`);
        assert.deepEqual([...dst.subarray(0, 3), ...dst.subarray(3 + n)], [0xee, 0xee, 0xee, 0xee, 0xee, 0xee], `n ${n} from ${so}: nothing around it`);
      }
    }
  });

  test('copyDisjoint refuses ranges outside either array with a RangeError and copies nothing', () => {
    const src = fromHex('0102030405060708090a0b0c0d0e0f10');
    for (const [dOff, sOff, n, dLen] of [[0, 0, 17, 32], [0, 1, 16, 32], [17, 0, 16, 32], [-1, 0, 4, 32], [0, -1, 4, 32], [0, 0, -1, 32], [0, 0, 9, 8], [0, 0, 4, 3], [0.5, 0, 4, 32], [0, 0.5, 4, 32], [0, 0, 2.5, 32], [0, 0, 12.5, 32], [NaN, 0, 4, 32]] as const) {
      const dst = new Uint8Array(dLen);
      assert.throws(() => copyDisjoint(dst, dOff, src, sOff, n), RangeError, `dst ${dOff} src ${sOff} n ${n} into ${dLen}`);
      assert.equal(isZero(dst), true, 'nothing copied');
    }
    // A detached destination has no bytes: refused, not written past.
    const mem = new WebAssembly.Memory({ initial: 1 });
    const view = new Uint8Array(mem.buffer);
    mem.grow(0);
    assert.throws(() => copyDisjoint(view, 0, src, 0, 4), RangeError);
    assert.throws(() => copyDisjoint(view, 0, src, 0, 16), RangeError);
  });

  test('isZero agrees with a plain scan at every alignment (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(63), fc.nat(63), (b0, x, y) => {
      const b = b0.map((v) => (v < 200 ? 0 : v));
      const s = Math.min(x, b.length), e = Math.min(Math.max(s, y), b.length);
      // also on an unaligned view
      const big = new Uint8Array(b.length + 1);
      big.set(b, 1);
      const view = big.subarray(1);
      const expect = b.subarray(s, e).every((v) => v === 0);
      assert.equal(isZero(b, s, e), expect);
      assert.equal(isZero(view, s, e), expect);
    }));
  });

  test('equality helpers agree with Buffer.equals (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
      const expect = Buffer.from(a).equals(Buffer.from(b));
      assert.equal(bytesEqual(a, b), expect);
      assert.equal(timingSafeEqual(a, b), expect);
      assert.equal(bytesEqual(a, a.slice()), true);
    }));
  });
});

describe('LentBuffer', () => {
  test('lends one buffer, zero, for each call in turn, and zeroes it when the call returns or throws', () => {
    const lb = new LentBuffer(100);
    const lent: Uint8Array[] = [];
    const r = lb.with((b) => {
      assert.equal(b.length, 100);
      assert.ok(b.every((v) => v === 0), 'zero when lent');
      b.fill(0xa5);
      lent.push(b);
      return 7;
    });
    assert.equal(r, 7, 'what the call returns');
    assert.ok(lent[0]!.every((v) => v === 0), 'zeroed when given back');
    assert.throws(() => lb.with((b) => {
      lent.push(b);
      b.fill(1);
      throw new Error('boom');
    }), /boom/);
    assert.equal(lent[1], lent[0], 'the same buffer, lent again');
    assert.ok(lent[1]!.every((v) => v === 0), 'zeroed when the call throws');
    lb.with((b) => {
      assert.equal(b, lent[0], 'and lent again after a throw (not left marked as lent)');
      assert.ok(b.every((v) => v === 0));
    });
  });

  test('a call made while the buffer is lent gets a zero buffer of its own, zeroed too; the outer call\'s bytes are untouched', () => {
    const lb = new LentBuffer(80);
    const seen: Uint8Array[] = [];
    lb.with((outer) => {
      outer.fill(3);
      seen.push(outer);
      lb.with((inner) => {
        assert.notEqual(inner, outer);
        assert.notEqual(inner.buffer, outer.buffer);
        assert.ok(inner.every((v) => v === 0), 'zero when lent');
        inner.fill(9);
        seen.push(inner);
        assert.throws(() => lb.with((third) => {
          assert.ok(third !== inner && third !== outer);
          third.fill(4);
          seen.push(third);
          throw new Error('inner');
        }), /inner/);
      });
      lb.with((after) => {
        assert.ok(after !== outer && after !== seen[1], 'a call after the nested one, still inside the outer: a buffer of its own again');
        assert.ok(after.every((v) => v === 0));
        after.fill(5);
        seen.push(after);
      });
      assert.ok(outer.every((v) => v === 3), 'the outer call\'s bytes as it left them');
    });
    assert.ok(seen.every((b) => b.every((v) => v === 0)), 'every buffer zeroed when its call ended');
    lb.with((b) => assert.equal(b, seen[0], 'the shared buffer is free again once the outer call ends'));
  });
});

describe('base64 (RFC 4648 §4), without Buffer', () => {
  test('known answers (RFC 4648 §10) and round trips against Buffer', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, b64] of vectors) {
      assert.equal(toBase64(new TextEncoder().encode(plain)), b64);
      assert.equal(new TextDecoder().decode(fromBase64(b64)), plain);
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const text = toBase64(b);
      assert.equal(text, Buffer.from(b).toString('base64'));
      assert.deepEqual(fromBase64(text), b);
    }));
  });

  test('refuses what is not canonical base64: length, alphabet, padding inside, bits past the last byte', () => {
    for (const bad of ['Zg=', 'Zg', 'Zm9v Yg==', 'Zm9-', 'Zm9_', 'Z===', '=Zg=', 'Zg==Zm9v', 'Zh==', 'Zm9=', 'Zm8=Zm8=', 'Zm\u00e9v']) {
      assert.throws(() => fromBase64(bad), (e: unknown) => e instanceof LibError && e.code === 'BASE64_INVALID', bad);
    }
  });

  test("padBits 'ignore': bits past the last byte dropped as Buffer drops them; everything else still refused", () => {
    for (const [text, bytes] of [['Zh==', 'f'], ['Zm9=', 'fo'], ['Zm8=', 'fo'], ['AB==', '\0']] as const) {
      assert.deepEqual(fromBase64(text, 'ignore'), new TextEncoder().encode(bytes), text);
      assert.deepEqual(fromBase64(text, 'ignore'), new Uint8Array(Buffer.from(text, 'base64')), text);
    }
    for (const bad of ['Zg=', 'Zm9-', 'Z===', 'Zg==Zm9v']) assert.throws(() => fromBase64(bad, 'ignore'), (e: unknown) => e instanceof LibError && e.code === 'BASE64_INVALID', bad);
  });
});
