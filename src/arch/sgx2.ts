/**
 * SGX2 (enclave dynamic memory management): the ENCLS leaves EAUG, EMODPR and EMODT
 * (specs/sgx.md §6.12–6.14), and the checks of the ENCLU leaves EACCEPT, EACCEPTCOPY and EMODPE
 * (§7.6–7.8) that the enclave context runs (src/arch/enclu.ts: they need its in-enclave operand
 * checks). Each follows the SDM's checks in the SDM's order; a leaf that faults or returns an error
 * code changes nothing (ED-0).
 */
import { u32le, u64le, u64leNumberOrNeg, isZero } from '../lib/bytes.js';
import { type MachineState, type LpState, type SecsState, type TcsState, PERM, EPCM_STATE } from './machine.js';
import { gp, pf, pfEpcm } from './faults.js';
import { PT, SGX, PFEC } from './constants.js';
import { kread, epcOperand, aligned, alignedField, newTcsState } from './encls.js';
import { tracked } from './paging.js';
import { TCS_OFF } from './structures/tcs.js';

const SECINFO_BUF = new Uint8Array(64);

/** SECINFO.FLAGS bits: R W X (2:0), PENDING MODIFIED PR (5:3), PAGE_TYPE (15:8) (§2.6). */
const SI = { PENDING: 8, MODIFIED: 16, PR: 32 } as const;

/** The SECINFO at kernel linear `la` (64 bytes) into the leaf's buffer; its FLAGS' low dword and whether FLAGS' bits outside `allowed`, or bytes 8–63, are set. */
function readSecinfo(m: MachineState, lp: LpState, la: number, allowed: number): { flags: number; reserved: boolean } {
  const si = kread(m, lp, la, 64, SECINFO_BUF);
  const lo = u32le(si, 0);
  return { flags: lo, reserved: (lo & ~allowed) !== 0 || u32le(si, 4) !== 0 || !isZero(si, 8, 64) };
}

/** The initialized enclave owning EPC page `idx` (#GP while it is not initialized). */
function initializedOwner(m: MachineState, idx: number, leaf: string): SecsState {
  const s = m.secs[m.owner[idx]!]!;
  if (!s.initialized) throw gp(`${leaf}: the enclave is not initialized`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// EAUG (EAX = 0xD): RBX = PAGEINFO (LINADDR, SECS; SRCPGE and SECINFO 0), RCX = the EPC page.

export function eaug(m: MachineState, lp: LpState, rbx: number, rcx: number): number {
  if (!aligned(rbx, 32) || !aligned(rcx, 4096)) throw gp('EAUG: PAGEINFO must be 32-aligned and the EPC page 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  const pi = kread(m, lp, rbx, 32);
  if (!alignedField(pi, 24, 4096) || !alignedField(pi, 0, 4096)) throw gp('EAUG: PAGEINFO.SECS and LINADDR must be 4K-aligned');
  if (u64le(pi, 8) !== 0n) throw gp('EAUG: PAGEINFO.SRCPGE must be 0');
  // (The CET-era SDM allows a SECINFO for shadow-stack pages; CET is not modelled: it must be 0, as in the 2016/2018 SDM.)
  if (u64le(pi, 16) !== 0n) throw gp('EAUG: PAGEINFO.SECINFO must be 0');
  const linaddr = u64leNumberOrNeg(pi, 0), secsLa = u64leNumberOrNeg(pi, 24);
  const secsIdx = epcOperand(m, lp, secsLa, false);
  if (m.valid[idx]) throw pfEpcm(rcx, 'EAUG: the target EPC page is already valid', true);
  if (!m.valid[secsIdx] || m.pt[secsIdx] !== PT.SECS) throw pfEpcm(secsLa, 'EAUG: PAGEINFO.SECS is not a valid SECS page');
  const s = m.secs[secsIdx]!;
  if (!s.initialized) throw gp('EAUG: the enclave is not initialized (EAUG adds pages after EINIT only)');
  if (linaddr < s.baseAddr || linaddr >= s.baseAddr + s.size) throw gp(`EAUG: LINADDR 0x${linaddr.toString(16)} is outside ELRANGE`);
  // Commit: a zero page, PT_REG RW, PENDING until the enclave accepts it. Not measured.
  m.setPage(idx, null);
  m.validatePage(idx, PT.REG, PERM.R | PERM.W, EPCM_STATE.PENDING, secsIdx, linaddr);
  s.childCount++;
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EMODPR (EAX = 0xE): RBX = SECINFO (the permissions to keep), RCX = the EPC page.

export function emodpr(m: MachineState, lp: LpState, rbx: number, rcx: number): number {
  if (!aligned(rbx, 64) || !aligned(rcx, 4096)) throw gp('EMODPR: SECINFO must be 64-aligned and the EPC page 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  const { flags, reserved } = readSecinfo(m, lp, rbx, 0xff07);
  if (reserved) throw gp('EMODPR: SECINFO has reserved bits set');
  if ((flags & (PERM.R | PERM.W)) === PERM.W) throw gp('EMODPR: write permission without read permission');
  if (!m.valid[idx]) throw pfEpcm(rcx, 'EMODPR: the page is not valid', true);
  if (m.state[idx]! & (EPCM_STATE.PENDING | EPCM_STATE.MODIFIED)) return SGX.PAGE_NOT_MODIFIABLE;
  if (m.pt[idx] !== PT.REG) throw pfEpcm(rcx, 'EMODPR: the page is not PT_REG', true);
  const s = initializedOwner(m, idx, 'EMODPR');
  // Commit: PR set, the permissions only narrowed; the epoch now is what EACCEPT's tracking check compares (ED-9).
  m.perm[idx] = m.perm[idx]! & flags & 7;
  m.state[idx] = m.state[idx]! | EPCM_STATE.PR;
  m.modEpoch[idx] = s.trackEpoch;
  changed(m, s, idx);
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EMODT (EAX = 0xF): RBX = SECINFO (the new type: PT_TCS or PT_TRIM), RCX = the EPC page.

export function emodt(m: MachineState, lp: LpState, rbx: number, rcx: number): number {
  if (!aligned(rbx, 64) || !aligned(rcx, 4096)) throw gp('EMODT: SECINFO must be 64-aligned and the EPC page 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  const { flags, reserved } = readSecinfo(m, lp, rbx, 0xff07);
  const to = (flags >>> 8) & 0xff;
  if (reserved || (to !== PT.TCS && to !== PT.TRIM)) throw gp('EMODT: SECINFO has reserved bits set or a page type other than PT_TCS/PT_TRIM');
  if (!m.valid[idx]) throw pfEpcm(rcx, 'EMODT: the page is not valid', true);
  const from = m.pt[idx]!;
  if (!(from === PT.REG || (from === PT.TCS && to === PT.TRIM))) throw pfEpcm(rcx, `EMODT: a page of type ${from} cannot become type ${to}`, true);
  if (m.state[idx]! & (EPCM_STATE.PENDING | EPCM_STATE.MODIFIED)) return SGX.PAGE_NOT_MODIFIABLE;
  const s = initializedOwner(m, idx, 'EMODT');
  // Commit: the new type, no permissions, MODIFIED until the enclave accepts it (PR cleared).
  m.pt[idx] = to;
  m.perm[idx] = 0;
  m.state[idx] = (m.state[idx]! & EPCM_STATE.BLOCKED) | EPCM_STATE.MODIFIED;
  m.modEpoch[idx] = s.trackEpoch;
  if (from === PT.TCS) m.tcs[idx] = undefined; // a trimmed TCS is no TCS (its thread, suspended or inside, keeps its own state)
  changed(m, s, idx);
  return SGX.SUCCESS;
}

/** An EPCM entry of `s`'s page `idx` changed: entry caches go stale, and a page backing a memory is checked again at the next entry. */
function changed(m: MachineState, s: SecsState, idx: number): void {
  m.epcmEpoch++;
  if (m.backed[idx]) s.regionEpoch++;
}

// ---------------------------------------------------------------------------------------------
// The checks of the SGX2 ENCLU leaves past their operands' (the context runs those first).

/**
 * EACCEPT (§7.6) steps 3–8, for the SECINFO `flags` (low dword; its reserved bits checked by the
 * caller) and the EPC page `idx` that RCX (`la`, 4K-aligned, in ELRANGE) translates to. Returns
 * RAX; #GP / #PF as the SDM gives them.
 */
export function eaccept(m: MachineState, s: SecsState, flags: number, idx: number, la: number): number {
  const pt = (flags >>> 8) & 0xff;
  const pending = (flags & SI.PENDING) !== 0, modified = (flags & SI.MODIFIED) !== 0, pr = (flags & SI.PR) !== 0;
  // 3. The combinations EACCEPT accepts.
  const reg = pt === PT.REG && (pr || pending) && !modified;
  const typed = (pt === PT.TCS || pt === PT.TRIM) && !pr && !pending && modified;
  if (!reg && !typed) throw gp('EACCEPT: SECINFO is not a combination EACCEPT accepts');
  // 4. The target.
  const pfec = PFEC.P | PFEC.US | PFEC.SGX;
  const cur = m.pt[idx]!;
  if (!m.valid[idx] || m.state[idx]! & EPCM_STATE.BLOCKED || (cur !== PT.REG && cur !== PT.TCS && cur !== PT.TRIM) || m.owner[idx] !== s.page) {
    throw pf(la, pfec, 'EACCEPT: the page is not a valid, unblocked REG/TCS/TRIM page of this enclave');
  }
  // 5. Everything SECINFO names must be what the EPCM holds.
  const st = m.state[idx]!;
  if (m.linAddr[idx] !== la || ((st & EPCM_STATE.PENDING) !== 0) !== pending || ((st & EPCM_STATE.MODIFIED) !== 0) !== modified ||
    m.perm[idx] !== (flags & 7) || cur !== pt) return SGX.PAGE_ATTRIBUTES_MISMATCH;
  // 6. After EMODPR/EMODT the tracking must be complete (ED-5: a page EAUG just added had no translation).
  // (The test is EWB's, on the epoch EMODPR/EMODT recorded: ED-9; the thread executing EACCEPT
  // counts too, so it must have left and come back since.)
  if (st & (EPCM_STATE.MODIFIED | EPCM_STATE.PR) && !tracked(m, s, m.modEpoch[idx]!)) return SGX.NOT_TRACKED;
  // 7. A page that becomes a TCS must be one EENTER could use.
  let tcs: TcsState | null = null;
  if (pt === PT.TCS) {
    if (m.tampered[idx]) m.lockUp('EACCEPT read a TCS page that failed integrity');
    const b = m.peek(idx);
    const f = m.readTcsFields(idx);
    if ((b !== null && !isZero(b, TCS_OFF.RESERVED, 4096)) || (f.flags & 1) !== 0 || f.cssa >= f.nssa || f.aep !== 0 || (b !== null && u64le(b, TCS_OFF.STATE) !== 0n)) {
      throw gp('EACCEPT: the page is not a valid TCS (reserved bytes, DBGOPTIN, CSSA ≥ NSSA, AEP or STATE)');
    }
    if (!s.mode64 && b !== null && ((u32le(b, TCS_OFF.FSLIMIT) & 0xfff) !== 0xfff || (u32le(b, TCS_OFF.GSLIMIT) & 0xfff) !== 0xfff)) throw gp('EACCEPT: FSLIMIT/GSLIMIT low 12 bits must be all ones in a 32-bit enclave');
    tcs = newTcsState(m, idx, s, la);
  }
  // 8. Commit.
  m.state[idx] = st & ~(EPCM_STATE.PENDING | EPCM_STATE.MODIFIED | EPCM_STATE.PR);
  if (tcs !== null) m.tcs[idx] = tcs;
  changed(m, s, idx);
  return SGX.SUCCESS;
}

/**
 * EACCEPTCOPY (§7.7) past its operands: the destination `dst` (EPC index of RCX = `la`) must be a
 * PENDING PT_REG page of this enclave, RW, not X, at `la`; then it takes `src`'s contents and
 * SECINFO's permissions. Returns RAX.
 */
export function eacceptcopy(m: MachineState, s: SecsState, flags: number, dst: number, la: number, src: number): number {
  const st = m.state[dst]!;
  if (!m.valid[dst] || !(st & EPCM_STATE.PENDING) || st & EPCM_STATE.MODIFIED || m.pt[dst] !== PT.REG || m.owner[dst] !== s.page) return SGX.PAGE_ATTRIBUTES_MISMATCH;
  if (m.perm[dst] !== (PERM.R | PERM.W) || m.linAddr[dst] !== la) return SGX.PAGE_ATTRIBUTES_MISMATCH;
  const from = m.peek(src);
  m.setPage(dst, from === null ? null : from.slice());
  m.perm[dst] = flags & 7;
  m.state[dst] = st & ~EPCM_STATE.PENDING;
  changed(m, s, dst);
  return SGX.SUCCESS;
}

/** EMODPE (§7.8) past its operands: `idx`, a usable PT_REG page of this enclave at `la`, gains SECINFO's permissions. */
export function emodpe(m: MachineState, s: SecsState, flags: number, idx: number, la: number): void {
  const st = m.state[idx]!;
  if (!m.valid[idx] || st & (EPCM_STATE.PENDING | EPCM_STATE.MODIFIED | EPCM_STATE.BLOCKED) || m.pt[idx] !== PT.REG || m.owner[idx] !== s.page || m.linAddr[idx] !== la) {
    throw pf(la, PFEC.P | PFEC.US | PFEC.SGX, 'EMODPE: the page is not a usable PT_REG page of this enclave');
  }
  if ((m.perm[idx]! & PERM.R) === 0 && (flags & (PERM.R | PERM.W)) === PERM.W) throw gp('EMODPE: write permission without read permission');
  m.perm[idx] = m.perm[idx]! | (flags & 7);
  changed(m, s, idx);
}
