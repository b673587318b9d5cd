/**
 * A crypto provider with no node: imports, for a browser (a Web Worker): SHA-256, HMAC and HKDF
 * from @noble/hashes, AES from @noble/ciphers, P-256 from @noble/curves, RSA on BigInt here.
 *
 * It answers as createNodeCrypto (node.ts) does: the same bytes for the same inputs, the same
 * LibError codes for the same bad inputs (the provider's own checks, written as node.ts writes
 * them), and where node:crypto itself refuses an argument, its TypeError or RangeError with its
 * `code`. Keys are read from PEM as OpenSSL reads them (its leniencies included, see pemBlocks and
 * ber). Tested against node.ts in test/lib/crypto-portable.test.ts. No openSha256Pipeline: the
 * caller hashes on its own thread.
 *
 * Not hardened against timing: RSA runs on variable-time BigInt arithmetic without blinding, and
 * noble's AES is table-based. That suits a model whose keys are the model's own (signing keys for
 * test enclaves, simulated fuse keys), not keys a deployment must keep secret.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { cmac, ctr, gcm } from '@noble/ciphers/aes.js';
import { p256 } from '@noble/curves/nist.js';
import { LibError } from '../errors.js';
import { toBase64, typedLength } from '../bytes.js';
import { derBitString, derInteger, derNull, derOctetString, derOid, derSequence } from '../der.js';
import { registerBuiltInProvider, type AesGcmSealed, type CryptoProvider, type RsaKeyPair, type Sha256Stream } from './provider.js';

// ---- Arguments, as node:crypto reads them -------------------------------------------------------

// The intrinsic accessors, as they were when this module loaded: an object that overrides
// `length`, `buffer` or its prototype cannot answer through these.
const TA_PROTO = Object.getPrototypeOf(Uint8Array.prototype) as object;
type Getter = (this: unknown) => unknown;
const getter = (proto: object, name: PropertyKey): Getter => Object.getOwnPropertyDescriptor(proto, name)!.get! as Getter;
const TA_TAG = getter(TA_PROTO, Symbol.toStringTag), TA_BUFFER = getter(TA_PROTO, 'buffer'), TA_OFFSET = getter(TA_PROTO, 'byteOffset'), TA_BYTES = getter(TA_PROTO, 'byteLength');
const DV_BUFFER = getter(DataView.prototype, 'buffer'), DV_OFFSET = getter(DataView.prototype, 'byteOffset'), DV_BYTES = getter(DataView.prototype, 'byteLength');
const AB_BYTES = getter(ArrayBuffer.prototype, 'byteLength');
const SAB_BYTES = typeof SharedArrayBuffer === 'function' ? getter(SharedArrayBuffer.prototype, 'byteLength') : null;
const IS_VIEW = ArrayBuffer.isView;
const U8 = Uint8Array;
const UTF8 = new TextEncoder();
const EMPTY = new U8(0);

/** A genuine Uint8Array of this realm or another (a Buffer is one; a proxy or a dressed-up Uint16Array is not), as node:util's types.isUint8Array answers. */
function isUint8Array(x: unknown): x is Uint8Array {
  return TA_TAG.call(x) === 'Uint8Array';
}

/** node:crypto's own errors carry a `code` (ERR_INVALID_ARG_TYPE, ...): the same class and code here. */
function nodeError(Kind: TypeErrorConstructor | RangeErrorConstructor, code: string, message: string): Error {
  return Object.assign(new Kind(message), { code });
}

function check(cond: boolean, code: string, msg: string): void {
  if (!cond) throw new LibError(code, msg);
}

/**
 * The bytes node:crypto reads from a data argument, as a fresh plain view of them: a typed array's
 * or a DataView's bytes, a string's UTF-8, an ArrayBuffer's bytes where node takes one
 * (`arrayBuffers`); otherwise node's TypeError (ERR_INVALID_ARG_TYPE).
 */
function bytesIn(x: unknown, name: string, arrayBuffers = false): Uint8Array {
  // A detached buffer's view reads as no bytes, as node:crypto reads it (a view cannot be made on it).
  if (TA_TAG.call(x) !== undefined) return viewOf(TA_BUFFER.call(x) as ArrayBuffer, TA_OFFSET.call(x) as number, TA_BYTES.call(x) as number);
  if (typeof x === 'string') return UTF8.encode(x);
  if (IS_VIEW(x)) {
    let n: number;
    try {
      n = DV_BYTES.call(x) as number; // throws for a detached DataView's
    } catch {
      return new U8(0);
    }
    return viewOf(DV_BUFFER.call(x) as ArrayBuffer, DV_OFFSET.call(x) as number, n);
  }
  const bytes = arrayBuffers ? bufferBytes(x) : null;
  if (bytes !== null) return viewOf(x as ArrayBuffer, 0, bytes);
  throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string or an instance of ${arrayBuffers ? 'ArrayBuffer, ' : ''}Buffer, TypedArray, or DataView`);
}

/** `n` bytes of `buffer` at `offset`, as a fresh view; none, a fresh empty array (the buffer may be detached). */
function viewOf(buffer: ArrayBuffer, offset: number, n: number): Uint8Array {
  return n === 0 ? new U8(0) : new U8(buffer, offset, n);
}

function isArrayBuffer(x: unknown): x is ArrayBuffer {
  return bufferBytes(x) !== null;
}

/** The byte length of an ArrayBuffer or SharedArrayBuffer (0 when detached); null for anything else. */
function bufferBytes(x: unknown): number | null {
  for (const get of [AB_BYTES, SAB_BYTES]) {
    try {
      if (get !== null) return get.call(x) as number;
    } catch {
      // not this kind of buffer
    }
  }
  return null;
}

/** createCipheriv's key: 16 bytes for AES-128, else its RangeError. */
function cipherKey(key: unknown): Uint8Array {
  const k = bytesIn(key, 'key', true);
  if (k.length !== 16) throw nodeError(RangeError, 'ERR_CRYPTO_INVALID_KEYLEN', 'Invalid key length');
  return k;
}

/** createCipheriv's IV: `n` bytes (CTR), or at least one (GCM: other lengths than 12 go through GHASH, NIST SP 800-38D §7.1 step 2), else its TypeError. */
function cipherIv(iv: unknown, n: number | null): Uint8Array {
  const v = bytesIn(iv, 'iv', true);
  if (n === null ? v.length === 0 : v.length !== n) throw nodeError(TypeError, 'ERR_CRYPTO_INVALID_IV', 'Invalid initialization vector');
  return v;
}

// ---- SHA-256 (FIPS 180-4) -----------------------------------------------------------------------

type NobleSha256 = ReturnType<typeof sha256.create>;

function finalized(): LibError {
  // node:crypto's code for the same misuse (a Hash after digest()).
  return new LibError('ERR_CRYPTO_HASH_FINALIZED', 'SHA-256: digest already called');
}

class PortableSha256 implements Sha256Stream {
  readonly #h: NobleSha256;
  #done = false;
  constructor(h: NobleSha256 = sha256.create()) {
    this.#h = h;
  }
  update(data: Uint8Array): void {
    if (this.#done) throw finalized();
    this.#h.update(bytesIn(data, 'data'));
  }
  digest(): Uint8Array {
    if (this.#done) throw finalized();
    this.#done = true;
    return this.#h.digest(); // a fresh array; the state is wiped
  }
  copy(): Sha256Stream {
    if (this.#done) throw finalized();
    return new PortableSha256(this.#h.clone());
  }
}
// Its methods cannot be replaced through an instance someone else holds (the measurement's streams are these).
Object.freeze(PortableSha256.prototype);

/**
 * One-shot SHA-256 on one reused hash object: reset from a pristine one (_cloneInto copies the
 * initial state, FIPS 180-4 §5.3.3), digested into a fresh array, then wiped.
 */
class OneShotSha256 {
  readonly #pristine = sha256.create();
  readonly #work = sha256.create();
  hash(data: Uint8Array): Uint8Array {
    const out = new U8(32);
    this.#pristine._cloneInto(this.#work);
    try {
      this.#work.update(data);
      this.#work.digestInto(out);
    } finally {
      this.#work.destroy();
    }
    return out;
  }
}

// ---- Random bytes -------------------------------------------------------------------------------

interface RandomSource {
  getRandomValues(a: Uint8Array): Uint8Array;
}
/** Web Crypto's CSPRNG (browsers, workers, Node 20), taken when the module loads. */
const WEB_CRYPTO = (globalThis as { crypto?: RandomSource }).crypto;
const GET_RANDOM = WEB_CRYPTO?.getRandomValues;
/** getRandomValues fills at most 65,536 bytes a call (W3C Web Crypto, §10.1.1). */
const RANDOM_CHUNK = 65536;

function randomBytes(n: number): Uint8Array {
  // node:crypto's checks on the size: a number in [0, 2^31 − 1] (a fraction is truncated).
  if (typeof n !== 'number') throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "size" argument must be of type number. Received type ${typeof n}`);
  if (!(n >= 0 && n <= 2147483647)) throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "size" is out of range. It must be >= 0 && <= 2147483647. Received ${n}`);
  if (WEB_CRYPTO === undefined || typeof GET_RANDOM !== 'function') throw new LibError('RANDOM_UNAVAILABLE', 'no crypto.getRandomValues in this environment');
  const out = new U8(n);
  for (let o = 0; o < out.length; o += RANDOM_CHUNK) GET_RANDOM.call(WEB_CRYPTO, out.subarray(o, Math.min(o + RANDOM_CHUNK, out.length)));
  return out;
}

// ---- AES-128-GCM (NIST SP 800-38D) --------------------------------------------------------------

/** noble's gcm decrypt throws this when the tag does not verify (SP 800-38D §7.2 step 8: FAIL). */
function isTagFailure(e: unknown): boolean {
  return e instanceof Error && /invalid tag/.test(e.message);
}

/** The tag's bytes, as setAuthTag reads them: 16 (a tag of 16 elements of more than a byte each is its TypeError). */
function authTag(tag: unknown): Uint8Array {
  const t = bytesIn(tag, 'buffer');
  if (t.length !== 16) throw nodeError(TypeError, 'ERR_CRYPTO_INVALID_AUTH_TAG', `Invalid authentication tag length: ${t.length}`);
  return t;
}

// ---- Base64 (RFC 4648 §4) and PEM (RFC 7468), as OpenSSL reads them ---------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/**
 * Base64 as OpenSSL's EVP_DecodeUpdate takes it: spaces, tabs and line ends skipped, a '-' ends the
 * data, '=' only as the last one or two characters of the last quantum; null otherwise.
 */
function unbase64(text: string): Uint8Array | null {
  const v: number[] = [];
  let pad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) continue;
    if (c === 0x2d) break;
    if (c === 0x3d) {
      if (++pad > 2) return null;
      v.push(0);
      continue;
    }
    const x = c < 128 ? B64_VALUE[c]! : -1;
    if (x < 0 || pad > 0) return null;
    v.push(x);
  }
  if (v.length % 4 !== 0) return null;
  const out = new U8((v.length / 4) * 3);
  for (let i = 0, o = 0; i < v.length; i += 4, o += 3) {
    const w = (v[i]! << 18) | (v[i + 1]! << 12) | (v[i + 2]! << 6) | v[i + 3]!;
    out[o] = w >>> 16;
    out[o + 1] = (w >>> 8) & 0xff;
    out[o + 2] = w & 0xff;
  }
  return out.subarray(0, out.length - pad);
}

/** PEM as node:crypto writes it: 64-character lines (RFC 7468 §2). */
function pem(label: string, der: Uint8Array): string {
  const b = toBase64(der);
  let s = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b.length; i += 64) s += b.slice(i, i + 64) + '\n';
  return s + `-----END ${label}-----\n`;
}

interface PemBlock {
  readonly label: string;
  /** The lines before a blank line after BEGIN (RFC 1421 headers such as Proc-Type), each ending in \n (or at its first NUL). */
  readonly header: string;
  readonly der: Uint8Array;
}

/**
 * A line as OpenSSL compares it: trailing spaces, control characters and bytes of 0x80 and above
 * stripped (sanitize_line compares a char, signed on x86-64, with ' '; a character above 0x7f is
 * such bytes in UTF-8, and a byte of PEM bytes is read as one character).
 */
function trimLine(l: string): string {
  let n = l.length;
  for (let c = l.charCodeAt(n - 1); n > 0 && (c <= 0x20 || c >= 0x80); c = l.charCodeAt(--n - 1));
  return l.slice(0, n);
}

/**
 * The PEM blocks of `text` in order, as OpenSSL's PEM_read_bio_ex reads them: a BEGIN line starts a
 * line (text before it is skipped), trailing spaces are ignored, a blank line ends a header (after
 * it, data lines are at most 64 characters, a short one the last), END names the same label. A
 * block that does not read (its END missing or wrong, bad base64, a second blank line) is null in
 * the list, and reading goes on after the line where it failed.
 */
function pemBlocks(text: string): (PemBlock | null)[] {
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text.startsWith('\xef\xbb\xbf') ? text.slice(3) : text).split('\n');
  const out: (PemBlock | null)[] = [];
  let i = 0;
  for (;;) {
    let label: string | null = null;
    for (; i < lines.length && label === null; i++) {
      const l = trimLine(lines[i]!);
      // The label as OpenSSL keeps it: a C string, up to a NUL.
      if (l.startsWith('-----BEGIN ') && l.length >= 16 && l.endsWith('-----')) label = l.slice(11, -5).split('\0', 1)[0]!;
    }
    if (label === null) return out;
    const MAYBE = 0, IN_HEADER = 1, POST_HEADER = 2;
    let state = MAYBE, last = false, closed = false, bad = false;
    let header: string[] = [], data: string[] = [];
    for (; i < lines.length; i++) {
      const raw = lines[i]!;
      if (state === MAYBE && raw.includes(':')) state = IN_HEADER;
      const l = trimLine(raw);
      if (l === '') {
        if (state === POST_HEADER) {
          bad = true;
          i++;
          break;
        }
        state = POST_HEADER;
        continue;
      }
      if (l.startsWith('-----END ')) {
        if (l !== `-----END ${label}-----`) bad = true;
        else if (state === MAYBE) [header, data] = [data, header];
        closed = true;
        i++;
        break;
      }
      if (last) {
        bad = true;
        i++;
        break;
      }
      // Kept as OpenSSL's BIO_puts keeps it: a C string, up to a NUL (and then without its line end).
      const nul = l.indexOf('\0');
      (state === POST_HEADER ? data : header).push(nul < 0 ? l + '\n' : l.slice(0, nul));
      if (state === POST_HEADER) {
        if (l.length > 64) {
          bad = true;
          i++;
          break;
        }
        if (l.length < 64) last = true;
      }
    }
    const der = bad || !closed ? null : unbase64(data.join(''));
    // No data bytes: OpenSSL's allocation of none fails (CRYPTO_malloc(0) is NULL), and the block does not read.
    out.push(der === null || der.length === 0 ? null : { label, header: header.join(''), der });
  }
}

/** The text of a PEM argument: a string, or bytes (node:crypto takes a Buffer, a view or an ArrayBuffer of PEM text); null otherwise. */
function pemText(x: unknown): string | null {
  if (typeof x === 'string') return x;
  let b: Uint8Array;
  try {
    b = bytesIn(x, 'key', true);
  } catch {
    return null;
  }
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

// ---- BER (ITU-T X.690 §8), as OpenSSL's d2i reads a key ----------------------------------------------

function keyInvalid(msg: string): LibError {
  return new LibError('RSA_KEY_INVALID', msg);
}

/** One element: its identifier octet, and its contents [start, end) in `buf`; `next` is where the element after it starts. */
interface Ber {
  readonly tag: number;
  readonly buf: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly next: number;
}

/**
 * The element at `at` (before `limit`): definite lengths in short or long form, leading zero
 * length octets allowed (§8.1.3.5); indefinite lengths for constructed values, ended by
 * end-of-contents (§8.1.3.6). A tag in the high-number form (§8.1.2.4) is read as OpenSSL's
 * ASN1_get_object reads it; a number of 31 and above is kept as the first octet, which no field
 * here expects. Bytes after the element are left to the caller (OpenSSL ignores them).
 */
function ber(buf: Uint8Array, at: number, limit: number, depth = 0): Ber {
  if (depth > 32 || at + 2 > limit) throw keyInvalid('BER: truncated or too deep');
  let tag = buf[at]!;
  let p = at + 1;
  if ((tag & 0x1f) === 0x1f) {
    let number = 0;
    for (;;) {
      if (p + 2 > limit) throw keyInvalid('BER: truncated tag');
      const b = buf[p++]!;
      number = number * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
      if (number > 0x7fffffff >> 7) throw keyInvalid('BER: tag number too large'); // above INT_MAX once shifted
    }
    // A low number in the high form is that number's tag (OpenSSL compares the numbers).
    if (number < 0x1f) tag = (tag & 0xe0) | number;
  }
  let len = buf[p++]!;
  if (len === 0x80) {
    if ((tag & 0x20) === 0) throw keyInvalid('BER: indefinite length on a primitive value');
    for (let q = p; ; ) {
      if (q + 2 > limit) throw keyInvalid('BER: no end-of-contents');
      if (buf[q] === 0 && buf[q + 1] === 0) return { tag, buf, start: p, end: q, next: q + 2 };
      q = ber(buf, q, limit, depth + 1).next;
    }
  }
  if (len > 0x80) {
    const k = len & 0x7f;
    if (p + k > limit) throw keyInvalid('BER: truncated length');
    len = 0;
    for (let j = 0; j < k; j++) {
      len = len * 256 + buf[p++]!;
      if (len > limit) throw keyInvalid('BER: length past the end');
    }
  }
  if (p + len > limit) throw keyInvalid('BER: contents past the end');
  return { tag, buf, start: p, end: p + len, next: p + len };
}

function children(e: Ber, depth = 1): Ber[] {
  const out: Ber[] = [];
  for (let q = e.start; q < e.end; ) {
    // End-of-contents ends an indefinite length only (OpenSSL: ASN1_R_UNEXPECTED_EOC).
    if (e.buf[q] === 0 && e.buf[q + 1] === 0 && q + 2 <= e.end) throw keyInvalid('BER: end-of-contents inside a definite length');
    const c = ber(e.buf, q, e.end, depth);
    out.push(c);
    q = c.next;
  }
  return out;
}

const SEQUENCE = 0x30, INTEGER = 0x02, BIT_STRING = 0x03, OCTET_STRING = 0x04, OID = 0x06;

function expect(e: Ber | undefined, tag: number, what: string): Ber {
  if (e === undefined || e.tag !== tag) throw keyInvalid(`${what}: missing or of another type`);
  return e;
}

function sequence(e: Ber | undefined, what: string, min: number, max = min): Ber[] {
  const c = children(expect(e, SEQUENCE, what));
  if (c.length < min || c.length > max) throw keyInvalid(`${what}: ${c.length} elements`);
  return c;
}

/**
 * An INTEGER as OpenSSL's ASN1_INTEGER or INT32 reads it (c2i_ibuf): two's complement in minimal
 * form (X.690 §8.3.2); `empty`, the value of no content octets (INT32's 0), else refused.
 */
function smallInteger(e: Ber | undefined, what: string, empty: bigint | null): bigint {
  const c = contents(expect(e, INTEGER, what));
  if (c.length === 0) {
    if (empty === null) throw keyInvalid(`${what}: no content octets`);
    return empty;
  }
  if (c.length > 1 && ((c[0] === 0 && c[1]! < 0x80) || (c[0] === 0xff && c[1]! >= 0x80))) throw keyInvalid(`${what}: not in minimal form`);
  const v = os2ip(c);
  return c[0]! >= 0x80 ? v - (1n << BigInt(8 * c.length)) : v;
}

/** An INTEGER as an OpenSSL BIGNUM field reads it: its content octets as an unsigned magnitude (sign and minimality ignored). */
function bigint(e: Ber | undefined, what: string): bigint {
  const x = expect(e, INTEGER, what);
  let v = 0n;
  for (let i = x.start; i < x.end; i++) v = (v << 8n) | BigInt(x.buf[i]!);
  return v;
}

function contents(e: Ber): Uint8Array {
  return e.buf.subarray(e.start, e.end);
}

/**
 * A string's contents as OpenSSL's d2i takes them (asn1_collect): primitive, or constructed
 * (§8.7.3) of pieces of any tag, nested up to 5 deep, their contents concatenated.
 */
function stringContents(e: Ber | undefined, tag: number, what: string): Uint8Array {
  if (e === undefined || e.tag !== (tag | 0x20)) return contents(expect(e, tag, what));
  const pieces: Uint8Array[] = [];
  const collect = (c: Ber, depth: number): void => {
    for (const x of children(c)) {
      if ((x.tag & 0x20) === 0) pieces.push(contents(x));
      else if (depth >= 5) throw keyInvalid(`${what}: constructed string nested too deep`);
      else collect(x, depth + 1);
    }
  };
  collect(e, 0);
  const out = new U8(pieces.reduce((n, x) => n + x.length, 0));
  pieces.reduce((at, x) => (out.set(x, at), at + x.length), 0);
  return out;
}

/**
 * An ANY (an AlgorithmIdentifier's parameters) as OpenSSL's d2i takes one (asn1_d2i_ex_primitive,
 * asn1_ex_c2i): a universal type's contents must be that type's (X.690 §8.2-8.20); other classes
 * and high tag numbers, any contents.
 */
function anyValue(e: Ber, what: string): void {
  const type = e.tag & 0x1f, constructed = (e.tag & 0x20) !== 0;
  if ((e.tag & 0xc0) !== 0 || type === 0x1f) return;
  if (type === 16 || type === 17) {
    if (!constructed) throw keyInvalid(`${what}: a primitive SEQUENCE or SET`);
    return;
  }
  if (constructed && [1, 2, 5, 6, 10].includes(type)) throw keyInvalid(`${what}: a constructed BOOLEAN, INTEGER, NULL, OID or ENUMERATED`);
  const c = stringContents(e, type, what);
  const bad = (type === 1 && c.length !== 1) || (type === 5 && c.length !== 0) || (type === 3 && !(c.length >= 1 && c[0]! <= 7)) ||
    (type === 6 && (c.length === 0 || c[c.length - 1]! >= 0x80 || c.some((x, i) => x === 0x80 && (i === 0 || c[i - 1]! < 0x80)))) ||
    (type === 28 && c.length % 4 !== 0) || (type === 30 && c.length % 2 !== 0);
  if (bad) throw keyInvalid(`${what}: not a valid value of universal type ${type}`);
  if (type === 2 || type === 10) smallInteger({ ...e, tag: INTEGER }, what, null);
}

function sameBytes(a: Uint8Array, b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** rsaEncryption (RFC 8017 Appendix C), as its OID's content octets. */
const RSA_ENCRYPTION = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/** Key algorithms node:crypto reads other than RSA, by OID content octets, with its names for them (KeyObject.asymmetricKeyType). */
const OTHER_KEY_TYPES: readonly (readonly [readonly number[], string])[] = [
  [[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a], 'rsa-pss'], // RFC 4055 §3.1
  [[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01], 'ec'], // RFC 5480 §2.1.1
  [[0x2b, 0x65, 0x6e], 'x25519'], [[0x2b, 0x65, 0x6f], 'x448'], [[0x2b, 0x65, 0x70], 'ed25519'], [[0x2b, 0x65, 0x71], 'ed448'], // RFC 8410 §3
  [[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01], 'dsa'], // RFC 3279 §2.3.2
  [[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01], 'dh'], [[0x2a, 0x86, 0x48, 0xce, 0x3e, 0x02, 0x01], 'dh'], // PKCS #3, RFC 3279 §2.3.3
];

/** A key of another type than RSA, by node:crypto's name for it. */
interface OtherKey {
  readonly other: string;
}

/** The type of a key algorithm other than RSA; a key of an algorithm node:crypto does not know does not read. */
function otherKey(oid: Uint8Array): OtherKey {
  const t = OTHER_KEY_TYPES.find(([o]) => sameBytes(oid, o));
  if (t === undefined) throw keyInvalid('an unknown key algorithm');
  return { other: t[1] };
}

/** An AlgorithmIdentifier's OID (RFC 5280 §4.1.1.2); OpenSSL ignores rsaEncryption's parameters once decoded (an ANY). */
function algorithm(e: Ber | undefined, what: string): Uint8Array {
  const [oid, parameters] = sequence(e, what, 1, 2);
  if (parameters !== undefined) anyValue(parameters, `${what}.parameters`);
  return contents(expect(oid, OID, `${what}.algorithm`));
}

interface RsaPublic {
  readonly n: bigint;
  readonly e: bigint;
}
interface RsaPrivate extends RsaPublic {
  readonly d: bigint;
  readonly p: bigint;
  readonly q: bigint;
  readonly dP: bigint;
  readonly dQ: bigint;
  readonly qInv: bigint;
  /** A multi-prime key (version 1, RFC 8017 Appendix A.1.2): signed with d. */
  readonly multi: boolean;
}

/** RSAPublicKey (RFC 8017 Appendix A.1.1) at the start of `b`. */
function rsaPublicKey(b: Uint8Array): RsaPublic {
  const [n, e] = sequence(ber(b, 0, b.length), 'RSAPublicKey', 2);
  return { n: bigint(n, 'modulus'), e: bigint(e, 'publicExponent') };
}

/** SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) of an RSA key (RFC 3279 §2.3.1), or the type of another. */
function spkiRsa(b: Uint8Array): RsaPublic | OtherKey {
  return spkiOf(ber(b, 0, b.length));
}

function spkiOf(e: Ber): RsaPublic | OtherKey {
  const [alg, key] = sequence(e, 'SubjectPublicKeyInfo', 2);
  const oid = algorithm(alg, 'SubjectPublicKeyInfo.algorithm');
  const bits = stringContents(key, BIT_STRING, 'subjectPublicKey');
  if (!sameBytes(oid, RSA_ENCRYPTION)) return otherKey(oid);
  const unused = bits[0];
  if (unused === undefined || unused > 7) throw keyInvalid('subjectPublicKey: bad unused-bits count');
  const bytes = bits.slice(1);
  // OpenSSL clears the unused bits of the last octet (X.690 §8.6.2.3 leaves them to the sender).
  if (bytes.length > 0) bytes[bytes.length - 1]! &= 0xff << unused;
  return rsaPublicKey(bytes);
}

/** An X.509 certificate's RSA key (RFC 5280 §4.1): tbsCertificate's subjectPublicKeyInfo, after the optional [0] version. */
function certificateRsa(b: Uint8Array): RsaPublic | OtherKey {
  const [tbs] = sequence(ber(b, 0, b.length), 'Certificate', 1, 3);
  const fields = sequence(tbs, 'TBSCertificate', 6, 11);
  return spkiOf(fields[fields[0]!.tag === 0xa0 ? 6 : 5] ?? expect(undefined, SEQUENCE, 'subjectPublicKeyInfo'));
}

/** RSAPrivateKey (RFC 8017 Appendix A.1.2) at the start of `b`: version, n, e, d, p, q, dP, dQ, qInv and, for version 1, otherPrimeInfos. */
function rsaPrivateKey(b: Uint8Array): RsaPrivate {
  const f = sequence(ber(b, 0, b.length), 'RSAPrivateKey', 9, 10);
  // version is an INT32 (OpenSSL's RSA template): no content octets read as 0.
  const version = smallInteger(f[0], 'RSAPrivateKey.version', 0n);
  if (version < -0x80000000n || version > 0x7fffffffn) throw keyInvalid('RSAPrivateKey: version out of range');
  const multi = version === 1n;
  if (f[9] !== undefined) {
    const others = sequence(f[9], 'otherPrimeInfos', 1, 3);
    for (const o of others) sequence(o, 'OtherPrimeInfo', 3).forEach((x) => bigint(x, 'OtherPrimeInfo'));
  } else if (multi) throw keyInvalid('RSAPrivateKey: version 1 without otherPrimeInfos');
  const [n, e, d, p, q, dP, dQ, qInv] = f.slice(1, 9).map((x) => bigint(x, 'RSAPrivateKey')) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  return { n, e, d, p, q, dP, dQ, qInv, multi };
}

/** What a private-key block holds: an RSA key, a key of another type, or nothing OpenSSL reads. */
type PrivateRead = RsaPrivate | OtherKey | null;

/** PrivateKeyInfo (RFC 5208 §5; version 1 of RFC 5958 too), with optional attributes. */
function pkcs8(b: Uint8Array): PrivateRead {
  try {
    const f = sequence(ber(b, 0, b.length), 'PrivateKeyInfo', 3, 4);
    smallInteger(f[0], 'PrivateKeyInfo.version', null);
    const oid = algorithm(f[1], 'privateKeyAlgorithm');
    const key = stringContents(f[2], OCTET_STRING, 'privateKey');
    if (f[3] !== undefined && f[3].tag !== 0xa0) return null;
    return sameBytes(oid, RSA_ENCRYPTION) ? rsaPrivateKey(key) : otherKey(oid);
  } catch (e) {
    if (e instanceof LibError) return null;
    throw e;
  }
}

function pkcs1OrPkcs8(b: Uint8Array): PrivateRead {
  try {
    return rsaPrivateKey(b);
  } catch (e) {
    if (e instanceof LibError) return pkcs8(b);
    throw e;
  }
}

/** An EC (SEC 1 C.4) or DSA private key, as far as telling it from bytes OpenSSL would not decode: a SEQUENCE opening with an INTEGER. */
function otherPrivateKey(b: Uint8Array, type: string): PrivateRead {
  try {
    const f = children(expect(ber(b, 0, b.length), SEQUENCE, 'private key'));
    return f.length >= 2 && f[0]!.tag === INTEGER ? { other: type } : null;
  } catch (e) {
    if (e instanceof LibError) return null;
    throw e;
  }
}

/**
 * The first private key among the blocks, as OpenSSL's PEM_read_bio_PrivateKey finds one: blocks
 * of other labels, blocks that do not read and keys that do not decode are passed over; an
 * encrypted one (there is no passphrase) or a header ends the search.
 */
function privateKeyOf(blocks: readonly (PemBlock | null)[]): RsaPrivate | OtherKey {
  for (const b of blocks) {
    if (b === null) continue;
    let read: PrivateRead;
    if (b.label === 'PRIVATE KEY') read = pkcs8(b.der);
    // OpenSSL 3's PEM decoder takes both RSA labels as the RSA type (decode_pem2der.c), so a private key under RSA PUBLIC KEY reads.
    else if (b.label === 'RSA PRIVATE KEY' || b.label === 'RSA PUBLIC KEY') read = pkcs1OrPkcs8(b.der);
    else if (b.label === 'ENCRYPTED PRIVATE KEY') throw keyInvalid('an encrypted private key (no passphrase)');
    else if (b.label === 'EC PRIVATE KEY' || b.label === 'DSA PRIVATE KEY') read = otherPrivateKey(b.der, b.label === 'EC PRIVATE KEY' ? 'ec' : 'dsa');
    else continue;
    // A header OpenSSL reads (more than 10 characters) is a Proc-Type for an encrypted key, or an error.
    if (b.header.length > 10) throw keyInvalid('an encrypted PEM private key (no passphrase)');
    if (read !== null) return read;
  }
  throw keyInvalid('no private key');
}

/** The first block whose label `accept`s, unless a block before it does not read; a block with a header is not taken (PEM_bytes_read_bio). */
function publicBlock(blocks: readonly (PemBlock | null)[], accept: (label: string) => boolean): PemBlock | null {
  for (const b of blocks) {
    if (b === null) return null;
    if (accept(b.label)) return b.header === '' ? b : null;
  }
  return null;
}

/**
 * The public numbers of a PEM key as node:crypto's createPublicKey finds them: a PUBLIC KEY block,
 * else RSA PUBLIC KEY, else a certificate, else a private key.
 */
function publicNumbersOf(text: string): RsaPublic | OtherKey {
  const blocks = pemBlocks(text);
  let b = publicBlock(blocks, (l) => l === 'PUBLIC KEY');
  if (b !== null) return spkiRsa(b.der);
  b = publicBlock(blocks, (l) => l === 'RSA PUBLIC KEY');
  if (b !== null) return rsaPublicKey(b.der);
  b = publicBlock(blocks, (l) => l === 'CERTIFICATE' || l === 'X509 CERTIFICATE');
  if (b !== null) return certificateRsa(b.der);
  return privateKeyOf(blocks);
}

/**
 * An RSA key read by `read` from a PEM argument, or node.ts's RSA_KEY_INVALID: `unreadable` (what
 * did not read is the cause) or `notRsa` with the key's type.
 */
function rsaKey<K extends RsaPublic>(pemArg: unknown, read: (text: string) => K | OtherKey, unreadable: string, notRsa: string): K {
  let k: K | OtherKey;
  try {
    const text = pemText(pemArg);
    if (text === null) throw keyInvalid('not PEM text');
    k = read(text);
  } catch (e) {
    if (e instanceof LibError && e.code === 'RSA_KEY_INVALID') throw new LibError('RSA_KEY_INVALID', unreadable, {}, { cause: e });
    throw e;
  }
  if ('other' in k) throw new LibError('RSA_KEY_INVALID', `${notRsa}: ${k.other}`);
  return k;
}

// ---- Integers -----------------------------------------------------------------------------------

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Big-endian bytes, exactly `len` of them (I2OSP, RFC 8017 §4.1), or as few as hold `x` (0: none). */
function i2osp(x: bigint, len = Math.ceil(bitLength(x) / 8)): Uint8Array {
  const out = new U8(len);
  let v = x;
  for (let i = len - 1; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** OS2IP (RFC 8017 §4.2). */
function os2ip(b: Uint8Array): bigint {
  let hex = '';
  for (let i = 0; i < b.length; i++) hex += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return hex === '' ? 0n : BigInt('0x' + hex);
}

/**
 * base^exp mod m by left-to-right sliding windows (HAC Algorithm 14.85): windows of up to 5 bits
 * for long exponents, so that about one multiplication follows every six squarings.
 */
function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m === 1n) return 0n;
  const b = base % m;
  const bits = exp.toString(2);
  const w = bits.length > 256 ? 5 : bits.length > 32 ? 4 : 1;
  // Odd powers b, b^3, ..., b^(2^w − 1).
  const odd: bigint[] = [b];
  const b2 = (b * b) % m;
  for (let i = 1; i < 1 << (w - 1); i++) odd.push((odd[i - 1]! * b2) % m);
  let r = 1n;
  for (let i = 0; i < bits.length; ) {
    if (bits.charCodeAt(i) === 0x30) {
      r = (r * r) % m;
      i++;
      continue;
    }
    let j = Math.min(i + w, bits.length);
    while (bits.charCodeAt(j - 1) === 0x30) j--;
    for (let k = i; k < j; k++) r = (r * r) % m;
    r = (r * odd[(parseInt(bits.slice(i, j), 2) - 1) >> 1]!) % m;
    i = j;
  }
  return r;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** a^−1 mod m by the extended Euclidean algorithm (HAC Algorithm 2.142), or null when gcd(a, m) ≠ 1. */
function modInverse(a: bigint, m: bigint): bigint | null {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) return null;
  return ((s0 % m) + m) % m;
}

/** ⌊√x⌋ by Newton's iteration. */
function isqrt(x: bigint): bigint {
  if (x < 2n) return x;
  let r = 1n << BigInt(Math.ceil(bitLength(x) / 2));
  for (;;) {
    const next = (r + x / r) >> 1n;
    if (next >= r) return r;
    r = next;
  }
}

// ---- RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.1) -----------------------------------------------

/** DigestInfo's DER prefix for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
/** OpenSSL's largest RSA modulus (OPENSSL_RSA_MAX_MODULUS_BITS). */
const RSA_MAX_BITS = 16384;

/** OpenSSL works modulo n, p and q in Montgomery form, which needs them odd (and above 2). */
function oddModulus(x: bigint): boolean {
  return x > 2n && (x & 1n) === 1n;
}

/**
 * RSASP1 (RFC 8017 §5.2.1) with the CRT (step 2.b), its result checked by raising it to e (a fault
 * in the CRT halves would otherwise give the factors away): when the check fails, m^d mod n, as
 * OpenSSL does.
 */
function rsasp1(key: RsaPrivate, m: bigint): bigint {
  const { n, e, d, p, q, dP, dQ, qInv } = key;
  if (!key.multi) {
    const s1 = modPow(m, dP, p), s2 = modPow(m, dQ, q);
    const h = ((((s1 - s2) % p) + p) % p) * qInv % p;
    const s = s2 + q * h;
    if (s < n && modPow(s, e, n) === m) return s;
  }
  return modPow(m, d, n);
}

function rsaSign(key: RsaPrivate, digest: Uint8Array): Uint8Array {
  const { n, p, q } = key;
  if (bitLength(n) > RSA_MAX_BITS || !oddModulus(n) || (!key.multi && !(oddModulus(p) && oddModulus(q)))) throw keyInvalid('not a usable RSA private key');
  const k = Math.ceil(bitLength(n) / 8);
  const tLen = SHA256_DIGEST_INFO.length + digest.length;
  if (k < tLen + 11) throw keyInvalid(`an RSA key of ${k} bytes is too small for a SHA-256 DigestInfo`);
  // EMSA-PKCS1-v1_5 (RFC 8017 §9.2): 00 01 FF...FF 00 ‖ DigestInfo.
  const em = new U8(k);
  em[1] = 0x01;
  em.fill(0xff, 2, k - tLen - 1);
  em.set(SHA256_DIGEST_INFO, k - tLen);
  em.set(digest, k - digest.length);
  return i2osp(rsasp1(key, os2ip(em)), k);
}

// ---- RSA key generation (FIPS 186-4 Appendix B.3.1 and B.3.3) -----------------------------------------

let SMALL_PRIMES: Uint16Array | null = null;
/** Odd primes below 2^16 (the sieve of Eratosthenes), made on first use. */
function smallPrimes(): Uint16Array {
  if (SMALL_PRIMES !== null) return SMALL_PRIMES;
  const N = 65536, composite = new U8(N), out: number[] = [];
  for (let i = 3; i < N; i += 2) {
    if (composite[i]) continue;
    out.push(i);
    for (let j = i * i; j < N; j += 2 * i) composite[j] = 1;
  }
  return (SMALL_PRIMES = Uint16Array.from(out));
}

/** Groups of small primes whose products stay below 2^52 (exact in a double): x mod a product is one BigInt division for several primes. */
let PRIME_GROUPS: { product: bigint; primes: number[] }[] | null = null;
function primeGroups(): { product: bigint; primes: number[] }[] {
  if (PRIME_GROUPS !== null) return PRIME_GROUPS;
  const groups: { product: bigint; primes: number[] }[] = [];
  let cur: number[] = [], prod = 1;
  for (const sp of smallPrimes()) {
    if (prod * sp >= 2 ** 52) {
      groups.push({ product: BigInt(prod), primes: cur });
      cur = [];
      prod = 1;
    }
    cur.push(sp);
    prod *= sp;
  }
  groups.push({ product: BigInt(prod), primes: cur });
  return (PRIME_GROUPS = groups);
}

/** A uniformly random integer of at most `bits` bits. */
function randomBits(bits: number): bigint {
  const bytes = randomBytes(Math.ceil(bits / 8));
  if (bits % 8) bytes[0]! &= 0xff >> (8 - (bits % 8));
  return os2ip(bytes);
}

/**
 * Miller–Rabin rounds for a probable prime of `bits` bits: FIPS 186-4 Table C.3 (RSA, M-R only) asks
 * 4 for 1536-bit primes and 5 for 1024-bit; 7 here for 512-bit, and 16 below the table's sizes.
 */
function millerRabinRounds(bits: number): number {
  return bits >= 1536 ? 4 : bits >= 1024 ? 5 : bits >= 512 ? 7 : 16;
}

/** The Miller–Rabin probabilistic primality test (FIPS 186-4 Appendix C.3.1), random bases in [2, w − 2]. */
function millerRabin(w: bigint, rounds: number): boolean {
  const wlen = bitLength(w);
  let m = w - 1n, a = 0;
  while ((m & 1n) === 0n) {
    m >>= 1n;
    a++;
  }
  for (let i = 0; i < rounds; i++) {
    let b: bigint;
    do b = randomBits(wlen);
    while (b <= 1n || b >= w - 1n);
    let z = modPow(b, m, w);
    if (z === 1n || z === w - 1n) continue;
    let composite = true;
    for (let j = 1; j < a; j++) {
      z = (z * z) % w;
      if (z === w - 1n) {
        composite = false;
        break;
      }
      if (z === 1n) break;
    }
    if (composite) return false;
  }
  return true;
}

/** Candidates tried from each random start (odd numbers), sieved together. */
const SIEVE_WINDOW = 8192;

/**
 * A random probable prime p of exactly `bits` bits with p ≥ √2·2^(bits−1) and gcd(p − 1, e) = 1
 * (FIPS 186-4 B.3.3 steps 4.2–4.5): from a random odd start, a window of odd candidates is sieved
 * by the primes below 2^16 (and by the primes dividing e, for p ≢ 1), and the survivors are tested
 * with Miller–Rabin; a window without a prime gives way to a new random start.
 */
function randomPrime(bits: number, e: bigint, eFactors: readonly number[]): bigint {
  const lo = isqrt(1n << BigInt(2 * bits - 1)) + 1n, hi = 1n << BigInt(bits);
  const rounds = millerRabinRounds(bits);
  const marks = new U8(SIEVE_WINDOW);
  for (;;) {
    const x = randomBits(bits) | 1n | (1n << BigInt(bits - 1));
    if (x < lo) continue;
    marks.fill(0);
    // Candidate x + 2j is divisible by prime s when 2j ≡ −x (mod s): j ≡ (s − x mod s)·(s + 1)/2.
    const strike = (s: number, residue: number, skipResidue: number): void => {
      const a = (s - residue + skipResidue) % s, inv2 = (s + 1) / 2;
      // a·inv2 is exact in a double below 2^53 (every sieving prime; a large factor of e goes through BigInt).
      let j = s < 2 ** 26 ? (a * inv2) % s : Number((BigInt(a) * BigInt(inv2)) % BigInt(s));
      for (; j < SIEVE_WINDOW; j += s) marks[j] = 1;
    };
    for (const g of primeGroups()) {
      const r = Number(x % g.product);
      for (const s of g.primes) strike(s, r % s, 0);
    }
    for (const f of eFactors) strike(f, Number(x % BigInt(f)), 1); // p ≡ 1 (mod f) would share f with p − 1
    for (let j = 0; j < SIEVE_WINDOW; j++) {
      if (marks[j]) continue;
      const c = x + 2n * BigInt(j);
      if (c >= hi) break;
      if (gcd(c - 1n, e) === 1n && millerRabin(c, rounds)) return c;
    }
  }
}

/** The distinct prime factors of a small odd e (trial division). */
function primeFactors(e: number): number[] {
  const out: number[] = [];
  let x = e;
  for (let f = 3; f * f <= x; f += 2) {
    if (x % f === 0) {
      out.push(f);
      while (x % f === 0) x /= f;
    }
  }
  if (x > 1) out.push(x);
  return out;
}

/** node:crypto's check of a uint32 option (validateUint32). */
function uint32(x: unknown, name: string): number {
  if (typeof x !== 'number') throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" property must be of type number. Received type ${typeof x}`);
  if (!Number.isInteger(x)) throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be an integer. Received ${x}`);
  if (x < 0 || x > 0xffffffff) throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= 0 && <= 4294967295. Received ${x}`);
  return x;
}

/**
 * An RSA key of exactly `bits` bits with public exponent e (FIPS 186-4 B.3.1 and B.3.3): p and q of
 * ⌈bits/2⌉ and ⌊bits/2⌋ bits, |p − q| > 2^(bits/2 − 100), d = e^−1 mod lcm(p − 1, q − 1) > 2^(bits/2),
 * and the CRT values (RFC 8017 §3.2).
 */
function generateRsa(bits: number, e: number): RsaPrivate {
  const E = BigInt(e), eFactors = primeFactors(e);
  const pBits = Math.ceil(bits / 2), qBits = bits - pBits;
  const minDistance = 1n << BigInt(Math.max(0, Math.floor(bits / 2) - 100));
  const minD = 1n << BigInt(Math.floor(bits / 2));
  for (;;) {
    let p = randomPrime(pBits, E, eFactors), q = randomPrime(qBits, E, eFactors);
    if (p < q) [p, q] = [q, p];
    if (p - q <= minDistance) continue;
    const n = p * q;
    if (bitLength(n) !== bits) continue; // cannot happen with both primes ≥ √2·2^(k−1); checked all the same
    const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
    const d = modInverse(E, lambda);
    if (d === null || d <= minD) continue;
    return { n, e: E, d, p, q, dP: d % (p - 1n), dQ: d % (q - 1n), qInv: modInverse(q, p)!, multi: false };
  }
}

const RSA_ALGORITHM = derSequence(derOid('1.2.840.113549.1.1.1'), derNull());

/** SubjectPublicKeyInfo of an RSA key, DER (RFC 5280 §4.1.2.7, RFC 3279 §2.3.1). */
function spkiDer(n: bigint, e: bigint): Uint8Array {
  return derSequence(RSA_ALGORITHM, derBitString(derSequence(derInteger(n), derInteger(e))));
}

/** PrivateKeyInfo (RFC 5208 §5) holding RSAPrivateKey version 0 (RFC 8017 Appendix A.1.2), as OpenSSL writes it. */
function pkcs8Der(k: RsaPrivate): Uint8Array {
  const rsa = derSequence(...[0n, k.n, k.e, k.d, k.p, k.q, k.dP, k.dQ, k.qInv].map((x) => derInteger(x)));
  return derSequence(derInteger(0), RSA_ALGORITHM, derOctetString(rsa));
}

/** Buffer.from(hex, 'hex') as node.ts feeds it: pairs of hex digits up to the first pair that is not one. */
function hexPairs(hex: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) {
    const a = hexDigit(hex.charCodeAt(i)), b = hexDigit(hex.charCodeAt(i + 1));
    if (a < 0 || b < 0) break;
    out.push(a * 16 + b);
  }
  return U8.from(out);
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Buffer.from(x) of a modulus argument: a copy of its elements' low bytes, a string's UTF-8, an ArrayBuffer's bytes. */
function bufferFrom(x: unknown): Uint8Array {
  if (typeof x === 'string') return UTF8.encode(x);
  if (isArrayBuffer(x)) return new U8(x).slice();
  if (x !== null && typeof x === 'object' && typeof (x as { length?: unknown }).length === 'number') return U8.from(x as ArrayLike<number>);
  throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.');
}

// ---- P-256 (FIPS 186-4 §6, SEC 1) ---------------------------------------------------------------

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The scalar of a 32-byte big-endian private key if it is in [1, n − 1], as 32 bytes of the provider's own; else null. */
function p256Scalar(d: bigint): Uint8Array | null {
  return d >= 1n && d < P256_N ? i2osp(d, 32) : null;
}

/** The scalar of a private key argument as node:crypto's setPrivateKey reads it, or null (not bytes, or outside [1, n − 1]). */
function scalarOf(x: unknown): Uint8Array | null {
  let b: Uint8Array;
  try {
    b = bytesIn(x, 'key', true);
  } catch {
    return null;
  }
  return p256Scalar(os2ip(b));
}

/** ECDSA with SHA-256 over the message (FIPS 186-4 §6.4): noble hashes it (prehash) and, as OpenSSL, accepts s above n/2. */
const ECDSA_OPTIONS = { prehash: true, lowS: false, format: 'compact' } as const;

/** x ‖ y as the uncompressed SEC 1 point (§2.3.3): 04 ‖ x ‖ y, written as node.ts writes it (TypedArray#set). */
function uncompressed(xy: Uint8Array): Uint8Array {
  const point = new U8(65);
  point[0] = 4;
  point.set(xy, 1);
  return point;
}

/** The public point of a valid scalar, x ‖ y. */
function p256PublicOf(d: Uint8Array): Uint8Array {
  return p256.getPublicKey(d, false).slice(1);
}

/** A real Uint8Array's bytes whatever its own properties say (a fresh plain view). */
function plain(x: Uint8Array): Uint8Array {
  return new U8(TA_BUFFER.call(x) as ArrayBuffer, TA_OFFSET.call(x) as number, typedLength(x));
}

// ---- The provider -------------------------------------------------------------------------------

/** A provider with no node: imports; frozen (the processor keeps it as it is, see fixedProvider). */
export function createPortableCrypto(): CryptoProvider {
  const oneShot = new OneShotSha256();
  const digest = (data: Uint8Array): Uint8Array => oneShot.hash(data);
  const p = Object.freeze<CryptoProvider>({
    sha256(data) {
      return digest(bytesIn(data, 'data'));
    },
    createSha256() {
      return new PortableSha256();
    },
    aesCmac128(key, message) {
      // As node.ts: real Uint8Arrays (of this realm or another), lengths read through the intrinsic
      // getter; a detached message is refused where node.ts's copy of it (TypedArray#set) throws.
      check(isUint8Array(key) && typedLength(key) === 16, 'CMAC_KEY', 'AES-128-CMAC needs a 16-byte key (a Uint8Array)');
      check(isUint8Array(message), 'CMAC_MESSAGE', 'AES-128-CMAC MACs a Uint8Array');
      const len = typedLength(message);
      if (len === 0) {
        try {
          EMPTY.set(message);
        } catch (e) {
          throw new LibError('CMAC_MESSAGE', 'AES-128-CMAC: the message\'s buffer is detached', {}, { cause: e });
        }
      }
      // RFC 4493 §2.3-2.4 (noble's cmac), under a copy of the key wiped afterwards. `keep` is not
      // used: noble's keyed CMAC state cannot be reused after a digest.
      const k = plain(key).slice();
      try {
        return cmac(plain(message), k);
      } finally {
        k.fill(0);
      }
    },
    aesGcm128Encrypt(key, iv, plaintext, aad, out): AesGcmSealed {
      check(key.length === 16 && iv.length === 12, 'GCM_PARAMS', 'AES-128-GCM needs a 16-byte key and a 12-byte IV');
      check(out === undefined || out.length >= plaintext.length, 'GCM_PARAMS', 'AES-128-GCM output buffer shorter than the plaintext');
      // As node.ts (and aesGcm128Decrypt): the same bytes (in place), or bytes that do not overlap the plaintext.
      check(out === undefined || out.buffer !== plaintext.buffer || out.byteOffset === plaintext.byteOffset || out.byteOffset >= plaintext.byteOffset + plaintext.length || plaintext.byteOffset >= out.byteOffset + plaintext.length, 'GCM_PARAMS', 'AES-128-GCM output overlaps the plaintext at another offset');
      const k = cipherKey(key), nonce = cipherIv(iv, null);
      const a = aad.length ? bytesIn(aad, 'buffer') : undefined;
      const pt = bytesIn(plaintext, 'data');
      // SP 800-38D §7.1: ciphertext ‖ tag in one array.
      const sealed = gcm(k, nonce, a).encrypt(pt);
      const n = pt.length;
      const tag = sealed.slice(n);
      if (out) {
        out.set(sealed.subarray(0, n));
        return { ciphertext: out.subarray(0, plaintext.length), tag };
      }
      return { ciphertext: sealed.subarray(0, n), tag };
    },
    aesGcm128Decrypt(key, iv, ciphertext, aad, tag, out) {
      check(key.length === 16 && iv.length === 12 && tag.length === 16, 'GCM_PARAMS', 'AES-128-GCM needs a 16-byte key, 12-byte IV, 16-byte tag');
      check(out === undefined || out.length >= ciphertext.length, 'GCM_PARAMS', 'AES-128-GCM output buffer shorter than the ciphertext');
      // As node.ts: the same bytes (in place), or bytes that do not overlap the ciphertext.
      check(out === undefined || out.buffer !== ciphertext.buffer || out.byteOffset === ciphertext.byteOffset || out.byteOffset >= ciphertext.byteOffset + ciphertext.length || ciphertext.byteOffset >= out.byteOffset + ciphertext.length, 'GCM_PARAMS', 'AES-128-GCM output overlaps the ciphertext at another offset');
      const k = cipherKey(key), nonce = cipherIv(iv, null);
      const a = aad.length ? bytesIn(aad, 'buffer') : undefined;
      const t = authTag(tag);
      const ct = bytesIn(ciphertext, 'data');
      // noble takes ciphertext ‖ tag, and checks the tag before it decrypts (SP 800-38D §7.2).
      const joined = new U8(ct.length + 16);
      joined.set(ct);
      joined.set(t, ct.length);
      let pt: Uint8Array;
      try {
        pt = gcm(k, nonce, a).decrypt(joined);
      } catch (e) {
        if (!isTagFailure(e)) throw e;
        // As node.ts: what would have been written in `out` is zeros (in place: the ciphertext too).
        if (out) out.fill(0, 0, ciphertext.length);
        return null;
      }
      if (out) {
        out.set(pt);
        pt.fill(0); // the plaintext is left in `out` only
        return out.subarray(0, ciphertext.length);
      }
      return pt;
    },
    aesCtr128(key, counterBlock, data) {
      check(key.length === 16 && counterBlock.length === 16, 'CTR_PARAMS', 'AES-128-CTR needs a 16-byte key and counter block');
      // SP 800-38A §6.5 with the whole block as a big-endian counter (Appendix B.1), as OpenSSL's aes-128-ctr.
      return ctr(cipherKey(key), cipherIv(counterBlock, 16)).encrypt(bytesIn(data, 'data'));
    },
    hkdfSha256(ikm, salt, info, length) {
      // node:crypto's checks (hkdfSync), in its order.
      const k = bytesIn(ikm, 'ikm', true), s = bytesIn(salt, 'salt', true), i = bytesIn(info, 'info', true);
      if (typeof length !== 'number') throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "length" argument must be of type number. Received type ${typeof length}`);
      if (!Number.isInteger(length)) throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be an integer. Received ${length}`);
      if (length < 0 || length > 2 ** 32) throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "length" is out of range. It must be >= 0 && <= 4294967296. Received ${length}`);
      // node reads info.byteLength here: a detached DataView's getter throws its TypeError.
      if (IS_VIEW(info) && TA_TAG.call(info) === undefined) DV_BYTES.call(info);
      if (i.length > 1024) throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "info" is out of range. It must not contain more than 1024 bytes. Received ${i.length}`);
      // RFC 5869 §2.3: L ≤ 255·HashLen.
      if (length > 255 * 32) throw nodeError(RangeError, 'ERR_CRYPTO_INVALID_KEYLEN', 'Invalid key length');
      // RFC 5869 §2.2: an empty salt is HashLen zeros, which HMAC pads to the same key.
      return hkdf(sha256, k, s, i, length);
    },
    randomBytes(n) {
      return randomBytes(n);
    },
    rsaSignSha256(privateKeyPem, message) {
      // node.ts's messages: the CLI prints them.
      const key = rsaKey(privateKeyPem, (t) => privateKeyOf(pemBlocks(t)), 'not a readable RSA private key in PEM form (a public key cannot sign)', 'not an RSA private key');
      return rsaSign(key, digest(bytesIn(message, 'data', true)));
    },
    rsaPublicNumbers(pemKey) {
      const { n, e } = rsaKey(pemKey, publicNumbersOf, 'not a readable RSA key in PEM form', 'not an RSA key');
      return { modulus: i2osp(n), exponent: e };
    },
    rsaGenerate(bits, e): RsaKeyPair {
      uint32(bits, 'options.modulusLength');
      uint32(e, 'options.publicExponent');
      if (bits < 512) throw new LibError('RSA_PARAMS', `RSA keys of ${bits} bits are too small (at least 512)`);
      if (e < 3 || e % 2 === 0) throw new LibError('RSA_PARAMS', `RSA public exponent ${e} out of range (odd, at least 3)`);
      const k = generateRsa(bits, e);
      return { privateKeyPem: pem('PRIVATE KEY', pkcs8Der(k)), publicKeyPem: pem('PUBLIC KEY', spkiDer(k.n, k.e)) };
    },
    rsaPublicKeyPem(modulus, exponent) {
      // node.ts's steps: the exponent through toString(16) and Buffer's hex, the modulus through Buffer.from, into a JWK.
      const eHex = exponent.toString(16);
      const e = os2ip(hexPairs(eHex.length % 2 ? '0' + eHex : eHex));
      return pem('PUBLIC KEY', spkiDer(os2ip(bufferFrom(modulus)), e));
    },
    ecdhP256Keypair() {
      // FIPS 186-4 B.4.1: 48 random bytes reduced into [1, n − 1].
      const seed = randomBytes(p256.lengths.seed!);
      const privateKey = p256.utils.randomSecretKey(seed);
      seed.fill(0);
      return { privateKey, publicKey: p256PublicOf(privateKey) };
    },
    ecdhP256Shared(privateKey, peerPublicKey) {
      check(privateKey.length === 32 && peerPublicKey.length === 64, 'ECDH_PARAMS', 'ECDH P-256 needs a 32-byte private key and a 64-byte public point');
      let d: Uint8Array | null = null;
      try {
        // As node.ts: whatever setPrivateKey or computeSecret refuses is null.
        d = p256Scalar(os2ip(bytesIn(privateKey, 'key', true)));
        if (d === null) return null;
        // SEC 1 §3.3.1: the x coordinate of d·Q, Q checked on the curve (noble's fromBytes).
        return p256.getSharedSecret(d, uncompressed(peerPublicKey), true).slice(1);
      } catch {
        return null;
      } finally {
        d?.fill(0);
      }
    },
    ecdsaP256PublicKey(privateKey) {
      check(privateKey instanceof Uint8Array && privateKey.length === 32, 'ECDSA_PARAMS', 'an ECDSA P-256 private key is a 32-byte scalar');
      const d = scalarOf(privateKey);
      if (d === null) return null;
      try {
        return p256PublicOf(d);
      } finally {
        d.fill(0);
      }
    },
    ecdsaP256Sign(privateKey, message) {
      check(privateKey instanceof Uint8Array && privateKey.length === 32, 'ECDSA_PARAMS', 'an ECDSA P-256 private key is a 32-byte scalar');
      const d = scalarOf(privateKey);
      check(d !== null, 'ECDSA_PARAMS', 'the ECDSA P-256 private scalar is not in [1, n-1]');
      try {
        // k from RFC 6979 (deterministic): node:crypto's are random, and both verify alike.
        return p256.sign(bytesIn(message, 'data', true), d!, ECDSA_OPTIONS);
      } finally {
        d!.fill(0);
      }
    },
    ecdsaP256Verify(publicKey, message, signature) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 64 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
      const point = uncompressed(publicKey);
      try {
        p256.Point.fromBytes(point); // on the curve, coordinates below p (SEC 1 §3.2.2.1)
      } catch {
        return false;
      }
      // node:crypto's TypeErrors, after the key.
      const msg = bytesIn(message, 'data', true), sig = bytesIn(signature, 'signature', true);
      try {
        // FIPS 186-4 §6.4.2: r and s outside [1, n − 1] do not verify.
        return p256.verify(sig, msg, point, ECDSA_OPTIONS);
      } catch {
        return false;
      }
    },
  });
  registerBuiltInProvider(p);
  return p;
}
