/**
 * `__vdso_sgx_enter_enclave` (specs/os-api.md §4.6) and the faults an enclave meets on Linux:
 * conformance vectors L11–L13, and the kernel selftests' scenarios (tools/testing/selftests/sgx:
 * unclobbered_vdso, clobbered_vdso_and_user_function, tcs_entry, pte_permissions, epcm_permissions,
 * augment, augment_via_eaccept, tcs_create, remove_added_page_invalid_access,
 * remove_untouched_page) with the model's ScriptEngine as the enclave code.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERRNO, PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS, MAP_FIXED, SGX_IOC, VDSO_AEP, LinuxSignal,
  sgx_enclave_restrict_permissions, sgx_enclave_modify_types, sgx_enclave_remove_pages, type SgxEnterEnclave,
} from '../../src/os/linux/index.js';
import { PT, SGX, VECTOR, PFEC, TCS, type EnclaveContext } from '../../src/arch/index.js';
import { linuxFor, buildLinux, put, runStruct, readRun, ioctlOk, twoEnclavesAtOneAddress, LinuxLayout, type LinuxMachine, type BuiltLinuxEnclave } from '../helpers/linux.js';
import { OsError } from '../../src/os/index.js';

const EENTER = 2, ERESUME = 3, EEXIT = 4;

function setup(profile: 'linux-sgx1' | 'linux-sgx2' = 'linux-sgx2', layout?: LinuxLayout): { m: LinuxMachine; e: BuiltLinuxEnclave; enter: SgxEnterEnclave } {
  const m = linuxFor(profile);
  const e = buildLinux(m, 'initialized', layout);
  const enter = m.libc.vdsoSym('__vdso_sgx_enter_enclave');
  assert.ok(enter);
  return { m, e, enter };
}

/** A SECINFO written by the enclave into its own SSA page (free while this thread runs); its address. */
function secinfoIn(ctx: EnclaveContext, e: BuiltLinuxEnclave, flags: number): number {
  const at = e.base + 0x2800;
  const b = new Uint8Array(64);
  b[0] = flags & 0xff;
  b[1] = (flags >> 8) & 0xff;
  ctx.write(at, b);
  return at;
}

/**
 * Enclave code on TCS 0 that writes a byte at `la`, run again at the ERESUME after a fault (the
 * frame is gone when the vDSO returns: the model resumes at the SSA); entered once. Its run
 * record's address, the record after the entry, and how many writes completed.
 */
function writeOnTcs0(m: LinuxMachine, e: BuiltLinuxEnclave, enter: SgxEnterEnclave, la: number): { run: number; r: ReturnType<typeof readRun>; writes: () => number } {
  let n = 0;
  const write = (ctx: EnclaveContext): number => {
    ctx.write(la, new Uint8Array([0x5a]));
    n++;
    return ctx.regs.rcx;
  };
  m.engine.resumeFn = write;
  const run = runStruct(m.libc, e.base);
  assert.equal(enter(m.engine.on(write), 0, 0, EENTER, 0, 0, run), 0);
  return { run, r: readRun(m.libc, run), writes: () => n };
}

const restrict = (m: LinuxMachine, offset: number, perms: number): number =>
  put(m.libc, sgx_enclave_restrict_permissions.encode({ offset: BigInt(offset), length: 4096n, permissions: BigInt(perms), result: 0n, count: 0n }));
const modify = (m: LinuxMachine, offset: number, length: number, type: number): number =>
  put(m.libc, sgx_enclave_modify_types.encode({ offset: BigInt(offset), length: BigInt(length), page_type: BigInt(type), result: 0n, count: 0n }));
const remove = (m: LinuxMachine, offset: number, length: number): number =>
  put(m.libc, sgx_enclave_remove_pages.encode({ offset: BigInt(offset), length: BigInt(length), count: 0n }));

describe('vDSO: __vdso_sgx_enter_enclave', () => {
  it('L13: an EEXIT returns 0 with run.function = EEXIT; the registers pass through ENCLU both ways (unclobbered_vdso)', () => {
    const { m, e, enter } = setup();
    let seen = -1;
    const fn = m.engine.on((ctx) => {
      seen = ctx.regs.rsi;
      ctx.regs.rdx = 0x1234;
      ctx.regs.r8 = 0x88;
      return ctx.regs.rcx;
    });
    const run = runStruct(m.libc, e.base);
    assert.equal(enter(fn, 77, 0, EENTER, 0, 0, run), 0);
    assert.equal(seen, 77, 'RSI reaches the enclave');
    const r = readRun(m.libc, run);
    assert.equal(r.function, EEXIT);
    assert.equal(r.exception_vector, 0);
    assert.equal(r.exception_addr, 0n);
    // What the enclave left in RDX and R8 is what a user handler is called with.
    let got: number[] = [];
    const h = m.libc.functionPointer((rdi, rsi, rdx, _rsp, r8) => {
      got = [rdi, rsi, rdx, r8];
      return 0;
    });
    assert.equal(enter(fn, 5, 0, EENTER, 0, 0, runStruct(m.libc, e.base, h)), 0);
    assert.deepEqual(got.slice(2), [0x1234, 0x88]);
  });

  it('L11: run.reserved[0] ≠ 0, or function 4 (or 1, or 0), returns −EINVAL and writes nothing', () => {
    const { m, e, enter } = setup();
    const run = runStruct(m.libc, e.base);
    const before = m.libc.read(run, 256);
    for (const fn of [EEXIT, 1, 0, 7]) assert.equal(enter(0, 0, 0, fn, 0, 0, run), -ERRNO.EINVAL, `function ${fn}`);
    m.libc.write(run + 40, new Uint8Array([1]));
    assert.equal(enter(0, 0, 0, EENTER, 0, 0, run), -ERRNO.EINVAL, 'reserved[0]');
    m.libc.write(run + 40, new Uint8Array([0]));
    m.libc.write(run + 255, new Uint8Array([1]));
    assert.equal(enter(0, 0, 0, EENTER, 0, 0, run), -ERRNO.EINVAL, 'reserved[215]');
    m.libc.write(run + 255, new Uint8Array([0]));
    assert.deepEqual(m.libc.read(run, 256), before);
    assert.equal(m.engine.enters, 0);
  });

  it('an unreadable run is SIGSEGV for the process (a typed LinuxSignal)', () => {
    const { enter } = setup();
    assert.throws(() => enter(0, 0, 0, EENTER, 0, 0, 0x7300_0000), (x: unknown) => x instanceof LinuxSignal && x.code === 'SIGSEGV');
  });

  it('both TCSs can be entered; exception fields stay 0 (tcs_entry)', () => {
    const { m, e, enter } = setup();
    for (const tcs of [e.base, e.base + 0x1000]) {
      const run = runStruct(m.libc, tcs);
      assert.equal(enter(0, 0, 0, EENTER, 0, 0, run), 0);
      const r = readRun(m.libc, run);
      assert.equal(r.function, EEXIT);
      assert.equal(r.exception_vector, 0);
      assert.equal(r.exception_error_code, 0);
    }
  });

  it('EENTER that faults itself: returns 0 with function = EENTER and the fault (a REG page as the TCS: #PF with PFEC.SGX at it)', () => {
    const { m, e, enter } = setup();
    const run = runStruct(m.libc, e.base + 0x4000);
    assert.equal(enter(0, 0, 0, EENTER, 0, 0, run), 0);
    const r = readRun(m.libc, run);
    assert.equal(r.function, EENTER);
    assert.equal(r.exception_vector, VECTOR.PF);
    assert.equal(r.exception_error_code & PFEC.SGX, PFEC.SGX);
    assert.equal(r.exception_addr, BigInt(e.base + 0x4000));
  });

  it('an interrupt inside the enclave is invisible (AEX and ERESUME at the AEP)', () => {
    const { m, e, enter } = setup();
    let steps = 0;
    const fn = m.engine.on((ctx) => {
      m.p.processor.lps[0]!.injectInterrupt();
      ctx.step();
      steps++;
      return ctx.regs.rcx;
    });
    const run = runStruct(m.libc, e.base);
    assert.equal(enter(fn, 0, 0, EENTER, 0, 0, run), 0);
    assert.equal(steps, 1);
    assert.equal(readRun(m.libc, run).function, EEXIT);
  });

  it('a user handler sees every exit: an OCALL-style EEXIT is served and re-entered in place; ≤ 0 is returned (clobbered_vdso_and_user_function)', () => {
    const { m, e, enter } = setup();
    const log: string[] = [];
    const fn = m.engine.on((ctx) => {
      ctx.regs.rdi = 0xca11;
      ctx.eexit(ctx.regs.rcx); // an OCALL: out to the host, back on its EENTER
      log.push(`back with rsi=${ctx.regs.rsi}`);
      ctx.regs.rdi = 0xd0e;
      return ctx.regs.rcx;
    });
    const handler = m.libc.functionPointer((rdi, _rsi, _rdx, rsp, _r8, _r9, runAt, regs) => {
      const r = readRun(m.libc, runAt);
      log.push(`exit ${r.function} rdi=0x${rdi.toString(16)} rsp=${rsp > 0}`);
      if (rdi === 0xca11) {
        regs.rsi = 42; // (the other GPRs pass through ENCLU: the ORET's argument)
        return EENTER;
      }
      return -7;
    });
    const run = runStruct(m.libc, e.base, handler);
    assert.equal(enter(fn, 0, 0, EENTER, 0, 0, run), -7);
    assert.deepEqual(log, ['exit 4 rdi=0xca11 rsp=true', 'back with rsi=42', 'exit 4 rdi=0xd0e rsp=true']);
  });

  it('a handler returning a leaf other than EENTER/ERESUME ends the call with −EINVAL; an unknown handler address is SIGSEGV', () => {
    const { m, e, enter } = setup();
    const bad = m.libc.functionPointer(() => 9);
    assert.equal(enter(0, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base, bad)), -ERRNO.EINVAL);
    assert.throws(() => enter(0, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base, 0x0060_0000)), (x: unknown) => x instanceof LinuxSignal && x.code === 'SIGSEGV');
    // The TCS is free again afterwards.
    assert.equal(enter(0, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
  });

  it('an error thrown by a user handler reaches the caller, and the TCS is free again', () => {
    const { m, e, enter } = setup();
    const h = m.libc.functionPointer(() => {
      throw new RangeError('handler bug');
    });
    assert.throws(() => enter(0, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base, h)), RangeError);
    assert.equal(enter(0, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
  });
});

describe('vDSO: faults on Linux', () => {
  it('pte_permissions: a write to a page mprotected read-only gives vector 14, error code 0x7, the page address; after mprotect back, ERESUME succeeds', () => {
    const { m, e, enter } = setup();
    const data = e.base + 0x4000;
    assert.equal(m.libc.mprotect(data, 4096, PROT_READ), 0);
    const { run, r, writes } = writeOnTcs0(m, e, enter, data + 8);
    assert.equal(r.function, ERESUME);
    assert.equal(r.exception_vector, VECTOR.PF);
    assert.equal(r.exception_error_code, PFEC.P | PFEC.W | PFEC.US);
    assert.equal(r.exception_addr, BigInt(data));
    assert.equal(writes(), 0);
    assert.equal(m.libc.mprotect(data, 4096, PROT_READ | PROT_WRITE), 0);
    assert.equal(enter(0, 0, 0, ERESUME, 0, 0, run), 0);
    assert.equal(readRun(m.libc, run).function, EEXIT);
    assert.equal(writes(), 1);
  });

  it('L12 / epcm_permissions: after RESTRICT_PERMISSIONS to R and EACCEPT, a write gives 0x8007; EMODPE from the other TCS and ERESUME finish it', () => {
    const { m, e, enter } = setup();
    const data = e.base + 0x4000;
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrict(m, 0x4000, 1), 'RESTRICT');
    const accept = m.engine.on((ctx) => {
      assert.equal(ctx.eaccept(secinfoIn(ctx, e, (PT.REG << 8) | 0x20 | 1), data), SGX.SUCCESS); // PR | R
      return ctx.regs.rcx;
    });
    assert.equal(enter(accept, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
    const { run, r, writes } = writeOnTcs0(m, e, enter, data);
    assert.equal(r.function, ERESUME, 'L12');
    assert.equal(r.exception_vector, VECTOR.PF);
    assert.equal(r.exception_error_code, 0x8007);
    assert.equal(r.exception_addr, BigInt(data));
    const extend = m.engine.on((ctx) => {
      const si = e.base + 0x3800; // (TCS 1's SSA page)
      const b = new Uint8Array(64);
      b[0] = 3;
      b[1] = PT.REG;
      ctx.write(si, b);
      ctx.emodpe(si, data);
      return ctx.regs.rcx;
    });
    assert.equal(enter(extend, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base + 0x1000)), 0);
    assert.equal(enter(0, 0, 0, ERESUME, 0, 0, run), 0);
    assert.equal(writes(), 1);
  });

  it('RESTRICT_PERMISSIONS IPIs the processors inside the enclave after its ETRACK (sgx_enclave_etrack): a thread inside takes an AEX at its next window', () => {
    const { m, e, enter } = setup();
    let pendingAfter = false;
    const inside = m.engine.on((ctx) => {
      // (The model's way to have the kernel act while this thread is inside: its own code calls the host.)
      const arg = restrict(m, 0x4000, 1);
      assert.equal(m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, arg), 0);
      pendingAfter = m.p.processor.lps[1]!.interruptPending;
      ctx.step();
      return ctx.regs.rcx;
    });
    assert.equal(enter(inside, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base), 1), 0);
    assert.equal(pendingAfter, true, 'the IPI');
    const info = m.p.processor.inspect.enclaves().find((x) => x.baseAddr === e.base)!;
    assert.equal(info.tcs.find((t) => t.linAddr === e.base)!.aexCount, 1, 'taken at the step');
  });

  it('augment: a write to a hole mapped RWX makes the kernel EAUG it; the access faults 0x8007 until the enclave accepts it', () => {
    const { m, e, enter } = setup();
    const hole = e.base + 0x8000;
    assert.equal(m.libc.mmap(hole, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED | MAP_FIXED, e.fd, 0), hole);
    const enc = m.p.kernel.enclaves[0]!;
    const { run, r, writes } = writeOnTcs0(m, e, enter, hole);
    assert.equal(r.function, ERESUME);
    assert.equal(r.exception_error_code, 0x8007, 'PENDING page');
    assert.ok(enc.pages.has(hole), 'EAUGed');
    const accept = m.engine.on((ctx) => {
      assert.equal(ctx.eaccept(secinfoIn(ctx, e, (PT.REG << 8) | 0x8 | 3), hole), SGX.SUCCESS); // PENDING | RW
      return ctx.regs.rcx;
    });
    assert.equal(enter(accept, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base + 0x1000)), 0);
    assert.equal(enter(0, 0, 0, ERESUME, 0, 0, run), 0);
    assert.equal(writes(), 1);
  });

  it('a write to a hole mapped read-only is no EAUG (access_error: a write needs VM_WRITE): error code 0x6, no page added', () => {
    const { m, e, enter } = setup();
    const hole = e.base + 0x8000;
    assert.equal(m.libc.mmap(hole, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), hole);
    const free = m.p.processor.inspect.freeEpcPages;
    const fn = m.engine.on((ctx) => {
      ctx.write(hole, new Uint8Array([1]));
      return ctx.regs.rcx;
    });
    m.engine.resumeFn = (ctx) => ctx.regs.rcx;
    const run = runStruct(m.libc, e.base);
    assert.equal(enter(fn, 0, 0, EENTER, 0, 0, run), 0);
    const r = readRun(m.libc, run);
    assert.equal(r.exception_vector, VECTOR.PF);
    assert.equal(r.exception_error_code, PFEC.W | PFEC.US);
    assert.equal(m.p.kernel.enclaves[0]!.pages.has(hole), false);
    assert.equal(m.p.processor.inspect.freeEpcPages, free);
    // A read there is an EAUG (PENDING: the enclave's EPCM fault follows). (TCS 1: TCS 0's one SSA frame holds the fault above.)
    const rd = m.engine.on((ctx) => {
      ctx.read(hole, 1);
      return ctx.regs.rcx;
    });
    const run2 = runStruct(m.libc, e.base + 0x1000);
    assert.equal(enter(rd, 0, 0, EENTER, 0, 0, run2), 0);
    assert.equal(readRun(m.libc, run2).exception_error_code, PFEC.SGX | PFEC.P | PFEC.US);
    assert.ok(m.p.kernel.enclaves[0]!.pages.has(hole));
    // RESTRICT_PERMISSIONS of that PENDING page: EMODPR's SGX_PAGE_NOT_MODIFIABLE in result, EFAULT.
    const arg = restrict(m, 0x8000, 1);
    assert.equal(m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, arg), -1);
    assert.equal(m.libc.errno, ERRNO.EFAULT);
    const back = sgx_enclave_restrict_permissions.decode(m.libc.read(arg, 40));
    assert.equal(back.result, BigInt(SGX.PAGE_NOT_MODIFIABLE));
    assert.equal(back.count, 0n);
  });

  it('augment_via_eaccept: EACCEPT of a hole is resolved by the kernel (EAUG on the #PF) and succeeds; on SGX1 the hole stays a #PF', () => {
    const { m, e, enter } = setup();
    const hole = e.base + 0x9000;
    assert.equal(m.libc.mmap(hole, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, e.fd, 0), hole);
    let st = -1;
    const fn = m.engine.on((ctx) => {
      st = ctx.eaccept(secinfoIn(ctx, e, (PT.REG << 8) | 0x8 | 3), hole);
      return ctx.regs.rcx;
    });
    assert.equal(enter(fn, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
    assert.equal(st, SGX.SUCCESS);
    const s1 = setup('linux-sgx1');
    assert.equal(s1.m.libc.mmap(s1.e.base + 0x9000, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, s1.e.fd, 0), s1.e.base + 0x9000);
    const w = s1.m.engine.on((ctx) => {
      ctx.write(s1.e.base + 0x9000, new Uint8Array([1]));
      return ctx.regs.rcx;
    });
    const run = runStruct(s1.m.libc, s1.e.base);
    assert.equal(s1.enter(w, 0, 0, EENTER, 0, 0, run), 0);
    const r = readRun(s1.m.libc, run);
    assert.equal(r.exception_vector, VECTOR.PF, 'SIGBUS on hardware: the fault stays unresolved');
    assert.equal(s1.m.p.kernel.enclaves[0]!.pages.has(s1.e.base + 0x9000), false);
  });

  it('tcs_create: an EAUGed page made a TCS (MODIFY_TYPES) and accepted is entered; TRIM, EACCEPT and REMOVE give it back', () => {
    const { m, e, enter } = setup();
    const at = e.base + 0xa000;
    assert.equal(m.libc.mmap(at, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, e.fd, 0), at);
    // The enclave accepts a new page (EAUG through its own EACCEPT) and writes a TCS image in it.
    const build = m.engine.on((ctx) => {
      assert.equal(ctx.eaccept(secinfoIn(ctx, e, (PT.REG << 8) | 0x8 | 3), at), SGX.SUCCESS);
      ctx.write(at, TCS.encode({ OSSA: 0x3000n, NSSA: 1, OENTRY: 0x5000n }));
      return ctx.regs.rcx;
    });
    assert.equal(enter(build, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
    const arg = modify(m, 0xa000, 4096, PT.TCS);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, arg, 'MODIFY_TYPES TCS');
    assert.equal(sgx_enclave_modify_types.decode(m.libc.read(arg, 40)).count, 4096n);
    const accept = m.engine.on((ctx) => {
      assert.equal(ctx.eaccept(secinfoIn(ctx, e, (PT.TCS << 8) | 0x10), at), SGX.SUCCESS); // MODIFIED, PT_TCS
      return ctx.regs.rcx;
    });
    assert.equal(enter(accept, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
    // Entered through the new TCS (its PTE was zapped by the ioctl: the kernel maps it again on EENTER's fault).
    let viaNew = 0;
    const fn = m.engine.on((ctx) => {
      viaNew = ctx.tcsAddress;
      return ctx.regs.rcx;
    });
    assert.equal(enter(fn, 0, 0, EENTER, 0, 0, runStruct(m.libc, at)), 0);
    assert.equal(viaNew, at);
    // Trim it, accept the trim, remove it.
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, modify(m, 0xa000, 4096, PT.TRIM), 'TRIM');
    const trim = m.engine.on((ctx) => {
      assert.equal(ctx.eaccept(secinfoIn(ctx, e, (PT.TRIM << 8) | 0x10), at), SGX.SUCCESS);
      return ctx.regs.rcx;
    });
    assert.equal(enter(trim, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
    const rm = remove(m, 0xa000, 4096);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, rm, 'REMOVE');
    assert.equal(sgx_enclave_remove_pages.decode(m.libc.read(rm, 24)).count, 4096n);
    assert.equal(m.p.kernel.enclaves[0]!.pages.has(at), false);
  });

  it('remove_added_page_invalid_access: a read of a trimmed page gives ERESUME, vector 14, error code 0x8005 (before and after EACCEPT)', () => {
    const { m, e, enter } = setup();
    const data = e.base + 0x4000;
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, modify(m, 0x4000, 4096, PT.TRIM), 'TRIM');
    const read = m.engine.on((ctx) => {
      ctx.read(data, 4);
      return ctx.regs.rcx;
    });
    m.engine.resumeFn = (ctx) => ctx.regs.rcx;
    const run = runStruct(m.libc, e.base);
    assert.equal(enter(read, 0, 0, EENTER, 0, 0, run), 0);
    let r = readRun(m.libc, run);
    assert.equal(r.function, ERESUME);
    assert.equal(r.exception_vector, VECTOR.PF);
    assert.equal(r.exception_error_code, 0x8005);
    const accept = m.engine.on((ctx) => {
      assert.equal(ctx.eaccept(secinfoIn(ctx, e, (PT.TRIM << 8) | 0x10), data), SGX.SUCCESS);
      return ctx.regs.rcx;
    });
    assert.equal(enter(accept, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base + 0x1000)), 0);
    const run2 = runStruct(m.libc, e.base + 0x1000);
    assert.equal(enter(read, 0, 0, EENTER, 0, 0, run2), 0);
    r = readRun(m.libc, run2);
    assert.equal(r.exception_error_code, 0x8005);
  });

  it('an evicted page is loaded back on the enclave\'s touch (reclaim), through the vDSO', () => {
    const m = linuxFor('linux-sgx2', { epcReclaim: true });
    const e = buildLinux(m, 'initialized');
    const enter = m.libc.vdsoSym('__vdso_sgx_enter_enclave')!;
    const enc = m.p.kernel.enclaves[0]!;
    assert.equal(m.p.kernel.pager.evict(enc, e.base + 0x4000), 'evicted');
    let first = -1;
    const fn = m.engine.on((ctx) => {
      first = ctx.read(e.base + 0x4000, 1)[0]!;
      return ctx.regs.rcx;
    });
    const run = runStruct(m.libc, e.base);
    assert.equal(enter(fn, 0, 0, EENTER, 0, 0, run), 0);
    assert.equal(readRun(m.libc, run).function, EEXIT);
    assert.equal(first, 'linux data'.charCodeAt(0));
    assert.equal(m.p.kernel.pager.stats.faults, 1);
  });

  it('EENTER gives the enclave the address after the vDSO\'s ENCLU (3 bytes) in RCX', () => {
    const { m, e, enter } = setup();
    let aep = 0;
    const fn = m.engine.on((ctx) => {
      aep = ctx.regs.rcx;
      return ctx.regs.rcx;
    });
    assert.equal(enter(fn, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
    assert.equal(aep, VDSO_AEP + 3);
  });
});

describe('Linux: mappings and paging together (adversarial review)', () => {
  it('munmap of ELRANGE forgets the flags of an evicted page: loaded back later (an SGX2 ioctl), it is not mapped into what now lies there', () => {
    const m = linuxFor('linux-sgx2', { epcReclaim: true });
    const e = buildLinux(m);
    const enc = m.p.kernel.enclaves[0]!;
    const la = e.base + 0x4000;
    assert.equal(m.p.kernel.pager.evict(enc, la), 'evicted');
    assert.equal(m.libc.munmap(e.base, e.layout.size), 0);
    const anon = m.libc.mmap(la, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    assert.equal(anon, la);
    m.libc.write(la, new TextEncoder().encode('host data'));
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrict(m, 0x4000, 1), 'RESTRICT (loads the page back)');
    assert.equal(new TextDecoder().decode(m.libc.read(la, 9)), 'host data');
    assert.equal(m.libc.close(e.fd), 0);
    assert.equal(enc.state, 'deleted');
    const pte = m.p.process.pageTable.lookup(la / 4096);
    assert.ok(pte && pte.pfn * 4096 < m.p.processor.epcBase, 'the PTE is the anonymous page\'s');
  });

  it('a write fault on an evicted page in a read-only mapping is access_error\'s: nothing is loaded back, the host gets the #PF (0x6); a read loads it', () => {
    const m = linuxFor('linux-sgx2', { epcReclaim: true });
    const e = buildLinux(m);
    const enc = m.p.kernel.enclaves[0]!;
    const enter = m.libc.vdsoSym('__vdso_sgx_enter_enclave')!;
    const la = e.base + 0x4000;
    assert.equal(m.libc.mprotect(la, 4096, PROT_READ), 0);
    assert.equal(m.p.kernel.pager.evict(enc, la), 'evicted');
    const loaded = m.p.kernel.pager.stats.loaded;
    m.engine.resumeFn = (ctx) => ctx.regs.rcx;
    const w = m.engine.on((ctx) => {
      ctx.write(la, new Uint8Array([1]));
      return ctx.regs.rcx;
    });
    const run = runStruct(m.libc, e.base);
    assert.equal(enter(w, 0, 0, EENTER, 0, 0, run), 0);
    const r = readRun(m.libc, run);
    assert.equal(r.exception_vector, VECTOR.PF);
    assert.equal(r.exception_error_code, PFEC.W | PFEC.US);
    assert.equal(m.p.kernel.pager.stats.loaded, loaded);
    assert.ok(enc.evicted.has(la));
    const rd = m.engine.on((ctx) => {
      ctx.read(la, 1);
      return ctx.regs.rcx;
    });
    assert.equal(enter(rd, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base + 0x1000)), 0);
    assert.equal(m.p.kernel.pager.stats.loaded, loaded + 1);
  });

  it('two enclaves of one process at the same addresses (CREATE reserves nothing): the pager and the fault handler touch only the mapped one\'s PTEs', () => {
    const m = linuxFor('linux-sgx2', { epcReclaim: true });
    const { base, A, B } = twoEnclavesAtOneAddress(m);
    const la = base + 0x4000;
    const enter = m.libc.vdsoSym('__vdso_sgx_enter_enclave')!;
    let first = -1;
    const read = m.engine.on((ctx) => {
      first = ctx.read(la, 1)[0]!;
      return ctx.regs.rcx;
    });
    assert.equal(m.p.kernel.pager.evict(A, la), 'evicted');
    assert.equal(m.p.process.pageTable.lookup(la / 4096)!.pfn * 4096, B.pages.get(la), 'B\'s PTE stays');
    const run = runStruct(m.libc, base);
    assert.equal(enter(read, 0, 0, EENTER, 0, 0, run), 0);
    assert.equal(readRun(m.libc, run).function, EEXIT);
    assert.equal(first, 'linux data'.charCodeAt(0));
    // B's page evicted and touched: B's comes back (not A's, still evicted).
    assert.equal(m.p.kernel.pager.evict(B, la), 'evicted');
    assert.equal(enter(read, 0, 0, EENTER, 0, 0, runStruct(m.libc, base)), 0);
    assert.equal(m.p.process.pageTable.lookup(la / 4096)!.pfn * 4096, B.pages.get(la));
    assert.ok(A.evicted.has(la));
  });

  it('a fault on a page left blocked by an eviction that could not finish is not "resolved" (no livelock): the #PF reaches the host', { timeout: 60_000 }, () => {
    const m = linuxFor('linux-sgx2', { epcReclaim: true });
    const e = buildLinux(m);
    const enc = m.p.kernel.enclaves[0]!;
    const enter = m.libc.vdsoSym('__vdso_sgx_enter_enclave')!;
    const la = e.base + 0x4000;
    const reader = m.engine.on((ctx) => {
      ctx.read(la, 1);
      return ctx.regs.rcx;
    });
    m.engine.resumeFn = (ctx) => ctx.regs.rcx;
    let inner: ReturnType<typeof readRun> | null = null;
    let busy = '';
    const outer = m.engine.on((ctx) => {
      busy = m.p.kernel.pager.evict(enc, la); // (this thread is inside: the eviction cannot finish)
      const run = runStruct(m.libc, e.base + 0x1000);
      assert.equal(enter(reader, 0, 0, EENTER, 0, 0, run, 0), 0);
      inner = readRun(m.libc, run);
      return ctx.regs.rcx;
    });
    assert.equal(enter(outer, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base), 1), 0);
    assert.equal(busy, 'busy');
    assert.ok(inner);
    assert.equal((inner as ReturnType<typeof readRun>).function, ERESUME);
    assert.equal((inner as ReturnType<typeof readRun>).exception_vector, VECTOR.PF);
  });

  it('MODIFY_TYPES to TCS zaps only its own enclave\'s PTE, not the one another enclave has mapped at the same address', () => {
    const m = linuxFor('linux-sgx2');
    const { base, fdA } = twoEnclavesAtOneAddress(m);
    const la = base + 0x4000;
    const before = m.p.process.pageTable.entry(la / 4096);
    assert.ok(before >= 0);
    ioctlOk(m.libc, fdA, SGX_IOC.ENCLAVE_MODIFY_TYPES, modify(m, 0x4000, 4096, PT.TCS), 'A: MODIFY_TYPES TCS');
    assert.equal(m.p.process.pageTable.entry(la / 4096), before, 'B\'s PTE stays');
  });

  it('a failing MAP_FIXED mmap (ENOMEM: more RAM than there is) changes nothing: the old mappings, and the enclave they keep alive, stay', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m);
    assert.equal(m.libc.close(e.fd), 0);
    const regions = m.p.process.regions.length;
    const huge = 2 ** 40;
    assert.equal(m.libc.mmap(e.base, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), -1);
    assert.equal(m.libc.errno, ERRNO.ENOMEM);
    assert.equal(m.p.process.regions.length, regions);
    assert.equal(m.p.kernel.enclaves[0]!.state, 'initialized');
  });

  it('mprotect that runs out of RAM on a mapping leaves that mapping as it was (the ones before it changed)', () => {
    const m = linuxFor('linux-sgx2');
    const a = m.libc.mmap(0x4000_0000, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    const b = m.libc.mmap(0x4000_1000, 2 ** 36, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
    assert.deepEqual([a, b], [0x4000_0000, 0x4000_1000]);
    assert.equal(m.libc.mprotect(a, 4096 + 2 ** 36, PROT_READ | PROT_WRITE), -1);
    assert.equal(m.libc.errno, ERRNO.ENOMEM);
    assert.equal((m.p.process.regionAt(a)!.owner as { prot: number }).prot, PROT_READ | PROT_WRITE);
    assert.equal((m.p.process.regionAt(b)!.owner as { prot: number }).prot, PROT_NONE);
  });

  it('a user handler that returns no number is a typed error (OsError BAD_HANDLER_RESULT), the TCS free again', () => {
    const { m, e, enter } = setup();
    for (const bad of [1n, Symbol('x'), {}, '2']) {
      const h = m.libc.functionPointer((() => bad) as unknown as Parameters<typeof m.libc.functionPointer>[0]);
      assert.throws(() => enter(0, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base, h)), (x: unknown) => x instanceof OsError && x.code === 'BAD_HANDLER_RESULT');
    }
    assert.equal(enter(0, 0, 0, EENTER, 0, 0, runStruct(m.libc, e.base)), 0);
  });
});
