/**
 * The scan of a module's code (readWasmModule's `unsafeCode`): every instruction is decoded to its
 * length, so an exception-handling instruction is found wherever it is, and nothing is guessed at.
 * The module of the first tests holds one instance of each immediate form V8 in Node 20 accepts
 * by default (checked with WebAssembly.validate), assembled instruction by instruction: the scan must
 * find every instruction where it was put (a wrong length would often fall back into step unseen).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readWasmModule } from '../../src/sdk/index.js';
import { instructionStarts } from '../../src/sdk/wasm.js';
import { leb, sleb, name, vec, section, body, functype, wasmModule, I32, I64, F32, F64, V128, FUNCREF, EXTERNREF } from '../helpers/wasm.js';
import { isSdkError } from '../helpers/sdk.js';
import { REPO_ROOT } from '../helpers/vectors.js';

const memarg = (align: number, offset: number): number[] => [...leb(align), ...leb(offset)];
const v128 = (b: number): number[] => [0xfd, ...leb(12), ...Array<number>(16).fill(b)];
const fc = (sub: number, ...imm: number[]): number[] => [0xfc, ...leb(sub), ...imm];
const i32 = (v: number): number[] => [0x41, ...sleb(v)];

/** A function body from its instructions (each one array of bytes; the final `end` is added), with where each instruction starts in it. */
function fnBody(locals: readonly (readonly [number, number])[], instrs: readonly number[][]): { bytes: number[]; starts: number[] } {
  const decl = vec(locals.map(([n, t]) => [...leb(n), t]));
  const code = [...instrs, [0x0b]];
  const inner = [...decl, ...code.flat()];
  const size = leb(inner.length);
  const starts: number[] = [];
  let o = size.length + decl.length;
  for (const i of code) {
    starts.push(o);
    o += i.length;
  }
  return { bytes: [...size, ...inner], starts };
}

// Types: 0 () → (), 1 () → i32, 2 (i32) → i32. Function 0 is imported; 1–7 exercise the forms; 8 is `last`.
const TYPES = section(1, vec([functype([], []), functype([], [I32]), functype([I32], [I32])]));
const IMPORTS = section(2, vec([[...name('ocall'), ...name('ocall_ping'), 0x00, 0x00], [...name('env'), ...name('memory'), 0x02, 0x00, ...leb(1)]]));
const FUNCS = section(3, vec([[2], [1], [0], [0], [1], [1], [0], [0]]));
const TABLE = section(4, vec([[FUNCREF, 0x00, ...leb(2)]]));
const TAGS = section(13, vec([[0x00, 0x00]])); // one tag of type () → ()
const GLOBALS = section(6, vec([[I32, 0x01, 0x41, 0x00, 0x0b]]));
const EXPORTS = section(7, vec([[...name('ctrl'), 0x00, 1], [...name('last'), 0x00, 8]]));
const ELEM = section(9, vec([[0x03, 0x00, ...vec([[1], [2]])]])); // declarative: functions 1 and 2 for ref.func
const DATACOUNT = section(12, leb(1));
const DATA = section(11, vec([[0x01, ...vec([[1], [2], [3]])]])); // one passive segment

const FORMS = [
  // Control: block types (value type, type index), br_table, br_if, typed select, locals and globals, calls.
  fnBody([], [
    [0x20, 0x00], [0x04, I32], i32(-1000000), [0x05], i32(300), [0x0b],
    [0x02, 0x02], [0x20, 0x00], [0x0e, ...vec([[0], [0]]), 0x00], [0x0b],
    i32(5), [0x0d, 0x00],
    [0x03, I32], i32(1), [0x0b], [0x1a],
    i32(7), i32(1), [0x1c, ...vec([[I32]])],
    [0x22, 0x00], [0x24, 0x00], [0x23, 0x00],
    [0x10, 0x00],
    i32(0), [0x11, 0x02, 0x00],
    [0x02, 0x40], [0x0c, 0x00], [0x0b],
  ]),
  // Memory: memargs with multi-byte offsets, constants of every width, bulk memory, saturating and sign-extension ops; locals of every type.
  fnBody([[1, V128], [2, I64], [1, FUNCREF], [1, EXTERNREF], [1, F32], [1, F64]], [
    i32(0), [0x28, ...memarg(2, 200000)],
    i32(0), [0x42, ...sleb(-123456789012n)], [0x37, ...memarg(3, 8)],
    [0x43, 0x00, 0x00, 0xc0, 0x3f], [0x1a], [0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f], [0x1a],
    [0x3f, 0x00], [0x40, 0x00], [0x1a],
    i32(0), i32(0), i32(0), fc(11, 0x00),
    i32(0), i32(0), i32(0), fc(10, 0x00, 0x00),
    i32(0), i32(0), i32(0), fc(8, 0x00, 0x00),
    fc(9, 0x00),
    [0x43, 0, 0, 0, 0], fc(0), [0x1a],
    [0x42, 0x01], [0xc4], [0x1a],
  ]),
  // Tables and references.
  fnBody([], [
    i32(1), [0xd0, FUNCREF], [0x26, 0x00],
    i32(0), [0x25, 0x00], [0xd1], [0x1a],
    fc(16, 0x00), [0x1a],
    [0xd0, FUNCREF], i32(0), fc(15, 0x00), [0x1a],
    i32(0), [0xd0, FUNCREF], i32(0), fc(17, 0x00),
    i32(0), i32(0), i32(0), fc(14, 0x00, 0x00),
    i32(0), i32(0), i32(0), fc(12, 0x00, 0x00),
    fc(13, 0x00),
    [0xd2, 0x01], [0x1a],
  ]),
  // SIMD (16-byte immediates, lanes, memargs with lanes, a two-byte sub-opcode) and atomics.
  fnBody([], [
    v128(7), v128(9), [0xfd, ...leb(13), ...Array.from({ length: 16 }, (_, i) => i)],
    v128(1), [0xfd, ...leb(0xae)],
    [0xfd, ...leb(0x15), 0x03], [0x1a],
    i32(0), [0xfd, ...leb(0), ...memarg(4, 16)],
    i32(0), v128(0), [0xfd, ...leb(0x54), ...memarg(0, 130), 0x0f],
    [0x1a], [0x1a],
    i32(0), [0xfd, ...leb(0x5c), ...memarg(2, 0)], [0x1a],
    i32(0), [0xfe, ...leb(0x10), ...memarg(2, 4)], [0x1a],
    [0xfe, ...leb(0x03), 0x00],
    i32(0), i32(1), [0xfe, ...leb(0x00), ...memarg(2, 0)], [0x1a],
  ]),
  // Tail calls.
  fnBody([], [[0x12, 0x02]]),
  fnBody([], [i32(1), [0x13, 0x01, 0x00]]),
  // Exception handling, legacy encoding (what V8 in Node 20 accepts): try, catch, throw, rethrow, delegate, catch_all.
  fnBody([], [
    [0x06, 0x40], [0x08, 0x00], [0x07, 0x00], [0x06, 0x40], [0x01], [0x18, 0x00], [0x09, 0x00], [0x19], [0x0b],
  ]),
];
/** try (empty block type) nop catch_all end. */
const TRY = [[0x06, 0x40], [0x01], [0x19], [0x0b]];

/** The forms module with `last` as its last function (`withTags`: the tag section the EH function needs), and where every instruction starts. */
function formsModule(last: number[][], withEh: boolean): { bytes: Uint8Array; starts: number[][] } {
  const bodies = [...(withEh ? FORMS : FORMS.slice(0, -1)), fnBody([], last)];
  const funcs = withEh ? FUNCS : section(3, vec([[2], [1], [0], [0], [1], [1], [0]]));
  const exports = withEh ? EXPORTS : section(7, vec([[...name('ctrl'), 0x00, 1], [...name('last'), 0x00, 7]]));
  const head = [TYPES, IMPORTS, funcs, TABLE, ...(withEh ? [TAGS] : []), GLOBALS, exports, ELEM, DATACOUNT];
  const codeBody = vec(bodies.map((b) => b.bytes));
  const code = section(10, codeBody);
  let o = 8 + head.flat().length + (code.length - codeBody.length) + leb(bodies.length).length;
  const starts: number[][] = [];
  for (const b of bodies) {
    starts.push(b.starts.map((x) => x + o));
    o += b.bytes.length;
  }
  return { bytes: wasmModule([...head, code, DATA]), starts };
}

describe('the code scan', () => {
  test('decodes every immediate form to its length: each instruction starts where it was assembled', () => {
    for (const withEh of [false, true]) {
      const m = formsModule([[0x01]], withEh);
      assert.ok(WebAssembly.validate(m.bytes), 'the forms module is valid WebAssembly for this Node');
      assert.deepEqual(instructionStarts(m.bytes), m.starts);
    }
  });

  test('a module without exception handling passes; a try after every other form is found at its byte', () => {
    const plain = formsModule([[0x01]], false);
    assert.equal(readWasmModule(plain.bytes).unsafeCode, null);
    const eh = formsModule([[0x01], ...TRY], false);
    assert.ok(WebAssembly.validate(eh.bytes));
    const at = eh.starts.at(-1)![1]!;
    assert.equal(eh.bytes[at], 0x06);
    assert.match(readWasmModule(eh.bytes).unsafeCode ?? '', new RegExp(`^function 7 \\(export last\\) uses try \\(at byte ${at}\\): WebAssembly exception handling`));
  });

  test('forms behind flags in Node 20 (try_table, a memory index, typed references): decoded to their length too', () => {
    // try_table (empty) [catch 5 2, catch_ref 5 3, catch_all 4, catch_all_ref 1] end; i32.load with a memory index (align | 0x40); a local of type (ref null func).
    const instrs = [[0x1f, 0x40, ...vec([[0x00, 0x05, 0x02], [0x01, 0x05, 0x03], [0x02, 0x04], [0x03, 0x01]])], [0x0b], i32(0), [0x28, ...leb(0x42), ...leb(3), ...leb(16)], [0x1a]];
    const b = fnBody([], instrs);
    const typedLocal = [...leb(1), ...leb(1), 0x63, 0x70]; // one local: (ref null func)
    const inner = [...typedLocal, ...instrs.flat(), 0x0b];
    const bytes = wasmModule([section(1, vec([functype([], [])])), section(3, vec([[0]])), section(10, vec([[...leb(inner.length), ...inner]]))]);
    const codeAt = bytes.length - inner.length + typedLocal.length; // where the first instruction is
    const expected = b.starts.map((x) => x - b.starts[0]! + codeAt);
    assert.deepEqual(instructionStarts(bytes), [expected]);
    assert.match(readWasmModule(bytes).unsafeCode ?? '', new RegExp(`^function 0 uses try_table \\(at byte ${expected[0]}\\)`));
  });

  test('every committed module (examples, fixtures, bench) decodes and uses no exception handling', () => {
    const dirs = [join(REPO_ROOT, 'bench', 'fixtures'), ...['examples', 'test/fixtures'].flatMap((d) => readdirSync(join(REPO_ROOT, d), { withFileTypes: true }).filter((x) => x.isDirectory()).map((x) => join(REPO_ROOT, d, x.name)))];
    let seen = 0;
    for (const dir of dirs) {
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.wasm'))) {
        const info = readWasmModule(new Uint8Array(readFileSync(join(dir, f))));
        assert.equal(info.unsafeCode, null, join(dir, f));
        seen++;
      }
    }
    assert.ok(seen >= 10, `${seen} modules`);
  });

  // A function body beginning with `op` (the scan stops at the first exception-handling instruction, so what follows need not be valid).
  const first = (op: number[]): Uint8Array =>
    wasmModule([section(1, vec([functype([], [])])), section(3, vec([[0]])), section(10, vec([body([], [...op, 0x0b])]))]);

  for (const [op, what] of [[0x06, 'try'], [0x07, 'catch'], [0x08, 'throw'], [0x09, 'rethrow'], [0x0a, 'throw_ref'], [0x18, 'delegate'], [0x19, 'catch_all'], [0x1f, 'try_table']] as const) {
    test(`${what} (0x${op.toString(16).padStart(2, '0')}) is reported by name, at its byte`, () => {
      const bytes = first([0x01, op]);
      const at = bytes.length - 3; // …, nop, op, end(block), end(function)
      assert.equal(bytes[at], op);
      assert.equal(readWasmModule(bytes).unsafeCode, `function 0 uses ${what} (at byte ${at}): WebAssembly exception handling, whose handlers could catch the processor's exits and faults`);
    });
  }

  test('tags are exception handling too: a tag section, a tag import (a tag export needs one of them)', () => {
    const tagType = section(1, vec([functype([], [])]));
    const tags = wasmModule([tagType, section(13, vec([[0x00, 0x00]]))]);
    assert.ok(WebAssembly.validate(tags));
    assert.match(readWasmModule(tags).unsafeCode ?? '', /^it declares tags \(a tag section\): WebAssembly exception handling/);
    const imported = wasmModule([tagType, section(2, vec([[...name('env'), ...name('oops'), 0x04, 0x00, 0x00]]))]);
    assert.ok(WebAssembly.validate(imported));
    assert.match(readWasmModule(imported).unsafeCode ?? '', /^it imports tag env\.oops/);
  });

  for (const [op, what] of [
    [[0x27], '0x27'],
    [[0xfb, ...leb(0)], '0xfb'], // the GC proposal's prefix (not enabled by default in Node 20)
    [[0xfc, ...leb(18)], '0xfc 18'],
    [[0xfd, ...leb(0x114)], '0xfd 276'],
    [[0xfe, ...leb(0x04)], '0xfe 4'],
  ] as const) {
    test(`an instruction it does not know (${what}) is refused, not skipped`, () => {
      const bytes = first([...op]);
      assert.match(readWasmModule(bytes).unsafeCode ?? '', new RegExp(`^function 0 has an instruction the scan does not know \\(opcode ${what} at byte \\d+\\): refused rather than guessed at$`));
    });
  }

  test('a body whose last instruction runs past its end, or a body past the section: SdkError WASM_INVALID', () => {
    // i32.const with its LEB cut by the body's end: the next body's bytes would be read as its immediate.
    const cut = wasmModule([section(1, vec([functype([], [])])), section(3, vec([[0], [0]])), section(10, vec([[...leb(3), 0x00, 0x41, 0x80], body([], [])]))]);
    assert.throws(() => readWasmModule(cut), isSdkError('WASM_INVALID'));
    const long = wasmModule([section(1, vec([functype([], [])])), section(3, vec([[0]])), section(10, [...leb(1), ...leb(40), 0x00, 0x0b])]);
    assert.throws(() => readWasmModule(long), isSdkError('WASM_INVALID'));
  });
});
