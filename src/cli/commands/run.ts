import { parseArgs } from 'node:util';
import { decodeImage, loadEnclave, planInterface, EnclaveCallError, EnclaveLoadError, type CanonicalInterface, type EcallArg, type OcallImpl } from '../../sdk/index.js';
import { createPlatform } from '../../platform/index.js';
import { bufferLength } from '../../sdk/marshal.js';
import { fromHex, toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput } from '../files.js';
import type { Command } from '../main.js';

function printable(b: Uint8Array): string | null {
  const end = b.indexOf(0) >= 0 ? b.indexOf(0) : b.length;
  const t = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, end));
  return /^[\x20-\x7e\n\t]*$/.test(t) && end > 0 ? t : null;
}

export const command: Command = {
  name: 'run',
  summary: 'load a signed image and make one ECALL from the shell',
  usage: 'witness run IMAGE ECALL [ARGS...] [--profile P] [--seed HEX] [--json]\n\n' +
    '  Arguments follow the ECALL\'s EDL parameters: numbers for values (0x… accepted); for [in] buffers\n' +
    '  text, hex:0011… or @FILE; for [string] parameters text; for [out] buffers anything (the size\n' +
    '  comes from size=/count=). OCALLs print their arguments and return 0.',
  example: 'witness run hello.signed.wimg ecall_hello world - 64',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({ args: argv, options: { profile: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length < 2) throw new CliError('CLI_USAGE', 'expected IMAGE and ECALL (see --help)');
    const [path, name, ...rest] = positionals as [string, string, ...string[]];
    const img = decodeImage(readInput(path));
    const plan = planInterface(img.manifest.interface as CanonicalInterface);
    const f = plan.ecalls.find((e) => e.name === name);
    if (!f) throw new CliError('CLI_ECALL', `${path} has no ECALL ${name} (it has ${plan.ecalls.map((e) => e.name).join(', ')})`);
    if (rest.length !== f.params.length) throw new CliError('CLI_ARGS', `${name} takes ${f.params.length} arguments (${f.params.map((p) => p.name).join(', ')}), got ${rest.length}`);
    const vals = f.params.map((p, i) => (p.kind === 'value' ? (p.wasm === 'i64' ? BigInt(rest[i]!) : Number(rest[i]!)) : undefined));
    const args: EcallArg[] = f.params.map((p, i) => {
      const a = rest[i]!;
      if (p.kind === 'value') return p.float ? Number(a) : p.wasm === 'i64' ? BigInt(a) : Number(a);
      if (p.kind === 'user_check') return Number(a);
      if (p.string) return a;
      if (p.direction === 'out') return new Uint8Array(Math.max(0, bufferLength(p, vals)));
      const bytes = a.startsWith('hex:') ? fromHex(a.slice(4)) : a.startsWith('@') ? readInput(a.slice(1)) : new TextEncoder().encode(a);
      const len = Math.max(0, bufferLength(p, vals));
      const buf = new Uint8Array(Math.max(len, bytes.length));
      buf.set(bytes);
      return buf;
    });
    const ocalls: Record<string, OcallImpl> = {};
    for (const o of plan.ocalls) ocalls[o.name] = (...xs) => {
      io.err(`ocall ${o.name}(${xs.map((x) => (x instanceof Uint8Array ? (printable(x) !== null ? JSON.stringify(printable(x)) : toHex(x)) : JSON.stringify(typeof x === 'bigint' ? x.toString() : x))).join(', ')})`);
      return 0;
    };
    const platform = createPlatform({ ...(values.profile ? { profile: values.profile as 'win-x64-sgx1' } : {}), ...(values.seed ? { seed: fromHex(values.seed) } : {}) });
    let result;
    try {
      const e = loadEnclave(platform, img, { ocalls });
      result = e.ecall(name, args);
      e.destroy();
    } catch (e) {
      if (e instanceof EnclaveCallError || e instanceof EnclaveLoadError) throw new CliError(e.code, e.message, 1, {}, { cause: e });
      throw e;
    }
    const outs = f.params.map((p, i) => ({ p, a: args[i] })).filter((x) => x.p.kind === 'buffer' && (x.p.direction === 'out' || x.p.direction === 'inout'));
    if (values.json) {
      io.out(toJson({ ecall: name, result: typeof result === 'bigint' ? result.toString() : result ?? null, out: Object.fromEntries(outs.map((o) => [o.p.name, toHex(o.a as Uint8Array)])) }));
    } else {
      io.out(`${name} returned ${result === undefined ? '(void)' : String(result)}`);
      for (const o of outs) {
        const b = o.a as Uint8Array;
        io.out(`  ${o.p.name}: ${printable(b) !== null ? JSON.stringify(printable(b)) : toHex(b)}`);
      }
    }
    return 0;
  },
};
