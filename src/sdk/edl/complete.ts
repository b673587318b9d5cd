/**
 * The last step of parsing and of resolving: enum values and wasm32 sizes, computed against a set
 * of definitions (one file's for `parseEdl`, every file's for `resolveEdl`).
 */
import { EdlError } from './errors.js';
import { evalExpr, ExprProblem, parseExprText } from './expr.js';
import { createLayout } from './layout.js';
import type { EdlWarning, EnumDef, Enumerator, Param, StructDef, TrustedFunction, UnionDef, UntrustedFunction } from './types.js';

export interface Parts {
  readonly trusted: readonly TrustedFunction[];
  readonly untrusted: readonly UntrustedFunction[];
  readonly structs: readonly StructDef[];
  readonly enums: readonly EnumDef[];
  readonly unions: readonly UnionDef[];
}

const INT_MIN = -(2 ** 31);
const UINT_MAX = 2 ** 32 - 1;

/**
 * Evaluates every enumerator (an initializer may name any enumerator in `enums`; a name that is
 * none of them is taken to be a macro from a header and gives `null`, reported through `warn`).
 * @throws EdlError `EDL_ENUM_VALUE` (division by zero, a cycle, a value outside int/unsigned int)
 */
export function evaluateEnums(enums: readonly EnumDef[], warn?: (w: EdlWarning) => void): EnumDef[] {
  const where = new Map<string, { e: number; m: number }>();
  enums.forEach((e, ei) => e.members.forEach((m, mi) => where.set(m.name, { e: ei, m: mi })));
  const values = new Map<string, number | null>();
  const active = new Set<string>();
  const warned = new Set<string>();

  const valueOf = (ei: number, mi: number): number | null => {
    const m = enums[ei]!.members[mi]!;
    if (values.has(m.name)) return values.get(m.name)!; // names are unique (checked before)
    if (active.has(m.name)) throw new EdlError('EDL_ENUM_VALUE', m.location, `enumerator \`${m.name}' depends on itself`);
    active.add(m.name);
    let v: number | null;
    if (m.expression !== undefined) {
      const expr = parseExprText(m.expression, m.location.file);
      const r = evalExpr(expr, (name) => {
        const w = where.get(name);
        if (w) return valueOf(w.e, w.m);
        if (warn && !warned.has(`${m.name}\0${name}`)) {
          warned.add(`${m.name}\0${name}`);
          warn({ code: 'EDL_ENUM_UNKNOWN_NAME', location: m.location, message: `enumerator \`${m.name}': \`${name}' is not defined in the EDL (taken to come from a C header); value unknown` });
        }
        return null;
      });
      if (r instanceof ExprProblem) throw new EdlError('EDL_ENUM_VALUE', m.location, `enumerator \`${m.name}': ${r.message}`);
      v = r;
    } else if (mi === 0) {
      v = 0;
    } else {
      const prev = valueOf(ei, mi - 1);
      v = prev === null ? null : prev + 1;
    }
    if (v !== null && (v < INT_MIN || v > UINT_MAX)) throw new EdlError('EDL_ENUM_VALUE', m.location, `enumerator \`${m.name}' = ${v} does not fit in an int`);
    active.delete(m.name);
    values.set(m.name, v);
    return v;
  };
  return enums.map((e, ei) => ({
    ...e,
    members: e.members.map((m, mi): Enumerator => ({ ...m, value: valueOf(ei, mi) })),
  }));
}

/**
 * Enum values, then struct/union layout and the size of every parameter and return type.
 * @throws EdlError `EDL_ENUM_VALUE`, `EDL_RECURSIVE_TYPE`
 */
export function complete(parts: Parts, warn?: (w: EdlWarning) => void): Parts {
  const enums = evaluateEnums(parts.enums, warn);
  const layout = createLayout(parts.structs, parts.unions, new Set(parts.enums.map((e) => e.name).filter((n) => n !== '')));
  const params = (ps: readonly Param[]): Param[] => ps.map((p) => ({ ...p, type: layout.size(p.type, p.attributes.isptr === true) }));
  return {
    trusted: parts.trusted.map((f) => ({ ...f, params: params(f.params), returns: layout.size(f.returns) })),
    untrusted: parts.untrusted.map((f) => ({ ...f, params: params(f.params), returns: layout.size(f.returns) })),
    structs: layout.structs,
    enums,
    unions: layout.unions,
  };
}
