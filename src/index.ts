/**
 * Witness: Intel SGX enclaves modelled in TypeScript.
 * The package root exports the platform factories, the SDK's main entry points, the Windows
 * constants by name, Linux's SGX uapi as `linux`, remote attestation's main entry points, and every
 * layer as a namespace.
 */
export * as lib from './lib/index.js';
export * as arch from './arch/index.js';
export * as os from './os/index.js';
export * as sdk from './sdk/index.js';
export * as attest from './attest/index.js';
export * as shield from './shield/index.js';
export { createPlatform, createLinuxPlatform, PlatformError, type Platform, type PlatformOptions, type SavedPlatform, type LinuxPlatform, type LinuxPlatformOptions, type SavedLinuxPlatform } from './platform/index.js';
export { Workbench, WORKBENCH_PROFILES, type WorkbenchFile, type WorkbenchOptions, type WorkbenchProfile, type LoadedEnclave, type CallOutcome, type EcallForm } from './platform/workbench.js';
export { ecallArguments, ecallOutputs, type OutputText, type CostReport } from './platform/call.js';
export * as linux from './os/linux/index.js';
export { loadEnclave, HostEnclave, EnclaveLoadError, EnclaveCallError, buildImage, signSigstruct, sigstructFieldsFor, generateSigningKey, resolveEdl, encodeImage, decodeImage, createTrustedRuntime, STATUS, statusName, type EnclaveImage, type LoadOptions, type OcallImpl, type EcallArg } from './sdk/index.js';
export {
  createQuotingService, createProvisioningCertificationService, createPckCertificateService, verifyQuote, parseQuote, QV_RESULT, AttestError,
  type QuotingService, type ProvisioningCertificationService, type PckCertificateService, type QuoteVerification, type Quote,
} from './attest/index.js';
export { estimateCost, countersSince, DEFAULT_COST_MODEL, type CostModel, type CostEstimate, type SgxCounters } from './arch/index.js';
export { buildShieldImage, runShielded, createShieldHost, MemoryFileSystem, ShieldError, type ShieldManifest, type ShieldRun } from './shield/index.js';
export * from './os/windows/constants.js';
