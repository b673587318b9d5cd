/**
 * A small reader for the WebAssembly binary format (Core spec §5): the type, import, function,
 * memory and export sections, enough to check a module against its interface before it is
 * measured (function signatures of imports and exports, the memory import's limits).
 */
import { SdkError } from './errors.js';
import type { WasmType } from './abi.js';

export interface FuncType {
  readonly params: readonly WasmType[];
  readonly results: readonly WasmType[];
}
export type WasmImport =
  | { readonly module: string; readonly name: string; readonly kind: 'function'; readonly type: FuncType }
  | { readonly module: string; readonly name: string; readonly kind: 'memory'; readonly min: number; readonly max: number | null; readonly shared: boolean }
  | { readonly module: string; readonly name: string; readonly kind: 'table' | 'global' | 'tag' };
export interface WasmExport {
  readonly name: string;
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** For functions: the signature. */
  readonly type: FuncType | null;
}
export interface WasmModuleInfo {
  readonly imports: readonly WasmImport[];
  readonly exports: readonly WasmExport[];
  /** Memories the module defines itself (not imported). */
  readonly definedMemories: number;
}

const VALTYPES: Readonly<Record<number, WasmType | undefined>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };
const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

class Reader {
  o = 0;
  constructor(readonly b: Uint8Array) {}
  fail(why: string): never {
    throw new SdkError('WASM_INVALID', `not a valid WebAssembly module: ${why} (at byte ${this.o})`);
  }
  byte(): number {
    if (this.o >= this.b.length) this.fail('unexpected end');
    return this.b[this.o++]!;
  }
  u32(): number {
    let r = 0, shift = 0;
    for (;;) {
      const x = this.byte();
      r += (x & 0x7f) * 2 ** shift;
      if (!(x & 0x80)) break;
      shift += 7;
      if (shift > 35) this.fail('LEB128 too long');
    }
    return r;
  }
  name(): string {
    const n = this.u32();
    if (this.o + n > this.b.length) this.fail('name past the end');
    const s = new TextDecoder('utf-8', { fatal: true }).decode(this.b.subarray(this.o, this.o + n));
    this.o += n;
    return s;
  }
  valtype(): WasmType {
    const t = VALTYPES[this.byte()];
    if (!t) this.fail('a value type other than i32/i64/f32/f64 in a signature');
    return t;
  }
  limits(): { min: number; max: number | null; shared: boolean } {
    const flag = this.byte();
    const min = this.u32();
    const max = flag & 1 ? this.u32() : null;
    return { min, max, shared: (flag & 2) !== 0 };
  }
}

export function readWasmModule(bytes: Uint8Array): WasmModuleInfo {
  const r = new Reader(bytes);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) r.fail('bad magic');
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) r.fail('unsupported version');
  r.o = 8;
  const types: FuncType[] = [];
  const imports: WasmImport[] = [];
  const funcTypes: number[] = []; // type index per function index (imports first)
  const exports: { name: string; kind: WasmExport['kind']; index: number }[] = [];
  let definedMemories = 0;
  while (r.o < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.o + size;
    if (end > bytes.length) r.fail('section past the end');
    switch (id) {
      case 1: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          if (r.byte() !== 0x60) r.fail('a type that is not a function type');
          const pc = r.u32();
          const params: WasmType[] = [];
          for (let k = 0; k < pc; k++) params.push(r.valtype());
          const rc = r.u32();
          const results: WasmType[] = [];
          for (let k = 0; k < rc; k++) results.push(r.valtype());
          types.push({ params, results });
        }
        break;
      }
      case 2: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.byte();
          if (kind === 0) {
            const ti = r.u32();
            const type = types[ti] ?? r.fail(`import ${module}.${name} uses an unknown type`);
            funcTypes.push(ti);
            imports.push({ module, name, kind: 'function', type });
          } else if (kind === 1) {
            r.byte();
            r.limits();
            imports.push({ module, name, kind: 'table' });
          } else if (kind === 2) {
            const l = r.limits();
            imports.push({ module, name, kind: 'memory', ...l });
          } else if (kind === 3) {
            r.valtype();
            r.byte();
            imports.push({ module, name, kind: 'global' });
          } else if (kind === 4) {
            r.byte();
            r.u32();
            imports.push({ module, name, kind: 'tag' });
          } else r.fail(`unknown import kind ${kind}`);
        }
        break;
      }
      case 3: {
        const n = r.u32();
        for (let i = 0; i < n; i++) funcTypes.push(r.u32());
        break;
      }
      case 5:
        definedMemories += r.u32();
        break;
      case 7: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = KINDS[r.byte()] ?? r.fail('unknown export kind');
          exports.push({ name, kind, index: r.u32() });
        }
        break;
      }
      default:
        break;
    }
    r.o = end;
  }
  return {
    imports,
    exports: exports.map((e) => ({ name: e.name, kind: e.kind, type: e.kind === 'function' ? types[funcTypes[e.index] ?? -1] ?? null : null })),
    definedMemories,
  };
}

export function signatureText(t: FuncType): string {
  return `(${t.params.join(', ')}) -> (${t.results.join(', ')})`;
}

export function sameSignature(a: FuncType, b: FuncType): boolean {
  return a.params.length === b.params.length && a.results.length === b.results.length && a.params.every((x, i) => x === b.params[i]) && a.results.every((x, i) => x === b.results[i]);
}
