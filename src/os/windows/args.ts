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

/**
 * Is the out-parameter absent, a box whose `value` can be written, or an address where `size` bytes
 * can be written? Probed before a call's first irreversible step, as an address is probed for
 * writing: a frozen box, a read-only `value` or a getter without a setter is refused like an
 * unwritable address. (A setter is the caller's code: the calls write out-parameters only where
 * such code may run, e.g. NtLoadEnclaveData once the caller's buffer is no longer lent.)
 */
export function outWritable(p: Process, o: Out<number> | undefined, size: 4 | 8): boolean {
  if (o !== null && typeof o === 'object') return boxWritable(o);
  return typeof o !== 'number' || o === 0 || p.accessible(o, size, true);
}

/** `o.value = v` can succeed: the nearest `value` is a setter, or a writable data property (own, or inherited by an extensible object); or there is none and `o` is extensible. */
function boxWritable(o: object): boolean {
  for (let q: object | null = o; q !== null; q = Object.getPrototypeOf(q) as object | null) {
    const d = Object.getOwnPropertyDescriptor(q, 'value');
    if (d === undefined) continue;
    if (d.get !== undefined || d.set !== undefined) return d.set !== undefined;
    return d.writable === true && (q === o || Object.isExtensible(o));
  }
  return Object.isExtensible(o);
}

/**
 * Write a DWORD (size 4) or SIZE_T (size 8) out-parameter. Absent (NULL) is no error; an address
 * or a box that cannot be written gives false and writes nothing.
 */
export function writeOut(p: Process, o: Out<number> | undefined, v: number, size: 4 | 8): boolean {
  if (o === null || o === undefined || o === 0) return true;
  if (typeof o === 'object') {
    // A box that passed outWritable can still throw (a Proxy's trap): that is a failed write, as at an address.
    try {
      o.value = v;
    } catch {
      return false;
    }
    return true;
  }
  if (!outWritable(p, o, size)) return false;
  const b = new Uint8Array(size);
  if (size === 4) writeU32le(b, 0, v >>> 0);
  else writeU64le(b, 0, v);
  p.write(o, b);
  return true;
}
