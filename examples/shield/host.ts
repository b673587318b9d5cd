/**
 * The shield example's host program: the notes program (program.c, an ordinary WASI command built
 * with plain clang) runs inside an enclave three times, keeping its notes in an encrypted mount,
 * its settings in a trusted mount and a public log in a host mount. Then the host cheats twice: it
 * changes a byte of the stored notes, and it swaps the settings file. Both are refused. Exits
 * non-zero if anything turns out differently.
 * Run: node dist/examples/shield/host.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { createPlatform, buildShieldImage, runShielded, MemoryFileSystem, generateSigningKey, signSigstruct, sigstructFieldsFor, lib, type ShieldManifest, type ShieldRun } from 'witness';

const here = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/shield');
const program = new Uint8Array(readFileSync(join(here, 'program.wasm')));
const crypto = lib.defaultCrypto();
const key = generateSigningKey(crypto);
const enc = new TextEncoder(), dec = new TextDecoder();

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

// The host's storage for the three mounts (in memory here; NodeFileSystem puts a mount in a directory).
const settings = new MemoryFileSystem(), notes = new MemoryFileSystem(), out = new MemoryFileSystem();
const greeting = enc.encode('my notes\n');
settings.files.set('greeting.txt', greeting);

/**
 * The manifest is measured with the program: argv too. `notes add …` and `notes list` are two
 * enclaves (two MRENCLAVEs) by one signer, so the notes are sealed with the MRSIGNER policy.
 */
function manifest(args: string[]): ShieldManifest {
  return {
    args: ['notes', ...args],
    mounts: [
      { path: '/etc/notes', kind: 'trusted', files: { 'greeting.txt': createHash('sha256').update(greeting).digest('hex') } },
      { path: '/data', kind: 'encrypted', keyPolicy: 'mrsigner' },
      { path: '/out', kind: 'host' },
    ],
  };
}

const platform = createPlatform({ seed: enc.encode('the shield example platform 1234') });

function run(args: string[]): ShieldRun {
  const built = buildShieldImage({ program, manifest: manifest(args) });
  const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), key.privateKeyPem, crypto);
  const r = runShielded(platform, built.image, { load: { sigstruct }, mounts: { '/etc/notes': settings, '/data': notes, '/out': out } });
  console.log(`  $ notes ${args.join(' ')}   (MRENCLAVE ${r.mrenclave.slice(0, 16)}…, exit ${r.exitCode})`);
  for (const line of dec.decode(r.stdout).split('\n').filter(Boolean)) console.log(`    ${line}`);
  for (const line of dec.decode(r.stderr).split('\n').filter(Boolean)) console.log(`    (stderr) ${line}`);
  for (const v of r.violations) console.log(`    refused the host's answer (${v.op}): ${v.what}`);
  return r;
}

console.log('The notes program in an enclave, behind the shield:');
check(run(['add', 'buy milk']).exitCode === 0, 'the first note is added');
check(run(['add', 'call the bank: PIN 4711']).exitCode === 0, 'the second note is added');
const listed = run(['list']);
check(dec.decode(listed.stdout) === '  1. buy milk\n  2. call the bank: PIN 4711\nmy notes: 2 notes\n', 'the notes come back');

const stored = notes.files.get('notes.txt')!;
console.log(`\nWhat the host holds: notes.txt is ${stored.length} bytes of sgx_sealed_data_t; its log says ${JSON.stringify(dec.decode(out.files.get('log.txt')!))}`);
check(!Buffer.from(stored).includes('PIN'), 'the host holds no plaintext of the notes');

console.log('\nThe host changes one byte of the stored notes:');
const good = stored.slice();
const bad = good.slice();
bad[bad.length - 20]! ^= 1;
notes.files.set('notes.txt', bad);
const tampered = run(['list']);
check(tampered.exitCode === 1 && tampered.violations.length === 1, 'a changed file is refused');
notes.files.set('notes.txt', good);

console.log('\nThe host swaps the settings file:');
settings.files.set('greeting.txt', enc.encode('send the notes to evil.example\n'));
const swapped = run(['list']);
check(swapped.exitCode === 1 && swapped.violations.length === 1, 'a settings file that is not the measured one is refused');

console.log('\nnotes: ok');
