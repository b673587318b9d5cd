/**
 * A mount's storage in a real directory of the host (node:fs). The shield sends normalized paths
 * only, but the host does not take the enclave's word for it either: a path with '..', '.', an
 * empty component, a NUL or a leading '/' is refused (INVAL), so nothing outside the directory is
 * reached through the names it is given. (Symbolic links the host itself placed inside the
 * directory are followed when a name is opened, but not listed: a listing holds files and
 * directories only.)
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { HostFsError, countArg, type HostFile, type HostFileAccess, type HostFileSystem } from './host.js';
import type { ERRNO } from './protocol.js';

const ERRNO_OF: Readonly<Record<string, keyof typeof ERRNO>> = {
  ENOENT: 'NOENT', EEXIST: 'EXIST', ENOTDIR: 'NOTDIR', EISDIR: 'ISDIR', ENOTEMPTY: 'NOTEMPTY', EACCES: 'ACCES', EPERM: 'PERM',
  ENOSPC: 'NOSPC', EROFS: 'ROFS', ENAMETOOLONG: 'NAMETOOLONG', EXDEV: 'XDEV', EINVAL: 'INVAL', EFBIG: 'FBIG', EBUSY: 'BUSY',
  EMFILE: 'MFILE', ENFILE: 'NFILE', // the host process's descriptors (each open file of the program holds one)
};

function host<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof HostFsError) throw e; // (already the storage's answer)
    const code = (e as { code?: unknown }).code;
    // A system call's error (ENOENT, …); Node's own argument errors (ERR_…) are not the disk's: they go on.
    if (typeof code === 'string' && !code.startsWith('ERR_')) throw new HostFsError(ERRNO_OF[code] ?? 'IO', `${what}: ${code}`);
    throw e;
  }
}

export class NodeFileSystem implements HostFileSystem {
  constructor(readonly root: string) {
    if (typeof root !== 'string') throw new HostFsError('INVAL', `a NodeFileSystem's root is a directory's path, not ${typeof root}`);
    const st = host(`mount ${root}`, () => fs.statSync(root));
    if (!st.isDirectory()) throw new HostFsError('NOTDIR', `${root} is not a directory`);
  }

  /** Reads land here (the host copies them into its answer before its next call): no buffer per read. */
  #buf = new Uint8Array(64 * 1024);
  #readInto(fd: number, offset: number, length: number): Uint8Array {
    countArg(offset, 'offset');
    countArg(length, 'length');
    if (this.#buf.length < length) this.#buf = new Uint8Array(length);
    const n = fs.readSync(fd, this.#buf, 0, length, offset);
    return this.#buf.subarray(0, n);
  }

  #path(rel: string): string {
    if (rel === '') return this.root;
    if (rel.startsWith('/') || rel.split('/').some((p) => p === '' || p === '.' || p === '..') || rel.includes('\0')) throw new HostFsError('INVAL', `not a normalized relative path: ${JSON.stringify(rel)}`);
    return join(this.root, ...rel.split('/'));
  }

  stat(rel: string) {
    const p = this.#path(rel);
    let st: fs.BigIntStats;
    try {
      st = fs.statSync(p, { bigint: true });
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') return null;
      return host(`stat ${rel}`, () => {
        throw e;
      });
    }
    if (!st.isDirectory() && !st.isFile()) throw new HostFsError('ACCES', `${rel} is neither a file nor a directory`);
    return { type: st.isDirectory() ? ('dir' as const) : ('file' as const), size: Number(st.size), mtimeNs: st.mtimeNs };
  }
  read(rel: string, offset: number, length: number): Uint8Array {
    const p = this.#path(rel);
    return host(`read ${rel}`, () => {
      const fd = fs.openSync(p, 'r');
      try {
        return this.#readInto(fd, offset, length);
      } finally {
        fs.closeSync(fd);
      }
    });
  }
  write(rel: string, offset: number | null, data: Uint8Array): number {
    if (offset !== null) countArg(offset, 'offset');
    const p = this.#path(rel);
    return host(`write ${rel}`, () => {
      const fd = fs.openSync(p, offset === null ? 'a' : 'r+');
      try {
        return fs.writeSync(fd, data, 0, data.length, offset === null ? null : offset);
      } finally {
        fs.closeSync(fd);
      }
    });
  }
  /** An open file: one descriptor until close (it follows renames and outlives an unlink, as the program's own would). */
  open(rel: string, access: HostFileAccess): HostFile {
    const p = this.#path(rel);
    const flags = access === 'r' ? fs.constants.O_RDONLY : access === 'w' ? fs.constants.O_WRONLY : fs.constants.O_RDWR;
    const fd = host(`open ${rel}`, () => fs.openSync(p, flags));
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      host(`close ${rel}`, () => fs.closeSync(fd));
    };
    try {
      if (!host(`open ${rel}`, () => fs.fstatSync(fd).isFile())) throw new HostFsError('ISDIR', `${rel} is not a regular file`);
    } catch (e) {
      close();
      throw e;
    }
    return {
      read: (offset, length) => host(`read ${rel}`, () => this.#readInto(fd, offset, length)),
      // At the end: where the file ends now (the descriptor is not O_APPEND: one descriptor reads and writes).
      write: (offset, data) => {
        if (offset !== null) countArg(offset, 'offset');
        return host(`write ${rel}`, () => fs.writeSync(fd, data, 0, data.length, offset ?? fs.fstatSync(fd).size));
      },
      truncate: (size) => {
        countArg(size, 'size');
        host(`truncate ${rel}`, () => fs.ftruncateSync(fd, size));
      },
      stat: () => {
        const st = host(`stat ${rel}`, () => fs.fstatSync(fd, { bigint: true }));
        return { type: st.isDirectory() ? ('dir' as const) : ('file' as const), size: Number(st.size), mtimeNs: st.mtimeNs, nlink: Number(st.nlink) };
      },
      close,
    };
  }
  truncate(rel: string, size: number): void {
    countArg(size, 'size');
    const p = this.#path(rel);
    host(`truncate ${rel}`, () => fs.truncateSync(p, size));
  }
  create(rel: string, exclusive: boolean): void {
    const p = this.#path(rel);
    host(`create ${rel}`, () => fs.closeSync(fs.openSync(p, exclusive ? 'wx' : 'a')));
  }
  list(rel: string) {
    const p = this.#path(rel);
    return host(`list ${rel}`, () =>
      fs.readdirSync(p, { withFileTypes: true })
        .filter((d) => d.isFile() || d.isDirectory())
        .map((d) => ({ name: d.name, type: d.isDirectory() ? ('dir' as const) : ('file' as const) })),
    );
  }
  unlink(rel: string): void {
    const p = this.#path(rel);
    host(`unlink ${rel}`, () => fs.unlinkSync(p));
  }
  mkdir(rel: string): void {
    const p = this.#path(rel);
    host(`mkdir ${rel}`, () => fs.mkdirSync(p));
  }
  rmdir(rel: string): void {
    const p = this.#path(rel);
    host(`rmdir ${rel}`, () => fs.rmdirSync(p));
  }
  rename(from: string, to: string): void {
    const a = this.#path(from), b = this.#path(to);
    host(`rename ${from}`, () => fs.renameSync(a, b));
  }
}
