/**
 * The enclave signer: SIGSTRUCT construction as `sgx_sign` and `sgxs-sign` do it (specs/sgx.md §3.1).
 * Signing is deterministic (RSASSA-PKCS1-v1_5), so the same inputs and key give the same bytes.
 * Two-step signing for offline/HSM keys: `sigstructSigningData` gives the 256 signed bytes;
 * `assembleSigstruct` inserts an externally made signature and the public modulus.
 */
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import { writeU32le, beBytesToBigInt, reversed, bigIntToBeBytes, toHex } from '../../lib/bytes.js';
import { LayoutError } from '../../lib/errors.js';
import { SIGSTRUCT, SIGSTRUCT_HEADER, SIGSTRUCT_HEADER2, sigstructSignedBytes, computeQ1Q2, rsaIntToSigstructBytes, verifySigstructSignature, measureSgxs, SgxsError } from '../../arch/index.js';
import { SdkError } from '../errors.js';
import { attributesFlagsOf, type EnclaveConfig } from './config.js';
import type { EnclaveImage } from './format.js';

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

/**
 * The MRENCLAVE to sign: measured from the image's SGXS pages, never read from the manifest, as
 * sgx_sign measures the enclave it signs (measure_enclave, sign_tool.cpp).
 * @throws {SdkError} `IMAGE_INVALID` for an SGXS stream that cannot be measured, `MANIFEST_MISMATCH`
 * when the manifest's MRENCLAVE is not the measured one.
 */
export function measureImage(img: EnclaveImage, crypto: CryptoProvider): Uint8Array {
  let mrenclave: Uint8Array;
  try {
    mrenclave = measureSgxs(img.sgxs, crypto).mrenclave;
  } catch (e) {
    if (!(e instanceof SgxsError)) throw e;
    throw new SdkError('IMAGE_INVALID', `not a Witness enclave image: its SGXS section cannot be measured: ${e.message}`, {}, { cause: e });
  }
  const measured = toHex(mrenclave);
  if (measured !== img.manifest.mrenclave) {
    throw new SdkError('MANIFEST_MISMATCH', `the image manifest disagrees with its measured contents: MRENCLAVE ${img.manifest.mrenclave} in the manifest, ${measured} measured from the pages`, { manifest: img.manifest.mrenclave, measured });
  }
  return mrenclave;
}

/**
 * The SIGSTRUCT fields for an enclave built with `config` (ISVPRODID, ISVSVN, ATTRIBUTES and
 * MISCSELECT from it), with every attribute and MISCSELECT bit enforced: the SIGSTRUCT admits
 * exactly the configuration it was made for. `over` changes any field (e.g. looser masks).
 */
export function sigstructFieldsFor(config: EnclaveConfig, mrenclave: Uint8Array, over: Partial<SigstructFields> = {}): SigstructFields {
  return {
    enclaveHash: mrenclave, isvProdId: config.isvProdId, isvSvn: config.isvSvn,
    attributesFlags: attributesFlagsOf(config), attributesXfrm: config.xfrm,
    attributeMaskFlags: 0xffffffffffffffffn, attributeMaskXfrm: 0xffffffffffffffffn,
    miscSelect: config.miscSelect, miscMask: 0xffffffff, date: bcdDate(), ...over,
  };
}

/**
 * A SIGSTRUCT with every field but MODULUS, SIGNATURE, Q1, Q2 (EXPONENT = 3), through the
 * SIGSTRUCT field table (which refuses values that do not fit their fields).
 * @throws {SdkError} `SIGN_FIELDS` naming the field (a LayoutError as the cause for a value out of its field's range).
 */
export function unsignedSigstruct(f: SigstructFields): Uint8Array {
  if (!(f.enclaveHash instanceof Uint8Array) || f.enclaveHash.length !== 32) throw new SdkError('SIGN_FIELDS', 'the enclave hash must be 32 bytes', { field: 'enclaveHash' });
  const type = f.type ?? 0;
  if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) throw new SdkError('SIGN_FIELDS', `the HEADER TYPE dword must be a u32, got ${String(type)}`, { field: 'type' });
  const header = SIGSTRUCT_HEADER.slice();
  writeU32le(header, 12, type);
  try {
    return SIGSTRUCT.encode({
      HEADER: header, VENDOR: f.vendor ?? 0, DATE: f.date, HEADER2: SIGSTRUCT_HEADER2, SWDEFINED: f.swDefined ?? 0,
      EXPONENT: 3, MISCSELECT: f.miscSelect, MISCMASK: f.miscMask,
      ATTRIBUTES: { FLAGS: f.attributesFlags, XFRM: f.attributesXfrm }, ATTRIBUTEMASK: { FLAGS: f.attributeMaskFlags, XFRM: f.attributeMaskXfrm },
      ENCLAVEHASH: f.enclaveHash, ISVPRODID: f.isvProdId, ISVSVN: f.isvSvn,
    });
  } catch (e) {
    if (!(e instanceof LayoutError)) throw e;
    const field = typeof e.data.field === 'string' ? e.data.field : null;
    throw new SdkError('SIGN_FIELDS', `a SIGSTRUCT field is out of range: ${e.message}`, { field }, { cause: e });
  }
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
  const s = beBytesToBigInt(sig), n = beBytesToBigInt(m);
  // RSA signatures are residues mod n (RFC 8017 §5.2.2); Q1/Q2 would not fit their fields otherwise.
  if (s >= n) throw new SdkError('SIGN_BAD_SIGNATURE', 'the signature is not less than the modulus');
  const b = unsignedSigstruct(f);
  const { q1, q2 } = computeQ1Q2(s, n);
  SIGSTRUCT.encodeInto(b, 0, {
    MODULUS: reversed(m), SIGNATURE: reversed(bigIntToBeBytes(s, 384)), Q1: rsaIntToSigstructBytes(q1), Q2: rsaIntToSigstructBytes(q2),
  });
  const v = verifySigstructSignature(b, crypto);
  if (!v.valid) throw new SdkError('SIGN_BAD_SIGNATURE', `the signature does not verify: ${v.reason}`);
  return b;
}

/** Sign with a private key in PEM form (RSA-3072, e = 3). */
export function signSigstruct(f: SigstructFields, privateKeyPem: string, crypto: CryptoProvider): Uint8Array {
  const { modulus, exponent } = crypto.rsaPublicNumbers(privateKeyPem);
  const signature = crypto.rsaSignSha256(privateKeyPem, sigstructSigningData(f));
  return assembleSigstruct(f, modulus, exponent, signature, crypto); // checks the key (SIGN_BAD_KEY) and the signature
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
