/**
 * One transition measured alone, for comparing two builds (`bench/pairs.ts`):
 * `node dist/bench/micro.js <ecall|ocall|inout> [DIST]` loads the Witness build in DIST (another
 * checkout's `dist`; default: this one), runs an empty ECALL (ocall: an ECALL making 5,000 empty
 * OCALLs; inout: an ECALL with a 64-byte `in` and a 64-byte `out` buffer) in blocks after a
 * warm-up, and prints the median nanoseconds per call of 15 blocks as `<figure> <ns>`. The enclave
 * is bench/run.ts's, set up here again because the build under test is loaded by path (any build
 * with the package's API as of the first benchmarks: createPlatform, buildImage, loadEnclave, …);
 * the fixtures are this checkout's (bench/fixtures).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const figure = process.argv[2];
if (figure !== 'ecall' && figure !== 'ocall' && figure !== 'inout') {
  process.stderr.write('usage: node dist/bench/micro.js <ecall|ocall|inout> [DIST]\n');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const dist = resolve(process.argv[3] ?? join(here, '..'));
const fixtures = join(here, '..', '..', 'bench', 'fixtures');

/** The parts of a build's API this uses (as loose as an older build may need). */
interface Api {
  createPlatform(): unknown;
  buildImage(o: { module: Uint8Array; interface: unknown; config: { heapSize: number; tcsCount: number }; crypto: unknown }): { image: unknown };
  resolveEdl(path: string): unknown;
  generateSigningKey(crypto: unknown): { privateKeyPem: string };
  loadEnclave(platform: unknown, image: unknown, o: { sigstruct: Uint8Array; ocalls: Record<string, () => void>; arenaSize: number }): { ecall(name: string, args: unknown[]): unknown };
  lib: { defaultCrypto(): unknown };
}
const W = (await import(pathToFileURL(join(dist, 'src', 'index.js')).href)) as Api;
const { signBuilt } = (await import(pathToFileURL(join(dist, 'src', 'platform', 'victim.js')).href)) as { signBuilt(built: unknown, key: string, platform: unknown): Uint8Array };

const crypto = W.lib.defaultCrypto();
const built = W.buildImage({ module: new Uint8Array(readFileSync(join(fixtures, 'bench.wasm'))), interface: W.resolveEdl(join(fixtures, 'bench.edl')), config: { heapSize: 4 << 20, tcsCount: 2 }, crypto });
const platform = W.createPlatform();
const enclave = W.loadEnclave(platform, built.image, { sigstruct: signBuilt(built, W.generateSigningKey(crypto).privateKeyPem, platform), ocalls: { ocall_empty: () => undefined }, arenaSize: 4 << 20 });

const K = 5000;
const inb = new Uint8Array(64).fill(7), outb = new Uint8Array(64);
const block = figure === 'ocall'
  ? (): void => void enclave.ecall('ecall_ocall_loop', [K])
  : figure === 'inout'
    ? (): void => {
      for (let i = 0; i < K; i++) enclave.ecall('ecall_inout', [inb, outb]);
    }
    : (): void => {
      for (let i = 0; i < K; i++) enclave.ecall('ecall_empty', []);
    };
for (let i = 0; i < 400; i++) block();
const ns: number[] = [];
for (let i = 0; i < 15; i++) {
  const t = process.hrtime.bigint();
  for (let j = 0; j < 8; j++) block();
  ns.push(Number(process.hrtime.bigint() - t) / (8 * K));
}
ns.sort((a, b) => a - b);
process.stdout.write(`${figure} ${ns[7]!.toFixed(1)}\n`);
