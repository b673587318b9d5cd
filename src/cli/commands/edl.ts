import { delimiter } from 'node:path';
import { parseArgs } from 'node:util';
import {
  EdlError,
  formatLocation,
  readEdlFile,
  resolveEdl,
  type EdlInterface,
  type Member,
  type Param,
  type ParamAttributes,
  type TypeRef,
  type UntrustedFunction,
} from '../../sdk/edl/index.js';
import { readText, writeOutputs } from '../files.js';
import { basename } from 'node:path';
import { canonicalInterface, planInterface } from '../../sdk/interface.js';
import { generateCHeader, generateTsBindings, generateAsDeclarations } from '../../sdk/codegen.js';
import { CliError, toJson, type Io } from '../io.js';
import type { Command } from '../main.js';

/** `[in, out, size=len]`, in a fixed order. */
function attributeText(a: ParamAttributes): string {
  const parts: string[] = [];
  if (a.direction) parts.push(a.direction === 'in,out' ? 'in, out' : a.direction);
  if (a.size !== undefined) parts.push(`size=${a.size}`);
  if (a.count !== undefined) parts.push(`count=${a.count}`);
  if (a.string) parts.push('string');
  if (a.wstring) parts.push('wstring');
  if (a.userCheck) parts.push('user_check');
  if (a.isptr) parts.push('isptr');
  if (a.isary) parts.push('isary');
  if (a.readonly) parts.push('readonly');
  return parts.length ? `[${parts.join(', ')}] ` : '';
}

/** `const char *name[4]`: a declaration in C syntax. */
function declaration(t: TypeRef, name: string): string {
  const base = t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum' ? `${t.kind} ${t.name}` : t.name;
  const stars = '*'.repeat(t.pointer);
  return `${t.const ? 'const ' : ''}${base} ${stars}${name}${t.dims.map((d) => `[${d}]`).join('')}`;
}

const paramList = (ps: readonly Param[]): string => (ps.length ? ps.map((p) => attributeText(p.attributes) + declaration(p.type, p.name)).join(', ') : 'void');
const sizeText = (size: number | null, align: number | null): string => (size === null ? 'size unknown (a C header defines part of it)' : `size ${size}, align ${align}`);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function untrustedSuffix(f: UntrustedFunction): string {
  let s = f.allow.length ? ` allow(${f.allow.join(', ')})` : '';
  if (f.propagateErrno) s += ' propagate_errno';
  if (f.transitionUsingThreads) s += ' transition_using_threads';
  return s;
}

function untrustedPrefix(f: UntrustedFunction): string {
  const a = [...(f.callingConvention ? [f.callingConvention] : []), ...(f.dllimport ? ['dllimport'] : [])];
  return a.length ? `[${a.join(', ')}] ` : '';
}

function summary(itf: EdlInterface): string {
  const pub = itf.trusted.filter((f) => f.public).length;
  const lines = [
    `${itf.file}${itf.files.length > 1 ? ` (+${plural(itf.files.length - 1, 'imported file')})` : ''}: ` +
      `${plural(itf.trusted.length, 'ECALL')} (${pub} public), ${plural(itf.untrusted.length, 'OCALL')}, ` +
      `${plural(itf.structs.length, 'struct')}, ${plural(itf.unions.length, 'union')}, ${plural(itf.enums.length, 'enum')}`,
  ];
  if (itf.includes.length) lines.push(`includes: ${itf.includes.map((i) => `"${i}"`).join(' ')}`);
  const member = (m: Member, withOffset: boolean): string =>
    `    ${withOffset ? `+${m.offset ?? '?'}`.padEnd(6) : ''}${attributeText(m.attributes as ParamAttributes)}${declaration(m.type, m.name)}`;
  if (itf.trusted.length) {
    lines.push('', 'trusted:');
    for (const f of itf.trusted) {
      lines.push(`  ${(f.public ? 'public' : 'private').padEnd(8)}${declaration(f.returns, f.name)}(${paramList(f.params)})${f.transitionUsingThreads ? ' transition_using_threads' : ''}`);
    }
  }
  if (itf.untrusted.length) {
    lines.push('', 'untrusted:');
    for (const f of itf.untrusted) lines.push(`  ${untrustedPrefix(f)}${declaration(f.returns, f.name)}(${paramList(f.params)})${untrustedSuffix(f)}`);
  }
  for (const s of itf.structs) {
    lines.push('', `struct ${s.name}: ${sizeText(s.size, s.align)}${s.deepCopy ? ', deep copy' : ''}`);
    for (const m of s.members) lines.push(member(m, true));
  }
  for (const u of itf.unions) {
    lines.push('', `union ${u.name}: ${sizeText(u.size, u.align)}`);
    for (const m of u.members) lines.push(member(m, false));
  }
  for (const e of itf.enums) {
    lines.push('', `enum ${e.name || '(anonymous)'}:`);
    for (const m of e.members) lines.push(`    ${m.name} = ${m.value ?? `? (${m.expression ?? ''})`}`);
  }
  return lines.join('\n');
}

/** The JSON form: the interface without source locations. */
function jsonForm(itf: EdlInterface): unknown {
  const param = (p: Param): unknown => ({ name: p.name, type: p.type, attributes: p.attributes });
  const member = (m: Member): unknown => ({ name: m.name, type: m.type, offset: m.offset, attributes: m.attributes });
  return {
    trusted: itf.trusted.map((f) => ({ name: f.name, public: f.public, params: f.params.map(param), returns: f.returns })),
    untrusted: itf.untrusted.map((f) => ({ name: f.name, params: f.params.map(param), returns: f.returns, allow: f.allow })),
    structs: itf.structs.map((s) => ({ name: s.name, size: s.size, align: s.align, deepCopy: s.deepCopy, members: s.members.map(member) })),
    enums: itf.enums.map((e) => ({ name: e.name, size: e.size, members: e.members.map((m) => ({ name: m.name, value: m.value, ...(m.expression !== undefined ? { expression: m.expression } : {}) })) })),
    unions: itf.unions.map((u) => ({ name: u.name, size: u.size, align: u.align, members: u.members.map(member) })),
  };
}

export const command: Command = {
  name: 'edl',
  usage: 'witness edl FILE.edl [--search-path DIR]... [--library] [--json]\n\n' +
    '  --search-path DIR  where `from "x.edl" import` looks after the importing file\'s directory\n' +
    `                     (repeatable; '${delimiter}' separates several)\n` +
    '  --library          do not require a public ECALL (a library EDL such as sgx_tstdc.edl)\n' +
    '  --json             print the interface as JSON\n' +
    '  --c-header FILE    write the enclave-side C header (types, ECALL prototypes, OCALL imports)\n' +
    '  --ts FILE          write typed TypeScript host bindings\n' +
    '  --as FILE          write AssemblyScript declarations\n\n' +
    'Exit 0: the EDL is valid. Exit 1: it is not; each error prints as FILE:LINE:COLUMN: message.\n' +
    'Exit 2: FILE cannot be read, an output cannot be written, or the interface cannot be generated\n' +
    'for Witness enclaves (e.g. a structure passed by value).',
  example: 'witness edl Enclave/Enclave.edl --search-path /opt/intel/sgxsdk/include --json',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, library: { type: 'boolean' }, 'search-path': { type: 'string', multiple: true }, 'c-header': { type: 'string' }, ts: { type: 'string' }, as: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new CliError('CLI_USAGE', 'expected exactly one EDL file (see --help)');
    const path = positionals[0]!;
    const text = readText(path);
    const searchPaths = (values['search-path'] ?? []).flatMap((s) => s.split(delimiter)).filter((s) => s !== '');
    let itf: EdlInterface;
    try {
      itf = resolveEdl(path, { searchPaths, readFile: (p) => (p === path ? text : readEdlFile(p)), requirePublicEcall: !values.library });
    } catch (e) {
      if (e instanceof EdlError) {
        io.err(e.message);
        return 1;
      }
      throw e;
    }
    for (const w of itf.warnings) io.err(`${formatLocation(w.location)}: warning: ${w.message}`);
    const name = basename(path).replace(/\.edl$/, '');
    if (values['c-header'] || values.ts || values.as) {
      const canonical = canonicalInterface(itf);
      // What Witness cannot marshal (a structure by value, a nested deep copy) is refused before any file is
      // written, the C header's included: the module would compile and `witness build` refuse it.
      planInterface(canonical);
      writeOutputs([
        ...(values['c-header'] ? [{ path: values['c-header'], data: generateCHeader(canonical, name, itf.includes) }] : []),
        ...(values.ts ? [{ path: values.ts, data: generateTsBindings(canonical, name) }] : []),
        ...(values.as ? [{ path: values.as, data: generateAsDeclarations(canonical, name) }] : []),
      ]);
    }
    io.out(values.json ? toJson(jsonForm(itf)) : summary(itf));
    return 0;
  },
};
