/**
 * loadEnclave's failures: every bad option, image and configuration is a typed error, and a load
 * that fails leaves nothing behind — no enclave, no EPC page, no arena. Checks that can be made
 * before CreateEnclave are made before it (nothing is created at all); a failure after it (the
 * marshalling arena cannot be allocated) deletes the enclave again.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnclave, EnclaveLoadError, SdkError, type HostPlatform, type LoadOptions, type EnclaveImage, type ImageManifest, type CanonicalInterface } from '../../src/sdk/index.js';
import type { Platform } from '../../src/platform/index.js';
import type { Kernel32 } from '../../src/os/windows/index.js';
import { newPlatform, buildFixture, signFixture, isSdkError } from '../helpers/sdk.js';

/** What a failed load must leave as it was. */
function footprint(p: Platform): { free: number; enclaves: number } {
  return { free: p.processor.inspect.freeEpcPages, enclaves: p.processor.inspect.enclaves().length };
}

function isLoadError(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof EnclaveLoadError, `expected an EnclaveLoadError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

/** A kernel32 whose calls are counted by name (and whose VirtualAlloc can be made to fail). */
function instrumented(p: Platform, failVirtualAlloc = false): { platform: HostPlatform; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const real = p.kernel32;
  const k32 = new Proxy(real, {
    get(target, name, receiver) {
      const v = Reflect.get(target, name, receiver) as unknown;
      if (typeof v !== 'function' || typeof name !== 'string') return v;
      return (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        if (name === 'VirtualAlloc' && failVirtualAlloc) {
          real.SetLastError(8); // ERROR_NOT_ENOUGH_MEMORY
          return 0;
        }
        return (v as (...a: unknown[]) => unknown)(...args);
      };
    },
  }) as Kernel32;
  return { platform: { kernel32: k32, process: p.process, processor: p.processor }, calls };
}

describe('loadEnclave: options are checked before anything is created', () => {
  const b = buildFixture('crash');
  const sig = signFixture(b);

  /** `options` fail with `code`, CreateEnclave is never called, and the platform is as before. */
  function refusedBeforeCreate(options: Omit<LoadOptions, 'sigstruct'>, code: string): void {
    const p = newPlatform();
    const before = footprint(p);
    const { platform, calls } = instrumented(p);
    assert.throws(() => loadEnclave(platform, b.image, { sigstruct: sig, ...options }), isLoadError(code));
    assert.equal(calls.get('CreateEnclave') ?? 0, 0);
    assert.deepEqual(footprint(p), before);
  }

  for (const lp of [2, 99, -1, 0.5]) {
    test(`lp ${lp} (the platform has 2): NO_SUCH_LP, and CreateEnclave is never called`, () => refusedBeforeCreate({ lp }, 'NO_SUCH_LP'));
  }

  for (const arenaSize of [0, -4096, 4095, 4096.5, 2 ** 32 + 4096, Number.NaN]) {
    test(`arenaSize ${arenaSize}: BAD_OPTIONS, nothing created`, () => refusedBeforeCreate({ arenaSize }, 'BAD_OPTIONS'));
  }

  test('an EINITTOKEN that is not 304 bytes: BAD_OPTIONS, nothing created', () => refusedBeforeCreate({ token: new Uint8Array(303) }, 'BAD_OPTIONS'));
});

describe('loadEnclave: a failure after CreateEnclave deletes the enclave', () => {
  test('the arena cannot be allocated: ARENA with the Win32 error; the EPC free count and the enclave list are as before', () => {
    const b = buildFixture('crash');
    const p = newPlatform();
    const before = footprint(p);
    const { platform, calls } = instrumented(p, true);
    assert.throws(() => loadEnclave(platform, b.image, { sigstruct: signFixture(b) }), (e: unknown) => {
      isLoadError('ARENA')(e);
      assert.equal((e as EnclaveLoadError).data.win32Error, 8);
      return true;
    });
    assert.equal(calls.get('CreateEnclave'), 1, 'the enclave was created (the arena comes after it)');
    assert.equal(calls.get('InitializeEnclave'), 1, 'and initialized');
    assert.equal(calls.get('DeleteEnclave'), 1, 'and deleted again');
    assert.deepEqual(footprint(p), before);
    // The platform is fine: the same image loads afterwards.
    const e = loadEnclave(p, b.image, { sigstruct: signFixture(b) });
    assert.equal(e.ecall('ecall_ok', [2]), 3);
    e.destroy();
    assert.deepEqual(footprint(p), before);
  });

  test('an onProgress callback that throws: its error, and the enclave is deleted', () => {
    const b = buildFixture('crash');
    const p = newPlatform();
    const before = footprint(p);
    const boom = new RangeError('stop');
    assert.throws(() => loadEnclave(p, b.image, { sigstruct: signFixture(b), onProgress: () => { throw boom; } }), (e: unknown) => e === boom);
    assert.deepEqual(footprint(p), before);
  });
});

describe('loadEnclave: a configuration or interface that cannot be used', () => {
  const b = buildFixture('crash');
  const sig = signFixture(b);
  const m = b.image.manifest;
  const cases: [string, string, EnclaveImage, string][] = [
    ['a configuration with xfrm "zz"', 'CONFIG_INVALID', { ...b.image, manifest: { ...m, config: { ...m.config, xfrm: 'zz' } } }, 'CONFIG_INVALID'],
    ['a configuration with xfrm 1.5', 'CONFIG_INVALID', { ...b.image, manifest: { ...m, config: { ...m.config, xfrm: 1.5 } } }, 'CONFIG_INVALID'],
    ['an interface whose trusted functions are not a list', 'INTERFACE_INVALID', { ...b.image, manifest: { ...m, interface: { ...(m.interface as object), trusted: 5 } } }, 'INTERFACE_INVALID'],
    ['an interface whose parameter has no type', 'INTERFACE_INVALID', {
      ...b.image,
      manifest: { ...m, interface: { ...(m.interface as object), trusted: [{ name: 'ecall_ok', public: true, params: [{ name: 'x', attributes: {} }], returns: (m.interface as CanonicalInterface).trusted[0]!.returns }] } },
    }, 'INTERFACE_INVALID'],
    ['an interface with a structure passed by value', 'INTERFACE_INVALID', {
      ...b.image,
      manifest: { ...m, interface: { ...(m.interface as object), trusted: [{ name: 'f', public: true, params: [], returns: { kind: 'struct', name: 's', const: false, pointer: 0, dims: [], size: 8, align: 4, baseSize: 8, baseAlign: 4, spelling: 'struct s' } }] } },
    }, 'INTERFACE_UNSUPPORTED'],
  ];
  for (const [what, code, image, inner] of cases) {
    test(`${what}: EnclaveLoadError ${code} with the SdkError ${inner} as its cause; nothing created`, () => {
      const p = newPlatform();
      const before = footprint(p);
      assert.throws(() => loadEnclave(p, image, { sigstruct: sig }), (e: unknown) => {
        isLoadError(code)(e);
        const cause = (e as Error).cause;
        assert.ok(cause instanceof SdkError && !(cause instanceof EnclaveLoadError), `cause: ${String(cause)}`);
        assert.equal(cause.code, inner);
        return true;
      });
      assert.deepEqual(footprint(p), before);
    });
  }

  test('a manifest without its interface or layout, given as an object: IMAGE_INVALID, nothing created', () => {
    const p = newPlatform();
    const before = footprint(p);
    const { interface: _i, ...noInterface } = m;
    const { layout: _l, ...noLayout } = m;
    for (const manifest of [noInterface, noLayout, { ...m, layout: { ...m.layout, tcs: undefined } }]) {
      assert.throws(() => loadEnclave(p, { ...b.image, manifest: manifest as ImageManifest }, { sigstruct: sig }), isSdkError('IMAGE_INVALID'));
    }
    assert.deepEqual(footprint(p), before);
  });

  test('an OCALL implementation that is not a function: BAD_OPTIONS', () => {
    const p = newPlatform();
    assert.throws(() => loadEnclave(p, b.image, { sigstruct: sig, ocalls: { ocall_ping: 5 as unknown as () => void } }), isLoadError('BAD_OPTIONS'));
  });
});

describe('the host thread\'s logical processor', () => {
  test('an enclave loaded for logical processor 1 is entered there (the host runs in user mode on every LP)', () => {
    const p = newPlatform();
    assert.ok(p.processor.lps.length >= 2);
    const b = buildFixture('calls');
    const e = loadEnclave(p, b.image, { sigstruct: signFixture(b), lp: 1 });
    assert.equal(e.ecall('ecall_leaf', [41]), 42);
    e.destroy();
  });
});
