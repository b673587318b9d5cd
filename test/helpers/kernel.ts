/**
 * A minimal ring-0 driver for the processor tests: it places ENCLS operands in RAM and runs the
 * leaves on logical processor 0. (The real kernel is src/os; this helper keeps the arch tests
 * independent of it.)
 */
import { Processor, ENCLS, SECS, PT, PageTable, PTE, parseSgxs, sgxsPages, type ProcessorOptions, type EnclaveEngine } from '../../src/arch/index.js';
import { writeU64le, toHex } from '../../src/lib/index.js';

export class TestKernel {
  readonly proc: Processor;
  #nextRam = 0x100000;
  #nextEpc = 0;
  /** A user address space in which enclaves and host buffers are mapped. */
  readonly userPt = new PageTable('test process');

  constructor(options: ProcessorOptions = {}) {
    this.proc = new Processor(options);
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
