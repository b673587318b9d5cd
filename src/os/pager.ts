/**
 * EPC paging in the kernel (os-api.md §4.7, specs/sgx.md §10.1): pages of enclaves are written
 * out to RAM (EBLOCK, ETRACK, EWB into a backing page and a PCMD, the version in a VA slot) and
 * loaded back (ELDU) when the enclave touches them again (the #PF handler), or on request.
 *
 * As Linux does: each enclave has its own VA pages, one per 512 of its pages (the first at
 * ECREATE, when the kernel reclaims); a page is unmapped before EBLOCK; EWB is tried, then ETRACK
 * and EWB again, then every processor in enclave mode is interrupted (the model's IPIs do not pick
 * the enclave's) and the page stays blocked until a later attempt. With `reclaim` on, an
 * allocation that finds the EPC full evicts the oldest reclaimable page (REG, TCS and trimmed pages, oldest
 * first; VA pages are never reclaimed), so enclaves may together be larger than the EPC. An
 * initialized enclave none of whose pages is left in the EPC gives its SECS up too (Linux's step
 * 5), and loads it back first.
 */
import { PT, SGX, VECTOR, ArchFault, type LogicalProcessor } from '../arch/index.js';
import { OsError } from './errors.js';
import type { Kernel, KernelEnclave } from './kernel.js';

/** Where an evicted page is: its encrypted contents and PCMD in kernel RAM, its version's VA slot, its PTE flags (−1: it was not mapped). */
export interface EvictedPage {
  readonly src: number;
  readonly pcmd: number;
  readonly slot: number;
  readonly pte: number;
}

/** A VA page of an enclave and which of its 512 slots the kernel has handed out. */
export interface VaPage {
  readonly pa: number;
  readonly used: Uint8Array;
  free: number;
}

/** What the pager has done since boot. */
export interface PagingStats {
  evicted: number;
  loaded: number;
  /** #PFs it resolved by loading a page. */
  faults: number;
  /** Loads that failed their MAC check (a backing page or PCMD changed, or replayed). */
  macFailures: number;
  /** SECS pages evicted (an initialized enclave with none of its pages left in the EPC), and loaded back. */
  secsEvicted: number;
  secsLoaded: number;
}

const PCMD_SIZE = 128;

export class EpcPager {
  readonly #k: Kernel;
  /** Reclaimable pages, oldest first (kept only when the kernel reclaims; entries whose page left since are skipped). */
  #lru: [KernelEnclave, number][] = [];
  #lruHead = 0;
  readonly #pcmdFree: number[] = [];
  readonly stats: PagingStats = { evicted: 0, loaded: 0, faults: 0, macFailures: 0, secsEvicted: 0, secsLoaded: 0 };

  constructor(k: Kernel) {
    this.#k = k;
  }

  /** Page `la` of `enc` may be reclaimed from now on (it was added or loaded): remembered when the kernel reclaims. */
  noteResident(enc: KernelEnclave, la: number): void {
    if (this.#k.reclaim) this.#lru.push([enc, la]);
  }

  /** A VA slot of `enc` (a new VA page when its pages are full), or −1 when the EPC has no page for one. */
  #takeSlot(enc: KernelEnclave): number {
    let va = enc.vaPages.find((v) => v.free > 0);
    if (va === undefined) {
      if (!this.addVaPage(enc)) return -1;
      va = enc.vaPages[enc.vaPages.length - 1]!;
    }
    const i = va.used.indexOf(0);
    va.used[i] = 1;
    va.free--;
    return va.pa + i * 8;
  }

  #releaseSlot(enc: KernelEnclave, slot: number): void {
    const pa = slot - (slot % 4096);
    const va = enc.vaPages.find((v) => v.pa === pa);
    if (va === undefined) return;
    const i = (slot - pa) / 8;
    if (va.used[i]) {
      va.used[i] = 0;
      va.free++;
    }
  }

  /** EPA a new VA page for `enc` (an EPC page taken with reclaim); false when none could be had. */
  addVaPage(enc: KernelEnclave): boolean {
    const pa = this.#k.allocEpc(false);
    if (pa < 0) return false;
    const st = this.#k.sgx.epa(pa);
    if (st !== SGX.SUCCESS) {
      this.#k.epc.free(pa);
      throw new OsError('EPA_FAILED', `EPA returned ${st}`);
    }
    enc.vaPages.push({ pa, used: new Uint8Array(512), free: 512 });
    return true;
  }

  /** Entries in the reclaim order (pages that left since included, until reclaim or teardown drops them). */
  get queued(): number {
    return this.#lru.length - this.#lruHead;
  }

  /** RAM pages held for PCMDs (32 each; kept once allocated, as a pool). */
  get pcmdPoolPages(): number {
    return this.#pcmdPool;
  }
  #pcmdPool = 0;

  #takePcmd(): number {
    const p = this.#pcmdFree.pop();
    if (p !== undefined) return p;
    const page = this.#k.allocKernelPage();
    this.#pcmdPool++;
    for (let o = 4096 - PCMD_SIZE; o > 0; o -= PCMD_SIZE) this.#pcmdFree.push(page + o);
    return page;
  }

  /**
   * Evict page `la` of `enc`: 'evicted', or 'busy' when a processor that entered the enclave before
   * the tracking cycle is still inside (it has been interrupted; the page stays blocked and
   * unmapped, and the next attempt, or the enclave's next fault on it, completes the eviction).
   * @throws {OsError} PAGE_NOT_PRESENT (not a resident page of the enclave), NOT_RECLAIMABLE (its
   * SECS, a VA page), NO_EPC (no VA slot could be had), OUT_OF_RAM (no backing page), EWB_FAILED,
   * ENCLAVE_DELETED; {ArchFault} a leaf's fault (#MC on a locked machine), its slot and buffers given back.
   */
  evict(enc: KernelEnclave, la: number): 'evicted' | 'busy' {
    const k = this.#k;
    if (enc.state === 'deleted') throw new OsError('ENCLAVE_DELETED', `the enclave at 0x${enc.base.toString(16)} was deleted`);
    const pa = enc.pages.get(la);
    if (pa === undefined) throw new OsError('PAGE_NOT_PRESENT', `the enclave at 0x${enc.base.toString(16)} has no page in the EPC at 0x${la.toString(16)}`);
    const type = k.processor.inspect.epcm(pa).pageType;
    if (type !== PT.REG && type !== PT.TCS && type !== PT.TRIM) throw new OsError('NOT_RECLAIMABLE', `the page at 0x${la.toString(16)} has type ${type}: only REG, TCS and TRIM pages are reclaimed`);
    // The buffers first (an allocation that fails then leaves nothing taken), then the VA slot.
    const src = k.allocKernelPage();
    let pcmd = -1, slot = -1;
    try {
      pcmd = this.#takePcmd();
      slot = this.#takeSlot(enc);
      if (slot < 0) throw new OsError('NO_EPC', 'no EPC page for a VA page');
    } catch (e) {
      this.#giveBack(enc, slot, src, pcmd);
      throw e;
    }
    // Unmap first (no new user translation), then block, track and write back.
    const vpn = la / 4096;
    const pt = enc.process.pageTable;
    // (Only a PTE that maps this page is the enclave's: on Linux another enclave may be mapped at the same address.)
    const entry = pt.entry(vpn) >= 0 && Math.floor(pt.entry(vpn) / 8) === pa / 4096 ? pt.entry(vpn) : -1;
    const pte = entry < 0 ? -1 : entry % 8;
    if (entry >= 0) pt.unmap(vpn);
    let status: number;
    try {
      status = k.ring0(() => {
        const b = k.sgx.eblock(pa);
        if (b !== SGX.SUCCESS && b !== SGX.BLKSTATE) return b;
        let st = k.sgx.ewb(pa, slot, src, pcmd);
        if (st === SGX.NOT_TRACKED) {
          k.sgx.etrack(enc.secs);
          st = k.sgx.ewb(pa, slot, src, pcmd);
        }
        return st;
      });
    } catch (e) {
      // A fault (a locked memory controller machine-checks every ENCLS): the slot and buffers go
      // back; a page EBLOCK blocked stays blocked (recorded, unmapped), another is mapped again.
      this.#giveBack(enc, slot, src, pcmd);
      if (k.processor.inspect.epcm(pa).blocked) {
        if (!enc.blocked.has(la)) enc.blocked.set(la, pte);
      } else if (entry >= 0) pt.map(vpn, pa / 4096, pte);
      throw e;
    }
    if (status === SGX.SUCCESS || status === SGX.VA_SLOT_OCCUPIED) {
      // (A page blocked by an earlier attempt was unmapped then: its flags were kept.)
      const flags = enc.blocked.get(la) ?? pte;
      enc.pages.delete(la);
      enc.blocked.delete(la);
      enc.evicted.set(la, { src, pcmd, slot, pte: flags });
      k.epc.free(pa);
      this.stats.evicted++;
      // Linux's step 5 (os-api.md §4.7): an initialized enclave with no page left in the EPC gives its SECS up too.
      if (enc.state === 'initialized' && enc.pages.size === 0 && enc.secsEvicted === null) this.#evictSecs(enc);
      return 'evicted';
    }
    // Not written back: the slot and buffers go back.
    this.#giveBack(enc, slot, src, pcmd);
    if (status === SGX.NOT_TRACKED) {
      // The IPIs: every processor inside an enclave takes an interrupt (an AEX) at its next chance.
      for (const lp of k.processor.lps) if (lp.inEnclaveMode) lp.injectInterrupt();
      if (!enc.blocked.has(la)) enc.blocked.set(la, pte);
      this.noteResident(enc, la); // (reclaim tries it again later)
      return 'busy';
    }
    if (entry >= 0) pt.map(vpn, pa / 4096, pte); // (EBLOCK refused it: nothing changed but the mapping, restored)
    throw new OsError('EWB_FAILED', `evicting the page at 0x${la.toString(16)}: SGX status ${status}`);
  }

  /** An eviction's VA slot (−1: none), backing page and PCMD (−1: none) given back. */
  #giveBack(enc: KernelEnclave, slot: number, src: number, pcmd: number): void {
    if (slot >= 0) this.#releaseSlot(enc, slot);
    this.#k.ram.free(src / 4096);
    if (pcmd >= 0) this.#pcmdFree.push(pcmd);
  }

  /** EWB of `enc`'s SECS (no EBLOCK or ETRACK: a SECS needs neither); left resident when it cannot be had (no slot or buffer, a refusal). */
  #evictSecs(enc: KernelEnclave): void {
    const k = this.#k;
    let src = -1, pcmd = -1, slot = -1;
    try {
      src = k.allocKernelPage();
      pcmd = this.#takePcmd();
      slot = this.#takeSlot(enc);
      if (slot < 0) throw new OsError('NO_EPC', 'no EPC page for a VA page');
      const st = k.sgx.ewb(enc.secs, slot, src, pcmd);
      if (st !== SGX.SUCCESS && st !== SGX.VA_SLOT_OCCUPIED) throw new OsError('EWB_FAILED', `evicting the SECS: SGX status ${st}`);
    } catch (e) {
      if (src >= 0) this.#giveBack(enc, slot, src, pcmd);
      if (e instanceof OsError || (e instanceof ArchFault && e.vector !== VECTOR.MC)) return; // (the SECS stays; nothing else depends on its eviction)
      throw e;
    }
    k.epc.free(enc.secs);
    enc.secs = -1;
    enc.secsEvicted = { src, pcmd, slot, pte: -1 };
    this.stats.secsEvicted++;
  }

  /**
   * Load `enc`'s evicted SECS back (ELDU; os-api.md §4.7: before any page of it). Returns the SGX
   * status: SGX_SUCCESS, or SGX_MAC_COMPARE_FAIL (it stays evicted).
   * @throws {OsError} NO_EPC; {ArchFault} ELDU's fault, the destination page given back.
   */
  loadSecs(enc: KernelEnclave): number {
    const k = this.#k;
    const ev = enc.secsEvicted;
    if (ev === null) return SGX.SUCCESS;
    const dest = k.allocEpc(false);
    if (dest < 0) throw new OsError('NO_EPC', 'no EPC page to load the SECS into');
    let st: number;
    try {
      st = k.sgx.eldu(0, ev.src, ev.pcmd, 0, dest, ev.slot);
    } catch (e) {
      k.epc.free(dest);
      throw e;
    }
    if (st !== SGX.SUCCESS) {
      k.epc.free(dest);
      if (st === SGX.MAC_COMPARE_FAIL) this.stats.macFailures++;
      return st;
    }
    enc.secs = dest;
    enc.secsEvicted = null;
    this.#giveBack(enc, ev.slot, ev.src, ev.pcmd);
    this.stats.secsLoaded++;
    return SGX.SUCCESS;
  }

  /**
   * Load evicted page `la` of `enc` back (ELDU) into a free EPC page (reclaiming another when the
   * EPC is full) and map it as it was. Returns the SGX status: SGX_SUCCESS, or
   * SGX_MAC_COMPARE_FAIL when its backing page or PCMD no longer verify (the page stays evicted).
   * @throws {OsError} PAGE_NOT_EVICTED, NO_EPC, ENCLAVE_DELETED; {ArchFault} ELDU's fault (a PCMD
   * with a reserved SECINFO bit: #GP), its destination page given back.
   */
  load(enc: KernelEnclave, la: number): number {
    const k = this.#k;
    if (enc.state === 'deleted') throw new OsError('ENCLAVE_DELETED', `the enclave at 0x${enc.base.toString(16)} was deleted`);
    const ev = enc.evicted.get(la);
    if (ev === undefined) throw new OsError('PAGE_NOT_EVICTED', `the enclave at 0x${enc.base.toString(16)} has no evicted page at 0x${la.toString(16)}`);
    const dest = k.allocEpc(false); // (first: its reclaim may take the enclave's last page, and its SECS with it)
    if (dest < 0) throw new OsError('NO_EPC', 'no EPC page to load the page into');
    if (enc.secsEvicted !== null) {
      let s: number;
      try {
        s = this.loadSecs(enc); // the SECS next: ELDU names it (no page of the enclave is left for its reclaim to take)
      } catch (e) {
        k.epc.free(dest);
        throw e;
      }
      if (s !== SGX.SUCCESS) {
        k.epc.free(dest);
        return s;
      }
    }
    let st: number;
    try {
      st = k.sgx.eldu(la, ev.src, ev.pcmd, enc.secs, dest, ev.slot);
    } catch (e) {
      k.epc.free(dest); // (a faulting leaf changed nothing)
      throw e;
    }
    if (st !== SGX.SUCCESS) {
      k.epc.free(dest);
      if (st === SGX.MAC_COMPARE_FAIL) this.stats.macFailures++;
      return st;
    }
    enc.evicted.delete(la);
    enc.pages.set(la, dest);
    this.#releaseSlot(enc, ev.slot);
    k.ram.free(ev.src / 4096);
    this.#pcmdFree.push(ev.pcmd);
    if (ev.pte >= 0) enc.process.pageTable.map(la / 4096, dest / 4096, ev.pte);
    this.noteResident(enc, la);
    this.stats.loaded++;
    return SGX.SUCCESS;
  }

  /**
   * The EPC address of page `la` of `enc`, brought back into the EPC first when it is out (an
   * eviction still under way finished, an evicted page loaded); −1 when it cannot be had (not the
   * enclave's, busy, no EPC, a MAC failure, a leaf's fault). #MC goes on.
   */
  resident(enc: KernelEnclave, la: number): number {
    try {
      if (enc.blocked.has(la) && this.evict(enc, la) !== 'evicted') return -1;
      if (enc.evicted.has(la) && this.load(enc, la) !== SGX.SUCCESS) return -1;
    } catch (e) {
      if (e instanceof OsError || (e instanceof ArchFault && e.vector !== VECTOR.MC)) return -1;
      throw e;
    }
    return enc.pages.get(la) ?? -1;
  }

  /** Evict up to `n` of the oldest reclaimable pages; returns how many were evicted. */
  reclaim(n: number): number {
    let done = 0;
    const end = this.#lru.length; // (a page found busy goes back on the tail: not visited again in this walk)
    while (done < n && this.#lruHead < end) {
      const [enc, la] = this.#lru[this.#lruHead]!;
      this.#lru[this.#lruHead++] = undefined as unknown as [KernelEnclave, number];
      if (enc.state === 'deleted' || !enc.pages.has(la)) continue;
      try {
        if (this.evict(enc, la) === 'evicted') done++;
      } catch (e) {
        if (!(e instanceof OsError)) throw e;
      }
    }
    if (this.#lruHead > 1024 && this.#lruHead * 2 > this.#lru.length) {
      this.#lru.splice(0, this.#lruHead);
      this.#lruHead = 0;
    }
    return done;
  }

  /**
   * The kernel's #PF handler for enclave pages: a fault at an evicted (or half-evicted) page of an
   * enclave mapped in the faulting processor's address space loads it back. False for every other
   * fault (it goes on to the host as it is), and when the page cannot be loaded.
   */
  onPageFault(lp: LogicalProcessor, address: number, errorCode = -1): boolean {
    const k = this.#k;
    const la = address - (address % 4096);
    const enc = k.enclaveMappedAt(lp.cr3, la, errorCode);
    // (Only a page out of the EPC, or blocked by an eviction, is the pager's to bring back; one that cannot come now: the #PF goes on to the host.)
    if (enc === null || (!enc.blocked.has(la) && !enc.evicted.has(la)) || this.resident(enc, la) < 0) return false;
    this.stats.faults++;
    return true;
  }

  /** At teardown (after the enclave's pages, VA pages and SECS are removed): its backing pages go, and its entries in the reclaim order. */
  release(enc: KernelEnclave): void {
    const k = this.#k;
    for (const ev of enc.evicted.values()) {
      k.ram.free(ev.src / 4096);
      this.#pcmdFree.push(ev.pcmd);
    }
    enc.evicted.clear();
    if (enc.secsEvicted !== null) {
      k.ram.free(enc.secsEvicted.src / 4096);
      this.#pcmdFree.push(enc.secsEvicted.pcmd);
      enc.secsEvicted = null;
    }
    if (this.#lru.length !== 0) {
      this.#lru = this.#lru.slice(this.#lruHead).filter((x) => x !== undefined && x[0] !== enc);
      this.#lruHead = 0;
    }
  }
}
