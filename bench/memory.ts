/**
 * The `memory` figure, run in a child process of bench/run.ts (`node --expose-gc`) so that nothing
 * else the benchmark allocated is counted: RSS after a forced collection, before the platform is
 * created and after an enclave with a heap of MIB MiB has been built and MIB − 2 MiB of that heap
 * written (what the enclave's allocator hands out; the rest holds the module's own data and stack).
 * Prints one JSON object: { rssBefore, rssAfter, heapBytes, writtenBytes }; the figure is RSS
 * growth per byte written.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createPlatform, buildImage, resolveEdl, generateSigningKey, loadEnclave, lib } from 'witness';
import { signBuilt } from '../src/platform/victim.js';

const MIB = Number(process.argv[2] ?? 256);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('bench/memory: run with node --expose-gc');

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../bench/fixtures');
const crypto = lib.defaultCrypto();
const key = generateSigningKey(crypto).privateKeyPem;
const module = new Uint8Array(readFileSync(join(fixtures, 'bench.wasm')));
const edl = resolveEdl(join(fixtures, 'bench.edl'));

// Warm every code path on a small enclave first, so that compiled code is not counted.
{
  const p = createPlatform({ epcSize: 16 << 20 });
  const built = buildImage({ module, interface: edl, config: { heapSize: 1 << 20, tcsCount: 1 }, crypto });
  const e = loadEnclave(p, built.image, { sigstruct: signBuilt(built, key, p), ocalls: { ocall_empty: () => undefined } });
  if (e.ecall('ecall_touch', [512 << 10]) !== 0) throw new Error('bench/memory: warm-up allocation failed');
  e.destroy();
}
gc();
gc();
const rssBefore = process.memoryUsage().rss;
const platform = createPlatform({ epcSize: (MIB + 16) << 20 });
// Built in a function so that the image (the host's file, not the enclave's memory) can be collected.
function load() {
  const built = buildImage({ module, interface: edl, config: { heapSize: MIB << 20, tcsCount: 2 }, crypto });
  return loadEnclave(platform, built.image, { sigstruct: signBuilt(built, key, platform), ocalls: { ocall_empty: () => undefined } });
}
const enclave = load();
const writtenBytes = (MIB - 2) << 20;
if (enclave.ecall('ecall_touch', [writtenBytes]) !== 0) throw new Error('bench/memory: the enclave could not allocate its heap');
gc();
gc();
const rssAfter = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ rssBefore, rssAfter, heapBytes: MIB << 20, writtenBytes }) + '\n');
enclave.destroy();
