/**
 * Witness: Intel SGX enclaves modelled in TypeScript.
 * The package root exports the platform factory, the Windows constants by name, and the layers as namespaces.
 */
export * as lib from './lib/index.js';
export * as arch from './arch/index.js';
export * as os from './os/index.js';
export { createPlatform, type Platform, type PlatformOptions } from './platform/index.js';
export * from './os/windows/constants.js';
