/**
 * The tour of Witness (`witness demo` prints it, the web view draws it): one machine, the hello
 * enclave built, signed, loaded and called; a secret seen three ways; sealing across a restart and
 * onto another machine; local and remote attestation; the shield's notes program. A generator of
 * steps, each the facts it established and the machine it ran on, so that the command line and the
 * browser render the same run.
 */
import { REPORT, REPORTBODY, mrsignerOf, type Processor } from '../arch/index.js';
import { ENCLAVE_TYPE_SGX } from '../os/windows/index.js';
import { resolveEdl, buildImage, generateSigningKey, loadEnclave } from '../sdk/index.js';
import { targetInfoOf } from '../sdk/enclave/services.js';
import { toHex, concatBytes } from '../lib/bytes.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { createProvisioningCertificationService, createPckCertificateService, createQuotingService, verifyQuote, QV_RESULT, type QuoteCollateral, type QuoteVerification } from '../attest/index.js';
import { buildShieldImage, runShielded, MemoryFileSystem, type ShieldManifest } from '../shield/index.js';
import { createPlatform } from './index.js';
import { helloArtifacts, shieldExampleProgram, signBuilt } from './victim.js';

export interface TourOptions {
  /** The platform seed (≥ 16 bytes). Default: the demo's fixed seed. */
  readonly seed?: Uint8Array;
  /** The crypto provider of every machine of the tour. Default: the process's. */
  readonly crypto?: CryptoProvider;
}

/** The seed `witness demo` uses unless given one. */
export const TOUR_SEED = new TextEncoder().encode('witness demo platform seed 2026!');

interface StepBase {
  /** The machine the step ran on (the last one, where it used several). */
  readonly processor: Processor;
}

export interface PlatformStep extends StepBase {
  readonly step: 'platform';
  readonly profile: string;
  readonly epcBytes: number;
  /** IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX). */
  readonly sgxSupported: boolean;
}

export interface BuildStep extends StepBase {
  readonly step: 'build';
  readonly moduleBytes: number;
  readonly elrange: number;
  readonly pages: number;
  readonly tcs: number;
  readonly mrenclave: Uint8Array;
  readonly mrsigner: Uint8Array;
}

export interface LoadStep extends StepBase {
  readonly step: 'load';
  readonly base: number;
  readonly epcPagesInUse: number;
}

export interface EcallStep extends StepBase {
  readonly step: 'ecall';
  readonly greeting: string;
  /** What the enclave printed through its OCALL during the call. */
  readonly ocalls: readonly string[];
}

export interface ViewsStep extends StepBase {
  readonly step: 'views';
  readonly secret: string;
  readonly linear: number;
  readonly frame: number;
  readonly enclaveView: string;
  readonly kernelView: Uint8Array;
  readonly dramView: Uint8Array;
  /** DRAM after the enclave wrote the same bytes again. */
  readonly dramAgain: Uint8Array;
}

export interface SealStep extends StepBase {
  readonly step: 'seal';
  readonly sealedBytes: number;
  /** The EPC's free count after the enclave was deleted equals the one before it was loaded. */
  readonly epcRestored: boolean;
  readonly unsealedLength: number;
  readonly unsealed: string;
  /** The status unsealing gave on another machine (SGX_ERROR_MAC_MISMATCH). */
  readonly otherMachineStatus: number;
}

export interface LocalAttestationStep extends StepBase {
  readonly step: 'local-attestation';
  readonly valid: boolean;
  readonly flippedStatus: number;
}

export interface RemoteAttestationStep extends StepBase {
  readonly step: 'remote-attestation';
  readonly quote: Uint8Array;
  readonly rootPem: string;
  readonly collateral: QuoteCollateral;
  readonly verdict: QuoteVerification;
  readonly attested: boolean;
  /** The verdict with one bit of REPORTDATA flipped. */
  readonly flippedVerdict: QuoteVerification;
}

export interface ShieldRun {
  readonly args: readonly string[];
  readonly stdout: string;
  readonly exitCode: number;
}

export interface ShieldStep extends StepBase {
  readonly step: 'shield';
  readonly runs: readonly ShieldRun[];
  readonly sealedNotesBytes: number;
  readonly plaintextFound: boolean;
  readonly log: string;
  /** The run after the host changed one byte of the sealed notes. */
  readonly refused: ShieldRun;
  readonly violation: string | null;
}

export interface IdentityStep extends StepBase {
  readonly step: 'identity';
  readonly mrenclave: Uint8Array;
  readonly mrsigner: Uint8Array;
}

export type TourStep = PlatformStep | BuildStep | LoadStep | EcallStep | ViewsStep | SealStep | LocalAttestationStep | RemoteAttestationStep | ShieldStep | IdentityStep;

const utf8 = (s: string) => new TextEncoder().encode(s);
const textOf = (b: Uint8Array) => new TextDecoder().decode(b).replace(/\0+$/, '');
/** REPORTDATA's offset in a REPORTBODY (the quote's attested body starts at byte 48). */
const REPORTBODY_REPORTDATA = REPORTBODY.field('REPORTDATA').offset;

function includes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** The tour, one step at a time (each step runs when the previous one has been taken). */
export function* tour(options: TourOptions = {}): Generator<TourStep, void, void> {
  const seed = options.seed ?? TOUR_SEED;
  const machine = (o: Parameters<typeof createPlatform>[0]) => createPlatform(options.crypto ? { ...o, crypto: options.crypto } : o);
  const platform = machine({ profile: 'win-x64-sgx1', seed });
  const processor = platform.processor;
  const crypto = processor.crypto;
  yield { step: 'platform', processor, profile: 'win-x64-sgx1', epcBytes: processor.epcPages * 4096, sgxSupported: platform.kernel32.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX) };

  const hello = helloArtifacts();
  const built = buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: { isvProdId: 1, isvSvn: 1 }, crypto });
  const key = generateSigningKey(crypto);
  const sigstruct = signBuilt(built, key.privateKeyPem, platform);
  const mrsigner = mrsignerOf(sigstruct, crypto);
  yield { step: 'build', processor, moduleBytes: hello.module.length, elrange: built.layout.size, pages: built.layout.pages.length, tcs: built.config.tcsCount, mrenclave: built.mrenclave, mrsigner };

  const free0 = processor.inspect.freeEpcPages;
  const printed: string[] = [];
  const enclave = loadEnclave(platform, built.image, { sigstruct, ocalls: { ocall_print: (m) => void printed.push(String(m)) } });
  yield { step: 'load', processor, base: enclave.base, epcPagesInUse: free0 - processor.inspect.freeEpcPages };

  const greeting = new Uint8Array(80);
  const n = enclave.ecall('ecall_hello', ['Witness', greeting, greeting.length]) as number;
  yield { step: 'ecall', processor, greeting: textOf(greeting.subarray(0, n)), ocalls: printed.splice(0) };

  const secretText = 'the witness saw everything......';
  const secret = utf8(secretText);
  const off = enclave.ecall('ecall_store_secret', [secret, secret.length]) as number;
  const la = enclave.base + built.image.manifest.layout.heap.offset + off;
  const pte = platform.process.pageTable.lookup(Math.floor(la / 4096))!;
  const pa = pte.pfn * 4096 + (la % 4096);
  const enclaveView = new Uint8Array(secret.length);
  enclave.ecall('ecall_read_secret', [enclaveView, enclaveView.length]);
  const kernelView = platform.kernel.ring0(() => processor.memory.readPhysical(pa, secret.length));
  const dramView = processor.memory.dramRead(pa, secret.length);
  enclave.ecall('ecall_store_secret', [secret, secret.length]);
  const dramAgain = processor.memory.dramRead(pa, secret.length);
  yield { step: 'views', processor, secret: secretText, linear: la, frame: pa - (pa % 4096), enclaveView: textOf(enclaveView), kernelView, dramView, dramAgain };

  const blob = new Uint8Array(1024);
  const size = enclave.ecall('ecall_seal_secret', [1, blob, blob.length]) as number;
  const saved = platform.save();
  enclave.destroy();
  const epcRestored = processor.inspect.freeEpcPages === free0;
  const again = machine({ saved });
  const quiet = { ocall_print: () => undefined };
  const e2 = loadEnclave(again, built.image, { sigstruct, ocalls: quiet });
  const unsealedLength = e2.ecall('ecall_unseal_secret', [blob.subarray(0, size), size]) as number;
  const back = new Uint8Array(secret.length);
  e2.ecall('ecall_read_secret', [back, back.length]);
  // Another machine: every seed bit flipped, so it differs from the first whatever its seed.
  const other = machine({ seed: seed.map((b) => b ^ 0xff) });
  const e3 = loadEnclave(other, built.image, { sigstruct, ocalls: quiet });
  const otherMachineStatus = -(e3.ecall('ecall_unseal_secret', [blob.subarray(0, size), size]) as number);
  e3.destroy();
  yield { step: 'seal', processor: again.processor, sealedBytes: size, epcRestored, unsealedLength, unsealed: textOf(back), otherMachineStatus };

  const report = new Uint8Array(432);
  const self = new Uint8Array(512);
  e2.ecall('ecall_make_report', [self, new Uint8Array(1), 1, report]);
  // The enclave's own TARGETINFO, from its REPORT (as sgx_self_target does).
  e2.ecall('ecall_make_report', [targetInfoOf(report), utf8('hello'), 5, report]);
  const valid = (e2.ecall('ecall_verify_report', [report]) as number) === 0;
  report[REPORT.field('MRENCLAVE').offset]! ^= 1;
  const flippedStatus = -(e2.ecall('ecall_verify_report', [report]) as number);
  yield { step: 'local-attestation', processor: again.processor, valid, flippedStatus };

  // Remote attestation (DCAP): a simulated PCS whose keys come from the seed, the manufacturer's
  // enrolment of this platform, the quoting service (the Witness PCE and QE).
  const pcs = createProvisioningCertificationService({ seed: crypto.sha256(concatBytes(utf8('witness demo PCS/'), seed)), crypto });
  const registry = createPckCertificateService(pcs, { crypto });
  registry.enroll(again);
  const qs = createQuotingService(again, { pcs: registry });
  e2.ecall('ecall_make_report', [qs.qeTargetInfo, utf8('hello'), 5, report]);
  const quote = qs.quote(report);
  const collateral = pcs.collateral();
  const verdict = verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral, crypto });
  const flipped = quote.slice();
  flipped[48 + REPORTBODY_REPORTDATA]! ^= 1;
  const flippedVerdict = verifyQuote(flipped, { trustedRoot: pcs.rootCertificate.der, collateral, crypto });
  // Yielded with the quoting enclaves and the hello enclave still loaded (the machine as it quoted).
  yield { step: 'remote-attestation', processor: again.processor, quote, rootPem: pcs.rootCertificate.pem, collateral, verdict, attested: verdict.result === QV_RESULT.OK, flippedVerdict };
  qs.close();
  e2.destroy();

  // The shield: the notes program of examples/shield (an ordinary WASI command) in an enclave.
  const notesGreeting = utf8('my notes\n');
  const settings = new MemoryFileSystem(), notes = new MemoryFileSystem(), log = new MemoryFileSystem();
  settings.files.set('greeting.txt', notesGreeting);
  const notesManifest = (args: string[]): ShieldManifest => ({
    args: ['notes', ...args],
    mounts: [
      { path: '/etc/notes', kind: 'trusted', files: { 'greeting.txt': toHex(crypto.sha256(notesGreeting)) } },
      // argv is measured: `add` and `list` are two enclaves by one signer, so the MRSIGNER policy.
      { path: '/data', kind: 'encrypted', keyPolicy: 'mrsigner' },
      { path: '/out', kind: 'host' },
    ],
  });
  const program = shieldExampleProgram();
  const notesRun = (args: string[]) => {
    const b = buildShieldImage({ program, manifest: notesManifest(args), crypto });
    const r = runShielded(platform, b.image, { load: { sigstruct: signBuilt(b, key.privateKeyPem, platform) }, mounts: { '/etc/notes': settings, '/data': notes, '/out': log } });
    return { run: { args, stdout: new TextDecoder().decode(r.stdout), exitCode: r.exitCode }, violations: r.violations };
  };
  const runs = [notesRun(['add', 'meet at noon']).run, notesRun(['list']).run];
  const sealedNotes = notes.files.get('notes.txt') ?? new Uint8Array(0);
  const changedNotes = sealedNotes.slice();
  changedNotes[changedNotes.length - 20]! ^= 1;
  notes.files.set('notes.txt', changedNotes);
  const refused = notesRun(['list']);
  yield {
    step: 'shield', processor, runs, sealedNotesBytes: sealedNotes.length, plaintextFound: includes(sealedNotes, utf8('noon')),
    log: new TextDecoder().decode(log.files.get('log.txt') ?? new Uint8Array(0)), refused: refused.run, violation: refused.violations[0]?.what ?? null,
  };

  yield { step: 'identity', processor, mrenclave: built.mrenclave, mrsigner };
}

const hex = (b: Uint8Array, n = 32) => toHex(b.subarray(0, n));
const quoted = (s: string) => JSON.stringify(s);
const shellArgs = (args: readonly string[]) => args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ');

/** A step of the tour as `witness demo` prints it (and the web view shows it), a line each. */
export function tourText(s: TourStep): string[] {
  switch (s.step) {
    case 'platform':
      return [
        `1. The platform: profile ${s.profile}, ${(s.epcBytes / 2 ** 20).toFixed(1)} MiB EPC, Flexible Launch Control.`,
        `   IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX) = ${s.sgxSupported}\n`,
      ];
    case 'build':
      return [
        '2. Build and sign the hello enclave (C compiled to WebAssembly; examples/hello):',
        `   module ${s.moduleBytes} bytes, ELRANGE 0x${s.elrange.toString(16)}, ${s.pages} pages, ${s.tcs} TCS`,
        `   MRENCLAVE ${toHex(s.mrenclave)}  (computed from the ECREATE/EADD/EEXTEND records)`,
        `   MRSIGNER  ${toHex(s.mrsigner)}  (SHA-256 of a fresh RSA-3072 e=3 key)\n`,
      ];
    case 'load':
      return [
        '3. CreateEnclave → LoadEnclaveData (every page, with its protection) → InitializeEnclave (EINIT verified the signature):',
        `   enclave at 0x${s.base.toString(16)}, ${s.epcPagesInUse} EPC pages in use\n`,
      ];
    case 'ecall':
      return [...s.ocalls.map((m) => `   [OCALL ocall_print] ${m}`), `4. ECALL ecall_hello("Witness") → ${quoted(s.greeting)}\n`];
    case 'views':
      return [
        `5. A secret inside the enclave, at linear 0x${s.linear.toString(16)} (EPC frame 0x${s.frame.toString(16)}), seen three ways:`,
        `   the enclave's view : ${quoted(s.enclaveView)}`,
        `   the kernel's view  : ${hex(s.kernelView)}   (abort page: all-ones)`,
        `   the DRAM view      : ${hex(s.dramView)}   (memory-encryption ciphertext)`,
        `   DRAM after the enclave wrote the same bytes again: ${hex(s.dramAgain)} (a new version, a new ciphertext)\n`,
      ];
    case 'seal':
      return [
        `6. Sealing: ecall_seal_secret(MRENCLAVE policy) → a ${s.sealedBytes}-byte sgx_sealed_data_t (AES-128-GCM under EGETKEY(SEAL_KEY)).`,
        `   The enclave is deleted; the EPC is back to ${s.epcRestored ? 'its starting count' : 'a DIFFERENT count'}.`,
        `   After a platform restart (same machine, new boot): unseal → ${s.unsealedLength} bytes: ${quoted(s.unsealed)}`,
        `   On a different machine: unseal fails with 0x${s.otherMachineStatus.toString(16)} (SGX_ERROR_MAC_MISMATCH)\n`,
      ];
    case 'local-attestation':
      return [
        '7. Local attestation: EREPORT targeted at the enclave itself, REPORTDATA = SHA-256("hello"):',
        `   verify → ${s.valid ? 'valid (CMAC under the report key)' : 'INVALID'}; with one bit of MRENCLAVE flipped → 0x${s.flippedStatus.toString(16)} (MAC mismatch)\n`,
      ];
    case 'remote-attestation':
      return [
        '8. Remote attestation (DCAP): the platform enrolled with a simulated PCS; the QE quotes a REPORT of the enclave:',
        `   a ${s.quote.length}-byte v3 ECDSA quote (PCK certificate chain inside), verified with the PCS root and collateral:`,
        `   ${s.verdict.resultName} (TCB ${s.verdict.tcbStatus}, QE ${s.verdict.qeIdentityStatus}); ${s.attested ? 'attested' : 'NOT attested:'} MRENCLAVE ${toHex(s.verdict.reportBody.MRENCLAVE)}`,
        `   with one bit of REPORTDATA flipped → ${s.flippedVerdict.resultName}`,
      ];
    case 'shield': {
      const run = (r: { readonly args: readonly string[]; readonly stdout: string }) => [`   $ notes ${shellArgs(r.args)}`, ...r.stdout.split('\n').filter(Boolean).map((l) => `     ${l}`)];
      return [
        '9. The shield: an unmodified WASI program (examples/shield, built with plain clang) runs in an enclave;',
        '   its notes go to an encrypted mount, its settings come from a trusted mount, its log to a host mount:',
        ...s.runs.flatMap(run),
        `   the host holds notes.txt as ${s.sealedNotesBytes} bytes of sgx_sealed_data_t (${s.plaintextFound ? 'PLAINTEXT FOUND' : 'no plaintext'}); its log: ${quoted(s.log)}`,
        ...run(s.refused),
        `   the host changed one byte: exit ${s.refused.exitCode}; the shield refused it: ${s.violation ?? 'NOT REFUSED'}\n`,
      ];
    }
    case 'identity':
      return ['10. Identity (of the hello enclave):', `   MRENCLAVE ${toHex(s.mrenclave)}`, `   MRSIGNER  ${toHex(s.mrsigner)}`];
  }
}
