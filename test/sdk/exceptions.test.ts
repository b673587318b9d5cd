/**
 * Exceptions and refused modules. An ECALL whose code traps (unreachable, integer division by
 * zero or overflow, an out-of-bounds access, a call-stack overflow, witness_abort) fails with
 * ENCLAVE_CRASHED, and so does every later ECALL of that enclave on any thread, as in the Intel SDK;
 * the EPC is freed when it is destroyed. A module that imports what its EDL does not declare is
 * refused by buildImage (MODULE_INVALID), and, smuggled into an image by hand (the SGXS built or
 * edited here and measured again), by the trusted runtime at the first entry (INVALID_ENCLAVE).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCrypto, toHex, writeU64le } from '../../src/lib/index.js';
import { VECTOR, parseSgxs, replaySgxs, measureSgxs, SgxsWriter, type ExitInfo, type EnclaveContext, type EnclaveEngine } from '../../src/arch/index.js';
import {
  buildImage, computeLayout, layoutSgxs, layoutMrenclave, canonicalInterface, interfaceBytes, resolveEnclaveConfig, configToJson, loadEnclave, RUNTIME_ID, RUNTIME_HEADER,
  createTrustedRuntime, EnclaveCallError, type EnclaveImage, type ImageManifest, type HostEnclave, type BuiltImage,
} from '../../src/sdk/index.js';
import type { Platform } from '../../src/platform/index.js';
import {
  newPlatform, loadFixture, buildFixture, fixtureModule, fixtureInterface, sigFieldsFor, assertStatus, isSdkError, ecallPlan, untrusted, writeMs, rawEnter,
  testKey, STATUS,
} from '../helpers/sdk.js';
import { signSigstruct, planInterface, checkModuleImports, type EdlInterface } from '../../src/sdk/index.js';
import { catchAllModule } from '../helpers/wasm.js';

const crypto = defaultCrypto();

/** The exception the failed call reported (EnclaveCallError data.exception). */
function failure(fn: () => unknown): { status: number; exception: ExitInfo | null; code: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EnclaveCallError, String(e));
    const d = e.data as { status: number; exception?: ExitInfo | null };
    return { status: d.status, exception: d.exception ?? null, code: e.code };
  }
  return assert.fail('the ECALL succeeded');
}

/** Every later ECALL fails with ENCLAVE_CRASHED, on the first TCS and (entered directly) on the second. */
function assertCrashedForGood(p: Platform, e: HostEnclave): void {
  assertStatus(() => e.ecall('ecall_ok', [1]), STATUS.ENCLAVE_CRASHED, 'a later ECALL');
  assertStatus(() => e.ecall('ecall_ok', [2]), STATUS.ENCLAVE_CRASHED, 'and the next');
  const u = untrusted(p, 0x1000);
  writeMs(p, u, [5]);
  const { exit, regs } = rawEnter(p, e, { index: ecallPlan(e, 'ecall_ok').index, ms: u, scratch: 0, scratchSize: 0, tcs: e.tcs[1]! });
  assert.equal(exit.reason, 'eexit');
  assert.equal(regs.rax, STATUS.ENCLAVE_CRASHED, 'another thread');
  p.kernel32.VirtualFree(u, 0, 0x8000);
}

describe('traps', () => {
  const cases: [string, string, (number | bigint)[], number][] = [
    ['unreachable', 'ecall_unreachable', [], VECTOR.UD],
    ['integer division by zero', 'ecall_div', [1, 0], VECTOR.DE],
    ['integer remainder by zero', 'ecall_rem', [1, 0], VECTOR.DE],
    ['integer overflow (INT_MIN / -1)', 'ecall_div', [-2147483648, -1], -1],
    ['an out-of-bounds load (beyond the linear memory)', 'ecall_load', [0xfffffff0], VECTOR.PF],
    ['an out-of-bounds store', 'ecall_store', [0x7fff_fff0, 1], VECTOR.PF],
    ['a call-stack overflow (unbounded recursion)', 'ecall_recurse', [0], VECTOR.PF],
    ['witness_abort()', 'ecall_abort', [], VECTOR.UD],
  ];
  for (const [what, name, args, vector] of cases) {
    test(`${what} → ENCLAVE_CRASHED (0x1006), for every later ECALL too; the EPC is freed on destroy`, () => {
      const p = newPlatform();
      const free = p.processor.inspect.freeEpcPages;
      const e = loadFixture(p, 'crash');
      assert.ok(p.processor.inspect.freeEpcPages < free);
      assert.equal(e.ecall('ecall_ok', [41]), 42);
      const f = failure(() => e.ecall(name, args));
      assert.equal(f.status, STATUS.ENCLAVE_CRASHED);
      assert.equal(STATUS.ENCLAVE_CRASHED, 0x1006);
      if (vector >= 0) assert.equal(f.exception?.vector, vector, `exception vector (${f.exception?.detail ?? 'none'})`);
      else assert.ok(f.exception !== null, 'an exception was reported');
      assert.equal(e.stats.exceptions, 1);
      assertCrashedForGood(p, e);
      e.destroy();
      assert.equal(p.processor.inspect.freeEpcPages, free, 'EPC pages leaked');
      assert.equal(p.processor.inspect.enclaves().length, 0);
    });
  }

  test('INT_MIN / -1 is reported as #DE, as an IDIV overflow is on x86', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'crash');
    assert.equal(failure(() => e.ecall('ecall_div', [-2147483648, -1])).exception?.vector, VECTOR.DE);
    e.destroy();
  });

  test('deep but bounded C recursion (60 frames of 1 KiB in a 64 KiB stack) returns normally', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'crash');
    assert.equal(e.ecall('ecall_deep_frames', [60]), 60);
    assert.equal(e.ecall('ecall_canary_check', []), 0);
    e.destroy();
  });

  test('a C stack overflow traps (ENCLAVE_CRASHED) before it reaches the enclave\'s static data', () => {
    const p = newPlatform();
    const bad: string[] = [];
    const crashed: number[] = [], returned: number[] = [];
    for (let depth = 62; depth <= 72; depth++) {
      const e = loadFixture(p, 'crash');
      try {
        e.ecall('ecall_deep_frames', [depth]);
        returned.push(depth);
        const c = e.ecall('ecall_canary_check', []) as number;
        if (c !== 0) bad.push(`depth ${depth}: returned, static data changed at byte ${c - 1}`);
      } catch (x) {
        if (!(x instanceof EnclaveCallError) || (x.data as { status: number }).status !== STATUS.ENCLAVE_CRASHED) throw x;
        crashed.push(depth);
      } finally {
        e.destroy();
      }
    }
    assert.deepEqual(bad, []);
    // 64 frames of 1 KiB fill the 64 KiB stack: the deepest calls must trap, not overwrite data.
    assert.ok(crashed.length > 0, `no depth from 62 to 72 trapped (all returned: ${returned.join(', ')})`);
    assert.ok(crashed.includes(72), 'the deepest recursion traps');
    assert.ok(returned.every((d) => d < Math.min(...crashed)), `a depth returned above one that trapped: returned ${returned.join(', ')}, trapped ${crashed.join(', ')}`);
  });

  test('a trap after an OCALL returned', () => {
    const p = newPlatform();
    let pings = 0;
    const e = loadFixture(p, 'crash', { ocalls: { ocall_ping: () => void pings++ } });
    assert.equal(failure(() => e.ecall('ecall_ocall_then_trap', [])).status, STATUS.ENCLAVE_CRASHED);
    assert.equal(pings, 1);
    assertCrashedForGood(p, e);
    e.destroy();
  });

  test('valid arithmetic and in-bounds accesses do not trap', () => {
    const p = newPlatform();
    const e = loadFixture(p, 'crash');
    assert.equal(e.ecall('ecall_div', [-7, 2]), -3);
    assert.equal(e.ecall('ecall_rem', [-7, 2]), -1);
    assert.equal(e.ecall('ecall_div', [-2147483648, 1]), -2147483648);
    e.ecall('ecall_store', [0xfff0, 0x12345678]);
    assert.equal(e.ecall('ecall_load', [0xfff0]), 0x12345678);
    assert.equal(e.stats.exceptions, 0);
    e.destroy();
  });

  test('a crash is confined to its enclave: another instance of the same image, on the same platform, works', () => {
    const p = newPlatform();
    const a = loadFixture(p, 'crash'), b = loadFixture(p, 'crash');
    assert.equal(a.mrenclave, b.mrenclave);
    failure(() => a.ecall('ecall_unreachable', []));
    assertStatus(() => a.ecall('ecall_ok', [0]), STATUS.ENCLAVE_CRASHED);
    assert.equal(b.ecall('ecall_ok', [0]), 1);
    a.destroy();
    const c = loadFixture(p, 'crash');
    assert.equal(c.ecall('ecall_ok', [9]), 10, 'a fresh load of the crashed image starts clean');
    b.destroy();
    c.destroy();
  });

  test('with a single SSA frame (no frame for the exception handler) the ECALL fails with ENCLAVE_CRASHED, and so do later ones on that thread (its TCS has no free SSA frame: CSSA = NSSA; no trusted code ran to mark the enclave crashed, so another TCS would still enter)', () => {
    const p = newPlatform();
    const free = p.processor.inspect.freeEpcPages;
    const e = loadFixture(p, 'crash', { config: { ssaFrames: 1 } });
    assert.equal(e.ecall('ecall_ok', [1]), 2);
    assert.equal(failure(() => e.ecall('ecall_div', [1, 0])).status, STATUS.ENCLAVE_CRASHED);
    assert.equal(failure(() => e.ecall('ecall_ok', [1])).status, STATUS.ENCLAVE_CRASHED);
    e.destroy();
    assert.equal(p.processor.inspect.freeEpcPages, free);
  });
});

// ---- refused modules ---------------------------------------------------------------------------

/** An image assembled by hand: a manifest and an SGXS whose MRENCLAVE is measured here. */
function handmadeImage(sgxs: Uint8Array, like: EnclaveImage, overrides: Partial<ImageManifest> = {}): { image: EnclaveImage; mrenclave: Uint8Array } {
  const mrenclave = measureSgxs(sgxs, crypto).mrenclave;
  return { image: { manifest: { ...like.manifest, ...overrides, mrenclave: toHex(mrenclave) }, sgxs, sigstruct: null }, mrenclave };
}

/**
 * An image of `module` for `iface` laid out, measured and described by hand (the default
 * configuration), as a builder that skips buildImage's checks would make it.
 */
function imageByHand(module: Uint8Array, iface: EdlInterface): { image: EnclaveImage; mrenclave: Uint8Array } {
  const config = resolveEnclaveConfig({});
  const canonical = canonicalInterface(iface);
  const layout = computeLayout(module, interfaceBytes(canonical), crypto.sha256(module), config);
  const sgxs = layoutSgxs(layout);
  const manifest: ImageManifest = {
    format: 'witness-image', version: 1, runtime: RUNTIME_ID, config: configToJson(config), mrenclave: '',
    layout: {
      size: layout.size, ssaFrameSize: layout.ssaFrameSize, heap: layout.heap, module: { ...layout.module, sha256: toHex(crypto.sha256(module)) },
      interface: layout.interface, tcs: layout.tcs, nssa: layout.nssa, pages: layout.pages.length,
    },
    interface: canonical,
  };
  const made = handmadeImage(sgxs, { manifest, sgxs, sigstruct: null });
  assert.equal(toHex(made.mrenclave), toHex(layoutMrenclave(layout, crypto)), 'measured as the layout says');
  return made;
}

function loadHandmade(p: Platform, image: EnclaveImage, mrenclave: Uint8Array, ocalls: Record<string, () => void>): HostEnclave {
  const b = buildFixture('crash');
  const sig = signSigstruct({ ...sigFieldsFor(b), enclaveHash: mrenclave }, testKey(0).pem, crypto);
  return loadEnclave(p, image, { sigstruct: sig, ocalls });
}

describe('a module that imports what its EDL does not declare', () => {
  test('buildImage refuses it: SdkError MODULE_INVALID naming the import', () => {
    assert.throws(() => buildImage({ module: fixtureModule('smuggle'), interface: fixtureInterface('smuggle') }), (e: unknown) => {
      isSdkError('MODULE_INVALID')(e);
      assert.match((e as Error).message, /env\.host_peek/);
      return true;
    });
  });

  test('smuggled into an image laid out and measured by hand: the enclave refuses it at its first entry (INVALID_ENCLAVE 0x2001)', () => {
    const { image, mrenclave } = imageByHand(fixtureModule('smuggle'), fixtureInterface('smuggle'));
    const p = newPlatform();
    const free = p.processor.inspect.freeEpcPages;
    let logged = 0;
    const e = loadHandmade(p, image, mrenclave, { ocall_log: () => void logged++ });
    assertStatus(() => e.ecall('ecall_peek', [1]), STATUS.INVALID_ENCLAVE, 'first entry');
    assertStatus(() => e.ecall('ecall_peek', [2]), STATUS.INVALID_ENCLAVE, 'and every later one');
    assert.equal(STATUS.INVALID_ENCLAVE, 0x2001);
    assert.equal(logged, 0, 'the module never ran');
    e.destroy();
    assert.equal(p.processor.inspect.freeEpcPages, free);
  });

  test('a built image whose measured interface is edited in its SGXS (ocall_ping renamed) is refused at its first entry', () => {
    const b = buildFixture('crash');
    const records = parseSgxs(b.image.sgxs);
    const { offset, length } = b.layout.interface;
    // Rewrite the interface pages: "ocall_ping" → "ocall_pong" (same length, so the header stays valid).
    let edits = 0;
    const w = new SgxsWriter();
    replaySgxs(records.map((r) => {
      if (r.kind !== 'EEXTEND' || r.offset < offset || r.offset >= offset + length) return r;
      const text = new TextDecoder('latin1').decode(r.data);
      if (!text.includes('ocall_ping')) return r;
      edits++;
      return { ...r, data: new Uint8Array([...text.replaceAll('ocall_ping', 'ocall_pong')].map((c) => c.charCodeAt(0))) };
    }), w);
    assert.equal(edits, 1);
    const sgxs = w.bytes();
    assert.equal(sgxs.length, b.image.sgxs.length);
    const { image, mrenclave } = handmadeImage(sgxs, b.image);
    assert.notEqual(toHex(mrenclave), toHex(b.mrenclave));
    const p = newPlatform();
    const e = loadHandmade(p, image, mrenclave, { ocall_ping: () => undefined });
    assertStatus(() => e.ecall('ecall_ok', [1]), STATUS.INVALID_ENCLAVE);
    e.destroy();
    // The unedited image, signed the same way, runs.
    const ok = loadFixture(p, 'crash', { ocalls: { ocall_ping: () => undefined } });
    assert.equal(ok.ecall('ecall_ok', [1]), 2);
    ok.destroy();
  });

  test('a module edited in the SGXS without its hash in the runtime header: INVALID_ENCLAVE', () => {
    const b = buildFixture('crash');
    const { offset } = b.layout.module;
    const w = new SgxsWriter();
    replaySgxs(parseSgxs(b.image.sgxs).map((r) => {
      if (r.kind !== 'EEXTEND' || r.offset !== offset + 256) return r;
      const data = r.data.slice();
      data[17] ^= 0x01;
      return { ...r, data };
    }), w);
    const { image, mrenclave } = handmadeImage(w.bytes(), b.image);
    const p = newPlatform();
    const e = loadHandmade(p, image, mrenclave, {});
    assertStatus(() => e.ecall('ecall_ok', [1]), STATUS.INVALID_ENCLAVE);
    e.destroy();
  });
});

describe('a module that uses WebAssembly exception handling', () => {
  // The processor's exits and faults reach the enclave's code as exceptions thrown through its Wasm
  // frames (an EEXIT the host gave up on, a #PF in the runtime's copy, an AEX): a catch_all there
  // could swallow one and run on as if it had not happened. Such modules are refused.
  const module = catchAllModule();

  test('the danger is real: outside an enclave, its catch_all catches an exception thrown by a JavaScript import', () => {
    assert.ok(WebAssembly.validate(module), 'valid WebAssembly for this Node');
    const run = (ping: () => number): unknown => {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const i = new WebAssembly.Instance(new WebAssembly.Module(module), { env: { memory }, ocall: { ocall_ping: ping } });
      return (i.exports.ecall_catch as () => number)();
    };
    assert.equal(run(() => 0), 1);
    assert.equal(run(() => {
      throw new Error('an exit the enclave must not see');
    }), 2);
  });

  test('buildImage refuses it: SdkError MODULE_INVALID naming the instruction and its function', () => {
    const plan = planInterface(canonicalInterface(fixtureInterface('eh')));
    const problems = checkModuleImports(module, plan, resolveEnclaveConfig({}).heapSize);
    assert.equal(problems.length, 1, `exception handling is its only problem: ${problems.join('; ')}`);
    assert.throws(() => buildImage({ module, interface: fixtureInterface('eh') }), (e: unknown) => {
      isSdkError('MODULE_INVALID')(e);
      assert.match((e as Error).message, /function 1 \(export ecall_catch\) uses try \(at byte \d+\): WebAssembly exception handling/);
      return true;
    });
  });

  test('laid out and measured by hand: the enclave refuses it at its first entry (INVALID_ENCLAVE), and the module never runs', () => {
    const { image, mrenclave } = imageByHand(module, fixtureInterface('eh'));
    const p = newPlatform();
    const free = p.processor.inspect.freeEpcPages;
    let pinged = 0;
    const e = loadHandmade(p, image, mrenclave, { ocall_ping: () => void pinged++ });
    assertStatus(() => e.ecall('ecall_catch', []), STATUS.INVALID_ENCLAVE, 'first entry');
    assertStatus(() => e.ecall('ecall_catch', []), STATUS.INVALID_ENCLAVE, 'and every later one');
    assert.equal(pinged, 0, 'the module never ran');
    e.destroy();
    assert.equal(p.processor.inspect.freeEpcPages, free);
  });
});

// ---- enclaves whose measured header or interface makes no sense -------------------------------

/** The built image with the measured bytes of `region` replaced by what `edit` returns for them (same length); measured again. */
function editMeasured(b: BuiltImage, region: { offset: number; length: number }, edit: (bytes: Uint8Array) => Uint8Array): { image: EnclaveImage; mrenclave: Uint8Array } {
  const records = parseSgxs(b.image.sgxs);
  const old = new Uint8Array(region.length);
  for (const r of records) {
    if (r.kind !== 'EEXTEND') continue;
    for (let i = 0; i < 256; i++) {
      const at = r.offset + i - region.offset;
      if (at >= 0 && at < region.length) old[at] = r.data[i]!;
    }
  }
  const now = edit(old);
  assert.equal(now.length, region.length);
  const w = new SgxsWriter();
  replaySgxs(records.map((r) => {
    if (r.kind !== 'EEXTEND' || r.offset + 256 <= region.offset || r.offset >= region.offset + region.length) return r;
    const data = r.data.slice();
    for (let i = 0; i < 256; i++) {
      const at = r.offset + i - region.offset;
      if (at >= 0 && at < region.length) data[i] = now[at]!;
    }
    return { ...r, data };
  }), w);
  return handmadeImage(w.bytes(), b.image);
}

/** The trusted runtime, with a count of the reads of each enclave's runtime header (one per load attempt). */
function countingRuntime(): { engine: EnclaveEngine; headerReads: () => number } {
  const inner = createTrustedRuntime();
  let reads = 0;
  const wrap = (ctx: EnclaveContext): EnclaveContext => new Proxy(ctx, {
    get(target, name) {
      const v = Reflect.get(target, name) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (name === 'read' && args[0] === target.baseAddr) reads++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    engine: { enter: (ctx) => inner.enter(wrap(ctx)), resume: (ctx) => inner.resume(wrap(ctx)), destroyed: (key) => inner.destroyed(key) },
    headerReads: () => reads,
  };
}

describe('an enclave whose measured interface or runtime header makes no sense', () => {
  const enc = new TextEncoder();
  /** A u64 field of the runtime header set to `v`. */
  const headerField = (name: string, v: bigint) => (page: Uint8Array): Uint8Array => {
    const out = page.slice();
    writeU64le(out, RUNTIME_HEADER.field(name).offset, v);
    return out;
  };
  const header = { offset: 0, length: 4096 };
  const cases: [string, (b: BuiltImage) => { image: EnclaveImage; mrenclave: Uint8Array }][] = [
    ['an interface page that is not UTF-8', (b) => editMeasured(b, b.layout.interface, (x) => x.map(() => 0xff))],
    ['an interface that is JSON but not an interface', (b) => editMeasured(b, b.layout.interface, (x) => enc.encode(`{"a":"${'x'.repeat(x.length - 8)}"}`))],
    ['an interface that is a JSON interface with a parameter of no type', (b) => editMeasured(b, b.layout.interface, (x) => {
      const text = new TextDecoder().decode(x).replace('"type":{', '"typo":{');
      return enc.encode(text);
    })],
    ['INTERFACE_LENGTH of 2^40', (b) => editMeasured(b, header, headerField('INTERFACE_LENGTH', 2n ** 40n))],
    ['INTERFACE_OFFSET past the end of ELRANGE', (b) => editMeasured(b, header, headerField('INTERFACE_OFFSET', BigInt(b.layout.size + 4096)))],
    ['INTERFACE_OFFSET 2^64 - 1', (b) => editMeasured(b, header, headerField('INTERFACE_OFFSET', 2n ** 64n - 1n))],
    ['MODULE_LENGTH reaching past ELRANGE', (b) => editMeasured(b, header, headerField('MODULE_LENGTH', BigInt(b.layout.size)))],
    ['MODULE_OFFSET 0 (the header page)', (b) => editMeasured(b, header, headerField('MODULE_OFFSET', 0n))],
    ['HEAP_SIZE reaching past ELRANGE', (b) => editMeasured(b, header, headerField('HEAP_SIZE', BigInt(b.layout.size)))],
    ['HEAP_SIZE not a whole number of 64 KiB pages', (b) => editMeasured(b, header, headerField('HEAP_SIZE', BigInt(b.layout.heap.size - 4096)))],
    ['HEAP_OFFSET not page-aligned', (b) => editMeasured(b, header, headerField('HEAP_OFFSET', BigInt(b.layout.heap.offset + 8)))],
    ['a heap over the module', (b) => editMeasured(b, header, headerField('HEAP_OFFSET', BigInt(b.layout.module.offset)))],
  ];
  for (const [what, make] of cases) {
    test(`${what}: INVALID_ENCLAVE at the first entry and every later one, without loading again`, () => {
      const b = buildFixture('crash');
      const { image, mrenclave } = make(b);
      assert.notEqual(toHex(mrenclave), toHex(b.mrenclave), 'the edit changed the measured contents');
      const { engine, headerReads } = countingRuntime();
      const p = newPlatform({ engine });
      const free = p.processor.inspect.freeEpcPages;
      const e = loadHandmade(p, image, mrenclave, { ocall_ping: () => undefined });
      assertStatus(() => e.ecall('ecall_ok', [1]), STATUS.INVALID_ENCLAVE, 'first entry');
      const reads = headerReads();
      assert.ok(reads >= 1, 'the first entry read the header');
      assertStatus(() => e.ecall('ecall_ok', [2]), STATUS.INVALID_ENCLAVE, 'second entry');
      assertStatus(() => e.ecall('ecall_unreachable', []), STATUS.INVALID_ENCLAVE, 'third entry');
      assert.equal(headerReads(), reads, 'a later entry loaded the enclave again');
      assert.equal(e.stats.exceptions, 0, 'no exception: a refusal, not a crash');
      e.destroy();
      assert.equal(p.processor.inspect.freeEpcPages, free);
    });
  }

  test('the same runtime, counting, loads the unedited image once and runs it', () => {
    const { engine, headerReads } = countingRuntime();
    const p = newPlatform({ engine });
    const e = loadFixture(p, 'crash');
    assert.equal(e.ecall('ecall_ok', [1]), 2);
    const reads = headerReads();
    assert.equal(e.ecall('ecall_ok', [2]), 3);
    assert.equal(headerReads(), reads);
    e.destroy();
  });
});
