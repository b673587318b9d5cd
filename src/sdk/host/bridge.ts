/**
 * The host's marshalling of an ECALL's arguments, compiled from the interface when an enclave is
 * loaded (the untrusted half of what edger8r writes at build time: the `ecall_<name>` proxy in
 * Enclave_u.c, which fills the ms). A compiled marshaller does what `HostEnclave.#marshalIn`
 * does, in the same order, with the same checks and helpers, with its loop over the parameters
 * unrolled and the values in locals. The generated source contains no text from the interface
 * (see bridgegen.ts); where code generation is refused the host interprets the plan.
 */
import { lit, idx, lengthSource, compileFactory } from '../bridgegen.js';
import type { FunctionPlan, ParamPlan } from '../abi.js';
import type { ValueType } from '../marshal.js';

/** Where an ECALL's [out]/[inout] buffers are recorded (the host's call frame). */
export interface OutRecord {
  readonly outTargets: Uint8Array[];
  readonly outAddrs: number[];
  readonly outLens: number[];
  outCount: number;
}

/** Untrusted memory as the host writes it. */
export interface HostMemory {
  write(address: number, bytes: Uint8Array): void;
}

/** A compiled marshaller: writes ECALL arguments `args` into the arena and the ms at `ms`. */
export type CompiledMarshal = (args: readonly unknown[], ms: number, frame: OutRecord) => void;

/** What a compiled marshaller calls: the host's own helpers (the ones its interpreter calls), bound to one enclave. */
export interface MarshalHelpers {
  valueProblem(t: ValueType, v: unknown): string | null;
  writeSlot(ms: Uint8Array, i: number, p: ValueType, v: unknown): void;
  writeSlotAddress(ms: Uint8Array, i: number, a: number): void;
  slotValue(p: ValueType, ms: Uint8Array, i: number): number | bigint;
  readonly USER_CHECK: ValueType;
  lengthValue(v: number | bigint | undefined): number;
  saneLength(n: number): number;
  productLength(count: number, size: number): number;
  isUserCheckAddress(a: unknown): boolean;
  bufferBytes(f: FunctionPlan, p: ParamPlan, a: unknown): Uint8Array;
  /** The enclave's reused ms buffer for `f`, its untrusted memory, its arena. */
  slots(f: FunctionPlan): Uint8Array;
  memory(): HostMemory;
  take(len: number): number;
  badValue(f: FunctionPlan, p: ParamPlan, a: unknown, problem: string): Error;
  badUserCheck(f: FunctionPlan, p: ParamPlan, a: unknown): Error;
  badLength(f: FunctionPlan, p: ParamPlan): Error;
  tooShort(f: FunctionPlan, p: ParamPlan, len: number, got: number): Error;
}

/** The source of ECALL `f`'s marshaller: the body of a factory `(H, F) => marshal`. Exported for the tests. */
export function marshalSource(f: FunctionPlan): string {
  const n = f.params.length;
  const ps = f.params;
  const names = ['valueProblem', 'writeSlot', 'writeSlotAddress', 'slotValue', 'USER_CHECK', 'lengthValue', 'saneLength', 'productLength', 'isUserCheckAddress', 'bufferBytes', 'slots', 'memory', 'take', 'badValue', 'badUserCheck', 'badLength', 'tooShort'];
  // A value another parameter's length refers to is kept as the enclave will see it; the
  // interpreter's vals[k] of a parameter that is no value is undefined.
  const referenced = new Set<number>();
  for (const p of ps) {
    if (p.sizeParam !== null) referenced.add(p.sizeParam);
    if (p.count !== null && 'param' in p.count) referenced.add(p.count.param);
  }
  const ref = (k: number): string => {
    const v = `v${idx(k, n)}`; // (checked before the plan is read at k)
    return ps[k]!.kind === 'value' ? v : 'undefined';
  };
  const out: string[] = ['"use strict";', `const { ${names.join(', ')} } = H;`];
  for (let i = 0; i < n; i++) out.push(`const P${i} = F.params[${i}];`);
  out.push('return function marshalIn(args, ms, frame) {');
  out.push('  const slot = slots(F);');
  for (let k = 8 * n; k < 8 * n + 8; k++) out.push(`  slot[${lit(k)}] = 0;`); // the return slot (every parameter slot is written below)
  for (let i = 0; i < n; i++) {
    if (ps[i]!.kind !== 'value') continue;
    out.push(`  const x${i} = args[${i}];`);
    out.push(`  const problem${i} = valueProblem(P${i}, x${i});`);
    out.push(`  if (problem${i} !== null) throw badValue(F, P${i}, x${i}, problem${i});`);
    out.push(`  writeSlot(slot, ${i}, P${i}, x${i});`);
    // Lengths are computed from the value as the enclave will see it (narrowed to its C type).
    if (referenced.has(i)) out.push(`  const v${i} = slotValue(P${i}, slot, ${i});`);
  }
  out.push('  const mem = memory();');
  for (let i = 0; i < n; i++) {
    const p = ps[i]!;
    if (p.kind === 'value') continue;
    out.push(`  const x${i} = args[${i}];`);
    out.push(`  if (x${i} === null || x${i} === undefined) writeSlotAddress(slot, ${i}, 0);`);
    if (p.kind === 'user_check') {
      out.push(`  else if (isUserCheckAddress(x${i})) writeSlot(slot, ${i}, USER_CHECK, x${i});`);
      out.push(`  else throw badUserCheck(F, P${i}, x${i});`);
      continue;
    }
    out.push('  else {');
    out.push(`    const bytes = bufferBytes(F, P${i}, x${i});`);
    out.push(`    const len = ${p.string ? 'bytes.length' : lengthSource(p, String(i), ref)};`);
    out.push(`    if (len < 0) throw badLength(F, P${i});`);
    if (!p.string) out.push(`    if (bytes.length < len) throw tooShort(F, P${i}, len, bytes.length);`);
    out.push('    const addr = take(len);');
    // An [out] buffer is not written: the enclave reads nothing from it (it zeroes its own copy).
    if (p.direction !== 'out') out.push('    mem.write(addr, bytes.length === len ? bytes : bytes.subarray(0, len));');
    if (p.direction === 'out' || p.direction === 'inout') {
      out.push(`    if (x${i} instanceof Uint8Array) {`);
      out.push('      const k = frame.outCount++;');
      out.push(`      frame.outTargets[k] = x${i};`);
      out.push('      frame.outAddrs[k] = addr;');
      out.push('      frame.outLens[k] = len;');
      out.push('    }');
    }
    out.push(`    writeSlotAddress(slot, ${i}, addr);`);
    out.push('  }');
  }
  out.push('  mem.write(ms, slot);');
  out.push('};');
  return out.join('\n');
}

/** ECALL `f`'s marshaller bound to one enclave's helpers, or null where code generation is refused. */
export function compileMarshal(f: FunctionPlan, helpers: MarshalHelpers): CompiledMarshal | null {
  return compileFactory<MarshalHelpers, FunctionPlan, CompiledMarshal>(marshalSource(f), helpers, f);
}
