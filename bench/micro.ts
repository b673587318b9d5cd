/**
 * One transition measured alone, for comparing two builds (`bench/pairs.ts`):
 * `node dist/bench/micro.js <ecall|ocall|inout> [DIST]` loads the Witness build in DIST (another
 * checkout's `dist`; default: this one), runs an empty ECALL (ocall: an ECALL making 5,000 empty
 * OCALLs; inout: an ECALL with a 64-byte `in` and a 64-byte `out` buffer) in blocks after a
 * warm-up, and prints the median nanoseconds per call of 15 blocks as `<figure> <ns>`. The enclave
 * is bench/run.ts's, loaded through the build under test by bench/under-test.ts.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { loadBenchEnclave } from './under-test.js';

const figure = process.argv[2];
if (figure !== 'ecall' && figure !== 'ocall' && figure !== 'inout') {
  process.stderr.write('usage: node dist/bench/micro.js <ecall|ocall|inout> [DIST]\n');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const enclave = await loadBenchEnclave(resolve(process.argv[3] ?? join(here, '..')), 4 << 20);

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
