/**
 * EPC paging (specs/sgx.md §6.7–6.11, §10): EPA, EBLOCK, ETRACK, EWB, ELDB and ELDU. Each follows
 * the SDM's checks in the SDM's order and validates everything before its first irreversible step
 * (ED-0): a leaf that faults or returns an error code changes nothing.
 *
 * An evicted page is AES-128-GCM under the per-boot paging key CR_BASE_PK, with the MAC header and
 * nonce framing of ED-8 (§10.2): not wire-compatible with hardware, whose layout is not public, but
 * binding the same things (contents, type, permissions, SGX2 state, linear address, owner EID,
 * freshness through the nonce kept in a VA slot that ELDx clears). Tracking is ED-9 (§10.4).
 */
import { u64le, u64leNumberOrNeg, u32le, writeU64le, isZero } from '../lib/bytes.js';
import { type MachineState, type LpState, type SecsState, type TcsState, type EvictedState, type EvictedSlots, ZERO_PAGE, EPCM_STATE } from './machine.js';
import { gp, pfEpcm } from './faults.js';
import { ArchError } from './errors.js';
import { PT, SGX } from './constants.js';
import { kread, epcOperand, aligned, alignedField } from './encls.js';

/** Page types EBLOCK blocks and EWB evicts only when blocked and tracked (REG, TCS, TRIM; CET's are not modelled). */
function isChildType(pt: number): boolean {
  return pt === PT.REG || pt === PT.TCS || pt === PT.TRIM;
}

/** PCMD.SECINFO.FLAGS of an EPCM entry: R, W, X, PENDING, MODIFIED, PR and PAGE_TYPE (§2.6). */
function secinfoFlagsOf(m: MachineState, i: number): number {
  return (m.perm[i]! & 7) | (((m.state[i]! >> 1) & 7) << 3) | (m.pt[i]! << 8);
}

/** The MAC header of ED-8 (specs/sgx.md §10.2): SECINFO flags, binding EID, PCMD.reserved (zeros here), LINADDR. */
function macHeader(flags: number, eid: number, linAddr: number, reserved: Uint8Array | null): Uint8Array {
  const h = new Uint8Array(128);
  writeU64le(h, 0, flags & 0xff3f);
  writeU64le(h, 64, eid);
  if (reserved !== null) h.set(reserved, 72);
  writeU64le(h, 112, linAddr);
  return h;
}

/** The GCM IV of nonce `ver`: the 96-bit value ver << 32, little-endian (ED-8). */
function ivOf(ver: bigint): Uint8Array {
  const iv = new Uint8Array(12);
  writeU64le(iv, 4, ver);
  return iv;
}

/**
 * "Tracking correct" for a page EBLOCK blocked at `blockEpoch` (§10.4): an ETRACK since, and no
 * logical processor still inside the enclave that entered before it.
 */
export function tracked(m: MachineState, s: SecsState, blockEpoch: number): boolean {
  if (!(blockEpoch < s.trackEpoch)) return false;
  for (const lp of m.lps) if (lp.enclaveMode && lp.activeSecs === s && lp.entryEpoch <= blockEpoch) return false;
  return true;
}

/** Translate a kernel output operand for writing (EWB's outputs are checked before anything is committed). */
function koutput(m: MachineState, lp: LpState, la: number): number {
  return m.translate(lp.cr3, la, true, false, false);
}

// ---------------------------------------------------------------------------------------------
// EPA (EAX = 0xA): RBX = PT_VA, RCX = the EPC page that becomes a Version Array.

export function epa(m: MachineState, lp: LpState, rbx: number, rcx: number): number {
  if (rbx !== PT.VA) throw gp('EPA: RBX must be PT_VA (3)');
  if (!aligned(rcx, 4096)) throw gp('EPA: the page address must be 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  if (m.valid[idx]) throw pfEpcm(rcx, 'EPA: the page is already valid', true);
  m.setPage(idx, null); // 512 empty slots
  m.validatePage(idx, PT.VA, 0, 0, -1, 0);
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EBLOCK (EAX = 9): RCX = EPC page. Returns RAX (SGX_BLKSTATE, SGX_NOTBLOCKABLE and SGX_PG_IS_SECS
// are information codes, CF = 1; SGX_PG_INVLD an error, ZF = 1).

export function eblock(m: MachineState, lp: LpState, rcx: number): number {
  if (!aligned(rcx, 4096)) throw gp('EBLOCK: the page address must be 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  if (!m.valid[idx]) return SGX.PG_INVLD;
  const pt = m.pt[idx]!;
  if (pt === PT.SECS) return SGX.PG_IS_SECS;
  if (!isChildType(pt)) return SGX.NOTBLOCKABLE;
  if (m.state[idx]! & EPCM_STATE.BLOCKED) return SGX.BLKSTATE;
  const s = m.secs[m.owner[idx]!]!;
  m.state[idx] = m.state[idx]! | EPCM_STATE.BLOCKED;
  m.blockEpoch[idx] = s.trackEpoch;
  m.epcmEpoch++; // no new translation of the page from now on (entry caches, the TCS operand)
  if (m.backed[idx]) s.regionEpoch++; // a memory page: the next entry checks the regions again
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// ETRACK (EAX = 0xC): RCX = SECS.

export function etrack(m: MachineState, lp: LpState, rcx: number): number {
  if (!aligned(rcx, 4096)) throw gp('ETRACK: the SECS address must be 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  if (!m.valid[idx] || m.pt[idx] !== PT.SECS) throw pfEpcm(rcx, 'ETRACK: RCX is not a valid SECS page', true);
  const s = m.secs[idx]!;
  // The previous cycle is complete when no LP that entered before it is still inside.
  for (const l of m.lps) if (l.enclaveMode && l.activeSecs === s && l.entryEpoch < s.trackEpoch) return SGX.PREV_TRK_INCMPL;
  s.trackEpoch++;
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EWB (EAX = 0xB): RBX = PAGEINFO (SRCPGE: the 4 KiB output buffer; PCMD), RCX = the EPC page to
// evict, RDX = the VA slot. Returns RAX (SGX_VA_SLOT_OCCUPIED: CF = 1, the eviction completed).

export function ewb(m: MachineState, lp: LpState, rbx: number, rcx: number, rdx: number): number {
  // 1.
  if (!aligned(rbx, 32) || !aligned(rcx, 4096) || !aligned(rdx, 8)) throw gp('EWB: PAGEINFO must be 32-aligned, the page 4K-aligned and the VA slot 8-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  const vaIdx = epcOperand(m, lp, rdx, true);
  if (idx === vaIdx) throw gp('EWB: the page and the VA slot are in the same EPC page');
  // 2.
  const pi = kread(m, lp, rbx, 32);
  if (u64le(pi, 0) !== 0n || u64le(pi, 24) !== 0n) throw gp('EWB: PAGEINFO.LINADDR and PAGEINFO.SECS must be 0');
  if (!alignedField(pi, 16, 128) || !alignedField(pi, 8, 4096)) throw gp('EWB: PCMD must be 128-aligned and SRCPGE 4K-aligned');
  const srcpge = u64leNumberOrNeg(pi, 8), pcmdLa = u64leNumberOrNeg(pi, 16);
  // 3.
  if (!m.valid[idx]) throw pfEpcm(rcx, 'EWB: the page is not valid', true);
  if (!m.valid[vaIdx] || m.pt[vaIdx] !== PT.VA) throw pfEpcm(rdx, 'EWB: RDX is not a slot of a valid VA page', true);
  // 5.
  const pt = m.pt[idx]!;
  let bindEid = 0, pcmdEid = 0;
  let owner: SecsState | null = null;
  if (isChildType(pt)) {
    if (!(m.state[idx]! & EPCM_STATE.BLOCKED)) return SGX.PAGE_NOT_BLOCKED;
    owner = m.secs[m.owner[idx]!]!;
    if (!tracked(m, owner, m.blockEpoch[idx]!)) return SGX.NOT_TRACKED;
    bindEid = pcmdEid = owner.eid;
  } else if (pt === PT.SECS) {
    const s = m.secs[idx]!;
    if (s.childCount > 0) return SGX.CHILD_PRESENT;
    pcmdEid = s.eid;
  } else if (pt !== PT.VA) {
    throw pfEpcm(rcx, `EWB: page type ${pt} cannot be evicted`, true);
  }
  // The outputs translated (and their frames checked) before anything is committed: a #PF here changes nothing.
  const srcPa = koutput(m, lp, srcpge), pcmdPa = koutput(m, lp, pcmdLa), piPa = koutput(m, lp, rbx);
  m.checkFramesWhole(srcPa, 4096);
  m.checkFramesWhole(pcmdPa, 128);
  m.checkFramesWhole(piPa, 8);
  if (m.tampered[idx]) m.lockUp('EWB read a page that failed integrity');
  if (m.tampered[vaIdx]) m.lockUp('EWB used a VA page that failed integrity');
  // 6. The nonce, and the page encrypted and MACed with its metadata.
  // (In steps of 8: EDBGRD of a VA slot masks its low three bits (§6.6), so every version must
  // show there as an occupied slot.)
  const ver = m.pagingVersion += 8;
  if (pt === PT.TCS) m.syncTcs(idx);
  const flags = secinfoFlagsOf(m, idx);
  const linAddr = m.linAddr[idx]!;
  const sealed = m.crypto.aesGcm128Encrypt(m.boot.pagingKey, ivOf(BigInt(ver)), m.peek(idx) ?? ZERO_PAGE, macHeader(flags, bindEid, linAddr, null));
  // 7. The outputs: the encrypted page, the PCMD, PAGEINFO.LINADDR.
  const pcmd = new Uint8Array(128);
  writeU64le(pcmd, 0, flags);
  writeU64le(pcmd, 64, pcmdEid);
  pcmd.set(sealed.tag, 112);
  m.writePhysical(srcPa, sealed.ciphertext, 0, 4096);
  m.writePhysical(pcmdPa, pcmd);
  const la = new Uint8Array(8);
  writeU64le(la, 0, linAddr);
  m.writePhysical(piPa, la);
  // 8–9. The VA slot (an occupied one is overwritten: its version is lost), the page freed.
  const va = m.page(vaIdx);
  const slot = rdx & 4095;
  const old = u64leNumberOrNeg(va, slot);
  writeU64le(va, slot, ver);
  m.touched(vaIdx);
  // (A page EMODT made a TCS has no TCS state until EACCEPT: nothing to keep.)
  if (pt === PT.TCS) {
    const t = m.tcs[idx];
    if (t !== undefined) m.evicted.set(ver, t);
  } else if (pt === PT.SECS) m.evicted.set(ver, m.secs[idx]!);
  else if (pt === PT.VA) m.evicted.set(ver, { slots: takeSlots(m, idx) });
  if (owner !== null) {
    if (m.backed[idx]) owner.regionEpoch++;
    owner.childCount--;
  }
  m.freePage(idx);
  // Last (it may tell the engine that an enclave is gone): the overwritten version's kept state.
  if (old !== 0) dropEvicted(m, old);
  return old !== 0 ? SGX.VA_SLOT_OCCUPIED : SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// ELDB / ELDU (EAX = 7 / 8): RBX = PAGEINFO (LINADDR, SRCPGE: the encrypted page, PCMD, SECS),
// RCX = the destination EPC page, RDX = the VA slot. ELDB leaves the page BLOCKED.

export function eld(m: MachineState, lp: LpState, rbx: number, rcx: number, rdx: number, blocked: boolean): number {
  const name = blocked ? 'ELDB' : 'ELDU';
  // 1.
  if (!aligned(rbx, 32) || !aligned(rcx, 4096) || !aligned(rdx, 8)) throw gp(`${name}: PAGEINFO must be 32-aligned, the page 4K-aligned and the VA slot 8-aligned`);
  const idx = epcOperand(m, lp, rcx, true);
  const vaIdx = epcOperand(m, lp, rdx, true);
  const pi = kread(m, lp, rbx, 32);
  if (!alignedField(pi, 16, 128) || !alignedField(pi, 8, 4096)) throw gp(`${name}: PCMD must be 128-aligned and SRCPGE 4K-aligned`);
  const linAddr = u64leNumberOrNeg(pi, 0), srcpge = u64leNumberOrNeg(pi, 8), pcmdLa = u64leNumberOrNeg(pi, 16), secsLa = u64leNumberOrNeg(pi, 24);
  // 2.
  if (m.valid[idx]) throw pfEpcm(rcx, `${name}: the destination page is already valid`, true);
  if (!m.valid[vaIdx] || m.pt[vaIdx] !== PT.VA) throw pfEpcm(rdx, `${name}: RDX is not a slot of a valid VA page`, true);
  // 3. The MAC header from PCMD.SECINFO, PCMD.reserved, PAGEINFO.LINADDR and the binding EID.
  const pcmd = kread(m, lp, pcmdLa, 128);
  const flagsLo = u32le(pcmd, 0);
  const pt = (flagsLo >>> 8) & 0xff;
  // A PCMD.SECINFO with reserved bits set is refused as every SECINFO operand is (bits 7:6, 63:16,
  // bytes 8–63): the MAC header carries only the defined bits, so they would otherwise pass unseen.
  if ((flagsLo & ~0xff3f) !== 0 || u32le(pcmd, 4) !== 0 || !isZero(pcmd, 8, 64)) throw gp(`${name}: PCMD.SECINFO has reserved bits set`);
  let owner: SecsState | null = null;
  let secsIdx = -1;
  if (isChildType(pt)) {
    if (!alignedField(pi, 24, 4096) || secsLa < 0) throw gp(`${name}: PAGEINFO.SECS must be 4K-aligned`);
    secsIdx = epcOperand(m, lp, secsLa, false);
    if (!m.valid[secsIdx] || m.pt[secsIdx] !== PT.SECS) throw pfEpcm(secsLa, `${name}: PAGEINFO.SECS is not a valid SECS page`);
    owner = m.secs[secsIdx]!;
  } else if (pt === PT.SECS || pt === PT.VA) {
    if (u64le(pi, 24) !== 0n) throw gp(`${name}: PAGEINFO.SECS must be 0 for a SECS or VA page`);
  } else throw gp(`${name}: PCMD.SECINFO.PAGE_TYPE ${pt} cannot be loaded`);
  if (linAddr < 0) throw gp(`${name}: PAGEINFO.LINADDR is not canonical`);
  // 4. Decrypt and verify under the nonce in the VA slot (an empty slot, 0, never verifies).
  if (m.tampered[vaIdx]) m.lockUp(`${name} used a VA page that failed integrity`);
  const slot = rdx & 4095;
  const va = m.peek(vaIdx);
  const ver = va === null ? 0n : u64le(va, slot);
  const cipher = kread(m, lp, srcpge, 4096);
  const header = macHeader(flagsLo, owner === null ? 0 : owner.eid, linAddr, pcmd.subarray(72, 112));
  const plain = ver === 0n ? null : m.crypto.aesGcm128Decrypt(m.boot.pagingKey, ivOf(ver), cipher, header, pcmd.subarray(112, 128));
  if (plain === null) return SGX.MAC_COMPARE_FAIL;
  const hidden = m.evicted.get(Number(ver));
  const acceptedTcs = pt === PT.TCS && (flagsLo & 0x10) === 0; // (a TCS still MODIFIED, from EMODT, has no state yet)
  if ((pt === PT.SECS || acceptedTcs) && (hidden === undefined || 'slots' in hidden)) {
    throw new ArchError('EVICTED_STATE_MISSING', `${name}: the processor holds no state for the ${pt === PT.SECS ? 'SECS' : 'TCS'} evicted with nonce ${ver}`);
  }
  if (acceptedTcs && ((hidden as TcsState).secs !== owner || (hidden as TcsState).linAddr !== linAddr)) {
    throw new ArchError('EVICTED_STATE_MISSING', `${name}: the TCS state kept for nonce ${ver} belongs elsewhere`);
  }
  // 5. Commit: the page, its EPCM entry, the slot cleared (the anti-replay step).
  m.setPage(idx, plain);
  m.validatePage(idx, pt, pt === PT.REG ? flagsLo & 7 : 0, (((flagsLo >> 3) & 7) << 1) | (blocked && isChildType(pt) ? EPCM_STATE.BLOCKED : 0), secsIdx, isChildType(pt) ? linAddr : 0);
  m.blockEpoch[idx] = owner === null ? 0 : owner.trackEpoch;
  // A page EMODPR/EMODT changed was written out by an EWB that found its EBLOCK tracked (an ETRACK
  // since, no thread inside that entered before it), and every thread inside now entered after
  // that: no translation from before the change can remain, so its EACCEPT needs no new ETRACK.
  m.modEpoch[idx] = -1;
  writeU64le(m.page(vaIdx), slot, 0);
  m.touched(vaIdx);
  m.evicted.delete(Number(ver));
  if (pt === PT.SECS) {
    const s = hidden as SecsState;
    s.page = idx;
    m.secs[idx] = s;
  } else if (pt === PT.VA && hidden !== undefined && 'slots' in hidden) {
    for (const [v, x] of hidden.slots) m.evicted.set(v, x); // its slots' nonces are loadable again
  } else if (acceptedTcs) {
    const t = hidden as TcsState;
    t.page = idx;
    t.cache = null;
    m.tcs[idx] = t;
  }
  if (owner !== null) {
    owner.childCount++;
    if (pt === PT.REG) rebindRegionPage(m, owner, idx, linAddr);
  }
  return SGX.SUCCESS;
}

/**
 * A reloaded page at `linAddr` inside one of the enclave's memory regions backs that memory again
 * (in its new frame) when the region's page there has no frame now: the model's equivalent of the
 * TLB mapping the address to the new frame. The next entry checks the regions again.
 */
function rebindRegionPage(m: MachineState, s: SecsState, idx: number, linAddr: number): void {
  for (const r of s.regions) {
    if (linAddr < r.base || linAddr >= r.base + r.size) continue;
    const j = (linAddr - r.base) / 4096;
    if (m.backsRegion(r.frames[j]!, r, j)) return; // the region's page has a frame: this one is another copy
    m.bindRegionPage(idx, r, j, true);
    r.frames[j] = idx;
    m.touched(idx);
    s.regionEpoch++;
    return;
  }
}

/** The kept state of the nonces in VA page `idx`'s slots, taken out of MachineState.evicted (the page is being evicted: they go with it). */
function takeSlots(m: MachineState, idx: number): Map<number, EvictedState> {
  const out = new Map<number, EvictedState>();
  const va = m.peek(idx);
  if (va === null || m.evicted.size === 0) return out;
  for (let o = 0; o < 4096; o += 8) {
    const v = u64leNumberOrNeg(va, o);
    const x = v > 0 ? m.evicted.get(v) : undefined;
    if (x !== undefined) {
      out.set(v, x);
      m.evicted.delete(v);
    }
  }
  return out;
}

/**
 * Nonce `ver` can never be loaded again: the state kept for it goes, and with an evicted VA page's
 * the state of every nonce its slots held. An enclave whose evicted SECS is lost so is gone: what
 * EREMOVE of its SECS does (retireSecs).
 */
function dropEvicted(m: MachineState, ver: number): void {
  const x = m.evicted.get(ver);
  if (x === undefined) return;
  m.evicted.delete(ver);
  dropState(m, x);
}

function dropState(m: MachineState, x: EvictedState): void {
  if ('slots' in x) for (const y of (x as EvictedSlots).slots.values()) dropState(m, y);
  else if (!('secs' in x)) retireSecs(m, x);
}

/** EREMOVE of VA page `idx`: the nonces in its slots can never be loaded again. */
export function forgetVaSlots(m: MachineState, idx: number): void {
  for (const x of takeSlots(m, idx).values()) dropState(m, x);
}

/**
 * An enclave is gone for good (EREMOVE of its SECS, or its evicted SECS lost): it is dead, its
 * measurement released, the engine told, and the state kept for its evicted TCSs dropped (no
 * SECS has its EID any more).
 */
export function retireSecs(m: MachineState, s: SecsState): void {
  if (s.dead) return;
  s.dead = true;
  forgetTcsOf(m.evicted, s);
  s.measurement?.dispose();
  m.engine?.destroyed(s.key);
}

function forgetTcsOf(map: Map<number, EvictedState>, s: SecsState): void {
  for (const [v, x] of map) {
    if ('slots' in x) forgetTcsOf(x.slots, s);
    else if ('secs' in x && x.secs === s) map.delete(v);
  }
}
