/**
 * The portable crypto provider (src/lib/crypto/portable.ts, no node: imports): known answers for
 * every primitive, and the node:crypto provider's answers for the same inputs, good and bad.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { createNodeCrypto, fromHex, toHex, LibError, derSequence, derInteger, derOid, derNull, derBitString, derExplicit, derSet, derUtf8String, derUtcTime, derOctetString, type CryptoProvider } from '../../src/lib/index.js';
import { createPortableCrypto } from '../../src/lib/crypto/portable.js';
import { fixedProvider } from '../../src/lib/crypto/provider.js';
import { cmacReference } from '../helpers/cmac.js';
import { NO_VECTORS, VEC, vector, vectorText } from '../helpers/vectors.js';
import { heldBytes, holdsAnyWindow } from '../helpers/held.js';

const P = createPortableCrypto();
const N = createNodeCrypto();
const rnd = (n: number): Uint8Array => new Uint8Array(nc.randomBytes(n));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A result as comparable data: bytes as hex, bigints as text. */
function show(v: unknown): unknown {
  if (v instanceof Uint8Array) return `bytes:${toHex(v)}`;
  if (typeof v === 'bigint') return `bigint:${v}`;
  if (Array.isArray(v)) return v.map(show);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
  return v;
}

/** What a call does with a provider: its value, or the class and code of what it throws, and a LibError's message (the CLI prints it). */
function outcome(call: (c: CryptoProvider) => unknown, c: CryptoProvider): unknown {
  try {
    return { value: show(call(c)) };
  } catch (e) {
    if (e instanceof LibError) return { threw: 'LibError', code: e.code, message: e.message };
    return { threw: (e as Error).constructor.name, code: (e as { code?: unknown }).code };
  }
}

/** Both providers answer `call` alike (the same bytes, or the same error class and code). */
function same(call: (c: CryptoProvider) => unknown, what: string): unknown {
  const o = outcome(call, P);
  assert.deepEqual(o, outcome(call, N), what);
  return o;
}

const threwLib = (code: string) => (e: unknown): boolean => e instanceof LibError && e.code === code;

// ---- Known answers --------------------------------------------------------------------------------


describe('portable provider: known answers', () => {
  const K = fromHex('2b7e151628aed2a6abf7158809cf4f3c');

  test('AES-128-CMAC: RFC 4493 §4 examples 1-4, and the RFC\'s algorithm for every length 0..100', () => {
    const M = fromHex('6bc1bee22e409f96e93d7e117393172a' + 'ae2d8a571e03ac9c9eb76fac45af8e51' + '30c81c46a35ce411e5fbc1191a0a52ef' + 'f69f2445df4f9b17ad2b417be66c3710');
    const cases: [number, string][] = [[0, 'bb1d6929e95937287fa37d129b756746'], [16, '070a16b46b4d4144f79bdd9dd04a287c'], [40, 'dfa66747de9ae63030ca32611497c827'], [64, '51f0bebf7e3b9d92fc49741779363cfe']];
    for (const [len, mac] of cases) {
      assert.equal(toHex(P.aesCmac128(K, M.subarray(0, len))), mac, `length ${len}`);
      assert.equal(toHex(P.aesCmac128(K, M.subarray(0, len), true)), mac, `length ${len}, kept key`);
    }
    for (let len = 0; len <= 100; len++) {
      const key = rnd(16), msg = rnd(len);
      assert.equal(toHex(P.aesCmac128(key, msg)), cmacReference(key, msg), `length ${len}`);
    }
  });

  test('SHA-256: FIPS 180-4 examples ("abc", the 448-bit message, empty), and one million "a" at once and streamed in pieces', () => {
    assert.equal(toHex(P.sha256(enc('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(toHex(P.sha256(enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    assert.equal(toHex(P.sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const h = P.createSha256();
    const a = new Uint8Array(1_000_000).fill(0x61);
    for (let o = 0, step = 1; o < a.length; o += step, step = (step * 7 + 3) % 9000) h.update(a.subarray(o, Math.min(a.length, o + step)));
    assert.equal(toHex(h.digest()), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
    assert.equal(toHex(P.sha256(a)), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  test('SHA-256 of the SGXS measurement stream is its MRENCLAVE (shared vectors)', { skip: NO_VECTORS }, () => {
    assert.equal(toHex(P.sha256(vector('test_enclave.sgxs'))), VEC.testEnclaveMrenclave);
  });

  test('AES-128-GCM: McGrew & Viega test cases 1-4, decryption, and a wrong tag, AAD or ciphertext bit', () => {
    const K4 = fromHex('feffe9928665731c6d6a8f9467308308'), IV4 = fromHex('cafebabefacedbaddecaf888');
    const P3 = fromHex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255');
    const C3 = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985';
    const A4 = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const z16 = new Uint8Array(16), z12 = new Uint8Array(12), none = new Uint8Array(0);
    let r = P.aesGcm128Encrypt(z16, z12, none, none);
    assert.deepEqual([toHex(r.ciphertext), toHex(r.tag)], ['', '58e2fccefa7e3061367f1d57a4e7455a']);
    r = P.aesGcm128Encrypt(z16, z12, new Uint8Array(16), none);
    assert.deepEqual([toHex(r.ciphertext), toHex(r.tag)], ['0388dace60b6a392f328c2b971b2fe78', 'ab6e47d42cec13bdf53a67b21257bddf']);
    r = P.aesGcm128Encrypt(K4, IV4, P3, none);
    assert.deepEqual([toHex(r.ciphertext), toHex(r.tag)], [C3, '4d5c2af327cd64a62cf35abd2ba6fab4']);
    r = P.aesGcm128Encrypt(K4, IV4, P3.subarray(0, 60), A4);
    assert.deepEqual([toHex(r.ciphertext), toHex(r.tag)], [C3.slice(0, 120), '5bc94fbc3221a5db94fae95ae7121a47']);
    assert.equal(toHex(P.aesGcm128Decrypt(K4, IV4, r.ciphertext, A4, r.tag)!), toHex(P3.subarray(0, 60)));
    const flip = (b: Uint8Array, i: number): Uint8Array => {
      const c = b.slice();
      c[i]! ^= 1;
      return c;
    };
    assert.equal(P.aesGcm128Decrypt(K4, IV4, r.ciphertext, A4, flip(r.tag, 0)), null);
    assert.equal(P.aesGcm128Decrypt(K4, IV4, r.ciphertext, flip(A4, 19), r.tag), null);
    assert.equal(P.aesGcm128Decrypt(K4, IV4, flip(r.ciphertext, 59), A4, r.tag), null);
  });

  test('AES-128-CTR: NIST SP 800-38A F.5.1 and F.5.2', () => {
    const ctr = fromHex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    const PT = fromHex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
    const CT = '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee';
    assert.equal(toHex(P.aesCtr128(K, ctr, PT)), CT);
    assert.equal(toHex(P.aesCtr128(K, ctr, fromHex(CT))), toHex(PT));
    assert.equal(toHex(P.aesCtr128(K, ctr, PT.subarray(0, 23))), CT.slice(0, 46), 'a partial last block');
  });

  test('HKDF-SHA256: RFC 5869 test cases 1-3', () => {
    const range = (a: number, b: number): Uint8Array => Uint8Array.from({ length: b - a + 1 }, (_, i) => a + i);
    assert.equal(toHex(P.hkdfSha256(new Uint8Array(22).fill(0x0b), range(0, 0x0c), range(0xf0, 0xf9), 42)), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    assert.equal(toHex(P.hkdfSha256(range(0, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82)), 'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87');
    assert.equal(toHex(P.hkdfSha256(new Uint8Array(22).fill(0x0b), new Uint8Array(0), new Uint8Array(0), 42)), '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
  });

  // RFC 6979 A.2.5: the P-256 key and its deterministic SHA-256 signatures (k by RFC 6979, as the portable provider signs).
  const D = fromHex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
  const Q = fromHex('60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6' + '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299');
  test('ECDSA P-256: RFC 6979 A.2.5, the public key of d and its signatures of "sample" and "test" (s above n/2 in the first, kept as it is)', () => {
    assert.equal(toHex(P.ecdsaP256PublicKey(D)!), toHex(Q));
    const sample = 'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716' + 'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8';
    const testSig = 'f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367' + '019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083';
    assert.equal(toHex(P.ecdsaP256Sign(D, enc('sample'))), sample);
    assert.equal(toHex(P.ecdsaP256Sign(D, enc('test'))), testSig);
    assert.equal(P.ecdsaP256Verify(Q, enc('sample'), fromHex(sample)), true);
    assert.equal(P.ecdsaP256Verify(Q, enc('test'), fromHex(testSig)), true);
    assert.equal(P.ecdsaP256Verify(Q, enc('test'), fromHex(sample)), false);
  });

  test('ECDH P-256: the first NIST CAVS (SP 800-56A) ECC CDH vector, both ways', () => {
    const peer = fromHex('700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287' + 'db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac');
    const d = fromHex('7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534');
    const q = fromHex('ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230' + '28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141');
    assert.equal(toHex(P.ecdsaP256PublicKey(d)!), toHex(q));
    assert.equal(toHex(P.ecdhP256Shared(d, peer)!), '46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b');
  });

  test('RSA: the SDK sample key (sig1.key.pem, "RSA PRIVATE KEY"): its numbers and MRSIGNER, and a SIGSTRUCT signature byte for byte as a signing tool made it', { skip: NO_VECTORS }, () => {
    const pem = vectorText('sig1.key.pem');
    const { modulus, exponent } = P.rsaPublicNumbers(pem);
    assert.equal(exponent, 3n);
    assert.equal(toHex(Uint8Array.from(modulus).reverse()), toHex(vector('sig1.key_n.bin')));
    assert.equal(toHex(P.sha256(Uint8Array.from(modulus).reverse())), VEC.sig1Mrsigner);
    // SIGSTRUCT (SDM Vol. 3D 34.14): bytes 0..127 and 900..1027 are signed; the signature sits at 516, little-endian.
    const s = vector('sig1.sigstruct.bin');
    const signed = new Uint8Array(256);
    signed.set(s.subarray(0, 128));
    signed.set(s.subarray(900, 1028), 128);
    assert.equal(toHex(P.rsaSignSha256(pem, signed).reverse()), toHex(s.subarray(516, 900)));
    assert.equal(P.rsaPublicKeyPem(modulus, exponent), N.rsaPublicKeyPem(modulus, exponent));
  });
});

// ---- The same answers as node:crypto --------------------------------------------------------------

describe('portable provider: the node:crypto provider\'s answers for the same inputs (properties)', () => {
  test('SHA-256 one-shot, and streamed in random pieces with a copy taken midway (both continue on their own)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(400), { maxLength: 12 }), fc.nat(), fc.uint8Array({ maxLength: 200 }), (data, cuts, at, tail) => {
      assert.equal(toHex(P.sha256(data)), toHex(N.sha256(data)));
      const pieces: Uint8Array[] = [];
      let o = 0;
      for (const c of cuts) {
        pieces.push(data.subarray(o, Math.min(data.length, o + c)));
        o = Math.min(data.length, o + c);
      }
      pieces.push(data.subarray(o));
      const hp = P.createSha256(), hn = N.createSha256();
      const forkAt = at % pieces.length;
      let fp = hp, fn = hn, forked = 0;
      pieces.forEach((x, i) => {
        if (i === forkAt) {
          [fp, fn] = [hp.copy(), hn.copy()];
          forked = pieces.slice(0, i).reduce((s, y) => s + y.length, 0);
        }
        hp.update(x);
        hn.update(x);
      });
      fp.update(tail);
      fn.update(tail);
      assert.equal(toHex(hp.digest()), toHex(N.sha256(data)));
      const forkData = new Uint8Array(forked + tail.length);
      forkData.set(data.subarray(0, forked));
      forkData.set(tail, forked);
      assert.equal(toHex(fp.digest()), toHex(fn.digest()));
      assert.equal(toHex(P.sha256(forkData)), toHex(N.sha256(forkData)));
    }), { numRuns: 150 });
  });

  test('AES-128-CMAC, kept keys and others interleaved', () => {
    const keys = Array.from({ length: 6 }, () => rnd(16));
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(5), fc.boolean(), fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 20 }), (calls) => {
      for (const [k, keep, msg] of calls) assert.equal(toHex(P.aesCmac128(keys[k]!, msg, keep)), toHex(N.aesCmac128(keys[k]!, msg, keep)));
    }), { numRuns: 60 });
  });

  test('AES-128-GCM: encryption and decryption, into a caller\'s buffer at an offset, in place, and a tag that does not verify (null, and the same zeros left in `out`)', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }),
      fc.nat(7), fc.constantFrom('none', 'out', 'inplace'), fc.option(fc.nat(), { nil: undefined }),
      (key, iv, pt, aad, offset, mode, tamper) => {
        const sealed = [P, N].map((c) => {
          if (mode === 'none') return c.aesGcm128Encrypt(key, iv, pt, aad);
          const out = new Uint8Array(pt.length + offset + 5).fill(0xee);
          const r = c.aesGcm128Encrypt(key, iv, pt, aad, out.subarray(offset));
          assert.equal(r.ciphertext.buffer, out.buffer, 'written in the caller\'s buffer');
          assert.equal(r.ciphertext.byteOffset, out.byteOffset + offset);
          return { ...r, whole: toHex(out) };
        });
        assert.deepEqual(show(sealed[0]), show(sealed[1]));
        const { ciphertext, tag } = sealed[1]!;
        const ct = ciphertext.slice(), t = tag.slice(), a = aad.slice();
        if (tamper !== undefined) {
          const which = tamper % 3, bytes = which === 0 ? t : which === 1 ? ct : a;
          if (bytes.length) bytes[(tamper >> 2) % bytes.length]! ^= 1 << (tamper & 7) % 8;
          else t[0]! ^= 1;
        }
        const results = [P, N].map((c) => {
          if (mode === 'none') return { r: show(c.aesGcm128Decrypt(key, iv, ct.slice(), a, t)) };
          if (mode === 'inplace') {
            const buf = new Uint8Array(ct.length + offset).fill(0xdd);
            buf.set(ct, offset);
            const view = buf.subarray(offset);
            const r = c.aesGcm128Decrypt(key, iv, view, a, t, view);
            if (r !== null) assert.equal(r.buffer, buf.buffer);
            return { r: show(r), buf: toHex(buf) };
          }
          const out = new Uint8Array(ct.length + offset + 3).fill(0xcc);
          const r = c.aesGcm128Decrypt(key, iv, ct, a, t, out.subarray(offset));
          return { r: show(r), out: toHex(out) };
        });
        assert.deepEqual(results[0], results[1]);
        if (tamper === undefined) assert.equal(results[0]!.r, `bytes:${toHex(pt)}`);
        else assert.equal(results[0]!.r, null);
      }), { numRuns: 300 });
  });

  test('AES-128-GCM across large lengths (several 64 KiB pieces in node.ts), in place with a bad tag: zeros', () => {
    const key = rnd(16), iv = rnd(12), aad = rnd(33);
    for (const n of [65535, 65536, 200_003]) {
      const pt = rnd(n);
      const a = P.aesGcm128Encrypt(key, iv, pt, aad), b = N.aesGcm128Encrypt(key, iv, pt, aad);
      assert.equal(toHex(a.ciphertext), toHex(b.ciphertext));
      assert.equal(toHex(a.tag), toHex(b.tag));
      const inPlace = a.ciphertext.slice();
      assert.equal(toHex(P.aesGcm128Decrypt(key, iv, inPlace, aad, a.tag, inPlace)!), toHex(pt));
      assert.equal(toHex(inPlace), toHex(pt));
      const bad = a.ciphertext.slice(), badTag = a.tag.slice();
      badTag[15]! ^= 0x80;
      assert.equal(P.aesGcm128Decrypt(key, iv, bad, aad, badTag, bad), null);
      assert.ok(bad.every((x) => x === 0), `${n} bytes: zeros left where the plaintext would have been`);
    }
  });

  test('AES-128-CTR, the counter carried through all 128 bits (wrapping from ff…ff)', () => {
    const high = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
      b.fill(0xff, 8);
      return b;
    });
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), high, fc.constant(new Uint8Array(16).fill(0xff))), fc.uint8Array({ maxLength: 600 }), fc.nat(3), (key, counter, data, shift) => {
      const d = new Uint8Array(data.length + shift);
      d.set(data, shift);
      const view = d.subarray(shift); // unaligned views too
      assert.equal(toHex(P.aesCtr128(key, counter, view)), toHex(N.aesCtr128(key, counter, view)));
    }), { numRuns: 200 });
    const key = rnd(16), cb = rnd(16), page = rnd(4096);
    assert.equal(toHex(P.aesCtr128(key, cb, page)), toHex(N.aesCtr128(key, cb, page)), 'a 4 KiB page');
  });

  test('HKDF-SHA256, lengths 0..8160, empty salts and infos', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 1024 }), fc.oneof(fc.nat(200), fc.constantFrom(0, 32, 8160)), (ikm, salt, info, len) => {
      assert.equal(toHex(P.hkdfSha256(ikm, salt, info, len)), toHex(N.hkdfSha256(ikm, salt, info, len)));
    }), { numRuns: 150 });
  });

  // Node-generated keys: one of the model's shape (e = 3), one with 65537 and an odd size.
  const rsa3 = nc.generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
  const rsaF4 = nc.generateKeyPairSync('rsa', { modulusLength: 1031, publicExponent: 65537 });
  const pems = (k: nc.KeyPairKeyObjectResult) => ({
    pkcs8: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    pkcs1: k.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    spki: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    pkcs1Public: k.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  });

  test('rsaSignSha256: byte-identical signatures (PKCS#8 and PKCS#1 PEMs), which node:crypto verifies', () => {
    for (const k of [rsa3, rsaF4]) {
      const { pkcs8, pkcs1, spki } = pems(k);
      fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), (msg) => {
        const sig = P.rsaSignSha256(pkcs8, msg);
        assert.equal(toHex(sig), toHex(N.rsaSignSha256(pkcs8, msg)));
        assert.equal(toHex(P.rsaSignSha256(pkcs1, msg)), toHex(sig));
        assert.equal(nc.verify('sha256', msg, { key: spki, padding: nc.constants.RSA_PKCS1_PADDING }, sig), true);
      }), { numRuns: 15 });
    }
  });

  test('rsaPublicNumbers of every form node:crypto reads (PKCS#8, PKCS#1 private and public, SPKI, X.509 v3 and v1 certificates), and rsaPublicKeyPem of them', () => {
    for (const k of [rsa3, rsaF4]) {
      const forms = { ...pems(k), cert: certificatePem(k, true), certV1: certificatePem(k, false), x509: certificatePem(k, true).replace(/CERTIFICATE/g, 'X509 CERTIFICATE') };
      for (const [name, pem] of Object.entries(forms)) {
        const o = same((c) => c.rsaPublicNumbers(pem), name) as { value: unknown };
        assert.ok('value' in o, `${name} is read`);
      }
      const { modulus, exponent } = P.rsaPublicNumbers(forms.pkcs8);
      assert.equal(P.rsaPublicKeyPem(modulus, exponent), forms.spki, 'the SPKI PEM node:crypto writes');
    }
  });

  test('rsaPublicKeyPem: the same text for modulus bytes with leading zeros or none, and exponents 0, 1, negative, 64-bit and longer', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.oneof(fc.bigInt(-1000n, 2n ** 70n), fc.constantFrom(0n, 1n, 3n, 65537n, 2n ** 4000n + 1n, -3n, -16n)), (n, e) => {
      same((c) => c.rsaPublicKeyPem(n, e), `n ${toHex(n)}, e ${e}`);
      const pem = P.rsaPublicKeyPem(n, e);
      same((c) => c.rsaPublicNumbers(pem), 'its numbers');
    }), { numRuns: 150 });
    for (const m of [[1, 2, 3], new Uint16Array([0x1ff, 2]), 'abc', new Uint8Array(2049).fill(0xff)]) same((c) => c.rsaPublicKeyPem(m as Uint8Array, 65537n), `modulus ${String(m).slice(0, 20)}`);
    for (const e of [3.5, 17]) same((c) => c.rsaPublicKeyPem(new Uint8Array([0x80, 0, 0, 3]), e as unknown as bigint), `exponent ${e} as a number`);
  });

  test('ECDH P-256: the same shared secret both ways, from either side\'s key pairs', () => {
    for (let i = 0; i < 40; i++) {
      const a = P.ecdhP256Keypair(), b = N.ecdhP256Keypair();
      assert.equal(a.privateKey.length, 32);
      assert.equal(toHex(P.ecdsaP256PublicKey(a.privateKey)!), toHex(a.publicKey), 'the key pair\'s public point');
      assert.equal(toHex(N.ecdsaP256PublicKey(a.privateKey)!), toHex(a.publicKey), 'node:crypto agrees');
      const s = P.ecdhP256Shared(a.privateKey, b.publicKey)!;
      assert.equal(s.length, 32);
      for (const c of [P, N]) {
        assert.equal(toHex(c.ecdhP256Shared(b.privateKey, a.publicKey)!), toHex(s));
        assert.equal(toHex(c.ecdhP256Shared(a.privateKey, b.publicKey)!), toHex(s));
      }
    }
  });

  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const be32 = (x: bigint): Uint8Array => fromHex(x.toString(16).padStart(64, '0'));

  test('ecdsaP256PublicKey: the same point or null for random scalars and the edges (0, 1, n − 1, n, n + 1, 2^256 − 1, leading zero bytes)', () => {
    const edges = [0n, 1n, 2n, n - 1n, n, n + 1n, 2n ** 256n - 1n, 0xffn, 2n ** 200n + 7n].map(be32);
    for (const d of [...edges, ...Array.from({ length: 30 }, () => rnd(32))]) same((c) => c.ecdsaP256PublicKey(d), toHex(d));
  });

  test('ECDSA P-256: each side verifies the other\'s signatures (node:crypto\'s s above n/2 too), and refuses them on another message or key', () => {
    let highS = 0;
    for (let i = 0; i < 60; i++) {
      const k = N.ecdhP256Keypair(), msg = rnd(i * 7);
      const sn = N.ecdsaP256Sign(k.privateKey, msg), sp = P.ecdsaP256Sign(k.privateKey, msg);
      if (BigInt('0x' + toHex(sn.subarray(32))) > n / 2n) highS++;
      for (const c of [P, N]) {
        assert.equal(c.ecdsaP256Verify(k.publicKey, msg, sn), true);
        assert.equal(c.ecdsaP256Verify(k.publicKey, msg, sp), true);
        assert.equal(c.ecdsaP256Verify(k.publicKey, enc('other'), sp), false);
        assert.equal(c.ecdsaP256Verify(P.ecdhP256Keypair().publicKey, msg, sn), false);
      }
      // The other s (n − s) verifies as well: neither side asks for low s.
      const flipped = sn.slice();
      flipped.set(be32(n - BigInt('0x' + toHex(sn.subarray(32)))), 32);
      same((c) => c.ecdsaP256Verify(k.publicKey, msg, flipped), 'n − s');
    }
    assert.ok(highS > 5, `${highS} of node:crypto's signatures had s above n/2`);
  });
});

// ---- The same refusals ----------------------------------------------------------------------------

describe('portable provider: the node:crypto provider\'s refusals, input by input', () => {
  const K = rnd(16), msg = rnd(20);

  test('AES-128-CMAC: keys and messages that are not (genuine, attached) Uint8Arrays, also posing as one; another realm\'s are', () => {
    const badKeys: unknown[] = [
      new Uint16Array(16), Array.from(K), new Uint8Array(17), new Uint8Array(15), new DataView(K.buffer), new Proxy(K, {}), null, undefined, 'k'.repeat(16),
      Object.setPrototypeOf(new Uint16Array(16), Uint8Array.prototype), Object.defineProperty(new Uint8Array(8), 'length', { value: 16 }),
    ];
    badKeys.forEach((k, i) => {
      for (const keep of [true, false]) assert.equal((same((c) => c.aesCmac128(k as Uint8Array, msg, keep), `key ${i}`) as { code: string }).code, 'CMAC_KEY');
    });
    const detached = rnd(20);
    structuredClone(detached.buffer, { transfer: [detached.buffer as ArrayBuffer] });
    const badMessages: unknown[] = [new DataView(msg.buffer), msg.buffer, { length: -1 }, Array.from(msg), new Proxy(msg, {}), new Uint16Array(4), Object.setPrototypeOf(new Uint16Array(4), Uint8Array.prototype), detached, 'text', null];
    badMessages.forEach((m, i) => assert.equal((same((c) => c.aesCmac128(K, m as Uint8Array, true), `message ${i}`) as { code: string }).code, 'CMAC_MESSAGE'));
    for (const claimed of [4, 40]) same((c) => c.aesCmac128(K, Object.defineProperty(msg.slice(), 'length', { value: claimed }), true), `a message claiming ${claimed} bytes: its 20 are MACed`);
    const otherKey = runInNewContext('new Uint8Array(16)') as Uint8Array, otherMsg = runInNewContext('new Uint8Array(20)') as Uint8Array;
    otherKey.set(K);
    otherMsg.set(msg);
    assert.equal(toHex(P.aesCmac128(otherKey, otherMsg)), cmacReference(K, msg));
    same((c) => c.aesCmac128(K, new Uint8Array(0)), 'an empty message (not detached)');
    same((c) => c.aesCmac128(Buffer.from(K), Buffer.from(msg)), 'Buffers');
  });

  test('AES-128-GCM: lengths, an `out` too short or overlapping at another offset (nothing written), and arguments node:crypto refuses', () => {
    const iv = rnd(12), pt = rnd(64), aad = rnd(9), iv16 = rnd(16);
    const s = N.aesGcm128Encrypt(K, iv, pt, aad);
    const enc2 = (c: CryptoProvider, ...a: unknown[]) => (c.aesGcm128Encrypt as (...x: unknown[]) => unknown)(...a);
    const dec2 = (c: CryptoProvider, ...a: unknown[]) => (c.aesGcm128Decrypt as (...x: unknown[]) => unknown)(...a);
    const cases: [string, (c: CryptoProvider) => unknown][] = [
      ['15-byte key', (c) => enc2(c, K.subarray(1), iv, pt, aad)],
      ['16-byte IV', (c) => enc2(c, K, iv16, pt, aad)],
      ['short out', (c) => enc2(c, K, iv, pt, aad, new Uint8Array(63))],
      ['decrypt: 8-byte tag', (c) => dec2(c, K, iv, s.ciphertext, aad, s.tag.subarray(8))],
      ['decrypt: short out', (c) => dec2(c, K, iv, s.ciphertext, aad, s.tag, new Uint8Array(63))],
      ['key as an array', (c) => enc2(c, Array.from(K), iv, pt, aad)],
      ['key as a Uint16Array (32 bytes)', (c) => enc2(c, new Uint16Array(16), iv, pt, aad)],
      ['key as a 16-character string', (c) => enc2(c, 'sixteen chars!!!', iv, pt, aad)],
      ['IV as a Uint16Array (24 bytes: GHASH derives J0)', (c) => enc2(c, K, new Uint16Array(12).fill(0x1234), pt, aad)],
      ['AAD as a string', (c) => enc2(c, K, iv, pt, 'header')],
      ['plaintext as an array', (c) => enc2(c, K, iv, [1, 2, 3], aad)],
      ['plaintext as a DataView', (c) => enc2(c, K, iv, new DataView(pt.buffer), aad)],
      ['decrypt: tag as a Uint16Array (32 bytes)', (c) => dec2(c, K, iv, s.ciphertext, aad, new Uint16Array(16))],
      ['decrypt: tag as a string', (c) => dec2(c, K, iv, s.ciphertext, aad, 'sixteen chars!!!')],
      ['decrypt: ciphertext as an array', (c) => dec2(c, K, iv, Array.from(s.ciphertext), aad, s.tag)],
      ['null AAD', (c) => enc2(c, K, iv, pt, null)],
    ];
    for (const [name, call] of cases) same(call, name);
    const both = new Uint8Array(80);
    both.set(s.ciphertext, 8);
    for (const shift of [-8, -1, 1, 8]) {
      assert.equal((same((c) => c.aesGcm128Decrypt(K, iv, both.subarray(8, 72), aad, s.tag, both.subarray(8 + shift, 72 + shift)), `overlap ${shift}`) as { code: string }).code, 'GCM_PARAMS');
    }
    assert.equal(toHex(both.subarray(8, 72)), toHex(s.ciphertext), 'refused before anything was written');
  });

  test('AES-128-CTR: lengths (CTR_PARAMS) and arguments node:crypto refuses', () => {
    const cb = rnd(16), data = rnd(40);
    const ctr2 = (c: CryptoProvider, ...a: unknown[]) => (c.aesCtr128 as (...x: unknown[]) => unknown)(...a);
    const cases: [string, (c: CryptoProvider) => unknown][] = [
      ['15-byte key', (c) => ctr2(c, K.subarray(1), cb, data)],
      ['12-byte counter', (c) => ctr2(c, K, cb.subarray(4), data)],
      ['key as an array', (c) => ctr2(c, Array.from(K), cb, data)],
      ['key as a Uint16Array', (c) => ctr2(c, new Uint16Array(16), cb, data)],
      ['counter as a Uint16Array', (c) => ctr2(c, K, new Uint16Array(16), data)],
      ['key as a string', (c) => ctr2(c, 'sixteen chars!!!', cb, data)],
      ['data as an array', (c) => ctr2(c, K, cb, [1, 2, 3])],
      ['data as a string', (c) => ctr2(c, K, cb, 'some text')],
      ['data as a Uint32Array', (c) => ctr2(c, K, cb, new Uint32Array([1, 2, 3]))],
      ['data as an ArrayBuffer', (c) => ctr2(c, K, cb, data.buffer)],
      ['empty data', (c) => ctr2(c, K, cb, new Uint8Array(0))],
    ];
    for (const [name, call] of cases) same(call, name);
  });

  test('HKDF-SHA256: lengths and arguments node:crypto refuses, and the byte sources it takes', () => {
    const z = new Uint8Array(0), k = rnd(16), salt = rnd(5), info = rnd(8);
    const h = (c: CryptoProvider, ...a: unknown[]) => (c.hkdfSha256 as (...x: unknown[]) => unknown)(...a);
    const cases: [string, (c: CryptoProvider) => unknown][] = [
      ['length 8161', (c) => h(c, k, z, z, 8161)],
      ['length -1', (c) => h(c, k, z, z, -1)],
      ['length 1.5', (c) => h(c, k, z, z, 1.5)],
      ['length NaN', (c) => h(c, k, z, z, Number.NaN)],
      ['length "5"', (c) => h(c, k, z, z, '5')],
      ['info of 1025 bytes', (c) => h(c, k, z, new Uint8Array(1025), 32)],
      ['info of 1024 bytes', (c) => h(c, k, z, new Uint8Array(1024), 32)],
      ['ikm as an array', (c) => h(c, [1, 2], z, z, 8)],
      ['salt null', (c) => h(c, k, null, z, 8)],
      ['strings', (c) => h(c, 'ikm', 'salt', 'info', 40)],
      ['ArrayBuffers', (c) => h(c, k.buffer, salt.buffer, info.buffer, 40)],
      ['a Uint16Array salt (its bytes)', (c) => h(c, k, new Uint16Array([1, 2, 3]), z, 40)],
      ['a DataView info', (c) => h(c, k, z, new DataView(info.buffer), 40)],
      ['length 0', (c) => h(c, k, z, z, 0)],
    ];
    for (const [name, call] of cases) same(call, name);
  });

  test('randomBytes: node:crypto\'s checks on the size; fresh arrays of the size asked, not repeated', () => {
    for (const n of [-1, Number.NaN, 2 ** 31, Infinity, '5', null, undefined]) {
      const o = same((c) => (c.randomBytes as (n: unknown) => Uint8Array)(n), String(n)) as { threw?: string };
      assert.ok(o.threw !== undefined, `${String(n)} is refused`);
    }
    assert.equal(P.randomBytes(1.5).length, 1);
    const seen = new Set<string>();
    for (const n of [0, 1, 16, 32, 255, 256, 257, 4096, 65535, 65536, 65537, 200_000]) {
      const r = P.randomBytes(n);
      assert.ok(r instanceof Uint8Array);
      assert.equal(r.length, n);
      for (let i = 0; i + 8 <= n && i < 800; i += 8) {
        const w = toHex(r.subarray(i, i + 8));
        assert.ok(!seen.has(w), 'bytes handed out twice');
        seen.add(w);
      }
    }
    const big = P.randomBytes(200_000);
    assert.ok(!big.subarray(65536 * 3).every((x) => x === 0), 'the last chunk is filled');
  });

  // Keys node:crypto reads, and PEM texts it refuses or reads in its own way (OpenSSL's PEM reader).
  const k = nc.generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 });
  const pkcs8 = k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const spki = k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const pkcs1 = k.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const pkcs1Public = k.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const ec = nc.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecPkcs8 = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), ecSpki = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const pss = nc.generateKeyPairSync('rsa-pss', { modulusLength: 1024 });
  const ed = nc.generateKeyPairSync('ed25519');
  const L = pkcs8.trim().split('\n'), body = L.slice(1, -1).join('');
  const der = (label: string, bytes: Uint8Array): string => `-----BEGIN ${label}-----\n${Buffer.from(bytes).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
  const p8der = new Uint8Array(k.privateKey.export({ type: 'pkcs8', format: 'der' }));
  const p1der = new Uint8Array(k.privateKey.export({ type: 'pkcs1', format: 'der' }));
  const nBytes = Buffer.from(k.publicKey.export({ format: 'jwk' }).n!, 'base64url');
  const rsaAlg = derSequence(derOid('1.2.840.113549.1.1.1'), derNull());
  const spkiOf = (n: Uint8Array, e: Uint8Array, alg = rsaAlg): Uint8Array => derSequence(alg, derBitString(derSequence(rawInt(n), rawInt(e))));
  const rawInt = (content: Uint8Array): Uint8Array => Uint8Array.of(0x02, ...derLength(content.length), ...content);
  const texts: [string, unknown][] = [
    ['PKCS#8', pkcs8], ['PKCS#1', pkcs1], ['SPKI', spki], ['PKCS#1 public', pkcs1Public],
    ['EC PKCS#8', ecPkcs8], ['EC SPKI', ecSpki], ['EC SEC1', ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString()],
    ['RSASSA-PSS private', pss.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()], ['RSASSA-PSS public', pss.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    ['Ed25519 private', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()], ['Ed25519 public', ed.publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    ['encrypted PKCS#8', k.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }).toString()],
    ['encrypted PKCS#1', k.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }).toString()],
    ['garbage', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'], ['empty', ''], ['a number', 42], ['null', null], ['an array', [1, 2]],
    ['a Buffer of PEM', Buffer.from(pkcs8)], ['a Uint8Array of PEM', new Uint8Array(Buffer.from(spki))], ['an ArrayBuffer of PEM', new Uint8Array(Buffer.from(pkcs8)).buffer], ['DER bytes', p8der],
    ['no final newline', pkcs8.trimEnd()], ['CRLF', pkcs8.replace(/\n/g, '\r\n')], ['CR only', pkcs8.replace(/\n/g, '\r')], ['text before', 'hello\n' + pkcs8], ['text before on the BEGIN line', 'hello' + pkcs8],
    ['a BOM', '\uFEFF' + pkcs8], ['one long line', [L[0], body, L.at(-1)].join('\n')], ['76-column lines', [L[0], body.match(/.{1,76}/g)!.join('\n'), L.at(-1)].join('\n')],
    ['leading spaces', [L[0], ...L.slice(1, -1).map((l) => ' ' + l), L.at(-1)].join('\n')], ['trailing spaces', [L[0], ...L.slice(1, -1).map((l) => l + ' '), L.at(-1)].join('\n')], ['tabs', [L[0], ...L.slice(1, -1).map((l) => '\t' + l), L.at(-1)].join('\n')],
    ['a space inside a line', [L[0], L[1]!.slice(0, 10) + ' ' + L[1]!.slice(10), ...L.slice(2)].join('\n')],
    ['a blank line after BEGIN', [L[0], '', ...L.slice(1)].join('\n')], ['a blank line inside', [L[0], L[1], '', ...L.slice(2)].join('\n')], ['a short header', [L[0], 'Foo: bar', '', ...L.slice(1)].join('\n')],
    ['a long header', [L[0], 'Comment: a longer header', '', ...L.slice(1)].join('\n')], ['a header on a public key', [spki.split('\n')[0], 'Foo: bar', '', ...spki.split('\n').slice(1)].join('\n')],
    ['a blank line, then long lines', [L[0], '', body.match(/.{1,76}/g)!.join('\n'), L.at(-1)].join('\n')],
    ['two blank lines', [L[0], '', '', ...L.slice(1)].join('\n')],
    ['BEGIN with a space before', ' ' + pkcs8], ['lower case', pkcs8.replace(/PRIVATE KEY/g, 'private key')], ['trailing space on BEGIN', pkcs8.replace('KEY-----\n', 'KEY----- \n')],
    ['text after BEGIN', pkcs8.replace('KEY-----\n', 'KEY-----xx\n')], ['END indented', pkcs8.replace('-----END', '  -----END')], ['END on the last data line', pkcs8.replace('\n-----END', '-----END')], ['text after END', pkcs8.replace('-----END PRIVATE KEY-----', '-----END PRIVATE KEY-----xyz')],
    ['END of another label', pkcs8.replace('-----END PRIVATE KEY-----', '-----END RSA PRIVATE KEY-----')], ['no END', pkcs8.replace(/-----END.*\n/, '')], ['six dashes', pkcs8.replace('-----BEGIN', '------BEGIN')], ['four closing dashes', pkcs8.replace('KEY-----\n', 'KEY----\n')],
    ['two spaces in the label', pkcs8.replace(/PRIVATE KEY/g, 'PRIVATE  KEY')], ['a bad base64 character', pkcs8.replace(/\n(.)/, '\n!')], ['no padding', [L[0], body.replace(/=+$/, ''), L.at(-1)].join('\n')], ['extra padding', [L[0], body + '==', L.at(-1)].join('\n')],
    ['data after the padding', [L[0], body + 'AAAA', L.at(-1)].join('\n')], ['= inside', [L[0], body.slice(0, 10) + '=' + body.slice(10), L.at(-1)].join('\n')], ['a dash inside the data', [L[0], body.slice(0, 8) + '-' + body.slice(8), L.at(-1)].join('\n')], ['a missing line', [L[0], ...L.slice(1, -2), L.at(-1)].join('\n')],
    ['garbage after END', pkcs8 + 'garbage'], ['EC private key, then RSA public key', ecPkcs8 + spki], ['RSA private key, then EC public key', pkcs8 + ecSpki], ['EC private then RSA private', ecPkcs8 + pkcs8],
    ['SPKI then PKCS#8', spki + pkcs8], ['an unknown block, then PKCS#8', '-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n' + pkcs8], ['a bad unknown block, then PKCS#8', '-----BEGIN FOO-----\n!!!!\n-----END FOO-----\n' + pkcs8],
    ['a bad PUBLIC KEY, then PKCS#8', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' + pkcs8], ['a bad PRIVATE KEY, then PKCS#1', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' + pkcs1],
    ['a bad SPKI, then a good one', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' + spki], ['PKCS#1 public (corrupt), then SPKI', pkcs1Public.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA') + spki],
    ['PKCS#1 under PRIVATE KEY', pkcs1.replace(/RSA PRIVATE/g, 'PRIVATE')], ['PKCS#8 under RSA PRIVATE KEY', pkcs8.replace(/PRIVATE/g, 'RSA PRIVATE')], ['SPKI under RSA PUBLIC KEY', spki.replace(/PUBLIC/g, 'RSA PUBLIC')],
    ['PKCS#1 public under PUBLIC KEY', pkcs1Public.replace(/RSA PUBLIC/g, 'PUBLIC')], ['ANY PRIVATE KEY', pkcs8.replace(/PRIVATE KEY/g, 'ANY PRIVATE KEY')], ['TRUSTED CERTIFICATE', certificatePem(k, true).replace(/CERTIFICATE/g, 'TRUSTED CERTIFICATE')],
    ['a certificate, then an EC SPKI', certificatePem(k, true) + ecSpki],
    ['a bad unknown block, then SPKI', '-----BEGIN FOO-----\n!!!!\n-----END FOO-----\n' + spki], ['a bad unknown block, then PKCS#1 public', '-----BEGIN FOO-----\n!!!!\n-----END FOO-----\n' + pkcs1Public],
    ['a block ended by another label, then PKCS#8', '-----BEGIN FOO-----\nAAAA\n-----END BAR-----\n' + pkcs8], ['a block ended by another label, then SPKI', '-----BEGIN FOO-----\nAAAA\n-----END BAR-----\n' + spki],
    ['PKCS#8, then a block without END', pkcs8 + '-----BEGIN FOO-----\nAAAA\n'], ['SPKI, then a bad block', spki + '-----BEGIN FOO-----\n!!!!\n-----END FOO-----\n'],
    ['a bad-base64 PUBLIC KEY, then PKCS#8', '-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n' + pkcs8], ['a bad-base64 PUBLIC KEY, then SPKI', '-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n' + spki],
    ['a long header, then PKCS#8', pkcs8.replace('KEY-----\n', 'KEY-----\nComment: a long comment here\n\n') + pkcs1], ['an encrypted key, then PKCS#8', k.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }).toString() + pkcs8],
    ['a SEC 1 EC key, then PKCS#8', ec.privateKey.export({ type: 'sec1', format: 'pem' }).toString() + pkcs8], ['a bad EC PRIVATE KEY, then PKCS#8', '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n' + pkcs8],
    ['a bad RSA PRIVATE KEY, then PKCS#8', '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n' + pkcs8], ['RSASSA-PSS, then PKCS#8', pss.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() + pkcs8],
    ['SPKI with a header, then another SPKI', spki.replace('KEY-----\n', 'KEY-----\nFoo: bar\n\n') + ecSpki], ['SPKI with a header, then PKCS#8', spki.replace('KEY-----\n', 'KEY-----\nFoo: bar\n\n') + pkcs8],
    ['a blank line inside, then PKCS#8', [L[0], L[1], '', ...L.slice(2)].join('\n') + '\n' + pkcs8], ['two blank lines, then PKCS#8', [L[0], '', '', ...L.slice(1)].join('\n') + '\n' + pkcs8],
    ['long lines after a blank line, then PKCS#8', [L[0], '', body.match(/.{1,76}/g)!.join('\n'), L.at(-1)].join('\n') + '\n' + pkcs8],
    // DER as OpenSSL's d2i reads it: BER lengths, unsigned integers, trailing bytes, parameters.
    ['SPKI with trailing bytes', der('PUBLIC KEY', Uint8Array.from([...new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' })), 0, 0]))],
    ['PKCS#8 with trailing bytes', der('PRIVATE KEY', Uint8Array.from([...p8der, 0, 0]))], ['PKCS#1 with trailing bytes', der('RSA PRIVATE KEY', Uint8Array.from([...p1der, 5]))],
    ['SPKI without the NULL', der('PUBLIC KEY', spkiOf(Uint8Array.of(0, ...nBytes), Uint8Array.of(3), derSequence(derOid('1.2.840.113549.1.1.1'))))],
    ['SPKI with INTEGER parameters', der('PUBLIC KEY', spkiOf(Uint8Array.of(0, ...nBytes), Uint8Array.of(3), derSequence(derOid('1.2.840.113549.1.1.1'), derInteger(5))))],
    ['a modulus with its sign bit set', der('PUBLIC KEY', spkiOf(nBytes, Uint8Array.of(3)))], ['a non-minimal modulus', der('PUBLIC KEY', spkiOf(Uint8Array.of(0, 0, ...nBytes), Uint8Array.of(3)))],
    ['exponent ff', der('PUBLIC KEY', spkiOf(Uint8Array.of(0, ...nBytes), Uint8Array.of(0xff)))], ['exponent 0', der('PUBLIC KEY', spkiOf(Uint8Array.of(0, ...nBytes), Uint8Array.of(0)))], ['modulus 0', der('PUBLIC KEY', spkiOf(Uint8Array.of(0), Uint8Array.of(3)))],
    ['RSAPublicKey with a third INTEGER', der('PUBLIC KEY', derSequence(rsaAlg, derBitString(derSequence(rawInt(Uint8Array.of(0, ...nBytes)), derInteger(3), derInteger(3)))))],
    ['a BIT STRING with one unused bit', der('PUBLIC KEY', (() => {
      const s = spkiOf(Uint8Array.of(0, ...nBytes), Uint8Array.of(3)), bits = derBitString(derSequence(rawInt(Uint8Array.of(0, ...nBytes)), derInteger(3)));
      const at = s.length - bits.length + 1 + derLength(bits.length - 1 - derLength(bits.length).length).length;
      const c = s.slice();
      c[at] = 1;
      return c;
    })())],
    ['an indefinite-length SPKI', der('PUBLIC KEY', Uint8Array.of(0x30, 0x80, ...rsaAlg, ...derBitString(derSequence(rawInt(Uint8Array.of(0, ...nBytes)), derInteger(3))), 0, 0))],
    ['a long-form length with a leading zero', der('PUBLIC KEY', (() => {
      const inner = derSequence(rawInt(Uint8Array.of(0, ...nBytes)), derInteger(3));
      const bs = Uint8Array.of(0x03, 0x83, 0, (inner.length + 1) >> 8, (inner.length + 1) & 0xff, 0, ...inner);
      return derSequence(rsaAlg, bs);
    })())],
    ['PKCS#8 version 1', der('PRIVATE KEY', derSequence(derInteger(1), rsaAlg, derOctetString(p1der)))], ['PKCS#8 without the NULL', der('PRIVATE KEY', derSequence(derInteger(0), derSequence(derOid('1.2.840.113549.1.1.1')), derOctetString(p1der)))],
    ['PKCS#8 with attributes', der('PRIVATE KEY', Uint8Array.from([...derSequence(derInteger(0), rsaAlg, derOctetString(p1der), Uint8Array.of(0xa0, 0))]))],
    ['PKCS#8 with bytes after the RSAPrivateKey', der('PRIVATE KEY', derSequence(derInteger(0), rsaAlg, derOctetString(Uint8Array.from([...p1der, 0, 0]))))],
    ['PKCS#8 of an unknown algorithm', der('PRIVATE KEY', derSequence(derInteger(0), derSequence(derOid('1.2.3.4')), derOctetString(p1der)))],
  ];

  test('rsaPublicNumbers and rsaSignSha256 of keys and PEM texts node:crypto reads, refuses, or reads its own way: the same numbers, signatures or RSA_KEY_INVALID', () => {
    const m = enc('witness');
    let read = 0, refused = 0;
    for (const [name, text] of texts) {
      const o = same((c) => c.rsaPublicNumbers(text as string), `rsaPublicNumbers: ${name}`) as { code?: string };
      if (o.code === undefined) read++;
      else {
        refused++;
        assert.equal(o.code, 'RSA_KEY_INVALID', name);
      }
      const s = same((c) => c.rsaSignSha256(text as string, m), `rsaSignSha256: ${name}`) as { code?: string };
      if (s.code !== undefined) assert.equal(s.code, 'RSA_KEY_INVALID', name);
    }
    assert.ok(read > 20 && refused > 20, `${read} read, ${refused} refused`);
    same((c) => c.rsaSignSha256(pkcs8, [1, 2] as unknown as Uint8Array), 'a message node:crypto does not take');
    same((c) => c.rsaSignSha256(pkcs8, 'text' as unknown as Uint8Array), 'a string message');
    const ab = rnd(10).buffer;
    same((c) => c.rsaSignSha256(pkcs8, ab as unknown as Uint8Array), 'an ArrayBuffer message');
  });

  test('rsaSignSha256 with keys whose CRT values are wrong: the signature OpenSSL gives (its check with e falls back to d)', () => {
    const j = k.privateKey.export({ format: 'jwk' });
    const b = (s: string): bigint => BigInt('0x' + Buffer.from(s, 'base64url').toString('hex'));
    const [nn, e, d, p, q, dp, dq, qi] = [j.n!, j.e!, j.d!, j.p!, j.q!, j.dp!, j.dq!, j.qi!].map(b) as bigint[];
    const keyPem = (f: bigint[]) => der('RSA PRIVATE KEY', derSequence(...[0n, ...f].map((x) => derInteger(x))));
    const variants: [string, bigint[]][] = [
      ['right', [nn!, e!, d!, p!, q!, dp!, dq!, qi!]], ['dP off by one', [nn!, e!, d!, p!, q!, dp! + 1n, dq!, qi!]], ['qInv wrong', [nn!, e!, d!, p!, q!, dp!, dq!, qi! ^ 1n]],
      ['p and q swapped (qInv for the old order)', [nn!, e!, d!, q!, p!, dq!, dp!, qi!]], ['d wrong and CRT right', [nn!, e!, d! + 2n, p!, q!, dp!, dq!, qi!]],
      // (A wrong e is left out: OpenSSL's blinding, r^e, then leaves node:crypto's signature random.)
    ];
    for (const [name, f] of variants) same((c) => c.rsaSignSha256(keyPem(f), enc('m')), name);
  });

  test('ECDH P-256: lengths (ECDH_PARAMS); scalars outside [1, n − 1], points off the curve or past p, and arguments node:crypto cannot read: null', () => {
    const a = N.ecdhP256Keypair(), b = N.ecdhP256Keypair();
    const x = b.publicKey.subarray(0, 32), y = b.publicKey.subarray(32);
    const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((q) => [...q]));
    const pBytes = fromHex('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
    const cases: [string, unknown, unknown][] = [
      ['31-byte scalar', a.privateKey.subarray(1), b.publicKey], ['63-byte point', a.privateKey, b.publicKey.subarray(1)], ['65-byte point', a.privateKey, cat(Uint8Array.of(4), b.publicKey)],
      ['scalar 0', new Uint8Array(32), b.publicKey], ['scalar n', fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'), b.publicKey], ['scalar ff…ff', new Uint8Array(32).fill(0xff), b.publicKey],
      ['a point off the curve', a.privateKey, new Uint8Array(64).fill(1)], ['the zero point', a.privateKey, new Uint8Array(64)], ['x = p', a.privateKey, cat(pBytes, y)], ['y = p', a.privateKey, cat(x, pBytes)],
      ['y negated (on the curve)', a.privateKey, cat(x, fromHex((0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn - BigInt('0x' + toHex(y))).toString(16).padStart(64, '0')))],
      ['scalar as an array', Array.from(a.privateKey), b.publicKey], ['point as an array', a.privateKey, Array.from(b.publicKey)], ['scalar as a 32-character string', 'a'.repeat(32), b.publicKey],
      ['scalar as a Uint16Array (64 bytes)', new Uint16Array(32), b.publicKey], ['a Buffer scalar', Buffer.from(a.privateKey), b.publicKey],
    ];
    for (const [name, d, q] of cases) same((c) => c.ecdhP256Shared(d as Uint8Array, q as Uint8Array), name);
  });

  test('ECDSA P-256: ECDSA_PARAMS for scalars that are not 32-byte Uint8Arrays in [1, n − 1]; false for malformed points and signatures; node:crypto\'s TypeError for a message it does not take', () => {
    const k2 = N.ecdhP256Keypair(), m = enc('message'), sig = N.ecdsaP256Sign(k2.privateKey, m);
    const nn = fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    for (const [name, d] of [['31 bytes', k2.privateKey.subarray(1)], ['an array', Array.from(k2.privateKey)], ['zero', new Uint8Array(32)], ['n', nn], ['ff…ff', new Uint8Array(32).fill(0xff)], ['a proxy', new Proxy(k2.privateKey, {})], ['another realm', runInNewContext('new Uint8Array(32).fill(1)')]] as [string, unknown][]) {
      same((c) => c.ecdsaP256PublicKey(d as Uint8Array), `public key of ${name}`);
      const o = same((c) => c.ecdsaP256Sign(d as Uint8Array, m), `sign with ${name}`) as { threw?: string; code?: string };
      // A proxy's length is read through it, and the intrinsic getter refuses it: a TypeError in both.
      if (name === 'a proxy') assert.deepEqual(o, { threw: 'TypeError', code: undefined });
      else assert.equal(o.code, 'ECDSA_PARAMS', name);
    }
    const r = sig.subarray(0, 32), s = sig.subarray(32);
    const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((q) => [...q]));
    const sigs: [string, unknown][] = [
      ['right', sig], ['r = 0', cat(new Uint8Array(32), s)], ['s = 0', cat(r, new Uint8Array(32))], ['r = n', cat(nn, s)], ['s = n', cat(r, nn)], ['ff…ff', new Uint8Array(64).fill(0xff)],
      ['63 bytes', sig.subarray(1)], ['an array', Array.from(sig)], ['a Buffer', Buffer.from(sig)], ['DER', new Uint8Array(nc.sign('sha256', m, nc.createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(k2.publicKey.subarray(0, 32)).toString('base64url'), y: Buffer.from(k2.publicKey.subarray(32)).toString('base64url'), d: Buffer.from(k2.privateKey).toString('base64url') }, format: 'jwk' })))],
    ];
    for (const [name, sg] of sigs) same((c) => c.ecdsaP256Verify(k2.publicKey, m, sg as Uint8Array), `signature: ${name}`);
    for (const [name, q] of [['off the curve', new Uint8Array(64).fill(1)], ['zero', new Uint8Array(64)], ['63 bytes', k2.publicKey.subarray(1)], ['an array', Array.from(k2.publicKey)]] as [string, unknown][]) {
      same((c) => c.ecdsaP256Verify(q as Uint8Array, m, sig), `public key: ${name}`);
    }
    same((c) => c.ecdsaP256Verify(k2.publicKey, [1, 2] as unknown as Uint8Array, sig), 'a message node:crypto does not take');
    same((c) => c.ecdsaP256Verify(k2.publicKey, 'message' as unknown as Uint8Array, sig), 'a string message');
    same((c) => c.ecdsaP256Sign(k2.privateKey, [1, 2] as unknown as Uint8Array), 'signing a message node:crypto does not take');
    same((c) => c.ecdsaP256Verify(k2.publicKey, m, new Proxy(sig, {})), 'a proxy of a signature');
  });

  test('SHA-256 streams after digest(): node:crypto\'s ERR_CRYPTO_HASH_FINALIZED for update, digest and copy; other data types as node:crypto hashes them', () => {
    for (const step of ['update', 'digest', 'copy'] as const) {
      const codes = [P, N].map((c) => {
        const h = c.createSha256();
        h.update(rnd(3));
        h.digest();
        try {
          if (step === 'update') h.update(rnd(1));
          else if (step === 'digest') h.digest();
          else h.copy();
          return 'no error';
        } catch (e) {
          assert.ok(e instanceof Error);
          return (e as { code?: string }).code;
        }
      });
      assert.deepEqual(codes, ['ERR_CRYPTO_HASH_FINALIZED', 'ERR_CRYPTO_HASH_FINALIZED'], step);
    }
    for (const d of ['abc', new Uint16Array([1, 2, 3]), new DataView(rnd(9).buffer), rnd(9).buffer, [1, 2], null, Buffer.from('abc'), runInNewContext('new Uint8Array([1, 2, 3])')]) {
      same((c) => c.sha256(d as Uint8Array), `sha256 of ${Object.prototype.toString.call(d)}`);
      same((c) => {
        const h = c.createSha256();
        h.update(d as Uint8Array);
        return h.digest();
      }, `a stream of ${Object.prototype.toString.call(d)}`);
    }
  });
});

// ---- RSA key generation ---------------------------------------------------------------------------

describe('portable provider: rsaGenerate', () => {
  const b64 = (s: string): bigint => BigInt('0x' + (Buffer.from(s, 'base64url').toString('hex') || '0'));
  const bits = (x: bigint): number => x.toString(2).length;
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

  /** Checks a generated pair with node:crypto: it reads both, they match, and the numbers meet FIPS 186-4 B.3.1 / B.3.3. */
  function checkPair(pair: { privateKeyPem: string; publicKeyPem: string }, size: number, e: bigint): void {
    assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PRIVATE KEY-----\n$/);
    assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/);
    const priv = nc.createPrivateKey(pair.privateKeyPem), pub = nc.createPublicKey(pair.publicKeyPem);
    assert.equal(priv.asymmetricKeyType, 'rsa');
    assert.deepEqual(priv.asymmetricKeyDetails, { modulusLength: size, publicExponent: e });
    assert.equal(priv.export({ type: 'pkcs8', format: 'pem' }), pair.privateKeyPem, 'node:crypto writes the same PKCS#8');
    assert.equal(pub.export({ type: 'spki', format: 'pem' }), pair.publicKeyPem, 'node:crypto writes the same SPKI');
    assert.equal(nc.createPublicKey(pair.privateKeyPem).export({ type: 'spki', format: 'pem' }), pair.publicKeyPem, 'the public key is the private key\'s');
    const j = priv.export({ format: 'jwk' });
    const [n, d, p, q, dp, dq, qi] = [j.n!, j.d!, j.p!, j.q!, j.dp!, j.dq!, j.qi!].map(b64) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    assert.equal(b64(j.e!), e);
    assert.equal(p * q, n);
    assert.equal(bits(n), size);
    assert.equal(bits(p), Math.ceil(size / 2));
    assert.equal(bits(q), Math.floor(size / 2));
    assert.ok(nc.checkPrimeSync(p, { checks: 40 }) && nc.checkPrimeSync(q, { checks: 40 }), 'p and q are prime');
    assert.equal(gcd(e, p - 1n), 1n);
    assert.equal(gcd(e, q - 1n), 1n);
    assert.ok((p > q ? p - q : q - p) > 1n << BigInt(Math.floor(size / 2) - 100), '|p − q| > 2^(nlen/2 − 100)');
    const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
    assert.equal((d * e) % lambda, 1n, 'd = e^−1 mod λ(n)');
    assert.ok(d > 1n << BigInt(Math.floor(size / 2)), 'd > 2^(nlen/2)');
    assert.equal(dp, d % (p - 1n));
    assert.equal(dq, d % (q - 1n));
    assert.equal((qi * q) % p, 1n);
    const m = rnd(77);
    const sig = nc.sign('sha256', m, { key: priv, padding: nc.constants.RSA_PKCS1_PADDING });
    assert.equal(nc.verify('sha256', m, { key: pair.publicKeyPem, padding: nc.constants.RSA_PKCS1_PADDING }, sig), true, 'node:crypto verifies with the SPKI');
    assert.equal(toHex(P.rsaSignSha256(pair.privateKeyPem, m)), toHex(sig), 'the portable signature is node:crypto\'s');
    assert.equal(toHex(N.rsaSignSha256(pair.privateKeyPem, m)), toHex(sig));
    assert.deepEqual(show(P.rsaPublicNumbers(pair.publicKeyPem)), show(N.rsaPublicNumbers(pair.privateKeyPem)));
  }

  test('RSA-3072 with e = 3 (the model\'s signing keys): node:crypto reads it, signs with it and verifies with its SPKI', () => {
    const t0 = performance.now();
    const pair = P.rsaGenerate(3072, 3);
    const ms = performance.now() - t0;
    checkPair(pair, 3072, 3n);
    assert.ok(ms < 30_000, `${ms.toFixed(0)} ms`);
  });

  test('other sizes and exponents: 512 with e = 3, 1025 (odd: n of exactly 1025 bits) with 65537, 768 with 2^32 − 1 (e of several prime factors)', () => {
    checkPair(P.rsaGenerate(512, 3), 512, 3n);
    checkPair(P.rsaGenerate(1025, 65537), 1025, 65537n);
    checkPair(P.rsaGenerate(768, 0xffffffff), 768, 0xffffffffn);
  });

  test('refusals: node:crypto\'s TypeError and RangeError for sizes and exponents that are not uint32; RSA_PARAMS where OpenSSL refuses (node:crypto throws its plain Error)', () => {
    const g = (c: CryptoProvider, b: unknown, e: unknown) => (c.rsaGenerate as (b: unknown, e: unknown) => unknown)(b, e);
    for (const [b, e] of [[512, 2 ** 32], [512, -3], [512, 1.5], [512, '3'], ['512', 3], [-1, 3], [1.5, 3], [2 ** 32, 3]] as [unknown, unknown][]) same((c) => g(c, b, e), `${String(b)} bits, e ${String(e)}`);
    for (const [b, e] of [[511, 3], [256, 3], [512, 1], [512, 2], [512, 4], [512, 0]] as [number, number][]) {
      assert.throws(() => N.rsaGenerate(b, e), (x: unknown) => x instanceof Error, `node:crypto refuses ${b}, ${e}`);
      assert.throws(() => P.rsaGenerate(b, e), threwLib('RSA_PARAMS'), `${b} bits, e ${e}`);
    }
  });
});

// ---- The provider as a whole ----------------------------------------------------------------------

describe('portable provider: shape and imports', () => {
  test('frozen, kept as it is by fixedProvider, every method but openSha256Pipeline, and its streams\' methods fixed', () => {
    assert.ok(Object.isFrozen(P));
    assert.equal(fixedProvider(P), P);
    assert.equal(P.openSha256Pipeline, undefined);
    for (const m of ['sha256', 'createSha256', 'aesCmac128', 'aesGcm128Encrypt', 'aesGcm128Decrypt', 'aesCtr128', 'hkdfSha256', 'randomBytes', 'rsaSignSha256', 'rsaPublicNumbers', 'rsaGenerate', 'rsaPublicKeyPem', 'ecdhP256Keypair', 'ecdhP256Shared', 'ecdsaP256PublicKey', 'ecdsaP256Sign', 'ecdsaP256Verify'] as const) {
      assert.equal(typeof P[m], 'function', m);
    }
    assert.ok(Object.isFrozen(Object.getPrototypeOf(P.createSha256())));
    assert.notEqual(createPortableCrypto(), P);
  });

  test('nothing it loads imports a node: module or a Node built-in (walked through the compiled modules and the @noble packages)', () => {
    const builtins = new Set(builtinModules);
    const start = fileURLToPath(new URL('../../src/lib/crypto/portable.js', import.meta.url));
    const seen = new Set<string>(), found: string[] = [];
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      const specs = [...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]|require\s*\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]!);
      for (const s of specs) {
        if (s.startsWith('node:') || builtins.has(s)) found.push(`${file}: ${s}`);
        else walk(createRequire(file).resolve(s));
      }
    };
    walk(start);
    assert.deepEqual(found, []);
    const files = [...seen];
    for (const pkg of ['@noble/hashes', '@noble/ciphers', '@noble/curves']) assert.ok(files.some((f) => f.includes(`/node_modules/${pkg}/`)), `${pkg} was walked`);
    assert.ok(files.some((f) => f.endsWith('/src/lib/der.js')) && !files.some((f) => /crypto\/(node|pipeline)\.js$/.test(f)), 'the repository modules it loads, without node.ts or pipeline.ts');
  });

  test('what it keeps after use (read through node:inspector): no key, message, MAC, plaintext or secret scalar', async () => {
    const p = createPortableCrypto();
    const key = rnd(16), msg = rnd(48), iv = rnd(12);
    const mac = p.aesCmac128(key, msg, true);
    p.aesCmac128(rnd(16), rnd(700), false);
    const digestIn = rnd(100);
    p.sha256(digestIn);
    const pt = rnd(64);
    const sealed = p.aesGcm128Encrypt(key, iv, pt, msg);
    p.aesGcm128Decrypt(key, iv, sealed.ciphertext, msg, sealed.tag);
    p.aesCtr128(key, rnd(16), pt);
    const okm = p.hkdfSha256(key, msg, msg, 32);
    const e = p.ecdhP256Keypair();
    p.ecdsaP256Sign(e.privateKey, msg);
    const shared = p.ecdhP256Shared(e.privateKey, N.ecdhP256Keypair().publicKey)!;
    const held = await heldBytes(p.aesCmac128);
    assert.ok(held.some((h) => h.includes('3031300d060960864801650304020105000420')), 'the walk reaches the module\'s state (the DigestInfo prefix)');
    for (const [name, secret] of [['CMAC key', key], ['message', msg], ['MAC', mac], ['hashed data', digestIn], ['plaintext', pt], ['HKDF output', okm], ['ECDH private key', e.privateKey], ['ECDH secret', shared]] as [string, Uint8Array][]) {
      assert.ok(!holdsAnyWindow(held, secret), `${name} is held`);
    }
  });
});

// ---- Found in review: inputs the tests above did not try ----------------------------------------

describe('portable provider: node:crypto\'s answers for inputs found in review', () => {
  const k = nc.generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 });
  const pkcs8 = k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pkcs1 = k.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const spki = k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const m = enc('witness');
  const both = (name: string, text: string): void => {
    same((c) => c.rsaPublicNumbers(text), `rsaPublicNumbers: ${name}`);
    same((c) => c.rsaSignSha256(text, m), `rsaSignSha256: ${name}`);
  };

  test('a private key under an RSA PUBLIC KEY label: OpenSSL 3\'s decoder takes the label as RSA\'s, as RSA PRIVATE KEY, and signs with it', () => {
    both('PKCS#1 under RSA PUBLIC KEY', pkcs1.replace(/RSA PRIVATE/g, 'RSA PUBLIC'));
    both('PKCS#8 under RSA PUBLIC KEY', pkcs8.replace(/PRIVATE/g, 'RSA PUBLIC'));
    both('an RSA PUBLIC KEY block of an RSAPublicKey, then PKCS#8', k.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString() + pkcs8);
    both('SPKI, then PKCS#1 under RSA PUBLIC KEY', spki + pkcs1.replace(/RSA PRIVATE/g, 'RSA PUBLIC'));
  });

  test('a PEM block whose data decodes to no bytes does not read (OpenSSL allocates nothing for it), whatever its header', () => {
    const empty = (label: string, header = ''): string => `-----BEGIN ${label}-----\n${header}-----END ${label}-----\n`;
    both('an empty FOO block, then SPKI', empty('FOO') + spki);
    both('a PRIVATE KEY block with a long header and no data, then PKCS#8', empty('PRIVATE KEY', 'Foo: a long header value\n\n') + pkcs8);
    both('a FOO block with a header and no data, then SPKI', empty('FOO', 'Foo: a long header value\n\n') + spki);
    const L = pkcs8.trim().split('\n');
    both('a colon in a data line (all of it a header, no data), then PKCS#1', [L[0], L[1]!.slice(0, 10) + ':' + L[1]!.slice(10), ...L.slice(2)].join('\n') + '\n' + pkcs1);
  });

  test('a NUL in a PEM line ends it there, its line end with it (OpenSSL keeps each line as a C string)', () => {
    const L = pkcs8.trim().split('\n');
    both('a NUL at the start of a data line', [L[0], L[1], '\0' + L[2], ...L.slice(3)].join('\n') + '\n' + spki);
    both('a NUL inside a data line, then PKCS#1', [L[0], L[1]!.slice(0, 20) + '\0' + L[1]!.slice(20), ...L.slice(2)].join('\n') + '\n' + pkcs1);
    both('a NUL in a header line', [L[0], 'Proc-Type: 4,ENC\0RYPTED', '', ...L.slice(1)].join('\n'));
    both('a NUL ending the BEGIN line\'s label', spki.replace('PUBLIC KEY-----\n', 'PUBLIC KEY\0-----\n'));
    both('a NUL ending the END line\'s label', spki.replace('END PUBLIC KEY-----', 'END PUBLIC KEY\0-----'));
  });

  test('PEM lines lose trailing bytes of 0x80 and above as they lose spaces (OpenSSL compares a signed char with \' \')', { skip: process.arch !== 'x64' && 'node:crypto strips them only where char is signed (x86-64)' }, () => {
    const L = pkcs8.trim().split('\n');
    both('a BOM after BEGIN', pkcs8.replace('KEY-----\n', 'KEY-----\uFEFF\n'));
    both('é after a data line', [L[0], L[1] + '\u00e9', ...L.slice(2)].join('\n'));
    both('Latin-1 bytes after the last data line, in a Buffer', Buffer.concat([Buffer.from([L[0], ...L.slice(1, -1)].join('\n')), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n' + L.at(-1) + '\n')]) as unknown as string);
    both('a line of é only, as a blank line', [L[0], 'Foo: bar', '\u00e9', ...L.slice(1)].join('\n'));
  });

  test('detached buffers read as no bytes, as node:crypto reads them (a buffer transferred to another thread)', () => {
    const gone = <T extends ArrayBufferView | ArrayBuffer>(x: T): T => {
      structuredClone(x, { transfer: [(ArrayBuffer.isView(x) ? x.buffer : x) as ArrayBuffer] });
      return x;
    };
    const key = rnd(16), iv = rnd(12);
    for (const [kind, make] of [['Uint8Array', () => gone(rnd(16))], ['Uint16Array', () => gone(new Uint16Array(8))], ['DataView', () => gone(new DataView(new ArrayBuffer(16), 2, 4))]] as [string, () => Uint8Array][]) {
      same((c) => c.sha256(make()), `sha256 of a detached ${kind}`);
      same((c) => {
        const s = c.createSha256();
        s.update(enc('a'));
        s.update(make());
        return s.digest();
      }, `a stream's update with a detached ${kind}`);
      same((c) => c.aesGcm128Encrypt(key, iv, make(), enc('aad')), `GCM: a detached ${kind} plaintext`);
      same((c) => c.aesGcm128Decrypt(key, iv, make(), enc('aad'), N.aesGcm128Encrypt(key, iv, new Uint8Array(0), enc('aad')).tag), `GCM: a detached ${kind} ciphertext`);
      same((c) => c.aesCtr128(key, key, make()), `CTR: detached ${kind} data`);
      same((c) => c.hkdfSha256(make(), key, key, 32), `HKDF: a detached ${kind} ikm`);
      same((c) => c.hkdfSha256(key, make(), key, 32), `HKDF: a detached ${kind} salt`);
      same((c) => c.hkdfSha256(key, key, make(), 32), `HKDF: a detached ${kind} info (a DataView's: node's TypeError reading its byteLength)`);
      const d = new Uint8Array(32).fill(1);
      assert.ok(N.ecdsaP256Verify(N.ecdsaP256PublicKey(d)!, new Uint8Array(0), P.ecdsaP256Sign(d, make())), `ECDSA: a detached ${kind} message signs the empty message`);
    }
    same((c) => c.hkdfSha256(gone(new ArrayBuffer(16)) as unknown as Uint8Array, key, enc('info'), 32), 'HKDF: a detached ArrayBuffer ikm');
  });

  test('BER as OpenSSL\'s d2i reads a key: INTEGER versions minimal and not empty, EOC only to end an indefinite length, parameters checked as an ANY, constructed strings and high tag numbers', () => {
    const H = (h: string): Uint8Array => fromHex(h.replace(/ /g, ''));
    const tlv = (tag: number, ...c: Uint8Array[]): Uint8Array => {
      const b = Uint8Array.from(c.flatMap((x) => [...x]));
      return Uint8Array.of(tag, ...derLength(b.length), ...b);
    };
    const j = k.privateKey.export({ format: 'jwk' });
    const nums = [j.n!, j.e!, j.d!, j.p!, j.q!, j.dp!, j.dq!, j.qi!].map((x) => derInteger(BigInt('0x' + Buffer.from(x, 'base64url').toString('hex'))));
    const rsaPriv = (version = H('020100'), fields = nums): Uint8Array => tlv(0x30, version, ...fields);
    const OID = derOid('1.2.840.113549.1.1.1');
    const alg = (params: Uint8Array): Uint8Array => tlv(0x30, OID, params);
    const pkcs8Of = (version: Uint8Array, params: Uint8Array, key: Uint8Array = tlv(0x04, rsaPriv())): Uint8Array => tlv(0x30, version, alg(params), key);
    const rpk = tlv(0x30, nums[0]!, nums[1]!);
    const spkiOf = (params: Uint8Array, bits: Uint8Array = tlv(0x03, H('00'), rpk)): Uint8Array => tlv(0x30, alg(params), bits);
    const der = (label: string, bytes: Uint8Array): string => `-----BEGIN ${label}-----\n${Buffer.from(bytes).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
    for (const v of ['0200', '02020000', '0202ff80', '020180', '02040000 0001', '020480000000', '02050080000000', '0201ff', '020101']) {
      both(`PKCS#8 version ${v}`, der('PRIVATE KEY', pkcs8Of(H(v), H('0500'))));
      both(`RSAPrivateKey version ${v}`, der('RSA PRIVATE KEY', rsaPriv(H(v))));
    }
    for (const p of ['0500', '050100', '0200', '020100', '02020001', '0100', '0101ff', '010200ff', '0400', '2400', '24020400', '3000', '1000', '3100', '1100', '0000', '2500', '2200', '2600', '0600', '06012a', '0601ff', '060280 01', '0602 8101', 'a000', '8000', '1e0100', '1e020041', '1c0100', '1c0400000041', '1f2200', '3f2200', '9f2200', '1f0100', '1f050100', '1f020100', '1f1e00', '1f87ffffff7f00', '1f8fffffff7f00', '0300', '030100', '030108', '030107ff', '2300', '23030301 00', '0c00', '1700', '0a00', '0a0100']) {
      both(`PKCS#8 parameters ${p}`, der('PRIVATE KEY', pkcs8Of(H('020100'), H(p))));
      both(`SPKI parameters ${p}`, der('PUBLIC KEY', spkiOf(H(p))));
    }
    both('RSAPrivateKey with an EOC after its fields', der('RSA PRIVATE KEY', rsaPriv(undefined, [...nums, H('0000')])));
    both('SPKI with an EOC after its fields', der('PUBLIC KEY', tlv(0x30, alg(H('0500')), tlv(0x03, H('00'), rpk), H('0000'))));
    both('PKCS#8 with a constructed OCTET STRING', der('PRIVATE KEY', pkcs8Of(H('020100'), H('0500'), tlv(0x24, tlv(0x04, rsaPriv())))));
    const p1 = rsaPriv(), cut = 100;
    both('PKCS#8 with a constructed OCTET STRING in two pieces', der('PRIVATE KEY', pkcs8Of(H('020100'), H('0500'), tlv(0x24, tlv(0x04, p1.subarray(0, cut)), tlv(0x04, p1.subarray(cut))))));
    both('PKCS#8 with an indefinite-length constructed OCTET STRING, pieces of any tag', der('PRIVATE KEY', pkcs8Of(H('020100'), H('0500'), Uint8Array.of(0x24, 0x80, ...tlv(0x0c, p1.subarray(0, cut)), ...tlv(0x24, tlv(0x04, p1.subarray(cut))), 0, 0))));
    both('SPKI with a constructed BIT STRING', der('PUBLIC KEY', spkiOf(H('0500'), tlv(0x23, tlv(0x03, H('00'), rpk)))));
    both('SPKI with a constructed BIT STRING in two pieces (the second\'s first octet is data)', der('PUBLIC KEY', spkiOf(H('0500'), tlv(0x23, tlv(0x03, H('00'), rpk.subarray(0, 10)), tlv(0x03, rpk.subarray(10))))));
    for (const deep of [5, 6, 7]) both(`SPKI with a BIT STRING of constructed strings ${deep} deep`, der('PUBLIC KEY', spkiOf(H('0500'), Array.from({ length: deep - 1 }).reduce<Uint8Array>((x) => tlv(0x23, x), tlv(0x23, tlv(0x03, H('00'), rpk))))));
  });

  test('AES-128-GCM encryption into an `out` overlapping the plaintext at another offset: GCM_PARAMS and nothing written, as decryption (node.ts encrypted plaintext it had already overwritten past 64 KiB)', () => {
    const key = rnd(16), iv = rnd(12), aad = enc('aad');
    for (const n of [100, 70_000]) {
      for (const shift of [-5, 5, 16]) {
        const answers = [N, P].map((c) => {
          const buf = rnd(n + 40), before = toHex(buf);
          const o = outcome((x) => x.aesGcm128Encrypt(key, iv, buf.subarray(20, 20 + n), aad, buf.subarray(20 + shift, 20 + shift + n)), c);
          return { o, untouched: toHex(buf) === before };
        });
        assert.deepEqual(answers[0], answers[1], `${n} bytes, shifted ${shift}`);
        assert.deepEqual(answers[1], { o: { threw: 'LibError', code: 'GCM_PARAMS', message: 'AES-128-GCM output overlaps the plaintext at another offset' }, untouched: true }, `${n} bytes, shifted ${shift}`);
      }
      same((c) => {
        const buf = new Uint8Array(n).fill(7);
        const s = c.aesGcm128Encrypt(key, iv, buf, aad, buf);
        return [buf, s.tag];
      }, `${n} bytes in place`);
    }
  });
});

// ---- Helpers --------------------------------------------------------------------------------------

/** DER length octets (X.690 §8.1.3). */
function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return [0x80 | out.length, ...out];
}

/** A self-signed X.509 certificate of an RSA key (RFC 5280 §4.1): v3 with the [0] version, or v1 without it. */
function certificatePem(k: nc.KeyPairKeyObjectResult, v3: boolean): string {
  const alg = derSequence(derOid('1.2.840.113549.1.1.11'), derNull());
  const name = derSequence(derSet(derSequence(derOid('2.5.4.3'), derUtf8String('witness'))));
  const validity = derSequence(derUtcTime(new Date('2024-01-01T00:00:00Z')), derUtcTime(new Date('2034-01-01T00:00:00Z')));
  const spki = new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));
  const fields = [derInteger(12345), alg, name, validity, name, spki];
  const tbs = derSequence(...(v3 ? [derExplicit(0, derInteger(2)), ...fields] : fields));
  const sig = new Uint8Array(nc.sign('sha256', tbs, { key: k.privateKey, padding: nc.constants.RSA_PKCS1_PADDING }));
  const cert = derSequence(tbs, alg, derBitString(sig));
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(cert).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}
