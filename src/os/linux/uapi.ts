/**
 * The Linux SGX driver's user-space interface (arch/x86/include/uapi/asm/sgx.h; specs/os-api.md
 * §4.2): ioctl numbers, argument structures (arrays of __u64, declared once as field tables),
 * `struct sgx_enclave_run` for the vDSO (§4.6), and the errno, open, mmap and personality values of
 * the generic uapi headers (asm-generic/errno-base.h, asm-generic/mman-common.h, fcntl.h).
 */
import { defineLayout, u64, u32, u16, reserved } from '../../lib/layout.js';

/** errno values (asm-generic/errno-base.h, errno.h). System calls return them negated; libc sets `errno`. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  EOVERFLOW: 75,
} as const;

const ERRNO_NAMES = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** `EINVAL (22)` style name of an errno value. */
export function errnoName(e: number): string {
  return `${ERRNO_NAMES.get(e) ?? 'E?'} (${e})`;
}

/** open(2) flags (asm-generic/fcntl.h). */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;

/** mmap/mprotect protections and flags (asm-generic/mman-common.h, mman.h). */
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x0100_0000;
export const PROT_GROWSUP = 0x0200_0000;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_FIXED_NOREPLACE = 0x100000;
/** mmap's failure value ((void *)-1). */
export const MAP_FAILED = -1;
/** personality(2) READ_IMPLIES_EXEC (include/uapi/linux/personality.h). */
export const READ_IMPLIES_EXEC = 0x0400000;

/** The driver's device nodes (os-api.md §4.1). Intel's loader also tries the /dev/sgx/ links. */
export const DEV_SGX_ENCLAVE = '/dev/sgx_enclave';
export const DEV_SGX_PROVISION = '/dev/sgx_provision';
export const DEV_SGX_ENCLAVE_LINK = '/dev/sgx/enclave';
export const DEV_SGX_PROVISION_LINK = '/dev/sgx/provision';

/** ioctl numbers: _IOW/_IOWR(0xA4, nr, struct) (os-api.md §4.2). The driver compares the whole number. */
export const SGX_IOC = {
  ENCLAVE_CREATE: 0x4008a400,
  ENCLAVE_ADD_PAGES: 0xc030a401,
  ENCLAVE_INIT: 0x4008a402,
  ENCLAVE_PROVISION: 0x4008a403,
  VEPC_REMOVE_ALL: 0x0000a404,
  ENCLAVE_RESTRICT_PERMISSIONS: 0xc028a405,
  ENCLAVE_MODIFY_TYPES: 0xc028a406,
  ENCLAVE_REMOVE_PAGES: 0xc018a407,
} as const;

/** sgx_enclave_add_pages.flags: EEXTEND the page (SGX_PAGE_MEASURE). */
export const SGX_PAGE_MEASURE = 0x01;

/** SECINFO.FLAGS masks the driver validates with (arch/x86/kernel/cpu/sgx/arch.h). */
export const SGX_SECINFO_PERMISSION_MASK = 0x7;
export const SGX_SECINFO_PAGE_TYPE_MASK = 0xff00;

/**
 * ATTRIBUTES an enclave may have without asking (SGX_ATTR_UNPRIV_MASK, v6.2+): DEBUG, MODE64BIT,
 * KSS and AEXNOTIFY. PROVISIONKEY needs SGX_IOC_ENCLAVE_PROVISION; EINITTOKENKEY is never allowed.
 */
export const SGX_ATTR_UNPRIV_MASK = 0x486n;
/** ATTRIBUTES bits reserved in the architecture (SGX_ATTR_RESERVED_MASK, v6.2+: bits 3, 6, 8, 9 and 63:11). */
export const SGX_ATTR_RESERVED_MASK = 0x8n | 0x40n | 0x300n | (((1n << 64n) - 1n) & ~((1n << 11n) - 1n));
/** MISCSELECT bits reserved in the architecture (SGX_MISC_RESERVED_MASK: 63:1). */
export const SGX_MISC_RESERVED_MASK = ((1n << 64n) - 1n) & ~1n;

/** ENCLU leaves as the vDSO names them in `sgx_enclave_run.function`. */
export const VDSO_EENTER = 2;
export const VDSO_ERESUME = 3;
export const VDSO_EEXIT = 4;

export const sgx_enclave_create = defineLayout('sgx_enclave_create', 8, [
  u64('src', 0, 'user address of the 4096-byte SECS'),
] as const);

export const sgx_enclave_add_pages = defineLayout('sgx_enclave_add_pages', 48, [
  u64('src', 0, 'page-aligned user address of the source'),
  u64('offset', 8, 'from SECS.BASEADDR'),
  u64('length', 16, 'a multiple of 4096'),
  u64('secinfo', 24, 'user address of a 64-byte SECINFO'),
  u64('flags', 32, 'SGX_PAGE_MEASURE'),
  u64('count', 40, 'out: bytes added'),
] as const);

export const sgx_enclave_init = defineLayout('sgx_enclave_init', 8, [
  u64('sigstruct', 0, 'user address of the 1808-byte SIGSTRUCT'),
] as const);

export const sgx_enclave_provision = defineLayout('sgx_enclave_provision', 8, [
  u64('fd', 0, 'an open /dev/sgx_provision'),
] as const);

export const sgx_enclave_restrict_permissions = defineLayout('sgx_enclave_restrict_permissions', 40, [
  u64('offset', 0),
  u64('length', 8),
  u64('permissions', 16, 'SECINFO R/W/X'),
  u64('result', 24, 'out: the EMODPR status of a failed page'),
  u64('count', 32, 'out: bytes processed'),
] as const);

export const sgx_enclave_modify_types = defineLayout('sgx_enclave_modify_types', 40, [
  u64('offset', 0),
  u64('length', 8),
  u64('page_type', 16, 'PT_TCS or PT_TRIM'),
  u64('result', 24, 'out: the EMODT status of a failed page'),
  u64('count', 32, 'out: bytes processed'),
] as const);

export const sgx_enclave_remove_pages = defineLayout('sgx_enclave_remove_pages', 24, [
  u64('offset', 0),
  u64('length', 8),
  u64('count', 16, 'out: bytes removed'),
] as const);

/** `struct sgx_enclave_run` (256 bytes), the vDSO's in/out block (os-api.md §4.6). */
export const sgx_enclave_run = defineLayout('sgx_enclave_run', 256, [
  u64('tcs', 0, 'in: the TCS for EENTER/ERESUME'),
  u32('function', 8, 'out: the last ENCLU leaf (EEXIT, or EENTER/ERESUME after an exception)'),
  u16('exception_vector', 12, 'out'),
  u16('exception_error_code', 14, 'out'),
  u64('exception_addr', 16, 'out'),
  u64('user_handler', 24, 'in: optional exit handler'),
  u64('user_data', 32, 'in: opaque'),
  reserved(40, 216, 'must be zero'),
] as const);
