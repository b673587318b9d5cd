/**
 * Page tables. The processor translates every linear address through the current page table
 * (CR3) before SGX's own checks (specs/sgx.md §8.1: SGX checks run after the normal walk). The OS
 * writes the entries; the processor only reads them. A page-table entry here is the leaf of the
 * 4-level walk: present, writable, user, no-execute and the physical frame number.
 */
import { ArchError } from './errors.js';
import { PageMap } from '../lib/pagemap.js';

export const PTE = {
  W: 1,
  U: 2,
  NX: 4,
} as const;

/** A translation result: physical frame number and PTE flags. */
export interface Translation {
  readonly pfn: number;
  readonly flags: number;
}

/** The highest canonical user-half linear address + 1 (48-bit linear addresses, lower half). */
export const USER_ADDRESS_LIMIT = 2 ** 47;

export class PageTable {
  /** vpn → pfn * 8 + flags, in 512-entry tables as the last level of an x86 walk. */
  readonly #entries = new PageMap();
  /** A direct-mapped cache of recent lookups (the model's TLB for page-table walks; invisible to software). */
  /** Cache keys: NaN marks an empty slot (it equals no page number, not even one a caller passes in error). */
  readonly #ck = new Float64Array(256).fill(NaN);
  readonly #cv = new Float64Array(256);
  /** Incremented on every change: the processor revalidates cached mappings when it moves. */
  #generation = 0;
  /**
   * Incremented when a present entry is removed or changed (not when one is added where there was
   * none): a translation cached for a present page stays true while it does not move, so the
   * processor's entry caches (TCS, SSA, the memory regions' pages) follow this one, and an OS that
   * maps new pages (EAUG at a fault, one page at a time) does not make the next entry walk a whole
   * memory again.
   */
  #revocations = 0;
  /** An identity-mapped table (linear = physical below `identityLimit`), as used by the model kernel. */
  readonly identityLimit: number;
  readonly #identityLimit: number; // what the walk reads (the public field can be redefined on an instance)
  readonly name: string;

  constructor(name: string, identityLimit = 0) {
    this.name = name;
    this.identityLimit = identityLimit;
    this.#identityLimit = identityLimit;
  }

  // The processor reads a table through these (its private fields, not its methods): a getter or a
  // method defined on an instance cannot run while the processor checks an entry or walks a page.
  /** The generation of `pt` (as the getter, without it). */
  static generationOf(pt: PageTable): number {
    return pt.#generation;
  }
  /** The revocation count of `pt` (see #revocations). */
  static revocationsOf(pt: PageTable): number {
    return pt.#revocations;
  }
  /** `pt.identityLimit`, without the public field (which can be redefined on an instance). */
  static identityLimitOf(pt: PageTable): number {
    return pt.#identityLimit;
  }
  /** `pt.entry(vpn)`, without the method. */
  static entryOf(pt: PageTable, vpn: number): number {
    return pt.#entry(vpn);
  }

  /** A table made by this class (not a subclass, not an object posing as one): what CR3 may hold. */
  static isGenuine(x: unknown): x is PageTable {
    return typeof x === 'object' && x !== null && #entries in x && Object.getPrototypeOf(x) === PageTable.prototype;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Map linear page `vpn` to physical frame `pfn` with `flags` (PTE.W | PTE.U | PTE.NX). */
  map(vpn: number, pfn: number, flags: number): void {
    if (!Number.isSafeInteger(vpn) || vpn < 0 || vpn * 4096 >= USER_ADDRESS_LIMIT) throw new ArchError('PT_VPN', `bad linear page number ${vpn}`);
    if (!Number.isSafeInteger(pfn) || pfn < 0) throw new ArchError('PT_PFN', `bad frame number ${pfn}`);
    if (this.#entries.get(vpn) >= 0) this.#revocations++;
    this.#entries.set(vpn, pfn * 8 + (flags & 7));
    this.#ck[vpn & 255] = NaN;
    this.#generation++;
  }

  unmap(vpn: number): boolean {
    const had = this.#entries.delete(vpn);
    this.#ck[vpn & 255] = NaN;
    if (had) {
      this.#generation++;
      this.#revocations++;
    }
    return had;
  }

  /** Change the flags of a present entry; false when not present. */
  protect(vpn: number, flags: number): boolean {
    const e = this.#entries.get(vpn);
    if (e < 0) return false;
    this.#entries.set(vpn, Math.floor(e / 8) * 8 + (flags & 7));
    this.#ck[vpn & 255] = NaN;
    this.#generation++;
    this.#revocations++;
    return true;
  }

  /** The raw entry (pfn * 8 + flags) or -1 when not present. Hot path: no allocation. */
  entry(vpn: number): number {
    return this.#entry(vpn);
  }
  #entry(vpn: number): number {
    if (this.#identityLimit > 0) return vpn * 4096 < this.#identityLimit ? vpn * 8 + PTE.W : -1;
    const i = vpn & 255; // vpn % 256 (a non-negative safe integer: & keeps its low bits, without a floating-point modulo)
    if (this.#ck[i] === vpn) return this.#cv[i]!;
    const e = this.#entries.get(vpn);
    if (e < 0) return -1;
    this.#ck[i] = vpn;
    this.#cv[i] = e;
    return e;
  }

  lookup(vpn: number): Translation | null {
    const e = this.entry(vpn);
    return e < 0 ? null : { pfn: Math.floor(e / 8), flags: e & 7 };
  }

  /** Number of present entries (identity tables report 0). */
  get size(): number {
    return this.#entries.size;
  }

  /** Present entries in ascending vpn order (for inspection and tests). */
  *entries(): IterableIterator<[number, Translation]> {
    for (const [k, e] of this.#entries.entries()) yield [k, { pfn: Math.floor(e / 8), flags: e & 7 }];
  }
}
