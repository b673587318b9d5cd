/**
 * The processor's entry-time and walk caches must give exactly the uncached answer: each test
 * warms a cache, changes one thing its key covers, and expects the fault (or the data) an
 * uncached walk gives. (Written with a review of the caches, each against a mutant that drops one
 * part of a key.)
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ENCLU, ENCLS, SGX, VECTOR, PageTable, PTE, ArchFault, newRegisters, type ExitInfo, type Registers } from '../../src/arch/index.js';
import { newKernel, buildEnclave, AEP, HOST_RIP } from '../helpers/enclave.js';
import { assertFault } from '../helpers/assert.js';

const enc = new TextEncoder();

describe('entry and walk caches', () => {
  test('EENTER after a cached entry: a non-canonical AEP is still #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assert.equal(e.enter(0).exit.reason, 'eexit');
    assertFault(() => k.enclu(ENCLU.EENTER, { rbx: e.tcs(0), rcx: 2 ** 47 }), VECTOR.GP);
  });

  test('EENTER after a cached entry: the TCS unmapped in the same page table is #PF', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assert.equal(e.enter(0).exit.reason, 'eexit');
    k.userPt.unmap(e.tcs(0) / 4096);
    assertFault(() => e.enter(0), VECTOR.PF);
  });

  test('EENTER after a cached entry: another page table (same generation count) without the TCS is #PF', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assert.equal(e.enter(0).exit.reason, 'eexit');
    const pt2 = new PageTable('other');
    for (const [v, t] of k.userPt.entries()) if (v * 4096 !== e.tcs(0)) pt2.map(v, t.pfn, t.flags);
    while (pt2.generation < k.userPt.generation) pt2.protect([...pt2.entries()][0]![0], [...pt2.entries()][0]![1].flags);
    const lp = k.proc.lps[1]!;
    lp.cpl = 3; lp.cr3 = pt2;
    assertFault(() => lp.enclu(ENCLU.EENTER, newRegisters({ rbx: e.tcs(0), rcx: AEP, rip: HOST_RIP })), VECTOR.PF);
  });

  test('EENTER after a cached entry: a reserved TCS.FLAGS bit set by EDBGWR is #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assert.equal(e.enter(0).exit.reason, 'eexit');
    assert.equal(k.edbgwr(e.frame(e.tcs(0)) + 8, 2n), SGX.SUCCESS);
    assertFault(() => e.enter(0), VECTOR.GP);
  });

  test('EENTER after a cached entry: an EREMOVEd TCS is #PF', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assert.equal(e.enter(0).exit.reason, 'eexit');
    assert.equal(k.encls(ENCLS.EREMOVE, 0, e.frame(e.tcs(0))), SGX.SUCCESS);
    assertFault(() => e.enter(0), VECTOR.PF);
  });

  test('EENTER after a cached entry on another LP: a tampered TCS is #MC (integrity) before #GP (busy)', () => {
    const { k, engine } = newKernel({ logicalProcessors: 4 } as never);
    const e = buildEnclave(k);
    assert.equal(e.enter(0, { lp: 2 }).exit.reason, 'eexit');
    let inner: unknown = null;
    const op = engine.on((ctx) => {
      const pa = e.frame(e.tcs(0));
      k.proc.memory.dramWrite(pa + 1000, Uint8Array.of(1, 2, 3));
      try { e.enter(0, { lp: 2 }); } catch (err) { inner = err; }
      return ctx.regs.rcx;
    });
    try { e.enter(op); } catch { /* lock-up */ }
    assert.ok(inner instanceof ArchFault, String(inner));
    assert.equal((inner as ArchFault).vector, VECTOR.MC, (inner as Error).message);
  });

  test('enclave-mode RAM access: a CR3 switch by the AEX handler is seen by the retry and by later accesses', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const one = k.hostAlloc(4096), two = k.hostAlloc(4096);
    // pt2: the same address space, but one.la -> two.pa writable, and enclave page data(1) not mapped
    const pt2 = new PageTable('pt2');
    for (const [v, t] of k.userPt.entries()) if (v * 4096 !== e.data(1)) pt2.map(v, t.pfn, t.flags);
    pt2.map(one.la / 4096, two.pa / 4096, PTE.U | PTE.W);
    k.mapUser(one.la, one.pa, false); // read-only in the process's own table
    const lp = k.proc.lps[1]!;
    let n = 0;
    const handler = (x: ExitInfo, _r: Registers): number => {
      if (x.reason !== 'aex') return 0;
      n++;
      if (n === 1) { lp.cr3 = pt2; return ENCLU.ERESUME; }      // kernel switches tables while the thread is out
      if (n === 2) { lp.cr3 = k.userPt; return ENCLU.ERESUME; } // and back
      return 0;
    };
    const op = engine.on((ctx) => {
      ctx.write(one.la, enc.encode('AAAA'));     // #PF under userPt (RO) -> AEX 1 -> resumed under pt2 -> writes two.pa
      ctx.read(e.data(1), 1);                    // not mapped in pt2 -> AEX 2 -> resumed under userPt
      ctx.write(one.la + 8, enc.encode('BBBB')); // userPt maps one.la read-only -> must #PF (AEX 3)
      return ctx.regs.rcx;
    });
    e.enter(op, { handler });
    assert.ok(n >= 3, `the last write under the read-only mapping raised no #PF (AEX count ${n})`);
    assert.equal(new TextDecoder().decode(k.proc.memory.readPhysical(two.pa, 12)), 'AAAA\0\0\0\0\0\0\0\0');
  });

  test('ENCLS operand walked for a read through a read-only mapping: a write through it is #PF', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const a = e.frame(e.data(0));
    const pt = new PageTable('ro kernel');
    const la = 0x7000_0000;
    pt.map(la / 4096, a / 4096, 0); // present, not writable
    const lp = k.proc.lps[0]!;
    k.kernel(() => {
      lp.cr3 = pt;
      assert.equal(lp.encls(ENCLS.EDBGRD, 0, la), SGX.SUCCESS);
      assertFault(() => lp.encls(ENCLS.EDBGWR, 0, la), VECTOR.PF);
    });
  });

  test('enclave-mode RAM access: the next entry under another page table with an equal generation walks that table', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const one = k.hostAlloc(4096), two = k.hostAlloc(4096);
    k.proc.memory.writePhysical(one.pa, enc.encode('one'));
    k.proc.memory.writePhysical(two.pa, enc.encode('two'));
    let got = '';
    const op = engine.on((ctx) => { got = new TextDecoder().decode(ctx.read(one.la, 3)); return ctx.regs.rcx; });
    e.enter(op);
    assert.equal(got, 'one');
    const pt2 = new PageTable('pt2');
    for (const [v, t] of k.userPt.entries()) pt2.map(v, v * 4096 === one.la ? two.pa / 4096 : t.pfn, t.flags);
    while (pt2.generation < k.userPt.generation) pt2.map(one.la / 4096, two.pa / 4096, PTE.U | PTE.W);
    assert.equal(pt2.generation, k.userPt.generation);
    const lp = k.proc.lps[1]!;
    lp.cpl = 3; lp.cr3 = pt2;
    lp.enclu(ENCLU.EENTER, newRegisters({ rbx: e.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: op }));
    assert.equal(got, 'two');
  });
});
