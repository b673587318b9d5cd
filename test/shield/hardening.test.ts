/**
 * What the final read of the shield found, each with its test: typed errors for malformed options
 * (createShieldHost, an extension given to the runtime or to buildImage), a file the in-memory host
 * cannot hold (FBIG, not a RangeError), a sealed blob whose KEYREQUEST names another key or masks,
 * NodeFileSystem's own path checks, and the CLI refusing a manifest mount without a directory.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatform } from '../../src/platform/index.js';
import { KEYREQUEST } from '../../src/arch/index.js';
import { createTrustedRuntime, buildImage, SdkError, type RuntimeExtension } from '../../src/sdk/index.js';
import { createShieldHost, MemoryFileSystem, NodeFileSystem, HostFsError, ShieldError, OP, SHIELD_DESCRIPTOR, shieldInterface, shieldModule, resolveManifest, manifestBytes, SHIELD_ID, runShielded, type HostFileSystem, type ShieldManifest } from '../../src/shield/index.js';
import { extensionPayload } from '../../src/sdk/enclave/extension.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { runFixture, shielded, text, wasiProgram, TEST_HEAP } from '../helpers/shield.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x19 + i);
const code = (c: string) => (e: unknown) => (e instanceof ShieldError || e instanceof SdkError) && e.code === c;

describe('typed errors for malformed options', () => {
  test('createShieldHost: no object, a mount that is not a whole HostFileSystem, stdin that is not bytes, a callback that is not a function', () => {
    assert.throws(() => createShieldHost(null as never), code('BAD_OPTIONS'));
    const partial = { stat: () => null } as unknown as HostFileSystem;
    assert.throws(() => createShieldHost({ mounts: { '/data': partial } }), (e: unknown) => code('BAD_OPTIONS')(e) && /no read, write, truncate/.test((e as Error).message));
    assert.throws(() => createShieldHost({ mounts: { '/data': Object.assign(new MemoryFileSystem(), { open: 'yes' }) as unknown as HostFileSystem } }), (e: unknown) => code('BAD_OPTIONS')(e) && /open \(given, not a function\)/.test((e as Error).message));
    assert.throws(() => createShieldHost({ stdin: 'text' as never }), code('BAD_OPTIONS'));
    assert.throws(() => createShieldHost({ stdout: 'console' as never }), code('BAD_OPTIONS'));
  });

  test('an extension without imports or ecalls, to the runtime or to buildImage', () => {
    const { imports: _i, ...noImports } = SHIELD_DESCRIPTOR;
    assert.throws(() => createTrustedRuntime({ extensions: [{ ...noImports, attach: () => ({ imports: {}, ecalls: {} }) } as unknown as RuntimeExtension] }), code('BAD_OPTIONS'));
    const module = shieldModule(wasiProgram(), extensionPayload(SHIELD_ID, manifestBytes(resolveManifest())));
    assert.throws(() => buildImage({ module, interface: shieldInterface(), config: { heapSize: TEST_HEAP }, extension: { ...SHIELD_DESCRIPTOR, check: 'no' } as never }), code('BAD_OPTIONS'));
    assert.throws(() => shieldModule(wasiProgram(), 'payload' as never), code('PROGRAM_INVALID'));
  });
});

describe('the host', () => {
  test('a file larger than the in-memory host holds is FBIG for the program (not a RangeError out of runShielded)', () => {
    const r = runFixture(createPlatform({ seed: SEED }), { args: ['shieldtest', 'write', '/data/f', 'x'], mounts: [{ path: '/data', kind: 'host' }] });
    assert.equal(text(r.stdout), 'wrote /data/f\n');
    const t = shielded({ args: ['review3', 'open', '3', 'big', '1', 'rw', '0', 'setsize', '4', String(2 ** 40)], mounts: [{ path: '/data', kind: 'host' }] }, {}, undefined, 'review3');
    const big = runShielded(createPlatform({ seed: SEED }), t.built.image, { load: { sigstruct: t.sigstruct } });
    assert.equal(text(big.stdout), 'open big: e=0 fd=4\nsetsize 4: e=22\n');
  });

  test('MemoryFileSystem: a file cut short and grown again (by truncate or by a write past its end) reads zeros where the cut bytes were; a written buffer is copied', () => {
    const fs = new MemoryFileSystem();
    fs.create('f', true);
    const data = Uint8Array.from({ length: 5000 }, (_, i) => 1 + (i % 250));
    assert.equal(fs.write('f', 0, data), 5000);
    data.fill(0xee); // the caller's buffer is its own: changing it changes nothing stored
    assert.equal(fs.read('f', 4999, 10)[0], 1 + (4999 % 250));
    fs.truncate('f', 100); // within the file's room
    assert.equal(fs.stat('f')!.size, 100);
    fs.truncate('f', 300); // grown again, within the room
    assert.deepEqual([...fs.read('f', 98, 4)], [99, 100, 0, 0]);
    assert.ok(fs.read('f', 100, 200).every((b) => b === 0), 'zeros after a cut and a grow');
    fs.truncate('f', 50);
    fs.write('f', 4000, Uint8Array.of(7)); // past the end: the gap reads as zeros
    assert.equal(fs.stat('f')!.size, 4001);
    assert.ok(fs.read('f', 50, 3950).every((b) => b === 0), 'zeros in the gap a sparse write leaves');
    assert.equal(fs.read('f', 4000, 5)[0], 7);
    fs.truncate('f', 1 << 20); // beyond the room: a new buffer
    assert.equal(fs.files.get('f')!.length, 1 << 20);
    assert.ok(fs.read('f', 4001, (1 << 20) - 4001).every((b) => b === 0));
    assert.deepEqual([...fs.read('f', 48, 3)], [49, 50, 0]);
  });

  test('NodeFileSystem opens files (HostFileSystem.open): a descriptor outlives an unlink and writes to the file it opened; descriptors the program leaves open are closed when the run ends', () => {
    const dir = mkdtempSync(join(tmpdir(), 'witness-nodefs-'));
    const openFds = () => readdirSync('/proc/self/fd').length;
    try {
      writeFileSync(join(dir, 'f'), 'hello');
      const t = shielded({ args: ['review3', 'open', '3', 'f', '0', 'rw', '0', 'unlink', '3', 'f', 'pwrite', '4', '5', '!', 'pread', '4', '0', '16', 'fstat', '4', 'open', '3', 'f', '1', 'rw', '0', 'fstat', '5'], mounts: [{ path: '/data', kind: 'host' }] }, {}, undefined, 'review3');
      const before = openFds();
      const r = runShielded(createPlatform({ seed: SEED }), t.built.image, { load: { sigstruct: t.sigstruct }, mounts: { '/data': new NodeFileSystem(dir) } });
      const lines = text(r.stdout).split('\n');
      assert.deepEqual(lines.slice(0, 4), ['open f: e=0 fd=4', 'unlink f: e=0', 'pwrite 4: e=0 n=1', 'pread 4: e=0 n=6 [hello!]']);
      assert.match(lines[4]!, /^fstat 4: e=0 type=4 size=6 nlink=0 /);
      assert.deepEqual(lines.slice(5, 7), ['open f: e=0 fd=5', 'fstat 5: e=0 type=4 size=0 nlink=1 ' + lines[6]!.split(' ').pop()]);
      assert.deepEqual(readdirSync(dir), ['f'], 'the new f; the unlinked one is gone with its last descriptor');
      assert.equal(openFds(), before, 'both descriptors the program left open were closed');
      assert.deepEqual(r.violations, []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('NodeFileSystem: names that are not normalized relative paths are INVAL; its root must be a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'witness-nodefs-'));
    try {
      const fs = new NodeFileSystem(dir);
      for (const bad of ['../x', 'a/../b', '/etc/passwd', 'a//b', './a', 'a\0b']) {
        assert.throws(() => fs.stat(bad), (e: unknown) => e instanceof HostFsError && e.errno === 'INVAL', bad);
      }
      fs.create('f', true);
      assert.throws(() => fs.create('f', true), (e: unknown) => e instanceof HostFsError && e.errno === 'EXIST');
      assert.equal(fs.write('f', 0, new TextEncoder().encode('abc')), 3);
      assert.deepEqual(fs.stat('f') && { type: fs.stat('f')!.type, size: fs.stat('f')!.size }, { type: 'file', size: 3 });
      assert.throws(() => fs.read('missing', 0, 1), (e: unknown) => e instanceof HostFsError && e.errno === 'NOENT');
      writeFileSync(join(dir, 'plain'), 'x');
      assert.throws(() => new NodeFileSystem(join(dir, 'plain')), (e: unknown) => e instanceof HostFsError && e.errno === 'NOTDIR');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('a sealed blob whose KEYREQUEST names another key name or other masks is refused before it is unsealed', () => {
  const p = createPlatform({ seed: SEED });
  const mounts: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted', keyPolicy: 'mrsigner' }];
  const data = new MemoryFileSystem();
  runFixture(p, { args: ['shieldtest', 'write', '/data/f', 'sealed'], mounts }, { mounts: { '/data': data } });
  const good = data.files.get('f')!.slice();
  const read = () => runFixture(p, { args: ['shieldtest', 'read', '/data/f'], mounts }, { mounts: { '/data': data } });
  assert.equal(text(read().stdout), 'read 6: sealed\n');
  for (const [field, at, what] of [['KEYNAME', 0, /key policy/], ['ATTRIBUTEMASK', 0, /attribute or MISCSELECT mask/], ['ATTRIBUTEMASK', 1, /attribute or MISCSELECT mask/], ['MISCMASK', 0, /attribute or MISCSELECT mask/]] as const) {
    const bad = good.slice();
    bad[KEYREQUEST.field(field).offset + at]! ^= 0x02;
    data.files.set('f', bad);
    const r = read();
    assert.equal(text(r.stdout), 'error open: 29 I/O error\n', field);
    assert.match(r.violations[0]!.what, what, field);
  }
});

test('witness shield: a mount the manifest declares needs its directory (--mount), or the run is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-shield-cli-'));
  try {
    const m = join(dir, 'm.json');
    writeFileSync(m, JSON.stringify({ mounts: [{ path: '/data', kind: 'encrypted' }] }));
    const err: string[] = [];
    const io: Io = { out: () => undefined, err: (t) => void err.push(t), isTty: false };
    const exit = await main(['shield', join(dirname(), 'test/fixtures/wasi/shieldtest.wasm'), 'hello', '--manifest', m], io);
    assert.equal(exit, 2);
    assert.match(err.join('\n'), /the manifest mounts \/data: give its directory with --mount \/data=DIR/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The repository's root (this file runs as dist/test/shield/hardening.test.js). */
function dirname(): string {
  return join(new URL('.', import.meta.url).pathname, '../../..');
}

test('a host that throws while the enclave reports a violation ends the run with its error; the abandoned entry makes no further host call', () => {
  const after: number[] = [];
  let thrown = false;
  assert.throws(
    () => runFixture(createPlatform({ seed: SEED }), { args: ['shieldtest', 'read', '/data/f'], mounts: [{ path: '/data', kind: 'host' }] }, {
      intercept: (op) => {
        if (thrown) after.push(op);
        if (op === OP.VIOLATION) {
          thrown = true;
          throw new Error('the host crashed');
        }
        return op === OP.STAT ? new Uint8Array(3) : undefined;
      },
    }),
    /the host crashed/,
  );
  assert.deepEqual(after, [], 'the abandoned entry made no further host call');
});
