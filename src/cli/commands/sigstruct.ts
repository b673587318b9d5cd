import { parseArgs } from 'node:util';
import { SIGSTRUCT, SIGSTRUCT_HEADER, SIGSTRUCT_HEADER2, SIGSTRUCT_VENDORS, verifySigstructSignature, describeSigstructFormat } from '../../arch/index.js';
import { defaultCrypto, toHex, bytesEqual, u32le, describe } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput } from '../files.js';
import type { Command } from '../main.js';

function bcdDate(d: number): string {
  const s = d.toString(16).padStart(8, '0');
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

export const command: Command = {
  name: 'sigstruct',
  usage: 'witness sigstruct FILE [--json]   (exit 0: valid, 1: invalid signature or format, 2: not a SIGSTRUCT)',
  example: 'witness sigstruct enclave.sig --json',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new CliError('CLI_USAGE', 'expected exactly one input file (see --help)');
    const b = readInput(positionals[0]!);
    if (b.length !== SIGSTRUCT.size) throw new CliError('CLI_NOT_SIGSTRUCT', `not a SIGSTRUCT: ${b.length} bytes, a SIGSTRUCT has ${SIGSTRUCT.size}`);
    if (!bytesEqual(b.subarray(0, 12), SIGSTRUCT_HEADER.subarray(0, 12)) || !bytesEqual(b.subarray(24, 40), SIGSTRUCT_HEADER2)) {
      throw new CliError('CLI_NOT_SIGSTRUCT', 'not a SIGSTRUCT: HEADER/HEADER2 are not the architectural constants');
    }
    const s = SIGSTRUCT.decode(b, { allowReserved: true });
    const crypto = defaultCrypto();
    const sig = verifySigstructSignature(b, crypto);
    const format = describeSigstructFormat(b);
    const xfrm = s.ATTRIBUTES.XFRM <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s.ATTRIBUTES.XFRM) : s.ATTRIBUTES.XFRM.toString();
    const report = {
      signatureValid: sig.valid,
      signatureProblem: sig.reason,
      formatValid: format.length === 0,
      formatProblems: format,
      mrsigner: toHex(sig.mrsigner),
      enclaveHash: toHex(s.ENCLAVEHASH),
      isvProdId: s.ISVPRODID,
      isvSvn: s.ISVSVN,
      attributes: toHex(b.subarray(928, 944)),
      attributeMask: toHex(b.subarray(944, 960)),
      flags: Number(s.ATTRIBUTES.FLAGS & 0xffffffffn),
      xfrm,
      miscSelect: s.MISCSELECT,
      miscMask: s.MISCMASK,
      date: s.DATE,
      dateText: bcdDate(s.DATE),
      vendor: s.VENDOR,
      type: u32le(b, 12),
      swDefined: s.SWDEFINED,
      exponent: s.EXPONENT,
      isvFamilyId: toHex(s.ISVFAMILYID),
      isvExtProdId: toHex(s.ISVEXTPRODID),
      signedBytesSha256: toHex(sig.digest),
    };
    if (values.json) io.out(toJson(report));
    else {
      io.out(`SIGSTRUCT ${positionals[0]}`);
      io.out(`  signature      ${sig.valid ? 'valid' : `INVALID (${sig.reason})`}`);
      io.out(`  format         ${format.length === 0 ? 'valid' : `INVALID: ${format.join('; ')}`}`);
      io.out(`  MRSIGNER       ${report.mrsigner}`);
      io.out(`  vendor         0x${s.VENDOR.toString(16)}${SIGSTRUCT_VENDORS.includes(s.VENDOR) ? '' : ' (not accepted by EINIT)'}`);
      io.out(`  date           ${report.dateText}`);
      io.out('');
      for (const line of describe(SIGSTRUCT, s as unknown as Record<string, unknown>, '  ')) io.out(line);
    }
    // EINIT refuses a SIGSTRUCT whose format is invalid even when its signature verifies.
    return sig.valid && format.length === 0 ? 0 : 1;
  },
};
