/**
 * MRENCLAVE as silicon computes it (SDM 38.? ECREATE/EADD/EEXTEND/EINIT pseudocode; specs/sgx.md §4).
 *
 * MRENCLAVE is one SHA-256 over a stream of 64-byte records: one ECREATE record, then for each
 * EADD an EADD record, and for each EEXTEND an EEXTEND record followed by the 256 measured bytes.
 * EINIT finalizes with the standard SHA-256 length padding, so a streaming SHA-256 of the
 * concatenated records is exact.
 *
 * `Measurement` writes the records into a reused buffer and hashes it in large blocks (no
 * allocation per record: this is the hot path of enclave building). A `MeasurementLog` can be
 * attached to keep every record (the SGXS form, see sgxs.ts) for dumping, diffing and replay.
 */
import type { CryptoProvider, Sha256Stream, Sha256Pipeline } from '../lib/crypto/provider.js';
import { PIECE_SIZE } from '../lib/crypto/provider.js';
import { writeU32le, writeU64le, LITTLE_ENDIAN_HOST } from '../lib/bytes.js';
import { MEAS_TAG, MEAS_TAG_WORDS, SECINFO_FLAGS, PT } from './constants.js';
import { ArchError } from './errors.js';

/** Receives the exact records that are hashed, in order. */
export interface MeasurementSink {
  ecreate(ssaFrameSize: number, size: number): void;
  /** `secinfoFlags` as EADD measures them (TCS: R, W, X already forced to 0). */
  eadd(offset: number, secinfoFlags: number): void;
  /** `chunk` is a 256-byte view; the sink must copy what it keeps. */
  eextend(offset: number, chunk: Uint8Array): void;
}

/** The flags EADD measures: for PT_TCS the R/W/X bits are forced to 0 (SDM EADD pseudocode). */
export function measuredSecinfoFlags(flags: number): number {
  const pt = (flags & SECINFO_FLAGS.PAGE_TYPE_MASK) >> SECINFO_FLAGS.PAGE_TYPE_SHIFT;
  return pt === PT.TCS ? flags & ~7 : flags;
}

function tagBytes(tag: bigint): Uint8Array {
  const b = new Uint8Array(8);
  writeU64le(b, 0, tag);
  return b;
}
const TAG_ECREATE = tagBytes(MEAS_TAG.ECREATE);
const TAG_EADD = tagBytes(MEAS_TAG.EADD);
const TAG_EEXTEND = tagBytes(MEAS_TAG.EEXTEND);

/** Write the 64-byte ECREATE record into `b` at `o`. */
export function writeEcreateRecord(b: Uint8Array, o: number, ssaFrameSize: number, size: number): void {
  b.fill(0, o, o + 64);
  b.set(TAG_ECREATE, o);
  writeU32le(b, o + 8, ssaFrameSize);
  writeU64le(b, o + 12, size);
}
/** Write the 64-byte EADD record: tag, enclave offset, the first 48 bytes of the SECINFO (FLAGS, then zeros). */
export function writeEaddRecord(b: Uint8Array, o: number, offset: number, secinfoFlags: number): void {
  b.fill(0, o, o + 64);
  b.set(TAG_EADD, o);
  writeU64le(b, o + 8, offset);
  writeU64le(b, o + 16, secinfoFlags);
}
/** Write the 64-byte EEXTEND header record (the 256 data bytes follow it in the stream). */
export function writeEextendRecord(b: Uint8Array, o: number, offset: number): void {
  b.fill(0, o + 16, o + 64);
  b.set(TAG_EEXTEND, o);
  writeU64le(b, o + 8, offset);
}

const [EEXTEND_TAG_LO, EEXTEND_TAG_HI] = MEAS_TAG_WORDS.EEXTEND;
const [EADD_TAG_LO, EADD_TAG_HI] = MEAS_TAG_WORDS.EADD;
const BUFFER_SIZE = PIECE_SIZE; // 320 KiB: a multiple of 64 and of the 320-byte EEXTEND group
/** A measurement dropped without finalize or dispose gives its hashing-thread stream back when collected. */
const ABANDONED = new FinalizationRegistry<Sha256Pipeline>((pipe) => pipe.close());

/** A buffer whose length can change (a resizable ArrayBuffer, a growable SharedArrayBuffer). */
function resizable(b: ArrayBufferLike): boolean {
  return (b as { resizable?: unknown }).resizable === true || (b as { growable?: unknown }).growable === true;
}

/** A running MRENCLAVE: what the SECS holds between ECREATE and EINIT. */
export class Measurement implements MeasurementSink {
  readonly #crypto: CryptoProvider;
  #hash: Sha256Stream;
  /**
   * Once the records outgrow the first buffer, and at least half of it is measured page contents
   * (EEXTEND records: a heap's EADD records alone are not worth a thread), they are hashed on the
   * provider's hashing thread (when it has one) while the leaves go on: the records are written
   * straight into its buffers. The digest is the same either way.
   */
  #pipe: Sha256Pipeline | null = null;
  /** The hashing thread was considered (once, when the first buffer fills): the stream stays where it is. */
  #triedPipe = false;
  /** Why no record can be added any more: dropped (`MEASUREMENT_DISPOSED`) or the hashing thread failed (`MEASUREMENT_FAILED`). */
  #ended: { readonly code: string; readonly why: string } | null = null;
  /** EEXTEND record bytes in the first buffer. */
  #extendBytes = 0;
  #buf: Uint8Array;
  #words: Uint32Array;
  #len = 0;
  #blocks = 0;
  #final: Uint8Array | null = null;
  readonly #log: MeasurementSink | null;
  /**
   * The page the last EEXTEND read. The 16 EEXTENDs of a page copy their 256 bytes as 64 words from
   * one word view of the page's buffer instead of making a subarray view each (on Node 20 a view
   * plus TypedArray#set costs ~80 ns, the words ~35). Dropped when the measurement ends.
   */
  #srcPage: Uint8Array | null = null;
  /** A word view of the whole buffer under `#srcPage` (kept while pages of one buffer follow each other), or null: copy with TypedArray#set. */
  #srcWords: Uint32Array | null = null;
  #srcBuffer: ArrayBufferLike | null = null;
  /** The word in `#srcWords` where `#srcPage` starts. */
  #srcBase = 0;

  constructor(crypto: CryptoProvider, log: MeasurementSink | null = null) {
    this.#crypto = crypto;
    this.#hash = crypto.createSha256();
    this.#buf = new Uint8Array(BUFFER_SIZE);
    this.#words = new Uint32Array(this.#buf.buffer);
    this.#log = log;
  }

  /** Number of 64-byte SHA256UPDATE blocks so far (the SDM's update counter). */
  get updateCount(): number {
    return this.#blocks;
  }

  get finalized(): boolean {
    return this.#final !== null;
  }

  #room(n: number): number {
    if (this.#len + n > this.#buf.length) {
      // An ended measurement has an empty buffer: every record comes here.
      this.#checkLive();
      if (this.#final !== null) throw new ArchError('MEASUREMENT_FINALIZED', 'the measurement was finalized (EINIT): no record can be added');
      this.#flush(true);
    }
    const o = this.#len;
    this.#len += n;
    this.#blocks += n >> 6;
    return o;
  }

  /** Hash what the buffer holds; `full`: it is full (only a stream that outgrows it moves to the hashing thread). */
  #flush(full: boolean): void {
    if (this.#len === 0) return;
    if (full && this.#pipe === null && !this.#triedPipe && this.#extendBytes * 2 >= this.#buf.length) {
      const pipe = this.#crypto.openSha256Pipeline?.() ?? null;
      this.#triedPipe = true;
      if (pipe !== null) {
        // Nothing was hashed here yet: the stream starts on the hashing thread.
        pipe.buffer.set(this.#buf.subarray(0, this.#len));
        this.#pipe = pipe;
        ABANDONED.register(this, pipe, this);
      }
    }
    if (this.#pipe !== null) {
      const pipe = this.#pipe;
      this.#onPipe(() => pipe.submit(this.#len));
      this.#useBuffer(pipe.buffer);
    } else {
      this.#hash.update(this.#buf.subarray(0, this.#len));
      this.#triedPipe = true; // bytes hashed here: the stream stays here
    }
    this.#len = 0;
  }

  #useBuffer(b: Uint8Array): void {
    this.#buf = b;
    this.#words = new Uint32Array(b.buffer, b.byteOffset, b.length >> 2);
  }

  /** Drop the measurement (its enclave was removed before EINIT): a stream on the hashing thread is ended. */
  dispose(): void {
    this.#end('MEASUREMENT_DISPOSED', 'the measurement was dropped');
  }

  #end(code: string, why: string): void {
    if (this.#pipe !== null) {
      ABANDONED.unregister(this);
      this.#pipe.close(); // nothing when the stream already ended with a failure
      this.#pipe = null;
    }
    this.#ended ??= { code, why };
    this.#len = 0;
    this.#buf = new Uint8Array(0);
    this.#words = new Uint32Array(0);
    this.#dropSource();
  }

  #checkLive(): void {
    if (this.#ended !== null) throw new ArchError(this.#ended.code, `${this.#ended.why}: no record can be added and there is no digest`);
  }

  /**
   * A call into the hashing thread's stream. If it fails (the thread died or stopped answering),
   * what was submitted is lost: the measurement ends (MEASUREMENT_FAILED), the same for every
   * ENCLS leaf that meets it, instead of going on with a stream it can no longer trust.
   */
  #onPipe<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      const why = `the hashing thread failed (${e instanceof Error ? e.message : String(e)})`;
      this.#end('MEASUREMENT_FAILED', why);
      throw new ArchError('MEASUREMENT_FAILED', why, {}, { cause: e });
    }
  }

  ecreate(ssaFrameSize: number, size: number): void {
    const o = this.#room(64); // first: making room may move to another buffer
    writeEcreateRecord(this.#buf, o, ssaFrameSize, size);
    this.#log?.ecreate(ssaFrameSize, size);
  }

  eadd(offset: number, secinfoFlags: number): void {
    if (!(Number.isSafeInteger(offset) && offset >= 0)) this.#refuse('MEASUREMENT_RECORD', `EADD offset ${offset} is not a non-negative integer`, { offset });
    if (!(Number.isSafeInteger(secinfoFlags) && secinfoFlags >= 0)) this.#refuse('MEASUREMENT_RECORD', `EADD SECINFO.FLAGS ${secinfoFlags} is not a non-negative integer`, { secinfoFlags });
    const o = this.#room(64); // first: making room may move to another buffer
    if (!LITTLE_ENDIAN_HOST) writeEaddRecord(this.#buf, o, offset, secinfoFlags);
    else this.#writeRecord(o, EADD_TAG_LO, EADD_TAG_HI, offset, secinfoFlags);
    this.#log?.eadd(offset, secinfoFlags);
  }

  eextend(offset: number, chunk: Uint8Array): void {
    this.eextendAt(offset, chunk, 0);
  }

  /** EEXTEND of the 256 bytes of `page` at `at` (no view of the chunk is made unless a log wants one). */
  eextendAt(offset: number, page: Uint8Array, at: number): void {
    if (!(Number.isSafeInteger(offset) && offset >= 0)) this.#refuse('MEASUREMENT_RECORD', `EEXTEND offset ${offset} is not a non-negative integer`, { offset });
    if (!(Number.isInteger(at) && at >= 0 && at + 256 <= page.length)) {
      this.#refuse('MEASUREMENT_CHUNK', `EEXTEND reads 256 bytes at ${at} of a ${page.length}-byte view: they are not all there`, { at, length: page.length });
    }
    const o = this.#room(320);
    if (!this.#triedPipe) this.#extendBytes += 320; // only the first buffer decides
    if (!LITTLE_ENDIAN_HOST) writeEextendRecord(this.#buf, o, offset);
    else this.#writeRecord(o, EEXTEND_TAG_LO, EEXTEND_TAG_HI, offset, 0);
    if (page !== this.#srcPage) this.#viewSource(page);
    const src = this.#srcWords;
    let q = this.#srcBase + at / 4;
    // The word view's length as it is now (a buffer detached since the view was made has none).
    if (src !== null && (at & 3) === 0 && q + 64 <= src.length) {
      // A word copy is a copy of the bytes, whatever the byte order.
      const w = this.#words;
      let d = (o + 64) >> 2;
      for (const end = d + 64; d < end; d += 4, q += 4) {
        w[d] = src[q]!; w[d + 1] = src[q + 1]!; w[d + 2] = src[q + 2]!; w[d + 3] = src[q + 3]!;
      }
    } else if (at === 0 && page.length === 256) this.#buf.set(page, o + 64);
    else this.#buf.set(page.subarray(at, at + 256), o + 64);
    if (this.#log !== null) this.#log.eextend(offset, page.subarray(at, at + 256));
  }

  /**
   * The 64-byte EADD or EEXTEND record at `o` as 16 words (no builtin calls: EEXTEND runs 16 times
   * per page): tag, offset, a second u64 (EADD's SECINFO.FLAGS; 0 for EEXTEND), zeros. The caller
   * checked both values; a big-endian host writes the bytes instead (writeEaddRecord, writeEextendRecord).
   */
  #writeRecord(o: number, tagLo: number, tagHi: number, offset: number, second: number): void {
    const w = this.#words, k = o >> 2;
    w[k] = tagLo;
    w[k + 1] = tagHi;
    w[k + 2] = offset >>> 0;
    w[k + 3] = Math.floor(offset / 4294967296) >>> 0;
    w[k + 4] = second >>> 0;
    w[k + 5] = Math.floor(second / 4294967296) >>> 0;
    for (let j = 6; j < 16; j++) w[k + j] = 0;
  }

  /**
   * Refuse a record before any of it is written (a chunk the view does not hold, as a detached
   * buffer holds none; a field out of range); an ended measurement says so first.
   */
  #refuse(code: string, why: string, data: Record<string, unknown>): never {
    this.#checkLive();
    if (this.#final !== null) throw new ArchError('MEASUREMENT_FINALIZED', 'the measurement was finalized (EINIT): no record can be added');
    throw new ArchError(code, why, data);
  }

  #viewSource(page: Uint8Array): void {
    this.#srcPage = page;
    const b = page.buffer, at = page.byteOffset;
    // One word view per buffer only for a fixed-length buffer under 2 GiB (its length cannot change
    // under the view, and word indices stay small); anything else is copied with TypedArray#set.
    if (at % 4 !== 0 || b.byteLength >= 2 ** 31 || resizable(b)) {
      this.#srcWords = this.#srcBuffer = null;
      return;
    }
    if (b !== this.#srcBuffer || this.#srcWords === null) {
      this.#srcBuffer = b;
      this.#srcWords = new Uint32Array(b, 0, Math.floor(b.byteLength / 4));
    }
    this.#srcBase = at / 4;
  }

  /** No view of an EPC page (or of the buffer under it) stays with the measurement. */
  #dropSource(): void {
    this.#srcPage = null;
    this.#srcWords = null;
    this.#srcBuffer = null;
  }

  /** Measure a whole page the canonical way: 16 EEXTENDs at +0x000 … +0xF00. */
  eextendPage(pageOffset: number, page: Uint8Array): void {
    for (let c = 0; c < 4096; c += 256) this.eextendAt(pageOffset + c, page, c);
  }

  /** SHA256FINAL: the MRENCLAVE. Idempotent. */
  finalize(): Uint8Array {
    if (this.#final === null) {
      this.#checkLive();
      if (this.#pipe !== null) {
        const pipe = this.#pipe;
        this.#final = this.#onPipe(() => pipe.digest(this.#len, true));
        ABANDONED.unregister(this);
      } else {
        this.#flush(false);
        this.#final = this.#hash.digest();
      }
      this.#pipe = null;
      this.#len = 0;
      this.#buf = new Uint8Array(0);
      this.#words = new Uint32Array(0);
      this.#dropSource();
    }
    return this.#final.slice();
  }

  /** The MRENCLAVE that EINIT would compute now, without finalizing this measurement. */
  peek(): Uint8Array {
    if (this.#final) return this.#final.slice();
    this.#checkLive();
    if (this.#pipe !== null) {
      const pipe = this.#pipe;
      const d = this.#onPipe(() => pipe.digest(this.#len, false));
      this.#len = 0;
      this.#useBuffer(pipe.buffer);
      return d;
    }
    this.#flush(false);
    return this.#hash.copy().digest();
  }
}

/** One record of the measurement log. */
export type MeasurementRecord =
  | { readonly kind: 'ECREATE'; readonly ssaFrameSize: number; readonly size: number }
  | { readonly kind: 'EADD'; readonly offset: number; readonly secinfoFlags: number }
  | { readonly kind: 'EEXTEND'; readonly offset: number; readonly data: Uint8Array };

/** A log of the records that were hashed: dump, diff, re-hash. */
export class MeasurementLog implements MeasurementSink {
  readonly records: MeasurementRecord[] = [];

  ecreate(ssaFrameSize: number, size: number): void {
    this.records.push({ kind: 'ECREATE', ssaFrameSize, size });
  }
  eadd(offset: number, secinfoFlags: number): void {
    this.records.push({ kind: 'EADD', offset, secinfoFlags });
  }
  eextend(offset: number, chunk: Uint8Array): void {
    this.records.push({ kind: 'EEXTEND', offset, data: chunk.slice(0, 256) });
  }

  /** Feed every record into another sink (e.g. a fresh `Measurement`). */
  replay(sink: MeasurementSink): void {
    for (const r of this.records) {
      if (r.kind === 'ECREATE') sink.ecreate(r.ssaFrameSize, r.size);
      else if (r.kind === 'EADD') sink.eadd(r.offset, r.secinfoFlags);
      else sink.eextend(r.offset, r.data);
    }
  }

  /** Re-hash the log: the MRENCLAVE it describes. */
  mrenclave(crypto: CryptoProvider): Uint8Array {
    const m = new Measurement(crypto);
    this.replay(m);
    return m.finalize();
  }
}
