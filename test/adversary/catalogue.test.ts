/**
 * The adversary catalogue: every attack runs against a fresh victim holding a known secret and
 * must be stopped by the defence it names; the observations prove what stopped it. The victim is
 * loaded through Windows' API, and again through Linux's driver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACKS, runAttack, HostileDriver, type Victim } from '../../src/os/adversary/index.js';
import { makeHelloVictim } from '../../src/platform/victim.js';
import { ArchFault, PT, PTE, SGX, VECTOR } from '../../src/arch/index.js';
import { OsError } from '../../src/os/index.js';
import { Vma } from '../../src/os/linux/index.js';

const expected: Record<string, RegExp> = {
  'kernel-read-epc': /all-ones/,
  'host-read-enclave': /all-ones/,
  'kernel-write-epc': /dropped/,
  'dma-read': /ciphertext/,
  'cold-boot-dump': /ciphertext/,
  'dma-write': /#MC.*locked: true/,
  'dma-replay': /flagged on 1 page.*#MC/,
  'remap-within-enclave': /vector 14.*was added at/,
  'remap-cross-enclave': /vector 14.*belongs to another enclave/,
  'eadd-after-einit': /#GP: EADD: the enclave is already initialized/,
  'einit-modified-image': /SGX_INVALID_MEASUREMENT/,
  'forged-sigstruct': /SGX_INVALID_SIGNATURE/,
  'sigstruct-for-other-enclave': /SGX_INVALID_MEASUREMENT/,
  'resigned-sigstruct': /unseal status 0x3001/,
  'edbgrd-production': /#GP: .*not a DEBUG enclave/,
  'edbgwr-production': /#GP: .*not a DEBUG enclave/,
  'interrupt-read-ssa': /[1-9] interrupt\(s\) taken/,
  'enter-busy-tcs': /#GP: EENTER: the TCS is busy/,
  'enter-foreign-tcs': /#PF \(PFEC 0x8005\)/,
  'eremove-while-inside': /SGX_ENCLAVE_ACT/,
  'evict-read-backing': /ciphertext and a MAC/,
  'evict-tamper': /SGX_MAC_COMPARE_FAIL; the enclave's access: .*vector 14/,
  'evict-replay': /older copy returned SGX_MAC_COMPARE_FAIL/,
  'evict-swap-pages': /SGX_MAC_COMPARE_FAIL, SGX_MAC_COMPARE_FAIL/,
};

test('the catalogue covers every attack the issue names', () => {
  assert.deepEqual(ATTACKS.map((a) => a.name).sort(), Object.keys(expected).sort());
});

// Every attack against the enclave loaded through Windows' API, and through Linux's driver.
for (const [profile, a] of [...ATTACKS.map((x) => ['win-x64-sgx1', x] as const), ...ATTACKS.map((x) => ['linux-sgx2', x] as const)]) {
  test(`attack ${a.name} is blocked by ${a.defence}${profile === 'win-x64-sgx1' ? '' : ` (${profile})`}`, () => {
    let v: Victim | null = null;
    let ram0 = -1;
    const o = runAttack(a, () => {
      v = makeHelloVictim(undefined, profile);
      ram0 = v.kernel.ram.inUse;
      return v;
    });
    assert.equal(o.leaked, false, o.detail);
    assert.equal(o.modified, false, o.detail);
    assert.match(o.detail, expected[a.name]!);
    // (loaded through the profile's OS: Linux's mappings are VMAs of the driver)
    assert.equal(v!.process.regions.some((r) => r.owner instanceof Vma), profile !== 'win-x64-sgx1');
    // (RAM the pager holds: a backing page for each page still evicted (one that failed to load
    // stays out), and its pool of PCMD pages.)
    const k = v!.kernel;
    const paged = k.enclaves.reduce((n, e) => n + e.evicted.size, 0) + k.pager.pcmdPoolPages;
    assert.equal(k.ram.inUse - paged, ram0, 'the attack (and the driver) left no RAM frame allocated');
  });
}

test('the driver\'s EADD stages its page without allocating: ten of them leave kernel.ram.inUse as it was', () => {
  const v = makeHelloVictim();
  const d = new HostileDriver(v.kernel);
  const ram0 = v.kernel.ram.inUse;
  const secs = v.kernel.enclaves.find((e) => e.base === v.base)!.secs;
  for (let i = 0; i < 10; i++) {
    const epc = v.kernel.epc.alloc(false);
    assert.throws(() => d.eadd(secs, epc, v.base + v.size - 4096, (PT.REG << 8) | 3, new Uint8Array(16).fill(i)), (e: unknown) => e instanceof ArchFault && e.vector === VECTOR.GP);
    v.kernel.epc.free(epc);
  }
  assert.equal(v.kernel.ram.inUse, ram0);
});

test('the judge is not blind: reading the secret through a DEBUG window would count as a leak', () => {
  // A control: the victim's own view contains the secret, so `leaked` is computed on real data.
  const v = makeHelloVictim('control secret 0123456789abcdef');
  assert.deepEqual(v.readSecret(), v.secret);
  const d = new HostileDriver(v.kernel);
  const frame = d.frameOf(v.process, v.secretAddress - (v.secretAddress % 4096));
  assert.ok(frame >= v.kernel.processor.epcBase, 'the secret lives in the EPC');
  const seen = d.readPhysical(frame + (v.secretAddress % 4096), v.secret.length);
  assert.ok(seen.every((b) => b === 0xff));
});

test('a replay whose EADD faults leaves no EPC page, commitment, RAM frame or enclave behind', () => {
  // The victim's image with its second page replaced by a TCS: the attack flips byte 100 of that
  // page, a reserved TCS byte, so the replay's EADD raises #GP part-way through the rebuild.
  const v = makeHelloVictim();
  const tcs = v.image.pages.find((p) => p.secinfoFlags >> 8 === PT.TCS)!;
  const pages = v.image.pages.map((p, i) => (i === 1 ? { ...tcs, offset: p.offset } : p));
  const victim: Victim = { ...v, image: { ...v.image, pages } };
  const k = v.kernel;
  const before = { free: k.epc.freePages, committed: k.epc.committedPages, cpu: k.processor.inspect.freeEpcPages, ram: k.ram.inUse, enclaves: k.enclaves.length, regions: v.process.regions.length };
  const attack = ATTACKS.find((a) => a.name === 'einit-modified-image')!;
  assert.throws(() => runAttack(attack, () => victim), (e: unknown) => e instanceof ArchFault && e.vector === VECTOR.GP);
  assert.deepEqual({ free: k.epc.freePages, committed: k.epc.committedPages, cpu: k.processor.inspect.freeEpcPages, ram: k.ram.inUse, enclaves: k.enclaves.length, regions: v.process.regions.length }, before);
});

test('a replay enclave that a locked machine cannot remove is reported (REPLAY_TEARDOWN), not left behind silently', () => {
  const v = makeHelloVictim();
  const k = v.kernel;
  const d = new HostileDriver(k);
  const secretFrame = d.frameOf(v.process, v.secretAddress - (v.secretAddress % 4096));
  // Fault injection: right after the replay's EINIT, DMA garbage into the victim's secret frame and
  // let the victim touch it, so the machine locks before the replay enclave is torn down.
  const einit = k.sgx.einit.bind(k.sgx);
  let status = -1;
  k.sgx.einit = (sigstruct: Uint8Array, token: Uint8Array, secs: number): number => {
    status = einit(sigstruct, token, secs);
    d.dmaWrite(secretFrame, new Uint8Array(64).fill(0x41));
    assert.throws(() => v.readSecret(), (e: unknown) => e instanceof ArchFault && e.vector === VECTOR.MC);
    return status;
  };
  const enclaves = k.enclaves.length;
  const attack = ATTACKS.find((a) => a.name === 'forged-sigstruct')!;
  assert.throws(() => runAttack(attack, () => v), (e: unknown) => {
    assert.ok(e instanceof OsError, String(e));
    assert.equal(e.code, 'REPLAY_TEARDOWN');
    const st = e.data.status as { error: string; fault: unknown };
    assert.equal(st.error, 'EREMOVE_FAULT');
    assert.ok(st.fault instanceof ArchFault && st.fault.vector === VECTOR.MC, 'the teardown met the lock (#MC)');
    return true;
  });
  assert.equal(status, SGX.INVALID_SIGNATURE, 'EINIT ran and refused the forged signature');
  assert.notEqual(k.processor.locked, null);
  assert.equal(k.enclaves.length, enclaves + 1, 'the replay enclave is still there, as the error says');
});

for (const name of ['remap-within-enclave', 'remap-cross-enclave']) {
  test(`${name} puts the victim's page-table entry back exactly, flags included`, () => {
    const v = makeHelloVictim();
    const pt = v.process.pageTable;
    const vpn = Math.floor(v.secretAddress / 4096);
    const orig = pt.lookup(vpn)!;
    // give the entry flags the driver's remap would not write (no W), to see they come back
    pt.protect(vpn, PTE.U | PTE.NX);
    const attack = ATTACKS.find((a) => a.name === name)!;
    runAttack(attack, () => v);
    assert.deepEqual(pt.lookup(vpn), { pfn: orig.pfn, flags: PTE.U | PTE.NX });
  });
}

test('enter-foreign-tcs leaves no alias mapping behind', () => {
  const v = makeHelloVictim();
  const before = [...v.process.pageTable.entries()];
  runAttack(ATTACKS.find((a) => a.name === 'enter-foreign-tcs')!, () => v);
  assert.deepEqual([...v.process.pageTable.entries()], before);
});
