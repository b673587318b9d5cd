/**
 * The shield's host ABI: one OCALL, `shield_host(request, response)`, carrying one operation.
 * Haven's lesson: a narrow ABI whose every answer the shield checks (Iago attacks, Checkoway and
 * Shacham, ASPLOS 2013). The host never sees the program's file descriptors, an enclave address
 * or a key: it sees operations on paths under a mount, bytes that are already ciphertext where the
 * mount is encrypted, and, for a file of a host mount the program holds open, the handle the host
 * gave for it (OPEN; the file itself, as a POSIX descriptor names it: it follows a rename and
 * outlives an unlink). A handle is the host's number: the shield believes nothing of it.
 *
 * Request:  u32 op, then the operation's fields (little-endian; strings as u32 length + UTF-8).
 * Response: u32 errno (WASI numbering, 0 = success), then the operation's results. The OCALL
 * returns the response's length; the shield refuses one longer than its buffer or shorter than
 * its fields (a violation, below).
 */
import { ShieldError } from './errors.js';

export const OP = {
  /** fd (1 or 2), bytes → u32 written */
  WRITE_STDIO: 1,
  /** u32 max → bytes */
  READ_STDIN: 2,
  /** u32 clock id → u64 nanoseconds */
  CLOCK: 3,
  /** mount, path → u8 filetype, u64 size, u64 mtime (ns) */
  STAT: 4,
  /** mount, path, u64 offset, u32 length → bytes */
  READ: 5,
  /** mount, path, u64 offset, bytes → u32 written */
  WRITE: 6,
  /** mount, path, u64 size → (nothing) */
  TRUNCATE: 7,
  /** mount, path, u8 exclusive → (nothing); creates an empty file when there is none */
  CREATE: 8,
  /** mount, path, u32 first index → u32 count, then count × (u8 filetype, name) */
  LIST: 9,
  /** mount, path */
  UNLINK: 10,
  /** mount, path */
  MKDIR: 11,
  /** mount, path */
  RMDIR: 12,
  /** mount, from, to */
  RENAME: 13,
  /** the shield refused an answer: u32 op, string what (for the host's log; no response read) */
  VIOLATION: 14,
  /** u64 nanoseconds: the program waits (poll_oneoff on clocks); the host answers when it likes */
  SLEEP: 15,
  /** (nothing) → bytes: the quoting enclave's TARGETINFO (512 bytes) */
  QE_TARGET_INFO: 16,
  /** bytes (a REPORT for the QE, 432 bytes) → bytes: the quote */
  QUOTE: 17,
  /** mount, path, u8 access (1 read, 2 write, 3 both) → u32 handle: a host-mount file opened (it exists: CREATE first) */
  OPEN: 18,
  /** u32 handle → (nothing) */
  CLOSE: 19,
  /** u32 handle, u64 offset, u32 length → bytes */
  HREAD: 20,
  /** u32 handle, u64 offset (2^64 − 1: at the end), bytes → u32 written */
  HWRITE: 21,
  /** u32 handle, u64 size → (nothing) */
  HTRUNCATE: 22,
  /** u32 handle → u8 filetype, u64 size, u64 mtime (ns), u64 links (0 once unlinked) */
  HSTAT: 23,
  /**
   * u32 count, then each of the manifest's mount paths (string) → (nothing). Sent once, before the
   * program starts, so that the host can refuse storage it was given for a path the manifest does
   * not mount (a misspelled mount would otherwise go unused: the program gets an empty one).
   */
  MOUNTS: 24,
} as const;

export const OP_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k]));

/** WASI preview1 errno values (wasi/api.h, __WASI_ERRNO_*) the shield and the host use. */
export const ERRNO = {
  SUCCESS: 0, TOOBIG: 1, ACCES: 2, BADF: 8, BUSY: 10, EXIST: 20, FAULT: 21, FBIG: 22, ILSEQ: 25, INVAL: 28, IO: 29, ISDIR: 31, MFILE: 33,
  NAMETOOLONG: 37, NFILE: 41, NOENT: 44, NOMEM: 48, NOSPC: 51, NOSYS: 52, NOTDIR: 54, NOTEMPTY: 55, NOTSUP: 58, OVERFLOW: 61, PERM: 63,
  ROFS: 69, SPIPE: 70, XDEV: 75, NOTCAPABLE: 76,
} as const;
/** The largest errno WASI preview1 defines (NOTCAPABLE). */
export const MAX_ERRNO = 76;

/** WASI filetype values (__WASI_FILETYPE_*). */
export const FILETYPE = { UNKNOWN: 0, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4 } as const;

/** Most bytes one READ, WRITE or WRITE_STDIO carries (the rest goes in further operations). */
export const MAX_IO = 256 * 1024;
/** Largest quote the shield takes (a v3 quote with its PCK chain is about 4–5 KiB). */
export const MAX_QUOTE = 64 * 1024;
/** Longest path or name, bytes (Linux's PATH_MAX). */
export const MAX_PATH = 4096;

const UTF8 = new TextEncoder();
/** A name is its bytes: a leading U+FEFF is part of it, not a byte-order mark to drop. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strings already encoded (mount paths and file paths repeat from call to call): the last 256. */
const ENCODED = new Map<string, Uint8Array>();
function encoded(s: string): Uint8Array {
  let b = ENCODED.get(s);
  if (b === undefined) {
    b = UTF8.encode(s);
    if (ENCODED.size >= 256) ENCODED.delete(ENCODED.keys().next().value as string);
    ENCODED.set(s, b);
  }
  return b;
}

/**
 * Builds a request (or, on the host side, a response): one buffer, sized when it is made where the
 * size is known, written byte by byte (no DataView: on the hot path every WASI call makes one).
 */
export class Encoder {
  #b: Uint8Array;
  #n = 0;
  constructor(size = 64) {
    this.#b = new Uint8Array(size);
  }
  #room(k: number): void {
    if (this.#n + k <= this.#b.length) return;
    const nb = new Uint8Array(Math.max(this.#b.length * 2, this.#n + k));
    nb.set(this.#b.subarray(0, this.#n));
    this.#b = nb;
  }
  u8(x: number): this {
    this.#room(1);
    this.#b[this.#n++] = x;
    return this;
  }
  u32(x: number): this {
    this.#room(4);
    const b = this.#b, n = this.#n;
    b[n] = x & 0xff;
    b[n + 1] = (x >>> 8) & 0xff;
    b[n + 2] = (x >>> 16) & 0xff;
    b[n + 3] = (x >>> 24) & 0xff;
    this.#n = n + 4;
    return this;
  }
  u64(x: bigint): this {
    const v = BigInt.asUintN(64, x);
    this.u32(Number(v & 0xffff_ffffn));
    return this.u32(Number(v >> 32n));
  }
  str(s: string): this {
    return this.bytes(encoded(s));
  }
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    return this.tail(b);
  }
  /** Bytes to the end, without a length. */
  tail(b: Uint8Array): this {
    this.#room(b.length);
    this.#b.set(b, this.#n);
    this.#n += b.length;
    return this;
  }
  finish(): Uint8Array {
    return this.#n === this.#b.length ? this.#b : this.#b.slice(0, this.#n);
  }
  /**
   * An encoder kept for reuse (one per side, never two messages at once) starts its next message:
   * the buffer stays, the bytes are overwritten.
   */
  reset(): this {
    this.#n = 0;
    return this;
  }
  /** The message so far as a view of the buffer (no copy): valid until the next reset. */
  view(): Uint8Array {
    return this.#b.subarray(0, this.#n);
  }
}

/** A malformed message: a request the host cannot parse, or an answer the shield refuses. */
export class Malformed extends ShieldError {
  constructor(message: string) {
    super('MALFORMED', message);
  }
}

/**
 * Reads a message strictly: every field present, nothing read past its end. Byte strings are
 * views into the message (the enclave's is its reused answer buffer, the host's the OCALL's lent
 * buffer: each is read before the next message replaces it), so reading one allocates nothing but
 * the view.
 */
export class Decoder {
  #o = 0;
  constructor(readonly b: Uint8Array) {}
  #need(k: number, what: string): void {
    if (this.#o + k > this.b.length) throw new Malformed(`${what}: the message ends early`);
  }
  u8(what = 'u8'): number {
    this.#need(1, what);
    return this.b[this.#o++]!;
  }
  u32(what = 'u32'): number {
    this.#need(4, what);
    const b = this.b, o = this.#o;
    this.#o = o + 4;
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
  }
  u64(what = 'u64'): bigint {
    this.#need(8, what);
    const lo = this.u32(what), hi = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  bytes(what = 'bytes', max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const n = this.u32(what);
    if (n > max) throw new Malformed(`${what}: ${n} bytes, more than ${max}`);
    this.#need(n, what);
    const out = this.b.subarray(this.#o, this.#o + n);
    this.#o += n;
    return out;
  }
  str(what = 'string', max = MAX_PATH): string {
    const b = this.bytes(what, max);
    try {
      return STRICT_UTF8.decode(b);
    } catch {
      throw new Malformed(`${what}: not UTF-8`);
    }
  }
  get remaining(): number {
    return this.b.length - this.#o;
  }
  /** Nothing may follow the last field. */
  end(what: string): void {
    if (this.#o !== this.b.length) throw new Malformed(`${what}: ${this.b.length - this.#o} bytes after the last field`);
  }
}
