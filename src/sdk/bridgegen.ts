/**
 * What both sides' compiled bridges share (the trusted runtime's ECALL bridges in
 * enclave/bridge.ts, the host's marshalling in host/bridge.ts): numbers written into source, a
 * buffer's length expression, and compiling a factory where code generation is allowed.
 *
 * Generated source contains no text from the interface: only indices and lengths the generator
 * computed itself (checked to be safe integers); names, types and attributes are read from the plan
 * objects the generated functions close over.
 */
import { bufferLength } from './marshal.js';
import type { ParamPlan } from './abi.js';
import { SdkError } from './errors.js';

/** A number the generator writes into source: it made it itself, and it must be a safe integer. */
export function lit(n: number): string {
  if (!Number.isSafeInteger(n)) throw new SdkError('BRIDGE_GENERATOR', `bridge generator: ${n} is not a safe integer`);
  return String(n);
}

/** A parameter index the generator writes into a name (`a3`, `P3`): 0 ≤ k < n. */
export function idx(k: number, n: number): string {
  if (!Number.isSafeInteger(k) || k < 0 || k >= n) throw new SdkError('BRIDGE_GENERATOR', `bridge generator: ${k} is not a parameter index below ${n}`);
  return String(k);
}

/**
 * The byte length expression of buffer parameter `i` (not a string): `bufferLength(p, vals)`
 * written out, where `ref(k)` is the source of `vals[k]` (what that side's interpreter passes for
 * parameter k). A constant length is computed now (-1 when it is insane, as bufferLength says).
 * The source uses `saneLength`, `productLength`, `lengthValue` and `P<i>` (the parameter's plan); `i` is from idx().
 */
export function lengthSource(p: ParamPlan, i: string, ref: (k: number) => string): string {
  if (p.sizeParam === null && (p.count === null || 'constant' in p.count)) return lit(bufferLength(p, []));
  const size = p.sizeParam !== null ? `lengthValue(${ref(p.sizeParam)})` : `P${i}.elemSize`;
  if (p.count === null) return `saneLength(${size})`;
  return `productLength(${'constant' in p.count ? `P${i}.count.constant` : `lengthValue(${ref(p.count.param)})`}, ${size})`;
}

/**
 * Compile `source` as the body of a factory `(H, F) => fn` and call it, or return null where it
 * cannot be compiled: code generation from strings refused (EvalError: a Content-Security-Policy
 * without 'unsafe-eval', `node --disallow-code-generation-from-strings`) or a function beyond the
 * engine's limits (SyntaxError: 65,535 parameters or more). The caller then interprets its plan.
 * Factories are cached by source (the most recent FACTORY_CACHE of them), so an interface loaded
 * again compiles nothing.
 */
export function compileFactory<H, F, T>(source: string, helpers: H, plan: F): T | null {
  let factory = factories.get(source) as ((h: H, f: F) => T) | undefined;
  if (factory === undefined) {
    try {
      factory = new Function('H', 'F', source) as (h: H, f: F) => T;
    } catch {
      return null;
    }
    if (factories.size >= FACTORY_CACHE) factories.delete(factories.keys().next().value as string);
    factories.set(source, factory);
  }
  return factory(helpers, plan);
}
const FACTORY_CACHE = 1024;
const factories = new Map<string, unknown>();
