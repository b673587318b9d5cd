/**
 * A heap that grows (SGX2 in the SDK): heapMaxSize above heapSize reserves ELRANGE; on an SGX2
 * platform the module's memory.grow (C's sbrk, through malloc) asks the host for pages
 * (OCALL_HEAP_COMMIT: VirtualAlloc(MEM_COMMIT) in an ENCLAVE_TYPE_SGX2 enclave, or the driver's
 * EAUG at the first touch of an mmap-ed range), EACCEPTs them and maps them; elsewhere memory.grow
 * fails (malloc returns NULL) and the enclave goes on. The same image, the same MRENCLAVE, on both.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform, createLinuxPlatform, type Platform, type LinuxPlatform } from '../../src/platform/index.js';
import { buildImage, RUNTIME_HEADER, STATUS, type HostEnclave } from '../../src/sdk/index.js';
import { SdkError } from '../../src/sdk/errors.js';
import { buildFixture, fixtureModule, fixtureInterface, loadFixture, callStatus, signFixture } from '../helpers/sdk.js';
import { loadEnclave } from '../../src/sdk/index.js';
import { leb, sleb, name, vec, section, body, functype, wasmModule, I32 } from '../helpers/wasm.js';

/**
 * A module with the grow fixture's ECALLs whose initializer (`_initialize`, or a start function)
 * runs memory.grow(4) at load and keeps the answer, which ecall_checksum returns; ecall_grow(n) is
 * memory.grow(n), ecall_pages memory.size. (A review's reproduction: the first ECALL, the one
 * that loads the enclave, was lost to the heap commit's ORET registers.)
 */
function growsAtLoad(useStart: boolean): Uint8Array {
  const GROW = [0x40, 0x00];
  return wasmModule([
    section(1, vec([functype([I32, I32], [I32]), functype([], [I32]), functype([], []), functype([I32], [I32]), functype([I32], [])])),
    section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...leb(4)]])),
    section(3, vec([[0], [1], [2], [1], [3], [0], [2], [3], [4]])),
    section(6, vec([[I32, 0x01, 0x41, ...sleb(-2), 0x0b]])),
    section(7, vec([
      [...name('ecall_alloc'), 0, 0], [...name('ecall_checksum'), 0, 1], [...name('ecall_free_all'), 0, 2], [...name('ecall_pages'), 0, 3],
      [...name('ecall_grow'), 0, 4], [...name('ecall_sum'), 0, 5], ...(useStart ? [] : [[...name('_initialize'), 0, 6]]),
      [...name('witness_alloc'), 0, 7], [...name('witness_free'), 0, 8],
    ])),
    ...(useStart ? [section(8, leb(6))] : []),
    section(10, vec([
      body([], [0x41, 0]), body([], [0x23, 0]), body([], []), body([], [0x3f, 0x00]),
      body([], [0x20, 0, ...GROW]), body([], [0x41, 0]),
      body([], [0x41, 4, ...GROW, 0x24, 0]),
      body([], [0x41, 0]), body([], []),
    ])),
  ]);
}

const GROWING = { heapSize: 256 << 10, heapMaxSize: 4 << 20 } as const;
const MIB = 1 << 20;

type AnyPlatform = Platform | LinuxPlatform;
const PROFILES: readonly [string, () => AnyPlatform, boolean][] = [
  ['win-x64-sgx2', () => createPlatform({ profile: 'win-x64-sgx2', epcSize: 16 << 20 }), true],
  ['linux-sgx2', () => createLinuxPlatform({ profile: 'linux-sgx2', epcSize: 16 << 20 }), true],
  ['win-x64-sgx1', () => createPlatform({ profile: 'win-x64-sgx1', epcSize: 16 << 20 }), false],
  ['linux-sgx1', () => createLinuxPlatform({ profile: 'linux-sgx1', epcSize: 16 << 20 }), false],
];

const call = (e: HostEnclave, name: string, ...args: (number | Uint8Array)[]) => e.ecall(name, args);

describe('a heap that grows (heapMaxSize, SGX2)', () => {
  for (const [profile, make, sgx2] of PROFILES) {
    test(`${profile}: ${sgx2 ? 'malloc past the heap grows the memory with pages the enclave accepted; contents kept; an [in] buffer larger than the loaded heap arrives; EPC given back at removal' : 'the same image loads; malloc past the heap fails (NULL) and the enclave goes on'}`, () => {
      const p = make();
      const free = p.processor.inspect.freeEpcPages;
      const e = loadFixture(p, 'grow', { config: GROWING, arenaSize: 4 * MIB });
      assert.equal(call(e, 'ecall_pages'), 4);
      assert.equal(call(e, 'ecall_alloc', 64 << 10, 1), 1, 'within the loaded heap');
      assert.equal(call(e, 'ecall_alloc', 2 * MIB, 3), sgx2 ? 1 : 0);
      const pages = call(e, 'ecall_pages') as number;
      if (sgx2) {
        assert.ok(pages >= 4 + 30 && pages <= 40, `grew to ${pages} pages`);
        assert.equal(call(e, 'ecall_checksum'), (64 << 10) + 3 * 2 * MIB);
        assert.equal(e.stats.heapCommitted, (pages - 4) * 65536, 'exactly the pages the memory grew by');
        assert.equal(call(e, 'ecall_grow', 0), pages, 'memory.grow(0) answers the size');
        assert.equal(call(e, 'ecall_grow', 64), -1, 'past heapMaxSize: −1');
        assert.equal(call(e, 'ecall_grow', 0xffffffff), -1, 'the operand is unsigned');
        const big = new Uint8Array(MIB).fill(5);
        assert.equal(call(e, 'ecall_sum', big, big.length), 5 * MIB);
      } else {
        assert.equal(pages, 4);
        assert.equal(e.stats.heapCommitted, 0);
        assert.equal(call(e, 'ecall_grow', 1), -1);
        assert.equal(call(e, 'ecall_alloc', 64 << 10, 1), 1, 'the enclave goes on');
        assert.equal(call(e, 'ecall_checksum'), 2 * (64 << 10));
      }
      e.destroy();
      assert.equal(p.processor.inspect.freeEpcPages, free, 'every page back, the ones added after EINIT too');
    });
  }

  test('MRENCLAVE: a heap that cannot grow measures as before the field (HEAP_MAX_SIZE 0); a reserve changes it (SECS.SIZE and the header); the header names the maximum', () => {
    const plain = buildFixture('grow', { heapSize: 256 << 10 });
    const same = buildFixture('grow', { heapSize: 256 << 10, heapMaxSize: 256 << 10 });
    const growing = buildFixture('grow', GROWING);
    assert.deepEqual(same.mrenclave, plain.mrenclave);
    assert.notDeepEqual(growing.mrenclave, plain.mrenclave);
    assert.equal(growing.image.manifest.layout.heap.max, 4 * MIB);
    const header = (b: typeof plain) => RUNTIME_HEADER.decode(b.layout.pages.find((q) => q.kind === 'header')!.data!, { allowReserved: true });
    assert.equal(header(plain).HEAP_MAX_SIZE, 0n);
    assert.equal(header(growing).HEAP_MAX_SIZE, BigInt(4 * MIB));
    assert.ok(growing.layout.size >= growing.layout.heap.offset + 4 * MIB, 'ELRANGE holds the reserve');
    assert.equal(growing.layout.pages.filter((q) => q.kind === 'heap').length, 64, 'only heapSize is added at load');
  });

  test('bad configurations are CONFIG_INVALID; a module whose memory may not grow that far is refused at build', () => {
    for (const heapMaxSize of [(256 << 10) - 65536, (256 << 10) + 4096, 2 ** 32 + 65536, 1.5, -1]) {
      assert.throws(() => buildImage({ module: fixtureModule('grow'), interface: fixtureInterface('grow'), config: { heapSize: 256 << 10, heapMaxSize } }), (x: unknown) => x instanceof SdkError && x.code === 'CONFIG_INVALID' && /heapMaxSize/.test(x.message), String(heapMaxSize));
    }
    // The heap fixture's module allows 1 MiB of memory (enclave-cc.sh's default --max-memory).
    assert.throws(() => buildImage({ module: fixtureModule('heap'), interface: fixtureInterface('heap'), config: { heapSize: 1 << 20, heapMaxSize: 2 << 20 } }), (x: unknown) => x instanceof SdkError && /may grow to 32/.test(x.message));
  });

  test('the OS cannot give the pages (the EPC is full): malloc fails, nothing is committed, the enclave goes on', () => {
    const p = createPlatform({ profile: 'win-x64-sgx2', epcSize: 2 << 20 });
    const e = loadFixture(p, 'grow', { config: { heapSize: 256 << 10, heapMaxSize: 16 << 20 } });
    assert.equal(call(e, 'ecall_alloc', 8 * MIB, 1), 0);
    assert.equal(e.stats.heapCommitted, 0);
    assert.equal(call(e, 'ecall_pages'), 4);
    assert.equal(call(e, 'ecall_alloc', 128 << 10, 2), 1);
    e.destroy();
  });

  test('linux-sgx2 with the EPC full and nothing to reclaim: the driver cannot add the page at the fault (SIGBUS, as sgx_encl_eaug_page answers -ENOMEM), so the enclave crashes; its pages all come back', () => {
    const p = createLinuxPlatform({ profile: 'linux-sgx2', epcSize: 2 << 20 });
    const free = p.processor.inspect.freeEpcPages;
    const e = loadFixture(p, 'grow', { config: { heapSize: 256 << 10, heapMaxSize: 16 << 20 } });
    assert.equal(callStatus(() => call(e, 'ecall_alloc', 8 * MIB, 1)), STATUS.ENCLAVE_CRASHED);
    assert.equal(e.stats.exceptions, 1);
    e.destroy();
    assert.equal(p.processor.inspect.freeEpcPages, free);
  });

  test('a host that answers SUCCESS without committing: the enclave\'s EACCEPT faults and it crashes; nothing unaccepted is ever mapped into its memory', () => {
    const p = createPlatform({ profile: 'win-x64-sgx2', epcSize: 16 << 20 });
    const k32 = p.kernel32 as unknown as { VirtualAlloc: (a: number, s: number, t: number, f: number) => number };
    const honest = k32.VirtualAlloc.bind(p.kernel32);
    const e = loadFixture(p, 'grow', { config: GROWING });
    k32.VirtualAlloc = (a, s, t, f) => (a >= e.base && a < e.base + e.size ? a : honest(a, s, t, f));
    assert.equal(callStatus(() => call(e, 'ecall_alloc', MIB, 1)), STATUS.ENCLAVE_CRASHED);
    assert.equal(callStatus(() => call(e, 'ecall_pages')), STATUS.ENCLAVE_CRASHED);
    k32.VirtualAlloc = honest;
    e.destroy();
  });

  for (const useStart of [false, true]) {
    test(`memory.grow while the enclave loads (${useStart ? 'a start function' : '_initialize'}): the pages come, and the ECALL that loaded it runs`, () => {
      const p = createPlatform({ profile: 'win-x64-sgx2', epcSize: 16 << 20 });
      const b = buildImage({ module: growsAtLoad(useStart), interface: fixtureInterface('grow'), config: GROWING });
      const e = loadEnclave(p, b.image, { sigstruct: signFixture(b) });
      assert.equal(call(e, 'ecall_checksum'), 4, 'the load-time memory.grow(4) answered the old size, and this first ECALL ran');
      assert.equal(call(e, 'ecall_pages'), 8);
      e.destroy();
    });
  }

  /** Thread A grows by 2 pages; inside the host's VirtualAlloc for A's pages, before or after committing them, the host enters thread B, which grows by 3. */
  function interleaved(commitFirst: boolean) {
    const p = createPlatform({ profile: 'win-x64-sgx2', epcSize: 16 << 20 });
    const k32 = p.kernel32 as unknown as { VirtualAlloc: (a: number, s: number, t: number, f: number) => number };
    const honest = k32.VirtualAlloc.bind(p.kernel32);
    const e = loadFixture(p, 'grow', { config: GROWING });
    let nested: number | null = null, armed = true;
    k32.VirtualAlloc = (a, s, t, f) => {
      if (!armed || a < e.base || a >= e.base + e.size) return honest(a, s, t, f);
      armed = false;
      const r = commitFirst ? honest(a, s, t, f) : 0;
      nested = e.ecall('ecall_grow', [3], { newThread: true }) as number;
      return commitFirst ? r : honest(a, s, t, f);
    };
    const outer = call(e, 'ecall_grow', 2) as number;
    k32.VirtualAlloc = honest;
    return { e, nested, outer };
  }

  test('another thread asks for the same pages while this one is out asking: one growth fails (−1), the other is whole, no page is accepted before the host committed it, the enclave goes on', () => {
    // The host commits A's pages, then enters B: B's request overlaps them, the host refuses it.
    const first = interleaved(true);
    assert.deepEqual([first.nested, first.outer, call(first.e, 'ecall_pages')], [-1, 4, 6]);
    // The host enters B before committing A's pages (a review's order): B's pages come first, A's request is refused.
    const second = interleaved(false);
    assert.deepEqual([second.nested, second.outer, call(second.e, 'ecall_pages')], [4, -1, 7]);
    for (const { e } of [first, second]) {
      assert.equal(call(e, 'ecall_alloc', 64 << 10, 1), 1);
      assert.equal(call(e, 'ecall_grow', 1) as number, call(e, 'ecall_pages') as number - 1);
      e.destroy();
    }
  });

  test('a fault while the enclave loads (the host claimed the pages an initializer\'s memory.grow asked for): the first ECALL fails with ENCLAVE_CRASHED and so does every later one; an entry while it loads is INVALID_STATE', () => {
    const p = createPlatform({ profile: 'win-x64-sgx2', epcSize: 16 << 20 });
    const b = buildImage({ module: growsAtLoad(false), interface: fixtureInterface('grow'), config: GROWING });
    const e = loadEnclave(p, b.image, { sigstruct: signFixture(b) });
    const k32 = p.kernel32 as unknown as { VirtualAlloc: (a: number, s: number, t: number, f: number) => number };
    const honest = k32.VirtualAlloc.bind(p.kernel32);
    k32.VirtualAlloc = (a, s, t, f) => (a >= e.base && a < e.base + e.size ? a : honest(a, s, t, f));
    assert.equal(callStatus(() => call(e, 'ecall_checksum')), STATUS.ENCLAVE_CRASHED);
    k32.VirtualAlloc = honest;
    assert.equal(callStatus(() => call(e, 'ecall_pages')), STATUS.ENCLAVE_CRASHED);
    e.destroy();
    // Entered on another thread while the first is out during its load.
    const p2 = createPlatform({ profile: 'win-x64-sgx2', epcSize: 16 << 20 });
    const e2 = loadEnclave(p2, b.image, { sigstruct: signFixture(b) });
    const k2 = p2.kernel32 as unknown as { VirtualAlloc: (a: number, s: number, t: number, f: number) => number };
    const honest2 = k2.VirtualAlloc.bind(p2.kernel32);
    let during: number | null = null;
    k2.VirtualAlloc = (a, s, t, f) => {
      if (a >= e2.base && a < e2.base + e2.size && during === null) during = callStatus(() => e2.ecall('ecall_pages', [], { newThread: true }));
      return honest2(a, s, t, f);
    };
    assert.equal(call(e2, 'ecall_checksum'), 4);
    k2.VirtualAlloc = honest2;
    assert.equal(during, STATUS.INVALID_STATE);
    assert.equal(call(e2, 'ecall_pages'), 8);
    e2.destroy();
  });
});
