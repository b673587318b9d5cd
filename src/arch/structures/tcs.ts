/** TCS, the Thread Control Structure (SDM 37.8; 4096 bytes, page-aligned, PT_TCS). */
import { defineLayout, u64, u32, reserved } from '../../lib/layout.js';

export const TCS = defineLayout('TCS', 4096, [
  u64('STATE', 0, '0 = available, 1 = a logical processor is executing on it (EADD forces 0)'),
  u64('FLAGS', 8, 'bit 0 DBGOPTIN (EADD forces 0; only EDBGWR sets it)'),
  u64('OSSA', 16, 'offset of SSA frame 0 from BASEADDR, page-aligned'),
  u32('CSSA', 24, 'current SSA frame index (EADD forces 0)'),
  u32('NSSA', 28, 'number of SSA frames'),
  u64('OENTRY', 32, 'entry offset from BASEADDR'),
  u64('AEP', 40, 'asynchronous exit pointer saved at EENTER (EADD forces 0)'),
  u64('OFSBASE', 48, 'FS base offset, page-aligned'),
  u64('OGSBASE', 56, 'GS base offset, page-aligned'),
  u32('FSLIMIT', 64, '32-bit enclaves only'),
  u32('GSLIMIT', 68, '32-bit enclaves only'),
  reserved(72, 4024),
] as const);
export type Tcs = ReturnType<typeof TCS.decode>;

/** Byte offsets used by the processor's fast paths. */
export const TCS_OFF = {
  STATE: 0, FLAGS: 8, OSSA: 16, CSSA: 24, NSSA: 28, OENTRY: 32, AEP: 40, OFSBASE: 48, OGSBASE: 56, FSLIMIT: 64, GSLIMIT: 68, RESERVED: 72,
} as const;
