/**
 * The C library's view of the system calls (as glibc wraps them): a result, or −1 (MAP_FAILED for
 * mmap) with `errno` set; errno is left alone on success, as in C. Also what a program finds beside
 * them: the vDSO's symbols (getauxval(AT_SYSINFO_EHDR) + its dynamic symbol table), the model's
 * function pointers (an address standing for a host function, as `run.user_handler` needs), and
 * the program's own loads and stores.
 */
import type { Kernel } from '../kernel.js';
import type { Process } from '../process.js';
import { OsError } from '../errors.js';
import type { LinuxSyscalls } from './driver.js';
import { Vdso, type SgxEnclaveUserHandler, type SgxEnterEnclave } from './vdso.js';
import { O_RDWR } from './uapi.js';

/** Where the model places host functions given a function pointer (a text segment of the program). */
const FUNCTIONS_BASE = 0x0050_0000;

export class Libc {
  /** The last error (errno.h). */
  errno = 0;
  readonly sys: LinuxSyscalls;
  readonly #vdso: Vdso | null;
  readonly #functions = new Map<number, SgxEnclaveUserHandler>();
  readonly #addresses = new Map<SgxEnclaveUserHandler, number>();

  constructor(kernel: Kernel, sys: LinuxSyscalls) {
    this.sys = sys;
    // The vDSO has __vdso_sgx_enter_enclave when the kernel is built with SGX support, whatever the CPU
    // (vsgx.o is linked with CONFIG_X86_SGX; on a CPU without SGX its ENCLU faults, reported in `run`).
    this.#vdso = sys.profile.kernelSgx ? new Vdso(kernel, sys.process, (a) => this.#functions.get(a)) : null;
  }

  get process(): Process {
    return this.sys.process;
  }

  #ret(r: number): number {
    if (r >= 0) return r;
    this.errno = -r;
    return -1;
  }

  open(path: string, flags: number = O_RDWR): number {
    return this.#ret(this.sys.open(path, flags));
  }
  close(fd: number): number {
    return this.#ret(this.sys.close(fd));
  }
  /** ioctl(fd, request, arg) with `arg` the address of the request's structure. */
  ioctl(fd: number, request: number, arg: number): number {
    return this.#ret(this.sys.ioctl(fd, request, arg));
  }
  /** mmap: the address, or MAP_FAILED (−1) with errno. */
  mmap(addr: number, length: number, prot: number, flags: number, fd = -1, offset = 0): number {
    return this.#ret(this.sys.mmap(addr, length, prot, flags, fd, offset));
  }
  munmap(addr: number, length: number): number {
    return this.#ret(this.sys.munmap(addr, length));
  }
  mprotect(addr: number, length: number, prot: number): number {
    return this.#ret(this.sys.mprotect(addr, length, prot));
  }

  /** pread(2) into `buf` (only /proc/self/mem is readable this way): the bytes read, or −1 with errno. */
  pread(fd: number, buf: Uint8Array, offset: number): number {
    const r = this.sys.pread(fd, buf.length, offset);
    if (typeof r === 'number') return this.#ret(r);
    buf.set(r);
    return r.length;
  }
  /** pwrite(2) (only /proc/self/mem): the bytes written, or −1 with errno. */
  pwrite(fd: number, buf: Uint8Array, offset: number): number {
    return this.#ret(this.sys.pwrite(fd, buf, offset));
  }

  /** A symbol of the vDSO (`__vdso_sgx_enter_enclave`), or null where the kernel has none. */
  vdsoSym(name: '__vdso_sgx_enter_enclave' | string): SgxEnterEnclave | null {
    if (name !== '__vdso_sgx_enter_enclave' || this.#vdso === null) return null;
    return this.#vdso.sgxEnterEnclave;
  }

  /**
   * The address of a host function (what `&handler` is in C): the vDSO calls the function an
   * address stands for. The same function always has the same address.
   * @throws {OsError} BAD_FUNCTION for something that is no function.
   */
  functionPointer(fn: SgxEnclaveUserHandler): number {
    if (typeof fn !== 'function') throw new OsError('BAD_FUNCTION', 'a function pointer needs a function');
    let a = this.#addresses.get(fn);
    if (a === undefined) {
      a = FUNCTIONS_BASE + this.#functions.size * 16;
      this.#functions.set(a, fn);
      this.#addresses.set(fn, a);
    }
    return a;
  }

  /** The program's load (user mode: an ArchFault #PF where nothing readable is mapped). */
  read(addr: number, len: number): Uint8Array {
    return this.sys.process.read(addr, len);
  }
  /** The program's store. */
  write(addr: number, bytes: Uint8Array): void {
    this.sys.process.write(addr, bytes);
  }
}
