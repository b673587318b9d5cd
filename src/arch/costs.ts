/**
 * What a run would cost on SGX hardware: the processor counts the events that cost most there
 * (each ENCLS and ENCLU leaf, each AEX; `ProcessorInspector.counters`), and a cost model prices
 * them in cycles. The model's clock turns cycles into time. Nothing here is measured on this
 * machine: the model predicts hardware from counts, to show a design that is heavy on transitions
 * or paging before it meets a real CPU.
 *
 * The default prices are the published figures this project found (one place; every one is
 * replaceable through `estimateCost`'s model). Events without a published figure are not priced:
 * their counts come back as `unpriced`, so a total never hides a guess.
 */

/** The events the processor counts. */
export type SgxEvent =
  | 'ECREATE' | 'EADD' | 'EINIT' | 'EREMOVE' | 'EDBGRD' | 'EDBGWR' | 'EEXTEND' | 'ELDB' | 'ELDU' | 'EBLOCK' | 'EPA' | 'EWB' | 'ETRACK' | 'EAUG' | 'EMODPR' | 'EMODT'
  | 'EREPORT' | 'EGETKEY' | 'EENTER' | 'ERESUME' | 'EEXIT' | 'EACCEPT' | 'EMODPE' | 'EACCEPTCOPY'
  | 'AEX_INTERRUPT' | 'AEX_EXCEPTION';

/** ENCLS leaves by number (0x00–0x0f), then ENCLU leaves by number (0x0–0x7), as the counters index them. */
export const ENCLS_EVENTS: readonly SgxEvent[] = ['ECREATE', 'EADD', 'EINIT', 'EREMOVE', 'EDBGRD', 'EDBGWR', 'EEXTEND', 'ELDB', 'ELDU', 'EBLOCK', 'EPA', 'EWB', 'ETRACK', 'EAUG', 'EMODPR', 'EMODT'];
export const ENCLU_EVENTS: readonly SgxEvent[] = ['EREPORT', 'EGETKEY', 'EENTER', 'ERESUME', 'EEXIT', 'EACCEPT', 'EMODPE', 'EACCEPTCOPY'];

/** Event counts: every event, 0 when it did not happen. */
export type SgxCounters = Readonly<Record<SgxEvent, number>>;

export interface CostModel {
  /** Cycles per event; an event missing here is not priced. */
  readonly cycles: Readonly<Partial<Record<SgxEvent, number>>>;
  /** The clock that turns cycles into seconds, GHz. */
  readonly ghz: number;
  /** Where the prices come from, for people. */
  readonly source: string;
}

/**
 * The default prices:
 * - EENTER and EEXIT 4,300 cycles each: a warm ECALL through Intel's SDK (EENTER to EEXIT and
 *   back) is about 8,600 cycles on Skylake (Weisse, Bertacco, Austin, "Regaining Lost Cycles with
 *   HotCalls", ISCA 2017: 8,200–17,000 cycles per ECALL/OCALL, 8,600 warm), split evenly (no
 *   published split). An OCALL is an EEXIT and an EENTER too.
 * - ERESUME and an AEX (interrupt or exception) at EENTER's and EEXIT's price: the same mode switch
 *   (a choice; no published figure).
 * - EWB 20,000 and ELDU/ELDB 20,000: an EPC page swap (the fault, EWB and ELDU) is about 40,000
 *   cycles (Taassori et al., VAULT, ASPLOS 2018), split evenly.
 * - EEXTEND 5,200: 25–42 µs per 4 KiB page (16 EEXTENDs) with the 2016 Linux driver on Skylake
 *   (linux-sgx pull request 23), 2.1 µs each at the midpoint, at 2.5 GHz.
 * - The clock: 2.5 GHz.
 */
export const DEFAULT_COST_MODEL: CostModel = Object.freeze({
  cycles: Object.freeze({ EENTER: 4300, EEXIT: 4300, ERESUME: 4300, AEX_INTERRUPT: 4300, AEX_EXCEPTION: 4300, EWB: 20000, ELDU: 20000, ELDB: 20000, EEXTEND: 5200 }),
  ghz: 2.5,
  source: 'HotCalls (ISCA 2017) for transitions, VAULT (ASPLOS 2018) for paging, linux-sgx PR 23 for EEXTEND; the rest unpriced',
});

export interface CostEstimate {
  readonly cycles: number;
  readonly seconds: number;
  /** The priced events that happened: count, cycles each, cycles in all. */
  readonly byEvent: Readonly<Partial<Record<SgxEvent, { readonly count: number; readonly each: number; readonly cycles: number }>>>;
  /** Events that happened but have no price in the model, with their counts. */
  readonly unpriced: Readonly<Partial<Record<SgxEvent, number>>>;
}

/** Every event the processor counts. */
export const SGX_EVENTS: readonly SgxEvent[] = [...ENCLS_EVENTS, ...ENCLU_EVENTS, 'AEX_INTERRUPT', 'AEX_EXCEPTION'];
const KNOWN = new Set<string>(SGX_EVENTS);

/**
 * The counts from `since` to `now` (two snapshots of `ProcessorInspector.counters`, the earlier second).
 * @throws {RangeError} for a snapshot that lacks an event or counts less than the earlier one.
 */
export function countersSince(now: SgxCounters, since: SgxCounters): SgxCounters {
  const out = {} as Record<SgxEvent, number>;
  for (const k of SGX_EVENTS) {
    const a = now[k], b = since[k];
    if (typeof a !== 'number' || typeof b !== 'number' || !(a >= b)) throw new RangeError(`countersSince(now, since): ${k} is ${String(a)} now and ${String(b)} before (the later snapshot first)`);
    out[k] = a - b;
  }
  return out;
}

/**
 * Price `counts` with `model` (default DEFAULT_COST_MODEL).
 * @throws {RangeError} for a model whose clock is not a positive number, or that prices an event the
 * processor does not count or at anything but a non-negative number of cycles; for a count that is
 * not a non-negative integer or of an event the processor does not count.
 */
export function estimateCost(counts: SgxCounters, model: CostModel = DEFAULT_COST_MODEL): CostEstimate {
  if (!(Number.isFinite(model.ghz) && model.ghz > 0)) throw new RangeError(`a cost model's clock must be a positive number of GHz, got ${String(model.ghz)}`);
  for (const [k, v] of Object.entries(model.cycles)) {
    if (!KNOWN.has(k)) throw new RangeError(`a cost model prices ${k}, which is no event the processor counts (${SGX_EVENTS.join(', ')})`);
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`a cost model's price for ${k} must be a non-negative number of cycles, got ${String(v)}`);
  }
  const byEvent: Partial<Record<SgxEvent, { count: number; each: number; cycles: number }>> = {};
  const unpriced: Partial<Record<SgxEvent, number>> = {};
  let cycles = 0;
  for (const k of Object.keys(counts) as SgxEvent[]) {
    const n = counts[k];
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`a count must be a non-negative integer: ${k} is ${String(n)}`);
    if (!KNOWN.has(k)) throw new RangeError(`${k} is no event the processor counts`);
    if (n === 0) continue;
    const each = model.cycles[k];
    if (each === undefined) {
      unpriced[k] = n;
      continue;
    }
    byEvent[k] = { count: n, each, cycles: n * each };
    cycles += n * each;
  }
  return { cycles, seconds: cycles / (model.ghz * 1e9), byEvent, unpriced };
}
