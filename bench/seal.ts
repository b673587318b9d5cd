/**
 * Sealing measured in parts, for comparing builds (the eleventh session's numbers in BENCHMARKS.md):
 * `node dist/bench/seal.js [DIST] [--pairs N]` loads the Witness build in DIST (another checkout's
 * `dist`; default: this one) and prints
 * - `fixed`: a seal of 16 bytes, back to back (median µs of 9 blocks): what a seal costs besides its GCM;
 * - `pairs`: N (default 600) seals of 1 MiB, each followed by the `seal_1mib` baseline (node:crypto
 *   AES-128-GCM in 64 KiB pieces into a preallocated buffer), timed one by one: the median of the
 *   pairs' ratios (baseline / seal), and the same over the quiet pairs only (both under 1 ms: this VM
 *   runs bursts of ~10× slower operation, in which both sides slow alike).
 * Alternate processes of two builds (this one, then the other, several times): runs one after
 * another on this VM see different phases of the machine.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { loadBenchEnclave } from './under-test.js';

const args = process.argv.slice(2);
const pairsAt = args.indexOf('--pairs');
const PAIRS = pairsAt >= 0 ? Number(args[pairsAt + 1]) : 600;
const distArg = args.find((a, i) => !a.startsWith('--') && (i === 0 || args[i - 1] !== '--pairs'));
if (!(Number.isInteger(PAIRS) && PAIRS >= 10)) {
  process.stderr.write('usage: node dist/bench/seal.js [DIST] [--pairs N ≥ 10]\n');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const enclave = await loadBenchEnclave(resolve(distArg ?? join(here, '..')), 8 << 20);
const N = 1 << 20;
enclave.ecall('ecall_fill', [N, 7]);
const seal = (n: number): void => {
  const r = enclave.ecall('ecall_seal', [n]);
  if (r !== 0) throw new Error(`seal failed: ${String(r)}`);
};
const us = (): number => Number(process.hrtime.bigint()) / 1e3;
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;

// A seal of 16 bytes, back to back.
const blocks: number[] = [];
for (let i = 0; i < 2000; i++) seal(16);
for (let b = 0; b < 9; b++) {
  const t = us();
  for (let i = 0; i < 2000; i++) seal(16);
  blocks.push((us() - t) / 2000);
}

// 1 MiB seals and baselines, one by one.
const plain = randomBytes(N), key = randomBytes(16), iv = Buffer.alloc(12), sink = new Uint8Array(N);
const all: number[] = [], quiet: number[] = [];
for (let i = 0; i < PAIRS + 30; i++) {
  const t0 = us();
  seal(N);
  const t1 = us();
  const c = createCipheriv('aes-128-gcm', key, iv);
  for (let o = 0; o < N; o += 65536) sink.set(c.update(plain.subarray(o, o + 65536)), o);
  c.final();
  c.getAuthTag();
  const t2 = us();
  if (i < 30) continue; // warm-up
  const s = t1 - t0, b = t2 - t1;
  all.push(b / s);
  if (s < 1000 && b < 1000) quiet.push(b / s);
}
process.stdout.write(`fixed ${median(blocks).toFixed(1)} µs per 16-byte seal\n`);
process.stdout.write(`pairs ${all.length}: median ratio ${median(all).toFixed(3)}; quiet pairs ${quiet.length}: ${quiet.length ? median(quiet).toFixed(3) : '-'}\n`);
