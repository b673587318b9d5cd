/**
 * The processor's entry-time and walk caches must give exactly the uncached answer: each test
 * warms a cache, changes one thing its key covers, and expects the fault (or the data) an
 * uncached walk gives. (Written with a review of the caches, each against a mutant that drops one
 * part of a key.)
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ENCLU, ENCLS, SGX, VECTOR, PFEC, PageTable, PTE, ArchFault, newRegisters, type ExitInfo, type Registers, type LogicalProcessor } from '../../src/arch/index.js';
import { newKernel, buildEnclave, AEP, HOST_RIP, type ScriptEngine, type BuiltEnclave } from '../helpers/enclave.js';
import type { TestKernel } from '../helpers/kernel.js';
import { assertFault } from '../helpers/assert.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Another page table for the test process: its entries without the pages at `without`, `remap`
 * mapped writable to another frame, and with `levelGeneration` the same generation and revocation counts as the
 * process's own (a cache keyed by the count but not by the table would mistake one for the other).
 */
function otherTable(k: TestKernel, o: { without?: readonly number[]; remap?: { la: number; pa: number }; levelGeneration?: boolean }): PageTable {
  const pt = new PageTable('another');
  for (const [v, t] of k.userPt.entries()) {
    if ((o.without ?? []).includes(v * 4096)) continue;
    if (o.remap && v * 4096 === o.remap.la) pt.map(v, o.remap.pa / 4096, PTE.U | PTE.W);
    else pt.map(v, t.pfn, t.flags);
  }
  if (o.levelGeneration) {
    // (The entry caches key on a table's revocations, and the walk caches on its generation: both levelled.)
    const [v, t] = pt.entries().next().value as [number, { flags: number }];
    while (PageTable.revocationsOf(pt) < PageTable.revocationsOf(k.userPt)) pt.protect(v, t.flags);
    assert.equal(PageTable.revocationsOf(pt), PageTable.revocationsOf(k.userPt));
    for (let spare = 2 ** 30; pt.generation < k.userPt.generation; spare++) pt.map(spare, 0, 0); // (a mapping where there was none moves the generation only)
    assert.equal(pt.generation, k.userPt.generation);
  }
  return pt;
}

/** EENTER of TCS 0 with RDI = `rdi` on LP1 running user code under page table `pt`. */
function enterUnder(k: TestKernel, e: BuiltEnclave, pt: PageTable, rdi = 0): ExitInfo {
  const lp = k.proc.lps[1]!;
  lp.cpl = 3;
  lp.cr3 = pt;
  return lp.enclu(ENCLU.EENTER, newRegisters({ rbx: e.tcs(0), rcx: AEP, rip: HOST_RIP, rdi }));
}

/** Two host pages holding `a` and `b`, and enclave code (`read`) that reads `a.length` bytes of the first by its linear address. */
function twoHostPages(k: TestKernel, engine: ScriptEngine, a: string, b: string) {
  const one = k.hostAlloc(4096), two = k.hostAlloc(4096);
  k.proc.memory.writePhysical(one.pa, enc.encode(a));
  k.proc.memory.writePhysical(two.pa, enc.encode(b));
  let got = '';
  const read = engine.on((ctx) => {
    got = dec.decode(ctx.read(one.la, a.length));
    return ctx.regs.rcx;
  });
  return { one, two, read, got: () => got };
}

/**
 * Enclaves A and B built at one base address (in different page tables, as two processes could
 * have them): the process's table maps B there, `ptA` maps A; their TCS 0 share a linear address.
 */
function twoAtOneAddress(k: TestKernel): { a: BuiltEnclave; b: BuiltEnclave; ptA: PageTable } {
  const a = buildEnclave(k);
  const ptA = otherTable(k, {});
  const b = buildEnclave(k, { base: a.base });
  assert.equal(b.tcs(0), a.tcs(0));
  return { a, b, ptA };
}

/** Every TCS of every enclave is idle, with CSSA 0 (nothing left inside or half-resumed). */
/**
 * An exit handler that answers the first exit (which must be `first`) and the next one with `leaf`,
 * each time after switching CR3 and setting the registers of its step; after them it gives up.
 */
function switchingTables(lp: LogicalProcessor, first: ExitInfo['reason'], leaf: number, steps: readonly { cr3: PageTable; regs: Partial<Registers> }[]): (x: ExitInfo, r: Registers) => number {
  let n = 0;
  return (x, r) => {
    const step = steps[n];
    if (step === undefined) return 0;
    if (n++ === 0) assert.equal(x.reason, first);
    lp.cr3 = step.cr3;
    Object.assign(r, step.regs);
    return leaf;
  };
}

function assertAllIdle(k: TestKernel): void {
  assert.ok(k.proc.inspect.enclaves().every((i) => i.tcs.every((t) => t.state === 'idle' && t.cssa === 0)));
}

describe('entry and walk caches', () => {
  test('the page table\'s cache: a page number no entry can have (−1, fractional, NaN) is never present, even after its slot was used', () => {
    const pt = new PageTable('slots');
    for (const v of [-1, 255.5, NaN, -256]) assert.equal(pt.entry(v), -1, `fresh table, vpn ${v}`);
    pt.map(255, 0x1234, PTE.U | PTE.W);
    assert.equal(pt.entry(255), 0x1234 * 8 + (PTE.U | PTE.W)); // cached in slot 255
    for (const v of [-1, 255.5, NaN]) assert.equal(pt.lookup(v), null, `vpn ${v} with slot 255 filled`);
    pt.unmap(255);
    assert.equal(pt.entry(255), -1);
    assert.equal(pt.lookup(-1), null, 'vpn −1 after the slot was emptied');
  });

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
    const pt2 = otherTable(k, { without: [e.tcs(0)], levelGeneration: true });
    assertFault(() => enterUnder(k, e, pt2), VECTOR.PF);
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
    const pt2 = otherTable(k, { without: [e.data(1)], remap: { la: one.la, pa: two.pa } });
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
    assert.equal(dec.decode(k.proc.memory.readPhysical(two.pa, 12)), 'AAAA\0\0\0\0\0\0\0\0');
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
    const h = twoHostPages(k, engine, 'one', 'two');
    e.enter(h.read);
    assert.equal(h.got(), 'one');
    enterUnder(k, e, otherTable(k, { remap: { la: h.one.la, pa: h.two.pa }, levelGeneration: true }), h.read);
    assert.equal(h.got(), 'two');
  });

  test('enclave-mode RAM access: an untrusted page the kernel remaps or write-protects between entries is walked again', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const h = twoHostPages(k, engine, 'first frame', 'other frame');
    const write = engine.on((ctx) => {
      ctx.write(h.one.la + 64, enc.encode('written'));
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(h.read).exit.reason, 'eexit');
    assert.equal(h.got(), 'first frame');
    k.mapUser(h.one.la, h.two.pa); // the same linear page, another frame
    assert.equal(e.enter(h.read).exit.reason, 'eexit');
    assert.equal(h.got(), 'other frame');
    assert.equal(e.enter(write).exit.reason, 'eexit');
    assert.equal(dec.decode(k.proc.memory.readPhysical(h.two.pa + 64, 7)), 'written');
    k.mapUser(h.one.la, h.two.pa, false); // read-only now
    assert.equal(e.enter(h.read).exit.reason, 'eexit');
    const x = e.enter(write).exit;
    assert.deepEqual([x.reason, x.vector], ['aex', VECTOR.PF]);
    assert.ok(x.errorCode & PFEC.W && !(x.errorCode & PFEC.SGX));
  });

  test('ORET under another page table whose RBX resolves to another enclave\'s TCS (same address): an EENTER of that TCS, not a return into the waiting frame', () => {
    const { k, engine } = newKernel();
    const { a, ptA } = twoAtOneAddress(k);
    const log: string[] = [];
    let keyA: object | null = null;
    const inB = engine.on((ctx) => {
      log.push(ctx.enclaveKey === keyA ? 'A at OENTRY' : 'B at OENTRY');
      return ctx.regs.rcx;
    });
    const ocall = engine.on((ctx) => {
      keyA = ctx.enclaveKey;
      ctx.regs.rdi = 1; // the "OCALL"
      ctx.eexit(ctx.regs.rcx);
      log.push(`A continued with RDI ${ctx.regs.rdi}`);
      return ctx.regs.rcx;
    });
    const lp = k.proc.lps[1]!;
    const handler = switchingTables(lp, 'eexit', ENCLU.EENTER, [
      { cr3: k.userPt, regs: { rbx: a.tcs(0), rcx: AEP, rdi: inB, rip: HOST_RIP } }, // A's EEXIT: B's table, EENTER the same address
      { cr3: ptA, regs: { rbx: a.tcs(0), rcx: AEP, rdi: 77, rip: HOST_RIP } }, // B's EEXIT: A's table again, and the real ORET
    ]);
    lp.cpl = 3;
    lp.cr3 = ptA;
    const x = lp.enclu(ENCLU.EENTER, newRegisters({ rbx: a.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: ocall }), handler);
    assert.equal(x.reason, 'eexit');
    assert.deepEqual(log, ['B at OENTRY', 'A continued with RDI 77']);
    assertAllIdle(k);
  });

  test('ERESUME under another page table whose RBX resolves to another enclave\'s TCS (same address): a resume of that TCS\'s frame, not of the waiting one', () => {
    const { k, engine } = newKernel();
    const { a, b, ptA } = twoAtOneAddress(k);
    const lp = k.proc.lps[1]!;
    lp.cpl = 3;
    // B: a frame lost to an exception (CSSA 1), its RDX saved in its SSA.
    let keyB: object | null = null;
    const fault = engine.on((ctx) => {
      keyB = ctx.enclaveKey;
      ctx.regs.rdx = 0xbbbb;
      ctx.read(0x1000, 1); // outside ELRANGE, unmapped: #PF
      return ctx.regs.rcx;
    });
    lp.cr3 = k.userPt;
    assert.equal(lp.enclu(ENCLU.EENTER, newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: fault }), () => 0).reason, 'aex');
    const log: string[] = [];
    engine.resumeFn = (ctx) => {
      log.push(`${ctx.enclaveKey === keyB ? 'B' : 'not B'} resumed with RDX 0x${ctx.regs.rdx.toString(16)}`);
      return ctx.regs.rcx;
    };
    // A: interrupted at an interrupt window, with RDX its own.
    const interrupted = engine.on((ctx) => {
      ctx.regs.rdx = 0xaaaa;
      lp.injectInterrupt();
      ctx.step();
      log.push(`A continued with RDX 0x${ctx.regs.rdx.toString(16)}`);
      return ctx.regs.rcx;
    });
    const handler = switchingTables(lp, 'aex', ENCLU.ERESUME, [
      { cr3: k.userPt, regs: { rbx: a.tcs(0), rcx: AEP } }, // A's AEX: B's table, ERESUME the same address
      { cr3: ptA, regs: { rbx: a.tcs(0), rcx: AEP } }, // B's exit: A's table again, and A's own ERESUME
    ]);
    lp.cr3 = ptA;
    const x = lp.enclu(ENCLU.EENTER, newRegisters({ rbx: a.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: interrupted }), handler);
    assert.equal(x.reason, 'eexit');
    assert.deepEqual(log, ['B resumed with RDX 0xbbbb', 'A continued with RDX 0xaaaa']);
    assertAllIdle(k);
  });
});

test('PageTable: a page mapped where none was moves the generation but not the revocations the entry caches follow; a remap, an unmap or new flags of a present page move both', () => {
  const pt = new PageTable('counts');
  const counts = () => [pt.generation, PageTable.revocationsOf(pt)];
  pt.map(1, 10, PTE.U | PTE.W);
  pt.map(2, 11, PTE.U);
  assert.deepEqual(counts(), [2, 0]);
  pt.map(1, 12, PTE.U | PTE.W);
  assert.deepEqual(counts(), [3, 1], 'remapped');
  pt.protect(2, PTE.U | PTE.NX);
  assert.deepEqual(counts(), [4, 2], 'new flags');
  pt.unmap(2);
  assert.deepEqual(counts(), [5, 3], 'unmapped');
  pt.unmap(2);
  pt.protect(7, PTE.U);
  assert.deepEqual(counts(), [5, 3], 'nothing there: nothing changed');
  pt.map(2, 11, PTE.U);
  assert.deepEqual(counts(), [6, 3], 'mapped again where nothing was');
});
