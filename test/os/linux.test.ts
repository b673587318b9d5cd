/**
 * The Linux in-kernel SGX driver (specs/os-api.md §4): device nodes, the ioctls with their errno in
 * the driver's order, mmap/mprotect/munmap with the driver's hooks, teardown at the last reference,
 * and the conformance vectors L1–L11, L14, L15 of §7.2 (the vDSO's, L11–L13, are in
 * linux-vdso.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERRNO, O_RDWR, O_RDONLY, PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, MAP_PRIVATE, MAP_SHARED, MAP_FIXED, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, READ_IMPLIES_EXEC,
  SGX_IOC, sgx_enclave_add_pages, sgx_enclave_provision, sgx_enclave_restrict_permissions, sgx_enclave_modify_types, sgx_enclave_remove_pages, errnoName,
} from '../../src/os/linux/index.js';
import { ATTR, PT, SGX, mrsignerOf } from '../../src/arch/index.js';
import { toHex, defaultCrypto } from '../../src/lib/index.js';
import { signingKey, otherSigningKey } from '../helpers/windows.js';
import { linuxFor, buildLinux, put, secinfo, createArg, addArg, initArg, ioctlOk, LinuxLayout, SI_RW, SI_TCS, type LinuxMachine } from '../helpers/linux.js';

const SIZE = 0x1_0000;

/** Expect −1 with `errno`. */
function fails(m: LinuxMachine, r: number, errno: number, what = ''): void {
  assert.equal(r, -1, `${what}: expected failure, got ${r}`);
  assert.equal(m.libc.errno, errno, `${what}: errno ${errnoName(m.libc.errno)}, expected ${errnoName(errno)}`);
}

/** Free EPC pages as the processor counts them. */
function freeEpc(m: LinuxMachine): number {
  return m.p.processor.inspect.freeEpcPages;
}

describe('Linux: device nodes and profiles (§4.1, §0.2)', () => {
  it('linux-nosgx: /dev/sgx_enclave is absent (ENOENT), and the vDSO has no __vdso_sgx_enter_enclave', () => {
    const m = linuxFor('linux-nosgx');
    fails(m, m.libc.open('/dev/sgx_enclave', O_RDWR), ERRNO.ENOENT, 'open');
    fails(m, m.libc.open('/dev/sgx_provision', O_RDWR), ERRNO.ENOENT, 'open provision');
    assert.equal(m.libc.vdsoSym('__vdso_sgx_enter_enclave'), null);
  });

  it('linux-sgx1/sgx2: the device opens (also as /dev/sgx/enclave); other paths are ENOENT; the vDSO has the entry', () => {
    for (const profile of ['linux-sgx1', 'linux-sgx2'] as const) {
      const m = linuxFor(profile);
      const a = m.libc.open('/dev/sgx_enclave', O_RDWR);
      const b = m.libc.open('/dev/sgx/enclave', O_RDWR);
      assert.ok(a >= 3 && b >= 3 && a !== b);
      fails(m, m.libc.open('/dev/sgx_vepc', O_RDWR), ERRNO.ENOENT, 'vepc is not modelled');
      fails(m, m.libc.open('/dev/null', O_RDWR), ERRNO.ENOENT);
      assert.equal(typeof m.libc.vdsoSym('__vdso_sgx_enter_enclave'), 'function');
      assert.equal(m.libc.vdsoSym('__vdso_gettimeofday'), null);
    }
  });

  it('device permissions denied: open is EACCES (§4.8)', () => {
    const m = linuxFor('linux-sgx2', { linux: { devicePermissionsDenied: true } });
    fails(m, m.libc.open('/dev/sgx_enclave', O_RDWR), ERRNO.EACCES);
  });

  it('only /dev/sgx_provision denied (group sgx_prv): it and its link are EACCES, the enclave device opens', () => {
    const m = linuxFor('linux-sgx2', { linux: { provisionDeviceDenied: true } });
    fails(m, m.libc.open('/dev/sgx_provision', O_RDWR), ERRNO.EACCES);
    fails(m, m.libc.open('/dev/sgx/provision', O_RDWR), ERRNO.EACCES);
    assert.ok(m.libc.open('/dev/sgx_enclave', O_RDWR) >= 3);
  });

  it('close: a second close is EBADF; an ioctl on a closed fd is EBADF; the provision fd has no ioctls (ENOTTY)', () => {
    const m = linuxFor('linux-sgx2');
    const fd = m.libc.open('/dev/sgx_enclave');
    const pfd = m.libc.open('/dev/sgx_provision');
    fails(m, m.libc.ioctl(pfd, SGX_IOC.ENCLAVE_CREATE, 0), ERRNO.ENOTTY);
    assert.equal(m.libc.close(fd), 0);
    fails(m, m.libc.close(fd), ERRNO.EBADF);
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, 0), ERRNO.EBADF);
  });

  it('an unknown ioctl (or a known number with another size) is ENOTTY; VEPC_REMOVE_ALL on the enclave fd too', () => {
    const m = linuxFor('linux-sgx2');
    const fd = m.libc.open('/dev/sgx_enclave');
    fails(m, m.libc.ioctl(fd, 0x4010a400, 0), ERRNO.ENOTTY);
    fails(m, m.libc.ioctl(fd, SGX_IOC.VEPC_REMOVE_ALL, 0), ERRNO.ENOTTY);
    fails(m, m.libc.ioctl(fd, 0x1234, 0), ERRNO.ENOTTY);
  });

  it('a bad profile or knob is a typed error', () => {
    assert.throws(() => linuxFor('linux-sgx3' as 'linux-sgx2'), (e: Error & { code?: string }) => e.code === 'UNKNOWN_PROFILE');
    assert.throws(() => linuxFor('linux-sgx2', { linux: { devMountedNoexec: 1 as unknown as boolean } }), (e: Error & { code?: string }) => e.code === 'BAD_LINUX_CONFIG');
  });
});

describe('Linux: SGX_IOC_ENCLAVE_CREATE', () => {
  it('L1: a second CREATE on one fd is EINVAL', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'created');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, e.layout.secs(e.base))), ERRNO.EINVAL, 'L1');
  });

  it('L2: SECS.SIZE 0x3000 (not a power of two) is EINVAL, and so is 0; nothing is allocated', () => {
    const m = linuxFor('linux-sgx2');
    const fd = m.libc.open('/dev/sgx_enclave');
    const free = freeEpc(m);
    for (const size of [0x3000n, 0n]) fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, new LinuxLayout().secs(0x4000_0000, { SIZE: size }))), ERRNO.EINVAL, `L2 ${size}`);
    assert.equal(freeEpc(m), free);
    assert.equal(m.p.kernel.enclaves.length, 0);
  });

  it('bad pointers are EFAULT: the argument, and the SECS (which must be 4096 readable bytes)', () => {
    const m = linuxFor('linux-sgx2');
    const fd = m.libc.open('/dev/sgx_enclave');
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, 0), ERRNO.EFAULT, 'NULL arg');
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, 0x7000_0000), ERRNO.EFAULT, 'unmapped arg');
    const half = m.libc.mmap(0, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.equal(m.libc.mprotect(half + 0x1000, 0x1000, PROT_NONE), 0);
    const arg = put(m.libc, new Uint8Array(new BigUint64Array([BigInt(half + 0x800)]).buffer));
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, arg), ERRNO.EFAULT, 'SECS runs into an unmapped page');
  });

  it('ECREATE faults are EIO (a misaligned BASEADDR, a size above the maximum, DEBUG with INIT); nothing is left', () => {
    const m = linuxFor('linux-sgx2');
    const fd = m.libc.open('/dev/sgx_enclave');
    const l = new LinuxLayout();
    const free = freeEpc(m);
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, l.secs(0x4000_1000))), ERRNO.EIO, 'misaligned base');
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, l.secs(0, { SIZE: 1n << 40n }))), ERRNO.EIO, 'too large');
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, l.secs(0x4000_0000, { ATTRIBUTES: { FLAGS: ATTR.MODE64BIT | ATTR.INIT, XFRM: 3n } }))), ERRNO.EIO, 'INIT set');
    assert.equal(freeEpc(m), free);
    // (the fd can still create)
    ioctlOk(m.libc, fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, l.secs(0x4000_0000)), 'CREATE');
  });

  it('a full EPC is ENOMEM (reclaim off); an enclave takes its SECS and its first VA page (sgx_encl_grow), as Linux', () => {
    const m = linuxFor('linux-sgx2', { epcSize: 0x3000 });
    const a = buildLinux(m, 'open');
    // Three pages of EPC: the SECS and the VA page fit; a second enclave's do not.
    ioctlOk(m.libc, a.fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, a.layout.secs(a.base)), 'first');
    assert.equal(freeEpc(m), 1);
    assert.equal(m.p.kernel.enclaves[0]!.vaPages.length, 1);
    const fd = m.libc.open('/dev/sgx_enclave');
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, a.layout.secs(a.base))), ERRNO.ENOMEM);
    assert.equal(freeEpc(m), 1, 'nothing taken');
  });

  it('CREATE does not look at the address space: the enclave exists with nothing mapped there', () => {
    const m = linuxFor('linux-sgx2');
    const fd = m.libc.open('/dev/sgx_enclave');
    ioctlOk(m.libc, fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, new LinuxLayout().secs(0x6000_0000)), 'CREATE');
    assert.equal(m.p.kernel.enclaves.length, 1);
    assert.equal(m.p.process.regionAt(0x6000_0000), null);
  });
});

describe('Linux: SGX_IOC_ENCLAVE_ADD_PAGES', () => {
  it('adds pages; MRENCLAVE is the one measured independently (SGX_PAGE_MEASURE opt-in)', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'initialized');
    const info = m.p.processor.inspect.enclaves().find((x) => x.baseAddr === e.base);
    assert.ok(info?.mrenclave);
    assert.deepEqual(info.mrenclave, e.layout.measure());
  });

  it('count is written back: a run of pages reports length; the loop adds all pages with one SECINFO', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'created');
    const src = m.libc.mmap(0, 0x3000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const arg = addArg(m.libc, { offset: 0x8000, secinfo: SI_RW, data: new Uint8Array(0), measure: true }, { src, length: 0x3000 });
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg, 'ADD 3');
    assert.equal(sgx_enclave_add_pages.decode(m.libc.read(arg, 48)).count, 0x3000n);
    const enc = m.p.kernel.enclaves[0]!;
    assert.equal(enc.pages.size, 3);
  });

  it('L3: a TCS SECINFO with R is EINVAL; and every other SECINFO rule (W without R, type, reserved bits and bytes)', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'created');
    const data = new Uint8Array(4096);
    const bad: [string, number | bigint, Uint8Array?][] = [
      ['L3 TCS with R', SI_TCS | 1],
      ['W without R', (PT.REG << 8) | 2],
      ['type SECS', PT.SECS << 8],
      ['type TRIM', (PT.TRIM << 8) | 3],
      ['PENDING', SI_RW | 0x8],
      ['PR', SI_RW | 0x20],
      ['bit 16', SI_RW | 0x1_0000],
      ['bit 63', BigInt(SI_RW) | (1n << 63n)],
    ];
    for (const [what, flags] of bad) {
      const si = put(m.libc, secinfo(flags));
      const arg = put(m.libc, sgx_enclave_add_pages.encode({ src: BigInt(put(m.libc, data)), offset: 0x8000n, length: 4096n, secinfo: BigInt(si), flags: 1n, count: 0n }));
      fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg), ERRNO.EINVAL, what);
      assert.equal(sgx_enclave_add_pages.decode(m.libc.read(arg, 48)).count, 0n, `${what}: count not written`);
    }
    const si = secinfo(SI_RW);
    si[40] = 1;
    const arg = put(m.libc, sgx_enclave_add_pages.encode({ src: BigInt(put(m.libc, data)), offset: 0x8000n, length: 4096n, secinfo: BigInt(put(m.libc, si)), flags: 1n, count: 0n }));
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg), ERRNO.EINVAL, 'reserved byte');
    assert.equal(m.p.kernel.enclaves[0]!.pages.size, 0);
  });

  it('offset/length validation (sgx_validate_offset_length) and a misaligned src are EINVAL', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'created');
    const page = { offset: 0, secinfo: SI_RW, data: new Uint8Array(4096), measure: false };
    const cases: [string, Parameters<typeof addArg>[2]][] = [
      ['offset not aligned', { offset: 0x800 }],
      ['length 0', { length: 0 }],
      ['length not aligned', { length: 0x800 }],
      ['past ELRANGE', { offset: SIZE - 0x1000, length: 0x2000 }],
      ['offset at ELRANGE end', { offset: SIZE }],
      ['src not aligned', { src: put(m.libc, new Uint8Array(0x2000)) + 8 }],
    ];
    for (const [what, o] of cases) fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, page, o)), ERRNO.EINVAL, what);
    // u64 overflow of offset + length
    const arg = put(m.libc, sgx_enclave_add_pages.encode({ src: BigInt(put(m.libc, page.data)), offset: 0x1000n, length: (1n << 64n) - 0x1000n, secinfo: BigInt(put(m.libc, secinfo(SI_RW))), flags: 0n, count: 0n }));
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg), ERRNO.EINVAL, 'overflow');
  });

  it('L4: the same offset twice is EBUSY with count 0', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'created');
    const pg = e.layout.pages[4]!;
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, pg), 'first');
    const arg = addArg(m.libc, pg, { count: 0x5555n });
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg), ERRNO.EBUSY, 'L4');
    assert.equal(sgx_enclave_add_pages.decode(m.libc.read(arg, 48)).count, 0n);
  });

  it('a run that meets a present page stops there: count = the bytes added before it, EBUSY', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'created');
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, { offset: 0xa000, secinfo: SI_RW, data: new Uint8Array(4096), measure: false }), 'first');
    const src = m.libc.mmap(0, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const arg = addArg(m.libc, { offset: 0x8000, secinfo: SI_RW, data: new Uint8Array(0), measure: false }, { src, length: 0x4000 });
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg), ERRNO.EBUSY);
    assert.equal(sgx_enclave_add_pages.decode(m.libc.read(arg, 48)).count, 0x2000n);
  });

  it('a source that is not mapped is EFAULT; one mapped without PROT_READ too (get_user_pages needs VM_READ); an enclave mapping as the source too (VM_IO)', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'created');
    const pg = { offset: 0x8000, secinfo: SI_RW, data: new Uint8Array(4096), measure: false };
    for (const prot of [PROT_WRITE, PROT_EXEC]) {
      const src = m.libc.mmap(0, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS);
      const arg = addArg(m.libc, pg, { src });
      fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg), ERRNO.EFAULT, `prot ${prot}`);
      assert.equal(sgx_enclave_add_pages.decode(m.libc.read(arg, 48)).count, 0n);
    }
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, pg, { src: 0x7100_0000 })), ERRNO.EFAULT, 'unmapped');
    const none = m.libc.mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, pg, { src: none })), ERRNO.EFAULT, 'PROT_NONE');
    assert.equal(m.libc.mmap(e.base, 0x1000, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), e.base);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, pg, { src: e.base })), ERRNO.EFAULT, 'enclave mapping');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, 0x7100_0000), ERRNO.EFAULT, 'arg');
  });

  it('L5: ADD_PAGES after INIT, and before CREATE, is EINVAL', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'initialized');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, { offset: 0x8000, secinfo: SI_RW, data: new Uint8Array(4096), measure: false })), ERRNO.EINVAL, 'L5');
    const fd = m.libc.open('/dev/sgx_enclave');
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, { offset: 0x8000, secinfo: SI_RW, data: new Uint8Array(4096), measure: false })), ERRNO.EINVAL, 'not created');
  });

  it('a VA page for every 512 pages, the SECS counted, whether or not the kernel reclaims (sgx_encl_grow); all given back at teardown', () => {
    const m = linuxFor('linux-sgx2', { epcSize: 4 << 20 });
    const free = freeEpc(m);
    const layout = new LinuxLayout({ size: 4 << 20 });
    const e = buildLinux(m, 'created', layout);
    const enc = m.p.kernel.enclaves[0]!;
    assert.equal(enc.vaPages.length, 1);
    const src = m.libc.mmap(0, 513 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    // encl->page_cnt counts the SECS: 511 pages fit the first VA page, the 512th needs a second.
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, { offset: 0, secinfo: SI_RW, data: new Uint8Array(0), measure: false }, { src, length: 511 * 4096 }), '511');
    assert.equal(enc.vaPages.length, 1);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, { offset: 511 * 4096, secinfo: SI_RW, data: new Uint8Array(0), measure: false }, { src, length: 4096 }), '512th');
    assert.equal(enc.vaPages.length, 2);
    assert.equal(freeEpc(m), free - 1 - 2 - 512);
    assert.equal(m.libc.close(e.fd), 0);
    assert.equal(freeEpc(m), free);
  });

  it('L15: with the EPC full and reclaim off, ADD_PAGES is ENOMEM; with reclaim, it succeeds and pages are written back', () => {
    const off = linuxFor('linux-sgx2', { epcSize: 0x4000 });
    const a = buildLinux(off, 'created');
    const src = off.libc.mmap(0, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const arg = addArg(off.libc, { offset: 0x8000, secinfo: SI_RW, data: new Uint8Array(0), measure: false }, { src, length: 0x4000 });
    fails(off, off.libc.ioctl(a.fd, SGX_IOC.ENCLAVE_ADD_PAGES, arg), ERRNO.ENOMEM, 'L15');
    assert.equal(sgx_enclave_add_pages.decode(off.libc.read(arg, 48)).count, 0x2000n, 'two pages fit beside the SECS and the VA page');
    const on = linuxFor('linux-sgx2', { epcSize: 0x4000, epcReclaim: true });
    const b = buildLinux(on, 'created');
    const src2 = on.libc.mmap(0, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    ioctlOk(on.libc, b.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(on.libc, { offset: 0x8000, secinfo: SI_RW, data: new Uint8Array(0), measure: false }, { src: src2, length: 0x4000 }), 'L15 reclaim');
    assert.ok(on.p.kernel.pager.stats.evicted > 0);
  });
});

describe('Linux: SGX_IOC_ENCLAVE_INIT and PROVISION', () => {
  it('L6: a SIGSTRUCT whose ENCLAVEHASH is not MRENCLAVE is EPERM (the SGX code is not reported); the enclave stays uninitialized', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'mapped');
    const wrong = e.layout.sigstruct({ enclaveHash: new Uint8Array(32).fill(9) });
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, wrong)), ERRNO.EPERM, 'L6');
    assert.equal(m.p.kernel.enclaves[0]!.state, 'created');
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct()), 'INIT after');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct())), ERRNO.EINVAL, 'second INIT');
  });

  it('any signer is accepted: the kernel writes the signer\'s hash to the launch MSRs before EINIT (FLC)', () => {
    for (const key of [signingKey(), otherSigningKey()]) {
      const m = linuxFor('linux-sgx1');
      const e = buildLinux(m, 'mapped');
      ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct({}, key)), 'INIT');
      const info = m.p.processor.inspect.enclaves()[0]!;
      assert.equal(toHex(info.mrsigner!), toHex(mrsignerOf(e.layout.sigstruct({}, key), defaultCrypto())));
    }
  });

  it('a PROVISION before CREATE does not count (sgx_encl_create sets the allowed mask): INIT of a PROVISIONKEY enclave is EACCES', () => {
    const layout = new LinuxLayout({ flags: ATTR.MODE64BIT | ATTR.DEBUG | ATTR.PROVISIONKEY });
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'open', layout);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_PROVISION, put(m.libc, sgx_enclave_provision.encode({ fd: BigInt(m.libc.open('/dev/sgx_provision')) })), 'PROVISION first');
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, layout.secs(e.base)), 'CREATE');
    for (const pg of layout.pages) ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(m.libc, pg), 'ADD');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, layout.sigstruct())), ERRNO.EACCES);
  });

  it('L7: ATTRIBUTES.PROVISIONKEY without SGX_IOC_ENCLAVE_PROVISION is EACCES; with a /dev/sgx_provision fd it initializes', () => {
    const layout = new LinuxLayout({ flags: ATTR.MODE64BIT | ATTR.DEBUG | ATTR.PROVISIONKEY });
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'mapped', layout);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, layout.sigstruct())), ERRNO.EACCES, 'L7');
    // PROVISION with an fd that is not /dev/sgx_provision, or no fd: EINVAL.
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_PROVISION, put(m.libc, sgx_enclave_provision.encode({ fd: BigInt(e.fd) }))), ERRNO.EINVAL, 'enclave fd');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_PROVISION, put(m.libc, sgx_enclave_provision.encode({ fd: 99n }))), ERRNO.EINVAL, 'no fd');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_PROVISION, 0x7100_0000), ERRNO.EFAULT, 'bad arg');
    const pfd = m.libc.open('/dev/sgx_provision', O_RDWR);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_PROVISION, put(m.libc, sgx_enclave_provision.encode({ fd: BigInt(pfd) })), 'PROVISION');
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, layout.sigstruct()), 'INIT');
  });

  it('EINITTOKENKEY is EACCES always, even after PROVISION', () => {
    const layout = new LinuxLayout({ flags: ATTR.MODE64BIT | ATTR.DEBUG | ATTR.EINITTOKEN_KEY });
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'mapped', layout);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_PROVISION, put(m.libc, sgx_enclave_provision.encode({ fd: BigInt(m.libc.open('/dev/sgx_provision')) })), 'PROVISION');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, layout.sigstruct())), ERRNO.EACCES);
  });

  it('SIGSTRUCT checks: a vendor other than 0/0x8086, reserved ATTRIBUTES/MISCSELECT/XFRM bits asked for: EINVAL', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'mapped');
    const sig = e.layout.sigstruct();
    const vendor = sig.slice();
    vendor[16] = 0x34;
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, vendor)), ERRNO.EINVAL, 'vendor');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct({ attributesFlags: ATTR.MODE64BIT | 0x8n }))), ERRNO.EINVAL, 'attribute bit 3');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct({ miscSelect: 2 }))), ERRNO.EINVAL, 'misc bit 1');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct({ attributesXfrm: 3n | (1n << 40n) }))), ERRNO.EINVAL, 'xfrm bit 40');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_INIT, 0), ERRNO.EFAULT, 'NULL');
    const fd = m.libc.open('/dev/sgx_enclave');
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, sig)), ERRNO.EINVAL, 'not created');
    // A reserved bit outside the signer's mask is not looked at (and EINIT compares only masked bits).
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct({ miscSelect: 2, miscMask: 1 })), 'masked off');
  });
});

describe('Linux: mmap, mprotect, munmap (§4.4)', () => {
  it('L8: mmap(PROT_WRITE) over an RX page is EACCES, and mprotect likewise; within the maximum both work', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    const code = e.base + 0x5000;
    fails(m, m.libc.mmap(code, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, e.fd, 0), ERRNO.EACCES, 'L8 mmap');
    assert.equal(m.libc.mmap(code, 4096, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, e.fd, 0), code);
    fails(m, m.libc.mprotect(code, 4096, PROT_READ | PROT_WRITE | PROT_EXEC), ERRNO.EACCES, 'L8 mprotect');
    assert.equal(m.libc.mprotect(code, 4096, PROT_READ), 0);
    // A TCS page's maximum is RW.
    fails(m, m.libc.mmap(e.base, 4096, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, e.fd, 0), ERRNO.EACCES, 'TCS X');
    assert.equal(m.libc.mmap(e.base, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, e.fd, 0), e.base);
  });

  it('a MAP_FIXED mapping the driver refuses leaves a gap where the old mapping was (mmap_region unmaps first, as Linux)', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    assert.ok(m.p.process.regionAt(e.base + 0x5000), 'the reservation is there');
    fails(m, m.libc.mmap(e.base + 0x5000, 4096, PROT_WRITE, MAP_SHARED | MAP_FIXED, e.fd, 0), ERRNO.EACCES);
    assert.equal(m.p.process.regionAt(e.base + 0x5000), null, 'a gap');
    fails(m, m.libc.mprotect(e.base + 0x5000, 4096, PROT_NONE), ERRNO.ENOMEM, 'nothing mapped there now');
    assert.equal(m.libc.mmap(e.base + 0x5000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, e.fd, 0), e.base + 0x5000, 'the range is free');
    // Checks before the file's mmap (the fd's access mode, noexec, MAP_PRIVATE) change nothing.
    const anon = m.libc.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    m.libc.write(anon, new Uint8Array([42]));
    fails(m, m.libc.mmap(anon, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, e.fd, 0), ERRNO.EINVAL);
    assert.equal(m.libc.read(anon, 1)[0], 42);
  });

  it('mprotect works mapping by mapping: a refusal or a hole stops it with the mappings before already changed (do_mprotect_pkey)', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    assert.equal(m.libc.mmap(e.base + 0x4000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), e.base + 0x4000);
    assert.equal(m.libc.mmap(e.base + 0x5000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), e.base + 0x5000);
    fails(m, m.libc.mprotect(e.base + 0x4000, 0x2000, PROT_READ | PROT_WRITE), ERRNO.EACCES, 'the code page refuses W');
    const data = m.p.process.regionAt(e.base + 0x4000)!.owner as { prot: number };
    assert.equal(data.prot, PROT_READ | PROT_WRITE, 'the data page before it was changed');
    const a = m.libc.mmap(0, 0x3000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.equal(m.libc.munmap(a + 0x1000, 0x1000), 0);
    fails(m, m.libc.mprotect(a, 0x3000, PROT_READ), ERRNO.ENOMEM, 'a hole');
    assert.throws(() => m.libc.write(a, new Uint8Array([1])), 'the first page is read-only now');
    assert.doesNotThrow(() => m.libc.write(a + 0x2000, new Uint8Array([1])), 'the page after the hole is as it was');
    fails(m, m.libc.mprotect(a + 0x1000, 0x1000, PROT_READ), ERRNO.ENOMEM, 'starting in the hole: nothing changes');
  });

  it('VM_MAYWRITE: a shared mapping of a read-only fd cannot be made writable by mprotect (EACCES)', () => {
    const m = linuxFor('linux-sgx2');
    const ro = m.libc.open('/dev/sgx_enclave', O_RDONLY);
    ioctlOk(m.libc, ro, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, new LinuxLayout().secs(0x5000_0000)), 'CREATE');
    assert.equal(m.libc.mmap(0x5000_0000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, ro, 0), 0x5000_0000);
    fails(m, m.libc.mprotect(0x5000_0000, 4096, PROT_READ | PROT_WRITE), ERRNO.EACCES);
  });

  it('MAP_FIXED_NOREPLACE wins over MAP_FIXED (EEXIST, the old mapping kept); a fixed range past the end is ENOMEM before its alignment is looked at; anonymous MAP_SHARED_VALIDATE is EINVAL', () => {
    const m = linuxFor('linux-sgx2');
    const a = m.libc.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    m.libc.write(a, new Uint8Array([42]));
    fails(m, m.libc.mmap(a, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_FIXED_NOREPLACE), ERRNO.EEXIST);
    assert.equal(m.libc.read(a, 1)[0], 42);
    fails(m, m.libc.mmap(0x7fff_fffe_0800, 0x10000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), ERRNO.ENOMEM);
    fails(m, m.libc.mmap(0, 4096, PROT_READ, 0x03 | MAP_ANONYMOUS), ERRNO.EINVAL);
  });

  it('mprotect checks in do_mprotect_pkey\'s order: length 0 returns 0 before the protection is looked at (one grow bit), both grow bits are EINVAL first', () => {
    const m = linuxFor('linux-sgx2');
    assert.equal(m.libc.mprotect(0x7300_0000, 0, PROT_READ | 0x40), 0);
    assert.equal(m.libc.mprotect(0x7300_0000, 0, PROT_READ | 0x0100_0000), 0);
    fails(m, m.libc.mprotect(0x7300_0000, 0, 0x0300_0000), ERRNO.EINVAL);
    fails(m, m.libc.mprotect(0x7300_0000, 4096, PROT_READ | 0x0100_0000), ERRNO.ENOMEM, 'nothing mapped: ENOMEM before the grow bit');
  });

  it('prot and flags as Linux takes them: unknown mmap prot bits are ignored, mprotect takes PROT_SEM and refuses GROWSDOWN; MAP_SHARED_VALIDATE maps the enclave', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    assert.ok(m.libc.mmap(0, 4096, PROT_READ | 0x8 | 0x40, MAP_PRIVATE | MAP_ANONYMOUS) > 0);
    const a = m.libc.mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.equal(m.libc.mprotect(a, 4096, PROT_READ | 0x8), 0);
    fails(m, m.libc.mprotect(a, 4096, PROT_READ | 0x40), ERRNO.EINVAL, 'unknown bit');
    fails(m, m.libc.mprotect(a, 4096, PROT_READ | 0x0100_0000), ERRNO.EINVAL, 'GROWSDOWN');
    assert.equal(m.libc.mmap(e.base + 0x4000, 4096, PROT_READ, 0x03 | MAP_FIXED, e.fd, 0), e.base + 0x4000, 'MAP_SHARED_VALIDATE');
  });

  it('L9: MAP_PRIVATE on the enclave fd is EINVAL (also with MAP_FIXED)', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    fails(m, m.libc.mmap(0, 4096, PROT_READ, MAP_PRIVATE, e.fd, 0), ERRNO.EINVAL, 'L9');
    fails(m, m.libc.mmap(e.base, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, e.fd, 0), ERRNO.EINVAL, 'L9 fixed');
  });

  it('L10: after INIT, a mapping outside ELRANGE is EACCES; before INIT it is not checked', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    const out = m.libc.mmap(0, 4096, PROT_READ, MAP_SHARED, e.fd, 0);
    assert.ok(out > 0, 'before INIT: allowed');
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct()), 'INIT');
    fails(m, m.libc.mmap(0, 4096, PROT_READ, MAP_SHARED, e.fd, 0), ERRNO.EACCES, 'L10');
    fails(m, m.libc.mmap(e.base + SIZE - 0x1000, 0x2000, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), ERRNO.EACCES, 'L10 straddling');
  });

  it('/dev mounted noexec: mmap(PROT_EXEC) of the enclave is EPERM; mprotect to PROT_EXEC is EACCES (no VM_MAYEXEC); READ_IMPLIES_EXEC adds no X there (the driver then refuses the personality: EACCES)', () => {
    const m = linuxFor('linux-sgx2', { linux: { devMountedNoexec: true } });
    const e = buildLinux(m, 'added');
    fails(m, m.libc.mmap(e.base + 0x5000, 4096, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, e.fd, 0), ERRNO.EPERM);
    assert.equal(m.libc.mmap(e.base + 0x5000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), e.base + 0x5000);
    fails(m, m.libc.mprotect(e.base + 0x5000, 4096, PROT_READ | PROT_EXEC), ERRNO.EACCES);
    m.libc.sys.personality = READ_IMPLIES_EXEC;
    fails(m, m.libc.mmap(e.base + 0x4000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), ERRNO.EACCES);
  });

  it('READ_IMPLIES_EXEC personality: every enclave mapping is EACCES', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    m.p.libc.sys.personality = READ_IMPLIES_EXEC;
    fails(m, m.libc.mmap(e.base + 0x4000, 4096, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), ERRNO.EACCES);
  });

  it('an fd opened read-only cannot be mapped shared and writable (EACCES)', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    const ro = m.libc.open('/dev/sgx_enclave', O_RDONLY);
    ioctlOk(m.libc, ro, SGX_IOC.ENCLAVE_CREATE, createArg(m.libc, e.layout.secs(0x5000_0000)), 'CREATE on a read-only fd');
    fails(m, m.libc.mmap(0x5000_0000, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, ro, 0), ERRNO.EACCES);
  });

  it('generic mmap rules: length 0, bad flags, a misaligned fixed address or offset are EINVAL; a bad fd EBADF; the provision fd ENODEV', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    fails(m, m.libc.mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS), ERRNO.EINVAL, 'length 0');
    fails(m, m.libc.mmap(0, 4096, PROT_READ, MAP_ANONYMOUS), ERRNO.EINVAL, 'neither shared nor private');
    fails(m, m.libc.mmap(0x5000_0800, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), ERRNO.EINVAL, 'misaligned fixed');
    fails(m, m.libc.mmap(0, 4096, PROT_READ, MAP_SHARED, e.fd, 0x800), ERRNO.EINVAL, 'misaligned offset');
    fails(m, m.libc.mmap(0, 4096, PROT_READ, MAP_SHARED, 77, 0), ERRNO.EBADF, 'bad fd');
    fails(m, m.libc.mmap(0, 4096, PROT_READ, MAP_SHARED, m.libc.open('/dev/sgx_provision'), 0), ERRNO.ENODEV, 'provision');
    fails(m, m.libc.mmap(0x1000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), ERRNO.EPERM, 'below mmap_min_addr');
    const a = m.libc.mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    fails(m, m.libc.mmap(a, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE), 17, 'MAP_FIXED_NOREPLACE over a mapping: EEXIST');
    fails(m, m.libc.munmap(a + 8, 4096), ERRNO.EINVAL, 'munmap misaligned');
    fails(m, m.libc.munmap(a, 0), ERRNO.EINVAL, 'munmap 0');
    fails(m, m.libc.mprotect(0x7200_0000, 4096, PROT_READ), ERRNO.ENOMEM, 'mprotect unmapped');
    fails(m, m.libc.mprotect(a, 0x2000, PROT_READ), ERRNO.ENOMEM, 'mprotect partly unmapped');
  });

  it('anonymous memory: PROT_NONE has no access, mprotect gives it, munmap of the middle splits the mapping', () => {
    const m = linuxFor('linux-sgx2');
    const a = m.libc.mmap(0, 0x3000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    assert.throws(() => m.libc.read(a, 4));
    assert.equal(m.libc.mprotect(a, 0x3000, PROT_READ | PROT_WRITE), 0);
    m.libc.write(a + 0x2000, new Uint8Array([1, 2, 3]));
    assert.equal(m.libc.munmap(a + 0x1000, 0x1000), 0);
    assert.throws(() => m.libc.read(a + 0x1000, 4));
    assert.deepEqual([...m.libc.read(a + 0x2000, 3)], [1, 2, 3]);
    assert.equal(m.p.process.regions.filter((r) => r.base >= a && r.base < a + 0x3000).length, 2);
  });

  it('the loader sequence maps each page with its protection; the host sees enclave pages as the abort page', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'initialized');
    const pt = m.p.process.pageTable;
    assert.ok(pt.lookup((e.base + 0x5000) / 4096));
    assert.equal(pt.lookup((e.base + 0x8000) / 4096), null, 'a hole is not mapped');
    assert.deepEqual([...m.libc.read(e.base + 0x4000, 4)], [0xff, 0xff, 0xff, 0xff]);
  });
});

describe('Linux: /proc/self/mem (a debugger\'s view, sgx_vma_access)', () => {
  it('a DEBUG enclave is read and written through EDBGRD/EDBGWR, at any alignment; the host\'s own load still sees the abort page', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'initialized');
    const fd = m.libc.open('/proc/self/mem');
    const buf = new Uint8Array(10);
    assert.equal(m.libc.pread(fd, buf, e.base + 0x4000), 10);
    assert.equal(new TextDecoder().decode(buf), 'linux data');
    assert.deepEqual([...m.libc.read(e.base + 0x4000, 2)], [0xff, 0xff]);
    assert.equal(m.libc.pwrite(fd, new TextEncoder().encode('LINUX'), e.base + 0x4003), 5);
    const back = new Uint8Array(12);
    assert.equal(m.libc.pread(fd, back, e.base + 0x4000), 12);
    assert.equal(new TextDecoder().decode(back.subarray(0, 10)), 'linLINUXta');
    // Across a page boundary into a hole: a short read.
    const span = new Uint8Array(0x20);
    assert.equal(m.libc.pread(fd, span, e.base + 0x7000 - 0x10), 0x10);
  });

  it('a production enclave gives EIO (sgx_vma_access: EFAULT, no byte read or written); ordinary memory is read; nothing mapped is EIO', () => {
    const m = linuxFor('linux-sgx2');
    const layout = new LinuxLayout({ flags: ATTR.MODE64BIT });
    const e = buildLinux(m, 'initialized', layout);
    const fd = m.libc.open('/proc/self/mem');
    fails(m, m.libc.pread(fd, new Uint8Array(8), e.base + 0x4000), ERRNO.EIO, 'read');
    fails(m, m.libc.pwrite(fd, new Uint8Array(8), e.base + 0x4000), ERRNO.EIO, 'write');
    const a = put(m.libc, new TextEncoder().encode('host bytes'));
    const b = new Uint8Array(10);
    assert.equal(m.libc.pread(fd, b, a), 10);
    assert.equal(new TextDecoder().decode(b), 'host bytes');
    fails(m, m.libc.pread(fd, b, 0x7300_0000), ERRNO.EIO, 'unmapped');
    fails(m, m.libc.pread(e.fd, b, a), ERRNO.EINVAL, 'not /proc/self/mem');
    fails(m, m.libc.pread(99, b, a), ERRNO.EBADF);
    fails(m, m.libc.ioctl(fd, SGX_IOC.ENCLAVE_CREATE, 0), ERRNO.ENOTTY);
    fails(m, m.libc.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0), ERRNO.ENODEV);
  });
});

describe('Linux: teardown at the last reference (§4.5)', () => {
  it('close with mappings left keeps the enclave; the last munmap releases every EPC page', () => {
    const m = linuxFor('linux-sgx2');
    const free = freeEpc(m);
    const e = buildLinux(m, 'initialized');
    assert.ok(freeEpc(m) < free);
    assert.equal(m.libc.close(e.fd), 0);
    assert.equal(m.p.kernel.enclaves.length, 1, 'still mapped');
    assert.equal(m.libc.munmap(e.base, 0x4000), 0);
    assert.equal(m.p.kernel.enclaves.length, 1, 'still mapped (0x4000 and up)');
    assert.equal(m.libc.munmap(e.base, SIZE), 0);
    assert.equal(m.p.kernel.enclaves.length, 0);
    assert.equal(freeEpc(m), free);
  });

  it('an enclave never mapped goes with its fd', () => {
    const m = linuxFor('linux-sgx2');
    const free = freeEpc(m);
    const e = buildLinux(m, 'added');
    assert.equal(m.libc.close(e.fd), 0);
    assert.equal(m.p.kernel.enclaves.length, 0);
    assert.equal(freeEpc(m), free);
  });

  it('munmap of the middle of an enclave mapping keeps both sides as references', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    assert.equal(m.libc.mmap(e.base, SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, e.fd, 0), e.base);
    assert.equal(m.libc.munmap(e.base + 0x4000, 0x1000), 0);
    assert.equal(m.libc.close(e.fd), 0);
    assert.equal(m.libc.munmap(e.base, 0x4000), 0);
    assert.equal(m.p.kernel.enclaves.length, 1);
    assert.equal(m.libc.munmap(e.base + 0x5000, SIZE - 0x5000), 0);
    assert.equal(m.p.kernel.enclaves.length, 0);
  });
});

describe('Linux: the SGX2 ioctls', () => {
  const restrictArg = (m: LinuxMachine, offset: number, length: number, permissions: number, result = 0n, count = 0n): number =>
    put(m.libc, sgx_enclave_restrict_permissions.encode({ offset: BigInt(offset), length: BigInt(length), permissions: BigInt(permissions), result, count }));
  const typesArg = (m: LinuxMachine, offset: number, length: number, pageType: number | bigint, result = 0n, count = 0n): number =>
    put(m.libc, sgx_enclave_modify_types.encode({ offset: BigInt(offset), length: BigInt(length), page_type: BigInt(pageType), result, count }));
  const removeArg = (m: LinuxMachine, offset: number, length: number, count = 0n): number =>
    put(m.libc, sgx_enclave_remove_pages.encode({ offset: BigInt(offset), length: BigInt(length), count }));

  it('L14: on linux-sgx1 every SGX2 ioctl is ENODEV', () => {
    const m = linuxFor('linux-sgx1');
    const e = buildLinux(m, 'initialized');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrictArg(m, 0x4000, 4096, 1)), ERRNO.ENODEV, 'L14');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, typesArg(m, 0x4000, 4096, PT.TRIM)), ERRNO.ENODEV);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, removeArg(m, 0x4000, 4096)), ERRNO.ENODEV);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, 0), ERRNO.ENODEV, 'before copying the argument');
  });

  it('before INIT: EINVAL; a zeroed structure (length 0): EINVAL; result/count not zero: EINVAL', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'added');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrictArg(m, 0x4000, 4096, 1)), ERRNO.EINVAL, 'not initialized');
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_INIT, initArg(m.libc, e.layout.sigstruct()), 'INIT');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, put(m.libc, new Uint8Array(40))), ERRNO.EINVAL, 'zeroed');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrictArg(m, 0x4000, 4096, 1, 1n)), ERRNO.EINVAL, 'result');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrictArg(m, 0x4000, 4096, 1, 0n, 1n)), ERRNO.EINVAL, 'count');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrictArg(m, 0x4000, 4096, 2)), ERRNO.EINVAL, 'W without R');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrictArg(m, 0x4000, 4096, 8)), ERRNO.EINVAL, 'not a permission');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, typesArg(m, 0x4000, 4096, 0x100)), ERRNO.EINVAL, 'type past 0xFF');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, removeArg(m, 0x4000, 4096, 1n)), ERRNO.EINVAL, 'remove count');
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, removeArg(m, 0x4000, 0)), ERRNO.EINVAL, 'remove length 0');
  });

  it('RESTRICT_PERMISSIONS: a TCS page is EINVAL with result 0 and count 0 (tcs_permissions); a hole is EFAULT; a REG page is restricted in the EPCM', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'initialized');
    const arg = restrictArg(m, 0, 4096, 1);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, arg), ERRNO.EINVAL, 'TCS');
    const back = sgx_enclave_restrict_permissions.decode(m.libc.read(arg, 40));
    assert.equal(back.result, 0n);
    assert.equal(back.count, 0n);
    const hole = restrictArg(m, 0x8000, 4096, 1);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, hole), ERRNO.EFAULT, 'hole');
    const ok = restrictArg(m, 0x4000, 4096, 1);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, ok, 'RESTRICT');
    assert.equal(sgx_enclave_restrict_permissions.decode(m.libc.read(ok, 40)).count, 4096n);
    const pa = m.p.kernel.enclaves[0]!.pages.get(e.base + 0x4000)!;
    const epcm = m.p.processor.inspect.epcm(pa);
    assert.equal(epcm.r && !epcm.w, true);
    assert.equal(epcm.pr, true);
    // A second restriction of a page still PR: EMODPR succeeds again (PR is no bar). (A PENDING page: linux-vdso.test.ts.)
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS, restrictArg(m, 0x4000, 4096, 1), 'again');
  });

  it('MODIFY_TYPES: a type other than TCS/TRIM is EINVAL (count 0); REG→TCS needs RW (EPERM for RX); TRIM of a run reports count', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'initialized');
    const bad = typesArg(m, 0x4000, 4096, PT.REG);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, bad), ERRNO.EINVAL);
    assert.equal(sgx_enclave_modify_types.decode(m.libc.read(bad, 40)).count, 0n);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, typesArg(m, 0x5000, 4096, PT.TCS)), ERRNO.EPERM, 'RX page → TCS');
    const trim = typesArg(m, 0x4000, 0x3000, PT.TRIM);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, trim, 'TRIM');
    assert.equal(sgx_enclave_modify_types.decode(m.libc.read(trim, 40)).count, 0x3000n);
    const enc = m.p.kernel.enclaves[0]!;
    for (const off of [0x4000, 0x5000, 0x6000]) assert.equal(m.p.processor.inspect.epcm(enc.pages.get(e.base + off)!).pageType, PT.TRIM);
    // A trimmed page is no REG page: it becomes neither a TCS nor a trimmed page again (the driver's type check, before EMODT).
    const again = typesArg(m, 0x4000, 4096, PT.TCS);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, again), ERRNO.EINVAL, 'TRIM → TCS');
    const retrim = typesArg(m, 0x4000, 4096, PT.TRIM);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, retrim), ERRNO.EINVAL, 'TRIM → TRIM');
    assert.equal(sgx_enclave_modify_types.decode(m.libc.read(retrim, 40)).result, 0n, 'no EMODT ran');
  });

  it('REMOVE_PAGES: a page not trimmed is EPERM; trimmed but not accepted is EPERM (remove_added_page_no_eaccept); accepted: removed and freed', () => {
    const m = linuxFor('linux-sgx2');
    const e = buildLinux(m, 'initialized');
    const enc = m.p.kernel.enclaves[0]!;
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, removeArg(m, 0x4000, 4096)), ERRNO.EPERM, 'not trimmed');
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_MODIFY_TYPES, typesArg(m, 0x4000, 4096, PT.TRIM), 'TRIM');
    const noAccept = removeArg(m, 0x4000, 4096);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, noAccept), ERRNO.EPERM, 'not accepted');
    assert.equal(sgx_enclave_remove_pages.decode(m.libc.read(noAccept, 24)).count, 0n);
    assert.ok(enc.pages.has(e.base + 0x4000));
    // The enclave accepts the trim (EACCEPT with PT_TRIM | MODIFIED) from a thread inside.
    const free = freeEpc(m);
    const fn = m.engine.on((ctx) => {
      const si = e.base + 0x2800; // (SSA page of TCS 0: free for a SECINFO while this thread runs)
      const b = new Uint8Array(64);
      b[0] = 0x10; // MODIFIED
      b[1] = PT.TRIM;
      ctx.write(si, b);
      const st = ctx.eaccept(si, e.base + 0x4000);
      assert.equal(st, SGX.SUCCESS);
      return ctx.regs.rcx;
    });
    const enter = m.libc.vdsoSym('__vdso_sgx_enter_enclave')!;
    const run = put(m.libc, new Uint8Array(256));
    m.libc.write(run, new Uint8Array(new BigUint64Array([BigInt(e.base)]).buffer));
    assert.equal(enter(fn, 0, 0, 2, 0, 0, run), 0);
    const done = removeArg(m, 0x4000, 4096);
    ioctlOk(m.libc, e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, done, 'REMOVE');
    assert.equal(sgx_enclave_remove_pages.decode(m.libc.read(done, 24)).count, 4096n);
    assert.equal(enc.pages.has(e.base + 0x4000), false);
    assert.equal(freeEpc(m), free + 1);
    fails(m, m.libc.ioctl(e.fd, SGX_IOC.ENCLAVE_REMOVE_PAGES, removeArg(m, 0x4000, 4096)), ERRNO.EFAULT, 'gone');
  });

});
