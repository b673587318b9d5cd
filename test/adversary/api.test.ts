/**
 * What code holding the platform's public objects cannot change: the processor's crypto provider
 * and configuration are its own (a provider or CPUSVN array swapped or written afterwards changes
 * nothing inside), and the default provider cannot be patched at all. Register values that are no
 * numbers are refused at ENCLU and ENCLS (test/sdk/hostile.test.ts, test/arch/encls.test.ts). Code
 * the host gets to run while the processor reads its registers or its page table (a getter, a
 * setter) cannot make it use one value for a check and another for the use, nor leave it in
 * enclave mode.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPlatform } from '../../src/platform/index.js';
import { buildImage, resolveEdl, signSigstruct, sigstructFieldsFor, loadEnclave, type HostEnclave } from '../../src/sdk/index.js';
import { defaultCrypto, toHex, type CryptoProvider } from '../../src/lib/index.js';
import { REPORT, ENCLU, VECTOR, ArchError, ArchFault, PageTable, newRegisters } from '../../src/arch/index.js';
import { newKernel, buildEnclave, AEP, HOST_RIP } from '../helpers/enclave.js';
import { assertFault } from '../helpers/assert.js';
import { newPlatform, loadFixture, untrusted, ecallPlan, writeMs, rawEnter } from '../helpers/sdk.js';
import { REPO_ROOT } from '../helpers/vectors.js';
import { testKey } from '../helpers/signing.js';

const HELLO = join(REPO_ROOT, 'examples', 'hello');
const SECRET = new TextEncoder().encode('a secret the host must not see.!');

function hello(options: Parameters<typeof createPlatform>[0]): { enclave: HostEnclave; platform: ReturnType<typeof createPlatform> } {
  const platform = createPlatform({ profile: 'win-x64-sgx1', ...options });
  const built = buildImage({ module: new Uint8Array(readFileSync(join(HELLO, 'enclave.wasm'))), interface: resolveEdl(join(HELLO, 'hello.edl')) });
  const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), testKey(0).pem, defaultCrypto());
  const enclave = loadEnclave(platform, built.image, { sigstruct, ocalls: { ocall_print: () => undefined } });
  enclave.ecall('ecall_store_secret', [SECRET, SECRET.length]);
  return { enclave, platform };
}

function seal(enclave: HostEnclave): Uint8Array {
  const blob = new Uint8Array(1024);
  const n = enclave.ecall('ecall_seal_secret', [1, blob, blob.length]) as number;
  assert.ok(n > 0, `sealed ${n} bytes`);
  return blob.subarray(0, n);
}

test('the default crypto provider and its SHA-256 streams are frozen: their methods cannot be replaced', () => {
  const c = defaultCrypto();
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as { aesCmac128: unknown }).aesCmac128 = () => new Uint8Array(16);
  }, TypeError);
  const stream = c.createSha256();
  assert.ok(Object.isFrozen(Object.getPrototypeOf(stream)));
  assert.throws(() => {
    (Object.getPrototypeOf(stream) as { update: unknown }).update = () => undefined;
  }, TypeError);
  const { platform } = hello({});
  assert.ok(Object.isFrozen(platform.processor.crypto));
});

test('a provider given to createPlatform and changed afterwards: the processor and the trusted runtime keep its methods as they were', () => {
  const mine: CryptoProvider = { ...defaultCrypto() }; // a plain, unfrozen object
  const { enclave, platform } = hello({ crypto: mine });
  const seen: string[] = [];
  const spy = <K extends keyof CryptoProvider>(k: K): void => {
    (mine as unknown as Record<string, unknown>)[k] = (...a: Uint8Array[]) => {
      seen.push(`${k}(${a.map((x) => (x instanceof Uint8Array ? toHex(x.subarray(0, 4)) : typeof x)).join(', ')})`);
      return (defaultCrypto()[k] as (...b: Uint8Array[]) => unknown)(...a);
    };
  };
  for (const k of ['aesCmac128', 'aesGcm128Encrypt', 'aesGcm128Decrypt', 'aesCtr128', 'sha256', 'hkdfSha256', 'randomBytes'] as const) spy(k);
  const blob = seal(enclave); // EGETKEY (CMAC), AES-GCM over the secret
  assert.equal(enclave.ecall('ecall_unseal_secret', [blob, blob.length]), SECRET.length);
  const report = new Uint8Array(432);
  assert.equal(enclave.ecall('ecall_make_report', [new Uint8Array(512), new Uint8Array([1]), 1, report]), 0); // EREPORT, the runtime's SHA-256
  platform.processor.memory.dramRead(platform.processor.epcBase, 4096 * 8); // the memory encryption (AES-CTR)
  assert.deepEqual(seen, [], 'the swapped methods were called');
  assert.ok(!Object.isFrozen(mine), 'the caller\'s object is left as it was');
});

test('the processor configuration is frozen and its CPUSVN a copy: writing them changes neither EREPORT nor EGETKEY', () => {
  const cpusvn = new Uint8Array(16).fill(3);
  const { enclave, platform } = hello({ processor: { cpusvn } });
  const p = platform.processor;
  const reportCpusvn = (): string => {
    const report = new Uint8Array(432);
    assert.equal(enclave.ecall('ecall_make_report', [new Uint8Array(512), new Uint8Array([1]), 1, report]), 0);
    return toHex(REPORT.decode(report).CPUSVN);
  };
  const before = reportCpusvn();
  assert.equal(before, toHex(cpusvn));
  const sealed = seal(enclave);
  assert.ok(Object.isFrozen(p.config) && Object.isFrozen(p.config.features));
  assert.throws(() => {
    (p.config.features as { sgx2: boolean }).sgx2 = true;
  }, TypeError);
  assert.throws(() => {
    (p.config as { einitUnmaskedEventRate: number }).einitUnmaskedEventRate = 1;
  }, TypeError);
  cpusvn.fill(0xee); // the array the platform was made with
  p.config.cpusvn.fill(0xff); // the array the configuration shows
  assert.equal(reportCpusvn(), before, 'REPORT.CPUSVN');
  assert.equal(toHex(p.inspect.cpusvn), before);
  assert.equal(enclave.ecall('ecall_unseal_secret', [sealed, sealed.length]), SECRET.length, 'the seal key is the same');
});

describe('code that runs while the processor reads what the host gave it', () => {
  test('a register getter that enters the same TCS (which traps, CSSA = NSSA then): the outer EENTER is refused with #GP, as on hardware', () => {
    const { k, engine } = newKernel();
    const b = buildEnclave(k, { nssa: 1 });
    const trap = engine.on(() => {
      throw new WebAssembly.RuntimeError('unreachable');
    });
    const ran: number[] = [];
    const look = engine.on((ctx) => {
      ran.push(ctx.regs.rax);
      return ctx.regs.rcx;
    });
    b.enter(0); // the TCS's entry is cached on this LP
    const lp = k.proc.lps[1]!;
    let fired = false;
    const outer = newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: look });
    Object.defineProperty(outer, 'rax', {
      configurable: true,
      get() {
        if (!fired) {
          fired = true;
          assert.equal(lp.enclu(ENCLU.EENTER, newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: trap }), null).reason, 'aex');
        }
        return 0;
      },
      set() {},
    });
    assertFault(() => k.user(() => lp.enclu(ENCLU.EENTER, outer, null), 1), VECTOR.GP);
    assert.ok(fired);
    assert.deepEqual(ran, [], 'the enclave never ran with CSSA = NSSA');
    assert.deepEqual(k.proc.inspect.enclaves()[0]!.tcs.map((t) => [t.cssa, t.nssa]), [[1, 1]]);
  });

  test('a getter defined on the page table CR3 holds never runs during EENTER (the processor reads the table itself)', () => {
    const { k, engine } = newKernel();
    const b = buildEnclave(k, { nssa: 1 });
    const look = engine.on((ctx) => ctx.regs.rcx);
    b.enter(0);
    const lp = k.proc.lps[1]!;
    let calls = 0;
    k.user(() => {
      const pt = lp.cr3;
      Object.defineProperty(pt, 'generation', { configurable: true, get: () => ++calls });
      Object.defineProperty(pt, 'entry', { configurable: true, value: () => ++calls });
      try {
        assert.equal(lp.enclu(ENCLU.EENTER, newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: look }), null).reason, 'eexit');
      } finally {
        delete (pt as { generation?: unknown }).generation;
        delete (pt as { entry?: unknown }).entry;
      }
    }, 1);
    assert.equal(calls, 0);
  });

  test('a host setter that enters the same TCS while an OCALL\'s EEXIT or an AEX writes the host\'s registers gets the busy #GP; the exit goes on', () => {
    for (const kind of ['ocall', 'aex'] as const) {
      const { k, engine } = newKernel();
      const b = buildEnclave(k, { nssa: 2 });
      const OCALL = 0x0c;
      const fn = engine.on((ctx) => {
        const r = ctx.regs;
        if (kind === 'aex') throw new WebAssembly.RuntimeError('unreachable');
        r.rdi = OCALL;
        ctx.eexit(r.rcx);
        r.rdi = 0;
        return r.rcx;
      });
      const lp = k.proc.lps[1]!;
      const nested: string[] = [];
      let armed = true;
      const regs = newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: fn });
      let rax = 0;
      Object.defineProperty(regs, 'rax', {
        configurable: true,
        get: () => rax,
        set: (v: number) => {
          rax = v;
          if (!armed || !(lp.cpl === 3 && !lp.inEnclaveMode)) return;
          armed = false;
          try {
            lp.enclu(ENCLU.EENTER, newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP }), null);
            nested.push('entered');
          } catch (err) {
            nested.push(err instanceof ArchFault ? `#${err.vector}` : String(err));
          }
        },
      });
      const exits: string[] = [];
      const x = k.user(() => lp.enclu(ENCLU.EENTER, regs, (ex, r) => {
        exits.push(ex.reason);
        if (ex.reason === 'eexit' && r.rdi === OCALL) {
          r.rbx = b.tcs(0);
          r.rcx = AEP;
          r.rdi = 0;
          return ENCLU.EENTER;
        }
        return 0;
      }), 1);
      assert.deepEqual(nested, [`#${VECTOR.GP}`], `${kind}: the nested EENTER found the TCS busy`);
      if (kind === 'ocall') {
        assert.equal(x.reason, 'eexit');
        assert.deepEqual(exits, ['eexit', 'eexit'], 'the OCALL reached the handler and the ECALL returned');
      } else {
        assert.equal(x.reason, 'aex');
        assert.deepEqual(k.proc.inspect.enclaves()[0]!.tcs.map((t) => [t.state, t.cssa]), [['idle', 1]]);
      }
    }
  });

  test('on the cached path each host register is read once: a getter counts one read per EENTER, and the value read is the one used', () => {
    const { k, engine } = newKernel();
    const b = buildEnclave(k);
    const look = engine.on((ctx) => ctx.regs.rcx);
    const lp = k.proc.lps[1]!;
    b.enter(look); // the TCS's entry cached on this LP
    const regs = newRegisters({ rbx: b.tcs(0), rip: HOST_RIP, rdi: look });
    let reads = 0;
    // RCX (the AEP): canonical on the first read, not on any later one.
    Object.defineProperty(regs, 'rcx', { configurable: true, get: () => (reads++ === 0 ? AEP : 2 ** 50), set: () => undefined });
    for (let i = 0; i < 3; i++) {
      reads = 0;
      const x = k.user(() => lp.enclu(ENCLU.EENTER, regs, null), 1);
      assert.equal(x.reason, 'eexit');
      assert.equal(reads, 1, `EENTER ${i}: RCX read ${reads} times`);
    }
  });

  test('CR3 takes only a table made by PageTable: a subclass or a look-alike is refused (BAD_PAGE_TABLE)', () => {
    const { k } = newKernel();
    class Sly extends PageTable {
      override entry(): number {
        return 0;
      }
    }
    for (const pt of [new Sly('sly'), Object.create(PageTable.prototype) as PageTable]) {
      assert.throws(() => k.kernel(() => {
        k.lp.cr3 = pt;
      }), (e: unknown) => e instanceof ArchError && e.code === 'BAD_PAGE_TABLE');
    }
  });

  test('a host setter that throws while an AEX writes the synthetic state: the LP has left enclave mode, the frame is saved, the TCS works', () => {
    const { k, engine } = newKernel();
    const b = buildEnclave(k, { nssa: 2 });
    const trap = engine.on(() => {
      throw new WebAssembly.RuntimeError('unreachable');
    });
    const lp = k.proc.lps[1]!;
    const regs = newRegisters({ rbx: b.tcs(0), rcx: AEP, rip: HOST_RIP, rdi: trap });
    let inModeAtGet: boolean | null = null;
    Object.defineProperty(regs, 'rflags', {
      configurable: true,
      get: () => {
        inModeAtGet = lp.inEnclaveMode;
        return 2;
      },
      set: () => {
        throw new Error('host setter');
      },
    });
    assert.throws(() => k.user(() => lp.enclu(ENCLU.EENTER, regs, null), 1), /host setter/);
    assert.equal(inModeAtGet, false, 'host code ran outside enclave mode');
    assert.equal(lp.inEnclaveMode, false);
    assert.deepEqual(k.proc.inspect.enclaves()[0]!.tcs.map((t) => [t.state, t.cssa]), [['idle', 1]]);
  });

  test('a provider frozen by its author whose prototype is patched afterwards, and a CPUSVN that is a Proxy', () => {
    const base = defaultCrypto();
    const seen: string[] = [];
    class Mine {}
    for (const k of Object.keys(base)) (Mine.prototype as Record<string, unknown>)[k] = (...a: unknown[]) => (base as unknown as Record<string, (...b: unknown[]) => unknown>)[k]!(...a);
    const frozen = Object.freeze(new Mine()) as unknown as CryptoProvider;
    const { enclave } = hello({ crypto: frozen });
    for (const k of ['aesCmac128', 'aesGcm128Encrypt']) {
      (Mine.prototype as Record<string, unknown>)[k] = () => {
        seen.push(k);
        throw new Error('swapped');
      };
    }
    seal(enclave);
    assert.deepEqual(seen, []);
    const sly = new Proxy(new Uint8Array(16), {});
    assert.throws(() => createPlatform({ processor: { cpusvn: sly } }), (e: unknown) => e instanceof ArchError && e.code === 'CONFIG_INVALID');
  });
});

test('a getter defined on a process page table\'s identityLimit never runs while the enclave walks it (a string scan past 2^47)', () => {
  const p = newPlatform();
  const e = loadFixture(p, 'marshal');
  const U = untrusted(p, 0x10000);
  const pt = p.process.pageTable;
  const top = 2 ** 47 - 4096;
  const pte = pt.lookup(U / 4096)!;
  pt.map(top / 4096, pte.pfn, pte.flags); // the last user page, backed by U's frame
  p.process.write(U, new Uint8Array(4096).fill(0x41)); // no terminator in it
  let calls = 0;
  Object.defineProperty(pt, 'identityLimit', { configurable: true, get: () => ++calls });
  writeMs(p, U + 0x8000, [top + 4000]);
  const { exit } = rawEnter(p, e, { index: ecallPlan(e, 'ecall_in_string').index, ms: U + 0x8000, scratch: U + 0x9000, scratchSize: 0x1000, handler: () => 0 });
  assert.equal(calls, 0);
  assert.equal(exit.reason, 'aex', 'the scan runs off the canonical half: #GP in the enclave');
  e.destroy();
});
