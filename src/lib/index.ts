export * from './errors.js';
export * from './bytes.js';
export * from './layout.js';
export { PageMap } from './pagemap.js';
export type { CryptoProvider, Sha256Stream, Sha256Pipeline, AesGcmSealed, RsaKeyPair } from './crypto/provider.js';
export { createNodeCrypto, defaultCrypto } from './crypto/node.js';
export * from './der.js';
