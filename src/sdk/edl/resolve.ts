/**
 * Following `from "x.edl" import ...` and the checks that need the whole enclave: edger8r's
 * reduce_import, check_duplication, check_structure, check_allow_list and check_priv_funcs.
 *
 * Semantics:
 * - an imported file is looked up in the importing file's directory, then in each search path;
 * - `import *` takes every function of the imported file and of everything it imports;
 *   `import a, b` takes `a` and `b` from that set, and it is an error if one is not there;
 * - struct, union and enum definitions, and `include` headers, of every file reached are part of
 *   the interface whatever functions were imported (edger8r does the same);
 * - a file reached twice (a diamond) is read once; a cycle is an error (edger8r: "detected
 *   circled import"), reported at the `from` that closes it.
 */
import { complete } from './complete.js';
import { EdlError, formatLocation, type EdlLocation } from './errors.js';
import { parseEdl } from './parser.js';
import { dirnameOf, joinPath, normalizePath, readEdlFile } from './paths.js';
import type {
  EdlFile,
  EdlInterface,
  EdlReader,
  EdlWarning,
  EnumDef,
  Param,
  ResolveOptions,
  StructDef,
  TrustedFunction,
  UnionDef,
  UntrustedFunction,
} from './types.js';

interface Node {
  readonly id: string;
  readonly edl: EdlFile;
  /** The functions this file offers to an importer: its own, then those it imports. */
  readonly trusted: readonly TrustedFunction[];
  readonly untrusted: readonly UntrustedFunction[];
  /** Files imported, in order (for the types and includes of the closure). */
  readonly children: readonly Node[];
}

const WHOLE_FILE = (file: string): EdlLocation => ({ file, line: 0, column: 0 });

function reason(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : e instanceof Object && 'message' in e ? String((e as { message: unknown }).message) : String(e);
}

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/**
 * Parses `path`, follows its imports and checks the whole interface.
 *
 * @param path the root EDL file, read as given.
 * @throws EdlError: any error of {@link parseEdl}, and `EDL_READ` (root unreadable: `FILE:0:0: ...`),
 *   `EDL_IMPORT_NOT_FOUND`, `EDL_IMPORT_CYCLE`, `EDL_IMPORT_NAME`, `EDL_DUPLICATE_FUNCTION`,
 *   `EDL_DUPLICATE_TYPE`, `EDL_DUPLICATE_ENUMERATOR`, `EDL_ALLOW_UNKNOWN`, `EDL_DEEP_COPY`,
 *   `EDL_NO_PUBLIC_ECALL`.
 * @example
 * const files = new Map([['main.edl', 'enclave { from "lib.edl" import *; trusted { public void go(void); }; };'],
 *                        ['lib.edl', 'enclave { untrusted { void log_it([in, string] const char *s); }; };']]);
 * const itf = resolveEdl('main.edl', { readFile: (p) => files.get(p) ?? null });
 * itf.untrusted.map((f) => f.name); // ['log_it']
 */
export function resolveEdl(path: string, options: ResolveOptions = {}): EdlInterface {
  const read: EdlReader = options.readFile ?? readEdlFile;
  const searchPaths = options.searchPaths ?? [];
  const nodes = new Map<string, Node>();
  const files: string[] = [];

  const parse = (file: string, text: string): EdlFile => {
    files.push(file);
    return parseEdl(text, file);
  };

  const visit = (id: string, edl: EdlFile, stack: readonly string[]): Node => {
    const trusted: TrustedFunction[] = [...edl.trusted];
    const untrusted: UntrustedFunction[] = [...edl.untrusted];
    const children: Node[] = [];
    for (const imp of edl.imports) {
      const dirs = [dirnameOf(edl.file), ...searchPaths];
      let found: { id: string; file: string; text: string | null } | null = null;
      for (const dir of dirs) {
        const file = joinPath(dir, imp.path);
        const fid = normalizePath(file);
        if (nodes.has(fid) || stack.includes(fid) || fid === id) {
          found = { id: fid, file, text: null };
          break;
        }
        let text: string | null;
        try {
          text = read(file);
        } catch (e) {
          throw new EdlError('EDL_READ', imp.location, `cannot read \`${file}': ${reason(e)}`, { cause: e });
        }
        if (text !== null) {
          found = { id: fid, file, text };
          break;
        }
      }
      if (!found) {
        const where = uniq(dirs.map((d) => (d === '' ? '.' : d))).join(', ');
        throw new EdlError('EDL_IMPORT_NOT_FOUND', imp.location, `cannot find \`${imp.path}' (searched: ${where})`);
      }
      if (found.id === id || stack.includes(found.id)) {
        const chain = [...stack, id].slice(stack.indexOf(found.id) === -1 ? stack.length : stack.indexOf(found.id));
        throw new EdlError('EDL_IMPORT_CYCLE', imp.location, `circular import: ${[...chain, found.id].join(' -> ')}`);
      }
      let child = nodes.get(found.id);
      if (!child) child = visit(found.id, parse(found.file, found.text!), [...stack, id]);
      children.push(child);
      if (imp.all) {
        trusted.push(...child.trusted);
        untrusted.push(...child.untrusted);
      } else {
        for (const n of imp.names) {
          const t = child.trusted.filter((f) => f.name === n.name);
          const u = child.untrusted.filter((f) => f.name === n.name);
          if (t.length === 0 && u.length === 0) throw new EdlError('EDL_IMPORT_NAME', n.location, `import failed - function \`${n.name}' not found in \`${child.edl.file}'`);
          trusted.push(...t);
          untrusted.push(...u);
        }
      }
    }
    const node: Node = { id, edl, trusted: uniq(trusted), untrusted: uniq(untrusted), children };
    nodes.set(id, node);
    return node;
  };

  let rootText: string | null;
  try {
    rootText = read(path);
  } catch (e) {
    throw new EdlError('EDL_READ', WHOLE_FILE(path), `cannot read \`${path}': ${reason(e)}`, { cause: e });
  }
  if (rootText === null) throw new EdlError('EDL_READ', WHOLE_FILE(path), `cannot read \`${path}': no such file`);
  const root = visit(normalizePath(path), parse(path, rootText), []);

  // Every file reached, depth first, each once: the source of types and includes.
  const closure: Node[] = [];
  const walk = (n: Node): void => {
    if (closure.includes(n)) return;
    closure.push(n);
    n.children.forEach(walk);
  };
  walk(root);

  const structs: StructDef[] = closure.flatMap((n) => n.edl.structs);
  const unions: UnionDef[] = closure.flatMap((n) => n.edl.unions);
  const enums: EnumDef[] = closure.flatMap((n) => n.edl.enums);
  checkUnique([...structs, ...unions, ...enums].filter((t) => t.name !== ''), 'EDL_DUPLICATE_TYPE', (n) => `duplicated type definition \`${n}'`);
  checkUnique(enums.flatMap((e) => e.members), 'EDL_DUPLICATE_ENUMERATOR', (n) => `duplicated enumerator \`${n}'`);
  checkUnique([...root.trusted, ...root.untrusted], 'EDL_DUPLICATE_FUNCTION', (n) => `multiple definition of function \`${n}'`);

  const warnings: EdlWarning[] = [];
  const done = complete({ trusted: root.trusted, untrusted: root.untrusted, structs, enums, unions }, (w) => warnings.push(w));

  checkAllowLists(done.trusted, done.untrusted);
  checkStructUse([...done.trusted, ...done.untrusted], done.structs, warnings);

  if (!done.trusted.some((f) => f.public)) {
    if (options.requirePublicEcall !== false) throw new EdlError('EDL_NO_PUBLIC_ECALL', root.edl.location, 'the enclave contains no public root ECALL');
  }
  const allowed = new Set(done.untrusted.flatMap((f) => f.allow));
  for (const f of done.trusted) {
    if (!f.public && !allowed.has(f.name)) warnings.push({ code: 'EDL_PRIVATE_UNUSED', location: f.location, message: `private ECALL \`${f.name}' is not used by any OCALL` });
  }

  return {
    file: path,
    trusted: done.trusted,
    untrusted: done.untrusted,
    structs: done.structs,
    enums: done.enums,
    unions: done.unions,
    includes: uniq(closure.flatMap((n) => n.edl.includes.map((i) => i.path))),
    files,
    warnings,
  };
}

/** The second definition of a name is the error, pointing back at the first. */
function checkUnique(items: readonly { name: string; location: EdlLocation }[], code: string, what: (name: string) => string): void {
  const first = new Map<string, EdlLocation>();
  for (const x of items) {
    const prev = first.get(x.name);
    if (prev) throw new EdlError(code, x.location, `${what(x.name)} (first defined at ${formatLocation(prev)})`);
    first.set(x.name, x.location);
  }
}

/** Every `allow()` name is an ECALL of the enclave (public or private). */
function checkAllowLists(trusted: readonly TrustedFunction[], untrusted: readonly UntrustedFunction[]): void {
  const ecalls = new Set(trusted.map((f) => f.name));
  const ocalls = new Set(untrusted.map((f) => f.name));
  for (const f of untrusted) {
    f.allow.forEach((name, i) => {
      if (ecalls.has(name)) return;
      const at = f.allowLocations[i] ?? f.location;
      const why = ocalls.has(name) ? ` (\`${name}' is an OCALL, not an ECALL)` : '';
      throw new EdlError('EDL_ALLOW_UNKNOWN', at, `\`${f.name}' declared to allow unknown function \`${name}'${why}`);
    });
  }
}

/** edger8r's check_structure: how a struct that asks for a deep copy may be passed. */
function checkStructUse(fns: readonly (TrustedFunction | UntrustedFunction)[], structs: readonly StructDef[], warnings: EdlWarning[]): void {
  const byName = new Map(structs.map((s) => [s.name, s]));
  for (const f of fns) {
    for (const p of f.params as readonly Param[]) {
      const t = p.type;
      const s = byName.get(t.name);
      if (!s) continue;
      if (t.kind === 'struct' && t.pointer === 0 && t.dims.length === 0) {
        if (s.deepCopy) throw new EdlError('EDL_DEEP_COPY', p.location, `\`${f.name}': struct \`${s.name}' specifies a deep copy and cannot be passed by value (\`${p.name}')`);
        if (s.members.some((m) => m.type.pointer > 0)) {
          warnings.push({ code: 'EDL_STRUCT_BY_VALUE', location: p.location, message: `\`${f.name}': struct \`${s.name}' is passed by value; what its pointer members point to is not copied` });
        }
      } else if (t.kind === 'struct' && t.pointer === 1) {
        if (s.deepCopy && p.attributes.direction === 'out') throw new EdlError('EDL_DEEP_COPY', p.location, `\`${f.name}': struct \`${s.name}' specifies a deep copy and cannot be used with an \`out' attribute (\`${p.name}')`);
        // Copied with a direction, a pointer member that names no size or count crosses as the
        // other side's raw value (as with edger8r); in a WebAssembly enclave that is an address in
        // the enclave's own memory, chosen by the host.
        if (p.attributes.direction) {
          const raw = s.members.filter((m) => m.type.pointer > 0 && m.attributes.size === undefined && m.attributes.count === undefined);
          if (raw.length > 0) warnings.push({ code: 'EDL_POINTER_MEMBER_RAW', location: p.location, message: `\`${f.name}': struct \`${s.name}' is copied, but what ${raw.map((m) => `\`${m.name}'`).join(', ')} points to is not (no size= or count=): the member crosses as a raw pointer value (\`${p.name}')` });
        }
      } else if (t.kind === 'foreign') {
        if (s.deepCopy) throw new EdlError('EDL_DEEP_COPY', p.location, `\`${f.name}': \`${s.name}' is a structure that specifies a deep copy; write \`struct ${s.name}' (\`${p.name}')`);
        warnings.push({ code: 'EDL_STRUCT_TYPEDEF', location: p.location, message: `\`${f.name}': \`${s.name}' is a structure; write \`struct ${s.name}' (\`${p.name}')` });
      }
    }
  }
}
