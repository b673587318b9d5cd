/**
 * A victim for the adversary catalogue: a fresh platform with the hello enclave (production, not
 * DEBUG) holding a known secret, a second enclave by another signer, and the pieces the attacks
 * need to replay or re-sign it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { parseSgxs, sgxsPages, SECS } from '../arch/index.js';
import type { Victim } from '../os/adversary/index.js';
import { resolveEdl, buildImage, signSigstruct, sigstructFieldsFor, generateSigningKey, loadEnclave, attributesFlagsOf, type BuiltImage, type HostEnclave } from '../sdk/index.js';
import { createPlatform, createLinuxPlatform } from './index.js';
import { isLinuxProfile, type LinuxProfileId } from '../os/linux/index.js';
import type { WindowsProfileId } from '../os/windows/index.js';
import type { Processor } from '../arch/index.js';
import { PlatformError } from './errors.js';

/** Where the package's shipped example enclaves live. */
export function examplesDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '../../../examples');
}

/** The shield example's WASI program (examples/shield/program.wasm, an ordinary wasm32-wasi command). */
export function shieldExampleProgram(): Uint8Array {
  const path = join(examplesDir(), 'shield', 'program.wasm');
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new PlatformError('EXAMPLE_MISSING', `the shipped shield example is missing: ${path}`, {}, { cause: e });
  }
}

export interface HelloArtifacts {
  readonly module: Uint8Array;
  readonly edlPath: string;
}

export function helloArtifacts(): HelloArtifacts {
  const dir = join(examplesDir(), 'hello');
  try {
    return { module: new Uint8Array(readFileSync(join(dir, 'enclave.wasm'))), edlPath: join(dir, 'hello.edl') };
  } catch (e) {
    throw new PlatformError('EXAMPLE_MISSING', `the shipped hello enclave is missing from ${dir}`, {}, { cause: e });
  }
}

/** Sign a built image with `key` (the fields follow its configuration; every attribute enforced). */
export function signBuilt(b: BuiltImage, keyPem: string, platform: { readonly processor: Processor }, date = 0x20261126): Uint8Array {
  return signSigstruct(sigstructFieldsFor(b.config, b.mrenclave, { date }), keyPem, platform.processor.crypto);
}

/** Signing keys are costly to generate (RSA-3072): the vendor's and the attackers' are made once per process. */
const keys = new Map<string, string>();
function key(role: 'vendor' | 'other' | 'attacker', platform: { readonly processor: Processor }): string {
  let k = keys.get(role);
  if (!k) {
    k = generateSigningKey(platform.processor.crypto).privateKeyPem;
    keys.set(role, k);
  }
  return k;
}

/** Build a victim for one attack, on a machine of `profile` (Windows' API or Linux's driver loads it). */
export function makeHelloVictim(secretText = 'the witness saw it all', profile: WindowsProfileId | LinuxProfileId = 'win-x64-sgx1'): Victim {
  const platform = isLinuxProfile(profile) ? createLinuxPlatform({ profile }) : createPlatform({ profile });
  const crypto = platform.processor.crypto;
  const hello = helloArtifacts();
  const iface = resolveEdl(hello.edlPath);
  const built = buildImage({ module: hello.module, interface: iface, config: { isvProdId: 7, isvSvn: 1 }, crypto });
  const sig = signBuilt(built, key('vendor', platform), platform);
  const quiet = { ocall_print: () => undefined };
  const enclave = loadEnclave(platform, built.image, { sigstruct: sig, ocalls: quiet });
  const secret = new TextEncoder().encode(secretText.padEnd(32, '.').slice(0, 32));
  const heap = built.image.manifest.layout.heap.offset;
  const offset = enclave.ecall('ecall_store_secret', [secret, secret.length]) as number;
  // Another enclave by the same vendor (different measurement), and one by another signer.
  const sibling = buildImage({ module: hello.module, interface: iface, config: { isvProdId: 7, isvSvn: 1, heapSize: 512 << 10 }, crypto });
  const otherSig = signBuilt(sibling, key('vendor', platform), platform);
  const other = loadEnclave(platform, sibling.image, { sigstruct: signBuilt(sibling, key('other', platform), platform), ocalls: quiet });
  const otherSecret = new TextEncoder().encode('the other enclave has secrets too');
  const otherOffset = other.ecall('ecall_store_secret', [otherSecret, otherSecret.length]) as number;
  const records = parseSgxs(built.image.sgxs);
  const ec = records[0] as { kind: 'ECREATE'; ssaFrameSize: number; size: number };
  const pages = sgxsPages(records).map((p) => ({ offset: p.offset, secinfoFlags: p.secinfoFlags, measured: p.measuredChunks === 0xffff, data: p.data }));
  const secs = SECS.encode({ SIZE: BigInt(ec.size), SSAFRAMESIZE: ec.ssaFrameSize, ATTRIBUTES: { FLAGS: attributesFlagsOf(built.config), XFRM: built.config.xfrm } });
  const read = (e: HostEnclave) => {
    const out = new Uint8Array(secret.length);
    e.ecall('ecall_read_secret', [out, out.length]);
    return out;
  };
  return {
    kernel: platform.kernel,
    process: platform.process,
    base: enclave.base,
    size: enclave.size,
    tcs: enclave.tcs,
    secret,
    secretAddress: enclave.base + heap + offset,
    readSecret: () => read(enclave),
    writeSecret: (v) => void enclave.ecall('ecall_store_secret', [v, v.length]),
    whileInside(during) {
      platform.processor.setStepHook((lp) => {
        if (lp.inEnclaveMode) during();
      });
      try {
        enclave.ecall('ecall_hello', ['attacker', new Uint8Array(64), 64]);
      } catch {
        // The attack may have broken the call; the outcome is judged afterwards.
      } finally {
        platform.processor.setStepHook(null);
      }
    },
    image: { secs, pages, sigstruct: sig },
    otherSigstruct: otherSig,
    other: { base: other.base, secretAddress: other.base + sibling.image.manifest.layout.heap.offset + otherOffset, tcs: other.tcs },
    resignAndUnseal() {
      const blob = new Uint8Array(1024);
      const n = enclave.ecall('ecall_seal_secret', [2, blob, blob.length]) as number;
      const attackerSig = signBuilt(built, key('attacker', platform), platform);
      let impostor: HostEnclave;
      try {
        impostor = loadEnclave(platform, built.image, { sigstruct: attackerSig, ocalls: quiet });
      } catch (e) {
        const status = (e as { data?: { sgxStatus?: number } }).data?.sgxStatus ?? -1;
        return { einitStatus: status, unsealed: null, status: -1 };
      }
      const r = impostor.ecall('ecall_unseal_secret', [blob.subarray(0, n), n]) as number;
      const unsealed = r > 0 ? read(impostor) : null;
      impostor.destroy();
      return { einitStatus: 0, unsealed, status: r < 0 ? -r : 0 };
    },
  };
}
