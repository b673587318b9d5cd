/**
 * The SGXS format: an enclave's measurement stream as a file (fortanix/rust-sgx `sgxs` crate).
 * It is literally the sequence of 64-byte measurement records, with the 256 data bytes after each
 * EEXTEND record, plus one extension: `UNMEASRD` records carry 256 bytes that are loaded but not
 * measured. An EADD with no chunks loads a zero page.
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { u32le, u64le, u64leNumberOrNeg, writeU64le, isZero } from '../lib/bytes.js';
import { ArchError } from './errors.js';
import { MEAS_TAG, MEAS_TAG_WORDS, PT, SECINFO_FLAGS } from './constants.js';
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

const TAG = MEAS_TAG_WORDS;

function fail(code: string, message: string, data: Record<string, unknown> = {}): never {
  throw new SgxsError(code, message, data);
}

/**
 * Read an SGXS stream record by record (nothing is kept: a 1 GiB heap is 262,144 records; the
 * `data` of a chunk record is a view into `stream`). With `canonical` (the default) the stream must follow the rules of the
 * fortanix `CanonicalSgxsReader`: one ECREATE first; page-aligned, strictly increasing EADD
 * offsets; each EEXTEND/UNMEASRD inside the preceding EADD page, 256-aligned, each chunk once; TCS
 * pages measured with zero permissions.
 * @throws {SgxsError} `SGXS_TRUNCATED`, `SGXS_BAD_TAG`, `SGXS_NOT_CANONICAL`, `SGXS_UNSIZED`.
 */
export function forEachSgxsRecord(stream: Uint8Array, visit: (r: SgxsRecord) => void, options: { canonical?: boolean } = {}): void {
  const canonical = options.canonical ?? true;
  let o = 0;
  let lastPage = -1;
  let chunksSeen = 0;
  while (o < stream.length) {
    if (o + 64 > stream.length) fail('SGXS_TRUNCATED', `truncated record at byte ${o}`, { offset: o });
    // The tag as two u32 halves: no BigInt per record (a 1 GiB heap is 262,144 records).
    const lo = u32le(stream, o), hi = u32le(stream, o + 4);
    const tag = lo === TAG.ECREATE[0] && hi === TAG.ECREATE[1] ? MEAS_TAG.ECREATE : lo === TAG.EADD[0] && hi === TAG.EADD[1] ? MEAS_TAG.EADD
      : lo === TAG.EEXTEND[0] && hi === TAG.EEXTEND[1] ? MEAS_TAG.EEXTEND : u64le(stream, o);
    const at = o;
    // In either mode the first record is ECREATE: nothing is visited before that is known.
    if (at === 0 && tag !== MEAS_TAG.ECREATE && tag !== SGXS_TAG_UNSIZED) fail('SGXS_NOT_CANONICAL', 'the stream does not start with ECREATE', { offset: 0 });
    if (tag === MEAS_TAG.ECREATE || tag === SGXS_TAG_UNSIZED) {
      if (tag === SGXS_TAG_UNSIZED) fail('SGXS_UNSIZED', 'unsized SGXS stream (the enclave size was never filled in)', { offset: at });
      if (canonical && at !== 0) fail('SGXS_NOT_CANONICAL', `ECREATE at byte ${at} is not the first record`, { offset: at });
      const size = u64leNumberOrNeg(stream, o + 12);
      if (size < 0) fail('SGXS_RANGE', 'ECREATE size exceeds 2^53', { offset: at });
      visit({ kind: 'ECREATE', ssaFrameSize: u32le(stream, o + 8), size });
      o += 64;
    } else if (tag === MEAS_TAG.EADD) {
      const offset = u64leNumberOrNeg(stream, o + 8);
      const f = u32le(stream, o + 16);
      if (offset < 0 || u32le(stream, o + 20) !== 0) fail('SGXS_RANGE', `EADD at byte ${at}: offset or flags out of range`, { offset: at });
      if (canonical) {
        if (offset % 4096 !== 0 || offset <= lastPage) fail('SGXS_NOT_CANONICAL', `EADD offset 0x${offset.toString(16)} at byte ${at} is not page-aligned and increasing`, { offset: at });
        if ((f & SECINFO_FLAGS.PAGE_TYPE_MASK) >> 8 === PT.TCS && (f & 7) !== 0) fail('SGXS_NOT_CANONICAL', `TCS page at 0x${offset.toString(16)} measured with permissions`, { offset: at });
      }
      lastPage = offset;
      chunksSeen = 0;
      visit({ kind: 'EADD', offset, secinfoFlags: f });
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
      const data = stream.subarray(o + 64, o + 320);
      visit(tag === MEAS_TAG.EEXTEND ? { kind: 'EEXTEND', offset, data } : { kind: 'UNMEASURED', offset, data });
      o += 320;
    } else {
      fail('SGXS_BAD_TAG', `unknown record tag 0x${tag.toString(16).padStart(16, '0')} at byte ${at}`, { offset: at });
    }
  }
  if (stream.length === 0) fail('SGXS_NOT_CANONICAL', 'the stream does not start with ECREATE (it is empty)');
}

/**
 * Parse an SGXS stream into records (chunk data copied out of the stream); rules and errors as
 * {@link forEachSgxsRecord}.
 */
export function parseSgxs(stream: Uint8Array, options: { canonical?: boolean } = {}): SgxsRecord[] {
  const out: SgxsRecord[] = [];
  forEachSgxsRecord(stream, (r) => out.push(r.kind === 'EEXTEND' || r.kind === 'UNMEASURED' ? { kind: r.kind, offset: r.offset, data: r.data.slice() } : r), options);
  return out;
}

/** Feed the measured records of a parsed stream into a sink (UNMEASRD records are skipped). */
export function replaySgxs(records: readonly SgxsRecord[], sink: MeasurementSink): void {
  for (const r of records) replayRecord(r, sink);
}

function replayRecord(r: SgxsRecord, sink: MeasurementSink): void {
  if (r.kind === 'ECREATE') sink.ecreate(r.ssaFrameSize, r.size);
  else if (r.kind === 'EADD') sink.eadd(r.offset, r.secinfoFlags);
  else if (r.kind === 'EEXTEND') sink.eextend(r.offset, r.data);
}

/** The MRENCLAVE an SGXS stream describes, with its page count and enclave size. */
export function measureSgxs(stream: Uint8Array, crypto: CryptoProvider): { mrenclave: Uint8Array; pages: number; size: number; ssaFrameSize: number } {
  // Streamed straight into the measurement (chunks hashed from the stream, nothing kept).
  const m = new Measurement(crypto);
  let pages = 0, size = 0, ssaFrameSize = 0;
  try {
    forEachSgxsRecord(stream, (r) => {
      if (r.kind === 'ECREATE') ({ size, ssaFrameSize } = r);
      else if (r.kind === 'EADD') pages++;
      replayRecord(r, m);
    });
    return { mrenclave: m.finalize(), pages, size, ssaFrameSize };
  } catch (e) {
    m.dispose(); // a malformed stream: give a hashing-thread stream back at once
    throw e;
  }
}

/**
 * Reassemble the pages an SGXS stream loads (zero-filled where no chunk was given). Pages without
 * any chunk (a heap) all share one zero buffer, so that a large heap costs no memory here: treat
 * `data` as read-only.
 */
export function sgxsPages(records: readonly SgxsRecord[]): SgxsPage[] {
  const pages: SgxsPage[] = [];
  const zero = new Uint8Array(4096);
  const assembler = new PageAssembler((p) => pages.push({ ...p, data: p.data === PageAssembler.ZERO ? zero : p.data.slice() }));
  for (const r of records) assembler.record(r);
  assembler.end();
  return pages;
}

/**
 * Visit the pages an SGXS stream loads, one at a time, without keeping them (the loader's path: a
 * 1 GiB heap would otherwise be 262,144 page objects). `data` is valid only during the callback
 * and must not be written. Returns the ECREATE record (the stream's first). Rules and errors as
 * {@link forEachSgxsRecord}.
 */
export function forEachSgxsPage(stream: Uint8Array, visit: (p: SgxsPage) => void, options: { canonical?: boolean } = {}): { readonly ssaFrameSize: number; readonly size: number } {
  const assembler = new PageAssembler(visit);
  let ecreate: { ssaFrameSize: number; size: number } | null = null;
  forEachSgxsRecord(stream, (r) => {
    if (r.kind === 'ECREATE') ecreate = r;
    else assembler.record(r);
  }, options);
  assembler.end();
  return ecreate!; // forEachSgxsRecord refuses a stream that does not start with ECREATE
}

/** Builds pages from EADD and chunk records into one reusable buffer. */
class PageAssembler {
  /** The data of a page without chunks. Never written. */
  static readonly ZERO = new Uint8Array(4096);
  readonly #buf = new Uint8Array(4096);
  #offset = -1;
  #flags = 0;
  #chunks = 0;
  #dirty = false;
  constructor(readonly emit: (p: SgxsPage) => void) {}

  record(r: SgxsRecord): void {
    if (r.kind === 'EADD') {
      this.end();
      this.#offset = r.offset;
      this.#flags = r.secinfoFlags;
    } else if (r.kind === 'EEXTEND' || r.kind === 'UNMEASURED') {
      if (this.#offset < 0) fail('SGXS_NOT_CANONICAL', 'chunk before any EADD');
      const c = r.offset - this.#offset;
      if (c < 0 || c >= 4096 || c % 256) fail('SGXS_NOT_CANONICAL', `chunk at 0x${r.offset.toString(16)} outside its page`);
      this.#buf.set(r.data, c);
      this.#dirty = true;
      if (r.kind === 'EEXTEND') this.#chunks |= 1 << (c / 256);
    }
  }

  /** Emit the page being assembled, if any. */
  end(): void {
    if (this.#offset < 0) return;
    this.emit({ offset: this.#offset, secinfoFlags: this.#flags, measuredChunks: this.#chunks, data: this.#dirty ? this.#buf : PageAssembler.ZERO });
    if (this.#dirty) this.#buf.fill(0);
    this.#offset = -1;
    this.#chunks = 0;
    this.#dirty = false;
  }
}

/** Writes an SGXS stream: a `MeasurementSink` that also accepts unmeasured chunks. */
export class SgxsWriter implements MeasurementSink {
  // One growing buffer (doubling), not a part per record: a 1 GiB heap is 262,144 EADD records.
  #buf = new Uint8Array(64 * 1024);
  #size = 0;

  ecreate(ssaFrameSize: number, size: number): void {
    writeEcreateRecord(this.#reserve(64), this.#size - 64, ssaFrameSize, size);
  }
  eadd(offset: number, secinfoFlags: number): void {
    writeEaddRecord(this.#reserve(64), this.#size - 64, offset, secinfoFlags);
  }
  eextend(offset: number, chunk: Uint8Array): void {
    const b = this.#reserve(320), at = this.#size - 320;
    writeEextendRecord(b, at, offset);
    b.set(chunk.subarray(0, 256), at + 64);
  }
  /** A 256-byte chunk that is loaded but not measured (SGXS `UNMEASRD`). All-zero chunks may be omitted. */
  unmeasured(offset: number, chunk: Uint8Array): void {
    if (isZero(chunk, 0, 256)) return;
    const b = this.#reserve(320), at = this.#size - 320;
    writeU64le(b, at, SGXS_TAG_UNMEASURED);
    writeU64le(b, at + 8, offset);
    b.set(chunk.subarray(0, 256), at + 64);
  }
  /** Make room for n more bytes (zero-filled) and count them; returns the buffer. */
  #reserve(n: number): Uint8Array {
    if (this.#size + n > this.#buf.length) {
      const grown = new Uint8Array(Math.max(this.#buf.length * 2, this.#size + n));
      grown.set(this.#buf.subarray(0, this.#size));
      this.#buf = grown;
    }
    this.#size += n;
    return this.#buf;
  }
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#size);
  }
}
