/**
 * SIGSTRUCT signatures (SDM 37.14, EINIT pseudocode; specs/sgx.md §3): RSA-3072, e = 3,
 * RSASSA-PKCS1-v1_5 with SHA-256 over `sigstructSignedBytes`, integers stored little-endian,
 * Q1 = ⌊s²/n⌋ and Q2 = ⌊(s³ − Q1·s·n)/n⌋ so that hardware can check s³ mod n without division.
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { leBytesToBigInt, beBytesToBigInt, bigIntToBeBytes, bigIntToLeBytes, concatBytes, bytesEqual, u32le, u64le, isZero } from '../lib/bytes.js';
import { PKCS1_5_PADDING, SIGSTRUCT_HEADER, SIGSTRUCT_HEADER2, SIGSTRUCT_VENDORS } from './constants.js';
import { sigstructSignedBytes } from './structures/sigstruct.js';

/** The big-endian EMSA-PKCS1-v1_5 encoding of a SHA-256 digest for a 384-byte modulus (RFC 8017 §9.2). */
export function pkcs1v15Sha256Em(digest: Uint8Array): Uint8Array {
  return concatBytes(PKCS1_5_PADDING, digest);
}

/** Q1 and Q2 for signature `s` and modulus `n` (specs/sgx.md §3.1 step 7). */
export function computeQ1Q2(s: bigint, n: bigint): { q1: bigint; q2: bigint } {
  const s2 = s * s;
  const q1 = s2 / n;
  const q2 = (s * (s2 % n)) / n;
  return { q1, q2 };
}

/** MRSIGNER: SHA-256 of the 384 modulus bytes exactly as stored (little-endian). */
export function mrsignerOf(sigstruct: Uint8Array, crypto: CryptoProvider): Uint8Array {
  return crypto.sha256(sigstruct.subarray(128, 512));
}

/** MRSIGNER of a key from its modulus (big-endian, as `rsaPublicNumbers` gives it): the SHA-256 of the SIGSTRUCT MODULUS field it would fill. */
export function mrsignerOfModulus(modulusBe: Uint8Array, crypto: CryptoProvider): Uint8Array {
  return crypto.sha256(rsaIntToSigstructBytes(beBytesToBigInt(modulusBe)));
}

export interface SignatureCheck {
  readonly valid: boolean;
  /** Why it is invalid (for people). */
  readonly reason: string | null;
  /** SHA-256 of the modulus. */
  readonly mrsigner: Uint8Array;
  /** SHA-256 of the signed bytes. */
  readonly digest: Uint8Array;
  /** The top 352 bytes of the recovered encoded message (SECS.PADDING); null when invalid. */
  readonly padding: Uint8Array | null;
}

/**
 * Verify a SIGSTRUCT's RSA signature as EINIT does (ED-2: compute s³ mod n directly, and treat a
 * Q1/Q2 inconsistent with s and n as an invalid signature, since hardware would reach a wrong r2).
 * Only the signature is checked here: header, vendor and exponent checks belong to EINIT.
 */
export function verifySigstructSignature(sigstruct: Uint8Array, crypto: CryptoProvider): SignatureCheck {
  const mrsigner = mrsignerOf(sigstruct, crypto);
  const digest = crypto.sha256(sigstructSignedBytes(sigstruct));
  const n = leBytesToBigInt(sigstruct.subarray(128, 512));
  const s = leBytesToBigInt(sigstruct.subarray(516, 900));
  const q1 = leBytesToBigInt(sigstruct.subarray(1040, 1424));
  const q2 = leBytesToBigInt(sigstruct.subarray(1424, 1808));
  const bad = (reason: string): SignatureCheck => ({ valid: false, reason, mrsigner, digest, padding: null });
  if (n === 0n || (n & 1n) === 0n) return bad('the modulus is zero or even');
  if (s >= n) return bad('the signature is not smaller than the modulus');
  // The hardware check: r1 = s² − q1·n and r2 = s·r1 − q2·n must both lie in [0, n).
  const r1 = s * s - q1 * n;
  if (r1 < 0n || r1 >= n) return bad('Q1 does not match the signature and modulus');
  const r2 = s * r1 - q2 * n;
  if (r2 < 0n || r2 >= n) return bad('Q2 does not match the signature and modulus');
  let em: Uint8Array;
  try {
    em = bigIntToBeBytes(r2, 384);
  } catch {
    return bad('the recovered message is longer than the modulus');
  }
  if (!bytesEqual(em, pkcs1v15Sha256Em(digest))) return bad('s^3 mod n is not the PKCS#1 v1.5 encoding of SHA-256(signed bytes)');
  return { valid: true, reason: null, mrsigner, digest, padding: em.slice(0, 352) };
}

/** Little-endian 384-byte encoding of an RSA integer, as SIGSTRUCT stores it. */
export function rsaIntToSigstructBytes(x: bigint): Uint8Array {
  return bigIntToLeBytes(x, 384);
}

/**
 * The SIGSTRUCT format checks EINIT makes before the signature (EINIT step 2, specs/sgx.md §6.4):
 * HEADER (bytes 12..15 may carry the TYPE dword 0x80000000 unless `strictHeader`), VENDOR 0 or
 * 0x8086, HEADER2, EXPONENT 3, reserved bytes zero, reserved ATTRIBUTES.FLAGS bits zero.
 * Returns the problems found (empty = the format is acceptable).
 */
export function describeSigstructFormat(sig: Uint8Array, strictHeader = false): string[] {
  const problems: string[] = [];
  if (sig.length !== 1808) return [`length ${sig.length}, expected 1808`];
  const type = u32le(sig, 12);
  if (!bytesEqual(sig.subarray(0, 12), SIGSTRUCT_HEADER.subarray(0, 12))) problems.push('HEADER is not 06000000E100000000000100');
  if (!(type === 0 || (!strictHeader && type === 0x80000000))) problems.push(`HEADER TYPE dword 0x${type.toString(16)} is neither 0 nor 0x80000000`);
  if (!SIGSTRUCT_VENDORS.includes(u32le(sig, 16))) problems.push(`VENDOR 0x${u32le(sig, 16).toString(16)} is neither 0 nor 0x8086`);
  if (!bytesEqual(sig.subarray(24, 40), SIGSTRUCT_HEADER2)) problems.push('HEADER2 is not 01010000600000006000000001000000');
  if (u32le(sig, 512) !== 3) problems.push(`EXPONENT ${u32le(sig, 512)} is not 3`);
  for (const [a, b] of [[44, 128], [910, 912], [992, 1008], [1028, 1040]] as const) if (!isZero(sig, a, b)) problems.push(`reserved bytes ${a}..${b - 1} are not zero`);
  if ((u64le(sig, 928) & ~SIGSTRUCT_FLAGS_DEFINED) !== 0n) problems.push(`ATTRIBUTES.FLAGS 0x${u64le(sig, 928).toString(16)} has reserved bits set`);
  return problems;
}

/** ATTRIBUTES.FLAGS bits the SDM defines (INIT, DEBUG, MODE64BIT, PROVISIONKEY, EINITTOKEN_KEY, CET, KSS, AEXNOTIFY). */
export const SIGSTRUCT_FLAGS_DEFINED = 0x4f7n;
