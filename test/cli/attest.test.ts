/**
 * Remote attestation from the command line: `witness demo --quote-out DIR` writes a quote, the
 * PCS root and the collateral; `witness verify-quote` judges them (exit 0 OK, 1 a negative answer,
 * 2 bad input); `witness inspect` reads a quote.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'bin/witness.js');
let dir = '';

function witness(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function assertBadInput(r: { code: number; out: string; err: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, message);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.doesNotMatch(r.err, /\n\s+at /);
}

const verify = (d: string, ...extra: string[]) => witness('verify-quote', join(d, 'quote.bin'), '--root', join(d, 'root.pem'), '--collateral', join(d, 'collateral.json'), ...extra);
let demoOut = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'witness-attest-cli-'));
  const a = witness('demo', '--quote-out', 'a');
  assert.equal(a.code, 0, a.err);
  demoOut = a.out;
  const b = witness('demo', '--seed', 'ffeeddccbbaa99887766554433221100', '--quote-out', join('b', 'nested'));
  assert.equal(b.code, 0, b.err);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('demo: the remote-attestation step, and --quote-out refuses to overwrite unless --force', () => {
  assert.match(demoOut, /^8\. Remote attestation/m);
  assert.match(demoOut, /SGX_QL_QV_RESULT_OK \(TCB UpToDate, QE UpToDate\); attested MRENCLAVE [0-9a-f]{64}/);
  assert.match(demoOut, /one bit of REPORTDATA flipped → SGX_QL_QV_RESULT_INVALID_SIGNATURE/);
  assert.match(demoOut, /^10\. Identity/m);
  const before = readFileSync(join(dir, 'a', 'quote.bin'));
  assertBadInput(witness('demo', '--quote-out', 'a'), /^witness demo: a\/quote\.bin already exists; --force replaces it$/m);
  assert.deepEqual(readFileSync(join(dir, 'a', 'quote.bin')), before);
  writeFileSync(join(dir, 'file'), 'x');
  assertBadInput(witness('demo', '--quote-out', 'file'), /cannot write file/);
});

test('verify-quote: the demo\'s quote verifies (exit 0) with the hello enclave\'s identity', () => {
  const mrenclave = /attested MRENCLAVE ([0-9a-f]{64})/.exec(demoOut)![1]!;
  assert.match(demoOut, new RegExp(`MRENCLAVE ${mrenclave}`));
  const r = verify('a');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /: SGX_QL_QV_RESULT_OK$/m);
  assert.match(r.out, /^attested enclave:$/m);
  assert.match(r.out, new RegExp(`^  MRENCLAVE +${mrenclave}$`, 'm'));
  assert.match(r.out, /^  FMSPC +[0-9a-f]{12}$/m);
  const j = verify('a', '--json');
  assert.equal(j.code, 0, j.err);
  const v = JSON.parse(j.out) as Record<string, unknown> & { enclave: Record<string, unknown>; pck: Record<string, unknown> };
  assert.deepEqual(Object.keys(v), ['result', 'resultValue', 'accepted', 'status', 'quote3Error', 'tcbStatus', 'qeIdentityStatus', 'advisoryIDs', 'collateralExpired', 'earliestExpiration', 'enclave', 'pck']);
  assert.equal(v.result, 'SGX_QL_QV_RESULT_OK');
  assert.equal(v.resultValue, 0);
  assert.equal(v.accepted, true);
  assert.equal(v.status, 'STATUS_OK');
  assert.equal(v.quote3Error, 'SGX_QL_SUCCESS');
  assert.equal(v.tcbStatus, 'UpToDate');
  assert.equal(v.qeIdentityStatus, 'UpToDate');
  assert.deepEqual(v.advisoryIDs, []);
  assert.equal(v.collateralExpired, false);
  assert.deepEqual(Object.keys(v.enclave), ['mrenclave', 'mrsigner', 'isvProdId', 'isvSvn', 'attributes', 'reportData']);
  assert.equal(v.enclave.mrenclave, mrenclave);
  assert.equal(v.enclave.mrsigner, /MRSIGNER +([0-9a-f]{64})/.exec(demoOut)![1]);
  assert.equal(v.enclave.isvProdId, 1);
  assert.equal(v.enclave.isvSvn, 1);
  assert.equal(v.enclave.reportData, createHash('sha256').update('hello').digest('hex') + '00'.repeat(32));
  assert.deepEqual(Object.keys(v.pck), ['fmspc', 'ppid', 'pceId', 'cpusvn', 'pcesvn', 'tcbComponents']);
  assert.match(String(v.pck.ppid), /^[0-9a-f]{32}$/);
});

test('verify-quote: expired collateral at --now is exit 1 unless --accept EXPIRED; --accept and --now are checked', () => {
  const r = verify('a', '--now', '2100-01-01T00:00:00Z', '--json');
  assert.equal(r.code, 1, r.err);
  const v = JSON.parse(r.out) as { result: string; collateralExpired: boolean; accepted: boolean };
  assert.equal(v.result, 'SGX_QL_QV_RESULT_OK');
  assert.equal(v.collateralExpired, true);
  assert.equal(v.accepted, false);
  assert.equal(verify('a', '--now', '2100-01-01', '--accept', 'expired').code, 0);
  assertBadInput(verify('a', '--now', 'tomorrow'), /^witness verify-quote: --now takes an ISO-8601/m);
  assertBadInput(verify('a', '--accept', 'INVALID_SIGNATURE'), /^witness verify-quote: --accept takes CONFIG_NEEDED, /m);
  assertBadInput(verify('a', '--accept', 'OUT_OF_DATE,'), /--accept takes/);
});

test('verify-quote: a flipped byte in the quote is exit 1, SGX_QL_QV_RESULT_INVALID_SIGNATURE', () => {
  const q = new Uint8Array(readFileSync(join(dir, 'a', 'quote.bin')));
  q[48 + 320]! ^= 1; // REPORTDATA of the attested REPORTBODY
  writeFileSync(join(dir, 'flipped.bin'), q);
  const r = witness('verify-quote', 'flipped.bin', '--root', 'a/root.pem', '--collateral', 'a/collateral.json', '--json');
  assert.equal(r.code, 1, r.err);
  const v = JSON.parse(r.out) as { result: string; status: string; accepted: boolean };
  assert.equal(v.result, 'SGX_QL_QV_RESULT_INVALID_SIGNATURE');
  assert.equal(v.status, 'STATUS_INVALID_QUOTE_SIGNATURE');
  assert.equal(v.accepted, false);
  const t = witness('verify-quote', 'flipped.bin', '--root', 'a/root.pem', '--collateral', 'a/collateral.json');
  assert.equal(t.code, 1);
  assert.match(t.out, /SGX_QL_QV_RESULT_INVALID_SIGNATURE \(not OK\)/);
  assert.match(t.out, /NOT attested/);
});

test('verify-quote: another PCS\'s root or collateral is exit 1 (a negative answer, its status printed)', () => {
  const root = witness('verify-quote', 'a/quote.bin', '--root', 'b/nested/root.pem', '--collateral', 'a/collateral.json', '--json');
  assert.equal(root.code, 1, root.err);
  const rv = JSON.parse(root.out) as { result: string; status: string; quote3Error: string; accepted: boolean };
  assert.equal(rv.result, 'SGX_QL_QV_RESULT_UNSPECIFIED');
  assert.equal(rv.status, 'STATUS_SGX_PCK_CERT_CHAIN_UNTRUSTED');
  assert.equal(rv.quote3Error, 'SGX_QL_PCK_CERT_CHAIN_ERROR');
  const rt = witness('verify-quote', 'a/quote.bin', '--root', 'b/nested/root.pem', '--collateral', 'a/collateral.json');
  assert.equal(rt.code, 1);
  assert.match(rt.out, /refused by the verifier \(SGX_QL_QV_RESULT_UNSPECIFIED\)/);
  assert.match(rt.out, /quote3 error +SGX_QL_PCK_CERT_CHAIN_ERROR/);
  assert.equal(rt.err, '');
  const coll = witness('verify-quote', 'a/quote.bin', '--root', 'a/root.pem', '--collateral', 'b/nested/collateral.json', '--json');
  assert.equal(coll.code, 1, coll.err);
  const cv = JSON.parse(coll.out) as { result: string; accepted: boolean };
  assert.notEqual(cv.result, 'SGX_QL_QV_RESULT_OK');
  assert.equal(cv.accepted, false);
  // And the other PCS's set verifies on its own.
  assert.equal(verify(join('b', 'nested')).code, 0);
});

test('verify-quote: bad input is one line on stderr, exit 2', () => {
  const q = readFileSync(join(dir, 'a', 'quote.bin'));
  writeFileSync(join(dir, 'truncated.bin'), q.subarray(0, q.length - 1));
  assertBadInput(witness('verify-quote', 'truncated.bin', '--root', 'a/root.pem', '--collateral', 'a/collateral.json'), /^witness verify-quote: truncated\.bin is not a v3 ECDSA quote: .*\[QUOTE_[A-Z_]+\]$/m);
  assertBadInput(witness('verify-quote', 'a/root.pem', '--root', 'a/root.pem', '--collateral', 'a/collateral.json'), /a\/root\.pem is not a v3 ECDSA quote/);
  assertBadInput(witness('verify-quote', 'missing.bin', '--root', 'a/root.pem', '--collateral', 'a/collateral.json'), /^witness verify-quote: cannot read missing\.bin: no such file or directory$/m);
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--root', 'missing.pem', '--collateral', 'a/collateral.json'), /cannot read missing\.pem/);
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--root', 'a/root.pem', '--collateral', 'missing.json'), /cannot read missing\.json/);
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--root', 'a/collateral.json', '--collateral', 'a/collateral.json'), /a\/collateral\.json is not one root certificate/);
  const c = JSON.parse(readFileSync(join(dir, 'a', 'collateral.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'bad-hex.json'), JSON.stringify({ ...c, pckCrl: 'zz' }));
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--root', 'a/root.pem', '--collateral', 'bad-hex.json'), /^witness verify-quote: bad-hex\.json: collateral file: pckCrl: .*\[COLLATERAL_FILE_MALFORMED\]$/m);
  writeFileSync(join(dir, 'not-json.json'), '{');
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--root', 'a/root.pem', '--collateral', 'not-json.json'), /\[COLLATERAL_FILE_MALFORMED\]$/m);
  const { tcbInfo: _dropped, ...missing } = c;
  writeFileSync(join(dir, 'missing-member.json'), JSON.stringify(missing));
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--root', 'a/root.pem', '--collateral', 'missing-member.json'), /collateral file: tcbInfo: missing/);
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--root', 'a/root.pem'), /--collateral COLLATERAL\.json is required/);
  assertBadInput(witness('verify-quote', 'a/quote.bin', '--collateral', 'a/collateral.json'), /--root ROOT\.pem is required/);
  assertBadInput(witness('verify-quote', '--root', 'a/root.pem', '--collateral', 'a/collateral.json'), /expected exactly one QUOTE file/);
});

test('inspect: a quote is recognised (text and --json); --as QUOTE on a non-quote is exit 2', () => {
  const t = witness('inspect', 'a/quote.bin');
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^v3 ECDSA quote \(sgx_quote3_t\), \d+ bytes$/m);
  assert.match(t.out, /^    version +@ +0 3 \(0x3\)$/m);
  assert.match(t.out, /^    MRENCLAVE +@ +64 [0-9a-f]{64}$/m);
  assert.match(t.out, /^    qeReport +@ 128/m);
  assert.match(t.out, /QE auth data +32 bytes/);
  assert.match(t.out, /certification data +type 5 \(PCK_CERT_CHAIN\), \d+ bytes/);
  assert.match(t.out, /certificate 0: CN=Witness SGX PCK Certificate/);
  assert.match(t.out, /PCK: FMSPC [0-9a-f]{12}  PPID [0-9a-f]{32}  CPUSVN [0-9a-f]{32}  PCESVN \d+/);
  assert.match(t.out, /certificate 2: CN=Witness SGX Root CA/);
  const j = witness('inspect', 'a/quote.bin', '--json');
  assert.equal(j.code, 0, j.err);
  const v = JSON.parse(j.out) as { kind: string; header: { version: number; attKeyType: number }; reportBody: { MRENCLAVE: string }; certificationData: { type: number; typeName: string; certificates: { subject: string; pck?: { fmspc: string } }[] } };
  assert.equal(v.kind, 'QUOTE');
  assert.equal(v.header.version, 3);
  assert.equal(v.header.attKeyType, 2);
  assert.equal(v.reportBody.MRENCLAVE, /attested MRENCLAVE ([0-9a-f]{64})/.exec(demoOut)![1]);
  assert.equal(v.certificationData.type, 5);
  assert.equal(v.certificationData.typeName, 'PCK_CERT_CHAIN');
  assert.equal(v.certificationData.certificates.length, 3);
  assert.match(v.certificationData.certificates[0]!.pck!.fmspc, /^[0-9a-f]{12}$/);
  assert.equal(witness('inspect', 'a/quote.bin', '--as', 'quote').code, 0);
  assertBadInput(witness('inspect', 'a/root.pem', '--as', 'QUOTE'), /^witness inspect: quote: .*\[QUOTE_[A-Z_]+\]$/m);
  const q = readFileSync(join(dir, 'a', 'quote.bin'));
  writeFileSync(join(dir, 'truncated.bin'), q.subarray(0, q.length - 1));
  assertBadInput(witness('inspect', 'truncated.bin'), /cannot tell what truncated\.bin is/);
});
