import { parseArgs } from 'node:util';
import { decodeImage, encodeImage, withSigstruct, signSigstruct, sigstructFieldsFor, sigstructSigningData, assembleSigstruct, resolveEnclaveConfig, bcdDate, type SigstructFields, type EnclaveImage } from '../../sdk/index.js';
import { mrsignerOf } from '../../arch/index.js';
import { defaultCrypto, fromHex, toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput, readText, writeOutput, writeOutputs } from '../files.js';
import type { Command } from '../main.js';

function fieldsOf(img: EnclaveImage, date: number): SigstructFields {
  return sigstructFieldsFor(resolveEnclaveConfig(img.manifest.config), fromHex(img.manifest.mrenclave), { date });
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
    '  SIG.bin is the big-endian RSASSA-PKCS1-v1_5 SHA-256 signature of DATA.bin, e.g.\n' +
    '  openssl dgst -sha256 -sign KEY.pem -out SIG.bin DATA.bin',
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
      writeOutput(values.out, sigstructSigningData(fieldsOf(img, parseDate(values.date))));
      io.out(`wrote ${values.out}: the 256 bytes to sign (SIGSTRUCT[0,128) ‖ SIGSTRUCT[900,1028))`);
      return 0;
    }
    let sig: Uint8Array;
    if (values.signature) {
      if (!values['public-key'] || !values.data) throw new CliError('CLI_USAGE', '--signature needs --public-key and --data');
      const data = readInput(values.data);
      if (data.length !== 256) throw new CliError('CLI_DATA', `${values.data} has ${data.length} bytes, the signed data has 256`);
      const fields = fieldsFromData(data, img);
      const { modulus, exponent } = crypto.rsaPublicNumbers(readText(values['public-key']));
      // A signature that does not verify is SdkError SIGN_BAD_SIGNATURE: the negative answer, exit 1.
      sig = assembleSigstruct(fields, modulus, exponent, readInput(values.signature), crypto);
    } else {
      if (!values.key) throw new CliError('CLI_USAGE', '--key KEY.pem is required (or --gendata / --signature)');
      sig = signSigstruct(fieldsOf(img, parseDate(values.date)), readText(values.key), crypto);
    }
    const out = values.out ?? path;
    writeOutputs([{ path: out, data: encodeImage(withSigstruct(img, sig)) }, ...(values['sigstruct-out'] ? [{ path: values['sigstruct-out'], data: sig }] : [])]);
    const mrsigner = toHex(mrsignerOf(sig, crypto));
    if (values.json) io.out(toJson({ image: out, mrenclave: img.manifest.mrenclave, mrsigner }));
    else io.out(`signed ${out}: MRENCLAVE ${img.manifest.mrenclave}, MRSIGNER ${mrsigner}`);
    return 0;
  },
};

/** Recover the SIGSTRUCT fields from the 256 signed bytes (two-step signing), checked against the image. */
function fieldsFromData(d: Uint8Array, img: EnclaveImage): SigstructFields {
  const v = new DataView(d.buffer, d.byteOffset, 256);
  const body = 128; // SIGSTRUCT[900..] starts at 128 in the signed data
  const enclaveHash = d.slice(body + 60, body + 92);
  if (toHex(enclaveHash) !== img.manifest.mrenclave) throw new CliError('CLI_DATA', 'the signed data is for another enclave (ENCLAVEHASH differs from the image)');
  return {
    enclaveHash, type: v.getUint32(12, true), vendor: v.getUint32(16, true), date: v.getUint32(20, true), swDefined: v.getUint32(40, true),
    miscSelect: v.getUint32(body, true), miscMask: v.getUint32(body + 4, true),
    attributesFlags: v.getBigUint64(body + 28, true), attributesXfrm: v.getBigUint64(body + 36, true),
    attributeMaskFlags: v.getBigUint64(body + 44, true), attributeMaskXfrm: v.getBigUint64(body + 52, true),
    isvProdId: v.getUint16(body + 124, true), isvSvn: v.getUint16(body + 126, true),
  };
}
