/**
 * Architectural constants of Intel SGX, as the Intel SDM Vol. 3D defines them
 * (chapters 34–38 in the 2016 edition; "SGX Instruction References" for leaf numbers and codes).
 * Nothing Windows-, Linux- or SDK-defined lives here.
 */

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** ENCLS leaf numbers (SDM Table 37-1 / "ENCLS" instruction page). */
export const ENCLS = {
  ECREATE: 0x00,
  EADD: 0x01,
  EINIT: 0x02,
  EREMOVE: 0x03,
  EDBGRD: 0x04,
  EDBGWR: 0x05,
  EEXTEND: 0x06,
  ELDB: 0x07,
  ELDU: 0x08,
  EBLOCK: 0x09,
  EPA: 0x0a,
  EWB: 0x0b,
  ETRACK: 0x0c,
  EAUG: 0x0d,
  EMODPR: 0x0e,
  EMODT: 0x0f,
} as const;
export type EnclsLeaf = (typeof ENCLS)[keyof typeof ENCLS];

/** ENCLU leaf numbers (SDM "ENCLU" instruction page). */
export const ENCLU = {
  EREPORT: 0x0,
  EGETKEY: 0x1,
  EENTER: 0x2,
  ERESUME: 0x3,
  EEXIT: 0x4,
  EACCEPT: 0x5,
  EMODPE: 0x6,
  EACCEPTCOPY: 0x7,
} as const;
export type EncluLeaf = (typeof ENCLU)[keyof typeof ENCLU];

/** Which CPU feature enumerates each leaf (CPUID.(EAX=12H,ECX=0):EAX bit 0 = SGX1, bit 1 = SGX2). */
export type SgxFeature = 'SGX1' | 'SGX2';
export const ENCLS_FEATURE: Readonly<Record<number, SgxFeature>> = {
  [ENCLS.ECREATE]: 'SGX1', [ENCLS.EADD]: 'SGX1', [ENCLS.EINIT]: 'SGX1', [ENCLS.EREMOVE]: 'SGX1',
  [ENCLS.EDBGRD]: 'SGX1', [ENCLS.EDBGWR]: 'SGX1', [ENCLS.EEXTEND]: 'SGX1', [ENCLS.ELDB]: 'SGX1',
  [ENCLS.ELDU]: 'SGX1', [ENCLS.EBLOCK]: 'SGX1', [ENCLS.EPA]: 'SGX1', [ENCLS.EWB]: 'SGX1',
  [ENCLS.ETRACK]: 'SGX1', [ENCLS.EAUG]: 'SGX2', [ENCLS.EMODPR]: 'SGX2', [ENCLS.EMODT]: 'SGX2',
};
export const ENCLU_FEATURE: Readonly<Record<number, SgxFeature>> = {
  [ENCLU.EREPORT]: 'SGX1', [ENCLU.EGETKEY]: 'SGX1', [ENCLU.EENTER]: 'SGX1', [ENCLU.ERESUME]: 'SGX1',
  [ENCLU.EEXIT]: 'SGX1', [ENCLU.EACCEPT]: 'SGX2', [ENCLU.EMODPE]: 'SGX2', [ENCLU.EACCEPTCOPY]: 'SGX2',
};

/** SGX status codes returned in RAX (SDM Table 38-4 "Error or Information Codes"). */
export const SGX = {
  SUCCESS: 0,
  INVALID_SIG_STRUCT: 1,
  INVALID_ATTRIBUTE: 2,
  BLKSTATE: 3,
  INVALID_MEASUREMENT: 4,
  NOTBLOCKABLE: 5,
  PG_INVLD: 6,
  EPC_PAGE_CONFLICT: 7,
  INVALID_SIGNATURE: 8,
  MAC_COMPARE_FAIL: 9,
  PAGE_NOT_BLOCKED: 10,
  NOT_TRACKED: 11,
  VA_SLOT_OCCUPIED: 12,
  CHILD_PRESENT: 13,
  ENCLAVE_ACT: 14,
  ENTRYEPOCH_LOCKED: 15,
  INVALID_EINITTOKEN: 16,
  PREV_TRK_INCMPL: 17,
  PG_IS_SECS: 18,
  PAGE_ATTRIBUTES_MISMATCH: 19,
  PAGE_NOT_MODIFIABLE: 20,
  PAGE_NOT_DEBUGGABLE: 21,
  INVALID_CPUSVN: 32,
  INVALID_ISVSVN: 64,
  UNMASKED_EVENT: 128,
  INVALID_KEYNAME: 256,
} as const;
export type SgxStatus = (typeof SGX)[keyof typeof SGX];

const SGX_NAMES = new Map<number, string>(Object.entries(SGX).map(([k, v]) => [v, `SGX_${k}`]));
/** `SGX_INVALID_MEASUREMENT` for 4, etc. */
export function sgxStatusName(code: number): string {
  return SGX_NAMES.get(code) ?? `SGX_UNKNOWN_${code}`;
}

/** EPCM page types (SDM Table 37-? "Supported PAGE_TYPE"). */
export const PT = {
  SECS: 0,
  TCS: 1,
  REG: 2,
  VA: 3,
  TRIM: 4,
  SS_FIRST: 5,
  SS_REST: 6,
} as const;
export type PageType = (typeof PT)[keyof typeof PT];
export const PAGE_TYPE_NAMES: Readonly<Record<number, string>> = { 0: 'PT_SECS', 1: 'PT_TCS', 2: 'PT_REG', 3: 'PT_VA', 4: 'PT_TRIM', 5: 'PT_SS_FIRST', 6: 'PT_SS_REST' };

/** SECINFO.FLAGS bits (SDM 37.11 "SECINFO"). */
export const SECINFO_FLAGS = {
  R: 0x1,
  W: 0x2,
  X: 0x4,
  PENDING: 0x8,
  MODIFIED: 0x10,
  PR: 0x20,
  PAGE_TYPE_SHIFT: 8,
  PAGE_TYPE_MASK: 0xff00,
} as const;
/** Bits that may be set in a SECINFO given to EADD (R, W, X and PAGE_TYPE); the rest is reserved. */
export const SECINFO_EADD_ALLOWED = 0xff07n;

/** ATTRIBUTES.FLAGS bits (SDM 37.7.1 "ATTRIBUTES"). */
export const ATTR = {
  INIT: 0x1n,
  DEBUG: 0x2n,
  MODE64BIT: 0x4n,
  PROVISIONKEY: 0x10n,
  EINITTOKEN_KEY: 0x20n,
  CET: 0x40n,
  KSS: 0x80n,
  AEXNOTIFY: 0x400n,
} as const;

/** MISCSELECT bits (SDM 37.7.2). */
export const MISC = {
  EXINFO: 0x1,
} as const;

/** KEYREQUEST.KEYNAME values (SDM Table 37-? "Key Name"). */
export const KEYNAME = {
  EINITTOKEN_KEY: 0,
  PROVISION_KEY: 1,
  PROVISION_SEAL_KEY: 2,
  REPORT_KEY: 3,
  SEAL_KEY: 4,
} as const;

/** KEYREQUEST.KEYPOLICY bits. Bits 15:6 are reserved (#GP). */
export const KEYPOLICY = {
  MRENCLAVE: 0x1,
  MRSIGNER: 0x2,
  NOISVPRODID: 0x4,
  CONFIGID: 0x8,
  ISVFAMILYID: 0x10,
  ISVEXTPRODID: 0x20,
  RESERVED_MASK: 0xffc0,
  KSS_MASK: 0x3c,
} as const;

/** Exception vectors (SDM Vol. 3A Table 6-1). */
export const VECTOR = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  GP: 13,
  PF: 14,
  MF: 16,
  AC: 17,
  MC: 18,
  XM: 19,
} as const;

/** SSA EXITINFO.EXIT_TYPE values (SDM 37.9.1.1). */
export const EXIT_TYPE = {
  HARDWARE: 0b011,
  SOFTWARE: 0b110,
} as const;

/** Page-fault error code bits (SDM Vol. 3A 4.7; bit 15 = SGX, set for EPCM-induced faults). */
export const PFEC = {
  P: 0x1,
  W: 0x2,
  US: 0x4,
  RSVD: 0x8,
  ID: 0x10,
  PK: 0x20,
  SGX: 0x8000,
} as const;

/** Size of GPRSGX in an SSA frame (the 2016 SDM table says 176; 184 is correct, see specs §17 #2). */
export const GPRSGX_SIZE = 184;
/** Size of MISC.EXINFO. */
export const EXINFO_SIZE = 16;
/** XSAVE legacy region + header: the XSAVE size for XFRM = 3 (x87 + SSE). */
export const XSAVE_LEGACY_SIZE = 576;

/**
 * The architectural TCS size readable with EDBGRD (SGX_TCS_LIMIT): the 72 defined bytes.
 * Newer SDMs extend it for CET fields; the model does not implement CET.
 */
export const TCS_LIMIT = 72;

/** The Intel production Launch Enclave signer hash, the reset value of IA32_SGXLEPUBKEYHASH0..3. */
export const INTEL_LE_PUBKEYHASH = Uint8Array.from([
  0xac, 0xb7, 0x70, 0x12, 0x05, 0x3e, 0x05, 0xa6, 0x3d, 0x41, 0x3b, 0x8b, 0xba, 0xe8, 0xfb, 0x6c,
  0x5d, 0x73, 0xb3, 0xf2, 0x99, 0x6d, 0x91, 0xc4, 0x3b, 0xbb, 0xf9, 0x09, 0x59, 0xc0, 0xf8, 0xd4,
]);

/** SIGSTRUCT constant header bytes (SDM 37.14). */
export const SIGSTRUCT_HEADER = Uint8Array.from([0x06, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0]);
export const SIGSTRUCT_HEADER2 = Uint8Array.from([0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0]);
/** VENDOR values EINIT accepts: 0 (non-Intel) and 0x8086 (Intel). */
export const SIGSTRUCT_VENDORS: readonly number[] = [0x0000, 0x8086];

/**
 * The 352 leading bytes of a PKCS#1 v1.5 SHA-256 encoded message for a 3072-bit modulus
 * (HARDCODED_PKCS1_5_PADDING in the SDM's EINIT/EGETKEY pseudocode): 00 01, 330 × FF, 00, DigestInfo prefix.
 */
export const PKCS1_5_PADDING: Uint8Array = (() => {
  const p = new Uint8Array(352);
  p[0] = 0x00;
  p[1] = 0x01;
  p.fill(0xff, 2, 332);
  p[332] = 0x00;
  p.set([0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20], 333);
  return p;
})();

/** Measurement record tags (SDM 38.? ECREATE/EADD/EEXTEND pseudocode: the first 8 bytes of each 64-byte update). */
export const MEAS_TAG = {
  ECREATE: 0x0045544145524345n, // "ECREATE\0"
  EADD: 0x0000000044444145n, // "EADD\0\0\0\0"
  EEXTEND: 0x00444e4554584545n, // "EEXTEND\0"
} as const;
/** The same tags as [low, high] u32 halves, for the hot paths that avoid BigInt. */
export const MEAS_TAG_WORDS = {
  ECREATE: [0x45524345, 0x00455441],
  EADD: [0x44444145, 0],
  EEXTEND: [0x54584545, 0x00444e45],
} as const;
