/**
 * The eighteenth session's second review (the atomic store of encrypted files): each test
 * reproduces a finding and failed before its fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform } from '../../src/platform/index.js';
import { MemoryFileSystem, HostFsError, OP, ERRNO, Encoder, type ShieldManifest, type ShieldRun, type ShieldRunOptions } from '../../src/shield/index.js';
import { runFixture, text, runScript, outputLine, outputLines } from '../helpers/shield.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x51 + i);
const ENCRYPTED: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted', keyPolicy: 'mrsigner' }];

const run = (script: string[], manifest: Omit<ShieldManifest, 'args'>, options: ShieldRunOptions = {}): ShieldRun => runScript(SEED, script, manifest, options);
const line = outputLine;

/** Storage whose RENAME and UNLINK fail honestly while `failing` is set (an I/O error). */
class FlakyFs extends MemoryFileSystem {
  failing = false;
  override rename(from: string, to: string): void {
    if (this.failing) throw new HostFsError('IO', 'io');
    super.rename(from, to);
  }
  override unlink(rel: string): void {
    if (this.failing) throw new HostFsError('IO', 'io');
    super.unlink(rel);
  }
}

test('a store that fails and leaves its temporary behind (an honest host failing the RENAME and the UNLINK) leaves no directory of the program unremovable: temporaries lie at the mount root, unlisted', () => {
  const data = new FlakyFs();
  // Run 1: d/f created; the store of its contents fails (RENAME, then the temporary's UNLINK), at close and at exit.
  const r1 = run(['mkdir', '3', 'd', 'open', '3', 'd/f', '1', 'rw', '0', 'write', '4', 'x', 'close', '4'], { mounts: ENCRYPTED }, {
    mounts: { '/data': data },
    intercept: (op) => void (op === OP.RENAME && (data.failing = true)), // from the creation's store on
  });
  assert.equal(line(r1, 'close'), 'close 4: e=29', text(r1.stdout));
  data.failing = false;
  const left = [...data.files.keys()].filter((k) => k.includes('.witness-store-'));
  assert.ok(left.length >= 1 && left.every((k) => /^\.witness-store-[0-9a-f]{16}$/.test(k)), `temporaries at the root: ${left.join(', ')}`);
  // Run 2 (a later enclave, an honest host): the program removes its file and its directory, and lists the root.
  const r2 = run(['unlink', '3', 'd/f', 'rmdir', '3', 'd', 'open', '3', '.', '2', 'r', '0', 'ls', '4'], { mounts: ENCRYPTED }, { mounts: { '/data': data } });
  assert.equal(line(r2, 'rmdir'), 'rmdir d: e=0');
  assert.equal(line(r2, 'ls'), 'ls 4: e=0 . ..', 'the leftover temporaries are not listed');
});

test("a program's own file named like a temporary: .witness-store- with anything but 16 hex digits is an ordinary name (listed); the exact shape is refused (EACCES)", () => {
  const r = run([
    'open', '3', '.witness-store-mine', '1', 'rw', '0', 'write', '4', 'mine', 'close', '4',
    'open', '3', '.witness-store-0123456789abcdef', '1', 'rw', '0',
    'mkdir', '3', '.witness-store-0123456789abcdef',
    'rename', '3', '.witness-store-mine', '3', '.witness-store-0123456789abcdef',
    'open', '3', '.', '2', 'r', '0', 'ls', '4',
  ], { mounts: ENCRYPTED }, { mounts: { '/data': new MemoryFileSystem() } });
  assert.equal(line(r, 'open .witness-store-0'), 'open .witness-store-0123456789abcdef: e=2 fd=-1');
  assert.equal(line(r, 'mkdir'), 'mkdir .witness-store-0123456789abcdef: e=2');
  assert.equal(line(r, 'rename'), 'rename .witness-store-mine .witness-store-0123456789abcdef: e=2');
  assert.equal(line(r, 'ls'), 'ls 4: e=0 . .. .witness-store-mine', text(r.stdout));
  assert.deepEqual(r.violations, []);
});

test('a temporary a store left behind is not there for the program: stat, open, unlink, rename and rmdir of its name find nothing (no host operation, no violation)', () => {
  const data = new MemoryFileSystem();
  data.files.set('.witness-store-00112233aabbccdd', new Uint8Array(700).fill(1));
  const asked: number[] = [];
  const r = run(['stat', '3', '.witness-store-00112233aabbccdd', 'open', '3', '.witness-store-00112233aabbccdd', '0', 'r', '0', 'unlink', '3', '.witness-store-00112233aabbccdd', 'rename', '3', '.witness-store-00112233aabbccdd', '3', 'x', 'rmdir', '3', '.witness-store-00112233aabbccdd'], { mounts: ENCRYPTED }, {
    mounts: { '/data': data },
    intercept: (op) => void asked.push(op),
  });
  assert.deepEqual(outputLines(r).filter(Boolean).map((l) => l.replace(/ type=.*$/, '')), [
    'stat .witness-store-00112233aabbccdd: e=44',
    'open .witness-store-00112233aabbccdd: e=44 fd=-1',
    'unlink .witness-store-00112233aabbccdd: e=44',
    'rename .witness-store-00112233aabbccdd x: e=44',
    'rmdir .witness-store-00112233aabbccdd: e=44',
  ]);
  assert.deepEqual(r.violations, []);
  assert.ok(data.files.has('.witness-store-00112233aabbccdd'), 'nothing was done to it');
  assert.ok(!asked.includes(OP.READ) && !asked.includes(OP.UNLINK) && !asked.includes(OP.RENAME) && !asked.includes(OP.RMDIR), `host operations: ${asked.join(', ')}`);
});

test("a malformed answer to the UNLINK of a failed store's temporary is reported", () => {
  let truncates = 0;
  const r = run(['open', '3', 'f', '1', 'rw', '0', 'write', '4', 'x', 'close', '4'], { mounts: ENCRYPTED }, {
    mounts: { '/data': new MemoryFileSystem() },
    intercept: (op) => {
      if (op === OP.TRUNCATE && ++truncates === 2) return new Encoder().u32(ERRNO.NOSPC).finish(); // the close's store (the first is the creation's)
      if (op === OP.UNLINK) return new Encoder().u32(9999).finish(); // no errno WASI has: a violation
      return undefined;
    },
  });
  assert.equal(line(r, 'close'), 'close 4: e=51');
  assert.ok(r.violations.some((v) => v.op === 'UNLINK'), `the host's malformed UNLINK answer is reported: ${JSON.stringify(r.violations)}`);
});

test('an encrypted file whose path is within 30 bytes of MAX_PATH is stored (its temporary lies at the mount root)', () => {
  const dirs: string[] = [];
  for (let i = 0; i < 16; i++) dirs.push(String.fromCharCode(97 + i).repeat(254));
  const script: string[] = [];
  for (let i = 1; i <= 16; i++) script.push('mkdir', '3', dirs.slice(0, i).join('/'));
  const file = `${dirs.join('/')}/x`; // 4081 bytes: within MAX_PATH (4096); its temporary is 4111
  script.push('open', '3', file, '1', 'rw', '0', 'write', '4', 'hello', 'close', '4');
  const data = new MemoryFileSystem();
  const r = run(script, { mounts: ENCRYPTED }, { mounts: { '/data': data } });
  assert.ok(line(r, 'open')!.includes('e=0'), line(r, 'open'));
  assert.equal(line(r, 'close'), 'close 4: e=0', 'a file the program could create is stored');
});

class FailingWrites extends MemoryFileSystem {
  failing = false;
  override write(rel: string, offset: number | null, d: Uint8Array): number {
    if (this.failing) throw new HostFsError('NOSPC', 'full');
    return super.write(rel, offset, d);
  }
}

test('a new encrypted file is a sealed blob on the host from its creation: a full disk fails the open (ENOSPC), and leaves no empty file a later enclave would refuse', () => {
  const p = createPlatform({ seed: SEED });
  const data = new FailingWrites();
  data.failing = true;
  const r1 = runFixture(p, { args: ['shieldtest', 'write', '/data/new', 'v1'], mounts: ENCRYPTED }, { mounts: { '/data': data } });
  assert.equal(text(r1.stdout), 'error open: 51 No space left on device\n');
  assert.deepEqual([...data.files.keys()], [], 'nothing left on the host');
  data.failing = false;
  const r2 = runFixture(p, { args: ['shieldtest', 'read', '/data/new'], mounts: ENCRYPTED }, { mounts: { '/data': data } });
  assert.deepEqual(r2.violations, [], `an honest host (a full disk) is not reported as lying; program saw ${JSON.stringify(text(r2.stdout))}`);
  assert.equal(text(r2.stdout), 'error open: 44 No such file or directory\n');
});
