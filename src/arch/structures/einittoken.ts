/** EINITTOKEN (SDM 37.15; 304 bytes, 512-aligned). The MAC covers bytes [0,192): `einittokenMacedBytes`. */
import { defineLayout, u32, u16, bytes, reserved, struct } from '../../lib/layout.js';
import { ATTRIBUTES } from './attributes.js';

export const EINITTOKEN = defineLayout('EINITTOKEN', 304, [
  u32('VALID', 0, 'bit 0: the token is valid; bits 31:1 reserved'),
  reserved(4, 44),
  struct('ATTRIBUTES', 48, ATTRIBUTES, 'attributes of the target enclave'),
  bytes('MRENCLAVE', 64, 32),
  reserved(96, 32),
  bytes('MRSIGNER', 128, 32),
  reserved(160, 32),
  bytes('CPUSVNLE', 192, 16, "the launch enclave's CPUSVN"),
  u16('ISVPRODIDLE', 208),
  u16('ISVSVNLE', 210),
  reserved(212, 24),
  u32('MASKEDMISCSELECTLE', 236),
  struct('MASKEDATTRIBUTESLE', 240, ATTRIBUTES),
  bytes('KEYID', 256, 32),
  bytes('MAC', 288, 16, 'AES-128-CMAC(EINITTOKEN key, bytes [0,192))'),
] as const);
export type Einittoken = ReturnType<typeof EINITTOKEN.decode>;

export function einittokenMacedBytes(token: Uint8Array): Uint8Array {
  return token.slice(0, 192);
}
