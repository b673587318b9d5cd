import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  derOid, derInteger, derBoolean, derNull, derEnumerated, derOctetString, derBitString, derNamedBits, derUtf8String, derPrintableString,
  derUtcTime, derGeneralizedTime, derTime, derSequence, derSet, derExplicit, derImplicit, derDecode, derReadInteger, derReadOid, derReadBoolean,
  derReadTime, derReadString, derReadBitString, derReadNamedBits, derReadOctetString, derReadEnumerated, derSequenceOf, derReadSmallInteger,
  ecdsaSignatureToDer, ecdsaSignatureFromDer, DER_TAG, LayoutError, LibError, toHex, fromHex, defaultCrypto,
} from '../../src/lib/index.js';

const code = (c: string) => (e: unknown): boolean => {
  assert.ok(e instanceof LibError, `not a LibError: ${String(e)}`);
  assert.equal(e.code, c);
  return true;
};
const layout = (c: string) => (e: unknown): boolean => {
  assert.ok(e instanceof LayoutError, `not a LayoutError: ${String(e)}`);
  assert.equal(e.code, c);
  return true;
};

describe('DER encodings (known answers, X.690)', () => {
  test('OID ecdsa-with-SHA256 1.2.840.10045.4.3.2', () => {
    assert.equal(toHex(derOid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(toHex(derOid('1.2.840.113741.1.13.1')), '06092a864886f84d010d01');
    assert.equal(toHex(derOid('2.999.3')), '0603883703');
  });
  test('INTEGER minimal two\'s complement', () => {
    assert.equal(toHex(derInteger(0x80)), '02020080');
    assert.equal(toHex(derInteger(0)), '020100');
    assert.equal(toHex(derInteger(127)), '02017f');
    assert.equal(toHex(derInteger(256)), '02020100');
    assert.equal(toHex(derInteger(-1)), '0201ff');
    assert.equal(toHex(derInteger(-128)), '020180');
    assert.equal(toHex(derInteger(-129)), '0202ff7f');
    assert.equal(toHex(derInteger(fromHex('000080'))), '02020080');
    assert.equal(toHex(derInteger(new Uint8Array(0))), '020100');
  });
  test('BOOLEAN, NULL, ENUMERATED, OCTET STRING, strings', () => {
    assert.equal(toHex(derBoolean(true)), '0101ff');
    assert.equal(toHex(derBoolean(false)), '010100');
    assert.equal(toHex(derNull()), '0500');
    assert.equal(toHex(derEnumerated(0)), '0a0100');
    assert.equal(toHex(derOctetString(fromHex('0102'))), '04020102');
    assert.equal(toHex(derUtf8String('é')), '0c02c3a9');
    assert.equal(toHex(derPrintableString('US')), '13025553');
    assert.throws(() => derPrintableString('a@b'), code('DER_VALUE'));
  });
  test('BIT STRING and named bits (KeyUsage keyCertSign|cRLSign = 03 02 01 06)', () => {
    assert.equal(toHex(derNamedBits([5, 6])), '03020106');
    assert.equal(toHex(derNamedBits([0, 1])), '030206c0');
    assert.equal(toHex(derBitString(fromHex('04ab'))), '03030004ab');
    assert.deepEqual(derReadNamedBits(derDecode(derNamedBits([5, 6])), 'ku'), [5, 6]);
    assert.throws(() => derBitString(fromHex('01'), 1), code('DER_VALUE'));
  });
  test('long lengths use the shortest long form', () => {
    const big = derOctetString(new Uint8Array(200));
    assert.equal(toHex(big.subarray(0, 3)), '0481c8');
    const bigger = derOctetString(new Uint8Array(300));
    assert.equal(toHex(bigger.subarray(0, 4)), '0482012c');
    assert.equal(derDecode(bigger).content.length, 300);
  });
  test('times: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280)', () => {
    const d = new Date(Date.UTC(2049, 11, 31, 23, 59, 59));
    assert.equal(new TextDecoder().decode(derTime(d).subarray(2)), '491231235959Z');
    assert.equal(derTime(d)[0], DER_TAG.UTC_TIME);
    const e = new Date(Date.UTC(2050, 0, 1, 0, 0, 0));
    assert.equal(derTime(e)[0], DER_TAG.GENERALIZED_TIME);
    assert.equal(new TextDecoder().decode(derTime(e).subarray(2)), '20500101000000Z');
    assert.equal(derReadTime(derDecode(derTime(d)), 't').getTime(), d.getTime());
    assert.equal(derReadTime(derDecode(derTime(e)), 't').getTime(), e.getTime());
    assert.throws(() => derUtcTime(e), code('DER_VALUE'));
    assert.throws(() => derGeneralizedTime(new Date(1.5)), code('DER_VALUE'));
  });
  test('SET sorts its elements; explicit and implicit tags', () => {
    assert.equal(toHex(derSet(derInteger(2), derInteger(1))), '3106020101020102');
    assert.equal(toHex(derExplicit(0, derInteger(2))), 'a003020102');
    assert.equal(toHex(derImplicit(0, derOctetString(fromHex('aa')))), '8001aa');
    assert.equal(toHex(derImplicit(1, derSequence(derNull()))), 'a1020500');
  });
});

describe('DER decoding round trips', () => {
  test('values read back', () => {
    const s = derSequence(derInteger(-5n), derOid('1.2.840.10045.3.1.7'), derBoolean(true), derEnumerated(2), derUtf8String('x'), derOctetString(fromHex('0011')), derBitString(fromHex('ff')));
    const els = derSequenceOf(derDecode(s), 's', 7);
    assert.equal(derReadInteger(els[0], 'i'), -5n);
    assert.equal(derReadOid(els[1], 'o'), '1.2.840.10045.3.1.7');
    assert.equal(derReadBoolean(els[2], 'b'), true);
    assert.equal(derReadEnumerated(els[3], 'e'), 2);
    assert.equal(derReadString(els[4], 's'), 'x');
    assert.equal(toHex(derReadOctetString(els[5], 'os', 2)), '0011');
    assert.equal(toHex(derReadBitString(els[6], 'bs').bytes), 'ff');
    assert.throws(() => derReadOctetString(els[5], 'os', 3), layout('DER_LENGTH_VALUE'));
    assert.throws(() => derReadSmallInteger(els[0], 'i', 0, 10), layout('DER_INTEGER_RANGE'));
    assert.throws(() => derSequenceOf(derDecode(s), 's', 6), layout('DER_SEQUENCE_LENGTH'));
    assert.throws(() => derReadInteger(els[1], 'i'), layout('DER_UNEXPECTED_TAG'));
  });
  test('ECDSA r ‖ s ↔ Ecdsa-Sig-Value, and node:crypto agrees', async () => {
    const { createPublicKey, verify } = await import('node:crypto');
    const c = defaultCrypto();
    const priv = c.sha256(new TextEncoder().encode('der test key'));
    const pub = c.ecdsaP256PublicKey(priv)!;
    const msg = new TextEncoder().encode('message');
    const rs = c.ecdsaP256Sign(priv, msg);
    const der = ecdsaSignatureToDer(rs);
    assert.deepEqual(ecdsaSignatureFromDer(der), rs);
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(pub.subarray(0, 32)).toString('base64url'), y: Buffer.from(pub.subarray(32)).toString('base64url') }, format: 'jwk' });
    assert.equal(verify('sha256', msg, key, der), true);
    const small = new Uint8Array(64);
    small[31] = 1;
    small[63] = 0x80;
    assert.equal(toHex(ecdsaSignatureToDer(small)), '30070201010202008' + '0');
    assert.deepEqual(ecdsaSignatureFromDer(ecdsaSignatureToDer(small)), small);
    assert.throws(() => ecdsaSignatureToDer(new Uint8Array(63)), code('DER_VALUE'));
    assert.throws(() => ecdsaSignatureFromDer(derSequence(derInteger(0), derInteger(1))), layout('DER_ECDSA_SIGNATURE'));
    assert.throws(() => ecdsaSignatureFromDer(derSequence(derInteger(1n << 256n), derInteger(1))), layout('DER_ECDSA_SIGNATURE'));
  });
});

describe('DER refusals', () => {
  test('non-minimal length', () => {
    assert.throws(() => derDecode(fromHex('04810100')), layout('DER_LENGTH_NONMINIMAL'));
    assert.throws(() => derDecode(fromHex('0482000100')), layout('DER_LENGTH_NONMINIMAL'));
  });
  test('indefinite length', () => assert.throws(() => derDecode(fromHex('30800201010000')), layout('DER_LENGTH_INDEFINITE')));
  test('trailing bytes', () => assert.throws(() => derDecode(fromHex('02010100')), layout('DER_TRAILING_BYTES')));
  test('truncated', () => {
    assert.throws(() => derDecode(fromHex('020301')), layout('DER_TRUNCATED'));
    assert.throws(() => derDecode(fromHex('02')), layout('DER_TRUNCATED'));
    assert.throws(() => derDecode(new Uint8Array(0)), layout('DER_TRUNCATED'));
    assert.throws(() => derDecode(fromHex('3003020201')), layout('DER_TRUNCATED'));
    assert.throws(() => derDecode(fromHex('0482')), layout('DER_TRUNCATED'));
  });
  test('high tag numbers, over-long length fields', () => {
    assert.throws(() => derDecode(fromHex('1f0100')), layout('DER_TAG_UNSUPPORTED'));
    assert.throws(() => derDecode(fromHex('04850100000000')), layout('DER_LENGTH_TOO_LONG'));
  });
  test('non-minimal INTEGER, empty INTEGER, BOOLEAN other than 00/ff', () => {
    assert.throws(() => derReadInteger(derDecode(fromHex('0202007f')), 'i'), layout('DER_INTEGER_NONMINIMAL'));
    assert.throws(() => derReadInteger(derDecode(fromHex('0202ff80')), 'i'), layout('DER_INTEGER_NONMINIMAL'));
    assert.throws(() => derReadInteger(derDecode(fromHex('0200')), 'i'), layout('DER_INTEGER_EMPTY'));
    assert.throws(() => derReadBoolean(derDecode(fromHex('010101')), 'b'), layout('DER_BOOLEAN_VALUE'));
  });
  test('bad OIDs, bit strings and times', () => {
    assert.throws(() => derReadOid(derDecode(fromHex('06022a86')), 'o'), layout('DER_OID_INVALID'));
    assert.throws(() => derReadOid(derDecode(fromHex('0603808001')), 'o'), layout('DER_OID_INVALID'));
    assert.throws(() => derReadBitString(derDecode(fromHex('030208ff')), 'b'), layout('DER_BITSTRING_INVALID'));
    assert.throws(() => derReadBitString(derDecode(fromHex('030201ff')), 'b'), layout('DER_BITSTRING_INVALID'));
    assert.throws(() => derReadNamedBits(derDecode(fromHex('03020080')), 'b'), layout('DER_BITSTRING_INVALID'));
    const t = (s: string, tag: number) => derDecode(Uint8Array.of(tag, s.length, ...new TextEncoder().encode(s)));
    assert.throws(() => derReadTime(t('4912312359Z', 0x17), 't'), layout('DER_TIME_INVALID'));
    assert.throws(() => derReadTime(t('491232235959Z', 0x17), 't'), layout('DER_TIME_INVALID'));
    assert.throws(() => derReadTime(t('20500101000000.5Z', 0x18), 't'), layout('DER_TIME_INVALID'));
    assert.throws(() => derReadTime(t('491231235959+0000', 0x17), 't'), layout('DER_TIME_INVALID'));
    assert.equal(derReadTime(t('500101000000Z', 0x17), 't').getUTCFullYear(), 1950);
  });
});
