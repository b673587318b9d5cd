/**
 * The conformance table of the Windows enclave API (specs/os-api.md §2.6–§2.12): every kernel32
 * enclave function × every documented failure row the implementation models × every profile of
 * §0.2. Each case is one test that asserts the exact return value, GetLastError(), the NTSTATUS of
 * the Nt call underneath (kernel32.lastNtStatus; a sentinel proves when no Nt call was made) and the
 * out-parameters (*lpEnclaveError, *lpNumberOfBytesWritten: a sentinel proves when they were not
 * written). After a failing call the machine must be exactly as before (EPC counters, commitment,
 * enclaves seen by the processor and by the kernel, the process's reservations), and a probe proves
 * that nothing invisible was left either: the same address can be reused, and the enclave can still
 * be loaded and initialized with the MRENCLAVE computed without the failed call. Every test ends by
 * deleting what is left and checking that the EPC is back to its starting values.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Platform, PlatformOptions } from '../../src/platform/index.js';
import * as W from '../../src/os/windows/constants.js';
import { ntStatusName, type Kernel32, type MemArg, type WindowsProfileId } from '../../src/os/windows/index.js';
import { ATTR, PT } from '../../src/arch/index.js';
import * as H from '../helpers/windows.js';

type Fn = 'IsEnclaveTypeSupported' | 'CreateEnclave' | 'LoadEnclaveData' | 'InitializeEnclave' | 'DeleteEnclave' | 'VirtualFree' | 'VirtualAlloc' | 'CallEnclave' | 'TerminateEnclave';

interface Ctx {
  readonly p: Platform;
  readonly k32: Kernel32;
  readonly profile: WindowsProfileId;
  /** Enclaves can be created on this profile. */
  readonly sgx: boolean;
  readonly layout: H.TestLayout;
  /** Base of the fixture enclave (FIX_BASE where none could be created). */
  readonly base: number;
  /** Addresses the case's prepare step computed. */
  readonly vars: Map<string, number>;
}

interface Boxes {
  readonly enclaveError: { value: number };
  readonly written: { value: number };
  readonly routine: { value: number };
}

interface Expect {
  /** 'fail' = NULL or FALSE; 'ok' = TRUE; a number = that exact return value; 'aligned' = a non-NULL base aligned to max(dwSize, 2 MiB). */
  readonly ret: 'fail' | 'ok' | number | 'aligned';
  /** GetLastError(): a value, 'unchanged' (still the sentinel) or 'unchecked' (after a success). */
  readonly err: number | 'unchanged' | 'unchecked';
  /** kernel32.lastNtStatus; H.SENT_NT = no Nt call was made. */
  readonly nt: number;
  /** *lpEnclaveError; default: not written. */
  readonly enclaveError?: number;
  /** *lpNumberOfBytesWritten; default: not written. */
  readonly written?: number | 'unchecked';
}

interface Case {
  readonly fn: Fn;
  /** Spec reference: section and row. */
  readonly ref: string;
  readonly what: string;
  /** The fixture enclave before the call (SGX profiles only). */
  readonly stage?: H.Stage;
  readonly layout?: H.TestLayout;
  readonly platform?: PlatformOptions;
  readonly prepare?: (c: Ctx) => void;
  readonly call: (c: Ctx, b: Boxes) => boolean | number;
  /** Expected on win-x64-sgx1 and win-x64-sgx2. */
  readonly sgx: Expect;
  /** Per-profile overrides (otherwise: `sgx` on SGX profiles, the function's default elsewhere). */
  readonly other?: Partial<Record<WindowsProfileId, Expect>>;
  /** Run the reuse / reload probe after a failure (default true). */
  readonly probe?: boolean;
  /** A failure that legitimately leaves state behind (§2.8 #14): skip the before/after comparison. */
  readonly partial?: boolean;
  /** Further assertions after the call. */
  readonly check?: (c: Ctx, ret: boolean | number) => void;
}

const HP = W.CURRENT_PROCESS;
const STANDARD = H.standardLayout();
const TCS_RW = (W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE) >>> 0;
const PAGE = 4096;
/** An address 2 MiB past the fixture's range: inside no enclave. */
const OUTSIDE = H.FIX_BASE + 0x20_0000;

const fail = (err: number, nt: number, x: Partial<Expect> = {}): Expect => ({ ret: 'fail', err, nt, ...x });
const ok = (x: Partial<Expect> = {}): Expect => ({ ret: 'ok', err: 'unchecked', nt: W.STATUS_SUCCESS, ...x });
/** Outcomes several sections share. */
const einval = fail(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER);
const conflict = fail(W.ERROR_INVALID_ADDRESS, W.STATUS_CONFLICTING_ADDRESSES);
const noMem = fail(W.ERROR_NOT_ENOUGH_MEMORY, W.STATUS_NO_MEMORY);
const badLen = fail(W.ERROR_BAD_LENGTH, W.STATUS_INFO_LENGTH_MISMATCH);
const noAccess = fail(W.ERROR_NOACCESS, W.STATUS_ACCESS_VIOLATION);
const unsupported = fail(W.ERROR_NOT_SUPPORTED, W.STATUS_NOT_SUPPORTED);
const notAllocated = fail(W.ERROR_INVALID_ADDRESS, W.STATUS_MEMORY_NOT_ALLOCATED);
const PROC_NOT_FOUND: Expect = { ret: 'fail', err: W.ERROR_PROC_NOT_FOUND, nt: H.SENT_NT };

/** What a function gives on a profile without SGX enclaves (§0.2), unless the case overrides it. */
function defaultExpect(fn: Fn, profile: WindowsProfileId): Expect {
  if (fn === 'VirtualFree') return fail(W.ERROR_INVALID_ADDRESS, W.STATUS_MEMORY_NOT_ALLOCATED);
  if (fn === 'VirtualAlloc') throw new Error('VirtualAlloc cases give every profile explicitly');
  if (profile === 'win-absent') return PROC_NOT_FOUND;
  if (profile === 'win-stub-10514-arm') {
    if (fn === 'CreateEnclave') return fail(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER_6);
    if (fn === 'LoadEnclaveData' || fn === 'InitializeEnclave') return fail(W.ERROR_INVALID_ADDRESS, W.STATUS_CONFLICTING_ADDRESSES);
    return PROC_NOT_FOUND;
  }
  // win-x64-nosgx
  switch (fn) {
    case 'IsEnclaveTypeSupported': return fail(W.ERROR_NOT_SUPPORTED, H.SENT_NT);
    case 'CreateEnclave':
    case 'CallEnclave': return fail(W.ERROR_NOT_SUPPORTED, W.STATUS_NOT_SUPPORTED);
    default: return fail(W.ERROR_INVALID_ADDRESS, W.STATUS_CONFLICTING_ADDRESSES);
  }
}

const NOSGX = 'win-x64-nosgx';
const nosgx = (e: Expect): Partial<Record<WindowsProfileId, Expect>> => ({ [NOSGX]: e });
/** The same outcome on the profiles without SGX enclaves too. */
const everywhere = (e: Expect): Partial<Record<WindowsProfileId, Expect>> => ({ 'win-absent': e, 'win-stub-10514-arm': e, [NOSGX]: e });

// ---- call builders -------------------------------------------------------------------------------

interface CreateArgs {
  h?: number;
  at?: number;
  size?: number;
  commit?: number;
  type?: number;
  info?: (c: Ctx) => MemArg;
  len?: number;
}
function createCall(a: CreateArgs = {}): Case['call'] {
  return (c, b) => c.k32.CreateEnclave(a.h ?? HP, a.at ?? H.FIX_BASE, a.size ?? c.layout.size, a.commit ?? 0, a.type ?? W.ENCLAVE_TYPE_SGX,
    a.info ? a.info(c) : c.layout.secs(), a.len ?? W.ENCLAVE_CREATE_INFO_SGX_SIZE, b.enclaveError);
}
const secsWith = (over: Parameters<H.TestLayout['secs']>[0]) => (c: Ctx): Uint8Array => c.layout.secs(over);

interface LoadArgs {
  h?: number;
  /** Address (default: base + 0x4000, a page the standard layout does not use). */
  at?: (c: Ctx) => number;
  buf?: (c: Ctx) => MemArg;
  size?: number;
  protect?: number;
  info?: MemArg;
  infoLen?: number;
}
const FREE_OFF = 0x4000;
function loadCall(a: LoadArgs = {}): Case['call'] {
  return (c, b) => {
    const size = a.size ?? PAGE;
    const buf = a.buf ? a.buf(c) : filler(Math.max(size, 0));
    return c.k32.LoadEnclaveData(a.h ?? HP, a.at ? a.at(c) : c.base + FREE_OFF, buf, size, a.protect ?? W.PAGE_READWRITE, a.info ?? null, a.infoLen ?? 0, b.written, b.enclaveError);
  };
}
function filler(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(Math.ceil(n / PAGE) * PAGE || PAGE);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

interface InitArgs {
  h?: number;
  at?: (c: Ctx) => number;
  info?: (c: Ctx) => MemArg;
  len?: number;
}
function initCall(a: InitArgs = {}): Case['call'] {
  return (c, b) => c.k32.InitializeEnclave(a.h ?? HP, a.at ? a.at(c) : c.base, a.info ? a.info(c) : c.layout.initInfo(), a.len ?? W.ENCLAVE_INIT_INFO_SGX_SIZE, b.enclaveError);
}
const infoWithSig = (mutate: (sig: Uint8Array, c: Ctx) => Uint8Array) => (c: Ctx): Uint8Array => c.layout.initInfo(mutate(c.layout.sigstruct(), c));
const infoWithToken = (token: (t: Uint8Array) => void) => (c: Ctx): Uint8Array => {
  const t = new Uint8Array(304);
  token(t);
  return c.layout.initInfo(undefined, t);
};

// ---- checks used by several cases ------------------------------------------------------------------

function checkEpcmAt(c: Ctx, la: number, pageType: number, perms: number): void {
  const enc = c.p.kernel.enclaves.find((e) => e.base === c.base)!;
  const pa = enc.pages.get(la);
  assert.ok(pa !== undefined, 'the page was added');
  const e = c.p.processor.inspect.epcm(pa);
  assert.deepEqual({ valid: e.valid, pageType: e.pageType, r: e.r, w: e.w, x: e.x, linAddr: e.linAddr },
    { valid: true, pageType, r: (perms & 1) !== 0, w: (perms & 2) !== 0, x: (perms & 4) !== 0, linAddr: la });
}

function checkPte(c: Ctx, la: number, host: H.HostAccess): void {
  const t = c.p.process.pageTable.lookup(la / PAGE);
  const want = H.pteFlagsOf(host);
  if (want === null) assert.equal(t, null, 'no host mapping');
  else {
    assert.ok(t, 'host mapping present');
    assert.equal(t.flags, want, 'host PTE flags');
  }
}

function checkGone(c: Ctx): void {
  assert.equal(c.p.kernel.enclaves.length, 0, 'no kernel enclave left');
  assert.deepEqual(c.p.processor.inspect.enclaves(), [], 'no enclave left in the processor');
  assert.equal(c.p.process.isFree(c.base, c.layout.size), true, 'the range is free');
  for (let v = c.base / PAGE; v < (c.base + c.layout.size) / PAGE; v++) assert.equal(c.p.process.pageTable.lookup(v), null, 'no PTE left in the range');
  assert.equal(c.p.processor.inspect.freeEpcPages, c.p.processor.epcPages);
}

function checkInitialized(c: Ctx): void {
  const [e] = c.p.processor.inspect.enclaves();
  assert.ok(e);
  assert.equal(e.state, 'initialized');
  assert.deepEqual(e.mrenclave, c.layout.mrenclave, 'MRENCLAVE as computed from the pages');
  assert.equal(c.p.kernel.epc.committedPages, 0, 'unused commitment released at InitializeEnclave');
}

// ---- the rows -------------------------------------------------------------------------------------

const cases: Case[] = [];
const add = (...cs: Case[]): void => void cases.push(...cs);

// §2.6 IsEnclaveTypeSupported
{
  const supported = (): Expect => ({ ret: 'ok', err: 'unchanged', nt: H.SENT_NT });
  const unsupported = fail(W.ERROR_NOT_SUPPORTED, H.SENT_NT);
  const row = (what: string, type: number, sgx: Expect, sgx1?: Expect): Case => ({
    fn: 'IsEnclaveTypeSupported', ref: '§2.6', what, call: (c) => c.k32.IsEnclaveTypeSupported(type), sgx, other: sgx1 ? { 'win-x64-sgx1': sgx1 } : {},
  });
  add(
    row('ENCLAVE_TYPE_SGX', W.ENCLAVE_TYPE_SGX, supported()),
    row('ENCLAVE_TYPE_SGX2 (W4 on sgx1)', W.ENCLAVE_TYPE_SGX2, supported(), unsupported),
    row('ENCLAVE_TYPE_VBS', W.ENCLAVE_TYPE_VBS, unsupported),
    row('ENCLAVE_TYPE_VBS_BASIC', W.ENCLAVE_TYPE_VBS_BASIC, unsupported),
    row('type 0', 0, unsupported),
    row('type 3 (SGX|SGX2, not a type)', 3, unsupported),
    row('type 0xFFFFFFFF', 0xffff_ffff, unsupported),
  );
}

// §2.7 CreateEnclave
{
  const C = 'CreateEnclave';
  const created = (ret: number | 'aligned' = H.FIX_BASE): Expect => ({ ret, err: 'unchecked', nt: W.STATUS_SUCCESS });
  const one = (c: Ctx): void => {
    const es = c.p.processor.inspect.enclaves();
    assert.equal(es.length, 1);
    assert.equal(es[0]!.state, 'uninitialized');
    assert.equal(es[0]!.pages, 0);
  };
  const MiB = 0x10_0000;
  const occupyFixBase = (c: Ctx): void => {
    if (c.sgx) H.create(c.p, c.layout, H.FIX_BASE);
  };
  add(
    // successes
    { fn: C, ref: '§2.7 #9–13', what: 'valid SGX enclave at a given lpAddress', call: createCall(), sgx: created(),
      check: (c) => {
        one(c);
        const e = c.p.processor.inspect.enclaves()[0]!;
        assert.equal(e.baseAddr, H.FIX_BASE);
        assert.equal(e.size, c.layout.size);
        assert.equal(c.p.process.regionAt(H.FIX_BASE)?.kind, 'enclave');
        assert.equal(c.p.processor.inspect.freeEpcPages, c.p.processor.epcPages - 1, 'one EPC page: the SECS');
      } },
    { fn: C, ref: '§2.7 #9', what: 'lpAddress NULL: the OS picks an aligned base', call: createCall({ at: 0 }), sgx: created('aligned'),
      check: (c, ret) => {
        one(c);
        assert.equal(c.p.processor.inspect.enclaves()[0]!.baseAddr, ret);
      } },
    { fn: C, ref: '§2.7 #10', what: 'SECS.BASEADDR garbage: the OS overwrites it', call: createCall({ info: secsWith({ BASEADDR: 0x1234_5000n }) }), sgx: created(),
      check: (c) => assert.equal(c.p.processor.inspect.enclaves()[0]!.baseAddr, H.FIX_BASE) },
    { fn: C, ref: '§2.7 #1', what: 'ENCLAVE_TYPE_SGX2', call: createCall({ type: W.ENCLAVE_TYPE_SGX2 }), sgx: created(), other: { 'win-x64-sgx1': unsupported },
      check: (c) => assert.equal(c.p.kernel.enclaves[0]!.type, W.ENCLAVE_TYPE_SGX2) },
    { fn: C, ref: '§2.7 #6, #11', what: 'dwInitialCommitment = dwSize is committed up front', call: createCall({ commit: 0x2_0000 }), sgx: created(),
      check: (c) => {
        assert.equal(c.p.kernel.epc.committedPages, 32);
        assert.equal(c.p.kernel.epc.availablePages, c.p.processor.epcPages - 33);
        assert.equal(c.p.processor.inspect.freeEpcPages, c.p.processor.epcPages - 1, 'commitment is a charge, not EPCM pages');
      } },
    { fn: C, ref: '§2.7 #11', what: 'dwInitialCommitment 0x1001 is charged as 2 pages', call: createCall({ commit: 0x1001 }), sgx: created(),
      check: (c) => assert.equal(c.p.kernel.epc.committedPages, 2) },
    { fn: C, ref: '§2.7 #11', what: 'commitment that exactly fills the EPC (SECS + 255 pages)', call: createCall({ size: MiB, commit: 255 * PAGE, info: secsWith({ SIZE: BigInt(MiB) }) }), sgx: created(),
      check: (c) => assert.equal(c.p.kernel.epc.availablePages, 0) },
    { fn: C, ref: '§2.7 #12', what: '32-bit enclave below 4 GiB', call: createCall({ info: secsWith({ ATTRIBUTES: { FLAGS: ATTR.DEBUG, XFRM: 3n } }) }), sgx: created() },
    // #1
    { fn: C, ref: '§2.7 #1', what: 'flEnclaveType VBS', call: createCall({ type: W.ENCLAVE_TYPE_VBS }), sgx: unsupported },
    { fn: C, ref: '§2.7 #1', what: 'flEnclaveType VBS_BASIC', call: createCall({ type: W.ENCLAVE_TYPE_VBS_BASIC }), sgx: unsupported },
    { fn: C, ref: '§2.7 #1', what: 'flEnclaveType 0', call: createCall({ type: 0 }), sgx: unsupported },
    // #2
    { fn: C, ref: '§2.7 #2', what: 'lpEnclaveInformation NULL', call: createCall({ info: () => 0 }), sgx: einval },
    { fn: C, ref: '§2.7 #2', what: 'lpEnclaveInformation unmapped', call: createCall({ info: () => H.UNMAPPED }), sgx: noAccess },
    { fn: C, ref: '§2.7 #2', what: 'lpEnclaveInformation reserved, not committed', prepare: (c) => c.vars.set('res', c.k32.VirtualAlloc(0, 0x1_0000, W.MEM_RESERVE, W.PAGE_READWRITE)),
      call: createCall({ info: (c) => c.vars.get('res')! }), sgx: noAccess },
    { fn: C, ref: '§2.7 #2', what: 'lpEnclaveInformation: 100 readable bytes for 4096', call: createCall({ info: () => new Uint8Array(100) }), sgx: noAccess },
    { fn: C, ref: '§2.7 #2', what: 'lpEnclaveInformation in process memory (valid)', prepare: (c) => c.vars.set('info', H.hostBuffer(c.p, c.layout.secs(), 0x10)),
      call: createCall({ info: (c) => c.vars.get('info')! }), sgx: created() },
    // #3
    { fn: C, ref: '§2.7 #3', what: 'dwInfoLength 4095 (W5)', call: createCall({ len: 4095 }), sgx: badLen },
    { fn: C, ref: '§2.7 #3', what: 'dwInfoLength 36 (the VBS size)', call: createCall({ len: 36 }), sgx: badLen },
    { fn: C, ref: '§2.7 #3', what: 'dwInfoLength 0', call: createCall({ len: 0 }), sgx: badLen },
    { fn: C, ref: '§2.7 #3', what: 'dwInfoLength 8192', call: createCall({ len: 8192 }), sgx: badLen },
    // #4
    { fn: C, ref: '§2.7 #4', what: 'hProcess NULL', call: createCall({ h: 0 }), sgx: fail(W.ERROR_INVALID_HANDLE, W.STATUS_INVALID_HANDLE) },
    { fn: C, ref: '§2.7 #4', what: 'hProcess 0x1234', call: createCall({ h: 0x1234 }), sgx: fail(W.ERROR_INVALID_HANDLE, W.STATUS_INVALID_HANDLE) },
    // #5
    { fn: C, ref: '§2.7 #5', what: 'dwSize 0', call: createCall({ size: 0, info: secsWith({ SIZE: 0n }) }), sgx: einval },
    { fn: C, ref: '§2.7 #5', what: 'dwSize 3 MiB, not a power of two (W6)', call: createCall({ size: 3 * MiB, info: secsWith({ SIZE: BigInt(3 * MiB) }) }), sgx: einval },
    { fn: C, ref: '§2.7 #5', what: 'dwSize 0x21000', call: createCall({ size: 0x2_1000, info: secsWith({ SIZE: 0x2_1000n }) }), sgx: einval },
    { fn: C, ref: '§2.7 #5', what: 'dwSize 2^36 (CPUID maximum; ECREATE refuses it)', call: createCall({ at: 0, size: 2 ** 36, info: secsWith({ SIZE: 2n ** 36n }) }), sgx: einval },
    { fn: C, ref: '§2.7 #5', what: 'dwSize not an integer', call: createCall({ size: 0x2_0000 + 0.5 }), sgx: einval },
    // #6
    { fn: C, ref: '§2.7 #6', what: 'dwInitialCommitment = dwSize + 1', call: createCall({ commit: 0x2_0001 }), sgx: einval },
    { fn: C, ref: '§2.7 #6', what: 'dwInitialCommitment negative', call: createCall({ commit: -4096 }), sgx: einval },
    // #7
    { fn: C, ref: '§2.7 #7', what: 'lpAddress 4 KiB-aligned only', call: createCall({ at: H.FIX_BASE + PAGE }), sgx: einval },
    { fn: C, ref: '§2.7 #7', what: 'lpAddress aligned to dwSize but not to 2 MiB', call: createCall({ at: H.FIX_BASE + 0x2_0000 }), sgx: einval },
    { fn: C, ref: '§2.7 #7', what: 'lpAddress 2 MiB-aligned, dwSize 4 MiB', call: createCall({ at: H.FIX_BASE + 2 * MiB, size: 4 * MiB, info: secsWith({ SIZE: BigInt(4 * MiB) }) }), sgx: einval },
    // #8
    { fn: C, ref: '§2.7 #8', what: 'SECS.SIZE ≠ dwSize', call: createCall({ info: secsWith({ SIZE: 0x4_0000n }) }), sgx: einval },
    // #9
    { fn: C, ref: '§2.7 #9', what: 'lpAddress = base of an existing enclave (W7)', prepare: occupyFixBase, call: createCall(), sgx: conflict },
    { fn: C, ref: '§2.7 #9', what: 'range overlaps a private reservation', prepare: (c) => c.vars.set('r', c.k32.VirtualAlloc(H.FIX_BASE + 0x1_0000, 0x1_0000, W.MEM_RESERVE, W.PAGE_READWRITE)),
      call: createCall(), sgx: conflict },
    { fn: C, ref: '§2.7 #9', what: 'range inside a larger enclave', prepare: (c) => {
      if (c.sgx) H.create(c.p, new H.TestLayout({ size: 4 * MiB }), H.FIX_BASE);
    }, call: createCall({ at: H.FIX_BASE + 2 * MiB }), sgx: conflict },
    { fn: C, ref: '§2.7 #9', what: 'lpAddress NULL, no aligned hole left', platform: { processor: { maxEnclaveSizeLog2: 47 } },
      call: createCall({ at: 0, size: 2 ** 46, info: secsWith({ SIZE: 2n ** 46n }) }), sgx: noMem },
    // #11
    { fn: C, ref: '§2.7 #11', what: 'commitment beyond the EPC (SECS + 256 pages of 256)', call: createCall({ size: MiB, commit: MiB, info: secsWith({ SIZE: BigInt(MiB) }) }), sgx: noMem },
    { fn: C, ref: '§2.7 #11', what: 'no EPC page left for the SECS', prepare: (c) => {
      if (c.sgx) H.create(c.p, new H.TestLayout({ size: MiB }), H.FIX_BASE + 8 * MiB, 255 * PAGE);
    }, call: createCall(), sgx: noMem, probe: false },
    { fn: C, ref: '§2.7 #11, §7.1 epcExhaustedStatus', what: 'knob: EPC exhaustion → STATUS_INSUFFICIENT_RESOURCES', platform: { windows: { epcExhaustedStatus: W.STATUS_INSUFFICIENT_RESOURCES } },
      call: createCall({ size: MiB, commit: MiB, info: secsWith({ SIZE: BigInt(MiB) }) }), sgx: fail(W.ERROR_NO_SYSTEM_RESOURCES, W.STATUS_INSUFFICIENT_RESOURCES) },
    // #12 ECREATE faults
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: SSAFRAMESIZE 0', call: createCall({ info: secsWith({ SSAFRAMESIZE: 0 }) }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: SSAFRAMESIZE 0 with a 16-page commitment', call: createCall({ commit: 16 * PAGE, info: secsWith({ SSAFRAMESIZE: 0 }) }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: XFRM 1 (SSE missing)', call: createCall({ info: secsWith({ ATTRIBUTES: { FLAGS: ATTR.MODE64BIT | ATTR.DEBUG, XFRM: 1n } }) }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: ATTRIBUTES.INIT set', call: createCall({ info: secsWith({ ATTRIBUTES: { FLAGS: ATTR.INIT | ATTR.MODE64BIT | ATTR.DEBUG, XFRM: 3n } }) }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: reserved ATTRIBUTES bit 3', call: createCall({ info: secsWith({ ATTRIBUTES: { FLAGS: 0x8n | ATTR.MODE64BIT | ATTR.DEBUG, XFRM: 3n } }) }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE: MISCSELECT 1 (#GP without SGX2, EXINFO with SGX2)', call: createCall({ info: secsWith({ MISCSELECT: 1 }) }), sgx: einval, other: { 'win-x64-sgx2': created() } },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: SECS reserved byte 300 set', call: createCall({ info: (c) => {
      const s = c.layout.secs();
      s[300] = 1;
      return s;
    } }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: CONFIGID without KSS', call: createCall({ info: secsWith({ CONFIGID: new Uint8Array(64).fill(1) }) }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: 32-bit enclave above 4 GiB', call: createCall({ at: 0x1_0000_0000, info: secsWith({ ATTRIBUTES: { FLAGS: ATTR.DEBUG, XFRM: 3n } }) }), sgx: einval },
    { fn: C, ref: '§2.7 #12', what: 'ECREATE #GP: dwSize = SECS.SIZE = 4096', call: createCall({ size: PAGE, info: secsWith({ SIZE: 4096n }) }), sgx: einval },
    // order: the first failing check wins
    { fn: C, ref: '§2.7 order #1<#2', what: 'unsupported type and NULL information', call: createCall({ type: W.ENCLAVE_TYPE_VBS, info: () => 0 }), sgx: unsupported },
    { fn: C, ref: '§2.7 order #2<#3', what: 'NULL information and dwInfoLength 4095', call: createCall({ info: () => 0, len: 4095 }), sgx: einval },
    { fn: C, ref: '§2.7 order #3<#4', what: 'dwInfoLength 4095 and hProcess NULL', call: createCall({ len: 4095, h: 0 }), sgx: badLen },
    { fn: C, ref: '§2.7 order #2<#4', what: 'unreadable information and hProcess NULL', call: createCall({ info: () => H.UNMAPPED, h: 0 }), sgx: noAccess },
    { fn: C, ref: '§2.7 order #4<#5', what: 'hProcess NULL and dwSize 3 MiB', call: createCall({ h: 0, size: 3 * MiB }), sgx: fail(W.ERROR_INVALID_HANDLE, W.STATUS_INVALID_HANDLE) },
    { fn: C, ref: '§2.7 order #7<#9', what: 'misaligned lpAddress inside an existing enclave', prepare: occupyFixBase, call: createCall({ at: H.FIX_BASE + PAGE }), sgx: einval },
    { fn: C, ref: '§2.7 order #8<#9', what: 'SECS.SIZE ≠ dwSize at an occupied lpAddress', prepare: occupyFixBase, call: createCall({ info: secsWith({ SIZE: 0x4_0000n }) }), sgx: einval },
    { fn: C, ref: '§2.7 order #9<#11', what: 'occupied lpAddress and a commitment beyond the EPC', prepare: occupyFixBase, call: createCall({ commit: 0x2_0000, size: 0x2_0000 }), sgx: conflict,
      platform: { epcSize: 0x1_0000 } },
    { fn: C, ref: '§2.7 order #11<#12', what: 'commitment beyond the EPC and SSAFRAMESIZE 0', call: createCall({ size: MiB, commit: MiB, info: secsWith({ SIZE: BigInt(MiB), SSAFRAMESIZE: 0 }) }), sgx: noMem },
    { fn: C, ref: '§2.7 order #2<#3', what: 'unreadable information and dwInfoLength 4095', call: createCall({ info: () => H.UNMAPPED, len: 4095 }), sgx: noAccess },
  );
}

// §2.8 LoadEnclaveData
{
  const L = 'LoadEnclaveData';
  const badProt = fail(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PAGE_PROTECTION);
  const already = fail(W.ERROR_ALREADY_INITIALIZED, W.STATUS_ALREADY_INITIALIZED);
  const badHandle = fail(W.ERROR_INVALID_HANDLE, W.STATUS_INVALID_HANDLE);
  const loaded = (n = PAGE): Expect => ok({ written: n });
  // successes: the SECINFO / PTE table
  for (const row of H.SPEC_PROTECTIONS) {
    for (const unvalidated of [false, true]) {
      const protect = (row.protect | (unvalidated ? W.PAGE_ENCLAVE_UNVALIDATED : 0)) >>> 0;
      const tcs = (row.secinfo >> 8) === PT.TCS;
      add({ fn: L, ref: '§2.8 table', what: `flProtect ${row.name}${unvalidated ? '|PAGE_ENCLAVE_UNVALIDATED' : ''}`,
        call: loadCall({ protect, buf: tcs ? () => H.tcsPage(0x1000, 1, 0x3000) : undefined }), sgx: loaded(),
        check: (c) => {
          checkEpcmAt(c, c.base + FREE_OFF, row.secinfo >> 8, row.secinfo & 7);
          checkPte(c, c.base + FREE_OFF, row.host);
        } });
    }
  }
  add(
    { fn: L, ref: '§2.8 #13', what: 'three pages in one call', call: loadCall({ size: 3 * PAGE }), sgx: loaded(3 * PAGE),
      check: (c) => assert.equal(c.p.processor.inspect.enclaves()[0]!.pages, 3) },
    { fn: L, ref: '§2.8 #13', what: 'the last page of ELRANGE', call: loadCall({ at: (c) => c.base + c.layout.size - PAGE }), sgx: loaded() },
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer: page-aligned process memory (content copied)', prepare: (c) => c.vars.set('buf', H.hostBuffer(c.p, filler(PAGE, 9))),
      call: loadCall({ buf: (c) => c.vars.get('buf')! }), sgx: loaded(),
      check: (c) => assert.deepEqual(H.debugRead(c.p, c.p.kernel.enclaves[0]!.pages.get(c.base + FREE_OFF)!, PAGE), filler(PAGE, 9)) },
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer: unaligned process memory spanning two pages (content copied)', prepare: (c) => c.vars.set('buf', H.hostBuffer(c.p, filler(PAGE, 5), 0x123)),
      call: loadCall({ buf: (c) => c.vars.get('buf')! }), sgx: loaded(),
      check: (c) => assert.deepEqual(H.debugRead(c.p, c.p.kernel.enclaves[0]!.pages.get(c.base + FREE_OFF)!, PAGE), filler(PAGE, 5)) },
    { fn: L, ref: '§2.8 #13, §2.7 #11', what: 'pages come from the enclave\'s commitment first', prepare: (c) => {
      if (!c.sgx) return;
      assert.equal(c.k32.DeleteEnclave(c.base), true);
      assert.equal(H.create(c.p, c.layout, c.base, 2 * PAGE), c.base);
    }, call: loadCall({ size: 3 * PAGE }), sgx: loaded(3 * PAGE),
      check: (c) => {
        assert.equal(c.p.kernel.enclaves[0]!.commitment, 0);
        assert.equal(c.p.kernel.epc.committedPages, 0);
        assert.equal(c.p.kernel.epc.freePages, c.p.processor.epcPages - 4);
      } },
    // #1
    { fn: L, ref: '§2.8 #1', what: 'hProcess NULL', call: loadCall({ h: 0 }), sgx: badHandle, other: nosgx(badHandle) },
    // #2
    { fn: L, ref: '§2.8 #2', what: 'lpAddress not page-aligned', call: loadCall({ at: (c) => c.base + FREE_OFF + 0x10 }), sgx: einval, other: nosgx(einval) },
    { fn: L, ref: '§2.8 #2–3', what: 'lpAddress NULL (page-aligned, in no enclave)', call: loadCall({ at: () => 0 }), sgx: conflict, other: nosgx(conflict) },
    // #3
    { fn: L, ref: '§2.8 #3', what: 'lpAddress in no enclave', call: loadCall({ at: () => OUTSIDE }), sgx: conflict },
    { fn: L, ref: '§2.8 #3', what: 'lpAddress in private memory', prepare: (c) => c.vars.set('priv', H.hostBuffer(c.p, new Uint8Array(PAGE), 0, OUTSIDE)),
      call: loadCall({ at: (c) => c.vars.get('priv')! }), sgx: conflict },
    { fn: L, ref: '§2.8 #3', what: 'lpAddress in a deleted enclave', stage: 'deleted', call: loadCall(), sgx: conflict },
    // #5
    { fn: L, ref: '§2.8 #5', what: 'nSize 0', call: loadCall({ size: 0 }), sgx: einval },
    { fn: L, ref: '§2.8 #5', what: 'nSize 100', call: loadCall({ size: 100 }), sgx: einval },
    { fn: L, ref: '§2.8 #5', what: 'nSize 4097', call: loadCall({ size: 4097 }), sgx: einval },
    { fn: L, ref: '§2.8 #5', what: 'range crosses the end of ELRANGE', call: loadCall({ at: (c) => c.base + c.layout.size - PAGE, size: 2 * PAGE }), sgx: conflict },
    { fn: L, ref: '§2.8 #5', what: 'nSize larger than the enclave', call: loadCall({ at: (c) => c.base, size: 0x2_1000 }), sgx: conflict },
    // #6
    { fn: L, ref: '§2.8 #6', what: 'after InitializeEnclave', stage: 'initialized', call: loadCall(), sgx: already },
    { fn: L, ref: '§2.8 #6, §7.1 secondInitStatus', what: 'knob: after InitializeEnclave → STATUS_INVALID_PARAMETER', stage: 'initialized', platform: { windows: { secondInitStatus: W.STATUS_INVALID_PARAMETER } },
      call: loadCall(), sgx: einval },
    // #7
    { fn: L, ref: '§2.8 #7', what: 'dwInfoLength 64 with a SECINFO (W9)', call: loadCall({ info: new Uint8Array(64), infoLen: 64 }), sgx: badLen },
    { fn: L, ref: '§2.8 #7', what: 'dwInfoLength 64, lpPageInformation NULL', call: loadCall({ infoLen: 64 }), sgx: badLen },
    { fn: L, ref: '§2.8 #7', what: 'dwInfoLength 4 (ENCLAVE_LOAD_DATA_VBS_BASIC)', call: loadCall({ info: new Uint8Array(4), infoLen: 4 }), sgx: badLen },
    { fn: L, ref: '§2.8 #7', what: 'lpPageInformation given with dwInfoLength 0 (ignored)', call: loadCall({ info: new Uint8Array(64).fill(0xff), infoLen: 0 }), sgx: loaded() },
  );
  // #8 rejected protections
  const rejected: [string, number][] = [
    ['PAGE_NOACCESS (W8)', W.PAGE_NOACCESS],
    ['PAGE_GUARD|PAGE_READWRITE (W8)', W.PAGE_GUARD | W.PAGE_READWRITE],
    ['PAGE_NOCACHE|PAGE_READWRITE', W.PAGE_NOCACHE | W.PAGE_READWRITE],
    ['PAGE_WRITECOMBINE|PAGE_READWRITE', W.PAGE_WRITECOMBINE | W.PAGE_READWRITE],
    ['PAGE_GUARD alone', W.PAGE_GUARD],
    ['PAGE_WRITECOPY', W.PAGE_WRITECOPY],
    ['PAGE_EXECUTE_WRITECOPY', W.PAGE_EXECUTE_WRITECOPY],
    ['PAGE_READONLY|PAGE_READWRITE (two base protections)', W.PAGE_READONLY | W.PAGE_READWRITE],
    ['PAGE_EXECUTE|PAGE_EXECUTE_READ (two base protections)', W.PAGE_EXECUTE | W.PAGE_EXECUTE_READ],
    ['PAGE_ENCLAVE_THREAD_CONTROL alone', W.PAGE_ENCLAVE_THREAD_CONTROL],
    ['PAGE_ENCLAVE_THREAD_CONTROL|PAGE_READONLY', W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READONLY],
    ['PAGE_ENCLAVE_THREAD_CONTROL|PAGE_EXECUTE_READ', W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_EXECUTE_READ],
    ['PAGE_ENCLAVE_THREAD_CONTROL|PAGE_EXECUTE_READWRITE', W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_EXECUTE_READWRITE],
    ['PAGE_ENCLAVE_THREAD_CONTROL|PAGE_NOACCESS', W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_NOACCESS],
    ['PAGE_ENCLAVE_THREAD_CONTROL|PAGE_READWRITE|PAGE_GUARD', W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE | W.PAGE_GUARD],
    ['PAGE_ENCLAVE_DECOMMIT', W.PAGE_ENCLAVE_DECOMMIT],
    ['PAGE_ENCLAVE_SS_FIRST', W.PAGE_ENCLAVE_SS_FIRST],
    ['PAGE_ENCLAVE_SS_REST', W.PAGE_ENCLAVE_SS_REST],
    ['PAGE_ENCLAVE_MASK|PAGE_READWRITE', W.PAGE_ENCLAVE_MASK | W.PAGE_READWRITE],
    ['PAGE_TARGETS_INVALID|PAGE_READWRITE', W.PAGE_TARGETS_INVALID | W.PAGE_READWRITE],
    ['unknown bit 0x800|PAGE_READWRITE', 0x800 | W.PAGE_READWRITE],
    ['unknown bit 0x08000000|PAGE_READWRITE', 0x0800_0000 | W.PAGE_READWRITE],
    ['PAGE_ENCLAVE_UNVALIDATED|PAGE_NOACCESS', W.PAGE_ENCLAVE_UNVALIDATED | W.PAGE_NOACCESS],
  ];
  for (const [name, protect] of rejected) add({ fn: L, ref: '§2.8 #8', what: `flProtect ${name}`, call: loadCall({ protect: protect >>> 0 }), sgx: badProt });
  add(
    { fn: L, ref: '§2.8 #8, §7.1 acceptZeroProtection', what: 'knob off: flProtect 0', platform: { windows: { acceptZeroProtection: false } }, call: loadCall({ protect: 0 }), sgx: badProt },
    // #9
    { fn: L, ref: '§2.8 #9', what: 'lpBuffer NULL', call: loadCall({ buf: () => 0 }), sgx: einval },
    { fn: L, ref: '§2.8 #9', what: 'lpBuffer null', call: loadCall({ buf: () => null }), sgx: einval },
    // #10
    { fn: L, ref: '§2.8 #10', what: 'page already added', prepare: (c) => {
      if (c.sgx) H.loadPage(c.p, c.base, c.layout.pages[0]!);
    }, call: loadCall({ at: (c) => c.base, buf: () => H.tcsPage(0x1000, 1, 0x3000), protect: TCS_RW }), sgx: { ...conflict, written: 'unchecked' } },
    { fn: L, ref: '§2.8 #10', what: 'second of two pages already added', prepare: (c) => {
      if (c.sgx) H.loadPage(c.p, c.base, c.layout.pages[1]!);
    }, call: loadCall({ at: (c) => c.base, size: 2 * PAGE }), sgx: { ...conflict, written: 'unchecked' }, probe: false },
    // #11
    { fn: L, ref: '§2.8 #11', what: 'EPC exhausted (3 pages, 2 free)', platform: { epcSize: 3 * PAGE }, call: loadCall({ size: 3 * PAGE }), sgx: { ...noMem, written: 'unchecked' }, probe: false },
    { fn: L, ref: '§2.8 #11, §7.1 epcExhaustedStatus', what: 'knob: EPC exhausted → STATUS_COMMITMENT_LIMIT', platform: { epcSize: 3 * PAGE, windows: { epcExhaustedStatus: W.STATUS_COMMITMENT_LIMIT } },
      call: loadCall({ size: 3 * PAGE }), sgx: { ...fail(W.ERROR_COMMITMENT_LIMIT, W.STATUS_COMMITMENT_LIMIT), written: 'unchecked' }, probe: false },
    // #12
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer unmapped', call: loadCall({ buf: () => H.UNMAPPED }), sgx: { ...noAccess, written: 'unchecked' } },
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer reserved, not committed', prepare: (c) => c.vars.set('res', c.k32.VirtualAlloc(0, 0x1_0000, W.MEM_RESERVE, W.PAGE_READWRITE)),
      call: loadCall({ buf: (c) => c.vars.get('res')! }), sgx: { ...noAccess, written: 'unchecked' } },
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer committed PAGE_NOACCESS', prepare: (c) => c.vars.set('na', c.k32.VirtualAlloc(0, 0x1_0000, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_NOACCESS)),
      call: loadCall({ buf: (c) => c.vars.get('na')! }), sgx: { ...noAccess, written: 'unchecked' } },
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer: second page not committed', prepare: (c) => {
      const r = c.k32.VirtualAlloc(0, 0x1_0000, W.MEM_RESERVE, W.PAGE_READWRITE);
      assert.equal(c.k32.VirtualAlloc(r, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE), r);
      c.vars.set('half', r);
    }, call: loadCall({ buf: (c) => c.vars.get('half')!, size: 2 * PAGE }), sgx: { ...noAccess, written: 'unchecked' } },
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer: 100 bytes for 4096', call: loadCall({ buf: () => new Uint8Array(100) }), sgx: { ...noAccess, written: 'unchecked' } },
    { fn: L, ref: '§2.8 #12', what: 'lpBuffer in the enclave\'s own unloaded range', call: loadCall({ buf: (c) => c.base + 0x1_0000 }), sgx: { ...noAccess, written: 'unchecked' } },
    // #13 EADD faults (a failure at #13: pages done stay added, *written = bytes done)
    { fn: L, ref: '§2.8 #13–14', what: 'EADD #GP: TCS with a reserved byte set', call: loadCall({ protect: TCS_RW, buf: () => {
      const t = H.tcsPage(0x1000, 1, 0x3000);
      t[100] = 1;
      return t;
    } }), sgx: { ...einval, written: 0 } },
    { fn: L, ref: '§2.8 #13–14', what: 'EADD #GP on the second of two TCS pages: the first stays added', partial: true, probe: false,
      call: loadCall({ protect: TCS_RW, size: 2 * PAGE, buf: () => {
        const b = new Uint8Array(2 * PAGE);
        b.set(H.tcsPage(0x1000, 1, 0x3000), 0);
        b.set(H.tcsPage(0x1000, 1, 0x3000), PAGE);
        b[PAGE + 100] = 1;
        return b;
      } }), sgx: { ...einval, written: PAGE },
      check: (c) => {
        if (!c.sgx) return;
        assert.deepEqual(c.p.kernel.enclaves[0]!.pages.size, 1);
        assert.equal(c.p.processor.inspect.enclaves()[0]!.pages, 1);
        assert.equal(c.p.processor.inspect.freeEpcPages, c.p.processor.epcPages - 2);
      } },
    // order
    { fn: L, ref: '§2.8 order #1<#2', what: 'hProcess NULL and lpAddress misaligned', call: loadCall({ h: 0, at: (c) => c.base + 0x10 }), sgx: badHandle, other: nosgx(badHandle) },
    { fn: L, ref: '§2.8 order #2<#3', what: 'misaligned lpAddress in no enclave', call: loadCall({ at: () => OUTSIDE + 0x10 }), sgx: einval, other: nosgx(einval) },
    { fn: L, ref: '§2.8 order #3<#5', what: 'lpAddress in no enclave and nSize 0', call: loadCall({ at: () => OUTSIDE, size: 0 }), sgx: conflict },
    { fn: L, ref: '§2.8 order #5<#6', what: 'nSize 100 after InitializeEnclave', stage: 'initialized', call: loadCall({ size: 100 }), sgx: einval },
    { fn: L, ref: '§2.8 order #5<#6', what: 'range crossing the end after InitializeEnclave', stage: 'initialized', call: loadCall({ at: (c) => c.base + c.layout.size - PAGE, size: 2 * PAGE }), sgx: conflict },
    { fn: L, ref: '§2.8 order #6<#7', what: 'after InitializeEnclave with dwInfoLength 64', stage: 'initialized', call: loadCall({ infoLen: 64 }), sgx: already },
    { fn: L, ref: '§2.8 order #7<#8', what: 'dwInfoLength 64 and PAGE_NOACCESS', call: loadCall({ infoLen: 64, protect: W.PAGE_NOACCESS }), sgx: badLen },
    { fn: L, ref: '§2.8 order #8<#9', what: 'PAGE_NOACCESS and lpBuffer NULL', call: loadCall({ protect: W.PAGE_NOACCESS, buf: () => 0 }), sgx: badProt },
    { fn: L, ref: '§2.8 order #9<#10', what: 'lpBuffer NULL on a page already added', prepare: (c) => {
      if (c.sgx) H.loadPage(c.p, c.base, c.layout.pages[0]!);
    }, call: loadCall({ at: (c) => c.base, buf: () => 0 }), sgx: einval },
    { fn: L, ref: '§2.8 order #10<#11', what: 'page already added and EPC exhausted', platform: { epcSize: 3 * PAGE }, prepare: (c) => {
      if (c.sgx) H.loadPage(c.p, c.base, c.layout.pages[0]!);
    }, call: loadCall({ at: (c) => c.base, size: 3 * PAGE }), sgx: { ...conflict, written: 'unchecked' }, probe: false },
    { fn: L, ref: '§2.8 order #11<#12', what: 'EPC exhausted and lpBuffer unmapped', platform: { epcSize: 2 * PAGE }, call: loadCall({ size: 2 * PAGE, buf: () => H.UNMAPPED }),
      sgx: { ...noMem, written: 'unchecked' }, probe: false },
  );
}

// §2.9 InitializeEnclave
{
  const I = 'InitializeEnclave';
  const already = fail(W.ERROR_ALREADY_INITIALIZED, W.STATUS_ALREADY_INITIALIZED);
  const badHandle = fail(W.ERROR_INVALID_HANDLE, W.STATUS_INVALID_HANDLE);
  const einitFail = (code: number): Expect => fail(W.ERROR_ENCLAVE_FAILURE, W.STATUS_ENCLAVE_FAILURE, { enclaveError: code });
  const inited = ok({ enclaveError: 0 });
  const PROD = new H.TestLayout({ flags: ATTR.MODE64BIT, marker: 'production' });
  add(
    { fn: I, ref: '§2.9 #8', what: 'valid SIGSTRUCT, zero token', call: initCall(), sgx: inited, check: checkInitialized },
    { fn: I, ref: '§2.9 #1', what: 'lpAddress inside the enclave (base + 0x3000)', call: initCall({ at: (c) => c.base + 0x3000 }), sgx: inited, check: checkInitialized },
    { fn: I, ref: '§2.9 #1', what: 'lpAddress = last byte of ELRANGE', call: initCall({ at: (c) => c.base + c.layout.size - 1 }), sgx: inited, check: checkInitialized },
    { fn: I, ref: '§2.9 #3', what: 'information in process memory', prepare: (c) => c.vars.set('info', H.hostBuffer(c.p, c.layout.initInfo(), 0x40)),
      call: initCall({ info: (c) => c.vars.get('info')! }), sgx: inited, check: checkInitialized },
    { fn: I, ref: '§2.9 #5', what: 'Reserved1/Reserved2 garbage is ignored', call: initCall({ info: (c) => {
      const info = c.layout.initInfo();
      info.fill(0xcc, 1808, 2048);
      info.fill(0xdd, 2352, 4096);
      return info;
    } }), sgx: inited, check: checkInitialized },
    { fn: I, ref: '§2.9 #8, §2.7 #11', what: 'unused commitment is released', prepare: (c) => {
      if (!c.sgx) return;
      assert.equal(c.k32.DeleteEnclave(c.base), true);
      H.create(c.p, c.layout, c.base, 16 * PAGE);
      H.loadRest(c.p, c.base, c.layout);
      assert.equal(c.p.kernel.epc.committedPages, 12);
    }, call: initCall(), sgx: inited, check: (c) => {
      checkInitialized(c);
      assert.equal(c.p.kernel.epc.availablePages, c.p.processor.epcPages - 5);
    } },
    // #1
    { fn: I, ref: '§2.9 #1', what: 'hProcess NULL', call: initCall({ h: 0 }), sgx: badHandle, other: nosgx(badHandle) },
    { fn: I, ref: '§2.9 #1', what: 'lpAddress in no enclave', call: initCall({ at: () => OUTSIDE }), sgx: conflict },
    { fn: I, ref: '§2.9 #1', what: 'lpAddress NULL', call: initCall({ at: () => 0 }), sgx: conflict },
    { fn: I, ref: '§2.9 #1', what: 'a deleted enclave', stage: 'deleted', call: initCall(), sgx: conflict },
    // #2
    { fn: I, ref: '§2.9 #2', what: 'dwInfoLength 2048 (W14)', call: initCall({ len: 2048 }), sgx: badLen },
    { fn: I, ref: '§2.9 #2', what: 'dwInfoLength 0', call: initCall({ len: 0 }), sgx: badLen },
    { fn: I, ref: '§2.9 #2', what: 'dwInfoLength 1808 (SIGSTRUCT only)', call: initCall({ len: 1808 }), sgx: badLen },
    { fn: I, ref: '§2.9 #2', what: 'dwInfoLength 8 (the VBS size)', call: initCall({ len: 8 }), sgx: badLen },
    { fn: I, ref: '§2.9 #2', what: 'dwInfoLength 4097', call: initCall({ len: 4097 }), sgx: badLen },
    // #3
    { fn: I, ref: '§2.9 #3', what: 'information unmapped', call: initCall({ info: () => H.UNMAPPED }), sgx: noAccess },
    { fn: I, ref: '§2.9 #3', what: 'information: 2048 readable bytes for 4096', call: initCall({ info: () => new Uint8Array(2048) }), sgx: noAccess },
    { fn: I, ref: '§2.9 #3 (NULL not listed; as §2.7 #2)', what: 'information NULL', call: initCall({ info: () => 0 }), sgx: einval },
    // #4
    { fn: I, ref: '§2.9 #4', what: 'already initialized', stage: 'initialized', call: initCall(), sgx: already },
    { fn: I, ref: '§2.9 #4, §7.1 secondInitStatus', what: 'knob: already initialized → STATUS_INVALID_PARAMETER', stage: 'initialized', platform: { windows: { secondInitStatus: W.STATUS_INVALID_PARAMETER } },
      call: initCall(), sgx: einval },
    // #6 / #7 EINIT results
    { fn: I, ref: '§2.9 #7', what: 'ENCLAVEHASH ≠ MRENCLAVE (W12)', call: initCall({ info: (c) => c.layout.initInfo(c.layout.sigstruct({ enclaveHash: new Uint8Array(32).fill(0x11) })) }), sgx: einitFail(4) },
    { fn: I, ref: '§2.9 #7', what: 'no page loaded (MRENCLAVE of ECREATE alone)', stage: 'created', call: initCall(), sgx: einitFail(4), probe: true },
    { fn: I, ref: '§2.9 #7', what: 'SIGNATURE corrupted', call: initCall({ info: infoWithSig((s) => {
      s[516] ^= 1;
      return s;
    }) }), sgx: einitFail(8) },
    { fn: I, ref: '§2.9 #7', what: 'signed field changed after signing (ISVSVN)', call: initCall({ info: infoWithSig((s) => {
      s[1026] ^= 1;
      return s;
    }) }), sgx: einitFail(8) },
    { fn: I, ref: '§2.9 #7', what: 'SIGSTRUCT HEADER corrupted', call: initCall({ info: infoWithSig((s) => {
      s[0] ^= 1;
      return s;
    }) }), sgx: einitFail(1) },
    { fn: I, ref: '§2.9 #7', what: 'SIGSTRUCT requires a production enclave (mask covers DEBUG)', call: initCall({ info: (c) => c.layout.initInfo(c.layout.sigstruct({ attributeMaskFlags: 0xffff_ffff_ffff_ffffn })) }), sgx: einitFail(2) },
    { fn: I, ref: '§2.9 #7', what: 'SIGSTRUCT MISCSELECT 1 under MISCMASK', call: initCall({ info: (c) => c.layout.initInfo(c.layout.sigstruct({ miscSelect: 1 })) }), sgx: einitFail(2) },
    { fn: I, ref: '§2.9 #7', what: 'EINITTOKEN valid, CPUSVN above the platform\'s', call: initCall({ info: infoWithToken((t) => {
      t[0] = 1;
      t.fill(0xff, 192, 208);
    }) }), sgx: einitFail(32) },
    { fn: I, ref: '§2.9 #7', what: 'EINITTOKEN valid bit with a reserved byte set', call: initCall({ info: infoWithToken((t) => {
      t[0] = 1;
      t[4] = 1;
    }) }), sgx: einitFail(16) },
    { fn: I, ref: '§2.9 launch policy', what: "'token': zero EINITTOKEN, signer is not the launch key owner", platform: { windows: { launchPolicy: 'token' } }, call: initCall(), sgx: einitFail(16), probe: false },
    { fn: I, ref: '§2.9 launch policy', what: "'token' is the default without FLC", platform: { processor: { features: { flc: false } } }, call: initCall(), sgx: einitFail(16), probe: false },
    { fn: I, ref: '§2.9 launch policy', what: "'flc-restricted': production enclave", layout: PROD, platform: { windows: { launchPolicy: 'flc-restricted' } }, call: initCall(), sgx: einitFail(16), probe: false },
    { fn: I, ref: '§2.9 launch policy', what: "'flc-restricted': debug enclave", platform: { windows: { launchPolicy: 'flc-restricted' } }, call: initCall(), sgx: inited, check: checkInitialized },
    { fn: I, ref: '§2.9 launch policy', what: "'flc-os-managed': production enclave", layout: PROD, platform: { windows: { launchPolicy: 'flc-os-managed' } }, call: initCall(), sgx: inited, check: checkInitialized },
    { fn: I, ref: '§2.9 #6', what: 'interrupt pending on LP0: SGX_UNMASKED_EVENT, then a retry succeeds (W13)', prepare: (c) => c.p.processor.lps[0]!.injectInterrupt(),
      call: initCall(), sgx: fail(W.ERROR_RETRY, W.STATUS_RETRY, { enclaveError: 0x80 }),
      check: (c) => {
        if (!c.sgx) return;
        assert.equal(c.p.processor.inspect.enclaves()[0]!.state, 'uninitialized', 'the enclave stays CREATED');
        assert.equal(c.p.processor.lps[0]!.interruptPending, false, 'the interrupt was delivered');
      } },
    { fn: I, ref: '§2.9 #6, §7.1 osInternalEinitRetries', what: 'interrupt pending, one internal retry: success', platform: { windows: { osInternalEinitRetries: 1 } }, prepare: (c) => c.p.processor.lps[0]!.injectInterrupt(),
      call: initCall(), sgx: inited, check: checkInitialized },
    // order
    { fn: I, ref: '§2.9 order #1', what: 'hProcess NULL and lpAddress in no enclave', call: initCall({ h: 0, at: () => OUTSIDE }), sgx: badHandle, other: nosgx(badHandle) },
    { fn: I, ref: '§2.9 order #1<#2', what: 'lpAddress in no enclave and dwInfoLength 2048', call: initCall({ at: () => OUTSIDE, len: 2048 }), sgx: conflict },
    { fn: I, ref: '§2.9 order #2<#4', what: 'dwInfoLength 2048 on an initialized enclave', stage: 'initialized', call: initCall({ len: 2048 }), sgx: badLen },
    { fn: I, ref: '§2.9 order #3<#4', what: 'unreadable information on an initialized enclave', stage: 'initialized', call: initCall({ info: () => H.UNMAPPED }), sgx: noAccess },
    { fn: I, ref: '§2.9 order #4<#5', what: 'initialized enclave and a wrong ENCLAVEHASH', stage: 'initialized',
      call: initCall({ info: (c) => c.layout.initInfo(c.layout.sigstruct({ enclaveHash: new Uint8Array(32) })) }), sgx: already },
  );
}

// §2.12 DeleteEnclave
{
  const D = 'DeleteEnclave';
  for (const stage of ['created', 'loaded', 'initialized'] as const) {
    add({ fn: D, ref: '§2.12', what: `enclave base, ${stage} (W15 for SGX: no TerminateEnclave needed)`, stage, call: (c) => c.k32.DeleteEnclave(c.base), sgx: ok(), check: checkGone });
  }
  add(
    { fn: D, ref: '§2.12', what: 'an address inside the enclave (not its base)', call: (c) => c.k32.DeleteEnclave(c.base + PAGE), sgx: conflict },
    { fn: D, ref: '§2.12', what: 'an address with no enclave', stage: 'none', call: (c) => c.k32.DeleteEnclave(c.base), sgx: conflict },
    { fn: D, ref: '§2.12', what: 'twice (the enclave was deleted)', stage: 'deleted', call: (c) => c.k32.DeleteEnclave(c.base), sgx: conflict },
    { fn: D, ref: '§2.12', what: 'the base of private memory', prepare: (c) => c.vars.set('priv', H.hostBuffer(c.p, new Uint8Array(PAGE), 0, OUTSIDE)),
      call: (c) => c.k32.DeleteEnclave(c.vars.get('priv')!), sgx: conflict },
    { fn: D, ref: '§2.12', what: 'NULL', call: (c) => c.k32.DeleteEnclave(0), sgx: conflict },
  );
}

// §2.12 VirtualFree on an enclave
{
  const V = 'VirtualFree';
  for (const stage of ['created', 'loaded', 'initialized'] as const) {
    add({ fn: V, ref: '§2.12, W16', what: `MEM_RELEASE at the base, ${stage}`, stage, call: (c) => c.k32.VirtualFree(c.base, 0, W.MEM_RELEASE), sgx: ok(), check: checkGone });
  }
  add(
    { fn: V, ref: '§2.12', what: 'MEM_DECOMMIT of the whole enclave', stage: 'loaded', call: (c) => c.k32.VirtualFree(c.base, 0, W.MEM_DECOMMIT), sgx: einval },
    { fn: V, ref: '§2.12', what: 'MEM_DECOMMIT of one loaded page', stage: 'loaded', call: (c) => c.k32.VirtualFree(c.base + 0x2000, PAGE, W.MEM_DECOMMIT), sgx: einval },
    // The free type and MEM_RELEASE's dwSize are checked before the address, on every profile
    // (VirtualFree docs: "dwSize must be 0"; WRK freevm.c checks FreeType first).
    { fn: V, ref: '§2.12 (Win32 rule)', what: 'MEM_RELEASE with dwSize ≠ 0', call: (c) => c.k32.VirtualFree(c.base, c.layout.size, W.MEM_RELEASE), sgx: einval, other: everywhere(einval) },
    // WRK freevm.c: a release that does not start at the region's base.
    { fn: V, ref: '§2.12 (WRK freevm.c)', what: 'MEM_RELEASE inside the enclave, not at its base', call: (c) => c.k32.VirtualFree(c.base + PAGE, 0, W.MEM_RELEASE), sgx: fail(W.ERROR_INVALID_ADDRESS, W.STATUS_FREE_VM_NOT_AT_BASE) },
    { fn: V, ref: '§2.12 (Win32 rule)', what: 'dwFreeType 0', call: (c) => c.k32.VirtualFree(c.base, 0, 0), sgx: einval, other: everywhere(einval) },
    { fn: V, ref: '§2.12 (Win32 rule)', what: 'dwFreeType MEM_RELEASE|MEM_DECOMMIT', call: (c) => c.k32.VirtualFree(c.base, 0, W.MEM_RELEASE | W.MEM_DECOMMIT), sgx: einval, other: everywhere(einval) },
    { fn: V, ref: '§2.12', what: 'MEM_RELEASE of a deleted enclave', stage: 'deleted', call: (c) => c.k32.VirtualFree(c.base, 0, W.MEM_RELEASE), sgx: notAllocated },
    { fn: V, ref: '§2.12', what: 'MEM_RELEASE where nothing is reserved', stage: 'none', call: (c) => c.k32.VirtualFree(c.base, 0, W.MEM_RELEASE), sgx: notAllocated },
  );
}

// §2.7 notes: ordinary VirtualAlloc over an enclave range
{
  const V = 'VirtualAlloc';
  const freeRange = (ret: number): Partial<Record<WindowsProfileId, Expect>> => ({
    'win-absent': { ret, err: 'unchanged', nt: W.STATUS_SUCCESS }, 'win-stub-10514-arm': { ret, err: 'unchanged', nt: W.STATUS_SUCCESS }, [NOSGX]: { ret, err: 'unchanged', nt: W.STATUS_SUCCESS },
  });
  add(
    { fn: V, ref: '§2.7 notes', what: 'MEM_RESERVE at the enclave base', stage: 'created', call: (c) => c.k32.VirtualAlloc(c.base, 0x1_0000, W.MEM_RESERVE, W.PAGE_READWRITE),
      sgx: conflict, other: freeRange(H.FIX_BASE) },
    { fn: V, ref: '§2.7 notes', what: 'MEM_RESERVE overlapping the enclave\'s last 64 KiB', stage: 'created', call: (c) => c.k32.VirtualAlloc(c.base + c.layout.size - 0x1_0000, 0x2_0000, W.MEM_RESERVE, W.PAGE_READWRITE),
      sgx: conflict, other: freeRange(H.FIX_BASE + 0x1_0000) },
    // The VirtualAlloc page (lpAddress), not §2.7's note: a page of zeros in an enclave not yet initialized, ERROR_INVALID_ADDRESS once it is (test/os/lifecycle.test.ts covers the rest).
    { fn: V, ref: 'VirtualAlloc docs', what: 'MEM_COMMIT inside the enclave range, uninitialized', stage: 'created', call: (c) => c.k32.VirtualAlloc(c.base + 0x1_0000, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE),
      sgx: { ret: H.FIX_BASE + 0x1_0000, err: 'unchanged', nt: W.STATUS_SUCCESS }, partial: true, other: { 'win-absent': notAllocated, 'win-stub-10514-arm': notAllocated, [NOSGX]: notAllocated } },
    { fn: V, ref: 'VirtualAlloc docs', what: 'MEM_COMMIT inside the enclave range, initialized', stage: 'initialized', call: (c) => c.k32.VirtualAlloc(c.base + 0x1_0000, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE),
      sgx: conflict, other: { 'win-absent': notAllocated, 'win-stub-10514-arm': notAllocated, [NOSGX]: notAllocated } },
  );
}

// §2.10 CallEnclave, §2.11 TerminateEnclave on SGX
{
  add(
    { fn: 'CallEnclave', ref: '§2.10', what: 'lpRoutine in an SGX enclave, fWaitForThread TRUE', call: (c, b) => c.k32.CallEnclave(c.base + 0x3000, 0, true, b.routine), sgx: unsupported },
    { fn: 'CallEnclave', ref: '§2.10', what: 'lpRoutine in an SGX enclave, fWaitForThread FALSE', call: (c, b) => c.k32.CallEnclave(c.base + 0x3000, 0, false, b.routine), sgx: unsupported },
    { fn: 'CallEnclave', ref: '§2.10 (SGX-only machine)', what: 'lpRoutine in no enclave', call: (c, b) => c.k32.CallEnclave(OUTSIDE, 0, true, b.routine), sgx: unsupported },
    { fn: 'TerminateEnclave', ref: '§2.11', what: 'SGX enclave base, fWait TRUE', call: (c) => c.k32.TerminateEnclave(c.base, true), sgx: unsupported },
    { fn: 'TerminateEnclave', ref: '§2.11', what: 'SGX enclave base, fWait FALSE, uninitialized', stage: 'created', call: (c) => c.k32.TerminateEnclave(c.base, false), sgx: unsupported },
    { fn: 'TerminateEnclave', ref: '§2.11', what: 'unknown base', call: (c) => c.k32.TerminateEnclave(OUTSIDE, true), sgx: conflict },
    { fn: 'TerminateEnclave', ref: '§2.11 (interior address: SGX rule applies)', what: 'an address inside an SGX enclave', call: (c) => c.k32.TerminateEnclave(c.base + PAGE, true), sgx: unsupported },
    { fn: 'TerminateEnclave', ref: '§2.11', what: 'a deleted enclave', stage: 'deleted', call: (c) => c.k32.TerminateEnclave(c.base, true), sgx: conflict },
  );
}

// ---- running a case ---------------------------------------------------------------------------------

const DEFAULT_STAGE: Record<Fn, H.Stage> = {
  IsEnclaveTypeSupported: 'none', CreateEnclave: 'none', VirtualAlloc: 'created', LoadEnclaveData: 'created', InitializeEnclave: 'loaded',
  DeleteEnclave: 'initialized', VirtualFree: 'initialized', CallEnclave: 'initialized', TerminateEnclave: 'initialized',
};
const RETURNS_POINTER: ReadonlySet<Fn> = new Set(['CreateEnclave', 'VirtualAlloc']);

function expectationFor(cs: Case, profile: WindowsProfileId): Expect {
  return cs.other?.[profile] ?? (H.isSgxProfile(profile) ? cs.sgx : defaultExpect(cs.fn, profile));
}

function describeExpect(fn: Fn, e: Expect): string {
  const ret = e.ret === 'fail' ? (RETURNS_POINTER.has(fn) ? 'NULL' : 'FALSE') : e.ret === 'ok' ? 'TRUE' : e.ret === 'aligned' ? 'aligned base' : H.hex32(e.ret);
  const parts = [ret];
  if (typeof e.err === 'number') parts.push(`${e.err}`);
  parts.push(e.nt === H.SENT_NT ? 'no Nt call' : ntStatusName(e.nt));
  if (e.enclaveError !== undefined) parts.push(`*lpEnclaveError=${e.enclaveError}`);
  if (typeof e.written === 'number') parts.push(`*written=${e.written}`);
  return parts.join(', ');
}

function runCase(cs: Case, profile: WindowsProfileId): void {
  const p = H.platformFor(profile, cs.platform ?? {});
  const sgx = H.isSgxProfile(profile);
  const layout = cs.layout ?? STANDARD;
  const stage = cs.stage ?? DEFAULT_STAGE[cs.fn];
  const base = sgx ? H.buildTo(p, layout, stage) : H.FIX_BASE;
  const c: Ctx = { p, k32: p.kernel32, profile, sgx, layout, base, vars: new Map() };
  cs.prepare?.(c);
  const fixFreeBefore = p.process.isFree(H.FIX_BASE, layout.size);
  const before = H.epcState(p);
  const b: Boxes = { enclaveError: { value: H.SENT_OUT }, written: { value: H.SENT_OUT }, routine: { value: H.SENT_OUT } };
  c.k32.SetLastError(H.SENT_ERR);
  c.k32.lastNtStatus = H.SENT_NT;
  const ret = cs.call(c, b);
  const e = expectationFor(cs, profile);
  const obs = { err: c.k32.GetLastError(), nt: c.k32.lastNtStatus >>> 0, enclaveError: b.enclaveError.value, written: b.written.value };

  // the return value
  const failing = e.ret === 'fail';
  if (e.ret === 'fail') assert.equal(ret, RETURNS_POINTER.has(cs.fn) ? 0 : false, 'return value');
  else if (e.ret === 'ok') assert.equal(ret, true, `return value (GetLastError ${obs.err}, ${ntStatusName(obs.nt)})`);
  else if (e.ret === 'aligned') {
    assert.equal(typeof ret, 'number');
    assert.ok((ret as number) > 0 && (ret as number) % Math.max(layout.size, 0x20_0000) === 0, `aligned base, got ${String(ret)}`);
  } else assert.equal(ret, e.ret, `return value (GetLastError ${obs.err}, ${ntStatusName(obs.nt)})`);
  // last error, NTSTATUS, out-parameters
  if (e.err === 'unchanged') assert.equal(obs.err, H.SENT_ERR, 'GetLastError() unchanged');
  else if (e.err !== 'unchecked') assert.equal(obs.err, e.err, 'GetLastError()');
  assert.equal(H.hex32(obs.nt), H.hex32(e.nt), `NTSTATUS (${ntStatusName(obs.nt)})`);
  assert.equal(obs.enclaveError, e.enclaveError ?? H.SENT_OUT, '*lpEnclaveError');
  if (cs.fn === 'LoadEnclaveData' && e.written !== 'unchecked') assert.equal(obs.written, e.written ?? H.SENT_OUT, '*lpNumberOfBytesWritten');
  if (cs.fn === 'CallEnclave') assert.equal(b.routine.value, H.SENT_OUT, '*lpReturnValue not written');

  // a failing call leaves no trace
  if (failing && !cs.partial) assert.deepEqual(H.epcState(p), before, 'the failing call changed the machine');
  // case-specific checks describe the SGX outcome
  if (sgx && !cs.other?.[profile]) cs.check?.(c, ret);
  if (failing && sgx && cs.probe !== false) {
    if (stage === 'none' && cs.fn === 'CreateEnclave' && fixFreeBefore) {
      // the address is still free: a valid CreateEnclave there succeeds
      assert.equal(H.create(p, STANDARD, H.FIX_BASE), H.FIX_BASE);
      assert.equal(c.k32.DeleteEnclave(H.FIX_BASE), true);
    }
    const enc = stage === 'none' ? undefined : p.kernel.enclaves.find((x) => x.base === base);
    if (enc && enc.state === 'created') {
      // nothing was added or measured: the remaining pages load and the expected MRENCLAVE initializes
      H.loadRest(p, base, layout);
      H.initialize(p, base, layout);
      assert.deepEqual(p.processor.inspect.enclaves().find((x) => x.baseAddr === base)?.mrenclave, layout.mrenclave);
    }
  }
  H.teardown(p);
}

// ---- the table ---------------------------------------------------------------------------------------

const FNS: readonly Fn[] = ['IsEnclaveTypeSupported', 'CreateEnclave', 'LoadEnclaveData', 'InitializeEnclave', 'DeleteEnclave', 'VirtualFree', 'VirtualAlloc', 'CallEnclave', 'TerminateEnclave'];

for (const fn of FNS) {
  describe(`${fn} conformance`, () => {
    for (const cs of cases.filter((x) => x.fn === fn)) {
      for (const profile of H.PROFILES) {
        const e = expectationFor(cs, profile);
        const name = `[${profile}] ${cs.ref}: ${cs.what} → ${describeExpect(fn, e)}`;
        test(name, () => runCase(cs, profile));
      }
    }
  });
}

test('the table covers every function on every profile', () => {
  for (const fn of FNS) assert.ok(cases.some((c) => c.fn === fn), fn);
  assert.ok(cases.length * H.PROFILES.length > 500, `${cases.length} rows × ${H.PROFILES.length} profiles`);
});
