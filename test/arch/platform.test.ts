/**
 * The processor as a platform: configuration and its validation, platform secrets and their
 * persistence (save / restore), geometry, page tables, and API misuse (ArchError codes).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { defaultCrypto, toHex, fromHex, WitnessError } from '../../src/lib/index.js';
import {
  Processor, ArchError, resolveProcessorConfig, computeXsaveSize, isLegalXcr0, derivePlatformSecrets, saveSecrets, loadSecrets,
  DEFAULT_CPUSVN, DEFAULT_EPC_SIZE, PageTable, PTE, USER_ADDRESS_LIMIT, type ProcessorOptions, type SavedProcessor,
} from '../../src/arch/index.js';
import { newKernel, kernelOn, buildEnclave, ScriptEngine } from '../helpers/enclave.js';

const crypto = defaultCrypto();

function archError(code: string): (e: unknown) => boolean {
  return (e) => e instanceof ArchError && e.code === code;
}

describe('configuration defaults (config.ts, specs §1.1)', () => {
  test('resolveProcessorConfig() gives the documented SGX1 client part', () => {
    const c = resolveProcessorConfig();
    assert.equal(c.epcSize, 0x5d80000);
    assert.equal(DEFAULT_EPC_SIZE, 0x5d80000);
    assert.equal(c.ramSize, 8 * 2 ** 30);
    assert.equal(c.logicalProcessors, 2);
    assert.equal(c.features.sgx2, false);
    assert.equal(c.features.flc, true);
    assert.equal(c.features.kss, false);
    assert.equal(c.attributesFlagsMask, 0x36n);
    assert.equal(c.xfrmMask, 0x1fn);
    assert.equal(c.xcr0, 0x1fn);
    assert.equal(c.miscselectMask, 0);
    assert.equal(c.maxEnclaveSizeLog2, 36);
    assert.equal(c.strictSigstructHeader, false);
    assert.equal(c.einitUnmaskedEventRate, 0);
    assert.equal(toHex(c.cpusvn), toHex(DEFAULT_CPUSVN));
  });
  test('SGX2 enumerates MISCSELECT.EXINFO; KSS adds ATTRIBUTES.KSS to the mask; xcr0 follows xfrmMask', () => {
    assert.equal(resolveProcessorConfig({ features: { sgx2: true } }).miscselectMask, 1);
    assert.equal(resolveProcessorConfig({ features: { kss: true } }).attributesFlagsMask, 0xb6n);
    assert.equal(resolveProcessorConfig({ xfrmMask: 7n }).xcr0, 7n);
    assert.equal(resolveProcessorConfig({ features: { sgx2: true }, miscselectMask: 0 }).miscselectMask, 0);
  });
  test('compute_xsave_size and legal XCR0 values (§2.5)', () => {
    assert.equal(computeXsaveSize(3n), 576);
    assert.equal(computeXsaveSize(7n), 832);
    assert.equal(computeXsaveSize(0x1fn), 1088);
    assert.equal(computeXsaveSize(0xe7n), 2688);
    assert.equal(computeXsaveSize(0x2e7n), 2696);
    for (const x of [1n, 3n, 7n, 0x1bn, 0x1fn, 0xe7n, 0x2e7n]) assert.equal(isLegalXcr0(x), true, x.toString(16));
    for (const x of [0n, 2n, 5n, 0xbn, 0x13n, 0x23n, 0xe3n, (1n << 63n) | 3n]) assert.equal(isLegalXcr0(x), false, x.toString(16));
  });
});

describe('configuration validation (ArchError CONFIG_INVALID)', () => {
  const bad: [string, ProcessorOptions][] = [
    ['epcSize 0', { epcSize: 0 }],
    ['epcSize not a page multiple', { epcSize: 4097 }],
    ['epcSize negative', { epcSize: -4096 }],
    ['epcSize fractional', { epcSize: 6144.5 }],
    ['epcSize above 1 TiB', { epcSize: 2 ** 40 + 4096 }],
    ['ramSize below 16 MiB', { ramSize: 2 ** 24 - 4096 }],
    ['ramSize not a page multiple', { ramSize: 2 ** 30 + 1 }],
    ['0 logical processors', { logicalProcessors: 0 }],
    ['65 logical processors', { logicalProcessors: 65 }],
    ['1.5 logical processors', { logicalProcessors: 1.5 }],
    ['cpusvn of 15 bytes', { cpusvn: new Uint8Array(15) }],
    ['xfrmMask without SSE', { xfrmMask: 1n }],
    ['xcr0 without x87', { xcr0: 2n }],
    ['maxEnclaveSizeLog2 12', { maxEnclaveSizeLog2: 12 }],
    ['maxEnclaveSizeLog2 53', { maxEnclaveSizeLog2: 53 }],
    ['einitUnmaskedEventRate -0.1', { einitUnmaskedEventRate: -0.1 }],
    ['einitUnmaskedEventRate 1.5', { einitUnmaskedEventRate: 1.5 }],
    ['einitUnmaskedEventRate NaN', { einitUnmaskedEventRate: NaN }],
  ];
  for (const [name, opts] of bad) {
    test(name, () => {
      assert.throws(() => resolveProcessorConfig(opts), archError('CONFIG_INVALID'));
      assert.throws(() => new Processor(opts), archError('CONFIG_INVALID'));
    });
  }
  test('the limits themselves are accepted', () => {
    for (const opts of [{ epcSize: 4096 }, { ramSize: 2 ** 24 }, { logicalProcessors: 1 }, { logicalProcessors: 64 }, { maxEnclaveSizeLog2: 13 }, { maxEnclaveSizeLog2: 52 }, { einitUnmaskedEventRate: 1 }] as ProcessorOptions[]) {
      assert.doesNotThrow(() => resolveProcessorConfig(opts), JSON.stringify(opts));
    }
  });
});

describe('platform secrets (secrets.ts)', () => {
  const seed = fromHex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  test('deterministic from the seed, distinct per label, distinct per seed', () => {
    const a = derivePlatformSecrets(crypto, seed), b = derivePlatformSecrets(crypto, seed.slice());
    assert.deepEqual(a, b);
    assert.equal(new Set([toHex(a.sealFuses), toHex(a.provisioningRoot), toHex(a.ownerEpoch)]).size, 3);
    assert.equal(a.sealFuses.length, 16);
    const c = derivePlatformSecrets(crypto, fromHex('01' + toHex(seed).slice(2)));
    assert.notDeepEqual(c.sealFuses, a.sealFuses);
    assert.notDeepEqual(c.provisioningRoot, a.provisioningRoot);
  });
  test('the derivation is HKDF-SHA256(seed, "witness platform v1", label)', () => {
    const a = derivePlatformSecrets(crypto, seed);
    const enc = new TextEncoder();
    assert.deepEqual(a.sealFuses, crypto.hkdfSha256(seed, enc.encode('witness platform v1'), enc.encode('CR_SEAL_FUSES'), 16));
    assert.deepEqual(a.provisioningRoot, crypto.hkdfSha256(seed, enc.encode('witness platform v1'), enc.encode('ROOT_PROVISIONING_KEY'), 16));
  });
  test('an explicit OWNEREPOCH is used as given', () => {
    const oe = new Uint8Array(16).fill(9);
    const a = derivePlatformSecrets(crypto, seed, oe);
    assert.deepEqual(a.ownerEpoch, oe);
    assert.deepEqual(a.sealFuses, derivePlatformSecrets(crypto, seed).sealFuses);
  });
  test('errors: a short seed, a wrong-length OWNEREPOCH, malformed saved secrets', () => {
    assert.throws(() => derivePlatformSecrets(crypto, new Uint8Array(15)), archError('SEED_TOO_SHORT'));
    assert.throws(() => derivePlatformSecrets(crypto, seed, new Uint8Array(15)), archError('OWNEREPOCH_LENGTH'));
    assert.throws(() => new Processor({ seed: new Uint8Array(8) }), archError('SEED_TOO_SHORT'));
    assert.throws(() => loadSecrets(crypto, { seed: 5 } as unknown as Parameters<typeof loadSecrets>[1]), archError('SAVED_SECRETS_INVALID'));
  });
  test('saveSecrets / loadSecrets round trip', () => {
    const a = derivePlatformSecrets(crypto, seed, new Uint8Array(16).fill(4));
    const saved = saveSecrets(a);
    assert.deepEqual(saved, { seed: toHex(seed), ownerEpoch: '04'.repeat(16) });
    assert.deepEqual(loadSecrets(crypto, JSON.parse(JSON.stringify(saved))), a);
  });
});

describe('Processor.save / Processor.restore', () => {
  const opts: ProcessorOptions = {
    epcSize: 0x200000, ramSize: 2 ** 28, logicalProcessors: 4, features: { sgx2: true, flc: false, kss: true }, cpusvn: fromHex('0102030405060708090a0b0c0d0e0f10'),
    attributesFlagsMask: 0xb6n, xfrmMask: 0x7n, miscselectMask: 1, maxEnclaveSizeLog2: 40, xcr0: 0x3n, seed: new Uint8Array(32).fill(0x77), ownerEpoch: new Uint8Array(16).fill(2),
  };

  test('save() is plain JSON data with the platform identity', () => {
    const p = new Processor(opts);
    const s = p.save();
    assert.equal(s.format, 'witness-processor');
    assert.equal(s.version, 1);
    assert.deepEqual(s.secrets, { seed: '77'.repeat(32), ownerEpoch: '02'.repeat(16) });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });

  test('restore(save()) has the same configuration (through JSON)', () => {
    const p = new Processor(opts);
    const r = Processor.restore(JSON.parse(JSON.stringify(p.save())) as SavedProcessor);
    assert.deepEqual(r.config, p.config);
    assert.equal(r.lps.length, 4);
    assert.deepEqual(r.save(), p.save());
    const d = new Processor();
    assert.deepEqual(Processor.restore(d.save()).config, d.config);
  });

  test('restore options override the saved configuration', () => {
    const p = new Processor(opts);
    const r = Processor.restore(p.save(), { epcSize: 0x100000, logicalProcessors: 1 });
    assert.equal(r.config.epcSize, 0x100000);
    assert.equal(r.lps.length, 1);
    assert.deepEqual(r.save().secrets, p.save().secrets);
  });

  test('restore of something else → ArchError SAVED_PROCESSOR_INVALID', () => {
    for (const bad of [null, {}, { format: 'witness-processor', version: 2 }, { format: 'other', version: 1 }]) {
      assert.throws(() => Processor.restore(bad as unknown as SavedProcessor), archError('SAVED_PROCESSOR_INVALID'), JSON.stringify(bad));
    }
    const s = new Processor().save();
    assert.throws(() => Processor.restore({ ...s, secrets: { seed: 'zz', ownerEpoch: '00' } }), (e: unknown) => e instanceof WitnessError);
    assert.throws(() => Processor.restore({ ...s, secrets: { seed: '00'.repeat(32), ownerEpoch: '00' } }), archError('OWNEREPOCH_LENGTH'));
  });

  test('the whole configuration survives restore, including strictSigstructHeader and einitUnmaskedEventRate', () => {
    const p = new Processor({ strictSigstructHeader: true, einitUnmaskedEventRate: 0.25 });
    const r = Processor.restore(p.save());
    assert.equal(r.config.strictSigstructHeader, true);
    assert.equal(r.config.einitUnmaskedEventRate, 0.25);
  });

  test('a restored platform keeps its seal keys but gets fresh per-boot secrets (REPORT KEYID)', () => {
    // seal keys are covered in keys.test.ts; here: the per-boot KEYID differs while MRENCLAVE-bound keys stay
    const seed = new Uint8Array(32).fill(0x31);
    const a = newKernel({ seed });
    const e = buildEnclave(a.k);
    const reportKeyId = (k: ReturnType<typeof newKernel>) => {
      const en = buildEnclave(k.k);
      let id = '';
      const op = k.engine.on((ctx) => {
        ctx.ereport(en.data(1), en.data(1) + 512, en.data(1) + 1024);
        id = toHex(ctx.read(en.data(1) + 1024 + 384, 32));
        return ctx.regs.rcx;
      });
      en.enter(op);
      return id;
    };
    const engine = new ScriptEngine();
    const r = kernelOn(Processor.restore(a.k.proc.save(), { engine }), engine);
    assert.notEqual(reportKeyId(r), reportKeyId(a));
    assert.equal(e.enter(0).exit.reason, 'eexit');
  });
});

describe('geometry and inspection', () => {
  test('the default PRM is 128 MiB above RAM and holds the 93.5 MiB EPC', () => {
    const p = new Processor();
    assert.deepEqual(p.prm, { base: 8 * 2 ** 30, size: 128 * 2 ** 20 });
    assert.equal(p.epcBase, 8 * 2 ** 30);
    assert.equal(p.epcPages, 0x5d80000 / 4096);
    assert.equal(p.inspect.freeEpcPages, p.epcPages);
    assert.equal(p.inspect.validEpcPages, 0);
    assert.equal(p.ramSize, 8 * 2 ** 30);
    assert.equal(p.lps.length, 2);
    assert.equal(p.locked, null);
    assert.equal(p.crypto, defaultCrypto());
  });
  test('a small EPC gets the smallest power-of-two PRM with room for metadata', () => {
    const p = new Processor({ epcSize: 0x200000, ramSize: 2 ** 28 });
    assert.deepEqual(p.prm, { base: 2 ** 28, size: 4 * 2 ** 20 });
  });
  test('inspect.epcm of a non-EPC address → ArchError NOT_EPC', () => {
    const p = new Processor({ epcSize: 0x100000 });
    assert.throws(() => p.inspect.epcm(0x1000), archError('NOT_EPC'));
    assert.throws(() => p.inspect.epcm(p.epcBase + p.epcPages * 4096), archError('NOT_EPC'));
    assert.equal(p.inspect.epcm(p.epcBase).valid, false);
  });
});

describe('API misuse (ArchError)', () => {
  test('setEngine twice with a different engine → ENGINE_SET; the same engine is fine', () => {
    const p = new Processor({ epcSize: 0x100000 });
    const e1 = new ScriptEngine();
    p.setEngine(e1);
    p.setEngine(e1);
    assert.throws(() => p.setEngine(new ScriptEngine()), archError('ENGINE_SET'));
  });
  test('injectInterrupt outside 32..255 → BAD_VECTOR', () => {
    const p = new Processor({ epcSize: 0x100000 });
    for (const v of [0, 14, 31, 256, 40.5]) assert.throws(() => p.lps[0]!.injectInterrupt(v), archError('BAD_VECTOR'), String(v));
    p.lps[0]!.injectInterrupt(255);
    assert.equal(p.lps[0]!.interruptPending, true);
  });
  test('CPL and CR3 cannot change while the LP is in enclave mode → LP_IN_ENCLAVE', () => {
    const { k, engine } = newKernel();
    const e = buildEnclave(k);
    const errors: string[] = [];
    const op = engine.on((ctx) => {
      const lp = k.proc.lps[ctx.lpIndex]!;
      assert.equal(lp.inEnclaveMode, true);
      for (const f of [() => { lp.cpl = 0; }, () => { lp.cr3 = new PageTable('x'); }]) {
        try {
          f();
        } catch (err) {
          errors.push(err instanceof ArchError ? err.code : String(err));
        }
      }
      return ctx.regs.rcx;
    });
    assert.equal(e.enter(op).exit.reason, 'eexit');
    assert.deepEqual(errors, ['LP_IN_ENCLAVE', 'LP_IN_ENCLAVE']);
    assert.equal(k.proc.lps[1]!.inEnclaveMode, false);
  });
});

describe('page tables (mmu.ts)', () => {
  test('map, lookup, protect, unmap, generation and entries', () => {
    const pt = new PageTable('t');
    assert.equal(pt.generation, 0);
    pt.map(5, 100, PTE.W | PTE.U);
    pt.map(2, 7, PTE.NX);
    assert.deepEqual(pt.lookup(5), { pfn: 100, flags: PTE.W | PTE.U });
    assert.equal(pt.lookup(6), null);
    assert.equal(pt.entry(6), -1);
    assert.equal(pt.protect(5, PTE.U), true);
    assert.deepEqual(pt.lookup(5), { pfn: 100, flags: PTE.U });
    assert.equal(pt.protect(9, PTE.U), false);
    assert.deepEqual([...pt.entries()].map(([v]) => v), [2, 5]);
    assert.equal(pt.size, 2);
    const g = pt.generation;
    assert.equal(pt.unmap(2), true);
    assert.equal(pt.unmap(2), false);
    assert.equal(pt.generation, g + 1);
  });
  test('identity tables map everything below their limit, writable', () => {
    const pt = new PageTable('id', 0x10000);
    assert.deepEqual(pt.lookup(0xf), { pfn: 0xf, flags: PTE.W });
    assert.equal(pt.lookup(0x10), null);
    assert.equal(pt.size, 0);
  });
  test('bad page numbers → PT_VPN / PT_PFN', () => {
    const pt = new PageTable('t');
    assert.throws(() => pt.map(-1, 0, 0), archError('PT_VPN'));
    assert.throws(() => pt.map(USER_ADDRESS_LIMIT / 4096, 0, 0), archError('PT_VPN'));
    assert.throws(() => pt.map(1.5, 0, 0), archError('PT_VPN'));
    assert.throws(() => pt.map(1, -1, 0), archError('PT_PFN'));
  });
});

describe('a malformed save is refused with a typed error, never restarted as another machine (the closing review)', () => {
  test('config missing or null, features not an object, an xcr0 or a CPUSVN that does not parse: ArchError SAVED_PROCESSOR_INVALID; saved: null: PlatformError SAVED_PLATFORM_INVALID', async () => {
    const { createPlatform } = await import('../../src/platform/index.js');
    const good = createPlatform({ seed: new Uint8Array(32).fill(7) }).save() as unknown as { config: Record<string, unknown> };
    const cases: [string, unknown, string][] = [
      ['config missing', { ...good, config: undefined }, 'SAVED_PROCESSOR_INVALID'],
      ['config null', { ...good, config: null }, 'SAVED_PROCESSOR_INVALID'],
      ['features a string', { ...good, config: { ...good.config, features: 'abc' } }, 'SAVED_PROCESSOR_INVALID'],
      ['xcr0 not an integer', { ...good, config: { ...good.config, xcr0: 'zz' } }, 'SAVED_PROCESSOR_INVALID'],
      ['cpusvn not hex', { ...good, config: { ...good.config, cpusvn: 'xyz' } }, 'SAVED_PROCESSOR_INVALID'],
      ['saved: null', null, 'SAVED_PLATFORM_INVALID'],
    ];
    for (const [what, saved, code] of cases) {
      assert.throws(() => createPlatform({ saved: saved as never }), (e: unknown) => e instanceof WitnessError && e.code === code, what);
    }
    assert.ok(createPlatform({ saved: good as never }), 'the good save restarts');
  });
});
