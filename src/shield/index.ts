/** src/shield: unmodified WASI programs inside an enclave, against an untrusted host. */
export { ShieldError } from './errors.js';
export { resolveManifest, manifestBytes, parseManifest, MAX_MANIFEST, ATTESTATION_PATH, type ShieldManifest, type ShieldMount, type MountKind, type ResolvedManifest, type ResolvedMount } from './manifest.js';
export { shieldModule } from './program.js';
export { OP, OP_NAMES, ERRNO, FILETYPE, MAX_IO, MAX_PATH, MAX_QUOTE, Encoder, Decoder, Malformed } from './protocol.js';
export { SHIELD_ID, SHIELD_EDL, SHIELD_DESCRIPTOR, WASI_FUNCTIONS, shieldExtension } from './trusted.js';
export { NodeFileSystem } from './nodefs.js';
export { createShieldHost, MemoryFileSystem, MEMORY_FILE_MAX, HostFsError, type HostFileSystem, type ShieldHost, type ShieldHostOptions, type ShieldViolation } from './host.js';
export { buildShieldImage, runShielded, shieldInterface, SHIELD_DEFAULT_HEAP, type ShieldBuildInput, type ShieldImage, type ShieldRunOptions, type ShieldRun } from './run.js';
