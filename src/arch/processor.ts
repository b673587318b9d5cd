/**
 * The processor: a package with EPC, EPCM, memory encryption, package secrets and logical
 * processors that execute ENCLS (ring 0) and ENCLU (ring 3). Its state is private: the public
 * surface is the instruction set, non-enclave memory access (abort-page semantics), the DRAM view
 * a physical attacker has, and metadata inspection that never reveals page contents.
 */
import { ENCLS_EVENTS, ENCLU_EVENTS, type SgxCounters, type SgxEvent } from './costs.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { defaultCrypto } from '../lib/crypto/default.js';
import { toHex, fromHex, plainView } from '../lib/bytes.js';
import { MachineState, PERM, EPCM_STATE, type LpState } from './machine.js';
import { resolveProcessorConfig, type ProcessorConfig, type ProcessorFeatures } from './config.js';
import { derivePlatformSecrets, drawBootSecrets, saveSecrets, loadSecrets, type SavedSecrets } from './secrets.js';
import { ENCLS, ENCLU, ENCLS_FEATURE, ENCLU_FEATURE, PT, PAGE_TYPE_NAMES, VECTOR } from './constants.js';
import { ArchError } from './errors.js';
import { gp, ud } from './faults.js';
import { PageTable } from './mmu.js';
import * as L from './encls.js';
import * as P from './paging.js';
import * as S2 from './sgx2.js';
import { hostEnclu } from './enclu.js';
import type { EnclaveEngine, ExitHandler, ExitInfo, Registers } from './engine.js';

/** Options for a new processor: configuration, crypto provider and platform identity. */
export interface ProcessorOptions extends Partial<Omit<ProcessorConfig, 'features'>> {
  readonly features?: Partial<ProcessorFeatures>;
  readonly crypto?: CryptoProvider;
  /** The platform seed (≥ 16 bytes). Absent: a fresh random platform. */
  readonly seed?: Uint8Array;
  /** CR_SGXOWNEREPOCH (16 bytes); default derived from the seed. */
  readonly ownerEpoch?: Uint8Array;
  /** The enclave execution engine (what runs at OENTRY). */
  readonly engine?: EnclaveEngine;
}

/** A saved processor: configuration and platform identity, enough to restart "the same machine". */
export interface SavedProcessor {
  readonly format: 'witness-processor';
  readonly version: 1;
  readonly secrets: SavedSecrets;
  readonly config: Record<string, unknown>;
}

/** One EPCM entry, as metadata (never contents). */
export interface EpcmEntry {
  readonly valid: boolean;
  readonly pageType: number;
  readonly pageTypeName: string;
  readonly r: boolean;
  readonly w: boolean;
  readonly x: boolean;
  readonly blocked: boolean;
  readonly pending: boolean;
  readonly modified: boolean;
  /** EPCM.PR: a permission restriction (EMODPR) the enclave has not accepted yet. */
  readonly pr: boolean;
  /** Physical address of the owning SECS, or null. */
  readonly owner: number | null;
  readonly linAddr: number;
}

/** `epcMap().types` of a page that holds nothing (EPCM.VALID = 0). */
export const EPC_PAGE_FREE = 0xff;

/** The EPCM at a glance (`ProcessorInspector.epcMap`). */
export interface EpcMap {
  /** The physical address of the first EPC page. */
  readonly base: number;
  /** Per page: PT_SECS, PT_TCS, PT_REG, PT_VA, PT_TRIM … or EPC_PAGE_FREE. */
  readonly types: Uint8Array;
  /** Per page: the EPC index of the owning SECS, or −1. */
  readonly owners: Int32Array;
}

/** Lifecycle of an enclave (style rule 7). */
export type EnclaveLifecycle = 'uninitialized' | 'initialized';

export interface EnclaveInfo {
  readonly secs: number;
  readonly eid: number;
  readonly baseAddr: number;
  readonly size: number;
  readonly state: EnclaveLifecycle;
  readonly attributesFlags: bigint;
  readonly xfrm: bigint;
  readonly miscSelect: number;
  readonly ssaFrameSize: number;
  /** Null until EINIT. */
  readonly mrenclave: Uint8Array | null;
  readonly mrsigner: Uint8Array | null;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly pages: number;
  readonly activeThreads: number;
  readonly tcs: readonly { readonly linAddr: number; readonly state: 'idle' | 'active'; readonly cssa: number; readonly nssa: number; readonly aexCount: number }[];
}

/** An ENCLS operand that is not a number (EDBGWR's value: not a bigint). */
function badOperands(what: string, operands: Record<string, unknown>): ArchError {
  const bad = Object.entries(operands).filter(([k, v]) => typeof v !== (k === 'value' ? 'bigint' : 'number')).map(([k]) => k);
  return new ArchError('BAD_OPERANDS', `${what}: ${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} not ${bad.includes('value') ? 'of the register\'s type' : 'a number'} (registers hold integers)`, { operands: bad });
}

/** A register's number as the u64 it holds: its integer part modulo 2^64 (NaN and ±Infinity, which no register holds, as 0), as the processor stores registers (enclu.ts putRegister). */
function registerU64(v: number): bigint {
  return Number.isFinite(v) ? BigInt.asUintN(64, BigInt(Math.trunc(v))) : 0n;
}

const ENCLS_NAMES = new Map<number, string>(Object.entries(ENCLS).map(([k, v]) => [v, k]));

const MSR = {
  FEATURE_CONTROL: 0x3a,
  SGXLEPUBKEYHASH0: 0x8c,
  SGXLEPUBKEYHASH3: 0x8f,
} as const;

export class LogicalProcessor {
  readonly #m: MachineState;
  readonly #lp: LpState;

  /** @internal */
  constructor(m: MachineState, lp: LpState) {
    this.#m = m;
    this.#lp = lp;
  }

  get index(): number {
    return this.#lp.index;
  }
  /** Current privilege level (0 = kernel, 3 = user). Set by the OS on every transition. */
  get cpl(): 0 | 3 {
    return this.#lp.cpl;
  }
  set cpl(v: 0 | 3) {
    if (this.#lp.enclaveMode) throw new ArchError('LP_IN_ENCLAVE', 'cannot change CPL while the logical processor is in enclave mode');
    this.#lp.cpl = v;
  }
  /** The current page table (CR3). */
  get cr3(): PageTable {
    return this.#lp.cr3;
  }
  set cr3(pt: PageTable) {
    if (!PageTable.isGenuine(pt)) throw new ArchError('BAD_PAGE_TABLE', 'CR3 takes a PageTable made by its constructor (not a subclass or a look-alike)');
    if (this.#lp.enclaveMode) throw new ArchError('LP_IN_ENCLAVE', 'cannot change CR3 while the logical processor is in enclave mode');
    this.#lp.cr3 = pt;
  }
  get inEnclaveMode(): boolean {
    return this.#lp.enclaveMode;
  }
  /** RBX after EDBGRD. */
  get dataOut(): bigint {
    return this.#lp.dataOut;
  }

  /**
   * Execute ENCLS leaf `leaf` (ring 0 only). Returns RAX (the SGX status code; 0 for leaves that
   * report none). Throws `ArchFault` when the leaf faults (it then changed nothing).
   */
  encls(leaf: number, rbx = 0, rcx = 0, rdx = 0): number {
    const m = this.#m, lp = this.#lp;
    // Registers hold integers: a value of another kind could answer differently to a check and to its use.
    if (typeof leaf !== 'number' || typeof rbx !== 'number' || typeof rcx !== 'number' || typeof rdx !== 'number') throw badOperands('ENCLS', { leaf, rbx, rcx, rdx });
    if (leaf >= 0 && leaf < 32) m.enclsCounts[leaf]++; // (every execution, a faulting one too: a cost model prices them)
    // EEXTEND runs 16 times per measured page and EADD once per page: their preamble is the same
    // checks, in a shorter path.
    if (lp.cpl === 0 && !lp.enclaveMode && m.locked === null && m.enclaveReady) {
      if (leaf === ENCLS.EEXTEND) return L.eextend(m, lp, rbx, rcx);
      if (leaf === ENCLS.EADD) return L.eadd(m, lp, rbx, rcx);
    }
    if (!m.config.features.sgx1) throw ud('ENCLS: SGX is not implemented by this processor');
    if (lp.cpl !== 0) throw ud('ENCLS requires CPL 0');
    if (lp.enclaveMode) throw ud('ENCLS inside an enclave');
    if (!m.featureControl.lock || !m.featureControl.sgxEnable) throw gp('ENCLS: SGX is not enabled in IA32_FEATURE_CONTROL');
    const feature = ENCLS_FEATURE[leaf];
    if (feature === undefined || (feature === 'SGX2' && !m.config.features.sgx2)) throw gp(`ENCLS: unsupported leaf 0x${leaf.toString(16)}`);
    m.checkLocked();
    switch (leaf) {
      case ENCLS.ECREATE: return L.ecreate(m, lp, rbx, rcx);
      case ENCLS.EADD: return L.eadd(m, lp, rbx, rcx);
      case ENCLS.EEXTEND: return L.eextend(m, lp, rbx, rcx);
      case ENCLS.EINIT: return L.einit(m, lp, rbx, rcx, rdx);
      case ENCLS.EREMOVE: return L.eremove(m, lp, rcx);
      case ENCLS.EDBGRD: return L.edbgrd(m, lp, rcx);
      case ENCLS.EDBGWR: return L.edbgwr(m, lp, rcx, registerU64(rbx));
      case ENCLS.EPA: return P.epa(m, lp, rbx, rcx);
      case ENCLS.EBLOCK: return P.eblock(m, lp, rcx);
      case ENCLS.ETRACK: return P.etrack(m, lp, rcx);
      case ENCLS.EWB: return P.ewb(m, lp, rbx, rcx, rdx);
      case ENCLS.ELDB: return P.eld(m, lp, rbx, rcx, rdx, true);
      case ENCLS.ELDU: return P.eld(m, lp, rbx, rcx, rdx, false);
      case ENCLS.EAUG: return S2.eaug(m, lp, rbx, rcx);
      case ENCLS.EMODPR: return S2.emodpr(m, lp, rbx, rcx);
      case ENCLS.EMODT: return S2.emodt(m, lp, rbx, rcx);
      default: // (unreachable: every leaf ENCLS_FEATURE lists is modelled)
        throw new ArchError('LEAF_NOT_MODELLED', `ENCLS[${ENCLS_NAMES.get(leaf)}] is architectural but not modelled`, { leaf });
    }
  }

  /** EDBGWR with a full 64-bit value. */
  edbgwr(rcx: number, value: bigint): number {
    const m = this.#m, lp = this.#lp;
    if (typeof rcx !== 'number' || typeof value !== 'bigint') throw badOperands('EDBGWR', { rcx, value });
    m.enclsCounts[ENCLS.EDBGWR]++; // (as encls counts every execution)
    if (!m.config.features.sgx1) throw ud('ENCLS: SGX is not implemented by this processor');
    if (lp.cpl !== 0) throw ud('ENCLS requires CPL 0');
    if (!m.featureControl.lock || !m.featureControl.sgxEnable) throw gp('ENCLS: SGX is not enabled in IA32_FEATURE_CONTROL');
    m.checkLocked();
    return L.edbgwr(m, lp, rcx, BigInt.asUintN(64, value));
  }

  /**
   * Execute ENCLU[EENTER] or ENCLU[ERESUME] from host code (CPL 3). `regs` carries RBX = TCS,
   * RCX = AEP and the other registers, and is updated as hardware leaves them when control comes
   * back (EEXIT: the enclave's registers, RIP = target, RCX = AEP; AEX: the synthetic state).
   * `handler` is the host code at the AEP / exit target (see `ExitHandler`).
   */
  enclu(leaf: number, regs: Registers, handler: ExitHandler | null = null): ExitInfo {
    if ((leaf === ENCLU.EENTER || leaf === ENCLU.ERESUME) && this.#m.enclaveReady) return hostEnclu(this.#m, this.#lp, leaf, regs, handler);
    if (!this.#m.config.features.sgx1) throw ud('ENCLU: SGX is not implemented by this processor');
    // specs/sgx.md §7.0: step 1's #UD (CPL < 3) before step 2's #GP (an unsupported leaf, FEATURE_CONTROL).
    if (this.#lp.cpl !== 3) throw ud('ENCLU requires CPL 3');
    const feature = ENCLU_FEATURE[leaf];
    if (feature === undefined || (feature === 'SGX2' && !this.#m.config.features.sgx2)) throw gp(`ENCLU: unsupported leaf ${leaf}`);
    if (!this.#m.featureControl.lock || !this.#m.featureControl.sgxEnable) throw gp('ENCLU: SGX is not enabled');
    return hostEnclu(this.#m, this.#lp, leaf, regs, handler);
  }

  /** WRMSR (ring 0). Models IA32_SGXLEPUBKEYHASH0..3 (writable only with FLC unlocked for the OS). */
  wrmsr(msr: number, value: bigint): void {
    const m = this.#m;
    if (this.#lp.cpl !== 0) throw gp('WRMSR requires CPL 0');
    if (msr >= MSR.SGXLEPUBKEYHASH0 && msr <= MSR.SGXLEPUBKEYHASH3) {
      if (!m.featureControl.lock || !m.featureControl.sgxLc) throw gp('WRMSR: IA32_SGXLEPUBKEYHASH is read-only (no Flexible Launch Control)');
      const i = msr - MSR.SGXLEPUBKEYHASH0;
      const v = BigInt.asUintN(64, value);
      for (let k = 0; k < 8; k++) m.lePubKeyHash[i * 8 + k] = Number((v >> BigInt(8 * k)) & 0xffn);
      return;
    }
    throw gp(`WRMSR: MSR 0x${msr.toString(16)} is not modelled or not writable`);
  }

  rdmsr(msr: number): bigint {
    const m = this.#m;
    if (this.#lp.cpl !== 0) throw gp('RDMSR requires CPL 0');
    if (msr === MSR.FEATURE_CONTROL) return (m.featureControl.lock ? 1n : 0n) | (m.featureControl.sgxLc ? 1n << 17n : 0n) | (m.featureControl.sgxEnable ? 1n << 18n : 0n);
    if (msr >= MSR.SGXLEPUBKEYHASH0 && msr <= MSR.SGXLEPUBKEYHASH3) {
      const i = msr - MSR.SGXLEPUBKEYHASH0;
      let v = 0n;
      for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(m.lePubKeyHash[i * 8 + k]!);
      return v;
    }
    throw gp(`RDMSR: MSR 0x${msr.toString(16)} is not modelled`);
  }

  /** Raise an external interrupt on this logical processor; it is taken at the next interrupt window. */
  injectInterrupt(vector = 0x20): void {
    if (!Number.isInteger(vector) || vector < 32 || vector > 255) throw new ArchError('BAD_VECTOR', 'external interrupt vectors are 32..255');
    this.#lp.pendingInterrupt = vector;
  }

  get interruptPending(): boolean {
    return this.#lp.pendingInterrupt !== null;
  }
}

export class Processor {
  readonly #m: MachineState;
  readonly config: ProcessorConfig;
  readonly lps: readonly LogicalProcessor[];
  /** The processor's view of physical memory from outside enclave mode and the attacker's DRAM view. */
  readonly memory: ProcessorMemory;
  readonly inspect: ProcessorInspector;

  constructor(options: ProcessorOptions = {}) {
    const crypto = options.crypto ?? defaultCrypto();
    const config = resolveProcessorConfig(options);
    const seed = options.seed ?? crypto.randomBytes(32);
    const secrets = derivePlatformSecrets(crypto, seed, options.ownerEpoch);
    const m = new MachineState(config, crypto, secrets, drawBootSecrets(crypto));
    m.featureControl.sgxLc = config.features.flc;
    m.featureControl.sgxEnable = config.features.biosEnabled;
    if (options.engine) m.engine = options.engine;
    this.#m = m;
    this.config = config;
    this.lps = m.lps.map((lp) => new LogicalProcessor(m, lp));
    this.memory = new ProcessorMemory(m);
    this.inspect = new ProcessorInspector(m);
  }

  /** Restart a saved machine: same configuration and platform secrets, fresh per-boot secrets. */
  static restore(saved: SavedProcessor, options: Omit<ProcessorOptions, 'seed'> = {}): Processor {
    if (saved?.format !== 'witness-processor' || saved.version !== 1) throw new ArchError('SAVED_PROCESSOR_INVALID', 'not a saved Witness processor (format witness-processor, version 1)');
    const crypto = options.crypto ?? defaultCrypto();
    let secrets;
    try {
      secrets = loadSecrets(crypto, saved.secrets);
    } catch (e) {
      if (e instanceof ArchError) throw e;
      throw new ArchError('SAVED_PROCESSOR_INVALID', 'the saved platform secrets are not valid hex', {}, { cause: e });
    }
    const c = saved.config as Record<string, unknown> | null | undefined;
    const invalid = (why: string, cause?: unknown): ArchError => new ArchError('SAVED_PROCESSOR_INVALID', `the saved processor's ${why}`, {}, cause === undefined ? undefined : { cause });
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw invalid('configuration is not an object');
    if (c.features !== undefined && (typeof c.features !== 'object' || c.features === null || Array.isArray(c.features))) throw invalid('features are not an object');
    const num = (k: string) => (typeof c[k] === 'number' ? (c[k] as number) : undefined);
    const big = (k: string) => {
      const v = c[k];
      if (typeof v !== 'string') return undefined;
      try {
        return BigInt(v);
      } catch (e) {
        throw invalid(`${k} is not an integer`, e);
      }
    };
    const features = (c.features ?? {}) as Partial<ProcessorFeatures>;
    let cpusvn: Uint8Array | undefined;
    try {
      cpusvn = typeof c.cpusvn === 'string' ? fromHex(c.cpusvn) : undefined;
    } catch (e) {
      throw invalid('CPUSVN is not hex', e);
    }
    return new Processor({
      ...options,
      crypto,
      seed: secrets.seed,
      ownerEpoch: secrets.ownerEpoch,
      epcSize: options.epcSize ?? num('epcSize'),
      ramSize: options.ramSize ?? num('ramSize'),
      logicalProcessors: options.logicalProcessors ?? num('logicalProcessors'),
      features: { ...features, ...(options.features ?? {}) },
      cpusvn: options.cpusvn ?? cpusvn,
      attributesFlagsMask: options.attributesFlagsMask ?? big('attributesFlagsMask'),
      xfrmMask: options.xfrmMask ?? big('xfrmMask'),
      miscselectMask: options.miscselectMask ?? num('miscselectMask'),
      maxEnclaveSizeLog2: options.maxEnclaveSizeLog2 ?? num('maxEnclaveSizeLog2'),
      xcr0: options.xcr0 ?? big('xcr0'),
      strictSigstructHeader: options.strictSigstructHeader ?? (typeof c.strictSigstructHeader === 'boolean' ? c.strictSigstructHeader : undefined),
      einitUnmaskedEventRate: options.einitUnmaskedEventRate ?? num('einitUnmaskedEventRate'),
    } as ProcessorOptions);
  }

  save(): SavedProcessor {
    const c = this.config;
    return {
      format: 'witness-processor',
      version: 1,
      secrets: saveSecrets(this.#m.secrets),
      config: {
        epcSize: c.epcSize, ramSize: c.ramSize, logicalProcessors: c.logicalProcessors, features: { ...c.features }, cpusvn: toHex(c.cpusvn),
        attributesFlagsMask: '0x' + c.attributesFlagsMask.toString(16), xfrmMask: '0x' + c.xfrmMask.toString(16), miscselectMask: c.miscselectMask,
        maxEnclaveSizeLog2: c.maxEnclaveSizeLog2, xcr0: '0x' + c.xcr0.toString(16),
        strictSigstructHeader: c.strictSigstructHeader, einitUnmaskedEventRate: c.einitUnmaskedEventRate,
      },
    };
  }

  /** Install the enclave execution engine (once, before any enclave runs). */
  setEngine(engine: EnclaveEngine): void {
    if (this.#m.engine && this.#m.engine !== engine) throw new ArchError('ENGINE_SET', 'the execution engine is part of the processor and is set once');
    this.#m.engine = engine;
  }

  /**
   * Observe every interrupt window of enclave execution (the kernel's APIC-timer capability, as
   * used by single-stepping attacks). The hook runs outside the enclave's view; it may inject
   * interrupts or run other logical processors.
   */
  setStepHook(hook: ((lp: LogicalProcessor) => void) | null): void {
    this.#m.stepHook = hook ? (lp) => hook(this.lps[lp.index]!) : null;
  }

  /**
   * Install the kernel's page-fault handler (the #PF entry of its IDT; null: none). It is called
   * when a #PF is delivered for code on a logical processor (an AEX's, or that of an ENCLU itself),
   * with that processor outside enclave mode, the faulting linear address and the error code. It
   * returns true when it resolved the fault (e.g. loaded an evicted page again): the host at the
   * AEP then sees an interrupt's AEX (and resumes), and a faulting ENCLU is executed again.
   */
  setPageFaultHandler(handler: ((lp: LogicalProcessor, address: number, errorCode: number) => boolean) | null): void {
    if (handler !== null && typeof handler !== 'function') throw new ArchError('BAD_HANDLER', 'the page-fault handler must be a function or null');
    this.#m.pageFaultHandler = handler ? (lp, address, errorCode) => handler(this.lps[lp.index]!, address, errorCode) : null;
  }

  /** The identity-mapped page table the model kernel uses for ENCLS operands. */
  get kernelPageTable(): PageTable {
    return this.#m.kernelPageTable;
  }
  /** Physical base of the EPC. */
  get epcBase(): number {
    return this.#m.epcBase;
  }
  get epcPages(): number {
    return this.#m.epcPages;
  }
  /** The processor-reserved memory range [base, base + size) (EPC + metadata). */
  get prm(): { readonly base: number; readonly size: number } {
    return { base: this.#m.prmBase, size: this.#m.prmSize };
  }
  /** Ordinary RAM is [0, ramSize). */
  get ramSize(): number {
    return this.#m.config.ramSize;
  }
  /** Non-null once the memory controller locked after an integrity failure. */
  get locked(): string | null {
    return this.#m.locked;
  }
  get crypto(): CryptoProvider {
    return this.#m.crypto;
  }
}

/** Memory as seen from outside enclave mode. */
export class ProcessorMemory {
  readonly #m: MachineState;
  /** @internal */
  constructor(m: MachineState) {
    this.#m = m;
  }
  /** Non-enclave physical read: RAM bytes; the PRM reads as all-ones (abort page). */
  readPhysical(pa: number, len: number): Uint8Array {
    physicalRange('readPhysical', pa, len);
    const out = new Uint8Array(len);
    this.#m.readPhysical(pa, out);
    return out;
  }
  readPhysicalInto(pa: number, out: Uint8Array): void {
    physicalRange('readPhysicalInto', pa, out.length);
    this.#m.readPhysical(pa, out);
  }
  /** Non-enclave physical write of `data[offset, offset + length)`: writes into the PRM are dropped. */
  writePhysical(pa: number, data: Uint8Array, offset = 0, length = data.length - offset): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > data.length) throw new ArchError('BAD_RANGE', `writePhysical: [${offset}, ${offset}+${length}) is outside the ${data.length} bytes given`);
    physicalRange('writePhysical', pa, length);
    this.#m.writePhysical(pa, data, offset, length);
  }
  /**
   * Back the RAM frame at `pa` (4K-aligned, in RAM) with the 4096 bytes of `bytes` at `offset`, in
   * place (not copied), and return the bytes the frame had (a frame never written had none, nor
   * one lent bytes since detached: a fresh zero array). This is how a kernel hands an instruction
   * a caller's page without a bounce copy (a pinned user page): every access to the frame reaches
   * those bytes until it is swapped back, so
   * they must stay as they are meanwhile. `bytes` must be a genuine Uint8Array over a fixed-length,
   * unshared ArrayBuffer, the bytes 4-aligned in it (RAM frames are read by words); the frame gets a
   * fresh view of them (lib/bytes.ts plainView). Throws ArchError BAD_FRAME, changing nothing,
   * otherwise. (The PRM lies above RAM, so no frame of it qualifies.)
   */
  swapFrame(pa: number, bytes: Uint8Array, offset = 0): Uint8Array {
    const m = this.#m;
    const view = plainView(bytes, offset, 4096);
    if (!(Number.isSafeInteger(pa) && pa >= 0 && pa % 4096 === 0 && pa / 4096 < m.ramFrames) || view === null) {
      throw new ArchError('BAD_FRAME', `swapFrame: ${typeof pa === 'number' ? `0x${pa.toString(16)}` : typeof pa} is not a RAM frame, or there are not 4096 lendable bytes at ${String(offset)}`, { pa: typeof pa === 'number' ? pa : null });
    }
    return m.swapFrame(pa / 4096, view) ?? new Uint8Array(4096);
  }
  /** Read through a page table as non-enclave code at `cpl`. Faults (#PF) when unmapped. */
  readVirtual(pt: PageTable, la: number, len: number, cpl: 0 | 3 = 3): Uint8Array {
    const out = new Uint8Array(len);
    this.#m.readVirtual(pt, la, out, cpl);
    return out;
  }
  readVirtualInto(pt: PageTable, la: number, out: Uint8Array, cpl: 0 | 3 = 3): void {
    this.#m.readVirtual(pt, la, out, cpl);
  }
  writeVirtual(pt: PageTable, la: number, data: Uint8Array, cpl: 0 | 3 = 3): void {
    this.#m.writeVirtual(pt, la, data, cpl);
  }
  /** What a DMA device or a cold-boot dump reads: RAM in the clear, the EPC as MEE ciphertext. */
  dramRead(pa: number, len: number): Uint8Array {
    physicalRange('dramRead', pa, len);
    return this.#m.dramRead(pa, len);
  }
  /** A DMA write. Into the EPC, anything but the current ciphertext fails integrity at the next enclave access. */
  dramWrite(pa: number, data: Uint8Array): { tamperedPages: number } {
    physicalRange('dramWrite', pa, data.length);
    return this.#m.dramWrite(pa, data);
  }
}

/** A physical range [pa, pa+len) must be of non-negative safe integers (the physical address space starts at 0). */
function physicalRange(what: string, pa: number, len: number): void {
  if (!Number.isSafeInteger(pa) || pa < 0 || !Number.isSafeInteger(len) || len < 0 || !Number.isSafeInteger(pa + len)) {
    throw new ArchError('BAD_PHYSICAL_ADDRESS', `${what}: [${pa}, +${len}) is not a range of physical addresses`);
  }
}

/** Metadata about the EPC and its enclaves; never page contents. */
export class ProcessorInspector {
  readonly #m: MachineState;
  /** @internal */
  constructor(m: MachineState) {
    this.#m = m;
  }
  /**
   * How many times each leaf ran and each kind of AEX happened since the processor was made (see
   * costs.ts: `countersSince` for a run's own, `estimateCost` for what they would cost on hardware).
   */
  get counters(): SgxCounters {
    const m = this.#m;
    const out = {} as Record<SgxEvent, number>;
    ENCLS_EVENTS.forEach((k, i) => (out[k] = m.enclsCounts[i]!));
    ENCLU_EVENTS.forEach((k, i) => (out[k] = m.encluCounts[i]!));
    out.EENTER = m.eenters;
    out.EEXIT = m.eexits;
    out.AEX_INTERRUPT = m.aexCounts[0]!;
    out.AEX_EXCEPTION = m.aexCounts[1]!;
    return out;
  }
  get freeEpcPages(): number {
    return this.#m.epcPages - this.#m.validCount;
  }
  get validEpcPages(): number {
    return this.#m.validCount;
  }
  epcm(pa: number): EpcmEntry {
    const m = this.#m;
    const i = m.epcIndex(pa);
    if (i < 0) throw new ArchError('NOT_EPC', `0x${pa.toString(16)} is not an EPC address`);
    const owner = m.owner[i]!;
    return {
      valid: m.valid[i] === 1, pageType: m.pt[i]!, pageTypeName: PAGE_TYPE_NAMES[m.pt[i]!] ?? '?', r: (m.perm[i]! & PERM.R) !== 0, w: (m.perm[i]! & PERM.W) !== 0, x: (m.perm[i]! & PERM.X) !== 0,
      blocked: (m.state[i]! & EPCM_STATE.BLOCKED) !== 0, pending: (m.state[i]! & EPCM_STATE.PENDING) !== 0, modified: (m.state[i]! & EPCM_STATE.MODIFIED) !== 0, pr: (m.state[i]! & EPCM_STATE.PR) !== 0,
      owner: owner >= 0 ? m.epcPa(owner) : null, linAddr: m.linAddr[i]!,
    };
  }
  /**
   * The whole EPCM at a glance, for a map of the EPC: per EPC page (in physical order from
   * `base`), its page type (PT_*) or `EPC_PAGE_FREE`, and the EPC index of its owning SECS (−1 for
   * none, and for a SECS itself). Metadata only, as `epcm()`; two arrays of its own per call.
   */
  epcMap(): EpcMap {
    const m = this.#m;
    const n = m.epcPages;
    const types = new Uint8Array(n).fill(EPC_PAGE_FREE);
    const owners = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      if (m.valid[i] !== 1) continue;
      types[i] = m.pt[i]!;
      owners[i] = m.owner[i]!;
    }
    return { base: m.epcBase, types, owners };
  }
  enclaves(): EnclaveInfo[] {
    const m = this.#m;
    const out: EnclaveInfo[] = [];
    for (let i = 0; i < m.epcPages; i++) {
      const s = m.secs[i];
      if (!s || !m.valid[i]) continue;
      const tcs = [];
      for (let j = 0; j < m.epcPages; j++) {
        const t = m.tcs[j];
        if (t && t.secs === s && m.valid[j]) tcs.push({ linAddr: t.linAddr, state: t.state, cssa: t.cssa, nssa: t.nssa, aexCount: t.aexCount });
      }
      tcs.sort((a, b) => a.linAddr - b.linAddr);
      out.push({
        secs: m.epcPa(i), eid: s.eid, baseAddr: s.baseAddr, size: s.size, state: s.initialized ? 'initialized' : 'uninitialized', attributesFlags: s.flags, xfrm: s.xfrm,
        miscSelect: s.miscSelect, ssaFrameSize: s.ssaFrameSize, mrenclave: s.initialized ? s.mrenclave.slice() : null, mrsigner: s.initialized ? s.mrsigner.slice() : null,
        isvProdId: s.isvProdId, isvSvn: s.isvSvn, pages: s.childCount, activeThreads: s.activeThreads, tcs,
      });
    }
    return out;
  }
  /** The LE public-key hash MSRs (IA32_SGXLEPUBKEYHASH0..3) as 32 bytes. */
  get lePubKeyHash(): Uint8Array {
    return this.#m.lePubKeyHash.slice();
  }
  get flexibleLaunchControl(): boolean {
    return this.#m.featureControl.sgxLc;
  }
  /** CPUID-style facts about SGX support (what `witness platform info` prints). */
  get cpuid(): { readonly sgx1: boolean; readonly sgx2: boolean; readonly flc: boolean; readonly kss: boolean; readonly enabled: boolean; readonly maxEnclaveSizeLog2: number; readonly miscselectMask: number; readonly attributesFlagsMask: bigint; readonly xfrmMask: bigint } {
    const c = this.#m.config;
    return { sgx1: c.features.sgx1, sgx2: c.features.sgx1 && c.features.sgx2, flc: c.features.flc, kss: c.features.kss, enabled: this.#m.featureControl.sgxEnable, maxEnclaveSizeLog2: c.maxEnclaveSizeLog2, miscselectMask: c.miscselectMask, attributesFlagsMask: c.attributesFlagsMask, xfrmMask: c.xfrmMask };
  }
  get cpusvn(): Uint8Array {
    return this.#m.config.cpusvn.slice();
  }
}

export { PT, VECTOR };
