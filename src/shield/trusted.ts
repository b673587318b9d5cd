/**
 * The shield's trusted part: WASI preview1 inside the enclave, as an extension of the trusted
 * runtime (sdk/enclave/extension.ts). It runs in enclave mode; the program's imports of
 * `wasi_snapshot_preview1` land here, and the only way out is the one OCALL of protocol.ts.
 *
 * What it decides itself, never asking the host: argv and the environment (the measured
 * manifest), random numbers (the enclave's own, RDRAND's counterpart), which paths exist in a
 * trusted mount, the contents of trusted and encrypted files (checked by hash, or unsealed and
 * checked against their path), file descriptors and positions. What it asks the host and checks
 * (Iago): every answer's length and fields, counts no larger than asked, file types, directory
 * entries, a monotonic clock that never goes back, encrypted files that are not rolled back or
 * deleted behind its back while it runs. An answer that fails a check is a violation: the call
 * fails with EIO (the monotonic clock: the last value is kept), and the violation is reported to
 * the host (it learns only what it did).
 *
 * Not defended (Haven's limits too): rollback of encrypted files across the enclave's lifetimes
 * (there is no monotonic counter), the names, sizes and times of files in encrypted mounts, the
 * wall clock (realtime is the host's word), denial of service, side channels.
 */
import { STATUS } from '../sdk/abi.js';
import type { FuncType, WasmModuleInfo } from '../sdk/wasm.js';
import type { InterfacePlan } from '../sdk/abi.js';
import type { RuntimeExtension, RuntimeExtensionDescriptor, ExtensionHost, ExtensionInstance } from '../sdk/enclave/extension.js';
import { sealData, unsealData, createReport, targetInfoOf } from '../sdk/enclave/services.js';
import { KEYPOLICY, KEYNAME, KEYREQUEST } from '../arch/index.js';
import { SEALED_HEADER_SIZE, SEAL_FLAGS_MASK, SEAL_MISC_MASK } from '../sdk/sealing.js';
import { toHex, u16le, u32le, u64le, writeU32le, writeU64le, bytesEqual } from '../lib/bytes.js';
import { parseManifest, ATTESTATION_PATH, type ResolvedManifest, type ResolvedMount } from './manifest.js';
import { OP, OP_NAMES, ERRNO, FILETYPE, MAX_IO, MAX_ERRNO, MAX_PATH, MAX_QUOTE, Encoder, Decoder, Malformed } from './protocol.js';
import { ShieldError } from './errors.js';

/** The shield's identity and version, measured with every shielded program. */
export const SHIELD_ID = 'witness-shield/0.1';

/** The shield's interface: one ECALL that runs the program, one OCALL for every host operation. */
export const SHIELD_EDL = `enclave {
    trusted {
        public int shield_main(void);
    };
    untrusted {
        int shield_host([in, size=request_len] const uint8_t* request, size_t request_len,
                        [out, size=response_cap] uint8_t* response, size_t response_cap);
    };
};
`;

const WASI = 'wasi_snapshot_preview1';
const I = 'i32', L = 'i64';
const sig = (params: readonly ('i32' | 'i64')[], results: readonly 'i32'[] = ['i32']): FuncType => ({ params, results });

/** Every WASI preview1 function with its signature (wasi/api.h, as clang lowers it for wasm32). */
export const WASI_FUNCTIONS: Readonly<Record<string, FuncType>> = {
  args_get: sig([I, I]), args_sizes_get: sig([I, I]), environ_get: sig([I, I]), environ_sizes_get: sig([I, I]),
  clock_res_get: sig([I, I]), clock_time_get: sig([I, L, I]),
  fd_advise: sig([I, L, L, I]), fd_allocate: sig([I, L, L]), fd_close: sig([I]), fd_datasync: sig([I]),
  fd_fdstat_get: sig([I, I]), fd_fdstat_set_flags: sig([I, I]), fd_fdstat_set_rights: sig([I, L, L]),
  fd_filestat_get: sig([I, I]), fd_filestat_set_size: sig([I, L]), fd_filestat_set_times: sig([I, L, L, I]),
  fd_pread: sig([I, I, I, L, I]), fd_prestat_get: sig([I, I]), fd_prestat_dir_name: sig([I, I, I]),
  fd_pwrite: sig([I, I, I, L, I]), fd_read: sig([I, I, I, I]), fd_readdir: sig([I, I, I, L, I]), fd_renumber: sig([I, I]),
  fd_seek: sig([I, L, I, I]), fd_sync: sig([I]), fd_tell: sig([I, I]), fd_write: sig([I, I, I, I]),
  path_create_directory: sig([I, I, I]), path_filestat_get: sig([I, I, I, I, I]), path_filestat_set_times: sig([I, I, I, I, L, L, I]),
  path_link: sig([I, I, I, I, I, I, I]), path_open: sig([I, I, I, I, I, L, L, I, I]), path_readlink: sig([I, I, I, I, I, I]),
  path_remove_directory: sig([I, I, I]), path_rename: sig([I, I, I, I, I, I]), path_symlink: sig([I, I, I, I, I]), path_unlink_file: sig([I, I, I]),
  poll_oneoff: sig([I, I, I, I]), proc_exit: sig([I], []), proc_raise: sig([I]), sched_yield: sig([]), random_get: sig([I, I]),
  sock_accept: sig([I, I, I]), sock_recv: sig([I, I, I, I, I, I]), sock_send: sig([I, I, I, I, I]), sock_shutdown: sig([I, I]),
};

/** What a mount cannot do (no links) and the shield does not offer (sockets): NOTSUP. Any other function without a body here is NOSYS. */
const NOT_SUPPORTED: ReadonlySet<string> = new Set(['path_link', 'path_symlink', 'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown']);

/** WASI rights (__WASI_RIGHTS_*): the shield grants every right a descriptor's kind allows and checks reads and writes by how it was opened. */
const RIGHTS_ALL = (1n << 30n) - 1n;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
const FDFLAG_APPEND = 1;
const FDFLAG_NONBLOCK = 4;
/** Where a sealed blob's KEYREQUEST keeps its ATTRIBUTEMASK.FLAGS and MISCMASK. */
const KR_ATTRIBUTEMASK = KEYREQUEST.field('ATTRIBUTEMASK').offset;
const KR_MISCMASK = KEYREQUEST.field('MISCMASK').offset;
/** The first byte of an encrypted file's sealed text: the format version. */
const PFS_VERSION = 1;
/**
 * The names under which an encrypted file's new blob is written, at the mount's root, before it
 * replaces the file (#store): this prefix and 16 hex digits. Hidden from listings; a program may
 * not create one (EACCES).
 */
const TEMP_PREFIX = '.witness-store-';
const TEMP_NAME = /^\.witness-store-[0-9a-f]{16}$/;

/**
 * An encrypted file's bytes: a view starting at byte 1 of a buffer whose byte 0 is the format
 * version, so that the sealed text (version, then the file) is the buffer itself, not a copy.
 */
function framed(capacity: number): Uint8Array {
  const b = allocate(1 + capacity);
  b[0] = PFS_VERSION;
  return b.subarray(1);
}
/** The text an encrypted file is sealed as: its version byte and its first `size` bytes (framed's buffer). */
function sealedText(data: Uint8Array, size: number): Uint8Array {
  const text = data.byteOffset < 1 ? null : new Uint8Array(data.buffer, data.byteOffset - 1, 1 + size);
  if (text === null || text[0] !== PFS_VERSION) throw new ShieldError('INTERNAL', 'an encrypted file whose bytes are not framed');
  return text;
}
/** Largest file the shield reads whole (a trusted or encrypted file): 1 GiB. */
const MAX_WHOLE_FILE = 1 << 30;
/** Most directory entries one listing may have. */
const MAX_ENTRIES = 65536;
/** Longest name of one path component, bytes (POSIX NAME_MAX, as the host's LIST answers are held to). */
const NAME_MAX = 255;
/**
 * The attestation files (Gramine's /dev/attestation): which the program may write, and the size a
 * write must leave (checked when the file is closed or synced).
 */
const ATTESTATION_FILES: Readonly<Record<string, { readonly writable: boolean; readonly size: number }>> = {
  attestation_type: { writable: false, size: 4 },
  user_report_data: { writable: true, size: 64 },
  target_info: { writable: true, size: 512 },
  my_target_info: { writable: false, size: 512 },
  report: { writable: false, size: 432 },
  quote: { writable: false, size: 0 },
};
/** Where a quote (sgx_quote_3_t) holds the attested REPORTBODY: after its 48-byte header. */
const QUOTE_REPORT_BODY = 48;
/** Descriptors a program may hold. */
const MAX_FDS = 4096;

/** A WASI u64 (filesize, dircookie, timestamp), which the import delivers as a signed BigInt. */
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Most bytes one fd_write/fd_pwrite takes (POSIX: the total must fit an ssize_t; EINVAL). */
const MAX_WRITE = 0x7fff_ffff;
/** Most iovecs in one call (Linux's IOV_MAX, UIO_MAXIOV). */
const IOV_MAX = 1024;

/** A buffer of `n` bytes the program asked for (a file, a write): ENOMEM where the host process cannot give it. */
function allocate(n: number): Uint8Array {
  try {
    return new Uint8Array(n);
  } catch (e) {
    if (e instanceof RangeError) throw new Errno(ERRNO.NOMEM);
    throw e;
  }
}

/** A WASI error for the program. */
class Errno {
  constructor(readonly code: number) {}
}
/** An answer from the host that fails a check. */
class Violation extends ShieldError {
  constructor(readonly op: number, readonly what: string) {
    super('HOST_VIOLATION', `${OP_NAMES[op] ?? `op ${op}`}: ${what}`, { op });
  }
}
/** The response buffer of an operation without data: errno and a few fields. */
const SMALL_ANSWER = 64;
/** A LIST page: the host fills what fits. */
const LIST_ANSWER = 64 * 1024;
/** proc_exit: unwinds the program's frames to shield_main. */
class ProcExit {
  constructor(readonly code: number) {}
}

/** What a trusted or encrypted file holds while the enclave has it. */
interface Content {
  key: string;
  mount: Mount;
  rel: string;
  /** Its bytes (the first `size`; the rest zeros); an encrypted file's are framed. */
  data: Uint8Array;
  size: number;
  dirty: boolean;
  refs: number;
  unlinked: boolean;
  /** Its inode number once unlinked or displaced (its path's number goes to the next file there). */
  ino?: bigint;
}

interface Mount extends Omit<ResolvedMount, 'kind'> {
  /** A manifest's kind, or the attestation files (ATTESTATION_PATH, when the manifest asks for them). */
  readonly kind: ResolvedMount['kind'] | 'attestation';
  readonly trusted: ReadonlyMap<string, string>;
  /** trusted: the directories the listed files imply ('' the root). */
  readonly trustedDirs: ReadonlySet<string>;
}

type Fd =
  | { readonly kind: 'stdio'; readonly n: 0 | 1 | 2 }
  | { readonly kind: 'dir'; readonly mount: Mount; rel: string; listing: { name: string; type: number }[] | null; readonly preopen: boolean }
  /** A file: its content in the enclave (encrypted, trusted, attestation), or a host mount's, through the host's handle (OPEN). */
  | { readonly kind: 'file'; readonly mount: Mount; rel: string; pos: number; append: boolean; readonly read: boolean; readonly write: boolean; readonly content: Content | null; readonly handle: number };

function descriptorCheck(info: WasmModuleInfo, plan: InterfacePlan, config: Uint8Array): string[] {
  const problems: string[] = [];
  try {
    parseManifest(config);
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  const start = info.exports.find((e) => e.name === '_start');
  if (!start || start.kind !== 'function' || !start.type || start.type.params.length !== 0 || start.type.results.length !== 0) problems.push('a shielded program is a WASI command: it must export _start () -> ()');
  if (info.exports.some((e) => e.name === '_initialize')) problems.push('a WASI reactor (_initialize) is not supported: the shield runs commands');
  const main = plan.ecalls.find((f) => f.name === 'shield_main');
  const host = plan.ocalls.find((f) => f.name === 'shield_host');
  const shape = (f: typeof host) => f !== undefined && f.params.length === 4 && f.params[0]!.kind === 'buffer' && f.params[0]!.direction === 'in' && f.params[1]!.kind === 'value' && f.params[2]!.kind === 'buffer' && f.params[2]!.direction === 'out' && f.params[3]!.kind === 'value' && f.returns?.wasm === 'i32';
  if (plan.ecalls.length !== 1 || !main || main.params.length !== 0 || main.returns?.wasm !== 'i32' || plan.ocalls.length !== 1 || !shape(host)) problems.push('a shielded program must be built with the shield interface (SHIELD_EDL)');
  return problems;
}

/** The shield without its code: what buildImage checks a shielded program against. */
export const SHIELD_DESCRIPTOR: RuntimeExtensionDescriptor = {
  id: SHIELD_ID,
  imports: { [WASI]: WASI_FUNCTIONS },
  ecalls: ['shield_main'],
  check: descriptorCheck,
};

/** The shield as an extension of the trusted runtime (the platform installs it). */
export function shieldExtension(): RuntimeExtension {
  return { ...SHIELD_DESCRIPTOR, attach: (host) => new Shield(host).instance() };
}

const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Shield {
  readonly #h: ExtensionHost;
  readonly #m: ResolvedManifest;
  readonly #mounts: Mount[];
  readonly #fds = new Map<number, Fd>();
  /** Encrypted files by key: the version (#version) of the last blob the shield wrote or accepted, or 'deleted'. */
  readonly #known = new Map<string, string>();
  readonly #contents = new Map<string, Content>();
  readonly #inodes = new Map<string, bigint>();
  #lastInode = 0;
  #monotonic = 0n;
  #ran = false;
  #self: Uint8Array | null = null;
  /** The attestation files' state: what the program wrote to user_report_data and target_info. */
  readonly #userReportData = new Uint8Array(64);
  readonly #targetInfo = new Uint8Array(512);
  /**
   * Reused by every host operation (one at a time: a request is built, sent and its answer read
   * before the next): the request's encoder, the answer's buffer (an answer's byte strings are
   * views of it, used before the next operation), the gathered iovecs of a write. A typed array
   * above 64 bytes costs microseconds to allocate on Node 20; a WASI call allocates none of these.
   */
  readonly #request = new Encoder(4096);
  #answer = new Uint8Array(4096);
  #gather = new Uint8Array(4096);

  constructor(h: ExtensionHost) {
    this.#h = h;
    this.#m = parseManifest(h.config);
    this.#mounts = this.#m.mounts.map((m) => {
      const dirs = new Set<string>(['']);
      for (const [p] of m.files) {
        const parts = p.split('/');
        for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      }
      return { ...m, trusted: new Map(m.files), trustedDirs: dirs } as Mount;
    });
    if (this.#m.attestation) this.#mounts.push({ path: ATTESTATION_PATH, kind: 'attestation', keyPolicy: null, files: [], readOnly: false, trusted: new Map(), trustedDirs: new Set(['']) });
    this.#fds.set(0, { kind: 'stdio', n: 0 });
    this.#fds.set(1, { kind: 'stdio', n: 1 });
    this.#fds.set(2, { kind: 'stdio', n: 2 });
    this.#mounts.forEach((m, i) => this.#fds.set(3 + i, { kind: 'dir', mount: m, rel: '', listing: null, preopen: true }));
  }

  instance(): ExtensionInstance {
    const wasi: Record<string, (...a: never[]) => unknown> = {};
    for (const name of Object.keys(WASI_FUNCTIONS)) {
      const impl = (this as unknown as Record<string, ((...a: (number | bigint)[]) => number | void) | undefined>)[`wasi_${name}`];
      const body = impl ? impl.bind(this) : NOT_SUPPORTED.has(name) ? () => ERRNO.NOTSUP : () => ERRNO.NOSYS;
      wasi[name] = name === 'proc_exit' ? (body as (...a: never[]) => unknown) : (((...a: (number | bigint)[]) => this.#guard(() => body(...a) as number)) as (...a: never[]) => unknown);
    }
    return { imports: { [WASI]: wasi }, ecalls: { shield_main: () => this.#main() } };
  }

  // ---- the program's run ------------------------------------------------------------------------

  #main(): number {
    if (this.#ran) this.#h.fail(STATUS.INVALID_STATE, 'the shielded program has run: a WASI command runs once per enclave');
    this.#ran = true;
    const start = this.#h.exports()._start;
    if (typeof start !== 'function') this.#h.fail(STATUS.INVALID_ENCLAVE, 'the program exports no _start');
    this.#announceMounts();
    let code = 0;
    try {
      (start as () => void)();
    } catch (e) {
      if (!(e instanceof ProcExit)) throw e;
      code = e.code;
    }
    // What the program wrote to encrypted files and did not close is sealed now, as exit flushes stdio.
    for (const c of this.#contents.values()) {
      if (!c.dirty || c.unlinked) continue;
      try {
        this.#flush(c);
      } catch (e) {
        if (!(e instanceof Errno) && !(e instanceof Violation)) throw e;
        if (e instanceof Violation) this.#report(e);
      }
    }
    return code;
  }

  /** The manifest's mount paths to the host (OP.MOUNTS); its answer changes nothing here (a host may refuse to go on). */
  #announceMounts(): void {
    const e = this.#request.reset().u32(OP.MOUNTS).u32(this.#m.mounts.length);
    for (const m of this.#m.mounts) e.str(m.path);
    try {
      this.#send(e.view(), SMALL_ANSWER);
    } catch (x) {
      if (!(x instanceof Violation)) throw x;
    }
  }

  /** A WASI call: its errno, a violation reported and answered with EIO. */
  #guard(body: () => number): number {
    try {
      return body();
    } catch (e) {
      if (e instanceof Errno) return e.code;
      if (e instanceof Violation) {
        this.#report(e);
        return ERRNO.IO;
      }
      throw e;
    }
  }

  #report(v: Violation): void {
    try {
      this.#send(this.#request.reset().u32(OP.VIOLATION).u32(v.op).str(v.what.slice(0, 1024)).view(), SMALL_ANSWER);
    } catch (e) {
      // The host's answer to a report is not read; anything else (the processor's signals: the
      // host left the entry during the OCALL) goes on.
      if (!(e instanceof Violation)) throw e;
    }
  }

  // ---- the host ABI ---------------------------------------------------------------------------

  /**
   * One OCALL: the response's bytes (a view of the answer buffer, valid until the next operation),
   * or a violation when the OCALL failed or its length is not sane.
   */
  #send(request: Uint8Array, capacity: number): Uint8Array {
    const op = request[0]! | (request[1]! << 8);
    if (this.#answer.length < capacity) this.#answer = new Uint8Array(Math.max(capacity, this.#answer.length * 2));
    const response = this.#answer.subarray(0, capacity);
    const { status, result } = this.#h.hostCall('shield_host', [request, request.length, response, response.length]);
    if (status !== STATUS.SUCCESS) throw new Violation(op, `the OCALL failed (status 0x${status.toString(16)})`);
    const n = Number(result);
    if (!Number.isInteger(n) || n < 4 || n > response.length) throw new Violation(op, `the host returned a response of ${String(result)} bytes (4 to ${response.length})`);
    return response.subarray(0, n);
  }

  /**
   * An operation whose answer takes at most `capacity` bytes (the errno included): the decoder
   * after the errno; the host's errno as an Errno; a malformed answer as a violation.
   */
  #call(op: number, fields: (e: Encoder) => void, capacity = SMALL_ANSWER): Decoder {
    const e = this.#request.reset().u32(op);
    fields(e);
    const d = new Decoder(this.#send(e.view(), capacity));
    const errno = d.u32();
    if (errno > MAX_ERRNO) throw new Violation(op, `errno ${errno} is not a WASI errno`);
    if (errno !== 0) {
      if (d.remaining !== 0) throw new Violation(op, 'an error answer carries data');
      throw new Errno(errno);
    }
    return d;
  }

  /** Read an answer's fields; a malformed one is a violation. */
  #parse<T>(op: number, d: Decoder, read: (d: Decoder) => T): T {
    try {
      const v = read(d);
      d.end(OP_NAMES[op]!);
      return v;
    } catch (e) {
      if (e instanceof Malformed) throw new Violation(op, e.message);
      throw e;
    }
  }

  #stat(m: Mount, rel: string): { type: number; size: number; mtime: bigint } | null {
    let d: Decoder;
    try {
      d = this.#call(OP.STAT, (e) => e.str(m.path).str(rel));
    } catch (e) {
      if (e instanceof Errno && e.code === ERRNO.NOENT) return null;
      throw e;
    }
    return this.#statAnswer(OP.STAT, d);
  }
  /** HSTAT of an open host file: a regular file (a handle names what OPEN opened), and its links. */
  #hstat(handle: number): { type: number; size: number; mtime: bigint; nlink: bigint } {
    let nlink = 0n;
    const st = this.#statAnswer(OP.HSTAT, this.#call(OP.HSTAT, (e) => e.u32(handle)), (x) => void (nlink = x.u64('links')));
    if (st.type !== FILETYPE.REGULAR_FILE) throw new Violation(OP.HSTAT, `filetype ${st.type} for an open file`);
    return { ...st, nlink };
  }
  #statAnswer(op: number, d: Decoder, more?: (x: Decoder) => void): { type: number; size: number; mtime: bigint } {
    const st = this.#parse(op, d, (x) => {
      const fields = { type: x.u8('filetype'), size: x.u64('size'), mtime: x.u64('mtime') };
      more?.(x);
      return fields;
    });
    if (st.type !== FILETYPE.DIRECTORY && st.type !== FILETYPE.REGULAR_FILE) throw new Violation(op, `filetype ${st.type} (a mount holds files and directories only)`);
    if (st.size > BigInt(Number.MAX_SAFE_INTEGER)) throw new Violation(op, `size ${st.size}`);
    return { type: st.type, size: Number(st.size), mtime: st.mtime };
  }

  /** READ of up to `len` bytes at `offset`: never more than asked. */
  #read(m: Mount, rel: string, offset: number, len: number): Uint8Array {
    return this.#readOp(OP.READ, (e) => e.str(m.path).str(rel), offset, len);
  }
  /** HREAD: READ through a host handle. */
  #hread(handle: number, offset: number, len: number): Uint8Array {
    return this.#readOp(OP.HREAD, (e) => e.u32(handle), offset, len);
  }
  #readOp(op: number, target: (e: Encoder) => void, offset: number, len: number): Uint8Array {
    // The response buffer holds the errno, the length and `len` bytes: an answer with more does
    // not fit it, and #send refuses it (the count check is the buffer's size).
    const d = this.#call(op, (e) => (target(e), e.u64(BigInt(offset)).u32(len)), 8 + len);
    return this.#parse(op, d, (x) => x.bytes('data'));
  }

  /** WRITE of `data` at `offset` (2^64−1: at the end), all of it (short writes repeated); never more counted than given. */
  #write(m: Mount, rel: string, offset: number | null, data: Uint8Array): void {
    this.#writeOp(OP.WRITE, (e) => e.str(m.path).str(rel), offset, data);
  }
  /** HWRITE: WRITE through a host handle. */
  #hwrite(handle: number, offset: number | null, data: Uint8Array): void {
    this.#writeOp(OP.HWRITE, (e) => e.u32(handle), offset, data);
  }
  #writeOp(op: number, target: (e: Encoder) => void, offset: number | null, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const chunk = data.subarray(done, done + MAX_IO);
      const d = this.#call(op, (e) => (target(e), e.u64(offset === null ? 0xffff_ffff_ffff_ffffn : BigInt(offset + done)).bytes(chunk)));
      const n = this.#parse(op, d, (x) => x.u32('written'));
      if (n > chunk.length) throw new Violation(op, `${n} bytes written of ${chunk.length}`);
      if (n === 0) throw new Errno(ERRNO.IO);
      done += n;
    }
  }

  #simple(op: number, fields: (e: Encoder) => void): void {
    const d = this.#call(op, fields);
    this.#parse(op, d, () => undefined);
  }

  /** A directory's entries (an encrypted mount's root without the temporary names of a store in progress or abandoned: #store). */
  #list(m: Mount, rel: string): { name: string; type: number }[] {
    const out: { name: string; type: number }[] = [];
    const names = new Set<string>();
    for (;;) {
      const d = this.#call(OP.LIST, (e) => e.str(m.path).str(rel).u32(names.size), LIST_ANSWER);
      const page = this.#parse(OP.LIST, d, (x) => {
        const n = x.u32('count');
        const entries: { name: string; type: number }[] = [];
        for (let i = 0; i < n; i++) entries.push({ type: x.u8('filetype'), name: x.str('name', 255) });
        return entries;
      });
      if (page.length === 0) return out;
      for (const en of page) {
        if (en.name === '' || en.name === '.' || en.name === '..' || en.name.includes('/') || en.name.includes('\0')) throw new Violation(OP.LIST, `an entry named '${en.name}'`);
        if (en.type !== FILETYPE.DIRECTORY && en.type !== FILETYPE.REGULAR_FILE) throw new Violation(OP.LIST, `entry '${en.name}' has filetype ${en.type}`);
        if (names.has(en.name)) throw new Violation(OP.LIST, `entry '${en.name}' twice`);
        names.add(en.name);
        if (m.kind !== 'encrypted' || rel !== '' || !TEMP_NAME.test(en.name)) out.push(en);
      }
      if (names.size > MAX_ENTRIES) throw new Violation(OP.LIST, `more than ${MAX_ENTRIES} entries`);
    }
  }

  // ---- trusted and encrypted contents -----------------------------------------------------------

  #key(m: Mount, rel: string): string {
    return `${m.path}\0${rel}`;
  }

  /** Read a whole file the host holds, sized by its STAT. */
  #fetchWhole(m: Mount, rel: string, size: number): Uint8Array {
    if (size > MAX_WHOLE_FILE) throw new Errno(ERRNO.FBIG);
    const out = allocate(size);
    let at = 0;
    while (at < size) {
      const part = this.#read(m, rel, at, Math.min(MAX_IO, size - at));
      if (part.length === 0) throw new Violation(OP.READ, `the file ended at ${at} of the ${size} bytes its STAT gave`);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  #trustedContent(m: Mount, rel: string): Content {
    const key = this.#key(m, rel);
    const had = this.#contents.get(key);
    if (had) return had;
    const want = m.trusted.get(rel)!;
    const st = this.#stat(m, rel);
    if (st === null || st.type !== FILETYPE.REGULAR_FILE) throw new Violation(OP.STAT, `trusted file ${rel} is missing`);
    const data = this.#fetchWhole(m, rel, st.size);
    if (toHex(this.#h.crypto.sha256(data)) !== want) throw new Violation(OP.READ, `trusted file ${rel} does not match its hash in the manifest`);
    const c: Content = { key, mount: m, rel, data, size: data.length, dirty: false, refs: 0, unlinked: false };
    this.#contents.set(key, c);
    return c;
  }

  #aad(m: Mount, rel: string): Uint8Array {
    return UTF8.encode(`${SHIELD_ID} encrypted file\0${m.path}\0${rel}`);
  }

  #policy(m: Mount): number {
    return m.keyPolicy === 'mrsigner' ? KEYPOLICY.MRSIGNER : KEYPOLICY.MRENCLAVE;
  }

  #selfReport(): Uint8Array {
    return (this.#self ??= createReport(this.#h.ctx(), null, null));
  }

  /** An encrypted file's content (opened, or null when the host has no such file), its blob checked. */
  #encryptedContent(m: Mount, rel: string, st: { type: number; size: number } | null): Content | null {
    const key = this.#key(m, rel);
    this.#checkNotGone(m, rel, st);
    if (st === null || st.type !== FILETYPE.REGULAR_FILE) return null;
    const had = this.#contents.get(key);
    if (had) return had;
    const known = this.#known.get(key);
    const blob = this.#fetchWhole(m, rel, st.size);
    if (blob.length < SEALED_HEADER_SIZE) throw new Violation(OP.READ, `encrypted file ${rel} is too short to be sealed data`);
    const version = this.#version(blob);
    if (known === 'deleted') throw new Violation(OP.READ, `encrypted file ${rel}, which the enclave deleted, is back`);
    if (known !== undefined && known !== version) throw new Violation(OP.READ, `encrypted file ${rel} is not the version the enclave last wrote (rolled back or replaced)`);
    // The blob's KEYREQUEST is the host's to choose: only the mount's key (SEAL, the mount's policy) opens it.
    if (u16le(blob, KEYREQUEST.field('KEYNAME').offset) !== KEYNAME.SEAL_KEY || u16le(blob, KEYREQUEST.field('KEYPOLICY').offset) !== this.#policy(m)) throw new Violation(OP.READ, `encrypted file ${rel} was not sealed with the mount's key policy`);
    // Nor one whose key leaves out what the shield's own seals bind (a mask without DEBUG would
    // let a debug enclave of the same identity make files this one accepts).
    if (u64le(blob, KR_ATTRIBUTEMASK) !== SEAL_FLAGS_MASK || u32le(blob, KR_MISCMASK) !== SEAL_MISC_MASK) throw new Violation(OP.READ, `encrypted file ${rel} was sealed with another attribute or MISCSELECT mask`);
    const opened = unsealData(this.#h.ctx(), this.#h.crypto, blob, () => this.#selfReport(), true); // in place: the blob's buffer becomes the file's
    if (typeof opened === 'number') throw new Violation(OP.READ, `encrypted file ${rel} does not open (status 0x${opened.toString(16)}): changed, or sealed by another enclave`);
    const refuse = (why: string): Violation => {
      opened.text.fill(0);
      return new Violation(OP.READ, `encrypted file ${rel} ${why}`);
    };
    if (!bytesEqual(opened.aad, this.#aad(m, rel))) throw refuse('belongs to another path');
    if (opened.text[0] !== PFS_VERSION) throw refuse(`has format ${opened.text[0]}`);
    this.#known.set(key, version);
    const data = opened.text.subarray(1); // framed: the text is the version byte and the file
    const c: Content = { key, mount: m, rel, data, size: data.length, dirty: false, refs: 0, unlinked: false };
    this.#contents.set(key, c);
    return c;
  }

  /**
   * A path of an encrypted mount the host says is missing, or a directory: a violation when the
   * enclave holds that file or knows a version of it (deleted, or replaced by a directory, behind
   * its back).
   */
  #checkNotGone(m: Mount, rel: string, st: { type: number } | null): void {
    if (st !== null && st.type === FILETYPE.REGULAR_FILE) return;
    const key = this.#key(m, rel);
    const known = this.#known.get(key);
    if (this.#contents.has(key) || (known !== undefined && known !== 'deleted')) throw new Violation(OP.STAT, `encrypted file ${rel} ${st === null ? 'was deleted' : 'became a directory'} behind the enclave's back`);
  }

  /** A rename the program made: inode numbers, and the paths host-mount descriptors record (their inode keys), follow it. */
  #renamed(m: Mount, from: string, to: string): void {
    const a = this.#key(m, from), b = this.#key(m, to);
    this.#inodes.delete(b);
    for (const [k, v] of [...this.#inodes]) {
      if (k !== a && !k.startsWith(a + '/')) continue;
      this.#inodes.delete(k);
      this.#inodes.set(b + k.slice(a.length), v);
    }
    for (const f of this.#fds.values()) {
      if (f.kind === 'stdio' || f.mount !== m || (f.kind === 'file' && f.content !== null)) continue;
      if (f.rel === from || f.rel.startsWith(from + '/')) f.rel = to + f.rel.slice(from.length);
    }
  }

  /**
   * Which version of an encrypted file a blob is: the SHA-256 of its header (the KEYREQUEST, whose
   * KEYID is new at every seal and picks the key, and the sizes and the AES-GCM tag), not of the
   * whole blob. A blob is accepted only if it then opens, and one that opens under that key with
   * that tag is the blob that was written (another would be a GCM forgery): the header names it.
   */
  #version(blob: Uint8Array): string {
    return toHex(this.#h.crypto.sha256(blob.subarray(0, SEALED_HEADER_SIZE)));
  }

  /** Seal a content for its path (the text is the framed buffer itself: no copy of the file). */
  #seal(c: Content, rel: string): Uint8Array {
    const blob = sealData(this.#h.ctx(), this.#h.crypto, this.#policy(c.mount), this.#aad(c.mount, rel), sealedText(c.data, c.size), undefined, undefined, () => this.#selfReport());
    if (typeof blob === 'number') throw new Errno(ERRNO.IO);
    return blob;
  }
  /**
   * A blob stored as the whole file, atomically (as a careful program saves a file): written under
   * a temporary name (CREATE, sized with TRUNCATE so that the host can make room at once, WRITE),
   * then RENAMEd over the file. A host that fails part-way leaves the file as it was, still the
   * version the enclave knows (the temporary is unlinked, best effort; listings leave such names
   * out). The version is recorded by the caller once this returns.
   */
  #store(m: Mount, rel: string, blob: Uint8Array): void {
    // At the mount's root: a short path whatever the file's (a file's own path may be as long as
    // MAX_PATH), and no directory of the program's is left holding one.
    const tmp = `${TEMP_PREFIX}${toHex(this.#h.crypto.randomBytes(8))}`;
    this.#simple(OP.CREATE, (e) => e.str(m.path).str(tmp).u8(1));
    try {
      this.#simple(OP.TRUNCATE, (e) => e.str(m.path).str(tmp).u64(BigInt(blob.length)));
      this.#write(m, tmp, 0, blob);
      this.#simple(OP.RENAME, (e) => e.str(m.path).str(tmp).str(rel));
    } catch (e) {
      // Best effort; the store's own error is the one the caller gets (a malformed answer is reported).
      try {
        this.#simple(OP.UNLINK, (x) => x.str(m.path).str(tmp));
      } catch (x) {
        if (x instanceof Violation) this.#report(x);
        else if (!(x instanceof Errno)) throw x;
      }
      throw e;
    }
  }
  /** A name a program may not create, and does not find, on an encrypted mount: a store's temporary (#store; #resolve refuses it). */
  #reserved(m: Mount, rel: string): boolean {
    return m.kind === 'encrypted' && TEMP_NAME.test(rel);
  }
  #flush(c: Content): void {
    if (c.mount.kind === 'attestation') return this.#attestationStore(c);
    const blob = this.#seal(c, c.rel);
    this.#store(c.mount, c.rel, blob);
    this.#known.set(c.key, this.#version(blob));
    c.dirty = false;
  }

  /** An encrypted file unsealed for a call that did not keep it (no descriptor, nothing unsaved): dropped and zeroed. */
  #dropIfIdle(c: Content | null): void {
    if (c === null || c.refs !== 0 || c.dirty || c.mount.kind !== 'encrypted') return;
    c.refs++;
    this.#release(c);
  }

  #release(c: Content): void {
    if (--c.refs > 0) return;
    if (c.dirty && !c.unlinked) this.#flush(c);
    // A trusted file stays (it cannot change); an encrypted one is read again at its next open (its version is known).
    if (c.mount.kind === 'encrypted') {
      c.data.fill(0);
      // Only its own entry: an unlinked or displaced content no longer holds its key.
      if (this.#contents.get(c.key) === c) this.#contents.delete(c.key);
    }
  }

  // ---- guest memory -----------------------------------------------------------------------------

  #mem(ptr: number, len: number): Uint8Array {
    const m = this.#h.memory;
    if (ptr < 0 || len < 0 || ptr + len > m.length) throw new Errno(ERRNO.FAULT);
    return m.subarray(ptr, ptr + len);
  }
  // A program's u32 read and written in place (no view made: every WASI call reads and writes a few).
  #u32(ptr: number): number {
    const m = this.#h.memory;
    if (ptr < 0 || ptr + 4 > m.length) throw new Errno(ERRNO.FAULT);
    return u32le(m, ptr);
  }
  #setU32(ptr: number, v: number): void {
    const m = this.#h.memory;
    if (ptr < 0 || ptr + 4 > m.length) throw new Errno(ERRNO.FAULT);
    writeU32le(m, ptr, v);
  }
  #setU64(ptr: number, v: bigint): void {
    writeU64le(this.#mem(ptr, 8), 0, BigInt.asUintN(64, v));
  }
  #string(ptr: number, len: number): string {
    if (len > MAX_PATH) throw new Errno(ERRNO.NAMETOOLONG);
    try {
      return UTF8_STRICT.decode(this.#mem(ptr >>> 0, len >>> 0));
    } catch (e) {
      if (e instanceof Errno) throw e;
      throw new Errno(ERRNO.ILSEQ);
    }
  }
  /** The iovecs (ciovecs) at `ptr`: [address, length] pairs; more than IOV_MAX is EINVAL (readv(2)). */
  #iovs(ptr: number, n: number): [number, number][] {
    if (n >>> 0 > IOV_MAX) throw new Errno(ERRNO.INVAL);
    const out: [number, number][] = [];
    const size = this.#h.memory.length;
    for (let i = 0; i < n; i++) {
      const a = this.#u32(ptr + 8 * i), l = this.#u32(ptr + 8 * i + 4);
      if (a + l > size) throw new Errno(ERRNO.FAULT);
      out.push([a, l]);
    }
    return out;
  }

  #fd(fd: number): Fd {
    const f = this.#fds.get(fd);
    if (f === undefined) throw new Errno(ERRNO.BADF);
    return f;
  }
  #dirFd(fd: number): Extract<Fd, { kind: 'dir' }> {
    const f = this.#fd(fd);
    if (f.kind !== 'dir') throw new Errno(ERRNO.NOTDIR);
    return f;
  }
  #fileFd(fd: number): Extract<Fd, { kind: 'file' }> {
    const f = this.#fd(fd);
    if (f.kind === 'dir') throw new Errno(ERRNO.ISDIR);
    if (f.kind !== 'file') throw new Errno(ERRNO.SPIPE);
    return f;
  }
  #newFd(f: Fd): number {
    if (this.#fds.size >= MAX_FDS) throw new Errno(ERRNO.MFILE);
    let n = 3;
    while (this.#fds.has(n)) n++;
    this.#fds.set(n, f);
    return n;
  }

  /**
   * A path relative to a directory descriptor: the mount it lies in and its normalized path there
   * ('' = the mount's root), and whether it names a directory only (a trailing '/', '.' or '..':
   * a file there is ENOTDIR). A path that reaches a mount nested in the descriptor's (by '//',
   * '.', '..' or a descriptor of the outer directory) lies in the nested mount, as a path naming
   * it directly does: wasi-libc picks a preopen by prefix, so '/data//secret/x' comes here through
   * '/data', and must not reach the host's '/data' storage as plain 'secret/x'.
   */
  /**
   * A path the program gives, normalized, in the deepest mount that holds it. A store's temporary
   * (#store) is not there for the program: NOENT, or EACCES where the call would make one
   * (`creating`).
   */
  #resolve(dirfd: number, ptr: number, len: number, creating = false): { m: Mount; rel: string; dirOnly: boolean } {
    const dir = this.#dirFd(dirfd);
    const path = this.#string(ptr, len);
    if (path.startsWith('/')) throw new Errno(ERRNO.NOTCAPABLE);
    if (path.includes('\0')) throw new Errno(ERRNO.INVAL);
    const parts = path.split('/');
    const last = parts[parts.length - 1]!;
    const dirOnly = last === '.' || last === '..' || (parts.length > 1 && last === '');
    const stack = dir.rel === '' ? [] : dir.rel.split('/');
    for (const part of parts) {
      if (part === '' || part === '.') continue;
      if (UTF8.encode(part).length > NAME_MAX) throw new Errno(ERRNO.NAMETOOLONG);
      if (part === '..') {
        if (stack.length === 0) throw new Errno(ERRNO.NOTCAPABLE);
        stack.pop();
      } else stack.push(part);
    }
    const rel = stack.join('/');
    const base = dir.mount.path === '/' ? '' : dir.mount.path;
    const abs = rel === '' ? dir.mount.path : `${base}/${rel}`;
    let m = dir.mount;
    for (const o of this.#mounts) {
      if (o.path.length <= m.path.length) continue;
      if (abs === o.path || abs.startsWith(o.path + '/')) m = o;
    }
    const inner = m === dir.mount ? rel : abs === m.path ? '' : abs.slice(m.path.length + 1);
    if (this.#reserved(m, inner)) throw new Errno(creating ? ERRNO.ACCES : ERRNO.NOENT);
    return { m, rel: inner, dirOnly };
  }

  /** What is at a path: its type, size and time (trusted: from the manifest and the checked content). */
  #what(m: Mount, rel: string): { type: number; size: number; mtime: bigint } | null {
    if (m.kind === 'attestation') {
      if (rel === '') return { type: FILETYPE.DIRECTORY, size: 0, mtime: 0n };
      const spec = Object.hasOwn(ATTESTATION_FILES, rel) ? ATTESTATION_FILES[rel]! : null;
      return spec === null ? null : { type: FILETYPE.REGULAR_FILE, size: spec.size, mtime: 0n };
    }
    if (m.kind === 'trusted') {
      if (m.trustedDirs.has(rel)) return { type: FILETYPE.DIRECTORY, size: 0, mtime: 0n };
      if (!m.trusted.has(rel)) return null;
      return { type: FILETYPE.REGULAR_FILE, size: this.#trustedContent(m, rel).size, mtime: 0n };
    }
    const st = this.#stat(m, rel);
    if (m.kind === 'host') return st;
    const cached = this.#contents.has(this.#key(m, rel));
    const c = this.#encryptedContent(m, rel, st);
    if (c === null) return st; // a directory the enclave never had as a file, or nothing
    const out = { type: FILETYPE.REGULAR_FILE, size: c.size, mtime: st!.mtime };
    // Opened only to learn its size: not kept (an open keeps it).
    if (!cached) this.#dropIfIdle(c);
    return out;
  }

  /** The inode number the shield gives a path (stable while the enclave lives; it moves with a rename the program makes). */
  #inode(key: string): bigint {
    let ino = this.#inodes.get(key);
    if (ino === undefined) this.#inodes.set(key, (ino = BigInt(++this.#lastInode)));
    return ino;
  }

  #filestat(ptr: number, key: string, type: number, size: number, mtime: bigint, nlink = 1n, ino?: bigint): void {
    const b = this.#mem(ptr, 64);
    b.fill(0);
    this.#setU64(ptr + 8, ino ?? this.#inode(key));
    b[16] = type;
    this.#setU64(ptr + 24, nlink);
    this.#setU64(ptr + 32, BigInt(size));
    this.#setU64(ptr + 40, mtime);
    this.#setU64(ptr + 48, mtime);
    this.#setU64(ptr + 56, mtime);
  }

  #notWritable(m: Mount): boolean {
    return m.kind === 'trusted' || m.kind === 'attestation' || (m.kind === 'host' && m.readOnly);
  }

  // ---- WASI: arguments, environment, clocks, random, process ---------------------------------------

  #strings(list: readonly string[], ptrs: number, buf: number): number {
    let at = buf;
    list.forEach((s, i) => {
      const b = UTF8.encode(s);
      this.#mem(at, b.length + 1).set(b);
      this.#mem(at + b.length, 1)[0] = 0;
      this.#setU32(ptrs + 4 * i, at);
      at += b.length + 1;
    });
    return ERRNO.SUCCESS;
  }
  #sizes(list: readonly string[], countPtr: number, sizePtr: number): number {
    this.#setU32(countPtr, list.length);
    this.#setU32(sizePtr, list.reduce((a, s) => a + UTF8.encode(s).length + 1, 0));
    return ERRNO.SUCCESS;
  }
  wasi_args_get(ptrs: number, buf: number): number {
    return this.#strings(this.#m.args, ptrs, buf);
  }
  wasi_args_sizes_get(c: number, s: number): number {
    return this.#sizes(this.#m.args, c, s);
  }
  wasi_environ_get(ptrs: number, buf: number): number {
    return this.#strings(this.#m.env, ptrs, buf);
  }
  wasi_environ_sizes_get(c: number, s: number): number {
    return this.#sizes(this.#m.env, c, s);
  }
  wasi_clock_res_get(id: number, ptr: number): number {
    if (id < 0 || id > 3) return ERRNO.INVAL;
    this.#setU64(ptr, 1000n);
    return ERRNO.SUCCESS;
  }
  wasi_clock_time_get(id: number, _precision: bigint, ptr: number): number {
    if (id < 0 || id > 3) return ERRNO.INVAL;
    this.#mem(ptr, 8);
    // The host's clocks (it answers the CPU-time clocks too); the monotonic one never goes back, whatever the host says.
    this.#setU64(ptr, this.#clock(id));
    return ERRNO.SUCCESS;
  }
  wasi_random_get(ptr: number, len: number): number {
    const out = this.#mem(ptr >>> 0, len >>> 0);
    for (let at = 0; at < out.length; at += 65536) {
      const r = this.#h.crypto.randomBytes(Math.min(65536, out.length - at));
      out.set(r, at);
      r.fill(0);
    }
    return ERRNO.SUCCESS;
  }
  wasi_proc_exit(code: number): never {
    throw new ProcExit(code >>> 0);
  }
  wasi_sched_yield(): number {
    return ERRNO.SUCCESS;
  }
  /**
   * poll_oneoff: a descriptor is always ready (reads and writes do not block); with clock
   * subscriptions only, the shield waits until the earliest is due: it asks the host to SLEEP and
   * reads the monotonic clock (which never goes back), as often as the host wakes it early. A
   * realtime or absolute deadline is measured against the host's clocks: the host decides when
   * the program wakes, as it decides when it runs.
   */
  wasi_poll_oneoff(inPtr: number, outPtr: number, n: number, neventsPtr: number): number {
    if (n === 0) return ERRNO.INVAL;
    const inb = this.#mem(inPtr >>> 0, 48 * n);
    const out = this.#mem(outPtr >>> 0, 32 * n);
    this.#mem(neventsPtr, 4);
    const subs = inb.slice();
    const view = new DataView(subs.buffer);
    const due: bigint[] = [];
    let fds = false;
    for (let i = 0; i < n; i++) {
      const tag = subs[48 * i + 8]!;
      if (tag === 0) {
        const id = view.getUint32(48 * i + 16, true), timeout = view.getBigUint64(48 * i + 24, true), abs = (view.getUint16(48 * i + 40, true) & 1) !== 0;
        if (id > 3) return ERRNO.INVAL;
        // Every deadline on the monotonic clock's scale: a relative one from now, an absolute realtime one shifted by the clocks' difference.
        const mono = this.#clock(1);
        due[i] = !abs ? mono + timeout : id === 0 ? timeout - this.#clock(0) + mono : timeout;
      } else fds = true;
    }
    if (!fds && due.length > 0) {
      const deadline = due.reduce((a, b) => (b !== undefined && b < a ? b : a), due.find((x) => x !== undefined)!);
      for (let tries = 0; tries < 64; tries++) {
        const now = this.#clock(1);
        if (now >= deadline) break;
        this.#simple(OP.SLEEP, (e) => e.u64(deadline - now));
      }
    }
    const now = this.#clock(1);
    out.fill(0);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const tag = subs[48 * i + 8]!;
      if (tag === 0 && due[i]! > now) continue; // not due yet (another was)
      const o = 32 * k++;
      out.set(subs.subarray(48 * i, 48 * i + 8), o); // userdata
      out[o + 10] = tag;
      if (tag > 2) out[o + 8] = ERRNO.INVAL;
      else if (tag !== 0 && !this.#fds.has(view.getUint32(48 * i + 16, true))) out[o + 8] = ERRNO.BADF;
    }
    this.#setU32(neventsPtr, k);
    return ERRNO.SUCCESS;
  }

  /** The host's clock `id` (0 realtime, 1 monotonic; the host answers the CPU-time clocks 2 and 3 as it likes), the monotonic one never going back. */
  #clock(id: number): bigint {
    const d = this.#call(OP.CLOCK, (e) => e.u32(id));
    let t = this.#parse(OP.CLOCK, d, (x) => x.u64('time'));
    if (id === 1) {
      if (t < this.#monotonic) {
        this.#report(new Violation(OP.CLOCK, `the monotonic clock went back from ${this.#monotonic} to ${t}`));
        t = this.#monotonic;
      }
      this.#monotonic = t;
    }
    return t;
  }

  // ---- WASI: descriptors ----------------------------------------------------------------------

  wasi_fd_prestat_get(fd: number, ptr: number): number {
    const f = this.#fd(fd);
    if (f.kind !== 'dir' || !f.preopen) return ERRNO.BADF;
    this.#mem(ptr, 8).fill(0);
    this.#setU32(ptr + 4, UTF8.encode(f.mount.path).length);
    return ERRNO.SUCCESS;
  }
  wasi_fd_prestat_dir_name(fd: number, ptr: number, len: number): number {
    const f = this.#fd(fd);
    if (f.kind !== 'dir' || !f.preopen) return ERRNO.BADF;
    const name = UTF8.encode(f.mount.path);
    if (len < name.length) return ERRNO.NAMETOOLONG;
    this.#mem(ptr, name.length).set(name);
    return ERRNO.SUCCESS;
  }
  wasi_fd_fdstat_get(fd: number, ptr: number): number {
    const f = this.#fd(fd);
    const b = this.#mem(ptr, 24);
    b.fill(0);
    b[0] = f.kind === 'stdio' ? FILETYPE.CHARACTER_DEVICE : f.kind === 'dir' ? FILETYPE.DIRECTORY : FILETYPE.REGULAR_FILE;
    b[2] = f.kind === 'file' && f.append ? FDFLAG_APPEND : 0;
    const rights = f.kind === 'file' ? RIGHTS_ALL & ~(f.read ? 0n : RIGHT_FD_READ) & ~(f.write ? 0n : RIGHT_FD_WRITE) : RIGHTS_ALL;
    this.#setU64(ptr + 8, rights);
    this.#setU64(ptr + 16, RIGHTS_ALL);
    return ERRNO.SUCCESS;
  }
  wasi_fd_fdstat_set_flags(fd: number, flags: number): number {
    const f = this.#fd(fd);
    if (flags & ~(FDFLAG_APPEND | FDFLAG_NONBLOCK)) return ERRNO.NOTSUP;
    if (f.kind === 'file') f.append = (flags & FDFLAG_APPEND) !== 0;
    return ERRNO.SUCCESS;
  }
  wasi_fd_fdstat_set_rights(fd: number): number {
    this.#fd(fd);
    return ERRNO.SUCCESS;
  }
  wasi_fd_advise(fd: number): number {
    this.#fd(fd);
    return ERRNO.SUCCESS;
  }
  wasi_fd_close(fd: number): number {
    const f = this.#fd(fd);
    this.#fds.delete(fd);
    if (f.kind === 'file' && f.content !== null) this.#release(f.content);
    else if (f.kind === 'file') return this.#closeHandle(f.handle);
    return ERRNO.SUCCESS;
  }
  /**
   * CLOSE of a host handle: the descriptor is gone whatever the host answers, as close(2)'s is,
   * and the answer is the result (the host's errno; a malformed answer reported, and EIO).
   */
  #closeHandle(handle: number): number {
    return this.#guard(() => {
      this.#simple(OP.CLOSE, (e) => e.u32(handle));
      return ERRNO.SUCCESS;
    });
  }
  wasi_fd_sync(fd: number): number {
    const f = this.#fd(fd);
    if (f.kind === 'file' && f.content !== null && f.content.dirty && !f.content.unlinked) this.#flush(f.content);
    return ERRNO.SUCCESS;
  }
  wasi_fd_datasync(fd: number): number {
    return this.wasi_fd_sync(fd);
  }
  wasi_fd_renumber(from: number, to: number): number {
    const f = this.#fd(from);
    this.#fd(to);
    if (from === to) return ERRNO.SUCCESS;
    this.wasi_fd_close(to);
    this.#fds.delete(from);
    this.#fds.set(to, f);
    return ERRNO.SUCCESS;
  }

  #size(f: Extract<Fd, { kind: 'file' }>): number {
    return f.content !== null ? f.content.size : this.#hstat(f.handle).size;
  }

  wasi_fd_filestat_get(fd: number, ptr: number): number {
    const f = this.#fd(fd);
    if (f.kind === 'stdio') {
      this.#filestat(ptr, `stdio${f.n}`, FILETYPE.CHARACTER_DEVICE, 0, 0n);
      return ERRNO.SUCCESS;
    }
    const key = this.#key(f.mount, f.rel);
    if (f.kind === 'dir') {
      // As stat gives it: the host's time for a host or encrypted directory.
      const st = f.mount.kind === 'host' || f.mount.kind === 'encrypted' ? this.#stat(f.mount, f.rel) : null;
      this.#filestat(ptr, key, FILETYPE.DIRECTORY, 0, st?.mtime ?? 0n);
      return ERRNO.SUCCESS;
    }
    if (f.content !== null) {
      // The time is the host's (as stat gives it); an unlinked file has no links.
      const st = f.content.unlinked || f.mount.kind === 'trusted' || f.mount.kind === 'attestation' ? null : this.#stat(f.mount, f.rel);
      this.#filestat(ptr, key, FILETYPE.REGULAR_FILE, f.content.size, st?.mtime ?? 0n, f.content.unlinked ? 0n : 1n, f.content.ino);
    } else {
      const st = this.#hstat(f.handle);
      this.#filestat(ptr, key, st.type, st.size, st.mtime, st.nlink);
    }
    return ERRNO.SUCCESS;
  }

  #resize(f: Extract<Fd, { kind: 'file' }>, size: number): void {
    if (!f.write) throw new Errno(ERRNO.BADF);
    if (size > MAX_WHOLE_FILE && f.content !== null) throw new Errno(ERRNO.FBIG);
    if (f.content === null) {
      this.#simple(OP.HTRUNCATE, (e) => e.u32(f.handle).u64(BigInt(size)));
      return;
    }
    const c = f.content;
    if (size > c.data.length) {
      const capacity = Math.min(MAX_WHOLE_FILE, Math.max(size, c.data.length * 2));
      const nd = c.mount.kind === 'encrypted' ? framed(capacity) : allocate(capacity);
      nd.set(c.data.subarray(0, c.size));
      c.data.fill(0);
      c.data = nd;
    } else c.data.fill(0, size, c.size);
    c.size = size;
    c.dirty = true;
  }

  wasi_fd_filestat_set_size(fd: number, size: bigint): number {
    size = u64(size);
    if (size > SAFE) return ERRNO.FBIG;
    this.#resize(this.#fileFd(fd), Number(size));
    return ERRNO.SUCCESS;
  }
  wasi_fd_allocate(fd: number, offset: bigint, len: bigint): number {
    const f = this.#fileFd(fd);
    const end = u64(offset) + u64(len);
    if (end > SAFE) return ERRNO.FBIG;
    if (Number(end) > this.#size(f)) this.#resize(f, Number(end));
    return ERRNO.SUCCESS;
  }

  wasi_fd_seek(fd: number, offset: bigint, whence: number, ptr: number): number {
    const f = this.#fileFd(fd);
    this.#mem(ptr, 8);
    const base = whence === 0 ? 0 : whence === 1 ? f.pos : whence === 2 ? this.#size(f) : -1;
    if (base < 0) return ERRNO.INVAL;
    const at = BigInt(base) + offset;
    if (at < 0n) return ERRNO.INVAL;
    if (at > BigInt(Number.MAX_SAFE_INTEGER)) return ERRNO.OVERFLOW;
    f.pos = Number(at);
    this.#setU64(ptr, at);
    return ERRNO.SUCCESS;
  }
  wasi_fd_tell(fd: number, ptr: number): number {
    const f = this.#fileFd(fd);
    this.#setU64(ptr, BigInt(f.pos));
    return ERRNO.SUCCESS;
  }

  /** Read into the iovecs from `at` (a file) or from standard input; the bytes read. */
  #readv(f: Fd, iovs: [number, number][], at: number): number {
    if (f.kind === 'dir') throw new Errno(ERRNO.ISDIR);
    if (f.kind === 'stdio') {
      if (f.n !== 0) throw new Errno(ERRNO.BADF);
      if (this.#m.stdin === 'none') return 0;
      let total = 0;
      for (const [a, l] of iovs) {
        if (l === 0) continue;
        const want = Math.min(l, MAX_IO);
        const d = this.#call(OP.READ_STDIN, (e) => e.u32(want), 8 + want);
        const data = this.#parse(OP.READ_STDIN, d, (x) => x.bytes('data')); // at most `want`: the buffer's size (#readOp)
        this.#mem(a, data.length).set(data);
        total += data.length;
        if (data.length < l) break;
      }
      return total;
    }
    if (!f.read) throw new Errno(ERRNO.BADF);
    let total = 0;
    for (const [a, l] of iovs) {
      if (l === 0) continue;
      let got: number;
      if (f.content !== null) {
        const c = f.content;
        got = Math.max(0, Math.min(l, c.size - (at + total)));
        if (got > 0) this.#mem(a, got).set(c.data.subarray(at + total, at + total + got));
      } else {
        const data = this.#hread(f.handle, at + total, Math.min(l, MAX_IO));
        this.#mem(a, data.length).set(data);
        got = data.length;
      }
      total += got;
      if (got < l) break;
    }
    return total;
  }

  /** Write the iovecs at `at` (null: at the end) or to standard output/error; the bytes written. */
  #writev(f: Fd, iovs: [number, number][], at: number | null): number {
    if (f.kind === 'dir') throw new Errno(ERRNO.ISDIR);
    let total = 0;
    for (const [, l] of iovs) total += l;
    if (total > MAX_WRITE) throw new Errno(ERRNO.INVAL);
    // One iovec is written from the program's memory as it is (every use below copies it before
    // the program runs again); several are gathered into the reused buffer.
    let data: Uint8Array;
    if (iovs.length === 1) data = this.#mem(iovs[0]![0], total);
    else {
      if (total > MAX_IO) data = allocate(total); // kept only for this call
      else {
        if (this.#gather.length < total) this.#gather = new Uint8Array(Math.max(total, this.#gather.length * 2));
        data = this.#gather.subarray(0, total);
      }
      let o = 0;
      for (const [a, l] of iovs) {
        data.set(this.#mem(a, l), o);
        o += l;
      }
    }
    if (f.kind === 'stdio') {
      if (f.n === 0) throw new Errno(ERRNO.BADF);
      let done = 0;
      while (done < data.length) {
        const chunk = data.subarray(done, done + MAX_IO);
        const d = this.#call(OP.WRITE_STDIO, (e) => e.u32(f.n).bytes(chunk));
        const n = this.#parse(OP.WRITE_STDIO, d, (x) => x.u32('written'));
        if (n > chunk.length) throw new Violation(OP.WRITE_STDIO, `${n} bytes written of ${chunk.length}`);
        if (n === 0) break;
        done += n;
      }
      if (done === 0 && data.length > 0) throw new Errno(ERRNO.IO);
      return done;
    }
    if (!f.write) throw new Errno(ERRNO.BADF);
    if (f.content === null) {
      this.#hwrite(f.handle, at, data);
      return data.length;
    }
    const c = f.content;
    if (data.length === 0) return 0; // nothing written: the file does not grow (as a host file's does not)
    const start = at === null ? c.size : at;
    if (start + data.length > MAX_WHOLE_FILE) throw new Errno(ERRNO.FBIG);
    if (start + data.length > c.size) this.#resize(f, start + data.length);
    c.data.set(data, start);
    c.dirty = true;
    return data.length;
  }

  wasi_fd_read(fd: number, iovs: number, n: number, nreadPtr: number): number {
    const f = this.#fd(fd);
    this.#mem(nreadPtr, 4);
    const got = this.#readv(f, this.#iovs(iovs, n), f.kind === 'file' ? f.pos : 0);
    if (f.kind === 'file') f.pos += got;
    this.#setU32(nreadPtr, got);
    return ERRNO.SUCCESS;
  }
  wasi_fd_pread(fd: number, iovs: number, n: number, offset: bigint, nreadPtr: number): number {
    return this.#atOffset(fd, iovs, n, offset, nreadPtr, (f, v, at) => this.#readv(f, v, at));
  }
  /** fd_pread and fd_pwrite: at an offset the program gives (a u64), the descriptor's position untouched. */
  #atOffset(fd: number, iovs: number, n: number, offset: bigint, countPtr: number, io: (f: Fd, v: [number, number][], at: number) => number): number {
    const f = this.#fileFd(fd);
    offset = u64(offset);
    if (offset > SAFE) return ERRNO.INVAL;
    this.#mem(countPtr, 4);
    this.#setU32(countPtr, io(f, this.#iovs(iovs, n), Number(offset)));
    return ERRNO.SUCCESS;
  }
  wasi_fd_write(fd: number, iovs: number, n: number, nwrittenPtr: number): number {
    const f = this.#fd(fd);
    this.#mem(nwrittenPtr, 4);
    const append = f.kind === 'file' && f.append;
    const wrote = this.#writev(f, this.#iovs(iovs, n), f.kind === 'file' && !append ? f.pos : null);
    if (f.kind === 'file') f.pos = append ? this.#size(f) : f.pos + wrote;
    this.#setU32(nwrittenPtr, wrote);
    return ERRNO.SUCCESS;
  }
  wasi_fd_pwrite(fd: number, iovs: number, n: number, offset: bigint, nwrittenPtr: number): number {
    return this.#atOffset(fd, iovs, n, offset, nwrittenPtr, (f, v, at) => this.#writev(f, v, at));
  }

  wasi_fd_readdir(fd: number, buf: number, len: number, cookie: bigint, usedPtr: number): number {
    const f = this.#dirFd(fd);
    const out = this.#mem(buf >>> 0, len >>> 0);
    this.#mem(usedPtr, 4);
    cookie = u64(cookie);
    if (cookie === 0n || f.listing === null) {
      let names: { name: string; type: number }[];
      if (f.mount.kind === 'attestation') names = Object.keys(ATTESTATION_FILES).map((name) => ({ name, type: FILETYPE.REGULAR_FILE }));
      else if (f.mount.kind === 'trusted') {
        const prefix = f.rel === '' ? '' : f.rel + '/';
        const seen = new Map<string, number>();
        for (const p of [...f.mount.trusted.keys(), ...f.mount.trustedDirs]) {
          if (p === '' || !p.startsWith(prefix)) continue;
          const rest = p.slice(prefix.length);
          if (rest === '' || rest.includes('/')) continue;
          seen.set(rest, f.mount.trustedDirs.has(p) ? FILETYPE.DIRECTORY : FILETYPE.REGULAR_FILE);
        }
        names = [...seen].map(([name, type]) => ({ name, type }));
      } else names = this.#list(f.mount, f.rel);
      names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      f.listing = [{ name: '.', type: FILETYPE.DIRECTORY }, { name: '..', type: FILETYPE.DIRECTORY }, ...names];
    }
    const list = f.listing;
    let used = 0;
    for (let i = cookie > BigInt(list.length) ? list.length : Number(cookie); i < list.length && used < out.length; i++) {
      const e = list[i]!;
      const name = UTF8.encode(e.name);
      const ent = new Uint8Array(24 + name.length);
      const v = new DataView(ent.buffer);
      v.setBigUint64(0, BigInt(i + 1), true);
      // d_ino as stat's st_ino: '.' is the directory, '..' its parent (the mount's root for the root).
      const at = e.name === '.' ? f.rel : e.name === '..' ? f.rel.slice(0, Math.max(0, f.rel.lastIndexOf('/'))) : f.rel === '' ? e.name : `${f.rel}/${e.name}`;
      v.setBigUint64(8, this.#inode(this.#key(f.mount, at)), true);
      v.setUint32(16, name.length, true);
      ent[20] = e.type;
      ent.set(name, 24);
      const k = Math.min(ent.length, out.length - used);
      out.set(ent.subarray(0, k), used);
      used += k;
    }
    this.#setU32(usedPtr, used);
    return ERRNO.SUCCESS;
  }

  // ---- the attestation files ------------------------------------------------------------------

  /**
   * open() of an attestation file: its contents are made now (a REPORT for target_info with
   * user_report_data; a quote of a REPORT for the quoting enclave), as Gramine makes them on read.
   */
  #openAttestation(m: Mount, rel: string, dirOnly: boolean, oflags: number, rightsBase: bigint, fdflags: number, fdPtr: number): number {
    const write = (rightsBase & RIGHT_FD_WRITE) !== 0n || (oflags & OFLAGS.TRUNC) !== 0;
    if (rel === '') {
      if (write) return ERRNO.ISDIR;
      this.#setU32(fdPtr, this.#newFd({ kind: 'dir', mount: m, rel, listing: null, preopen: false }));
      return ERRNO.SUCCESS;
    }
    const spec = Object.hasOwn(ATTESTATION_FILES, rel) ? ATTESTATION_FILES[rel]! : null;
    if (spec === null) return oflags & OFLAGS.CREAT ? ERRNO.ROFS : ERRNO.NOENT;
    if (dirOnly || (oflags & OFLAGS.DIRECTORY)) return ERRNO.NOTDIR;
    if (oflags & OFLAGS.CREAT && oflags & OFLAGS.EXCL) return ERRNO.EXIST;
    if (write && !spec.writable) return ERRNO.ACCES;
    let data: Uint8Array;
    if (rel === 'attestation_type') data = UTF8.encode('dcap');
    else if (rel === 'user_report_data') data = this.#userReportData.slice();
    else if (rel === 'target_info') data = this.#targetInfo.slice();
    else if (rel === 'my_target_info') data = this.#myTargetInfo();
    else if (rel === 'report') data = createReport(this.#h.ctx(), this.#targetInfo, this.#userReportData);
    else data = this.#quote();
    const content: Content = { key: this.#key(m, rel), mount: m, rel, data, size: data.length, dirty: false, refs: 1, unlinked: false };
    if (oflags & OFLAGS.TRUNC) {
      content.size = 0;
      content.dirty = true;
    }
    this.#setU32(fdPtr, this.#newFd({ kind: 'file', mount: m, rel, pos: 0, append: (fdflags & FDFLAG_APPEND) !== 0, read: (rightsBase & RIGHT_FD_READ) !== 0n || !write, write, content, handle: 0 }));
    return ERRNO.SUCCESS;
  }

  /** What the program wrote to user_report_data or target_info: exactly its size, or EINVAL (at close or sync). */
  #attestationStore(c: Content): void {
    const spec = ATTESTATION_FILES[c.rel]!;
    c.dirty = false;
    if (c.size !== spec.size) throw new Errno(ERRNO.INVAL);
    (c.rel === 'user_report_data' ? this.#userReportData : this.#targetInfo).set(c.data.subarray(0, c.size));
  }

  /** This enclave's TARGETINFO (sgx_self_target). */
  #myTargetInfo(): Uint8Array {
    return targetInfoOf(this.#selfReport());
  }

  /**
   * A quote of this enclave with user_report_data: a REPORT for the quoting enclave (its TARGETINFO
   * from the host; a wrong one only makes a REPORT the QE refuses), quoted by the host's quoting
   * service. The shield checks that the quote carries this REPORT's body; the relying party checks
   * the rest (verifyQuote).
   */
  #quote(): Uint8Array {
    const qe = this.#parse(OP.QE_TARGET_INFO, this.#call(OP.QE_TARGET_INFO, () => undefined, 8 + 512), (x) => x.bytes('target info', 512));
    if (qe.length !== 512) throw new Violation(OP.QE_TARGET_INFO, `a TARGETINFO of ${qe.length} bytes`);
    const report = createReport(this.#h.ctx(), qe, this.#userReportData);
    const quote = this.#parse(OP.QUOTE, this.#call(OP.QUOTE, (e) => e.bytes(report), 8 + MAX_QUOTE), (x) => x.bytes('quote', MAX_QUOTE)).slice();
    const body = quote.subarray(QUOTE_REPORT_BODY, QUOTE_REPORT_BODY + 384);
    if (!bytesEqual(body, report.subarray(0, 384))) throw new Violation(OP.QUOTE, "the quote does not carry the enclave's REPORT");
    return quote;
  }

  // ---- WASI: paths ----------------------------------------------------------------------------

  wasi_path_open(dirfd: number, _dirflags: number, ptr: number, len: number, oflags: number, rightsBase: bigint, _rightsInh: bigint, fdflags: number, fdPtr: number): number {
    const { m, rel, dirOnly } = this.#resolve(dirfd, ptr, len, (oflags & OFLAGS.CREAT) !== 0);
    this.#mem(fdPtr, 4);
    if (this.#fds.size >= MAX_FDS) return ERRNO.MFILE; // before anything is created or unsealed
    if (m.kind === 'attestation') return this.#openAttestation(m, rel, dirOnly, oflags, rightsBase, fdflags, fdPtr);
    const read = (rightsBase & RIGHT_FD_READ) !== 0n;
    const write = (rightsBase & RIGHT_FD_WRITE) !== 0n || (oflags & OFLAGS.TRUNC) !== 0;
    const wantsDir = (oflags & OFLAGS.DIRECTORY) !== 0 || dirOnly;
    // An encrypted file is opened (unsealed and checked) once: the content found here is the one the descriptor gets.
    let content: Content | null = null;
    let st: { type: number; size: number; mtime: bigint } | null;
    if (m.kind === 'encrypted') {
      const hst = this.#stat(m, rel);
      content = this.#encryptedContent(m, rel, hst);
      st = content !== null ? { type: FILETYPE.REGULAR_FILE, size: content.size, mtime: hst!.mtime } : hst;
    } else st = this.#what(m, rel);
    let opened = false;
    try {
      if (st !== null && (oflags & OFLAGS.CREAT) && (oflags & OFLAGS.EXCL)) return ERRNO.EXIST;
      if (st !== null && st.type === FILETYPE.DIRECTORY) {
        if (write) return ERRNO.ISDIR;
        this.#setU32(fdPtr, this.#newFd({ kind: 'dir', mount: m, rel, listing: null, preopen: false }));
        return ERRNO.SUCCESS;
      }
      if (wantsDir) return st !== null ? ERRNO.NOTDIR : dirOnly && (oflags & OFLAGS.CREAT) ? ERRNO.ISDIR : ERRNO.NOENT;
      if (st === null && !(oflags & OFLAGS.CREAT)) return ERRNO.NOENT;
      if ((write || st === null) && this.#notWritable(m)) return ERRNO.ROFS;
      if (rel === '') return ERRNO.ISDIR;
      if (st === null && m.kind !== 'encrypted') this.#simple(OP.CREATE, (e) => e.str(m.path).str(rel).u8((oflags & OFLAGS.EXCL) !== 0 ? 1 : 0));
      if (m.kind === 'trusted') content = this.#trustedContent(m, rel);
      else if (m.kind === 'encrypted' && content === null) {
        // A new encrypted file is a sealed (empty) blob on the host from the start, stored as any
        // other (#store): what the host holds under an encrypted file's name is always a blob, so a
        // later store that fails leaves this version, never an empty file a later enclave refuses.
        const key = this.#key(m, rel);
        const fresh: Content = { key, mount: m, rel, data: framed(0), size: 0, dirty: false, refs: 0, unlinked: false };
        const blob = this.#seal(fresh, rel);
        this.#store(m, rel, blob);
        this.#known.set(key, this.#version(blob));
        this.#contents.set(key, (content = fresh));
      }
      // A host-mount file is opened on the host too: its descriptor reaches the file through the
      // host's handle from here on (renames and unlinks by name do not change which file it is).
      let handle = 0;
      if (m.kind === 'host') {
        handle = this.#parse(OP.OPEN, this.#call(OP.OPEN, (e) => e.str(m.path).str(rel).u8((read || !write ? 1 : 0) | (write ? 2 : 0))), (x) => x.u32('handle'));
        if (st !== null && (oflags & OFLAGS.TRUNC)) {
          try {
            this.#simple(OP.HTRUNCATE, (e) => e.u32(handle).u64(0n));
          } catch (x) {
            this.#closeHandle(handle);
            throw x;
          }
        }
      }
      const fd = this.#newFd({ kind: 'file', mount: m, rel, pos: 0, append: (fdflags & FDFLAG_APPEND) !== 0, read: read || !write, write, content, handle });
      opened = true;
      if (content !== null) {
        content.refs++;
        if (oflags & OFLAGS.TRUNC && content.size > 0) {
          content.data.fill(0, 0, content.size);
          content.size = 0;
          content.dirty = true;
        }
      }
      this.#setU32(fdPtr, fd);
      return ERRNO.SUCCESS;
    } finally {
      // An encrypted file unsealed for an open that failed is not kept.
      if (!opened) this.#dropIfIdle(content);
    }
  }

  wasi_path_filestat_get(dirfd: number, _flags: number, ptr: number, len: number, buf: number): number {
    const { m, rel, dirOnly } = this.#resolve(dirfd, ptr, len);
    this.#mem(buf, 64);
    const st = this.#what(m, rel);
    if (st === null) return ERRNO.NOENT;
    if (dirOnly && st.type !== FILETYPE.DIRECTORY) return ERRNO.NOTDIR;
    this.#filestat(buf, this.#key(m, rel), st.type, st.size, st.mtime);
    return ERRNO.SUCCESS;
  }

  /** MKDIR or RMDIR of a path (`atRoot`: the answer for the mount's root itself). */
  #directoryOp(op: number, dirfd: number, ptr: number, len: number, atRoot: number): number {
    const { m, rel } = this.#resolve(dirfd, ptr, len, op === OP.MKDIR);
    if (this.#notWritable(m)) return ERRNO.ROFS;
    if (rel === '') return atRoot;
    this.#simple(op, (e) => e.str(m.path).str(rel));
    return ERRNO.SUCCESS;
  }
  wasi_path_create_directory(dirfd: number, ptr: number, len: number): number {
    return this.#directoryOp(OP.MKDIR, dirfd, ptr, len, ERRNO.EXIST);
  }
  wasi_path_remove_directory(dirfd: number, ptr: number, len: number): number {
    return this.#directoryOp(OP.RMDIR, dirfd, ptr, len, ERRNO.BUSY);
  }
  wasi_path_unlink_file(dirfd: number, ptr: number, len: number): number {
    const { m, rel, dirOnly } = this.#resolve(dirfd, ptr, len);
    if (this.#notWritable(m)) return ERRNO.ROFS;
    if (rel === '') return ERRNO.ISDIR;
    const key = this.#key(m, rel);
    if (m.kind === 'encrypted' || dirOnly) {
      const st = this.#stat(m, rel);
      if (m.kind === 'encrypted') this.#checkNotGone(m, rel, st);
      if (st === null) return ERRNO.NOENT;
      if (st.type === FILETYPE.DIRECTORY) return ERRNO.ISDIR;
      if (dirOnly) return ERRNO.NOTDIR;
    }
    this.#simple(OP.UNLINK, (e) => e.str(m.path).str(rel));
    const ino = this.#inodes.get(key);
    this.#inodes.delete(key);
    if (m.kind === 'encrypted') {
      this.#known.set(key, 'deleted');
      const c = this.#contents.get(key);
      if (c !== undefined) {
        c.ino = ino ?? BigInt(++this.#lastInode);
        c.unlinked = true;
        this.#contents.delete(key);
      }
    }
    return ERRNO.SUCCESS;
  }
  wasi_path_rename(fd: number, ptr: number, len: number, newFd: number, newPtr: number, newLen: number): number {
    const from = this.#resolve(fd, ptr, len);
    const to = this.#resolve(newFd, newPtr, newLen, true);
    if (from.m !== to.m) return ERRNO.XDEV;
    const m = from.m;
    if (this.#notWritable(m)) return ERRNO.ROFS;
    if (from.rel === '' || to.rel === '') return ERRNO.BUSY;
    if (from.dirOnly || to.dirOnly) {
      const st = this.#what(m, from.rel);
      if (st !== null && st.type !== FILETYPE.DIRECTORY) return ERRNO.NOTDIR;
    }
    if (from.rel === to.rel) {
      // POSIX: renaming a file to itself does nothing (here it would seal it again and then unlink it).
      return this.#what(m, from.rel) === null ? ERRNO.NOENT : ERRNO.SUCCESS;
    }
    if (m.kind !== 'encrypted') {
      this.#simple(OP.RENAME, (e) => e.str(m.path).str(from.rel).str(to.rel));
      this.#renamed(m, from.rel, to.rel);
      return ERRNO.SUCCESS;
    }
    // An encrypted file is bound to its path: it is sealed again for the new one, then the old goes.
    const st = this.#stat(m, from.rel);
    this.#checkNotGone(m, from.rel, st);
    if (st !== null && st.type === FILETYPE.DIRECTORY) return ERRNO.NOTSUP; // its files are bound to their paths
    const c = this.#encryptedContent(m, from.rel, st);
    if (c === null) return ERRNO.NOENT;
    // A content unsealed for the rename is not kept once it is done, or undone (#dropIfIdle).
    try {
      const oldKey = c.key, newKey = this.#key(m, to.rel);
      // The host first: the file sealed for its new path and stored there (atomically: a target
      // that exists keeps its version until the host's RENAME). Nothing in the enclave changes
      // until that has succeeded (a host error leaves the rename undone, as POSIX's is).
      const target = this.#stat(m, to.rel);
      this.#checkNotGone(m, to.rel, target);
      if (target !== null && target.type === FILETYPE.DIRECTORY) return ERRNO.ISDIR;
      const blob = this.#seal(c, to.rel);
      this.#store(m, to.rel, blob);
      const displaced = this.#contents.get(newKey);
      if (displaced !== undefined && displaced !== c) {
        displaced.ino = this.#inodes.get(newKey) ?? BigInt(++this.#lastInode);
        displaced.unlinked = true;
        this.#contents.delete(newKey);
      }
      this.#known.set(newKey, this.#version(blob));
      this.#contents.delete(oldKey);
      c.key = newKey;
      c.rel = to.rel;
      c.dirty = false;
      this.#contents.set(newKey, c);
      this.#renamed(m, from.rel, to.rel);
      for (const f of this.#fds.values()) if (f.kind === 'file' && f.content === c) f.rel = to.rel;
      // The old name goes last. It is no longer this file's even if the host fails to remove it:
      // the rename is done (the enclave's view is the new one) and a blob left there is refused
      // (never taken as the current version, by a retried rename or an open).
      this.#known.set(oldKey, 'deleted');
      try {
        this.#simple(OP.UNLINK, (e) => e.str(m.path).str(from.rel));
      } catch (e) {
        if (e instanceof Violation) this.#report(e); // reported; the rename stands
        else if (!(e instanceof Errno)) throw e;
      }
    } finally {
      this.#dropIfIdle(c);
    }
    return ERRNO.SUCCESS;
  }
  /** The shield keeps no times of its own: setting them is accepted and has no effect (the host's times stay); a read-only mount refuses. */
  wasi_fd_filestat_set_times(fd: number): number {
    const f = this.#fd(fd);
    return f.kind !== 'stdio' && this.#notWritable(f.mount) ? ERRNO.ROFS : ERRNO.SUCCESS;
  }
  wasi_path_filestat_set_times(dirfd: number, _flags: number, ptr: number, len: number): number {
    const { m, rel } = this.#resolve(dirfd, ptr, len);
    if (this.#what(m, rel) === null) return ERRNO.NOENT;
    return this.#notWritable(m) ? ERRNO.ROFS : ERRNO.SUCCESS;
  }
  wasi_path_readlink(dirfd: number, ptr: number, len: number): number {
    const { m, rel } = this.#resolve(dirfd, ptr, len);
    return this.#what(m, rel) === null ? ERRNO.NOENT : ERRNO.INVAL; // no symbolic links in a mount
  }
}
