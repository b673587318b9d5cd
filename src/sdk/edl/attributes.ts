/**
 * Bracketed attributes and edger8r's rules for them (Parser.mly: get_ptr_attr,
 * get_param_ptr_attr, param_type, check_ptr_attr, get_member_ptr_attr, get_func_attr), each
 * error placed on the token it is about.
 */
import { EdlError, type EdlLocation } from './errors.js';
import { isIntegerValue } from './layout.js';
import type { CallingConvention, Direction, MemberAttributes, ParamAttributes, TypeRef } from './types.js';

/** One `key` or `key=value` inside `[...]`, as written. */
export interface RawAttribute {
  readonly key: string;
  readonly value: number | string | null;
  readonly at: EdlLocation;
  readonly valueAt: EdlLocation | null;
}

/** An attribute block, checked for unknown, duplicated and malformed entries. */
export interface AttributeBlock {
  readonly at: EdlLocation;
  readonly list: readonly RawAttribute[];
  get(key: string): RawAttribute | undefined;
}

const POINTER_ATTRIBUTES = new Set(['in', 'out', 'size', 'count', 'string', 'wstring', 'user_check', 'isptr', 'isary', 'readonly']);
const VALUED = new Set(['size', 'count']);

/**
 * Checks a pointer-attribute block: every key known, no key twice, `size`/`count` with a value
 * and the other attributes without one.
 * @throws EdlError `EDL_UNKNOWN_ATTRIBUTE`, `EDL_DEPRECATED_ATTRIBUTE`, `EDL_DUPLICATE_ATTRIBUTE`, `EDL_ATTRIBUTE_VALUE`
 */
export function pointerAttributeBlock(at: EdlLocation, list: readonly RawAttribute[]): AttributeBlock {
  const byKey = new Map<string, RawAttribute>();
  for (const a of list) {
    if (a.key === 'sizefunc') throw new EdlError('EDL_DEPRECATED_ATTRIBUTE', a.at, "the attribute `sizefunc' is deprecated; use `size' instead");
    if (!POINTER_ATTRIBUTES.has(a.key)) throw new EdlError('EDL_UNKNOWN_ATTRIBUTE', a.at, `unknown attribute: \`${a.key}'`);
    if (byKey.has(a.key)) throw new EdlError('EDL_DUPLICATE_ATTRIBUTE', a.at, `duplicated attribute: \`${a.key}'`);
    if (VALUED.has(a.key) && a.value === null) throw new EdlError('EDL_ATTRIBUTE_VALUE', a.at, `attribute \`${a.key}' needs a value: \`${a.key}=N' or \`${a.key}=name'`);
    if (!VALUED.has(a.key) && a.value !== null) throw new EdlError('EDL_ATTRIBUTE_VALUE', a.valueAt ?? a.at, `attribute \`${a.key}' takes no value`);
    byKey.set(a.key, a);
  }
  return { at, list, get: (k) => byKey.get(k) };
}

const later = (a: RawAttribute, b: RawAttribute): RawAttribute => (a.at.line > b.at.line || (a.at.line === b.at.line && a.at.column > b.at.column) ? a : b);

/** Is `t` a typedef name from a header (not a pointer to one)? `isptr`/`isary` apply only to those. */
const isBareForeign = (t: TypeRef): boolean => t.kind === 'foreign' && t.pointer === 0;

/**
 * Applies edger8r's parameter rules and returns the attributes as recorded.
 * `fn` names the function in messages; `nameAt` is the parameter name (for "missing" errors).
 * @throws EdlError with codes `EDL_NOT_A_POINTER`, `EDL_ATTRIBUTE_CONFLICT`, `EDL_MISSING_DIRECTION`,
 *   `EDL_ISPTR_TYPE`, `EDL_STRING_TYPE`, `EDL_READONLY`, `EDL_VOID_SIZE`, `EDL_POINTER_ARRAY`, `EDL_ARRAY_SIZE_ATTRIBUTE`
 */
export function checkParamAttributes(fn: string, name: string, nameAt: EdlLocation, type: TypeRef, block: AttributeBlock | null, constAt: EdlLocation | null): ParamAttributes {
  const a = (k: string): RawAttribute | undefined => block?.get(k);
  const inA = a('in');
  const outA = a('out');
  const size = a('size');
  const count = a('count');
  const str = a('string');
  const wstr = a('wstring');
  const userCheck = a('user_check');
  const isptr = a('isptr');
  const isary = a('isary');
  const readonly = a('readonly');
  const direction: Direction | undefined = inA && outA ? 'in,out' : inA ? 'in' : outA ? 'out' : undefined;
  const dirAttr = inA && outA ? later(inA, outA) : (inA ?? outA);
  const sized = size ?? count;
  const stringy = str ?? wstr;
  const first = block?.list[0];
  const isArray = type.dims.length > 0;
  const tyName = type.spelling;

  // Attributes on something that is not a pointer (param_type's "unexpected pointer attributes").
  const pointerLike = type.pointer > 0 || isArray || (isBareForeign(type) && (isptr !== undefined || isary !== undefined));
  if (first && !pointerLike && !isptr && !isary && !readonly) {
    if (type.kind === 'foreign') throw new EdlError('EDL_NOT_A_POINTER', first.at, `\`${fn}': \`${name}' has type \`${tyName}', a plain type, but is decorated with pointer attributes (use \`isptr' or \`isary' if the typedef is a pointer or an array)`);
    throw new EdlError('EDL_NOT_A_POINTER', first.at, `\`${fn}': \`${name}' is not a pointer: unexpected pointer attributes for \`${tyName}'`);
  }
  // isptr / isary / readonly only for typedef names.
  if (isptr && !isBareForeign(type)) throw new EdlError('EDL_ISPTR_TYPE', isptr.at, `\`${fn}': \`isptr' is only for a typedef name from a C header, not for \`${tyName}'`);
  if (isary && !isBareForeign(type)) throw new EdlError('EDL_ISPTR_TYPE', isary.at, `\`${fn}': \`isary' is only for a typedef name from a C header, not for \`${tyName}'`);
  if (readonly && type.kind !== 'foreign') throw new EdlError('EDL_ISPTR_TYPE', readonly.at, `\`${fn}': \`readonly' is only for a typedef name from a C header, not for \`${tyName}'`);
  if (readonly && !isptr) throw new EdlError('EDL_ISPTR_TYPE', readonly.at, `\`${fn}': \`readonly' is only used together with \`isptr'`);
  if (!pointerLike) return {};

  // get_param_ptr_attr.
  if (str && wstr) throw new EdlError('EDL_ATTRIBUTE_CONFLICT', later(str, wstr).at, "`string' and `wstring' are mutually exclusive");
  if (dirAttr && userCheck) throw new EdlError('EDL_ATTRIBUTE_CONFLICT', later(dirAttr, userCheck).at, `\`${fn}': pointer direction and \`user_check' are mutually exclusive (\`${name}')`);
  if (isary) {
    if (sized) throw new EdlError('EDL_ATTRIBUTE_CONFLICT', sized.at, `\`${fn}': size attributes cannot be used with \`isary' (\`${name}')`);
    if (stringy) throw new EdlError('EDL_ATTRIBUTE_CONFLICT', later(isary, stringy).at, `\`${fn}': \`isary' cannot be used together with \`${stringy.key}'`);
    if (isptr) throw new EdlError('EDL_ATTRIBUTE_CONFLICT', later(isary, isptr).at, `\`${fn}': \`isary' cannot be used together with \`isptr'`);
    if (!direction && !userCheck) throw new EdlError('EDL_MISSING_DIRECTION', nameAt, `\`${fn}': array \`${name}' must have a direction attribute or \`user_check'`);
  } else {
    if (sized && stringy) throw new EdlError('EDL_ATTRIBUTE_CONFLICT', later(sized, stringy).at, `\`${fn}': size attributes are mutually exclusive with the \`${stringy.key}' attribute (\`${name}')`);
    if ((sized ?? stringy) && !direction) throw new EdlError('EDL_MISSING_DIRECTION', (sized ?? stringy)!.at, `\`${fn}': size/string attributes must be used with a pointer direction (\`${name}')`);
    if (!direction && !userCheck) throw new EdlError('EDL_MISSING_DIRECTION', nameAt, `\`${fn}': pointer/array \`${name}' should have a direction attribute or \`user_check'`);
    if (direction === 'out' && stringy) throw new EdlError('EDL_ATTRIBUTE_CONFLICT', stringy.at, `\`${fn}': \`${stringy.key}' should be used with an \`in' attribute (\`${name}')`);
  }

  // check_ptr_attr.
  const isReadonly = constAt !== null || readonly !== undefined;
  if (isReadonly && outA) throw new EdlError('EDL_READONLY', outA.at, `\`${fn}': \`${name}' is readonly (${constAt ? '`const\'' : '`readonly\''}) - cannot be used with \`out'`);
  const isVoidPtr = type.kind === 'builtin' && type.name === 'void' && type.pointer === 1 && !isArray;
  if (isVoidPtr) {
    if (!userCheck && !size) throw new EdlError('EDL_VOID_SIZE', nameAt, `\`${fn}': void pointer \`${name}' - buffer size unknown (give \`size=')`);
  } else {
    if ((isArray || isary) && (type.pointer > 0 || isptr)) throw new EdlError('EDL_POINTER_ARRAY', nameAt, `\`${fn}': pointer array not allowed - \`${name}' is a pointer array`);
    if (str && !(type.kind === 'builtin' && (type.name === 'char' || type.name === 'unsigned char') && type.pointer === 1 && !isArray)) {
      throw new EdlError('EDL_STRING_TYPE', str.at, `\`${fn}': invalid \`string' attribute - \`${name}' is not a char pointer`);
    }
    if (wstr && !(type.kind === 'builtin' && type.name === 'wchar_t' && type.pointer === 1 && !isArray)) {
      throw new EdlError('EDL_STRING_TYPE', wstr.at, `\`${fn}': invalid \`wstring' attribute - \`${name}' is not a wchar_t pointer`);
    }
    if (isArray) {
      const bad = size ?? count ?? isary;
      if (bad) throw new EdlError('EDL_ARRAY_SIZE_ATTRIBUTE', bad.at, `\`${fn}': invalid \`${bad.key}' attribute - \`${name}' is an explicitly declared array`);
    }
  }

  const out: ParamAttributes = {};
  if (direction) out.direction = direction;
  if (size) out.size = size.value!;
  if (count) out.count = count.value!;
  if (str) out.string = true;
  if (wstr) out.wstring = true;
  if (userCheck) out.userCheck = true;
  if (isptr) out.isptr = true;
  if (isary) out.isary = true;
  if (readonly) out.readonly = true;
  return out;
}

/** A `size=`/`count=` naming something; `what` ("parameter", "member") for messages. */
export interface SizeReference {
  readonly owner: string;
  readonly subject: string;
  readonly key: 'size' | 'count';
  readonly attribute: RawAttribute;
}

/**
 * Checks that every `size=name`/`count=name` names one of `siblings` with an integer type.
 * @throws EdlError `EDL_SIZE_REFERENCE` (no such parameter/member), `EDL_SIZE_REFERENCE_TYPE` (not an integer)
 */
export function checkSizeReferences(refs: readonly SizeReference[], siblings: ReadonlyMap<string, TypeRef>, what: 'parameter' | 'member'): void {
  for (const r of refs) {
    const target = r.attribute.value;
    if (typeof target !== 'string') continue;
    const at = r.attribute.valueAt ?? r.attribute.at;
    const t = siblings.get(target);
    if (!t) throw new EdlError('EDL_SIZE_REFERENCE', at, `\`${r.owner}': ${what} \`${target}' (the \`${r.key}' of \`${r.subject}') not found`);
    if (!isIntegerValue(t)) throw new EdlError('EDL_SIZE_REFERENCE_TYPE', at, `\`${r.owner}': the \`${r.key}' of \`${r.subject}' names \`${target}' of type \`${t.spelling}', which is not an integer`);
  }
}

/**
 * A struct member's deep-copy attributes: only `size`/`count`, at least one of them, on a pointer.
 * @throws EdlError `EDL_MEMBER_ATTRIBUTE`, `EDL_NOT_A_POINTER`, `EDL_VOID_SIZE`
 */
export function checkMemberAttributes(struct: string, name: string, nameAt: EdlLocation, type: TypeRef, block: AttributeBlock): MemberAttributes {
  for (const x of block.list) {
    if (x.key !== 'size' && x.key !== 'count') throw new EdlError('EDL_MEMBER_ATTRIBUTE', x.at, `\`${struct}': attribute \`${x.key}' is not allowed on a structure member`);
  }
  const size = block.get('size');
  const count = block.get('count');
  if (!size && !count) throw new EdlError('EDL_MEMBER_ATTRIBUTE', block.at, `\`${struct}': attributes of a structure member must give \`size' or \`count'`);
  if (type.pointer === 0) throw new EdlError('EDL_NOT_A_POINTER', block.list[0]!.at, `\`${struct}': \`${name}' specifies a deep copy, but \`${type.spelling}' is not a pointer`);
  if (type.kind === 'builtin' && type.name === 'void' && type.pointer === 1 && !size) throw new EdlError('EDL_VOID_SIZE', nameAt, `\`${struct}': void pointer \`${name}' - buffer size unknown (give \`size=')`);
  const out: MemberAttributes = {};
  if (size) out.size = size.value!;
  if (count) out.count = count.value!;
  return out;
}

/** Attributes before an untrusted function's return type. */
export interface FunctionAttributes {
  callingConvention?: CallingConvention;
  dllimport: boolean;
}

/**
 * `[cdecl]`, `[stdcall]`, `[fastcall]` (at most one) and `[dllimport]` before an OCALL.
 * @throws EdlError `EDL_UNKNOWN_ATTRIBUTE`, `EDL_FUNCTION_ATTRIBUTE`, `EDL_ATTRIBUTE_VALUE`
 */
export function checkFunctionAttributes(list: readonly RawAttribute[]): FunctionAttributes {
  const out: FunctionAttributes = { dllimport: false };
  for (const x of list) {
    if (x.value !== null) throw new EdlError('EDL_ATTRIBUTE_VALUE', x.valueAt ?? x.at, `attribute \`${x.key}' takes no value`);
    if (x.key === 'cdecl' || x.key === 'stdcall' || x.key === 'fastcall') {
      if (out.callingConvention) throw new EdlError('EDL_FUNCTION_ATTRIBUTE', x.at, `unexpected \`${x.key}', conflicts with \`${out.callingConvention}'`);
      out.callingConvention = x.key;
    } else if (x.key === 'dllimport') {
      if (out.dllimport) throw new EdlError('EDL_DUPLICATE_ATTRIBUTE', x.at, "duplicated attribute: `dllimport'");
      out.dllimport = true;
    } else {
      throw new EdlError('EDL_UNKNOWN_ATTRIBUTE', x.at, `invalid function attribute: \`${x.key}'`);
    }
  }
  return out;
}
