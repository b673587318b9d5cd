/**
 * Architectural faults: the second failure channel. A leaf that faults has no architectural
 * effect (specs/sgx.md §0, ED-0); it throws an `ArchFault` carrying the vector, the error code and,
 * for #PF, the linear address (CR2). SGX status codes are return values, never faults.
 */
import { VECTOR, PFEC } from './constants.js';

const MNEMONIC: Readonly<Record<number, string>> = { 0: '#DE', 1: '#DB', 3: '#BP', 5: '#BR', 6: '#UD', 7: '#NM', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM' };

export class ArchFault extends Error {
  /** Exception vector (13 = #GP, 14 = #PF, 6 = #UD, 18 = #MC, …). */
  readonly vector: number;
  /** Error code pushed with the fault (0 for #GP(0); the PFEC for #PF). */
  readonly errorCode: number;
  /** Faulting linear address for #PF (CR2), otherwise 0. */
  readonly address: number;
  /** What the model was doing, for people (never parsed). */
  readonly reason: string;

  constructor(vector: number, errorCode: number, address: number, reason: string) {
    super(`${MNEMONIC[vector] ?? `vector ${vector}`}${vector === VECTOR.PF ? `(0x${address.toString(16)}, pfec 0x${errorCode.toString(16)})` : `(${errorCode})`}: ${reason}`);
    this.name = 'ArchFault';
    this.vector = vector;
    this.errorCode = errorCode;
    this.address = address;
    this.reason = reason;
  }

  get mnemonic(): string {
    return MNEMONIC[this.vector] ?? `vector ${this.vector}`;
  }
}

/** #GP(0). */
export function gp(reason: string): ArchFault {
  return new ArchFault(VECTOR.GP, 0, 0, reason);
}
/** #PF on `address` with error code `pfec` (add PFEC.SGX for EPCM-induced faults). */
export function pf(address: number, pfec: number, reason: string): ArchFault {
  return new ArchFault(VECTOR.PF, pfec, address, reason);
}
/** #PF raised by an EPCM check during an ENCLS/ENCLU operand check (PFEC.SGX set, P set). */
export function pfEpcm(address: number, reason: string, write = false): ArchFault {
  return new ArchFault(VECTOR.PF, PFEC.P | PFEC.US | PFEC.SGX | (write ? PFEC.W : 0), address, reason);
}
/** #UD. */
export function ud(reason: string): ArchFault {
  return new ArchFault(VECTOR.UD, 0, 0, reason);
}
/** #MC: the memory controller locked after an integrity failure (drop-and-lock). */
export function mc(reason: string): ArchFault {
  return new ArchFault(VECTOR.MC, 0, 0, reason);
}
