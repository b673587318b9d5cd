/**
 * What a module may import and must export: checked when an image is built and again inside the
 * enclave before the module is instantiated (a module that imports anything its interface does not
 * declare is refused).
 */
import { readWasmModule, sameSignature, signatureText, MEMORY_GROW_EXPORT, START_EXPORT, type WasmModuleInfo } from '../wasm.js';
import { ecallSignature, ocallSignature } from '../interface.js';
import type { InterfacePlan } from '../abi.js';
import { RUNTIME_IMPORTS } from './services.js';
import type { RuntimeExtensionDescriptor } from './extension.js';

/** The extension a module asked for (its `witness.extension` section), as the checks see it. */
export interface ModuleExtension {
  readonly descriptor: RuntimeExtensionDescriptor;
  readonly config: Uint8Array;
}

const AS_ABORT = { params: ['i32', 'i32', 'i32', 'i32'] as const, results: [] as const };

/** Problems with a module for this interface and heap size (empty = acceptable). */
export function checkModuleImports(code: Uint8Array, plan: InterfacePlan, heapSize: number, ext: ModuleExtension | null = null): string[] {
  return checkModuleInfo(readWasmModule(code), plan, heapSize, ext);
}

/** checkModuleImports for a module already read (readWasmModule); `heapMax`: the most the heap may grow to (default: it never grows). */
export function checkModuleInfo(info: WasmModuleInfo, plan: InterfacePlan, heapSize: number, ext: ModuleExtension | null = null, heapMax = heapSize): string[] {
  const extImports = ext?.descriptor.imports ?? {};
  const extEcalls = new Set(ext?.descriptor.ecalls ?? []);
  const problems: string[] = [];
  const heapPages = heapSize / 65536;
  let memory = false;
  const ocalls = new Map(plan.ocalls.map((f) => [f.name, f]));
  for (const i of info.imports) {
    const what = `${i.module}.${i.name}`;
    if (i.module === 'env' && i.name === 'memory' && i.kind === 'memory') {
      memory = true;
      if (i.shared) problems.push('the memory import is shared (threads are not supported)');
      if (i.min > heapPages) problems.push(`the module needs ${i.min} memory pages but the enclave heap has ${heapPages} (raise heapSize)`);
      if (i.max !== null && i.max < heapPages) problems.push(`the module allows at most ${i.max} memory pages but the enclave heap has ${heapPages} (lower heapSize)`);
      else if (i.max !== null && i.max < heapMax / 65536) problems.push(`the module allows at most ${i.max} memory pages but the enclave heap may grow to ${heapMax / 65536} (raise the module's maximum memory or lower heapMaxSize)`);
    } else if (i.module === 'env' && i.name === 'abort' && i.kind === 'function') {
      if (!sameSignature(i.type, AS_ABORT)) problems.push(`env.abort has signature ${signatureText(i.type)}, expected ${signatureText(AS_ABORT)}`);
    } else if (i.module === 'ocall' && i.kind === 'function') {
      const f = ocalls.get(i.name);
      if (!f) problems.push(`imports ${what}, which its interface does not declare as an OCALL`);
      else if (!sameSignature(i.type, ocallSignature(f))) problems.push(`${what} has signature ${signatureText(i.type)}, the interface needs ${signatureText(ocallSignature(f))}`);
    } else if (Object.hasOwn(extImports, i.module)) {
      const t = Object.hasOwn(extImports[i.module]!, i.name) ? extImports[i.module]![i.name]! : null;
      if (i.kind !== 'function' || t === null) problems.push(`imports ${what} (${i.kind}), which extension ${ext!.descriptor.id} does not offer`);
      else if (!sameSignature(i.type, t)) problems.push(`${what} has signature ${signatureText(i.type)}, extension ${ext!.descriptor.id} offers ${signatureText(t)}`);
    } else if (i.module === 'witness' && i.kind === 'function' && RUNTIME_IMPORTS[i.name]) {
      if (!sameSignature(i.type, RUNTIME_IMPORTS[i.name]!)) problems.push(`${what} has signature ${signatureText(i.type)}, expected ${signatureText(RUNTIME_IMPORTS[i.name]!)}`);
    } else problems.push(`imports ${what} (${i.kind}), which its interface does not declare`);
  }
  if (!memory) problems.push('the module does not import its memory as env.memory (link with --import-memory)');
  if (info.unsafeCode !== null) problems.push(`the module's code cannot run in an enclave: ${info.unsafeCode}`);
  if (info.definedMemories > 0) problems.push('the module defines its own memory; enclave memory must be imported (env.memory)');
  const exports = new Map(info.exports.map((e) => [e.name, e]));
  for (const name of [MEMORY_GROW_EXPORT, START_EXPORT]) if (exports.has(name)) problems.push(`the module exports ${name}, a name the runtime reserves`);
  for (const f of plan.ecalls) {
    if (extEcalls.has(f.name)) continue; // the extension's own
    const e = exports.get(f.name);
    if (!e || e.kind !== 'function' || !e.type) problems.push(`the module does not export ECALL ${f.name}`);
    else if (!sameSignature(e.type, ecallSignature(f))) problems.push(`ECALL ${f.name} has signature ${signatureText(e.type)}, the interface needs ${signatureText(ecallSignature(f))}`);
  }
  const needsAlloc = plan.ecalls.some((f) => f.params.some((p) => p.kind === 'buffer'));
  const alloc = exports.get('witness_alloc'), free = exports.get('witness_free');
  if (needsAlloc && (!alloc || alloc.kind !== 'function' || !free || free.kind !== 'function')) problems.push('ECALLs with [in]/[out] buffers need the module to export witness_alloc and witness_free');
  if (alloc?.type && !sameSignature(alloc.type, { params: ['i32'], results: ['i32'] })) problems.push('witness_alloc must be (i32) -> (i32)');
  if (free?.type && !sameSignature(free.type, { params: ['i32'], results: [] })) problems.push('witness_free must be (i32) -> ()');
  if (ext !== null) {
    for (const name of extEcalls) if (!plan.ecalls.some((f) => f.name === name)) problems.push(`extension ${ext.descriptor.id} implements ECALL ${name}, which the interface does not declare`);
    problems.push(...ext.descriptor.check(info, plan, ext.config));
  }
  return problems;
}
