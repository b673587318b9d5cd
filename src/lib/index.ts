export * from './errors.js';
export * from './bytes.js';
export * from './layout.js';
export { PageMap } from './pagemap.js';
export type { CryptoProvider, Sha256Stream, Sha256Pipeline, AesGcmSealed, RsaKeyPair } from './crypto/provider.js';
export { createNodeCrypto } from './crypto/node.js';
export { defaultCrypto } from './crypto/default.js';
export { createPortableCrypto } from './crypto/portable.js';
export * from './der.js';
