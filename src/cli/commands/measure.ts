import { parseArgs } from 'node:util';
import { measureSgxs, SgxsError } from '../../arch/index.js';
import { isImage, decodeImage, SdkError } from '../../sdk/index.js';
import { defaultCrypto, toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput } from '../files.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'measure',
  usage: 'witness measure IMAGE|FILE.sgxs [--json]   (the measurement is recomputed from the pages)',
  example: 'witness measure enclave.sgxs --json',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new CliError('CLI_USAGE', 'expected exactly one input file (see --help)');
    let bytes = readInput(positionals[0]!);
    let r;
    try {
      if (isImage(bytes)) bytes = decodeImage(bytes).sgxs;
      r = measureSgxs(bytes, defaultCrypto());
    } catch (e) {
      if (e instanceof SgxsError || e instanceof SdkError) throw new CliError('CLI_NOT_SGXS', `${positionals[0]} is neither an enclave image nor a valid SGXS stream: ${e.message}`, 2, {}, { cause: e });
      throw e;
    }
    if (values.json) io.out(toJson({ mrenclave: toHex(r.mrenclave), pages: r.pages, size: r.size }));
    else io.out(toHex(r.mrenclave));
    return 0;
  },
};
