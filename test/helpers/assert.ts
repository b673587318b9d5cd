/** Assertions shared by the arch tests. */
import assert from 'node:assert/strict';
import { ArchFault, PFEC } from '../../src/arch/index.js';
import { toHex } from '../../src/lib/index.js';
import type { TestKernel } from './kernel.js';

export interface FaultExpectation {
  /** #PF: the faulting linear address. */
  address?: number;
  /** #PF: whether PFEC.SGX (bit 15) must be set (true) or clear (false). */
  sgx?: boolean;
}

/** `fn` must throw an ArchFault with `vector` (and, for #PF, the address / SGX bit given). */
export function assertFault(fn: () => unknown, vector: number, x: FaultExpectation = {}): ArchFault {
  let caught: ArchFault | null = null;
  assert.throws(fn, (e: unknown) => {
    if (!(e instanceof ArchFault)) throw e;
    caught = e;
    return true;
  });
  const f = caught as unknown as ArchFault;
  assert.equal(f.vector, vector, `expected vector ${vector}, got ${f.message}`);
  if (x.address !== undefined) assert.equal(f.address, x.address, f.message);
  if (x.sgx !== undefined) assert.equal((f.errorCode & PFEC.SGX) !== 0, x.sgx, `PFEC.SGX in ${f.message}`);
  return f;
}

/**
 * Run `fn` and assert that the processor's state did not change: metadata (free pages, enclaves),
 * the EPCM, and the DRAM view of the first 64 EPC pages (ciphertext: it changes with any page's
 * contents or memory-encryption version).
 */
export function assertUnchanged<T>(k: TestKernel, fn: () => T): T {
  const before = k.snapshot();
  const n = Math.min(k.proc.epcPages, 64);
  const epcm = (): string => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(JSON.stringify(k.proc.inspect.epcm(k.proc.epcBase + i * 4096)));
    return out.join();
  };
  const dram = (): string => toHex(k.proc.memory.dramRead(k.proc.epcBase, n * 4096));
  const e0 = epcm();
  const d0 = dram();
  const r = fn();
  assert.deepEqual(k.snapshot(), before, 'processor state changed');
  assert.equal(epcm(), e0, 'EPCM changed');
  assert.ok(dram() === d0, 'EPC contents or versions changed (DRAM view)');
  return r;
}

export function hexOf(b: Uint8Array | null | undefined): string | null {
  return b ? toHex(b) : null;
}
