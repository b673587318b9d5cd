/**
 * src/platform: a saved machine restarts as the same machine — same profile, same processor
 * features, same platform secrets — for every Windows profile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPlatform, createLinuxPlatform, PlatformError, type Platform, type SavedPlatform, type SavedLinuxPlatform } from '../../src/platform/index.js';
import { LINUX_PROFILES } from '../../src/os/linux/index.js';
import { WINDOWS_PROFILES, ENCLAVE_TYPE_SGX, ENCLAVE_TYPE_SGX2 } from '../../src/os/windows/index.js';

const SEED = new TextEncoder().encode('witness platform round-trip seed');
const EPC = 4 << 20;

/** What a program can observe of a machine without running an enclave. */
function observe(p: Platform) {
  const c = p.processor.inspect.cpuid;
  const k = p.kernel32;
  const sgx = k.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX);
  const sgxError = sgx ? 0 : k.GetLastError();
  return {
    profile: p.profile.id,
    cpu: { sgx1: c.sgx1, sgx2: c.sgx2, enabled: c.enabled, flc: c.flc, miscselectMask: c.miscselectMask },
    features: p.processor.config.features,
    epcPages: p.processor.epcPages,
    isEnclaveTypeSupported: { sgx, sgxError, sgx2: k.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX2) },
  };
}

for (const profile of WINDOWS_PROFILES) {
  test(`${profile}: save() records the profile; createPlatform({ saved }) restarts the same machine (through JSON)`, () => {
    const a = createPlatform({ profile, seed: SEED, epcSize: EPC });
    const saved = JSON.parse(JSON.stringify(a.save())) as SavedPlatform;
    assert.equal(saved.profile, profile);
    const b = createPlatform({ saved });
    assert.deepEqual(observe(b), observe(a));
    assert.equal(b.profile, a.profile);
    assert.deepEqual(b.save(), a.save());
    // The profile may be named again, as long as it is the saved one.
    assert.deepEqual(observe(createPlatform({ saved, profile })), observe(a));
  });
}

test('the restarted machine is what it was, not the default profile: sgx2 stays on, a BIOS-disabled SGX stays off', () => {
  const sgx2 = createPlatform({ saved: createPlatform({ profile: 'win-x64-sgx2', epcSize: EPC }).save() });
  assert.equal(sgx2.profile.id, 'win-x64-sgx2');
  assert.equal(sgx2.processor.inspect.cpuid.sgx2, true);
  assert.equal(sgx2.kernel32.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX2), true);
  const nosgx = createPlatform({ saved: createPlatform({ profile: 'win-x64-nosgx', epcSize: EPC }).save() });
  assert.equal(nosgx.profile.id, 'win-x64-nosgx');
  assert.equal(nosgx.processor.inspect.cpuid.enabled, false);
  assert.equal(nosgx.kernel32.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX), false);
});

test('a saved processor without a profile (the earlier format) keeps its own features', () => {
  const { profile: _profile, ...old } = createPlatform({ profile: 'win-x64-sgx2', seed: SEED, epcSize: EPC }).save();
  const r = createPlatform({ saved: old });
  assert.equal(r.profile.id, 'win-x64-sgx1');
  assert.equal(r.processor.inspect.cpuid.sgx2, true, 'the saved features are not overridden by the default profile');
  assert.equal(createPlatform({ saved: old, profile: 'win-x64-sgx2' }).profile.id, 'win-x64-sgx2');
});

test('options.processor.features still override the saved features on a restart', () => {
  const saved = createPlatform({ profile: 'win-x64-sgx1', epcSize: EPC }).save();
  assert.equal(createPlatform({ saved, processor: { features: { kss: true } } }).processor.inspect.cpuid.kss, true);
});

test('a profile other than the saved one, or an unknown saved profile, is a PlatformError', () => {
  const saved = createPlatform({ profile: 'win-x64-sgx2', epcSize: EPC }).save();
  assert.throws(() => createPlatform({ saved, profile: 'win-x64-sgx1' }), (e: unknown) => e instanceof PlatformError && e.code === 'PROFILE_MISMATCH');
  const bogus = { ...saved, profile: 'win-nothing' } as unknown as SavedPlatform;
  assert.throws(() => createPlatform({ saved: bogus }), (e: unknown) => e instanceof PlatformError && e.code === 'SAVED_PLATFORM_INVALID' && /win-nothing/.test(e.message));
});

test('a saved machine and a seed together are a PlatformError (the seed would be ignored)', () => {
  const saved = createPlatform({ epcSize: EPC, seed: new Uint8Array(32).fill(1) }).save();
  assert.throws(() => createPlatform({ saved, seed: new Uint8Array(32).fill(2) }), (e: unknown) => e instanceof PlatformError && e.code === 'SEED_WITH_SAVED');
  assert.equal(createPlatform({ saved }).profile.id, 'win-x64-sgx1');
});

for (const profile of LINUX_PROFILES) {
  test(`${profile}: a saved Linux machine restarts as the same machine (profile, features, secrets)`, () => {
    const a = createLinuxPlatform({ profile, seed: SEED, epcSize: EPC });
    const saved = JSON.parse(JSON.stringify(a.save())) as SavedLinuxPlatform;
    assert.equal(saved.linuxProfile, profile);
    const b = createLinuxPlatform({ saved });
    assert.equal(b.profile.id, profile);
    assert.deepEqual(b.processor.config.features, a.processor.config.features);
    assert.equal(b.libc.sys.deviceRegistered, a.libc.sys.deviceRegistered);
    assert.deepEqual(b.processor.save(), a.processor.save());
  });
}

test('Linux: a save of another profile, of a Windows machine, or with a seed is a PlatformError', () => {
  const saved = createLinuxPlatform({ profile: 'linux-sgx2', epcSize: EPC }).save();
  assert.throws(() => createLinuxPlatform({ saved, profile: 'linux-sgx1' }), (e: unknown) => e instanceof PlatformError && e.code === 'PROFILE_MISMATCH');
  assert.throws(() => createLinuxPlatform({ saved: createPlatform({ epcSize: EPC }).save() }), (e: unknown) => e instanceof PlatformError && e.code === 'SAVED_PLATFORM_INVALID');
  assert.throws(() => createLinuxPlatform({ saved, seed: SEED }), (e: unknown) => e instanceof PlatformError && e.code === 'SEED_WITH_SAVED');
  assert.throws(() => createLinuxPlatform({ epcReclaim: 'yes' as unknown as boolean }), (e: unknown) => e instanceof PlatformError && e.code === 'BAD_OPTION');
  assert.throws(() => createPlatform({ profile: 'linux-sgx2' as unknown as 'win-x64-sgx2' }), (e: unknown) => e instanceof PlatformError && e.code === 'LINUX_PROFILE' && /createLinuxPlatform/.test(e.message));
});
