import { parseArgs } from 'node:util';
import { generateSigningKey } from '../../sdk/index.js';
import { defaultCrypto, toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { writeOutput } from '../files.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'keygen',
  summary: 'generate an enclave signing key (RSA-3072, e = 3)',
  usage: 'witness keygen --out KEY.pem [--public-out PUB.pem] [--json]',
  example: 'witness keygen --out enclave-key.pem --public-out enclave-key.pub.pem',
  run(argv: string[], io: Io): number {
    const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, 'public-out': { type: 'string' }, json: { type: 'boolean' } }, strict: true });
    if (!values.out) throw new CliError('CLI_USAGE', '--out KEY.pem is required');
    const crypto = defaultCrypto();
    const k = generateSigningKey(crypto);
    writeOutput(values.out, k.privateKeyPem, { mode: 0o600 });
    if (values['public-out']) writeOutput(values['public-out'], k.publicKeyPem);
    const { modulus } = crypto.rsaPublicNumbers(k.publicKeyPem);
    const mrsigner = toHex(crypto.sha256(Uint8Array.from(modulus).reverse()));
    if (values.json) io.out(toJson({ key: values.out, publicKey: values['public-out'] ?? null, mrsigner }));
    else io.out(`wrote ${values.out} (RSA-3072, e = 3); MRSIGNER ${mrsigner}`);
    return 0;
  },
};
