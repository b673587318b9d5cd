/** AES-128-CMAC as RFC 4493 writes it, for checking the providers' CMAC against. */
import * as nc from 'node:crypto';
import { toHex } from '../../src/lib/index.js';

/** RFC 4493's algorithm as written: subkeys from AES-K(0), then CBC-MAC one block at a time (AES-ECB of node:crypto). */
export const cmacReference = (key: Uint8Array, msg: Uint8Array): string => {
  const aes = (b: Uint8Array): Uint8Array => {
    const e = nc.createCipheriv('aes-128-ecb', key, null);
    e.setAutoPadding(false);
    return new Uint8Array(e.update(b));
  };
  const double = (b: Uint8Array): Uint8Array => {
    const o = new Uint8Array(16);
    for (let i = 0; i < 16; i++) o[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >>> 7 : 0)) & 0xff;
    if (b[0]! & 0x80) o[15]! ^= 0x87;
    return o;
  };
  const k1 = double(aes(new Uint8Array(16))), k2 = double(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const complete = msg.length > 0 && msg.length % 16 === 0;
  let x: Uint8Array = new Uint8Array(16);
  for (let b = 0; b < n; b++) {
    const block = new Uint8Array(16);
    block.set(msg.subarray(16 * b, 16 * b + 16));
    if (b === n - 1) {
      if (!complete) block[msg.length - 16 * b] = 0x80;
      const k = complete ? k1 : k2;
      for (let i = 0; i < 16; i++) block[i]! ^= k[i]!;
    }
    for (let i = 0; i < 16; i++) block[i]! ^= x[i]!;
    x = aes(block);
  }
  return toHex(x);
};
