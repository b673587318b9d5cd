/**
 * The ABI between the host runtime and the trusted runtime: call codes in registers, status codes,
 * and the marshalling structure ("ms") that carries an ECALL's or OCALL's arguments in untrusted
 * memory. Like the Intel SDK's edger8r bridges, every value the other side wrote is copied before
 * it is used, and every pointer is checked against the enclave's range.
 *
 * EENTER:  RDI = ECALL index, RSI = ms address (untrusted), R8/R9 = base/size of an untrusted
 *          scratch area the enclave may use for OCALLs; or RDI = ECMD_ORET to return from an OCALL,
 *          with its sgx_status_t in the low 32 bits of RSI (as Intel's urts passes it in ESI): only
 *          an OCALL whose status is SUCCESS gives the enclave its results; or RDI =
 *          ECMD_UNINIT_ENCLAVE before the enclave is removed.
 * EEXIT:   RDI = EXIT_ECALL_RETURN with RAX = status, or an OCALL index with RSI = ms address,
 *          or EXIT_EXCEPTION_HANDLED after an exception entry (CSSA > 0).
 * ms:      8 bytes per parameter in declaration order (scalars sign- or zero-extended as their type;
 *          pointers as u64 untrusted addresses), then 8 bytes for the return value.
 */

export const ECMD_ORET = 0xfffffffe;
/**
 * RDI at EENTER: uninitialize the enclave before it is removed (Intel SGX SDK: sgx_destroy_enclave
 * makes this ECALL, ECMD_UNINIT_ENCLAVE = −5, and trts's do_uninit_enclave leaves the enclave
 * refusing every later ECALL). The trusted runtime gives its memory up (unmapMemory).
 */
export const ECMD_UNINIT_ENCLAVE = 0xfffffffb;
export const EXIT_ECALL_RETURN = 0xffffffff;
/**
 * RDI at EEXIT: the trusted runtime's own OCALL, asking the host to commit heap pages for a memory
 * that grows (SGX2): RSI = the first page's linear address, RDX = bytes, whole pages inside the
 * heap's reserve. The host commits them (Windows: VirtualAlloc(MEM_COMMIT) in an
 * ENCLAVE_TYPE_SGX2 enclave, which EAUGs them; Linux: mmap of the range from the enclave's file,
 * whose pages the driver EAUGs at the enclave's first touch) and returns with ORET, its status in
 * ESI; the runtime then EACCEPTs each page. (Intel's enclave memory manager asks through an OCALL
 * of its own too: the trusted side cannot EAUG.)
 */
export const OCALL_HEAP_COMMIT = 0xfffffffc;
export const EXIT_EXCEPTION_HANDLED = 0xfffffffd;

/** Status codes, with the Intel SDK's sgx_status_t values (sgx_error.h). */
export const STATUS = {
  SUCCESS: 0x0000,
  UNEXPECTED: 0x0001,
  INVALID_PARAMETER: 0x0002,
  OUT_OF_MEMORY: 0x0003,
  ENCLAVE_LOST: 0x0004,
  INVALID_STATE: 0x0005,
  INVALID_FUNCTION: 0x1001,
  OUT_OF_TCS: 0x1003,
  ENCLAVE_CRASHED: 0x1006,
  ECALL_NOT_ALLOWED: 0x1007,
  OCALL_NOT_ALLOWED: 0x1008,
  INVALID_ENCLAVE: 0x2001,
  INVALID_SIGNATURE: 0x2003,
  OUT_OF_EPC: 0x2005,
  NO_DEVICE: 0x2006,
  INVALID_ATTRIBUTE: 0x3002,
  MAC_MISMATCH: 0x3001,
  INVALID_CPUSVN: 0x3003,
  INVALID_ISVSVN: 0x3004,
  INVALID_KEYNAME: 0x3005,
} as const;

const STATUS_NAMES = new Map<number, string>(Object.entries(STATUS).map(([k, v]) => [v, `SGX_${k === 'SUCCESS' ? 'SUCCESS' : 'ERROR_' + k}`]));
export function statusName(s: number): string {
  return STATUS_NAMES.get(s) ?? `0x${s.toString(16).padStart(4, '0')}`;
}

/** A WebAssembly value type. */
export type WasmType = 'i32' | 'i64' | 'f32' | 'f64';

/** How one parameter crosses the boundary. */
export interface ParamPlan {
  readonly name: string;
  /** 'value': copied by value; 'buffer': a pointer whose bytes are copied; 'user_check': an untrusted address passed through. */
  readonly kind: 'value' | 'buffer' | 'user_check';
  readonly wasm: WasmType;
  /** Value parameters: byte width (1, 2, 4, 8) and signedness/floatness for decoding. */
  readonly width: number;
  readonly float: boolean;
  readonly signed: boolean;
  /** Buffer parameters. */
  readonly direction: 'in' | 'out' | 'inout' | null;
  /** Size of one element in bytes (the pointee, or `size=`). */
  readonly elemSize: number;
  /** Number of elements: a constant, or the index of the parameter that holds it. */
  readonly count: { readonly constant: number } | { readonly param: number } | null;
  /** Byte size from `size=param` (when size names a parameter). */
  readonly sizeParam: number | null;
  /** NUL-terminated: 'string' (1-byte units) or 'wstring' (4-byte wchar_t on wasm32). */
  readonly string: 'string' | 'wstring' | null;
  /**
   * sizeof(*p) on wasm32, which edger8r's bridges require a buffer's byte length to be a multiple of
   * (`_len % sizeof(*_tmp) != 0` → SGX_ERROR_INVALID_PARAMETER); 1 where C's sizeof says nothing
   * more (void, an [isptr] typedef); 0 for parameters that are not buffers.
   */
  readonly pointeeSize: number;
  /**
   * A pointer to a structure some of whose pointer members carry size= or count= ([in] or
   * [in, out], ECALLs and OCALLs): what those members point to is copied too (edger8r's deep copy); null otherwise.
   */
  readonly deep: DeepCopyPlan | null;
}

/** An integer member of a structure that a deep-copied member's size= or count= names (wasm32 layout). */
export interface MemberField {
  readonly name: string;
  readonly offset: number;
  /** 1, 2, 4 or 8 bytes. */
  readonly width: number;
  readonly signed: boolean;
}

/** A pointer member with size= and/or count=, as edger8r sizes it: count × size, or size alone. */
export interface DeepMemberPlan {
  readonly name: string;
  /** Offset of the pointer (4 bytes on wasm32) in the structure. */
  readonly offset: number;
  /** size= as a constant, or sizeof(*member) when there is no size=; unused when `sizeField` is set. */
  readonly elemSize: number;
  readonly sizeField: MemberField | null;
  readonly count: { readonly constant: number } | { readonly field: MemberField } | null;
  /**
   * sizeof(*member), which the length must be a whole number of (edger8r: `% sizeof(*member) != 0`
   * → SGX_ERROR_INVALID_PARAMETER); 1 where edger8r does not check (void*, a structure or a foreign type).
   */
  readonly pointeeSize: number;
  /**
   * sizeof(*member) for the check edger8r makes on what an OCALL's host sends back (only void* is
   * exempt there, and a foreign type, whose size is unknown): 1 where no check is made.
   */
  readonly returnedPointeeSize: number;
}

/** How to deep-copy one structure parameter (each element of it, when it is an array). */
export interface DeepCopyPlan {
  readonly struct: string;
  /** sizeof(struct) on wasm32: the elements of the buffer. */
  readonly structSize: number;
  readonly members: readonly DeepMemberPlan[];
}

export interface FunctionPlan {
  readonly name: string;
  readonly index: number;
  readonly params: readonly ParamPlan[];
  readonly returns: { readonly wasm: WasmType; readonly width: number; readonly float: boolean; readonly signed: boolean } | null;
  /** ECALLs: public (callable from the host at any time). */
  readonly public: boolean;
  /** OCALLs: the ECALL indices allowed while this OCALL runs. */
  readonly allow: readonly number[];
}

export interface InterfacePlan {
  readonly ecalls: readonly FunctionPlan[];
  readonly ocalls: readonly FunctionPlan[];
}

export function msSize(f: FunctionPlan): number {
  return 8 * (f.params.length + 1);
}

/** Upper bound of any marshalled buffer (sanity limit: no single argument larger than 1 GiB). */
export const MAX_BUFFER = 2 ** 30;
/** Longest string an ECALL/OCALL bridge scans for its NUL. */
export const MAX_STRING = 1 << 24;
