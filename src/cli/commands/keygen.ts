import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { generateSigningKey } from '../../sdk/index.js';
import { defaultCrypto, toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { writeOutput } from '../files.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'keygen',
  usage: 'witness keygen --out KEY.pem [--public-out PUB.pem] [--force] [--json]\n\n' +
    '  KEY.pem is written with mode 0600. An existing KEY.pem or PUB.pem is not replaced unless\n' +
    '  --force is given (a replaced KEY.pem gets mode 0600 too).',
  example: 'witness keygen --out enclave-key.pem --public-out enclave-key.pub.pem',
  run(argv: string[], io: Io): number {
    const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, 'public-out': { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } }, strict: true });
    if (!values.out) throw new CliError('CLI_USAGE', '--out KEY.pem is required');
    const force = values.force === true;
    const targets = [values.out, ...(values['public-out'] ? [values['public-out']] : [])];
    if (targets[1] === targets[0]) throw new CliError('CLI_USAGE', '--out and --public-out name the same file');
    // Checked before the (slow) key generation and before either file is written; the writes
    // themselves are exclusive too, so a file that appears in between is not replaced either.
    if (!force) {
      for (const t of targets) if (existsSync(t)) throw new CliError('CLI_EXISTS', `${t} already exists; --force replaces it`, 2, { path: t });
    }
    const crypto = defaultCrypto();
    const k = generateSigningKey(crypto);
    writeOutput(values.out, k.privateKeyPem, { mode: 0o600, exclusive: !force });
    if (values['public-out']) writeOutput(values['public-out'], k.publicKeyPem, { exclusive: !force });
    const { modulus } = crypto.rsaPublicNumbers(k.publicKeyPem);
    const mrsigner = toHex(crypto.sha256(Uint8Array.from(modulus).reverse()));
    if (values.json) io.out(toJson({ key: values.out, publicKey: values['public-out'] ?? null, mrsigner }));
    else io.out(`wrote ${values.out} (RSA-3072, e = 3); MRSIGNER ${mrsigner}`);
    return 0;
  },
};
