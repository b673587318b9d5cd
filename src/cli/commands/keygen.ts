import { parseArgs } from 'node:util';
import { generateSigningKey } from '../../sdk/index.js';
import { mrsignerOfModulus } from '../../arch/index.js';
import { defaultCrypto, toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { checkOutputs, writeOutputs } from '../files.js';
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
    const exclusive = values.force !== true;
    const pub = values['public-out'];
    const targets = [{ path: values.out, options: { mode: 0o600, exclusive } }, ...(pub ? [{ path: pub, options: { exclusive } }] : [])];
    // Checked before the (slow) key generation too; the writes are all-or-none and exclusive, so a
    // file that appears in between is not replaced either.
    checkOutputs(targets, '--force replaces it');
    const crypto = defaultCrypto();
    const k = generateSigningKey(crypto);
    writeOutputs([{ ...targets[0]!, data: k.privateKeyPem }, ...(pub ? [{ ...targets[1]!, data: k.publicKeyPem }] : [])]);
    const mrsigner = toHex(mrsignerOfModulus(crypto.rsaPublicNumbers(k.publicKeyPem).modulus, crypto));
    if (values.json) io.out(toJson({ key: values.out, publicKey: values['public-out'] ?? null, mrsigner }));
    else io.out(`wrote ${values.out} (RSA-3072, e = 3); MRSIGNER ${mrsigner}`);
    return 0;
  },
};
