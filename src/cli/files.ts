/**
 * The CLI's file access: every read and write of a user-named path goes through here, so that a
 * missing file, a missing folder or a permission problem is a one-line `CliError` (exit 2), never
 * a stack trace.
 */
import { readFileSync, mkdirSync, openSync, writeSync, fchmodSync, closeSync, renameSync, linkSync, unlinkSync, lstatSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError } from './io.js';

/** The errno codes a user meets, in words. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
};

/** The errno `code` of a Node system error, or null for anything else. */
export function errnoCode(e: unknown): string | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : null;
}

/** `no such file or directory` for ENOENT; the code itself for a rarer one. */
export function errnoText(code: string): string {
  return ERRNO_TEXT[code] ?? code;
}

function fileError(verb: 'read' | 'write', path: string, e: unknown): CliError {
  const code = errnoCode(e);
  return new CliError(verb === 'read' ? 'CLI_READ' : 'CLI_WRITE', `cannot ${verb} ${path}: ${code ? errnoText(code) : String(e)}`, 2, { path, errno: code }, { cause: e });
}

/**
 * The bytes of a file the user named.
 * @throws {CliError} `CLI_READ` (exit 2) when it cannot be read.
 */
export function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw fileError('read', path, e);
  }
}

/**
 * A text file the user named (a PEM key, a JSON configuration, an EDL file), decoded as UTF-8.
 * @throws {CliError} `CLI_READ` (exit 2) when it cannot be read.
 */
export function readText(path: string): string {
  return new TextDecoder('utf-8').decode(readInput(path));
}

export interface WriteOptions {
  /** File mode, applied whether the file is created or replaced (e.g. 0o600 for a private key). */
  readonly mode?: number;
  /** Refuse to replace an existing file (`CLI_EXISTS`, exit 2). */
  readonly exclusive?: boolean;
}

/** One output of a command: a path the user named and its whole contents. */
export interface Output {
  readonly path: string;
  readonly data: Uint8Array | string;
  readonly options?: WriteOptions;
}

/**
 * Write an output file the user named, whole (see `writeOutputs`).
 * @example writeOutput('enclave-key.pem', pem, { mode: 0o600, exclusive: true });
 */
export function writeOutput(path: string, data: Uint8Array | string, options: WriteOptions = {}): void {
  writeOutputs([{ path, data, options }]);
}

/**
 * Write a command's outputs all or none: two outputs naming one file are refused, an existing file
 * is refused for an `exclusive` output, each file is written whole to a temporary file beside it
 * and only then moved into place (a replaced file is never seen half-written), and if anything
 * fails, the files already placed by this call are removed again and nothing else is left behind.
 * @throws {CliError} `CLI_SAME_OUTPUT` (exit 2) for two outputs naming one file; `CLI_EXISTS`
 * (exit 2) for an existing file with `exclusive`; `CLI_WRITE` (exit 2) when one cannot be written.
 */
export function writeOutputs(outputs: readonly Output[]): void {
  checkOutputs(outputs);
  const temps: string[] = [];
  const placed: string[] = [];
  try {
    for (const o of outputs) temps.push(writeTemp(o));
    outputs.forEach((o, k) => {
      place(temps[k]!, o);
      placed.push(o.path);
    });
  } catch (e) {
    for (const t of temps) removeQuietly(t);
    for (const p of placed) removeQuietly(p);
    throw e;
  }
}

/**
 * The checks `writeOutputs` makes before writing anything (a command with slow work before its
 * writes, such as key generation, makes them first too). `existsHint` ends the CLI_EXISTS message.
 * @throws {CliError} `CLI_SAME_OUTPUT` or `CLI_EXISTS` (exit 2), as `writeOutputs`.
 */
export function checkOutputs(outputs: readonly Pick<Output, 'path' | 'options'>[], existsHint = 'it was not replaced'): void {
  const seen = new Map<string, string>();
  for (const o of outputs) {
    const full = resolve(o.path);
    const other = seen.get(full);
    if (other !== undefined) throw new CliError('CLI_SAME_OUTPUT', `${other} and ${o.path} name the same file`, 2, { path: o.path });
    seen.set(full, o.path);
    if (o.options?.exclusive && exists(o.path)) throw new CliError('CLI_EXISTS', `${o.path} already exists; ${existsHint}`, 2, { path: o.path });
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

let tempCounter = 0;

/** The output's bytes in a new temporary file beside its path (the same folder: the move is a rename). */
function writeTemp(o: Output): string {
  const bytes = typeof o.data === 'string' ? new TextEncoder().encode(o.data) : o.data;
  const mode = o.options?.mode;
  const temp = `${o.path}.${process.pid}.${tempCounter++}.tmp`;
  let fd: number;
  try {
    fd = openSync(temp, 'wx', mode ?? 0o666);
  } catch (e) {
    throw fileError('write', o.path, e);
  }
  try {
    // The mode given to open is masked by the umask: set it exactly before any byte lands.
    if (mode !== undefined) fchmodSync(fd, mode);
    for (let k = 0; k < bytes.length; ) k += writeSync(fd, bytes, k, bytes.length - k);
  } catch (e) {
    closeSync(fd);
    removeQuietly(temp);
    throw fileError('write', o.path, e);
  }
  closeSync(fd);
  return temp;
}

/** Move a written temporary file to its output path: exclusively (a link fails on an existing file), or replacing. */
function place(temp: string, o: Output): void {
  try {
    if (o.options?.exclusive) {
      linkSync(temp, o.path);
      unlinkSync(temp);
    } else renameSync(temp, o.path);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') throw new CliError('CLI_EXISTS', `${o.path} already exists; it was not replaced`, 2, { path: o.path }, { cause: e });
    throw fileError('write', o.path, e);
  }
}

/**
 * Create a folder the user named for outputs, and its parents, if missing.
 * @throws {CliError} `CLI_WRITE` (exit 2) when it cannot be made (a file in the way, no permission).
 */
export function ensureDirectory(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    throw fileError('write', path, e);
  }
}
