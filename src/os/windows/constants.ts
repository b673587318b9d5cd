/**
 * Windows constants used by the enclave API, with their values from winnt.h / winerror.h /
 * ntstatus.h (specs/os-api.md §2.2, §2.3). Only Windows-defined values live here.
 */

/** flEnclaveType (winnt.h). */
export const ENCLAVE_TYPE_SGX = 0x00000001;
export const ENCLAVE_TYPE_SGX2 = 0x00000002;
export const ENCLAVE_TYPE_VBS = 0x00000010;
export const ENCLAVE_TYPE_VBS_BASIC = 0x00000011;

/** Memory protection constants (winnt.h; learn.microsoft.com "Memory Protection Constants"). */
export const PAGE_NOACCESS = 0x01;
export const PAGE_READONLY = 0x02;
export const PAGE_READWRITE = 0x04;
export const PAGE_WRITECOPY = 0x08;
export const PAGE_EXECUTE = 0x10;
export const PAGE_EXECUTE_READ = 0x20;
export const PAGE_EXECUTE_READWRITE = 0x40;
export const PAGE_EXECUTE_WRITECOPY = 0x80;
export const PAGE_GUARD = 0x100;
export const PAGE_NOCACHE = 0x200;
export const PAGE_WRITECOMBINE = 0x400;
export const PAGE_ENCLAVE_THREAD_CONTROL = 0x80000000;
export const PAGE_TARGETS_INVALID = 0x40000000;
export const PAGE_TARGETS_NO_UPDATE = 0x40000000;
export const PAGE_ENCLAVE_UNVALIDATED = 0x20000000;
export const PAGE_ENCLAVE_NO_CHANGE = 0x20000000;
export const PAGE_ENCLAVE_MASK = 0x10000000;
export const PAGE_ENCLAVE_DECOMMIT = 0x10000000;
export const PAGE_ENCLAVE_SS_FIRST = 0x10000001;
export const PAGE_ENCLAVE_SS_REST = 0x10000002;

/** VirtualAlloc / VirtualFree flags. */
export const MEM_COMMIT = 0x00001000;
export const MEM_RESERVE = 0x00002000;
export const MEM_DECOMMIT = 0x00004000;
export const MEM_RELEASE = 0x00008000;

/** Win32 error codes (winerror.h). */
export const ERROR_SUCCESS = 0;
export const ERROR_ACCESS_DENIED = 5;
export const ERROR_INVALID_HANDLE = 6;
export const ERROR_NOT_ENOUGH_MEMORY = 8;
export const ERROR_BAD_LENGTH = 24;
export const ERROR_NOT_SUPPORTED = 50;
export const ERROR_INVALID_PARAMETER = 87;
export const ERROR_MOD_NOT_FOUND = 126;
export const ERROR_PROC_NOT_FOUND = 127;
export const ERROR_PARTIAL_COPY = 299;
export const ERROR_MR_MID_NOT_FOUND = 317;
export const ERROR_ENCLAVE_FAILURE = 349;
export const ERROR_INVALID_ADDRESS = 487;
export const ERROR_ENCLAVE_NOT_TERMINATED = 814;
export const ERROR_ENCLAVE_VIOLATION = 815;
export const ERROR_NOACCESS = 998;
export const ERROR_RETRY = 1237;
export const ERROR_ALREADY_INITIALIZED = 1247;
export const ERROR_NO_SYSTEM_RESOURCES = 1450;
export const ERROR_COMMITMENT_LIMIT = 1455;

/** NTSTATUS values (ntstatus.h). */
export const STATUS_SUCCESS = 0x00000000;
export const STATUS_PENDING = 0x00000103;
/** A warning (severity 2), not a success: NT_SUCCESS is false and kernelbase fails the call. */
export const STATUS_PARTIAL_COPY = 0x8000000d;
export const STATUS_INFO_LENGTH_MISMATCH = 0xc0000004;
export const STATUS_ACCESS_VIOLATION = 0xc0000005;
export const STATUS_INVALID_HANDLE = 0xc0000008;
export const STATUS_INVALID_PARAMETER = 0xc000000d;
export const STATUS_NO_MEMORY = 0xc0000017;
export const STATUS_CONFLICTING_ADDRESSES = 0xc0000018;
export const STATUS_UNABLE_TO_FREE_VM = 0xc000001a;
export const STATUS_ALREADY_COMMITTED = 0xc0000021;
export const STATUS_NOT_COMMITTED = 0xc000002d;
export const STATUS_INVALID_PAGE_PROTECTION = 0xc0000045;
export const STATUS_INSUFFICIENT_RESOURCES = 0xc000009a;
export const STATUS_FREE_VM_NOT_AT_BASE = 0xc000009f;
export const STATUS_MEMORY_NOT_ALLOCATED = 0xc00000a0;
export const STATUS_NOT_SUPPORTED = 0xc00000bb;
export const STATUS_INVALID_PARAMETER_1 = 0xc00000ef;
export const STATUS_INVALID_PARAMETER_2 = 0xc00000f0;
export const STATUS_INVALID_PARAMETER_3 = 0xc00000f1;
export const STATUS_INVALID_PARAMETER_4 = 0xc00000f2;
export const STATUS_INVALID_PARAMETER_5 = 0xc00000f3;
export const STATUS_INVALID_PARAMETER_6 = 0xc00000f4;
export const STATUS_INVALID_PARAMETER_7 = 0xc00000f5;
export const STATUS_INVALID_PARAMETER_8 = 0xc00000f6;
export const STATUS_INVALID_PARAMETER_9 = 0xc00000f7;
export const STATUS_INVALID_PARAMETER_10 = 0xc00000f8;
export const STATUS_INVALID_PARAMETER_11 = 0xc00000f9;
export const STATUS_INVALID_PARAMETER_12 = 0xc00000fa;
export const STATUS_COMMITMENT_LIMIT = 0xc000012d;
export const STATUS_RETRY = 0xc000022d;
export const STATUS_ENCLAVE_FAILURE = 0xc000048f;
export const STATUS_ENCLAVE_VIOLATION = 0xc00004a2;
export const STATUS_ALREADY_INITIALIZED = 0xc0000510;
export const STATUS_ENCLAVE_NOT_TERMINATED = 0xc0000511;
export const STATUS_ENCLAVE_IS_TERMINATING = 0xc0000512;

/** The current-process pseudo-handle, `(HANDLE)-1`, as GetCurrentProcess() returns it. */
export const CURRENT_PROCESS = -1;

/** Structure sizes (winnt.h). */
export const ENCLAVE_CREATE_INFO_SGX_SIZE = 4096;
export const ENCLAVE_INIT_INFO_SGX_SIZE = 4096;
