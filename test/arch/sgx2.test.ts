/**
 * SGX2 (specs/sgx.md §6.12–6.14, §7.6–7.8): EAUG, EMODPR, EMODT from the kernel; EACCEPT,
 * EACCEPTCOPY, EMODPE from the enclave. Each leaf's status codes and faults, failures leaving the
 * processor unchanged, the flows an enclave runtime uses (add a page after EINIT, restrict
 * permissions, trim and remove a page from a live enclave, turn a page into a TCS, add code
 * without ever having a W+X page), and the tracking EACCEPT needs after EMODPR/EMODT.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeU64le, toHex } from '../../src/lib/index.js';
import { ENCLS, SGX, PT, VECTOR, PAGEINFO, TCS, type EnclaveContext } from '../../src/arch/index.js';
import { TestKernel } from '../helpers/kernel.js';
import { newKernel, buildEnclave, withStepHook, EnclaveBuilder, type BuiltEnclave } from '../helpers/enclave.js';
import { assertFault, assertUnchanged } from '../helpers/assert.js';

const GP = VECTOR.GP, PF = VECTOR.PF;
const R = 1, W = 2, X = 4, PENDING = 8, MODIFIED = 16, PR = 32;
const flags = (pt: number, bits: number) => (pt << 8) | bits;

function sgx2(opts: Parameters<typeof buildEnclave>[1] = {}) {
  const { k, engine } = newKernel({ features: { sgx2: true } });
  const e = buildEnclave(k, { dataPages: 2, ...opts });
  return { k, engine, e };
}

function secinfoAt(k: TestKernel, f: number): number {
  const b = new Uint8Array(64);
  writeU64le(b, 0, f);
  return k.alloc(64, b);
}

/** EAUG at enclave address `la` into a fresh EPC page (mapped at `la`); the status and the page. */
function eaug(k: TestKernel, e: BuiltEnclave, la: number, pi: Partial<{ SRCPGE: bigint; SECINFO: bigint; SECS: bigint; LINADDR: bigint }> = {}, epc = k.epcPage()): { status: number; epc: number } {
  const p = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(la), SRCPGE: 0n, SECINFO: 0n, SECS: BigInt(e.secs), ...pi }));
  const status = k.encls(ENCLS.EAUG, p, epc);
  if (status === SGX.SUCCESS) k.mapUser(la, epc);
  return { status, epc };
}

/** Run `f` inside the enclave (TCS 0 unless given); the exit and what `f` returned. */
function inside<T>(e: BuiltEnclave, engine: ReturnType<typeof newKernel>['engine'], f: (ctx: EnclaveContext) => T, tcs = 0): { exit: ReturnType<BuiltEnclave['enter']>['exit']; value: T | undefined } {
  let value: T | undefined;
  const op = engine.on((ctx) => {
    value = f(ctx);
    return ctx.regs.rcx;
  });
  const exit = e.enter(op, { tcs }).exit;
  if (exit.reason === 'aex') assert.equal(e.resume({ tcs }).exit.reason, 'eexit'); // (the frame given up: CSSA back)
  return { exit, value };
}

/** The SECINFO for an in-enclave leaf, written to the enclave's scratch page (data page 0), at its start. */
function secinfoInside(ctx: EnclaveContext, e: BuiltEnclave, f: number): number {
  const b = new Uint8Array(64);
  writeU64le(b, 0, f);
  ctx.write(e.data(0), b);
  return e.data(0);
}

function evictReload(k: TestKernel, e: BuiltEnclave, la: number): number {
  const va = k.epcPage();
  assert.equal(k.encls(ENCLS.EPA, PT.VA, va), SGX.SUCCESS);
  assert.equal(k.encls(ENCLS.EBLOCK, 0, e.frame(la)), SGX.SUCCESS);
  assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
  const src = k.alloc(4096), pcmd = k.alloc(4096);
  const pi = k.alloc(32, PAGEINFO.encode({ SRCPGE: BigInt(src), SECINFO: BigInt(pcmd) }));
  assert.equal(k.encls(ENCLS.EWB, pi, e.frame(la), va), SGX.SUCCESS);
  const dest = k.epcPage();
  const pi2 = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(la), SRCPGE: BigInt(src), SECINFO: BigInt(pcmd), SECS: BigInt(e.secs) }));
  assert.equal(k.encls(ENCLS.ELDU, pi2, dest, va), SGX.SUCCESS);
  k.mapUser(la, dest);
  e.b.frames.set(la - e.base, dest);
  return dest;
}

describe('EAUG (§6.12)', () => {
  test('adds a zero PT_REG RW page, PENDING: unusable until the enclave EACCEPTs it, then read and written; MRENCLAVE unchanged', () => {
    const { k, engine, e } = sgx2({ tcsCount: 2 });
    const before = toHex(k.proc.inspect.enclaves()[0]!.mrenclave!);
    const { status, epc } = eaug(k, e, e.spare);
    assert.equal(status, SGX.SUCCESS);
    const x = k.proc.inspect.epcm(epc);
    assert.deepEqual([x.valid, x.pageType, x.r, x.w, x.x, x.pending, x.linAddr, x.owner], [true, PT.REG, true, true, false, true, e.spare, e.secs]);
    const early = inside(e, engine, (ctx) => ctx.read(e.spare, 8)).exit;
    assert.deepEqual([early.reason, early.vector, early.address], ['aex', PF, e.spare], 'a PENDING page cannot be accessed');
    const acc = inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.REG, R | W | PENDING)), e.spare), 1);
    assert.equal(acc.value, SGX.SUCCESS);
    assert.equal(k.proc.inspect.epcm(epc).pending, false);
    const rw = inside(e, engine, (ctx) => {
      const z = ctx.read(e.spare, 16);
      ctx.write(e.spare, Uint8Array.of(1, 2, 3));
      return toHex(z) + toHex(ctx.read(e.spare, 3));
    }, 1);
    assert.equal(rw.value, '00'.repeat(16) + '010203');
    assert.equal(toHex(k.proc.inspect.enclaves()[0]!.mrenclave!), before);
  });

  test('faults, each changing nothing: alignment, SRCPGE or SECINFO set, a valid target, PAGEINFO.SECS not a SECS, LINADDR outside ELRANGE; an uninitialized enclave; no SGX2', () => {
    const { k, e } = sgx2();
    const cases: [string, () => unknown, number, { address?: number; sgx?: boolean }?][] = [
      ['LINADDR unaligned', () => eaug(k, e, e.spare + 8), GP],
      ['SRCPGE set', () => eaug(k, e, e.spare, { SRCPGE: BigInt(k.alloc(4096)) }), GP],
      ['SECINFO set', () => eaug(k, e, e.spare, { SECINFO: BigInt(secinfoAt(k, flags(PT.REG, R | W))) }), GP],
      ['a valid target', () => eaug(k, e, e.spare, {}, e.frame(e.data(1))), PF, { address: e.frame(e.data(1)), sgx: true }],
      ['PAGEINFO.SECS a REG page', () => eaug(k, e, e.spare, { SECS: BigInt(e.frame(e.data(1))) }), PF, { address: e.frame(e.data(1)), sgx: true }],
      ['LINADDR outside ELRANGE', () => eaug(k, e, e.base + 0x1000_0000), GP],
    ];
    for (const [name, f, v, x] of cases) {
      try {
        assertUnchanged(k, () => assertFault(f, v, x ?? {}));
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
    }
    const p = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(e.spare), SECS: BigInt(e.secs) }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EAUG, p + 8, k.epcPage()), GP));
    // Before EINIT.
    const b = new EnclaveBuilder(k, { dataPages: 1, marker: 'uninit' });
    assert.equal(b.create(), SGX.SUCCESS);
    const q = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(b.base + b.spareOffset), SECS: BigInt(b.secs) }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EAUG, q, k.epcPage()), GP));
    // Without SGX2 the leaf is unsupported.
    const plain = newKernel().k;
    assertFault(() => plain.encls(ENCLS.EAUG, 0, plain.epcPage()), GP);
  });
});

describe('EMODPR (§6.13) and EACCEPT of restricted permissions', () => {
  test('narrows the permissions (PR set); EACCEPT needs the tracking: SGX_NOT_TRACKED before ETRACK, SUCCESS from a thread that entered after it; writes then fault', () => {
    const { k, engine, e } = sgx2({ tcsCount: 2 });
    const d = e.frame(e.data(1));
    assert.equal(k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), d), SGX.SUCCESS);
    const x = k.proc.inspect.epcm(d);
    assert.deepEqual([x.r, x.w, x.x], [true, false, false]);
    const accept = () => inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.REG, R | PR)), e.data(1))).value;
    assert.equal(accept(), SGX.NOT_TRACKED, 'no ETRACK since the EMODPR');
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    assert.equal(accept(), SGX.SUCCESS);
    const w = inside(e, engine, (ctx) => ctx.write(e.data(1), Uint8Array.of(1))).exit;
    assert.deepEqual([w.reason, w.vector], ['aex', PF]);
  });

  test('EACCEPT from a thread that was inside when the kernel restricted the page: SGX_NOT_TRACKED, even after ETRACK', () => {
    const { k, engine, e } = sgx2();
    let status = -1, acted = false;
    const op = engine.on((ctx) => {
      ctx.step(); // the kernel acts here (another logical processor)
      status = ctx.eaccept(secinfoInside(ctx, e, flags(PT.REG, R | PR)), e.data(1));
      return ctx.regs.rcx;
    });
    withStepHook(k, (lp) => {
      if (lp.index !== 1 || acted) return;
      acted = true;
      assert.equal(k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), e.frame(e.data(1))), SGX.SUCCESS);
      assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    }, () => e.enter(op));
    assert.equal(status, SGX.NOT_TRACKED);
  });

  test('codes and faults, each changing nothing: a PENDING page → SGX_PAGE_NOT_MODIFIABLE; a TCS → #PF; W without R, a reserved bit → #GP; an invalid page → #PF', () => {
    const { k, e } = sgx2();
    const pending = eaug(k, e, e.spare).epc;
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), pending), SGX.PAGE_NOT_MODIFIABLE));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), e.frame(e.tcs(0))), PF, { sgx: true }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, W)), e.frame(e.data(1))), GP));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R) | PENDING), e.frame(e.data(1))), GP));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), k.epcPage()), PF, { sgx: true }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)) + 8, e.frame(e.data(1))), GP));
  });
});

describe('EMODT (§6.14): trimming a page, and a page made a TCS', () => {
  test('REG → TRIM: the page is unusable, EACCEPT (after ETRACK) clears MODIFIED, and EREMOVE frees it while a thread is inside', () => {
    const { k, engine, e } = sgx2();
    const d = e.frame(e.data(1));
    assert.equal(k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TRIM, 0)), d), SGX.SUCCESS);
    const x = k.proc.inspect.epcm(d);
    assert.deepEqual([x.pageType, x.r, x.w, x.x, x.modified], [PT.TRIM, false, false, false, true]);
    assert.equal(inside(e, engine, (ctx) => ctx.read(e.data(1), 8)).exit.vector, PF, 'a trimmed page is not accessible');
    assert.equal(k.encls(ENCLS.EREMOVE, 0, d), SGX.SUCCESS, 'no thread inside: removed');
    // With a thread inside: only once the enclave has accepted the trim.
    const { k: k2, engine: engine2, e: e2 } = sgx2();
    const d2 = e2.frame(e2.data(1));
    assert.equal(k2.encls(ENCLS.EMODT, secinfoAt(k2, flags(PT.TRIM, 0)), d2), SGX.SUCCESS);
    assert.equal(k2.encls(ENCLS.ETRACK, 0, e2.secs), SGX.SUCCESS);
    let removed = -1, accepted = false;
    const op = engine2.on((ctx) => {
      assert.equal(ctx.eaccept(secinfoInside(ctx, e2, flags(PT.TRIM, MODIFIED)), e2.data(1)), SGX.SUCCESS);
      accepted = true;
      ctx.step();
      return ctx.regs.rcx;
    });
    withStepHook(k2, (lp) => {
      if (lp.index === 1 && accepted && removed === -1) removed = k2.encls(ENCLS.EREMOVE, 0, d2);
    }, () => e2.enter(op));
    assert.equal(removed, SGX.SUCCESS, 'an accepted trim is removed while a thread is inside');
  });

  test('REG → TCS: after EACCEPT the page is a TCS a thread can enter through; a page that is no valid TCS image is refused (#GP)', () => {
    const { k, engine, e } = sgx2({ nssa: 1 });
    const la = e.data(1);
    const image = TCS.encode({ OSSA: BigInt(e.ssa(0, 0) - e.base), NSSA: 1, OENTRY: BigInt(e.code - e.base) });
    // The enclave writes the TCS image into its own page, the kernel changes its type.
    inside(e, engine, (ctx) => ctx.write(la, image));
    assert.equal(k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TCS, 0)), e.frame(la)), SGX.SUCCESS);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    assert.equal(inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.TCS, MODIFIED)), la)).value, SGX.SUCCESS);
    let seen = 0;
    const op = engine.on((ctx) => {
      seen = ctx.tcsAddress;
      return ctx.regs.rcx;
    });
    assert.equal(e.k.enclu(2, { rbx: la, rcx: 0x7fff_f000, rip: 0x7ffe_0000, rdi: op }).exit.reason, 'eexit');
    assert.equal(seen, la);
    // A TCS image with AEP set is not one EACCEPT accepts.
    const { k: k2, engine: engine2, e: e2 } = sgx2();
    const bad = TCS.encode({ OSSA: BigInt(e2.ssa(0, 0) - e2.base), NSSA: 1, OENTRY: BigInt(e2.code - e2.base), AEP: 0x1000n });
    inside(e2, engine2, (ctx) => ctx.write(e2.data(1), bad));
    assert.equal(k2.encls(ENCLS.EMODT, secinfoAt(k2, flags(PT.TCS, 0)), e2.frame(e2.data(1))), SGX.SUCCESS);
    assert.equal(k2.encls(ENCLS.ETRACK, 0, e2.secs), SGX.SUCCESS);
    const r = inside(e2, engine2, (ctx) => ctx.eaccept(secinfoInside(ctx, e2, flags(PT.TCS, MODIFIED)), e2.data(1))).exit;
    assert.deepEqual([r.reason, r.vector], ['aex', GP]);
  });

  test('codes and faults, each changing nothing: the new type REG → #GP; a TCS made TCS, a SECS, a page trimmed already → #PF; a PENDING page → SGX_PAGE_NOT_MODIFIABLE', () => {
    const { k, e } = sgx2();
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.REG, 0)), e.frame(e.data(1))), GP));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TCS, 0)), e.frame(e.tcs(0))), PF, { sgx: true }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TRIM, 0)), e.secs), PF, { sgx: true }));
    assert.equal(k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TRIM, 0)), e.frame(e.data(1))), SGX.SUCCESS);
    // (the type check comes before the state check: §6.14)
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TRIM, 0)), e.frame(e.data(1))), PF, { sgx: true }));
    const pending = eaug(k, e, e.spare).epc;
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TRIM, 0)), pending), SGX.PAGE_NOT_MODIFIABLE));
    assert.equal(k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TRIM, 0)), e.frame(e.tcs(0))), SGX.SUCCESS, 'a TCS may be trimmed');
  });
});

describe('SGX2 states through EPC paging', () => {
  test('a page EMODT made a TCS, evicted and loaded back before the enclave accepted it: still MODIFIED, then accepted and entered', () => {
    const { k, engine, e } = sgx2({ nssa: 1 });
    const la = e.data(1);
    inside(e, engine, (ctx) => ctx.write(la, TCS.encode({ OSSA: BigInt(e.ssa(0, 0) - e.base), NSSA: 1, OENTRY: BigInt(e.code - e.base) })));
    assert.equal(k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TCS, 0)), e.frame(la)), SGX.SUCCESS);
    const dest = evictReload(k, e, la);
    const x = k.proc.inspect.epcm(dest);
    assert.deepEqual([x.pageType, x.modified], [PT.TCS, true]);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    assert.equal(inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.TCS, MODIFIED)), la)).value, SGX.SUCCESS);
    assert.equal(e.k.enclu(2, { rbx: la, rcx: 0x7fff_f000, rip: 0x7ffe_0000, rdi: 0 }).exit.reason, 'eexit');
  });

  test('a PENDING page evicted and loaded back is still PENDING (unusable until accepted)', () => {
    const { k, engine, e } = sgx2({ tcsCount: 2 });
    const { epc } = eaug(k, e, e.spare);
    e.b.frames.set(e.spare - e.base, epc);
    const dest = evictReload(k, e, e.spare);
    assert.equal(k.proc.inspect.epcm(dest).pending, true);
    assert.equal(inside(e, engine, (ctx) => ctx.read(e.spare, 8)).exit.vector, PF);
    assert.equal(inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.REG, R | W | PENDING)), e.spare), 1).value, SGX.SUCCESS);
  });
});

describe('SGX2 and tracking, integrity, inspection', () => {
  test('EACCEPT after EMODPR and a completed ETRACK still succeeds when the page was evicted and loaded back in between; EWB after EBLOCK and ETRACK still succeeds when EMODPR came between', () => {
    {
      const { k, engine, e } = sgx2({ tcsCount: 2 });
      const la = e.data(1);
      assert.equal(k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), e.frame(la)), SGX.SUCCESS);
      assert.equal(k.proc.inspect.epcm(e.frame(la)).pr, true);
      assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
      const dest = evictReload(k, e, la);
      assert.equal(inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.REG, R | PR)), la)).value, SGX.SUCCESS);
      assert.equal(k.proc.inspect.epcm(dest).pr, false, 'EACCEPT cleared PR');
    }
    {
      const { k, e } = sgx2();
      const epc = e.frame(e.data(1));
      assert.equal(k.encls(ENCLS.EBLOCK, 0, epc), SGX.SUCCESS);
      assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
      assert.equal(k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), epc), SGX.SUCCESS);
      const va = k.epcPage();
      assert.equal(k.encls(ENCLS.EPA, PT.VA, va), SGX.SUCCESS);
      const pi = k.alloc(32, PAGEINFO.encode({ SRCPGE: BigInt(k.alloc(4096)), SECINFO: BigInt(k.alloc(4096)) }));
      assert.equal(k.encls(ENCLS.EWB, pi, epc, va), SGX.SUCCESS);
    }
  });

  test('a TCS trimmed (EMODT) is no longer listed as a TCS of its enclave', () => {
    const { k, e } = sgx2({ tcsCount: 2 });
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs.length, 2);
    assert.equal(k.encls(ENCLS.EMODT, secinfoAt(k, flags(PT.TRIM, 0)), e.frame(e.tcs(1))), SGX.SUCCESS);
    assert.deepEqual(k.proc.inspect.enclaves()[0]!.tcs.map((t) => t.linAddr), [e.tcs(0)]);
  });

  test('a PENDING page tampered with in DRAM and then overwritten whole by EACCEPTCOPY no longer counts as tampered: once it is removed, entries work', () => {
    const { k, engine, e } = sgx2({ tcsCount: 2 });
    const { epc } = eaug(k, e, e.spare);
    let tampered = false;
    const op = engine.on((ctx) => {
      ctx.step(); // the DMA write happens here, while the thread is inside
      assert.equal(ctx.eacceptcopy(secinfoInside(ctx, e, flags(PT.REG, R | W)), e.spare, e.data(1)), SGX.SUCCESS);
      return ctx.regs.rcx;
    });
    withStepHook(k, () => {
      if (tampered) return;
      tampered = true;
      k.proc.memory.dramWrite(epc, new Uint8Array(64).fill(0x42));
    }, () => assert.equal(e.enter(op).exit.reason, 'eexit'));
    assert.equal(k.encls(ENCLS.EREMOVE, 0, epc), SGX.SUCCESS);
    assert.equal(e.enter(0).exit.reason, 'eexit');
    assert.equal(k.proc.locked, null);
  });
});

describe('EACCEPT (§7.6): what it refuses', () => {
  test('SECINFO that does not match the EPCM → SGX_PAGE_ATTRIBUTES_MISMATCH; a combination it does not accept, a reserved bit, a misaligned page → #GP; a page of no EPC, of another enclave → #PF', () => {
    const { k, engine, e } = sgx2();
    eaug(k, e, e.spare);
    const other = buildEnclave(k, { dataPages: 1, marker: 'other' });
    const status = (f: number, la: number) => inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, f), la));
    assert.equal(status(flags(PT.REG, R | PENDING), e.spare).value, SGX.PAGE_ATTRIBUTES_MISMATCH, 'permissions');
    assert.equal(status(flags(PT.REG, R | W | PENDING), e.data(1)).value, SGX.PAGE_ATTRIBUTES_MISMATCH, 'a page that is not PENDING');
    const faults: [string, number, number, number][] = [
      ['PENDING and MODIFIED', flags(PT.REG, R | W | PENDING | MODIFIED), e.spare, GP],
      ['TRIM without MODIFIED', flags(PT.TRIM, 0), e.spare, GP],
      ['a reserved bit', flags(PT.REG, R | W | PENDING) | 0x40, e.spare, GP],
      ['a misaligned page', flags(PT.REG, R | W | PENDING), e.spare + 8, GP],
    ];
    for (const [name, f, la, v] of faults) assert.equal(status(f, la).exit.vector, v, name);
    // A page of the other enclave mapped into this one's ELRANGE (a hostile kernel).
    const la = e.spare + 4096;
    k.mapUser(la, other.frame(other.data(0)));
    const x = status(flags(PT.REG, R | W | PENDING), la).exit;
    assert.deepEqual([x.reason, x.vector, x.address], ['aex', PF, la]);
    // A RAM frame there.
    k.mapUser(la, k.alloc(4096));
    assert.equal(status(flags(PT.REG, R | W | PENDING), la).exit.vector, PF);
  });

  test('without SGX2, EACCEPT is #GP inside the enclave', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { dataPages: 2 });
    const x = inside(e, engine, (ctx) => ctx.eaccept(e.data(0), e.data(1))).exit;
    assert.deepEqual([x.reason, x.vector], ['aex', GP]);
  });
});

describe('EACCEPTCOPY (§7.7) and EMODPE (§7.8)', () => {
  test('EACCEPTCOPY: code copied into an EAUGed page with R+X (it never was W+X), then fetched', () => {
    const { k, engine, e } = sgx2();
    const dst = eaug(k, e, e.spare).epc;
    const code = new Uint8Array(4096).fill(0x90);
    const r = inside(e, engine, (ctx) => {
      ctx.write(e.data(1), code);
      return ctx.eacceptcopy(secinfoInside(ctx, e, flags(PT.REG, R | X)), e.spare, e.data(1));
    });
    assert.equal(r.value, SGX.SUCCESS);
    const x = k.proc.inspect.epcm(dst);
    assert.deepEqual([x.r, x.w, x.x, x.pending], [true, false, true, false]);
    assert.equal(toHex(inside(e, engine, (ctx) => ctx.fetch(e.spare, 4)).value!), '90909090');
  });

  test('EACCEPTCOPY refuses: a destination that is not PENDING (SGX_PAGE_ATTRIBUTES_MISMATCH), a source that is PENDING (#PF at RDX), W without R (#GP)', () => {
    const { k, engine, e } = sgx2();
    eaug(k, e, e.spare);
    eaug(k, e, e.spare + 4096);
    const copy = (f: number, dst: number, src: number) => inside(e, engine, (ctx) => ctx.eacceptcopy(secinfoInside(ctx, e, f), dst, src));
    assert.equal(copy(flags(PT.REG, R), e.data(1), e.data(1)).value, SGX.PAGE_ATTRIBUTES_MISMATCH);
    const x = copy(flags(PT.REG, R), e.spare, e.spare + 4096).exit;
    assert.deepEqual([x.reason, x.vector, x.address], ['aex', PF, e.spare + 4096]);
    assert.equal(copy(flags(PT.REG, W), e.spare, e.data(1)).exit.vector, GP);
    assert.equal(k.proc.inspect.epcm(e.frame(e.data(1))).pending, false);
  });

  test('EMODPE: a read-only page made writable from inside; a PENDING page → #PF; W without R on a page without R → #GP', () => {
    const { k, engine, e } = sgx2({ tcsCount: 2 });
    const d = e.frame(e.data(1));
    assert.equal(k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, R)), d), SGX.SUCCESS);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    assert.equal(inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.REG, R | PR)), e.data(1))).value, SGX.SUCCESS);
    inside(e, engine, (ctx) => ctx.emodpe(secinfoInside(ctx, e, flags(PT.REG, R | W)), e.data(1)));
    assert.equal(k.proc.inspect.epcm(d).w, true);
    assert.equal(inside(e, engine, (ctx) => ctx.write(e.data(1), Uint8Array.of(7))).exit.reason, 'eexit');
    eaug(k, e, e.spare);
    assert.equal(inside(e, engine, (ctx) => ctx.emodpe(secinfoInside(ctx, e, flags(PT.REG, R)), e.spare), 1).exit.vector, PF);
    // A page with no permissions left (EMODPR to none, accepted), then W alone.
    assert.equal(k.encls(ENCLS.EMODPR, secinfoAt(k, flags(PT.REG, 0)), d), SGX.SUCCESS);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    assert.equal(inside(e, engine, (ctx) => ctx.eaccept(secinfoInside(ctx, e, flags(PT.REG, PR)), e.data(1))).value, SGX.SUCCESS);
    assert.equal(inside(e, engine, (ctx) => ctx.emodpe(secinfoInside(ctx, e, flags(PT.REG, W)), e.data(1))).exit.vector, GP);
  });
});


describe('a WebAssembly memory that grows with accepted pages (mapMemory maximum, growMemory)', () => {
  /** An SGX2 enclave with `n` pages EAUGed from its spare address (the first `accepted` of them EACCEPTed). */
  function augmented(n: number, accepted: number) {
    const { k, engine, e } = sgx2({ size: 0x100000 });
    const epcs: number[] = [];
    for (let j = 0; j < n; j++) {
      const r = eaug(k, e, e.spare + j * 4096);
      assert.equal(r.status, SGX.SUCCESS);
      epcs.push(r.epc);
    }
    const acc = inside(e, engine, (ctx) => {
      const si = secinfoInside(ctx, e, flags(PT.REG, R | W | PENDING));
      for (let j = 0; j < accepted; j++) assert.equal(ctx.eaccept(si, e.spare + j * 4096), SGX.SUCCESS);
    });
    assert.equal(acc.exit.reason, 'eexit');
    return { k, engine, e, epcs };
  }

  test('grows by the pages that follow it: zero, the same bytes through the memory and through enclave accesses, old contents kept; the next entry checks the new pages too', () => {
    const { k, engine, e, epcs } = augmented(32, 32);
    let mem: WebAssembly.Memory | null = null;
    const seen = inside(e, engine, (ctx) => {
      const m = (mem = ctx.mapMemory(e.spare, 0x10000, { zero: true, maximum: 0x20000 }));
      new Uint8Array(m.buffer).set(enc('kept'), 0xfff0);
      ctx.growMemory(m, 0x10000);
      const v = new Uint8Array(m.buffer);
      const zero = v.subarray(0x10000).every((b) => b === 0);
      v.set(enc('grown'), 0x18000);
      return [m.buffer.byteLength, zero, dec(ctx.read(e.spare + 0x18000, 5)), dec(ctx.read(e.spare + 0xfff0, 4))];
    });
    assert.deepEqual(seen.value, [0x20000, true, 'grown', 'kept']);
    assert.equal(k.edbgrd(epcs[0x18]) & 0xffffffffffn, 0x6e776f7267n, 'the EPC page holds what the memory holds');
    assert.equal(inside(e, engine, () => 0).exit.reason, 'eexit');
    // A kernel that maps a grown page to another frame is caught at the next entry.
    k.mapUser(e.spare + 0x1c000, e.frame(e.data(1)));
    const x = e.enter(engine.on((ctx) => ctx.regs.rcx)).exit;
    assert.deepEqual([x.reason, x.vector, x.address], ['aex', PF, e.spare + 0x1c000]);
    assert.ok(mem);
  });

  test('refused, the memory unchanged: a page still PENDING or not there (#PF); past the maximum, not whole 64 KiB, a memory it did not map (#GP); mapMemory with a maximum below the size, beyond ELRANGE or not whole 64 KiB (#GP)', () => {
    const { engine, e } = augmented(32, 24);
    let mem: WebAssembly.Memory | null = null;
    assert.equal(inside(e, engine, (ctx) => void (mem = ctx.mapMemory(e.spare, 0x10000, { zero: true, maximum: 0x30000 }))).exit.reason, 'eexit');
    const m = mem!;
    const cases: [string, (ctx: EnclaveContext) => void, number, number?][] = [
      ['pages 24–31 PENDING', (ctx) => ctx.growMemory(m, 0x10000), PF, e.spare + 24 * 4096],
      ['past the maximum', (ctx) => ctx.growMemory(m, 0x30000), GP],
      ['not whole 64 KiB', (ctx) => ctx.growMemory(m, 0x1000), GP],
      ['nothing', (ctx) => ctx.growMemory(m, 0), GP],
      ['a memory it did not map', (ctx) => ctx.growMemory(new WebAssembly.Memory({ initial: 1, maximum: 2 }), 0x10000), GP],
      ['a maximum below the size', (ctx) => void ctx.mapMemory(e.data(0), 0x10000, { maximum: 0 }), GP],
      ['a maximum beyond ELRANGE', (ctx) => void ctx.mapMemory(e.spare + 0x20000, 0x10000, { maximum: 0x100000 }), GP],
      ['a maximum not whole 64 KiB', (ctx) => void ctx.mapMemory(e.spare + 0x20000, 0x10000, { maximum: 0x11000 }), GP],
    ];
    for (const [name, f, vector, address] of cases) {
      const x = inside(e, engine, f).exit;
      assert.deepEqual([x.reason, x.vector], ['aex', vector], name);
      if (address !== undefined) assert.equal(x.address, address, name);
      assert.equal(m.buffer.byteLength, 0x10000, name);
    }
    // Pages not there at all: the region [spare + 0x20000, …) was never EAUGed.
    const { engine: en2, e: e2 } = augmented(16, 16);
    const x = inside(e2, en2, (ctx) => ctx.growMemory(ctx.mapMemory(e2.spare, 0x10000, { zero: true, maximum: 0x20000 }), 0x10000)).exit;
    assert.deepEqual([x.reason, x.vector, x.address], ['aex', PF, e2.spare + 0x10000]);
  });
});

function enc(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
function dec(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}
