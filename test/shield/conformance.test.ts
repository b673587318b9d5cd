/**
 * File behaviour a real program depends on, three ways: test/fixtures/wasi/conformance.c (fopen
 * modes, seeks, open flags, stat, a 300-entry directory read in several fd_readdir calls, renames,
 * unlinks, directories, truncation, append, chdir, a 1 MiB file, large stdout) under node:wasi on a
 * real directory, shielded on a host mount, and shielded on an encrypted mount. The outputs must
 * agree line for line except where this file lists a difference and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, readFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { createPlatform } from '../../src/platform/index.js';
import { MemoryFileSystem, NodeFileSystem, runShielded, type MountKind } from '../../src/shield/index.js';
import { shielded, text, wasiProgram } from '../helpers/shield.js';

const ARGV = ['conformance', '/data', '8'];

const BY_PATH = 'a host-mount descriptor names its file by path (documented for storage without open(), as MemoryFileSystem): unlinked, it is gone';

/** node:wasi (uvwasi) and the shield on a host mount in memory: [node:wasi's line, the shield's line, why]. */
const NODE_VS_SHIELD: readonly (readonly [string, string, string])[] = [
  ['ftruncate O_RDONLY: -1 ENOTCAPABLE', 'ftruncate O_RDONLY: -1 EBADF', 'POSIX allows EBADF (or EINVAL) for a descriptor not open for writing; the shield checks how it was opened, not WASI rights'],
  ['read from a directory: -1 EBADF', 'read from a directory: -1 EISDIR', 'Linux answers EISDIR'],
  ['stat file/.: file of 12 bytes', 'stat file/.: ENOTDIR', 'POSIX: a trailing /. on a file is ENOTDIR; uvwasi drops it'],
  ['entries 302 (+ 0 of . and ..), d_type wrong 0, d_ino != st_ino 302', 'entries 302 (+ 2 of . and ..), d_type wrong 0, d_ino != st_ino 0', "the shield lists '.' and '..' as wasmtime and POSIX readdir do, and its d_ino is stat's st_ino; uvwasi's is not"],
  ['base: 5 entries, d_ino != st_ino for 5', 'base: 5 entries, d_ino != st_ino for 0', "uvwasi's d_ino is not st_ino"],
  ['link: ok', 'link: -1 ENOTSUP', 'no links in a mount (documented)'],
  ['symlink: ok', 'symlink: -1 ENOTSUP', 'no links in a mount (documented)'],
  ['read through its fd: 14  "still readable"', 'read through its fd: -1 ENOENT ""', BY_PATH],
  ['write through its fd: 5 ', 'write through its fd: -1 ENOENT', BY_PATH],
  ['fstat: size 14 nlink 0', 'fstat: ENOENT', BY_PATH],
  ['old fd after a new file took the name: 14 "STILL readable"', 'old fd after a new file took the name: 10 "a new file"', BY_PATH],
  ['appended: 9 bytes "base+1+2P"', 'appended: 8 bytes "Pase+1+2"', 'POSIX: pwrite writes at its offset on an O_APPEND descriptor; Linux (and uvwasi) append'],
  ['F_GETFL O_APPEND after: 0', 'F_GETFL O_APPEND after: 1', 'fd_fdstat_set_flags sets APPEND and fd_fdstat_get reports it; uvwasi forgets it'],
  ['after F_SETFL: 11 bytes "base+1+2P+3"', 'after F_SETFL: 10 bytes "Pase+1+2+3"', 'follows from the pwrite above'],
  ['lseek on stdout: ok', 'lseek on stdout: -1 ESPIPE', "the shield's stdout is a character device (node:wasi's is the test's file)"],
];

/**
 * A host mount whose storage is a real directory (NodeFileSystem, which opens files: HostFileSystem.open)
 * gives an open file's descriptor the file itself, as node:wasi's: the differences that come from
 * naming it by path are gone.
 */
const NODE_VS_SHIELD_ON_DISK = NODE_VS_SHIELD.filter(([, , why]) => why !== BY_PATH);

/** The shield on a host mount and on an encrypted mount: [host's line, encrypted's line, why]. */
const HOST_VS_ENCRYPTED: readonly (readonly [string, string, string])[] = [
  ['rename dir over file: -1 ENOTDIR', 'rename dir over file: -1 ENOTSUP', "an encrypted mount's files are bound to their paths: its directories are not renamed (documented)"],
  ['rename dir into itself: -1 EINVAL', 'rename dir into itself: -1 ENOTSUP', 'the same'],
  ['rename dir to new name: ok', 'rename dir to new name: -1 ENOTSUP', 'the same'],
  ['d2/inner: 5 bytes "inner"', 'd2/inner: open ENOENT', 'the same'],
  ['rename dir over empty dir: ok', 'rename dir over empty dir: -1 ENOTSUP', 'the same'],
  ['rename dir over non-empty dir: -1 ENOTEMPTY', 'rename dir over non-empty dir: -1 ENOTSUP', 'the same'],
  ['read through its fd: -1 ENOENT ""', 'read through its fd: 14  "still readable"', 'an encrypted file is held in the enclave: its descriptor outlives the name, as POSIX says'],
  ['write through its fd: -1 ENOENT', 'write through its fd: 5 ', 'the same'],
  ['fstat: ENOENT', 'fstat: size 14 nlink 0', 'the same'],
  ['old fd after a new file took the name: 10 "a new file"', 'old fd after a new file took the name: 14 "STILL readable"', 'the same'],
];

function underNode(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'witness-conformance-'));
  const out = join(dir, '.stdout');
  try {
    const fd = openSync(out, 'w');
    try {
      // The program's directory is a subdirectory: its stdout file is not listed.
      const data = join(dir, 'data');
      mkdirSync(data);
      const wasi = new WASI({ version: 'preview1', args: ARGV, env: {}, preopens: { '/data': data }, stdout: fd, returnOnExit: true });
      assert.equal(wasi.start(new WebAssembly.Instance(new WebAssembly.Module(wasiProgram('conformance')), { wasi_snapshot_preview1: wasi.wasiImport })), 0);
    } finally {
      closeSync(fd);
    }
    return readFileSync(out, 'utf8').split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function shieldedRun(kind: MountKind, onDisk = false): string[] {
  const t = shielded({ args: ARGV, mounts: [{ path: '/data', kind }] }, { heapSize: 8 << 20 }, undefined, 'conformance');
  const dir = onDisk ? mkdtempSync(join(tmpdir(), 'witness-conformance-')) : null;
  try {
    const r = runShielded(createPlatform(), t.built.image, { load: { sigstruct: t.sigstruct }, mounts: { '/data': dir === null ? new MemoryFileSystem() : new NodeFileSystem(dir) } });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.violations, []);
    return text(r.stdout).split('\n');
  } finally {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
}

function compare(a: string[], b: string[], allowed: readonly (readonly [string, string, string])[], names: string): void {
  assert.equal(a.length, b.length, `${names}: as many lines`);
  const found: string[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const ok = allowed.some(([x, y]) => x === a[i] && y === b[i]);
    assert.ok(ok, `${names}, line ${i + 1}: an unexplained difference:\n  ${a[i]}\n  ${b[i]}`);
    found.push(a[i]!);
  }
  // Every listed difference is still there (a fix shows up as a list to shorten).
  for (const [x] of allowed) assert.ok(found.includes(x), `${names}: the listed difference '${x}' is gone`);
}

test('conformance.c: node:wasi, the shield on a host mount and on an encrypted mount agree, but for the listed differences', () => {
  const node = underNode(), host = shieldedRun('host'), encrypted = shieldedRun('encrypted');
  assert.ok(host.includes('== done'), host.slice(-5).join('\n'));
  compare(node, host, NODE_VS_SHIELD, 'node:wasi vs the shield (host mount)');
  compare(host, encrypted, HOST_VS_ENCRYPTED, 'host mount vs encrypted mount');
});

test('conformance.c on a host mount in a real directory (NodeFileSystem: open files by descriptor): node:wasi and the shield agree but for the listed differences, none of them about unlinked or replaced open files', () => {
  compare(underNode(), shieldedRun('host', true), NODE_VS_SHIELD_ON_DISK, 'node:wasi vs the shield (host mount, NodeFileSystem)');
});
