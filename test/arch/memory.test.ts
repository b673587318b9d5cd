/**
 * Memory protection (specs/sgx.md §8, §12): abort-page semantics for non-enclave access, the DRAM
 * (MEE ciphertext) view and drop-and-lock, and the EPCM checks that defeat remapping by the kernel.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, bytesEqual } from '../../src/lib/index.js';
import { VECTOR, PFEC, ENCLS, ENCLU, SGX, ArchFault, ArchError, Processor, GPRSGX, type ExitInfo } from '../../src/arch/index.js';
import { newKernel, buildEnclave, AEP, type BuiltEnclave, type ScriptEngine } from '../helpers/enclave.js';
import { assertFault } from '../helpers/assert.js';

const MARK = 'witness test enclave: data 0';
const enc = new TextEncoder();
const allOnes = (n: number) => toHex(new Uint8Array(n).fill(0xff));

/** Enclave code that reads `len` bytes at `la` and returns them (through a closure). */
function readInside(e: BuiltEnclave, engine: ScriptEngine, la: number, len: number): { exit: ExitInfo; data: Uint8Array | null } {
  let data: Uint8Array | null = null;
  const op = engine.on((ctx) => {
    data = ctx.read(la, len);
    return ctx.regs.rcx;
  });
  const { exit } = e.enter(op);
  return { exit, data };
}
function writeInside(e: BuiltEnclave, engine: ScriptEngine, la: number, bytes: Uint8Array): ExitInfo {
  const op = engine.on((ctx) => {
    ctx.write(la, bytes);
    return ctx.regs.rcx;
  });
  return e.enter(op).exit;
}

describe('abort-page semantics (§8.1, ED-6)', () => {
  test('kernel physical reads, kernel and host virtual reads of an EPC page return all-ones', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    assert.equal(toHex(k.proc.memory.readPhysical(pa, 64)), allOnes(64));
    assert.equal(toHex(k.proc.memory.readPhysical(e.secs, 16)), allOnes(16));
    assert.equal(toHex(k.proc.memory.readVirtual(k.proc.kernelPageTable, pa, 32, 0)), allOnes(32));
    assert.equal(toHex(k.proc.memory.readVirtual(k.userPt, e.data(0), 32, 3)), allOnes(32));
    // a read straddling RAM and the PRM: RAM bytes as they are, PRM bytes all-ones
    const prm = k.proc.prm;
    k.proc.memory.writePhysical(prm.base - 4, Uint8Array.of(1, 2, 3, 4));
    assert.equal(toHex(k.proc.memory.readPhysical(prm.base - 4, 8)), '01020304ffffffff');
    // the enclave itself still reads its data
    const r = readInside(e, engine, e.data(0), MARK.length);
    assert.equal(new TextDecoder().decode(r.data!), MARK);
  });

  test('writes into the EPC are dropped: the enclave still reads its data', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    k.proc.memory.writePhysical(pa, new Uint8Array(64));
    k.proc.memory.writeVirtual(k.userPt, e.data(0), new Uint8Array(64).fill(0x41));
    k.proc.memory.writeVirtual(k.proc.kernelPageTable, pa, new Uint8Array(64).fill(0x42), 0);
    const r = readInside(e, engine, e.data(0), MARK.length);
    assert.equal(new TextDecoder().decode(r.data!), MARK);
    assert.equal(k.proc.locked, null, 'dropped writes are not tampering');
  });

  test('physical accesses outside the physical address space are ArchError BAD_PHYSICAL_ADDRESS and change nothing', () => {
    const p = new Processor({});
    const bad = (err: unknown) => err instanceof ArchError && err.code === 'BAD_PHYSICAL_ADDRESS';
    for (const pa of [-4096, -1, -8192, 0.5, NaN, 2 ** 53]) {
      assert.throws(() => p.memory.writePhysical(pa, new Uint8Array(8).fill(7)), bad, `write at ${pa}`);
      assert.throws(() => p.memory.readPhysical(pa, 8), bad, `read at ${pa}`);
      assert.throws(() => p.memory.readPhysicalInto(pa, new Uint8Array(8)), bad, `read into at ${pa}`);
      assert.throws(() => p.memory.dramRead(pa, 8), bad, `DRAM read at ${pa}`);
      assert.throws(() => p.memory.dramWrite(pa, new Uint8Array(8)), bad, `DRAM write at ${pa}`);
    }
    assert.throws(() => p.memory.readPhysical(0, -1), bad, 'a negative length');
    assert.equal(toHex(p.memory.readPhysical(0, 8)), '0000000000000000', 'nothing was written at 0 either');
  });

  test('RAM behaves normally next to it', () => {
    const { k } = newKernel();
    const pa = k.alloc(4096);
    k.proc.memory.writePhysical(pa + 10, Uint8Array.of(9, 8, 7));
    assert.equal(toHex(k.proc.memory.readPhysical(pa + 9, 5)), '0009080700');
  });
});

describe('host virtual accesses within one page (readVirtual/writeVirtual without the page loop)', () => {
  /** Three pages of host memory at `la` holding a pattern, a fourth mapped but never written, and an EPC page mapped after them. */
  function setup() {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const la = 0x6000_0000;
    const pa = k.hostBuffer(la, 4 * 4096);
    const pattern = new Uint8Array(3 * 4096).map((_, i) => (i * 7 + 3) & 0xff);
    k.proc.memory.writePhysical(pa, pattern);
    const epc = e.frame(e.data(0));
    k.mapUser(la + 4 * 4096, epc);
    return { k, la, pa, epc, pattern, mem: k.proc.memory };
  }
  // [offset from la, length]: aligned (word path), unaligned start or length, the last bytes of a
  // page, the word path's limit and past it, a whole page, across pages (the loop), nothing.
  const cases: [number, number][] = [[0, 64], [8, 24], [3, 64], [4, 62], [1, 7], [4096 - 64, 64], [4096 - 3, 3], [100, 256], [100, 260], [4096, 4096], [4000, 200], [0, 0]];

  test('a read returns the bytes the physical path reads, into any Uint8Array (a Buffer, an unaligned view)', () => {
    const { k, la, pa, pattern, mem } = setup();
    for (const [o, n] of cases) {
      const want = toHex(pattern.subarray(o, o + n));
      assert.equal(toHex(mem.readPhysical(pa + o, n)), want, `physical [${o}, +${n})`);
      assert.equal(toHex(mem.readVirtual(k.userPt, la + o, n, 3)), want, `virtual [${o}, +${n})`);
      const big = new Uint8Array(n + 5).fill(0xee);
      mem.readVirtualInto(k.userPt, la + o, big.subarray(1, 1 + n), 3);
      assert.equal(toHex(big.subarray(1, 1 + n)), want, `into an unaligned view [${o}, +${n})`);
      assert.equal(big[0], 0xee, 'nothing before the view');
      assert.equal(big[n + 1], 0xee, 'nothing after the view');
      const b = Buffer.alloc(n);
      mem.readVirtualInto(k.userPt, la + o, b, 3);
      assert.equal(toHex(b), want, `into a Buffer [${o}, +${n})`);
    }
  });

  test('the same through linear addresses at 2^31 and 2^32 (ToInt32 of the offset), and from a frame lent with swapFrame', () => {
    const { k, pa, pattern, mem } = setup();
    for (const high of [2 ** 31, 2 ** 32 + 8 * 4096]) {
      for (let o = 0; o < 3 * 4096; o += 4096) k.mapUser(high + o, pa + o);
      for (const [o, n] of cases) assert.equal(toHex(mem.readVirtual(k.userPt, high + o, n, 3)), toHex(pattern.subarray(o, o + n)), `0x${high.toString(16)} + [${o}, +${n})`);
      mem.writeVirtual(k.userPt, high + 4090, Uint8Array.of(1, 2, 3, 4), 3);
      assert.equal(toHex(mem.readPhysical(pa + 4090, 4)), '01020304');
      mem.writeVirtual(k.userPt, high + 4090, pattern.subarray(4090, 4094), 3);
    }
    const lent = new Uint8Array(4096).map((_, i) => (i * 29 + 11) & 0xff);
    const own = mem.swapFrame(pa + 4096, lent);
    assert.equal(toHex(mem.readVirtual(k.userPt, 0x6000_0000 + 4096 + 64, 64, 3)), toHex(lent.subarray(64, 128)), 'the lent bytes, as words');
    mem.writeVirtual(k.userPt, 0x6000_0000 + 4096 + 8, Uint8Array.of(7, 7), 3);
    assert.deepEqual([...lent.subarray(8, 10)], [7, 7], 'a write reaches the lent bytes');
    mem.swapFrame(pa + 4096, own);
    assert.equal(toHex(mem.readVirtual(k.userPt, 0x6000_0000 + 4096 + 64, 64, 3)), toHex(pattern.subarray(4096 + 64, 4096 + 128)), 'swapped back');
  });

  test('a page accessed again is walked again whenever the answer could differ: remapped, read-only, supervisor, unmapped, swapped, another table', () => {
    const { k, la, pa, pattern, mem } = setup();
    const read = (pt = k.userPt, cpl: 0 | 3 = 3) => toHex(mem.readVirtual(pt, la + 64, 16, cpl));
    assert.equal(read(), toHex(pattern.subarray(64, 80)), 'cached now');
    k.mapUser(la, pa + 4096); // the page remapped to the next frame
    assert.equal(read(), toHex(pattern.subarray(4096 + 64, 4096 + 80)), 'the new frame');
    k.mapUser(la, pa, false); // read-only
    assert.equal(read(), toHex(pattern.subarray(64, 80)));
    assertFault(() => mem.writeVirtual(k.userPt, la + 64, new Uint8Array(8), 3), VECTOR.PF);
    assert.equal(read(), toHex(pattern.subarray(64, 80)), 'the refused write changed nothing');
    k.userPt.map(la / 4096, pa / 4096, 1); // writable, supervisor only: the kernel (CPL 0) may, the host may not
    mem.writeVirtual(k.userPt, la + 64, Uint8Array.of(9, 9, 9, 9), 0);
    assert.equal(toHex(mem.readVirtual(k.userPt, la + 64, 4, 0)), '09090909');
    assertFault(() => read(), VECTOR.PF);
    assertFault(() => mem.writeVirtual(k.userPt, la + 64, new Uint8Array(4), 3), VECTOR.PF);
    k.mapUser(la, pa);
    mem.writeVirtual(k.userPt, la + 64, pattern.subarray(64, 68), 3);
    assert.equal(read(), toHex(pattern.subarray(64, 80)));
    const lent = new Uint8Array(4096).fill(0x5c);
    const own = mem.swapFrame(pa, lent); // the frame's bytes replaced
    assert.equal(read(), '5c'.repeat(16));
    mem.writeVirtual(k.userPt, la + 64, Uint8Array.of(1, 2, 3, 4), 3);
    assert.deepEqual([...lent.subarray(64, 68)], [1, 2, 3, 4], 'a write reaches the lent bytes');
    mem.swapFrame(pa, own);
    assert.equal(read(), toHex(pattern.subarray(64, 80)), 'swapped back');
    assert.equal(read(k.proc.kernelPageTable, 0), '00'.repeat(16), 'the same linear address in another table (the kernel\'s identity map: physical 0x6000_0040)');
    assert.equal(read(), toHex(pattern.subarray(64, 80)));
    k.userPt.unmap(la / 4096);
    assertFault(() => read(), VECTOR.PF);
    assertFault(() => mem.writeVirtual(k.userPt, la + 64, new Uint8Array(4), 3), VECTOR.PF);
  });

  test('a fractional address (which translate rounds down) is checked every time: no access at it lends its page another\'s permissions', () => {
    const { k, la, pa, pattern, mem } = setup();
    k.mapUser(la, pa, false); // user, read-only
    assert.equal(toHex(mem.readVirtual(k.userPt, la + 64.5, 4, 3)), toHex(pattern.subarray(64, 68)));
    assertFault(() => mem.writeVirtual(k.userPt, la + 64.5, Uint8Array.of(1, 2, 3, 4), 3), VECTOR.PF);
    assert.equal(toHex(mem.readPhysical(pa + 64, 4)), toHex(pattern.subarray(64, 68)), 'the read-only page is unchanged');
    k.userPt.map(la / 4096, pa / 4096, 0); // supervisor, read-only
    assert.equal(toHex(mem.readVirtual(k.userPt, la + 8.25, 4, 0)), toHex(pattern.subarray(8, 12)), 'the kernel may read it');
    assertFault(() => mem.readVirtual(k.userPt, la + 8.25, 4, 3), VECTOR.PF);
    assertFault(() => mem.writeVirtual(k.userPt, la + 8.25, Uint8Array.of(7, 7, 7, 7), 3), VECTOR.PF);
    assert.equal(toHex(mem.readPhysical(pa + 8, 4)), toHex(pattern.subarray(8, 12)));
  });

  test('a lent frame whose bytes were detached is refused, never answered with the page accessed before it', () => {
    const { k, la, pa, mem } = setup();
    mem.writePhysical(pa + 4096, new Uint8Array(4096).fill(0xbb));
    const lent = new Uint8Array(4096).fill(0xaa);
    mem.swapFrame(pa, lent);
    assert.equal(toHex(mem.readVirtual(k.userPt, la + 4096, 16, 3)), 'bb'.repeat(16), 'the next page, remembered');
    structuredClone(lent.buffer, { transfer: [lent.buffer] }); // the lender gives its buffer away
    const detached = (e: unknown) => e instanceof ArchError && e.code === 'FRAME_DETACHED';
    for (const [o, n] of [[1, 3], [0, 16]] as const) assert.throws(() => mem.readVirtual(k.userPt, la + o, n, 3), detached, `[${o}, +${n})`);
    assert.throws(() => mem.writeVirtual(k.userPt, la, new Uint8Array(16).fill(0x77), 3), detached);
    assert.equal(toHex(mem.readPhysical(pa + 4096, 16)), 'bb'.repeat(16), 'the next page is unchanged');
    // A lent frame remembered first, then detached: its remembered view is empty, the access is refused the same way.
    const lent2 = new Uint8Array(4096).fill(0xcc);
    mem.swapFrame(pa + 2 * 4096, lent2);
    assert.equal(toHex(mem.readVirtual(k.userPt, la + 2 * 4096, 16, 3)), 'cc'.repeat(16));
    structuredClone(lent2.buffer, { transfer: [lent2.buffer] });
    assert.throws(() => mem.readVirtual(k.userPt, la + 2 * 4096, 16, 3), detached);
    assert.throws(() => mem.writeVirtual(k.userPt, la + 2 * 4096, new Uint8Array(16), 3), detached);
  });

  test('a lent frame whose bytes were detached, reached by a physical access or across pages: FRAME_DETACHED, and a write changes no page', () => {
    const { k, la, pa, mem } = setup();
    mem.writePhysical(pa, new Uint8Array(3 * 4096).fill(0xbb));
    const lent = new Uint8Array(4096).fill(0xaa);
    mem.swapFrame(pa + 4096, lent);
    structuredClone(lent.buffer, { transfer: [lent.buffer] });
    const detached = (e: unknown) => e instanceof ArchError && e.code === 'FRAME_DETACHED';
    for (const [o, n] of [[4096 + 1, 3], [4096, 4096], [4096 - 8, 16], [0, 3 * 4096]] as const) {
      assert.throws(() => mem.readPhysical(pa + o, n), detached, `read [${o}, +${n})`);
      assert.throws(() => mem.writePhysical(pa + o, new Uint8Array(n).fill(0x77)), detached, `write [${o}, +${n})`);
      assert.throws(() => mem.readVirtual(k.userPt, la + o, n, 3), detached, `virtual read [${o}, +${n})`);
      assert.throws(() => mem.writeVirtual(k.userPt, la + o, new Uint8Array(n).fill(0x77), 3), detached, `virtual write [${o}, +${n})`);
    }
    assert.throws(() => mem.dramWrite(pa, new Uint8Array(3 * 4096).fill(0x77)), detached, 'the attacker\'s DRAM write across it');
    assert.equal(toHex(mem.readPhysical(pa, 4096)), 'bb'.repeat(4096), 'the page before is unchanged');
    assert.equal(toHex(mem.readPhysical(pa + 2 * 4096, 4096)), 'bb'.repeat(4096), 'the page after is unchanged');
    // Nothing accessed, nothing refused (as readPhysical of 0 bytes).
    for (const o of [4096, 4096 + 8]) {
      mem.writePhysical(pa + o, new Uint8Array(0));
      assert.equal(mem.readPhysical(pa + o, 0).length, 0);
    }
    // Swapped back: the frame had no bytes left, so the kernel gets a fresh zero page, and the frame works again.
    const back = mem.swapFrame(pa + 4096, new Uint8Array(4096).fill(0x11));
    assert.equal(back.length, 4096);
    assert.ok(back.every((b) => b === 0));
    assert.equal(toHex(mem.readPhysical(pa + 4096 - 2, 4)), 'bbbb1111');
  });

  test('into an array that clamps rather than truncates, or an object posing as a Uint8Array, the bytes are still the bytes', () => {
    const { k, la, pattern, mem } = setup();
    const want = [...pattern.subarray(64, 128)];
    const clamped = new Uint8ClampedArray(64);
    mem.readVirtualInto(k.userPt, la + 64, clamped as unknown as Uint8Array, 3);
    assert.deepEqual([...clamped], want);
    const poser = Object.create(Uint8Array.prototype, { length: { value: 64 } }) as Uint8Array & Record<number, number>;
    mem.readVirtualInto(k.userPt, la + 64, poser, 3);
    assert.deepEqual(Array.from({ length: 64 }, (_, i) => poser[i]), want);
  });

  test('a page never written reads as zeros, an EPC page as all-ones, through either table', () => {
    const { k, la, pa, mem } = setup();
    for (const [o, n] of [[0, 64], [5, 11]] as const) {
      assert.equal(toHex(mem.readVirtual(k.userPt, la + 3 * 4096 + o, n, 3)), '00'.repeat(n));
      assert.equal(toHex(mem.readVirtual(k.proc.kernelPageTable, pa + 3 * 4096 + o, n, 0)), '00'.repeat(n));
      assert.equal(toHex(mem.readVirtual(k.userPt, la + 4 * 4096 + o, n, 3)), allOnes(n));
    }
  });

  test('a read of an unmapped page faults (#PF) and leaves the output as it was', () => {
    const { k, la, mem } = setup();
    const out = new Uint8Array(64).fill(0x5a);
    assertFault(() => mem.readVirtualInto(k.userPt, la + 8 * 4096 + 16, out, 3), VECTOR.PF);
    assert.equal(toHex(out), '5a'.repeat(64));
  });

  test('a write lands where the physical path reads it; into a read-only page it faults and changes nothing; into the EPC it is dropped', () => {
    const { k, la, pa, epc, pattern, mem } = setup();
    for (const [o, n] of cases) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + o + 1) & 0xff);
      mem.writeVirtual(k.userPt, la + o, data, 3);
      assert.equal(toHex(mem.readPhysical(pa + o, n)), toHex(data), `[${o}, +${n})`);
      mem.writeVirtual(k.userPt, la + o, pattern.subarray(o, o + n), 3);
    }
    const b = Buffer.from([1, 2, 3, 4, 5]);
    mem.writeVirtual(k.userPt, la + 9, b, 3);
    assert.equal(toHex(mem.readPhysical(pa + 9, 5)), '0102030405', 'from a Buffer');
    mem.writeVirtual(k.userPt, la + 9, pattern.subarray(9, 14), 3);
    k.mapUser(la + 2 * 4096, pa + 2 * 4096, false);
    assertFault(() => mem.writeVirtual(k.userPt, la + 2 * 4096 + 8, new Uint8Array(16).fill(1), 3), VECTOR.PF);
    assert.equal(toHex(mem.readPhysical(pa, 3 * 4096)), toHex(pattern), 'nothing changed');
    const before = toHex(mem.dramRead(epc, 4096));
    mem.writeVirtual(k.userPt, la + 4 * 4096 + 8, new Uint8Array(16).fill(1), 3);
    assert.equal(toHex(mem.dramRead(epc, 4096)), before, 'the EPC page (its ciphertext) is as it was');
  });
});

describe('the DRAM view (§12, ED-12)', () => {
  test('ciphertext differs from the plaintext, from other pages with the same contents, and between boots', () => {
    const { k } = newKernel({ seed: new Uint8Array(32).fill(1) });
    const e = buildEnclave(k, { dataPages: 3 });
    const plain = e.b.pages.find((p) => p.offset === e.b.dataOffsets[0])!.data;
    const ct = k.proc.memory.dramRead(e.frame(e.data(0)), 4096);
    assert.equal(ct.length, 4096);
    assert.equal(bytesEqual(ct, plain), false);
    assert.notEqual(toHex(ct), allOnes(4096));
    // two zero SSA pages: different addresses, different ciphertext
    const z0 = k.proc.memory.dramRead(e.frame(e.ssa(0)), 64), z1 = k.proc.memory.dramRead(e.frame(e.ssa(0, 1)), 64);
    assert.notEqual(toHex(z0), toHex(z1));
    // the same enclave on a second boot of the same platform: another memory-encryption key
    const second = newKernel({ seed: new Uint8Array(32).fill(1) });
    const e2 = buildEnclave(second.k, { dataPages: 3 });
    assert.notEqual(toHex(second.k.proc.memory.dramRead(e2.frame(e2.data(0)), 64)), toHex(ct.subarray(0, 64)));
    // reads are stable while nothing writes
    assert.equal(toHex(k.proc.memory.dramRead(e.frame(e.data(0)), 4096)), toHex(ct));
  });

  test('the ciphertext changes after the enclave writes the page (version counter)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    const before = k.proc.memory.dramRead(pa, 4096);
    assert.equal(writeInside(e, engine, e.data(0) + 100, enc.encode('x')).reason, 'eexit');
    const after = k.proc.memory.dramRead(pa, 4096);
    assert.notEqual(toHex(after.subarray(0, 64)), toHex(before.subarray(0, 64)), 'the whole page is re-encrypted, not just the changed byte');
  });

  test('writing back exactly the current ciphertext changes nothing', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    const ct = k.proc.memory.dramRead(pa, 4096);
    assert.deepEqual(k.proc.memory.dramWrite(pa, ct), { tamperedPages: 0 });
    assert.deepEqual(k.proc.memory.dramWrite(pa + 512, ct.subarray(512, 600)), { tamperedPages: 0 });
    const r = readInside(e, engine, e.data(0), MARK.length);
    assert.equal(r.exit.reason, 'eexit');
    assert.equal(new TextDecoder().decode(r.data!), MARK);
    assert.equal(k.proc.locked, null);
  });

  test('garbage written by DMA: the next enclave access raises #MC and the platform stays locked', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const other = buildEnclave(k, { marker: 'other' });
    const pa = e.frame(e.data(0));
    const ct = k.proc.memory.dramRead(pa, 16);
    ct[0]! ^= 1;
    assert.deepEqual(k.proc.memory.dramWrite(pa, ct), { tamperedPages: 1 });
    assert.equal(k.proc.locked, null, 'nothing locks until the page is used');
    assertFault(() => readInside(e, engine, e.data(0), 4), VECTOR.MC);
    assert.notEqual(k.proc.locked, null);
    assert.equal(k.proc.lps[1]!.inEnclaveMode, false);
    // everything that touches the EPC now machine-checks, in any enclave, through ENCLS too
    assertFault(() => other.enter(0), VECTOR.MC);
    assertFault(() => k.encls(ENCLS.EREMOVE, 0, other.frame(other.data(0))), VECTOR.MC);
    assertFault(() => k.edbgrd(other.frame(other.data(0))), VECTOR.MC);
  });

  test('a replayed older ciphertext is detected like garbage (#MC at the next entry)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(0));
    const old = k.proc.memory.dramRead(pa, 4096);
    writeInside(e, engine, e.data(0), enc.encode('new secret'));
    assert.deepEqual(k.proc.memory.dramWrite(pa, old), { tamperedPages: 1 });
    assertFault(() => e.enter(0), VECTOR.MC);
    assert.match(k.proc.locked!, /integrity/);
  });

  test('a handler cannot catch #MC: it reaches the caller of enclu', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(1));
    let tamper = true;
    const op = engine.on((ctx) => {
      if (tamper) {
        tamper = false;
        const ct = k.proc.memory.dramRead(pa, 8);
        ct[3]! ^= 0x80;
        k.proc.memory.dramWrite(pa, ct);
      }
      ctx.read(e.data(1), 8);
      return ctx.regs.rcx;
    });
    const seen: ExitInfo[] = [];
    assertFault(() => e.enter(op, { handler: (x) => (seen.push(x), 0) }), VECTOR.MC);
    assert.deepEqual(seen, []);
    assert.notEqual(k.proc.locked, null);
  });

  test('tampering with the SECS or the TCS page is caught at the next entry', () => {
    for (const which of ['secs', 'tcs'] as const) {
      const { k } = newKernel();
      const e = buildEnclave(k);
      const pa = which === 'secs' ? e.secs : e.frame(e.tcs(0));
      const ct = k.proc.memory.dramRead(pa, 64);
      ct[10]! ^= 4;
      assert.deepEqual(k.proc.memory.dramWrite(pa, ct), { tamperedPages: 1 });
      assertFault(() => e.enter(0), VECTOR.MC);
      assert.notEqual(k.proc.locked, null, which);
    }
  });

  test('a tampered page that is EREMOVEd before anyone reads it does not lock the platform', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const pa = e.frame(e.data(1));
    k.proc.memory.dramWrite(pa, new Uint8Array(32).fill(0x99));
    assert.equal(k.encls(ENCLS.EREMOVE, 0, pa), 0);
    const r = readInside(e, engine, e.data(0), MARK.length);
    assert.equal(r.exit.reason, 'eexit');
    assert.equal(k.proc.locked, null);
  });

  test('DMA into RAM is an ordinary write; DRAM reads of RAM are plaintext', () => {
    const { k } = newKernel();
    const pa = k.alloc(4096);
    assert.deepEqual(k.proc.memory.dramWrite(pa, Uint8Array.of(5, 6)), { tamperedPages: 0 });
    assert.equal(toHex(k.proc.memory.readPhysical(pa, 2)), '0506');
    assert.equal(toHex(k.proc.memory.dramRead(pa, 2)), '0506');
  });
});

describe('EPCM checks against a hostile kernel (§8.1)', () => {
  function remapAndRead(setup: (k: ReturnType<typeof newKernel>['k'], e: BuiltEnclave, other: BuiltEnclave) => number, write = false) {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const other = buildEnclave(k, { marker: 'other' });
    const la = setup(k, e, other);
    const op = engine.on((ctx) => {
      if (write) ctx.write(la, Uint8Array.of(1));
      else ctx.read(la, 8);
      return ctx.regs.rcx;
    });
    return { k, e, exit: e.enter(op).exit, la };
  }

  const cases: [string, (k: ReturnType<typeof newKernel>['k'], e: BuiltEnclave, other: BuiltEnclave) => number, boolean, boolean][] = [
    ['a data page remapped to another REG frame of the same enclave', (k, e) => (k.mapUser(e.data(0), e.frame(e.data(1))), e.data(0)), true, false],
    ['a data page remapped to a REG frame of another enclave', (k, e, o) => (k.mapUser(e.data(0), o.frame(o.data(0))), e.data(0)), true, false],
    ['a data page remapped to the enclave\'s TCS frame', (k, e) => (k.mapUser(e.data(0), e.frame(e.tcs(0))), e.data(0)), true, false],
    ['a data page remapped to its SECS', (k, e) => (k.mapUser(e.data(0), e.secs), e.data(0)), true, false],
    ['a data page remapped to a free EPC page', (k, e) => (k.mapUser(e.data(0), k.epcPage()), e.data(0)), true, false],
    ['an ELRANGE page mapped to RAM (outside the EPC)', (k, e) => (k.mapUser(e.spare, k.alloc(4096)), e.spare), true, false],
    ['a write to a page the EPCM makes read-only (PTE writable)', (k, e) => (k.mapUser(e.code, e.frame(e.code), true), e.code), true, true],
    ['a write to a page whose PTE is read-only (ordinary #PF, no SGX bit)', (k, e) => (k.mapUser(e.data(0), e.frame(e.data(0)), false), e.data(0)), false, true],
    ['an unmapped ELRANGE page (ordinary #PF)', (_k, e) => e.spare, false, false],
  ];
  for (const [name, setup, sgx, write] of cases) {
    test(`${name} → #PF${sgx ? ' with PFEC bit 15' : ' without PFEC.SGX'}`, () => {
      const { exit, la, k } = remapAndRead(setup, write);
      assert.equal(exit.reason, 'aex');
      assert.equal(exit.vector, VECTOR.PF);
      assert.equal(exit.address, la - (la % 4096));
      assert.equal((exit.errorCode & PFEC.SGX) !== 0, sgx, `PFEC 0x${exit.errorCode.toString(16)}`);
      assert.equal((exit.errorCode & PFEC.W) !== 0, write);
      assert.equal(k.proc.locked, null);
    });
  }

  test('another enclave\'s page with the same linear address (same BASEADDR, other SECS) → #PF with PFEC.SGX', () => {
    const { k, engine } = newKernel();
    const A = buildEnclave(k);
    const B = buildEnclave(k, { base: A.base, marker: 'B at the same base' });
    // B's pages were mapped over A's: give A its own mappings back, except data page 0
    for (const [off, pa] of A.b.frames) k.mapUser(A.base + off, pa);
    k.mapUser(A.data(0), B.frame(B.data(0)));
    assert.equal(k.proc.inspect.epcm(B.frame(B.data(0))).linAddr, A.data(0));
    const r = readInside(A, engine, A.data(0), 8);
    assert.equal(r.data, null, 'nothing leaked');
    assert.equal(r.exit.vector, VECTOR.PF);
    assert.ok(r.exit.errorCode & PFEC.SGX);
  });

  test('the TCS at its own linear address is not accessible to enclave code (#PF with PFEC.SGX)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const r = readInside(e, engine, e.tcs(0) + 16, 8);
    assert.equal(r.data, null);
    assert.deepEqual([r.exit.reason, r.exit.vector, (r.exit.errorCode & PFEC.SGX) !== 0], ['aex', VECTOR.PF, true]);
  });

  test('the enclave reads and writes untrusted memory outside ELRANGE; fetches there are #GP', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const { la, pa } = k.hostAlloc(4096);
    k.proc.memory.writePhysical(pa, enc.encode('from the host'));
    let got = '';
    const op = engine.on((ctx) => {
      got = new TextDecoder().decode(ctx.read(la, 13));
      ctx.write(la + 100, enc.encode('from the enclave'));
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(op).exit.reason, 'eexit');
    assert.equal(got, 'from the host');
    assert.equal(new TextDecoder().decode(k.proc.memory.readPhysical(pa + 100, 16)), 'from the enclave');
    const f = engine.on((ctx) => {
      ctx.fetch(la, 4);
      return ctx.regs.rcx;
    });
    const x = e.enter(f).exit;
    assert.deepEqual([x.reason, x.vector], ['aex', VECTOR.GP]);
  });

  test('instruction fetch needs EPCM X: the code page is fetchable, a data page mapped executable is not', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    let code: Uint8Array | null = null;
    const ok = engine.on((ctx) => {
      code = ctx.fetch(e.code, 20);
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(ok).exit.reason, 'eexit');
    assert.equal(new TextDecoder().decode(code!), 'witness test enclave');
    k.mapUser(e.data(0), e.frame(e.data(0)), true, false); // PTE allows execution
    const bad = engine.on((ctx) => {
      ctx.fetch(e.data(0), 4);
      return ctx.regs.rcx;
    });
    const x = e.enter(bad).exit;
    assert.equal(x.vector, VECTOR.PF);
    assert.ok(x.errorCode & PFEC.SGX && x.errorCode & PFEC.ID);
  });

  test('the remapped read did not leak: the AEX left no data and the enclave is intact after the kernel restores the mapping', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    k.mapUser(e.data(0), e.frame(e.data(1)));
    const r = readInside(e, engine, e.data(0), 8);
    assert.equal(r.data, null);
    assert.equal(r.exit.reason, 'aex');
    k.mapUser(e.data(0), e.frame(e.data(0)));
    assert.equal(e.resume().exit.reason, 'eexit');
    const again = readInside(e, engine, e.data(0), MARK.length);
    assert.equal(new TextDecoder().decode(again.data!), MARK);
  });

  test('PRM memory that is not EPC reads as the abort page even in enclave mode', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const meta = k.proc.prm.base + k.proc.epcPages * 4096; // MEE metadata above the EPC
    assert.ok(meta < k.proc.prm.base + k.proc.prm.size);
    const la = 0x5000_0000;
    k.mapUser(la, meta);
    const r = readInside(e, engine, la, 16);
    assert.equal(r.exit.reason, 'eexit');
    assert.equal(toHex(r.data!), allOnes(16));
  });

  test('ArchFault carries vector, error code and address', () => {
    const f = new ArchFault(VECTOR.PF, PFEC.P | PFEC.SGX, 0x1234, 'x');
    assert.equal(f.mnemonic, '#PF');
    assert.match(f.message, /#PF\(0x1234, pfec 0x8001\)/);
  });
});

describe('enclave pages backing a WebAssembly.Memory (mapMemory, ARCHITECTURE "Enclave execution")', () => {
  function withMemory() {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { dataPages: 16 });
    let mem: WebAssembly.Memory | null = null;
    const map = engine.on((ctx) => {
      mem = ctx.mapMemory(e.data(0), 0x10000);
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(map).exit.reason, 'eexit');
    return { k, engine, e, mem: mem! as WebAssembly.Memory };
  }

  test('the memory holds the pages\' contents, and both views stay one', () => {
    const { k, engine, e, mem } = withMemory();
    assert.equal(mem.buffer.byteLength, 0x10000);
    const view = new Uint8Array(mem.buffer);
    assert.equal(new TextDecoder().decode(view.subarray(0, MARK.length)), MARK);
    assert.equal(new TextDecoder().decode(view.subarray(0x1000, 0x1000 + MARK.length)), 'witness test enclave: data 1');
    view.set(enc.encode('via wasm'), 0x2000);
    const r = readInside(e, engine, e.data(2), 8);
    assert.equal(new TextDecoder().decode(r.data!), 'via wasm');
    writeInside(e, engine, e.data(3) + 5, enc.encode('via ctx'));
    assert.equal(new TextDecoder().decode(view.subarray(0x3005, 0x300c)), 'via ctx');
    assert.equal(k.edbgrd(e.frame(e.data(2))), 0x6d73617720616976n); // 'via wasm' little-endian
    assert.equal(toHex(k.proc.memory.readPhysical(e.frame(e.data(2)), 8)), allOnes(8), 'still the abort page from outside');
  });

  test('the DRAM ciphertext of a backed page changes at every exit even without a visible write', () => {
    const { k, e } = withMemory();
    const pa = e.frame(e.data(5));
    const c1 = toHex(k.proc.memory.dramRead(pa, 64));
    assert.equal(toHex(k.proc.memory.dramRead(pa, 64)), c1);
    e.enter(0);
    assert.notEqual(toHex(k.proc.memory.dramRead(pa, 64)), c1);
  });

  test('mapping the same pages twice, a size that is not a multiple of 64 KiB, or a region outside ELRANGE → #GP', () => {
    const { engine, e } = withMemory();
    for (const [la, size] of [[e.data(0), 0x10000], [e.data(0), 0x1000], [e.base + e.b.size - 0x1000, 0x10000]] as const) {
      const op = engine.on((ctx) => {
        ctx.mapMemory(la, size);
        return ctx.regs.rcx;
      });
      const x = e.enter(op).exit;
      assert.deepEqual([x.reason, x.vector], ['aex', VECTOR.GP], `0x${la.toString(16)}+0x${size.toString(16)}`);
      e.resume();
    }
  });

  test('EDBGWR writes through to the memory; EREMOVE of a backed page scrubs its bytes in the memory', () => {
    const { k, e, mem } = withMemory();
    const view = new Uint8Array(mem.buffer);
    const pa = e.frame(e.data(4));
    assert.equal(k.edbgwr(pa + 8, 0x0102030405060708n), SGX.SUCCESS);
    assert.deepEqual([...view.subarray(0x4008, 0x4010)], [8, 7, 6, 5, 4, 3, 2, 1]);
    assert.ok(view.subarray(0x4000, 0x5000).some((b) => b !== 0));
    assert.equal(k.encls(ENCLS.EREMOVE, 0, pa), SGX.SUCCESS);
    assert.ok(view.subarray(0x4000, 0x5000).every((b) => b === 0), 'no plaintext left in the memory');
    assert.ok(view.subarray(0x5000, 0x6000).some((b) => b !== 0), 'the neighbouring page is untouched');
    // A page nothing has accessed since it was mapped is scrubbed too.
    assert.ok(view.subarray(0x6000, 0x7000).some((b) => b !== 0));
    assert.equal(k.encls(ENCLS.EREMOVE, 0, e.frame(e.data(6))), SGX.SUCCESS);
    assert.ok(view.subarray(0x6000, 0x7000).every((b) => b === 0));
  });

  test('after memory.grow(0) replaced the buffer, the processor still sees and scrubs the memory\'s bytes', () => {
    const { k, e, mem } = withMemory();
    const pa = e.frame(e.data(4));
    assert.equal(k.edbgwr(pa, 0x1122334455667788n), SGX.SUCCESS); // caches a view of the old buffer
    mem.grow(0); // detaches the old buffer
    const view = new Uint8Array(mem.buffer);
    assert.equal(k.edbgrd(pa), 0x1122334455667788n);
    assert.equal(k.edbgwr(pa + 8, 0x99n), SGX.SUCCESS);
    assert.equal(view[0x4008], 0x99);
    assert.equal(k.encls(ENCLS.EREMOVE, 0, pa), SGX.SUCCESS);
    assert.ok(view.subarray(0x4000, 0x5000).every((b) => b === 0));
  });

  test('a write to a backed page after memory.grow(0), with no read in between, lands in the new buffer', () => {
    const { e, engine, mem } = withMemory();
    assert.equal(writeInside(e, engine, e.data(1), new Uint8Array([9])).reason, 'eexit');
    mem.grow(0);
    assert.equal(writeInside(e, engine, e.data(1), new Uint8Array([1, 2, 3])).reason, 'eexit');
    assert.deepEqual([...new Uint8Array(mem.buffer, 0x1000, 3)], [1, 2, 3]);
  });

  test('copies between a backed page and an overlapping range of its own memory move like memmove', () => {
    const { e, engine, mem } = withMemory();
    const v = new Uint8Array(mem.buffer);
    for (let i = 0; i < 16; i++) v[0x2000 + i] = i + 1;
    // Write memory bytes 0x2000.. to the enclave address of byte 0x2001 (the same buffer, one byte on).
    e.enter(engine.on((ctx) => { ctx.write(e.data(2) + 1, new Uint8Array(mem.buffer), 0x2000, 8); return ctx.regs.rcx; }));
    assert.deepEqual([...v.subarray(0x2000, 0x200a)], [1, 1, 2, 3, 4, 5, 6, 7, 8, 10], 'write');
    for (let i = 0; i < 16; i++) v[0x3000 + i] = i + 1;
    e.enter(engine.on((ctx) => { ctx.readInto(e.data(3), new Uint8Array(mem.buffer), 0x3001, 8); return ctx.regs.rcx; }));
    assert.deepEqual([...v.subarray(0x3000, 0x300a)], [1, 1, 2, 3, 4, 5, 6, 7, 8, 10], 'readInto');
  });

  test('EREMOVE of a backed page is caught at the next entry (#PF), with the page table unchanged', () => {
    const { k, e } = withMemory();
    assert.equal(e.enter(0).exit.reason, 'eexit'); // the region check is remembered
    assert.equal(k.encls(ENCLS.EREMOVE, 0, e.frame(e.data(4))), SGX.SUCCESS);
    const before = k.userPt.lookup(e.data(4) / 4096);
    const x = e.enter(0).exit;
    assert.deepEqual([x.reason, x.vector], ['aex', VECTOR.PF]);
    assert.ok(x.errorCode & PFEC.SGX, 'an EPCM fault, not a page-table one');
    assert.deepEqual(k.userPt.lookup(e.data(4) / 4096), before, 'the page table is unchanged');
  });

  test('EENTER writes URSP/URBP into SSA pages bound to a memory, also after memory.grow(0) replaced its buffer', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { nssa: 16, ssaFrameSize: 1 });
    const ursp = () => GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), 184)).URSP;
    const urbp = () => GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), 184)).URBP;
    assert.equal(e.enter(0, { regs: { rsp: 0x1000, rbp: 0x2000 } }).exit.reason, 'eexit'); // the frame's word view is made
    let mem: WebAssembly.Memory | null = null;
    assert.equal(e.enter(engine.on((ctx) => { mem = ctx.mapMemory(e.ssa(0, 0), 0x10000); return ctx.regs.rcx; })).exit.reason, 'eexit');
    e.enter(0, { regs: { rsp: 0x5000, rbp: 0x6000 } });
    assert.equal(ursp(), 0x5000n, 'after mapMemory');
    assert.equal(urbp(), 0x6000n, 'after mapMemory');
    (mem as WebAssembly.Memory | null)!.grow(0);
    e.enter(0, { regs: { rsp: 0x7000, rbp: 0x8000 } });
    assert.equal(ursp(), 0x7000n, 'after grow(0)');
    assert.equal(urbp(), 0x8000n, 'after grow(0)');
  });

  test('unmapMemory: the pages become zero and back nothing, the memory\'s bytes are not touched (not by EREMOVE either), and entries no longer check the region', () => {
    const { k, engine, e, mem } = withMemory();
    const view = new Uint8Array(mem.buffer);
    view.set(enc.encode('written by the module'), 0x2000);
    const before = view.slice();
    assert.notEqual(k.edbgrd(e.frame(e.data(2))), 0n);
    const x = e.enter(engine.on((ctx) => {
      ctx.unmapMemory(mem);
      return ctx.regs.rcx;
    })).exit;
    assert.equal(x.reason, 'eexit');
    assert.ok(bytesEqual(view, before), 'the memory as it was');
    for (const j of [0, 1, 2, 15]) assert.equal(k.edbgrd(e.frame(e.data(j))), 0n, `page ${j} is zero now`);
    // Ordinary pages again: a write through the context lands in the page, not in the memory.
    assert.equal(writeInside(e, engine, e.data(3), enc.encode('after')).reason, 'eexit');
    assert.equal(new TextDecoder().decode(readInside(e, engine, e.data(3), 5).data!), 'after');
    assert.ok(bytesEqual(view, before), 'the memory still as it was');
    assert.equal(k.encls(ENCLS.EREMOVE, 0, e.frame(e.data(2))), SGX.SUCCESS);
    assert.ok(bytesEqual(view, before), 'EREMOVE does not scrub a memory given up');
    assert.equal(e.enter(0).exit.reason, 'eexit', 'the next entry does not check the region (one of whose pages is gone)');
  });

  test('unmapMemory: the pages\' DRAM ciphertext changes with their contents, also for a reader of DRAM during the enclave\'s first entry (a new version: no keystream used twice)', () => {
    // Map, write, unmap in one first entry (no exit yet: a backed page's epoch is 0, as a released
    // page's is), with DRAM read meanwhile, as a physical attacker on another core may.
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { dataPages: 16 });
    const pa = e.frame(e.data(2));
    const plain = enc.encode('plaintext the module wrote, sixty-four bytes of it, more or less.').subarray(0, 64);
    let before: Uint8Array | null = null, after: Uint8Array | null = null;
    assert.equal(e.enter(engine.on((ctx) => {
      const mem = ctx.mapMemory(e.data(0), 0x10000, { zero: true });
      new Uint8Array(mem.buffer).set(plain, 0x2000);
      before = k.proc.memory.dramRead(pa, 64);
      ctx.unmapMemory(mem);
      after = k.proc.memory.dramRead(pa, 64);
      return ctx.regs.rcx;
    })).exit.reason, 'eexit');
    const xor = before!.map((b, i) => b ^ after![i]!);
    assert.equal(bytesEqual(xor, plain), false, 'the two ciphertexts XOR to the old plaintext: one keystream for both');
  });

  test('unmapMemory of a memory this enclave has not mapped (a fresh one, another enclave\'s, one already given up) is #GP and changes nothing', () => {
    const { k, engine, e, mem } = withMemory();
    const other = withMemory();
    const unmap = (m: WebAssembly.Memory) => e.enter(engine.on((ctx) => {
      ctx.unmapMemory(m);
      return ctx.regs.rcx;
    })).exit;
    for (const m of [new WebAssembly.Memory({ initial: 1, maximum: 1 }), other.mem]) {
      const x = unmap(m);
      assert.deepEqual([x.reason, x.vector], ['aex', VECTOR.GP]);
      e.resume();
    }
    new Uint8Array(mem.buffer).set(enc.encode('still mapped'), 0x4000);
    assert.equal(new TextDecoder().decode(readInside(e, engine, e.data(4), 12).data!), 'still mapped', 'the region still backs the pages');
    new Uint8Array(other.mem.buffer).set(enc.encode('the other'), 0x1000);
    assert.equal(new TextDecoder().decode(readInside(other.e, other.engine, other.e.data(1), 9).data!), 'the other', 'and the other enclave\'s its own');
    assert.equal(unmap(mem).reason, 'eexit');
    const again = unmap(mem);
    assert.deepEqual([again.reason, again.vector], ['aex', VECTOR.GP], 'given up twice');
    e.resume();
    assert.equal(k.edbgrd(e.frame(e.data(4))), 0n);
  });

  test('a kernel remap of a backed page is caught at the next entry with #PF (PFEC.SGX)', () => {
    const { k, e } = withMemory();
    const la = e.data(7);
    k.mapUser(la, e.frame(e.data(8)));
    const x = e.enter(0).exit;
    assert.equal(x.reason, 'aex');
    assert.equal(x.vector, VECTOR.PF);
    assert.equal(x.address, la);
    assert.ok(x.errorCode & PFEC.SGX);
    k.mapUser(la, e.frame(la));
    assert.equal(e.resume().exit.reason, 'eexit');
    assert.equal(e.enter(0).exit.reason, 'eexit');
  });
});

describe('enclave-mode copies with ordinary RAM through a word view (readInto/write with `words`)', () => {
  /** Untrusted memory at `la` (3 pages), filled with a pattern by the host. */
  function withHostMemory() {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const la = 0x6000_0000;
    const pa = k.hostBuffer(la, 3 * 4096);
    const pattern = new Uint8Array(3 * 4096).map((_, i) => (i * 7 + 3) & 0xff);
    k.proc.memory.writePhysical(pa, pattern);
    return { k, engine, e, la, pa, pattern };
  }
  /** Run `fn` inside the enclave; returns its exit. */
  function inside(e: BuiltEnclave, engine: ScriptEngine, fn: (ctx: Parameters<Parameters<ScriptEngine['on']>[0]>[0]) => void): ExitInfo {
    const op = engine.on((ctx) => {
      fn(ctx);
      return ctx.regs.rcx;
    });
    return e.enter(op).exit;
  }
  const cases: [number, number, number][] = [
    // [offset in the host memory, offset in the buffer, length]: aligned small, unaligned, above the word limit, across a page
    [0, 0, 64], [8, 16, 24], [4096 - 32, 4, 64], [3, 0, 64], [0, 2, 64], [0, 0, 62], [100, 0, 256], [100, 0, 260], [4000, 8, 512], [0, 0, 0],
  ];

  test('swapFrame: every access reaches the lent bytes until the frame is swapped back (the cached frame and its word view follow)', () => {
    const { k, e, engine, la, pa, pattern } = withHostMemory();
    const read = () => {
      const out = new Uint8Array(64);
      assert.equal(inside(e, engine, (ctx) => ctx.readInto(la + 4096, out, 0, 64, new Int32Array(out.buffer))).reason, 'eexit');
      return toHex(out);
    };
    assert.equal(read(), toHex(pattern.subarray(4096, 4160)), 'the frame is cached, with a word view');
    const lent = new Uint8Array(4096).map((_, i) => (i * 13 + 1) & 255);
    const own = k.proc.memory.swapFrame(pa + 4096, lent);
    assert.equal(toHex(own), toHex(pattern.subarray(4096, 8192)), 'the bytes it had');
    assert.equal(read(), toHex(lent.subarray(0, 64)), 'enclave-mode reads see the lent bytes');
    assert.equal(toHex(k.proc.memory.readPhysical(pa + 4096 + 100, 8)), toHex(lent.subarray(100, 108)));
    k.proc.memory.writePhysical(pa + 4096 + 8, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...lent.subarray(8, 11)], [1, 2, 3], 'writes reach the lent bytes (in place, not a copy)');
    const back = k.proc.memory.swapFrame(pa + 4096, own);
    back[0] = 0xfe;
    assert.equal(lent[0], 0xfe, 'the frame held a view of the lent bytes');
    assert.equal(read(), toHex(pattern.subarray(4096, 4160)), 'swapped back');
    const fresh = k.alloc(4096); // never written: no bytes yet
    assert.equal(toHex(k.proc.memory.swapFrame(fresh, lent)), '00'.repeat(4096));
  });

  test('a lent frame whose bytes were detached is refused in enclave mode too, never answered with the page accessed before it', () => {
    const { k, e, engine, la, pa } = withHostMemory();
    const mem = k.proc.memory;
    mem.writePhysical(pa + 4096, new Uint8Array(4096).fill(0xbb));
    k.mapUser(la + 4096, pa + 4096, false); // the next page read-only
    const lent = new Uint8Array(4096).fill(0xaa);
    mem.swapFrame(pa, lent);
    const seen: string[] = [];
    assert.equal(inside(e, engine, (ctx) => {
      const out = new Uint8Array(16), w = new Int32Array(out.buffer);
      ctx.readInto(la + 4096, out, 0, 16, w); // the next page, remembered with its words
      structuredClone(lent.buffer, { transfer: [lent.buffer] });
      const attempt = (what: string, f: () => void) => {
        try {
          f();
          seen.push(`${what}: done`);
        } catch (err) {
          seen.push(`${what}: ${err instanceof ArchError ? err.code : String(err)}`);
        }
      };
      attempt('unaligned read', () => ctx.read(la + 1, 3));
      attempt('aligned read', () => ctx.readInto(la, out, 0, 16, w));
      attempt('unaligned write', () => ctx.write(la + 1, Uint8Array.of(1, 2, 3)));
      out.fill(0x77);
      attempt('aligned write', () => ctx.write(la, out, 0, 16, w));
      // A lent frame the context remembered first (with its words), then detached.
      const lent2 = new Uint8Array(4096).fill(0xcc);
      mem.swapFrame(pa + 2 * 4096, lent2);
      ctx.readInto(la + 2 * 4096, out, 0, 16, w);
      seen.push(`remembered: ${toHex(out.subarray(0, 2))}`);
      structuredClone(lent2.buffer, { transfer: [lent2.buffer] });
      attempt('aligned read after', () => ctx.readInto(la + 2 * 4096, out, 0, 16, w));
      attempt('aligned write after', () => ctx.write(la + 2 * 4096, out, 0, 16, w));
    }).reason, 'eexit');
    assert.deepEqual(seen, ['unaligned read: FRAME_DETACHED', 'aligned read: FRAME_DETACHED', 'unaligned write: FRAME_DETACHED', 'aligned write: FRAME_DETACHED', 'remembered: cccc', 'aligned read after: FRAME_DETACHED', 'aligned write after: FRAME_DETACHED']);
    assert.equal(toHex(mem.readPhysical(pa + 4096, 16)), 'bb'.repeat(16), 'the read-only next page is unchanged');
  });

  test('an enclave write across pages, one of them a lent frame since detached: FRAME_DETACHED, and no page written', () => {
    const { k, e, engine, la, pa, pattern } = withHostMemory();
    const mem = k.proc.memory;
    const lent = new Uint8Array(4096).fill(0xaa);
    mem.swapFrame(pa + 4096, lent);
    structuredClone(lent.buffer, { transfer: [lent.buffer] });
    let seen = '';
    assert.equal(inside(e, engine, (ctx) => {
      try {
        ctx.write(la, new Uint8Array(3 * 4096).fill(0x66));
        seen = 'written';
      } catch (err) {
        seen = err instanceof ArchError ? err.code : String(err);
      }
    }).reason, 'eexit');
    assert.equal(seen, 'FRAME_DETACHED');
    assert.equal(toHex(mem.readPhysical(pa, 4096)), toHex(pattern.subarray(0, 4096)), 'the page before is unchanged');
    assert.equal(toHex(mem.readPhysical(pa + 2 * 4096, 4096)), toHex(pattern.subarray(2 * 4096)), 'the page after is unchanged');
  });

  test('a page first written in enclave mode gets its frame\'s word view: the next small aligned accesses take the word path', () => {
    const { k, e, engine } = withHostMemory();
    const { la, pa } = k.hostAlloc(4096); // mapped, never written: no frame yet
    assert.equal(toHex(k.proc.memory.readPhysical(pa, 8)), '00'.repeat(8));
    assert.equal(inside(e, engine, (ctx) => {
      const b = new Uint8Array(16).fill(0x3c), w = new Int32Array(b.buffer);
      ctx.write(la + 32, b, 0, 16, w);
      b.fill(0x4d);
      ctx.write(la + 48, b, 0, 16, w);
      const out = new Uint8Array(32), ow = new Int32Array(out.buffer);
      ctx.readInto(la + 32, out, 0, 32, ow);
      assert.equal(toHex(out), '3c'.repeat(16) + '4d'.repeat(16));
    }).reason, 'eexit');
    assert.equal(toHex(k.proc.memory.readPhysical(pa + 32, 32)), '3c'.repeat(16) + '4d'.repeat(16));
  });

  test('swapFrame lends the 4096 bytes at an offset, through a fresh view (nothing the object overrides answers)', () => {
    const { k, pa } = withHostMemory();
    const mem = k.proc.memory;
    class Lying extends Uint8Array {
      override subarray(): Uint8Array<ArrayBuffer> {
        throw new Error('called');
      }
    }
    const big = new Lying(3 * 4096).map((_, i) => (i * 17 + 5) & 255);
    Object.defineProperty(big, 'length', { value: 1 });
    const own = mem.swapFrame(pa, big, 4096);
    assert.equal(toHex(mem.readPhysical(pa, 4096)), toHex(Uint8Array.prototype.slice.call(big, 4096, 8192)));
    mem.writePhysical(pa + 4, new Uint8Array([9]));
    assert.equal(Uint8Array.prototype.at.call(big, 4096 + 4), 9, 'in place');
    const back = mem.swapFrame(pa, own);
    assert.equal(Object.getPrototypeOf(back), Uint8Array.prototype, 'the frame held a plain view, not the object given');
  });

  test('swapFrame refuses anything but 4096 plain, aligned bytes for a RAM frame (BAD_FRAME), changing nothing', () => {
    const { k, pa, pattern } = withHostMemory();
    const mem = k.proc.memory;
    const page = new Uint8Array(4096);
    const detached = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const gone = new Uint8Array(detached.buffer, 0, 4096);
    detached.grow(1);
    type Growable = ArrayBuffer & { resize(n: number): void };
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Growable)(8192, { maxByteLength: 3 * 4096 });
    const bad: [unknown, unknown, number][] = [
      [pa + 8, page, 0], [pa, new Uint8Array(4095), 0], [pa, new Uint8Array(8192), 4097], [pa, new Uint8Array(8192), -1], [-4096, page, 0], [0.5, page, 0],
      [k.proc.prm.base, page, 0], [k.proc.epcBase + 4096, page, 0], [k.proc.ramSize, page, 0], [2 ** 53, page, 0], [Symbol('pa'), page, 0],
      [pa, new Uint8Array(4097).subarray(1), 0], [pa, new Uint8Array(8192), 2], // not 4-aligned
      [pa, new Uint8Array(new SharedArrayBuffer(4096)), 0], [pa, new Uint8Array(resizable, 0, 4096), 0], [pa, gone, 0],
      [pa, new Int32Array(1024), 0], [pa, new DataView(new ArrayBuffer(4096)), 0], [pa, Object.create(Uint8Array.prototype, { length: { value: 4096 } }), 0], [pa, [...page], 0],
    ];
    for (const [at, bytes, offset] of bad) {
      assert.throws(() => mem.swapFrame(at as number, bytes as Uint8Array, offset), (x: unknown) => x instanceof ArchError && x.code === 'BAD_FRAME', `${String(at)}, ${Object.prototype.toString.call(bytes)} at ${offset}`);
    }
    assert.equal(toHex(mem.readPhysical(pa, 3 * 4096)), toHex(pattern));
  });

  test('reads give the same bytes with and without a word view, and nothing outside the range changes', () => {
    const { e, engine, la, pattern } = withHostMemory();
    for (const [o, at, n] of cases) {
      const a = new Uint8Array(1024).fill(0xee), b = new Uint8Array(1024).fill(0xee);
      const words = new Int32Array(b.buffer);
      assert.equal(inside(e, engine, (ctx) => {
        ctx.readInto(la + o, a, at, n);
        ctx.readInto(la + o, b, at, n, words);
      }).reason, 'eexit');
      assert.deepEqual(b, a, `[${o}, ${at}, ${n}]`);
      assert.deepEqual(b.subarray(at, at + n), pattern.subarray(o, o + n));
      assert.ok(b.subarray(0, at).every((x) => x === 0xee) && b.subarray(at + n).every((x) => x === 0xee));
    }
  });

  test('a range outside the engine\'s buffer: ArchError BAD_BUFFER_RANGE naming it, for reads and writes, and nothing moves', () => {
    const { k, e, engine, la, pa, pattern } = withHostMemory();
    const bad: [number, number][] = [[-1, 1], [0, 17], [16, 1], [8, -1], [1.5, 1], [0, 0.5], [0, NaN], [NaN, 0], [0, Infinity]];
    const seen: string[] = [];
    const buf = new Uint8Array(16).fill(0xee);
    assert.equal(inside(e, engine, (ctx) => {
      for (const [at, len] of bad) {
        for (const write of [false, true]) {
          try {
            if (write) ctx.write(la, buf, at, len);
            else ctx.readInto(la, buf, at, len);
            seen.push('no error');
          } catch (x) {
            seen.push(x instanceof ArchError ? `${x.code}: ${x.message}` : String(x));
          }
        }
      }
      ctx.readInto(la, buf, 16, 0); // an empty range at the end is inside
    }).reason, 'eexit');
    assert.deepEqual(seen, bad.flatMap(([at, len]) => Array<string>(2).fill(`BAD_BUFFER_RANGE: [${at}, ${at}+${len}) is not inside a buffer of 16 bytes`)));
    assert.ok(buf.every((x) => x === 0xee), 'nothing read');
    assert.deepEqual(k.proc.memory.readPhysical(pa, 3 * 4096), pattern, 'nothing written');
  });

  test('writes land byte-exact with a word view, and only in their range', () => {
    for (const [o, at, n] of cases) {
      const { k, e, engine, la, pa, pattern } = withHostMemory();
      const src = new Uint8Array(1024).map((_, i) => (i * 13 + 1) & 0xff);
      assert.equal(inside(e, engine, (ctx) => ctx.write(la + o, src, at, n, new Int32Array(src.buffer))).reason, 'eexit');
      const expected = pattern.slice();
      expected.set(src.subarray(at, at + n), o);
      assert.deepEqual(k.proc.memory.readPhysical(pa, 3 * 4096), expected, `[${o}, ${at}, ${n}]`);
    }
  });

  test('a word view shorter than the range leaves the copy to the byte path (the same bytes)', () => {
    const { e, engine, la, pattern } = withHostMemory();
    const b = new Uint8Array(256).fill(0xee);
    const short = new Int32Array(b.buffer, 0, 16); // 64 bytes of b's 256
    assert.equal(inside(e, engine, (ctx) => ctx.readInto(la + 8, b, 32, 64, short)).reason, 'eexit');
    assert.deepEqual(b.subarray(32, 96), pattern.subarray(8, 72));
  });

  test('a view detached while an access waits on a fault (its memory grew) copies nothing and says so', () => {
    for (const write of [false, true]) {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      const la = 0x6000_0000;
      const pa = k.hostBuffer(la, 4096); // the second page is mapped by the handler, on the #PF
      const pa2 = k.hostAlloc(4096).pa;
      k.proc.memory.writePhysical(pa, new Uint8Array(4096).fill(0xab));
      k.proc.memory.writePhysical(pa2, new Uint8Array(4096).fill(0xcd));
      const mem = new WebAssembly.Memory({ initial: 1, maximum: 2 });
      const u8 = new Uint8Array(mem.buffer).fill(0x11), w = new Int32Array(mem.buffer);
      let err: unknown = null;
      const op = engine.on((ctx) => {
        try {
          // 128 bytes across a page boundary: the second page faults, the handler maps it and grows the memory by 0.
          if (write) ctx.write(la + 4096 - 64, u8, 0, 128, w);
          else ctx.readInto(la + 4096 - 64, u8, 0, 128, w);
        } catch (x) {
          err = x;
        }
        return ctx.regs.rcx;
      });
      const { exit } = e.enter(op, {
        handler: (x) => {
          if (x.reason !== 'aex' || x.vector === null) return 0;
          k.mapUser(la + 4096, pa2);
          mem.grow(0);
          return ENCLU.ERESUME;
        },
      });
      assert.equal(exit.reason, 'eexit');
      assert.ok(err instanceof ArchError && err.code === 'ENGINE_BUFFER_DETACHED', `${write ? 'write' : 'read'}: ${String(err)}`);
      assert.equal(toHex(k.proc.memory.readPhysical(pa + 4096 - 8, 8)), 'ab'.repeat(8), 'no zeros written');
      assert.equal(toHex(k.proc.memory.readPhysical(pa2, 8)), 'cd'.repeat(8));
    }
  });

  test('offsets of 2^31 and more in the buffer (a large module memory) copy the right words', () => {
    const { k, e, engine, la, pa, pattern } = withHostMemory();
    const at = 2 ** 31 + 64;
    const big = new Uint8Array(at + 4096); // zero pages stay virtual until touched
    const words = new Int32Array(big.buffer);
    assert.equal(inside(e, engine, (ctx) => ctx.readInto(la + 16, big, at, 64, words)).reason, 'eexit');
    assert.deepEqual(big.subarray(at, at + 64), pattern.subarray(16, 80));
    big.fill(0x5a, at, at + 64);
    assert.equal(inside(e, engine, (ctx) => ctx.write(la + 256, big, at, 64, words)).reason, 'eexit');
    assert.equal(toHex(k.proc.memory.readPhysical(pa + 256, 64)), '5a'.repeat(64));
  });

  test('a RAM frame never written reads as zeros, and PRM memory as the abort page, with a word view too', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const fresh = 0x6100_0000;
    k.hostBuffer(fresh, 4096);
    const meta = 0x6200_0000;
    k.mapUser(meta, k.proc.prm.base + k.proc.epcPages * 4096); // MEE metadata above the EPC
    const z = new Uint8Array(64).fill(0xee), ones = new Uint8Array(64), after = new Uint8Array(64);
    assert.equal(inside(e, engine, (ctx) => {
      ctx.readInto(fresh, z, 0, 64, new Int32Array(z.buffer));
      ctx.readInto(meta, ones, 0, 64, new Int32Array(ones.buffer));
      ctx.write(meta, z, 0, 64, new Int32Array(z.buffer)); // dropped (abort page)
      ctx.readInto(meta, after, 0, 64, new Int32Array(after.buffer)); // still the abort page
    }).reason, 'eexit');
    assert.equal(toHex(after), allOnes(64), 'the write into the PRM went nowhere');
    assert.equal(toHex(z), '00'.repeat(64));
    assert.equal(toHex(ones), allOnes(64));
    assert.equal(toHex(k.proc.memory.readPhysical(k.proc.prm.base + k.proc.epcPages * 4096, 64)), allOnes(64));
    // Beyond RAM and the PRM (no memory there): all-ones, and a write goes nowhere.
    const none = 0x6300_0000, nonePa = k.proc.prm.base + k.proc.prm.size;
    k.mapUser(none, nonePa);
    const n1 = new Uint8Array(64), n2 = new Uint8Array(64).fill(0x11);
    assert.equal(inside(e, engine, (ctx) => {
      ctx.write(none, n2, 0, 64, new Int32Array(n2.buffer));
      ctx.readInto(none, n1, 0, 64, new Int32Array(n1.buffer));
    }).reason, 'eexit');
    assert.equal(toHex(n1), allOnes(64));
    assert.equal(toHex(k.proc.memory.readPhysical(nonePa, 64)), allOnes(64));
  });
});

describe('review fixes: continuations are checked as entries are; DRAM never shows two plaintexts under one keystream; the SGX checks before the PTE\'s permissions', () => {
  /** An enclave whose heap is a WebAssembly memory over data pages 0–15 holding 'enclave state' on page 2, exiting once (an OCALL: RDI 0x0c) or taking an interrupt; `during` runs outside meanwhile. */
  function continued(how: 'oret' | 'eresume', during: (k: ReturnType<typeof newKernel>['k'], pa: number) => void): { x: ExitInfo; seen: string | null; k: ReturnType<typeof newKernel>['k'] } {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { dataPages: 16 });
    const pa = e.frame(e.data(2));
    let seen: string | null = null;
    let outside = false;
    const op = engine.on((ctx) => {
      const mem = ctx.mapMemory(e.data(0), 0x10000, { zero: true });
      new Uint8Array(mem.buffer).set(enc.encode('enclave state'), 0x2000);
      if (how === 'oret') {
        ctx.regs.rdi = 0x0c;
        ctx.eexit(ctx.regs.rcx);
      } else {
        k.proc.lps[1]!.injectInterrupt();
        ctx.step();
      }
      seen = new TextDecoder().decode(new Uint8Array(mem.buffer, 0x2000, 13)); // a Wasm load after the continuation
      ctx.regs.rdi = 0;
      return ctx.regs.rcx;
    });
    const { exit } = e.enter(op, { handler: (x, r) => {
      if (outside) return 0; // the continuation's own fault: the thread stays out
      outside = true;
      during(k, pa);
      if (how === 'eresume') return x.reason === 'aex' ? ENCLU.ERESUME : 0;
      r.rbx = e.tcs(0); r.rcx = AEP; r.rdi = 0;
      return ENCLU.EENTER; // ORET
    } });
    return { x: exit, seen, k };
  }

  for (const how of ['oret', 'eresume'] as const) {
    test(`${how}: a heap page EREMOVEd while the thread was out is #PF(SGX) when the frame continues, not zeros read silently`, () => {
      const r = continued(how, (k, pa) => assert.equal(k.encls(ENCLS.EREMOVE, 0, pa), SGX.SUCCESS));
      assert.equal(r.x.reason, 'aex');
      assert.equal(r.x.vector, VECTOR.PF);
      assert.ok(r.x.errorCode & PFEC.SGX, 'an EPCM fault');
      assert.equal(r.seen, null, 'the frame read nothing after the continuation');
    });

    test(`${how}: a heap page tampered with in DRAM while the thread was out locks the platform (#MC) when the frame continues`, () => {
      let k0: ReturnType<typeof newKernel>['k'] | null = null;
      assert.throws(() => continued(how, (k, pa) => {
        k0 = k;
        assert.equal(k.proc.memory.dramWrite(pa, new Uint8Array(64).fill(0x41)).tamperedPages, 1);
      }), (e: unknown) => e instanceof ArchFault && e.vector === VECTOR.MC);
      assert.notEqual(k0!.proc.locked, null, 'locked');
    });
  }

  test('a page backed by a WebAssembly memory, read through DRAM twice within one entry with a store between: two keystreams (the ciphertexts do not XOR to the plaintexts)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { dataPages: 16 });
    const pa = e.frame(e.data(2));
    const secret = enc.encode('TOP SECRET: the launch code is 0000-1234-5678-9999');
    const reads: Uint8Array[] = [];
    k.proc.setStepHook(() => void reads.push(k.proc.memory.dramRead(pa, 64)));
    try {
      assert.equal(e.enter(engine.on((ctx) => {
        const mem = ctx.mapMemory(e.data(0), 0x10000, { zero: true });
        ctx.step(); // a reader of DRAM on another core: the page is all zeros
        ctx.step(); // again, nothing written: the same ciphertext
        new Uint8Array(mem.buffer).set(secret, 0x2000); // a Wasm store the model does not see
        ctx.step(); // again
        return ctx.regs.rcx;
      })).exit.reason, 'eexit');
    } finally {
      k.proc.setStepHook(null);
    }
    assert.equal(reads.length, 3);
    assert.ok(bytesEqual(reads[0]!, reads[1]!), 'unchanged plaintext, unchanged ciphertext');
    const xor = reads[0]!.map((b, i) => b ^ reads[2]![i]!).subarray(0, secret.length);
    assert.equal(bytesEqual(xor, secret), false, 'one keystream for two plaintexts');
    // The ciphertext shown before the store is now a replay: writing it back fails the integrity check.
    assert.equal(k.proc.memory.dramWrite(pa, reads[0]!).tamperedPages, 1);
  });

  test('another enclave\'s page under a read-only PTE, written from enclave mode: #PF with the SGX bit (the EPCM identity checks come before the PTE\'s permissions, specs/sgx.md §8.1); the PTE alone still gives a plain #PF', () => {
    const { k, engine } = newKernel();
    const a = buildEnclave(k, { marker: 'A' }), b = buildEnclave(k, { marker: 'B' });
    const write = () => a.enter(engine.on((ctx) => {
      ctx.write(a.data(0), new Uint8Array(8));
      return ctx.regs.rcx;
    })).exit;
    for (const writable of [true, false]) {
      k.mapUser(a.data(0), b.frame(b.data(0)), writable);
      const x = write();
      assert.deepEqual([x.reason, x.vector, x.errorCode], ['aex', VECTOR.PF, PFEC.P | PFEC.US | PFEC.W | PFEC.SGX], `PTE ${writable ? 'writable' : 'read-only'}`);
      a.resume();
    }
    k.mapUser(a.data(0), a.frame(a.data(0)), false); // its own page, read-only PTE
    const x = write();
    assert.deepEqual([x.reason, x.vector, x.errorCode], ['aex', VECTOR.PF, PFEC.P | PFEC.US | PFEC.W]);
    a.resume();
  });
});
