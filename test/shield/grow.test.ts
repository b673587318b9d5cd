/**
 * A shielded program's heap that grows (heapMaxSize, SGX2): wasi-libc's malloc grows the memory
 * with memory.grow, which the trusted runtime serves with pages the OS adds and the enclave
 * accepts. Without SGX2 the same image gets no more than its heap, and malloc fails. And the
 * mounts the enclave announces (OP.MOUNTS): storage for a path the manifest does not mount.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform, createLinuxPlatform } from '../../src/platform/index.js';
import { MemoryFileSystem, ShieldError, runShielded } from '../../src/shield/index.js';
import { shielded, text } from '../helpers/shield.js';

const MIB = 1 << 20;
const manifest = { args: ['shieldtest', 'big', '/data/big', String(3 * MIB)], mounts: [{ path: '/data', kind: 'host' as const }] };

test('a program that needs 3 MiB more than its 1 MiB heap: runs on win-x64-sgx2 and linux-sgx2 with heapMaxSize 8 MiB; malloc fails on win-x64-sgx1 (the same image)', () => {
  const t = shielded(manifest, { heapSize: MIB, heapMaxSize: 8 * MIB });
  for (const [name, p, ok] of [
    ['win-x64-sgx2', createPlatform({ profile: 'win-x64-sgx2', epcSize: 32 << 20 }), true],
    ['linux-sgx2', createLinuxPlatform({ profile: 'linux-sgx2', epcSize: 32 << 20 }), true],
    ['win-x64-sgx1', createPlatform({ profile: 'win-x64-sgx1', epcSize: 32 << 20 }), false],
  ] as const) {
    const data = new MemoryFileSystem();
    const r = runShielded(p, t.built.image, { mounts: { '/data': data }, load: { sigstruct: t.sigstruct } });
    if (ok) {
      assert.equal(text(r.stdout), `big ok ${3 * MIB}\n`, name);
      assert.equal(r.exitCode, 0, name);
      assert.equal(data.files.get('big')!.length, 3 * MIB, name);
    } else {
      assert.match(text(r.stdout) + text(r.stderr), /malloc/, name);
      assert.notEqual(r.exitCode, 0, name);
    }
  }
});

test('storage given for a path the manifest does not mount (a misspelled /Data for /data) ends the run before the program starts (MOUNT_UNDECLARED), the enclave removed; the right paths run', () => {
  const t = shielded({ args: ['shieldtest', 'write', '/data/x', 'hi'], mounts: [{ path: '/data', kind: 'host' }] });
  const p = createPlatform({ profile: 'win-x64-sgx2', epcSize: 32 << 20 });
  const free = p.processor.inspect.freeEpcPages;
  const data = new MemoryFileSystem();
  assert.throws(
    () => runShielded(p, t.built.image, { mounts: { '/Data': data }, load: { sigstruct: t.sigstruct } }),
    (e: unknown) => e instanceof ShieldError && e.code === 'MOUNT_UNDECLARED' && /\/Data.*it mounts \/data/.test(e.message),
  );
  assert.equal(data.files.size, 0, 'the program did not run');
  assert.equal(p.processor.inspect.freeEpcPages, free);
  const r = runShielded(p, t.built.image, { mounts: { '/data': data }, load: { sigstruct: t.sigstruct } });
  assert.equal(r.exitCode, 0);
  assert.equal(text(data.files.get('x')!), 'hi');
  assert.equal(r.counts.MOUNTS, 1);
});
