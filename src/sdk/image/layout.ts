/**
 * The enclave layout: how a WebAssembly module, its interface and its configuration become
 * enclave pages. Deterministic: the same inputs give the same pages and the same MRENCLAVE on any
 * machine.
 *
 *   offset 0       runtime header page (R, measured): magic, runtime identity, where everything is
 *   0x1000         interface description pages (R, measured): the resolved EDL as canonical JSON
 *   …              module pages (R X, measured): the Wasm bytes, fetched by the processor to compile
 *   +1 page        guard (never added)
 *   …              heap pages (RW, not measured, zero): back the module's linear memory
 *   …              the heap's reserve up to heapMaxSize (no pages: an SGX2 enclave EAUGs and
 *                  EACCEPTs them as its memory grows)
 *   +1 page        guard
 *   per thread     TCS page, NSSA SSA pages (RW, measured), a thread-data page (RW, measured:
 *                  the runtime's aligned operands for EREPORT/EGETKEY), guard page
 *
 * The runtime's identity and version are in the header page, so an enclave built for one runtime
 * version measures differently from one built for another (design-notes: identity of the trusted runtime).
 */
import { defineLayout, bytes, u32, u64, ignored } from '../../lib/layout.js';
import { PT, TCS, Measurement, MeasurementLog, SgxsWriter, type MeasurementSink } from '../../arch/index.js';
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import { SdkError } from '../errors.js';
import type { EnclaveConfig } from './config.js';

/** The runtime this SDK builds for; part of every MRENCLAVE. */
export const RUNTIME_ID = 'witness-trts/0.1';
export const RUNTIME_ABI = 1;
export const HEADER_MAGIC = new TextEncoder().encode('WITNESS-ENCLAVE\0');

/** The runtime header page (SDK-defined, measured). */
export const RUNTIME_HEADER = defineLayout('RUNTIME_HEADER', 4096, [
  bytes('MAGIC', 0, 16, '"WITNESS-ENCLAVE\\0"'),
  u32('FORMAT', 16, 'layout format version (1)'),
  u32('ABI', 20, 'runtime ABI version'),
  bytes('RUNTIME', 24, 32, 'runtime identity, NUL-padded ASCII'),
  u64('INTERFACE_OFFSET', 56),
  u64('INTERFACE_LENGTH', 64),
  u64('MODULE_OFFSET', 72),
  u64('MODULE_LENGTH', 80),
  u64('HEAP_OFFSET', 88),
  u64('HEAP_SIZE', 96),
  u32('TCS_COUNT', 104),
  u32('NSSA', 108),
  u64('TCS_OFFSET', 112, 'offset of the first TCS page'),
  u64('TCS_STRIDE', 120, 'bytes from one TCS page to the next'),
  bytes('MODULE_SHA256', 128, 32),
  u64('HEAP_MAX_SIZE', 160, 'the most the heap may grow to (0: it never grows past HEAP_SIZE; so a heap that cannot grow measures as before this field)'),
  ignored(168, 3928),
] as const);
export type RuntimeHeader = ReturnType<typeof RUNTIME_HEADER.decode>;

export interface LayoutPage {
  readonly offset: number;
  /** SECINFO.FLAGS for EADD (TCS: 0x100). */
  readonly secinfoFlags: number;
  readonly measured: boolean;
  /** Page contents; null = zero. */
  readonly data: Uint8Array | null;
  readonly kind: 'header' | 'interface' | 'module' | 'heap' | 'tcs' | 'ssa' | 'thread';
}

export interface EnclaveLayout {
  /** ELRANGE size (power of two). */
  readonly size: number;
  readonly ssaFrameSize: number;
  readonly pages: readonly LayoutPage[];
  readonly interface: { readonly offset: number; readonly length: number };
  readonly module: { readonly offset: number; readonly length: number };
  /** The heap: `size` bytes of pages at `offset`, then ELRANGE reserved up to `max` bytes (no pages). */
  readonly heap: { readonly offset: number; readonly size: number; readonly max: number };
  /** Offsets of the TCS pages. */
  readonly tcs: readonly number[];
  readonly nssa: number;
}

const PAGE = 4096;
const pagesFor = (n: number) => Math.ceil(n / PAGE);

export function computeLayout(moduleBytes: Uint8Array, interfaceJson: Uint8Array, moduleSha256: Uint8Array, config: EnclaveConfig): EnclaveLayout {
  const pages: LayoutPage[] = [];
  const ssaFrameSize = 1;
  let at = PAGE; // page 0: header
  const ifaceOffset = at;
  for (let i = 0; i < pagesFor(interfaceJson.length); i++) {
    pages.push({ offset: at, secinfoFlags: (PT.REG << 8) | 0x1, measured: true, data: slicePage(interfaceJson, i), kind: 'interface' });
    at += PAGE;
  }
  const moduleOffset = at;
  for (let i = 0; i < pagesFor(moduleBytes.length); i++) {
    pages.push({ offset: at, secinfoFlags: (PT.REG << 8) | 0x5, measured: true, data: slicePage(moduleBytes, i), kind: 'module' });
    at += PAGE;
  }
  at += PAGE; // guard
  const heapOffset = at;
  for (let o = 0; o < config.heapSize; o += PAGE) {
    pages.push({ offset: at, secinfoFlags: (PT.REG << 8) | 0x3, measured: false, data: null, kind: 'heap' });
    at += PAGE;
  }
  at += config.heapMaxSize - config.heapSize; // the reserve
  at += PAGE; // guard
  const tcsOffsets: number[] = [];
  const stride = (1 + config.ssaFrames * ssaFrameSize + 1 + 1) * PAGE;
  for (let t = 0; t < config.tcsCount; t++) {
    const tcsOff = at;
    tcsOffsets.push(tcsOff);
    const tcs = TCS.encode({ OSSA: BigInt(tcsOff + PAGE), NSSA: config.ssaFrames, OENTRY: BigInt(moduleOffset), OFSBASE: BigInt(tcsOff), OGSBASE: BigInt(tcsOff), FSLIMIT: 0xffffffff, GSLIMIT: 0xffffffff });
    pages.push({ offset: tcsOff, secinfoFlags: PT.TCS << 8, measured: true, data: tcs, kind: 'tcs' });
    for (let f = 0; f < config.ssaFrames * ssaFrameSize; f++) pages.push({ offset: tcsOff + PAGE * (1 + f), secinfoFlags: (PT.REG << 8) | 0x3, measured: true, data: null, kind: 'ssa' });
    pages.push({ offset: tcsOff + PAGE * (1 + config.ssaFrames * ssaFrameSize), secinfoFlags: (PT.REG << 8) | 0x3, measured: true, data: null, kind: 'thread' });
    at += stride;
  }
  const header = RUNTIME_HEADER.encode({
    MAGIC: HEADER_MAGIC, FORMAT: 1, ABI: RUNTIME_ABI, RUNTIME: padAscii(RUNTIME_ID, 32),
    INTERFACE_OFFSET: BigInt(ifaceOffset), INTERFACE_LENGTH: BigInt(interfaceJson.length), MODULE_OFFSET: BigInt(moduleOffset), MODULE_LENGTH: BigInt(moduleBytes.length),
    HEAP_OFFSET: BigInt(heapOffset), HEAP_SIZE: BigInt(config.heapSize), TCS_COUNT: config.tcsCount, NSSA: config.ssaFrames,
    TCS_OFFSET: BigInt(tcsOffsets[0]!), TCS_STRIDE: BigInt(stride), MODULE_SHA256: moduleSha256,
    HEAP_MAX_SIZE: config.heapMaxSize > config.heapSize ? BigInt(config.heapMaxSize) : 0n,
  });
  pages.unshift({ offset: 0, secinfoFlags: (PT.REG << 8) | 0x1, measured: true, data: header, kind: 'header' });
  let size = 8192;
  while (size < at) size *= 2;
  if (size > 2 ** 36) throw new SdkError('LAYOUT_TOO_LARGE', `the enclave needs ${at} bytes, above the 64 GiB maximum enclave size`);
  return { size, ssaFrameSize, pages, interface: { offset: ifaceOffset, length: interfaceJson.length }, module: { offset: moduleOffset, length: moduleBytes.length }, heap: { offset: heapOffset, size: config.heapSize, max: config.heapMaxSize }, tcs: tcsOffsets, nssa: config.ssaFrames };
}

/** Replay the layout's measurement records (ECREATE, then EADD and 16 EEXTENDs per measured page) into a sink. */
export function measureLayout(layout: EnclaveLayout, sink: MeasurementSink): void {
  sink.ecreate(layout.ssaFrameSize, layout.size);
  const zero = new Uint8Array(PAGE);
  for (const p of layout.pages) {
    sink.eadd(p.offset, p.secinfoFlags);
    if (p.measured) {
      const d = p.data ?? zero;
      for (let c = 0; c < PAGE; c += 256) sink.eextend(p.offset + c, d.subarray(c, c + 256));
    }
  }
}

export function layoutMrenclave(layout: EnclaveLayout, crypto: CryptoProvider): Uint8Array {
  const m = new Measurement(crypto);
  measureLayout(layout, m);
  return m.finalize();
}

/** The layout as an SGXS stream (unmeasured non-zero chunks as UNMEASRD records). */
export function layoutSgxs(layout: EnclaveLayout): Uint8Array {
  const w = new SgxsWriter();
  measureLayout(layout, w);
  // Unmeasured pages with contents would follow their EADD; the SDK's unmeasured pages are all zero.
  for (const p of layout.pages) if (!p.measured && p.data) throw new SdkError('LAYOUT_UNMEASURED_DATA', 'unmeasured pages with contents are not produced by this layout');
  return w.bytes();
}

export function layoutLog(layout: EnclaveLayout): MeasurementLog {
  const log = new MeasurementLog();
  measureLayout(layout, log);
  return log;
}

function slicePage(b: Uint8Array, i: number): Uint8Array {
  const out = new Uint8Array(PAGE);
  out.set(b.subarray(i * PAGE, Math.min(b.length, (i + 1) * PAGE)));
  return out;
}

function padAscii(s: string, n: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set(new TextEncoder().encode(s).subarray(0, n - 1));
  return b;
}
