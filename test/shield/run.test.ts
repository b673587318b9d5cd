/**
 * Unmodified WASI programs inside an enclave: the fixture (an ordinary wasm32-wasi command built
 * with clang and wasi-libc) run by the shield on a modelled platform. Arguments and environment
 * from the measured manifest, exit codes, traps, standard streams, the three mount kinds
 * (encrypted: sealed to the enclave and bound to the path, kept from rollback while the enclave
 * lives; trusted: checked against the manifest's hashes; host: plain), files larger than one host
 * operation, randomness that never comes from the host, and the same program's output under
 * node:wasi as the baseline.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatform, createLinuxPlatform } from '../../src/platform/index.js';
import { createTrustedRuntime, loadEnclave, parseSealedData, withSigstruct, STATUS, type HostPlatform } from '../../src/sdk/index.js';
import { MemoryFileSystem, OP, runShielded, createShieldHost, buildShieldImage, type ShieldManifest, type HostFileSystem } from '../../src/shield/index.js';
import { defaultCrypto, toHex } from '../../src/lib/index.js';
import { runFixture, shielded, text, wasiProgram, TEST_HEAP } from '../helpers/shield.js';
import { assertStatus } from '../helpers/sdk.js';
import { testKey } from '../helpers/signing.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x51 + i);
const enc = new TextEncoder();
const sha = (b: Uint8Array) => toHex(defaultCrypto().sha256(b));
const platform = () => createPlatform({ seed: SEED });
const ENCRYPTED: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted' }];
const args = (...a: string[]) => ['shieldtest', ...a];

/** A host file system that is `inner` except where `over` says otherwise. */
function wrapFs(inner: HostFileSystem, over: Partial<HostFileSystem>): HostFileSystem {
  const keys = ['stat', 'read', 'write', 'truncate', 'create', 'list', 'unlink', 'mkdir', 'rmdir', 'rename'] as const;
  return Object.fromEntries(keys.map((k) => [k, over[k] ?? (inner[k] as (...a: unknown[]) => unknown).bind(inner)])) as unknown as HostFileSystem;
}

function includes(hay: Uint8Array, needle: string): boolean {
  return Buffer.from(hay).includes(Buffer.from(needle));
}

describe('a WASI program in an enclave', () => {
  test('argv and the environment come from the manifest; exit status, stdout and stderr reach the host', () => {
    const r = runFixture(platform(), { args: args('hello', 'two words'), env: { GREETING: 'from the manifest', OTHER: 'x' } });
    assert.equal(r.exitCode, 7);
    assert.equal(text(r.stdout), 'hello from a WASI program\nargv[0]=shieldtest\nargv[1]=hello\nargv[2]=two words\nGREETING=from the manifest\n');
    assert.equal(text(r.stderr), 'to stderr\n');
    assert.deepEqual(r.violations, []);
    // The host was asked for nothing but output (after being told the mounts): no arguments, no environment, no clock.
    assert.deepEqual(Object.keys(r.counts), ['MOUNTS', 'WRITE_STDIO']);
  });

  test('the manifest is part of MRENCLAVE: another environment is another enclave', () => {
    const a = shielded({ args: args('hello'), env: { GREETING: 'a' } }).built.mrenclave;
    const b = shielded({ args: args('hello'), env: { GREETING: 'b' } }).built.mrenclave;
    const a2 = buildShieldImage({ program: wasiProgram(), manifest: { env: { GREETING: 'a' }, args: args('hello') }, config: { heapSize: TEST_HEAP } }).mrenclave;
    assert.notEqual(toHex(a), toHex(b));
    assert.equal(toHex(a), toHex(a2));
  });

  test('proc_exit ends the program with its status; a trap crashes the enclave', () => {
    const p = platform();
    assert.equal(runFixture(p, { args: args('exit', '42') }).exitCode, 42);
    assert.equal(runFixture(p, { args: args('exit', '0') }).exitCode, 0);
    assertStatus(() => runFixture(p, { args: args('trap') }), STATUS.ENCLAVE_CRASHED);
  });

  test('a command runs once per enclave: a second shield_main is refused (INVALID_STATE)', () => {
    const t = shielded({ args: args('exit', '3') });
    const host = createShieldHost();
    const e = loadEnclave(platform(), t.built.image, { sigstruct: t.sigstruct, ocalls: host.ocalls });
    try {
      assert.equal(e.ecall('shield_main'), 3);
      assertStatus(() => e.ecall('shield_main'), STATUS.INVALID_STATE);
    } finally {
      e.destroy();
    }
  });

  test('a trusted runtime without the shield refuses the enclave (INVALID_ENCLAVE)', () => {
    const t = shielded({ args: args('hello') });
    const p = createPlatform({ seed: SEED, engine: createTrustedRuntime() });
    const host = createShieldHost();
    const e = loadEnclave(p, t.built.image, { sigstruct: t.sigstruct, ocalls: host.ocalls });
    try {
      assertStatus(() => e.ecall('shield_main'), STATUS.INVALID_ENCLAVE);
    } finally {
      e.destroy();
    }
  });

  test('randomness is the enclave’s own: no host operation, different every run', () => {
    const p = platform();
    const a = runFixture(p, { args: args('random') }), b = runFixture(p, { args: args('random') });
    assert.match(text(a.stdout), /^[0-9a-f]{32}\n$/);
    assert.notEqual(text(a.stdout), text(b.stdout));
    assert.deepEqual(Object.keys(a.counts), ['MOUNTS', 'WRITE_STDIO']);
  });

  test('clocks: the host answers, the monotonic clock does not go back', () => {
    const r = runFixture(platform(), { args: args('clock') });
    assert.match(text(r.stdout), /^monotonic non-decreasing\nmonotonic last \d+\nrealtime \d+\n$/);
    const realtime = Number(/realtime (\d+)/.exec(text(r.stdout))![1]);
    assert.ok(Math.abs(realtime - Date.now() / 1000) < 600, 'realtime is the host’s clock');
  });

  test("standard input: the host's when the manifest says stdin: 'host', empty otherwise", () => {
    const stdin = enc.encode('piped in');
    const fromHost = runFixture(platform(), { args: args('stdin'), stdin: 'host' }, { stdin });
    assert.equal(text(fromHost.stdout), 'piped in\n8 bytes from stdin\n');
    const none = runFixture(platform(), { args: args('stdin') }, { stdin });
    assert.equal(text(none.stdout), '\n0 bytes from stdin\n');
    assert.equal(none.counts.READ_STDIN, undefined);
  });

  test('it runs the same through the Linux driver', () => {
    const r = runFixture(createLinuxPlatform({ seed: SEED, profile: 'linux-sgx1' }) as HostPlatform, { args: args('hello') });
    assert.equal(r.exitCode, 7);
    assert.match(text(r.stdout), /^hello from a WASI program\n/);
  });
});

describe('encrypted mounts', () => {
  const SIGNER: ShieldManifest['mounts'] = [{ path: '/data', kind: 'encrypted', keyPolicy: 'mrsigner' }];

  test('files are sealed to the enclave and bound to their path; the host sees no plaintext', () => {
    const p = platform();
    const data = new MemoryFileSystem();
    const seen: Uint8Array[] = [];
    const counter: ShieldManifest = { args: args('counter', '/data/state'), mounts: ENCRYPTED };
    const keep = (op: number, req: Uint8Array) => void (op !== OP.WRITE_STDIO && seen.push(req.slice()));
    const first = runFixture(p, counter, { mounts: { '/data': data }, intercept: keep });
    assert.equal(text(first.stdout), 'count 1\n');
    // The same enclave (the same image: the manifest is measured, argv included), run again, reads it back.
    const second = runFixture(p, counter, { mounts: { '/data': data }, intercept: keep });
    assert.deepEqual(second.violations, []);
    assert.equal(text(second.stdout), 'count 2\n');
    const blob = data.files.get('state')!;
    assert.ok(seen.length > 10);
    for (const b of [...seen, blob]) assert.ok(!includes(b, 'count'), 'no file request and no stored byte carries the plaintext');
    // The stored file is an sgx_sealed_data_t: the AAD names the shield, the mount and the path.
    const sealed = parseSealedData(blob);
    assert.equal(sealed.textLength, 1 + 'count 2'.length);
    assert.ok(includes(sealed.aad, '/data\0state'));
    assert.equal(sealed.header.key_request.KEYPOLICY, 1);
    // Another enclave (another manifest, so another MRENCLAVE) cannot open it.
    const other = runFixture(p, { ...counter, env: { X: '1' } }, { mounts: { '/data': data } });
    assert.equal(text(other.stdout), 'error open: 29 I/O error\n');
    assert.equal(other.violations.length, 1);
    assert.match(other.violations[0]!.what, /does not open/);
  });

  test('with the MRSIGNER policy the signer’s other enclaves open them, another signer’s do not', () => {
    const p = platform();
    const shared = new MemoryFileSystem();
    runFixture(p, { args: args('write', '/data/f', 'for the family'), mounts: SIGNER }, { mounts: { '/data': shared } });
    const sibling = runFixture(p, { args: args('read', '/data/f'), mounts: SIGNER }, { mounts: { '/data': shared } });
    assert.deepEqual(sibling.violations, []);
    assert.equal(text(sibling.stdout), 'read 14: for the family\n');
    const stranger = runFixture(p, { args: args('read', '/data/f'), mounts: SIGNER }, { mounts: { '/data': shared } }, testKey(1));
    assert.equal(text(stranger.stdout), 'error open: 29 I/O error\n');
    // An MRENCLAVE mount does not take a file sealed with the MRSIGNER policy.
    const wrongPolicy = runFixture(p, { args: args('read', '/data/f'), mounts: ENCRYPTED }, { mounts: { '/data': shared } });
    assert.equal(text(wrongPolicy.stdout), 'error open: 29 I/O error\n');
    assert.match(wrongPolicy.violations[0]!.what, /key policy/);
  });

  test('a changed byte, a file moved to another name, a file of another platform: all refused', () => {
    const p = platform();
    const data = new MemoryFileSystem();
    runFixture(p, { args: args('write', '/data/a', 'alpha'), mounts: SIGNER }, { mounts: { '/data': data } });
    runFixture(p, { args: args('write', '/data/b', 'bravo'), mounts: SIGNER }, { mounts: { '/data': data } });
    const good = data.files.get('a')!.slice();
    assert.equal(text(runFixture(p, { args: args('read', '/data/a'), mounts: SIGNER }, { mounts: { '/data': data } }).stdout), 'read 5: alpha\n');
    for (const at of [0, 100, 560, good.length - 1]) {
      const bad = good.slice();
      bad[at]! ^= 1;
      data.files.set('a', bad);
      const r = runFixture(p, { args: args('read', '/data/a'), mounts: SIGNER }, { mounts: { '/data': data } });
      assert.equal(text(r.stdout), 'error open: 29 I/O error\n', `byte ${at}`);
      assert.equal(r.violations.length, 1);
    }
    data.files.set('a', data.files.get('b')!);
    const moved = runFixture(p, { args: args('read', '/data/a'), mounts: SIGNER }, { mounts: { '/data': data } });
    assert.equal(text(moved.stdout), 'error open: 29 I/O error\n');
    assert.match(moved.violations[0]!.what, /another path/);
    data.files.set('a', good);
    const elsewhere = runFixture(createPlatform({ seed: new Uint8Array(32).fill(9) }), { args: args('read', '/data/a'), mounts: SIGNER }, { mounts: { '/data': data } });
    assert.equal(text(elsewhere.stdout), 'error open: 29 I/O error\n');
  });

  test('while the enclave lives, the host cannot roll a file back or delete it behind its back', () => {
    const p = platform();
    // The host keeps the first version (what the file holds when the second replaces it) and
    // hands it out once the second is written.
    const store = new MemoryFileSystem();
    let first: Uint8Array | null = null, renames = 0;
    const rollback = wrapFs(store, {
      rename(from: string, to: string) {
        if (++renames === 2) first = store.files.get(to)!.slice();
        store.rename(from, to);
      },
      stat(rel: string) {
        if (first !== null && rel === 'v') store.files.set(rel, first);
        return store.stat(rel);
      },
    });
    const r = runFixture(p, { args: args('versions', '/data/v'), mounts: ENCRYPTED }, { mounts: { '/data': rollback } });
    assert.equal(text(r.stdout), 'error open: 29 I/O error\n');
    assert.match(r.violations[0]!.what, /not the version the enclave last wrote/);

    // Deleted between two reads of one run.
    const data = new MemoryFileSystem();
    runFixture(p, { args: args('write', '/data/d', 'here'), mounts: SIGNER }, { mounts: { '/data': data } });
    let reads = 0;
    const deleting = wrapFs(data, {
      read(rel: string, offset: number, length: number) {
        const out = data.read(rel, offset, length);
        if (++reads === 1) data.files.delete(rel);
        return out;
      },
    });
    const d = runFixture(p, { args: args('readtwice', '/data/d'), mounts: SIGNER }, { mounts: { '/data': deleting } });
    assert.equal(text(d.stdout), 'read 4: here\nerror open: 29 I/O error\n');
    assert.match(d.violations[0]!.what, /deleted behind/);
    // Across enclave lifetimes there is no defence (no monotonic counter): documented, and shown here.
    const stale = new MemoryFileSystem();
    runFixture(p, { args: args('write', '/data/s', 'old'), mounts: SIGNER }, { mounts: { '/data': stale } });
    const old = stale.files.get('s')!.slice();
    runFixture(p, { args: args('write', '/data/s', 'new'), mounts: SIGNER }, { mounts: { '/data': stale } });
    stale.files.set('s', old);
    assert.equal(text(runFixture(p, { args: args('read', '/data/s'), mounts: SIGNER }, { mounts: { '/data': stale } }).stdout), 'read 3: old\n');
  });

  test('directories, appends, renames, seeks, truncation and unlinks work on an encrypted mount as on a host mount', () => {
    const p = platform();
    const encStore = new MemoryFileSystem(), hostStore = new MemoryFileSystem();
    const e = runFixture(p, { args: args('files', '/data'), mounts: ENCRYPTED }, { mounts: { '/data': encStore } });
    const h = runFixture(p, { args: args('files', '/data'), mounts: [{ path: '/data', kind: 'host' }] }, { mounts: { '/data': hostStore } });
    const expected = 'read 10: alpha+beta\npread: alPHa\nsize: 10\nread 3: alP\na.txt is gone: 44\ntour done\n';
    assert.equal(text(h.stdout), expected);
    assert.equal(text(e.stdout), expected);
    assert.deepEqual(e.violations, []);
    assert.deepEqual([...encStore.files.keys()], []);
    assert.deepEqual([...encStore.dirs], ['']);
  });

  test('a file larger than one host operation (600 KiB) goes out and back in pieces', () => {
    const p = platform();
    const data = new MemoryFileSystem();
    const r = runFixture(p, { args: args('big', '/data/big', String(600 * 1024)), mounts: ENCRYPTED }, { mounts: { '/data': data } });
    assert.equal(text(r.stdout), `big ok ${600 * 1024}\n`);
    assert.ok((r.counts.WRITE ?? 0) >= 3, 'the sealed file needs several WRITEs');
    assert.ok(data.files.get('big')!.length > 600 * 1024);
  });
});

describe('trusted and host mounts', () => {
  const config = enc.encode('{"mode":"production"}');
  const trusted = (hash = sha(config)): ShieldManifest['mounts'] => [{ path: '/etc/app', kind: 'trusted', files: { 'config.json': hash, 'sub/dir/x': sha(enc.encode('x')) } }];

  test('a trusted file is read when its bytes match the manifest; any other bytes are refused', () => {
    const p = platform();
    const store = new MemoryFileSystem();
    store.files.set('config.json', config);
    store.files.set('unlisted', enc.encode('not in the manifest'));
    const ok = runFixture(p, { args: args('read', '/etc/app/config.json'), mounts: trusted() }, { mounts: { '/etc/app': store } });
    assert.equal(text(ok.stdout), `read ${config.length}: {"mode":"production"}\n`);
    store.files.set('config.json', enc.encode('{"mode":"debug!!!!!!"}'));
    const bad = runFixture(p, { args: args('read', '/etc/app/config.json'), mounts: trusted() }, { mounts: { '/etc/app': store } });
    assert.equal(text(bad.stdout), 'error open: 29 I/O error\n');
    assert.match(bad.violations[0]!.what, /does not match its hash/);
    const unlisted = runFixture(p, { args: args('read', '/etc/app/unlisted'), mounts: trusted() }, { mounts: { '/etc/app': store } });
    assert.equal(text(unlisted.stdout), 'error open: 44 No such file or directory\n');
    assert.equal(unlisted.counts.STAT, undefined, 'an unlisted name is not even asked for');
  });

  test('a trusted mount is read-only and lists only what the manifest lists', () => {
    const p = platform();
    const store = new MemoryFileSystem();
    store.files.set('config.json', config);
    store.files.set('unlisted', enc.encode('?'));
    const w = runFixture(p, { args: args('write', '/etc/app/config.json', 'x'), mounts: trusted() }, { mounts: { '/etc/app': store } });
    assert.equal(text(w.stdout), 'error open: 69 Read-only file system\n');
    const list = runFixture(p, { args: args('list', '/etc/app'), mounts: trusted() }, { mounts: { '/etc/app': store } });
    assert.equal(text(list.stdout), 'entry .\nentry ..\nentry config.json\nentry sub\n');
    assert.equal(list.counts.LIST, undefined);
    const sub = runFixture(p, { args: args('list', '/etc/app/sub'), mounts: trusted() }, { mounts: { '/etc/app': store } });
    assert.equal(text(sub.stdout), 'entry .\nentry ..\nentry dir\n');
  });

  test('a host mount is plain: the host sees the bytes; readOnly refuses writes', () => {
    const p = platform();
    const store = new MemoryFileSystem();
    const w = runFixture(p, { args: args('write', '/out/log.txt', 'for the host'), mounts: [{ path: '/out', kind: 'host' }] }, { mounts: { '/out': store } });
    assert.equal(text(w.stdout), 'wrote /out/log.txt\n');
    assert.equal(text(store.files.get('log.txt')!), 'for the host');
    const ro = runFixture(p, { args: args('write', '/out/log.txt', 'x'), mounts: [{ path: '/out', kind: 'host', readOnly: true }] }, { mounts: { '/out': store } });
    assert.equal(text(ro.stdout), 'error open: 69 Read-only file system\n');
  });

  test('no path leaves its mount, and nothing outside the mounts exists', () => {
    const p = platform();
    const m: ShieldManifest['mounts'] = [{ path: '/data', kind: 'host' }, { path: '/other', kind: 'host' }];
    for (const path of ['/data/../other/x', '/etc/passwd', '/x']) {
      const r = runFixture(p, { args: args('read', path), mounts: m });
      assert.match(text(r.stdout), /^error open: (76|44) /, path);
    }
    const r = runFixture(p, { args: args('read', '/data/../other/x'), mounts: m });
    assert.equal(r.counts.READ, undefined);
  });
});

describe('the baseline: the same program under node:wasi', () => {
  test('prints what the shield prints, for a host-mount tour and a listing', async () => {
    const { WASI } = await import('node:wasi');
    const dir = mkdtempSync(join(tmpdir(), 'witness-wasi-'));
    try {
      const out = join(dir, 'stdout');
      const runNode = (argv: string[], sub: string): string => {
        mkdirSync(join(dir, sub), { recursive: true });
        writeFileSync(out, '');
        const fd = openSync(out, 'w');
        try {
          const wasi = new WASI({ version: 'preview1', args: argv, env: {}, preopens: { '/data': join(dir, sub) }, stdout: fd, returnOnExit: true });
          const instance = new WebAssembly.Instance(new WebAssembly.Module(wasiProgram()), { wasi_snapshot_preview1: wasi.wasiImport });
          wasi.start(instance);
        } finally {
          closeSync(fd);
        }
        return readFileSync(out, 'utf8');
      };
      const tour = runNode(args('files', '/data'), 'tour');
      const shieldedTour = runFixture(platform(), { args: args('files', '/data'), mounts: [{ path: '/data', kind: 'host' }] });
      assert.equal(text(shieldedTour.stdout), tour);
      mkdirSync(join(dir, 'list'), { recursive: true });
      writeFileSync(join(dir, 'list', 'one'), '1');
      mkdirSync(join(dir, 'list', 'two'));
      const listing = runNode(args('list', '/data'), 'list');
      const store = new MemoryFileSystem();
      store.files.set('one', enc.encode('1'));
      store.dirs.add('two');
      // uvwasi leaves '.' and '..' out of fd_readdir; the shield gives them, as wasmtime and POSIX readdir do.
      assert.equal(listing, 'entry one\nentry two\n');
      assert.equal(text(runFixture(platform(), { args: args('list', '/data'), mounts: [{ path: '/data', kind: 'host' }] }, { mounts: { '/data': store } }).stdout), 'entry .\nentry ..\n' + listing);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('runShielded takes an unsigned image with a SIGSTRUCT, and a signed one', () => {
  const t = shielded({ args: args('exit', '5') });
  assert.equal(runShielded(platform(), t.built.image, { load: { sigstruct: t.sigstruct } }).exitCode, 5);
  assert.equal(runShielded(platform(), withSigstruct(t.built.image, t.sigstruct)).exitCode, 5);
});
