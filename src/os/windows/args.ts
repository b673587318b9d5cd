/**
 * How the binding passes Win32/NT arguments: a memory argument is an address in the calling process
 * or bytes the binding copies in; an out-parameter is an explicit `{ value }` box, an address in the
 * calling process, or NULL. One writer for out-parameters serves the Nt layer and kernel32 alike.
 */
import { writeU32le, writeU64le } from '../../lib/bytes.js';
import type { Process } from '../process.js';

/** A memory argument: an address in the calling process (0 = NULL), or bytes the binding copies in. */
export type MemArg = number | Uint8Array | null;
/** An out-parameter: an explicit box, an address in the calling process, or null. */
export type Out<T> = { value: T } | number | null;

/** Is the out-parameter absent, a box, or an address where `size` bytes can be written? */
export function outWritable(p: Process, o: Out<number> | undefined, size: 4 | 8): boolean {
  return typeof o !== 'number' || o === 0 || p.accessible(o, size, true);
}

/**
 * Write a DWORD (size 4) or SIZE_T (size 8) out-parameter. Absent (NULL) is no error; an address
 * that cannot be written gives false and writes nothing.
 */
export function writeOut(p: Process, o: Out<number> | undefined, v: number, size: 4 | 8): boolean {
  if (o === null || o === undefined || o === 0) return true;
  if (typeof o === 'object') {
    o.value = v;
    return true;
  }
  if (!outWritable(p, o, size)) return false;
  const b = new Uint8Array(size);
  if (size === 4) writeU32le(b, 0, v >>> 0);
  else writeU64le(b, 0, v);
  p.write(o, b);
  return true;
}
