/**
 * SIGSTRUCT signatures (specs/sgx.md §3, §16.2, §16.3) and the format checks of EINIT step 2.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { defaultCrypto, toHex, fromHex, leBytesToBigInt, beBytesToBigInt, modPow, writeU32le, writeU64le } from '../../src/lib/index.js';
import {
  verifySigstructSignature, describeSigstructFormat, computeQ1Q2, mrsignerOf, pkcs1v15Sha256Em, rsaIntToSigstructBytes, sigstructSignedBytes,
  PKCS1_5_PADDING, SIGSTRUCT_FLAGS_DEFINED,
} from '../../src/arch/index.js';
import { NO_VECTORS, VEC, vector, vectorText } from '../helpers/vectors.js';
import { signSigstruct, signingKeyFromPem, testKey } from '../helpers/signing.js';

const crypto = defaultCrypto();

describe('the raw RSA vector (sig1.*.bin, §16.3)', () => {
  test('sig³ mod n is the PKCS#1 v1.5 encoding of the digest; its top 352 bytes are the hard-coded padding', { skip: NO_VECTORS }, () => {
    const s = leBytesToBigInt(vector('sig1.sig.bin'));
    const n = leBytesToBigInt(vector('sig1.key_n.bin'));
    const digest = vector('sig1.data.bin');
    assert.equal(digest.length, 32);
    const em = pkcs1v15Sha256Em(digest);
    assert.equal(em.length, 384);
    assert.equal(modPow(s, 3n, n), beBytesToBigInt(em));
    assert.deepEqual(em.subarray(0, 352), PKCS1_5_PADDING);
    assert.equal(toHex(PKCS1_5_PADDING.subarray(0, 3)), '0001ff');
    assert.equal(toHex(PKCS1_5_PADDING.subarray(331)), 'ff003031300d060960864801650304020105000420');
    const other = digest.slice();
    other[0]! ^= 1;
    assert.notEqual(modPow(s, 3n, n), beBytesToBigInt(pkcs1v15Sha256Em(other)));
  });

  test('computeQ1Q2 reproduces sig1.q1.bin and sig1.q2.bin', { skip: NO_VECTORS }, () => {
    const s = leBytesToBigInt(vector('sig1.sig.bin'));
    const n = leBytesToBigInt(vector('sig1.key_n.bin'));
    const { q1, q2 } = computeQ1Q2(s, n);
    assert.equal(toHex(rsaIntToSigstructBytes(q1)), toHex(vector('sig1.q1.bin')));
    assert.equal(toHex(rsaIntToSigstructBytes(q2)), toHex(vector('sig1.q2.bin')));
    // the definitions of §3.1 step 7
    assert.equal(q1, (s * s) / n);
    assert.equal(q2, (s * s * s - q1 * s * n) / n);
  });
});

describe('SIGSTRUCT verification', () => {
  test('sig1.sigstruct.bin verifies; MRSIGNER and signed-bytes digest as in §16.2', { skip: NO_VECTORS }, () => {
    const sig = vector('sig1.sigstruct.bin');
    const r = verifySigstructSignature(sig, crypto);
    assert.equal(r.valid, true, r.reason ?? '');
    assert.equal(r.reason, null);
    assert.equal(toHex(r.mrsigner), VEC.sig1Mrsigner);
    assert.equal(toHex(mrsignerOf(sig, crypto)), VEC.sig1Mrsigner);
    assert.equal(toHex(r.digest), 'ea7ced3b8c78324bce65ad851152a125fd1989df324dc72b244ed5f44573ac95');
    assert.deepEqual(r.padding, PKCS1_5_PADDING);
    assert.deepEqual(describeSigstructFormat(sig), []);
  });

  test('test_enclave.sig verifies; MRSIGNER and digest as in §16.1', { skip: NO_VECTORS }, () => {
    const sig = vector('test_enclave.sig');
    const r = verifySigstructSignature(sig, crypto);
    assert.equal(r.valid, true, r.reason ?? '');
    assert.equal(toHex(r.mrsigner), VEC.testEnclaveMrsigner);
    assert.equal(toHex(r.digest), '4a106038882a9de40d1d1bcbaadc7973ce0fe41185f340a989ce3bf1afb65b6f');
    assert.deepEqual(describeSigstructFormat(sig), []);
  });

  test('the test signer reproduces sig1.sigstruct.bin byte for byte from the README inputs', { skip: NO_VECTORS }, () => {
    const key = signingKeyFromPem(vectorText('sig1.key.pem'));
    assert.equal(toHex(key.mrsigner), VEC.sig1Mrsigner);
    const sig = signSigstruct(key, {
      enclaveHash: fromHex(VEC.sig1EnclaveHash), date: 0x20160109, vendor: 0, miscSelect: 0, miscMask: 0xffffffff,
      flags: 4n, xfrm: 3n, flagsMask: 0xfffffffffffffffdn, xfrmMask: 0xffffffffffffff1bn, isvProdId: 0, isvSvn: 0,
    });
    assert.equal(toHex(sig), toHex(vector('sig1.sigstruct.bin')));
  });

  test('a freshly generated key signs SIGSTRUCTs that verify', () => {
    const key = testKey(0);
    const sig = signSigstruct(key, { enclaveHash: new Uint8Array(32).fill(1) });
    const r = verifySigstructSignature(sig, crypto);
    assert.equal(r.valid, true, r.reason ?? '');
    assert.deepEqual(r.mrsigner, key.mrsigner);
    assert.deepEqual(r.digest, crypto.sha256(sigstructSignedBytes(sig)));
  });
});

/** Single-bit flips in each region of a signed SIGSTRUCT. */
function flipSuite(name: string, skip: string | false, load: () => Uint8Array): void {
  describe(`single-bit flips: ${name}`, () => {
    const regions: [string, number, number, boolean][] = [
      ['signed bytes [0,128)', 0, 128, false],
      ['signed bytes [900,1028)', 900, 1028, false],
      ['MODULUS', 128, 512, false],
      ['SIGNATURE', 516, 900, false],
      ['Q1', 1040, 1424, false],
      ['Q2', 1424, 1808, false],
      // not covered by the signature: still valid (the format check catches them instead)
      ['EXPONENT', 512, 516, true],
      ['reserved [1028,1040)', 1028, 1040, true],
    ];
    for (const [region, from, to, stillValid] of regions) {
      test(`${region} → ${stillValid ? 'signature still valid' : 'invalid'}`, { skip }, () => {
        const sig = load();
        assert.equal(verifySigstructSignature(sig, crypto).valid, true);
        fc.assert(fc.property(fc.integer({ min: from * 8, max: to * 8 - 1 }), (bit) => {
          const bad = sig.slice();
          bad[bit >> 3]! ^= 1 << (bit & 7);
          const r = verifySigstructSignature(bad, crypto);
          assert.equal(r.valid, stillValid, `bit ${bit}: ${r.reason}`);
          if (!r.valid) {
            assert.equal(r.padding, null);
            assert.equal(typeof r.reason, 'string');
          }
          if (stillValid) assert.notDeepEqual(describeSigstructFormat(bad), []);
        }), { numRuns: 40 });
      });
    }
  });
}
flipSuite('sig1.sigstruct.bin', NO_VECTORS, () => vector('sig1.sigstruct.bin'));
flipSuite('a SIGSTRUCT signed with a fresh key', false, () => signSigstruct(testKey(0), { enclaveHash: new Uint8Array(32).fill(0x5c), isvProdId: 3 }));

describe('verification edge cases', () => {
  function base(): Uint8Array {
    return signSigstruct(testKey(0), { enclaveHash: new Uint8Array(32) });
  }
  test('an even or zero modulus is invalid', () => {
    const z = base();
    z.fill(0, 128, 512);
    assert.match(verifySigstructSignature(z, crypto).reason!, /modulus/);
    const even = base();
    even[128]! &= 0xfe;
    assert.match(verifySigstructSignature(even, crypto).reason!, /modulus/);
  });
  test('a signature ≥ the modulus is invalid', () => {
    const s = base();
    s.set(s.subarray(128, 512), 516);
    assert.match(verifySigstructSignature(s, crypto).reason!, /signature/);
  });
  test('Q1 and Q2 of another signature are rejected even if s³ mod n is right', () => {
    const a = base();
    const b = signSigstruct(testKey(0), { enclaveHash: new Uint8Array(32).fill(1) });
    const mixed = a.slice();
    mixed.set(b.subarray(1040, 1808), 1040);
    assert.match(verifySigstructSignature(mixed, crypto).reason!, /Q1/);
    const q2only = a.slice();
    q2only.set(b.subarray(1424, 1808), 1424);
    assert.match(verifySigstructSignature(q2only, crypto).reason!, /Q2/);
  });
  test('computeQ1Q2 satisfies the hardware check for random s < n (property)', () => {
    const n = testKey(0).n;
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: n - 1n }), (s) => {
      const { q1, q2 } = computeQ1Q2(s, n);
      const r1 = s * s - q1 * n;
      const r2 = s * r1 - q2 * n;
      assert.ok(r1 >= 0n && r1 < n);
      assert.ok(r2 >= 0n && r2 < n);
      assert.equal(r2, modPow(s, 3n, n));
      assert.deepEqual(rsaIntToSigstructBytes(q1).length, 384);
    }), { numRuns: 50 });
  });
});

describe('describeSigstructFormat (EINIT step 2)', () => {
  const good = () => signSigstruct(testKey(0), { enclaveHash: new Uint8Array(32) });

  test('a standard SIGSTRUCT has no problems; a wrong length is one problem', () => {
    assert.deepEqual(describeSigstructFormat(good()), []);
    assert.equal(describeSigstructFormat(new Uint8Array(1807)).length, 1);
  });

  const problems: [string, (s: Uint8Array) => void, RegExp][] = [
    ['HEADER byte 0', (s) => { s[0] = 5; }, /HEADER/],
    ['HEADER byte 4', (s) => { s[4] = 0xe2; }, /HEADER/],
    ['HEADER byte 10', (s) => { s[10] = 0; }, /HEADER/],
    ['TYPE dword 1', (s) => writeU32le(s, 12, 1), /TYPE/],
    ['TYPE dword 0x80000001', (s) => writeU32le(s, 12, 0x80000001), /TYPE/],
    ['VENDOR 1', (s) => writeU32le(s, 16, 1), /VENDOR/],
    ['VENDOR 0x80860000', (s) => writeU32le(s, 16, 0x80860000), /VENDOR/],
    ['HEADER2 byte 24', (s) => { s[24] = 0; }, /HEADER2/],
    ['HEADER2 byte 36', (s) => { s[36] = 2; }, /HEADER2/],
    ['EXPONENT 65537', (s) => writeU32le(s, 512, 65537), /EXPONENT/],
    ['EXPONENT 0', (s) => writeU32le(s, 512, 0), /EXPONENT/],
    ['reserved 44', (s) => { s[44] = 1; }, /reserved bytes 44\.\.127/],
    ['reserved 127', (s) => { s[127] = 1; }, /reserved bytes 44\.\.127/],
    ['reserved 910', (s) => { s[910] = 1; }, /reserved bytes 910\.\.911/],
    ['reserved 911', (s) => { s[911] = 1; }, /reserved bytes 910\.\.911/],
    ['reserved 992', (s) => { s[992] = 1; }, /reserved bytes 992\.\.1007/],
    ['reserved 1007', (s) => { s[1007] = 1; }, /reserved bytes 992\.\.1007/],
    ['reserved 1028', (s) => { s[1028] = 1; }, /reserved bytes 1028\.\.1039/],
    ['reserved 1039', (s) => { s[1039] = 1; }, /reserved bytes 1028\.\.1039/],
    ['ATTRIBUTES bit 3', (s) => { s[928]! |= 8; }, /ATTRIBUTES/],
    ['ATTRIBUTES bit 8', (s) => { s[929]! |= 1; }, /ATTRIBUTES/],
    ['ATTRIBUTES bit 11', (s) => { s[929]! |= 8; }, /ATTRIBUTES/],
    ['ATTRIBUTES bit 63', (s) => { s[935]! |= 0x80; }, /ATTRIBUTES/],
  ];
  for (const [name, f, re] of problems) {
    test(`${name} → exactly one problem`, () => {
      const s = good();
      f(s);
      const p = describeSigstructFormat(s);
      assert.equal(p.length, 1, p.join('; '));
      assert.match(p[0]!, re);
    });
  }

  test('TYPE dword 0x80000000 is accepted unless strict', () => {
    const s = good();
    writeU32le(s, 12, 0x80000000);
    assert.deepEqual(describeSigstructFormat(s), []);
    assert.deepEqual(describeSigstructFormat(s, false), []);
    assert.equal(describeSigstructFormat(s, true).length, 1);
    assert.deepEqual(describeSigstructFormat(good(), true), []);
  });

  test('VENDOR 0x8086 is accepted', () => {
    const s = good();
    writeU32le(s, 16, 0x8086);
    assert.deepEqual(describeSigstructFormat(s), []);
  });

  test('every defined ATTRIBUTES bit is accepted; ATTRIBUTEMASK, ISVFAMILYID, SWDEFINED and DATE are not format checks', () => {
    assert.equal(SIGSTRUCT_FLAGS_DEFINED, 0x1n | 0x2n | 0x4n | 0x10n | 0x20n | 0x40n | 0x80n | 0x400n);
    const s = good();
    writeU64le(s, 928, SIGSTRUCT_FLAGS_DEFINED);
    writeU64le(s, 944, 0n); // reserved mask bits "must be 1" is not enforced (§17 #17)
    s.fill(1, 912, 928);
    writeU32le(s, 40, 0xffffffff);
    writeU32le(s, 20, 0);
    assert.deepEqual(describeSigstructFormat(s), []);
  });

  test('several problems are all reported', () => {
    const s = good();
    s[0] = 0;
    writeU32le(s, 16, 2);
    writeU32le(s, 512, 5);
    assert.equal(describeSigstructFormat(s).length, 3);
  });
});
