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

/** The forms module with `last` as its last function (`withEh`: with the exception-handling function and the tag section it needs), and where every instruction starts. */
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

  test('forms behind flags in Node 20 (try_table, a memory index, typed references, long block types): decoded to their length too', () => {
    // try_table (empty) [catch 5 2, catch_ref 5 3, catch_all 4, catch_all_ref 1] end; i32.load with a memory index (align | 0x40); a local of type (ref null func).
    // Then blocks typed by a type index of two bytes and by a reference type with its heap type (a heap type of 0x0e read as an opcode would be br_table).
    const instrs = [
      [0x1f, 0x40, ...vec([[0x00, 0x05, 0x02], [0x01, 0x05, 0x03], [0x02, 0x04], [0x03, 0x01]])], [0x0b], i32(0), [0x28, ...leb(0x42), ...leb(3), ...leb(16)], [0x1a],
      [0x02, ...leb(200)], [0x0b], [0x02, 0x63, 0x0e], [0x0b], [0x1f, 0x64, 0x0e, 0x00], [0x0b],
    ];
    const b = fnBody([], instrs);
    const typedLocal = [...leb(1), ...leb(1), 0x63, 0x70]; // one local: (ref null func) as the standard encodes it (Node 20's V8 reads 0x63 otherwise, behind a flag)
    const inner = [...typedLocal, ...instrs.flat(), 0x0b];
    const bytes = wasmModule([section(1, vec([functype([], [])])), section(3, vec([[0]])), section(10, vec([[...leb(inner.length), ...inner]]))]);
    const codeAt = bytes.length - inner.length + typedLocal.length; // where the first instruction is
    const expected = b.starts.map((x) => x - b.starts[0]! + codeAt);
    assert.deepEqual(instructionStarts(bytes), [expected]);
    assert.match(readWasmModule(bytes).unsafeCode ?? '', new RegExp(`^function 0 uses try_table \\(at byte ${expected[0]}\\)`));
  });

  test('agrees with V8 on every instruction this Node accepts: each decoded to the length V8 reads, or refused', () => {
    // The oracle: `unreachable; [context] op imm; 0x27` (0x27 is no opcode). When V8 decodes `op imm`
    // it reports "Invalid opcode 0x27 @+N" with N the byte after them; the scan must then find exactly
    // unreachable, the context's instructions, op, and the unknown 0x27 at N. For each opcode the
    // shortest immediate of zeros (or a block type, select's type, a memarg's alignment) V8 accepts is used.
    const head = [
      section(1, vec([functype([], [])])),
      section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...leb(1)]])),
      section(3, vec([[0]])),
      section(4, vec([[FUNCREF, 0x00, ...leb(1)]])),
      section(13, vec([[0x00, 0x00]])), // a tag, for catch/throw
      section(6, vec([[I32, 0x01, 0x41, 0x00, 0x0b]])),
      section(9, vec([[0x03, 0x00, ...vec([[0]])]])),
      section(12, leb(1)),
    ];
    const moduleOf = (code: number[]): Uint8Array => wasmModule([...head, section(10, vec([body([], code)])), section(11, vec([[0x01, ...vec([[1]])]]))]);
    const immediates: number[][] = [[], [0x00], [0x40], [0x00, 0x00], [0x01, I32], [0x40, 0x00], [0x00, 0x00, 0x00]];
    for (let align = 1; align <= 4; align++) immediates.push([align, 0x00], [align, 0x00, 0x00]);
    immediates.push(Array<number>(4).fill(0), Array<number>(8).fill(0), Array<number>(16).fill(0));
    // Instructions that only make sense inside a block: (else, end) in an `if`, (catch, delegate, catch_all) in a `try`, rethrow in a catch_all.
    const IF = [0x41, 0x00, 0x04, 0x40], TRY = [0x06, 0x40];
    const context: Record<number, { code: number[]; starts: number[] }> = {
      0x05: { code: IF, starts: [0, 2] }, 0x0b: { code: IF, starts: [0, 2] },
      0x07: { code: TRY, starts: [0] }, 0x18: { code: TRY, starts: [0] }, 0x19: { code: TRY, starts: [0] },
      0x09: { code: [...TRY, 0x19], starts: [0, 2] },
    };
    const ops: number[][] = [];
    for (let c = 0; c < 0x100; c++) if (c < 0xfb || c > 0xfe) ops.push([c]);
    for (const [prefix, last] of [[0xfb, 0x40], [0xfc, 0x40], [0xfd, 0x140], [0xfe, 0x60]] as const) for (let sub = 0; sub <= last; sub++) ops.push([prefix, ...leb(sub)]);
    let checked = 0;
    const refused: string[] = [];
    for (const op of ops) {
      const ctx = context[op[0]!] ?? { code: [], starts: [] };
      for (const imm of immediates) {
        const code = [0x00, ...ctx.code, ...op, ...imm, 0x27];
        const bytes = moduleOf(code);
        const end = bytes.lastIndexOf(0x27);
        let v8: RegExpExecArray | null = null;
        try {
          new WebAssembly.Module(bytes);
        } catch (err) {
          v8 = /Invalid opcode 0x27 @\+(\d+)/.exec((err as Error).message);
        }
        if (v8 === null || Number(v8[1]) !== end) continue; // V8 did not decode these bytes as one instruction
        const at = end - (code.length - 1); // the unreachable
        const before = [at, ...ctx.starts.map((x) => at + 1 + x), at + 1 + ctx.code.length];
        const got = instructionStarts(bytes)[0]!;
        const what = `opcode ${op.map((b) => b.toString(16)).join(' ')} with immediate [${imm.join(', ')}]`;
        // Agreed (the next instruction at V8's offset), or refused as unknown (the scan stops at the opcode).
        if (got.length === before.length) {
          assert.deepEqual(got, before, what);
          refused.push(what);
        } else assert.deepEqual(got, [...before, end], what);
        checked++;
        break;
      }
    }
    assert.ok(checked >= 450, `only ${checked} instructions checked: has V8's error message changed?`);
    // Node 20 (the supported runtime) accepts nothing by default that the scan refuses; a later V8 accepts
    // typed function references and GC (call_ref, ref.as_non_null, br_on_null, 0xFB…), which it refuses.
    if (Number(process.versions.node.split('.')[0]) === 20) assert.deepEqual(refused, [], 'valid instructions refused');
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
