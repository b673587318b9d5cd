/**
 * Helpers for the Linux driver suite (test/os/linux*.test.ts): a Linux machine per profile with a
 * `ScriptEngine` (enclave code as test closures), user memory for ioctl structures, an enclave
 * layout whose MRENCLAVE is computed independently with the arch layer's `Measurement`, and the
 * loader sequence of os-api.md §4.4 (reserve 2 × size, align, CREATE, ADD_PAGES, mmap, INIT).
 */
import assert from 'node:assert/strict';
import { createLinuxPlatform, type LinuxPlatform, type LinuxPlatformOptions } from '../../src/platform/index.js';
import {
  ERRNO, O_RDWR, PROT_NONE, PROT_READ, PROT_WRITE, PROT_EXEC, MAP_PRIVATE, MAP_ANONYMOUS, MAP_SHARED, MAP_FIXED, SGX_IOC, SGX_PAGE_MEASURE,
  sgx_enclave_create, sgx_enclave_add_pages, sgx_enclave_init, sgx_enclave_run, errnoName, type LinuxProfileId, type Libc,
} from '../../src/os/linux/index.js';
import { SECS, TCS, PT, ATTR, Measurement, measuredSecinfoFlags, type Secs } from '../../src/arch/index.js';
import type { KernelEnclave } from '../../src/os/index.js';
import { signSigstruct, type SigstructFields } from '../../src/sdk/index.js';
import { defaultCrypto } from '../../src/lib/index.js';
import { ScriptEngine } from './enclave.js';
import { signingKey, SEED, SMALL_EPC } from './windows.js';

export { ScriptEngine, SEED, SMALL_EPC };

export interface LinuxMachine {
  readonly p: LinuxPlatform;
  readonly libc: Libc;
  readonly engine: ScriptEngine;
}

export function linuxFor(profile: LinuxProfileId, o: LinuxPlatformOptions = {}): LinuxMachine {
  const engine = new ScriptEngine();
  const p = createLinuxPlatform({ seed: SEED, epcSize: SMALL_EPC, engine, ...o, profile });
  return { p, libc: p.libc, engine };
}

/** `bytes` in a new private RW mapping; its address. */
export function put(libc: Libc, bytes: Uint8Array): number {
  const a = libc.mmap(0, Math.max(4096, bytes.length), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  assert.ok(a > 0, `mmap for user memory failed: ${errnoName(libc.errno)}`);
  libc.write(a, bytes);
  return a;
}

/** SECINFO (64 bytes) with FLAGS `flags`. */
export function secinfo(flags: number | bigint): Uint8Array {
  const b = new Uint8Array(64);
  new DataView(b.buffer).setBigUint64(0, BigInt(flags), true);
  return b;
}

export const SI_TCS = PT.TCS << 8;
export const SI_RW = (PT.REG << 8) | 3;
export const SI_R = (PT.REG << 8) | 1;
export const SI_RX = (PT.REG << 8) | 5;
export const SI_RWX = (PT.REG << 8) | 7;

export interface LinuxPage {
  readonly offset: number;
  readonly secinfo: number;
  readonly data: Uint8Array;
  readonly measure: boolean;
}

function marked(text: string): Uint8Array {
  const p = new Uint8Array(4096);
  p.set(new TextEncoder().encode(text));
  for (let i = 2048; i < 4096; i++) p[i] = (i * 7 + text.length) & 0xff;
  return p;
}

/**
 * A small enclave for the driver: two TCSs (0x0, 0x1000) with one SSA frame each (0x2000, 0x3000),
 * a data page (0x4000, RW), a code page (0x5000, RX), a read-only page (0x6000). ELRANGE 64 KiB
 * (the rest is a hole SGX2 may fill), 64-bit, DEBUG.
 */
export class LinuxLayout {
  readonly size: number;
  readonly flags: bigint;
  readonly pages: readonly LinuxPage[];
  constructor(o: { size?: number; flags?: bigint; pages?: readonly LinuxPage[] } = {}) {
    this.size = o.size ?? 0x1_0000;
    this.flags = o.flags ?? (ATTR.MODE64BIT | ATTR.DEBUG);
    this.pages = o.pages ?? [
      { offset: 0x0000, secinfo: SI_TCS, data: TCS.encode({ OSSA: 0x2000n, NSSA: 1, OENTRY: 0x5000n }), measure: true },
      { offset: 0x1000, secinfo: SI_TCS, data: TCS.encode({ OSSA: 0x3000n, NSSA: 1, OENTRY: 0x5000n }), measure: true },
      { offset: 0x2000, secinfo: SI_RW, data: new Uint8Array(4096), measure: false },
      { offset: 0x3000, secinfo: SI_RW, data: new Uint8Array(4096), measure: false },
      { offset: 0x4000, secinfo: SI_RW, data: marked('linux data'), measure: true },
      { offset: 0x5000, secinfo: SI_RX, data: marked('linux code'), measure: true },
      { offset: 0x6000, secinfo: SI_R, data: marked('linux read-only'), measure: true },
    ];
  }

  /** The SECS for ELRANGE at `base`. */
  secs(base: number, over: Partial<Secs> = {}): Uint8Array {
    return SECS.encode({ SIZE: BigInt(this.size), BASEADDR: BigInt(base), SSAFRAMESIZE: 1, ATTRIBUTES: { FLAGS: this.flags, XFRM: 3n }, ...over });
  }

  /** MRENCLAVE of adding `pages` in order (ECREATE, EADD, 16 × EEXTEND where measured). */
  measure(pages: readonly LinuxPage[] = this.pages): Uint8Array {
    const m = new Measurement(defaultCrypto());
    m.ecreate(1, this.size);
    for (const p of pages) {
      m.eadd(p.offset, measuredSecinfoFlags(p.secinfo));
      if (p.measure) m.eextendPage(p.offset, p.data);
    }
    return m.finalize();
  }

  sigstruct(over: Partial<SigstructFields> = {}, key: string = signingKey()): Uint8Array {
    return signSigstruct({
      enclaveHash: this.measure(), isvProdId: 1, isvSvn: 1,
      attributesFlags: this.flags & ~ATTR.DEBUG, attributesXfrm: 3n, attributeMaskFlags: 0xffff_ffff_ffff_fffdn, attributeMaskXfrm: 0xffff_ffff_ffff_ffffn,
      miscSelect: 0, miscMask: 0xffff_ffff, date: 0x2026_1127, ...over,
    }, key, defaultCrypto());
  }
}

/** Reserve a size-aligned range for ELRANGE as loaders do (2 × size PROT_NONE, aligned, slack unmapped); its base. */
export function reserve(libc: Libc, size: number): number {
  const area = libc.mmap(0, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
  assert.ok(area > 0, `reserve: ${errnoName(libc.errno)}`);
  const base = Math.ceil(area / size) * size;
  if (base > area) assert.equal(libc.munmap(area, base - area), 0);
  if (area + 2 * size > base + size) assert.equal(libc.munmap(base + size, area + 2 * size - base - size), 0);
  return base;
}

export function ioctlOk(libc: Libc, fd: number, req: number, arg: number, what: string): void {
  const r = libc.ioctl(fd, req, arg);
  assert.equal(r, 0, `${what}: ${errnoName(libc.errno)}`);
}

export function createArg(libc: Libc, secs: Uint8Array): number {
  return put(libc, sgx_enclave_create.encode({ src: BigInt(put(libc, secs)) }));
}

export function addArg(libc: Libc, page: LinuxPage, o: { src?: number; length?: number; count?: bigint; offset?: number } = {}): number {
  const src = o.src ?? put(libc, page.data);
  return put(libc, sgx_enclave_add_pages.encode({
    src: BigInt(src), offset: BigInt(o.offset ?? page.offset), length: BigInt(o.length ?? 4096),
    secinfo: BigInt(put(libc, secinfo(page.secinfo))), flags: page.measure ? BigInt(SGX_PAGE_MEASURE) : 0n, count: o.count ?? 0n,
  }));
}

export function initArg(libc: Libc, sig: Uint8Array): number {
  return put(libc, sgx_enclave_init.encode({ sigstruct: BigInt(put(libc, sig)) }));
}

export type LinuxStage = 'open' | 'created' | 'added' | 'mapped' | 'initialized';

export interface BuiltLinuxEnclave {
  readonly fd: number;
  readonly base: number;
  readonly layout: LinuxLayout;
}

/** PROT_* of a SECINFO (TCS: RW). */
export function protOf(si: number): number {
  if (((si >> 8) & 0xff) === PT.TCS) return PROT_READ | PROT_WRITE;
  return ((si & 1) !== 0 ? PROT_READ : 0) | ((si & 2) !== 0 ? PROT_WRITE : 0) | ((si & 4) !== 0 ? PROT_EXEC : 0);
}

/** Build `layout` through the driver up to `stage` (asserting every step). */
export function buildLinux(m: LinuxMachine, stage: LinuxStage = 'initialized', layout: LinuxLayout = new LinuxLayout()): BuiltLinuxEnclave {
  const { libc } = m;
  const fd = libc.open('/dev/sgx_enclave', O_RDWR);
  assert.ok(fd >= 0, `open: ${errnoName(libc.errno)}`);
  const base = reserve(libc, layout.size);
  if (stage === 'open') return { fd, base, layout };
  ioctlOk(libc, fd, SGX_IOC.ENCLAVE_CREATE, createArg(libc, layout.secs(base)), 'CREATE');
  if (stage === 'created') return { fd, base, layout };
  for (const pg of layout.pages) ioctlOk(libc, fd, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(libc, pg), `ADD_PAGES +0x${pg.offset.toString(16)}`);
  if (stage === 'added') return { fd, base, layout };
  for (const pg of layout.pages) {
    const a = libc.mmap(base + pg.offset, 4096, protOf(pg.secinfo), MAP_SHARED | MAP_FIXED, fd, 0);
    assert.equal(a, base + pg.offset, `mmap +0x${pg.offset.toString(16)}: ${errnoName(libc.errno)}`);
  }
  if (stage === 'mapped') return { fd, base, layout };
  ioctlOk(libc, fd, SGX_IOC.ENCLAVE_INIT, initArg(libc, layout.sigstruct()), 'INIT');
  return { fd, base, layout };
}

/**
 * Two initialized enclaves of one process at the same ELRANGE (CREATE reserves nothing): A with one
 * page (the layout's data page, at +0x4000) and never mapped, B the whole layout, mapped.
 */
export function twoEnclavesAtOneAddress(m: LinuxMachine): { base: number; fdA: number; fdB: number; A: KernelEnclave; B: KernelEnclave } {
  const { libc } = m;
  const L = new LinuxLayout();
  const La = new LinuxLayout({ pages: [L.pages[4]!] });
  const base = reserve(libc, L.size);
  const fdA = libc.open('/dev/sgx_enclave');
  ioctlOk(libc, fdA, SGX_IOC.ENCLAVE_CREATE, createArg(libc, La.secs(base)), 'CREATE A');
  ioctlOk(libc, fdA, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(libc, La.pages[0]!), 'ADD A');
  ioctlOk(libc, fdA, SGX_IOC.ENCLAVE_INIT, initArg(libc, La.sigstruct()), 'INIT A');
  const fdB = libc.open('/dev/sgx_enclave');
  ioctlOk(libc, fdB, SGX_IOC.ENCLAVE_CREATE, createArg(libc, L.secs(base)), 'CREATE B');
  for (const pg of L.pages) ioctlOk(libc, fdB, SGX_IOC.ENCLAVE_ADD_PAGES, addArg(libc, pg), 'ADD B');
  for (const pg of L.pages) assert.equal(libc.mmap(base + pg.offset, 4096, protOf(pg.secinfo), MAP_SHARED | MAP_FIXED, fdB, 0), base + pg.offset);
  ioctlOk(libc, fdB, SGX_IOC.ENCLAVE_INIT, initArg(libc, L.sigstruct()), 'INIT B');
  const enclaveOf = (fd: number): KernelEnclave => {
    const f = libc.sys.file(fd);
    assert.ok(f && f.kind === 'enclave' && f.enclave);
    return f.enclave;
  };
  return { base, fdA, fdB, A: enclaveOf(fdA), B: enclaveOf(fdB) };
}

/** A struct sgx_enclave_run in user memory for TCS `tcs`; its address. */
export function runStruct(libc: Libc, tcs: number, userHandler = 0): number {
  return put(libc, sgx_enclave_run.encode({ tcs: BigInt(tcs), user_handler: BigInt(userHandler) }));
}

export function readRun(libc: Libc, run: number): ReturnType<typeof sgx_enclave_run.decode> {
  return sgx_enclave_run.decode(libc.read(run, 256));
}

export { ERRNO };
