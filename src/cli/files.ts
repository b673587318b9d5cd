/**
 * The CLI's file access: every read and write of a user-named path goes through here, so that a
 * missing file, a missing folder or a permission problem is a one-line `CliError` (exit 2), never
 * a stack trace.
 */
import { readFileSync, openSync, writeSync, fchmodSync, closeSync } from 'node:fs';
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

/**
 * Write an output file the user named, whole.
 * @throws {CliError} `CLI_EXISTS` (exit 2) for an existing file with `exclusive`; `CLI_WRITE`
 * (exit 2) when it cannot be written (a missing folder, no permission).
 * @example writeOutput('enclave-key.pem', pem, { mode: 0o600, exclusive: true });
 */
export function writeOutput(path: string, data: Uint8Array | string, options: WriteOptions = {}): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let fd: number;
  try {
    fd = openSync(path, options.exclusive ? 'wx' : 'w', options.mode ?? 0o666);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') throw new CliError('CLI_EXISTS', `${path} already exists; it was not replaced`, 2, { path }, { cause: e });
    throw fileError('write', path, e);
  }
  try {
    // The mode given to open applies only when the file is created: set it before any byte lands.
    if (options.mode !== undefined) fchmodSync(fd, options.mode);
    for (let o = 0; o < bytes.length; ) o += writeSync(fd, bytes, o, bytes.length - o);
  } catch (e) {
    throw fileError('write', path, e);
  } finally {
    closeSync(fd);
  }
}
