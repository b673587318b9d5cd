import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import fc from 'fast-check';
import { createNodeCrypto, defaultCrypto, fromHex, toHex, LibError } from '../../src/lib/index.js';
import { NO_VECTORS, VEC, vector, vectorText } from '../helpers/vectors.js';
import { openSha256Pipeline, startSha256Pipeline, PIECE_SIZE } from '../../src/lib/crypto/pipeline.js';
import { heldBytes, holdsAnyWindow } from '../helpers/held.js';
import { cmacReference } from '../helpers/cmac.js';
import { runInNewContext } from 'node:vm';

const c = createNodeCrypto();


describe('AES-128-CMAC (RFC 4493 §4)', () => {
  const K = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
  const M64 = fromHex(
    '6bc1bee22e409f96e93d7e117393172a' + 'ae2d8a571e03ac9c9eb76fac45af8e51' + '30c81c46a35ce411e5fbc1191a0a52ef' + 'f69f2445df4f9b17ad2b417be66c3710',
  );
  const cases: [string, number, string][] = [
    ['Example 1: len = 0', 0, 'bb1d6929e95937287fa37d129b756746'],
    ['Example 2: len = 16', 16, '070a16b46b4d4144f79bdd9dd04a287c'],
    ['Example 3: len = 40', 40, 'dfa66747de9ae63030ca32611497c827'],
    ['Example 4: len = 64', 64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ];
  for (const [name, len, mac] of cases) {
    test(name, () => {
      assert.equal(toHex(c.aesCmac128(K, M64.subarray(0, len))), mac);
    });
  }

  test('every message length 0..80 differs from its neighbours and is deterministic', () => {
    const seen = new Set<string>();
    const m = new Uint8Array(80).fill(0);
    for (let len = 0; len <= 80; len++) {
      const t = toHex(c.aesCmac128(K, m.subarray(0, len)));
      assert.equal(t.length, 32);
      assert.equal(toHex(c.aesCmac128(K, m.subarray(0, len))), t);
      seen.add(t);
    }
    assert.equal(seen.size, 81, 'zero-padding ambiguity: two lengths gave the same MAC');
  });

  test('agrees with CMAC computed block by block with AES-ECB (RFC 4493 §2.4), for every length 0..100 and random keys', () => {
    for (let len = 0; len <= 100; len++) {
      const key = new Uint8Array(nc.randomBytes(16)), msg = new Uint8Array(nc.randomBytes(len));
      assert.equal(toHex(c.aesCmac128(key, msg)), cmacReference(key, msg), `length ${len}, key ${toHex(key)}, message ${toHex(msg)}`);
    }
  });

  test('a root key (keep) MACs many messages in a row (its cipher kept, the chain carried on): each agrees with the reference, lengths 0..1100 (past the scratch buffer)', () => {
    const p = createNodeCrypto(); // a fresh provider: nothing kept yet
    const key = new Uint8Array(nc.randomBytes(16));
    for (let len = 0; len <= 1100; len += len < 100 ? 1 : 37) {
      const msg = new Uint8Array(nc.randomBytes(len));
      assert.equal(toHex(p.aesCmac128(key, msg, true)), cmacReference(key, msg), `length ${len}`);
    }
  });

  test('more root keys than are kept, and other keys, interleaved at random (eviction and reuse), each MAC agrees with the reference (property)', () => {
    const p = createNodeCrypto();
    const keys = Array.from({ length: 7 }, () => new Uint8Array(nc.randomBytes(16)));
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(6), fc.boolean(), fc.uint8Array({ maxLength: 90 })), { minLength: 1, maxLength: 40 }), (calls) => {
      for (const [k, keep, msg] of calls) assert.equal(toHex(p.aesCmac128(keys[k]!, msg, keep)), cmacReference(keys[k]!, msg));
    }), { numRuns: 60 });
  });

  test('a key array the caller changes or wipes in place afterwards is a new key (the provider keeps its own copy): Uint8Array, Buffer, a view at an offset', () => {
    const p = createNodeCrypto();
    const msg = new Uint8Array(nc.randomBytes(40));
    const keys: Uint8Array[] = [new Uint8Array(nc.randomBytes(16)), nc.randomBytes(16), new Uint8Array(nc.randomBytes(40)).subarray(7, 23)];
    for (const key of keys) {
      for (const keep of [true, false]) {
        const before = key.slice();
        assert.equal(toHex(p.aesCmac128(key, msg, keep)), cmacReference(key, msg));
        key[5]! ^= 1;
        assert.equal(toHex(p.aesCmac128(key, msg, keep)), cmacReference(key, msg), 'the changed key, not the kept cipher of the old one');
        key.fill(0);
        assert.equal(toHex(p.aesCmac128(new Uint8Array(16), msg, keep)), cmacReference(new Uint8Array(16), msg), 'a zero key MACs under zeros, not under the wiped key');
        key.set(before);
      }
    }
  });

  test('kept root keys that differ in one byte, at each of the 16 positions, are different keys', () => {
    const p = createNodeCrypto();
    const base = new Uint8Array(nc.randomBytes(16)), msg = new Uint8Array(nc.randomBytes(37));
    assert.equal(toHex(p.aesCmac128(base, msg, true)), cmacReference(base, msg));
    for (let i = 0; i < 16; i++) {
      const k = base.slice();
      k[i]! ^= 0x80;
      assert.equal(toHex(p.aesCmac128(k, msg, true)), cmacReference(k, msg), `byte ${i}`);
      assert.equal(toHex(p.aesCmac128(base, msg, true)), cmacReference(base, msg), `the base key again after byte ${i}`);
    }
  });

  test('the message is not kept nor changed, and a MAC is a fresh array', () => {
    const p = createNodeCrypto();
    const msg = new Uint8Array(nc.randomBytes(33)), copy = msg.slice();
    const a = p.aesCmac128(K, msg, true), b = p.aesCmac128(K, msg, true);
    assert.deepEqual(msg, copy);
    assert.notEqual(a.buffer, b.buffer);
    assert.notEqual(a.buffer, msg.buffer);
    a.fill(0);
    assert.equal(toHex(p.aesCmac128(K, msg, true)), toHex(b));
  });

  test('a key that is not a 16-byte Uint8Array, or a message that is not a Uint8Array, is a typed error (also when it poses as one), and the next MAC under a kept key is right', () => {
    const p = createNodeCrypto();
    const msg = new Uint8Array(nc.randomBytes(20));
    assert.equal(toHex(p.aesCmac128(K, msg, true)), cmacReference(K, msg));
    const badKeys: unknown[] = [
      new Uint16Array(16), Array.from(K), new Uint8Array(17), new DataView(K.buffer), new Proxy(K, {}), null,
      Object.setPrototypeOf(new Uint16Array(16), Uint8Array.prototype), // a Uint16Array dressed as a Uint8Array
      Object.defineProperty(new Uint8Array(8), 'length', { value: 16 }), // 8 bytes claiming 16
    ];
    badKeys.forEach((k, i) => {
      for (const keep of [true, false]) assert.throws(() => p.aesCmac128(k as Uint8Array, msg, keep), (e: unknown) => e instanceof LibError && e.code === 'CMAC_KEY', `key ${i}`);
    });
    const detached = new Uint8Array(nc.randomBytes(20));
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const badMessages: unknown[] = [new DataView(msg.buffer), msg.buffer, { length: -1 }, { length: Number.NaN }, Array.from(msg), new Proxy(msg, {}), new Uint16Array(4), Object.setPrototypeOf(new Uint16Array(4), Uint8Array.prototype), detached];
    badMessages.forEach((m, i) => assert.throws(() => p.aesCmac128(K, m as Uint8Array, true), (e: unknown) => e instanceof LibError && e.code === 'CMAC_MESSAGE', `message ${i}`));
    assert.equal(toHex(p.aesCmac128(K, msg, true)), cmacReference(K, msg), 'the kept chain is intact');
  });

  test('a message is MACed over the bytes it holds, whatever its own length property says; a Uint8Array of another realm is a Uint8Array', () => {
    const p = createNodeCrypto();
    const msg = new Uint8Array(nc.randomBytes(20));
    for (const claimed of [4, 40]) {
      const liar = Object.defineProperty(msg.slice(), 'length', { value: claimed });
      assert.equal(toHex(p.aesCmac128(K, liar, true)), cmacReference(K, msg), `claiming ${claimed}`);
    }
    const otherKey = runInNewContext('new Uint8Array(16)') as Uint8Array, otherMsg = runInNewContext('new Uint8Array(20)') as Uint8Array;
    otherKey.set(K);
    otherMsg.set(msg);
    assert.equal(toHex(p.aesCmac128(otherKey, otherMsg, true)), cmacReference(K, msg));
  });

  test('what the provider keeps after MACs under a root and under other keys (read through node:inspector): the root\'s own copy, never a MAC (a derived key) nor any part of a message', async () => {
    const p = createNodeCrypto();
    const root = new Uint8Array(nc.randomBytes(16)), derived = new Uint8Array(nc.randomBytes(16));
    const messages = [48, 20, 0, 700, 1100].map((n) => new Uint8Array(nc.randomBytes(n)));
    const tags = messages.flatMap((m) => [p.aesCmac128(root, m, true), p.aesCmac128(derived, m, false)]);
    const held = await heldBytes(p.aesCmac128);
    assert.ok(holdsAnyWindow(held, root), 'the walk sees the kept root (so it would see the rest)');
    tags.forEach((t, i) => assert.ok(!holdsAnyWindow(held, t), `MAC ${i} is held: ${toHex(t)}`));
    assert.ok(!holdsAnyWindow(held, derived), 'a key not marked keep is not kept');
    messages.forEach((m, i) => assert.ok(!holdsAnyWindow(held, m), `bytes of message ${i} are held`));
  });

  test('a 15-byte key is refused', () => {
    assert.throws(() => c.aesCmac128(new Uint8Array(15), new Uint8Array(1)), (e: unknown) => e instanceof LibError && e.code === 'CMAC_KEY');
  });

  test('any bit flip of the message changes the MAC (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), (m, bit) => {
      const i = bit % (m.length * 8);
      const m2 = m.slice();
      m2[i >> 3]! ^= 1 << (i & 7);
      assert.notEqual(toHex(c.aesCmac128(K, m)), toHex(c.aesCmac128(K, m2)));
    }), { numRuns: 50 });
  });
});

describe('SHA-256 (FIPS 180-4)', () => {
  const abc = new TextEncoder().encode('abc');
  test('"abc"', () => {
    assert.equal(toHex(c.sha256(abc)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
  test('empty string and the 448-bit message', () => {
    assert.equal(toHex(c.sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const m = new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    assert.equal(toHex(c.sha256(m)), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });
  test('streaming, with copies of the state', () => {
    const h = c.createSha256();
    h.update(abc.subarray(0, 1));
    const fork = h.copy();
    h.update(abc.subarray(1));
    fork.update(new TextEncoder().encode('xy'));
    assert.equal(toHex(h.digest()), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(toHex(fork.digest()), toHex(c.sha256(new TextEncoder().encode('axy'))));
  });
});

describe('AES-128-GCM (McGrew & Viega, test cases 1–4)', () => {
  const K4 = fromHex('feffe9928665731c6d6a8f9467308308');
  const IV4 = fromHex('cafebabefacedbaddecaf888');
  const P3 = fromHex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255');
  const C3 = fromHex('42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985');
  const A4 = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');

  test('test case 1: empty plaintext', () => {
    const r = c.aesGcm128Encrypt(new Uint8Array(16), new Uint8Array(12), new Uint8Array(0), new Uint8Array(0));
    assert.equal(toHex(r.ciphertext), '');
    assert.equal(toHex(r.tag), '58e2fccefa7e3061367f1d57a4e7455a');
  });
  test('test case 2: one zero block', () => {
    const r = c.aesGcm128Encrypt(new Uint8Array(16), new Uint8Array(12), new Uint8Array(16), new Uint8Array(0));
    assert.equal(toHex(r.ciphertext), '0388dace60b6a392f328c2b971b2fe78');
    assert.equal(toHex(r.tag), 'ab6e47d42cec13bdf53a67b21257bddf');
  });
  test('test case 3: 64 bytes, no AAD', () => {
    const r = c.aesGcm128Encrypt(K4, IV4, P3, new Uint8Array(0));
    assert.equal(toHex(r.ciphertext), toHex(C3));
    assert.equal(toHex(r.tag), '4d5c2af327cd64a62cf35abd2ba6fab4');
  });
  test('test case 4: 60 bytes with AAD, and decryption', () => {
    const r = c.aesGcm128Encrypt(K4, IV4, P3.subarray(0, 60), A4);
    assert.equal(toHex(r.ciphertext), toHex(C3.subarray(0, 60)));
    assert.equal(toHex(r.tag), '5bc94fbc3221a5db94fae95ae7121a47');
    const pt = c.aesGcm128Decrypt(K4, IV4, r.ciphertext, A4, r.tag);
    assert.ok(pt);
    assert.equal(toHex(pt), toHex(P3.subarray(0, 60)));
  });
  test('a wrong tag, AAD or ciphertext bit gives null', () => {
    const r = c.aesGcm128Encrypt(K4, IV4, P3.subarray(0, 60), A4);
    const badTag = r.tag.slice();
    badTag[0]! ^= 1;
    assert.equal(c.aesGcm128Decrypt(K4, IV4, r.ciphertext, A4, badTag), null);
    const badAad = A4.slice();
    badAad[19]! ^= 0x80;
    assert.equal(c.aesGcm128Decrypt(K4, IV4, r.ciphertext, badAad, r.tag), null);
    const badCt = r.ciphertext.slice();
    badCt[59]! ^= 1;
    assert.equal(c.aesGcm128Decrypt(K4, IV4, badCt, A4, r.tag), null);
  });
  test('encrypting into a caller\'s buffer gives the same ciphertext and tag (across 64 KiB pieces)', () => {
    for (const n of [0, 60, 65536, 200_003]) {
      const pt = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
      const plain = c.aesGcm128Encrypt(K4, IV4, pt, A4);
      const out = new Uint8Array(n + 10).fill(0xee);
      const into = c.aesGcm128Encrypt(K4, IV4, pt, A4, out.subarray(5));
      assert.equal(toHex(into.tag), toHex(plain.tag), `tag, ${n} bytes`);
      assert.equal(toHex(into.ciphertext), toHex(plain.ciphertext), `ciphertext, ${n} bytes`);
      assert.equal(into.ciphertext.buffer, out.buffer, 'written in place');
      assert.deepEqual([...out.subarray(0, 5), ...out.subarray(5 + n)], new Array(10).fill(0xee), 'nothing written outside');
    }
    assert.equal(toHex(c.aesGcm128Encrypt(K4, IV4, P3, new Uint8Array(0), new Uint8Array(64)).ciphertext), toHex(C3));
  });
  test("decrypting into a caller's buffer, or in place over the ciphertext, gives the plaintext (across 64 KiB pieces); a tag that does not verify leaves zeros there", () => {
    for (const n of [60, 65536, 200_003]) {
      const pt = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 0xff);
      const sealed = c.aesGcm128Encrypt(K4, IV4, pt, A4);
      const out = new Uint8Array(n + 10).fill(0xee);
      const into = c.aesGcm128Decrypt(K4, IV4, sealed.ciphertext, A4, sealed.tag, out.subarray(5));
      assert.ok(into);
      assert.equal(toHex(into), toHex(pt), `${n} bytes into another buffer`);
      assert.equal(into.buffer, out.buffer);
      assert.deepEqual([...out.subarray(0, 5), ...out.subarray(5 + n)], new Array(10).fill(0xee), 'nothing written outside');
      const ct = sealed.ciphertext.slice();
      const inPlace = c.aesGcm128Decrypt(K4, IV4, ct, A4, sealed.tag, ct);
      assert.ok(inPlace);
      assert.equal(toHex(ct), toHex(pt), `${n} bytes in place`);
      const bad = sealed.ciphertext.slice();
      bad[n - 1]! ^= 1;
      assert.equal(c.aesGcm128Decrypt(K4, IV4, bad, A4, sealed.tag, bad), null);
      assert.ok(bad.every((b) => b === 0), `${n} bytes: a failed decryption in place leaves zeros, no unauthenticated plaintext`);
    }
  });
  test('bad parameters are LibError GCM_PARAMS', () => {
    const gcmParams = (e: unknown) => e instanceof LibError && e.code === 'GCM_PARAMS';
    const sealed = c.aesGcm128Encrypt(K4, IV4, P3, A4);
    assert.throws(() => c.aesGcm128Decrypt(K4, IV4, sealed.ciphertext, A4, sealed.tag, new Uint8Array(63)), gcmParams, 'an output shorter than the ciphertext');
    const both = new Uint8Array(80);
    both.set(sealed.ciphertext, 8);
    for (const shift of [-8, -1, 1, 8]) {
      assert.throws(() => c.aesGcm128Decrypt(K4, IV4, both.subarray(8, 72), A4, sealed.tag, both.subarray(8 + shift, 72 + shift)), gcmParams, `an output overlapping the ciphertext ${shift} bytes off`);
    }
    assert.equal(toHex(both.subarray(8, 72)), toHex(sealed.ciphertext), 'refused before anything was written');
    assert.throws(() => c.aesGcm128Encrypt(K4, IV4, P3, A4, new Uint8Array(63)), (e: unknown) => e instanceof LibError && e.code === 'GCM_PARAMS');
    assert.throws(() => c.aesGcm128Encrypt(K4, new Uint8Array(16), P3, A4), (e: unknown) => e instanceof LibError && e.code === 'GCM_PARAMS');
    assert.throws(() => c.aesGcm128Decrypt(K4, IV4, P3, A4, new Uint8Array(8)), (e: unknown) => e instanceof LibError && e.code === 'GCM_PARAMS');
  });
});

describe('AES-128-CTR (NIST SP 800-38A F.5.1)', () => {
  test('CTR-AES128.Encrypt', () => {
    const K = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
    const ctr = fromHex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    const P = fromHex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
    const C = '874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee';
    assert.equal(toHex(c.aesCtr128(K, ctr, P)), C);
    assert.equal(toHex(c.aesCtr128(K, ctr, fromHex(C))), toHex(P));
  });
});

describe('HKDF-SHA256 (RFC 5869)', () => {
  test('test case 1', () => {
    const okm = c.hkdfSha256(new Uint8Array(22).fill(0x0b), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    assert.equal(toHex(okm), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });
});

describe('randomness and the default provider', () => {
  test('randomBytes has the requested length and is not constant', () => {
    const a = c.randomBytes(32), b = c.randomBytes(32);
    assert.equal(a.length, 32);
    assert.notEqual(toHex(a), toHex(b));
  });
  test('randomBytes, served from a block for small requests: every length 0..300, each result its own array, no bytes handed out twice across blocks', () => {
    const p = createNodeCrypto();
    const seen = new Set<string>();
    let total = 0;
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n <= 300; n++) {
        const r = p.randomBytes(n);
        assert.ok(r instanceof Uint8Array);
        assert.equal(r.length, n);
        assert.equal(r.byteLength, r.buffer.byteLength, 'not a view into a shared block');
        total += n;
        // 8-byte windows of fresh randomness repeat with probability ~2^-64 each.
        for (let i = 0; i + 8 <= n; i += 8) {
          const w = toHex(r.subarray(i, i + 8));
          assert.ok(!seen.has(w), `bytes handed out twice (request ${n}, offset ${i})`);
          seen.add(w);
        }
      }
    }
    assert.ok(total > 3 * 4096, 'the requests spanned several blocks');
  });
  test('random bytes handed out are not kept in the provider\'s block (read through node:inspector)', async () => {
    const p = createNodeCrypto();
    const given = [p.randomBytes(32), p.randomBytes(16), p.randomBytes(200)];
    const held = await heldBytes(p.randomBytes);
    assert.ok(held.some((h) => h.length === 2 * 4096 && !/^0+$/.test(h)), 'the walk sees the block and its bytes not yet handed out');
    given.forEach((g, i) => assert.ok(!holdsAnyWindow(held, g), `bytes handed out (${i}) are still held`));
  });
  test('randomBytes answers odd lengths as node:crypto does (a negative one or NaN: RangeError; a fraction: its length)', () => {
    for (const n of [-1, Number.NaN, 2 ** 31]) assert.throws(() => c.randomBytes(n), RangeError, String(n));
    assert.equal(c.randomBytes(1.5).length, nc.randomBytes(1.5).length);
  });
  test('defaultCrypto is one shared provider', () => {
    assert.equal(defaultCrypto(), defaultCrypto());
  });
});

describe('RSA', () => {
  test('sig1.key.pem: public numbers, MRSIGNER, PKCS#1 v1.5 signature as node:crypto verifies it', { skip: NO_VECTORS }, () => {
    const pem = vectorText('sig1.key.pem');
    const { modulus, exponent } = c.rsaPublicNumbers(pem);
    assert.equal(exponent, 3n);
    assert.equal(modulus.length, 384);
    assert.equal(toHex(Uint8Array.from(modulus).reverse()), toHex(vector('sig1.key_n.bin')));
    assert.equal(toHex(c.sha256(Uint8Array.from(modulus).reverse())), VEC.sig1Mrsigner);
    const msg = new TextEncoder().encode('witness');
    const sig = c.rsaSignSha256(pem, msg);
    assert.equal(sig.length, 384);
    const pub = c.rsaPublicKeyPem(modulus, exponent);
    assert.equal(nc.verify('sha256', msg, { key: pub, padding: nc.constants.RSA_PKCS1_PADDING }, sig), true);
    assert.equal(nc.verify('sha256', new TextEncoder().encode('witnesS'), { key: pub, padding: nc.constants.RSA_PKCS1_PADDING }, sig), false);
    assert.deepEqual(c.rsaPublicNumbers(pub), { modulus, exponent });
  });
  test('a non-key is LibError RSA_KEY_INVALID', () => {
    assert.throws(() => c.rsaPublicNumbers('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), (e: unknown) => e instanceof LibError && e.code === 'RSA_KEY_INVALID');
    const ec = nc.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.throws(() => c.rsaPublicNumbers(ec), (e: unknown) => e instanceof LibError && e.code === 'RSA_KEY_INVALID');
  });
});

describe('ECDH P-256', () => {
  test('key pairs: the private key is always 32 bytes and gives its public key (drawn until some start with a zero byte, which node:crypto drops)', () => {
    let zeroLed = 0;
    for (let i = 0; i < 1500 || (zeroLed < 2 && i < 40_000); i++) {
      const k = c.ecdhP256Keypair();
      if (k.privateKey[0] === 0) zeroLed++;
      assert.equal(k.privateKey.length, 32);
      assert.equal(k.publicKey.length, 64);
      // The private key as returned reproduces the public key.
      const e = nc.createECDH('prime256v1');
      e.setPrivateKey(k.privateKey);
      assert.equal(toHex(e.getPublicKey().subarray(1)), toHex(k.publicKey));
    }
    assert.ok(zeroLed >= 2, `${zeroLed} keys with a leading zero byte were drawn`);
  });
  test('a private key with leading zero bytes agrees with its peer; a point off the curve gives null', () => {
    const priv = new Uint8Array(32);
    priv.set(nc.randomBytes(30), 2); // 0x0000…: two leading zero bytes
    const mine = nc.createECDH('prime256v1');
    mine.setPrivateKey(priv);
    const peer = c.ecdhP256Keypair();
    const a = c.ecdhP256Shared(priv, peer.publicKey);
    const b = c.ecdhP256Shared(peer.privateKey, new Uint8Array(mine.getPublicKey().subarray(1)));
    assert.ok(a && b);
    assert.equal(a.length, 32);
    assert.equal(toHex(a), toHex(b));
    assert.equal(c.ecdhP256Shared(priv, new Uint8Array(64).fill(1)), null);
    assert.throws(() => c.ecdhP256Shared(priv.subarray(1), peer.publicKey), (e: unknown) => e instanceof LibError && e.code === 'ECDH_PARAMS');
  });
});

describe('ECDSA P-256', () => {
  // RFC 6979 appendix A.2.5: the P-256 key, and its deterministic SHA-256 signature of "sample".
  const RFC6979_D = fromHex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
  const RFC6979_Q = fromHex('60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6' + '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299');
  const RFC6979_SIG = fromHex('efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716' + 'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8');
  const sample = new TextEncoder().encode('sample');
  test('RFC 6979 A.2.5: the public key of d, and its signature of "sample" verifies', () => {
    assert.equal(toHex(c.ecdsaP256PublicKey(RFC6979_D)!), toHex(RFC6979_Q));
    assert.equal(c.ecdsaP256Verify(RFC6979_Q, sample, RFC6979_SIG), true);
    const bad = RFC6979_SIG.slice();
    bad[63] ^= 1;
    assert.equal(c.ecdsaP256Verify(RFC6979_Q, sample, bad), false);
    assert.equal(c.ecdsaP256Verify(RFC6979_Q, new TextEncoder().encode('test'), RFC6979_SIG), false);
  });
  test('sign then verify (r ‖ s, 64 bytes); another key, a point off the curve or a short signature is false', () => {
    const sig = c.ecdsaP256Sign(RFC6979_D, sample);
    assert.equal(sig.length, 64);
    assert.equal(c.ecdsaP256Verify(RFC6979_Q, sample, sig), true);
    const other = c.ecdhP256Keypair();
    assert.equal(c.ecdsaP256Verify(other.publicKey, sample, sig), false);
    assert.equal(c.ecdsaP256Verify(new Uint8Array(64).fill(1), sample, sig), false);
    assert.equal(c.ecdsaP256Verify(RFC6979_Q, sample, sig.subarray(1)), false);
    // node:crypto agrees (an independent check of the r ‖ s form).
    const pub = nc.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(RFC6979_Q.subarray(0, 32)).toString('base64url'), y: Buffer.from(RFC6979_Q.subarray(32)).toString('base64url') }, format: 'jwk' });
    assert.equal(nc.verify('sha256', sample, { key: pub, dsaEncoding: 'ieee-p1363' }, sig), true);
  });
  test('scalars outside [1, n-1] have no public key and cannot sign; a wrong length is ECDSA_PARAMS', () => {
    const n = fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    const nMinus1 = n.slice();
    nMinus1[31]! -= 1;
    assert.equal(c.ecdsaP256PublicKey(new Uint8Array(32)), null);
    assert.equal(c.ecdsaP256PublicKey(n), null);
    assert.equal(c.ecdsaP256PublicKey(new Uint8Array(32).fill(0xff)), null);
    assert.equal(c.ecdsaP256PublicKey(nMinus1)?.length, 64);
    assert.throws(() => c.ecdsaP256Sign(n, sample), (e: unknown) => e instanceof LibError && e.code === 'ECDSA_PARAMS');
    assert.throws(() => c.ecdsaP256PublicKey(RFC6979_D.subarray(1)), (e: unknown) => e instanceof LibError && e.code === 'ECDSA_PARAMS');
  });
});

describe('SHA-256 on the hashing thread (pipeline.ts)', () => {
  test('the thread starts asynchronously: it runs within a few seconds of the first request', () => {
    assert.equal(startSha256Pipeline(10_000), true);
  });

  test('pieces of every size hash to SHA-256 of their concatenation; peeks see the stream so far', () => {
    const p = openSha256Pipeline();
    assert.ok(p, 'worker threads are available here');
    const all: Buffer[] = [];
    const sizes = [0, 1, 63, 64, 65, 4096, PIECE_SIZE - 1, PIECE_SIZE, 12345];
    for (const n of sizes) {
      const bytes = nc.randomBytes(n);
      p.buffer.set(bytes);
      all.push(bytes);
      if (n === 4096) {
        assert.equal(toHex(p.digest(n, false)), nc.createHash('sha256').update(Buffer.concat(all)).digest('hex'));
        continue;
      }
      p.submit(n);
    }
    assert.equal(toHex(p.digest(0, true)), nc.createHash('sha256').update(Buffer.concat(all)).digest('hex'));
    assert.throws(() => p.submit(1), (e: unknown) => e instanceof LibError && e.code === 'HASH_PIPELINE_CLOSED');
    assert.throws(() => p.digest(0, true), (e: unknown) => e instanceof LibError && e.code === 'HASH_PIPELINE_CLOSED');
    p.close(); // closing an ended stream does nothing
  });

  test('interleaved streams stay apart; at most 8 streams hold buffers, and a closed one makes room', () => {
    const streams = Array.from({ length: 8 }, () => openSha256Pipeline());
    assert.ok(streams.every((s) => s !== null));
    assert.equal(openSha256Pipeline(), null, 'a ninth stream hashes in its own thread');
    const data = streams.map((_, i) => nc.randomBytes(3 * PIECE_SIZE + i));
    for (let piece = 0; piece < 3; piece++) {
      streams.forEach((s, i) => {
        s!.buffer.set(data[i]!.subarray(piece * PIECE_SIZE, (piece + 1) * PIECE_SIZE));
        s!.submit(PIECE_SIZE);
      });
    }
    streams[7]!.close();
    const again = openSha256Pipeline();
    assert.ok(again, 'the closed stream made room');
    again.close();
    streams.slice(0, 7).forEach((s, i) => {
      s!.buffer.set(data[i]!.subarray(3 * PIECE_SIZE));
      assert.equal(toHex(s!.digest(i, true)), nc.createHash('sha256').update(data[i]!).digest('hex'));
    });
  });
});
