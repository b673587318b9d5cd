/** platform/call.ts: text → ECALL arguments of their parameters' types, and the call's results as text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseValue, ecallArguments, ecallOutputs, valueText, parameterHint, printable } from '../../src/platform/call.js';
import { PlatformError } from '../../src/platform/errors.js';
import { outcomeLines, memoryViewLines } from '../../src/platform/results.js';
import { fileURLToPath } from 'node:url';
import type { ParamPlan, FunctionPlan } from '../../src/sdk/abi.js';
import { resolveEdl, canonicalInterface, planInterface, type CanonicalParam } from '../../src/sdk/index.js';

function param(kind: ParamPlan['kind'], wasm: ParamPlan['wasm'], width: number, signed: boolean, float = false): ParamPlan {
  return { name: 'p', kind, wasm, width, signed, float, direction: null, elemSize: 0, count: null, sizeParam: null, string: null, pointeeSize: 0, deep: null };
}
const U8 = param('value', 'i32', 1, false);
const I16 = param('value', 'i32', 2, true);
const U32 = param('value', 'i32', 4, false);
const I64 = param('value', 'i64', 8, true);
const U64 = param('value', 'i64', 8, false);
const F32 = param('value', 'f32', 4, true, true);
const F64 = param('value', 'f64', 8, true, true);
const ADDR = param('user_check', 'i64', 8, false);

const isArgError = (e: unknown) => e instanceof PlatformError && e.code === 'ECALL_ARG';

test('integers: decimal and 0x, exactly the type\'s range; 64-bit values are bigints, narrower ones numbers', () => {
  assert.equal(parseValue('255', U8), 255);
  assert.equal(parseValue('0xFF', U8), 255);
  assert.equal(parseValue('+7', U8), 7);
  assert.equal(parseValue('-32768', I16), -32768);
  assert.equal(parseValue('-0x8000', I16), -32768);
  assert.equal(parseValue('32767', I16), 32767);
  assert.equal(parseValue('4294967295', U32), 4294967295);
  assert.equal(parseValue('-9223372036854775808', I64), -9223372036854775808n);
  assert.equal(parseValue('0xffffffffffffffff', U64), 0xffffffffffffffffn);
  assert.equal(parseValue('1', U64), 1n);
  for (const [t, p] of [['256', U8], ['-1', U8], ['32768', I16], ['-32769', I16], ['4294967296', U32], ['9223372036854775808', I64], ['-1', U64], ['18446744073709551616', U64]] as const) {
    assert.throws(() => parseValue(t, p), isArgError, t);
  }
  for (const t of ['abc', '1.5', '1e3', '', ' 1', '0x', '0b101', '--1', '12abc', 'NaN', 'Infinity']) assert.throws(() => parseValue(t, U32), isArgError, t);
});

test('floats: decimal numbers only, finite and within float range', () => {
  assert.equal(parseValue('1.5', F64), 1.5);
  assert.equal(parseValue('-2e3', F64), -2000);
  assert.equal(parseValue('.25', F32), 0.25);
  assert.equal(parseValue('7', F32), 7);
  assert.equal(parseValue('3.4e38', F32), 3.4e38);
  for (const t of ['abc', 'NaN', 'Infinity', '-Infinity', '1e309', '0x10', '', '1.2.3']) assert.throws(() => parseValue(t, F64), isArgError, t);
  assert.throws(() => parseValue('1e39', F32), isArgError);
});

test('[user_check] addresses: non-negative integers up to 2^53-1, as numbers', () => {
  assert.equal(parseValue('0x1000', ADDR), 0x1000);
  assert.equal(parseValue('0', ADDR), 0);
  assert.equal(parseValue(String(Number.MAX_SAFE_INTEGER), ADDR), Number.MAX_SAFE_INTEGER);
  for (const t of ['-1', '9007199254740992', 'abc', '1.5']) assert.throws(() => parseValue(t, ADDR), isArgError, t);
});

test('the message names the parameter, the text and what was expected', () => {
  assert.throws(() => parseValue('abc', U32), { message: 'p: "abc" is not an unsigned 32-bit integer (0 to 4294967295, decimal or 0x…)' });
  assert.throws(() => parseValue('x', F32), { message: 'p: "x" is not a float (a decimal number such as -1.5 or 2e3)' });
});

// The functions of ECALLs with one parameter form each, from the marshal fixture's and hello's EDL.
const root = new URL('../../../', import.meta.url);
function ecallsOf(edl: string): Map<string, { plan: FunctionPlan; params: readonly CanonicalParam[] }> {
  const iface = canonicalInterface(resolveEdl(fileURLToPath(new URL(edl, root))));
  const plan = planInterface(iface);
  return new Map(plan.ecalls.map((f) => [f.name, { plan: f, params: iface.trusted.find((t) => t.name === f.name)!.params }]));
}
const marshal = ecallsOf('test/fixtures/marshal/marshal.edl');
const hello = ecallsOf('examples/hello/hello.edl');
const fn = (m: typeof marshal, name: string) => m.get(name)!.plan;

test('ecallArguments: values parsed, buffers sized by size=/count=, strings as text, [out] as zeros', () => {
  const args = ecallArguments(fn(hello, 'ecall_hello'), ['world', 'ignored', '64']);
  assert.equal(args[0], 'world');
  assert.deepEqual(args[1], new Uint8Array(64));
  assert.equal(args[2], 64);
  // [in, size=n]: the text's bytes padded with zeros to n; longer text is kept whole (the call refuses it, not the parser).
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_in_size'), ['ab', '4']), [Uint8Array.of(0x61, 0x62, 0, 0), 4]);
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_in_size'), ['hex:00ff7F', '3']), [Uint8Array.of(0, 0xff, 0x7f), 3]);
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_in_size'), ['abcdef', '2'])[0], new TextEncoder().encode('abcdef'));
  // [in, count=n] of uint64_t: 8 × n bytes.
  assert.equal((ecallArguments(fn(marshal, 'ecall_in_count64'), ['', '3'])[0] as Uint8Array).length, 24);
  // [in, out, string]: its bytes with the terminator; [in, wstring]: the text.
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_inout_string'), ['Hi']), [Uint8Array.of(0x48, 0x69, 0)]);
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_in_wstring'), ['w']), ['w']);
  // [user_check]: an address; 64-bit values as bigints.
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_user_check'), ['0x1000', '4']), [0x1000, 4]);
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_ret_u64'), ['0xffffffffffffffff']), [0xffffffffffffffffn]);
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_void'), []), []);
});

test('ecallArguments: @FILE reads through readFile, and is refused without one', () => {
  const read: string[] = [];
  const args = ecallArguments(fn(marshal, 'ecall_in_size'), ['@some/file', '2'], { readFile: (p) => (read.push(p), Uint8Array.of(9, 8, 7)) });
  assert.deepEqual(read, ['some/file']);
  assert.deepEqual(args[0], Uint8Array.of(9, 8, 7));
  assert.throws(() => ecallArguments(fn(marshal, 'ecall_in_size'), ['@some/file', '2']), (e: unknown) => isArgError(e) && /names a file, and no file can be read here/.test((e as Error).message));
});

test('ecallArguments: a wrong count is ECALL_ARGS, a bad argument ECALL_ARG naming it', () => {
  assert.throws(() => ecallArguments(fn(hello, 'ecall_hello'), ['world']), (e: unknown) => e instanceof PlatformError && e.code === 'ECALL_ARGS' && e.message === 'ecall_hello takes 3 arguments (name, greeting, len), got 1');
  assert.throws(() => ecallArguments(fn(marshal, 'ecall_ret_u8'), ['1', '2']), { code: 'ECALL_ARGS', message: 'ecall_ret_u8 takes 1 argument (v), got 2' });
  assert.throws(() => ecallArguments(fn(hello, 'ecall_hello'), ['world', '-', '-1']), (e: unknown) => isArgError(e) && (e as PlatformError).data.param === 'len');
  assert.deepEqual(ecallArguments(fn(marshal, 'ecall_in_size'), ['hex:0x0aFF', '2'])[0], Uint8Array.of(0x0a, 0xff), 'hex: with 0x, as witness run took it');
  for (const bad of ['hex:0', 'hex:zz', 'hex:0x0', 'hex:x00']) {
    assert.throws(() => ecallArguments(fn(marshal, 'ecall_in_size'), [bad, '2']), (e: unknown) => isArgError(e) && (e as Error).message === `buf: ${JSON.stringify(bad)} is not hex (hex: and an even number of hex digits, 0x optional)`, bad);
  }
  assert.throws(() => parseValue('1', fn(marshal, 'ecall_in_size').params[0]!), { code: 'ECALL_ARG', message: 'buf is a buffer, not a value' });
});

test('ecallOutputs: the [out] and [in, out] buffers after the call, as hex and, where they read so, text', () => {
  const f = fn(hello, 'ecall_hello');
  const greeting = new Uint8Array(8);
  greeting.set(new TextEncoder().encode('hi!'));
  assert.deepEqual(ecallOutputs(f, ['x', greeting, 8]), [{ name: 'greeting', hex: '6869210000000000', text: 'hi!' }]);
  assert.deepEqual(ecallOutputs(f, ['x', Uint8Array.of(1, 2), 2]), [{ name: 'greeting', hex: '0102', text: null }]);
  assert.deepEqual(ecallOutputs(fn(marshal, 'ecall_in_size'), [Uint8Array.of(0x41), 1]), []);
  assert.deepEqual(ecallOutputs(fn(marshal, 'ecall_inout_size'), [Uint8Array.of(0x41), 1]), [{ name: 'buf', hex: '41', text: 'A' }]);
});

test('printable and valueText: text where bytes read as text, hex otherwise, numbers as String gives them', () => {
  assert.equal(printable(Uint8Array.of(0x61, 0x0a, 0, 0xff)), 'a\n');
  assert.equal(printable(Uint8Array.of(0)), null);
  assert.equal(printable(Uint8Array.of(0xc3, 0xa9)), null);
  assert.equal(valueText(new TextEncoder().encode('say "hi"')), '"say \\"hi\\""');
  assert.equal(valueText(Uint8Array.of(1, 2)), '0102');
  assert.equal(valueText(-5), '-5');
  assert.equal(valueText(1n << 63n), '9223372036854775808');
  assert.equal(valueText(undefined), '(void)');
  // A float or double that is not finite reads as `witness run` prints a result (String), not as JSON's null.
  assert.deepEqual([NaN, Infinity, -Infinity, 1.5, 1e21].map(valueText), ['NaN', 'Infinity', '-Infinity', '1.5', '1e+21']);
});

test('parameterHint: the C declaration with its attributes and what its text may be', () => {
  const h = hello.get('ecall_hello')!;
  assert.deepEqual(h.plan.params.map((p, i) => parameterHint(p, h.params[i])), [
    '[in, string] const char *name: text',
    '[out, size=len] char *greeting: written by the enclave (its length from size=/count=; the text is not used)',
    'size_t len: an unsigned 32-bit integer (0 to 4294967295, decimal or 0x…)',
  ]);
  const m = marshal.get('ecall_user_check')!;
  assert.equal(parameterHint(m.plan.params[0]!, m.params[0]), '[user_check] const uint8_t *p: an address (an integer from 0 to 2^53-1, decimal or 0x…)');
  const a = marshal.get('ecall_array')!;
  assert.equal(parameterHint(a.plan.params[0]!, a.params[0]), '[in] int32_t a[4]: text or hex:… (padded with zeros to its size=/count= length)');
  assert.equal(parameterHint(fn(marshal, 'ecall_ret_f32').params[0]!), 'v: a float (a decimal number such as -1.5 or 2e3)');
  const s = marshal.get('ecall_in_size_count')!;
  assert.equal(parameterHint(s.plan.params[0]!, s.params[0]), '[in, size=4, count=n] const void *a: text or hex:… (padded with zeros to its size=/count= length)');
  const io = marshal.get('ecall_inout_string')!;
  assert.equal(parameterHint(io.plan.params[0]!, io.params[0]), '[in, out, string] char *s: text');
  assert.equal(parameterHint(io.plan.params[0]!), '[in, out, string] s: text');
});

test('outcomeLines and memoryViewLines: the lines the page and witness session print', () => {
  const cost = { counts: {}, cycles: 0, seconds: 0, unpriced: {} };
  assert.deepEqual(outcomeLines({ id: 1, ecall: 'e', result: '38', outputs: [{ name: 'g', hex: '6869', text: 'hi' }, { name: 'b', hex: '01ff', text: null }], ocalls: ['o("x")'], cost }), ['returned 38', 'g: "hi"', 'b: 01ff', 'ocall o("x")']);
  const base = { id: 1, linear: 0x10018040, length: 4, physical: 0x200018040, kernel: 'ffffffff', dram: '0b143b84' };
  assert.deepEqual(memoryViewLines({ ...base, debugger: { via: 'v', hex: '68690000' } }), ['linear 0x10018040, physical 0x200018040', 'kernel (ring 0): ffffffff', 'DRAM:            0b143b84', 'debugger:        68690000  "hi"  (v)']);
  assert.equal(memoryViewLines({ ...base, debugger: { via: 'v', hex: '00ff' } })[3], 'debugger:        00ff  (v)');
  assert.deepEqual(memoryViewLines({ ...base, physical: null, kernel: null, dram: null, debugger: { via: 'v', refused: 'EIO (5)' } }), ['linear 0x10018040 (not mapped now)', 'kernel (ring 0): —', 'DRAM:            —', 'debugger:        refused: EIO (5)  (v)']);
});
