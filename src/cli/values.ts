/**
 * Command-line text → ECALL argument values, checked against the parameter's type: integers in
 * decimal or 0x hexadecimal within the type's range, floating-point numbers in decimal, untrusted
 * addresses ([user_check]) as non-negative integers.
 */
import type { ParamPlan } from '../sdk/abi.js';
import { CliError } from './io.js';

const INTEGER = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/;
const DECIMAL = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;

/** The inclusive range of an integer of `width` bytes. */
function integerRange(width: number, signed: boolean): { min: bigint; max: bigint } {
  const bits = BigInt(width * 8);
  return signed ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n } : { min: 0n, max: (1n << bits) - 1n };
}

function parseInteger(text: string): bigint | null {
  const m = INTEGER.exec(text);
  if (!m) return null;
  const magnitude = BigInt(m[2]!); // BigInt reads both decimal and 0x forms
  return m[1] === '-' ? -magnitude : magnitude;
}

function bad(p: ParamPlan, text: string, expected: string): CliError {
  return new CliError('CLI_ARG', `${p.name}: ${JSON.stringify(text)} is not ${expected}`, 2, { param: p.name, text });
}

/**
 * The value of a by-value or [user_check] parameter, from its command-line text: a bigint for
 * 64-bit integers, a number otherwise.
 * @throws {CliError} `CLI_ARG` (exit 2) for text that is not a number of the parameter's type or
 * lies outside its range (e.g. `abc`, `1.5` or `256` for a uint8_t).
 * @example parseValue('0xff', uint8Param) // 255
 */
export function parseValue(text: string, p: ParamPlan): number | bigint {
  if (p.kind === 'user_check') {
    const v = parseInteger(text);
    if (v === null || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(p, text, `an address (an integer from 0 to 2^53-1, decimal or 0x…)`);
    return Number(v);
  }
  if (p.kind !== 'value') throw new CliError('CLI_ARG', `${p.name} is a buffer, not a value`, 2, { param: p.name });
  if (p.float) {
    const what = `a ${p.width === 4 ? 'float' : 'double'} (a decimal number such as -1.5 or 2e3)`;
    if (!DECIMAL.test(text)) throw bad(p, text, what);
    const v = Number(text);
    // A finite decimal beyond the type's range would become an infinity.
    if (!Number.isFinite(v) || (p.width === 4 && !Number.isFinite(Math.fround(v)))) throw bad(p, text, `${what}: out of range`);
    return v;
  }
  const { min, max } = integerRange(p.width, p.signed);
  const what = `a${p.signed ? ' signed' : 'n unsigned'} ${p.width * 8}-bit integer (${min} to ${max}, decimal or 0x…)`;
  const v = parseInteger(text);
  if (v === null || v < min || v > max) throw bad(p, text, what);
  return p.wasm === 'i64' ? v : Number(v);
}

/**
 * A platform seed from `--seed HEX`: at least 16 bytes (32 hex digits), as the processor requires.
 * @throws {CliError} `CLI_SEED` (exit 2) for anything else.
 */
export function parseSeed(text: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2}){16,}$/.test(text)) {
    throw new CliError('CLI_SEED', `--seed takes at least 16 bytes of hex (32 or more hex digits, an even number), got ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)}`, 2);
  }
  return Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
}
