/** `--stats`: the SGX events of a piece of work, and what the default cost model prices them at. */
import { DEFAULT_COST_MODEL } from '../arch/index.js';
import type { CostReport } from '../platform/call.js';

export { costReport, type CostReport } from '../platform/call.js';

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
