/**
 * Every path by which a thread enters and leaves an enclave counts each EENTER, ERESUME, EEXIT and
 * AEX exactly once (ProcessorInspector.counters): the cached entry and its slow path, the ORET's
 * fast and slow paths, non-canonical EEXIT targets, faults in enclave accesses, interrupts in
 * nested entries, entry checks that fault. (Written by a review of the counters.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENCLS, ENCLU, SGX, PT, PAGEINFO, countersSince, type SgxCounters } from '../../src/arch/index.js';
import { newKernel, buildEnclave, AEP, type BuiltEnclave } from '../helpers/enclave.js';
import type { TestKernel } from '../helpers/kernel.js';

const nz = (c: SgxCounters) => Object.fromEntries(Object.entries(c).filter(([, n]) => n !== 0));
function delta<T>(k: TestKernel, f: () => T): { r: T; d: Record<string, number> } {
  const c0 = k.proc.inspect.counters;
  const r = f();
  return { r, d: nz(countersSince(k.proc.inspect.counters, c0)) };
}
function vaPage(k: TestKernel): number { const va = k.epcPage(); assert.equal(k.encls(ENCLS.EPA, PT.VA, va), SGX.SUCCESS); return va; }
function evict(k: TestKernel, e: BuiltEnclave, la: number, va: number, slot: number) {
  const epc = e.frame(la);
  assert.equal(k.encls(ENCLS.EBLOCK, 0, epc), SGX.SUCCESS);
  assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
  const src = k.alloc(4096), pcmd = k.alloc(4096);
  const pi = k.alloc(32, PAGEINFO.encode({ LINADDR: 0n, SRCPGE: BigInt(src), SECINFO: BigInt(pcmd), SECS: 0n }));
  assert.equal(k.encls(ENCLS.EWB, pi, epc, va + slot), SGX.SUCCESS);
  k.userPt.unmap(la / 4096);
  return { src, pcmd, slot: va + slot, linAddr: la };
}

test('cached ECALL, then slow path (epoch moved): 1 EENTER + 1 EEXIT each', () => {
  const { k } = newKernel();
  const e = buildEnclave(k);
  e.enter(0);
  assert.deepEqual(delta(k, () => e.enter(0)).d, { EENTER: 1, EEXIT: 1 });
  vaPage(k); // moves the EPCM epoch: the cached path returns null
  assert.deepEqual(delta(k, () => e.enter(0)).d, { EENTER: 1, EEXIT: 1 });
});

test('OCALL with ORET fast path and ORET slow path (epoch moved in the handler)', () => {
  const { k, engine } = newKernel();
  const e = buildEnclave(k);
  const op = engine.on((ctx) => { ctx.regs.rdi = 0x0c; ctx.eexit(ctx.regs.rcx); ctx.regs.rdi = 0; return ctx.regs.rcx; });
  for (const slow of [false, true]) {
    const { d } = delta(k, () => e.enter(op, { handler: (_x, r) => { if (r.rdi === 0x0c) { if (slow) vaPage(k); r.rbx = e.tcs(0); r.rcx = AEP; return ENCLU.EENTER; } return 0; } }));
    assert.deepEqual(d, { EENTER: 2, EEXIT: 2, ...(slow ? { EPA: 1 } : {}) }, `slow=${slow}`);
  }
});

test('engine returns a non-canonical EEXIT target: EENTER, AEX exception, no EEXIT', () => {
  const { k, engine } = newKernel();
  const e = buildEnclave(k);
  const op = engine.on(() => 2 ** 60);
  e.enter(0);
  const { r, d } = delta(k, () => e.enter(op));
  assert.equal(r.exit.reason, 'aex');
  assert.deepEqual(d, { EENTER: 1, AEX_EXCEPTION: 1 });
  vaPage(k);
  assert.deepEqual(delta(k, () => e.enter(op)).d, { EENTER: 1, AEX_EXCEPTION: 1, }, 'slow path');
});

test('ctx.eexit to a non-canonical target: AEX, handler resumes with ERESUME, EEXIT faults again, handler gives up', () => {
  const { k, engine } = newKernel();
  const e = buildEnclave(k, { nssa: 3 });
  const op = engine.on((ctx) => { ctx.eexit(2 ** 60); return ctx.regs.rcx; });
  let n = 0;
  const { d } = delta(k, () => e.enter(op, { handler: (x) => (x.reason === 'aex' && n++ === 0 ? ENCLU.ERESUME : 0) }));
  assert.deepEqual(d, { EENTER: 1, ERESUME: 1, AEX_EXCEPTION: 2 });
});

test('exception in ctx access (#withFaults), resumed with ERESUME, then EEXIT', () => {
  const { k, engine } = newKernel();
  const e = buildEnclave(k);
  let fixed = false;
  const op = engine.on((ctx) => { ctx.read(e.data(0), 8); return ctx.regs.rcx; });
  const va = vaPage(k);
  const blob = evict(k, e, e.data(0), va, 0);
  const { r, d } = delta(k, () => e.enter(op, { handler: (x) => {
    if (x.reason === 'aex' && !fixed) {
      fixed = true;
      const dest = k.epcPage();
      const pi = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(blob.linAddr), SRCPGE: BigInt(blob.src), SECINFO: BigInt(blob.pcmd), SECS: BigInt(e.secs) }));
      assert.equal(k.encls(ENCLS.ELDU, pi, dest, blob.slot), SGX.SUCCESS);
      k.mapUser(e.data(0), dest);
      return ENCLU.ERESUME;
    }
    return 0;
  } }));
  assert.equal(r.exit.reason, 'eexit');
  assert.deepEqual(d, { EENTER: 1, EEXIT: 1, ERESUME: 1, AEX_EXCEPTION: 1, ELDU: 1 });
});

test('interrupt during OCALL-nested ECALL', () => {
  const { k, engine } = newKernel();
  const e = buildEnclave(k, { tcsCount: 2 });
  const inner = engine.on((ctx) => { k.proc.lps[ctx.lpIndex]!.injectInterrupt(); ctx.step(); return ctx.regs.rcx; });
  const outer = engine.on((ctx) => { ctx.regs.rdi = 0x0c; ctx.eexit(ctx.regs.rcx); ctx.regs.rdi = 0; return ctx.regs.rcx; });
  const { d } = delta(k, () => e.enter(outer, { handler: (x, r) => {
    if (x.reason === 'aex') return ENCLU.ERESUME;
    if (r.rdi === 0x0c) { Object.assign(r, { rbx: e.tcs(1), rcx: AEP, rdi: inner }); return ENCLU.EENTER; }
    if (x.tcs === e.tcs(1)) { Object.assign(r, { rbx: e.tcs(0), rcx: AEP, rdi: 0 }); return ENCLU.EENTER; }
    return 0;
  } }));
  assert.deepEqual(d, { EENTER: 3, EEXIT: 3, ERESUME: 1, AEX_INTERRUPT: 1 });
});

/** An enclave whose data pages 0–15 back a WebAssembly memory, a VA page, and the page (data 3) the tests evict. */
function mappedMemory() {
  const { k, engine } = newKernel();
  const e = buildEnclave(k, { dataPages: 16 });
  assert.equal(e.enter(engine.on((ctx) => { ctx.mapMemory(e.data(0), 0x10000); return ctx.regs.rcx; })).exit.reason, 'eexit');
  return { k, engine, e, va: vaPage(k), la: e.data(3) };
}

test('entry check fault (regions, page evicted) with no handler: kernel resolves, ERESUME at once', () => {
  const { k, engine, e, va, la } = mappedMemory();
  const blob = evict(k, e, la, va, 0);
  k.proc.setPageFaultHandler((_lp, address) => {
    if (address - (address % 4096) !== la) return false;
    k.kernel(() => {
      const dest = k.epcPage();
      const pi = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(blob.linAddr), SRCPGE: BigInt(blob.src), SECINFO: BigInt(blob.pcmd), SECS: BigInt(e.secs) }));
      assert.equal(k.encls(ENCLS.ELDU, pi, dest, blob.slot), SGX.SUCCESS);
      k.mapUser(la, dest);
    });
    return true;
  });
  const { r, d } = delta(k, () => e.enter(engine.on((ctx) => ctx.regs.rcx)));
  assert.equal(r.exit.reason, 'eexit');
  assert.deepEqual(d, { EENTER: 1, EEXIT: 1, ERESUME: 1, AEX_EXCEPTION: 1, ELDU: 1 });
});

test('ORET whose entry check faults (region page evicted during the OCALL): AEX, ERESUME', () => {
  const { k, engine, e, va, la } = mappedMemory();
  let blob: ReturnType<typeof evict> | null = null;
  const op = engine.on((ctx) => { ctx.regs.rdi = 0x0c; ctx.eexit(ctx.regs.rcx); ctx.regs.rdi = 0; return ctx.regs.rcx; });
  const { r, d } = delta(k, () => e.enter(op, { handler: (x, rr) => {
    if (x.reason === 'eexit' && rr.rdi === 0x0c) { blob = evict(k, e, la, va, 0); rr.rbx = e.tcs(0); rr.rcx = AEP; return ENCLU.EENTER; }
    if (x.reason === 'aex') {
      const b = blob!;
      const dest = k.epcPage();
      const pi = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(b.linAddr), SRCPGE: BigInt(b.src), SECINFO: BigInt(b.pcmd), SECS: BigInt(e.secs) }));
      assert.equal(k.encls(ENCLS.ELDU, pi, dest, b.slot), SGX.SUCCESS);
      k.mapUser(la, dest);
      return ENCLU.ERESUME;
    }
    return 0;
  } }));
  assert.equal(r.exit.reason, 'eexit');
  assert.deepEqual(d, { EENTER: 2, EEXIT: 2, ERESUME: 1, AEX_EXCEPTION: 1, ELDU: 1, EBLOCK: 1, ETRACK: 1, EWB: 1 });
});

