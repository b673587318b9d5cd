/**
 * ENCLU from the host and enclave mode: EENTER checks and outputs, EEXIT register semantics,
 * OCALL-style re-entry, nested entries, AEX (interrupts and exceptions) with the SSA contents as
 * EDBGRD reads them back, ERESUME and CSSA accounting (specs/sgx.md §7.1–7.3, §9).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { u64le, u32le, writeU64le, toHex } from '../../src/lib/index.js';
import {
  ENCLU, VECTOR, PFEC, ATTR, GPRSGX, EXINFO, SGX, ArchFault, ArchError, PageTable, gp, ud, newRegisters, type ExitInfo, type Registers, type EnclaveContext,
} from '../../src/arch/index.js';
import { newKernel, withStepHook, buildEnclave, EnclaveBuilder, AEP, HOST_RIP, type BuiltEnclave, type ScriptEngine } from '../helpers/enclave.js';
import { assertFault, assertUnchanged, type FaultExpectation } from '../helpers/assert.js';
import { TestKernel } from '../helpers/kernel.js';

const GP = VECTOR.GP, PF = VECTOR.PF;

/** A faulting ENCLU changes nothing: no TCS state, CSSA, AEX count or page changes. */
function faultsUnchanged(k: TestKernel, fn: () => unknown, vector: number, x: FaultExpectation = {}): void {
  assertUnchanged(k, () => assertFault(fn, vector, x));
}

function cssa(k: TestKernel, i = 0): number {
  return k.proc.inspect.enclaves()[0]!.tcs[i]!.cssa;
}
function gprsgx(e: BuiltEnclave, tcs = 0, frame = 0) {
  return GPRSGX.decode(e.k.readEpc(e.gprsgx(tcs, frame), 184));
}
function exinfo(e: BuiltEnclave, tcs = 0, frame = 0) {
  return EXINFO.decode(e.k.readEpc(e.gprsgx(tcs, frame) - 16, 16));
}

/** Enclave code that exits as an OCALL does (an EEXIT that expects the ORET); `continued()`: the EEXIT came back into it. */
function ocallOp(engine: ScriptEngine): { op: number; continued: () => boolean } {
  let after = false;
  const op = engine.on((ctx) => {
    ctx.eexit(ctx.regs.rcx);
    after = true;
    return ctx.regs.rcx;
  });
  return { op, continued: () => after };
}

describe('EENTER checks (§7.1)', () => {
  test('control: EENTER and EEXIT straight back', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const { exit, regs } = e.enter(0);
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rip, HOST_RIP + 3);
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.state, 'idle');
  });

  test('RBX not 4K-aligned → #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: e.tcs(0) + 8, rcx: AEP }), GP);
  });

  test('RBX is a PT_REG page → #PF(RBX) with PFEC.SGX', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: e.data(0), rcx: AEP }), PF, { address: e.data(0), sgx: true });
  });

  test('the TCS frame mapped at another linear address → #PF with PFEC.SGX', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    k.mapUser(e.spare, e.frame(e.tcs(0)));
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: e.spare, rcx: AEP }), PF, { address: e.spare, sgx: true });
  });

  test('RBX not mapped, or mapped to RAM → #PF without PFEC.SGX', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: e.spare, rcx: AEP }), PF, { address: e.spare, sgx: false });
    const { la } = k.hostAlloc(4096);
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: la, rcx: AEP }), PF, { address: la, sgx: false });
  });

  test('AEP not canonical → #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: e.tcs(0), rcx: 2 ** 47 }), GP);
  });

  test('order (SDM EENTER/ERESUME pseudocode, §7.1 step 2 before step 3): a non-canonical AEP → #GP before the EPCM checks of RBX', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: e.data(0), rcx: 2 ** 47 }), GP);
    faultsUnchanged(k, () => k.enclu(ENCLU.ERESUME, { rbx: e.data(0), rcx: 2 ** 47 }), GP);
    // RBX outside the EPC is still checked first
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: e.spare, rcx: 2 ** 47 }), PF, { address: e.spare, sgx: false });
  });

  test('enclave not initialized → #GP', () => {
    const { k } = newKernel();
    const b = new EnclaveBuilder(k);
    b.create();
    b.addPages();
    faultsUnchanged(k, () => k.enclu(ENCLU.EENTER, { rbx: b.base, rcx: AEP }), GP);
  });

  test('TCS.FLAGS reserved bit → #GP; OFSBASE not page-aligned → #GP', () => {
    const { k } = newKernel();
    const e1 = buildEnclave(k, { tcs: { FLAGS: 2n } });
    faultsUnchanged(k, () => e1.enter(0), GP);
    const e2 = buildEnclave(k, { tcs: { OFSBASE: 0x10n } });
    faultsUnchanged(k, () => e2.enter(0), GP);
    const e3 = buildEnclave(k, { tcs: { OGSBASE: 0x2000n, OFSBASE: 0x1000n } });
    assert.equal(e3.enter(0).exit.reason, 'eexit', 'aligned FS/GS offsets are fine');
  });

  test('XFRM not a subset of XCR0 → #GP', () => {
    const { k } = newKernel({ xcr0: 3n });
    const e = buildEnclave(k, { xfrm: 7n });
    faultsUnchanged(k, () => e.enter(0), GP);
  });

  test('a 32-bit enclave cannot be entered from 64-bit mode → #GP', () => {
    const { k } = newKernel();
    const e = buildEnclave(k, { flags: ATTR.DEBUG, base: 0x4000_0000 });
    faultsUnchanged(k, () => e.enter(0), GP);
  });

  test('an SSA page remapped by the kernel → #PF on the SSA page with PFEC.SGX', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    k.mapUser(e.ssa(0), e.frame(e.data(0)));
    faultsUnchanged(k, () => e.enter(0), PF, { address: e.ssa(0), sgx: true });
    k.mapUser(e.ssa(0), e.frame(e.ssa(0)));
    assert.equal(e.enter(0).exit.reason, 'eexit');
  });

  test('CSSA ≥ NSSA → #GP (NSSA 1 after an exception AEX); ERESUME still works', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { nssa: 1 });
    const op = engine.on(() => {
      throw ud('test');
    });
    const { exit } = e.enter(op);
    assert.equal(exit.reason, 'aex');
    assert.equal(cssa(k), 1);
    faultsUnchanged(k, () => e.enter(0), GP);
    assert.equal(e.resume().exit.reason, 'eexit');
    assert.equal(cssa(k), 0);
  });

  test('a busy TCS (entered from another LP through the step hook) → #GP; another TCS can be entered', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { tcsCount: 2 });
    const results: string[] = [];
    const op = engine.on((ctx) => {
      ctx.step();
      return ctx.regs.rcx;
    });
    const { exit } = withStepHook(k, (lp) => {
      if (lp.index !== 1 || results.length) return;
      try {
        k.user(() => k.proc.lps[0]!.enclu(ENCLU.EENTER, newRegisters({ rbx: e.tcs(0), rcx: AEP })), 0);
        results.push('entered');
      } catch (err) {
        results.push(err instanceof ArchFault ? err.mnemonic : String(err));
      }
      const other = k.user(() => k.proc.lps[0]!.enclu(ENCLU.EENTER, newRegisters({ rbx: e.tcs(1), rcx: AEP })), 0);
      results.push(other.reason);
      results.push(String(k.proc.inspect.enclaves()[0]!.activeThreads));
    }, () => e.enter(op));
    assert.equal(exit.reason, 'eexit');
    assert.deepEqual(results, ['#GP', 'eexit', '1']);
  });

  test('EENTER inside an enclave → #GP; ENCLU with an unknown leaf → #GP', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    let inner: unknown = null;
    const op = engine.on((ctx) => {
      try {
        k.proc.lps[1]!.enclu(ENCLU.EENTER, newRegisters({ rbx: e.tcs(0), rcx: AEP }));
      } catch (err) {
        inner = err;
      }
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(op).exit.reason, 'eexit');
    assert.ok(inner instanceof ArchFault && inner.vector === GP);
    for (const leaf of [ENCLU.EREPORT, ENCLU.EGETKEY, ENCLU.EEXIT, ENCLU.EACCEPT, 0x20]) faultsUnchanged(k, () => k.enclu(leaf, { rbx: e.tcs(0), rcx: AEP }), GP);
  });

  test('a processor without an engine refuses entry (ArchError NO_ENGINE)', () => {
    const k = new TestKernel({ epcSize: 0x100000 });
    assert.throws(() => k.enclu(ENCLU.EENTER, { rbx: 0x1000, rcx: AEP }), (err: unknown) => err instanceof ArchError && err.code === 'NO_ENGINE');
    // An engine set to undefined by a JavaScript caller is no engine either.
    k.proc.setEngine(undefined as never);
    assert.throws(() => k.enclu(ENCLU.EENTER, { rbx: 0x1000, rcx: AEP }), (err: unknown) => err instanceof ArchError && err.code === 'NO_ENGINE');
  });
});

describe('EENTER outputs and EEXIT register semantics (§7.1, §7.3)', () => {
  test('the enclave sees RAX = CSSA, RCX = the return address, RIP = BASEADDR + OENTRY and the host registers', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    let seen: Registers | null = null;
    let tcsAddr = 0;
    const op = engine.on((ctx) => {
      seen = { ...ctx.regs };
      tcsAddr = ctx.tcsAddress;
      assert.equal(ctx.baseAddr, e.base);
      assert.equal(ctx.size, e.b.size);
      assert.equal(ctx.lpIndex, 1);
      return ctx.regs.rcx;
    });
    const host = { rdx: 0x11, rsi: 0x22, r8: 0x88, r9: 0x99, r15: 0xff15, rsp: 0x7ffd_0000, rbp: 0x7ffd_1000, rax: 0x5555 };
    e.enter(op, { regs: host });
    const s = seen as unknown as Registers;
    assert.equal(s.rax, 0);
    assert.equal(s.rbx, e.tcs(0));
    assert.equal(s.rcx, HOST_RIP + 3);
    assert.equal(s.rip, e.code);
    assert.equal(s.rdi, op);
    for (const r of ['rdx', 'rsi', 'r8', 'r9', 'r15', 'rsp', 'rbp'] as const) assert.equal(s[r], host[r], r);
    assert.equal(tcsAddr, e.tcs(0));
    // URSP/URBP went to the current SSA frame
    const g = gprsgx(e);
    assert.equal(g.URSP, 0x7ffd_0000n);
    assert.equal(g.URBP, 0x7ffd_1000n);
  });

  test('EENTER writes URSP/URBP as whole u64s: values above 2^32, up to 2^53 − 1, and a small one after a large one', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    for (const [rsp, rbp] of [[0x7ffe_ff00_1000, 2 ** 53 - 1], [0x1_0000_0008, 0x8000_0000], [0x10, 0]] as const) {
      e.enter(0, { regs: { rsp, rbp } });
      const g = gprsgx(e);
      assert.equal(g.URSP, BigInt(rsp), `URSP after RSP 0x${rsp.toString(16)}`);
      assert.equal(g.URBP, BigInt(rbp), `URBP after RBP 0x${rbp.toString(16)}`);
    }
  });

  test('EEXIT: the host sees the enclave registers, RIP = target, RCX = AEP; CSSA unchanged', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on((ctx) => {
      const r = ctx.regs;
      r.rax = 0xaaaa; r.rbx = 0xbbbb; r.rcx = 0xcccc; r.rdx = 0xdddd; r.rsi = 0x5151; r.rdi = 0xd1d1;
      r.r8 = 8; r.r12 = 12; r.r15 = 15; r.rsp = 0x1234000; r.rbp = 0x1235000;
      return 0x7ffc_0040;
    });
    const { exit, regs } = e.enter(op, { regs: { rsp: 0x7000, rbp: 0x8000 } });
    assert.deepEqual(exit, { reason: 'eexit', vector: null, errorCode: 0, address: 0, tcs: e.tcs(0), leaf: null, detail: null });
    assert.equal(regs.rip, 0x7ffc_0040);
    assert.equal(regs.rcx, AEP);
    assert.deepEqual([regs.rax, regs.rbx, regs.rdx, regs.rsi, regs.rdi, regs.r8, regs.r12, regs.r15, regs.rsp, regs.rbp], [0xaaaa, 0xbbbb, 0xdddd, 0x5151, 0xd1d1, 8, 12, 15, 0x1234000, 0x1235000]);
    assert.equal(cssa(k), 0);
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.aexCount, 0);
    assert.equal(k.proc.lps[1]!.inEnclaveMode, false);
  });

  test('EEXIT to a non-canonical target faults inside the enclave (#GP → AEX)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on(() => 2 ** 47);
    const { exit, regs } = e.enter(op);
    assert.equal(exit.reason, 'aex');
    assert.equal(exit.vector, GP);
    assert.equal(regs.rip, AEP);
    assert.equal(cssa(k), 1);
  });

  test('an engine error that is not an exception leaves enclave mode and reaches the host as it is', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on(() => {
      throw new TypeError('engine bug');
    });
    assert.throws(() => e.enter(op), TypeError);
    assert.equal(k.proc.lps[1]!.inEnclaveMode, false);
    assert.equal(k.proc.inspect.enclaves()[0]!.activeThreads, 0);
    assert.equal(e.enter(0).exit.reason, 'eexit', 'the TCS is usable again');
  });
});

describe('re-entry through the exit handler', () => {
  test('OCALL: EEXIT with the frame kept, EENTER from the handler continues it', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const OCALL = 0x0c;
    const op = engine.on((ctx) => {
      const r = ctx.regs;
      const arg = r.rsi;
      r.rdi = OCALL;
      r.rsi = arg * 2;
      ctx.eexit(r.rcx); // out to the host, back here on the next EENTER
      r.rax = r.rsi + 1; // the host's answer arrives in RSI
      r.rdi = 0;
      return r.rcx;
    });
    const calls: [string, number][] = [];
    const { exit, regs } = e.enter(op, {
      regs: { rsi: 20 },
      handler: (x: ExitInfo, r: Registers) => {
        calls.push([x.reason, r.rdi]);
        if (r.rdi === OCALL) {
          assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.state, 'idle', 'the TCS is free during the OCALL');
          assert.equal(r.rcx, AEP);
          r.rsi = r.rsi + 100; // 140
          r.rbx = e.tcs(0);
          r.rcx = AEP;
          r.rdi = 0;
          return ENCLU.EENTER;
        }
        return 0;
      },
    });
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rax, 141);
    assert.deepEqual(calls, [['eexit', OCALL], ['eexit', 0]]);
    assert.equal(engine.enters, 1, 'the re-entry continued the frame instead of starting a new ECALL');
  });

  test('nested: during an OCALL the host makes an ECALL on another TCS, then returns to the first', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { tcsCount: 2 });
    const OCALL = 0x0c;
    const inner = engine.on((ctx) => {
      ctx.regs.rax = 42;
      assert.equal(k.proc.inspect.enclaves()[0]!.activeThreads, 1);
      return ctx.regs.rcx;
    });
    const outer = engine.on((ctx) => {
      ctx.regs.rdi = OCALL;
      ctx.eexit(ctx.regs.rcx);
      ctx.regs.rax = ctx.regs.rsi + 1;
      ctx.regs.rdi = 0;
      return ctx.regs.rcx;
    });
    const seq: string[] = [];
    const { regs } = e.enter(outer, {
      handler: (x, r) => {
        seq.push(`${x.reason}@${x.tcs === e.tcs(0) ? 'T0' : 'T1'}`);
        if (r.rdi === OCALL) {
          Object.assign(r, { rbx: e.tcs(1), rcx: AEP, rdi: inner });
          return ENCLU.EENTER;
        }
        if (x.tcs === e.tcs(1)) {
          Object.assign(r, { rsi: r.rax, rbx: e.tcs(0), rcx: AEP, rdi: 0 });
          return ENCLU.EENTER;
        }
        return 0;
      },
    });
    assert.equal(regs.rax, 43);
    assert.deepEqual(seq, ['eexit@T0', 'eexit@T1', 'eexit@T0']);
  });

  test('the handler gives up (returns 0) during an OCALL: the frame is unwound and the TCS stays usable', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const { op, continued } = ocallOp(engine);
    let asked = 0;
    const { exit } = e.enter(op, { handler: () => (asked++, 0) });
    assert.equal(exit.reason, 'eexit');
    assert.equal(asked, 1, 'the handler is asked once about the exit it gave up on');
    assert.equal(continued(), false);
    assert.equal(cssa(k), 0);
    assert.equal(e.enter(0).exit.reason, 'eexit');
  });

  test('the handler gives up on an entry it made from inside another\'s exit: both are unwound, each exit asked about once', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { tcsCount: 2 });
    const done: string[] = [];
    const outer = engine.on((ctx) => {
      ctx.eexit(ctx.regs.rcx);
      done.push('outer after its EEXIT');
      return ctx.regs.rcx;
    });
    const inner = engine.on((ctx) => {
      ctx.eexit(ctx.regs.rcx);
      done.push('inner after its EEXIT');
      return ctx.regs.rcx;
    });
    const asked: number[] = [];
    const { exit } = e.enter(outer, {
      tcs: 0,
      handler: (x, r) => {
        asked.push(x.tcs);
        if (x.tcs === e.tcs(0)) {
          // From the outer exit: enter the other TCS (its code exits in the middle too).
          r.rbx = e.tcs(1);
          r.rdi = inner;
          return ENCLU.EENTER;
        }
        return 0; // give up on the inner exit
      },
    });
    assert.equal(exit.reason, 'eexit');
    assert.equal(exit.tcs, e.tcs(1));
    assert.deepEqual(asked, [e.tcs(0), e.tcs(1)]);
    assert.deepEqual(done, []);
    for (const t of [0, 1]) assert.equal(e.enter(0, { tcs: t }).exit.reason, 'eexit', `TCS ${t} is usable`);
  });

  test('an enclave context used outside its own entry raises #UD, also while the memory controller is locked', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { tcsCount: 2 });
    let old: EnclaveContext | null = null;
    assert.equal(e.enter(engine.on((ctx) => ((old = ctx), ctx.regs.rcx)), { tcs: 0 }).exit.reason, 'eexit');
    const seen: (number | string)[] = [];
    const pa = e.frame(e.data(1));
    const op = engine.on((ctx) => {
      for (const locked of [false, true]) {
        if (locked) {
          const ct = k.proc.memory.dramRead(pa, 8);
          ct[0]! ^= 1;
          k.proc.memory.dramWrite(pa, ct);
          try {
            ctx.read(e.data(1), 8);
          } catch (err) {
            seen.push(err instanceof ArchFault ? err.vector : String(err)); // #MC: locked now
          }
        }
        try {
          old!.read(e.data(0), 8);
        } catch (err) {
          seen.push(err instanceof ArchFault ? err.vector : String(err));
        }
      }
      return ctx.regs.rcx;
    });
    e.enter(op, { tcs: 1 });
    assert.notEqual(k.proc.locked, null);
    assert.deepEqual(seen, [VECTOR.UD, VECTOR.MC, VECTOR.UD]);
  });
});

describe('AEX on interrupts (§9)', () => {
  test('without a handler an interrupt is transparent (AEX then ERESUME)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on((ctx) => {
      ctx.regs.r12 = 0x1212;
      for (let i = 0; i < 3; i++) ctx.step();
      ctx.regs.rax = ctx.regs.r12 + 1;
      return ctx.regs.rcx;
    });
    const { exit, regs } = withStepHook(k, (lp) => lp.injectInterrupt(0x20), () => e.enter(op));
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rax, 0x1213, 'registers restored from the SSA after each AEX');
    const t = k.proc.inspect.enclaves()[0]!.tcs[0]!;
    assert.equal(t.aexCount, 3);
    assert.equal(t.cssa, 0);
  });

  test('with a handler: the synthetic state, the SSA frame as EDBGRD reads it, CSSA during and after', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { tcs: { OFSBASE: 0x1000n, OGSBASE: 0x2000n } });
    const enclaveRip = e.code + 0x123;
    const op = engine.on((ctx) => {
      const r = ctx.regs;
      Object.assign(r, { rax: 0xa0, rbx: 0xb0, rdx: 0xd0, rsi: 0x50, rdi: 0xd1, r8: 0x8, r9: 0x9, r10: 0x10, r11: 0x11, r12: 0x12, r13: 0x13, r14: 0x14, r15: 0x15, rsp: 0x5000, rbp: 0x6000, rip: enclaveRip, rflags: 0x2 | 0x1 | 0x40 });
      k.proc.lps[ctx.lpIndex]!.injectInterrupt(0x30);
      ctx.step();
      ctx.regs.rax = ctx.regs.r13 + ctx.regs.rdi; // restored values
      return 0x7ffc_0000;
    });
    const inHandler: { x: ExitInfo; r: Registers; cssa: number; g: ReturnType<typeof gprsgx>; fcw: bigint; mxcsr: bigint; xstateBv: bigint; state: string }[] = [];
    const { exit, regs } = e.enter(op, {
      // non-zero host values everywhere, so that the synthetic state visibly clears them
      regs: { rsp: 0x7ffd_0000, rbp: 0x7ffd_8000, rdx: 0x3d, rsi: 0x3e, r8: 0x38, r9: 0x39, r10: 0x3a, r11: 0x3b, r12: 0x3c, r13: 0x3f, r14: 0x40, r15: 0x41 },
      handler: (x, r) => {
        if (x.reason === 'aex') {
          const frame = e.frame(e.ssa(0));
          inHandler.push({
            x, r: { ...r }, cssa: cssa(k), g: gprsgx(e), fcw: k.edbgrd(frame) & 0xffffn, mxcsr: k.edbgrd(frame + 24) & 0xffffffffn, xstateBv: k.edbgrd(frame + 512),
            state: k.proc.inspect.enclaves()[0]!.tcs[0]!.state,
          });
          return ENCLU.ERESUME; // the AEP trampoline: RAX = 3, RBX = TCS, RCX = AEP already loaded
        }
        return 0;
      },
    });
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rax, 0x13 + 0xd1);
    assert.equal(regs.rip, 0x7ffc_0000);
    assert.equal(inHandler.length, 1);
    const h = inHandler[0]!;
    assert.equal(h.x.reason, 'aex');
    assert.equal(h.x.vector, null);
    assert.equal(h.x.tcs, e.tcs(0));
    assert.equal(h.cssa, 1);
    assert.equal(h.state, 'idle');
    // synthetic state (§9.2)
    assert.deepEqual([h.r.rax, h.r.rbx, h.r.rcx, h.r.rip], [ENCLU.ERESUME, e.tcs(0), AEP, AEP]);
    assert.deepEqual([h.r.rdx, h.r.rsi, h.r.rdi, h.r.r8, h.r.r9, h.r.r10, h.r.r11, h.r.r12, h.r.r13, h.r.r14, h.r.r15], new Array(11).fill(0));
    assert.deepEqual([h.r.rsp, h.r.rbp], [0x7ffd_0000, 0x7ffd_8000], 'RSP/RBP = URSP/URBP');
    assert.equal(h.r.rflags & (0x1 | 0x40), 0, 'CF and ZF cleared');
    // the SSA frame
    const g = h.g;
    assert.deepEqual([g.RAX, g.RBX, g.RDX, g.RSI, g.RDI, g.R8, g.R15, g.RSP, g.RBP], [0xa0n, 0xb0n, 0xd0n, 0x50n, 0xd1n, 0x8n, 0x15n, 0x5000n, 0x6000n]);
    assert.equal(g.RIP, BigInt(enclaveRip));
    assert.equal(g.RFLAGS & 0x41n, 0x41n);
    assert.equal(g.URSP, 0x7ffd_0000n);
    assert.equal(g.URBP, 0x7ffd_8000n);
    assert.equal(g.EXITINFO, 0, 'interrupts leave EXITINFO.VALID = 0');
    assert.equal(g.FSBASE, BigInt(e.base + 0x1000));
    assert.equal(g.GSBASE, BigInt(e.base + 0x2000));
    assert.equal(h.fcw, 0x037fn);
    assert.equal(h.mxcsr, 0x1f80n);
    assert.equal(h.xstateBv, 0n);
    assert.equal(cssa(k), 0);
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.aexCount, 1);
  });

  test('RFLAGS: AEX saves it with TF = 0; ERESUME restores CF..ID and RF from the SSA, IF and the other bits as the host has them (IOPL < 3: specs/sgx.md §7.2), TF cleared', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const CF = 0x1, TF = 0x100, IF = 0x200, DF = 0x400, OF = 0x800, AC = 0x40000;
    let after = -1;
    const op = engine.on((ctx) => {
      ctx.regs.rflags = 0x2 | CF | TF | IF | DF | OF | AC;
      k.proc.lps[ctx.lpIndex]!.injectInterrupt();
      ctx.step();
      after = ctx.regs.rflags;
      return ctx.regs.rcx;
    });
    let saved = -1n;
    e.enter(op, { handler: (x) => (x.reason === 'aex' ? ((saved = gprsgx(e).RFLAGS), ENCLU.ERESUME) : 0) });
    assert.equal(saved, BigInt(0x2 | CF | IF | DF | OF | AC));
    assert.equal(after, 0x2 | CF | IF | DF | OF | AC, 'IF: the host\'s (the synthetic state kept the enclave\'s)');
    // The host clears IF (and sets PF) before its ERESUME: IF follows the host, PF the SSA.
    let after2 = -1;
    const op2 = engine.on((ctx) => {
      ctx.regs.rflags = 0x2 | CF | IF;
      k.proc.lps[ctx.lpIndex]!.injectInterrupt();
      ctx.step();
      after2 = ctx.regs.rflags;
      return ctx.regs.rcx;
    });
    e.enter(op2, { handler: (x, r) => (x.reason === 'aex' ? ((r.rflags = 0x2 | 0x4), ENCLU.ERESUME) : 0) });
    assert.equal(after2, 0x2 | CF);
  });

  test('RFLAGS.TF: an opt-out entry (TCS.FLAGS.DBGOPTIN = 0) saves and clears it, EEXIT and the AEX put it back; an opt-in entry leaves it (specs/sgx.md §7.1, §7.3, §9.2)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const TF = 0x100;
    let inside = -1;
    const op = engine.on((ctx) => {
      inside = ctx.regs.rflags;
      ctx.regs.rflags = 0x2 | 0x1; // the enclave's own flags, TF clear
      return ctx.regs.rcx;
    });
    const out = e.enter(op, { regs: { rflags: 0x202 | TF } }).regs.rflags;
    assert.equal(inside & TF, 0, 'cleared inside');
    assert.equal(out, 0x2 | 0x1 | TF, 'EEXIT: the enclave\'s flags, TF as the host had it');
    const trap = engine.on(() => {
      throw ud('trap');
    });
    const aexFlags = e.enter(trap, { regs: { rflags: 0x202 | TF } }).regs.rflags;
    assert.equal(aexFlags & TF, TF, 'AEX: TF as saved at entry');
    const optIn = buildEnclave(k);
    assert.equal(k.edbgwr(optIn.frame(optIn.tcs(0)) + 8, 1n), SGX.SUCCESS);
    const seen = engine.on((ctx) => {
      inside = ctx.regs.rflags;
      return ctx.regs.rcx;
    });
    optIn.enter(seen, { regs: { rflags: 0x202 | TF } });
    assert.equal(inside & TF, TF, 'opt-in: TF stays set inside');
  });

  test('the AEXNOTIFY byte of GPRSGX is left as the enclave wrote it', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on((ctx) => {
      ctx.write(e.ssa(0) + 4096 - 184 + 167, Uint8Array.of(1));
      k.proc.lps[ctx.lpIndex]!.injectInterrupt();
      ctx.step();
      return ctx.regs.rcx;
    });
    let notify = -1;
    e.enter(op, { handler: (x) => (x.reason === 'aex' ? ((notify = gprsgx(e).AEXNOTIFY), ENCLU.ERESUME) : 0) });
    assert.equal(notify, 1);
  });
});

describe('exception AEX, EXITINFO and MISC.EXINFO (§2.5, §9.2)', () => {
  const cases: [string, number, number, () => never][] = [
    ['#UD', VECTOR.UD, 0x80000306, () => { throw ud('ud2'); }],
    ['#BP (software, EXIT_TYPE 6)', VECTOR.BP, 0x80000603, () => { throw new ArchFault(VECTOR.BP, 0, 0, 'int3'); }],
    ['#DE', VECTOR.DE, 0x80000300, () => { throw new ArchFault(VECTOR.DE, 0, 0, 'div'); }],
    ['#GP without EXINFO (VALID = 0)', GP, 0, () => { throw gp('gp'); }],
  ];
  for (const [name, vector, exitinfo, raise] of cases) {
    test(`${name}: EXITINFO 0x${exitinfo.toString(16)}, CSSA 1, ERESUME runs the engine's resume with the saved registers`, () => {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      const op = engine.on((ctx) => {
        ctx.regs.r14 = 0x1414;
        ctx.regs.rip = e.code + 0x40;
        return raise();
      });
      const { exit, regs } = e.enter(op);
      assert.equal(exit.reason, 'aex');
      assert.equal(exit.vector, vector);
      assert.equal(regs.rax, ENCLU.ERESUME);
      assert.equal(regs.rip, AEP);
      assert.equal(cssa(k), 1);
      const g = gprsgx(e);
      assert.equal(g.EXITINFO, exitinfo);
      assert.equal(g.R14, 0x1414n);
      assert.equal(g.RIP, BigInt(e.code + 0x40));
      let resumed: Registers | null = null;
      engine.resumeFn = (ctx) => {
        resumed = { ...ctx.regs };
        return ctx.regs.rcx;
      };
      assert.equal(e.resume().exit.reason, 'eexit');
      assert.equal((resumed as unknown as Registers).r14, 0x1414);
      assert.equal((resumed as unknown as Registers).rip, e.code + 0x40);
      assert.equal(cssa(k), 0);
      assert.equal(engine.resumes, 1);
    });
  }

  test('#PF with MISCSELECT.EXINFO: EXITINFO VALID, EXINFO.MADDR = the address, ERRCD = PFEC', () => {
    const { k, engine } = newKernel({ miscselectMask: 1 });
    const e = buildEnclave(k, { miscSelect: 1 });
    const op = engine.on((ctx) => {
      ctx.read(e.spare + 0x123, 4); // inside ELRANGE, not mapped
      return ctx.regs.rcx;
    });
    const { exit } = e.enter(op);
    assert.equal(exit.reason, 'aex');
    assert.equal(exit.vector, PF);
    assert.equal(exit.address, e.spare, 'CR2 as the OS sees it: low 12 bits cleared');
    assert.equal(exit.errorCode, PFEC.US);
    assert.equal(gprsgx(e).EXITINFO, 0x8000030e);
    assert.deepEqual(exinfo(e), { MADDR: BigInt(e.spare + 0x123), ERRCD: PFEC.US });
  });

  test('#GP with MISCSELECT.EXINFO: EXITINFO VALID, EXINFO.MADDR = 0 (the frame\'s old contents overwritten)', () => {
    const { k, engine } = newKernel({ features: { sgx2: true } });
    const e = buildEnclave(k, { miscSelect: 1 });
    const op = engine.on((ctx) => {
      ctx.write(e.ssa(0) + 4096 - 200, new Uint8Array(16).fill(0xee)); // garbage where EXINFO goes
      throw gp('gp');
    });
    assert.equal(e.enter(op).exit.vector, GP);
    assert.equal(gprsgx(e).EXITINFO, 0x8000030d);
    assert.deepEqual(exinfo(e), { MADDR: 0n, ERRCD: 0 });
  });

  test('#PF without MISCSELECT.EXINFO: EXITINFO 0 and no EXINFO written', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on((ctx) => {
      ctx.read(e.spare + 0x10, 1);
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(op).exit.vector, PF);
    assert.equal(gprsgx(e).EXITINFO, 0);
    assert.deepEqual(exinfo(e), { MADDR: 0n, ERRCD: 0 });
  });

  test('an interrupt with MISCSELECT.EXINFO: EXITINFO 0, EXINFO untouched', () => {
    const { k, engine } = newKernel({ miscselectMask: 1 });
    const e = buildEnclave(k, { miscSelect: 1 });
    const op = engine.on((ctx) => {
      k.proc.lps[ctx.lpIndex]!.injectInterrupt();
      ctx.step();
      return ctx.regs.rcx;
    });
    let seen: [number, bigint] = [-1, -1n];
    e.enter(op, { handler: (x) => (x.reason === 'aex' ? ((seen = [gprsgx(e).EXITINFO, exinfo(e).MADDR]), ENCLU.ERESUME) : 0) });
    assert.deepEqual(seen, [0, 0n]);
  });

  test('a fault on an access is retried after the handler fixes it (demand paging) and ERESUMEs', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const host = 0x6000_0000;
    const op = engine.on((ctx) => {
      const v = ctx.read(host + 8, 4);
      ctx.regs.rax = u32le(v, 0);
      return ctx.regs.rcx;
    });
    const faults: ExitInfo[] = [];
    const { exit, regs } = e.enter(op, {
      handler: (x) => {
        if (x.reason !== 'aex') return 0;
        faults.push(x);
        const pa = k.hostBuffer(host, 4096);
        k.proc.memory.writePhysical(pa + 8, Uint8Array.of(0x78, 0x56, 0x34, 0x12));
        return ENCLU.ERESUME;
      },
    });
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rax, 0x12345678);
    assert.equal(faults.length, 1);
    assert.equal(faults[0]!.vector, PF);
    assert.equal(faults[0]!.address, host);
    assert.equal((faults[0]!.errorCode & PFEC.SGX) !== 0, false);
    assert.equal(cssa(k), 0);
  });
});

describe('ERESUME (§7.2) and CSSA accounting', () => {
  test('ERESUME with CSSA 0 → #GP; on a non-TCS page → #PF', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    faultsUnchanged(k, () => e.resume(), GP);
    faultsUnchanged(k, () => k.enclu(ENCLU.ERESUME, { rbx: e.data(0), rcx: AEP }), PF, { sgx: true, address: e.data(0) });
  });

  test('NSSA 2: AEX, EENTER in exception mode (RAX = CSSA = 1), AEX again, then EENTER #GP and two ERESUMEs', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { nssa: 2 });
    const seenRax: number[] = [];
    const op = engine.on((ctx) => {
      seenRax.push(ctx.regs.rax);
      throw ud('again');
    });
    assert.equal(e.enter(op).exit.reason, 'aex');
    assert.equal(cssa(k), 1);
    assert.equal(e.enter(op).exit.reason, 'aex');
    assert.deepEqual(seenRax, [0, 1]);
    assert.equal(cssa(k), 2);
    faultsUnchanged(k, () => e.enter(op), GP);
    // each frame holds what its AEX saved
    assert.equal(gprsgx(e, 0, 0).EXITINFO, 0x80000306);
    assert.equal(gprsgx(e, 0, 1).RAX, 1n);
    assert.equal(e.resume().exit.reason, 'eexit');
    assert.equal(cssa(k), 1);
    assert.equal(e.resume().exit.reason, 'eexit');
    assert.equal(cssa(k), 0);
    faultsUnchanged(k, () => e.resume(), GP);
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.aexCount, 2);
  });

  test('in-enclave exception handling: the handler entry edits the saved RIP, ERESUME continues there', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on((ctx) => {
      if (ctx.regs.rax === 0) {
        ctx.regs.rip = e.code + 0x10;
        throw ud('ud2');
      }
      // exception mode (CSSA = 1): skip the faulting instruction in frame 0
      const ripAt = e.ssa(0) + 4096 - 184 + 136;
      const rip = u64le(ctx.read(ripAt, 8), 0);
      const b = new Uint8Array(8);
      writeU64le(b, 0, rip + 2n);
      ctx.write(ripAt, b);
      return ctx.regs.rcx;
    });
    e.enter(op);
    e.enter(op);
    let resumedAt = -1;
    engine.resumeFn = (ctx) => {
      resumedAt = ctx.regs.rip;
      return ctx.regs.rcx;
    };
    e.resume();
    assert.equal(resumedAt, e.code + 0x12);
  });

  test('ERESUME refuses an SSA whose XSAVE header cannot be restored → #GP, CSSA unchanged', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const op = engine.on((ctx) => {
      if (ctx.regs.rax === 0) throw ud('ud2');
      ctx.write(e.ssa(0) + 512, Uint8Array.of(0x04)); // XSTATE_BV.AVX, outside XFRM = 3
      return ctx.regs.rcx;
    });
    e.enter(op);
    e.enter(op);
    faultsUnchanged(k, () => e.resume(), GP);
    assert.equal(cssa(k), 1);
  });

  for (const [name, off] of [['RIP', 136], ['FSBASE', 168], ['GSBASE', 176]] as const) {
    test(`ERESUME refuses a non-canonical saved ${name} → #GP, CSSA unchanged`, () => {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      const op = engine.on((ctx) => {
        if (ctx.regs.rax === 0) throw ud('ud2');
        const b = new Uint8Array(8);
        writeU64le(b, 0, 1n << 48n);
        ctx.write(e.ssa(0) + 4096 - 184 + off, b);
        return ctx.regs.rcx;
      });
      e.enter(op);
      e.enter(op);
      faultsUnchanged(k, () => e.resume(), GP);
      assert.equal(cssa(k), 1);
    });
  }

  test('ERESUME of a TCS whose interrupted frame is still on the stack is refused (model limit, ArchError)', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    let err: unknown = null;
    const op = engine.on((ctx) => {
      k.proc.lps[ctx.lpIndex]!.injectInterrupt();
      ctx.step();
      return ctx.regs.rcx;
    });
    e.enter(op, {
      handler: (x) => {
        if (x.reason !== 'aex') return 0;
        try {
          k.user(() => k.proc.lps[0]!.enclu(ENCLU.ERESUME, newRegisters({ rbx: e.tcs(0), rcx: AEP })), 0);
        } catch (ex) {
          err = ex;
        }
        return ENCLU.ERESUME;
      },
    });
    assert.ok(err instanceof ArchError && err.code === 'TCS_SUSPENDED_FRAME');
    assert.equal(cssa(k), 0);
  });
});

describe('more exit-handler flows', () => {
  test('a faulting EENTER is reported to the handler as a \'fault\' exit', () => {
    const { k } = newKernel();
    const b = new EnclaveBuilder(k);
    b.create();
    b.addPages();
    const seen: ExitInfo[] = [];
    const { exit } = k.enclu(ENCLU.EENTER, { rbx: b.base, rcx: AEP }, (x) => (seen.push(x), 0));
    assert.equal(exit.reason, 'fault');
    assert.equal(exit.vector, GP);
    assert.equal(exit.leaf, ENCLU.EENTER);
    assert.equal(exit.tcs, b.base);
    assert.deepEqual(seen, [exit]);
  });

  test('after an interrupt the handler enters the same TCS (exception-handler entry, RAX = CSSA = 1), then ERESUMEs the frame', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const HANDLER = engine.on((ctx) => {
      ctx.regs.rsi = ctx.regs.rax; // report CSSA
      return ctx.regs.rcx;
    });
    let continued = false;
    const op = engine.on((ctx) => {
      ctx.regs.r10 = 0x1010;
      k.proc.lps[ctx.lpIndex]!.injectInterrupt();
      ctx.step();
      continued = ctx.regs.r10 === 0x1010;
      return ctx.regs.rcx;
    });
    const seq: string[] = [];
    e.enter(op, {
      handler: (x, r) => {
        seq.push(`${x.reason}:${cssa(k)}`);
        if (x.reason === 'aex') {
          Object.assign(r, { rbx: e.tcs(0), rcx: AEP, rdi: HANDLER });
          return ENCLU.EENTER;
        }
        if (seq.length === 2) {
          seq.push(`rsi=${r.rsi}`);
          Object.assign(r, { rax: ENCLU.ERESUME, rbx: e.tcs(0), rcx: AEP });
          return ENCLU.ERESUME;
        }
        return 0;
      },
    });
    assert.deepEqual(seq, ['aex:1', 'eexit:1', 'rsi=1', 'eexit:0']);
    assert.equal(continued, true);
  });

  test('SSAFRAMESIZE 2: GPRSGX and EXINFO at the end of the frame\'s second page; frame 1 starts two pages later', () => {
    const { k, engine } = newKernel({ miscselectMask: 1 });
    const e = buildEnclave(k, { ssaFrameSize: 2, nssa: 2, miscSelect: 1 });
    assert.equal(e.ssa(0, 1), e.ssa(0, 0) + 0x2000);
    const op = engine.on((ctx) => {
      ctx.regs.rbx = 0xbeef;
      ctx.read(e.spare + 0x800, 1);
      return ctx.regs.rcx;
    });
    e.enter(op);
    assert.equal(cssa(k), 1);
    const g = gprsgx(e, 0, 0);
    assert.equal(g.RBX, 0xbeefn);
    assert.equal(g.EXITINFO, 0x8000030e);
    assert.deepEqual(exinfo(e, 0, 0), { MADDR: BigInt(e.spare + 0x800), ERRCD: PFEC.US });
    assert.equal(k.readEpc(e.frame(e.ssa(0)), 8)[0], 0x7f, 'XSAVE (FCW) at the start of the first page');
    e.resume();
    assert.equal(cssa(k), 0);
  });
});

describe('the handler\'s answer to an OCALL\'s EEXIT', () => {
  test('a negative answer is an ENCLU of that leaf (#GP, a fault exit the handler sees), not a second ask about the same exit', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const { op, continued } = ocallOp(engine);
    const seen: [string, number | null, number | null][] = [];
    const { exit } = e.enter(op, {
      handler: (x: ExitInfo) => {
        seen.push([x.reason, x.vector, x.leaf]);
        return seen.length === 1 ? -1 : 0;
      },
    });
    assert.deepEqual(seen, [['eexit', null, null], ['fault', VECTOR.GP, -1]]);
    assert.equal(exit.reason, 'fault');
    assert.equal(continued(), false);
  });

  test('an ORET that misses the cached path (another page table, the same mappings) reads each host register once', () => {
    const { k, engine } = newKernel();
    const b = buildEnclave(k);
    const copy = new PageTable('copy');
    for (const [v, t] of k.userPt.entries()) copy.map(v, t.pfn, t.flags);
    const log: number[] = [];
    const ocall = engine.on((ctx) => {
      ctx.regs.rdi = 1;
      ctx.eexit(ctx.regs.rcx);
      log.push(ctx.regs.rdi);
      return ctx.regs.rcx;
    });
    const lp = k.proc.lps[1]!;
    lp.cpl = 3;
    lp.cr3 = k.userPt;
    const regs = newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: ocall });
    let rbx = regs.rbx, reads = 0;
    Object.defineProperty(regs, 'rbx', { configurable: true, get: () => (reads++, rbx), set: (v: number) => { rbx = v; } });
    const perAnswer: number[] = [];
    let n = 0;
    const handler = (_x: ExitInfo, r: Registers): number => {
      if (n > 0) perAnswer.push(reads);
      if (++n === 1) {
        lp.cr3 = copy; // every cache keyed by the page table misses
        Object.assign(r, { rbx: b.tcs(0), rcx: AEP, rdi: 77, rip: HOST_RIP });
        reads = 0;
        return ENCLU.EENTER;
      }
      return 0;
    };
    const x = lp.enclu(ENCLU.EENTER, regs, handler);
    assert.equal(x.reason, 'eexit');
    assert.deepEqual(log, [77]);
    assert.deepEqual(perAnswer, [1], 'RBX read once for the ORET');
  });

  test('a falsy handler that is not null (a JavaScript caller\'s false) gives up at the EEXIT, as no handler does', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const { op, continued } = ocallOp(engine);
    const { exit } = e.enter(op, { handler: false as unknown as null });
    assert.equal(exit.reason, 'eexit');
    assert.equal(continued(), false);
  });
});

describe('the TCS page as EDBGRD and the DRAM view see it (STATE, CSSA, AEP mirrored)', () => {
  test('STATE is 1 while a thread is inside, CSSA counts AEXs, AEP is the one EENTER was given', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const tcs = e.frame(e.tcs(0));
    const read = () => ({ state: k.edbgrd(tcs), cssa: k.edbgrd(tcs + 24) & 0xffffffffn, aep: k.edbgrd(tcs + 40) });
    assert.deepEqual(read(), { state: 0n, cssa: 0n, aep: 0n });
    const during: ReturnType<typeof read>[] = [];
    const op = engine.on((ctx) => {
      ctx.step();
      throw ud('then an exception');
    });
    const ct0 = toHex(k.proc.memory.dramRead(tcs, 64));
    withStepHook(k, (lp) => {
      if (lp.index === 1 && during.length === 0) during.push(read());
    }, () => e.enter(op, { regs: { rcx: 0x7ff0_1000 } }));
    assert.deepEqual(during, [{ state: 1n, cssa: 0n, aep: 0x7ff0_1000n }]);
    assert.deepEqual(read(), { state: 0n, cssa: 1n, aep: 0x7ff0_1000n });
    assert.notEqual(toHex(k.proc.memory.dramRead(tcs, 64)), ct0, 'the TCS was written back (new version)');
    e.resume({ regs: { rcx: 0x7ff0_2000 } });
    assert.deepEqual(read(), { state: 0n, cssa: 0n, aep: 0x7ff0_2000n });
  });
});

describe('EnclaveContext validity', () => {
  test('a context used after its entry ended → #UD', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    let saved: EnclaveContext | null = null;
    const op = engine.on((ctx) => {
      saved = ctx;
      return ctx.regs.rcx;
    });
    e.enter(op);
    const ctx = saved as unknown as { read(la: number, n: number): Uint8Array };
    assertFault(() => ctx.read(e.data(0), 8), VECTOR.UD);
  });
});

describe('review fixes (each test fails on the code before them)', () => {
  test('an AEP that is NaN or not an integer is not canonical: #GP, nothing entered (the full path and the cached one alike)', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    assert.equal(e.enter(0).exit.reason, 'eexit', 'a first entry fills the caches');
    for (const aep of [Number.NaN, AEP + 0.5, -1, Infinity]) {
      assert.throws(() => e.enter(0, { regs: { rcx: aep } }), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.GP, `AEP ${aep}`);
      assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.state, 'idle');
    }
    assert.equal(k.edbgrd(e.frame(e.tcs(0)) + 40), BigInt(AEP), 'TCS.AEP is still the last good one');
  });

  test('an AEX with registers no u64 write takes as they are (2^60, NaN) saves them modulo 2^64 and leaves: the LP out of enclave mode, the TCS idle', () => {
    for (const [name, v, saved] of [['rax', 2 ** 60, 2n ** 60n], ['rsi', Number.NaN, 0n], ['rip', Number.NaN, 0n], ['rdx', -1, 2n ** 64n - 1n]] as const) {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      const { exit } = e.enter(engine.on((ctx) => {
        ctx.regs[name] = v;
        throw ud('trap');
      }));
      assert.deepEqual([exit.reason, exit.vector], ['aex', VECTOR.UD], name);
      assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.state, 'idle');
      const g = GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), GPRSGX.size));
      assert.equal(g[name.toUpperCase() as 'RAX'], saved, `${name} saved modulo 2^64`);
      assert.equal(e.enter(0, { regs: { rax: 0 } }).exit.reason, 'eexit', 'the TCS can be entered again (its handler frame)');
    }
  });

  test('the RFLAGS an AEX saves has RF = 1 for a fault (SDM Vol. 3 §17.3.1.1) and 0 for an interrupt; TF = 0 either way', () => {
    for (const [what, fault] of [['#UD', () => ud('ud2')], ['#GP', () => gp('x')]] as const) {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      assert.equal(e.enter(engine.on(() => { throw fault(); })).exit.reason, 'aex');
      const g = GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), GPRSGX.size));
      assert.equal((g.RFLAGS >> 16n) & 1n, 1n, `${what}: RF`);
      assert.equal((g.RFLAGS >> 8n) & 1n, 0n, `${what}: TF`);
    }
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const x = e.enter(engine.on((ctx) => {
      k.proc.lps[1]!.injectInterrupt();
      ctx.step();
      return ctx.regs.rcx;
    }), { handler: () => 0 }).exit;
    assert.deepEqual([x.reason, x.vector], ['aex', null]);
    assert.equal((GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), GPRSGX.size)).RFLAGS >> 16n) & 1n, 0n, 'interrupt: RF');
  });

  test('EENTER checks the SSA frame\'s XSAVE pages and its GPRSGX page only (specs/sgx.md §7.1 step 9): a page between them unmapped or read-only is not its business', () => {
    const { k } = newKernel();
    const e = buildEnclave(k, { ssaFrameSize: 3, nssa: 1 });
    const pad = e.ssa(0) + 4096;
    k.userPt.unmap(pad / 4096);
    assert.equal(e.enter(0).exit.reason, 'eexit', 'unmapped');
    k.mapUser(pad, e.frame(pad), false);
    assert.equal(e.enter(0).exit.reason, 'eexit', 'read-only');
    k.userPt.unmap(e.ssa(0) / 4096); // the XSAVE page is checked
    assert.throws(() => e.enter(0), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.PF && x.address === e.ssa(0));
  });

  test('ERESUME of a frame whose saved MXCSR has a reserved bit (31:16): #GP, CSSA unchanged', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { nssa: 2 });
    assert.equal(e.enter(engine.on(() => { throw ud('trap'); })).exit.reason, 'aex');
    assert.equal(e.enter(engine.on((ctx) => {
      ctx.write(e.ssa(0) + 24, Uint8Array.of(0x80, 0x1f, 0x01, 0x00));
      return ctx.regs.rcx;
    })).exit.reason, 'eexit');
    assert.throws(() => e.resume(), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.GP);
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.cssa, 1);
  });

  test('ENCLU at CPL 0: #UD before the #GP of an unsupported leaf (specs/sgx.md §7.0 step 1 before step 2)', () => {
    const { k } = newKernel();
    const e = buildEnclave(k);
    const lp = k.proc.lps[1]!;
    lp.cpl = 0;
    lp.cr3 = k.userPt;
    for (const leaf of [99, ENCLU.EACCEPT, ENCLU.EENTER]) {
      assert.throws(() => lp.enclu(leaf, newRegisters({ rbx: e.tcs(0), rcx: AEP })), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.UD, `leaf ${leaf}`);
    }
  });

  test('TCS.FLAGS with a reserved bit anywhere in 63:1 (set by EDBGWR) makes EENTER #GP, bits above 31 and 52 included', () => {
    for (const v of [2n, 1n << 32n, 1n << 52n, 1n << 53n, 1n << 63n]) {
      const { k } = newKernel();
      const e = buildEnclave(k);
      assert.equal(k.edbgwr(e.frame(e.tcs(0)) + 8, v), SGX.SUCCESS);
      assert.throws(() => e.enter(0), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.GP && /reserved bits/.test(x.reason), `FLAGS 0x${v.toString(16)}`);
      assert.equal(k.edbgwr(e.frame(e.tcs(0)) + 8, 1n), SGX.SUCCESS, 'DBGOPTIN alone');
      assert.equal(e.enter(0).exit.reason, 'eexit');
    }
  });
});

describe('outputs of the cached paths, which earlier tests saw only on a first (full-path) entry', () => {
  test('a second EENTER of the same TCS (the cached path): RAX = CSSA, RCX = the instruction after ENCLU, URSP/URBP = the host\'s RSP/RBP', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const seen: number[][] = [];
    const op = engine.on((ctx) => {
      seen.push([ctx.regs.rax, ctx.regs.rcx - HOST_RIP]);
      return ctx.regs.rcx;
    });
    for (const [rsp, rbp] of [[0x7000_1000, 0x7000_2000], [0x7000_3000, 0x7000_4000]]) {
      assert.equal(e.enter(op, { regs: { rsp, rbp } }).exit.reason, 'eexit');
      const g = GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), GPRSGX.size));
      assert.deepEqual([g.URSP, g.URBP], [BigInt(rsp), BigInt(rbp)]);
    }
    assert.deepEqual(seen, [[0, 3], [0, 3]]);
  });

  for (const path of ['cached', 'full'] as const) {
    test(`an ORET (${path} path): the frame sees RCX = the ORET's RIP + 3 and RAX = CSSA; URSP/URBP = the ORET's RSP/RBP; a bad AEP on it is a fault the handler sees, the frame not continued`, () => {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      const copy = new PageTable('copy');
      for (const [v, t] of k.userPt.entries()) copy.map(v, t.pfn, t.flags);
      const ORET_RIP = HOST_RIP + 0x100;
      for (const aep of [AEP, Number.NaN, AEP + 0.5]) {
        let after: number[] | null = null;
        const op = engine.on((ctx) => {
          ctx.regs.rdi = 1;
          ctx.eexit(ctx.regs.rcx);
          after = [ctx.regs.rax, ctx.regs.rcx];
          return ctx.regs.rcx;
        });
        const exits: string[] = [];
        let n = 0;
        const lp = k.proc.lps[1]!;
        const { exit } = e.enter(op, { handler: (x, r) => {
          exits.push(x.reason);
          if (n++ > 0) return 0;
          if (path === 'full') lp.cr3 = copy; // every cache keyed by the page table misses
          Object.assign(r, { rbx: e.tcs(0), rcx: aep, rip: ORET_RIP, rsp: 0x7100_0000, rbp: 0x7100_0800, rdi: 0 });
          return ENCLU.EENTER;
        } });
        lp.cr3 = k.userPt;
        if (aep === AEP) {
          assert.equal(exit.reason, 'eexit');
          assert.deepEqual(after, [0, ORET_RIP + 3]);
          const g = GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), GPRSGX.size));
          assert.deepEqual([g.URSP, g.URBP], [0x7100_0000n, 0x7100_0800n]);
        } else {
          assert.equal(after, null, `AEP ${aep}: the frame did not continue`);
          assert.deepEqual(exits, ['eexit', 'fault'], `AEP ${aep}`);
        }
      }
    });
  }

  test('ERESUME of a frame whose XSAVE header bytes 520..535 are not zero: #GP, CSSA unchanged; the AEX\'s synthetic RFLAGS has RF clear', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { nssa: 2 });
    const { exit, regs } = e.enter(engine.on((ctx) => {
      ctx.regs.rflags = 0x10002 | 0x1; // RF and CF set in the enclave
      throw ud('trap');
    }), { regs: { rflags: 0x10202 } });
    assert.equal(exit.reason, 'aex');
    assert.equal(regs.rflags & 0x10001, 0, 'RF and CF cleared in the synthetic state');
    assert.equal(e.enter(engine.on((ctx) => {
      ctx.write(e.ssa(0) + 528, Uint8Array.of(1));
      return ctx.regs.rcx;
    })).exit.reason, 'eexit');
    assert.throws(() => e.resume(), (x: unknown) => x instanceof ArchFault && x.vector === VECTOR.GP);
    assert.equal(k.proc.inspect.enclaves()[0]!.tcs[0]!.cssa, 1);
  });
});

describe('RF and TF across exits (the closing review)', () => {
  test('the RF = 1 a fault\'s AEX saved is cleared once the resumed instruction runs: the host never sees it at the EEXIT that follows', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k, { nssa: 2 });
    const r = e.enter(engine.on(() => {
      throw ud('ud2');
    }), { regs: { rflags: 0x202 }, handler: (x) => (x.reason === 'aex' ? ENCLU.ERESUME : 0) });
    assert.equal(r.exit.reason, 'eexit');
    assert.equal(r.regs.rflags & 0x10000, 0, 'RF');
    assert.equal((GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), GPRSGX.size)).RFLAGS >> 16n) & 1n, 1n, 'the SSA kept RF = 1');
  });

  test('opt-in or opt-out is latched at entry (CR_DBGOPTIN): TCS.FLAGS changed by EDBGWR while the thread is inside does not change what its EEXIT does with TF', () => {
    const TF = 0x100;
    for (const [from, to] of [[0n, 1n], [1n, 0n]] as const) {
      const { k, engine } = newKernel();
      const e = buildEnclave(k);
      const flagsPa = e.frame(e.tcs(0)) + 8;
      if (from) assert.equal(k.edbgwr(flagsPa, from), SGX.SUCCESS);
      let inside = -1;
      const r = e.enter(engine.on((ctx) => {
        inside = ctx.regs.rflags & TF;
        assert.equal(k.edbgwr(flagsPa, to), SGX.SUCCESS); // a debugger on another LP
        return ctx.regs.rcx;
      }), { regs: { rflags: 0x202 | TF } });
      assert.equal(inside, from ? TF : 0, `DBGOPTIN ${from} at entry: TF inside`);
      assert.equal(r.regs.rflags & TF, TF, `DBGOPTIN ${from} at entry, ${to} at exit: the host's TF`);
    }
  });

  test('an AEX saves a register holding a negative fraction as its integer part modulo 2^64', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    assert.equal(e.enter(engine.on((ctx) => {
      ctx.regs.rax = -0.5;
      ctx.regs.rbx = -4294967296.5;
      throw ud('trap');
    })).exit.reason, 'aex');
    const g = GPRSGX.decode(k.readEpc(e.gprsgx(0, 0), GPRSGX.size));
    assert.deepEqual([g.RAX, g.RBX], [0n, 2n ** 64n - 4294967296n]);
  });
});
