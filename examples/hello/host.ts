/**
 * The hello example's host program: build the enclave image from the module and its EDL, sign it
 * with a fresh key, create it through the Windows enclave API, call into it, tear it down.
 * Run: node dist/examples/hello/host.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createPlatform, buildImage, resolveEdl, signSigstruct, sigstructFieldsFor, generateSigningKey, loadEnclave, lib } from 'witness';

const here = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/hello');
const crypto = lib.defaultCrypto();

const built = buildImage({
  module: new Uint8Array(readFileSync(join(here, 'enclave.wasm'))),
  interface: resolveEdl(join(here, 'hello.edl')),
  config: { isvProdId: 1, isvSvn: 1 },
});
const key = generateSigningKey(crypto);
const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), key.privateKeyPem, crypto);

const platform = createPlatform({ profile: 'win-x64-sgx1' });
const enclave = loadEnclave(platform, built.image, {
  sigstruct,
  ocalls: { ocall_print: (message) => console.log(`  [ocall] ${String(message)}`) },
});
const greeting = new Uint8Array(80);
const n = enclave.ecall('ecall_hello', ['Witness', greeting, greeting.length]) as number;
console.log(new TextDecoder().decode(greeting.subarray(0, n)));
console.log(`MRENCLAVE ${enclave.mrenclave}`);
enclave.destroy();
