/**
 * Linux's system calls for one process, as far as SGX needs them: open/close of the driver's
 * device nodes, its ioctls (arch/x86/kernel/cpu/sgx/ioctl.c), and mmap/mprotect/munmap with the
 * driver's hooks (driver.c sgx_mmap / sgx_get_unmapped_area, encl.c sgx_encl_may_map /
 * sgx_vma_fault), following specs/os-api.md §4.1–§4.5 and §4.7. Each call returns what the system
 * call returns: a result ≥ 0, or −errno (libc.ts turns that into −1 and `errno`).
 *
 * Checks run in the driver's order, and a call that fails before its first irreversible step
 * changes nothing; where Linux itself changes something before it fails, so does the model (a
 * refused MAP_FIXED mapping of the enclave leaves the range unmapped; mprotect changes the
 * mappings before the one it refuses; ADD_PAGES and the SGX2 ioctls keep the pages done before the
 * failing one, and say how many in `count`).
 *
 * The address space is the process's reservations (process.ts): every mapping is one region whose
 * owner is its `Vma` (protection, VM_MAY* bits, and the enclave file it maps, if any). Choices the
 * sources leave open, made here once:
 * - mmap(NULL) picks the lowest free range (Linux searches top-down; nothing depends on it);
 * - anonymous mappings other than PROT_NONE get their RAM at once (the model has no demand-zero
 *   fault for host memory), and enclave mappings get the PTEs of the pages already added at once
 *   (as MAP_POPULATE would); a page added, loaded or made later under a mapping is mapped when it
 *   is, or by the fault handler (sgx_vma_fault) on first touch;
 * - the enclave's release (all its pages EREMOVEd) happens when its last reference goes (the fd
 *   and every mapping, §4.5); if a thread is inside then, it is retried at the next system call.
 */
import { ArchFault, ATTR, PT, SECS, SGX, SIGSTRUCT, VECTOR, ATTRIBUTES, PTE, PFEC, mrsignerOf, type LogicalProcessor } from '../../arch/index.js';
import { u32le, u64le, isZero } from '../../lib/bytes.js';
import type { Layout } from '../../lib/layout.js';
import type { Kernel, KernelEnclave } from '../kernel.js';
import { USER_SPACE_END, type Process, type Region } from '../process.js';
import {
  ERRNO, O_ACCMODE, O_WRONLY, O_RDONLY, PROT_READ, PROT_WRITE, PROT_EXEC, PROT_SEM, PROT_GROWSDOWN, PROT_GROWSUP, MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_TYPE, MAP_FIXED, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, READ_IMPLIES_EXEC,
  DEV_SGX_ENCLAVE, DEV_SGX_PROVISION, DEV_SGX_ENCLAVE_LINK, DEV_SGX_PROVISION_LINK, SGX_IOC, SGX_PAGE_MEASURE, SGX_SECINFO_PERMISSION_MASK, SGX_SECINFO_PAGE_TYPE_MASK,
  SGX_ATTR_UNPRIV_MASK, SGX_ATTR_RESERVED_MASK, SGX_MISC_RESERVED_MASK,
  sgx_enclave_create, sgx_enclave_add_pages, sgx_enclave_init, sgx_enclave_provision, sgx_enclave_restrict_permissions, sgx_enclave_modify_types, sgx_enclave_remove_pages,
} from './uapi.js';
import type { LinuxProfile, ResolvedLinuxConfig } from './profiles.js';

const U64 = (1n << 64n) - 1n;
const PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC;
/** The enclave type recorded in the kernel's enclave object (Windows' ENCLAVE_TYPE_* do not apply). */
const LINUX_ENCLAVE = 0;
/**
 * Top of the user address space + 1. Linux's is TASK_SIZE_MAX = 2^47 − 4096; the model's processes
 * end 60 KiB lower (process.ts USER_SPACE_END), which no loader notices.
 */
const TASK_SIZE = USER_SPACE_END;
/** mmap_min_addr's usual value: MAP_FIXED below it is EPERM (security_mmap_addr). */
const MMAP_MIN_ADDR = 0x10000;
const SECS_SIZE_AT = SECS.field('SIZE').offset;
const SECS_BASEADDR_AT = SECS.field('BASEADDR').offset;
const SIG = {
  VENDOR: SIGSTRUCT.field('VENDOR').offset,
  MISCSELECT: SIGSTRUCT.field('MISCSELECT').offset,
  MISCMASK: SIGSTRUCT.field('MISCMASK').offset,
  ATTRIBUTES: SIGSTRUCT.field('ATTRIBUTES').offset,
  ATTRIBUTEMASK: SIGSTRUCT.field('ATTRIBUTEMASK').offset,
} as const;
/** EINIT's retry budget for SGX_UNMASKED_EVENT (SGX_EINIT_SLEEP_COUNT × SGX_EINIT_SPIN_COUNT; the sleeps are not modelled). */
const EINIT_TRIES = 50 * 20;

/** What an open file is. */
export type OpenFile = SgxEnclaveFile | SgxProvisionFile | ProcMemFile;

/** An open /proc/self/mem: the process's memory as a debugger reads it (mem_rw → access_remote_vm). */
export class ProcMemFile {
  readonly kind = 'procmem';
}

/** An open /dev/sgx_provision: only a capability for SGX_IOC_ENCLAVE_PROVISION. */
export class SgxProvisionFile {
  readonly kind = 'provision';
}

/** The driver's record of one enclave page (struct sgx_encl_page): its type and its maximum protection (PROT_* bits). */
interface EnclPage {
  type: number;
  maxProt: number;
}

/** An open /dev/sgx_enclave: one enclave (struct sgx_encl). */
export class SgxEnclaveFile {
  readonly kind = 'enclave';
  /** The kernel's enclave after SGX_IOC_ENCLAVE_CREATE. */
  enclave: KernelEnclave | null = null;
  /** ATTRIBUTES the enclave may have (SGX_ATTR_UNPRIV_MASK, + PROVISIONKEY after SGX_IOC_ENCLAVE_PROVISION). */
  attributesMask = SGX_ATTR_UNPRIV_MASK;
  /** The pages added or made, by linear address (the xarray encl->page_array). */
  readonly pages = new Map<number, EnclPage>();
  /** References: the fd while it is open, and every mapping. */
  refs = 1;
  /** Opened for writing (FMODE_WRITE): a shared writable mapping needs it. */
  readonly writable: boolean;
  /** Opened for reading (FMODE_READ): every mapping needs it. */
  readonly readable: boolean;

  constructor(flags: number) {
    const mode = flags & O_ACCMODE;
    this.writable = mode !== O_RDONLY;
    this.readable = mode !== O_WRONLY;
  }

  get created(): boolean {
    return this.enclave !== null;
  }
  get initialized(): boolean {
    return this.enclave?.state === 'initialized';
  }
}

/** One mapping (a VMA): the owner of its region in the process. */
export class Vma {
  prot: number;
  readonly file: SgxEnclaveFile | null;
  /**
   * VM_MAYREAD/VM_MAYWRITE/VM_MAYEXEC as PROT_* bits: what mprotect may give the mapping later
   * (do_mmap: a shared mapping of a file not opened for writing loses MAYWRITE, one from a noexec
   * mount MAYEXEC).
   */
  readonly may: number;
  constructor(prot: number, file: SgxEnclaveFile | null, may: number) {
    this.prot = prot;
    this.file = file;
    this.may = may;
  }
  get mayExec(): boolean {
    return (this.may & PROT_EXEC) !== 0;
  }
  clone(): Vma {
    return new Vma(this.prot, this.file, this.may);
  }
}

/** PTE flags for a protection (x86: write implies read; no execute is NX), or −1 for none. */
export function pteFor(prot: number): number {
  if ((prot & PROT_RWX) === 0) return -1;
  return PTE.U | ((prot & PROT_WRITE) !== 0 ? PTE.W : 0) | ((prot & PROT_EXEC) !== 0 ? 0 : PTE.NX);
}

/** The maximum protection of a page with SECINFO.FLAGS `flags` (sgx_encl_page_alloc: R/W/X, RW for a TCS). */
export function maxProtOf(flags: number): number {
  if (((flags >> 8) & 0xff) === PT.TCS) return PROT_READ | PROT_WRITE;
  return ((flags & 1) !== 0 ? PROT_READ : 0) | ((flags & 2) !== 0 ? PROT_WRITE : 0) | ((flags & 4) !== 0 ? PROT_EXEC : 0);
}

/** A u64 as a number when it is a safe integer, else −1 (no user address or size is that large). */
function safe(v: bigint): number {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : -1;
}

export class LinuxSyscalls {
  readonly #k: Kernel;
  readonly #p: Process;
  readonly #profile: LinuxProfile;
  readonly #cfg: ResolvedLinuxConfig;
  readonly #fds = new Map<number, OpenFile>();
  /** Enclaves whose last reference went while a thread was inside: released at a later call. */
  readonly #releasing = new Set<SgxEnclaveFile>();
  /** personality(2) flags (READ_IMPLIES_EXEC makes the driver refuse every mapping). */
  personality = 0;

  constructor(kernel: Kernel, process: Process, profile: LinuxProfile, config: ResolvedLinuxConfig) {
    this.#k = kernel;
    this.#p = process;
    this.#profile = profile;
    this.#cfg = config;
    kernel.addPageFaultHandler((lp, address, errorCode) => this.#fault(lp, address, errorCode));
    // Which enclave is mapped where is the VMA's to say (an ELRANGE is not reserved on Linux); a
    // write fault in a mapping without write permission is access_error's SIGSEGV before any
    // handler (nothing is loaded back for it).
    kernel.setMappingResolver(process, (la, errorCode) => {
      const r = process.regionAt(la);
      if (r === null || !(r.owner instanceof Vma) || r.owner.file === null) return null;
      if (errorCode >= 0 && (((errorCode & PFEC.W) !== 0 && (r.owner.prot & PROT_WRITE) === 0) || (r.owner.prot & PROT_RWX) === 0)) return null;
      return r.owner.file.enclave;
    });
  }

  get process(): Process {
    return this.#p;
  }
  get profile(): LinuxProfile {
    return this.#profile;
  }

  /** The driver registered its device: a kernel with SGX support, on SGX1 with launch control (sgx_drv_init), enabled, with EPC. */
  get deviceRegistered(): boolean {
    const c = this.#k.processor.inspect.cpuid;
    return this.#profile.kernelSgx && c.sgx1 && c.flc && c.enabled && this.#k.processor.epcPages > 0;
  }
  /** SGX2 (X86_FEATURE_SGX2): the EDMM ioctls and EAUG on fault. */
  get sgx2(): boolean {
    return this.deviceRegistered && this.#k.processor.inspect.cpuid.sgx2;
  }

  /** The open file behind `fd`, for inspection (undefined when none). */
  file(fd: number): OpenFile | undefined {
    return this.#fds.get(fd);
  }

  // ---- open / close ------------------------------------------------------------------------

  open(path: string, flags: number): number {
    this.#retryReleases();
    if (typeof path !== 'string' || !Number.isInteger(flags)) return -ERRNO.EINVAL;
    if (path === '/proc/self/mem' || path === `/proc/${this.#p.pid}/mem`) {
      const fd = this.#freeFd();
      this.#fds.set(fd, new ProcMemFile());
      return fd;
    }
    const enclave = path === DEV_SGX_ENCLAVE || path === DEV_SGX_ENCLAVE_LINK;
    const provision = path === DEV_SGX_PROVISION || path === DEV_SGX_PROVISION_LINK;
    if ((!enclave && !provision) || !this.deviceRegistered) return -ERRNO.ENOENT;
    if (this.#cfg.devicePermissionsDenied || (provision && this.#cfg.provisionDeviceDenied)) return -ERRNO.EACCES;
    const fd = this.#freeFd();
    this.#fds.set(fd, enclave ? new SgxEnclaveFile(flags) : new SgxProvisionFile());
    return fd;
  }

  /** The lowest free descriptor (0–2 are the standard streams). */
  #freeFd(): number {
    let fd = 3;
    while (this.#fds.has(fd)) fd++;
    return fd;
  }

  close(fd: number): number {
    this.#retryReleases();
    const f = this.#fds.get(fd);
    if (f === undefined) return -ERRNO.EBADF;
    this.#fds.delete(fd);
    if (f.kind === 'enclave') this.#unref(f);
    return 0;
  }

  // ---- ioctl -------------------------------------------------------------------------------

  /** ioctl(fd, request, arg): `arg` is the user address of the request's structure. */
  ioctl(fd: number, request: number, arg: number): number {
    this.#retryReleases();
    const f = this.#fds.get(fd);
    if (f === undefined) return -ERRNO.EBADF;
    if (f.kind !== 'enclave') return -ERRNO.ENOTTY; // (sgx_provision_fops has no ioctl; /proc/self/mem neither)
    switch (request >>> 0) {
      case SGX_IOC.ENCLAVE_CREATE: return this.#create(f, arg);
      case SGX_IOC.ENCLAVE_ADD_PAGES: return this.#addPages(f, arg);
      case SGX_IOC.ENCLAVE_INIT: return this.#init(f, arg);
      case SGX_IOC.ENCLAVE_PROVISION: return this.#provision(f, arg);
      case SGX_IOC.ENCLAVE_RESTRICT_PERMISSIONS: return this.#restrictPermissions(f, arg);
      case SGX_IOC.ENCLAVE_MODIFY_TYPES: return this.#modifyTypes(f, arg);
      case SGX_IOC.ENCLAVE_REMOVE_PAGES: return this.#removePages(f, arg);
      default: return -ERRNO.ENOTTY; // (-ENOIOCTLCMD)
    }
  }

  /** copy_from_user: the bytes, or null (EFAULT). */
  #fromUser(addr: number | bigint, len: number): Uint8Array | null {
    const a = typeof addr === 'bigint' ? safe(addr) : addr;
    if (!Number.isSafeInteger(a) || a <= 0 || !this.#p.accessible(a, len, false)) return null;
    return this.#p.read(a, len);
  }

  /** copy_to_user; false (EFAULT) when the bytes cannot be written. */
  #toUser(addr: number, bytes: Uint8Array): boolean {
    if (!this.#p.accessible(addr, bytes.length, true)) return false;
    this.#p.write(addr, bytes);
    return true;
  }

  /** sgx_validate_offset_length (ioctl.c). */
  #validOffsetLength(f: SgxEnclaveFile, offset: bigint, length: bigint): boolean {
    if (offset % 4096n !== 0n) return false;
    if (length === 0n || length % 4096n !== 0n) return false;
    const end = (offset + length) & U64;
    if (end < offset) return false;
    return end - 4096n < BigInt(f.enclave!.size);
  }

  // SGX_IOC_ENCLAVE_CREATE (sgx_ioc_enclave_create, sgx_encl_create).
  #create(f: SgxEnclaveFile, arg: number): number {
    if (f.created) return -ERRNO.EINVAL;
    const a = this.#fromUser(arg, sgx_enclave_create.size);
    if (a === null) return -ERRNO.EFAULT;
    const secs = this.#fromUser(u64le(a, 0), SECS.size);
    if (secs === null) return -ERRNO.EFAULT;
    const size = u64le(secs, SECS_SIZE_AT);
    if (size === 0n || (size & (size - 1n)) !== 0n) return -ERRNO.EINVAL;
    // Everything else about the SECS is ECREATE's to check (a fault: EIO).
    const base = u64le(secs, SECS_BASEADDR_AT);
    const k = this.#k;
    const r = safe(size) < 0 || safe(base) < 0 ? null : k.createEnclave(this.#p, safe(base), safe(size), LINUX_ENCLAVE, secs, 0, { reserve: false, vaPages: true });
    if (r === null || ('error' in r && r.error === 'ECREATE_FAULT')) return -ERRNO.EIO;
    if ('error' in r) return -ERRNO.ENOMEM;
    f.enclave = r;
    f.attributesMask = SGX_ATTR_UNPRIV_MASK; // (sgx_encl_create: a PROVISION before CREATE does not count)
    return 0;
  }

  // SGX_IOC_ENCLAVE_ADD_PAGES (sgx_ioc_enclave_add_pages, sgx_encl_add_page).
  #addPages(f: SgxEnclaveFile, arg: number): number {
    if (!f.created || f.initialized) return -ERRNO.EINVAL;
    const a = this.#fromUser(arg, sgx_enclave_add_pages.size);
    if (a === null) return -ERRNO.EFAULT;
    const v = sgx_enclave_add_pages.decode(a);
    if (v.src % 4096n !== 0n) return -ERRNO.EINVAL;
    if (!this.#validOffsetLength(f, v.offset, v.length)) return -ERRNO.EINVAL;
    const si = this.#fromUser(v.secinfo, 64);
    if (si === null) return -ERRNO.EFAULT;
    const flags = u64le(si, 0);
    if (!validSecinfo(flags, si)) return -ERRNO.EINVAL;
    const enc = f.enclave!;
    const secinfo = Number(flags);
    const measure = (v.flags & BigInt(SGX_PAGE_MEASURE)) !== 0n;
    const length = Number(v.length), offset = Number(v.offset);
    let c = 0, ret = 0;
    for (; c < length; c += 4096) {
      ret = this.#addPage(f, enc, safe(v.src) < 0 ? -1 : Number(v.src) + c, enc.base + offset + c, secinfo, measure);
      if (ret !== 0) break;
    }
    // The count is written back whatever happened (count = c).
    sgx_enclave_add_pages.encodeInto(a, 0, { count: BigInt(c) });
    if (!this.#toUser(arg, a)) return -ERRNO.EFAULT;
    return ret;
  }

  /** One page of ADD_PAGES (sgx_encl_add_page): EPC first, then the slot, then the source, EADD, EEXTEND. */
  #addPage(f: SgxEnclaveFile, enc: KernelEnclave, src: number, la: number, secinfo: number, measure: boolean): number {
    const k = this.#k;
    // The page, and a VA page when its 512 slots are spoken for (sgx_encl_grow counts the SECS too).
    if (!k.ensureAvailable(enc.pages.size + enc.evicted.size + 2 > enc.vaPages.length * 512 ? 2 : 1)) return -ERRNO.ENOMEM;
    if (enc.pages.has(la) || enc.evicted.has(la)) return -ERRNO.EBUSY; // (xa_insert)
    // __sgx_encl_add_page: the source's VMA (VM_MAYEXEC), its page (get_user_pages).
    const r = src < 0 ? null : this.#p.regionAt(src);
    if (r === null || !(r.owner instanceof Vma)) return -ERRNO.EFAULT;
    if (!r.owner.mayExec) return -ERRNO.EACCES;
    if (r.owner.file !== null) return -ERRNO.EFAULT; // (a VM_PFNMAP|VM_IO mapping: get_user_pages refuses it)
    if ((r.owner.prot & PROT_READ) === 0) return -ERRNO.EFAULT; // (check_vma_flags: a read needs VM_READ)
    const e = this.#p.pageTable.lookup(src / 4096);
    if (e === null || (e.flags & PTE.U) === 0) return -ERRNO.EFAULT;
    let epc: number;
    try {
      epc = k.ring0(() => k.addPage(enc, la, e.pfn * 4096, secinfo, measure));
    } catch (err) {
      if (err instanceof ArchFault) return -ERRNO.EIO;
      throw err;
    }
    if (epc < 0) return -ERRNO.ENOMEM;
    f.pages.set(la, { type: (secinfo >> 8) & 0xff, maxProt: maxProtOf(secinfo) });
    this.#mapPage(f, la);
    return 0;
  }

  // SGX_IOC_ENCLAVE_INIT (sgx_ioc_enclave_init, sgx_encl_init).
  #init(f: SgxEnclaveFile, arg: number): number {
    if (!f.created || f.initialized) return -ERRNO.EINVAL;
    const a = this.#fromUser(arg, sgx_enclave_init.size);
    if (a === null) return -ERRNO.EFAULT;
    const sig = this.#fromUser(u64le(a, 0), SIGSTRUCT.size);
    if (sig === null) return -ERRNO.EFAULT;
    const vendor = u32le(sig, SIG.VENDOR);
    if (vendor !== 0 && vendor !== 0x8086) return -ERRNO.EINVAL;
    const enc = f.enclave!;
    if ((enc.attributes.FLAGS & ~f.attributesMask) !== 0n) return -ERRNO.EACCES;
    const cpu = this.#k.processor.inspect.cpuid;
    const attrReserved = (~cpu.attributesFlagsMask & U64) | SGX_ATTR_RESERVED_MASK;
    const miscReserved = (BigInt(~cpu.miscselectMask >>> 0) | SGX_MISC_RESERVED_MASK) & 0xffff_ffffn; // (a u32 in the kernel)
    const xfrmReserved = ~cpu.xfrmMask & U64;
    const attrs = ATTRIBUTES.decode(sig.subarray(SIG.ATTRIBUTES, SIG.ATTRIBUTES + 16));
    const attrMask = ATTRIBUTES.decode(sig.subarray(SIG.ATTRIBUTEMASK, SIG.ATTRIBUTEMASK + 16));
    if ((attrs.FLAGS & attrMask.FLAGS & attrReserved) !== 0n) return -ERRNO.EINVAL;
    if ((BigInt(u32le(sig, SIG.MISCSELECT)) & BigInt(u32le(sig, SIG.MISCMASK)) & miscReserved) !== 0n) return -ERRNO.EINVAL;
    if ((attrs.XFRM & attrMask.XFRM & xfrmReserved) !== 0n) return -ERRNO.EINVAL;
    const k = this.#k;
    const token = new Uint8Array(304); // (no token: launch control is the MSRs, written before every EINIT)
    const mrsigner = mrsignerOf(sig, k.processor.crypto);
    let st: number;
    try {
      st = k.ring0(() => {
        let s: number = SGX.UNMASKED_EVENT;
        for (let i = 0; i < EINIT_TRIES && s === SGX.UNMASKED_EVENT; i++) {
          k.sgx.setLePubKeyHash(mrsigner); // (sgx_update_lepubkeyhash)
          s = k.sgx.einit(sig, token, enc.secs);
        }
        return s;
      });
    } catch (err) {
      if (err instanceof ArchFault) return -ERRNO.EIO;
      throw err;
    }
    if (st !== SGX.SUCCESS) return -ERRNO.EPERM; // (the SGX code itself is not reported)
    enc.state = 'initialized';
    k.releaseCommitment(enc);
    return 0;
  }

  // SGX_IOC_ENCLAVE_PROVISION (sgx_ioc_enclave_provision, sgx_set_attribute). No state check.
  #provision(f: SgxEnclaveFile, arg: number): number {
    const a = this.#fromUser(arg, sgx_enclave_provision.size);
    if (a === null) return -ERRNO.EFAULT;
    const fd = Number(u64le(a, 0) & 0xffff_ffffn);
    const p = this.#fds.get(fd);
    if (p === undefined || p.kind !== 'provision') return -ERRNO.EINVAL;
    f.attributesMask |= ATTR.PROVISIONKEY;
    return 0;
  }

  /**
   * What the three SGX2 ioctls begin with: sgx_ioc_sgx2_ready (SGX2: ENODEV, then an initialized
   * enclave: EINVAL), the argument copied in (EFAULT), sgx_validate_offset_length (EINVAL). The
   * argument's bytes and fields, or −errno.
   */
  #sgx2Arg<V extends { offset: bigint; length: bigint }>(f: SgxEnclaveFile, arg: number, layout: Layout<V>): { a: Uint8Array; v: V } | number {
    if (!this.sgx2) return -ERRNO.ENODEV;
    if (!f.initialized) return -ERRNO.EINVAL;
    const a = this.#fromUser(arg, layout.size);
    if (a === null) return -ERRNO.EFAULT;
    const v = layout.decode(a);
    if (!this.#validOffsetLength(f, v.offset, v.length)) return -ERRNO.EINVAL;
    return { a, v };
  }

  /**
   * sgx_encl_load_page for an SGX2 ioctl: the page's record and EPC address, an evicted page loaded
   * back first; −EFAULT when the enclave has no page there, −EAGAIN while it is being reclaimed.
   */
  #loadPage(f: SgxEnclaveFile, la: number): { page: EnclPage; pa: number } | number {
    const enc = f.enclave!;
    const page = f.pages.get(la);
    if (page === undefined) return -ERRNO.EFAULT;
    if (enc.blocked.has(la)) return -ERRNO.EAGAIN;
    if (enc.evicted.has(la)) {
      try {
        if (this.#k.pager.load(enc, la) !== SGX.SUCCESS) return -ERRNO.EFAULT;
      } catch (err) {
        if (err instanceof ArchFault && err.vector === VECTOR.MC) throw err;
        return -ERRNO.EFAULT;
      }
    }
    const pa = enc.pages.get(la);
    return pa === undefined ? -ERRNO.EFAULT : { page, pa };
  }

  /** An SGX2 ioctl's per-page loop with its count and result written back (always), its fault mapping (EFAULT; #MC goes on). */
  #perPage(arg: number, a: Uint8Array, layout: { encodeInto(t: Uint8Array, o: number, v: { count?: bigint; result?: bigint }): void }, f: SgxEnclaveFile, offset: number, length: number,
    step: (la: number, out: { result: number }) => number): number {
    const out = { result: 0 };
    let c = 0, ret = 0;
    try {
      this.#k.ring0(() => {
        for (; c < length; c += 4096) {
          ret = step(f.enclave!.base + offset + c, out);
          if (ret !== 0) break;
        }
      });
    } catch (err) {
      if (!(err instanceof ArchFault) || err.vector === VECTOR.MC) throw err;
      ret = -ERRNO.EFAULT;
    }
    layout.encodeInto(a, 0, out.result !== 0 ? { count: BigInt(c), result: BigInt(out.result) } : { count: BigInt(c) });
    if (!this.#toUser(arg, a)) return -ERRNO.EFAULT;
    return ret;
  }

  // SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS (sgx_ioc_enclave_restrict_permissions).
  #restrictPermissions(f: SgxEnclaveFile, arg: number): number {
    const got = this.#sgx2Arg(f, arg, sgx_enclave_restrict_permissions);
    if (typeof got === 'number') return got;
    const { a, v } = got;
    if ((v.permissions & ~BigInt(SGX_SECINFO_PERMISSION_MASK)) !== 0n) return -ERRNO.EINVAL;
    if ((v.permissions & 3n) === 2n) return -ERRNO.EINVAL; // W without R (EMODPR would #GP)
    if (v.result !== 0n || v.count !== 0n) return -ERRNO.EINVAL;
    const perms = Number(v.permissions);
    const enc = f.enclave!;
    return this.#perPage(arg, a, sgx_enclave_restrict_permissions, f, Number(v.offset), Number(v.length), (la, out) => {
      const lp = this.#loadPage(f, la);
      if (typeof lp === 'number') return lp;
      if (lp.page.type !== PT.REG) return -ERRNO.EINVAL;
      const st = this.#k.sgx.emodpr(perms, lp.pa);
      if (st !== SGX.SUCCESS) {
        out.result = st;
        return -ERRNO.EFAULT;
      }
      if (!this.#k.trackEnclave(enc)) return -ERRNO.EFAULT; // (sgx_enclave_etrack)
      return 0;
    });
  }

  // SGX_IOC_ENCLAVE_MODIFY_TYPES (sgx_ioc_enclave_modify_types, sgx_enclave_modify_types).
  #modifyTypes(f: SgxEnclaveFile, arg: number): number {
    const got = this.#sgx2Arg(f, arg, sgx_enclave_modify_types);
    if (typeof got === 'number') return got;
    const { a, v } = got;
    if ((v.page_type & ~0xffn) !== 0n) return -ERRNO.EINVAL;
    if (v.result !== 0n || v.count !== 0n) return -ERRNO.EINVAL;
    const to = Number(v.page_type);
    if (to !== PT.TCS && to !== PT.TRIM) {
      // (checked before the loop: count 0)
      sgx_enclave_modify_types.encodeInto(a, 0, { count: 0n });
      return this.#toUser(arg, a) ? -ERRNO.EINVAL : -ERRNO.EFAULT;
    }
    const enc = f.enclave!;
    return this.#perPage(arg, a, sgx_enclave_modify_types, f, Number(v.offset), Number(v.length), (la, out) => {
      const lp = this.#loadPage(f, la);
      if (typeof lp === 'number') return lp;
      const page = lp.page;
      if (!(page.type === PT.REG || (page.type === PT.TCS && to === PT.TRIM))) return -ERRNO.EINVAL;
      const restore = page.maxProt;
      if (page.type === PT.REG && to === PT.TCS) {
        // A TCS stays RW for the kernel; the page's vetted permissions must allow that.
        if ((~page.maxProt & (PROT_READ | PROT_WRITE)) !== 0) return -ERRNO.EPERM;
        page.maxProt = PROT_READ | PROT_WRITE;
        this.#zap(lp.pa, la); // (sgx_zap_enclave_ptes)
      }
      let st: number;
      try {
        st = this.#k.sgx.emodt(to << 8, lp.pa);
      } catch (err) {
        page.maxProt = restore;
        throw err;
      }
      if (st !== SGX.SUCCESS) {
        page.maxProt = restore;
        out.result = st;
        return -ERRNO.EFAULT;
      }
      if (!this.#k.trackEnclave(enc)) return -ERRNO.EFAULT; // (sgx_enclave_etrack)
      page.type = to;
      return 0;
    });
  }

  // SGX_IOC_ENCLAVE_REMOVE_PAGES (sgx_ioc_enclave_remove_pages, sgx_encl_remove_pages).
  #removePages(f: SgxEnclaveFile, arg: number): number {
    const got = this.#sgx2Arg(f, arg, sgx_enclave_remove_pages);
    if (typeof got === 'number') return got;
    const { a, v } = got;
    if (v.count !== 0n) return -ERRNO.EINVAL;
    const enc = f.enclave!;
    const k = this.#k;
    return this.#perPage(arg, a, sgx_enclave_remove_pages, f, Number(v.offset), Number(v.length), (la) => {
      const lp = this.#loadPage(f, la);
      if (typeof lp === 'number') return lp;
      if (lp.page.type !== PT.TRIM) return -ERRNO.EPERM;
      // EMODPR with RWX is the probe: SGX_PAGE_NOT_MODIFIABLE while the trim is not accepted, a #PF once it is.
      try {
        k.sgx.emodpr(PROT_RWX, lp.pa);
        return -ERRNO.EPERM;
      } catch (err) {
        if (!(err instanceof ArchFault) || err.vector === VECTOR.MC) throw err;
        if (err.vector !== VECTOR.PF) return -ERRNO.EPERM; // (!encls_faulted || ENCLS_TRAPNR != X86_TRAP_PF)
      }
      if (k.removePage(enc, la) !== SGX.SUCCESS) return -ERRNO.EPERM;
      f.pages.delete(la);
      return 0;
    });
  }

  // ---- /proc/self/mem ------------------------------------------------------------------------

  /**
   * pread(2) of /proc/self/mem: up to `len` bytes at `offset` (an address), as a debugger reads
   * them (mem_rw → access_remote_vm). Ordinary memory is copied; an enclave mapping goes through
   * the driver's sgx_vma_access: EDBGRD in 8-byte units for a DEBUG enclave, −EFAULT (no byte) for
   * any other. The bytes read, or −EIO when not one could be (−EBADF, −EINVAL as pread gives them).
   */
  pread(fd: number, len: number, offset: number): Uint8Array | number {
    this.#retryReleases();
    const f = this.#fds.get(fd);
    if (f === undefined) return -ERRNO.EBADF;
    if (f.kind !== 'procmem' || !Number.isSafeInteger(len) || len < 0 || !Number.isSafeInteger(offset) || offset < 0) return -ERRNO.EINVAL;
    const buf = new Uint8Array(len);
    const n = this.#accessVm(offset, buf, false);
    return n === 0 && len > 0 ? -ERRNO.EIO : buf.slice(0, n);
  }

  /** pwrite(2) of /proc/self/mem: EDBGWR (read, merge, write back in 8-byte units) into a DEBUG enclave. The bytes written, or −EIO. */
  pwrite(fd: number, data: Uint8Array, offset: number): number {
    this.#retryReleases();
    const f = this.#fds.get(fd);
    if (f === undefined) return -ERRNO.EBADF;
    if (f.kind !== 'procmem' || !(data instanceof Uint8Array) || !Number.isSafeInteger(offset) || offset < 0) return -ERRNO.EINVAL;
    const n = this.#accessVm(offset, data.slice(), true);
    return n === 0 && data.length > 0 ? -ERRNO.EIO : n;
  }

  /** __access_remote_vm: page by page until one fails; the bytes done. */
  #accessVm(addr: number, buf: Uint8Array, write: boolean): number {
    let done = 0;
    while (done < buf.length) {
      const a = addr + done;
      const n = Math.min(4096 - (a % 4096), buf.length - done);
      const r = this.#p.regionAt(a);
      if (r === null || !(r.owner instanceof Vma)) break;
      const vma = r.owner;
      let got: number;
      if (vma.file !== null) got = this.#enclaveAccess(vma.file, a, buf.subarray(done, done + n), write);
      else {
        // (get_user_pages with FOLL_FORCE: the page's frame, whatever the protection; a page never committed stops here.)
        const c = r.committed.get(Math.floor(a / 4096));
        if (c === undefined) break;
        const pa = c.pfn * 4096 + (a % 4096);
        if (write) this.#k.processor.memory.writePhysical(pa, buf.subarray(done, done + n));
        else buf.set(this.#k.processor.memory.readPhysical(pa, n), done);
        got = n;
      }
      if (got <= 0) break;
      done += got;
      if (got < n) break;
    }
    return done;
  }

  /** sgx_vma_access: −EFAULT unless the enclave is DEBUG; then EDBGRD (and EDBGWR) of each aligned 8-byte word. */
  #enclaveAccess(f: SgxEnclaveFile, addr: number, buf: Uint8Array, write: boolean): number {
    const enc = f.enclave;
    if (enc === null || enc.state === 'deleted' || (enc.attributes.FLAGS & ATTR.DEBUG) === 0n) return -ERRNO.EFAULT;
    const k = this.#k;
    let i = 0;
    for (; i < buf.length; ) {
      const a = addr + i;
      const la = a - (a % 4096);
      // (sgx_vma_access returns the error of a word that fails, not the bytes before it)
      if (!f.pages.has(la)) return -ERRNO.EFAULT;
      const pa = k.pager.resident(enc, la);
      if (pa < 0) return enc.blocked.has(la) ? -ERRNO.EBUSY : -ERRNO.EFAULT;
      const align = a - (a % 8);
      const off = a % 8;
      const cnt = Math.min(8 - off, buf.length - i);
      let word: { status: number; value: bigint };
      try {
        word = k.sgx.edbgrd(pa + (align - la));
      } catch (err) {
        if (err instanceof ArchFault && err.vector === VECTOR.MC) throw err;
        return -ERRNO.EIO;
      }
      if (word.status !== SGX.SUCCESS) return -ERRNO.EIO;
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, word.value, true);
      if (write) {
        bytes.set(buf.subarray(i, i + cnt), off);
        let st: number;
        try {
          st = k.sgx.edbgwr(pa + (align - la), new DataView(bytes.buffer).getBigUint64(0, true));
        } catch (err) {
          if (err instanceof ArchFault && err.vector === VECTOR.MC) throw err;
          return -ERRNO.EIO;
        }
        if (st !== SGX.SUCCESS) return -ERRNO.EIO;
      } else buf.set(bytes.subarray(off, off + cnt), i);
      i += cnt;
    }
    return i;
  }

  // ---- mmap / mprotect / munmap --------------------------------------------------------------

  /** mmap(2): the address mapped, or −errno. */
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): number {
    this.#retryReleases();
    if (![addr, length, prot, flags, fd, offset].every(Number.isSafeInteger)) return -ERRNO.EINVAL;
    if (offset % 4096 !== 0 || offset < 0) return -ERRNO.EINVAL; // (the syscall's offset & ~PAGE_MASK)
    let file: OpenFile | null = null;
    if ((flags & MAP_ANONYMOUS) === 0) {
      const f = this.#fds.get(fd);
      if (f === undefined) return -ERRNO.EBADF;
      file = f;
    }
    const enclave = file !== null && file.kind === 'enclave' ? file : null;
    const noexec = enclave !== null && this.#cfg.devMountedNoexec;
    // do_mmap: PROT_READ implies PROT_EXEC for READ_IMPLIES_EXEC (not for a file on a noexec mount);
    // only R/W/X reach the VMA (calc_vm_prot_bits: other bits are not looked at).
    if (length <= 0) return -ERRNO.EINVAL;
    if ((this.personality & READ_IMPLIES_EXEC) !== 0 && (prot & PROT_READ) !== 0 && !noexec) prot |= PROT_EXEC;
    prot &= PROT_RWX;
    const len = Math.ceil(length / 4096) * 4096;
    if (len > TASK_SIZE) return -ERRNO.ENOMEM;
    const type = flags & MAP_TYPE;
    if (type !== MAP_SHARED && type !== MAP_PRIVATE && (type !== MAP_SHARED_VALIDATE || file === null)) return -ERRNO.EINVAL; // (MAP_SHARED_VALIDATE is for files)
    if (file !== null && file.kind !== 'enclave') return -ERRNO.ENODEV; // (no mmap operation)
    // get_unmapped_area (sgx_get_unmapped_area for the enclave: MAP_PRIVATE refused, MAP_FIXED as given).
    if (file !== null && type === MAP_PRIVATE) return -ERRNO.EINVAL;
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    let start: number;
    if (fixed) {
      // (__get_unmapped_area: the end, the alignment, then security_mmap_addr)
      if (addr + len > TASK_SIZE) return -ERRNO.ENOMEM;
      if (addr % 4096 !== 0) return -ERRNO.EINVAL;
      if (addr < MMAP_MIN_ADDR) return -ERRNO.EPERM;
      if ((flags & MAP_FIXED_NOREPLACE) !== 0 && this.#overlaps(addr, len)) return -ERRNO.EEXIST; // (whatever MAP_FIXED says)
      if (this.#p.regions.some((r) => !(r.owner instanceof Vma) && r.base < addr + len && addr < r.base + r.size)) return -ERRNO.ENOMEM; // (not a mapping of this layer)
      start = addr;
    } else {
      const hint = Math.ceil(addr / 4096) * 4096;
      start = hint >= MMAP_MIN_ADDR && hint + len <= TASK_SIZE && this.#p.isFree(hint, len) ? hint : this.#p.findFree(len, 4096, 0x1000_0000);
      if (start < 0) return -ERRNO.ENOMEM;
    }
    let may = PROT_RWX;
    if (enclave !== null) {
      if (!enclave.readable) return -ERRNO.EACCES;
      if (!enclave.writable) {
        if ((prot & PROT_WRITE) !== 0) return -ERRNO.EACCES;
        may &= ~PROT_WRITE; // (a shared mapping of a file not open for writing: no VM_MAYWRITE)
      }
      if (noexec) {
        if ((prot & PROT_EXEC) !== 0) return -ERRNO.EPERM; // (path_noexec)
        may &= ~PROT_EXEC;
      }
    }
    // The RAM an anonymous mapping needs, counting what the old mappings give back (Linux checks
    // its accounting before it lets the old mappings go: a refusal here changes nothing).
    if (enclave === null && pteFor(prot) >= 0 && len / 4096 > this.#k.ram.available + this.#committedIn(start, len)) return -ERRNO.ENOMEM;
    // mmap_region: the old mappings in the range go first (MAP_FIXED), then the file's mmap
    // (sgx_mmap → sgx_encl_may_map) runs; its refusal leaves the range unmapped, as Linux does
    // ("leaving a gap where the MAP_FIXED mapping failed").
    this.#unmapRange(start, len);
    if (enclave !== null) {
      const refused = this.#mayMap(enclave, start, start + len, prot);
      if (refused !== 0) return refused;
    }
    const vma = new Vma(prot, enclave, may);
    if (enclave === null) {
      const r = this.#p.reserve(start, len, 'private', vma);
      if (pteFor(prot) >= 0 && !this.#p.commit(r, start, len, pteFor(prot))) {
        this.#p.release(r);
        return -ERRNO.ENOMEM;
      }
    } else {
      this.#p.reserve(start, len, 'enclave', vma);
      enclave.refs++;
      this.#mapPages(enclave, start, len);
    }
    return start;
  }

  /** munmap(2). */
  munmap(addr: number, length: number): number {
    this.#retryReleases();
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(length)) return -ERRNO.EINVAL;
    if (addr % 4096 !== 0 || length <= 0 || addr < 0) return -ERRNO.EINVAL;
    const len = Math.ceil(length / 4096) * 4096;
    if (addr + len > TASK_SIZE) return -ERRNO.EINVAL;
    this.#unmapRange(addr, len);
    return 0;
  }

  /**
   * mprotect(2), as do_mprotect_pkey: mapping by mapping, each checked (its VM_MAY* bits, the
   * driver's sgx_vma_mprotect) and then changed; the first refusal, or a hole, stops the call with
   * the mappings before it already changed.
   */
  mprotect(addr: number, length: number, prot: number): number {
    this.#retryReleases();
    if (![addr, length, prot].every(Number.isSafeInteger)) return -ERRNO.EINVAL;
    // do_mprotect_pkey's order: both grow bits, the alignment, length 0, the end, the bits left.
    const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
    if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -ERRNO.EINVAL;
    if (addr % 4096 !== 0 || addr < 0) return -ERRNO.EINVAL;
    if (length === 0) return 0;
    if (length < 0) return -ERRNO.EINVAL;
    const len = Math.ceil(length / 4096) * 4096;
    const end = addr + len;
    if (end > TASK_SIZE) return -ERRNO.ENOMEM;
    if ((prot & ~(PROT_RWX | PROT_SEM)) !== 0) return -ERRNO.EINVAL; // (arch_validate_prot)
    const rier = (this.personality & READ_IMPLIES_EXEC) !== 0 && (prot & PROT_READ) !== 0;
    const rs = this.#regionsIn(addr, len);
    if (rs.length === 0) return -ERRNO.ENOMEM;
    if (grows !== 0) return -ERRNO.EINVAL; // (no mapping here grows: VM_GROWSDOWN/UP)
    if (rs[0]!.base > addr) return -ERRNO.ENOMEM;
    let at = addr;
    for (const r0 of rs) {
      if (r0.base > at) return -ERRNO.ENOMEM; // (a hole)
      const vma0 = r0.owner as Vma;
      const want = (prot | (rier && vma0.mayExec ? PROT_EXEC : 0)) & PROT_RWX;
      if ((want & ~vma0.may) !== 0) return -ERRNO.EACCES;
      const from = Math.max(addr, r0.base), to = Math.min(end, r0.base + r0.size);
      if (vma0.file !== null) {
        const refused = this.#mayMap(vma0.file, from, to, want);
        if (refused !== 0) return refused;
      } else if (pteFor(want) >= 0 && (to - from) / 4096 - this.#committedIn(from, to - from) > this.#k.ram.available) return -ERRNO.ENOMEM; // (mprotect_fixup's accounting, before this mapping changes)
      const r = this.#carve(r0, addr, len);
      const vma = r.owner as Vma;
      vma.prot = want;
      if (vma.file === null) {
        if (pteFor(want) >= 0) {
          if (!this.#p.commit(r, r.base, r.size, pteFor(want))) return -ERRNO.ENOMEM;
        } else this.#p.unmapPages(r.base, r.size);
      } else this.#mapPages(vma.file, r.base, r.size);
      at = to;
    }
    return at < end ? -ERRNO.ENOMEM : 0;
  }

  /** Is any page of [addr, addr+len) mapped? */
  #overlaps(addr: number, len: number): boolean {
    return this.#regionsIn(addr, len).length > 0;
  }

  /** The Linux mappings overlapping [addr, addr+len), in address order. */
  #regionsIn(addr: number, len: number): Region[] {
    return this.#p.regions.filter((r) => r.owner instanceof Vma && r.base < addr + len && addr < r.base + r.size).sort((x, y) => x.base - y.base);
  }

  /** The part of region `r` inside [addr, addr+len), split off (the parts outside keep their own VMAs). */
  #carve(r: Region, addr: number, len: number): Region {
    let mid = r;
    const vma = r.owner as Vma;
    if (mid.base < addr) {
      const [, upper] = this.#p.split(mid, addr, vma, vma.clone());
      mid = upper;
      if (vma.file !== null) vma.file.refs++;
    }
    if (mid.base + mid.size > addr + len) {
      const [lower] = this.#p.split(mid, addr + len, mid.owner, (mid.owner as Vma).clone());
      mid = lower;
      if (vma.file !== null) vma.file.refs++;
    }
    return mid;
  }

  /** Remove every mapping in [addr, addr+len): anonymous memory is freed, enclave mappings lose their PTEs and their reference. */
  #unmapRange(addr: number, len: number): void {
    for (const r0 of this.#regionsIn(addr, len)) {
      const r = this.#carve(r0, addr, len);
      const file = (r.owner as Vma).file;
      this.#p.release(r);
      if (file !== null) {
        // (Pages out of the EPC, or blocked, keep the flags they are mapped with when they come back: none now.)
        const enc = file.enclave;
        if (enc !== null) {
          for (const la of [...enc.evicted.keys(), ...enc.blocked.keys()]) if (la >= r.base && la < r.base + r.size) this.#mapPage(file, la);
        }
        this.#unref(file);
      }
    }
  }

  /** sgx_encl_may_map: 0 or −EACCES. */
  #mayMap(f: SgxEnclaveFile, start: number, end: number, prot: number): number {
    const enc = f.enclave;
    if (enc !== null && f.initialized && (start < enc.base || end > enc.base + enc.size)) return -ERRNO.EACCES;
    if ((this.personality & READ_IMPLIES_EXEC) !== 0) return -ERRNO.EACCES;
    const want = prot & PROT_RWX;
    for (const la of pagesOf(f, start, end)) if ((want & ~f.pages.get(la)!.maxProt) !== 0) return -ERRNO.EACCES;
    return 0;
  }

  /** The enclave mapping of this process covering `la` for `f`, or null. */
  #vmaOf(f: SgxEnclaveFile, la: number): Vma | null {
    const r = this.#p.regionAt(la);
    return r !== null && r.owner instanceof Vma && r.owner.file === f ? r.owner : null;
  }

  /**
   * Give page `la` of `f` the PTE its mapping allows: none without a mapping of `f` there, or when
   * the mapping asks more than the page's maximum (the fault gets SIGBUS). A page out of the EPC or
   * blocked keeps the flags for when it comes back. A PTE at `la` that belongs to another enclave's
   * mapping is not touched.
   */
  #mapPage(f: SgxEnclaveFile, la: number): void {
    const enc = f.enclave;
    const page = f.pages.get(la);
    const vma = this.#vmaOf(f, la);
    const pt = this.#p.pageTable;
    const vpn = la / 4096;
    const pte = page === undefined || vma === null || (vma.prot & ~page.maxProt) !== 0 ? -1 : pteFor(vma.prot);
    if (enc === null) {
      if (vma !== null) pt.unmap(vpn);
      return;
    }
    const ev = enc.evicted.get(la);
    if (ev !== undefined) {
      if (ev.pte !== pte) enc.evicted.set(la, { ...ev, pte });
      return;
    }
    if (enc.blocked.has(la)) {
      enc.blocked.set(la, pte); // (blocked by an eviction still under way: unmapped until it ends)
      return;
    }
    const pa = enc.pages.get(la);
    const cur = pt.entry(vpn);
    const mine = cur >= 0 && pa !== undefined && Math.floor(cur / 8) === pa / 4096;
    if (pa === undefined || pte < 0) {
      if (vma !== null || mine) pt.unmap(vpn);
      return;
    }
    pt.map(vpn, pa / 4096, pte);
  }

  /** Remove the PTE at `la` if it maps EPC page `pa` (this enclave's: another's mapping there is left alone). */
  #zap(pa: number, la: number): void {
    const pt = this.#p.pageTable;
    const e = pt.entry(la / 4096);
    if (e >= 0 && Math.floor(e / 8) === pa / 4096) pt.unmap(la / 4096);
  }

  /** #mapPage for every page of `f` in [start, start+len). */
  #mapPages(f: SgxEnclaveFile, start: number, len: number): void {
    for (const la of pagesOf(f, start, start + len)) this.#mapPage(f, la);
  }

  /** Committed RAM pages of this layer's anonymous mappings in [addr, addr+len). */
  #committedIn(addr: number, len: number): number {
    let n = 0;
    for (const r of this.#regionsIn(addr, len)) if ((r.owner as Vma).file === null) n += this.#p.committedIn(r, addr, len);
    return n;
  }

  /**
   * sgx_vma_fault, after the pager's (which loads evicted pages back): a page of the enclave that is
   * present but not mapped is mapped when its mapping's protection is within its maximum; with SGX2
   * and an initialized enclave, a page the enclave does not have is EAUGed (PENDING until the
   * enclave accepts it; maximum protection RWX: the enclave decides with EACCEPT/EMODPE). Anything
   * else is not resolved (SIGBUS).
   */
  #fault(lp: LogicalProcessor, address: number, errorCode: number): boolean {
    if (lp.cr3 !== this.#p.pageTable) return false;
    // do_user_addr_fault: an SGX (EPCM) fault is the enclave's; access_error: a write needs
    // VM_WRITE, a fault on a present page is a protection fault (SIGSEGV, no handler runs).
    if ((errorCode & (PFEC.SGX | PFEC.P)) !== 0) return false;
    const la = address - (address % 4096);
    const r = this.#p.regionAt(la);
    if (r === null || !(r.owner instanceof Vma) || r.owner.file === null) return false;
    if ((errorCode & PFEC.W) !== 0 && (r.owner.prot & PROT_WRITE) === 0) return false;
    const vma = r.owner, f = r.owner.file, enc = f.enclave;
    if (enc === null || enc.state === 'deleted') return false;
    if (this.#p.pageTable.entry(la / 4096) >= 0) return false; // (mapped already: the fault is the enclave's or the PTE's)
    const page = f.pages.get(la);
    if (page !== undefined) {
      // (A page still blocked by an eviction the pager could not finish is not resolved here: the #PF goes on.)
      if (!enc.pages.has(la) || enc.blocked.has(la) || (vma.prot & ~page.maxProt) !== 0 || pteFor(vma.prot) < 0) return false;
      this.#mapPage(f, la);
      return this.#p.pageTable.entry(la / 4096) >= 0;
    }
    if (!this.sgx2 || !f.initialized || enc.evicted.has(la) || !enc.contains(la) || pteFor(vma.prot) < 0) return false;
    let pa: number;
    try {
      pa = this.#k.ring0(() => this.#k.augmentPage(enc, la));
    } catch (err) {
      if (err instanceof ArchFault && err.vector === VECTOR.MC) throw err;
      return false;
    }
    if (pa < 0) return false;
    f.pages.set(la, { type: PT.REG, maxProt: PROT_RWX });
    this.#mapPage(f, la);
    return this.#p.pageTable.entry(la / 4096) >= 0;
  }

  // ---- release -----------------------------------------------------------------------------

  /** A reference to `f` went; at the last, the enclave is released (sgx_encl_release). */
  #unref(f: SgxEnclaveFile): void {
    if (--f.refs > 0) return;
    this.#release(f);
  }

  #release(f: SgxEnclaveFile): void {
    const enc = f.enclave;
    if (enc === null || enc.state === 'deleted') return;
    const st = this.#k.destroyEnclave(enc);
    if (typeof st === 'object' || st !== SGX.SUCCESS) {
      this.#releasing.add(f);
      return;
    }
    this.#releasing.delete(f);
    f.pages.clear();
  }

  #retryReleases(): void {
    if (this.#releasing.size === 0) return;
    for (const f of [...this.#releasing]) this.#release(f);
  }
}

/** The addresses of `f`'s pages in [start, end), ascending by address or not: walking the range, or the pages when they are fewer (a snapshot either way). */
function pagesOf(f: SgxEnclaveFile, start: number, end: number): number[] {
  const out: number[] = [];
  if ((end - start) / 4096 <= f.pages.size) {
    for (let la = start; la < end; la += 4096) if (f.pages.has(la)) out.push(la);
  } else for (const la of f.pages.keys()) if (la >= start && la < end) out.push(la);
  return out;
}

/** sgx_validate_secinfo (ioctl.c): the flags (a u64) and the 64 bytes. */
function validSecinfo(flags: bigint, si: Uint8Array): boolean {
  const perm = flags & BigInt(SGX_SECINFO_PERMISSION_MASK);
  const pt = flags & BigInt(SGX_SECINFO_PAGE_TYPE_MASK);
  if (pt !== BigInt(PT.REG << 8) && pt !== BigInt(PT.TCS << 8)) return false;
  if ((perm & 2n) !== 0n && (perm & 1n) === 0n) return false;
  if (pt === BigInt(PT.TCS << 8) && perm !== 0n) return false;
  if ((flags & ~BigInt(SGX_SECINFO_PERMISSION_MASK | SGX_SECINFO_PAGE_TYPE_MASK) & U64) !== 0n) return false;
  return isZero(si, 8, 64);
}
