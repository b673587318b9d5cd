/**
 * Lifecycle order of SGX enclaves through the Windows API (specs/os-api.md §2.17, §2.9, §2.12):
 * initialize twice, load after initialization, delete twice, calls on a deleted enclave, retry
 * after a failed EINIT, deletion while a thread is inside the enclave (ERROR_ENCLAVE_NOT_TERMINATED,
 * driven from the processor's step hook while an ECALL of the hello enclave runs), the Nt layer
 * driven directly, out-parameters given as process addresses, and the partial-failure semantics of
 * LoadEnclaveData (§2.8 #14). Every test ends with the EPC back at its starting values.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as W from '../../src/os/windows/constants.js';
import { loadEnclave } from '../../src/sdk/index.js';
import { OsError } from '../../src/os/index.js';
import { ATTR, type LogicalProcessor } from '../../src/arch/index.js';
import type { Platform } from '../../src/platform/index.js';
import * as H from '../helpers/windows.js';
import { helloEnclave } from '../helpers/hello.js';

const L = H.standardLayout();
const PAGE = 4096;
const HP = W.CURRENT_PROCESS;

const { failed } = H;

/** Skip a test on the profile that offers no SGX2. */
const sgx2Only = (profile: string) => ({ skip: profile === 'win-x64-sgx1' ? 'SGX2 is not offered on win-x64-sgx1' : false });

/** An ENCLAVE_TYPE_SGX2 enclave of the standard layout, built and initialized on `profile`. */
function initializedSgx2(profile: Parameters<typeof H.platformFor>[0]): { p: Platform; base: number } {
  const p = H.platformFor(profile);
  const base = H.create(p, L, H.FIX_BASE, 0, W.ENCLAVE_TYPE_SGX2);
  H.loadRest(p, base, L);
  H.initialize(p, base, L);
  return { p, base };
}
const observe = H.observe;

for (const profile of H.SGX_PROFILES) {
  describe(`lifecycle order on ${profile}`, () => {
    test('InitializeEnclave twice → FALSE, 1247, STATUS_ALREADY_INITIALIZED; *lpEnclaveError untouched; nothing changes', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'initialized');
      const before = H.epcState(p);
      const err = { value: H.SENT_OUT };
      assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, base, L.initInfo(), 4096, err)), failed(1247, 0xc0000510));
      assert.equal(err.value, H.SENT_OUT);
      assert.deepEqual(H.epcState(p), before);
      H.teardown(p);
    });

    test('LoadEnclaveData after InitializeEnclave → FALSE, 1247 (a new page and an already-added page alike)', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'initialized');
      const before = H.epcState(p);
      for (const off of [0x4000, 0x2000]) {
        const written = { value: H.SENT_OUT };
        assert.deepEqual(observe(p, () => p.kernel32.LoadEnclaveData(HP, base + off, new Uint8Array(PAGE), PAGE, W.PAGE_READWRITE, null, 0, written, null)), failed(1247, 0xc0000510));
        assert.equal(written.value, H.SENT_OUT);
      }
      assert.deepEqual(H.epcState(p), before);
      H.teardown(p);
    });

    test('DeleteEnclave twice → TRUE, then FALSE, 487; VirtualFree(MEM_RELEASE) afterwards → 487 (not allocated)', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'initialized');
      assert.deepEqual(observe(p, () => p.kernel32.DeleteEnclave(base)), { ret: true, err: H.SENT_ERR, nt: 0 });
      H.assertPristine(p, 'after the first DeleteEnclave');
      assert.deepEqual(observe(p, () => p.kernel32.DeleteEnclave(base)), failed(487, 0xc0000018));
      assert.deepEqual(observe(p, () => p.kernel32.VirtualFree(base, 0, W.MEM_RELEASE)), failed(487, W.STATUS_MEMORY_NOT_ALLOCATED));
      H.teardown(p);
    });

    test('VirtualFree(MEM_RELEASE) then DeleteEnclave → 487', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      assert.equal(p.kernel32.VirtualFree(base, 0, W.MEM_RELEASE), true);
      assert.deepEqual(observe(p, () => p.kernel32.DeleteEnclave(base)), failed(487, 0xc0000018));
      H.teardown(p);
    });

    test('LoadEnclaveData / InitializeEnclave / TerminateEnclave on a deleted enclave → 487, nothing allocated', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      assert.equal(p.kernel32.DeleteEnclave(base), true);
      assert.deepEqual(observe(p, () => p.kernel32.LoadEnclaveData(HP, base + 0x4000, new Uint8Array(PAGE), PAGE, W.PAGE_READWRITE, null, 0, null, null)), failed(487, 0xc0000018));
      assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, base, L.initInfo(), 4096, null)), failed(487, 0xc0000018));
      assert.deepEqual(observe(p, () => p.kernel32.TerminateEnclave(base, true)), failed(487, 0xc0000018));
      H.assertPristine(p, 'after calls on the deleted enclave');
      H.teardown(p);
    });

    test('a failed EINIT leaves the enclave CREATED: more pages may be loaded and a corrected InitializeEnclave succeeds', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      const err = { value: H.SENT_OUT };
      assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, base, L.initInfo(L.sigstruct({ enclaveHash: new Uint8Array(32) })), 4096, err)), failed(349, W.STATUS_ENCLAVE_FAILURE));
      assert.equal(err.value, 4);
      assert.equal(p.kernel.enclaves[0]!.state, 'created');
      // a fifth page, then the SIGSTRUCT for all five
      const extra = { offset: 0x4000, protect: W.PAGE_READONLY, data: new Uint8Array(PAGE).fill(0x42) };
      const layout5 = new H.TestLayout({ pages: [...L.pages, extra] });
      H.loadPage(p, base, extra);
      assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, base, L.initInfo(), 4096, err)), failed(349, W.STATUS_ENCLAVE_FAILURE), 'the old SIGSTRUCT no longer matches');
      assert.equal(err.value, 4);
      H.initialize(p, base, layout5);
      assert.deepEqual(p.processor.inspect.enclaves()[0]!.mrenclave, layout5.mrenclave);
      H.teardown(p);
    });

    test('two enclaves: deleting one leaves the other intact; the EPC accounts for both', () => {
      const p = H.platformFor(profile);
      const a = H.buildTo(p, L, 'initialized', H.FIX_BASE);
      const b = H.buildTo(p, L, 'loaded', H.FIX_BASE + 0x20_0000);
      assert.equal(p.processor.inspect.freeEpcPages, p.processor.epcPages - 10);
      assert.equal(p.kernel32.DeleteEnclave(a), true);
      assert.equal(p.processor.inspect.freeEpcPages, p.processor.epcPages - 5);
      assert.deepEqual(p.processor.inspect.enclaves().map((e) => e.baseAddr), [b]);
      H.initialize(p, b, L);
      H.teardown(p);
    });

    test('the Nt layer drives a lifecycle: NTSTATUS results and *BaseAddress written back', () => {
      const p = H.platformFor(profile);
      const nt = p.kernel32.nt;
      const baseBox = { value: 0 };
      assert.equal(nt.NtCreateEnclave(HP, baseBox, 0, L.size, 0, W.ENCLAVE_TYPE_SGX, L.secs(), 4096, null), 0);
      assert.ok(baseBox.value > 0 && baseBox.value % 0x20_0000 === 0);
      const base = baseBox.value;
      assert.equal(nt.NtCreateEnclave(HP, { value: base }, 0, L.size, 0, W.ENCLAVE_TYPE_SGX, L.secs(), 4096, null), W.STATUS_CONFLICTING_ADDRESSES);
      assert.equal(nt.NtCreateEnclave(HP, { value: 0 }, 1, L.size, 0, W.ENCLAVE_TYPE_SGX, L.secs(), 4096, null), W.STATUS_INVALID_PARAMETER_3, 'ZeroBits ≠ 0');
      for (const pg of L.pages) {
        const written = { value: H.SENT_OUT };
        assert.equal(nt.NtLoadEnclaveData(HP, base + pg.offset, pg.data, PAGE, pg.protect, null, 0, written, null), 0);
        assert.equal(written.value, PAGE);
      }
      const err = { value: H.SENT_OUT };
      assert.equal(nt.NtInitializeEnclave(HP, base, L.initInfo(), 4096, err), 0);
      assert.equal(err.value, 0);
      assert.equal(nt.NtInitializeEnclave(HP, base, L.initInfo(), 4096, err), W.STATUS_ALREADY_INITIALIZED);
      assert.equal(nt.deleteEnclave(base), 0);
      assert.equal(nt.deleteEnclave(base), W.STATUS_CONFLICTING_ADDRESSES);
      H.teardown(p);
    });

    test('out-parameters given as process addresses: *lpEnclaveError is 4 bytes, *lpNumberOfBytesWritten 8 bytes', () => {
      const p = H.platformFor(profile);
      const base = H.create(p, L);
      const out = H.hostBuffer(p, new Uint8Array(64).fill(0xee));
      for (const pg of L.pages) assert.equal(p.kernel32.LoadEnclaveData(HP, base + pg.offset, pg.data, PAGE, pg.protect, null, 0, out, null), true);
      assert.deepEqual([...p.process.read(out, 12)], [0x00, 0x10, 0, 0, 0, 0, 0, 0, 0xee, 0xee, 0xee, 0xee]);
      p.process.write(out, new Uint8Array(12).fill(0xee));
      assert.equal(p.kernel32.InitializeEnclave(HP, base, L.initInfo(L.sigstruct({ enclaveHash: new Uint8Array(32) })), 4096, out), false);
      assert.deepEqual([...p.process.read(out, 8)], [4, 0, 0, 0, 0xee, 0xee, 0xee, 0xee]);
      assert.equal(p.kernel32.InitializeEnclave(HP, base, L.initInfo(), 4096, out), true);
      assert.deepEqual([...p.process.read(out, 8)], [0, 0, 0, 0, 0xee, 0xee, 0xee, 0xee]);
      H.teardown(p);
    });

    test('*lpNumberOfBytesWritten not writable → the call fails and adds nothing', () => {
      const p = H.platformFor(profile);
      const base = H.create(p, L);
      const ro = p.kernel32.VirtualAlloc(0, PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READONLY);
      const before = H.epcState(p);
      assert.deepEqual(observe(p, () => p.kernel32.LoadEnclaveData(HP, base, L.pages[0]!.data, PAGE, L.pages[0]!.protect, null, 0, ro, null)), failed(998, 0xc0000005));
      assert.deepEqual(H.epcState(p), before);
      H.teardown(p);
    });

    test('*lpEnclaveError not writable (a read-only page) → InitializeEnclave fails before EINIT (998), the enclave stays uninitialized; then it initializes', () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      const ro = p.kernel32.VirtualAlloc(0, PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READONLY);
      for (const info of [L.initInfo(), L.initInfo(L.sigstruct({ enclaveHash: new Uint8Array(32) }))]) {
        assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, base, info, 4096, ro)), failed(998, 0xc0000005));
        assert.equal(p.kernel.enclaves[0]!.state, 'created');
      }
      H.initialize(p, base, L);
      H.teardown(p);
    });

    test('an out-parameter box that cannot be written (frozen, a getter without a setter, an inherited read-only `value`, not extensible) is refused like an unwritable address, before anything irreversible: no TypeError', () => {
      const p = H.platformFor(profile);
      const base = H.create(p, L);
      const accessor = { get value() { return 0; } } as { value: number };
      const inherited = Object.create(Object.freeze({ value: 0 })) as { value: number };
      const before = H.epcState(p);
      for (const box of [Object.freeze({ value: 0 }), accessor, inherited, Object.preventExtensions({}) as { value: number }]) {
        assert.deepEqual(observe(p, () => p.kernel32.LoadEnclaveData(HP, base, L.pages[0]!.data, PAGE, L.pages[0]!.protect, null, 0, box, null)), failed(998, 0xc0000005), 'LoadEnclaveData');
        assert.deepEqual(H.epcState(p), before, 'nothing added');
      }
      H.loadRest(p, base, L);
      for (const box of [Object.freeze({ value: 0 }), accessor]) {
        assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, base, L.initInfo(), 4096, box)), failed(998, 0xc0000005), 'InitializeEnclave');
        assert.equal(p.kernel.enclaves[0]!.state, 'created');
      }
      const plain = Object.create({ value: 7 }) as { value: number }; // an inherited writable `value`: the box gets its own
      assert.equal(p.kernel32.InitializeEnclave(HP, base, L.initInfo(), 4096, plain), true);
      assert.equal(Object.getOwnPropertyDescriptor(plain, 'value')?.value, 0);
      const va = p.kernel32.VirtualAlloc(0, PAGE, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
      assert.deepEqual(observe(p, () => p.kernel32.ReadProcessMemory(HP, va, new Uint8Array(16), 16, Object.freeze({ value: 0 }))), failed(998, 0xc0000005), 'ReadProcessMemory');
      H.teardown(p);
    });

    test('a box that passes the probe but throws when written (a Proxy) is a failed write (998), not an exception', () => {
      const p = H.platformFor(profile);
      const base = H.create(p, L);
      const liar = new Proxy({ value: 0 }, { set: () => { throw new Error('no'); } });
      const r = observe(p, () => p.kernel32.LoadEnclaveData(HP, base, L.pages[0]!.data, PAGE, L.pages[0]!.protect, null, 0, liar, null));
      assert.deepEqual(r, failed(998, 0xc0000005));
      H.teardown(p);
    });

    test('NtCreateEnclave with a frozen BaseAddress box: STATUS_ACCESS_VIOLATION before ECREATE, the EPC untouched', () => {
      const p = H.platformFor(profile);
      const before = H.epcState(p);
      const st = p.kernel32.nt.NtCreateEnclave(HP, Object.freeze({ value: H.FIX_BASE }), 0, L.size, 0, W.ENCLAVE_TYPE_SGX, L.secs(), W.ENCLAVE_CREATE_INFO_SGX_SIZE, null);
      assert.equal(st, W.STATUS_ACCESS_VIOLATION);
      assert.equal(p.kernel.enclaves.length, 0);
      assert.deepEqual(H.epcState(p), before);
    });

    test('ENCLAVE_TYPE_SGX2 lifecycle', sgx2Only(profile), () => {
      const { p } = initializedSgx2(profile);
      assert.equal(p.kernel.enclaves[0]!.type, W.ENCLAVE_TYPE_SGX2);
      H.teardown(p);
    });

    test('VirtualAlloc(MEM_COMMIT) in an initialized SGX2 enclave EAUGs each page: PT_REG, RW, PENDING until the enclave accepts it, mapped, the abort page to the host; other protections and pages there already are refused (os-api.md §2.15)', sgx2Only(profile), () => {
      const { p, base } = initializedSgx2(profile);
      const at = base + 0x1_0000;
      try {
        const before = H.epcState(p);
        assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(at, PAGE, W.MEM_COMMIT, W.PAGE_EXECUTE_READ)), failed(87, W.STATUS_INVALID_PAGE_PROTECTION, 0), 'only PAGE_READWRITE: what EAUG gives');
        assert.deepEqual(H.epcState(p), before);
        const free = p.kernel.epc.availablePages;
        assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(at + 100, PAGE + 1, W.MEM_COMMIT, W.PAGE_READWRITE)), { ret: at, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
        assert.equal(p.kernel.epc.availablePages, free - 2);
        const enc = p.kernel.enclaves[0]!;
        for (let i = 0; i < 2; i++) {
          const pa = enc.pages.get(at + i * PAGE)!;
          const x = p.processor.inspect.epcm(pa);
          assert.deepEqual([x.valid, x.pageType, x.r, x.w, x.x, x.pending, x.linAddr], [true, 2, true, true, false, true, at + i * PAGE], `page ${i}`);
          assert.equal(p.process.pageTable.lookup(at / PAGE + i)?.pfn, pa / PAGE, `page ${i} mapped`);
        }
        const buf = new Uint8Array(16);
        assert.equal(p.kernel32.ReadProcessMemory(HP, at, buf, 16, null), true);
        assert.deepEqual(buf, new Uint8Array(16).fill(0xff), 'the abort page');
        assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(at + PAGE, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE)), failed(487, W.STATUS_CONFLICTING_ADDRESSES, 0), 'a page there already');
      } finally {
        H.teardown(p);
      }
    });

    test('VirtualAlloc in an initialized SGX2 enclave whose SECS the pager evicted counts a page for the SECS: room for the pages only is the EPC-exhausted status with nothing added; one page more, the SECS comes back and the pages are added', sgx2Only(profile), () => {
      const { p, base } = initializedSgx2(profile);
      const enc = p.kernel.enclaves[0]!;
      for (const [la, pa] of [...enc.pages]) if ([2, 1].includes(p.processor.inspect.epcm(pa).pageType)) assert.equal(p.kernel.pager.evict(enc, la), 'evicted');
      assert.notEqual(enc.secsEvicted, null);
      const held: number[] = [];
      while (p.kernel.epc.availablePages > 2) held.push(p.kernel.epc.alloc(false));
      const at = base + 0x1_0000;
      try {
        assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(at, 2 * PAGE, W.MEM_COMMIT, W.PAGE_READWRITE)), failed(8, W.STATUS_NO_MEMORY, 0));
        assert.equal(enc.pages.size, 0, 'nothing added');
        p.kernel.epc.free(held.pop()!);
        assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(at, 2 * PAGE, W.MEM_COMMIT, W.PAGE_READWRITE)), { ret: at, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
        assert.equal(enc.secsEvicted, null, 'the SECS came back');
        assert.equal(enc.pages.size, 2);
      } finally {
        for (const pa of held) p.kernel.epc.free(pa);
        H.teardown(p);
      }
    });
  });
}

// ---- deletion while a thread is inside ---------------------------------------------------------------

interface HookObservation {
  readonly hookLp: number;
  readonly hookLpInEnclave: boolean;
  readonly activeThreads: number;
  readonly del: H.Observed | { threw: string };
  readonly release: H.Observed | { threw: string };
  readonly unchanged: boolean;
}

function deleteFromStepHook(p: Platform): { obs: HookObservation | null; ret: unknown; greeting: string; base: number; finish: () => void } {
  const hello = helloEnclave();
  const e = loadEnclave(p, hello.built.image, { sigstruct: hello.sigstruct, ocalls: { ocall_print: () => undefined } });
  let obs: HookObservation | null = null;
  const attempt = (fn: () => boolean): H.Observed | { threw: string } => {
    try {
      return observe(p, fn);
    } catch (x) {
      return { threw: `${(x as Error).constructor.name} ${(x as { code?: string }).code ?? ''}: ${(x as Error).message}` };
    }
  };
  p.processor.setStepHook((lp: LogicalProcessor) => {
    if (obs) return;
    const before = H.epcState(p);
    // the kernel's work, triggered at the enclave's interrupt window (an OS thread on another LP)
    const del = attempt(() => p.kernel32.DeleteEnclave(e.base));
    const release = attempt(() => p.kernel32.VirtualFree(e.base, 0, W.MEM_RELEASE));
    let unchanged = true;
    try {
      assert.deepEqual(H.epcState(p), before);
    } catch {
      unchanged = false;
    }
    obs = { hookLp: lp.index, hookLpInEnclave: lp.inEnclaveMode, activeThreads: p.processor.inspect.enclaves()[0]?.activeThreads ?? -1, del, release, unchanged };
  });
  const g = new Uint8Array(80);
  let ret: unknown;
  try {
    ret = e.ecall('ecall_hello', ['Witness', g, g.length]);
  } finally {
    p.processor.setStepHook(null);
  }
  const n = typeof ret === 'number' ? ret : 0;
  return { obs, ret, greeting: new TextDecoder().decode(g.subarray(0, n)), base: e.base, finish: () => e.destroy() };
}

describe('§2.12 DeleteEnclave while a thread is inside the enclave', () => {
  for (const profile of H.SGX_PROFILES) {
    test(`[${profile}] from the step hook during an ECALL on LP0: FALSE, 814, STATUS_ENCLAVE_NOT_TERMINATED; nothing removed; the ECALL completes`, () => {
      const p = H.platformFor(profile);
      const r = deleteFromStepHook(p);
      assert.ok(r.obs, 'the step hook ran');
      assert.deepEqual(r.obs, {
        hookLp: 0, hookLpInEnclave: true, activeThreads: 1,
        del: failed(814, 0xc0000511), release: failed(814, 0xc0000511), unchanged: true,
      });
      assert.equal(r.ret, 40);
      assert.equal(r.greeting, 'Hello, Witness, from inside the enclave!');
      // once the thread has left, deletion succeeds
      assert.equal(p.processor.inspect.enclaves()[0]!.activeThreads, 0);
      r.finish();
      H.assertPristine(p, 'after the enclave and its arena are released');
    });
  }

  // With a single logical processor that is inside the enclave, no processor is left to run the
  // kernel (on hardware the kernel runs only after an interrupt has made the thread leave the
  // enclave): the model refuses with a typed error instead of pretending.
  test('[win-x64-sgx1] with one logical processor inside the enclave, kernel work from the step hook is refused (OsError NO_FREE_LP)', () => {
    const p = H.platformFor('win-x64-sgx1', { processor: { logicalProcessors: 1 } });
    let error: unknown = null;
    const hello = helloEnclave();
    const e = loadEnclave(p, hello.built.image, { sigstruct: hello.sigstruct, ocalls: { ocall_print: () => undefined } });
    p.processor.setStepHook(() => {
      if (error) return;
      try {
        p.kernel32.DeleteEnclave(e.base);
      } catch (err) {
        error = err;
      }
    });
    try {
      e.ecall('ecall_hello', ['x', new Uint8Array(16), 16]);
    } catch {
      // the call itself may be aborted; what matters is the refusal below
    } finally {
      p.processor.setStepHook(null);
    }
    assert.ok(error instanceof OsError, String(error));
    assert.equal((error as OsError).code, 'NO_FREE_LP');
    e.destroy();
    H.assertPristine(p);
  });

  test('[win-x64-sgx1] the SDK loader retries ERROR_RETRY: an interrupt pending on LP0 does not stop loadEnclave', () => {
    const p = H.platformFor('win-x64-sgx1');
    const hello = helloEnclave();
    p.processor.lps[0]!.injectInterrupt();
    const e = loadEnclave(p, hello.built.image, { sigstruct: hello.sigstruct, ocalls: { ocall_print: () => undefined } });
    assert.equal(p.processor.lps[0]!.interruptPending, false);
    assert.equal(p.processor.inspect.enclaves()[0]!.state, 'initialized');
    e.destroy();
    H.assertPristine(p);
  });
});

// ---- §2.8 #14: failures part-way through a multi-page LoadEnclaveData -----------------------------------

// Witness validates every page before the first EADD (an EADD cannot be undone), so a multi-page
// call that would fail part-way adds nothing and reports 0 bytes: stricter than §2.8 #14's
// inference (which keeps pages 1..k-1), and what the project's "no trace" rule asks for.
describe('§2.8 #10–#14 failures part-way: nothing is added, *lpNumberOfBytesWritten = 0', () => {
  test('the second of two pages is a duplicate → 487, nothing added, *written = 0', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    H.loadPage(p, base, L.pages[1]!);
    const written = { value: H.SENT_OUT };
    const r = observe(p, () => p.kernel32.LoadEnclaveData(HP, base, L.pages[0]!.data.slice(), 2 * PAGE, W.PAGE_READWRITE, null, 0, written, null));
    try {
      assert.deepEqual(r, failed(487, 0xc0000018));
      assert.equal(written.value, 0);
      assert.equal(p.processor.inspect.enclaves()[0]!.pages, 1);
    } finally {
      H.teardown(p);
    }
  });
  test('the second of two buffer pages is unreadable → 998, nothing added, *written = 0', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    const r0 = p.kernel32.VirtualAlloc(0, 0x1_0000, W.MEM_RESERVE, W.PAGE_READWRITE);
    p.kernel32.VirtualAlloc(r0, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE);
    const written = { value: H.SENT_OUT };
    const r = observe(p, () => p.kernel32.LoadEnclaveData(HP, base + 0x4000, r0, 2 * PAGE, W.PAGE_READWRITE, null, 0, written, null));
    try {
      assert.deepEqual(r, failed(998, 0xc0000005));
      assert.equal(written.value, 0);
      assert.equal(p.processor.inspect.enclaves()[0]!.pages, 0);
    } finally {
      H.teardown(p);
    }
  });
  test('the EPC cannot hold three pages → 8, nothing added, *written = 0', () => {
    const p = H.platformFor('win-x64-sgx1', { epcSize: 3 * PAGE });
    const base = H.create(p, L);
    const written = { value: H.SENT_OUT };
    const r = observe(p, () => p.kernel32.LoadEnclaveData(HP, base + 0x4000, new Uint8Array(3 * PAGE), 3 * PAGE, W.PAGE_READWRITE, null, 0, written, null));
    try {
      assert.deepEqual(r, failed(8, 0xc0000017));
      assert.equal(written.value, 0);
      assert.equal(p.processor.inspect.enclaves()[0]!.pages, 0);
    } finally {
      H.teardown(p);
    }
  });
  test('duplicate on the first page: *written = 0', () => {
    const p = H.platformFor('win-x64-sgx1');
    const base = H.create(p, L);
    H.loadPage(p, base, L.pages[0]!);
    const written = { value: H.SENT_OUT };
    assert.deepEqual(observe(p, () => p.kernel32.LoadEnclaveData(HP, base, L.pages[0]!.data, PAGE, L.pages[0]!.protect, null, 0, written, null)), failed(487, 0xc0000018));
    try {
      assert.equal(written.value, 0);
    } finally {
      H.teardown(p);
    }
  });
});

// ---- VirtualAlloc(MEM_COMMIT) in an enclave (VirtualAlloc docs, lpAddress) ---------------------------

describe('VirtualAlloc(MEM_COMMIT) inside an enclave: a page of zeros, added (EADD) but not measured (no EEXTEND), before InitializeEnclave only', () => {
  const ZERO_AT = 0x1_0000;
  const zeroPages = (n: number): H.LayoutPage[] => Array.from({ length: n }, (_, i) => ({ offset: ZERO_AT + i * PAGE, protect: (W.PAGE_READWRITE | W.PAGE_ENCLAVE_UNVALIDATED) >>> 0, data: new Uint8Array(PAGE) }));
  for (const profile of H.SGX_PROFILES) {
    test(`${profile}: two pages of zeros; MRENCLAVE gains their EADD records only; the enclave initializes with a SIGSTRUCT that counts them, not with one that does not`, () => {
      const p = H.platformFor(profile);
      const base = H.buildTo(p, L, 'loaded');
      const free = p.kernel.epc.availablePages;
      const r = observe(p, () => p.kernel32.VirtualAlloc(base + ZERO_AT + 100, PAGE + 1, W.MEM_COMMIT, W.PAGE_READWRITE));
      try {
        assert.deepEqual(r, { ret: base + ZERO_AT, err: H.SENT_ERR, nt: W.STATUS_SUCCESS });
        assert.equal(p.kernel.epc.availablePages, free - 2, 'two EPC pages (the byte range touches two pages)');
        const enc = p.kernel.enclaves[0]!;
        for (let i = 0; i < 2; i++) assert.deepEqual(H.debugRead(p, enc.pages.get(base + ZERO_AT + i * PAGE)!, PAGE), new Uint8Array(PAGE), `page ${i} reads zeros`);
        for (let i = 0; i < 2; i++) {
          const e = p.process.pageTable.lookup((base + ZERO_AT) / PAGE + i);
          assert.equal(e?.pfn, enc.pages.get(base + ZERO_AT + i * PAGE)! / PAGE, `page ${i} mapped to its EPC frame, as LoadEnclaveData maps`);
        }
        const buf = new Uint8Array(16);
        assert.equal(p.kernel32.ReadProcessMemory(HP, base + ZERO_AT, buf, 16, null), true, 'the host reads the abort page there');
        assert.deepEqual(buf, new Uint8Array(16).fill(0xff));
        const withZeros = new H.TestLayout({ pages: [...L.pages, ...zeroPages(2)] });
        const err = { value: H.SENT_OUT };
        assert.equal(p.kernel32.InitializeEnclave(HP, base, L.initInfo(), 4096, err), false, 'the SIGSTRUCT of the layout without the two pages');
        assert.equal(err.value, 4, 'SGX_INVALID_MEASUREMENT');
        H.initialize(p, base, withZeros);
        assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(base + ZERO_AT + 2 * PAGE, PAGE, W.MEM_COMMIT, W.PAGE_READWRITE)), failed(487, W.STATUS_CONFLICTING_ADDRESSES, 0), 'initialized: ERROR_INVALID_ADDRESS');
      } finally {
        H.teardown(p);
      }
    });
  }

  test('refused with nothing added: a page already added (487), past the enclave\'s end (487), PAGE_NOACCESS or an enclave page flag (invalid protection), more pages than the EPC holds (8)', () => {
    const p = H.platformFor('win-x64-sgx1', { epcSize: 8 * PAGE });
    const base = H.buildTo(p, L, 'loaded');
    const before = H.epcState(p);
    const pages = () => p.processor.inspect.enclaves()[0]!.pages;
    const n0 = pages();
    try {
      assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(base + 0x1000, 2 * PAGE, W.MEM_COMMIT, W.PAGE_READWRITE)), failed(487, W.STATUS_CONFLICTING_ADDRESSES, 0), 'the second page (0x2000) was loaded');
      assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(base + L.size - PAGE, 2 * PAGE, W.MEM_COMMIT, W.PAGE_READWRITE)), failed(487, W.STATUS_CONFLICTING_ADDRESSES, 0), 'past the end');
      for (const prot of [W.PAGE_NOACCESS, (W.PAGE_READWRITE | W.PAGE_ENCLAVE_UNVALIDATED) >>> 0, (W.PAGE_READWRITE | W.PAGE_ENCLAVE_THREAD_CONTROL) >>> 0, W.PAGE_READWRITE | W.PAGE_GUARD]) {
        const r = observe(p, () => p.kernel32.VirtualAlloc(base + ZERO_AT, PAGE, W.MEM_COMMIT, prot));
        assert.equal(r.ret, 0, `protection 0x${prot.toString(16)}`);
        assert.equal(r.nt, W.STATUS_INVALID_PAGE_PROTECTION, `protection 0x${prot.toString(16)}`);
      }
      assert.deepEqual(observe(p, () => p.kernel32.VirtualAlloc(base + ZERO_AT, 8 * PAGE, W.MEM_COMMIT, W.PAGE_READWRITE)), failed(8, W.STATUS_NO_MEMORY, 0), 'the EPC is too small');
      assert.equal(pages(), n0, 'nothing added');
      assert.deepEqual(H.epcState(p), before);
    } finally {
      H.teardown(p);
    }
  });
});

test('VirtualAlloc(NULL, n, MEM_COMMIT) reserves and commits (MEM_COMMIT docs: only a non-NULL lpAddress needs a reservation)', () => {
  const p = H.platformFor('win-x64-sgx1');
  const a = p.kernel32.VirtualAlloc(0, 5000, W.MEM_COMMIT, W.PAGE_READWRITE);
  assert.notEqual(a, 0, `VirtualAlloc failed: ${p.kernel32.GetLastError()}`);
  assert.equal(a % 0x1_0000, 0, 'at the allocation granularity');
  p.process.write(a + 8000, Uint8Array.of(1, 2, 3));
  assert.deepEqual(p.process.read(a + 8000, 3), Uint8Array.of(1, 2, 3), 'both pages committed');
  assert.equal(p.kernel32.VirtualFree(a, 0, W.MEM_RELEASE), true);
});

// ---- §2.9 launch policy 'flc-restricted' ----------------------------------------------------------------

test("'flc-restricted': a production enclave is refused even after a debug enclave of the same signer was initialized", () => {
  const p = H.platformFor('win-x64-sgx1', { windows: { launchPolicy: 'flc-restricted' } });
  const prod = new H.TestLayout({ flags: ATTR.MODE64BIT, marker: 'production' });
  const pb = H.buildTo(p, prod, 'loaded', H.FIX_BASE);
  const err = { value: H.SENT_OUT };
  assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, pb, prod.initInfo(), 4096, err)), failed(349, W.STATUS_ENCLAVE_FAILURE));
  assert.equal(err.value, 16);
  H.buildTo(p, L, 'initialized', H.FIX_BASE + 0x20_0000);
  try {
    assert.deepEqual(observe(p, () => p.kernel32.InitializeEnclave(HP, pb, prod.initInfo(), 4096, err)), failed(349, W.STATUS_ENCLAVE_FAILURE));
    assert.equal(err.value, 16);
  } finally {
    H.teardown(p);
  }
});
