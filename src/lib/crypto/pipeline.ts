/**
 * SHA-256 on a second thread, for long streams (an enclave's measurement while it is built).
 *
 * The caller borrows a buffer, fills it, and submits it; a worker thread hashes submitted buffers
 * in submission order while the caller goes on, and `digest` waits (Atomics.wait) for what is
 * queued. The digest is exactly SHA-256 of the bytes submitted, in order: only the thread doing
 * the work changes. Several streams ("jobs") share one worker and one set of buffers.
 *
 * Shared memory layout (one SharedArrayBuffer):
 *   control Int32Array: [HEAD] next queue position the worker takes, [TAIL] next the caller fills,
 *   [FREED] a counter the worker bumps whenever it frees a buffer, [READY] 1 once the worker runs
 *   (-1 when it died), then QUEUE (buffer numbers), then
 *   per buffer META_WORDS words: state, job, length, op;
 *   then per buffer a 32-byte result (a digest), then the buffers' bytes.
 */
import { Worker } from 'node:worker_threads';
import { LibError } from '../errors.js';
import { PIECE_SIZE } from './provider.js';

export { PIECE_SIZE };

/** A SHA-256 stream hashed on the pipeline's thread. */
export interface Sha256Pipeline {
  /** The buffer to fill next (`PIECE_SIZE` bytes); it belongs to the caller until `submit`. */
  readonly buffer: Uint8Array;
  /** Hash the first `length` bytes of `buffer` (in the background); `buffer` is then a fresh one. */
  submit(length: number): void;
  /** Submit the first `length` bytes of `buffer` and wait for the digest of everything submitted. With `final`, the stream ends. */
  digest(length: number, final: boolean): Uint8Array;
  /** End the stream without a digest (its state in the worker is dropped). */
  close(): void;
}

const BUFFERS = 16;
/** At most this many streams hold a buffer at once: a stream waiting for a buffer always has one of its own in flight or a free one. */
const MAX_STREAMS = BUFFERS / 2;
const QUEUE = 32;
const HEAD = 0, TAIL = 1, FREED = 2, READY = 3, QUEUE_AT = 4;
const META_AT = QUEUE_AT + QUEUE, META_WORDS = 4;
const STATE = 0, JOB = 1, LENGTH = 2, OP = 3;
const FREE = 0, LENT = 1, QUEUED = 2, DONE = 3;
const OP_UPDATE = 0, OP_FINAL = 1, OP_PEEK = 2, OP_CLOSE = 3;
const CONTROL_BYTES = (META_AT + BUFFERS * META_WORDS) * 4;
const RESULTS_AT = Math.ceil(CONTROL_BYTES / 64) * 64;
const DATA_AT = RESULTS_AT + BUFFERS * 32;
/** How long a caller waits for the worker before it reports a failure (a buffer takes well under a millisecond). */
const WAIT_MS = 30_000;

/** The worker: CommonJS, evaluated from this string (no separate file to ship). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { sab } = workerData;
const c = new Int32Array(sab, 0, ${META_AT + BUFFERS * META_WORDS});
const jobs = new Map();
Atomics.store(c, ${READY}, 1);
Atomics.notify(c, ${READY});
try {
for (;;) {
  const head = Atomics.load(c, ${HEAD});
  if (head === Atomics.load(c, ${TAIL})) { Atomics.wait(c, ${TAIL}, head); continue; }
  const b = c[${QUEUE_AT} + (head % ${QUEUE})];
  const m = ${META_AT} + b * ${META_WORDS};
  const job = c[m + ${JOB}], len = c[m + ${LENGTH}], op = c[m + ${OP}];
  let h = jobs.get(job);
  if (h === undefined && op !== ${OP_CLOSE}) { h = createHash('sha256'); jobs.set(job, h); }
  if (len > 0) h.update(new Uint8Array(sab, ${DATA_AT} + b * ${PIECE_SIZE}, len));
  let state = ${FREE};
  if (op === ${OP_FINAL} || op === ${OP_PEEK}) {
    new Uint8Array(sab, ${RESULTS_AT} + b * 32, 32).set(op === ${OP_FINAL} ? h.digest() : h.copy().digest());
    state = ${DONE};
  }
  if (op === ${OP_FINAL} || op === ${OP_CLOSE}) jobs.delete(job);
  Atomics.store(c, ${HEAD}, head + 1);
  Atomics.store(c, m + ${STATE}, state);
  Atomics.notify(c, m + ${STATE});
  if (state === ${FREE}) { Atomics.add(c, ${FREED}, 1); Atomics.notify(c, ${FREED}); }
}
} catch (e) {
  // Say so before dying: the caller may be blocked waiting and cannot run its event handlers.
  Atomics.store(c, ${READY}, -1);
  Atomics.add(c, ${FREED}, 1);
  Atomics.notify(c, ${FREED});
  for (let b = 0; b < ${BUFFERS}; b++) Atomics.notify(c, ${META_AT} + b * ${META_WORDS} + ${STATE});
  throw e;
}
`;

class Pipeline {
  readonly sab: SharedArrayBuffer;
  readonly control: Int32Array;
  readonly worker: Worker;
  streams = 0;
  nextJob = 1;
  /** Where `borrow` looks first. */
  #next = 0;

  constructor() {
    this.sab = new SharedArrayBuffer(DATA_AT + BUFFERS * PIECE_SIZE);
    this.control = new Int32Array(this.sab, 0, META_AT + BUFFERS * META_WORDS);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab: this.sab } });
    this.worker.unref(); // the process may exit with the worker idle
    // A worker that fails (at start, e.g. a preload that throws in threads, or later) must not
    // leave anyone waiting: it is marked dead and every waiter is woken to see it.
    const died = (): void => this.#markDead();
    this.worker.on('error', died);
    this.worker.on('exit', died);
  }

  /** The worker is gone or cannot be trusted: every waiter wakes to see it, no stream is handed out again. */
  #markDead(): void {
    Atomics.store(this.control, READY, -1);
    Atomics.add(this.control, FREED, 1);
    Atomics.notify(this.control, FREED);
    for (let b = 0; b < BUFFERS; b++) Atomics.notify(this.control, META_AT + b * META_WORDS + STATE);
  }

  /** The worker did not answer for WAIT_MS: it is treated as dead (and stopped), so nobody waits for it again. */
  #stalled(what: string): LibError {
    this.#markDead();
    void this.worker.terminate();
    return new LibError('HASH_PIPELINE_STALLED', `the hashing thread did not ${what}`);
  }

  /** The worker has started and not died: streams may be handed out. */
  get ready(): boolean {
    return Atomics.load(this.control, READY) === 1;
  }

  #checkAlive(): void {
    if (Atomics.load(this.control, READY) === -1) throw new LibError('HASH_PIPELINE_DEAD', 'the hashing thread stopped');
  }

  /**
   * A free buffer, marked lent (waits while every buffer is lent or queued). The buffers are taken
   * in turn, not the first free one: a buffer the worker has just hashed is still in its core's
   * cache, and writing it again at once costs the writer a transfer per cache line (A/B runs of a
   * 64 MiB build: about 5 % faster in turn).
   */
  borrow(): number {
    const c = this.control;
    for (;;) {
      this.#checkAlive();
      const seen = Atomics.load(c, FREED);
      for (let k = 0; k < BUFFERS; k++) {
        const b = (this.#next + k) % BUFFERS;
        if (Atomics.compareExchange(c, META_AT + b * META_WORDS + STATE, FREE, LENT) === FREE) {
          this.#next = (b + 1) % BUFFERS;
          return b;
        }
      }
      if (Atomics.wait(c, FREED, seen, WAIT_MS) === 'timed-out') throw this.#stalled('free a buffer');
    }
  }

  bytes(b: number): Uint8Array {
    return new Uint8Array(this.sab, DATA_AT + b * PIECE_SIZE, PIECE_SIZE);
  }

  queue(b: number, job: number, length: number, op: number): void {
    const c = this.control, m = META_AT + b * META_WORDS;
    c[m + JOB] = job;
    c[m + LENGTH] = length;
    c[m + OP] = op;
    Atomics.store(c, m + STATE, QUEUED);
    const tail = Atomics.load(c, TAIL);
    c[QUEUE_AT + (tail % QUEUE)] = b;
    Atomics.store(c, TAIL, tail + 1);
    Atomics.notify(c, TAIL);
  }

  /** Wait until buffer `b` holds its result; read it and free the buffer. */
  result(b: number): Uint8Array {
    const c = this.control, s = META_AT + b * META_WORDS + STATE;
    while (Atomics.load(c, s) !== DONE) {
      this.#checkAlive();
      if (Atomics.wait(c, s, QUEUED, WAIT_MS) === 'timed-out') throw this.#stalled('answer');
    }
    const out = new Uint8Array(this.sab, RESULTS_AT + b * 32, 32).slice();
    Atomics.store(c, s, FREE);
    Atomics.add(c, FREED, 1);
    Atomics.notify(c, FREED);
    return out;
  }
}
Object.freeze(Pipeline.prototype);

let shared: Pipeline | null | undefined;

/**
 * Start the hashing thread if it is not running (it starts asynchronously: until it runs,
 * `openSha256Pipeline` returns null), and wait up to `waitMs` for it. True when it runs.
 */
export function startSha256Pipeline(waitMs = 0): boolean {
  if (shared === undefined) {
    try {
      shared = new Pipeline();
    } catch {
      shared = null;
    }
  }
  const p = shared;
  if (p === null) return false;
  if (!p.ready && waitMs > 0) Atomics.wait(p.control, READY, 0, waitMs);
  return p.ready;
}

/** One stream on the shared pipeline: the buffer it fills now, and its job number. */
class PipelineStream implements Sha256Pipeline {
  readonly #p: Pipeline;
  readonly #job: number;
  /** The buffer lent to this stream, or -1 once it ended. */
  #b: number;

  constructor(p: Pipeline) {
    this.#p = p;
    this.#b = p.borrow(); // first: a stream that gets no buffer does not count
    p.streams++;
    this.#job = p.nextJob++;
  }

  get buffer(): Uint8Array {
    return this.#b < 0 ? EMPTY : this.#p.bytes(this.#b);
  }

  #openBuffer(): number {
    if (this.#b < 0) throw new LibError('HASH_PIPELINE_CLOSED', 'the SHA-256 stream has ended');
    return this.#b;
  }

  submit(length: number): void {
    const b = this.#openBuffer();
    try {
      // The next buffer first: if that fails (the worker died), nothing was queued twice.
      const next = this.#p.borrow();
      this.#p.queue(b, this.#job, length, OP_UPDATE);
      this.#b = next;
    } catch (e) {
      this.#end(); // what was submitted is lost: the stream cannot go on
      throw e;
    }
  }

  digest(length: number, final: boolean): Uint8Array {
    const b = this.#openBuffer();
    try {
      this.#p.queue(b, this.#job, length, final ? OP_FINAL : OP_PEEK);
      const out = this.#p.result(b);
      if (final) this.#end();
      else this.#b = this.#p.borrow();
      return out;
    } catch (e) {
      this.#end(); // the buffer stays queued with the (dead) worker: never lent or queued again
      throw e;
    }
  }

  close(): void {
    if (this.#b < 0) return;
    this.#p.queue(this.#b, this.#job, 0, OP_CLOSE);
    this.#end();
  }

  #end(): void {
    if (this.#b < 0) return;
    this.#b = -1;
    this.#p.streams--;
  }
}
Object.freeze(PipelineStream.prototype); // the measurement streams into these: their methods stay as they are

const EMPTY = new Uint8Array(0);

/**
 * A SHA-256 stream on the shared hashing thread, or null when there is none to be had (no worker
 * threads here, the worker not running yet or dead, or enough streams already hold buffers): the
 * caller then hashes in its own thread.
 */
export function openSha256Pipeline(): Sha256Pipeline | null {
  startSha256Pipeline();
  const p = shared ?? null;
  if (p === null || !p.ready || p.streams >= MAX_STREAMS) return null;
  return new PipelineStream(p);
}
