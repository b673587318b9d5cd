/**
 * Bridges compiled from the interface (src/sdk/enclave/bridge.ts for the trusted runtime,
 * src/sdk/host/bridge.ts for the host's marshalling) against the interpreted bridges they replace:
 * the same statuses, the same bytes in and out, the same enclave log, for hostile marshalling
 * structures entered directly and for the host's own calls (fast-check), on the marshal fixture.
 * Then both sides on stand-ins, for random plans no fixture has (size= and count= naming any
 * parameter, strings of both widths in every direction, …), with allocations that fail midway,
 * throw or answer outside the heap, and exports that write or throw. Also: the generated source
 * holds no text of the interface, a hostile interface compiles into nothing it says, compiled
 * bridges are made once per interface, and the options are checked.
 *
 * Under `node --disallow-code-generation-from-strings` (the second pass of `npm test`) nothing
 * compiles and both sides interpret: the checks of what was compiled say so and skip.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { writeU64le } from '../../src/lib/index.js';
import { createTrustedRuntime, loadEnclave, EXIT_ECALL_RETURN, HostEnclave, type EcallArg, type OcallImpl } from '../../src/sdk/index.js';
import { planInterface, type CanonicalInterface } from '../../src/sdk/interface.js';
import { canonicalInterface } from '../../src/sdk/interface.js';
import { ecallBridgeSource } from '../../src/sdk/enclave/bridge.js';
import { marshalSource } from '../../src/sdk/host/bridge.js';
import type { ExitInfo, EnclaveContext } from '../../src/arch/index.js';
import { runEcallBridgeForTests } from '../../src/sdk/enclave/runtime.js';
import type { FunctionPlan, ParamPlan } from '../../src/sdk/abi.js';
import type { Platform } from '../../src/platform/index.js';
import { newPlatform, buildFixture, signFixture, fixtureInterface, readLog, calls, untrusted, rawEnter, isSdkError, STATUS } from '../helpers/sdk.js';

const CODEGEN = (() => {
  try {
    new Function('return 0');
    return true;
  } catch {
    return false;
  }
})();
const NO_CODEGEN = CODEGEN ? false : 'code generation from strings is disallowed in this process: both sides interpret';

interface Side {
  readonly p: Platform;
  readonly e: HostEnclave;
  /** Untrusted: ms at +0, buffers from +0x1000, scratch at +0x8000. */
  readonly u: number;
  readonly runtime: ReturnType<typeof createTrustedRuntime>;
  /** The marshal fixture (which logs what its ECALLs received), or the bridge fixture (a size= of uint32_t elements). */
  readonly fixture: 'marshal' | 'bridge';
}

function side(mode: 'compiled' | 'interpreted', fixture: Side['fixture'] = 'marshal'): Side {
  const runtime = createTrustedRuntime({ bridges: mode });
  const p = newPlatform({ engine: runtime });
  const b = buildFixture(fixture);
  const ocalls: Record<string, OcallImpl> = fixture === 'marshal' ? { ocall_lie: () => 0, ocall_big: () => 0 } : { ocall_str: () => undefined, ocall_sized: () => undefined };
  const e = loadEnclave(p, b.image, { sigstruct: signFixture(b), ocalls, bridges: mode });
  untrusted(p, 0x10000, e.base - 0x10000); // mapped just below the enclave: an address there is read, not faulted on
  return { p, e, u: untrusted(p, 0x10000, 0x4000_0000), runtime, fixture };
}

let C: Side, I: Side, CB: Side, IB: Side;
before(() => {
  C = side('compiled');
  I = side('interpreted');
  CB = side('compiled', 'bridge');
  IB = side('interpreted', 'bridge');
  // The same machine and the same image: the same addresses, so every hostile value means the same on both.
  for (const [c, i] of [[C, I], [CB, IB]] as const) {
    assert.equal(c.e.base, i.e.base);
    assert.equal(c.u, i.u);
  }
});

const withParams = (e: HostEnclave) => e.plan.ecalls.filter((f) => f.params.length > 0);

describe('what is compiled', () => {
  test('every ECALL with parameters gets a compiled bridge and marshaller; the interpreted side none', { skip: NO_CODEGEN }, () => {
    // The runtime loads an enclave (and compiles its bridges) at its first entry.
    for (const s of [C, I]) s.e.ecall('ecall_calls');
    const n = withParams(C.e).length;
    assert.ok(n > 20);
    assert.equal(C.runtime.compiledBridges, n);
    assert.equal(C.e.compiledMarshals, n);
    assert.equal(I.runtime.compiledBridges, 0);
    assert.equal(I.e.compiledMarshals, 0);
  });

  test('deep copy is generated only where a plan asks for it: no new work for the other ECALLs; no structure or member name in the source', () => {
    for (const f of withParams(C.e)) assert.doesNotMatch(ecallBridgeSource(f), /deep/, f.name);
    const plan = planInterface(canonicalInterface(fixtureInterface('deepcopy')));
    const src = (name: string) => ecallBridgeSource(plan.ecalls.find((f) => f.name === name)!);
    for (const name of ['ecall_blob_in', 'ecall_blobs_in']) {
      assert.match(src(name), /deepCopyIn\(/, name);
      assert.doesNotMatch(src(name), /deepCheckOut|deepWriteOut/, name);
    }
    for (const name of ['ecall_blob_inout', 'ecall_blobs_inout', 'ecall_holder_inout']) {
      assert.match(src(name), /deepCopyIn\(.*\n[^]*deepCheckOut\([^]*deepWriteOut\(/, name);
      assert.doesNotMatch(src(name), /moduleCopy\(ctx, st, h0, q0, l0, false\)/, `${name}: the structure goes back through deepWriteOut only`);
    }
    for (const f of plan.ecalls) assert.doesNotMatch(ecallBridgeSource(f), /blob|holder|pair|items|quad|words|\blen\b|\bsz\b/, f.name);
  });

  test('an interface loaded again reuses its bridges', { skip: NO_CODEGEN }, () => {
    const before = C.runtime.compiledBridges;
    const b = buildFixture('marshal');
    const again = loadEnclave(C.p, b.image, { sigstruct: signFixture(b), ocalls: { ocall_lie: () => 0, ocall_big: () => 0 } });
    const arg = new Uint8Array([1, 0, 0, 0]);
    // (C and I stay in step: the differential tests below compare their logs.)
    assert.equal(again.ecall('ecall_in_i32', [arg]), C.e.ecall('ecall_in_i32', [arg]));
    I.e.ecall('ecall_in_i32', [arg]);
    assert.equal(C.runtime.compiledBridges, before);
    assert.equal(again.compiledMarshals, withParams(again).length);
    again.destroy();
  });

  test('where code generation is refused, nothing compiles and calls still work', { skip: CODEGEN ? 'code generation is allowed here (the second pass of npm test runs without it)' : false }, () => {
    for (const s of [C, I]) {
      assert.equal(s.runtime.compiledBridges, 0);
      assert.equal(s.e.compiledMarshals, 0);
      const out = new Uint8Array(4);
      s.e.ecall('ecall_out_i32', [out, 0x01020304]);
      assert.deepEqual([...out], [4, 3, 2, 1]);
    }
  });

  test('the plan the host shows is a frozen copy: editing it is refused, and calls go on as compiled', () => {
    const f = C.e.plan.ecalls.find((x) => x.name === 'ecall_out_i32')!;
    assert.ok(Object.isFrozen(C.e.plan) && Object.isFrozen(f) && Object.isFrozen(f.params) && Object.isFrozen(f.params[0]));
    assert.throws(() => {
      (f.params[0] as { direction: string }).direction = 'in';
    }, TypeError);
    for (const s of [C, I]) {
      const out = new Uint8Array(4);
      s.e.ecall('ecall_out_i32', [out, 0x01020304]);
      assert.deepEqual([...out], [4, 3, 2, 1]);
    }
  });

  test('the options are checked', () => {
    assert.throws(() => createTrustedRuntime({ bridges: 'jit' as 'compiled' }), isSdkError('BAD_OPTIONS'));
    const b = buildFixture('marshal');
    assert.throws(() => loadEnclave(C.p, b.image, { sigstruct: signFixture(b), bridges: 'jit' as 'compiled' }), isSdkError('BAD_OPTIONS'));
  });
});

describe('the generated source', () => {
  /** The marshal fixture's interface with every name replaced by text that would break out of any JS context. */
  function hostile(): CanonicalInterface {
    const c = canonicalInterface(fixtureInterface('marshal'));
    const evil = (k: string) => `${k}*/"'\`\${x}\u2028\n}); throw globalThis.PWNED = 1; //`;
    const names = new Map<string, string>();
    for (const f of c.trusted) for (const p of f.params) names.set(p.name, evil(p.name));
    return {
      ...c,
      trusted: c.trusted.map((f) => ({
        ...f,
        name: evil(f.name),
        params: f.params.map((p) => ({ ...p, name: names.get(p.name)!, attributes: { ...p.attributes, ...(typeof p.attributes.size === 'string' ? { size: names.get(p.attributes.size)! } : {}), ...(typeof p.attributes.count === 'string' ? { count: names.get(p.attributes.count)! } : {}) } })),
      })),
      untrusted: c.untrusted.map((f) => ({ ...f, allow: f.allow.map(evil) })),
    };
  }

  test('holds no name from the interface, only indices and lengths', () => {
    const plan = planInterface(hostile());
    for (const f of plan.ecalls) {
      for (const src of [ecallBridgeSource(f), marshalSource(f)]) {
        assert.ok(!src.includes('PWNED'), `${f.index}: a name reached the source`);
        // Every number in it is an index or a length the generator computed.
        for (const m of src.matchAll(/\b\d+\b/g)) assert.ok(Number(m[0]) <= 2 ** 30, m[0]);
      }
    }
  });

  test('a hostile interface compiles, runs nothing it says, and its errors carry its names (and the plain one, of the same shapes, its own)', { skip: NO_CODEGEN }, () => {
    for (const f of [...planInterface(hostile()).ecalls, ...planInterface(canonicalInterface(fixtureInterface('marshal'))).ecalls]) {
      if (f.params.length === 0) continue;
      new Function('H', 'F', marshalSource(f));
      // The runtime's bridge, with helpers that make every buffer address invalid: its error names the parameter from the plan.
      const bridge = new Function('H', 'F', ecallBridgeSource(f))({
        slotValue: () => 0, slotNumber: () => -1, USER_CHECK: null, exportOf: () => () => 0, writeReturn: () => undefined,
        badAddress: (g: typeof f, q: (typeof f.params)[number]) => new Error(`${g.name}: ${q.name}`),
      }, f) as (ctx: unknown, st: unknown, ms: number, work: { ms: Uint8Array; owned: number[]; on: number }) => void;
      const k = f.params.findIndex((q) => q.kind === 'buffer');
      const run = () => bridge({ baseAddr: 0, size: 0 }, {}, 0, { ms: new Uint8Array(0), owned: [], on: 0 });
      if (k < 0) run();
      else assert.throws(run, (e: Error) => e.message === `${f.name}: ${f.params[k]!.name}`);
    }
    assert.equal((globalThis as { PWNED?: number }).PWNED, undefined);
  });

  test('a constant length is written out; a length from a parameter is computed at the call', () => {
    const plan = planInterface(canonicalInterface(fixtureInterface('marshal')));
    const f = (n: string) => plan.ecalls.find((x) => x.name === n)!;
    assert.match(ecallBridgeSource(f('ecall_in_i32')), /l0 = 4;/);
    assert.match(ecallBridgeSource(f('ecall_array')), /l0 = 16;/);
    assert.match(ecallBridgeSource(f('ecall_in_count64')), /l0 = productLength\(lengthValue\(a1\), P0\.elemSize\);/);
    assert.match(ecallBridgeSource(f('ecall_in_size_count')), /l0 = productLength\(lengthValue\(a1\), P0\.elemSize\);/);
    assert.match(marshalSource(f('ecall_in_size')), /saneLength\(lengthValue\(v1\)\)/);
  });
});

// ---- differential: hostile marshalling structures, entered directly ------------------------------

const TWO64 = 2n ** 64n;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** What the two sides did with one entry: its exit, status, the untrusted bytes after it, the enclave's log and count. */
function rawOutcome(s: Side, index: number, slots: readonly bigint[], fill: Uint8Array): unknown {
  const ms = new Uint8Array(8 * (slots.length + 1));
  slots.forEach((v, i) => writeU64le(ms, 8 * i, BigInt.asUintN(64, v)));
  s.p.process.write(s.u, ms);
  s.p.process.write(s.u + 0x1000, fill);
  const exits: string[] = [];
  const { exit, regs } = rawEnter(s.p, s.e, {
    index, ms: s.u, scratch: s.u + 0x8000, scratchSize: 0x8000,
    handler: (x: ExitInfo, r) => {
      if (x.reason === 'eexit' && r.rdi === EXIT_ECALL_RETURN) return 0;
      exits.push(`${x.reason}:${r.rdi}`);
      return 0;
    },
  });
  return {
    exit: exit.reason, rdi: regs.rdi, status: regs.rax, exits,
    ms: [...s.p.process.read(s.u, ms.length)],
    buffers: Buffer.from(s.p.process.read(s.u + 0x1000, fill.length)).toString('hex'),
    ...(s.fixture === 'marshal' ? { log: readLog(s.e), calls: calls(s.e) } : {}),
  };
}

describe('compiled and interpreted bridges agree on hostile marshalling structures', () => {
  for (const fixture of ['marshal', 'bridge'] as const) test(`every ECALL with parameters of the ${fixture} fixture, random slots`, () => {
    const [c, i] = fixture === 'marshal' ? [C, I] : [CB, IB];
    const fns = withParams(c.e).filter((f) => !/ocall|grow|read_outside|stack|private/.test(f.name));
    const base = BigInt(c.e.base), size = BigInt(c.e.size), u = BigInt(c.u);
    // Addresses: NULL, buffers (aligned or not, at a page's end), the ms itself, inside the enclave,
    // just below it (mapped) or straddling its start, and values that are no address (2^53 and up).
    // None is unmapped: a fault would crash the enclave, and every later entry would agree trivially.
    const address = fc.oneof(
      fc.constantFrom(0n, u + 0x1000n, u + 0x1001n, u + 0x1002n, u + 0x1ffcn, u + 0x1ffdn, u + 0x1f80n, u, base, base + 8n, base + size - 4n, base - 4n, base - 2n, base - 0x100n),
      fc.bigInt({ min: 2n ** 53n, max: TWO64 - 1n }),
    );
    // Values (sizes, counts, seeds): small, odd, a page, at and past MAX_BUFFER and 2^32, negative as u64.
    const value = fc.oneof(
      fc.constantFrom(0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 24n, 64n, 255n, 256n, 4096n, 2n ** 30n, 2n ** 30n + 1n, 2n ** 31n, 2n ** 32n + 4n, TWO64 - 4n, TWO64 - 1n),
      fc.bigInt({ min: 0n, max: 300n }),
      fc.bigInt({ min: 0n, max: TWO64 - 1n }),
    );
    const call = fc.constantFrom(...fns).chain((f) => fc.tuple(fc.constant(f), fc.tuple(...f.params.map((q) => (q.kind === 'value' ? value : address)))));
    fc.assert(fc.property(call, fc.integer({ min: 0, max: 255 }), ([f, slots], seed) => {
      // The buffers' bytes; strings in them end somewhere: a terminator every 97 bytes.
      const fill = new Uint8Array(0x1100);
      for (let k = 0; k < fill.length; k++) fill[k] = k % 97 === 96 ? 0 : (seed + k * 7) & 0xff;
      const out = rawOutcome(c, f.index, slots, fill) as { exit: string; status: number };
      assert.deepEqual(out, rawOutcome(i, f.index, slots, fill));
      assert.equal(out.exit, 'eexit');
      assert.notEqual(out.status, STATUS.ENCLAVE_CRASHED, 'the enclave crashed: later entries would agree trivially');
    }), { numRuns: fixture === 'marshal' ? 400 : 150, seed: 0x5eed, endOnFailure: true });
  });
});

// ---- differential: the host's own calls -------------------------------------------------------

/** What one host call did: its result or its error (code, message, status), and the caller's buffers after it. */
function hostOutcome(s: Side, name: string, args: readonly EcallArg[]): unknown {
  const copies = args.map((a) => (a instanceof Uint8Array ? a.slice() : a));
  let result: unknown;
  try {
    const r = s.e.ecall(name, copies);
    result = { ok: typeof r === 'bigint' ? `${r}n` : r };
  } catch (err) {
    const x = err as { code?: string; message?: string; data?: { status?: number } };
    result = { code: x.code, message: x.message, status: x.data?.status };
  }
  return { result, buffers: copies.map((a) => (a instanceof Uint8Array ? [...a] : null)), log: readLog(s.e) };
}

describe('compiled and interpreted marshallers agree on the host\'s calls', () => {
  test('every ECALL with parameters, random arguments', () => {
    const fns = withParams(C.e).filter((f) => !/ocall|grow|read_outside|stack|private/.test(f.name));
    const arg = fc.oneof(
      fc.constantFrom<EcallArg>(null, 0, 1, 3, 4, 8, 16, 64, 255, 256, -1, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 1.5, NaN, 7n, -1n, 2n ** 64n - 1n, 2n ** 64n, 'text', ''),
      fc.uint8Array({ minLength: 0, maxLength: 80 }),
      fc.integer({ min: -300, max: 300 }),
      fc.string({ maxLength: 12 }),
    );
    // A [user_check] pointer is read by the enclave: mapped addresses (number or bigint), NULL, or no address at all.
    const u = C.u + 0x1000;
    const address = fc.constantFrom<EcallArg>(null, u, u + 3, BigInt(u), -1, 1.5, 2 ** 53, 2n ** 64n, -1n, 'x', new Uint8Array(4));
    const call = fc.constantFrom(...fns).chain((f) => fc.tuple(fc.constant(f), fc.tuple(...f.params.map((q) => (q.kind === 'user_check' ? address : arg))), fc.option(arg)));
    fc.assert(fc.property(call, ([f, args, extra]) => {
      // Now and then one argument too many (the host refuses the call).
      const all = extra === null ? args : [...args, extra];
      assert.deepEqual(hostOutcome(C, f.name, all), hostOutcome(I, f.name, all));
    }), { numRuns: 600, seed: 0xb41d, endOnFailure: true });
  });

  test('sized buffers of every length from 0 to 40, in, out and in/out', () => {
    for (const name of ['ecall_in_size', 'ecall_out_size', 'ecall_inout_size', 'ecall_out_narrow']) {
      for (let n = 0; n <= 40; n++) {
        for (const len of [n, n + 3, Math.max(0, n - 1)]) {
          const args: EcallArg[] = name === 'ecall_out_size' ? [new Uint8Array(len).fill(0xcc), n, 9] : [new Uint8Array(len).fill(0xcc), n];
          assert.deepEqual(hostOutcome(C, name, args), hostOutcome(I, name, args), `${name} n=${n} len=${len}`);
        }
      }
    }
  });

  test('nothing leaks: 40 calls with three buffers of 200 KiB on a 1 MiB heap', () => {
    const a = new Uint8Array(200 << 10).fill(1), b = new Uint8Array(200 << 10).fill(2), c = new Uint8Array(200 << 10);
    for (const s of [C, I]) {
      for (let k = 0; k < 40; k++) assert.equal(s.e.ecall('ecall_align3', [a, a.length, b, b.length, c, c.length]), 0);
      assert.equal(c[0], 0x5a);
      s.e.ecall('ecall_calls'); // (both sides made the same calls: their logs stay in step)
    }
  });

  test('after all of it, neither enclave has crashed or lost its secret', () => {
    for (const s of [C, I]) assert.equal(s.e.ecall('ecall_secret_check'), 0);
  });
});

// ---- differential on plans no fixture has: both sides on stand-ins ----------------------------

const VALUE_TYPES = [
  { wasm: 'i32', width: 1, float: false, signed: true }, { wasm: 'i32', width: 1, float: false, signed: false },
  { wasm: 'i32', width: 2, float: false, signed: true }, { wasm: 'i32', width: 4, float: false, signed: true },
  { wasm: 'i32', width: 4, float: false, signed: false }, { wasm: 'i64', width: 8, float: false, signed: true },
  { wasm: 'i64', width: 8, float: false, signed: false }, { wasm: 'f32', width: 4, float: true, signed: true },
  { wasm: 'f64', width: 8, float: true, signed: true },
] as const;

/**
 * A plan of the kinds planInterface makes, and some it makes only from odd interfaces: size= and
 * count= naming any parameter (a value, a pointer, a string, a float), a constant count with a size
 * parameter, strings and wide strings in every direction, elements of 1 to 16 bytes.
 */
const planArb: fc.Arbitrary<FunctionPlan> = fc.integer({ min: 1, max: 6 }).chain((n) => {
  const base = { direction: null, elemSize: 0, count: null, sizeParam: null, string: null, pointeeSize: 0, deep: null };
  const value = fc.constantFrom(...VALUE_TYPES).map((t) => ({ ...base, kind: 'value' as const, ...t }));
  const userCheck = fc.constant({ ...base, kind: 'user_check' as const, wasm: 'i64' as const, width: 8, float: false, signed: false });
  const buffer = fc.record({
    direction: fc.constantFrom('in' as const, 'out' as const, 'inout' as const),
    string: fc.constantFrom(null, null, null, 'string' as const, 'wstring' as const),
    elemSize: fc.constantFrom(1, 2, 3, 4, 8, 16),
    sizeParam: fc.option(fc.nat(n - 1), { freq: 3 }),
    count: fc.oneof(fc.constant(null), fc.nat(6).map((c) => ({ constant: c })), fc.nat(n - 1).map((k) => ({ param: k }))),
    pointeeSize: fc.constantFrom(1, 1, 2, 4, 8),
  }).map((b) => ({
    ...base, kind: 'buffer' as const, wasm: 'i32' as const, width: 4, float: false, signed: false, direction: b.direction, string: b.string,
    elemSize: b.string ? 0 : b.elemSize, sizeParam: b.string ? null : b.sizeParam, count: b.string ? null : b.count,
    pointeeSize: b.string === 'wstring' ? 4 : b.string ? 1 : b.pointeeSize,
  }));
  return fc.record({
    params: fc.array(fc.oneof({ arbitrary: value, weight: 3 }, { arbitrary: userCheck, weight: 1 }, { arbitrary: buffer, weight: 5 }), { minLength: n, maxLength: n }),
    returns: fc.option(fc.constantFrom(...VALUE_TYPES)),
    index: fc.nat(2),
  }).map((r): FunctionPlan => ({ name: 'f', index: r.index, params: r.params.map((q, i): ParamPlan => ({ ...q, name: `p${i}` })), returns: r.returns, public: true, allow: [] }));
});

/** The stand-in's layout: untrusted memory [0, HOST), the enclave at [BASE, BASE + SIZE), a 128 KiB module memory. */
const HOST = 0x10000, BASE = 0x100000, SIZE = 0x100000, MS_AT = 0xf000;

interface World {
  /** Allocation from the `failFrom`-th call on answers 0; the `throwAt`-th throws; the `outsideAt`-th answers outside the heap. */
  readonly failFrom: number;
  readonly throwAt: number;
  readonly outsideAt: number;
  /** The export writes 0xEE at every pointer it gets; or throws. */
  readonly exportWrites: boolean;
  readonly exportThrows: boolean;
  /** Untrusted memory: a pattern with a NUL every `term` bytes. */
  readonly seed: number;
  readonly term: number;
}
const worldArb: fc.Arbitrary<World> = fc.record({
  failFrom: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })),
  throwAt: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 1 }),
  outsideAt: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 1 }),
  exportWrites: fc.boolean(),
  exportThrows: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  seed: fc.nat(255),
  term: fc.integer({ min: 3, max: 200 }),
});

/** One run of the runtime's part of ECALL `f` on a fresh stand-in: what it threw, what it called, and both memories after. */
function runtimeOutcome(compiled: boolean, f: FunctionPlan, slots: readonly bigint[], w: World): unknown {
  const host = new Uint8Array(HOST);
  for (let k = 0; k < 0x3000; k++) host[k] = k % w.term === w.term - 1 ? 0 : (w.seed + k * 13) & 0xff;
  for (let k = 0x3000; k < HOST; k += 0x3000) host.copyWithin(k, 0, Math.min(0x3000, HOST - k));
  slots.forEach((v, i) => writeU64le(host, MS_AT + 8 * i, BigInt.asUintN(64, v)));
  const range = (la: number, len: number) => {
    if (!(la >= 0 && la + len <= HOST)) throw new RangeError(`unmapped: ${la} + ${len}`);
  };
  const ctx = {
    baseAddr: BASE, size: SIZE,
    readInto(la: number, out: Uint8Array, at = 0, len = out.length - at): void {
      range(la, len);
      out.set(host.subarray(la, la + len), at);
    },
    write(la: number, data: Uint8Array, at = 0, len = data.length - at): void {
      range(la, len);
      host.set(data.subarray(at, at + len), la);
    },
  } as unknown as EnclaveContext;
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 2 });
  const mem = new Uint8Array(memory.buffer);
  const log: unknown[] = [];
  let top = 16, calls = 0;
  const alloc = (n: number): number => {
    calls++;
    log.push(['alloc', n]);
    if (w.throwAt === calls) throw new Error('alloc threw');
    if (w.outsideAt === calls) return 0x1fff0;
    if (w.failFrom !== 0 && calls >= w.failFrom) return 0;
    const p = top;
    top += Math.ceil(n / 16) * 16;
    return top > 0x20000 ? 0 : p;
  };
  const free = (p: number): void => void log.push(['free', p]);
  const fn = (...a: unknown[]): unknown => {
    log.push(['call', a.map((x) => (typeof x === 'bigint' ? `${x}n` : Object.is(x, -0) ? '-0' : x))]);
    if (w.exportWrites) for (const x of a) if (typeof x === 'number' && x > 0 && x < mem.length) mem[x] = 0xee;
    if (w.exportThrows) throw new Error('export threw');
    return f.returns?.wasm === 'i64' ? -5n : f.returns?.float ? -0.5 : 5;
  };
  let res: unknown = 'ok';
  try {
    runEcallBridgeForTests(compiled, ctx, f, MS_AT, { memory, heapSize: 0x20000, alloc, free, fn });
  } catch (e) {
    const x = e as { constructor: { name: string }; status?: number; message: string };
    res = { error: x.constructor.name, status: x.status, message: x.message };
  }
  return { res, log, host: sha256(host), mem: sha256(mem) };
}

describe('compiled and interpreted bridges agree on plans no fixture has (stand-in enclave)', () => {
  test('random plans, hostile slots, allocations that fail, throw or answer outside the heap, exports that write or throw', { skip: NO_CODEGEN }, () => {
    const slot = (q: ParamPlan) => q.kind === 'value'
      ? fc.oneof(fc.constantFrom(0n, 1n, 2n, 3n, 4n, 8n, 16n, 17n, 64n, 0xffffffffn, TWO64 - 1n, 2n ** 63n, 0x80000000n, 0x7ff8000000000000n, 2n ** 30n, 2n ** 30n + 4n), fc.bigInt({ min: 0n, max: 300n }))
      : fc.constantFrom(0n, 0x1000n, 0x1001n, 0x1004n, 0x2000n, BigInt(HOST - 16), BigInt(HOST - 3), BigInt(BASE), BigInt(BASE - 4), BigInt(BASE + SIZE), 2n ** 53n, TWO64 - 1n);
    const run = planArb.chain((f) => fc.tuple(fc.constant(f), fc.tuple(...f.params.map(slot)), worldArb));
    fc.assert(fc.property(run, ([f, slots, w]) => {
      assert.deepEqual(runtimeOutcome(true, f, slots, w), runtimeOutcome(false, f, slots, w));
    }), { numRuns: 1500, seed: 0xb41d9e, endOnFailure: true });
  });
});

describe('compiled and interpreted marshallers agree on plans no fixture has', () => {
  test('random plans and arguments of every kind', { skip: NO_CODEGEN }, () => {
    const arg = fc.oneof(
      fc.constantFrom<unknown>(null, undefined, 0, -0, 1, 3, 4, 8, 16, 17, 255, 256, -1, 1.5, NaN, Infinity, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 30, 2 ** 30 + 1, 7n, 0n, -1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 16n, 'text', '', 'é', {}, [1, 2]),
      fc.uint8Array({ minLength: 0, maxLength: 40 }),
    );
    const run = planArb.chain((f) => fc.tuple(fc.constant(f), fc.array(arg, { minLength: 0, maxLength: f.params.length }).chain((few) => fc.oneof(fc.constant(few), fc.array(arg, { minLength: f.params.length, maxLength: f.params.length })))));
    const outcome = (compiled: boolean, f: FunctionPlan, args: readonly unknown[]): unknown => {
      try {
        const r = HostEnclave.marshalForTests(C.e, f, args as EcallArg[], compiled);
        return { ms: [...r.ms], arena: Buffer.from(r.arena).toString('base64'), outs: r.outs.map(([o, l, t]) => [o, l, args.indexOf(t)]) };
      } catch (e) {
        const x = e as { constructor: { name: string }; code?: string; message: string };
        return { error: x.constructor.name, code: x.code, message: x.message };
      }
    };
    fc.assert(fc.property(run, ([f, args]) => {
      assert.deepEqual(outcome(true, f, args), outcome(false, f, args));
    }), { numRuns: 3000, seed: 0x4057, endOnFailure: true });
  });
});
