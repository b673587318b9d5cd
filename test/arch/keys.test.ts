/**
 * EREPORT and EGETKEY (specs/sgx.md §7.4, §7.5, §11): local attestation, every EGETKEY status and
 * fault, and the key-derivation properties the dependency table implies.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCrypto, toHex, fromHex } from '../../src/lib/index.js';
import {
  Processor, ArchError, SGX, VECTOR, ATTR, ENCLU, KEYNAME, KEYPOLICY, REPORT, TARGETINFO, DEFAULT_CPUSVN, deriveKey, serializeKeyDependencies, cpusvnAtMost,
  type EnclaveContext, type ProcessorOptions, type KeyDependencies,
} from '../../src/arch/index.js';
import {
  newKernel, kernelOn, ScriptEngine, buildEnclave, ereportIn, egetkeyIn, keyRequest, targetInfoOf, KEY_SENTINEL, AEP, type BuiltEnclave, type EnclaveSpec,
} from '../helpers/enclave.js';
import { testKey } from '../helpers/signing.js';

/** ED-11 key for the dependencies of the serialization test (a project-defined KDF: this pins it). */
const KAT_SEAL_KEY = '87e0ea5d19a0f470ca1c0debad072724';

const crypto = defaultCrypto();
type Req = Parameters<typeof keyRequest>[0];

/** Run `fn` inside enclave `e` (scratch = its second data page) and return what it returns. */
function inside<T>(e: BuiltEnclave, engine: ReturnType<typeof newKernel>['engine'], fn: (ctx: EnclaveContext, scratch: number) => T): T {
  let out: { v: T } | null = null;
  const op = engine.on((ctx) => {
    out = { v: fn(ctx, e.data(1)) };
    return ctx.regs.rcx;
  });
  const { exit } = e.enter(op);
  assert.equal(exit.reason, 'eexit', `enclave code ended with ${exit.reason} ${exit.vector ?? ''} ${exit.detail ?? ''}`);
  return (out as unknown as { v: T }).v;
}

function getKey(e: BuiltEnclave, engine: ReturnType<typeof newKernel>['engine'], req: Req): { status: number; key: Uint8Array } {
  return inside(e, engine, (ctx, s) => egetkeyIn(ctx, s, keyRequest(req)));
}

function sealKey(e: BuiltEnclave, engine: ReturnType<typeof newKernel>['engine'], req: Req = {}): string {
  const r = getKey(e, engine, { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.MRENCLAVE, ...req });
  assert.equal(r.status, SGX.SUCCESS);
  return toHex(r.key);
}

describe('EREPORT and local attestation (§7.4, §11.1)', () => {
  function pair(specA: EnclaveSpec = {}, specB: EnclaveSpec = {}) {
    const { k, engine } = newKernel();
    const A = buildEnclave(k, { marker: 'enclave A', sig: { isvProdId: 7, isvSvn: 3 }, ...specA });
    const B = buildEnclave(k, { marker: 'enclave B', ...specB });
    // B learns its own identity with an all-zero TARGETINFO
    const self = inside(B, engine, (ctx, s) => ereportIn(ctx, s, new Uint8Array(512)));
    return { k, engine, A, B, tiB: targetInfoOf(self) };
  }
  /** B verifies `report` with its REPORT key (KEYID from the report). */
  function verifyInB(B: BuiltEnclave, engine: ReturnType<typeof newKernel>['engine'], report: Uint8Array): boolean {
    return inside(B, engine, (ctx, s) => {
      const r = REPORT.decode(report);
      const { status, key } = egetkeyIn(ctx, s, keyRequest({ KEYNAME: KEYNAME.REPORT_KEY, KEYID: r.KEYID }));
      assert.equal(status, SGX.SUCCESS);
      return toHex(crypto.aesCmac128(key, report.subarray(0, 384))) === toHex(r.MAC);
    });
  }

  test('A reports for B; B verifies the MAC; the body carries A\'s identity', () => {
    const { k, engine, A, B, tiB } = pair();
    const data = new Uint8Array(64).map((_, i) => i + 1);
    const report = inside(A, engine, (ctx, s) => ereportIn(ctx, s, tiB, data));
    assert.equal(verifyInB(B, engine, report), true);
    const r = REPORT.decode(report);
    assert.equal(toHex(r.MRENCLAVE), toHex(A.mrenclave));
    assert.equal(toHex(r.MRSIGNER), toHex(A.mrsigner));
    assert.equal(r.ISVPRODID, 7);
    assert.equal(r.ISVSVN, 3);
    assert.deepEqual(r.ATTRIBUTES, { FLAGS: ATTR.INIT | ATTR.DEBUG | ATTR.MODE64BIT, XFRM: 3n });
    assert.equal(toHex(r.CPUSVN), toHex(k.proc.config.cpusvn));
    assert.deepEqual(r.REPORTDATA, data);
    assert.equal(r.MISCSELECT, 0);
    assert.deepEqual(r.CONFIGID, new Uint8Array(64));
    // B's TARGETINFO names B
    const ti = TARGETINFO.decode(tiB);
    assert.equal(toHex(ti.MEASUREMENT), toHex(B.mrenclave));
    assert.equal(ti.ATTRIBUTES.FLAGS & ATTR.INIT, ATTR.INIT);
  });

  test('every report of one boot carries the same KEYID; another boot another one', () => {
    const { engine, A, tiB } = pair();
    const r1 = REPORT.decode(inside(A, engine, (ctx, s) => ereportIn(ctx, s, tiB)));
    const r2 = REPORT.decode(inside(A, engine, (ctx, s) => ereportIn(ctx, s, new Uint8Array(512))));
    assert.deepEqual(r1.KEYID, r2.KEYID);
    const other = pair();
    const r3 = REPORT.decode(inside(other.A, other.engine, (ctx, s) => ereportIn(ctx, s, other.tiB)));
    assert.notDeepEqual(r3.KEYID, r1.KEYID);
  });

  test('a flipped bit anywhere in the body or the MAC fails verification', () => {
    const { engine, A, B, tiB } = pair();
    const report = inside(A, engine, (ctx, s) => ereportIn(ctx, s, tiB));
    for (const bit of [0, 64 * 8 + 3, 320 * 8, 383 * 8 + 7, 416 * 8, 431 * 8 + 7]) {
      const bad = report.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(verifyInB(B, engine, bad), false, `bit ${bit}`);
    }
  });

  const wrongTargets: [string, (ti: Uint8Array) => void][] = [
    ['the MEASUREMENT of another enclave', (ti) => { ti[0]! ^= 1; }],
    ['ATTRIBUTES without INIT', (ti) => { ti[32]! &= ~1; }],
    ['ATTRIBUTES.XFRM changed', (ti) => { ti[40] = 7; }],
    ['MISCSELECT changed', (ti) => { ti[52] = 1; }],
    ['CONFIGSVN changed', (ti) => { ti[50] = 1; }],
    ['CONFIGID changed', (ti) => { ti[64] = 1; }],
  ];
  for (const [name, f] of wrongTargets) {
    test(`a report for a wrong TARGETINFO (${name}) does not verify in B`, () => {
      const { engine, A, B, tiB } = pair();
      const ti = tiB.slice();
      f(ti);
      const report = inside(A, engine, (ctx, s) => ereportIn(ctx, s, ti));
      assert.equal(verifyInB(B, engine, report), false);
    });
  }

  test('the reserved bytes of TARGETINFO are not checked and not used', () => {
    const { engine, A, B, tiB } = pair();
    const ti = tiB.slice();
    ti[200] = 0xff;
    ti[49] = 1;
    const report = inside(A, engine, (ctx, s) => ereportIn(ctx, s, ti));
    assert.equal(verifyInB(B, engine, report), true);
  });

  test('A cannot verify a report made for B (the key is B\'s)', () => {
    const { engine, A, tiB } = pair();
    const report = inside(A, engine, (ctx, s) => ereportIn(ctx, s, tiB));
    assert.equal(verifyInB(A, engine, report), false);
  });

  test('another platform cannot verify (different seal fuses), even for the same enclave', () => {
    const { engine, A, tiB } = pair();
    const report = inside(A, engine, (ctx, s) => ereportIn(ctx, s, tiB));
    const second = newKernel();
    const B2 = buildEnclave(second.k, { marker: 'enclave B' });
    assert.equal(toHex(B2.mrenclave), toHex(TARGETINFO.decode(tiB).MEASUREMENT));
    assert.equal(verifyInB(B2, second.engine, report), false);
  });

  test('EREPORT operand checks: misaligned or outside ELRANGE → #GP; an output page without W → #PF', () => {
    const { k, engine, A } = pair();
    const cases: [string, (ctx: EnclaveContext, s: number) => void, number][] = [
      ['TARGETINFO not 512-aligned', (ctx, s) => ctx.ereport(s + 64, s + 512, s + 1024), VECTOR.GP],
      ['REPORTDATA not 128-aligned', (ctx, s) => ctx.ereport(s, s + 576, s + 1024), VECTOR.GP],
      ['output not 512-aligned', (ctx, s) => ctx.ereport(s, s + 512, s + 1040), VECTOR.GP],
      ['output outside ELRANGE', (ctx, s) => ctx.ereport(s, s + 512, 0x7000_0000), VECTOR.GP],
      ['output in the read-only code page', (ctx, s) => ctx.ereport(s, s + 512, A.code), VECTOR.PF],
      ['TARGETINFO in an unbacked ELRANGE page', (ctx, s) => ctx.ereport(A.spare, s + 512, s + 1024), VECTOR.PF],
    ];
    for (const [name, run, vector] of cases) {
      const op = engine.on((ctx) => {
        run(ctx, A.data(1));
        return ctx.regs.rcx;
      });
      const { exit } = A.enter(op);
      assert.equal(exit.reason, 'aex', name);
      assert.equal(exit.vector, vector, name);
      A.resume();
    }
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.cssa, 0);
  });
});

describe('EGETKEY statuses and faults (§7.5)', () => {
  const statuses: [string, EnclaveSpec, Req, number][] = [
    ['KEYNAME 5', {}, { KEYNAME: 5 }, SGX.INVALID_KEYNAME],
    ['KEYNAME 0xffff', {}, { KEYNAME: 0xffff }, SGX.INVALID_KEYNAME],
    ['SEAL: ISVSVN above the enclave\'s', { sig: { isvSvn: 2 } }, { KEYNAME: KEYNAME.SEAL_KEY, ISVSVN: 3 }, SGX.INVALID_ISVSVN],
    ['SEAL: CPUSVN above CR_CPUSVN', {}, { KEYNAME: KEYNAME.SEAL_KEY, CPUSVN: fromHex('0a0a0204ff8000000000000000000100') }, SGX.INVALID_CPUSVN],
    ['SEAL: CPUSVN above in one byte, below in another', {}, { KEYNAME: KEYNAME.SEAL_KEY, CPUSVN: fromHex('000b0000000000000000000000000000') }, SGX.INVALID_CPUSVN],
    ['PROVISION without PROVISIONKEY', {}, { KEYNAME: KEYNAME.PROVISION_KEY }, SGX.INVALID_ATTRIBUTE],
    ['PROVISION_SEAL without PROVISIONKEY', {}, { KEYNAME: KEYNAME.PROVISION_SEAL_KEY }, SGX.INVALID_ATTRIBUTE],
    ['PROVISION: ISVSVN above', { flags: 6n | ATTR.PROVISIONKEY }, { KEYNAME: KEYNAME.PROVISION_KEY, ISVSVN: 1 }, SGX.INVALID_ISVSVN],
    ['PROVISION: CPUSVN above', { flags: 6n | ATTR.PROVISIONKEY }, { KEYNAME: KEYNAME.PROVISION_KEY, CPUSVN: new Uint8Array(16).fill(0xff) }, SGX.INVALID_CPUSVN],
    ['EINITTOKEN without EINITTOKEN_KEY', {}, { KEYNAME: KEYNAME.EINITTOKEN_KEY }, SGX.INVALID_ATTRIBUTE],
    ['EINITTOKEN: ISVSVN above', { flags: 6n | ATTR.EINITTOKEN_KEY }, { KEYNAME: KEYNAME.EINITTOKEN_KEY, ISVSVN: 9 }, SGX.INVALID_ISVSVN],
    ['EINITTOKEN: CPUSVN above', { flags: 6n | ATTR.EINITTOKEN_KEY }, { KEYNAME: KEYNAME.EINITTOKEN_KEY, CPUSVN: new Uint8Array(16).fill(0xff) }, SGX.INVALID_CPUSVN],
  ];
  for (const [name, spec, req, status] of statuses) {
    test(`${name} → status ${status}, the output untouched`, () => {
      const { k, engine } = newKernel();
      const e = buildEnclave(k, spec);
      const r = getKey(e, engine, req);
      assert.equal(r.status, status);
      assert.deepEqual(r.key, KEY_SENTINEL);
    });
  }

  const ok: [string, EnclaveSpec, Req][] = [
    ['REPORT ignores ISVSVN and CPUSVN', {}, { KEYNAME: KEYNAME.REPORT_KEY, ISVSVN: 0xffff, CPUSVN: new Uint8Array(16).fill(0xff) }],
    ['SEAL at the enclave\'s ISVSVN', { sig: { isvSvn: 2 } }, { KEYNAME: KEYNAME.SEAL_KEY, ISVSVN: 2, KEYPOLICY: KEYPOLICY.MRSIGNER }],
    ['PROVISION with PROVISIONKEY', { flags: 6n | ATTR.PROVISIONKEY }, { KEYNAME: KEYNAME.PROVISION_KEY }],
    ['PROVISION_SEAL with PROVISIONKEY', { flags: 6n | ATTR.PROVISIONKEY }, { KEYNAME: KEYNAME.PROVISION_SEAL_KEY, KEYPOLICY: KEYPOLICY.MRSIGNER }],
    ['EINITTOKEN with EINITTOKEN_KEY', { flags: 6n | ATTR.EINITTOKEN_KEY }, { KEYNAME: KEYNAME.EINITTOKEN_KEY }],
    ['KSS policy bits with KSS', { flags: 6n | ATTR.KSS }, { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.MRSIGNER | KEYPOLICY.NOISVPRODID | KEYPOLICY.CONFIGID | KEYPOLICY.ISVFAMILYID | KEYPOLICY.ISVEXTPRODID }],
  ];
  for (const [name, spec, req] of ok) {
    test(`accepted: ${name}`, () => {
      const { k, engine } = newKernel({ features: { kss: true } });
      const e = buildEnclave(k, spec);
      const r = getKey(e, engine, req);
      assert.equal(r.status, SGX.SUCCESS);
      assert.notDeepEqual(r.key, KEY_SENTINEL);
    });
  }

  const faults: [string, Req | ((b: Uint8Array) => void)][] = [
    ['KEYPOLICY bit 6 (reserved)', { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: 0x40 }],
    ['KEYPOLICY bit 15 (reserved)', { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: 0x8001 }],
    ['reserved byte 6', (b) => { b[6] = 1; }],
    ['reserved byte 78', (b) => { b[78] = 1; }],
    ['reserved byte 511', (b) => { b[511] = 1; }],
    ['NOISVPRODID without KSS', { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.NOISVPRODID }],
    ['CONFIGID policy without KSS', { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.CONFIGID }],
    ['ISVFAMILYID policy without KSS', { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.ISVFAMILYID }],
    ['ISVEXTPRODID policy without KSS', { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.ISVEXTPRODID }],
    ['CONFIGSVN > 0 without KSS', { KEYNAME: KEYNAME.SEAL_KEY, CONFIGSVN: 1 }],
    ['reserved bits even with an invalid KEYNAME (fault before status)', { KEYNAME: 9, KEYPOLICY: 0x100 }],
  ];
  for (const [name, req] of faults) {
    test(`#GP: ${name}`, () => {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      const op = engine.on((ctx) => {
        const b = typeof req === 'function' ? keyRequest({ KEYNAME: KEYNAME.SEAL_KEY }) : keyRequest(req);
        if (typeof req === 'function') req(b);
        egetkeyIn(ctx, e.data(1), b);
        return ctx.regs.rcx;
      });
      const { exit } = e.enter(op);
      assert.equal(exit.reason, 'aex');
      assert.equal(exit.vector, VECTOR.GP);
      assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.cssa, 1);
    });
  }

  test('operand checks: KEYREQUEST misaligned → #GP; output outside ELRANGE → #GP; output not writable → #PF', () => {
    const { engine, k } = newKernel();
    const e = buildEnclave(k);
    const s = e.data(1);
    const cases: [(ctx: EnclaveContext) => number, number][] = [
      [(ctx) => ctx.egetkey(s + 256, s + 3072), VECTOR.GP],
      [(ctx) => ctx.egetkey(s, s + 3080), VECTOR.GP],
      [(ctx) => ctx.egetkey(s, 0x7000_0000), VECTOR.GP],
      [(ctx) => ctx.egetkey(s, e.code), VECTOR.PF],
      [(ctx) => ctx.egetkey(e.spare, s), VECTOR.PF],
    ];
    for (const [run, vector] of cases) {
      const op = engine.on((ctx) => {
        run(ctx);
        return ctx.regs.rcx;
      });
      const { exit } = e.enter(op);
      assert.equal(exit.vector, vector);
      e.resume();
    }
  });
});

describe('seal keys and platform identity (§11.1 consequences)', () => {
  function twoOfOneSigner(opts: ProcessorOptions = {}, specA: EnclaveSpec = {}, specB: EnclaveSpec = {}) {
    const { k, engine } = newKernel(opts);
    return { k, engine, A: buildEnclave(k, { marker: 'A', ...specA }), B: buildEnclave(k, { marker: 'B', ...specB }) };
  }

  test('MRENCLAVE policy: different enclaves get different keys; the same enclave the same key every time', () => {
    const { engine, A, B } = twoOfOneSigner();
    const a1 = sealKey(A, engine), a2 = sealKey(A, engine), b = sealKey(B, engine);
    assert.equal(a1, a2);
    assert.notEqual(a1, b);
  });

  test('MRSIGNER policy: two enclaves of one signer share the key; another signer does not', () => {
    const { k, engine, A, B } = twoOfOneSigner();
    const C = buildEnclave(k, { marker: 'A', signer: testKey(1) });
    const pol = { KEYPOLICY: KEYPOLICY.MRSIGNER };
    assert.equal(sealKey(A, engine, pol), sealKey(B, engine, pol));
    assert.notEqual(sealKey(A, engine, pol), sealKey(C, engine, pol));
    assert.equal(toHex(A.mrenclave), toHex(C.mrenclave), 'C differs from A only by its signer');
    assert.notEqual(sealKey(A, engine, pol), sealKey(A, engine), 'the policy is part of the key');
  });

  test('MRSIGNER policy: a different ISVPRODID or different attributes give a different key', () => {
    const { k, engine, A } = twoOfOneSigner();
    const D = buildEnclave(k, { marker: 'D', sig: { isvProdId: 1 } });
    const E = buildEnclave(k, { marker: 'E', flags: ATTR.MODE64BIT });
    const pol = { KEYPOLICY: KEYPOLICY.MRSIGNER };
    assert.notEqual(sealKey(A, engine, pol), sealKey(D, engine, pol));
    assert.notEqual(sealKey(A, engine, pol), sealKey(E, engine, pol), 'DEBUG is always in ATTRIBUTES*');
    // attributes outside ATTRIBUTEMASK do not matter (except INIT and DEBUG)
    const F = buildEnclave(k, { marker: 'F', flags: ATTR.MODE64BIT | ATTR.DEBUG | ATTR.PROVISIONKEY });
    assert.equal(sealKey(A, engine, pol), sealKey(F, engine, pol));
    assert.notEqual(sealKey(A, engine, { ...pol, ATTRIBUTEMASK: { FLAGS: ATTR.PROVISIONKEY, XFRM: 0n } }), sealKey(F, engine, { ...pol, ATTRIBUTEMASK: { FLAGS: ATTR.PROVISIONKEY, XFRM: 0n } }));
  });

  test('a lower ISVSVN gives a different key that the older version derives itself', () => {
    const { k, engine } = newKernel();
    const v1 = buildEnclave(k, { marker: 'v1', sig: { isvSvn: 1 } });
    const v2 = buildEnclave(k, { marker: 'v2', sig: { isvSvn: 2 } });
    const pol = { KEYPOLICY: KEYPOLICY.MRSIGNER };
    const v2own = sealKey(v2, engine, { ...pol, ISVSVN: 2 });
    const v2old = sealKey(v2, engine, { ...pol, ISVSVN: 1 });
    assert.notEqual(v2own, v2old);
    assert.equal(v2old, sealKey(v1, engine, { ...pol, ISVSVN: 1 }), 'the upgrade can read what v1 sealed');
    assert.equal(getKey(v1, engine, { KEYNAME: KEYNAME.SEAL_KEY, ...pol, ISVSVN: 2 }).status, SGX.INVALID_ISVSVN, 'v1 cannot derive v2\'s key');
  });

  test('a lower CPUSVN gives a different key; every accepted CPUSVN its own key', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const cur = sealKey(e, engine, { CPUSVN: DEFAULT_CPUSVN });
    const lower = DEFAULT_CPUSVN.slice();
    lower[0]! -= 1;
    const older = sealKey(e, engine, { CPUSVN: lower });
    const zero = sealKey(e, engine, { CPUSVN: new Uint8Array(16) });
    assert.equal(new Set([cur, older, zero]).size, 3);
  });

  test('KEYID, MISCMASK and ATTRIBUTEMASK are inputs of the seal key', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const base = sealKey(e, engine);
    assert.notEqual(sealKey(e, engine, { KEYID: new Uint8Array(32).fill(1) }), base);
    assert.notEqual(sealKey(e, engine, { MISCMASK: 1 }), base);
    assert.notEqual(sealKey(e, engine, { ATTRIBUTEMASK: { FLAGS: 0xffn, XFRM: 0n } }), base);
  });

  test('the same seed gives the same key (new Processor, and Processor.restore(save())); another seed another key', () => {
    const seed = new Uint8Array(32).fill(0x42);
    const spec = { marker: 'sealer' };
    const p1 = newKernel({ seed });
    const k1 = sealKey(buildEnclave(p1.k, spec), p1.engine);
    const p2 = newKernel({ seed });
    assert.equal(sealKey(buildEnclave(p2.k, spec), p2.engine), k1);
    // restore: a kernel on the restored processor (through JSON, as a file would hold it)
    const engine = new ScriptEngine();
    const p3 = kernelOn(Processor.restore(JSON.parse(JSON.stringify(p1.k.proc.save())), { engine }), engine);
    assert.equal(p3.k.proc.config.epcSize, p1.k.proc.config.epcSize);
    assert.equal(sealKey(buildEnclave(p3.k, spec), p3.engine), k1);
    const p4 = newKernel({ seed: new Uint8Array(32).fill(0x43) });
    assert.notEqual(sealKey(buildEnclave(p4.k, spec), p4.engine), k1);
    const p5 = newKernel();
    assert.notEqual(sealKey(buildEnclave(p5.k, spec), p5.engine), k1, 'no seed: a fresh platform');
  });

  test('OWNEREPOCH changes the SEAL key but neither PROVISION_KEY nor PROVISION_SEAL_KEY', () => {
    const seed = new Uint8Array(32).fill(7);
    const spec: EnclaveSpec = { flags: 6n | ATTR.PROVISIONKEY };
    const keys = (ownerEpoch: Uint8Array) => {
      const { k, engine } = newKernel({ seed, ownerEpoch });
      const e = buildEnclave(k, spec);
      return [KEYNAME.SEAL_KEY, KEYNAME.PROVISION_SEAL_KEY, KEYNAME.PROVISION_KEY].map((n) => toHex(getKey(e, engine, { KEYNAME: n, KEYPOLICY: n === KEYNAME.PROVISION_KEY ? 0 : KEYPOLICY.MRSIGNER }).key));
    };
    const a = keys(new Uint8Array(16)), b = keys(new Uint8Array(16).fill(1));
    assert.notEqual(a[0], b[0], 'SEAL depends on OWNEREPOCH');
    assert.equal(a[1], b[1], 'PROVISION_SEAL excludes OWNEREPOCH');
    assert.equal(a[2], b[2], 'PROVISION excludes OWNEREPOCH');
    assert.equal(new Set(a).size, 3);
  });

  test('PROVISION_KEY depends on the provisioning root, not the seal fuses; SEAL on the seal fuses', () => {
    const roots1 = { sealFuses: new Uint8Array(16).fill(1), provisioningRoot: new Uint8Array(16).fill(2) };
    const roots2 = { sealFuses: new Uint8Array(16).fill(3), provisioningRoot: new Uint8Array(16).fill(2) };
    const d: KeyDependencies = {
      keyName: KEYNAME.PROVISION_KEY, keyPolicy: 0, isvProdId: 0, isvSvn: 0, configSvn: 0, miscSelect: 0, miscMask: 0,
      attributes: new Uint8Array(16), attributesMask: new Uint8Array(16), ownerEpoch: new Uint8Array(16), cpuSvn: new Uint8Array(16), sealKeyFuses: new Uint8Array(16),
      isvFamilyId: new Uint8Array(16), isvExtProdId: new Uint8Array(16), mrenclave: new Uint8Array(32), mrsigner: new Uint8Array(32), keyId: new Uint8Array(32),
      configId: new Uint8Array(64), padding: new Uint8Array(352),
    };
    assert.deepEqual(deriveKey(crypto, roots1, d), deriveKey(crypto, roots2, d));
    const seal = { ...d, keyName: KEYNAME.SEAL_KEY };
    assert.notDeepEqual(deriveKey(crypto, roots1, seal), deriveKey(crypto, roots2, seal));
    assert.throws(() => serializeKeyDependencies({ ...d, mrenclave: new Uint8Array(31) }), (e: unknown) => e instanceof ArchError && e.code === 'KEY_DEPENDENCY_SIZE');
  });

  test('deriveKey: the provider sees the serialization only during its call (zeroed after, also when the derivation fails), and a derivation nested in it gets its own buffer', () => {
    const roots = { sealFuses: new Uint8Array(16).fill(9), provisioningRoot: new Uint8Array(16).fill(2) };
    const d: KeyDependencies = {
      keyName: KEYNAME.SEAL_KEY, keyPolicy: 2, isvProdId: 3, isvSvn: 4, configSvn: 0, miscSelect: 0, miscMask: 0,
      attributes: new Uint8Array(16).fill(1), attributesMask: new Uint8Array(16).fill(5), ownerEpoch: new Uint8Array(16), cpuSvn: new Uint8Array(16).fill(7), sealKeyFuses: roots.sealFuses,
      isvFamilyId: new Uint8Array(16), isvExtProdId: new Uint8Array(16), mrenclave: new Uint8Array(32).fill(0xaa), mrsigner: new Uint8Array(32).fill(0xbb), keyId: new Uint8Array(32).fill(0xcc),
      configId: new Uint8Array(64), padding: new Uint8Array(352).fill(0xdd),
    };
    const expected = toHex(crypto.aesCmac128(roots.sealFuses, serializeKeyDependencies(d)));
    const seen: Uint8Array[] = [];
    const keeping = { ...crypto, aesCmac128: (k: Uint8Array, m: Uint8Array) => {
      seen.push(m);
      return crypto.aesCmac128(k, m);
    } };
    assert.equal(toHex(deriveKey(keeping, roots, d)), expected);
    assert.ok(seen[0]!.every((b) => b === 0), 'the message the provider was given holds no dependency (the fuse key) after the call');
    // A provider that derives another key inside its CMAC: both keys come out right.
    const other = { ...d, keyPolicy: 1 };
    let inner = '';
    let inner2 = '';
    const nesting = { ...crypto, aesCmac128: (k: Uint8Array, m: Uint8Array) => {
      if (inner === '') {
        // Two derivations inside the outer one's CMAC: neither may free the outer one's buffer.
        inner = toHex(deriveKey(keeping, roots, other));
        inner2 = toHex(deriveKey(keeping, roots, other));
      }
      return crypto.aesCmac128(k, m);
    } };
    seen.length = 0;
    assert.equal(toHex(deriveKey(nesting, roots, d)), expected);
    assert.equal(inner, toHex(crypto.aesCmac128(roots.sealFuses, serializeKeyDependencies(other))));
    assert.equal(inner2, inner);
    assert.equal(seen.length, 2);
    assert.ok(seen.every((m) => m.every((b) => b === 0)), 'the nested derivations\' own buffers are zeroed too');
    assert.equal(toHex(deriveKey(nesting, roots, d)), expected, 'and the next derivation is right');
    // A dependency of the wrong size: the typed error, the buffer zeroed, the next derivation right.
    seen.length = 0;
    assert.throws(() => deriveKey(keeping, roots, { ...d, mrsigner: new Uint8Array(31) }), (e: unknown) => e instanceof ArchError && e.code === 'KEY_DEPENDENCY_SIZE');
    assert.equal(seen.length, 0, 'refused before the CMAC');
    assert.equal(toHex(deriveKey(keeping, roots, d)), expected);
    assert.ok(seen[0]!.every((b) => b === 0));
    const failing = { ...crypto, aesCmac128: (_k: Uint8Array, m: Uint8Array): Uint8Array => {
      seen.push(m);
      throw new Error('provider failed');
    } };
    assert.throws(() => deriveKey(failing, roots, d), /provider failed/);
    assert.ok(seen[seen.length - 1]!.every((b) => b === 0), 'zeroed when the provider throws');
    assert.equal(toHex(deriveKey(crypto, roots, d)), expected, 'and the next derivation uses the buffer again');
  });

  test('ED-11 serialization, byte by byte as specs/sgx.md §11.4 lists it, and a known-answer key', () => {
    const f = (n: number, v: number) => new Uint8Array(n).fill(v);
    const d: KeyDependencies = {
      keyName: KEYNAME.SEAL_KEY, keyPolicy: 0x0003, isvProdId: 0x1234, isvSvn: 0x5678, configSvn: 0x9abc, miscSelect: 0x01020304, miscMask: 0xf0e0d0c0,
      attributes: f(16, 1), attributesMask: f(16, 2), ownerEpoch: f(16, 3), cpuSvn: f(16, 4), sealKeyFuses: f(16, 5),
      isvFamilyId: f(16, 6), isvExtProdId: f(16, 7), mrenclave: f(32, 8), mrsigner: f(32, 9), keyId: f(32, 10), configId: f(64, 11), padding: f(352, 12),
    };
    const le = (n: number, v: number) => Buffer.from(Array.from({ length: n }, (_, i) => (v / 2 ** (8 * i)) & 0xff));
    const expected = Buffer.concat([
      le(2, 4), le(2, 3), le(2, 0x1234), le(2, 0x5678), le(2, 0x9abc), le(2, 0), le(4, 0x01020304), le(4, 0xf0e0d0c0),
      f(16, 1), f(16, 2), f(16, 3), f(16, 4), f(16, 5), f(16, 6), f(16, 7), f(32, 8), f(32, 9), f(32, 10), f(64, 11), f(352, 12),
    ]);
    assert.equal(expected.length, 644);
    assert.equal(toHex(serializeKeyDependencies(d)), toHex(expected));
    // AES-CMAC(root, ser) with AES-CMAC checked against RFC 4493 in test/lib; the value pins ED-11.
    const roots = { sealFuses: fromHex('000102030405060708090a0b0c0d0e0f'), provisioningRoot: new Uint8Array(16) };
    assert.equal(toHex(deriveKey(crypto, roots, d)), KAT_SEAL_KEY);
  });

  test('cpusvnAtMost compares byte-wise (ED-10)', () => {
    const cur = fromHex('0a0a0204ff8000000000000000000000');
    assert.equal(cpusvnAtMost(cur, cur), true);
    assert.equal(cpusvnAtMost(new Uint8Array(16), cur), true);
    assert.equal(cpusvnAtMost(fromHex('0b000000000000000000000000000000'), cur), false);
    assert.equal(cpusvnAtMost(fromHex('0000000000000000000000000000000f'), cur), false);
  });
});

describe('Key Separation and Sharing (KSS)', () => {
  const kssSpec = (over: EnclaveSpec = {}): EnclaveSpec => ({
    flags: 6n | ATTR.KSS,
    secs: { CONFIGID: new Uint8Array(64).fill(0xc1), CONFIGSVN: 5 },
    sig: { isvFamilyId: new Uint8Array(16).fill(0xf1), isvExtProdId: new Uint8Array(16).fill(0xe1), isvProdId: 9 },
    ...over,
  });

  test('REPORT carries CONFIGID, CONFIGSVN, ISVFAMILYID and ISVEXTPRODID; a KSS target verifies reports made for it', () => {
    const { k, engine } = newKernel({ features: { kss: true } });
    const A = buildEnclave(k, kssSpec({ marker: 'A' }));
    const B = buildEnclave(k, kssSpec({ marker: 'B', secs: { CONFIGID: new Uint8Array(64).fill(0xc2), CONFIGSVN: 6 } }));
    const selfB = inside(B, engine, (ctx, s) => ereportIn(ctx, s, new Uint8Array(512)));
    const tiB = targetInfoOf(selfB);
    assert.equal(TARGETINFO.decode(tiB).CONFIGSVN, 6);
    const rep = inside(A, engine, (ctx, s) => ereportIn(ctx, s, tiB));
    const r = REPORT.decode(rep);
    assert.deepEqual(r.CONFIGID, new Uint8Array(64).fill(0xc1));
    assert.equal(r.CONFIGSVN, 5);
    assert.deepEqual(r.ISVFAMILYID, new Uint8Array(16).fill(0xf1));
    assert.deepEqual(r.ISVEXTPRODID, new Uint8Array(16).fill(0xe1));
    assert.equal(r.ATTRIBUTES.FLAGS & ATTR.KSS, ATTR.KSS);
    const ok = inside(B, engine, (ctx, s) => {
      const { key } = egetkeyIn(ctx, s, keyRequest({ KEYNAME: KEYNAME.REPORT_KEY, KEYID: r.KEYID }));
      return toHex(crypto.aesCmac128(key, rep.subarray(0, 384))) === toHex(r.MAC);
    });
    assert.equal(ok, true);
  });

  test('seal policies: CONFIGID binds CONFIGID and the requested CONFIGSVN; ISVFAMILYID and NOISVPRODID share across products', () => {
    const { k, engine } = newKernel({ features: { kss: true } });
    const A = buildEnclave(k, kssSpec({ marker: 'A' }));
    const A2 = buildEnclave(k, kssSpec({ marker: 'A', secs: { CONFIGID: new Uint8Array(64).fill(0xc9), CONFIGSVN: 5 } }));
    const P2 = buildEnclave(k, kssSpec({ marker: 'P2', sig: { isvFamilyId: new Uint8Array(16).fill(0xf1), isvExtProdId: new Uint8Array(16).fill(0xe2), isvProdId: 10 } }));
    const S = KEYPOLICY.MRSIGNER;
    // CONFIGID policy: same MRENCLAVE, different CONFIGID → different keys; without the policy → the same key
    assert.notEqual(sealKey(A, engine, { KEYPOLICY: S | KEYPOLICY.CONFIGID }), sealKey(A2, engine, { KEYPOLICY: S | KEYPOLICY.CONFIGID }));
    assert.equal(sealKey(A, engine, { KEYPOLICY: S }), sealKey(A2, engine, { KEYPOLICY: S }));
    // requested CONFIGSVN above the enclave's → INVALID_ISVSVN; below → a different, derivable key
    assert.equal(getKey(A, engine, { KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: S | KEYPOLICY.CONFIGID, CONFIGSVN: 6 }).status, SGX.INVALID_ISVSVN);
    assert.notEqual(sealKey(A, engine, { KEYPOLICY: S | KEYPOLICY.CONFIGID, CONFIGSVN: 4 }), sealKey(A, engine, { KEYPOLICY: S | KEYPOLICY.CONFIGID, CONFIGSVN: 5 }));
    // two products of one family: NOISVPRODID + ISVFAMILYID share; with ISVEXTPRODID or the product id they differ
    const fam = S | KEYPOLICY.NOISVPRODID | KEYPOLICY.ISVFAMILYID;
    assert.equal(sealKey(A, engine, { KEYPOLICY: fam }), sealKey(P2, engine, { KEYPOLICY: fam }));
    assert.notEqual(sealKey(A, engine, { KEYPOLICY: fam | KEYPOLICY.ISVEXTPRODID }), sealKey(P2, engine, { KEYPOLICY: fam | KEYPOLICY.ISVEXTPRODID }));
    assert.notEqual(sealKey(A, engine, { KEYPOLICY: S | KEYPOLICY.ISVFAMILYID }), sealKey(P2, engine, { KEYPOLICY: S | KEYPOLICY.ISVFAMILYID }));
  });
});

describe('the processor\'s working buffers across nested entries', () => {
  test('an EGETKEY that faults on a reserved KEYREQUEST bit (#GP, an AEX) faults again when resumed, though the host ran another thread\'s EGETKEY in between', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { tcsCount: 2, dataPages: 3 });
    const bad = keyRequest({ KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.MRENCLAVE });
    bad[100] = 1; // reserved
    const good = keyRequest({ KEYNAME: KEYNAME.SEAL_KEY, KEYPOLICY: KEYPOLICY.MRENCLAVE });
    let inner: { status: number; key: Uint8Array } | null = null;
    let outerReturned = false;
    const innerOp = engine.on((ctx) => {
      inner = egetkeyIn(ctx, e.data(2), good);
      return ctx.regs.rcx;
    });
    const outerOp = engine.on((ctx) => {
      egetkeyIn(ctx, e.data(1), bad);
      outerReturned = true;
      return ctx.regs.rcx;
    });
    const seen: string[] = [];
    const { exit } = e.enter(outerOp, { handler: (x, r) => {
      seen.push(`${x.reason} ${x.vector}`);
      if (seen.length > 1) return 0; // the second #GP: give up
      seen.push(`nested ${e.enter(innerOp, { tcs: 1 }).exit.reason}`);
      Object.assign(r, { rbx: e.tcs(0), rcx: AEP });
      return ENCLU.ERESUME;
    } });
    assert.deepEqual(seen, [`aex ${VECTOR.GP}`, 'nested eexit', `aex ${VECTOR.GP}`], 'the #GP, the nested entry, the #GP again');
    assert.deepEqual([exit.reason, exit.vector], ['aex', VECTOR.GP]);
    assert.equal(outerReturned, false, 'the faulting EGETKEY never returned');
    assert.equal(inner!.status, SGX.SUCCESS, 'the nested EGETKEY succeeded');
  });

  test('an EREPORT whose REPORT MAC runs another thread\'s EREPORT (a provider that enters again) comes out as one made alone', () => {
    const base = defaultCrypto();
    let hook: (() => void) | null = null;
    const provider = { ...base, aesCmac128(key: Uint8Array, m: Uint8Array, keep?: boolean) {
      if (m.length === 384 && hook) { // the REPORT's MACed bytes
        const h = hook;
        hook = null;
        h();
      }
      return base.aesCmac128(key, m, keep);
    } };
    const { k, engine } = newKernel({ crypto: provider, logicalProcessors: 4 });
    const e = buildEnclave(k, { tcsCount: 2, dataPages: 3 });
    const ti = new Uint8Array(512);
    let innerRep: Uint8Array | null = null, outerRep: Uint8Array | null = null, alone: Uint8Array | null = null;
    hook = () => void e.enter(engine.on((ctx) => {
      innerRep = ereportIn(ctx, e.data(2), ti, new Uint8Array(64).fill(2));
      return ctx.regs.rcx;
    }), { tcs: 1, lp: 2 });
    e.enter(engine.on((ctx) => {
      outerRep = ereportIn(ctx, e.data(1), ti, new Uint8Array(64).fill(1));
      return ctx.regs.rcx;
    }));
    e.enter(engine.on((ctx) => {
      alone = ereportIn(ctx, e.data(1), ti, new Uint8Array(64).fill(1));
      return ctx.regs.rcx;
    }));
    assert.equal(hook, null, 'the nested EREPORT ran');
    assert.equal(innerRep![320], 2, 'its own REPORTDATA');
    assert.equal(outerRep![320], 1, 'the outer REPORT\'s REPORTDATA');
    assert.equal(toHex(outerRep!), toHex(alone!), 'byte for byte the REPORT made without nesting');
  });
});
