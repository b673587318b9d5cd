/**
 * What code holding the platform's public objects cannot change: the processor's crypto provider
 * and configuration are its own (a provider or CPUSVN array swapped or written afterwards changes
 * nothing inside), and the default provider cannot be patched at all. Register values that are no
 * numbers are refused at ENCLU and ENCLS (test/sdk/hostile.test.ts, test/arch/encls.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPlatform } from '../../src/platform/index.js';
import { buildImage, resolveEdl, signSigstruct, sigstructFieldsFor, loadEnclave, type HostEnclave } from '../../src/sdk/index.js';
import { defaultCrypto, toHex, type CryptoProvider } from '../../src/lib/index.js';
import { REPORT } from '../../src/arch/index.js';
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
