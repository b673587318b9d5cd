import { parseArgs } from 'node:util';
import { resolveEdl, buildImage, encodeImage, type EnclaveConfigJson } from '../../sdk/index.js';
import { readEdlFile } from '../../sdk/edl/index.js';
import { toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput, readText, writeOutput } from '../files.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'build',
  usage: 'witness build MODULE.wasm --edl FILE.edl [--config CONFIG.json] [--search-path DIR]... --out IMAGE.wimg [--json]\n\n' +
    '  CONFIG.json: { "isvProdId", "isvSvn", "debug", "provisionKey", "miscSelect", "xfrm", "heapSize", "heapMaxSize", "tcsCount", "ssaFrames" }',
  example: 'witness build enclave.wasm --edl hello.edl --config enclave.json --out hello.wimg',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({ args: argv, options: { edl: { type: 'string' }, config: { type: 'string' }, 'search-path': { type: 'string', multiple: true }, out: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1 || !values.edl || !values.out) throw new CliError('CLI_USAGE', 'expected MODULE.wasm, --edl and --out (see --help)');
    const module = readInput(positionals[0]!);
    let config: EnclaveConfigJson = {};
    if (values.config) {
      try {
        config = JSON.parse(readText(values.config)) as EnclaveConfigJson;
      } catch (e) {
        if (e instanceof CliError) throw e;
        throw new CliError('CLI_CONFIG', `${values.config} is not JSON`, 2, {}, { cause: e });
      }
      // null or a number is JSON too, but not a configuration object.
      if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new CliError('CLI_CONFIG', `${values.config} does not hold a JSON object`);
    }
    const edlPath = values.edl;
    const edlText = readText(edlPath);
    const started = Date.now();
    const iface = resolveEdl(edlPath, { searchPaths: values['search-path'] ?? [], readFile: (p) => (p === edlPath ? edlText : readEdlFile(p)) });
    if (io.isTty && module.length > 16 << 20) io.err('building (measuring the image)…');
    const built = buildImage({ module, interface: iface, config });
    writeOutput(values.out, encodeImage(built.image));
    const mr = toHex(built.mrenclave);
    if (values.json) io.out(toJson({ image: values.out, mrenclave: mr, size: built.layout.size, pages: built.layout.pages.length }));
    else io.out(`wrote ${values.out}: MRENCLAVE ${mr}, ELRANGE 0x${built.layout.size.toString(16)}, ${built.layout.pages.length} pages (${Date.now() - started} ms)`);
    return 0;
  },
};
