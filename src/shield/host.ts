/**
 * The shield's untrusted part: what the host runs to serve a shielded program's one OCALL
 * (protocol.ts). It holds the mounts' storage, standard input and output, and the clocks. Nothing
 * here is trusted: the enclave checks every answer, and a test may replace any piece of it with
 * a hostile one (`intercept`).
 */
import type { OcallImpl } from '../sdk/host/enclave.js';
import { ShieldError } from './errors.js';
import { concatBytes } from '../lib/bytes.js';
import { OP, OP_NAMES, ERRNO, FILETYPE, MAX_IO, Encoder, Decoder, Malformed } from './protocol.js';

/** A host file system error: `code` is the WASI errno's name (NOENT, EXIST, NOTEMPTY, …). */
export class HostFsError extends ShieldError {
  constructor(readonly errno: keyof typeof ERRNO, message: string) {
    super(errno, message);
  }
}

/** One mount's storage on the host: paths are relative to the mount ('' is its root), '/'-separated, normalized. */
export interface HostFileSystem {
  stat(rel: string): { readonly type: 'file' | 'dir'; readonly size: number; readonly mtimeNs: bigint } | null;
  /** Up to `length` bytes from `offset` (fewer at the end); the host copies them into its answer before its next call. */
  read(rel: string, offset: number, length: number): Uint8Array;
  /**
   * Write at `offset`, or at the end (null); the bytes written. `data` is lent (a view of the
   * OCALL's buffer, as write(2)'s buffer is): copy what you keep.
   */
  write(rel: string, offset: number | null, data: Uint8Array): number;
  truncate(rel: string, size: number): void;
  /** Create an empty file when there is none (HostFsError EXIST when `exclusive` and there is one). */
  create(rel: string, exclusive: boolean): void;
  list(rel: string): readonly { readonly name: string; readonly type: 'file' | 'dir' }[];
  unlink(rel: string): void;
  mkdir(rel: string): void;
  rmdir(rel: string): void;
  rename(from: string, to: string): void;
  /**
   * Optional: open a regular file, to read, write or both (`access`). The file returned names the file
   * itself until it is closed, as a POSIX descriptor does: it follows a rename and outlives an
   * unlink. Without it the host names an open file by its path (following the program's renames;
   * an unlinked file is gone for it).
   */
  open?(rel: string, access: HostFileAccess): HostFile;
}

/** How a program opened a file: to read, to write, or both. */
export type HostFileAccess = 'r' | 'w' | 'rw';

/** A file a HostFileSystem opened (HostFileSystem.open). */
export interface HostFile {
  /** Up to `length` bytes from `offset`; copied into the host's answer before its next call. */
  read(offset: number, length: number): Uint8Array;
  /** Write at `offset`, or at the end (null); the bytes written. `data` is lent: copy what you keep. */
  write(offset: number | null, data: Uint8Array): number;
  truncate(size: number): void;
  /** `nlink`: its links (0 once unlinked); 1 when absent. */
  stat(): { readonly type: 'file' | 'dir'; readonly size: number; readonly mtimeNs: bigint; readonly nlink?: number };
  close(): void;
}

/** The largest file a MemoryFileSystem holds (1 GiB; beyond: FBIG). */
export const MEMORY_FILE_MAX = 1 << 30;

const NAME_ENCODER = new TextEncoder();
/** An offset or size in a request (a u64) as a number: past 2^53 − 1 no storage has it (FBIG). */
function byteCount(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new HostFsError('FBIG', `offset ${v}`);
  return Number(v);
}
/** A WRITE's or HWRITE's offset: all ones is the end of the file (null), else a byte count. */
function writeOffset(v: bigint): number | null {
  return v === 0xffff_ffff_ffff_ffffn ? null : byteCount(v);
}
/** A STAT's or HSTAT's answer: errno 0, the type, size and mtime (HSTAT adds its links). */
function statAnswer(e: Encoder, st: { readonly type: 'file' | 'dir'; readonly size: number; readonly mtimeNs: bigint }): Encoder {
  return e.u32(0).u8(st.type === 'dir' ? FILETYPE.DIRECTORY : FILETYPE.REGULAR_FILE).u64(BigInt(st.size)).u64(st.mtimeNs);
}
/** An offset, length or size: a non-negative safe integer (INVAL otherwise; the storage classes check theirs with it). */
export function countArg(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new HostFsError('INVAL', `${what} ${String(n)} is not a byte count`);
}
const parentOf = (rel: string): string => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

/** A file system in memory (the default storage of a mount): what a test inspects and tampers with. */
export class MemoryFileSystem implements HostFileSystem {
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>(['']);
  /** The last modification time given, in microseconds (a number: a write costs no BigInt). */
  #clock = 0;
  readonly #mtimes = new Map<string, number>();
  /** Each file's buffer with room to grow (`files` holds a view of it). */
  readonly #room = new Map<string, Uint8Array>();

  #parentMustExist(rel: string): void {
    if (!this.dirs.has(parentOf(rel))) throw new HostFsError(this.files.has(parentOf(rel)) ? 'NOTDIR' : 'NOENT', `no directory ${parentOf(rel)}`);
  }
  #file(rel: string): Uint8Array {
    const f = this.files.get(rel);
    if (f === undefined) throw new HostFsError(this.dirs.has(rel) ? 'ISDIR' : 'NOENT', `no file ${rel}`);
    return f;
  }
  /** A modification time (microseconds, kept as a number): the wall clock, never the same twice. */
  #touch(rel: string): void {
    const now = Date.now() * 1000;
    this.#clock = now > this.#clock ? now : this.#clock + 1;
    this.#mtimes.set(rel, this.#clock);
  }
  stat(rel: string) {
    if (this.dirs.has(rel)) return { type: 'dir' as const, size: 0, mtimeNs: 0n };
    const f = this.files.get(rel);
    return f === undefined ? null : { type: 'file' as const, size: f.length, mtimeNs: BigInt(this.#mtimes.get(rel) ?? 0) * 1000n };
  }
  /** A file's room (#room), if it still backs the file: `files` may have been given another array. */
  #roomOf(rel: string, f: Uint8Array): Uint8Array | undefined {
    const room = this.#room.get(rel);
    return room !== undefined && room.buffer === f.buffer && f.byteOffset === 0 ? room : undefined;
  }
  /** A view of the file's bytes (the host copies them into its answer). */
  read(rel: string, offset: number, length: number): Uint8Array {
    countArg(offset, 'offset');
    countArg(length, 'length');
    return this.#file(rel).subarray(offset, offset + length);
  }
  write(rel: string, offset: number | null, data: Uint8Array): number {
    if (offset !== null) countArg(offset, 'offset');
    const f = this.#file(rel);
    const at = offset ?? f.length;
    const end = Math.max(f.length, at + data.length);
    if (end > MEMORY_FILE_MAX) throw new HostFsError('FBIG', `${rel}: a file in memory holds at most ${MEMORY_FILE_MAX} bytes`);
    // A file grows into spare room (doubling), so appending n pieces costs O(n), not O(n²):
    // `files` holds a view of its first `end` bytes.
    let room = this.#roomOf(rel, f) ?? f;
    if (end > room.length) {
      const bigger = new Uint8Array(Math.max(end, room.length * 2, 4096));
      bigger.set(f);
      room = bigger;
    }
    room.set(data, at);
    this.#room.set(rel, room);
    if (end !== f.length) this.files.set(rel, room.subarray(0, end)); // else the same bytes, written in place
    this.#touch(rel);
    return data.length;
  }
  truncate(rel: string, size: number): void {
    countArg(size, 'size');
    const f = this.#file(rel);
    if (size > MEMORY_FILE_MAX) throw new HostFsError('FBIG', `${rel}: a file in memory holds at most ${MEMORY_FILE_MAX} bytes`);
    // Within the file's room: the bytes cut off are zeroed (what grows into the room again reads
    // as zeros) and `files` gets a view of the new length; beyond it, a new buffer.
    const room = this.#roomOf(rel, f);
    if (room !== undefined && size <= room.length) {
      if (size < f.length) room.fill(0, size, f.length);
      if (size !== f.length) this.files.set(rel, room.subarray(0, size));
    } else {
      const nf = new Uint8Array(size);
      nf.set(f.subarray(0, Math.min(size, f.length)));
      this.files.set(rel, nf);
      this.#room.delete(rel);
    }
    this.#touch(rel);
  }
  create(rel: string, exclusive: boolean): void {
    this.#parentMustExist(rel);
    if (this.dirs.has(rel)) throw new HostFsError('ISDIR', `${rel} is a directory`);
    if (this.files.has(rel)) {
      if (exclusive) throw new HostFsError('EXIST', `${rel} exists`);
      return;
    }
    this.files.set(rel, new Uint8Array(0));
    this.#touch(rel);
  }
  list(rel: string) {
    if (!this.dirs.has(rel)) throw new HostFsError(this.files.has(rel) ? 'NOTDIR' : 'NOENT', `no directory ${rel}`);
    const prefix = rel === '' ? '' : rel + '/';
    const out: { name: string; type: 'file' | 'dir' }[] = [];
    for (const d of this.dirs) if (d !== '' && d.startsWith(prefix) && !d.slice(prefix.length).includes('/')) out.push({ name: d.slice(prefix.length), type: 'dir' });
    for (const f of this.files.keys()) if (f.startsWith(prefix) && !f.slice(prefix.length).includes('/')) out.push({ name: f.slice(prefix.length), type: 'file' });
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  unlink(rel: string): void {
    this.#file(rel);
    this.files.delete(rel);
    this.#room.delete(rel);
    this.#mtimes.delete(rel);
  }
  mkdir(rel: string): void {
    this.#parentMustExist(rel);
    if (this.dirs.has(rel) || this.files.has(rel)) throw new HostFsError('EXIST', `${rel} exists`);
    this.dirs.add(rel);
  }
  rmdir(rel: string): void {
    if (!this.dirs.has(rel) || rel === '') throw new HostFsError(this.files.has(rel) ? 'NOTDIR' : 'NOENT', `no directory ${rel}`);
    if (this.list(rel).length > 0) throw new HostFsError('NOTEMPTY', `${rel} is not empty`);
    this.dirs.delete(rel);
  }
  rename(from: string, to: string): void {
    this.#parentMustExist(to);
    const f = this.files.get(from);
    if (f !== undefined) {
      if (this.dirs.has(to)) throw new HostFsError('ISDIR', `${to} is a directory`);
      this.files.delete(from);
      this.files.set(to, f);
      const room = this.#room.get(from);
      this.#room.delete(from);
      if (room !== undefined) this.#room.set(to, room);
      else this.#room.delete(to); // the replaced file's room goes with it
      this.#mtimes.delete(from);
      this.#touch(to);
      return;
    }
    if (!this.dirs.has(from)) throw new HostFsError('NOENT', `no ${from}`);
    if (to === from || to.startsWith(from + '/')) throw new HostFsError('INVAL', `cannot move ${from} into itself`);
    if (this.files.has(to) || (this.dirs.has(to) && this.list(to).length > 0)) throw new HostFsError(this.files.has(to) ? 'NOTDIR' : 'NOTEMPTY', `${to} exists`);
    const moves = (s: string) => (s === from || s.startsWith(from + '/') ? to + s.slice(from.length) : s);
    for (const d of [...this.dirs]) {
      this.dirs.delete(d);
      this.dirs.add(moves(d));
    }
    for (const [k, v] of [...this.files]) {
      this.files.delete(k);
      this.files.set(moves(k), v);
    }
    for (const m of [this.#room, this.#mtimes] as Map<string, unknown>[]) {
      for (const [k, v] of [...m]) {
        m.delete(k);
        m.set(moves(k), v);
      }
    }
  }
}

const FS_METHODS = ['stat', 'read', 'write', 'truncate', 'create', 'list', 'unlink', 'mkdir', 'rmdir', 'rename'] as const;

/** A record of the enclave's complaints about the host's answers. */
export interface ShieldViolation {
  readonly op: string;
  readonly what: string;
}

export interface ShieldHostOptions {
  /** Storage by mount path (the manifest's); a mount without one gets an empty MemoryFileSystem. */
  readonly mounts?: Readonly<Record<string, HostFileSystem>>;
  /** Where the program's standard output and error go (each call's bytes its own). Default: collected (ShieldHost.stdout/stderr). */
  readonly stdout?: (bytes: Uint8Array) => void;
  readonly stderr?: (bytes: Uint8Array) => void;
  /** Standard input (when the manifest says stdin: 'host'). Default empty. */
  readonly stdin?: Uint8Array;
  /** The clocks, in nanoseconds. Default: Date.now() and process.hrtime. */
  readonly clock?: { readonly realtime: () => bigint; readonly monotonic: () => bigint };
  /** Wait `ns` nanoseconds (the program's sleep). Default: block the thread (Atomics.wait), at most 10 s per request. */
  readonly sleep?: (ns: bigint) => void;
  /**
   * The platform's quoting service (attest's createQuotingService, or its like), for a program whose
   * manifest asks for attestation: it gives the QE's TARGETINFO and quotes the program's REPORT.
   * Without one, reading /dev/attestation/quote is ENOSYS.
   */
  readonly quoting?: { readonly qeTargetInfo: Uint8Array; quote(report: Uint8Array): Uint8Array };
  /**
   * A hostile host: sees each request (its op and bytes) and the honest response (copies of both,
   * its own to keep), and returns the response to send (or the honest one). For tests and
   * demonstrations.
   */
  readonly intercept?: (op: number, request: Uint8Array, response: Uint8Array) => Uint8Array | undefined;
}

/** The host side of a shielded program: its OCALL, and what it collected. */
export interface ShieldHost {
  readonly ocalls: { readonly shield_host: OcallImpl };
  /** Close the files the program left open (runShielded calls it once the enclave is gone). */
  close(): void;
  readonly mounts: ReadonlyMap<string, HostFileSystem>;
  stdout(): Uint8Array;
  stderr(): Uint8Array;
  readonly violations: readonly ShieldViolation[];
  /** Host operations served, by op name. */
  readonly counts: Readonly<Record<string, number>>;
}


/**
 * The host's side of the shield ABI.
 * @throws {ShieldError} `BAD_OPTIONS` for a mount that is not a file system.
 */
export function createShieldHost(options: ShieldHostOptions = {}): ShieldHost {
  if (typeof options !== 'object' || options === null) throw new ShieldError('BAD_OPTIONS', 'createShieldHost takes an options object');
  const mounts = new Map<string, HostFileSystem>();
  if (options.mounts !== undefined && (typeof options.mounts !== 'object' || options.mounts === null || Array.isArray(options.mounts))) throw new ShieldError('BAD_OPTIONS', 'mounts must be an object of mount path → HostFileSystem');
  for (const [path, fs] of Object.entries(options.mounts ?? {})) {
    // A manifest's mount paths are absolute: anything else can name no mount (its storage would go unused, silently).
    if (!path.startsWith('/')) throw new ShieldError('BAD_OPTIONS', `mount ${JSON.stringify(path)}: a mount path is absolute, as in the manifest`);
    const missing = typeof fs !== 'object' || fs === null ? ['(all)'] : [...FS_METHODS.filter((k) => typeof fs[k] !== 'function'), ...(fs.open !== undefined && typeof fs.open !== 'function' ? ['open (given, not a function)'] : [])];
    if (missing.length > 0) throw new ShieldError('BAD_OPTIONS', `mount ${path}: not a HostFileSystem (no ${missing.join(', ')})`);
    mounts.set(path, fs);
  }
  if (options.stdin !== undefined && !(options.stdin instanceof Uint8Array)) throw new ShieldError('BAD_OPTIONS', 'stdin must be bytes (a Uint8Array)');
  for (const k of ['stdout', 'stderr', 'sleep', 'intercept'] as const) if (options[k] !== undefined && typeof options[k] !== 'function') throw new ShieldError('BAD_OPTIONS', `${k} must be a function`);
  const { clock: c, quoting: q } = options;
  if (c !== undefined && (typeof c !== 'object' || c === null || typeof c.realtime !== 'function' || typeof c.monotonic !== 'function')) throw new ShieldError('BAD_OPTIONS', 'clock must be { realtime(), monotonic() }');
  if (q !== undefined && (typeof q !== 'object' || q === null || !(q.qeTargetInfo instanceof Uint8Array) || typeof q.quote !== 'function')) throw new ShieldError('BAD_OPTIONS', 'quoting must be { qeTargetInfo: Uint8Array, quote() } (a quoting service)');
  const out: Uint8Array[] = [], err: Uint8Array[] = [];
  // The bytes given are a copy (the request's are lent: runShielded loads with ocallBuffers 'lent').
  const stdout = options.stdout ?? ((b: Uint8Array) => out.push(b));
  const stderr = options.stderr ?? ((b: Uint8Array) => err.push(b));
  let stdin = options.stdin ?? new Uint8Array(0);
  const clock = options.clock ?? { realtime: () => BigInt(Date.now()) * 1_000_000n, monotonic: () => process.hrtime.bigint() };
  const sleep = options.sleep ?? ((ns: bigint) => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(10_000, Math.ceil(Number(ns) / 1e6))));
  const violations: ShieldViolation[] = [];
  const counts: Record<string, number> = {};
  const fsOf = (path: string): HostFileSystem => {
    let fs = mounts.get(path);
    if (fs === undefined) mounts.set(path, (fs = new MemoryFileSystem()));
    return fs;
  };
  // The files the program holds open on host mounts, by the handle the host gave (OPEN).
  const files = new Map<number, HostFile>();
  // Those of file systems without open(): named by path, following the program's renames.
  const byPath = new Map<HostFile, { fs: HostFileSystem; rel: string }>();
  let nextHandle = 1;
  const pathFile = (fs: HostFileSystem, rel: string): HostFile => {
    const at = { fs, rel };
    const f: HostFile = {
      read: (o, l) => fs.read(at.rel, o, l),
      write: (o, data) => fs.write(at.rel, o, data),
      truncate: (size) => fs.truncate(at.rel, size),
      stat: () => {
        // The file this handle opened, if the path still names one: a directory there now is not it.
        const st = fs.stat(at.rel);
        if (st === null || st.type === 'dir') throw new HostFsError('NOENT', `no file ${at.rel}`);
        return st;
      },
      close: () => void byPath.delete(f),
    };
    byPath.set(f, at);
    return f;
  };
  const fileOf = (d: Decoder): HostFile => {
    const f = files.get(d.u32('handle'));
    if (f === undefined) throw new HostFsError('BADF', 'no such handle');
    return f;
  };
  const serve = (op: number, d: Decoder, e: Encoder, capacity: number): void => {
    const mounted = (): [HostFileSystem, string] => [fsOf(d.str('mount')), d.str('path')];
    switch (op) {
      case OP.WRITE_STDIO: {
        const fd = d.u32();
        const data = d.bytes('data', MAX_IO);
        (fd === 2 ? stderr : stdout)(data.slice());
        e.u32(0).u32(data.length);
        return;
      }
      case OP.READ_STDIN: {
        const max = d.u32();
        const data = stdin.subarray(0, max);
        stdin = stdin.subarray(data.length);
        e.u32(0).bytes(data);
        return;
      }
      case OP.CLOCK: {
        const id = d.u32();
        e.u32(0).u64(id === 0 ? clock.realtime() : clock.monotonic());
        return;
      }
      case OP.STAT: {
        const [fs, rel] = mounted();
        const st = fs.stat(rel);
        if (st === null) throw new HostFsError('NOENT', `no ${rel}`);
        statAnswer(e, st);
        return;
      }
      case OP.READ: {
        const [fs, rel] = mounted();
        const offset = byteCount(d.u64()), len = Math.min(d.u32(), MAX_IO);
        e.u32(0).bytes(fs.read(rel, offset, len));
        return;
      }
      case OP.WRITE: {
        const [fs, rel] = mounted();
        const at = writeOffset(d.u64());
        const data = d.bytes('data', MAX_IO);
        e.u32(0).u32(fs.write(rel, at, data));
        return;
      }
      case OP.TRUNCATE: {
        const [fs, rel] = mounted();
        fs.truncate(rel, byteCount(d.u64()));
        e.u32(0);
        return;
      }
      case OP.CREATE: {
        const [fs, rel] = mounted();
        fs.create(rel, d.u8() !== 0);
        e.u32(0);
        return;
      }
      case OP.LIST: {
        const [fs, rel] = mounted();
        const first = d.u32();
        const entries = fs.list(rel).slice(first);
        const page = new Encoder();
        let n = 0, size = 0;
        for (const x of entries) {
          const name = NAME_ENCODER.encode(x.name);
          if (8 + size + name.length + 5 > Math.min(capacity, MAX_IO)) break;
          page.u8(x.type === 'dir' ? FILETYPE.DIRECTORY : FILETYPE.REGULAR_FILE).bytes(name);
          size += name.length + 5;
          n++;
        }
        e.u32(0).u32(n).tail(page.finish());
        return;
      }
      case OP.UNLINK:
      case OP.MKDIR:
      case OP.RMDIR: {
        const [fs, rel] = mounted();
        if (op === OP.UNLINK) fs.unlink(rel);
        else if (op === OP.MKDIR) fs.mkdir(rel);
        else fs.rmdir(rel);
        e.u32(0);
        return;
      }
      case OP.RENAME: {
        const [fs, from] = mounted();
        const to = d.str('to');
        fs.rename(from, to);
        for (const at of byPath.values()) if (at.fs === fs && (at.rel === from || at.rel.startsWith(from + '/'))) at.rel = to + at.rel.slice(from.length);
        e.u32(0);
        return;
      }
      case OP.OPEN: {
        const [fs, rel] = mounted();
        const bits = d.u8('access');
        if (bits < 1 || bits > 3) throw new HostFsError('INVAL', `access ${bits}`);
        const access: HostFileAccess = bits === 1 ? 'r' : bits === 2 ? 'w' : 'rw';
        if (nextHandle > 0xffff_ffff) throw new HostFsError('MFILE', 'no handles left');
        let f: HostFile;
        if (fs.open !== undefined) f = fs.open(rel, access);
        else {
          const st = fs.stat(rel);
          if (st === null) throw new HostFsError('NOENT', `no ${rel}`);
          if (st.type === 'dir') throw new HostFsError('ISDIR', `${rel} is a directory`);
          f = pathFile(fs, rel);
        }
        const h = nextHandle++;
        files.set(h, f);
        e.u32(0).u32(h);
        return;
      }
      case OP.CLOSE: {
        const h = d.u32('handle');
        const f = files.get(h);
        if (f === undefined) throw new HostFsError('BADF', 'no such handle');
        files.delete(h);
        f.close();
        e.u32(0);
        return;
      }
      case OP.HREAD: {
        const f = fileOf(d);
        const offset = byteCount(d.u64()), len = Math.min(d.u32(), MAX_IO);
        e.u32(0).bytes(f.read(offset, len));
        return;
      }
      case OP.HWRITE: {
        const f = fileOf(d);
        const at = writeOffset(d.u64());
        const data = d.bytes('data', MAX_IO);
        e.u32(0).u32(f.write(at, data));
        return;
      }
      case OP.HTRUNCATE: {
        fileOf(d).truncate(byteCount(d.u64()));
        e.u32(0);
        return;
      }
      case OP.HSTAT: {
        const st = fileOf(d).stat();
        statAnswer(e, st).u64(BigInt(st.nlink ?? 1));
        return;
      }
      case OP.MOUNTS: {
        const n = d.u32();
        const declared = new Set<string>();
        for (let i = 0; i < n; i++) declared.add(d.str('mount'));
        for (const path of mounts.keys()) {
          if (!declared.has(path)) throw new ShieldError('MOUNT_UNDECLARED', `storage was given for ${path}, which the program's manifest does not mount (it mounts ${[...declared].join(', ') || 'nothing'})`);
        }
        e.u32(0);
        return;
      }
      case OP.SLEEP: {
        sleep(d.u64('ns'));
        e.u32(0);
        return;
      }
      case OP.QE_TARGET_INFO: {
        if (options.quoting === undefined) throw new HostFsError('NOSYS', 'no quoting service');
        e.u32(0).bytes(options.quoting.qeTargetInfo);
        return;
      }
      case OP.QUOTE: {
        if (options.quoting === undefined) throw new HostFsError('NOSYS', 'no quoting service');
        const report = d.bytes('report', 432);
        let quote: Uint8Array;
        try {
          quote = options.quoting.quote(report);
        } catch (x) {
          throw new HostFsError('IO', `the quoting service refused: ${x instanceof Error ? x.message : String(x)}`);
        }
        e.u32(0).bytes(quote);
        return;
      }
      case OP.VIOLATION: {
        const what = d.u32();
        violations.push({ op: OP_NAMES[what] ?? String(what), what: d.str('what', 4096) });
        e.u32(0);
        return;
      }
      default:
        throw new HostFsError('NOSYS', `unknown operation ${op}`);
    }
  };
  // The answer's encoder, reused: one answer at a time (serve nests no call), copied into the
  // response before the OCALL returns.
  const answers = new Encoder(4096);
  const shield_host: OcallImpl = (...args) => {
    const [request, , response] = args as [Uint8Array, number, Uint8Array, number];
    const d = new Decoder(request);
    let op = 0;
    let answer: Uint8Array;
    try {
      op = d.u32('op');
      serve(op, d, answers.reset(), response.length);
      answer = answers.view();
    } catch (x) {
      if (x instanceof HostFsError) answer = answers.reset().u32(ERRNO[x.errno]).view();
      else if (x instanceof Malformed) answer = answers.reset().u32(ERRNO.INVAL).view();
      else throw x;
    }
    counts[OP_NAMES[op] ?? String(op)] = (counts[OP_NAMES[op] ?? String(op)] ?? 0) + 1;
    if (options.intercept) answer = options.intercept(op, request.slice(), answer.slice()) ?? answer;
    const n = Math.min(answer.length, response.length);
    response.set(answer.subarray(0, n));
    return answer.length;
  };
  return {
    ocalls: { shield_host },
    close: () => {
      // Every file is closed; a storage error closing one (EIO, as close(2) may give at exit) has
      // no one left to tell; anything else is the host's own code failing, thrown once all are closed.
      let failure: unknown = null;
      for (const f of files.values()) {
        try {
          f.close();
        } catch (e) {
          if (!(e instanceof HostFsError) && failure === null) failure = e;
        }
      }
      files.clear();
      if (failure !== null) throw failure;
    },
    mounts,
    stdout: () => concatBytes(...out),
    stderr: () => concatBytes(...err),
    violations,
    counts,
  };
}
