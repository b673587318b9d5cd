import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, writeU16le, writeU32le, u32le } from '../../src/lib/index.js';
import { REPORTBODY } from '../../src/arch/index.js';
import {
  AttestError, parseQuote, encodeQuote, quoteSignedBytes, qeReportSignedBytes, QUOTE_HEADER, QUOTE3_FIXED, ECDSA_SIG_DATA_FIXED, QUOTE_MIN_SIZE, QE_VENDOR_ID_INTEL, QUOTE3_ERROR,
} from '../../src/attest/index.js';
import { fakePlatform, crypto } from './fake-qe.js';

const platform = fakePlatform();
const reportData = new Uint8Array(64).fill(0xab);
const quote = platform.quote(reportData);

const rejects = (code: string, field?: string) => (e: unknown): boolean => {
  assert.ok(e instanceof AttestError, `not an AttestError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (field !== undefined) assert.equal(e.data.field, field);
  assert.equal(e.data.quote3Error, 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED');
  assert.equal(e.data.quote3ErrorValue, QUOTE3_ERROR.SGX_QL_QUOTE_FORMAT_UNSUPPORTED);
  return true;
};

describe('sgx_quote3_t layout (sgx_quote_3.h)', () => {
  test('sizes and offsets', () => {
    assert.equal(QUOTE_HEADER.size, 48);
    assert.equal(QUOTE_HEADER.field('qeVendorId').offset, 12);
    assert.equal(QUOTE_HEADER.field('userData').offset, 28);
    assert.equal(QUOTE3_FIXED.field('reportBody').offset, 48);
    assert.equal(QUOTE3_FIXED.field('signatureDataLen').offset, 432);
    assert.equal(ECDSA_SIG_DATA_FIXED.field('qeReport').offset, 128);
    assert.equal(ECDSA_SIG_DATA_FIXED.field('qeReportSignature').offset, 512);
    assert.equal(QUOTE_MIN_SIZE, 1020);
  });
  test('the encoded header is byte-exact', () => {
    assert.equal(toHex(quote.subarray(0, 12)), '03000200' + '00000000' + '0800' + '0d00');
    assert.deepEqual(quote.subarray(12, 28), QE_VENDOR_ID_INTEL);
    assert.equal(u32le(quote, 432), quote.length - 436);
  });
});

describe('parseQuote', () => {
  test('round trip: every part reads back, re-encoding gives the same bytes', () => {
    const q = parseQuote(quote);
    const parts = platform.parts(reportData);
    assert.equal(q.header.version, 3);
    assert.equal(q.header.attKeyType, 2);
    assert.equal(q.header.qeSvn, 8);
    assert.equal(q.header.pceSvn, 13);
    assert.deepEqual(q.reportBody.REPORTDATA, reportData);
    assert.deepEqual(q.attestPubKey, platform.attestPub);
    assert.deepEqual(q.authData, parts.authData);
    assert.equal(q.certificationData.type, 5);
    assert.equal(new TextDecoder().decode(q.certificationData.data), platform.chainPem);
    assert.deepEqual(encodeQuote({ ...q, header: q.header, reportBody: q.reportBody, qeReport: q.qeReport }), quote);
  });
  test('signed spans', () => {
    assert.deepEqual(quoteSignedBytes(quote), quote.subarray(0, 432));
    assert.deepEqual(qeReportSignedBytes(quote), REPORTBODY.encode(parseQuote(quote).qeReport));
    assert.equal(crypto.ecdsaP256Verify(platform.attestPub, quoteSignedBytes(quote), parseQuote(quote).signature), true);
  });
  const mutate = (f: (q: Uint8Array) => Uint8Array | void): Uint8Array => {
    const q = quote.slice();
    return f(q) ?? q;
  };
  test('too short', () => assert.throws(() => parseQuote(quote.subarray(0, 1019)), rejects('QUOTE_TOO_SHORT', 'quote')));
  test('version', () => assert.throws(() => parseQuote(mutate((q) => writeU16le(q, 0, 4))), rejects('QUOTE_VERSION', 'header.version')));
  test('attestation key type', () => assert.throws(() => parseQuote(mutate((q) => writeU16le(q, 2, 3))), rejects('QUOTE_ATT_KEY_TYPE', 'header.attKeyType')));
  test('att_key_data_0', () => assert.throws(() => parseQuote(mutate((q) => writeU32le(q, 4, 1))), rejects('QUOTE_RESERVED', 'header.attKeyData0')));
  test('REPORTBODY reserved bytes', () => {
    assert.throws(() => parseQuote(mutate((q) => { q[48 + 100] = 1; })), rejects('QUOTE_RESERVED', 'sgx_quote3_t.reportBody.reserved@96'));
    assert.throws(() => parseQuote(mutate((q) => { q[436 + 128 + 270] = 1; })), rejects('QUOTE_RESERVED'));
  });
  test('signature_data_len too large, too small', () => {
    assert.throws(() => parseQuote(mutate((q) => writeU32le(q, 432, q.length - 435))), rejects('QUOTE_SIGNATURE_DATA_LENGTH', 'signatureDataLen'));
    assert.throws(() => parseQuote(mutate((q) => writeU32le(q, 432, q.length - 437))), rejects('QUOTE_TRAILING_BYTES', 'signatureDataLen'));
  });
  test('trailing bytes after the certification data', () => {
    const longer = new Uint8Array(quote.length + 1);
    longer.set(quote);
    writeU32le(longer, 432, longer.length - 436);
    assert.throws(() => parseQuote(longer), rejects('QUOTE_TRAILING_BYTES', 'certificationData'));
  });
  test('auth data and certification data sizes', () => {
    assert.throws(() => parseQuote(mutate((q) => writeU16le(q, 1012, 0xffff))), rejects('QUOTE_AUTH_DATA_LENGTH', 'authData.size'));
    const certAt = 1012 + 2 + 32;
    assert.throws(() => parseQuote(mutate((q) => writeU32le(q, certAt + 2, u32le(q, certAt + 2) + 1))), rejects('QUOTE_CERT_DATA_LENGTH', 'certificationData.size'));
    assert.throws(() => parseQuote(mutate((q) => writeU32le(q, certAt + 2, u32le(q, certAt + 2) - 1))), rejects('QUOTE_TRAILING_BYTES', 'certificationData'));
    assert.throws(() => parseQuote(mutate((q) => writeU16le(q, certAt, 7))), rejects('QUOTE_CERT_DATA_TYPE', 'certificationData.type'));
  });
  test('encodeQuote refuses wrong-sized parts', () => {
    const parts = platform.parts(reportData);
    assert.throws(() => encodeQuote({ ...parts, signature: new Uint8Array(63) }), (e: unknown) => e instanceof AttestError && e.code === 'QUOTE_PARAMS' && e.data.field === 'signature');
    assert.throws(() => encodeQuote({ ...parts, reportBody: { ...parts.reportBody, MRENCLAVE: new Uint8Array(31) } }), (e: unknown) => e instanceof AttestError && e.code === 'QUOTE_PARAMS');
  });
});
