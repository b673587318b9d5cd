/**
 * `witness session`: one enclave loaded, then ECALLs and memory views from lines of standard input,
 * run as a user would (node bin/witness.js session … < script); and its line splitting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { words } from '../../src/cli/commands/session.js';
import { CliError } from '../../src/cli/io.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'bin/witness.js');
const hello = join(root, 'examples/hello');

function session(input: string, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, 'session', ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('words: blanks separate, quotes keep blanks, \\" and \\\\ inside double quotes, an unterminated quote is CLI_LINE', () => {
  assert.deepEqual(words('ecall_hello  world -\t64'), ['ecall_hello', 'world', '-', '64']);
  assert.deepEqual(words('a "two words" \'it\'\'s\' x"y z"'), ['a', 'two words', 'its', 'xy z']);
  assert.deepEqual(words('"say \\"hi\\" \\\\ \\n"'), ['say "hi" \\ \\n']);
  assert.deepEqual(words('\'keep \\" as is\''), ['keep \\" as is']);
  assert.deepEqual(words('e ""'), ['e', '']);
  for (const bad of ['e "open', "e 'open", 'e "ends \\"']) assert.throws(() => words(bad), (e: unknown) => e instanceof CliError && e.code === 'CLI_LINE', bad);
});

test('a session: the module and its EDL built and signed, calls on the one enclave (state kept), memory views, failed lines said and the session going on, quit', () => {
  const script = [
    '# a comment, then a blank line',
    '',
    'ecall_hello "two words" - 64',
    "ecall_store_secret 'kept between calls' 18",
    'call ecall_read_secret - 18',
    'peek pointer 0 8',
    'ecall_nope',
    'ecall_hello x - lots',
    'peek sideways 0 8',
    'ecall_hello "unterminated',
    'ecalls',
    'quit',
    'ecall_hello never - 64',
  ].join('\n');
  const r = session(script, join(hello, 'enclave.wasm'), join(hello, 'hello.edl'), '--profile', 'linux-sgx2');
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /^loaded .*enclave\.wasm \(built and signed here\) on linux-sgx2: MRENCLAVE [0-9a-f]{64}, MRSIGNER [0-9a-f]{64}\n  ECALLs: ecall_hello, ecall_store_secret, /);
  assert.match(r.out, /\necall_hello returned 42\n  greeting: "Hello, two words, from inside the enclave!"\n  ocall ocall_print\("the enclave wrote a greeting"\)\n  leaves: EENTER 2, EEXIT 2\n  on SGX hardware ≈ [\d,]+ cycles/);
  assert.match(r.out, /\necall_read_secret returned 18\n  out: "kept between calls"\n/);
  assert.match(r.out, /\nmemory at linear 0x[0-9a-f]+, physical 0x[0-9a-f]+\n  kernel \(ring 0\): ffffffffffffffff\n  DRAM: +[0-9a-f]{16}\n  debugger: +refused: EIO \(5\)  \(pread\(\/proc\/self\/mem\)\)\n/);
  assert.match(r.out, /\nint ecall_hello\(\[in, string\] const char \*name: text; /);
  assert.doesNotMatch(r.out, /never/);
  assert.doesNotMatch(r.out, /witness> /, 'no prompt when the input is not a terminal');
  assert.deepEqual(r.err.trim().split('\n'), [
    'line 7: PlatformError WORKBENCH_NO_ECALL: enclave 1 has no ECALL ecall_nope (it has ecall_hello, ecall_store_secret, ecall_read_secret, ecall_seal_secret, ecall_unseal_secret, ecall_make_report, ecall_verify_report)',
    'line 8: PlatformError ECALL_ARG: len: "lots" is not an unsigned 32-bit integer (0 to 4294967295, decimal or 0x…)',
    'line 9: CliError CLI_LINE: peek takes pointer|linear ADDRESS LENGTH',
    'line 10: CliError CLI_LINE: an unterminated double quote',
  ]);
});

test('a session with no failed line exits 0, at the end of its input; a signed image loads as it is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-session-'));
  try {
    const image = join(dir, 'h.wimg');
    const key = join(dir, 'k.pem');
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    assert.equal(run('build', join(hello, 'enclave.wasm'), '--edl', join(hello, 'hello.edl'), '--out', image).status, 0);
    assert.equal(run('keygen', '--out', key).status, 0);
    assert.equal(run('sign', '--key', key, image).status, 0);
    const r = session('ecall_hello ok - 64\n', image, '--seed', '00'.repeat(16));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^loaded .*h\.wimg \(signed image\) on win-x64-sgx1: /);
    assert.match(r.out, /greeting: "Hello, ok, from inside the enclave!"/);
    assert.equal(r.err, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad files, options or a platform that refuses the enclave end the session before it reads a line', () => {
  const edlOnly = session('ecall_hello x - 8\n', join(hello, 'hello.edl'));
  assert.equal(edlOnly.code, 2);
  assert.match(edlOnly.err, /\[WORKBENCH_FILES\]$/m);
  assert.equal(session('', join(hello, 'enclave.wasm'), join(hello, 'hello.edl'), '--profile', 'win-x64-sgx9').code, 2);
  assert.equal(session('', join(hello, 'enclave.wasm'), join(hello, 'hello.edl'), '--seed', 'ab').code, 2);
  assert.equal(session('').code, 2);
  const none = session('ecall_hello x - 8\n', join(hello, 'enclave.wasm'), join(hello, 'hello.edl'), '--profile', 'win-x64-nosgx');
  assert.equal(none.code, 1, none.err);
  assert.doesNotMatch(none.out, /returned/);
});

const scriptBin = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
test('at a terminal, a prompt before each line (and none after quit)', { skip: scriptBin === undefined ? 'no script(1) to give the session a terminal' : false }, () => {
  // script(1) runs the session on a pseudo-terminal and types what it reads from its own stdin.
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} session ${JSON.stringify(join(hello, 'enclave.wasm'))} ${JSON.stringify(join(hello, 'hello.edl'))}`;
  const r = spawnSync(scriptBin!, ['-qec', cmd, '/dev/null'], { input: 'ecall_hello tty - 64\nquit\n', encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
  assert.match(out, /witness> ecall_hello tty - 64\n/);
  assert.match(out, /greeting: "Hello, tty, from inside the enclave!"/);
  assert.equal(out.split('witness> ').length - 1, 2, out);
});
