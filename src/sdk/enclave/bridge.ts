/**
 * ECALL bridges compiled from the interface, once per interface the trusted runtime loads: what
 * edger8r writes as C at build time (each ECALL's `sgx_<name>` bridge in Enclave_t.c), the runtime
 * writes here as a JavaScript function at load, from the measured interface's plan. A compiled
 * bridge does what the runtime's interpreted bridge does for every ECALL with parameters, in the
 * same order, with the same checks and the same helpers (see `TrustedRuntime.#interpret`), but
 * with its loops over the parameters unrolled, its per-parameter decisions taken at compile time,
 * and its arguments in locals instead of arrays (the interpretation cost a fifth of an ECALL with
 * two 64-byte buffers: BENCHMARKS.md, ninth session).
 *
 * The generated source contains no text from the interface (see bridgegen.ts). Where it cannot be
 * compiled (code generation from strings refused), `compileEcallBridge` returns null and the
 * runtime interprets the plan.
 */
import type { EnclaveContext } from '../../arch/index.js';
import { lit, idx, lengthSource, compileFactory } from '../bridgegen.js';
import type { FunctionPlan, ParamPlan } from '../abi.js';

/** An ECALL's working state at its nesting depth, shared by the runtime and its bridges. */
export interface BridgeWork {
  /** The runtime's copy of the ECALL's marshalling structure (read once, before the bridge runs). */
  readonly ms: Uint8Array;
  /** Blocks this call allocated on the enclave heap (the first `on`), freed by the runtime in reverse order. */
  readonly owned: number[];
  on: number;
}

/** A compiled bridge: the part of an ECALL with parameters after its ms is read, up to its frees. */
export type CompiledBridge<S> = (ctx: EnclaveContext, st: S, msAddr: number, work: BridgeWork) => void;

/**
 * What a bridge calls: the runtime's own helpers (the same ones its interpreted bridge calls), so
 * a check is written once. `S` is the runtime's per-enclave state.
 */
export interface BridgeHelpers<S> {
  slotValue(p: ParamPlan | BridgeHelpers<S>['USER_CHECK'], ms: Uint8Array, i: number): number | bigint;
  slotNumber(ms: Uint8Array, i: number): number;
  readonly USER_CHECK: { readonly wasm: string; readonly width: number; readonly float: boolean; readonly signed: boolean };
  lengthValue(v: number | bigint | undefined): number;
  saneLength(n: number): number;
  productLength(count: number, size: number): number;
  isOutsideEnclave(base: number, end: number, addr: number, len: number): boolean;
  wholeElements(f: FunctionPlan, p: ParamPlan, len: number): void;
  hostStringLength(ctx: EnclaveContext, addr: number, kind: 'string' | 'wstring'): number;
  tryAlloc(st: S, len: number, fname: string): number;
  alloc(st: S, len: number, fname: string): number;
  moduleCopy(ctx: EnclaveContext, st: S, host: number, ptr: number, len: number, toModule: boolean): void;
  zeroModule(st: S, ptr: number, len: number): void;
  /** Whether the string copied to [ptr, ptr+len) keeps the length its scan found, once terminated (edger8r's check). */
  stringKept(st: S, ptr: number, len: number, p: ParamPlan): boolean;
  /** A structure's deep members (p.deep) copied in after the structure; the record the two below read. */
  deepCopyIn(ctx: EnclaveContext, st: S, work: BridgeWork, f: FunctionPlan, p: ParamPlan, ptr: number, len: number): number[];
  /** An [in, out] structure's deep members checked after the call, before anything is copied back. */
  deepCheckOut(ctx: EnclaveContext, st: S, f: FunctionPlan, p: ParamPlan, rec: number[]): void;
  /** An [in, out] structure and its deep members copied back (the host's pointers restored). */
  deepWriteOut(ctx: EnclaveContext, st: S, host: number, ptr: number, len: number, rec: number[]): void;
  exportOf(st: S, index: number): (...a: unknown[]) => unknown;
  writeReturn(ctx: EnclaveContext, f: FunctionPlan, msAddr: number, result: unknown): void;
  /** The errors a bridge throws, built out of line (each ends the ECALL with its status). */
  badAddress(f: FunctionPlan, p: ParamPlan): Error;
  insaneLength(f: FunctionPlan, p: ParamPlan): Error;
  notOutsideBuffer(f: FunctionPlan, p: ParamPlan): Error;
  stringChanged(f: FunctionPlan, p: ParamPlan): Error;
}

/**
 * The source of ECALL `f`'s bridge: the body of a factory `(H, F) => bridge`, where H is the
 * runtime's BridgeHelpers and F the ECALL's plan. Exported for the tests (which read what is
 * generated) and for the runtime's cache (bridges are compiled once per distinct source).
 */
export function ecallBridgeSource(f: FunctionPlan): string {
  const n = f.params.length;
  const ps = f.params;
  const out: string[] = [];
  const helperNames = ['slotValue', 'slotNumber', 'USER_CHECK', 'lengthValue', 'saneLength', 'productLength', 'isOutsideEnclave', 'wholeElements', 'hostStringLength', 'tryAlloc', 'alloc', 'moduleCopy', 'zeroModule', 'stringKept', 'exportOf', 'writeReturn', 'badAddress', 'insaneLength', 'notOutsideBuffer', 'stringChanged'];
  // The deep-copy helpers only where a structure asks for a deep copy (the other bridges are as they were).
  if (ps.some((p) => p.deep !== null)) helperNames.push('deepCopyIn'); // (deep is set on buffers only)
  if (ps.some((p) => p.deep !== null && p.direction === 'inout')) helperNames.push('deepCheckOut', 'deepWriteOut');
  out.push('"use strict";');
  out.push(`const { ${helperNames.join(', ')} } = H;`);
  for (let i = 0; i < n; i++) out.push(`const P${i} = F.params[${i}];`);
  const args = ps.map((_, i) => `a${i}`).join(', ');
  out.push('return function ecallBridge(ctx, st, msAddr, work) {');
  out.push('  const ms = work.ms;');
  // Values first, as the interpreter decodes them (lengths refer to them); buffers start as NULL.
  for (let i = 0; i < n; i++) out.push(ps[i]!.kind === 'value' ? `  let a${i} = slotValue(P${i}, ms, ${i});` : `  let a${i} = 0;`);
  const buffers = ps.map((p, i) => ({ p, i })).filter(({ p }) => p.kind === 'buffer');
  const deepOut = buffers.filter(({ p }) => p.deep !== null && p.direction === 'inout'); // [in, out] deep copies
  if (buffers.length > 0) {
    out.push('  const base = ctx.baseAddr, end = base + ctx.size;');
    out.push(`  let total = 0, ${buffers.map(({ i }) => `h${i} = 0, l${i} = 0, q${i} = 0`).join(', ')};`);
    if (deepOut.length > 0) out.push(`  let ${deepOut.map(({ i }) => `d${i} = null`).join(', ')};`);
  }
  // Every buffer checked and sized in declaration order, before anything is allocated.
  for (let i = 0; i < n; i++) {
    const p = ps[i]!;
    if (p.kind === 'value') continue;
    if (p.kind === 'user_check') {
      out.push(`  a${i} = slotValue(USER_CHECK, ms, ${i});`);
      continue;
    }
    out.push(`  h${i} = slotNumber(ms, ${i});`);
    out.push(`  if (h${i} < 0) throw badAddress(F, P${i});`);
    out.push(`  if (h${i} !== 0) {`);
    out.push(`    l${i} = ${p.string ? `hostStringLength(ctx, h${i}, P${i}.string)` : lengthSource(p, String(i), (k) => `a${idx(k, n)}`)};`);
    out.push(`    if (l${i} < 0) throw insaneLength(F, P${i});`);
    out.push(`    if (!isOutsideEnclave(base, end, h${i}, l${i})) throw notOutsideBuffer(F, P${i});`);
    // An empty buffer reaches the body as NULL (edger8r copies only `if (_tmp != NULL && _len != 0)`).
    out.push(`    if (l${i} !== 0) {`);
    if (p.pointeeSize > 1) out.push(`      wholeElements(F, P${i}, l${i});`); // (any length is whole 1-byte elements)
    out.push(`      q${i} = total;`);
    out.push(`      total += Math.ceil(Math.max(l${i}, 1) / 16) * 16;`);
    out.push('    }');
    out.push('  }');
  }
  if (buffers.length > 0) {
    // One block for all of them, or, when the heap has no hole that large, one each (allocated, then recorded).
    out.push('  const block = total !== 0 ? tryAlloc(st, total, F.name) : 0;');
    out.push('  const owned = work.owned;');
    out.push('  if (block !== 0) {');
    for (const { i } of buffers) out.push(`    if (l${i} !== 0) q${i} += block;`);
    out.push('    owned[0] = block;');
    out.push('    work.on = 1;');
    out.push('  } else {');
    for (const { i } of buffers) {
      out.push(`    if (l${i} !== 0) {`);
      out.push(`      q${i} = alloc(st, l${i}, F.name);`);
      out.push(`      owned[work.on] = q${i};`);
      out.push('      work.on++;');
      out.push('    }');
    }
    out.push('  }');
    for (const { p, i } of buffers) {
      out.push(`  if (l${i} !== 0) {`);
      if (p.direction === 'in' || p.direction === 'inout') {
        out.push(`    moduleCopy(ctx, st, h${i}, q${i}, l${i}, true);`);
        if (p.string) out.push(`    if (!stringKept(st, q${i}, l${i}, P${i})) throw stringChanged(F, P${i});`);
      } else out.push(`    zeroModule(st, q${i}, l${i});`);
      out.push(`    a${i} = q${i};`);
      // Deep copy (only where the plan asks for it: nothing is generated for other parameters).
      if (p.deep !== null) out.push(`    ${p.direction === 'inout' ? `d${i} = ` : ''}deepCopyIn(ctx, st, work, F, P${i}, q${i}, l${i});`);
      out.push('  }');
    }
  }
  out.push(`  const result = exportOf(st, ${lit(f.index)})(${args});`);
  for (const { i } of deepOut) out.push(`  if (d${i} !== null) deepCheckOut(ctx, st, F, P${i}, d${i});`);
  for (const { p, i } of buffers) {
    if (p.deep !== null && p.direction === 'inout') out.push(`  if (d${i} !== null) deepWriteOut(ctx, st, h${i}, q${i}, l${i}, d${i});`);
    else if (p.direction === 'out' || p.direction === 'inout') out.push(`  if (l${i} !== 0) moduleCopy(ctx, st, h${i}, q${i}, l${i}, false);`);
  }
  if (f.returns) out.push('  if (F.returns) writeReturn(ctx, F, msAddr, result);');
  out.push('};');
  return out.join('\n');
}

/** ECALL `f`'s bridge, or null where it cannot be compiled (code generation refused: the runtime then interprets the plan). */
export function compileEcallBridge<S>(f: FunctionPlan, helpers: BridgeHelpers<S>): CompiledBridge<S> | null {
  return compileFactory<BridgeHelpers<S>, FunctionPlan, CompiledBridge<S>>(ecallBridgeSource(f), helpers, f);
}
