/**
 * The crypto provider interface. Every layer reaches cryptography through it, so that a test can
 * make a run deterministic and a browser build can swap the implementation (style rule 9).
 * `createNodeCrypto()` (node.ts), built on node:crypto, is the default provider under Node;
 * `createPortableCrypto()` (portable.ts), on @noble's primitives and BigInt RSA, is a browser's
 * (default.ts and default.browser.ts choose).
 */

import type { Sha256Pipeline } from './pipeline.js';
export type { Sha256Pipeline } from './pipeline.js';

/**
 * The size of a hashing pipeline's piece: a multiple of 64 (SHA-256's block) and of the 320-byte
 * group of EEXTEND records, so that measurement fills whole pieces.
 */
export const PIECE_SIZE = 320 * 1024;

/** An incremental SHA-256 whose state can be copied (MRENCLAVE lives in the SECS between leaves). */
export interface Sha256Stream {
  update(data: Uint8Array): void;
  /** Finalize; the stream cannot be used afterwards. */
  digest(): Uint8Array;
  /** An independent copy of the current state. */
  copy(): Sha256Stream;
}

export interface AesGcmSealed {
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

export interface RsaKeyPair {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** SPKI PEM. */
  readonly publicKeyPem: string;
}

export interface CryptoProvider {
  sha256(data: Uint8Array): Uint8Array;
  createSha256(): Sha256Stream;
  /**
   * AES-128-CMAC (RFC 4493): a 16-byte MAC of its own (never a view of the message). The message
   * is lent for the call only (the caller may zero it afterwards). `keep`: the key is long-lived (a
   * platform root the caller holds anyway), so the provider may keep a cipher for it, possibly for
   * the process's life; never for a derived key. @throws {LibError} CMAC_KEY (not a 16-byte
   * Uint8Array), CMAC_MESSAGE (not a Uint8Array).
   */
  aesCmac128(key: Uint8Array, message: Uint8Array, keep?: boolean): Uint8Array;
  /**
   * AES-128-GCM with a 12-byte IV and a 16-byte tag. With `out` (at least as long as the
   * plaintext: the plaintext itself, encrypting in place, or bytes that do not overlap it), the
   * ciphertext is written there and returned as a view of it (sealing writes straight into the
   * sealed blob). @throws {LibError} GCM_PARAMS for an `out` that is too short or overlaps the
   * plaintext at another offset.
   */
  aesGcm128Encrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out?: Uint8Array): AesGcmSealed;
  /**
   * Returns null when the tag does not verify. With `out` (at least as long as the ciphertext: the
   * ciphertext itself, decrypting in place, or bytes that do not overlap it), the plaintext is
   * written there and returned as a view of it; when the tag does not verify, the bytes written
   * there are zeroed. @throws {LibError} GCM_PARAMS for an `out` that is too short or overlaps the
   * ciphertext at another offset.
   */
  aesGcm128Decrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array, tag: Uint8Array, out?: Uint8Array): Uint8Array | null;
  /** AES-128-CTR keystream XOR (16-byte initial counter block, big-endian increment). */
  aesCtr128(key: Uint8Array, counterBlock: Uint8Array, data: Uint8Array): Uint8Array;
  /** HKDF-SHA256 (RFC 5869). */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  randomBytes(n: number): Uint8Array;
  /** RSASSA-PKCS1-v1_5 with SHA-256 over `message`; returns the big-endian signature. @throws {LibError} RSA_KEY_INVALID when the PEM is not an RSA private key. */
  rsaSignSha256(privateKeyPem: string, message: Uint8Array): Uint8Array;
  /** The modulus (big-endian bytes) and public exponent of a PEM key (private or public). */
  rsaPublicNumbers(pem: string): { modulus: Uint8Array; exponent: bigint };
  /** A fresh RSA key pair of `bits` with public exponent `e`. */
  rsaGenerate(bits: number, e: number): RsaKeyPair;
  /** A public-key PEM (SPKI) from a big-endian modulus and exponent. */
  rsaPublicKeyPem(modulus: Uint8Array, exponent: bigint): string;
  /** A fresh ECDH P-256 key pair: 32-byte private scalar, 64-byte public point x ‖ y (big-endian coordinates). */
  ecdhP256Keypair(): { privateKey: Uint8Array; publicKey: Uint8Array };
  /** The ECDH P-256 shared secret (the x coordinate, 32 bytes); null when the peer's point is invalid. */
  ecdhP256Shared(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | null;
  /**
   * The P-256 public point (x ‖ y, big-endian, 64 bytes) of a 32-byte big-endian private scalar, or
   * null when the scalar is not in [1, n−1] (as sgx_ecc256_calculate_pub_from_priv refuses it).
   * @throws {LibError} ECDSA_PARAMS when the scalar is not 32 bytes.
   */
  ecdsaP256PublicKey(privateKey: Uint8Array): Uint8Array | null;
  /**
   * ECDSA P-256 with SHA-256 over `message`: r ‖ s, 32 big-endian bytes each (the IEEE P1363 form
   * DCAP quotes carry). @throws {LibError} ECDSA_PARAMS (not a 32-byte scalar in [1, n−1]).
   */
  ecdsaP256Sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** Verify an r ‖ s signature; false for a point not on the curve or a malformed signature. */
  ecdsaP256Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Optional: a SHA-256 stream hashed on another thread (for long streams such as a large
   * enclave's measurement), or null when none is available now; the caller then hashes itself.
   */
  openSha256Pipeline?(): Sha256Pipeline | null;
}

/** Every method a provider has (openSha256Pipeline is optional). */
const PROVIDER_METHODS = [
  'sha256', 'createSha256', 'aesCmac128', 'aesGcm128Encrypt', 'aesGcm128Decrypt', 'aesCtr128', 'hkdfSha256', 'randomBytes',
  'rsaSignSha256', 'rsaPublicNumbers', 'rsaGenerate', 'rsaPublicKeyPem', 'ecdhP256Keypair', 'ecdhP256Shared', 'ecdsaP256PublicKey', 'ecdsaP256Sign', 'ecdsaP256Verify', 'openSha256Pipeline',
] as const satisfies readonly (keyof CryptoProvider)[];
/** Compile-time check that the list is the whole interface: a method added to CryptoProvider but not here fails to build. */
const PROVIDER_METHODS_COMPLETE: Exclude<keyof CryptoProvider, (typeof PROVIDER_METHODS)[number]> extends never ? true : never = true;
void PROVIDER_METHODS_COMPLETE;

/** Providers made by createNodeCrypto or createPortableCrypto (frozen, methods of their own with nothing outside to change). */
const BUILT_IN = new WeakSet<object>();

/** @internal (node.ts, portable.ts) */
export function registerBuiltInProvider(p: CryptoProvider): void {
  BUILT_IN.add(p);
}

/**
 * `p`'s methods as they are now, in a frozen object of their own: `p` itself when createNodeCrypto or createPortableCrypto
 * made it, otherwise each method (own or inherited) bound to `p`. The processor and the trusted
 * runtime keep their provider this way, so that whoever else holds the object (or its prototype)
 * cannot swap a method afterwards. What the methods reach through `this` or their closures stays
 * the provider author's: a provider is part of the CPU.
 */
export function fixedProvider(p: CryptoProvider): CryptoProvider {
  if (BUILT_IN.has(p)) return p;
  const out: Record<string, unknown> = {};
  for (const k of PROVIDER_METHODS) {
    const f: unknown = p[k];
    if (typeof f === 'function') out[k] = (f as (...a: unknown[]) => unknown).bind(p);
  }
  return Object.freeze(out) as unknown as CryptoProvider;
}
