/**
 * Processor configuration and its defaults: the one place where the model chooses values that real
 * hardware fuses or enumerates (specs/sgx.md §1.1, §13). Every value is overridable.
 */
import { ArchError } from './errors.js';
import { fromHex } from '../lib/bytes.js';

export interface ProcessorFeatures {
  /** SGX is implemented at all (CPUID.(EAX=07H):EBX[2] and CPUID.(12H,0):EAX[0]). False models a CPU without SGX (ENCLS/ENCLU raise #UD). */
  readonly sgx1: boolean;
  /** The BIOS enabled SGX (IA32_FEATURE_CONTROL.SGX_ENABLE); false makes ENCLS/ENCLU raise #GP. */
  readonly biosEnabled: boolean;
  /** SGX2 leaves (EAUG, EMODPR, EMODT, EACCEPT, EACCEPTCOPY, EMODPE). */
  readonly sgx2: boolean;
  /** Flexible Launch Control: the OS may write IA32_SGXLEPUBKEYHASH0..3. */
  readonly flc: boolean;
  /** Key Separation and Sharing (ATTRIBUTES.KSS, CONFIGID, ISVFAMILYID, ISVEXTPRODID). */
  readonly kss: boolean;
}

export interface ProcessorConfig {
  /** Usable EPC in bytes (a multiple of 4096). Default 0x5D80000 = 93.5 MiB, as on SGX1 client parts. */
  readonly epcSize: number;
  /** Ordinary RAM in bytes (sparse: frames are allocated on first write). Default 8 GiB. */
  readonly ramSize: number;
  /** Logical processors. Default 2. */
  readonly logicalProcessors: number;
  readonly features: ProcessorFeatures;
  /** CR_CPUSVN (16 bytes). */
  readonly cpusvn: Uint8Array;
  /** CPUID.(12H,1): ATTRIBUTES.FLAGS bits ECREATE may set. Default 0x36 (DEBUG|MODE64BIT|PROVISIONKEY|EINITTOKEN_KEY), + KSS when enabled. */
  readonly attributesFlagsMask: bigint;
  /** CPUID.(12H,1):ECX/EDX: XFRM bits ECREATE may set. Default 0x1f (x87, SSE, AVX, MPX). */
  readonly xfrmMask: bigint;
  /** CPUID.(12H,0):EBX: supported MISCSELECT bits. Default 0 on SGX1 parts, 1 (EXINFO) with SGX2. */
  readonly miscselectMask: number;
  /** CPUID.(12H,0):EDX[15:8]: log2 of the maximum enclave size in 64-bit mode. Default 36. */
  readonly maxEnclaveSizeLog2: number;
  /** XCR0 as the OS enabled it (XFRM must be a subset at EENTER). Default = xfrmMask. */
  readonly xcr0: bigint;
  /** Check SIGSTRUCT HEADER bytes 12..15 strictly (must be 0). Default false: 0 or 0x80000000, as hardware accepts. */
  readonly strictSigstructHeader: boolean;
  /** Probability that EINIT sees an unmasked event (SGX_UNMASKED_EVENT), for retry tests. Default 0. */
  readonly einitUnmaskedEventRate: number;
}

/** The documented default CPUSVN of a Witness processor. */
export const DEFAULT_CPUSVN = fromHex('0a0a0204ff8000000000000000000000');

export const DEFAULT_EPC_SIZE = 0x5d80000;

/** A copy of `b` when it is a real Uint8Array, else null. */
function realBytes(b: unknown): Uint8Array | null {
  try {
    const c: unknown = Uint8Array.prototype.slice.call(b as Uint8Array); // throws for anything but a typed array
    return c instanceof Uint8Array ? new Uint8Array(c) : null; // a plain Uint8Array of its own (not a Buffer)
  } catch {
    return null;
  }
}

export function resolveProcessorConfig(partial: Partial<Omit<ProcessorConfig, 'features'>> & { readonly features?: Partial<ProcessorFeatures> | undefined } = {}): ProcessorConfig {
  const features: ProcessorFeatures = Object.freeze({ sgx1: true, biosEnabled: true, sgx2: false, flc: true, kss: false, ...(partial.features ?? {}) });
  // A copy by Uint8Array.prototype.slice itself (it refuses anything but a real typed array, a Proxy
  // included): the caller's array (or the shared default) changing later does not change this processor.
  const cpusvn = realBytes(partial.cpusvn ?? DEFAULT_CPUSVN);
  const xfrmMask = partial.xfrmMask ?? 0x1fn;
  const cfg: ProcessorConfig = {
    epcSize: partial.epcSize ?? DEFAULT_EPC_SIZE,
    ramSize: partial.ramSize ?? 8 * 2 ** 30,
    logicalProcessors: partial.logicalProcessors ?? 2,
    features,
    cpusvn: cpusvn ?? new Uint8Array(0),
    attributesFlagsMask: partial.attributesFlagsMask ?? (0x36n | (features.kss ? 0x80n : 0n)),
    xfrmMask,
    miscselectMask: partial.miscselectMask ?? (features.sgx2 ? 1 : 0),
    maxEnclaveSizeLog2: partial.maxEnclaveSizeLog2 ?? 36,
    xcr0: partial.xcr0 ?? xfrmMask,
    strictSigstructHeader: partial.strictSigstructHeader ?? false,
    einitUnmaskedEventRate: partial.einitUnmaskedEventRate ?? 0,
  };
  const bad = (m: string): never => {
    throw new ArchError('CONFIG_INVALID', `processor configuration: ${m}`);
  };
  if (!Number.isSafeInteger(cfg.epcSize) || cfg.epcSize <= 0 || cfg.epcSize % 4096 !== 0) bad('epcSize must be a positive multiple of 4096');
  if (cfg.epcSize > 2 ** 40) bad('epcSize above 1 TiB');
  if (!Number.isSafeInteger(cfg.ramSize) || cfg.ramSize < 2 ** 24 || cfg.ramSize % 4096 !== 0) bad('ramSize must be a multiple of 4096 and at least 16 MiB');
  if (!Number.isInteger(cfg.logicalProcessors) || cfg.logicalProcessors < 1 || cfg.logicalProcessors > 64) bad('logicalProcessors must be 1..64');
  if (cpusvn === null || cfg.cpusvn.length !== 16) bad('cpusvn must be 16 bytes (a Uint8Array)');
  if ((cfg.xfrmMask & 3n) !== 3n) bad('xfrmMask must include x87 and SSE');
  if ((cfg.xcr0 & 3n) !== 3n) bad('xcr0 must include x87 and SSE');
  if (cfg.maxEnclaveSizeLog2 < 13 || cfg.maxEnclaveSizeLog2 > 52) bad('maxEnclaveSizeLog2 must be 13..52');
  if (!(cfg.einitUnmaskedEventRate >= 0 && cfg.einitUnmaskedEventRate <= 1)) bad('einitUnmaskedEventRate must be in [0, 1]');
  return Object.freeze(cfg);
}

/**
 * CPUID.(0DH, i): offset and size of each XSAVE state component in the standard (non-compacted)
 * format, as on Intel client parts. Used by compute_xsave_size (specs/sgx.md §2.5).
 */
export const XSAVE_COMPONENTS: Readonly<Record<number, { offset: number; size: number }>> = {
  2: { offset: 576, size: 256 }, // AVX
  3: { offset: 960, size: 64 }, // MPX BNDREGS
  4: { offset: 1024, size: 64 }, // MPX BNDCSR
  5: { offset: 1088, size: 64 }, // AVX-512 opmask
  6: { offset: 1152, size: 512 }, // ZMM_Hi256
  7: { offset: 1664, size: 1024 }, // Hi16_ZMM
  9: { offset: 2688, size: 8 }, // PKRU
};

/** compute_xsave_size(XFRM) (SDM ECREATE pseudocode); the last answer kept (every SSA frame check after an EPCM change asks it again). */
export function computeXsaveSize(xfrm: bigint): number {
  if (lastXsave !== null && xfrm === lastXsave.xfrm) return lastXsave.size;
  const size = xsaveSizeOf(xfrm);
  lastXsave = { xfrm, size };
  return size;
}
let lastXsave: { readonly xfrm: bigint; readonly size: number } | null = null;

function xsaveSizeOf(xfrm: bigint): number {
  let offset = 576;
  let last = 0;
  for (let x = 2; x < 64; x++) {
    if (((xfrm >> BigInt(x)) & 1n) === 0n) continue;
    const c = XSAVE_COMPONENTS[x];
    if (!c) continue;
    if (c.offset >= offset + last) {
      offset = c.offset;
      last = c.size;
    }
  }
  return offset + last;
}

/** A legal XCR0 value (SDM Vol. 1 13.3): x87 set; AVX needs SSE; MPX bits together; AVX-512 bits together and with AVX; bit 63 clear. */
export function isLegalXcr0(x: bigint): boolean {
  if ((x & 1n) === 0n) return false;
  if ((x & 4n) !== 0n && (x & 2n) === 0n) return false;
  if (((x >> 3n) & 3n) === 1n || ((x >> 3n) & 3n) === 2n) return false;
  const avx512 = (x >> 5n) & 7n;
  if (avx512 !== 0n && (avx512 !== 7n || (x & 4n) === 0n)) return false;
  if ((x >> 63n) & 1n) return false;
  return true;
}
