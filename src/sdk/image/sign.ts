/**
 * The enclave signer: SIGSTRUCT construction as `sgx_sign` and `sgxs-sign` do it (specs/sgx.md §3.1).
 * Signing is deterministic (RSASSA-PKCS1-v1_5), so the same inputs and key give the same bytes.
 * Two-step signing for offline/HSM keys: `sigstructSigningData` gives the 256 signed bytes;
 * `assembleSigstruct` inserts an externally made signature and the public modulus.
 */
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import { writeU16le, writeU32le, writeU64le, beBytesToBigInt, reversed, bigIntToBeBytes } from '../../lib/bytes.js';
import { SIGSTRUCT_HEADER, SIGSTRUCT_HEADER2, sigstructSignedBytes, computeQ1Q2, rsaIntToSigstructBytes, verifySigstructSignature } from '../../arch/index.js';
import { SdkError } from '../errors.js';

/** The fields a signer chooses (everything but the key material). */
export interface SigstructFields {
  /** The expected MRENCLAVE (32 bytes). */
  readonly enclaveHash: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  /** ATTRIBUTES.FLAGS and XFRM the enclave must have (under the masks). */
  readonly attributesFlags: bigint;
  readonly attributesXfrm: bigint;
  readonly attributeMaskFlags: bigint;
  readonly attributeMaskXfrm: bigint;
  readonly miscSelect: number;
  readonly miscMask: number;
  /** BCD yyyymmdd, e.g. 0x20260101. */
  readonly date: number;
  /** 0 or 0x8086. Default 0. */
  readonly vendor?: number;
  /** HEADER TYPE dword: 0, or 0x80000000 as Intel's production enclaves. Default 0. */
  readonly type?: number;
  readonly swDefined?: number;
}

/** Today as the BCD DATE field (e.g. 2026-11-26 → 0x20261126). */
export function bcdDate(d: Date = new Date()): number {
  const s = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return parseInt(s, 16);
}

/** A SIGSTRUCT with every field but MODULUS, SIGNATURE, Q1, Q2 (EXPONENT = 3). */
export function unsignedSigstruct(f: SigstructFields): Uint8Array {
  if (f.enclaveHash.length !== 32) throw new SdkError('SIGN_FIELDS', 'the enclave hash must be 32 bytes');
  const b = new Uint8Array(1808);
  b.set(SIGSTRUCT_HEADER, 0);
  writeU32le(b, 12, f.type ?? 0);
  writeU32le(b, 16, f.vendor ?? 0);
  writeU32le(b, 20, f.date);
  b.set(SIGSTRUCT_HEADER2, 24);
  writeU32le(b, 40, f.swDefined ?? 0);
  writeU32le(b, 512, 3);
  writeU32le(b, 900, f.miscSelect >>> 0);
  writeU32le(b, 904, f.miscMask >>> 0);
  writeU64le(b, 928, f.attributesFlags);
  writeU64le(b, 936, f.attributesXfrm);
  writeU64le(b, 944, f.attributeMaskFlags);
  writeU64le(b, 952, f.attributeMaskXfrm);
  b.set(f.enclaveHash, 960);
  writeU16le(b, 1024, f.isvProdId);
  writeU16le(b, 1026, f.isvSvn);
  return b;
}

/** The 256 bytes an offline signer signs (`sgx_sign gendata`): SIGSTRUCT[0,128) ‖ SIGSTRUCT[900,1028). */
export function sigstructSigningData(f: SigstructFields): Uint8Array {
  return sigstructSignedBytes(unsignedSigstruct(f));
}

/**
 * Insert a signature made elsewhere (`sgx_sign catsig`): `modulus` and `signature` are big-endian
 * (as every RSA library writes them); the exponent must be 3. Verifies the result.
 * @throws {SdkError} `SIGN_BAD_KEY` for a key that is not RSA-3072/e=3, `SIGN_BAD_SIGNATURE` when the signature does not verify.
 */
export function assembleSigstruct(f: SigstructFields, modulus: Uint8Array, exponent: bigint, signature: Uint8Array, crypto: CryptoProvider): Uint8Array {
  const m = stripLeadingZeros(modulus);
  if (m.length !== 384 || exponent !== 3n) throw new SdkError('SIGN_BAD_KEY', `the signing key must be RSA-3072 with exponent 3 (got ${m.length * 8} bits, e = ${exponent})`);
  const sig = stripLeadingZeros(signature);
  if (sig.length > 384) throw new SdkError('SIGN_BAD_SIGNATURE', 'the signature is longer than the modulus');
  const b = unsignedSigstruct(f);
  b.set(reversed(m), 128);
  const sBe = bigIntToBeBytes(beBytesToBigInt(sig), 384);
  b.set(reversed(sBe), 516);
  const { q1, q2 } = computeQ1Q2(beBytesToBigInt(sBe), beBytesToBigInt(m));
  b.set(rsaIntToSigstructBytes(q1), 1040);
  b.set(rsaIntToSigstructBytes(q2), 1424);
  const v = verifySigstructSignature(b, crypto);
  if (!v.valid) throw new SdkError('SIGN_BAD_SIGNATURE', `the signature does not verify: ${v.reason}`);
  return b;
}

/** Sign with a private key in PEM form (RSA-3072, e = 3). */
export function signSigstruct(f: SigstructFields, privateKeyPem: string, crypto: CryptoProvider): Uint8Array {
  const { modulus, exponent } = crypto.rsaPublicNumbers(privateKeyPem);
  const m = stripLeadingZeros(modulus);
  if (m.length !== 384 || exponent !== 3n) throw new SdkError('SIGN_BAD_KEY', `the signing key must be RSA-3072 with exponent 3 (got ${m.length * 8} bits, e = ${exponent})`);
  const signature = crypto.rsaSignSha256(privateKeyPem, sigstructSigningData(f));
  return assembleSigstruct(f, m, exponent, signature, crypto);
}

/** A new signing key: RSA-3072, e = 3 (PKCS#8 PEM). */
export function generateSigningKey(crypto: CryptoProvider): { privateKeyPem: string; publicKeyPem: string } {
  return crypto.rsaGenerate(3072, 3);
}

function stripLeadingZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}
