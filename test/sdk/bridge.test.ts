/**
 * The checks of edger8r's bridges and of the Intel SDK's trusted functions, made by the trusted
 * runtime as they are made there (linux-sgx: edger8r's generated code, tSeal.cpp, trts):
 * - a buffer's length must be whole elements of its pointee (`_len % sizeof(*_tmp) != 0` →
 *   SGX_ERROR_INVALID_PARAMETER), on the ECALL side and the OCALL side;
 * - a string copied in gets its terminator where the scan found it, and one that became shorter
 *   while it was copied is SGX_ERROR_UNEXPECTED;
 * - an empty buffer reaches the body as NULL (marshal.test.ts); an [in, out, string] the host
 *   returns from an OCALL is terminated again;
 * - the services refuse NULL where the SDK's functions do, and sgx_is_outside_enclave checks the
 *   address of an empty range.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { u64le } from '../../src/lib/index.js';
import { EXIT_ECALL_RETURN } from '../../src/sdk/index.js';
import { ENCLU } from '../../src/arch/index.js';
import { newPlatform, loadFixture, untrusted, ecallPlan, writeMs, rawEnter, readLog, assertStatus, RAW_AEP, STATUS } from '../helpers/sdk.js';

describe('services', () => {
  test('NULL where the SDK function needs a buffer, or read_rand of 0 bytes → INVALID_PARAMETER', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'bridge', { ocalls: { ocall_str: () => undefined, ocall_sized: () => undefined } });
    const names = ['read_rand(NULL, 16)', 'read_rand(buf, 0)', 'create_report(NULL, NULL, NULL)', 'get_key(NULL, NULL)', '', 'seal(NULL text)', 'seal(into NULL)', 'unseal(into NULL)', 'verify_report(NULL)'];
    names.forEach((what, which) => {
      if (what !== '') assert.equal(e.ecall('ecall_service', [which, 0]), STATUS.INVALID_PARAMETER, what);
    });
    e.destroy();
  });

  test('is_outside_enclave(addr, 0): 0 for an address inside ELRANGE, 1 outside (the address of an empty range is checked)', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'bridge', { ocalls: { ocall_str: () => undefined, ocall_sized: () => undefined } });
    assert.equal(e.ecall('ecall_service', [4, BigInt(e.base + 0x1000)]), 0);
    assert.equal(e.ecall('ecall_service', [4, BigInt(e.base + e.size - 1)]), 0);
    assert.equal(e.ecall('ecall_service', [4, BigInt(e.base + e.size)]), 1);
    assert.equal(e.ecall('ecall_service', [4, BigInt(e.base - 1)]), 1);
    e.destroy();
  });
});

describe('buffer lengths in whole elements', () => {
  test('ECALL [in, size=n] const uint32_t *: n = 3 → INVALID_PARAMETER (the body does not run); n = 4 and 8 arrive', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'bridge', { ocalls: { ocall_str: () => undefined, ocall_sized: () => undefined } });
    const words = Uint8Array.from([1, 2, 3, 0xab, 5, 6, 7, 8]);
    for (const n of [1, 2, 3, 5, 7]) assertStatus(() => e.ecall('ecall_sized', [words, n]), STATUS.INVALID_PARAMETER, `n = ${n}`);
    assert.equal(e.ecall('ecall_sized', [words, 4]), 0xab030201);
    assert.equal(e.ecall('ecall_sized', [words, 8]), 0xab030201);
    assert.equal(e.ecall('ecall_sized', [null, 3]), 0xffffffff, 'NULL: no length to check');
    e.destroy();
  });

  test('OCALL [in, size=n] const uint32_t *: n = 6 → INVALID_PARAMETER before the OCALL; n = 8 reaches the host', () => {
    const p = newPlatform();
    const got: Uint8Array[] = [];
    const e = loadFixture(p, 'bridge', { ocalls: { ocall_str: () => undefined, ocall_sized: (...a) => void got.push((a[0] as Uint8Array).slice()) } });
    assert.equal(e.ecall('ecall_ocall_sized', [6]), STATUS.INVALID_PARAMETER);
    assert.equal(got.length, 0, 'the OCALL was not made');
    assert.equal(e.ecall('ecall_ocall_sized', [8]), STATUS.SUCCESS);
    assert.deepEqual(got, [Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0])]);
    e.destroy();
  });
});

describe('strings', () => {
  test('an [in, out, string] the host returns without a terminator comes back terminated in its last byte; one with an early terminator ends there', () => {
    const p = newPlatform();
    let fill = (s: Uint8Array): void => void s.fill(0x58);
    const e = loadFixture(p, 'bridge', { ocalls: { ocall_str: (...a) => fill(a[0] as Uint8Array), ocall_sized: () => undefined } });
    assert.equal(e.ecall('ecall_ocall_str'), 7, 'strlen stops at the 8-byte buffer\'s last byte');
    fill = (s) => s.set([0x61, 0x62, 0, 0x58, 0x58, 0x58, 0x58, 0x58]);
    assert.equal(e.ecall('ecall_ocall_str'), 2);
    e.destroy();
  });

  /**
   * ecall_in_wstring of "AB" at the end of a page, its terminator unit at the start of the next:
   * the runtime's scan faults on the second page, the host maps it; the copy then faults on the
   * first, and while it waits the host writes `change` at `at`. Returns RAX and the return slot.
   */
  function changedDuringCopy(at: 'terminator' | 'B', change: number[]): { status: number; ret: bigint; ran: boolean } {
    const p = newPlatform();
    const e = loadFixture(p, 'marshal');
    assert.equal(e.ecall('ecall_in_wstring', ['Z'.repeat(60)]), 60); // stale wide characters on the heap
    const U = untrusted(p, 0x10000);
    const P1 = U + 0x2000, P2 = U + 0x3000;
    const s = P2 - 8;
    p.process.write(s, new Uint8Array([0x41, 0, 0, 0, 0x42, 0, 0, 0]));
    p.process.write(P2, new Uint8Array([0, 0, 0, 0]));
    const pt = p.process.pageTable;
    const pte1 = pt.lookup(P1 / 4096)!, pte2 = pt.lookup(P2 / 4096)!;
    assert.ok(pt.unmap(P2 / 4096));
    writeMs(p, U, [s]);
    e.ecall('ecall_void');
    const before = readLog(e);
    let faults = 0;
    const { exit, regs } = rawEnter(p, e, {
      tcs: e.tcs[1]!, index: ecallPlan(e, 'ecall_in_wstring').index, ms: U, scratch: U + 0x8000, scratchSize: 0x1000,
      handler: (x, r) => {
        if (x.reason !== 'aex' || x.vector !== 14) return 0;
        faults++;
        if (faults === 1) {
          pt.map(P2 / 4096, pte2.pfn, pte2.flags); // the scan goes on and finds the terminator…
          assert.ok(pt.unmap(P1 / 4096)); // …and the copy faults on P1
        } else {
          pt.map(P1 / 4096, pte1.pfn, pte1.flags);
          p.process.write(at === 'terminator' ? P2 : s + 4, new Uint8Array(change));
        }
        r.rbx = e.tcs[1]!;
        r.rcx = RAW_AEP;
        return ENCLU.ERESUME;
      },
    });
    assert.equal(faults, 2);
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rdi, EXIT_ECALL_RETURN);
    const ran = JSON.stringify(readLog(e)) !== JSON.stringify(before);
    const ret = u64le(p.process.read(U + 8, 8), 0);
    e.destroy();
    return { status: regs.rax, ret, ran };
  }

  test('an [in, wstring] whose terminator the host changes between the runtime\'s scan and its copy arrives terminated where the scan found it', () => {
    const r = changedDuringCopy('terminator', [0x43, 0, 0, 0]); // the terminator unit is now 'C' (its last byte still 0)
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(r.ret & 0xffffffffn, 2n, 'the enclave\'s wcslen is 2, not past the buffer');
  });

  test('an [in, wstring] shortened during the copy (a terminator before the scanned one) → UNEXPECTED, and the body does not run', () => {
    const r = changedDuringCopy('B', [0, 0, 0, 0]);
    assert.equal(r.status, STATUS.UNEXPECTED);
    assert.equal(r.ran, false);
  });
});
