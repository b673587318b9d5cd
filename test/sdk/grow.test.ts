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
import { buildFixture, fixtureModule, fixtureInterface, loadFixture, callStatus } from '../helpers/sdk.js';

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
});
