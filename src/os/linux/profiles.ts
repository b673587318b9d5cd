/**
 * Linux platform profiles (specs/os-api.md §0.2) and the knobs of §7.1 that public material leaves
 * to the machine: how /dev is mounted and who may open the device.
 */
import type { ProcessorFeatures } from '../../arch/index.js';
import { OsError } from '../errors.js';

export type LinuxProfileId = 'linux-nosgx' | 'linux-sgx1' | 'linux-sgx2';

export const LINUX_PROFILES: readonly LinuxProfileId[] = ['linux-nosgx', 'linux-sgx1', 'linux-sgx2'];

export interface LinuxProfile {
  readonly id: LinuxProfileId;
  readonly description: string;
  /** The processor features this profile runs on. */
  readonly processor: Partial<ProcessorFeatures>;
  /** The kernel is built with SGX support (CONFIG_X86_SGX): the vDSO has __vdso_sgx_enter_enclave, and the driver registers where the CPU allows. */
  readonly kernelSgx: boolean;
}

const PROFILES: Readonly<Record<LinuxProfileId, LinuxProfile>> = {
  // (os-api.md §0.2. A kernel built with CONFIG_X86_SGX links __vdso_sgx_enter_enclave whatever the
  // CPU, and may keep /dev/sgx_provision for KVM's vEPC: this profile is the kernel without SGX
  // support, where neither exists; the CPU under it has SGX1 without launch control.)
  'linux-nosgx': { id: 'linux-nosgx', description: 'Linux without SGX support (no CONFIG_X86_SGX), on a CPU without Flexible Launch Control: no /dev/sgx_enclave, no vDSO entry', processor: { sgx1: true, biosEnabled: true, flc: false, sgx2: false }, kernelSgx: false },
  'linux-sgx1': { id: 'linux-sgx1', description: 'Linux ≥ 5.11 (in-kernel driver) on an SGX1 CPU with Flexible Launch Control', processor: { sgx1: true, biosEnabled: true, flc: true, sgx2: false }, kernelSgx: true },
  'linux-sgx2': { id: 'linux-sgx2', description: 'Linux ≥ 6.0 on an SGX2 CPU with Flexible Launch Control (EAUG on fault, the EDMM ioctls)', processor: { sgx1: true, biosEnabled: true, flc: true, sgx2: true }, kernelSgx: true },
};

export function isLinuxProfile(id: unknown): id is LinuxProfileId {
  return typeof id === 'string' && (LINUX_PROFILES as readonly string[]).includes(id);
}

/** @throws {OsError} `UNKNOWN_PROFILE` */
export function linuxProfile(id: string): LinuxProfile {
  if (!isLinuxProfile(id)) throw new OsError('UNKNOWN_PROFILE', `unknown Linux profile '${id}' (one of ${LINUX_PROFILES.join(', ')})`, { profile: id });
  return PROFILES[id];
}

/** Knobs for the machine around the driver (specs/os-api.md §7.1, §4.8). */
export interface LinuxConfig {
  /** /dev is mounted noexec: mmap(PROT_EXEC) of the enclave fails with EPERM. Default false. */
  readonly devMountedNoexec?: boolean;
  /** The device nodes are not accessible to the process (mode 0600 root): open() fails with EACCES. Default false. */
  readonly devicePermissionsDenied?: boolean;
  /**
   * Only /dev/sgx_provision is out of the process's reach (its usual mode: group sgx_prv, which the
   * user is not in): open() of it fails with EACCES, so PROVISIONKEY enclaves cannot be initialized. Default false.
   */
  readonly provisionDeviceDenied?: boolean;
}

export interface ResolvedLinuxConfig {
  readonly devMountedNoexec: boolean;
  readonly devicePermissionsDenied: boolean;
  readonly provisionDeviceDenied: boolean;
}

/** @throws {OsError} `BAD_LINUX_CONFIG` for a knob that is no boolean. */
export function resolveLinuxConfig(c: LinuxConfig): ResolvedLinuxConfig {
  for (const knob of ['devMountedNoexec', 'devicePermissionsDenied', 'provisionDeviceDenied'] as const) {
    if (c[knob] !== undefined && typeof c[knob] !== 'boolean') throw new OsError('BAD_LINUX_CONFIG', `linux.${knob} must be a boolean`, { knob });
  }
  return { devMountedNoexec: c.devMountedNoexec ?? false, devicePermissionsDenied: c.devicePermissionsDenied ?? false, provisionDeviceDenied: c.provisionDeviceDenied ?? false };
}
