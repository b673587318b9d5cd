/**
 * Threads and re-entry, with the calls fixture: with tcsCount N, N entries can be in progress at
 * once (each OCALL implementation makes the next ECALL with {newThread: true}), and the N+1-th is
 * refused with OUT_OF_TCS; an ECALL nested in an OCALL on the same thread is admitted only when the
 * OCALL's allow() list names it (ECALL_NOT_ALLOWED otherwise); a private ECALL only that way.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EnclaveCallError, EnclaveLoadError, SdkError, MAX_NESTED_ECALLS, loadEnclave, type HostEnclave, type OcallImpl } from '../../src/sdk/index.js';
import { newPlatform, loadFixture, assertStatus, callStatus, STATUS, statusName } from '../helpers/sdk.js';

type Impls = Record<'ocall_reenter' | 'ocall_allow_private' | 'ocall_deny', OcallImpl>;

/** The calls fixture with tcsCount `n`; the OCALL implementations can be swapped per test. */
function setup(n: number): { e: HostEnclave; impl: Impls } {
  const p = newPlatform();
  const impl: Impls = { ocall_reenter: () => 0, ocall_allow_private: () => 0, ocall_deny: () => 0 };
  const e = loadFixture(p, 'calls', {
    config: { tcsCount: n },
    ocalls: {
      ocall_reenter: (...a) => impl.ocall_reenter(...a),
      ocall_allow_private: (...a) => impl.ocall_allow_private(...a),
      ocall_deny: (...a) => impl.ocall_deny(...a),
    },
  });
  assert.equal(e.tcs.length, n);
  return { e, impl };
}

for (const n of [1, 2, 3]) {
  describe(`tcsCount ${n}`, () => {
    const { e, impl } = setup(n);
    const errors: unknown[] = [];
    impl.ocall_reenter = (depth) => {
      try {
        return e.ecall('ecall_outer', [Number(depth) - 1], { newThread: true });
      } catch (x) {
        errors.push(x);
        return -99;
      }
    };

    test(`${n} entries at once, each on its own TCS`, () => {
      errors.length = 0;
      assert.equal(e.ecall('ecall_outer', [n - 1]), 1000 + (n - 1));
      assert.deepEqual(errors, []);
    });

    test(`the ${n + 1}-th concurrent entry is refused with OUT_OF_TCS (0x1003); the others complete`, () => {
      errors.length = 0;
      assert.equal(e.ecall('ecall_outer', [n]), -99 + n);
      assert.equal(errors.length, 1);
      const x = errors[0];
      assert.ok(x instanceof EnclaveCallError, String(x));
      assert.equal((x.data as { status: number }).status, STATUS.OUT_OF_TCS);
      assert.equal(STATUS.OUT_OF_TCS, 0x1003);
    });

    test('afterwards every TCS is free again', () => {
      errors.length = 0;
      for (let i = 0; i < 3; i++) assert.equal(e.ecall('ecall_outer', [n - 1]), 1000 + (n - 1));
      assert.equal(e.ecall('ecall_active', []), 0);
      assert.deepEqual(errors, []);
    });
  });
}

describe('nested ECALLs on the same thread', () => {
  test('allowed by the OCALL\'s allow() list: a nested ECALL on the same (only) TCS', () => {
    const { e, impl } = setup(1);
    const active: unknown[] = [];
    impl.ocall_reenter = (depth) => {
      active.push(e.ecall('ecall_active', []));
      return e.ecall('ecall_outer', [Number(depth) - 1]);
    };
    assert.equal(e.ecall('ecall_outer', [1]), 1001);
    assert.deepEqual(active, [1]);
    assert.equal(e.ecall('ecall_active', []), 0);
  });

  test('allowed by the OCALL\'s allow() list: recursion through OCALLs on a single TCS (a nested ECALL that makes its own OCALL)', () => {
    const { e, impl } = setup(1);
    const active: unknown[] = [];
    impl.ocall_reenter = (depth) => {
      active.push(e.ecall('ecall_active', []));
      return e.ecall('ecall_outer', [Number(depth) - 1]);
    };
    assert.equal(e.ecall('ecall_outer', [5]), 1005);
    assert.deepEqual(active, [1, 2, 3, 4, 5], 'each nested ECALL ran inside the enclave with the outer ones still active');
  });

  test('not in the allow() list (ocall_deny allows nothing) → ECALL_NOT_ALLOWED (0x1007), and the outer ECALL continues', () => {
    const { e, impl } = setup(2);
    const seen: number[] = [];
    impl.ocall_deny = (x) => {
      seen.push(callStatus(() => e.ecall('ecall_leaf', [x])));
      seen.push(callStatus(() => e.ecall('ecall_outer', [0])));
      return -7;
    };
    assert.equal(e.ecall('ecall_via_denying', [1]), -6);
    assert.deepEqual(seen.map(statusName), [statusName(STATUS.ECALL_NOT_ALLOWED), statusName(STATUS.ECALL_NOT_ALLOWED)]);
    assert.equal(STATUS.ECALL_NOT_ALLOWED, 0x1007);
  });

  test('an allow() list admits only what it names: ocall_reenter admits ecall_leaf, not ecall_via_allowing', () => {
    const { e, impl } = setup(1);
    const seen: unknown[] = [];
    impl.ocall_reenter = () => {
      seen.push(e.ecall('ecall_leaf', [41]));
      seen.push(statusName(callStatus(() => e.ecall('ecall_via_allowing', [1]))));
      return 0;
    };
    assert.equal(e.ecall('ecall_outer', [1]), 1);
    assert.deepEqual(seen, [42, statusName(STATUS.ECALL_NOT_ALLOWED)]);
  });

  test('another thread is not bound by this thread\'s OCALL: a new-thread ECALL during ocall_deny is admitted', () => {
    const { e, impl } = setup(2);
    impl.ocall_deny = (x) => e.ecall('ecall_leaf', [x], { newThread: true });
    assert.equal(e.ecall('ecall_via_denying', [10]), 12);
  });
});

describe('a private ECALL', () => {
  test('from the top level → ECALL_NOT_ALLOWED', () => {
    const { e } = setup(2);
    assertStatus(() => e.ecall('ecall_private', [3]), STATUS.ECALL_NOT_ALLOWED);
  });

  test('through the OCALL that allows it → runs', () => {
    const { e, impl } = setup(1);
    impl.ocall_allow_private = (x) => e.ecall('ecall_private', [x]);
    assert.equal(e.ecall('ecall_via_allowing', [21]), 43);
  });

  test('through OCALLs that do not allow it → ECALL_NOT_ALLOWED', () => {
    const { e, impl } = setup(2);
    const seen: number[] = [];
    impl.ocall_deny = (x) => {
      seen.push(callStatus(() => e.ecall('ecall_private', [x])));
      return 0;
    };
    impl.ocall_reenter = () => {
      seen.push(callStatus(() => e.ecall('ecall_private', [1])));
      return 0;
    };
    e.ecall('ecall_via_denying', [1]);
    e.ecall('ecall_outer', [1]);
    assert.deepEqual(seen, [STATUS.ECALL_NOT_ALLOWED, STATUS.ECALL_NOT_ALLOWED]);
  });

  test('on a new thread during the allowing OCALL (that thread is at its top level) → ECALL_NOT_ALLOWED', () => {
    const { e, impl } = setup(2);
    let st = -1;
    impl.ocall_allow_private = (x) => {
      st = callStatus(() => e.ecall('ecall_private', [x], { newThread: true }));
      return e.ecall('ecall_private', [x]);
    };
    assert.equal(e.ecall('ecall_via_allowing', [5]), 11);
    assert.equal(st, STATUS.ECALL_NOT_ALLOWED, statusName(st));
  });
});

describe('the host runtime under misuse (the closing review)', () => {
  test(`ECALLs nested through OCALLs past MAX_NESTED_ECALLS (${MAX_NESTED_ECALLS}): SdkError ECALL_NESTING, which the OCALL implementations pass up; the thread and the platform stay usable (no RangeError, no processor left in enclave mode)`, () => {
    const p = newPlatform();
    let deepest = 0;
    let e: HostEnclave | null = null;
    e = loadFixture(p, 'calls', { ocalls: { ocall_reenter: (d) => {
      deepest = Math.max(deepest, 100000 - Number(d));
      return e!.ecall('ecall_outer', [Number(d) - 1]) as number;
    }, ocall_allow_private: () => 0, ocall_deny: () => 0 } });
    assert.throws(() => e!.ecall('ecall_outer', [100000]), (x: unknown) => x instanceof SdkError && x.code === 'ECALL_NESTING');
    assert.equal(deepest, MAX_NESTED_ECALLS - 1);
    assert.equal(e.ecall('ecall_outer', [3]), 1003, 'nesting within the limit works afterwards');
    const other = loadFixture(p, 'calls', { ocalls: { ocall_reenter: () => 0, ocall_allow_private: () => 0, ocall_deny: () => 0 } });
    assert.equal(other.ecall('ecall_leaf', [1]), e.ecall('ecall_leaf', [1]));
    other.destroy();
    e.destroy();
  });

  test('an OCALL implementation that throws a falsy value (undefined, null, 0, \'\', false): the ECALL rethrows that very value, as it does an Error, and the enclave stays usable', () => {
    const p = newPlatform();
    let thrown: unknown = null;
    const e = loadFixture(p, 'crash', { ocalls: { ocall_ping: () => { throw thrown; } } });
    for (const v of [new Error('truthy'), 0, undefined, null, '', false]) {
      thrown = v;
      let caught: unknown = Symbol('nothing');
      try {
        e.ecall('ecall_ocall_then_trap', []);
      } catch (x) {
        caught = x;
      }
      assert.equal(caught, v, `thrown ${String(v)}`);
    }
    assert.equal(typeof e.ecall('ecall_ok', [1]), 'number');
    e.destroy();
  });

  test('destroy() from an OCALL implementation of the enclave\'s own ECALL: SdkError ENCLAVE_BUSY, nothing changed; the ECALL completes and destroy() works after it', () => {
    const p = newPlatform();
    let e: HostEnclave | null = null;
    let refused: unknown = null;
    e = loadFixture(p, 'reent', { ocalls: { ocall_mid: () => 0, ocall_in_free: () => {
      try {
        e!.destroy();
      } catch (x) {
        refused = x;
      }
    } } });
    assert.equal(e.ecall('ecall_empty', []), STATUS.SUCCESS);
    assert.ok(refused instanceof SdkError && refused.code === 'ENCLAVE_BUSY', String(refused));
    assert.equal(e.destroyed, false);
    e.destroy();
    assert.equal(e.destroyed, true);
  });

  test('bad arguments to ecall and loadEnclave are typed errors, not TypeErrors', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'crash', { ocalls: { ocall_ping: () => undefined } });
    assert.throws(() => e.ecall('ecall_ok', null as never), (x: unknown) => x instanceof SdkError && x.code === 'BAD_ARGUMENTS');
    const image = (e as unknown as { image: unknown }).image;
    assert.throws(() => loadEnclave(p, image as never, null as never), (x: unknown) => x instanceof EnclaveLoadError && x.code === 'BAD_OPTIONS');
    assert.throws(() => loadEnclave(p, null as never), (x: unknown) => x instanceof SdkError && x.code === 'IMAGE_INVALID');
    assert.throws(() => loadEnclave(p, image as never, { sigstruct: [1, 2, 3] as never }), (x: unknown) => x instanceof EnclaveLoadError && x.code === 'BAD_OPTIONS');
    e.destroy();
  });
});
