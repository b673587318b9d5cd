/**
 * The remote attestation example's host program: an enclave proves to a relying party off the
 * platform which code it runs, on which platform, at which TCB, and which public key is its own.
 *
 *   the manufacturer    enrols the platform (records its provisioning root) with the PCS
 *   the platform        runs the Witness PCE and QE (the quoting service): a PCK certificate for
 *                       its TCB, a certified attestation key
 *   the enclave         makes an ECDH key pair and a REPORT for the QE, REPORTDATA = SHA-256(public key)
 *   the QE              turns the REPORT into a quote (sgx_quote_3_t, ECDSA P-256)
 *   the relying party   verifies the quote against the PCS's root and collateral, then checks its
 *                       own policy: MRENCLAVE, not a debug enclave, TCB up to date, the key bound
 *
 * The enclave is the local attestation example's (examples/local-attestation: its ecall_begin makes
 * exactly that key pair and REPORT). Then the host tries to cheat, and every attempt must fail.
 * Exits non-zero if anything turns out differently.
 * Run: node dist/examples/remote-attestation/host.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import {
  createPlatform, createProvisioningCertificationService, createPckCertificateService, createQuotingService, verifyQuote, AttestError,
  buildImage, resolveEdl, signSigstruct, sigstructFieldsFor, generateSigningKey, loadEnclave, lib, arch, type QuoteVerification, type Platform,
} from 'witness';

const here = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/local-attestation');
const crypto = lib.defaultCrypto();

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

// The enclave, built and signed as its vendor would; the relying party learns MRENCLAVE from the vendor.
const built = buildImage({ module: new Uint8Array(readFileSync(join(here, 'enclave.wasm'))), interface: resolveEdl(join(here, 'attest.edl')), config: { isvProdId: 4, isvSvn: 1 } });
const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), generateSigningKey(crypto).privateKeyPem, crypto);
const EXPECTED_MRENCLAVE = built.mrenclave;

// "Intel": the simulated PCS, and the manufacturer's records of the platforms it made.
const pcs = createProvisioningCertificationService();
const manufacturer = createPckCertificateService(pcs);

/** A platform with the quoting service running and the enclave loaded; returns what the enclave sends out. */
function attestFrom(platform: Platform): { quote: Uint8Array; publicKey: Uint8Array } {
  const qs = createQuotingService(platform, { pcs: manufacturer });
  const enclave = loadEnclave(platform, built.image, { sigstruct, ocalls: { ocall_print: () => undefined } });
  const publicKey = new Uint8Array(64), report = new Uint8Array(432);
  check(enclave.ecall('ecall_begin', [qs.qeTargetInfo, publicKey, report]) === 0, 'ecall_begin');
  return { quote: qs.quote(report), publicKey };
}

/** The relying party: the quote, the collateral it fetched from the PCS, the root it pins. */
function relyingParty(quote: Uint8Array, publicKey: Uint8Array, collateral = pcs.collateral(), root = pcs.rootCertificate.der): string {
  let v: QuoteVerification;
  try {
    v = verifyQuote(quote, { trustedRoot: root, collateral });
  } catch (e) {
    if (e instanceof AttestError) return `refused: ${e.code} (${String(e.data.status)})`;
    throw e;
  }
  if (v.resultName !== 'SGX_QL_QV_RESULT_OK') return `refused: ${v.resultName} (TCB ${v.tcbStatus ?? '—'})`;
  if (!lib.bytesEqual(v.reportBody.MRENCLAVE, EXPECTED_MRENCLAVE)) return 'refused: not the expected MRENCLAVE';
  if ((v.reportBody.ATTRIBUTES.FLAGS & arch.ATTR.DEBUG) !== 0n) return 'refused: a debug enclave';
  const bound = crypto.sha256(publicKey);
  if (!lib.bytesEqual(v.reportBody.REPORTDATA.subarray(0, 32), bound)) return 'refused: the public key is not the one the enclave bound';
  return `accepted: MRENCLAVE ${lib.toHex(v.reportBody.MRENCLAVE).slice(0, 16)}…, TCB ${v.tcbStatus}, PPID ${lib.toHex(v.pck.ppid).slice(0, 8)}…`;
}

const platform = createPlatform();
manufacturer.enroll(platform);
console.log('== the platform attests its enclave');
const good = attestFrom(platform);
console.log(`quote: ${good.quote.length} bytes (sgx_quote_3_t, ECDSA-256-with-P-256, PCK certificate chain inside)`);
const verdict = relyingParty(good.quote, good.publicKey);
console.log(`relying party: ${verdict}`);
check(verdict.startsWith('accepted'), 'the genuine quote is accepted');

console.log('\n== the host tries to cheat');
const attempts: [string, () => string][] = [
  ['substitutes its own public key for the enclave\'s', () => relyingParty(good.quote, crypto.ecdhP256Keypair().publicKey)],
  ['changes one byte of the quoted REPORT body', () => {
    const q = good.quote.slice();
    q[48 + 64]! ^= 1; // MRENCLAVE
    return relyingParty(q, good.publicKey);
  }],
  ['sends a quote with collateral from another PCS', () => relyingParty(good.quote, good.publicKey, createProvisioningCertificationService().collateral())],
  ['runs on a platform the manufacturer never made', () => {
    try {
      return relyingParty(attestFrom(createPlatform()).quote, good.publicKey);
    } catch (e) {
      if (e instanceof AttestError) return `refused at the PCS: ${e.code}`;
      throw e;
    }
  }],
  ['runs on an enrolled platform with an older microcode (lower CPUSVN)', () => {
    const cpusvn = arch.DEFAULT_CPUSVN.slice();
    cpusvn[0] = 1;
    const old = createPlatform({ processor: { cpusvn } });
    manufacturer.enroll(old);
    const a = attestFrom(old);
    return relyingParty(a.quote, a.publicKey);
  }],
];
for (const [what, attempt] of attempts) {
  const r = attempt();
  console.log(`${what}: ${r}`);
  check(r.startsWith('refused'), `${what} is refused`);
}
console.log('\nremote-attestation: ok');
