/**
 * A minimal ring-0 driver for the processor tests: it places ENCLS operands in RAM and runs the
 * leaves on logical processor 0. (The real kernel is src/os; this helper keeps the arch tests
 * independent of it.)
 */
import {
  Processor, ENCLS, SECS, PT, PageTable, PTE, parseSgxs, sgxsPages, newRegisters,
  type ProcessorOptions, type EnclaveEngine, type EnclaveInfo, type ExitHandler, type ExitInfo, type Registers,
} from '../../src/arch/index.js';
import { writeU64le, toHex } from '../../src/lib/index.js';

/** What a failing leaf must leave unchanged: the free-page count and the enclave metadata. */
export interface ProcessorSnapshot {
  readonly free: number;
  readonly enclaves: EnclaveInfo[];
}

export class TestKernel {
  readonly proc: Processor;
  #nextRam = 0x100000;
  #nextEpc = 0;
  #nextHost = 0x7000_0000;
  /** A user address space in which enclaves and host buffers are mapped. */
  readonly userPt = new PageTable('test process');

  /** A new processor from `options`, or an existing one (e.g. from `Processor.restore`). */
  constructor(options: ProcessorOptions | Processor = {}) {
    this.proc = options instanceof Processor ? options : new Processor(options);
    const lp = this.proc.lps[0]!;
    lp.cpl = 0;
    lp.cr3 = this.proc.kernelPageTable;
  }

  get lp() {
    return this.proc.lps[0]!;
  }

  /** Run `fn` as kernel code on LP0. */
  kernel<T>(fn: () => T): T {
    const lp = this.lp;
    const cpl = lp.cpl, cr3 = lp.cr3;
    lp.cpl = 0;
    lp.cr3 = this.proc.kernelPageTable;
    try {
      return fn();
    } finally {
      lp.cpl = cpl;
      lp.cr3 = cr3;
    }
  }

  /** Run `fn` as user code of the test process on LP `i`. */
  user<T>(fn: () => T, i = 0): T {
    const lp = this.proc.lps[i]!;
    const cpl = lp.cpl, cr3 = lp.cr3;
    lp.cpl = 3;
    lp.cr3 = this.userPt;
    try {
      return fn();
    } finally {
      lp.cpl = cpl;
      lp.cr3 = cr3;
    }
  }

  /** Allocate `bytes` of RAM (page-aligned) and return its physical (= kernel linear) address. */
  alloc(bytes: number, init?: Uint8Array): number {
    const pa = this.#nextRam;
    this.#nextRam += Math.ceil(Math.max(bytes, 1) / 4096) * 4096;
    if (init) this.proc.memory.writePhysical(pa, init);
    return pa;
  }

  /** The next free EPC page (physical address). */
  epcPage(): number {
    return this.proc.epcBase + 4096 * this.#nextEpc++;
  }

  pageinfo(linaddr: number, srcpge: number, secinfo: number, secs: number): number {
    const b = new Uint8Array(32);
    writeU64le(b, 0, linaddr);
    writeU64le(b, 8, srcpge);
    writeU64le(b, 16, secinfo);
    writeU64le(b, 24, secs);
    return this.alloc(32, b);
  }

  secinfo(flags: number): number {
    const b = new Uint8Array(64);
    writeU64le(b, 0, flags);
    return this.alloc(64, b);
  }

  ecreate(secs: Uint8Array, epc = this.epcPage()): { status: number; secs: number } {
    const src = this.alloc(4096, secs);
    const si = this.secinfo(PT.SECS << 8);
    const pi = this.pageinfo(0, src, si, 0);
    const status = this.kernel(() => this.lp.encls(ENCLS.ECREATE, pi, epc));
    return { status, secs: epc };
  }

  eadd(secs: number, linaddr: number, flags: number, data: Uint8Array, epc = this.epcPage()): number {
    const src = this.alloc(4096, data);
    const si = this.secinfo(flags);
    const pi = this.pageinfo(linaddr, src, si, secs);
    this.kernel(() => this.lp.encls(ENCLS.EADD, pi, epc));
    return epc;
  }

  eextendPage(secs: number, epc: number): void {
    this.kernel(() => {
      for (let c = 0; c < 4096; c += 256) this.lp.encls(ENCLS.EEXTEND, secs, epc + c);
    });
  }

  einit(secs: number, sigstruct: Uint8Array, token: Uint8Array = new Uint8Array(304)): number {
    const sig = this.alloc(4096, sigstruct);
    const tok = this.alloc(512, token);
    return this.kernel(() => this.lp.encls(ENCLS.EINIT, sig, secs, tok));
  }

  /** Write the LE public-key hash MSRs (FLC), as Linux does before every EINIT. */
  setLeHash(hash: Uint8Array): void {
    this.kernel(() => {
      for (let i = 0; i < 4; i++) {
        let v = 0n;
        for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(hash[i * 8 + k]!);
        this.lp.wrmsr(0x8c + i, v);
      }
    });
  }

  /** Map enclave page `la` to EPC frame `epc` in the user address space. */
  mapUser(la: number, pa: number, writable = true, nx = false): void {
    this.userPt.map(la / 4096, pa / 4096, PTE.U | (writable ? PTE.W : 0) | (nx ? PTE.NX : 0));
  }

  /** Allocate and map host (untrusted) memory in the user address space. */
  hostBuffer(la: number, bytes: number): number {
    const pa = this.alloc(bytes);
    for (let o = 0; o < bytes; o += 4096) this.mapUser(la + o, pa + o);
    return pa;
  }

  /** Allocate page-aligned host memory, mapped user-writable in the test process. */
  hostAlloc(bytes: number): { la: number; pa: number } {
    const la = this.#nextHost;
    this.#nextHost += Math.ceil(Math.max(bytes, 1) / 4096) * 4096 + 4096;
    return { la, pa: this.hostBuffer(la, bytes) };
  }

  /** Run one ENCLS leaf on LP0 as kernel code. */
  encls(leaf: number, rbx = 0, rcx = 0, rdx = 0): number {
    return this.kernel(() => this.lp.encls(leaf, rbx, rcx, rdx));
  }

  snapshot(): ProcessorSnapshot {
    return { free: this.proc.inspect.freeEpcPages, enclaves: this.proc.inspect.enclaves() };
  }

  /** EDBGRD of the 8 bytes at EPC address `pa` (a DEBUG enclave's REG/TCS page). */
  edbgrd(pa: number): bigint {
    return this.kernel(() => {
      const st = this.lp.encls(ENCLS.EDBGRD, 0, pa);
      if (st !== 0) throw new Error(`EDBGRD status ${st}`);
      return this.lp.dataOut;
    });
  }

  edbgwr(pa: number, value: bigint): number {
    return this.kernel(() => this.lp.edbgwr(pa, value));
  }

  /** Read `len` (a multiple of 8) bytes of a DEBUG enclave's page at 8-aligned EPC address `pa` with EDBGRD. */
  readEpc(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let o = 0; o < len; o += 8) writeU64le(out, o, this.edbgrd(pa + o));
    return out;
  }

  /** ENCLU[EENTER/ERESUME] from user mode on LP `lpIndex` (default 1: LP0 runs the test kernel). */
  enclu(leaf: number, init: Partial<Registers>, handler: ExitHandler | null = null, lpIndex = 1): { exit: ExitInfo; regs: Registers } {
    const regs = newRegisters(init);
    const exit = this.user(() => this.proc.lps[lpIndex]!.enclu(leaf, regs, handler), lpIndex);
    return { exit, regs };
  }

  /**
   * Load an SGXS stream at `base`: ECREATE, EADD every page, EEXTEND the measured chunks, and map
   * every page into the user address space. Returns the SECS address and the page frames.
   */
  loadSgxs(stream: Uint8Array, base: number, attributes: { flags: bigint; xfrm: bigint; miscSelect?: number }): { secs: number; frames: Map<number, number> } {
    const records = parseSgxs(stream);
    const ec = records[0] as { kind: 'ECREATE'; ssaFrameSize: number; size: number };
    const secsBytes = SECS.encode({ SIZE: BigInt(ec.size), BASEADDR: BigInt(base), SSAFRAMESIZE: ec.ssaFrameSize, MISCSELECT: attributes.miscSelect ?? 0, ATTRIBUTES: { FLAGS: attributes.flags, XFRM: attributes.xfrm } });
    const { status, secs } = this.ecreate(secsBytes);
    if (status !== 0) throw new Error(`ECREATE status ${status}`);
    const frames = new Map<number, number>();
    for (const p of sgxsPages(records)) {
      const epc = this.eadd(secs, base + p.offset, p.secinfoFlags, p.data);
      frames.set(p.offset, epc);
      this.kernel(() => {
        for (let c = 0; c < 16; c++) if (p.measuredChunks & (1 << c)) this.lp.encls(ENCLS.EEXTEND, secs, epc + c * 256);
      });
      const pt = (p.secinfoFlags >> 8) & 0xff;
      this.mapUser(base + p.offset, epc, pt === PT.TCS || (p.secinfoFlags & 2) !== 0, (p.secinfoFlags & 4) === 0);
    }
    return { secs, frames };
  }
}

export function hex(b: Uint8Array): string {
  return toHex(b);
}

export type { EnclaveEngine };
