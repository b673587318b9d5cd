/**
 * A small reader for the WebAssembly binary format (Core spec §5): the type, import, function,
 * memory and export sections, enough to check a module against its interface before it is
 * measured (function signatures of imports and exports, the memory import's limits), and a scan
 * of the code section for exception handling, which enclave code may not use (see `unsafeCode`).
 */
import { SdkError } from './errors.js';
import { concatBytes } from '../lib/bytes.js';
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
  /**
   * Why the module's code may not run in an enclave, or null. Exception handling: a tag (a tag
   * section or a tag import; a tag export needs one of them), or the first instruction of the proposal (try, catch, catch_all, throw,
   * rethrow, delegate, try_table, throw_ref) with its function. A `catch_all` catches JavaScript
   * exceptions too, and the processor's exits and faults reach enclave code as exceptions (a Wasm
   * frame cannot be suspended): such a handler could swallow an AEX or an EEXIT the host asked for.
   * An instruction the scan does not know is reported too (refused, not guessed at).
   */
  readonly unsafeCode: string | null;
  /** Custom sections (id 0), in order: each one's name and where its payload lies in the module's bytes. */
  readonly customSections: readonly { readonly name: string; readonly offset: number; readonly length: number }[];
  /** Where each memory.grow instruction starts in the module's bytes, in order (see redirectMemoryGrow). */
  readonly memoryGrows: readonly number[];
}

const NAME_DECODER = new TextDecoder('utf-8', { fatal: true });
const VALTYPES: Readonly<Record<number, WasmType | undefined>> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };
const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

/** A reader of the binary format's primitives (LEB128, names, limits); `fail` throws WASM_INVALID with the offset. */
export class WasmReader {
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
    let s: string;
    try {
      s = NAME_DECODER.decode(this.b.subarray(this.o, this.o + n));
    } catch {
      this.fail('a name that is not UTF-8');
    }
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

// ---------------------------------------------------------------------------------------------
// Instructions: the immediate operands of each opcode (Core spec §5.4, with the proposals V8 in
// Node ≥ 20 accepts by default: sign extension, saturating conversions, bulk memory, reference
// types, multi-value, tail calls, SIMD §5.4.8, threads' atomics, and exception handling, both
// the legacy encoding and try_table/throw_ref). Only the length of each instruction matters here.

/** Immediate forms: none, a block type, LEB128 values (1 or 2), br_table, select's types, a memarg (+ lane), raw bytes (+ count), try_table's. */
type Imm = 'none' | 'block' | 'leb' | 'leb2' | 'brtable' | 'types' | 'memarg' | 'memarg+lane' | 'bytes' | 'trytable';
interface Op {
  readonly imm: Imm;
  /** For 'bytes': how many. */
  readonly n?: number;
  /** An exception-handling instruction: its name. */
  readonly eh?: string;
}

/** Opcode → its form (an array indexed by opcode: the scan looks up every instruction). */
function opTable(ranges: readonly (readonly [number, number, Op])[]): readonly (Op | undefined)[] {
  const t: (Op | undefined)[] = Array.from({ length: Math.max(...ranges.map((r) => r[1])) + 1 }, (): Op | undefined => undefined); // packed: no holes
  for (const [lo, hi, op] of ranges) for (let c = lo; c <= hi; c++) t[c] = op;
  return t;
}
const NONE: Op = { imm: 'none' }, LEB: Op = { imm: 'leb' }, LEB2: Op = { imm: 'leb2' }, MEMARG: Op = { imm: 'memarg' };
const eh = (name: string, imm: Imm): Op => ({ imm, eh: name });

/** One-byte opcodes. */
const OPS = opTable([
  [0x00, 0x01, NONE], [0x02, 0x04, { imm: 'block' }], [0x05, 0x05, NONE],
  [0x06, 0x06, eh('try', 'block')], [0x07, 0x07, eh('catch', 'leb')], [0x08, 0x08, eh('throw', 'leb')], [0x09, 0x09, eh('rethrow', 'leb')], [0x0a, 0x0a, eh('throw_ref', 'none')],
  [0x0b, 0x0b, NONE], [0x0c, 0x0d, LEB], [0x0e, 0x0e, { imm: 'brtable' }], [0x0f, 0x0f, NONE],
  // Not here: call_ref/return_call_ref (0x14, 0x15) and 0xd3–0xd6, whose numbering V8 changed between
  // its flag-only typed references (Node 20) and the standard (Node 22): refused as unknown.
  [0x10, 0x10, LEB], [0x11, 0x11, LEB2], [0x12, 0x12, LEB], [0x13, 0x13, LEB2],
  [0x18, 0x18, eh('delegate', 'leb')], [0x19, 0x19, eh('catch_all', 'none')], [0x1a, 0x1b, NONE], [0x1c, 0x1c, { imm: 'types' }], [0x1f, 0x1f, eh('try_table', 'trytable')],
  [0x20, 0x26, LEB], [0x28, 0x3e, MEMARG], [0x3f, 0x42, LEB], [0x43, 0x43, { imm: 'bytes', n: 4 }], [0x44, 0x44, { imm: 'bytes', n: 8 }],
  [0x45, 0xc4, NONE], [0xd0, 0xd0, LEB], [0xd1, 0xd1, NONE], [0xd2, 0xd2, LEB],
]);
/** 0xFC prefix: saturating conversions, bulk memory, tables. */
const OPS_FC = opTable([[0, 7, NONE], [8, 8, LEB2], [9, 9, LEB], [10, 10, LEB2], [11, 11, LEB], [12, 12, LEB2], [13, 13, LEB], [14, 14, LEB2], [15, 17, LEB]]);
/** 0xFD prefix: SIMD (and relaxed SIMD, 0x100–0x113). */
const OPS_FD = opTable([
  [0x00, 0x0b, MEMARG], [0x0c, 0x0d, { imm: 'bytes', n: 16 }], [0x0e, 0x14, NONE], [0x15, 0x22, { imm: 'bytes', n: 1 }],
  [0x23, 0x53, NONE], [0x54, 0x5b, { imm: 'memarg+lane' }], [0x5c, 0x5d, MEMARG], [0x5e, 0x113, NONE],
]);
/** 0xFE prefix: atomics (atomic.fence has one zero byte). */
const OPS_FE = opTable([[0x00, 0x02, MEMARG], [0x03, 0x03, { imm: 'bytes', n: 1 }], [0x10, 0x4e, MEMARG]]);
const PREFIXED: Readonly<Record<number, readonly (Op | undefined)[]>> = { 0xfc: OPS_FC, 0xfd: OPS_FD, 0xfe: OPS_FE };

const MEMORY_GROW = 0x40;
const EH_WHY = ": WebAssembly exception handling, whose handlers could catch the processor's exits and faults";

/** Skip one LEB128 value of up to 64 bits (signed or not). */
function skipLeb(r: WasmReader): void {
  for (let k = 0; k < 10; k++) if (!(r.byte() & 0x80)) return;
  r.fail('LEB128 too long');
}

/**
 * Skip a block type (§5.4.1, an s33): 0x40, a one-byte value type, a reference type with its heap
 * type (0x63/0x64), or a type index (a LEB128, one byte when below 64).
 */
function skipBlockType(r: WasmReader): void {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) skipLeb(r);
  else if (b & 0x80) skipLeb(r); // the rest of a type index
}

/** Skip a value type (a reference type of the typed-references proposal carries a heap type). */
function skipValtype(r: WasmReader): void {
  const t = r.byte();
  if (t === 0x63 || t === 0x64) skipLeb(r);
}

/**
 * The first exception-handling use in function bodies [r.o, end) (`first` is the index of the first
 * defined function), or null. Every instruction is decoded to its length; an unknown one is reported.
 * With `starts`, the offset of every instruction is recorded per body instead, past exception handling.
 */
function scanCode(r: WasmReader, end: number, first: number, name: (fn: number) => string, starts: number[][] | null, grows: number[]): string | null {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const size = r.u32();
    const bodyEnd = r.o + size;
    if (bodyEnd > end) r.fail('function body past the end of the code section');
    const locals = r.u32();
    for (let k = 0; k < locals; k++) {
      r.u32();
      skipValtype(r);
    }
    starts?.push([]);
    while (r.o < bodyEnd) {
      const at = r.o;
      const c = r.byte();
      let op = OPS[c];
      let what = `0x${c.toString(16).padStart(2, '0')}`;
      if (op === undefined && PREFIXED[c]) {
        const sub = r.u32();
        op = PREFIXED[c]![sub];
        what += ` ${sub}`;
      }
      if (op === undefined) starts?.[i]!.push(at);
      if (op === undefined) return `${name(first + i)} has an instruction the scan does not know (opcode ${what} at byte ${at}): refused rather than guessed at`;
      if (op.eh !== undefined && starts === null) return `${name(first + i)} uses ${op.eh} (at byte ${at})${EH_WHY}`;
      starts?.[i]!.push(at);
      if (c === MEMORY_GROW) grows.push(at);
      switch (op.imm) {
        case 'none':
          break;
        case 'block':
          skipBlockType(r);
          break;
        case 'leb':
          skipLeb(r);
          break;
        case 'leb2':
          skipLeb(r);
          skipLeb(r);
          break;
        case 'brtable': {
          const n = r.u32();
          for (let k = 0; k <= n; k++) skipLeb(r);
          break;
        }
        case 'types': {
          const n = r.u32();
          for (let k = 0; k < n; k++) skipValtype(r);
          break;
        }
        case 'memarg':
        case 'memarg+lane': {
          const align = r.u32();
          if (align & 0x40) skipLeb(r); // a memory index (multiple memories)
          skipLeb(r);
          if (op.imm === 'memarg+lane') r.byte();
          break;
        }
        case 'bytes':
          if (r.o + op.n! > bodyEnd) r.fail('an immediate past the end of its function');
          r.o += op.n!;
          break;
        case 'trytable': {
          skipBlockType(r);
          const n = r.u32();
          for (let k = 0; k < n; k++) {
            const kind = r.byte(); // catch, catch_ref: a tag and a label; catch_all, catch_all_ref: a label
            if (kind < 2) skipLeb(r);
            skipLeb(r);
          }
          break;
        }
      }
    }
    if (r.o !== bodyEnd) r.fail('an instruction runs past the end of its function');
  }
  return null;
}

export function readWasmModule(bytes: Uint8Array): WasmModuleInfo {
  return readModule(bytes, null);
}

/** @internal (tests): the byte offset of every instruction, per defined function, as the scan decodes them (up to and including the first it does not know). */
export function instructionStarts(bytes: Uint8Array): number[][] {
  const starts: number[][] = [];
  readModule(bytes, starts);
  return starts;
}

function readModule(bytes: Uint8Array, starts: number[][] | null): WasmModuleInfo {
  const r = new WasmReader(bytes);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) r.fail('bad magic');
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) r.fail('unsupported version');
  r.o = 8;
  const types: FuncType[] = [];
  const imports: WasmImport[] = [];
  const funcTypes: number[] = []; // type index per function index (imports first)
  const exports: { name: string; kind: WasmExport['kind']; index: number }[] = [];
  let definedMemories = 0;
  let unsafeCode: string | null = null;
  const customSections: { name: string; offset: number; length: number }[] = [];
  const memoryGrows: number[] = [];
  const fnName = (fn: number): string => {
    const e = exports.find((x) => x.kind === 'function' && x.index === fn);
    return e ? `function ${fn} (export ${e.name})` : `function ${fn}`;
  };
  while (r.o < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.o + size;
    if (end > bytes.length) r.fail('section past the end');
    switch (id) {
      case 0: {
        const name = r.name();
        if (r.o > end) r.fail('a custom section name runs past its section');
        customSections.push({ name, offset: r.o, length: end - r.o });
        break;
      }
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
            unsafeCode ??= `it imports tag ${module}.${name}${EH_WHY}`;
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
      case 10: {
        const imported = imports.filter((i) => i.kind === 'function').length;
        const found = scanCode(r, end, imported, fnName, starts, memoryGrows);
        if (found !== null) unsafeCode ??= found;
        break;
      }
      case 13:
        unsafeCode ??= `it declares tags (a tag section)${EH_WHY}`;
        break;
      default:
        break;
    }
    r.o = end;
  }
  return {
    imports,
    exports: exports.map((e) => ({ name: e.name, kind: e.kind, type: e.kind === 'function' ? types[funcTypes[e.index] ?? -1] ?? null : null })),
    definedMemories,
    unsafeCode,
    customSections,
    memoryGrows,
  };
}

export function signatureText(t: FuncType): string {
  return `(${t.params.join(', ')}) -> (${t.results.join(', ')})`;
}

export function sameSignature(a: FuncType, b: FuncType): boolean {
  return a.params.length === b.params.length && a.results.length === b.results.length && a.params.every((x, i) => x === b.params[i]) && a.results.every((x, i) => x === b.results[i]);
}

// ---------------------------------------------------------------------------------------------
// Editing a module: its sections, and memory.grow given to the trusted runtime.

/** Where one section lies in a module's bytes: its id byte at `start`, its payload [payload, end). */
export interface WasmSection {
  readonly id: number;
  readonly start: number;
  readonly payload: number;
  readonly end: number;
}

/** The sections of a module, in order (WASM_INVALID for one that runs past the end). */
export function wasmSections(bytes: Uint8Array): WasmSection[] {
  const out: WasmSection[] = [];
  const r = new WasmReader(bytes);
  r.o = 8;
  while (r.o < bytes.length) {
    const start = r.o;
    const id = r.byte();
    const size = r.u32();
    const payload = r.o;
    const end = payload + size;
    if (end > bytes.length) r.fail('a section runs past the end');
    out.push({ id, start, payload, end });
    r.o = end;
  }
  return out;
}

/** An unsigned LEB128 (§5.2.2). */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A name as the binary format writes one (§5.2.4): its UTF-8 length, then its bytes. */
export function nameBytes(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

/** A section of id `id` whose payload is the given bytes. */
export function sectionBytes(id: number, ...payload: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const size = payload.reduce((n, p) => n + p.length, 0);
  const head = [id, ...uleb(size)];
  const out = new Uint8Array(head.length + size);
  out.set(head, 0);
  let at = head.length;
  for (const p of payload) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A vector section `s` of id `id` (a count, then entries; absent: none) with `added` more entries, `more`, after its own. */
export function vectorSection(bytes: Uint8Array, s: WasmSection | undefined, id: number, added: number, more: readonly number[]): Uint8Array {
  if (s === undefined) return sectionBytes(id, uleb(added), more);
  const r = new WasmReader(bytes);
  r.o = s.payload;
  const n = r.u32();
  return sectionBytes(id, uleb(n + added), bytes.subarray(r.o, s.end), more);
}

/** The order of the known sections (§5.5.2; tags, 13, after memories; the data count, 12, before code). */
const SECTION_ORDER: readonly number[] = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

/**
 * The module (its sections `secs`) with known sections changed: for each id in `changes`, the
 * module's section of that id replaced by the bytes given (a whole section), or dropped (null), or,
 * when it has none, the bytes inserted where the binary order puts them (before the first known
 * section that comes later). Custom sections stay where they were.
 */
export function rewriteSections(bytes: Uint8Array, secs: readonly WasmSection[], changes: ReadonlyMap<number, Uint8Array | null>): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  const rank = (id: number) => SECTION_ORDER.indexOf(id);
  const pending = new Map([...changes].filter(([id, b]) => b !== null && !secs.some((x) => x.id === id)) as [number, Uint8Array][]);
  for (const s of secs) {
    if (s.id === 0) {
      parts.push(bytes.subarray(s.start, s.end));
      continue;
    }
    for (const [id, b] of pending) {
      if (rank(id) >= rank(s.id)) continue;
      parts.push(b);
      pending.delete(id);
    }
    const r = changes.get(s.id);
    if (r === undefined) parts.push(bytes.subarray(s.start, s.end));
    else if (r !== null) parts.push(r);
  }
  for (const id of [...pending.keys()].sort((a, b) => rank(a) - rank(b))) parts.push(pending.get(id)!);
  return concatBytes(...parts);
}

/** The export through which the trusted runtime gives a module its memory.grow (a table of one function); reserved. */
export const MEMORY_GROW_EXPORT = 'witness.memory.grow';
/** The export of a redirected module's start function, which the runtime calls once that table is filled; reserved. */
export const START_EXPORT = 'witness.start';

/**
 * The module with every memory.grow handed to the trusted runtime, or null when it has none. A
 * memory that grows must grow with enclave pages (EAUG, EACCEPT), which only the runtime can
 * commit, and Wasm cannot intercept memory.grow; so each one (opcode 0x40 and its memory index)
 * becomes `i32.const 0; call_indirect` of a type (i32) -> (i32) through a table of one function,
 * which the runtime fills through the export MEMORY_GROW_EXPORT. The type, the table and the
 * export are appended to their index spaces, so no index the module uses moves and every other
 * instruction stays as it was. A start function would run before the table is filled: its start
 * section is dropped and the function exported as START_EXPORT, for the runtime to call at once.
 * `info` must be this module's (readWasmModule).
 */
export function redirectMemoryGrow(bytes: Uint8Array, info: WasmModuleInfo): { readonly bytes: Uint8Array; readonly start: boolean } | null {
  if (info.memoryGrows.length === 0) return null;
  const secs = wasmSections(bytes);
  const section = (id: number) => secs.find((s) => s.id === id);
  const count = (s: WasmSection | undefined) => {
    if (s === undefined) return 0;
    const r = new WasmReader(bytes);
    r.o = s.payload;
    return r.u32();
  };
  const typeIndex = count(section(1));
  const tableIndex = info.imports.filter((i) => i.kind === 'table').length + count(section(4));
  const changes = new Map<number, Uint8Array | null>();
  changes.set(1, vectorSection(bytes, section(1), 1, 1, [0x60, 1, 0x7f, 1, 0x7f]));
  changes.set(4, vectorSection(bytes, section(4), 4, 1, [0x70, 0x01, 0x01, 0x01])); // funcref, exactly one element
  const exports = [...nameBytes(MEMORY_GROW_EXPORT), 0x01, ...uleb(tableIndex)];
  const start = section(8);
  let exported = 1;
  if (start !== undefined) {
    const r = new WasmReader(bytes);
    r.o = start.payload;
    exports.push(...nameBytes(START_EXPORT), 0x00, ...uleb(r.u32()));
    exported++;
    changes.set(8, null);
  }
  changes.set(7, vectorSection(bytes, section(7), 7, exported, exports));
  changes.set(10, redirectCode(bytes, section(10)!, info.memoryGrows, [0x41, 0x00, 0x11, ...uleb(typeIndex), ...uleb(tableIndex)]));
  return { bytes: rewriteSections(bytes, secs, changes), start: start !== undefined };
}

/** The code section with the instruction at each of `sites` (memory.grow and its LEB128 memory index) replaced by `by`, each body's size written again. */
function redirectCode(bytes: Uint8Array, code: WasmSection, sites: readonly number[], by: readonly number[]): Uint8Array {
  const r = new WasmReader(bytes);
  r.o = code.payload;
  const n = r.u32();
  const parts: (Uint8Array | readonly number[])[] = [uleb(n)];
  let k = 0;
  for (let i = 0; i < n; i++) {
    const head = r.o;
    const size = r.u32();
    const body = r.o, end = body + size;
    if (k >= sites.length || sites[k]! >= end) {
      parts.push(bytes.subarray(head, end));
    } else {
      const pieces: (Uint8Array | readonly number[])[] = [];
      let from = body, length = 0;
      for (; k < sites.length && sites[k]! < end; k++) {
        const at = sites[k]!;
        let next = at + 1;
        while (bytes[next]! & 0x80) next++; // the memory index's LEB128
        next++;
        pieces.push(bytes.subarray(from, at), by);
        length += at - from + by.length;
        from = next;
      }
      pieces.push(bytes.subarray(from, end));
      length += end - from;
      parts.push(uleb(length), ...pieces);
    }
    r.o = end;
  }
  return sectionBytes(10, ...parts);
}
