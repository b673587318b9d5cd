/**
 * ENCLS leaves (ring 0): ECREATE, EADD, EEXTEND, EINIT, EREMOVE, EDBGRD, EDBGWR.
 * Each follows the SDM pseudocode's checks in the SDM's order (specs/sgx.md §6) and validates
 * everything before its first irreversible step (ED-0): a leaf that faults or returns an error
 * code changes nothing.
 */
import { u16le, u32le, u64le, u64leNumberOrNeg, isZero, bytesEqual, timingSafeEqual, writeU64le, writeU16le } from '../lib/bytes.js';
import { MachineState, ZERO_PAGE, type LpState, type SecsState, type TcsState, PERM, EPCM_STATE } from './machine.js';
import { gp, pf, pfEpcm, type ArchFault } from './faults.js';
import { PageTable } from './mmu.js';
import { PT, SGX, ATTR, MISC, GPRSGX_SIZE, EXINFO_SIZE, KEYNAME, TCS_LIMIT, SECINFO_FLAGS } from './constants.js';
import { computeXsaveSize, isLegalXcr0 } from './config.js';
import { Measurement, measuredSecinfoFlags } from './measurement.js';
import { verifySigstructSignature, describeSigstructFormat } from './signature.js';
import { deriveKey, cpusvnAtMost, ZERO16, ZERO32, ZERO64 } from './keys.js';
import { TCS_OFF } from './structures/tcs.js';
import { eexitInfoFor } from './engine.js';
import { PKCS1_5_PADDING } from './constants.js';
import { forgetVaSlots, retireSecs } from './paging.js';

const USER_LIMIT = 2 ** 47;
/** Reused operand buffers (PAGEINFO, SECINFO): EADD runs once per page of every enclave. */
const PAGEINFO_BUF = new Uint8Array(32);
const SECINFO_BUF = new Uint8Array(64);

/** Read `len` bytes of kernel memory at linear `la` (an ENCLS memory operand outside the EPC). */
export function kread(m: MachineState, lp: LpState, la: number, len: number, out: Uint8Array = new Uint8Array(len)): Uint8Array {
  let done = 0;
  while (done < len) {
    const a = la + done;
    const n = Math.min(4096 - (a & 4095), len - done);
    const pa = m.translate(lp.cr3, a, false, false, false);
    m.readPhysical(pa, out, done, n);
    done += n;
  }
  return out;
}

/** The "EPC operand check": `la` must translate to an EPC page (else #PF(la)). Returns the page index. */
export function epcOperand(m: MachineState, lp: LpState, la: number, write: boolean): number {
  const c = lp.epcOperands, pt = lp.cr3;
  const page = la - (la & 4095);
  if (c.pt === pt && c.gen === PageTable.generationOf(pt)) {
    if (page === c.la0 && (c.w0 || !write)) return c.i0;
    if (page === c.la1 && (c.w1 || !write)) return c.i1;
  } else {
    c.pt = pt;
    c.gen = PageTable.generationOf(pt);
    c.la0 = c.la1 = -1;
  }
  const pa = m.translate(pt, la, write, false, false);
  const i = m.epcIndex(pa);
  if (i < 0) throw pf(la, 0, `operand 0x${la.toString(16)} does not resolve to an EPC page`);
  if (la >= 0 && Number.isSafeInteger(la)) {
    if (c.next === 0) {
      c.la0 = page; c.i0 = i; c.w0 = write;
    } else {
      c.la1 = page; c.i1 = i; c.w1 = write;
    }
    c.next ^= 1;
  }
  return i;
}

/** `x` is a non-negative integer multiple of `a` (a power of two). */
/**
 * The u64 at `o` of `b` is a multiple of `a` (a power of two up to 65536), read from its low bytes:
 * the alignment checks of PAGEINFO's fields look only at their low bits, so a field whose value no
 * number holds (≥ 2^53, u64leNumberOrNeg's -1) passes them and faults where it is used.
 */
export function alignedField(b: Uint8Array, o: number, a: number): boolean {
  return ((b[o]! | (b[o + 1]! << 8)) & (a - 1)) === 0;
}

export function aligned(x: number, a: number): boolean {
  // x & (a - 1): the low bits of a safe integer, without a floating-point modulo (EPC addresses lie above 2^31).
  return Number.isSafeInteger(x) && x >= 0 && (x & (a - 1)) === 0;
}

/** SECINFO flags allowed at EADD: R, W, X and PAGE_TYPE; everything else is reserved. */
function secinfoReservedBitsSet(flags: bigint): boolean {
  return (flags & ~0xff07n) !== 0n;
}

// ---------------------------------------------------------------------------------------------
// ECREATE (EAX = 0): RBX = PAGEINFO, RCX = the EPC page that becomes the SECS.

export function ecreate(m: MachineState, lp: LpState, rbx: number, rcx: number): number {
  if (!aligned(rbx, 32) || !aligned(rcx, 4096)) throw gp('ECREATE: PAGEINFO must be 32-aligned and the SECS page 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  const pi = kread(m, lp, rbx, 32);
  const linaddr = u64le(pi, 0), srcpge = u64leNumberOrNeg(pi, 8), secinfoLa = u64leNumberOrNeg(pi, 16), secsField = u64le(pi, 24);
  if (!alignedField(pi, 8, 4096) || !alignedField(pi, 16, 64)) throw gp('ECREATE: SRCPGE must be 4K-aligned and SECINFO 64-aligned');
  if (linaddr !== 0n || secsField !== 0n) throw gp('ECREATE: PAGEINFO.LINADDR and PAGEINFO.SECS must be 0');
  const si = kread(m, lp, secinfoLa, 64);
  const siFlags = u64le(si, 0);
  if (secinfoReservedBitsSet(siFlags) || !isZero(si, 8, 64)) throw gp('ECREATE: SECINFO reserved bits are not zero');
  if (Number((siFlags >> 8n) & 0xffn) !== PT.SECS) throw gp('ECREATE: SECINFO.PAGE_TYPE is not PT_SECS');
  if (m.valid[idx]) throw pfEpcm(rcx, 'ECREATE: the target EPC page is already valid', true);
  const src = kread(m, lp, srcpge, 4096);

  const size = u64le(src, 0), base = u64le(src, 8);
  const ssaFrameSize = u32le(src, 16), miscSelect = u32le(src, 20);
  const flags = u64le(src, 48), xfrm = u64le(src, 56);
  const cfg = m.config;
  // Step 6: XFRM.
  if ((xfrm & 3n) !== 3n || !isLegalXcr0(xfrm) || (xfrm & ~cfg.xfrmMask) !== 0n) throw gp(`ECREATE: XFRM 0x${xfrm.toString(16)} is not a legal, supported XCR0 value`);
  // CET is not modelled: its fields must be zero.
  if (u64le(src, 24) !== 0n || src[32] !== 0 || (flags & ATTR.CET) !== 0n) throw gp('ECREATE: CET fields are set but CET is not supported');
  // Step 7: MISCSELECT.
  if ((miscSelect & ~cfg.miscselectMask) >>> 0 !== 0) throw gp(`ECREATE: MISCSELECT 0x${miscSelect.toString(16)} has unsupported bits`);
  // Step 8: the SSA frame must hold XSAVE + GPRSGX + MISC.
  const miscSize = miscSelect & MISC.EXINFO ? EXINFO_SIZE : 0;
  if (ssaFrameSize * 4096 < computeXsaveSize(xfrm) + GPRSGX_SIZE + miscSize) throw gp(`ECREATE: SSAFRAMESIZE ${ssaFrameSize} is too small`);
  // Step 9: BASEADDR canonical (64-bit) or below 4 GiB (32-bit).
  const mode64 = (flags & ATTR.MODE64BIT) !== 0n;
  if (mode64) {
    const top = base >> 47n;
    if (top !== 0n && top !== 0x1ffffn) throw gp('ECREATE: BASEADDR is not canonical');
    if (top !== 0n) throw gp('ECREATE: ELRANGE in the upper canonical half is not modelled (user-mode enclaves only)');
  } else if ((base & 0xffffffff00000000n) !== 0n) throw gp('ECREATE: BASEADDR above 4 GiB for a 32-bit enclave');
  // Step 10: SIZE.
  const maxLog2 = mode64 ? cfg.maxEnclaveSizeLog2 : 31;
  if (size >= 1n << BigInt(maxLog2)) throw gp(`ECREATE: SIZE 0x${size.toString(16)} is not below 2^${maxLog2}`);
  if (size < 8192n || (size & (size - 1n)) !== 0n) throw gp(`ECREATE: SIZE 0x${size.toString(16)} is not a power of two of at least 8192`);
  if ((base & (size - 1n)) !== 0n) throw gp('ECREATE: BASEADDR is not naturally aligned to SIZE');
  if (base + size > BigInt(USER_LIMIT)) throw gp('ECREATE: ELRANGE extends beyond the modelled user half');
  // Step 11: ATTRIBUTES against CR_SGX_ATTRIBUTES_MASK (also catches INIT and reserved bits).
  if ((flags & ~cfg.attributesFlagsMask) !== 0n) throw gp(`ECREATE: ATTRIBUTES.FLAGS 0x${flags.toString(16)} has bits outside the supported mask`);
  // Step 12: reserved fields, and KSS-only fields.
  if (!isZero(src, 33, 48) || !isZero(src, 96, 128) || !isZero(src, 160, 192) || !isZero(src, 262, 4096)) throw gp('ECREATE: SECS reserved fields are not zero');
  const kss = (flags & ATTR.KSS) !== 0n;
  if (!kss && (!isZero(src, 192, 256) || u16le(src, 260) !== 0)) throw gp('ECREATE: CONFIGID/CONFIGSVN are set without ATTRIBUTES.KSS');

  // Commit.
  const measurement = new Measurement(m.crypto);
  measurement.ecreate(ssaFrameSize, Number(size));
  const page = src.slice();
  page.fill(0, 64, 96); // MRENCLAVE is the processor's
  writeU16le(page, 256, 0); // ISVPRODID
  writeU16le(page, 258, 0); // ISVSVN
  const s: SecsState = {
    page: idx, eid: m.nextEid++, key: {}, size: Number(size), baseAddr: Number(base), ssaFrameSize, miscSelect, flags, xfrm,
    attributes: src.slice(48, 64), configId: src.slice(192, 256), configSvn: u16le(src, 260),
    measurement, initialized: false, mrenclave: new Uint8Array(32), mrsigner: new Uint8Array(32), isvProdId: 0, isvSvn: 0,
    isvFamilyId: new Uint8Array(16), isvExtProdId: new Uint8Array(16), padding: new Uint8Array(352),
    childCount: 0, activeThreads: 0, exitCount: 0, tamperedPages: 0, regions: [], regionEpoch: 0, regionCheck: { pt: null, revocations: -1, epoch: -1 }, dead: false, trackEpoch: 0,
    mode64, xfrmInXcr0: (xfrm & ~cfg.xcr0) === 0n,
  };
  m.setPage(idx, page);
  m.secs[idx] = s;
  m.validatePage(idx, PT.SECS, 0, 0, -1, 0);
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EADD (EAX = 1): RBX = PAGEINFO, RCX = destination EPC page.

export function eadd(m: MachineState, lp: LpState, rbx: number, rcx: number): number {
  if (!aligned(rbx, 32) || !aligned(rcx, 4096)) throw gp('EADD: PAGEINFO must be 32-aligned and the EPC page 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  const pi = kread(m, lp, rbx, 32, PAGEINFO_BUF);
  const linaddr = u64leNumberOrNeg(pi, 0), srcpge = u64leNumberOrNeg(pi, 8), secinfoLa = u64leNumberOrNeg(pi, 16), secsLa = u64leNumberOrNeg(pi, 24);
  if (!alignedField(pi, 8, 4096) || !alignedField(pi, 24, 4096) || !alignedField(pi, 16, 64) || !alignedField(pi, 0, 4096)) {
    throw gp('EADD: SRCPGE, SECS and LINADDR must be 4K-aligned and SECINFO 64-aligned');
  }
  const secsIdx = epcOperand(m, lp, secsLa, false);
  const si = kread(m, lp, secinfoLa, 64, SECINFO_BUF);
  const siLo = u32le(si, 0), siHi = u32le(si, 4);
  const pt = (siLo >>> 8) & 0xff;
  if ((siLo & ~0xff07) !== 0 || siHi !== 0 || !isZero(si, 8, 64) || (pt !== PT.REG && pt !== PT.TCS)) throw gp('EADD: SECINFO has reserved bits set or a page type other than PT_REG/PT_TCS');
  if (m.valid[idx]) throw pfEpcm(rcx, 'EADD: the target EPC page is already valid', true);
  if (!m.valid[secsIdx] || m.pt[secsIdx] !== PT.SECS) throw pfEpcm(secsLa, 'EADD: PAGEINFO.SECS is not a valid SECS page');
  const s = m.secs[secsIdx]!;
  // Step 6: copy SRCPGE into the (still invalid, unobservable) target page; on a later failure it
  // is dropped again, so a faulting EADD leaves nothing behind (not even a version change).
  const srcPa = m.translate(lp.cr3, srcpge, false, false, false);
  const loaded = m.loadPage(idx, srcPa); // null: an all-zero source, no storage
  const src = loaded ?? ZERO_PAGE;
  const perms = siLo & 7;
  if (pt === PT.TCS) {
    if (!isZero(src, TCS_OFF.RESERVED, 4096)) undoEadd(m, idx, gp('EADD: TCS reserved bytes 72..4095 are not zero'));
    if (!s.mode64 && ((u32le(src, TCS_OFF.FSLIMIT) & 0xfff) !== 0xfff || (u32le(src, TCS_OFF.GSLIMIT) & 0xfff) !== 0xfff)) undoEadd(m, idx, gp('EADD: FSLIMIT/GSLIMIT low 12 bits must be all ones in a 32-bit enclave'));
  } else if (perms & PERM.W && !(perms & PERM.R)) undoEadd(m, idx, gp('EADD: write permission without read permission'));
  if (linaddr < s.baseAddr || linaddr >= s.baseAddr + s.size) undoEadd(m, idx, gp(`EADD: LINADDR 0x${linaddr.toString(16)} is outside ELRANGE`));
  if (s.initialized) undoEadd(m, idx, gp('EADD: the enclave is already initialized'));

  // Commit: a processor write of the page (new MEE version, integrity restored).
  let flagsNum = siLo;
  if (pt === PT.TCS) {
    flagsNum = measuredSecinfoFlags(flagsNum);
    if (loaded) {
      // The processor-owned fields start clear (a zero source already has them clear).
      writeU64le(loaded, TCS_OFF.STATE, 0);
      loaded[TCS_OFF.FLAGS] = loaded[TCS_OFF.FLAGS]! & ~1;
      loaded.fill(0, TCS_OFF.CSSA, TCS_OFF.CSSA + 4);
      writeU64le(loaded, TCS_OFF.AEP, 0);
    }
  }
  try {
    s.measurement!.eadd(linaddr - s.baseAddr, flagsNum);
  } catch (e) {
    m.dropPage(idx); // the measurement failed (its hashing thread stopped): nothing was committed
    throw e;
  }
  m.touched(idx);
  m.tampered[idx] = 0;
  m.validatePage(idx, pt, pt === PT.TCS ? 0 : perms, 0, secsIdx, linaddr);
  s.childCount++;
  if (pt === PT.TCS) m.tcs[idx] = newTcsState(m, idx, s, linaddr);
  return SGX.SUCCESS;
}

/** The processor's state of the TCS in EPC page `idx` of enclave `s` at `linAddr`, its fields read from the page (EADD, EACCEPT of a page made a TCS). */
export function newTcsState(m: MachineState, idx: number, s: SecsState, linAddr: number): TcsState {
  return { page: idx, secs: s, linAddr, state: 'idle', ...m.readTcsFields(idx), suspended: [], aexCount: 0, cache: null, pool: null, eexitInfo: eexitInfoFor(linAddr), notStarted: [] };
}

/** A check after EADD's copy failed: the copy is dropped (nothing else changed) and the fault raised. */
function undoEadd(m: MachineState, idx: number, f: ArchFault): never {
  m.dropPage(idx);
  throw f;
}

// ---------------------------------------------------------------------------------------------
// EEXTEND (EAX = 6): RBX = SECS, RCX = 256-byte chunk in the EPC.

export function eextend(m: MachineState, lp: LpState, rbx: number, rcx: number): number {
  if (!aligned(rbx, 4096)) throw gp('EEXTEND: the SECS address must be 4K-aligned');
  const secsIdx = epcOperand(m, lp, rbx, false);
  if (!aligned(rcx, 256)) throw gp('EEXTEND: the chunk address must be 256-aligned');
  const idx = epcOperand(m, lp, rcx, false);
  if (!m.valid[idx]) throw pfEpcm(rcx, 'EEXTEND: the chunk page is not valid');
  if (m.pt[idx] !== PT.REG && m.pt[idx] !== PT.TCS) throw pfEpcm(rcx, 'EEXTEND: the chunk page is not PT_REG or PT_TCS');
  if (m.owner[idx] !== secsIdx || !m.valid[secsIdx] || m.pt[secsIdx] !== PT.SECS) throw gp('EEXTEND: RBX is not the SECS of the chunk page');
  const s = m.secs[secsIdx]!;
  if (s.initialized) throw gp('EEXTEND: the enclave is already initialized');
  const off = rcx & 4095;
  s.measurement!.eextendAt(m.linAddr[idx]! - s.baseAddr + off, m.peek(idx) ?? ZERO_PAGE, off);
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EINIT (EAX = 2): RBX = SIGSTRUCT, RCX = SECS, RDX = EINITTOKEN. Returns RAX.

export function einit(m: MachineState, lp: LpState, rbx: number, rcx: number, rdx: number): number {
  // 1.
  if (!aligned(rbx, 4096) || !aligned(rcx, 4096)) throw gp('EINIT: SIGSTRUCT and SECS must be 4K-aligned');
  if (!aligned(rdx, 512)) throw gp('EINIT: EINITTOKEN must be 512-aligned');
  const secsIdx = epcOperand(m, lp, rcx, true);
  const sig = kread(m, lp, rbx, 1808);
  const tok = kread(m, lp, rdx, 304);
  // 2. SIGSTRUCT format.
  if (describeSigstructFormat(sig, m.config.strictSigstructHeader).length !== 0) return SGX.INVALID_SIG_STRUCT;
  // 3. An interrupt pending in the event window.
  if (lp.pendingInterrupt !== null || (m.config.einitUnmaskedEventRate > 0 && m.crypto.randomBytes(1)[0]! / 256 < m.config.einitUnmaskedEventRate)) {
    lp.pendingInterrupt = null; // the interrupt is delivered
    return SGX.UNMASKED_EVENT;
  }
  // 4. The RSA signature.
  const check = verifySigstructSignature(sig, m.crypto);
  if (!check.valid) return SGX.INVALID_SIGNATURE;
  // 5.
  if (!m.valid[secsIdx] || m.pt[secsIdx] !== PT.SECS) throw pfEpcm(rcx, 'EINIT: RCX is not a valid SECS page');
  const s = m.secs[secsIdx]!;
  // 6. KSS-only SIGSTRUCT fields.
  const kss = (s.flags & ATTR.KSS) !== 0n;
  if (!kss && (!isZero(sig, 912, 928) || !isZero(sig, 1008, 1024))) return SGX.INVALID_SIG_STRUCT;
  // 7.
  if (s.initialized) throw gp('EINIT: the enclave is already initialized');
  // 8. The measurement.
  const tmpMrenclave = s.measurement!.peek();
  if (!bytesEqual(tmpMrenclave, sig.subarray(960, 992))) return SGX.INVALID_MEASUREMENT;
  // 9.
  const tmpMrsigner = check.mrsigner;
  const le = m.lePubKeyHash;
  // 10. EINITTOKEN_KEY is a controlled attribute.
  if ((s.flags & ATTR.EINITTOKEN_KEY) !== 0n && !bytesEqual(tmpMrsigner, le)) return SGX.INVALID_ATTRIBUTE;
  // 11. Attributes against the SIGSTRUCT mask (128 bits).
  const maskF = u64le(sig, 944), maskX = u64le(sig, 952);
  if ((s.flags & maskF) !== (u64le(sig, 928) & maskF) || (s.xfrm & maskX) !== (u64le(sig, 936) & maskX)) return SGX.INVALID_ATTRIBUTE;
  // 12. MISCSELECT against MISCMASK.
  const miscMask = u32le(sig, 904);
  if (((s.miscSelect & miscMask) >>> 0) !== ((u32le(sig, 900) & miscMask) >>> 0)) return SGX.INVALID_ATTRIBUTE;
  // 14. The launch token.
  if ((u32le(tok, 0) & 1) === 0) {
    if (!bytesEqual(tmpMrsigner, le)) return SGX.INVALID_EINITTOKEN;
  } else {
    // 15.
    if ((u64le(tok, 240) & ATTR.DEBUG) !== 0n && (s.flags & ATTR.DEBUG) === 0n) return SGX.INVALID_EINITTOKEN;
    // 16.
    if ((u32le(tok, 0) & ~1) !== 0 || !isZero(tok, 4, 48) || !isZero(tok, 96, 128) || !isZero(tok, 160, 192) || !isZero(tok, 212, 236)) return SGX.INVALID_EINITTOKEN;
    // 17.
    const cpusvnLe = tok.subarray(192, 208);
    if (!cpusvnAtMost(cpusvnLe, m.config.cpusvn)) return SGX.INVALID_CPUSVN;
    // 18. The token MAC under the EINITTOKEN key derived from the token's LE fields.
    const key = deriveKey(m.crypto, m.secrets, {
      keyName: KEYNAME.EINITTOKEN_KEY, keyPolicy: 0, isvProdId: u16le(tok, 208), isvSvn: u16le(tok, 210), configSvn: 0,
      miscSelect: u32le(tok, 236), miscMask: 0, attributes: tok.slice(240, 256), attributesMask: ZERO16, ownerEpoch: m.secrets.ownerEpoch,
      cpuSvn: cpusvnLe.slice(), sealKeyFuses: m.secrets.sealFuses, isvFamilyId: ZERO16, isvExtProdId: ZERO16, mrenclave: ZERO32,
      mrsigner: le, keyId: tok.slice(256, 288), configId: ZERO64, padding: PKCS1_5_PADDING,
    });
    if (!timingSafeEqual(m.crypto.aesCmac128(key, tok.subarray(0, 192)), tok.subarray(288, 304))) return SGX.INVALID_EINITTOKEN;
    // 19.
    if (!bytesEqual(tok.subarray(64, 96), tmpMrenclave) || !bytesEqual(tok.subarray(128, 160), tmpMrsigner)) return SGX.INVALID_MEASUREMENT;
    // 20. (the SDM's SGX_INVALID_EINIT_ATTRIBUTE; value per specs §17 #10)
    if (!bytesEqual(tok.subarray(48, 64), s.attributes)) return SGX.INVALID_ATTRIBUTE;
  }
  // Commit.
  s.mrenclave = s.measurement!.finalize();
  s.measurement = null;
  s.mrsigner = tmpMrsigner.slice();
  s.isvProdId = u16le(sig, 1024);
  s.isvSvn = u16le(sig, 1026);
  s.isvFamilyId = sig.slice(912, 928);
  s.isvExtProdId = sig.slice(1008, 1024);
  s.padding = check.padding!;
  s.initialized = true;
  const flags = s.flags | ATTR.INIT;
  (s as { flags: bigint }).flags = flags;
  writeU64le(s.attributes, 0, flags);
  const page = m.page(secsIdx);
  page.set(s.mrenclave, 64);
  page.set(s.mrsigner, 128);
  writeU64le(page, 48, flags);
  writeU16le(page, 256, s.isvProdId);
  writeU16le(page, 258, s.isvSvn);
  m.touched(secsIdx);
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EREMOVE (EAX = 3): RCX = EPC page. Returns RAX.

export function eremove(m: MachineState, lp: LpState, rcx: number): number {
  if (!aligned(rcx, 4096)) throw gp('EREMOVE: the page address must be 4K-aligned');
  const idx = epcOperand(m, lp, rcx, true);
  if (!m.valid[idx]) return SGX.SUCCESS;
  const pt = m.pt[idx]!;
  if (pt === PT.VA || (pt === PT.TRIM && !(m.state[idx]! & EPCM_STATE.MODIFIED))) {
    const owner = m.owner[idx]!;
    if (pt === PT.VA) forgetVaSlots(m, idx);
    const o = owner >= 0 ? m.secs[owner] : undefined;
    if (o && m.backed[idx]) o.regionEpoch++; // (a trimmed page that backed a memory: the next entry checks the regions)
    m.freePage(idx);
    if (o) o.childCount--;
    return SGX.SUCCESS;
  }
  if (pt === PT.SECS) {
    const s = m.secs[idx]!;
    if (s.childCount > 0) return SGX.CHILD_PRESENT;
    m.freePage(idx);
    retireSecs(m, s);
    return SGX.SUCCESS;
  }
  const s = m.secs[m.owner[idx]!]!;
  if (s.activeThreads > 0) return SGX.ENCLAVE_ACT;
  if (m.backed[idx]) s.regionEpoch++;
  m.freePage(idx);
  s.childCount--;
  return SGX.SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// EDBGRD / EDBGWR (EAX = 4 / 5): RCX = EPC address; 8 bytes in 64-bit mode.

function debugTarget(m: MachineState, lp: LpState, rcx: number, write: boolean): { idx: number; status: number } {
  if (rcx < 0 || rcx % 8 !== 0) throw gp(`${write ? 'EDBGWR' : 'EDBGRD'}: the address must be 8-byte aligned`);
  const idx = epcOperand(m, lp, rcx, write); // (a #PF reports RCX itself, as EEXTEND's does)
  if (!m.valid[idx]) throw pfEpcm(rcx, 'EDBGRD/EDBGWR: the page is not valid', write);
  const pt = m.pt[idx]!;
  const ok = write ? pt === PT.REG || pt === PT.TCS : pt === PT.REG || pt === PT.TCS || pt === PT.VA;
  if (!ok) throw pfEpcm(rcx, `EDBGRD/EDBGWR: page type ${pt} cannot be debugged`, write);
  if (m.state[idx]! & (EPCM_STATE.PENDING | EPCM_STATE.MODIFIED)) return { idx, status: SGX.PAGE_NOT_DEBUGGABLE };
  const off = rcx % 4096;
  if (pt === PT.TCS) {
    if (write ? (rcx & 0xff8) !== TCS_OFF.FLAGS : off >= TCS_LIMIT) throw gp(`${write ? 'EDBGWR may write only TCS.FLAGS' : 'EDBGRD: offset beyond the architectural TCS'}`);
  }
  if (pt !== PT.VA) {
    const s = m.secs[m.owner[idx]!]!;
    if ((s.flags & ATTR.DEBUG) === 0n) throw gp('EDBGRD/EDBGWR: the enclave is not a DEBUG enclave');
  }
  return { idx, status: SGX.SUCCESS };
}

export function edbgrd(m: MachineState, lp: LpState, rcx: number): number {
  const { idx, status } = debugTarget(m, lp, rcx, false);
  if (status !== SGX.SUCCESS) return status;
  if (m.tampered[idx]) m.lockUp('EDBGRD read a page that failed integrity');
  const off = rcx % 4096;
  if (m.pt[idx] === PT.TCS) m.syncTcs(idx);
  const b = m.peek(idx);
  if (m.pt[idx] === PT.VA) {
    lp.dataOut = b && (u64le(b, off) & ~7n) !== 0n ? 0xffffffffffffffffn : 0n;
  } else lp.dataOut = b ? u64le(b, off) : 0n;
  return SGX.SUCCESS;
}

export function edbgwr(m: MachineState, lp: LpState, rcx: number, data: bigint): number {
  const { idx, status } = debugTarget(m, lp, rcx, true);
  if (status !== SGX.SUCCESS) return status;
  if (m.tampered[idx]) m.lockUp('EDBGWR wrote a page that failed integrity');
  if (m.pt[idx] === PT.TCS) m.syncTcs(idx);
  const b = m.page(idx);
  writeU64le(b, rcx % 4096, data);
  m.touched(idx);
  const t = m.tcs[idx];
  if (t && rcx % 4096 === TCS_OFF.FLAGS) {
    t.flags = data < 2n ** 53n ? Number(data) : -1; // (-1: a value no number holds, which EENTER refuses like a reserved bit)
    m.epcmEpoch++;
  }
  return SGX.SUCCESS;
}

export { SECINFO_FLAGS };
