/**
 * The SDK's host runtime on Linux (createLinuxPlatform): images load through the SGX driver as
 * Intel's loader does (ELRANGE reserved, CREATE, ADD_PAGES, mmap, INIT), run their ECALLs and
 * OCALLs, seal to the same keys as on Windows on the same processor, fail with the errno the
 * driver gives, and go with munmap + close.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLinuxPlatform, createPlatform, type LinuxPlatform } from '../../src/platform/index.js';
import { loadEnclave, EnclaveLoadError, sealedDataSize, type HostEnclave } from '../../src/sdk/index.js';
import { ERRNO } from '../../src/os/linux/index.js';
import { toHex } from '../../src/lib/index.js';
import { helloEnclave } from '../helpers/hello.js';
import { loadFixture, buildFixture, signFixture, STATUS } from '../helpers/sdk.js';

const SEED = new Uint8Array(32).fill(3);
const dec = new TextDecoder();

function linux(o: Parameters<typeof createLinuxPlatform>[0] = {}): LinuxPlatform {
  return createLinuxPlatform({ seed: SEED, epcSize: 16 << 20, ...o });
}

function hello(p: LinuxPlatform, printed: string[] = []): HostEnclave {
  const h = helloEnclave();
  return loadEnclave(p, h.built.image, { sigstruct: h.sigstruct, ocalls: { ocall_print: (m) => void printed.push(String(m)) } });
}

function greet(e: HostEnclave, name: string): string {
  const out = new Uint8Array(64);
  assert.ok((e.ecall('ecall_hello', [name, out, out.length]) as number) > 0);
  return dec.decode(out.subarray(0, out.indexOf(0)));
}

describe('SDK on Linux', () => {
  for (const profile of ['linux-sgx1', 'linux-sgx2'] as const) {
    it(`${profile}: the hello enclave loads through the driver, answers ECALLs and OCALLs, and has the MRENCLAVE it was signed for`, () => {
      const p = linux({ profile });
      const printed: string[] = [];
      const e = hello(p, printed);
      assert.match(greet(e, 'Linux'), /Linux/);
      assert.ok(printed.length > 0, 'the OCALL ran');
      const info = p.processor.inspect.enclaves().find((x) => x.baseAddr === e.base);
      assert.equal(toHex(info!.mrenclave!), toHex(helloEnclave().built.mrenclave));
      e.destroy();
    });
  }

  it('ELRANGE is mapped with each page\'s protection, the fd stays open while loaded; destroy unmaps, closes, and frees every EPC page', () => {
    const p = linux();
    const free = p.processor.inspect.freeEpcPages;
    const e = hello(p);
    const sys = p.libc.sys;
    const fds = [3, 4, 5].filter((fd) => sys.file(fd) !== undefined);
    assert.equal(fds.length, 1, 'one enclave fd');
    const region = p.process.regionAt(e.base);
    assert.ok(region && region.kind === 'enclave');
    assert.ok(p.process.pageTable.lookup(e.base / 4096), 'the first page (the runtime header) is mapped');
    assert.equal(greet(e, 'x').length > 0, true);
    e.destroy();
    assert.equal(sys.file(fds[0]!), undefined, 'closed');
    assert.equal(p.kernel.enclaves.length, 0);
    assert.equal(p.processor.inspect.freeEpcPages, free);
    assert.equal(p.process.regions.filter((r) => r.base < e.base + e.size && e.base < r.base + r.size).length, 0, 'ELRANGE unmapped');
  });

  it('an OCALL-heavy fixture (marshal: ecall_ocall_lie) works as on Windows', () => {
    const p = linux();
    let seen = 0;
    const e = loadFixture(p, 'marshal', {
      ocalls: {
        ocall_lie: (out, io) => {
          seen++;
          (out as Uint8Array).fill(0xa0);
          (io as Uint8Array).fill(0xd0);
          return 5;
        },
      },
    });
    const zone = new Uint8Array(64), ret = new Uint8Array(16);
    assert.equal(e.ecall('ecall_ocall_lie', [zone, ret]), STATUS.SUCCESS);
    assert.equal(seen, 1);
    assert.equal(zone[16], 0xa0);
    assert.equal(zone[40], 0xd0);
    e.destroy();
  });

  it('the same processor seals to the same key under Windows and Linux: a blob sealed on one unseals on the other', () => {
    const win = createPlatform({ seed: SEED, epcSize: 16 << 20 });
    const lin = linux();
    const a = loadFixture(win, 'identity');
    const b = loadFixture(lin, 'identity');
    const text = new TextEncoder().encode('sealed under Windows');
    const blob = new Uint8Array(sealedDataSize(4, text.length));
    assert.equal(a.ecall('ecall_seal', [1, new Uint8Array(4), 4, text, text.length, blob, blob.length]), STATUS.SUCCESS);
    const out = new Uint8Array(64), aad = new Uint8Array(16), lengths = new Uint8Array(8);
    assert.equal(b.ecall('ecall_unseal', [blob, blob.length, out, out.length, aad, aad.length, lengths]), STATUS.SUCCESS);
    assert.equal(dec.decode(out.subarray(0, text.length)), 'sealed under Windows');
    // And the other way.
    const back = new Uint8Array(sealedDataSize(4, 5));
    assert.equal(b.ecall('ecall_seal', [1, new Uint8Array(4), 4, text.subarray(0, 5), 5, back, back.length]), STATUS.SUCCESS);
    assert.equal(a.ecall('ecall_unseal', [back, back.length, out, out.length, aad, aad.length, lengths]), STATUS.SUCCESS);
  });

  it('failures carry the errno: no device (linux-nosgx) is CREATE_FAILED/ENOENT; a wrong signature is INIT_FAILED/EPERM; PROVISIONKEY where /dev/sgx_provision is out of reach is INIT_FAILED/EACCES; nothing is left behind', () => {
    const none = linux({ profile: 'linux-nosgx' });
    const h = helloEnclave();
    assert.throws(() => loadEnclave(none, h.built.image, { sigstruct: h.sigstruct }), (e: unknown) => e instanceof EnclaveLoadError && e.code === 'CREATE_FAILED' && (e.data as { errno: number }).errno === ERRNO.ENOENT);
    const p = linux();
    const free = p.processor.inspect.freeEpcPages;
    const regions = p.process.regions.length;
    const other = helloEnclave().sigstruct.slice();
    other[600] ^= 1; // a signature byte (a wrong ENCLAVEHASH the loader's manifest check refuses first)
    assert.throws(() => loadEnclave(p, h.built.image, { sigstruct: other }), (e: unknown) => e instanceof EnclaveLoadError && e.code === 'INIT_FAILED' && (e.data as { errno: number }).errno === ERRNO.EPERM);
    const b = buildFixture('identity', { provisionKey: true });
    const denied = linux({ linux: { provisionDeviceDenied: true } });
    const deniedFree = denied.processor.inspect.freeEpcPages;
    assert.throws(() => loadEnclave(denied, b.image, { sigstruct: signFixture(b) }), (e: unknown) => e instanceof EnclaveLoadError && e.code === 'INIT_FAILED' && (e.data as { errno: number }).errno === ERRNO.EACCES);
    assert.equal(denied.processor.inspect.freeEpcPages, deniedFree);
    assert.equal(denied.libc.sys.file(3), undefined, 'the fds are closed');
    // Where the process may open it, the loader passes /dev/sgx_provision (SGX_IOC_ENCLAVE_PROVISION) and closes it again.
    const prov = loadEnclave(p, b.image, { sigstruct: signFixture(b) });
    assert.equal(p.libc.sys.file(4), undefined, 'the provision fd was closed');
    prov.destroy();
    assert.equal(p.processor.inspect.freeEpcPages, free);
    assert.equal(p.kernel.enclaves.length, 0);
    assert.equal(p.process.regions.length, regions);
    assert.equal(p.libc.sys.file(3), undefined, 'the fds are closed');
  });

  it('with reclaim, two enclaves larger than the EPC together both keep working', () => {
    const p = linux({ epcSize: 0x8_0000, epcReclaim: true }); // 128 pages; each hello enclave has ~100
    const a = hello(p), b = hello(p);
    for (let i = 0; i < 3; i++) {
      assert.match(greet(a, `a${i}`), new RegExp(`a${i}`));
      assert.match(greet(b, `b${i}`), new RegExp(`b${i}`));
    }
    assert.ok(p.kernel.pager.stats.evicted > 0 && p.kernel.pager.stats.loaded > 0);
    a.destroy();
    b.destroy();
    assert.equal(p.kernel.enclaves.length, 0);
  });
});

describe('the OS binding of the host runtime (sdk/host/os.ts), Windows', () => {
  it('a load that fails after the arena frees the arena first, then deletes the enclave, even when DeleteEnclave fails (as before the binding)', () => {
    const p = createPlatform({ seed: SEED, epcSize: 16 << 20 });
    const calls: string[] = [];
    const k32 = new Proxy(p.kernel32, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (prop === 'DeleteEnclave') return (base: number) => (calls.push('DeleteEnclave'), void base, false);
        if (prop === 'VirtualFree') return (...a: Parameters<typeof target.VirtualFree>) => (calls.push('VirtualFree'), target.VirtualFree(...a));
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const h = helloEnclave();
    let reads = 0;
    const ocalls = {
      get ocall_print() {
        if (++reads > 1) throw new RangeError('the second look at the OCALLs fails');
        return () => undefined;
      },
    };
    const regions = p.process.regions.length;
    assert.throws(() => loadEnclave({ kernel32: k32, process: p.process, processor: p.processor }, h.built.image, { sigstruct: h.sigstruct, ocalls }), RangeError);
    assert.deepEqual(calls, ['VirtualFree', 'DeleteEnclave']);
    assert.equal(p.process.regions.length, regions + 1, 'only the enclave (its deletion refused) is left; the arena is gone');
  });
});
