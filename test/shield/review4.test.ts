/**
 * The eighteenth session's review of its own change (reused buffers, in-place unsealing, host
 * handles): each test reproduces a finding and failed before its fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryFileSystem, HostFsError, OP, ERRNO, Encoder, type HostFileSystem, type ShieldManifest, type ShieldRun, type ShieldRunOptions } from '../../src/shield/index.js';
import { text, runScript, outputLines, outputLine, diskThatFills } from '../helpers/shield.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x44 + i);
const ENCRYPTED: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted' }];
const HOST: ShieldManifest['mounts'] = [{ path: '/data', kind: 'host' }];

const run = (script: string[], manifest: Omit<ShieldManifest, 'args'>, options: ShieldRunOptions = {}): ShieldRun => runScript(SEED, script, manifest, options);
const lines = outputLines;
const line = outputLine;

test('an encrypted rename that fails on a full disk leaves the (closed) target intact (the store is atomic: a temporary, then RENAME)', () => {
  const r = run([
    'open', '3', 'a', '1', 'rw', '0', 'write', '4', 'A-data-that-is-longer', 'close', '4',
    'open', '3', 'b', '1', 'rw', '0', 'write', '4', 'B', 'close', '4',
    'stat', '3', 'FULL', 'rename', '3', 'a', '3', 'b', 'stat', '3', 'FREE',
    'open', '3', 'b', '0', 'r', '0', 'pread', '4', '0', '100',
  ], { mounts: ENCRYPTED }, { mounts: { '/data': diskThatFills(new MemoryFileSystem()) } });
  assert.equal(line(r, 'rename'), 'rename a b: e=51'); // NOSPC: the program is told the rename did not happen
  // POSIX: after a failed rename, b is b. Here b was cut to a's blob size, and no enclave opens it.
  assert.deepEqual(r.violations, [], JSON.stringify(r.violations));
  assert.equal(line(r, 'pread 4'), 'pread 4: e=0 n=1 [B]', text(r.stdout));
});

test('an honest path-named host (MemoryFileSystem): fstat of an open file whose name the program gave to a directory is no violation (the file is gone: ENOENT)', () => {
  const r = run(['open', '3', 'x', '1', 'rw', '0', 'unlink', '3', 'x', 'mkdir', '3', 'x', 'fstat', '4'], { mounts: HOST }, { mounts: { '/data': new MemoryFileSystem() } });
  assert.equal(line(r, 'unlink'), 'unlink x: e=0');
  assert.equal(line(r, 'mkdir'), 'mkdir x: e=0');
  // The host names the file by path (as documented): the file it opened is gone, whatever is there now.
  assert.deepEqual(r.violations, [], JSON.stringify(r.violations));
  assert.equal(line(r, 'fstat 4')?.slice(0, 13), 'fstat 4: e=44', text(r.stdout));
});

test('NodeFileSystem: a program that opens more files than the host process may hold descriptors gets EMFILE (each open file holds one), not EIO', () => {
  // In a child process whose descriptor limit is 200 (ulimit -n): 400 opens of one file.
  const dir = mkdtempSync(join(tmpdir(), 'witness-emfile-'));
  try {
    writeFileSync(join(dir, 'a'), 'x');
    const dist = fileURLToPath(new URL('../../', import.meta.url));
    const code = `
      const { createPlatform } = await import(${JSON.stringify(join(dist, 'src/platform/index.js'))});
      const { runShielded, NodeFileSystem } = await import(${JSON.stringify(join(dist, 'src/shield/index.js'))});
      const { shielded } = await import(${JSON.stringify(join(dist, 'test/helpers/shield.js'))});
      const t = shielded({ args: ['review3', 'openn', '400', '3', 'a', '0', 'r'], mounts: [{ path: '/data', kind: 'host' }] }, {}, undefined, 'review3');
      const r = runShielded(createPlatform(), t.built.image, { load: { sigstruct: t.sigstruct }, mounts: { '/data': new NodeFileSystem(${JSON.stringify(dir)}) } });
      process.stdout.write(new TextDecoder().decode(r.stdout));`;
    const child = spawnSync('sh', ['-c', 'ulimit -n 200 && exec "$0" --input-type=module -e "$1"', process.execPath, code], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    const m = /^openn a: ok=(\d+) last=(\d+)$/m.exec(child.stdout);
    assert.ok(m, child.stdout);
    assert.equal(m[2], '33', 'EMFILE');
    assert.ok(Number(m[1]) > 100 && Number(m[1]) < 200, `opened ${m[1]} before the limit`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a malformed CLOSE answer is reported and refused (EIO); the descriptor is gone all the same', () => {
  const r = run(['open', '3', 'f', '1', 'rw', '0', 'close', '4'], { mounts: HOST }, {
    mounts: { '/data': new MemoryFileSystem() },
    intercept: (op) => (op === OP.CLOSE ? new Encoder().u32(0).u32(0xdead).finish() : undefined),
  });
  assert.equal(r.violations.length, 1, JSON.stringify(r.violations));
  assert.equal(line(r, 'close 4'), 'close 4: e=29', text(r.stdout));
  const host = run(['open', '3', 'f', '1', 'rw', '0', 'close', '4', 'close', '4'], { mounts: HOST }, {
    mounts: { '/data': new MemoryFileSystem() },
    intercept: (op) => (op === OP.CLOSE ? new Encoder().u32(ERRNO.NOSPC).finish() : undefined),
  });
  assert.deepEqual(lines(host).filter((l) => l.startsWith('close')), ['close 4: e=51', 'close 4: e=8'], "the host's errno, then EBADF: closed once");
});

test("ShieldHost.close(): a file whose close fails with a storage error does not keep the others open, nor replace the run's result", () => {
  const store = new MemoryFileSystem();
  let closed = 0;
  const fs: HostFileSystem = {
    stat: (r) => store.stat(r), read: (r, o, l) => store.read(r, o, l), write: (r, o, d) => store.write(r, o, d),
    truncate: (r, s) => store.truncate(r, s), create: (r, x) => store.create(r, x), list: (r) => store.list(r),
    unlink: (r) => store.unlink(r), mkdir: (r) => store.mkdir(r), rmdir: (r) => store.rmdir(r), rename: (a, b) => store.rename(a, b),
    open: (rel) => ({
      read: (o, l) => store.read(rel, o, l), write: (o, d) => store.write(rel, o, d), truncate: (s) => store.truncate(rel, s),
      stat: () => store.stat(rel)!,
      close: () => {
        closed++;
        if (rel === 'a') throw new HostFsError('IO', 'close a: EIO');
      },
    }),
  };
  let r: ShieldRun | undefined;
  assert.doesNotThrow(() => {
    r = run(['open', '3', 'a', '1', 'rw', '0', 'open', '3', 'b', '1', 'rw', '0'], { mounts: HOST }, { mounts: { '/data': fs } });
  });
  assert.equal(r?.exitCode, 0);
  assert.equal(closed, 2, 'both files the program left open are closed');
});
