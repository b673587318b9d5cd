import { parseArgs } from 'node:util';
import { decodeImage, loadEnclave, planInterface, type CanonicalInterface, type EcallArg, type OcallImpl } from '../../sdk/index.js';
import { createPlatform, createLinuxPlatform } from '../../platform/index.js';
import { WINDOWS_PROFILES, type WindowsProfileId } from '../../os/windows/index.js';
import { LINUX_PROFILES, isLinuxProfile } from '../../os/linux/index.js';
import { ecallArguments, ecallOutputs, valueText } from '../../platform/call.js';
import { PlatformError } from '../../platform/errors.js';
import { costReport, costLines, COST_SOURCE } from '../stats.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput } from '../files.js';
import { parseSeed } from '../values.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'run',
  usage: 'witness run IMAGE ECALL [ARGS...] [--profile P] [--seed HEX] [--stats] [--json]\n\n' +
    `  P: ${[...WINDOWS_PROFILES, ...LINUX_PROFILES].join(', ')} (a Linux profile loads through /dev/sgx_enclave);\n` +
    '  HEX: a platform seed of at least 16 bytes.\n' +
    '  Arguments follow the ECALL\'s EDL parameters: integers (decimal or 0x…, within the type\'s range)\n' +
    '  or decimal numbers for float/double values, an address for [user_check]; for [in] buffers\n' +
    '  text, hex:0011… or @FILE; for [string] parameters text; for [out] buffers anything (the size\n' +
    '  comes from size=/count=). OCALLs print their arguments and return 0.\n' +
    '  --stats: the SGX leaves and AEXs of the load and of the call, and what a cost model of SGX\n' +
    '  hardware prices them at (published cycle counts for transitions, paging and EEXTEND; the rest unpriced).',
  example: 'witness run hello.signed.wimg ecall_hello world - 64',
  run(argv: string[], io: Io): number {
    // A negative number (-1, -0x10, -.5) is an ECALL argument, never an option (no option starts with
    // a digit): it is hidden from parseArgs behind a NUL, which no command-line argument can hold.
    const negative = (a: string) => /^-(\.?[0-9])/.test(a);
    const parsed = parseArgs({ args: argv.map((a) => (negative(a) ? `\0${a}` : a)), options: { profile: { type: 'string' }, seed: { type: 'string' }, stats: { type: 'boolean' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    const values = parsed.values;
    const positionals = parsed.positionals.map((a) => (a.startsWith('\0') ? a.slice(1) : a));
    if (positionals.length < 2) throw new CliError('CLI_USAGE', 'expected IMAGE and ECALL (see --help)');
    const profile = values.profile;
    if (profile !== undefined && !WINDOWS_PROFILES.includes(profile as WindowsProfileId) && !isLinuxProfile(profile)) throw new CliError('CLI_PROFILE', `unknown profile ${profile} (one of ${[...WINDOWS_PROFILES, ...LINUX_PROFILES].join(', ')})`);
    const seed = values.seed !== undefined ? parseSeed(values.seed) : undefined;
    const [path, name, ...rest] = positionals as [string, string, ...string[]];
    const img = decodeImage(readInput(path));
    const plan = planInterface(img.manifest.interface as CanonicalInterface);
    const f = plan.ecalls.find((e) => e.name === name);
    if (!f) throw new CliError('CLI_ECALL', `${path} has no ECALL ${name} (it has ${plan.ecalls.map((e) => e.name).join(', ')})`);
    let args: EcallArg[];
    try {
      args = ecallArguments(f, rest, { readFile: readInput });
    } catch (e) {
      // The platform's codes for bad text, as this command's (exit 2).
      if (e instanceof PlatformError && (e.code === 'ECALL_ARG' || e.code === 'ECALL_ARGS')) throw new CliError(e.code === 'ECALL_ARG' ? 'CLI_ARG' : 'CLI_ARGS', e.message, 2, { ...e.data }, { cause: e });
      throw e;
    }
    const ocalls: Record<string, OcallImpl> = {};
    for (const o of plan.ocalls) ocalls[o.name] = (...xs) => {
      io.err(`ocall ${o.name}(${xs.map(valueText).join(', ')})`);
      return 0;
    };
    const platform = isLinuxProfile(profile)
      ? createLinuxPlatform({ profile, ...(seed !== undefined ? { seed } : {}) })
      : createPlatform({ ...(profile !== undefined ? { profile: profile as WindowsProfileId } : {}), ...(seed !== undefined ? { seed } : {}) });
    // The platform refusing to load (EnclaveLoadError) or a failed call (EnclaveCallError) is the negative
    // answer, exit 1; an image of the wrong shape (a bad configuration, a manifest that disagrees) is bad input, 2.
    const c0 = platform.processor.inspect.counters;
    const enclave = loadEnclave(platform, img, { ocalls });
    const c1 = platform.processor.inspect.counters;
    const result = enclave.ecall(name, args);
    const c2 = platform.processor.inspect.counters;
    enclave.destroy();
    const stats = values.stats ? { load: costReport(c1, c0), call: costReport(c2, c1), model: COST_SOURCE } : null;
    const outs = ecallOutputs(f, args);
    if (values.json) {
      io.out(toJson({ ecall: name, result: typeof result === 'bigint' ? result.toString() : result ?? null, out: Object.fromEntries(outs.map((o) => [o.name, o.hex])), ...(stats !== null ? { stats } : {}) }));
    } else {
      io.out(`${name} returned ${result === undefined ? '(void)' : String(result)}`);
      for (const o of outs) io.out(`  ${o.name}: ${o.text !== null ? JSON.stringify(o.text) : o.hex}`);
      if (stats !== null) {
        for (const line of [...costLines('load', stats.load), ...costLines('call', stats.call)]) io.out(line);
        io.out(`  (prices: ${stats.model})`);
      }
    }
    return 0;
  },
};
