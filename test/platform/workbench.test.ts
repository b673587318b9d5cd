/**
 * The workbench (platform/workbench.ts): your enclave from a signed image, an unsigned one, or a
 * module and its EDL files; called ECALL by ECALL from text; unloaded; and each bad input refused
 * with its code and nothing changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Workbench, WORKBENCH_PROFILES, WORKBENCH_ARENA, type WorkbenchFile } from '../../src/platform/workbench.js';
import { PlatformError } from '../../src/platform/errors.js';
import { buildImage, resolveEdl, encodeImage, withSigstruct, signSigstruct, sigstructFieldsFor, generateSigningKey, EnclaveLoadError, EdlError, SdkError } from '../../src/sdk/index.js';
import { mrsignerOf, ArchFault } from '../../src/arch/index.js';
import { defaultCrypto, toHex } from '../../src/lib/index.js';

const root = new URL('../../../', import.meta.url);
const file = (path: string, name = path.replace(/^.*\//, '')): WorkbenchFile => ({ name, bytes: new Uint8Array(readFileSync(fileURLToPath(new URL(path, root)))) });
const text = (name: string, t: string): WorkbenchFile => ({ name, bytes: new TextEncoder().encode(t) });
const module = file('examples/hello/enclave.wasm');
const edl = file('examples/hello/hello.edl');
const crypto = defaultCrypto();
/** The hello enclave as `witness build` makes it with no configuration. */
const built = buildImage({ module: module.bytes, interface: resolveEdl(fileURLToPath(new URL('examples/hello/hello.edl', root))), config: {} });
const key = generateSigningKey(crypto);
const signed = withSigstruct(built.image, signSigstruct(sigstructFieldsFor(built.config, built.mrenclave, { date: 0x20261128 }), key.privateKeyPem, crypto));
const signerOfKey = toHex(mrsignerOf(signed.sigstruct!, crypto));
const code = (c: string) => (e: unknown) => e instanceof PlatformError && e.code === c;

test('a signed image loads as it is; an unsigned one is signed here; a module and its EDL are built and signed here, to the same MRENCLAVE', () => {
  const w = new Workbench();
  assert.equal(w.profile, 'win-x64-sgx1');
  const a = w.load([{ name: 'hello.signed.wimg', bytes: encodeImage(signed) }]);
  assert.equal(a.origin, 'signed image');
  assert.equal(a.name, 'hello.signed.wimg');
  assert.equal(a.mrenclave, toHex(built.mrenclave));
  assert.equal(a.mrsigner, signerOfKey);
  assert.deepEqual([a.isvProdId, a.isvSvn, a.debug], [0, 0, false]);
  assert.deepEqual(a.ocalls, ['ocall_print']);
  assert.deepEqual(a.ecalls.map((f) => f.name), ['ecall_hello', 'ecall_store_secret', 'ecall_read_secret', 'ecall_seal_secret', 'ecall_unseal_secret', 'ecall_make_report', 'ecall_verify_report']);
  assert.deepEqual(a.ecalls[0], {
    name: 'ecall_hello', public: true, returns: 'int', params: [
      { name: 'name', hint: '[in, string] const char *name: text', takesText: true },
      { name: 'greeting', hint: '[out, size=len] char *greeting: written by the enclave (its length from size=/count=; the text is not used)', takesText: false },
      { name: 'len', hint: 'size_t len: an unsigned 32-bit integer (0 to 4294967295, decimal or 0x…)', takesText: true },
    ],
  });
  // Loading measured every page (EADD, EEXTEND) and ran EINIT, on this machine's counters.
  assert.equal(a.cost.counts.ECREATE, 1);
  assert.equal(a.cost.counts.EINIT, 1);
  assert.equal(a.cost.counts.EADD, built.layout.pages.length);
  assert.ok(a.cost.cycles > 0);

  const b = w.load([{ name: 'hello.wimg', bytes: encodeImage(built.image) }]);
  assert.equal(b.origin, 'image signed here');
  assert.equal(b.mrenclave, toHex(built.mrenclave));
  assert.notEqual(b.mrsigner, signerOfKey);
  const c = w.load([edl, module]);
  assert.equal(c.origin, 'built and signed here');
  assert.equal(c.name, 'enclave.wasm');
  assert.equal(c.mrenclave, toHex(built.mrenclave));
  assert.equal(c.mrsigner, b.mrsigner, 'one key for everything this workbench signs');
  assert.notEqual(c.base, b.base);
  assert.deepEqual(w.loaded, [a.id, b.id, c.id]);
  // Another workbench makes another key.
  const other = new Workbench();
  assert.notEqual(other.load([module, edl]).mrsigner, c.mrsigner);
  other.dispose();
  w.dispose();
});

test('calls from text: results, [out] buffers as text or hex, OCALLs with their arguments, and the leaves each call cost', () => {
  const w = new Workbench({ profile: 'linux-sgx2' });
  const { id } = w.load([module, edl]);
  const hello = w.call(id, 'ecall_hello', ['bench', '', '48']);
  assert.equal(hello.result, '38');
  assert.deepEqual(hello.outputs.map((o) => [o.name, o.text]), [['greeting', 'Hello, bench, from inside the enclave!']]);
  assert.equal(hello.outputs[0]!.hex.length, 96);
  assert.deepEqual(hello.ocalls, ['ocall_print("the enclave wrote a greeting")']);
  assert.deepEqual(hello.cost.counts, { EENTER: 2, EEXIT: 2 });
  // Seal a secret, unseal the blob given back as hex: the enclave holds the secret again.
  // (ecall_store_secret returns where the secret lies in the enclave's memory.)
  assert.ok(Number(w.call(id, 'ecall_store_secret', ['top secret', '10']).result) > 0);
  const sealed = w.call(id, 'ecall_seal_secret', ['1', '', '1024']);
  const size = Number(sealed.result);
  assert.ok(size > 10 && size < 1024, sealed.result);
  assert.equal(sealed.outputs[0]!.text, null);
  w.call(id, 'ecall_store_secret', ['something else', '14']);
  const blob = sealed.outputs[0]!.hex.slice(0, 2 * size);
  assert.equal(w.call(id, 'ecall_unseal_secret', [`hex:${blob}`, String(size)]).result, '10');
  assert.equal(w.call(id, 'ecall_read_secret', ['', '10']).outputs[0]!.text, 'top secret');
  // A changed byte of the blob: the enclave's negative status, not an exception.
  const flipped = blob.slice(0, -2) + (blob.endsWith('00') ? '01' : '00');
  assert.ok(Number(w.call(id, 'ecall_unseal_secret', [`hex:${flipped}`, String(size)]).result) < 0);
  w.dispose();
});

test('bad calls are refused with their codes before anything runs: no enclave, no ECALL, wrong count, bad text', () => {
  const w = new Workbench();
  const { id } = w.load([module, edl]);
  const before = w.processor.inspect.counters;
  assert.throws(() => w.call(id + 1, 'ecall_hello', []), (e: unknown) => code('WORKBENCH_NO_ENCLAVE')(e) && (e as Error).message === `no enclave ${id + 1} is loaded (loaded: ${id})`);
  assert.throws(() => w.call(id, 'ecall_nope', []), (e: unknown) => code('WORKBENCH_NO_ECALL')(e) && /has no ECALL ecall_nope \(it has ecall_hello, /.test((e as Error).message));
  assert.throws(() => w.call(id, 'ecall_hello', ['x']), code('ECALL_ARGS'));
  assert.throws(() => w.call(id, 'ecall_hello', ['x', '', 'lots']), code('ECALL_ARG'));
  assert.throws(() => w.call(id, 'ecall_store_secret', ['@/etc/passwd', '4']), (e: unknown) => code('ECALL_ARG')(e) && /no file can be read here/.test((e as Error).message));
  // An [out] buffer larger than the marshalling arena: refused before it is allocated.
  assert.throws(() => w.call(id, 'ecall_hello', ['x', '', String(2 ** 30)]), (e: unknown) => code('ECALL_ARG')(e) && (e as Error).message === `greeting: its size=/count= make ${2 ** 30} bytes, more than the ${WORKBENCH_ARENA} this host can pass`);
  assert.throws(() => w.call(id, 'ecall_store_secret', [`hex:${'00'.repeat(WORKBENCH_ARENA + 1)}`, '4']), (e: unknown) => code('ECALL_ARG')(e) && /secret: 1048577 bytes, more than the 1048576/.test((e as Error).message));
  assert.deepEqual(w.processor.inspect.counters, before, 'no leaf ran');
  // A call the SDK refuses (an [out] buffer the arena cannot hold beside the rest) is the SDK's error, and the enclave still answers afterwards.
  assert.throws(() => w.call(id, 'ecall_make_report', [`hex:${'00'.repeat(512)}`, `hex:${'00'.repeat(WORKBENCH_ARENA - 100)}`, String(WORKBENCH_ARENA - 100), '']), (e: unknown) => e instanceof SdkError && e.code === 'ARENA_EXHAUSTED');
  assert.equal(w.call(id, 'ecall_hello', ['again', '', '64']).result, '38');
  w.dispose();
});

test('an EDL split across files: the root is the one no other imports, and imports are found by name', () => {
  const edlText = new TextDecoder().decode(edl.bytes);
  const trusted = edlText.replace(/untrusted \{[^}]*\};/, '').replace('enclave {', 'enclave {\n    from "lib/print.edl" import *;');
  const lib = 'enclave { untrusted { void ocall_print([in, string] const char *message); }; };';
  const w = new Workbench();
  const a = w.load([module, text('print.edl', lib), text('main.edl', trusted)]);
  assert.equal(a.mrenclave, toHex(built.mrenclave), 'the same interface, so the same measurement');
  assert.deepEqual(a.ocalls, ['ocall_print']);
  // Two roots, or none: refused, naming them.
  assert.throws(() => w.load([module, text('print.edl', lib), edl]), (e: unknown) => code('WORKBENCH_FILES')(e) && /print\.edl, hello\.edl are imported by none/.test((e as Error).message));
  const cycle = (n: string, m: string) => text(`${n}.edl`, `enclave { from "${m}.edl" import *; trusted { public void f_${n}(void); }; };`);
  assert.throws(() => w.load([module, cycle('a', 'b'), cycle('b', 'a')]), (e: unknown) => code('WORKBENCH_FILES')(e) && /each is imported by another/.test((e as Error).message));
  // Files named with their folders (as a Node caller has them): found by name all the same.
  assert.equal(w.load([file('examples/hello/enclave.wasm', 'examples/hello/enclave.wasm'), file('examples/hello/hello.edl', 'examples/hello/hello.edl')]).mrenclave, toHex(built.mrenclave));
  const split = w.load([module, text('src/lib/print.edl', lib), text('src\\main.edl', trusted)]);
  assert.equal(split.mrenclave, toHex(built.mrenclave));
  assert.throws(() => w.load([module, text('a/print.edl', lib), text('b/print.edl', lib), text('main.edl', trusted)]), (e: unknown) => code('WORKBENCH_FILES')(e) && /two EDL files have the same name/.test((e as Error).message));
  w.unload(split.id);
  w.unload(w.loaded.at(-1)!);
  // An import that is not among the files: the EDL's own error.
  assert.throws(() => w.load([module, text('main.edl', trusted)]), (e: unknown) => e instanceof EdlError && e.code === 'EDL_IMPORT_NOT_FOUND');
  assert.deepEqual(w.loaded, [a.id]);
  w.dispose();
});

test('a configuration file is the image\'s configuration; files that are no enclave are refused, and nothing is loaded', () => {
  const w = new Workbench();
  const free = w.processor.inspect.freeEpcPages;
  const a = w.load([module, edl, text('enclave.json', '{ "isvProdId": 7, "isvSvn": 3, "debug": true }')]);
  assert.deepEqual([a.isvProdId, a.isvSvn, a.debug], [7, 3, true]);
  // ATTRIBUTES and the ISV's ids are the SIGSTRUCT's, not measured (ECREATE measures SSAFRAMESIZE and SIZE).
  assert.equal(a.mrenclave, toHex(built.mrenclave));
  w.unload(a.id);
  assert.equal(w.processor.inspect.freeEpcPages, free, 'its pages went back to the EPC');
  const refused: [readonly WorkbenchFile[], (e: unknown) => boolean][] = [
    [[], code('WORKBENCH_FILES')],
    [[edl], code('WORKBENCH_FILES')],
    [[module], code('WORKBENCH_FILES')],
    [[module, module, edl], code('WORKBENCH_FILES')],
    [[module, edl, text('notes.txt', 'hi')], code('WORKBENCH_FILES')],
    [[{ name: 'x.wimg', bytes: encodeImage(signed) }, module, edl], code('WORKBENCH_FILES')],
    [[module, edl, text('a.json', '{}'), text('b.json', '{}')], code('WORKBENCH_FILES')],
    [[module, edl, text('c.json', '{ not json')], code('WORKBENCH_CONFIG')],
    [[module, edl, text('c.json', '[1]')], code('WORKBENCH_CONFIG')],
    [[module, edl, text('c.json', '{ "tcsCount": 0 }')], (e) => e instanceof SdkError],
    [[text('enclave.wasm', 'not wasm'), edl], (e) => e instanceof SdkError],
    [[module, text('hello.edl', 'enclave { trusted {')], (e) => e instanceof EdlError],
    [[{ name: 'bad.wimg', bytes: encodeImage(signed).slice(0, 100) }], (e) => e instanceof SdkError && e.code === 'IMAGE_INVALID'],
  ];
  for (const [files, check] of refused) assert.throws(() => w.load(files), check, files.map((f) => f.name).join(', '));
  assert.deepEqual(w.loaded, []);
  assert.equal(w.processor.inspect.freeEpcPages, free);
  w.dispose();
});

test('the platform refusing the enclave is EnclaveLoadError; profiles; unload and dispose', () => {
  assert.deepEqual([...WORKBENCH_PROFILES].sort(), ['linux-nosgx', 'linux-sgx1', 'linux-sgx2', 'win-absent', 'win-stub-10514-arm', 'win-x64-nosgx', 'win-x64-sgx1', 'win-x64-sgx2']);
  assert.throws(() => new Workbench({ profile: 'win-x64-sgx3' as 'win-x64-sgx1' }), code('WORKBENCH_PROFILE'));
  for (const profile of ['win-x64-nosgx', 'linux-nosgx'] as const) {
    const none = new Workbench({ profile });
    assert.throws(() => none.load([module, edl]), (e: unknown) => e instanceof EnclaveLoadError);
    assert.deepEqual(none.loaded, []);
  }
  const w = new Workbench({ profile: 'win-x64-sgx2', seed: new Uint8Array(16).fill(7) });
  const { id } = w.load([module, edl]);
  w.unload(id);
  assert.throws(() => w.unload(id), code('WORKBENCH_NO_ENCLAVE'));
  assert.throws(() => w.call(id, 'ecall_hello', ['x', '', '8']), code('WORKBENCH_NO_ENCLAVE'));
  const again = w.load([module, edl]);
  assert.ok(again.id > id, 'ids are not reused');
  const w2 = new Workbench();
  assert.ok(w2.load([module, edl]).id > again.id, 'not by another workbench either');
  w2.dispose();
  w.dispose();
  w.dispose();
  assert.deepEqual(w.loaded, []);
  assert.throws(() => w.load([module, edl]), code('WORKBENCH_DISPOSED'));
  assert.throws(() => w.call(again.id, 'ecall_hello', []), code('WORKBENCH_DISPOSED'));
});

test('peek: the same bytes as the kernel (the abort page), DRAM (ciphertext) and a debugger (plaintext only of a DEBUG enclave) see them', () => {
  const secret = 'peek at me, debugger';
  const hex = toHex(new TextEncoder().encode(secret));
  for (const profile of ['win-x64-sgx1', 'linux-sgx2'] as const) {
    for (const debug of [false, true]) {
      const w = new Workbench({ profile });
      const { id } = w.load([module, edl, text('c.json', JSON.stringify({ debug }))]);
      const pointer = Number(w.call(id, 'ecall_store_secret', [secret, String(secret.length)]).result);
      const v = w.peek(id, { pointer }, secret.length);
      const where = `${profile}, ${debug ? 'DEBUG' : 'production'}`;
      assert.equal(v.kernel, 'ff'.repeat(secret.length), where);
      assert.notEqual(v.dram, hex, where);
      assert.notEqual(v.dram, v.kernel, where);
      assert.notEqual(v.physical, null);
      if (debug) assert.deepEqual(v.debugger, { via: v.debugger.via, hex }, where);
      else assert.match('refused' in v.debugger ? v.debugger.refused : 'read!', profile === 'linux-sgx2' ? /^EIO \(5\)$/ : /^#GP\(0\): EDBGRD/, where);
      assert.match(v.debugger.via, profile === 'linux-sgx2' ? /\/proc\/self\/mem/ : /EDBGRD/);
      // The same bytes by their linear address; a view of part of them, not 8-byte aligned.
      assert.deepEqual(w.peek(id, { linear: v.linear }, secret.length), v);
      if (debug) assert.deepEqual(w.peek(id, { linear: v.linear + 3 }, 5).debugger, { via: v.debugger.via, hex: hex.slice(6, 16) });
      // DRAM changes when the enclave writes the same bytes again (a new version, a new ciphertext).
      w.call(id, 'ecall_store_secret', [secret, String(secret.length)]);
      assert.notEqual(w.peek(id, { pointer }, secret.length).dram, v.dram, where);
      w.dispose();
    }
  }
});

test('peek refuses a length, pointer or address outside its bounds, and a view across pages', () => {
  const w = new Workbench();
  const { id, base, size } = w.load([module, edl]);
  const refused = (at: Parameters<Workbench['peek']>[1], length: number, message: RegExp) => assert.throws(() => w.peek(id, at, length), (e: unknown) => code('WORKBENCH_PEEK')(e) && message.test((e as Error).message), `${JSON.stringify(at)} ${length}`);
  refused({ pointer: 0 }, 0, /a view is 1 to 256 bytes, not 0/);
  refused({ pointer: 0 }, 257, /not 257/);
  refused({ pointer: 0 }, 1.5, /not 1\.5/);
  refused({ pointer: -1 }, 8, /a pointer of the enclave's memory is 0 to 0x[0-9a-f]+ for 8 bytes, not -1/);
  refused({ pointer: built.config.heapSize }, 1, /not \d+/);
  refused({ linear: base - 1 }, 1, /is not within ELRANGE/);
  refused({ linear: base + size - 4 }, 8, /is not within ELRANGE/);
  refused({ pointer: 4094 }, 4, /a view stays within one 4 KiB page/);
  // Where to look, from a caller without the types: neither a pointer nor a linear address, or not a number.
  const untyped = (at: unknown) => at as Parameters<Workbench['peek']>[1];
  refused(untyped(null), 8, /^where to look is \{ pointer \} or \{ linear \}, not null$/);
  refused(untyped({}), 8, /^where to look is \{ pointer \} or \{ linear \}, not \{\}$/);
  refused(untyped({ linear: undefined }), 8, /^undefined for 8 bytes is not within ELRANGE/);
  refused(untyped({ linear: '0x10' }), 8, /^"0x10" for 8 bytes is not within ELRANGE/);
  refused(untyped({ where: 10 }), 8, /^where to look is \{ pointer \} or \{ linear \}, not \{ where \}$/);
  assert.throws(() => w.peek(id, untyped({ pointer: 10n }), 8), (e: unknown) => code('WORKBENCH_PEEK')(e) && /for 8 bytes, not 10$/.test((e as Error).message));
  assert.throws(() => w.peek(id + 1000, { pointer: 0 }, 1), code('WORKBENCH_NO_ENCLAVE'));
  // The last bytes of the memory and of ELRANGE are within bounds; a guard page is not mapped.
  assert.equal(w.peek(id, { pointer: built.config.heapSize - 1 }, 1).kernel, 'ff');
  const guard = w.peek(id, { linear: base + built.layout.heap.offset - 4096 }, 8);
  assert.deepEqual([guard.physical, guard.kernel, guard.dram], [null, null, null]);
  assert.deepEqual(guard.debugger, { via: guard.debugger.via, refused: 'the page is not mapped' });
  w.dispose();
});

test('peek on Windows: a #MC from EDBGRD (a page changed in DRAM locks the platform) is not a refusal: it goes on, as everywhere in the model', () => {
  const w = new Workbench({ profile: 'win-x64-sgx1' });
  const { id } = w.load([module, edl, text('c.json', '{ "debug": true }')]);
  const pointer = Number(w.call(id, 'ecall_store_secret', ['tampered', '8']).result);
  const v = w.peek(id, { pointer }, 8);
  assert.ok('hex' in v.debugger, 'a DEBUG enclave reads before the tamper');
  const dram = w.processor.memory.dramRead(v.physical!, 8);
  dram[0]! ^= 1;
  w.processor.memory.dramWrite(v.physical!, dram);
  assert.throws(() => w.peek(id, { pointer }, 8), (e: unknown) => e instanceof ArchFault && e.vector === 18);
});
