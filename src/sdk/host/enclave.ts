/**
 * The untrusted host runtime (the model's urts): loads a signed image through the Windows enclave
 * API (CreateEnclave → LoadEnclaveData for every page with its protection → InitializeEnclave),
 * enters it with ENCLU[EENTER] on a free TCS, serves its OCALLs, handles AEXs (interrupts are
 * resumed; exceptions go to the enclave's handler first), and tears it down with DeleteEnclave.
 */
import { ENCLU, PT, ArchFault, forEachSgxsPage, SECS, SIGSTRUCT, newRegisters, type Registers, type ExitInfo, type LogicalProcessor } from '../../arch/index.js';
import { toHex, isZero } from '../../lib/bytes.js';
import { enclaveOs, EnclaveLoadError, type EnclaveOs, type HostPlatform } from './os.js';
import { SdkError } from '../errors.js';
import { decodeImage, checkManifest, type EnclaveImage } from '../image/format.js';
import { attributesFlagsOf, resolveEnclaveConfig, type EnclaveConfig } from '../image/config.js';
import { planInterface, deepFreeze, type CanonicalInterface } from '../interface.js';
import { STATUS, statusName, msSize, ECMD_ORET, ECMD_UNINIT_ENCLAVE, EXIT_ECALL_RETURN, EXIT_EXCEPTION_HANDLED, OCALL_HEAP_COMMIT, type FunctionPlan, type InterfacePlan, type ParamPlan } from '../abi.js';
import { bufferLength, lengthValue, saneLength, productLength, encodeWide, decodeWide, slotNumber, slotValue, valueProblem, writeSlot, writeSlotAddress, stringUnit, scanStringLength, STRING_SCAN_CHUNK, USER_CHECK } from '../marshal.js';
import { compileMarshal, type CompiledMarshal, type MarshalHelpers } from './bridge.js';

export { EnclaveLoadError, type HostPlatform, type WindowsHostPlatform, type LinuxHostPlatform } from './os.js';


/** A JS argument: numbers/bigints for values, bytes or strings for buffers, an address for user_check, null for NULL. */
export type EcallArg = number | bigint | Uint8Array | string | null;
/** An OCALL implementation: values as numbers/bigints; `in` buffers as bytes (strings decoded); `out` buffers as zeroed bytes to fill. */
export type OcallImpl = (...args: (number | bigint | Uint8Array | string | null)[]) => number | bigint | void;

export interface LoadOptions {
  /** OCALL implementations by name, looked up once when the enclave is loaded. */
  readonly ocalls?: Readonly<Record<string, OcallImpl>>;
  /** A SIGSTRUCT, when the image is not signed itself. */
  readonly sigstruct?: Uint8Array;
  /** An EINITTOKEN (legacy launch control). */
  readonly token?: Uint8Array;
  /** Size of the untrusted marshalling arena. Default 1 MiB. */
  readonly arenaSize?: number;
  /** Logical processor the host thread runs on. Default 0. */
  readonly lp?: number;
  /** Called with progress (pages loaded, total) for long loads. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * How ECALL arguments are marshalled: 'compiled' (the default) compiles each ECALL's marshaller
   * from the interface at load (host/bridge.ts), falling back to 'interpreted' where it cannot be
   * compiled (code generation from strings refused); 'interpreted' reads the plan at every call. Both do the
   * same checks in the same order.
   */
  readonly bridges?: 'compiled' | 'interpreted';
  /**
   * What an OCALL implementation's buffer arguments are: 'copied' (the default) gives it bytes of
   * its own, which it may keep; 'lent' gives it views of buffers the loader reuses, valid only
   * until it returns (as the pointers into the untrusted stack an OCALL gets from Intel's
   * edger8r code: sgx_ocalloc'ed memory, freed by sgx_ocfree after the call). 'lent' allocates
   * nothing per call: for implementations that use their bytes and forget them.
   */
  readonly ocallBuffers?: 'copied' | 'lent';
}

/** An ECALL failed with an sgx_status_t. */
export class EnclaveCallError extends SdkError {}

/** Where ENCLAVEHASH lies in a SIGSTRUCT. */
const ENCLAVEHASH = SIGSTRUCT.field('ENCLAVEHASH');

// The host runtime's code and stack as the processor sees them. Its code lies at a low, fixed
// address (an image linked at 0x400000, as with /BASE:0x400000 or a non-PIE ELF executable): the
// EEXIT target an ECALL returns to (RIP + 3, past ENCLU) is then a small integer, which V8 passes
// back from the trusted runtime without allocating a number (an address above 2^30 cost a heap
// number per ECALL). EENTER and EEXIT check only that these addresses are canonical.
const AEP = 0x0040_1000; // the host's ENCLU instruction (the AEP trampoline), a host address
const HOST_RIP = 0x0040_0ff0;
const HOST_RSP = 0x7ffe_ff00_0000;

/** A page's permissions both OS APIs can express (W without R is refused by each: LoadEnclaveData, ADD_PAGES). */
function checkPermissions(secinfoFlags: number): void {
  if ((secinfoFlags & 7) === 2 || (secinfoFlags & 7) === 6) throw new EnclaveLoadError('IMAGE_PERMISSIONS', 'a page with write but not read permission cannot be loaded');
}

/** Default size of the untrusted marshalling arena. */
const DEFAULT_ARENA = 1 << 20;
/** Largest marshalling arena a host may ask for (4 GiB). */
const MAX_ARENA = 2 ** 32;

/**
 * Load a signed image: CreateEnclave, LoadEnclaveData for every page, InitializeEnclave, and an
 * untrusted marshalling arena. Everything that can be checked is checked before CreateEnclave;
 * a failure after it deletes the enclave (and frees the arena), so a failed load holds no EPC.
 * @throws {SdkError} `IMAGE_INVALID` for bytes that are not an image or a manifest of the wrong shape.
 * @throws {EnclaveLoadError} `NO_SUCH_LP`, `BAD_OPTIONS`, `NOT_SIGNED`, `CONFIG_INVALID` and `INTERFACE_INVALID` (the
 * inner error as `cause`), `UNKNOWN_OCALL`, `MANIFEST_MISMATCH`, …,
 * `CREATE_FAILED`/`LOAD_FAILED`/`INIT_FAILED` with the Win32/NT/SGX status, `ARENA`.
 */
export function loadEnclave(platform: HostPlatform, image: EnclaveImage | Uint8Array, options: LoadOptions = {}): HostEnclave {
  if (typeof options !== 'object' || options === null) throw new EnclaveLoadError('BAD_OPTIONS', `the options must be an object, got ${describeArg(options)}`);
  if (!(image instanceof Uint8Array) && (typeof image !== 'object' || image === null || typeof image.manifest !== 'object')) throw new SdkError('IMAGE_INVALID', `not a Witness enclave image: ${describeArg(image)}`);
  if (options.sigstruct !== undefined && !(options.sigstruct instanceof Uint8Array)) throw new EnclaveLoadError('BAD_OPTIONS', `the SIGSTRUCT must be bytes (a Uint8Array), got ${describeArg(options.sigstruct)}`);
  let img: EnclaveImage;
  if (image instanceof Uint8Array) img = decodeImage(image);
  else {
    checkManifest(image.manifest); // what decodeImage checks, for an image built in memory
    img = image;
  }
  const lp = platform.processor.lps[options.lp ?? 0];
  if (!lp) throw new EnclaveLoadError('NO_SUCH_LP', `no logical processor ${String(options.lp)}: the platform has ${platform.processor.lps.length}`, { lp: options.lp ?? null });
  const arenaSize = options.arenaSize ?? DEFAULT_ARENA;
  if (!Number.isSafeInteger(arenaSize) || arenaSize < 4096 || arenaSize > MAX_ARENA) throw new EnclaveLoadError('BAD_OPTIONS', `arenaSize must be an integer from 4096 to ${MAX_ARENA}, got ${String(arenaSize)}`, { arenaSize });
  if (options.bridges !== undefined && options.bridges !== 'compiled' && options.bridges !== 'interpreted') throw new EnclaveLoadError('BAD_OPTIONS', `bridges must be 'compiled' or 'interpreted', got ${String(options.bridges)}`);
  if (options.ocallBuffers !== undefined && options.ocallBuffers !== 'copied' && options.ocallBuffers !== 'lent') throw new EnclaveLoadError('BAD_OPTIONS', `ocallBuffers must be 'copied' or 'lent', got ${String(options.ocallBuffers)}`);
  if (options.token !== undefined && options.token.length !== 304) throw new EnclaveLoadError('BAD_OPTIONS', `an EINITTOKEN has 304 bytes, got ${options.token.length}`);
  const sigstruct = options.sigstruct ?? img.sigstruct;
  if (!sigstruct || sigstruct.length !== SIGSTRUCT.size) throw new EnclaveLoadError('NOT_SIGNED', 'the image is not signed: sign it (witness sign) or pass a SIGSTRUCT');
  let config: EnclaveConfig, plan: InterfacePlan;
  try {
    config = resolveEnclaveConfig(img.manifest.config);
  } catch (e) {
    throw new EnclaveLoadError('CONFIG_INVALID', `the image's configuration is invalid: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  }
  try {
    plan = planInterface(img.manifest.interface as CanonicalInterface);
  } catch (e) {
    throw new EnclaveLoadError('INTERFACE_INVALID', `the image's interface cannot be used: ${e instanceof Error ? e.message : String(e)}`, {}, { cause: e });
  }
  for (const [name, impl] of Object.entries(options.ocalls ?? {})) {
    if (!plan.ocalls.some((f) => f.name === name)) throw new EnclaveLoadError('UNKNOWN_OCALL', `an implementation was given for ${name}, which the interface does not declare`);
    if (typeof impl !== 'function') throw new EnclaveLoadError('BAD_OPTIONS', `the implementation of OCALL ${name} is not a function`);
  }
  // Two passes over the SGXS stream, keeping no per-page objects (a 1 GiB heap is 262,144 pages):
  // the first checks it against the manifest, the second loads it.
  let pageCount = 0;
  const tcsPages = new Set<number>();
  const { size, ssaFrameSize } = forEachSgxsPage(img.sgxs, (p) => {
    pageCount++;
    if (((p.secinfoFlags >> 8) & 0xff) === PT.TCS) tcsPages.add(p.offset);
    if (p.measuredChunks !== 0 && p.measuredChunks !== 0xffff) throw new EnclaveLoadError('PARTIAL_MEASUREMENT', `page 0x${p.offset.toString(16)} is partially measured, which the Windows API cannot load`);
    checkPermissions(p.secinfoFlags);
  });
  // The manifest only guides the host: it must agree with what is measured and signed.
  const m = img.manifest;
  const disagree = (what: string): never => {
    throw new EnclaveLoadError('MANIFEST_MISMATCH', `the image manifest disagrees with its measured contents: ${what}`);
  };
  if (m.layout.size !== size) disagree(`ELRANGE size 0x${m.layout.size.toString(16)} vs 0x${size.toString(16)}`);
  if (m.layout.pages !== pageCount) disagree(`${m.layout.pages} pages vs ${pageCount}`);
  if (m.layout.tcs.length === 0 || m.layout.tcs.some((o) => !tcsPages.has(o)) || m.layout.tcs.length !== tcsPages.size) disagree('the TCS list');
  if (toHex(sigstruct.subarray(ENCLAVEHASH.offset, ENCLAVEHASH.offset + ENCLAVEHASH.size)) !== m.mrenclave) disagree('MRENCLAVE differs from the SIGSTRUCT\'s ENCLAVEHASH');
  const os = enclaveOs(platform);
  const secs = SECS.encode({ SIZE: BigInt(size), SSAFRAMESIZE: ssaFrameSize, MISCSELECT: config.miscSelect, ATTRIBUTES: { FLAGS: attributesFlagsOf(config), XFRM: config.xfrm } });
  let arena = 0;
  try {
    const base = os.create(size, secs, (m.layout.heap.max ?? m.layout.heap.size) > m.layout.heap.size);
    // Coalesce runs of up to 256 contiguous pages with the same protection (and, for unmeasured
    // pages, all zero) into one LoadEnclaveData call (one SGX_IOC_ENCLAVE_ADD_PAGES on Linux).
    const zeroRun = new Uint8Array(256 * 4096);
    const dataRun = new Uint8Array(256 * 4096);
    let run = { offset: -1, flags: 0, measured: false, zero: false, n: 0 };
    let loaded = 0;
    const flush = (): void => {
      if (run.n === 0) return;
      os.add(run.offset, (run.zero ? zeroRun : dataRun).subarray(0, run.n * 4096), run.n, run.flags, run.measured);
      loaded += run.n;
      run.n = 0;
      options.onProgress?.(loaded, pageCount);
    };
    forEachSgxsPage(img.sgxs, (p) => {
      const measured = p.measuredChunks === 0xffff;
      const zero = !measured && isZero(p.data);
      // A zero page may join a run with data (it is copied as zeros); a page with data ends a zero run.
      if (run.n > 0 && (run.n === 256 || p.offset !== run.offset + run.n * 4096 || p.secinfoFlags !== run.flags || measured !== run.measured || (run.zero && !zero))) flush();
      if (run.n === 0) run = { offset: p.offset, flags: p.secinfoFlags, measured, zero, n: 0 };
      if (!run.zero) dataRun.set(p.data, run.n * 4096);
      run.n++;
    });
    flush();
    os.init(sigstruct, options.token);
    arena = os.arena(arenaSize);
    return new HostEnclave(platform, os, img, plan, base, lp, arena, arenaSize, options);
  } catch (e) {
    // (As before the OS binding: the arena first, then the enclave, whatever removing it answers.)
    if (arena !== 0) os.freeArena(arena, arenaSize);
    os.remove();
    throw e;
  }
}

interface CallFrame {
  tcs: number;
  slot: number;
  inOcall: boolean;
  /** The call's [out]/[inout] buffers: the caller's bytes, their arena addresses and lengths (reused: outCount are in use). */
  readonly outTargets: Uint8Array[];
  readonly outAddrs: number[];
  readonly outLens: number[];
  outCount: number;
  /** The value arguments as the enclave will see them, by parameter index (reused: entries 0 … n−1 are this call's). */
  readonly vals: (number | bigint | undefined)[];
  /** The first exception of this call (reported when the call fails). */
  exception: ExitInfo | null;
  /** An error thrown by an OCALL implementation (the call is abandoned and this is rethrown); NO_ERROR: none (a thrown value may be falsy). */
  ocallError: unknown;
}

export class HostEnclave {
  readonly base: number;
  readonly size: number;
  readonly image: EnclaveImage;
  /** The interface's plan, for inspection: a frozen copy of the one the host uses (#plan). */
  readonly plan: InterfacePlan;
  readonly #plan: InterfacePlan;
  readonly #platform: HostPlatform;
  /** The OS binding that built the enclave (and removes it). */
  readonly #os: EnclaveOs;
  /** OCALL implementations by OCALL index (undefined: none given). */
  readonly #ocallImpls: (OcallImpl | undefined)[];
  readonly #tcs: readonly number[];
  readonly #byName: ReadonlyMap<string, FunctionPlan>;
  /** By ECALL index: whether it has value parameters (whose values lengths may refer to). */
  readonly #hasValues: Uint8Array;
  /** The last ECALL looked up (a run of calls to one ECALL skips the map; null: none yet). */
  #lastName: string | null = null;
  #lastPlan: FunctionPlan | null = null;
  /** Which TCS (by index) a call is using. */
  readonly #busy: Uint8Array;
  /** Calls in progress on this enclave (their frames are #frames[0 .. #depth − 1], innermost last). */
  #depth = 0;
  /** Call frames by nesting depth, reused (a frame is referenced only while its call runs). */
  readonly #frames: CallFrame[] = [];
  readonly #arenaBase: number;
  readonly #arenaEnd: number;
  #arenaTop: number;
  readonly #lp: LogicalProcessor;
  readonly #nssa: number;
  #destroyed = false;
  readonly #ret = new Uint8Array(8);
  readonly #ocallRet = new Uint8Array(8);
  /** Marshalling structures by parameter count, reused (an ECALL's is written before it enters; an OCALL's read before its implementation runs). */
  readonly #msBufs: Uint8Array[] = [];
  #slots(f: FunctionPlan): Uint8Array {
    const n = f.params.length;
    return this.#msBufs[n] ?? (this.#msBufs[n] = new Uint8Array(msSize(f)));
  }
  /** ocallBuffers 'lent': whether OCALL buffers are lent views. */
  readonly #lend: boolean;
  /**
   * The buffers lent to OCALL implementations, by call depth: an OCALL's buffers are carved from
   * its depth's pool (emptied when the OCALL starts); a nested ECALL's OCALLs use the next depth's,
   * so the outer implementation's views stay its own until it returns.
   */
  readonly #pools: { buf: Uint8Array; used: number }[] = [];
  /** The current depth's pool, emptied (an OCALL with buffers to lend starts). */
  #pool(): { buf: Uint8Array; used: number } {
    const pool = this.#pools[this.#depth] ?? (this.#pools[this.#depth] = { buf: new Uint8Array(4096), used: 0 });
    pool.used = 0;
    return pool;
  }
  /** A lent buffer of `len` bytes from `pool` (a bigger pool when full: the views already lent keep the old one). */
  #lent(pool: { buf: Uint8Array; used: number }, len: number): Uint8Array {
    if (pool.used + len > pool.buf.length) {
      pool.buf = new Uint8Array(Math.max(pool.buf.length * 2, len));
      pool.used = 0;
    }
    const view = pool.buf.subarray(pool.used, pool.used + len);
    pool.used += len;
    return view;
  }
  /** Register files by nesting depth, and one exit handler for all calls: nothing is allocated per ECALL. */
  readonly #regs: Registers[] = [];
  readonly #handler: (x: ExitInfo, r: Registers) => number = (x, r) => {
    // An ECALL's return (back to the caller of enclu) and an OCALL: kept first and small, as every
    // ECALL and OCALL passes here (V8 compiles the OCALL's EEXIT, this and the ORET as one unit).
    if (x.reason === 'eexit') {
      const code = r.rdi;
      if (code === EXIT_ECALL_RETURN) return 0;
      const f = this.#plan.ocalls[code];
      if (f !== undefined) return this.#answer(x, r, f);
    }
    return this.#answer(x, r, null);
  };
  /**
   * The answer to an exit other than an ECALL's return: OCALL `f` served and its ORET, or else
   * #onExit's. An error (of an OCALL's implementation, say) ends the ECALL with it.
   */
  #answer(x: ExitInfo, r: Registers, f: FunctionPlan | null): number {
    const frame = this.#frames[this.#depth - 1]!;
    try {
      return f !== null ? this.#oret(frame, f, r) : this.#onExit(frame, x, r);
    } catch (e) {
      frame.ocallError = e;
      return 0;
    }
  }
  /** Exits seen, for inspection: EEXITs, AEXs, OCALLs; and the heap's bytes committed after load at the enclave's request. */
  readonly stats = { ecalls: 0, ocalls: 0, aex: 0, exceptions: 0, heapCommitted: 0 };

  /** @internal use loadEnclave (it does everything that can fail; this only records). */
  constructor(platform: HostPlatform, os: EnclaveOs, image: EnclaveImage, plan: InterfacePlan, base: number, lp: LogicalProcessor, arena: number, arenaSize: number, options: LoadOptions) {
    this.#platform = platform;
    this.#os = os;
    this.image = image;
    this.#lend = options.ocallBuffers === 'lent';
    this.#plan = plan;
    this.plan = deepFreeze(structuredClone(plan));
    this.base = base;
    this.size = image.manifest.layout.size;
    const impls = options.ocalls ?? {};
    // Looked up once, here: an implementation given later is not seen. Inherited ones count (a class
    // instance may carry them), but not Object.prototype's own methods (an OCALL named toString).
    this.#ocallImpls = plan.ocalls.map((f) => {
      const v: unknown = impls[f.name];
      return typeof v === 'function' && v !== (Object.prototype as Record<string, unknown>)[f.name] ? (v as OcallImpl) : undefined;
    });
    this.#tcs = image.manifest.layout.tcs.map((o) => base + o);
    this.#byName = new Map(plan.ecalls.map((f) => [f.name, f]));
    this.#hasValues = Uint8Array.from(plan.ecalls, (f) => (f.params.some((p) => p.kind === 'value') ? 1 : 0));
    this.#busy = new Uint8Array(this.#tcs.length);
    this.#nssa = image.manifest.layout.nssa;
    this.#lp = lp;
    this.#arenaBase = arena;
    this.#arenaTop = arena;
    this.#arenaEnd = arena + arenaSize;
    if (options.bridges !== 'interpreted') {
      const helpers = this.#marshalHelpers();
      this.#marshals = plan.ecalls.map((f) => (f.params.length === 0 ? null : compileMarshal(f, helpers)));
    }
  }

  /**
   * @internal For the marshallers' differential tests: marshal `args` for `f` (any plan, not only
   * this enclave's) into this enclave's arena, compiled (`compiled`, where code generation is
   * allowed) or interpreted, and return the ms, the arena bytes used and the recorded [out]
   * buffers (offsets in the arena, lengths, the caller's arrays); the arena is then released.
   * Throws what the ECALL would throw before it enters.
   */
  static marshalForTests(e: HostEnclave, f: FunctionPlan, args: readonly EcallArg[], compiled: boolean): { ms: Uint8Array; arena: Uint8Array; outs: [number, number, Uint8Array][] } {
    const saved = e.#arenaTop;
    try {
      const frame: CallFrame = { tcs: 0, slot: 0, inOcall: false, outTargets: [], outAddrs: [], outLens: [], outCount: 0, vals: [], exception: null, ocallError: NO_ERROR };
      const ms = e.#take(msSize(f));
      const m = compiled ? compileMarshal(f, e.#marshalHelpers()) : null;
      if (m !== null) m(args, ms, frame);
      else e.#marshalIn(f, args, ms, frame, f.params.some((p) => p.kind === 'value'));
      const outs: [number, number, Uint8Array][] = [];
      for (let i = 0; i < frame.outCount; i++) outs.push([frame.outAddrs[i]! - saved, frame.outLens[i]!, frame.outTargets[i]!]);
      return { ms: e.#mem().read(ms, msSize(f)), arena: e.#mem().read(saved, e.#arenaTop - saved), outs };
    } finally {
      e.#arenaTop = saved;
    }
  }

  /** Each ECALL's compiled marshaller, or null: interpreted (#marshalIn). */
  readonly #marshals: readonly (CompiledMarshal | null)[] = [];
  /** How many ECALLs have a compiled marshaller (0 where code generation is refused or bridges are 'interpreted'). */
  get compiledMarshals(): number {
    return this.#marshals.filter((m) => m !== null).length;
  }

  /** What compiled marshallers call: #marshalIn's own helpers, bound to this enclave. */
  #marshalHelpers(): MarshalHelpers {
    return {
      valueProblem, writeSlot, writeSlotAddress, slotValue, USER_CHECK, lengthValue, saneLength, productLength, isUserCheckAddress, bufferBytes,
      slots: (f) => this.#slots(f),
      memory: () => this.#mem(),
      take: (len) => this.#take(len),
      badValue, badUserCheck, badLength, tooShort,
    };
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }
  get mrenclave(): string {
    return this.image.manifest.mrenclave;
  }
  /** TCS addresses, for inspection and attacks. */
  get tcs(): readonly number[] {
    return this.#tcs;
  }

  #mem(): HostPlatform['process'] {
    return this.#platform.process;
  }

  #take(n: number): number {
    const a = this.#arenaTop;
    const top = a + Math.ceil(Math.max(n, 8) / 8) * 8;
    if (top > this.#arenaEnd) throw new SdkError('ARENA_EXHAUSTED', 'the untrusted marshalling arena is exhausted');
    this.#arenaTop = top;
    return a;
  }

  /**
   * Call ECALL `name`. A call made while this enclave is in an OCALL is nested on the same thread
   * (its TCS), subject to the OCALL's allow() list; `newThread` takes another TCS instead.
   * @throws {EnclaveCallError} with the sgx_status_t (`data.status`) when the enclave refuses or fails the call;
   * `OUT_OF_TCS` when every TCS is in use.
   */
  ecall(name: string, args: readonly EcallArg[] = NO_ARGS, options?: { newThread?: boolean }): number | bigint | undefined {
    if (this.#destroyed) throw new SdkError('ENCLAVE_DESTROYED', 'the enclave was deleted');
    const f = name === this.#lastName ? this.#lastPlan : this.#byName.get(name);
    if (!f) throw new SdkError('UNKNOWN_ECALL', `the interface has no ECALL ${name}`);
    if (f !== this.#lastPlan) {
      this.#lastName = name;
      this.#lastPlan = f;
    }
    if (!Array.isArray(args) || args.length !== f.params.length) throw new SdkError('BAD_ARGUMENTS', `${name} takes ${f.params.length} arguments (an array), got ${Array.isArray(args) ? args.length : describeArg(args)}`);
    const depth = this.#depth;
    if (depth >= MAX_NESTED_ECALLS) throw new SdkError('ECALL_NESTING', `${name}: ${MAX_NESTED_ECALLS} ECALLs are nested on this thread already, each made from an OCALL of the one before (a limit of the model: MAX_NESTED_ECALLS)`);
    const top = depth > 0 ? this.#frames[depth - 1] : undefined;
    let slot: number;
    if (top && top.inOcall && !options?.newThread) slot = top.slot;
    else {
      let free = -1;
      for (let i = 0; i < this.#busy.length; i++) if (!this.#busy[i]) {
        free = i;
        break;
      }
      if (free < 0) throw new EnclaveCallError('OUT_OF_TCS', `no free TCS: all ${this.#tcs.length} threads of the enclave are in use`, { status: STATUS.OUT_OF_TCS, statusName: statusName(STATUS.OUT_OF_TCS) });
      slot = free;
    }
    const tcs = this.#tcs[slot]!;
    const savedTop = this.#arenaTop;
    let frame = this.#frames[depth];
    if (frame === undefined) frame = this.#frames[depth] = { tcs, slot, inOcall: false, outTargets: [], outAddrs: [], outLens: [], outCount: 0, vals: [], exception: null, ocallError: NO_ERROR };
    else {
      frame.tcs = tcs;
      frame.slot = slot;
      frame.inOcall = false;
      frame.outCount = 0;
      frame.exception = null;
      frame.ocallError = NO_ERROR;
    }
    const claimed = !this.#busy[slot];
    if (claimed) this.#busy[slot] = 1;
    this.#depth = depth + 1;
    try {
      const ms = this.#take(msSize(f));
      if (f.params.length !== 0) {
        const m = this.#marshals[f.index];
        if (m != null) m(args, ms, frame);
        else this.#marshalIn(f, args, ms, frame, this.#hasValues[f.index] !== 0);
      }
      const scratch = this.#arenaTop;
      const regs = this.#regs[depth] ?? (this.#regs[depth] = newRegisters());
      regs.rax = 0; regs.rbx = tcs; regs.rcx = AEP; regs.rdx = 0; regs.rsi = ms; regs.rdi = f.index;
      regs.r8 = scratch; regs.r9 = this.#arenaEnd - scratch; regs.r10 = 0; regs.r11 = 0; regs.r12 = 0; regs.r13 = 0; regs.r14 = 0; regs.r15 = 0;
      regs.rsp = HOST_RSP; regs.rbp = HOST_RSP; regs.rflags = 0x2; regs.rip = HOST_RIP;
      const exit = this.#lp.enclu(ENCLU.EENTER, regs, this.#handler);
      this.stats.ecalls++;
      if (frame.ocallError !== NO_ERROR) throw frame.ocallError;
      const ex = frame.exception as ExitInfo | null;
      if (exit.reason !== 'eexit' || regs.rdi !== EXIT_ECALL_RETURN || regs.rax !== STATUS.SUCCESS) this.#callFailed(name, exit, regs, ex);
      for (let i = 0; i < frame.outCount; i++) {
        const target = frame.outTargets[i]!, len = frame.outLens[i]!;
        this.#mem().readInto(frame.outAddrs[i]!, len === target.length ? target : target.subarray(0, len));
      }
      if (!f.returns) return undefined;
      this.#mem().readInto(ms + 8 * f.params.length, this.#ret);
      return slotValue(f.returns, this.#ret, 0);
    } finally {
      for (let i = 0; i < frame.outCount; i++) frame.outTargets[i] = NO_BYTES; // the caller's buffers are not kept past the call
      this.#depth = depth;
      if (claimed) this.#busy[slot] = 0;
      this.#arenaTop = savedTop;
    }
  }

  /** Throws the error of an ECALL whose exit or status is not a successful return; an exception seen during the call goes into the message. Out of line: the call path stays small. */
  #callFailed(name: string, exit: ExitInfo, regs: Registers, ex: ExitInfo | null): void {
    const why = ex ? ` after exception vector ${ex.vector}${ex.address ? ` at 0x${ex.address.toString(16)}` : ''}${ex.detail ? ` (${ex.detail})` : ''}` : '';
    if (exit.reason !== 'eexit' || regs.rdi !== EXIT_ECALL_RETURN) {
      throw new EnclaveCallError('ENCLAVE_EXIT', `${name}: the enclave did not return (${exit.reason}${exit.vector !== null ? `, vector ${exit.vector}` : ''}${exit.detail ? `: ${exit.detail}` : ''})${why}`, { status: STATUS.ENCLAVE_CRASHED, statusName: statusName(STATUS.ENCLAVE_CRASHED), exit, exception: ex });
    }
    const status = regs.rax;
    if (status !== STATUS.SUCCESS) throw new EnclaveCallError('ECALL_FAILED', `${name} failed: ${statusName(status)}${why}`, { status, statusName: statusName(status), exception: ex });
  }

  /** Write an ECALL's arguments into the arena and its ms; its [out]/[inout] buffers are recorded in `frame`. */
  #marshalIn(f: FunctionPlan, args: readonly EcallArg[], ms: number, frame: CallFrame, hasValues: boolean): void {
    const n = f.params.length;
    const slot = this.#slots(f);
    // The return slot (every parameter slot is written below), byte by byte: TypedArray#fill is a
    // call into the runtime (~18 ns).
    for (let k = 8 * n; k < 8 * n + 8; k++) slot[k] = 0;
    // The values as the enclave will see them, for lengths given by other parameters (none: nothing to keep).
    // (The frame's array, filled by index: nothing is allocated per call; a parameter that is no value reads as undefined.)
    const vals = hasValues ? frame.vals : NO_VALS;
    for (let i = 0; i < n; i++) {
      const p = f.params[i]!;
      if (p.kind !== 'value') {
        if (vals !== NO_VALS) vals[i] = undefined;
        continue;
      }
      const a = args[i];
      const problem = valueProblem(p, a);
      if (problem !== null) throw badValue(f, p, a, problem);
      writeSlot(slot, i, p, a);
      // Lengths are computed from the value as the enclave will see it (narrowed to its C type), so both sides agree.
      vals[i] = slotValue(p, slot, i);
    }
    const mem = this.#mem();
    for (let i = 0; i < n; i++) {
      const p = f.params[i]!;
      if (p.kind === 'value') continue;
      const a = args[i]; // (read once per argument, as the compiled marshaller does)
      if (p.kind === 'user_check') {
        if (a === null || a === undefined) writeSlotAddress(slot, i, 0);
        else if (isUserCheckAddress(a)) writeSlot(slot, i, USER_CHECK, a);
        else throw badUserCheck(f, p, a);
      }
      else if (a === null || a === undefined) writeSlotAddress(slot, i, 0);
      else {
        const bytes = bufferBytes(f, p, a);
        const len = p.string ? bytes.length : bufferLength(p, vals);
        if (len < 0) throw badLength(f, p);
        if (!p.string && bytes.length < len) throw tooShort(f, p, len, bytes.length);
        const addr = this.#take(len);
        // An [out] buffer is not written: the enclave reads nothing from it (it zeroes its own copy) and writes all len bytes back.
        if (p.direction !== 'out') mem.write(addr, bytes.length === len ? bytes : bytes.subarray(0, len));
        if ((p.direction === 'out' || p.direction === 'inout') && a instanceof Uint8Array) {
          const k = frame.outCount++;
          frame.outTargets[k] = a;
          frame.outAddrs[k] = addr;
          frame.outLens[k] = len;
        }
        writeSlotAddress(slot, i, addr);
      }
    }
    mem.write(ms, slot);
  }

  /** The exit handler (the code at the AEP / EEXIT target) for the exits #handler does not answer itself: AEX, fault, the enclave's exception handler's return. */
  #onExit(frame: CallFrame, exit: ExitInfo, regs: Registers): number {
    if (exit.reason === 'aex') {
      this.stats.aex++;
      regs.rbx = frame.tcs;
      regs.rcx = AEP;
      if (exit.vector === null) return ENCLU.ERESUME; // an interrupt: back in at once
      this.stats.exceptions++;
      if (frame.exception !== null) return 0; // an exception while handling one: the thread is lost
      frame.exception = exit;
      if (this.#nssa < 2) return 0; // no frame for the enclave's handler: give up
      regs.rdi = 0;
      return ENCLU.EENTER; // let the enclave handle its exception (CSSA > 0)
    }
    if (exit.reason === 'fault') return 0;
    const code = regs.rdi;
    if (code === EXIT_ECALL_RETURN) return 0;
    if (code === EXIT_EXCEPTION_HANDLED) {
      regs.rbx = frame.tcs;
      regs.rcx = AEP;
      return ENCLU.ERESUME;
    }
    if (code === OCALL_HEAP_COMMIT) return this.#commitHeap(frame, regs);
    // (An OCALL's code is answered by #handler.)
    throw new SdkError('BAD_EXIT', `the enclave exited with unknown code ${code}`);
  }

  /**
   * The trusted runtime's request for heap pages (OCALL_HEAP_COMMIT: RSI the first page, RDX the
   * bytes), then its ORET: SUCCESS once the OS committed them; INVALID_PARAMETER for a range that
   * is not whole pages of the heap's reserve (from the manifest's layout); OUT_OF_MEMORY when the
   * OS cannot (no SGX2, no EPC left).
   */
  #commitHeap(frame: CallFrame, regs: Registers): number {
    const heap = this.image.manifest.layout.heap;
    const from = this.base + heap.offset + heap.size, to = this.base + heap.offset + (heap.max ?? heap.size);
    const at = regs.rsi, length = regs.rdx;
    let status: number = STATUS.SUCCESS;
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(length) || at % 4096 !== 0 || length % 4096 !== 0 || length <= 0 || at < from || at + length > to) status = STATUS.INVALID_PARAMETER;
    else if (!this.#os.commit(at, length)) status = STATUS.OUT_OF_MEMORY;
    else this.stats.heapCommitted += length;
    regs.rbx = frame.tcs;
    regs.rcx = AEP;
    regs.rdi = ECMD_ORET;
    regs.rsi = status;
    return ENCLU.EENTER;
  }

  /** Serve OCALL `f` (its ms in RSI), then the ORET's registers: EENTER of the same TCS. */
  #oret(frame: CallFrame, f: FunctionPlan, regs: Registers): number {
    this.#serveOcall(frame, f, regs.rsi);
    regs.rbx = frame.tcs;
    regs.rcx = AEP;
    regs.rdi = ECMD_ORET;
    regs.rsi = STATUS.SUCCESS; // the OCALL's status (as Intel's urts passes it in ESI)
    return ENCLU.EENTER;
  }

  #serveOcall(frame: CallFrame, f: FunctionPlan, ms: number): void {
    this.stats.ocalls++;
    const mem = this.#mem();
    const n = f.params.length;
    const impl = this.#ocallImpls[f.index];
    if (!impl) throw new SdkError('OCALL_MISSING', `the enclave called OCALL ${f.name}, which has no implementation`);
    let args: (number | bigint | Uint8Array | string | null)[] = NO_OCALL_ARGS;
    let outs: { addr: number; bytes: Uint8Array }[] = NO_OCALL_OUTS;
    let top = ms + msSize(f);
    if (n > 0) {
      const pool = this.#lend ? this.#pool() : null;
      // Read once into a reused buffer: everything below that uses the slots runs before the implementation (which may nest calls).
      const slots = this.#slots(f);
      mem.readInto(ms, slots);
      const vals: (number | bigint | undefined)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const p = f.params[i]!;
        if (p.kind === 'value') vals[i] = slotValue(p, slots, i);
      }
      args = [];
      outs = [];
      for (let i = 0; i < n; i++) {
        const p = f.params[i]!;
        if (p.kind === 'value') args.push(vals[i]!);
        else if (p.kind === 'user_check') args.push(slotNumber(slots, i));
        else {
          const addr = slotNumber(slots, i);
          if (addr === 0) {
            args.push(null);
            continue;
          }
          if (addr < 0) throw new SdkError('BAD_OCALL', `OCALL ${f.name}: ${p.name} is not a valid address`);
          const len = p.string ? this.#stringLength(addr, p.string) : bufferLength(p, vals);
          if (len < 0) throw new SdkError('BAD_OCALL', `OCALL ${f.name}: ${p.name} ${p.string ? 'has no terminator within MAX_STRING bytes (or within the arena)' : 'has an invalid length'}`);
          top = Math.max(top, addr + len);
          let bytes: Uint8Array;
          if (pool !== null) mem.readInto(addr, (bytes = this.#lent(pool, len)));
          else bytes = mem.read(addr, len);
          if (p.string && p.direction === 'in') args.push(p.string === 'string' ? UTF8_DECODER.decode(bytes.subarray(0, len - 1)) : decodeWide(bytes));
          else {
            args.push(bytes);
            if (p.direction === 'out' || p.direction === 'inout') outs.push({ addr, bytes });
          }
        }
      }
    }
    // Nested ECALLs made by the implementation run above everything this OCALL uses.
    const savedTop = this.#arenaTop;
    this.#arenaTop = Math.max(this.#arenaTop, Math.ceil(top / 8) * 8);
    frame.inOcall = true;
    let result: number | bigint | void;
    try {
      result = n === 0 ? impl() : impl(...args);
    } finally {
      frame.inOcall = false;
      this.#arenaTop = savedTop;
    }
    for (let i = 0; i < outs.length; i++) mem.write(outs[i]!.addr, outs[i]!.bytes);
    if (f.returns) this.#ocallReturn(f, ms, n, result);
  }

  /** Check an OCALL implementation's result against the declared type and write it into the ms's return slot. */
  #ocallReturn(f: FunctionPlan, ms: number, n: number, result: number | bigint | void): void {
    const value = result ?? 0;
    const problem = valueProblem(f.returns!, value);
    if (problem !== null) throw new SdkError('BAD_OCALL_RETURN', `OCALL ${f.name}: the implementation returned ${describeArg(value)}; the result ${problem}`, { ocall: f.name });
    writeSlot(this.#ocallRet, 0, f.returns!, value);
    this.#mem().write(ms + 8 * n, this.#ocallRet);
  }

  /** Reused by #stringLength. */
  readonly #scanBuf = new Uint8Array(STRING_SCAN_CHUNK);

  /** Length (with terminator) of an OCALL's string: one in the arena must end inside it; -1 when there is no terminator. */
  #stringLength(addr: number, kind: 'string' | 'wstring'): number {
    const unit = stringUnit(kind);
    if (addr % unit !== 0) return -1;
    const limit = addr >= this.#arenaBase && addr < this.#arenaEnd ? this.#arenaEnd : Number.MAX_SAFE_INTEGER;
    return scanStringLength(this.#mem(), addr, unit, limit, this.#scanBuf);
  }

  /** Remove the enclave (DeleteEnclave; on Linux munmap of ELRANGE and close) and free the arena. */
  destroy(): void {
    if (this.#destroyed) return;
    // From an OCALL implementation of this enclave's ECALL: the ECALL still needs the enclave (its
    // results, its ORET): refused, nothing changed.
    if (this.#depth > 0) throw new SdkError('ENCLAVE_BUSY', 'destroy() while an ECALL of this enclave is under way (from an OCALL implementation): destroy it after the ECALL returns');
    // As sgx_destroy_enclave: the uninit ECALL first (the trusted runtime gives its memory up, so
    // that removing the pages has nothing to scrub), then the enclave removed. Not for an enclave
    // never entered (its runtime has mapped nothing yet).
    if (this.stats.ecalls > 0) this.#uninit();
    if (!this.#os.remove()) throw new SdkError('DELETE_FAILED', `removing the enclave (DeleteEnclave) failed: ${this.#os.lastError}`, this.#os.lastErrorData);
    this.#os.freeArena(this.#arenaBase, this.#arenaEnd - this.#arenaBase);
    this.#destroyed = true;
  }

  /**
   * The ECMD_UNINIT_ENCLAVE entry, on a free TCS, without an exit handler. Its outcome is not
   * looked at (Intel's urts does not look at it either): DeleteEnclave follows whatever it was, and
   * scrubs whatever the enclave did not give up.
   */
  #uninit(): void {
    const slot = this.#busy.indexOf(0);
    if (slot < 0) return;
    const regs = newRegisters();
    regs.rbx = this.#tcs[slot]!;
    regs.rcx = AEP;
    regs.rdi = ECMD_UNINIT_ENCLAVE;
    regs.rsp = HOST_RSP;
    regs.rbp = HOST_RSP;
    regs.rflags = 0x2;
    regs.rip = HOST_RIP;
    try {
      this.#lp.enclu(ENCLU.EENTER, regs, null);
    } catch (e) {
      // A fault at the entry (a TCS the kernel unmapped, a locked platform): the removal does not
      // depend on this entry, and reports its own failure. A software error is not swallowed.
      if (!(e instanceof ArchFault)) throw e;
    }
  }
}

// What #marshalIn and the compiled marshallers (host/bridge.ts) share: checks and their errors.

/** A [user_check] argument that is an address: a non-negative safe integer, or a bigint from 0 to 2^64 − 1. */
function isUserCheckAddress(a: unknown): boolean {
  return (typeof a === 'number' && Number.isSafeInteger(a) && a >= 0) || (typeof a === 'bigint' && valueProblem(USER_CHECK, a) === null && a >= 0n);
}
/** A buffer argument's bytes: a string encoded (with its terminator), or the caller's bytes. */
function bufferBytes(f: FunctionPlan, p: ParamPlan, a: unknown): Uint8Array {
  if (typeof a === 'string') return p.string === 'wstring' ? encodeWide(a) : UTF8_ENCODER.encode(a + '\0');
  if (a instanceof Uint8Array) return a;
  throw new SdkError('BAD_ARGUMENTS', `${f.name}: ${p.name} needs bytes or a string`);
}
function badValue(f: FunctionPlan, p: ParamPlan, a: unknown, problem: string): SdkError {
  return new SdkError('BAD_ARGUMENTS', `${f.name}: ${p.name} ${problem}, got ${describeArg(a)}`, { param: p.name });
}
function badUserCheck(f: FunctionPlan, p: ParamPlan, a: unknown): SdkError {
  return new SdkError('BAD_ARGUMENTS', `${f.name}: ${p.name} is [user_check]: it needs an address (a non-negative safe integer or a bigint below 2^64) or null, got ${describeArg(a)}`, { param: p.name });
}
function badLength(f: FunctionPlan, p: ParamPlan): SdkError {
  return new SdkError('BAD_ARGUMENTS', `${f.name}: ${p.name} would have an invalid length`);
}
function tooShort(f: FunctionPlan, p: ParamPlan, len: number, got: number): SdkError {
  return new SdkError('BAD_ARGUMENTS', `${f.name}: ${p.name} needs ${len} bytes, got ${got}`);
}

/** A short description of a JS argument for messages. */
function describeArg(a: unknown): string {
  if (typeof a === 'bigint') return `${a}n`;
  if (typeof a === 'number') return String(a);
  if (typeof a === 'string') return `a string of ${a.length} characters`;
  if (a instanceof Uint8Array) return `${a.length} bytes`;
  return a === null ? 'null' : typeof a;
}

const NO_BYTES = new Uint8Array(0);
/** CallFrame.ocallError when no OCALL implementation threw (undefined, null, 0 or '' can be thrown too). */
const NO_ERROR: unknown = Object.freeze({});
/**
 * Nested ECALLs (an ECALL made by an OCALL implementation, and so on) one thread may stack: the
 * processor's and the runtimes' frames live on the host's JavaScript stack, which holds ~240 of
 * them; Intel's SDK is bounded the same way by the enclave's stack. The call past it is refused.
 */
export const MAX_NESTED_ECALLS = 64;
/** No values to keep (an ECALL without value parameters: no length refers to one). Never written. */
const NO_VALS: (number | bigint | undefined)[] = [];
const NO_ARGS: readonly EcallArg[] = [];
const NO_OCALL_ARGS: (number | bigint | Uint8Array | string | null)[] = [];
const NO_OCALL_OUTS: { addr: number; bytes: Uint8Array }[] = [];
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

