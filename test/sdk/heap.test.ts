/**
 * The trusted runtime's use of the enclave heap for marshalled buffers (test/fixtures/heap): one
 * block for all of an ECALL's buffers, one block each when the heap has no hole that large, and
 * nothing left behind by a call the host made impossible.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { newPlatform, loadFixture, untrusted, ecallPlan, writeMs, rawEnter, assertStatus, isSdkError, STATUS } from '../helpers/sdk.js';

const filled = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('marshalled buffers on the enclave heap', () => {
  test('a fragmented heap: two buffers that fit its holes one by one, not together, still arrive', () => {
    const e = loadFixture(newPlatform(), 'heap', { ocalls: { ocall_nop: () => 0 } });
    assert.ok((e.ecall('ecall_fragment', [32768]) as number) > 4);
    assert.equal(e.ecall('ecall_probe', [30000]), 1, 'a 30,000-byte hole exists');
    assert.equal(e.ecall('ecall_probe', [61000]), 0, 'no 61,000-byte one does');
    assert.equal(e.ecall('ecall_two', [filled(30000, 3), 30000, filled(30000, 4), 30000]), 7);
    // And both holes are free again afterwards.
    assert.equal(e.ecall('ecall_two', [filled(30000, 5), 30000, filled(30000, 6), 30000]), 11);
  });

  test('buffers that are too large together (over 4 GiB: beyond the allocator\'s 32-bit size) fail with OUT_OF_MEMORY and leak nothing', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'heap', { ocalls: { ocall_nop: () => 0 } });
    const ms = untrusted(p, 4096), scratch = untrusted(p, 65536);
    const G = 2 ** 30;
    // Host addresses above the enclave (never read: the sizes fail first).
    const hi = Math.ceil((e.base + e.size) / G) * G + G;
    const f = ecallPlan(e, 'ecall_five');
    for (const last of [65536, 0]) {
      for (let k = 0; k < 20; k++) {
        writeMs(p, ms, [hi, G, hi + G, G, hi + 2 * G, G, hi + 3 * G, G, last === 0 ? 0 : hi + 4 * G, last]);
        const { regs } = rawEnter(p, e, { index: f.index, ms, scratch, scratchSize: 65536 });
        assert.equal(regs.rax, STATUS.OUT_OF_MEMORY);
      }
    }
    assert.equal(e.ecall('ecall_probe', [200000]), 1, 'the heap is as it was');
    assert.equal(e.ecall('ecall_two', [filled(100000, 1), 100000, filled(100000, 2), 100000]), 3);
  });

  test('one buffer larger than the heap: OUT_OF_MEMORY', () => {
    const e = loadFixture(newPlatform(), 'heap', { config: { heapSize: 1 << 20 }, arenaSize: 4 << 20, ocalls: { ocall_nop: () => 0 } });
    assertStatus(() => e.ecall('ecall_two', [filled(2 << 20, 1), 2 << 20, null, 0]), STATUS.OUT_OF_MEMORY);
    assert.equal(e.ecall('ecall_two', [filled(16, 1), 16, filled(16, 2), 16]), 3);
  });
});

describe('the host runtime\'s lookups', () => {
  test('an empty ECALL name is UNKNOWN_ECALL, also as the very first call', () => {
    const e = loadFixture(newPlatform(), 'heap', { ocalls: { ocall_nop: () => 0 } });
    assert.throws(() => e.ecall(''), isSdkError('UNKNOWN_ECALL'));
    assert.equal(e.ecall('ecall_ping'), 0);
    assert.throws(() => e.ecall(''), isSdkError('UNKNOWN_ECALL'));
  });

  test('ECALLs by name: runs of one name, alternating names, and unknown names in between each reach their own function', () => {
    const e = loadFixture(newPlatform(), 'heap', { config: { heapSize: 1 << 20 }, arenaSize: 1 << 20, ocalls: { ocall_nop: () => 0 } });
    for (let i = 0; i < 3; i++) assert.equal(e.ecall('ecall_ping'), 0);
    assert.equal(e.ecall('ecall_two', [filled(16, 1), 16, filled(16, 2), 16]), 3);
    assert.throws(() => e.ecall('ecall_pong'), isSdkError('UNKNOWN_ECALL'));
    assert.throws(() => e.ecall('toString'), isSdkError('UNKNOWN_ECALL'));
    assert.equal(e.ecall('ecall_two', [filled(16, 1), 16, filled(16, 2), 16]), 3);
    assert.equal(e.ecall('ecall_ping'), 0);
    assert.throws(() => e.ecall('ecall_ping', [1]), isSdkError('BAD_ARGUMENTS'));
  });

  test('OCALL implementations are looked up once at load: inherited ones count, Object.prototype\'s and later additions do not', () => {
    const p = newPlatform();
    const inherited = loadFixture(p, 'heap', { ocalls: Object.create({ ocall_nop: () => 7 }) as Record<string, () => number> });
    assert.equal(inherited.ecall('ecall_ping'), 7);
    const later: Record<string, () => number> = {};
    const e = loadFixture(p, 'heap', { ocalls: later });
    later.ocall_nop = () => 5;
    assert.throws(() => e.ecall('ecall_ping'), isSdkError('OCALL_MISSING'));
  });
});
