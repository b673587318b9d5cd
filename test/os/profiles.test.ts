/**
 * The platform profiles (specs/os-api.md §0.2, §2.1) and the layering of §2.3/§2.5: which exports
 * each profile resolves, the seed's build-10514 ARM stub codes at the Nt and Win32 levels, the
 * win-absent profile, the IsEnclaveTypeSupported predicate (§2.6) and RtlNtStatusToDosError.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as W from '../../src/os/windows/constants.js';
import { WINDOWS_PROFILES, rtlNtStatusToDosError, ntSuccess, type Kernel32, type WindowsProfileId } from '../../src/os/windows/index.js';
import * as H from '../helpers/windows.js';
import { OsError } from '../../src/os/index.js';

const ENCLAVE_EXPORTS = ['IsEnclaveTypeSupported', 'CreateEnclave', 'LoadEnclaveData', 'InitializeEnclave', 'DeleteEnclave', 'CallEnclave', 'TerminateEnclave'] as const;
const OTHER_EXPORTS = ['GetLastError', 'SetLastError', 'GetCurrentProcess', 'GetProcAddress', 'VirtualAlloc', 'VirtualFree', 'ReadProcessMemory', 'WriteProcessMemory'] as const;

/** §0.2 / §2.1: the enclave exports each profile has. */
const EXPORTED: Record<WindowsProfileId, readonly string[]> = {
  'win-absent': [],
  'win-stub-10514-arm': ['CreateEnclave', 'LoadEnclaveData', 'InitializeEnclave'],
  'win-x64-nosgx': ENCLAVE_EXPORTS,
  'win-x64-sgx1': ENCLAVE_EXPORTS,
  'win-x64-sgx2': ENCLAVE_EXPORTS,
};

test('the implementation offers exactly the profiles of §0.2 that it models', () => {
  assert.deepEqual([...WINDOWS_PROFILES], [...H.PROFILES]);
});

describe('§2.1 export surface: GetProcAddress(kernel32, name)', () => {
  for (const profile of H.PROFILES) {
    for (const name of [...ENCLAVE_EXPORTS, ...OTHER_EXPORTS]) {
      const present = !(ENCLAVE_EXPORTS as readonly string[]).includes(name) || EXPORTED[profile].includes(name);
      test(`[${profile}] ${name} → ${present ? 'resolved' : 'NULL, ERROR_PROC_NOT_FOUND'}`, () => {
        const p = H.platformFor(profile);
        const k32 = p.kernel32;
        k32.SetLastError(H.SENT_ERR);
        const f = k32.GetProcAddress(0, name);
        if (present) {
          assert.equal(typeof f, 'function');
          assert.equal(k32.GetLastError(), H.SENT_ERR, 'a successful lookup does not set the last error');
        } else {
          assert.equal(f, null);
          assert.equal(k32.GetLastError(), W.ERROR_PROC_NOT_FOUND);
        }
      });
    }
  }
  test('an unknown name and a private member resolve to NULL with ERROR_PROC_NOT_FOUND', () => {
    const k32 = H.platformFor('win-x64-sgx1').kernel32;
    for (const name of ['LoadEnclaveImageW', 'EnclaveGetAttestationReport', 'nt', 'lastNtStatus', '__proto__', '']) {
      k32.SetLastError(0);
      assert.equal(k32.GetProcAddress(0, name), null, name);
      assert.equal(k32.GetLastError(), W.ERROR_PROC_NOT_FOUND, name);
    }
  });
  test('JavaScript members that are not kernel32 exports resolve to NULL', () => {
    const k32 = H.platformFor('win-x64-sgx1').kernel32;
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      k32.SetLastError(0);
      assert.equal(k32.GetProcAddress(0, name), null, name);
      assert.equal(k32.GetLastError(), W.ERROR_PROC_NOT_FOUND, name);
    }
  });
  test('a resolved pointer behaves as the function (ARM stub CreateEnclave through GetProcAddress)', () => {
    const p = H.platformFor('win-stub-10514-arm');
    const create = p.kernel32.GetProcAddress(0, 'CreateEnclave') as unknown as Kernel32['CreateEnclave'];
    assert.equal(create(-1, 0, 0x100_0000, 0, W.ENCLAVE_TYPE_SGX, H.standardLayout().secs({ SIZE: 0x100_0000n }), 4096, null), 0);
    assert.equal(p.kernel32.GetLastError(), W.ERROR_INVALID_PARAMETER);
    assert.equal(p.kernel32.lastNtStatus, W.STATUS_INVALID_PARAMETER_6);
  });
});

/** Every enclave function called with `args` on a profile; returns what it returned. */
function callEach(k32: Kernel32, base: number): Record<(typeof ENCLAVE_EXPORTS)[number], () => boolean | number> {
  const layout = H.standardLayout();
  return {
    IsEnclaveTypeSupported: () => k32.IsEnclaveTypeSupported(W.ENCLAVE_TYPE_SGX),
    CreateEnclave: () => k32.CreateEnclave(-1, 0, layout.size, 0, W.ENCLAVE_TYPE_SGX, layout.secs(), 4096, { value: H.SENT_OUT }),
    LoadEnclaveData: () => k32.LoadEnclaveData(-1, base, layout.pages[0]!.data, 4096, layout.pages[0]!.protect, null, 0, { value: H.SENT_OUT }, { value: H.SENT_OUT }),
    InitializeEnclave: () => k32.InitializeEnclave(-1, base, layout.initInfo(), 4096, { value: H.SENT_OUT }),
    DeleteEnclave: () => k32.DeleteEnclave(base),
    CallEnclave: () => k32.CallEnclave(base, 0, true, { value: H.SENT_OUT }),
    TerminateEnclave: () => k32.TerminateEnclave(base, true),
  };
}

describe('§0.2 win-absent: every enclave function is unresolvable', () => {
  for (const name of ENCLAVE_EXPORTS) {
    test(`${name} → ${name === 'CreateEnclave' ? 'NULL' : 'FALSE'}, 127, no Nt call, nothing allocated`, () => {
      const p = H.platformFor('win-absent');
      const k32 = p.kernel32;
      k32.SetLastError(H.SENT_ERR);
      k32.lastNtStatus = H.SENT_NT;
      const r = callEach(k32, H.FIX_BASE)[name]();
      assert.equal(r, name === 'CreateEnclave' ? 0 : false);
      assert.equal(k32.GetLastError(), W.ERROR_PROC_NOT_FOUND);
      assert.equal(k32.lastNtStatus, H.SENT_NT);
      assert.equal(k32.GetProcAddress(0, name), null);
      H.assertPristine(p, 'after the call');
    });
  }
});

describe('§0.2 win-stub-10514-arm: the seed\'s codes', () => {
  const stub = (): { k32: Kernel32; p: ReturnType<typeof H.platformFor> } => {
    const p = H.platformFor('win-stub-10514-arm');
    return { p, k32: p.kernel32 };
  };
  const layout = H.standardLayout();
  // valid arguments, NULL/garbage arguments: the stub ignores all of them
  const createArgs: [string, Parameters<Kernel32['CreateEnclave']>][] = [
    ['W1: (-1, NULL, 0x1000000, 0, SGX, secs, 4096, &e)', [-1, 0, 0x100_0000, 0, W.ENCLAVE_TYPE_SGX, layout.secs({ SIZE: 0x100_0000n }), 4096, { value: H.SENT_OUT }]],
    ['a valid 128 KiB enclave at a given address', [-1, H.FIX_BASE, layout.size, 0, W.ENCLAVE_TYPE_SGX, layout.secs(), 4096, { value: H.SENT_OUT }]],
    ['every argument invalid', [0, 3, 3, 9, 0x10, null, 0, { value: H.SENT_OUT }]],
    ['ENCLAVE_TYPE_SGX2', [-1, 0, layout.size, 0, W.ENCLAVE_TYPE_SGX2, layout.secs(), 4096, { value: H.SENT_OUT }]],
  ];
  for (const [what, args] of createArgs) {
    test(`CreateEnclave ${what} → NULL, STATUS_INVALID_PARAMETER_6, 87; *lpEnclaveError not written`, () => {
      const { p, k32 } = stub();
      assert.equal(k32.CreateEnclave(...args), 0);
      assert.equal(k32.lastNtStatus, 0xc00000f4);
      assert.equal(k32.GetLastError(), 87);
      assert.deepEqual(args[7], { value: H.SENT_OUT });
      H.assertPristine(p, 'after the call');
    });
    test(`NtCreateEnclave ${what} → 0xC00000F4 (parameter 6 = EnclaveType)`, () => {
      const { p, k32 } = stub();
      const baseBox = { value: args[1] };
      assert.equal(k32.nt.NtCreateEnclave(args[0], baseBox, 0, args[2], args[3], args[4], args[5], args[6], args[7]), 0xc00000f4);
      assert.equal(baseBox.value, args[1], '*BaseAddress not written');
      H.assertPristine(p, 'after the call');
    });
  }
  const loads: [string, (k32: Kernel32) => boolean][] = [
    ['valid page', (k) => k.LoadEnclaveData(-1, H.FIX_BASE, layout.pages[2]!.data, 4096, W.PAGE_READWRITE, null, 0, { value: H.SENT_OUT }, { value: H.SENT_OUT })],
    ['invalid handle, misaligned, bad protection', (k) => k.LoadEnclaveData(0, 3, null, 5, W.PAGE_NOACCESS, new Uint8Array(64), 64, { value: H.SENT_OUT }, { value: H.SENT_OUT })],
  ];
  for (const [what, call] of loads) {
    test(`W2 LoadEnclaveData (${what}) → FALSE, STATUS_CONFLICTING_ADDRESSES, 487`, () => {
      const { p, k32 } = stub();
      assert.equal(call(k32), false);
      assert.equal(k32.lastNtStatus, 0xc0000018);
      assert.equal(k32.GetLastError(), 487);
      H.assertPristine(p, 'after the call');
    });
  }
  const inits: [string, (k32: Kernel32, err: { value: number }) => boolean][] = [
    ['valid information', (k, e) => k.InitializeEnclave(-1, H.FIX_BASE, layout.initInfo(), 4096, e)],
    ['invalid handle, NULL information, length 0', (k, e) => k.InitializeEnclave(0, 0, null, 0, e)],
  ];
  for (const [what, call] of inits) {
    test(`W2 InitializeEnclave (${what}) → FALSE, STATUS_CONFLICTING_ADDRESSES, 487; *lpEnclaveError not written`, () => {
      const { p, k32 } = stub();
      const err = { value: H.SENT_OUT };
      assert.equal(call(k32, err), false);
      assert.equal(k32.lastNtStatus, 0xc0000018);
      assert.equal(k32.GetLastError(), 487);
      assert.equal(err.value, H.SENT_OUT);
      H.assertPristine(p, 'after the call');
    });
  }
  test('W2 at the Nt level: NtLoadEnclaveData and NtInitializeEnclave → 0xC0000018', () => {
    const { k32 } = stub();
    const written = { value: H.SENT_OUT };
    assert.equal(k32.nt.NtLoadEnclaveData(-1, H.FIX_BASE, layout.pages[2]!.data, 4096, W.PAGE_READWRITE, null, 0, written, null), 0xc0000018);
    assert.equal(written.value, H.SENT_OUT);
    assert.equal(k32.nt.NtInitializeEnclave(-1, H.FIX_BASE, layout.initInfo(), 4096, null), 0xc0000018);
  });
  for (const name of ['IsEnclaveTypeSupported', 'DeleteEnclave', 'CallEnclave', 'TerminateEnclave'] as const) {
    test(`${name} is not exported in build 10514 → 127, GetProcAddress NULL, no Nt call`, () => {
      const { k32 } = stub();
      k32.lastNtStatus = H.SENT_NT;
      k32.SetLastError(0);
      assert.equal(callEach(k32, H.FIX_BASE)[name](), false);
      assert.equal(k32.GetLastError(), W.ERROR_PROC_NOT_FOUND);
      assert.equal(k32.lastNtStatus, H.SENT_NT);
      assert.equal(k32.GetProcAddress(0, name), null);
    });
  }
});

describe('§2.6 IsEnclaveTypeSupported predicate', () => {
  const expected: Record<WindowsProfileId, readonly number[]> = {
    'win-absent': [], 'win-stub-10514-arm': [], 'win-x64-nosgx': [], 'win-x64-sgx1': [W.ENCLAVE_TYPE_SGX], 'win-x64-sgx2': [W.ENCLAVE_TYPE_SGX, W.ENCLAVE_TYPE_SGX2],
  };
  for (const profile of H.PROFILES) {
    test(`[${profile}] supported types: ${expected[profile].join(', ') || 'none'}; no side effects`, () => {
      const p = H.platformFor(profile);
      const k32 = p.kernel32;
      for (const type of [0, W.ENCLAVE_TYPE_SGX, W.ENCLAVE_TYPE_SGX2, 3, 4, 8, W.ENCLAVE_TYPE_VBS, W.ENCLAVE_TYPE_VBS_BASIC, 0x20, 0x8000_0000, 0xffff_ffff]) {
        k32.SetLastError(H.SENT_ERR);
        k32.lastNtStatus = H.SENT_NT;
        const r = k32.IsEnclaveTypeSupported(type);
        const want = expected[profile].includes(type);
        assert.equal(r, want, `type 0x${type.toString(16)}`);
        const wantErr = profile === 'win-absent' || profile === 'win-stub-10514-arm' ? W.ERROR_PROC_NOT_FOUND : want ? H.SENT_ERR : W.ERROR_NOT_SUPPORTED;
        assert.equal(k32.GetLastError(), wantErr, `type 0x${type.toString(16)}: GetLastError`);
        assert.equal(k32.lastNtStatus, H.SENT_NT);
      }
      H.assertPristine(p, 'after the queries');
    });
  }
  test('the Nt-level predicate agrees on the x64 profiles, including the stub\'s processor (no SGX)', () => {
    for (const profile of H.PROFILES) {
      const nt = H.platformFor(profile).kernel32.nt;
      const want = expected[profile];
      // win-absent runs on an SGX-capable processor: the exports are missing, the hardware is not
      const hw = profile === 'win-absent' ? [W.ENCLAVE_TYPE_SGX] : want;
      assert.deepEqual([W.ENCLAVE_TYPE_SGX, W.ENCLAVE_TYPE_SGX2, W.ENCLAVE_TYPE_VBS].filter((t) => nt.typeSupported(t)), hw, profile);
    }
  });
});

describe('§2.3 RtlNtStatusToDosError', () => {
  const table: [string, number, number][] = [
    ['STATUS_SUCCESS', 0x0000_0000, 0],
    ['STATUS_INFO_LENGTH_MISMATCH', 0xc000_0004, 24],
    ['STATUS_ACCESS_VIOLATION', 0xc000_0005, 998],
    ['STATUS_INVALID_HANDLE', 0xc000_0008, 6],
    ['STATUS_INVALID_PARAMETER', 0xc000_000d, 87],
    ['STATUS_NO_MEMORY', 0xc000_0017, 8],
    ['STATUS_CONFLICTING_ADDRESSES', 0xc000_0018, 487],
    ['STATUS_UNABLE_TO_FREE_VM', 0xc000_001a, 87],
    ['STATUS_ALREADY_COMMITTED', 0xc000_0021, 5],
    ['STATUS_NOT_COMMITTED', 0xc000_002d, 487],
    ['STATUS_INVALID_PAGE_PROTECTION', 0xc000_0045, 87],
    ['STATUS_INSUFFICIENT_RESOURCES', 0xc000_009a, 1450],
    ['STATUS_FREE_VM_NOT_AT_BASE', 0xc000_009f, 487],
    ['STATUS_MEMORY_NOT_ALLOCATED', 0xc000_00a0, 487],
    ['STATUS_NOT_SUPPORTED', 0xc000_00bb, 50],
    ['STATUS_COMMITMENT_LIMIT', 0xc000_012d, 1455],
    ['STATUS_RETRY', 0xc000_022d, 1237],
    ['STATUS_ENCLAVE_FAILURE', 0xc000_048f, 349],
    ['STATUS_ENCLAVE_VIOLATION', 0xc000_04a2, 815],
    ['STATUS_ALREADY_INITIALIZED', 0xc000_0510, 1247],
    ['STATUS_ENCLAVE_NOT_TERMINATED', 0xc000_0511, 814],
  ];
  for (let i = 1; i <= 12; i++) table.push([`STATUS_INVALID_PARAMETER_${i}`, 0xc000_00ef + i - 1, 87]);
  for (const [name, status, err] of table) {
    test(`${name} (${H.hex32(status)}) → ${err}`, () => {
      assert.equal(rtlNtStatusToDosError(status), err);
      assert.equal(rtlNtStatusToDosError(status | 0), err, 'as a signed 32-bit value');
      assert.equal(ntSuccess(status), status === 0);
      if (status !== 0) assert.equal(rtlNtStatusToDosError(((status & 0x0fff_ffff) | 0xd000_0000) >>> 0), err, '0xD… is treated like 0xC…');
    });
  }
  test('STATUS_PARTIAL_COPY (0x8000000D, a warning) → ERROR_PARTIAL_COPY (299), and it is not NT_SUCCESS', () => {
    assert.equal(rtlNtStatusToDosError(W.STATUS_PARTIAL_COPY), 299);
    assert.equal(W.STATUS_PARTIAL_COPY, 0x8000_000d);
    assert.equal(ntSuccess(W.STATUS_PARTIAL_COPY), false);
  });
  test('unmapped codes → ERROR_MR_MID_NOT_FOUND (317)', () => {
    for (const s of [0xc000_0001, 0xc0ff_ffff, 0xd000_0001, 0x8000_0005]) assert.equal(rtlNtStatusToDosError(s), 317, H.hex32(s));
  });
  test('the constants carry the values of §2.3', () => {
    assert.deepEqual(
      [W.ERROR_ACCESS_DENIED, W.ERROR_INVALID_HANDLE, W.ERROR_NOT_ENOUGH_MEMORY, W.ERROR_BAD_LENGTH, W.ERROR_NOT_SUPPORTED, W.ERROR_INVALID_PARAMETER, W.ERROR_PROC_NOT_FOUND, W.ERROR_PARTIAL_COPY,
        W.ERROR_ENCLAVE_FAILURE, W.ERROR_INVALID_ADDRESS, W.ERROR_ENCLAVE_NOT_TERMINATED, W.ERROR_ENCLAVE_VIOLATION, W.ERROR_NOACCESS, W.ERROR_RETRY, W.ERROR_ALREADY_INITIALIZED,
        W.ERROR_NO_SYSTEM_RESOURCES, W.ERROR_COMMITMENT_LIMIT],
      [5, 6, 8, 24, 50, 87, 127, 299, 349, 487, 814, 815, 998, 1237, 1247, 1450, 1455]);
    assert.deepEqual([W.ENCLAVE_TYPE_SGX, W.ENCLAVE_TYPE_SGX2, W.ENCLAVE_TYPE_VBS, W.ENCLAVE_TYPE_VBS_BASIC], [1, 2, 0x10, 0x11]);
    assert.deepEqual([W.PAGE_ENCLAVE_THREAD_CONTROL, W.PAGE_ENCLAVE_UNVALIDATED, W.PAGE_ENCLAVE_MASK, W.PAGE_ENCLAVE_SS_FIRST, W.PAGE_ENCLAVE_SS_REST],
      [0x8000_0000, 0x2000_0000, 0x1000_0000, 0x1000_0001, 0x1000_0002]);
  });
});

describe('the Windows knobs (specs/os-api.md §7.1) are checked when the platform is made', () => {
  test('a knob no Windows could have is OsError BAD_WINDOWS_CONFIG naming it; the defaults and error-severity statuses are accepted', () => {
    const bad: [string, Record<string, unknown>][] = [
      ['epcExhaustedStatus', { epcExhaustedStatus: W.STATUS_SUCCESS }],
      ['epcExhaustedStatus', { epcExhaustedStatus: 0x8000_0005 }], // a warning
      ['secondInitStatus', { secondInitStatus: 0x103 }], // STATUS_PENDING: a success code
      ['secondInitStatus', { secondInitStatus: -1 }],
      ['osInternalEinitRetries', { osInternalEinitRetries: -1 }],
      ['osInternalEinitRetries', { osInternalEinitRetries: Infinity }],
      ['osInternalEinitRetries', { osInternalEinitRetries: Number.NaN }],
      ['launchPolicy', { launchPolicy: 'anything' }],
      ['acceptZeroProtection', { acceptZeroProtection: 1 }],
    ];
    for (const [knob, windows] of bad) {
      assert.throws(() => H.platformFor('win-x64-sgx1', { windows: windows as never }), (e: unknown) => e instanceof OsError && e.code === 'BAD_WINDOWS_CONFIG' && e.message.includes(knob), JSON.stringify(windows));
    }
    for (const windows of [{}, { epcExhaustedStatus: W.STATUS_INSUFFICIENT_RESOURCES, secondInitStatus: W.STATUS_INVALID_PARAMETER, osInternalEinitRetries: 3, launchPolicy: 'token' as const, acceptZeroProtection: false }]) {
      assert.ok(H.platformFor('win-x64-sgx1', { windows }));
    }
  });
});
