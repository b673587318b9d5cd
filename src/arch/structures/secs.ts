/** SECS, the SGX Enclave Control Structure (SDM 37.7; 4096 bytes, page-aligned, lives only in the EPC). */
import { defineLayout, u64, u32, u16, u8, bytes, reserved, struct } from '../../lib/layout.js';
import { ATTRIBUTES } from './attributes.js';

export const SECS = defineLayout('SECS', 4096, [
  u64('SIZE', 0, 'ELRANGE size in bytes: a power of two, at least 8192'),
  u64('BASEADDR', 8, 'ELRANGE base, naturally aligned to SIZE'),
  u32('SSAFRAMESIZE', 16, 'pages per SSA frame'),
  u32('MISCSELECT', 20, 'extended features saved in the SSA MISC region'),
  u64('CET_LEG_BITMAP_OFFSET', 24, 'CET enclaves only; otherwise 0'),
  u8('CET_ATTRIBUTES', 32, 'CET enclaves only; otherwise 0'),
  reserved(33, 15),
  struct('ATTRIBUTES', 48, ATTRIBUTES),
  bytes('MRENCLAVE', 64, 32, 'measurement; owned by the processor'),
  reserved(96, 32),
  bytes('MRSIGNER', 128, 32, 'SHA-256 of the SIGSTRUCT modulus, set by EINIT'),
  reserved(160, 32),
  bytes('CONFIGID', 192, 64, 'KSS only; otherwise 0'),
  u16('ISVPRODID', 256, 'set by EINIT'),
  u16('ISVSVN', 258, 'set by EINIT'),
  u16('CONFIGSVN', 260, 'KSS only; otherwise 0'),
  reserved(262, 3834, 'hardware keeps EID, PADDING and tracking state here'),
] as const);
export type Secs = ReturnType<typeof SECS.decode>;
