/**
 * The trusted runtime: what the processor runs at OENTRY of a Witness enclave (the model's
 * counterpart of the Intel SDK's tRTS). It is installed into the processor as its
 * `EnclaveEngine` and sees an enclave only through the `EnclaveContext` of an entry.
 *
 * At the first entry it reads the measured runtime header, interface description and module
 * (instruction fetches from the code pages, never a buffer from the host), compiles the module
 * (cached per module hash), refuses imports the interface does not declare, backs the module's
 * linear memory with the enclave's heap pages, and instantiates it. Each entry then dispatches an
 * ECALL, with the edger8r-style checks of every pointer and length the host supplied.
 */
import type { EnclaveEngine, EnclaveContext } from '../../arch/index.js';
import { ArchError, ArchFault, EnclaveRedirect, isProcessorSignal, GPRSGX_SIZE } from '../../arch/index.js';
import { slotNumber, slotValue, writeSlot, writeSlotAddress, bufferLength, lengthValue, saneLength, productLength, stringUnit, terminatorLength, scanStringLength, STRING_SCAN_CHUNK, USER_CHECK, type StringUnit } from '../marshal.js';
import { fixedProvider, type CryptoProvider } from '../../lib/crypto/provider.js';
import { defaultCrypto } from '../../lib/crypto/default.js';
import { toHex, bytesEqual, writeU64le, u32le, writeU32le } from '../../lib/bytes.js';
import { RUNTIME_HEADER, HEADER_MAGIC, RUNTIME_ID, RUNTIME_ABI, type RuntimeHeader } from '../image/layout.js';
import { planInterface, type CanonicalInterface } from '../interface.js';
import { STATUS, msSize, ECMD_ORET, ECMD_UNINIT_ENCLAVE, EXIT_ECALL_RETURN, EXIT_EXCEPTION_HANDLED, OCALL_HEAP_COMMIT, MAX_STRING, MAX_BUFFER, type FunctionPlan, type InterfacePlan, type ParamPlan, type DeepMemberPlan, type MemberField } from '../abi.js';
import { checkModuleInfo } from './imports.js';
import { SdkError } from '../errors.js';
import { readWasmModule, redirectMemoryGrow, MEMORY_GROW_EXPORT, START_EXPORT, type WasmModuleInfo } from '../wasm.js';
import { runtimeImports, isOutsideEnclave, acceptPages, type RuntimeServices } from './services.js';
import { compileEcallBridge, type BridgeHelpers, type BridgeWork, type CompiledBridge } from './bridge.js';
import { extensionRequest, isExtensionShaped, type RuntimeExtension, type ExtensionHost } from './extension.js';

/** A status error inside the runtime: ends the current call with `status`. */
class CallFailed extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * An OCALL came back (ORET) into an enclave that crashed while it was out (a nested ECALL trapped):
 * a crashed enclave refuses every entry, ORET included (Intel SGX SDK, sdk/trts/trts_nsp.cpp
 * enter_enclave: the crash check comes before the entry's kind), so the ECALL that made the OCALL
 * ends with ENCLAVE_CRASHED and its frame is abandoned (thrown through the module's frames).
 */
class EnclaveCrashed extends Error {}

interface ThreadState {
  /** OCALLs in progress on this TCS (innermost last). */
  readonly ocalls: FunctionPlan[];
  /** Untrusted scratch of the current entry: [base, end), next free byte. */
  scratchBase: number;
  scratchEnd: number;
}

/** An enclave the runtime could not load: every entry fails with `status`. */
interface BrokenEnclave {
  readonly ok: false;
  readonly status: number;
}

/** A module as the runtime compiled it once: `redirected` (undefined until a heap that grows asks for it; null: no memory.grow) its memory.grow given to the runtime. */
interface CompiledModule {
  readonly module: WebAssembly.Module;
  readonly info: WasmModuleInfo;
  redirected: Redirected | null | undefined;
}
interface Redirected {
  readonly module: WebAssembly.Module;
  /** Its start function is exported for the runtime to call (see redirectMemoryGrow). */
  readonly start: boolean;
}

/** The runtime's own OCALL (OCALL_HEAP_COMMIT) as the OCALL path sees it: no parameters, no ECALL allowed while it runs. */
const HEAP_COMMIT: FunctionPlan = Object.freeze({ name: 'heap commit', index: OCALL_HEAP_COMMIT, params: [], returns: null, public: false, allow: [] });

/** A module of one import, (i32) -> (i32), that it exports again: a Wasm function that calls JavaScript, for a table. */
const GROW_WRAPPER = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f, 2, 7, 1, 1, 0x77, 1, 0x67, 0, 0, 7, 5, 1, 1, 0x67, 0, 0]);

const LOADING: BrokenEnclave = Object.freeze({ ok: false, status: STATUS.INVALID_STATE });
const CRASHED_LOADING: BrokenEnclave = Object.freeze({ ok: false, status: STATUS.ENCLAVE_CRASHED });

/** A loaded enclave's state in the runtime. */
class EnclaveState {
  readonly ok = true as const;
  readonly ecallFns: ((...a: unknown[]) => unknown)[] = [];
  /** Each ECALL's compiled bridge (see bridge.ts), or null: interpreted (no parameters, or no code generation). */
  bridges: readonly (CompiledBridge<EnclaveState> | null)[] = [];
  alloc: ((n: number) => number) | null = null;
  free: ((p: number) => void) | null = null;
  readonly threads = new Map<number, ThreadState>();
  /** Set after an exception: every later ECALL fails with ENCLAVE_CRASHED (as the Intel SDK does). */
  crashed: number | null = null;
  /** The context of the entry currently executing on this enclave (imports use it). */
  ctx: EnclaveContext | null;
  /** The module's exported __stack_pointer, if any. */
  stackPointer: WebAssembly.Global | null = null;
  /**
   * Its value when no entry of this enclave is running (read after _initialize): an outermost
   * entry starts from it, so only nested entries read the global (a call into the engine).
   */
  stackTop = 0;
  lastThreadTcs = -1;
  lastThread: ThreadState | null = null;
  #u8: Uint8Array;
  #i32: Int32Array;

  /**
   * Bytes of the heap the enclave has, from its start: the pages added at load, then those it
   * committed and accepted as its memory grew (at least the memory's size; more after a growth
   * that accepted pages and then failed).
   */
  accepted: number;
  /** Bytes of the heap the host has committed at the enclave's request (its ORET said SUCCESS), from the heap's start. */
  committed: number;

  /** `heapMax`: the most the memory may grow to, bytes (its size at load when it cannot grow); `heapBase`: its linear address. */
  constructor(readonly plan: InterfacePlan, readonly memory: WebAssembly.Memory, readonly heapMax: number, ctx: EnclaveContext, readonly heapBase = 0) {
    this.accepted = this.committed = memory.buffer.byteLength;
    this.#u8 = new Uint8Array(memory.buffer);
    this.#i32 = new Int32Array(memory.buffer);
    this.ctx = ctx;
  }

  /** A word view of the module's memory (for the processor's word copies), following the buffer as `u8` does. */
  get i32(): Int32Array {
    const w = this.#i32;
    return w.length !== 0 ? w : this.#newI32();
  }
  #newI32(): Int32Array {
    return (this.#i32 = new Int32Array(this.memory.buffer));
  }

  /**
   * The module's memory. The module may run memory.grow (even by 0 pages, which succeeds at the
   * maximum and replaces the buffer): every user of the bytes goes through this getter, which
   * follows the buffer.
   */
  get u8(): Uint8Array {
    const u = this.#u8;
    return u.length !== 0 ? u : this.#newU8();
  }
  #newU8(): Uint8Array {
    return (this.#u8 = new Uint8Array(this.memory.buffer));
  }
}

const UTF8 = new TextDecoder();
const NO_BYTES = new Uint8Array(0);
const NO_WORDS = new Int32Array(0);
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

/** Interfaces whose compiled bridges the runtime keeps for the next enclave with the same interface. */
const BRIDGE_CACHE = 64;

/** Offset of the "abort" continuation the exception handler installs in the SSA (relative to OENTRY). */
const ABORT_RIP_OFFSET = 0x10;

export interface TrustedRuntimeOptions {
  readonly crypto?: CryptoProvider;
  /**
   * How ECALLs with parameters are bridged: 'compiled' (the default) compiles each ECALL's bridge
   * from the interface when an enclave is loaded (bridge.ts), falling back to 'interpreted' where
   * it cannot be compiled (code generation from strings refused); 'interpreted' reads the plan at every call. Both do
   * the same checks in the same order; compiled is faster.
   */
  readonly bridges?: 'compiled' | 'interpreted';
  /**
   * Extensions of the runtime (enclave/extension.ts), each offered to the modules that name it in
   * their `witness.extension` section. Default none. The platform installs the shield.
   */
  readonly extensions?: readonly RuntimeExtension[];
}

/** Import modules that belong to the runtime itself: no extension may offer them. */
const RESERVED_IMPORT_MODULES = new Set(['env', 'ocall', 'witness']);

/** The trusted runtime as an engine, with what it compiled (for inspection). */
export interface TrustedRuntimeEngine extends EnclaveEngine {
  /** ECALL bridges compiled so far (each interface's once; 0 where code generation is refused or bridges are 'interpreted'). */
  readonly compiledBridges: number;
}

/**
 * The trusted runtime, to install as a processor's engine.
 * @throws {SdkError} `BAD_OPTIONS` for a `bridges` that is neither 'compiled' nor 'interpreted'.
 */
export function createTrustedRuntime(options: TrustedRuntimeOptions = {}): TrustedRuntimeEngine {
  const bridges = options.bridges ?? 'compiled';
  if (bridges !== 'compiled' && bridges !== 'interpreted') throw new SdkError('BAD_OPTIONS', `bridges must be 'compiled' or 'interpreted', got ${String(bridges)}`);
  const extensions = new Map<string, RuntimeExtension>();
  for (const x of options.extensions ?? []) {
    if (!isExtensionShaped(x, true)) throw new SdkError('BAD_OPTIONS', 'an extension is an object with id, imports, ecalls, check and attach');
    if (extensions.has(x.id)) throw new SdkError('BAD_OPTIONS', `two extensions are named ${x.id}`);
    for (const m of Object.keys(x.imports)) if (RESERVED_IMPORT_MODULES.has(m)) throw new SdkError('BAD_OPTIONS', `extension ${x.id} may not offer imports of module '${m}' (the runtime's own)`);
    extensions.set(x.id, x);
  }
  return new TrustedRuntime(options.crypto ?? defaultCrypto(), bridges === 'compiled', extensions);
}

/** What a test's stand-in enclave is made of (runEcallBridgeForTests). */
export interface BridgeTestEnclave {
  readonly memory: WebAssembly.Memory;
  readonly heapSize: number;
  readonly alloc: ((n: number) => number) | null;
  readonly free: ((p: number) => void) | null;
  /** The ECALL's export. */
  readonly fn: (...a: unknown[]) => unknown;
}

/**
 * @internal For the bridges' differential tests: the part of ECALL `f` after the runtime's entry
 * checks (ms copy, bridge, frees), with its bridge compiled (`compiled`, where code generation is
 * allowed) or interpreted, on a stand-in enclave, with `ctx` standing in for the processor. Throws
 * what the ECALL would end with (a status error carries `status`).
 */
export function runEcallBridgeForTests(compiled: boolean, ctx: EnclaveContext, f: FunctionPlan, msAddr: number, enclave: BridgeTestEnclave): void {
  TrustedRuntime.runBridgeForTests(compiled, ctx, f, msAddr, enclave);
}

class TrustedRuntime implements TrustedRuntimeEngine {
  static runBridgeForTests(compiled: boolean, ctx: EnclaveContext, f: FunctionPlan, msAddr: number, x: BridgeTestEnclave): void {
    const rt = new TrustedRuntime(defaultCrypto(), compiled, new Map());
    const ecalls: FunctionPlan[] = [];
    ecalls[f.index] = f;
    const st = new EnclaveState({ ecalls, ocalls: [] }, x.memory, x.memory.buffer.byteLength, ctx);
    st.alloc = x.alloc;
    st.free = x.free;
    st.ecallFns[f.index] = x.fn;
    if (compiled) {
      const bridges: (CompiledBridge<EnclaveState> | null)[] = [];
      bridges[f.index] = compileEcallBridge(f, rt.#bridgeHelpers);
      st.bridges = bridges;
    }
    rt.#ecallWithParams(ctx, st, f, f.index, msAddr);
  }

  readonly #crypto: CryptoProvider;
  readonly #enclaves = new Map<object, EnclaveState | BrokenEnclave>();
  readonly #modules = new Map<string, CompiledModule>();
  #lastKey: object | null = null;
  #lastState: EnclaveState | BrokenEnclave | undefined = undefined;

  readonly #compile: boolean;
  /** Compiled bridges by the interface's text (the same interface, loaded again, reuses them; the last BRIDGE_CACHE interfaces). */
  readonly #bridgeCache = new Map<string, readonly (CompiledBridge<EnclaveState> | null)[]>();
  #compiled = 0;
  get compiledBridges(): number {
    return this.#compiled;
  }

  readonly #extensions: ReadonlyMap<string, RuntimeExtension>;

  constructor(crypto: CryptoProvider, compile: boolean, extensions: ReadonlyMap<string, RuntimeExtension>) {
    this.#crypto = fixedProvider(crypto); // the runtime is part of the enclave: nobody outside swaps its crypto afterwards
    this.#compile = compile;
    this.#extensions = extensions;
  }

  destroyed(key: object): void {
    this.#enclaves.delete(key);
    if (this.#lastKey === key) {
      this.#lastKey = null;
      this.#lastState = undefined;
    }
  }

  /**
   * ECMD_UNINIT_ENCLAVE (see abi.ts): the memory given up (unmapMemory), the enclave's state
   * dropped, and every later ECALL refused with ENCLAVE_CRASHED, as trts marks the enclave. Refused
   * with INVALID_STATE, nothing changed, while another entry of the enclave is under way (an OCALL
   * out, this entry nested in it, another thread interrupted). Returns the ECALL's outcome as a
   * CallFailed to throw (its status SUCCESS when done): the ECALL path keeps one throw for both.
   */
  #uninit(ctx: EnclaveContext, key: object, st: EnclaveState, outer: EnclaveContext | null): CallFailed {
    if (outer !== null) return new CallFailed(STATUS.INVALID_STATE, 'uninit while another entry of the enclave is under way');
    ctx.unmapMemory(st.memory);
    this.#enclaves.set(key, { ok: false, status: STATUS.ENCLAVE_CRASHED });
    if (this.#lastKey === key) {
      this.#lastKey = null;
      this.#lastState = undefined;
    }
    return new CallFailed(STATUS.SUCCESS, 'uninitialized');
  }

  enter(ctx: EnclaveContext): number {
    const r = ctx.regs;
    const ret = r.rcx;
    const hostRsp = r.rsp, hostRbp = r.rbp;
    if (r.rax > 0) return this.#exceptionEntry(ctx, ret, hostRsp, hostRbp);
    // The ECALL's registers, read before anything can exit: loading the enclave at its first entry
    // runs the module's initializers, whose memory.grow may make an OCALL (the heap's commit), and
    // an ORET brings the host's registers back.
    const index = r.rdi, msAddr = r.rsi, scratch = r.r8, scratchSize = r.r9;
    const key = ctx.enclaveKey;
    const st = key === this.#lastKey ? this.#lastState! : this.#stateOf(ctx, key);
    let status: number;
    if (!st.ok) status = st.status;
    else if (st.crashed !== null) status = STATUS.ENCLAVE_CRASHED;
    else {
      const outer = st.ctx;
      st.ctx = ctx;
      // The module's C stack pointer (when exported): an ECALL abandoned half-way (an OCALL whose
      // host gave up, an exception) must not leave the stack lowered for the next one.
      const sp = st.stackPointer;
      const sp0 = sp === null ? 0 : outer === null ? st.stackTop : (sp.value as number);
      try {
        ctx.step();
        // The ECALL (written out here rather than called: this is the path every ECALL takes).
        const f = st.plan.ecalls[index];
        if (f === undefined) throw index === ECMD_UNINIT_ENCLAVE ? this.#uninit(ctx, key, st, outer) : noSuchEcall(index);
        const t = this.#thread(st, ctx.tcsAddress);
        if (t.ocalls.length > 0 || !f.public) ecallAllowed(t, f, index);
        const base = ctx.baseAddr, end = base + ctx.size;
        if (!isOutsideEnclave(base, end, msAddr, msSize(f)) || msAddr === 0) throw notOutside('the marshalling structure');
        if (!isOutsideEnclave(base, end, scratch, scratchSize)) throw notOutside('the untrusted scratch area');
        const savedBase = t.scratchBase, savedEnd = t.scratchEnd;
        t.scratchBase = scratch;
        t.scratchEnd = scratch + scratchSize;
        try {
          if (f.params.length !== 0) this.#ecallWithParams(ctx, st, f, index, msAddr);
          else {
            const result = st.ecallFns[index]!();
            if (f.returns) this.#writeReturn(ctx, f, msAddr, result);
          }
        } finally {
          t.scratchBase = savedBase;
          t.scratchEnd = savedEnd;
        }
        status = STATUS.SUCCESS;
      } catch (e) {
        status = ecallThrew(st, sp, sp0, e);
      } finally {
        st.ctx = outer;
      }
    }
    return this.#exit(ctx, ret, hostRsp, hostRbp, EXIT_ECALL_RETURN, status);
  }

  /** The runtime's state of the enclave `key` (loaded at its first entry), remembered as the last one entered. */
  #stateOf(ctx: EnclaveContext, key: object): EnclaveState | BrokenEnclave {
    let st = this.#enclaves.get(key);
    if (!st) {
      // An initializer may exit (its memory.grow commits pages): an entry meanwhile finds the
      // enclave loading (INVALID_STATE), and a load that ends in the abort continuation (the
      // enclave's exception handler after a fault) or is given up leaves it crashed.
      this.#enclaves.set(key, LOADING);
      try {
        st = this.#initialize(ctx);
      } catch (e) {
        this.#enclaves.set(key, CRASHED_LOADING);
        if (e instanceof EnclaveRedirect) st = CRASHED_LOADING;
        else throw e;
      }
      this.#enclaves.set(key, st);
    }
    this.#lastKey = key;
    this.#lastState = st;
    return st;
  }

  resume(ctx: EnclaveContext): number {
    // The interrupted work ended with an exception and is gone: report the crash to the host.
    const st = this.#enclaves.get(ctx.enclaveKey);
    if (st && st.ok) st.crashed = STATUS.ENCLAVE_CRASHED;
    return this.#exit(ctx, ctx.regs.rcx, ctx.regs.rsp, ctx.regs.rbp, EXIT_ECALL_RETURN, STATUS.ENCLAVE_CRASHED);
  }

  /** EEXIT with the runtime's exit registers: only RDI/RAX carry information; the rest is scrubbed. */
  #exit(ctx: EnclaveContext, target: number, rsp: number, rbp: number, code: number, status: number): number {
    const r = ctx.regs;
    r.rax = status; r.rbx = 0; r.rcx = 0; r.rdx = 0; r.rsi = 0; r.rdi = code;
    r.r8 = 0; r.r9 = 0; r.r10 = 0; r.r11 = 0; r.r12 = 0; r.r13 = 0; r.r14 = 0; r.r15 = 0;
    r.rsp = rsp; r.rbp = rbp; r.rflags = 0x2;
    return target;
  }

  /**
   * An entry with CSSA > 0: the host asks the enclave to handle the exception saved in SSA frame
   * CSSA−1. Wasm cannot resume a faulting instruction, so the handler redirects the thread to the
   * abort continuation; the ECALL then fails with ENCLAVE_CRASHED.
   */
  #exceptionEntry(ctx: EnclaveContext, ret: number, rsp: number, rbp: number): number {
    const cssa = ctx.regs.rax;
    const st = this.#enclaves.get(ctx.enclaveKey);
    if (st && st.ok) st.crashed = STATUS.ENCLAVE_CRASHED;
    const header = RUNTIME_HEADER.decode(ctx.read(ctx.baseAddr, 4096), { allowReserved: true });
    const frame = ctx.tcsAddress + 4096 + (cssa - 1) * 4096;
    const ripAt = frame + 4096 - GPRSGX_SIZE + 136;
    const abort = new Uint8Array(8);
    writeU64le(abort, 0, ctx.baseAddr + Number(header.MODULE_OFFSET) + ABORT_RIP_OFFSET);
    ctx.write(ripAt, abort);
    return this.#exit(ctx, ret, rsp, rbp, EXIT_EXCEPTION_HANDLED, STATUS.ENCLAVE_CRASHED);
  }

  // ---- loading ---------------------------------------------------------------------------------

  /**
   * Load the enclave at its first entry. Whatever goes wrong in software (a header, interface or
   * module that does not make sense) leaves the enclave broken with INVALID_ENCLAVE, cached so
   * that later entries fail at once; processor faults, traps and the processor's control-flow
   * signals pass through, as they do from an ECALL.
   */
  #initialize(ctx: EnclaveContext): EnclaveState | BrokenEnclave {
    try {
      return this.#load(ctx);
    } catch (e) {
      if (isProcessorSignal(e) || e instanceof EnclaveRedirect || isFault(e)) throw e;
      return { ok: false, status: e instanceof CallFailed ? e.status : STATUS.INVALID_ENCLAVE };
    }
  }

  #load(ctx: EnclaveContext): EnclaveState {
    const base = ctx.baseAddr;
    const h = RUNTIME_HEADER.decode(ctx.read(base, 4096), { allowReserved: true });
    const runtime = UTF8.decode(h.RUNTIME).replace(/\0+$/, '');
    if (!bytesEqual(h.MAGIC, HEADER_MAGIC) || h.FORMAT !== 1) throw new CallFailed(STATUS.INVALID_ENCLAVE, 'not a Witness enclave (bad runtime header)');
    if (runtime !== RUNTIME_ID || h.ABI !== RUNTIME_ABI) throw new CallFailed(STATUS.INVALID_ENCLAVE, `built for runtime ${runtime} ABI ${h.ABI}, this is ${RUNTIME_ID} ABI ${RUNTIME_ABI}`);
    checkHeaderRanges(h, ctx.size);
    const ifaceText = UTF8_STRICT.decode(ctx.read(base + Number(h.INTERFACE_OFFSET), Number(h.INTERFACE_LENGTH)));
    const plan = planInterface(JSON.parse(ifaceText) as CanonicalInterface);
    // The module is fetched as code (EPCM X) from the enclave's own pages.
    const code = ctx.fetch(base + Number(h.MODULE_OFFSET), Number(h.MODULE_LENGTH));
    const hash = this.#crypto.sha256(code);
    if (!bytesEqual(hash, h.MODULE_SHA256)) throw new CallFailed(STATUS.INVALID_ENCLAVE, 'the module does not match its hash in the runtime header');
    const key = toHex(hash);
    // Compiled (which validates it) and read (its imports, exports and a scan of its code) once per module.
    let compiled = this.#modules.get(key);
    if (!compiled) {
      compiled = { module: new WebAssembly.Module(code), info: readWasmModule(code), redirected: undefined };
      this.#modules.set(key, compiled);
    }
    // A module that names an extension gets it, at that version, or is refused.
    const request = extensionRequest(code, compiled.info);
    const extension = request === null ? null : this.#extensions.get(request.id) ?? null;
    if (request !== null && extension === null) throw new CallFailed(STATUS.INVALID_ENCLAVE, `the module needs runtime extension ${request.id}, which this runtime does not have`);
    const heapBase = base + Number(h.HEAP_OFFSET);
    const heapSize = Number(h.HEAP_SIZE);
    const heapMax = h.HEAP_MAX_SIZE === 0n ? heapSize : Number(h.HEAP_MAX_SIZE);
    const problems = checkModuleInfo(compiled.info, plan, heapSize, extension === null ? null : { descriptor: extension, config: request!.config }, heapMax);
    if (problems.length) throw new CallFailed(STATUS.INVALID_ENCLAVE, problems.join('; '));
    // A heap that can grow: the module's memory.grow is the runtime's (see redirectMemoryGrow).
    let redirected: Redirected | null = null;
    if (heapMax > heapSize) {
      if (compiled.redirected === undefined) {
        const r = redirectMemoryGrow(code, compiled.info);
        compiled.redirected = r === null ? null : { module: new WebAssembly.Module(r.bytes), start: r.start };
      }
      redirected = compiled.redirected;
    }
    const module = redirected?.module ?? compiled.module;
    const memory = ctx.mapMemory(heapBase, heapSize, { zero: true, maximum: heapMax });
    const state = new EnclaveState(plan, memory, heapMax, ctx, heapBase);
    const services: RuntimeServices = {
      crypto: this.#crypto,
      ctx: () => {
        if (!state.ctx) throw new CallFailed(STATUS.UNEXPECTED, 'runtime service outside an entry');
        return state.ctx;
      },
      get memory() {
        return state.u8;
      },
    };
    const imports: WebAssembly.Imports = {
      env: { memory },
      witness: runtimeImports(services),
      ocall: Object.fromEntries(plan.ocalls.map((f) => [f.name, f.params.length === 0 && !f.returns ? () => this.#ocallEmpty(state, f) : (...args: number[]) => this.#ocall(state, f, args)])),
    };
    let extEcalls: Readonly<Record<string, (...a: never[]) => unknown>> = {};
    let instance: WebAssembly.Instance | null = null;
    if (extension !== null) {
      const ext = extension.attach(this.#extensionHost(state, services, request!.config, () => {
        if (instance === null) throw new SdkError('EXTENSION_CALL', 'the module is not instantiated yet');
        return instance.exports;
      }));
      for (const m of Object.keys(extension.imports)) imports[m] = ext.imports[m] ?? {};
      extEcalls = ext.ecalls;
    }
    if (compiled.info.imports.some((i) => i.module === 'env' && i.name === 'abort' && i.kind === 'function')) {
      (imports.env as Record<string, WebAssembly.ImportValue>).abort = () => {
        throw new WebAssembly.RuntimeError('unreachable: abort() called by the enclave');
      };
    }
    instance = new WebAssembly.Instance(module, imports);
    const exports = instance.exports;
    if (redirected !== null) {
      (exports[MEMORY_GROW_EXPORT] as WebAssembly.Table).set(0, this.#growFunction((pages) => this.#memoryGrow(state, pages)));
      if (redirected.start) (exports[START_EXPORT] as () => void)();
    }
    const fn = (n: string) => (typeof exports[n] === 'function' ? (exports[n] as (...a: unknown[]) => unknown) : null);
    state.alloc = fn('witness_alloc') as ((n: number) => number) | null;
    state.free = fn('witness_free') as ((p: number) => void) | null;
    for (const f of plan.ecalls) {
      const own = extension !== null && extension.ecalls.includes(f.name) ? extEcalls[f.name] : undefined;
      if (extension !== null && extension.ecalls.includes(f.name) && typeof own !== 'function') throw new CallFailed(STATUS.INVALID_ENCLAVE, `extension ${extension.id} gave no body for ECALL ${f.name}`);
      const e = own !== undefined ? (own as (...a: unknown[]) => unknown) : fn(f.name);
      if (!e) throw new CallFailed(STATUS.INVALID_ENCLAVE, `the module does not export ECALL ${f.name}`);
      state.ecallFns.push(e);
    }
    if (this.#compile) state.bridges = this.#bridgesFor(ifaceText, plan);
    const spg = exports.__stack_pointer;
    state.stackPointer = spg instanceof WebAssembly.Global ? spg : null;
    const init = fn('_initialize');
    if (init) init();
    if (state.stackPointer) state.stackTop = state.stackPointer.value as number;
    state.ctx = null; // the entry that loads it sets it again for its call
    return state;
  }

  /** A Wasm function of type (i32) -> (i32) that calls `f` (a table holds only Wasm functions): a one-import module's re-export. */
  #growFunction(f: (pages: number) => number): WebAssembly.ExportValue {
    this.#growWrapper ??= new WebAssembly.Module(GROW_WRAPPER);
    return new WebAssembly.Instance(this.#growWrapper, { w: { g: f } }).exports.g!;
  }
  #growWrapper: WebAssembly.Module | undefined;

  /**
   * The module's memory.grow (redirected to here): `pages` more 64 KiB pages of the heap, committed
   * and accepted where the enclave does not have them yet (#commitHeap), then mapped into the
   * memory. The memory's old size in pages, or −1 (memory.grow's failure, as Wasm gives it) when
   * it would pass the heap's maximum or the pages cannot be had: no SGX2, a host that refuses, a
   * page EACCEPT refuses. Growing by 0 pages answers the size.
   */
  #memoryGrow(st: EnclaveState, pages: number): number {
    const ctx = st.ctx;
    if (ctx === null) throw outsideEntry();
    const delta = pages >>> 0; // (memory.grow's operand is unsigned)
    // Again after a commit: another thread, entered while this one was out, may have grown the memory.
    for (;;) {
      const size = st.memory.buffer.byteLength;
      if (delta === 0) return size / 65536;
      if (delta > (st.heapMax - size) / 65536) return -1;
      const want = size + delta * 65536;
      if (want <= st.accepted) {
        ctx.growMemory(st.memory, delta * 65536);
        return size / 65536;
      }
      if (!this.#commitHeap(st, ctx, want)) return -1;
    }
  }

  /**
   * The heap's pages up to `want` bytes that the enclave does not have yet: those the host has not
   * committed asked of it (OCALL_HEAP_COMMIT, no ECALL allowed on this thread while it runs), then
   * every page not accepted yet EACCEPTed, one by one; only pages the host said it committed are
   * accepted. False when the host refuses or a page is refused (what was accepted stays accepted,
   * for the next growth). Another thread entered while this one is out may ask for the same pages
   * first: the host then refuses the second request (the pages are there), and that growth fails
   * (−1) rather than accepting pages that may not be there yet.
   */
  #commitHeap(st: EnclaveState, ctx: EnclaveContext, want: number): boolean {
    ctx.step();
    if (want > st.committed) {
      const t = this.#thread(st, ctx.tcsAddress);
      const from = st.committed;
      ctx.regs.rdx = want - from;
      const status = this.#exitForOcall(st, ctx, t, HEAP_COMMIT, st.heapBase + from, t.scratchBase);
      if (status !== STATUS.SUCCESS) return false;
      if (want > st.committed) st.committed = want;
    }
    if (want <= st.accepted) return true;
    const r = acceptPages(ctx, st.heapBase + st.accepted, st.heapBase + want);
    st.accepted += r.accepted * 4096;
    return r.status === 0;
  }

  /** What an extension attached to `state` reaches the enclave and the host through (see ExtensionHost). */
  #extensionHost(state: EnclaveState, services: RuntimeServices, config: Uint8Array, exports: () => WebAssembly.Exports): ExtensionHost {
    const ocalls = new Map(state.plan.ocalls.map((f) => [f.name, f]));
    return {
      config: config.slice(),
      crypto: this.#crypto,
      get memory() {
        return state.u8;
      },
      ctx: services.ctx,
      exports,
      hostCall: (name, args) => {
        const f = ocalls.get(name);
        if (f === undefined) throw new SdkError('EXTENSION_CALL', `the interface has no OCALL ${name}`);
        return this.#hostCall(state, f, args);
      },
      fail: (status, message) => {
        throw new CallFailed(status, message);
      },
    };
  }

  /**
   * An extension's OCALL, its buffers given as bytes (ExtensionHost.hostCall): the same scratch
   * area, ms and exit as a module's OCALL (#ocall), the [in] bytes copied out, the [out] bytes
   * copied back only after an ORET with SUCCESS and only as many as were sent.
   */
  #hostCall(st: EnclaveState, f: FunctionPlan, args: readonly (number | bigint | Uint8Array)[]): { status: number; result: number | bigint } {
    const bad = (why: string) => new SdkError('EXTENSION_CALL', `hostCall ${f.name}: ${why}`);
    const np = f.params.length;
    if (!Array.isArray(args) || args.length !== np) throw bad(`takes ${np} arguments`);
    const vals = args.map((a) => (a instanceof Uint8Array ? 0 : a));
    const ctx = st.ctx;
    if (!ctx) throw outsideEntry();
    // Everything the call needs is checked before the first step that can exit.
    const lens: number[] = [];
    for (let i = 0; i < np; i++) {
      const p = f.params[i]!, a = args[i]!;
      if (p.kind === 'value') {
        if (a instanceof Uint8Array || (typeof a !== 'number' && typeof a !== 'bigint')) throw bad(`${p.name} is a value`);
        lens.push(0);
      } else if (p.kind === 'buffer' && !p.string && p.deep === null) {
        if (!(a instanceof Uint8Array)) throw bad(`${p.name} is a buffer: give bytes`);
        const len = bufferLength(p, vals);
        if (len !== a.length) throw bad(`${p.name} has ${a.length} bytes, its size says ${len}`);
        lens.push(len);
      } else throw bad(`${p.name}: only values and plain buffers`);
    }
    ctx.step();
    const t = this.#thread(st, ctx.tcsAddress);
    const msAddr = t.scratchBase;
    let top = msAddr + msSize(f);
    if (top > t.scratchEnd) return { status: STATUS.OUT_OF_MEMORY, result: 0 };
    const ms = new Uint8Array(8 * (np + 1));
    const outs: { bytes: Uint8Array; host: number }[] = [];
    for (let i = 0; i < np; i++) {
      const p = f.params[i]!, a = args[i]!;
      if (p.kind === 'value') {
        writeSlot(ms, i, p, a);
        continue;
      }
      const bytes = a as Uint8Array, len = lens[i]!;
      if (len === 0) continue; // an empty buffer goes out as NULL
      const host = top;
      top += Math.ceil(len / 8) * 8;
      if (top > t.scratchEnd) return { status: STATUS.OUT_OF_MEMORY, result: 0 };
      ctx.write(host, p.direction === 'out' ? zeros(len) : bytes); // an [out] buffer goes out zeroed (edger8r's memset)
      if (p.direction === 'out' || p.direction === 'inout') outs.push({ bytes, host });
      writeSlotAddress(ms, i, host);
    }
    ctx.write(msAddr, ms);
    let status: number;
    try {
      status = this.#exitForOcall(st, ctx, t, f, msAddr, top);
    } catch (e) {
      if (e instanceof CallFailed) return { status: e.status, result: 0 };
      throw e;
    }
    if (status !== STATUS.SUCCESS) return { status, result: 0 };
    for (const o of outs) ctx.readInto(o.host, o.bytes, 0, o.bytes.length);
    if (f.returns === null) return { status, result: 0 };
    const rv = ctx.read(msAddr + 8 * np, 8);
    return { status, result: slotValue(f.returns, rv, 0) };
  }

  // ---- ECALL bridge ----------------------------------------------------------------------------

  #thread(st: EnclaveState, tcs: number): ThreadState {
    return st.lastThreadTcs === tcs ? st.lastThread! : this.#threadOf(st, tcs);
  }
  /** #thread when the TCS is not the last one seen (out of line: every ECALL and OCALL asks #thread). */
  #threadOf(st: EnclaveState, tcs: number): ThreadState {
    let t = st.threads.get(tcs);
    if (!t) {
      t = { ocalls: [], scratchBase: 0, scratchEnd: 0 };
      st.threads.set(tcs, t);
    }
    st.lastThreadTcs = tcs;
    st.lastThread = t;
    return t;
  }

  /**
   * The part of an ECALL with parameters: its copy of the ms, then its bridge (compiled, or the plan
   * interpreted: #interpret) copies the parameters in, calls, and copies the [out] buffers back;
   * then what it allocated is freed, however it ended.
   */
  #ecallWithParams(ctx: EnclaveContext, st: EnclaveState, f: FunctionPlan, index: number, msAddr: number): void {
    const msLen = msSize(f);
    // This call's working arrays and its copy of the ms, reused by nesting depth: an ECALL nested
    // in this one (from its OCALL, or made by the host during an exit while this one still reads
    // its parameters: a fault in a string scan) works one level deeper, with its own. Nothing here
    // is used after the call returns.
    const depth = this.#depth;
    const work = this.#work[depth] ?? (this.#work[depth] = { args: [], rec: [], owned: [], on: 0, ms: NO_BYTES, msWords: NO_WORDS });
    if (work.ms.length < msLen) {
      work.ms = new Uint8Array(msLen);
      work.msWords = new Int32Array(work.ms.buffer);
    }
    work.on = 0;
    // From here on an ECALL nested in this one (the host runs one during an exit: a fault while the
    // ms is read) works one level deeper and cannot replace this depth's ms buffer.
    this.#depth = depth + 1;
    /** The processor's signal passing through (the host left this entry), if any. */
    let signal: unknown = null;
    try {
      // Copy the arguments in once: every later decision uses this copy (no double fetch).
      ctx.readInto(msAddr, work.ms, 0, msLen, work.msWords);
      const bridge = st.bridges[index];
      if (bridge != null) bridge(ctx, st, msAddr, work);
      else this.#interpret(ctx, st, f, index, msAddr, work);
    } catch (err) {
      if (isProcessorSignal(err)) signal = err;
      throw err;
    } finally {
      /** The processor's signal from a free itself (the host left during witness_free's OCALL). */
      let fromFree: unknown = null;
      try {
        // Freed at this call's depth: an OCALL made by witness_free (an enclave's own allocator)
        // may nest an ECALL, which must work one level deeper (owned is read here). Once the
        // enclave is marked crashed (an exception it handled, an ORET refused), its blocks stay
        // where they are, with the rest of it: a crashed enclave's frame is abandoned, not unwound.
        const owned = work.owned;
        for (let k = work.on - 1; k >= 0 && st.crashed === null; k--) {
          try {
            st.free?.(owned[k]!);
          } catch (fe) {
            // Once the host has left the entry, a free that needs the enclave (an OCALL) fails:
            // that failure is set aside, the other blocks are still offered, the signal goes on.
            if (signal !== null) continue;
            if (!isProcessorSignal(fe)) throw fe;
            signal = fromFree = fe;
          }
        }
      } finally {
        this.#depth = depth;
      }
      if (fromFree !== null) throw fromFree; // the host left: that ends the entry, whatever else happened
    }
  }

  /**
   * An ECALL's bridge, interpreted from its plan (the reference for the compiled bridges of
   * bridge.ts, which do the same in the same order): values decoded, every buffer checked and
   * sized, one allocation (or one per buffer), the copies in, the call, the copies out, the return
   * value. What it allocates goes into work.owned as it is allocated.
   */
  #interpret(ctx: EnclaveContext, st: EnclaveState, f: FunctionPlan, index: number, msAddr: number, work: Work): void {
    const n = f.params.length;
    const base = ctx.baseAddr, end = base + ctx.size;
    const ms = work.ms;
    const args = work.args; // its first n entries are this call's (no length changes: each is a runtime call)
    for (let i = 0; i < n; i++) {
      const p = f.params[i]!;
      args[i] = p.kind === 'value' ? slotValue(p, ms, i) : 0;
    }
    // Every buffer is checked and sized before anything is allocated; all of them then share one
    // allocation on the enclave heap (one witness_alloc/witness_free per call, not one per buffer),
    // or, when the heap has no hole that large, get one allocation each.
    // rec: per buffer [parameter index, host address, length, offset in the block → address].
    const rec = work.rec;
    let rn = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const p = f.params[i]!;
      if (p.kind === 'value') continue;
      const host = slotNumber(ms, i);
      if (p.kind === 'user_check') {
        args[i] = slotValue(USER_CHECK, ms, i); // the host address, as a u64
        continue;
      }
      if (host < 0) throw badAddress(f, p);
      if (host === 0) continue;
      const len = p.string ? this.#hostStringLength(ctx, host, p.string) : bufferLength(p, args);
      if (len < 0) throw insaneLength(f, p);
      if (!isOutsideEnclave(base, end, host, len)) throw notOutsideBuffer(f, p);
      // edger8r copies only `if (_tmp != NULL && _len != 0)`: an empty buffer reaches the body as NULL;
      // and a length must be whole elements (`_len % sizeof(*_tmp) != 0` → INVALID_PARAMETER).
      if (len === 0) continue;
      wholeElements(f, p, len);
      rec[rn] = i;
      rec[rn + 1] = host;
      rec[rn + 2] = len;
      rec[rn + 3] = total;
      rn += 4;
      // Each buffer starts 16-aligned in the block, as malloc would give it (max_align_t on wasm32).
      total += Math.ceil(Math.max(len, 1) / 16) * 16;
    }
    const block = rn > 0 ? tryAlloc(st, total, f.name) : 0;
    const owned = work.owned;
    for (let k = 0; k < rn; k += 4) {
      if (block !== 0) rec[k + 3]! += block;
      else {
        // Allocated before it is recorded: `owned[work.on++] = alloc(…)` would count a slot (and free
        // its stale entry, an earlier call's block) when the allocation throws OUT_OF_MEMORY.
        const q = alloc(st, rec[k + 2]!, f.name);
        owned[work.on++] = rec[k + 3] = q;
      }
    }
    if (block !== 0) owned[work.on++] = block;
    /** The deep copies of [in, out] structures, by record (null: none). */
    let deeps: (number[] | undefined)[] | null = null;
    for (let k = 0; k < rn; k += 4) {
      const p = f.params[rec[k]!]!;
      const host = rec[k + 1]!, len = rec[k + 2]!, ptr = rec[k + 3]!;
      if (p.direction === 'in' || p.direction === 'inout') {
        moduleCopy(ctx, st, host, ptr, len, true);
        // As edger8r: the copy gets its terminator, and must then be exactly as long as the scan found
        // (the host may have changed the string between the scan and the copy) → SGX_ERROR_UNEXPECTED.
        if (p.string && !stringKept(st, ptr, len, p)) throw stringChanged(f, p);
      } else zeroModule(st, ptr, len);
      args[rec[k]!] = ptr;
      // A structure that asks for a deep copy: its members' buffers, after the structure itself.
      if (p.deep !== null) {
        const d = deepCopyIn(ctx, st, work, f, p, ptr, len);
        if (p.direction === 'inout') (deeps ??= [])[k] = d;
      }
    }
    const result = callExport(st.ecallFns[index]!, args, n);
    // Every deep member is checked before anything is copied back.
    if (deeps !== null) for (let k = 0; k < rn; k += 4) if (deeps[k] !== undefined) deepCheckOut(ctx, st, f, f.params[rec[k]!]!, deeps[k]!);
    for (let k = 0; k < rn; k += 4) {
      const p = f.params[rec[k]!]!;
      if (p.direction === 'out' || p.direction === 'inout') {
        if (deeps !== null && deeps[k] !== undefined) deepWriteOut(ctx, st, rec[k + 1]!, rec[k + 3]!, rec[k + 2]!, deeps[k]!);
        else moduleCopy(ctx, st, rec[k + 1]!, rec[k + 3]!, rec[k + 2]!, false);
      }
    }
    if (f.returns) this.#writeReturn(ctx, f, msAddr, result);
  }

  /** The compiled bridges of an interface (by its text), compiled at its first load. */
  #bridgesFor(text: string, plan: InterfacePlan): readonly (CompiledBridge<EnclaveState> | null)[] {
    let b = this.#bridgeCache.get(text);
    if (b === undefined) {
      const helpers = this.#bridgeHelpers;
      b = plan.ecalls.map((f) => (f.params.length === 0 ? null : compileEcallBridge(f, helpers)));
      if (this.#bridgeCache.size >= BRIDGE_CACHE) this.#bridgeCache.delete(this.#bridgeCache.keys().next().value as string);
      this.#bridgeCache.set(text, b);
      for (const x of b) if (x !== null) this.#compiled++;
    }
    return b;
  }

  /** What compiled bridges call: the interpreter's own helpers. */
  readonly #bridgeHelpers: BridgeHelpers<EnclaveState> = {
    slotValue, slotNumber, USER_CHECK, lengthValue, saneLength, productLength, isOutsideEnclave, wholeElements,
    hostStringLength: (ctx, addr, kind) => this.#hostStringLength(ctx, addr, kind),
    tryAlloc, alloc, moduleCopy, zeroModule, stringKept, deepCopyIn, deepCheckOut, deepWriteOut,
    exportOf: (st, index) => st.ecallFns[index]!,
    writeReturn: (ctx, f, msAddr, result) => this.#writeReturn(ctx, f, msAddr, result),
    badAddress, insaneLength, notOutsideBuffer, stringChanged,
  };

  /** Nesting depth of ECALLs with parameters in progress (on every enclave: calls nest on one stack). */
  #depth = 0;
  /** Working arrays of an ECALL with parameters, by nesting depth. */
  readonly #work: Work[] = [];

  /**
   * Buffers the runtime fills and then writes to untrusted memory (an ECALL's return slot, an
   * OCALL's marshalling structure), by depth: writing to untrusted memory can fault, and during that
   * exit the host may make an ECALL whose own buffers must not be the one still waiting to be
   * written. `#outDepth` is raised from before a buffer is filled until it is written; nothing reads
   * a buffer after that.
   */
  #outDepth = 0;
  readonly #outBufs: { readonly b: Uint8Array; readonly w: Int32Array }[] = [];
  /** The buffer of depth `d`, at least `len` bytes. */
  #outBuf(d: number, len: number): { readonly b: Uint8Array; readonly w: Int32Array } {
    const o = this.#outBufs[d];
    if (o !== undefined && o.b.length >= len) return o;
    const b = new Uint8Array(Math.max(64, len));
    return (this.#outBufs[d] = { b, w: new Int32Array(b.buffer) });
  }
  #writeReturn(ctx: EnclaveContext, f: FunctionPlan, msAddr: number, result: unknown): void {
    const d = this.#outDepth;
    const o = this.#outBuf(d, 8);
    writeSlot(o.b, 0, f.returns!, result);
    this.#outDepth = d + 1;
    try {
      ctx.write(msAddr + 8 * f.params.length, o.b, 0, 8, o.w);
    } finally {
      this.#outDepth = d;
    }
  }

  /** Reused by #hostStringLength. */
  readonly #scanBuf = new Uint8Array(STRING_SCAN_CHUNK);

  /** Length (with terminator) of a NUL-terminated string in untrusted memory: it must end before it reaches the enclave. */
  #hostStringLength(ctx: EnclaveContext, addr: number, kind: 'string' | 'wstring'): number {
    const unit = stringUnit(kind);
    if (addr % unit !== 0) throw new CallFailed(STATUS.INVALID_PARAMETER, 'a wide string is not aligned');
    const start = ctx.baseAddr;
    if (addr >= start && addr < start + ctx.size) throw new CallFailed(STATUS.INVALID_PARAMETER, 'an untrusted string starts inside the enclave');
    const limit = addr < start ? start : Number.MAX_SAFE_INTEGER;
    const len = scanStringLength(ctx, addr, unit, limit, this.#scanBuf);
    if (len < 0) throw new CallFailed(STATUS.INVALID_PARAMETER, limit - addr < MAX_STRING ? 'an untrusted string runs into the enclave' : 'an untrusted string is too long');
    return len;
  }

  // ---- OCALL bridge ----------------------------------------------------------------------------

  /** An OCALL without parameters or result (nothing to marshal but its empty ms). */
  #ocallEmpty(st: EnclaveState, f: FunctionPlan): number {
    const ctx = st.ctx;
    if (ctx === null) throw outsideEntry();
    ctx.step();
    const t = this.#thread(st, ctx.tcsAddress);
    const msAddr = t.scratchBase;
    const top = msAddr + 8; // msSize(f) of no parameters
    if (top > t.scratchEnd) return STATUS.OUT_OF_MEMORY; // the untrusted scratch area is exhausted
    try {
      return this.#exitForOcall(st, ctx, t, f, msAddr, top);
    } catch (e) {
      if (e instanceof CallFailed) return e.status;
      throw e;
    }
  }

  /**
   * EEXIT for OCALL `f` with its ms at `msAddr` (the scratch area in use up to `top`), and back when
   * the host returns from it with ORET. Returns the OCALL's status as the ORET brings it: the low 32
   * bits of RSI (Intel's urts puts the sgx_status_t of its OCALL bridge in ESI with RDI = ECMD_ORET,
   * and the trusted runtime's do_oret hands it to sgx_ocall). The thread's scratch area and OCALL
   * stack, and the three registers the runtime relies on, are restored however it ends.
   */
  #exitForOcall(st: EnclaveState, ctx: EnclaveContext, t: ThreadState, f: FunctionPlan, msAddr: number, top: number): number {
    // The runtime keeps its own state in its frames (the model's trusted stack), not in registers:
    // across the OCALL it keeps only its EEXIT target (RCX as the entry left it: where this entry's
    // EENTER returns) and the host's stack (RSP/RBP as the entry brought them, which a lost frame's
    // exit hands back). The other registers go out as the entry brought them in (the host's own
    // values: nothing of the enclave's) and come back as the host's ORET left them.
    const r = ctx.regs;
    const target = r.rcx, rsp = r.rsp, rbp = r.rbp;
    t.ocalls.push(f);
    const savedBase = t.scratchBase, savedEnd = t.scratchEnd;
    t.scratchBase = top;
    try {
      r.rdi = f.index;
      r.rsi = msAddr;
      r.rax = 0;
      ctx.eexit(target);
      if (st.crashed !== null) throw crashedInOcall();
      // Re-entered: only ORET returns to this OCALL (a nested ECALL enters as a fresh entry).
      if (r.rdi !== ECMD_ORET) throw notOret(r.rdi, f);
      // A register holds an integer below 2^64: anything else (NaN, a fraction) is no status, UNEXPECTED.
      const v = r.rsi;
      return Number.isSafeInteger(v) && v >= 0 ? v % 4294967296 : STATUS.UNEXPECTED;
    } finally {
      t.ocalls.pop();
      t.scratchBase = savedBase;
      t.scratchEnd = savedEnd;
      r.rcx = target;
      r.rsp = rsp;
      r.rbp = rbp;
    }
  }

  #ocall(st: EnclaveState, f: FunctionPlan, args: readonly number[]): number {
    const ctx = st.ctx;
    if (!ctx) throw outsideEntry();
    ctx.step();
    const t = this.#thread(st, ctx.tcsAddress);
    const np = f.params.length;
    const retPtr = f.returns ? args[0]! >>> 0 : 0;
    const vals = f.returns && np > 0 ? args.slice(1) : args;
    let top = t.scratchBase;
    try {
      const msAddr = top;
      top += msSize(f); // a multiple of 8
      if (top > t.scratchEnd) throw new CallFailed(STATUS.OUT_OF_MEMORY, 'the untrusted scratch area is exhausted');
      let outs: { ptr: number; host: number; len: number; unit: StringUnit | 0; deep: DeepOcall | null }[] | null = null;
      let deepOuts = 0; // [in, out] deep structures: only then is there a check pass before the copies back
      // The ms is built in this depth's out buffer and written out before the EEXIT (see #outDepth).
      const d = this.#outDepth;
      const msLen = 8 * (np + 1);
      const buf = np > 0 ? this.#outBuf(d, msLen) : null;
      const ms = buf !== null ? buf.b : NO_BYTES;
      this.#outDepth = d + 1;
      try {
        if (np > 0) ms.fill(0, 0, msLen);
        for (let i = 0; i < np; i++) {
          const p = f.params[i]!;
          const v = vals[i]!;
          if (p.kind === 'value') writeSlot(ms, i, p, v);
          else if (p.kind === 'user_check') writeSlot(ms, i, USER_CHECK, v);
          else {
            const ptr = v >>> 0;
            if (ptr === 0) continue;
            const mem = st.u8; // after the exits of the copies before it (see moduleCopy)
            const len = p.string ? wasmStringLength(mem, ptr, p.string) : bufferLength(p, vals);
            if (len < 0) throw new CallFailed(STATUS.INVALID_PARAMETER, `${f.name}: ${p.name} has an insane length`);
            wholeElements(f, p, len);
            if (ptr + len > mem.length) throw new CallFailed(STATUS.INVALID_PARAMETER, `${f.name}: ${p.name} runs past the enclave's memory`);
            const host = top;
            top += Math.ceil(len / 8) * 8;
            if (top > t.scratchEnd) throw new CallFailed(STATUS.OUT_OF_MEMORY, 'the untrusted scratch area is exhausted');
            let deep: DeepOcall | null = null;
            if (p.deep !== null) {
              // A structure that asks for a deep copy: its members' buffers after it in the scratch area.
              const at = { top };
              deep = { p, rec: deepOcallOut(ctx, st, t, f, p, ptr, len, host, at), checked: null };
              top = at.top;
              if (p.direction === 'inout') deepOuts++;
            } else if (p.direction === 'in' || p.direction === 'inout') moduleCopy(ctx, st, host, ptr, len, false);
            else ctx.write(host, zeros(len)); // an [out] buffer goes out zeroed (edger8r's memset)
            if (p.direction === 'out' || p.direction === 'inout') (outs ??= []).push({ ptr, host, len, unit: p.string ? stringUnit(p.string) : 0, deep });
            writeSlotAddress(ms, i, host);
          }
        }
        if (buf !== null) ctx.write(msAddr, ms, 0, msLen, buf.w);
      } finally {
        this.#outDepth = d;
      }
      // The trusted proxy takes results only from an OCALL whose status is SUCCESS (edger8r: `if (status == SGX_SUCCESS)`).
      const status = this.#exitForOcall(st, ctx, t, f, msAddr, top);
      if (status !== STATUS.SUCCESS) return status;
      // Copy results back to where the enclave said, with the sizes the enclave computed.
      if (outs === null && retPtr === 0) return STATUS.SUCCESS;
      // A nested ECALL during the OCALL may have replaced the buffer: st.u8 is read after each exit.
      if (outs !== null) {
        // Every deep structure is checked before anything is copied back.
        if (deepOuts !== 0) for (const o of outs) if (o.deep !== null) o.deep.checked = deepOcallCheck(ctx, f, o.deep.p, o.host, o.len, o.deep.rec);
        for (const o of outs) {
          if (o.deep !== null) {
            deepOcallBack(st, o.deep.p, o.ptr, o.len, o.deep.rec, o.deep.checked!);
            continue;
          }
          moduleCopy(ctx, st, o.host, o.ptr, o.len, true);
          // An [in, out, string] comes back terminated, as edger8r's proxy leaves it: its last unit
          // zeroed, and everything after its first terminator too.
          if (o.unit !== 0) reterminate(st.u8, o.ptr, o.len, o.unit);
        }
      }
      if (f.returns && retPtr) {
        if (retPtr + f.returns.width > st.u8.length) throw new CallFailed(STATUS.INVALID_PARAMETER, `${f.name}: the return pointer is outside the enclave's memory`);
        const rv = ctx.read(msAddr + 8 * f.params.length, 8);
        st.u8.set(rv.subarray(0, f.returns.width), retPtr);
      }
      return STATUS.SUCCESS;
    } catch (e) {
      if (e instanceof CallFailed) return e.status;
      throw e;
    }
  }
}

/** edger8r's `_len % sizeof(*_tmp) != 0` → SGX_ERROR_INVALID_PARAMETER, on both sides of the bridge. */
function wholeElements(f: FunctionPlan, p: ParamPlan, len: number): void {
  if (len % p.pointeeSize !== 0) notWholeElements(f, p, len);
}
function notWholeElements(f: FunctionPlan, p: ParamPlan, len: number): never {
  throw new CallFailed(STATUS.INVALID_PARAMETER, `${f.name}: ${p.name} is ${len} bytes, not a whole number of ${p.pointeeSize}-byte elements`);
}

/** The string copied to [ptr, ptr+len) gets its terminator unit; true when its first terminator is that one (its length is as scanned). */
function stringKept(st: EnclaveState, ptr: number, len: number, p: ParamPlan): boolean {
  const b = st.u8, unit = stringUnit(p.string!);
  b.fill(0, ptr + len - unit, ptr + len);
  return terminatorLength(b, ptr, ptr + len, unit) === len;
}

/** [ptr, ptr+len) as edger8r terminates an [in, out, string] the host returned: last unit zeroed, and all after the first terminator. */
function reterminate(b: Uint8Array, ptr: number, len: number, unit: StringUnit): void {
  b.fill(0, ptr + len - unit, ptr + len);
  b.fill(0, ptr + terminatorLength(b, ptr, ptr + len, unit), ptr + len);
}

// The errors of an ECALL's bridge (interpreted or compiled), out of line.
function badAddress(f: FunctionPlan, p: ParamPlan): CallFailed {
  return new CallFailed(STATUS.INVALID_PARAMETER, `${f.name}: ${p.name} is not a valid address`);
}
function insaneLength(f: FunctionPlan, p: ParamPlan): CallFailed {
  return new CallFailed(STATUS.INVALID_PARAMETER, `${f.name}: ${p.name} has an insane length`);
}
function notOutsideBuffer(f: FunctionPlan, p: ParamPlan): CallFailed {
  return new CallFailed(STATUS.INVALID_PARAMETER, `${f.name}: ${p.name} is not wholly outside the enclave`);
}
function stringChanged(f: FunctionPlan, p: ParamPlan): CallFailed {
  return new CallFailed(STATUS.UNEXPECTED, `${f.name}: ${p.name} changed while it was copied`);
}

// The errors of an ECALL's entry checks (out of line: keeps the ECALL path small).
function noSuchEcall(index: number): CallFailed {
  return new CallFailed(STATUS.INVALID_FUNCTION, `no ECALL ${index}`);
}
/** Zeros to send as an [out] buffer's contents (one buffer, grown as needed, never written). */
let ZEROS = new Uint8Array(4096);
function zeros(n: number): Uint8Array {
  if (n > ZEROS.length) ZEROS = new Uint8Array(Math.max(n, ZEROS.length * 2));
  return ZEROS.subarray(0, n);
}

// The errors of an OCALL's exit and return (out of line: keeps the OCALL path small).
function outsideEntry(): WebAssembly.RuntimeError {
  return new WebAssembly.RuntimeError('OCALL outside an enclave entry');
}
function crashedInOcall(): EnclaveCrashed {
  return new EnclaveCrashed('the enclave crashed while an OCALL was out');
}
function notOret(rdi: number, f: FunctionPlan): CallFailed {
  return new CallFailed(STATUS.UNEXPECTED, `re-entry with code ${rdi} while OCALL ${f.name} waits`);
}
function notOutside(what: string): CallFailed {
  return new CallFailed(STATUS.INVALID_PARAMETER, `${what} is not outside the enclave`);
}

/** An ECALL that is not public, or one made during an OCALL: it must be allowed (the OCALL's allow list). */
function ecallAllowed(t: ThreadState, f: FunctionPlan, index: number): void {
  const inOcall = t.ocalls.length > 0 ? t.ocalls[t.ocalls.length - 1] : undefined;
  if (inOcall ? !inOcall.allow.includes(index) : !f.public) throw new CallFailed(STATUS.ECALL_NOT_ALLOWED, `ECALL ${f.name} is not allowed here`);
}

/**
 * An ECALL ended with an exception (out of line: keeps the entry path small). The C stack pointer
 * goes back to where the call found it; a status error ends the call with its status; an ORET
 * refused by a crashed enclave ends it with ENCLAVE_CRASHED; a redirect by the enclave's exception
 * handler crashes the enclave; anything else passes through.
 */
function ecallThrew(st: EnclaveState, sp: WebAssembly.Global | null, sp0: number, e: unknown): number {
  if (sp) sp.value = sp0;
  if (e instanceof CallFailed) return e.status;
  if (e instanceof EnclaveCrashed) return STATUS.ENCLAVE_CRASHED;
  if (e instanceof EnclaveRedirect) {
    st.crashed = STATUS.ENCLAVE_CRASHED;
    return STATUS.ENCLAVE_CRASHED;
  }
  throw e;
}

/**
 * A copy between untrusted memory (`host`) and the module's memory (`ptr`), into the module when
 * `toModule`. An exit in the middle of it (a fault on the untrusted side, resumed) may run a nested
 * ECALL that replaces the module's buffer (memory.grow, even by 0 pages, detaches the old one; the
 * contents stay at the same offsets): the context then ends the access with ENGINE_BUFFER_DETACHED
 * before any byte moved, and the copy is done again, whole, with the current view. Anything else
 * passes through (the processor's signals, faults, what the host's exit handler threw).
 */
function moduleCopy(ctx: EnclaveContext, st: EnclaveState, host: number, ptr: number, len: number, toModule: boolean): void {
  try {
    if (toModule) ctx.readInto(host, st.u8, ptr, len, st.i32);
    else ctx.write(host, st.u8, ptr, len, st.i32);
  } catch (e) {
    moduleCopyAgain(ctx, st, host, ptr, len, toModule, e);
  }
}

/**
 * moduleCopy after its copy failed with `e`: ENGINE_BUFFER_DETACHED gets the copy again, whole,
 * through the module's views as they are now; anything else passes through (out of line: the
 * bridge's common path stays small enough for V8 to inline its copies).
 */
function moduleCopyAgain(ctx: EnclaveContext, st: EnclaveState, host: number, ptr: number, len: number, toModule: boolean, e: unknown): void {
  if (!(e instanceof ArchError && e.code === 'ENGINE_BUFFER_DETACHED')) throw e;
  if (toModule) ctx.readInto(host, st.u8, ptr, len, st.i32);
  else ctx.write(host, st.u8, ptr, len, st.i32);
}

/**
 * Zero [ptr, ptr+len) of the module's memory (an [out] buffer's copy): a small aligned range as
 * words (Node 20, 64 bytes: ~8 ns, against ~18 for TypedArray#fill, a call into the runtime).
 */
function zeroModule(st: EnclaveState, ptr: number, len: number): void {
  if (len <= 256 && ((ptr | len) & 3) === 0) {
    const w = st.i32;
    // Unsigned word indices: the heap may reach 4 GiB, so ptr may be 2^31 or more.
    for (let k = ptr >>> 2, end = k + (len >>> 2); k < end; k++) w[k] = 0;
  } else st.u8.fill(0, ptr, ptr + len);
}

/** An ECALL's working arrays at its nesting depth (the part compiled bridges use is BridgeWork). */
interface Work extends BridgeWork {
  readonly args: (number | bigint)[];
  readonly rec: number[];
  ms: Uint8Array;
  msWords: Int32Array;
}

function alloc(st: EnclaveState, len: number, fname: string): number {
  const p = tryAlloc(st, len, fname);
  if (p === 0) throw new CallFailed(STATUS.OUT_OF_MEMORY, `${fname}: the enclave heap is exhausted`);
  return p;
}

/** `len` bytes from the enclave's allocator, or 0 (a size beyond the heap is never passed to its 32-bit argument). */
function tryAlloc(st: EnclaveState, len: number, fname: string): number {
  const alloc = st.alloc;
  if (alloc === null) noAllocator(fname);
  if (len > st.heapMax) return 0;
  const p = alloc(Math.max(len, 1)) >>> 0;
  return p !== 0 && p + len > st.u8.length ? outsideHeap(st, p) : p; // (the allocator may have grown the memory)
}

/** tryAlloc without an allocator to call (out of line, as every rare path of the bridge). */
function noAllocator(fname: string): never {
  throw new CallFailed(STATUS.INVALID_ENCLAVE, `${fname}: the module exports no witness_alloc for marshalled buffers`);
}

/** An allocator that answered outside its own heap: the block is not used, and not leaked either. Returns 0 (no block). */
function outsideHeap(st: EnclaveState, p: number): number {
  st.free?.(p);
  return 0;
}

/** Call an ECALL's export with its arguments (without a spread for the usual arities). */
function callExport(fn: (...a: unknown[]) => unknown, a: readonly (number | bigint)[], n: number): unknown {
  switch (n) {
    case 1: return fn(a[0]);
    case 2: return fn(a[0], a[1]);
    case 3: return fn(a[0], a[1], a[2]);
    case 4: return fn(a[0], a[1], a[2], a[3]);
    default: return fn(...a.slice(0, n));
  }
}

/** Errors the processor turns into an exception AEX: its faults and the module's traps (see ENCLU's classification). */
function isFault(e: unknown): boolean {
  return e instanceof ArchFault || e instanceof WebAssembly.RuntimeError || (e instanceof RangeError && /call stack/i.test(e.message));
}

/**
 * The header's regions must lie inside ELRANGE, after the header page, and the heap must be a
 * whole number of 64 KiB Wasm pages, page-aligned, overlapping neither the interface nor the module.
 */
function checkHeaderRanges(h: RuntimeHeader, enclaveSize: number): void {
  const size = BigInt(enclaveSize);
  // The heap as far as it may grow (HEAP_MAX_SIZE 0: its size).
  const heapSpan = h.HEAP_MAX_SIZE === 0n ? h.HEAP_SIZE : h.HEAP_MAX_SIZE;
  const regions: [string, bigint, bigint][] = [['interface', h.INTERFACE_OFFSET, h.INTERFACE_LENGTH], ['module', h.MODULE_OFFSET, h.MODULE_LENGTH], ['heap', h.HEAP_OFFSET, heapSpan]];
  for (const [what, off, len] of regions) {
    if (off < 4096n || off > size || len > size - off) throw new CallFailed(STATUS.INVALID_ENCLAVE, `the runtime header places the ${what} (offset 0x${off.toString(16)}, 0x${len.toString(16)} bytes) outside the enclave`);
  }
  if (h.MODULE_LENGTH === 0n) throw new CallFailed(STATUS.INVALID_ENCLAVE, 'the runtime header gives an empty module');
  if (h.HEAP_OFFSET % 4096n !== 0n || h.HEAP_SIZE === 0n || h.HEAP_SIZE % 65536n !== 0n || h.HEAP_SIZE > 2n ** 32n) throw new CallFailed(STATUS.INVALID_ENCLAVE, 'the runtime header gives a heap that is not page-aligned whole 64 KiB pages of at most 4 GiB');
  if (h.HEAP_MAX_SIZE !== 0n && (h.HEAP_MAX_SIZE < h.HEAP_SIZE || h.HEAP_MAX_SIZE % 65536n !== 0n || h.HEAP_MAX_SIZE > 2n ** 32n)) throw new CallFailed(STATUS.INVALID_ENCLAVE, 'the runtime header gives a heap maximum that is not whole 64 KiB pages from its size to 4 GiB');
  const heapEnd = h.HEAP_OFFSET + heapSpan;
  for (const [what, off, len] of regions.slice(0, 2)) {
    if (off < heapEnd && h.HEAP_OFFSET < off + len) throw new CallFailed(STATUS.INVALID_ENCLAVE, `the runtime header's heap overlaps the ${what}`);
  }
}

/** Length (with terminator) of a string in the enclave's memory, at most MAX_STRING bytes. */
function wasmStringLength(mem: Uint8Array, ptr: number, kind: 'string' | 'wstring'): number {
  const len = terminatorLength(mem, ptr, Math.min(mem.length, ptr + MAX_STRING), stringUnit(kind));
  if (len < 0) throw new CallFailed(STATUS.INVALID_PARAMETER, 'a string runs past the end of the enclave memory or is longer than MAX_STRING');
  return len;
}

/*
 * Deep copy of structure members (edger8r, CodeGen.ml: gen_struct_ptr_direction_pre_calculate,
 * _pre_copy and _post), for an ECALL's [in] or [in, out] pointer to a structure whose pointer
 * members carry size= or count=. Every length is read from the enclave's own copy of the structure
 * (no double fetch); every member buffer is checked before anything is allocated, so a refusal
 * changes nothing in the enclave. The interpreter and the compiled bridges call these same helpers.
 */

/** SIZE_MAX of the enclave's C (wasm32: size_t is 32 bits): edger8r's overflow check of count × size. */
const SIZE_MAX = 2 ** 32 - 1;
/** Numbers per member instance in a deep copy's record: field address, host address, length in, offset in the block (-1: none), pointer after the call, length out. */
const DEEP_REC = 6;

/** An integer member of the structure copy at `s` as C converts it to size_t (a negative one wraps; one above SIZE_MAX is SIZE_MAX + 1: an overflow). */
function memberSize(u8: Uint8Array, s: number, m: MemberField): number {
  const at = s + m.offset;
  switch (m.width) {
    case 1: return m.signed ? wrapSize((u8[at]! << 24) >> 24) : u8[at]!;
    case 2: return m.signed ? wrapSize(((u8[at]! | (u8[at + 1]! << 8)) << 16) >> 16) : u8[at]! | (u8[at + 1]! << 8);
    case 4: return m.signed ? wrapSize(u32le(u8, at) | 0) : u32le(u8, at);
    default: return u32le(u8, at + 4) !== 0 ? SIZE_MAX + 1 : u32le(u8, at);
  }
}
function wrapSize(v: number): number {
  return v < 0 ? v + 2 ** 32 : v;
}

/** A member's length as edger8r computes it from the structure copy at `s`; -1 when count × size overflows size_t. */
function memberLength(u8: Uint8Array, s: number, m: DeepMemberPlan): number {
  const size = m.sizeField !== null ? memberSize(u8, s, m.sizeField) : m.elemSize;
  if (m.count === null) return size > SIZE_MAX ? -1 : size;
  const count = 'constant' in m.count ? m.count.constant : memberSize(u8, s, m.count.field);
  // CodeGen.ml, gen_check_member_length: `size != 0 && (size_t)count > SIZE_MAX / size` → INVALID_PARAMETER.
  if (size > SIZE_MAX || count > SIZE_MAX || (size !== 0 && count > Math.floor(SIZE_MAX / size))) return -1;
  return count * size;
}

/**
 * After parameter `p`'s structure(s) were copied to [ptr, ptr+len) of the module: each deep member
 * checked (overflow, wholly outside the enclave, whole elements), then all copied into one block of
 * the enclave heap and the copy's member pointers rewritten to them (NULL for a NULL or empty
 * member: edger8r copies only `if (member != NULL && len != 0)`). Returns the record deepCheckOut
 * and deepWriteOut read for an [in, out] parameter.
 */
function deepCopyIn(ctx: EnclaveContext, st: EnclaveState, work: BridgeWork, f: FunctionPlan, p: ParamPlan, ptr: number, len: number): number[] {
  const d = p.deep!;
  const base = ctx.baseAddr, end = base + ctx.size;
  const rec: number[] = [];
  let total = 0;
  for (let s = ptr; s < ptr + len; s += d.structSize) {
    for (const m of d.members) {
      const u8 = st.u8;
      const host = u32le(u8, s + m.offset);
      const l = memberLength(u8, s, m);
      if (l < 0) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'count × size overflows size_t');
      let at = -1;
      if (host !== 0 && l !== 0) {
        if (l > MAX_BUFFER) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'has an insane length');
        if (!isOutsideEnclave(base, end, host, l)) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'is not wholly outside the enclave');
        if (l % m.pointeeSize !== 0) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, `is ${l} bytes, not a whole number of ${m.pointeeSize}-byte elements`);
        at = total;
        total += Math.ceil(l / 16) * 16;
      }
      rec.push(s + m.offset, host, l, at, 0, 0);
    }
  }
  const block = total !== 0 ? alloc(st, total, f.name) : 0;
  if (block !== 0) work.owned[work.on++] = block;
  for (let k = 0; k < rec.length; k += DEEP_REC) {
    const at = rec[k + 3]!;
    if (at >= 0) moduleCopy(ctx, st, rec[k + 1]!, block + at, rec[k + 2]!, true);
    writeU32le(st.u8, rec[k]!, at >= 0 ? block + at : 0);
  }
  return rec;
}

/**
 * An [in, out] parameter's deep members after the call, checked before anything is copied out:
 * each length read again from the enclave's copy (the enclave may have changed it), at most the
 * length copied in (which was whole elements), the enclave's buffer within its memory, the host's
 * outside the enclave (CodeGen.ml: gen_struct_ptr_direction_post → INVALID_PARAMETER).
 */
function deepCheckOut(ctx: EnclaveContext, st: EnclaveState, f: FunctionPlan, p: ParamPlan, rec: number[]): void {
  const d = p.deep!;
  const base = ctx.baseAddr, end = base + ctx.size;
  for (let k = 0; k < rec.length;) {
    for (const m of d.members) {
      const u8 = st.u8;
      const field = rec[k]!, host = rec[k + 1]!, inLen = rec[k + 2]!;
      const s = field - m.offset;
      const q = u32le(u8, field);
      const l = memberLength(u8, s, m);
      if (l < 0) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'count × size overflows size_t after the call');
      rec[k + 4] = q;
      rec[k + 5] = 0;
      if (q !== 0 && l !== 0) {
        // edger8r's test: out_len > in_len || in_len % sizeof(*member) — whole elements of what was
        // copied in; the enclave may send back part of its last element.
        if (l > inLen || inLen % m.pointeeSize !== 0) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, `is ${l} bytes after the call, more than the ${inLen} copied in (or those were not whole elements)`);
        if (q + l > u8.length || !isOutsideEnclave(base, end, host, inLen)) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'cannot be copied back (the enclave buffer or the host buffer is out of range)');
        // memcpy_s to the host's NULL fails: SGX_ERROR_UNEXPECTED.
        if (host === 0) throw deepFailed(STATUS.UNEXPECTED, f, p, m, 'was NULL on the host, and the enclave gave it a buffer');
        rec[k + 5] = l;
      }
      k += DEEP_REC;
    }
  }
}

/**
 * An [in, out] parameter copied back after deepCheckOut: each member's bytes to the host's own
 * buffer, then the structure(s) with the host's pointers in place of the enclave's (written from a
 * copy: the enclave's memory never holds them), the enclave's sizes and counts as it left them.
 */
function deepWriteOut(ctx: EnclaveContext, st: EnclaveState, host: number, ptr: number, len: number, rec: number[]): void {
  for (let k = 0; k < rec.length; k += DEEP_REC) if (rec[k + 5]! !== 0) moduleCopy(ctx, st, rec[k + 1]!, rec[k + 4]!, rec[k + 5]!, false);
  const b = st.u8.slice(ptr, ptr + len);
  for (let k = 0; k < rec.length; k += DEEP_REC) writeU32le(b, rec[k]! - ptr, rec[k + 1]!);
  ctx.write(host, b);
}

function deepFailed(status: number, f: FunctionPlan, p: ParamPlan, m: DeepMemberPlan, why: string): CallFailed {
  return new CallFailed(status, `${f.name}: ${p.name}->${m.name} ${why}`);
}

/*
 * Deep copy for an OCALL's [in] or [in, out] pointer to a structure (edger8r's trusted proxy of an
 * untrusted function): the structure(s) and each member buffer copied to the untrusted scratch
 * area, the member pointers of the untrusted copy rewritten to the untrusted copies (NULL for a NULL
 * or empty member: the enclave's own addresses never go out). A member pointer is 32 bits, so a copy
 * the host is to reach through it must lie below 4 GiB: one above is refused (UNEXPECTED, as
 * edger8r's proxy answers when sgx_ocalloc cannot give it the memory), never truncated. After an
 * [in, out] OCALL the enclave copies back into its own member buffers from the untrusted copies it
 * made (never through a pointer the host left), at most the length it sent.
 */

/** An OCALL's [in] or [in, out] deep structure: its plan, deepOcallOut's record, and (after the OCALL) what deepOcallCheck accepted. */
interface DeepOcall {
  readonly p: ParamPlan;
  readonly rec: number[];
  checked: (Uint8Array | null)[] | null;
}

/** Numbers per member instance of an OCALL's deep copy: offset of the element in the structure buffer, member index, the enclave's pointer, the untrusted copy, the length sent. */
const DEEP_OREC = 5;

/** Copy parameter `p`'s structure(s) at [ptr, ptr+len) out to `host` with their deep members after `at.top`; the record deepOcallCheck reads. */
function deepOcallOut(ctx: EnclaveContext, st: EnclaveState, t: ThreadState, f: FunctionPlan, p: ParamPlan, ptr: number, len: number, host: number, at: { top: number }): number[] {
  const d = p.deep!;
  // The enclave's structure, read once: every length and pointer comes from this copy.
  const b = st.u8.slice(ptr, ptr + len);
  const rec: number[] = [];
  for (let e = 0; e < len; e += d.structSize) {
    for (let j = 0; j < d.members.length; j++) {
      const m = d.members[j]!;
      const q = u32le(b, e + m.offset);
      const l = memberLength(b, e, m);
      if (l < 0) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'count × size overflows size_t');
      let copy = 0;
      if (q !== 0 && l !== 0) {
        if (l > MAX_BUFFER) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'has an insane length');
        if (l % m.pointeeSize !== 0) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, `is ${l} bytes, not a whole number of ${m.pointeeSize}-byte elements`);
        if (q + l > st.u8.length) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, "runs past the enclave's memory");
        copy = at.top;
        at.top += Math.ceil(l / 8) * 8;
        if (at.top > t.scratchEnd) throw new CallFailed(STATUS.OUT_OF_MEMORY, 'the untrusted scratch area is exhausted');
        if (copy + l > 2 ** 32) throw deepFailed(STATUS.UNEXPECTED, f, p, m, 'cannot be copied below 4 GiB (the untrusted scratch area lies above): a 32-bit member pointer cannot name it');
        moduleCopy(ctx, st, copy, q, l, false);
      }
      writeU32le(b, e + m.offset, copy);
      rec.push(e, j, q, copy, copy === 0 ? 0 : l);
    }
  }
  ctx.write(host, b);
  return rec;
}

/**
 * After an [in, out] OCALL: the structure(s) the host returned, read once, and each member's bytes
 * from the untrusted copy the enclave made. Where the enclave's pointer is not NULL and the length
 * the host left is not 0, edger8r's struct_deep_copy_post refuses (INVALID_PARAMETER) a length
 * above the one sent, one that is not whole elements, and a member pointer the host changed; here
 * every member of every structure is checked before anything is copied back (edger8r returns at
 * the first failure, with the earlier members already updated). Returns what deepOcallBack writes.
 */
function deepOcallCheck(ctx: EnclaveContext, f: FunctionPlan, p: ParamPlan, host: number, len: number, rec: number[]): (Uint8Array | null)[] {
  const b = ctx.read(host, len);
  const out: (Uint8Array | null)[] = [b];
  for (let k = 0; k < rec.length; k += DEEP_OREC) {
    const e = rec[k]!, m = p.deep!.members[rec[k + 1]!]!, q = rec[k + 2]!, copy = rec[k + 3]!, inLen = rec[k + 4]!;
    let bytes: Uint8Array | null = null;
    if (q !== 0) {
      const l = memberLength(b, e, m);
      if (l < 0 || l > inLen) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, `is ${l < 0 ? 'an overflowing length' : `${l} bytes`} after the OCALL, more than the ${inLen} sent`);
      // edger8r's struct_deep_copy_post, for a member with a length: the host must leave the pointer
      // to the copy the proxy made, and the length whole elements (only void* exempt).
      if (l !== 0 && u32le(b, e + m.offset) !== copy) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, 'points elsewhere after the OCALL than the copy the enclave sent');
      if (l % m.returnedPointeeSize !== 0) throw deepFailed(STATUS.INVALID_PARAMETER, f, p, m, `is ${l} bytes after the OCALL, not a whole number of ${m.returnedPointeeSize}-byte elements`);
      if (l !== 0) bytes = ctx.read(copy, l);
    }
    out.push(bytes);
  }
  return out;
}

/** The checked results written into the enclave: each member's bytes to its own buffer, then the structure(s) with the enclave's pointers restored. */
function deepOcallBack(st: EnclaveState, p: ParamPlan, ptr: number, len: number, rec: number[], checked: (Uint8Array | null)[]): void {
  const b = checked[0]!;
  const u8 = st.u8;
  for (let k = 0, c = 1; k < rec.length; k += DEEP_OREC, c++) {
    const bytes = checked[c];
    if (bytes !== null && bytes !== undefined) u8.set(bytes, rec[k + 2]!);
  }
  // The enclave's own pointers, as it sent them (whatever the host left in its copy).
  for (let k = 0; k < rec.length; k += DEEP_OREC) writeU32le(b, rec[k]! + p.deep!.members[rec[k + 1]!]!.offset, rec[k + 2]!);
  u8.set(b.subarray(0, len), ptr);
}
