/**
 * EPC paging (specs/sgx.md §6.7–6.11, §10): EPA, EBLOCK, ETRACK, EWB, ELDB, ELDU. Every status
 * code and fault of each leaf, every failure leaving the processor unchanged (ED-0), round trips
 * of each page type, and the attacks §10.3 says paging defeats (replay, tampering with the page or
 * its metadata, substitution across enclaves, eviction under a thread still inside).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, u64le } from '../../src/lib/index.js';
import { ENCLS, SGX, PT, VECTOR, PAGEINFO, ArchFault, ArchError, EPC_PAGE_FREE, type ExitInfo, type ExitHandler } from '../../src/arch/index.js';
import { TestKernel } from '../helpers/kernel.js';
import { newKernel, buildEnclave, duringEntry, type BuiltEnclave } from '../helpers/enclave.js';
import { assertFault, assertUnchanged } from '../helpers/assert.js';

const GP = VECTOR.GP, PF = VECTOR.PF;

/** A VA page (EPA) at a fresh EPC page. */
function vaPage(k: TestKernel): number {
  const va = k.epcPage();
  assert.equal(k.encls(ENCLS.EPA, PT.VA, va), SGX.SUCCESS);
  return va;
}

interface Blob {
  /** The encrypted page (RAM, 4 KiB). */
  readonly src: number;
  /** The PCMD (RAM, 128-aligned). */
  readonly pcmd: number;
  /** The VA slot (EPC address). */
  readonly slot: number;
  /** PAGEINFO.LINADDR as EWB wrote it. */
  readonly linAddr: number;
}

/** EWB of `epc` into fresh buffers and VA slot `slot` (PAGEINFO.LINADDR and .SECS zero); the status and the blob. */
function ewbRaw(k: TestKernel, epc: number, slot: number, pi: Partial<{ LINADDR: bigint; SECS: bigint }> = {}, pcmdOff = 0): { status: number; blob: Blob; pageinfo: number } {
  const src = k.alloc(4096);
  const pcmd = k.alloc(4096) + pcmdOff;
  const pageinfo = k.alloc(32, PAGEINFO.encode({ LINADDR: 0n, SRCPGE: BigInt(src), SECINFO: BigInt(pcmd), SECS: 0n, ...pi }));
  const status = k.encls(ENCLS.EWB, pageinfo, epc, slot);
  const linAddr = Number(u64le(k.proc.memory.readPhysical(pageinfo, 8), 0));
  return { status, blob: { src, pcmd, slot, linAddr }, pageinfo };
}

/** EBLOCK, ETRACK and EWB of the page at EPC address `epc` of enclave `e` (the OS flow of §10.1). */
function evict(e: BuiltEnclave, epc: number, slot: number): Blob {
  const k = e.k;
  assert.equal(k.encls(ENCLS.EBLOCK, 0, epc), SGX.SUCCESS);
  assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
  const r = ewbRaw(k, epc, slot);
  assert.equal(r.status, SGX.SUCCESS);
  return r.blob;
}

/** ELDU (or ELDB) of `blob` into `dest` for the enclave whose SECS is at `secs` (0: a SECS or VA page). */
function eld(k: TestKernel, blob: Blob, dest: number, secs: number, over: Partial<{ LINADDR: number; SECS: number }> = {}, leaf: number = ENCLS.ELDU): number {
  const pi = k.alloc(32, PAGEINFO.encode({ LINADDR: BigInt(over.LINADDR ?? blob.linAddr), SRCPGE: BigInt(blob.src), SECINFO: BigInt(blob.pcmd), SECS: BigInt(over.SECS ?? secs) }));
  return k.encls(leaf, pi, dest, blob.slot);
}

/** Run one case of a table; a failure names the case. */
function named(name: string, f: () => void): void {
  try {
    f();
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
}

function enclave(opts: Parameters<typeof buildEnclave>[1] = {}) {
  const { k, engine } = newKernel();
  const e = buildEnclave(k, { dataPages: 4, ...opts });
  return { k, engine, e };
}

// ---- EPA --------------------------------------------------------------------------------------

describe('EPA (§6.11)', () => {
  test('makes a valid PT_VA page with no owner, no address and empty slots', () => {
    const { k } = enclave();
    const free = k.proc.inspect.freeEpcPages;
    const va = vaPage(k);
    const x = k.proc.inspect.epcm(va);
    assert.deepEqual([x.valid, x.pageType, x.r, x.w, x.x, x.owner, x.linAddr, x.blocked], [true, PT.VA, false, false, false, null, 0, false]);
    assert.equal(k.proc.inspect.freeEpcPages, free - 1);
    assert.equal(k.edbgrd(va + 8), 0n, 'EDBGRD of an empty slot is 0');
  });

  test('faults: RBX ≠ PT_VA or RCX unaligned → #GP; RCX outside the EPC → #PF; a valid page → #PF with the SGX bit; nothing changes', () => {
    const { k, e } = enclave();
    const page = k.epcPage();
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EPA, PT.REG, page), GP));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EPA, PT.VA, page + 8), GP));
    const ram = k.alloc(4096);
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EPA, PT.VA, ram), PF, { address: ram, sgx: false }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EPA, PT.VA, e.frame(e.data(0))), PF, { address: e.frame(e.data(0)), sgx: true }));
  });
});

test('inspect.epcMap: every page\'s type and owner as epcm() gives them, through EPA, EADD, EWB and EREMOVE; arrays of its own', () => {
  const { k, e } = enclave();
  const check = () => {
    const map = k.proc.inspect.epcMap();
    assert.equal(map.types.length, k.proc.epcPages);
    let used = 0;
    for (let i = 0; i < map.types.length; i++) {
      const x = k.proc.inspect.epcm(map.base + i * 4096);
      if (!x.valid) {
        assert.equal(map.types[i], EPC_PAGE_FREE, `page ${i}`);
        assert.equal(map.owners[i], -1, `page ${i}`);
        continue;
      }
      used++;
      assert.equal(map.types[i], x.pageType, `page ${i}`);
      assert.equal(map.owners[i], x.owner === null ? -1 : (x.owner - map.base) / 4096, `page ${i}`);
    }
    assert.equal(used, k.proc.inspect.validEpcPages);
    return map;
  };
  const first = check();
  const secs = (e.secs - first.base) / 4096;
  assert.equal(first.types[secs], PT.SECS);
  assert.equal(first.types.filter((t) => t === PT.REG).length, k.proc.inspect.enclaves()[0]!.pages - first.types.filter((t) => t === PT.TCS).length);
  const va = vaPage(k);
  const data = e.frame(e.data(0));
  evict(e, data, va);
  const after = check();
  assert.equal(after.types[(va - after.base) / 4096], PT.VA);
  assert.equal(after.owners[(va - after.base) / 4096], -1, 'a VA page belongs to no enclave');
  assert.equal(after.types[(data - after.base) / 4096], EPC_PAGE_FREE, 'the evicted page left the EPC');
  after.types.fill(0);
  after.owners.fill(7);
  assert.equal(k.proc.inspect.epcMap().types[(va - after.base) / 4096], PT.VA, 'the caller\'s arrays are its own');
});

// ---- EBLOCK / ETRACK --------------------------------------------------------------------------

describe('EBLOCK (§6.7) and ETRACK (§6.8)', () => {
  test('EBLOCK: SUCCESS, then SGX_BLKSTATE; SGX_PG_INVLD, SGX_PG_IS_SECS, SGX_NOTBLOCKABLE; the information codes change nothing', () => {
    const { k, e } = enclave();
    const d = e.frame(e.data(0));
    assert.equal(k.encls(ENCLS.EBLOCK, 0, d), SGX.SUCCESS);
    assert.equal(k.proc.inspect.epcm(d).blocked, true);
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EBLOCK, 0, d), SGX.BLKSTATE));
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EBLOCK, 0, k.epcPage()), SGX.PG_INVLD));
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EBLOCK, 0, e.secs), SGX.PG_IS_SECS));
    const va = vaPage(k);
    assertUnchanged(k, () => assert.equal(k.encls(ENCLS.EBLOCK, 0, va), SGX.NOTBLOCKABLE));
    assert.equal(k.encls(ENCLS.EBLOCK, 0, e.frame(e.tcs(0))), SGX.SUCCESS, 'a TCS can be blocked');
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EBLOCK, 0, d + 16), GP));
    const ram = k.alloc(4096);
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.EBLOCK, 0, ram), PF, { address: ram, sgx: false }));
  });

  test('a blocked page cannot be used for new accesses: entering through a blocked TCS, or reading a blocked page inside, is #PF with the SGX bit', () => {
    const { k, engine, e } = enclave({ tcsCount: 2 });
    const read = engine.on((ctx) => {
      ctx.read(e.data(1), 8);
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(read).exit.reason, 'eexit');
    assert.equal(k.encls(ENCLS.EBLOCK, 0, e.frame(e.data(1))), SGX.SUCCESS);
    const x = e.enter(read).exit;
    assert.deepEqual([x.reason, x.vector, x.address], ['aex', PF, e.data(1)]);
    assert.equal(k.encls(ENCLS.EBLOCK, 0, e.frame(e.tcs(1))), SGX.SUCCESS);
    assertFault(() => e.enter(0, { tcs: 1 }), PF, { address: e.tcs(1), sgx: true });
  });

  test('ETRACK: not a SECS → #PF; unaligned → #GP; SGX_PREV_TRK_INCMPL while a thread that entered before the last ETRACK is inside', () => {
    const { k, engine, e } = enclave();
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.ETRACK, 0, e.frame(e.data(0))), PF, { address: e.frame(e.data(0)), sgx: true }));
    assertUnchanged(k, () => assertFault(() => k.encls(ENCLS.ETRACK, 0, e.secs + 64), GP));
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS, 'no thread inside: a cycle completes at once');
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    const seen: number[] = [];
    duringEntry(k, engine, e, () => {
      seen.push(k.encls(ENCLS.ETRACK, 0, e.secs)); // the thread entered before this one: allowed
      seen.push(k.encls(ENCLS.ETRACK, 0, e.secs)); // … but it is still inside: the cycle is not complete
    });
    assert.deepEqual(seen, [SGX.SUCCESS, SGX.PREV_TRK_INCMPL]);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS, 'once the thread has left');
  });
});

// ---- EWB ----------------------------------------------------------------------------------------

describe('EWB (§6.9)', () => {
  test('a blocked, tracked REG page: SUCCESS; the page is freed, its ciphertext and PCMD written, LINADDR returned, the VA slot holds a nonce', () => {
    const { k, e } = enclave();
    const d = e.frame(e.data(2));
    const plain = k.readEpc(d, 4096);
    const va = vaPage(k);
    const free = k.proc.inspect.freeEpcPages;
    const pages = k.proc.inspect.enclaves()[0]!.pages;
    const blob = evict(e, d, va + 16);
    assert.equal(k.proc.inspect.epcm(d).valid, false);
    assert.equal(k.proc.inspect.freeEpcPages, free + 1);
    assert.equal(k.proc.inspect.enclaves()[0]!.pages, pages - 1);
    assert.equal(blob.linAddr, e.data(2));
    const cipher = k.proc.memory.readPhysical(blob.src, 4096);
    assert.notEqual(toHex(cipher), toHex(plain), 'the page leaves the EPC encrypted');
    const pcmd = k.proc.memory.readPhysical(blob.pcmd, 128);
    assert.equal(u64le(pcmd, 0), BigInt((PT.REG << 8) | 3), 'PCMD.SECINFO: PT_REG, RW');
    assert.equal(u64le(pcmd, 64), BigInt(k.proc.inspect.enclaves()[0]!.eid), 'PCMD.ENCLAVEID');
    assert.equal(toHex(pcmd.subarray(72, 112)), '00'.repeat(40));
    assert.equal(k.edbgrd(va + 16), 0xffffffffffffffffn, 'EDBGRD shows the slot is occupied, not the nonce');
    assert.equal(k.edbgrd(va + 8), 0n);
  });

  test('SGX_PAGE_NOT_BLOCKED without EBLOCK; SGX_NOT_TRACKED without ETRACK; each changes nothing, and the OS flow then succeeds', () => {
    const { k, e } = enclave();
    const d = e.frame(e.data(0));
    const va = vaPage(k);
    assertUnchanged(k, () => assert.equal(ewbRaw(k, d, va).status, SGX.PAGE_NOT_BLOCKED));
    assert.equal(k.encls(ENCLS.EBLOCK, 0, d), SGX.SUCCESS);
    assertUnchanged(k, () => assert.equal(ewbRaw(k, d, va).status, SGX.NOT_TRACKED));
    assert.equal(k.edbgrd(va), 0n, 'the slot is untouched');
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    assert.equal(ewbRaw(k, d, va).status, SGX.SUCCESS);
  });

  test('a thread inside since before the ETRACK keeps the page (SGX_NOT_TRACKED) until it leaves', () => {
    const { k, engine, e } = enclave({ tcsCount: 2 });
    const d = e.frame(e.data(1));
    const va = vaPage(k);
    const seen: number[] = [];
    duringEntry(k, engine, e, () => {
      seen.push(k.encls(ENCLS.EBLOCK, 0, d));
      seen.push(k.encls(ENCLS.ETRACK, 0, e.secs));
      seen.push(ewbRaw(k, d, va).status); // the thread inside may still hold a translation of the page
    });
    assert.deepEqual(seen, [SGX.SUCCESS, SGX.SUCCESS, SGX.NOT_TRACKED]);
    assert.equal(ewbRaw(k, d, va).status, SGX.SUCCESS, 'after the thread left');
  });

  test('SGX_VA_SLOT_OCCUPIED: the eviction completes, and the older version can never be loaded again', () => {
    const { k, e } = enclave();
    const va = vaPage(k);
    const first = evict(e, e.frame(e.data(0)), va);
    const d1 = e.frame(e.data(1));
    assert.equal(k.encls(ENCLS.EBLOCK, 0, d1), SGX.SUCCESS);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    const second = ewbRaw(k, d1, va);
    assert.equal(second.status, SGX.VA_SLOT_OCCUPIED);
    assert.equal(k.proc.inspect.epcm(d1).valid, false, 'evicted anyway');
    assertUnchanged(k, () => assert.equal(eld(k, first, k.epcPage(), e.secs), SGX.MAC_COMPARE_FAIL));
    assert.equal(eld(k, second.blob, k.epcPage(), e.secs), SGX.SUCCESS);
  });

  test('the SECS: SGX_CHILD_PRESENT while it has pages; with every page evicted it is evicted and reloaded, and the enclave runs again', () => {
    const { k, engine, e } = enclave({ dataPages: 2 });
    const va = vaPage(k);
    assertUnchanged(k, () => assert.equal(ewbRaw(k, e.secs, va + 8).status, SGX.CHILD_PRESENT));
    const before = new Map<number, string>();
    const blobs: [number, Blob][] = [];
    let slot = 16;
    for (const [off, pa] of e.b.frames) {
      if (k.proc.inspect.epcm(pa).pageType === PT.REG) before.set(off, toHex(k.readEpc(pa, 4096)));
      blobs.push([off, evict(e, pa, va + slot)]);
      slot += 8;
    }
    assert.equal(k.proc.inspect.enclaves()[0]!.pages, 0);
    const secsBlob = ewbRaw(k, e.secs, va + 8);
    assert.equal(secsBlob.status, SGX.SUCCESS);
    assert.equal(secsBlob.blob.linAddr, 0);
    assert.deepEqual(k.proc.inspect.enclaves(), [], 'no SECS in the EPC');
    // Back, every page in a new frame (the SECS first: its children name it).
    const secs2 = k.epcPage();
    assert.equal(eld(k, secsBlob.blob, secs2, 0), SGX.SUCCESS);
    const info = k.proc.inspect.enclaves()[0]!;
    assert.equal(toHex(info.mrenclave!), toHex(e.mrenclave), 'the hidden state came back with it');
    for (const [off, blob] of blobs) {
      const pa = k.epcPage();
      assert.equal(eld(k, blob, pa, secs2), SGX.SUCCESS);
      if (before.has(off)) assert.equal(toHex(k.readEpc(pa, 4096)), before.get(off));
      k.mapUser(e.base + off, pa);
    }
    const read = engine.on((ctx) => {
      const v = ctx.read(e.data(1), 8);
      ctx.write(e.data(0), v);
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(read).exit.reason, 'eexit');
  });

  test('a VA page is evicted (its nonces with it) and reloaded, and the pages it versions still load', () => {
    const { k, e } = enclave();
    const va = vaPage(k);
    const root = vaPage(k);
    const d = e.frame(e.data(3));
    const plain = toHex(k.readEpc(d, 4096));
    const blob = evict(e, d, va + 24);
    const vaBlob = ewbRaw(k, va, root);
    assert.equal(vaBlob.status, SGX.SUCCESS, 'a VA page needs no EBLOCK or ETRACK');
    const va2 = k.epcPage();
    assertUnchanged(k, () => assertFault(() => eld(k, vaBlob.blob, va2, e.secs), GP)); // a VA page names no SECS
    assert.equal(eld(k, vaBlob.blob, va2, 0), SGX.SUCCESS);
    const dest = k.epcPage();
    assert.equal(eld(k, { ...blob, slot: va2 + 24 }, dest, e.secs), SGX.SUCCESS);
    assert.equal(toHex(k.readEpc(dest, 4096)), plain);
  });

  test('faults, each changing nothing: operand alignment, PAGEINFO.LINADDR or .SECS set, PCMD or SRCPGE misaligned, the page and the slot in one page, an invalid page, a slot outside a VA page', () => {
    const { k, e } = enclave();
    const d = e.frame(e.data(0));
    const va = vaPage(k);
    assert.equal(k.encls(ENCLS.EBLOCK, 0, d), SGX.SUCCESS);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    const cases: [string, () => unknown, number, { address?: number; sgx?: boolean }?][] = [
      ['RCX unaligned', () => ewbRaw(k, d + 8, va), GP],
      ['RDX unaligned', () => ewbRaw(k, d, va + 4), GP],
      ['PAGEINFO.LINADDR set', () => ewbRaw(k, d, va, { LINADDR: 0x1000n }), GP],
      ['PAGEINFO.SECS set', () => ewbRaw(k, d, va, { SECS: BigInt(e.secs) }), GP],
      ['PCMD not 128-aligned', () => ewbRaw(k, d, va, {}, 64), GP],
      ['page and slot in one page', () => ewbRaw(k, va, va + 8), GP],
      ['an invalid page', () => ewbRaw(k, k.epcPage(), va), PF, { sgx: true }],
      ['a slot in a REG page', () => ewbRaw(k, d, e.frame(e.data(1))), PF, { address: e.frame(e.data(1)), sgx: true }],
    ];
    for (const [name, f, v, x] of cases) named(name, () => assertUnchanged(k, () => assertFault(f, v, x ?? {})));
    const ram = k.alloc(4096);
    assertUnchanged(k, () => assertFault(() => ewbRaw(k, d, ram), PF, { address: ram, sgx: false }));
    assert.equal(ewbRaw(k, d, va).status, SGX.SUCCESS, 'the same page, with good operands');
  });
});

// ---- ELDB / ELDU -------------------------------------------------------------------------------

describe('ELDB / ELDU (§6.10) and what paging defeats (§10.3)', () => {
  function evicted() {
    const { k, engine, e } = enclave({ tcsCount: 2 });
    const va = vaPage(k);
    const d = e.frame(e.data(1));
    const plain = toHex(k.readEpc(d, 4096));
    const blob = evict(e, d, va + 40);
    return { k, engine, e, va, blob, plain };
  }

  test('ELDU: the page comes back in another frame with its contents, type, permissions, address and owner; the slot is cleared', () => {
    const { k, engine, e, va, blob, plain } = evicted();
    const dest = k.epcPage();
    assert.equal(eld(k, blob, dest, e.secs), SGX.SUCCESS);
    const x = k.proc.inspect.epcm(dest);
    assert.deepEqual([x.valid, x.pageType, x.r, x.w, x.x, x.blocked, x.linAddr, x.owner], [true, PT.REG, true, true, false, false, e.data(1), e.secs]);
    assert.equal(toHex(k.readEpc(dest, 4096)), plain);
    assert.equal(k.edbgrd(va + 40), 0n, 'the slot is empty again');
    k.mapUser(e.data(1), dest);
    let got = '';
    const read = engine.on((ctx) => {
      got = toHex(ctx.read(e.data(1), 4096));
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(read).exit.reason, 'eexit');
    assert.equal(got, plain);
  });

  test('before the reload the enclave faults on the page (#PF with the SGX bit, as an AEX)', () => {
    const { engine, e } = evicted();
    const read = engine.on((ctx) => {
      ctx.read(e.data(1), 8);
      return ctx.regs.rcx;
    });
    const x: ExitInfo = e.enter(read).exit;
    assert.deepEqual([x.reason, x.vector, x.address], ['aex', PF, e.data(1)]);
  });

  test('ELDB leaves the page BLOCKED; it can be evicted again at once', () => {
    const { k, e, va, blob } = evicted();
    const dest = k.epcPage();
    assert.equal(eld(k, blob, dest, e.secs, {}, ENCLS.ELDB), SGX.SUCCESS);
    assert.equal(k.proc.inspect.epcm(dest).blocked, true);
    assert.equal(k.encls(ENCLS.EBLOCK, 0, dest), SGX.BLKSTATE);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    assert.equal(ewbRaw(k, dest, va).status, SGX.SUCCESS);
  });

  test('replay: a second load of the same blob fails (the slot was cleared), and so does an older blob of a page evicted again', () => {
    const { k, e, va, blob } = evicted();
    const dest = k.epcPage();
    assert.equal(eld(k, blob, dest, e.secs), SGX.SUCCESS);
    assertUnchanged(k, () => assert.equal(eld(k, blob, k.epcPage(), e.secs), SGX.MAC_COMPARE_FAIL));
    k.edbgwr(dest, 0x4142434445464748n); // the page changes…
    const newer = evict(e, dest, va + 40); // …and is evicted again into the same slot
    assertUnchanged(k, () => assert.equal(eld(k, blob, k.epcPage(), e.secs), SGX.MAC_COMPARE_FAIL, 'rollback to the older contents'));
    const back = k.epcPage();
    assert.equal(eld(k, newer, back, e.secs), SGX.SUCCESS);
    assert.equal(k.edbgrd(back), 0x4142434445464748n);
  });

  test('tampering: a changed ciphertext byte, more permissions in the PCMD, another LINADDR, PCMD.reserved set, or another enclave\'s SECS → SGX_MAC_COMPARE_FAIL, changing nothing', () => {
    const { k, e, blob } = evicted();
    const other = buildEnclave(k, { dataPages: 1, marker: 'other' });
    const mutate = (pa: number, off: number, f: (b: number) => number) => {
      const b = k.proc.memory.readPhysical(pa + off, 1);
      k.proc.memory.writePhysical(pa + off, Uint8Array.of(f(b[0]!)));
      return () => k.proc.memory.writePhysical(pa + off, b);
    };
    const cases: [string, () => (() => void) | null, Partial<{ LINADDR: number; SECS: number }>][] = [
      ['ciphertext byte', () => mutate(blob.src, 1234, (b) => b ^ 1), {}],
      ['RW → RWX', () => mutate(blob.pcmd, 0, (b) => b | 4), {}],
      ['RW → R', () => mutate(blob.pcmd, 0, (b) => b & ~2), {}],
      ['PCMD.reserved', () => mutate(blob.pcmd, 80, (b) => b ^ 0x10), {}],
      ['the MAC', () => mutate(blob.pcmd, 120, (b) => b ^ 0x80), {}],
      ['another address in ELRANGE', () => null, { LINADDR: e.data(2) }],
      ['another enclave', () => null, { SECS: other.secs, LINADDR: blob.linAddr }],
    ];
    for (const [name, apply, over] of cases) {
      const undo = apply();
      named(name, () => assertUnchanged(k, () => assert.equal(eld(k, blob, k.epcPage(), e.secs, over), SGX.MAC_COMPARE_FAIL)));
      undo?.();
    }
    assert.equal(eld(k, blob, k.epcPage(), e.secs), SGX.SUCCESS, 'the untouched blob still loads');
  });

  test('faults, each changing nothing: a valid destination, a slot outside a VA page, PAGEINFO.SECS not a SECS or set for a VA page, a reserved PCMD.SECINFO bit or page type, misaligned operands', () => {
    const { k, e, va, blob } = evicted();
    const pcmdWith = (f: (p: Uint8Array) => void): Blob => {
      const p = k.proc.memory.readPhysical(blob.pcmd, 128);
      f(p);
      return { ...blob, pcmd: k.alloc(128, p) };
    };
    const cases: [string, () => unknown, number, { address?: number; sgx?: boolean }?][] = [
      ['a valid destination', () => eld(k, blob, e.frame(e.data(0)), e.secs), PF, { address: e.frame(e.data(0)), sgx: true }],
      ['a slot in a REG page', () => eld(k, { ...blob, slot: e.frame(e.data(0)) + 40 }, k.epcPage(), e.secs), PF, { address: e.frame(e.data(0)) + 40, sgx: true }],
      ['PAGEINFO.SECS a REG page', () => eld(k, blob, k.epcPage(), e.frame(e.data(0))), PF, { address: e.frame(e.data(0)), sgx: true }],
      ['PAGEINFO.SECS unaligned', () => eld(k, blob, k.epcPage(), e.secs + 64), GP],
      ['a reserved SECINFO bit', () => eld(k, pcmdWith((p) => { p[0] = p[0]! | 0x40; }), k.epcPage(), e.secs), GP],
      ['a reserved SECINFO byte', () => eld(k, pcmdWith((p) => { p[20] = 1; }), k.epcPage(), e.secs), GP],
      ['page type 9', () => eld(k, pcmdWith((p) => { p[1] = 9; }), k.epcPage(), e.secs), GP],
      ['PAGEINFO.SECS set for a VA page', () => eld(k, pcmdWith((p) => { p[1] = PT.VA; p[0] = 0; }), k.epcPage(), e.secs), GP],
      ['RDX unaligned', () => eld(k, { ...blob, slot: va + 41 }, k.epcPage(), e.secs), GP],
      ['PCMD unaligned', () => eld(k, { ...blob, pcmd: blob.pcmd + 64 }, k.epcPage(), e.secs), GP],
    ];
    for (const [name, f, v, x] of cases) named(name, () => assertUnchanged(k, () => assertFault(f, v, x ?? {})));
    assert.equal(eld(k, blob, k.epcPage(), e.secs), SGX.SUCCESS, 'the good operands still load');
  });

  test('a TCS: evicted while idle, EENTER through its address then faults, and after the reload (another frame, remapped) the thread runs again', () => {
    const { k, engine, e } = enclave({ tcsCount: 2 });
    const va = vaPage(k);
    const old = e.frame(e.tcs(1));
    assert.equal(e.enter(0, { tcs: 1 }).exit.reason, 'eexit');
    const blob = evict(e, old, va);
    assertFault(() => e.enter(0, { tcs: 1 }), PF, { address: e.tcs(1), sgx: true });
    const dest = k.epcPage();
    assert.equal(eld(k, blob, dest, e.secs), SGX.SUCCESS);
    assert.equal(k.proc.inspect.epcm(dest).pageType, PT.TCS);
    k.mapUser(e.tcs(1), dest);
    let tcsSeen = 0;
    const op = engine.on((ctx) => {
      tcsSeen = ctx.tcsAddress;
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(op, { tcs: 1 }).exit.reason, 'eexit');
    assert.equal(tcsSeen, e.tcs(1));
    const t = k.proc.inspect.enclaves()[0]!.tcs.find((x) => x.linAddr === e.tcs(1))!;
    assert.deepEqual([t.state, t.cssa], ['idle', 0]);
  });

  test('a page backing a WebAssembly.Memory: the memory loses the page\'s bytes at EWB, the next entry faults, and ELDU into another frame gives them back', () => {
    const { k, engine, e } = enclave({ dataPages: 16, tcsCount: 2 });
    let mem: WebAssembly.Memory | null = null;
    const map = engine.on((ctx) => {
      mem = ctx.mapMemory(e.data(0), 0x10000);
      new Uint8Array(mem.buffer).fill(0x5a, 0x3000, 0x4000);
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(map).exit.reason, 'eexit');
    const view = () => new Uint8Array((mem as unknown as WebAssembly.Memory).buffer);
    const va = vaPage(k);
    assert.equal(k.encls(ENCLS.EBLOCK, 0, e.frame(e.data(3))), SGX.SUCCESS);
    const blockedEntry = e.enter(0, { tcs: 1 }).exit; // no new translation of a blocked page: the entry's check of the memory faults
    assert.deepEqual([blockedEntry.reason, blockedEntry.vector, blockedEntry.address], ['aex', PF, e.data(3)]);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    const blob = ewbRaw(k, e.frame(e.data(3)), va).blob;
    assert.ok(view().subarray(0x3000, 0x4000).every((b) => b === 0), 'no plaintext stays behind in the memory');
    const x = e.enter(0).exit;
    assert.deepEqual([x.reason, x.vector, x.address], ['aex', PF, e.data(3)]);
    const dest = k.epcPage();
    assert.equal(eld(k, blob, dest, e.secs), SGX.SUCCESS);
    k.mapUser(e.data(3), dest);
    assert.ok(view().subarray(0x3000, 0x4000).every((b) => b === 0x5a), 'the memory holds the page again');
    assert.equal(e.enter(0).exit.reason, 'eexit', 'entry checks pass with the page in its new frame');
    assert.equal(k.edbgrd(dest + 8), 0x5a5a5a5a5a5a5a5an);
    view()[0x3008] = 0x11;
    assert.equal(k.edbgrd(dest + 8), 0x5a5a5a5a5a5a5a11n, 'the frame and the memory are one again');
  });

  test('a page removed with its enclave: the state kept for an evicted TCS goes with it', () => {
    const { k, e } = enclave({ tcsCount: 2 });
    const va = vaPage(k);
    const blob = evict(e, e.frame(e.tcs(1)), va);
    for (const pa of e.b.frames.values()) if (pa !== e.frame(e.tcs(1))) assert.equal(k.encls(ENCLS.EREMOVE, 0, pa), SGX.SUCCESS);
    assert.equal(k.encls(ENCLS.EREMOVE, 0, e.secs), SGX.SUCCESS);
    const again = buildEnclave(k, { tcsCount: 2 });
    assert.equal(eld(k, blob, k.epcPage(), again.secs), SGX.MAC_COMPARE_FAIL, 'another enclave (another EID) cannot load it');
  });
});



// ---- the kernel's #PF handler and the processor (Processor.setPageFaultHandler) ---------------------

describe('the kernel\'s page-fault handler', () => {
  /** An enclave with a page evicted (and unmapped, as the pager does), and a handler that loads it back on a #PF there. */
  function withHandler(opts: Parameters<typeof buildEnclave>[1] = {}) {
    const { k, engine, e } = enclave(opts);
    const va = vaPage(k);
    const la = e.data(1);
    const blob = evict(e, e.frame(la), va + 8);
    k.userPt.unmap(la / 4096);
    const calls: number[] = [];
    k.proc.setPageFaultHandler((_lp, address) => {
      calls.push(address);
      if (address - (address % 4096) !== la) return false;
      const dest = k.epcPage();
      assert.equal(k.kernel(() => eld(k, blob, dest, e.secs)), SGX.SUCCESS);
      k.mapUser(la, dest);
      return true;
    });
    return { k, engine, e, la, calls };
  }

  test('a #PF it resolves is transparent to a host with no exit handler, as an interrupt is: the access completes, the entry ends in its EEXIT', () => {
    const { engine, e, la, calls } = withHandler();
    let done = 0;
    const op = engine.on((ctx) => {
      ctx.read(la, 8);
      done++;
      return ctx.regs.rcx;
    });
    const x = e.enter(op).exit;
    assert.equal(x.reason, 'eexit');
    assert.equal(done, 1);
    assert.deepEqual(calls, [la]);
  });

  test('a #PF raised by host code in the exit handler is the host\'s: not handed to the kernel as the ENCLU\'s, and the EENTER is not executed again', () => {
    const { k, engine, e, la, calls } = withHandler();
    let runs = 0;
    const op = engine.on((ctx) => {
      runs++;
      ctx.eexit(ctx.regs.rcx); // an OCALL-style exit: the handler runs while the frame waits
      return ctx.regs.rcx;
    });
    const handler: ExitHandler = () => {
      k.proc.memory.readVirtual(k.userPt, la, 8, 3); // not mapped: the host's own #PF
      return 0;
    };
    assert.throws(() => e.enter(op, { handler }), (err: unknown) => err instanceof ArchFault && err.vector === PF);
    assert.equal(runs, 1, 'the enclave function ran once');
    assert.deepEqual(calls, [], 'the kernel was not asked');
  });

  test('two AEXs at entry on stacked SSA frames: each frame, resumed, starts the engine at OENTRY', () => {
    const { k, engine, e } = enclave({ dataPages: 16, nssa: 3 });
    assert.equal(e.enter(engine.on((ctx) => {
      ctx.mapMemory(e.data(0), 0x10000);
      return ctx.regs.rcx;
    })).exit.reason, 'eexit');
    const ran: string[] = [];
    const op = engine.on((ctx) => {
      ran.push('op');
      return ctx.regs.rcx;
    });
    const hop = engine.on((ctx) => {
      ran.push('handler');
      return ctx.regs.rcx;
    });
    const d3 = e.frame(e.data(3));
    assert.equal(k.encls(ENCLS.EBLOCK, 0, d3), SGX.SUCCESS);
    assert.equal(e.enter(op).exit.vector, PF); // CSSA 0 → 1
    assert.equal(e.enter(hop).exit.vector, PF); // the exception entry at CSSA 1 → 2
    const va = vaPage(k);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    const w = ewbRaw(k, d3, va);
    const dest = k.epcPage();
    assert.equal(eld(k, w.blob, dest, e.secs), SGX.SUCCESS);
    k.mapUser(e.data(3), dest);
    assert.equal(e.resume().exit.reason, 'eexit');
    assert.equal(e.resume().exit.reason, 'eexit');
    assert.deepEqual(ran, ['handler', 'op']);
    assert.equal(engine.resumes, 0, 'no frame was treated as lost');
  });
});

describe('state kept for evicted pages whose versions are lost', () => {
  function secsEvicted() {
    const { k, engine, e } = enclave({ dataPages: 2 });
    const v1 = vaPage(k);
    let slot = 16;
    for (const pa of e.b.frames.values()) {
      evict(e, pa, v1 + slot);
      slot += 8;
    }
    const secs = ewbRaw(k, e.secs, v1 + 8);
    assert.equal(secs.status, SGX.SUCCESS);
    return { k, engine, e, v1, secsBlob: secs.blob };
  }

  test('the VA page holding an evicted SECS\'s version removed: the enclave is gone for good, and the engine is told, as at EREMOVE of the SECS', () => {
    const { k, engine, v1 } = secsEvicted();
    assert.equal(engine.destroyedKeys.length, 0);
    assert.equal(k.encls(ENCLS.EREMOVE, 0, v1), SGX.SUCCESS);
    assert.equal(engine.destroyedKeys.length, 1);
  });

  test('the version\'s slot overwritten: the same', () => {
    const { k, engine, v1, secsBlob } = secsEvicted();
    const other = buildEnclave(k, { dataPages: 1, marker: 'other' });
    const page = other.frame(other.data(0));
    assert.equal(k.encls(ENCLS.EBLOCK, 0, page), SGX.SUCCESS);
    assert.equal(k.encls(ENCLS.ETRACK, 0, other.secs), SGX.SUCCESS);
    assert.equal(ewbRaw(k, page, v1 + 8).status, SGX.VA_SLOT_OCCUPIED);
    assert.equal(engine.destroyedKeys.length, 1);
    assert.equal(eld(k, secsBlob, k.epcPage(), 0), SGX.MAC_COMPARE_FAIL, 'and its blob no longer loads');
  });

  test('the version in a VA page that was evicted in turn: reloading that VA page makes it loadable again; losing it loses the enclave', () => {
    {
      const { k, engine, e, v1, secsBlob } = secsEvicted();
      const v0 = vaPage(k);
      const vaBlob = ewbRaw(k, v1, v0);
      assert.equal(vaBlob.status, SGX.SUCCESS);
      const v1b = k.epcPage();
      assert.equal(eld(k, vaBlob.blob, v1b, 0), SGX.SUCCESS);
      // The SECS's version is in the same slot of the VA page's new frame.
      assert.equal(eld(k, { ...secsBlob, slot: v1b + 8 }, k.epcPage(), 0), SGX.SUCCESS);
      assert.equal(toHex(k.proc.inspect.enclaves()[0]!.mrenclave!), toHex(e.mrenclave));
      assert.equal(engine.destroyedKeys.length, 0);
    }
    {
      const { k, engine, v1 } = secsEvicted();
      const v0 = vaPage(k);
      assert.equal(ewbRaw(k, v1, v0).status, SGX.SUCCESS);
      assert.equal(k.encls(ENCLS.EREMOVE, 0, v0), SGX.SUCCESS);
      assert.equal(engine.destroyedKeys.length, 1, 'the SECS\'s version went with the VA page that held it');
    }
  });
});

test('setPageFaultHandler refuses what is no function (ArchError BAD_HANDLER), before anything is installed', () => {
  const { k } = enclave();
  for (const bad of [1, 'x', {}]) {
    assert.throws(() => k.proc.setPageFaultHandler(bad as unknown as null), (e: unknown) => e instanceof ArchError && e.code === 'BAD_HANDLER');
  }
});

describe('the page-fault hook and entries that fault (review findings)', () => {
  /** EBLOCK + ETRACK + EWB of the page at `la` of `e` into VA page `va` slot `slot`, unmapped; the blob. */
  function evictAt(k: TestKernel, e: BuiltEnclave, la: number, va: number, slot: number): Blob {
    const blob = evict(e, e.frame(la), va + slot);
    k.userPt.unmap(la / 4096);
    return blob;
  }
  function loadAt(k: TestKernel, e: BuiltEnclave, la: number, blob: Blob): void {
    const dest = k.epcPage();
    assert.equal(eld(k, blob, dest, e.secs), SGX.SUCCESS);
    k.mapUser(la, dest);
    e.b.frames.set(la - e.base, dest);
  }

  test('a lost frame whose ERESUME faults in the entry check is resumed afterwards (engine.resume), not started again at OENTRY', () => {
    const { k, engine, e } = enclave({ dataPages: 16 });
    assert.equal(e.enter(engine.on((ctx) => {
      ctx.mapMemory(e.data(0), 0x10000);
      return ctx.regs.rcx;
    })).exit.reason, 'eexit');
    let runs = 0;
    const op = engine.on((ctx) => {
      runs++;
      ctx.read(0x10, 1); // outside ELRANGE, not mapped: #PF, the frame lost (no handler)
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(op).exit.reason, 'aex');
    const d3 = e.frame(e.data(3));
    assert.equal(k.encls(ENCLS.EBLOCK, 0, d3), SGX.SUCCESS);
    assert.equal(e.resume().exit.vector, PF, 'the ERESUME\'s entry check faults');
    const va = vaPage(k);
    assert.equal(k.encls(ENCLS.ETRACK, 0, e.secs), SGX.SUCCESS);
    const w = ewbRaw(k, d3, va);
    loadAt(k, e, e.data(3), w.blob);
    const resumes = engine.resumes;
    assert.equal(e.resume().exit.reason, 'eexit');
    assert.equal(engine.resumes, resumes + 1, 'resumed');
    assert.equal(runs, 1, 'not run again');
  });

  test('the kernel evicting the faulting thread\'s own SSA page while it resolves the fault: the frame still resumes where it was', () => {
    const { k, engine, e } = enclave({ dataPages: 4, nssa: 2 });
    const va = vaPage(k);
    const la = e.data(1);
    const ssaPage = e.ssa(0, 0) + (e.b.ssaFrameSize - 1) * 4096;
    const blobs = new Map<number, Blob>([[la, evictAt(k, e, la, va, 0)]]);
    k.proc.setPageFaultHandler((_lp, address) => k.kernel(() => {
      const p = address - (address % 4096);
      const b = blobs.get(p);
      if (b === undefined) return false;
      blobs.delete(p);
      loadAt(k, e, p, b);
      if (p === la) blobs.set(ssaPage, evictAt(k, e, ssaPage, va, 8)); // what reclaim may pick: the SSA page this AEX just wrote
      return true;
    }));
    let done = 0;
    const op = engine.on((ctx) => {
      ctx.read(la, 8);
      done++;
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(op).exit.reason, 'eexit');
    assert.equal(done, 1);
  });

  test('with no exit handler, an AEX at entry whose #PF the kernel resolves is followed by the ERESUME at once: the entry completes', () => {
    const { k, engine, e } = enclave({ dataPages: 16 });
    assert.equal(e.enter(engine.on((ctx) => {
      ctx.mapMemory(e.data(0), 0x10000);
      return ctx.regs.rcx;
    })).exit.reason, 'eexit');
    const va = vaPage(k);
    const la = e.data(3);
    const blob = evictAt(k, e, la, va, 0);
    let calls = 0;
    k.proc.setPageFaultHandler((_lp, address) => {
      calls++;
      if (address - (address % 4096) !== la) return false;
      k.kernel(() => loadAt(k, e, la, blob));
      return true;
    });
    let runs = 0;
    const x = e.enter(engine.on((ctx) => {
      runs++;
      return ctx.regs.rcx;
    })).exit;
    assert.equal(x.reason, 'eexit');
    assert.deepEqual([runs, calls, engine.resumes], [1, 1, 0]);
  });

  test('a nested EENTER\'s own #PF that escapes an exit handler is offered to the kernel once, by that EENTER; the outer EENTER is not executed again', () => {
    const { k, engine, e } = enclave({ tcsCount: 2 });
    const va = vaPage(k);
    const tcs1 = e.tcs(1);
    const blob = evictAt(k, e, tcs1, va, 0);
    let calls = 0;
    k.proc.setPageFaultHandler((_lp, address) => {
      calls++;
      if (address !== tcs1 || calls === 1) return false; // the first time it cannot resolve it
      k.kernel(() => loadAt(k, e, tcs1, blob));
      return true;
    });
    let runs = 0;
    const op = engine.on((ctx) => {
      runs++;
      ctx.eexit(ctx.regs.rcx);
      return ctx.regs.rcx;
    });
    const seen: string[] = [];
    const handler: ExitHandler = (exit) => {
      seen.push(exit.reason);
      if (seen.length === 1) k.enclu(2, { rbx: tcs1, rcx: 0x7fff_f000, rip: 0x7ffe_0000, rdi: 0 }, null, 1); // nested, no handler of its own: its #PF escapes
      return 0;
    };
    e.enter(op, { handler });
    assert.equal(runs, 1, 'the outer enclave function ran once');
    assert.equal(calls, 1, 'the kernel was asked once, for the nested EENTER');
    assert.deepEqual(seen, ['eexit', 'fault'], 'the escaped #PF reached the outer exit handler as a fault');
  });
});
