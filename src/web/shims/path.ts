/**
 * node:path in the browser build: POSIX `join` and `dirname`, as far as the layers below use them
 * on the package's paths (which are URL paths there). Mapped by src/cli/webserver.ts.
 */
import { normalizePath } from '../../sdk/edl/paths.js';

export function join(...parts: string[]): string {
  return normalizePath(parts.filter((p) => p !== '').join('/'));
}

export function dirname(path: string): string {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : path.slice(0, i);
}
