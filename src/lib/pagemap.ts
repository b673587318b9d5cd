/**
 * A sparse map from page numbers to page-sized facts (a frame number, a PTE): the radix layout of
 * an x86 page table's last level. Page numbers are grouped 512 to a table (2 MiB of address space,
 * as one page-table page covers); only tables with an entry exist. An entry costs 8 bytes, and
 * neighbouring pages share a table: far less memory and time than a Map entry per page, which a
 * 256 MiB enclave would need 65,536 of (design-notes: memory per enclave byte).
 */
import { LibError } from './errors.js';

const TABLE_BITS = 9;
const TABLE_SIZE = 1 << TABLE_BITS; // 512 entries
const TABLE_MASK = TABLE_SIZE - 1;

interface Table {
  /** value + 1 per entry; 0 = no entry. */
  readonly slots: Float64Array;
  count: number;
}

export class PageMap {
  readonly #tables = new Map<number, Table>();
  #size = 0;
  /** The table used last (consecutive pages hit the same table). */
  #lastKey = -1;
  #last: Table | null = null;

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  #table(key: number): Table | null {
    if (key === this.#lastKey) return this.#last;
    const t = this.#tables.get(key) ?? null;
    if (t !== null) {
      this.#lastKey = key;
      this.#last = t;
    }
    return t;
  }

  /** The value at page `pn`, or -1 when there is none. */
  get(pn: number): number {
    if (!Number.isSafeInteger(pn) || pn < 0) return -1;
    const t = this.#table(Math.floor(pn / TABLE_SIZE));
    if (t === null) return -1;
    return t.slots[pn & TABLE_MASK]! - 1;
  }

  has(pn: number): boolean {
    return this.get(pn) >= 0;
  }

  /** Set page `pn` (a non-negative safe integer) to `value` (a non-negative safe integer below 2^53 − 1). */
  set(pn: number, value: number): void {
    if (!Number.isSafeInteger(pn) || pn < 0) throw new LibError('PAGEMAP_KEY', `bad page number ${pn}`);
    if (!Number.isSafeInteger(value) || value < 0 || value >= Number.MAX_SAFE_INTEGER) throw new LibError('PAGEMAP_VALUE', `bad page value ${value}`);
    const key = Math.floor(pn / TABLE_SIZE);
    let t = this.#table(key);
    if (t === null) {
      t = { slots: new Float64Array(TABLE_SIZE), count: 0 };
      this.#tables.set(key, t);
      this.#lastKey = key;
      this.#last = t;
    }
    const i = pn & TABLE_MASK;
    if (t.slots[i] === 0) {
      t.count++;
      this.#size++;
    }
    t.slots[i] = value + 1;
  }

  /** Remove page `pn`; false when it had no entry. */
  delete(pn: number): boolean {
    if (!Number.isSafeInteger(pn) || pn < 0) return false;
    const key = Math.floor(pn / TABLE_SIZE);
    const t = this.#table(key);
    if (t === null) return false;
    const i = pn & TABLE_MASK;
    if (t.slots[i] === 0) return false;
    t.slots[i] = 0;
    t.count--;
    this.#size--;
    if (t.count === 0) {
      this.#tables.delete(key);
      if (this.#lastKey === key) {
        this.#lastKey = -1;
        this.#last = null;
      }
    }
    return true;
  }

  /** Entries in ascending page order (a snapshot: the map may be changed while iterating). */
  *entries(): IterableIterator<[number, number]> {
    const keys = [...this.#tables.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const t = this.#tables.get(key);
      if (!t) continue;
      const slots = t.slots.slice();
      for (let i = 0; i < TABLE_SIZE; i++) if (slots[i] !== 0) yield [key * TABLE_SIZE + i, slots[i]! - 1];
    }
  }
}
