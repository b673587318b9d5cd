/**
 * The shield example's host program: the notes program (program.c, an ordinary WASI command built
 * with plain clang) runs inside an enclave three times, keeping its notes in an encrypted mount,
 * its settings in a trusted mount and a public log in a host mount. Then it proves to a relying
 * party how many notes it holds (a DCAP quote carrying the party's challenge, made through
 * /dev/attestation; the party checks MRENCLAVE and MRSIGNER, and refuses a replay and the same
 * program signed by the host), and the host cheats twice more: it changes a byte of the stored
 * notes, and it swaps the settings file. Both are refused. Exits non-zero if anything turns out
 * differently.
 * Run: node dist/examples/shield/host.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  createPlatform, buildShieldImage, runShielded, MemoryFileSystem, generateSigningKey, signSigstruct, sigstructFieldsFor, lib, arch,
  createProvisioningCertificationService, createPckCertificateService, createQuotingService, verifyQuote, QV_RESULT,
  type ShieldManifest, type ShieldRun,
} from 'witness';

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
 * `notes attest` gets /dev/attestation (`attestation: true`, measured as well).
 */
function manifest(args: string[]): ShieldManifest {
  return {
    args: ['notes', ...args],
    attestation: args[0] === 'attest',
    mounts: [
      { path: '/etc/notes', kind: 'trusted', files: { 'greeting.txt': createHash('sha256').update(greeting).digest('hex') } },
      { path: '/data', kind: 'encrypted', keyPolicy: 'mrsigner' },
      { path: '/out', kind: 'host' },
    ],
  };
}

const platform = createPlatform({ seed: enc.encode('the shield example platform 1234') });

interface RunWith {
  readonly quoting?: ReturnType<typeof createQuotingService>;
  /** Another signer (the host's own key) and the notes store its enclaves use. */
  readonly signer?: { readonly privateKeyPem: string };
  readonly notes?: MemoryFileSystem;
}

function run(args: string[], w: RunWith = {}): ShieldRun {
  const built = buildShieldImage({ program, manifest: manifest(args) });
  const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), (w.signer ?? key).privateKeyPem, crypto);
  const r = runShielded(platform, built.image, { load: { sigstruct }, mounts: { '/etc/notes': settings, '/data': w.notes ?? notes, '/out': out }, ...(w.quoting ? { quoting: w.quoting } : {}) });
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

// Remote attestation. The platform's attestation infrastructure is simulated: a PCS (Intel's
// Provisioning Certification Service), the manufacturer that enrolled this platform, and the
// platform's quoting enclave behind a quoting service the host runs.
console.log('\nA relying party asks the notes program how many notes it holds, with a fresh challenge:');
const pcs = createProvisioningCertificationService({ seed: enc.encode('the shield example PCS, 32 bytes') });
const manufacturer = createPckCertificateService(pcs);
manufacturer.enroll(platform);
const quoting = createQuotingService(platform, { pcs: manufacturer });
try {
  const challenge = lib.toHex(crypto.randomBytes(16)); // 32 characters, on the host's mount: a nonce needs no secrecy
  out.files.set('challenge.txt', enc.encode(challenge));
  check(run(['attest'], { quoting }).exitCode === 0, 'the program makes its quote');
  // The relying party knows the program, its manifest and its signer's public key; the host hands
  // it the quote. MRSIGNER matters as much as MRENCLAVE here: the notes are sealed to the signer
  // (MRSIGNER policy), so an enclave the host signed itself would count notes the host wrote.
  const expected = buildShieldImage({ program, manifest: manifest(['attest']) }).mrenclave;
  const signer = arch.mrsignerOfModulus(crypto.rsaPublicNumbers(key.publicKeyPem).modulus, crypto);
  const relyingParty = (quote: Uint8Array, nonce: string): string => {
    const v = verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral: pcs.collateral() });
    if (v.result !== QV_RESULT.OK) return `refused: ${v.resultName}`;
    if (!lib.bytesEqual(v.reportBody.MRENCLAVE, expected)) return 'refused: not the notes program with its manifest';
    if (!lib.bytesEqual(v.reportBody.MRSIGNER, signer)) return 'refused: not signed by the notes key';
    if ((v.reportBody.ATTRIBUTES.FLAGS & arch.ATTR.DEBUG) !== 0n) return 'refused: a debug enclave';
    const data = v.reportBody.REPORTDATA;
    if (dec.decode(data.subarray(0, 32)) !== nonce) return 'refused: not an answer to this challenge (a replayed quote)';
    return `accepted: the enclave says "${dec.decode(data.subarray(32)).replace(/\0+$/, '')}"`;
  };
  const quote = out.files.get('quote.bin')!.slice();
  const verdict = relyingParty(quote, challenge);
  console.log(`  relying party: ${verdict}`);
  check(verdict === 'accepted: the enclave says "notes: 2"', 'the quote is accepted and carries the count');
  const replay = relyingParty(quote, lib.toHex(crypto.randomBytes(16)));
  console.log(`  the host replays that quote to a new challenge: ${replay}`);
  check(replay.startsWith('refused: not an answer'), 'a replayed quote is refused');
  // The host signs the same program (the same MRENCLAVE) with a key of its own, writes notes of its own, and answers.
  const own = { signer: generateSigningKey(crypto), notes: new MemoryFileSystem() };
  run(['add', 'made up by the host'], own);
  out.files.set('challenge.txt', enc.encode(challenge));
  check(run(['attest'], { ...own, quoting }).exitCode === 0, "the host's own enclave makes a quote");
  const forged = relyingParty(out.files.get('quote.bin')!.slice(), challenge);
  console.log(`  the host runs the program signed with its own key, over notes it wrote: ${forged}`);
  check(forged === 'refused: not signed by the notes key', "a quote from the host's own signing is refused");
} finally {
  quoting.close();
}

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
