/**
 * The data model of an EDL file and of a resolved enclave interface. Everything here is plain,
 * JSON-friendly data (no classes, no bigint): a parsed interface can be printed with
 * `JSON.stringify`, stored and compared.
 */
import type { EdlLocation } from './errors.js';

/** What a type name refers to: a C base type, an EDL-defined (or header-defined) tag, or a typedef name from a C header. */
export type TypeKind = 'builtin' | 'struct' | 'union' | 'enum' | 'foreign';

/**
 * A C type as written in EDL, with its size and alignment on wasm32 (ILP32: pointers, `size_t`,
 * `long` and `wchar_t` are 4 bytes; `long long` and `double` 8; `long double` 16).
 *
 * `size`/`align` describe the declared object (a pointer is 4 bytes whatever it points to; an
 * array is `baseSize` times its dimensions); `baseSize`/`baseAlign` describe the named type itself.
 * They are `null` where the type comes from a C header that Witness does not read (a typedef
 * name, or a struct/union tag not defined in the EDL).
 */
export interface TypeRef {
  readonly kind: TypeKind;
  /** Canonical name: `unsigned int`, `long long`, `uint8_t`, a struct/union/enum tag, or a typedef name. */
  readonly name: string;
  /** `const` qualifies what the pointer points to (EDL allows `const` only on pointer parameters). */
  readonly const: boolean;
  /** Pointer depth: `char **` is 2. */
  readonly pointer: number;
  /** Array dimensions from the declarator, outermost first: `int a[2][3]` is `[2, 3]`. */
  readonly dims: readonly number[];
  readonly size: number | null;
  readonly align: number | null;
  readonly baseSize: number | null;
  readonly baseAlign: number | null;
  /** The type spelled in C, e.g. `const char *`, `struct foo_t`, `int [4]`. */
  readonly spelling: string;
}

/** Pointer direction: copied in, copied out, or both. */
export type Direction = 'in' | 'out' | 'in,out';

/**
 * The bracketed attributes of a parameter, as written (only the keys that were given are present).
 * A numeric `size`/`count` is a byte/element count; a string names another parameter.
 */
export interface ParamAttributes {
  direction?: Direction;
  size?: number | string;
  count?: number | string;
  string?: boolean;
  wstring?: boolean;
  userCheck?: boolean;
  isptr?: boolean;
  isary?: boolean;
  readonly?: boolean;
}

export interface Param {
  readonly name: string;
  readonly type: TypeRef;
  readonly attributes: ParamAttributes;
  readonly location: EdlLocation;
}

/** An ECALL. Without `public` it is private: callable only from an OCALL whose `allow()` names it. */
export interface TrustedFunction {
  readonly name: string;
  readonly public: boolean;
  readonly params: readonly Param[];
  readonly returns: TypeRef;
  /** `transition_using_threads`: a switchless ECALL. */
  readonly transitionUsingThreads: boolean;
  readonly location: EdlLocation;
}

export type CallingConvention = 'cdecl' | 'stdcall' | 'fastcall';

/** An OCALL. */
export interface UntrustedFunction {
  readonly name: string;
  readonly params: readonly Param[];
  readonly returns: TypeRef;
  /** ECALLs (public or private) that may be called while this OCALL runs. */
  readonly allow: readonly string[];
  /** Where each `allow()` name was written. */
  readonly allowLocations: readonly EdlLocation[];
  readonly propagateErrno: boolean;
  readonly transitionUsingThreads: boolean;
  /** `[cdecl]`, `[stdcall]` or `[fastcall]` before the return type, if given. */
  readonly callingConvention?: CallingConvention;
  /** `[dllimport]` before the return type. */
  readonly dllimport: boolean;
  readonly location: EdlLocation;
}

/** Deep-copy attributes of a struct member: `[size=field]`, `[count=field]` or numeric. */
export interface MemberAttributes {
  size?: number | string;
  count?: number | string;
}

export interface Member {
  readonly name: string;
  readonly type: TypeRef;
  /** Byte offset on wasm32, `null` after a member of unknown size. Always 0 in a union. */
  readonly offset: number | null;
  readonly attributes: MemberAttributes;
  readonly location: EdlLocation;
}

export interface StructDef {
  readonly name: string;
  readonly members: readonly Member[];
  readonly size: number | null;
  readonly align: number | null;
  /** Some pointer member has `size`/`count`: edger8r copies what it points to. */
  readonly deepCopy: boolean;
  readonly location: EdlLocation;
}

export interface UnionDef {
  readonly name: string;
  readonly members: readonly Member[];
  readonly size: number | null;
  readonly align: number | null;
  readonly location: EdlLocation;
}

export interface Enumerator {
  readonly name: string;
  /** The value, or `null` when it depends on a name the EDL does not define (a macro from a header). */
  readonly value: number | null;
  /** The explicit initializer as written (tokens joined by spaces), if any. */
  readonly expression?: string;
  readonly location: EdlLocation;
}

export interface EnumDef {
  /** The tag; `''` for an anonymous enum. */
  readonly name: string;
  readonly members: readonly Enumerator[];
  /** Always 4 on wasm32 (enums are `int`-sized). */
  readonly size: number;
  readonly align: number;
  readonly location: EdlLocation;
}

/** Where an `include "x.h"` stood: at enclave scope or at the head of a trusted/untrusted block. */
export type IncludeScope = 'enclave' | 'trusted' | 'untrusted';

export interface IncludeDecl {
  readonly path: string;
  readonly scope: IncludeScope;
  readonly location: EdlLocation;
}

export interface ImportedName {
  readonly name: string;
  readonly location: EdlLocation;
}

/** `from "x.edl" import a, b;` or `from "x.edl" import *;` */
export interface ImportDecl {
  readonly path: string;
  /** `import *`. */
  readonly all: boolean;
  readonly names: readonly ImportedName[];
  /** The location of the quoted path. */
  readonly location: EdlLocation;
}

/** One EDL file, parsed and checked on its own (imports recorded, not followed). */
export interface EdlFile {
  readonly file: string;
  /** The `enclave` keyword. */
  readonly location: EdlLocation;
  readonly includes: readonly IncludeDecl[];
  readonly imports: readonly ImportDecl[];
  readonly trusted: readonly TrustedFunction[];
  readonly untrusted: readonly UntrustedFunction[];
  readonly structs: readonly StructDef[];
  readonly enums: readonly EnumDef[];
  readonly unions: readonly UnionDef[];
}

/** Something edger8r warns about (the interface is still valid). */
export interface EdlWarning {
  readonly code: string;
  readonly message: string;
  readonly location: EdlLocation;
}

/** An enclave interface: the root EDL with every `from ... import` followed and every check done. */
export interface EdlInterface {
  /** The root file, as given. */
  readonly file: string;
  readonly trusted: readonly TrustedFunction[];
  readonly untrusted: readonly UntrustedFunction[];
  readonly structs: readonly StructDef[];
  readonly enums: readonly EnumDef[];
  readonly unions: readonly UnionDef[];
  /** Headers named by `include` in every file read, first occurrence first. */
  readonly includes: readonly string[];
  /** Every EDL file read, root first. */
  readonly files: readonly string[];
  readonly warnings: readonly EdlWarning[];
}

/** Reads a file; `null` means "no such file" (the next search path is tried). */
export type EdlReader = (path: string) => string | null;

export interface ResolveOptions {
  /** Directories searched for `from "x.edl"` after the importing file's own directory. */
  searchPaths?: readonly string[];
  /** Defaults to a node:fs reader (UTF-8; `null` for a missing file). */
  readFile?: EdlReader;
  /**
   * edger8r refuses an enclave without a public ECALL unless run with `--header-only`.
   * Default `true`; `false` accepts library EDLs such as an `sgx_tstdc.edl` on their own.
   */
  requirePublicEcall?: boolean;
}
