/**
 * What LoadEnclaveData measures (specs/os-api.md §2.8, §3.6): the flProtect → SECINFO table, TCS
 * pages measured with permission bits 0, PAGE_ENCLAVE_UNVALIDATED (EADD record only), whole-page
 * EEXTEND, load order, and the host's view of a loaded page (§2.16, the abort page). Each expected
 * MRENCLAVE is computed in the test with the arch layer's Measurement from the spec's table; EINIT
 * (through InitializeEnclave) is the judge: it succeeds only when the processor measured the same
 * records, and fails with SGX_INVALID_MEASUREMENT (4) otherwise.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as W from '../../src/os/windows/constants.js';
import { decodeEnclaveProtection } from '../../src/os/windows/index.js';
import { Measurement, PT } from '../../src/arch/index.js';
import { defaultCrypto } from '../../src/lib/index.js';
import type { Platform } from '../../src/platform/index.js';
import * as H from '../helpers/windows.js';

const PAGE = 4096;
const TCS_RW = (W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE) >>> 0;

function page(seed: number): Uint8Array {
  const b = new Uint8Array(PAGE);
  for (let i = 0; i < PAGE; i++) b[i] = (i * 17 + seed * 101) & 0xff;
  return b;
}

/** Load `layout` page by page and initialize with a SIGSTRUCT over `mrenclave`; returns the SGX status. */
function loadAndInit(p: Platform, layout: H.TestLayout, mrenclave: Uint8Array, order: readonly H.LayoutPage[] = layout.pages): number {
  const base = H.create(p, layout);
  for (const pg of order) H.loadPage(p, base, pg);
  const err = { value: H.SENT_OUT };
  const ok = p.kernel32.InitializeEnclave(-1, base, layout.initInfo(layout.sigstruct({ enclaveHash: mrenclave })), 4096, err);
  if (ok) {
    assert.equal(err.value, 0);
    assert.deepEqual(p.processor.inspect.enclaves()[0]!.mrenclave, mrenclave);
  } else {
    assert.equal(p.kernel32.GetLastError(), W.ERROR_ENCLAVE_FAILURE);
  }
  return err.value;
}

/** A hand-written record stream: ECREATE, then [offset, SECINFO flags as measured, data or null] per page. */
function records(size: number, ssa: number, pages: readonly [number, number, Uint8Array | null][]): Uint8Array {
  const m = new Measurement(defaultCrypto());
  m.ecreate(ssa, size);
  for (const [off, flags, data] of pages) {
    m.eadd(off, flags);
    if (data) m.eextendPage(off, data);
  }
  return m.finalize();
}

for (const profile of H.SGX_PROFILES) {
  describe(`§2.8 flProtect → SECINFO in MRENCLAVE on ${profile}`, () => {
    const tcs = H.tcsPage(0x1000, 1, 0x3000);
    for (const row of H.SPEC_PROTECTIONS) {
      for (const unvalidated of [false, true]) {
        const isTcs = row.secinfo >> 8 === PT.TCS;
        const data = isTcs ? H.tcsPage(0x1000, 2, 0x3000) : page(row.protect & 0xff);
        const protect = (row.protect | (unvalidated ? W.PAGE_ENCLAVE_UNVALIDATED : 0)) >>> 0;
        const measuredFlags = isTcs ? PT.TCS << 8 : row.secinfo;
        test(`${row.name}${unvalidated ? ' | PAGE_ENCLAVE_UNVALIDATED' : ''}: EADD with SECINFO 0x${measuredFlags.toString(16)}${unvalidated ? ', no EEXTEND' : ', 16 EEXTENDs'}`, () => {
          const p = H.platformFor(profile);
          const layout = new H.TestLayout({ pages: [{ offset: 0, protect: TCS_RW, data: tcs }, { offset: 0x2000, protect, data }] });
          const expected = records(layout.size, 1, [[0, PT.TCS << 8, tcs], [0x2000, measuredFlags, unvalidated ? null : data]]);
          assert.deepEqual(layout.mrenclave, expected, 'the helper agrees with the hand-written records');
          // a negative control: the same page measured with other SECINFO flags (or the opposite EEXTEND choice) is refused
          const wrongFlags = isTcs ? (PT.TCS << 8) | 3 : row.secinfo ^ 1;
          const control = records(layout.size, 1, [[0, PT.TCS << 8, tcs], [0x2000, wrongFlags, unvalidated ? null : data]]);
          const control2 = records(layout.size, 1, [[0, PT.TCS << 8, tcs], [0x2000, measuredFlags, unvalidated ? data : null]]);
          assert.equal(loadAndInit(p, layout, control), 4, 'other SECINFO flags → SGX_INVALID_MEASUREMENT');
          H.teardown(p);
          const p2 = H.platformFor(profile);
          assert.equal(loadAndInit(p2, layout, control2), 4, 'the opposite EEXTEND choice → SGX_INVALID_MEASUREMENT');
          H.teardown(p2);
          const p3 = H.platformFor(profile);
          assert.equal(loadAndInit(p3, layout, expected), 0);
          H.teardown(p3);
        });
      }
    }
  });

  describe(`§2.8 / §3.6 measurement rules on ${profile}`, () => {
    test('TCS pages are measured with permission bits 0 although PAGE_READWRITE is required', () => {
      const p = H.platformFor(profile);
      const tcs = H.tcsPage(0x1000, 1, 0);
      const layout = new H.TestLayout({ pages: [{ offset: 0, protect: TCS_RW, data: tcs }] });
      assert.equal(loadAndInit(p, layout, records(layout.size, 1, [[0, (PT.TCS << 8) | 3, tcs]])), 4);
      H.teardown(p);
      const p2 = H.platformFor(profile);
      assert.equal(loadAndInit(p2, layout, records(layout.size, 1, [[0, PT.TCS << 8, tcs]])), 0);
      H.teardown(p2);
    });

    test('PAGE_ENCLAVE_UNVALIDATED: the contents do not enter MRENCLAVE (two different pages, one SIGSTRUCT)', () => {
      const mr = records(0x2_0000, 1, [[0x2000, (PT.REG << 8) | 3, null]]);
      for (const seed of [1, 2]) {
        const p = H.platformFor(profile);
        const layout = new H.TestLayout({ pages: [{ offset: 0x2000, protect: (W.PAGE_READWRITE | W.PAGE_ENCLAVE_UNVALIDATED) >>> 0, data: page(seed) }] });
        assert.equal(loadAndInit(p, layout, mr), 0);
        H.teardown(p);
      }
    });

    test('a measured page: changing one byte changes MRENCLAVE', () => {
      const a = page(3);
      const b = a.slice();
      b[4095] ^= 1;
      const p = H.platformFor(profile);
      const layout = new H.TestLayout({ pages: [{ offset: 0x2000, protect: W.PAGE_READWRITE, data: b }] });
      assert.equal(loadAndInit(p, layout, records(layout.size, 1, [[0x2000, (PT.REG << 8) | 3, a]])), 4);
      H.teardown(p);
    });

    test('load order is measured: the standard pages in reverse order', () => {
      const L = H.standardLayout();
      const reversed = [...L.pages].reverse();
      const p = H.platformFor(profile);
      assert.equal(loadAndInit(p, L, L.mrenclave, reversed), 4);
      H.teardown(p);
      const p2 = H.platformFor(profile);
      assert.equal(loadAndInit(p2, L, L.measure(reversed), reversed), 0);
      H.teardown(p2);
    });

    test('one LoadEnclaveData of three pages measures as three single-page calls', () => {
      const p = H.platformFor(profile);
      const pages = [page(7), page(8), page(9)];
      const layout = new H.TestLayout({ pages: pages.map((d, i) => ({ offset: 0x4000 + i * PAGE, protect: W.PAGE_EXECUTE_READ, data: d })) });
      const base = H.create(p, layout);
      const buf = new Uint8Array(3 * PAGE);
      pages.forEach((d, i) => buf.set(d, i * PAGE));
      const written = { value: H.SENT_OUT };
      assert.equal(p.kernel32.LoadEnclaveData(-1, base + 0x4000, buf, 3 * PAGE, W.PAGE_EXECUTE_READ, null, 0, written, null), true);
      assert.equal(written.value, 3 * PAGE);
      H.initialize(p, base, layout);
      H.teardown(p);
    });

    test('SSAFRAMESIZE and SIZE come from the SECS into the ECREATE record', () => {
      const p = H.platformFor(profile);
      const tcs = H.tcsPage(0x1000, 1, 0);
      const layout = new H.TestLayout({ size: 0x4_0000, ssaFrameSize: 2, pages: [{ offset: 0, protect: TCS_RW, data: tcs }] });
      assert.equal(loadAndInit(p, layout, records(0x4_0000, 2, [[0, PT.TCS << 8, tcs]])), 0);
      H.teardown(p);
    });

    test('§2.16 host access to the enclave range: unloaded pages cannot be read (ERROR_PARTIAL_COPY, 0 bytes), loaded pages read as all ones', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, H.standardLayout(), 'initialized');
      const k32 = p.kernel32;
      const buf = new Uint8Array(64);
      const n = { value: H.SENT_OUT };
      // NtReadVirtualMemory: a source that cannot be locked ends the copy with STATUS_PARTIAL_COPY (readwrt.c)
      assert.equal(k32.ReadProcessMemory(-1, base + 0x1_0000, buf, 64, n), false);
      assert.deepEqual([k32.GetLastError(), k32.lastNtStatus], [W.ERROR_PARTIAL_COPY, W.STATUS_PARTIAL_COPY]);
      assert.equal(n.value, 0);
      assert.equal(k32.ReadProcessMemory(-1, base + 0x2000, buf, 64, n), true);
      assert.equal(n.value, 64);
      assert.deepEqual(buf, new Uint8Array(64).fill(0xff));
      // a write from outside is dropped (abort page): the EPC page is unchanged
      assert.equal(k32.WriteProcessMemory(-1, base + 0x2000, new Uint8Array(64), 64, null), true);
      const epc = p.kernel.enclaves[0]!.pages.get(base + 0x2000)!;
      assert.deepEqual(H.debugRead(p, epc, 64), H.standardLayout().pages[2]!.data.subarray(0, 64));
      H.teardown(p);
    });

    test('§2.16 lpBuffer pointing at a loaded enclave page: the host reads the abort page (all ones), which is what gets added', () => {
      const p = H.platformFor(profile);
      const L = H.standardLayout();
      const base = H.buildTo(p, L, 'loaded');
      assert.deepEqual(p.process.read(base + 0x2000, 16), new Uint8Array(16).fill(0xff), 'host view of an EPC page');
      const written = { value: H.SENT_OUT };
      assert.equal(p.kernel32.LoadEnclaveData(-1, base + 0x4000, base + 0x2000, PAGE, W.PAGE_READONLY, null, 0, written, null), true);
      assert.equal(written.value, PAGE);
      const epc = p.kernel.enclaves[0]!.pages.get(base + 0x4000)!;
      assert.deepEqual(H.debugRead(p, epc, PAGE), new Uint8Array(PAGE).fill(0xff));
      const withCopy = new H.TestLayout({ pages: [...L.pages, { offset: 0x4000, protect: W.PAGE_READONLY, data: new Uint8Array(PAGE).fill(0xff) }] });
      H.initialize(p, base, withCopy);
      H.teardown(p);
    });
  });
}

test('§2.8 decodeEnclaveProtection agrees with the spec table (SECINFO, host PTE, measurement) and refuses the rest', () => {
  for (const row of H.SPEC_PROTECTIONS) {
    for (const unvalidated of [false, true]) {
      const got = decodeEnclaveProtection((row.protect | (unvalidated ? W.PAGE_ENCLAVE_UNVALIDATED : 0)) >>> 0, true);
      assert.deepEqual(got, { secinfo: row.secinfo, pte: H.pteFlagsOf(row.host) ?? -1, measure: !unvalidated }, row.name);
    }
  }
  assert.equal(decodeEnclaveProtection(0, false), null, 'flProtect 0 only with the knob');
  for (const bad of [W.PAGE_NOACCESS, W.PAGE_WRITECOPY, W.PAGE_EXECUTE_WRITECOPY, W.PAGE_READWRITE | W.PAGE_GUARD, W.PAGE_READONLY | W.PAGE_READWRITE,
    W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READONLY, W.PAGE_ENCLAVE_THREAD_CONTROL, W.PAGE_ENCLAVE_SS_FIRST, W.PAGE_ENCLAVE_DECOMMIT]) {
    assert.equal(decodeEnclaveProtection(bad >>> 0, true), null, `0x${(bad >>> 0).toString(16)}`);
  }
});
