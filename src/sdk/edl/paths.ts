/**
 * Path arithmetic for `from "x.edl"` (kept free of node:path so that the parser runs wherever the
 * reader does) and the default node:fs reader.
 */
import { readFileSync } from 'node:fs';

const isSep = (c: string | undefined): boolean => c === '/' || c === '\\';

export function isAbsolutePath(p: string): boolean {
  return isSep(p[0]) || /^[A-Za-z]:[\\/]/.test(p);
}

/** The directory part of `p` (`''` for a bare file name). */
export function dirnameOf(p: string): string {
  for (let i = p.length - 1; i >= 0; i--) if (isSep(p[i])) return i === 0 ? p[0]! : p.slice(0, i);
  return '';
}

/** Removes `.` segments, folds `dir/..`, and turns `\` into `/`. */
export function normalizePath(p: string): string {
  const abs = isAbsolutePath(p);
  const drive = /^[A-Za-z]:/.test(p) ? p.slice(0, 2) : '';
  const parts = (drive ? p.slice(2) : p).split(/[\\/]+/);
  const out: string[] = [];
  for (const seg of parts) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (seg === '..' && abs) continue;
    else out.push(seg);
  }
  const body = out.join('/');
  return abs ? `${drive}/${body}` : body === '' ? '.' : body;
}

/** `name` relative to `dir` (or `name` itself when absolute or when `dir` is empty). */
export function joinPath(dir: string, name: string): string {
  if (isAbsolutePath(name) || dir === '' || dir === '.') return normalizePath(name);
  return normalizePath(`${dir}/${name}`);
}

/**
 * Reads a UTF-8 file with node:fs; `null` when there is no such file (or it is a directory),
 * other failures (permissions, I/O) are thrown.
 */
export function readEdlFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw e;
  }
}
