/**
 * Compare this build's ECALL, OCALL or ECALL with buffers with another build's on a machine whose speed drifts:
 * `node dist/bench/pairs.js --base DIST [--figure ecall|ocall|inout] [--pairs N]`.
 *
 * Each pair runs `bench/micro.ts` for both builds at the same time, one per CPU (pinned with
 * `taskset` when there is one), then again with the CPUs swapped: both sides of a pair see the same
 * phase of the machine, and each CPU once. Runs one after another do not (this VM's speed moves by
 * up to 2× between them), and two builds in one process influence each other's compiled code.
 * Prints each run's times, each pair's ratio (this build / base: the geometric mean of its two
 * runs) and the median over the pairs. The machine must be otherwise idle: anything else running
 * takes a CPU from one side of a pair at random. Run it with this build as the base
 * first (an A/A run): the spread of its ratios is the noise to beat.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';

const { values } = parseArgs({ options: { base: { type: 'string' }, figure: { type: 'string', default: 'ocall' }, pairs: { type: 'string', default: '4' } } });
const figure = values.figure!;
const pairs = Number(values.pairs);
if (!values.base || (figure !== 'ecall' && figure !== 'ocall' && figure !== 'inout') || !Number.isInteger(pairs) || pairs < 1) {
  process.stderr.write('usage: node dist/bench/pairs.js --base DIST [--figure ecall|ocall|inout] [--pairs N]\n');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const micro = join(here, 'micro.js');
const mine = resolve(here, '..');
const base = resolve(values.base);
const pin = cpus().length >= 2 && spawnSync('taskset', ['-c', '0,1', 'true']).status === 0;

/** One run of micro.js for the build at `dist`, on CPU `cpu` when pinning works: ns per call. */
function run(dist: string, cpu: number): Promise<number> {
  const argv = [process.execPath, micro, figure, dist];
  const child = pin ? spawn('taskset', ['-c', String(cpu), ...argv]) : spawn(argv[0]!, argv.slice(1));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.pipe(process.stderr);
  return new Promise((ok, fail) => {
    child.on('close', (code) => {
      const ns = Number(out.trim().split(' ')[1]);
      if (code === 0 && Number.isFinite(ns)) ok(ns);
      else fail(new Error(`micro.js for ${dist} failed (exit ${code}): ${out}`));
    });
  });
}

// A pair's ratio is the geometric mean of its two runs' ratios: a CPU that is slower than the other
// (a contended vCPU) slows each build once, and cancels out.
const ratios: number[] = [];
for (let p = 0; p < pairs; p++) {
  const runs: number[] = [];
  for (const swap of [false, true]) {
    const [a, b] = await Promise.all([run(base, swap ? 1 : 0), run(mine, swap ? 0 : 1)]);
    runs.push(b / a);
    process.stdout.write(`  base ${a.toFixed(1)} ns, this ${b.toFixed(1)} ns: ${(b / a).toFixed(3)}${pin ? ` (base on CPU ${swap ? 1 : 0})` : ''}\n`);
  }
  const r = Math.sqrt(runs[0]! * runs[1]!);
  ratios.push(r);
  process.stdout.write(`pair ${p + 1}: ratio ${r.toFixed(3)}\n`);
}
ratios.sort((x, y) => x - y);
const mid = ratios.length >> 1;
const median = ratios.length % 2 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
process.stdout.write(`${figure}: median ratio ${median.toFixed(3)} (this build / base) over ${ratios.length} pairs, ${ratios.filter((r) => r < 1).length} faster\n`);
