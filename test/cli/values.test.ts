/** parseValue: command-line text → an ECALL argument of the parameter's type, in process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseValue } from '../../src/cli/values.js';
import { CliError } from '../../src/cli/io.js';
import type { ParamPlan } from '../../src/sdk/abi.js';

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

const isArgError = (e: unknown) => e instanceof CliError && e.code === 'CLI_ARG' && e.exitCode === 2;

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
