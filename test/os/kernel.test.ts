/**
 * The kernel's own bookkeeping, driven directly (below the Windows API): enclave creation that
 * fails leaves no EPC page, commitment or reservation behind; pages added with a faulting EADD give
 * their EPC page and commitment back; kernel pages come zeroed; teardown touches only what is mapped.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SECS } from '../../src/arch/index.js';
import * as W from '../../src/os/windows/constants.js';
import type { Platform } from '../../src/platform/index.js';
import * as H from '../helpers/windows.js';

const PAGE = 4096;
const L = H.standardLayout();

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
    assert.equal(r.fault.vector, 13);
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
