/**
 * The AssemblyScript hello example's host program: build the enclave image from the module and its
 * EDL, sign it, create it through the Windows enclave API, call into it, tear it down.
 * Run: node dist/examples/hello-as/host.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { createPlatform, buildImage, resolveEdl, signSigstruct, sigstructFieldsFor, generateSigningKey, loadEnclave, statusName, lib } from 'witness';

const here = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/hello-as');
const crypto = lib.defaultCrypto();

const built = buildImage({
  module: new Uint8Array(readFileSync(join(here, 'enclave.wasm'))),
  interface: resolveEdl(join(here, 'hello.edl')),
  config: { isvProdId: 2, isvSvn: 1 },
});
const key = generateSigningKey(crypto);
const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), key.privateKeyPem, crypto);

const platform = createPlatform({ profile: 'win-x64-sgx1' });
const printed: string[] = [];
const enclave = loadEnclave(platform, built.image, {
  sigstruct,
  ocalls: {
    ocall_print: (message) => {
      printed.push(String(message));
      console.log(`  [ocall] ${String(message)}`);
    },
  },
});
console.log(`MRENCLAVE ${enclave.mrenclave}`);

try {
  for (const name of ['Witness', 'AssemblyScript']) {
    const greeting = new Uint8Array(96);
    const n = enclave.ecall('ecall_hello', [name, greeting, greeting.length]) as number;
    if (n < 0) throw new Error(`ecall_hello failed: ${n}`);
    const text = new TextDecoder().decode(greeting.subarray(0, n));
    if (greeting[n] !== 0 || text !== `Hello, ${name}, from inside an AssemblyScript enclave!`) throw new Error(`unexpected greeting: ${JSON.stringify(text)}`);
    console.log(text);
  }
  if (printed.length !== 2) throw new Error(`expected 2 OCALLs, saw ${printed.length}`);

  // A greeting buffer too small for the text: the enclave truncates and still terminates it.
  const small = new Uint8Array(12);
  const m = enclave.ecall('ecall_hello', ['Witness', small, small.length]) as number;
  if (m !== 11 || small[11] !== 0) throw new Error(`truncation: got ${m}`);
  console.log(`truncated to ${m} bytes: ${JSON.stringify(new TextDecoder().decode(small.subarray(0, m)))}`);

  // SHA-256 inside the enclave (the runtime's witness.sha256), on a 640 KiB buffer, three times:
  // each call's copy takes most of the 1 MiB enclave heap, so this passes only if witness_free
  // really returns the memory of the previous call to the allocator.
  const data = new Uint8Array(640 * 1024);
  for (let round = 0; round < 3; round++) {
    data.fill(round + 1);
    const digest = new Uint8Array(32);
    const st = enclave.ecall('ecall_digest', [data, data.length, digest]) as number;
    if (st !== 0) throw new Error(`ecall_digest failed: ${statusName(-st)}`);
    const expect = createHash('sha256').update(data).digest('hex');
    const got = Buffer.from(digest).toString('hex');
    if (got !== expect) throw new Error(`digest mismatch: ${got} != ${expect}`);
    console.log(`digest of 640 KiB of 0x0${round + 1} (round ${round + 1}): ${got.slice(0, 16)}… matches node:crypto`);
  }
  console.log(`ECALLs ${enclave.stats.ecalls}, OCALLs ${enclave.stats.ocalls}`);
} finally {
  enclave.destroy();
}
console.log('hello-as: ok');
