/**
 * A hostile host against the shield's ABI (Iago attacks, Checkoway and Shacham, ASPLOS 2013): for
 * each kind of answer the host can give, a lie that must be refused, with EIO for the program and
 * a violation reported, and nothing of the lie reaching the program's memory. The host rewrites
 * honest answers through `intercept`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createPlatform } from '../../src/platform/index.js';
import { MemoryFileSystem, OP, ERRNO, FILETYPE, Encoder, Decoder, type ShieldManifest, type ShieldRun } from '../../src/shield/index.js';
import { runFixture, text } from '../helpers/shield.js';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => 0x77 ^ i);
const enc = new TextEncoder();
const args = (...a: string[]) => ['shieldtest', ...a];
const HOST: ShieldManifest['mounts'] = [{ path: '/data', kind: 'host' }];

function store(): MemoryFileSystem {
  const s = new MemoryFileSystem();
  s.files.set('f', enc.encode('honest bytes'));
  s.dirs.add('d');
  s.files.set('d/x', enc.encode('x'));
  return s;
}

/** Run `argv` against a host that rewrites its answers to `op` with `lie` (given the honest answer). */
function hostile(argv: string[], op: number, lie: (honest: Uint8Array, request: Uint8Array) => Uint8Array, manifest: Partial<ShieldManifest> = {}): ShieldRun {
  return runFixture(createPlatform({ seed: SEED }), { args: argv, mounts: HOST, ...manifest }, {
    mounts: { '/data': store() },
    intercept: (o, request, honest) => (o === op ? lie(honest, request) : undefined),
  });
}

/** An answer: errno 0 and `fields`. */
const ok = (fields: (e: Encoder) => void): Uint8Array => {
  const e = new Encoder().u32(0);
  fields(e);
  return e.finish();
};

function refused(r: ShieldRun, what: RegExp, stdout = 'error open: 29 I/O error\n'): void {
  assert.equal(text(r.stdout), stdout);
  assert.ok(r.violations.length >= 1, 'a violation is reported');
  assert.match(r.violations[0]!.what, what);
}

describe('the shield refuses lying answers', () => {
  test('honest answers pass (the baseline for every lie below)', () => {
    const r = hostile(args('read', '/data/f'), -1, (h) => h);
    assert.equal(text(r.stdout), 'read 12: honest bytes\n');
    assert.deepEqual(r.violations, []);
  });

  test('HREAD (a host-mount file, through its handle): more bytes than asked', () => {
    const r = hostile(args('read', '/data/f'), OP.HREAD, (_h, req) => {
      const d = new Decoder(req);
      d.u32(); d.u32(); d.u64();
      const asked = d.u32();
      return ok((e) => e.bytes(new Uint8Array(asked + 1).fill(0x41)));
    });
    // Data beyond what was asked does not even fit the response buffer the shield offered.
    refused(r, /response of \d+ bytes \(4 to \d+\)/, 'error read: 29 I/O error\n');
  });

  test('OPEN: no handle, or more than a handle; HSTAT: an open file that is a directory, or of a size past 2^53', () => {
    refused(hostile(args('read', '/data/f'), OP.OPEN, () => ok(() => undefined)), /handle: the message ends early/);
    refused(hostile(args('read', '/data/f'), OP.OPEN, () => ok((e) => e.u32(1).u32(2))), /after the last field/);
    const stat = (fields: (e: Encoder) => void) => hostile(args('append', '/data/f', 'x'), OP.HSTAT, () => ok(fields));
    for (const [r, what] of [[stat((e) => e.u8(FILETYPE.DIRECTORY).u64(0n).u64(0n).u64(1n)), /filetype 3 for an open file/], [stat((e) => e.u8(FILETYPE.REGULAR_FILE).u64(1n << 60n).u64(0n).u64(1n)), /size/]] as const) {
      assert.ok(r.violations.length >= 1, 'a violation is reported');
      assert.match(r.violations[0]!.what, what);
      assert.match(text(r.stdout), /29 I\/O error/);
    }
  });

  test('a response longer than the enclave’s buffer, or shorter than an errno', () => {
    refused(hostile(args('read', '/data/f'), OP.STAT, () => new Uint8Array(300_000)), /response of 300000 bytes/);
    refused(hostile(args('read', '/data/f'), OP.STAT, () => new Uint8Array(3)), /response of 3 bytes/);
  });

  test('an errno WASI does not have, and an error that carries data', () => {
    refused(hostile(args('read', '/data/f'), OP.STAT, () => new Encoder().u32(999).finish()), /errno 999/);
    refused(hostile(args('read', '/data/f'), OP.STAT, () => new Encoder().u32(ERRNO.NOENT).u32(7).finish()), /error answer carries data/);
  });

  test('fields missing, or bytes after the last field', () => {
    refused(hostile(args('read', '/data/f'), OP.STAT, () => ok((e) => e.u8(FILETYPE.REGULAR_FILE))), /ends early/);
    refused(hostile(args('read', '/data/f'), OP.STAT, (h) => ok((e) => e.tail(h.subarray(4)).u8(0))), /after the last field/);
  });

  test('STAT: a file type a mount cannot hold (a symbolic link, a socket), a size past 2^53', () => {
    refused(hostile(args('read', '/data/f'), OP.STAT, () => ok((e) => e.u8(7).u64(12n).u64(0n))), /filetype 7/);
    refused(hostile(args('read', '/data/f'), OP.STAT, () => ok((e) => e.u8(6).u64(12n).u64(0n))), /filetype 6/);
    refused(hostile(args('read', '/data/f'), OP.STAT, () => ok((e) => e.u8(FILETYPE.REGULAR_FILE).u64(1n << 60n).u64(0n))), /size/);
  });

  test('LIST: names that would leave the directory, duplicates, odd types', () => {
    const list = (entries: [number, string][]) => () => ok((e) => {
      e.u32(entries.length);
      for (const [t, n] of entries) e.u8(t).str(n);
    });
    let calls = 0;
    const once = (entries: [number, string][]) => () => (calls++ === 0 ? list(entries)() : ok((e) => e.u32(0)));
    for (const [entries, what] of [
      [[[FILETYPE.REGULAR_FILE, '..']], /named '\.\.'/],
      [[[FILETYPE.REGULAR_FILE, 'a/b']], /named 'a\/b'/],
      [[[FILETYPE.REGULAR_FILE, '']], /named ''/],
      [[[FILETYPE.REGULAR_FILE, 'a'], [FILETYPE.DIRECTORY, 'a']], /'a' twice/],
      [[[7, 'link']], /filetype 7/],
    ] as [[number, string][], RegExp][]) {
      calls = 0;
      refused(hostile(args('list', '/data'), OP.LIST, once(entries)), what, 'error opendir: 29 I/O error\n');
    }
  });

  test('WRITE and WRITE_STDIO: more written than sent', () => {
    refused(hostile(args('write', '/data/new', 'abc'), OP.HWRITE, () => ok((e) => e.u32(4))), /4 bytes written of 3/, 'error close: 29 I/O error\n');
    // An encrypted file's blob goes out by path (WRITE): a new file's first (empty) one when it is created.
    refused(hostile(args('write', '/data/new', 'abc'), OP.WRITE, () => ok((e) => e.u32(0xffff_ffff)), { mounts: [{ path: '/data', kind: 'encrypted' }] }), /written of/, 'error open: 29 I/O error\n');
    const r = hostile(args('hello'), OP.WRITE_STDIO, () => ok((e) => e.u32(1 << 20)));
    assert.equal(r.exitCode, 7);
    assert.match(r.violations[0]!.what, /written of/);
  });

  test('CLOCK: a monotonic clock that goes back is held where it was (and reported)', () => {
    let t = 5_000_000_000n;
    const r = hostile(args('clock'), OP.CLOCK, (_h, req) => {
      const id = new Decoder(req.subarray(4)).u32();
      t -= 1_000_000n;
      return ok((e) => e.u64(id === 1 ? t : 1_700_000_000_000_000_000n));
    });
    assert.match(text(r.stdout), /^monotonic non-decreasing\nmonotonic last 4999000000\n/);
    assert.equal(r.violations.length, 2);
    assert.match(r.violations[0]!.what, /monotonic clock went back/);
  });

  test('READ_STDIN: more bytes than asked', () => {
    const r = hostile(args('stdin'), OP.READ_STDIN, (_h, req) => ok((e) => e.bytes(new Uint8Array(new Decoder(req.subarray(4)).u32() + 5))), { stdin: 'host' });
    assert.match(r.violations[0]!.what, /response of \d+ bytes \(4 to \d+\)/);
    assert.match(text(r.stdout), /^\n0 bytes from stdin\n$/);
  });

  test('a trusted file whose size the host understates or overstates', () => {
    const content = enc.encode('trusted content');
    const mounts: ShieldManifest['mounts'] = [{ path: '/data', kind: 'trusted', files: { f: sha256hex(content) } }];
    const s = new MemoryFileSystem();
    s.files.set('f', content);
    for (const size of [5n, 100n]) {
      const r = runFixture(createPlatform({ seed: SEED }), { args: args('read', '/data/f'), mounts }, {
        mounts: { '/data': s },
        intercept: (o, _req, honest) => (o === OP.STAT ? ok((e) => e.u8(FILETYPE.REGULAR_FILE).u64(size).u64(0n)) : o === OP.READ ? honest : undefined),
      });
      assert.equal(text(r.stdout), 'error open: 29 I/O error\n', `size ${size}`);
      assert.ok(r.violations.length >= 1);
    }
  });
});

function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
