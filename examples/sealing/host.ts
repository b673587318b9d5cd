/**
 * The sealing example's host program. One enclave module, several enclaves built and signed from it:
 *
 *   E1      heap 1 MiB, signer A, ISVSVN 1   (the enclave that seals)
 *   E2      heap 512 KiB, signer A, ISVSVN 1 (same code, different MRENCLAVE, same MRSIGNER)
 *   E1'     heap 1 MiB, signer B, ISVSVN 1   (same MRENCLAVE as E1, different MRSIGNER)
 *   E1v2    heap 1 MiB, signer A, ISVSVN 2   (same MRENCLAVE as E1: ISVSVN is in the SIGSTRUCT)
 *
 * It seals with the MRENCLAVE and the MRSIGNER key policies, and shows who can unseal what, what
 * tampering does, and that sealed data outlives a restart of the same platform but not a move to
 * another one. Exits non-zero if anything turns out differently.
 * Run: node dist/examples/sealing/host.js
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { createPlatform, buildImage, resolveEdl, signSigstruct, sigstructFieldsFor, generateSigningKey, loadEnclave, statusName, STATUS, lib, sdk, type HostEnclave, type Platform } from 'witness';

const here = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/sealing');
const crypto = lib.defaultCrypto();
const module = new Uint8Array(readFileSync(join(here, 'enclave.wasm')));
const edl = resolveEdl(join(here, 'sealing.edl'));

const MRENCLAVE_POLICY = 0x0001;
const MRSIGNER_POLICY = 0x0002;

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

/** An image for this module with a heap size, signed by `key` with an ISVSVN. */
function signedImage(heapSize: number, key: { privateKeyPem: string }, isvSvn: number): { image: sdk.EnclaveImage; sigstruct: Uint8Array; mrenclave: string } {
  const built = buildImage({ module, interface: edl, config: { isvProdId: 3, isvSvn, heapSize } });
  const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), key.privateKeyPem, crypto);
  return { image: built.image, sigstruct, mrenclave: lib.toHex(built.mrenclave) };
}

type Unsealed = { ok: true; text: string; aad: string } | { ok: false; status: number };

class SealingEnclave {
  readonly enclave: HostEnclave;
  constructor(readonly name: string, platform: Platform, signed: { image: sdk.EnclaveImage; sigstruct: Uint8Array }) {
    this.enclave = loadEnclave(platform, signed.image, {
      sigstruct: signed.sigstruct,
      ocalls: { ocall_print: (message) => console.log(`    [${name}] ${String(message)}`) },
    });
  }

  identity(): { mrenclave: string; mrsigner: string; isvSvn: number } {
    const report = new Uint8Array(432);
    const st = this.enclave.ecall('ecall_identity', [report]) as number;
    check(st === 0, `${this.name}: ecall_identity: ${statusName(-st)}`);
    return { mrenclave: lib.toHex(report.subarray(64, 96)), mrsigner: lib.toHex(report.subarray(128, 160)), isvSvn: report[258]! | (report[259]! << 8) };
  }

  seal(policy: number, text: string, aad: string | null): Uint8Array {
    const t = new TextEncoder().encode(text);
    const a = aad === null ? null : new TextEncoder().encode(aad);
    const size = this.enclave.ecall('ecall_sealed_size', [a?.length ?? 0, t.length]) as number;
    const blob = new Uint8Array(size);
    const n = this.enclave.ecall('ecall_seal', [policy, a, a?.length ?? 0, t, t.length, blob, blob.length]) as number;
    check(n === size, `${this.name}: ecall_seal returned ${n < 0 ? statusName(-n) : n}`);
    return blob;
  }

  unseal(blob: Uint8Array): Unsealed {
    const text = new Uint8Array(256), aad = new Uint8Array(256), lengths = new Uint8Array(8);
    const st = this.enclave.ecall('ecall_unseal', [blob, blob.length, text, text.length, aad, aad.length, lengths]) as number;
    if (st !== 0) return { ok: false, status: -st };
    const dv = new DataView(lengths.buffer);
    const dec = new TextDecoder();
    return { ok: true, text: dec.decode(text.subarray(0, dv.getUint32(0, true))), aad: dec.decode(aad.subarray(0, dv.getUint32(4, true))) };
  }

  destroy(): void {
    this.enclave.destroy();
  }
}

function show(r: Unsealed): string {
  return r.ok ? `ok, text ${JSON.stringify(r.text)}${r.aad ? `, aad ${JSON.stringify(r.aad)}` : ''}` : `refused: ${statusName(r.status)}`;
}
function expectOk(label: string, r: Unsealed, text: string, aad = ''): void {
  console.log(`${label}: ${show(r)}`);
  check(r.ok && r.text === text && r.aad === aad, `${label}: expected the text back`);
}
function expectRefused(label: string, r: Unsealed, status: number): void {
  console.log(`${label}: ${show(r)}`);
  check(!r.ok && r.status === status, `${label}: expected ${statusName(status)}`);
}
function describeBlob(name: string, blob: Uint8Array): void {
  const { header, textLength, aadLength } = sdk.parseSealedData(blob);
  const kr = header.key_request;
  console.log(`  ${name}: ${blob.length} bytes (KEYPOLICY 0x${kr.KEYPOLICY.toString(16).padStart(4, '0')}, ISVSVN ${kr.ISVSVN}, text ${textLength} bytes encrypted, aad ${aadLength} bytes in the clear)`);
}

const signerA = generateSigningKey(crypto);
const signerB = generateSigningKey(crypto);
const e1Image = signedImage(1 << 20, signerA, 1);
const e2Image = signedImage(512 << 10, signerA, 1);
const e1bImage = signedImage(1 << 20, signerB, 1);
const e1v2Image = signedImage(1 << 20, signerA, 2);

const seed = createHash('sha256').update('witness sealing example: platform 1').digest();
const SECRET = 'the vault code is 4-8-15-16-23-42';
const NOTE = 'owner=alice; record=7';

/**
 * The first boot of platform 1: seal, then (a)–(c). Returns what outlives it: the sealed blobs
 * (as a file would keep them) and the saved machine; the platform and its enclaves end here.
 */
function firstBoot(): { byEnclave: Uint8Array; bySigner: Uint8Array; saved: ReturnType<Platform['save']> } {
  console.log('== platform 1 (fixed seed)');
  const platform = createPlatform({ seed });
  const e1 = new SealingEnclave('E1', platform, e1Image);
  const id1 = e1.identity();
  console.log(`E1: MRENCLAVE ${id1.mrenclave.slice(0, 16)}…, MRSIGNER ${id1.mrsigner.slice(0, 16)}…, ISVSVN ${id1.isvSvn}`);
  const byEnclave = e1.seal(MRENCLAVE_POLICY, SECRET, null);
  const bySigner = e1.seal(MRSIGNER_POLICY, SECRET, NOTE);
  console.log('E1 sealed the secret twice:');
  describeBlob('MRENCLAVE blob', byEnclave);
  describeBlob('MRSIGNER blob ', bySigner);
  check(sdk.parseSealedData(bySigner).aad.length === NOTE.length, 'the AAD travels in the clear');
  expectOk('E1 unseals the MRENCLAVE blob', e1.unseal(byEnclave), SECRET);
  expectOk('E1 unseals the MRSIGNER blob', e1.unseal(bySigner), SECRET, NOTE);

  console.log('\n== (a) another enclave of the same signer');
  const e2 = new SealingEnclave('E2', platform, e2Image);
  const id2 = e2.identity();
  console.log(`E2: MRENCLAVE ${id2.mrenclave.slice(0, 16)}… (heap 512 KiB), MRSIGNER ${id2.mrsigner.slice(0, 16)}…`);
  check(id2.mrenclave !== id1.mrenclave && id2.mrsigner === id1.mrsigner, 'E2 differs from E1 in MRENCLAVE only');
  expectOk('E2 unseals the MRSIGNER blob', e2.unseal(bySigner), SECRET, NOTE);
  expectRefused('E2 unseals the MRENCLAVE blob', e2.unseal(byEnclave), STATUS.MAC_MISMATCH);
  const e1b = new SealingEnclave("E1'", platform, e1bImage);
  const id1b = e1b.identity();
  console.log(`E1': MRENCLAVE ${id1b.mrenclave.slice(0, 16)}… (same code and heap as E1), MRSIGNER ${id1b.mrsigner.slice(0, 16)}… (signer B)`);
  check(id1b.mrenclave === id1.mrenclave && id1b.mrsigner !== id1.mrsigner, "E1' differs from E1 in MRSIGNER only");
  expectRefused("E1' unseals the MRSIGNER blob", e1b.unseal(bySigner), STATUS.MAC_MISMATCH);
  expectOk("E1' unseals the MRENCLAVE blob", e1b.unseal(byEnclave), SECRET);
  e2.destroy();
  e1b.destroy();

  console.log('\n== (b) security version numbers');
  const e1v2 = new SealingEnclave('E1v2', platform, e1v2Image);
  const idv2 = e1v2.identity();
  console.log(`E1v2: MRENCLAVE ${idv2.mrenclave.slice(0, 16)}… (same as E1), ISVSVN ${idv2.isvSvn}`);
  check(idv2.mrenclave === id1.mrenclave && idv2.isvSvn === 2, 'E1v2 is E1 re-signed with ISVSVN 2');
  expectOk('E1v2 (ISVSVN 2) unseals the MRSIGNER blob sealed at ISVSVN 1', e1v2.unseal(bySigner), SECRET, NOTE);
  expectOk('E1v2 (ISVSVN 2) unseals the MRENCLAVE blob sealed at ISVSVN 1', e1v2.unseal(byEnclave), SECRET);
  const atSvn2 = e1v2.seal(MRSIGNER_POLICY, 'patched secret', 'svn=2');
  describeBlob('E1v2 MRSIGNER blob', atSvn2);
  expectRefused('E1 (ISVSVN 1) unseals a blob sealed at ISVSVN 2', e1.unseal(atSvn2), STATUS.INVALID_ISVSVN);
  e1v2.destroy();

  console.log('\n== (c) tampering');
  const flip = (blob: Uint8Array, at: number): Uint8Array => {
    const b = blob.slice();
    b[at]! ^= 0x01;
    return b;
  };
  const textAt = sdk.SEALED_HEADER_SIZE, aadAt = sdk.SEALED_HEADER_SIZE + SECRET.length;
  expectRefused('a ciphertext bit flipped', e1.unseal(flip(bySigner, textAt + 3)), STATUS.MAC_MISMATCH);
  expectRefused('an AAD bit flipped (owner=alice → owner=`lice)', e1.unseal(flip(bySigner, aadAt + 6)), STATUS.MAC_MISMATCH);
  expectRefused('a tag bit flipped', e1.unseal(flip(bySigner, 544)), STATUS.MAC_MISMATCH);
  expectRefused('a KEYID bit flipped (another key)', e1.unseal(flip(byEnclave, 40)), STATUS.MAC_MISMATCH);
  expectRefused('a blob cut short by one byte', e1.unseal(bySigner.subarray(0, bySigner.length - 1)), STATUS.MAC_MISMATCH);
  expectOk('the untouched blob still unseals', e1.unseal(bySigner), SECRET, NOTE);
  const saved = platform.save();
  e1.destroy();
  return { byEnclave, bySigner, saved };
}

const { byEnclave, bySigner, saved } = firstBoot();
console.log('\n== (d) restart');
const afterRestart = (label: string, p: Platform, expectOpen: boolean): void => {
  const e = new SealingEnclave('E1', p, e1Image);
  try {
    if (expectOpen) {
      expectOk(`${label}: MRENCLAVE blob`, e.unseal(byEnclave), SECRET);
      expectOk(`${label}: MRSIGNER blob`, e.unseal(bySigner), SECRET, NOTE);
    } else {
      expectRefused(`${label}: MRENCLAVE blob`, e.unseal(byEnclave), STATUS.MAC_MISMATCH);
      expectRefused(`${label}: MRSIGNER blob`, e.unseal(bySigner), STATUS.MAC_MISMATCH);
    }
  } finally {
    e.destroy();
  }
};
afterRestart('new platform, same seed', createPlatform({ seed }), true);
afterRestart('platform restored from save()', createPlatform({ saved }), true);
afterRestart('new platform, another seed', createPlatform({ seed: createHash('sha256').update('witness sealing example: platform 2').digest() }), false);
afterRestart('new platform, random seed', createPlatform(), false);

console.log('\nsealing: ok');
