/**
 * SIGSTRUCT signing for tests (specs/sgx.md §3.1): RSA-3072, e = 3, PKCS#1 v1.5 over
 * SIGSTRUCT[0,128) ‖ SIGSTRUCT[900,1028), integers stored little-endian, Q1/Q2 from the signature.
 */
import { defaultCrypto, toHex, type CryptoProvider } from '../../src/lib/index.js';
import {
  SIGSTRUCT, SIGSTRUCT_HEADER, SIGSTRUCT_HEADER2, sigstructSignedBytes, computeQ1Q2, rsaIntToSigstructBytes,
} from '../../src/arch/index.js';

export interface SigningKey {
  readonly pem: string;
  /** The modulus as SIGSTRUCT stores it (little-endian, 384 bytes). */
  readonly modulusLe: Uint8Array;
  readonly n: bigint;
  /** SHA-256 of `modulusLe`. */
  readonly mrsigner: Uint8Array;
}

export function signingKeyFromPem(pem: string, crypto: CryptoProvider = defaultCrypto()): SigningKey {
  const { modulus, exponent } = crypto.rsaPublicNumbers(pem);
  if (exponent !== 3n || modulus.length !== 384) throw new Error('test signing keys are RSA-3072 with e = 3');
  const modulusLe = Uint8Array.from(modulus).reverse();
  return { pem, modulusLe, n: BigInt('0x' + toHex(modulus)), mrsigner: crypto.sha256(modulusLe) };
}

const keys: SigningKey[] = [];
/** Fresh RSA-3072/e=3 key number `i` of this test process (generated once, about a second each). */
export function testKey(i = 0): SigningKey {
  while (keys.length <= i) keys.push(signingKeyFromPem(defaultCrypto().rsaGenerate(3072, 3).privateKeyPem));
  return keys[i]!;
}

export interface SigFields {
  enclaveHash: Uint8Array;
  flags?: bigint;
  xfrm?: bigint;
  flagsMask?: bigint;
  xfrmMask?: bigint;
  miscSelect?: number;
  miscMask?: number;
  isvProdId?: number;
  isvSvn?: number;
  vendor?: number;
  date?: number;
  swDefined?: number;
  isvFamilyId?: Uint8Array;
  isvExtProdId?: Uint8Array;
  /** HEADER bytes 12..15 (the TYPE dword). */
  headerType?: number;
}

/** The unsigned SIGSTRUCT fields (MODULUS, SIGNATURE, Q1, Q2 still zero). */
export function sigstructBody(f: SigFields): Uint8Array {
  const header = SIGSTRUCT_HEADER.slice();
  new DataView(header.buffer).setUint32(12, f.headerType ?? 0, true);
  return SIGSTRUCT.encode({
    HEADER: header,
    VENDOR: f.vendor ?? 0,
    DATE: f.date ?? 0x20240101,
    HEADER2: SIGSTRUCT_HEADER2,
    SWDEFINED: f.swDefined ?? 0,
    EXPONENT: 3,
    MISCSELECT: f.miscSelect ?? 0,
    MISCMASK: f.miscMask ?? 0xffffffff,
    ISVFAMILYID: f.isvFamilyId ?? new Uint8Array(16),
    ATTRIBUTES: { FLAGS: f.flags ?? 0x4n, XFRM: f.xfrm ?? 0x3n },
    ATTRIBUTEMASK: { FLAGS: f.flagsMask ?? 0xfffffffffffffffdn, XFRM: f.xfrmMask ?? 0xffffffffffffffffn },
    ENCLAVEHASH: f.enclaveHash,
    ISVEXTPRODID: f.isvExtProdId ?? new Uint8Array(16),
    ISVPRODID: f.isvProdId ?? 0,
    ISVSVN: f.isvSvn ?? 0,
  });
}

/**
 * (Re-)sign `sig` in place with `key`: MODULUS, SIGNATURE, Q1 and Q2 are written; every other byte
 * is taken as it is (so a test can sign a deliberately malformed SIGSTRUCT).
 */
export function signInPlace(sig: Uint8Array, key: SigningKey, crypto: CryptoProvider = defaultCrypto()): Uint8Array {
  sig.set(key.modulusLe, 128);
  const s = crypto.rsaSignSha256(key.pem, sigstructSignedBytes(sig));
  sig.set(Uint8Array.from(s).reverse(), 516);
  const { q1, q2 } = computeQ1Q2(BigInt('0x' + toHex(s)), key.n);
  sig.set(rsaIntToSigstructBytes(q1), 1040);
  sig.set(rsaIntToSigstructBytes(q2), 1424);
  return sig;
}

export function signSigstruct(key: SigningKey, f: SigFields, crypto: CryptoProvider = defaultCrypto()): Uint8Array {
  return signInPlace(sigstructBody(f), key, crypto);
}
