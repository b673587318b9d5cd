/**
 * What AES-128-GCM decryption leaves behind (the eighteenth session's review): the buffers
 * node:crypto hands back hold no plaintext once the caller is done, and none after a tag that
 * does not verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { createNodeCrypto } from '../../src/lib/crypto/node.js';

const c = createNodeCrypto();
const key = new Uint8Array(16).fill(7), iv = new Uint8Array(12);
const pt = new Uint8Array(100_000).map((_, i) => 0x20 + (i % 90));
const sealed = c.aesGcm128Encrypt(key, iv, pt, new Uint8Array(0));
type Dec = (k: Uint8Array, iv: Uint8Array, ct: Uint8Array, aad: Uint8Array, tag: Uint8Array, out?: Uint8Array) => Uint8Array | null;
const decrypt = c.aesGcm128Decrypt as Dec;

/** The buffers node:crypto's decipher hands back (update's outputs) while `f` runs. */
function handedBack(f: () => void): Buffer[] {
  const proto = Object.getPrototypeOf(nc.createDecipheriv('aes-128-gcm', key, iv)) as { update: (...a: unknown[]) => Buffer };
  const update = proto.update;
  const handed: Buffer[] = [];
  proto.update = function (this: unknown, ...a: unknown[]) {
    const b = update.apply(this, a);
    handed.push(b);
    return b;
  };
  try {
    f();
  } finally {
    proto.update = update;
  }
  return handed;
}
const holding = (bufs: Buffer[]) => bufs.filter((b) => b.some((x) => x !== 0));

test('an in-place decryption whose text is then zeroed (the shield releasing a file) leaves no other copy of the plaintext in the pieces node:crypto handed back', () => {
  const left = holding(handedBack(() => {
    const ct = sealed.ciphertext.slice();
    const text = decrypt(key, iv, ct, new Uint8Array(0), sealed.tag, ct);
    assert.ok(text);
    text.fill(0);
  }));
  assert.equal(left.length, 0, `${left.length} buffers still hold plaintext (${left.map((b) => b.length).join(', ')} bytes), starting ${JSON.stringify(left[0]?.subarray(0, 16).toString('latin1'))}`);
});

test('a failed decryption, in place or not, leaves no unauthenticated plaintext in the pieces node:crypto handed back', () => {
  const left = holding(handedBack(() => {
    const bad = sealed.ciphertext.slice();
    bad[0]! ^= 1;
    assert.equal(decrypt(key, iv, bad, new Uint8Array(0), sealed.tag, bad), null);
    assert.ok(bad.every((b) => b === 0));
  }));
  assert.equal(left.length, 0, `${left.length} buffers still hold the unauthenticated plaintext (${left.map((b) => b.length).join(', ')} bytes)`);
});
