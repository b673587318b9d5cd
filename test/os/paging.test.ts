/**
 * The kernel's EPC paging (os-api.md §4.7, specs/sgx.md §10.1) with a real enclave: pages evicted
 * under a running enclave come back when it touches them (the #PF handler: from an ECALL's entry,
 * an OCALL's return, an access), reclaim lets enclaves together outgrow the EPC, teardown gives
 * every EPC page and RAM frame back, and a kernel that tampers with or replays a backing page gets
 * a MAC failure, never the enclave's data (the enclave's thread faults instead).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadEnclave, type HostEnclave } from '../../src/sdk/index.js';
import { createPlatform, type Platform } from '../../src/platform/index.js';
import { SGX, PT, ArchFault, VECTOR } from '../../src/arch/index.js';
import { EnclaveCallError, EnclaveLoadError } from '../../src/sdk/index.js';
import { OsError, type KernelEnclave } from '../../src/os/index.js';
import { PlatformError } from '../../src/platform/index.js';
import { helloEnclave } from '../helpers/hello.js';

const SECRET = new TextEncoder().encode('kept in enclave memory, paged out');

function platform(o: { epcSize?: number; epcReclaim?: boolean } = {}): Platform {
  return createPlatform({ profile: 'win-x64-sgx1', epcSize: o.epcSize ?? 8 << 20, epcReclaim: o.epcReclaim ?? false });
}

function hello(p: Platform, ocall_print: () => void = () => undefined): { enclave: HostEnclave; kernel: KernelEnclave } {
  const h = helloEnclave();
  const enclave = loadEnclave(p, h.built.image, { sigstruct: h.sigstruct, ocalls: { ocall_print } });
  const kernel = p.kernel.enclaves.find((e) => e.base === enclave.base)!;
  return { enclave, kernel };
}

function greet(enclave: HostEnclave, name: string): string {
  const out = new Uint8Array(128);
  enclave.ecall('ecall_hello', [name, out, out.length]);
  return new TextDecoder().decode(out.subarray(0, out.indexOf(0)));
}

function readSecret(enclave: HostEnclave): string {
  const out = new Uint8Array(SECRET.length);
  enclave.ecall('ecall_read_secret', [out, out.length]);
  return new TextDecoder().decode(out);
}

/** Evict every REG and TCS page of `k` the EPC holds; returns how many. */
function evictAll(p: Platform, k: KernelEnclave): number {
  let n = 0;
  for (const [la, pa] of [...k.pages]) {
    const t = p.processor.inspect.epcm(pa).pageType;
    if (t !== PT.REG && t !== PT.TCS) continue;
    assert.equal(p.kernel.pager.evict(k, la), 'evicted');
    n++;
  }
  return n;
}

describe('EPC paging under a running enclave (demand loading through the #PF handler)', () => {
  test('every page evicted between ECALLs: the next ECALLs load what they touch and give the same answers', () => {
    const p = platform();
    const { enclave, kernel } = hello(p);
    const before = greet(enclave, 'paging');
    enclave.ecall('ecall_store_secret', [SECRET, SECRET.length]);
    const freeBefore = p.kernel.epc.freePages;
    const n = evictAll(p, kernel);
    assert.ok(n > 60, `${n} pages evicted`);
    assert.notEqual(kernel.secsEvicted, null, 'with none of its pages left, the SECS went too (os-api.md §4.7, step 5)');
    assert.equal(p.kernel.epc.freePages, freeBefore + n + 1 - kernel.vaPages.length, 'every evicted page and the SECS freed (less the VA page their versions went to)');
    assert.equal(kernel.vaPages.length, 1);
    assert.equal(kernel.evicted.size, n);
    assert.equal(readSecret(enclave), new TextDecoder().decode(SECRET));
    assert.equal(greet(enclave, 'paging'), before);
    const st = p.kernel.pager.stats;
    assert.ok(st.faults > 0 && st.loaded === st.faults, `${st.faults} faults resolved`);
    assert.deepEqual([st.secsEvicted, st.secsLoaded, kernel.secsEvicted], [1, 1, null], 'the SECS came back first, once');
    assert.ok(kernel.evicted.size > 0, 'pages the ECALLs did not touch stay out');
    assert.equal(st.macFailures, 0);
  });

  test('pages evicted during an OCALL (the TCS, the SSA frame, the heap) come back at its return, and the ECALL completes', () => {
    const p = platform();
    let inOcall: (() => void) | null = null;
    const { enclave, kernel } = hello(p, () => inOcall?.());
    enclave.ecall('ecall_store_secret', [SECRET, SECRET.length]);
    let evicted = 0;
    inOcall = () => {
      inOcall = null;
      evicted = evictAll(p, kernel);
    };
    // ecall_hello prints through ocall_print before it writes the greeting.
    const g = greet(enclave, 'during an OCALL');
    assert.ok(evicted > 60, `${evicted} pages evicted during the OCALL`);
    assert.match(g, /during an OCALL/);
    assert.equal(readSecret(enclave), new TextDecoder().decode(SECRET));
  });

  test('explicit eviction and reload; a page not in the EPC cannot be evicted, one not evicted cannot be loaded, a deleted enclave has no pages', () => {
    const p = platform();
    const { enclave, kernel } = hello(p);
    const [la] = [...kernel.pages].find(([, pa]) => p.processor.inspect.epcm(pa).pageType === PT.REG)!;
    assert.equal(p.kernel.pager.evict(kernel, la), 'evicted');
    assert.throws(() => p.kernel.pager.evict(kernel, la), (e: unknown) => e instanceof OsError && e.code === 'PAGE_NOT_PRESENT');
    assert.equal(p.kernel.pager.load(kernel, la), SGX.SUCCESS);
    assert.throws(() => p.kernel.pager.load(kernel, la), (e: unknown) => e instanceof OsError && e.code === 'PAGE_NOT_EVICTED');
    assert.ok(greet(enclave, 'x').includes('x'));
    enclave.destroy();
    assert.throws(() => p.kernel.pager.evict(kernel, la), (e: unknown) => e instanceof OsError && e.code === 'ENCLAVE_DELETED');
  });
});

describe('reclaim: enclaves together larger than the EPC', () => {
  test('without reclaim the third enclave does not fit; with it, all load, all run, and teardown gives every EPC page and RAM frame back', () => {
    const epcSize = 160 * 4096; // a hello enclave needs 76 pages (its SECS included)
    const tight = platform({ epcSize });
    hello(tight);
    hello(tight);
    assert.throws(() => hello(tight), (e: unknown) => e instanceof EnclaveLoadError && /ERROR_NOT_ENOUGH_MEMORY/.test(e.message), 'the EPC is exhausted');
    const p = platform({ epcSize, epcReclaim: true });
    const free0 = p.kernel.epc.freePages, ram0 = p.kernel.ram.available;
    const all = [hello(p), hello(p), hello(p), hello(p)];
    assert.ok(p.kernel.pager.stats.evicted > 0);
    for (const [i, { enclave }] of all.entries()) {
      enclave.ecall('ecall_store_secret', [SECRET, SECRET.length]);
      assert.match(greet(enclave, `enclave ${i}`), new RegExp(`enclave ${i}`));
    }
    for (const { enclave } of all) assert.equal(readSecret(enclave), new TextDecoder().decode(SECRET));
    assert.ok(p.kernel.pager.stats.faults > 0, 'the enclaves faulted their pages back in');
    assert.ok(p.kernel.pager.queued > 0);
    for (const { enclave } of all) enclave.destroy();
    assert.equal(p.kernel.pager.queued, 0, 'no deleted enclave stays in the reclaim order');
    assert.equal(p.kernel.epc.freePages, free0, 'EPC pages (VA pages included) all back');
    assert.equal(p.kernel.ram.available, ram0 - p.kernel.pager.pcmdPoolPages, 'backing pages all back (the PCMD pool stays)');
  });
});

test('createPlatform refuses an epcReclaim that is no boolean', () => {
  for (const bad of ['yes', 1, null]) {
    assert.throws(() => createPlatform({ epcReclaim: bad as unknown as boolean }), (e: unknown) => e instanceof PlatformError && e.code === 'BAD_OPTION');
  }
});

test('reclaim with every candidate busy (a thread inside the enclave that owns them) gives up after one walk instead of looping', () => {
  const h = helloEnclave();
  const p = createPlatform({ profile: 'win-x64-sgx1', epcSize: 100 * 4096, epcReclaim: true });
  const en = loadEnclave(p, h.built.image, { sigstruct: h.sigstruct, ocalls: { ocall_print: () => undefined } });
  while (p.kernel.epc.alloc(false) >= 0); // the rest of the EPC is taken, and none of it reclaimable
  let ipis = 0;
  for (const lp of p.processor.lps) {
    const inject = lp.injectInterrupt.bind(lp);
    lp.injectInterrupt = (v?: number) => {
      inject(v);
      if (++ipis > 10_000) throw new Error('reclaim is still walking');
    };
  }
  let got: number | string = 'not reached';
  p.processor.setStepHook(() => {
    if (got !== 'not reached') return;
    try {
      got = p.kernel.allocEpc(false); // another CPU's kernel work while the thread is inside
    } catch (e) {
      got = (e as Error).message;
    }
  });
  greet(en, 'busy');
  p.processor.setStepHook(null);
  assert.equal(got, -1, 'no page could be had: every candidate was busy');
  assert.ok(ipis > 0 && ipis <= p.kernel.pager.queued, `${ipis} IPIs, one per candidate`);
});

test('an enclave deleted while its SECS is evicted: every EPC page and backing page comes back, and the processor knows no such enclave', () => {
  const p = platform();
  const free0 = p.kernel.epc.freePages;
  const { kernel } = hello(p);
  const ram0 = p.kernel.ram.inUse; // (the host's own memory for the enclave is its process's: not the kernel's to free here)
  evictAll(p, kernel);
  assert.ok(p.kernel.ram.inUse > ram0 + 60, 'backing pages in use');
  assert.notEqual(kernel.secsEvicted, null);
  assert.equal(p.processor.inspect.enclaves().length, 0, 'an evicted SECS is not in the EPC');
  assert.equal(p.kernel.destroyEnclave(kernel), 0);
  assert.equal(p.kernel.epc.freePages, free0);
  assert.equal(p.kernel.ram.inUse - p.kernel.pager.pcmdPoolPages, ram0);
  assert.equal(p.processor.inspect.enclaves().length, 0);
  assert.equal(kernel.state, 'deleted');
});

test('a load whose allocation reclaims the enclave\'s last page (and so its SECS) loads the SECS back before the page: never an ELDU without a SECS', () => {
  const p = platform({ epcSize: 200 * 4096, epcReclaim: true });
  const { kernel } = hello(p);
  const regs = [...kernel.pages].filter(([, pa]) => [PT.REG, PT.TCS].includes(p.processor.inspect.epcm(pa).pageType as 2)).map(([la]) => la);
  for (const la of regs.slice(1)) assert.equal(p.kernel.pager.evict(kernel, la), 'evicted');
  assert.equal(kernel.secsEvicted, null);
  while (p.kernel.epc.alloc(false) >= 0); // the rest of the EPC is held (not reclaimable)
  const [la1, la2] = [regs[0]!, regs[1]!];
  assert.equal(p.kernel.pager.load(kernel, la2), SGX.SUCCESS);
  assert.ok(kernel.pages.has(la2) && !kernel.pages.has(la1), 'the last page made room');
  assert.equal(kernel.secsEvicted, null, 'the SECS is in');
  assert.ok(p.kernel.pager.stats.secsEvicted === 1 && p.kernel.pager.stats.secsLoaded === 1);
});

test('without reclaim nothing is queued for it, evictions and loads included', () => {
  const p = platform();
  const { enclave, kernel } = hello(p);
  evictAll(p, kernel);
  greet(enclave, 'q');
  assert.ok(p.kernel.pager.stats.loaded > 0);
  assert.equal(p.kernel.pager.queued, 0);
});

describe('a hostile kernel and evicted pages (specs/sgx.md §10.3)', () => {
  function evictedSecret() {
    const p = platform();
    const { enclave, kernel } = hello(p);
    enclave.ecall('ecall_store_secret', [SECRET, SECRET.length]);
    return { p, enclave, kernel };
  }

  test('the backing page holds no plaintext of the enclave\'s pages', () => {
    const { p, kernel } = evictedSecret();
    evictAll(p, kernel);
    const needle = Buffer.from(SECRET.subarray(0, 16)).toString('hex');
    for (const ev of kernel.evicted.values()) {
      assert.ok(!Buffer.from(p.processor.memory.readPhysical(ev.src, 4096)).toString('hex').includes(needle));
    }
  });

  test('a flipped bit in every backing page: each load fails its MAC, the enclave never runs on tampered pages, its ECALL fails', () => {
    const { p, enclave, kernel } = evictedSecret();
    evictAll(p, kernel);
    for (const ev of kernel.evicted.values()) {
      const b = p.processor.memory.readPhysical(ev.src + 100, 1);
      p.processor.memory.writePhysical(ev.src + 100, Uint8Array.of(b[0]! ^ 1));
    }
    assert.throws(() => readSecret(enclave));
    assert.ok(p.kernel.pager.stats.macFailures > 0);
    assert.equal(p.kernel.pager.stats.loaded, 0);
  });

  test('a PCMD made invalid (a reserved SECINFO bit: ELDU #GP): each load gives its EPC page back, and the enclave\'s access fails as a #PF the kernel could not resolve', () => {
    const { p, enclave, kernel } = evictedSecret();
    const free = p.kernel.epc.freePages;
    evictAll(p, kernel);
    for (const ev of kernel.evicted.values()) {
      const b = p.processor.memory.readPhysical(ev.pcmd, 1);
      p.processor.memory.writePhysical(ev.pcmd, Uint8Array.of(b[0]! | 0x40));
    }
    const afterEvict = p.kernel.epc.freePages;
    const [la] = [...kernel.evicted.keys()];
    assert.throws(() => p.kernel.pager.load(kernel, la!), (e: unknown) => e instanceof ArchFault && e.vector === VECTOR.GP);
    assert.equal(kernel.secsEvicted, null, 'the SECS came back first (its PCMD was left intact)');
    assert.equal(p.kernel.epc.freePages, afterEvict - 1, 'only the SECS holds a page: the destination page went back');
    assert.throws(() => readSecret(enclave), (e: unknown) => e instanceof EnclaveCallError && /vector 14/.test(e.message));
    assert.equal(p.kernel.pager.stats.loaded, 0, 'no page came back: the #PF reached the host unresolved');
    assert.equal(p.kernel.epc.freePages, afterEvict - 1, 'nor did the #PF path keep one');
    enclave.destroy();
    assert.ok(p.kernel.epc.freePages > free);
  });

  test('replay: the page holding the old secret, evicted, then the secret changed and the page evicted again; the old backing page and PCMD put back fail their MAC', () => {
    const { p, enclave, kernel } = evictedSecret();
    evictAll(p, kernel);
    const old = new Map([...kernel.evicted].map(([la, ev]) => [la, { src: p.processor.memory.readPhysical(ev.src, 4096), pcmd: p.processor.memory.readPhysical(ev.pcmd, 128) }]));
    const other = new TextEncoder().encode('a newer secret, same length!!!!!!');
    enclave.ecall('ecall_store_secret', [other, other.length]);
    evictAll(p, kernel);
    let replayed = 0;
    for (const [la, ev] of kernel.evicted) {
      const o = old.get(la);
      if (!o) continue;
      p.processor.memory.writePhysical(ev.src, o.src);
      p.processor.memory.writePhysical(ev.pcmd, o.pcmd);
      replayed++;
    }
    assert.ok(replayed > 60);
    const fails = p.kernel.pager.stats.macFailures;
    assert.throws(() => readSecret(enclave));
    assert.ok(p.kernel.pager.stats.macFailures > fails, 'the replayed pages fail ELDU');
  });
});
