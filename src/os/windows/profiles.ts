/**
 * Windows platform profiles (specs/os-api.md §0.2): which exports exist and what the processor
 * underneath offers.
 */
import type { ProcessorFeatures } from '../../arch/index.js';
import { OsError } from '../errors.js';
import { STATUS_NO_MEMORY, STATUS_ALREADY_INITIALIZED } from './constants.js';

export type WindowsProfileId = 'win-absent' | 'win-stub-10514-arm' | 'win-x64-nosgx' | 'win-x64-sgx1' | 'win-x64-sgx2';

export const WINDOWS_PROFILES: readonly WindowsProfileId[] = ['win-absent', 'win-stub-10514-arm', 'win-x64-nosgx', 'win-x64-sgx1', 'win-x64-sgx2'];

/** Which enclave exports kernel32 has. */
export type ExportSet = 'none' | 'build-10514' | 'all';

export interface WindowsProfile {
  readonly id: WindowsProfileId;
  readonly description: string;
  readonly exports: ExportSet;
  /** The build-10514 ARM stubs: fixed NTSTATUS results, no implementation. */
  readonly armStub: boolean;
  /** The processor features this profile runs on. */
  readonly processor: Partial<ProcessorFeatures>;
  /** ENCLAVE_TYPE_SGX2 (EDMM) is offered by the OS. */
  readonly sgx2: boolean;
}

const PROFILES: Readonly<Record<WindowsProfileId, WindowsProfile>> = {
  'win-absent': { id: 'win-absent', description: 'Windows before build 10514 (or Wine): no enclave exports', exports: 'none', armStub: false, processor: { sgx1: true }, sgx2: false },
  'win-stub-10514-arm': { id: 'win-stub-10514-arm', description: 'build 10514 on ARM: CreateEnclave/LoadEnclaveData/InitializeEnclave exist as stubs', exports: 'build-10514', armStub: true, processor: { sgx1: false }, sgx2: false },
  'win-x64-nosgx': { id: 'win-x64-nosgx', description: 'x64 Windows 10+, SGX absent or disabled in the BIOS', exports: 'all', armStub: false, processor: { sgx1: true, biosEnabled: false }, sgx2: false },
  'win-x64-sgx1': { id: 'win-x64-sgx1', description: 'x64 Windows 10+ on an SGX1 CPU with Flexible Launch Control', exports: 'all', armStub: false, processor: { sgx1: true, biosEnabled: true, sgx2: false }, sgx2: false },
  'win-x64-sgx2': { id: 'win-x64-sgx2', description: 'x64 Windows 10+ on an SGX2 CPU (EDMM) with Flexible Launch Control', exports: 'all', armStub: false, processor: { sgx1: true, biosEnabled: true, sgx2: true }, sgx2: true },
};

export function windowsProfile(id: string): WindowsProfile {
  const p = PROFILES[id as WindowsProfileId];
  if (!p) throw new OsError('UNKNOWN_PROFILE', `unknown Windows profile '${id}' (one of ${WINDOWS_PROFILES.join(', ')})`, { profile: id });
  return p;
}

/** The enclave exports by build. */
export const BUILD_10514_EXPORTS: readonly string[] = ['CreateEnclave', 'LoadEnclaveData', 'InitializeEnclave'];
export const ENCLAVE_EXPORTS: readonly string[] = ['IsEnclaveTypeSupported', 'CreateEnclave', 'LoadEnclaveData', 'InitializeEnclave', 'DeleteEnclave', 'CallEnclave', 'TerminateEnclave'];

/** Launch policy of the OS (specs/os-api.md §2.9 knob). */
export type LaunchPolicy = 'flc-os-managed' | 'token' | 'flc-restricted';

/** Knobs for behaviour public material does not pin down (specs/os-api.md §7.1). */
export interface WindowsConfig {
  /** Default: 'flc-os-managed' on FLC processors, 'token' otherwise. */
  readonly launchPolicy?: LaunchPolicy;
  /** Internal EINIT retries on SGX_UNMASKED_EVENT before ERROR_RETRY. Default 0. */
  readonly osInternalEinitRetries?: number;
  /** NTSTATUS when the EPC is exhausted. Default STATUS_NO_MEMORY. */
  readonly epcExhaustedStatus?: number;
  /** NTSTATUS for a second InitializeEnclave / loading after initialization. Default STATUS_ALREADY_INITIALIZED. */
  readonly secondInitStatus?: number;
  /** Accept flProtect = 0 (no permissions) in LoadEnclaveData, as Fortanix's loader passes. Default true. */
  readonly acceptZeroProtection?: boolean;
}

export interface ResolvedWindowsConfig {
  readonly launchPolicy: LaunchPolicy;
  readonly osInternalEinitRetries: number;
  readonly epcExhaustedStatus: number;
  readonly secondInitStatus: number;
  readonly acceptZeroProtection: boolean;
}

const LAUNCH_POLICIES: readonly LaunchPolicy[] = ['flc-os-managed', 'token', 'flc-restricted'];

/**
 * The knobs with their defaults.
 * @throws {OsError} `BAD_WINDOWS_CONFIG` for a knob no Windows could have: a launch policy not
 * listed, a retry count that is no non-negative safe integer, a status knob that is not an NTSTATUS
 * of error severity (a success code there would turn a failure into TRUE), a flag that is no boolean.
 */
export function resolveWindowsConfig(c: WindowsConfig, flc: boolean): ResolvedWindowsConfig {
  const bad = (knob: string, why: string): never => {
    throw new OsError('BAD_WINDOWS_CONFIG', `windows.${knob} ${why}`, { knob });
  };
  if (c.launchPolicy !== undefined && !LAUNCH_POLICIES.includes(c.launchPolicy)) bad('launchPolicy', `must be one of ${LAUNCH_POLICIES.join(', ')}`);
  if (c.osInternalEinitRetries !== undefined && !(Number.isSafeInteger(c.osInternalEinitRetries) && c.osInternalEinitRetries >= 0)) bad('osInternalEinitRetries', 'must be a non-negative integer');
  for (const knob of ['epcExhaustedStatus', 'secondInitStatus'] as const) {
    const v = c[knob];
    // NTSTATUS severity bits 31:30 = 3: an error (ntstatus.h, NT_ERROR).
    if (v !== undefined && !(Number.isInteger(v) && v >= 0xc000_0000 && v <= 0xffff_ffff)) bad(knob, 'must be an NTSTATUS of error severity (0xC0000000–0xFFFFFFFF)');
  }
  if (c.acceptZeroProtection !== undefined && typeof c.acceptZeroProtection !== 'boolean') bad('acceptZeroProtection', 'must be a boolean');
  return {
    launchPolicy: c.launchPolicy ?? (flc ? 'flc-os-managed' : 'token'),
    osInternalEinitRetries: c.osInternalEinitRetries ?? 0,
    epcExhaustedStatus: c.epcExhaustedStatus ?? STATUS_NO_MEMORY,
    secondInitStatus: c.secondInitStatus ?? STATUS_ALREADY_INITIALIZED,
    acceptZeroProtection: c.acceptZeroProtection ?? true,
  };
}
