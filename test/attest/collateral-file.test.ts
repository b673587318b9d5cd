/**
 * The collateral as a file (collateralToJson / collateralFromJson): the members of Intel's
 * sgx_ql_qve_collateral_t in camelCase, CRLs as hex DER, "version": 1. A round trip still
 * verifies a quote; every malformed input is COLLATERAL_FILE_MALFORMED naming its field.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttestError, verifyQuote, collateralToJson, collateralFromJson, createProvisioningCertificationService, createPckCertificateService, createQuotingService,
  type ProvisioningCertificationService, type QuoteCollateral,
} from '../../src/attest/index.js';
import { toHex } from '../../src/lib/index.js';
import { newPlatform, loadFixture } from '../helpers/sdk.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function malformedField(text: string): string {
  try {
    collateralFromJson(text);
  } catch (e) {
    assert.ok(e instanceof AttestError, String(e));
    assert.equal(e.code, 'COLLATERAL_FILE_MALFORMED');
    return String(e.data.field);
  }
  return assert.fail('collateralFromJson accepted it');
}

describe('collateral file', () => {
  let pcs: ProvisioningCertificationService;
  let collateral: QuoteCollateral;
  let quote: Uint8Array;
  let file: Record<string, unknown>;
  before(() => {
    pcs = createProvisioningCertificationService({ seed: enc('collateral file test PCS') });
    const registry = createPckCertificateService(pcs);
    const p = newPlatform();
    registry.enroll(p);
    const qs = createQuotingService(p, { pcs: registry });
    const app = loadFixture(p, 'identity');
    const report = new Uint8Array(432);
    assert.equal(app.ecall('ecall_report', [qs.qeTargetInfo, new Uint8Array(64), report]), 0);
    quote = qs.quote(report);
    qs.close();
    collateral = pcs.collateral();
    file = JSON.parse(collateralToJson(collateral)) as Record<string, unknown>;
  });

  test('the file holds version 1 and the seven members, CRLs as hex DER', () => {
    assert.deepEqual(Object.keys(file), ['version', 'pckCrlIssuerChain', 'rootCaCrl', 'pckCrl', 'tcbInfoIssuerChain', 'tcbInfo', 'qeIdentityIssuerChain', 'qeIdentity']);
    assert.equal(file.version, 1);
    assert.equal(file.rootCaCrl, toHex(collateral.rootCaCrl));
    assert.equal(file.pckCrl, toHex(collateral.pckCrl));
    assert.equal(file.tcbInfo, collateral.tcbInfo);
  });

  test('a round trip gives the same members and still verifies the quote', () => {
    const back = collateralFromJson(collateralToJson(collateral));
    assert.equal(back.pckCrlIssuerChain, collateral.pckCrlIssuerChain);
    assert.equal(toHex(back.rootCaCrl!), toHex(collateral.rootCaCrl));
    assert.equal(toHex(back.pckCrl!), toHex(collateral.pckCrl));
    assert.equal(back.tcbInfo, collateral.tcbInfo);
    assert.equal(back.qeIdentity, collateral.qeIdentity);
    assert.equal(back.tcbInfoIssuerChain, collateral.tcbInfoIssuerChain);
    assert.equal(back.qeIdentityIssuerChain, collateral.qeIdentityIssuerChain);
    assert.equal(verifyQuote(quote, { trustedRoot: pcs.rootCertificate.pem, collateral: back }).resultName, 'SGX_QL_QV_RESULT_OK');
    // And again through the file: the text is stable.
    assert.equal(collateralToJson(back), collateralToJson(collateral));
  });

  test('the PCK CRL issuer chain may be null (absent again after parsing); a CRL may not', () => {
    const { rootCaCrl, pckCrl, tcbInfo, tcbInfoIssuerChain, qeIdentity, qeIdentityIssuerChain } = collateral;
    const text = collateralToJson({ rootCaCrl, pckCrl, tcbInfo, tcbInfoIssuerChain, qeIdentity, qeIdentityIssuerChain });
    const o = JSON.parse(text) as Record<string, unknown>;
    assert.equal(o.pckCrlIssuerChain, null);
    const back = collateralFromJson(text);
    assert.equal('pckCrlIssuerChain' in back, false);
    assert.equal(verifyQuote(quote, { trustedRoot: pcs.rootCertificate.der, collateral: back }).resultName, 'SGX_QL_QV_RESULT_OK');
    for (const k of ['rootCaCrl', 'pckCrl']) {
      assert.throws(() => collateralFromJson(JSON.stringify({ ...o, [k]: null })), (e: unknown) => e instanceof AttestError && e.code === 'COLLATERAL_FILE_MALFORMED' && e.data.field === k);
    }
  });

  test('each malformed input is COLLATERAL_FILE_MALFORMED naming its field', () => {
    const variant = (change: (o: Record<string, unknown>) => void): string => {
      const o = { ...file };
      change(o);
      return JSON.stringify(o);
    };
    assert.equal(malformedField('not json'), '');
    assert.equal(malformedField('[]'), '');
    assert.equal(malformedField('null'), '');
    assert.equal(malformedField('"text"'), '');
    assert.equal(malformedField(variant((o) => { o.extra = 1; })), 'extra');
    assert.equal(malformedField(variant((o) => { o.__proto__x = 1; })), '__proto__x');
    for (const k of ['version', 'pckCrlIssuerChain', 'rootCaCrl', 'pckCrl', 'tcbInfoIssuerChain', 'tcbInfo', 'qeIdentityIssuerChain', 'qeIdentity']) {
      assert.equal(malformedField(variant((o) => { delete o[k]; })), k, `missing ${k}`);
      assert.equal(malformedField(variant((o) => { o[k] = 42; })), k, `number for ${k}`);
      assert.equal(malformedField(variant((o) => { o[k] = ['x']; })), k, `array for ${k}`);
    }
    for (const k of ['tcbInfoIssuerChain', 'tcbInfo', 'qeIdentityIssuerChain', 'qeIdentity']) assert.equal(malformedField(variant((o) => { o[k] = null; })), k, `null for ${k}`);
    assert.equal(malformedField(variant((o) => { o.version = 2; })), 'version');
    assert.equal(malformedField(variant((o) => { o.version = '1'; })), 'version');
    for (const k of ['rootCaCrl', 'pckCrl']) {
      assert.equal(malformedField(variant((o) => { o[k] = 'zz'; })), k, `non-hex ${k}`);
      assert.equal(malformedField(variant((o) => { o[k] = (o[k] as string).slice(1); })), k, `odd-length ${k}`);
      assert.equal(malformedField(variant((o) => { o[k] = ''; })), k, `empty ${k}`);
      assert.equal(malformedField(variant((o) => { o[k] = '3000'; })), k, `hex that is not a CRL: ${k}`);
    }
    for (const k of ['pckCrlIssuerChain', 'tcbInfoIssuerChain', 'qeIdentityIssuerChain']) {
      assert.equal(malformedField(variant((o) => { o[k] = 'no PEM here'; })), k, `not PEM: ${k}`);
      assert.equal(malformedField(variant((o) => { o[k] = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'; })), k, `PEM that is not a certificate: ${k}`);
    }
    assert.equal(malformedField(variant((o) => { o.tcbInfo = o.qeIdentity; })), 'tcbInfo');
    assert.equal(malformedField(variant((o) => { o.qeIdentity = o.tcbInfo; })), 'qeIdentity');
    assert.equal(malformedField(variant((o) => { o.tcbInfo = '{}'; })), 'tcbInfo');
  });
});
