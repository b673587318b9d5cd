/**
 * The untrusted kernel: physical memory, processes, the EPC allocator and enclave objects, and the
 * only code in Witness that executes ENCLS (through `SgxLeaves`, one thin wrapper per leaf).
 * It runs on logical processor 0 at CPL 0 with the identity-mapped kernel page table while it
 * services a call, and returns the processor to the caller's state afterwards.
 */
import { Processor, ENCLS, SGX, PT, PAGEINFO, SECINFO, SECS, ATTRIBUTES, type Attributes, type LogicalProcessor, type PageTable, ArchFault } from '../arch/index.js';
import { u64le, writeU64le } from '../lib/bytes.js';
import { PageMap } from '../lib/pagemap.js';
import { FrameAllocator, EpcAllocator } from './physical.js';
import { Process } from './process.js';
import { OsError } from './errors.js';
import { EpcPager, type EvictedPage, type VaPage } from './pager.js';

const ZERO_PAGE = new Uint8Array(4096);
const SECS_ATTRIBUTES = SECS.field('ATTRIBUTES');

/** Lifecycle of an enclave object in the kernel (style rule 7; Windows' CREATED/INITIALIZED, plus deleted). */
export type KernelEnclaveState = 'created' | 'initialized' | 'deleted';

/**
 * An enclave's pages: enclave linear page address → EPC physical address. Kept as page tables are
 * (512-entry tables, lib/pagemap.ts): one 8-byte slot per page instead of a Map entry.
 */
export class EnclavePages {
  readonly #map = new PageMap();
  get size(): number {
    return this.#map.size;
  }
  get(la: number): number | undefined {
    if (la % 4096 !== 0) return undefined;
    const pa = this.#map.get(la / 4096);
    return pa < 0 ? undefined : pa;
  }
  has(la: number): boolean {
    return la % 4096 === 0 && this.#map.get(la / 4096) >= 0;
  }
  set(la: number, pa: number): void {
    this.#map.set(la / 4096, pa);
  }
  delete(la: number): boolean {
    return la % 4096 === 0 && this.#map.delete(la / 4096);
  }
  /** [linear address, EPC address] in ascending address order (a snapshot per table: deleting while iterating is safe). */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (const [pn, pa] of this.#map.entries()) yield [pn * 4096, pa];
  }
  *keys(): IterableIterator<number> {
    for (const [la] of this) yield la;
  }
}

export class KernelEnclave {
  readonly process: Process;
  readonly base: number;
  readonly size: number;
  /** The enclave type the API created it with (ENCLAVE_TYPE_SGX / _SGX2). */
  readonly type: number;
  /** Physical address of the SECS page (it moves when the pager evicts the SECS and loads it back; −1 while it is evicted). */
  secs: number;
  /** The evicted SECS (the pager evicts it when none of the initialized enclave's pages is left in the EPC), or null. */
  secsEvicted: EvictedPage | null = null;
  /** SECS.ATTRIBUTES as given to ECREATE (the launch policy looks at DEBUG). */
  readonly attributes: Attributes;
  state: KernelEnclaveState = 'created';
  /** Enclave linear page address → EPC physical address. */
  readonly pages = new EnclavePages();
  /** Committed EPC pages not used yet. */
  commitment: number;
  /** Pages written out of the EPC (EWB): linear page address → where they are (the kernel's pager). */
  readonly evicted = new Map<number, EvictedPage>();
  /** Pages blocked by an eviction that could not finish yet (a thread was inside): linear page address → their PTE flags (−1: none). */
  readonly blocked = new Map<number, number>();
  /** The enclave's VA pages (paging). */
  readonly vaPages: VaPage[] = [];
  /** Pages the OS made PT_TRIM (Windows: VirtualProtect(PAGE_ENCLAVE_DECOMMIT)), until it removes them. */
  readonly trimmed = new Set<number>();
  /** The kernel keeps VA pages for it as it grows (one per 512 pages: when it reclaims, and always on Linux). */
  readonly vaPagesKept: boolean;

  constructor(process: Process, base: number, size: number, type: number, secs: number, attributes: Attributes, commitment: number, vaPagesKept = false) {
    this.vaPagesKept = vaPagesKept;
    this.process = process;
    this.base = base;
    this.size = size;
    this.type = type;
    this.secs = secs;
    this.attributes = attributes;
    this.commitment = commitment;
  }

  contains(la: number): boolean {
    return la >= this.base && la < this.base + this.size;
  }
}

/** Where SgxLeaves places PAGEINFO and its SECINFO in the scratch page (SECINFO must be 64-aligned). */
const PAGEINFO_AT = {
  LINADDR: PAGEINFO.field('LINADDR').offset,
  SRCPGE: PAGEINFO.field('SRCPGE').offset,
  SECINFO: PAGEINFO.field('SECINFO').offset,
  SECS: PAGEINFO.field('SECS').offset,
} as const;
const SECINFO_AT = 64;
const SECINFO_FLAGS_AT = SECINFO_AT + SECINFO.field('FLAGS').offset;

/** Thin wrappers over ENCLS: operands are placed in kernel scratch memory (RAM) and passed by address. */
export class SgxLeaves {
  readonly #k: Kernel;
  readonly #scratch: number;
  readonly #src: number;
  readonly #sig: number;
  readonly #tok: number;
  readonly #buf = new Uint8Array(SECINFO_AT + SECINFO.size);

  constructor(k: Kernel) {
    this.#k = k;
    this.#scratch = k.allocKernelPage();
    this.#src = k.allocKernelPage();
    this.#sig = k.allocKernelPage();
    this.#tok = k.allocKernelPage();
  }

  /** Physical address of the kernel's source-page buffer (EADD copies from here). */
  get sourcePage(): number {
    return this.#src;
  }

  /** PAGEINFO (SDM 37.10) and its SECINFO (37.11) into the scratch page, with the arch layouts' offsets. */
  #pageinfo(linaddr: number, srcpge: number, secs: number, secinfoFlags: number): void {
    const b = this.#buf;
    b.fill(0);
    writeU64le(b, PAGEINFO_AT.LINADDR, linaddr);
    writeU64le(b, PAGEINFO_AT.SRCPGE, srcpge);
    writeU64le(b, PAGEINFO_AT.SECINFO, this.#scratch + SECINFO_AT);
    writeU64le(b, PAGEINFO_AT.SECS, secs);
    writeU64le(b, SECINFO_FLAGS_AT, secinfoFlags);
    this.#k.processor.memory.writePhysical(this.#scratch, b);
  }

  ecreate(secs: Uint8Array, epcPage: number): void {
    this.#k.processor.memory.writePhysical(this.#src, secs);
    this.#pageinfo(0, this.#src, 0, PT.SECS << 8);
    this.#k.ring0((lp) => lp.encls(ENCLS.ECREATE, this.#scratch, epcPage));
  }

  /** EADD from physical source page `srcPa` (4K-aligned RAM); returns the SGX status (EADD reports failures as faults). */
  eadd(srcPa: number, linaddr: number, secinfoFlags: number, secs: number, epcPage: number): number {
    this.#pageinfo(linaddr, srcPa, secs, secinfoFlags);
    const lp = this.#k.inRing0;
    if (lp !== null) return lp.encls(ENCLS.EADD, this.#scratch, epcPage);
    return this.#k.ring0((lp0) => lp0.encls(ENCLS.EADD, this.#scratch, epcPage));
  }

  /** The 16 EEXTENDs that measure a whole page. */
  eextendPage(secs: number, epcPage: number): void {
    const lp = this.#k.inRing0;
    if (lp !== null) SgxLeaves.#eextend16(lp, secs, epcPage);
    else this.#k.ring0((lp0) => SgxLeaves.#eextend16(lp0, secs, epcPage));
  }

  static #eextend16(lp: LogicalProcessor, secs: number, epcPage: number): void {
    for (let c = 0; c < 4096; c += 256) lp.encls(ENCLS.EEXTEND, secs, epcPage + c);
  }

  /** EINIT; returns the SGX status. */
  einit(sigstruct: Uint8Array, token: Uint8Array, secs: number): number {
    const mem = this.#k.processor.memory;
    mem.writePhysical(this.#sig, sigstruct);
    mem.writePhysical(this.#tok, token);
    return this.#k.ring0((lp) => lp.encls(ENCLS.EINIT, this.#sig, secs, this.#tok));
  }

  eremove(page: number): number {
    return this.#k.ring0((lp) => lp.encls(ENCLS.EREMOVE, 0, page));
  }

  /** PAGEINFO for EWB and ELDx (SDM 37.10: the SECINFO field holds the PCMD's address) into the scratch page. */
  #pagingInfo(linaddr: number, srcpge: number, pcmd: number, secs: number): void {
    const b = this.#buf;
    b.fill(0);
    writeU64le(b, PAGEINFO_AT.LINADDR, linaddr);
    writeU64le(b, PAGEINFO_AT.SRCPGE, srcpge);
    writeU64le(b, PAGEINFO_AT.SECINFO, pcmd);
    writeU64le(b, PAGEINFO_AT.SECS, secs);
    this.#k.processor.memory.writePhysical(this.#scratch, b.subarray(0, PAGEINFO.size));
  }

  /** EAUG (SGX2) of a zero, PENDING page at `linaddr` into `page` for the enclave of `secs`; returns the SGX status (EAUG reports failures as faults). */
  eaug(linaddr: number, secs: number, page: number): number {
    this.#pagingInfo(linaddr, 0, 0, secs);
    return this.#k.ring0((lp) => lp.encls(ENCLS.EAUG, this.#scratch, page));
  }

  /** SECINFO with FLAGS `flags` into the scratch page (64-aligned); its kernel address. */
  #secinfo(flags: number): number {
    const b = this.#buf;
    b.fill(0);
    writeU64le(b, SECINFO_FLAGS_AT, flags);
    this.#k.processor.memory.writePhysical(this.#scratch, b);
    return this.#scratch + SECINFO_AT;
  }

  /** EMODPR (SGX2): restrict `page`'s EPCM permissions to SECINFO.FLAGS `flags` (R/W/X); returns the SGX status. */
  emodpr(flags: number, page: number): number {
    return this.#k.ring0((lp) => lp.encls(ENCLS.EMODPR, this.#secinfo(flags), page));
  }

  /** EMODT (SGX2): change `page`'s type to SECINFO.FLAGS `flags` (PT_TCS or PT_TRIM << 8); returns the SGX status. */
  emodt(flags: number, page: number): number {
    return this.#k.ring0((lp) => lp.encls(ENCLS.EMODT, this.#secinfo(flags), page));
  }

  /** EPA: `page` becomes a Version Array. */
  epa(page: number): number {
    return this.#k.ring0((lp) => lp.encls(ENCLS.EPA, PT.VA, page));
  }

  eblock(page: number): number {
    return this.#k.ring0((lp) => lp.encls(ENCLS.EBLOCK, 0, page));
  }

  etrack(secs: number): number {
    return this.#k.ring0((lp) => lp.encls(ENCLS.ETRACK, 0, secs));
  }

  /** EWB of `page` into RAM page `src` and PCMD `pcmd`, its version into VA slot `slot`. */
  ewb(page: number, slot: number, src: number, pcmd: number): number {
    this.#pagingInfo(0, src, pcmd, 0);
    return this.#k.ring0((lp) => lp.encls(ENCLS.EWB, this.#scratch, page, slot));
  }

  /** ELDU of the page evicted from `linaddr` (encrypted at `src`, PCMD at `pcmd`, version in `slot`) into `page`, for the enclave of `secs`. */
  eldu(linaddr: number, src: number, pcmd: number, secs: number, page: number, slot: number): number {
    this.#pagingInfo(linaddr, src, pcmd, secs);
    return this.#k.ring0((lp) => lp.encls(ENCLS.ELDU, this.#scratch, page, slot));
  }

  edbgrd(address: number): { status: number; value: bigint } {
    return this.#k.ring0((lp) => {
      const status = lp.encls(ENCLS.EDBGRD, 0, address);
      return { status, value: lp.dataOut };
    });
  }

  edbgwr(address: number, value: bigint): number {
    return this.#k.ring0((lp) => lp.edbgwr(address, value));
  }

  /** Write IA32_SGXLEPUBKEYHASH0..3 (FLC), as Linux does before every EINIT. Throws #GP without FLC. */
  setLePubKeyHash(hash: Uint8Array): void {
    this.#k.ring0((lp) => {
      for (let i = 0; i < 4; i++) lp.wrmsr(0x8c + i, u64le(hash, i * 8));
    });
  }
}

export interface KernelOptions {
  /** Lowest RAM frame the kernel allocates (below is firmware/kernel image). Default 256 (1 MiB). */
  readonly firstFrame?: number;
  /**
   * Reclaim EPC pages under pressure (os-api.md §4.7): an allocation that finds the EPC full evicts
   * the oldest reclaimable page to RAM, and the enclave's next touch of it loads it back, so
   * enclaves may together be larger than the EPC. Default false: a full EPC refuses the allocation.
   */
  readonly reclaim?: boolean;
}

export class Kernel {
  readonly processor: Processor;
  readonly ram: FrameAllocator;
  readonly epc: EpcAllocator;
  readonly sgx: SgxLeaves;
  /** EPC paging: eviction, reload, the #PF handler, reclaim. */
  readonly pager: EpcPager;
  /** Whether a full EPC makes room by evicting pages (KernelOptions.reclaim). */
  readonly reclaim: boolean;
  readonly #enclaves = new Set<KernelEnclave>();
  /** The logical processor a ring-0 section runs on (null outside one). */
  #ring0Lp: LogicalProcessor | null = null;
  #nextPid = 4;

  constructor(processor: Processor, options: KernelOptions = {}) {
    this.processor = processor;
    this.ram = new FrameAllocator(options.firstFrame ?? 256, Math.floor(processor.ramSize / 4096));
    this.epc = new EpcAllocator(processor.epcBase, processor.epcPages);
    this.sgx = new SgxLeaves(this);
    this.pager = new EpcPager(this);
    this.reclaim = options.reclaim ?? false;
    processor.setPageFaultHandler((lp, address, errorCode) => this.pager.onPageFault(lp, address, errorCode) || this.#moreFaults(lp, address, errorCode));
  }

  readonly #faultHandlers: ((lp: LogicalProcessor, address: number, errorCode: number) => boolean)[] = [];
  /** Per address space, the OS's answer to "whose enclave is mapped at this address" (Linux: the VMA's). */
  readonly #mappings = new Map<PageTable, (la: number, errorCode: number) => KernelEnclave | null>();

  /**
   * Let an OS say which enclave is mapped at an address of `process` (on Linux the VMA decides:
   * ELRANGEs are not reserved, so two enclaves of one process may share addresses, one mapped),
   * and whether a fault there (its error code; −1: no fault) is one its mapping allows at all
   * (Linux's access_error: null for a write to a mapping without write permission). Without one,
   * the enclave whose ELRANGE holds the address is (Windows reserves ELRANGE).
   */
  setMappingResolver(process: Process, resolve: (la: number, errorCode: number) => KernelEnclave | null): void {
    this.#mappings.set(process.pageTable, resolve);
  }

  /** The live enclave mapped at page `la` of the address space `pt` (for a fault with `errorCode`, −1: none), or null. */
  enclaveMappedAt(pt: PageTable, la: number, errorCode = -1): KernelEnclave | null {
    const r = this.#mappings.get(pt);
    if (r !== undefined) {
      const e = r(la, errorCode);
      return e !== null && e.state !== 'deleted' && e.contains(la) ? e : null;
    }
    for (const e of this.#enclaves) if (e.process.pageTable === pt && e.contains(la) && e.state !== 'deleted') return e;
    return null;
  }

  /**
   * Another #PF handler, asked after the pager's (which loads evicted pages) for the faults it did
   * not resolve: an OS's own (Linux's enclave VMAs map present pages on fault and, with SGX2, EAUG
   * new ones). True when it resolved the fault.
   */
  addPageFaultHandler(handler: (lp: LogicalProcessor, address: number, errorCode: number) => boolean): void {
    this.#faultHandlers.push(handler);
  }

  #moreFaults(lp: LogicalProcessor, address: number, errorCode: number): boolean {
    for (const h of this.#faultHandlers) if (h(lp, address, errorCode)) return true;
    return false;
  }

  /**
   * An EPC page (from the caller's commitment when `fromCommitment`); with reclaim, a full EPC
   * first evicts the oldest reclaimable page. −1 when there is none.
   */
  allocEpc(fromCommitment: boolean): number {
    let pa = this.epc.alloc(fromCommitment);
    while (pa < 0 && this.reclaim && this.pager.reclaim(1) > 0) pa = this.epc.alloc(false);
    return pa;
  }

  /** With reclaim, evict pages until `n` are available (or nothing more can be evicted); true when they are. */
  ensureAvailable(n: number): boolean {
    if (this.reclaim) while (this.epc.availablePages < n && this.pager.reclaim(1) > 0);
    return this.epc.availablePages >= n;
  }

  /**
   * A zeroed RAM page owned by the kernel; its physical address is also its kernel linear address.
   * Frames come back from the allocator as their last owner left them, so it is cleared here.
   */
  allocKernelPage(): number {
    const f = this.ram.alloc();
    if (f < 0) throw new OsError('OUT_OF_RAM', 'no RAM for a kernel page');
    this.processor.memory.writePhysical(f * 4096, ZERO_PAGE);
    return f * 4096;
  }

  createProcess(name: string): Process {
    const p = new Process(this.#nextPid, name, this.processor, this.ram);
    this.#nextPid += 4;
    return p;
  }

  /**
   * The logical processor a running system call holds in ring 0 (inside `ring0`, on the kernel's
   * page table, not in an enclave), or null. Leaves issued once per page use it directly, so that
   * building an enclave makes no closure per page.
   */
  get inRing0(): LogicalProcessor | null {
    const lp = this.#ring0Lp;
    return lp && lp.cpl === 0 && lp.cr3 === this.processor.kernelPageTable && !lp.inEnclaveMode ? lp : null;
  }

  /**
   * Run `fn` in ring 0 (the kernel's side of a system call) on the first logical processor that is
   * not executing an enclave — LP 0 unless a thread is inside an enclave there, as when the kernel
   * acts while an enclave runs — restoring its privilege level and page table afterwards. Called
   * again from inside `fn`, it runs on the same processor without switching again (a system call
   * that executes many leaves enters ring 0 once).
   */
  ring0<T>(fn: (lp: LogicalProcessor) => T): T {
    const held = this.inRing0;
    if (held !== null) return fn(held);
    const outer = this.#ring0Lp; // restored as it was (user code run inside a system call leaves the held LP out of ring 0)
    const lp = this.processor.lps.find((l) => !l.inEnclaveMode);
    if (!lp) throw new OsError('NO_FREE_LP', 'every logical processor is executing an enclave');
    const cpl = lp.cpl, cr3 = lp.cr3;
    lp.cpl = 0;
    lp.cr3 = this.processor.kernelPageTable;
    this.#ring0Lp = lp;
    try {
      return fn(lp);
    } finally {
      this.#ring0Lp = outer;
      lp.cr3 = cr3;
      lp.cpl = cpl;
    }
  }

  /** Run `fn` as user code of `process` on logical processor `lpIndex` (CPL 3, the process's page table). */
  user<T>(process: Process, fn: (lp: LogicalProcessor) => T, lpIndex = 0): T {
    const lp = this.processor.lps[lpIndex];
    if (!lp) throw new OsError('NO_SUCH_LP', `no logical processor ${lpIndex}`);
    const cpl = lp.cpl, cr3 = lp.cr3;
    lp.cpl = 3;
    lp.cr3 = process.pageTable;
    try {
      return fn(lp);
    } finally {
      lp.cr3 = cr3;
      lp.cpl = cpl;
    }
  }

  // ---- enclave objects ----------------------------------------------------------------------

  get enclaves(): readonly KernelEnclave[] {
    return [...this.#enclaves];
  }

  /** The live enclave of `process` at `la` (enclaveMappedAt of its address space). */
  enclaveAt(process: Process, la: number): KernelEnclave | null {
    return this.enclaveMappedAt(process.pageTable, la);
  }

  /**
   * ECREATE a new enclave for `process` at [base, base+size) with `secs` (BASEADDR already set),
   * committing `commitPages` EPC pages in advance. All-or-nothing: the address range is checked and
   * the EPC committed before ECREATE, and a faulting ECREATE gives the SECS page and the commitment
   * back. Returns the enclave, or the reason it could not be created.
   *
   * `options.reserve` (default true) reserves ELRANGE in the process (Windows does; Linux leaves the
   * address space to user space). `options.vaPages` (default: when the kernel reclaims) gives the
   * enclave VA pages as Linux does whatever the EPC's state: the first at creation (room for it is
   * checked before ECREATE, which is refused without; the EPA follows), one more whenever its
   * pages, the SECS counted, pass a multiple of 512 (sgx_encl_grow).
   */
  createEnclave(process: Process, base: number, size: number, type: number, secs: Uint8Array, commitPages: number, options: { readonly reserve?: boolean; readonly vaPages?: boolean } = {}):
    KernelEnclave | { error: 'VA_CONFLICT' } | { error: 'NO_EPC' } | { error: 'ECREATE_FAULT'; fault: ArchFault } {
    if (secs.length !== SECS.size) throw new OsError('SECS_LENGTH', `a SECS is ${SECS.size} bytes, got ${secs.length}`);
    const reserve = options.reserve ?? true;
    const vaPages = options.vaPages ?? this.reclaim;
    if (reserve && !process.isFree(base, size)) return { error: 'VA_CONFLICT' };
    // The commitment, the SECS, and the first VA page when the enclave keeps them (Linux's
    // sgx_encl_grow: refused without one); with reclaim, room is made by evicting others' pages.
    if (!this.ensureAvailable(commitPages + 1 + (vaPages ? 1 : 0))) return { error: 'NO_EPC' };
    if (!this.epc.commit(commitPages + 1)) return { error: 'NO_EPC' };
    const secsPage = this.epc.alloc(true);
    try {
      this.sgx.ecreate(secs, secsPage);
    } catch (e) {
      this.epc.free(secsPage);
      this.epc.uncommit(commitPages);
      if (e instanceof ArchFault) return { error: 'ECREATE_FAULT', fault: e };
      throw e;
    }
    const attributes = ATTRIBUTES.decode(secs.subarray(SECS_ATTRIBUTES.offset, SECS_ATTRIBUTES.offset + SECS_ATTRIBUTES.size));
    const enc = new KernelEnclave(process, base, size, type, secsPage, attributes, commitPages, vaPages);
    if (reserve) process.reserve(base, size, 'enclave', enc);
    this.#enclaves.add(enc);
    // Linux gives every enclave its first VA page at creation (one more per 512 pages as it grows).
    if (vaPages) this.pager.addVaPage(enc);
    return enc;
  }

  /**
   * EADD the 4 KiB at physical `srcPa` into `enc` at linear address `la` with SECINFO.FLAGS
   * `secinfo` and, when `measure`, EEXTEND the whole page. The EPC page comes from the enclave's
   * commitment first. Returns the EPC page, or -1 when the EPC has none for the enclave. A faulting
   * EADD changed nothing (the leaf checks everything before its first irreversible step): the page
   * goes back to the free list and to the commitment it came from, and the fault is rethrown. Once
   * EADD succeeded the page is the enclave's (a later EEXTEND fault leaves it added, as on hardware).
   */
  addPage(enc: KernelEnclave, la: number, srcPa: number, secinfo: number, measure: boolean): number {
    // EADD does not refuse a linear address the enclave has (the EPCM records it, nothing looks it
    // up): the kernel keeps one page per address, so a second page there would be lost to it, and
    // with it the enclave's teardown (EREMOVE of the SECS: CHILD_PRESENT).
    if (enc.state !== 'created') throw new OsError('ENCLAVE_STATE', `the enclave at 0x${enc.base.toString(16)} is ${enc.state}: pages are added only while it is built`);
    if (enc.pages.has(la) || enc.evicted.has(la)) throw new OsError('PAGE_PRESENT', `the enclave at 0x${enc.base.toString(16)} has a page at 0x${la.toString(16)} already`);
    const fromCommitment = enc.commitment > 0;
    const epc = this.allocEpc(fromCommitment);
    if (epc < 0) return -1;
    if (fromCommitment) enc.commitment--;
    try {
      this.sgx.eadd(srcPa, la, secinfo, enc.secs, epc);
    } catch (e) {
      this.epc.free(epc, fromCommitment);
      if (fromCommitment) enc.commitment++;
      throw e;
    }
    enc.pages.set(la, epc);
    if (measure) this.sgx.eextendPage(enc.secs, epc);
    const type = (secinfo >> 8) & 0xff;
    if (enc.vaPagesKept) this.#reclaimable(enc, la, type === PT.REG || type === PT.TCS);
    return epc;
  }

  /**
   * EAUG (SGX2) a page of zeros into the initialized enclave `enc` at `la`: PT_REG, RW, PENDING
   * until the enclave accepts it (EACCEPT). Returns the EPC page, or -1 when the EPC has none. A
   * faulting EAUG changed nothing: the page goes back and the fault is rethrown.
   */
  augmentPage(enc: KernelEnclave, la: number): number {
    if (enc.state !== 'initialized') throw new OsError('ENCLAVE_STATE', `the enclave at 0x${enc.base.toString(16)} is ${enc.state}: EAUG adds pages to an initialized enclave`);
    if (enc.pages.has(la) || enc.evicted.has(la)) throw new OsError('PAGE_PRESENT', `the enclave at 0x${enc.base.toString(16)} has a page at 0x${la.toString(16)} already`);
    const epc = this.allocEpc(false);
    if (epc < 0) return -1;
    if (enc.secsEvicted !== null) {
      let s: number;
      try {
        s = this.pager.loadSecs(enc);
      } catch (e) {
        this.epc.free(epc);
        if (e instanceof OsError && e.code === 'NO_EPC') return -1;
        throw e;
      }
      if (s !== SGX.SUCCESS) {
        this.epc.free(epc);
        throw new OsError('SECS_LOST', `the SECS of the enclave at 0x${enc.base.toString(16)} could not be loaded back`);
      }
    }
    try {
      this.sgx.eaug(la, enc.secs, epc);
    } catch (e) {
      this.epc.free(epc);
      throw e;
    }
    enc.pages.set(la, epc);
    if (enc.vaPagesKept) this.#reclaimable(enc, la, true);
    return epc;
  }

  /**
   * With reclaim: the enclave's VA pages keep up with its pages (one per 512: the allocation may
   * reclaim, and the page just added is not a candidate yet), then the page becomes one when `candidate`.
   */
  #reclaimable(enc: KernelEnclave, la: number, candidate: boolean): void {
    if (enc.pages.size + enc.evicted.size + 1 > enc.vaPages.length * 512) this.pager.addVaPage(enc); // (the SECS counted, as Linux's encl->page_cnt does)
    if (candidate) this.pager.noteResident(enc, la);
  }

  /**
   * EREMOVE page `la` of `enc` (SGX2's last step for a trimmed page the enclave accepted): its PTE
   * goes, then the page. Returns the SGX status (the page stays when EREMOVE refuses it).
   * @throws {OsError} PAGE_NOT_PRESENT; {ArchFault} EREMOVE's fault.
   */
  removePage(enc: KernelEnclave, la: number): number {
    const pa = enc.pages.get(la);
    if (pa === undefined) throw new OsError('PAGE_NOT_PRESENT', `the enclave at 0x${enc.base.toString(16)} has no page in the EPC at 0x${la.toString(16)}`);
    const pt = enc.process.pageTable;
    const e = pt.entry(la / 4096);
    if (e >= 0 && Math.floor(e / 8) === pa / 4096) pt.unmap(la / 4096); // (a PTE of this page only)
    const st = this.sgx.eremove(pa);
    if (st !== SGX.SUCCESS) return st;
    this.epc.free(pa);
    enc.pages.delete(la);
    return SGX.SUCCESS;
  }

  /**
   * Start a tracking cycle for `enc` after EMODPR/EMODT, as Linux's sgx_enclave_etrack does:
   * ETRACK (when refused: IPIs and ETRACK once more), then IPIs to every processor in enclave mode,
   * so that the threads inside leave and the enclave's EACCEPT finds the tracking complete. (The
   * model's IPIs are taken at the interrupted thread's next interrupt window.) False when ETRACK
   * was refused twice (a thread that entered before the previous cycle is still inside).
   */
  trackEnclave(enc: KernelEnclave): boolean {
    const ipi = (): void => {
      for (const lp of this.processor.lps) if (lp.inEnclaveMode) lp.injectInterrupt();
    };
    let ok = this.sgx.etrack(enc.secs) === SGX.SUCCESS;
    if (!ok) {
      ipi();
      ok = this.sgx.etrack(enc.secs) === SGX.SUCCESS;
    }
    ipi();
    return ok;
  }

  /** Release the unused part of an enclave's commitment (at initialization). */
  releaseCommitment(enc: KernelEnclave): void {
    this.epc.uncommit(enc.commitment);
    enc.commitment = 0;
  }

  /**
   * Tear an enclave down: EREMOVE every child page, then the SECS; release the address range and
   * the commitment. Returns the SGX status of the first EREMOVE that failed (nothing is removed
   * when a thread is inside: SGX_ENCLAVE_ACT), or the fault an EREMOVE raised (a locked memory
   * controller machine-checks every ENCLS): pages removed before it stay removed and freed, the
   * enclave keeps the rest.
   */
  destroyEnclave(enc: KernelEnclave): number | { error: 'EREMOVE_FAULT'; fault: ArchFault } {
    if (enc.state === 'deleted') throw new OsError('ENCLAVE_DELETED', `the enclave at 0x${enc.base.toString(16)} was deleted already`);
    try {
      const st = this.ring0(() => {
        let removed = 0;
        for (const [la, pa] of enc.pages) {
          const s = this.sgx.eremove(pa);
          if (s !== 0) {
            if (removed === 0) return s; // SGX_ENCLAVE_ACT: a thread is inside; nothing was removed
            throw new OsError('EREMOVE_FAILED', `EREMOVE of a child page returned ${s} after ${removed} succeeded`);
          }
          this.epc.free(pa);
          enc.pages.delete(la);
          removed++;
        }
        // The VA pages (EREMOVE frees a VA page whatever its slots hold), then the SECS.
        while (enc.vaPages.length > 0) {
          const va = enc.vaPages[enc.vaPages.length - 1]!;
          const v = this.sgx.eremove(va.pa);
          if (v !== 0) throw new OsError('EREMOVE_FAILED', `EREMOVE of a VA page returned ${v}`);
          this.epc.free(va.pa);
          enc.vaPages.pop();
        }
        // (An evicted SECS is not in the EPC: removing its VA page above ended the enclave in the processor.)
        if (enc.secsEvicted !== null) return 0;
        const s = this.sgx.eremove(enc.secs);
        if (s !== 0) throw new OsError('EREMOVE_FAILED', `EREMOVE of the SECS returned ${s}`);
        return 0;
      });
      if (st !== 0) return st;
    } catch (e) {
      if (e instanceof ArchFault) return { error: 'EREMOVE_FAULT', fault: e };
      throw e;
    }
    if (enc.secsEvicted === null) this.epc.free(enc.secs);
    this.pager.release(enc);
    enc.blocked.clear();
    enc.trimmed.clear();
    this.releaseCommitment(enc);
    const r = enc.process.regionAt(enc.base);
    if (r && r.owner === enc) enc.process.release(r);
    enc.state = 'deleted';
    this.#enclaves.delete(enc);
    return 0;
  }
}
