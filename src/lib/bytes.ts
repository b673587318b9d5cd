/**
 * Byte helpers shared by every layer: hex, little-endian integers, comparisons.
 * All multi-byte SGX integers are little-endian (Intel SDM Vol. 3D, 34.1 conventions).
 */
import { LibError } from './errors.js';

const HEX = '0123456789abcdef';
const HEX_TABLE: string[] = Array.from({ length: 256 }, (_, i) => HEX[i >> 4]! + HEX[i & 15]!);

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX_TABLE[bytes[i]!]!;
  return s;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i;

/** Base64 (RFC 4648 §4, with padding), without node's Buffer so that it runs in a browser too. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = bytes.length - i;
    const v = (bytes[i]! << 16) | ((n > 1 ? bytes[i + 1]! : 0) << 8) | (n > 2 ? bytes[i + 2]! : 0);
    out += BASE64[v >>> 18]! + BASE64[(v >>> 12) & 63]! + (n > 1 ? BASE64[(v >>> 6) & 63]! : '=') + (n > 2 ? BASE64[v & 63]! : '=');
  }
  return out;
}

/**
 * Base64 (RFC 4648 §4) back to bytes: the standard alphabet, whole 4-character groups, padding only
 * at the end, and (unless `padBits` is 'ignore') no bits set beyond the last byte (canonical, RFC
 * 4648 §3.5). 'ignore' decodes as OpenSSL and Buffer do, dropping those bits.
 * @throws {LibError} BASE64_INVALID for any other text.
 */
export function fromBase64(text: string, padBits: 'refuse' | 'ignore' = 'refuse'): Uint8Array {
  const bad = () => new LibError('BASE64_INVALID', `not canonical base64: ${JSON.stringify(text.slice(0, 40))}`);
  if (text.length % 4 !== 0) throw bad();
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = text.charCodeAt(i + k);
      const last = i + 4 === text.length;
      const d = c < 128 ? BASE64_VALUE[c]! : -1;
      if (d < 0 && !(last && c === 61 && k >= 4 - pad)) throw bad();
      v = (v << 6) | (d < 0 ? 0 : d);
    }
    out[o++] = v >>> 16;
    if (o < out.length) out[o++] = (v >>> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
    if (padBits === 'refuse' && i + 4 === text.length && (pad === 2 ? v & 0xffff : pad === 1 ? v & 0xff : 0) !== 0) throw bad();
  }
  return out;
}

/**
 * Parse a hex string (even length, optional `0x` prefix, no separators).
 * @throws {LibError} `HEX_INVALID` on odd length or a non-hex character.
 */
export function fromHex(hex: string): Uint8Array {
  const s = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new LibError('HEX_INVALID', `fromHex: not an even-length hex string: ${JSON.stringify(hex.slice(0, 40))}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Constant-time equality for MACs and keys (length is not secret). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** 64 KiB of zeros as a Node Buffer (a native memcmp against it is ~10× faster than a JS scan); null outside Node. */
const ZEROS: Buffer | null = typeof Buffer === 'function' ? Buffer.alloc(65536) : null;

/** True when bytes [start, end) of `b` are all zero. */
export function isZero(b: Uint8Array, start = 0, end = b.length): boolean {
  // This runs on every EADD'ed page: large ranges are compared natively against zeros.
  if (ZEROS !== null && end - start >= 256) {
    for (let o = start; o < end; o += 65536) {
      const k = Math.min(65536, end - o);
      if (ZEROS.compare(b, o, o + k, 0, k) !== 0) return false;
    }
    return true;
  }
  // Word-wise scan when long and aligned (a short range is not worth a view).
  if (end - start >= 256 && ((b.byteOffset + start) & 3) === 0 && ((end - start) & 3) === 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + start, (end - start) >> 2);
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    return true;
  }
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

export function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
export function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
export function u64le(b: Uint8Array, o: number): bigint {
  return BigInt(u32le(b, o)) | (BigInt(u32le(b, o + 4)) << 32n);
}
/**
 * A u64 read as a JS number. Exact for values below 2^53 (every address the model uses).
 * @throws {LibError} `U64_NOT_SAFE` when the value does not fit.
 */
export function u64leNumber(b: Uint8Array, o: number): number {
  const hi = u32le(b, o + 4);
  if (hi >= 0x200000) throw new LibError('U64_NOT_SAFE', `u64 at offset ${o} exceeds 2^53`, { offset: o });
  return hi * 0x100000000 + u32le(b, o);
}
/** A u64 as a number, or -1 when it is 2^53 or more (for checks that must not throw). */
export function u64leNumberOrNeg(b: Uint8Array, o: number): number {
  const hi = u32le(b, o + 4);
  if (hi >= 0x200000) return -1;
  return hi * 0x100000000 + u32le(b, o);
}

export function writeU16le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function writeU32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
export function writeU64le(b: Uint8Array, o: number, v: bigint | number): void {
  if (typeof v === 'number' && v >= 0 && v <= 0xffffffff && v === Math.floor(v)) {
    b[o] = v & 0xff;
    b[o + 1] = (v >>> 8) & 0xff;
    b[o + 2] = (v >>> 16) & 0xff;
    b[o + 3] = (v >>> 24) & 0xff;
    b[o + 4] = 0;
    b[o + 5] = 0;
    b[o + 6] = 0;
    b[o + 7] = 0;
    return;
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new LibError('U64_RANGE', `not a u64 value: ${v}`);
    writeU32le(b, o, v >>> 0);
    writeU32le(b, o + 4, Math.floor(v / 0x100000000) >>> 0);
    return;
  }
  const x = BigInt.asUintN(64, v);
  writeU32le(b, o, Number(x & 0xffffffffn));
  writeU32le(b, o + 4, Number(x >> 32n));
}

/** Little-endian bytes → unsigned bigint (RSA integers in SIGSTRUCT are stored this way). */
export function leBytesToBigInt(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]!);
  return x;
}
/** Big-endian bytes → unsigned bigint. */
export function beBytesToBigInt(b: Uint8Array): bigint {
  let hex = '';
  for (let i = 0; i < b.length; i++) hex += HEX_TABLE[b[i]!]!;
  return hex.length === 0 ? 0n : BigInt('0x' + hex);
}
/**
 * Unsigned bigint → `len` little-endian bytes.
 * @throws {LibError} `BIGINT_TOO_LARGE` when it does not fit.
 */
export function bigIntToLeBytes(x: bigint, len: number): Uint8Array {
  const be = bigIntToBeBytes(x, len);
  return be.reverse();
}
/** Unsigned bigint → `len` big-endian bytes. */
export function bigIntToBeBytes(x: bigint, len: number): Uint8Array {
  if (x < 0n) throw new LibError('BIGINT_NEGATIVE', 'negative bigint');
  let hex = x.toString(16);
  if (hex.length > len * 2) throw new LibError('BIGINT_TOO_LARGE', `integer does not fit in ${len} bytes`);
  hex = hex.padStart(len * 2, '0');
  return fromHex(hex);
}

/** Reverse a byte string (copy). */
export function reversed(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b).reverse();
}

/** Modular exponentiation by squaring. */
export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  if (mod === 1n) return 0n;
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    e >>= 1n;
    b = (b * b) % mod;
  }
  return r;
}

/** A fresh copy of `len` bytes from `b` at `o` (never a view: callers may keep it). */
export function copyBytes(b: Uint8Array, o = 0, len = b.length - o): Uint8Array {
  return b.slice(o, o + len);
}

// ---- Copies between arrays ---------------------------------------------------------------------

/** Int32Array elements are little-endian in memory on this host (x86, ARM): word-wise byte copies rely on it. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Int32Array([1]).buffer)[0] === 1;

/**
 * dst[dstOff, dstOff+n) = src[srcOff, srcOff+n), for ranges that do not overlap (different
 * buffers, or disjoint parts of one; moveBytes otherwise). Throws a
 * RangeError, copying nothing, when either range is not inside its array (offsets and length are
 * integers). On Node 20's V8 a copy with TypedArray#set costs ~25–70 ns whatever its size, and
 * `.buffer` ~20 ns (so no check of whether the two share a buffer): a few bytes go one by one.
 */
export function copyDisjoint(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  if (!(Number.isInteger(n) && Number.isInteger(dstOff) && Number.isInteger(srcOff) && n >= 0 && dstOff >= 0 && srcOff >= 0 && dstOff + n <= dst.length && srcOff + n <= src.length)) {
    throw new RangeError(`copyDisjoint: [${srcOff}, +${n}) of ${src.length} bytes into [${dstOff}, +${n}) of ${dst.length} bytes`);
  }
  if (n <= 8) {
    for (let k = 0; k < n; k++) dst[dstOff + k] = src[srcOff + k]!;
    return;
  }
  if (srcOff === 0 && n === src.length) dst.set(src, dstOff);
  else if (n <= PART_COPY_MAX) copyPart(dst, dstOff, src, srcOff, n);
  else dst.set(src.subarray(srcOff, srcOff + n), dstOff);
}

/**
 * Largest part of a buffer copied by copyPart rather than through a subarray view and
 * TypedArray#set (measured on Node 20, 64 bytes: ~45 ns against ~72).
 */
const PART_COPY_MAX = 64;

/** copyDisjoint's copy of a small part of `src`: eight bytes a step, then the rest one by one. */
function copyPart(dst: Uint8Array, d: number, src: Uint8Array, s: number, n: number): void {
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    dst[d + k] = src[s + k]!; dst[d + k + 1] = src[s + k + 1]!; dst[d + k + 2] = src[s + k + 2]!; dst[d + k + 3] = src[s + k + 3]!;
    dst[d + k + 4] = src[s + k + 4]!; dst[d + k + 5] = src[s + k + 5]!; dst[d + k + 6] = src[s + k + 6]!; dst[d + k + 7] = src[s + k + 7]!;
  }
  for (; k < n; k++) dst[d + k] = src[s + k]!;
}

/**
 * dst[dstOff, dstOff+n) = src[srcOff, srcOff+n) where the two may view one buffer and overlap
 * (memmove, through TypedArray#set; no subarray view when the source is copied whole). The caller
 * checked both ranges (TypedArray#set throws a RangeError for a destination range it does not hold).
 */
export function moveBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  if (srcOff === 0 && n === src.length) dst.set(src, dstOff);
  else dst.set(src.subarray(srcOff, srcOff + n), dstOff);
}

// The intrinsic typed-array and ArrayBuffer accessors, as they were when this module loaded (an
// object that overrides `length`, `subarray` or `buffer` cannot answer through these).
const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedGetter = (name: PropertyKey): ((this: unknown) => unknown) => Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTO, name)!.get! as (this: unknown) => unknown;
const TA_TAG = typedGetter(Symbol.toStringTag), TA_BUFFER = typedGetter('buffer'), TA_OFFSET = typedGetter('byteOffset'), TA_LENGTH = typedGetter('length');
const AB_BYTE_LENGTH = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')!.get! as (this: unknown) => number;
const AB_RESIZABLE = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable')?.get as ((this: unknown) => boolean) | undefined;
const IS_VIEW = ArrayBuffer.isView;
const U8 = Uint8Array;

/** A real typed array's length, through the intrinsic getter (not an own property's or a subclass's answer; 0 when detached). */
export function typedLength(a: ArrayBufferView): number {
  return TA_LENGTH.call(a) as number;
}

/**
 * A fresh view of the `n` bytes of `x` at `offset`, when `x` is a genuine Uint8Array over a
 * fixed-length, unshared ArrayBuffer and those bytes are there and 4-aligned in it; otherwise null.
 * Read through the intrinsic accessors and made with the intrinsic constructor, so nothing `x`
 * (or a subclass, or a later change to the globals) overrides can run or answer: memory that is lent
 * in place (a page a kernel pins for an instruction) is exactly these bytes.
 */
export function plainView(x: unknown, offset: number, n: number): Uint8Array | null {
  if (!IS_VIEW(x) || TA_TAG.call(x) !== 'Uint8Array') return null;
  const buffer = TA_BUFFER.call(x) as ArrayBuffer;
  try {
    AB_BYTE_LENGTH.call(buffer); // throws for a SharedArrayBuffer
  } catch {
    return null;
  }
  if (AB_RESIZABLE !== undefined && AB_RESIZABLE.call(buffer)) return null;
  const at = TA_OFFSET.call(x) as number, length = TA_LENGTH.call(x) as number; // a detached buffer: length 0
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(n) && offset >= 0 && n >= 0 && offset + n <= length) || (at + offset) % 4 !== 0) return null;
  return new U8(buffer, at + offset, n);
}

/**
 * A buffer of `size` bytes lent for one call at a time, zero when lent and zeroed when given back.
 * For hot paths that need a working buffer of more than 64 bytes: V8 keeps a larger typed array's
 * bytes outside its heap, so each `new Uint8Array(n)` is a malloc and, later, a free on the garbage
 * collector's sweeper thread, and on a small VM the two threads contend for the allocator (measured:
 * 1–2 µs per 512-byte array here, against ~40 ns for 64 bytes). A use that starts while the buffer is
 * lent (a nested call) gets a fresh zero buffer of its own, zeroed the same way. Whatever `fn`
 * returns must not be the buffer or a view of it: its bytes are gone when `fn` returns.
 */
export class LentBuffer {
  readonly #bytes: Uint8Array;
  #lent = false;
  constructor(readonly size: number) {
    this.#bytes = new Uint8Array(size);
  }

  with<T>(fn: (b: Uint8Array) => T): T {
    const nested = this.#lent;
    const b = nested ? new Uint8Array(this.size) : this.#bytes;
    this.#lent = true;
    try {
      return fn(b);
    } finally {
      b.fill(0);
      if (!nested) this.#lent = false;
    }
  }
}
