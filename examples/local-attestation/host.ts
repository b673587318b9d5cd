/**
 * The local attestation example's host program. Three enclaves from one module; the heap size is
 * part of the measurement, so each has its own MRENCLAVE (in practice they would be different
 * programs):
 *
 *   Alice    heap 1 MiB     Bob    heap 768 KiB     Mallory    heap 512 KiB
 *
 * The host relays the messages of the exchange — it is the untrusted party in the middle — and
 * tells each enclave which MRENCLAVE to expect of its peer (the values it computed when it built
 * the images, as a relying party would know them). Alice and Bob establish a session key and use
 * it; then the host tries to cheat in several ways, and every attempt must fail.
 * Exits non-zero if anything turns out differently.
 * Run: node dist/examples/local-attestation/host.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createPlatform, buildImage, resolveEdl, signSigstruct, sigstructFieldsFor, generateSigningKey, loadEnclave, statusName, lib, type HostEnclave, type Platform } from 'witness';

const here = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/local-attestation');
const crypto = lib.defaultCrypto();
const module = new Uint8Array(readFileSync(join(here, 'enclave.wasm')));
const edl = resolveEdl(join(here, 'attest.edl'));

/** enum la_result of attest.edl. */
const LA = { OK: 0, NO_SESSION: 1, WRONG_MRENCLAVE: 2, DEBUG_PEER: 3, KEY_NOT_BOUND: 4, BAD_MESSAGE: 5 } as const;
const LA_NAMES = new Map<number, string>(Object.entries(LA).map(([k, v]) => [v, `LA_${k}`]));
const resultName = (r: number): string => (r < 0 ? statusName(-r) : LA_NAMES.get(r) ?? String(r));
const SGX_ERROR_MAC_MISMATCH = 0x3001;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const signer = generateSigningKey(crypto);

class Party {
  readonly enclave: HostEnclave;
  readonly mrenclave: Uint8Array;
  constructor(readonly name: string, platform: Platform, heapSize: number) {
    const built = buildImage({ module, interface: edl, config: { isvProdId: 4, isvSvn: 1, heapSize } });
    const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), signer.privateKeyPem, crypto);
    this.mrenclave = built.mrenclave;
    this.enclave = loadEnclave(platform, built.image, {
      sigstruct,
      ocalls: { ocall_print: (message) => console.log(`    [${name}] ${String(message)}`) },
    });
  }

  #call(name: string, args: Parameters<HostEnclave['ecall']>[1]): number {
    return this.enclave.ecall(name, args) as number;
  }

  targetInfo(): Uint8Array {
    const ti = new Uint8Array(512);
    const r = this.#call('ecall_target_info', [ti]);
    check(r === LA.OK, `${this.name}: ecall_target_info: ${resultName(r)}`);
    return ti;
  }

  begin(peerTargetInfo: Uint8Array): { publicKey: Uint8Array; report: Uint8Array } {
    const publicKey = new Uint8Array(64), report = new Uint8Array(432);
    const r = this.#call('ecall_begin', [peerTargetInfo, publicKey, report]);
    check(r === LA.OK, `${this.name}: ecall_begin: ${resultName(r)}`);
    return { publicKey, report };
  }

  finish(peerReport: Uint8Array, peerPublicKey: Uint8Array, expectedMrenclave: Uint8Array): { result: number; confirmation: Uint8Array } {
    const confirmation = new Uint8Array(32);
    const result = this.#call('ecall_finish', [peerReport, peerPublicKey, expectedMrenclave, confirmation]);
    return { result, confirmation };
  }

  send(message: string): Uint8Array {
    const record = new Uint8Array(512), len = new Uint8Array(4);
    const r = this.#call('ecall_seal_message', [message, record, record.length, len]);
    check(r === LA.OK, `${this.name}: ecall_seal_message: ${resultName(r)}`);
    return record.slice(0, new DataView(len.buffer).getUint32(0, true));
  }

  receive(record: Uint8Array): { result: number; message: string } {
    const out = new Uint8Array(300);
    const result = this.#call('ecall_open_message', [record, record.length, out, out.length]);
    const end = out.indexOf(0);
    return { result, message: result === LA.OK ? new TextDecoder().decode(out.subarray(0, end < 0 ? out.length : end)) : '' };
  }
}

const hex8 = (b: Uint8Array): string => `${lib.toHex(b.subarray(0, 8))}…`;

const platform = createPlatform();
const alice = new Party('Alice', platform, 1 << 20);
const bob = new Party('Bob', platform, 768 << 10);
const mallory = new Party('Mallory', platform, 512 << 10);

console.log('== identities');
const ti = new Map<Party, Uint8Array>();
for (const p of [alice, bob, mallory]) {
  ti.set(p, p.targetInfo());
  // TARGETINFO.MEASUREMENT is the enclave's MRENCLAVE: the same value the host computed at build time.
  check(lib.bytesEqual(ti.get(p)!.subarray(0, 32), p.mrenclave), `${p.name}: TARGETINFO.MEASUREMENT is its MRENCLAVE`);
  console.log(`${p.name.padEnd(7)} MRENCLAVE ${lib.toHex(p.mrenclave)}`);
}

/** One run of the exchange between x and y, with the host's interference on the way (all optional). */
function exchange(x: Party, y: Party, options: { yReport?: (r: Uint8Array) => Uint8Array; yPublic?: (k: Uint8Array) => Uint8Array; xExpects?: Uint8Array; yTargetInfoForX?: Uint8Array } = {}): { x: { result: number; confirmation: Uint8Array }; y: { result: number; confirmation: Uint8Array } } {
  const fromX = x.begin(options.yTargetInfoForX ?? ti.get(y)!);
  const fromY = y.begin(ti.get(x)!);
  const rx = x.finish(options.yReport ? options.yReport(fromY.report) : fromY.report, options.yPublic ? options.yPublic(fromY.publicKey) : fromY.publicKey, options.xExpects ?? y.mrenclave);
  const ry = y.finish(fromX.report, fromX.publicKey, x.mrenclave);
  return { x: rx, y: ry };
}

console.log('\n== Alice and Bob');
const ok = exchange(alice, bob);
console.log(`Alice: ${resultName(ok.x.result)}, key confirmation ${hex8(ok.x.confirmation)}`);
console.log(`Bob:   ${resultName(ok.y.result)}, key confirmation ${hex8(ok.y.confirmation)}`);
check(ok.x.result === LA.OK && ok.y.result === LA.OK, 'both sides accept');
check(lib.bytesEqual(ok.x.confirmation, ok.y.confirmation), 'both sides derived the same key');
console.log('both enclaves derived the same session key (equal confirmations; the key never left them)');

const note = 'Bob, the launch window opens at 06:00. - Alice';
const record = alice.send(note);
console.log(`Alice → Bob: ${record.length}-byte record (${note.length} bytes of text, ciphertext ${hex8(record.subarray(4))})`);
check(!new TextDecoder().decode(record).includes('launch'), 'the record does not carry the text in the clear');
const got = bob.receive(record);
console.log(`Bob reads: ${JSON.stringify(got.message)} (${resultName(got.result)})`);
check(got.result === LA.OK && got.message === note, 'Bob reads what Alice wrote');
const reply = bob.receive(record);
console.log(`the host replays the record: ${resultName(reply.result)}`);
check(reply.result === LA.BAD_MESSAGE, 'a replayed record is refused');
const answer = bob.send('Acknowledged. - Bob');
const tampered = answer.slice();
tampered[6]! ^= 0x20;
const t = alice.receive(tampered);
console.log(`the host flips a bit in Bob's answer: ${resultName(t.result)}`);
check(t.result === LA.BAD_MESSAGE, 'a modified record is refused');
const a = alice.receive(answer);
console.log(`Alice reads: ${JSON.stringify(a.message)} (${resultName(a.result)})`);
check(a.result === LA.OK && a.message === 'Acknowledged. - Bob', 'Alice reads what Bob wrote');

console.log('\n== the host in the middle');
const hostKey = crypto.ecdhP256Keypair();
const hostKeyHash = crypto.sha256(hostKey.publicKey);

console.log('1. it replaces REPORTDATA in Bob\'s REPORT with a hash of its own public key:');
const r1 = exchange(alice, bob, {
  yReport: (r) => {
    const f = r.slice();
    f.set(hostKeyHash, 320);
    return f;
  },
  yPublic: () => hostKey.publicKey,
});
console.log(`   Alice: ${resultName(r1.x.result)}`);
check(r1.x.result === -SGX_ERROR_MAC_MISMATCH, 'a modified REPORT fails its MAC');

console.log('2. it passes its own public key along with Bob\'s genuine REPORT:');
const r2 = exchange(alice, bob, { yPublic: () => hostKey.publicKey });
console.log(`   Alice: ${resultName(r2.x.result)}`);
check(r2.x.result === LA.KEY_NOT_BOUND, 'a public key the REPORT does not bind is refused');

console.log('3. it tells Alice to expect the wrong MRENCLAVE (Mallory\'s) for Bob:');
const r3 = exchange(alice, bob, { xExpects: mallory.mrenclave });
console.log(`   Alice: ${resultName(r3.x.result)}`);
check(r3.x.result === LA.WRONG_MRENCLAVE, 'a peer other than the expected enclave is refused');

console.log('4. Mallory, a genuine enclave on the same platform, answers in Bob\'s place:');
const r4 = exchange(alice, mallory, { xExpects: bob.mrenclave });
console.log(`   Alice: ${resultName(r4.x.result)}`);
check(r4.x.result === LA.WRONG_MRENCLAVE, 'a REPORT from another enclave is refused');

console.log('5. it gives Alice a REPORT that Bob made for Mallory:');
const forMallory = bob.begin(ti.get(mallory)!);
alice.begin(ti.get(bob)!);
const r5 = alice.finish(forMallory.report, forMallory.publicKey, bob.mrenclave);
console.log(`   Alice: ${resultName(r5.result)}`);
check(r5.result === -SGX_ERROR_MAC_MISMATCH, 'a REPORT addressed to another enclave does not verify');

console.log('6. the same exchange without interference still works:');
const again = exchange(alice, bob);
console.log(`   Alice: ${resultName(again.x.result)}, Bob: ${resultName(again.y.result)}, confirmations equal: ${lib.bytesEqual(again.x.confirmation, again.y.confirmation)}, new key: ${!lib.bytesEqual(again.x.confirmation, ok.x.confirmation)}`);
check(again.x.result === LA.OK && again.y.result === LA.OK && lib.bytesEqual(again.x.confirmation, again.y.confirmation), 'a clean exchange succeeds');
check(!lib.bytesEqual(again.x.confirmation, ok.x.confirmation), 'every session has a fresh key');

for (const p of [alice, bob, mallory]) p.enclave.destroy();
console.log('\nlocal-attestation: ok');
