/**
 * The web view's worker, run under Node: what it posts for the tour and the attacks, its refusals,
 * and the tour on the portable crypto provider (what a browser runs) giving the same identities and
 * outcomes as on node:crypto; and the workbench's loads, calls and unloads.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { serve, stepFacts, attributeNames } from '../../src/web/worker.js';
import type { WorkerEvent } from '../../src/web/protocol.js';
import { tour, TOUR_SEED, type TourStep } from '../../src/platform/tour.js';
import { createPortableCrypto } from '../../src/lib/crypto/portable.js';
import { WitnessError, toHex, type CryptoProvider } from '../../src/lib/index.js';
import { parseCertificate, pemDecodeAll } from '../../src/attest/index.js';
import { PT } from '../../src/arch/index.js';

function collect(request: Parameters<typeof serve>[0]): WorkerEvent[] {
  const out: WorkerEvent[] = [];
  serve(request, (e) => out.push(e));
  return out;
}

test('the tour: ten steps, each with the demo\'s text, its facts and a snapshot of the machine; then done', () => {
  const events = collect({ run: 'tour' });
  const steps = events.filter((e): e is Extract<WorkerEvent, { kind: 'step' }> => e.kind === 'step');
  assert.deepEqual(steps.map((s) => s.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(events.at(-1)!.kind, 'done');
  assert.match(steps[0]!.lines[0]!, /^1\. The platform: profile win-x64-sgx1, 93\.5 MiB EPC/);
  const load = steps[2]!;
  assert.equal(load.step, 'load');
  const m = load.machine;
  assert.equal(m.types.length, (93.5 * 2 ** 20) / 4096);
  const used = [...m.types].filter((t) => t !== 0xff).length;
  assert.equal(used, m.types.length - m.freePages);
  assert.equal(used, load.facts.epcPagesInUse);
  const secs = [...m.types].indexOf(PT.SECS);
  assert.equal(m.enclaves[0]!.secsIndex, secs);
  for (let i = 0; i < m.types.length; i++) if (m.types[i] === PT.TCS || m.types[i] === PT.REG) assert.equal(m.owners[i], secs, `page ${i}`);
  assert.deepEqual(m.enclaves[0]!.attributes, ['INIT', 'MODE64BIT']);
  assert.deepEqual(m.enclaves[0]!.tcs.map((t) => [t.state, t.cssa, t.aexCount]), [['idle', 0, 0], ['idle', 0, 0]]);
  assert.equal(m.enclaves[0]!.activeThreads, 0);
  assert.equal(m.counters.ECREATE, 1);
  assert.equal(m.counters.EINIT, 1);
  assert.ok(!('EWB' in m.counters), 'only the leaves that ran');
  const ecall = steps[3]!;
  assert.equal(ecall.facts.greeting, 'Hello, Witness, from inside the enclave!');
  assert.equal(ecall.facts.ocalls, 'the enclave wrote a greeting');
  assert.ok((ecall.machine.counters.EENTER ?? 0) > (load.machine.counters.EENTER ?? 0));
  // After the seal step the first enclave is gone from the restarted machine's map.
  const seal = steps[5]!;
  assert.equal(seal.machine.enclaves.length, 1);
  assert.equal(seal.facts.unsealed, 'the witness saw everything......');
  assert.equal(steps[7]!.facts.verdict, 'SGX_QL_QV_RESULT_OK');
  assert.equal(typeof steps[7]!.facts.quote, 'number');
  assert.ok(!('collateral' in steps[7]!.facts) && !('processor' in steps[7]!.facts));
});

test('a seed: the same seed is the same machine (the same simulated PCS root), another seed another; a bad one is refused before anything runs', () => {
  const hex = 'ffeeddccbbaa99887766554433221100';
  const root = (seedHex: string) => {
    const steps = collect({ run: 'tour', seedHex }).filter((e) => e.kind === 'step');
    assert.equal(steps.length, 10);
    return [...tour({ seed: Uint8Array.from(Buffer.from(seedHex, 'hex')) })].find((s) => s.step === 'remote-attestation')!;
  };
  const a = root(hex), b = root(hex), c = root('00'.repeat(16));
  assert.ok(a.step === 'remote-attestation' && b.step === 'remote-attestation' && c.step === 'remote-attestation');
  // The root certificate's signature is randomised (ECDSA); its key is the seed's.
  const key = (pem: string) => toHex(parseCertificate(pemDecodeAll(pem)[0]!).publicKey);
  assert.equal(key(a.rootPem), key(b.rootPem));
  assert.notEqual(key(a.rootPem), key(c.rootPem));
  for (const bad of ['00', 'zz'.repeat(16), 'abc'.repeat(11)]) {
    const out: WorkerEvent[] = [];
    assert.throws(() => serve({ run: 'tour', seedHex: bad }, (e) => out.push(e)), (e: unknown) => e instanceof WitnessError && e.code === 'BAD_SEED');
    assert.deepEqual(out, []);
  }
});

test('the attacks: one event per attack, all blocked; an unknown name is refused before any runs', () => {
  const events = collect({ run: 'attacks', only: ['kernel-read-epc', 'dma-write'] });
  assert.deepEqual(events.map((e) => e.kind), ['attack', 'attack', 'done']);
  for (const e of events) if (e.kind === 'attack') assert.ok(!e.leaked && !e.modified, e.name);
  const out: WorkerEvent[] = [];
  assert.throws(() => serve({ run: 'attacks', only: ['dma-write', 'no-such'] }, (e) => out.push(e)), (e: unknown) => e instanceof WitnessError && e.code === 'UNKNOWN_ATTACK');
  assert.deepEqual(out, []);
});

test('the tour on the portable crypto provider (a browser\'s) gives what it gives on node:crypto', () => {
  const facts = (steps: Iterable<TourStep>) => [...steps].map((s) => stepFacts(s));
  const node = facts(tour({ seed: TOUR_SEED }));
  const portable = facts(tour({ seed: TOUR_SEED, crypto: createPortableCrypto() }));
  assert.equal(portable.length, node.length);
  // Fresh signing keys and a fresh boot key each run: MRSIGNER and the DRAM ciphertext differ; the rest is the same.
  const random = new Set(['mrsigner', 'dramView', 'dramAgain', 'quote', 'base', 'linear', 'frame']);
  for (let i = 0; i < node.length; i++) {
    for (const [k, v] of Object.entries(node[i]!)) if (!random.has(k)) assert.deepEqual(portable[i]![k], v, `step ${i}: ${k}`);
  }
  assert.equal(portable[7]!.verdict, 'SGX_QL_QV_RESULT_OK');
});

test('attributeNames: the SDM\'s names of the set bits, in bit order, the rest in hex', () => {
  assert.deepEqual(attributeNames(0n), []);
  assert.deepEqual(attributeNames(0x7n), ['INIT', 'DEBUG', 'MODE64BIT']);
  assert.deepEqual(attributeNames(0x15n | 0x8n | (1n << 63n)), ['INIT', 'MODE64BIT', 'PROVISIONKEY', '0x8000000000000008']);
});

test('the tour runs wholly on the provider it is given, the manufacturer\'s records too: on a provider whose CMAC is not node:crypto\'s, the quote still verifies', () => {
  const portable = createPortableCrypto();
  // Self-consistent on every machine of the tour, different from the process's default provider:
  // the PPID and the PCK key derive from it, so a service on another provider enrols another platform.
  const other: CryptoProvider = { ...portable, aesCmac128: (key, data) => {
    const mac = portable.aesCmac128(key, data);
    mac[0]! ^= 1;
    return mac;
  } };
  const ra = [...tour({ seed: TOUR_SEED, crypto: other })].find((s) => s.step === 'remote-attestation');
  assert.ok(ra?.step === 'remote-attestation');
  assert.equal(ra.verdict.resultName, 'SGX_QL_QV_RESULT_OK');
});

const helloFile = (name: string) => ({ name, bytes: new Uint8Array(readFileSync(fileURLToPath(new URL(`../../../examples/hello/${name}`, import.meta.url)))) });

test('your enclave: load, call and unload on the workbench, each with a snapshot of its machine', () => {
  const files = [helloFile('enclave.wasm'), helloFile('hello.edl')];
  const loaded = collect({ run: 'load', files, profile: 'linux-sgx1' });
  assert.deepEqual(loaded.map((e) => e.kind), ['loaded', 'done']);
  const l = loaded[0] as Extract<WorkerEvent, { kind: 'loaded' }>;
  assert.equal(l.profile, 'linux-sgx1');
  assert.equal(l.enclave.origin, 'built and signed here');
  assert.equal(l.machine.enclaves.length, 1);
  assert.equal(l.machine.enclaves[0]!.mrenclave, l.enclave.mrenclave);
  const id = l.enclave.id;
  const called = collect({ run: 'call', enclave: id, ecall: 'ecall_hello', args: ['worker', '', '64'] });
  const c = called[0] as Extract<WorkerEvent, { kind: 'called' }>;
  assert.equal(c.kind, 'called');
  assert.equal(c.outcome.outputs[0]!.text, 'Hello, worker, from inside the enclave!');
  assert.deepEqual(c.outcome.cost.counts, { EENTER: 2, EEXIT: 2 });
  assert.equal(c.machine.counters.EENTER, (l.machine.counters.EENTER ?? 0) + 2);
  // Bad requests: refused with their codes, and the enclave still there.
  assert.throws(() => collect({ run: 'call', enclave: id, ecall: 'ecall_hello', args: ['x'] }), { code: 'ECALL_ARGS' });
  assert.throws(() => collect({ run: 'load', files, profile: 'win-x64-sgx9' }), { code: 'UNKNOWN_PROFILE' });
  assert.throws(() => collect({ run: 'load', files, profile: 'win-x64-sgx1', seedHex: 'abc' }), { code: 'BAD_SEED' });
  // A load of another profile that fails keeps the machine there and its enclave ...
  assert.throws(() => collect({ run: 'load', files: [files[1]!], profile: 'win-x64-sgx2' }), { code: 'WORKBENCH_FILES' });
  assert.equal((collect({ run: 'call', enclave: id, ecall: 'ecall_hello', args: ['still', '', '64'] })[0] as Extract<WorkerEvent, { kind: 'called' }>).outcome.result, '38');
  // ... and one that succeeds replaces it: its enclaves are reported unloaded first.
  const replaced = collect({ run: 'load', files, profile: 'win-x64-sgx2' });
  assert.deepEqual(replaced.map((e) => e.kind), ['unloaded', 'loaded', 'done']);
  assert.deepEqual((replaced[0] as Extract<WorkerEvent, { kind: 'unloaded' }>).enclaves, [id]);
  const l2 = (replaced[1] as Extract<WorkerEvent, { kind: 'loaded' }>);
  assert.equal(l2.machine.enclaves.length, 1);
  assert.equal(l2.enclave.mrenclave, l.enclave.mrenclave);
  assert.throws(() => collect({ run: 'call', enclave: id, ecall: 'ecall_hello', args: ['x', '', '8'] }), { code: 'WORKBENCH_NO_ENCLAVE' });
  // Memory views: a pointer the enclave gave back, as ring 0, DRAM and a debugger see it (a production enclave: refused).
  const stored = collect({ run: 'call', enclave: l2.enclave.id, ecall: 'ecall_store_secret', args: ['in here', '7'] })[0] as Extract<WorkerEvent, { kind: 'called' }>;
  const peeked = collect({ run: 'peek', enclave: l2.enclave.id, space: 'pointer', address: `0x${Number(stored.outcome.result).toString(16)}`, length: '7' });
  assert.deepEqual(peeked.map((e) => e.kind), ['peeked', 'done']);
  const v = (peeked[0] as Extract<WorkerEvent, { kind: 'peeked' }>).views;
  assert.equal(v.kernel, 'ff'.repeat(7));
  assert.match('refused' in v.debugger ? v.debugger.refused : '', /^#GP/);
  assert.deepEqual((collect({ run: 'peek', enclave: l2.enclave.id, space: 'linear', address: String(v.linear), length: '7' })[0] as Extract<WorkerEvent, { kind: 'peeked' }>).views, v);
  assert.throws(() => collect({ run: 'peek', enclave: l2.enclave.id, space: 'pointer', address: 'here', length: '7' }), { code: 'NUMBER_TEXT', message: 'address: "here" is not an integer from 0 to 2^53-1 (decimal or 0x…)' });
  assert.throws(() => collect({ run: 'peek', enclave: l2.enclave.id, space: 'pointer', address: '0', length: '-1' }), { code: 'NUMBER_TEXT' });
  assert.throws(() => collect({ run: 'peek', enclave: l2.enclave.id, space: 'pointer', address: '0', length: '0' }), { code: 'WORKBENCH_PEEK' });
  const unloaded = collect({ run: 'unload', enclave: l2.enclave.id });
  assert.deepEqual(unloaded.map((e) => e.kind), ['unloaded', 'done']);
  assert.equal((unloaded[0] as Extract<WorkerEvent, { kind: 'unloaded' }>).machine!.enclaves.length, 0);
});
