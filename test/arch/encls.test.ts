/**
 * ENCLS leaves, table-driven: one case per fault condition and per status code of ECREATE, EADD,
 * EEXTEND, EINIT, EREMOVE, EDBGRD and EDBGWR (specs/sgx.md §6). Every failing leaf must leave the
 * processor unchanged (ED-0), and a correct sequence afterwards must still give the expected MRENCLAVE.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, writeU32le, writeU64le, fromHex } from '../../src/lib/index.js';
import {
  ENCLS, SGX, PT, VECTOR, ATTR, SECS, TCS, PAGEINFO, EINITTOKEN, ArchError, ArchFault, newRegisters, ENCLU, PageTable, PTE,
} from '../../src/arch/index.js';
import { TestKernel } from '../helpers/kernel.js';
import { newKernel, withStepHook, EnclaveBuilder, buildEnclave, SECINFO_REG_RW, SECINFO_TCS, AEP, type EnclaveSpec } from '../helpers/enclave.js';
import { assertFault, assertUnchanged, hexOf } from '../helpers/assert.js';
import { signInPlace, testKey } from '../helpers/signing.js';

const GP = VECTOR.GP, PF = VECTOR.PF;

// ---- ECREATE --------------------------------------------------------------------------------

interface EcreateArgs {
  secs: Uint8Array;
  secinfo: Uint8Array;
  pageinfo: Partial<{ LINADDR: bigint; SRCPGE: bigint; SECINFO: bigint; SECS: bigint }>;
  /** Place PAGEINFO at this offset of a page (32 = aligned). */
  pageinfoAt: number;
  secinfoAt: number;
  srcAt: number;
  rcx: number | null;
}

function goodSecs(over: Parameters<typeof SECS.encode>[0] = {}): Uint8Array {
  return SECS.encode({ SIZE: 0x10000n, BASEADDR: 0x1000_0000n, SSAFRAMESIZE: 1, ATTRIBUTES: { FLAGS: ATTR.MODE64BIT | ATTR.DEBUG, XFRM: 3n }, ...over });
}
function secinfoBytes(flags: number | bigint): Uint8Array {
  const b = new Uint8Array(64);
  writeU64le(b, 0, BigInt(flags));
  return b;
}

/** ECREATE with every operand placed explicitly; returns [status, target EPC page]. */
function ecreateRaw(k: TestKernel, a: Partial<EcreateArgs> = {}): [number, number] {
  const srcAt = a.srcAt ?? 0, secinfoAt = a.secinfoAt ?? 0, pageinfoAt = a.pageinfoAt ?? 0;
  const srcBuf = k.alloc(8192);
  k.proc.memory.writePhysical(srcBuf + srcAt, a.secs ?? goodSecs());
  const siBuf = k.alloc(4096);
  k.proc.memory.writePhysical(siBuf + secinfoAt, a.secinfo ?? secinfoBytes(PT.SECS << 8));
  const piBuf = k.alloc(4096);
  k.proc.memory.writePhysical(piBuf + pageinfoAt, PAGEINFO.encode({ LINADDR: 0n, SRCPGE: BigInt(srcBuf + srcAt), SECINFO: BigInt(siBuf + secinfoAt), SECS: 0n, ...(a.pageinfo ?? {}) }));
  const rcx = a.rcx ?? k.epcPage();
  return [k.encls(ENCLS.ECREATE, piBuf + pageinfoAt, rcx), rcx];
}

describe('ECREATE (§6.1)', () => {
  test('control: the unmodified operands succeed and create an uninitialized SECS', () => {
    const k = new TestKernel({ epcSize: 0x100000 });
    const free = k.proc.inspect.freeEpcPages;
    const [st, rcx] = ecreateRaw(k);
    assert.equal(st, SGX.SUCCESS);
    assert.equal(k.proc.inspect.freeEpcPages, free - 1);
    const e = k.proc.inspect.epcm(rcx);
    assert.deepEqual([e.valid, e.pageType, e.r, e.w, e.x, e.owner, e.linAddr], [true, PT.SECS, false, false, false, null, 0]);
    const info = k.proc.inspect.enclaves()[0]!;
    assert.equal(info.state, 'uninitialized');
    assert.equal(info.baseAddr, 0x1000_0000);
    assert.equal(info.size, 0x10000);
    assert.equal(info.attributesFlags, ATTR.MODE64BIT | ATTR.DEBUG);
    assert.equal(info.mrenclave, null);
  });

  type Case = [name: string, args: (k: TestKernel) => Partial<EcreateArgs>, vector: number, pf?: { sgx: boolean; atRcx: true }, opts?: ConstructorParameters<typeof TestKernel>[0]];
  const S = (over: Parameters<typeof SECS.encode>[0]) => () => ({ secs: goodSecs(over) });
  const raw = (f: (b: Uint8Array) => void) => () => {
    const b = goodSecs();
    f(b);
    return { secs: b };
  };
  const cases: Case[] = [
    // step 1
    ['PAGEINFO not 32-aligned', () => ({ pageinfoAt: 16 }), GP],
    ['SECS page not 4K-aligned', (k) => ({ rcx: k.epcPage() + 0x800 }), GP],
    ['RCX not in the EPC', (k) => ({ rcx: k.alloc(4096) }), PF, { sgx: false, atRcx: true }],
    // step 2
    ['SRCPGE not 4K-aligned', () => ({ srcAt: 2048 }), GP],
    ['SECINFO not 64-aligned', () => ({ secinfoAt: 32 }), GP],
    ['PAGEINFO.LINADDR ≠ 0', () => ({ pageinfo: { LINADDR: 0x1000_0000n } }), GP],
    ['PAGEINFO.SECS ≠ 0', (k) => ({ pageinfo: { SECS: BigInt(k.epcPage()) } }), GP],
    // step 3
    ['SECINFO.PAGE_TYPE = PT_REG', () => ({ secinfo: secinfoBytes(SECINFO_REG_RW) }), GP],
    ['SECINFO.PAGE_TYPE = PT_TCS', () => ({ secinfo: secinfoBytes(SECINFO_TCS) }), GP],
    ['SECINFO.FLAGS.PENDING (reserved for ECREATE)', () => ({ secinfo: secinfoBytes(0x8) }), GP],
    ['SECINFO.FLAGS bit 16', () => ({ secinfo: secinfoBytes(0x10000) }), GP],
    ['SECINFO reserved byte 8', () => ({ secinfo: Uint8Array.from({ length: 64 }, (_, i) => (i === 8 ? 1 : 0)) }), GP],
    // step 4
    ['target EPC page already valid', (k) => ({ rcx: ecreateRaw(k)[1] }), PF, { sgx: true, atRcx: true }],
    // step 6
    ['XFRM without SSE', S({ ATTRIBUTES: { FLAGS: 4n, XFRM: 1n } }), GP],
    ['XFRM without x87', S({ ATTRIBUTES: { FLAGS: 4n, XFRM: 2n } }), GP],
    ['XFRM not a legal XCR0 (one MPX bit)', S({ ATTRIBUTES: { FLAGS: 4n, XFRM: 0xbn } }), GP],
    ['XFRM beyond the supported mask (PKRU)', S({ ATTRIBUTES: { FLAGS: 4n, XFRM: 0x207n } }), GP],
    ['CET_LEG_BITMAP_OFFSET ≠ 0', S({ CET_LEG_BITMAP_OFFSET: 0x1000n }), GP],
    ['CET_ATTRIBUTES ≠ 0', S({ CET_ATTRIBUTES: 1 }), GP],
    ['ATTRIBUTES.CET', S({ ATTRIBUTES: { FLAGS: 4n | ATTR.CET, XFRM: 3n } }), GP],
    // step 7
    ['MISCSELECT.EXINFO not supported', S({ MISCSELECT: 1 }), GP],
    ['MISCSELECT reserved bit 31', S({ MISCSELECT: 0x80000000 }), GP, undefined, { epcSize: 0x100000, miscselectMask: 1 }],
    // step 8
    ['SSAFRAMESIZE 0', S({ SSAFRAMESIZE: 0 }), GP],
    // step 9
    ['BASEADDR not canonical', S({ BASEADDR: 1n << 47n }), GP],
    ['BASEADDR in the upper canonical half', S({ BASEADDR: 0xffff_8000_0000_0000n }), GP],
    ['32-bit enclave above 4 GiB', S({ BASEADDR: 0x1_0000_0000n, ATTRIBUTES: { FLAGS: 2n, XFRM: 3n } }), GP],
    // step 10
    ['SIZE = 2^MaxEnclaveSize_64', S({ SIZE: 1n << 36n, BASEADDR: 0n }), GP],
    ['SIZE = 2^31 for a 32-bit enclave', S({ SIZE: 1n << 31n, BASEADDR: 0n, ATTRIBUTES: { FLAGS: 2n, XFRM: 3n } }), GP],
    ['SIZE 4096', S({ SIZE: 0x1000n }), GP],
    ['SIZE not a power of two', S({ SIZE: 0x3000n }), GP],
    ['SIZE 0', S({ SIZE: 0n }), GP],
    ['BASEADDR not aligned to SIZE', S({ BASEADDR: 0x1000_8000n }), GP],
    // step 11
    ['ATTRIBUTES.INIT', S({ ATTRIBUTES: { FLAGS: 5n, XFRM: 3n } }), GP],
    ['ATTRIBUTES reserved bit 3', S({ ATTRIBUTES: { FLAGS: 0xcn, XFRM: 3n } }), GP],
    ['ATTRIBUTES reserved bit 63', S({ ATTRIBUTES: { FLAGS: 4n | (1n << 63n), XFRM: 3n } }), GP],
    ['ATTRIBUTES.KSS without KSS', S({ ATTRIBUTES: { FLAGS: 4n | ATTR.KSS, XFRM: 3n } }), GP],
    ['ATTRIBUTES.AEXNOTIFY (not in the mask)', S({ ATTRIBUTES: { FLAGS: 4n | ATTR.AEXNOTIFY, XFRM: 3n } }), GP],
    // step 12
    ['reserved byte 40', raw((b) => { b[40] = 1; }), GP],
    ['reserved byte 100', raw((b) => { b[100] = 1; }), GP],
    ['reserved byte 170', raw((b) => { b[170] = 1; }), GP],
    ['reserved byte 262', raw((b) => { b[262] = 1; }), GP],
    ['reserved byte 4095', raw((b) => { b[4095] = 1; }), GP],
    ['CONFIGID without KSS', S({ CONFIGID: new Uint8Array(64).fill(1) }), GP],
    ['CONFIGSVN without KSS', S({ CONFIGSVN: 1 }), GP],
    // order: the first failing check wins
    ['order: RCX outside the EPC (step 1) before a misaligned SRCPGE (step 2)', (k) => ({ rcx: k.alloc(4096), srcAt: 2048 }), PF, { sgx: false, atRcx: true }],
    ['order: SECINFO type (step 3) before an already-valid target (step 4)', (k) => ({ rcx: ecreateRaw(k)[1], secinfo: secinfoBytes(SECINFO_REG_RW) }), GP],
    ['order: an already-valid target (step 4) before a bad XFRM (step 6)', (k) => ({ rcx: ecreateRaw(k)[1], secs: goodSecs({ ATTRIBUTES: { FLAGS: 4n, XFRM: 1n } }) }), PF, { sgx: true, atRcx: true }],
  ];
  for (const [name, args, vector, pf, opts] of cases) {
    test(`${name} → ${vector === GP ? '#GP' : '#PF'}`, () => {
      const k = new TestKernel(opts ?? { epcSize: 0x100000 });
      const a = args(k);
      const rcx = a.rcx ?? k.epcPage();
      assertUnchanged(k, () => assertFault(() => ecreateRaw(k, { ...a, rcx }), vector, pf ? { sgx: pf.sgx, address: rcx } : {}));
      // the page is still free unless it was valid before
      if (rcx % 4096 === 0 && rcx >= k.proc.epcBase && !k.proc.inspect.epcm(rcx).valid) {
        assert.equal(ecreateRaw(k, { rcx })[0], SGX.SUCCESS, 'a correct ECREATE into the same page afterwards');
      }
    });
  }

  const ok: [string, Partial<EcreateArgs>, ConstructorParameters<typeof TestKernel>[0]?][] = [
    ['DEBUG | PROVISIONKEY | EINITTOKEN_KEY', { secs: goodSecs({ ATTRIBUTES: { FLAGS: 0x36n, XFRM: 3n } }) }],
    ['XFRM 0x1f (x87, SSE, AVX, MPX)', { secs: goodSecs({ ATTRIBUTES: { FLAGS: 4n, XFRM: 0x1fn } }) }],
    ['MISCSELECT.EXINFO with MISCSELECT mask 1', { secs: goodSecs({ MISCSELECT: 1 }) }, { epcSize: 0x100000, miscselectMask: 1 }],
    ['KSS with CONFIGID and CONFIGSVN', { secs: goodSecs({ ATTRIBUTES: { FLAGS: 4n | ATTR.KSS, XFRM: 3n }, CONFIGID: new Uint8Array(64).fill(7), CONFIGSVN: 3 }) }, { epcSize: 0x100000, features: { kss: true } }],
    ['a 32-bit enclave below 4 GiB', { secs: goodSecs({ ATTRIBUTES: { FLAGS: 2n, XFRM: 3n }, SIZE: 0x4000_0000n, BASEADDR: 0x4000_0000n }) }],
    ['the largest 64-bit SIZE (2^35)', { secs: goodSecs({ SIZE: 1n << 35n, BASEADDR: 1n << 35n }) }],
    ['garbage in MRENCLAVE / MRSIGNER / ISVPRODID / ISVSVN (owned by the processor)', { secs: goodSecs({ MRENCLAVE: new Uint8Array(32).fill(9), MRSIGNER: new Uint8Array(32).fill(9), ISVPRODID: 5, ISVSVN: 6 }) }],
  ];
  for (const [name, a, opts] of ok) {
    test(`accepted: ${name}`, () => {
      const k = new TestKernel(opts ?? { epcSize: 0x100000 });
      assert.equal(ecreateRaw(k, a)[0], SGX.SUCCESS);
      assert.equal(k.proc.inspect.enclaves().length, 1);
    });
  }

  test('ECREATE needs CPL 0 (#UD at CPL 3)', () => {
    const k = new TestKernel({ epcSize: 0x100000 });
    assertFault(() => k.user(() => k.proc.lps[0]!.encls(ENCLS.ECREATE, 0, k.proc.epcBase)), VECTOR.UD);
  });

  test('the source MRENCLAVE is ignored: the measurement starts from the ECREATE record', () => {
    const { k } = newKernel();
    const b = new EnclaveBuilder(k);
    const { status, secs } = k.ecreate(b.secsBytes({ MRENCLAVE: new Uint8Array(32).fill(0xee) }));
    assert.equal(status, 0);
    b.secs = secs;
    b.addPages();
    assert.equal(b.einit(), SGX.SUCCESS);
    assert.equal(hexOf(k.proc.inspect.enclaves()[0]!.mrenclave), toHex(b.mrenclave));
  });
});

// ---- helpers for enclave-level cases ---------------------------------------------------------

/** ECREATE done, pages not yet added. */
function created(spec: EnclaveSpec = {}, opts: Parameters<typeof newKernel>[0] = {}): { k: TestKernel; b: EnclaveBuilder } {
  const { k } = newKernel(opts);
  const b = new EnclaveBuilder(k, spec);
  assert.equal(b.create(), SGX.SUCCESS);
  return { k, b };
}

/** Add the layout's pages in order up to and including the first PT_REG page; returns its EPC address. */
function addThroughFirstReg(b: EnclaveBuilder): number {
  for (const p of b.pages) {
    const epc = b.addPage(p);
    if (p.flags === SECINFO_REG_RW) return epc;
  }
  throw new Error('no REG page');
}

/** After a failure: add the pages still missing, EINIT, and check the expected MRENCLAVE. */
function finishAndCheck(k: TestKernel, b: EnclaveBuilder): void {
  for (const p of b.pages) if (!b.frames.has(p.offset)) b.addPage(p);
  k.setLeHash(b.signer.mrsigner);
  assert.equal(k.einit(b.secs, b.sigstruct()), SGX.SUCCESS, 'a correct sequence after the failure');
  const info = k.proc.inspect.enclaves().find((e) => e.secs === b.secs)!;
  assert.equal(hexOf(info.mrenclave), toHex(b.mrenclave));
}

interface EaddArgs {
  linaddr: number;
  flags: number | bigint;
  secinfo: Uint8Array;
  data: Uint8Array;
  secsField: number;
  pageinfoAt: number;
  secinfoAt: number;
  srcAt: number;
  rcx: number;
}

function eaddRaw(k: TestKernel, b: EnclaveBuilder, a: Partial<EaddArgs> = {}): number {
  const srcAt = a.srcAt ?? 0, secinfoAt = a.secinfoAt ?? 0, pageinfoAt = a.pageinfoAt ?? 0;
  const src = k.alloc(8192);
  k.proc.memory.writePhysical(src + srcAt, a.data ?? new Uint8Array(4096).fill(0x33));
  const si = k.alloc(4096);
  k.proc.memory.writePhysical(si + secinfoAt, a.secinfo ?? secinfoBytes(a.flags ?? SECINFO_REG_RW));
  const pi = k.alloc(4096);
  const linaddr = a.linaddr ?? b.base + b.spareOffset;
  k.proc.memory.writePhysical(pi + pageinfoAt, PAGEINFO.encode({ LINADDR: BigInt(linaddr), SRCPGE: BigInt(src + srcAt), SECINFO: BigInt(si + secinfoAt), SECS: BigInt(a.secsField ?? b.secs) }));
  return k.encls(ENCLS.EADD, pi + pageinfoAt, a.rcx ?? k.epcPage());
}

describe('EADD (§6.2)', () => {
  test('control: an extra page EADDed correctly is measured and recorded in the EPCM', () => {
    const { k, b } = created({ flags: 4n | 2n });
    const rcx = k.epcPage();
    assert.equal(eaddRaw(k, b, { rcx, flags: (PT.REG << 8) | 5 }), SGX.SUCCESS);
    const e = k.proc.inspect.epcm(rcx);
    assert.deepEqual([e.valid, e.pageType, e.r, e.w, e.x, e.owner, e.linAddr], [true, PT.REG, true, false, true, b.secs, b.base + b.spareOffset]);
    assert.equal(k.proc.inspect.enclaves()[0]!.pages, 1);
  });

  type Case = [name: string, args: (k: TestKernel, b: EnclaveBuilder) => Partial<EaddArgs>, vector: number, pf?: { sgx: boolean; at: 'rcx' | 'secs' }, spec?: EnclaveSpec];
  const cases: Case[] = [
    // step 1
    ['PAGEINFO not 32-aligned', () => ({ pageinfoAt: 8 }), GP],
    ['RCX not 4K-aligned', (k) => ({ rcx: k.epcPage() + 0x100 }), GP],
    ['RCX not in the EPC', (k) => ({ rcx: k.alloc(4096) }), PF, { sgx: false, at: 'rcx' }],
    // step 2
    ['SRCPGE not 4K-aligned', () => ({ srcAt: 64 }), GP],
    ['PAGEINFO.SECS not 4K-aligned', (_k, b) => ({ secsField: b.secs + 0x40 }), GP],
    ['SECINFO not 64-aligned', () => ({ secinfoAt: 16 }), GP],
    ['LINADDR not 4K-aligned', (_k, b) => ({ linaddr: b.base + b.spareOffset + 8 }), GP],
    ['PAGEINFO.SECS not in the EPC', (k) => ({ secsField: k.alloc(4096) }), PF, { sgx: false, at: 'secs' }],
    // step 3
    ['SECINFO.FLAGS.PENDING', () => ({ flags: SECINFO_REG_RW | 0x8 }), GP],
    ['SECINFO.FLAGS.MODIFIED', () => ({ flags: SECINFO_REG_RW | 0x10 }), GP],
    ['SECINFO.FLAGS.PR', () => ({ flags: SECINFO_REG_RW | 0x20 }), GP],
    ['SECINFO.FLAGS bit 6', () => ({ flags: SECINFO_REG_RW | 0x40 }), GP],
    ['SECINFO.FLAGS bit 40', () => ({ flags: BigInt(SECINFO_REG_RW) | (1n << 40n) }), GP],
    ['SECINFO reserved byte 63', () => ({ secinfo: (() => { const s = secinfoBytes(SECINFO_REG_RW); s[63] = 1; return s; })() }), GP],
    ['SECINFO.PAGE_TYPE = PT_SECS', () => ({ flags: (PT.SECS << 8) | 3 }), GP],
    ['SECINFO.PAGE_TYPE = PT_VA', () => ({ flags: PT.VA << 8 }), GP],
    ['SECINFO.PAGE_TYPE = PT_TRIM', () => ({ flags: PT.TRIM << 8 }), GP],
    // step 4
    ['target already valid (the SECS page)', (_k, b) => ({ rcx: b.secs }), PF, { sgx: true, at: 'rcx' }],
    // step 5
    ['PAGEINFO.SECS is a free EPC page', (k) => ({ secsField: k.epcPage() }), PF, { sgx: true, at: 'secs' }],
    ['PAGEINFO.SECS is a REG page', (_k, b) => ({ secsField: addThroughFirstReg(b) }), PF, { sgx: true, at: 'secs' }],
    // step 6
    ['TCS reserved byte 72', () => ({ flags: SECINFO_TCS, data: (() => { const t = TCS.encode({ NSSA: 1 }); t[72] = 1; return t; })() }), GP],
    ['TCS reserved byte 4095', () => ({ flags: SECINFO_TCS, data: (() => { const t = TCS.encode({ NSSA: 1 }); t[4095] = 1; return t; })() }), GP],
    ['32-bit enclave: TCS FSLIMIT & 0xfff ≠ 0xfff', () => ({ flags: SECINFO_TCS, data: TCS.encode({ NSSA: 1, FSLIMIT: 0xffe, GSLIMIT: 0xfff }) }), GP, undefined, { flags: ATTR.DEBUG, base: 0x4000_0000 }],
    ['32-bit enclave: TCS GSLIMIT & 0xfff ≠ 0xfff', () => ({ flags: SECINFO_TCS, data: TCS.encode({ NSSA: 1, FSLIMIT: 0xfff, GSLIMIT: 0 }) }), GP, undefined, { flags: ATTR.DEBUG, base: 0x4000_0000 }],
    ['PT_REG with W but not R', () => ({ flags: (PT.REG << 8) | 2 }), GP],
    ['PT_REG with W and X but not R', () => ({ flags: (PT.REG << 8) | 6 }), GP],
    // step 7
    ['LINADDR below ELRANGE', (_k, b) => ({ linaddr: b.base - 0x1000 }), GP],
    ['LINADDR at BASEADDR + SIZE', (_k, b) => ({ linaddr: b.base + b.size }), GP],
    // order
    ['order: SECINFO type (step 3) before an already-valid target (step 4)', (_k, b) => ({ rcx: b.secs, flags: PT.VA << 8 }), GP],
    ['order: an already-valid target (step 4) before LINADDR outside ELRANGE (step 7)', (_k, b) => ({ rcx: b.secs, linaddr: b.base + b.size }), PF, { sgx: true, at: 'rcx' }],
    ['order: an invalid SECS (step 5) before W-without-R (step 6)', (k) => ({ secsField: k.epcPage(), flags: (PT.REG << 8) | 2 }), PF, { sgx: true, at: 'secs' }],
  ];
  for (const [name, args, vector, pf, spec] of cases) {
    test(`${name} → ${vector === GP ? '#GP' : '#PF'}`, () => {
      const { k, b } = created(spec);
      const a = args(k, b);
      const rcx = a.rcx ?? k.epcPage();
      const address = pf ? (pf.at === 'rcx' ? rcx : a.secsField!) : undefined;
      assertUnchanged(k, () => assertFault(() => eaddRaw(k, b, { ...a, rcx }), vector, pf ? { sgx: pf.sgx, address: address! } : {}));
      finishAndCheck(k, b);
    });
  }

  test('32-bit enclave: a TCS with both limits 0xfff is accepted', () => {
    const { k, b } = created({ flags: ATTR.DEBUG, base: 0x4000_0000 });
    assert.equal(eaddRaw(k, b, { flags: SECINFO_TCS, data: TCS.encode({ NSSA: 1, FSLIMIT: 0xffffffff, GSLIMIT: 0x1fff }) }), SGX.SUCCESS);
  });

  test('an alias is legal: two pages EADDed at one LINADDR are both valid and both measured (§6.2)', () => {
    const { k } = newKernel();
    const probe = new EnclaveBuilder(k);
    const dup = probe.dataOffsets[0]!;
    const b = new EnclaveBuilder(k, { extraPages: [{ offset: dup, flags: SECINFO_REG_RW, data: new Uint8Array(4096).fill(0xa1) }] });
    assert.equal(b.pages.filter((p) => p.offset === dup).length, 2);
    assert.equal(b.create(), SGX.SUCCESS);
    const frames: number[] = [];
    for (const p of b.pages) {
      const epc = b.addPage(p);
      if (p.offset === dup) frames.push(epc);
    }
    assert.equal(frames.length, 2);
    for (const f of frames) assert.equal(k.proc.inspect.epcm(f).linAddr, b.base + dup);
    assert.notEqual(toHex(b.mrenclave), toHex(probe.mrenclave));
    assert.equal(b.einit(), SGX.SUCCESS);
    assert.equal(hexOf(k.proc.inspect.enclaves().find((x) => x.secs === b.secs)!.mrenclave), toHex(b.mrenclave));
  });

  test('EADD after EINIT → #GP, nothing changes', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assertUnchanged(k, () => assertFault(() => eaddRaw(k, e.b), GP));
  });

  test('EADD of a TCS: EPCM RWX = 0, STATE/DBGOPTIN/CSSA/AEP forced to 0 in the page', () => {
    const { k, b } = created();
    const rcx = k.epcPage();
    const tcs = TCS.encode({ STATE: 1n, FLAGS: 1n, OSSA: 0x1000n, CSSA: 1, NSSA: 2, OENTRY: 0x3000n, AEP: 0x4242n, FSLIMIT: 7 });
    assert.equal(eaddRaw(k, b, { rcx, flags: SECINFO_TCS | 7, data: tcs }), SGX.SUCCESS);
    const e = k.proc.inspect.epcm(rcx);
    assert.deepEqual([e.pageType, e.r, e.w, e.x], [PT.TCS, false, false, false]);
    const page = k.readEpc(rcx, 72);
    const expect = TCS.encode({ OSSA: 0x1000n, NSSA: 2, OENTRY: 0x3000n, FSLIMIT: 7 }).subarray(0, 72);
    assert.equal(toHex(page), toHex(expect));
  });
});

// ---- EEXTEND ---------------------------------------------------------------------------------

describe('EEXTEND (§6.3)', () => {
  type Case = [name: string, args: (k: TestKernel, b: EnclaveBuilder, reg: number) => [rbx: number, rcx: number], vector: number, pf?: { sgx: boolean; at: 'rbx' | 'rcx' }];
  const cases: Case[] = [
    ['RBX (SECS) not 4K-aligned', (_k, b, reg) => [b.secs + 8, reg], GP],
    ['RBX not in the EPC', (k, _b, reg) => [k.alloc(4096), reg], PF, { sgx: false, at: 'rbx' }],
    ['RCX not 256-aligned', (_k, b, reg) => [b.secs, reg + 0x80], GP],
    ['RCX not in the EPC', (k, b) => [b.secs, k.alloc(4096)], PF, { sgx: false, at: 'rcx' }],
    ['RCX in a free EPC page', (k, b) => [b.secs, k.epcPage() + 0x100], PF, { sgx: true, at: 'rcx' }],
    ['RCX in the SECS page (PT_SECS)', (_k, b) => [b.secs, b.secs + 0x200], PF, { sgx: true, at: 'rcx' }],
    ['RBX is another enclave\'s SECS', (k, _b, reg) => [new EnclaveBuilder(k).create() === 0 ? k.proc.inspect.enclaves().at(-1)!.secs : -1, reg], GP],
    ['RBX is a REG page, not a SECS', (_k, _b, reg) => [reg, reg], GP],
    ['order: RBX misaligned before RCX outside the EPC', (k, b) => [b.secs + 8, k.alloc(4096)], GP],
  ];
  for (const [name, args, vector, pf] of cases) {
    test(`${name} → ${vector === GP ? '#GP' : '#PF'}`, () => {
      const { k, b } = created();
      // the TCS page (offset 0), then the first REG page EADDed without EEXTEND, extended after the failure
      b.addPage(b.pages[0]!);
      const first = b.pages[1]!;
      assert.equal(first.flags, SECINFO_REG_RW);
      const reg = k.eadd(b.secs, b.base + first.offset, first.flags, first.data);
      b.frames.set(first.offset, reg);
      const [rbx, rcx] = args(k, b, reg);
      assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EEXTEND, rbx, rcx), vector, pf ? { sgx: pf.sgx, address: pf.at === 'rbx' ? rbx : rcx } : {}));
      k.eextendPage(b.secs, reg);
      k.mapUser(b.base + first.offset, reg);
      finishAndCheck(k, b);
    });
  }

  test('EEXTEND after EINIT → #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EEXTEND, e.secs, e.frame(e.data(0))), GP));
  });

  test('EEXTEND of a TCS page is accepted (PT_TCS)', () => {
    const { k, b } = created();
    const tcs = b.pages.find((p) => p.flags === SECINFO_TCS)!;
    const epc = k.eadd(b.secs, b.base + tcs.offset, tcs.flags, tcs.data);
    assert.equal(k.encls(ENCLS.EEXTEND, b.secs, epc + 0xf00), SGX.SUCCESS);
  });
});

// ---- EINIT -----------------------------------------------------------------------------------

function prepared(spec: EnclaveSpec = {}, opts: Parameters<typeof newKernel>[0] = {}): { k: TestKernel; b: EnclaveBuilder } {
  const r = created(spec, opts);
  r.b.addPages();
  return r;
}

/** EINIT with explicit operand placement. */
function einitRaw(k: TestKernel, sig: Uint8Array, rcx: number, token: Uint8Array = new Uint8Array(304), at: { sig?: number; tok?: number } = {}): number {
  const s = k.alloc(8192);
  k.proc.memory.writePhysical(s + (at.sig ?? 0), sig);
  const t = k.alloc(4096);
  k.proc.memory.writePhysical(t + (at.tok ?? 0), token);
  return k.encls(ENCLS.EINIT, s + (at.sig ?? 0), rcx, t + (at.tok ?? 0));
}

/** A failing EINIT: the status, nothing changed, and a correct EINIT afterwards succeeds. */
function einitFails(k: TestKernel, b: EnclaveBuilder, status: number, sig: Uint8Array, token?: Uint8Array, leHash: Uint8Array | null = b.signer.mrsigner): void {
  if (leHash) k.setLeHash(leHash);
  assertUnchanged(k, () => assert.equal(einitRaw(k, sig, b.secs, token), status));
  assert.equal(k.proc.inspect.enclaves()[0]!.state, 'uninitialized');
  finishAndCheck(k, b);
}

function mutate(sig: Uint8Array, f: (s: Uint8Array) => void, resign: boolean): Uint8Array {
  const s = sig.slice();
  f(s);
  return resign ? signInPlace(s, testKey(0)) : s;
}

describe('EINIT (§6.4)', () => {
  test('control: a correct SIGSTRUCT and no token (signer = LE hash) → SUCCESS; MRENCLAVE, MRSIGNER, ISV ids, INIT set', () => {
    const { k, b } = prepared({ sig: { isvProdId: 0x1234, isvSvn: 7 } });
    assert.equal(b.einit(), SGX.SUCCESS);
    const e = k.proc.inspect.enclaves()[0]!;
    assert.equal(e.state, 'initialized');
    assert.equal(hexOf(e.mrenclave), toHex(b.mrenclave));
    assert.equal(hexOf(e.mrsigner), toHex(b.signer.mrsigner));
    assert.equal(e.isvProdId, 0x1234);
    assert.equal(e.isvSvn, 7);
    assert.equal(e.attributesFlags, ATTR.INIT | ATTR.MODE64BIT | ATTR.DEBUG);
  });

  describe('faults', () => {
    const faults: [string, (k: TestKernel, b: EnclaveBuilder) => number, number, boolean?][] = [
      ['SIGSTRUCT not 4K-aligned', (k, b) => einitRaw(k, b.sigstruct(), b.secs, undefined, { sig: 0x800 }), GP],
      ['SECS not 4K-aligned', (k, b) => einitRaw(k, b.sigstruct(), b.secs + 0x800), GP],
      ['EINITTOKEN not 512-aligned', (k, b) => einitRaw(k, b.sigstruct(), b.secs, undefined, { tok: 0x100 }), GP],
      ['SECS not in the EPC', (k, b) => einitRaw(k, b.sigstruct(), k.alloc(4096)), PF, false],
      ['SECS is a free EPC page', (k, b) => einitRaw(k, b.sigstruct(), k.epcPage()), PF, true],
      ['SECS is a REG page of the enclave', (k, b) => einitRaw(k, b.sigstruct(), b.frames.get(b.dataOffsets[0]!)!), PF, true],
    ];
    for (const [name, run, vector, sgx] of faults) {
      test(`${name} → ${vector === GP ? '#GP' : '#PF'}`, () => {
        const { k, b } = prepared();
        k.setLeHash(b.signer.mrsigner);
        assertUnchanged(k, () => assertFault(() => run(k, b), vector, sgx === undefined ? {} : { sgx }));
        finishAndCheck(k, b);
      });
    }

    test('a second EINIT → #GP', () => {
      const { k, b } = prepared();
      assert.equal(b.einit(), SGX.SUCCESS);
      assertUnchanged(k, () => assertFault(() => einitRaw(k, b.sigstruct(), b.secs), GP));
    });
  });

  describe('SGX_INVALID_SIG_STRUCT', () => {
    const cases: [string, (s: Uint8Array) => void, boolean][] = [
      ['HEADER byte 0', (s) => { s[0] = 7; }, true],
      ['HEADER byte 11', (s) => { s[11] = 1; }, true],
      ['HEADER TYPE dword 1', (s) => writeU32le(s, 12, 1), true],
      ['HEADER TYPE dword 0x40000000', (s) => writeU32le(s, 12, 0x40000000), true],
      ['VENDOR 0x1234', (s) => writeU32le(s, 16, 0x1234), true],
      ['VENDOR 0x8087', (s) => writeU32le(s, 16, 0x8087), true],
      ['HEADER2 byte 24', (s) => { s[24] = 2; }, true],
      ['HEADER2 byte 39', (s) => { s[39] = 1; }, true],
      ['EXPONENT 65537', (s) => writeU32le(s, 512, 65537), false],
      ['reserved byte 44', (s) => { s[44] = 1; }, true],
      ['reserved byte 127', (s) => { s[127] = 1; }, true],
      ['reserved byte 910', (s) => { s[910] = 1; }, true],
      ['reserved byte 1000', (s) => { s[1000] = 1; }, true],
      ['reserved byte 1028 (unsigned)', (s) => { s[1028] = 1; }, false],
      ['reserved byte 1039 (unsigned)', (s) => { s[1039] = 1; }, false],
      ['ATTRIBUTES reserved bit 3', (s) => { s[928]! |= 0x8; }, true],
      ['ATTRIBUTES reserved bit 63', (s) => { s[935]! |= 0x80; }, true],
      ['ISVFAMILYID without KSS', (s) => { s[912] = 1; }, true],
      ['ISVEXTPRODID without KSS', (s) => { s[1023] = 1; }, true],
      ['order: bad HEADER and a bad signature → SIG_STRUCT first', (s) => { s[0] = 7; s[600]! ^= 1; }, false],
    ];
    for (const [name, f, resign] of cases) {
      test(name, () => {
        const { k, b } = prepared();
        einitFails(k, b, SGX.INVALID_SIG_STRUCT, mutate(b.sigstruct(), f, resign));
      });
    }
    test('HEADER TYPE 0x80000000 with strictSigstructHeader', () => {
      const { k, b } = prepared({}, { strictSigstructHeader: true });
      einitFails(k, b, SGX.INVALID_SIG_STRUCT, b.sigstruct({ headerType: 0x80000000 }));
    });
    const accepted: [string, Parameters<EnclaveBuilder['sigstruct']>[0]][] = [
      ['HEADER TYPE 0x80000000 (lenient default)', { headerType: 0x80000000 }],
      ['VENDOR 0x8086', { vendor: 0x8086 }],
      ['SWDEFINED and DATE are free', { swDefined: 0xffffffff, date: 0x99999999 }],
    ];
    for (const [name, over] of accepted) {
      test(`accepted: ${name}`, () => {
        const { k, b } = prepared();
        assert.equal(b.einit(b.sigstruct(over)), SGX.SUCCESS);
        assert.equal(hexOf(k.proc.inspect.enclaves()[0]!.mrenclave), toHex(b.mrenclave));
      });
    }
    test('accepted with KSS: ISVFAMILYID and ISVEXTPRODID are copied', () => {
      const { k, b } = prepared({ flags: 6n | ATTR.KSS }, { features: { kss: true } });
      assert.equal(b.einit(b.sigstruct({ isvFamilyId: new Uint8Array(16).fill(1), isvExtProdId: new Uint8Array(16).fill(2) })), SGX.SUCCESS);
      assert.equal(k.proc.inspect.enclaves()[0]!.state, 'initialized');
    });
  });

  test('SGX_UNMASKED_EVENT: an interrupt pending on the LP; the retry succeeds', () => {
    const { k, b } = prepared();
    k.lp.injectInterrupt(0x20);
    assert.equal(k.lp.interruptPending, true);
    einitFails(k, b, SGX.UNMASKED_EVENT, b.sigstruct());
    assert.equal(k.lp.interruptPending, false, 'the interrupt was delivered');
  });

  test('SGX_UNMASKED_EVENT before SGX_INVALID_SIGNATURE (step 3 before step 4)', () => {
    const { k, b } = prepared();
    k.lp.injectInterrupt(0x21);
    einitFails(k, b, SGX.UNMASKED_EVENT, mutate(b.sigstruct(), (s) => { s[600]! ^= 1; }, false));
  });

  test('SGX_UNMASKED_EVENT on every attempt with einitUnmaskedEventRate 1', () => {
    const { k, b } = prepared({}, { einitUnmaskedEventRate: 1 });
    k.setLeHash(b.signer.mrsigner);
    for (let i = 0; i < 3; i++) assertUnchanged(k, () => assert.equal(einitRaw(k, b.sigstruct(), b.secs), SGX.UNMASKED_EVENT));
  });

  describe('SGX_INVALID_SIGNATURE', () => {
    const cases: [string, (s: Uint8Array) => void][] = [
      ['a signed field changed without re-signing (DATE)', (s) => { s[20]! ^= 1; }],
      ['a signed field changed without re-signing (ISVSVN)', (s) => { s[1026]! ^= 1; }],
      ['a signature bit', (s) => { s[516]! ^= 1; }],
      ['a Q1 bit', (s) => { s[1100]! ^= 4; }],
      ['a Q2 bit', (s) => { s[1800]! ^= 4; }],
      ['order: a bad signature with a REG page as SECS → status, not #PF (step 4 before step 5)', (s) => { s[516]! ^= 1; }],
    ];
    for (const [name, f] of cases) {
      test(name, () => {
        const { k, b } = prepared();
        const sig = mutate(b.sigstruct(), f, false);
        if (name.startsWith('order')) {
          k.setLeHash(b.signer.mrsigner);
          assertUnchanged(k, () => assert.equal(einitRaw(k, sig, b.frames.get(b.dataOffsets[0]!)!), SGX.INVALID_SIGNATURE));
          finishAndCheck(k, b);
        } else einitFails(k, b, SGX.INVALID_SIGNATURE, sig);
      });
    }
    test('a different modulus (another signer) with the old signature', () => {
      const { k, b } = prepared();
      const sig = b.sigstruct();
      sig.set(testKey(1).modulusLe, 128);
      einitFails(k, b, SGX.INVALID_SIGNATURE, sig, undefined, testKey(1).mrsigner);
    });
  });

  test('SGX_INVALID_MEASUREMENT: ENCLAVEHASH is not the measurement', () => {
    const { k, b } = prepared();
    const wrong = b.mrenclave.slice();
    wrong[31]! ^= 1;
    einitFails(k, b, SGX.INVALID_MEASUREMENT, b.sigstruct({ enclaveHash: wrong }));
  });

  test('SGX_INVALID_MEASUREMENT: one page added but not measured', () => {
    const { k, b } = created();
    for (const p of b.pages) if (p.offset !== b.codeOffset) b.addPage(p);
    const code = b.pages.find((p) => p.offset === b.codeOffset)!;
    const epc = k.eadd(b.secs, b.base + code.offset, code.flags, code.data);
    for (let c = 0; c < 15 * 256; c += 256) k.encls(ENCLS.EEXTEND, b.secs, epc + c); // the last chunk is missing
    k.setLeHash(b.signer.mrsigner);
    assertUnchanged(k, () => assert.equal(einitRaw(k, b.sigstruct(), b.secs), SGX.INVALID_MEASUREMENT));
    k.encls(ENCLS.EEXTEND, b.secs, epc + 0xf00);
    assert.equal(einitRaw(k, b.sigstruct(), b.secs), SGX.SUCCESS);
  });

  describe('SGX_INVALID_ATTRIBUTE', () => {
    test('SIGSTRUCT requires DEBUG = 0 under its mask, the SECS has DEBUG = 1', () => {
      const { k, b } = prepared();
      einitFails(k, b, SGX.INVALID_ATTRIBUTE, b.sigstruct({ flagsMask: 0xffffffffffffffffn }));
    });
    test('SIGSTRUCT requires XFRM 7, the SECS has 3', () => {
      const { k, b } = prepared();
      einitFails(k, b, SGX.INVALID_ATTRIBUTE, b.sigstruct({ xfrm: 7n }));
    });
    test('XFRM difference outside the mask is accepted', () => {
      const { b } = prepared();
      assert.equal(b.einit(b.sigstruct({ xfrm: 7n, xfrmMask: ~4n & 0xffffffffffffffffn })), SGX.SUCCESS);
    });
    test('MISCSELECT mismatch under MISCMASK', () => {
      const { k, b } = prepared();
      einitFails(k, b, SGX.INVALID_ATTRIBUTE, b.sigstruct({ miscSelect: 1, miscMask: 1 }));
    });
    test('MISCSELECT mismatch (SECS has EXINFO, SIGSTRUCT requires 0)', () => {
      const { k, b } = prepared({ miscSelect: 1 }, { miscselectMask: 1 });
      einitFails(k, b, SGX.INVALID_ATTRIBUTE, b.sigstruct({ miscSelect: 0, miscMask: 0xffffffff }));
    });
    test('MISCSELECT difference outside MISCMASK is accepted', () => {
      const { b } = prepared({ miscSelect: 1 }, { miscselectMask: 1 });
      assert.equal(b.einit(b.sigstruct({ miscSelect: 0, miscMask: 0xfffffffe })), SGX.SUCCESS);
    });
    test('EINITTOKEN_KEY without the LE signer (before the token check)', () => {
      const { k, b } = prepared({ flags: 6n | ATTR.EINITTOKEN_KEY, leHash: 'keep' });
      einitFails(k, b, SGX.INVALID_ATTRIBUTE, b.sigstruct(), undefined, null);
    });
    test('EINITTOKEN_KEY with the LE signer is accepted', () => {
      const { b } = prepared({ flags: 6n | ATTR.EINITTOKEN_KEY });
      assert.equal(b.einit(), SGX.SUCCESS);
    });
  });

  describe('SGX_INVALID_EINITTOKEN / SGX_INVALID_CPUSVN', () => {
    const token = (f: Parameters<typeof EINITTOKEN.encode>[0]) => EINITTOKEN.encode(f);
    test('no token and MRSIGNER ≠ LE hash', () => {
      const { k, b } = prepared({ leHash: 'keep' });
      einitFails(k, b, SGX.INVALID_EINITTOKEN, b.sigstruct(), undefined, null);
    });
    test('no token and the LE hash MSRs set to another signer', () => {
      const { k, b } = prepared();
      einitFails(k, b, SGX.INVALID_EINITTOKEN, b.sigstruct(), undefined, new Uint8Array(32).fill(1));
    });
    const bad: [string, Uint8Array][] = [
      ['VALID bit 1 (reserved)', token({ VALID: 3 })],
      ['VALID = 1, reserved byte 4', (() => { const t = token({ VALID: 1 }); t[4] = 1; return t; })()],
      ['VALID = 1, reserved byte 100', (() => { const t = token({ VALID: 1 }); t[100] = 1; return t; })()],
      ['VALID = 1, reserved byte 170', (() => { const t = token({ VALID: 1 }); t[170] = 1; return t; })()],
      ['VALID = 1, reserved byte 212', (() => { const t = token({ VALID: 1 }); t[212] = 1; return t; })()],
      ['VALID = 1, reserved byte 235', (() => { const t = token({ VALID: 1 }); t[235] = 1; return t; })()],
      ['VALID = 1, MAC does not verify', token({ VALID: 1, MAC: new Uint8Array(16).fill(1) })],
    ];
    for (const [name, tok] of bad) {
      test(name, () => {
        const { k, b } = prepared({ leHash: 'keep' });
        einitFails(k, b, SGX.INVALID_EINITTOKEN, b.sigstruct(), tok, null);
      });
    }
    test('a debug LE token (MASKEDATTRIBUTESLE.DEBUG) for a production enclave', () => {
      const { k, b } = prepared({ flags: ATTR.MODE64BIT, leHash: 'keep' });
      einitFails(k, b, SGX.INVALID_EINITTOKEN, b.sigstruct(), token({ VALID: 1, MASKEDATTRIBUTESLE: { FLAGS: ATTR.DEBUG, XFRM: 0n } }), null);
    });
    test('CPUSVNLE above CR_CPUSVN → SGX_INVALID_CPUSVN', () => {
      const { k, b } = prepared({ leHash: 'keep' });
      einitFails(k, b, SGX.INVALID_CPUSVN, b.sigstruct(), token({ VALID: 1, CPUSVNLE: fromHex('0a0a0204ff8000000000000000000001') }), null);
    });
    test('order: reserved token bytes (step 16) before CPUSVNLE (step 17)', () => {
      const { k, b } = prepared({ leHash: 'keep' });
      const t = token({ VALID: 1, CPUSVNLE: new Uint8Array(16).fill(0xff) });
      t[5] = 1;
      einitFails(k, b, SGX.INVALID_EINITTOKEN, b.sigstruct(), t, null);
    });
    test('a VALID = 0 token with garbage is ignored when the signer is the LE', () => {
      const { b } = prepared();
      const t = token({ VALID: 0, MAC: new Uint8Array(16).fill(3) });
      t[100] = 5;
      assert.equal(b.einit(b.sigstruct(), t), SGX.SUCCESS);
    });
  });
});

// ---- EREMOVE ---------------------------------------------------------------------------------

describe('EREMOVE (§6.5)', () => {
  test('a REG page: SUCCESS, page freed, child count decremented', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const free = k.proc.inspect.freeEpcPages;
    const pages = k.proc.inspect.enclaves()[0]!.pages;
    const pa = e.frame(e.data(1));
    assert.equal(k.encls(ENCLS.EREMOVE, 0, pa), SGX.SUCCESS);
    assert.equal(k.proc.inspect.freeEpcPages, free + 1);
    assert.equal(k.proc.inspect.enclaves()[0]!.pages, pages - 1);
    assert.equal(k.proc.inspect.epcm(pa).valid, false);
  });

  test('a freed page added again holds only what the new EADD copied (zeros from an all-zero source)', () => {
    const k = new TestKernel();
    const { status, secs } = k.ecreate(goodSecs());
    assert.equal(status, SGX.SUCCESS);
    const epc = k.epcPage();
    const first = Uint8Array.from({ length: 4096 }, (_, i) => (i * 5 + 1) & 255);
    const second = Uint8Array.from({ length: 4096 }, (_, i) => (i * 11 + 3) & 255);
    const la = 0x1000_0000;
    k.eadd(secs, la, SECINFO_REG_RW, first, epc);
    assert.deepEqual(k.readEpc(epc, 4096), first);
    for (const data of [new Uint8Array(4096), second, new Uint8Array(4096)]) {
      assert.equal(k.encls(ENCLS.EREMOVE, 0, epc), SGX.SUCCESS);
      k.eadd(secs, la, SECINFO_REG_RW, data, epc);
      assert.deepEqual(k.readEpc(epc, 4096), data);
    }
    // The last EADD copied nothing (an all-zero source): a write of 8 bytes gives the page storage
    // again, and the rest of it is still zero, not what the page held before.
    assert.equal(k.edbgwr(epc + 0x800, 0x1122334455667788n), SGX.SUCCESS);
    const expect = new Uint8Array(4096);
    writeU64le(expect, 0x800, 0x1122334455667788n);
    assert.deepEqual(k.readEpc(epc, 4096), expect);
  });

  test('an invalid page: SUCCESS and nothing changes', () => {
    const { k } = newKernel();
    buildEnclave(k);
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EREMOVE, 0, k.epcPage()), SGX.SUCCESS));
  });

  test('the SECS while pages remain → SGX_CHILD_PRESENT; after the children, SUCCESS and every page is free again', () => {
    const { k, engine } = newKernel();
    const initialFree = k.proc.inspect.freeEpcPages;
    const e = buildEnclave(k, { tcsCount: 2 });
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EREMOVE, 0, e.secs), SGX.CHILD_PRESENT));
    for (const pa of e.b.frames.values()) assert.equal(k.encls(ENCLS.EREMOVE, 0, pa), SGX.SUCCESS);
    assert.equal(k.proc.inspect.enclaves()[0]!.pages, 0);
    assert.equal(engine.destroyedKeys.length, 0);
    assert.equal(k.encls(ENCLS.EREMOVE, 0, e.secs), SGX.SUCCESS);
    assert.deepEqual(k.proc.inspect.enclaves(), []);
    assert.equal(k.proc.inspect.freeEpcPages, initialFree);
    assert.equal(engine.destroyedKeys.length, 1, 'the engine is told the enclave is gone');
  });

  test('an uninitialized enclave can be torn down too', () => {
    const { k, b } = prepared();
    const free = k.proc.inspect.freeEpcPages;
    for (const pa of b.frames.values()) k.encls(ENCLS.EREMOVE, 0, pa);
    assert.equal(k.encls(ENCLS.EREMOVE, 0, b.secs), SGX.SUCCESS);
    assert.equal(k.proc.inspect.freeEpcPages, free + b.frames.size + 1);
  });

  test('faults: not 4K-aligned → #GP; not EPC → #PF', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EREMOVE, 0, e.frame(e.data(0)) + 8), GP));
    const ram = k.alloc(4096);
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EREMOVE, 0, ram), PF, { address: ram, sgx: false }));
  });

  test('SGX_ENCLAVE_ACT while another LP executes inside the enclave (REG and TCS pages)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { tcsCount: 2 });
    const seen: number[] = [];
    const during: ReturnType<TestKernel['snapshot']>[] = [];
    const op = engine.on((ctx) => {
      ctx.step();
      return ctx.regs.rcx;
    });
    const { exit } = withStepHook(k, (lp) => {
      if (lp.index !== 1 || seen.length) return;
      during.push(k.snapshot());
      seen.push(k.encls(ENCLS.EREMOVE, 0, e.frame(e.data(1))));
      seen.push(k.encls(ENCLS.EREMOVE, 0, e.frame(e.tcs(1))));
      assert.deepEqual(k.snapshot(), during[0]);
    }, () => e.enter(op));
    assert.equal(exit.reason, 'eexit');
    assert.deepEqual(seen, [SGX.ENCLAVE_ACT, SGX.ENCLAVE_ACT]);
    assert.equal(during[0]!.enclaves[0]!.activeThreads, 1);
    assert.equal(k.encls(ENCLS.EREMOVE, 0, e.frame(e.data(1))), SGX.SUCCESS, 'once the thread has left');
  });
});

// ---- EDBGRD / EDBGWR --------------------------------------------------------------------------

describe('EDBGRD / EDBGWR (§6.6)', () => {
  test('a non-DEBUG enclave → #GP for both', () => {
    const { k } = newKernel();
    const e = buildEnclave(k, { flags: ATTR.MODE64BIT });
    const pa = e.frame(e.data(0));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EDBGRD, 0, pa), GP));
    assertUnchanged(k, () => assertFault(() => k.edbgwr(pa, 1n), GP));
    assertFault(() => k.encls(ENCLS.EDBGRD, 0, e.frame(e.tcs(0))), GP);
  });

  test('an operand page the kernel remaps between two leaves is walked again (no stale translation)', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const a = e.frame(e.data(0)), b = e.frame(e.data(1));
    assert.equal(k.edbgwr(a, 0x0a0a0a0a0a0a0a0an), SGX.SUCCESS);
    assert.equal(k.edbgwr(b, 0x0b0b0b0b0b0b0b0bn), SGX.SUCCESS);
    // Operands through a kernel page table of its own: linear 0x7000_0000 → page a, then → page b.
    const pt = new PageTable('remapping kernel');
    const la = 0x7000_0000;
    const read = (): bigint => k.kernel(() => {
      const lp = k.proc.lps[0]!;
      const saved = lp.cr3;
      lp.cr3 = pt;
      try {
        assert.equal(lp.encls(ENCLS.EDBGRD, 0, la), SGX.SUCCESS);
        return lp.dataOut;
      } finally {
        lp.cr3 = saved;
      }
    });
    pt.map(la / 4096, a / 4096, PTE.W);
    assert.equal(read(), 0x0a0a0a0a0a0a0a0an);
    assert.equal(read(), 0x0a0a0a0a0a0a0a0an);
    pt.map(la / 4096, b / 4096, PTE.W);
    assert.equal(read(), 0x0b0b0b0b0b0b0b0bn);
    pt.unmap(la / 4096);
    assert.throws(() => read(), (err: unknown) => err instanceof ArchFault && err.vector === VECTOR.PF);
  });

  test('DEBUG: EDBGRD reads the page, EDBGWR writes what the enclave then reads', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    const expect = e.b.pages.find((p) => p.offset === e.b.dataOffsets[0])!.data;
    assert.equal(toHex(k.readEpc(pa, 32)), toHex(expect.subarray(0, 32)));
    assert.equal(k.edbgwr(pa + 8, 0x1122334455667788n), SGX.SUCCESS);
    assert.equal(k.edbgrd(pa + 8), 0x1122334455667788n);
    let inside = '';
    const op = engine.on((ctx) => {
      inside = toHex(ctx.read(e.data(0) + 8, 8));
      return ctx.regs.rcx;
    });
    e.enter(op);
    assert.equal(inside, '8877665544332211');
  });

  test('EDBGRD of a TCS below SGX_TCS_LIMIT reads the TCS; at 72 → #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const tcs = e.frame(e.tcs(0));
    assert.equal(k.edbgrd(tcs + 16), BigInt(e.b.ssaOffsets[0]!)); // OSSA
    assert.equal(k.edbgrd(tcs + 24) & 0xffffffffn, 0n); // CSSA
    assert.equal(k.edbgrd(tcs + 24) >> 32n, BigInt(e.b.nssa)); // NSSA
    assert.equal(k.edbgrd(tcs + 32), BigInt(e.b.codeOffset)); // OENTRY
    assert.doesNotThrow(() => k.edbgrd(tcs + 64));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EDBGRD, 0, tcs + 72), GP));
    assertFault(() => k.encls(ENCLS.EDBGRD, 0, tcs + 4088), GP);
  });

  test('EDBGWR of a TCS only at FLAGS (sets DBGOPTIN); other offsets → #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const tcs = e.frame(e.tcs(0));
    for (const off of [0, 16, 24, 32, 40, 64]) assertUnchanged(k, () => assertFault(() => k.edbgwr(tcs + off, 1n), GP));
    assert.equal(k.edbgrd(tcs + 16), BigInt(e.b.ssaOffsets[0]!), 'OSSA unchanged');
    assert.equal(k.edbgwr(tcs + 8, 1n), SGX.SUCCESS);
    assert.equal(k.edbgrd(tcs + 8), 1n);
  });

  test('a SECS page → #PF (PFEC.SGX) for both', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EDBGRD, 0, e.secs + 64), PF, { sgx: true, address: e.secs + 64 }));
    assertUnchanged(k, () => assertFault(() => k.edbgwr(e.secs, 0n), PF, { sgx: true, address: e.secs }));
  });

  test('a free EPC page → #PF; not 8-aligned → #GP; not EPC → #PF', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const free = k.epcPage();
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EDBGRD, 0, free), PF, { sgx: true, address: free }));
    assertUnchanged(k, () => assertFault(() => k.edbgwr(free + 8, 1n), PF, { sgx: true }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EDBGRD, 0, e.frame(e.data(0)) + 4), GP));
    assertUnchanged(k, () => assertFault(() => k.edbgwr(e.frame(e.data(0)) + 12, 1n), GP));
    const ram = k.alloc(4096);
    assertFault(() => k.encls(ENCLS.EDBGRD, 0, ram), PF, { sgx: false });
  });

  test('the full 64-bit value of EDBGWR (RBX through encls is a number; edbgwr takes a bigint)', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    assert.equal(k.edbgwr(pa, 0xfedcba9876543210n), SGX.SUCCESS);
    assert.equal(k.edbgrd(pa), 0xfedcba9876543210n);
    assert.equal(k.encls(ENCLS.EDBGWR, 0x1234, pa), SGX.SUCCESS);
    assert.equal(k.edbgrd(pa), 0x1234n);
  });
});

// ---- the ENCLS preamble -----------------------------------------------------------------------

describe('ENCLS preamble (§6.0)', () => {
  test('an undefined leaf → #GP; SGX2 leaves without SGX2 → #GP (with SGX2 they run: test/arch/sgx2.test.ts)', () => {
    const { k } = newKernel();
    assertFault(() => k.encls(0x30), GP);
    assertFault(() => k.encls(0x10), GP, {}); // ERDINFO and later leaves are not modelled: unsupported, as §6.15 allows
    assertFault(() => k.encls(ENCLS.EAUG), GP);
    assertFault(() => k.encls(ENCLS.EMODPR), GP);
    assertFault(() => k.encls(ENCLS.EMODT), GP);
  });
  test('an operand that is no number (EDBGWR: a value that is no bigint) → ArchError BAD_OPERANDS before anything is read or changed', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const frame = e.frame(e.data(0));
    let conversions = 0;
    const sly = { valueOf: () => (conversions++ === 0 ? e.secs : frame) };
    const refused = (...names: string[]) => (err: unknown): boolean => {
      assert.ok(err instanceof ArchError && err.code === 'BAD_OPERANDS', String(err));
      assert.deepEqual((err.data as { operands: string[] }).operands, names);
      return true;
    };
    const any = (v: unknown) => v as number;
    assertUnchanged(k, () => {
      assert.throws(() => k.encls(ENCLS.EEXTEND, any(sly), frame), refused('rbx'));
      assert.throws(() => k.encls(ENCLS.EREMOVE, 0, any(String(frame))), refused('rcx'));
      assert.throws(() => k.encls(any({ valueOf: () => ENCLS.EREMOVE }), 0, frame), refused('leaf'));
      assert.throws(() => k.encls(ENCLS.EINIT, 0, frame, any(0n)), refused('rdx'));
      assert.throws(() => k.kernel(() => k.lp.edbgwr(frame, 5 as unknown as bigint)), refused('value'));
      assert.throws(() => k.kernel(() => k.lp.edbgwr(any(sly), 5n)), refused('rcx'));
    });
    assert.equal(conversions, 0, 'no operand was converted');
  });
  test('ENCLS at CPL 3 → #UD; ENCLU EENTER at CPL 0 → #UD', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assertFault(() => k.user(() => k.lp.encls(ENCLS.EREMOVE, 0, e.frame(e.data(0))), 0), VECTOR.UD);
    assertFault(() => k.kernel(() => k.lp.enclu(ENCLU.EENTER, newRegisters({ rbx: e.tcs(0), rcx: AEP }))), VECTOR.UD);
    assert.equal(k.proc.inspect.enclaves()[0]!.pages, e.b.frames.size);
  });
});

describe('EDBGRD/EDBGWR review fixes', () => {
  test('EDBGWR with RBX holding a number that is no integer (1.5, NaN): the register\'s u64 (its integer part; 0 for NaN), never a RangeError; a misaligned RCX is still #GP first', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    for (const [rbx, stored] of [[1.5, 1n], [Number.NaN, 0n], [-1, 2n ** 64n - 1n]] as const) {
      assert.equal(k.encls(ENCLS.EDBGWR, rbx, pa), SGX.SUCCESS);
      assert.equal(k.edbgrd(pa), stored, `RBX ${rbx}`);
    }
    assert.throws(() => k.encls(ENCLS.EDBGWR, 1.5, pa + 1), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.GP);
  });

  test('EDBGRD/EDBGWR of an address that is not in the EPC: #PF on RCX itself, not on its page (as EEXTEND reports it)', () => {
    const { k } = newKernel();
    const rcx = k.alloc(4096) + 0x238;
    for (const leaf of [ENCLS.EDBGRD, ENCLS.EDBGWR]) {
      assert.throws(() => k.encls(leaf, 0, rcx), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.PF && x.address === rcx, `leaf ${leaf}`);
    }
  });
});

describe('PAGEINFO fields no number holds (≥ 2^53, e.g. a canonical kernel-half address)', () => {
  test('their alignment is checked on their low bits only (step 2), so the target page\'s #PF comes first (step 4); with a free target they fault where used, and nothing changes', () => {
    const { k } = newKernel();
    const b = new EnclaveBuilder(k);
    b.create();
    const src = k.alloc(4096, new Uint8Array(4096).fill(0x33));
    const si = k.secinfo(SECINFO_REG_RW);
    const HI = 0xffff_8000_0000_0000n;
    const run = (fields: Record<string, bigint>, leaf: number, rcx: number): unknown => {
      const pi = k.alloc(32, PAGEINFO.encode(fields));
      try {
        k.encls(leaf, pi, rcx);
        return 'success';
      } catch (e) {
        return e;
      }
    };
    const isPf = (x: unknown, a: number): boolean => x instanceof ArchFault && x.vector === VECTOR.PF && x.address === a;
    assert.ok(isPf(run({ LINADDR: HI, SRCPGE: BigInt(src), SECINFO: BigInt(si), SECS: BigInt(b.secs) }, ENCLS.EADD, b.secs), b.secs), 'EADD, LINADDR');
    assert.ok(isPf(run({ LINADDR: BigInt(b.base), SRCPGE: HI, SECINFO: BigInt(si), SECS: BigInt(b.secs) }, ENCLS.EADD, b.secs), b.secs), 'EADD, SRCPGE');
    assert.ok(isPf(run({ LINADDR: 0n, SRCPGE: HI, SECINFO: BigInt(k.secinfo(PT.SECS << 8)), SECS: 0n }, ENCLS.ECREATE, b.secs), b.secs), 'ECREATE, SRCPGE');
    assert.ok(run({ LINADDR: HI + 8n, SRCPGE: BigInt(src), SECINFO: BigInt(si), SECS: BigInt(b.secs) }, ENCLS.EADD, b.secs) instanceof ArchFault, 'a misaligned one is still #GP');
    const free = k.epcPage();
    for (const fields of [{ LINADDR: HI, SRCPGE: BigInt(src) }, { LINADDR: BigInt(b.base), SRCPGE: HI }]) {
      const before = k.proc.inspect.epcm(free);
      const x = run({ ...fields, SECINFO: BigInt(si), SECS: BigInt(b.secs) }, ENCLS.EADD, free);
      assert.ok(x instanceof ArchFault && (x.vector === VECTOR.GP || x.vector === VECTOR.PF), String(x));
      assert.deepEqual(k.proc.inspect.epcm(free), before, 'nothing added');
    }
  });
});
