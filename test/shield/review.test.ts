/**
 * What an adversarial review of the shield found (each failed before its fix), with its program
 * test/fixtures/wasi/revtest.c: nested mounts reached through '//', '.', '..' or an outer
 * descriptor; the encrypted-file cache (rename to itself, unlink and recreate while open, rename
 * onto an open file); a known file the host turns into a directory; 64-bit values the program
 * passes (unsigned, not signed) and a write larger than ssize_t; a name that starts with U+FEFF;
 * d_ino against st_ino; a sleep. And one limit the path-based ABI keeps, pinned as documented.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform } from '../../src/platform/index.js';
import { MemoryFileSystem, OP, FILETYPE, Encoder, runShielded, type ShieldManifest, type ShieldRun, type ShieldRunOptions } from '../../src/shield/index.js';
import { shielded, text } from '../helpers/shield.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x33 + i);
const ENCRYPTED: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted' }];
const HOST: ShieldManifest['mounts'] = [{ path: '/data', kind: 'host' }];
const args = (...a: string[]) => ['revtest', ...a];

function run(manifest: ShieldManifest, options: ShieldRunOptions = {}): ShieldRun {
  const t = shielded(manifest, {}, undefined, 'revtest');
  return runShielded(createPlatform({ seed: SEED }), t.built.image, { ...options, load: { sigstruct: t.sigstruct } });
}

describe('1 nested mounts', () => {
  const NESTED: ShieldManifest['mounts'] = [{ path: '/data', kind: 'host' }, { path: '/data/secret', kind: 'encrypted' }];
  for (const p of ['/data//secret/key', '/data/./secret/key', '/data/x/../secret/key']) {
    test(`open("${p}") does not write the inner encrypted mount's plaintext to the outer host mount`, () => {
      const outer = new MemoryFileSystem();
      outer.dirs.add('secret'); // the host prepares this in its own storage
      outer.dirs.add('x');
      const inner = new MemoryFileSystem();
      const r = run({ args: args('putget', p, 'TOPSECRET'), mounts: NESTED }, { mounts: { '/data': outer, '/data/secret': inner } });
      assert.ok(!outer.files.has('secret/key'), `plaintext stored by the host: ${text(r.stdout)}`);
      // It went to the inner, encrypted mount, sealed, and came back.
      assert.equal(text(r.stdout), 'read 9: TOPSECRET\n');
      assert.ok(inner.files.has('key') && !Buffer.from(inner.files.get('key')!).includes('TOPSECRET'));
    });
  }
  test('openat(dirfd of /data, "secret/key") neither', () => {
    const outer = new MemoryFileSystem();
    outer.dirs.add('secret');
    run({ args: args('openat', '/data', 'secret/key', 'TOPSECRET'), mounts: NESTED }, { mounts: { '/data': outer, '/data/secret': new MemoryFileSystem() } });
    assert.ok(!outer.files.has('secret/key'));
  });
});

describe('2 encrypted cache', () => {
  test('rename(p, p) keeps the file', () => {
    const store = new MemoryFileSystem();
    const r = run({ args: args('renameself', '/data/f'), mounts: ENCRYPTED }, { mounts: { '/data': store } });
    assert.equal(text(r.stdout), 'read 7: keep me\n');
  });
  test('unlink while open, recreate, close the old fd, open again: no violation, the new data', () => {
    const r = run({ args: args('unlinkreopen', '/data/f'), mounts: ENCRYPTED }, { mounts: { '/data': new MemoryFileSystem() } });
    assert.deepEqual(r.violations, []);
    assert.equal(text(r.stdout), 'read 3: NEW\n');
  });
  test('rename onto an open file, close the displaced fd: a new fd sees what the moved fd wrote', () => {
    const r = run({ args: args('renameover', '/data/a', '/data/b'), mounts: ENCRYPTED }, { mounts: { '/data': new MemoryFileSystem() } });
    assert.equal(text(r.stdout), 'via the new fd: A-dataMORE\n');
  });
});

test('3 a known encrypted file the host replaces by a directory is a violation (EIO), not a directory', () => {
  let flushed = false;
  const r = run({ args: args('putget', '/data/f', 'secret'), mounts: ENCRYPTED }, {
    mounts: { '/data': new MemoryFileSystem() },
    intercept: (op) => {
      if (op === OP.TRUNCATE) flushed = true; // the enclave sealed f: it knows its version now
      if (op === OP.STAT && flushed) return new Encoder().u32(0).u8(FILETYPE.DIRECTORY).u64(0n).u64(0n).finish();
      return undefined;
    },
  });
  assert.ok(r.violations.length >= 1, `no violation; the program saw: ${text(r.stdout)}`);
  assert.equal(text(r.stdout), 'error open: 29\n');
});

describe('4 program-supplied values: WASI errnos, never JS errors', () => {
  test('fd_write whose iovecs total 16 GiB', () => {
    assert.equal(text(run({ args: args('bigwritev') }).stdout), 'fd_write: errno 28\n'); // EINVAL: the total exceeds ssize_t
  });
  test('fd_readdir with cookie 2^64-1', () => {
    assert.equal(text(run({ args: args('cookie', '/data'), mounts: ENCRYPTED }).stdout), 'fd_readdir: errno 0 used 0\n');
  });
  test('fd_pwrite at 2^64-5 (encrypted file)', () => {
    assert.equal(text(run({ args: args('pwriteneg', '/data/f'), mounts: ENCRYPTED }).stdout), 'fd_pwrite: errno 28 n 0\n');
  });
  test('fd_pread at 2^64-3 (encrypted file) reads nothing', () => {
    assert.equal(text(run({ args: args('preadneg', '/data/f'), mounts: ENCRYPTED }).stdout), 'fd_pread: errno 28 n 0: \n');
  });
  test('fd_filestat_set_size(2^64-1) (encrypted file), then close', () => {
    assert.equal(text(run({ args: args('setsizeneg', '/data/f'), mounts: ENCRYPTED }).stdout), 'fd_filestat_set_size: errno 22\nclose: 0\n'); // EFBIG
  });
});

describe('5 low', () => {
  test('a name starting with U+FEFF is not the name without it', () => {
    const store = new MemoryFileSystem();
    store.files.set('f', new TextEncoder().encode('do not touch'));
    run({ args: args('putget', '/data/\uFEFFf', 'bom'), mounts: HOST }, { mounts: { '/data': store } });
    assert.equal(new TextDecoder().decode(store.files.get('f')), 'do not touch');
    assert.equal(new TextDecoder().decode(store.files.get('\uFEFFf')), 'bom');
  });
  test('host mount: a file unlinked while open is gone for its descriptor too (documented: host-mount descriptors name their file by path)', () => {
    assert.equal(text(run({ args: args('hostunlink', '/data/t'), mounts: HOST }, { mounts: { '/data': new MemoryFileSystem() } }).stdout), 'error pread: 44\n');
    // An encrypted mount keeps the contents in the enclave: the descriptor still reads them.
    assert.equal(text(run({ args: args('hostunlink', '/data/t'), mounts: ENCRYPTED }, { mounts: { '/data': new MemoryFileSystem() } }).stdout), 'read back scratch\n');
  });
  test('readdir d_ino equals stat st_ino', () => {
    const store = new MemoryFileSystem();
    store.files.set('f', new Uint8Array(1));
    const m = /stat ino (\d+), readdir ino (\d+)/.exec(text(run({ args: args('inode', '/data/f', '/data', 'f'), mounts: HOST }, { mounts: { '/data': store } }).stdout));
    assert.ok(m);
    assert.equal(m[1], m[2]);
  });
  test('nanosleep(1 s) lets 1 s of the monotonic clock pass (the host SLEEPs; the shield checks its clock and sleeps again after an early wake-up)', () => {
    let mono = 1_000_000_000n;
    const sleeps: bigint[] = [];
    const r = run({ args: args('sleep') }, {
      clock: { realtime: () => 1_700_000_000_000_000_000n + mono, monotonic: () => mono },
      // A host that wakes the program after a third of what it asked, each time.
      sleep: (ns) => {
        sleeps.push(ns);
        mono += ns / 3n + 1n;
      },
    });
    assert.equal(text(r.stdout), 'slept enough\n');
    assert.ok(sleeps.length > 3, `slept ${sleeps.length} times`);
    assert.ok(sleeps[0]! <= 1_000_000_000n && sleeps[0]! > 999_000_000n);
  });
});
