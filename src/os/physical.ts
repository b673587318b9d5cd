/**
 * Physical memory management: a RAM frame allocator and an EPC page allocator with commitment
 * (reservations). The kernel owns both; every allocation is paired with a free on every path, and
 * the free counts are observable so tests can prove that nothing leaks.
 */
import { OsError } from './errors.js';

/**
 * RAM frames [firstPfn, limitPfn): a free stack plus a bump pointer. A frame is handed out as it was
 * left: the kernel zeroes what it allocates (Kernel.allocKernelPage, Process.commit).
 */
export class FrameAllocator {
  readonly #free: number[] = [];
  #next: number;
  readonly #limit: number;
  #inUse = 0;

  constructor(firstPfn: number, limitPfn: number) {
    this.#next = firstPfn;
    this.#limit = limitPfn;
  }

  /** A free frame number, or -1 when RAM is exhausted. */
  alloc(): number {
    const f = this.#free.pop();
    if (f !== undefined) {
      this.#inUse++;
      return f;
    }
    if (this.#next >= this.#limit) return -1;
    this.#inUse++;
    return this.#next++;
  }

  free(pfn: number): void {
    this.#free.push(pfn);
    this.#inUse--;
  }

  get inUse(): number {
    return this.#inUse;
  }

  /** Frames `alloc` can still hand out (check before a multi-frame allocation instead of unwinding one). */
  get available(): number {
    return this.#free.length + (this.#limit - this.#next);
  }
}

/**
 * The EPC page allocator. Pages can be committed to an owner in advance (CreateEnclave's
 * dwInitialCommitment): committed pages are not available to others until used or released.
 */
export class EpcAllocator {
  readonly base: number;
  readonly pages: number;
  readonly #free: number[];
  #committed = 0;

  constructor(base: number, pages: number) {
    this.base = base;
    this.pages = pages;
    // Hand out low addresses first (pop from the end).
    this.#free = Array.from({ length: pages }, (_, i) => base + (pages - 1 - i) * 4096);
    this.#isFree = new Uint8Array(pages).fill(1);
  }

  /** Per page: 1 while it is on the free list (a page given back twice would be handed out twice). */
  readonly #isFree: Uint8Array;

  /** Free pages (including committed ones not yet used). */
  get freePages(): number {
    return this.#free.length;
  }
  /** Pages that an allocation without a commitment can still get. */
  get availablePages(): number {
    return this.#free.length - this.#committed;
  }
  get committedPages(): number {
    return this.#committed;
  }

  /** Set aside `n` pages for one owner. False (nothing changed) when the EPC cannot cover them. */
  commit(n: number): boolean {
    if (n < 0 || !Number.isInteger(n)) throw new OsError('EPC_COMMIT', `bad commitment ${n}`);
    if (n > this.availablePages) return false;
    this.#committed += n;
    return true;
  }

  /** Return unused commitment. */
  uncommit(n: number): void {
    if (n < 0 || n > this.#committed) throw new OsError('EPC_COMMIT', `uncommit ${n} of ${this.#committed}`);
    this.#committed -= n;
  }

  /** Take a page, from the owner's commitment when `fromCommitment`. Returns the physical address or -1. */
  alloc(fromCommitment: boolean): number {
    if (fromCommitment) {
      if (this.#committed === 0) throw new OsError('EPC_COMMIT', 'allocation from an empty commitment');
      this.#committed--;
    } else if (this.availablePages === 0) return -1;
    const pa = this.#free.pop()!;
    this.#isFree[(pa - this.base) / 4096] = 0;
    return pa;
  }

  /** Give a page back; `toCommitment` returns it to the owner's commitment it was taken from. */
  free(pa: number, toCommitment = false): void {
    if (pa < this.base || pa >= this.base + this.pages * 4096 || pa % 4096 !== 0) throw new OsError('EPC_FREE', `0x${pa.toString(16)} is not an EPC page`);
    const i = (pa - this.base) / 4096;
    if (this.#isFree[i]) throw new OsError('EPC_FREE', `0x${pa.toString(16)} is free already (a page given back twice)`);
    this.#isFree[i] = 1;
    this.#free.push(pa);
    if (toCommitment) this.#committed++;
  }
}
