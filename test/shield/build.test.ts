/**
 * Building a shielded image: the manifest (every bad field a typed error, one canonical form), the
 * program's transformation (its memory imported, the section appended, its code untouched), the
 * checks buildImage and the trusted runtime share (WASI imports and signatures, a command not a
 * reactor, the shield's interface), and the runtime's extension point itself.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { resolveManifest, manifestBytes, parseManifest, shieldModule, buildShieldImage, ShieldError, SHIELD_ID, SHIELD_DESCRIPTOR, WASI_FUNCTIONS, shieldInterface, createShieldHost, shieldExtension, type ShieldManifest } from '../../src/shield/index.js';
import { readWasmModule, buildImage, createTrustedRuntime, extensionRequest, extensionPayload, loadEnclave, SdkError, EXTENSION_SECTION, STATUS, type RuntimeExtension } from '../../src/sdk/index.js';
import { createPlatform } from '../../src/platform/index.js';
import { wasiProgram, shielded, TEST_HEAP } from '../helpers/shield.js';
import { assertStatus, isSdkError } from '../helpers/sdk.js';

const isShieldError = (code: string) => (e: unknown) => {
  assert.ok(e instanceof ShieldError, `expected ShieldError ${code}, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};
const enc = new TextEncoder();
const H = 'a'.repeat(64);

describe('the manifest', () => {
  test('defaults, and one canonical form (env and trusted files sorted)', () => {
    assert.deepEqual(resolveManifest(), { args: ['program'], env: [], mounts: [], stdin: 'none', attestation: false });
    const a = resolveManifest({ env: { B: '2', A: '1' }, mounts: [{ path: '/t', kind: 'trusted', files: { 'z': H, 'a/b': H } }] });
    const b = resolveManifest({ mounts: [{ kind: 'trusted', files: { 'a/b': H, 'z': H }, path: '/t' }], env: { A: '1', B: '2' } });
    assert.deepEqual(manifestBytes(a), manifestBytes(b));
    assert.deepEqual(a.env, ['A=1', 'B=2']);
    assert.deepEqual(parseManifest(manifestBytes(a)), a);
  });

  test('every bad field is MANIFEST_INVALID, naming it', () => {
    const bad: [unknown, string][] = [
      [null, '(the whole manifest)'],
      [{ argv: [] }, 'argv'],
      [{ args: [] }, 'args'],
      [{ args: ['a\0b'] }, 'args[0]'],
      [{ args: ['\ud800'] }, 'args[0]'],
      [{ env: { 'A=B': 'x' } }, 'env.A=B'],
      [{ env: { A: 3 } }, 'env.A'],
      [{ stdin: 'file' }, 'stdin'],
      [{ mounts: {} }, 'mounts'],
      [{ mounts: [{ path: 'rel', kind: 'host' }] }, 'mounts[0].path'],
      [{ mounts: [{ path: '/a/../b', kind: 'host' }] }, 'mounts[0].path'],
      [{ mounts: [{ path: '/a/', kind: 'host' }] }, 'mounts[0].path'],
      [{ mounts: [{ path: '/a', kind: 'host' }, { path: '/a', kind: 'encrypted' }] }, 'mounts[1].path'],
      [{ mounts: [{ path: '/a', kind: 'tmpfs' }] }, 'mounts[0].kind'],
      [{ mounts: [{ path: '/a', kind: 'host', keyPolicy: 'mrenclave' }] }, 'mounts[0].keyPolicy'],
      [{ mounts: [{ path: '/a', kind: 'encrypted', keyPolicy: 'mrexotic' }] }, 'mounts[0].keyPolicy'],
      [{ mounts: [{ path: '/a', kind: 'encrypted', files: {} }] }, 'mounts[0].files'],
      [{ mounts: [{ path: '/a', kind: 'trusted', readOnly: true }] }, 'mounts[0].readOnly'],
      [{ mounts: [{ path: '/a', kind: 'host', readOnly: 'yes' }] }, 'mounts[0].readOnly'],
      [{ mounts: [{ path: '/a', kind: 'trusted', files: { '../x': H } }] }, "mounts[0].files['../x']"],
      [{ mounts: [{ path: '/a', kind: 'trusted', files: { x: 'ABC' } }] }, "mounts[0].files['x']"],
      [{ mounts: [{ path: '/a', kind: 'trusted', files: { x: H, 'x/y': H } }] }, "mounts[0].files['x']"],
      [{ mounts: [{ path: '/a', kind: 'host', extra: 1 }] }, 'mounts[0].extra'],
      [{ attestation: 'yes' }, 'attestation'],
      [{ attestation: true, mounts: [{ path: '/dev/attestation/x', kind: 'host' }] }, 'mounts[0].path'],
    ];
    for (const [m, field] of bad) {
      assert.throws(() => resolveManifest(m as ShieldManifest), (e: unknown) => isShieldError('MANIFEST_INVALID')(e) && (e as ShieldError).data.field === field, JSON.stringify(m));
    }
  });

  test('parseManifest takes the canonical bytes only', () => {
    const m = manifestBytes(resolveManifest({ env: { A: '1' } }));
    assert.throws(() => parseManifest(enc.encode(' ' + new TextDecoder().decode(m))), isShieldError('MANIFEST_INVALID'));
    assert.throws(() => parseManifest(new Uint8Array([0xff])), isShieldError('MANIFEST_INVALID'));
    assert.throws(() => parseManifest(enc.encode('{"args":["p"],"env":["A"],"mounts":[],"stdin":"none"}')), isShieldError('MANIFEST_INVALID'));
  });
});

describe('the program as an enclave module', () => {
  const program = wasiProgram();

  test('its memory becomes the import env.memory with the same limits; its code is untouched', () => {
    const before = readWasmModule(program);
    const out = shieldModule(program, extensionPayload(SHIELD_ID, enc.encode('{}')));
    const after = readWasmModule(out);
    assert.equal(before.definedMemories, 1);
    assert.equal(after.definedMemories, 0);
    const mem = after.imports.find((i) => i.kind === 'memory');
    assert.deepEqual(mem && { module: mem.module, name: mem.name }, { module: 'env', name: 'memory' });
    const names = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => e.name);
    assert.deepEqual(names(new WebAssembly.Module(out)), names(new WebAssembly.Module(program)));
    const section = (b: Uint8Array, id: number): string => {
      // the raw bytes of the first section with this id
      let o = 8;
      while (o < b.length) {
        const sid = b[o]!;
        let size = 0, shift = 0, k = o + 1;
        for (;;) {
          const x = b[k++]!;
          size += (x & 0x7f) * 2 ** shift;
          shift += 7;
          if (!(x & 0x80)) break;
        }
        if (sid === id) return Buffer.from(b.subarray(k, k + size)).toString('hex');
        o = k + size;
      }
      return '';
    };
    for (const id of [1, 3, 7, 10, 11]) assert.equal(section(out, id), section(program, id), `section ${id} unchanged`);
    // The same limits: the import's min and max are the defined memory's (its section: count, flags, min[, max]).
    const memSection = Buffer.from(section(program, 5), 'hex');
    assert.equal(memSection[0], 1);
    const flags = memSection[1]!;
    let o = 2, min = 0, shift = 0;
    for (;;) {
      const x = memSection[o++]!;
      min += (x & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(x & 0x80)) break;
    }
    assert.ok(mem && mem.kind === 'memory');
    assert.equal(mem.min, min);
    assert.equal(mem.max, flags & 1 ? mem.max : null);
    assert.equal(flags & 1, 0, 'clang gives a WASI command no maximum');
    const req = extensionRequest(out, after);
    assert.deepEqual(req && { id: req.id, config: new TextDecoder().decode(req.config) }, { id: SHIELD_ID, config: '{}' });
  });

  test('refused: not WebAssembly, a memory imported, no memory, a shared memory, a second shield section', () => {
    const payload = extensionPayload(SHIELD_ID, new Uint8Array(0));
    assert.throws(() => shieldModule(enc.encode('not wasm'), payload), isShieldError('PROGRAM_INVALID'));
    const importsMemory = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 2, 0x0a, 1, 3, 0x65, 0x6e, 0x76, 1, 0x6d, 2, 0, 1]);
    assert.ok(WebAssembly.validate(importsMemory));
    assert.throws(() => shieldModule(importsMemory, payload), /imports its memory/);
    const noMemory = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    assert.throws(() => shieldModule(noMemory, payload), /defines no memory/);
    const shared = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 3, 1, 2]); // one memory: shared, min 1, max 2
    assert.ok(WebAssembly.validate(shared));
    assert.throws(() => shieldModule(shared, payload), /shared/);
    const once = shieldModule(program, payload);
    assert.throws(() => shieldModule(once, payload), /already has a witness.extension section/);
  });
});

describe('building and loading', () => {
  test('buildImage needs the extension a module names, and only that one', () => {
    const module = shieldModule(wasiProgram(), extensionPayload(SHIELD_ID, manifestBytes(resolveManifest())));
    const iface = shieldInterface();
    assert.throws(() => buildImage({ module, interface: iface, config: { heapSize: TEST_HEAP } }), (e: unknown) => isSdkError('MODULE_INVALID')(e) && /asks for runtime extension witness-shield/.test((e as Error).message));
    assert.throws(() => buildImage({ module, interface: iface, config: { heapSize: TEST_HEAP }, extension: { ...SHIELD_DESCRIPTOR, id: 'other/1' } }), isSdkError('MODULE_INVALID'));
    assert.throws(() => buildImage({ module: wasiProgram(), interface: iface, config: { heapSize: TEST_HEAP }, extension: SHIELD_DESCRIPTOR }), /no witness.extension section/);
    assert.equal(buildImage({ module, interface: iface, config: { heapSize: TEST_HEAP }, extension: SHIELD_DESCRIPTOR }).image.manifest.runtime, 'witness-trts/0.1');
  });

  test('the checks: WASI imports only, with their signatures; a command; the shield interface; a heap that holds the memory', () => {
    const m = resolveManifest();
    const problems = (info: ReturnType<typeof readWasmModule>) => SHIELD_DESCRIPTOR.check(info, { ecalls: [], ocalls: [] }, manifestBytes(m));
    const info = readWasmModule(wasiProgram());
    assert.match(problems(info).join(), /must be built with the shield interface/);
    const reactor = { ...info, exports: [...info.exports, { name: '_initialize', kind: 'function' as const, type: { params: [], results: [] } }] };
    assert.ok(SHIELD_DESCRIPTOR.check(reactor, { ecalls: [], ocalls: [] }, manifestBytes(m)).some((p) => /reactor/.test(p)));
    const noStart = { ...info, exports: info.exports.filter((e) => e.name !== '_start') };
    assert.ok(SHIELD_DESCRIPTOR.check(noStart, { ecalls: [], ocalls: [] }, manifestBytes(m)).some((p) => /export _start/.test(p)));
    assert.ok(SHIELD_DESCRIPTOR.check(info, { ecalls: [], ocalls: [] }, enc.encode('{}')).some((p) => /canonical/.test(p)));
    assert.throws(() => buildShieldImage({ program: wasiProgram(), config: { heapSize: 65536 } }), (e: unknown) => isSdkError('MODULE_INVALID')(e) && /memory pages but the enclave heap/.test((e as Error).message));
    // Every function of wasi_snapshot_preview1.witx is offered (46: wasi-libc's api.h declares all
    // but proc_raise), with clang's signatures (the fixture imports some of them).
    assert.equal(Object.keys(WASI_FUNCTIONS).length, 46);
    for (const i of info.imports) if (i.kind === 'function') assert.deepEqual(i.type, WASI_FUNCTIONS[i.name], i.name);
  });

  test('extensions given to a runtime: typed errors for a malformed one, a duplicate, a reserved import module', () => {
    const ext = shieldExtension();
    assert.throws(() => createTrustedRuntime({ extensions: [ext, ext] }), (e: unknown) => isSdkError('BAD_OPTIONS')(e) && /two extensions/.test((e as Error).message));
    assert.throws(() => createTrustedRuntime({ extensions: [{ ...ext, imports: { env: {} } }] }), /may not offer imports of module 'env'/);
    assert.throws(() => createTrustedRuntime({ extensions: [{ id: 'x' } as unknown as RuntimeExtension] }), isSdkError('BAD_OPTIONS'));
  });

  test('the witness.extension section: one at most, a printable identity', () => {
    const info = (payloads: Uint8Array[]) => {
      const mod = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
      const parts: number[] = [...mod];
      for (const p of payloads) {
        const name = enc.encode(EXTENSION_SECTION);
        const body = [name.length, ...name, ...p];
        parts.push(0, body.length, ...body);
      }
      const b = Uint8Array.from(parts);
      return [b, readWasmModule(b)] as const;
    };
    assert.equal(extensionRequest(...info([])), null);
    assert.throws(() => extensionRequest(...info([enc.encode('a\0'), enc.encode('b\0')])), /2 witness.extension sections/);
    assert.throws(() => extensionRequest(...info([enc.encode('no terminator')])), isSdkError('MODULE_INVALID'));
    assert.throws(() => extensionRequest(...info([enc.encode('sp ace\0')])), /printable/);
    assert.deepEqual(extensionRequest(...info([enc.encode('x/1\0cfg')])), { id: 'x/1', config: enc.encode('cfg') });
    assert.throws(() => extensionPayload('with space', new Uint8Array(0)), isSdkError('BAD_OPTIONS'));
  });

  test('ExtensionHost.hostCall: a call that does not fit the OCALL is the extension’s error (EXTENSION_CALL), nothing goes out', () => {
    const seen: string[] = [];
    let calls = 0;
    const probe: RuntimeExtension = {
      ...SHIELD_DESCRIPTOR,
      attach: (host) => ({
        imports: shieldExtension().attach(host).imports,
        ecalls: {
          shield_main: () => {
            const tries: (readonly (number | bigint | Uint8Array)[])[] = [
              [new Uint8Array(4), 4, new Uint8Array(8)],
              [new Uint8Array(4), 5, new Uint8Array(8), 8],
              [4, 4, new Uint8Array(8), 8],
              [new Uint8Array(4), new Uint8Array(4), new Uint8Array(8), 8],
            ];
            for (const t of tries) {
              try {
                host.hostCall('shield_host', t);
                seen.push('no error');
              } catch (e) {
                seen.push(e instanceof SdkError ? e.code : String(e));
              }
            }
            try {
              host.hostCall('no_such_ocall', []);
            } catch (e) {
              seen.push(e instanceof SdkError ? e.code : String(e));
            }
            // A well-formed one goes out and comes back: a VIOLATION report (op 14), answered with errno 0.
            const req = new Uint8Array(12);
            req[0] = 14;
            const resp = new Uint8Array(16);
            const r = host.hostCall('shield_host', [req, req.length, resp, resp.length]);
            seen.push(`status ${r.status} result ${String(r.result)} errno ${resp[0]}`);
            return 0;
          },
        },
      }),
    };
    const t = shielded({ args: ['p', 'hello'] });
    const p = createPlatform({ engine: createTrustedRuntime({ extensions: [probe] }) });
    const host = createShieldHost({ intercept: () => void calls++ });
    const e = loadEnclave(p, t.built.image, { sigstruct: t.sigstruct, ocalls: host.ocalls });
    try {
      assert.equal(e.ecall('shield_main'), 0);
    } finally {
      e.destroy();
    }
    assert.deepEqual(seen, ['EXTENSION_CALL', 'EXTENSION_CALL', 'EXTENSION_CALL', 'EXTENSION_CALL', 'EXTENSION_CALL', `status ${STATUS.SUCCESS} result 4 errno 0`]);
    assert.equal(calls, 1, 'only the well-formed call reached the host');
  });

  test('an extension that gives no body for its ECALL leaves the enclave INVALID_ENCLAVE', () => {
    const empty: RuntimeExtension = { ...SHIELD_DESCRIPTOR, attach: (host) => ({ imports: shieldExtension().attach(host).imports, ecalls: {} }) };
    const t = shielded({ args: ['p', 'hello'] });
    const p = createPlatform({ engine: createTrustedRuntime({ extensions: [empty] }) });
    const e = loadEnclave(p, t.built.image, { sigstruct: t.sigstruct, ocalls: createShieldHost().ocalls });
    try {
      assertStatus(() => e.ecall('shield_main'), STATUS.INVALID_ENCLAVE);
    } finally {
      e.destroy();
    }
  });
});
