/**
 * Private memory through kernel32 (VirtualAlloc, VirtualFree): the commit charge against RAM, the
 * ranges MEM_DECOMMIT accepts (Windows Research Kernel, base/ntos/mm/allocvm.c and freevm.c), and
 * the rounding of an unaligned MEM_RESERVE. Every failure is checked to leave the process and the
 * frame allocator exactly as before.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as W from '../../src/os/windows/constants.js';
import type { Platform } from '../../src/platform/index.js';
import * as H from '../helpers/windows.js';

const PAGE = 4096;
const RW = W.PAGE_READWRITE;
const RESERVE_COMMIT = W.MEM_RESERVE | W.MEM_COMMIT;

const { failed } = H;
const call = H.observe;

/** What a failing call must not change: the reservations, their committed pages and the frame allocator. */
function memoryState(p: Platform): unknown {
  return {
    regions: p.process.regions.map((r) => ({ base: r.base, size: r.size, kind: r.kind, committed: [...r.committed.keys()].sort((a, b) => a - b) })),
    inUse: p.kernel.ram.inUse,
    available: p.kernel.ram.available,
    mapped: p.process.pageTable.size,
  };
}

/** A platform with 16 MiB of RAM: small enough to commit all of it. */
const smallRam = (): Platform => H.platformFor('win-x64-sgx1', { processor: { ramSize: 2 ** 24 } });

describe('VirtualAlloc: the commit charge is checked before anything is allocated', () => {
  for (const size of [2 ** 40, 2 ** 34]) {
    test(`MEM_RESERVE|MEM_COMMIT of 0x${size.toString(16)} bytes → NULL, ERROR_COMMITMENT_LIMIT, nothing reserved or allocated`, () => {
      const p = H.platformFor('win-x64-sgx1');
      const before = memoryState(p);
      assert.deepEqual(call(p, () => p.kernel32.VirtualAlloc(0, size, RESERVE_COMMIT, RW)), failed(W.ERROR_COMMITMENT_LIMIT, W.STATUS_COMMITMENT_LIMIT, 0));
      assert.deepEqual(memoryState(p), before);
    });
  }

  test('MEM_RESERVE alone of 2^40 bytes succeeds (address space only); committing it all fails, committing two pages of it works', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k32 = p.kernel32;
    const inUse0 = p.kernel.ram.inUse;
    const base = k32.VirtualAlloc(0, 2 ** 40, W.MEM_RESERVE, RW);
    assert.notEqual(base, 0);
    assert.equal(p.kernel.ram.inUse, inUse0, 'a reservation takes no frame');
    const before = memoryState(p);
    assert.deepEqual(call(p, () => k32.VirtualAlloc(base, 2 ** 40, W.MEM_COMMIT, RW)), failed(W.ERROR_COMMITMENT_LIMIT, W.STATUS_COMMITMENT_LIMIT, 0));
    assert.deepEqual(memoryState(p), before);
    assert.deepEqual(call(p, () => k32.VirtualAlloc(base + 2 ** 39, 2 * PAGE, W.MEM_COMMIT, RW)), { ret: base + 2 ** 39, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
    p.process.write(base + 2 ** 39 + PAGE, new Uint8Array([1, 2, 3]));
    assert.equal(k32.VirtualFree(base, 0, W.MEM_RELEASE), true);
    H.assertPristine(p);
  });

  test('the limit is the free RAM, exactly: `available` pages commit, one more does not', () => {
    const p = smallRam();
    const k32 = p.kernel32;
    const n = p.kernel.ram.available;
    assert.ok(n > 1000 && n < 4096, `${n} frames free`);
    const inUse = p.kernel.ram.inUse;
    const before = memoryState(p);
    assert.deepEqual(call(p, () => k32.VirtualAlloc(0, (n + 1) * PAGE, RESERVE_COMMIT, RW)), failed(W.ERROR_COMMITMENT_LIMIT, W.STATUS_COMMITMENT_LIMIT, 0));
    assert.deepEqual(memoryState(p), before);
    const base = k32.VirtualAlloc(0, n * PAGE, RESERVE_COMMIT, RW);
    assert.notEqual(base, 0);
    assert.equal(p.kernel.ram.available, 0);
    assert.equal(p.kernel.ram.inUse, inUse + n);
    // recommitting what is committed needs no frame
    assert.equal(k32.VirtualAlloc(base, n * PAGE, W.MEM_COMMIT, W.PAGE_READONLY), base);
    assert.equal(k32.VirtualFree(base, 0, W.MEM_RELEASE), true);
    assert.equal(p.kernel.ram.inUse, inUse);
    assert.equal(p.kernel.ram.available, n);
  });

  test('MEM_COMMIT of a range partly committed charges only the new pages', () => {
    const p = smallRam();
    const k32 = p.kernel32;
    const n = p.kernel.ram.available;
    const base = k32.VirtualAlloc(0, (n + 4) * PAGE, W.MEM_RESERVE, RW);
    assert.equal(k32.VirtualAlloc(base, 4 * PAGE, W.MEM_COMMIT, RW), base);
    // n + 4 pages of which 4 are committed need n frames; n - 4 are free
    const before = memoryState(p);
    assert.deepEqual(call(p, () => k32.VirtualAlloc(base, (n + 4) * PAGE, W.MEM_COMMIT, RW)), failed(W.ERROR_COMMITMENT_LIMIT, W.STATUS_COMMITMENT_LIMIT, 0));
    assert.deepEqual(memoryState(p), before);
    assert.equal(k32.VirtualAlloc(base, n * PAGE, W.MEM_COMMIT, RW), base, 'n pages of which 4 committed: n - 4 frames');
    assert.equal(p.kernel.ram.available, 0);
    assert.equal(k32.VirtualFree(base, 0, W.MEM_RELEASE), true);
    assert.equal(p.kernel.ram.available, n);
  });

  test('bad lpAddress values → NULL, ERROR_INVALID_PARAMETER, nothing reserved', () => {
    const p = H.platformFor('win-x64-sgx1');
    const before = memoryState(p);
    for (const at of [Number.NaN, -PAGE, 2 ** 64, 1.5]) {
      assert.deepEqual(call(p, () => p.kernel32.VirtualAlloc(at, PAGE, RESERVE_COMMIT, RW)), failed(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER, 0), String(at));
      assert.deepEqual(memoryState(p), before);
    }
  });
});

describe('VirtualFree(MEM_DECOMMIT): the range must lie in the region', () => {
  /** A 64 KiB region with its 16 pages committed, each holding its index. */
  function region(p: Platform): number {
    const base = p.kernel32.VirtualAlloc(0, 16 * PAGE, RESERVE_COMMIT, RW);
    assert.notEqual(base, 0);
    for (let i = 0; i < 16; i++) p.process.write(base + i * PAGE, new Uint8Array([i + 1]));
    return base;
  }
  const committed = (p: Platform, base: number): number[] => [...p.process.regionAt(base)!.committed.keys()].map((v) => (v * PAGE - base) / PAGE).sort((a, b) => a - b);
  const all = Array.from({ length: 16 }, (_, i) => i);

  const refusals: [string, (base: number) => [number, number], H.Observed][] = [
    ['one byte past the end', (b) => [b, 16 * PAGE + 1], failed(W.ERROR_INVALID_PARAMETER, W.STATUS_UNABLE_TO_FREE_VM)],
    ['the last page and the one after it', (b) => [b + 15 * PAGE, 2 * PAGE], failed(W.ERROR_INVALID_PARAMETER, W.STATUS_UNABLE_TO_FREE_VM)],
    ['2^40 bytes', (b) => [b, 2 ** 40], failed(W.ERROR_INVALID_PARAMETER, W.STATUS_UNABLE_TO_FREE_VM)],
    ['dwSize 0 at an address that is not the base', (b) => [b + PAGE, 0], failed(W.ERROR_INVALID_ADDRESS, W.STATUS_FREE_VM_NOT_AT_BASE)],
    ['dwSize not a size', (b) => [b, Number.NaN], failed(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER_3)],
    ['dwSize negative', (b) => [b, -PAGE], failed(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER_3)],
    ['an address that is not one (base + 0.5)', (b) => [b + 0.5, 0], failed(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER)],
    ['an address that is not one (NaN)', () => [Number.NaN, PAGE], failed(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER)],
  ];
  for (const [what, args, want] of refusals) {
    test(`${what} → ${want.err} (${H.hex32(want.nt)}), nothing decommitted`, () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = region(p);
      const before = memoryState(p);
      const [at, size] = args(base);
      assert.deepEqual(call(p, () => p.kernel32.VirtualFree(at, size, W.MEM_DECOMMIT)), want);
      assert.deepEqual(memoryState(p), before);
      assert.deepEqual(committed(p, base), all);
      assert.deepEqual(p.process.read(base + 15 * PAGE, 1), new Uint8Array([16]));
      assert.equal(p.kernel32.VirtualFree(base, 0, W.MEM_RELEASE), true);
      H.assertPristine(p);
    });
  }

  const accepted: [string, (base: number) => [number, number], number[]][] = [
    ['dwSize 0 at the base: the whole region', (b) => [b, 0], []],
    ['every page containing a byte of an unaligned range', (b) => [b + PAGE + 100, PAGE], all.filter((i) => i !== 1 && i !== 2)],
    ['exactly to the end of the region', (b) => [b + 8 * PAGE, 8 * PAGE], all.slice(0, 8)],
    ['pages already decommitted inside the range are no error', (b) => [b, 16 * PAGE], []],
  ];
  for (const [what, args, left] of accepted) {
    test(`${what} → TRUE, STATUS_SUCCESS; the frames go back`, () => {
      const p = H.platformFor('win-x64-sgx1');
      const inUse0 = p.kernel.ram.inUse;
      const base = region(p);
      if (what.startsWith('pages already')) assert.equal(p.kernel32.VirtualFree(base + 4 * PAGE, 4 * PAGE, W.MEM_DECOMMIT), true);
      const [at, size] = args(base);
      assert.deepEqual(call(p, () => p.kernel32.VirtualFree(at, size, W.MEM_DECOMMIT)), { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
      assert.deepEqual(committed(p, base), left);
      assert.equal(p.kernel.ram.inUse, inUse0 + left.length);
      for (let i = 0; i < 16; i++) assert.equal(p.process.accessible(base + i * PAGE, 1, false), left.includes(i), `page ${i}`);
      assert.equal(p.kernel32.VirtualFree(base, 0, W.MEM_RELEASE), true);
      H.assertPristine(p);
      assert.equal(p.kernel.ram.inUse, inUse0);
    });
  }

  test('a huge region with two committed pages: MEM_DECOMMIT of all of it frees them and the region stays reserved', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k32 = p.kernel32;
    const inUse0 = p.kernel.ram.inUse;
    const base = k32.VirtualAlloc(0, 2 ** 40, W.MEM_RESERVE, RW);
    assert.equal(k32.VirtualAlloc(base + 2 ** 30, PAGE, W.MEM_COMMIT, RW), base + 2 ** 30);
    assert.equal(k32.VirtualAlloc(base + 2 ** 40 - PAGE, PAGE, W.MEM_COMMIT, RW), base + 2 ** 40 - PAGE);
    assert.equal(p.kernel.ram.inUse, inUse0 + 2);
    assert.deepEqual(call(p, () => k32.VirtualFree(base + 100, 2 ** 40 - 100, W.MEM_DECOMMIT)), { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
    assert.equal(p.kernel.ram.inUse, inUse0);
    assert.equal(p.process.pageTable.size, 0);
    assert.equal(p.process.regions.length, 1);
    assert.equal(k32.VirtualFree(base, 0, W.MEM_RELEASE), true);
    H.assertPristine(p);
  });
});

describe('VirtualAlloc(MEM_RESERVE) at an unaligned address', () => {
  const AT = 0x2001_2345;
  test('the base is rounded down to 64 KiB and the region covers every page of [lpAddress, lpAddress+dwSize)', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k32 = p.kernel32;
    assert.deepEqual(call(p, () => k32.VirtualAlloc(AT, 0x1000, RESERVE_COMMIT, RW)), { ret: 0x2001_0000, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
    const r = p.process.regionAt(0x2001_0000)!;
    assert.deepEqual([r.base, r.size], [0x2001_0000, 0x4000], 'up to the page holding byte 0x20013344');
    assert.deepEqual([...r.committed.keys()].map((v) => v * PAGE), [0x2001_0000, 0x2001_1000, 0x2001_2000, 0x2001_3000]);
    const data = new Uint8Array(0x1000).map((_, i) => i & 0xff);
    p.process.write(AT, data);
    assert.deepEqual(p.process.read(AT, 0x1000), data);
    // nothing beyond: the next page is free for another reservation
    assert.equal(k32.VirtualAlloc(0x2001_3000, PAGE, W.MEM_RESERVE, RW), 0, 'the last page is taken');
    assert.equal(k32.GetLastError(), W.ERROR_INVALID_ADDRESS);
    assert.equal(p.process.isFree(0x2001_4000, PAGE), true);
    assert.equal(k32.VirtualFree(0x2001_0000, 0, W.MEM_RELEASE), true);
    H.assertPristine(p);
  });

  test('MEM_RESERVE then MEM_COMMIT of exactly [lpAddress, lpAddress+dwSize) succeeds', () => {
    const p = H.platformFor('win-x64-sgx1');
    const k32 = p.kernel32;
    const at = 0x3000_fff0;
    assert.equal(k32.VirtualAlloc(at, 0x20, W.MEM_RESERVE, RW), 0x3000_0000);
    assert.deepEqual([p.process.regionAt(0x3000_0000)!.size], [0x1_1000], 'the 16 bytes past 0x30010000 need one more page');
    assert.equal(k32.VirtualAlloc(at, 0x20, W.MEM_COMMIT, RW), 0x3000_f000);
    p.process.write(at, new Uint8Array(0x20).fill(7));
    assert.equal(k32.VirtualFree(0x3000_0000, 0, W.MEM_RELEASE), true);
    H.assertPristine(p);
  });
});

describe('ReadProcessMemory / WriteProcessMemory (NtReadVirtualMemory / NtWriteVirtualMemory, readwrt.c)', () => {
  const HP = W.CURRENT_PROCESS;
  /** `pages` committed pages (byte i of page k = k*16 + i) followed, within the same reservation, by 16 reserved pages. */
  function host(p: Platform, pages: number, protect: number = RW): number {
    const base = p.kernel32.VirtualAlloc(0, (pages + 16) * PAGE, W.MEM_RESERVE, RW);
    assert.equal(p.kernel32.VirtualAlloc(base, pages * PAGE, W.MEM_COMMIT, RW), base);
    p.process.write(base, pattern(pages * PAGE));
    if (protect !== RW) assert.equal(p.kernel32.VirtualAlloc(base, pages * PAGE, W.MEM_COMMIT, protect), base);
    return base;
  }
  const pattern = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => (Math.floor(i / PAGE) * 16 + i) & 0xff);
  const ok = { ret: true, err: H.SENT_ERR, nt: W.STATUS_SUCCESS };
  const noAccess = failed(W.ERROR_NOACCESS, W.STATUS_ACCESS_VIOLATION);
  const partial = failed(W.ERROR_PARTIAL_COPY, W.STATUS_PARTIAL_COPY);

  describe('ReadProcessMemory', () => {
    test('success: the bytes, *lpNumberOfBytesRead, STATUS_SUCCESS recorded, last error untouched', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 2);
      const buf = new Uint8Array(5000);
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base + 100, buf, 5000, n)), ok);
      assert.equal(n.value, 5000);
      assert.deepEqual(buf, pattern(2 * PAGE).subarray(100, 5100));
    });

    test('the out-parameter as a process address receives the SIZE_T', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 1);
      const out = host(p, 1);
      p.process.write(out, new Uint8Array(8).fill(0xee));
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base + 16, new Uint8Array(8), 8, out)), ok);
      assert.deepEqual(p.process.read(out, 8), new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0]));
    });

    test('lpBuffer as a process address: the bytes land there', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 1);
      const dst = host(p, 1);
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base, dst + 8, 32, null)), ok);
      assert.deepEqual(p.process.read(dst + 8, 32), pattern(PAGE).subarray(0, 32));
    });

    const badBuffers: [string, () => Uint8Array | number | null][] = [['null', () => null], ['0 (NULL)', () => 0], ['16 bytes for 64', () => new Uint8Array(16)], ['an unmapped address', () => H.UNMAPPED]];
    for (const [what, buf] of badBuffers) {
      test(`lpBuffer ${what} → FALSE, ERROR_NOACCESS (the destination probe), *read = 0, nothing thrown`, () => {
        const p = H.platformFor('win-x64-sgx1');
        const base = host(p, 1);
        const n = { value: H.SENT_OUT };
        const before = memoryState(p);
        assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base, buf(), 64, n)), noAccess);
        assert.equal(n.value, 0);
        assert.deepEqual(memoryState(p), before);
      });
    }

    test('a source that ends part-way: STATUS_PARTIAL_COPY with the whole 14-page chunks moved', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 16);
      const buf = new Uint8Array(20 * PAGE).fill(0x5a);
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base, buf, 20 * PAGE, n)), partial);
      assert.equal(n.value, 14 * PAGE);
      assert.deepEqual(buf.subarray(0, 14 * PAGE), pattern(16 * PAGE).subarray(0, 14 * PAGE));
      assert.ok(buf.subarray(14 * PAGE).every((b) => b === 0x5a), 'nothing past the chunks moved');
    });

    test('a small read (≤ 511 bytes) crossing into an unreadable page: STATUS_PARTIAL_COPY, 0 bytes', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 1);
      const buf = new Uint8Array(100);
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base + PAGE - 50, buf, 100, n)), partial);
      assert.equal(n.value, 0);
      assert.ok(buf.every((b) => b === 0));
    });

    test('an unreadable source comes before a bad destination (the source chunk is locked first)', () => {
      const p = H.platformFor('win-x64-sgx1');
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, H.UNMAPPED, null, 64, n)), partial);
      assert.equal(n.value, 0);
    });

    test('early refusals write nothing: a range leaving user space, an unwritable out-parameter address, nSize not a size', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 1);
      const buf = new Uint8Array(64);
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, 0x7fff_ffff_0000 - 8, buf, 16, n)), noAccess);
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base, buf, Number.NaN, n)), noAccess);
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base, buf, -1, n)), noAccess);
      assert.equal(n.value, H.SENT_OUT);
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(HP, base, buf, 64, H.UNMAPPED)), noAccess);
      assert.ok(buf.every((b) => b === 0), 'nothing copied');
    });

    test('nSize 0 succeeds without looking at the handle; a bad handle with nSize > 0 → ERROR_INVALID_HANDLE, *read = 0', () => {
      const p = H.platformFor('win-x64-sgx1');
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(0, H.UNMAPPED, null, 0, n)), ok);
      assert.equal(n.value, 0);
      n.value = H.SENT_OUT;
      assert.deepEqual(call(p, () => p.kernel32.ReadProcessMemory(0, H.UNMAPPED, new Uint8Array(8), 8, n)), failed(W.ERROR_INVALID_HANDLE, W.STATUS_INVALID_HANDLE));
      assert.equal(n.value, 0);
    });
  });

  describe('WriteProcessMemory', () => {
    test('a PAGE_READWRITE page: written, *lpNumberOfBytesWritten (box or process address), STATUS_SUCCESS', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 2);
      const out = host(p, 1);
      const data = new Uint8Array(300).fill(0x77);
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, base + PAGE - 100, data, 300, n)), ok);
      assert.equal(n.value, 300);
      assert.deepEqual(p.process.read(base + PAGE - 100, 300), data);
      assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, base, data, 8, out)), ok);
      assert.deepEqual(p.process.read(out, 8), new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0]));
    });

    for (const [name, protect] of [['PAGE_READONLY', W.PAGE_READONLY], ['PAGE_NOACCESS', W.PAGE_NOACCESS]] as const) {
      test(`a ${name} page → FALSE, ERROR_NOACCESS, nothing written, *written untouched, nothing thrown`, () => {
        const p = H.platformFor('win-x64-sgx1');
        const base = host(p, 1, protect);
        const n = { value: H.SENT_OUT };
        const before = memoryState(p);
        const flags = p.process.pageTable.lookup(base / PAGE)?.flags;
        assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, base, new Uint8Array(16).fill(9), 16, n)), noAccess);
        assert.equal(n.value, H.SENT_OUT);
        assert.deepEqual(memoryState(p), before);
        assert.equal(p.process.pageTable.lookup(base / PAGE)?.flags, flags);
        assert.equal(p.kernel32.VirtualAlloc(base, PAGE, W.MEM_COMMIT, RW), base);
        assert.deepEqual(p.process.read(base, 16), pattern(PAGE).subarray(0, 16), 'the page kept its bytes');
      });
    }

    test('a reserved, uncommitted page → FALSE, ERROR_NOACCESS', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 1);
      assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, base + 2 * PAGE, new Uint8Array(16), 16, null)), noAccess);
    });

    for (const [name, protect] of [['PAGE_EXECUTE_READ', W.PAGE_EXECUTE_READ], ['PAGE_EXECUTE', W.PAGE_EXECUTE]] as const) {
      test(`a ${name} range is made writable for the copy and restored afterwards`, () => {
        const p = H.platformFor('win-x64-sgx1');
        const base = host(p, 2, protect);
        const flags = p.process.pageTable.lookup(base / PAGE)!.flags;
        const data = new Uint8Array(PAGE).fill(0xc3);
        const n = { value: H.SENT_OUT };
        assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, base + 2048, data, PAGE, n)), ok);
        assert.equal(n.value, PAGE);
        for (const v of [0, 1]) assert.equal(p.process.pageTable.lookup(base / PAGE + v)!.flags, flags, `page ${v} protection restored`);
        assert.throws(() => p.process.write(base, new Uint8Array(1)), 'user mode still cannot write');
        assert.equal(p.kernel32.VirtualAlloc(base, 2 * PAGE, W.MEM_COMMIT, RW), base);
        assert.deepEqual(p.process.read(base + 2048, PAGE), data);
        assert.deepEqual(p.process.read(base, 2048), pattern(PAGE).subarray(0, 2048));
      });
    }

    test('an execute-read page followed by a read-only one: only the execute run is made writable, so the probe fails → ERROR_NOACCESS, nothing written', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 2, W.PAGE_EXECUTE_READ);
      assert.equal(p.kernel32.VirtualAlloc(base + PAGE, PAGE, W.MEM_COMMIT, W.PAGE_READONLY), base + PAGE);
      const rx = p.process.pageTable.lookup(base / PAGE)!.flags;
      const ro = p.process.pageTable.lookup(base / PAGE + 1)!.flags;
      const n = { value: H.SENT_OUT };
      assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, base + PAGE - 8, new Uint8Array(16).fill(1), 16, n)), noAccess);
      assert.equal(n.value, 0);
      assert.deepEqual([p.process.pageTable.lookup(base / PAGE)!.flags, p.process.pageTable.lookup(base / PAGE + 1)!.flags], [rx, ro]);
      assert.deepEqual(p.process.read(base + PAGE - 8, 16), pattern(2 * PAGE).subarray(PAGE - 8, PAGE + 8));
    });

    test('lpBuffer null or too short: the source cannot be locked → ERROR_PARTIAL_COPY, 0 bytes, nothing written', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 1);
      for (const buf of [null, 0, new Uint8Array(100)]) {
        const n = { value: H.SENT_OUT };
        assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, base, buf, PAGE, n)), partial, String(buf));
        assert.equal(n.value, 0);
      }
      assert.deepEqual(p.process.read(base, PAGE), pattern(PAGE));
    });

    test('an address outside user space → ERROR_INVALID_PARAMETER (VirtualQueryEx); a bad handle → ERROR_INVALID_HANDLE', () => {
      const p = H.platformFor('win-x64-sgx1');
      const base = host(p, 1);
      for (const at of [2 ** 47, -1, Number.NaN]) assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(HP, at, new Uint8Array(8), 8, null)), failed(W.ERROR_INVALID_PARAMETER, W.STATUS_INVALID_PARAMETER), String(at));
      assert.deepEqual(call(p, () => p.kernel32.WriteProcessMemory(0, base, new Uint8Array(8), 8, null)), failed(W.ERROR_INVALID_HANDLE, W.STATUS_INVALID_HANDLE));
    });
  });
});
