/**
 * The Nt* enclave system calls (specs/os-api.md §2.5–§2.12): the source of truth for results, in
 * NTSTATUS terms. kernel32 (kernel32.ts) maps them to Win32 errors as kernelbase does.
 *
 * Every call validates everything it can before its first irreversible step (ECREATE, EADD), so a
 * failing call leaves nothing behind: no reservation, no EPC page, no half-built enclave.
 */
import { ArchFault, SECS, ATTR, SGX, PT, PTE, VECTOR, INTEL_LE_PUBKEYHASH, mrsignerOf } from '../../arch/index.js';
import { u64le, writeU64le, plainView } from '../../lib/bytes.js';
import type { Kernel, KernelEnclave } from '../kernel.js';
import type { Process } from '../process.js';
import * as C from './constants.js';
import { decodeEnclaveProtection, pteFlagsFor } from './protection.js';
import { ENCLAVE_CREATE_INFO_SGX, ENCLAVE_INIT_INFO_SGX } from './structures.js';
import { OsError } from '../errors.js';
import { writeOut, outWritable, type MemArg, type Out } from './args.js';
import type { WindowsProfile, ResolvedWindowsConfig } from './profiles.js';

export type { MemArg, Out };

const TWO_MIB = 2 * 1024 * 1024;
/** Where the pieces sit in the creation and initialization information (winnt.h, structures.ts) and in the SECS. */
const CREATE_SECS = ENCLAVE_CREATE_INFO_SGX.field('Secs');
const INIT_SIGSTRUCT = ENCLAVE_INIT_INFO_SGX.field('SigStruct');
const INIT_TOKEN = ENCLAVE_INIT_INFO_SGX.field('EInitToken');
const SECS_SIZE_AT = SECS.field('SIZE').offset;
const SECS_BASEADDR_AT = SECS.field('BASEADDR').offset;

export class NtEnclaveApi {
  readonly #k: Kernel;
  readonly #p: Process;
  readonly #profile: WindowsProfile;
  readonly #cfg: ResolvedWindowsConfig;
  /** A page of process memory on its way to the kernel's source page (unaligned LoadEnclaveData buffers). */
  readonly #page = new Uint8Array(4096);

  constructor(kernel: Kernel, process: Process, profile: WindowsProfile, config: ResolvedWindowsConfig) {
    this.#k = kernel;
    this.#p = process;
    this.#profile = profile;
    this.#cfg = config;
  }

  get process(): Process {
    return this.#p;
  }

  // ---- argument helpers ----------------------------------------------------------------------

  #handleOk(h: number): boolean {
    return h === C.CURRENT_PROCESS;
  }

  /** Read `len` bytes of a memory argument; null = NULL pointer; 'AV' = unreadable. */
  #read(arg: MemArg, len: number): Uint8Array | null | 'AV' {
    if (arg === null || arg === 0) return null;
    if (arg instanceof Uint8Array) return arg.length >= len ? arg.subarray(0, len) : 'AV';
    if (!this.#p.accessible(arg, len, false)) return 'AV';
    return this.#p.read(arg, len);
  }

  /** Write a DWORD (size 4) or SIZE_T (size 8) out-parameter; false when the address is not writable. */
  #out(o: Out<number> | undefined, v: number, size: 4 | 8): boolean {
    return writeOut(this.#p, o, v, size);
  }

  typeSupported(type: number): boolean {
    const feats = this.#k.processor.inspect.cpuid;
    const sgx = feats.sgx1 && feats.enabled && this.#k.processor.epcPages > 0;
    if (type === C.ENCLAVE_TYPE_SGX) return sgx;
    if (type === C.ENCLAVE_TYPE_SGX2) return sgx && feats.sgx2 && this.#profile.sgx2;
    return false; // VBS is not modelled
  }

  // ---- NtCreateEnclave -----------------------------------------------------------------------

  NtCreateEnclave(ProcessHandle: number, BaseAddress: { value: number }, ZeroBits: number, Size: number, InitialCommitment: number, EnclaveType: number,
    EnclaveInformation: MemArg, EnclaveInformationLength: number, _EnclaveError: Out<number>): number {
    // 0. The build-10514 ARM stub.
    if (this.#profile.armStub) return C.STATUS_INVALID_PARAMETER_6;
    // 1. The enclave type.
    if (!this.typeSupported(EnclaveType)) return C.STATUS_NOT_SUPPORTED;
    // 2. The creation information must be readable for dwInfoLength bytes; 3. and of the right length.
    if (EnclaveInformation === null || EnclaveInformation === 0) return C.STATUS_INVALID_PARAMETER;
    if (!Number.isSafeInteger(EnclaveInformationLength) || EnclaveInformationLength < 0) return C.STATUS_INVALID_PARAMETER;
    // (A byte array is copied in by the binding as far as it goes; an address is probed in the process.)
    if (typeof EnclaveInformation === 'number' && !this.#p.accessible(EnclaveInformation, EnclaveInformationLength, false)) return C.STATUS_ACCESS_VIOLATION;
    if (EnclaveInformationLength !== ENCLAVE_CREATE_INFO_SGX.size) return C.STATUS_INFO_LENGTH_MISMATCH;
    const info = this.#read(EnclaveInformation, ENCLAVE_CREATE_INFO_SGX.size);
    if (info === 'AV' || info === null) return C.STATUS_ACCESS_VIOLATION;
    // 4. The process handle.
    if (!this.#handleOk(ProcessHandle)) return C.STATUS_INVALID_HANDLE;
    if (ZeroBits !== 0) return C.STATUS_INVALID_PARAMETER_3;
    // 5–7. Size, commitment, address.
    const maxSize = 2 ** this.#k.processor.config.maxEnclaveSizeLog2;
    if (!Number.isSafeInteger(Size) || !isPowerOfTwo(Size) || Size >= maxSize) return C.STATUS_INVALID_PARAMETER;
    if (!Number.isSafeInteger(InitialCommitment) || InitialCommitment < 0 || InitialCommitment > Size) return C.STATUS_INVALID_PARAMETER;
    const align = Math.max(Size, TWO_MIB);
    const want = BaseAddress.value;
    if (!Number.isSafeInteger(want) || want < 0 || want % align !== 0) return C.STATUS_INVALID_PARAMETER;
    if (!outWritable(this.#p, BaseAddress, 8)) return C.STATUS_ACCESS_VIOLATION; // the base goes back through it after ECREATE
    // 8. SECS.SIZE must be the enclave size.
    const secs = info.slice(CREATE_SECS.offset, CREATE_SECS.offset + CREATE_SECS.size);
    if (u64le(secs, SECS_SIZE_AT) !== BigInt(Size)) return C.STATUS_INVALID_PARAMETER;
    // 9. The address range: the one asked for (the kernel refuses it when it is not free:
    // VA_CONFLICT below), or a free one.
    const base = want !== 0 ? want : this.#p.findFree(Size, align);
    if (base < 0) return C.STATUS_NO_MEMORY;
    // 10. The SECS with the chosen base.
    writeU64le(secs, SECS_BASEADDR_AT, base);
    // 11–12. EPC and ECREATE (all-or-nothing).
    const r = this.#k.createEnclave(this.#p, base, Size, EnclaveType, secs, Math.ceil(InitialCommitment / 4096));
    if ('error' in r) return r.error === 'NO_EPC' ? this.#cfg.epcExhaustedStatus : r.error === 'VA_CONFLICT' ? C.STATUS_CONFLICTING_ADDRESSES : faultStatus(r.fault);
    writeOut(this.#p, BaseAddress, base, 8);
    return C.STATUS_SUCCESS;
  }

  // ---- NtLoadEnclaveData ---------------------------------------------------------------------

  NtLoadEnclaveData(ProcessHandle: number, BaseAddress: number, Buffer: MemArg, BufferSize: number, Protect: number, PageInformation: MemArg,
    PageInformationLength: number, NumberOfBytesWritten: Out<number>, _EnclaveError: Out<number>): number {
    if (this.#profile.armStub) return C.STATUS_CONFLICTING_ADDRESSES;
    if (!this.#handleOk(ProcessHandle)) return C.STATUS_INVALID_HANDLE;
    if (!Number.isSafeInteger(BaseAddress) || BaseAddress < 0 || BaseAddress % 4096 !== 0) return C.STATUS_INVALID_PARAMETER;
    const enc = this.#k.enclaveAt(this.#p, BaseAddress);
    if (!enc) return C.STATUS_CONFLICTING_ADDRESSES;
    // (#4, the enclave type, holds by construction: NtCreateEnclave makes only SGX and SGX2 enclaves.)
    if (!Number.isSafeInteger(BufferSize) || BufferSize <= 0 || BufferSize % 4096 !== 0) return C.STATUS_INVALID_PARAMETER;
    if (BaseAddress + BufferSize > enc.base + enc.size) return C.STATUS_CONFLICTING_ADDRESSES;
    if (enc.state !== 'created') return this.#cfg.secondInitStatus;
    if (PageInformationLength !== 0) return C.STATUS_INFO_LENGTH_MISMATCH;
    void PageInformation; // unused by the shipped API
    const prot = decodeEnclaveProtection(Protect, this.#cfg.acceptZeroProtection);
    if (!prot) return C.STATUS_INVALID_PAGE_PROTECTION;
    if (Buffer === null || Buffer === 0) return C.STATUS_INVALID_PARAMETER;
    // Validate every page (and the out-parameter) before the first EADD: a failing call adds nothing
    // (EADD cannot be undone), and reports 0 bytes written.
    const n = BufferSize / 4096;
    const failEarly = (status: number): number => {
      this.#out(NumberOfBytesWritten, 0, 8);
      return status;
    };
    if (!outWritable(this.#p, NumberOfBytesWritten, 8)) return C.STATUS_ACCESS_VIOLATION;
    const room = this.#roomFor(enc, BaseAddress, n);
    if (room !== C.STATUS_SUCCESS) return failEarly(room);
    if (Buffer instanceof Uint8Array ? Buffer.length < BufferSize : !this.#p.accessible(Buffer, BufferSize, false)) return failEarly(C.STATUS_ACCESS_VIOLATION);
    // The source of each EADD: page-aligned process memory is added straight from the process's
    // frames (EADD reads SRCPGE like any non-enclave access, so a frame in the PRM gives the abort
    // page, as the host itself reads it); anything else is staged in the kernel's source page.
    const pt = this.#p.pageTable;
    const frames = typeof Buffer === 'number' && Buffer % 4096 === 0 ? Buffer / 4096 : -1;
    const staging = this.#k.sgx.sourcePage;
    const mem = this.#k.processor.memory;
    let done = 0;
    // A caller's buffer is lent to EADD page by page as the staging frame (a pinned user page, no
    // bounce copy) when it is plain memory (lib/bytes.ts plainView: no user code can run or answer
    // while it is lent); anything else is copied there. The kernel's own frame comes back before
    // anything else happens, however the call ends.
    const fromBuffer = Buffer instanceof Uint8Array;
    const lend = fromBuffer && plainView(Buffer, 0, n * 4096) !== null;
    let kernelFrame: Uint8Array | null = null;
    let fault: ArchFault | null = null;
    try {
      // One switch to ring 0 for the whole call (the leaves inside reuse it).
      this.#k.ring0(() => {
        for (let i = 0; i < n; i++) {
          const la = BaseAddress + i * 4096;
          let src = staging;
          if (frames >= 0) src = pt.lookup(frames + i)!.pfn * 4096;
          else if (lend) {
            const before = mem.swapFrame(staging, Buffer as Uint8Array, i * 4096);
            kernelFrame ??= before;
          } else if (fromBuffer) mem.writePhysical(staging, Buffer as Uint8Array, i * 4096, 4096);
          else {
            this.#p.readInto((Buffer as number) + i * 4096, this.#page);
            mem.writePhysical(staging, this.#page);
          }
          this.#addMapped(enc, la, src, prot);
          done += 4096;
        }
      });
    } catch (e) {
      if (!(e instanceof ArchFault)) throw e;
      fault = e;
    } finally {
      if (kernelFrame !== null) mem.swapFrame(staging, kernelFrame);
    }
    if (fault !== null) {
      this.#out(NumberOfBytesWritten, done, 8);
      return faultStatus(fault);
    }
    if (!this.#out(NumberOfBytesWritten, done, 8)) return C.STATUS_ACCESS_VIOLATION;
    return C.STATUS_SUCCESS;
  }

  // ---- NtInitializeEnclave -------------------------------------------------------------------

  NtInitializeEnclave(ProcessHandle: number, BaseAddress: number, EnclaveInformation: MemArg, EnclaveInformationLength: number, EnclaveError: Out<number>): number {
    if (this.#profile.armStub) return C.STATUS_CONFLICTING_ADDRESSES;
    if (!this.#handleOk(ProcessHandle)) return C.STATUS_INVALID_HANDLE;
    const enc = Number.isSafeInteger(BaseAddress) ? this.#k.enclaveAt(this.#p, BaseAddress) : null;
    if (!enc) return C.STATUS_CONFLICTING_ADDRESSES;
    if (EnclaveInformationLength !== ENCLAVE_INIT_INFO_SGX.size) return C.STATUS_INFO_LENGTH_MISMATCH;
    if (EnclaveInformation === null || EnclaveInformation === 0) return C.STATUS_INVALID_PARAMETER;
    const info = this.#read(EnclaveInformation, ENCLAVE_INIT_INFO_SGX.size);
    if (info === 'AV' || info === null) return C.STATUS_ACCESS_VIOLATION;
    // *EnclaveError is probed with the information, before EINIT (as NtLoadEnclaveData probes its
    // out-parameter): EINIT's code must be deliverable (InitializeEnclave docs, lpEnclaveError).
    if (!outWritable(this.#p, EnclaveError, 4)) return C.STATUS_ACCESS_VIOLATION;
    if (enc.state !== 'created') return this.#cfg.secondInitStatus;
    const sigstruct = info.slice(INIT_SIGSTRUCT.offset, INIT_SIGSTRUCT.offset + INIT_SIGSTRUCT.size);
    const token = info.slice(INIT_TOKEN.offset, INIT_TOKEN.offset + INIT_TOKEN.size);
    const sgx = this.#k.sgx;
    const crypto = this.#k.processor.crypto;
    const debug = (enc.attributes.FLAGS & ATTR.DEBUG) !== 0n;
    const policy = this.#cfg.launchPolicy;
    let status: number;
    try {
      // flc-os-managed: the OS admits any signer; flc-restricted: only DEBUG enclaves (production
      // ones meet the architectural launch key, which no third-party signer owns).
      if (policy === 'flc-os-managed' || (policy === 'flc-restricted' && debug)) sgx.setLePubKeyHash(mrsignerOf(sigstruct, crypto));
      else if (policy === 'flc-restricted') sgx.setLePubKeyHash(INTEL_LE_PUBKEYHASH);
      status = sgx.einit(sigstruct, token, enc.secs);
      for (let retry = 0; status === SGX.UNMASKED_EVENT && retry < this.#cfg.osInternalEinitRetries; retry++) status = sgx.einit(sigstruct, token, enc.secs);
    } catch (e) {
      if (e instanceof ArchFault) return faultStatus(e);
      throw e;
    }
    if (status === SGX.UNMASKED_EVENT) {
      this.#out(EnclaveError, status, 4);
      return C.STATUS_RETRY;
    }
    if (status !== 0) {
      this.#out(EnclaveError, status, 4);
      return C.STATUS_ENCLAVE_FAILURE;
    }
    enc.state = 'initialized';
    this.#k.releaseCommitment(enc);
    this.#out(EnclaveError, 0, 4);
    return C.STATUS_SUCCESS;
  }

  // ---- VirtualAlloc(MEM_COMMIT) inside an enclave ---------------------------------------------

  /**
   * VirtualAlloc(MEM_COMMIT) of [start, start+size) (whole pages) in the enclave that reserved it.
   * The VirtualAlloc page (lpAddress): in an enclave not yet initialized it "allocates a page of
   * zeros for the enclave at that address. The page must be previously uncommitted, and will not be
   * measured with the EEXTEND instruction"; in an initialized one it fails with
   * ERROR_INVALID_ADDRESS, unless the enclave is an ENCLAVE_TYPE_SGX2 one: then each page is
   * EAUGed (os-api.md §2.15 [INF]: PT_REG, RW, PENDING until the enclave EACCEPTs it; only
   * PAGE_READWRITE, the protection EAUG gives). This corrects specs/os-api.md §2.7's note, which
   * calls the case undocumented and refuses it always.
   * `start` must lie in an enclave. Every page is checked before the first EADD, as NtLoadEnclaveData does; a committed page,
   * PAGE_ENCLAVE_* flags or a protection LoadEnclaveData refuses fail it [INF: the codes are
   * LoadEnclaveData's]. EADD's zero page comes from the kernel's source page.
   */
  commitEnclavePages(start: number, size: number, flProtect: number): number {
    const enc = this.#k.enclaveAt(this.#p, start);
    if (this.#profile.armStub || !enc) return C.STATUS_CONFLICTING_ADDRESSES;
    if (enc.state === 'initialized' && enc.type === C.ENCLAVE_TYPE_SGX2 && start + size <= enc.base + enc.size) return this.#augment(enc, start, size, flProtect);
    if (enc.state !== 'created' || start + size > enc.base + enc.size) return C.STATUS_CONFLICTING_ADDRESSES;
    if ((flProtect & (C.PAGE_ENCLAVE_THREAD_CONTROL | C.PAGE_ENCLAVE_UNVALIDATED)) !== 0) return C.STATUS_INVALID_PAGE_PROTECTION;
    const prot = decodeEnclaveProtection(flProtect, false);
    if (!prot) return C.STATUS_INVALID_PAGE_PROTECTION;
    const n = size / 4096;
    const room = this.#roomFor(enc, start, n);
    if (room !== C.STATUS_SUCCESS) return room;
    const staging = this.#k.sgx.sourcePage;
    this.#k.processor.memory.writePhysical(staging, new Uint8Array(4096));
    const zeros = { ...prot, measure: false };
    try {
      this.#k.ring0(() => {
        for (let i = 0; i < n; i++) this.#addMapped(enc, start + i * 4096, staging, zeros);
      });
    } catch (e) {
      if (!(e instanceof ArchFault)) throw e;
      return faultStatus(e);
    }
    return C.STATUS_SUCCESS;
  }

  /**
   * VirtualAlloc(MEM_COMMIT) in an initialized SGX2 enclave (os-api.md §2.15): EAUG of every page of
   * [start, start+size), mapped read-write; every page checked first (none there yet, room in the
   * EPC), as for EADD.
   */
  #augment(enc: KernelEnclave, start: number, size: number, flProtect: number): number {
    if (flProtect !== C.PAGE_READWRITE) return C.STATUS_INVALID_PAGE_PROTECTION; // (EAUG gives RW; shadow-stack pages are not modelled)
    const n = size / 4096;
    const room = this.#roomFor(enc, start, n);
    if (room !== C.STATUS_SUCCESS) return room;
    const pte = pteFlagsFor(C.PAGE_READWRITE);
    try {
      this.#k.ring0(() => {
        for (let i = 0; i < n; i++) {
          const la = start + i * 4096;
          const epc = this.#k.augmentPage(enc, la);
          if (epc < 0) throw new OsError('EPC_ACCOUNTING', 'the EPC ran out after it was checked'); // a kernel bug, not an input
          this.#p.pageTable.map(la / 4096, epc / 4096, pte);
        }
      });
    } catch (e) {
      if (!(e instanceof ArchFault)) throw e;
      return faultStatus(e);
    }
    return C.STATUS_SUCCESS;
  }

  // ---- VirtualProtect / VirtualFree(MEM_DECOMMIT) in an SGX2 enclave ------------------------

  /**
   * VirtualProtect of [start, start+size) (whole pages) in an initialized ENCLAVE_TYPE_SGX2 enclave,
   * after os-api.md §2.15's model [INF throughout; Windows documents only that VirtualProtect has
   * SGX2 extensions]:
   * - a base protection: EMODPR to its R/W/X (the EPCM only ever narrows: a right the page lacks
   *   is not given), the PTEs set to it, ETRACK; the enclave then EACCEPTs (PR);
   * - a base protection | PAGE_ENCLAVE_NO_CHANGE: the PTEs only (the enclave extends its EPCM
   *   permissions itself with EMODPE);
   * - PAGE_ENCLAVE_DECOMMIT: EMODT to PT_TRIM, ETRACK; the enclave then EACCEPTs the trim (through
   *   the page's PTE, which stays until then) and VirtualFree(MEM_DECOMMIT) removes the pages.
   * Every page must be committed in the enclave (STATUS_NOT_COMMITTED; a trimmed page is not, but
   * may be trimmed again), and is checked before the first leaf; a page an SGX2 leaf refuses (a TCS
   * for EMODPR, a page still PENDING or MODIFIED) stops the call there with
   * STATUS_INVALID_PAGE_PROTECTION, the pages before it changed (the leaves cannot be undone). A
   * page keeps a PTE while the enclave has to accept a change through it (PAGE_NOACCESS and a trim
   * map it read-only, no execute: the EPCM refuses the enclave's accesses anyway). Pages added but
   * not accepted yet (PENDING) can be neither trimmed nor removed (EMODT refuses them; as on Linux). `old` is the first page's protection before
   * (null when the call was refused before it changed anything).
   * An enclave that is not an initialized SGX2 one: STATUS_CONFLICTING_ADDRESSES, as VirtualAlloc.
   */
  protectEnclavePages(start: number, size: number, flNewProtect: number): { status: number; old: number | null } {
    const enc = this.#k.enclaveAt(this.#p, start);
    if (this.#profile.armStub || !enc || enc.state !== 'initialized' || enc.type !== C.ENCLAVE_TYPE_SGX2 || start + size > enc.base + enc.size) return { status: C.STATUS_CONFLICTING_ADDRESSES, old: null };
    const p = flNewProtect >>> 0;
    let mode: 'trim' | 'pte' | 'restrict';
    let base = p;
    if (p === C.PAGE_ENCLAVE_DECOMMIT) mode = 'trim';
    else if ((p & C.PAGE_ENCLAVE_NO_CHANGE) !== 0) {
      mode = 'pte';
      base = (p & ~C.PAGE_ENCLAVE_NO_CHANGE) >>> 0;
    } else mode = 'restrict';
    const pte = mode === 'trim' ? -1 : pteFlagsFor(base);
    if (mode !== 'trim' && pte < 0 && base !== C.PAGE_NOACCESS) return { status: C.STATUS_INVALID_PAGE_PROTECTION, old: null };
    const n = size / 4096;
    for (let i = 0; i < n; i++) {
      const la = start + i * 4096;
      // (A trimmed page is no longer committed; trimming it again only repeats the tracking, for a call that failed there.)
      if ((!enc.pages.has(la) && !enc.evicted.has(la)) || (enc.trimmed.has(la) && mode !== 'trim')) return { status: C.STATUS_NOT_COMMITTED, old: null };
    }
    const pt = this.#p.pageTable;
    const old = protectionOfPte(pt.entry(start / 4096), enc.evicted.get(start)?.pte ?? enc.blocked.get(start));
    const k = this.#k;
    const perms = mode === 'restrict' ? rwxOf(base) : 0;
    let status: number = C.STATUS_SUCCESS;
    let changed = false;
    try {
      k.ring0(() => {
        for (let i = 0; i < n && status === C.STATUS_SUCCESS; i++) {
          const la = start + i * 4096;
          const pa = this.#k.pager.resident(enc, la);
          if (pa < 0) {
            status = C.STATUS_INSUFFICIENT_RESOURCES;
            break;
          }
          if (mode !== 'pte' && !(mode === 'trim' && enc.trimmed.has(la))) {
            let st: number;
            try {
              st = mode === 'trim' ? k.sgx.emodt(PT.TRIM << 8, pa) : k.sgx.emodpr(perms, pa);
            } catch (e) {
              if (!(e instanceof ArchFault) || e.vector === VECTOR.MC) throw e;
              st = -1; // (#PF: not a page this leaf takes, e.g. a TCS for EMODPR)
            }
            if (st !== SGX.SUCCESS) {
              status = C.STATUS_INVALID_PAGE_PROTECTION;
              break;
            }
          }
          if (mode !== 'pte') changed = true;
          const vpn = la / 4096;
          if (mode === 'trim') {
            enc.trimmed.add(la);
            // (The page keeps a translation until it is removed: the enclave's EACCEPT of the trim goes through it.)
            if (pt.entry(vpn) < 0) pt.map(vpn, pa / 4096, PTE.U | PTE.NX);
          } else if (pte >= 0) pt.map(vpn, pa / 4096, pte);
          else if (mode === 'restrict') pt.map(vpn, pa / 4096, PTE.U | PTE.NX); // (PAGE_NOACCESS: no EPCM right is left, and the EACCEPT of PR needs the translation [INF])
          else pt.unmap(vpn);
        }
        // ETRACK, then IPIs so that the threads inside leave and the enclave's EACCEPT finds the
        // tracking complete. An ETRACK refused (a thread that entered before the previous one is
        // still inside) leaves the changes untracked: STATUS_RETRY, and a later call (the same
        // protection again) tracks them [INF].
        if (changed && !k.trackEnclave(enc) && status === C.STATUS_SUCCESS) status = C.STATUS_RETRY;
      });
    } catch (e) {
      if (!(e instanceof ArchFault)) throw e;
      return { status: faultStatus(e), old };
    }
    return { status, old };
  }

  /**
   * VirtualFree(MEM_DECOMMIT) of [start, end) in an initialized ENCLAVE_TYPE_SGX2 enclave
   * (os-api.md §2.15 [INF]): every page must be one VirtualProtect(PAGE_ENCLAVE_DECOMMIT) trimmed
   * (else STATUS_INVALID_PARAMETER, nothing removed); each is removed once the enclave has accepted
   * the trim (EMODPR with RWX is the probe, as Linux's REMOVE_PAGES: SGX_PAGE_NOT_MODIFIABLE while
   * the trim is not accepted, #PF once it is); a page not accepted yet stops the call there with
   * STATUS_INVALID_PAGE_PROTECTION, the pages before it removed.
   */
  decommitEnclavePages(start: number, end: number): number {
    const enc = this.#k.enclaveAt(this.#p, start);
    if (this.#profile.armStub || !enc || enc.state !== 'initialized' || enc.type !== C.ENCLAVE_TYPE_SGX2) return C.STATUS_INVALID_PARAMETER; // (decommitting pages of an SGX1 enclave is not supported)
    for (let la = start; la < end; la += 4096) if (!enc.trimmed.has(la)) return C.STATUS_INVALID_PARAMETER;
    const k = this.#k;
    let status: number = C.STATUS_SUCCESS;
    try {
      k.ring0(() => {
        for (let la = start; la < end; la += 4096) {
          const pa = this.#k.pager.resident(enc, la);
          if (pa < 0) {
            status = C.STATUS_INSUFFICIENT_RESOURCES;
            return;
          }
          try {
            k.sgx.emodpr(7, pa);
            status = C.STATUS_INVALID_PAGE_PROTECTION; // (SGX_PAGE_NOT_MODIFIABLE: the enclave has not accepted the trim)
            return;
          } catch (e) {
            if (!(e instanceof ArchFault) || e.vector !== VECTOR.PF) throw e;
          }
          if (k.removePage(enc, la) !== SGX.SUCCESS) {
            status = C.STATUS_INVALID_PARAMETER;
            return;
          }
          enc.trimmed.delete(la);
        }
      });
    } catch (e) {
      if (!(e instanceof ArchFault)) throw e;
      return faultStatus(e);
    }
    return status;
  }

  /** Whether `n` pages from `base` can be added: none there yet (CONFLICTING_ADDRESSES), and the EPC has room (the exhaustion knob's status). */
  #roomFor(enc: KernelEnclave, base: number, n: number): number {
    for (let i = 0; i < n; i++) if (enc.pages.has(base + i * 4096) || enc.evicted.has(base + i * 4096)) return C.STATUS_CONFLICTING_ADDRESSES;
    const need = n + (enc.state === 'initialized' ? 1 : 0); // (an initialized enclave's SECS may be out, or go while the pages are added: loaded back first)
    if (need > enc.commitment) this.#k.ensureAvailable(need - enc.commitment); // (with reclaim: others' pages evicted to make room)
    if (need > enc.commitment + this.#k.epc.availablePages) return this.#cfg.epcExhaustedStatus;
    return C.STATUS_SUCCESS;
  }

  /** EADD (and EEXTEND when `prot.measure`) the page at physical `src` as `la`, and map it with `prot`'s PTE flags (ring 0; #roomFor was asked first). */
  #addMapped(enc: KernelEnclave, la: number, src: number, prot: { readonly secinfo: number; readonly pte: number; readonly measure: boolean }): void {
    const epc = this.#k.addPage(enc, la, src, prot.secinfo, prot.measure);
    if (epc < 0) throw new OsError('EPC_ACCOUNTING', 'the EPC ran out after it was checked'); // a kernel bug, not an input
    if (prot.pte >= 0) this.#p.pageTable.map(la / 4096, epc / 4096, prot.pte);
  }

  // ---- teardown ------------------------------------------------------------------------------

  /** DeleteEnclave / VirtualFree(MEM_RELEASE) of an SGX enclave at its base. */
  deleteEnclave(base: number): number {
    if (this.#profile.armStub) return C.STATUS_CONFLICTING_ADDRESSES;
    const enc = Number.isSafeInteger(base) ? this.#k.enclaveAt(this.#p, base) : null;
    if (!enc || enc.base !== base) return C.STATUS_CONFLICTING_ADDRESSES;
    const st = this.#k.destroyEnclave(enc);
    if (typeof st === 'object') return faultStatus(st.fault);
    if (st === SGX.ENCLAVE_ACT) return C.STATUS_ENCLAVE_NOT_TERMINATED;
    if (st !== 0) return C.STATUS_INVALID_PARAMETER;
    return C.STATUS_SUCCESS;
  }

  enclaveOf(base: number): KernelEnclave | null {
    return this.#k.enclaveAt(this.#p, base);
  }
}

/**
 * The NTSTATUS for an architectural fault raised by an ENCLS leaf the Nt layer ran: every Nt call
 * maps faults here, so no fault leaves a Win32 function. A #GP/#PF means the caller's structures
 * were refused (specs/os-api.md §2.7 #12: STATUS_INVALID_PARAMETER). A #MC (the memory controller
 * locked after an integrity failure, drop-and-lock) has no Windows counterpart: real hardware takes
 * the whole system down; the model keeps running and answers every later enclave call with the same
 * STATUS_INVALID_PARAMETER, leaving the kernel's objects as they were.
 */
function faultStatus(_fault: ArchFault): number {
  return C.STATUS_INVALID_PARAMETER;
}

function isPowerOfTwo(n: number): boolean {
  if (n <= 0) return false;
  return 2 ** Math.round(Math.log2(n)) === n;
}

/** The PAGE_* base protection a PTE gives (−1: not mapped; `evicted` the flags kept for a page out of the EPC or blocked), as VirtualProtect reports the old one of an enclave page [INF: its PTE cannot tell PAGE_EXECUTE from PAGE_EXECUTE_READ]. */
function protectionOfPte(entry: number, evicted: number | undefined): number {
  const flags = entry >= 0 ? entry % 8 : evicted ?? -1;
  if (flags < 0 || (flags & PTE.U) === 0) return C.PAGE_NOACCESS;
  if ((flags & PTE.NX) !== 0) return (flags & PTE.W) !== 0 ? C.PAGE_READWRITE : C.PAGE_READONLY;
  return (flags & PTE.W) !== 0 ? C.PAGE_EXECUTE_READWRITE : C.PAGE_EXECUTE_READ;
}

/** SECINFO R/W/X of a base protection. */
function rwxOf(protect: number): number {
  switch (protect) {
    case C.PAGE_READONLY: return 1;
    case C.PAGE_READWRITE: return 3;
    case C.PAGE_EXECUTE: return 4;
    case C.PAGE_EXECUTE_READ: return 5;
    case C.PAGE_EXECUTE_READWRITE: return 7;
    default: return 0;
  }
}

export { protectionOfPte };
