/**
 * src/platform: wires a machine together from a configuration — a processor (with the enclave
 * execution engine), the kernel, and the Windows profile's kernel32 for one process.
 */
import { Processor, type EnclaveEngine, type ProcessorOptions, type SavedProcessor } from '../arch/index.js';
import { Kernel, type Process } from '../os/index.js';
import { windowsProfile, resolveWindowsConfig, Kernel32, type WindowsProfileId, type WindowsConfig, type WindowsProfile } from '../os/windows/index.js';
import type { CryptoProvider } from '../lib/index.js';
import { createTrustedRuntime } from '../sdk/enclave/runtime.js';

export interface PlatformOptions {
  /** The Windows profile. Default 'win-x64-sgx1'. */
  readonly profile?: WindowsProfileId;
  /** The platform seed (≥ 16 bytes): the same seed gives the same machine (fuse keys). Default: random. */
  readonly seed?: Uint8Array;
  /** Usable EPC in bytes. Default 93.5 MiB. */
  readonly epcSize?: number;
  /** Further processor options (CPUSVN, logical processors, masks…). */
  readonly processor?: Omit<ProcessorOptions, 'seed' | 'epcSize' | 'engine' | 'crypto'>;
  /** OS knobs (launch policy, retries…). */
  readonly windows?: WindowsConfig;
  readonly crypto?: CryptoProvider;
  /** The execution engine for enclave code. Default: Witness's trusted runtime for WebAssembly enclaves. */
  readonly engine?: EnclaveEngine;
  /** Restart a saved machine instead of creating one. */
  readonly saved?: SavedProcessor;
}

export interface Platform {
  readonly profile: WindowsProfile;
  readonly processor: Processor;
  readonly kernel: Kernel;
  /** The process the host program runs in. */
  readonly process: Process;
  /** kernel32 of that process. */
  readonly kernel32: Kernel32;
  /** Save the machine (configuration and platform secrets) for a later restart. */
  save(): SavedProcessor;
}

export function createPlatform(options: PlatformOptions = {}): Platform {
  const profile = windowsProfile(options.profile ?? 'win-x64-sgx1');
  const procOpts: ProcessorOptions = {
    ...(options.processor ?? {}),
    features: { ...(options.processor?.features ?? {}), ...profile.processor },
    ...(options.epcSize !== undefined ? { epcSize: options.epcSize } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.crypto !== undefined ? { crypto: options.crypto } : {}),
    engine: options.engine ?? createTrustedRuntime(options.crypto ? { crypto: options.crypto } : {}),
  };
  const processor = options.saved ? Processor.restore(options.saved, { ...procOpts, features: procOpts.features }) : new Processor(procOpts);
  const kernel = new Kernel(processor);
  const process = kernel.createProcess('host.exe');
  const kernel32 = new Kernel32(kernel, process, profile, resolveWindowsConfig(options.windows ?? {}, processor.inspect.flexibleLaunchControl));
  // The host program runs on logical processor 0 in user mode.
  const lp = processor.lps[0]!;
  lp.cpl = 3;
  lp.cr3 = process.pageTable;
  return { profile, processor, kernel, process, kernel32, save: () => processor.save() };
}
