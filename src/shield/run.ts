/**
 * Building and running a shielded WASI program: the program and its manifest become an enclave
 * image (the shield's interface, the program's memory imported, the manifest measured), which
 * loads like any other image and runs with one ECALL, `shield_main`.
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { resolveEdl } from '../sdk/edl/index.js';
import { buildImage, type BuiltImage } from '../sdk/image/build.js';
import type { EnclaveConfigJson } from '../sdk/image/config.js';
import { extensionPayload } from '../sdk/enclave/extension.js';
import { loadEnclave, type HostPlatform, type LoadOptions } from '../sdk/host/enclave.js';
import type { EnclaveImage } from '../sdk/image/format.js';
import { resolveManifest, manifestBytes, type ShieldManifest, type ResolvedManifest } from './manifest.js';
import { shieldModule } from './program.js';
import { SHIELD_EDL, SHIELD_ID, SHIELD_DESCRIPTOR } from './trusted.js';
import { createShieldHost, type ShieldHostOptions, type ShieldViolation, type HostFileSystem } from './host.js';
import { ShieldError } from './errors.js';

/** The shield's interface, resolved (the same for every shielded program). */
export function shieldInterface() {
  return resolveEdl('shield.edl', { readFile: (p) => (p === 'shield.edl' ? SHIELD_EDL : null) });
}

/** The enclave heap a shielded program gets unless its configuration says otherwise: 16 MiB. */
export const SHIELD_DEFAULT_HEAP = 16 << 20;

export interface ShieldBuildInput {
  /** The WASI command module (wasm32-wasi, as clang or rustc emit it). */
  readonly program: Uint8Array;
  readonly manifest?: ShieldManifest;
  /** Enclave configuration; heapSize defaults to SHIELD_DEFAULT_HEAP (the program's memory lives there). */
  readonly config?: EnclaveConfigJson;
  readonly crypto?: CryptoProvider;
}

export interface ShieldImage extends BuiltImage {
  readonly manifest: ResolvedManifest;
}

/**
 * A shielded program as an (unsigned) enclave image.
 * @throws {ShieldError} `MANIFEST_INVALID`, `PROGRAM_INVALID`; {SdkError} `MODULE_INVALID` (the
 * program does not fit: imports outside WASI preview1, a memory larger than the heap, …), `CONFIG_INVALID`.
 */
export function buildShieldImage(input: ShieldBuildInput): ShieldImage {
  if (typeof input !== 'object' || input === null) throw new ShieldError('BAD_OPTIONS', 'buildShieldImage takes { program, manifest?, config? }');
  const manifest = resolveManifest(input.manifest ?? {});
  const module = shieldModule(input.program, extensionPayload(SHIELD_ID, manifestBytes(manifest)));
  const built = buildImage({
    module,
    interface: shieldInterface(),
    config: { heapSize: SHIELD_DEFAULT_HEAP, ...(input.config ?? {}) },
    ...(input.crypto ? { crypto: input.crypto } : {}),
    extension: SHIELD_DESCRIPTOR,
  });
  return { ...built, manifest };
}

export interface ShieldRunOptions extends ShieldHostOptions {
  /** Loader options (a SIGSTRUCT for an unsigned image, the logical processor, …); the OCALLs are the shield's. */
  readonly load?: Omit<LoadOptions, 'ocalls' | 'ocallBuffers'>;
}

export interface ShieldRun {
  /** The program's exit status (proc_exit's, 0 when _start returned). */
  readonly exitCode: number;
  readonly stdout: Uint8Array;
  readonly stderr: Uint8Array;
  /** The answers of the host the enclave refused. */
  readonly violations: readonly ShieldViolation[];
  readonly mounts: ReadonlyMap<string, HostFileSystem>;
  /** Host operations served, by op name. */
  readonly counts: Readonly<Record<string, number>>;
  readonly mrenclave: string;
}

/**
 * Load a signed shielded image, run its program once, and remove the enclave.
 * @throws {ShieldError} `BAD_OPTIONS` (createShieldHost); `MOUNT_UNDECLARED` for storage given for a
 * path the program's manifest does not mount (before the program starts); {EnclaveLoadError} as loadEnclave;
 * {EnclaveCallError} when the program traps (the enclave crashed: SGX_ERROR_ENCLAVE_CRASHED). An
 * error thrown by the host's own pieces (a HostFileSystem other than HostFsError, a stdout
 * callback) ends the run and comes out as it is: they are the host's code.
 */
export function runShielded(platform: HostPlatform, image: EnclaveImage | Uint8Array, options: ShieldRunOptions = {}): ShieldRun {
  const host = createShieldHost(options);
  // The scratch area holds an OCALL's request and response (at most MAX_IO of data each, and their fields): 1 MiB at least.
  const arenaSize = Math.max(options.load?.arenaSize ?? 0, 1 << 20);
  // The host's side copies what it keeps (createShieldHost): its buffers can be lent.
  const enclave = loadEnclave(platform, image, { ...(options.load ?? {}), arenaSize, ocalls: host.ocalls, ocallBuffers: 'lent' });
  try {
    const code = enclave.ecall('shield_main');
    return { exitCode: Number(code), stdout: host.stdout(), stderr: host.stderr(), violations: host.violations, mounts: host.mounts, counts: host.counts, mrenclave: enclave.mrenclave };
  } finally {
    try {
      enclave.destroy();
    } finally {
      host.close();
    }
  }
}
