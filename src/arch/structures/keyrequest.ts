/** KEYREQUEST (SDM 37.19; 512 bytes, 512-aligned), the input of EGETKEY. */
import { defineLayout, u32, u16, bytes, reserved, struct } from '../../lib/layout.js';
import { ATTRIBUTES } from './attributes.js';

export const KEYREQUEST = defineLayout('KEYREQUEST', 512, [
  u16('KEYNAME', 0, 'EINITTOKEN 0, PROVISION 1, PROVISION_SEAL 2, REPORT 3, SEAL 4'),
  u16('KEYPOLICY', 2, 'MRENCLAVE(0) MRSIGNER(1) NOISVPRODID(2) CONFIGID(3) ISVFAMILYID(4) ISVEXTPRODID(5)'),
  u16('ISVSVN', 4),
  reserved(6, 2),
  bytes('CPUSVN', 8, 16),
  struct('ATTRIBUTEMASK', 24, ATTRIBUTES),
  bytes('KEYID', 40, 32),
  u32('MISCMASK', 72),
  u16('CONFIGSVN', 76),
  reserved(78, 434),
] as const);
export type Keyrequest = ReturnType<typeof KEYREQUEST.decode>;
