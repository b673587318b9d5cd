/**
 * The process-wide default crypto provider. Under Node it is node:crypto's (`createNodeCrypto`).
 * A browser has no node:crypto: the web build serves `default.browser.ts` in this module's place
 * (the same exports, on `createPortableCrypto`), so nothing that asks for the default reaches
 * node:crypto there.
 */
import type { CryptoProvider } from './provider.js';
import { createNodeCrypto } from './node.js';

let provider: CryptoProvider | undefined;

/** The process-wide default provider (node:crypto). */
export function defaultCrypto(): CryptoProvider {
  return (provider ??= createNodeCrypto());
}
