/**
 * A minimal, strict ASN.1 DER (ITU-T X.690 §8 and §10) for the model's X.509 certificates, CRLs
 * and ECDSA signatures.
 *
 * Encoders build one TLV each and return its bytes. The decoder accepts DER only: definite
 * lengths in their shortest form, low tag numbers (0–30), minimal INTEGERs, BOOLEAN as 00/FF, no
 * bytes after the outermost value. Every refusal is a `LayoutError` whose code names the problem
 * (`DER_TRUNCATED`, `DER_LENGTH_INDEFINITE`, `DER_LENGTH_NONMINIMAL`, `DER_TRAILING_BYTES`, …);
 * encoder misuse (a value that has no encoding) is a `LibError` `DER_VALUE`.
 */
import { LayoutError, LibError } from './errors.js';
import { concatBytes, toHex } from './bytes.js';

/** Universal tags (X.680 §8.4) and the class bits of the identifier octet (X.690 §8.1.2). */
export const DER_TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const CONSTRUCTED = 0x20;
const CONTEXT = 0x80;

const bad = (code: string, message: string, data: Record<string, unknown> = {}): never => {
  throw new LayoutError(code, `DER: ${message}`, data);
};
const badValue = (message: string, data: Record<string, unknown> = {}): never => {
  throw new LibError('DER_VALUE', `DER encoder: ${message}`, data);
};

// ---------------------------------------------------------------------------------------------
// Encoding

function lengthBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) return badValue(`length ${n}`);
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Uint8Array.of(0x80 | out.length, ...out);
}

/** One TLV with a single-octet identifier (`tag` includes the class and constructed bits). */
export function derTlv(tag: number, content: Uint8Array): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) badValue(`tag ${tag} (only low tag numbers)`);
  return concatBytes(Uint8Array.of(tag), lengthBytes(content.length), content);
}

/** SEQUENCE of already encoded elements. */
export function derSequence(...items: Uint8Array[]): Uint8Array {
  return derTlv(DER_TAG.SEQUENCE, concatBytes(...items));
}

/** SET OF: DER sorts the element encodings (X.690 §11.6). */
export function derSet(...items: Uint8Array[]): Uint8Array {
  const sorted = [...items].sort(compareBytes);
  return derTlv(DER_TAG.SET, concatBytes(...sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Minimal two's complement content octets of a bigint (X.690 §8.3.2). */
function integerContent(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(BigInt.asUintN(8, x));
    out.unshift(byte);
    x >>= 8n;
    if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

/**
 * INTEGER: from a bigint/number, or from unsigned big-endian magnitude bytes (leading zeros
 * dropped, one 00 added when the top bit is set), always in the minimal encoding.
 */
export function derInteger(value: bigint | number | Uint8Array): Uint8Array {
  if (value instanceof Uint8Array) {
    let v = 0n;
    for (const b of value) v = (v << 8n) | BigInt(b);
    return derTlv(DER_TAG.INTEGER, integerContent(v));
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) badValue(`INTEGER ${value} is not a safe integer`);
  return derTlv(DER_TAG.INTEGER, integerContent(BigInt(value)));
}

/** ENUMERATED (same content rules as INTEGER). */
export function derEnumerated(value: number): Uint8Array {
  if (!Number.isSafeInteger(value)) badValue(`ENUMERATED ${value}`);
  return derTlv(DER_TAG.ENUMERATED, integerContent(BigInt(value)));
}

/** BOOLEAN: DER writes TRUE as FF (X.690 §11.1). */
export function derBoolean(value: boolean): Uint8Array {
  return derTlv(DER_TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
}

/** NULL. */
export function derNull(): Uint8Array {
  return Uint8Array.of(DER_TAG.NULL, 0);
}

function base128(v: bigint): number[] {
  const out = [Number(v & 0x7fn)];
  for (let x = v >> 7n; x > 0n; x >>= 7n) out.unshift(Number(x & 0x7fn) | 0x80);
  return out;
}

/** OBJECT IDENTIFIER from dotted decimal (X.690 §8.19). */
export function derOid(dotted: string): Uint8Array {
  if (!/^\d+(\.\d+)+$/.test(dotted)) badValue(`OID ${JSON.stringify(dotted)}`);
  const arcs = dotted.split('.').map((s) => BigInt(s));
  const [a, b] = [arcs[0]!, arcs[1]!];
  if (a > 2n || (a < 2n && b > 39n)) badValue(`OID ${dotted}: first arcs out of range`);
  const content = [...base128(a * 40n + b)];
  for (const arc of arcs.slice(2)) content.push(...base128(arc));
  return derTlv(DER_TAG.OID, Uint8Array.from(content));
}

/** OCTET STRING. */
export function derOctetString(value: Uint8Array): Uint8Array {
  return derTlv(DER_TAG.OCTET_STRING, value);
}

/** BIT STRING with `unusedBits` (0–7) padding bits at the end, which must be zero in DER. */
export function derBitString(value: Uint8Array, unusedBits = 0): Uint8Array {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (value.length === 0 && unusedBits !== 0)) badValue(`BIT STRING unused bits ${unusedBits}`);
  if (unusedBits > 0 && (value[value.length - 1]! & ((1 << unusedBits) - 1)) !== 0) badValue('BIT STRING padding bits must be zero');
  return derTlv(DER_TAG.BIT_STRING, concatBytes(Uint8Array.of(unusedBits), value));
}

/**
 * A named-bit BIT STRING (such as X.509 KeyUsage) from bit numbers (bit 0 = the top bit of the first
 * octet); DER drops trailing zero bits (X.690 §11.2.2).
 */
export function derNamedBits(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return derBitString(new Uint8Array(0));
  const top = Math.max(...bits);
  const out = new Uint8Array((top >> 3) + 1);
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0) badValue(`bit ${b}`);
    out[b >> 3]! |= 0x80 >> (b & 7);
  }
  return derBitString(out, 7 - (top & 7));
}

const utf8 = new TextEncoder();

/** UTF8String. */
export function derUtf8String(value: string): Uint8Array {
  return derTlv(DER_TAG.UTF8_STRING, utf8.encode(value));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
/** PrintableString (X.680 §41.4's character set). */
export function derPrintableString(value: string): Uint8Array {
  if (!PRINTABLE.test(value)) badValue(`PrintableString ${JSON.stringify(value)} has a character outside the set`);
  return derTlv(DER_TAG.PRINTABLE_STRING, utf8.encode(value));
}

/** IA5String (ASCII). */
export function derIa5String(value: string): Uint8Array {
  if (!/^[\x00-\x7f]*$/.test(value)) badValue('IA5String is ASCII only');
  return derTlv(DER_TAG.IA5_STRING, utf8.encode(value));
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
function timeDigits(d: Date): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) return badValue('time is not a valid Date');
  if (d.getUTCMilliseconds() !== 0) badValue('time has fractional seconds (RFC 5280 forbids them)');
  return `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

/** UTCTime YYMMDDHHMMSSZ (years 1950–2049, RFC 5280 §4.1.2.5.1). */
export function derUtcTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 2049) badValue(`UTCTime year ${y} outside 1950–2049`);
  return derTlv(DER_TAG.UTC_TIME, utf8.encode(pad(y % 100) + timeDigits(d)));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280 §4.1.2.5.2). */
export function derGeneralizedTime(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) badValue(`GeneralizedTime year ${y}`);
  return derTlv(DER_TAG.GENERALIZED_TIME, utf8.encode(pad(y, 4) + timeDigits(d)));
}

/** X.509 Time as RFC 5280 requires: UTCTime through 2049, GeneralizedTime from 2050. */
export function derTime(d: Date): Uint8Array {
  return d.getUTCFullYear() <= 2049 && d.getUTCFullYear() >= 1950 ? derUtcTime(d) : derGeneralizedTime(d);
}

/** [n] EXPLICIT: a constructed context-specific tag around one encoded element. */
export function derExplicit(n: number, inner: Uint8Array): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 30) badValue(`context tag ${n}`);
  return derTlv(CONTEXT | CONSTRUCTED | n, inner);
}

/**
 * [n] IMPLICIT: replaces the tag of an encoded element, keeping its content (and its constructed
 * bit, as X.690 §8.14.3 requires).
 */
export function derImplicit(n: number, inner: Uint8Array): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 30) badValue(`context tag ${n}`);
  const node = derDecode(inner);
  return derTlv(CONTEXT | (node.constructed ? CONSTRUCTED : 0) | n, node.content);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** One decoded TLV. `bytes` is the whole TLV, `content` its value octets (both views of the input). */
export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  readonly constructed: boolean;
  readonly content: Uint8Array;
  readonly bytes: Uint8Array;
  /** Offset of the TLV within the outermost decoded buffer. */
  readonly offset: number;
  /** The elements of a constructed value (empty for a primitive one). */
  readonly children: readonly DerNode[];
}

function parseAt(buf: Uint8Array, at: number, end: number, base: number, depth: number): DerNode {
  if (depth > 32) bad('DER_TOO_DEEP', `nesting deeper than 32 at offset ${base + at}`, { offset: base + at });
  if (at >= end) bad('DER_TRUNCATED', `no identifier octet at offset ${base + at}`, { offset: base + at });
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) bad('DER_TAG_UNSUPPORTED', `high tag number form at offset ${base + at}`, { offset: base + at, tag });
  if (at + 1 >= end) bad('DER_TRUNCATED', `no length octet at offset ${base + at + 1}`, { offset: base + at + 1 });
  let len = buf[at + 1]!;
  let hdr = 2;
  if (len === 0x80) bad('DER_LENGTH_INDEFINITE', `indefinite length at offset ${base + at + 1}`, { offset: base + at + 1 });
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4) bad('DER_LENGTH_TOO_LONG', `length of ${n} octets at offset ${base + at + 1}`, { offset: base + at + 1 });
    if (at + 2 + n > end) bad('DER_TRUNCATED', `length octets run past the end at offset ${base + at + 1}`, { offset: base + at + 1 });
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    if (buf[at + 2] === 0 || len < 0x80) bad('DER_LENGTH_NONMINIMAL', `length ${len} not in its shortest form at offset ${base + at + 1}`, { offset: base + at + 1 });
    hdr = 2 + n;
  }
  const start = at + hdr;
  if (start + len > end) bad('DER_TRUNCATED', `value of ${len} bytes at offset ${base + start} runs past the end`, { offset: base + start, length: len });
  const constructed = (tag & CONSTRUCTED) !== 0;
  const children: DerNode[] = [];
  if (constructed) {
    for (let p = start; p < start + len; ) {
      const child = parseAt(buf, p, start + len, base, depth + 1);
      children.push(child);
      p += child.bytes.length;
    }
  }
  return { tag, constructed, content: buf.subarray(start, start + len), bytes: buf.subarray(at, start + len), offset: base + at, children };
}

/**
 * Decode exactly one DER value (and, recursively, the elements of constructed values).
 * @throws {LayoutError} DER_TRUNCATED, DER_LENGTH_INDEFINITE, DER_LENGTH_NONMINIMAL, DER_LENGTH_TOO_LONG,
 * DER_TAG_UNSUPPORTED, DER_TRAILING_BYTES, DER_TOO_DEEP.
 */
export function derDecode(bytes: Uint8Array): DerNode {
  if (!(bytes instanceof Uint8Array)) return bad('DER_TRUNCATED', 'input is not a Uint8Array');
  const node = parseAt(bytes, 0, bytes.length, 0, 0);
  if (node.bytes.length !== bytes.length) bad('DER_TRAILING_BYTES', `${bytes.length - node.bytes.length} bytes after the value`, { offset: node.bytes.length });
  return node;
}

/** Check a node's identifier octet. @throws {LayoutError} DER_UNEXPECTED_TAG naming `what`. */
export function derExpect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) return bad('DER_MISSING', `${what}: missing`, { field: what });
  if (node.tag !== tag) bad('DER_UNEXPECTED_TAG', `${what}: tag 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)} (offset ${node.offset})`, { field: what, tag: node.tag, expected: tag, offset: node.offset });
  return node;
}

/** The elements of a SEQUENCE, with an exact count when `count` is given. */
export function derSequenceOf(node: DerNode | undefined, what: string, count?: number): readonly DerNode[] {
  const n = derExpect(node, DER_TAG.SEQUENCE, what);
  if (count !== undefined && n.children.length !== count) bad('DER_SEQUENCE_LENGTH', `${what}: ${n.children.length} elements, expected ${count}`, { field: what, count: n.children.length, expected: count });
  return n.children;
}

function integerValue(node: DerNode, what: string): bigint {
  const c = node.content;
  if (c.length === 0) bad('DER_INTEGER_EMPTY', `${what}: INTEGER with no content octets`, { field: what });
  if (c.length > 1 && ((c[0] === 0x00 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0))) {
    bad('DER_INTEGER_NONMINIMAL', `${what}: INTEGER not in its minimal encoding`, { field: what, offset: node.offset });
  }
  let v = 0n;
  for (const b of c) v = (v << 8n) | BigInt(b);
  if ((c[0]! & 0x80) !== 0) v -= 1n << BigInt(8 * c.length);
  return v;
}

/** An INTEGER's value. @throws {LayoutError} DER_UNEXPECTED_TAG, DER_INTEGER_EMPTY, DER_INTEGER_NONMINIMAL. */
export function derReadInteger(node: DerNode | undefined, what: string): bigint {
  return integerValue(derExpect(node, DER_TAG.INTEGER, what), what);
}

/** An INTEGER that must fit [min, max] as a number. @throws {LayoutError} DER_INTEGER_RANGE besides derReadInteger's. */
export function derReadSmallInteger(node: DerNode | undefined, what: string, min: number, max: number): number {
  const v = derReadInteger(node, what);
  if (v < BigInt(min) || v > BigInt(max)) bad('DER_INTEGER_RANGE', `${what}: ${v} outside [${min}, ${max}]`, { field: what, value: v.toString() });
  return Number(v);
}

/** An ENUMERATED's value (a number). */
export function derReadEnumerated(node: DerNode | undefined, what: string): number {
  const v = integerValue(derExpect(node, DER_TAG.ENUMERATED, what), what);
  if (v < BigInt(Number.MIN_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) bad('DER_INTEGER_RANGE', `${what}: ENUMERATED ${v} too large`, { field: what });
  return Number(v);
}

/** A BOOLEAN (DER: 00 or FF only). @throws {LayoutError} DER_BOOLEAN_VALUE. */
export function derReadBoolean(node: DerNode | undefined, what: string): boolean {
  const n = derExpect(node, DER_TAG.BOOLEAN, what);
  if (n.content.length !== 1 || (n.content[0] !== 0 && n.content[0] !== 0xff)) bad('DER_BOOLEAN_VALUE', `${what}: BOOLEAN content ${toHex(n.content)} (DER allows 00 or ff)`, { field: what });
  return n.content[0] === 0xff;
}

/** An OBJECT IDENTIFIER in dotted form. @throws {LayoutError} DER_OID_INVALID. */
export function derReadOid(node: DerNode | undefined, what: string): string {
  const c = derExpect(node, DER_TAG.OID, what).content;
  if (c.length === 0 || (c[c.length - 1]! & 0x80) !== 0) bad('DER_OID_INVALID', `${what}: OID empty or its last arc unterminated`, { field: what });
  const arcs: bigint[] = [];
  let v = 0n;
  let fresh = true;
  for (const b of c) {
    if (fresh && b === 0x80) bad('DER_OID_INVALID', `${what}: OID arc with a leading 0x80 (non-minimal)`, { field: what });
    v = (v << 7n) | BigInt(b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs[0]!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** An OCTET STRING's bytes, with an exact length when `length` is given. @throws {LayoutError} DER_LENGTH_VALUE. */
export function derReadOctetString(node: DerNode | undefined, what: string, length?: number): Uint8Array {
  const c = derExpect(node, DER_TAG.OCTET_STRING, what).content;
  if (length !== undefined && c.length !== length) bad('DER_LENGTH_VALUE', `${what}: ${c.length} bytes, expected ${length}`, { field: what, length: c.length, expected: length });
  return c.slice();
}

/** A BIT STRING: its bytes and unused bit count. @throws {LayoutError} DER_BITSTRING_INVALID (bad count, non-zero padding). */
export function derReadBitString(node: DerNode | undefined, what: string): { bytes: Uint8Array; unusedBits: number } {
  const c = derExpect(node, DER_TAG.BIT_STRING, what).content;
  if (c.length === 0) return bad('DER_BITSTRING_INVALID', `${what}: BIT STRING with no content octets`, { field: what });
  const unused = c[0]!;
  if (unused > 7 || (c.length === 1 && unused !== 0)) bad('DER_BITSTRING_INVALID', `${what}: ${unused} unused bits`, { field: what });
  if (unused > 0 && (c[c.length - 1]! & ((1 << unused) - 1)) !== 0) bad('DER_BITSTRING_INVALID', `${what}: padding bits not zero`, { field: what });
  return { bytes: c.slice(1), unusedBits: unused };
}

/** The bit numbers set in a named-bit BIT STRING (DER: no trailing zero bits). */
export function derReadNamedBits(node: DerNode | undefined, what: string): number[] {
  const { bytes, unusedBits } = derReadBitString(node, what);
  const out: number[] = [];
  for (let i = 0; i < bytes.length * 8 - unusedBits; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) out.push(i);
  if (bytes.length > 0 && (out.length === 0 || out[out.length - 1] !== bytes.length * 8 - unusedBits - 1)) {
    bad('DER_BITSTRING_INVALID', `${what}: named bits with trailing zero bits`, { field: what });
  }
  return out;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
/** A UTF8String, PrintableString or IA5String as text. @throws {LayoutError} DER_STRING_INVALID. */
export function derReadString(node: DerNode | undefined, what: string): string {
  if (node === undefined) return bad('DER_MISSING', `${what}: missing`, { field: what });
  let s = '';
  try {
    s = utf8Strict.decode(node.content);
  } catch {
    bad('DER_STRING_INVALID', `${what}: not valid UTF-8`, { field: what });
  }
  if (node.tag === DER_TAG.UTF8_STRING) return s;
  if (node.tag === DER_TAG.PRINTABLE_STRING) {
    if (!PRINTABLE.test(s)) bad('DER_STRING_INVALID', `${what}: character outside PrintableString`, { field: what });
    return s;
  }
  if (node.tag === DER_TAG.IA5_STRING) {
    if (!/^[\x00-\x7f]*$/.test(s)) bad('DER_STRING_INVALID', `${what}: non-ASCII IA5String`, { field: what });
    return s;
  }
  return bad('DER_UNEXPECTED_TAG', `${what}: tag 0x${node.tag.toString(16)} is not a supported string type`, { field: what, tag: node.tag });
}

/** UTCTime or GeneralizedTime in RFC 5280's forms (Z, seconds, no fraction). @throws {LayoutError} DER_TIME_INVALID. */
export function derReadTime(node: DerNode | undefined, what: string): Date {
  if (node === undefined) return bad('DER_MISSING', `${what}: missing`, { field: what });
  const s = new TextDecoder().decode(node.content);
  let m: RegExpMatchArray | null;
  let year: number;
  if (node.tag === DER_TAG.UTC_TIME) {
    m = s.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!m) return bad('DER_TIME_INVALID', `${what}: UTCTime ${JSON.stringify(s)} is not YYMMDDHHMMSSZ`, { field: what });
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === DER_TAG.GENERALIZED_TIME) {
    m = s.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (!m) return bad('DER_TIME_INVALID', `${what}: GeneralizedTime ${JSON.stringify(s)} is not YYYYMMDDHHMMSSZ`, { field: what });
    year = Number(m[1]);
  } else {
    return bad('DER_UNEXPECTED_TAG', `${what}: tag 0x${node.tag.toString(16)} is not a time`, { field: what, tag: node.tag });
  }
  const [mo, d, h, mi, se] = [2, 3, 4, 5, 6].map((i) => Number(m![i]));
  const date = new Date(Date.UTC(year, mo! - 1, d!, h!, mi!, se!));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== mo! - 1 || date.getUTCDate() !== d || date.getUTCHours() !== h || date.getUTCMinutes() !== mi || date.getUTCSeconds() !== se) {
    bad('DER_TIME_INVALID', `${what}: ${JSON.stringify(s)} is not a calendar time`, { field: what });
  }
  return date;
}

/** The content of a context-specific tag [n] (explicit: its single inner element). */
export function derContextTag(n: number, constructed = true): number {
  return CONTEXT | (constructed ? CONSTRUCTED : 0) | n;
}

// ---------------------------------------------------------------------------------------------
// ECDSA signatures: Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 / RFC 3279 §2.2.3)

/** r ‖ s (32 bytes each, big-endian) → DER Ecdsa-Sig-Value. @throws {LibError} DER_VALUE for a wrong length. */
export function ecdsaSignatureToDer(rs: Uint8Array): Uint8Array {
  if (!(rs instanceof Uint8Array) || rs.length !== 64) return badValue('ECDSA P-256 signature must be 64 bytes (r ‖ s)');
  return derSequence(derInteger(rs.subarray(0, 32)), derInteger(rs.subarray(32)));
}

/**
 * DER Ecdsa-Sig-Value → r ‖ s (64 bytes). @throws {LayoutError} besides the DER codes,
 * DER_ECDSA_SIGNATURE when r or s is not in [1, 2^256).
 */
export function ecdsaSignatureFromDer(der: Uint8Array): Uint8Array {
  const [r, s] = derSequenceOf(derDecode(der), 'Ecdsa-Sig-Value', 2).map((n, i) => derReadInteger(n, i === 0 ? 'Ecdsa-Sig-Value.r' : 'Ecdsa-Sig-Value.s'));
  const out = new Uint8Array(64);
  [r!, s!].forEach((v, i) => {
    if (v <= 0n || v >= 1n << 256n) bad('DER_ECDSA_SIGNATURE', `Ecdsa-Sig-Value.${i === 0 ? 'r' : 's'} outside [1, 2^256)`, { field: i === 0 ? 'r' : 's' });
    let x = v;
    for (let j = 31; j >= 0; j--) {
      out[i * 32 + j] = Number(x & 0xffn);
      x >>= 8n;
    }
  });
  return out;
}
