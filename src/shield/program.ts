/**
 * A WASI program as an enclave module. Toolchains (clang with wasi-libc, Rust's wasm32-wasip1)
 * give a command module that defines its own memory and exports `_start`; an enclave's module
 * imports its memory, which the trusted runtime backs with the enclave's heap pages. So the
 * program's single defined memory becomes the import `env.memory` with the same limits (the
 * memory keeps index 0: imports come first in the index space and the module imported none, so
 * no instruction, data segment or export changes), and the shield's section
 * (`witness.extension`: the shield's identity and the manifest) is appended. Nothing else in the
 * module is touched: its code is the program's code, byte for byte, and is measured as such.
 */
import { ShieldError } from './errors.js';
import { SdkError } from '../sdk/errors.js';
import { WasmReader, readWasmModule, wasmSections, uleb as leb } from '../sdk/wasm.js';
import { EXTENSION_SECTION } from '../sdk/enclave/extension.js';
import { concatBytes } from '../lib/bytes.js';

function fail(why: string): never {
  throw new ShieldError('PROGRAM_INVALID', `the program cannot be shielded: ${why}`);
}

/** A reader at `o`. */
function reader(b: Uint8Array, o: number): WasmReader {
  const r = new WasmReader(b);
  r.o = o;
  return r;
}

/**
 * The program with its memory imported as env.memory and the shield's section appended.
 * @throws {ShieldError} `PROGRAM_INVALID` for a module that is not WebAssembly 1.0, defines no
 * memory or more than one, imports one, has a shared or 64-bit memory, or already has a
 * `witness.extension` section.
 */
export function shieldModule(program: Uint8Array, payload: Uint8Array): Uint8Array {
  try {
    return transform(program, payload);
  } catch (e) {
    if (e instanceof SdkError && e.code === 'WASM_INVALID') throw new ShieldError('PROGRAM_INVALID', `the program cannot be shielded: ${e.message}`, {}, { cause: e });
    throw e;
  }
}

function transform(program: Uint8Array, payload: Uint8Array): Uint8Array {
  if (!(program instanceof Uint8Array)) fail('the program must be bytes');
  if (!(payload instanceof Uint8Array)) fail('the section payload must be bytes');
  if (!WebAssembly.validate(program)) fail('not valid WebAssembly');
  // What the module holds, read as the SDK reads any enclave module; the sections' bounds for the rewrite.
  const info = readWasmModule(program);
  if (info.customSections.some((c) => c.name === EXTENSION_SECTION)) fail(`it already has a ${EXTENSION_SECTION} section`);
  for (const i of info.imports) {
    if (i.kind === 'memory') fail(`it imports its memory (${i.module}.${i.name}); a WASI command defines it`);
    if (i.kind === 'tag') fail(`it imports ${i.module}.${i.name} of kind tag`);
  }
  if (info.definedMemories === 0) fail('it defines no memory');
  if (info.definedMemories > 1) fail('it defines more than one memory');
  const secs = wasmSections(program);
  const memory = secs.find((s) => s.id === 5)!;
  const imports = secs.find((s) => s.id === 2) ?? null;
  const r = reader(program, memory.payload);
  r.u32(); // one memory
  const flags = r.byte();
  if (flags & 2) fail('its memory is shared (threads are not supported)');
  if (flags & ~1) fail('its memory is not a 32-bit memory');
  const min = r.u32();
  const max = flags & 1 ? r.u32() : null;
  // The import entry: "env" "memory", kind 2, the same limits.
  const entry = [...leb(3), 0x65, 0x6e, 0x76, ...leb(6), 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, max === null ? 0 : 1, ...leb(min), ...(max === null ? [] : leb(max))];
  let importSection: number[];
  if (imports !== null) {
    const ir = reader(program, imports.payload);
    const n = ir.u32();
    const rest = program.subarray(ir.o, imports.end);
    const body = [...leb(n + 1), ...rest, ...entry];
    importSection = [2, ...leb(body.length), ...body];
  } else {
    const body = [...leb(1), ...entry];
    importSection = [2, ...leb(body.length), ...body];
  }
  const nameBytes = new TextEncoder().encode(EXTENSION_SECTION);
  const customBody = [...leb(nameBytes.length), ...nameBytes];
  const customHeader = [0, ...leb(customBody.length + payload.length), ...customBody];
  // Reassemble: every section as it was, the import section replaced (or inserted after the type
  // section, where the binary format's order puts it), the memory section dropped.
  const parts: Uint8Array[] = [program.subarray(0, 8)];
  const typeSection = secs.find((s) => s.id === 1) ?? null;
  if (imports === null && typeSection === null) parts.push(Uint8Array.from(importSection));
  for (const s of secs) {
    if (s === memory) continue;
    if (s === imports) {
      parts.push(Uint8Array.from(importSection));
      continue;
    }
    parts.push(program.subarray(s.start, s.end));
    if (imports === null && s === typeSection) parts.push(Uint8Array.from(importSection));
  }
  parts.push(Uint8Array.from(customHeader), payload);
  const out = concatBytes(...parts);
  if (!WebAssembly.validate(out)) fail('the transformed module does not validate (a bug: please report it)');
  return out;
}
