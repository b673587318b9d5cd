import { parseArgs } from 'node:util';
import { SIGSTRUCT, parseSgxs, verifySigstructSignature, describeSigstructFormat, mrsignerOf, REPORT, EINITTOKEN, STRUCTURES } from '../../arch/index.js';
import { isImage, decodeImage, describeImage, parseSealedData, SEALED_DATA_HEADER, planInterface, type CanonicalInterface } from '../../sdk/index.js';
import { defaultCrypto, toHex, describe, u32le, u16le, type AnyLayout } from '../../lib/index.js';
import { parseQuote, parsePckCertificate, parseCertificate, pemDecodeAll, QUOTE3_FIXED, ECDSA_SIG_DATA_FIXED, CERT_KEY_TYPE, QUOTE_MIN_SIZE, QUOTE_VERSION_3, SGX_QL_ALG_ECDSA_P256, AttestError, type Quote } from '../../attest/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput } from '../files.js';
import type { Command } from '../main.js';

/** What --as accepts: the container formats, then every SGX structure by its SDM name. */
const KINDS: readonly string[] = ['IMAGE', 'SGXS', 'SEALED', 'QUOTE', ...Object.keys(STRUCTURES)];

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
    '  EINITTOKEN, an SGXS stream, sealed data whose header lengths match the file, a v3 ECDSA\n' +
    '  quote) unless --as names it:\n' + wrap(KINDS.join(', '), '    '),
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
      case 'QUOTE': {
        const q = parseQuote(b);
        const certs = certificationCertificates(q);
        if (values.json) {
          io.out(toJson({
            kind: 'QUOTE', size: b.length, header: q.header, reportBody: q.reportBody, signatureDataLen: b.length - QUOTE3_FIXED.size,
            signature: q.signature, attestPubKey: q.attestPubKey, qeReport: q.qeReport, qeReportSignature: q.qeReportSignature,
            authDataSize: q.authData.length, authData: q.authData,
            certificationData: { type: q.certificationData.type, typeName: certTypeName(q.certificationData.type), size: q.certificationData.data.length, ...certs },
          }));
          return 0;
        }
        io.out(`v3 ECDSA quote (sgx_quote3_t), ${b.length} bytes`);
        fields(io, QUOTE3_FIXED, b.subarray(0, QUOTE3_FIXED.size));
        io.out(`  signature data (sgx_ql_ecdsa_sig_data_t) @ ${QUOTE3_FIXED.size}:`);
        for (const line of describe(ECDSA_SIG_DATA_FIXED, ECDSA_SIG_DATA_FIXED.decode(b.subarray(QUOTE3_FIXED.size, QUOTE3_FIXED.size + ECDSA_SIG_DATA_FIXED.size), { allowReserved: true }) as Record<string, unknown>, '    ')) io.out(line);
        io.out(`    QE auth data          ${q.authData.length} bytes: ${toHex(q.authData)}`);
        io.out(`    certification data    type ${q.certificationData.type} (${certTypeName(q.certificationData.type)}), ${q.certificationData.data.length} bytes`);
        if (certs.problem !== undefined) io.out(`      cannot read the certificates: ${certs.problem}`);
        certs.certificates?.forEach((c, k) => {
          io.out(`      certificate ${k}: ${c.subject}`);
          io.out(`        issuer ${c.issuer}; valid ${c.notBefore} … ${c.notAfter}`);
          if (c.pck) io.out(`        PCK: FMSPC ${c.pck.fmspc}  PPID ${c.pck.ppid}  CPUSVN ${c.pck.cpusvn}  PCESVN ${c.pck.pcesvn}  PCE-ID ${c.pck.pceId}`);
        });
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
  if (looksQuote(b)) return 'QUOTE';
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

/** A v3 ECDSA quote: version 3, attestation key type 2, and parseQuote accepts it. */
function looksQuote(b: Uint8Array): boolean {
  if (b.length < QUOTE_MIN_SIZE || u16le(b, 0) !== QUOTE_VERSION_3 || u16le(b, 2) !== SGX_QL_ALG_ECDSA_P256) return false;
  try {
    parseQuote(b);
    return true;
  } catch (e) {
    if (e instanceof AttestError) return false;
    throw e;
  }
}


/** sgx_ql_cert_key_type_t's name (sgx_quote_3.h). */
function certTypeName(type: number): string {
  return Object.entries(CERT_KEY_TYPE).find(([, v]) => v === type)?.[0] ?? 'unknown';
}

interface CertificateSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly pck?: { readonly fmspc: string; readonly ppid: string; readonly cpusvn: string; readonly pcesvn: number; readonly pceId: string };
}

/** For certification data type 5 (PCK_CERT_CHAIN): each certificate, the first read as a PCK certificate; otherwise nothing. */
function certificationCertificates(q: Quote): { certificates?: CertificateSummary[]; problem?: string } {
  if (q.certificationData.type !== CERT_KEY_TYPE.PCK_CERT_CHAIN) return {};
  try {
    const ders = pemDecodeAll(new TextDecoder().decode(q.certificationData.data).replace(/\0+$/, ''));
    return {
      certificates: ders.map((der, k): CertificateSummary => {
        const c = parseCertificate(der);
        const base = { subject: c.subject.text, issuer: c.issuer.text, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString() };
        if (k !== 0) return base;
        const p = parsePckCertificate(der);
        return { ...base, pck: { fmspc: toHex(p.fmspc), ppid: toHex(p.ppid), cpusvn: toHex(p.tcb.cpusvn), pcesvn: p.tcb.pcesvn, pceId: toHex(p.pceId) } };
      }),
    };
  } catch (e) {
    if (e instanceof AttestError) return { problem: `${e.message} [${e.code}]` };
    throw e;
  }
}
