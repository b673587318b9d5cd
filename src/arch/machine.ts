/**
 * The processor's private state: RAM, the EPC with its plaintext, the EPCM, the hidden SECS and TCS
 * state, the package registers and the logical processors. Nothing in this module is exported from
 * src/arch/index.ts: a `MachineState` is reachable only through a `Processor`'s private field, so
 * host, kernel and driver code can touch enclave memory only through the instructions and the
 * abort-page / memory-encryption paths, as on hardware (design-notes: "Where plaintext lives").
 */
import { fixedProvider, type CryptoProvider } from '../lib/crypto/provider.js';
import { isZero, writeU64le, writeU32le, u32le, u64leNumberOrNeg, copyDisjoint, toHex, LITTLE_ENDIAN_HOST } from '../lib/bytes.js';
import type { ProcessorConfig } from './config.js';
import type { PlatformSecrets, BootSecrets } from './secrets.js';
import type { Measurement } from './measurement.js';
import { PageTable, PTE, USER_ADDRESS_LIMIT } from './mmu.js';
import { PT, PFEC, INTEL_LE_PUBKEYHASH, VECTOR } from './constants.js';
import { ArchFault, pf, gp, mc } from './faults.js';
import { ArchError } from './errors.js';
import { TCS_OFF } from './structures/tcs.js';
import { newRegisters, type EnclaveEngine, type ExitInfo, type Registers } from './engine.js';

/** EPCM permission bits. */
export const PERM = { R: 1, W: 2, X: 4 } as const;
/** EPCM state bits. */
export const EPCM_STATE = { BLOCKED: 1, PENDING: 2, MODIFIED: 4, PR: 8 } as const;

/** A memory region of an enclave that backs a WebAssembly.Memory (design-notes: enclave memory and WebAssembly). */
export interface MemoryRegion {
  readonly base: number;
  /** Bytes the memory has now (grown by growMemory, never shrunk). */
  size: number;
  /** The most it may grow to (the memory's maximum), bytes; [base, base+maximum) lies in ELRANGE. */
  readonly maximum: number;
  readonly memory: WebAssembly.Memory;
  /** The EPC page index behind each 4 KiB of the region (size / 4096 of them; replaced when it grows). */
  frames: Int32Array;
}

/** Hidden and architectural state of one SECS (one enclave). */
export interface SecsState {
  /** The SECS's EPC page (moves when the SECS is evicted and reloaded: EWB/ELDU). */
  page: number;
  readonly eid: number;
  readonly key: object;
  readonly size: number;
  readonly baseAddr: number;
  readonly ssaFrameSize: number;
  readonly miscSelect: number;
  readonly flags: bigint;
  readonly xfrm: bigint;
  readonly attributes: Uint8Array;
  readonly configId: Uint8Array;
  readonly configSvn: number;
  measurement: Measurement | null;
  initialized: boolean;
  mrenclave: Uint8Array;
  mrsigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  isvFamilyId: Uint8Array;
  isvExtProdId: Uint8Array;
  padding: Uint8Array;
  childCount: number;
  /** Logical processors currently executing inside the enclave. */
  activeThreads: number;
  /** Exits so far: advances the memory-encryption version of memory-backed (Wasm) pages. */
  exitCount: number;
  /** Frames of this enclave whose DRAM copy failed integrity. */
  tamperedPages: number;
  regions: MemoryRegion[];
  /** Bumped whenever an EPCM entry of a region frame changes; entry revalidates regions when it moves. */
  regionEpoch: number;
  regionCheck: { pt: PageTable | null; revocations: number; epoch: number };
  dead: boolean;
  /** The tracking epoch (specs/sgx.md §10.4, ED-9): ETRACK advances it; EBLOCK records it per page; EENTER/ERESUME per LP. */
  trackEpoch: number;
  /** Entry facts computed once (no BigInt on the hot path): MODE64BIT set, XFRM ⊆ XCR0. */
  readonly mode64: boolean;
  readonly xfrmInXcr0: boolean;
}

/** What an evicted VA page's slots held in MachineState.evicted: nonce → state. */
export interface EvictedSlots {
  readonly slots: Map<number, EvictedState>;
}
/** The hidden state kept for one evicted page (MachineState.evicted). */
export type EvictedState = SecsState | TcsState | EvictedSlots;

/** Lifecycle of a TCS (style rule 7). */
export type TcsLifecycle = 'idle' | 'active';

/** Parsed TCS fields, mirrored into the TCS page bytes on every change. */
export interface TcsState {
  /** The TCS's EPC page (moves when it is evicted and reloaded: EWB/ELDU). */
  page: number;
  readonly secs: SecsState;
  readonly linAddr: number;
  state: TcsLifecycle;
  flags: number;
  ossa: number;
  cssa: number;
  nssa: number;
  oentry: number;
  aep: number;
  ofsbase: number;
  ogsbase: number;
  /**
   * Suspended enclave continuations on the JS stack, innermost last (an exit waiting for re-entry;
   * a nested entry on the same TCS may suspend too, as an ECALL made during an OCALL that makes
   * its own OCALL).
   */
  readonly suspended: SuspendedFrame[];
  /** AEX count, for inspection. */
  aexCount: number;
  /**
   * Entry-check cache: valid while (page table, its revocations (PageTable.revocationsOf, in `gen`), EPCM epoch, CSSA) are unchanged.
   * `gprPage`/`gprOff`: the EPC page and offset of the frame's GPRSGX.URSP (URBP follows it);
   * `gprWords`: a word view of that page's storage `gprBytes` (remade when the storage changes).
   */
  cache: { pt: PageTable | null; gen: number; epoch: number; frame: number; ssaLa: number; pages: number[]; gprPage: number; gprOff: number; gprBytes: Uint8Array | null; gprWords: Int32Array | null } | null;
  /** What the host learns at an EEXIT from this TCS (the same every time: shared, frozen). */
  readonly eexitInfo: ExitInfo;
  /** A reusable entry record for this TCS (used when no frame of it is suspended). */
  pool: object | null;
  /**
   * The SSA frames written by AEXs taken at entry, before the engine ran its first step (the
   * entry-time checks of the memory regions faulted): ERESUME of such a frame starts the engine at
   * OENTRY with the saved registers, as hardware re-executes the faulting first access. (Usually
   * empty; a frame leaves it when it is resumed or written anew.)
   */
  readonly notStarted: number[];
}

/** A suspended frame on a TCS: the entry record it belongs to (compared by identity only; an entry suspends at most once at a time). */
export type SuspendedFrame = object;

/**
 * The last TCS operand an LP resolved (EENTER/ERESUME step 2): RBX's translation and the TCS
 * page's EPCM checks hold while the page table, its revocations (`gen`) and the EPCM epoch are unchanged
 * (EDBGWR of TCS.FLAGS and integrity failures move the epoch too).
 */
export interface TcsOperandCache {
  rbx: number;
  pt: PageTable | null;
  gen: number;
  epoch: number;
  tcs: TcsState | null;
}

/**
 * The last two ENCLS EPC operands an LP translated (EEXTEND names the same SECS and the same page
 * 16 times in a row): page address → EPC index, valid while the page table and its generation
 * are unchanged. Only the walk is remembered; the EPCM checks run every time.
 */
export interface EpcOperandCache {
  pt: PageTable | null;
  gen: number;
  la0: number;
  i0: number;
  w0: boolean;
  la1: number;
  i1: number;
  w1: boolean;
  next: number;
}

export interface LpState {
  readonly index: number;
  cpl: 0 | 3;
  cr3: PageTable;
  enclaveMode: boolean;
  activeSecs: SecsState | null;
  activeTcs: TcsState | null;
  pendingInterrupt: number | null;
  /** Identifies the entry currently executing on this LP (enclave mode only; 0 = none). */
  activeToken: number;
  readonly tcsOperand: TcsOperandCache;
  readonly epcOperands: EpcOperandCache;
  /** EDBGRD output (RBX), as a u64. */
  dataOut: bigint;
  /** The host's registers as this LP read them for its last EENTER/ERESUME outside the cached path (each read once). */
  readonly intake: Registers;
  /** The enclave's tracking epoch when this LP last entered it (specs/sgx.md §10.4); meaningful in enclave mode. */
  entryEpoch: number;
}

/** Read-only zeros: the bytes of a page that has no storage (an all-zero page). Never written. */
export const ZERO_PAGE = new Uint8Array(4096);

/** A lent RAM frame whose bytes were detached (a misuse of ProcessorMemory.swapFrame): no access can reach them. */
function frameDetached(pfn: number): ArchError {
  return new ArchError('FRAME_DETACHED', `RAM frame 0x${pfn.toString(16)} is lent bytes that were detached`, { pfn });
}

export class MachineState {
  readonly config: ProcessorConfig;
  readonly crypto: CryptoProvider;
  readonly secrets: PlatformSecrets;
  readonly boot: BootSecrets;

  readonly ramFrames: number;
  readonly ram = new Map<number, Uint8Array>();
  readonly prmBase: number;
  readonly prmSize: number;
  readonly epcBase: number;
  readonly epcPages: number;
  readonly epcBasePfn: number;

  // EPCM, as parallel arrays indexed by EPC page (ED-1).
  readonly valid: Uint8Array;
  readonly pt: Uint8Array;
  readonly perm: Uint8Array;
  readonly state: Uint8Array;
  readonly owner: Int32Array;
  readonly linAddr: Float64Array;
  // Memory encryption and integrity per EPC frame.
  readonly version: Float64Array;
  readonly tampered: Uint8Array;
  readonly backed: Uint8Array;
  /** The owner's tracking epoch when EBLOCK blocked the page (specs/sgx.md §10.4). */
  readonly blockEpoch: Float64Array;
  /** The owner's tracking epoch when EMODPR/EMODT changed the page: what EACCEPT's tracking check compares (ED-9); −1: tracked already. */
  readonly modEpoch: Float64Array;
  /** Plaintext of each EPC page; null = all zero (never written). PRIVATE to the processor. */
  readonly secs: (SecsState | undefined)[];
  readonly tcs: (TcsState | undefined)[];

  nextEid = 1;
  /** CR_PAGING_VERSION: the last nonce EWB gave out (non-zero, unique per boot; multiples of 8, see paging.ts). */
  pagingVersion = 0;
  /**
   * The processor's hidden state of an evicted SECS or TCS (a SecsState or TcsState: the
   * measurement, identities and keys of an enclave; a thread's suspended frames), keyed by the
   * nonce of its EWB. On hardware it travels inside the encrypted page (the SECS's reserved bytes);
   * here it waits for the ELDU whose MAC check admits that nonce. An evicted VA page takes the
   * entries of the nonces in its slots with it (an EvictedSlots under its own nonce), and gives
   * them back when it is loaded. Dropped when the nonce can no longer be loaded (its VA slot
   * overwritten or removed, its enclave removed): see paging.ts, dropEvicted.
   */
  readonly evicted = new Map<number, EvictedState>();
  /** Bumped on every EPCM change (and integrity failure): entry-time caches are keyed by it. */
  epcmEpoch = 0;
  /**
   * How many times each leaf ran (by leaf number; ENCLS: every execution the kernel made, faulting
   * ones included; ENCLU: EENTER and ERESUME once they entered, EEXIT as the enclave left, the
   * in-enclave leaves once per call: one that faults, and is run again after the ERESUME, counts
   * once) and how many AEXs there were: what a cost model prices (costs.ts).
   */
  readonly enclsCounts = new Float64Array(32);
  readonly encluCounts = new Float64Array(8);
  /** AEXs: [interrupts, exceptions]. */
  readonly aexCounts = new Float64Array(2);
  /** EENTERs and EEXITs (on every ECALL's path: plain fields, cheaper there than a typed array's elements). */
  eenters = 0;
  eexits = 0;
  lePubKeyHash: Uint8Array = INTEL_LE_PUBKEYHASH.slice();
  featureControl = { lock: true, sgxEnable: true, sgxLc: true };
  /** SGX1 present and enabled: the ENCLU fast path may skip the feature checks. */
  get enclaveReady(): boolean {
    return this.config.features.sgx1 && this.featureControl.lock && this.featureControl.sgxEnable;
  }
  /** Drop-and-lock: after an integrity failure every EPC access raises #MC. */
  locked: string | null = null;
  readonly lps: LpState[];
  engine: EnclaveEngine | null = null;
  stepHook: ((lp: LpState) => void) | null = null;
  /**
   * The kernel's page-fault handler (its IDT entry for #PF): called in ring 0 when a #PF is
   * delivered for code on LP `lp` (an AEX's, or ENCLU's own), with the LP outside enclave mode.
   * True when the kernel resolved it (an evicted page loaded again): the AEX then reaches the host
   * as an interrupt's, and a faulting ENCLU is executed again, as on Linux.
   */
  pageFaultHandler: ((lp: LpState, address: number, errorCode: number) => boolean) | null = null;
  readonly kernelPageTable: PageTable;
  validCount = 0;

  constructor(config: ProcessorConfig, crypto: CryptoProvider, secrets: PlatformSecrets, boot: BootSecrets) {
    // The processor's own copies: the configuration it was built with (frozen, CPUSVN copied: a
    // typed array cannot be frozen) and the crypto provider's methods as they were (both are part
    // of the CPU; what code outside holds can change nothing here).
    this.config = Object.freeze({ ...config, cpusvn: Uint8Array.prototype.slice.call(config.cpusvn) });
    this.crypto = fixedProvider(crypto);
    this.secrets = secrets;
    this.boot = boot;
    this.ramFrames = config.ramSize / 4096;
    // The PRM is the smallest naturally aligned power of two holding the EPC plus MEE metadata (≈ 1/4),
    // placed above RAM: 93.5 MiB of EPC in a 128 MiB PRM, as on SGX1 client parts.
    let prm = 2 ** 20;
    while (prm < config.epcSize + config.epcSize / 4) prm *= 2;
    this.prmSize = prm;
    this.prmBase = Math.ceil(config.ramSize / prm) * prm;
    this.epcBase = this.prmBase;
    this.epcPages = config.epcSize / 4096;
    this.epcBasePfn = this.epcBase / 4096;
    const n = this.epcPages;
    this.valid = new Uint8Array(n);
    this.pt = new Uint8Array(n);
    this.perm = new Uint8Array(n);
    this.state = new Uint8Array(n);
    this.owner = new Int32Array(n).fill(-1);
    this.linAddr = new Float64Array(n);
    this.version = new Float64Array(n);
    this.tampered = new Uint8Array(n);
    this.backed = new Uint8Array(n);
    this.blockEpoch = new Float64Array(n);
    this.modEpoch = new Float64Array(n);
    this.#store = new Array<Uint8Array | null>(n).fill(null);
    this.secs = new Array<SecsState | undefined>(n);
    this.tcs = new Array<TcsState | undefined>(n);
    this.kernelPageTable = new PageTable('kernel (identity)', this.prmBase + this.prmSize);
    this.lps = Array.from({ length: config.logicalProcessors }, (_, index) => ({
      index, cpl: 3 as 0 | 3, cr3: this.kernelPageTable, enclaveMode: false, activeSecs: null, activeTcs: null, pendingInterrupt: null, activeToken: 0, dataOut: 0n,
      tcsOperand: { rbx: -1, pt: null, gen: -1, epoch: -1, tcs: null },
      epcOperands: { pt: null, gen: -1, la0: -1, i0: -1, w0: false, la1: -1, i1: -1, w1: false, next: 0 },
      intake: newRegisters(), entryEpoch: 0,
    }));
  }

  // ---- physical address classification -------------------------------------------------------

  inPrm(pa: number): boolean {
    return pa >= this.prmBase && pa < this.prmBase + this.prmSize;
  }
  /** EPC page index of physical address `pa`, or -1. */
  epcIndex(pa: number): number {
    const i = Math.floor((pa - this.epcBase) / 4096);
    return i >= 0 && i < this.epcPages ? i : -1;
  }
  epcPa(index: number): number {
    return this.epcBase + index * 4096;
  }

  checkLocked(): void {
    if (this.locked !== null) throw mc(`the memory controller is locked (drop-and-lock): ${this.locked}`);
  }

  // ---- translation ---------------------------------------------------------------------------

  /**
   * Walk `pt` for linear address `la`. Returns the physical address or throws a normal #PF
   * (SGX bit clear) for a non-present page or a PTE permission violation.
   */
  translate(pt: PageTable, la: number, write: boolean, user: boolean, fetch: boolean): number {
    if (!(la >= 0 && la < USER_ADDRESS_LIMIT) && PageTable.identityLimitOf(pt) === 0) throw translateFault(la, write, user, fetch, -2);
    const vpn = Math.floor(la / 4096);
    const e = PageTable.entryOf(pt, vpn);
    if (e < 0) throw translateFault(la, write, user, fetch, -1);
    const flags = e & 7; // e % 8 (a safe integer), without a floating-point modulo
    if ((write && !(flags & PTE.W)) || (user && !(flags & PTE.U)) || (fetch && flags & PTE.NX)) throw translateFault(la, write, user, fetch, flags);
    return Math.floor(e / 8) * 4096 + (la & 4095); // la & 4095: la % 4096 for a non-negative integer, without a floating-point modulo
  }

  // ---- RAM and abort-page semantics (every non-enclave access) ------------------------------

  /** A direct-mapped cache over `ram` (frames are never dropped from it, and swapFrame updates its slot, so entries never go stale). */
  readonly #ramKey = new Float64Array(512).fill(NaN); // NaN: an empty slot (equals no frame number)
  readonly #ramVal: (Uint8Array | null)[] = new Array<Uint8Array | null>(512).fill(null);

  /** Bumped whenever a RAM frame's bytes are replaced (swapFrame): word views held outside the frame cache are then stale. */
  frameEpoch = 0;

  /**
   * A word view of the RAM frame holding physical address `pa`, or null where copyRamWords would
   * not copy (the PRM, beyond RAM, a frame never written). Valid while frameEpoch is unchanged.
   * @throws {ArchError} `FRAME_DETACHED` for a lent frame whose bytes were detached.
   */
  ramWordsOf(pa: number): Int32Array | null {
    if (this.inPrm(pa)) return null;
    const pfn = Math.floor(pa / 4096);
    if (pfn >= this.ramFrames) return null;
    const f = this.ramFrame(pfn, false);
    return f === null ? null : this.#frameWords(pfn, f);
  }

  /** Word views of the cached frames (made when first needed; null: none yet). */
  readonly #ramWords: (Int32Array | null)[] = new Array<Int32Array | null>(512).fill(null);

  /**
   * Back RAM frame `pfn` with `bytes` (4096 bytes, used in place); returns the bytes it had (the
   * caller checked the frame is RAM outside the PRM). The frame cache is updated with it.
   */
  swapFrame(pfn: number, bytes: Uint8Array): Uint8Array | null {
    const had = this.ram.get(pfn) ?? null;
    const prev = had !== null && had.length !== 4096 ? null : had; // lent bytes since detached: the frame had none left
    this.ram.set(pfn, bytes);
    this.frameEpoch++;
    const i = pfn & 511;
    if (this.#ramKey[i] === pfn) {
      this.#ramVal[i] = bytes;
      this.#ramWords[i] = null;
    }
    return prev;
  }

  /**
   * The bytes of RAM frame `pfn` (made, zero, when `create`; null: never written). Every access to
   * RAM gets its frame here, so this is where a lent frame whose bytes were detached is refused.
   * @throws {ArchError} `FRAME_DETACHED` for such a frame.
   */
  ramFrame(pfn: number, create: boolean): Uint8Array | null {
    const i = pfn & 511; // pfn % 512 (a non-negative safe integer)
    if (this.#ramKey[i] === pfn) {
      const c = this.#ramVal[i]!;
      if (c.length !== 4096) throw frameDetached(pfn);
      return c;
    }
    let f = this.ram.get(pfn);
    if (f !== undefined && f.length !== 4096) throw frameDetached(pfn);
    if (!f) {
      if (!create) return null;
      f = new Uint8Array(4096);
      this.ram.set(pfn, f);
    }
    this.#ramKey[i] = pfn;
    this.#ramVal[i] = f;
    this.#ramWords[i] = null;
    return f;
  }

  /**
   * A copy of `nWords` 32-bit words between RAM at physical address `pa` (4-aligned, within one
   * frame) and `words` from word `w` on (a caller's word view of its buffer): what readPhysical and
   * writePhysical do for RAM, without a TypedArray view per copy (each costs more than the words it
   * would copy). Returns false, copying nothing, where those take another path: the PRM (abort
   * page), beyond RAM, and a read of a frame never written (zeros).
   */
  copyRamWords(pa: number, words: Int32Array, w: number, nWords: number, write: boolean): boolean {
    if (this.inPrm(pa)) return false;
    const pfn = Math.floor(pa / 4096);
    if (pfn >= this.ramFrames) return false;
    const f = this.ramFrame(pfn, write);
    if (f === null) return false;
    copyFrameWords(this.#frameWords(pfn, f), (pa & 4095) >> 2, words, w, nWords, write);
    return true;
  }

  /** A word view of RAM frame `pfn`'s bytes `f` (just returned by ramFrame, so in its cache slot), made once per slot. */
  #frameWords(pfn: number, f: Uint8Array): Int32Array {
    const slot = pfn & 511;
    return this.#ramWords[slot] ?? (this.#ramWords[slot] = new Int32Array(f.buffer, f.byteOffset, 1024));
  }

  /**
   * A non-enclave read of physical memory (host, kernel, driver, device through the MMU): RAM
   * returns its bytes; anything in the PRM (EPC, EPCM, MEE metadata) returns all-ones (abort page,
   * specs/sgx.md §8.1); non-existent memory also reads all-ones.
   */
  readPhysical(pa: number, out: Uint8Array, outOff = 0, len = out.length - outOff): void {
    let done = 0;
    while (done < len) {
      const a = pa + done;
      const off = a & 4095;
      const n = Math.min(4096 - off, len - done);
      const pfn = Math.floor(a / 4096);
      if (this.inPrm(a) || pfn >= this.ramFrames) {
        out.fill(0xff, outOff + done, outOff + done + n);
      } else {
        const f = this.ramFrame(pfn, false);
        if (!f) out.fill(0, outOff + done, outOff + done + n);
        else copyDisjoint(out, outOff + done, f, off, n);
      }
      done += n;
    }
  }

  /** FRAME_DETACHED for the first RAM frame of [pa, pa+len) (none when len is 0) that is lent bytes since detached: what a write checks before it touches any. */
  checkFramesWhole(pa: number, len: number): void {
    if (len <= 0) return;
    for (let a = pa - (pa & 4095); a < pa + len; a += 4096) {
      const pfn = Math.floor(a / 4096);
      if (!this.inPrm(a) && pfn < this.ramFrames) this.ramFrame(pfn, false); // (ramFrame refuses it)
    }
  }

  /** A non-enclave write: RAM takes it; the PRM drops it silently (abort page). @throws {ArchError} FRAME_DETACHED (nothing written) for a lent frame whose bytes were detached. */
  writePhysical(pa: number, src: Uint8Array, srcOff = 0, len = src.length - srcOff): void {
    if ((pa & 4095) + len > 4096) this.checkFramesWhole(pa, len); // across frames: every one checked first
    let done = 0;
    while (done < len) {
      const a = pa + done;
      const off = a & 4095;
      const n = Math.min(4096 - off, len - done);
      const pfn = Math.floor(a / 4096);
      if (!this.inPrm(a) && pfn < this.ramFrames) {
        copyDisjoint(this.ramFrame(pfn, true)!, off, src, srcOff + done, n);
      }
      done += n;
    }
  }

  /**
   * The last page a single-page non-enclave access (readVirtual, writeVirtual) found in a RAM frame
   * with bytes: the page table and generation it was translated under, the page, its PTE flags,
   * the frame and its word view, and the frameEpoch then. While the table's generation and the
   * frame epoch are unchanged the walk gives the same entry and the frame the same bytes, so a hit
   * checks only the permissions (the model's TLB for host accesses; invisible to software). A
   * lent frame whose bytes were detached after it was remembered (its word view now empty) is a
   * miss: the walk again, and FRAME_DETACHED.
   */
  #vPt: PageTable | null = null;
  #vGen = -1;
  #vVpn = -1;
  #vFlags = 0;
  #vEpoch = -1;
  #vFrame: Uint8Array = ZERO_PAGE;
  #vWords: Int32Array = new Int32Array(0);

  /**
   * The frame of the page holding `la` (just translated under `pt`: RAM, with bytes `f`),
   * remembered for the next single-page access. The page number is la's, rounded down: translate
   * accepts a fractional address, whose own quotient matches no page remembered here. The word view
   * is made before any field is set.
   */
  #remember(pt: PageTable, la: number, pfn: number, f: Uint8Array): void {
    const vpn = Math.floor(la / 4096);
    const words = this.#frameWords(pfn, f);
    const flags = PageTable.entryOf(pt, vpn) & 7;
    this.#vPt = pt;
    this.#vGen = PageTable.generationOf(pt);
    this.#vVpn = vpn;
    this.#vFlags = flags;
    this.#vEpoch = this.frameEpoch;
    this.#vFrame = f;
    this.#vWords = words;
  }

  /** Read through a page table as non-enclave code at privilege `cpl`. */
  readVirtual(pt: PageTable, la: number, out: Uint8Array, cpl: 0 | 3): void {
    const len = out.length;
    const off = la & 4095; // la % 4096 for the addresses translate accepts (it faults on the others)
    if (len !== 0 && off + len <= 4096) {
      // Within one page (an [out] buffer, a marshalling structure): readPhysical's work for one
      // frame, without its loop, and a small aligned read of RAM as words split into bytes.
      const vpn = (la - off) / 4096;
      if (!(vpn === this.#vVpn && pt === this.#vPt && PageTable.generationOf(pt) === this.#vGen && this.frameEpoch === this.#vEpoch && (cpl !== 3 || (this.#vFlags & PTE.U) !== 0) && this.#vWords.length !== 0)) {
        // A miss: the walk, then the frame, remembered (not the abort page, not a frame never written).
        const pa = this.translate(pt, la, false, cpl === 3, false);
        const pfn = (pa - off) / 4096;
        if (this.inPrm(pa) || pfn >= this.ramFrames) {
          out.fill(0xff);
          return;
        }
        const f = this.ramFrame(pfn, false);
        if (f === null) {
          out.fill(0);
          return;
        }
        this.#remember(pt, la, pfn, f);
      }
      if (len <= WORD_SPLIT_MAX && ((off | len) & 3) === 0 && LITTLE_ENDIAN_HOST) splitWords(out, this.#vWords, off >> 2, len);
      else copyDisjoint(out, 0, this.#vFrame, off, len);
      return;
    }
    let done = 0;
    while (done < out.length) {
      const a = la + done;
      const n = Math.min(4096 - (a & 4095), out.length - done);
      const pa = this.translate(pt, a, false, cpl === 3, false);
      this.readPhysical(pa, out, done, n);
      done += n;
    }
  }

  writeVirtual(pt: PageTable, la: number, src: Uint8Array, cpl: 0 | 3): void {
    if (src.length === 0) return; // nothing is accessed, nothing can fault (as readVirtual)
    const off = la & 4095;
    if (off + src.length <= 4096) {
      // Within one page (an ms structure, a small buffer): one translation, no list, and
      // writePhysical's work for one frame without its loop.
      const vpn = (la - off) / 4096;
      if (!(vpn === this.#vVpn && pt === this.#vPt && PageTable.generationOf(pt) === this.#vGen && this.frameEpoch === this.#vEpoch && (this.#vFlags & PTE.W) !== 0 && (cpl !== 3 || (this.#vFlags & PTE.U) !== 0) && this.#vWords.length !== 0)) {
        // A miss: the walk, then the frame, remembered as readVirtual's.
        const pa = this.translate(pt, la, true, cpl === 3, false);
        const pfn = Math.floor(pa / 4096);
        if (this.inPrm(pa) || pfn >= this.ramFrames) return; // the abort page drops writes
        this.#remember(pt, la, pfn, this.ramFrame(pfn, true)!);
      }
      copyDisjoint(this.#vFrame, off, src, 0, src.length);
      return;
    }
    // Translate every page and check its frame first: a faulting write changes nothing.
    const pas: number[] = [];
    for (let done = 0; done < src.length; ) {
      const a = la + done;
      const n = Math.min(4096 - (a & 4095), src.length - done);
      const pa = this.translate(pt, a, true, cpl === 3, false);
      this.checkFramesWhole(pa, n);
      pas.push(pa);
      done += n;
    }
    let done = 0;
    for (const pa of pas) {
      const n = Math.min(4096 - (pa & 4095), src.length - done);
      this.writePhysical(pa, src, done, n);
      done += n;
    }
  }

  // ---- EPC page contents (processor-internal only) -------------------------------------------

  /**
   * EPC plaintext. Pages not backing a memory live in slabs of 256 pages, allocated when first used
   * (zero-filled and untouched until written, so unused pages cost no memory); pages that back a
   * WebAssembly.Memory (mapMemory) are views into that memory's buffer. Invariant: a page's slab
   * bytes are zero whenever `#store[i]` is null. Everything reads through `peek` and writes through
   * `page`: a cached view of a memory is rebuilt when the memory's buffer was replaced
   * (memory.grow, even by 0 pages, detaches the old one).
   */
  readonly #store: (Uint8Array | null)[];
  readonly #slabs: (ArrayBuffer | undefined)[] = [];
  /**
   * The slab view of each page once made, kept when the page is freed and reused when it gets
   * storage again (a view is the same bytes whenever it is made; building an enclave makes no
   * object per page).
   */
  readonly #slabViews: (Uint8Array | undefined)[] = [];
  /** For a page backing a memory: its region and the page's index in it. */
  readonly #regionOf: (MemoryRegion | undefined)[] = [];
  #regionSlot = new Int32Array(0);

  /** The plaintext of page `i` for reading, or null when it is all zero (no storage). */
  peek(i: number): Uint8Array | null {
    const s = this.#store[i]!;
    if (this.backed[i] && (s === null || s.length === 0)) return this.#regionView(i);
    return s;
  }

  /** The plaintext of page `i` for writing (storage allocated on demand). */
  page(i: number): Uint8Array {
    const s = this.#store[i]!;
    if (s !== null && s.length !== 0) return s;
    return this.#newPage(i);
  }

  /** Storage for page `i`, which has none (or a view of a memory's detached buffer). */
  #newPage(i: number): Uint8Array {
    if (this.backed[i]) return this.#regionView(i);
    let v = this.#slabViews[i];
    if (v === undefined) {
      const k = Math.floor(i / 256);
      const slab = this.#slabs[k] ?? (this.#slabs[k] = new ArrayBuffer(256 * 4096));
      v = this.#slabViews[i] = new Uint8Array(slab, (i % 256) * 4096, 4096);
    }
    return (this.#store[i] = v);
  }

  #regionView(i: number): Uint8Array {
    return (this.#store[i] = new Uint8Array(this.#regionOf[i]!.memory.buffer, this.#regionSlot[i]! * 4096, 4096));
  }

  /**
   * Page `i` backs page `j` of `region`'s memory from now on (mapMemory): its contents move there
   * (or are dropped, with `copy` false) and its old storage is scrubbed.
   */
  bindRegionPage(i: number, region: MemoryRegion, j: number, copy: boolean): void {
    const old = this.backed[i] ? null : this.#store[i]!;
    if (this.#regionSlot.length === 0) this.#regionSlot = new Int32Array(this.epcPages);
    this.backed[i] = 1;
    this.#regionOf[i] = region;
    this.#regionSlot[i] = j;
    this.#store[i] = null;
    if (old) {
      if (copy) this.#regionView(i).set(old);
      old.fill(0); // no copy of the plaintext stays behind in the slab
    }
  }

  /** Page `i` backs page `j` of `region`'s memory now. */
  backsRegion(i: number, region: MemoryRegion, j: number): boolean {
    return this.backed[i] === 1 && this.#regionOf[i] === region && this.#regionSlot[i] === j;
  }

  /**
   * The engine gives `region`'s memory up (unmapMemory): each page still backing it keeps no
   * storage from now on (all zero, its slab bytes zero already: bindRegionPage scrubbed them) and
   * the memory's bytes are not touched (nothing is faulted in to scrub pages the enclave never
   * used). A page removed since, or backing another region now, is left alone.
   */
  releaseRegion(region: MemoryRegion): void {
    for (let j = 0; j < region.frames.length; j++) {
      const i = region.frames[j]!;
      if (this.#regionOf[i] !== region) continue;
      this.backed[i] = 0;
      this.#regionOf[i] = undefined;
      this.#store[i] = null;
      this.version[i]!++;
    }
  }

  /** Drop a page's contents (they become zero). */
  #clear(i: number): void {
    const s = this.backed[i] ? this.page(i) : this.#store[i];
    if (s) {
      s.fill(0);
      if (!this.backed[i]) this.#store[i] = null;
    }
  }

  /** Replace the contents of EPC page `i` (a processor write of a whole page). An all-zero source keeps no storage. */
  setPage(i: number, src: Uint8Array | null): void {
    this.version[i]!++;
    if (this.tampered[i]) this.#untampered(i);
    if (src === null || (!this.backed[i] && isZero(src, 0, 4096))) {
      this.#clear(i);
      return;
    }
    this.page(i).set(src.subarray(0, 4096));
  }

  /**
   * EADD's copy of SRCPGE into the (still invalid) page `i`: non-enclave reads, so a source inside
   * the PRM reads as all-ones. An all-zero source (a heap page) is not copied: the page keeps no
   * storage, its slab bytes stay untouched (no resident memory), and the result is null. Only the
   * bytes change: the caller commits (version, integrity) or undoes with `dropPage`.
   */
  loadPage(i: number, pa: number): Uint8Array | null {
    if (!this.inPrm(pa) && pa / 4096 < this.ramFrames) {
      const f = this.ramFrame(Math.floor(pa / 4096), false);
      if (!f || isZero(f, 0, 4096)) {
        this.#clear(i);
        return null;
      }
    }
    const p = this.page(i);
    this.readPhysical(pa, p);
    return p;
  }

  /** Undo a `loadPage` of an invalid page: its bytes become zero again, nothing else changes. */
  dropPage(i: number): void {
    this.#clear(i);
  }

  /** Mark a processor write to page `i` (advances its memory-encryption version). */
  touched(i: number): void {
    this.version[i]!++;
  }

  /** Page `i` no longer fails integrity (its contents are replaced or freed): its enclave's count of such pages goes down. */
  #untampered(i: number): void {
    this.tampered[i] = 0;
    if (!this.valid[i]) return;
    const o = this.secs[this.pt[i] === PT.SECS ? i : this.owner[i]!];
    if (o) o.tamperedPages--;
  }

  /**
   * EPC page `i` becomes valid with this EPCM entry (the commit of ECREATE, EADD, EPA, ELDx, EAUG;
   * the caller has set its contents). `owner` is the SECS's EPC index, or −1.
   */
  validatePage(i: number, pt: number, perm: number, state: number, owner: number, linAddr: number): void {
    this.valid[i] = 1;
    this.pt[i] = pt;
    this.perm[i] = perm;
    this.state[i] = state;
    this.owner[i] = owner;
    this.linAddr[i] = linAddr;
    this.validCount++;
    this.epcmEpoch++;
  }

  /** Free EPC page `i`: EPCM VALID = 0 and contents scrubbed (ED: zero on free). */
  freePage(i: number): void {
    if (this.tampered[i]) this.#untampered(i);
    this.#clear(i);
    this.backed[i] = 0;
    this.#regionOf[i] = undefined;
    this.#store[i] = null;
    this.#shown.delete(i);
    this.valid[i] = 0;
    this.pt[i] = 0;
    this.perm[i] = 0;
    this.state[i] = 0;
    this.owner[i] = -1;
    this.linAddr[i] = 0;
    this.version[i]!++;
    this.tampered[i] = 0;
    this.secs[i] = undefined;
    this.tcs[i] = undefined;
    this.validCount--;
    this.epcmEpoch++;
  }

  // ---- TCS mirror -----------------------------------------------------------------------------

  /**
   * The TCS fields the processor changes on every entry and exit (STATE, CSSA, AEP) live in the
   * TcsState and are written back to the page lazily, before anything reads the page's bytes
   * (EDBGRD, the DRAM view). The version advances at each change, as the MEE's would.
   */
  tcsChanged(t: TcsState): void {
    this.version[t.page]!++;
  }
  syncTcs(i: number): void {
    const t = this.tcs[i];
    if (!t || !this.valid[i]) return;
    const b = this.page(i);
    writeU64le(b, TCS_OFF.STATE, t.state === 'active' ? 1 : 0);
    writeU32le(b, TCS_OFF.CSSA, t.cssa);
    writeU64le(b, TCS_OFF.AEP, t.aep);
  }
  readTcsFields(i: number): Pick<TcsState, 'flags' | 'ossa' | 'cssa' | 'nssa' | 'oentry' | 'aep' | 'ofsbase' | 'ogsbase'> {
    const b = this.peek(i) ?? ZERO_PAGE;
    const n = (o: number) => u64leNumberOrNeg(b, o);
    return { flags: n(TCS_OFF.FLAGS), ossa: n(TCS_OFF.OSSA), cssa: u32le(b, TCS_OFF.CSSA), nssa: u32le(b, TCS_OFF.NSSA), oentry: n(TCS_OFF.OENTRY), aep: n(TCS_OFF.AEP), ofsbase: n(TCS_OFF.OFSBASE), ogsbase: n(TCS_OFF.OGSBASE) };
  }

  // ---- enclave-mode access decision (specs/sgx.md §8.1) ---------------------------------------

  /**
   * Resolve one linear page for an access by code running in enclave mode for `secs`.
   * Returns an EPC page index (≥ 0), or -(pa + 1) for an ordinary RAM access outside the PRM, or
   * throws the fault the SDM's decision procedure gives.
   */
  resolveEnclaveAccess(lp: LpState, secs: SecsState, la: number, write: boolean, fetch: boolean): number {
    // The walk (canonical, present) first; the PTE's permissions only after the SGX checks that
    // precede them in §8.1 (an EPCM identity failure is #PF with the SGX bit even where the PTE
    // would forbid the access too).
    const pt = lp.cr3;
    if (!(la >= 0 && la < USER_ADDRESS_LIMIT) && PageTable.identityLimitOf(pt) === 0) throw translateFault(la, write, true, fetch, -2);
    const e = PageTable.entryOf(pt, Math.floor(la / 4096));
    if (e < 0) throw translateFault(la, write, true, fetch, -1);
    const flags = e & 7;
    const pteDenies = (write && !(flags & PTE.W)) || !(flags & PTE.U) || (fetch && (flags & PTE.NX) !== 0);
    const pa = Math.floor(e / 8) * 4096 + (la & 4095);
    const inElrange = la >= secs.baseAddr && la < secs.baseAddr + secs.size;
    if (!this.inPrm(pa)) {
      if (inElrange) throw pf(la, PFEC.P | PFEC.US | PFEC.SGX | (write ? PFEC.W : 0) | (fetch ? PFEC.ID : 0), `ELRANGE address 0x${la.toString(16)} is not backed by the EPC`);
      if (fetch) throw gp(`instruction fetch outside ELRANGE at 0x${la.toString(16)}`);
      if (pteDenies) throw translateFault(la, write, true, fetch, flags);
      return -(pa + 1);
    }
    const i = this.epcIndex(pa);
    if (i < 0) {
      if (pteDenies) throw translateFault(la, write, true, fetch, flags);
      return -(pa + 1); // PRM metadata: abort page (handled by the caller's physical path)
    }
    if (fetch && !inElrange) throw gp(`instruction fetch outside ELRANGE at 0x${la.toString(16)}`);
    const pfec = PFEC.P | PFEC.US | PFEC.SGX | (write ? PFEC.W : 0) | (fetch ? PFEC.ID : 0);
    if (!this.valid[i] || this.state[i]! & EPCM_STATE.BLOCKED) throw pf(la, pfec, `EPCM: page 0x${(pa - (pa % 4096)).toString(16)} is invalid or blocked`);
    if (this.pt[i] !== PT.REG) throw pf(la, pfec, `EPCM: page at 0x${la.toString(16)} is not PT_REG`);
    if (this.owner[i] !== secs.page) throw pf(la, pfec, `EPCM: page at 0x${la.toString(16)} belongs to another enclave`);
    if (this.linAddr[i] !== la - (la & 4095)) throw pf(la, pfec, `EPCM: page mapped at 0x${la.toString(16)} was added at 0x${this.linAddr[i]!.toString(16)}`);
    if (this.state[i]! & (EPCM_STATE.PENDING | EPCM_STATE.MODIFIED)) throw pf(la, pfec, 'EPCM: page is pending or modified');
    if (pteDenies) throw translateFault(la, write, true, fetch, flags);
    const need = fetch ? PERM.X : write ? PERM.W : PERM.R;
    if (!(this.perm[i]! & need)) throw pf(la, pfec, `EPCM forbids ${fetch ? 'execute' : write ? 'write' : 'read'} at 0x${la.toString(16)}`);
    if (this.tampered[i]) this.lockUp(`integrity check failed on EPC page 0x${pa.toString(16)}`);
    return i;
  }

  /** Drop-and-lock: the MEE detected tampering; the memory controller locks (specs/sgx.md §12). */
  lockUp(reason: string): never {
    this.locked = reason;
    throw mc(`memory integrity failure, platform locked (drop-and-lock): ${reason}`);
  }

  // ---- the MEE view of DRAM (physical attacks) ------------------------------------------------

  /**
   * For a page backed by a WebAssembly memory, the plaintext DRAM last showed and the counter it
   * was shown under (see dramCiphertext); only pages someone read through DRAM have one.
   */
  readonly #shown = new Map<number, { readonly version: number; readonly epoch: number; readonly digest: string }>();

  #dramEpoch(i: number): number {
    const s = this.secs[this.owner[i]!];
    return this.backed[i] && s ? s.exitCount : 0;
  }

  #counterBlock(i: number): Uint8Array {
    const epoch = this.#dramEpoch(i);
    const seed = new Uint8Array(24);
    writeU64le(seed, 0, this.epcPa(i));
    writeU64le(seed, 8, this.version[i]!);
    writeU64le(seed, 16, epoch);
    const cb = this.crypto.sha256(seed).slice(0, 16);
    cb.fill(0, 12, 16);
    return cb;
  }

  /** What DRAM holds for EPC page `i`: AES-CTR ciphertext tweaked by address and version. */
  dramCiphertext(i: number): Uint8Array {
    if (this.pt[i] === PT.TCS) this.syncTcs(i);
    const plain = this.peek(i) ?? new Uint8Array(4096);
    if (this.backed[i]) this.#writtenBack(i, plain);
    return this.crypto.aesCtr128(this.boot.meeKey, this.#counterBlock(i), plain);
  }

  /**
   * A backed page is written by WebAssembly stores the model does not see, so its version does not
   * move with them; its epoch moves only at exits. DRAM showing another plaintext under a counter it
   * already showed one under would use a keystream twice (their XOR is the plaintexts' XOR). The
   * MEE's version moves at every write-back (specs/sgx.md §12): here, when DRAM is looked at and the
   * plaintext differs from the one last shown under the current counter, write-backs happened
   * since, and the version moves on.
   */
  #writtenBack(i: number, plain: Uint8Array): void {
    const digest = toHex(this.crypto.sha256(plain));
    const epoch = this.#dramEpoch(i);
    const last = this.#shown.get(i);
    if (last !== undefined && last.version === this.version[i] && last.epoch === epoch && last.digest !== digest) this.version[i]!++;
    this.#shown.set(i, { version: this.version[i]!, epoch, digest });
  }

  /** A DMA / cold-boot read of physical memory: RAM in the clear, the EPC as ciphertext, other PRM bytes as keystream. */
  dramRead(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = pa + done;
      const off = a & 4095;
      const n = Math.min(4096 - off, len - done);
      const i = this.epcIndex(a);
      if (i >= 0) out.set(this.dramCiphertext(i).subarray(off, off + n), done);
      else if (this.inPrm(a)) {
        const cb = new Uint8Array(16);
        writeU64le(cb, 0, a - off);
        out.set(this.crypto.aesCtr128(this.boot.meeKey, cb, new Uint8Array(4096)).subarray(off, off + n), done);
      } else this.readPhysical(a, out, done, n);
      done += n;
    }
    return out;
  }

  /**
   * A DMA write into DRAM. Into the EPC: writing back exactly the current ciphertext changes
   * nothing; anything else (garbage, or an older ciphertext: a replay) fails the MEE's integrity
   * check, and the next enclave access to the page locks the platform.
   */
  dramWrite(pa: number, data: Uint8Array): { tamperedPages: number } {
    this.checkFramesWhole(pa, data.length); // before any page is written or marked tampered
    let done = 0;
    let tamperedPages = 0;
    while (done < data.length) {
      const a = pa + done;
      const off = a % 4096;
      const n = Math.min(4096 - off, data.length - done);
      const i = this.epcIndex(a);
      if (i >= 0) {
        const current = this.dramCiphertext(i);
        let same = true;
        for (let k = 0; k < n; k++) if (current[off + k] !== data[done + k]) { same = false; break; }
        if (!same && !this.tampered[i]) {
          this.tampered[i] = 1;
          this.epcmEpoch++;
          tamperedPages++;
          const s = this.valid[i] ? this.secs[this.pt[i] === PT.SECS ? i : this.owner[i]!] : undefined;
          if (s) s.tamperedPages++;
        }
      } else if (!this.inPrm(a)) this.writePhysical(a, data, done, n);
      done += n;
    }
    return { tamperedPages };
  }
}

/** The fault of a failed page walk (kept out of line so that `translate` stays small). */
function translateFault(la: number, write: boolean, user: boolean, fetch: boolean, flags: number): ArchFault {
  const pfecBase = (write ? PFEC.W : 0) | (user ? PFEC.US : 0) | (fetch ? PFEC.ID : 0);
  if (flags === -2) return gp(`linear address 0x${la.toString(16)} is not canonical in the modelled user half`);
  if (flags === -1) return pf(la, pfecBase, `page 0x${(la - (la % 4096)).toString(16)} is not present`);
  return pf(la, pfecBase | PFEC.P, `PTE forbids the access at 0x${la.toString(16)}`);
}

export { ArchFault, VECTOR };

/**
 * Largest single-page read of RAM that readVirtual copies as words split into bytes (Node 20,
 * 64 bytes into a caller's array: ~26 ns, against ~35 for byte copies and ~45 for a subarray view
 * and TypedArray#set).
 */
const WORD_SPLIT_MAX = 256;

/** `n` words between a RAM frame's word view `fw` (from word `o`) and `words` (from word `w`): into the frame when `write`. */
export function copyFrameWords(fw: Int32Array, o: number, words: Int32Array, w: number, n: number, write: boolean): void {
  if (write) for (let k = 0; k < n; k++) fw[o + k] = words[w + k]!;
  else for (let k = 0; k < n; k++) words[w + k] = fw[o + k]!;
}

/**
 * out[0, len) = the `len` bytes (a multiple of 4) of words w[o…] (little-endian host). Each store is
 * masked to its byte: `out` may clamp rather than truncate (a Uint8ClampedArray, which a Uint8Array
 * subclass's subarray can return) or be no typed array at all.
 */
function splitWords(out: Uint8Array, w: Int32Array, o: number, len: number): void {
  for (let j = 0; j < len; j += 4) {
    const v = w[o + (j >> 2)]!;
    out[j] = v & 255;
    out[j + 1] = (v >> 8) & 255;
    out[j + 2] = (v >> 16) & 255;
    out[j + 3] = v >>> 24;
  }
}
