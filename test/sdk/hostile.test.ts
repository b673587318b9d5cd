/**
 * A hostile host: marshalling structures written by hand into untrusted memory and entered with
 * ENCLU[EENTER] directly (no HostEnclave), with pointers into or across the enclave, lengths that
 * wrap or exceed the sanity limit, the ms or the scratch area inside the enclave, strings that run
 * into the enclave, bad ECALL indices and private ECALLs. Every case must come back as an ordinary
 * EEXIT (RDI = EXIT_ECALL_RETURN) with the exact sgx_status_t in RAX, without the ECALL's body
 * having run and without a byte of enclave memory changed (checked afterwards with normal ECALLs of
 * the marshal fixture: its call counter, its log, and a 256-byte secret).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { u64le, toHex } from '../../src/lib/index.js';
import { EXIT_ECALL_RETURN, ECMD_ORET, MAX_BUFFER, MAX_STRING, type HostEnclave } from '../../src/sdk/index.js';
import { ArchError, ENCLU, newRegisters, type ExitInfo, type Registers } from '../../src/arch/index.js';
import type { Platform } from '../../src/platform/index.js';
import {
  newPlatform, loadFixture, readLog, calls, untrusted, ecallPlan, writeMs, rawEnter, linearOf, STATUS, statusName, type LogRecord,
} from '../helpers/sdk.js';

let p: Platform;
let e: HostEnclave;
let U: number; // untrusted: ms at +0, buffers at +0x1000, scratch at +0x8000
let base: number, size: number, secret: number;
const MS = 0, BUF = 0x1000, SCRATCH = 0x8000;
const TWO64 = 2n ** 64n;

before(() => {
  p = newPlatform();
  e = loadFixture(p, 'marshal');
  U = untrusted(p, 0x10000, 0x4000_0000);
  base = e.base;
  size = e.size;
  secret = linearOf(e, e.ecall('ecall_secret_addr') as number);
  assert.ok(secret > base && secret + 256 < base + size);
  p.process.write(U + BUF, new Uint8Array(0x1000).fill(0x41));
});
after(() => e.destroy());

interface Snapshot {
  readonly calls: number;
  readonly log: LogRecord[];
}
const snapshot = (): Snapshot => ({ calls: calls(e), log: readLog(e) });

/** The enclave is as it was: the refused ECALL's body did not run, the secret is intact. */
function assertUntouched(s: Snapshot): void {
  assert.equal(calls(e), s.calls, 'the ECALL body ran');
  assert.deepEqual(readLog(e), s.log, 'the log changed');
  assert.equal(e.ecall('ecall_secret_check'), 0, 'the enclave\'s secret changed');
}

interface Raw {
  ms?: number;
  scratch?: number;
  scratchSize?: number;
  index?: number;
  onExit?: (x: ExitInfo, r: Registers) => number;
}

/** Enter `name` with `slots` in the ms; the entry must end in an ordinary EEXIT. Returns RAX. */
function hostile(name: string, slots: readonly (number | bigint)[], o: Raw = {}): number {
  const ms = o.ms ?? U + MS;
  if (o.ms === undefined) writeMs(p, ms, slots);
  const exits: ExitInfo[] = [];
  const { exit, regs } = rawEnter(p, e, {
    index: o.index ?? ecallPlan(e, name).index, ms, scratch: o.scratch ?? U + SCRATCH, scratchSize: o.scratchSize ?? 0x8000,
    handler: (x, r) => {
      if (x.reason === 'eexit' && r.rdi === EXIT_ECALL_RETURN) return 0; // the final exit: back to the caller
      exits.push(x);
      return o.onExit ? o.onExit(x, r) : 0;
    },
  });
  assert.equal(exit.reason, 'eexit', `the entry ended with ${exit.reason} ${exit.detail ?? ''}`);
  assert.equal(regs.rdi, EXIT_ECALL_RETURN, `RDI = 0x${regs.rdi.toString(16)}`);
  assert.deepEqual(exits.map((x) => x.reason), [], 'no intermediate exit (OCALL, AEX) expected');
  return regs.rax;
}

function expectRefused(name: string, slots: readonly (number | bigint)[], status: number, o: Raw = {}): void {
  const s = snapshot();
  const got = hostile(name, slots, o);
  assert.equal(got, status, `expected ${statusName(status)}, got ${statusName(got)}`);
  assertUntouched(s);
}

describe('sanity: the same raw entries succeed with honest arguments', () => {
  test('[in, size=n] from untrusted memory', () => {
    const before = calls(e);
    assert.equal(hostile('ecall_in_size', [U + BUF, 16]), STATUS.SUCCESS);
    assert.equal(calls(e), before + 1);
    assert.equal(u64le(p.process.read(U + MS + 16, 8), 0), 16n);
  });

  test('buffers that end exactly at the start of ELRANGE, or begin exactly at its end, are outside', () => {
    const below = untrusted(p, 0x10000, base - 0x10000);
    const above = untrusted(p, 0x10000, base + size);
    p.process.write(base - 16, new Uint8Array(16).fill(0x42));
    assert.equal(hostile('ecall_in_size', [base - 16, 16]), STATUS.SUCCESS);
    assert.deepEqual(readLog(e)[0]!.bytes, new Uint8Array(16).fill(0x42));
    assert.equal(hostile('ecall_out_size', [base + size, 16, 1]), STATUS.SUCCESS);
    assert.equal(p.process.read(base + size, 16)[15], (1 + 7 * 15) & 0xff);
    // A string whose terminator is the last byte before the enclave.
    const s = new TextEncoder().encode('just below\0');
    p.process.write(base - s.length, s);
    assert.equal(hostile('ecall_in_string', [base - s.length]), STATUS.SUCCESS);
    assert.deepEqual(readLog(e)[0]!.bytes, s);
    assert.equal(e.ecall('ecall_secret_check'), 0);
    p.kernel32.VirtualFree(below, 0, 0x8000);
    p.kernel32.VirtualFree(above, 0, 0x8000);
  });
});

describe('buffer pointers that reach into the enclave', () => {
  const cases: [string, () => [number | bigint, number]][] = [
    ['wholly inside (the secret)', () => [secret, 16]],
    ['inside, running past the end of ELRANGE', () => [base + size - 8, 16]],
    ['straddling the start of ELRANGE', () => [base - 8, 16]],
    ['straddling the end of ELRANGE', () => [base + size - 1, 2]],
    ['the first byte of ELRANGE', () => [base, 1]],
    ['the last byte of ELRANGE', () => [base + size - 1, 1]],
    ['covering all of ELRANGE', () => [base - 0x1000, size + 0x2000]],
  ];
  for (const [what, args] of cases) {
    for (const name of ['ecall_in_size', 'ecall_out_size', 'ecall_inout_size']) {
      test(`${name}: ${what} → INVALID_PARAMETER`, () => {
        const [ptr, n] = args();
        expectRefused(name, name === 'ecall_out_size' ? [ptr, n, 0x66] : [ptr, n], STATUS.INVALID_PARAMETER);
      });
    }
  }

  test('[in] int32_t * and [in, count=n] into the enclave → INVALID_PARAMETER', () => {
    expectRefused('ecall_in_i32', [secret], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_out_i32', [secret + 4, 7], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_count64', [base - 8, 2], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_array', [base + size - 4], STATUS.INVALID_PARAMETER);
  });
});

describe('addresses and lengths that wrap or exceed the limits', () => {
  test('a pointer near 2^64 whose end wraps around into the enclave', () => {
    const ptr = TWO64 - 0x100n;
    const n = 0x100 + (secret - 0) + 0x10; // (ptr + n) mod 2^64 = secret + 0x10
    assert.ok(n < MAX_BUFFER);
    expectRefused('ecall_in_size', [ptr, n], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_out_size', [ptr, n, 1], STATUS.INVALID_PARAMETER);
  });

  test('pointers at and beyond 2^53 (the model\'s address limit) and in the upper canonical half', () => {
    expectRefused('ecall_in_size', [2 ** 53 - 8, 16], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_size', [2n ** 53n, 1], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_size', [0xffff_8000_0000_0000n + BigInt(secret), 16], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_string', [TWO64 - 1n], STATUS.INVALID_PARAMETER);
  });

  test('a length above MAX_BUFFER', () => {
    expectRefused('ecall_in_size', [U + BUF, MAX_BUFFER + 1], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_out_size', [U + BUF, 0xffffffff, 1], STATUS.INVALID_PARAMETER);
  });

  test('count × element size above MAX_BUFFER, or wrapping in 32-bit arithmetic (size_t count)', () => {
    expectRefused('ecall_in_count64', [U + BUF, MAX_BUFFER / 8 + 1], STATUS.INVALID_PARAMETER);
    // (2^29 + 1) × 8 = 2^32 + 8 ≡ 8 in u32: a bridge that multiplies in 32 bits would copy 8 bytes.
    expectRefused('ecall_in_count64', [U + BUF, 2 ** 29 + 1], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_count32', [U + BUF, 2 ** 30 + 1], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_size_count', [U + BUF, 0xffffffff], STATUS.INVALID_PARAMETER);
  });

  test('a 64-bit count whose product wraps in 64-bit arithmetic', () => {
    // 2^61 × 8 = 2^64 ≡ 0: a bridge that multiplies in u64 would copy nothing and call the body.
    expectRefused('ecall_in_count64_wide', [U + BUF, 2n ** 61n], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_count64_wide', [U + BUF, 2n ** 61n + 1n], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_count64_wide', [U + BUF, TWO64 - 1n], STATUS.INVALID_PARAMETER);
  });

  test('bits of a size_t count beyond its 32-bit width: the bridge and the body agree on the length', () => {
    // The slot carries 2^61 + 2; the enclave's size_t sees 2. Either the call is refused, or exactly
    // the 16 bytes of 2 elements are copied and the body sees n = 2.
    const s = snapshot();
    const st = hostile('ecall_in_count64', [U + BUF, 2n ** 61n + 2n]);
    if (st === STATUS.SUCCESS) {
      assert.equal(u64le(p.process.read(U + MS + 16, 8), 0) & 0xffffffffn, 2n);
      assert.deepEqual(readLog(e), [{ kind: 1, bytes: p.process.read(U + BUF, 16) }]);
    } else {
      assert.equal(st, STATUS.INVALID_PARAMETER, statusName(st));
      assertUntouched(s);
    }
  });

  test('a sane length that the enclave heap cannot hold → OUT_OF_MEMORY', () => {
    // 1 GiB is within MAX_BUFFER and the range is outside the enclave; the 1 MiB heap cannot hold the copy.
    expectRefused('ecall_out_size', [0x1_0000_0000, MAX_BUFFER, 1], STATUS.OUT_OF_MEMORY);
  });
});

describe('the marshalling structure and the scratch area', () => {
  const f = (name: string) => ecallPlan(e, name);

  test('an ms inside the enclave (on the secret) → INVALID_PARAMETER, and nothing written there', () => {
    expectRefused('ecall_ret_i32', [], STATUS.INVALID_PARAMETER, { ms: secret });
    expectRefused('ecall_void', [], STATUS.INVALID_PARAMETER, { ms: secret + 128 });
  });

  test('an ms straddling the start or the end of ELRANGE, at 0, or beyond 2^53 → INVALID_PARAMETER', () => {
    const slots = f('ecall_in_size').params.length + 1;
    expectRefused('ecall_in_size', [], STATUS.INVALID_PARAMETER, { ms: base - 8 * slots + 8 });
    expectRefused('ecall_in_size', [], STATUS.INVALID_PARAMETER, { ms: base + size - 8 });
    expectRefused('ecall_ret_i32', [], STATUS.INVALID_PARAMETER, { ms: 0 });
    expectRefused('ecall_ret_i32', [], STATUS.INVALID_PARAMETER, { ms: 2 ** 53 - 8 });
  });

  test('a scratch area inside or across the enclave, or wrapping → INVALID_PARAMETER (and no OCALL is made)', () => {
    expectRefused('ecall_ocall_big', [16], STATUS.INVALID_PARAMETER, { scratch: secret, scratchSize: 256 });
    expectRefused('ecall_ocall_big', [16], STATUS.INVALID_PARAMETER, { scratch: base - 0x100, scratchSize: 0x200 });
    expectRefused('ecall_ocall_big', [16], STATUS.INVALID_PARAMETER, { scratch: base + size - 0x10, scratchSize: 0x100 });
    expectRefused('ecall_ocall_big', [16], STATUS.INVALID_PARAMETER, { scratch: U + SCRATCH, scratchSize: 2 ** 53 });
    // Even an ECALL that makes no OCALL refuses a bad scratch area.
    expectRefused('ecall_void', [], STATUS.INVALID_PARAMETER, { scratch: secret, scratchSize: 8 });
  });

  test('the ms is read once: the return value goes to the ms the enclave validated', () => {
    p.process.write(U + MS, new Uint8Array(64).fill(0x5c));
    writeMs(p, U + MS, [-5]);
    p.process.write(U + MS + 8, new Uint8Array(8).fill(0x5c));
    const before = p.process.read(U + MS, 64);
    assert.equal(hostile('ecall_ret_i32', [], { ms: U + MS }), STATUS.SUCCESS);
    const after = p.process.read(U + MS, 64);
    assert.equal(toHex(after.subarray(0, 8)), toHex(before.subarray(0, 8)), 'the argument slot is not written');
    assert.equal(BigInt.asIntN(32, u64le(after, 8)), -5n);
    assert.equal(toHex(after.subarray(16)), toHex(before.subarray(16)), 'nothing after the return slot');
  });
});

describe('strings', () => {
  test('a string pointer inside the enclave → INVALID_PARAMETER', () => {
    expectRefused('ecall_in_string', [secret], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_in_wstring', [secret], STATUS.INVALID_PARAMETER);
    expectRefused('ecall_inout_string', [base + size - 1], STATUS.INVALID_PARAMETER);
  });

  test('a string whose terminator is never found before the enclave (it runs into ELRANGE) → INVALID_PARAMETER', () => {
    const below = untrusted(p, 0x10000, base - 0x10000);
    try {
      p.process.write(below, new Uint8Array(0x10000).fill(0x41));
      for (const start of [base - 1, base - 100, base - 300, base - 0x10000]) {
        expectRefused('ecall_in_string', [start], STATUS.INVALID_PARAMETER);
        expectRefused('ecall_inout_string', [start], STATUS.INVALID_PARAMETER);
      }
      // A wstring whose terminator would be the first code unit inside the enclave.
      expectRefused('ecall_in_wstring', [base - 64], STATUS.INVALID_PARAMETER);
      // A wstring with a 3-byte run of zeros just before the enclave is not terminated (units are 4 bytes).
      p.process.write(base - 3, new Uint8Array(3));
      expectRefused('ecall_in_wstring', [base - 64], STATUS.INVALID_PARAMETER);
    } finally {
      p.kernel32.VirtualFree(below, 0, 0x8000);
    }
  });

  test('a string longer than MAX_STRING → INVALID_PARAMETER', () => {
    const n = MAX_STRING + 0x10000;
    const at = untrusted(p, n + 0x1000, 0x8000_0000);
    try {
      p.process.write(at, new Uint8Array(n).fill(0x42));
      expectRefused('ecall_in_string', [at], STATUS.INVALID_PARAMETER);
    } finally {
      p.kernel32.VirtualFree(at, 0, 0x8000);
    }
  });
});

describe('ECALL indices and privileges', () => {
  test('an index past the last ECALL → INVALID_FUNCTION', () => {
    const n = e.plan.ecalls.length;
    for (const index of [n, n + 1, 0x7fffffff, 0xfffffff0]) expectRefused('ecall_void', [], STATUS.INVALID_FUNCTION, { index });
  });

  test('ECMD_ORET with no OCALL in progress → INVALID_FUNCTION', () => {
    expectRefused('ecall_void', [], STATUS.INVALID_FUNCTION, { index: ECMD_ORET });
  });

  test('a private ECALL entered from the top level → ECALL_NOT_ALLOWED', () => {
    const f = ecallPlan(e, 'ecall_private_poke');
    assert.equal(f.public, false);
    expectRefused('ecall_private_poke', [], STATUS.ECALL_NOT_ALLOWED);
  });

  test('the enclave still works normally afterwards, on both TCSs', () => {
    assert.equal(e.ecall('ecall_ret_i32', [-7]), -7);
    assert.equal(hostile('ecall_ret_i32', [9]), STATUS.SUCCESS);
    writeMs(p, U + MS, [11]);
    const { regs } = rawEnter(p, e, { index: ecallPlan(e, 'ecall_ret_i32').index, ms: U + MS, scratch: U + SCRATCH, scratchSize: 0x100, tcs: e.tcs[1]! });
    assert.equal(regs.rax, STATUS.SUCCESS);
    assert.equal(u64le(p.process.read(U + MS + 8, 8), 0) & 0xffffffffn, 11n);
    assert.equal(e.ecall('ecall_secret_check'), 0);
  });
});

describe('registers that hold no number', () => {
  const AEP = 0x7ffe_0000_2000;
  /** EENTER the marshal fixture's `name` with the ms at U (no slots) and register `k` replaced by `v`. */
  function enterWith(name: string, k: keyof Registers, v: unknown, handler: ((x: ExitInfo, r: Registers) => number) | null = null): { exit: ExitInfo; regs: Registers } {
    writeMs(p, U + MS, []);
    const regs = newRegisters({ rbx: e.tcs[0]!, rcx: AEP, rdi: ecallPlan(e, name).index, rsi: U + MS, r8: U + SCRATCH, r9: 0x8000, rip: 0x7ffe_0000_0ff0, rsp: 0x7ffe_ff00_0000, rbp: 0x7ffe_ff00_0000 });
    (regs as unknown as Record<string, unknown>)[k] = v;
    const exit = p.kernel.user(p.process, (lp) => lp.enclu(ENCLU.EENTER, regs, handler));
    return { exit, regs };
  }
  const refusedFor = (...names: string[]) => (err: unknown): boolean => {
    assert.ok(err instanceof ArchError, String(err));
    assert.equal(err.code, 'BAD_REGISTERS');
    assert.deepEqual((err.data as { registers: string[] }).registers, names);
    return true;
  };

  test('RDI whose toString answers a public ECALL, then a private one: refused (BAD_REGISTERS) before the processor reads it twice', () => {
    for (const warm of [true, false]) {
      // warm: the entry before it used the same TCS (the processor's cached path); cold: the other TCS did.
      if (warm) assert.equal(hostile('ecall_void', []), STATUS.SUCCESS);
      else rawEnter(p, e, { index: ecallPlan(e, 'ecall_void').index, ms: U + MS, scratch: U + SCRATCH, scratchSize: 0x100, tcs: e.tcs[1]! });
      const s = snapshot();
      const pub = ecallPlan(e, 'ecall_calls').index, priv = ecallPlan(e, 'ecall_private_poke').index;
      let n = 0;
      const flip = { toString: () => String(n++ === 0 ? pub : priv) };
      assert.throws(() => enterWith('ecall_calls', 'rdi', flip), refusedFor('rdi'));
      assert.equal(n, 0, 'the processor never converted it');
      assertUntouched(s);
    }
  });

  test('each register in turn (an object, a string, a bigint): BAD_REGISTERS naming it; nothing changed, the TCS is free', () => {
    const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rflags', 'rip'] as const;
    for (const k of names) {
      for (const v of [{ valueOf: () => 0 }, '0', 0n]) {
        const s = snapshot();
        assert.throws(() => enterWith('ecall_calls', k, v), refusedFor(k), `${k} = ${typeof v}`);
        assertUntouched(s);
      }
    }
    assert.equal(hostile('ecall_void', []), STATUS.SUCCESS, 'the TCS is not left busy');
  });

  test('RDI as a getter that alternates a public and a private ECALL: the entry uses one value read, so the private body never runs', () => {
    // (Which value an entry takes depends on how many reads its path makes before it; each path uses its own.)
    const pub = ecallPlan(e, 'ecall_calls').index, priv = ecallPlan(e, 'ecall_private_poke').index;
    for (let start = 0; start < 4; start++) {
      let n = start;
      writeMs(p, U + MS, []);
      p.process.write(U + MS + 8, new Uint8Array(8));
      const regs = newRegisters({ rbx: e.tcs[start % 2]!, rcx: AEP, rsi: U + MS, r8: U + SCRATCH, r9: 0x8000, rip: 0x7ffe_0000_0ff0, rsp: 0x7ffe_ff00_0000, rbp: 0x7ffe_ff00_0000 });
      Object.defineProperty(regs, 'rdi', { get: () => (n++ % 2 === 0 ? pub : priv), set: () => undefined, configurable: true });
      p.kernel.user(p.process, (lp) => lp.enclu(ENCLU.EENTER, regs, null));
      // ecall_calls returns its count; ecall_private_poke would return 0x1234.
      if (regs.rax === STATUS.SUCCESS) assert.notEqual(u64le(p.process.read(U + MS + 8, 8), 0) & 0xffffffffn, 0x1234n, 'the private ECALL ran');
      else assert.equal(regs.rax, STATUS.ECALL_NOT_ALLOWED, statusName(regs.rax));
    }
    assert.equal(e.ecall('ecall_secret_check'), 0);
  });

  test('an ORET (EENTER from the exit handler) or an ERESUME with a register that is no number is refused the same way', () => {
    // The OCALL's return: the handler hands back RDI as an object; the host's enclu reports BAD_REGISTERS.
    const s = snapshot();
    assert.throws(() => enterWith('ecall_ocall_big', 'rax', 0, (x, r) => {
      if (x.reason !== 'eexit' || r.rdi === EXIT_ECALL_RETURN) return 0;
      (r as unknown as Record<string, unknown>).rdi = { valueOf: () => ECMD_ORET };
      return ENCLU.EENTER;
    }), refusedFor('rdi'));
    assert.equal(e.ecall('ecall_secret_check'), 0);
    assert.ok(calls(e) >= s.calls);
    // ERESUME (nothing to resume: the register is refused before CSSA is looked at).
    const regs = newRegisters({ rbx: e.tcs[0]!, rcx: AEP });
    (regs as unknown as Record<string, unknown>).rcx = { valueOf: () => AEP };
    assert.throws(() => p.kernel.user(p.process, (lp) => lp.enclu(ENCLU.ERESUME, regs, null)), refusedFor('rcx'));
    assert.equal(hostile('ecall_void', []), STATUS.SUCCESS);
  });
});
