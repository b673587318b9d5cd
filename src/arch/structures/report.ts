/**
 * REPORT (SDM 37.18; 432 bytes), its first 384 bytes REPORTBODY, and TARGETINFO (37.17; 512 bytes).
 * The MAC covers the body: `reportMacedBytes`.
 */
import { defineLayout, u32, u16, u8, bytes, reserved, struct } from '../../lib/layout.js';
import { ATTRIBUTES } from './attributes.js';

const BODY_FIELDS = [
  bytes('CPUSVN', 0, 16),
  u32('MISCSELECT', 16),
  u8('CET_ATTRIBUTES', 20),
  reserved(21, 11),
  bytes('ISVEXTPRODID', 32, 16),
  struct('ATTRIBUTES', 48, ATTRIBUTES),
  bytes('MRENCLAVE', 64, 32),
  reserved(96, 32),
  bytes('MRSIGNER', 128, 32),
  reserved(160, 32),
  bytes('CONFIGID', 192, 64),
  u16('ISVPRODID', 256),
  u16('ISVSVN', 258),
  u16('CONFIGSVN', 260),
  reserved(262, 42),
  bytes('ISVFAMILYID', 304, 16),
  bytes('REPORTDATA', 320, 64),
] as const;

export const REPORTBODY = defineLayout('REPORTBODY', 384, BODY_FIELDS);
export type ReportBody = ReturnType<typeof REPORTBODY.decode>;

export const REPORT = defineLayout('REPORT', 432, [
  ...BODY_FIELDS,
  bytes('KEYID', 384, 32, 'CR_REPORT_KEYID of the platform that made the report'),
  bytes('MAC', 416, 16, "AES-128-CMAC under the target's report key over bytes [0,384)"),
] as const);
export type Report = ReturnType<typeof REPORT.decode>;

/** The bytes the REPORT MAC covers: REPORT[0,384). */
export function reportMacedBytes(report: Uint8Array): Uint8Array {
  return report.slice(0, 384);
}

export const TARGETINFO = defineLayout('TARGETINFO', 512, [
  bytes('MEASUREMENT', 0, 32, "the target's MRENCLAVE"),
  struct('ATTRIBUTES', 32, ATTRIBUTES, "the target's attributes (INIT must be 1)"),
  u8('CET_ATTRIBUTES', 48),
  reserved(49, 1),
  u16('CONFIGSVN', 50),
  u32('MISCSELECT', 52),
  reserved(56, 8),
  bytes('CONFIGID', 64, 64),
  reserved(128, 384),
] as const);
export type Targetinfo = ReturnType<typeof TARGETINFO.decode>;
