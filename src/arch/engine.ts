/**
 * What runs inside an enclave. Real SGX executes x86 code at OENTRY; Witness's enclaves hold
 * WebAssembly, and the processor model executes them through an `EnclaveEngine` (the trusted
 * runtime of src/sdk/enclave), wired in when a platform is assembled. The engine sees the enclave
 * only through an `EnclaveContext`, which is valid only while its logical processor is in enclave
 * mode for that enclave and offers exactly what enclave code has on hardware: enclave-mode memory
 * access (EPCM-checked), and the ENCLU leaves EEXIT, EREPORT and EGETKEY (EACCEPT with SGX2).
 */

/** The general-purpose registers as the model passes them across ENCLU (u64 values below 2^53). */
export interface Registers {
  rax: number; rbx: number; rcx: number; rdx: number;
  rsi: number; rdi: number; rsp: number; rbp: number;
  r8: number; r9: number; r10: number; r11: number;
  r12: number; r13: number; r14: number; r15: number;
  rflags: number; rip: number;
}

export const REGISTER_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

class RegisterFile implements Registers {
  rax = 0; rbx = 0; rcx = 0; rdx = 0; rsi = 0; rdi = 0; rsp = 0; rbp = 0;
  r8 = 0; r9 = 0; r10 = 0; r11 = 0; r12 = 0; r13 = 0; r14 = 0; r15 = 0;
  rflags = 0x2; rip = 0;
}

/** A register file (one hidden class for all of them: register copies are on the ECALL hot path). */
export function newRegisters(init?: Partial<Registers>): Registers {
  const r = new RegisterFile();
  if (init) {
    for (const k of Object.keys(init) as (keyof Registers)[]) {
      const v = init[k];
      if (v !== undefined) r[k] = v;
    }
  }
  return r;
}

export function copyRegisters(dst: Registers, src: Registers): void {
  dst.rax = src.rax; dst.rbx = src.rbx; dst.rcx = src.rcx; dst.rdx = src.rdx;
  dst.rsi = src.rsi; dst.rdi = src.rdi; dst.rsp = src.rsp; dst.rbp = src.rbp;
  dst.r8 = src.r8; dst.r9 = src.r9; dst.r10 = src.r10; dst.r11 = src.r11;
  dst.r12 = src.r12; dst.r13 = src.r13; dst.r14 = src.r14; dst.r15 = src.r15;
  dst.rflags = src.rflags; dst.rip = src.rip;
}

/** Why control came back to the host. */
export type ExitReason = 'eexit' | 'aex' | 'fault';

/** What the host learns when control returns to it (the registers are updated as hardware does). */
export interface ExitInfo {
  readonly reason: ExitReason;
  /** For 'aex' caused by an exception and for 'fault': the vector; null for an interrupt. */
  readonly vector: number | null;
  /** The exception error code (0 when none). */
  readonly errorCode: number;
  /** For #PF: the faulting linear address (for an AEX, low 12 bits cleared as CR2 shows them). */
  readonly address: number;
  /** The TCS involved. */
  readonly tcs: number;
  /** For 'fault': the ENCLU leaf that faulted (EENTER/ERESUME). */
  readonly leaf: number | null;
  /** For 'fault': a description for people. */
  readonly detail: string | null;
}

/** The ExitInfo of an EEXIT from the TCS at `tcs` (immutable: one per TCS, shared by every EEXIT). */
export function eexitInfoFor(tcs: number): ExitInfo {
  return Object.freeze({ reason: 'eexit', vector: null, errorCode: 0, address: 0, tcs, leaf: null, detail: null });
}

/**
 * The host's continuation at the AEP / EEXIT target, in the style of Linux's vDSO user handler:
 * called in non-enclave mode whenever the enclave exits in the middle of its work (an EEXIT that
 * expects re-entry, such as an OCALL; an AEX). It returns the next ENCLU leaf to execute with the
 * (possibly modified) registers: EENTER (2) or ERESUME (3), or 0 to give up and return to the code
 * that called `enclu` (the enclave's suspended work is then unwound). It is asked once per exit: an
 * exit it gave up on is returned to that code, and giving up on an entry the handler made from
 * inside another exit gives up on that one too.
 */
export type ExitHandler = (exit: ExitInfo, regs: Registers) => number;

/** Enclave-mode facilities offered to the engine. */
export interface EnclaveContext {
  /** The enclave's registers while it runs (entry values on EENTER; saved to the SSA on AEX). */
  readonly regs: Registers;
  /** ELRANGE base (enclave code knows where it was loaded). */
  readonly baseAddr: number;
  /** ELRANGE size. */
  readonly size: number;
  /** Linear address of the TCS this thread entered through. */
  readonly tcsAddress: number;
  /** An opaque object identifying this enclave instance (a key for per-enclave engine state). */
  readonly enclaveKey: object;
  /** Logical processor number (for statistics). */
  readonly lpIndex: number;

  /** Enclave-mode read (EPCM-checked inside ELRANGE; ordinary RAM outside it). Faults become an AEX. */
  read(la: number, len: number): Uint8Array;
  /**
   * Read into out[at, at+len) (default: all of `out`). `words`, when given, must be a word view of
   * `out` (the same buffer, word k = bytes 4k…4k+3 of `out`): small aligned copies then go word by
   * word instead of through a TypedArray view made per copy. The result is the same either way.
   * An access that resumes from an exit (a fault, ERESUME) and finds `out` no longer holding
   * [at, at+len) (code that ran during the exit replaced the buffer: memory.grow detaches a
   * WebAssembly memory's) ends with ArchError ENGINE_BUFFER_DETACHED before any byte moved.
   */
  readInto(la: number, out: Uint8Array, at?: number, len?: number, words?: Int32Array): void;
  /** Write data[at, at+len) (default: all of `data`); `words` and ENGINE_BUFFER_DETACHED as for readInto. */
  write(la: number, data: Uint8Array, at?: number, len?: number, words?: Int32Array): void;
  /** An instruction fetch: needs EPCM X and an address inside ELRANGE. */
  fetch(la: number, len: number): Uint8Array;
  /**
   * Back a WebAssembly.Memory with the enclave's own pages [la, la+size): the pages must be present
   * PT_REG pages of this enclave with R and W. Its contents are the pages' contents (or zero with
   * `zero`: the enclave clearing its own memory, as it must for pages whose contents the loader
   * chose); the EPC frames are re-homed into it. The memory's maximum is `maximum` (default `size`,
   * a memory that never grows; [la, la+maximum) must lie in ELRANGE): only `growMemory` grows it.
   */
  mapMemory(la: number, size: number, options?: { readonly zero?: boolean; readonly maximum?: number }): WebAssembly.Memory;
  /**
   * Grow `memory` (which this enclave mapped) by `bytes`, a multiple of 64 KiB, with the enclave's
   * pages that follow it: each must be a present PT_REG page of this enclave with R and W, accepted
   * (not PENDING or MODIFIED: an SGX2 enclave EACCEPTs the pages the OS EAUGed first), backing no
   * memory yet. #GP for a memory not mapped by this enclave, a bad size or one past the maximum;
   * #PF as an access for a page that does not qualify. Checked before the memory changes.
   */
  growMemory(memory: WebAssembly.Memory, bytes: number): void;
  /**
   * Give up `memory`, which this enclave mapped: its pages stay the enclave's PT_REG pages, all
   * zero from now on and backing nothing, and the memory's bytes are left as they are, untouched
   * (the engine promises to hold no reference to it any more: the trusted runtime's uninit before
   * the enclave is removed, so that EREMOVE has nothing to scrub). #GP for a memory this enclave
   * does not have mapped.
   */
  unmapMemory(memory: WebAssembly.Memory): void;
  /** ENCLU[EREPORT] with RBX = TARGETINFO, RCX = REPORTDATA, RDX = output (all linear addresses). */
  ereport(targetinfo: number, reportdata: number, output: number): void;
  /** ENCLU[EGETKEY] with RBX = KEYREQUEST, RCX = output key; returns the SGX status (RAX). */
  egetkey(keyrequest: number, output: number): number;
  /** ENCLU[EACCEPT] (SGX2) with RBX = SECINFO, RCX = the page; returns the SGX status (RAX). */
  eaccept(secinfo: number, page: number): number;
  /** ENCLU[EACCEPTCOPY] (SGX2) with RBX = SECINFO, RCX = the PENDING destination, RDX = the source page; returns the SGX status (RAX). */
  eacceptcopy(secinfo: number, destination: number, source: number): number;
  /** ENCLU[EMODPE] (SGX2) with RBX = SECINFO, RCX = the page: its permissions extended. */
  emodpe(secinfo: number, page: number): void;
  /**
   * ENCLU[EEXIT] to `target` in the middle of the enclave's work (e.g. an OCALL): the registers in
   * `regs` go out as they are. Returns when the host enters this TCS again (EENTER), with `regs`
   * holding the entry registers.
   */
  eexit(target: number): void;
  /** An interrupt window: pending interrupts are taken here (AEX + ERESUME). */
  step(): void;
}

/** The execution engine the processor runs at OENTRY. */
export interface EnclaveEngine {
  /** EENTER: run the enclave from its entry point; return the EEXIT target (registers in ctx.regs). */
  enter(ctx: EnclaveContext): number;
  /**
   * ERESUME of a thread whose interrupted work no longer exists on the stack (it ended with an
   * exception): continue at `ctx.regs.rip` as restored from the SSA; return the EEXIT target.
   */
  resume(ctx: EnclaveContext): number;
  /** The enclave was destroyed (its SECS was removed): drop per-enclave state. */
  destroyed(enclaveKey: object): void;
}

/**
 * Thrown into enclave code when ERESUME continues a suspended frame whose SSA RIP was changed
 * (e.g. by the enclave's own exception handler): the engine unwinds to the new RIP.
 */
export class EnclaveRedirect extends Error {
  readonly rip: number;
  constructor(rip: number) {
    super(`enclave execution redirected to 0x${rip.toString(16)}`);
    this.name = 'EnclaveRedirect';
    this.rip = rip;
  }
}

/** Processor-internal control-flow signals must pass through engine code untouched. */
export const PROCESSOR_SIGNAL: unique symbol = Symbol('witness.processorSignal');
export function isProcessorSignal(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[PROCESSOR_SIGNAL] === true;
}
