/**
 * What the manufacturer computes from its records: the PPID and the PCK public key of the Witness
 * PCE on a platform, from the platform's provisioning root. Intel certifies its PCE's key this way
 * (it holds every part's provisioning secret and never takes the platform's word for the key); the
 * simulated PCS's certificate service (registration.ts) does the same through these functions.
 *
 * They must match the PCE's code, ae/pce/pce.c, which documents them:
 *   - PROVISION_KEY requested as Intel's PCE requests it (psw/ae/pce/pce_helper.cpp):
 *     ATTRIBUTEMASK.FLAGS = ~MODE64BIT, XFRM mask 0, MISCMASK all ones;
 *   - PPID = SHA-256("WITNESS PPID" ‖ PROVISION_KEY(ISVSVN 0, CPUSVN 0))[0, 16);
 *   - PCK = the first SHA-256("WITNESS PCK" ‖ counter u32 LE ‖ PROVISION_KEY(CPUSVN, PCESVN)) in [1, n−1].
 * Intel's PCE derives both from the same key with AES-CMAC-based functions; the model's differ in
 * that last step only (its modules have SHA-256, not AES-CMAC), so no real PPID or PCK can be
 * compared with the model's anyway: the provisioning roots are the manufacturer's secret.
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { writeU64le } from '../lib/bytes.js';
import { deriveKey, provisionKeyDependencies, PKCS1_5_PADDING } from '../arch/index.js';
import { AttestError } from './errors.js';

/** The PCE's KEYREQUEST.ATTRIBUTEMASK.FLAGS for PROVISION_KEY: ~MODE64BIT, as Intel's PCE asks (ae/pce/pce.c). */
export const PCE_KEY_FLAGS_MASK = 0xffff_ffff_ffff_fffbn;

/** The PCE as the manufacturer knows it: what PROVISION_KEY depends on besides the TCB. */
export interface PceIdentity {
  readonly mrsigner: Uint8Array;
  readonly isvProdId: number;
  /** SECS.ATTRIBUTES.FLAGS of the running PCE (INIT included). */
  readonly attributesFlags: bigint;
  readonly miscSelect: number;
}

const enc = new TextEncoder();

function check(cond: boolean, code: string, message: string): void {
  if (!cond) throw new AttestError(code, message);
}

/** PROVISION_KEY of the PCE at (cpusvn, isvsvn) on the platform whose provisioning root is `root`. */
export function pceProvisionKey(crypto: CryptoProvider, root: Uint8Array, pce: PceIdentity, cpusvn: Uint8Array, isvSvn: number): Uint8Array {
  check(root.length === 16, 'PROVISIONING_ROOT', 'a provisioning root is 16 bytes');
  check(cpusvn.length === 16, 'CPUSVN_LENGTH', 'CPUSVN is 16 bytes');
  check(pce.mrsigner.length === 32, 'MRSIGNER_LENGTH', 'MRSIGNER is 32 bytes');
  check(Number.isInteger(isvSvn) && isvSvn >= 0 && isvSvn <= 0xffff, 'PCESVN_RANGE', 'PCESVN is a 16-bit value');
  const attributes = new Uint8Array(16), mask = new Uint8Array(16);
  writeU64le(attributes, 0, (PCE_KEY_FLAGS_MASK | 3n) & pce.attributesFlags);
  writeU64le(mask, 0, PCE_KEY_FLAGS_MASK);
  const d = provisionKeyDependencies({
    isvProdId: pce.isvProdId, isvSvn, cpuSvn: cpusvn, attributes, attributesMask: mask, miscSelect: pce.miscSelect >>> 0, miscMask: 0, mrsigner: pce.mrsigner, padding: PKCS1_5_PADDING,
  });
  return deriveKey(crypto, { provisioningRoot: root, sealFuses: new Uint8Array(16) }, d);
}

function labelled(crypto: CryptoProvider, label: string, counter: number | null, key: Uint8Array): Uint8Array {
  const l = enc.encode(label);
  const b = new Uint8Array(l.length + (counter === null ? 0 : 4) + key.length);
  b.set(l);
  if (counter !== null) new DataView(b.buffer).setUint32(l.length, counter, true);
  b.set(key, b.length - key.length);
  return crypto.sha256(b);
}

/** The platform's PPID for this PCE signer (the same at every TCB). */
export function ppidFor(crypto: CryptoProvider, root: Uint8Array, pce: PceIdentity): Uint8Array {
  const k = pceProvisionKey(crypto, root, pce, new Uint8Array(16), 0);
  return labelled(crypto, 'WITNESS PPID', null, k).slice(0, 16);
}

/** The PCK public key (x ‖ y) of TCB (cpusvn, pcesvn). */
export function pckPublicKeyFor(crypto: CryptoProvider, root: Uint8Array, pce: PceIdentity, cpusvn: Uint8Array, pceSvn: number): Uint8Array {
  const k = pceProvisionKey(crypto, root, pce, cpusvn, pceSvn);
  for (let ctr = 0; ; ctr++) {
    const d = labelled(crypto, 'WITNESS PCK', ctr, k);
    const q = crypto.ecdsaP256PublicKey(d);
    d.fill(0);
    if (q) return q;
  }
}
