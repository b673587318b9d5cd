import { parseArgs } from 'node:util';
import { decodeImage, encodeImage, withSigstruct, signSigstruct, measureImage, sigstructFieldsFor, sigstructSigningData, assembleSigstruct, resolveEnclaveConfig, bcdDate, type SigstructFields, type EnclaveImage } from '../../sdk/index.js';
import { mrsignerOf, SIGSTRUCT } from '../../arch/index.js';
import { defaultCrypto, toHex, u32le, type CryptoProvider } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput, readText, writeOutput, writeOutputs } from '../files.js';
import type { Command } from '../main.js';

/** The SIGSTRUCT fields for the image: its configuration, and the MRENCLAVE measured from its pages. */
function fieldsOf(img: EnclaveImage, date: number, crypto: CryptoProvider): SigstructFields {
  return sigstructFieldsFor(resolveEnclaveConfig(img.manifest.config), measureImage(img, crypto), { date });
}

function parseDate(s: string | undefined): number {
  if (!s) return bcdDate();
  if (!/^\d{8}$/.test(s)) throw new CliError('CLI_USAGE', '--date takes YYYYMMDD');
  return parseInt(s, 16);
}

export const command: Command = {
  name: 'sign',
  usage: 'witness sign --key KEY.pem IMAGE [--out SIGNED.wimg] [--sigstruct-out FILE.sig] [--date YYYYMMDD]\n' +
    '       witness sign --gendata IMAGE --out DATA.bin [--date YYYYMMDD]          (the 256 bytes to sign)\n' +
    '       witness sign --signature SIG.bin --public-key PUB.pem --data DATA.bin IMAGE [--out SIGNED.wimg] [--sigstruct-out FILE.sig]\n\n' +
    '  SIG.bin is the 384-byte big-endian RSASSA-PKCS1-v1_5 SHA-256 signature of DATA.bin, e.g.\n' +
    '  openssl dgst -sha256 -sign KEY.pem -out SIG.bin DATA.bin\n' +
    '  DATA.bin must be what --gendata gives for IMAGE; only its DATE may differ.',
  example: 'witness sign --key enclave-key.pem hello.wimg --out hello.signed.wimg',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { key: { type: 'string' }, out: { type: 'string' }, 'sigstruct-out': { type: 'string' }, date: { type: 'string' }, gendata: { type: 'boolean' }, signature: { type: 'string' }, 'public-key': { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new CliError('CLI_USAGE', 'expected one IMAGE (see --help)');
    const path = positionals[0]!;
    const img = decodeImage(readInput(path));
    const crypto = defaultCrypto();
    if (values.gendata) {
      if (!values.out) throw new CliError('CLI_USAGE', '--gendata needs --out DATA.bin');
      writeOutput(values.out, sigstructSigningData(fieldsOf(img, parseDate(values.date), crypto)));
      io.out(`wrote ${values.out}: the 256 bytes to sign (SIGSTRUCT[0,128) ‖ SIGSTRUCT[900,1028))`);
      return 0;
    }
    let sig: Uint8Array;
    if (values.signature) {
      if (!values['public-key'] || !values.data) throw new CliError('CLI_USAGE', '--signature needs --public-key and --data');
      const data = readInput(values.data);
      if (data.length !== 256) throw new CliError('CLI_DATA', `${values.data} has ${data.length} bytes, the signed data has 256`);
      const fields = fieldsFromData(data, img, crypto);
      const signature = readInput(values.signature);
      // sgx_sign catsig refuses a signature file that is not SIGNATURE_SIZE bytes (create_signature, sign_tool.cpp).
      if (signature.length !== 384) throw new CliError('CLI_DATA', `${values.signature} has ${signature.length} bytes, an RSA-3072 signature has 384`);
      const { modulus, exponent } = crypto.rsaPublicNumbers(readText(values['public-key']));
      // A signature that does not verify is SdkError SIGN_BAD_SIGNATURE: the negative answer, exit 1.
      sig = assembleSigstruct(fields, modulus, exponent, signature, crypto);
    } else {
      if (!values.key) throw new CliError('CLI_USAGE', '--key KEY.pem is required (or --gendata / --signature)');
      sig = signSigstruct(fieldsOf(img, parseDate(values.date), crypto), readText(values.key), crypto);
    }
    const out = values.out ?? path;
    writeOutputs([{ path: out, data: encodeImage(withSigstruct(img, sig)) }, ...(values['sigstruct-out'] ? [{ path: values['sigstruct-out'], data: sig }] : [])]);
    const mrsigner = toHex(mrsignerOf(sig, crypto));
    if (values.json) io.out(toJson({ image: out, mrenclave: img.manifest.mrenclave, mrsigner }));
    else io.out(`signed ${out}: MRENCLAVE ${img.manifest.mrenclave}, MRSIGNER ${mrsigner}`);
    return 0;
  },
};

/**
 * The SIGSTRUCT fields for two-step signing: only DATE is taken from the signed data; the rest is
 * regenerated from the image and must match it byte for byte, as sgx_sign catsig does (fill_enclave_css, sign_tool.cpp).
 */
function fieldsFromData(d: Uint8Array, img: EnclaveImage, crypto: CryptoProvider): SigstructFields {
  const fields = fieldsOf(img, u32le(d, 20), crypto);
  const expected = sigstructSigningData(fields);
  const at = expected.findIndex((b, i) => b !== d[i]);
  if (at < 0) return fields;
  const field = signedField(at);
  if (field === 'ENCLAVEHASH') throw new CliError('CLI_DATA', 'the signed data is for another enclave (ENCLAVEHASH differs from the image)');
  throw new CliError('CLI_DATA', `the signed data differs from what the image and its configuration give, in ${field} (only DATE is taken from it)`);
}

/** The SIGSTRUCT field that byte `i` of the 256 signed bytes (SIGSTRUCT[0,128) ‖ SIGSTRUCT[900,1028)) belongs to. */
function signedField(i: number): string {
  const o = i < 128 ? i : i + 772;
  const f = SIGSTRUCT.fields.find((x) => o >= x.offset && o < x.offset + x.size)!;
  if (f.kind !== 'struct') return f.name;
  const sub = f.layout.fields.find((x) => o - f.offset >= x.offset && o - f.offset < x.offset + x.size)!;
  return `${f.name}.${sub.name}`;
}
