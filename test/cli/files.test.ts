/**
 * The CLI's file helpers and error boundary, in process: modes, exclusive creation, and the
 * backstop that turns a stray system error on a path into one line and exit 2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, statSync, chmodSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInput, readText, writeOutput, writeOutputs } from '../../src/cli/files.js';
import { CliError, type Io } from '../../src/cli/io.js';
import { reportError } from '../../src/cli/main.js';
import { SdkError, EdlError, EnclaveLoadError, EnclaveCallError } from '../../src/sdk/index.js';
import { LibError } from '../../src/lib/index.js';
import { ArchError } from '../../src/arch/index.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'witness-files-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function capture(): Io & { errors: string[] } {
  const errors: string[] = [];
  return { out: () => undefined, err: (t) => void errors.push(t), isTty: false, errors };
}

test('readInput/readText: a missing file is CliError CLI_READ, exit 2, naming the path', () => {
  const p = join(dir, 'absent.bin');
  assert.throws(() => readInput(p), (e: unknown) => e instanceof CliError && e.code === 'CLI_READ' && e.exitCode === 2 && e.message === `cannot read ${p}: no such file or directory`);
  assert.throws(() => readText(p), (e: unknown) => e instanceof CliError && e.code === 'CLI_READ');
  writeFileSync(join(dir, 'utf8.txt'), 'héllo');
  assert.equal(readText(join(dir, 'utf8.txt')), 'héllo');
});

test('writeOutput: writes bytes and text; a missing folder is CLI_WRITE, exit 2', () => {
  writeOutput(join(dir, 'a.bin'), Uint8Array.of(1, 2, 3));
  assert.deepEqual([...readFileSync(join(dir, 'a.bin'))], [1, 2, 3]);
  writeOutput(join(dir, 'a.bin'), 'xyz');
  assert.equal(readFileSync(join(dir, 'a.bin'), 'utf8'), 'xyz');
  const p = join(dir, 'no/such/folder/out.bin');
  assert.throws(() => writeOutput(p, 'x'), (e: unknown) => e instanceof CliError && e.code === 'CLI_WRITE' && e.exitCode === 2 && e.message === `cannot write ${p}: no such file or directory`);
});

test('writeOutput: exclusive refuses an existing file and leaves it alone; mode applies on create and on replace', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, () => {
  const p = join(dir, 'key.pem');
  writeFileSync(p, 'old');
  chmodSync(p, 0o644);
  assert.throws(() => writeOutput(p, 'new', { exclusive: true, mode: 0o600 }), (e: unknown) => e instanceof CliError && e.code === 'CLI_EXISTS' && e.exitCode === 2);
  assert.equal(readFileSync(p, 'utf8'), 'old');
  assert.equal(statSync(p).mode & 0o777, 0o644);
  writeOutput(p, 'new', { mode: 0o600 });
  assert.equal(readFileSync(p, 'utf8'), 'new');
  assert.equal(statSync(p).mode & 0o777, 0o600);
  const q = join(dir, 'fresh.pem');
  writeOutput(q, 'k', { exclusive: true, mode: 0o600 });
  assert.equal(statSync(q).mode & 0o777, 0o600);
});

test('the error boundary: a system error with a path is one line, exit 2; anything else is rethrown', async () => {
  const io = capture();
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x/y.pem'"), { code: 'ENOENT', errno: -2, syscall: 'open', path: 'x/y.pem' });
  assert.equal(await reportError('sign', enoent, io), 2);
  assert.deepEqual(io.errors, ['witness sign: x/y.pem: no such file or directory']);
  const eacces = Object.assign(new Error('EACCES'), { code: 'EACCES', path: '/root/k.pem' });
  assert.equal(await reportError('keygen', eacces, io), 2);
  assert.equal(io.errors[1], 'witness keygen: /root/k.pem: permission denied');
  const internal = new RangeError('a bug');
  await assert.rejects(reportError('run', internal, io), (e: unknown) => e === internal);
  const noPath = Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' });
  await assert.rejects(reportError('run', noPath, io), (e: unknown) => e === noPath);
  assert.equal(io.errors.length, 2);
});

test('the error boundary decides the exit code in one place: negative answers 1, every other Witness error 2', async () => {
  const cases: [unknown, number][] = [
    [new EnclaveLoadError('NOT_SIGNED', 'the image is not signed'), 1],
    [new EnclaveLoadError('INIT_FAILED', 'InitializeEnclave failed'), 1],
    // An image of the wrong shape is bad input, though the loader found it.
    [new EnclaveLoadError('CONFIG_INVALID', 'the configuration is invalid'), 2],
    [new EnclaveLoadError('INTERFACE_INVALID', 'the interface cannot be used'), 2],
    [new EnclaveLoadError('MANIFEST_MISMATCH', 'the manifest disagrees with its pages'), 2],
    [new EnclaveCallError('ENCLAVE_EXIT', 'the enclave did not return'), 1],
    [new SdkError('SIGN_BAD_SIGNATURE', 'the signature does not verify'), 1],
    [new SdkError('IMAGE_INVALID', 'not an image'), 2],
    [new SdkError('MODULE_INVALID', 'not a WebAssembly module'), 2],
    [new EdlError('EDL_SYNTAX', { file: 'a.edl', line: 1, column: 2 }, 'expected enclave'), 2],
    [new LibError('RSA_KEY_INVALID', 'not a key'), 2],
    [new ArchError('SEED_TOO_SHORT', 'short'), 2],
    [new CliError('CLI_USAGE', 'usage'), 2],
    [new CliError('CLI_NEGATIVE', 'no', 1), 1],
  ];
  for (const [e, code] of cases) {
    const io = capture();
    assert.equal(await reportError('x', e, io), code, String(e));
    assert.equal(io.errors.length, 1);
    if (!(e instanceof CliError)) assert.match(io.errors[0]!, /^witness x: .+ \[[A-Z_]+\]$/);
  }
});

test('writeOutputs: all or none; one file named twice (also as ./x) is CLI_SAME_OUTPUT; nothing is left behind', () => {
  const sub = mkdtempSync(join(dir, 'group-'));
  const p = (n: string) => join(sub, n);
  writeFileSync(p('old.txt'), 'old');
  const isCli = (code: string) => (e: unknown) => e instanceof CliError && e.code === code && e.exitCode === 2;
  // The second output cannot be written (no such folder): the first, already placed, is removed again,
  // and an existing file it replaced... is never replaced before every output is written.
  assert.throws(() => writeOutputs([{ path: p('a.txt'), data: 'a' }, { path: p('old.txt'), data: 'new' }, { path: join(sub, 'nodir', 'b.txt'), data: 'b' }]), isCli('CLI_WRITE'));
  assert.equal(existsSync(p('a.txt')), false);
  assert.equal(readFileSync(p('old.txt'), 'utf8'), 'old');
  // An exclusive output over an existing file: refused before anything is written.
  assert.throws(() => writeOutputs([{ path: p('a.txt'), data: 'a' }, { path: p('old.txt'), data: 'x', options: { exclusive: true } }]), isCli('CLI_EXISTS'));
  assert.equal(existsSync(p('a.txt')), false);
  // One file under two names.
  assert.throws(() => writeOutputs([{ path: p('c.txt'), data: 'private' }, { path: `${sub}/./c.txt`, data: 'public' }]), isCli('CLI_SAME_OUTPUT'));
  assert.equal(existsSync(p('c.txt')), false);
  assert.deepEqual(readdirSync(sub).sort(), ['old.txt'], 'no temporary files stay behind');
  // The good case: every file whole, a replaced one included.
  writeOutputs([{ path: p('a.txt'), data: 'a' }, { path: p('old.txt'), data: 'new' }]);
  assert.deepEqual([readFileSync(p('a.txt'), 'utf8'), readFileSync(p('old.txt'), 'utf8')], ['a', 'new']);
  assert.deepEqual(readdirSync(sub).sort(), ['a.txt', 'old.txt']);
});
