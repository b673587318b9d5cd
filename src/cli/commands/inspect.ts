import { parseArgs } from 'node:util';
import { SIGSTRUCT, parseSgxs, verifySigstructSignature, describeSigstructFormat, mrsignerOf, REPORT, TARGETINFO, KEYREQUEST, EINITTOKEN, SECS, STRUCTURES } from '../../arch/index.js';
import { isImage, decodeImage, describeImage, parseSealedData, SEALED_DATA_HEADER, planInterface, type CanonicalInterface } from '../../sdk/index.js';
import { defaultCrypto, toHex, describe, type AnyLayout } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput } from '../files.js';
import type { Command } from '../main.js';

function fields(io: Io, layout: AnyLayout, b: Uint8Array): void {
  for (const line of describe(layout, layout.decode(b, { allowReserved: true }) as Record<string, unknown>, '  ')) io.out(line);
}

export const command: Command = {
  name: 'inspect',
  usage: 'witness inspect FILE [--as SIGSTRUCT|REPORT|TARGETINFO|KEYREQUEST|EINITTOKEN|SECS|SEALED] [--json]\n\n' +
    '  The kind is recognised from the contents or size unless --as is given.',
  example: 'witness inspect hello.signed.wimg',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({ args: argv, options: { as: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new CliError('CLI_USAGE', 'expected one FILE (see --help)');
    const b = readInput(positionals[0]!);
    const crypto = defaultCrypto();
    const kind = (values.as ?? (isImage(b) ? 'IMAGE' : b.length === 1808 ? 'SIGSTRUCT' : b.length === 432 ? 'REPORT' : b.length === 304 ? 'EINITTOKEN' : looksSgxs(b) ? 'SGXS' : b.length >= 560 ? 'SEALED' : '')).toUpperCase();
    switch (kind) {
      case 'IMAGE': {
        const img = decodeImage(b);
        if (values.json) {
          io.out(toJson({ kind: 'image', manifest: img.manifest, signed: img.sigstruct !== null, mrsigner: img.sigstruct ? toHex(mrsignerOf(img.sigstruct, crypto)) : null }));
          return 0;
        }
        io.out(`enclave image ${positionals[0]}`);
        for (const l of describeImage(img)) io.out('  ' + l);
        const plan = planInterface(img.manifest.interface as CanonicalInterface);
        io.out('  ECALLs         ' + plan.ecalls.map((f) => `${f.name}${f.public ? '' : ' (private)'}`).join(', '));
        io.out('  OCALLs         ' + (plan.ocalls.map((f) => f.name).join(', ') || '(none)'));
        if (img.sigstruct) {
          const v = verifySigstructSignature(img.sigstruct, crypto);
          io.out(`  MRSIGNER       ${toHex(v.mrsigner)} (signature ${v.valid ? 'valid' : 'INVALID'})`);
          io.out('  SIGSTRUCT:');
          fields(io, SIGSTRUCT, img.sigstruct);
        }
        return 0;
      }
      case 'SIGSTRUCT': {
        const v = verifySigstructSignature(b, crypto);
        const problems = describeSigstructFormat(b);
        if (values.json) {
          io.out(toJson({ kind: 'SIGSTRUCT', signatureValid: v.valid, formatProblems: problems, mrsigner: toHex(v.mrsigner), fields: SIGSTRUCT.decode(b, { allowReserved: true }) }));
          return 0;
        }
        io.out(`SIGSTRUCT: signature ${v.valid ? 'valid' : `INVALID (${v.reason})`}, format ${problems.length ? problems.join('; ') : 'valid'}, MRSIGNER ${toHex(v.mrsigner)}`);
        fields(io, SIGSTRUCT, b);
        return 0;
      }
      case 'SGXS': {
        const recs = parseSgxs(b);
        const counts = { ECREATE: 0, EADD: 0, EEXTEND: 0, UNMEASURED: 0 };
        for (const r of recs) counts[r.kind]++;
        if (values.json) {
          io.out(toJson({ kind: 'SGXS', records: counts, pages: recs.filter((r) => r.kind === 'EADD') }));
          return 0;
        }
        io.out(`SGXS stream: ${counts.EADD} pages, ${counts.EEXTEND} EEXTENDs, ${counts.UNMEASURED} unmeasured chunks`);
        for (const r of recs) if (r.kind === 'ECREATE') io.out(`  ECREATE size 0x${r.size.toString(16)} ssaframesize ${r.ssaFrameSize}`);
        else if (r.kind === 'EADD') io.out(`  EADD    offset 0x${r.offset.toString(16).padStart(8, '0')} secinfo 0x${r.secinfoFlags.toString(16)}`);
        return 0;
      }
      case 'SEALED': {
        const s = parseSealedData(b);
        if (values.json) {
          io.out(toJson({ kind: 'sealed', textLength: s.textLength, aadLength: s.aadLength, header: s.header }));
          return 0;
        }
        io.out(`sealed data (sgx_sealed_data_t): ${s.textLength} encrypted bytes, ${s.aadLength} bytes of additional MAC text`);
        fields(io, SEALED_DATA_HEADER, b.subarray(0, 560));
        return 0;
      }
      default: {
        const layout = STRUCTURES[kind] ?? ({ REPORT, TARGETINFO, KEYREQUEST, EINITTOKEN, SECS } as Record<string, AnyLayout>)[kind];
        if (!layout) throw new CliError('CLI_KIND', `cannot tell what ${positionals[0]} is (${b.length} bytes); use --as`);
        if (b.length !== layout.size) throw new CliError('CLI_LENGTH', `${kind} has ${layout.size} bytes, ${positionals[0]} has ${b.length}`);
        if (values.json) io.out(toJson({ kind, fields: layout.decode(b, { allowReserved: true }) }));
        else {
          io.out(kind);
          fields(io, layout, b);
        }
        return 0;
      }
    }
  },
};

function looksSgxs(b: Uint8Array): boolean {
  return b.length >= 64 && new TextDecoder().decode(b.subarray(0, 7)) === 'ECREATE';
}
