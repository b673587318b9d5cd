import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { startWebServer, webViewFiles } from '../webserver.js';
import { checkOutputs, ensureDirectory, writeOutputs, type Output } from '../files.js';
import { CliError, type Io } from '../io.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'web',
  usage: 'witness web [--port N] [--host H] | --out DIR [--force]\n\n' +
    '  Serves the web view: the machine runs in your browser (a Web Worker), with the portable crypto\n' +
    '  provider instead of node:crypto; the page draws the EPC, the enclaves and the SGX leaves of the\n' +
    '  tour (the same run as witness demo) and of the hostile driver\'s attacks, and loads your own\n' +
    '  enclave (a signed image, or a module with its EDL, built and signed in the page) with a form\n' +
    '  for each ECALL.\n' +
    '  --port N  the port (default 8080; 0 for any free one)\n' +
    '  --host H  the address to listen on (default 127.0.0.1)\n' +
    '  Runs until interrupted (Ctrl-C).\n' +
    '  --out DIR  instead of serving, write the web view to DIR as a static site (the same files, for\n' +
    '             any web server, under any path); existing files are replaced only with --force',
  example: 'witness web --port 8080',
  async run(argv: string[], io: Io): Promise<number> {
    const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } }, strict: true });
    if (values.out !== undefined) {
      if (values.port !== undefined || values.host !== undefined) throw new CliError('CLI_USAGE', '--out writes the web view to a folder; --port and --host are for serving it');
      const out = values.out;
      const files = (await webViewFiles()).map((f): Output => ({ path: join(out, ...f.path.split('/').filter(Boolean)), data: f.data, options: { exclusive: values.force !== true } }));
      checkOutputs(files, '--force replaces it');
      for (const d of new Set(files.map((f) => dirname(f.path)))) ensureDirectory(d);
      writeOutputs(files);
      io.out(`witness web: wrote the web view (${files.length} files) to ${out}; serve that folder with any web server and open it`);
      return 0;
    }
    if (values.force !== undefined) throw new CliError('CLI_USAGE', '--force goes with --out');
    const port = values.port === undefined ? 8080 : /^\d{1,5}$/.test(values.port) && Number(values.port) <= 65535 ? Number(values.port) : NaN;
    if (Number.isNaN(port)) throw new CliError('CLI_PORT', `--port takes a port number (0 to 65535), got ${values.port}`);
    const server = await startWebServer({ port, host: values.host ?? '127.0.0.1' });
    io.out(`witness web: serving the web view at ${server.url} (Ctrl-C stops it)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};
