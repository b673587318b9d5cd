/**
 * EPC accounting of the Windows enclave API (specs/os-api.md §2.7 #11, §2.8 #11, §2.9 #8, §2.12):
 * dwInitialCommitment is charged at CreateEnclave, consumed by LoadEnclaveData, released at
 * InitializeEnclave and DeleteEnclave; exhaustion gives ERROR_NOT_ENOUGH_MEMORY without a trace; and
 * a seeded random sequence of calls is checked against a reference model of the rules, call by call
 * (exact Win32 error and NTSTATUS, no trace after a failure, processor and kernel counters agreeing),
 * ending with every page back.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as W from '../../src/os/windows/constants.js';
import type { Platform } from '../../src/platform/index.js';
import type { WindowsProfileId } from '../../src/os/windows/index.js';
import * as H from '../helpers/windows.js';

const PAGE = 4096;
const HP = W.CURRENT_PROCESS;
const L = H.standardLayout();

interface Counters {
  readonly processorFree: number;
  readonly kernelFree: number;
  readonly committed: number;
  readonly available: number;
}
function counters(p: Platform): Counters {
  const s = H.epcState(p);
  return { processorFree: s.processorFree, kernelFree: s.kernelFree, committed: s.committed, available: s.available };
}
const expectCounters = (total: number, used: number, committed: number): Counters => ({ processorFree: total - used, kernelFree: total - used, committed, available: total - used - committed });

function tryLoad(p: Platform, base: number, off: number, n: number): { ok: boolean; err: number; nt: number } {
  const k32 = p.kernel32;
  k32.SetLastError(H.SENT_ERR);
  const ok = k32.LoadEnclaveData(HP, base + off, new Uint8Array(n * PAGE).fill(off & 0xff), n * PAGE, W.PAGE_READWRITE, null, 0, null, null);
  return { ok, err: k32.GetLastError(), nt: k32.lastNtStatus >>> 0 };
}
const NO_EPC = { ok: false, err: W.ERROR_NOT_ENOUGH_MEMORY, nt: W.STATUS_NO_MEMORY };
const LOADED = { ok: true, err: H.SENT_ERR, nt: 0 };

for (const profile of H.SGX_PROFILES) {
  describe(`EPC accounting on ${profile}`, () => {
    test('dwInitialCommitment: charged at CreateEnclave, used by LoadEnclaveData, released at InitializeEnclave', () => {
      const p = H.platformFor(profile);
      const T = p.processor.epcPages;
      assert.deepEqual(counters(p), expectCounters(T, 0, 0));
      const base = H.create(p, L, H.FIX_BASE, 8 * PAGE);
      assert.deepEqual(counters(p), expectCounters(T, 1, 8), 'after CreateEnclave: the SECS page and 8 committed');
      H.loadRest(p, base, L);
      assert.deepEqual(counters(p), expectCounters(T, 5, 4), 'after 4 pages: taken from the commitment');
      assert.equal(p.kernel.enclaves[0]!.commitment, 4);
      H.initialize(p, base, L);
      assert.deepEqual(counters(p), expectCounters(T, 5, 0), 'after InitializeEnclave: the unused 4 released');
      assert.equal(p.kernel32.DeleteEnclave(base), true);
      H.assertPristine(p, 'after DeleteEnclave');
    });

    test('dwInitialCommitment is released by DeleteEnclave of an uninitialized enclave', () => {
      const p = H.platformFor(profile);
      const T = p.processor.epcPages;
      const base = H.create(p, L, H.FIX_BASE, 20 * PAGE);
      H.loadPage(p, base, L.pages[0]!);
      assert.deepEqual(counters(p), expectCounters(T, 2, 19));
      assert.equal(p.kernel32.VirtualFree(base, 0, W.MEM_RELEASE), true);
      H.assertPristine(p, 'after VirtualFree(MEM_RELEASE)');
    });

    test('a commitment is a reservation: other enclaves cannot take those pages, the owner can', () => {
      const p = H.platformFor(profile, { epcSize: 16 * PAGE });
      const a = H.create(p, L, H.FIX_BASE, 10 * PAGE);
      const b = H.create(p, L, H.FIX_BASE + 0x20_0000);
      assert.deepEqual(counters(p), expectCounters(16, 2, 10));
      assert.deepEqual(tryLoad(p, b, 0x4000, 4), LOADED);
      const full = H.epcState(p);
      assert.deepEqual(tryLoad(p, b, 0x8000, 1), NO_EPC, 'B cannot take A\'s committed pages');
      assert.deepEqual(H.epcState(p), full, 'and the failure left nothing');
      assert.deepEqual(tryLoad(p, a, 0x4000, 10), LOADED, 'A uses its whole commitment');
      assert.deepEqual(counters(p), expectCounters(16, 16, 0));
      assert.deepEqual(tryLoad(p, a, 0xe000, 1), NO_EPC, 'beyond its commitment A competes like anyone');
      assert.equal(p.kernel32.DeleteEnclave(a), true);
      assert.deepEqual(tryLoad(p, b, 0x8000, 1), LOADED, 'A\'s pages are free again');
      H.teardown(p);
    });

    test('CreateEnclave needs the SECS page plus the commitment out of the pages nobody has committed', () => {
      const p = H.platformFor(profile, { epcSize: 16 * PAGE });
      H.create(p, L, H.FIX_BASE, 14 * PAGE);
      assert.deepEqual(counters(p), expectCounters(16, 1, 14));
      const k32 = p.kernel32;
      const before = H.epcState(p);
      assert.equal(k32.CreateEnclave(HP, H.FIX_BASE + 0x20_0000, L.size, PAGE, 1, L.secs(), 4096, null), 0);
      assert.deepEqual([k32.GetLastError(), k32.lastNtStatus], [W.ERROR_NOT_ENOUGH_MEMORY, W.STATUS_NO_MEMORY]);
      assert.deepEqual(H.epcState(p), before);
      assert.equal(H.create(p, L, H.FIX_BASE + 0x20_0000, 0), H.FIX_BASE + 0x20_0000, 'without a commitment the last page is enough');
      assert.equal(k32.CreateEnclave(HP, H.FIX_BASE + 0x40_0000, L.size, 0, 1, L.secs(), 4096, null), 0, 'no page left for a SECS');
      assert.equal(k32.GetLastError(), W.ERROR_NOT_ENOUGH_MEMORY);
      H.teardown(p);
    });

    test('exhaustion and recovery: a full EPC refuses loads and enclaves until one is deleted', () => {
      const p = H.platformFor(profile, { epcSize: 8 * PAGE });
      const a = H.buildTo(p, L, 'initialized', H.FIX_BASE);
      const b = H.create(p, L, H.FIX_BASE + 0x20_0000);
      assert.deepEqual(tryLoad(p, b, 0x4000, 3), NO_EPC);
      assert.deepEqual(tryLoad(p, b, 0x4000, 2), LOADED);
      assert.deepEqual(counters(p), expectCounters(8, 8, 0));
      assert.equal(p.kernel32.CreateEnclave(HP, 0, L.size, 0, 1, L.secs(), 4096, null), 0);
      assert.equal(p.kernel32.GetLastError(), W.ERROR_NOT_ENOUGH_MEMORY);
      assert.equal(p.kernel32.DeleteEnclave(a), true);
      assert.deepEqual(counters(p), expectCounters(8, 3, 0));
      H.buildTo(p, L, 'initialized', H.FIX_BASE + 0x40_0000);
      H.teardown(p);
    });
  });
}

// ---- a random walk against a reference model -----------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SlotModel {
  exists: boolean;
  initialized: boolean;
  commitment: number;
  order: H.LayoutPage[];
}

const SIZE = 0x2_0000; // 32 pages
const SLOTS = 3;
const slotBase = (i: number): number => H.FIX_BASE + i * 0x20_0000;
const GOOD_PROTECT = [W.PAGE_READWRITE, W.PAGE_READONLY, W.PAGE_EXECUTE_READ, (W.PAGE_READWRITE | W.PAGE_ENCLAVE_UNVALIDATED) >>> 0, 0];
const BAD_PROTECT = [W.PAGE_NOACCESS, W.PAGE_GUARD | W.PAGE_READWRITE, W.PAGE_ENCLAVE_THREAD_CONTROL >>> 0];

interface Outcome {
  readonly ok: boolean;
  readonly err?: number;
  readonly nt?: number;
  readonly enclaveError?: number;
}

function randomWalk(profile: WindowsProfileId, seed: number, steps: number): void {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const total = 20;
  const p = H.platformFor(profile, { epcSize: total * PAGE });
  const k32 = p.kernel32;
  const slots: SlotModel[] = Array.from({ length: SLOTS }, () => ({ exists: false, initialized: false, commitment: 0, order: [] }));
  const used = (): number => slots.reduce((n, s) => n + (s.exists ? 1 + s.order.length : 0), 0);
  const committed = (): number => slots.reduce((n, s) => n + (s.exists ? s.commitment : 0), 0);
  const available = (): number => total - used() - committed();
  const fail = (err: number, nt: number, enclaveError?: number): Outcome => ({ ok: false, err, nt, ...(enclaveError !== undefined ? { enclaveError } : {}) });
  const counts: Record<string, number> = {};

  for (let step = 0; step < steps; step++) {
    const i = Math.floor(rnd() * SLOTS);
    const s = slots[i]!;
    const base = slotBase(i);
    const before = H.epcState(p);
    k32.SetLastError(H.SENT_ERR);
    const err = { value: H.SENT_OUT };
    let got: boolean;
    let want: Outcome;
    let apply: () => void = () => undefined;
    const r = rnd();
    let op: string;
    if (r < 0.25) {
      op = 'create';
      const commit = pick([0, 0, 1, 4, 12, 20, 40]);
      got = k32.CreateEnclave(HP, base, SIZE, commit * PAGE, 1, new H.TestLayout({ size: SIZE }).secs(), 4096, null) !== 0;
      if (commit * PAGE > SIZE) want = fail(87, W.STATUS_INVALID_PARAMETER);
      else if (s.exists) want = fail(487, W.STATUS_CONFLICTING_ADDRESSES);
      else if (commit + 1 > available()) want = fail(8, W.STATUS_NO_MEMORY);
      else {
        want = { ok: true };
        apply = () => Object.assign(s, { exists: true, initialized: false, commitment: commit, order: [] });
      }
    } else if (r < 0.78) {
      op = 'load';
      const off = Math.floor(rnd() * 34);
      const n = pick([1, 1, 2, 3, 5, 8]);
      const bad = rnd() < 0.15;
      const protect = bad ? pick(BAD_PROTECT) : pick(GOOD_PROTECT);
      const unmapped = rnd() < 0.1;
      const data = new Uint8Array(n * PAGE);
      for (let k = 0; k < data.length; k += 64) data[k] = (step + k) & 0xff;
      got = k32.LoadEnclaveData(HP, base + off * PAGE, unmapped ? H.UNMAPPED : data, n * PAGE, protect, null, 0, null, null);
      const offsets = Array.from({ length: n }, (_, k) => (off + k) * PAGE);
      if (!s.exists || off + n > SIZE / PAGE) want = fail(487, W.STATUS_CONFLICTING_ADDRESSES);
      else if (s.initialized) want = fail(1247, W.STATUS_ALREADY_INITIALIZED);
      else if (bad) want = fail(87, W.STATUS_INVALID_PAGE_PROTECTION);
      else if (offsets.some((o) => s.order.some((pg) => pg.offset === o))) want = fail(487, W.STATUS_CONFLICTING_ADDRESSES);
      else if (n > s.commitment + available()) want = fail(8, W.STATUS_NO_MEMORY);
      else if (unmapped) want = fail(998, W.STATUS_ACCESS_VIOLATION);
      else {
        want = { ok: true };
        apply = () => {
          offsets.forEach((o, k) => s.order.push({ offset: o, protect, data: data.slice(k * PAGE, (k + 1) * PAGE) }));
          s.commitment -= Math.min(s.commitment, n);
        };
      }
    } else if (r < 0.9) {
      op = 'init';
      const pending = s.exists && !s.initialized;
      // an interrupt is injected only when EINIT will run (and consume it)
      const kind = ((k) => (k === 'interrupt' && !pending ? 'good' : k))(pick(['good', 'good', 'wrong', 'interrupt'] as const));
      const layout = new H.TestLayout({ size: SIZE, pages: s.order });
      const info = kind === 'wrong' ? layout.initInfo(layout.sigstruct({ enclaveHash: new Uint8Array(32).fill(step & 0xff) })) : pending ? layout.initInfo() : new Uint8Array(4096);
      if (kind === 'interrupt') p.processor.lps[0]!.injectInterrupt();
      got = k32.InitializeEnclave(HP, base, info, 4096, err);
      if (!s.exists) want = fail(487, W.STATUS_CONFLICTING_ADDRESSES);
      else if (s.initialized) want = fail(1247, W.STATUS_ALREADY_INITIALIZED);
      else if (kind === 'interrupt') want = fail(1237, W.STATUS_RETRY, 0x80);
      else if (kind === 'wrong') want = fail(349, W.STATUS_ENCLAVE_FAILURE, 4);
      else {
        want = { ok: true, enclaveError: 0 };
        apply = () => {
          assert.deepEqual(p.processor.inspect.enclaves().find((e) => e.baseAddr === base)?.mrenclave, layout.mrenclave, `step ${step}: MRENCLAVE`);
          Object.assign(s, { initialized: true, commitment: 0 });
        };
      }
    } else {
      op = 'delete';
      const viaVirtualFree = rnd() < 0.5;
      got = viaVirtualFree ? k32.VirtualFree(base, 0, W.MEM_RELEASE) : k32.DeleteEnclave(base);
      if (!s.exists) want = fail(487, viaVirtualFree ? W.STATUS_MEMORY_NOT_ALLOCATED : W.STATUS_CONFLICTING_ADDRESSES);
      else {
        want = { ok: true };
        apply = () => Object.assign(s, { exists: false, initialized: false, commitment: 0, order: [] });
      }
    }
    const tag = `step ${step} (${op} slot ${i})`;
    counts[`${op} ${want.ok ? 'ok' : want.err}`] = (counts[`${op} ${want.ok ? 'ok' : want.err}`] ?? 0) + 1;
    assert.equal(got, want.ok, `${tag}: result (GetLastError ${k32.GetLastError()}, ${H.hex32(k32.lastNtStatus)})`);
    if (!want.ok) {
      assert.deepEqual([k32.GetLastError(), H.hex32(k32.lastNtStatus)], [want.err, H.hex32(want.nt!)], `${tag}: error`);
      assert.deepEqual(H.epcState(p), before, `${tag}: a failure left a trace`);
    }
    if (op === 'init') assert.equal(err.value, want.enclaveError ?? H.SENT_OUT, `${tag}: *lpEnclaveError`);
    apply();
    // processor and kernel agree with the model
    assert.equal(p.processor.lps[0]!.interruptPending, false, `${tag}: the interrupt was delivered to EINIT`);
    assert.deepEqual(counters(p), expectCounters(total, used(), committed()), `${tag}: counters`);
    const kernelPages = p.kernel.enclaves.map((e) => ({ base: e.base, pages: [...e.pages.keys()].sort((x, y) => x - y), state: e.state, commitment: e.commitment }));
    const modelPages = slots.flatMap((m, j) => (m.exists ? [{ base: slotBase(j), pages: m.order.map((pg) => slotBase(j) + pg.offset).sort((x, y) => x - y), state: m.initialized ? 'initialized' : 'created', commitment: m.commitment }] : []));
    assert.deepEqual(kernelPages.sort((x, y) => x.base - y.base), modelPages, `${tag}: enclaves`);
  }
  // every outcome class was exercised
  for (const k of ['create ok', 'create 8', 'create 87', 'create 487', 'load ok', 'load 8', 'load 87', 'load 487', 'load 998', 'load 1247', 'init ok', 'init 349', 'init 1237', 'delete ok', 'delete 487']) {
    assert.ok((counts[k] ?? 0) > 0, `the walk never produced '${k}' (${JSON.stringify(counts)})`);
  }
  H.teardown(p);
}

describe('random walk against a reference model of §2.7–§2.12', () => {
  for (const profile of H.SGX_PROFILES) {
    for (const seed of [1, 2]) {
      test(`[${profile}] seed ${seed}: 600 calls, exact results, no trace after failures, counters exact, all pages back`, () => randomWalk(profile, seed, 600));
    }
  }
});
