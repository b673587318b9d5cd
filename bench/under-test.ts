/**
 * The bench enclave (bench/fixtures: bench.wasm, bench.edl) built, signed and loaded through the
 * Witness build in `dist`: this checkout's, or another checkout's when two builds are compared
 * (bench/micro.ts, bench/seal.ts). The build is loaded by path, through the package's API as of the
 * first benchmarks (createPlatform, buildImage, loadEnclave, …); the fixtures are this checkout's.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

/** What the benchmarks call on the enclave. */
export interface BenchEnclave {
  ecall(name: string, args: unknown[]): unknown;
}

/** The parts of a build's API this uses (as loose as an older build may need). */
interface Api {
  createPlatform(): unknown;
  buildImage(o: { module: Uint8Array; interface: unknown; config: { heapSize: number; tcsCount: number }; crypto: unknown }): { image: unknown };
  resolveEdl(path: string): unknown;
  generateSigningKey(crypto: unknown): { privateKeyPem: string };
  loadEnclave(platform: unknown, image: unknown, o: { sigstruct: Uint8Array; ocalls: Record<string, () => void>; arenaSize: number }): BenchEnclave;
  lib: { defaultCrypto(): unknown };
}

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'fixtures'); // from dist/bench

/** The bench enclave with `heapSize` bytes of heap, 2 TCSs and a 4 MiB arena, loaded through the build in `dist`. */
export async function loadBenchEnclave(dist: string, heapSize: number): Promise<BenchEnclave> {
  const W = (await import(pathToFileURL(join(dist, 'src', 'index.js')).href)) as Api;
  const { signBuilt } = (await import(pathToFileURL(join(dist, 'src', 'platform', 'victim.js')).href)) as { signBuilt(built: unknown, key: string, platform: unknown): Uint8Array };
  const crypto = W.lib.defaultCrypto();
  const built = W.buildImage({ module: new Uint8Array(readFileSync(join(fixtures, 'bench.wasm'))), interface: W.resolveEdl(join(fixtures, 'bench.edl')), config: { heapSize, tcsCount: 2 }, crypto });
  const platform = W.createPlatform();
  return W.loadEnclave(platform, built.image, { sigstruct: signBuilt(built, W.generateSigningKey(crypto).privateKeyPem, platform), ocalls: { ocall_empty: () => undefined }, arenaSize: 4 << 20 });
}
