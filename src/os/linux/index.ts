/** The Linux SGX driver, its system calls and vDSO over the model kernel (specs/os-api.md §4). */
export * from './uapi.js';
export { LinuxSyscalls, SgxEnclaveFile, SgxProvisionFile, ProcMemFile, Vma, pteFor, maxProtOf, type OpenFile } from './driver.js';
export { Libc } from './libc.js';
export { Vdso, LinuxSignal, VDSO_BASE, VDSO_AEP, type SgxEnclaveUserHandler, type SgxEnterEnclave } from './vdso.js';
export { linuxProfile, isLinuxProfile, resolveLinuxConfig, LINUX_PROFILES, type LinuxProfile, type LinuxProfileId, type LinuxConfig, type ResolvedLinuxConfig } from './profiles.js';
