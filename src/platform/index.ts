/**
 * src/platform: wires a machine together from a configuration — a processor (with the enclave
 * execution engine), the kernel, and for one process either the Windows profile's kernel32
 * (createPlatform) or Linux's SGX driver and C library (createLinuxPlatform).
 */
import { Processor, type EnclaveEngine, type ProcessorOptions, type ProcessorFeatures, type SavedProcessor } from '../arch/index.js';
import { Kernel, type Process } from '../os/index.js';
import { windowsProfile, resolveWindowsConfig, Kernel32, WINDOWS_PROFILES, type WindowsProfileId, type WindowsConfig, type WindowsProfile } from '../os/windows/index.js';
import { linuxProfile, resolveLinuxConfig, isLinuxProfile, LinuxSyscalls, Libc, LINUX_PROFILES, type LinuxProfileId, type LinuxConfig, type LinuxProfile } from '../os/linux/index.js';
import type { CryptoProvider } from '../lib/index.js';
import { createTrustedRuntime } from '../sdk/enclave/runtime.js';
import { shieldExtension } from '../shield/trusted.js';
import { PlatformError } from './errors.js';

export { PlatformError } from './errors.js';

/**
 * A saved machine: the processor's configuration and platform secrets (`Processor.save()`), and
 * the Windows profile it ran. A saved processor without `profile` (saved before the profile was
 * recorded) is still accepted.
 */
export interface SavedPlatform extends SavedProcessor {
  readonly profile?: WindowsProfileId;
}

export interface PlatformOptions {
  /** The Windows profile. Default 'win-x64-sgx1', or the saved machine's profile. */
  readonly profile?: WindowsProfileId;
  /** The platform seed (≥ 16 bytes): the same seed gives the same machine (fuse keys). Default: random. */
  readonly seed?: Uint8Array;
  /** Usable EPC in bytes. Default 93.5 MiB. */
  readonly epcSize?: number;
  /**
   * The kernel reclaims EPC pages under pressure (evicts them to RAM with EWB, loads them back with
   * ELDU when the enclave touches them), so enclaves may together be larger than the EPC. Default
   * false: a full EPC refuses the allocation (the profile's exhaustion status).
   */
  readonly epcReclaim?: boolean;
  /** Further processor options (CPUSVN, logical processors, masks…). */
  readonly processor?: Omit<ProcessorOptions, 'seed' | 'epcSize' | 'engine' | 'crypto'>;
  /** OS knobs (launch policy, retries…). */
  readonly windows?: WindowsConfig;
  readonly crypto?: CryptoProvider;
  /** The execution engine for enclave code. Default: Witness's trusted runtime for WebAssembly enclaves. */
  readonly engine?: EnclaveEngine;
  /**
   * Restart a saved machine instead of creating one: its processor features come from the save
   * (not from the profile), and its profile is the saved one.
   */
  readonly saved?: SavedPlatform;
}

export interface Platform {
  readonly profile: WindowsProfile;
  readonly processor: Processor;
  readonly kernel: Kernel;
  /** The process the host program runs in. */
  readonly process: Process;
  /** kernel32 of that process. */
  readonly kernel32: Kernel32;
  /** Save the machine (configuration, platform secrets and profile) for a later restart. */
  save(): SavedPlatform;
}

/** The profile a saved machine restarts with. */
function savedProfile(saved: SavedPlatform, requested: WindowsProfileId | undefined): WindowsProfileId {
  const recorded = saved.profile;
  if (recorded !== undefined && !WINDOWS_PROFILES.includes(recorded)) {
    throw new PlatformError('SAVED_PLATFORM_INVALID', `the saved machine names an unknown Windows profile '${String(recorded)}' (one of ${WINDOWS_PROFILES.join(', ')})`, { profile: recorded });
  }
  if (recorded !== undefined && requested !== undefined && requested !== recorded) {
    throw new PlatformError('PROFILE_MISMATCH', `the saved machine ran profile ${recorded}; it cannot restart as ${requested}`, { saved: recorded, requested });
  }
  return recorded ?? requested ?? 'win-x64-sgx1';
}

/**
 * A machine: processor, kernel, one host process and its kernel32.
 * @throws {PlatformError} `BAD_OPTION` for an `epcReclaim` that is no boolean, `LINUX_PROFILE` for a Linux profile (createLinuxPlatform), `SAVED_PLATFORM_INVALID` for a saved machine with an unknown profile,
 * `PROFILE_MISMATCH` when `profile` differs from the saved machine's, `SEED_WITH_SAVED` when both
 * `saved` and `seed` are given.
 * @throws {OsError} `UNKNOWN_PROFILE`; {ArchError} for a short seed or a malformed save.
 * @example
 * const saved = createPlatform({ profile: 'win-x64-sgx2' }).save();
 * createPlatform({ saved }).processor.inspect.cpuid.sgx2; // true
 */
export function createPlatform(options: PlatformOptions = {}): Platform {
  const saved = options.saved;
  checkMachineOptions(options, saved, 'Platform.save()');
  if (isLinuxProfile(options.profile)) throw new PlatformError('LINUX_PROFILE', `${options.profile} is a Linux profile: createLinuxPlatform makes that machine`, { profile: options.profile });
  const profile = windowsProfile(saved !== undefined ? savedProfile(saved, options.profile) : options.profile ?? 'win-x64-sgx1');
  const { processor, kernel, process } = bootMachine(options, saved, profile.processor, 'host.exe');
  const kernel32 = new Kernel32(kernel, process, profile, resolveWindowsConfig(options.windows ?? {}, processor.inspect.flexibleLaunchControl));
  return { profile, processor, kernel, process, kernel32, save: () => ({ ...processor.save(), profile: profile.id }) };
}

/** What both factories refuse first: a seed beside a save (it would be silently ignored), an `epcReclaim` that is no boolean, a save that is no object. */
function checkMachineOptions(options: Omit<PlatformOptions, 'saved' | 'profile' | 'windows'>, saved: SavedProcessor | undefined, what: string): void {
  // A saved machine carries its own platform secrets: a seed as well would be silently ignored.
  if (saved !== undefined && options.seed !== undefined) throw new PlatformError('SEED_WITH_SAVED', 'a saved machine keeps its own platform secrets: give `saved` or `seed`, not both');
  if (options.epcReclaim !== undefined && typeof options.epcReclaim !== 'boolean') throw new PlatformError('BAD_OPTION', `epcReclaim must be true or false, got ${String(options.epcReclaim)}`, { option: 'epcReclaim' });
  // (`saved: null` is a save too, a malformed one: refused, rather than a new machine with other secrets.)
  if (saved !== undefined && (typeof saved !== 'object' || saved === null)) throw new PlatformError('SAVED_PLATFORM_INVALID', `the saved machine is not an object (${what} output)`);
}

/**
 * The processor (new, with the profile's features, or restarted from `saved` with its own), the
 * kernel and the host process, its threads in user mode on every logical processor.
 */
function bootMachine(options: Omit<PlatformOptions, 'saved' | 'profile' | 'windows'>, saved: SavedProcessor | undefined, features: Partial<ProcessorFeatures>, processName: string): { processor: Processor; kernel: Kernel; process: Process } {
  const restart = saved !== undefined;
  const procOpts: ProcessorOptions = {
    ...(options.processor ?? {}),
    // A new machine has the profile's processor; a restarted one keeps its saved features
    // (options.processor.features, when given, still override them).
    ...(restart ? {} : { features: { ...(options.processor?.features ?? {}), ...features } }),
    ...(options.epcSize !== undefined ? { epcSize: options.epcSize } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.crypto !== undefined ? { crypto: options.crypto } : {}),
    // The trusted runtime, with the shield (WASI programs) as its extension.
    engine: options.engine ?? createTrustedRuntime({ ...(options.crypto ? { crypto: options.crypto } : {}), extensions: [shieldExtension()] }),
  };
  const processor = restart ? Processor.restore(saved, procOpts) : new Processor(procOpts);
  const kernel = new Kernel(processor, { reclaim: options.epcReclaim ?? false });
  const process = kernel.createProcess(processName);
  // The host program's threads run in user mode on every logical processor (a host thread may be
  // placed on any of them: loadEnclave's `lp`); the kernel borrows one for ring-0 work.
  for (const lp of processor.lps) {
    lp.cpl = 3;
    lp.cr3 = process.pageTable;
  }
  return { processor, kernel, process };
}

/** A saved Linux machine: the processor's configuration and secrets, and the Linux profile it ran. */
export interface SavedLinuxPlatform extends SavedProcessor {
  readonly linuxProfile?: LinuxProfileId;
}

export interface LinuxPlatformOptions extends Omit<PlatformOptions, 'profile' | 'windows' | 'saved'> {
  /** The Linux profile. Default 'linux-sgx2', or the saved machine's. */
  readonly profile?: LinuxProfileId;
  /** The machine around the driver (/dev mounted noexec, device permissions). */
  readonly linux?: LinuxConfig;
  /** Restart a saved Linux machine. */
  readonly saved?: SavedLinuxPlatform;
}

export interface LinuxPlatform {
  readonly profile: LinuxProfile;
  readonly processor: Processor;
  readonly kernel: Kernel;
  /** The process the host program runs in. */
  readonly process: Process;
  /** Its C library: the driver's system calls, the vDSO, errno. */
  readonly libc: Libc;
  save(): SavedLinuxPlatform;
}

/**
 * A Linux machine: processor, kernel with the in-kernel SGX driver (specs/os-api.md §4), one host
 * process and its C library.
 * @throws {PlatformError} as createPlatform, and `SAVED_PLATFORM_INVALID` / `PROFILE_MISMATCH` for a save of another profile.
 * @throws {OsError} `UNKNOWN_PROFILE`, `BAD_LINUX_CONFIG`.
 * @example
 * const { libc } = createLinuxPlatform({ profile: 'linux-sgx2' });
 * const fd = libc.open('/dev/sgx_enclave');
 */
export function createLinuxPlatform(options: LinuxPlatformOptions = {}): LinuxPlatform {
  const saved = options.saved;
  checkMachineOptions(options, saved, 'LinuxPlatform.save()');
  let id: string = options.profile ?? 'linux-sgx2';
  if (saved !== undefined) {
    const recorded = saved.linuxProfile;
    if (recorded === undefined || !LINUX_PROFILES.includes(recorded)) throw new PlatformError('SAVED_PLATFORM_INVALID', `the saved machine names no Linux profile (${String(recorded)})`, { profile: recorded ?? null });
    if (options.profile !== undefined && options.profile !== recorded) throw new PlatformError('PROFILE_MISMATCH', `the saved machine ran profile ${recorded}; it cannot restart as ${options.profile}`, { saved: recorded, requested: options.profile });
    id = recorded;
  }
  const profile = linuxProfile(id);
  const config = resolveLinuxConfig(options.linux ?? {});
  const { processor, kernel, process } = bootMachine(options, saved, profile.processor, 'host');
  const libc = new Libc(kernel, new LinuxSyscalls(kernel, process, profile, config));
  return { profile, processor, kernel, process, libc, save: () => ({ ...processor.save(), linuxProfile: profile.id }) };
}
