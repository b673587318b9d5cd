/**
 * ENCLU and enclave mode: EENTER, ERESUME, EEXIT, AEX, EREPORT, EGETKEY (specs/sgx.md §7, §9).
 *
 * The host executes EENTER/ERESUME on a TCS; the processor switches the logical processor into
 * enclave mode and runs the enclave's code (the `EnclaveEngine`) with an `EnclaveContext`. When the
 * enclave leaves in the middle of its work (an EEXIT that expects re-entry, e.g. an OCALL, or an
 * AEX at an interrupt point), its JavaScript frames stay on the stack and the processor calls the
 * host's exit handler (the code at the AEP / EEXIT target, vDSO-style); the handler's next
 * EENTER/ERESUME on that TCS continues the suspended frame. Without a handler (or when it returns
 * 0) the suspended work is unwound and control returns to the caller of `enclu`; a later ERESUME
 * of such a thread asks the engine to continue from the SSA (`EnclaveEngine.resume`).
 */
import { u64le, u64leNumberOrNeg, u32le, u16le, writeU64le, writeU32le, writeU16le, isZero, copyDisjoint, moveBytes, LITTLE_ENDIAN_HOST, LentBuffer } from '../lib/bytes.js';
import { MachineState, copyFrameWords, type LpState, type SecsState, type TcsState, type MemoryRegion, PERM, EPCM_STATE } from './machine.js';
import { ArchFault, gp, pf, ud } from './faults.js';
import { ArchError } from './errors.js';
import { PageTable } from './mmu.js';
import { ENCLU, SGX, PT, PFEC, VECTOR, EXIT_TYPE, MISC, ATTR, KEYNAME, KEYPOLICY, GPRSGX_SIZE, EXINFO_SIZE, PKCS1_5_PADDING } from './constants.js';
import { exitInfo as encodeExitInfo } from './structures/ssa.js';
import { computeXsaveSize } from './config.js';
import { deriveKey, cpusvnAtMost, provisionKeyDependencies, ZERO16, ZERO32, ZERO64, type KeyDependencies } from './keys.js';
import { type Registers, type ExitInfo, type ExitHandler, type EnclaveContext, newRegisters, copyRegisters, EnclaveRedirect, PROCESSOR_SIGNAL, REGISTER_NAMES } from './engine.js';
import * as SGX2 from './sgx2.js';

const USER_LIMIT = 2 ** 47;
/** Entry tokens, unique across every processor in the process (an Unwind must not match another machine's entry); 0 is "none". */
let nextToken = 1;

/**
 * The exit of the last entry whose run ended because the exit handler gave up on it (returned 0):
 * the handler has answered that exit already, so whoever called runEntry returns it at once
 * instead of asking the handler again. Set just before runEntry returns; read and cleared by its caller.
 */
let givenUp: ExitInfo | null = null;

/** Unwinds enclave frames to the entry boundary identified by `token`. */
class Unwind {
  readonly [PROCESSOR_SIGNAL] = true;
  constructor(readonly token: number, readonly exit: ExitInfo) {}
}

interface Entry {
  readonly lp: LpState;
  readonly tcs: TcsState;
  readonly secs: SecsState;
  token: number;
  handler: ExitHandler | null;
  hostRegs: Registers;
  readonly ctx: Context;
  /** Linear address of the current SSA frame and the EPC indices of its pages. */
  ssaLa: number;
  ssaPages: number[];
  /** While suspended at an AEX: the SSA frame that AEX wrote (only its exit handler continues it); −1 otherwise. */
  aexFrame: number;
  /** CR_SAVE_TF: RFLAGS.TF (0 or 0x100) as the last EENTER/ERESUME of this entry found it, restored at EEXIT and AEX; OPT_IN after an opt-in entry. */
  savedTf: number;
  /** The RIP the last AEX of this entry saved in its SSA frame. */
  aexRip: number;
}

function exitOf(reason: ExitInfo['reason'], t: TcsState, vector: number | null = null, errorCode = 0, address = 0, leaf: number | null = null, detail: string | null = null): ExitInfo {
  return { reason, vector, errorCode, address, tcs: t.linAddr, leaf, detail };
}

// ---------------------------------------------------------------------------------------------
// Entry checks (EENTER steps 2–11, ERESUME's variant).

/**
 * The TCS operand and the checks of its fields and its enclave that EENTER and ERESUME share
 * (steps 2–8). The same RBX as this LP's last entry that passed them, with nothing they depend on
 * changed (page table and its revocations; the EPCM epoch, which EDBGWR of TCS.FLAGS and integrity
 * failures move too; an initialized enclave stays initialized), passes them again: only the AEP,
 * the caller's, is checked every time.
 */
/** An AEP (or another linear address from a register) EENTER/ERESUME accept: canonical in the modelled user half, and an integer (a register holds one). */
function canonicalAep(aep: number): boolean {
  return aep >= 0 && aep < USER_LIMIT && Math.floor(aep) === aep;
}

function entryTcs(m: MachineState, lp: LpState, rbx: number, aep: number): TcsState {
  // The hit path is kept small (V8 inlines it into the entry); everything else is out of line.
  const c = lp.tcsOperand;
  const pt = lp.cr3;
  if (c.rbx === rbx && c.pt === pt && c.gen === PageTable.revocationsOf(pt) && c.epoch === m.epcmEpoch && canonicalAep(aep)) return c.tcs!;
  return entryTcsMiss(m, lp, rbx, aep);
}

/** entryTcs without a usable cache entry (or with a bad AEP: the full checks give the same fault, in the SDM's order). */
function entryTcsMiss(m: MachineState, lp: LpState, rbx: number, aep: number): TcsState {
  const c = lp.tcsOperand;
  const pt = lp.cr3;
  const t = tcsOperand(m, lp, rbx, aep);
  commonEntryChecks(t);
  c.rbx = rbx;
  c.pt = pt;
  c.gen = PageTable.revocationsOf(pt);
  c.epoch = m.epcmEpoch;
  c.tcs = t;
  return t;
}

function tcsOperand(m: MachineState, lp: LpState, rbx: number, aep: number): TcsState {
  if (rbx < 0 || rbx % 4096 !== 0) throw tcsFault(rbx, 0);
  const pa = m.translate(lp.cr3, rbx, false, true, false);
  const i = m.epcIndex(pa);
  if (i < 0) throw tcsFault(rbx, 1);
  // The SDM checks the AEP right after "RBX resolves within the EPC", before the EPCM checks (specs/sgx.md §7.1 step 2).
  if (!canonicalAep(aep)) throw tcsFault(rbx, 3);
  if (!m.valid[i] || m.state[i]! & (EPCM_STATE.BLOCKED | EPCM_STATE.PENDING | EPCM_STATE.MODIFIED) || m.linAddr[i] !== rbx || m.pt[i] !== PT.TCS) throw tcsFault(rbx, 2);
  if (m.tampered[i]) m.lockUp('the TCS page failed integrity');
  return m.tcs[i]!;
}

/** The fault of a failed TCS operand check (out of line: keeps the entry path small). */
function tcsFault(rbx: number, why: number): ArchFault {
  if (why === 0) return gp('EENTER/ERESUME: the TCS address must be 4K-aligned');
  if (why === 1) return pf(rbx, PFEC.P | PFEC.US, 'EENTER/ERESUME: the TCS does not resolve to an EPC page');
  if (why === 3) return gp('EENTER/ERESUME: the AEP is not canonical');
  return pf(rbx, PFEC.P | PFEC.US | PFEC.SGX, 'EENTER/ERESUME: the page is not a usable TCS at this address');
}

/**
 * Validate the pages of SSA frame `frame` (EENTER step 9). Returns [frame linear address, page
 * indices]. The result is cached on the TCS while the page table and the EPCM are unchanged.
 */
function ssaFramePages(m: MachineState, lp: LpState, s: SecsState, t: TcsState, frame: number): NonNullable<TcsState['cache']> {
  const c = t.cache;
  const pt = lp.cr3;
  if (c !== null && c.pt === pt && c.gen === PageTable.revocationsOf(pt) && c.epoch === m.epcmEpoch && c.frame === frame) return c;
  return ssaFrameCacheMiss(m, lp, s, t, frame);
}

function ssaFrameCacheMiss(m: MachineState, lp: LpState, s: SecsState, t: TcsState, frame: number): NonNullable<TcsState['cache']> {
  const pt = lp.cr3;
  const r = ssaFramePagesUncached(m, lp, s, t, frame);
  const ursp = s.ssaFrameSize * 4096 - GPRSGX_SIZE + 144; // URSP and URBP share a page (GPRSGX ends the frame)
  const n = { pt, gen: PageTable.revocationsOf(pt), epoch: m.epcmEpoch, frame, ssaLa: r[0], pages: r[1], gprPage: r[1][Math.floor(ursp / 4096)]!, gprOff: ursp % 4096, gprBytes: null, gprWords: null };
  t.cache = n;
  return n;
}

function ssaFramePagesUncached(m: MachineState, lp: LpState, s: SecsState, t: TcsState, frame: number): [number, number[]] {
  const la = s.baseAddr + t.ossa + frame * s.ssaFrameSize * 4096;
  const pages: number[] = [];
  // The pages of the XSAVE part and the GPRSGX page (the frame's last, with MISC) are checked
  // (specs/sgx.md §7.1 step 9); pages between them are not the processor's business (-1: never used).
  const xsavePages = Math.ceil(computeXsaveSize(s.xfrm) / 4096);
  for (let p = 0; p < s.ssaFrameSize; p++) {
    if (p >= xsavePages && p !== s.ssaFrameSize - 1) {
      pages.push(-1);
      continue;
    }
    const a = la + p * 4096;
    const pa = m.translate(lp.cr3, a, true, true, false);
    const i = m.epcIndex(pa);
    const pfec = PFEC.P | PFEC.US | PFEC.W | PFEC.SGX;
    if (i < 0 || !m.valid[i] || m.pt[i] !== PT.REG || m.owner[i] !== s.page || m.linAddr[i] !== a
      || (m.perm[i]! & (PERM.R | PERM.W)) !== (PERM.R | PERM.W) || m.state[i]! & (EPCM_STATE.BLOCKED | EPCM_STATE.PENDING | EPCM_STATE.MODIFIED)) {
      throw pf(a, pfec, `SSA frame ${frame} page 0x${a.toString(16)} is not a writable PT_REG page of this enclave`);
    }
    pages.push(i);
  }
  return [la, pages];
}

function commonEntryChecks(t: TcsState): void {
  const s = t.secs;
  if (t.ossa % 4096 !== 0 || t.ofsbase % 4096 !== 0 || t.ogsbase % 4096 !== 0 || t.ossa < 0 || t.ofsbase < 0 || t.ogsbase < 0) throw gp('EENTER/ERESUME: OSSA, OFSBASE and OGSBASE must be page-aligned');
  if (s.baseAddr + t.ofsbase >= USER_LIMIT || s.baseAddr + t.ogsbase >= USER_LIMIT) throw gp('EENTER/ERESUME: FS/GS base is not canonical');
  if (t.flags !== 0 && t.flags !== 1) throw gp('EENTER/ERESUME: TCS.FLAGS has reserved bits set'); // (any bit of 63:1: FLAGS is a u64, not a 32-bit value)
  if (!s.initialized) throw gp('EENTER/ERESUME: the enclave is not initialized');
  if (!s.mode64) throw gp('EENTER/ERESUME: a 32-bit enclave cannot be entered from 64-bit mode');
  if (!s.xfrmInXcr0) throw gp('EENTER/ERESUME: XFRM is not a subset of XCR0');
}

// ---------------------------------------------------------------------------------------------
// Entering and leaving enclave mode.

const TF = 0x100;
/** Entry.savedTf of an opt-in entry (TCS.FLAGS.DBGOPTIN = 1 at entry): TF is neither cleared nor restored. */
const OPT_IN = -1;

/**
 * RFLAGS.TF at EENTER/ERESUME (specs/sgx.md §7.1): an opt-out entry (TCS.FLAGS.DBGOPTIN = 0, the
 * normal case) saves TF (CR_SAVE_TF) and clears it in `r`; an opt-in one leaves it (single-step
 * into a debug enclave). EEXIT and the AEX put the saved TF back (restoreTf).
 */
function saveTf(e: Entry, r: Registers): void {
  // Opt-in or opt-out is latched here (CR_DBGOPTIN): an EDBGWR of TCS.FLAGS while the thread is
  // inside does not change what its exit restores. (r.rflags & TF: the low bits of a register that
  // holds an integer, what hardware reads.) The usual case stores nothing: this runs on every ECALL and ORET.
  if (e.tcs.flags !== 0) {
    if (e.savedTf !== OPT_IN) e.savedTf = OPT_IN;
  } else if ((r.rflags & TF) === 0) {
    if (e.savedTf !== 0) e.savedTf = 0;
  } else {
    e.savedTf = TF;
    r.rflags -= TF;
  }
}

/** `rflags` with TF as an opt-out entry found it, unchanged after an opt-in one. (A pending #DB for a restored TF is not modelled.) */
function restoreTf(e: Entry, rflags: number): number {
  return e.savedTf === OPT_IN ? rflags : rflags - (rflags & TF) + e.savedTf;
}

function enterMode(m: MachineState, e: Entry, aep: number): void {
  const { lp, tcs: t, secs: s } = e;
  t.state = 'active';
  t.aep = aep;
  m.tcsChanged(t);
  lp.enclaveMode = true;
  lp.activeSecs = s;
  lp.activeTcs = t;
  lp.activeToken = e.token;
  lp.entryEpoch = s.trackEpoch;
  s.activeThreads++;
}

function leaveMode(m: MachineState, e: Entry): void {
  leaveLp(e);
  releaseTcs(m, e);
}

/** The LP leaves enclave mode (the first half of an exit: code outside may run after it). */
function leaveLp(e: Entry): void {
  const lp = e.lp;
  lp.enclaveMode = false;
  lp.activeSecs = null;
  lp.activeTcs = null;
  lp.activeToken = 0;
}

/** The TCS is free again (the second half: once the host has its registers, EEXIT and AEX being one instruction each). */
function releaseTcs(m: MachineState, e: Entry): void {
  const { tcs: t, secs: s } = e;
  t.state = 'idle';
  m.tcsChanged(t);
  s.activeThreads--;
  s.exitCount++;
}

/** EENTER's URSP and URBP (u64s below 2^53) into the current frame's GPRSGX (8-aligned). */
function writeUrspUrbp(m: MachineState, ssa: NonNullable<TcsState['cache']>, rsp: number, rbp: number): void {
  const page = ssa.gprPage;
  const b = m.page(page);
  const w = ssa.gprBytes === b ? ssa.gprWords : gprWordsOf(ssa, b);
  if (w !== null) putUrspUrbpWords(w, ssa.gprOff >> 2, rsp, rbp);
  else {
    putRegister(b, ssa.gprOff, rsp);
    putRegister(b, ssa.gprOff + 8, rbp);
  }
  m.touched(page);
}

/** URSP and URBP as four word stores from word `k` (an Int32Array store keeps a number's low 32 bits, as ToInt32 does). */
function putUrspUrbpWords(w: Int32Array, k: number, rsp: number, rbp: number): void {
  w[k] = rsp;
  w[k + 1] = Math.floor(rsp / 4294967296);
  w[k + 2] = rbp;
  w[k + 3] = Math.floor(rbp / 4294967296);
}

/** A word view of the GPRSGX page's storage `b`, remembered in the SSA cache; null on a big-endian host (byte stores then). */
function gprWordsOf(ssa: NonNullable<TcsState['cache']>, b: Uint8Array): Int32Array | null {
  if (!LITTLE_ENDIAN_HOST) return null;
  ssa.gprBytes = b;
  return (ssa.gprWords = new Int32Array(b.buffer, b.byteOffset, 1024));
}

/**
 * The processor's working copies of EREPORT's TARGETINFO and REPORT and EGETKEY's KEYREQUEST: lent
 * per instruction and zeroed after it (LentBuffer: a fresh array of this size costs a malloc and a
 * free on the collector's thread, ~1–2 µs on a small VM; a seal makes an EGETKEY).
 */
const TARGETINFO_IN = new LentBuffer(512);
const REPORT_OUT = new LentBuffer(432);
const KEYREQUEST_IN = new LentBuffer(512);

/**
 * Largest copy with ordinary RAM done word by word when the engine passes a word view: above it,
 * one TypedArray#set of a view is cheaper than the loop (measured on Node 20: 128 bytes 32 vs 67 ns,
 * 256 bytes 69 vs 79 ns).
 */
const WORD_COPY_MAX = 256;

/** A register value as a u64 LE (registers hold u64s below 2^53; anything else is stored modulo 2^64 as its integer part). */
function putRegister(b: Uint8Array, o: number, x: number): void {
  const v = Math.trunc(x); // (NaN stays NaN: stored as 0)
  const lo = v >>> 0;
  const hi = lo === v ? 0 : Math.floor(v / 4294967296) >>> 0;
  b[o] = lo; b[o + 1] = lo >>> 8; b[o + 2] = lo >>> 16; b[o + 3] = lo >>> 24;
  b[o + 4] = hi; b[o + 5] = hi >>> 8; b[o + 6] = hi >>> 16; b[o + 7] = hi >>> 24;
}

/**
 * An entry record. A TCS with no suspended frame reuses its own record (entries of one TCS never
 * overlap then); otherwise a fresh one is made, so that a suspended frame keeps its context.
 */
function makeEntry(m: MachineState, lp: LpState, t: TcsState, s: SecsState, token: number, handler: ExitHandler | null, regs: Registers, ssaLa: number, ssaPages: number[], reuse: Entry | null): Entry {
  const pooled = reuse ?? (t.suspended.length === 0 ? (t.pool as Entry | null) : null);
  if (pooled !== null && pooled.lp === lp) {
    pooled.token = token;
    pooled.handler = handler;
    pooled.hostRegs = regs;
    pooled.ssaLa = ssaLa;
    pooled.ssaPages = ssaPages;
    return pooled;
  }
  return newEntry(m, lp, t, s, token, handler, regs, ssaLa, ssaPages);
}

function newEntry(m: MachineState, lp: LpState, t: TcsState, s: SecsState, token: number, handler: ExitHandler | null, regs: Registers, ssaLa: number, ssaPages: number[]): Entry {
  const e: Entry = { lp, tcs: t, secs: s, token, handler, hostRegs: regs, ctx: undefined as unknown as Context, ssaLa, ssaPages, aexFrame: -1, savedTf: 0, aexRip: 0 };
  (e as { ctx: Context }).ctx = new Context(m, e);
  if (t.suspended.length === 0) t.pool = e;
  return e;
}

/**
 * EENTER: checks, then enclave mode. Returns the entry. Throws the fault of the first failing check.
 * `regs` are the host's registers as read once (intake); `host` is the host's register file, which
 * the exit writes.
 */
function eenterEntry(m: MachineState, lp: LpState, regs: Registers, host: Registers, handler: ExitHandler | null, token: number, reuse: Entry | null = null): Entry {
  const t = entryTcs(m, lp, regs.rbx, regs.rcx);
  const s = t.secs;
  if (t.cssa >= t.nssa) throw eenterFault(t, 0);
  const ssa = ssaFramePages(m, lp, s, t, t.cssa);
  if (s.baseAddr + t.oentry >= USER_LIMIT || t.oentry < 0) throw eenterFault(t, 1);
  if (t.state === 'active') throw eenterFault(t, 2);
  const e = makeEntry(m, lp, t, s, token, handler, host, ssa.ssaLa, ssa.pages, reuse);
  enterMode(m, e, regs.rcx);
  m.eenters++;
  // URSP/URBP into the current SSA frame; RAX = CSSA, RCX = the instruction after ENCLU.
  writeUrspUrbp(m, ssa, regs.rsp, regs.rbp);
  const r = e.ctx.regs;
  if (r !== regs) copyRegisters(r, regs); // an ORET read them into this register file already
  saveTf(e, r);
  r.rax = t.cssa;
  r.rcx = regs.rip + 3;
  r.rip = s.baseAddr + t.oentry;
  return e;
}

/** The fault of EENTER's own checks (out of line: keeps the entry path small). */
function eenterFault(t: TcsState, why: number): ArchFault {
  if (why === 0) return gp(`EENTER: CSSA (${t.cssa}) ≥ NSSA (${t.nssa})`);
  if (why === 1) return gp('EENTER: the entry point is not canonical');
  return gp('EENTER: the TCS is busy');
}

/** ERESUME: checks, restore from SSA frame CSSA−1, CSSA −= 1, enclave mode (`regs` and `host` as for eenterEntry). */
function eresumeEntry(m: MachineState, lp: LpState, regs: Registers, host: Registers, handler: ExitHandler | null, token: number, reuse: Entry | null = null): Entry {
  const t = entryTcs(m, lp, regs.rbx, regs.rcx);
  const s = t.secs;
  if (t.cssa === 0) throw gp('ERESUME: CSSA is 0, there is no frame to resume');
  const frame = t.cssa - 1;
  const { ssaLa, pages } = ssaFramePages(m, lp, s, t, frame);
  // The XSAVE image must be restorable: XSTATE_BV ⊆ XFRM and header bytes 8..23 zero.
  const x = m.peek(pages[0]!);
  if (x) {
    const xstateBv = u64le(x, 512);
    // MXCSR (offset 24): XRSTOR loads it whenever SSE is in RFBM (XFRM always has it); a reserved bit
    // (31:16, beyond MXCSR_MASK 0xFFFF) is #GP.
    if ((xstateBv & ~s.xfrm) !== 0n || !isZero(x, 520, 536) || u32le(x, 24) > 0xffff) throw gp('ERESUME: the SSA XSAVE image cannot be restored');
  }
  if (t.state === 'active') throw gp('ERESUME: the TCS is busy');
  // Read GPRSGX and check it before committing anything (the entry record included).
  const g = new Uint8Array(GPRSGX_SIZE);
  const base = s.ssaFrameSize * 4096 - GPRSGX_SIZE;
  for (let k = 0; k < GPRSGX_SIZE; k++) {
    const off = base + k;
    const st = m.peek(pages[Math.floor(off / 4096)]!);
    g[k] = st ? st[off % 4096]! : 0;
  }
  const rip = u64leNumberOrNeg(g, 136);
  if (rip < 0 || rip >= USER_LIMIT) throw gp('ERESUME: the saved RIP is not canonical');
  const fsbase = u64leNumberOrNeg(g, 168), gsbase = u64leNumberOrNeg(g, 176);
  if (fsbase < 0 || fsbase >= USER_LIMIT || gsbase < 0 || gsbase >= USER_LIMIT) throw gp('ERESUME: the saved FS/GS base is not canonical');
  const e = makeEntry(m, lp, t, s, token, handler, host, ssaLa, pages, reuse);
  enterMode(m, e, regs.rcx);
  m.encluCounts[ENCLU.ERESUME]++;
  t.cssa = frame;
  m.tcsChanged(t);
  const r = e.ctx.regs;
  const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
  for (let k = 0; k < 16; k++) r[names[k]!] = Math.max(0, u64leNumberOrNeg(g, k * 8));
  // RFLAGS: CF PF AF ZF SF DF OF NT AC ID RF from the saved value, IF too with IOPL 3; the rest as
  // the host had them (specs/sgx.md §7.2); then TF saved and cleared as at EENTER.
  const cur = regs.rflags, saved = Math.max(0, u64leNumberOrNeg(g, 128));
  const fromSsa = 0x254cd5 | (((cur >> 12) & 3) === 3 ? 0x200 : 0);
  r.rflags = (cur & ~fromSsa & 0x3fffff) | (saved & fromSsa) | 0x2;
  // RF suppresses instruction breakpoints for the resumed instruction and clears once it completes;
  // the model has no instruction breakpoints, and the engine's next step completes it: clear now.
  r.rflags -= r.rflags & 0x10000;
  saveTf(e, r);
  r.rip = rip;
  return e;
}

/** EEXIT (or the end of an entry): leave enclave mode, host registers = enclave registers, RIP = target, RCX = AEP. */
function eexitTo(m: MachineState, e: Entry, target: number): ExitInfo {
  if (!(target >= 0 && target < USER_LIMIT)) throw eexitFault(target);
  const t = e.tcs, h = e.hostRegs, aep = t.aep;
  // Out of enclave mode before the host's register file is written (a setter there is the host's
  // code), but the TCS busy until it is: EEXIT is one instruction, no entry to this TCS fits inside
  // it (a setter's EENTER on it gets the busy #GP, and cannot take over this entry's record).
  leaveLp(e);
  m.eexits++;
  try {
    copyRegisters(h, e.ctx.regs);
    h.rip = target;
    h.rcx = aep;
    const rf = e.ctx.regs.rflags;
    if ((rf & TF) !== e.savedTf && e.savedTf !== OPT_IN) h.rflags = restoreTf(e, rf); // (TF clear and none saved, the usual case: nothing to put back)
  } finally {
    releaseTcs(m, e);
  }
  return t.eexitInfo;
}

function eexitFault(target: number): ArchFault {
  return gp(`EEXIT: the target 0x${target.toString(16)} is not canonical`);
}

const EXITINFO_VALID_VECTORS = new Set<number>([VECTOR.DE, VECTOR.DB, VECTOR.BP, VECTOR.BR, VECTOR.UD, VECTOR.MF, VECTOR.AC, VECTOR.XM]);

/**
 * AEX (SDM 39.4 / specs/sgx.md §9.2): save the enclave's state into the current SSA frame, load
 * the synthetic state, CSSA += 1, leave enclave mode. `vector` null = an interrupt.
 */
function aex(m: MachineState, e: Entry, vector: number | null, errorCode: number, maddr: number, detail: string | null): ExitInfo {
  const { tcs: t, secs: s } = e;
  m.aexCounts[vector === null ? 0 : 1]++;
  const r = e.ctx.regs;
  const frameBase = e.secs.ssaFrameSize * 4096;
  const gOff = frameBase - GPRSGX_SIZE;
  const g = new Uint8Array(GPRSGX_SIZE);
  const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
  // Registers hold u64s: each as its value modulo 2^64 (putRegister), so nothing here can throw
  // half-way through the AEX (a value no u64 write takes would leave the LP in enclave mode).
  for (let k = 0; k < 16; k++) putRegister(g, k * 8, r[names[k]!]);
  // TF = 0; RF = what the event would push outside an enclave: 1 for a fault (SDM Vol. 3 §17.3.1.1:
  // every fault but an instruction-breakpoint #DB), 0 for an interrupt or a trap (#BP, #OF, #DB).
  const rf = vector !== null && vector !== VECTOR.BP && vector !== VECTOR.OF && vector !== VECTOR.DB ? 0x10000 : 0;
  putRegister(g, 128, ((r.rflags & ~(0x100 | 0x10000)) | rf) >>> 0);
  putRegister(g, 136, r.rip);
  e.aexRip = Math.max(0, u64leNumberOrNeg(g, 136));
  // URSP/URBP stay as EENTER wrote them.
  const readG = (o: number) => {
    const off = gOff + o;
    const st = m.peek(e.ssaPages[Math.floor(off / 4096)]!);
    return st ? u64leNumberOrNeg(st, off % 4096) : 0;
  };
  const ursp = readG(144), urbp = readG(152);
  writeU64le(g, 144, Math.max(0, ursp));
  writeU64le(g, 152, Math.max(0, urbp));
  let valid = false;
  let exitType = 0;
  if (vector !== null) {
    const exinfo = (s.miscSelect & MISC.EXINFO) !== 0 && (vector === VECTOR.GP || vector === VECTOR.PF);
    valid = EXITINFO_VALID_VECTORS.has(vector) || exinfo;
    exitType = vector === VECTOR.BP ? EXIT_TYPE.SOFTWARE : EXIT_TYPE.HARDWARE;
  }
  writeU32le(g, 160, valid ? encodeExitInfo(vector!, exitType, true) : 0);
  // The AEXNOTIFY byte (167) is enclave-controlled: keep it.
  const keepNotify = (() => {
    const off = gOff + 167;
    const st = m.peek(e.ssaPages[Math.floor(off / 4096)]!);
    return st ? st[off % 4096]! : 0;
  })();
  g[167] = keepNotify;
  putRegister(g, 168, s.baseAddr + t.ofsbase);
  putRegister(g, 176, s.baseAddr + t.ogsbase);
  // Commit into the frame pages.
  const put = (frameOff: number, bytes: Uint8Array) => {
    for (let k = 0; k < bytes.length; ) {
      const off = frameOff + k;
      const pi = e.ssaPages[Math.floor(off / 4096)]!;
      const n = Math.min(4096 - (off % 4096), bytes.length - k);
      m.page(pi).set(bytes.subarray(k, k + n), off % 4096);
      m.touched(pi);
      k += n;
    }
  };
  put(gOff, g);
  // XSAVE: the INIT image of x87/SSE (FCW 0x037F, MXCSR 0x1F80), XSTATE_BV = 0, header zeroed.
  const xs = new Uint8Array(576);
  writeU16le(xs, 0, 0x037f);
  writeU32le(xs, 24, 0x1f80);
  writeU32le(xs, 28, 0xffff);
  put(0, xs);
  if (vector !== null && (s.miscSelect & MISC.EXINFO) !== 0 && (vector === VECTOR.GP || vector === VECTOR.PF)) {
    const x = new Uint8Array(EXINFO_SIZE);
    writeU64le(x, 0, vector === VECTOR.PF ? maddr : 0);
    writeU32le(x, 8, errorCode);
    put(gOff - EXINFO_SIZE, x);
  }
  // Scrub and leave; then the synthetic state for the host (specs/sgx.md §9.2 table), written
  // into its register file outside enclave mode (a setter there is the host's own code).
  const aep = t.aep;
  const h = e.hostRegs;
  // The synthetic RFLAGS: the enclave's, CF PF AF ZF SF OF RF cleared, TF as saved at entry (§9.2).
  const flags = restoreTf(e, (r.rflags & 0x3fffff & ~(0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800 | 0x10000)) | 0x2);
  const scrub = newRegisters();
  copyRegisters(r, scrub);
  if (t.notStarted.length !== 0) forgetNotStarted(t, t.cssa); // this frame is written anew
  t.cssa++;
  m.tcsChanged(t);
  t.aexCount++;
  leaveLp(e); // the TCS stays busy until the host has its registers (see eexitTo)
  try {
    h.rax = ENCLU.ERESUME; h.rbx = t.linAddr; h.rcx = aep; h.rdx = 0; h.rsi = 0; h.rdi = 0;
    h.r8 = 0; h.r9 = 0; h.r10 = 0; h.r11 = 0; h.r12 = 0; h.r13 = 0; h.r14 = 0; h.r15 = 0;
    h.rsp = Math.max(0, ursp); h.rbp = Math.max(0, urbp); h.rip = aep;
    h.rflags = flags;
  } finally {
    releaseTcs(m, e);
  }
  // A #PF goes to the kernel first (its IDT): when it resolves the fault (it loaded an evicted page
  // again), the host at the AEP sees what an interrupt's AEX shows it, and resumes.
  if (vector === VECTOR.PF && m.pageFaultHandler !== null && m.pageFaultHandler(e.lp, maddr, errorCode)) return exitOf('aex', t, null, 0, 0, null, null);
  return exitOf('aex', t, vector, vector === null ? 0 : errorCode, vector === VECTOR.PF ? maddr - (maddr % 4096) : 0, null, detail);
}

// ---------------------------------------------------------------------------------------------
// Suspension: an exit in the middle of the enclave's work.

function faultExit(e: unknown, leaf: number, t: number): ExitInfo {
  const f = e as ArchFault;
  return { reason: 'fault', vector: f.vector, errorCode: f.errorCode, address: f.address, tcs: t, leaf, detail: f.reason };
}

/**
 * Deliver `exit` to the host's handler and wait until the host continues this entry's TCS.
 * Returns when the suspended frame may continue (already back in enclave mode).
 *
 * The common case, an OCALL's EEXIT and the handler's ORET (EENTER of this TCS, this frame on top
 * of its stack) with every check answered by a cache, is written out here as one function, as
 * eenterCached is: what eenterEntry does for it (with `e` as the entry record). V8 inlines at most
 * ~920 bytes of bytecode into one optimized function; the general loop with the full checks overran
 * that, and which calls stayed calls then varied from process to process (an OCALL took 90 ns in
 * one process, 180 in the next). Everything else goes to waitInHandler. The checks and the commit
 * are the same as eenterCached's, written twice on purpose: shared as two helpers, both the ECALL
 * and the OCALL took 7 % longer (bench/pairs.ts, 6 of 6 pairs).
 */
function suspend(m: MachineState, e: Entry, first: ExitInfo, kind: 'eexit' | 'aex', interrupt: boolean): void {
  const t = e.tcs;
  e.aexFrame = kind === 'aex' ? t.cssa - 1 : -1;
  t.suspended.push(e); // the entry record is the frame's mark: nothing allocated per OCALL
  try {
    if (kind !== 'eexit' || !e.handler) return waitInHandler(m, e, first, kind, interrupt, false, 0, null);
    const leaf = e.handler(first, e.hostRegs);
    if (leaf !== ENCLU.EENTER) return waitInHandler(m, e, first, kind, interrupt, true, leaf, null);
    // The host's registers, each read once, into this frame's own register file (the entry
    // overwrites it anyway, and nothing reads it while the frame waits).
    const r = intakeInto(e.ctx.regs, e.hostRegs);
    const lp = e.lp, s = e.secs, c = lp.tcsOperand, pt = lp.cr3, aep = r.rcx, frame = t.cssa, ssa = t.cache;
    // This frame's ORET; entryTcs's cache (the TCS it resolves to is this frame's), with its AEP
    // check; EENTER's own checks; the SSA frame's cache, and URSP/URBP's word view.
    if (r.rbx !== t.linAddr || t.suspended[t.suspended.length - 1] !== e ||
      c.tcs !== t || c.rbx !== r.rbx || c.pt !== pt || c.gen !== PageTable.revocationsOf(pt) || c.epoch !== m.epcmEpoch || !canonicalAep(aep) ||
      frame >= t.nssa || t.oentry < 0 || s.baseAddr + t.oentry >= USER_LIMIT || t.state === 'active' ||
      ssa === null || ssa.pt !== pt || ssa.gen !== PageTable.revocationsOf(pt) || ssa.epoch !== m.epcmEpoch || ssa.frame !== frame ||
      ssa.gprWords === null || ssa.gprBytes !== m.page(ssa.gprPage) ||
      // validateAtEntry's checks (the frame runs on after the ORET as a fresh entry would start).
      s.tamperedPages > 0 || (s.regions.length !== 0 && (s.regionCheck.pt !== pt || s.regionCheck.revocations !== PageTable.revocationsOf(pt) || s.regionCheck.epoch !== s.regionEpoch))) {
      return waitInHandler(m, e, first, kind, interrupt, true, leaf, r);
    }
    // Commit: the record's SSA frame (makeEntry's reuse), enclave mode, URSP/URBP, RAX/RCX/RIP.
    e.ssaLa = ssa.ssaLa;
    e.ssaPages = ssa.pages;
    enterMode(m, e, aep);
    m.eenters++;
    putUrspUrbpWords(ssa.gprWords, ssa.gprOff >> 2, r.rsp, r.rbp);
    m.touched(ssa.gprPage);
    saveTf(e, r);
    r.rax = frame;
    r.rcx = r.rip + 3;
    r.rip = s.baseAddr + t.oentry;
  } finally {
    const n = t.suspended.length;
    if (n > 0 && t.suspended[n - 1] === e) t.suspended.pop();
    else unmark(t, e);
  }
}

/** Take frame `e`'s mark off the TCS's stack where it is (not on top: a nested frame's exit left it there). */
function unmark(t: TcsState, e: Entry): void {
  const i = t.suspended.lastIndexOf(e);
  if (i >= 0) t.suspended.splice(i, 1);
}

/**
 * suspend's general case: the handler's answers until one continues this frame (or gives up).
 * With `answered`, `leaf` is the handler's first answer (whatever it is: a negative one is an
 * ENCLU of that leaf, #GP) and `src` the registers read for it, or null: read them. Without it,
 * ask the handler first.
 */
function waitInHandler(m: MachineState, e: Entry, first: ExitInfo, kind: 'eexit' | 'aex', interrupt: boolean, answered: boolean, leaf: number, src: Registers | null): void {
  const t = e.tcs;
  const savedRip = kind === 'aex' ? e.aexRip : 0;
  let exit = first;
  let resumed = false;
  let retry = false, retries = 0;
  for (;; answered = retry, src = null, retry = false) {
    if (!answered) {
      if (e.handler) leaf = e.handler(exit, e.hostRegs);
      else leaf = kind === 'aex' && interrupt && exit === first ? ENCLU.ERESUME : 0;
    }
    if (leaf === 0) throw new Unwind(e.token, exit);
    const h = e.hostRegs;
    // The host's registers, each read once: for an ORET into this frame's own register file (see
    // suspend), else the LP's intake. (When that EENTER is not this frame's ORET, runEntry reads
    // them again for its own entry.)
    const r = src ?? (kind === 'eexit' && leaf === ENCLU.EENTER ? intakeInto(e.ctx.regs, h) : intake(e.lp, h));
    const rbx = r.rbx; // for a fault's report (a nested entry may reuse the LP's intake)
    try {
      // Back into this frame when RBX resolves to its TCS (under the page table of now: another
      // table may map another enclave's TCS at the same address, and EENTER then enters that one)
      // with the frame on top of the TCS's stack. suspend's finally takes its mark off the TCS.
      const mine = rbx === t.linAddr && t.suspended.length > 0 && t.suspended[t.suspended.length - 1] === e &&
        ((kind === 'aex' && leaf === ENCLU.ERESUME) || (kind === 'eexit' && leaf === ENCLU.EENTER)) && ownCheck(() => entryTcs(m, e.lp, rbx, r.rcx)) === t;
      if (mine) {
        try {
          if (kind === 'aex') eresumeEntry(m, e.lp, r, h, e.handler, e.token, e);
          else eenterEntry(m, e.lp, r, h, e.handler, e.token, e);
        } catch (err) {
          throw encluOwn(err);
        }
        resumed = true;
      } else {
        givenUp = null;
        exit = runEntry(m, e.lp, leaf, h, e.handler);
        if (givenUp !== null) {
          // The handler gave up on the entry it made from here: it gives up on this one too.
          givenUp = null;
          throw new Unwind(e.token, exit);
        }
      }
      retries = 0;
    } catch (err) {
      // (A #PF the kernel resolved: the same ENCLU again, as hostEnclu does.)
      if (!resumed && ownPageFault(err) && ++retries <= MAX_FAULT_RETRIES && kernelResolved(m, e.lp, err)) {
        retry = true;
        continue;
      }
      if (err instanceof ArchFault && err.vector !== VECTOR.MC && e.handler) {
        exit = faultExit(err, leaf, rbx);
        continue;
      }
      throw err;
    }
    if (resumed) {
      // Back in enclave mode in this frame: what a fresh entry checks before the engine runs holds
      // here too (a page removed, evicted or tampered with during the exit): a fault now is the
      // frame's own, raised in enclave mode: an AEX, after which the frame waits for its ERESUME
      // as at any fault of an access (the kernel may have loaded the page again meanwhile).
      for (;;) {
        try {
          validateAtEntry(m, e);
          break;
        } catch (err) {
          if (!(err instanceof ArchFault) || err.vector === VECTOR.MC || !inMode(e)) throw err;
          const x = aex(m, e, err.vector, err.errorCode, err.address, err.reason);
          suspend(m, e, x, 'aex', x.vector === null);
        }
      }
      if (kind === 'aex' && e.ctx.regs.rip !== savedRip) throw new EnclaveRedirect(e.ctx.regs.rip);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running one entry to its boundary.

function classify(err: unknown): { vector: number; errorCode: number; address: number; detail: string } | null {
  if (err instanceof ArchFault) return { vector: err.vector, errorCode: err.errorCode, address: err.address, detail: err.reason };
  if (err instanceof WebAssembly.RuntimeError) {
    const msg = err.message;
    if (/divide by zero|integer overflow|remainder by zero|divide result unrepresentable/i.test(msg)) return { vector: VECTOR.DE, errorCode: 0, address: 0, detail: msg };
    if (/out of bounds|memory access/i.test(msg)) return { vector: VECTOR.PF, errorCode: PFEC.P | PFEC.US | PFEC.SGX, address: 0, detail: msg };
    return { vector: VECTOR.UD, errorCode: 0, address: 0, detail: msg };
  }
  if (err instanceof RangeError && /call stack/i.test(err.message)) return { vector: VECTOR.PF, errorCode: PFEC.P | PFEC.US | PFEC.W, address: 0, detail: 'stack overflow' };
  return null;
}

/** `len`, when [at, at+len) lies inside `b` (a software error of the engine otherwise). */
function bufferRange(b: Uint8Array, at: number, len: number): number {
  if (!(Number.isInteger(at) && Number.isInteger(len) && at >= 0 && len >= 0 && at + len <= b.length)) badBufferRange(b, at, len);
  return len;
}
function badBufferRange(b: Uint8Array, at: number, len: number): never {
  throw new ArchError('BAD_BUFFER_RANGE', `[${at}, ${at}+${len}) is not inside a buffer of ${b.length} bytes`);
}

/**
 * After an access resumed from an exit: the engine's buffer must still hold [at, at+len). Code that
 * ran during the exit may have replaced it (a nested entry's memory.grow detaches a WebAssembly
 * memory's buffer): the access then ends, before any byte moved, with ENGINE_BUFFER_DETACHED, and
 * the engine may do it again with its current view.
 */
function bufferStillHolds(b: Uint8Array, at: number, len: number): void {
  if (at + len > b.length) throw new ArchError('ENGINE_BUFFER_DETACHED', `the engine's buffer no longer holds [${at}, ${at}+${len}) (${b.length} bytes): it was replaced during the exit`);
}

function inMode(e: Entry): boolean {
  return e.lp.enclaveMode && e.lp.activeToken === e.token;
}

/** Run the engine for entry `e` (EENTER: from OENTRY; ERESUME of a lost frame: from the SSA) to its EEXIT. */
function execute(m: MachineState, e: Entry, leaf: number): ExitInfo {
  let target: number;
  const fresh = leaf === ENCLU.EENTER || startsAtEntry(e);
  try {
    validateAtEntry(m, e);
  } catch (err) {
    return entryCheckFailed(m, e, err, fresh);
  }
  try {
    target = fresh ? m.engine!.enter(e.ctx) : m.engine!.resume(e.ctx);
  } catch (err) {
    return entryThrew(m, e, err);
  }
  if (!inMode(e)) throw engineLeftMode();
  if (target >= 0 && target < USER_LIMIT) return eexitTo(m, e, target);
  return eexitFailed(m, e, target);
}

/**
 * The entry's checks of the memory regions faulted before the engine ran: an AEX at OENTRY (its
 * frame remembered as not started, so that ERESUME of it starts the engine: see TcsState.notStarted).
 */
function entryCheckFailed(m: MachineState, e: Entry, err: unknown, fresh: boolean): ExitInfo {
  const exit = entryThrew(m, e, err);
  if (fresh && exit.reason === 'aex') e.tcs.notStarted.push(e.tcs.cssa - 1);
  return exit;
}

/** ERESUME of a frame whose AEX came before the engine's first step, still at OENTRY: the engine starts afresh. */
function startsAtEntry(e: Entry): boolean {
  const t = e.tcs;
  if (t.notStarted.length === 0 || !forgetNotStarted(t, t.cssa)) return false;
  return e.ctx.regs.rip === e.secs.baseAddr + t.oentry;
}

/** Frame `frame` is no longer one that has not started; true when it was. */
function forgetNotStarted(t: TcsState, frame: number): boolean {
  const i = t.notStarted.indexOf(frame);
  if (i < 0) return false;
  t.notStarted.splice(i, 1);
  return true;
}

function engineLeftMode(): ArchError {
  return new ArchError('ENGINE_PROTOCOL', 'the enclave engine returned after its thread left enclave mode');
}

/**
 * The engine's run of entry `e` ended with an exception (out of line: keeps the entry path small):
 * this entry's Unwind returns its exit; a fault or trap in enclave mode becomes an AEX; #MC and the
 * engine's own software errors leave enclave mode and are rethrown as they are.
 */
function entryThrew(m: MachineState, e: Entry, err: unknown): ExitInfo {
  if (err instanceof Unwind && err.token === e.token) {
    givenUp = err.exit;
    return err.exit;
  }
  if (inMode(e)) {
    if (err instanceof ArchFault && err.vector === VECTOR.MC) {
      leaveMode(m, e);
      throw err;
    }
    const c = classify(err);
    if (c) return aex(m, e, c.vector, c.errorCode, c.address, c.detail);
    // A software error of the engine itself: leave enclave mode, report it as it is.
    leaveMode(m, e);
  }
  throw err;
}

/** The engine returned a non-canonical EEXIT target: EEXIT's #GP, taken in enclave mode, is an AEX. */
function eexitFailed(m: MachineState, e: Entry, target: number): ExitInfo {
  try {
    return eexitTo(m, e, target);
  } catch (err) {
    const c = classify(err)!;
    return aex(m, e, c.vector, c.errorCode, c.address, c.detail);
  }
}

function runEntry(m: MachineState, lp: LpState, leaf: number, regs: Registers, handler: ExitHandler | null): ExitInfo {
  m.checkLocked();
  const token = nextToken++;
  if (leaf === ENCLU.EENTER) {
    const x = eenterCached(m, lp, regs, handler, token);
    if (x !== null) return x;
    const src = intake(lp, regs);
    m.checkLocked(); // again: reading the registers can run code outside (a getter), which may have locked the machine
    let e: Entry;
    try {
      e = eenterEntry(m, lp, src, regs, handler, token);
    } catch (err) {
      throw encluOwn(err);
    }
    return execute(m, e, leaf);
  }
  return runResume(m, lp, leaf, regs, handler, token);
}

/**
 * The host's registers as the processor uses them: each read once, into this LP's own register
 * file, and each a number. A hardware register holds an integer; a JavaScript value of another kind
 * (an object whose valueOf or toString answers differently each time, a getter) could show one
 * value to a check and another to its use. Throws ArchError BAD_REGISTERS, having changed nothing.
 */
function intake(lp: LpState, regs: Registers): Registers {
  return intakeInto(lp.intake, regs);
}

/** intake into register file `r` (the processor's own). */
function intakeInto(r: Registers, regs: Registers): Registers {
  if (!takeRegisters(r, regs)) throw badRegisters(regs);
  return r;
}

/**
 * `src` into the processor's register file `dst`, each register read once into a local, checked,
 * then stored; false (with `dst` untouched) when one holds no number.
 */
function takeRegisters(dst: Registers, src: Registers): boolean {
  const rax = src.rax, rbx = src.rbx, rcx = src.rcx, rdx = src.rdx, rsi = src.rsi, rdi = src.rdi, rsp = src.rsp, rbp = src.rbp;
  const r8 = src.r8, r9 = src.r9, r10 = src.r10, r11 = src.r11, r12 = src.r12, r13 = src.r13, r14 = src.r14, r15 = src.r15;
  const rflags = src.rflags, rip = src.rip;
  if (typeof rax !== 'number' || typeof rbx !== 'number' || typeof rcx !== 'number' || typeof rdx !== 'number' ||
    typeof rsi !== 'number' || typeof rdi !== 'number' || typeof rsp !== 'number' || typeof rbp !== 'number' ||
    typeof r8 !== 'number' || typeof r9 !== 'number' || typeof r10 !== 'number' || typeof r11 !== 'number' ||
    typeof r12 !== 'number' || typeof r13 !== 'number' || typeof r14 !== 'number' || typeof r15 !== 'number' ||
    typeof rflags !== 'number' || typeof rip !== 'number') return false;
  dst.rax = rax; dst.rbx = rbx; dst.rcx = rcx; dst.rdx = rdx; dst.rsi = rsi; dst.rdi = rdi; dst.rsp = rsp; dst.rbp = rbp;
  dst.r8 = r8; dst.r9 = r9; dst.r10 = r10; dst.r11 = r11; dst.r12 = r12; dst.r13 = r13; dst.r14 = r14; dst.r15 = r15;
  dst.rflags = rflags; dst.rip = rip;
  return true;
}

/** Which registers of `r` hold no number (read again, for the error only). */
function badRegisters(r: Registers): ArchError {
  const names = [...REGISTER_NAMES, 'rflags', 'rip'] as const;
  const bad = names.filter((k) => typeof r[k] !== 'number');
  return new ArchError('BAD_REGISTERS', `ENCLU: ${bad.join(', ')} ${bad.length === 1 ? 'holds' : 'hold'} no number (registers hold integers)`, { registers: bad });
}

/**
 * EENTER to its EEXIT when every check is answered by a cache (the common case: the same TCS as
 * this LP's last entry, its SSA frame checked, no frame of it suspended, nothing changed since):
 * what eenterEntry and execute do, written out as one function, which V8 compiles as a whole
 * whatever its inlining budget. Returns null, having changed nothing, when any check would need
 * the full path (eenterEntry then runs every check in the SDM's order and raises its fault).
 */
function eenterCached(m: MachineState, lp: LpState, regs: Registers, handler: ExitHandler | null, token: number): ExitInfo | null {
  // The registers in first, each read once, into the register file of the TCS's own entry record
  // (idle: the TCS is not active and has no suspended frame). Reading them is the one point where
  // code outside can run (a getter); every check comes after it, on this copy and on the state as
  // it is then, and an entry made during it (the token moved on) sends this one the full path.
  const c = lp.tcsOperand;
  const t0 = c.tcs;
  if (t0 === null) return null;
  const e = t0.pool as Entry | null;
  if (e === null || e.lp !== lp || t0.state === 'active' || t0.suspended.length !== 0) return null;
  const r = e.ctx.regs;
  if (!takeRegisters(r, regs) || nextToken !== token + 1 || m.locked !== null) return null;
  // entryTcs's cache, with its AEP check.
  const pt = lp.cr3;
  const aep = r.rcx;
  if (c.rbx !== r.rbx || c.pt !== pt || c.gen !== PageTable.revocationsOf(pt) || c.epoch !== m.epcmEpoch || c.tcs !== t0 || !canonicalAep(aep)) return null;
  const t = t0;
  const s = t.secs;
  const frame = t.cssa;
  // EENTER's own checks (CSSA < NSSA, OENTRY canonical, TCS not busy) and the SSA frame's cache.
  if (frame >= t.nssa || t.oentry < 0 || s.baseAddr + t.oentry >= USER_LIMIT || t.state === 'active') return null;
  const ssa = t.cache;
  if (ssa === null || ssa.pt !== pt || ssa.gen !== PageTable.revocationsOf(pt) || ssa.epoch !== m.epcmEpoch || ssa.frame !== frame) return null;
  // The TCS's own entry record still (makeEntry's reuse), URSP/URBP's word view (writeUrspUrbp's),
  // and validateAtEntry's checks (no page failed integrity, the memory regions checked under this table).
  if (t.pool !== e || t.suspended.length !== 0 || e.lp !== lp) return null;
  const w = ssa.gprWords;
  if (w === null || ssa.gprBytes !== m.page(ssa.gprPage)) return null;
  if (s.tamperedPages > 0) return null;
  if (s.regions.length !== 0) {
    const rc = s.regionCheck;
    if (rc.pt !== pt || rc.revocations !== PageTable.revocationsOf(pt) || rc.epoch !== s.regionEpoch) return null;
  }
  // Commit: enclave mode, URSP/URBP into the current SSA frame, RAX/RCX/RIP set.
  e.token = token;
  e.handler = handler;
  e.hostRegs = regs;
  e.ssaLa = ssa.ssaLa;
  e.ssaPages = ssa.pages;
  enterMode(m, e, aep);
  m.eenters++;
  putUrspUrbpWords(w, ssa.gprOff >> 2, r.rsp, r.rbp);
  m.touched(ssa.gprPage);
  saveTf(e, r);
  r.rax = frame;
  r.rcx = r.rip + 3;
  r.rip = s.baseAddr + t.oentry;
  // execute's tail, written out rather than shared: a shared function (with ERESUME's branch)
  // inlined here costs more of V8's budget, and leaveMode then stays a call (measured ~5 % slower).
  let target: number;
  try {
    target = m.engine!.enter(e.ctx);
  } catch (err) {
    return entryThrew(m, e, err);
  }
  if (!inMode(e)) throw engineLeftMode();
  if (target >= 0 && target < USER_LIMIT) return eexitTo(m, e, target);
  return eexitFailed(m, e, target);
}

function runResume(m: MachineState, lp: LpState, leaf: number, regs: Registers, handler: ExitHandler | null, token: number): ExitInfo {
  if (leaf === ENCLU.ERESUME) {
    const src = intake(lp, regs);
    m.checkLocked();
    const t = ownCheck(() => tcsOperand(m, lp, src.rbx, src.rcx));
    if (resumesSuspendedFrame(t)) throw new ArchError('TCS_SUSPENDED_FRAME', 'ERESUME of a TCS whose interrupted frame is still on the stack: return ERESUME from the exit handler instead (a limit of the model)');
    const e = ownCheck(() => eresumeEntry(m, lp, src, regs, handler, token));
    return execute(m, e, leaf);
  }
  throw gp(`ENCLU leaf ${leaf} is not valid outside enclave mode`);
}

/**
 * The frame ERESUME would restore (CSSA−1) was written by the AEX of a frame still on the stack
 * (suspended in its exit handler): only that handler can continue it. Any other frame is a lost
 * one (its work unwound: e.g. a nested ECALL that trapped while its TCS's OCALL waits, a frame
 * suspended at an EEXIT owning no SSA frame) and is resumed here, as hardware resumes any frame.
 */
function resumesSuspendedFrame(t: TcsState): boolean {
  const frame = t.cssa - 1;
  if (frame < 0) return false; // ERESUME's own check (#GP: CSSA is 0) comes next
  for (const x of t.suspended) if ((x as Entry).aexFrame === frame) return true;
  return false;
}

/** ENCLU executed by host code (CPL 3, outside enclave mode). */
export function hostEnclu(m: MachineState, lp: LpState, leaf: number, regs: Registers, handler: ExitHandler | null): ExitInfo {
  if (lp.cpl !== 3 || lp.enclaveMode || (leaf !== ENCLU.EENTER && leaf !== ENCLU.ERESUME) || !m.engine) throw hostEncluFault(lp, leaf);
  let next: number = leaf;
  let retries = 0;
  for (;;) {
    let exit: ExitInfo;
    givenUp = null;
    try {
      exit = runEntry(m, lp, next, regs, handler);
      retries = 0;
    } catch (err) {
      // A #PF of the ENCLU itself (an evicted TCS or SSA page) goes to the kernel first; when it
      // resolved it, the instruction runs again (a bounded number of times: a kernel that answers
      // "resolved" without resolving would loop for ever).
      if (ownPageFault(err) && ++retries <= MAX_FAULT_RETRIES && kernelResolved(m, lp, err)) continue;
      exit = entryFaulted(err, handler, next, regs);
    }
    if (givenUp !== null) {
      // The handler gave up on this exit (it was asked once, when the exit happened).
      givenUp = null;
      return exit;
    }
    if (!handler) {
      // An AEX at entry whose #PF the kernel resolved shows as an interrupt's (vector null): with
      // no exit handler, as for an interrupt, the AEP's ERESUME follows at once (the registers
      // are the AEX's synthetic ones: RBX the TCS, RCX the AEP). Each such AEX is a page the
      // kernel loaded; a kernel that answers "resolved" without loading one livelocks the thread,
      // as it would on hardware.
      if (exit.reason === 'aex' && exit.vector === null) {
        next = ENCLU.ERESUME;
        continue;
      }
      return exit;
    }
    next = handler(exit, regs);
    if (next === 0) return exit;
  }
}

/** How many times in a row a faulting ENCLU is executed again after the kernel said it resolved the #PF. */
const MAX_FAULT_RETRIES = 8;

/**
 * `err` is a #PF of the ENCLU itself (raised by its own checks: encluOwn) that the kernel's
 * page-fault handler resolved, asked once per fault (one that escapes a nested entry's handler is
 * not offered again by the instruction it escaped into). A #PF from anything else on the way (host
 * code in an exit handler touching an evicted page) is not the instruction's: never retried. Out of
 * line: not on the entry path.
 */
function kernelResolved(m: MachineState, lp: LpState, err: unknown): boolean {
  return err instanceof ArchFault && err.vector === VECTOR.PF && ENCLU_OWN_FAULTS.delete(err) && m.pageFaultHandler !== null && !lp.enclaveMode && m.pageFaultHandler(lp, err.address, err.errorCode);
}

/** `err` is a #PF of an ENCLU's own checks not yet offered to the kernel. */
function ownPageFault(err: unknown): boolean {
  return err instanceof ArchFault && ENCLU_OWN_FAULTS.has(err);
}

/** Faults raised by EENTER/ERESUME's own checks, before enclave mode (the ones the kernel may resolve and the instruction retry); each is offered to the kernel once (kernelResolved takes it out). */
const ENCLU_OWN_FAULTS = new WeakSet<object>();

/** `err`, remembered as a fault of the ENCLU's own checks when it is one (rethrown by the caller). */
function encluOwn(err: unknown): unknown {
  if (err instanceof ArchFault && err.vector === VECTOR.PF) ENCLU_OWN_FAULTS.add(err);
  return err;
}

/** `check()`, its #PF remembered as the ENCLU's own (encluOwn). */
function ownCheck<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw encluOwn(err);
  }
}

/** Why host code cannot execute ENCLU here (the first failing check, in order). */
function hostEncluFault(lp: LpState, leaf: number): Error {
  if (lp.cpl !== 3) return ud('ENCLU requires CPL 3');
  if (lp.enclaveMode) return gp('EENTER/ERESUME inside an enclave');
  if (leaf !== ENCLU.EENTER && leaf !== ENCLU.ERESUME) return gp(`ENCLU leaf ${leaf} outside enclave mode`);
  return new ArchError('NO_ENGINE', 'this processor has no enclave execution engine');
}

/** An entry faulted: with a handler, a fault (not #MC) is an exit it sees; anything else is rethrown. */
function entryFaulted(err: unknown, handler: ExitHandler | null, leaf: number, regs: Registers): ExitInfo {
  if (handler && err instanceof ArchFault && err.vector !== VECTOR.MC) return faultExit(err, leaf, regs.rbx);
  throw err;
}

// ---------------------------------------------------------------------------------------------
// Entry-time checks of memory the engine uses directly (design-notes: Wasm memory).

/** Small enough to be inlined into every entry: the walk over the regions is out of line. */
function validateAtEntry(m: MachineState, e: Entry): void {
  const s = e.secs;
  if (s.tamperedPages > 0) m.lockUp('an EPC page of this enclave failed integrity');
  if (s.regions.length === 0) return;
  const pt = e.lp.cr3;
  const rc = s.regionCheck;
  if (rc.pt !== pt || rc.revocations !== PageTable.revocationsOf(pt) || rc.epoch !== s.regionEpoch) revalidateRegions(m, e, s, pt);
}

/** Every page of every memory region still maps its frame under page table `pt` (then remembered as checked). */
function revalidateRegions(m: MachineState, e: Entry, s: SecsState, pt: PageTable): void {
  const rc = s.regionCheck;
  for (const r of s.regions) {
    for (let j = 0; j < r.frames.length; j++) {
      const la = r.base + j * 4096;
      const i = m.resolveEnclaveAccess(e.lp, s, la, true, false);
      if (i !== r.frames[j]) throw pf(la, PFEC.P | PFEC.US | PFEC.W | PFEC.SGX, `the page at 0x${la.toString(16)} no longer maps the enclave's frame`);
    }
  }
  rc.pt = pt;
  rc.revocations = PageTable.revocationsOf(pt);
  rc.epoch = s.regionEpoch;
}

// ---------------------------------------------------------------------------------------------
// The enclave context.

class Context implements EnclaveContext {
  readonly regs: Registers = newRegisters();
  readonly #m: MachineState;
  readonly #e: Entry;
  /**
   * The last ordinary-RAM page an access resolved to (an untrusted buffer the runtime copies
   * from or to), with the page table and generation it was resolved under: while they are
   * unchanged the walk gives the same frame, and a RAM page has no EPCM checks to repeat.
   */
  #ramVpn = -1;
  #ramPt: PageTable | null = null;
  #ramGen = -1;
  #ramWritable = false;
  #ramPa = 0;
  /** That page's frame as words (machine.ramWordsOf), while the machine's frameEpoch is #ramEpoch; null: none. */
  #ramWords: Int32Array | null = null;
  #ramEpoch = -1;

  // An entry record keeps its TCS, enclave and LP for its whole life: these are read once, here
  // (plain fields: the runtime reads them on every ECALL).
  readonly baseAddr: number;
  readonly size: number;
  readonly tcsAddress: number;
  readonly enclaveKey: object;
  readonly lpIndex: number;

  constructor(m: MachineState, e: Entry) {
    this.#m = m;
    this.#e = e;
    this.baseAddr = e.secs.baseAddr;
    this.size = e.secs.size;
    this.tcsAddress = e.tcs.linAddr;
    this.enclaveKey = e.secs.key;
    this.lpIndex = e.lp.index;
  }

  /** In enclave mode for this entry, and the memory controller not locked (small: V8 inlines it everywhere). */
  #check(): void {
    const e = this.#e;
    if (!e.lp.enclaveMode || e.lp.activeToken !== e.token || this.#m.locked !== null) this.#checkFailed();
  }
  #checkFailed(): never {
    // In enclave mode for this entry, the failing part of the check was the lock (#MC); else #UD.
    if (inMode(this.#e)) this.#m.checkLocked();
    throw ud('ENCLU/enclave access outside enclave mode (stale enclave context)');
  }

  /** An interrupt window. */
  step(): void {
    this.#check();
    if (this.#m.stepHook !== null || this.#e.lp.pendingInterrupt !== null) this.#stepEvents();
  }
  /** step's hook and interrupt (out of line: every OCALL and ECALL passes through step). */
  #stepEvents(): void {
    const m = this.#m, e = this.#e;
    if (m.stepHook) m.stepHook(e.lp);
    if (e.lp.pendingInterrupt !== null && inMode(e)) {
      e.lp.pendingInterrupt = null;
      const exit = aex(m, e, null, 0, 0, 'interrupt');
      suspend(m, e, exit, 'aex', true);
    }
  }

  /** Run an access; an exception becomes an AEX, and ERESUME retries the access. */
  #withFaults<T>(fn: () => T): T {
    for (;;) {
      try {
        return fn();
      } catch (err) {
        this.#faulted(err);
      }
    }
  }

  /** An access of `len` bytes at `la`, to or from buf[at, at+len) (the caller checked the range of `buf`). */
  #access(la: number, buf: Uint8Array, at: number, len: number, write: boolean, fetch: boolean, words: Int32Array | null = null): void {
    if (!Number.isSafeInteger(la) || la < 0) throw gp(`enclave access at a bad address ${la}`);
    if (len === 0) return;
    const m = this.#m, e = this.#e;
    const off = la & 4095; // la % 4096 (a non-negative integer)
    if (off + len <= 4096) {
      // Within one page (an ms structure, a small buffer): one resolution, nothing allocated.
      const vpn = (la - off) / 4096;
      const pt = e.lp.cr3;
      if (vpn === this.#ramVpn && pt === this.#ramPt && PageTable.generationOf(pt) === this.#ramGen && !fetch && (!write || this.#ramWritable)) {
        // A small aligned copy goes straight between the two word views (copyRamWords' loop).
        const rw = this.#ramWords;
        if (words !== null && rw !== null && rw.length !== 0 && len <= WORD_COPY_MAX && ((off | at | len) & 3) === 0 && at + len <= words.length * 4 && m.frameEpoch === this.#ramEpoch) {
          copyFrameWords(rw, off >> 2, words, at / 4, len >> 2, write);
          return;
        }
        this.#copy(-(this.#ramPa + off) - 1, off, buf, at, len, write, words);
        return;
      }
      let i: number;
      let exited = false;
      for (;;) {
        try {
          i = m.resolveEnclaveAccess(e.lp, e.secs, la, write, fetch);
          break;
        } catch (err) {
          this.#faulted(err);
          exited = true;
        }
      }
      if (exited) bufferStillHolds(buf, at, len);
      if (i < 0 && !fetch) {
        // Ordinary RAM (outside ELRANGE and the PRM): remember the translation, under the page
        // table it was made with (a fault's AEX may have let the kernel switch CR3 before the retry).
        // Every field computed before the first is set (ramWordsOf throws FRAME_DETACHED for a frame
        // whose word view cannot be made), so the cache never mixes two pages.
        const now = e.lp.cr3;
        const pagePa = -i - 1 - off;
        const rw = m.ramWordsOf(pagePa);
        this.#ramVpn = vpn;
        this.#ramPt = now;
        this.#ramGen = PageTable.generationOf(now);
        this.#ramWritable = write;
        this.#ramPa = pagePa;
        this.#ramWords = rw;
        this.#ramEpoch = m.frameEpoch;
        this.#copy(i, off, buf, at, len, write, words);
        // A write may just have given the page its frame (a page never written has none): its words from now on.
        if (rw === null && write) this.#ramWords = m.ramWordsOf(pagePa);
        return;
      }
      this.#copy(i, off, buf, at, len, write, words);
      return;
    }
    let exited = false;
    for (;;) {
      // Resolve every page before touching any (an access that faults changes nothing).
      const pages: number[] = [];
      try {
        for (let done = 0; done < len; ) {
          const a = la + done;
          pages.push(m.resolveEnclaveAccess(e.lp, e.secs, a, write, fetch));
          done += 4096 - (a & 4095);
        }
      } catch (err) {
        this.#faulted(err);
        exited = true;
        continue;
      }
      if (exited) bufferStillHolds(buf, at, len);
      if (write) {
        // Every RAM page's frame checked too (a lent frame since detached): a refused write writes nothing.
        let d = 0;
        for (const i of pages) {
          const n = Math.min(4096 - ((la + d) & 4095), len - d);
          if (i < 0) m.checkFramesWhole(-i - 1, n);
          d += n;
        }
      }
      let done = 0;
      for (const i of pages) {
        const o = (la + done) & 4095;
        const n = Math.min(4096 - o, len - done);
        this.#copy(i, o, buf, at + done, n, write, words);
        done += n;
      }
      return;
    }
  }

  /**
   * An access faulted: an exception (not #MC) in enclave mode becomes an AEX, and returns when the
   * host resumes the thread (the caller retries the access); anything else is rethrown.
   */
  #faulted(err: unknown): void {
    if (err instanceof ArchFault && err.vector !== VECTOR.MC && inMode(this.#e)) {
      const exit = aex(this.#m, this.#e, err.vector, err.errorCode, err.address, err.reason);
      suspend(this.#m, this.#e, exit, 'aex', exit.vector === null); // (a #PF the kernel resolved: an interrupt's AEX)
      return;
    }
    throw err;
  }

  /**
   * Copy `n` bytes between `buf` at `at` and a resolved page (an EPC index, or -(pa + 1) for RAM) at
   * `off`. With `words` (a word view of `buf`), a small aligned copy with RAM goes word by word.
   */
  #copy(i: number, off: number, buf: Uint8Array, at: number, n: number, write: boolean, words: Int32Array | null): void {
    const m = this.#m;
    if (i >= 0) {
      // A page backing a memory may share `buf`'s buffer (memmove); the other pages are private.
      if (write) {
        if (m.backed[i]) moveBytes(m.page(i), off, buf, at, n);
        else copyDisjoint(m.page(i), off, buf, at, n);
        m.touched(i);
      } else {
        const st = m.peek(i);
        if (st === null) buf.fill(0, at, at + n);
        else if (m.backed[i]) moveBytes(buf, at, st, off, n);
        else copyDisjoint(buf, at, st, off, n);
      }
    } else {
      const pa = -i - 1;
      // (pa | at | n) & 3 keeps the low two bits of each (ToInt32 is modulo 2^32); word indices by
      // division (at may be 2^31 or more); a view that does not hold the range (too short, or
      // detached by memory.grow) leaves the copy to the byte path, which refuses it.
      if (words !== null && n <= WORD_COPY_MAX && ((pa | at | n) & 3) === 0 && at + n <= words.length * 4 && m.copyRamWords(pa, words, at / 4, n / 4, write)) return;
      if (write) m.writePhysical(pa, buf, at, n);
      else m.readPhysical(pa, buf, at, n);
    }
  }

  read(la: number, len: number): Uint8Array {
    this.#check();
    const out = new Uint8Array(len);
    this.#access(la, out, 0, len, false, false);
    return out;
  }
  readInto(la: number, out: Uint8Array, at = 0, len = out.length - at, words?: Int32Array): void {
    this.#check();
    this.#access(la, out, at, bufferRange(out, at, len), false, false, words ?? null);
  }
  write(la: number, data: Uint8Array, at = 0, len = data.length - at, words?: Int32Array): void {
    this.#check();
    this.#access(la, data, at, bufferRange(data, at, len), true, false, words ?? null);
  }
  fetch(la: number, len: number): Uint8Array {
    this.#check();
    const out = new Uint8Array(len);
    this.#access(la, out, 0, len, false, true);
    return out;
  }

  mapMemory(la: number, size: number, options: { readonly zero?: boolean; readonly maximum?: number } = {}): WebAssembly.Memory {
    this.#check();
    const s = this.#e.secs;
    const maximum = options.maximum ?? size;
    if (la % 4096 !== 0 || size <= 0 || size % 65536 !== 0) throw gp('mapMemory: the region must be page-aligned and a multiple of 64 KiB');
    if (!Number.isSafeInteger(maximum) || maximum < size || maximum % 65536 !== 0 || maximum > 2 ** 32) throw gp('mapMemory: the maximum must be a multiple of 64 KiB, at least the size and at most 4 GiB');
    if (la < s.baseAddr || la + maximum > s.baseAddr + s.size) throw gp('mapMemory: the region is outside ELRANGE');
    const frames = this.#regionFrames(la, size / 4096, 'mapMemory');
    const memory = new WebAssembly.Memory({ initial: size / 65536, maximum: maximum / 65536 });
    const region: MemoryRegion = { base: la, size, maximum, memory, frames };
    this.#bindFrames(region, 0, !options.zero);
    s.regions.push(region);
    return memory;
  }

  growMemory(memory: WebAssembly.Memory, bytes: number): void {
    this.#check();
    const s = this.#e.secs;
    const region = s.regions.find((r) => r.memory === memory);
    if (region === undefined) throw gp('growMemory: not a memory this enclave has mapped');
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 65536 !== 0) throw gp('growMemory: the growth must be a positive multiple of 64 KiB');
    if (bytes > region.maximum - region.size) throw gp('growMemory: the memory would pass its maximum');
    const added = this.#regionFrames(region.base + region.size, bytes / 4096, 'growMemory');
    const from = region.size / 4096;
    memory.grow(bytes / 65536);
    const frames = new Int32Array(from + added.length);
    frames.set(region.frames);
    frames.set(added, from);
    region.frames = frames;
    region.size += bytes;
    this.#bindFrames(region, from, true);
  }

  /** The EPC frames of the n pages from `la`, each a present, accepted PT_REG R+W page of this enclave backing no memory (faults become an AEX; ERESUME retries). */
  #regionFrames(la: number, n: number, leaf: string): Int32Array {
    const m = this.#m, e = this.#e;
    const frames = new Int32Array(n);
    this.#withFaults(() => {
      for (let j = 0; j < n; j++) {
        const a = la + j * 4096;
        const i = m.resolveEnclaveAccess(e.lp, e.secs, a, true, false);
        if (i < 0) throw pf(a, PFEC.P | PFEC.US | PFEC.SGX, `${leaf}: not an EPC page`);
        if (m.backed[i]) throw gp(`${leaf}: the page at 0x${a.toString(16)} already backs a memory`);
        frames[j] = i;
      }
    });
    return frames;
  }

  /** Re-home the region's frames from page `from` on into its memory (their contents copied, or dropped when `copy` is false); the regions count as checked under the current page table. */
  #bindFrames(region: MemoryRegion, from: number, copy: boolean): void {
    const m = this.#m, s = this.#e.secs;
    for (let j = from; j < region.frames.length; j++) {
      m.bindRegionPage(region.frames[j]!, region, j, copy);
      m.touched(region.frames[j]!);
    }
    s.regionEpoch++;
    const pt = this.#e.lp.cr3;
    s.regionCheck.pt = pt;
    s.regionCheck.revocations = PageTable.revocationsOf(pt);
    s.regionCheck.epoch = s.regionEpoch;
  }

  unmapMemory(memory: WebAssembly.Memory): void {
    this.#check();
    const s = this.#e.secs;
    const k = s.regions.findIndex((r) => r.memory === memory);
    if (k < 0) throw gp('unmapMemory: not a memory this enclave has mapped');
    this.#m.releaseRegion(s.regions[k]!);
    s.regions.splice(k, 1);
    s.regionEpoch++; // the next entry checks the regions that are left
  }

  // ---- SGX2 (specs/sgx.md §7.6–7.8) -------------------------------------------------------------

  /** The SGX2 leaves are #GP (an unsupported ENCLU leaf) on a processor without SGX2. */
  #sgx2(leaf: string): void {
    if (!this.#m.config.features.sgx2) throw gp(`ENCLU[${leaf}]: SGX2 is not supported by this processor`);
  }

  /** A SECINFO operand: 64-aligned inside ELRANGE (#GP), readable by the enclave (#PF); its FLAGS' low dword once its reserved bits (outside `allowed`, and bytes 4–63) are checked (#GP). */
  #secinfo(la: number, allowed: number, leaf: string): number {
    if (la % 64 !== 0 || !this.#inElrange(la, 64)) throw gp(`${leaf}: SECINFO must be 64-aligned and inside ELRANGE`);
    this.#operand(la, false);
    const si = new Uint8Array(64);
    this.#access(la, si, 0, 64, false, false);
    const lo = u32le(si, 0);
    if ((lo & ~allowed) !== 0 || !isZero(si, 4, 64)) throw gp(`${leaf}: SECINFO has reserved bits set`);
    return lo;
  }

  /** A page operand: 4K-aligned inside ELRANGE (#GP), and its EPC page through the page tables only (#PF when it is not one): the EPCM checks are the leaf's. */
  #pageOperand(la: number, leaf: string): number {
    if (!Number.isSafeInteger(la) || la % 4096 !== 0 || !this.#inElrange(la, 4096)) throw gp(`${leaf}: the page must be 4K-aligned and inside ELRANGE`);
    const i = this.#m.epcIndex(this.#m.translate(this.#e.lp.cr3, la, false, true, false));
    if (i < 0) throw pf(la, PFEC.P | PFEC.US | PFEC.SGX, `${leaf}: the page is not in the EPC`);
    return i;
  }

  eaccept(secinfo: number, page: number): number {
    this.#check();
    this.step();
    this.#m.encluCounts[ENCLU.EACCEPT]++; // (after the interrupt window: an AEX there is before the leaf runs)
    // (SECINFO of EACCEPT: R W X, PENDING MODIFIED PR, PAGE_TYPE.)
    return this.#withFaults(() => {
      this.#sgx2('EACCEPT');
      const flags = this.#secinfo(secinfo, 0xff3f, 'EACCEPT');
      const idx = this.#pageOperand(page, 'EACCEPT');
      return SGX2.eaccept(this.#m, this.#e.secs, flags, idx, page);
    });
  }

  eacceptcopy(secinfo: number, destination: number, source: number): number {
    this.#check();
    this.step();
    this.#m.encluCounts[ENCLU.EACCEPTCOPY]++; // (after the interrupt window: an AEX there is before the leaf runs)
    return this.#withFaults(() => {
      this.#sgx2('EACCEPTCOPY');
      if (secinfo % 64 !== 0 || !this.#inElrange(secinfo, 64) || destination % 4096 !== 0 || !this.#inElrange(destination, 4096) || source % 4096 !== 0 || !this.#inElrange(source, 4096)) {
        throw gp('EACCEPTCOPY: SECINFO must be 64-aligned, both pages 4K-aligned, all inside ELRANGE');
      }
      const flags = this.#secinfo(secinfo, 0xff3f, 'EACCEPTCOPY'); // (PENDING, MODIFIED, PR: SECINFO fields, not reserved; ignored)
      if ((flags & (PERM.R | PERM.W)) === PERM.W || ((flags >>> 8) & 0xff) !== PT.REG) throw gp('EACCEPTCOPY: SECINFO must be PT_REG, and W needs R');
      const src = this.#operand(source, false); // the source: a page the enclave can read (#PF at RDX otherwise)
      const dst = this.#pageOperand(destination, 'EACCEPTCOPY');
      return SGX2.eacceptcopy(this.#m, this.#e.secs, flags, dst, destination, src);
    });
  }

  emodpe(secinfo: number, page: number): void {
    this.#check();
    this.step();
    this.#m.encluCounts[ENCLU.EMODPE]++; // (after the interrupt window: an AEX there is before the leaf runs)
    this.#withFaults(() => {
      this.#sgx2('EMODPE');
      if (secinfo % 64 !== 0 || !this.#inElrange(secinfo, 64) || page % 4096 !== 0 || !this.#inElrange(page, 4096)) throw gp('EMODPE: SECINFO must be 64-aligned and the page 4K-aligned, both inside ELRANGE');
      const flags = this.#secinfo(secinfo, 0xff3f, 'EMODPE'); // (as EACCEPTCOPY's)
      const idx = this.#pageOperand(page, 'EMODPE');
      SGX2.emodpe(this.#m, this.#e.secs, flags, idx, page);
    });
  }

  /** In-enclave operand check (specs/sgx.md §7.0): returns the EPC page index. */
  #operand(la: number, write: boolean): number {
    const i = this.#m.resolveEnclaveAccess(this.#e.lp, this.#e.secs, la, write, false);
    if (i < 0) throw pf(la, PFEC.P | PFEC.US | PFEC.SGX, 'operand is not in the EPC');
    return i;
  }

  #inElrange(la: number, len: number): boolean {
    const s = this.#e.secs;
    return la >= s.baseAddr && la + len <= s.baseAddr + s.size;
  }

  ereport(targetinfo: number, reportdata: number, output: number): void {
    this.#check();
    this.step();
    this.#m.encluCounts[ENCLU.EREPORT]++; // (after the interrupt window: an AEX there is before the leaf runs)
    this.#withFaults(() => {
      if (targetinfo % 512 !== 0 || !this.#inElrange(targetinfo, 512) || reportdata % 128 !== 0 || !this.#inElrange(reportdata, 64) || output % 512 !== 0 || !this.#inElrange(output, 432)) {
        throw gp('EREPORT: operands must be aligned (512/128/512) and inside ELRANGE');
      }
      this.#operand(targetinfo, false);
      this.#operand(reportdata, false);
      this.#operand(output, true);
    });
    TARGETINFO_IN.with((ti) => REPORT_OUT.with((rep) => this.#report(targetinfo, reportdata, output, ti, rep)));
  }

  /** EREPORT once its operands are checked, in the processor's lent buffers (`ti`, `rep`: zero). */
  #report(targetinfo: number, reportdata: number, output: number, ti: Uint8Array, rep: Uint8Array): void {
    const m = this.#m, s = this.#e.secs;
    this.#access(targetinfo, ti, 0, ti.length, false, false);
    const rd = new Uint8Array(64);
    this.#access(reportdata, rd, 0, rd.length, false, false);
    rep.set(m.config.cpusvn, 0);
    writeU32le(rep, 16, s.miscSelect);
    rep.set(s.isvExtProdId, 32);
    rep.set(s.attributes, 48);
    rep.set(s.mrenclave, 64);
    rep.set(s.mrsigner, 128);
    rep.set(s.configId, 192);
    writeU16le(rep, 256, s.isvProdId);
    writeU16le(rep, 258, s.isvSvn);
    writeU16le(rep, 260, s.configSvn);
    rep.set(s.isvFamilyId, 304);
    rep.set(rd, 320);
    rep.set(m.boot.reportKeyId, 384);
    const key = deriveKey(m.crypto, m.secrets, {
      keyName: KEYNAME.REPORT_KEY, keyPolicy: 0, isvProdId: 0, isvSvn: 0, configSvn: u16le(ti, 50), miscSelect: u32le(ti, 52), miscMask: 0,
      attributes: ti.slice(32, 48), attributesMask: ZERO16, ownerEpoch: m.secrets.ownerEpoch, cpuSvn: m.config.cpusvn, sealKeyFuses: m.secrets.sealFuses,
      isvFamilyId: ZERO16, isvExtProdId: ZERO16, mrenclave: ti.slice(0, 32), mrsigner: ZERO32, keyId: m.boot.reportKeyId, configId: ti.slice(64, 128), padding: s.padding,
    });
    rep.set(m.crypto.aesCmac128(key, rep.subarray(0, 384)), 416);
    this.#access(output, rep, 0, rep.length, true, false);
  }

  egetkey(keyrequest: number, output: number): number {
    this.#check();
    this.step();
    this.#m.encluCounts[ENCLU.EGETKEY]++; // (after the interrupt window: an AEX there is before the leaf runs)
    this.#withFaults(() => {
      if (keyrequest % 512 !== 0 || !this.#inElrange(keyrequest, 512)) throw gp('EGETKEY: KEYREQUEST must be 512-aligned and inside ELRANGE');
      this.#operand(keyrequest, false);
      if (output % 16 !== 0 || !this.#inElrange(output, 16)) throw gp('EGETKEY: the output must be 16-aligned and inside ELRANGE');
      this.#operand(output, true);
    });
    return KEYREQUEST_IN.with((req) => this.#key(keyrequest, output, req));
  }

  /** EGETKEY once its operands are checked, with the KEYREQUEST read into the processor's lent buffer `req`. */
  #key(keyrequest: number, output: number, req: Uint8Array): number {
    const m = this.#m, s = this.#e.secs;
    this.#access(keyrequest, req, 0, req.length, false, false);
    const keyName = u16le(req, 0), policy = u16le(req, 2), reqIsvSvn = u16le(req, 4);
    const reqCpusvn = req.slice(8, 24), maskFlags = u64le(req, 24), maskXfrm = u64le(req, 32);
    const reqKeyId = req.slice(40, 72), miscMask = u32le(req, 72), reqConfigSvn = u16le(req, 76);
    const fault = (): never => {
      throw gp('EGETKEY: reserved KEYREQUEST bits are set');
    };
    this.#withFaults(() => {
      if (!isZero(req, 6, 8) || !isZero(req, 78, 512) || (policy & KEYPOLICY.RESERVED_MASK) !== 0) fault();
      if ((s.flags & ATTR.KSS) === 0n && ((policy & KEYPOLICY.KSS_MASK) !== 0 || reqConfigSvn > 0)) throw gp('EGETKEY: KSS policy bits or CONFIGSVN without ATTRIBUTES.KSS');
    });
    const cpusvnOk = cpusvnAtMost(reqCpusvn, m.config.cpusvn);
    switch (keyName) {
      case KEYNAME.SEAL_KEY:
        if (!cpusvnOk) return SGX.INVALID_CPUSVN;
        if (reqIsvSvn > s.isvSvn || reqConfigSvn > s.configSvn) return SGX.INVALID_ISVSVN;
        break;
      case KEYNAME.REPORT_KEY:
        break;
      case KEYNAME.EINITTOKEN_KEY:
        if ((s.flags & ATTR.EINITTOKEN_KEY) === 0n) return SGX.INVALID_ATTRIBUTE;
        if (!cpusvnOk) return SGX.INVALID_CPUSVN;
        if (reqIsvSvn > s.isvSvn) return SGX.INVALID_ISVSVN;
        break;
      case KEYNAME.PROVISION_KEY:
      case KEYNAME.PROVISION_SEAL_KEY:
        if ((s.flags & ATTR.PROVISIONKEY) === 0n) return SGX.INVALID_ATTRIBUTE;
        if (!cpusvnOk) return SGX.INVALID_CPUSVN;
        if (reqIsvSvn > s.isvSvn || (keyName === KEYNAME.PROVISION_SEAL_KEY && reqConfigSvn > s.configSvn)) return SGX.INVALID_ISVSVN;
        break;
      default:
        return SGX.INVALID_KEYNAME;
    }
    const attrStar = new Uint8Array(16);
    writeU64le(attrStar, 0, (maskFlags | 3n) & s.flags);
    writeU64le(attrStar, 8, maskXfrm & s.xfrm);
    const miscStar = (miscMask & s.miscSelect) >>> 0;
    const notMisc = ~miscMask >>> 0;
    const p = (bit: number) => (policy & bit) !== 0;
    const d: KeyDependencies = {
      keyName, keyPolicy: 0, isvProdId: 0, isvSvn: 0, configSvn: 0, miscSelect: 0, miscMask: 0, attributes: ZERO16, attributesMask: ZERO16,
      ownerEpoch: m.secrets.ownerEpoch, cpuSvn: reqCpusvn, sealKeyFuses: m.secrets.sealFuses, isvFamilyId: ZERO16, isvExtProdId: ZERO16,
      mrenclave: ZERO32, mrsigner: ZERO32, keyId: reqKeyId, configId: ZERO64, padding: s.padding,
    };
    switch (keyName) {
      case KEYNAME.SEAL_KEY:
        Object.assign(d, {
          keyPolicy: policy, isvProdId: p(KEYPOLICY.NOISVPRODID) ? 0 : s.isvProdId, isvSvn: reqIsvSvn, configSvn: p(KEYPOLICY.CONFIGID) ? reqConfigSvn : 0,
          miscSelect: miscStar, miscMask: notMisc, attributes: attrStar, attributesMask: req.slice(24, 40),
          isvFamilyId: p(KEYPOLICY.ISVFAMILYID) ? s.isvFamilyId : ZERO16, isvExtProdId: p(KEYPOLICY.ISVEXTPRODID) ? s.isvExtProdId : ZERO16,
          mrenclave: p(KEYPOLICY.MRENCLAVE) ? s.mrenclave : ZERO32, mrsigner: p(KEYPOLICY.MRSIGNER) ? s.mrsigner : ZERO32,
          configId: p(KEYPOLICY.CONFIGID) ? s.configId : ZERO64,
        });
        break;
      case KEYNAME.REPORT_KEY:
        Object.assign(d, { attributes: s.attributes, mrenclave: s.mrenclave, cpuSvn: m.config.cpusvn, miscSelect: s.miscSelect, configId: s.configId, configSvn: s.configSvn, padding: PKCS1_5_PADDING });
        break;
      case KEYNAME.EINITTOKEN_KEY:
        Object.assign(d, { isvProdId: s.isvProdId, isvSvn: reqIsvSvn, attributes: attrStar, mrsigner: s.mrsigner, miscSelect: miscStar });
        break;
      case KEYNAME.PROVISION_KEY:
        Object.assign(d, provisionKeyDependencies({ isvProdId: s.isvProdId, isvSvn: reqIsvSvn, cpuSvn: reqCpusvn, attributes: attrStar, attributesMask: req.slice(24, 40), miscSelect: miscStar, miscMask: notMisc, mrsigner: s.mrsigner, padding: s.padding }));
        break;
      case KEYNAME.PROVISION_SEAL_KEY:
        Object.assign(d, {
          keyPolicy: policy, isvProdId: p(KEYPOLICY.NOISVPRODID) ? 0 : s.isvProdId, isvSvn: reqIsvSvn, ownerEpoch: ZERO16, attributes: attrStar, attributesMask: req.slice(24, 40),
          mrsigner: s.mrsigner, keyId: ZERO32, miscSelect: miscStar, miscMask: notMisc,
          isvFamilyId: p(KEYPOLICY.ISVFAMILYID) ? s.isvFamilyId : ZERO16, isvExtProdId: p(KEYPOLICY.ISVEXTPRODID) ? s.isvExtProdId : ZERO16,
          configId: p(KEYPOLICY.CONFIGID) ? s.configId : ZERO64, configSvn: p(KEYPOLICY.CONFIGID) ? reqConfigSvn : 0,
        });
        break;
    }
    const key = deriveKey(m.crypto, m.secrets, d);
    this.#access(output, key, 0, key.length, true, false);
    return SGX.SUCCESS;
  }

  eexit(target: number): void {
    this.#check();
    const m = this.#m, e = this.#e;
    let exit: ExitInfo;
    try {
      exit = eexitTo(m, e, target);
    } catch (err) {
      return this.#eexitFaulted(err, target);
    }
    suspend(m, e, exit, 'eexit', false);
  }
  /** EEXIT faulted (a non-canonical target): in enclave mode that is an AEX, and the EEXIT runs again once resumed (out of line: keeps EEXIT small). */
  #eexitFaulted(err: unknown, target: number): void {
    const m = this.#m, e = this.#e;
    if (err instanceof ArchFault && inMode(e)) {
      const ex = aex(m, e, err.vector, err.errorCode, err.address, err.reason);
      suspend(m, e, ex, 'aex', false);
      return this.eexit(target);
    }
    throw err;
  }
}

