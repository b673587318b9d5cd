/**
 * The EDL parser: edger8r's grammar (Parser.mly) by recursive descent, with its checks on
 * attributes and declarations, and the checks that need only one file (duplicate names within
 * the file, `size=`/`count=` naming a parameter or member). Imports are recorded, not followed:
 * see resolve.ts.
 *
 * ```
 * file      := 'enclave' '{' item* '}' ';' EOF
 * item      := 'include' STRING
 *            | 'from' STRING 'import' ('*' | IDENT (',' IDENT)*) ';'
 *            | 'struct' IDENT '{' (attrs? type declarator ';')+ '}' ';'
 *            | 'union' IDENT '{' (type declarator ';')+ '}' ';'
 *            | 'enum' IDENT? '{' (enumerator (',' enumerator)*)? '}' ';'
 *            | 'trusted' '{' ('include' STRING)* ('public'? func 'transition_using_threads'? ';')* '}' ';'
 *            | 'untrusted' '{' ('include' STRING)* (attrs? func allow? postfix ';')* '}' ';'
 * func      := type IDENT '(' ('void' | param (',' param)*)? ')'
 * param     := attrs? 'const'? type declarator          (`const` only before a pointer type)
 * type      := type-spec '*'*
 * declarator:= IDENT ('[' NUMBER ']')*
 * allow     := 'allow' '(' (IDENT (',' IDENT)*)? ')'
 * postfix   := ('propagate_errno' 'transition_using_threads'? | 'transition_using_threads' 'propagate_errno'?)?
 * attrs     := '[' IDENT ('=' (IDENT | NUMBER))? (',' ...)* ']'
 * ```
 */
import {
  checkFunctionAttributes,
  checkMemberAttributes,
  checkParamAttributes,
  checkSizeReferences,
  pointerAttributeBlock,
  type RawAttribute,
  type SizeReference,
} from './attributes.js';
import { complete } from './complete.js';
import { EdlError, type EdlLocation } from './errors.js';
import { formatExpr, parseExpr } from './expr.js';
import { describeToken, tokenize, type Token } from './lexer.js';
import { typeRef } from './layout.js';
import type {
  EdlFile,
  EnumDef,
  Enumerator,
  ImportDecl,
  ImportedName,
  IncludeDecl,
  IncludeScope,
  Member,
  MemberAttributes,
  Param,
  StructDef,
  TrustedFunction,
  TypeKind,
  TypeRef,
  UnionDef,
  UntrustedFunction,
} from './types.js';

const BASE_KEYWORDS = new Set(['float', 'double', 'void', 'bool', 'int8_t', 'int16_t', 'int32_t', 'int64_t', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t', 'size_t', 'wchar_t']);

interface TypeSpec {
  readonly kind: TypeKind;
  readonly name: string;
  readonly at: EdlLocation;
}

interface FuncHead {
  readonly name: string;
  readonly nameAt: EdlLocation;
  readonly returns: TypeRef;
  readonly params: Param[];
}

class Parser {
  private pos = 0;
  readonly includes: IncludeDecl[] = [];
  readonly imports: ImportDecl[] = [];
  readonly trusted: TrustedFunction[] = [];
  readonly untrusted: UntrustedFunction[] = [];
  readonly structs: StructDef[] = [];
  readonly enums: EnumDef[] = [];
  readonly unions: UnionDef[] = [];
  enclaveAt: EdlLocation = { file: '', line: 0, column: 0 };

  constructor(
    private readonly tokens: readonly Token[],
    private readonly file: string,
  ) {}

  // ---- token helpers -------------------------------------------------------------------------

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }

  at(t: Token): EdlLocation {
    return { file: this.file, line: t.line, column: t.column };
  }

  private is(t: Token, text: string): boolean {
    return (t.kind === 'punct' || t.kind === 'keyword') && t.text === text;
  }

  private accept(text: string): Token | null {
    return this.is(this.peek(), text) ? this.next() : null;
  }

  private unexpected(t: Token, expected: string): EdlError {
    return new EdlError('EDL_SYNTAX', this.at(t), `unexpected ${describeToken(t)}; expected ${expected}`);
  }

  private expect(text: string, expected = `\`${text}'`): Token {
    const t = this.peek();
    if (!this.is(t, text)) throw this.unexpected(t, expected);
    return this.next();
  }

  private expectKind(kind: 'ident' | 'string' | 'number', expected: string): Token {
    const t = this.peek();
    if (t.kind !== kind) throw this.unexpected(t, expected);
    return this.next();
  }

  // ---- file structure ------------------------------------------------------------------------

  parseFile(): void {
    this.enclaveAt = this.at(this.expect('enclave', '`enclave\''));
    this.expect('{');
    for (;;) {
      const t = this.peek();
      if (this.is(t, '}')) break;
      if (this.is(t, 'include')) this.parseInclude('enclave');
      else if (this.is(t, 'from')) this.parseImport();
      else if (this.is(t, 'struct')) this.parseStruct();
      else if (this.is(t, 'union')) this.parseUnion();
      else if (this.is(t, 'enum')) this.parseEnum();
      else if (this.is(t, 'trusted')) this.parseBlock(true);
      else if (this.is(t, 'untrusted')) this.parseBlock(false);
      else throw this.unexpected(t, "`trusted', `untrusted', `include', `from', `struct', `union', `enum' or `}'");
    }
    this.next();
    this.expect(';');
    const end = this.peek();
    if (end.kind !== 'eof') throw this.unexpected(end, 'end of file');
  }

  private parseInclude(scope: IncludeScope): void {
    this.next();
    const s = this.expectKind('string', 'a quoted header name after `include\'');
    this.includes.push({ path: s.text, scope, location: this.at(s) });
  }

  private parseImport(): void {
    this.next();
    const path = this.expectKind('string', 'a quoted EDL file name after `from\'');
    this.expect('import');
    const names: ImportedName[] = [];
    let all = false;
    if (this.accept('*')) all = true;
    else {
      do {
        const n = this.expectKind('ident', 'a function name or `*\'');
        names.push({ name: n.text, location: this.at(n) });
      } while (this.accept(','));
    }
    this.expect(';');
    this.imports.push({ path: path.text, all, names, location: this.at(path) });
  }

  // ---- types ---------------------------------------------------------------------------------

  /** edger8r's type_spec (with `long long int` and `bool` accepted as well). */
  private parseTypeSpec(expected = 'a type'): TypeSpec {
    const t = this.peek();
    const at = this.at(t);
    const builtin = (name: string): TypeSpec => ({ kind: 'builtin', name, at });
    if (t.kind === 'ident') {
      this.next();
      return { kind: 'foreign', name: t.text, at };
    }
    if (t.kind !== 'keyword') throw this.unexpected(t, expected);
    switch (t.text) {
      case 'struct':
      case 'union':
      case 'enum': {
        this.next();
        const n = this.expectKind('ident', `a tag name after \`${t.text}'`);
        return { kind: t.text, name: n.text, at };
      }
      case 'char':
        this.next();
        return builtin('char');
      case 'int':
        this.next();
        return builtin('int');
      case 'short':
        this.next();
        this.accept('int');
        return builtin('short');
      case 'long':
        this.next();
        if (this.accept('long')) {
          this.accept('int');
          return builtin('long long');
        }
        if (this.accept('double')) return builtin('long double');
        this.accept('int');
        return builtin('long');
      case 'unsigned':
        this.next();
        if (this.accept('char')) return builtin('unsigned char');
        if (this.accept('short')) {
          this.accept('int');
          return builtin('unsigned short');
        }
        if (this.accept('long')) {
          if (this.accept('long')) {
            this.accept('int');
            return builtin('unsigned long long');
          }
          this.accept('int');
          return builtin('unsigned long');
        }
        this.accept('int');
        return builtin('unsigned int');
      default:
        if (BASE_KEYWORDS.has(t.text)) {
          this.next();
          return builtin(t.text);
        }
        throw this.unexpected(t, expected);
    }
  }

  private parsePointers(): number {
    let n = 0;
    while (this.accept('*')) n++;
    return n;
  }

  /** `t`, a number written in decimal: outside enum initializers edger8r's lexer reads only digits (Lexer.mll), so `0x10' is an error there. */
  private decimal(t: Token): Token {
    if (/^0[xX]/.test(t.text)) throw new EdlError('EDL_SYNTAX', this.at(t), `hexadecimal number \`${t.text}' is accepted only in an enum initializer (edger8r reads decimal numbers here)`);
    return t;
  }

  /** `[N]...` after a declarator name. */
  private parseDims(): number[] {
    const dims: number[] = [];
    while (this.is(this.peek(), '[')) {
      const open = this.next();
      const n = this.peek();
      if (this.is(n, ']')) throw new EdlError('EDL_ARRAY_DIMENSION', this.at(open), 'flexible array is not supported');
      const num = this.decimal(this.expectKind('number', 'an array dimension (a number)'));
      if (num.value === 0) throw new EdlError('EDL_ARRAY_DIMENSION', this.at(num), 'zero-length array is not supported');
      this.expect(']');
      dims.push(num.value);
    }
    return dims;
  }

  /** `[ key (= value)?, ... ]` (the caller has seen `[`). */
  private parseAttributeList(): { at: EdlLocation; list: RawAttribute[] } {
    const open = this.next();
    if (this.is(this.peek(), ']')) throw new EdlError('EDL_EMPTY_ATTRIBUTES', this.at(open), 'no attribute specified in `[]\'');
    const list: RawAttribute[] = [];
    do {
      const key = this.expectKind('ident', 'an attribute name');
      let value: number | string | null = null;
      let valueAt: EdlLocation | null = null;
      if (this.accept('=')) {
        const v = this.peek();
        if (v.kind !== 'ident' && v.kind !== 'number') throw this.unexpected(v, `a number or a name as the value of \`${key.text}'`);
        this.next();
        value = v.kind === 'number' ? this.decimal(v).value : v.text;
        valueAt = this.at(v);
      }
      list.push({ key: key.text, value, at: this.at(key), valueAt });
    } while (this.accept(','));
    this.expect(']', "`,' or `]'");
    return { at: this.at(open), list };
  }

  // ---- composite types -----------------------------------------------------------------------

  private parseStruct(): void {
    this.next();
    const name = this.expectKind('ident', 'a struct name');
    this.expect('{');
    const members: Member[] = [];
    const refs: SizeReference[] = [];
    const seen = new Map<string, TypeRef>();
    do {
      const attrs = this.is(this.peek(), '[') ? this.parseAttributeList() : null;
      const spec = this.parseTypeSpec('a member type');
      const pointer = this.parsePointers();
      const id = this.expectKind('ident', 'a member name');
      const dims = this.parseDims();
      const type = typeRef(spec.kind, spec.name, false, pointer, dims);
      const at = this.at(id);
      if (spec.kind === 'builtin' && spec.name === 'void' && pointer === 0) throw new EdlError('EDL_VOID_MEMBER', at, `\`${name.text}': member \`${id.text}' has type \`void'`);
      let attributes: MemberAttributes = {};
      if (attrs) {
        const block = pointerAttributeBlock(attrs.at, attrs.list);
        attributes = checkMemberAttributes(name.text, id.text, at, type, block);
        for (const k of ['size', 'count'] as const) {
          const a = block.get(k);
          if (a) refs.push({ owner: name.text, subject: id.text, key: k, attribute: a });
        }
      }
      if (seen.has(id.text)) throw new EdlError('EDL_DUPLICATE_MEMBER', at, `\`${name.text}': duplicate member \`${id.text}'`);
      seen.set(id.text, type);
      members.push({ name: id.text, type, offset: null, attributes, location: at });
      this.expect(';', "`;' after a member");
    } while (!this.is(this.peek(), '}'));
    this.next();
    this.expect(';', "`;' after a struct definition");
    checkSizeReferences(refs, seen, 'member');
    const deepCopy = members.some((m) => m.attributes.size !== undefined || m.attributes.count !== undefined);
    this.structs.push({ name: name.text, members, size: null, align: null, deepCopy, location: this.at(name) });
  }

  private parseUnion(): void {
    this.next();
    const name = this.expectKind('ident', 'a union name');
    this.expect('{');
    const members: Member[] = [];
    const seen = new Set<string>();
    do {
      const t = this.peek();
      if (this.is(t, '[')) throw new EdlError('EDL_MEMBER_ATTRIBUTE', this.at(t), `\`${name.text}': union members cannot have attributes`);
      const spec = this.parseTypeSpec('a member type');
      const pointer = this.parsePointers();
      const id = this.expectKind('ident', 'a member name');
      const dims = this.parseDims();
      const at = this.at(id);
      if (spec.kind === 'builtin' && spec.name === 'void' && pointer === 0) throw new EdlError('EDL_VOID_MEMBER', at, `\`${name.text}': union member \`${id.text}' has type \`void'`);
      if (seen.has(id.text)) throw new EdlError('EDL_DUPLICATE_MEMBER', at, `\`${name.text}': duplicate member \`${id.text}'`);
      seen.add(id.text);
      members.push({ name: id.text, type: typeRef(spec.kind, spec.name, false, pointer, dims), offset: 0, attributes: {}, location: at });
      this.expect(';', "`;' after a member");
    } while (!this.is(this.peek(), '}'));
    this.next();
    this.expect(';', "`;' after a union definition");
    this.unions.push({ name: name.text, members, size: null, align: null, location: this.at(name) });
  }

  private parseEnum(): void {
    const kw = this.next();
    const nameTok = this.peek().kind === 'ident' ? this.next() : null;
    this.expect('{', nameTok ? "`{'" : "an enum name or `{'");
    const members: Enumerator[] = [];
    if (!this.is(this.peek(), '}')) {
      do {
        const id = this.expectKind('ident', 'an enumerator name');
        const at = this.at(id);
        if (this.accept('=')) {
          const expr = parseExpr({ peek: () => this.peek(), next: () => this.next(), at: (t) => this.at(t) });
          members.push({ name: id.text, value: null, expression: formatExpr(expr), location: at });
        } else {
          members.push({ name: id.text, value: null, location: at });
        }
      } while (this.accept(','));
    }
    this.expect('}', "`,' or `}'");
    this.expect(';', "`;' after an enum definition");
    this.enums.push({ name: nameTok?.text ?? '', members, size: 4, align: 4, location: this.at(nameTok ?? kw) });
  }

  // ---- functions -----------------------------------------------------------------------------

  private parseBlock(trusted: boolean): void {
    this.next();
    this.expect('{');
    while (this.is(this.peek(), 'include')) this.parseInclude(trusted ? 'trusted' : 'untrusted');
    while (!this.is(this.peek(), '}')) {
      if (trusted) this.parseTrusted();
      else this.parseUntrusted();
    }
    this.next();
    this.expect(';', `\`;' after the ${trusted ? 'trusted' : 'untrusted'} block`);
  }

  private parseTrusted(): void {
    const t = this.peek();
    const after = this.peek(1);
    if (t.kind === 'ident' && t.text === 'private' && (after.kind === 'keyword' || (after.kind === 'ident' && (this.peek(2).kind === 'ident' || this.is(this.peek(2), '*'))))) {
      throw new EdlError('EDL_SYNTAX', this.at(t), "`private' is not an EDL keyword: an ECALL without `public' is private");
    }
    const isPublic = this.accept('public') !== null;
    const head = this.parseFuncHead(isPublic ? 'a return type' : "`public', a return type or `}'");
    const switchless = this.accept('transition_using_threads') !== null;
    this.expect(';', switchless ? "`;'" : "`transition_using_threads' or `;'");
    this.trusted.push({ name: head.name, public: isPublic, params: head.params, returns: head.returns, transitionUsingThreads: switchless, location: head.nameAt });
  }

  private parseUntrusted(): void {
    const fattrs = this.is(this.peek(), '[') ? checkFunctionAttributes(this.parseAttributeList().list) : { dllimport: false };
    const head = this.parseFuncHead(fattrs.callingConvention || fattrs.dllimport ? 'a return type' : "a function attribute, a return type or `}'");
    const allow: string[] = [];
    const allowLocations: EdlLocation[] = [];
    if (this.accept('allow')) {
      this.expect('(');
      if (!this.is(this.peek(), ')')) {
        do {
          const n = this.expectKind('ident', 'an ECALL name');
          allow.push(n.text);
          allowLocations.push(this.at(n));
        } while (this.accept(','));
      }
      this.expect(')', "`,' or `)'");
    }
    let propagateErrno = false;
    let switchless = false;
    if (this.accept('propagate_errno')) {
      propagateErrno = true;
      switchless = this.accept('transition_using_threads') !== null;
    } else if (this.accept('transition_using_threads')) {
      switchless = true;
      propagateErrno = this.accept('propagate_errno') !== null;
    }
    this.expect(';', "`;'");
    const f: UntrustedFunction = {
      name: head.name,
      params: head.params,
      returns: head.returns,
      allow,
      allowLocations,
      propagateErrno,
      transitionUsingThreads: switchless,
      ...(fattrs.callingConvention ? { callingConvention: fattrs.callingConvention } : {}),
      dllimport: fattrs.dllimport,
      location: head.nameAt,
    };
    this.untrusted.push(f);
  }

  private parseFuncHead(expected: string): FuncHead {
    const spec = this.parseTypeSpec(expected);
    const pointer = this.parsePointers();
    const t = this.peek();
    if (this.is(t, '[')) {
      this.parseDims();
      const n = this.peek();
      throw new EdlError('EDL_RETURN_ARRAY', this.at(t), `${n.kind === 'ident' ? `\`${n.text}': ` : ''}returning an array is not supported - use a pointer instead`);
    }
    const name = this.expectKind('ident', 'a function name');
    const returns = typeRef(spec.kind, spec.name, false, pointer, []);
    const params = this.parseParams(name.text);
    return { name: name.text, nameAt: this.at(name), returns, params };
  }

  private parseParams(fn: string): Param[] {
    this.expect('(', "`('");
    const params: Param[] = [];
    if (this.is(this.peek(), 'void') && this.is(this.peek(1), ')')) {
      this.next();
      this.next();
      return params;
    }
    const refs: SizeReference[] = [];
    const seen = new Map<string, TypeRef>();
    if (!this.is(this.peek(), ')')) {
      do {
        const attrs = this.is(this.peek(), '[') ? this.parseAttributeList() : null;
        const block = attrs ? pointerAttributeBlock(attrs.at, attrs.list) : null;
        const constTok = this.accept('const');
        const spec = this.parseTypeSpec('a parameter type');
        const pointer = this.parsePointers();
        if (constTok && pointer === 0) throw new EdlError('EDL_CONST_NOT_POINTER', this.at(constTok), `\`${fn}': \`const' is only allowed on a pointer parameter`);
        const id = this.expectKind('ident', pointer > 0 ? 'a parameter name' : "`*' or a parameter name");
        const dims = this.parseDims();
        const at = this.at(id);
        const type = typeRef(spec.kind, spec.name, constTok !== null, pointer, dims);
        if (spec.kind === 'builtin' && spec.name === 'void' && pointer === 0) throw new EdlError('EDL_VOID_PARAM', at, `\`${fn}': parameter \`${id.text}' has type \`void'`);
        const attributes = checkParamAttributes(fn, id.text, at, type, block, constTok ? this.at(constTok) : null);
        if (seen.has(id.text)) throw new EdlError('EDL_DUPLICATE_PARAM', at, `\`${fn}': duplicate parameter \`${id.text}'`);
        seen.set(id.text, type);
        for (const k of ['size', 'count'] as const) {
          const a = block?.get(k);
          if (a && attributes[k] !== undefined) refs.push({ owner: fn, subject: id.text, key: k, attribute: a });
        }
        params.push({ name: id.text, type, attributes, location: at });
      } while (this.accept(','));
    }
    this.expect(')', "`,' or `)'");
    // A typedef that `isptr`/`isary` declares a pointer or an array is not a size.
    const operands = new Map(params.map((p) => [p.name, p.attributes.isptr || p.attributes.isary ? { ...p.type, pointer: 1 } : p.type]));
    checkSizeReferences(refs, operands, 'parameter');
    return params;
  }
}

/** Within-file checks on names: functions, composite tags and enumerators defined twice. */
function checkFileDuplicates(p: Parser): void {
  const fns = new Set<string>();
  for (const f of [...p.trusted, ...p.untrusted].sort(byPosition)) {
    if (fns.has(f.name)) throw new EdlError('EDL_DUPLICATE_FUNCTION', f.location, `multiple definition of function \`${f.name}'`);
    fns.add(f.name);
  }
  const types = new Set<string>();
  for (const t of [...p.structs, ...p.unions, ...p.enums].filter((t) => t.name !== '').sort(byPosition)) {
    if (types.has(t.name)) throw new EdlError('EDL_DUPLICATE_TYPE', t.location, `duplicated type definition \`${t.name}'`);
    types.add(t.name);
  }
  const enumerators = new Set<string>();
  for (const e of p.enums) {
    for (const m of e.members) {
      if (enumerators.has(m.name)) throw new EdlError('EDL_DUPLICATE_ENUMERATOR', m.location, `duplicated enumerator \`${m.name}'`);
      enumerators.add(m.name);
    }
  }
}

function byPosition(a: { location: EdlLocation }, b: { location: EdlLocation }): number {
  return a.location.line - b.location.line || a.location.column - b.location.column;
}

/**
 * Parses and checks one EDL file; `from ... import` is recorded, not followed.
 * Sizes are computed against this file's own definitions (a struct defined in an imported file
 * has `size: null` here; {@link resolveEdl} sizes it).
 *
 * @throws EdlError on any syntax or validation error, the message starting with `FILE:LINE:COLUMN: `.
 * @example
 * const f = parseEdl('enclave { trusted { public void ecall_in([in] int *val); }; };', 'e.edl');
 * f.trusted[0].params[0].attributes; // { direction: 'in' }
 */
export function parseEdl(source: string, file: string): EdlFile {
  const p = new Parser(tokenize(source, file), file);
  p.parseFile();
  checkFileDuplicates(p);
  const done = complete(p);
  return {
    file,
    location: p.enclaveAt,
    includes: p.includes,
    imports: p.imports,
    trusted: done.trusted,
    untrusted: done.untrusted,
    structs: done.structs,
    enums: done.enums,
    unions: done.unions,
  };
}
