/**
 * The trusted runtime's ECDSA P-256 imports (witness_ecdsa_public, witness_ecdsa_sign: the
 * counterparts of sgx_ecc256_calculate_pub_from_priv and sgx_ecdsa_sign) from C: the public key
 * of a known scalar (RFC 6979 A.2.5), signatures that node:crypto verifies, and SGX_ERROR_INVALID_PARAMETER
 * for a scalar outside [1, n−1] and for NULL or out-of-memory pointers, with the output untouched.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { fromHex, toHex, defaultCrypto } from '../../src/lib/index.js';
import type { HostEnclave } from '../../src/sdk/index.js';
import { newPlatform, loadFixture, STATUS } from '../helpers/sdk.js';

const D = fromHex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
const Q = fromHex('60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299');
const N = fromHex('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function nodeVerify(pub: Uint8Array, data: Uint8Array, sig: Uint8Array): boolean {
  const key = nc.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(0, 32)).toString('base64url'), y: Buffer.from(pub.subarray(32)).toString('base64url') }, format: 'jwk' });
  return nc.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
}

describe('runtime imports: ECDSA P-256', () => {
  let e: HostEnclave;
  before(() => {
    e = loadFixture(newPlatform(), 'ecdsa');
  });

  test('witness_ecdsa_public: the RFC 6979 A.2.5 key gives its public point', () => {
    const pub = new Uint8Array(64);
    assert.equal(e.ecall('t_public', [D, pub]), STATUS.SUCCESS);
    assert.equal(toHex(pub), toHex(Q));
  });

  test('witness_ecdsa_sign: r ‖ s over SHA-256 of the data, verified by node:crypto; other data does not verify', () => {
    const data = new TextEncoder().encode('a quote body');
    const sig = new Uint8Array(64);
    assert.equal(e.ecall('t_sign', [data, data.length, D, sig]), STATUS.SUCCESS);
    assert.equal(nodeVerify(Q, data, sig), true);
    assert.equal(defaultCrypto().ecdsaP256Verify(Q, data, sig), true);
    assert.equal(nodeVerify(Q, new TextEncoder().encode('a quote bodY'), sig), false);
    const empty = new Uint8Array(64);
    assert.equal(e.ecall('t_sign', [new Uint8Array(0), 0, D, empty]), STATUS.SUCCESS, 'empty data can be signed');
    assert.equal(nodeVerify(Q, new Uint8Array(0), empty), true);
  });

  test('a scalar of 0, n or all ones is INVALID_PARAMETER for both, and nothing is written (the [out] buffers come back as the bridge zeroed them)', () => {
    for (const bad of [new Uint8Array(32), N, new Uint8Array(32).fill(0xff)]) {
      const pub = new Uint8Array(64).fill(0xaa), sig = new Uint8Array(64).fill(0xbb);
      assert.equal(e.ecall('t_public', [bad, pub]), STATUS.INVALID_PARAMETER);
      assert.equal(e.ecall('t_sign', [new Uint8Array(4), 4, bad, sig]), STATUS.INVALID_PARAMETER);
      assert.ok(pub.every((b) => b === 0) && sig.every((b) => b === 0));
    }
  });

  test('NULL or out-of-memory pointers are INVALID_PARAMETER', () => {
    const FAR = 0x7fff_fff0;
    // public: (priv, pub); 1 = a buffer inside the module
    for (const [a, b] of [[0, 1], [1, 0], [FAR, 1], [1, FAR]] as const) assert.equal(e.ecall('t_raw', [0, a, b, 0, 0]), STATUS.INVALID_PARAMETER, `public(${a}, ${b})`);
    // sign: (data, len, priv, sig)
    for (const [a, len, c, d] of [[0, 4, 1, 1], [1, 4, 0, 1], [1, 4, 1, 0], [FAR, 64, 1, 1], [1, 4, FAR, 1], [1, 4, 1, FAR], [1, 0x10_0000, 1, 1]] as const) {
      assert.equal(e.ecall('t_raw', [1, a, len, c, d]), STATUS.INVALID_PARAMETER, `sign(${a}, ${len}, ${c}, ${d})`);
    }
  });

  test('the copies of the private scalar handed to the crypto provider are zeroed afterwards, on success and on refusal', () => {
    const base = defaultCrypto();
    const seen: Uint8Array[] = [];
    const spy: typeof base = {
      ...base,
      ecdsaP256PublicKey: (d: Uint8Array) => (seen.push(d), base.ecdsaP256PublicKey(d)),
      ecdsaP256Sign: (d: Uint8Array, m: Uint8Array) => (seen.push(d), base.ecdsaP256Sign(d, m)),
    };
    const spied = loadFixture(newPlatform({ crypto: spy }), 'ecdsa');
    const pub = new Uint8Array(64), sig = new Uint8Array(64);
    assert.equal(spied.ecall('t_public', [D, pub]), STATUS.SUCCESS);
    assert.equal(spied.ecall('t_sign', [new Uint8Array(8), 8, D, sig]), STATUS.SUCCESS);
    assert.equal(spied.ecall('t_sign', [new Uint8Array(8), 8, N, sig]), STATUS.INVALID_PARAMETER);
    assert.ok(seen.length >= 3, `${seen.length} scalars were handed to the provider`);
    for (const d of seen) assert.ok(d.every((b) => b === 0), 'a copy of the scalar was left behind');
  });
});
