/**
 * Re-entrancy of the marshalling state: an enclave whose own witness_free makes an OCALL that nests
 * an ECALL with buffers, [out] buffers of a call whose OCALL nests another call, an OCALL with
 * nothing to marshal (its scratch check and its interrupt window), what the host keeps of the
 * caller's buffers (test/fixtures/reent: its witness_alloc/witness_free track what they hand out),
 * a crash while an OCALL waits, and the runtime's buffers across an exit in the middle of a copy
 * (a fault the host mends, making ECALLs of its own before it resumes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newPlatform, loadFixture, untrusted, ecallPlan, writeMs, rawEnter, readLog, RAW_AEP, STATUS, callStatus } from '../helpers/sdk.js';
import { EXIT_ECALL_RETURN, EXIT_EXCEPTION_HANDLED, ECMD_ORET, EnclaveCallError, type HostEnclave } from '../../src/sdk/index.js';
import { ECMD_UNINIT_ENCLAVE } from '../../src/sdk/abi.js';
import { ENCLU, PTE, KEYPOLICY, type ExitInfo, type Registers } from '../../src/arch/index.js';
import type { Platform } from '../../src/platform/index.js';
import { u64le, u32le, u16le } from '../../src/lib/index.js';
import { MEM_DECOMMIT, MEM_COMMIT, PAGE_READWRITE } from '../../src/os/windows/constants.js';

test('free-time OCALL with a nested ECALL with buffers: the outer call frees exactly its own buffers', () => {
  let e: HostEnclave;
  let nested = 0;
  e = loadFixture(newPlatform(), 'reent', {
    ocalls: {
      ocall_in_free: () => { nested++; assert.equal(e.ecall('ecall_in', [new Uint8Array([1, 2, 3]), 3]), 6); },
      ocall_mid: () => 0,
    },
  });
  e.ecall('ecall_arm', [3]);
  const a = new Uint8Array(48), b = new Uint8Array(48);
  assert.equal(e.ecall('ecall_two_out', [a, 48, b, 48]), 0);
  e.ecall('ecall_arm', [0]);
  assert.equal(nested, 2, 'one OCALL per freed block (one block per buffer: witness_alloc refuses more than 64 bytes)');
  assert.ok(a.every((x) => x === 0xaa) && b.every((x) => x === 0xbb));
  assert.equal(e.ecall('ecall_bogus'), 0, 'no pointer freed that was not live (double free)');
  assert.equal(e.ecall('ecall_live'), 0, 'nothing leaked');
});

test('an ECALL with [out] buffers whose OCALL nests an ECALL with buffers (same thread, then a new thread) copies back its own buffer', () => {
  for (const newThread of [false, true]) {
    let e: HostEnclave;
    e = loadFixture(newPlatform(), 'reent', {
      ocalls: {
        ocall_in_free: () => undefined,
        ocall_mid: () => {
          const x = new Uint8Array(8), y = new Uint8Array(24);
          e.ecall('ecall_two_out', [x, 8, y, 24], { newThread });
          assert.ok(x.every((v) => v === 0xaa) && y.every((v) => v === 0xbb));
          return 5;
        },
      },
    });
    const a = new Uint8Array(40);
    assert.equal(e.ecall('ecall_out_then_ocall', [a, 40]), 5);
    assert.ok(a.every((v) => v === 0x77), `outer [out] buffer copied back (newThread ${newThread})`);
    assert.equal(e.ecall('ecall_bogus'), 0);
    assert.equal(e.ecall('ecall_live'), 0);
  }
});


test('a nested ECALL that traps while its thread\'s OCALL waits crashes the enclave: it and the outer ECALL fail with ENCLAVE_CRASHED', () => {
  // The trap's AEX writes SSA frame 0 of the TCS whose outer frame waits in ocall_mid (suspended at
  // an EEXIT, owning no SSA frame): the host's ERESUME after the enclave's exception handler
  // resumes that lost frame, as hardware would (it used to be refused as TCS_SUSPENDED_FRAME).
  // The ORET then finds the enclave crashed and the outer ECALL ends there (Intel SGX SDK: a
  // crashed enclave refuses every entry, ORET included), before its body fills its [out] buffer.
  for (const newThread of [false, true]) {
    let e: HostEnclave;
    let nested: unknown = null;
    let oret = false;
    const c = new Uint8Array(24).fill(0x11), a = new Uint8Array(8).fill(0x22);
    e = loadFixture(newPlatform(), 'reent', {
      ocalls: {
        ocall_in_free: () => undefined,
        ocall_mid: () => {
          try {
            e.ecall('ecall_out_then_trap', [c, 24], { newThread });
          } catch (x) {
            nested = x;
          }
          oret = true;
          return 5;
        },
      },
    });
    assert.equal(callStatus(() => e.ecall('ecall_out_then_ocall', [a, 8])), STATUS.ENCLAVE_CRASHED, `outer ECALL (newThread ${newThread})`);
    assert.ok(oret, 'the OCALL returned (ORET) before the outer call failed');
    assert.ok(nested instanceof EnclaveCallError, `the nested call failed as an ECALL (${String(nested)})`);
    assert.equal((nested.data as { status: number }).status, STATUS.ENCLAVE_CRASHED);
    assert.ok(c.every((v) => v === 0x11) && a.every((v) => v === 0x22), 'failed calls copy nothing back');
    assert.equal(callStatus(() => e.ecall('ecall_live')), STATUS.ENCLAVE_CRASHED, 'the enclave stays crashed');
  }
});

test('an OCALL with nothing to marshal needs 8 bytes of scratch: fewer → OUT_OF_MEMORY to the enclave, no exit', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  const ms = untrusted(p, 4096), scratch = untrusted(p, 4096);
  const f = ecallPlan(e, 'ecall_empty');
  for (const size of [0, 7]) {
    writeMs(p, ms, []);
    p.process.write(ms, new Uint8Array(8).fill(0xee)); // the return slot: a sentinel the ECALL must replace
    const { exit, regs } = rawEnter(p, e, { index: f.index, ms, scratch, scratchSize: size });
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rdi, EXIT_ECALL_RETURN);
    assert.equal(regs.rax, STATUS.SUCCESS);
    assert.equal(u64le(p.process.read(ms, 8), 0), BigInt(STATUS.OUT_OF_MEMORY), `scratch of ${size} bytes`);
  }
  assert.equal(e.ecall('ecall_empty'), STATUS.SUCCESS);
});

test('an OCALL with nothing to marshal is an interrupt window (ctx.step)', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  e.ecall('ecall_bogus'); // loaded
  let steps = 0, base = 0;
  p.processor.setStepHook(() => void steps++);
  try {
    e.ecall('ecall_bogus');
    base = steps;
    steps = 0;
    e.ecall('ecall_empty');
  } finally {
    p.processor.setStepHook(null);
  }
  assert.equal(steps, base + 1, 'one more window than an ECALL without OCALL');
});

test('a failed ECALL leaves the caller\'s [out] buffer untouched', () => {
  const e = loadFixture(newPlatform(), 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  const a = new Uint8Array(32).fill(1);
  assert.equal(callStatus(() => e.ecall('ecall_out_then_trap', [a, 32])), STATUS.ENCLAVE_CRASHED);
  assert.ok(a.every((v) => v === 1));
});

test('the caller\'s [out] buffers are not kept after the call (success and failure)', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const e = loadFixture(newPlatform(), 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  const refs: WeakRef<Uint8Array>[] = [];
  (() => {
    const a = new Uint8Array(64), b = new Uint8Array(64), c = new Uint8Array(64);
    refs.push(new WeakRef(a), new WeakRef(b), new WeakRef(c));
    e.ecall('ecall_two_out', [a, 64, b, 64]);
    assert.equal(callStatus(() => e.ecall('ecall_out_then_trap', [c, 64])), STATUS.ENCLAVE_CRASHED);
  })();
  await new Promise((r) => setTimeout(r, 0));
  gc();
  assert.ok(refs.every((r) => r.deref() === undefined), 'buffers collected');
});

test('a host that gives up on an OCALL sees its own exit, not a failure of the enclave\'s witness_free (which needs the enclave)', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  e.ecall('ecall_arm', [1]); // witness_free makes an OCALL
  const U = untrusted(p, 0x10000);
  writeMs(p, U, [U + 0x4000, 32]);
  const seen: string[] = [];
  const { exit } = rawEnter(p, e, {
    index: ecallPlan(e, 'ecall_out_then_ocall').index, ms: U, scratch: U + 0x8000, scratchSize: 0x1000,
    handler: (x) => {
      seen.push(`${x.reason}:${x.vector ?? ''}`);
      return 0; // give up at the first exit (the OCALL)
    },
  });
  assert.equal(exit.reason, 'eexit', `${exit.reason} ${exit.detail ?? ''}`);
  assert.deepEqual(seen, ['eexit:'], 'one exit: the OCALL the host gave up on');
  e.ecall('ecall_arm', [0]);
  assert.equal(e.ecall('ecall_bogus'), 0);
  assert.equal(e.ecall('ecall_live'), 0, 'its buffer was offered to witness_free all the same');
});

test('a host that gives up inside witness_free\'s OCALL: every other block of the ECALL is still offered to witness_free', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  e.ecall('ecall_arm', [3]); // witness_free makes an OCALL; one block per buffer
  const U = untrusted(p, 0x10000);
  writeMs(p, U, [U + 0x4000, 48, U + 0x5000, 48]);
  const iFree = e.plan.ocalls.findIndex((f) => f.name === 'ocall_in_free');
  const seen: number[] = [];
  const { exit, regs } = rawEnter(p, e, {
    index: ecallPlan(e, 'ecall_two_out').index, ms: U, scratch: U + 0x8000, scratchSize: 0x1000,
    handler: (_x, r) => {
      seen.push(r.rdi);
      return 0; // give up at the first free's OCALL
    },
  });
  assert.equal(exit.reason, 'eexit');
  assert.equal(regs.rdi, iFree);
  assert.deepEqual(seen, [iFree], 'asked once, about the first free\'s OCALL');
  e.ecall('ecall_arm', [0]);
  assert.equal(e.ecall('ecall_bogus'), 0, 'nothing freed twice');
  assert.equal(e.ecall('ecall_live'), 0, 'both blocks freed');
});

test('an exception handled by the enclave (a redirect in flight) ends the ECALL with ENCLAVE_CRASHED without running witness_free: a crashed enclave runs no more of its code', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  e.ecall('ecall_arm', [1]); // witness_free makes ocall_in_free: a free that ran would show as that exit
  const U = untrusted(p, 0x10000);
  const out = U + 0x4000;
  writeMs(p, U, [out, 32]);
  const iMid = e.plan.ocalls.findIndex((f) => f.name === 'ocall_mid');
  const iFree = e.plan.ocalls.findIndex((f) => f.name === 'ocall_in_free');
  const seen: string[] = [];
  const { exit, regs } = rawEnter(p, e, {
    index: ecallPlan(e, 'ecall_out_then_ocall').index, ms: U, scratch: U + 0x8000, scratchSize: 0x1000,
    handler: (x, r) => {
      seen.push(x.reason === 'eexit' ? `eexit ${r.rdi === EXIT_EXCEPTION_HANDLED ? 'handled' : r.rdi === iMid ? 'ocall_mid' : r.rdi === iFree ? 'ocall_in_free' : r.rdi === EXIT_ECALL_RETURN ? 'return' : r.rdi}` : `${x.reason} ${x.vector}`);
      const back = (leaf: number): number => {
        r.rbx = e.tcs[0]!;
        r.rcx = RAW_AEP;
        return leaf;
      };
      if (x.reason === 'aex') {
        r.rdi = 0;
        return back(ENCLU.EENTER); // the enclave's exception handler (CSSA 1)
      }
      if (x.reason !== 'eexit') return 0;
      if (r.rdi === EXIT_EXCEPTION_HANDLED) return back(ENCLU.ERESUME);
      if (r.rdi === iMid) {
        // The [out] buffer's page goes away: copying it back faults after the ORET.
        p.kernel32.VirtualFree(out, 4096, MEM_DECOMMIT);
        r.rdi = ECMD_ORET;
        r.rsi = STATUS.SUCCESS; // the OCALL's status
        return back(ENCLU.EENTER);
      }
      if (r.rdi === iFree) {
        r.rdi = ECMD_ORET;
        r.rsi = STATUS.SUCCESS; // the OCALL's status
        return back(ENCLU.EENTER);
      }
      return 0;
    },
  });
  assert.equal(exit.reason, 'eexit');
  assert.equal(regs.rdi, EXIT_ECALL_RETURN);
  assert.equal(regs.rax, STATUS.ENCLAVE_CRASHED);
  assert.deepEqual(seen, ['eexit ocall_mid', 'aex 14', 'eexit handled', 'eexit return'], 'no witness_free ran after the crash (it would have made ocall_in_free)');
  assert.equal(callStatus(() => e.ecall('ecall_live')), STATUS.ENCLAVE_CRASHED, 'the redirect crashed the enclave, as the exception handler means it to');
});

/**
 * ECALL `name` made raw on TCS 1, with its ms at `ms` and a 4 KiB scratch area at `scratch`, across
 * page faults the test arranged: at each #PF the host runs `onFault` (it mends the page and may make
 * ECALLs of its own, on TCS 0) and resumes the access; any other exit goes to `onExit` (default: the
 * entry ends there). `seen` lists the exits as "reason vector".
 */
function enterAcrossFaults(p: Platform, e: HostEnclave, name: string, ms: number, scratch: number, onFault: () => void, onExit: (x: ExitInfo, r: Registers) => number = () => 0): { exit: ExitInfo; regs: Registers; seen: string[] } {
  const seen: string[] = [];
  const { exit, regs } = rawEnter(p, e, {
    tcs: e.tcs[1]!, index: ecallPlan(e, name).index, ms, scratch, scratchSize: 0x1000,
    handler: (x, r) => {
      seen.push(`${x.reason} ${x.vector}`);
      if (x.reason !== 'aex' || x.vector !== 14) return onExit(x, r);
      onFault();
      r.rbx = e.tcs[1]!;
      r.rcx = RAW_AEP;
      return ENCLU.ERESUME;
    },
  });
  return { exit, regs, seen };
}

/** The ECALL returned normally with SGX_SUCCESS. */
function assertReturned(exit: ExitInfo, regs: Registers): void {
  assert.equal(exit.reason, 'eexit');
  assert.equal(regs.rdi, EXIT_ECALL_RETURN);
  assert.equal(regs.rax, STATUS.SUCCESS);
}

/** Decommit the page at `la` (the enclave's next access to it faults); returns what commits it again. */
function decommit(p: Platform, la: number): () => void {
  assert.ok(p.kernel32.VirtualFree(la, 4096, MEM_DECOMMIT));
  return () => assert.notEqual(p.kernel32.VirtualAlloc(la, 4096, MEM_COMMIT, PAGE_READWRITE), 0);
}

/**
 * The marshal fixture on a new platform, with ecall_in_size's ms at U naming a 16-byte buffer at
 * U + 0x4000 on a decommitted page (the enclave's copy of it faults); `commit` maps it back.
 */
function inSizeOnDecommittedPage(): { p: Platform; e: HostEnclave; U: number; commit: () => void } {
  const p = newPlatform();
  const e = loadFixture(p, 'marshal');
  const U = untrusted(p, 0x10000);
  const commit = decommit(p, U + 0x4000);
  writeMs(p, U, [U + 0x4000, 16]);
  return { p, e, U, commit };
}

/**
 * Unmap the thread-data page of TCS 1 (past the TCS and its SSA frames), where EREPORT and EGETKEY
 * take their operands, so the first sealing access there faults; returns what maps it back.
 */
function unmapThreadData(p: Platform, e: HostEnclave): () => void {
  const vpn = (e.tcs[1]! + 4096 * (1 + e.image.manifest.layout.nssa)) / 4096;
  const pt = p.process.pageTable;
  const pte = pt.lookup(vpn)!;
  assert.ok(pt.unmap(vpn));
  return () => pt.map(vpn, pte.pfn, pte.flags);
}

test('an ECALL made while another one\'s parameters are still being read (during the fault of its string scan) does not change that call\'s arguments', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'reent', { ocalls: { ocall_in_free: () => undefined, ocall_mid: () => 0 } });
  const U = untrusted(p, 0x10000);
  // The outer call's string "abc" ends a page; its NUL is on the next page, decommitted: the
  // enclave's scan of it faults, and the host's exit handler runs in the middle of the call.
  const sAddr = U + 0x2000 - 3;
  p.process.write(sAddr, new TextEncoder().encode('abc'));
  const commit = decommit(p, U + 0x2000);
  p.process.write(U + 0x4000, new Uint8Array([1, 2, 3, 4]));
  writeMs(p, U, [sAddr, U + 0x4000, 4]);
  let nested = -1;
  const { exit, regs, seen } = enterAcrossFaults(p, e, 'ecall_str_buf', U, U + 0x8000, () => {
    // The page committed (zeros: the string ends there), an ECALL of the same function with other
    // arguments on the other thread.
    commit();
    nested = e.ecall('ecall_str_buf', ['xy', new Uint8Array([100, 100, 100]), 3]) as number;
  });
  assert.deepEqual(seen, ['aex 14', 'eexit null'], 'one fault, then the ECALL\'s return');
  assertReturned(exit, regs);
  assert.equal(nested, 2300, 'the nested call saw its own arguments');
  assert.equal(Number(u64le(p.process.read(U + 24, 8), 0)), 3010, 'the outer call saw its own arguments: strlen("abc") and 1 + 2 + 3 + 4');
});

test('an ECALL made while another one\'s marshalling structure is being read (a fault in that read) works with its own, larger one: the outer call\'s arguments stay its own', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'marshal');
  const U = untrusted(p, 0x10000);
  // ecall_in_size's ms (24 bytes) straddles a page boundary: its first slot on a committed page, the
  // rest on a decommitted one, so the enclave's read of it faults before a byte is copied.
  const ms = U + 0x1000 - 8;
  p.process.write(U + 0x4000, new Uint8Array([1, 2, 3, 4]));
  const slot0 = new Uint8Array(8);
  new DataView(slot0.buffer).setBigUint64(0, BigInt(U + 0x4000), true);
  p.process.write(ms, slot0);
  const commit = decommit(p, U + 0x1000);
  let nested = -1;
  const { exit, regs, seen } = enterAcrossFaults(p, e, 'ecall_in_size', ms, U + 0x8000, () => {
    commit();
    p.process.write(U + 0x1000, new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0])); // n = 4 (the return slot reads as zeros)
    // On the other thread, an ECALL whose ms has 7 slots (56 bytes, more than the outer's 24).
    nested = e.ecall('ecall_align3', [new Uint8Array(40), 40, new Uint8Array(24), 24, new Uint8Array(8), 8]) as number;
  });
  assert.deepEqual(seen, ['aex 14', 'eexit null'], 'one fault, then the ECALL\'s return');
  assertReturned(exit, regs);
  assert.equal(nested, 0);
  assert.equal(Number(u64le(p.process.read(ms + 16, 8), 0)), 4, 'the outer call returned its own n');
  const log = readLog(e);
  assert.deepEqual([...log[0]!.bytes], [1, 2, 3, 4], 'the outer call received its own buffer');
});

test('an [in] buffer copy retried after an exit in which a nested ECALL replaced the module\'s memory buffer (memory.grow) lands in the new buffer', () => {
  // The outer call's 16-byte buffer is on a decommitted page: the enclave's copy of it faults.
  const { p, e, U, commit } = inSizeOnDecommittedPage();
  const bytes = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
  let grown = -1;
  const { exit, regs } = enterAcrossFaults(p, e, 'ecall_in_size', U, U + 0x8000, () => {
    // The page committed and filled, and the module's memory grown by 0 pages from an ECALL on the
    // other thread (its buffer is replaced: the old one is detached).
    commit();
    p.process.write(U + 0x4000, bytes);
    grown = e.ecall('ecall_grow_zero') as number;
  });
  assert.ok(grown > 0, 'the nested ECALL grew the memory');
  assertReturned(exit, regs);
  assert.deepEqual(readLog(e).map((r) => [r.kind, [...r.bytes]]), [[1, [...bytes]], [2, [16, 0, 0, 0]]], 'the enclave received the buffer\'s bytes (and its size_t length)');
});

test('the same retried [in] copy from a page that reads as all-ones (a frame beyond RAM) after a nested memory.grow', () => {
  const { p, e, U } = inSizeOnDecommittedPage();
  let grown = -1;
  const { exit, regs } = enterAcrossFaults(p, e, 'ecall_in_size', U, U + 0x8000, () => {
    // The page now maps a frame beyond RAM (non-existent memory reads as all-ones, the byte path's
    // fill), and the module's buffer is replaced before the copy goes on.
    p.process.pageTable.map((U + 0x4000) / 4096, 2 ** 30, PTE.W | PTE.U);
    grown = e.ecall('ecall_grow_zero') as number;
  });
  assert.ok(grown > 0);
  assertReturned(exit, regs);
  assert.deepEqual(readLog(e).map((r) => [r.kind, [...r.bytes]]), [[1, new Array(16).fill(0xff)], [2, [16, 0, 0, 0]]]);
});

test('an [out] buffer copied back after an exit in which a nested ECALL replaced the module\'s memory buffer (memory.grow): the bytes arrive', () => {
  // ecall_out_size's 16-byte buffer on a decommitted page: the copy back to the host faults.
  const p = newPlatform();
  const e = loadFixture(p, 'marshal');
  const U = untrusted(p, 0x10000);
  const commit = decommit(p, U + 0x4000);
  writeMs(p, U, [U + 0x4000, 16, 5]);
  let grown = -1;
  const { exit, regs, seen } = enterAcrossFaults(p, e, 'ecall_out_size', U, U + 0x8000, () => {
    commit();
    grown = e.ecall('ecall_grow_zero') as number;
  });
  assert.ok(grown > 0, 'the nested ECALL grew the memory');
  assert.deepEqual(seen, ['aex 14', 'eexit null'], 'one fault (the copy back), then the ECALL\'s return');
  assertReturned(exit, regs);
  assert.deepEqual([...p.process.read(U + 0x4000, 16)], Array.from({ length: 16 }, (_, i) => (5 + 7 * i) & 0xff));
  assert.equal(Number(u64le(p.process.read(U + 24, 8), 0)), 16, 'its return value');
});

test('an exit handler that throws after a nested memory.grow: its error reaches the caller of EENTER, the copy is not done again', () => {
  const { p, e, U } = inSizeOnDecommittedPage();
  class HostGaveUp extends Error {}
  let faults = 0;
  assert.throws(() => enterAcrossFaults(p, e, 'ecall_in_size', U, U + 0x8000, () => {
    faults++;
    e.ecall('ecall_grow_zero');
    throw new HostGaveUp('the host\'s own error');
  }), HostGaveUp);
  assert.equal(faults, 1, 'one exit: nothing ran again after the handler threw');
});

test('an OCALL\'s marshalling structure whose write faults: an ECALL the host makes during that exit does not change it', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'calls', { ocalls: { ocall_reenter: (d: unknown) => 100 + Number(d), ocall_allow_private: () => 0, ocall_deny: () => 0 } });
  const U = untrusted(p, 0x10000);
  const scratch = U + 0x8000;
  const commit = decommit(p, scratch); // the OCALL's ms goes here: its write faults
  writeMs(p, U, [5]);
  const iReenter = e.plan.ocalls.findIndex((f) => f.name === 'ocall_reenter');
  let nested = -1;
  let seenDepth = -1;
  const { exit, regs, seen } = enterAcrossFaults(p, e, 'ecall_outer', U, scratch, () => {
    commit();
    nested = e.ecall('ecall_outer', [7]) as number; // its own OCALL, with the same parameter count
  }, (x, r) => {
    if (x.reason !== 'eexit' || r.rdi !== iReenter) return 0;
    // The outer OCALL: what it carries, then ORET with 40.
    seenDepth = Number(u64le(p.process.read(r.rsi, 8), 0));
    const ret = new Uint8Array(8);
    ret[0] = 40;
    p.process.write(r.rsi + 8, ret);
    r.rdi = ECMD_ORET;
    r.rsi = STATUS.SUCCESS; // the OCALL's status
    r.rbx = e.tcs[1]!;
    r.rcx = RAW_AEP;
    return ENCLU.EENTER;
  });
  assert.deepEqual(seen, ['aex 14', 'eexit null', 'eexit null'], 'the fault, the OCALL, the return');
  assert.equal(nested, 108, 'the nested call: its OCALL saw 7 and returned 107');
  assert.equal(seenDepth, 5, 'the outer OCALL reached the host with its own argument');
  assertReturned(exit, regs);
  assert.equal(Number(u64le(p.process.read(U + 8, 8), 0)), 41, 'the outer ECALL: its OCALL returned 40');
});

test('an ECALL\'s return value whose write faults: an ECALL the host makes during that exit does not change it', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'marshal');
  const addr = e.ecall('ecall_secret_addr') as number;
  const U = untrusted(p, 0x10000);
  const commit = decommit(p, U + 0x4000); // the return slot: its write faults
  let nested = -1;
  const { exit, regs } = enterAcrossFaults(p, e, 'ecall_secret_addr', U + 0x4000, U + 0x8000, () => {
    commit();
    nested = e.ecall('ecall_calls') as number; // another return value, written during this exit
  });
  assert.ok(nested >= 0 && nested !== addr, `the nested call returned something else (${nested} vs ${addr})`);
  assertReturned(exit, regs);
  assert.equal(Number(u64le(p.process.read(U + 0x4000, 8), 0)), addr, 'the outer ECALL\'s own return value');
});

test('sealing whose EREPORT/EGETKEY access exits, while the host replaces the module\'s buffer (a nested memory.grow): the blob is right', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'identity');
  const U = untrusted(p, 0x10000);
  const aad = new TextEncoder().encode('header'), text = new TextEncoder().encode('the sealed secret');
  const blobLen = 560 + aad.length + text.length;
  p.process.write(U + 0x1000, aad);
  p.process.write(U + 0x2000, text);
  writeMs(p, U, [KEYPOLICY.MRENCLAVE, U + 0x1000, aad.length, U + 0x2000, text.length, U + 0x3000, blobLen]);
  const mapBack = unmapThreadData(p, e);
  let grown = -1;
  const { exit, regs } = enterAcrossFaults(p, e, 'ecall_seal', U, U + 0x8000, () => {
    mapBack();
    grown = e.ecall('ecall_grow_zero') as number;
  });
  assert.ok(grown > 0, 'the nested ECALL grew the memory');
  assertReturned(exit, regs);
  assert.equal(Number(u64le(p.process.read(U + 56, 8), 0)), 0, 'witness_seal succeeded');
  const blob = p.process.read(U + 0x3000, blobLen);
  const outText = new Uint8Array(64), outAad = new Uint8Array(64), lengths = new Uint8Array(8);
  assert.equal(e.ecall('ecall_unseal', [blob, blob.length, outText, 64, outAad, 64, lengths]), 0);
  assert.deepEqual(outText.subarray(0, u32le(lengths, 0)), text);
  assert.deepEqual(outAad.subarray(0, u32le(lengths, 4)), aad);
});

test('sealing whose KEYREQUEST write exits, while the host seals something else in a nested ECALL: both blobs are right (the nested seal does not use the outer one\'s KEYREQUEST buffer)', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'identity');
  const enc = new TextEncoder();
  const first = new Uint8Array(560 + 1);
  assert.equal(e.ecall('ecall_seal', [KEYPOLICY.MRENCLAVE, null, 0, enc.encode('x'), 1, first, first.length]), 0, 'a first seal: the instance\'s own REPORT is made and kept');
  const U = untrusted(p, 0x10000);
  const aad = enc.encode('outer header'), text = enc.encode('the outer secret');
  const blobLen = 560 + aad.length + text.length;
  p.process.write(U + 0x1000, aad);
  p.process.write(U + 0x2000, text);
  writeMs(p, U, [KEYPOLICY.MRENCLAVE, U + 0x1000, aad.length, U + 0x2000, text.length, U + 0x3000, blobLen]);
  const mapBack = unmapThreadData(p, e); // sgx_get_key's write of the KEYREQUEST to it faults
  const innerText = enc.encode('the inner secret, longer than the outer one');
  const inner = new Uint8Array(560 + innerText.length);
  let innerStatus = -1;
  const { exit, regs, seen } = enterAcrossFaults(p, e, 'ecall_seal', U, U + 0x8000, () => {
    mapBack();
    innerStatus = e.ecall('ecall_seal', [KEYPOLICY.MRSIGNER, null, 0, innerText, innerText.length, inner, inner.length]) as number;
  });
  assert.equal(seen[0], 'aex 14', 'the outer seal faulted once');
  assert.equal(innerStatus, 0, 'the nested seal succeeded');
  assertReturned(exit, regs);
  assert.equal(Number(u64le(p.process.read(U + 56, 8), 0)), 0, 'the outer seal succeeded');
  const blob = p.process.read(U + 0x3000, blobLen);
  assert.equal(u16le(blob, 2), KEYPOLICY.MRENCLAVE, 'the outer blob\'s KEYREQUEST is its own (its policy)');
  assert.equal(u16le(inner, 2), KEYPOLICY.MRSIGNER, 'and the inner one\'s its own');
  assert.notDeepEqual(blob.subarray(40, 72), inner.subarray(40, 72), 'two KEYIDs');
  const outText = new Uint8Array(64), outAad = new Uint8Array(64), lengths = new Uint8Array(8);
  assert.equal(e.ecall('ecall_unseal', [blob, blob.length, outText, 64, outAad, 64, lengths]), 0);
  assert.deepEqual(outText.subarray(0, u32le(lengths, 0)), text);
  assert.deepEqual(outAad.subarray(0, u32le(lengths, 4)), aad);
  assert.equal(e.ecall('ecall_unseal', [inner, inner.length, outText, 64, outAad, 64, lengths]), 0);
  assert.deepEqual(outText.subarray(0, u32le(lengths, 0)), innerText);
});

test('unsealing whose EGETKEY access exits, while the host replaces the module\'s buffer (a nested memory.grow): text and lengths arrive', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'identity');
  const aad = new TextEncoder().encode('header'), text = new TextEncoder().encode('the sealed secret');
  const blob = new Uint8Array(560 + aad.length + text.length);
  assert.equal(e.ecall('ecall_seal', [KEYPOLICY.MRENCLAVE, aad, aad.length, text, text.length, blob, blob.length]), 0);
  const U = untrusted(p, 0x10000);
  p.process.write(U + 0x1000, blob);
  writeMs(p, U, [U + 0x1000, blob.length, U + 0x2000, 64, U + 0x3000, 64, U + 0x4000]);
  const mapBack = unmapThreadData(p, e);
  let grown = -1;
  const { exit, regs } = enterAcrossFaults(p, e, 'ecall_unseal', U, U + 0x8000, () => {
    mapBack();
    grown = e.ecall('ecall_grow_zero') as number;
  });
  assert.ok(grown > 0);
  assertReturned(exit, regs);
  assert.equal(Number(u64le(p.process.read(U + 56, 8), 0)), 0, 'witness_unseal succeeded');
  const lengths = p.process.read(U + 0x4000, 8);
  assert.deepEqual([u32le(lengths, 0), u32le(lengths, 4)], [text.length, aad.length]);
  assert.deepEqual(p.process.read(U + 0x2000, text.length), text);
  assert.deepEqual(p.process.read(U + 0x3000, aad.length), aad);
});

// ---- ECMD_UNINIT_ENCLAVE: the runtime gives its memory up before the enclave is removed ---------

const REENT_OCALLS = { ocall_in_free: () => undefined, ocall_mid: () => 0 };

test('ECMD_UNINIT_ENCLAVE: SUCCESS, then every ECALL (and another uninit) fails with ENCLAVE_CRASHED; the enclave is removed with every EPC page back', () => {
  const p = newPlatform();
  const free0 = p.processor.inspect.freeEpcPages;
  const e = loadFixture(p, 'reent', { ocalls: REENT_OCALLS });
  assert.equal(e.ecall('ecall_live'), 0, 'loaded: its memory mapped');
  const { exit, regs } = rawEnter(p, e, { index: ECMD_UNINIT_ENCLAVE, ms: 0, scratch: 0, scratchSize: 0 });
  assertReturned(exit, regs);
  assert.equal(callStatus(() => e.ecall('ecall_live')), STATUS.ENCLAVE_CRASHED);
  const again = rawEnter(p, e, { index: ECMD_UNINIT_ENCLAVE, ms: 0, scratch: 0, scratchSize: 0 });
  assert.deepEqual([again.exit.reason, again.regs.rdi, again.regs.rax], ['eexit', EXIT_ECALL_RETURN, STATUS.ENCLAVE_CRASHED]);
  e.destroy();
  assert.equal(p.processor.inspect.freeEpcPages, free0);
});

test('ECMD_UNINIT_ENCLAVE while an OCALL of the enclave is out (from it, on the other TCS) is refused with INVALID_STATE, and the enclave goes on', () => {
  const p = newPlatform();
  let refused = -1;
  const e: HostEnclave = loadFixture(p, 'reent', { ocalls: { ...REENT_OCALLS, ocall_mid: () => {
    const { exit, regs } = rawEnter(p, e, { tcs: e.tcs[1]!, index: ECMD_UNINIT_ENCLAVE, ms: 0, scratch: 0, scratchSize: 0 });
    assert.equal(exit.reason, 'eexit');
    refused = regs.rax;
    return 5;
  } } });
  const out = new Uint8Array(8);
  assert.equal(e.ecall('ecall_out_then_ocall', [out, 8]), 5, 'the OCALL came back and the ECALL finished');
  assert.equal(refused, STATUS.INVALID_STATE);
  assert.deepEqual([...out], Array(8).fill(0x77));
  assert.equal(e.ecall('ecall_live'), 0, 'later ECALLs work');
});

test('destroy() makes the uninit ECALL before DeleteEnclave, not for an enclave never entered', () => {
  for (const entered of [true, false]) {
    const p = newPlatform();
    const free0 = p.processor.inspect.freeEpcPages;
    const e = loadFixture(p, 'reent', { ocalls: REENT_OCALLS });
    if (entered) assert.equal(e.ecall('ecall_live'), 0);
    const k32 = p.kernel32 as unknown as { DeleteEnclave(base: number): boolean };
    const del = k32.DeleteEnclave.bind(k32);
    let atDelete: number | string = 'not called';
    k32.DeleteEnclave = (base: number) => {
      try {
        atDelete = e.ecall('ecall_live') as number;
      } catch (x) {
        atDelete = x instanceof EnclaveCallError ? (x.data as { status: number }).status : String(x);
      }
      return del(base);
    };
    e.destroy();
    assert.equal(atDelete, entered ? STATUS.ENCLAVE_CRASHED : 0, entered ? 'uninitialized first' : 'no uninit: the first ECALL, made here, loads it');
    assert.equal(p.processor.inspect.freeEpcPages, free0);
  }
});
