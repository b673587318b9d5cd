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
import { WasmReader, readWasmModule, wasmSections, uleb, nameBytes, sectionBytes, vectorSection, rewriteSections } from '../sdk/wasm.js';
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
  const r = reader(program, memory.payload);
  r.u32(); // one memory
  const flags = r.byte();
  if (flags & 2) fail('its memory is shared (threads are not supported)');
  if (flags & ~1) fail('its memory is not a 32-bit memory');
  const min = r.u32();
  const max = flags & 1 ? r.u32() : null;
  // The import entry: "env" "memory", kind 2, the same limits; the memory section dropped; the
  // shield's custom section appended.
  const entry = [...nameBytes('env'), ...nameBytes('memory'), 2, max === null ? 0 : 1, ...uleb(min), ...(max === null ? [] : uleb(max))];
  const imports = vectorSection(program, secs.find((s) => s.id === 2), 2, 1, entry);
  const out = concatBytes(rewriteSections(program, secs, new Map([[2, imports], [5, null]])), sectionBytes(0, nameBytes(EXTENSION_SECTION), payload));
  if (!WebAssembly.validate(out)) fail('the transformed module does not validate (a bug: please report it)');
  return out;
}
