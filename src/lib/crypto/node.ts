/**
 * The default crypto provider, on node:crypto (OpenSSL). AES-CMAC is not in node:crypto; it is
 * built here from AES-128-CBC with a zero IV as RFC 4493 describes, and tested against the RFC's
 * vectors (test/lib/crypto.test.ts).
 */
import * as nc from 'node:crypto';
import { types } from 'node:util';
import { LibError } from '../errors.js';
import { typedLength, LentBuffer } from '../bytes.js';
import { registerBuiltInProvider, type CryptoProvider, type Sha256Stream, type AesGcmSealed, type RsaKeyPair } from './provider.js';
import { openSha256Pipeline } from './pipeline.js';

class NodeSha256 implements Sha256Stream {
  readonly #h: nc.Hash;
  constructor(h: nc.Hash = nc.createHash('sha256')) {
    this.#h = h;
  }
  update(data: Uint8Array): void {
    this.#h.update(data);
  }
  digest(): Uint8Array {
    return new Uint8Array(this.#h.digest());
  }
  copy(): Sha256Stream {
    return new NodeSha256(this.#h.copy());
  }
}
// Its methods cannot be replaced through an instance someone else holds (the measurement's streams are these).
Object.freeze(NodeSha256.prototype);

const GCM_PIECE = 64 * 1024;

/** A big-endian number as exactly `n` bytes (a fresh copy). */
function leftPad(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b.subarray(Math.max(0, b.length - n)), Math.max(0, n - b.length));
  return out;
}
const ZERO16 = new Uint8Array(16);

/** GF(2^128) doubling used for the CMAC subkeys (RFC 4493 §2.3). */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    const v = b[i]!;
    out[i] = ((v << 1) | carry) & 0xff;
    carry = v >>> 7;
  }
  if (carry) out[15]! ^= 0x87;
  return out;
}

function check(cond: boolean, code: string, msg: string): void {
  if (!cond) throw new LibError(code, msg);
}

const isUint8Array = types.isUint8Array;

function bytesOf(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * node:crypto's CSPRNG drawn a block at a time: a draw costs a few µs whatever its size (a job, a
 * buffer, OpenSSL's locks), and a seal asks for 32 bytes (its KEYID). Small requests are served from
 * the block, each byte handed out once and zeroed in the block as it goes; larger ones are drawn
 * directly. (node:crypto's randomUUID buffers its randomness the same way.)
 */
class RandomPool {
  static readonly BLOCK = 4096;
  static readonly SMALL = 256;
  readonly #block = new Uint8Array(RandomPool.BLOCK);
  #at = RandomPool.BLOCK;
  take(n: number): Uint8Array {
    if (!(Number.isInteger(n) && n >= 0 && n <= RandomPool.SMALL)) return bytesOf(nc.randomBytes(n));
    if (this.#at + n > RandomPool.BLOCK) {
      nc.randomFillSync(this.#block);
      this.#at = 0;
    }
    const at = this.#at;
    this.#at = at + n;
    const out = this.#block.slice(at, at + n);
    this.#block.fill(0, at, at + n);
    return out;
  }
}

/** A root key's CBC cipher, kept for its next MACs (see CmacCiphers). */
interface CmacKey {
  /** The key's bytes (the provider's own copy: the cipher was made from these). */
  readonly key: Uint8Array;
  readonly cbc: nc.Cipher;
  readonly k1: Uint8Array;
  readonly k2: Uint8Array;
  /** The cipher's chaining value: the last block it put out (L = AES-K(0) between MACs). */
  readonly chain: Uint8Array;
}

/**
 * AES-128-CMAC (RFC 4493 §2.3-2.4) on node:crypto's CBC cipher. A fresh cipher's first block from a
 * zero IV is L = AES-K(0), whence the subkeys K1 and K2; the chain then carries L, and a MAC starts
 * by XORing its first block with the chain: the CBC-MAC from a zero IV.
 *
 * A key the caller marks long-lived (a platform root, which key derivation MACs under for every
 * derived key) keeps its cipher for its next MACs (CACHED such keys; a new one takes a free slot,
 * else the slots in turn): creating a cipher costs a few µs, and every call into node:crypto
 * allocates its output. After each MAC the tag is fed through once more, so that the kept cipher's
 * chain is L again and holds nothing of the MAC (under a root, the MAC is a derived key). Other
 * keys (derived ones) get a cipher for the one MAC, as before. The padded message is assembled in one scratch buffer (up to SCRATCH bytes; longer
 * ones in a buffer of their own), zeroed after each MAC: the messages carry secrets (the fused
 * root among a derivation's dependencies). Whether a root's cipher is kept changes the time a MAC
 * takes: the model claims no resistance to timing side channels in its own process.
 */
class CmacCiphers {
  static readonly CACHED = 4;
  static readonly SCRATCH = 1024;
  readonly #keys: (CmacKey | null)[] = new Array<CmacKey | null>(CmacCiphers.CACHED).fill(null);
  #victim = 0;
  readonly #scratch = new LentBuffer(CmacCiphers.SCRATCH);

  /** `key`: 16 bytes; `message`: `len` bytes; both real Uint8Arrays (the provider checked). */
  mac(key: Uint8Array, message: Uint8Array, len: number, keep: boolean): Uint8Array {
    const n = len === 0 ? 1 : Math.ceil(len / 16);
    // The padded message in the lent scratch (zero when lent: the message's zero padding), or in a
    // buffer of its own for a long one; zeroed after the MAC either way.
    if (n * 16 > CmacCiphers.SCRATCH) return this.#padded(key, message, len, keep, new Uint8Array(n * 16));
    return this.#scratch.with((b) => this.#padded(key, message, len, keep, b.subarray(0, n * 16)));
  }

  /** mac with the padded message assembled in `m` (zero, n × 16 bytes). */
  #padded(key: Uint8Array, message: Uint8Array, len: number, keep: boolean, m: Uint8Array): Uint8Array {
    const n = m.length / 16;
    const complete = len !== 0 && len % 16 === 0;
    try {
      try {
        m.set(message);
      } catch (e) {
        // A detached buffer (its length reads 0, but its bytes are gone): before any cipher is touched.
        throw new LibError('CMAC_MESSAGE', 'AES-128-CMAC: the message\'s buffer is detached', {}, { cause: e });
      }
      const k = keep ? this.#kept(key) : fresh(key);
      if (!complete) m[len] = 0x80;
      const last = (n - 1) * 16;
      const sub = complete ? k.k1 : k.k2;
      for (let i = 0; i < 16; i++) m[last + i]! ^= sub[i]!;
      for (let i = 0; i < 16; i++) m[i]! ^= k.chain[i]!;
      let tag: Uint8Array;
      try {
        const out = k.cbc.update(m);
        if (out.length !== m.length) throw new LibError('CMAC_CIPHER', `node:crypto's CBC cipher put out ${out.length} bytes for ${m.length}`);
        tag = new Uint8Array(out.subarray(out.length - 16));
        out.fill(0); // the CBC-MAC's blocks, the tag among them
        if (keep) {
          // The tag through once more: E(tag XOR chain = tag) = E(0) = L, the chain a fresh cipher has.
          const again = k.cbc.update(tag);
          if (again.length !== 16) throw new LibError('CMAC_CIPHER', `node:crypto's CBC cipher put out ${again.length} bytes for 16`);
          for (let i = 0; i < 16; i++) k.chain[i] = again[i]!;
        } else k.key.fill(0); // a derived key's copy, used for this MAC only
      } catch (e) {
        if (keep) this.#drop(k);
        throw e;
      }
      return tag;
    } finally {
      m.fill(0);
    }
  }

  /** The kept cipher of root `key` (compared byte for byte), or a new one: in a free slot, else in turn (round-robin by insertion; a hit moves nothing). */
  #kept(key: Uint8Array): CmacKey {
    for (const k of this.#keys) {
      if (k === null) continue;
      let diff = 0;
      for (let i = 0; i < 16; i++) diff |= k.key[i]! ^ key[i]!; // every byte, whatever differs first
      if (diff === 0) return k;
    }
    const e = fresh(key);
    let slot = this.#keys.indexOf(null);
    if (slot < 0) {
      slot = this.#victim;
      this.#victim = (this.#victim + 1) % CmacCiphers.CACHED;
    }
    this.#keys[slot] = e;
    return e;
  }

  #drop(k: CmacKey): void {
    const i = this.#keys.indexOf(k);
    if (i >= 0) this.#keys[i] = null;
  }
}

/** A new CBC cipher for `key`, made from a copy of its 16 bytes (read once, whatever the caller does with its array later). */
function fresh(key: Uint8Array): CmacKey {
  const own = new Uint8Array(16);
  for (let i = 0; i < 16; i++) own[i] = key[i]!;
  const cbc = nc.createCipheriv('aes-128-cbc', own, ZERO16);
  cbc.setAutoPadding(false);
  const L = new Uint8Array(cbc.update(ZERO16));
  const k1 = dbl(L);
  return { key: own, cbc, k1, k2: dbl(k1), chain: L };
}

/** A provider on node:crypto; frozen (the processor keeps it as it is, see fixedProvider). */
export function createNodeCrypto(): CryptoProvider {
  const random = new RandomPool();
  const cmac = new CmacCiphers();
  const p = Object.freeze<CryptoProvider>({
    sha256(data) {
      return bytesOf(nc.createHash('sha256').update(data).digest());
    },
    createSha256() {
      return new NodeSha256();
    },
    openSha256Pipeline() {
      return openSha256Pipeline();
    },
    aesCmac128(key, message, keep = false) {
      // Real Uint8Arrays (of any realm), their lengths read through the intrinsic getter: a proxy,
      // a swapped prototype or an own `length` on the arguments changes neither the check nor the
      // bytes copied (by index, and by TypedArray#set).
      check(isUint8Array(key) && typedLength(key) === 16, 'CMAC_KEY', 'AES-128-CMAC needs a 16-byte key (a Uint8Array)');
      check(isUint8Array(message), 'CMAC_MESSAGE', 'AES-128-CMAC MACs a Uint8Array');
      return cmac.mac(key, message, typedLength(message), keep === true);
    },
    aesGcm128Encrypt(key, iv, plaintext, aad, out): AesGcmSealed {
      check(key.length === 16 && iv.length === 12, 'GCM_PARAMS', 'AES-128-GCM needs a 16-byte key and a 12-byte IV');
      check(out === undefined || out.length >= plaintext.length, 'GCM_PARAMS', 'AES-128-GCM output buffer shorter than the plaintext');
      // As aesGcm128Decrypt: shifted, a piece would overwrite plaintext not yet read.
      check(out === undefined || out.buffer !== plaintext.buffer || out.byteOffset === plaintext.byteOffset || out.byteOffset >= plaintext.byteOffset + plaintext.length || plaintext.byteOffset >= out.byteOffset + plaintext.length, 'GCM_PARAMS', 'AES-128-GCM output overlaps the plaintext at another offset');
      const c = nc.createCipheriv('aes-128-gcm', key, iv);
      if (aad.length) c.setAAD(aad);
      if (out) {
        // In 64 KiB pieces: each piece's output is small, so no large buffer is allocated per call.
        for (let o = 0; o < plaintext.length; o += GCM_PIECE) out.set(c.update(plaintext.subarray(o, Math.min(o + GCM_PIECE, plaintext.length))), o);
        c.final();
        return { ciphertext: out.subarray(0, plaintext.length), tag: bytesOf(c.getAuthTag()) };
      }
      const body = c.update(plaintext);
      const tail = c.final(); // empty for GCM: no second copy
      const ct = tail.length ? Buffer.concat([body, tail]) : body;
      return { ciphertext: bytesOf(ct), tag: bytesOf(c.getAuthTag()) };
    },
    aesGcm128Decrypt(key, iv, ciphertext, aad, tag, out) {
      check(key.length === 16 && iv.length === 12 && tag.length === 16, 'GCM_PARAMS', 'AES-128-GCM needs a 16-byte key, 12-byte IV, 16-byte tag');
      check(out === undefined || out.length >= ciphertext.length, 'GCM_PARAMS', 'AES-128-GCM output buffer shorter than the ciphertext');
      // In place (the same bytes) each piece is decrypted before it is written; shifted, a piece would overwrite ciphertext not yet read.
      check(out === undefined || out.buffer !== ciphertext.buffer || out.byteOffset === ciphertext.byteOffset || out.byteOffset >= ciphertext.byteOffset + ciphertext.length || ciphertext.byteOffset >= out.byteOffset + ciphertext.length, 'GCM_PARAMS', 'AES-128-GCM output overlaps the ciphertext at another offset');
      const d = nc.createDecipheriv('aes-128-gcm', key, iv);
      if (aad.length) d.setAAD(aad);
      d.setAuthTag(tag);
      if (out) {
        // In 64 KiB pieces, as aesGcm128Encrypt's: no large buffer is allocated per call. Each
        // piece node:crypto hands back is zeroed once copied: the plaintext is left in `out` only.
        for (let o = 0; o < ciphertext.length; o += GCM_PIECE) {
          const piece = d.update(ciphertext.subarray(o, Math.min(o + GCM_PIECE, ciphertext.length)));
          out.set(piece, o);
          piece.fill(0);
        }
        try {
          d.final();
        } catch {
          out.fill(0, 0, ciphertext.length);
          return null;
        }
        return out.subarray(0, ciphertext.length);
      }
      const pt = d.update(ciphertext);
      try {
        d.final();
      } catch {
        pt.fill(0); // no unauthenticated plaintext left behind
        return null;
      }
      return bytesOf(pt);
    },
    aesCtr128(key, counterBlock, data) {
      check(key.length === 16 && counterBlock.length === 16, 'CTR_PARAMS', 'AES-128-CTR needs a 16-byte key and counter block');
      const c = nc.createCipheriv('aes-128-ctr', key, counterBlock);
      return bytesOf(c.update(data));
    },
    hkdfSha256(ikm, salt, info, length) {
      return new Uint8Array(nc.hkdfSync('sha256', ikm, salt, info, length));
    },
    randomBytes(n) {
      return random.take(n);
    },
    rsaSignSha256(privateKeyPem, message) {
      let key: nc.KeyObject;
      try {
        key = nc.createPrivateKey(privateKeyPem);
      } catch (e) {
        throw new LibError('RSA_KEY_INVALID', 'not a readable RSA private key in PEM form (a public key cannot sign)', {}, { cause: e });
      }
      if (key.asymmetricKeyType !== 'rsa') throw new LibError('RSA_KEY_INVALID', `not an RSA private key: ${String(key.asymmetricKeyType)}`);
      return bytesOf(nc.sign('sha256', message, { key, padding: nc.constants.RSA_PKCS1_PADDING }));
    },
    rsaPublicNumbers(pem) {
      let key: nc.KeyObject;
      try {
        // createPublicKey reads a public key PEM, or derives the public half of a private one.
        key = nc.createPublicKey(pem);
      } catch (e) {
        throw new LibError('RSA_KEY_INVALID', 'not a readable RSA key in PEM form', {}, { cause: e });
      }
      if (key.asymmetricKeyType !== 'rsa') throw new LibError('RSA_KEY_INVALID', `not an RSA key: ${String(key.asymmetricKeyType)}`);
      const jwk = key.export({ format: 'jwk' });
      const n = Buffer.from(jwk.n!, 'base64url');
      const e = Buffer.from(jwk.e!, 'base64url');
      return { modulus: bytesOf(n), exponent: BigInt('0x' + (e.toString('hex') || '0')) };
    },
    rsaGenerate(bits, e): RsaKeyPair {
      const { privateKey, publicKey } = nc.generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: e });
      return {
        privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      };
    },
    ecdhP256Keypair() {
      const e = nc.createECDH('prime256v1');
      const pub = e.generateKeys();
      // getPrivateKey() drops leading zero bytes (about 1 key in 256): always 32 bytes, big-endian.
      return { privateKey: leftPad(bytesOf(e.getPrivateKey()), 32), publicKey: bytesOf(pub).slice(1) };
    },
    ecdhP256Shared(privateKey, peerPublicKey) {
      check(privateKey.length === 32 && peerPublicKey.length === 64, 'ECDH_PARAMS', 'ECDH P-256 needs a 32-byte private key and a 64-byte public point');
      const e = nc.createECDH('prime256v1');
      try {
        e.setPrivateKey(privateKey);
        const point = new Uint8Array(65);
        point[0] = 4;
        point.set(peerPublicKey, 1);
        return leftPad(bytesOf(e.computeSecret(point)), 32);
      } catch {
        return null;
      }
    },
    ecdsaP256PublicKey(privateKey) {
      check(privateKey instanceof Uint8Array && privateKey.length === 32, 'ECDSA_PARAMS', 'an ECDSA P-256 private key is a 32-byte scalar');
      return p256Public(privateKey);
    },
    ecdsaP256Sign(privateKey, message) {
      check(privateKey instanceof Uint8Array && privateKey.length === 32, 'ECDSA_PARAMS', 'an ECDSA P-256 private key is a 32-byte scalar');
      check(p256Public(privateKey) !== null, 'ECDSA_PARAMS', 'the ECDSA P-256 private scalar is not in [1, n-1]');
      // PKCS#8 DER built in a buffer that is zeroed at once (a JWK would put the scalar in a string,
      // which cannot be wiped). OpenSSL's own copies are beyond reach, as for every key here.
      const der = Buffer.alloc(P256_PKCS8_PREFIX.length + 32);
      der.set(P256_PKCS8_PREFIX);
      der.set(privateKey, P256_PKCS8_PREFIX.length);
      let key: nc.KeyObject;
      try {
        key = nc.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } finally {
        der.fill(0);
      }
      return bytesOf(nc.sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
    },
    ecdsaP256Verify(publicKey, message, signature) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 64 || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
      let key: nc.KeyObject;
      try {
        key = nc.createPublicKey({ key: p256Jwk(publicKey), format: 'jwk' });
      } catch {
        return false; // not a point on the curve
      }
      return nc.verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
    },
    rsaPublicKeyPem(modulus, exponent) {
      const eHex = exponent.toString(16);
      const eBytes = Buffer.from(eHex.length % 2 ? '0' + eHex : eHex, 'hex');
      const key = nc.createPublicKey({ key: { kty: 'RSA', n: Buffer.from(modulus).toString('base64url'), e: eBytes.toString('base64url') }, format: 'jwk' });
      return key.export({ type: 'spki', format: 'pem' }).toString();
    },
  });
  registerBuiltInProvider(p);
  return p;
}

/** d·G for a 32-byte big-endian scalar, or null when d is 0 or ≥ n (OpenSSL refuses it). */
function p256Public(d: Uint8Array): Uint8Array | null {
  const e = nc.createECDH('prime256v1');
  try {
    e.setPrivateKey(d);
  } catch {
    return null;
  }
  return bytesOf(e.getPublicKey()).slice(1);
}

/**
 * PKCS#8 PrivateKeyInfo of a P-256 key up to its 32-byte scalar (RFC 5208, RFC 5915 ECPrivateKey
 * version 1 without the optional parameters and public key): id-ecPublicKey, prime256v1, OCTET STRING.
 */
const P256_PKCS8_PREFIX = Buffer.from('308141020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420', 'hex');

/** The JWK of a P-256 public point x ‖ y. */
function p256Jwk(pub: Uint8Array): nc.JsonWebKey {
  return { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(0, 32)).toString('base64url'), y: Buffer.from(pub.subarray(32, 64)).toString('base64url') };
}
