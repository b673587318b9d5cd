import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, verify as nodeVerify } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCrypto, fromHex, toHex, concatBytes } from '../../src/lib/index.js';
import { WITNESS_AE_MRSIGNER, QE_ISVSVN } from '../../src/attest/identities.js';
import {
  AttestError, createProvisioningCertificationService, verifyPckCertChain, parsePckCertificate, parseCertificate, parseCrl, parseTcbInfo, parseQeIdentity,
  pemDecodeAll, SGX_EXTENSION_OID, DEFAULT_FMSPC, DEFAULT_TCB_LEVELS, type ProvisioningCertificationService,
} from '../../src/attest/index.js';

const crypto = defaultCrypto();
const hasOpenssl = ((): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const T0 = new Date(Date.UTC(2026, 0, 15, 12, 0, 0));
const seed = (s: string): Uint8Array => new TextEncoder().encode(s);
const attest = (code: string) => (e: unknown): boolean => {
  assert.ok(e instanceof AttestError, `not an AttestError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

function platformKey(label: string): { priv: Uint8Array; pub: Uint8Array } {
  const priv = crypto.sha256(seed(label));
  return { priv, pub: crypto.ecdsaP256PublicKey(priv)! };
}

function setup(s = 'pcs seed'): { pcs: ProvisioningCertificationService; pck: ReturnType<ProvisioningCertificationService['issuePckCertificate']>; cpusvn: Uint8Array; ppid: Uint8Array; pub: Uint8Array } {
  const pcs = createProvisioningCertificationService({ seed: seed(s), now: () => T0 });
  const { pub } = platformKey('platform pck key');
  const cpusvn = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const ppid = fromHex('00112233445566778899aabbccddeeff');
  const pck = pcs.issuePckCertificate({ publicKey: pub, ppid, cpusvn, pcesvn: 13 });
  return { pcs, pck, cpusvn, ppid, pub };
}

describe('simulated PCS certificates, checked by node:crypto (OpenSSL)', () => {
  const { pcs, pck } = setup();
  const root = new X509Certificate(Buffer.from(pcs.rootCertificate.der));
  const ca = new X509Certificate(Buffer.from(pcs.platformCaCertificate.der));
  const ts = new X509Certificate(Buffer.from(pcs.tcbSigningCertificate.der));
  const leaf = new X509Certificate(pck.pem);

  test('each certificate parses and verifies against its issuer; checkIssued agrees', () => {
    assert.equal(root.verify(root.publicKey), true);
    assert.equal(ca.verify(root.publicKey), true);
    assert.equal(ts.verify(root.publicKey), true);
    assert.equal(leaf.verify(ca.publicKey), true);
    assert.equal(leaf.verify(root.publicKey), false);
    assert.equal(root.checkIssued(root), true);
    assert.equal(ca.checkIssued(root), true);
    assert.equal(ts.checkIssued(root), true);
    assert.equal(leaf.checkIssued(ca), true);
    assert.equal(leaf.checkIssued(root), false);
  });
  test('names, CA flags and validity as documented (not Intel\'s names)', () => {
    assert.match(root.subject, /CN=Witness SGX Root CA/);
    assert.match(root.subject, /O=Witness \(simulated\)/);
    assert.doesNotMatch(root.subject + ca.subject + leaf.subject + ts.subject, /Intel/);
    assert.equal(root.ca, true);
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
    assert.equal(ts.ca, false);
    assert.equal(new Date(leaf.validFrom).getTime(), T0.getTime());
    assert.equal(leaf.serialNumber.toLowerCase().replace(/^0+/, ''), pck.serial.toString(16));
  });
  test('openssl verifies the PCK chain with the root as the only trust anchor and parses the CRLs', { skip: hasOpenssl ? false : 'no openssl command on this machine' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'witness-pcs-'));
    writeFileSync(join(dir, 'root.pem'), pcs.rootCertificate.pem);
    writeFileSync(join(dir, 'ca.pem'), pcs.platformCaCertificate.pem);
    writeFileSync(join(dir, 'leaf.pem'), pck.pem);
    const out = execFileSync('openssl', ['verify', '-attime', String(T0.getTime() / 1000 + 60), '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
    assert.match(out, /leaf\.pem: OK/);
    writeFileSync(join(dir, 'pck.crl'), pcs.pckCrl());
    const crlText = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'pck.crl'), '-CAfile', join(dir, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(crlText, /Witness SGX PCK Platform CA/);
  });
  test('the PCK carries the SGX Extensions, non-critical', () => {
    const text = leaf.toLegacyObject();
    assert.ok(text.subject);
    assert.ok(parseCertificate(pck.der).extensions.get(SGX_EXTENSION_OID)?.critical === false);
  });
});

describe('PCK certificate: SGX Extensions round trip and strict parsing', () => {
  const { pcs, pck, cpusvn, ppid, pub } = setup();
  test('every field reads back; TCB component i = CPUSVN byte i', () => {
    const p = parsePckCertificate(pck.der);
    assert.deepEqual(p.publicKey, pub);
    assert.deepEqual(p.ppid, ppid);
    assert.deepEqual(p.tcb.cpusvn, cpusvn);
    assert.deepEqual(p.tcb.components, [...cpusvn]);
    assert.equal(p.tcb.pcesvn, 13);
    assert.deepEqual(p.fmspc, DEFAULT_FMSPC);
    assert.equal(toHex(p.pceId), '0000');
    assert.equal(p.sgxType, 0);
  });
  test('deterministic from the seed', () => {
    const again = setup();
    // keys, serials and the signed bytes repeat (ECDSA signatures themselves use a fresh nonce)
    assert.deepEqual(parseCertificate(again.pcs.rootCertificate.der).tbs, parseCertificate(pcs.rootCertificate.der).tbs);
    assert.deepEqual(parseCertificate(again.pck.der).tbs, parseCertificate(pck.der).tbs);
    assert.notDeepEqual(parseCertificate(setup('another seed').pcs.rootCertificate.der).publicKey, parseCertificate(pcs.rootCertificate.der).publicKey);
  });
  test('a certificate without the extension, trailing bytes, a truncated certificate', () => {
    assert.throws(() => parsePckCertificate(pcs.rootCertificate.der), attest('PCK_SGX_EXTENSION_MISSING'));
    const extra = new Uint8Array(pck.der.length + 1);
    extra.set(pck.der);
    assert.throws(() => parsePckCertificate(extra), (e: unknown) => attest('X509_MALFORMED')(e) && (e as AttestError).data.derCode === 'DER_TRAILING_BYTES');
    assert.throws(() => parsePckCertificate(pck.der.subarray(0, pck.der.length - 1)), (e: unknown) => attest('X509_MALFORMED')(e) && (e as AttestError).data.derCode === 'DER_TRUNCATED');
  });
  test('bad request fields are refused', () => {
    assert.throws(() => pcs.issuePckCertificate({ publicKey: pub, ppid: new Uint8Array(15), cpusvn, pcesvn: 1 }), attest('PCK_PARAMS'));
    assert.throws(() => pcs.issuePckCertificate({ publicKey: pub, ppid, cpusvn, pcesvn: 70000 }), attest('PCK_PARAMS'));
    assert.throws(() => pcs.issuePckCertificate({ publicKey: pub, ppid, cpusvn, pcesvn: 1, sgxType: 1 }), attest('PCK_PARAMS'));
    assert.throws(() => pcs.issuePckCertificate({ publicKey: pub.subarray(1), ppid, cpusvn, pcesvn: 1 }), attest('X509_PARAMS'));
  });
});

describe('verifyPckCertChain', () => {
  const { pcs, pck } = setup();
  const chain = pcs.pckCertChainPem(pck);
  const later = new Date(T0.getTime() + 86_400_000);
  test('a good chain verifies to the trusted root and returns the PCK fields', () => {
    const p = verifyPckCertChain(chain, pcs.rootCertificate.pem, later);
    assert.equal(p.tcb.pcesvn, 13);
    assert.equal(verifyPckCertChain(chain, pcs.rootCertificate.der, later, { crls: [pcs.rootCaCrl(), pcs.pckCrl()] }).certificate.serial, pck.serial);
  });
  test('pemDecodeAll drops bits past the last byte, as OpenSSL\'s PEM reader does (and Buffer did)', () => {
    const ders = pemDecodeAll(chain);
    const der = ders.find((d) => d.length % 3 !== 0) ?? concatBytes(ders[0]!, new Uint8Array(1));
    const b64 = Buffer.from(der).toString('base64');
    const pad = b64.endsWith('==') ? 2 : 1;
    const at = b64.length - pad - 1;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const loose = b64.slice(0, at) + alphabet[alphabet.indexOf(b64[at]!) | 1] + b64.slice(at + 1);
    assert.notEqual(loose, b64);
    assert.deepEqual(pemDecodeAll(`-----BEGIN CERTIFICATE-----\n${loose}\n-----END CERTIFICATE-----\n`), [der]);
  });
  test('tampered certificate bytes fail', () => {
    const ders = pemDecodeAll(chain);
    const leaf = ders[0]!.slice();
    const at = leaf.indexOf(0x13, 200); // a byte inside the TBSCertificate
    leaf[leaf.length - 40]! ^= 0x01; // inside the signature's r
    const pem = (d: Uint8Array) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString('base64')}\n-----END CERTIFICATE-----\n`;
    assert.throws(() => verifyPckCertChain(pem(leaf) + pem(ders[1]!) + pem(ders[2]!), pcs.rootCertificate.pem, later), (e: unknown) => e instanceof AttestError && ['X509_CHAIN_SIGNATURE', 'X509_MALFORMED'].includes(e.code));
    const tbsTamper = ders[0]!.slice();
    const ppidAt = toHex(tbsTamper).indexOf('00112233445566778899aabbccddeeff') / 2;
    assert.ok(ppidAt > 0 && at > 0);
    tbsTamper[ppidAt]! ^= 0x01;
    assert.throws(() => verifyPckCertChain(pem(tbsTamper) + pem(ders[1]!) + pem(ders[2]!), pcs.rootCertificate.pem, later), attest('X509_CHAIN_SIGNATURE'));
  });
  test('a chain to a different root fails', () => {
    const other = createProvisioningCertificationService({ seed: seed('other'), now: () => T0 });
    assert.throws(() => verifyPckCertChain(chain, other.rootCertificate.pem, later), attest('X509_CHAIN_UNTRUSTED_ROOT'));
    const foreignLeaf = other.issuePckCertificate({ publicKey: platformKey('k').pub, ppid: new Uint8Array(16), cpusvn: new Uint8Array(16), pcesvn: 1 });
    const mixed = foreignLeaf.pem + pcs.platformCaCertificate.pem + pcs.rootCertificate.pem;
    assert.throws(() => verifyPckCertChain(mixed, pcs.rootCertificate.pem, later), attest('X509_CHAIN_SIGNATURE'));
  });
  test('expired and not-yet-valid fail', () => {
    assert.throws(() => verifyPckCertChain(chain, pcs.rootCertificate.pem, new Date(T0.getTime() + 8 * 365 * 86_400_000)), attest('X509_CHAIN_EXPIRED'));
    assert.throws(() => verifyPckCertChain(chain, pcs.rootCertificate.pem, new Date(T0.getTime() - 1000)), attest('X509_CHAIN_EXPIRED'));
  });
  test('wrong chain length, a CA leaf, malformed PEM', () => {
    assert.throws(() => verifyPckCertChain(pck.pem + pcs.rootCertificate.pem, pcs.rootCertificate.pem, later), attest('X509_CHAIN_LENGTH'));
    assert.throws(() => verifyPckCertChain('no pem here', pcs.rootCertificate.pem, later), attest('PEM_MALFORMED'));
    assert.throws(() => verifyPckCertChain('-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n', pcs.rootCertificate.pem, later), attest('PEM_MALFORMED'));
  });
  test('revocation through the CRLs', () => {
    const svc = setup('revocation');
    const c = svc.pcs.pckCertChainPem(svc.pck);
    assert.doesNotThrow(() => verifyPckCertChain(c, svc.pcs.rootCertificate.pem, later, { crls: [svc.pcs.pckCrl()] }));
    svc.pcs.revoke(svc.pck.serial);
    const crl = svc.pcs.pckCrl();
    assert.deepEqual(parseCrl(crl).revokedSerials, [svc.pck.serial]);
    assert.throws(() => verifyPckCertChain(c, svc.pcs.rootCertificate.pem, later, { crls: [crl] }), attest('X509_REVOKED'));
    svc.pcs.revoke(svc.pcs.platformCaCertificate.serial);
    assert.throws(() => verifyPckCertChain(c, svc.pcs.rootCertificate.pem, later, { crls: [svc.pcs.rootCaCrl()] }), (e: unknown) => attest('X509_REVOKED')(e) && (e as AttestError).data.index === 1);
    const forged = svc.pcs.pckCrl().slice();
    forged[forged.length - 5]! ^= 1;
    assert.throws(() => verifyPckCertChain(c, svc.pcs.rootCertificate.pem, later, { crls: [forged] }), (e: unknown) => e instanceof AttestError && ['X509_CRL_SIGNATURE', 'X509_MALFORMED'].includes(e.code));
    assert.throws(() => verifyPckCertChain(c, svc.pcs.rootCertificate.pem, new Date(T0.getTime() + 31 * 86_400_000), { crls: [svc.pcs.pckCrl()] }), attest('X509_CRL_EXPIRED'));
    assert.throws(() => svc.pcs.revoke(12345n), attest('PCS_UNKNOWN_SERIAL'));
  });
});

describe('collateral: TCB Info v3 and QE Identity v2', () => {
  const { pcs } = setup();
  const tsKey = new X509Certificate(pcs.tcbSigningCertificate.pem).publicKey;
  test('TCB Info: PCS shape, signature by the TCB Signing key over the body\'s exact text (checked by OpenSSL)', () => {
    const text = pcs.tcbInfo();
    const doc = JSON.parse(text) as { tcbInfo: Record<string, unknown>; signature: string };
    assert.deepEqual(Object.keys(doc), ['tcbInfo', 'signature']);
    assert.equal(doc.tcbInfo.id, 'SGX');
    assert.equal(doc.tcbInfo.version, 3);
    assert.equal(doc.tcbInfo.fmspc, '574954000000');
    assert.equal(doc.tcbInfo.issueDate, '2026-01-15T12:00:00Z');
    const body = text.slice('{"tcbInfo":'.length, text.indexOf(',"signature"'));
    assert.equal(nodeVerify('sha256', Buffer.from(body), { key: tsKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(doc.signature, 'hex')), true);
    const parsed = parseTcbInfo(text);
    assert.equal(new TextDecoder().decode(parsed.signedBytes), body);
    assert.deepEqual(parsed.value.tcbLevels.map((l) => [l.components, l.pcesvn, l.tcbStatus]), DEFAULT_TCB_LEVELS.map((l) => [l.components, l.pcesvn, l.tcbStatus]));
    assert.equal(parsed.value.nextUpdate.getTime() - parsed.value.issueDate.getTime(), 30 * 86_400_000);
  });
  test('QE Identity: shape and round trip', () => {
    const text = pcs.qeIdentity();
    const doc = JSON.parse(text) as { enclaveIdentity: Record<string, unknown> };
    assert.equal(doc.enclaveIdentity.id, 'QE');
    assert.equal(doc.enclaveIdentity.attributesMask, 'FBFFFFFFFFFFFFFF0000000000000000');
    const q = parseQeIdentity(text).value;
    assert.equal(q.isvprodid, 1);
    assert.equal(q.miscselectMask, 0xffffffff);
    assert.deepEqual(q.tcbLevels.map((l) => l.isvsvn), [QE_ISVSVN, 0], 'the Witness QE\'s ISVSVN is the up-to-date level');
    assert.equal(toHex(q.mrsigner), toHex(WITNESS_AE_MRSIGNER));
  });
  test('malformed documents name the field', () => {
    const text = pcs.tcbInfo();
    const field = (f: string) => (e: unknown): boolean => attest('COLLATERAL_MALFORMED')(e) && (e as AttestError).data.field === f;
    assert.throws(() => parseTcbInfo('{'), attest('COLLATERAL_MALFORMED'));
    assert.throws(() => parseTcbInfo(text.replace('"fmspc":"574954000000"', '"fmspc":"5749540000"')), field('tcbInfo.fmspc'));
    assert.throws(() => parseTcbInfo(text.replace('"UpToDate"', '"Fine"')), field('tcbInfo.tcbLevels[0].tcbStatus'));
    assert.throws(() => parseTcbInfo(text.replace('"tcbType":0,', '"tcbType":0,"extra":1,')), field('tcbInfo.extra'));
    assert.throws(() => parseTcbInfo(text.replace('"version":3', '"version":2')), attest('COLLATERAL_UNSUPPORTED'));
    assert.throws(() => parseTcbInfo(text.replace(/"signature":"[0-9a-f]+"/, '"signature":"00"')), field('signature'));
    assert.throws(() => parseQeIdentity(pcs.qeIdentity().replace('"isvprodid":1', '"isvprodid":-1')), field('enclaveIdentity.isvprodid'));
  });
});
