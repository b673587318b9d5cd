/**
 * The value encoding of the marshalling structure, shared by the host and the trusted runtime:
 * each slot is a little-endian u64; 32-bit values are zero- or sign-extended; pointers are
 * untrusted addresses. Numbers are used throughout (no BigInt) except for 64-bit integer values.
 */
import { MAX_BUFFER, MAX_STRING, type ParamPlan } from './abi.js';
import { u64leNumberOrNeg, u32le, writeU32le } from '../lib/bytes.js';

/** A plan's value type (parameters and return values share it). */
export interface ValueType {
  readonly wasm: string;
  readonly width: number;
  readonly float: boolean;
  readonly signed: boolean;
}

/** The value type of a [user_check] pointer: a host address the enclave handles as a u64 (Wasm cannot dereference it). */
export const USER_CHECK: ValueType = { wasm: 'i64', width: 8, float: false, signed: false };

const TWO32 = 4294967296;
const scratch = new DataView(new ArrayBuffer(8));

/** The slot as an unsigned number, or -1 when it is 2^53 or more (never a valid address or length). */
export function slotNumber(ms: Uint8Array, i: number): number {
  return u64leNumberOrNeg(ms, 8 * i);
}

/**
 * The value the enclave function sees for a value parameter in slot `i`: i32 types as their
 * (sign- or zero-extended) number, i64 as a bigint, floats as numbers.
 */
export function slotValue(p: ValueType, ms: Uint8Array, i: number): number | bigint {
  const o = 8 * i;
  if (p.float) {
    for (let k = 0; k < 8; k++) scratch.setUint8(k, ms[o + k]!);
    return p.width === 4 ? scratch.getFloat32(0, true) : scratch.getFloat64(0, true);
  }
  if (p.wasm === 'i64') {
    for (let k = 0; k < 8; k++) scratch.setUint8(k, ms[o + k]!);
    return p.signed ? scratch.getBigInt64(0, true) : scratch.getBigUint64(0, true);
  }
  const lo = (ms[o]! | (ms[o + 1]! << 8) | (ms[o + 2]! << 16) | (ms[o + 3]! << 24)) >>> 0;
  return narrow(p, lo);
}

/** A 32-bit pattern narrowed to the declared width and signedness. */
function narrow(p: ValueType, lo: number): number {
  switch (p.width) {
    case 1: return p.signed ? (lo << 24) >> 24 : lo & 0xff;
    case 2: return p.signed ? (lo << 16) >> 16 : lo & 0xffff;
    default: return p.signed ? lo | 0 : lo >>> 0;
  }
}

const I32_MIN = -(2 ** 31), U32_LIMIT = 2 ** 32;
const I32_MIN_N = -(2n ** 31n), U32_LIMIT_N = 2n ** 32n, I64_MIN_N = -(2n ** 63n), U64_MAX_N = 2n ** 64n - 1n;

/**
 * Whether a host value can cross as a value of type `t`: floats take any number (NaN and the
 * infinities included); integer types take an integer, as a number or a bigint, within the range
 * of their Wasm type (i32: −2^31 … 2^32 − 1, signed or unsigned; i64: −2^63 … 2^64 − 1), which
 * writeSlot then narrows to the C type's width as C converts it. Returns what was wrong, or null.
 */
export function valueProblem(t: ValueType, v: unknown): string | null {
  if (t.float) return typeof v === 'number' ? null : 'needs a number';
  const wide = t.wasm === 'i64';
  if (typeof v === 'bigint') {
    if (wide ? v >= I64_MIN_N && v <= U64_MAX_N : v >= I32_MIN_N && v < U32_LIMIT_N) return null;
  } else if (typeof v === 'number' && Number.isInteger(v)) {
    if (wide ? v >= -(2 ** 63) && v < 2 ** 64 : v >= I32_MIN && v < U32_LIMIT) return null;
  }
  return wide ? 'needs an integer from -2^63 to 2^64 - 1 (a bigint, or a number that is an integer)' : 'needs an integer from -2^31 to 2^32 - 1';
}

/** Write a value into slot `i` (numbers for i32 and floats, bigint or number for i64). */
export function writeSlot(ms: Uint8Array, i: number, p: ValueType, v: unknown): void {
  const o = 8 * i;
  if (p.float) {
    if (p.width === 4) {
      scratch.setFloat32(0, Number(v), true);
      scratch.setUint32(4, 0); // a float's slot is zero above its 4 bytes (not what scratch held before)
    } else scratch.setFloat64(0, Number(v), true);
    for (let k = 0; k < 8; k++) ms[o + k] = scratch.getUint8(k);
    return;
  }
  if (p.wasm === 'i64' || typeof v === 'bigint') {
    scratch.setBigUint64(0, BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)))), true);
    for (let k = 0; k < 8; k++) ms[o + k] = scratch.getUint8(k);
    return;
  }
  const n = narrow(p, Number(v) >>> 0);
  const neg = n < 0;
  const lo = n >>> 0;
  ms[o] = lo & 0xff;
  ms[o + 1] = (lo >>> 8) & 0xff;
  ms[o + 2] = (lo >>> 16) & 0xff;
  ms[o + 3] = lo >>> 24;
  const h = neg ? 0xff : 0;
  ms[o + 4] = h;
  ms[o + 5] = h;
  ms[o + 6] = h;
  ms[o + 7] = h;
}

/** Write an address (or any non-negative safe integer) into slot `i`. */
export function writeSlotAddress(ms: Uint8Array, i: number, a: number): void {
  const o = 8 * i;
  const lo = a >>> 0;
  const hi = Math.floor(a / TWO32);
  ms[o] = lo & 0xff;
  ms[o + 1] = (lo >>> 8) & 0xff;
  ms[o + 2] = (lo >>> 16) & 0xff;
  ms[o + 3] = lo >>> 24;
  ms[o + 4] = hi & 0xff;
  ms[o + 5] = (hi >>> 8) & 0xff;
  ms[o + 6] = (hi >>> 16) & 0xff;
  ms[o + 7] = (hi >>> 24) & 0xff;
}

/** A numeric view of value arguments (for size=/count= references); NaN when not usable as a length. */
export function lengthValue(v: number | bigint | undefined): number {
  if (typeof v === 'bigint') return v >= 0n && v <= BigInt(MAX_BUFFER) ? Number(v) : NaN;
  return typeof v === 'number' && Number.isInteger(v) ? v : NaN;
}

/**
 * Byte length of a buffer parameter from its plan and the other arguments' values (as the enclave
 * function sees them). Returns -1 for an insane length (negative, not an integer, above MAX_BUFFER).
 */
export function bufferLength(p: ParamPlan, vals: readonly (number | bigint | undefined)[]): number {
  // Small, with its rarer parts called out: both bridges run it for every buffer, inlined.
  const size = p.sizeParam !== null ? lengthValue(vals[p.sizeParam]) : p.elemSize;
  return p.count === null ? saneLength(size) : productLength(countOf(p.count, vals), size);
}

/**
 * count × size as edger8r's code computes it on size_t operands (CodeGen.ml: `size != 0 && count >
 * SIZE_MAX / size` is INVALID_PARAMETER): a negative operand is a huge size_t (as is one lengthValue
 * could not read), so the product overflows unless the other operand is 0 (then it is 0). -1 when
 * insane, as saneLength says.
 */
export function productLength(count: number, size: number): number {
  if (!(count >= 0 && size >= 0)) return count === 0 || size === 0 ? 0 : -1; // (NaN: a value no size_t of a buffer can be)
  return saneLength(count * size);
}

/** A computed byte length, or -1 when it is insane (negative, not an integer, above MAX_BUFFER). */
export function saneLength(n: number): number {
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_BUFFER ? n : -1;
}

/** A `count=` attribute's value: its constant, or the value of the parameter it names. */
function countOf(c: NonNullable<ParamPlan['count']>, vals: readonly (number | bigint | undefined)[]): number {
  return 'constant' in c ? c.constant : lengthValue(vals[c.param]);
}

/** `s` as a NUL-terminated wchar_t string of wasm32 (UTF-32LE code units, the terminator included). */
export function encodeWide(s: string): Uint8Array {
  const cps = [...s].map((c) => c.codePointAt(0)!);
  const b = new Uint8Array(4 * (cps.length + 1));
  cps.forEach((c, i) => writeU32le(b, 4 * i, c));
  return b;
}

/**
 * The wchar_t string in `b` up to its first zero unit (or its end). A unit that is no Unicode
 * scalar value (a surrogate, above 0x10FFFF: the other side wrote what it liked) becomes U+FFFD,
 * as a TextDecoder does with bytes that are not UTF-8.
 */
export function decodeWide(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 4 <= b.length; i += 4) {
    const c = u32le(b, i);
    if (c === 0) break;
    s += String.fromCodePoint(c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ? 0xfffd : c);
  }
  return s;
}

/** The code unit of a NUL-terminated string: 1 byte (char) or 4 (wchar_t on wasm32). */
export type StringUnit = 1 | 4;
export function stringUnit(kind: 'string' | 'wstring'): StringUnit {
  return kind === 'string' ? 1 : 4;
}

/**
 * Length, terminator included, of the string that starts at `b[start]`: up to and including its
 * first all-zero code unit (units counted from `start`) that ends at or before `end`; -1 if none.
 */
export function terminatorLength(b: Uint8Array, start: number, end: number, unit: StringUnit): number {
  if (unit === 1) {
    const i = b.subarray(start, end).indexOf(0);
    return i < 0 ? -1 : i + 1;
  }
  for (let k = start; k + 4 <= end; k += 4) if ((b[k]! | b[k + 1]! | b[k + 2]! | b[k + 3]!) === 0) return k - start + 4;
  return -1;
}

/** Memory a string can be scanned in: untrusted memory as the enclave or the host program reads it. */
export interface StringSource {
  readInto(address: number, into: Uint8Array): void;
}

/** Bytes read per step of scanStringLength (and the size of its scratch buffer). */
export const STRING_SCAN_CHUNK = 256;

/**
 * Length, terminator included, of the NUL-terminated string at `addr` in `mem`, scanning no
 * further than `limit` and than MAX_STRING bytes; -1 when no terminator lies within them. Reads
 * go in steps of at most STRING_SCAN_CHUNK bytes that never cross a page boundary, so a string
 * whose terminator ends a page is read without touching the next page (which may be unmapped).
 * `addr` must be a multiple of `unit` (so no code unit straddles a page); `scratch` has at least
 * STRING_SCAN_CHUNK bytes and is reused.
 */
export function scanStringLength(mem: StringSource, addr: number, unit: StringUnit, limit: number, scratch: Uint8Array): number {
  const end = Math.min(limit, addr + MAX_STRING);
  for (let at = addr; at < end;) {
    const n = Math.min(STRING_SCAN_CHUNK, 4096 - (at % 4096), end - at);
    if (n < unit) return -1;
    const chunk = scratch.subarray(0, n);
    mem.readInto(at, chunk);
    const k = terminatorLength(chunk, 0, n, unit);
    if (k >= 0) return at - addr + k;
    at += n - (n % unit);
  }
  return -1;
}

