/**
 * Key derivation for EGETKEY, EREPORT and EINIT (SDM 38.? "Key Derivation"; specs/sgx.md §11).
 *
 * The SDM gives the dependency table (which field values go into each key) exactly; the PRF and
 * its encoding are not public. Witness uses ED-11: AES-128-CMAC keyed by the platform's fused root
 * (the provisioning root for PROVISION_KEY, the seal fuses otherwise) over a fixed little-endian
 * serialization of the dependencies. Keys are therefore internally consistent and platform-unique,
 * not equal to any real CPU's keys (which nobody can reproduce).
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { LentBuffer, writeU16le, writeU32le } from '../lib/bytes.js';
import { KEYNAME } from './constants.js';
import { ArchError } from './errors.js';

/** The values a key depends on (SDM Table "Key Derivation"). All byte fields are exact lengths. */
export interface KeyDependencies {
  keyName: number;
  keyPolicy: number;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  miscSelect: number;
  miscMask: number;
  attributes: Uint8Array; // 16
  attributesMask: Uint8Array; // 16
  ownerEpoch: Uint8Array; // 16
  cpuSvn: Uint8Array; // 16
  sealKeyFuses: Uint8Array; // 16
  isvFamilyId: Uint8Array; // 16
  isvExtProdId: Uint8Array; // 16
  mrenclave: Uint8Array; // 32
  mrsigner: Uint8Array; // 32
  keyId: Uint8Array; // 32
  configId: Uint8Array; // 64
  padding: Uint8Array; // 352
}

export const KEY_DEPENDENCIES_SIZE = 644;

/** The ED-11 serialization (644 bytes). */
export function serializeKeyDependencies(d: KeyDependencies): Uint8Array {
  return serializeInto(new Uint8Array(KEY_DEPENDENCIES_SIZE), d);
}

/** serializeKeyDependencies into `b` (KEY_DEPENDENCIES_SIZE bytes, every one written). */
function serializeInto(b: Uint8Array, d: KeyDependencies): Uint8Array {
  writeU16le(b, 0, d.keyName);
  writeU16le(b, 2, d.keyPolicy);
  writeU16le(b, 4, d.isvProdId);
  writeU16le(b, 6, d.isvSvn);
  writeU16le(b, 8, d.configSvn);
  b[10] = 0; // 10..12: padding
  b[11] = 0;
  writeU32le(b, 12, d.miscSelect);
  writeU32le(b, 16, d.miscMask);
  let o = put(b, 20, d.attributes, 16);
  o = put(b, o, d.attributesMask, 16);
  o = put(b, o, d.ownerEpoch, 16);
  o = put(b, o, d.cpuSvn, 16);
  o = put(b, o, d.sealKeyFuses, 16);
  o = put(b, o, d.isvFamilyId, 16);
  o = put(b, o, d.isvExtProdId, 16);
  o = put(b, o, d.mrenclave, 32);
  o = put(b, o, d.mrsigner, 32);
  o = put(b, o, d.keyId, 32);
  o = put(b, o, d.configId, 64);
  put(b, o, d.padding, 352);
  return b;
}

/** Dependency `v` (exactly `n` bytes) at offset `o` of `b`; the offset after it. */
function put(b: Uint8Array, o: number, v: Uint8Array, n: number): number {
  if (v.length !== n) throw new ArchError('KEY_DEPENDENCY_SIZE', `key dependency of ${v.length} bytes where ${n} are required`);
  b.set(v, o);
  return o + n;
}

/** The platform's fused roots (ED: chosen per platform, see secrets.ts). */
export interface FuseRoots {
  readonly sealFuses: Uint8Array;
  readonly provisioningRoot: Uint8Array;
}

/**
 * The serialization's buffer, reused by derivations (each one allocated ~1 KB of buffers per
 * derived key before) and zeroed after each: it holds the fused root among the dependencies. The
 * provider's CMAC gets it only for the call. A derivation made while one is under way (a provider
 * that derives a key itself) serializes into a buffer of its own, zeroed the same way (LentBuffer).
 */
const SERIALIZATION = new LentBuffer(KEY_DEPENDENCIES_SIZE);

/** derivekey(): 16 bytes. */
export function deriveKey(crypto: CryptoProvider, roots: FuseRoots, d: KeyDependencies): Uint8Array {
  const root = d.keyName === KEYNAME.PROVISION_KEY ? roots.provisioningRoot : roots.sealFuses;
  // The root is long-lived (the platform's fuses): the provider may keep a cipher for it.
  return SERIALIZATION.with((b) => crypto.aesCmac128(root, serializeInto(b, d), true));
}

/** What PROVISION_KEY depends on besides the provisioning root (SDM Table "Key Derivation"). */
export interface ProvisionKeyInputs {
  readonly isvProdId: number;
  /** KEYREQUEST.ISVSVN (at most the enclave's). */
  readonly isvSvn: number;
  /** KEYREQUEST.CPUSVN (at most the platform's). */
  readonly cpuSvn: Uint8Array;
  /** SECS.ATTRIBUTES masked by KEYREQUEST.ATTRIBUTEMASK (with INIT and DEBUG always kept), 16 bytes. */
  readonly attributes: Uint8Array;
  /** KEYREQUEST.ATTRIBUTEMASK, 16 bytes. */
  readonly attributesMask: Uint8Array;
  /** SECS.MISCSELECT & KEYREQUEST.MISCMASK. */
  readonly miscSelect: number;
  /** ~KEYREQUEST.MISCMASK. */
  readonly miscMask: number;
  readonly mrsigner: Uint8Array;
  /** The SIGSTRUCT's padding as EINIT saw it (HARDCODED_PKCS1_5_PADDING for every valid signature). */
  readonly padding: Uint8Array;
}

/**
 * PROVISION_KEY's dependencies: no OWNEREPOCH, no seal fuses, no KEYID, no MRENCLAVE. EGETKEY
 * derives the key from these, and so does whoever holds the provisioning root (the manufacturer,
 * who certifies the PCE's key from its records, never from the platform's word).
 */
export function provisionKeyDependencies(p: ProvisionKeyInputs): KeyDependencies {
  return {
    keyName: KEYNAME.PROVISION_KEY, keyPolicy: 0, isvProdId: p.isvProdId, isvSvn: p.isvSvn, configSvn: 0, miscSelect: p.miscSelect, miscMask: p.miscMask,
    attributes: p.attributes, attributesMask: p.attributesMask, ownerEpoch: ZERO16, cpuSvn: p.cpuSvn, sealKeyFuses: ZERO16, isvFamilyId: ZERO16,
    isvExtProdId: ZERO16, mrenclave: ZERO32, mrsigner: p.mrsigner, keyId: ZERO32, configId: ZERO64, padding: p.padding,
  };
}

export const ZERO16 = new Uint8Array(16);
export const ZERO32 = new Uint8Array(32);
export const ZERO64 = new Uint8Array(64);
export const ZERO352 = new Uint8Array(352);

/**
 * CPUSVN comparison (ED-10): `requested` is acceptable iff every byte is ≤ the current one.
 * CPUSVN is not an integer; component-wise order is the only safe reading.
 */
export function cpusvnAtMost(requested: Uint8Array, current: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (requested[i]! > current[i]!) return false;
  return true;
}
