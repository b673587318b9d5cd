/**
 * The kernel's own bookkeeping, driven directly (below the Windows API): enclave creation that
 * fails leaves no EPC page, commitment or reservation behind; pages added with a faulting EADD give
 * their EPC page and commitment back; kernel pages come zeroed; teardown touches only what is mapped.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SECS, VECTOR, ArchFault, ArchError, ATTR, PT, PTE, SECINFO_FLAGS } from '../../src/arch/index.js';
import { OsError } from '../../src/os/index.js';
import * as W from '../../src/os/windows/constants.js';
import type { Platform } from '../../src/platform/index.js';
import * as H from '../helpers/windows.js';

const PAGE = 4096;
const L = H.standardLayout();
const REG_RW = (PT.REG << 8) | SECINFO_FLAGS.R | SECINFO_FLAGS.W;

/** The layout's SECS with BASEADDR set (what the Nt layer hands the kernel). */
function secsAt(base: number, over: Parameters<H.TestLayout['secs']>[0] = {}): Uint8Array {
  return L.secs({ BASEADDR: BigInt(base), ...over });
}

/** Everything a failed kernel call must leave as it was. */
function kernelState(p: Platform): unknown {
  return { epc: H.epcState(p), ram: p.kernel.ram.inUse, mapped: p.process.pageTable.size };
}

describe('Kernel.createEnclave is all-or-nothing', () => {
  test('over a taken range: { error: VA_CONFLICT } before any EPC is committed', () => {
    const p = H.platformFor('win-x64-sgx1');
    assert.notEqual(p.kernel32.VirtualAlloc(H.FIX_BASE + 0x1_0000, PAGE, W.MEM_RESERVE, W.PAGE_READWRITE), 0);
    const before = kernelState(p);
    const r = p.kernel.createEnclave(p.process, H.FIX_BASE, L.size, W.ENCLAVE_TYPE_SGX, secsAt(H.FIX_BASE), 3);
    assert.deepEqual(r, { error: 'VA_CONFLICT' });
    assert.deepEqual(kernelState(p), before);
    assert.equal(p.processor.inspect.freeEpcPages, p.processor.epcPages, 'no SECS page taken');
    assert.equal(p.kernel.epc.committedPages, 0);
  });

  test('a faulting ECREATE: { error: ECREATE_FAULT } with the SECS page and the commitment given back and the range still free', () => {
    const p = H.platformFor('win-x64-sgx1');
    const before = kernelState(p);
    const r = p.kernel.createEnclave(p.process, H.FIX_BASE, L.size, W.ENCLAVE_TYPE_SGX, secsAt(H.FIX_BASE, { SSAFRAMESIZE: 0 }), 5);
    assert.ok('error' in r && r.error === 'ECREATE_FAULT', JSON.stringify(r));
    assert.equal(r.fault.vector, VECTOR.GP);
    assert.deepEqual(kernelState(p), before);
    assert.equal(p.process.isFree(H.FIX_BASE, L.size), true);
    // and a valid one then succeeds at the same place with the same commitment
    const ok = p.kernel.createEnclave(p.process, H.FIX_BASE, L.size, W.ENCLAVE_TYPE_SGX, secsAt(H.FIX_BASE), 5);
    assert.ok(!('error' in ok));
    assert.equal(p.kernel.epc.committedPages, 5);
    assert.equal(p.kernel32.DeleteEnclave(H.FIX_BASE), true);
    H.assertPristine(p);
  });

  test('the SECS size field is what ECREATE checks: SIZE not a power of two faults, nothing kept', () => {
    const p = H.platformFor('win-x64-sgx1');
    const before = kernelState(p);
    const secs = secsAt(H.FIX_BASE);
    SECS.encodeInto(secs, 0, { SIZE: 0x3000n });
    const r = p.kernel.createEnclave(p.process, H.FIX_BASE, L.size, W.ENCLAVE_TYPE_SGX, secs, 0);
    assert.ok('error' in r && r.error === 'ECREATE_FAULT');
    assert.deepEqual(kernelState(p), before);
  });
});

describe('after drop-and-lock (#MC, the memory controller locked) no Win32 function throws', () => {
  const HP = W.CURRENT_PROCESS;
  /** An initialized DEBUG enclave at FIX_BASE, a created one beside it, then lock the machine through EDBGRD of a page tampered by DMA. */
  function lockedPlatform(): { p: Platform; base: number; created: number } {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.buildTo(p, L, 'initialized');
    const created = H.create(p, L, H.FIX_BASE + 0x20_0000);
    const pa = p.kernel.enclaves.find((e) => e.base === base)!.pages.get(base + 0x2000)!;
    assert.equal(p.processor.memory.dramWrite(pa, new Uint8Array(64).fill(0x41)).tamperedPages, 1);
    assert.throws(() => p.kernel.sgx.edbgrd(pa), (e: unknown) => e instanceof ArchFault && e.vector === VECTOR.MC);
    assert.notEqual(p.processor.locked, null);
    return { p, base, created };
  }
  const einval = { ret: false, err: W.ERROR_INVALID_PARAMETER, nt: W.STATUS_INVALID_PARAMETER };

  test('DeleteEnclave and VirtualFree(MEM_RELEASE) → FALSE, ERROR_INVALID_PARAMETER; the enclave and the EPC stay as they were', () => {
    const { p, base, created } = lockedPlatform();
    const before = kernelState(p);
    for (const b of [base, created]) {
      assert.deepEqual(H.observe(p, () => p.kernel32.DeleteEnclave(b)), einval);
      assert.deepEqual(H.observe(p, () => p.kernel32.VirtualFree(b, 0, W.MEM_RELEASE)), einval);
    }
    assert.deepEqual(kernelState(p), before);
    assert.equal(p.kernel.enclaves.length, 2);
  });

  test('CreateEnclave, LoadEnclaveData and InitializeEnclave → the same STATUS_INVALID_PARAMETER, nothing leaked', () => {
    const { p, created } = lockedPlatform();
    const before = kernelState(p);
    const err = { value: H.SENT_OUT };
    assert.deepEqual(H.observe(p, () => p.kernel32.CreateEnclave(HP, H.FIX_BASE + 0x40_0000, L.size, 2 * PAGE, W.ENCLAVE_TYPE_SGX, L.secs(), 4096, err)), { ...einval, ret: 0 });
    const written = { value: H.SENT_OUT };
    assert.deepEqual(H.observe(p, () => p.kernel32.LoadEnclaveData(HP, created, L.pages[0]!.data, PAGE, L.pages[0]!.protect, null, 0, written, null)), einval);
    assert.equal(written.value, 0);
    assert.deepEqual(H.observe(p, () => p.kernel32.InitializeEnclave(HP, created, L.initInfo(), 4096, err)), einval);
    assert.equal(err.value, H.SENT_OUT);
    assert.deepEqual(kernelState(p), before);
  });

  test('Read/WriteProcessMemory of enclave pages are non-enclave accesses: the abort page, no machine check', () => {
    const { p, base } = lockedPlatform();
    const buf = new Uint8Array(64);
    assert.deepEqual(H.observe(p, () => p.kernel32.ReadProcessMemory(HP, base + 0x2000, buf, 64, null)), { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
    assert.deepEqual(buf, new Uint8Array(64).fill(0xff));
    assert.deepEqual(H.observe(p, () => p.kernel32.WriteProcessMemory(HP, base + 0x2000, buf, 64, null)), { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
  });
});

describe('Kernel.addPage: a faulting EADD gives back the EPC page and the commitment', () => {
  const TCS_RW = (W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE) >>> 0;

  test('LoadEnclaveData of a good and a bad TCS page with a 4-page commitment: 1 added, commitment 3 (not 2)', () => {
    const p = H.platformFor('win-x64-sgx1');
    const T = p.processor.epcPages;
    const base = H.create(p, L, H.FIX_BASE, 4 * PAGE);
    const enc = p.kernel.enclaves[0]!;
    const buf = new Uint8Array(2 * PAGE);
    buf.set(H.tcsPage(0x1000, 1, 0x3000), 0);
    buf.set(H.tcsPage(0x1000, 1, 0x3000), PAGE);
    buf[PAGE + 100] = 1; // a reserved TCS byte: EADD #GP
    const written = { value: H.SENT_OUT };
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base, buf, 2 * PAGE, TCS_RW, null, 0, written, null), false);
    assert.equal(p.kernel32.GetLastError(), W.ERROR_INVALID_PARAMETER);
    assert.equal(written.value, PAGE);
    assert.equal(enc.pages.size, 1);
    assert.equal(enc.commitment, 3);
    assert.equal(p.kernel.epc.committedPages, 3);
    assert.equal(p.kernel.epc.freePages, T - 2);
    assert.equal(p.processor.inspect.freeEpcPages, T - 2);
    // the three committed pages are still the enclave's to use
    const three = new Uint8Array(3 * PAGE);
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x4000, three, 3 * PAGE, W.PAGE_READWRITE, null, 0, null, null), true);
    assert.equal(enc.commitment, 0);
    assert.equal(p.kernel.epc.committedPages, 0);
    H.teardown(p);
  });

  test('directly: from the commitment, without one, and with the EPC exhausted', () => {
    const p = H.platformFor('win-x64-sgx1', { epcSize: 4 * PAGE });
    const base = H.create(p, L, H.FIX_BASE, PAGE);
    const enc = p.kernel.enclaves[0]!;
    const src = p.kernel.sgx.sourcePage;
    const bad = H.tcsPage(0, 1, 0);
    bad[4095] = 1;
    p.processor.memory.writePhysical(src, bad);
    const before = kernelState(p);
    assert.throws(() => p.kernel.addPage(enc, base, src, PT.TCS << 8, true), (e: unknown) => e instanceof ArchFault && e.vector === VECTOR.GP);
    assert.deepEqual(kernelState(p), before, 'from the commitment: given back');
    assert.equal(enc.commitment, 1);
    p.processor.memory.writePhysical(src, new Uint8Array(PAGE).fill(3));
    const a = p.kernel.addPage(enc, base, src, REG_RW, true);
    assert.ok(a >= p.processor.epcBase);
    assert.deepEqual([enc.commitment, p.kernel.epc.committedPages, enc.pages.get(base)], [0, 0, a]);
    p.processor.memory.writePhysical(src, bad);
    const before2 = kernelState(p);
    assert.throws(() => p.kernel.addPage(enc, base + PAGE, src, PT.TCS << 8, true), ArchFault);
    assert.deepEqual(kernelState(p), before2, 'without a commitment: given back to the free list');
    p.processor.memory.writePhysical(src, new Uint8Array(PAGE));
    assert.ok(p.kernel.addPage(enc, base + PAGE, src, REG_RW, false) > 0);
    assert.ok(p.kernel.addPage(enc, base + 2 * PAGE, src, REG_RW, false) > 0);
    const full = kernelState(p);
    assert.equal(p.kernel.addPage(enc, base + 3 * PAGE, src, REG_RW, false), -1, 'no EPC page left');
    assert.deepEqual(kernelState(p), full);
    H.teardown(p);
  });
});

describe('ring 0 for the leaves issued per page', () => {
  test('inside a system call they run on the LP it holds, outside one they enter ring 0 themselves; the enclave measures the same', () => {
    const p = H.platformFor('win-x64-sgx1');
    assert.equal(p.kernel.inRing0, null, 'no system call running');
    const held = p.kernel.ring0((lp) => [lp, p.kernel.inRing0]);
    assert.equal(held[0], held[1], 'inside ring0, the LP it holds');
    assert.equal(p.kernel.inRing0, null, 'and none after');
    // Every page added straight through the kernel (EADD, then the 16 EEXTENDs, outside any system call).
    const base = H.create(p, L);
    const enc = p.kernel.enclaves[0]!;
    const src = p.kernel.sgx.sourcePage;
    for (const pg of L.pages) {
      const { secinfo, measured } = H.specSecinfo(pg.protect);
      p.processor.memory.writePhysical(src, pg.data);
      assert.ok(p.kernel.addPage(enc, base + pg.offset, src, secinfo, measured) > 0);
    }
    H.initialize(p, base, L); // EINIT checks the MRENCLAVE that LoadEnclaveData's path gives
    assert.deepEqual(p.processor.inspect.enclaves()[0]!.mrenclave, L.mrenclave);
    H.teardown(p);
  });

  test('the same pages added inside one system call (the leaves on the LP it holds) measure the same', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    const enc = p.kernel.enclaves[0]!;
    const src = p.kernel.sgx.sourcePage;
    p.kernel.ring0((lp) => {
      for (const pg of L.pages) {
        const { secinfo, measured } = H.specSecinfo(pg.protect);
        p.processor.memory.writePhysical(src, pg.data);
        assert.ok(p.kernel.addPage(enc, base + pg.offset, src, secinfo, measured) > 0);
        assert.equal(p.kernel.inRing0, lp, 'still held, in ring 0');
      }
    });
    H.initialize(p, base, L);
    assert.deepEqual(p.processor.inspect.enclaves()[0]!.mrenclave, L.mrenclave);
    H.teardown(p);
  });

  test('user code run inside a system call, and a system call it makes, leave the outer call its LP', () => {
    const p = H.platformFor('win-x64-sgx1');
    p.kernel.ring0((lp) => {
      p.kernel.user(p.process, () => {
        assert.equal(p.kernel.inRing0, null, 'user code is not in ring 0');
        p.kernel.ring0((inner) => assert.equal(inner.cpl, 0));
      }, lp.index);
      assert.equal(p.kernel.inRing0, lp);
      assert.equal(lp.cpl, 0);
    });
    assert.equal(p.kernel.inRing0, null);
  });
});

describe('LoadEnclaveData lends the caller\'s buffer to EADD page by page', () => {
  test('the kernel\'s staging frame is its own again after the call, whether it succeeded or faulted; the buffer is unchanged', () => {
    const p = H.platformFor('win-x64-sgx1');
    const mem = p.processor.memory;
    const staging = p.kernel.sgx.sourcePage;
    const base = H.create(p, L); // (ECREATE's SECS goes through the same frame)
    const mark = new Uint8Array(PAGE).fill(0x5c);
    mem.writePhysical(staging, mark);
    const data = Uint8Array.from({ length: 3 * PAGE }, (_, i) => (i * 31 + 7) & 255);
    const copy = data.slice();
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x3000, data, 3 * PAGE, W.PAGE_READWRITE, null, 0, null, null), true);
    assert.deepEqual(mem.readPhysical(staging, PAGE), mark, 'after success');
    // A TCS with a reserved byte set: EADD faults on the second page, the call fails.
    const pages = new Uint8Array(2 * PAGE);
    pages.set(H.tcsPage(0, 1, 0), 0);
    pages.set(H.tcsPage(0, 1, 0), PAGE);
    pages[2 * PAGE - 1] = 1;
    const before = pages.slice();
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x6000, pages, 2 * PAGE, W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE, null, 0, null, null), false);
    assert.deepEqual(mem.readPhysical(staging, PAGE), mark, 'after a fault');
    mem.writePhysical(staging, new Uint8Array(PAGE));
    assert.deepEqual(data, copy, 'the kernel never wrote the caller\'s buffer');
    assert.deepEqual(pages, before);
    H.teardown(p);
  });
});

describe('LoadEnclaveData from process memory whose frame is lent bytes since detached (a misuse of swapFrame)', () => {
  test('EADD refuses it with ArchError FRAME_DETACHED before it commits: the EPC page goes back, nothing is added; whole again, the page loads', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    const va = p.kernel32.VirtualAlloc(0, PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
    assert.ok(va);
    p.process.write(va, new Uint8Array(PAGE).fill(0x5a));
    const frame = p.process.pageTable.lookup(va / PAGE)!.pfn * PAGE;
    const lent = new Uint8Array(PAGE).fill(0x5a);
    p.processor.memory.swapFrame(frame, lent);
    structuredClone(lent.buffer, { transfer: [lent.buffer] });
    const free = p.processor.inspect.freeEpcPages;
    assert.throws(() => p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x3000, va, PAGE, W.PAGE_READWRITE, null, 0, null, null), (e: unknown) => e instanceof ArchError && e.code === 'FRAME_DETACHED');
    assert.equal(p.processor.inspect.freeEpcPages, free, 'no EPC page kept');
    const back = p.processor.memory.swapFrame(frame, new Uint8Array(PAGE).fill(0x5a));
    assert.ok(back.length === PAGE && back.every((b) => b === 0), 'swapped back: the frame had no bytes left, a fresh zero page');
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x3000, va, PAGE, W.PAGE_READWRITE, null, 0, null, null), true, 'the same page, whole again, loads');
    H.teardown(p);
  });
});

describe('LoadEnclaveData: code the caller supplies runs only when the caller\'s buffer is no longer lent', () => {
  /** An out-parameter whose setter makes a system call that goes through the staging frame (ECREATE's SECS). */
  function reentrant(p: Platform, calls: number[]): { value: number } {
    return {
      get value() {
        return 0;
      },
      set value(_v: number) {
        calls.push(p.kernel32.CreateEnclave(W.CURRENT_PROCESS, 0, L.size, 0, W.ENCLAVE_TYPE_SGX, L.secs(), W.ENCLAVE_CREATE_INFO_SGX_SIZE, null));
      },
    };
  }

  test('after a fault and after success, a system call from the out-parameter writes nothing into the caller\'s buffer', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    const calls: number[] = [];
    const pages = new Uint8Array(2 * PAGE);
    pages.set(H.tcsPage(0, 1, 0), 0);
    pages.set(H.tcsPage(0, 1, 0), PAGE);
    pages[2 * PAGE - 1] = 1; // EADD faults on the second page
    const before = pages.slice();
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x6000, pages, 2 * PAGE, W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE, null, 0, reentrant(p, calls), null), false);
    assert.deepEqual(pages, before, 'after the fault');
    const data = Uint8Array.from({ length: 2 * PAGE }, (_, i) => (i * 31 + 7) & 255);
    const copy = data.slice();
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x8000, data, 2 * PAGE, W.PAGE_READWRITE, null, 0, reentrant(p, calls), null), true);
    assert.deepEqual(data, copy, 'after success');
    assert.equal(calls.length, 2);
    assert.ok(calls.every((b) => b !== 0), 'the nested CreateEnclave calls ran');
    H.teardown(p);
  });

  test('a buffer whose own subarray or length would answer differently is read as the memory it views', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    const calls: number[] = [];
    const data = Uint8Array.from({ length: 2 * PAGE }, (_, i) => (i * 13 + 1) & 255);
    const copy = data.slice();
    Object.defineProperty(data, 'subarray', { value: () => {
      calls.push(p.kernel32.CreateEnclave(W.CURRENT_PROCESS, 0, L.size, 0, W.ENCLAVE_TYPE_SGX, L.secs(), W.ENCLAVE_CREATE_INFO_SGX_SIZE, null));
      return copy.subarray(0, PAGE);
    } });
    assert.equal(p.kernel32.LoadEnclaveData(W.CURRENT_PROCESS, base + 0x8000, data, 2 * PAGE, W.PAGE_READWRITE, null, 0, null, null), true);
    assert.deepEqual(Uint8Array.prototype.slice.call(data), copy, 'the caller\'s bytes are unchanged');
    assert.deepEqual(calls, [], 'nothing the buffer overrides ran');
    const enc = p.kernel.enclaves[0]!;
    assert.equal(enc.pages.size, 2);
    H.teardown(p);
  });
});

describe('kernel pages come zeroed', () => {
  test('a frame the process wrote and released is handed to the kernel zeroed', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k32 = p.kernel32;
    const secret = new TextEncoder().encode('host secret');
    const a = k32.VirtualAlloc(0, PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
    p.process.write(a, secret);
    p.process.write(a + PAGE - secret.length, secret);
    const frame = p.process.pageTable.lookup(a / PAGE)!.pfn;
    assert.equal(k32.VirtualFree(a, 0, W.MEM_RELEASE), true);
    const pa = p.kernel.allocKernelPage();
    assert.equal(pa / PAGE, frame, 'the same frame is reused (the test would prove nothing otherwise)');
    assert.deepEqual(p.processor.memory.readPhysical(pa, PAGE), new Uint8Array(PAGE));
    p.kernel.ram.free(pa / PAGE);
  });

  test('and so does a committed page after a kernel page was freed', () => {
    const p = H.platformFor('win-x64-sgx1');
    const pa = p.kernel.allocKernelPage();
    p.processor.memory.writePhysical(pa, new Uint8Array(PAGE).fill(0x6b));
    p.kernel.ram.free(pa / PAGE);
    const a = p.kernel32.VirtualAlloc(0, PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
    assert.equal(p.process.pageTable.lookup(a / PAGE)!.pfn, pa / PAGE);
    assert.deepEqual(p.process.read(a, PAGE), new Uint8Array(PAGE));
  });
});

describe('teardown touches only what is there', () => {
  test('DeleteEnclave of a 32 GiB enclave with 4 pages unmaps those 4 PTEs (and any other PTE in ELRANGE), not every page of the range', () => {
    const p = H.platformFor('win-x64-sgx1');
    const size = 2 ** 35;
    const layout = new H.TestLayout({ size });
    const base = H.buildTo(p, layout, 'loaded', 2 ** 40);
    const pt = p.process.pageTable;
    // a PTE the kernel did not make (as a hostile driver would) inside ELRANGE, far from the pages
    pt.map((base + size - PAGE) / PAGE, 300, PTE.U);
    const unmapped: number[] = [];
    const unmap = pt.unmap.bind(pt);
    pt.unmap = (v: number): boolean => {
      unmapped.push(v);
      return unmap(v);
    };
    try {
      assert.equal(p.kernel32.DeleteEnclave(base), true);
    } finally {
      pt.unmap = unmap;
    }
    const expected = [...layout.pages.filter((pg) => pg.protect !== 0).map((pg) => (base + pg.offset) / PAGE), (base + size - PAGE) / PAGE];
    assert.deepEqual(unmapped.sort((a, b) => a - b), expected.sort((a, b) => a - b));
    assert.equal(pt.size, 0);
    H.assertPristine(p);
  });

  test('a private region of 2^40 bytes with one committed page releases that page only', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k32 = p.kernel32;
    const base = k32.VirtualAlloc(0, 2 ** 40, W.MEM_RESERVE, W.PAGE_READWRITE);
    assert.equal(k32.VirtualAlloc(base + 2 ** 39, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE), base + 2 ** 39);
    const pt = p.process.pageTable;
    let calls = 0;
    const unmap = pt.unmap.bind(pt);
    pt.unmap = (v: number): boolean => {
      calls++;
      return unmap(v);
    };
    try {
      assert.equal(k32.VirtualFree(base, 0, W.MEM_RELEASE), true);
    } finally {
      pt.unmap = unmap;
    }
    assert.equal(calls, 1);
    H.assertPristine(p);
  });
});

describe('the enclave object carries what the kernel needs', () => {
  test('Kernel.createEnclave records SECS.ATTRIBUTES, so an enclave made below the Nt layer gets the same launch policy', () => {
    // 'flc-restricted' admits only DEBUG enclaves: a production SECS created directly through the
    // kernel must be refused at InitializeEnclave like one made by CreateEnclave.
    for (const [flags, want] of [[L.flags, true], [L.flags & ~ATTR.DEBUG, false]] as const) {
      const p = H.platformFor('win-x64-sgx1', { windows: { launchPolicy: 'flc-restricted' } });
      const layout = new H.TestLayout({ flags });
      const enc = p.kernel.createEnclave(p.process, H.FIX_BASE, layout.size, W.ENCLAVE_TYPE_SGX, layout.secs({ BASEADDR: BigInt(H.FIX_BASE) }), 0);
      assert.ok(!('error' in enc));
      assert.deepEqual(enc.attributes, { FLAGS: flags, XFRM: layout.xfrm });
      H.loadRest(p, H.FIX_BASE, layout);
      const err = { value: H.SENT_OUT };
      assert.equal(p.kernel32.InitializeEnclave(W.CURRENT_PROCESS, H.FIX_BASE, layout.initInfo(), 4096, err), want);
      assert.equal(err.value, want ? 0 : 16);
      H.teardown(p);
    }
  });

  test('a SECS of the wrong length is a kernel-API misuse (OsError SECS_LENGTH), nothing allocated', () => {
    const p = H.platformFor('win-x64-sgx1');
    const before = kernelState(p);
    assert.throws(() => p.kernel.createEnclave(p.process, H.FIX_BASE, L.size, W.ENCLAVE_TYPE_SGX, new Uint8Array(100), 0), (e: unknown) => e instanceof OsError && e.code === 'SECS_LENGTH');
    assert.deepEqual(kernelState(p), before);
  });
});

describe('the kernel\'s own API refuses what would corrupt its books (the closing review)', () => {
  test('addPage at an address the enclave has a page at already, or into an enclave no longer being built: OsError, nothing added; the enclave is deleted cleanly', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    const k = p.kernel;
    const enc = k.enclaves[0]!;
    const src = k.sgx.sourcePage;
    k.addPage(enc, base, src, (PT.REG << 8) | 3, true);
    const before = H.epcState(p);
    assert.throws(() => k.addPage(enc, base, src, (PT.REG << 8) | 3, true), (e: unknown) => e instanceof OsError && e.code === 'PAGE_PRESENT');
    assert.deepEqual(H.epcState(p), before);
    assert.equal(p.processor.inspect.enclaves()[0]!.pages, 1);
    assert.equal(p.kernel32.DeleteEnclave(base), true);
    assert.throws(() => k.addPage(enc, base + 0x1000, src, (PT.REG << 8) | 3, true), (e: unknown) => e instanceof OsError && e.code === 'ENCLAVE_STATE');
    H.assertPristine(p);
  });

  test('destroyEnclave of a deleted enclave: OsError, and no EPC page goes onto the free list twice (the allocator refuses a page given back twice)', () => {
    const p = H.platformFor('win-x64-sgx1');
    H.buildTo(p, L, 'initialized');
    const k = p.kernel;
    const enc = k.enclaves[0]!;
    assert.equal(k.destroyEnclave(enc), 0);
    const free = k.epc.freePages;
    assert.throws(() => k.destroyEnclave(enc), (e: unknown) => e instanceof OsError && e.code === 'ENCLAVE_DELETED');
    assert.equal(k.epc.freePages, free);
    assert.equal(k.epc.freePages, p.processor.inspect.freeEpcPages);
    const pa = k.epc.alloc(false);
    k.epc.free(pa);
    assert.throws(() => k.epc.free(pa), (e: unknown) => e instanceof OsError && e.code === 'EPC_FREE');
    const got = new Set<number>();
    for (let x = k.epc.alloc(false); x >= 0; x = k.epc.alloc(false)) got.add(x);
    assert.equal(got.size, free, 'every page handed out once');
  });
});
