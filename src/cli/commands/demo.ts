import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { tour, tourText, TOUR_SEED } from '../../platform/tour.js';
import { collateralToJson } from '../../attest/index.js';
import type { Io } from '../io.js';
import { parseSeed } from '../values.js';
import { checkOutputs, ensureDirectory, writeOutputs, type Output } from '../files.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'demo',
  usage: 'witness demo [--seed HEX] [--quote-out DIR [--force]]\n\n' +
    '  --seed HEX       the platform seed (at least 16 bytes of hex): the same seed is the same machine\n' +
    '                   (the same fuse keys, so the same sealing keys, and the same simulated PCS keys)\n' +
    '  --quote-out DIR  write the remote-attestation step\'s quote.bin, root.pem and collateral.json\n' +
    '                   to DIR (created if missing), for witness verify-quote; existing files are not\n' +
    '                   replaced unless --force is given',
  example: 'witness demo --quote-out quote && witness verify-quote quote/quote.bin --root quote/root.pem --collateral quote/collateral.json',
  run(argv: string[], io: Io): number {
    const { values } = parseArgs({ args: argv, options: { seed: { type: 'string' }, 'quote-out': { type: 'string' }, force: { type: 'boolean' } }, strict: true });
    const quoteDir = values['quote-out'];
    const exclusive = values.force !== true;
    const quoteFiles = quoteDir === undefined ? [] : ['quote.bin', 'root.pem', 'collateral.json'].map((f) => ({ path: join(quoteDir, f), options: { exclusive } }));
    // Checked before the tour too (the writes at the end are all-or-none and exclusive as well).
    checkOutputs(quoteFiles, '--force replaces it');
    const t0 = Date.now();
    const say = (s = '') => io.out(s);
    const seed = values.seed !== undefined ? parseSeed(values.seed) : TOUR_SEED;
    say('Witness demo: an Intel SGX machine modelled in TypeScript.\n');
    for (const s of tour({ seed })) {
      for (const line of tourText(s)) say(line);
      if (s.step === 'remote-attestation' && quoteDir !== undefined) {
        ensureDirectory(quoteDir);
        const data = [s.quote, s.rootPem, collateralToJson(s.collateral)];
        writeOutputs(quoteFiles.map((f, k): Output => ({ ...f, data: data[k]! })));
        say(`   wrote ${quoteFiles.map((f) => f.path).join(', ')}`);
      }
      if (s.step === 'remote-attestation') say('');
    }
    say(`\nDone in ${((Date.now() - t0) / 1000).toFixed(1)} s. Next: \`witness attack\` runs a hostile driver against an enclave.`);
    return 0;
  },
};
