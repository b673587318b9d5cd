/**
 * The EDL parser: the pointer, array, type and function forms of the Intel SDK's SampleEnclave
 * (EDL texts written here in the same forms), import resolution through an in-memory reader, one
 * test per validation error with its exact FILE:LINE:COLUMN, and the `witness edl` command.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WitnessError } from '../../src/lib/errors.js';
import { EdlError, parseEdl, resolveEdl, type EdlInterface, type Param, type TrustedFunction, type UntrustedFunction } from '../../src/sdk/edl/index.js';
import { planInterface, canonicalInterface, SdkError, type ParamPlan } from '../../src/sdk/index.js';

const memory =
  (files: Record<string, string>) =>
  (path: string): string | null =>
    files[path] ?? null;

const fn = <F extends TrustedFunction | UntrustedFunction>(fs: readonly F[], name: string): F => {
  const f = fs.find((x) => x.name === name);
  assert.ok(f, `function ${name}`);
  return f;
};
const param = (f: TrustedFunction | UntrustedFunction, i: number): Param => f.params[i]!;

/** Expects an EdlError with this code at this position of `file`. */
function assertEdlError(run: () => unknown, code: string, file: string, line: number, column: number): EdlError {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof EdlError, `expected an EdlError, got ${String(caught)}`);
  assert.ok(caught instanceof WitnessError);
  assert.equal(caught.code, code, caught.message);
  assert.deepEqual({ file: caught.data.file, line: caught.data.line, column: caught.data.column }, { file, line, column }, caught.message);
  assert.ok(caught.message.startsWith(`${file}:${line}:${column}: `), caught.message);
  return caught;
}

// ---- SampleEnclave forms ------------------------------------------------------------------------

const POINTERS_EDL = `/* Pointer and array forms, after the SDK's SampleEnclave (written for these tests). */
enclave {
    include "user_types.h"   // buffer_t, array_t

    trusted {
        public size_t ecall_pointer_user_check([user_check] void *val, size_t sz);
        public void ecall_pointer_in([in] int *val);
        public void ecall_pointer_out([out] int *val);
        public void ecall_pointer_in_out([in, out] int *val);
        public void ecall_pointer_string([in, out, string] char *str);
        public void ecall_pointer_string_const([in, string] const char *str);
        public void ecall_pointer_size([in, out, size=len] void *ptr, size_t len);
        public void ecall_pointer_count([in, out, count=cnt] int *arr, size_t cnt);
        public void ecall_pointer_isptr_readonly([in, isptr, readonly, size=len] buffer_t buf, size_t len);
        public void ocall_pointer_attr(void);
    };

    /* a second trusted block is merged with the first */
    trusted {
        public void ecall_array_user_check([user_check] int arr[4]);
        public void ecall_array_in([in] int arr[4]);
        public void ecall_array_isary([user_check, isary] array_t arr);
        public void ecall_fixed_size([in, size=8] char *blob);
        public void ecall_count_and_size([out, count=n, size=4] void *items, size_t n);
        public void ecall_wide([in, wstring] const wchar_t *w);
        public void ecall_matrix([in, out] double m[3][2]);
        public char **ecall_returns_pointer(void);
    };

    untrusted {
        void ocall_pointer_user_check([user_check] int *val);
        void ocall_pointer_in([in] int *val);
        void ocall_pointer_out([out] int *val);
        void ocall_pointer_in_out([in, out] int *val);
    };
};
`;

describe('EDL: SampleEnclave pointer and array forms', () => {
  const edl = parseEdl(POINTERS_EDL, 'Pointers.edl');
  const t = edl.trusted;
  const u = edl.untrusted;

  test('blocks, includes and order', () => {
    assert.equal(t.length, 18);
    assert.equal(u.length, 4);
    assert.deepEqual(edl.includes.map((i) => [i.path, i.scope, i.location.line]), [['user_types.h', 'enclave', 3]]);
    assert.deepEqual(edl.imports, []);
    assert.ok(t.every((f) => f.public));
    assert.deepEqual(fn(t, 'ecall_pointer_in').location, { file: 'Pointers.edl', line: 7, column: 21 });
  });

  test('user_check, in, out, in/out', () => {
    const uc = fn(t, 'ecall_pointer_user_check');
    assert.deepEqual(param(uc, 0).attributes, { userCheck: true });
    assert.equal(param(uc, 0).type.spelling, 'void *');
    assert.equal(param(uc, 0).type.size, 4);
    assert.deepEqual(param(uc, 1).attributes, {});
    assert.equal(uc.returns.name, 'size_t');
    assert.equal(uc.returns.size, 4);
    assert.deepEqual(param(fn(t, 'ecall_pointer_in'), 0).attributes, { direction: 'in' });
    assert.deepEqual(param(fn(t, 'ecall_pointer_out'), 0).attributes, { direction: 'out' });
    assert.deepEqual(param(fn(t, 'ecall_pointer_in_out'), 0).attributes, { direction: 'in,out' });
    const p = param(fn(t, 'ecall_pointer_in'), 0);
    assert.deepEqual(
      { kind: p.type.kind, name: p.type.name, pointer: p.type.pointer, size: p.type.size, baseSize: p.type.baseSize },
      { kind: 'builtin', name: 'int', pointer: 1, size: 4, baseSize: 4 },
    );
  });

  test('string and const string', () => {
    const s = param(fn(t, 'ecall_pointer_string'), 0);
    assert.deepEqual(s.attributes, { direction: 'in,out', string: true });
    assert.equal(s.type.const, false);
    const c = param(fn(t, 'ecall_pointer_string_const'), 0);
    assert.deepEqual(c.attributes, { direction: 'in', string: true });
    assert.equal(c.type.const, true);
    assert.equal(c.type.spelling, 'const char *');
    const w = param(fn(t, 'ecall_wide'), 0);
    assert.deepEqual(w.attributes, { direction: 'in', wstring: true });
    assert.equal(w.type.baseSize, 4, 'wchar_t is 4 bytes on wasm32');
  });

  test('size and count, by name and by number', () => {
    assert.deepEqual(param(fn(t, 'ecall_pointer_size'), 0).attributes, { direction: 'in,out', size: 'len' });
    assert.deepEqual(param(fn(t, 'ecall_pointer_count'), 0).attributes, { direction: 'in,out', count: 'cnt' });
    assert.deepEqual(param(fn(t, 'ecall_fixed_size'), 0).attributes, { direction: 'in', size: 8 });
    assert.deepEqual(param(fn(t, 'ecall_count_and_size'), 0).attributes, { direction: 'out', count: 'n', size: 4 });
  });

  test('isptr and readonly on a typedef from a header', () => {
    const b = param(fn(t, 'ecall_pointer_isptr_readonly'), 0);
    assert.deepEqual(b.attributes, { direction: 'in', size: 'len', isptr: true, readonly: true });
    assert.equal(b.type.kind, 'foreign');
    assert.equal(b.type.name, 'buffer_t');
    assert.equal(b.type.size, 4, 'isptr: the typedef is a pointer');
  });

  test('(void) and pointer returns', () => {
    assert.deepEqual(fn(t, 'ocall_pointer_attr').params, []);
    const r = fn(t, 'ecall_returns_pointer').returns;
    assert.equal(r.pointer, 2);
    assert.equal(r.spelling, 'char **');
  });

  test('arrays: user_check, in, isary, two dimensions', () => {
    const uc = param(fn(t, 'ecall_array_user_check'), 0);
    assert.deepEqual(uc.attributes, { userCheck: true });
    assert.deepEqual(uc.type.dims, [4]);
    assert.equal(uc.type.size, 16);
    assert.deepEqual(param(fn(t, 'ecall_array_in'), 0).attributes, { direction: 'in' });
    const isary = param(fn(t, 'ecall_array_isary'), 0);
    assert.deepEqual(isary.attributes, { userCheck: true, isary: true });
    assert.equal(isary.type.size, null, 'the typedef is defined in a C header');
    const m = param(fn(t, 'ecall_matrix'), 0);
    assert.deepEqual(m.type.dims, [3, 2]);
    assert.equal(m.type.size, 48);
    assert.equal(m.type.align, 8);
    assert.equal(m.type.spelling, 'double [3][2]');
  });

  test('OCALL pointer attributes', () => {
    assert.deepEqual(
      u.map((f) => [f.name, param(f, 0).attributes]),
      [
        ['ocall_pointer_user_check', { userCheck: true }],
        ['ocall_pointer_in', { direction: 'in' }],
        ['ocall_pointer_out', { direction: 'out' }],
        ['ocall_pointer_in_out', { direction: 'in,out' }],
      ],
    );
    assert.ok(u.every((f) => f.allow.length === 0 && !f.propagateErrno && !f.transitionUsingThreads && !f.dllimport && f.callingConvention === undefined));
  });

  test('the model is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(edl)), edl);
  });
});

// ---- types ---------------------------------------------------------------------------------------

const TYPES_EDL = `enclave {
    struct struct_foo_t {
        uint32_t struct_foo_0;
        uint64_t struct_foo_1;
    };
    struct padded_t { char c; double d; short s; };
    struct mixed_t { char tag; long l; long long ll; wchar_t w; size_t n; void *p; bool b; };
    struct nested_t { char c; struct struct_foo_t foo; uint16_t grid[2][3]; };
    struct opaque_t { int a; sgx_key_128bit_t key; int b; };
    struct list_t { int v; struct list_t *next; };
    struct buffer_desc_t { size_t len; [size=len] uint8_t *data; uint32_t n; [count=n] struct struct_foo_t *items; };

    union union_foo_t {
        uint32_t union_foo_0;
        uint32_t union_foo_1;
        uint64_t union_foo_3;
    };
    union odd_u { char c[5]; uint16_t h; };

    enum enum_foo_t {
        ENUM_FOO_0 = 0,
        ENUM_FOO_1 = 1
    };
    enum flags_e { F_NONE, F_READ = 1 << 0, F_WRITE = 1 << 1, F_RW = F_READ | F_WRITE, F_NEXT,
                   F_HEX = 0x10, F_NEG = -(F_HEX + 1), F_MACRO = SOME_HEADER_MACRO, F_AFTER };
    enum { ANON_A = ENUM_FOO_1 * 10, ANON_B = ~0 };
    enum empty_e { };

    trusted {
        public void ecall_type_char(char val);
        public void ecall_type_int(int val);
        public void ecall_type_float(float val);
        public void ecall_type_double(double val);
        public void ecall_type_size_t(size_t val);
        public void ecall_type_wchar_t(wchar_t val);
        public void ecall_type_struct(struct struct_foo_t val);
        public void ecall_type_enum_union(enum enum_foo_t val1, [user_check] union union_foo_t *val2);
        public unsigned long long ecall_many(unsigned u, unsigned char uc, short s, unsigned short int us,
                                             long int l, unsigned long ul, long long ll, long double ld,
                                             int8_t i8, uint64_t u64, bool b);
        public void ecall_deep([in] struct buffer_desc_t *desc);
    };
};
`;

describe('EDL: struct, union and enum types on wasm32', () => {
  const edl = parseEdl(TYPES_EDL, 'Types.edl');
  const struct = (n: string) => edl.structs.find((s) => s.name === n)!;
  const offsets = (n: string) => struct(n).members.map((m) => [m.name, m.offset]);

  test('SampleEnclave struct, union and enum', () => {
    assert.deepEqual(offsets('struct_foo_t'), [['struct_foo_0', 0], ['struct_foo_1', 8]]);
    assert.deepEqual([struct('struct_foo_t').size, struct('struct_foo_t').align], [16, 8]);
    const u = edl.unions.find((x) => x.name === 'union_foo_t')!;
    assert.deepEqual([u.size, u.align], [8, 8]);
    assert.ok(u.members.every((m) => m.offset === 0));
    const e = edl.enums.find((x) => x.name === 'enum_foo_t')!;
    assert.deepEqual(e.members.map((m) => [m.name, m.value]), [['ENUM_FOO_0', 0], ['ENUM_FOO_1', 1]]);
    assert.equal(e.size, 4);
  });

  test('C layout: padding, tail padding, ILP32 sizes', () => {
    assert.deepEqual(offsets('padded_t'), [['c', 0], ['d', 8], ['s', 16]]);
    assert.deepEqual([struct('padded_t').size, struct('padded_t').align], [24, 8]);
    assert.deepEqual(offsets('mixed_t'), [['tag', 0], ['l', 4], ['ll', 8], ['w', 16], ['n', 20], ['p', 24], ['b', 28]]);
    assert.deepEqual([struct('mixed_t').size, struct('mixed_t').align], [32, 8]);
    assert.deepEqual(offsets('nested_t'), [['c', 0], ['foo', 8], ['grid', 24]]);
    assert.deepEqual([struct('nested_t').size, struct('nested_t').align], [40, 8]);
    const odd = edl.unions.find((x) => x.name === 'odd_u')!;
    assert.deepEqual([odd.size, odd.align], [6, 2]);
  });

  test('a member whose type a C header defines has no known size', () => {
    assert.deepEqual(offsets('opaque_t'), [['a', 0], ['key', null], ['b', null]]);
    assert.equal(struct('opaque_t').size, null);
  });

  test('self-reference through a pointer, deep-copy members', () => {
    assert.deepEqual([struct('list_t').size, struct('list_t').members[1]!.type.baseSize], [8, 8]);
    const d = struct('buffer_desc_t');
    assert.equal(d.deepCopy, true);
    assert.equal(struct('struct_foo_t').deepCopy, false);
    assert.deepEqual(d.members.map((m) => m.attributes), [{}, { size: 'len' }, {}, { count: 'n' }]);
    assert.deepEqual([d.size, d.align], [16, 4]);
  });

  test('enum values: implicit, shifts, references, hex, negation, unknown macros', () => {
    const flags = edl.enums.find((x) => x.name === 'flags_e')!;
    assert.deepEqual(
      flags.members.map((m) => [m.name, m.value]),
      [['F_NONE', 0], ['F_READ', 1], ['F_WRITE', 2], ['F_RW', 3], ['F_NEXT', 4], ['F_HEX', 16], ['F_NEG', -17], ['F_MACRO', null], ['F_AFTER', null]],
    );
    assert.equal(flags.members[3]!.expression, 'F_READ | F_WRITE');
    assert.equal(flags.members[6]!.expression, '-(F_HEX + 1)');
    const anon = edl.enums.find((x) => x.name === '')!;
    assert.deepEqual(anon.members.map((m) => m.value), [10, -1]);
    assert.deepEqual(edl.enums.find((x) => x.name === 'empty_e')!.members, []);
  });

  test('parameter types and sizes', () => {
    const many = fn(edl.trusted, 'ecall_many');
    assert.deepEqual(
      many.params.map((p) => [p.type.name, p.type.size]),
      [['unsigned int', 4], ['unsigned char', 1], ['short', 2], ['unsigned short', 2], ['long', 4], ['unsigned long', 4], ['long long', 8], ['long double', 16], ['int8_t', 1], ['uint64_t', 8], ['bool', 1]],
    );
    assert.deepEqual([many.returns.name, many.returns.size], ['unsigned long long', 8]);
    const s = param(fn(edl.trusted, 'ecall_type_struct'), 0);
    assert.deepEqual([s.type.kind, s.type.name, s.type.size, s.type.spelling], ['struct', 'struct_foo_t', 16, 'struct struct_foo_t']);
    const eu = fn(edl.trusted, 'ecall_type_enum_union');
    assert.deepEqual([param(eu, 0).type.kind, param(eu, 0).type.size], ['enum', 4]);
    assert.deepEqual([param(eu, 1).type.kind, param(eu, 1).type.size, param(eu, 1).type.baseSize], ['union', 4, 8]);
    assert.deepEqual(['float', 'double', 'wchar_t'].map((n) => param(fn(edl.trusted, `ecall_type_${n === 'wchar_t' ? 'wchar_t' : n}`), 0).type.size), [4, 8, 4]);
  });

  test('resolveEdl warns about a name an enum takes from a header', () => {
    const itf = resolveEdl('Types.edl', { readFile: memory({ 'Types.edl': TYPES_EDL }) });
    assert.deepEqual(itf.warnings.map((w) => [w.code, w.location.line]), [['EDL_ENUM_UNKNOWN_NAME', 25]]);
  });
});

// ---- functions -----------------------------------------------------------------------------------

const FUNCTIONS_EDL = `enclave {
    trusted {
        public void ecall_function_public(void);
        int ecall_function_private(void);
        public void ecall_fast(int x) transition_using_threads;
    };
    untrusted {
        include "ocall_types.h"
        void ocall_function_allow(void) allow(ecall_function_private);
        [cdecl] int ocall_errno([out] int *err) propagate_errno;
        void ocall_switchless(void) transition_using_threads propagate_errno;
        [dllimport, stdcall] void ocall_all(void) allow(ecall_function_public, ecall_function_private) propagate_errno transition_using_threads;
        void ocall_empty_allow(void) allow();
    };
};
`;

describe('EDL: public and private ECALLs, allow lists, function attributes', () => {
  const itf = resolveEdl('Functions.edl', { readFile: memory({ 'Functions.edl': FUNCTIONS_EDL }) });

  test('private ECALLs and allow lists', () => {
    assert.deepEqual(itf.trusted.map((f) => [f.name, f.public, f.transitionUsingThreads]), [
      ['ecall_function_public', true, false],
      ['ecall_function_private', false, false],
      ['ecall_fast', true, true],
    ]);
    assert.deepEqual(fn(itf.untrusted, 'ocall_function_allow').allow, ['ecall_function_private']);
    assert.deepEqual(fn(itf.untrusted, 'ocall_all').allow, ['ecall_function_public', 'ecall_function_private']);
    assert.deepEqual(fn(itf.untrusted, 'ocall_empty_allow').allow, []);
    assert.deepEqual(fn(itf.untrusted, 'ocall_function_allow').allowLocations, [{ file: 'Functions.edl', line: 9, column: 47 }]);
    assert.deepEqual(itf.warnings, []);
  });

  test('propagate_errno, transition_using_threads, calling conventions', () => {
    const pick = (f: UntrustedFunction) => [f.propagateErrno, f.transitionUsingThreads, f.callingConvention ?? null, f.dllimport];
    assert.deepEqual(pick(fn(itf.untrusted, 'ocall_errno')), [true, false, 'cdecl', false]);
    assert.deepEqual(pick(fn(itf.untrusted, 'ocall_switchless')), [true, true, null, false]);
    assert.deepEqual(pick(fn(itf.untrusted, 'ocall_all')), [true, true, 'stdcall', true]);
    assert.deepEqual(pick(fn(itf.untrusted, 'ocall_function_allow')), [false, false, null, false]);
  });

  test('block includes are recorded', () => {
    assert.deepEqual(parseEdl(FUNCTIONS_EDL, 'f.edl').includes.map((i) => [i.path, i.scope]), [['ocall_types.h', 'untrusted']]);
    assert.deepEqual(itf.includes, ['ocall_types.h']);
  });

  test('a private ECALL no OCALL allows is a warning', () => {
    const src = 'enclave { trusted { public void a(void); void lonely(void); }; };';
    const w = resolveEdl('w.edl', { readFile: memory({ 'w.edl': src }) }).warnings;
    assert.deepEqual(w.map((x) => [x.code, x.location.column]), [['EDL_PRIVATE_UNUSED', 47]]);
  });

  test('comments anywhere, CRLF line ends', () => {
    const src = '// head\r\nenclave /* a */ {\r\n  trusted { /* b\r\n */ public void f(int /* c */ x); // d\r\n  };\r\n};\r\n';
    const e = parseEdl(src, 'c.edl');
    assert.deepEqual(e.trusted[0]!.location, { file: 'c.edl', line: 4, column: 17 });
  });
});

// ---- imports -------------------------------------------------------------------------------------

const TSTDC_LIKE = `enclave {
    untrusted {
        [cdecl] void lib_cpuid([out] int info[4], int leaf);
        [cdecl] int lib_wait_event([user_check] const void *self);
        [cdecl] int lib_wake_many([in, count=total] const void **waiters, size_t total);
    };
};
`;

const PROJECT: Record<string, string> = {
  '/sdk/include/sgx_tstdc.edl': TSTDC_LIKE,
  '/proj/enclave/app.edl': `enclave {
    from "sgx_tstdc.edl" import *;
    from "parts/crypto.edl" import ecall_hash, ocall_entropy;
    include "app.h"
    trusted { public void ecall_main([in] struct shared_t *s); };
};
`,
  '/proj/enclave/parts/crypto.edl': `enclave {
    include "crypto.h"
    from "../common/shared.edl" import *;
    struct digest_t { uint8_t bytes[32]; };
    trusted {
        public void ecall_hash([in, size=n] const uint8_t *data, size_t n, [out] struct digest_t *d);
        public void ecall_unused(void);
    };
    untrusted { void ocall_entropy([out, size=n] void *buf, size_t n); };
};
`,
  '/proj/enclave/common/shared.edl': `enclave {
    struct shared_t { uint32_t id; uint64_t stamp; };
    untrusted { void ocall_log([in, string] const char *msg); };
};
`,
};

describe('EDL: from ... import', () => {
  const opts = { searchPaths: ['/sdk/include'], readFile: memory(PROJECT) };

  test('parseEdl records imports without following them', () => {
    const e = parseEdl(PROJECT['/proj/enclave/app.edl']!, 'app.edl');
    assert.deepEqual(
      e.imports.map((i) => [i.path, i.all, i.names.map((n) => n.name), i.location.line, i.location.column]),
      [
        ['sgx_tstdc.edl', true, [], 2, 10],
        ['parts/crypto.edl', false, ['ecall_hash', 'ocall_entropy'], 3, 10],
      ],
    );
    assert.equal(param(e.trusted[0]!, 0).type.baseSize, null, 'shared_t is defined in an imported file');
  });

  test('import * through a search path, named imports through the importing directory', () => {
    const itf = resolveEdl('/proj/enclave/app.edl', opts);
    assert.deepEqual(itf.trusted.map((f) => f.name), ['ecall_main', 'ecall_hash']);
    assert.deepEqual(itf.untrusted.map((f) => f.name), ['lib_cpuid', 'lib_wait_event', 'lib_wake_many', 'ocall_entropy']);
    assert.deepEqual(itf.files, ['/proj/enclave/app.edl', '/sdk/include/sgx_tstdc.edl', '/proj/enclave/parts/crypto.edl', '/proj/enclave/common/shared.edl']);
    assert.deepEqual(itf.includes, ['app.h', 'crypto.h']);
    assert.deepEqual(itf.structs.map((s) => [s.name, s.size]), [['digest_t', 32], ['shared_t', 16]]);
    assert.equal(param(itf.trusted[0]!, 0).type.baseSize, 16, 'sized once every file is read');
    assert.deepEqual(fn(itf.untrusted, 'lib_wake_many').location, { file: '/sdk/include/sgx_tstdc.edl', line: 5, column: 21 });
    assert.deepEqual(param(fn(itf.untrusted, 'lib_wake_many'), 0).attributes, { direction: 'in', count: 'total' });
    assert.deepEqual(JSON.parse(JSON.stringify(itf)), itf);
  });

  test("the importing file's directory comes before the search paths", () => {
    const files = { ...PROJECT, '/proj/enclave/sgx_tstdc.edl': 'enclave { untrusted { void local_copy(void); }; };' };
    const itf = resolveEdl('/proj/enclave/app.edl', { ...opts, readFile: memory(files) });
    assert.ok(itf.untrusted.some((f) => f.name === 'local_copy'));
    assert.ok(!itf.untrusted.some((f) => f.name === 'lib_cpuid'));
  });

  test('a diamond is read once and its functions appear once', () => {
    const files = {
      'top.edl': 'enclave { from "l.edl" import *; from "r.edl" import *; trusted { public void go(void); }; };',
      'l.edl': 'enclave { from "base.edl" import *; };',
      'r.edl': 'enclave { from "base.edl" import base_call; };',
      'base.edl': 'enclave { struct b_t { int x; }; untrusted { void base_call(void); }; };',
    };
    const itf = resolveEdl('top.edl', { readFile: memory(files) });
    assert.deepEqual(itf.untrusted.map((f) => f.name), ['base_call']);
    assert.deepEqual(itf.structs.map((s) => s.name), ['b_t']);
    assert.deepEqual(itf.files, ['top.edl', 'l.edl', 'base.edl', 'r.edl']);
  });

  test('an import cycle is an error at the import that closes it (and does not loop)', () => {
    const files = {
      'a.edl': 'enclave {\n    from "b.edl" import *;\n    trusted { public void fa(void); };\n};',
      'b.edl': 'enclave {\n    from "c.edl" import *;\n};',
      'c.edl': 'enclave {\n    untrusted { void fc(void); };\n    from "a.edl" import fa;\n};',
    };
    const e = assertEdlError(() => resolveEdl('a.edl', { readFile: memory(files) }), 'EDL_IMPORT_CYCLE', 'c.edl', 3, 10);
    assert.match(e.message, /a\.edl -> b\.edl -> c\.edl -> a\.edl/);
  });

  test('a file that imports itself', () => {
    const files = { 'self.edl': 'enclave { from "./self.edl" import *; trusted { public void f(void); }; };' };
    assertEdlError(() => resolveEdl('self.edl', { readFile: memory(files) }), 'EDL_IMPORT_CYCLE', 'self.edl', 1, 16);
  });

  test('importing a name the file does not define', () => {
    const files = {
      'main.edl': 'enclave {\n    from "lib.edl" import lib_ok, lib_missing;\n    trusted { public void f(void); };\n};',
      'lib.edl': 'enclave { untrusted { void lib_ok(void); }; };',
    };
    const e = assertEdlError(() => resolveEdl('main.edl', { readFile: memory(files) }), 'EDL_IMPORT_NAME', 'main.edl', 2, 35);
    assert.match(e.message, /lib_missing/);
  });

  test('importing a file that is nowhere', () => {
    const files = { 'main.edl': 'enclave {\n  from "nowhere.edl" import *;\n  trusted { public void f(void); };\n};' };
    const e = assertEdlError(() => resolveEdl('main.edl', { searchPaths: ['/x'], readFile: memory(files) }), 'EDL_IMPORT_NOT_FOUND', 'main.edl', 2, 8);
    assert.match(e.message, /searched: \., \/x/);
  });

  test('the same function name in two files', () => {
    const files = {
      'main.edl': 'enclave { from "lib.edl" import *; trusted { public void f(void); }; };',
      'lib.edl': 'enclave {\n    untrusted {\n        void f(void);\n    };\n};',
    };
    const e = assertEdlError(() => resolveEdl('main.edl', { readFile: memory(files) }), 'EDL_DUPLICATE_FUNCTION', 'lib.edl', 3, 14);
    assert.match(e.message, /first defined at main\.edl:1:58/);
  });

  test('allow() may name a private ECALL of an imported file', () => {
    const files = {
      'main.edl': 'enclave { from "lib.edl" import *; trusted { public void f(void); }; untrusted { void o(void) allow(lib_private); }; };',
      'lib.edl': 'enclave { trusted { int lib_private(void); }; };',
    };
    const itf = resolveEdl('main.edl', { readFile: memory(files) });
    assert.deepEqual(itf.trusted.map((f) => [f.name, f.public]), [['f', true], ['lib_private', false]]);
  });

  test('a library EDL on its own: no public ECALL unless asked to accept it', () => {
    const read = memory({ 'sgx_tstdc.edl': TSTDC_LIKE });
    assertEdlError(() => resolveEdl('sgx_tstdc.edl', { readFile: read }), 'EDL_NO_PUBLIC_ECALL', 'sgx_tstdc.edl', 1, 1);
    assert.equal(resolveEdl('sgx_tstdc.edl', { readFile: read, requirePublicEcall: false }).untrusted.length, 3);
  });

  test('an unreadable root, and a reader that fails', () => {
    assertEdlError(() => resolveEdl('missing.edl', { readFile: () => null }), 'EDL_READ', 'missing.edl', 0, 0);
    const failing = (p: string): string | null => {
      if (p === 'main.edl') return 'enclave {\n from "locked.edl" import *;\n};';
      throw Object.assign(new TypeError('denied'), { code: 'EACCES' });
    };
    const e = assertEdlError(() => resolveEdl('main.edl', { readFile: failing }), 'EDL_READ', 'main.edl', 2, 7);
    assert.match(e.message, /EACCES/);
  });
});

// ---- one test per validation error -----------------------------------------------------------------

const lines = (...ls: string[]): string => ls.join('\n') + '\n';
/** Line 4 is `s`, inside a trusted block whose line 3 is a valid public ECALL. */
const trusted = (s: string): string => lines('enclave {', '    trusted {', '        public void ecall_root(void);', `        ${s}`, '    };', '};');
/** Line 6 is `s`, inside an untrusted block. */
const untrusted = (s: string): string => lines('enclave {', '    trusted {', '        public void ecall_root(void);', '    };', '    untrusted {', `        ${s}`, '    };', '};');
/** Lines 2.. are `body` at enclave scope, followed by a trusted block. */
const scope = (...body: string[]): string => lines('enclave {', ...body.map((b) => `    ${b}`), '    trusted {', '        public void ecall_root(void);', '    };', '};');

interface ErrorCase {
  readonly name: string;
  readonly code: string;
  readonly at: readonly [number, number];
  readonly src: string;
}

const ERROR_CASES: readonly ErrorCase[] = [
  { name: 'unknown attribute', code: 'EDL_UNKNOWN_ATTRIBUTE', at: [4, 28], src: trusted('public void f([in, bogus] int *p);') },
  { name: 'out on a non-pointer', code: 'EDL_NOT_A_POINTER', at: [4, 24], src: trusted('public void f([out] int v);') },
  { name: 'in on a plain typedef', code: 'EDL_NOT_A_POINTER', at: [4, 24], src: trusted('public void f([in] handle_t h);') },
  { name: 'string with size', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 36], src: trusted('public void f([in, string, size=8] char *s);') },
  { name: 'count with wstring', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 37], src: trusted('public void f([in, count=4, wstring] wchar_t *s);') },
  { name: 'string and wstring', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 36], src: trusted('public void f([in, string, wstring] char *s);') },
  { name: 'user_check with in', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 36], src: trusted('public void f([user_check, in] int *p);') },
  { name: 'out with user_check', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 29], src: trusted('public void f([out, user_check] int *p);') },
  { name: 'size names a missing parameter', code: 'EDL_SIZE_REFERENCE', at: [4, 33], src: trusted('public void f([in, size=len] void *buf, size_t length);') },
  { name: 'count names a missing parameter', code: 'EDL_SIZE_REFERENCE', at: [4, 35], src: trusted('public void f([out, count=n] int *arr);') },
  { name: 'size names a pointer', code: 'EDL_SIZE_REFERENCE_TYPE', at: [4, 33], src: trusted('public void f([in, size=n] void *buf, [in] size_t *n);') },
  { name: 'count names a double', code: 'EDL_SIZE_REFERENCE_TYPE', at: [4, 34], src: trusted('public void f([in, count=n] int *arr, double n);') },
  { name: 'size names a struct', code: 'EDL_SIZE_REFERENCE_TYPE', at: [4, 33], src: trusted('public void f([in, size=n] void *buf, struct s n);') },
  { name: 'duplicate function', code: 'EDL_DUPLICATE_FUNCTION', at: [7, 14], src: lines('enclave {', '    trusted {', '        public void ecall_root(void);', '        public int f(void);', '    };', '    untrusted {', '        void f(int x);', '    };', '};') },
  { name: 'allow names an unknown function', code: 'EDL_ALLOW_UNKNOWN', at: [6, 40], src: untrusted('void o(void) allow(ecall_root, ecall_nope);') },
  { name: 'allow names an OCALL', code: 'EDL_ALLOW_UNKNOWN', at: [6, 29], src: untrusted('void o1(void) allow(o2); void o2(void);') },
  { name: 'wstring on a char pointer', code: 'EDL_STRING_TYPE', at: [4, 28], src: trusted('public void f([in, wstring] char *s);') },
  { name: 'string on an int pointer', code: 'EDL_STRING_TYPE', at: [4, 28], src: trusted('public void f([in, string] int *s);') },
  { name: 'string on a char pointer-to-pointer', code: 'EDL_STRING_TYPE', at: [4, 28], src: trusted('public void f([in, string] char **s);') },
  { name: 'const pointer with out', code: 'EDL_READONLY', at: [4, 24], src: trusted('public void f([out] const int *p);') },
  { name: 'const pointer with in, out', code: 'EDL_READONLY', at: [4, 28], src: trusted('public void f([in, out, size=n] const void *p, size_t n);') },
  { name: 'readonly with out', code: 'EDL_READONLY', at: [4, 24], src: trusted('public void f([out, isptr, readonly, size=4] buffer_t b);') },
  { name: 'isptr on a built-in pointer', code: 'EDL_ISPTR_TYPE', at: [4, 28], src: trusted('public void f([in, isptr] int *p);') },
  { name: 'isptr on a typedef pointer', code: 'EDL_ISPTR_TYPE', at: [4, 28], src: trusted('public void f([in, isptr] buffer_t *p);') },
  { name: 'isary on a built-in type', code: 'EDL_ISPTR_TYPE', at: [4, 28], src: trusted('public void f([in, isary] int a);') },
  { name: 'readonly without isptr', code: 'EDL_ISPTR_TYPE', at: [4, 28], src: trusted('public void f([in, readonly] buffer_t *b);') },
  { name: 'pointer without direction', code: 'EDL_MISSING_DIRECTION', at: [4, 28], src: trusted('public void f(int *p);') },
  { name: 'array without direction', code: 'EDL_MISSING_DIRECTION', at: [4, 27], src: trusted('public void f(int a[4]);') },
  { name: 'size without direction', code: 'EDL_MISSING_DIRECTION', at: [4, 24], src: trusted('public void f([size=4] int *p);') },
  { name: 'isary without direction', code: 'EDL_MISSING_DIRECTION', at: [4, 39], src: trusted('public void f([isary] array_t a);') },
  { name: 'out with string', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 29], src: trusted('public void f([out, string] char *s);') },
  { name: 'void pointer without size', code: 'EDL_VOID_SIZE', at: [4, 34], src: trusted('public void f([in] void *p);') },
  { name: 'void pointer with count only', code: 'EDL_VOID_SIZE', at: [4, 43], src: trusted('public void f([in, count=4] void *p);') },
  { name: 'duplicated attribute', code: 'EDL_DUPLICATE_ATTRIBUTE', at: [4, 33], src: trusted('public void f([in, out, in] int *p);') },
  { name: 'empty attribute list', code: 'EDL_EMPTY_ATTRIBUTES', at: [4, 23], src: trusted('public void f([] int *p);') },
  { name: 'sizefunc', code: 'EDL_DEPRECATED_ATTRIBUTE', at: [4, 28], src: trusted('public void f([in, sizefunc=g] int *p);') },
  { name: 'size without a value', code: 'EDL_ATTRIBUTE_VALUE', at: [4, 28], src: trusted('public void f([in, size] int *p);') },
  { name: 'a flag with a value', code: 'EDL_ATTRIBUTE_VALUE', at: [4, 27], src: trusted('public void f([in=1] int *p);') },
  { name: 'pointer array', code: 'EDL_POINTER_ARRAY', at: [4, 33], src: trusted('public void f([in] int *a[4]);') },
  { name: 'size on an explicit array', code: 'EDL_ARRAY_SIZE_ATTRIBUTE', at: [4, 28], src: trusted('public void f([in, size=16] int a[4]);') },
  { name: 'size with isary', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 35], src: trusted('public void f([in, isary, size=4] array_t a);') },
  { name: 'isary with isptr', code: 'EDL_ATTRIBUTE_CONFLICT', at: [4, 35], src: trusted('public void f([in, isptr, isary] array_t a);') },
  { name: 'void parameter', code: 'EDL_VOID_PARAM', at: [4, 35], src: trusted('public void f(int a, void b);') },
  { name: 'flexible array', code: 'EDL_ARRAY_DIMENSION', at: [4, 33], src: trusted('public void f([in] int a[]);') },
  { name: 'zero-length array', code: 'EDL_ARRAY_DIMENSION', at: [4, 34], src: trusted('public void f([in] int a[0]);') },
  { name: 'returning an array', code: 'EDL_RETURN_ARRAY', at: [4, 19], src: trusted('public int[4] f(void);') },
  { name: 'duplicate parameter', code: 'EDL_DUPLICATE_PARAM', at: [4, 35], src: trusted('public void f(int a, long a);') },
  { name: 'const on a value', code: 'EDL_CONST_NOT_POINTER', at: [4, 23], src: trusted('public void f(const int a);') },
  { name: 'hexadecimal size (edger8r reads decimal digits outside enum initializers)', code: 'EDL_SYNTAX', at: [4, 33], src: trusted('public void f([in, size=0x10] uint8_t *p);') },
  { name: 'hexadecimal array dimension', code: 'EDL_SYNTAX', at: [4, 34], src: trusted('public void f([in] int a[0x4]);') },
  { name: 'hexadecimal member count', code: 'EDL_SYNTAX', at: [4, 16], src: scope('struct buf_t {', '    size_t len;', '    [count=0x2] uint8_t *data;', '};') },
  { name: 'private is not a keyword', code: 'EDL_SYNTAX', at: [4, 9], src: trusted('private void f(void);') },
  { name: 'missing semicolon', code: 'EDL_SYNTAX', at: [4, 29], src: trusted('public void f(void) public void g(void);') },
  { name: 'invalid character', code: 'EDL_SYNTAX', at: [4, 30], src: trusted('public void f(int a) @;') },
  { name: 'preprocessor directive', code: 'EDL_PREPROCESSOR', at: [2, 5], src: lines('enclave {', '    #include "types.h"', '    trusted { public void ecall_root(void); };', '};') },
  { name: 'unterminated comment', code: 'EDL_SYNTAX', at: [3, 3], src: lines('enclave {', '    trusted { public void ecall_root(void); };', '  /* forgotten', '};') },
  { name: 'unterminated string', code: 'EDL_SYNTAX', at: [2, 13], src: lines('enclave {', '    include "types.h', '    trusted { public void ecall_root(void); };', '};') },
  { name: 'text after the enclave', code: 'EDL_SYNTAX', at: [3, 4], src: lines('enclave {', '    trusted { public void ecall_root(void); };', '}; extra') },
  { name: 'direction on a struct member', code: 'EDL_MEMBER_ATTRIBUTE', at: [4, 10], src: scope('struct buf_t {', '    size_t len;', '    [in, size=len] uint8_t *data;', '};') },
  { name: 'deep copy on a non-pointer member', code: 'EDL_NOT_A_POINTER', at: [4, 10], src: scope('struct buf_t {', '    size_t len;', '    [count=len] uint8_t data;', '};') },
  { name: 'member size names a missing member', code: 'EDL_SIZE_REFERENCE', at: [4, 15], src: scope('struct buf_t {', '    size_t len;', '    [size=length] uint8_t *data;', '};') },
  { name: 'member count names a pointer member', code: 'EDL_SIZE_REFERENCE_TYPE', at: [4, 16], src: scope('struct buf_t {', '    size_t *len;', '    [count=len] uint8_t *data;', '};') },
  { name: 'union member attribute', code: 'EDL_MEMBER_ATTRIBUTE', at: [4, 9], src: scope('union u_t {', '    int a;', '    [size=4] char *b;', '};') },
  { name: 'void struct member', code: 'EDL_VOID_MEMBER', at: [3, 14], src: scope('struct s_t {', '    void v;', '};') },
  { name: 'duplicate member', code: 'EDL_DUPLICATE_MEMBER', at: [4, 14], src: scope('struct s_t {', '    int a;', '    char a;', '};') },
  { name: 'duplicate struct', code: 'EDL_DUPLICATE_TYPE', at: [3, 11], src: scope('struct s_t { int a; };', 'union s_t { int b; };') },
  { name: 'duplicate enumerator', code: 'EDL_DUPLICATE_ENUMERATOR', at: [3, 18], src: scope('enum e1 { A, B };', 'enum e2 { C, A };') },
  { name: 'recursive struct', code: 'EDL_RECURSIVE_TYPE', at: [4, 23], src: scope('struct node_t {', '    int v;', '    struct node_t next;', '};') },
  { name: 'enum division by zero', code: 'EDL_ENUM_VALUE', at: [2, 21], src: scope('enum e { A = 4, B = A / (A - 4) };') },
  { name: 'enum depends on itself', code: 'EDL_ENUM_VALUE', at: [2, 14], src: scope('enum e { A = B, B = A };') },
  { name: 'deep-copy struct by value', code: 'EDL_DEEP_COPY', at: [4, 45], src: lines('enclave {', '    struct buf_t { size_t len; [size=len] uint8_t *data; };', '    trusted {', '        public void ecall_root(struct buf_t b);', '    };', '};') },
  { name: 'deep-copy struct with out', code: 'EDL_DEEP_COPY', at: [4, 52], src: lines('enclave {', '    struct buf_t { size_t len; [size=len] uint8_t *data; };', '    trusted {', '        public void ecall_root([out] struct buf_t *b);', '    };', '};') },
  { name: 'deep-copy struct by typedef name', code: 'EDL_DEEP_COPY', at: [4, 44], src: lines('enclave {', '    struct buf_t { size_t len; [size=len] uint8_t *data; };', '    trusted {', '        public void ecall_root([in] buf_t *b);', '    };', '};') },
  { name: 'calling conventions in conflict', code: 'EDL_FUNCTION_ATTRIBUTE', at: [6, 17], src: untrusted('[cdecl, stdcall] void o(void);') },
  { name: 'unknown function attribute', code: 'EDL_UNKNOWN_ATTRIBUTE', at: [6, 10], src: untrusted('[naked] void o(void);') },
  { name: 'no public ECALL', code: 'EDL_NO_PUBLIC_ECALL', at: [2, 1], src: lines('// only a private one', 'enclave {', '    trusted { int ecall_private(void); };', '    untrusted { void o(void) allow(ecall_private); };', '};') },
]; 

describe('EDL: every validation error, with FILE:LINE:COLUMN', () => {
  for (const c of ERROR_CASES) {
    test(c.name, () => {
      assertEdlError(() => resolveEdl('case.edl', { readFile: memory({ 'case.edl': c.src }) }), c.code, 'case.edl', c.at[0], c.at[1]);
    });
  }

  test('parse-level errors are raised by parseEdl as well', () => {
    assertEdlError(() => parseEdl(trusted('public void f([in, bogus] int *p);'), 'x.edl'), 'EDL_UNKNOWN_ATTRIBUTE', 'x.edl', 4, 28);
  });

  test('allow lists and deep-copy rules need the whole enclave: parseEdl accepts them', () => {
    assert.doesNotThrow(() => parseEdl(untrusted('void o(void) allow(elsewhere);'), 'x.edl'));
  });
});

// ---- the witness edl command ----------------------------------------------------------------------

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const witness = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin', 'witness.js'), ...args], { encoding: 'utf8' });

describe('witness edl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-edl-'));
  const lib = join(dir, 'sdk-include');
  mkdirSync(lib);
  writeFileSync(join(lib, 'sgx_tstdc.edl'), TSTDC_LIKE);
  const main = join(dir, 'Enclave.edl');
  writeFileSync(main, POINTERS_EDL.replace('enclave {', 'enclave {\n    from "sgx_tstdc.edl" import lib_cpuid;\n    struct pair_t { int32_t a; int64_t b; };\n    enum mode_e { MODE_A, MODE_B = 7 };\n    union word_u { uint32_t w; uint8_t b[4]; };'));
  const bad = join(dir, 'Bad.edl');
  writeFileSync(bad, trusted('public void f([in, bogus] int *p);'));
  const warn = join(dir, 'Warn.edl');
  writeFileSync(warn, 'enclave { trusted { public void a(void); void lonely(void); }; };\n');

  test('--json: the resolved interface', () => {
    const r = witness('edl', main, '--search-path', lib, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(j), ['trusted', 'untrusted', 'structs', 'enums', 'unions']);
    const itf = j as unknown as EdlInterface;
    assert.deepEqual(Object.keys(itf.trusted[0]!), ['name', 'public', 'params', 'returns']);
    assert.deepEqual(Object.keys(itf.untrusted[0]!), ['name', 'params', 'returns', 'allow']);
    assert.deepEqual(Object.keys(itf.trusted[0]!.params[0]!), ['name', 'type', 'attributes']);
    const size = itf.trusted.find((f) => f.name === 'ecall_pointer_size')!;
    assert.deepEqual(size.params[0]!.attributes, { direction: 'in,out', size: 'len' });
    assert.equal(size.params[0]!.type.spelling, 'void *');
    assert.ok(itf.untrusted.some((f) => f.name === 'lib_cpuid'));
    assert.deepEqual(itf.structs.map((s) => [s.name, s.size, s.align]), [['pair_t', 16, 8]]);
    assert.deepEqual(itf.enums[0]!.members.map((m) => [m.name, m.value]), [['MODE_A', 0], ['MODE_B', 7]]);
    assert.deepEqual(itf.unions.map((u) => [u.name, u.size]), [['word_u', 4]]);
    assert.equal(r.stderr, '');
  });

  test('a readable summary without --json', () => {
    const r = witness('edl', main, `--search-path=${lib}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /18 ECALLs \(18 public\), 5 OCALLs/);
    assert.match(r.stdout, /public {2}void ecall_pointer_isptr_readonly\(\[in, size=len, isptr, readonly\] buffer_t buf, size_t len\)/);
    assert.match(r.stdout, /struct pair_t: size 16, align 8/);
  });

  test('a validation error: FILE:LINE:COLUMN on stderr, exit 1', () => {
    const r = witness('edl', bad);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${bad}:4:28: unknown attribute: \`bogus'\n`);
  });

  test('an import not found without the search path: exit 1', () => {
    const r = witness('edl', main);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.startsWith(`${main}:3:10: cannot find \`sgx_tstdc.edl'`), r.stderr);
  });

  test('an unreadable file: exit 2 with a one-line reason', () => {
    const r = witness('edl', join(dir, 'absent.edl'));
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /cannot read .*absent\.edl/);
  });

  test('usage errors: exit 2', () => {
    assert.equal(witness('edl').status, 2);
    assert.equal(witness('edl', main, '--bogus').status, 2);
  });

  test('warnings go to stderr; --library accepts an EDL without public ECALL', () => {
    const w = witness('edl', warn);
    assert.equal(w.status, 0);
    assert.match(w.stderr, /Warn\.edl:1:47: warning: private ECALL `lonely' is not used by any OCALL/);
    assert.equal(witness('edl', join(lib, 'sgx_tstdc.edl')).status, 1);
    assert.equal(witness('edl', join(lib, 'sgx_tstdc.edl'), '--library', '--json').status, 0);
  });

  test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

// ---- marshalling plans of pointer forms ----------------------------------------------------------

describe('planInterface: how much a pointer or array parameter copies', () => {
  const planOf = (decl: string, defs = ''): ParamPlan => {
    const src = `enclave {\n    ${defs}\n    trusted {\n        public void f(${decl});\n    };\n};\n`;
    const plan = planInterface(canonicalInterface(resolveEdl('P.edl', { readFile: memory({ 'P.edl': src }) })));
    return plan.ecalls[0]!.params[0]!;
  };
  const unsupported = (decl: string, defs = ''): void => {
    assert.throws(() => planOf(decl, defs), (e: unknown) => {
      assert.ok(e instanceof SdkError, String(e));
      assert.equal(e.code, 'INTERFACE_UNSUPPORTED', e.message);
      return true;
    }, decl);
  };

  test('[in, isary] on a typedef from a C header: its size is unknown, so it cannot be copied (not 4 bytes)', () => {
    unsupported('[in, isary] arr_t a');
    unsupported('[out, isary] arr_t a');
  });

  test('[in, isptr] on a typedef from a C header without size=: what it points to has no known size', () => {
    unsupported('[in, isptr] buf_t p');
    unsupported('[in, isptr, count=2] buf_t p');
    unsupported('[in, isptr, readonly] buf_t p');
    unsupported('[in, out, isptr] buf_t p');
  });

  test('[in, isptr] with size=: that many bytes, per element with count=', () => {
    const p = planOf('[in, isptr, size=8] buf_t p');
    assert.deepEqual([p.kind, p.elemSize, p.count, p.sizeParam], ['buffer', 8, null, null]);
    const q = planOf('[in, isptr, size=8, count=3] buf_t p');
    assert.deepEqual([q.elemSize, q.count], [8, { constant: 3 }]);
    const r = (() => {
      const src = 'enclave {\n    trusted {\n        public void f([in, isptr, size=n] buf_t p, size_t n);\n    };\n};\n';
      return planInterface(canonicalInterface(resolveEdl('P.edl', { readFile: memory({ 'P.edl': src }) }))).ecalls[0]!.params[0]!;
    })();
    assert.equal(r.sizeParam, 1);
  });

  test('a structure that asks for a deep copy (a member with size= or count=): ECALLs plan its members (offsets, size and count fields, sizeof(*member)); OCALLs too', () => {
    const blob = 'struct blob { size_t len; [size=len] uint8_t *data; [count=n] int32_t *items; int16_t n; [size=6, count=2] void *raw; [count=3] struct pt *pts; };\n    struct pt { int32_t x; int32_t y; };';
    for (const decl of ['[in] struct blob *b', '[in, out] struct blob *b', '[in, count=2] struct blob *b']) {
      const d = planOf(decl, blob).deep;
      assert.ok(d !== null, decl);
      assert.deepEqual([d.struct, d.structSize], ['blob', 24]);
      assert.deepEqual(d.members, [
        { name: 'data', offset: 4, elemSize: 0, sizeField: { name: 'len', offset: 0, width: 4, signed: false }, count: null, pointeeSize: 1, returnedPointeeSize: 1 },
        { name: 'items', offset: 8, elemSize: 4, sizeField: null, count: { field: { name: 'n', offset: 12, width: 2, signed: true } }, pointeeSize: 4, returnedPointeeSize: 4 },
        // void* and a pointer to a structure: edger8r checks no whole elements going in; coming back
        // from an OCALL only void* is exempt.
        { name: 'raw', offset: 16, elemSize: 6, sizeField: null, count: { constant: 2 }, pointeeSize: 1, returnedPointeeSize: 1 },
        { name: 'pts', offset: 20, elemSize: 8, sizeField: null, count: { constant: 3 }, pointeeSize: 1, returnedPointeeSize: 8 },
      ]);
    }
    assert.equal(planOf('[in] struct blob *b', 'struct blob { [count=2] uint32_t *words; };').deep?.members[0]?.elemSize, 4);
    // An OCALL: planned the same way; [out] refused as for ECALLs.
    const src = (d: string) => `enclave {\n    ${blob}\n    trusted {\n        public void f(void);\n    };\n    untrusted {\n        void o(${d} struct blob *b);\n    };\n};\n`;
    for (const d of ['[in]', '[in, out]']) assert.deepEqual(planInterface(canonicalInterface(resolveEdl('O.edl', { readFile: memory({ 'O.edl': src(d) }) }))).ocalls[0]!.params[0]!.deep, planOf('[in] struct blob *b', blob).deep);
    assert.throws(() => planInterface(canonicalInterface(resolveEdl('O.edl', { readFile: memory({ 'O.edl': src('[out]') }) }))), (e: unknown) => e instanceof Error && /specifies a deep copy and cannot be used with an `out' attribute/.test(e.message));
    // Without size=/count= on a member the structure is copied as it is; [user_check] copies nothing.
    assert.equal(planOf('[in] struct plain *b', 'struct plain { size_t len; uint8_t *data; };').elemSize, 8);
    assert.equal(planOf('[in] struct plain *b', 'struct plain { size_t len; uint8_t *data; };').deep, null);
    assert.equal(planOf('[user_check] struct blob *b', blob).kind, 'user_check');
  });

  test('a deep copy nested in a deep copy is refused (edger8r copies one level: the inner pointers would cross as host addresses); [out] is refused by the EDL, and by the plan of an interface that says it anyway', () => {
    const inner = 'struct inner { size_t len; [size=len] uint8_t *data; };';
    unsupported('[in] struct outer *o', `${inner}\n    struct outer { [count=1] struct inner *in; };`);
    unsupported('[in, out] struct outer *o', `${inner}\n    struct outer { struct inner in; [count=1] uint32_t *k; };`);
    // A pointer to it without size=/count= is copied as a value (as edger8r does).
    assert.equal(planOf('[in] struct outer *o', `${inner}\n    struct outer { struct inner *in; [count=1] uint32_t *k; };`).deep?.members.length, 1);
    assert.throws(() => planOf('[out] struct inner *o', inner), (e: unknown) => e instanceof EdlError && e.code === 'EDL_DEEP_COPY');
    const src = `enclave {\n    ${inner}\n    trusted {\n        public void f([in, out] struct inner *p);\n    };\n};\n`;
    const c = canonicalInterface(resolveEdl('P.edl', { readFile: memory({ 'P.edl': src }) }));
    const forged = { ...c, trusted: [{ ...c.trusted[0]!, params: [{ ...c.trusted[0]!.params[0]!, attributes: { direction: 'out' as const } }] }] };
    assert.throws(() => planInterface(forged), (e: unknown) => e instanceof SdkError && e.code === 'INTERFACE_UNSUPPORTED' && /\[out\]/.test(e.message));
    // A member layout that is not the structure's: INTERFACE_INVALID.
    const s0 = c.structs[0] as { members: { offset: number }[] };
    const moved = { ...c, structs: [{ ...s0, members: [s0.members[0], { ...s0.members[1], offset: 6 }] }] };
    assert.throws(() => planInterface(moved), (e: unknown) => e instanceof SdkError && e.code === 'INTERFACE_INVALID');
    // A member whose type lacks its pointer depth or dimensions: INTERFACE_INVALID, not a TypeError.
    for (const drop of ['dims', 'pointer'] as const) {
      const m1 = s0.members[1] as unknown as { type: Record<string, unknown> };
      const type = { ...m1.type };
      delete type[drop];
      const broken = { ...c, structs: [{ ...s0, members: [s0.members[0], { ...m1, type }] }] };
      assert.throws(() => planInterface(broken as typeof c), (e: unknown) => e instanceof SdkError && e.code === 'INTERFACE_INVALID', drop);
    }
  });

  test('[in, isary] on a typedef of an EDL-defined structure: the structure\'s size', () => {
    const p = planOf('[in, isary] pair_t a', 'struct pair_t { int32_t x; int32_t y[3]; };');
    assert.deepEqual([p.kind, p.elemSize, p.count], ['buffer', 16, null]);
  });

  test('arrays: the whole array; pointers: one pointee (one pointer for T**)', () => {
    assert.equal(planOf('[in] int32_t a[4]').elemSize, 16);
    assert.equal(planOf('[in] int64_t a[2][3]').elemSize, 48);
    assert.equal(planOf('[in] int16_t *p').elemSize, 2);
    assert.equal(planOf('[in, count=2] char **p').elemSize, 4);
  });

  test('an array parameter with size= or count= in a canonical interface made by hand: INTERFACE_INVALID', () => {
    const src = 'enclave {\n    trusted {\n        public void f([in] int32_t a[4], size_t n);\n    };\n};\n';
    const c = canonicalInterface(resolveEdl('P.edl', { readFile: memory({ 'P.edl': src }) }));
    const f = c.trusted[0]!;
    const forged = { ...c, trusted: [{ ...f, params: [{ ...f.params[0]!, attributes: { ...f.params[0]!.attributes, count: 'n' } }, f.params[1]!] }] };
    assert.throws(() => planInterface(forged), (e: unknown) => e instanceof SdkError && e.code === 'INTERFACE_INVALID');
  });
});

// ---- generated code (the closing review: no test looked at what the generators write) -----------

describe('witness edl --c-header / --ts: what is generated', () => {
  const KINDS_EDL = [
    'enclave {',
    '    include "mytypes.h"',
    '    enum color { RED, GREEN = 5 };',
    '    union u1 { int32_t a; float b; };',
    '    struct s0 { s1 inner[2]; };',
    '    struct s1 { int32_t x; union u1 u; struct s1 *next; };',
    '    trusted {',
    '        public int e1(color c, [in] struct s1 *p, bool on, [in, out, string] char *s);',
    '    };',
    '    untrusted {',
    '        void o1([in, string] const char *note, [out, size=8] uint8_t *out, [in, out, string] char *io);',
    '    };',
    '};',
    '',
  ].join('\n');
  const gen = (): { dir: string; run: ReturnType<typeof witness> } => {
    const dir = mkdtempSync(join(tmpdir(), 'witness-gen-'));
    writeFileSync(join(dir, 'kinds.edl'), KINDS_EDL);
    const run = witness('edl', join(dir, 'kinds.edl'), '--c-header', join(dir, 'kinds_t.h'), '--ts', join(dir, 'kinds.ts'));
    return { dir, run };
  };

  test('the C header: the EDL\'s includes, <stdbool.h>, every named type by its bare name (typedefs), a union held by value defined before the struct holding it; with clang, it compiles', (t) => {
    const { dir, run } = gen();
    try {
      assert.equal(run.status, 0, run.stderr);
      const h = readFileSync(join(dir, 'kinds_t.h'), 'utf8');
      assert.match(h, /#include <stdbool\.h>/);
      assert.match(h, /#include "mytypes\.h"/);
      assert.match(h, /typedef enum color \{[^}]*\} color;/);
      assert.match(h, /typedef union u1 u1;/);
      assert.ok(h.indexOf('union u1 {') >= 0 && h.indexOf('union u1 {') < h.indexOf('struct s1 {'), 'u1 defined before s1');
      assert.ok(h.indexOf('struct s1 {') < h.indexOf('struct s0 {'), 's1, held by value under its typedef name, defined before s0');
      const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
      if (clang.status !== 0) {
        t.skip('clang is not installed: the header was not compiled');
        return;
      }
      writeFileSync(join(dir, 'mytypes.h'), '/* the EDL includes it */\n');
      writeFileSync(join(dir, 'use.c'), '#include "kinds_t.h"\nint e1(color c, struct s1 *p, bool on, char *s) { return c + (on ? p->u.a : 0) + (s != 0); }\n');
      const cc = spawnSync('clang', ['--target=wasm32-wasi', '-fsyntax-only', '-Werror', '-I', dir, '-I', join(ROOT, 'c', 'include'), join(dir, 'use.c')], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the TypeScript bindings type what the runtime does: an [in, out] string ECALL argument as bytes (written back) or text; an OCALL gets an [in] string as text and other buffers as bytes or null', () => {
    const { dir, run } = gen();
    try {
      assert.equal(run.status, 0, run.stderr);
      const ts = readFileSync(join(dir, 'kinds.ts'), 'utf8');
      assert.match(ts, /e1\(c: number, p: Uint8Array \| null, on: number, s: Uint8Array \| string \| null\): number;/);
      assert.match(ts, /o1\(note: string \| null, out: Uint8Array \| null, io: Uint8Array \| null\): void;/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an interface Witness refuses (a structure by value) is exit 2 with --c-header alone too, and no file is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'witness-gen-'));
    try {
      writeFileSync(join(dir, 'sv.edl'), 'enclave { struct pt { int32_t x; }; trusted { public int e(struct pt p); }; };\n');
      const r = witness('edl', join(dir, 'sv.edl'), '--c-header', join(dir, 'sv_t.h'));
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /INTERFACE_UNSUPPORTED/);
      assert.equal(existsSync(join(dir, 'sv_t.h')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('witness edl --ts: names and private ECALLs', () => {
  test('parameters named after TypeScript\'s reserved words get a `_`, so the bindings parse; private ECALLs get their own interface and binder (an OCALL implementation may call them when its OCALL allows them)', async () => {
    const ts = (await import('typescript')).default;
    const dir = mkdtempSync(join(tmpdir(), 'witness-gen-'));
    try {
      writeFileSync(join(dir, 'kw.edl'), 'enclave {\n trusted { public int e(int function, size_t new); int priv(int var); };\n untrusted { int o(int class) allow(priv); };\n};\n');
      const r = witness('edl', join(dir, 'kw.edl'), '--ts', join(dir, 'kw.ts'));
      assert.equal(r.status, 0, r.stderr);
      const text = readFileSync(join(dir, 'kw.ts'), 'utf8');
      const out = ts.transpileModule(text, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
      assert.deepEqual((out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), []);
      assert.match(text, /e\(function_: number, new_: number\): number;/);
      assert.match(text, /o\(class_: number\): number;/);
      assert.match(text, /export interface KwPrivateEcalls \{\n {2}priv\(var_: number\): number;/);
      assert.match(text, /export function bindKwPrivate\(enclave: HostEnclave\): KwPrivateEcalls/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('EDL: a structure copied with a pointer member that names no size or count', () => {
  const EDL = `enclave {
    struct node { int32_t value; struct node *next; [size=len] uint8_t *data; size_t len; };
    struct plain { int32_t a; int32_t b; };
    trusted {
        public int ecall_in([in] struct node *n);
        public int ecall_inout([in, out] struct node *n);
        public int ecall_checked([user_check] struct node *n);
        public int ecall_plain([in] struct plain *p);
    };
};`;
  const itf = resolveEdl('Raw.edl', { readFile: memory({ 'Raw.edl': EDL }) });
  test('EDL_POINTER_MEMBER_RAW for each directed parameter, naming the member; none for [user_check] or a structure without pointers', () => {
    assert.deepEqual(itf.warnings.map((w) => [w.code, w.location.line]), [['EDL_POINTER_MEMBER_RAW', 5], ['EDL_POINTER_MEMBER_RAW', 6]]);
    assert.match(itf.warnings[0]!.message, /`next'/);
    assert.doesNotMatch(itf.warnings[0]!.message, /`data'/);
  });
});
