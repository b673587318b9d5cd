/**
 * The `witness` command line: a thin layer that declares commands and imports each one lazily,
 * with one error boundary (`reportError`) that turns errors into exit codes:
 *
 *   0   success
 *   1   a negative answer: the command did what was asked and the answer is no — a signature
 *       that does not verify, an enclave the platform refuses to load, an ECALL that fails
 *   2   bad input or usage: an unknown option, a missing or unreadable file, a file that is not
 *       what it should be (any other WitnessError: SdkError, EdlError, LibError, ArchError…)
 *   70  an internal error (a bug): printed with its stack by bin/witness.js
 *
 * Commands throw; they do not wrap a layer's error only to choose an exit code.
 */
import { CliError, processIo, type Io } from './io.js';
import { WitnessError } from '../lib/errors.js';
import { SdkError } from '../sdk/errors.js';
import { errnoCode, errnoText } from './files.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly example: string;
  run(argv: string[], io: Io): Promise<number> | number;
}

type Loader = () => Promise<Command>;

/** Every command: its one-line summary (the only copy: `--help` of the command shows it too), and its module, imported only when the command runs. */
const COMMANDS: Readonly<Record<string, { summary: string; load: Loader }>> = {
  demo: { summary: 'a tour: build, sign, create through the Windows API, call, look at memory three ways, seal, attest', load: async () => (await import('./commands/demo.js')).command },
  build: { summary: 'build an enclave image from a WebAssembly module, its EDL and a configuration', load: async () => (await import('./commands/build.js')).command },
  keygen: { summary: 'generate an enclave signing key (RSA-3072, e = 3)', load: async () => (await import('./commands/keygen.js')).command },
  sign: { summary: 'sign an enclave image (SIGSTRUCT), in one step or two (offline key / HSM)', load: async () => (await import('./commands/sign.js')).command },
  measure: { summary: 'print the MRENCLAVE of an enclave image or an SGXS stream', load: async () => (await import('./commands/measure.js')).command },
  inspect: { summary: 'print the layout and every field of an image, SIGSTRUCT, SGXS stream, REPORT, sealed blob…', load: async () => (await import('./commands/inspect.js')).command },
  run: { summary: 'load a signed image and make one ECALL from the shell', load: async () => (await import('./commands/run.js')).command },
  session: { summary: 'load one enclave (an image, or a module with its EDL) and make ECALLs and memory views from lines of standard input', load: async () => (await import('./commands/session.js')).command },
  shield: { summary: 'run an unmodified WASI program inside an enclave, shielded from the host (files sealed or checked, argv and environment measured)', load: async () => (await import('./commands/shield.js')).command },
  attack: { summary: "run the hostile driver's attack catalogue against a victim enclave holding a known secret", load: async () => (await import('./commands/attack.js')).command },
  platform: { summary: 'describe what a modelled platform offers (like is-sgx-available)', load: async () => (await import('./commands/platform.js')).command },
  sigstruct: { summary: 'verify a SIGSTRUCT and print every field', load: async () => (await import('./commands/sigstruct.js')).command },
  'verify-quote': { summary: 'verify a remote-attestation quote against a trusted root and PCS collateral; print the verdict and the enclave', load: async () => (await import('./commands/verify-quote.js')).command },
  edl: { summary: 'parse and check an EDL file (imports followed), print its interface', load: async () => (await import('./commands/edl.js')).command },
  web: { summary: 'serve the web view: the machine runs in a browser; the EPC, the enclaves and the SGX leaves of the tour and the attacks, drawn; your own enclaves loaded and called', load: async () => (await import('./commands/web.js')).command },
};

function help(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length));
  return [
    'witness — Intel SGX enclaves, modelled in TypeScript',
    '',
    'usage: witness <command> [options]',
    '       witness --version',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(w)}  ${COMMANDS[n]!.summary}`),
    '',
    'Run `witness <command> --help` for a command\'s options and an example.',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  const summary = Object.hasOwn(COMMANDS, c.name) ? COMMANDS[c.name]!.summary : '';
  return [`${c.name}: ${summary}`, '', `usage: ${c.usage}`, '', 'example:', `  ${c.example}`].join('\n');
}

/** The package's version, from its package.json (two folders above dist/src/cli/). */
function packageVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }).version;
  } catch (e) {
    throw new CliError('CLI_VERSION', `cannot read the version from ${fileURLToPath(url)}: ${errnoCode(e) ? errnoText(errnoCode(e)!) : String(e)}`, 70, {}, { cause: e });
  }
  if (typeof version !== 'string') throw new CliError('CLI_VERSION', `${fileURLToPath(url)} has no version`, 70);
  return version;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    try {
      io.out(`witness ${packageVersion()}`);
      return 0;
    } catch (e) {
      return await reportError('--version', e, io);
    }
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    io.err(`witness: unknown command '${name}' (see witness --help)`);
    return 2;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(cmd));
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    return await reportError(name, e, io);
  }
}

/** SdkError codes that are a negative answer (exit 1) rather than bad input. */
const NEGATIVE_SDK_CODES: ReadonlySet<string> = new Set(['SIGN_BAD_SIGNATURE']);
/** EnclaveLoadError codes for an image of the wrong shape: bad input (exit 2) in every command, not the platform's refusal. */
const BAD_IMAGE_LOAD_CODES: ReadonlySet<string> = new Set(['CONFIG_INVALID', 'INTERFACE_INVALID', 'MANIFEST_MISMATCH']);

/** Whether a Witness error is a command's negative answer (exit 1); see the table at the top. */
async function isNegativeAnswer(e: WitnessError): Promise<boolean> {
  if (!(e instanceof SdkError)) return false;
  if (NEGATIVE_SDK_CODES.has(e.code)) return true;
  if (BAD_IMAGE_LOAD_CODES.has(e.code)) return false;
  // Imported here, on the error path only: the host runtime is a large module.
  const { EnclaveLoadError, EnclaveCallError } = await import('../sdk/host/enclave.js');
  return e instanceof EnclaveLoadError || e instanceof EnclaveCallError;
}

/**
 * The error boundary: prints one line for an error a user can cause and returns its exit code
 * (see the table at the top); rethrows anything else (an internal error: bin/witness.js prints it
 * with its stack, exit 70).
 */
export async function reportError(command: string, e: unknown, io: Io): Promise<number> {
  if (e instanceof CliError) {
    io.err(`witness ${command}: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof WitnessError) {
    io.err(`witness ${command}: ${e.message} [${e.code}]`);
    return (await isNegativeAnswer(e)) ? 1 : 2;
  }
  if (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
    // (One line: parseArgs explains an option argument that starts with a dash over three.)
    io.err(`witness ${command}: ${e.message.split('\n').join(' ')}`);
    return 2;
  }
  // A backstop for file access that did not go through files.ts: a system error on a path is
  // bad input (a missing file or folder, no permission), not an internal error.
  const errno = errnoCode(e);
  const path = (e as { path?: unknown } | null)?.path;
  if (errno !== null && typeof path === 'string') {
    io.err(`witness ${command}: ${path}: ${errnoText(errno)}`);
    return 2;
  }
  throw e;
}
