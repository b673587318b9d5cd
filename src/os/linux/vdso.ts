/**
 * The vDSO's `__vdso_sgx_enter_enclave` (arch/x86/entry/vdso/vsgx.S; specs/os-api.md §4.6): user
 * code that executes ENCLU[EENTER/ERESUME] and turns the enclave's exits into `struct
 * sgx_enclave_run` fields, with an optional user handler deciding what happens next.
 *
 * As the assembly does (not as the uapi comment says):
 * - `function` outside [EENTER, ERESUME], or a non-zero reserved byte of `run`, returns −EINVAL
 *   and writes nothing (checked again before every re-entry);
 * - an interrupt's AEX is resumed at the AEP, invisibly;
 * - EEXIT sets `run.function` = EEXIT and leaves the exception fields as they were;
 * - an exception in the enclave (AEX) or of the ENCLU itself sets `function` (ERESUME, or the leaf
 *   that faulted), `exception_vector`, `exception_error_code` (16 bits) and `exception_addr`, and
 *   returns 0 — not −EFAULT; #DB and #BP are signals, never reported here;
 * - with `user_handler`, it is called with the exit's RDI, RSI, RDX (on an exception: vector,
 *   error code, address), untrusted RSP, R8, R9 and `run`; a result ≤ 0 is returned, a positive
 *   one is the next ENCLU leaf (RBX = `run.tcs` again, RCX = the AEP).
 *
 * Two things the model adds, because its enclave code keeps its frames on the JavaScript stack:
 * a handler also receives the register file (`regs`: the other GPRs pass through ENCLU, as on
 * hardware, and a handler may set them for the re-entry), and work an enclave left in the middle
 * (an EEXIT for an OCALL, an exception it may handle) continues only from inside the handler: when
 * the vDSO returns, that work is abandoned, so a host that serves OCALLs after returning from the
 * vDSO (and enters again) finds no frame to return to. A user handler serves them in place.
 */
import { ENCLU, VECTOR, newRegisters, type ExitHandler, type Registers } from '../../arch/index.js';
import { isZero, u64le, writeU16le, writeU32le, writeU64le } from '../../lib/bytes.js';
import type { Kernel } from '../kernel.js';
import type { Process } from '../process.js';
import { OsError } from '../errors.js';
import { ERRNO, VDSO_EEXIT, VDSO_EENTER, VDSO_ERESUME, sgx_enclave_run } from './uapi.js';

/** Where the vDSO is mapped (AT_SYSINFO_EHDR) and its ENCLU instruction, the AEP. */
export const VDSO_BASE = 0x7fff_f7fc_0000;
export const VDSO_AEP = VDSO_BASE + 0x9b0;
/** The calling thread's stack (untrusted RSP at entry). */
const HOST_STACK = 0x7fff_f000_0000;

const RUN = {
  tcs: sgx_enclave_run.field('tcs').offset,
  function: sgx_enclave_run.field('function').offset,
  vector: sgx_enclave_run.field('exception_vector').offset,
  errorCode: sgx_enclave_run.field('exception_error_code').offset,
  addr: sgx_enclave_run.field('exception_addr').offset,
  userHandler: sgx_enclave_run.field('user_handler').offset,
  reserved: 40,
} as const;

/**
 * `sgx_enclave_user_handler_t`: (rdi, rsi, rdx, rsp, r8, r9, run) → a leaf to execute next, or a
 * value ≤ 0 to return. `regs` is the model's addition (see above).
 */
export type SgxEnclaveUserHandler = (rdi: number, rsi: number, rdx: number, rsp: number, r8: number, r9: number, run: number, regs: Registers) => number;

/** `vdso_sgx_enter_enclave_t`, with the logical processor the calling thread runs on (default 0). */
export type SgxEnterEnclave = (rdi: number, rsi: number, rdx: number, fn: number, r8: number, r9: number, run: number, lp?: number) => number;

/** A signal the process took inside the vDSO (the model has no signal handlers: it ends the call). */
export class LinuxSignal extends OsError {}

export class Vdso {
  readonly #k: Kernel;
  readonly #p: Process;
  readonly #handlerAt: (address: number) => SgxEnclaveUserHandler | undefined;

  constructor(kernel: Kernel, process: Process, handlerAt: (address: number) => SgxEnclaveUserHandler | undefined) {
    this.#k = kernel;
    this.#p = process;
    this.#handlerAt = handlerAt;
  }

  /** `__vdso_sgx_enter_enclave`. @throws {LinuxSignal} SIGSEGV (an unreadable `run`, a handler address with no function), SIGTRAP (#DB/#BP). */
  readonly sgxEnterEnclave: SgxEnterEnclave = (rdi, rsi, rdx, fn, r8, r9, run, lp = 0) => {
    if (fn !== VDSO_EENTER && fn !== VDSO_ERESUME) return -ERRNO.EINVAL;
    const p = this.#p;
    const readRun = (): Uint8Array => {
      if (!Number.isSafeInteger(run) || !p.accessible(run, sgx_enclave_run.size, false)) throw new LinuxSignal('SIGSEGV', `the vDSO read struct sgx_enclave_run at 0x${Number(run).toString(16)}, which is not mapped readable`);
      return p.read(run, sgx_enclave_run.size);
    };
    const first = readRun();
    if (!isZero(first, RUN.reserved, sgx_enclave_run.size)) return -ERRNO.EINVAL;
    const regs = newRegisters({ rax: fn, rbx: Number(u64le(first, RUN.tcs)), rcx: VDSO_AEP, rdi, rsi, rdx, r8, r9, rsp: HOST_STACK, rbp: HOST_STACK, rip: VDSO_AEP });
    let result = 0;
    let thrown: { error: unknown } | null = null;
    const handler: ExitHandler = (x, hr) => {
      try {
        // An interrupt: the AEP's ERESUME (RBX and RCX hold the TCS and the AEP after an AEX).
        if (x.reason === 'aex' && x.vector === null) return ENCLU.ERESUME;
        if (x.vector === VECTOR.DB || x.vector === VECTOR.BP) throw new LinuxSignal('SIGTRAP', `#${x.vector === VECTOR.DB ? 'DB' : 'BP'} in the enclave is delivered as a signal`);
        const r = readRun();
        let a1 = hr.rdi, a2 = hr.rsi, a3 = hr.rdx;
        if (x.reason === 'eexit') writeU32le(r, RUN.function, VDSO_EEXIT);
        else {
          const vector = x.vector ?? 0;
          writeU32le(r, RUN.function, x.reason === 'fault' ? x.leaf ?? fn : VDSO_ERESUME);
          writeU16le(r, RUN.vector, vector);
          writeU16le(r, RUN.errorCode, x.errorCode & 0xffff);
          writeU64le(r, RUN.addr, x.address);
          a1 = vector;
          a2 = x.errorCode & 0xffff;
          a3 = x.address;
        }
        this.#writeRun(run, r);
        const uh = u64le(r, RUN.userHandler);
        if (uh === 0n) {
          result = 0;
          return 0;
        }
        const h = uh <= BigInt(Number.MAX_SAFE_INTEGER) ? this.#handlerAt(Number(uh)) : undefined;
        if (h === undefined) throw new LinuxSignal('SIGSEGV', `run.user_handler 0x${uh.toString(16)} is no function of this process`);
        const r0: unknown = h(a1, a2, a3, hr.rsp, hr.r8, hr.r9, run, hr);
        if (typeof r0 !== 'number') throw new OsError('BAD_HANDLER_RESULT', `the user handler returned ${typeof r0}, not an int (the next ENCLU leaf, or ≤ 0 to return)`);
        const ret = r0 | 0; // (an int)
        if (ret <= 0) {
          result = ret;
          return 0;
        }
        // Re-entry: validated as at the start.
        const again = readRun();
        if ((ret !== VDSO_EENTER && ret !== VDSO_ERESUME) || !isZero(again, RUN.reserved, sgx_enclave_run.size)) {
          result = -ERRNO.EINVAL;
          return 0;
        }
        hr.rax = ret;
        hr.rbx = Number(u64le(again, RUN.tcs));
        hr.rcx = VDSO_AEP;
        return ret;
      } catch (e) {
        thrown = { error: e };
        return 0;
      }
    };
    this.#k.user(p, (l) => l.enclu(fn, regs, handler), lp);
    if (thrown !== null) throw (thrown as { error: unknown }).error;
    return result;
  };

  #writeRun(run: number, r: Uint8Array): void {
    if (!this.#p.accessible(run, 24, true)) throw new LinuxSignal('SIGSEGV', `the vDSO wrote struct sgx_enclave_run at 0x${run.toString(16)}, which is not mapped writable`);
    this.#p.write(run + RUN.function, r.subarray(RUN.function, RUN.addr + 8));
  }
}
