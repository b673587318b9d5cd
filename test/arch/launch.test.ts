/**
 * Launch control (specs/sgx.md §5, §6.4 steps 10 and 14–20): the LE public-key hash MSRs, legacy
 * launch without FLC, and an EINITTOKEN built inside a launch enclave exactly as the reference LE
 * does (EREPORT on itself, EGETKEY(EINITTOKEN_KEY) with the masks of §5, AES-CMAC over [0,192)).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCrypto, toHex } from '../../src/lib/index.js';
import { SGX, VECTOR, ATTR, KEYNAME, REPORT, EINITTOKEN, INTEL_LE_PUBKEYHASH, type Attributes, type EnclaveContext } from '../../src/arch/index.js';
import {
  newKernel, buildEnclave, EnclaveBuilder, ereportIn, egetkeyIn, keyRequest, type BuiltEnclave, type ScriptEngine, type EnclaveSpec,
} from '../helpers/enclave.js';
import { testKey } from '../helpers/signing.js';
import { assertFault, assertUnchanged, hexOf } from '../helpers/assert.js';
import type { TestKernel } from '../helpers/kernel.js';

const crypto = defaultCrypto();
const MSR_LEHASH0 = 0x8c;
const MSR_FEATURE_CONTROL = 0x3a;
const U64 = 0xffffffffffffffffn;

function inside<T>(e: BuiltEnclave, engine: ScriptEngine, fn: (ctx: EnclaveContext, scratch: number) => T): T {
  let out: { v: T } | null = null;
  const op = engine.on((ctx) => {
    out = { v: fn(ctx, e.data(1)) };
    return ctx.regs.rcx;
  });
  const { exit } = e.enter(op);
  assert.equal(exit.reason, 'eexit', `LE ended with ${exit.reason} ${exit.detail ?? ''}`);
  return (out as unknown as { v: T }).v;
}

interface TokenRequest {
  mrenclave: Uint8Array;
  mrsigner: Uint8Array;
  attributes: Attributes;
}

/** The launch enclave's token algorithm (§5 steps 2–6). */
function makeToken(le: BuiltEnclave, engine: ScriptEngine, req: TokenRequest, miscMask = 0xffffffff, beforeMac?: (t: Uint8Array) => void): Uint8Array {
  return inside(le, engine, (ctx, s) => {
    const self = REPORT.decode(ereportIn(ctx, s, new Uint8Array(512)));
    const keyId = crypto.randomBytes(32);
    const token = EINITTOKEN.encode({
      VALID: 1, ATTRIBUTES: req.attributes, MRENCLAVE: req.mrenclave, MRSIGNER: req.mrsigner,
      CPUSVNLE: self.CPUSVN, ISVPRODIDLE: self.ISVPRODID, ISVSVNLE: self.ISVSVN,
      MASKEDMISCSELECTLE: (self.MISCSELECT & miscMask) >>> 0,
      MASKEDATTRIBUTESLE: { FLAGS: self.ATTRIBUTES.FLAGS & ~ATTR.MODE64BIT, XFRM: 0n },
      KEYID: keyId,
    });
    const { status, key } = egetkeyIn(ctx, s, keyRequest({
      KEYNAME: KEYNAME.EINITTOKEN_KEY, ATTRIBUTEMASK: { FLAGS: ~ATTR.MODE64BIT & U64, XFRM: 0n }, MISCMASK: miscMask,
      ISVSVN: self.ISVSVN, CPUSVN: self.CPUSVN, KEYID: keyId,
    }));
    assert.equal(status, SGX.SUCCESS);
    beforeMac?.(token);
    token.set(crypto.aesCmac128(key, token.subarray(0, 192)), 288);
    return token;
  });
}

/** An FLC platform whose LE hash MSRs name the LE's signer (testKey 0), the LE running, a third-party enclave (testKey 1) loaded. */
function platform(leSpec: EnclaveSpec = {}, targetSpec: EnclaveSpec = {}) {
  const { k, engine } = newKernel({ features: { flc: true } });
  const le = buildEnclave(k, { marker: 'launch enclave', flags: ATTR.MODE64BIT | ATTR.DEBUG | ATTR.EINITTOKEN_KEY, sig: { isvProdId: 0x20, isvSvn: 2 }, ...leSpec });
  assert.equal(toHex(k.proc.inspect.lePubKeyHash), toHex(testKey(0).mrsigner));
  const b = new EnclaveBuilder(k, { marker: 'third party', signer: testKey(1), leHash: 'keep', ...targetSpec });
  assert.equal(b.create(), SGX.SUCCESS);
  b.addPages();
  const req: TokenRequest = { mrenclave: b.mrenclave, mrsigner: testKey(1).mrsigner, attributes: { FLAGS: b.flags, XFRM: b.xfrm } };
  return { k, engine, le, b, req };
}

/** EINIT of the third-party enclave with `token` fails with `status`, changing nothing; a good token then works. */
function tokenFails(p: ReturnType<typeof platform>, token: Uint8Array, status: number): void {
  assertUnchanged(p.k, () => assert.equal(p.b.einit(p.b.sigstruct(), token), status));
  assert.equal(p.b.einit(p.b.sigstruct(), makeToken(p.le, p.engine, p.req)), SGX.SUCCESS);
  assert.equal(hexOf(p.k.proc.inspect.enclaves().find((e) => e.secs === p.b.secs)!.mrenclave), toHex(p.b.mrenclave));
}

function readLeHash(k: TestKernel): Uint8Array {
  return k.kernel(() => {
    const out = new Uint8Array(32);
    for (let i = 0; i < 4; i++) {
      const v = k.lp.rdmsr(MSR_LEHASH0 + i);
      for (let j = 0; j < 8; j++) out[i * 8 + j] = Number((v >> BigInt(8 * j)) & 0xffn);
    }
    return out;
  });
}

describe('IA32_SGXLEPUBKEYHASH and FEATURE_CONTROL (§1.1, ED-3)', () => {
  test('reset value is Intel\'s LE signer; MSR i holds digest bytes [8i, 8i+8) little-endian', () => {
    const { k } = newKernel();
    assert.equal(toHex(readLeHash(k)), 'acb77012053e05a63d413b8bbae8fb6c5d73b3f2996d91c43bbbf90959c0f8d4');
    assert.equal(toHex(INTEL_LE_PUBKEYHASH), 'acb77012053e05a63d413b8bbae8fb6c5d73b3f2996d91c43bbbf90959c0f8d4');
    assert.equal(k.kernel(() => k.lp.rdmsr(MSR_LEHASH0)), 0xa6053e051270b7acn);
    assert.equal(k.kernel(() => k.lp.rdmsr(MSR_LEHASH0 + 3)), 0xd4f8c05909f9bb3bn);
  });

  test('with FLC: writable, read back, and visible to inspection', () => {
    const { k } = newKernel({ features: { flc: true } });
    assert.equal(k.kernel(() => k.lp.rdmsr(MSR_FEATURE_CONTROL)) & ((1n << 0n) | (1n << 17n) | (1n << 18n)), (1n << 0n) | (1n << 17n) | (1n << 18n));
    const h = new Uint8Array(32).map((_, i) => i * 3);
    k.setLeHash(h);
    assert.deepEqual(readLeHash(k), h);
    assert.deepEqual(k.proc.inspect.lePubKeyHash, h);
    assert.equal(k.proc.inspect.flexibleLaunchControl, true);
  });

  test('without FLC: WRMSR → #GP and the hash stays Intel\'s; FEATURE_CONTROL bit 17 clear', () => {
    const { k } = newKernel({ features: { flc: false } });
    assertFault(() => k.kernel(() => k.lp.wrmsr(MSR_LEHASH0, 1n)), VECTOR.GP);
    assertFault(() => k.setLeHash(testKey(0).mrsigner), VECTOR.GP);
    assert.deepEqual(k.proc.inspect.lePubKeyHash, INTEL_LE_PUBKEYHASH);
    assert.equal(k.kernel(() => k.lp.rdmsr(MSR_FEATURE_CONTROL)) & (1n << 17n), 0n);
    assert.equal(k.proc.inspect.flexibleLaunchControl, false);
  });

  test('WRMSR/RDMSR at CPL 3 → #GP; unmodelled MSRs → #GP', () => {
    const { k } = newKernel();
    assertFault(() => k.user(() => k.lp.wrmsr(MSR_LEHASH0, 0n), 0), VECTOR.GP);
    assertFault(() => k.user(() => k.lp.rdmsr(MSR_LEHASH0), 0), VECTOR.GP);
    assertFault(() => k.kernel(() => k.lp.wrmsr(0x10, 0n)), VECTOR.GP);
    assertFault(() => k.kernel(() => k.lp.wrmsr(MSR_FEATURE_CONTROL, 0n)), VECTOR.GP);
    assertFault(() => k.kernel(() => k.lp.rdmsr(0x90)), VECTOR.GP);
  });
});

describe('legacy launch (no FLC)', () => {
  test('a self-made LE cannot EINIT (EINITTOKEN_KEY needs Intel\'s signer); a third-party enclave without a token gets SGX_INVALID_EINITTOKEN', () => {
    const { k } = newKernel({ features: { flc: false } });
    const le = new EnclaveBuilder(k, { marker: 'le', flags: ATTR.MODE64BIT | ATTR.EINITTOKEN_KEY });
    le.create();
    le.addPages();
    assertUnchanged(k, () => assert.equal(le.einit(), SGX.INVALID_ATTRIBUTE));
    const b = new EnclaveBuilder(k, { marker: '3p' });
    b.create();
    b.addPages();
    assertUnchanged(k, () => assert.equal(b.einit(), SGX.INVALID_EINITTOKEN));
  });
});

describe('EINITTOKEN from a launch enclave (§5)', () => {
  test('the LE launches a third-party enclave with its token', () => {
    const p = platform();
    const token = makeToken(p.le, p.engine, p.req);
    const t = EINITTOKEN.decode(token);
    assert.equal(t.VALID, 1);
    assert.equal(t.ISVPRODIDLE, 0x20);
    assert.equal(t.ISVSVNLE, 2);
    assert.deepEqual(t.MASKEDATTRIBUTESLE, { FLAGS: ATTR.INIT | ATTR.DEBUG | ATTR.EINITTOKEN_KEY, XFRM: 0n });
    assert.equal(p.b.einit(p.b.sigstruct(), token), SGX.SUCCESS);
    const info = p.k.proc.inspect.enclaves().find((e) => e.secs === p.b.secs)!;
    assert.equal(info.state, 'initialized');
    assert.equal(hexOf(info.mrsigner), toHex(testKey(1).mrsigner));
    assert.equal(hexOf(info.mrenclave), toHex(p.b.mrenclave));
  });

  test('without the token the same enclave is refused (SGX_INVALID_EINITTOKEN)', () => {
    const p = platform();
    tokenFails(p, new Uint8Array(304), SGX.INVALID_EINITTOKEN);
  });

  const tampered: [string, (t: Uint8Array) => void][] = [
    ['VALID-adjacent MACed byte (ATTRIBUTES)', (t) => { t[48]! ^= 0x10; }],
    ['MRENCLAVE', (t) => { t[64]! ^= 1; }],
    ['MRSIGNER', (t) => { t[159]! ^= 0x80; }],
    ['MAC', (t) => { t[300]! ^= 1; }],
    ['KEYID (a key input)', (t) => { t[256]! ^= 1; }],
    ['ISVSVNLE (a key input)', (t) => { t[210]! ^= 1; }],
    ['ISVPRODIDLE (a key input)', (t) => { t[208]! ^= 1; }],
    ['CPUSVNLE lowered (a key input)', (t) => { t[192]! -= 1; }],
    ['MASKEDMISCSELECTLE (a key input)', (t) => { t[236]! ^= 1; }],
  ];
  for (const [name, f] of tampered) {
    test(`a tampered token (${name}) → SGX_INVALID_EINITTOKEN`, () => {
      const p = platform();
      const token = makeToken(p.le, p.engine, p.req);
      f(token);
      tokenFails(p, token, SGX.INVALID_EINITTOKEN);
    });
  }

  // EINIT steps 16 and 17 on tokens whose MAC is otherwise valid (so that only the checked condition fails)
  const reservedCases: [string, ((t: Uint8Array) => void) | null, ((t: Uint8Array) => void) | null, number][] = [
    ['VALID bit 1 (MACed)', (t) => { t[0] = 3; }, null, SGX.INVALID_EINITTOKEN],
    ['reserved byte 4 (MACed)', (t) => { t[4] = 1; }, null, SGX.INVALID_EINITTOKEN],
    ['reserved byte 120 (MACed)', (t) => { t[120] = 1; }, null, SGX.INVALID_EINITTOKEN],
    ['reserved byte 191 (MACed)', (t) => { t[191] = 1; }, null, SGX.INVALID_EINITTOKEN],
    ['reserved byte 212 (not MACed)', null, (t) => { t[212] = 1; }, SGX.INVALID_EINITTOKEN],
    ['reserved byte 235 (not MACed)', null, (t) => { t[235] = 0x80; }, SGX.INVALID_EINITTOKEN],
    ['CPUSVNLE above CR_CPUSVN (not MACed) → SGX_INVALID_CPUSVN', null, (t) => { t[207] = 1; }, SGX.INVALID_CPUSVN],
  ];
  for (const [name, pre, post, status] of reservedCases) {
    test(`an LE token with ${name} → ${status}`, () => {
      const p = platform();
      const token = makeToken(p.le, p.engine, p.req, 0xffffffff, pre ?? undefined);
      post?.(token);
      tokenFails(p, token, status);
    });
  }

  test('a token MACed correctly for another MRENCLAVE → SGX_INVALID_MEASUREMENT', () => {
    const p = platform();
    const other = p.req.mrenclave.slice();
    other[0]! ^= 0xff;
    tokenFails(p, makeToken(p.le, p.engine, { ...p.req, mrenclave: other }), SGX.INVALID_MEASUREMENT);
  });

  test('a token MACed correctly for another MRSIGNER → SGX_INVALID_MEASUREMENT', () => {
    const p = platform();
    tokenFails(p, makeToken(p.le, p.engine, { ...p.req, mrsigner: testKey(0).mrsigner }), SGX.INVALID_MEASUREMENT);
  });

  test('a token MACed correctly for other attributes → SGX_INVALID_ATTRIBUTE', () => {
    const p = platform();
    tokenFails(p, makeToken(p.le, p.engine, { ...p.req, attributes: { FLAGS: p.req.attributes.FLAGS | ATTR.PROVISIONKEY, XFRM: 3n } }), SGX.INVALID_ATTRIBUTE);
  });

  test('a debug LE cannot launch a production enclave; a production LE can', () => {
    const dbg = platform({}, { flags: ATTR.MODE64BIT });
    const token = makeToken(dbg.le, dbg.engine, dbg.req); // runs the LE (which writes its own pages)
    assertUnchanged(dbg.k, () => assert.equal(dbg.b.einit(dbg.b.sigstruct(), token), SGX.INVALID_EINITTOKEN));
    const prod = platform({ flags: ATTR.MODE64BIT | ATTR.EINITTOKEN_KEY }, { flags: ATTR.MODE64BIT });
    assert.equal(prod.b.einit(prod.b.sigstruct(), makeToken(prod.le, prod.engine, prod.req)), SGX.SUCCESS);
  });

  test('a token is bound to the platform: one made on another processor does not verify', () => {
    const p = platform();
    const q = platform();
    assert.equal(toHex(q.b.mrenclave), toHex(p.b.mrenclave));
    tokenFails(p, makeToken(q.le, q.engine, q.req), SGX.INVALID_EINITTOKEN);
  });

  test('a token is bound to the LE hash: after the OS writes another hash it no longer verifies', () => {
    const p = platform();
    const token = makeToken(p.le, p.engine, p.req);
    p.k.setLeHash(new Uint8Array(32).fill(0x5a));
    assertUnchanged(p.k, () => assert.equal(p.b.einit(p.b.sigstruct(), token), SGX.INVALID_EINITTOKEN));
    p.k.setLeHash(testKey(0).mrsigner);
    assert.equal(p.b.einit(p.b.sigstruct(), token), SGX.SUCCESS);
  });

  test('the LE masks matter: a token keyed without masking MODE64BIT does not verify', () => {
    const p = platform();
    const token = inside(p.le, p.engine, (ctx, s) => {
      const self = REPORT.decode(ereportIn(ctx, s, new Uint8Array(512)));
      const tok = EINITTOKEN.encode({
        VALID: 1, ATTRIBUTES: p.req.attributes, MRENCLAVE: p.req.mrenclave, MRSIGNER: p.req.mrsigner, CPUSVNLE: self.CPUSVN, ISVPRODIDLE: self.ISVPRODID, ISVSVNLE: self.ISVSVN,
        MASKEDATTRIBUTESLE: { FLAGS: self.ATTRIBUTES.FLAGS & ~ATTR.MODE64BIT, XFRM: 0n },
      });
      const { key } = egetkeyIn(ctx, s, keyRequest({ KEYNAME: KEYNAME.EINITTOKEN_KEY, ATTRIBUTEMASK: { FLAGS: U64, XFRM: 0n }, ISVSVN: self.ISVSVN, CPUSVN: self.CPUSVN }));
      tok.set(crypto.aesCmac128(key, tok.subarray(0, 192)), 288);
      return tok;
    });
    tokenFails(p, token, SGX.INVALID_EINITTOKEN);
  });
});
