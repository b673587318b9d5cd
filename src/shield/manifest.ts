/**
 * The shield's manifest: what a WASI program inside the enclave may see of the world, measured
 * into MRENCLAVE with the program (it travels in the module's `witness.extension` section). The
 * host supplies none of it: arguments and environment come from here, never from the host
 * (Gramine's issue 595: a LibOS that silently trusts the host's environment), and every path the
 * program can reach lies under one of its mounts.
 *
 * Mount kinds (Gramine's encrypted / trusted / allowed files; Haven's encrypted file system):
 *   encrypted  files sealed by the enclave (sgx_sealed_data_t, AES-128-GCM under an EGETKEY SEAL
 *              key with the mount's policy), bound to their path; the host stores them and sees
 *              names, sizes and when they change, never contents
 *   trusted    read-only files whose SHA-256 the manifest lists; the host supplies the bytes and the
 *              shield refuses any that do not match; names not listed do not exist
 *   host       plain host files (the host sees and may change everything): output meant for the
 *              host, input the program does not trust
 */
import { ShieldError } from './errors.js';
import { bytesEqual } from '../lib/bytes.js';

export type MountKind = 'encrypted' | 'trusted' | 'host';

export interface ShieldMount {
  /** Where the program sees it: an absolute, normalized path ('/data'). */
  readonly path: string;
  readonly kind: MountKind;
  /** encrypted: whose key seals the files: 'mrenclave' (this enclave only, the default) or 'mrsigner' (its signer's enclaves of the same product). */
  readonly keyPolicy?: 'mrenclave' | 'mrsigner';
  /** trusted: each file's path under the mount → its SHA-256 (hex). */
  readonly files?: Readonly<Record<string, string>>;
  /** host: refuse writes (EROFS). Default false. */
  readonly readOnly?: boolean;
}

export interface ShieldManifest {
  /** argv; argv[0] is the program's name. Default ['program']. */
  readonly args?: readonly string[];
  /** The environment, by name. Default empty. */
  readonly env?: Readonly<Record<string, string>>;
  readonly mounts?: readonly ShieldMount[];
  /** Whether standard input comes from the host ('host') or is empty ('none', the default). */
  readonly stdin?: 'host' | 'none';
  /**
   * Remote attestation for the program, as Gramine's /dev/attestation: files under
   * ATTESTATION_PATH (user_report_data, target_info, my_target_info, report, quote,
   * attestation_type). Default false.
   */
  readonly attestation?: boolean;
}

/** Where the attestation files are (Gramine's path). */
export const ATTESTATION_PATH = '/dev/attestation';

/** A checked manifest in its canonical form (what is measured). */
export interface ResolvedManifest {
  readonly args: readonly string[];
  /** "NAME=value" entries, sorted by name. */
  readonly env: readonly string[];
  readonly mounts: readonly ResolvedMount[];
  readonly stdin: 'host' | 'none';
  readonly attestation: boolean;
}

export interface ResolvedMount {
  readonly path: string;
  readonly kind: MountKind;
  readonly keyPolicy: 'mrenclave' | 'mrsigner' | null;
  /** trusted: [path, sha256 hex] sorted by path. */
  readonly files: readonly (readonly [string, string])[];
  readonly readOnly: boolean;
}

/** Largest manifest (its canonical JSON), bytes. */
export const MAX_MANIFEST = 1 << 20;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function bad(field: string, why: string): never {
  throw new ShieldError('MANIFEST_INVALID', `shield manifest: ${field} ${why}`, { field });
}

/** A string the program may receive: no NUL (a C string ends there), valid UTF-16 (so it is valid UTF-8 when encoded). */
function cString(v: unknown, field: string): string {
  if (typeof v !== 'string') bad(field, 'must be a string');
  if (v.includes('\0')) bad(field, 'must not contain NUL');
  if (LONE_SURROGATE.test(v)) bad(field, 'must be well-formed Unicode (no lone surrogate)');
  return v;
}

/** Split a relative path into its components, refusing '', '.', '..' and NUL. */
export function relativeParts(rel: string, field: string): string[] {
  const parts = rel.split('/');
  for (const p of parts) if (p === '' || p === '.' || p === '..' || p.includes('\0')) bad(field, `is not a normalized relative path ('${rel}')`);
  return parts;
}

/**
 * Check and complete a manifest (its canonical form: defaults filled, env and trusted files sorted).
 * @throws {ShieldError} `MANIFEST_INVALID` naming the field.
 */
export function resolveManifest(m: ShieldManifest = {}): ResolvedManifest {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) bad('(the whole manifest)', 'must be an object');
  for (const k of Object.keys(m)) if (!['args', 'env', 'mounts', 'stdin', 'attestation'].includes(k)) bad(k, 'is not a manifest field (args, env, mounts, stdin, attestation)');
  const attestation = m.attestation ?? false;
  if (typeof attestation !== 'boolean') bad('attestation', 'must be true or false');
  const argsIn = m.args ?? ['program'];
  if (!Array.isArray(argsIn) || argsIn.length < 1) bad('args', 'must be a non-empty array (argv[0] is the program name)');
  // Array.from visits holes too (forEach and map skip them): a sparse array's hole is refused here.
  const args = Array.from(argsIn as unknown[], (a, i) => cString(a, `args[${i}]`));
  const envObj = m.env ?? {};
  if (typeof envObj !== 'object' || envObj === null || Array.isArray(envObj)) bad('env', 'must be an object of strings');
  const env = Object.keys(envObj).sort().map((k) => {
    if (k === '' || k.includes('=')) bad(`env.${k}`, "must be a name without '='");
    return `${cString(k, 'env')}=${cString(envObj[k], `env.${k}`)}`;
  });
  const stdin = m.stdin ?? 'none';
  if (stdin !== 'host' && stdin !== 'none') bad('stdin', "must be 'host' or 'none'");
  const mountsIn = m.mounts ?? [];
  if (!Array.isArray(mountsIn)) bad('mounts', 'must be an array');
  const seen = new Set<string>();
  const mounts = Array.from(mountsIn, (x, i): ResolvedMount => {
    const f = `mounts[${i}]`;
    if (typeof x !== 'object' || x === null) bad(f, 'must be an object');
    for (const k of Object.keys(x)) if (!['path', 'kind', 'keyPolicy', 'files', 'readOnly'].includes(k)) bad(`${f}.${k}`, 'is not a mount field (path, kind, keyPolicy, files, readOnly)');
    const path = cString(x.path, `${f}.path`);
    if (!path.startsWith('/')) bad(`${f}.path`, 'must be absolute');
    if (path !== '/') relativeParts(path.slice(1), `${f}.path`);
    if (seen.has(path)) bad(`${f}.path`, `mounts ${path} twice`);
    if (attestation && (path === ATTESTATION_PATH || path.startsWith(ATTESTATION_PATH + '/'))) bad(`${f}.path`, `is where the attestation files are (${ATTESTATION_PATH})`);
    seen.add(path);
    if (x.kind !== 'encrypted' && x.kind !== 'trusted' && x.kind !== 'host') bad(`${f}.kind`, "must be 'encrypted', 'trusted' or 'host'");
    if (x.keyPolicy !== undefined && x.kind !== 'encrypted') bad(`${f}.keyPolicy`, 'applies to encrypted mounts only');
    if (x.keyPolicy !== undefined && x.keyPolicy !== 'mrenclave' && x.keyPolicy !== 'mrsigner') bad(`${f}.keyPolicy`, "must be 'mrenclave' or 'mrsigner'");
    if (x.files !== undefined && x.kind !== 'trusted') bad(`${f}.files`, 'applies to trusted mounts only');
    if (x.readOnly !== undefined && x.kind !== 'host') bad(`${f}.readOnly`, 'applies to host mounts only (trusted mounts are read-only, encrypted ones writable)');
    if (x.readOnly !== undefined && typeof x.readOnly !== 'boolean') bad(`${f}.readOnly`, 'must be true or false');
    const filesIn = x.files ?? {};
    if (typeof filesIn !== 'object' || filesIn === null || Array.isArray(filesIn)) bad(`${f}.files`, 'must be an object of path → SHA-256 hex');
    const files = Object.keys(filesIn).sort().map((p): readonly [string, string] => {
      relativeParts(cString(p, `${f}.files`), `${f}.files['${p}']`);
      const h = filesIn[p];
      if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) bad(`${f}.files['${p}']`, 'must be a SHA-256 in lowercase hex (64 digits)');
      return [p, h];
    });
    // A trusted file may not also be a directory of another (a/b and a/b/c): each file's parents looked up.
    const listed = new Set(files.map(([p]) => p));
    for (const [p] of files) for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (listed.has(p.slice(0, i))) bad(`${f}.files['${p.slice(0, i)}']`, 'is also a directory of another listed file');
    return { path, kind: x.kind, keyPolicy: x.kind === 'encrypted' ? x.keyPolicy ?? 'mrenclave' : null, files, readOnly: x.kind === 'host' ? x.readOnly ?? false : x.kind === 'trusted' };
  });
  const resolved: ResolvedManifest = { args, env, mounts, stdin, attestation };
  if (manifestBytes(resolved).length > MAX_MANIFEST) bad('(the whole manifest)', `exceeds ${MAX_MANIFEST} bytes`);
  return resolved;
}

/** The canonical bytes of a resolved manifest (UTF-8 JSON, fields in a fixed order): what the module's section carries. */
export function manifestBytes(m: ResolvedManifest): Uint8Array {
  const json = {
    args: m.args,
    env: m.env,
    mounts: m.mounts.map((x) => ({ path: x.path, kind: x.kind, keyPolicy: x.keyPolicy, files: x.files, readOnly: x.readOnly })),
    stdin: m.stdin,
    attestation: m.attestation,
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

/**
 * The manifest from its canonical bytes, checked again (inside the enclave, from the measured section).
 * @throws {ShieldError} `MANIFEST_INVALID`.
 */
export function parseManifest(bytes: Uint8Array): ResolvedManifest {
  let j: unknown;
  try {
    j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ShieldError('MANIFEST_INVALID', 'shield manifest: not UTF-8 JSON', {}, { cause: e });
  }
  if (typeof j !== 'object' || j === null) bad('(the whole manifest)', 'must be an object');
  const o = j as { args?: unknown; env?: unknown; mounts?: unknown; stdin?: unknown; attestation?: unknown };
  if (!Array.isArray(o.env) || !Array.isArray(o.mounts)) bad('(the whole manifest)', 'is not in canonical form');
  const env: Record<string, string> = Object.create(null) as Record<string, string>; // a name like __proto__ is a name
  for (const e of o.env as unknown[]) {
    const s = typeof e === 'string' ? e : bad('env', 'entries must be strings');
    const eq = s.indexOf('=');
    if (eq <= 0) bad('env', `entry '${s}' is not NAME=value`);
    env[s.slice(0, eq)] = s.slice(eq + 1);
  }
  const mounts = (o.mounts as unknown[]).map((x, i) => {
    if (typeof x !== 'object' || x === null) bad(`mounts[${i}]`, 'must be an object');
    const mx = x as { path?: unknown; kind?: unknown; keyPolicy?: unknown; files?: unknown; readOnly?: unknown };
    const files = Array.isArray(mx.files) ? Object.fromEntries((mx.files as unknown[]).map((p) => (Array.isArray(p) && p.length === 2 ? p : bad(`mounts[${i}].files`, 'entries must be [path, sha256]')) as [string, string])) : bad(`mounts[${i}].files`, 'must be an array');
    return {
      path: mx.path, kind: mx.kind,
      ...(mx.kind === 'encrypted' ? { keyPolicy: mx.keyPolicy } : {}),
      ...(mx.kind === 'trusted' ? { files } : {}),
      ...(mx.kind === 'host' ? { readOnly: mx.readOnly } : {}),
    } as ShieldMount;
  });
  const resolved = resolveManifest({ args: o.args as string[], env, mounts, stdin: o.stdin as 'host' | 'none', attestation: o.attestation as boolean });
  // The canonical form is one byte string: anything else is not what a build wrote.
  const again = manifestBytes(resolved);
  if (!bytesEqual(again, bytes)) bad('(the whole manifest)', 'is not in canonical form');
  return resolved;
}
