/**
 * Helpers for the OS conformance suite (test/os): a platform per Windows profile, enclaves built
 * from scratch through the Windows API (SECS, TCS, SSA, data and code pages), their expected
 * MRENCLAVE computed independently with the arch layer's `Measurement` from the flProtect → SECINFO
 * table of specs/os-api.md §2.8 (not from src/os), SIGSTRUCTs signed with the SDK signer, and EPC
 * accounting snapshots / teardown that prove nothing leaks.
 */
import assert from 'node:assert/strict';
import { createPlatform, type Platform, type PlatformOptions } from '../../src/platform/index.js';
import type { WindowsProfileId } from '../../src/os/windows/index.js';
import * as W from '../../src/os/windows/constants.js';
import { SECS, TCS, PT, ATTR, Measurement, measuredSecinfoFlags, PTE, type EnclaveInfo, type Secs } from '../../src/arch/index.js';
import { signSigstruct, generateSigningKey, type SigstructFields } from '../../src/sdk/index.js';
import { defaultCrypto } from '../../src/lib/index.js';

// ---- profiles ----------------------------------------------------------------------------------

/** The Windows profiles of specs/os-api.md §0.2 that the implementation offers. */
export const PROFILES: readonly WindowsProfileId[] = ['win-absent', 'win-stub-10514-arm', 'win-x64-nosgx', 'win-x64-sgx1', 'win-x64-sgx2'];
/** Profiles on which an SGX enclave can be created. */
export const SGX_PROFILES: readonly WindowsProfileId[] = ['win-x64-sgx1', 'win-x64-sgx2'];
export function isSgxProfile(p: WindowsProfileId): boolean {
  return SGX_PROFILES.includes(p);
}

/** A fixed platform seed: the same machine in every test. */
export const SEED = new Uint8Array(32).fill(7);
/** 1 MiB of EPC (256 pages) unless a test needs more or less. */
export const SMALL_EPC = 0x10_0000;
/** A 2 MiB- (and 1 GiB-) aligned address where tests place enclaves. */
export const FIX_BASE = 0x4000_0000;
/** An address no test ever maps (unreadable for kernel32). */
export const UNMAPPED = 0x7000_0000;

export function platformFor(profile: WindowsProfileId, o: PlatformOptions = {}): Platform {
  return createPlatform({ seed: SEED, epcSize: SMALL_EPC, ...o, profile });
}

// ---- sentinels for "not written" ---------------------------------------------------------------

/** Last-error value set before a call: a call that does not fail must not be mistaken for one that sets 0. */
export const SENT_ERR = 0xe0e0;
/** lastNtStatus set before a call: still there afterwards = no Nt call was made. */
export const SENT_NT = 0x1234_5678;
/** Initial value of out-parameter boxes: still there afterwards = the out-parameter was not written. */
export const SENT_OUT = 0xa5a5_a5a5;

/** What a kernel32 call returned and left behind: its return value, GetLastError() and lastNtStatus. */
export interface Observed {
  readonly ret: boolean | number;
  readonly err: number;
  readonly nt: number;
}
/** Run `fn` (a kernel32 call) with the last error and the last NTSTATUS set to the sentinels, and observe it. */
export function observe(p: Platform, fn: () => boolean | number): Observed {
  p.kernel32.SetLastError(SENT_ERR);
  p.kernel32.lastNtStatus = SENT_NT;
  const ret = fn();
  return { ret, err: p.kernel32.GetLastError(), nt: p.kernel32.lastNtStatus >>> 0 };
}
/** The observation of a failed call. */
export const failed = (err: number, nt: number, ret: boolean | number = false): Observed => ({ ret, err, nt });

export const hex32 = (v: number): string => '0x' + (v >>> 0).toString(16).padStart(8, '0');

// ---- the spec's flProtect → SECINFO / PTE table (§2.8), kept independent of src/os ------------------

export type HostAccess = 'none' | 'r' | 'rw' | 'x' | 'rx' | 'rwx';

export interface SpecProtection {
  readonly name: string;
  readonly protect: number;
  /** SECINFO.FLAGS given to EADD (page type << 8 | R W X). */
  readonly secinfo: number;
  readonly host: HostAccess;
}

export const SPEC_PROTECTIONS: readonly SpecProtection[] = [
  { name: 'PAGE_READONLY', protect: W.PAGE_READONLY, secinfo: (PT.REG << 8) | 1, host: 'r' },
  { name: 'PAGE_READWRITE', protect: W.PAGE_READWRITE, secinfo: (PT.REG << 8) | 3, host: 'rw' },
  { name: 'PAGE_EXECUTE', protect: W.PAGE_EXECUTE, secinfo: (PT.REG << 8) | 4, host: 'x' },
  { name: 'PAGE_EXECUTE_READ', protect: W.PAGE_EXECUTE_READ, secinfo: (PT.REG << 8) | 5, host: 'rx' },
  { name: 'PAGE_EXECUTE_READWRITE', protect: W.PAGE_EXECUTE_READWRITE, secinfo: (PT.REG << 8) | 7, host: 'rwx' },
  { name: 'PAGE_ENCLAVE_THREAD_CONTROL|PAGE_READWRITE', protect: (W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE) >>> 0, secinfo: PT.TCS << 8, host: 'rw' },
  { name: '0 (no permissions)', protect: 0, secinfo: PT.REG << 8, host: 'none' },
];

/** The PTE flags a host access right corresponds to on x86 (U, W, NX); null = not mapped. */
export function pteFlagsOf(h: HostAccess): number | null {
  switch (h) {
    case 'none': return null;
    case 'r': return PTE.U | PTE.NX;
    case 'rw': return PTE.U | PTE.W | PTE.NX;
    case 'x':
    case 'rx': return PTE.U;
    case 'rwx': return PTE.U | PTE.W;
  }
}

/** SECINFO.FLAGS for a LoadEnclaveData protection value (with or without PAGE_ENCLAVE_UNVALIDATED). */
export function specSecinfo(protect: number): { secinfo: number; measured: boolean } {
  const measured = (protect & W.PAGE_ENCLAVE_UNVALIDATED) === 0;
  const base = (protect & ~W.PAGE_ENCLAVE_UNVALIDATED) >>> 0;
  const row = SPEC_PROTECTIONS.find((r) => r.protect === base);
  if (!row) throw new Error(`test layout: protection 0x${protect.toString(16)} is not in the spec's table`);
  return { secinfo: row.secinfo, measured };
}

// ---- signing ------------------------------------------------------------------------------------

let keyPem: string | null = null;
let keyPem2: string | null = null;
/** An RSA-3072/e=3 signing key generated once per test process. */
export function signingKey(): string {
  keyPem ??= generateSigningKey(defaultCrypto()).privateKeyPem;
  return keyPem;
}
/** A second, different key. */
export function otherSigningKey(): string {
  keyPem2 ??= generateSigningKey(defaultCrypto()).privateKeyPem;
  return keyPem2;
}

// ---- enclave layouts built through the Windows API ----------------------------------------------

export interface LayoutPage {
  readonly offset: number;
  /** The LoadEnclaveData flProtect (may include PAGE_ENCLAVE_UNVALIDATED). */
  readonly protect: number;
  readonly data: Uint8Array;
}

export interface LayoutOptions {
  readonly size?: number;
  readonly ssaFrameSize?: number;
  readonly flags?: bigint;
  readonly xfrm?: bigint;
  readonly miscSelect?: number;
  readonly marker?: string;
  /** Replace the standard pages (TCS, SSA, data, code). */
  readonly pages?: readonly LayoutPage[];
}

const TCS_RW = (W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE) >>> 0;

function markedPage(text: string): Uint8Array {
  const p = new Uint8Array(4096);
  p.set(new TextEncoder().encode(text));
  for (let i = 2048; i < 4096; i++) p[i] = (i * 13 + text.length) & 0xff;
  return p;
}

/** A valid TCS page: SSA frame 0 at `ossa`, `nssa` frames, entry at `oentry`. */
export function tcsPage(ossa: number, nssa: number, oentry: number): Uint8Array {
  return TCS.encode({ OSSA: BigInt(ossa), NSSA: nssa, OENTRY: BigInt(oentry) });
}

/**
 * A small enclave: TCS at 0, its SSA frame at 0x1000, a data page at 0x2000 (RW), a code page at
 * 0x3000 (RX). Size 128 KiB, 64-bit, DEBUG, XFRM 3.
 */
export class TestLayout {
  readonly size: number;
  readonly ssaFrameSize: number;
  readonly flags: bigint;
  readonly xfrm: bigint;
  readonly miscSelect: number;
  readonly pages: readonly LayoutPage[];
  #mr: Uint8Array | null = null;

  constructor(o: LayoutOptions = {}) {
    this.size = o.size ?? 0x2_0000;
    this.ssaFrameSize = o.ssaFrameSize ?? 1;
    this.flags = o.flags ?? (ATTR.MODE64BIT | ATTR.DEBUG);
    this.xfrm = o.xfrm ?? 3n;
    this.miscSelect = o.miscSelect ?? 0;
    const marker = o.marker ?? 'witness os test enclave';
    this.pages = o.pages ?? [
      { offset: 0x0000, protect: TCS_RW, data: tcsPage(0x1000, 1, 0x3000) },
      { offset: 0x1000, protect: W.PAGE_READWRITE, data: new Uint8Array(4096) },
      { offset: 0x2000, protect: W.PAGE_READWRITE, data: markedPage(`${marker}: data`) },
      { offset: 0x3000, protect: W.PAGE_EXECUTE_READ, data: markedPage(`${marker}: code`) },
    ];
  }

  get isDebug(): boolean {
    return (this.flags & ATTR.DEBUG) !== 0n;
  }

  /** ENCLAVE_CREATE_INFO_SGX: the SECS with BASEADDR 0 (the OS sets it), as loaders pass it. */
  secs(over: Partial<Secs> = {}): Uint8Array {
    return SECS.encode({ SIZE: BigInt(this.size), BASEADDR: 0n, SSAFRAMESIZE: this.ssaFrameSize, MISCSELECT: this.miscSelect, ATTRIBUTES: { FLAGS: this.flags, XFRM: this.xfrm }, ...over });
  }

  /** The MRENCLAVE of loading `pages` in this order, computed with the arch layer's Measurement. */
  measure(pages: readonly LayoutPage[] = this.pages): Uint8Array {
    const m = new Measurement(defaultCrypto());
    m.ecreate(this.ssaFrameSize, this.size);
    for (const p of pages) {
      const { secinfo, measured } = specSecinfo(p.protect);
      m.eadd(p.offset, measuredSecinfoFlags(secinfo));
      if (measured) m.eextendPage(p.offset, p.data);
    }
    return m.finalize();
  }

  get mrenclave(): Uint8Array {
    this.#mr ??= this.measure();
    return this.#mr;
  }

  sigFields(over: Partial<SigstructFields> = {}): SigstructFields {
    return {
      enclaveHash: this.mrenclave, isvProdId: 1, isvSvn: 1,
      attributesFlags: this.flags & ~ATTR.DEBUG, attributesXfrm: this.xfrm, attributeMaskFlags: 0xffff_ffff_ffff_fffdn, attributeMaskXfrm: 0xffff_ffff_ffff_ffffn,
      miscSelect: this.miscSelect, miscMask: 0xffff_ffff, date: 0x2024_0101, ...over,
    };
  }

  /** A SIGSTRUCT for this layout (the default one is signed once and cached; a copy is returned). */
  sigstruct(over: Partial<SigstructFields> = {}, key: string = signingKey()): Uint8Array {
    const plain = Object.keys(over).length === 0 && key === signingKey();
    if (plain && this.#sig) return this.#sig.slice();
    const s = signSigstruct(this.sigFields(over), key, defaultCrypto());
    if (plain) this.#sig = s.slice();
    return s;
  }
  #sig: Uint8Array | null = null;

  /** ENCLAVE_INIT_INFO_SGX: SIGSTRUCT at 0, EINITTOKEN at 2048 (zeros by default). */
  initInfo(sig: Uint8Array = this.sigstruct(), token?: Uint8Array): Uint8Array {
    const info = new Uint8Array(W.ENCLAVE_INIT_INFO_SGX_SIZE);
    info.set(sig, 0);
    if (token) info.set(token, 2048);
    return info;
  }
}

let defaultLayout: TestLayout | null = null;
export function standardLayout(): TestLayout {
  defaultLayout ??= new TestLayout();
  return defaultLayout;
}

// ---- driving the API (asserting success) ---------------------------------------------------------

export function create(p: Platform, layout: TestLayout, at: number = FIX_BASE, commitment = 0, type: number = W.ENCLAVE_TYPE_SGX): number {
  const k32 = p.kernel32;
  const base = k32.CreateEnclave(k32.GetCurrentProcess(), at, layout.size, commitment, type, layout.secs(), W.ENCLAVE_CREATE_INFO_SGX_SIZE, null);
  assert.notEqual(base, 0, `CreateEnclave failed: ${k32.GetLastError()} / ${hex32(k32.lastNtStatus)}`);
  return base;
}

export function loadPage(p: Platform, base: number, page: LayoutPage): void {
  const k32 = p.kernel32;
  const written = { value: SENT_OUT };
  const ok = k32.LoadEnclaveData(k32.GetCurrentProcess(), base + page.offset, page.data, 4096, page.protect, null, 0, written, null);
  assert.equal(ok, true, `LoadEnclaveData(+0x${page.offset.toString(16)}) failed: ${k32.GetLastError()} / ${hex32(k32.lastNtStatus)}`);
  assert.equal(written.value, 4096);
}

/** Load every page of `layout` that the kernel has not added yet, in layout order. */
export function loadRest(p: Platform, base: number, layout: TestLayout): void {
  const enc = p.kernel.enclaves.find((e) => e.base === base);
  assert.ok(enc, 'no kernel enclave at the base');
  for (const pg of layout.pages) if (!enc.pages.has(base + pg.offset)) loadPage(p, base, pg);
}

export function initialize(p: Platform, base: number, layout: TestLayout, info: Uint8Array = layout.initInfo()): void {
  const k32 = p.kernel32;
  const err = { value: SENT_OUT };
  const ok = k32.InitializeEnclave(k32.GetCurrentProcess(), base, info, info.length, err);
  assert.equal(ok, true, `InitializeEnclave failed: ${k32.GetLastError()} / ${hex32(k32.lastNtStatus)} / SGX ${err.value}`);
  assert.equal(err.value, 0);
}

export type Stage = 'none' | 'created' | 'loaded' | 'initialized' | 'deleted';

/** Bring an enclave at `at` to `stage` (asserting every step). Returns its base (`at` for 'none'). */
export function buildTo(p: Platform, layout: TestLayout, stage: Stage, at: number = FIX_BASE): number {
  if (stage === 'none') return at;
  const base = create(p, layout, at);
  if (stage === 'created') return base;
  for (const pg of layout.pages) loadPage(p, base, pg);
  if (stage === 'loaded') return base;
  if (stage === 'deleted') {
    assert.equal(p.kernel32.DeleteEnclave(base), true);
    return base;
  }
  initialize(p, base, layout);
  return base;
}

// ---- EPC accounting ------------------------------------------------------------------------------

export interface EpcState {
  /** platform.processor.inspect.freeEpcPages */
  readonly processorFree: number;
  /** platform.kernel.epc.freePages / committedPages / availablePages */
  readonly kernelFree: number;
  readonly committed: number;
  readonly available: number;
  readonly enclaves: EnclaveInfo[];
  readonly kernelEnclaves: { base: number; size: number; state: string; pages: number[]; commitment: number }[];
  readonly regions: { base: number; size: number; kind: string; committed: number }[];
}

export function epcState(p: Platform): EpcState {
  const epc = p.kernel.epc;
  return {
    processorFree: p.processor.inspect.freeEpcPages,
    kernelFree: epc.freePages,
    committed: epc.committedPages,
    available: epc.availablePages,
    enclaves: p.processor.inspect.enclaves(),
    kernelEnclaves: p.kernel.enclaves.map((e) => ({ base: e.base, size: e.size, state: e.state, pages: [...e.pages.keys()].sort((a, b) => a - b), commitment: e.commitment })),
    regions: p.process.regions.map((r) => ({ base: r.base, size: r.size, kind: r.kind, committed: r.committed.size })),
  };
}

/** The state of a machine with nothing allocated. */
export function assertPristine(p: Platform, what = 'after teardown'): void {
  const s = epcState(p);
  const total = p.processor.epcPages;
  assert.equal(s.processorFree, total, `${what}: inspect.freeEpcPages`);
  assert.equal(s.kernelFree, total, `${what}: kernel.epc.freePages`);
  assert.equal(s.committed, 0, `${what}: kernel.epc.committedPages`);
  assert.equal(s.available, total, `${what}: kernel.epc.availablePages`);
  assert.deepEqual(s.enclaves, [], `${what}: inspect.enclaves()`);
  assert.deepEqual(s.kernelEnclaves, [], `${what}: kernel.enclaves`);
  assert.deepEqual(s.regions, [], `${what}: process.regions`);
}

/**
 * Delete every enclave left (DeleteEnclave must succeed on each), release every private region,
 * then assert that the EPC counters are back to their starting values and nothing is reserved.
 */
export function teardown(p: Platform): void {
  const k32 = p.kernel32;
  for (const e of p.kernel.enclaves) {
    const ok = k32.DeleteEnclave(e.base);
    assert.equal(ok, true, `teardown: DeleteEnclave(0x${e.base.toString(16)}) failed: ${k32.GetLastError()}`);
    for (let v = e.base / 4096; v < (e.base + e.size) / 4096; v += 1) if (p.process.pageTable.lookup(v)) assert.fail(`teardown: enclave page 0x${(v * 4096).toString(16)} still mapped`);
  }
  for (const r of [...p.process.regions]) {
    assert.equal(r.kind, 'private', 'teardown: an enclave region survived DeleteEnclave');
    assert.equal(k32.VirtualFree(r.base, 0, W.MEM_RELEASE), true);
  }
  assertPristine(p);
}

/** Private memory in the process holding `data` at `offset` (committed PAGE_READWRITE). */
export function hostBuffer(p: Platform, data: Uint8Array, offset = 0, at = 0): number {
  const k32 = p.kernel32;
  const size = Math.ceil((offset + data.length) / 4096) * 4096;
  const base = k32.VirtualAlloc(at, size, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
  assert.notEqual(base, 0, `VirtualAlloc failed: ${k32.GetLastError()}`);
  p.process.write(base + offset, data);
  return base + offset;
}

/** Read 8-byte words of an EPC page of a DEBUG enclave (EDBGRD through the kernel). */
export function debugRead(p: Platform, epcPa: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  for (let o = 0; o < len; o += 8) {
    const r = p.kernel.sgx.edbgrd(epcPa + o);
    assert.equal(r.status, 0, `EDBGRD status ${r.status}`);
    dv.setBigUint64(o, r.value, true);
  }
  return out;
}
