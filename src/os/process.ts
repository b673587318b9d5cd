/**
 * Processes and their address spaces: reservations (VADs) of private memory and enclave ranges,
 * committed private pages backed by RAM frames, and the page table the processor walks. The host
 * program's own loads and stores go through `read`/`write` (user mode, CPL 3): they see RAM as is
 * and enclave pages as the abort page.
 */
import { PageTable, PTE, type Processor } from '../arch/index.js';
import { OsError } from './errors.js';
import type { FrameAllocator } from './physical.js';

export type RegionKind = 'private' | 'enclave';

const ZERO_PAGE = new Uint8Array(4096);

export interface Region {
  readonly base: number;
  readonly size: number;
  readonly kind: RegionKind;
  /** Committed private pages: vpn → the RAM frame backing it. */
  readonly committed: Map<number, { pfn: number }>;
  /** For enclave regions, the kernel's enclave object. */
  readonly owner: object | null;
}

/** Allocation granularity of reservations (Windows: 64 KiB). */
export const ALLOCATION_GRANULARITY = 0x10000;
/** Lowest address the kernel hands out by itself. */
const USER_SPACE_START = 0x10000;
/** The top of the user address space + 1 (Windows x64: MM_HIGHEST_USER_ADDRESS 0x7FFFFFFEFFFF, 128 TiB - 64 KiB). */
export const USER_SPACE_END = 0x7fff_ffff_0000;

export class Process {
  readonly pid: number;
  readonly name: string;
  readonly pageTable: PageTable;
  readonly #regions: Region[] = [];
  readonly #proc: Processor;
  readonly #frames: FrameAllocator;

  constructor(pid: number, name: string, processor: Processor, frames: FrameAllocator) {
    this.pid = pid;
    this.name = name;
    this.pageTable = new PageTable(`process ${pid} (${name})`);
    this.#proc = processor;
    this.#frames = frames;
  }

  get regions(): readonly Region[] {
    return this.#regions;
  }

  regionAt(la: number): Region | null {
    for (const r of this.#regions) if (la >= r.base && la < r.base + r.size) return r;
    return null;
  }

  /** Is [base, base+size) free of any reservation? */
  isFree(base: number, size: number): boolean {
    if (base < USER_SPACE_START || base + size > USER_SPACE_END) return false;
    for (const r of this.#regions) if (base < r.base + r.size && r.base < base + size) return false;
    return true;
  }

  /** The lowest free, `align`-aligned range of `size` bytes at or above `from` (bottom-up), or -1. */
  findFree(size: number, align: number, from = 0x1000_0000): number {
    let cand = Math.ceil(Math.max(from, USER_SPACE_START) / align) * align;
    const sorted = [...this.#regions].sort((a, b) => a.base - b.base);
    for (;;) {
      if (cand + size > USER_SPACE_END) return -1;
      const hit = sorted.find((r) => cand < r.base + r.size && r.base < cand + size);
      if (!hit) return cand;
      cand = Math.ceil((hit.base + hit.size) / align) * align;
    }
  }

  reserve(base: number, size: number, kind: RegionKind, owner: object | null = null): Region {
    if (!this.isFree(base, size)) throw new OsError('VA_CONFLICT', `range 0x${base.toString(16)}+0x${size.toString(16)} is not free`);
    const r: Region = { base, size, kind, committed: new Map(), owner };
    this.#regions.push(r);
    return r;
  }

  /**
   * Commit private pages [la, la+size) inside region `r`, mapped with PTE flags `pte` (-1: committed
   * but not mapped, no access); new frames are zero-filled.
   * Returns false when RAM cannot back the new pages (checked before anything is allocated or
   * changed, so a request for more than RAM fails at once, whatever its size).
   */
  commit(r: Region, la: number, size: number, pte: number): boolean {
    const first = Math.floor(la / 4096), last = Math.ceil((la + size) / 4096);
    if (last - first - this.committedIn(r, la, size) > this.#frames.available) return false;
    // From here the range has at most `available` uncommitted pages plus the committed ones: the
    // loop is bounded by RAM, not by the size asked for.
    for (let v = first; v < last; v++) {
      let c = r.committed.get(v);
      if (!c) {
        const pfn = this.#frames.alloc();
        this.#proc.memory.writePhysical(pfn * 4096, ZERO_PAGE);
        c = { pfn };
        r.committed.set(v, c);
      }
      if (pte < 0) this.pageTable.unmap(v);
      else this.pageTable.map(v, c.pfn, pte);
    }
    return true;
  }

  /** How many pages holding a byte of [la, la+size) are committed in `r` (iterating whichever is smaller). */
  committedIn(r: Region, la: number, size: number): number {
    const first = Math.floor(la / 4096), last = Math.ceil((la + size) / 4096);
    if (last - first <= r.committed.size) {
      let n = 0;
      for (let v = first; v < last; v++) if (r.committed.has(v)) n++;
      return n;
    }
    let n = 0;
    for (const v of r.committed.keys()) if (v >= first && v < last) n++;
    return n;
  }

  /** Decommit private pages (frames freed); visits only committed pages, whatever the range's size. */
  decommit(r: Region, la: number, size: number): void {
    const first = Math.floor(la / 4096), last = Math.ceil((la + size) / 4096);
    const vpns = last - first <= r.committed.size ? range(first, last) : [...r.committed.keys()].filter((v) => v >= first && v < last);
    for (const v of vpns) {
      const c = r.committed.get(v);
      if (!c) continue;
      this.pageTable.unmap(v);
      this.#frames.free(c.pfn);
      r.committed.delete(v);
    }
  }

  /**
   * Split region `r` at page-aligned `at` (strictly inside it) into two regions of the same kind,
   * each keeping its committed pages and mappings, with the owners given (Linux's VMAs each carry
   * their own protection). Returns [lower, upper].
   * @throws {OsError} VA_NOT_RESERVED, BAD_SPLIT.
   */
  split(r: Region, at: number, lowerOwner: object | null, upperOwner: object | null): [Region, Region] {
    const i = this.#regions.indexOf(r);
    if (i < 0) throw new OsError('VA_NOT_RESERVED', 'region is not reserved in this process');
    if (at % 4096 !== 0 || at <= r.base || at >= r.base + r.size) throw new OsError('BAD_SPLIT', `0x${at.toString(16)} is no page boundary inside the region at 0x${r.base.toString(16)}`);
    const lower: Region = { base: r.base, size: at - r.base, kind: r.kind, committed: new Map(), owner: lowerOwner };
    const upper: Region = { base: at, size: r.base + r.size - at, kind: r.kind, committed: new Map(), owner: upperOwner };
    for (const [v, c] of r.committed) (v * 4096 < at ? lower : upper).committed.set(v, c);
    this.#regions.splice(i, 1, lower, upper);
    return [lower, upper];
  }

  /** Release a whole region (private: frees its frames; enclave: only the VA range and PTEs). */
  release(r: Region): void {
    const i = this.#regions.indexOf(r);
    if (i < 0) throw new OsError('VA_NOT_RESERVED', 'region is not reserved in this process');
    if (r.kind === 'private') this.decommit(r, r.base, r.size);
    else this.unmapPages(r.base, r.size);
    this.#regions.splice(i, 1);
  }

  /** Remove every present PTE of the pages of [la, la+size), visiting only what is mapped when the range is larger; frames stay committed. */
  unmapPages(la: number, size: number): void {
    const first = Math.floor(la / 4096), last = Math.ceil((la + size) / 4096);
    const pt = this.pageTable;
    if (last - first <= pt.size) {
      for (let v = first; v < last; v++) pt.unmap(v);
      return;
    }
    const mapped: number[] = [];
    for (const [v] of pt.entries()) if (v >= first && v < last) mapped.push(v);
    for (const v of mapped) pt.unmap(v);
  }

  /** The program's own load: user mode through the page table. Throws ArchFault(#PF) when unmapped. */
  read(la: number, len: number): Uint8Array {
    return this.#proc.memory.readVirtual(this.pageTable, la, len, 3);
  }
  readInto(la: number, out: Uint8Array): void {
    this.#proc.memory.readVirtualInto(this.pageTable, la, out, 3);
  }
  /** The program's own store. */
  write(la: number, data: Uint8Array): void {
    this.#proc.memory.writeVirtual(this.pageTable, la, data, 3);
  }

  /** Can user mode read (or write) every byte of [la, la+len)? */
  accessible(la: number, len: number, write: boolean): boolean {
    if (!Number.isSafeInteger(la) || la < 0 || !Number.isSafeInteger(len) || len < 0) return false;
    return this.accessiblePrefix(la, len, write) === len;
  }

  /**
   * How many bytes of [la, la+len) user mode can read (or write) from `la` on, up to the first page
   * it cannot: the extent a copy gets through before it faults. Visits at most the mapped pages.
   */
  accessiblePrefix(la: number, len: number, write: boolean): number {
    if (!Number.isSafeInteger(la) || !Number.isSafeInteger(len) || la < 0 || len <= 0) return 0;
    const end = la + len;
    for (let v = Math.floor(la / 4096); v * 4096 < end; v++) {
      const e = this.pageTable.lookup(v);
      if (!e || !(e.flags & PTE.U) || (write && !(e.flags & PTE.W))) return Math.max(0, v * 4096 - la);
    }
    return len;
  }
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first }, (_, i) => first + i);
}
