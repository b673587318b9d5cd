/**
 * RtlNtStatusToDosError for the statuses the enclave API produces (specs/os-api.md §2.3; the
 * mapping as verified by Wine's ntdll tests against Windows). Unmapped codes give
 * ERROR_MR_MID_NOT_FOUND (317), as Windows does.
 */
import * as C from './constants.js';

const TABLE = new Map<number, number>([
  [C.STATUS_SUCCESS, C.ERROR_SUCCESS],
  [C.STATUS_PENDING, 997],
  [C.STATUS_PARTIAL_COPY, C.ERROR_PARTIAL_COPY],
  [C.STATUS_INFO_LENGTH_MISMATCH, C.ERROR_BAD_LENGTH],
  [C.STATUS_ACCESS_VIOLATION, C.ERROR_NOACCESS],
  [C.STATUS_INVALID_HANDLE, C.ERROR_INVALID_HANDLE],
  [C.STATUS_INVALID_PARAMETER, C.ERROR_INVALID_PARAMETER],
  [C.STATUS_NO_MEMORY, C.ERROR_NOT_ENOUGH_MEMORY],
  [C.STATUS_CONFLICTING_ADDRESSES, C.ERROR_INVALID_ADDRESS],
  [C.STATUS_UNABLE_TO_FREE_VM, C.ERROR_INVALID_PARAMETER],
  [C.STATUS_ALREADY_COMMITTED, C.ERROR_ACCESS_DENIED],
  [C.STATUS_NOT_COMMITTED, C.ERROR_INVALID_ADDRESS],
  [C.STATUS_INVALID_PAGE_PROTECTION, C.ERROR_INVALID_PARAMETER],
  [C.STATUS_INSUFFICIENT_RESOURCES, C.ERROR_NO_SYSTEM_RESOURCES],
  [C.STATUS_MEMORY_NOT_ALLOCATED, C.ERROR_INVALID_ADDRESS],
  [C.STATUS_FREE_VM_NOT_AT_BASE, C.ERROR_INVALID_ADDRESS],
  [C.STATUS_NOT_SUPPORTED, C.ERROR_NOT_SUPPORTED],
  [C.STATUS_COMMITMENT_LIMIT, C.ERROR_COMMITMENT_LIMIT],
  [C.STATUS_RETRY, C.ERROR_RETRY],
  [C.STATUS_ENCLAVE_FAILURE, C.ERROR_ENCLAVE_FAILURE],
  [C.STATUS_ENCLAVE_VIOLATION, C.ERROR_ENCLAVE_VIOLATION],
  [C.STATUS_ALREADY_INITIALIZED, C.ERROR_ALREADY_INITIALIZED],
  [C.STATUS_ENCLAVE_NOT_TERMINATED, C.ERROR_ENCLAVE_NOT_TERMINATED],
]);
for (let s = C.STATUS_INVALID_PARAMETER_1; s <= C.STATUS_INVALID_PARAMETER_12; s++) TABLE.set(s, C.ERROR_INVALID_PARAMETER);

/** NTSTATUS → Win32 error code. */
export function rtlNtStatusToDosError(status: number): number {
  const s = status >>> 0;
  const hit = TABLE.get(s);
  if (hit !== undefined) return hit;
  // 0xD… (customer bit) is treated like 0xC…
  if ((s & 0xf0000000) >>> 0 === 0xd0000000) {
    const h = TABLE.get(((s & 0x0fffffff) | 0xc0000000) >>> 0);
    if (h !== undefined) return h;
  }
  return C.ERROR_MR_MID_NOT_FOUND;
}

export function ntSuccess(status: number): boolean {
  return (status >>> 0) < 0x80000000;
}

const NAMES = new Map<number, string>(Object.entries(C).filter(([k]) => k.startsWith('STATUS_')).map(([k, v]) => [v as number, k]));
const ERRNAMES = new Map<number, string>(Object.entries(C).filter(([k]) => k.startsWith('ERROR_')).map(([k, v]) => [v as number, k]));

export function ntStatusName(status: number): string {
  return NAMES.get(status >>> 0) ?? `0x${(status >>> 0).toString(16).padStart(8, '0')}`;
}
export function win32ErrorName(code: number): string {
  return ERRNAMES.get(code) ?? String(code);
}
