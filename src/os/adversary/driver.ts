/**
 * A hostile ring-0 driver: every power a kernel has, used against enclaves. It reads and writes any
 * physical frame (through the MMU, and by DMA into DRAM), edits any process's page tables, executes
 * ENCLS with structures of its choosing, programs interrupts at the enclave's interrupt windows,
 * and enters enclaves as the host would.
 */
import { ENCLU, PTE, newRegisters, type LogicalProcessor, type Registers, type ExitInfo, type ExitHandler } from '../../arch/index.js';
import type { Kernel } from '../kernel.js';
import { OsError } from '../errors.js';
import type { Process } from '../process.js';

export class HostileDriver {
  readonly kernel: Kernel;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  get processor() {
    return this.kernel.processor;
  }

  /** Read physical memory through the MMU, as kernel code does (the EPC reads as the abort page). */
  readPhysical(pa: number, len: number): Uint8Array {
    return this.kernel.ring0(() => this.processor.memory.readPhysical(pa, len));
  }
  writePhysical(pa: number, data: Uint8Array): void {
    this.kernel.ring0(() => this.processor.memory.writePhysical(pa, data));
  }
  /** A bus-mastering device: reads DRAM itself (the EPC as memory-encryption ciphertext). */
  dmaRead(pa: number, len: number): Uint8Array {
    return this.processor.memory.dramRead(pa, len);
  }
  dmaWrite(pa: number, data: Uint8Array): number {
    return this.processor.memory.dramWrite(pa, data).tamperedPages;
  }

  /** The physical frame a process maps at linear address `la` (page-aligned), or -1. */
  frameOf(process: Process, la: number): number {
    const t = process.pageTable.lookup(Math.floor(la / 4096));
    return t ? t.pfn * 4096 : -1;
  }
  /** Point a process's page at another physical frame. Returns the old frame. */
  remap(process: Process, la: number, pa: number, writable = true): number {
    const old = this.frameOf(process, la);
    process.pageTable.map(Math.floor(la / 4096), Math.floor(pa / 4096), PTE.U | (writable ? PTE.W : 0) | PTE.NX);
    return old;
  }
  unmap(process: Process, la: number): void {
    process.pageTable.unmap(Math.floor(la / 4096));
  }

  /** Execute an ENCLS leaf with raw operands (kernel linear = physical addresses). */
  encls(leaf: number, rbx = 0, rcx = 0, rdx = 0): number {
    return this.kernel.ring0((lp) => lp.encls(leaf, rbx, rcx, rdx));
  }
  /**
   * EADD a page of the driver's choosing into an enclave (any state), at `epc`: `data` (zero-padded
   * to a page) is staged in the kernel's source page and added through the kernel's own leaf.
   */
  eadd(secs: number, epc: number, linaddr: number, secinfoFlags: number, data: Uint8Array): number {
    const page = new Uint8Array(4096);
    page.set(data.subarray(0, 4096));
    const src = this.kernel.sgx.sourcePage;
    this.processor.memory.writePhysical(src, page);
    return this.kernel.sgx.eadd(src, linaddr, secinfoFlags, secs, epc);
  }
  /** EDBGRD of 8 bytes at an EPC address. */
  edbgrd(pa: number): { status: number; value: bigint } {
    return this.kernel.sgx.edbgrd(pa);
  }
  edbgwr(pa: number, value: bigint): number {
    return this.kernel.sgx.edbgwr(pa, value);
  }

  /**
   * Run `hook` at every interrupt window of enclave execution (the APIC-timer trick of
   * single-stepping attacks). The hook receives the logical processor that is inside the enclave.
   */
  onEnclaveStep(hook: ((lp: LogicalProcessor) => void) | null): void {
    this.processor.setStepHook(hook);
  }

  /** Enter an enclave as the host would, on a logical processor of the attacker's choosing. */
  enter(process: Process, tcs: number, regs: Partial<Registers> = {}, handler: ExitHandler | null = null, lpIndex?: number): ExitInfo {
    const r = newRegisters({ rbx: tcs, rcx: 0x7ffe_0000_2000, rip: 0x7ffe_0000_1ff0, ...regs });
    const lp = lpIndex === undefined ? this.processor.lps.find((l) => !l.inEnclaveMode) : this.processor.lps[lpIndex];
    if (!lp) throw new OsError('NO_FREE_LP', 'no logical processor is free');
    return this.kernel.user(process, (l) => l.enclu(ENCLU.EENTER, r, handler), lp.index);
  }
}
