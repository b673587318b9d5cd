/**
 * The trusted runtime's library, offered to enclave modules as imports of module "witness": the
 * counterparts of the Intel SDK's sgx_create_report, sgx_verify_report, sgx_get_key,
 * sgx_seal_data / sgx_unseal_data (sgx_sealed_data_t layout, AES-128-GCM, zero IV), sgx_read_rand,
 * sgx_is_outside_enclave and a few crypto helpers. They run inside the enclave (enclave mode),
 * reach the processor only through the entry's EnclaveContext, and return sgx_status_t values.
 *
 * ENCLU operands must be aligned and inside ELRANGE; the runtime stages them in the thread-data
 * page of the current TCS.
 */
import type { EnclaveContext } from '../../arch/index.js';
import { SGX, PT, KEYNAME, KEYPOLICY, KEYREQUEST, REPORT, TARGETINFO, reportMacedBytes } from '../../arch/index.js';
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import { u16le, u32le, timingSafeEqual, LentBuffer } from '../../lib/bytes.js';
import { LibError } from '../../lib/errors.js';
import { STATUS, type WasmType } from '../abi.js';
import { RUNTIME_HEADER } from '../image/layout.js';
import { SEALED_HEADER_SIZE, SEALED_DATA_HEADER, SEAL_FLAGS_MASK, SEAL_MISC_MASK, SEALED_SIZE_OVERFLOW, sealedDataSize, sealedLengths } from '../sealing.js';

export interface RuntimeServices {
  readonly crypto: CryptoProvider;
  ctx(): EnclaveContext;
  /** The enclave's memory (a fresh view whenever the module replaced its buffer). */
  readonly memory: Uint8Array;
}

/** Signatures of the runtime imports (module "witness"). */
export const RUNTIME_IMPORTS: Readonly<Record<string, { params: readonly WasmType[]; results: readonly WasmType[] }>> = {
  read_rand: { params: ['i32', 'i32'], results: ['i32'] },
  ereport: { params: ['i32', 'i32', 'i32'], results: ['i32'] },
  verify_report: { params: ['i32'], results: ['i32'] },
  get_key: { params: ['i32', 'i32'], results: ['i32'] },
  sealed_size: { params: ['i32', 'i32'], results: ['i32'] },
  seal: { params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  unseal: { params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  copy_from_outside: { params: ['i32', 'i64', 'i32'], results: ['i32'] },
  copy_to_outside: { params: ['i64', 'i32', 'i32'], results: ['i32'] },
  is_outside_enclave: { params: ['i64', 'i32'], results: ['i32'] },
  sha256: { params: ['i32', 'i32', 'i32'], results: ['i32'] },
  ecdh_keypair: { params: ['i32', 'i32'], results: ['i32'] },
  ecdh_shared: { params: ['i32', 'i32', 'i32'], results: ['i32'] },
  ecdsa_public: { params: ['i32', 'i32'], results: ['i32'] },
  ecdsa_sign: { params: ['i32', 'i32', 'i32', 'i32'], results: ['i32'] },
  abort: { params: ['i32', 'i32'], results: [] },
};

const HEADER_NSSA = RUNTIME_HEADER.field('NSSA').offset;

const EGETKEY_STATUS: Readonly<Record<number, number>> = {
  [SGX.INVALID_ATTRIBUTE]: STATUS.INVALID_ATTRIBUTE,
  [SGX.INVALID_CPUSVN]: STATUS.INVALID_CPUSVN,
  [SGX.INVALID_ISVSVN]: STATUS.INVALID_ISVSVN,
  [SGX.INVALID_KEYNAME]: STATUS.INVALID_KEYNAME,
};

/** The thread-data page of the entry's TCS: TCS page + NSSA SSA pages further on. */
function threadData(ctx: EnclaveContext): number {
  const nssa = u32le(ctx.read(ctx.baseAddr + HEADER_NSSA, 4), 0);
  return ctx.tcsAddress + 4096 * (1 + nssa);
}

/** SECINFO.FLAGS of a page EAUG added, as EACCEPT must name it: R W, PENDING, PT_REG (SDM 37.11.2; Intel's EMM accepts its heap pages so). */
const SECINFO_AUGMENTED = (PT.REG << 8) | 0x08 | 0x2 | 0x1;

/**
 * EACCEPT of every page in [from, to) (page-aligned linear addresses): pages the OS added with EAUG
 * at the runtime's request. The SGX status of the first that fails (SGX.SUCCESS when all were
 * accepted), and how many were accepted before it; a page the OS did not add faults (#PF), as on
 * hardware (the kernel may resolve it: Linux EAUGs on fault).
 */
export function acceptPages(ctx: EnclaveContext, from: number, to: number): { readonly status: number; readonly accepted: number } {
  const td = threadData(ctx);
  const si = new Uint8Array(64);
  si[0] = SECINFO_AUGMENTED & 0xff;
  si[1] = SECINFO_AUGMENTED >>> 8;
  ctx.write(td, si);
  let n = 0;
  for (let la = from; la < to; la += 4096, n++) {
    const status = ctx.eaccept(td, la);
    if (status !== SGX.SUCCESS) return { status, accepted: n };
  }
  return { status: SGX.SUCCESS, accepted: n };
}

/** The TARGETINFO that addresses a REPORT to the enclave it describes (sgx_self_target: from the enclave's own REPORT). */
export function targetInfoOf(report: Uint8Array): Uint8Array {
  const r = REPORT.decode(report);
  return TARGETINFO.encode({ MEASUREMENT: r.MRENCLAVE, ATTRIBUTES: r.ATTRIBUTES, CET_ATTRIBUTES: r.CET_ATTRIBUTES, MISCSELECT: r.MISCSELECT, CONFIGSVN: r.CONFIGSVN, CONFIGID: r.CONFIGID });
}

/** EREPORT for `targetinfo` (512 bytes or null = zeros) with `reportdata` (64 bytes or null). */
export function createReport(ctx: EnclaveContext, targetinfo: Uint8Array | null, reportdata: Uint8Array | null): Uint8Array {
  const td = threadData(ctx);
  const ti = new Uint8Array(512);
  if (targetinfo) ti.set(targetinfo.subarray(0, 512));
  const rd = new Uint8Array(64);
  if (reportdata) rd.set(reportdata.subarray(0, 64));
  ctx.write(td, ti);
  ctx.write(td + 1024, rd);
  ctx.ereport(td, td + 1024, td + 512);
  return ctx.read(td + 512, 432);
}

const KR_KEYPOLICY = KEYREQUEST.field('KEYPOLICY').offset;
const KR_CONFIGSVN = KEYREQUEST.field('CONFIGSVN').offset;
const R_CPUSVN = REPORT.field('CPUSVN');
const R_FLAGS = REPORT.field('ATTRIBUTES').offset; // ATTRIBUTES.FLAGS is its first u64
const R_ISVSVN = REPORT.field('ISVSVN').offset;
const R_CONFIGSVN = REPORT.field('CONFIGSVN').offset;
const R_KEYID = REPORT.field('KEYID');
const R_MAC = REPORT.field('MAC');
const KSS = 0x80; // ATTRIBUTES.FLAGS bit 7

/**
 * The enclave's own REPORT (no target, no report data), as sgx_self_report gives it. Intel's SDK
 * makes it once, at its first use, and keeps it in the enclave for the enclave's life
 * (sdk/selib/sgx_create_report.cpp: a static report filled when its ATTRIBUTES are still zero);
 * runtimeImports keeps one per enclave instance the same way. Only its body is read (CPUSVN,
 * ISVSVN, CONFIGSVN, ATTRIBUTES), which does not change while the enclave lives.
 */
export type SelfReport = () => Uint8Array;

/** EGETKEY with a 512-byte KEYREQUEST: the key, or the sgx_status_t of the failure. */
export function getKey(ctx: EnclaveContext, keyrequest: Uint8Array, selfReport: SelfReport = () => createReport(ctx, null, null)): Uint8Array | number {
  // sgx_get_key's own checks first (reserved fields, policy bits): never let EGETKEY #GP.
  if (KEYREQUEST.firstNonZeroReserved(keyrequest) !== null) return STATUS.INVALID_PARAMETER;
  const policy = u16le(keyrequest, KR_KEYPOLICY);
  if (policy & KEYPOLICY.RESERVED_MASK) return STATUS.INVALID_PARAMETER;
  const self = selfReport();
  const kss = (self[R_FLAGS]! & KSS) !== 0;
  if (!kss && ((policy & KEYPOLICY.KSS_MASK) !== 0 || u16le(keyrequest, KR_CONFIGSVN) !== 0)) return STATUS.INVALID_PARAMETER;
  const td = threadData(ctx);
  ctx.write(td, keyrequest.subarray(0, 512));
  const st = ctx.egetkey(td, td + 512);
  if (st !== SGX.SUCCESS) return EGETKEY_STATUS[st] ?? STATUS.UNEXPECTED;
  return ctx.read(td + 512, 16);
}

/** sgx_verify_report: the REPORT must be addressed to this enclave and unmodified. */
export function verifyReport(ctx: EnclaveContext, crypto: CryptoProvider, report: Uint8Array, selfReport?: SelfReport): number {
  if (report.length !== REPORT.size) return STATUS.INVALID_PARAMETER;
  const req = KEYREQUEST.encode({ KEYNAME: KEYNAME.REPORT_KEY, KEYID: report.slice(R_KEYID.offset, R_KEYID.offset + R_KEYID.size) });
  const key = getKey(ctx, req, selfReport);
  if (typeof key === 'number') return key;
  return timingSafeEqual(crypto.aesCmac128(key, reportMacedBytes(report)), report.subarray(R_MAC.offset, R_MAC.offset + R_MAC.size)) ? STATUS.SUCCESS : STATUS.MAC_MISMATCH;
}

/** sealData's KEYREQUEST, lent per seal (LentBuffer: a fresh 512-byte array costs a malloc, 1–2 µs on a small VM). */
const SEAL_KEYREQUEST = new LentBuffer(KEYREQUEST.size);

/** Whether two views share bytes. */
function overlapping(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.length > 0 && b.length > 0 && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

/**
 * sgx_seal_data_ex: seal `text` (encrypted) and `aad` (authenticated, in the clear) with `policy`
 * into `out` (a new array when absent). INVALID_PARAMETER, before any key is derived, for an
 * empty text, an `out` that does not have sealedDataSize(aad, text) bytes or that overlaps the
 * text or the AAD, or a policy without MRENCLAVE/MRSIGNER or with other bits.
 */
export function sealData(ctx: EnclaveContext, crypto: CryptoProvider, policy: number, aad: Uint8Array, text: Uint8Array, out?: Uint8Array, views?: () => readonly [Uint8Array, Uint8Array, Uint8Array], selfReport: SelfReport = () => createReport(ctx, null, null)): Uint8Array | number {
  const size = sealedDataSize(aad.length, text.length);
  if (size === SEALED_SIZE_OVERFLOW || text.length === 0) return STATUS.INVALID_PARAMETER;
  if (out && out.length !== size) return STATUS.INVALID_PARAMETER;
  // The ciphertext goes straight into the blob while the text is read: they must not overlap.
  if (out && (overlapping(out, text) || overlapping(out, aad))) return STATUS.INVALID_PARAMETER;
  if ((policy & ~(KEYPOLICY.MRENCLAVE | KEYPOLICY.MRSIGNER | KEYPOLICY.NOISVPRODID | KEYPOLICY.KSS_MASK)) !== 0 || (policy & (KEYPOLICY.MRENCLAVE | KEYPOLICY.MRSIGNER)) === 0) return STATUS.INVALID_PARAMETER;
  // sgx_seal_data_ex zeroes the blob once the parameters pass: a seal that fails leaves zeros.
  out?.fill(0);
  const self = selfReport();
  return SEAL_KEYREQUEST.with((req) => {
    KEYREQUEST.encodeInto(req, 0, {
      KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: policy, ISVSVN: u16le(self, R_ISVSVN), CPUSVN: self.slice(R_CPUSVN.offset, R_CPUSVN.offset + R_CPUSVN.size),
      ATTRIBUTEMASK: { FLAGS: SEAL_FLAGS_MASK, XFRM: 0n }, KEYID: crypto.randomBytes(32), MISCMASK: SEAL_MISC_MASK, CONFIGSVN: u16le(self, R_CONFIGSVN),
    });
    const key = getKey(ctx, req, () => self);
    // sgx_seal_data_iv (sdk/tseal/tSeal_internal.cpp): a key that cannot be had is UNEXPECTED
    // (a policy the enclave may not use, e.g. KSS bits without KSS), whatever sgx_get_key said.
    if (typeof key === 'number') return key === STATUS.OUT_OF_MEMORY ? key : STATUS.UNEXPECTED;
    // `views`: the same bytes' views made again after EREPORT and EGETKEY, whose accesses can exit
    // (the host may run an ECALL then whose memory.grow replaces the module's buffer).
    if (views) [aad, text, out] = views();
    const blob = out ?? new Uint8Array(sealedDataSize(aad.length, text.length));
    const { tag } = crypto.aesGcm128Encrypt(key, new Uint8Array(12), text, aad, blob.subarray(SEALED_HEADER_SIZE, SEALED_HEADER_SIZE + text.length));
    blob.fill(0, 0, SEALED_HEADER_SIZE);
    SEALED_DATA_HEADER.encodeInto(blob, 0, { plain_text_offset: text.length, payload_size: aad.length + text.length, payload_tag: tag });
    blob.set(req, 0);
    blob.set(aad, SEALED_HEADER_SIZE + text.length);
    return blob;
  });
}

/**
 * sgx_unseal_data: the text and the additional authenticated data, or a status. `inPlace`: the
 * text is decrypted over the blob's own ciphertext (no copy of its size: the text is a view of the
 * blob, whose ciphertext is gone; zeroed when the tag does not verify).
 */
export function unsealData(ctx: EnclaveContext, crypto: CryptoProvider, blob: Uint8Array, selfReport?: SelfReport, inPlace = false): { text: Uint8Array; aad: Uint8Array } | number {
  if (blob.length < SEALED_HEADER_SIZE) return STATUS.INVALID_PARAMETER;
  const lengths = sealedLengths(blob);
  if (!lengths) return STATUS.MAC_MISMATCH;
  const txt = lengths.textLength;
  if (txt < 1) return STATUS.INVALID_PARAMETER;
  const key = getKey(ctx, blob.subarray(0, KEYREQUEST.size), selfReport);
  if (typeof key === 'number') return key === STATUS.INVALID_CPUSVN || key === STATUS.INVALID_ISVSVN ? key : STATUS.MAC_MISMATCH;
  const aad = blob.slice(SEALED_HEADER_SIZE + txt);
  const tag = SEALED_DATA_HEADER.field('payload_tag');
  const ciphertext = blob.subarray(SEALED_HEADER_SIZE, SEALED_HEADER_SIZE + txt);
  const text = crypto.aesGcm128Decrypt(key, new Uint8Array(12), ciphertext, aad, blob.subarray(tag.offset, tag.offset + tag.size), inPlace ? ciphertext : undefined);
  if (!text) return STATUS.MAC_MISMATCH;
  return { text, aad };
}

/**
 * [addr, addr+len) lies wholly outside ELRANGE [base, end), as sgx_is_outside_enclave decides it:
 * an empty range is outside when its address is (Intel's trts checks the start even for size 0).
 * The ECALL bridge's pointer checks and witness_is_outside_enclave both ask this.
 */
export function isOutsideEnclave(base: number, end: number, addr: number, len: number): boolean {
  if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(len) || addr < 0 || len < 0 || addr + len > Number.MAX_SAFE_INTEGER) return false;
  if (len === 0) return addr < base || addr >= end;
  return addr + len <= base || addr >= end;
}

/** The imports of module "witness", bound to an enclave's memory. */
export function runtimeImports(s: RuntimeServices): Record<string, WebAssembly.ImportValue> {
  const inMem = (p: number, n: number) => p >= 0 && n >= 0 && p + n <= s.memory.length;
  const outside = (ctx: EnclaveContext, a: number, n: number) => isOutsideEnclave(ctx.baseAddr, ctx.baseAddr + ctx.size, a, n);
  const u = (x: number) => x >>> 0;
  let self: Uint8Array | null = null; // sgx_self_report's, made at its first use (SelfReport)
  const selfReport: SelfReport = () => (self ??= createReport(s.ctx(), null, null));
  return {
    // NULL (Wasm address 0) where the Intel SDK's function needs a buffer is INVALID_PARAMETER, as there.
    read_rand: (p: number, n: number) => {
      if (p === 0 || n === 0 || !inMem(u(p), u(n))) return STATUS.INVALID_PARAMETER; // sgx_read_rand
      s.memory.set(s.crypto.randomBytes(u(n)), u(p));
      return STATUS.SUCCESS;
    },
    ereport: (ti: number, rd: number, out: number) => {
      if ((ti && !inMem(u(ti), 512)) || (rd && !inMem(u(rd), 64)) || out === 0 || !inMem(u(out), 432)) return STATUS.INVALID_PARAMETER; // sgx_create_report: NULL target info and report data are zeros
      const rep = createReport(s.ctx(), ti ? s.memory.slice(u(ti), u(ti) + 512) : null, rd ? s.memory.slice(u(rd), u(rd) + 64) : null);
      s.memory.set(rep, u(out));
      return STATUS.SUCCESS;
    },
    verify_report: (rp: number) => (rp !== 0 && inMem(u(rp), 432) ? verifyReport(s.ctx(), s.crypto, s.memory.slice(u(rp), u(rp) + 432), selfReport) : STATUS.INVALID_PARAMETER),
    get_key: (req: number, out: number) => {
      // As sgx_get_key (sdk/selib/sgx_get_key.cpp): on every failure, a key buffer it can write
      // (a bad request included) gets random bytes, never a stale key.
      const k = req === 0 || out === 0 || !inMem(u(req), 512) || !inMem(u(out), 16) ? STATUS.INVALID_PARAMETER : getKey(s.ctx(), s.memory.slice(u(req), u(req) + 512), selfReport);
      if (typeof k === 'number') {
        if (out !== 0 && inMem(u(out), 16)) s.memory.set(s.crypto.randomBytes(16), u(out));
        return k;
      }
      s.memory.set(k, u(out));
      return STATUS.SUCCESS;
    },
    sealed_size: (a: number, t: number) => sealedDataSize(u(a), u(t)) | 0, // SEALED_SIZE_OVERFLOW reads as -1 (UINT32_MAX)
    seal: (policy: number, aad: number, aadLen: number, txt: number, txtLen: number, out: number, outLen: number) => {
      // sgx_seal_data: MAC text of a length needs its pointer; the text and the blob are never NULL.
      if ((aadLen !== 0 && aad === 0) || txt === 0 || out === 0) return STATUS.INVALID_PARAMETER;
      if (!inMem(u(aad), u(aadLen)) || !inMem(u(txt), u(txtLen)) || !inMem(u(out), u(outLen))) return STATUS.INVALID_PARAMETER;
      // sealData checks the output's size and that it overlaps neither input.
      const views = (): [Uint8Array, Uint8Array, Uint8Array] => [s.memory.subarray(u(aad), u(aad) + u(aadLen)), s.memory.subarray(u(txt), u(txt) + u(txtLen)), s.memory.subarray(u(out), u(out) + u(outLen))];
      const r = sealData(s.ctx(), s.crypto, policy & 0xffff, ...views(), views, selfReport);
      return typeof r === 'number' ? r : STATUS.SUCCESS;
    },
    unseal: (blob: number, blobLen: number, aadOut: number, aadLenPtr: number, txtOut: number, txtLenPtr: number) => {
      // sgx_unseal_data (sdk/tseal/tSeal.cpp), in its order: the lengths the blob's header states
      // (inconsistent: MAC_MISMATCH, the blob is corrupt), then every buffer against them,
      // INVALID_PARAMETER before any key is derived; then both outputs zeroed up to those lengths
      // (sgx_unseal_data_helper), so a failure leaves no old contents behind.
      if (blob === 0 || !inMem(u(blob), u(blobLen)) || u(blobLen) < SEALED_HEADER_SIZE) return STATUS.INVALID_PARAMETER;
      const sealed = s.memory.slice(u(blob), u(blob) + u(blobLen));
      const lengths = sealedLengths(sealed);
      if (!lengths) return STATUS.MAC_MISMATCH;
      const { textLength, aadLength } = lengths;
      if (aadLength > 0 && (aadOut === 0 || aadLenPtr === 0)) return STATUS.INVALID_PARAMETER;
      if (textLength < 1 || txtOut === 0 || txtLenPtr === 0 || !inMem(u(txtLenPtr), 4)) return STATUS.INVALID_PARAMETER;
      let dv = new DataView(s.memory.buffer);
      const txtCap = dv.getUint32(u(txtLenPtr), true);
      if (txtCap < textLength || !inMem(u(txtOut), txtCap)) return STATUS.INVALID_PARAMETER;
      if (aadLenPtr !== 0 && !inMem(u(aadLenPtr), 4)) return STATUS.INVALID_PARAMETER;
      const aadCap = aadLenPtr !== 0 ? dv.getUint32(u(aadLenPtr), true) : 0;
      if (aadCap < aadLength || (aadLength > 0 && !inMem(u(aadOut), aadCap))) return STATUS.INVALID_PARAMETER;
      s.memory.fill(0, u(txtOut), u(txtOut) + textLength);
      if (aadLength > 0) s.memory.fill(0, u(aadOut), u(aadOut) + aadLength);
      const r = unsealData(s.ctx(), s.crypto, sealed, selfReport);
      if (typeof r === 'number') return r;
      // The views as they are after EGETKEY, whose accesses can exit (a nested memory.grow replaces the buffer).
      dv = new DataView(s.memory.buffer);
      s.memory.set(r.text, u(txtOut));
      if (r.aad.length) s.memory.set(r.aad, u(aadOut));
      dv.setUint32(u(txtLenPtr), r.text.length, true);
      if (aadLenPtr) dv.setUint32(u(aadLenPtr), r.aad.length, true);
      return STATUS.SUCCESS;
    },
    copy_from_outside: (dst: number, src: bigint, n: number) => {
      const ctx = s.ctx();
      const a = Number(BigInt.asUintN(64, src));
      if (!inMem(u(dst), u(n)) || !outside(ctx, a, u(n))) return STATUS.INVALID_PARAMETER;
      const bytes = ctx.read(a, u(n));
      s.memory.set(bytes, u(dst)); // the view as it is after the read (an exit during it may have replaced the buffer)
      return STATUS.SUCCESS;
    },
    copy_to_outside: (dst: bigint, src: number, n: number) => {
      const ctx = s.ctx();
      const a = Number(BigInt.asUintN(64, dst));
      if (!inMem(u(src), u(n)) || !outside(ctx, a, u(n))) return STATUS.INVALID_PARAMETER;
      ctx.write(a, s.memory.slice(u(src), u(src) + u(n)));
      return STATUS.SUCCESS;
    },
    is_outside_enclave: (addr: bigint, n: number) => (outside(s.ctx(), Number(BigInt.asUintN(64, addr)), u(n)) ? 1 : 0),
    sha256: (p: number, n: number, out: number) => {
      if (!inMem(u(p), u(n)) || !inMem(u(out), 32)) return STATUS.INVALID_PARAMETER;
      s.memory.set(s.crypto.sha256(s.memory.subarray(u(p), u(p) + u(n))), u(out));
      return STATUS.SUCCESS;
    },
    ecdh_keypair: (priv: number, pub: number) => {
      if (!inMem(u(priv), 32) || !inMem(u(pub), 64)) return STATUS.INVALID_PARAMETER;
      const k = s.crypto.ecdhP256Keypair();
      s.memory.set(k.privateKey, u(priv));
      s.memory.set(k.publicKey, u(pub));
      return STATUS.SUCCESS;
    },
    ecdh_shared: (priv: number, peer: number, out: number) => {
      if (!inMem(u(priv), 32) || !inMem(u(peer), 64) || !inMem(u(out), 32)) return STATUS.INVALID_PARAMETER;
      const z = s.crypto.ecdhP256Shared(s.memory.slice(u(priv), u(priv) + 32), s.memory.slice(u(peer), u(peer) + 64));
      if (!z) return STATUS.INVALID_PARAMETER;
      s.memory.set(z, u(out));
      return STATUS.SUCCESS;
    },
    // sgx_ecc256_calculate_pub_from_priv and sgx_ecdsa_sign (sgx_tcrypto.h), with big-endian
    // scalars, points x ‖ y and signatures r ‖ s, the forms DCAP quotes carry.
    // The private scalar is copied out of the module's memory for the provider, and that copy is
    // zeroed whatever happens.
    ecdsa_public: (priv: number, pub: number) => {
      if (priv === 0 || pub === 0 || !inMem(u(priv), 32) || !inMem(u(pub), 64)) return STATUS.INVALID_PARAMETER;
      const d = s.memory.slice(u(priv), u(priv) + 32);
      try {
        const q = s.crypto.ecdsaP256PublicKey(d);
        if (!q) return STATUS.INVALID_PARAMETER; // not a scalar in [1, n-1]
        s.memory.set(q, u(pub));
        return STATUS.SUCCESS;
      } finally {
        d.fill(0);
      }
    },
    ecdsa_sign: (p: number, n: number, priv: number, sig: number) => {
      if ((p === 0 && n !== 0) || priv === 0 || sig === 0 || !inMem(u(p), u(n)) || !inMem(u(priv), 32) || !inMem(u(sig), 64)) return STATUS.INVALID_PARAMETER;
      const d = s.memory.slice(u(priv), u(priv) + 32);
      try {
        s.memory.set(s.crypto.ecdsaP256Sign(d, s.memory.subarray(u(p), u(p) + u(n))), u(sig));
        return STATUS.SUCCESS;
      } catch (e) {
        if (e instanceof LibError && e.code === 'ECDSA_PARAMS') return STATUS.INVALID_PARAMETER; // not a scalar in [1, n-1]
        throw e;
      } finally {
        d.fill(0);
      }
    },
    abort: (p: number, n: number) => {
      const msg = inMem(u(p), u(n)) ? new TextDecoder().decode(s.memory.subarray(u(p), u(p) + u(n))) : '';
      throw new WebAssembly.RuntimeError(`unreachable: the enclave aborted${msg ? `: ${msg}` : ''}`);
    },
  };
}
