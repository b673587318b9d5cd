/** src/os: the untrusted kernel, the Windows enclave API, the Linux driver and the adversary. */
export { OsError } from './errors.js';
export { FrameAllocator, EpcAllocator } from './physical.js';
export { Process, ALLOCATION_GRANULARITY, type Region, type RegionKind } from './process.js';
export { Kernel, KernelEnclave, EnclavePages, SgxLeaves, type KernelEnclaveState, type KernelOptions } from './kernel.js';
export { EpcPager, type EvictedPage, type VaPage, type PagingStats } from './pager.js';
export * as windows from './windows/index.js';
export * as linux from './linux/index.js';
export * as adversary from './adversary/index.js';
