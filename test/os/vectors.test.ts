/**
 * The Windows conformance vectors W1–W16 of specs/os-api.md §7.2, each as stated. W15 concerns a VBS
 * enclave, which the implementation does not model: its SGX counterpart (DeleteEnclave needs no
 * TerminateEnclave) is checked instead, together with the refusal to create a VBS enclave.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as W from '../../src/os/windows/constants.js';
import { Measurement, PT } from '../../src/arch/index.js';
import { defaultCrypto } from '../../src/lib/index.js';
import type { Platform } from '../../src/platform/index.js';
import * as H from '../helpers/windows.js';

const L = H.standardLayout();
const MiB = 0x10_0000;

function expectFailure(p: Platform, ret: boolean | number, err: number, nt: number): void {
  assert.equal(ret === 0 || ret === false, true, `the call failed (returned ${String(ret)})`);
  assert.equal(p.kernel32.GetLastError(), err, 'GetLastError()');
  assert.equal(H.hex32(p.kernel32.lastNtStatus), H.hex32(nt), 'NTSTATUS');
}

test('W1 win-stub-10514-arm: CreateEnclave(-1, NULL, 0x1000000, 0, 1, secs, 4096, &e) → NULL; NtCreateEnclave = 0xC00000F4; 87', () => {
  const p = H.platformFor('win-stub-10514-arm');
  const e = { value: H.SENT_OUT };
  const secs = L.secs({ SIZE: 0x100_0000n });
  assert.equal(p.kernel32.CreateEnclave(-1, 0, 0x100_0000, 0, 1, secs, 4096, e), 0);
  assert.equal(p.kernel32.lastNtStatus, 0xc00000f4);
  assert.equal(p.kernel32.GetLastError(), 87);
  assert.equal(p.kernel32.nt.NtCreateEnclave(-1, { value: 0 }, 0, 0x100_0000, 0, 1, secs, 4096, e), 0xc00000f4);
  assert.equal(e.value, H.SENT_OUT);
  H.assertPristine(p);
});

test('W2 win-stub-10514-arm: LoadEnclaveData and InitializeEnclave → FALSE; 0xC0000018; 487', () => {
  const p = H.platformFor('win-stub-10514-arm');
  const k32 = p.kernel32;
  expectFailure(p, k32.LoadEnclaveData(-1, H.FIX_BASE, L.pages[0]!.data, 4096, L.pages[0]!.protect, null, 0, { value: 0 }, null), 487, 0xc0000018);
  expectFailure(p, k32.InitializeEnclave(-1, H.FIX_BASE, L.initInfo(), 4096, null), 487, 0xc0000018);
  assert.equal(k32.nt.NtLoadEnclaveData(-1, H.FIX_BASE, L.pages[0]!.data, 4096, L.pages[0]!.protect, null, 0, null, null), 0xc0000018);
  assert.equal(k32.nt.NtInitializeEnclave(-1, H.FIX_BASE, L.initInfo(), 4096, null), 0xc0000018);
  H.assertPristine(p);
});

test('W3 win-x64-nosgx: IsEnclaveTypeSupported(1) → FALSE/50; CreateEnclave(...,1,...) → NULL/50', () => {
  const p = H.platformFor('win-x64-nosgx');
  assert.equal(p.kernel32.IsEnclaveTypeSupported(1), false);
  assert.equal(p.kernel32.GetLastError(), 50);
  expectFailure(p, p.kernel32.CreateEnclave(-1, 0, L.size, 0, 1, L.secs(), 4096, null), 50, W.STATUS_NOT_SUPPORTED);
  H.assertPristine(p);
});

test('W4 win-x64-sgx1: IsEnclaveTypeSupported(2) → FALSE/50 (and TRUE on win-x64-sgx2)', () => {
  const p = H.platformFor('win-x64-sgx1');
  assert.equal(p.kernel32.IsEnclaveTypeSupported(2), false);
  assert.equal(p.kernel32.GetLastError(), 50);
  const p2 = H.platformFor('win-x64-sgx2');
  assert.equal(p2.kernel32.IsEnclaveTypeSupported(2), true);
  H.assertPristine(p);
  H.assertPristine(p2);
});

for (const profile of H.SGX_PROFILES) {
  describe(`W5–W16 on ${profile}`, () => {
    test('W5 CreateEnclave with dwInfoLength = 4095 → NULL/24', () => {
      const p = H.platformFor(profile);
      expectFailure(p, p.kernel32.CreateEnclave(-1, 0, L.size, 0, 1, L.secs(), 4095, null), 24, W.STATUS_INFO_LENGTH_MISMATCH);
      H.teardown(p);
    });

    test('W6 CreateEnclave with dwSize = 3 MiB → NULL/87', () => {
      const p = H.platformFor(profile);
      expectFailure(p, p.kernel32.CreateEnclave(-1, 0, 3 * MiB, 0, 1, L.secs({ SIZE: BigInt(3 * MiB) }), 4096, null), 87, W.STATUS_INVALID_PARAMETER);
      H.teardown(p);
    });

    test('W7 CreateEnclave(lpAddress = base of an existing enclave) → NULL/487', () => {
      const p = H.platformFor(profile);
      const base = H.create(p, L);
      const before = H.epcState(p);
      expectFailure(p, p.kernel32.CreateEnclave(-1, base, L.size, 0, 1, L.secs(), 4096, null), 487, W.STATUS_CONFLICTING_ADDRESSES);
      assert.deepEqual(H.epcState(p), before);
      H.teardown(p);
    });

    test('W8 LoadEnclaveData(flProtect = PAGE_NOACCESS) / PAGE_GUARD|PAGE_READWRITE → FALSE/87', () => {
      const p = H.platformFor(profile);
      const base = H.create(p, L);
      for (const prot of [W.PAGE_NOACCESS, W.PAGE_GUARD | W.PAGE_READWRITE]) {
        const written = { value: H.SENT_OUT };
        expectFailure(p, p.kernel32.LoadEnclaveData(-1, base + 0x2000, L.pages[2]!.data, 4096, prot, null, 0, written, null), 87, W.STATUS_INVALID_PAGE_PROTECTION);
        assert.equal(written.value, H.SENT_OUT);
      }
      assert.equal(p.processor.inspect.enclaves()[0]!.pages, 0);
      H.teardown(p);
    });

    test('W9 LoadEnclaveData(..., dwInfoLength = 64) → FALSE/24', () => {
      const p = H.platformFor(profile);
      const base = H.create(p, L);
      const secinfo = new Uint8Array(64);
      secinfo[0] = 3;
      secinfo[1] = PT.REG;
      expectFailure(p, p.kernel32.LoadEnclaveData(-1, base + 0x2000, L.pages[2]!.data, 4096, W.PAGE_READWRITE, secinfo, 64, { value: 0 }, null), 24, W.STATUS_INFO_LENGTH_MISMATCH);
      assert.equal(p.processor.inspect.enclaves()[0]!.pages, 0);
      H.teardown(p);
    });

    test('W10 TCS with PAGE_ENCLAVE_THREAD_CONTROL|PAGE_READWRITE: TRUE, *written = 4096; EADD measured with PT_TCS, perms 0, plus 16 EEXTENDs', () => {
      const p = H.platformFor(profile);
      const tcs = H.tcsPage(0x1000, 1, 0x3000);
      const layout = new H.TestLayout({ pages: [{ offset: 0, protect: (W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE) >>> 0, data: tcs }] });
      // the record stream written out by hand (not through the layout helper)
      const m = new Measurement(defaultCrypto());
      m.ecreate(1, layout.size);
      m.eadd(0, PT.TCS << 8);
      for (let c = 0; c < 4096; c += 256) m.eextend(c, tcs.subarray(c, c + 256));
      const expected = m.finalize();
      assert.deepEqual(layout.mrenclave, expected);
      const base = H.create(p, layout);
      const written = { value: H.SENT_OUT };
      assert.equal(p.kernel32.LoadEnclaveData(-1, base, tcs, 4096, (W.PAGE_ENCLAVE_THREAD_CONTROL | W.PAGE_READWRITE) >>> 0, null, 0, written, null), true);
      assert.equal(written.value, 4096);
      H.initialize(p, base, layout, layout.initInfo(layout.sigstruct({ enclaveHash: expected })));
      assert.deepEqual(p.processor.inspect.enclaves()[0]!.mrenclave, expected);
      H.teardown(p);
    });

    test('W11 PAGE_ENCLAVE_UNVALIDATED: MRENCLAVE includes the EADD record only', () => {
      const p = H.platformFor(profile);
      const data = new Uint8Array(4096).fill(0x5a);
      const layout = new H.TestLayout({ pages: [{ offset: 0x2000, protect: (W.PAGE_READWRITE | W.PAGE_ENCLAVE_UNVALIDATED) >>> 0, data }] });
      const m = new Measurement(defaultCrypto());
      m.ecreate(1, layout.size);
      m.eadd(0x2000, (PT.REG << 8) | 3);
      const expected = m.finalize();
      const base = H.create(p, layout);
      H.loadPage(p, base, layout.pages[0]!);
      H.initialize(p, base, layout, layout.initInfo(layout.sigstruct({ enclaveHash: expected })));
      assert.deepEqual(p.processor.inspect.enclaves()[0]!.mrenclave, expected);
      H.teardown(p);
    });

    test('W12 InitializeEnclave with ENCLAVEHASH ≠ MRENCLAVE → FALSE/349, *lpEnclaveError = 4', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      const err = { value: H.SENT_OUT };
      expectFailure(p, p.kernel32.InitializeEnclave(-1, base, L.initInfo(L.sigstruct({ enclaveHash: new Uint8Array(32).fill(1) })), 4096, err), 349, W.STATUS_ENCLAVE_FAILURE);
      assert.equal(err.value, 4);
      H.teardown(p);
    });

    test('W13 EINIT forced to SGX_UNMASKED_EVENT → FALSE/1237, *lpEnclaveError = 0x80; a retry succeeds', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      p.processor.lps[0]!.injectInterrupt();
      const err = { value: H.SENT_OUT };
      expectFailure(p, p.kernel32.InitializeEnclave(-1, base, L.initInfo(), 4096, err), 1237, W.STATUS_RETRY);
      assert.equal(err.value, 0x80);
      assert.equal(p.processor.inspect.enclaves()[0]!.state, 'uninitialized');
      H.initialize(p, base, L);
      H.teardown(p);
    });

    test('W13 with the processor\'s EINIT event rate at 1: every attempt gives ERROR_RETRY, the enclave stays retryable', () => {
      const p = H.platformFor(profile, { processor: { einitUnmaskedEventRate: 1 } });
      const base = H.buildTo(p, L, 'loaded');
      for (let i = 0; i < 3; i++) {
        const err = { value: H.SENT_OUT };
        expectFailure(p, p.kernel32.InitializeEnclave(-1, base, L.initInfo(), 4096, err), 1237, W.STATUS_RETRY);
        assert.equal(err.value, 0x80);
      }
      H.teardown(p);
    });

    test('W14 InitializeEnclave with dwInfoLength = 2048 → FALSE/24', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      const err = { value: H.SENT_OUT };
      expectFailure(p, p.kernel32.InitializeEnclave(-1, base, L.initInfo(), 2048, err), 24, W.STATUS_INFO_LENGTH_MISMATCH);
      assert.equal(err.value, H.SENT_OUT);
      H.teardown(p);
    });

    test('W15 (VBS not modelled): a VBS enclave cannot be created (NULL/50); an SGX enclave is deleted without TerminateEnclave', () => {
      const p = H.platformFor(profile);
      expectFailure(p, p.kernel32.CreateEnclave(-1, 0, 2 * MiB, 0, W.ENCLAVE_TYPE_VBS, new Uint8Array(36), 36, null), 50, W.STATUS_NOT_SUPPORTED);
      const base = H.buildTo(p, L, 'initialized');
      assert.equal(p.kernel32.DeleteEnclave(base), true);
      assert.equal(p.kernel32.lastNtStatus, W.STATUS_SUCCESS);
      H.assertPristine(p, 'after DeleteEnclave');
    });

    test('W16 VirtualFree(base, 0, MEM_RELEASE) on an SGX enclave → TRUE; range free', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'initialized');
      assert.equal(p.kernel32.VirtualFree(base, 0, W.MEM_RELEASE), true);
      H.assertPristine(p, 'after VirtualFree');
      for (let v = base / 4096; v < (base + L.size) / 4096; v++) assert.equal(p.process.pageTable.lookup(v), null);
      // the range can be reserved again, by private memory or by another enclave
      assert.equal(p.kernel32.VirtualAlloc(base, L.size, W.MEM_RESERVE, W.PAGE_READWRITE), base);
      assert.equal(p.kernel32.VirtualFree(base, 0, W.MEM_RELEASE), true);
      assert.equal(H.buildTo(p, L, 'initialized', base), base);
      H.teardown(p);
    });
  });
}
