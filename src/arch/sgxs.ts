/**
 * The SGXS format: an enclave's measurement stream as a file (fortanix/rust-sgx `sgxs` crate).
 * It is literally the sequence of 64-byte measurement records, with the 256 data bytes after each
 * EEXTEND record, plus one extension: `UNMEASRD` records carry 256 bytes that are loaded but not
 * measured. An EADD with no chunks loads a zero page.
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { u32le, u64le, u64leNumberOrNeg, writeU64le, isZero } from '../lib/bytes.js';
import { ArchError } from './errors.js';
import { MEAS_TAG, PT, SECINFO_FLAGS } from './constants.js';
import { Measurement, writeEcreateRecord, writeEaddRecord, writeEextendRecord, type MeasurementSink } from './measurement.js';

export const SGXS_TAG_UNSIZED = 0x0044455a49534e55n; // "UNSIZED\0"
export const SGXS_TAG_UNMEASURED = 0x44525341454d4e55n; // "UNMEASRD"

export class SgxsError extends ArchError {}

export type SgxsRecord =
  | { readonly kind: 'ECREATE'; readonly ssaFrameSize: number; readonly size: number }
  | { readonly kind: 'EADD'; readonly offset: number; readonly secinfoFlags: number }
  | { readonly kind: 'EEXTEND'; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: 'UNMEASURED'; readonly offset: number; readonly data: Uint8Array };

/** A page reconstructed from an SGXS stream, for loading. */
export interface SgxsPage {
  readonly offset: number;
  readonly secinfoFlags: number;
  /** 16 bits: which 256-byte chunks are EEXTENDed. */
  readonly measuredChunks: number;
  readonly data: Uint8Array;
}

function fail(code: string, message: string, data: Record<string, unknown> = {}): never {
  throw new SgxsError(code, message, data);
}

/**
 * Parse an SGXS stream. With `canonical` (the default) the stream must follow the rules of the
 * fortanix `CanonicalSgxsReader`: one ECREATE first; page-aligned, strictly increasing EADD
 * offsets; each EEXTEND/UNMEASRD inside the preceding EADD page, 256-aligned, each chunk once; TCS
 * pages measured with zero permissions.
 * @throws {SgxsError} `SGXS_TRUNCATED`, `SGXS_BAD_TAG`, `SGXS_NOT_CANONICAL`, `SGXS_UNSIZED`.
 */
export function parseSgxs(stream: Uint8Array, options: { canonical?: boolean } = {}): SgxsRecord[] {
  const canonical = options.canonical ?? true;
  const out: SgxsRecord[] = [];
  let o = 0;
  let lastPage = -1;
  let chunksSeen = 0;
  while (o < stream.length) {
    if (o + 64 > stream.length) fail('SGXS_TRUNCATED', `truncated record at byte ${o}`, { offset: o });
    const tag = u64le(stream, o);
    const at = o;
    if (tag === MEAS_TAG.ECREATE || tag === SGXS_TAG_UNSIZED) {
      if (tag === SGXS_TAG_UNSIZED) fail('SGXS_UNSIZED', 'unsized SGXS stream (the enclave size was never filled in)', { offset: at });
      if (canonical && out.length !== 0) fail('SGXS_NOT_CANONICAL', `ECREATE at byte ${at} is not the first record`, { offset: at });
      const size = u64leNumberOrNeg(stream, o + 12);
      if (size < 0) fail('SGXS_RANGE', 'ECREATE size exceeds 2^53', { offset: at });
      out.push({ kind: 'ECREATE', ssaFrameSize: u32le(stream, o + 8), size });
      o += 64;
    } else if (tag === MEAS_TAG.EADD) {
      const offset = u64leNumberOrNeg(stream, o + 8);
      const flags = u64le(stream, o + 16);
      if (offset < 0 || flags > 0xffffffffn) fail('SGXS_RANGE', `EADD at byte ${at}: offset or flags out of range`, { offset: at });
      const f = Number(flags);
      if (canonical) {
        if (out.length === 0) fail('SGXS_NOT_CANONICAL', 'EADD before ECREATE', { offset: at });
        if (offset % 4096 !== 0 || offset <= lastPage) fail('SGXS_NOT_CANONICAL', `EADD offset 0x${offset.toString(16)} at byte ${at} is not page-aligned and increasing`, { offset: at });
        if ((f & SECINFO_FLAGS.PAGE_TYPE_MASK) >> 8 === PT.TCS && (f & 7) !== 0) fail('SGXS_NOT_CANONICAL', `TCS page at 0x${offset.toString(16)} measured with permissions`, { offset: at });
      }
      lastPage = offset;
      chunksSeen = 0;
      out.push({ kind: 'EADD', offset, secinfoFlags: f });
      o += 64;
    } else if (tag === MEAS_TAG.EEXTEND || tag === SGXS_TAG_UNMEASURED) {
      if (o + 320 > stream.length) fail('SGXS_TRUNCATED', `truncated EEXTEND data at byte ${o}`, { offset: o });
      const offset = u64leNumberOrNeg(stream, o + 8);
      if (offset < 0) fail('SGXS_RANGE', `EEXTEND offset at byte ${at} exceeds 2^53`, { offset: at });
      if (canonical) {
        const chunk = (offset - lastPage) / 256;
        if (lastPage < 0 || offset % 256 !== 0 || offset < lastPage || chunk >= 16) {
          fail('SGXS_NOT_CANONICAL', `chunk at offset 0x${offset.toString(16)} (byte ${at}) is outside the preceding EADD page`, { offset: at });
        }
        if (chunksSeen & (1 << chunk)) fail('SGXS_NOT_CANONICAL', `chunk at offset 0x${offset.toString(16)} appears twice`, { offset: at });
        chunksSeen |= 1 << chunk;
      }
      const data = stream.slice(o + 64, o + 320);
      out.push(tag === MEAS_TAG.EEXTEND ? { kind: 'EEXTEND', offset, data } : { kind: 'UNMEASURED', offset, data });
      o += 320;
    } else {
      fail('SGXS_BAD_TAG', `unknown record tag 0x${tag.toString(16).padStart(16, '0')} at byte ${at}`, { offset: at });
    }
  }
  if (out.length === 0 || out[0]!.kind !== 'ECREATE') fail('SGXS_NOT_CANONICAL', 'the stream does not start with ECREATE');
  return out;
}

/** Feed the measured records of a parsed stream into a sink (UNMEASRD records are skipped). */
export function replaySgxs(records: readonly SgxsRecord[], sink: MeasurementSink): void {
  for (const r of records) {
    if (r.kind === 'ECREATE') sink.ecreate(r.ssaFrameSize, r.size);
    else if (r.kind === 'EADD') sink.eadd(r.offset, r.secinfoFlags);
    else if (r.kind === 'EEXTEND') sink.eextend(r.offset, r.data);
  }
}

/** The MRENCLAVE an SGXS stream describes, with its page count and enclave size. */
export function measureSgxs(stream: Uint8Array, crypto: CryptoProvider): { mrenclave: Uint8Array; pages: number; size: number; ssaFrameSize: number } {
  const records = parseSgxs(stream);
  const m = new Measurement(crypto);
  replaySgxs(records, m);
  const ec = records[0] as Extract<SgxsRecord, { kind: 'ECREATE' }>;
  return { mrenclave: m.finalize(), pages: records.filter((r) => r.kind === 'EADD').length, size: ec.size, ssaFrameSize: ec.ssaFrameSize };
}

/** Reassemble the pages an SGXS stream loads (zero-filled where no chunk was given). */
export function sgxsPages(records: readonly SgxsRecord[]): SgxsPage[] {
  const pages: { offset: number; secinfoFlags: number; measuredChunks: number; data: Uint8Array }[] = [];
  for (const r of records) {
    if (r.kind === 'EADD') pages.push({ offset: r.offset, secinfoFlags: r.secinfoFlags, measuredChunks: 0, data: new Uint8Array(4096) });
    else if (r.kind === 'EEXTEND' || r.kind === 'UNMEASURED') {
      const p = pages.length > 0 ? pages[pages.length - 1] : undefined;
      if (!p) fail('SGXS_NOT_CANONICAL', 'chunk before any EADD');
      const c = r.offset - p.offset;
      if (c < 0 || c >= 4096 || c % 256) fail('SGXS_NOT_CANONICAL', `chunk at 0x${r.offset.toString(16)} outside its page`);
      p.data.set(r.data, c);
      if (r.kind === 'EEXTEND') p.measuredChunks |= 1 << (c / 256);
    }
  }
  return pages;
}

/** Writes an SGXS stream: a `MeasurementSink` that also accepts unmeasured chunks. */
export class SgxsWriter implements MeasurementSink {
  readonly #parts: Uint8Array[] = [];
  #size = 0;

  ecreate(ssaFrameSize: number, size: number): void {
    const b = new Uint8Array(64);
    writeEcreateRecord(b, 0, ssaFrameSize, size);
    this.#push(b);
  }
  eadd(offset: number, secinfoFlags: number): void {
    const b = new Uint8Array(64);
    writeEaddRecord(b, 0, offset, secinfoFlags);
    this.#push(b);
  }
  eextend(offset: number, chunk: Uint8Array): void {
    const b = new Uint8Array(320);
    writeEextendRecord(b, 0, offset);
    b.set(chunk.subarray(0, 256), 64);
    this.#push(b);
  }
  /** A 256-byte chunk that is loaded but not measured (SGXS `UNMEASRD`). All-zero chunks may be omitted. */
  unmeasured(offset: number, chunk: Uint8Array): void {
    if (isZero(chunk, 0, 256)) return;
    const b = new Uint8Array(320);
    writeU64le(b, 0, SGXS_TAG_UNMEASURED);
    writeU64le(b, 8, offset);
    b.set(chunk.subarray(0, 256), 64);
    this.#push(b);
  }
  #push(b: Uint8Array): void {
    this.#parts.push(b);
    this.#size += b.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#size);
    let o = 0;
    for (const p of this.#parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
