import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  defineLayout, u8, u16, u32, u64, bytes, reserved, ignored, struct, describe as describeLayout, LayoutError, LibError, toHex,
  type AnyLayout,
} from '../../src/lib/index.js';
import { STRUCTURES, SIGSTRUCT, TCS, PCMD, SECINFO, GPRSGX, SECS, KEYREQUEST } from '../../src/arch/index.js';

function layoutError(code: string, field?: string): (e: unknown) => boolean {
  return (e) => {
    if (!(e instanceof LayoutError) || !(e instanceof LibError)) return false;
    assert.equal(e.code, code);
    if (field !== undefined) assert.equal(e.data.field, field);
    return true;
  };
}

describe('defineLayout declaration errors (LAYOUT_DECLARATION)', () => {
  test('a well-formed declaration is accepted', () => {
    const L = defineLayout('OK', 16, [u32('a', 0), u16('b', 4), u8('c', 6), reserved(7, 1), u64('d', 8)] as const);
    assert.equal(L.size, 16);
    assert.equal(L.fields.length, 5);
  });
  test('gap between fields', () => {
    assert.throws(() => defineLayout('GAP', 12, [u32('a', 0), u64('b', 8)] as const), layoutError('LAYOUT_DECLARATION', 'b'));
  });
  test('overlapping fields', () => {
    assert.throws(() => defineLayout('OVERLAP', 8, [u32('a', 0), u32('b', 2), u16('c', 6)] as const), layoutError('LAYOUT_DECLARATION', 'b'));
  });
  test('fields out of order', () => {
    assert.throws(() => defineLayout('ORDER', 8, [u32('b', 4), u32('a', 0)] as const), layoutError('LAYOUT_DECLARATION'));
  });
  test('total does not match the architectural size', () => {
    assert.throws(() => defineLayout('SHORT', 16, [u64('a', 0)] as const), layoutError('LAYOUT_DECLARATION'));
    assert.throws(() => defineLayout('LONG', 4, [u64('a', 0)] as const), layoutError('LAYOUT_DECLARATION'));
  });
  test('zero-size field and duplicate names', () => {
    assert.throws(() => defineLayout('ZERO', 4, [bytes('z', 0, 0), u32('a', 0)] as const), layoutError('LAYOUT_DECLARATION'));
    assert.throws(() => defineLayout('DUP', 8, [u32('a', 0), u32('a', 4)] as const), layoutError('LAYOUT_DECLARATION'));
  });
});

describe('strict decoding', () => {
  test('wrong length is LAYOUT_LENGTH with the sizes', () => {
    for (const n of [0, 1807, 1809]) {
      assert.throws(() => SIGSTRUCT.decode(new Uint8Array(n)), (e: unknown) => {
        assert.ok(e instanceof LayoutError);
        assert.equal(e.code, 'LAYOUT_LENGTH');
        assert.equal(e.data.expected, 1808);
        assert.equal(e.data.actual, n);
        return true;
      });
    }
    assert.throws(() => SECS.encodeInto(new Uint8Array(4096), 1, {}), layoutError('LAYOUT_LENGTH'));
  });

  const cases: [AnyLayout, number, string][] = [
    [SIGSTRUCT, 44, 'SIGSTRUCT.reserved@44'],
    [SIGSTRUCT, 127, 'SIGSTRUCT.reserved@44'],
    [SIGSTRUCT, 911, 'SIGSTRUCT.reserved@910'],
    [SIGSTRUCT, 1000, 'SIGSTRUCT.reserved@992'],
    [SIGSTRUCT, 1039, 'SIGSTRUCT.reserved@1028'],
    [TCS, 72, 'TCS.reserved@72'],
    [TCS, 4095, 'TCS.reserved@72'],
    [SECS, 33, 'SECS.reserved@33'],
    [SECS, 4000, 'SECS.reserved@262'],
    [PCMD, 8, 'PCMD.SECINFO.reserved@8'],
    [PCMD, 111, 'PCMD.reserved@72'],
    [KEYREQUEST, 6, 'KEYREQUEST.reserved@6'],
    [KEYREQUEST, 511, 'KEYREQUEST.reserved@78'],
  ];
  for (const [L, at, path] of cases) {
    test(`non-zero byte ${at} of ${L.name} is LAYOUT_RESERVED_NONZERO at ${path}`, () => {
      const b = new Uint8Array(L.size);
      b[at] = 0x40;
      assert.throws(() => L.decode(b), layoutError('LAYOUT_RESERVED_NONZERO', path));
      assert.equal(L.firstNonZeroReserved(b), path);
      assert.doesNotThrow(() => L.decode(b, { allowReserved: true }));
      b[at] = 0;
      assert.equal(L.firstNonZeroReserved(b), null);
      assert.doesNotThrow(() => L.decode(b));
    });
  }

  test('firstNonZeroReserved at an offset inside a larger buffer', () => {
    const big = new Uint8Array(100 + SECINFO.size);
    big[100 + 9] = 1;
    assert.equal(SECINFO.firstNonZeroReserved(big, 100), 'SECINFO.reserved@8');
    assert.equal(SECINFO.firstNonZeroReserved(big, 0), null);
  });

  test('"ignored" reserved bytes are not checked (GPRSGX 164..166, and a declared one)', () => {
    const X = defineLayout('IGN', 8, [u32('a', 0), ignored(4, 4)] as const);
    assert.equal(X.decode(Uint8Array.from([1, 0, 0, 0, 9, 9, 9, 9])).a, 1);
    const b = new Uint8Array(GPRSGX.size);
    b[164] = 0xff;
    b[166] = 0x01;
    assert.doesNotThrow(() => GPRSGX.decode(b));
    assert.equal(GPRSGX.firstNonZeroReserved(b), null);
  });
});

describe('encoding', () => {
  const L = defineLayout('ENC', 40, [u8('a', 0), u16('b', 1), reserved(3, 1), u32('c', 4), u64('d', 8), bytes('e', 16, 8), struct('f', 24, defineLayout('INNER', 16, [u64('x', 0), u64('y', 8)] as const))] as const);

  test('values are written little-endian at their offsets; absent fields are zero', () => {
    const b = L.encode({ a: 0x12, b: 0x3456, c: 0x789abcde, d: 0x0102030405060708n, e: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), f: { x: 1n, y: 0xffffffffffffffffn } });
    assert.equal(toHex(b), '12563400debc9a78' + '0807060504030201' + '0102030405060708' + '0100000000000000' + 'ffffffffffffffff');
    assert.equal(toHex(L.encode({ c: 1 })), '0000000001000000' + '00'.repeat(32));
  });

  test('u64 accepts safe numbers', () => {
    assert.equal(L.decode(L.encode({ d: 2 ** 40 } as never)).d, 2n ** 40n);
  });

  test('encodeInto writes only the given fields', () => {
    const t = new Uint8Array(48).fill(0xee);
    L.encodeInto(t, 8, { c: 0 });
    assert.equal(toHex(t.subarray(8, 16)), 'eeeeeeee00000000');
    assert.equal(t[7], 0xee);
    assert.equal(t[16], 0xee);
  });

  const bad: [string, Record<string, unknown>][] = [
    ['u8 256', { a: 256 }], ['u8 -1', { a: -1 }], ['u16 0x10000', { b: 0x10000 }], ['u32 1.5', { c: 1.5 }], ['u32 string', { c: '1' }],
    ['u32 2^32', { c: 2 ** 32 }], ['u64 -1n', { d: -1n }], ['u64 2^64', { d: 2n ** 64n }], ['u64 unsafe number', { d: 2 ** 53 }],
    ['bytes too short', { e: new Uint8Array(7) }], ['bytes not bytes', { e: [1, 2, 3, 4, 5, 6, 7, 8] }], ['nested u64', { f: { x: -5n } }],
  ];
  for (const [name, v] of bad) {
    test(`rejects ${name} (LAYOUT_VALUE)`, () => {
      assert.throws(() => L.encode(v as never), layoutError('LAYOUT_VALUE'));
    });
  }

  test('field() finds offsets and refuses unknown names', () => {
    assert.equal(L.field('d').offset, 8);
    assert.equal(L.field('f').size, 16);
    assert.throws(() => L.field('nope'), layoutError('LAYOUT_NO_FIELD', 'nope'));
  });

  test('describe() prints every named field with its offset and value', () => {
    const lines = describeLayout(L, L.decode(L.encode({ a: 7, d: 0xabcn, e: new Uint8Array(8).fill(0xcd), f: { x: 3n, y: 4n } })));
    const text = lines.join('\n');
    assert.match(text, /^a\s+@\s+0 7 \(0x7\)$/m);
    assert.match(text, /^d\s+@\s+8 0xabc$/m);
    assert.match(text, /^e\s+@\s+16 cdcdcdcdcdcdcdcd$/m);
    assert.match(text, /^ {2}x\s+@\s+0 0x3$/m);
    assert.doesNotMatch(text, /reserved/);
  });
});

// ---- property tests over every architectural structure ------------------------------------------

function arbitraryValue(layout: AnyLayout): fc.Arbitrary<Record<string, unknown>> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of layout.fields) {
    switch (f.kind) {
      case 'u8': rec[f.name] = fc.integer({ min: 0, max: 0xff }); break;
      case 'u16': rec[f.name] = fc.integer({ min: 0, max: 0xffff }); break;
      case 'u32': rec[f.name] = fc.integer({ min: 0, max: 0xffffffff }); break;
      case 'u64': rec[f.name] = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }); break;
      case 'bytes': rec[f.name] = fc.uint8Array({ minLength: f.size, maxLength: f.size }); break;
      case 'struct': rec[f.name] = arbitraryValue(f.layout); break;
      case 'reserved': break;
    }
  }
  return fc.record(rec, { noNullPrototype: true });
}

/** Zero the reserved ranges of `layout` in `b` (only must-be-zero ones unless `all`). */
function zeroReserved(layout: AnyLayout, b: Uint8Array, base: number, all: boolean): void {
  for (const f of layout.fields) {
    if (f.kind === 'reserved' && (f.mustBeZero || all)) b.fill(0, base + f.offset, base + f.offset + f.size);
    else if (f.kind === 'struct') zeroReserved(f.layout, b, base + f.offset, all);
  }
}

describe('round trips for every structure in STRUCTURES', () => {
  test('STRUCTURES lists the architectural structures', () => {
    assert.deepEqual(Object.keys(STRUCTURES).sort(), ['ATTRIBUTES', 'EINITTOKEN', 'EXINFO', 'GPRSGX', 'KEYREQUEST', 'PAGEINFO', 'PCMD', 'REPORT', 'REPORTBODY', 'SECINFO', 'SECS', 'SIGSTRUCT', 'TARGETINFO', 'TCS']);
  });

  for (const [name, L] of Object.entries(STRUCTURES)) {
    test(`${name}: decode(encode(v)) = v, and reserved bytes encode as zero`, () => {
      fc.assert(fc.property(arbitraryValue(L), (v) => {
        const b = L.encode(v);
        assert.equal(b.length, L.size);
        assert.deepEqual(L.decode(b), v);
        const z = b.slice();
        zeroReserved(L, z, 0, true);
        assert.deepEqual(z, b, 'encode wrote into a reserved range');
      }), { numRuns: 60 });
    });

    test(`${name}: decode is stable on random bytes with reserved ranges zeroed`, () => {
      fc.assert(fc.property(fc.uint8Array({ minLength: L.size, maxLength: L.size }), (raw) => {
        const b = raw.slice();
        zeroReserved(L, b, 0, false);
        const v = L.decode(b);
        const again = L.encode(v);
        assert.deepEqual(L.decode(again), v);
        const expect = b.slice();
        zeroReserved(L, expect, 0, true); // "ignored" bytes are not carried by the decoded value
        assert.deepEqual(again, expect);
      }), { numRuns: 40 });
    });
  }
});
