/** SECINFO (SDM 37.11), PAGEINFO (37.10) and PCMD (37.12). */
import { defineLayout, u64, bytes, reserved, struct } from '../../lib/layout.js';

export const SECINFO = defineLayout('SECINFO', 64, [
  u64('FLAGS', 0, 'R(0) W(1) X(2) PENDING(3) MODIFIED(4) PR(5) PAGE_TYPE(15:8)'),
  reserved(8, 56),
] as const);
export type Secinfo = ReturnType<typeof SECINFO.decode>;

export const PAGEINFO = defineLayout('PAGEINFO', 32, [
  u64('LINADDR', 0, 'enclave linear address of the page'),
  u64('SRCPGE', 8, 'effective address of the source page'),
  u64('SECINFO', 16, 'effective address of the SECINFO (or PCMD for EWB/ELDx)'),
  u64('SECS', 24, 'effective address of the SECS'),
] as const);
export type Pageinfo = ReturnType<typeof PAGEINFO.decode>;

export const PCMD = defineLayout('PCMD', 128, [
  struct('SECINFO', 0, SECINFO, 'flags of the evicted page'),
  u64('ENCLAVEID', 64, "the owner's enclave ID"),
  reserved(72, 40),
  bytes('MAC', 112, 16, 'AES-GCM tag over page, metadata and nonce'),
] as const);
export type Pcmd = ReturnType<typeof PCMD.decode>;
