/**
 * The examples: each host program (compiled to dist/examples/<name>/host.js) runs in its own Node
 * process against its committed enclave module and must exit 0 and print what the scenario shows.
 * (scripts/build-examples.sh checks that the committed modules are what their sources build.)
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWasmModule } from '../src/sdk/wasm.js';
import { checkModuleImports } from '../src/sdk/enclave/imports.js';
import { planInterface, canonicalInterface } from '../src/sdk/interface.js';
import { resolveEdl } from '../src/sdk/edl/index.js';

// This file runs as dist/test/examples.test.js.
const dist = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(dist, '..');

/** Run an example's host in its own process; resolves to its standard output once it exited 0. */
async function runHost(name: string): Promise<string> {
  const host = join(dist, 'examples', name, 'host.js');
  assert.ok(existsSync(host), `${host} exists (npx tsc -p .)`);
  const child = spawn(process.execPath, [host], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  assert.equal(code, 0, `${name} exited with ${code} (signal ${signal}):\n${stdout}${stderr}`);
  return stdout;
}

function assertLines(output: string, expected: readonly (string | RegExp)[]): void {
  const lines = output.split('\n');
  for (const e of expected) {
    const found = lines.some((l) => (typeof e === 'string' ? l.includes(e) : e.test(l)));
    assert.ok(found, `expected a line ${typeof e === 'string' ? JSON.stringify(e) : e} in:\n${output}`);
  }
}

describe('examples', { concurrency: true }, () => {
  test('hello', { timeout: 200_000 }, async () => {
    const out = await runHost('hello');
    assertLines(out, ['[ocall] the enclave wrote a greeting', 'Hello, Witness, from inside the enclave!', /^MRENCLAVE [0-9a-f]{64}$/]);
  });

  test('hello-as', { timeout: 200_000 }, async () => {
    const out = await runHost('hello-as');
    assertLines(out, [
      /^MRENCLAVE [0-9a-f]{64}$/,
      '[ocall] greeting #1 written by the AssemblyScript enclave',
      'Hello, Witness, from inside an AssemblyScript enclave!',
      'Hello, AssemblyScript, from inside an AssemblyScript enclave!',
      'truncated to 11 bytes: "Hello, Witn"',
      /^digest of 640 KiB of 0x03 \(round 3\): [0-9a-f]{16}… matches node:crypto$/,
      'hello-as: ok',
    ]);
  });

  test('hello-as: the module imports its memory and only what the interface allows', () => {
    const dir = join(root, 'examples', 'hello-as');
    const code = new Uint8Array(readFileSync(join(dir, 'enclave.wasm')));
    const info = readWasmModule(code);
    assert.equal(info.definedMemories, 0);
    assert.deepEqual(info.imports.map((i) => `${i.module}.${i.name}`).sort(), ['env.memory', 'ocall.ocall_print', 'witness.abort', 'witness.sha256']);
    assert.deepEqual(info.exports.map((e) => e.name).sort(), ['ecall_digest', 'ecall_hello', 'witness_alloc', 'witness_free']);
    const plan = planInterface(canonicalInterface(resolveEdl(join(dir, 'hello.edl'))));
    assert.deepEqual(checkModuleImports(code, plan, 1 << 20), []);
  });

  test('sealing', { timeout: 200_000 }, async () => {
    const out = await runHost('sealing');
    assertLines(out, [
      /MRENCLAVE blob: 593 bytes \(KEYPOLICY 0x0001, ISVSVN 1/,
      /MRSIGNER blob : 614 bytes \(KEYPOLICY 0x0002, ISVSVN 1, .* aad 21 bytes in the clear\)/,
      'E1 unseals the MRENCLAVE blob: ok, text "the vault code is 4-8-15-16-23-42"',
      'E1 unseals the MRSIGNER blob: ok, text "the vault code is 4-8-15-16-23-42", aad "owner=alice; record=7"',
      'E2 unseals the MRSIGNER blob: ok',
      'E2 unseals the MRENCLAVE blob: refused: SGX_ERROR_MAC_MISMATCH',
      "E1' unseals the MRSIGNER blob: refused: SGX_ERROR_MAC_MISMATCH",
      'E1v2 (ISVSVN 2) unseals the MRSIGNER blob sealed at ISVSVN 1: ok',
      'E1 (ISVSVN 1) unseals a blob sealed at ISVSVN 2: refused: SGX_ERROR_INVALID_ISVSVN',
      'a ciphertext bit flipped: refused: SGX_ERROR_MAC_MISMATCH',
      /^an AAD bit flipped .*: refused: SGX_ERROR_MAC_MISMATCH$/,
      'new platform, same seed: MRENCLAVE blob: ok',
      'new platform, same seed: MRSIGNER blob: ok',
      'platform restored from save(): MRSIGNER blob: ok',
      'new platform, another seed: MRENCLAVE blob: refused: SGX_ERROR_MAC_MISMATCH',
      'new platform, another seed: MRSIGNER blob: refused: SGX_ERROR_MAC_MISMATCH',
      'sealing: ok',
    ]);
  });

  test('local-attestation', { timeout: 200_000 }, async () => {
    const out = await runHost('local-attestation');
    assertLines(out, [
      /^Alice: LA_OK, key confirmation [0-9a-f]{16}…$/,
      /^Bob: {3}LA_OK, key confirmation [0-9a-f]{16}…$/,
      'both enclaves derived the same session key',
      'Bob reads: "Bob, the launch window opens at 06:00. - Alice" (LA_OK)',
      'the host replays the record: LA_BAD_MESSAGE',
      "the host flips a bit in Bob's answer: LA_BAD_MESSAGE",
      'Alice reads: "Acknowledged. - Bob" (LA_OK)',
      '   Alice: SGX_ERROR_MAC_MISMATCH',
      '   Alice: LA_KEY_NOT_BOUND',
      '   Alice: LA_WRONG_MRENCLAVE',
      'confirmations equal: true, new key: true',
      'local-attestation: ok',
    ]);
    // Same confirmation on both sides of the first exchange.
    const a = /^Alice: LA_OK, key confirmation ([0-9a-f]{16})…$/m.exec(out)?.[1];
    const b = /^Bob: {3}LA_OK, key confirmation ([0-9a-f]{16})…$/m.exec(out)?.[1];
    assert.ok(a !== undefined && a === b, 'equal key confirmations');
    // Four refusals by Alice in the attacks: two MAC mismatches, one unbound key, two wrong MRENCLAVEs.
    assert.equal(out.split('\n').filter((l) => l === '   Alice: SGX_ERROR_MAC_MISMATCH').length, 2);
    assert.equal(out.split('\n').filter((l) => l === '   Alice: LA_WRONG_MRENCLAVE').length, 2);
  });

  test('remote-attestation', { timeout: 200_000 }, async () => {
    const out = await runHost('remote-attestation');
    assertLines(out, [
      /^quote: \d+ bytes \(sgx_quote_3_t, ECDSA-256-with-P-256, PCK certificate chain inside\)$/,
      /^relying party: accepted: MRENCLAVE [0-9a-f]{16}…, TCB UpToDate, PPID [0-9a-f]{8}…$/,
      "substitutes its own public key for the enclave's: refused: the public key is not the one the enclave bound",
      'changes one byte of the quoted REPORT body: refused: SGX_QL_QV_RESULT_INVALID_SIGNATURE (TCB —)',
      /^sends a quote with collateral from another PCS: refused: /,
      'runs on a platform the manufacturer never made: refused at the PCS: PLATFORM_NOT_ENROLLED',
      'runs on an enrolled platform with an older microcode (lower CPUSVN): refused: SGX_QL_QV_RESULT_OUT_OF_DATE (TCB OutOfDate)',
      'remote-attestation: ok',
    ]);
  });

  test('shield', { timeout: 200_000 }, async () => {
    const out = await runHost('shield');
    assertLines(out, [
      /^ {2}\$ notes add buy milk {3}\(MRENCLAVE [0-9a-f]{16}…, exit 0\)$/,
      /^ {4}\(stderr\) notes: I\/O error$/,
      /^ {4}\(stderr\) settings: I\/O error$/,
      '    my notes: 1 note',
      '    my notes: 2 notes',
      '    1. buy milk',
      '    2. call the bank: PIN 4711',
      /^What the host holds: notes\.txt is \d+ bytes of sgx_sealed_data_t; its log says "a note was added\\na note was added\\n"$/,
      /^ {2}\$ notes attest {3}\(MRENCLAVE [0-9a-f]{16}…, exit 0\)$/,
      /^ {4}a quote of \d+ bytes for 2 notes$/,
      '  relying party: accepted: the enclave says "notes: 2"',
      '  the host replays that quote to a new challenge: refused: not an answer to this challenge (a replayed quote)',
      '  the host runs the program signed with its own key, over notes it wrote: refused: not signed by the notes key',
      /^ {4}refused the host's answer \(READ\): encrypted file notes\.txt does not open/,
      /^ {4}refused the host's answer \(READ\): trusted file greeting\.txt does not match its hash in the manifest$/,
      'notes: ok',
    ]);
    // argv is measured: each `notes add …` is an enclave of its own, `notes attest` another (whoever signs it), and every `notes list` is one enclave.
    const ids = [...out.matchAll(/MRENCLAVE ([0-9a-f]{16})…/g)].map((m) => m[1]);
    assert.equal(ids.length, 8);
    assert.equal(new Set(ids.slice(0, 4)).size, 4, 'add, add, list, attest: four enclaves');
    assert.equal(ids[5], ids[3], "the host's own signing of notes attest is the same MRENCLAVE (MRSIGNER tells them apart)");
    assert.deepEqual([ids[6], ids[7]], [ids[2], ids[2]], 'every notes list is one enclave');
  });
});
