/**
 * redirectMemoryGrow (src/sdk/wasm.ts): a module's memory.grow handed to the trusted runtime
 * through an appended table, so that a heap that grows grows with enclave pages. Modules assembled
 * byte by byte (test/helpers/wasm.ts): every index the module uses keeps its meaning, a start
 * function runs only when the runtime calls it, custom sections stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readWasmModule, redirectMemoryGrow, wasmSections, MEMORY_GROW_EXPORT, START_EXPORT } from '../../src/sdk/wasm.js';
import { checkModuleInfo } from '../../src/sdk/enclave/imports.js';
import { planInterface } from '../../src/sdk/interface.js';
import { wasmModule, section, vec, functype, body, name, leb, I32, FUNCREF } from '../helpers/wasm.js';

const GROW = [0x40, 0x00];

/**
 * grow(n) = memory.grow n; growToo(n) the same in another function; viaTable() =
 * grow(0) through the module's own table; started() = what the start function's memory.grow(1)
 * answered (−2 before it ran); a custom section "keep" at the end.
 */
function sample(withStart = true): Uint8Array {
  return wasmModule([
    section(1, vec([functype([I32], [I32]), functype([], []), functype([], [I32])])),
    section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x01, ...leb(1), ...leb(4)]])),
    section(3, vec([[0], [0], [1], [2], [2]])),
    section(4, vec([[FUNCREF, 0x01, 0x01, 0x01]])),
    section(6, vec([[I32, 0x01, 0x41, ...leb(0x7e), 0x0b]])), // (mut i32) = -2
    section(7, vec([[...name('grow'), 0x00, 0], [...name('growToo'), 0x00, 1], [...name('viaTable'), 0x00, 3], [...name('started'), 0x00, 4]])),
    ...(withStart ? [section(8, leb(2))] : []),
    section(9, vec([[0x00, 0x41, 0x00, 0x0b, ...vec([[0]])]])),
    section(10, vec([
      body([], [0x20, 0x00, ...GROW]),
      body([], [0x20, 0x00, ...GROW]),
      body([], [0x41, 0x01, ...GROW, 0x24, 0x00]),
      body([], [0x41, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00]),
      body([], [0x23, 0x00]),
    ])),
    section(0, [...name('keep'), 1, 2, 3]),
  ]);
}

function instantiate(bytes: Uint8Array, hook: (n: number) => number): WebAssembly.Exports {
  const wrapper = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 2, 7, 1, 1, 0x77, 1, 0x67, 0, 0, 7, 5, 1, 1, 0x67, 0, 0])), { w: { g: hook } });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 4 }) } });
  (inst.exports[MEMORY_GROW_EXPORT] as WebAssembly.Table).set(0, wrapper.exports.g!);
  return inst.exports;
}

test('every memory.grow (in several functions, in a start function too) calls the runtime with its operand and answers what the runtime answers; the module\'s own calls, table and globals keep their meaning', () => {
  const original = sample();
  assert.ok(WebAssembly.validate(original));
  const info = readWasmModule(original);
  assert.equal(info.memoryGrows.length, 3);
  const r = redirectMemoryGrow(original, info)!;
  assert.ok(WebAssembly.validate(r.bytes));
  assert.equal(r.start, true);
  assert.ok(!wasmSections(r.bytes).some((s) => s.id === 8), 'the start section is gone');
  assert.equal(readWasmModule(r.bytes).memoryGrows.length, 0, 'no memory.grow is left');
  const calls: number[] = [];
  const x = instantiate(r.bytes, (n) => (calls.push(n), 100 + n));
  assert.equal((x.started as () => number)(), -2, 'the start function has not run at instantiation');
  (x[START_EXPORT] as () => void)();
  assert.equal((x.started as () => number)(), 101);
  assert.equal((x.grow as (n: number) => number)(5), 105);
  assert.equal((x.growToo as (n: number) => number)(7), 107);
  assert.equal((x.grow as (n: number) => number)(-1), 99, 'the operand as Wasm passes it (the runtime reads it unsigned)');
  assert.equal((x.viaTable as () => number)(), 100, 'the module\'s own table and call_indirect are untouched');
  assert.deepEqual(calls, [1, 5, 7, -1, 0]);
  const custom = readWasmModule(r.bytes).customSections.map((c) => [c.name, [...r.bytes.subarray(c.offset, c.offset + c.length)]]);
  assert.deepEqual(custom, [['keep', [1, 2, 3]]]);
});

test('a module without a start function, table, export or (before) global section gets what it lacks where the binary order puts it; one without memory.grow is left alone (null)', () => {
  const noStart = sample(false);
  const r = redirectMemoryGrow(noStart, readWasmModule(noStart))!;
  assert.equal(r.start, false);
  assert.equal((instantiate(r.bytes, (n) => n + 1).grow as (n: number) => number)(3), 4);
  const bare = wasmModule([
    section(1, vec([functype([I32], [I32])])),
    section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...leb(1)]])),
    section(3, vec([[0]])),
    section(10, vec([body([], [0x20, 0x00, ...GROW])])),
  ]);
  assert.ok(WebAssembly.validate(bare));
  const b = redirectMemoryGrow(bare, readWasmModule(bare))!;
  assert.ok(WebAssembly.validate(b.bytes));
  assert.deepEqual(wasmSections(b.bytes).map((s) => s.id), [1, 2, 3, 4, 7, 10]);
  const none = wasmModule([section(1, vec([functype([], [I32])])), section(3, vec([[0]])), section(10, vec([body([], [0x3f, 0x00])]))]);
  assert.equal(redirectMemoryGrow(none, readWasmModule(none)), null, 'memory.size is not memory.grow');
});

test('a module that exports a name the runtime reserves is refused', () => {
  const m = wasmModule([
    section(1, vec([functype([], [])])),
    section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...leb(1)]])),
    section(3, vec([[0]])),
    section(7, vec([[...name(MEMORY_GROW_EXPORT), 0x00, 0], [...name(START_EXPORT), 0x00, 0]])),
    section(10, vec([body([], [])])),
  ]);
  const problems = checkModuleInfo(readWasmModule(m), planInterface({ trusted: [], untrusted: [], structs: [], enums: [], unions: [] }), 65536);
  assert.deepEqual(problems.filter((p) => /reserves/.test(p)).length, 2);
});
