import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { Workbench, WORKBENCH_PROFILES, type WorkbenchProfile, type LoadedEnclave } from '../../platform/workbench.js';
import { parseCount } from '../../platform/call.js';
import { outcomeLines, memoryViewLines } from '../../platform/results.js';
import { WitnessError } from '../../lib/errors.js';
import { CliError, type Io } from '../io.js';
import { readInput } from '../files.js';
import { parseSeed } from '../values.js';
import { costLines } from '../stats.js';
import type { Command } from '../main.js';

/**
 * One line of a session as words, as a shell splits them: blanks separate; "double quotes" keep
 * blanks (with \" and \\ inside), 'single quotes' keep everything.
 * @throws {CliError} `CLI_LINE` for an unterminated quote.
 */
export function words(line: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== null) out.push(word);
      word = null;
    } else if (c === '"' || c === "'") {
      const end = c === "'" ? line.indexOf("'", i + 1) : (() => {
        for (let j = i + 1; j < line.length; j++) {
          if (line[j] === '\\') j++;
          else if (line[j] === '"') return j;
        }
        return -1;
      })();
      if (end < 0) throw new CliError('CLI_LINE', `an unterminated ${c === '"' ? 'double' : 'single'} quote`);
      const inner = line.slice(i + 1, end);
      word = (word ?? '') + (c === '"' ? inner.replace(/\\(["\\])/g, '$1') : inner);
      i = end;
    } else word = (word ?? '') + c;
  }
  if (word !== null) out.push(word);
  return out;
}

export const command: Command = {
  name: 'session',
  usage: 'witness session FILE... [--profile P] [--seed HEX]\n\n' +
    '  Loads one enclave, as the web view\'s workbench does: FILE is a signed image (.wimg), an unsigned\n' +
    '  one (signed here with a key made for the session), or a module (.wasm) with its EDL files and at\n' +
    '  most one configuration (.json), built and signed here. Then reads commands, one per line, from\n' +
    '  standard input (a terminal, with a prompt, or a script), on the same loaded enclave:\n' +
    '    ECALL ARGS...                     call it (ARGS as witness run takes them; quote with " or \')\n' +
    '    peek pointer|linear ADDRESS LEN   LEN bytes (at most 256) as ring 0, DRAM and a debugger see them\n' +
    '    ecalls                            its ECALLs and what each parameter takes\n' +
    '    quit                              end (as the end of the input does)\n' +
    '    call ECALL ARGS...                the same as ECALL ARGS... (for an ECALL named like a command)\n' +
    '  Blank lines and lines starting with # are skipped. A line that fails says why on standard error\n' +
    '  and the session goes on; the exit status is 1 if any line failed.\n' +
    `  P: ${WORKBENCH_PROFILES.join(', ')}.`,
  example: 'witness session hello.signed.wimg < calls.txt',
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseArgs({ args: argv, options: { profile: { type: 'string' }, seed: { type: 'string' } }, allowPositionals: true, strict: true });
    if (positionals.length === 0) throw new CliError('CLI_USAGE', 'expected the enclave\'s FILEs (see --help)');
    const profile = values.profile ?? 'win-x64-sgx1';
    if (!WORKBENCH_PROFILES.includes(profile as WorkbenchProfile)) throw new CliError('CLI_PROFILE', `unknown profile ${profile} (one of ${WORKBENCH_PROFILES.join(', ')})`);
    const seed = values.seed !== undefined ? parseSeed(values.seed) : undefined;
    const files = positionals.map((p) => ({ name: p, bytes: readInput(p) }));
    const bench = new Workbench({ profile: profile as WorkbenchProfile, ...(seed !== undefined ? { seed } : {}) });
    // A load the platform refuses ends the session as `witness run` ends (exit 1); bad files are bad input (2).
    let e: LoadedEnclave;
    try {
      e = bench.load(files);
    } catch (err) {
      bench.dispose();
      throw err;
    }
    io.out(`loaded ${e.name} (${e.origin}) on ${profile}: MRENCLAVE ${e.mrenclave}, MRSIGNER ${e.mrsigner}${e.debug ? ', DEBUG' : ''}`);
    io.out(`  ECALLs: ${e.ecalls.map((f) => f.name).join(', ')}`);
    let failed = 0;
    /** One line: false for quit. A line that fails is said on stderr with its number, and the session goes on. */
    const runLine = (line: string, n: number): boolean => {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return true;
      try {
        const [verb, ...rest] = words(trimmed);
        if (verb === 'quit' || verb === 'exit') return false;
        if (verb === 'ecalls') {
          for (const f of e.ecalls) io.out(`${f.returns ?? 'void'} ${f.name}(${f.params.map((p) => p.hint).join('; ')})`);
        } else if (verb === 'peek') {
          if (rest.length !== 3 || (rest[0] !== 'pointer' && rest[0] !== 'linear')) throw new CliError('CLI_LINE', 'peek takes pointer|linear ADDRESS LENGTH');
          const address = parseCount(rest[1]!, 'address');
          const v = bench.peek(e.id, rest[0] === 'pointer' ? { pointer: address } : { linear: address }, parseCount(rest[2]!, 'length'));
          const [where, ...views] = memoryViewLines(v);
          io.out(`memory at ${where}`);
          for (const l of views) io.out(`  ${l}`);
        } else {
          // (`call NAME ARGS...` reaches an ECALL named like one of the commands)
          const [name, args] = verb === 'call' && rest.length > 0 ? [rest[0]!, rest.slice(1)] : [verb!, rest];
          const r = bench.call(e.id, name, args);
          const [returned, ...rest2] = outcomeLines(r);
          io.out(`${r.ecall} ${returned}`);
          for (const l of rest2) io.out(`  ${l}`);
          for (const l of costLines('  leaves', r.cost)) io.out(l);
        }
      } catch (err) {
        if (!(err instanceof WitnessError)) throw err;
        failed++;
        io.err(`line ${n}: ${err.name} ${err.code}: ${err.message}`);
      }
      return true;
    };
    // At a terminal, a prompt before each line (and readline's editing); from a script, none.
    const tty = Boolean(process.stdin.isTTY) && io.isTty;
    const lines = tty
      ? createInterface({ input: process.stdin, output: process.stdout, terminal: true, prompt: 'witness> ' })
      : createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    try {
      let n = 0;
      if (tty) lines.prompt();
      for await (const line of lines) {
        if (!runLine(line, ++n)) break;
        if (tty) lines.prompt();
      }
    } finally {
      lines.close();
      bench.dispose();
    }
    return failed > 0 ? 1 : 0;
  },
};
