/**
 * `witness shield` from the command line, in process (main(argv, io) with a capturing Io): the
 * program's stdout, stderr and exit status pass through; ARGS and --env reach it (measured);
 * the mount kinds (encrypted persisting across runs with --seed and --key, trusted listing the
 * directory's files, host-ro refusing writes); --json; --image-out; bad input is one line and
 * exit 2; a trap is exit 1. Every run signs with one key (--key), so no run generates RSA.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'bin/witness.js');
const PROGRAM = join(root, 'test/fixtures/wasi/shieldtest.wasm');
const SEED = '000102030405060708090a0b0c0d0e0f';
let dir = '';
let key = '';

interface Run {
  code: number;
  out: string;
  err: string;
}

/** `witness ARGS…` in process; an error main() rethrows (an internal error) is exit 70, as bin/witness.js makes it. */
async function witness(...args: string[]): Promise<Run> {
  const out: string[] = [], err: string[] = [];
  const io: Io = { out: (t) => void out.push(t + '\n'), err: (t) => void err.push(t + '\n'), isTty: false };
  let code: number;
  try {
    code = await main(args, io);
  } catch (e) {
    err.push(`witness: ${e instanceof Error ? e.stack : String(e)}\n`);
    code = 70;
  }
  return { code, out: out.join(''), err: err.join('') };
}

/** `witness shield PROGRAM ARGS…`, signed with the test's key. */
const shield = (...args: string[]): Promise<Run> => witness('shield', PROGRAM, '--key', key, ...args);

function assertBadInput(r: Run, message: RegExp): void {
  assert.equal(r.code, 2, r.err);
  assert.match(r.err.trimEnd(), message);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.doesNotMatch(r.err, /\n\s+at /);
  assert.equal(r.out, '');
}

/** A fresh directory under the test's temp dir. */
function fresh(name: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Every file in `d`, concatenated. */
function allBytes(d: string): Buffer {
  return Buffer.concat(readdirSync(d).map((n) => readFileSync(join(d, n))));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'witness-shield-cli-'));
  key = join(dir, 'key.pem');
  const k = await witness('keygen', '--out', key);
  assert.equal(k.code, 0, k.err);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('shield --help: usage, the mount kinds and an example; exit 0', async () => {
  const r = await witness('shield', '--help');
  assert.equal(r.code, 0);
  assert.match(r.out, /^shield: run an unmodified WASI program inside an enclave/);
  assert.match(r.out, /KIND: encrypted, host, host-ro, trusted/);
  assert.match(r.out, /example:\n  witness shield /);
});

test('the program\'s stdout, stderr and exit status pass through (hello exits 7); ARGS become argv[1..], argv[0] the file name', async () => {
  const r = await shield('hello', 'two words', '--', '--x');
  assert.equal(r.code, 7, r.err);
  assert.equal(r.out, 'hello from a WASI program\nargv[0]=shieldtest.wasm\nargv[1]=hello\nargv[2]=two words\nargv[3]=--x\nGREETING=(unset)\n');
  assert.equal(r.err, 'to stderr\n'); // with --key: no note about a throwaway key
  const exit = await shield('exit', '42');
  assert.equal(exit.code, 42);
  assert.equal((await shield('exit', '0')).code, 0);
});

test('--env NAME=VALUE reaches the program (a value may hold \'=\'); the environment is measured', async () => {
  const r = await shield('hello', '--env', 'GREETING=a=b c', '--env', 'OTHER=');
  assert.equal(r.code, 7, r.err);
  assert.match(r.out, /^GREETING=a=b c$/m);
  const a = JSON.parse((await shield('hello', '--env', 'GREETING=a', '--json')).out) as { mrenclave: string };
  const b = JSON.parse((await shield('hello', '--env', 'GREETING=b', '--json')).out) as { mrenclave: string };
  const a2 = JSON.parse((await shield('hello', '--env', 'GREETING=a', '--json')).out) as { mrenclave: string };
  assert.notEqual(a.mrenclave, b.mrenclave);
  assert.equal(a.mrenclave, a2.mrenclave);
});

test('--manifest gives args and env; ARGS on top of the manifest\'s args is exit 2', async () => {
  const m = join(dir, 'hello.json');
  writeFileSync(m, JSON.stringify({ args: ['prog', 'hello', 'x'], env: { GREETING: 'from the manifest' } }));
  const r = await shield('--manifest', m);
  assert.equal(r.code, 7, r.err);
  assert.equal(r.out, 'hello from a WASI program\nargv[0]=prog\nargv[1]=hello\nargv[2]=x\nGREETING=from the manifest\n');
  assertBadInput(await shield('hello', '--manifest', m), /^witness shield: the manifest gives args: give ARGS there or on the command line, not both$/);
  assertBadInput(await shield('--manifest', m, '--env', 'GREETING=again'), /^witness shield: GREETING is set twice$/);
});

test('--mount PATH=DIR:encrypted with --seed and --key: a file persists across two runs; the host directory holds no plaintext', async () => {
  const data = fresh('encrypted');
  // argv, the environment and the mounts are measured: both runs use the same ones.
  const run = () => shield('counter', '/data/state', '--mount', `/data=${data}:encrypted`, '--seed', SEED);
  const first = await run();
  assert.equal(first.code, 0, first.err);
  assert.equal(first.out, 'count 1\n');
  assert.equal(first.err, '');
  assert.deepEqual(readdirSync(data), ['state']);
  const second = await run();
  assert.equal(second.code, 0, second.err);
  assert.equal(second.out, 'count 2\n');
  const stored = allBytes(data);
  assert.ok(stored.length > 0);
  assert.ok(!stored.includes('count'), 'the host directory holds no plaintext');
  // Without --seed, another platform: a note on stderr, and the file does not open.
  const other = await shield('counter', '/data/state', '--mount', `/data=${data}:encrypted`);
  assert.match(other.err, /^witness shield: a new platform without --seed/m);
  assert.match(other.err, /^witness shield: refused the host's answer \(READ\): (READ: )?encrypted file state does not open/m);
  assert.equal(other.code, 1);
  assert.equal(other.out, 'error open: 29 I/O error\n');
});

test('--mount PATH=DIR (host, the default): the program reads and writes the directory as it is', async () => {
  const data = fresh('host');
  writeFileSync(join(data, 'in.txt'), 'from the host');
  const r = await shield('read', '/data/in.txt', '--mount', `/data=${data}`);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'read 13: from the host\n');
  const w = await shield('write', '/data/out.txt', 'plain', '--mount', `/data=${data}:host`);
  assert.equal(w.code, 0, w.err);
  assert.equal(readFileSync(join(data, 'out.txt'), 'utf8'), 'plain');
});

test('--mount PATH=DIR:trusted lists the directory\'s files (hashed now) and reads them; writes are refused', async () => {
  const data = fresh('trusted');
  writeFileSync(join(data, 'one'), '1');
  mkdirSync(join(data, 'sub'));
  writeFileSync(join(data, 'sub', 'two'), 'two');
  const list = await shield('list', '/data', '--mount', `/data=${data}:trusted`);
  assert.equal(list.code, 0, list.err);
  assert.equal(list.out, 'entry .\nentry ..\nentry one\nentry sub\n');
  const sub = await shield('list', '/data/sub', '--mount', `/data=${data}:trusted`);
  assert.equal(sub.out, 'entry .\nentry ..\nentry two\n');
  const read = await shield('read', '/data/sub/two', '--mount', `/data=${data}:trusted`);
  assert.equal(read.code, 0, read.err);
  assert.equal(read.out, 'read 3: two\n');
  const w = await shield('write', '/data/new', 'x', '--mount', `/data=${data}:trusted`);
  assert.equal(w.code, 1);
  assert.equal(w.out, 'error open: 69 Read-only file system\n');
  assert.ok(!existsSync(join(data, 'new')));
  // The files' hashes are measured: another content is another enclave.
  const a = JSON.parse((await shield('list', '/data', '--mount', `/data=${data}:trusted`, '--json')).out) as { mrenclave: string };
  writeFileSync(join(data, 'one'), '2');
  const b = JSON.parse((await shield('list', '/data', '--mount', `/data=${data}:trusted`, '--json')).out) as { mrenclave: string };
  assert.notEqual(a.mrenclave, b.mrenclave);
});

test('--mount PATH=DIR:host-ro: reads work, writes are refused (EROFS), the directory is untouched', async () => {
  const data = fresh('host-ro');
  writeFileSync(join(data, 'in.txt'), 'ro');
  const r = await shield('read', '/data/in.txt', '--mount', `/data=${data}:host-ro`);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'read 2: ro\n');
  for (const args of [['write', '/data/new', 'x'], ['append', '/data/in.txt', 'x']]) {
    const w = await shield(...args, '--mount', `/data=${data}:host-ro`);
    assert.equal(w.code, 1, args.join(' '));
    assert.equal(w.out, 'error open: 69 Read-only file system\n');
  }
  assert.equal((await shield('unlink', '/data/in.txt', '--mount', `/data=${data}:host-ro`)).out, 'error unlink: 69 Read-only file system\n');
  assert.equal((await shield('mkdir', '/data/d', '--mount', `/data=${data}:host-ro`)).out, 'error mkdir: 69 Read-only file system\n');
  assert.deepEqual(readdirSync(data), ['in.txt']);
  assert.equal(readFileSync(join(data, 'in.txt'), 'utf8'), 'ro');
});

test('--stdin: the program reads this process\'s standard input (run as a process)', () => {
  const r = spawnSync(process.execPath, [bin, 'shield', PROGRAM, 'stdin', '--stdin', '--key', key], { cwd: dir, input: 'piped in', encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'piped in\n8 bytes from stdin\n');
});

test('--json: exitCode, stdout, stderr, violations, mrenclave, hostOperations', async () => {
  const r = await shield('hello', '--json');
  assert.equal(r.err, '');
  const v = JSON.parse(r.out) as Record<string, unknown>;
  assert.deepEqual(Object.keys(v), ['exitCode', 'stdout', 'stderr', 'violations', 'mrenclave', 'hostOperations']);
  assert.equal(v.exitCode, 7);
  assert.equal(v.stdout, 'hello from a WASI program\nargv[0]=shieldtest.wasm\nargv[1]=hello\nGREETING=(unset)\n');
  assert.equal(v.stderr, 'to stderr\n');
  assert.deepEqual(v.violations, []);
  assert.match(String(v.mrenclave), /^[0-9a-f]{64}$/);
  assert.deepEqual(v.hostOperations, { MOUNTS: 1, WRITE_STDIO: 3 });
  // Without --key, --json keeps stderr quiet (no note about the throwaway key).
  const quiet = await witness('shield', PROGRAM, 'exit', '0', '--json');
  assert.equal(quiet.err, '');
});

test('--stats: the run\'s SGX events and their price, on stderr after the program\'s output, or in the JSON', async () => {
  const r = await shield('hello', '--stats');
  assert.equal(r.code, 7);
  assert.match(r.out, /^hello from a WASI program$/m);
  assert.match(r.err, /^witness shield: the run: ECREATE 1, EADD \d+, EINIT 1, EREMOVE \d+, EEXTEND \d+, EENTER (\d+), EEXIT \1$/m);
  assert.match(r.err, /^ {2}on SGX hardware ≈ [\d,]+ cycles \([\d.]+ µs at 2\.5 GHz\); unpriced: ECREATE, EADD, EINIT, EREMOVE$/m);
  const v = JSON.parse((await shield('hello', '--stats', '--json')).out) as { stats: { counts: Record<string, number>; cycles: number; unpriced: Record<string, number> } };
  const c = v.stats.counts;
  assert.equal(c.EENTER, c.EEXIT);
  assert.ok(c.EENTER! >= 4, 'the load, the program\'s start and its OCALLs');
  assert.equal(v.stats.cycles, (c.EENTER! + c.EEXIT!) * 4300 + c.EEXTEND! * 5200);
  assert.deepEqual(Object.keys(v.stats.unpriced), ['ECREATE', 'EADD', 'EINIT', 'EREMOVE']);
});

test('--json: the command still exits with the program\'s status, as --help says', async () => {
  const r = await shield('hello', '--json');
  assert.equal(r.code, 7);
});

test('--image-out writes the signed image, which witness inspect and witness measure accept', async () => {
  const out = join(dir, 'hello.wimg');
  const r = await shield('hello', '--image-out', out, '--json');
  const mrenclave = (JSON.parse(r.out) as { mrenclave: string }).mrenclave;
  const i = await witness('inspect', out);
  assert.equal(i.code, 0, i.err);
  assert.match(i.out, /^enclave image /);
  assert.match(i.out, /ECALLs +shield_main/);
  assert.match(i.out, /OCALLs +shield_host/);
  assert.match(i.out, /signature valid/);
  const j = await witness('inspect', out, '--json');
  assert.equal((JSON.parse(j.out) as { signed: boolean }).signed, true);
  const m = await witness('measure', out);
  assert.equal(m.code, 0, m.err);
  assert.match(m.out, new RegExp(mrenclave));
});

test('a trap (shieldtest trap) crashes the enclave: exit 1, one line', async () => {
  const r = await shield('trap');
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /^witness shield: .*SGX_ERROR_ENCLAVE_CRASHED/);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
});

test('bad input is one line on stderr, exit 2', async () => {
  const data = fresh('bad');
  assertBadInput(await witness('shield'), /^witness shield: expected PROGRAM\.wasm/);
  assertBadInput(await shield('hello', '--mount', 'data=' + data), /^witness shield: --mount takes PATH=DIR\[:KIND\]/);
  assertBadInput(await shield('hello', '--mount', '/data'), /^witness shield: --mount takes PATH=DIR\[:KIND\]/);
  assertBadInput(await shield('hello', '--mount', `/data=${data}:secret`), /^witness shield: --mount \/data=.*:secret: secret is not a KIND/);
  assertBadInput(await shield('hello', '--mount', `/data=${join(dir, 'absent')}`), /^witness shield: .*absent: no such directory$/);
  writeFileSync(join(dir, 'plain-file'), 'x');
  assertBadInput(await shield('hello', '--mount', `/data=${join(dir, 'plain-file')}`), /is not a directory$/);
  assertBadInput(await shield('hello', '--mount', `/data=${data}`, '--mount', `/data=${data}`), /^witness shield: \/data is mounted twice$/);
  assertBadInput(await shield('hello', '--mount', `/data/=${data}`), /\[MANIFEST_INVALID\]$/);
  assertBadInput(await shield('hello', '--profile', 'win-xp'), /^witness shield: unknown profile win-xp/);
  const notJson = join(dir, 'not.json');
  writeFileSync(notJson, '{ args: ');
  assertBadInput(await shield('--manifest', notJson), /^witness shield: .*not\.json: not JSON/);
  assertBadInput(await shield('--manifest', join(dir, 'absent.json')), /cannot read .*absent\.json/);
  const unknown = join(dir, 'unknown.json');
  writeFileSync(unknown, JSON.stringify({ argv: ['x'] }));
  assertBadInput(await shield('--manifest', unknown), /argv is not a manifest field .*\[MANIFEST_INVALID\]$/);
  assertBadInput(await shield('hello', '--env', 'GREETING'), /^witness shield: --env takes NAME=VALUE, got GREETING$/);
  assertBadInput(await shield('hello', '--env', '=x'), /^witness shield: --env takes NAME=VALUE, got =x$/);
  assertBadInput(await shield('hello', '--env', 'A=1', '--env', 'A=2'), /^witness shield: A is set twice$/);
  assertBadInput(await shield('hello', '--seed', '00'), /--seed takes at least 16 bytes of hex/);
  assertBadInput(await shield('hello', '--heap', '1k'), /^witness shield: --heap takes a number of bytes, got 1k$/);
  assertBadInput(await shield('hello', '--heap-max', '1.5'), /^witness shield: --heap-max takes a number of bytes, got 1\.5$/);
  assertBadInput(await shield('hello', '--heap-max', '-1'), /^witness shield: Option '--heap-max' argument is ambiguous\. Did you forget/);
  assertBadInput(await shield('hello', '--heap-max', '65536'), /heapMaxSize must be a multiple of 64 KiB, at least heapSize/);
  assertBadInput(await shield('hello', '--no-such-option'), /^witness shield: Unknown option '--no-such-option'/);
  assertBadInput(await witness('shield', join(dir, 'absent.wasm')), /cannot read .*absent\.wasm/);
  assertBadInput(await witness('shield', PROGRAM, 'hello', '--key', join(dir, 'absent.pem')), /cannot read .*absent\.pem/);
  writeFileSync(join(dir, 'not.wasm'), 'not wasm');
  const notWasm = await witness('shield', join(dir, 'not.wasm'), '--key', key);
  assert.equal(notWasm.code, 2, notWasm.err);
  assert.equal(notWasm.err.trim().split('\n').length, 1, notWasm.err);
});

test('a manifest that is JSON but not an object, or with mounts not an array of objects, is one line, exit 2', async () => {
  const m = join(dir, 'shape.json');
  for (const text of ['null', '{"mounts":{}}', '{"mounts":[null]}', '[]', '5']) {
    writeFileSync(m, text);
    assertBadInput(await shield('hello', '--manifest', m, '--mount', `/data=${fresh('shape')}`), /manifest|MANIFEST_INVALID/);
  }
});

test(':host-ro on a host mount the manifest declares writable is refused, not ignored', async () => {
  const data = fresh('declared');
  const m = join(dir, 'declared.json');
  writeFileSync(m, JSON.stringify({ mounts: [{ path: '/data', kind: 'host' }] }));
  const r = await shield('--manifest', m, '--mount', `/data=${data}:host-ro`);
  assertBadInput(r, /the manifest mounts \/data as host, not host-ro/);
  assert.ok(!existsSync(join(data, 'x')), 'a host-ro mount was written');
});

test('the program\'s stdout is passed through byte for byte (run as a process)', () => {
  const data = fresh('binary');
  writeFileSync(join(data, 'bin'), Uint8Array.of(0x61, 0xff, 0xfe, 0x62));
  const r = spawnSync(process.execPath, [bin, 'shield', PROGRAM, 'read', '/data/bin', '--mount', `/data=${data}`, '--key', key], { cwd: dir, timeout: 120_000 });
  assert.equal(r.status, 0, String(r.stderr));
  assert.deepEqual([...r.stdout], [...Buffer.from('read 4: '), 0x61, 0xff, 0xfe, 0x62, 0x0a]);
});

test('--attest DIR: the program gets /dev/attestation, its quote verifies with the root and collateral written to DIR; files there are not replaced', async () => {
  const out = fresh('attest-out');
  const att = join(dir, 'attest');
  const r = await shield('attest', 'from the command line', '/out/quote.bin', '--mount', `/out=${out}`, '--attest', att, '--seed', SEED);
  assert.equal(r.code, 0, r.err);
  const mrenclave = /report: MRENCLAVE ([0-9a-f]{64}), REPORTDATA from the command line/.exec(r.out)?.[1];
  assert.ok(mrenclave, r.out);
  const v = await witness('verify-quote', join(out, 'quote.bin'), '--root', join(att, 'root.pem'), '--collateral', join(att, 'collateral.json'));
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /SGX_QL_QV_RESULT_OK/);
  assert.match(v.out, new RegExp(`MRENCLAVE +${mrenclave}`));
  // Refused before anything is built or written: the image named by --image-out is not written either.
  const image = join(dir, 'attest-again.wsi');
  const again = await shield('attest', 'again', '/out/quote.bin', '--mount', `/out=${out}`, '--attest', att, '--seed', SEED, '--image-out', image);
  assert.equal(again.code, 2);
  assert.match(again.err, /root\.pem/);
  assert.equal(existsSync(image), false, 'no image written for a run that was refused');
});
