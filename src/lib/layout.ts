/**
 * Binary structures declared once, as tables of fields.
 *
 * Each SGX structure is a `Layout`: an ordered list of fields with the SDM's names, offsets and
 * sizes, reserved ranges explicit. `defineLayout` checks at load time that the fields tile the
 * structure exactly and that the total equals the architectural size, so a typo in an offset fails
 * the import, not a test. Decoding is strict: wrong lengths and non-zero must-be-zero bytes are a
 * `LayoutError` that names the field path (e.g. `SIGSTRUCT.reserved@44`).
 */
import { LayoutError } from './errors.js';
import { u16le, u32le, u64le, writeU16le, writeU32le, writeU64le, isZero, toHex } from './bytes.js';

export type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'bytes' | 'reserved' | 'struct';

interface BaseField<N extends string, K extends FieldKind> {
  readonly name: N;
  readonly kind: K;
  readonly offset: number;
  readonly size: number;
  /** One line from the SDM, shown by `witness inspect`. */
  readonly doc?: string;
}
export interface U8Field<N extends string = string> extends BaseField<N, 'u8'> {}
export interface U16Field<N extends string = string> extends BaseField<N, 'u16'> {}
export interface U32Field<N extends string = string> extends BaseField<N, 'u32'> {}
export interface U64Field<N extends string = string> extends BaseField<N, 'u64'> {}
export interface BytesField<N extends string = string> extends BaseField<N, 'bytes'> {}
/** Reserved bytes. `mustBeZero` when the SDM says software must write zeros. */
export interface ReservedField extends BaseField<string, 'reserved'> {
  readonly mustBeZero: boolean;
}
export interface StructField<N extends string = string, L extends AnyLayout = AnyLayout> extends BaseField<N, 'struct'> {
  readonly layout: L;
}
export type Field = U8Field | U16Field | U32Field | U64Field | BytesField | ReservedField | StructField;

type ValueOf<F> = F extends U8Field | U16Field | U32Field
  ? number
  : F extends U64Field
    ? bigint
    : F extends BytesField
      ? Uint8Array
      : F extends StructField<string, infer L>
        ? L extends Layout<infer V>
          ? V
          : never
        : never;

/** The decoded value type of a field list: one property per named (non-reserved) field. */
export type Decoded<Fs extends readonly Field[]> = {
  -readonly [F in Fs[number] as F extends ReservedField ? never : F['name']]: ValueOf<F>;
};

export const u8 = <N extends string>(name: N, offset: number, doc?: string): U8Field<N> => ({ name, kind: 'u8', offset, size: 1, ...(doc ? { doc } : {}) });
export const u16 = <N extends string>(name: N, offset: number, doc?: string): U16Field<N> => ({ name, kind: 'u16', offset, size: 2, ...(doc ? { doc } : {}) });
export const u32 = <N extends string>(name: N, offset: number, doc?: string): U32Field<N> => ({ name, kind: 'u32', offset, size: 4, ...(doc ? { doc } : {}) });
export const u64 = <N extends string>(name: N, offset: number, doc?: string): U64Field<N> => ({ name, kind: 'u64', offset, size: 8, ...(doc ? { doc } : {}) });
export const bytes = <N extends string>(name: N, offset: number, size: number, doc?: string): BytesField<N> => ({ name, kind: 'bytes', offset, size, ...(doc ? { doc } : {}) });
/** Reserved bytes that must be zero (the SDM's "must be zero" / "MBZ"). */
export const reserved = (offset: number, size: number, doc?: string): ReservedField => ({ name: `reserved@${offset}`, kind: 'reserved', offset, size, mustBeZero: true, ...(doc ? { doc } : {}) });
/** Reserved bytes that software may leave arbitrary (not checked by decode). */
export const ignored = (offset: number, size: number, doc?: string): ReservedField => ({ name: `reserved@${offset}`, kind: 'reserved', offset, size, mustBeZero: false, ...(doc ? { doc } : {}) });
export const struct = <N extends string, L extends AnyLayout>(name: N, offset: number, layout: L, doc?: string): StructField<N, L> => ({ name, kind: 'struct', offset, size: layout.size, layout, ...(doc ? { doc } : {}) });

export interface DecodeOptions {
  /** Accept non-zero bytes in must-be-zero reserved fields (default false: strict). */
  readonly allowReserved?: boolean;
}

/** A layout of any value type (used where only the field table matters). */
export type AnyLayout = Layout<any>; // lint-allow-any: variance escape for heterogeneous layout tables

/** A declared structure. */
export interface Layout<V> {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly Field[];
  /** Offset and size of a named field (throws for unknown names: a programming error). */
  field(name: string): Field;
  /**
   * Strict decode.
   * @throws {LayoutError} `LAYOUT_LENGTH` for a wrong length, `LAYOUT_RESERVED_NONZERO` for a
   * non-zero must-be-zero field (with `data.field` = the field path).
   */
  decode(bytes: Uint8Array, options?: DecodeOptions): V;
  /** Encode; fields not given are zero. */
  encode(value: Partial<V>): Uint8Array;
  /** Write the given fields into an existing buffer at `offset`, leaving the others untouched. */
  encodeInto(target: Uint8Array, offset: number, value: Partial<V>): void;
  /** The path of the first non-zero must-be-zero field, or null (no exception, for leaf checks). */
  firstNonZeroReserved(bytes: Uint8Array, offset?: number): string | null;
}

/**
 * Declare a structure. Fields must be listed in offset order and tile [0, size) exactly.
 * @throws {LayoutError} `LAYOUT_DECLARATION` at module load if they do not.
 */
export function defineLayout<const Fs extends readonly Field[]>(name: string, size: number, fields: Fs): Layout<Decoded<Fs>> {
  let at = 0;
  const byName = new Map<string, Field>();
  for (const f of fields) {
    if (f.offset !== at) {
      throw new LayoutError('LAYOUT_DECLARATION', `${name}.${f.name}: declared at offset ${f.offset}, expected ${at}`, { layout: name, field: f.name });
    }
    if (f.size <= 0) throw new LayoutError('LAYOUT_DECLARATION', `${name}.${f.name}: size ${f.size}`, { layout: name });
    if (byName.has(f.name)) throw new LayoutError('LAYOUT_DECLARATION', `${name}.${f.name}: duplicate field`, { layout: name });
    byName.set(f.name, f);
    at += f.size;
  }
  if (at !== size) {
    throw new LayoutError('LAYOUT_DECLARATION', `${name}: fields cover ${at} bytes, the architectural size is ${size}`, { layout: name });
  }

  const firstNonZeroReserved = (b: Uint8Array, base = 0): string | null => {
    for (const f of fields) {
      if (f.kind === 'reserved') {
        if (f.mustBeZero && !isZero(b, base + f.offset, base + f.offset + f.size)) return `${name}.${f.name}`;
      } else if (f.kind === 'struct') {
        const inner = f.layout.firstNonZeroReserved(b, base + f.offset);
        if (inner !== null) return `${name}.${f.name}.${inner.slice(inner.indexOf('.') + 1)}`;
      }
    }
    return null;
  };

  const decodeAt = (b: Uint8Array, base: number, opts: DecodeOptions | undefined, path: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const o = base + f.offset;
      switch (f.kind) {
        case 'u8': out[f.name] = b[o]; break;
        case 'u16': out[f.name] = u16le(b, o); break;
        case 'u32': out[f.name] = u32le(b, o); break;
        case 'u64': out[f.name] = u64le(b, o); break;
        case 'bytes': out[f.name] = b.slice(o, o + f.size); break;
        case 'struct': out[f.name] = (f.layout as LayoutImpl).decodeAt(b, o, opts, `${path}.${f.name}`); break;
        case 'reserved':
          if (f.mustBeZero && !opts?.allowReserved && !isZero(b, o, o + f.size)) {
            throw new LayoutError('LAYOUT_RESERVED_NONZERO', `${path}.${f.name}: reserved bytes must be zero (got ${toHex(b.subarray(o, o + Math.min(f.size, 16)))}${f.size > 16 ? '…' : ''})`, { layout: name, field: `${path}.${f.name}`, offset: o });
          }
          break;
      }
    }
    return out;
  };

  const encodeInto = (target: Uint8Array, base: number, value: Record<string, unknown>): void => {
    for (const f of fields) {
      if (f.kind === 'reserved') continue;
      const v = value[f.name];
      if (v === undefined) continue;
      const o = base + f.offset;
      const bad = (why: string): never => {
        throw new LayoutError('LAYOUT_VALUE', `${name}.${f.name}: ${why}`, { layout: name, field: f.name });
      };
      switch (f.kind) {
        case 'u8':
        case 'u16':
        case 'u32': {
          const max = f.kind === 'u8' ? 0xff : f.kind === 'u16' ? 0xffff : 0xffffffff;
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) bad(`not a ${f.kind}: ${String(v)}`);
          const n = v as number;
          if (f.kind === 'u8') target[o] = n;
          else if (f.kind === 'u16') writeU16le(target, o, n);
          else writeU32le(target, o, n);
          break;
        }
        case 'u64':
          if (typeof v === 'bigint') {
            if (v < 0n || v > 0xffffffffffffffffn) bad(`not a u64: ${v}`);
            writeU64le(target, o, v);
          } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
            writeU64le(target, o, v);
          } else bad(`not a u64: ${String(v)}`);
          break;
        case 'bytes':
          if (!(v instanceof Uint8Array) || v.length !== f.size) bad(`expected ${f.size} bytes`);
          target.set(v as Uint8Array, o);
          break;
        case 'struct':
          (f.layout as LayoutImpl).encodeIntoRaw(target, o, v as Record<string, unknown>);
          break;
      }
    }
  };

  const layout: LayoutImpl = {
    name,
    size,
    fields,
    field(n: string): Field {
      const f = byName.get(n);
      if (!f) throw new LayoutError('LAYOUT_NO_FIELD', `${name} has no field ${n}`, { layout: name, field: n });
      return f;
    },
    decode(b: Uint8Array, options?: DecodeOptions) {
      if (!(b instanceof Uint8Array) || b.length !== size) {
        throw new LayoutError('LAYOUT_LENGTH', `${name}: expected ${size} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`, { layout: name, expected: size, actual: b instanceof Uint8Array ? b.length : null });
      }
      return decodeAt(b, 0, options, name) as Decoded<Fs>;
    },
    decodeAt,
    encode(value: Partial<Decoded<Fs>>) {
      const out = new Uint8Array(size);
      encodeInto(out, 0, value as Record<string, unknown>);
      return out;
    },
    encodeInto(target: Uint8Array, offset: number, value: Partial<Decoded<Fs>>) {
      if (offset < 0 || offset + size > target.length) {
        throw new LayoutError('LAYOUT_LENGTH', `${name}: target too small`, { layout: name });
      }
      encodeInto(target, offset, value as Record<string, unknown>);
    },
    encodeIntoRaw: encodeInto,
    firstNonZeroReserved,
  };
  return layout as Layout<Decoded<Fs>>;
}

interface LayoutImpl extends Layout<unknown> {
  decodeAt(b: Uint8Array, base: number, opts: DecodeOptions | undefined, path: string): Record<string, unknown>;
  encodeIntoRaw(target: Uint8Array, base: number, value: Record<string, unknown>): void;
}

/** A printable description of a decoded value (hex for byte fields and u64, decimal for small ints). */
export function describe(layout: AnyLayout, value: Record<string, unknown>, indent = ''): string[] {
  const lines: string[] = [];
  for (const f of layout.fields) {
    if (f.kind === 'reserved') continue;
    const v = value[f.name];
    const label = `${indent}${f.name.padEnd(22 - indent.length)} @${String(f.offset).padStart(4)} `;
    if (f.kind === 'struct') {
      lines.push(`${label}`);
      lines.push(...describe(f.layout, v as Record<string, unknown>, indent + '  '));
    } else if (v instanceof Uint8Array) {
      lines.push(`${label}${toHex(v)}`);
    } else if (typeof v === 'bigint') {
      lines.push(`${label}0x${v.toString(16)}`);
    } else {
      lines.push(`${label}${String(v)} (0x${(v as number).toString(16)})`);
    }
  }
  return lines;
}
