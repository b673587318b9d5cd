/**
 * The default crypto provider of the web build, served in place of `default.ts` (whose exports it
 * has, checked by test/web/serve.test.ts): the portable provider, with no node:crypto beneath it.
 */
import type { CryptoProvider } from './provider.js';
import { createPortableCrypto } from './portable.js';

let provider: CryptoProvider | undefined;

/** The default provider of a browser (the portable one: @noble's primitives, RSA on BigInt). */
export function defaultCrypto(): CryptoProvider {
  return (provider ??= createPortableCrypto());
}
