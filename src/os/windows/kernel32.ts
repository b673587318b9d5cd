/**
 * kernel32's enclave API (enclaveapi.h) and the memory functions it needs, with the Win32 names,
 * parameter order and return conventions: each function forwards to one Nt* call and, on a failing
 * NTSTATUS, calls SetLastError(RtlNtStatusToDosError(status)) and returns NULL (0) or FALSE
 * (specs/os-api.md §2.5). Memory arguments are addresses in the emulated process or byte arrays
 * the binding copies in; out-parameters are explicit `{ value }` boxes or process addresses.
 */
import type { Kernel } from '../kernel.js';
import type { Process } from '../process.js';
import { PTE } from '../../arch/index.js';
import { ALLOCATION_GRANULARITY, USER_SPACE_END } from '../process.js';
import { pteFlagsFor } from './protection.js';
import { NtEnclaveApi, protectionOfPte } from './nt.js';
import { writeOut, outWritable, type MemArg, type Out } from './args.js';
import { rtlNtStatusToDosError, ntSuccess } from './ntstatus.js';
import * as C from './constants.js';
import { ENCLAVE_EXPORTS, BUILD_10514_EXPORTS, type WindowsProfile, type ResolvedWindowsConfig } from './profiles.js';

export type { MemArg, Out };

/** MmCopyVirtualMemory's copy sizes (readwrt.c): above POOL_MOVE_THRESHOLD bytes it locks and maps MAX_LOCK_SIZE at a time. */
const POOL_MOVE_THRESHOLD = 511;
const MAX_LOCK_SIZE = 14 * 4096;

/** The functions of kernel32 that Witness models. */
export interface Kernel32Functions {
  GetLastError(): number;
  SetLastError(dwErrCode: number): void;
  GetCurrentProcess(): number;
  GetProcAddress(hModule: number, lpProcName: string): ((...args: never[]) => unknown) | null;
  IsEnclaveTypeSupported(flEnclaveType: number): boolean;
  CreateEnclave(hProcess: number, lpAddress: number, dwSize: number, dwInitialCommitment: number, flEnclaveType: number, lpEnclaveInformation: MemArg, dwInfoLength: number, lpEnclaveError: Out<number>): number;
  LoadEnclaveData(hProcess: number, lpAddress: number, lpBuffer: MemArg, nSize: number, flProtect: number, lpPageInformation: MemArg, dwInfoLength: number, lpNumberOfBytesWritten: Out<number>, lpEnclaveError: Out<number>): boolean;
  InitializeEnclave(hProcess: number, lpAddress: number, lpEnclaveInformation: MemArg, dwInfoLength: number, lpEnclaveError: Out<number>): boolean;
  DeleteEnclave(lpAddress: number): boolean;
  CallEnclave(lpRoutine: number, lpParameter: number, fWaitForThread: boolean, lpReturnValue: Out<number>): boolean;
  TerminateEnclave(lpAddress: number, fWait: boolean): boolean;
  VirtualAlloc(lpAddress: number, dwSize: number, flAllocationType: number, flProtect: number): number;
  VirtualFree(lpAddress: number, dwSize: number, dwFreeType: number): boolean;
  VirtualProtect(lpAddress: number, dwSize: number, flNewProtect: number, lpflOldProtect: Out<number>): boolean;
  ReadProcessMemory(hProcess: number, lpBaseAddress: number, lpBuffer: MemArg, nSize: number, lpNumberOfBytesRead: Out<number>): boolean;
  WriteProcessMemory(hProcess: number, lpBaseAddress: number, lpBuffer: MemArg, nSize: number, lpNumberOfBytesWritten: Out<number>): boolean;
}

/** The names GetProcAddress resolves (the modelled exports; nothing else of the object). */
const KERNEL32_EXPORTS: ReadonlySet<string> = new Set([
  'GetLastError', 'SetLastError', 'GetCurrentProcess', 'GetProcAddress', 'IsEnclaveTypeSupported', 'CreateEnclave', 'LoadEnclaveData',
  'InitializeEnclave', 'DeleteEnclave', 'CallEnclave', 'TerminateEnclave', 'VirtualAlloc', 'VirtualFree', 'VirtualProtect', 'ReadProcessMemory', 'WriteProcessMemory',
]);

/** One process's kernel32, with its thread's last-error value. */
export class Kernel32 implements Kernel32Functions {
  /** The Nt layer underneath (NTSTATUS results). */
  readonly nt: NtEnclaveApi;
  readonly #k: Kernel;
  readonly #p: Process;
  readonly #profile: WindowsProfile;
  #lastError = 0;
  /** Private pages committed or protected PAGE_EXECUTE (their PTE is PAGE_EXECUTE_READ's: x86 has no execute-only), by page number, for the old protection VirtualProtect reports. */
  readonly #executeOnly = new Set<number>();

  #recordProtection(start: number, end: number, protect: number): void {
    const first = Math.floor(start / 4096), last = Math.ceil(end / 4096);
    if (protect === C.PAGE_EXECUTE) {
      for (let v = first; v < last; v++) this.#executeOnly.add(v); // (pages just committed or protected: bounded by RAM)
      return;
    }
    // (Forgetting visits only what is recorded when the range is larger: a release of a huge reservation stays cheap.)
    if (last - first <= this.#executeOnly.size) for (let v = first; v < last; v++) this.#executeOnly.delete(v);
    else for (const v of [...this.#executeOnly]) if (v >= first && v < last) this.#executeOnly.delete(v);
  }
  /** The NTSTATUS of the last Nt call a function made, success included (for conformance checks). */
  lastNtStatus = 0;

  constructor(kernel: Kernel, process: Process, profile: WindowsProfile, config: ResolvedWindowsConfig) {
    this.#k = kernel;
    this.#p = process;
    this.#profile = profile;
    this.nt = new NtEnclaveApi(kernel, process, profile, config);
    // Bind so the functions can be passed around like function pointers.
    for (const name of Object.getOwnPropertyNames(Kernel32.prototype)) {
      const v = (this as unknown as Record<string, unknown>)[name];
      if (name !== 'constructor' && typeof v === 'function') (this as unknown as Record<string, unknown>)[name] = v.bind(this);
    }
  }

  #exported(name: string): boolean {
    if (!ENCLAVE_EXPORTS.includes(name)) return true;
    if (this.#profile.exports === 'none') return false;
    if (this.#profile.exports === 'build-10514') return BUILD_10514_EXPORTS.includes(name);
    return true;
  }

  /** A call to a function this Windows build does not export: the import cannot be resolved. */
  #absent(): false {
    this.#lastError = C.ERROR_PROC_NOT_FOUND;
    return false;
  }

  #fail(status: number): false {
    this.lastNtStatus = status >>> 0;
    this.#lastError = rtlNtStatusToDosError(status);
    return false;
  }

  #failNull(status: number): 0 {
    this.#fail(status);
    return 0;
  }

  #ok(status: number): boolean {
    this.lastNtStatus = status >>> 0;
    if (ntSuccess(status)) return true;
    return this.#fail(status);
  }

  GetLastError(): number {
    return this.#lastError;
  }
  SetLastError(dwErrCode: number): void {
    this.#lastError = dwErrCode >>> 0;
  }
  GetCurrentProcess(): number {
    return C.CURRENT_PROCESS;
  }

  GetProcAddress(_hModule: number, lpProcName: string): ((...args: never[]) => unknown) | null {
    const f = KERNEL32_EXPORTS.has(lpProcName) ? (this as unknown as Record<string, unknown>)[lpProcName] : undefined;
    if (typeof f !== 'function' || !this.#exported(lpProcName)) {
      this.#lastError = C.ERROR_PROC_NOT_FOUND;
      return null;
    }
    return f as (...args: never[]) => unknown;
  }

  IsEnclaveTypeSupported(flEnclaveType: number): boolean {
    if (!this.#exported('IsEnclaveTypeSupported')) return this.#absent();
    if (this.nt.typeSupported(flEnclaveType)) return true;
    this.#lastError = C.ERROR_NOT_SUPPORTED;
    return false;
  }

  CreateEnclave(hProcess: number, lpAddress: number, dwSize: number, dwInitialCommitment: number, flEnclaveType: number, lpEnclaveInformation: MemArg, dwInfoLength: number, lpEnclaveError: Out<number>): number {
    if (!this.#exported('CreateEnclave')) {
      this.#absent();
      return 0;
    }
    const base = { value: lpAddress ?? 0 };
    const st = this.nt.NtCreateEnclave(hProcess, base, 0, dwSize, dwInitialCommitment, flEnclaveType, lpEnclaveInformation, dwInfoLength, lpEnclaveError);
    return this.#ok(st) ? base.value : 0;
  }

  LoadEnclaveData(hProcess: number, lpAddress: number, lpBuffer: MemArg, nSize: number, flProtect: number, lpPageInformation: MemArg, dwInfoLength: number, lpNumberOfBytesWritten: Out<number>, lpEnclaveError: Out<number>): boolean {
    if (!this.#exported('LoadEnclaveData')) return this.#absent();
    return this.#ok(this.nt.NtLoadEnclaveData(hProcess, lpAddress, lpBuffer, nSize, flProtect, lpPageInformation, dwInfoLength, lpNumberOfBytesWritten, lpEnclaveError));
  }

  InitializeEnclave(hProcess: number, lpAddress: number, lpEnclaveInformation: MemArg, dwInfoLength: number, lpEnclaveError: Out<number>): boolean {
    if (!this.#exported('InitializeEnclave')) return this.#absent();
    return this.#ok(this.nt.NtInitializeEnclave(hProcess, lpAddress, lpEnclaveInformation, dwInfoLength, lpEnclaveError));
  }

  DeleteEnclave(lpAddress: number): boolean {
    if (!this.#exported('DeleteEnclave')) return this.#absent();
    return this.#ok(this.nt.deleteEnclave(lpAddress));
  }

  /** VBS only; an SGX enclave is entered with ENCLU[EENTER] by the host itself (specs/os-api.md §2.10). */
  CallEnclave(_lpRoutine: number, _lpParameter: number, _fWaitForThread: boolean, _lpReturnValue: Out<number>): boolean {
    if (!this.#exported('CallEnclave')) return this.#absent();
    return this.#fail(C.STATUS_NOT_SUPPORTED);
  }

  /** VBS only (specs/os-api.md §2.11). */
  TerminateEnclave(lpAddress: number, _fWait: boolean): boolean {
    if (!this.#exported('TerminateEnclave')) return this.#absent();
    return this.#fail(this.nt.enclaveOf(lpAddress) ? C.STATUS_NOT_SUPPORTED : C.STATUS_CONFLICTING_ADDRESSES);
  }

  /**
   * NtAllocateVirtualMemory for private memory. Committing more than RAM can back fails with
   * STATUS_COMMITMENT_LIMIT (ERROR_COMMITMENT_LIMIT, 1455), as NtAllocateVirtualMemory does when
   * MiChargeCommitment refuses the charge (Windows Research Kernel, base/ntos/mm/allocvm.c); the
   * model has no paging file, so the commit limit is the free RAM.
   */
  VirtualAlloc(lpAddress: number, dwSize: number, flAllocationType: number, flProtect: number): number {
    const p = this.#p;
    const type = flAllocationType >>> 0;
    if (!Number.isSafeInteger(lpAddress) || lpAddress < 0) return this.#failNull(C.STATUS_INVALID_PARAMETER);
    if (!Number.isSafeInteger(dwSize) || dwSize <= 0 || (type & ~(C.MEM_COMMIT | C.MEM_RESERVE)) !== 0 || type === 0) return this.#failNull(C.STATUS_INVALID_PARAMETER);
    const pte = pteFlagsFor(flProtect);
    if (pte < 0 && flProtect !== C.PAGE_NOACCESS) return this.#failNull(C.STATUS_INVALID_PAGE_PROTECTION);
    // MEM_COMMIT alone reserves too when lpAddress is NULL (VirtualAlloc docs, MEM_COMMIT: only a
    // commit of a non-NULL lpAddress needs the range reserved already; allocvm.c: a NULL base or
    // MEM_RESERVE is "a reserve or reserve and commit").
    if (type & C.MEM_RESERVE || lpAddress === 0) {
      // The base is rounded down to the allocation granularity and the region covers every page
      // holding a byte of [lpAddress, lpAddress+dwSize) (VirtualAlloc docs, lpAddress/dwSize; allocvm.c
      // aligns StartingAddress to 64 KiB and keeps EndingAddress at the last byte's page).
      let base: number, size: number;
      if (lpAddress) {
        base = lpAddress - (lpAddress % ALLOCATION_GRANULARITY);
        size = Math.ceil((lpAddress + dwSize) / 4096) * 4096 - base;
        if (!p.isFree(base, size)) return this.#failNull(C.STATUS_CONFLICTING_ADDRESSES);
      } else {
        size = Math.ceil(dwSize / 4096) * 4096;
        base = p.findFree(size, ALLOCATION_GRANULARITY, 0x1_0000_0000);
        if (base < 0) return this.#failNull(C.STATUS_NO_MEMORY);
      }
      const r = p.reserve(base, size, 'private');
      if (type & C.MEM_COMMIT && !p.commit(r, base, size, pte)) {
        p.release(r);
        return this.#failNull(C.STATUS_COMMITMENT_LIMIT);
      }
      if (type & C.MEM_COMMIT) this.#recordProtection(base, base + size, flProtect >>> 0);
      this.lastNtStatus = C.STATUS_SUCCESS;
      return base;
    }
    // MEM_COMMIT inside an existing private reservation, or an enclave's (pages of zeros: commitEnclavePages).
    const r = p.regionAt(lpAddress);
    const start = Math.floor(lpAddress / 4096) * 4096;
    if (r && r.kind === 'enclave') {
      const st = this.nt.commitEnclavePages(start, Math.ceil((lpAddress + dwSize) / 4096) * 4096 - start, flProtect);
      return st === C.STATUS_SUCCESS ? (this.lastNtStatus = st, start) : this.#failNull(st);
    }
    if (!r || r.kind !== 'private' || lpAddress + dwSize > r.base + r.size) return this.#failNull(C.STATUS_MEMORY_NOT_ALLOCATED);
    if (!p.commit(r, start, Math.ceil((lpAddress + dwSize) / 4096) * 4096 - start, pte)) return this.#failNull(C.STATUS_COMMITMENT_LIMIT);
    this.#recordProtection(start, lpAddress + dwSize, flProtect >>> 0);
    this.lastNtStatus = C.STATUS_SUCCESS;
    return start;
  }

  /**
   * NtFreeVirtualMemory. MEM_DECOMMIT follows the Windows Research Kernel (base/ntos/mm/freevm.c):
   * the pages touched by [lpAddress, lpAddress+dwSize) must lie in the region
   * (STATUS_UNABLE_TO_FREE_VM, ERROR_INVALID_PARAMETER); dwSize 0 decommits the whole region and
   * then lpAddress must be its base (STATUS_FREE_VM_NOT_AT_BASE, ERROR_INVALID_ADDRESS);
   * uncommitted private pages in the range are no error. In an enclave only trimmed pages of an
   * SGX2 enclave are decommitted (NtEnclaveApi.decommitEnclavePages).
   */
  VirtualFree(lpAddress: number, dwSize: number, dwFreeType: number): boolean {
    const p = this.#p;
    const t = dwFreeType >>> 0;
    // The free type first, then MEM_RELEASE's dwSize 0 (VirtualFree docs: "dwSize must be 0"),
    // before the address is looked up, as kernelbase and NtFreeVirtualMemory do.
    if (t !== C.MEM_RELEASE && t !== C.MEM_DECOMMIT) return this.#fail(C.STATUS_INVALID_PARAMETER);
    if (t === C.MEM_RELEASE && dwSize !== 0) return this.#fail(C.STATUS_INVALID_PARAMETER);
    // Not an address at all (fractional, negative, NaN): refused as VirtualAlloc refuses it.
    if (!Number.isSafeInteger(lpAddress) || lpAddress < 0) return this.#fail(C.STATUS_INVALID_PARAMETER);
    const r = p.regionAt(lpAddress);
    if (!r) return this.#fail(C.STATUS_MEMORY_NOT_ALLOCATED);
    if (t === C.MEM_RELEASE) {
      if (lpAddress !== r.base) return this.#fail(C.STATUS_FREE_VM_NOT_AT_BASE); // freevm.c
      if (r.kind === 'enclave') return this.#ok(this.nt.deleteEnclave(lpAddress));
      p.release(r);
      this.#recordProtection(r.base, r.base + r.size, 0);
      return this.#ok(C.STATUS_SUCCESS);
    }
    // MEM_DECOMMIT.
    if (!Number.isSafeInteger(dwSize) || dwSize < 0) return this.#fail(C.STATUS_INVALID_PARAMETER_3);
    const start = lpAddress - (lpAddress % 4096);
    let end: number;
    if (dwSize === 0) {
      if (start !== r.base) return this.#fail(C.STATUS_FREE_VM_NOT_AT_BASE);
      end = r.base + r.size;
    } else {
      end = Math.ceil((lpAddress + dwSize) / 4096) * 4096;
      if (end > r.base + r.size) return this.#fail(C.STATUS_UNABLE_TO_FREE_VM);
    }
    // (An enclave's pages: only trimmed ones of an SGX2 enclave, removed once the enclave accepted the trim: os-api.md §2.15.)
    if (r.kind === 'enclave') return this.#ok(this.nt.decommitEnclavePages(start, end));
    p.decommit(r, start, end - start);
    this.#recordProtection(start, end, 0);
    return this.#ok(C.STATUS_SUCCESS);
  }

  /**
   * VirtualProtect (NtProtectVirtualMemory). The region is every page holding a byte of
   * [lpAddress, lpAddress+dwSize), all in one reservation (else STATUS_CONFLICTING_ADDRESSES,
   * ERROR_INVALID_ADDRESS) and committed (STATUS_NOT_COMMITTED, ERROR_INVALID_ADDRESS); the
   * protection of the first page before the call goes to *lpflOldProtect, which must be writable
   * (VirtualProtect docs: "If this parameter is NULL or does not point to a valid variable, the
   * function fails"; STATUS_ACCESS_VIOLATION, ERROR_NOACCESS). Private pages take one of the base
   * protections (modifiers and unknown bits: STATUS_INVALID_PAGE_PROTECTION [INF]); pages of an
   * initialized ENCLAVE_TYPE_SGX2 enclave follow the SGX2 extensions (NtEnclaveApi.protectEnclavePages).
   * A dwSize of 0 is refused (STATUS_INVALID_PARAMETER [INF]).
   */
  VirtualProtect(lpAddress: number, dwSize: number, flNewProtect: number, lpflOldProtect: Out<number>): boolean {
    const p = this.#p;
    if (!Number.isSafeInteger(lpAddress) || lpAddress < 0 || !Number.isSafeInteger(dwSize) || dwSize <= 0) return this.#fail(C.STATUS_INVALID_PARAMETER);
    if (lpflOldProtect === null || lpflOldProtect === 0 || !outWritable(p, lpflOldProtect, 4)) return this.#fail(C.STATUS_ACCESS_VIOLATION);
    const start = lpAddress - (lpAddress % 4096);
    const end = Math.ceil((lpAddress + dwSize) / 4096) * 4096;
    const r = p.regionAt(start);
    if (!r || end > r.base + r.size) return this.#fail(C.STATUS_CONFLICTING_ADDRESSES);
    if (r.kind === 'enclave') {
      const { status, old } = this.nt.protectEnclavePages(start, end - start, flNewProtect);
      if (old === null) return this.#fail(status);
      writeOut(p, lpflOldProtect, old, 4); // (pages may have changed before a later refusal: the old protection is reported then too)
      return this.#ok(status);
    }
    const pte = pteFlagsFor(flNewProtect >>> 0);
    if (pte < 0 && flNewProtect >>> 0 !== C.PAGE_NOACCESS) return this.#fail(C.STATUS_INVALID_PAGE_PROTECTION);
    for (let v = start / 4096; v < end / 4096; v++) if (!r.committed.has(v)) return this.#fail(C.STATUS_NOT_COMMITTED);
    const ptOld = protectionOfPte(p.pageTable.entry(start / 4096), undefined);
    const old = ptOld === C.PAGE_EXECUTE_READ && this.#executeOnly.has(start / 4096) ? C.PAGE_EXECUTE : ptOld;
    for (let v = start / 4096; v < end / 4096; v++) {
      if (pte < 0) p.pageTable.unmap(v);
      else p.pageTable.map(v, r.committed.get(v)!.pfn, pte);
    }
    this.#recordProtection(start, end, flNewProtect >>> 0);
    writeOut(p, lpflOldProtect, old, 4);
    return this.#ok(C.STATUS_SUCCESS);
  }

  /**
   * ReadProcessMemory: NtReadVirtualMemory with the caller's out-parameter (kernelbase forwards it).
   * A target range that cannot be read fails with STATUS_PARTIAL_COPY (ERROR_PARTIAL_COPY, 299) and
   * reports the bytes copied before the fault; a caller buffer that cannot take nSize bytes fails with
   * STATUS_ACCESS_VIOLATION (ERROR_NOACCESS, 998). Enclave pages read as the abort page.
   */
  ReadProcessMemory(hProcess: number, lpBaseAddress: number, lpBuffer: MemArg, nSize: number, lpNumberOfBytesRead: Out<number>): boolean {
    return this.#ok(this.#copyVirtual('read', hProcess, lpBaseAddress, lpBuffer, nSize, lpNumberOfBytesRead));
  }

  /**
   * WriteProcessMemory as kernelbase implements it (Wine dlls/kernelbase/memory.c, which follows
   * Windows): look at the protection of the first page; a writable page takes NtWriteVirtualMemory
   * directly; an execute (or execute-read) page is made writable for the copy with
   * NtProtectVirtualMemory (over the pages of the range that share its protection) and restored
   * afterwards; anything else (read-only, no access, not committed) fails with
   * STATUS_ACCESS_VIOLATION (ERROR_NOACCESS, 998) without writing *lpNumberOfBytesWritten.
   * Writes to enclave pages are dropped (abort page).
   */
  WriteProcessMemory(hProcess: number, lpBaseAddress: number, lpBuffer: MemArg, nSize: number, lpNumberOfBytesWritten: Out<number>): boolean {
    // VirtualQueryEx (NtQueryVirtualMemory): an address outside user space is a bad parameter.
    if (!Number.isSafeInteger(lpBaseAddress) || lpBaseAddress < 0 || lpBaseAddress >= USER_SPACE_END) return this.#fail(C.STATUS_INVALID_PARAMETER);
    if (hProcess !== C.CURRENT_PROCESS) return this.#fail(C.STATUS_INVALID_HANDLE);
    const pt = this.#p.pageTable;
    const first = Math.floor(lpBaseAddress / 4096);
    const e = pt.lookup(first);
    const flags = e && e.flags & PTE.U ? e.flags : -1;
    if (flags >= 0 && flags & PTE.W) return this.#ok(this.#copyVirtual('write', hProcess, lpBaseAddress, lpBuffer, nSize, lpNumberOfBytesWritten));
    if (flags < 0 || flags & PTE.NX) return this.#fail(C.STATUS_ACCESS_VIOLATION);
    // PAGE_EXECUTE / PAGE_EXECUTE_READ: writable for the copy, then restored.
    const last = Number.isSafeInteger(nSize) && nSize > 0 ? Math.ceil(Math.min(lpBaseAddress + nSize, USER_SPACE_END) / 4096) : first + 1;
    const made: number[] = [];
    for (let v = first; v < last && pt.lookup(v)?.flags === flags; v++) made.push(v);
    for (const v of made) pt.protect(v, flags | PTE.W);
    try {
      return this.#ok(this.#copyVirtual('write', hProcess, lpBaseAddress, lpBuffer, nSize, lpNumberOfBytesWritten));
    } finally {
      for (const v of made) pt.protect(v, flags);
    }
  }

  /**
   * NtReadVirtualMemory / NtWriteVirtualMemory, as the Windows Research Kernel implements them
   * (base/ntos/mm/readwrt.c): a range that wraps or leaves user space is STATUS_ACCESS_VIOLATION and
   * an unwritable out-parameter address too (nothing written); nSize 0 succeeds at once; then
   * MmCopyVirtualMemory moves the bytes in chunks (14 pages above 511 bytes, else one move). The
   * source is locked chunk by chunk: an unreadable source chunk ends the copy with
   * STATUS_PARTIAL_COPY and the bytes of the chunks already moved; the destination is probed for
   * writing over the whole range after the first chunk is locked: an unwritable destination is
   * STATUS_ACCESS_VIOLATION with nothing moved. *NumberOfBytes gets the bytes moved (0 on failure
   * after the early checks).
   */
  #copyVirtual(dir: 'read' | 'write', hProcess: number, lpBaseAddress: number, lpBuffer: MemArg, nSize: number, out: Out<number>): number {
    const p = this.#p;
    const inUserSpace = (a: number): boolean => Number.isSafeInteger(a) && a >= 0 && a + nSize <= USER_SPACE_END;
    if (!Number.isSafeInteger(nSize) || nSize < 0 || !inUserSpace(lpBaseAddress)) return C.STATUS_ACCESS_VIOLATION;
    if (typeof lpBuffer === 'number' && lpBuffer !== 0 && !inUserSpace(lpBuffer)) return C.STATUS_ACCESS_VIOLATION;
    if (!outWritable(p, out, 8)) return C.STATUS_ACCESS_VIOLATION;
    const done = (status: number, moved: number): number => {
      writeOut(p, out, moved, 8);
      return status;
    };
    if (nSize === 0) return done(C.STATUS_SUCCESS, 0);
    if (hProcess !== C.CURRENT_PROCESS) return done(C.STATUS_INVALID_HANDLE, 0);
    // The caller's buffer: bytes given, an address in this process, or NULL.
    const callerExtent = (write: boolean): number =>
      lpBuffer instanceof Uint8Array ? Math.min(lpBuffer.length, nSize) : typeof lpBuffer === 'number' && lpBuffer !== 0 ? p.accessiblePrefix(lpBuffer, nSize, write) : 0;
    const readable = dir === 'read' ? p.accessiblePrefix(lpBaseAddress, nSize, false) : callerExtent(false);
    const writable = dir === 'read' ? callerExtent(true) : p.accessiblePrefix(lpBaseAddress, nSize, true);
    const chunk = nSize > POOL_MOVE_THRESHOLD ? MAX_LOCK_SIZE : nSize;
    if (readable < Math.min(chunk, nSize)) return done(C.STATUS_PARTIAL_COPY, 0);
    if (writable < nSize) return done(C.STATUS_ACCESS_VIOLATION, 0);
    const moved = readable === nSize ? nSize : readable - (readable % chunk);
    const mem = this.#k.processor.memory;
    if (dir === 'read') {
      const dst = lpBuffer instanceof Uint8Array ? lpBuffer.subarray(0, moved) : new Uint8Array(moved);
      mem.readVirtualInto(p.pageTable, lpBaseAddress, dst, 0);
      if (!(lpBuffer instanceof Uint8Array)) p.write(lpBuffer as number, dst);
    } else {
      const src = lpBuffer instanceof Uint8Array ? lpBuffer.subarray(0, moved) : p.read(lpBuffer as number, moved);
      mem.writeVirtual(p.pageTable, lpBaseAddress, src, 0);
    }
    return done(moved === nSize ? C.STATUS_SUCCESS : C.STATUS_PARTIAL_COPY, moved);
  }
}
