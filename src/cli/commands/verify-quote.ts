/**
 * `witness verify-quote`: the relying party's side of remote attestation. The quote is judged by
 * the model's QVL/QvE (src/attest/verify.ts) against a trusted root and a collateral file
 * (collateralToJson's format), and the answer is an exit code:
 *
 *   0  the verdict is SGX_QL_QV_RESULT_OK and the collateral is within its validity at --now
 *      (or a verdict / expiry named by --accept)
 *   1  every other verdict (INVALID_SIGNATURE, REVOKED, and the non-terminal TCB statuses
 *      OUT_OF_DATE, CONFIG_NEEDED, SW_HARDENING_NEEDED… unless --accept names them), expired
 *      collateral (unless --accept EXPIRED), and a quote the verifier refuses (where Intel's QvE
 *      would say UNSPECIFIED: a chain not leading to the root, collateral for another platform…)
 *   2  an unreadable file, a file that is not a v3 ECDSA quote, a root that is not one
 *      certificate, a collateral file that is malformed, a bad option
 */
import { parseArgs } from 'node:util';
import { ATTRIBUTES, type ReportBody } from '../../arch/index.js';
import { toHex } from '../../lib/index.js';
import { AttestError, parseQuote, verifyQuote, collateralFromJson, trustedRootCertificate, QV_RESULT, type QuoteVerification, type VerificationCollateral } from '../../attest/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput, readText } from '../files.js';
import type { Command } from '../main.js';

/** The verdicts --accept may name: the non-terminal ones (sgx_qve_header.h), plus EXPIRED for the collateral's expiry. */
export const ACCEPTABLE: readonly string[] = ['CONFIG_NEEDED', 'OUT_OF_DATE', 'OUT_OF_DATE_CONFIG_NEEDED', 'SW_HARDENING_NEEDED', 'CONFIG_AND_SW_HARDENING_NEEDED', 'EXPIRED'];

function parseAccept(text: string | undefined): Set<string> {
  const out = new Set<string>();
  if (text === undefined) return out;
  for (const raw of text.split(',')) {
    const name = raw.trim().toUpperCase().replace(/^SGX_QL_QV_RESULT_/, '');
    if (!ACCEPTABLE.includes(name)) throw new CliError('CLI_ACCEPT', `--accept takes ${ACCEPTABLE.join(', ')} (comma-separated); not ${JSON.stringify(raw)}`);
    out.add(name);
  }
  return out;
}

function parseNow(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime())) throw new CliError('CLI_NOW', `--now takes an ISO-8601 date or time (2026-01-31 or 2026-01-31T12:00:00Z); not ${JSON.stringify(text)}`);
  return d;
}

/** The attested enclave's identity, from its REPORTBODY (ATTRIBUTES as the 16 bytes in the quote). */
export interface EnclaveIdentity {
  readonly mrenclave: string;
  readonly mrsigner: string;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly attributes: string;
  readonly reportData: string;
}

export function enclaveIdentity(body: ReportBody): EnclaveIdentity {
  return {
    mrenclave: toHex(body.MRENCLAVE),
    mrsigner: toHex(body.MRSIGNER),
    isvProdId: body.ISVPRODID,
    isvSvn: body.ISVSVN,
    attributes: toHex(ATTRIBUTES.encode(body.ATTRIBUTES)),
    reportData: toHex(body.REPORTDATA),
  };
}

function pckSummary(v: QuoteVerification): { fmspc: string; ppid: string; pceId: string; cpusvn: string; pcesvn: number; tcbComponents: readonly number[] } {
  return { fmspc: toHex(v.pck.fmspc), ppid: toHex(v.pck.ppid), pceId: toHex(v.pck.pceId), cpusvn: toHex(v.pck.tcb.cpusvn), pcesvn: v.pck.tcb.pcesvn, tcbComponents: v.pck.tcb.components };
}

/** Names joined by ", " in lines of at most 96 characters, each with `indent`. */
function wrapList(names: readonly string[], indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const n of names) {
    const next = line ? `${line}, ${n}` : n;
    if (line && indent.length + next.length > 95) {
      lines.push(`${indent}${line},`);
      line = n;
    } else line = next;
  }
  return [...lines, indent + line].join('\n');
}

export const command: Command = {
  name: 'verify-quote',
  usage: 'witness verify-quote QUOTE --root ROOT.pem --collateral COLLATERAL.json [--now ISO-8601] [--accept STATUS[,STATUS]] [--json]\n\n' +
    '  exit 0: SGX_QL_QV_RESULT_OK with unexpired collateral; 1: every other verdict, expired\n' +
    '  collateral, or a quote the verifier refuses (what the QvE calls UNSPECIFIED); 2: a file that\n' +
    '  cannot be read or is not a quote, a root or collateral file that is malformed.\n' +
    '  --root ROOT.pem     the one trusted root certificate (PEM, or DER)\n' +
    '  --collateral FILE   the PCS collateral as JSON (witness demo --quote-out writes one)\n' +
    '  --now ISO-8601      judge the collateral\'s validity at this time (default: now)\n' +
    '  --accept LIST       also answer yes (exit 0) for these non-terminal verdicts, or EXPIRED for\n' +
    '                      expired collateral, comma-separated:\n' +
    wrapList(ACCEPTABLE, '                      '),
  example: 'witness verify-quote quote/quote.bin --root quote/root.pem --collateral quote/collateral.json',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { root: { type: 'string' }, collateral: { type: 'string' }, now: { type: 'string' }, accept: { type: 'string' }, json: { type: 'boolean' } },
      allowPositionals: true, strict: true,
    });
    if (positionals.length !== 1) throw new CliError('CLI_USAGE', 'expected exactly one QUOTE file (see --help)');
    if (values.root === undefined) throw new CliError('CLI_USAGE', '--root ROOT.pem is required');
    if (values.collateral === undefined) throw new CliError('CLI_USAGE', '--collateral COLLATERAL.json is required');
    const accept = parseAccept(values.accept);
    const now = parseNow(values.now);
    const path = positionals[0]!;
    const bytes = readInput(path);
    try {
      parseQuote(bytes);
    } catch (e) {
      if (e instanceof AttestError) throw new CliError('CLI_NOT_QUOTE', `${path} is not a v3 ECDSA quote: ${e.message} [${e.code}]`, 2, {}, { cause: e });
      throw e;
    }
    const rootBytes = readInput(values.root);
    const rootText = new TextDecoder().decode(rootBytes);
    const trustedRoot = rootText.includes('-----BEGIN') ? rootText : rootBytes;
    try {
      trustedRootCertificate(trustedRoot);
    } catch (e) {
      if (e instanceof AttestError) throw new CliError('CLI_ROOT', `${values.root} is not one root certificate: ${e.message} [${e.code}]`, 2, {}, { cause: e });
      throw e;
    }
    let collateral: VerificationCollateral;
    try {
      collateral = collateralFromJson(readText(values.collateral));
    } catch (e) {
      if (e instanceof AttestError) throw new CliError('CLI_COLLATERAL', `${values.collateral}: ${e.message} [${e.code}]`, 2, {}, { cause: e });
      throw e;
    }

    const at = now ?? new Date(); // the one instant the verifier judges, and the output names
    let v: QuoteVerification;
    try {
      v = verifyQuote(bytes, { trustedRoot, collateral, now: at });
    } catch (e) {
      if (!(e instanceof AttestError)) throw e;
      // A quote the verifier refuses: the QvE's SGX_QL_QV_RESULT_UNSPECIFIED, a negative answer.
      const refused = { result: 'SGX_QL_QV_RESULT_UNSPECIFIED', resultValue: QV_RESULT.UNSPECIFIED, accepted: false, status: String(e.data.status ?? ''), quote3Error: String(e.data.quote3Error ?? ''), error: { code: e.code, message: e.message } };
      if (values.json) io.out(toJson(refused));
      else {
        io.out(`quote ${path}: refused by the verifier (SGX_QL_QV_RESULT_UNSPECIFIED)`);
        io.out(`  QVL status     ${refused.status}`);
        io.out(`  quote3 error   ${refused.quote3Error}`);
        io.out(`  reason         ${e.message} [${e.code}]`);
      }
      return 1;
    }

    const name = v.resultName.replace(/^SGX_QL_QV_RESULT_/, '');
    const verdictOk = v.result === QV_RESULT.OK || accept.has(name);
    const expiryOk = !v.collateralExpired || accept.has('EXPIRED');
    const accepted = verdictOk && expiryOk;
    const report = {
      result: v.resultName, resultValue: v.result, accepted,
      status: v.status, quote3Error: v.quote3Error, tcbStatus: v.tcbStatus, qeIdentityStatus: v.qeIdentityStatus, advisoryIDs: v.advisoryIDs,
      collateralExpired: v.collateralExpired, earliestExpiration: v.earliestExpiration.toISOString(),
      enclave: enclaveIdentity(v.reportBody),
      pck: pckSummary(v),
    };
    if (values.json) {
      io.out(toJson(report));
      return accepted ? 0 : 1;
    }
    const why = accepted ? (v.result === QV_RESULT.OK && !v.collateralExpired ? '' : ' (accepted by --accept)') : !verdictOk ? ' (not OK)' : ' (the collateral has expired)';
    io.out(`quote ${path}: ${v.resultName}${why}`);
    io.out(`  QVL status     ${v.status}`);
    io.out(`  quote3 error   ${v.quote3Error}`);
    io.out(`  TCB status     ${v.tcbStatus ?? '(not reached)'}`);
    io.out(`  QE identity    ${v.qeIdentityStatus ?? '(not reached)'}`);
    io.out(`  advisory IDs   ${v.advisoryIDs.length ? v.advisoryIDs.join(', ') : '(none)'}`);
    io.out(`  collateral     ${v.collateralExpired ? 'EXPIRED or not yet valid' : 'valid'} at ${at.toISOString()}; earliest expiration ${report.earliestExpiration}`);
    io.out(accepted ? 'attested enclave:' : 'enclave named by the quote (NOT attested):');
    const id = report.enclave;
    io.out(`  MRENCLAVE      ${id.mrenclave}`);
    io.out(`  MRSIGNER       ${id.mrsigner}`);
    io.out(`  ISVPRODID      ${String(id.isvProdId)}`);
    io.out(`  ISVSVN         ${String(id.isvSvn)}`);
    io.out(`  ATTRIBUTES     ${id.attributes}`);
    io.out(`  REPORTDATA     ${id.reportData}`);
    io.out('PCK certificate:');
    io.out(`  FMSPC          ${report.pck.fmspc}`);
    io.out(`  PPID           ${report.pck.ppid}`);
    io.out(`  PCE-ID         ${report.pck.pceId}`);
    io.out(`  CPUSVN         ${report.pck.cpusvn}`);
    io.out(`  PCESVN         ${String(report.pck.pcesvn)}`);
    io.out(`  TCB components ${report.pck.tcbComponents.join(' ')}`);
    return accepted ? 0 : 1;
  },
};
