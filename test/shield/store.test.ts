/**
 * An encrypted file's blob is stored atomically: written under a temporary name, then renamed
 * over the file. A host that fails part-way (an honest full disk, or a hostile host) leaves the
 * file as it was: the version the enclave knows, readable by a later enclave too. Temporary names
 * are not listed to the program.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform } from '../../src/platform/index.js';
import { MemoryFileSystem, HostFsError, OP, ERRNO, Encoder, Decoder, type ShieldManifest } from '../../src/shield/index.js';
import { runFixture, text } from '../helpers/shield.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x3c ^ i);
const SIGNER: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted', keyPolicy: 'mrsigner' }];
const args = (...a: string[]) => ['shieldtest', ...a];
const failWith = (errno: number) => new Encoder().u32(errno).finish();
const tempNames = (fs: MemoryFileSystem) => [...fs.files.keys()].filter((k) => k.includes('.witness-store-'));

/** Storage that fails one kind of operation while `failing` names it (NOSPC: an honest full disk). */
class FailingFs extends MemoryFileSystem {
  failing: 'write' | 'rename' | 'truncate' | null = null;
  override write(rel: string, offset: number | null, data: Uint8Array): number {
    if (this.failing === 'write') throw new HostFsError('NOSPC', 'full');
    return super.write(rel, offset, data);
  }
  override rename(from: string, to: string): void {
    if (this.failing === 'rename') throw new HostFsError('NOSPC', 'full');
    super.rename(from, to);
  }
  override truncate(rel: string, size: number): void {
    if (this.failing === 'truncate') throw new HostFsError('NOSPC', 'full');
    super.truncate(rel, size);
  }
}

test('a host that fails a store part-way (its TRUNCATE, WRITE or RENAME) leaves the file at the version before, for this enclave and a later one; the temporary is unlinked', () => {
  const p = createPlatform({ seed: SEED });
  for (const failing of ['truncate', 'write', 'rename'] as const) {
    const data = new FailingFs();
    runFixture(p, { args: args('write', '/data/f', 'version one'), mounts: SIGNER }, { mounts: { '/data': data } });
    const before = data.files.get('f')!.slice();
    const seen: string[] = [];
    data.failing = failing;
    const r = runFixture(p, { args: args('write', '/data/f', 'version two'), mounts: SIGNER }, {
      mounts: { '/data': data },
      intercept: (op, req) => {
        if (op === OP.CREATE || op === OP.UNLINK) {
          const d = new Decoder(req.subarray(4));
          d.str();
          seen.push(`${op === OP.CREATE ? 'CREATE' : 'UNLINK'} ${d.str()}`);
        }
        return undefined;
      },
    });
    data.failing = null;
    assert.equal(text(r.stdout), 'error close: 51 No space left on device\n', `${failing}: the program is told`);
    assert.deepEqual(r.violations, []);
    assert.deepEqual(data.files.get('f'), before, `${failing}: the file is the version before`);
    assert.deepEqual(tempNames(data), [], `${failing}: no temporary left`);
    const tmp = seen[0]!.slice('CREATE '.length);
    assert.match(tmp, /^\.witness-store-[0-9a-f]{16}$/, 'the blob goes to a temporary name in the same directory first');
    assert.ok(seen.includes(`UNLINK ${tmp}`), `${failing}: the temporary unlinked: ${seen.join(', ')}`);
    const later = runFixture(p, { args: args('read', '/data/f'), mounts: SIGNER }, { mounts: { '/data': data } });
    assert.equal(text(later.stdout), 'read 11: version one\n', `${failing}: a later enclave reads the version before`);
  }
});

test('a host that does the RENAME but answers that it failed: the enclave keeps its copy and stores it again at exit; nothing is refused', () => {
  const p = createPlatform({ seed: SEED });
  const data = new MemoryFileSystem();
  runFixture(p, { args: args('write', '/data/f', 'version one'), mounts: SIGNER }, { mounts: { '/data': data } });
  let renames = 0;
  const r = runFixture(p, { args: args('write', '/data/f', 'version two'), mounts: SIGNER }, {
    mounts: { '/data': data },
    intercept: (op) => (op === OP.RENAME && ++renames === 1 ? failWith(ERRNO.IO) : undefined),
  });
  assert.equal(text(r.stdout), 'error close: 29 I/O error\n');
  assert.equal(renames, 2, 'stored again at exit');
  assert.deepEqual(tempNames(data), []);
  assert.equal(text(runFixture(p, { args: args('read', '/data/f'), mounts: SIGNER }, { mounts: { '/data': data } }).stdout), 'read 11: version two\n');
});

test('a store that succeeds replaces the file in one step (RENAME over it): the host never holds a half-written file under its name', () => {
  const p = createPlatform({ seed: SEED });
  const data = new MemoryFileSystem();
  runFixture(p, { args: args('write', '/data/f', 'version one'), mounts: SIGNER }, { mounts: { '/data': data } });
  const sizes: number[] = [];
  runFixture(p, { args: args('write', '/data/f', 'version two, longer'), mounts: SIGNER }, {
    mounts: { '/data': data },
    // Whenever the host is asked to write, the file under its own name is a whole blob of the first version.
    intercept: (op) => void (op === OP.WRITE && sizes.push(data.files.get('f')!.length)),
  });
  assert.ok(sizes.length > 0 && sizes.every((n) => n === sizes[0]), 'the file keeps its old blob while the new one is written');
  assert.equal(text(runFixture(p, { args: args('read', '/data/f'), mounts: SIGNER }, { mounts: { '/data': data } }).stdout), 'read 19: version two, longer\n');
});

test('temporary names a store left behind (a host that failed to unlink one) are not listed to the program, on an encrypted mount only', () => {
  const p = createPlatform({ seed: SEED });
  const data = new MemoryFileSystem();
  runFixture(p, { args: args('write', '/data/f', 'x'), mounts: SIGNER }, { mounts: { '/data': data } });
  data.files.set('.witness-store-0011223344556677', new Uint8Array(600));
  assert.equal(text(runFixture(p, { args: args('list', '/data'), mounts: SIGNER }, { mounts: { '/data': data } }).stdout), 'entry .\nentry ..\nentry f\n');
  const host = runFixture(p, { args: args('list', '/data'), mounts: [{ path: '/data', kind: 'host' }] }, { mounts: { '/data': data } });
  assert.match(text(host.stdout), /entry \.witness-store-0011223344556677\n/, 'a host mount lists what the host has');
});
