import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PageMap, LibError } from '../../src/lib/index.js';

describe('PageMap (512-entry tables)', () => {
  test('behaves as a Map of page numbers to values (property, against a Map)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('set', 'delete'), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 2 ** 40 })), { maxLength: 300 }), (ops) => {
      const m = new PageMap(), ref = new Map<number, number>();
      for (const [op, pn, v] of ops) {
        if (op === 'set') {
          m.set(pn, v);
          ref.set(pn, v);
        } else assert.equal(m.delete(pn), ref.delete(pn));
        assert.equal(m.size, ref.size);
      }
      for (let pn = 0; pn <= 5000; pn += 7) assert.equal(m.get(pn), ref.get(pn) ?? -1);
      assert.deepEqual([...m.entries()], [...ref.entries()].sort((a, b) => a[0] - b[0]));
    }), { numRuns: 60 });
  });

  test('page numbers far apart (47-bit addresses), deletion while iterating, value 0', () => {
    const m = new PageMap();
    const far = 2 ** 35 - 1;
    m.set(far, 0);
    m.set(1, 7);
    assert.equal(m.get(far), 0);
    for (const [pn] of m.entries()) m.delete(pn);
    assert.equal(m.size, 0);
    assert.equal(m.get(1), -1);
  });

  test('keys that are not page numbers find nothing; bad keys or values are refused on set', () => {
    const m = new PageMap();
    m.set(1, 5);
    assert.equal(m.get(1.5), -1);
    assert.equal(m.get(-1), -1);
    assert.equal(m.delete(1.5), false);
    assert.equal(m.get(1), 5);
    const bad = (code: string) => (e: unknown) => e instanceof LibError && e.code === code;
    assert.throws(() => m.set(1.5, 1), bad('PAGEMAP_KEY'));
    assert.throws(() => m.set(-1, 1), bad('PAGEMAP_KEY'));
    assert.throws(() => m.set(2, -1), bad('PAGEMAP_VALUE'));
    assert.throws(() => m.set(2, Number.MAX_SAFE_INTEGER), bad('PAGEMAP_VALUE'));
    assert.equal(m.size, 1);
  });
});
