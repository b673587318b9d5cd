/**
 * Third review of the shield (after the fixes of 45fad6e): what still fails, with its program
 * test/fixtures/wasi/review3.c (a script of raw WASI calls: `open DIRFD PATH OFLAGS RIGHTS FDFLAGS`,
 * `write FD TEXT`, `pwrite FD OFF TEXT`, `pread FD OFF N`, `sync FD`, `close FD`, `rename`, `stat`,
 * `fstat`, `openn`, `closen`, `poll`, …; fd 3 is the first mount).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem, HostFsError, type HostFileSystem, type ShieldManifest, type ShieldRun, type ShieldRunOptions } from '../../src/shield/index.js';
import { text, runScript, outputLine, diskThatFills } from '../helpers/shield.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x44 + i);
const ENCRYPTED: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted' }];
const HOST: ShieldManifest['mounts'] = [{ path: '/data', kind: 'host' }];

const run = (script: string[], manifest: Omit<ShieldManifest, 'args'>, options: ShieldRunOptions = {}): ShieldRun => runScript(SEED, script, manifest, options);
const line = outputLine;

describe('1 an encrypted rename the host fails half-way is not half done', () => {
  test('a rename that fails (a full disk): the source keeps its descriptor, the target what was written to it', () => {
    const r = run([
      'open', '3', 'a', '1', 'rw', '0', 'write', '4', 'A-data', 'sync', '4', // fd 4: a
      'open', '3', 'b', '1', 'rw', '0', 'write', '5', 'B-data', 'sync', '5', // fd 5: b
      'pwrite', '5', '0', 'B-NEW!', // not yet sealed
      'stat', '3', 'FULL', 'rename', '3', 'a', '3', 'b', 'stat', '3', 'FREE',
      'write', '4', 'MORE', 'close', '4', 'close', '5',
      'open', '3', 'a', '0', 'r', '0', 'pread', '4', '0', '100', 'close', '4',
      'open', '3', 'b', '0', 'r', '0', 'pread', '4', '0', '100', 'close', '4',
    ], { mounts: ENCRYPTED }, { mounts: { '/data': diskThatFills(new MemoryFileSystem()) } });
    assert.equal(line(r, 'rename'), 'rename a b: e=51'); // NOSPC: the program is told the rename did not happen
    assert.deepEqual(r.violations, []);
    assert.equal(line(r, 'close 5'), 'close 5: e=0'); // …and that B-NEW! was stored
    // What POSIX promises after a failed rename: a is a, b is b.
    assert.equal(line(r, 'pread 4', 0), 'pread 4: e=0 n=10 [A-dataMORE]', text(r.stdout));
    assert.equal(line(r, 'pread 4', 1), 'pread 4: e=0 n=6 [B-NEW!]', text(r.stdout));
  });

  test('a failed rename to a new name: the target shows the source’s contents, then (once closed) is an empty unsealed file whose every open is EIO and a violation blamed on the host', () => {
    const r = run([
      'open', '3', 'a', '1', 'rw', '0', 'write', '4', 'alpha', 'close', '4',
      'stat', '3', 'FULL', 'rename', '3', 'a', '3', 'c', 'stat', '3', 'FREE',
      'open', '3', 'c', '1', 'rw', '0', 'pread', '4', '0', '100', 'close', '4', // O_CREAT: c anew (it does not exist: the rename failed)
      'open', '3', 'c', '0', 'r', '0',
    ], { mounts: ENCRYPTED }, { mounts: { '/data': diskThatFills(new MemoryFileSystem()) } });
    assert.equal(line(r, 'rename'), 'rename a c: e=51');
    assert.equal(line(r, 'pread 4'), 'pread 4: e=0 n=0 []', text(r.stdout)); // not a's contents
    assert.equal(line(r, 'open c', 1), 'open c: e=0 fd=4', text(r.stdout)); // not EIO
    assert.deepEqual(r.violations, []);
  });

  test('a rename whose UNLINK of the old name fails: the rename is done, the new version stays, the old blob is refused', () => {
    const store = new MemoryFileSystem();
    let fail = 1;
    const fs: HostFileSystem = { ...diskThatFills(store), unlink: (rel) => { if (rel === 'a' && fail-- > 0) throw new HostFsError('BUSY', 'busy'); store.unlink(rel); } };
    const r = run([
      'open', '3', 'a', '1', 'rw', '0', 'write', '4', 'v1', 'sync', '4', 'pwrite', '4', '0', 'v2',
      'rename', '3', 'a', '3', 'b', 'rename', '3', 'a', '3', 'b',
      'pwrite', '4', '2', '+', 'close', '4',
      'open', '3', 'b', '0', 'r', '0', 'pread', '4', '0', '100',
    ], { mounts: ENCRYPTED }, { mounts: { '/data': fs } });
    // The first rename succeeds although the host kept the old name; the second finds only that stale blob.
    assert.equal(line(r, 'rename', 0), 'rename a b: e=0');
    assert.equal(line(r, 'rename', 1), 'rename a b: e=29');
    assert.equal(r.violations.length, 1);
    assert.match(r.violations[0]!.what, /which the enclave deleted, is back/);
    assert.equal(line(r, 'pread 4'), 'pread 4: e=0 n=3 [v2+]', text(r.stdout)); // before the fix: [v1]
  });
});

test('2 open(O_CREAT) that fails with EMFILE creates nothing (an encrypted file was sealed at exit before the fix)', () => {
  for (const mounts of [ENCRYPTED, HOST]) {
    const store = new MemoryFileSystem();
    // fds 0-3 are taken; 1 + 4091 opens reach MAX_FDS (4096).
    const r = run(['open', '3', 'a', '1', 'rw', '0', 'openn', '4091', '3', 'a', '0', 'r', 'open', '3', 'new', '1', 'w', '0'], { mounts }, { mounts: { '/data': store } });
    assert.equal(line(r, 'open new'), 'open new: e=33 fd=-1');
    assert.ok(!store.files.has('new'), `${mounts![0]!.kind}: a file the failed open created, ${store.files.get('new')?.length} bytes`);
  }
});

test('3 an encrypted file unlinked while open keeps its st_ino, which no other live file has', () => {
  const r = run([
    'open', '3', 'a', '1', 'rw', '0', 'fstat', '4', 'unlink', '3', 'a', 'open', '3', 'a', '1', 'rw', '0', 'fstat', '4', 'fstat', '5',
  ], { mounts: ENCRYPTED });
  const ino = (l: string | undefined) => /ino=(\d+)/.exec(l ?? '')![1];
  const before = ino(line(r, 'fstat 4', 0)), after = ino(line(r, 'fstat 4', 1)), other = ino(line(r, 'fstat 5', 0));
  assert.equal(after, before, 'an open file keeps its inode number');
  assert.notEqual(after, other, 'two live files, one inode number');
});

test('4 poll_oneoff with a descriptor does not report a clock subscription that is not due', () => {
  // A 1 s relative clock subscription and an fd_read on stdin: stdin is ready, the clock is not.
  const r = run(['poll', '1', '1000000000', '0', '0'], {}, { clock: { realtime: () => 1n, monotonic: () => 5n } });
  assert.equal(line(r, 'poll'), 'poll: e=0 nevents=1 [ud=2222 err=0 type=1]');
});
