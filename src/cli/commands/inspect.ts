import { parseArgs } from 'node:util';
import { SIGSTRUCT, parseSgxs, verifySigstructSignature, describeSigstructFormat, mrsignerOf, REPORT, EINITTOKEN, STRUCTURES } from '../../arch/index.js';
import { isImage, decodeImage, describeImage, parseSealedData, SEALED_DATA_HEADER, planInterface, type CanonicalInterface } from '../../sdk/index.js';
import { defaultCrypto, toHex, describe, u32le, type AnyLayout } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput } from '../files.js';
import type { Command } from '../main.js';

/** What --as accepts: the container formats, then every SGX structure by its SDM name. */
const KINDS: readonly string[] = ['IMAGE', 'SGXS', 'SEALED', ...Object.keys(STRUCTURES)];

/** `text` broken at spaces into lines of at most 96 characters, each with `indent`. */
function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent.length + line.length + 1 + word.length > 96) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, indent + line].join('\n');
}

function fields(io: Io, layout: AnyLayout, b: Uint8Array): void {
  for (const line of describe(layout, layout.decode(b, { allowReserved: true }) as Record<string, unknown>, '  ')) io.out(line);
}

export const command: Command = {
  name: 'inspect',
  usage: 'witness inspect FILE [--as KIND] [--json]\n\n' +
    '  The kind is recognised from the contents or size (an image, a SIGSTRUCT, a REPORT, an\n' +
    '  EINITTOKEN, an SGXS stream, sealed data whose header lengths match the file) unless --as\n' +
    '  names it:\n' + wrap(KINDS.join(', '), '    '),
  example: 'witness inspect hello.signed.wimg',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({ args: argv, options: { as: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals.length !== 1) throw new CliError('CLI_USAGE', 'expected one FILE (see --help)');
    const b = readInput(positionals[0]!);
    const crypto = defaultCrypto();
    const requested = values.as?.toUpperCase();
    if (requested !== undefined && !KINDS.includes(requested)) throw new CliError('CLI_KIND', `unknown kind ${values.as} for --as (one of ${KINDS.join(', ')})`);
    const kind = requested ?? recognise(b);
    if (kind === null) throw new CliError('CLI_KIND', `cannot tell what ${positionals[0]} is (${b.length} bytes); name it with --as (one of ${KINDS.join(', ')})`);
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
        if (b.length !== SIGSTRUCT.size) throw new CliError('CLI_LENGTH', `SIGSTRUCT has ${SIGSTRUCT.size} bytes, ${positionals[0]} has ${b.length}`);
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
        fields(io, SEALED_DATA_HEADER, b.subarray(0, SEALED_DATA_HEADER.size));
        return 0;
      }
      default: {
        const layout = STRUCTURES[kind]!;
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

/** The kind of a file from its contents, or null when nothing fits. */
function recognise(b: Uint8Array): string | null {
  if (isImage(b)) return 'IMAGE';
  if (b.length === SIGSTRUCT.size) return 'SIGSTRUCT';
  if (b.length === REPORT.size) return 'REPORT';
  if (b.length === EINITTOKEN.size) return 'EINITTOKEN';
  if (looksSgxs(b)) return 'SGXS';
  if (looksSealed(b)) return 'SEALED';
  return null;
}

function looksSgxs(b: Uint8Array): boolean {
  return b.length >= 64 && new TextDecoder().decode(b.subarray(0, 7)) === 'ECREATE';
}

/** An sgx_sealed_data_t whose header lengths agree with the file: the payload (text + MAC text) fills it exactly. */
function looksSealed(b: Uint8Array): boolean {
  if (b.length < SEALED_DATA_HEADER.size) return false;
  const text = u32le(b, SEALED_DATA_HEADER.field('plain_text_offset').offset);
  const payload = u32le(b, SEALED_DATA_HEADER.field('payload_size').offset);
  return payload >= text && SEALED_DATA_HEADER.size + payload === b.length;
}
