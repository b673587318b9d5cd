/**
 * What the host runtime asks of the operating system to build an enclave, and later to remove it:
 * the Windows enclave API (CreateEnclave, LoadEnclaveData, InitializeEnclave, DeleteEnclave,
 * VirtualAlloc for the arena), or Linux's SGX driver (open /dev/sgx_enclave, the ioctls, mmap of
 * ELRANGE, munmap and close), as Intel's loader does on each (specs/os-api.md §3, §4.4). The
 * runtime enters with its own ENCLU on both (Intel's Linux urts goes through the vDSO's
 * __vdso_sgx_enter_enclave where the kernel has it: the same instruction, with the exits reported
 * in `struct sgx_enclave_run`).
 */
import { PT, SECS, SECINFO, ATTR, sgxStatusName } from '../../arch/index.js';
import type { LogicalProcessor } from '../../arch/index.js';
import type { Kernel32 } from '../../os/windows/index.js';
import * as W from '../../os/windows/constants.js';
import { win32ErrorName, ntStatusName } from '../../os/windows/index.js';
import type { Process } from '../../os/index.js';
import {
  O_RDWR, PROT_NONE, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_SHARED, MAP_FIXED, MAP_ANONYMOUS, SGX_IOC, SGX_PAGE_MEASURE,
  sgx_enclave_create, sgx_enclave_add_pages, sgx_enclave_init, sgx_enclave_provision, sgx_enclave_restrict_permissions, ERRNO, errnoName, maxProtOf, type Libc,
} from '../../os/linux/index.js';
import { SdkError } from '../errors.js';

/** What the host runtime needs from a Windows platform. */
export interface WindowsHostPlatform {
  readonly kernel32: Kernel32;
  readonly process: Process;
  readonly processor: { readonly lps: readonly LogicalProcessor[] };
}
/** What the host runtime needs from a Linux platform. */
export interface LinuxHostPlatform {
  readonly libc: Libc;
  readonly process: Process;
  readonly processor: { readonly lps: readonly LogicalProcessor[] };
}
/** What the host runtime needs from a platform. */
export type HostPlatform = WindowsHostPlatform | LinuxHostPlatform;

/** Loading failed; carries the Win32 error, the NTSTATUS and the SGX status, or the errno, where there is one. */
export class EnclaveLoadError extends SdkError {}

/** The OS calls of one load, and of the enclave's removal. */
export interface EnclaveOs {
  /**
   * ECREATE through the OS for `secs` (BASEADDR 0: the OS or the loader places it); the base.
   * `growing`: the enclave will ask for pages after EINIT (a heap that grows): Windows makes it an
   * ENCLAVE_TYPE_SGX2 enclave where the OS offers that type.
   */
  create(size: number, secs: Uint8Array, growing?: boolean): number;
  /** Add `n` pages from `data` at base + `offset`, each with SECINFO.FLAGS `flags`, measured or not. */
  add(offset: number, data: Uint8Array, n: number, flags: number, measured: boolean): void;
  /** EINIT through the OS. */
  init(sigstruct: Uint8Array, token: Uint8Array | undefined): void;
  /** The untrusted marshalling arena (low in the address space where possible: short addresses). */
  arena(size: number): number;
  /**
   * Commit the pages [address, address+length) of the initialized enclave for the enclave to
   * EACCEPT (SGX2, OCALL_HEAP_COMMIT); false when the OS cannot (no SGX2, no EPC: `lastError`).
   */
  commit(address: number, length: number): boolean;
  /** Free the arena. */
  freeArena(arena: number, arenaSize: number): void;
  /** Remove the enclave (nothing when it was never created); false when the OS refused (the error in `lastError`). */
  remove(): boolean;
  /** The last failure, for messages. */
  readonly lastError: string;
  readonly lastErrorData: Record<string, number | null>;
}

/** The OS binding for a platform. */
export function enclaveOs(platform: HostPlatform): EnclaveOs {
  return 'kernel32' in platform ? new WindowsEnclaveOs(platform.kernel32) : new LinuxEnclaveOs(platform.libc);
}

/** LoadEnclaveData's protection for a page's SECINFO (os-api.md §2.8). */
function protectionFor(secinfoFlags: number, measured: boolean): number {
  const pt = (secinfoFlags >> 8) & 0xff;
  let p: number;
  if (pt === PT.TCS) p = W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE;
  else p = [0, W.PAGE_READONLY, 0, W.PAGE_READWRITE, W.PAGE_EXECUTE, W.PAGE_EXECUTE_READ, 0, W.PAGE_EXECUTE_READWRITE][secinfoFlags & 7]!;
  return measured ? p >>> 0 : (p | W.PAGE_ENCLAVE_UNVALIDATED) >>> 0;
}

class WindowsEnclaveOs implements EnclaveOs {
  readonly #k32: Kernel32;
  readonly #hp: number;
  #base = 0;
  constructor(k32: Kernel32) {
    this.#k32 = k32;
    this.#hp = k32.GetCurrentProcess();
  }

  get lastError(): string {
    const err = this.#k32.GetLastError();
    return `${win32ErrorName(err)} (${err}), ${ntStatusName(this.#k32.lastNtStatus)}`;
  }
  get lastErrorData(): Record<string, number | null> {
    return { win32Error: this.#k32.GetLastError(), ntStatus: this.#k32.lastNtStatus };
  }
  #fail(code: string, what: string, sgx?: number): never {
    throw new EnclaveLoadError(code, `${what} failed: ${this.lastError}${sgx ? `, ${sgxStatusName(sgx)} (${sgx})` : ''}`, { ...this.lastErrorData, sgxStatus: sgx ?? null });
  }

  create(size: number, secs: Uint8Array, growing = false): number {
    // (ENCLAVE_TYPE_SGX2 takes the same ENCLAVE_CREATE_INFO_SGX; only its enclaves may commit pages after InitializeEnclave.)
    const type = growing && this.#k32.IsEnclaveTypeSupported(W.ENCLAVE_TYPE_SGX2) ? W.ENCLAVE_TYPE_SGX2 : W.ENCLAVE_TYPE_SGX;
    const base = this.#k32.CreateEnclave(this.#hp, 0, size, 0, type, secs, W.ENCLAVE_CREATE_INFO_SGX_SIZE, null);
    if (base === 0) this.#fail('CREATE_FAILED', 'CreateEnclave');
    this.#base = base;
    return base;
  }

  add(offset: number, data: Uint8Array, n: number, flags: number, measured: boolean): void {
    const written = { value: 0 };
    if (!this.#k32.LoadEnclaveData(this.#hp, this.#base + offset, data, n * 4096, protectionFor(flags, measured), null, 0, written, null)) this.#fail('LOAD_FAILED', `LoadEnclaveData at offset 0x${offset.toString(16)}`);
  }

  init(sigstruct: Uint8Array, token: Uint8Array | undefined): void {
    const k32 = this.#k32;
    const info = new Uint8Array(W.ENCLAVE_INIT_INFO_SGX_SIZE);
    info.set(sigstruct, 0);
    if (token) info.set(token, 2048);
    const err = { value: 0 };
    let ok = k32.InitializeEnclave(this.#hp, this.#base, info, info.length, err);
    for (let retry = 0; !ok && k32.GetLastError() === W.ERROR_RETRY && retry < 50; retry++) ok = k32.InitializeEnclave(this.#hp, this.#base, info, info.length, err);
    if (!ok) this.#fail('INIT_FAILED', 'InitializeEnclave', err.value);
  }

  /** VirtualAlloc(MEM_COMMIT, PAGE_READWRITE): EAUG of each page in an initialized ENCLAVE_TYPE_SGX2 enclave (os-api.md §2.15); ERROR_INVALID_ADDRESS in any other. */
  commit(address: number, length: number): boolean {
    return this.#k32.VirtualAlloc(address, length, W.MEM_COMMIT, W.PAGE_READWRITE) !== 0;
  }

  arena(size: number): number {
    const k32 = this.#k32;
    let arena = 0;
    for (let at = 0x2000_0000; at < 0xf000_0000 && arena === 0; at += 0x100_0000) arena = k32.VirtualAlloc(at, size, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
    if (arena === 0) arena = k32.VirtualAlloc(0, size, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
    if (arena === 0) {
      const err = k32.GetLastError();
      throw new EnclaveLoadError('ARENA', `cannot allocate the untrusted marshalling arena: ${win32ErrorName(err)} (${err})`, { win32Error: err });
    }
    return arena;
  }

  freeArena(arena: number): void {
    this.#k32.VirtualFree(arena, 0, W.MEM_RELEASE);
  }

  remove(): boolean {
    return this.#base === 0 || this.#k32.DeleteEnclave(this.#base);
  }
}

const SECS_BASEADDR_AT = SECS.field('BASEADDR').offset;
const SECS_FLAGS_AT = SECS.field('ATTRIBUTES').offset; // ATTRIBUTES.FLAGS is its first u64
/** User memory the Linux loader stages ioctl arguments and page contents in: 256 pages + a page of structures. */
const STAGING_PAGES = 256;

/**
 * Intel's Linux loader, as os-api.md §4.4 describes it: ELRANGE reserved (2 × size PROT_NONE,
 * aligned, the slack given back), CREATE, ADD_PAGES run by run, then every run mapped
 * MAP_SHARED|MAP_FIXED with its SECINFO's protection (runs coalesced), INIT; removal is munmap of
 * ELRANGE and close (the enclave goes with its last reference).
 */
class LinuxEnclaveOs implements EnclaveOs {
  readonly #libc: Libc;
  #fd = -1;
  #base = 0;
  #size = 0;
  #staging = 0;
  /** Added runs: offset, pages, protection, for the mappings made before INIT. */
  readonly #runs: { offset: number; n: number; prot: number }[] = [];

  constructor(libc: Libc) {
    this.#libc = libc;
  }

  get lastError(): string {
    return errnoName(this.#libc.errno);
  }
  get lastErrorData(): Record<string, number | null> {
    return { errno: this.#libc.errno };
  }
  #fail(code: string, what: string): never {
    throw new EnclaveLoadError(code, `${what} failed: ${errnoName(this.#libc.errno)}`, { errno: this.#libc.errno });
  }

  /** The staging area: structures in its first page, page contents after it. */
  #stage(): number {
    if (this.#staging === 0) {
      const a = this.#libc.mmap(0, (STAGING_PAGES + 1) * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (a < 0) this.#fail('CREATE_FAILED', 'mmap of the loader\'s staging memory');
      this.#staging = a;
    }
    return this.#staging;
  }

  create(size: number, secs: Uint8Array): number {
    const libc = this.#libc;
    const fd = libc.open('/dev/sgx_enclave', O_RDWR);
    if (fd < 0) this.#fail('CREATE_FAILED', 'open /dev/sgx_enclave');
    this.#fd = fd;
    const area = libc.mmap(0, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (area < 0) this.#fail('CREATE_FAILED', 'mmap reserving ELRANGE');
    const base = Math.ceil(area / size) * size;
    if (base > area) libc.munmap(area, base - area);
    const tail = area + 2 * size - (base + size);
    if (tail > 0) libc.munmap(base + size, tail);
    this.#base = base;
    this.#size = size;
    const s = secs.slice();
    new DataView(s.buffer).setBigUint64(SECS_BASEADDR_AT, BigInt(base), true);
    const st = this.#stage();
    libc.write(st + 4096, s);
    libc.write(st, sgx_enclave_create.encode({ src: BigInt(st + 4096) }));
    if (libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, st) !== 0) this.#fail('CREATE_FAILED', 'SGX_IOC_ENCLAVE_CREATE');
    if ((new DataView(s.buffer).getBigUint64(SECS_FLAGS_AT, true) & ATTR.PROVISIONKEY) !== 0n) this.#provision(st);
    return base;
  }

  /**
   * ATTRIBUTES.PROVISIONKEY: the loader opens /dev/sgx_provision (or /dev/sgx/provision) and passes
   * it to SGX_IOC_ENCLAVE_PROVISION; a failure is not fatal here (os-api.md §4.4: only logged), so
   * a process without the device's permission gets EACCES from INIT.
   */
  #provision(st: number): void {
    const libc = this.#libc;
    let pfd = libc.open('/dev/sgx_provision', O_RDWR);
    if (pfd < 0) pfd = libc.open('/dev/sgx/provision', O_RDWR);
    if (pfd < 0) return;
    libc.write(st, sgx_enclave_provision.encode({ fd: BigInt(pfd) }));
    libc.ioctl(this.#fd, SGX_IOC.ENCLAVE_PROVISION, st);
    libc.close(pfd);
  }

  add(offset: number, data: Uint8Array, n: number, flags: number, measured: boolean): void {
    const libc = this.#libc;
    const st = this.#stage();
    libc.write(st + 4096, data.subarray(0, n * 4096));
    libc.write(st + 512, SECINFO.encode({ FLAGS: BigInt(flags) }));
    libc.write(st, sgx_enclave_add_pages.encode({ src: BigInt(st + 4096), offset: BigInt(offset), length: BigInt(n * 4096), secinfo: BigInt(st + 512), flags: measured ? BigInt(SGX_PAGE_MEASURE) : 0n, count: 0n }));
    if (libc.ioctl(this.#fd, SGX_IOC.ENCLAVE_ADD_PAGES, st) !== 0) this.#fail('LOAD_FAILED', `SGX_IOC_ENCLAVE_ADD_PAGES at offset 0x${offset.toString(16)}`);
    const prot = maxProtOf(flags); // (each run mapped with its pages' maximum protection)
    const last = this.#runs[this.#runs.length - 1];
    if (last !== undefined && last.prot === prot && last.offset + last.n * 4096 === offset) last.n += n;
    else this.#runs.push({ offset, n, prot });
  }

  init(sigstruct: Uint8Array): void {
    const libc = this.#libc;
    for (const r of this.#runs) {
      if (libc.mmap(this.#base + r.offset, r.n * 4096, r.prot, MAP_SHARED | MAP_FIXED, this.#fd, 0) < 0) this.#fail('LOAD_FAILED', `mmap of ELRANGE at offset 0x${r.offset.toString(16)}`);
    }
    const st = this.#stage();
    libc.write(st + 4096, sigstruct);
    libc.write(st, sgx_enclave_init.encode({ sigstruct: BigInt(st + 4096) }));
    if (libc.ioctl(this.#fd, SGX_IOC.ENCLAVE_INIT, st) !== 0) this.#fail('INIT_FAILED', 'SGX_IOC_ENCLAVE_INIT');
    libc.munmap(st, (STAGING_PAGES + 1) * 4096);
    this.#staging = 0;
  }

  /**
   * The range mapped read-write from the enclave's file (MAP_SHARED|MAP_FIXED over the PROT_NONE
   * reservation): the driver EAUGs each page at the enclave's first touch, its EACCEPT (sgx_vma_fault
   * with SGX2). Whether the kernel can is asked once, as Intel's loader asks the driver: an SGX2
   * ioctl on the initialized enclave (RESTRICT_PERMISSIONS of no pages) fails with ENODEV without
   * SGX2 and with EINVAL (its length) with it.
   */
  commit(address: number, length: number): boolean {
    const libc = this.#libc;
    if (this.#edmm === null) {
      const st = this.#libc.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (st < 0) return false;
      libc.write(st, new Uint8Array(sgx_enclave_restrict_permissions.size));
      const ok = libc.ioctl(this.#fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, st) === 0 || libc.errno !== ERRNO.ENODEV;
      libc.munmap(st, 4096);
      this.#edmm = ok;
    }
    if (!this.#edmm) return false;
    return libc.mmap(address, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, this.#fd, 0) >= 0;
  }
  /** Whether the driver offers SGX2 (null: not asked yet). */
  #edmm: boolean | null = null;

  arena(size: number): number {
    const a = this.#libc.mmap(0x2000_0000, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (a < 0) throw new EnclaveLoadError('ARENA', `cannot allocate the untrusted marshalling arena: ${errnoName(this.#libc.errno)}`, { errno: this.#libc.errno });
    return a;
  }

  freeArena(arena: number, arenaSize: number): void {
    this.#libc.munmap(arena, arenaSize);
  }

  /** munmap of ELRANGE and close: the enclave goes with its last reference (at once, or when the thread inside leaves). */
  remove(): boolean {
    const libc = this.#libc;
    if (this.#staging !== 0) libc.munmap(this.#staging, (STAGING_PAGES + 1) * 4096);
    this.#staging = 0;
    if (this.#base !== 0) libc.munmap(this.#base, this.#size);
    if (this.#fd >= 0) libc.close(this.#fd);
    this.#fd = -1;
    this.#base = 0;
    return true;
  }
}
