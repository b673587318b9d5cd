/**
 * SIGSTRUCT, the enclave signature structure (SDM 37.14; 1808 bytes). The signed message is
 * bytes [0,128) followed by bytes [900,1028): see `sigstructSignedBytes`.
 */
import { defineLayout, u32, u16, u8, bytes, reserved } from '../../lib/layout.js';
import { ATTRIBUTES } from './attributes.js';
import { struct } from '../../lib/layout.js';
import { concatBytes } from '../../lib/bytes.js';

export const SIGSTRUCT = defineLayout('SIGSTRUCT', 1808, [
  bytes('HEADER', 0, 16, '06000000E100000000000100 + TYPE dword (0 or 0x80000000)'),
  u32('VENDOR', 16, '0 (non-Intel) or 0x8086 (Intel)'),
  u32('DATE', 20, 'BCD yyyymmdd'),
  bytes('HEADER2', 24, 16, '01010000600000006000000001000000'),
  u32('SWDEFINED', 40, 'software defined (HWVERSION in the SDK)'),
  reserved(44, 84),
  bytes('MODULUS', 128, 384, 'RSA-3072 modulus, little-endian'),
  u32('EXPONENT', 512, 'must be 3'),
  bytes('SIGNATURE', 516, 384, 'RSA signature, little-endian'),
  u32('MISCSELECT', 900),
  u32('MISCMASK', 904),
  u8('CET_ATTRIBUTES', 908),
  u8('CET_ATTRIBUTES_MASK', 909),
  reserved(910, 2),
  bytes('ISVFAMILYID', 912, 16, 'KSS only'),
  struct('ATTRIBUTES', 928, ATTRIBUTES),
  struct('ATTRIBUTEMASK', 944, ATTRIBUTES),
  bytes('ENCLAVEHASH', 960, 32, 'the expected MRENCLAVE'),
  reserved(992, 16),
  bytes('ISVEXTPRODID', 1008, 16, 'KSS only'),
  u16('ISVPRODID', 1024),
  u16('ISVSVN', 1026),
  reserved(1028, 12),
  bytes('Q1', 1040, 384, 'floor(s^2 / n), little-endian'),
  bytes('Q2', 1424, 384, 'floor((s^3 - q1*s*n) / n), little-endian'),
] as const);
export type Sigstruct = ReturnType<typeof SIGSTRUCT.decode>;

/** The 256 bytes covered by the signature: SIGSTRUCT[0,128) ‖ SIGSTRUCT[900,1028) (SDM 37.14). */
export function sigstructSignedBytes(sigstruct: Uint8Array): Uint8Array {
  return concatBytes(sigstruct.subarray(0, 128), sigstruct.subarray(900, 1028));
}
