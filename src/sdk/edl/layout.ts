/**
 * Sizes and alignments on wasm32 (clang's `wasm32-wasi` target, ILP32): the C base types, and
 * struct/union layout by the C rules (each member at the next multiple of its alignment; the
 * aggregate aligned to its strictest member and padded to a multiple of that alignment).
 */
import { EdlError } from './errors.js';
import type { Member, StructDef, TypeKind, TypeRef, UnionDef } from './types.js';

interface BaseInfo {
  readonly size: number | null;
  readonly align: number | null;
  readonly integer: boolean;
}

/** The base types EDL names, by canonical name. `void` has no size. */
export const BUILTIN_TYPES: Readonly<Record<string, BaseInfo>> = {
  void: { size: null, align: null, integer: false },
  bool: { size: 1, align: 1, integer: true },
  char: { size: 1, align: 1, integer: true },
  'unsigned char': { size: 1, align: 1, integer: true },
  short: { size: 2, align: 2, integer: true },
  'unsigned short': { size: 2, align: 2, integer: true },
  int: { size: 4, align: 4, integer: true },
  'unsigned int': { size: 4, align: 4, integer: true },
  long: { size: 4, align: 4, integer: true },
  'unsigned long': { size: 4, align: 4, integer: true },
  'long long': { size: 8, align: 8, integer: true },
  'unsigned long long': { size: 8, align: 8, integer: true },
  float: { size: 4, align: 4, integer: false },
  double: { size: 8, align: 8, integer: false },
  'long double': { size: 16, align: 16, integer: false },
  int8_t: { size: 1, align: 1, integer: true },
  int16_t: { size: 2, align: 2, integer: true },
  int32_t: { size: 4, align: 4, integer: true },
  int64_t: { size: 8, align: 8, integer: true },
  uint8_t: { size: 1, align: 1, integer: true },
  uint16_t: { size: 2, align: 2, integer: true },
  uint32_t: { size: 4, align: 4, integer: true },
  uint64_t: { size: 8, align: 8, integer: true },
  size_t: { size: 4, align: 4, integer: true },
  wchar_t: { size: 4, align: 4, integer: true },
};

/** wasm32 data pointers. */
export const POINTER_SIZE = 4;
/** C enums are `int`-sized on wasm32 (no -fshort-enums). */
export const ENUM_SIZE = 4;

/** The C spelling of a type: `const char *`, `struct s`, `int [2][3]`. */
export function spellType(kind: TypeKind, name: string, isConst: boolean, pointer: number, dims: readonly number[]): string {
  const base = kind === 'struct' || kind === 'union' || kind === 'enum' ? `${kind} ${name}` : name;
  let s = (isConst ? 'const ' : '') + base;
  if (pointer > 0) s += ' ' + '*'.repeat(pointer);
  if (dims.length > 0) s += ' ' + dims.map((d) => `[${d}]`).join('');
  return s;
}

/** A type reference whose sizes are not known yet (filled in by {@link createLayout}). */
export function typeRef(kind: TypeKind, name: string, isConst: boolean, pointer: number, dims: readonly number[]): TypeRef {
  return { kind, name, const: isConst, pointer, dims: [...dims], size: null, align: null, baseSize: null, baseAlign: null, spelling: spellType(kind, name, isConst, pointer, dims) };
}

/** Is a value of this type an integer (usable as a `size=`/`count=` operand)? Typedef names from headers are assumed to be. */
export function isIntegerValue(t: TypeRef): boolean {
  if (t.pointer > 0 || t.dims.length > 0) return false;
  switch (t.kind) {
    case 'builtin':
      return BUILTIN_TYPES[t.name]?.integer ?? false;
    case 'enum':
    case 'foreign':
      return true;
    default:
      return false;
  }
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

export interface Layout {
  readonly structs: StructDef[];
  readonly unions: UnionDef[];
  /** `t` with its sizes; `pointerLike` for a typedef name that `[isptr]` declares to be a pointer. */
  size(t: TypeRef, pointerLike?: boolean): TypeRef;
}

interface Size {
  size: number | null;
  align: number | null;
}

/**
 * Lays out the given definitions (struct and union tags; enum tags are always 4 bytes) and returns
 * them with sizes, alignments and member offsets, plus a function that sizes any type against them.
 * A typedef name equal to an EDL-defined tag denotes that type (edger8r emits `typedef struct X {...} X;`).
 *
 * @throws EdlError `EDL_RECURSIVE_TYPE` for a struct or union that contains itself by value.
 */
export function createLayout(structs: readonly StructDef[], unions: readonly UnionDef[], enumNames: ReadonlySet<string>): Layout {
  const structByName = new Map(structs.map((s) => [s.name, s]));
  const unionByName = new Map(unions.map((u) => [u.name, u]));
  const done = new Map<string, Size>();
  const active = new Set<string>();

  const aggregate = (key: string, def: StructDef | UnionDef, isUnion: boolean): Size => {
    const known = done.get(key);
    if (known) return known;
    active.add(key);
    let offset: number | null = 0;
    let maxSize: number | null = 0;
    let maxAlign: number | null = 1;
    for (const m of def.members) {
      const s = objectSize(m.type, false, m);
      if (isUnion) {
        maxSize = maxSize === null || s.size === null ? null : Math.max(maxSize, s.size);
      } else if (offset !== null) {
        offset = s.size === null || s.align === null ? null : alignUp(offset, s.align) + s.size;
      }
      maxAlign = maxAlign === null || s.align === null ? null : Math.max(maxAlign, s.align);
    }
    active.delete(key);
    const end = isUnion ? maxSize : offset;
    const r: Size = end === null || maxAlign === null ? { size: null, align: maxAlign } : { size: alignUp(end, maxAlign), align: maxAlign };
    done.set(key, r);
    return r;
  };

  const baseSize = (kind: TypeKind, name: string, user: Member | null): Size => {
    const lookupStruct = (): Size | null => {
      const def = structByName.get(name);
      if (!def) return null;
      if (active.has('struct ' + name) && user) throw new EdlError('EDL_RECURSIVE_TYPE', user.location, `\`${user.name}': struct \`${name}' contains itself`);
      return aggregate('struct ' + name, def, false);
    };
    const lookupUnion = (): Size | null => {
      const def = unionByName.get(name);
      if (!def) return null;
      if (active.has('union ' + name) && user) throw new EdlError('EDL_RECURSIVE_TYPE', user.location, `\`${user.name}': union \`${name}' contains itself`);
      return aggregate('union ' + name, def, true);
    };
    switch (kind) {
      case 'builtin': {
        const b = BUILTIN_TYPES[name];
        return { size: b?.size ?? null, align: b?.align ?? null };
      }
      case 'enum':
        return { size: ENUM_SIZE, align: ENUM_SIZE };
      case 'struct':
        return lookupStruct() ?? { size: null, align: null };
      case 'union':
        return lookupUnion() ?? { size: null, align: null };
      case 'foreign':
        return lookupStruct() ?? lookupUnion() ?? (enumNames.has(name) ? { size: ENUM_SIZE, align: ENUM_SIZE } : { size: null, align: null });
    }
  };

  const objectSize = (t: TypeRef, pointerLike: boolean, user: Member | null): Size => {
    const elem: Size = t.pointer > 0 || pointerLike ? { size: POINTER_SIZE, align: POINTER_SIZE } : baseSize(t.kind, t.name, user);
    const n = t.dims.reduce((a, d) => a * d, 1);
    return { size: elem.size === null ? null : elem.size * n, align: elem.align };
  };

  // Phase 1: aggregate sizes (only by-value members matter, so self-reference through a pointer is fine).
  for (const s of structs) aggregate('struct ' + s.name, s, false);
  for (const u of unions) aggregate('union ' + u.name, u, true);

  // Phase 2: every type reference, against the finished table.
  const size = (t: TypeRef, pointerLike = false): TypeRef => {
    const base = pointerLike ? { size: POINTER_SIZE, align: POINTER_SIZE } : baseSize(t.kind, t.name, null);
    const obj = objectSize(t, pointerLike, null);
    return { ...t, size: obj.size, align: obj.align, baseSize: base.size, baseAlign: base.align };
  };
  const members = (def: StructDef | UnionDef, isUnion: boolean): Member[] => {
    let offset: number | null = 0;
    return def.members.map((m) => {
      const type = size(m.type);
      let at: number | null = 0;
      if (!isUnion) {
        at = offset === null || type.align === null ? null : alignUp(offset, type.align);
        offset = at === null || type.size === null ? null : at + type.size;
      }
      return { ...m, type, offset: at };
    });
  };
  return {
    structs: structs.map((s) => ({ ...s, members: members(s, false), ...done.get('struct ' + s.name)! })),
    unions: unions.map((u) => ({ ...u, members: members(u, true), ...done.get('union ' + u.name)! })),
    size,
  };
}
