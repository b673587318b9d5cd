/** The Windows enclave API over the model kernel (specs/os-api.md §2). */
export * from './constants.js';
export { rtlNtStatusToDosError, ntSuccess, ntStatusName, win32ErrorName } from './ntstatus.js';
export { ENCLAVE_CREATE_INFO_SGX, ENCLAVE_INIT_INFO_SGX } from './structures.js';
export { NtEnclaveApi } from './nt.js';
export { type MemArg, type Out } from './args.js';
export { decodeEnclaveProtection, pteFlagsFor, type PageProtection } from './protection.js';
export { Kernel32, type Kernel32Functions } from './kernel32.js';
export { windowsProfile, resolveWindowsConfig, WINDOWS_PROFILES, ENCLAVE_EXPORTS, BUILD_10514_EXPORTS, type WindowsProfile, type WindowsProfileId, type WindowsConfig, type ResolvedWindowsConfig, type LaunchPolicy, type ExportSet } from './profiles.js';
