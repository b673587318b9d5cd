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

/** Run `fn` and assert that the processor's metadata (free pages, enclaves) did not change. */
export function assertUnchanged<T>(k: TestKernel, fn: () => T): T {
  const before = k.snapshot();
  const epcm = (): string => {
    const out: string[] = [];
    for (let i = 0; i < Math.min(k.proc.epcPages, 64); i++) out.push(JSON.stringify(k.proc.inspect.epcm(k.proc.epcBase + i * 4096)));
    return out.join();
  };
  const e0 = epcm();
  const r = fn();
  assert.deepEqual(k.snapshot(), before, 'processor state changed');
  assert.equal(epcm(), e0, 'EPCM changed');
  return r;
}

export function hexOf(b: Uint8Array | null | undefined): string | null {
  return b ? toHex(b) : null;
}
