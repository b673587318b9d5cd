/**
 * The hello example enclave (examples/hello: enclave.wasm + hello.edl) built with the SDK and signed
 * with the OS suite's test key, for tests that need an enclave that runs code (ECALLs, OCALLs).
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, resolveEdl, signSigstruct, type BuiltImage } from '../../src/sdk/index.js';
import { defaultCrypto } from '../../src/lib/index.js';
import { signingKey } from './windows.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the test helpers');
    dir = up;
  }
}

export interface HelloEnclave {
  readonly built: BuiltImage;
  readonly sigstruct: Uint8Array;
}

let cached: HelloEnclave | null = null;

/** The hello enclave: DEBUG, one TCS, 256 KiB heap; signed once per test process. */
export function helloEnclave(): HelloEnclave {
  if (cached) return cached;
  const dir = join(repoRoot(), 'examples', 'hello');
  const built = buildImage({
    module: new Uint8Array(readFileSync(join(dir, 'enclave.wasm'))),
    interface: resolveEdl(join(dir, 'hello.edl')),
    config: { debug: true, heapSize: 1 << 18, tcsCount: 1 },
  });
  const sigstruct = signSigstruct({
    enclaveHash: built.mrenclave, isvProdId: 0, isvSvn: 0,
    attributesFlags: 0x4n, attributesXfrm: 3n, attributeMaskFlags: 0xffff_ffff_ffff_fffdn, attributeMaskXfrm: 0xffff_ffff_ffff_ffffn,
    miscSelect: 0, miscMask: 0xffff_ffff, date: 0x2024_0101,
  }, signingKey(), defaultCrypto());
  cached = { built, sigstruct };
  return cached;
}
