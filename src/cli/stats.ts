/** `--stats`: the SGX events of a piece of work, and what the default cost model prices them at. */
import { DEFAULT_COST_MODEL, estimateCost, countersSince, type SgxCounters } from '../arch/index.js';

export interface CostReport {
  /** The events that happened, with their counts. */
  readonly counts: Record<string, number>;
  readonly cycles: number;
  readonly seconds: number;
  readonly unpriced: Record<string, number>;
}

/** The events between two counter snapshots (the later first) and their price. */
export function costReport(now: SgxCounters, since: SgxCounters): CostReport {
  const counts = countersSince(now, since);
  const e = estimateCost(counts);
  return { counts: Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0)), cycles: e.cycles, seconds: e.seconds, unpriced: e.unpriced };
}

/** Two lines for people: `what: EVENT n, …` and the estimate. */
export function costLines(what: string, r: CostReport): string[] {
  const unpriced = Object.keys(r.unpriced);
  return [
    `${what}: ${Object.entries(r.counts).map(([k, n]) => `${k} ${n}`).join(', ') || 'no SGX events'}`,
    `  on SGX hardware ≈ ${r.cycles.toLocaleString('en-US')} cycles (${(r.seconds * 1e6).toFixed(1)} µs at ${DEFAULT_COST_MODEL.ghz} GHz)${unpriced.length ? `; unpriced: ${unpriced.join(', ')}` : ''}`,
  ];
}

/** Where the prices come from. */
export const COST_SOURCE = DEFAULT_COST_MODEL.source;
