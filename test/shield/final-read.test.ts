/**
 * What reading the two shield sessions' whole change found (the eighteenth session's final read),
 * each with its test: a write of nothing past the end of an in-enclave file, and malformed inputs to
 * the exported pieces (a sparse manifest, host options, the in-memory and on-disk storage), each a
 * typed error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem, NodeFileSystem, HostFsError, ShieldError, createShieldHost, resolveManifest, type ShieldManifest } from '../../src/shield/index.js';
import { runScript, outputLine } from '../helpers/shield.js';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x71 + i);
const code = (c: string) => (e: unknown) => e instanceof ShieldError && e.code === c;
const hostErr = (c: string) => (e: unknown) => e instanceof HostFsError && e.errno === c;

test('a write of nothing at an offset past the end leaves an encrypted file its size, as a host file keeps its own', () => {
  for (const kind of ['encrypted', 'host'] as const) {
    const r = runScript(SEED, ['open', '3', 'f', '1', 'rw', '0', 'write', '4', 'xy', 'pwrite', '4', '100000', '', 'pwrite', '4', '2000000000', '', 'fstat', '4'], { mounts: [{ path: '/data', kind }] }, { mounts: { '/data': new MemoryFileSystem() } });
    assert.equal(outputLine(r, 'pwrite 4', 0), 'pwrite 4: e=0 n=0', kind);
    assert.equal(outputLine(r, 'pwrite 4', 1), 'pwrite 4: e=0 n=0', kind);
    assert.match(outputLine(r, 'fstat 4') ?? '', /^fstat 4: e=0 type=4 size=2 /, kind);
  }
});

test('a manifest with holes in args or mounts is MANIFEST_INVALID, naming the hole (not a later MODULE_INVALID)', () => {
  // eslint-disable-next-line no-sparse-arrays
  assert.throws(() => resolveManifest({ args: ['a', , 'b'] } as unknown as ShieldManifest), (e: unknown) => code('MANIFEST_INVALID')(e) && /args\[1\]/.test((e as Error).message));
  // eslint-disable-next-line no-sparse-arrays
  assert.throws(() => resolveManifest({ mounts: [, { path: '/d', kind: 'host' }] } as unknown as ShieldManifest), (e: unknown) => code('MANIFEST_INVALID')(e) && /mounts\[0\]/.test((e as Error).message));
  // A trusted file that is also another's directory, among many (the check is by parents, not pairs).
  const files: Record<string, string> = {};
  for (let i = 0; i < 3000; i++) files[`d${i}/f`] = '0'.repeat(64);
  files['d7'] = '0'.repeat(64);
  assert.throws(() => resolveManifest({ mounts: [{ path: '/t', kind: 'trusted', files }] }), (e: unknown) => code('MANIFEST_INVALID')(e) && /files\['d7'\] is also a directory/.test((e as Error).message));
  delete files['d7'];
  assert.equal(resolveManifest({ mounts: [{ path: '/t', kind: 'trusted', files }] }).mounts[0]!.files.length, 3000);
});

test('createShieldHost: mounts that are not an object of absolute paths, a clock or a quoting service of the wrong shape: BAD_OPTIONS', () => {
  const fs = new MemoryFileSystem();
  assert.throws(() => createShieldHost({ mounts: { data: fs } }), code('BAD_OPTIONS'));
  assert.throws(() => createShieldHost({ mounts: [fs] as never }), code('BAD_OPTIONS'));
  assert.throws(() => createShieldHost({ clock: {} as never }), code('BAD_OPTIONS'));
  assert.throws(() => createShieldHost({ quoting: {} as never }), code('BAD_OPTIONS'));
  assert.doesNotThrow(() => createShieldHost({ mounts: { '/data': fs }, clock: { realtime: () => 0n, monotonic: () => 0n } }));
});

test('the storage classes: offsets, lengths and sizes that are not byte counts are INVAL; a root that is not a path is INVAL', () => {
  const fs = new MemoryFileSystem();
  fs.create('f', true);
  fs.write('f', 0, Uint8Array.of(1, 2, 3));
  assert.throws(() => fs.write('f', -1, Uint8Array.of(1)), hostErr('INVAL'));
  assert.throws(() => fs.truncate('f', -1), hostErr('INVAL'));
  assert.throws(() => fs.read('f', Number.NaN, 1), hostErr('INVAL'));
  assert.throws(() => fs.read('f', 0, 2 ** 60), hostErr('INVAL'));
  assert.deepEqual([...fs.files.get('f')!], [1, 2, 3], 'nothing changed');
  assert.throws(() => new NodeFileSystem(123 as never), hostErr('INVAL'));
});

test('NodeFileSystem: offsets, lengths and sizes that are not byte counts are INVAL, by path and through an open file, and change nothing (as MemoryFileSystem)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-nodefs-'));
  try {
    writeFileSync(join(dir, 'f'), 'abc');
    const fs = new NodeFileSystem(dir);
    assert.throws(() => fs.read('f', -1, 1), hostErr('INVAL'));
    assert.throws(() => fs.read('f', 0, 1.5), hostErr('INVAL'));
    assert.throws(() => fs.write('f', -1, Uint8Array.of(1)), hostErr('INVAL'));
    assert.throws(() => fs.truncate('f', -1), hostErr('INVAL'));
    const f = fs.open('f', 'rw');
    assert.throws(() => f.read(Number.NaN, 1), hostErr('INVAL'));
    assert.throws(() => f.write(-2, Uint8Array.of(1)), hostErr('INVAL'));
    assert.throws(() => f.truncate(2 ** 60), hostErr('INVAL'));
    f.close();
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'abc');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
