import { parseArgs } from 'node:util';
import { createPlatform } from '../../platform/index.js';
import { helloArtifacts, shieldExampleProgram, signBuilt } from '../../platform/victim.js';
import { buildShieldImage, runShielded, MemoryFileSystem, type ShieldManifest } from '../../shield/index.js';
import { resolveEdl, buildImage, generateSigningKey, loadEnclave } from '../../sdk/index.js';
import { ENCLAVE_TYPE_SGX } from '../../os/windows/index.js';
import { REPORT, REPORTBODY, mrsignerOf } from '../../arch/index.js';
import { targetInfoOf } from '../../sdk/enclave/services.js';
import { toHex, concatBytes } from '../../lib/index.js';
import { createProvisioningCertificationService, createPckCertificateService, createQuotingService, verifyQuote, collateralToJson, QV_RESULT } from '../../attest/index.js';
import type { Io } from '../io.js';
import { parseSeed } from '../values.js';
import { checkOutputs, ensureDirectory, writeOutputs, type Output } from '../files.js';
import { join } from 'node:path';
import type { Command } from '../main.js';

const hex = (b: Uint8Array, n = 32) => toHex(b.subarray(0, n));
/** REPORTDATA's offset in a REPORTBODY (the quote's attested body starts at byte 48). */
const REPORTBODY_REPORTDATA = REPORTBODY.field('REPORTDATA').offset;
const text = (b: Uint8Array) => JSON.stringify(new TextDecoder().decode(b).replace(/\0+$/, ''));

export const command: Command = {
  name: 'demo',
  usage: 'witness demo [--seed HEX] [--quote-out DIR [--force]]\n\n' +
    '  --seed HEX       the platform seed (at least 16 bytes of hex): the same seed is the same machine\n' +
    '                   (the same fuse keys, so the same sealing keys, and the same simulated PCS keys)\n' +
    '  --quote-out DIR  write the remote-attestation step\'s quote.bin, root.pem and collateral.json\n' +
    '                   to DIR (created if missing), for witness verify-quote; existing files are not\n' +
    '                   replaced unless --force is given',
  example: 'witness demo --quote-out quote && witness verify-quote quote/quote.bin --root quote/root.pem --collateral quote/collateral.json',
  run(argv: string[], io: Io): number {
    const { values } = parseArgs({ args: argv, options: { seed: { type: 'string' }, 'quote-out': { type: 'string' }, force: { type: 'boolean' } }, strict: true });
    const quoteDir = values['quote-out'];
    const exclusive = values.force !== true;
    const quoteFiles = quoteDir === undefined ? [] : ['quote.bin', 'root.pem', 'collateral.json'].map((f) => ({ path: join(quoteDir, f), options: { exclusive } }));
    // Checked before the tour too (the writes at the end are all-or-none and exclusive as well).
    checkOutputs(quoteFiles, '--force replaces it');
    const t0 = Date.now();
    const say = (s = '') => io.out(s);
    const seed = values.seed !== undefined ? parseSeed(values.seed) : new TextEncoder().encode('witness demo platform seed 2026!');
    const platform = createPlatform({ profile: 'win-x64-sgx1', seed });
    const k32 = platform.kernel32;
    const crypto = platform.processor.crypto;
    say('Witness demo: an Intel SGX machine modelled in TypeScript.\n');
    say(`1. The platform: profile win-x64-sgx1, ${(platform.processor.epcPages * 4096 / 2 ** 20).toFixed(1)} MiB EPC, Flexible Launch Control.`);
    say(`   IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX) = ${k32.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX)}\n`);

    const hello = helloArtifacts();
    const built = buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: { isvProdId: 1, isvSvn: 1 }, crypto });
    const key = generateSigningKey(crypto);
    const sigstruct = signBuilt(built, key.privateKeyPem, platform);
    const mrsigner = toHex(mrsignerOf(sigstruct, crypto));
    say('2. Build and sign the hello enclave (C compiled to WebAssembly; examples/hello):');
    say(`   module ${hello.module.length} bytes, ELRANGE 0x${built.layout.size.toString(16)}, ${built.layout.pages.length} pages, ${built.config.tcsCount} TCS`);
    say(`   MRENCLAVE ${toHex(built.mrenclave)}  (computed from the ECREATE/EADD/EEXTEND records)`);
    say(`   MRSIGNER  ${mrsigner}  (SHA-256 of a fresh RSA-3072 e=3 key)\n`);

    const free0 = platform.processor.inspect.freeEpcPages;
    const enclave = loadEnclave(platform, built.image, { sigstruct, ocalls: { ocall_print: (m) => say(`   [OCALL ocall_print] ${String(m)}`) } });
    say('3. CreateEnclave → LoadEnclaveData (every page, with its protection) → InitializeEnclave (EINIT verified the signature):');
    say(`   enclave at 0x${enclave.base.toString(16)}, ${free0 - platform.processor.inspect.freeEpcPages} EPC pages in use\n`);

    const greeting = new Uint8Array(80);
    const n = enclave.ecall('ecall_hello', ['Witness', greeting, greeting.length]) as number;
    say(`4. ECALL ecall_hello("Witness") → ${text(greeting.subarray(0, n))}\n`);

    const secret = new TextEncoder().encode('the witness saw everything......');
    const off = enclave.ecall('ecall_store_secret', [secret, secret.length]) as number;
    const la = enclave.base + built.image.manifest.layout.heap.offset + off;
    const t = platform.process.pageTable.lookup(Math.floor(la / 4096))!;
    const pa = t.pfn * 4096 + (la % 4096);
    const enclaveView = new Uint8Array(secret.length);
    enclave.ecall('ecall_read_secret', [enclaveView, enclaveView.length]);
    const kernelView = platform.kernel.ring0(() => platform.processor.memory.readPhysical(pa, secret.length));
    const dram1 = platform.processor.memory.dramRead(pa, secret.length);
    say(`5. A secret inside the enclave, at linear 0x${la.toString(16)} (EPC frame 0x${(pa - (pa % 4096)).toString(16)}), seen three ways:`);
    say(`   the enclave's view : ${text(enclaveView)}`);
    say(`   the kernel's view  : ${hex(kernelView)}   (abort page: all-ones)`);
    say(`   the DRAM view      : ${hex(dram1)}   (memory-encryption ciphertext)`);
    enclave.ecall('ecall_store_secret', [secret, secret.length]);
    const dram2 = platform.processor.memory.dramRead(pa, secret.length);
    say(`   DRAM after the enclave wrote the same bytes again: ${hex(dram2)} (a new version, a new ciphertext)\n`);

    const blob = new Uint8Array(1024);
    const size = enclave.ecall('ecall_seal_secret', [1, blob, blob.length]) as number;
    say(`6. Sealing: ecall_seal_secret(MRENCLAVE policy) → a ${size}-byte sgx_sealed_data_t (AES-128-GCM under EGETKEY(SEAL_KEY)).`);
    const saved = platform.save();
    enclave.destroy();
    say(`   The enclave is deleted; the EPC is back to ${platform.processor.inspect.freeEpcPages === free0 ? 'its starting count' : 'a DIFFERENT count'}.`);
    const again = createPlatform({ saved });
    const e2 = loadEnclave(again, built.image, { sigstruct, ocalls: { ocall_print: () => undefined } });
    const len = e2.ecall('ecall_unseal_secret', [blob.subarray(0, size), size]) as number;
    const back = new Uint8Array(secret.length);
    e2.ecall('ecall_read_secret', [back, back.length]);
    say(`   After a platform restart (same machine, new boot): unseal → ${len} bytes: ${text(back)}`);
    // Another machine: every seed bit flipped, so it differs from the first whatever its seed.
    const other = createPlatform({ seed: seed.map((b) => b ^ 0xff) });
    const e3 = loadEnclave(other, built.image, { sigstruct, ocalls: { ocall_print: () => undefined } });
    const st = -(e3.ecall('ecall_unseal_secret', [blob.subarray(0, size), size]) as number);
    say(`   On a different machine: unseal fails with 0x${st.toString(16)} (SGX_ERROR_MAC_MISMATCH)\n`);
    e3.destroy();

    const report = new Uint8Array(432);
    const self = new Uint8Array(512);
    e2.ecall('ecall_make_report', [self, new Uint8Array(1), 1, report]);
    // The enclave's own TARGETINFO, from its REPORT (as sgx_self_target does).
    const ti = targetInfoOf(report);
    e2.ecall('ecall_make_report', [ti, new TextEncoder().encode('hello'), 5, report]);
    const ok = e2.ecall('ecall_verify_report', [report]) as number;
    report[REPORT.field('MRENCLAVE').offset]! ^= 1;
    const bad = -(e2.ecall('ecall_verify_report', [report]) as number);
    say('7. Local attestation: EREPORT targeted at the enclave itself, REPORTDATA = SHA-256("hello"):');
    say(`   verify → ${ok === 0 ? 'valid (CMAC under the report key)' : 'INVALID'}; with one bit of MRENCLAVE flipped → 0x${bad.toString(16)} (MAC mismatch)\n`);

    // Remote attestation (DCAP): a simulated PCS whose keys come from the demo's seed, the
    // manufacturer's enrolment of this platform, the quoting service (the Witness PCE and QE).
    const pcs = createProvisioningCertificationService({ seed: crypto.sha256(concatBytes(new TextEncoder().encode('witness demo PCS/'), seed)) });
    const registry = createPckCertificateService(pcs);
    registry.enroll(again);
    const qs = createQuotingService(again, { pcs: registry });
    e2.ecall('ecall_make_report', [qs.qeTargetInfo, new TextEncoder().encode('hello'), 5, report]);
    const quote = qs.quote(report);
    qs.close();
    const collateral = pcs.collateral();
    const v = verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral });
    const flipped = quote.slice();
    flipped[48 + REPORTBODY_REPORTDATA]! ^= 1;
    const vf = verifyQuote(flipped, { trustedRoot: pcs.rootCertificate.der, collateral });
    say('8. Remote attestation (DCAP): the platform enrolled with a simulated PCS; the QE quotes a REPORT of the enclave:');
    say(`   a ${quote.length}-byte v3 ECDSA quote (PCK certificate chain inside), verified with the PCS root and collateral:`);
    say(`   ${v.resultName} (TCB ${v.tcbStatus}, QE ${v.qeIdentityStatus}); ${v.result === QV_RESULT.OK ? 'attested' : 'NOT attested:'} MRENCLAVE ${toHex(v.reportBody.MRENCLAVE)}`);
    say(`   with one bit of REPORTDATA flipped → ${vf.resultName}`);
    if (quoteDir !== undefined) {
      ensureDirectory(quoteDir);
      const data = [quote, pcs.rootCertificate.pem, collateralToJson(collateral)];
      writeOutputs(quoteFiles.map((f, k): Output => ({ ...f, data: data[k]! })));
      say(`   wrote ${quoteFiles.map((f) => f.path).join(', ')}`);
    }
    say('');
    e2.destroy();

    // The shield: the notes program of examples/shield (an ordinary WASI command) in an enclave.
    say('9. The shield: an unmodified WASI program (examples/shield, built with plain clang) runs in an enclave;');
    say('   its notes go to an encrypted mount, its settings come from a trusted mount, its log to a host mount:');
    const dec = new TextDecoder();
    const notesGreeting = new TextEncoder().encode('my notes\n');
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
      say(`   $ notes ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
      for (const line of dec.decode(r.stdout).split('\n').filter(Boolean)) say(`     ${line}`);
      return r;
    };
    notesRun(['add', 'meet at noon']);
    notesRun(['list']);
    const sealedNotes = notes.files.get('notes.txt') ?? new Uint8Array(0);
    say(`   the host holds notes.txt as ${sealedNotes.length} bytes of sgx_sealed_data_t (${Buffer.from(sealedNotes).includes('noon') ? 'PLAINTEXT FOUND' : 'no plaintext'}); its log: ${JSON.stringify(dec.decode(log.files.get('log.txt') ?? new Uint8Array(0)))}`);
    const changedNotes = sealedNotes.slice();
    changedNotes[changedNotes.length - 20]! ^= 1;
    notes.files.set('notes.txt', changedNotes);
    const refused = notesRun(['list']);
    say(`   the host changed one byte: exit ${refused.exitCode}; the shield refused it: ${refused.violations[0]?.what ?? 'NOT REFUSED'}\n`);

    say('10. Identity (of the hello enclave):');
    say(`   MRENCLAVE ${toHex(built.mrenclave)}`);
    say(`   MRSIGNER  ${mrsigner}`);
    say(`\nDone in ${((Date.now() - t0) / 1000).toFixed(1)} s. Next: \`witness attack\` runs a hostile driver against an enclave.`);
    return 0;
  },
};
