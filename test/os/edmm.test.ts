/**
 * The rest of Windows' SGX2 extensions (specs/os-api.md §2.15, a model [INF]): VirtualProtect of
 * an initialized ENCLAVE_TYPE_SGX2 enclave's pages (EMODPR + ETRACK; PTEs only with
 * PAGE_ENCLAVE_NO_CHANGE; EMODT to PT_TRIM with PAGE_ENCLAVE_DECOMMIT) and VirtualFree(MEM_DECOMMIT)
 * of the trimmed pages once the enclave accepted the trim; and VirtualProtect of private memory.
 * The enclave's side (EACCEPT, EMODPE) runs as ScriptEngine code.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as W from '../../src/os/windows/constants.js';
import { ENCLU, PT, SGX, VECTOR, PTE, newRegisters, type EnclaveContext, type ExitInfo } from '../../src/arch/index.js';
import type { Platform } from '../../src/platform/index.js';
import * as H from '../helpers/windows.js';
import { ScriptEngine, AEP } from '../helpers/enclave.js';

const L = H.standardLayout();
const PAGE = 4096;
const { failed } = H;

interface Sgx2 {
  readonly p: Platform;
  readonly base: number;
  readonly engine: ScriptEngine;
  /** Run `fn` inside the enclave (EENTER on its TCS); the exit. */
  inside(fn: (ctx: EnclaveContext) => void): ExitInfo;
}

function sgx2(type: number = W.ENCLAVE_TYPE_SGX2, epcReclaim = false): Sgx2 {
  const engine = new ScriptEngine();
  const p = H.platformFor('win-x64-sgx2', { engine, epcReclaim });
  const base = H.create(p, L, H.FIX_BASE, 0, type);
  H.loadRest(p, base, L);
  H.initialize(p, base, L);
  const inside = (fn: (ctx: EnclaveContext) => void): ExitInfo => {
    const rdi = engine.on((ctx) => {
      fn(ctx);
      return ctx.regs.rcx;
    });
    engine.resumeFn = (ctx) => ctx.regs.rcx;
    return p.processor.lps[0]!.enclu(ENCLU.EENTER, newRegisters({ rbx: base, rcx: AEP, rdi }), null);
  };
  return { p, base, engine, inside };
}

/** A SECINFO with FLAGS `flags`, written by the enclave into its data page; its address. */
function secinfoAt(ctx: EnclaveContext, base: number, flags: number): number {
  const at = base + 0x2800;
  const b = new Uint8Array(64);
  b[0] = flags & 0xff;
  b[1] = (flags >> 8) & 0xff;
  ctx.write(at, b);
  return at;
}

const PENDING = 0x8, MODIFIED = 0x10, PR = 0x20;

/** EACCEPT of `la` with SECINFO `flags` from inside the enclave: its status. */
function accept(e: Sgx2, la: number, flags: number): number {
  let st = -1;
  e.inside((ctx) => {
    st = ctx.eaccept(secinfoAt(ctx, e.base, flags), la);
  });
  return st;
}

/** An EAUGed page at base + `off` (default 0x10000), accepted by the enclave (RW). */
function acceptedPage(e: Sgx2, off = 0x1_0000): number {
  const at = e.base + off;
  assert.equal(e.p.kernel32.VirtualAlloc(at, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE), at);
  let st = -1;
  e.inside((ctx) => {
    st = ctx.eaccept(secinfoAt(ctx, e.base, (PT.REG << 8) | PENDING | 3), at);
  });
  assert.equal(st, SGX.SUCCESS);
  return at;
}

function epcm(e: Sgx2, la: number): ReturnType<Platform['processor']['inspect']['epcm']> {
  return e.p.processor.inspect.epcm(e.p.kernel.enclaves[0]!.pages.get(la)!);
}

describe('Windows EDMM: VirtualProtect and VirtualFree(MEM_DECOMMIT) in an SGX2 enclave', () => {
  it('a weaker protection: EMODPR and ETRACK, the PTE made read-only, the old protection reported; the enclave accepts it (PR) and its write then faults', () => {
    const e = sgx2();
    const at = acceptedPage(e);
    const old = { value: H.SENT_OUT };
    assert.deepEqual(H.observe(e.p, () => e.p.kernel32.VirtualProtect(at, PAGE, W.PAGE_READONLY, old)), { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
    assert.equal(old.value, W.PAGE_READWRITE);
    const x = epcm(e, at);
    assert.deepEqual([x.r, x.w, x.pr], [true, false, true]);
    assert.equal(e.p.process.pageTable.lookup(at / PAGE)!.flags, PTE.U | PTE.NX);
    let st = -1;
    e.inside((ctx) => {
      st = ctx.eaccept(secinfoAt(ctx, e.base, (PT.REG << 8) | PR | 1), at);
    });
    assert.equal(st, SGX.SUCCESS, 'the tracking the ETRACK started is complete');
    const exit = e.inside((ctx) => ctx.write(at, new Uint8Array([1])));
    assert.equal(exit.vector, VECTOR.PF);
  });

  it('a stronger protection with PAGE_ENCLAVE_NO_CHANGE changes the PTE only; the enclave extends the EPCM itself with EMODPE and writes', () => {
    const e = sgx2();
    const at = acceptedPage(e);
    const old = { value: 0 };
    assert.equal(e.p.kernel32.VirtualProtect(at, PAGE, W.PAGE_READONLY, old), true);
    let st = -1;
    e.inside((ctx) => {
      st = ctx.eaccept(secinfoAt(ctx, e.base, (PT.REG << 8) | PR | 1), at);
    });
    assert.equal(st, SGX.SUCCESS);
    assert.equal(e.p.kernel32.VirtualProtect(at, PAGE, (W.PAGE_READWRITE | W.PAGE_ENCLAVE_NO_CHANGE) >>> 0, old), true);
    assert.equal(old.value, W.PAGE_READONLY);
    assert.equal(epcm(e, at).w, false, 'the EPCM untouched');
    assert.equal(e.p.process.pageTable.lookup(at / PAGE)!.flags, PTE.U | PTE.W | PTE.NX);
    let wrote = false;
    e.inside((ctx) => {
      ctx.emodpe(secinfoAt(ctx, e.base, (PT.REG << 8) | 3), at);
      ctx.write(at, new Uint8Array([7]));
      wrote = true;
    });
    assert.equal(wrote, true);
  });

  it('PAGE_ENCLAVE_DECOMMIT trims (EMODT; the PTE stays for the enclave\'s EACCEPT); VirtualFree(MEM_DECOMMIT) refuses until the enclave accepted the trim, then removes the page, its PTE and its EPC', () => {
    const e = sgx2();
    const at = acceptedPage(e);
    const old = { value: 0 };
    assert.equal(e.p.kernel32.VirtualProtect(at, PAGE, W.PAGE_ENCLAVE_DECOMMIT, old), true);
    assert.equal(old.value, W.PAGE_READWRITE);
    const x = epcm(e, at);
    assert.deepEqual([x.pageType, x.modified], [PT.TRIM, true]);
    assert.ok(e.p.process.pageTable.lookup(at / PAGE));
    assert.deepEqual(H.observe(e.p, () => e.p.kernel32.VirtualFree(at, PAGE, W.MEM_DECOMMIT)), failed(87, W.STATUS_INVALID_PAGE_PROTECTION), 'not accepted yet');
    assert.ok(e.p.kernel.enclaves[0]!.pages.has(at));
    assert.deepEqual(H.observe(e.p, () => e.p.kernel32.VirtualProtect(at, PAGE, W.PAGE_READONLY, old)), failed(487, W.STATUS_NOT_COMMITTED), 'a trimmed page is not committed');
    let st = -1;
    e.inside((ctx) => {
      st = ctx.eaccept(secinfoAt(ctx, e.base, (PT.TRIM << 8) | MODIFIED), at);
    });
    assert.equal(st, SGX.SUCCESS);
    const free = e.p.kernel.epc.availablePages;
    assert.deepEqual(H.observe(e.p, () => e.p.kernel32.VirtualFree(at, PAGE, W.MEM_DECOMMIT)), { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
    assert.equal(e.p.kernel.enclaves[0]!.pages.has(at), false);
    assert.equal(e.p.process.pageTable.lookup(at / PAGE), null);
    assert.equal(e.p.kernel.epc.availablePages, free + 1);
    // The address can be committed (EAUGed) again.
    assert.equal(e.p.kernel32.VirtualAlloc(at, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE), at);
    H.teardown(e.p);
  });

  it('refusals change nothing: an SGX1 enclave (487), no old-protection variable (998), a protection with modifiers (87), a page never committed (487), a range past the enclave (487), size 0 (87), VirtualFree of a page not trimmed (87)', () => {
    const one = sgx2(W.ENCLAVE_TYPE_SGX);
    const old = { value: H.SENT_OUT };
    assert.deepEqual(H.observe(one.p, () => one.p.kernel32.VirtualProtect(one.base + 0x2000, PAGE, W.PAGE_READONLY, old)), failed(487, W.STATUS_CONFLICTING_ADDRESSES));
    assert.deepEqual(H.observe(one.p, () => one.p.kernel32.VirtualFree(one.base + 0x2000, PAGE, W.MEM_DECOMMIT)), failed(87, W.STATUS_INVALID_PARAMETER));
    const e = sgx2();
    const at = acceptedPage(e);
    const before = { ...epcm(e, at) };
    const pte = e.p.process.pageTable.entry(at / PAGE);
    const cases: [string, () => boolean, ReturnType<typeof failed>][] = [
      ['NULL lpflOldProtect', () => e.p.kernel32.VirtualProtect(at, PAGE, W.PAGE_READONLY, null), failed(998, W.STATUS_ACCESS_VIOLATION)],
      ['PAGE_GUARD', () => e.p.kernel32.VirtualProtect(at, PAGE, W.PAGE_GUARD | W.PAGE_READONLY, old), failed(87, W.STATUS_INVALID_PAGE_PROTECTION)],
      ['never committed', () => e.p.kernel32.VirtualProtect(at, 2 * PAGE, W.PAGE_READONLY, old), failed(487, W.STATUS_NOT_COMMITTED)],
      ['past the enclave', () => e.p.kernel32.VirtualProtect(e.base + L.size - PAGE, 2 * PAGE, W.PAGE_READONLY, old), failed(487, W.STATUS_CONFLICTING_ADDRESSES)],
      ['size 0', () => e.p.kernel32.VirtualProtect(at, 0, W.PAGE_READONLY, old), failed(87, W.STATUS_INVALID_PARAMETER)],
      ['VirtualFree of a page not trimmed', () => e.p.kernel32.VirtualFree(at, PAGE, W.MEM_DECOMMIT), failed(87, W.STATUS_INVALID_PARAMETER)],
    ];
    for (const [what, fn, want] of cases) assert.deepEqual(H.observe(e.p, fn), want, what);
    assert.equal(old.value, H.SENT_OUT, 'old protection not written');
    assert.deepEqual({ ...epcm(e, at) }, before);
    assert.equal(e.p.process.pageTable.entry(at / PAGE), pte);
  });

  it('a page the leaf refuses stops the call there (a TCS for EMODPR: STATUS_INVALID_PAGE_PROTECTION), the pages before it changed, the old protection reported', () => {
    const e = sgx2();
    const old = { value: H.SENT_OUT };
    // [data page 0x2000 (RW), code page 0x3000 (RX)] → PAGE_READONLY: both REG, both restricted.
    assert.equal(e.p.kernel32.VirtualProtect(e.base + 0x2000, 2 * PAGE, W.PAGE_READONLY, old), true);
    assert.equal(old.value, W.PAGE_READWRITE);
    // [SSA page 0x1000 (RW, REG), TCS 0x0000] in the other order is not a range; the TCS first: refused at once, nothing changed.
    assert.deepEqual(H.observe(e.p, () => e.p.kernel32.VirtualProtect(e.base, 2 * PAGE, W.PAGE_READONLY, old)), failed(87, W.STATUS_INVALID_PAGE_PROTECTION));
    assert.equal(epcm(e, e.base + 0x1000).pr, false, 'the page after the TCS untouched');
  });
});

describe('Windows EDMM: tracking, PTEs, eviction and teardown (review)', () => {
  it('an ETRACK refused (a thread inside since before the previous one) is STATUS_RETRY (1237), the old protection reported; the same call again once the thread left tracks it, and the enclave accepts', () => {
    const e = sgx2();
    const a = acceptedPage(e, 0x1_0000), b = acceptedPage(e, 0x1_1000), c = acceptedPage(e, 0x1_2000);
    const old = { value: H.SENT_OUT };
    const seen: ReturnType<typeof H.observe>[] = [];
    e.inside(() => {
      seen.push(H.observe(e.p, () => e.p.kernel32.VirtualProtect(a, PAGE, W.PAGE_READONLY, old)));
      seen.push(H.observe(e.p, () => e.p.kernel32.VirtualProtect(b, PAGE, W.PAGE_READONLY, old)));
      seen.push(H.observe(e.p, () => e.p.kernel32.VirtualProtect(c, PAGE, W.PAGE_ENCLAVE_DECOMMIT, old)));
    });
    assert.deepEqual(seen, [
      { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS },
      failed(1237, W.STATUS_RETRY),
      failed(1237, W.STATUS_RETRY),
    ]);
    assert.equal(old.value, W.PAGE_READWRITE);
    assert.equal(accept(e, a, (PT.REG << 8) | PR | 1), SGX.SUCCESS, 'the first call was tracked');
    assert.equal(accept(e, b, (PT.REG << 8) | PR | 1), SGX.NOT_TRACKED, 'the second was not');
    assert.equal(e.p.kernel32.VirtualProtect(b, PAGE, W.PAGE_READONLY, old), true);
    assert.equal(accept(e, b, (PT.REG << 8) | PR | 1), SGX.SUCCESS);
    assert.equal(e.p.kernel32.VirtualProtect(c, PAGE, W.PAGE_ENCLAVE_DECOMMIT, old), true, 'a trimmed page may be trimmed again (the tracking only)');
    assert.equal(accept(e, c, (PT.TRIM << 8) | MODIFIED), SGX.SUCCESS);
    assert.equal(e.p.kernel32.VirtualFree(c, PAGE, W.MEM_DECOMMIT), true);
  });

  it('a page keeps a translation while the enclave must accept through it: PAGE_NOACCESS restricts the EPCM to nothing with the PTE read-only; a page whose PTE was removed (NO_CHANGE) is mapped again when trimmed', () => {
    const e = sgx2();
    const a = acceptedPage(e, 0x1_0000), b = acceptedPage(e, 0x1_1000);
    const old = { value: 0 };
    assert.equal(e.p.kernel32.VirtualProtect(a, PAGE, W.PAGE_NOACCESS, old), true);
    const x = epcm(e, a);
    assert.deepEqual([x.r, x.w, x.x, x.pr], [false, false, false, true]);
    assert.equal(e.p.process.pageTable.lookup(a / PAGE)!.flags, PTE.U | PTE.NX);
    assert.equal(accept(e, a, (PT.REG << 8) | PR), SGX.SUCCESS);
    assert.equal(e.p.kernel32.VirtualProtect(b, PAGE, (W.PAGE_NOACCESS | W.PAGE_ENCLAVE_NO_CHANGE) >>> 0, old), true);
    assert.equal(e.p.process.pageTable.lookup(b / PAGE), null);
    assert.equal(e.p.kernel32.VirtualProtect(b, PAGE, W.PAGE_ENCLAVE_DECOMMIT, old), true);
    assert.equal(old.value, W.PAGE_NOACCESS);
    assert.equal(accept(e, b, (PT.TRIM << 8) | MODIFIED), SGX.SUCCESS);
    assert.equal(e.p.kernel32.VirtualFree(b, PAGE, W.MEM_DECOMMIT), true);
  });

  it('a trimmed page can be evicted (EWB takes PT_TRIM) and is loaded back to be removed; DeleteEnclave forgets the pages still trimmed', () => {
    const e = sgx2(W.ENCLAVE_TYPE_SGX2, true);
    const a = acceptedPage(e, 0x1_0000), b = acceptedPage(e, 0x1_1000);
    const old = { value: 0 };
    assert.equal(e.p.kernel32.VirtualProtect(a, 2 * PAGE, W.PAGE_ENCLAVE_DECOMMIT, old), true);
    assert.equal(accept(e, a, (PT.TRIM << 8) | MODIFIED), SGX.SUCCESS);
    const enc = e.p.kernel.enclaves[0]!;
    assert.equal(e.p.kernel.pager.evict(enc, a), 'evicted');
    assert.equal(e.p.kernel32.VirtualFree(a, PAGE, W.MEM_DECOMMIT), true);
    assert.equal(enc.pages.has(a) || enc.evicted.has(a), false);
    assert.deepEqual([...enc.trimmed], [b]);
    H.teardown(e.p);
    assert.equal(enc.trimmed.size, 0);
  });

  it('a VirtualFree over pages whose trim is accepted, then one whose is not: the first removed, then STATUS_INVALID_PAGE_PROTECTION; the whole enclave (size 0) is refused unless every page is trimmed', () => {
    const e = sgx2();
    const a = acceptedPage(e, 0x1_0000), b = acceptedPage(e, 0x1_1000);
    const old = { value: 0 };
    assert.equal(e.p.kernel32.VirtualProtect(a, 2 * PAGE, W.PAGE_ENCLAVE_DECOMMIT, old), true);
    assert.equal(accept(e, a, (PT.TRIM << 8) | MODIFIED), SGX.SUCCESS);
    assert.deepEqual(H.observe(e.p, () => e.p.kernel32.VirtualFree(a, 2 * PAGE, W.MEM_DECOMMIT)), failed(87, W.STATUS_INVALID_PAGE_PROTECTION));
    const enc = e.p.kernel.enclaves[0]!;
    assert.equal(enc.pages.has(a), false);
    assert.equal(enc.pages.has(b), true);
    assert.deepEqual(H.observe(e.p, () => e.p.kernel32.VirtualFree(e.base, 0, W.MEM_DECOMMIT)), failed(87, W.STATUS_INVALID_PARAMETER));
  });
});

describe('VirtualProtect of private memory', () => {
  it('reports PAGE_EXECUTE as it was given (its PTE is PAGE_EXECUTE_READ\'s)', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k = p.kernel32;
    const a = k.VirtualAlloc(0, PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_EXECUTE);
    const old = { value: 0 };
    assert.equal(k.VirtualProtect(a, PAGE, W.PAGE_EXECUTE_READ, old), true);
    assert.equal(old.value, W.PAGE_EXECUTE);
    assert.equal(k.VirtualProtect(a, PAGE, W.PAGE_EXECUTE, old), true);
    assert.equal(old.value, W.PAGE_EXECUTE_READ);
    assert.equal(k.VirtualProtect(a, PAGE, W.PAGE_READONLY, old), true);
    assert.equal(old.value, W.PAGE_EXECUTE);
  });

});

describe('VirtualProtect of private memory, refusals', () => {
  it('changes the PTEs of committed pages and reports the first page\'s protection; uncommitted pages, two reservations or a bad protection are refused', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k = p.kernel32;
    const a = k.VirtualAlloc(0, 2 * PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
    const old = { value: 0 };
    assert.equal(k.VirtualProtect(a + 10, PAGE, W.PAGE_READONLY, old), true, 'both pages (a byte of each)');
    assert.equal(old.value, W.PAGE_READWRITE);
    assert.throws(() => p.process.write(a + PAGE, new Uint8Array([1])));
    assert.equal(k.VirtualProtect(a, 2 * PAGE, W.PAGE_NOACCESS, old), true);
    assert.equal(old.value, W.PAGE_READONLY);
    assert.throws(() => p.process.read(a, 1));
    assert.equal(k.VirtualProtect(a, PAGE, W.PAGE_EXECUTE_READWRITE, old), true);
    assert.equal(old.value, W.PAGE_NOACCESS);
    const r = k.VirtualAlloc(0, 2 * PAGE, W.MEM_RESERVE, W.PAGE_READWRITE);
    assert.deepEqual(H.observe(p, () => k.VirtualProtect(r, PAGE, W.PAGE_READONLY, old)), failed(487, W.STATUS_NOT_COMMITTED));
    assert.deepEqual(H.observe(p, () => k.VirtualProtect(a, 0x20000, W.PAGE_READONLY, old)), failed(487, W.STATUS_CONFLICTING_ADDRESSES));
    assert.deepEqual(H.observe(p, () => k.VirtualProtect(a, PAGE, W.PAGE_WRITECOPY, old)), failed(87, W.STATUS_INVALID_PAGE_PROTECTION));
    assert.deepEqual(H.observe(p, () => k.VirtualProtect(0x7100_0000, PAGE, W.PAGE_READONLY, old)), failed(487, W.STATUS_CONFLICTING_ADDRESSES));
    assert.equal(typeof k.GetProcAddress(0, 'VirtualProtect'), 'function');
  });
});
