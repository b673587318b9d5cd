/**
 * node:path in the browser build: POSIX `join` and `dirname`, as far as the layers below use them
 * on the package's paths (which are URL paths there). Mapped by src/cli/webserver.ts.
 */
import { dirnameOf, normalizePath } from '../../sdk/edl/paths.js';

export function join(...parts: string[]): string {
  return normalizePath(parts.filter((p) => p !== '').join('/'));
}

/** As node:path's: '.' for a bare name, '/' for the root, a trailing slash ignored. */
export function dirname(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const d = dirnameOf(trimmed);
  return d === '' ? '.' : d;
}
