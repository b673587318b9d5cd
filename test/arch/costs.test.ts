/**
 * The processor's event counters (ProcessorInspector.counters) and the cost model that prices
 * them (costs.ts): each leaf and AEX counted where it happens, a run's own counts by difference,
 * the arithmetic of an estimate, unpriced events reported rather than guessed, a bad model refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENCLS, DEFAULT_COST_MODEL, estimateCost, countersSince, type SgxCounters } from '../../src/arch/index.js';
import { newKernel, buildEnclave } from '../helpers/enclave.js';
import { newPlatform, loadFixture } from '../helpers/sdk.js';

/** The events of `c` that are not zero. */
const nonZero = (c: SgxCounters) => Object.fromEntries(Object.entries(c).filter(([, n]) => n !== 0));

test('building an enclave counts ECREATE, each EADD, 16 EEXTENDs per measured page and EINIT; a faulting ENCLS counts too', () => {
  const { k } = newKernel();
  const before = k.proc.inspect.counters;
  const e = buildEnclave(k, { dataPages: 3 });
  const built = countersSince(k.proc.inspect.counters, before);
  const pages = e.b.pages.length;
  assert.deepEqual(nonZero(built), { ECREATE: 1, EADD: pages, EEXTEND: 16 * pages, EINIT: 1 });
  const c0 = k.proc.inspect.counters;
  assert.throws(() => k.encls(ENCLS.EREMOVE, 0, 12345));
  assert.deepEqual(nonZero(countersSince(k.proc.inspect.counters, c0)), { EREMOVE: 1 });
});

test('an ECALL is an EENTER and an EEXIT, each OCALL another pair; an interrupt is an AEX and an ERESUME; EREPORT and EGETKEY from the enclave count', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'calls', { ocalls: { ocall_reenter: (d) => e.ecall('ecall_outer', [Number(d) - 1]) as number, ocall_allow_private: () => 0, ocall_deny: () => 0 } });
  assert.equal(e.ecall('ecall_leaf', [1]), 2); // (the first entry loads the enclave)
  const c0 = p.processor.inspect.counters;
  assert.equal(e.ecall('ecall_leaf', [1]), 2);
  assert.deepEqual(nonZero(countersSince(p.processor.inspect.counters, c0)), { EENTER: 1, EEXIT: 1 });
  const c1 = p.processor.inspect.counters;
  assert.equal(e.ecall('ecall_outer', [2]), 1002); // two OCALLs, each with a nested ECALL
  assert.deepEqual(nonZero(countersSince(p.processor.inspect.counters, c1)), { EENTER: 5, EEXIT: 5 });
  const c2 = p.processor.inspect.counters;
  p.processor.lps[0]!.injectInterrupt();
  assert.equal(e.ecall('ecall_leaf', [1]), 2);
  assert.deepEqual(nonZero(countersSince(p.processor.inspect.counters, c2)), { EENTER: 1, EEXIT: 1, ERESUME: 1, AEX_INTERRUPT: 1 });
  e.destroy();
});

test('EACCEPT from the enclave and EAUG from the kernel count (a heap that grows)', () => {
  const p = newPlatform({ profile: 'win-x64-sgx2' });
  const e = loadFixture(p, 'grow', { config: { heapSize: 256 << 10, heapMaxSize: 1 << 20 } });
  assert.equal(e.ecall('ecall_pages', []), 4);
  const c0 = p.processor.inspect.counters;
  assert.equal(e.ecall('ecall_grow', [2]), 4);
  const d = countersSince(p.processor.inspect.counters, c0);
  assert.deepEqual([d.EAUG, d.EACCEPT, d.EENTER, d.EEXIT], [32, 32, 2, 2], '32 pages; the ECALL and the commit OCALL');
  e.destroy();
});

test('estimateCost: count × price per event, the clock turns cycles into seconds, events without a price are listed, not guessed', () => {
  const zero = Object.fromEntries([...Object.keys(DEFAULT_COST_MODEL.cycles), 'ECREATE', 'EADD'].map((k) => [k, 0])) as unknown as SgxCounters;
  const counts = { ...zero, EENTER: 10, EEXIT: 10, EWB: 2, ELDU: 2, EEXTEND: 16, EADD: 1 } as SgxCounters;
  const r = estimateCost(counts);
  const want = 10 * 4300 + 10 * 4300 + 2 * 20000 + 2 * 20000 + 16 * 5200;
  assert.equal(r.cycles, want);
  assert.equal(r.seconds, want / 2.5e9);
  assert.deepEqual(r.byEvent.EWB, { count: 2, each: 20000, cycles: 40000 });
  assert.deepEqual(r.unpriced, { EADD: 1 });
  const own = estimateCost(counts, { cycles: { EADD: 1000, EENTER: 0 }, ghz: 1, source: 'mine' });
  assert.equal(own.cycles, 1000);
  assert.deepEqual(Object.keys(own.unpriced).sort(), ['EEXIT', 'EEXTEND', 'ELDU', 'EWB']);
  for (const bad of [{ cycles: {}, ghz: 0, source: '' }, { cycles: {}, ghz: Number.NaN, source: '' }, { cycles: { EENTER: -1 }, ghz: 1, source: '' }, { cycles: { EENTER: Infinity }, ghz: 1, source: '' }]) {
    assert.throws(() => estimateCost(counts, bad as never), RangeError);
  }
});

test('a review\'s findings: EDBGWR through the kernel counts as EDBGRD does; an in-enclave leaf whose thread is lost at its interrupt window never ran, and does not count', () => {
  const { k, engine } = newKernel();
  const e = buildEnclave(k);
  const pa = e.frame(e.data(0));
  const c0 = k.proc.inspect.counters;
  k.edbgrd(pa);
  k.edbgwr(pa, 1n);
  assert.deepEqual(nonZero(countersSince(k.proc.inspect.counters, c0)), { EDBGRD: 1, EDBGWR: 1 });
  const c1 = k.proc.inspect.counters;
  let ran = false;
  const op = engine.on((ctx) => {
    k.proc.lps[ctx.lpIndex]!.injectInterrupt();
    ctx.egetkey(e.data(0), e.data(1));
    ran = true;
    return ctx.regs.rcx;
  });
  e.enter(op, { handler: () => 0 });
  assert.equal(ran, false);
  assert.deepEqual(nonZero(countersSince(k.proc.inspect.counters, c1)), { EENTER: 1, AEX_INTERRUPT: 1 });
});

test('bad counts and bad models are RangeErrors: snapshots in the wrong order or incomplete, a count that is not a non-negative integer, a price for an event the processor does not count (a typo) or a bad price for one that did not happen', () => {
  const { k } = newKernel();
  const before = k.proc.inspect.counters;
  buildEnclave(k);
  const after = k.proc.inspect.counters;
  assert.throws(() => countersSince(before, after), RangeError);
  assert.throws(() => countersSince(after, { ...before, EADD: undefined } as unknown as SgxCounters), RangeError);
  const d = countersSince(after, before);
  assert.throws(() => estimateCost({ ...d, EADD: -1 }), RangeError);
  assert.throws(() => estimateCost({ ...d, EADD: Number.NaN }), RangeError);
  assert.throws(() => estimateCost({ ...d, EADD: 1.5 }), RangeError);
  assert.throws(() => estimateCost({ ...d, EENTRE: 1 } as SgxCounters), RangeError);
  assert.throws(() => estimateCost(d, { cycles: { EENTRE: 4300 } as never, ghz: 1, source: '' }), RangeError);
  assert.equal(d.EENTER, 0);
  assert.throws(() => estimateCost(d, { cycles: { EENTER: -1 }, ghz: 1, source: '' }), RangeError, 'a bad price for an event that did not happen');
  assert.equal(estimateCost(d).cycles, d.EEXTEND * 5200);
});
