/**
 * The trusted runtime's use of the enclave heap for marshalled buffers (test/fixtures/heap): one
 * block for all of an ECALL's buffers, one block each when the heap has no hole that large, and
 * nothing left behind by a call the host made impossible.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { newPlatform, loadFixture, untrusted, ecallPlan, writeMs, rawEnter, assertStatus, isSdkError, STATUS, fixtureInterface, signFixture } from '../helpers/sdk.js';
import { buildImage, loadEnclave, type HostEnclave } from '../../src/sdk/index.js';
import { leb, sleb, name, vec, section, body, functype, wasmModule, I32 } from '../helpers/wasm.js';

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

describe('an enclave allocator assembled by hand (test/fixtures/badalloc)', () => {
  // Globals: 0 frees, 1 last freed, 2 body runs, 3 answer, 4 limit, 5 step.
  const i32c = (v: number): number[] => [0x41, ...sleb(v)];
  const module = wasmModule([
    section(1, vec([functype([I32], [I32]), functype([I32], []), functype([], [I32]), functype([I32, I32], [I32]), functype([I32, I32, I32], [I32]), functype([I32, I32, I32, I32], [I32])])),
    section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...leb(1)]])),
    section(3, vec([[0], [1], [4], [3], [5], [2], [2], [2]])),
    section(6, vec([0, 0, 0, 0, -1, 0].map((v) => [I32, 0x01, ...i32c(v), 0x0b]))),
    section(7, vec([
      [...name('witness_alloc'), 0x00, 0], [...name('witness_free'), 0x00, 1], [...name('ecall_set'), 0x00, 2], [...name('ecall_in'), 0x00, 3],
      [...name('ecall_in2'), 0x00, 4], [...name('ecall_frees'), 0x00, 5], [...name('ecall_last_freed'), 0x00, 6], [...name('ecall_ran'), 0x00, 7],
    ])),
    section(10, vec([
      // witness_alloc(n): n > limit ? 0 : answer (then answer += step)
      body([], [0x20, 0, 0x23, 4, 0x4b, 0x04, I32, ...i32c(0), 0x05, 0x23, 3, 0x23, 3, 0x23, 5, 0x6a, 0x24, 3, 0x0b]),
      body([], [0x23, 0, ...i32c(1), 0x6a, 0x24, 0, 0x20, 0, 0x24, 1]), // witness_free: count, keep
      body([], [0x20, 0, 0x24, 3, 0x20, 1, 0x24, 4, 0x20, 2, 0x24, 5, ...i32c(0)]), // ecall_set
      body([], [0x23, 2, ...i32c(1), 0x6a, 0x24, 2, 0x20, 0, 0x2d, 0x00, 0x00]), // ecall_in: buf[0]
      body([], [0x23, 2, ...i32c(1), 0x6a, 0x24, 2, 0x20, 0, 0x2d, 0x00, 0x00, 0x20, 2, 0x2d, 0x00, 0x00, 0x6a]), // ecall_in2: a[0] + b[0]
      body([], [0x23, 0]),
      body([], [0x23, 1]),
      body([], [0x23, 2]),
    ])),
  ]);
  const load = (): { e: HostEnclave; heapSize: number } => {
    assert.ok(WebAssembly.validate(module));
    const b = buildImage({ module, interface: fixtureInterface('badalloc') });
    return { e: loadEnclave(newPlatform(), b.image, { sigstruct: signFixture(b) }), heapSize: b.layout.heap.size };
  };
  const num = (e: HostEnclave, f: string): number => (e.ecall(f, []) as number) >>> 0;

  test('an answer past the heap is given back (not leaked) and not used: OUT_OF_MEMORY, the body never runs; one ending at the heap\'s end is used', () => {
    const { e, heapSize } = load();
    const buf = filled(16, 9);
    for (const answer of [0xfffffff0, heapSize - 15, heapSize]) {
      e.ecall('ecall_set', [answer, 0xffffffff, 0]);
      const before = num(e, 'ecall_frees');
      assertStatus(() => e.ecall('ecall_in', [buf, 16]), STATUS.OUT_OF_MEMORY, `answer 0x${answer.toString(16)}`);
      // The shared block's answer, then the buffer's own: each outside, each given back.
      assert.equal(num(e, 'ecall_frees') - before, 2, `answer 0x${answer.toString(16)}: both answers given back`);
      assert.equal(num(e, 'ecall_last_freed'), answer);
    }
    assert.equal(num(e, 'ecall_ran'), 0, 'the body never ran');
    e.ecall('ecall_set', [heapSize - 16, 0xffffffff, 0]);
    const before = num(e, 'ecall_frees');
    assert.equal(e.ecall('ecall_in', [buf, 16]), 9);
    assert.equal(num(e, 'ecall_frees') - before, 1, 'used, and freed after the call');
    assert.equal(num(e, 'ecall_last_freed'), heapSize - 16);
    assert.equal(num(e, 'ecall_ran'), 1);
  });

  test('buffers allocated one by one, the second refused: only the first is freed (not a block of an earlier call)', () => {
    const { e } = load();
    // Blocks of at most 48 bytes, from 0x1000 up by 0x100: two 32-byte buffers (64 together) get one each.
    e.ecall('ecall_set', [0x1000, 48, 0x100]);
    assert.equal(e.ecall('ecall_in2', [filled(32, 1), 32, filled(32, 2), 32]), 3);
    assert.equal(num(e, 'ecall_frees'), 2);
    // The first buffer gets 0x1200, the second (64 bytes) nothing: OUT_OF_MEMORY, 0x1200 alone freed.
    assertStatus(() => e.ecall('ecall_in2', [filled(32, 1), 32, filled(64, 2), 64]), STATUS.OUT_OF_MEMORY);
    assert.equal(num(e, 'ecall_frees'), 3, 'one block freed (the earlier call\'s 0x1100 is not freed again)');
    assert.equal(num(e, 'ecall_last_freed'), 0x1200);
  });
});
