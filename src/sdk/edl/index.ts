/**
 * EDL, the Enclave Definition Language of the Intel SGX SDK: parsing and checking as edger8r
 * does, import resolution, and the wasm32 layout of the types an interface names.
 */
export { EdlError, formatLocation, type EdlLocation } from './errors.js';
export { parseEdl } from './parser.js';
export { resolveEdl } from './resolve.js';
export { readEdlFile } from './paths.js';
export { BUILTIN_TYPES, POINTER_SIZE, ENUM_SIZE, isIntegerValue } from './layout.js';
export type {
  CallingConvention,
  Direction,
  EdlFile,
  EdlInterface,
  EdlReader,
  EdlWarning,
  EnumDef,
  Enumerator,
  ImportDecl,
  ImportedName,
  IncludeDecl,
  IncludeScope,
  Member,
  MemberAttributes,
  Param,
  ParamAttributes,
  ResolveOptions,
  StructDef,
  TrustedFunction,
  TypeKind,
  TypeRef,
  UnionDef,
  UntrustedFunction,
} from './types.js';
