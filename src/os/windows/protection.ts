/**
 * Windows page protections (winnt.h PAGE_*, learn.microsoft.com "Memory Protection Constants") and
 * what they become below: PTE flags for the host mapping, and for LoadEnclaveData the SECINFO.FLAGS
 * of EADD (specs/os-api.md §2.8).
 */
import { PTE, PT, SECINFO_FLAGS } from '../../arch/index.js';
import * as C from './constants.js';

/** PTE flags for a base protection (x86 has no read-only-execute distinction), or -1 for no access. */
export function pteFlagsFor(protect: number): number {
  switch (protect) {
    case C.PAGE_READONLY: return PTE.U | PTE.NX;
    case C.PAGE_READWRITE: return PTE.U | PTE.W | PTE.NX;
    case C.PAGE_EXECUTE:
    case C.PAGE_EXECUTE_READ: return PTE.U;
    case C.PAGE_EXECUTE_READWRITE: return PTE.U | PTE.W;
    default: return -1;
  }
}

/** What a LoadEnclaveData protection value means (specs/os-api.md §2.8 table). */
export interface PageProtection {
  /** SECINFO.FLAGS for EADD. */
  readonly secinfo: number;
  /** PTE flags for the host mapping, or -1 for none. */
  readonly pte: number;
  readonly measure: boolean;
}

const { R, W, X, PAGE_TYPE_SHIFT } = SECINFO_FLAGS;
/** SECINFO permission bits of the base protections LoadEnclaveData accepts for PT_REG pages. */
const REG_PERMISSIONS: ReadonlyMap<number, number> = new Map([
  [C.PAGE_READONLY, R],
  [C.PAGE_READWRITE, R | W],
  [C.PAGE_EXECUTE, X],
  [C.PAGE_EXECUTE_READ, R | X],
  [C.PAGE_EXECUTE_READWRITE, R | W | X],
]);

/** Decode `flProtect` for LoadEnclaveData; null when it is not acceptable. */
export function decodeEnclaveProtection(flProtect: number, acceptZero: boolean): PageProtection | null {
  const p = flProtect >>> 0;
  if ((p & 0xf0000000) >>> 0 === C.PAGE_ENCLAVE_MASK) return null; // PAGE_ENCLAVE_* enumeration values: not for LoadEnclaveData
  const tcs = (p & C.PAGE_ENCLAVE_THREAD_CONTROL) !== 0;
  const measure = (p & C.PAGE_ENCLAVE_UNVALIDATED) === 0;
  const rest = p & ~(C.PAGE_ENCLAVE_THREAD_CONTROL | C.PAGE_ENCLAVE_UNVALIDATED) >>> 0;
  if ((rest & ~0xff) !== 0) return null; // GUARD, NOCACHE, WRITECOMBINE, CFG and unknown bits
  const base = rest & 0xff;
  if (tcs) {
    // Windows requires PAGE_READWRITE with THREAD_CONTROL; EADD clears a TCS page's permission bits.
    if (base !== C.PAGE_READWRITE) return null;
    return { secinfo: PT.TCS << PAGE_TYPE_SHIFT, pte: pteFlagsFor(C.PAGE_READWRITE), measure };
  }
  if (base === 0) return acceptZero ? { secinfo: PT.REG << PAGE_TYPE_SHIFT, pte: -1, measure } : null;
  const perms = REG_PERMISSIONS.get(base);
  if (perms === undefined) return null; // NOACCESS, WRITECOPY, EXECUTE_WRITECOPY, combinations
  return { secinfo: (PT.REG << PAGE_TYPE_SHIFT) | perms, pte: pteFlagsFor(base), measure };
}
