/**
 * The State Save Area frame (SDM 37.9): XSAVE region at the start, then free space, MISC
 * components growing down from GPRSGX, and GPRSGX in the last 184 bytes of the frame.
 */
import { defineLayout, u64, u32, u8, reserved, ignored } from '../../lib/layout.js';
import { GPRSGX_SIZE, EXINFO_SIZE } from '../constants.js';

export const GPRSGX = defineLayout('GPRSGX', GPRSGX_SIZE, [
  u64('RAX', 0), u64('RCX', 8), u64('RDX', 16), u64('RBX', 24), u64('RSP', 32), u64('RBP', 40),
  u64('RSI', 48), u64('RDI', 56), u64('R8', 64), u64('R9', 72), u64('R10', 80), u64('R11', 88),
  u64('R12', 96), u64('R13', 104), u64('R14', 112), u64('R15', 120),
  u64('RFLAGS', 128), u64('RIP', 136),
  u64('URSP', 144, 'outside RSP saved by EENTER'),
  u64('URBP', 152, 'outside RBP saved by EENTER'),
  u32('EXITINFO', 160, 'VECTOR[7:0] EXIT_TYPE[10:8] VALID[31]'),
  ignored(164, 3),
  u8('AEXNOTIFY', 167, 'bit 0: enclave opt-in to AEX-Notify (newer SDMs)'),
  u64('FSBASE', 168), u64('GSBASE', 176),
] as const);
export type Gprsgx = ReturnType<typeof GPRSGX.decode>;

/** MISC.EXINFO (SDM 37.9.2): written below GPRSGX when MISCSELECT.EXINFO = 1. */
export const EXINFO = defineLayout('EXINFO', EXINFO_SIZE, [
  u64('MADDR', 0, 'faulting linear address for #PF, 0 for #GP'),
  u32('ERRCD', 8, 'page-fault or general-protection error code'),
  reserved(12, 4),
] as const);
export type Exinfo = ReturnType<typeof EXINFO.decode>;

/** GPR register names in GPRSGX order (RAX … R15). */
export const GPR_NAMES = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'] as const;

/** Offset of GPRSGX inside a frame of `ssaFrameSize` pages. */
export function gprsgxOffset(ssaFrameSize: number): number {
  return ssaFrameSize * 4096 - GPRSGX_SIZE;
}
/** Offset of MISC.EXINFO inside a frame (immediately below GPRSGX). */
export function exinfoOffset(ssaFrameSize: number): number {
  return gprsgxOffset(ssaFrameSize) - EXINFO_SIZE;
}

/** Encode EXITINFO (SDM 37.9.1.1). */
export function exitInfo(vector: number, exitType: number, valid: boolean): number {
  return ((valid ? 0x80000000 : 0) | ((exitType & 7) << 8) | (vector & 0xff)) >>> 0;
}
