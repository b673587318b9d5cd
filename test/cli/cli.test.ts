/**
 * The witness command line: outputs, JSON contracts and exit codes, run as a user would
 * (node bin/witness.js …) in a temporary directory.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, chmodSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lib from '../../src/lib/index.js';
import { decodeImage, encodeImage, type EnclaveImage } from '../../src/sdk/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'bin/witness.js');
const vectors = join(root, '../shared/vectors/sgx');
const hello = join(root, 'examples/hello');
let dir = '';
/** Every command `witness --help` lists. */
const COMMANDS = ['demo', 'build', 'keygen', 'sign', 'measure', 'inspect', 'run', 'session', 'shield', 'attack', 'platform', 'sigstruct', 'verify-quote', 'edl', 'web'];
const NAME_WIDTH = Math.max(...COMMANDS.map((c) => c.length));

function witness(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'witness-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('--help lists the commands and exits 0; no command exits 2', () => {
  const h = witness('--help');
  assert.equal(h.code, 0);
  for (const c of COMMANDS) assert.match(h.out, new RegExp(`^  ${c} `, 'm'));
  assert.equal(witness().code, 2);
  assert.equal(witness('no-such-command').code, 2);
});

test('every command has --help with an example, and the summary --help lists for it', () => {
  const list = witness('--help').out;
  for (const c of COMMANDS) {
    const r = witness(c, '--help');
    assert.equal(r.code, 0, c);
    assert.match(r.out, /usage: /, c);
    assert.match(r.out, /example:\n  witness /, c);
    const summary = new RegExp(`^${c}: (.+)$`, 'm').exec(r.out)?.[1];
    assert.ok(summary, c);
    assert.ok(list.split('\n').some((l) => l.trim() === `${c.padEnd(NAME_WIDTH)}  ${summary}`), `${c}: '${summary}' is not what witness --help says`);
  }
});

test('--version prints the version in package.json', () => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const r = witness('--version');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, `witness ${version}\n`);
});

test('a name that is not a command (even an Object.prototype one) exits 2', () => {
  for (const n of ['toString', 'constructor', '__proto__']) {
    const r = witness(n);
    assert.equal(r.code, 2, n);
    assert.match(r.err, /unknown command/);
  }
});

test('demo --seed: a seed of at least 16 bytes of hex runs the tour; anything else is one line, exit 2', () => {
  const r = witness('demo', '--seed', '000102030405060708090a0b0c0d0e0f10');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /unseal → 32 bytes: "the witness saw everything/);
  assert.match(r.out, /unseal fails with 0x3001/);
  for (const bad of ['00', '000102030405060708090a0b0c0d0e', 'zz0102030405060708090a0b0c0d0e0f', '000102030405060708090a0b0c0d0e0f1', '']) {
    assertBadInput(witness('demo', '--seed', bad), /^witness demo: --seed takes at least 16 bytes of hex/m);
  }
  assertBadInput(witness('run', 'anything.wimg', 'ecall', '--seed', '00'), /--seed takes at least 16 bytes of hex/);
});

test('measure prints the MRENCLAVE of an SGXS stream (public vector)', { skip: existsSync(vectors) ? false : `vectors absent: ${vectors}` }, () => {
  const r = witness('measure', join(vectors, 'test_enclave.sgxs'), '--json');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { mrenclave: '784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc', pages: 9, size: 0x40000 });
  assert.equal(witness('measure', join(vectors, 'test_enclave.sgxs')).out.trim(), '784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc');
});

test('measure refuses a file that is neither an image nor SGXS (exit 2)', () => {
  writeFileSync(join(dir, 'junk.bin'), new Uint8Array(100).fill(7));
  const r = witness('measure', 'junk.bin');
  assert.equal(r.code, 2);
  assert.match(r.err, /neither an enclave image nor a valid SGXS stream/);
});

test('sigstruct: valid vector exits 0 with the JSON fields; a flipped bit exits 1; a non-SIGSTRUCT exits 2', { skip: existsSync(vectors) ? false : `vectors absent: ${vectors}` }, () => {
  const r = witness('sigstruct', join(vectors, 'test_enclave.sig'), '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as Record<string, unknown>;
  assert.equal(j.signatureValid, true);
  assert.equal(j.mrsigner, 'fb4bab3d6036ac1d730fa83d7366df1dd2dfeac194ef335d6854d8a6c6475542');
  assert.equal(j.enclaveHash, '784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc');
  assert.equal(j.isvProdId, 65535);
  assert.equal(j.isvSvn, 0);
  assert.equal(j.attributes, '04000000000000000300000000000000');
  assert.equal(j.xfrm, 3);
  assert.equal(j.miscSelect, 0);
  assert.equal(j.date, 0x20161214);
  assert.equal(j.vendor, 0);
  const bad = new Uint8Array(readFileSync(join(vectors, 'test_enclave.sig')));
  bad[1026]! ^= 1; // ISVSVN: inside the signed bytes
  writeFileSync(join(dir, 'bad.sig'), bad);
  const b = witness('sigstruct', 'bad.sig', '--json');
  assert.equal(b.code, 1);
  assert.equal((JSON.parse(b.out) as { signatureValid: boolean }).signatureValid, false);
  assert.equal(witness('sigstruct', join(vectors, 'sig1.key.pem')).code, 2);
});

test('keygen → build → sign → measure → inspect → run, and two-step signing gives a verifying SIGSTRUCT', () => {
  const k = witness('keygen', '--out', 'k.pem', '--public-out', 'k.pub', '--json');
  assert.equal(k.code, 0, k.err);
  const mrsigner = (JSON.parse(k.out) as { mrsigner: string }).mrsigner;
  const b = witness('build', join(hello, 'enclave.wasm'), '--edl', join(hello, 'hello.edl'), '--out', 'h.wimg', '--json');
  assert.equal(b.code, 0, b.err);
  const mrenclave = (JSON.parse(b.out) as { mrenclave: string }).mrenclave;
  assert.match(mrenclave, /^[0-9a-f]{64}$/);
  const s = witness('sign', '--key', 'k.pem', 'h.wimg', '--out', 'hs.wimg', '--sigstruct-out', 'h.sig', '--json');
  assert.equal(s.code, 0, s.err);
  assert.deepEqual(JSON.parse(s.out), { image: 'hs.wimg', mrenclave, mrsigner });
  assert.equal((JSON.parse(witness('measure', 'hs.wimg', '--json').out) as { mrenclave: string }).mrenclave, mrenclave);
  assert.equal(witness('sigstruct', 'h.sig').code, 0);
  const i = witness('inspect', 'hs.wimg');
  assert.equal(i.code, 0);
  assert.match(i.out, /ECALLs\s+ecall_hello/);
  assert.match(i.out, new RegExp(`MRSIGNER\\s+${mrsigner} \\(signature valid\\)`));
  const r = witness('run', 'hs.wimg', 'ecall_hello', 'world', '-', '64');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /greeting: "Hello, world, from inside the enclave!"/);
  assert.match(r.err, /ocall ocall_print\("the enclave wrote a greeting"\)/);
  // --stats: the leaves of the load and of the call, priced by the cost model.
  const st = witness('run', 'hs.wimg', 'ecall_hello', 'world', '-', '64', '--stats');
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, /^load: ECREATE 1, EADD \d+, EINIT 1, EEXTEND \d+$/m);
  assert.match(st.out, /^call: EENTER 2, EEXIT 2$/m, 'the ECALL and its one OCALL');
  assert.match(st.out, /^  on SGX hardware ≈ 17,200 cycles \(6\.9 µs at 2\.5 GHz\)$/m);
  assert.match(st.out, /unpriced: ECREATE, EADD, EINIT/);
  const sj = JSON.parse(witness('run', 'hs.wimg', 'ecall_hello', 'world', '-', '64', '--stats', '--json').out) as { stats: { call: { counts: Record<string, number>; cycles: number } } };
  assert.deepEqual(sj.stats.call.counts, { EENTER: 2, EEXIT: 2 });
  assert.equal(sj.stats.call.cycles, 17200);
  // Two-step: gendata, sign the 256 bytes elsewhere (node:crypto here), assemble.
  assert.equal(witness('sign', '--gendata', 'h.wimg', '--out', 'data.bin', '--date', '20261126').code, 0);
  const { createSign } = require_crypto();
  const sig = createSign('sha256').update(readFileSync(join(dir, 'data.bin'))).sign(readFileSync(join(dir, 'k.pem'), 'utf8'));
  writeFileSync(join(dir, 'sig.bin'), sig);
  const t = witness('sign', '--signature', 'sig.bin', '--public-key', 'k.pub', '--data', 'data.bin', 'h.wimg', '--out', 'h2.wimg', '--sigstruct-out', 'h2.sig');
  assert.equal(t.code, 0, t.err);
  assert.equal(witness('sigstruct', 'h2.sig').code, 0);
  assert.equal(witness('run', 'h2.wimg', 'ecall_hello', 'two-step', '-', '64').code, 0);
  // The same image through Linux's driver (/dev/sgx_enclave and its ioctls).
  const l = witness('run', 'hs.wimg', 'ecall_hello', 'tux', '-', '64', '--profile', 'linux-sgx1');
  assert.equal(l.code, 0, l.err);
  assert.match(l.out, /greeting: "Hello, tux, from inside the enclave!"/);
  const none = witness('run', 'hs.wimg', 'ecall_hello', 'tux', '-', '64', '--profile', 'linux-nosgx');
  assert.equal(none.code, 1);
  assert.match(none.err, /open \/dev\/sgx_enclave failed: ENOENT \(2\)/);
  // A signature over other data is refused.
  writeFileSync(join(dir, 'sig.bad'), Buffer.from(sig).reverse());
  assert.equal(witness('sign', '--signature', 'sig.bad', '--public-key', 'k.pub', '--data', 'data.bin', 'h.wimg', '--out', 'h3.wimg').code, 1);
});

test('run: an [in, out, string] argument is copied back and printed; an [in, wstring] one goes in', () => {
  const marshal = join(root, 'test/fixtures/marshal');
  assert.equal(witness('keygen', '--out', 'kmarshal.pem').code, 0);
  const b = witness('build', join(marshal, 'enclave.wasm'), '--edl', join(marshal, 'marshal.edl'), '--out', 'm.wimg');
  assert.equal(b.code, 0, b.err);
  assert.equal(witness('sign', '--key', 'kmarshal.pem', 'm.wimg', '--out', 'ms.wimg').code, 0);
  const r = witness('run', 'ms.wimg', 'ecall_inout_string', 'hello, world');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^ecall_inout_string returned 12\n {2}s: "HELLO, WORLD"\n$/);
  const j = witness('run', 'ms.wimg', 'ecall_inout_string', 'ab', '--json');
  assert.equal(j.code, 0, j.err);
  assert.deepEqual(JSON.parse(j.out), { ecall: 'ecall_inout_string', result: 2, out: { s: '414200' } });
  const w = witness('run', 'ms.wimg', 'ecall_in_wstring', 'wide');
  assert.equal(w.code, 0, w.err);
  assert.match(w.out, /^ecall_in_wstring returned \d+\n$/);
});

test('run of an unsigned image fails with a one-line reason', () => {
  witness('build', join(hello, 'enclave.wasm'), '--edl', join(hello, 'hello.edl'), '--out', 'u.wimg');
  const r = witness('run', 'u.wimg', 'ecall_hello', 'x', '-', '8');
  assert.equal(r.code, 1);
  assert.match(r.err, /not signed/);
});

test('platform info reports the profiles like is-sgx-available', () => {
  const a = JSON.parse(witness('platform', 'info', '--json').out) as { cpu: { sgx1: boolean; sgx2: boolean }; epc: { size: number }; windows: { IsEnclaveTypeSupported_SGX: unknown } };
  assert.equal(a.cpu.sgx1, true);
  assert.equal(a.cpu.sgx2, false);
  assert.equal(a.epc.size, 0x5d80000);
  assert.equal(a.windows.IsEnclaveTypeSupported_SGX, true);
  const b = JSON.parse(witness('platform', 'info', '--profile', 'win-x64-sgx2', '--json').out) as { cpu: { sgx2: boolean } };
  assert.equal(b.cpu.sgx2, true);
  const c = JSON.parse(witness('platform', 'info', '--profile', 'win-x64-nosgx', '--json').out) as { windows: { IsEnclaveTypeSupported_SGX: unknown } };
  assert.equal(c.windows.IsEnclaveTypeSupported_SGX, 'FALSE (error 50)');
  assert.equal(witness('platform', 'info', '--profile', 'win-nothing').code, 2);
  const l = JSON.parse(witness('platform', 'info', '--profile', 'linux-sgx2', '--json').out) as { cpu: { sgx2: boolean; flexibleLaunchControl: boolean }; linux: { devSgxEnclave: unknown; vdsoSgxEnterEnclave: boolean; sgx2Ioctls: boolean } };
  assert.deepEqual([l.cpu.sgx2, l.cpu.flexibleLaunchControl], [true, true]);
  assert.deepEqual(l.linux, { devSgxEnclave: true, vdsoSgxEnterEnclave: true, sgx2Ioctls: true });
  const n = JSON.parse(witness('platform', 'info', '--profile', 'linux-nosgx', '--json').out) as { linux: { devSgxEnclave: unknown; vdsoSgxEnterEnclave: boolean } };
  assert.deepEqual(n.linux, { devSgxEnclave: 'absent (ENOENT (2))', vdsoSgxEnterEnclave: false, sgx2Ioctls: false });
  assert.match(witness('platform', 'info', '--profile', 'linux-sgx1').out, /SGX2 ioctls and EAUG on fault no \(ENODEV\)/);
});

test('demo runs to the end, shows the three memory views and exits 0', () => {
  const r = witness('demo');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /the kernel's view  : f{64}/);
  assert.match(r.out, /the enclave's view : "the witness saw everything/);
  assert.match(r.out, /the DRAM view      : [0-9a-f]{64}/);
  assert.doesNotMatch(r.out.match(/the DRAM view {6}: ([0-9a-f]+)/)![1]!, /^7468652077/); // not the plaintext
  assert.match(r.out, /unseal → 32 bytes: "the witness saw everything/);
  assert.match(r.out, /unseal fails with 0x3001/);
  assert.match(r.out, /verify → valid/);
  // The shield: the notes program's output, the host's ciphertext, the refused change.
  assert.match(r.out, /^ +1\. meet at noon$/m);
  assert.match(r.out, /^ {5}my notes: 1 note$/m);
  assert.match(r.out, /the host holds notes\.txt as \d+ bytes of sgx_sealed_data_t \(no plaintext\); its log: "a note was added\\n"/);
  assert.match(r.out, /the host changed one byte: exit 1; the shield refused it: encrypted file notes\.txt does not open/);
  assert.match(r.out, /MRENCLAVE [0-9a-f]{64}/);
});

test('attack --json: every attack is blocked (leaked and modified false), exit 0; also on Linux; a profile with no enclaves is refused', () => {
  const l = witness('attack', '--profile', 'linux-sgx1', '--only', 'host-read-enclave', '--json');
  assert.equal(l.code, 0, l.err);
  assert.equal((JSON.parse(l.out) as unknown[]).length, 1);
  const n = witness('attack', '--profile', 'linux-nosgx');
  assert.equal(n.code, 2);
  assert.match(n.err, /need a profile that runs enclaves/);
  const r = witness('attack', '--json');
  assert.equal(r.code, 0, r.err);
  const a = JSON.parse(r.out) as { name: string; blockedBy: string; leaked: boolean; modified: boolean }[];
  assert.ok(a.length >= 18);
  for (const x of a) {
    assert.equal(typeof x.name, 'string');
    assert.ok(x.blockedBy.length > 0);
    assert.equal(x.leaked, false, x.name);
    assert.equal(x.modified, false, x.name);
  }
});

/** A key pair and an unsigned hello image in the test directory, made once. */
let made = false;
function keyAndImage(): { key: string; pub: string; image: string } {
  if (!made) {
    assert.equal(witness('keygen', '--out', 'fk.pem', '--public-out', 'fk.pub').code, 0);
    assert.equal(witness('build', join(hello, 'enclave.wasm'), '--edl', join(hello, 'hello.edl'), '--out', 'f.wimg').code, 0);
    made = true;
  }
  return { key: 'fk.pem', pub: 'fk.pub', image: 'f.wimg' };
}

/** A one-line message on stderr (no stack trace), exit 2. */
function assertBadInput(r: { code: number; out: string; err: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, message);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

test('a missing input file is one line, exit 2: sign --key, --public-key, --data, --signature, build --config/--edl', () => {
  const { image, pub, key } = keyAndImage();
  assert.equal(witness('sign', '--gendata', image, '--out', 'fdata.bin').code, 0);
  writeFileSync(join(dir, 'fsig.bin'), new Uint8Array(384));
  assertBadInput(witness('sign', '--key', 'missing.pem', image), /^witness sign: cannot read missing\.pem: no such file or directory$/m);
  assertBadInput(witness('sign', '--signature', 'fsig.bin', '--public-key', 'missing.pub', '--data', 'fdata.bin', image), /cannot read missing\.pub: no such file or directory/);
  assertBadInput(witness('sign', '--signature', 'fsig.bin', '--public-key', pub, '--data', 'missing.bin', image), /cannot read missing\.bin/);
  assertBadInput(witness('sign', '--signature', 'missing.sig', '--public-key', pub, '--data', 'fdata.bin', image), /cannot read missing\.sig/);
  assertBadInput(witness('sign', '--key', key, 'missing.wimg'), /cannot read missing\.wimg/);
  assertBadInput(witness('build', join(hello, 'enclave.wasm'), '--edl', 'missing.edl', '--out', 'x.wimg'), /cannot read missing\.edl: no such file or directory/);
  assertBadInput(witness('build', join(hello, 'enclave.wasm'), '--edl', join(hello, 'hello.edl'), '--config', 'missing.json', '--out', 'x.wimg'), /cannot read missing\.json/);
  for (const [name, text] of [['null.json', 'null'], ['array.json', '[1, 2]'], ['number.json', '42']]) {
    writeFileSync(join(dir, name), text);
    assertBadInput(witness('build', join(hello, 'enclave.wasm'), '--edl', join(hello, 'hello.edl'), '--config', name, '--out', 'x.wimg'), new RegExp(`${name.replace('.', '\\.')} does not hold a JSON object`));
  }
  assert.equal(existsSync(join(dir, 'x.wimg')), false);
  assertBadInput(witness('edl', dir), /cannot read .*: is a directory/);
});

test('an output path in a missing folder is one line, exit 2: build, sign, keygen, edl --c-header/--ts/--as', () => {
  const { image, key } = keyAndImage();
  const edl = join(hello, 'hello.edl');
  assertBadInput(witness('build', join(hello, 'enclave.wasm'), '--edl', edl, '--out', 'nodir/x.wimg'), /^witness build: cannot write nodir\/x\.wimg: no such file or directory$/m);
  assertBadInput(witness('sign', '--key', key, image, '--out', 'nodir/s.wimg'), /cannot write nodir\/s\.wimg/);
  assertBadInput(witness('sign', '--key', key, image, '--out', 'fs.wimg', '--sigstruct-out', 'nodir/s.sig'), /cannot write nodir\/s\.sig/);
  assertBadInput(witness('sign', '--gendata', image, '--out', 'nodir/d.bin'), /cannot write nodir\/d\.bin/);
  assertBadInput(witness('keygen', '--out', 'nodir/k.pem'), /cannot write nodir\/k\.pem/);
  assertBadInput(witness('edl', edl, '--c-header', 'nodir/h.h'), /cannot write nodir\/h\.h/);
  assertBadInput(witness('edl', edl, '--ts', 'nodir/h.ts'), /cannot write nodir\/h\.ts/);
  assertBadInput(witness('edl', edl, '--as', 'nodir/h.as.ts'), /cannot write nodir\/h\.as\.ts/);
  assert.equal(existsSync(join(dir, 'nodir')), false);
});

const marshal = join(root, 'test/fixtures/marshal');
let marshalImage = '';
/** The marshal test enclave (scalars of every type), built and signed once. */
function signedMarshal(): string {
  if (!marshalImage) {
    const { key } = keyAndImage();
    assert.equal(witness('build', join(marshal, 'enclave.wasm'), '--edl', join(marshal, 'marshal.edl'), '--out', 'm.wimg').code, 0);
    assert.equal(witness('sign', '--key', key, 'm.wimg', '--out', 'ms.wimg').code, 0);
    marshalImage = 'ms.wimg';
  }
  return marshalImage;
}

test('run: value arguments are checked against their type (decimal or 0x, in range); negative numbers need no --', () => {
  const image = signedMarshal();
  const ok: [string, string, string | number][] = [
    ['ecall_ret_u32', '0xffffffff', 4294967295],
    ['ecall_ret_u32', '0', 0],
    ['ecall_ret_i8', '-128', -128],
    ['ecall_ret_i8', '0x7f', 127],
    ['ecall_ret_u16', '65535', 65535],
    ['ecall_ret_i64', '-9223372036854775808', '-9223372036854775808'],
    ['ecall_ret_u64', '0xffffffffffffffff', '18446744073709551615'],
    ['ecall_ret_i32', '-0x10', -16],
    ['ecall_ret_f64', '-1.5e3', -1500],
    ['ecall_ret_f32', '0.5', 0.5],
    ['ecall_ret_size', '4294967295', 4294967295],
  ];
  for (const [ecall, arg, want] of ok) {
    const r = witness('run', image, ecall, arg, '--json');
    assert.equal(r.code, 0, `${ecall} ${arg}: ${r.err}`);
    assert.equal((JSON.parse(r.out) as { result: unknown }).result, want, `${ecall} ${arg}`);
  }
  const bad: [string, string, RegExp][] = [
    ['ecall_ret_u32', 'abc', /v: "abc" is not an unsigned 32-bit integer \(0 to 4294967295/],
    ['ecall_ret_u32', '1.5', /"1\.5" is not an unsigned 32-bit integer/],
    ['ecall_ret_u32', '4294967296', /"4294967296" is not an unsigned 32-bit/],
    ['ecall_ret_u32', '-1', /"-1" is not an unsigned 32-bit/],
    ['ecall_ret_i8', '128', /not a signed 8-bit integer \(-128 to 127/],
    ['ecall_ret_i8', '-129', /"-129" is not a signed 8-bit/],
    ['ecall_ret_i64', 'abc', /"abc" is not a signed 64-bit integer/],
    ['ecall_ret_i64', '1.5', /"1\.5" is not a signed 64-bit integer/],
    ['ecall_ret_i64', '9223372036854775808', /is not a signed 64-bit integer/],
    ['ecall_ret_u64', '0x1ffffffffffffffff', /is not an unsigned 64-bit integer/],
    ['ecall_ret_i32', '1e3', /"1e3" is not a signed 32-bit integer/],
    ['ecall_ret_i32', '', /"" is not a signed 32-bit integer/],
    ['ecall_ret_f64', 'abc', /"abc" is not a double/],
    ['ecall_ret_f64', 'Infinity', /"Infinity" is not a double/],
    ['ecall_ret_f32', '1e39', /"1e39" is not a float .*out of range/],
  ];
  for (const [ecall, arg, message] of bad) assertBadInput(witness('run', image, ecall, arg), message);
});

test('sign --key with a public key (or a non-key) is RSA_KEY_INVALID, one line, exit 2; the provider throws LibError', () => {
  const { image, pub } = keyAndImage();
  assertBadInput(witness('sign', '--key', pub, image, '--out', 'never.wimg'), /^witness sign: not a readable RSA private key in PEM form \(a public key cannot sign\) \[RSA_KEY_INVALID\]$/m);
  writeFileSync(join(dir, 'junk.pem'), 'not a key at all');
  assertBadInput(witness('sign', '--key', 'junk.pem', image, '--out', 'never.wimg'), /\[RSA_KEY_INVALID\]/);
  assert.equal(existsSync(join(dir, 'never.wimg')), false);
  const crypto = lib.defaultCrypto();
  const pem = readFileSync(join(dir, pub), 'utf8');
  assert.throws(() => crypto.rsaSignSha256(pem, new Uint8Array(32)), (e: unknown) => e instanceof lib.LibError && e.code === 'RSA_KEY_INVALID');
  const ec = cryptoModule.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.throws(() => crypto.rsaSignSha256(ec, new Uint8Array(32)), (e: unknown) => e instanceof lib.LibError && e.code === 'RSA_KEY_INVALID' && /not an RSA private key: ec/.test(e.message));
});

test('attack --only: runs exactly the named attacks; an unknown name is refused with the valid ones listed, exit 2', () => {
  const r = witness('attack', '--json', '--only', 'kernel-read-epc', '--only', 'dma-read');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual((JSON.parse(r.out) as { name: string }[]).map((a) => a.name), ['kernel-read-epc', 'dma-read']);
  const bad = witness('attack', '--only', 'kernel-read-epc', '--only', 'kernel-reed-epc');
  assertBadInput(bad, /^witness attack: unknown attack kernel-reed-epc \(the attacks: kernel-read-epc, .*dma-read.*\)$/m);
  assert.equal(bad.out, '');
});

test('keygen: an existing key is not replaced (exit 2, file and mode untouched); --force replaces it with mode 0600', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, () => {
  const key = join(dir, 'kx.pem'), pub = join(dir, 'kx.pub');
  writeFileSync(key, 'old key');
  chmodSync(key, 0o644);
  assertBadInput(witness('keygen', '--out', 'kx.pem'), /^witness keygen: kx\.pem already exists; --force replaces it$/m);
  assert.equal(readFileSync(key, 'utf8'), 'old key');
  assert.equal(statSync(key).mode & 0o777, 0o644);
  // An existing public key blocks too, before anything is written.
  writeFileSync(pub, 'old pub');
  assertBadInput(witness('keygen', '--out', 'kfresh.pem', '--public-out', 'kx.pub'), /kx\.pub already exists/);
  assert.equal(existsSync(join(dir, 'kfresh.pem')), false);
  const r = witness('keygen', '--out', 'kx.pem', '--public-out', 'kx.pub', '--force', '--json');
  assert.equal(r.code, 0, r.err);
  assert.match(readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.match(readFileSync(pub, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  const { mrsigner } = JSON.parse(r.out) as { mrsigner: string };
  const modulus = Buffer.from(cryptoModule.createPublicKey(readFileSync(pub, 'utf8')).export({ format: 'jwk' }).n!, 'base64url');
  assert.equal(mrsigner, cryptoModule.createHash('sha256').update(modulus.reverse()).digest('hex'));
  const fresh = witness('keygen', '--out', 'knew.pem');
  assert.equal(fresh.code, 0, fresh.err);
  assert.equal(statSync(join(dir, 'knew.pem')).mode & 0o777, 0o600);
});

test('outputs are all or none: a failing second output leaves no first one; one file named twice is refused', () => {
  const { key, image } = keyAndImage();
  // keygen: the public key cannot be written, so the private key is not left behind either.
  assertBadInput(witness('keygen', '--out', 'k2.pem', '--public-out', join('nodir', 'k2.pub')), /cannot write nodir\/k2\.pub/);
  assert.equal(existsSync(join(dir, 'k2.pem')), false);
  // keygen: one file under two names would have ended up holding the public key.
  assertBadInput(witness('keygen', '--out', 'k3.pem', '--public-out', './k3.pem', '--force'), /k3\.pem and \.\/k3\.pem name the same file/);
  assert.equal(existsSync(join(dir, 'k3.pem')), false);
  // sign: the image is not written when the SIGSTRUCT cannot be, nor when both name one file.
  assertBadInput(witness('sign', '--key', key, image, '--out', 's2.wimg', '--sigstruct-out', join('nodir', 'x.sig')), /cannot write nodir\/x\.sig/);
  assert.equal(existsSync(join(dir, 's2.wimg')), false);
  assertBadInput(witness('sign', '--key', key, image, '--out', 'q.wimg', '--sigstruct-out', 'q.wimg'), /name the same file/);
  assert.equal(existsSync(join(dir, 'q.wimg')), false);
  // edl: no header without the bindings that failed.
  assertBadInput(witness('edl', join(hello, 'hello.edl'), '--c-header', 'x.h', '--ts', join('nodir', 'x.ts')), /cannot write nodir\/x\.ts/);
  assert.equal(existsSync(join(dir, 'x.h')), false);
});

test('MRSIGNER is the same from keygen, sign, inspect --json and sigstruct (arch mrsignerOf and mrsignerOfModulus)', () => {
  const { image } = keyAndImage();
  const k = witness('keygen', '--out', 'km.pem', '--json');
  assert.equal(k.code, 0, k.err);
  const { mrsigner } = JSON.parse(k.out) as { mrsigner: string };
  const s = witness('sign', '--key', 'km.pem', image, '--out', 'km.wimg', '--sigstruct-out', 'km.sig', '--json');
  assert.equal(s.code, 0, s.err);
  assert.equal((JSON.parse(s.out) as { mrsigner: string }).mrsigner, mrsigner);
  const i = JSON.parse(witness('inspect', 'km.wimg', '--json').out) as { signed: boolean; mrsigner: string };
  assert.deepEqual([i.signed, i.mrsigner], [true, mrsigner]);
  assert.equal((JSON.parse(witness('sigstruct', 'km.sig', '--json').out) as { mrsigner: string }).mrsigner, mrsigner);
});

test('exit codes are the same for the same kind of problem in every command: bad input 2, a negative answer 1', () => {
  const { image, key, pub } = keyAndImage();
  const edl = join(hello, 'hello.edl');
  // Bad input: a module that is not WebAssembly, an image that is not an image, an EDL with an error.
  writeFileSync(join(dir, 'notwasm.wasm'), 'this is not wasm');
  assertBadInput(witness('build', 'notwasm.wasm', '--edl', edl, '--out', 'x.wimg'), /\[[A-Z_]+\]$/m);
  writeFileSync(join(dir, 'corrupt.wimg'), new Uint8Array(64).fill(9));
  for (const args of [['sign', '--key', key, 'corrupt.wimg'], ['run', 'corrupt.wimg', 'ecall_hello'], ['measure', 'corrupt.wimg'], ['inspect', 'corrupt.wimg', '--as', 'IMAGE']]) {
    assert.equal(witness(...args).code, 2, args.join(' '));
  }
  writeFileSync(join(dir, 'broken.edl'), 'enclave { trusted { public int f(; }; };');
  assertBadInput(witness('build', join(hello, 'enclave.wasm'), '--edl', 'broken.edl', '--out', 'x.wimg'), /^witness build: broken\.edl:1:\d+: .* \[EDL_[A-Z_]+\]$/m);
  // An unreadable EDL is 2 in both build and edl.
  assert.equal(witness('build', join(hello, 'enclave.wasm'), '--edl', 'absent.edl', '--out', 'x.wimg').code, 2);
  assert.equal(witness('edl', 'absent.edl').code, 2);
  // `witness edl` answers "is this EDL valid?": no is 1, printed as a compiler would.
  const e = witness('edl', 'broken.edl');
  assert.equal(e.code, 1);
  assert.match(e.err, /^broken\.edl:1:\d+: /);
  // Two-step signing with the data of another enclave is bad input; a signature that does not verify is the negative answer.
  const other = signedMarshal().replace('ms.', 'm.');
  assert.equal(witness('sign', '--gendata', other, '--out', 'other.bin').code, 0);
  writeFileSync(join(dir, 'zero.sig'), new Uint8Array(384));
  assertBadInput(witness('sign', '--signature', 'zero.sig', '--public-key', pub, '--data', 'other.bin', image), /the signed data is for another enclave/);
  assert.equal(witness('sign', '--gendata', image, '--out', 'mine.bin').code, 0);
  const bad = witness('sign', '--signature', 'zero.sig', '--public-key', pub, '--data', 'mine.bin', image, '--out', 'never2.wimg');
  assert.equal(bad.code, 1, bad.err);
  assert.match(bad.err, /\[SIGN_BAD_SIGNATURE\]$/m);
  // run: the platform refusing the enclave, or the ECALL failing, is the negative answer.
  assert.match(witness('run', image, 'ecall_hello', 'x', '-', '8').err, /not signed.*\[NOT_SIGNED\]/);
  assert.equal(witness('run', image, 'ecall_hello', 'x', '-', '8').code, 1);
  const crash = witness('run', signedMarshal(), 'ecall_user_check', '0x1000', '4');
  assert.equal(crash.code, 1, crash.err);
  assert.match(crash.err, /^witness run: ecall_user_check .*\[[A-Z_]+\]$/m);
});

test('inspect: sealed data is recognised only when its header lengths match the file; --as names the valid kinds', () => {
  const kinds = /\(one of IMAGE, SGXS, SEALED, .*SIGSTRUCT.*REPORT.*TARGETINFO.*KEYREQUEST.*\)/;
  // A WebAssembly module (12 KiB) is not sealed data.
  assertBadInput(witness('inspect', join(hello, 'enclave.wasm')), new RegExp(`^witness inspect: cannot tell what .*enclave\\.wasm is \\(\\d+ bytes\\); name it with --as ${kinds.source}$`, 'm'));
  writeFileSync(join(dir, 'random.bin'), new Uint8Array(600).fill(0x41));
  assertBadInput(witness('inspect', 'random.bin'), /cannot tell what random\.bin is \(600 bytes\)/);
  // A header that agrees with the file: 16 bytes of text and 4 of MAC text after the 560-byte header.
  const blob = new Uint8Array(560 + 20);
  const v = new DataView(blob.buffer);
  v.setUint32(512, 16, true);
  v.setUint32(528, 20, true);
  writeFileSync(join(dir, 'sealed.bin'), blob);
  const r = witness('inspect', 'sealed.bin', '--json');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out) as { kind: string; textLength: number; aadLength: number };
  assert.deepEqual([j.kind, j.textLength, j.aadLength], ['sealed', 16, 4]);
  // One byte more and the lengths no longer agree.
  writeFileSync(join(dir, 'sealed+1.bin'), new Uint8Array([...blob, 0]));
  assertBadInput(witness('inspect', 'sealed+1.bin'), /cannot tell what sealed\+1\.bin is/);
  assertBadInput(witness('inspect', 'sealed+1.bin', '--as', 'SEALED'), /lengths are inconsistent \[SEALED_INVALID\]/);
  // --as: an unknown kind lists the valid ones; a known one is case-insensitive and checked for length.
  assertBadInput(witness('inspect', 'sealed.bin', '--as', 'bogus'), new RegExp(`^witness inspect: unknown kind bogus for --as ${kinds.source}$`, 'm'));
  assertBadInput(witness('inspect', 'sealed.bin', '--as', 'report'), /REPORT has 432 bytes, sealed\.bin has 580/);
  const short = witness('inspect', 'sealed.bin', '--as', 'sigstruct');
  assertBadInput(short, /SIGSTRUCT has 1808 bytes, sealed\.bin has 580/);
  assert.equal(short.out, '', 'nothing printed before the refusal');
  writeFileSync(join(dir, 'ti.bin'), new Uint8Array(512));
  const t = witness('inspect', 'ti.bin', '--as', 'targetinfo', '--json');
  assert.equal(t.code, 0, t.err);
  assert.equal((JSON.parse(t.out) as { kind: string }).kind, 'TARGETINFO');
});

/** Write `to` (in the test folder): the image `from` as `edit` changes it. */
function editImage(from: string, to: string, edit: (img: EnclaveImage) => EnclaveImage): string {
  writeFileSync(join(dir, to), encodeImage(edit(decodeImage(new Uint8Array(readFileSync(join(dir, from)))))));
  return to;
}

/** The image's SGXS with one byte of its first measured (EEXTEND) chunk flipped; the manifest is left as it was. */
function tamperedSgxs(img: EnclaveImage): Uint8Array {
  const sgxs = img.sgxs.slice();
  sgxs[Buffer.from(sgxs).indexOf('EEXTEND\0') + 64 + 10]! ^= 0xff;
  return sgxs;
}

test('sign and sign --gendata measure the pages: SGXS that disagrees with the manifest is MANIFEST_MISMATCH, exit 2, nothing written', () => {
  const { image, key } = keyAndImage();
  const t = editImage(image, 'tampered.wimg', (img) => ({ ...img, sgxs: tamperedSgxs(img) }));
  const measured = witness('measure', t).out.trim();
  assert.notEqual(measured, decodeImage(new Uint8Array(readFileSync(join(dir, t)))).manifest.mrenclave);
  assertBadInput(witness('sign', '--key', key, t, '--out', 'tampered.signed.wimg', '--sigstruct-out', 'tampered.sig'), new RegExp(`MRENCLAVE [0-9a-f]{64} in the manifest, ${measured} measured from the pages \\[MANIFEST_MISMATCH\\]$`, 'm'));
  assertBadInput(witness('sign', '--gendata', t, '--out', 'tampered.bin'), /\[MANIFEST_MISMATCH\]$/m);
  for (const f of ['tampered.signed.wimg', 'tampered.sig', 'tampered.bin']) assert.equal(existsSync(join(dir, f)), false, f);
});

test('two-step signing takes only DATE from the signed data (sgx_sign catsig): any other difference is exit 2; the signature has 384 bytes', () => {
  const { image, key, pub } = keyAndImage();
  assert.equal(witness('sign', '--gendata', image, '--out', 'cat.bin', '--date', '20260101').code, 0);
  const data = new Uint8Array(readFileSync(join(dir, 'cat.bin')));
  const signed = (name: string, patch: (d: Uint8Array) => void): string => {
    const d = data.slice();
    patch(d);
    writeFileSync(join(dir, `${name}.bin`), d);
    writeFileSync(join(dir, `${name}.sig`), require_crypto().sign('sha256', d, readFileSync(join(dir, key), 'utf8')));
    return name;
  };
  // Signed-data offsets: SIGSTRUCT[0,128) then SIGSTRUCT[900,1028) at 128.
  const cases: [string, (d: Uint8Array) => void][] = [
    ['HEADER', (d) => lib.writeU32le(d, 12, 0x80000000)],
    ['VENDOR', (d) => lib.writeU32le(d, 16, 0x8086)],
    ['HEADER2', (d) => { d[24] = 2; }],
    ['ISVFAMILYID', (d) => { d[140] = 1; }],
    ['ATTRIBUTES.FLAGS', (d) => { d[156] = 6; }],
    ['ISVPRODID', (d) => { d[252] = 7; }],
  ];
  for (const [field, patch] of cases) {
    const n = signed(`cat-${field}`, patch);
    const r = witness('sign', '--signature', `${n}.sig`, '--public-key', pub, '--data', `${n}.bin`, image, '--out', `${n}.wimg`, '--sigstruct-out', `${n}.ss`);
    assertBadInput(r, new RegExp(`^witness sign: the signed data differs from what the image and its configuration give, in ${field.replace('.', '\\.')} \\(only DATE is taken from it\\)$`, 'm'));
    assert.equal(existsSync(join(dir, `${n}.wimg`)) || existsSync(join(dir, `${n}.ss`)), false, field);
  }
  // Another DATE is taken as it is.
  const date = signed('cat-date', (d) => lib.writeU32le(d, 20, 0x20270202));
  const ok = witness('sign', '--signature', `${date}.sig`, '--public-key', pub, '--data', `${date}.bin`, image, '--out', 'cat-date.wimg', '--sigstruct-out', 'cat-date.ss');
  assert.equal(ok.code, 0, ok.err);
  const ss = witness('sigstruct', 'cat-date.ss', '--json');
  assert.equal(ss.code, 0, ss.out);
  assert.equal((JSON.parse(ss.out) as { date: number }).date, 0x20270202);
  // A signature file of another length, even one whose last 384 bytes are the signature.
  const sig = new Uint8Array(readFileSync(join(dir, 'cat-date.sig')));
  for (const [name, bytes] of [['empty', new Uint8Array(0)], ['short', sig.subarray(1)], ['long', new Uint8Array([...sig, 0])], ['padded', new Uint8Array([...new Uint8Array(616), ...sig])]] as const) {
    writeFileSync(join(dir, `cat-${name}.sig`), bytes);
    assertBadInput(witness('sign', '--signature', `cat-${name}.sig`, '--public-key', pub, '--data', `${date}.bin`, image, '--out', `cat-${name}.wimg`), new RegExp(`cat-${name}\\.sig has ${bytes.length} bytes, an RSA-3072 signature has 384$`, 'm'));
    assert.equal(existsSync(join(dir, `cat-${name}.wimg`)), false, name);
  }
});

test('sigstruct exits 1 for a SIGSTRUCT EINIT refuses for its format (EXPONENT, reserved bytes) though its signature verifies', () => {
  const { image, key } = keyAndImage();
  assert.equal(witness('sign', '--key', key, image, '--out', 'fmt.wimg', '--sigstruct-out', 'fmt.sig').code, 0);
  const s = new Uint8Array(readFileSync(join(dir, 'fmt.sig')));
  // Neither field is signed: EXPONENT 3 → 0x10003, a reserved byte → 0xff.
  const variants: [string, number, RegExp][] = [['exp', 514, /EXPONENT 65539 is not 3/], ['reserved', 1030, /reserved bytes 1028\.\.1039 are not zero/]];
  for (const [name, at, why] of variants) {
    const b = s.slice();
    b[at] = name === 'exp' ? 1 : 0xff;
    writeFileSync(join(dir, `fmt-${name}.sig`), b);
    const r = witness('sigstruct', `fmt-${name}.sig`);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /signature {6}valid\n/);
    assert.match(r.out, new RegExp(`format {9}INVALID: ${why.source}`));
    const j = witness('sigstruct', `fmt-${name}.sig`, '--json');
    assert.equal(j.code, 1);
    assert.deepEqual((({ signatureValid, formatValid }) => [signatureValid, formatValid])(JSON.parse(j.out) as { signatureValid: boolean; formatValid: boolean }), [true, false]);
  }
  assert.equal(witness('sigstruct', 'fmt.sig').code, 0);
});

test('a manifest nested 20,000 levels deep, or with a key the format does not define, is IMAGE_INVALID in every command, exit 2', () => {
  const { image, key } = keyAndImage();
  assert.equal(witness('sign', '--key', key, image, '--out', 'deep0.wimg').code, 0);
  const img = decodeImage(new Uint8Array(readFileSync(join(dir, 'deep0.wimg'))));
  // Written by hand: JSON.stringify cannot encode such a value.
  const container = (manifest: string): Uint8Array => {
    const parts: [string, Uint8Array][] = [['MANIFEST', new TextEncoder().encode(manifest)], ['SGXS\0\0\0\0', img.sgxs], ['SIGSTRCT', img.sigstruct!]];
    const b = new Uint8Array(20 + parts.reduce((n, [, d]) => n + 16 + d.length, 0));
    b.set(new TextEncoder().encode('WITNESS IMAGE v1'));
    lib.writeU32le(b, 16, parts.length);
    let o = 20;
    for (const [tag, d] of parts) {
      b.set(new TextEncoder().encode(tag), o);
      lib.writeU64le(b, o + 8, d.length);
      b.set(d, o + 16);
      o += 16 + d.length;
    }
    return b;
  };
  const m = JSON.stringify(img.manifest);
  const layout = JSON.stringify(img.manifest.layout);
  const cases: [string, string, RegExp][] = [
    ['deep.wimg', m.replace(/}$/, `,"x":${'['.repeat(20000)}${']'.repeat(20000)}}`), /nests deeper than the format's 8 levels/],
    ['deepif.wimg', m.replace(',"interface":{"trusted"', `,"interface":{"x":${'['.repeat(20000)}${']'.repeat(20000)},"trusted"`), /nests deeper than the format's 8 levels/],
    ['extra.wimg', m.replace(/}$/, ',"x":1}'), /top level has a key the format does not define: "x"/],
    ['extralayout.wimg', m.replace(layout, layout.replace(/}$/, ',"x":1}')), /layout has a key the format does not define: "x"/],
  ];
  for (const [file, manifest, why] of cases) {
    writeFileSync(join(dir, file), container(manifest));
    for (const args of [['sign', '--key', key, file, '--out', `${file}.signed`], ['sign', '--gendata', file, '--out', `${file}.bin`], ['inspect', file], ['run', file, 'ecall_hello', 'x', '-', '8'], ['measure', file]]) {
      assertBadInput(witness(...args), why);
    }
    assert.equal(existsSync(join(dir, `${file}.signed`)) || existsSync(join(dir, `${file}.bin`)), false, file);
  }
});

test('a public key PEM after a line of text that says PRIVATE is read as the public key it is', () => {
  const { image, key, pub } = keyAndImage();
  assert.equal(witness('sign', '--gendata', image, '--out', 'pk.bin').code, 0);
  writeFileSync(join(dir, 'pk.sig'), require_crypto().sign('sha256', readFileSync(join(dir, 'pk.bin')), readFileSync(join(dir, key), 'utf8')));
  writeFileSync(join(dir, 'pk.pub'), `Public half of our PRIVATE signing key (HSM slot 3)\n${readFileSync(join(dir, pub), 'utf8')}`);
  const r = witness('sign', '--signature', 'pk.sig', '--public-key', 'pk.pub', '--data', 'pk.bin', image, '--out', 'pk.wimg');
  assert.equal(r.code, 0, r.err);
  // A private key is still read for its public half, whatever text comes before it.
  writeFileSync(join(dir, 'pk.priv'), `a comment\n${readFileSync(join(dir, key), 'utf8')}`);
  assert.equal(witness('sign', '--signature', 'pk.sig', '--public-key', 'pk.priv', '--data', 'pk.bin', image, '--out', 'pk2.wimg').code, 0);
});

test('an image of the wrong shape is bad input (exit 2) in sign and run alike; the platform refusing a well-formed one is 1', () => {
  const { image, key } = keyAndImage();
  assert.equal(witness('sign', '--key', key, image, '--out', 'shape.wimg').code, 0);
  const badConfig = editImage('shape.wimg', 'shape-config.wimg', (img) => ({ ...img, manifest: { ...img.manifest, config: { ...img.manifest.config, isvProdId: 'x' as unknown as number } } }));
  assertBadInput(witness('sign', '--key', key, badConfig, '--out', 'never.wimg'), /\[CONFIG_INVALID\]$/m);
  assertBadInput(witness('run', badConfig, 'ecall_hello', 'x', '-', '8'), /configuration is invalid.*\[CONFIG_INVALID\]$/m);
  const badPages = editImage('shape.wimg', 'shape-pages.wimg', (img) => ({ ...img, manifest: { ...img.manifest, layout: { ...img.manifest.layout, pages: 1 } } }));
  assertBadInput(witness('run', badPages, 'ecall_hello', 'x', '-', '8'), /disagrees with its measured contents.*\[MANIFEST_MISMATCH\]$/m);
  // Pages changed after signing, the manifest and SIGSTRUCT kept: EINIT measures and refuses.
  const tampered = editImage('shape.wimg', 'shape-tampered.wimg', (img) => ({ ...img, sgxs: tamperedSgxs(img) }));
  const r = witness('run', tampered, 'ecall_hello', 'x', '-', '8');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /SGX_INVALID_MEASUREMENT.*\[INIT_FAILED\]$/m);
});

function require_crypto(): typeof import('node:crypto') {
  return cryptoModule;
}
import * as cryptoModule from 'node:crypto';
