/**
 * Sealing across identities, SVNs and restarts, with the identity fixture: the blob's layout against
 * the Intel SDK's sgx_sealed_data_t (and an independent AES-128-GCM decryption with node:crypto),
 * MRENCLAVE and MRSIGNER policies, another signer, ISVSVN and ISVPRODID, every single-bit change of
 * a blob, additional MAC text, and restarts of the platform with the same or another seed.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { sealData } from '../../src/sdk/enclave/services.js';
import type { EnclaveContext } from '../../src/arch/index.js';
import { u16le, u32le, u64le, toHex, isZero, defaultCrypto } from '../../src/lib/index.js';
import { KEYNAME, KEYPOLICY, REPORT, TARGETINFO } from '../../src/arch/index.js';
import { SEALED_HEADER_SIZE, SEALED_SIZE_OVERFLOW, SEAL_FLAGS_MASK, SEAL_MISC_MASK, SdkError, parseSealedData, sealedDataSize, type HostEnclave } from '../../src/sdk/index.js';
import { createPlatform, type Platform } from '../../src/platform/index.js';
import { newPlatform, loadFixture, testKey, STATUS, statusName } from '../helpers/sdk.js';

const MRENCLAVE = KEYPOLICY.MRENCLAVE, MRSIGNER = KEYPOLICY.MRSIGNER;
const enc = new TextEncoder();
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const TEXT = enc.encode('twenty bytes of text'); // 20: no single-bit change of its length gives 0
const AAD = enc.encode('mac text!!');
assert.equal(TEXT.length, 20);

function seal(e: HostEnclave, policy: number, text: Uint8Array = TEXT, aad: Uint8Array = AAD): Uint8Array {
  const blob = new Uint8Array(sealedDataSize(aad.length, text.length));
  const st = e.ecall('ecall_seal', [policy, aad, aad.length, text, text.length, blob, blob.length]) as number;
  assert.equal(st, STATUS.SUCCESS, `seal: ${statusName(st)}`);
  return blob;
}

interface Unsealed {
  readonly status: number;
  readonly text: Uint8Array;
  readonly aad: Uint8Array;
}
function unseal(e: HostEnclave, blob: Uint8Array): Unsealed {
  const text = new Uint8Array(256), aad = new Uint8Array(256), lengths = new Uint8Array(8);
  const status = e.ecall('ecall_unseal', [blob, blob.length, text, text.length, aad, aad.length, lengths]) as number;
  return { status, text: text.slice(0, u32le(lengths, 0)), aad: aad.slice(0, u32le(lengths, 4)) };
}
function assertUnseals(e: HostEnclave, blob: Uint8Array, text: Uint8Array = TEXT, aad: Uint8Array = AAD): void {
  const u = unseal(e, blob);
  assert.equal(u.status, STATUS.SUCCESS, statusName(u.status));
  assert.deepEqual(u.text, text);
  assert.deepEqual(u.aad, aad);
}
function assertRefused(e: HostEnclave, blob: Uint8Array, status: number, what = ''): void {
  const u = unseal(e, blob);
  assert.equal(u.status, status, `${what}: expected ${statusName(status)}, got ${statusName(u.status)}`);
}

const ISVPRODID = 3;
let p: Platform;
/** A1: ISVSVN 1; A2: the same enclave (same MRENCLAVE) at ISVSVN 2; B: another enclave (heap 512 KiB) of the same signer; C: A1's image signed by another signer; P: A1 with another ISVPRODID. */
let A1: HostEnclave, A2: HostEnclave, B: HostEnclave, C: HostEnclave, P: HostEnclave;

before(() => {
  p = newPlatform({ seed: SEED });
  A1 = loadFixture(p, 'identity', { config: { isvProdId: ISVPRODID, isvSvn: 1 } });
  A2 = loadFixture(p, 'identity', { config: { isvProdId: ISVPRODID, isvSvn: 2 } });
  B = loadFixture(p, 'identity', { config: { isvProdId: ISVPRODID, isvSvn: 1, heapSize: 512 << 10 } });
  C = loadFixture(p, 'identity', { config: { isvProdId: ISVPRODID, isvSvn: 1 }, key: testKey(1) });
  P = loadFixture(p, 'identity', { config: { isvProdId: ISVPRODID + 1, isvSvn: 1 } });
  assert.equal(A1.mrenclave, A2.mrenclave, 'ISVSVN is not part of MRENCLAVE');
  assert.equal(A1.mrenclave, C.mrenclave);
  assert.notEqual(A1.mrenclave, B.mrenclave);
});

describe('the blob (sgx_sealed_data_t)', () => {
  test('layout: KEYREQUEST at 0, plain_text_offset at 512, payload_size at 528, tag at 544, payload at 560', () => {
    const blob = seal(A1, MRSIGNER);
    assert.equal(blob.length, 560 + TEXT.length + AAD.length);
    assert.equal(SEALED_HEADER_SIZE, 560);
    // KEYREQUEST
    assert.equal(u16le(blob, 0), KEYNAME.SEAL_KEY);
    assert.equal(KEYNAME.SEAL_KEY, 4);
    assert.equal(u16le(blob, 2), MRSIGNER, 'KEYPOLICY');
    assert.equal(u16le(blob, 4), 1, 'ISVSVN: the enclave\'s own');
    assert.ok(isZero(blob, 6, 8), 'reserved');
    assert.equal(toHex(blob.subarray(8, 24)), toHex(p.processor.inspect.cpusvn), 'CPUSVN: the platform\'s');
    assert.equal(u64le(blob, 24), 0xff0000000000000bn, 'ATTRIBUTEMASK.FLAGS = TSEAL_DEFAULT_FLAGSMASK');
    assert.equal(SEAL_FLAGS_MASK, 0xff0000000000000bn);
    assert.equal(u64le(blob, 32), 0n, 'ATTRIBUTEMASK.XFRM');
    assert.ok(!isZero(blob, 40, 72), 'KEYID: random');
    assert.equal(u32le(blob, 72), 0xf0000000, 'MISCMASK = TSEAL_DEFAULT_MISCMASK');
    assert.equal(SEAL_MISC_MASK, 0xf0000000);
    assert.equal(u16le(blob, 76), 0, 'CONFIGSVN');
    assert.ok(isZero(blob, 78, 512), 'KEYREQUEST reserved');
    // sgx_sealed_data_t
    assert.equal(u32le(blob, 512), TEXT.length, 'plain_text_offset');
    assert.ok(isZero(blob, 516, 528), 'reserved');
    assert.equal(u32le(blob, 528), TEXT.length + AAD.length, 'aes_data.payload_size');
    assert.ok(isZero(blob, 532, 544), 'reserved');
    assert.notDeepEqual(blob.subarray(560, 580), TEXT, 'the text is encrypted');
    assert.deepEqual(blob.subarray(580), AAD, 'the additional MAC text follows in the clear');
    const parsed = parseSealedData(blob);
    assert.equal(parsed.textLength, TEXT.length);
    assert.equal(parsed.aadLength, AAD.length);
    assert.deepEqual(parsed.aad, AAD);
  });

  test('AES-128-GCM with a zero IV under the seal key, the MAC text as AAD (decrypted with node:crypto)', () => {
    const blob = seal(A1, MRENCLAVE);
    const key = new Uint8Array(16);
    assert.equal(A1.ecall('ecall_get_key', [blob.subarray(0, 512), key]), STATUS.SUCCESS);
    const d = createDecipheriv('aes-128-gcm', key, new Uint8Array(12));
    d.setAAD(blob.subarray(580));
    d.setAuthTag(blob.subarray(544, 560));
    const text = new Uint8Array(Buffer.concat([d.update(blob.subarray(560, 580)), d.final()]));
    assert.deepEqual(text, TEXT);
  });

  test('two seals of the same text differ (a fresh KEYID each time); both unseal', () => {
    const a = seal(A1, MRENCLAVE), b = seal(A1, MRENCLAVE);
    assert.notEqual(toHex(a.subarray(40, 72)), toHex(b.subarray(40, 72)));
    assert.notEqual(toHex(a.subarray(560)), toHex(b.subarray(560)));
    assertUnseals(A1, a);
    assertUnseals(A1, b);
  });

  test('additional MAC text round-trips, empty or not; an empty text is refused', () => {
    assertUnseals(A1, seal(A1, MRSIGNER, TEXT, new Uint8Array(0)), TEXT, new Uint8Array(0));
    const big = Uint8Array.from({ length: 200 }, (_, i) => i);
    assertUnseals(A1, seal(A1, MRSIGNER, TEXT, big), TEXT, big);
    const blob = new Uint8Array(sealedDataSize(4, 0));
    assert.equal(A1.ecall('ecall_seal', [MRSIGNER, AAD, 4, new Uint8Array(0), 0, blob, blob.length]), STATUS.INVALID_PARAMETER);
  });

  test('a policy with neither MRENCLAVE nor MRSIGNER, or with reserved bits, and a wrong blob size are refused', () => {
    const blob = new Uint8Array(sealedDataSize(AAD.length, TEXT.length));
    for (const policy of [0, KEYPOLICY.NOISVPRODID, 0x100 | MRSIGNER, 0x8000 | MRENCLAVE]) {
      assert.equal(A1.ecall('ecall_seal', [policy, AAD, AAD.length, TEXT, TEXT.length, blob, blob.length]), STATUS.INVALID_PARAMETER, `policy 0x${policy.toString(16)}`);
    }
    assert.equal(A1.ecall('ecall_seal', [MRSIGNER, AAD, AAD.length, TEXT, TEXT.length, blob, blob.length - 1]), STATUS.INVALID_PARAMETER);
  });
});

describe('sgx_self_report (the enclave\'s own REPORT, made once per enclave instance, as Intel\'s SDK keeps it)', () => {
  test('an instance\'s first seal (or first unseal) makes it (EREPORT: two CMACs); later seals, unseals and sgx_get_key only derive their key (EGETKEY: one), sgx_verify_report its report key; sgx_create_report still makes its own each time; another instance makes its own', () => {
    let cmacs = 0;
    const base = defaultCrypto();
    const counting = { ...base, aesCmac128: (k: Uint8Array, m: Uint8Array) => {
      cmacs++;
      return base.aesCmac128(k, m);
    } };
    const cp = newPlatform({ seed: SEED, crypto: counting });
    const count = (f: () => void): number => {
      const before = cmacs;
      f();
      return cmacs - before;
    };
    const e1 = loadFixture(cp, 'identity', { config: { isvProdId: ISVPRODID, isvSvn: 1 } });
    let blob: Uint8Array = new Uint8Array(0);
    assert.equal(count(() => void (blob = seal(e1, MRENCLAVE))), 3, 'the first seal: EREPORT (report key, MAC) and EGETKEY');
    assert.equal(count(() => void seal(e1, MRENCLAVE)), 1, 'the second: EGETKEY only');
    assert.equal(count(() => assertUnseals(e1, blob)), 1);
    const key = new Uint8Array(16);
    assert.equal(count(() => assert.equal(e1.ecall('ecall_get_key', [blob.subarray(0, 512), key]), STATUS.SUCCESS)), 1);
    const self = new Uint8Array(432), report = new Uint8Array(432);
    assert.equal(count(() => assert.equal(e1.ecall('ecall_report', [null, null, self]), STATUS.SUCCESS)), 2, 'sgx_create_report: an EREPORT of its own');
    const r = REPORT.decode(self);
    const ti = TARGETINFO.encode({ MEASUREMENT: r.MRENCLAVE, ATTRIBUTES: r.ATTRIBUTES, MISCSELECT: r.MISCSELECT, CONFIGSVN: r.CONFIGSVN, CONFIGID: r.CONFIGID });
    assert.equal(count(() => assert.equal(e1.ecall('ecall_report', [ti, null, report]), STATUS.SUCCESS)), 2, 'and again');
    assert.equal(count(() => assert.equal(e1.ecall('ecall_verify', [report]), STATUS.SUCCESS)), 2, 'sgx_verify_report: EGETKEY of the report key, then its CMAC');
    // The same image loaded again: an instance of its own, which makes its own self report. Its
    // keys are the same enclave's (it unseals the first instance's blob).
    const e2 = loadFixture(cp, 'identity', { config: { isvProdId: ISVPRODID, isvSvn: 1 } });
    assert.equal(count(() => assertUnseals(e2, blob)), 3, 'the other instance\'s first unseal: its own EREPORT, then EGETKEY');
    assert.equal(count(() => assertUnseals(e2, blob)), 1);
    e1.destroy();
    e2.destroy();
  });
});

describe('policies and identities', () => {
  test('MRENCLAVE policy: the same enclave unseals; another enclave of the same signer cannot (MAC_MISMATCH)', () => {
    const blob = seal(A1, MRENCLAVE);
    assertUnseals(A1, blob);
    assertRefused(B, blob, STATUS.MAC_MISMATCH, 'B');
    assertRefused(P, blob, STATUS.MAC_MISMATCH, 'another ISVPRODID');
  });

  test('MRENCLAVE policy: the seal key does not depend on the signer (SDM EGETKEY), so the same MRENCLAVE under another signer unseals', () => {
    assertUnseals(C, seal(A1, MRENCLAVE));
  });

  test('MRSIGNER policy: another enclave of the same signer unseals; another signer cannot (MAC_MISMATCH 0x3001)', () => {
    const blob = seal(A1, MRSIGNER);
    assertUnseals(B, blob);
    assertRefused(C, blob, STATUS.MAC_MISMATCH, 'C');
    assert.equal(STATUS.MAC_MISMATCH, 0x3001);
    assertUnseals(A1, seal(B, MRSIGNER));
    assertRefused(A1, seal(C, MRSIGNER), STATUS.MAC_MISMATCH, 'C → A1');
  });

  test('MRSIGNER policy: another ISVPRODID of the same signer cannot', () => {
    assertRefused(P, seal(A1, MRSIGNER), STATUS.MAC_MISMATCH, 'P');
  });

  test('ISVSVN: 2 unseals what 1 sealed; 1 cannot unseal what 2 sealed (INVALID_ISVSVN 0x3004)', () => {
    for (const policy of [MRENCLAVE, MRSIGNER]) {
      assertUnseals(A2, seal(A1, policy));
      const blob = seal(A2, policy);
      assert.equal(u16le(blob, 4), 2);
      assertRefused(A1, blob, STATUS.INVALID_ISVSVN, `policy ${policy}`);
      assertUnseals(A2, blob);
      // Lowering the request's ISVSVN gives another key.
      const lowered = blob.slice();
      lowered[4] = 1;
      assertRefused(A1, lowered, STATUS.MAC_MISMATCH, 'lowered ISVSVN');
    }
    assert.equal(STATUS.INVALID_ISVSVN, 0x3004);
  });
});

describe('a modified blob', () => {
  test('every byte, one bit flipped: the failure the Intel format implies', () => {
    const blob = seal(A1, MRENCLAVE);
    const cpusvn = p.processor.inspect.cpusvn;
    const expected = (i: number, flipped: Uint8Array): number => {
      if (i >= 4 && i < 6) return u16le(flipped, 4) > 1 ? STATUS.INVALID_ISVSVN : STATUS.MAC_MISMATCH;
      if (i >= 8 && i < 24) return flipped[i]! > cpusvn[i - 8]! ? STATUS.INVALID_CPUSVN : STATUS.MAC_MISMATCH;
      if ((i >= 516 && i < 528) || (i >= 532 && i < 544)) return STATUS.SUCCESS; // reserved: not authenticated (as in the Intel SDK)
      return STATUS.MAC_MISMATCH; // key request fields and reserved bytes, lengths, tag, ciphertext, MAC text
    };
    const wrong: string[] = [];
    for (let i = 0; i < blob.length; i++) {
      const b = blob.slice();
      b[i] ^= 1 << (i % 8);
      const want = expected(i, b);
      const got = unseal(A1, b);
      if (got.status !== want) wrong.push(`byte ${i}: ${statusName(got.status)}, expected ${statusName(want)}`);
      else if (want === STATUS.SUCCESS) assert.deepEqual(got.text, TEXT);
    }
    assert.deepEqual(wrong, []);
    assertUnseals(A1, blob);
  });

  test('truncated or extended blobs', () => {
    const blob = seal(A1, MRENCLAVE);
    assertRefused(A1, blob.subarray(0, blob.length - 1), STATUS.MAC_MISMATCH, 'one byte short');
    const longer = new Uint8Array(blob.length + 1);
    longer.set(blob);
    assertRefused(A1, longer, STATUS.MAC_MISMATCH, 'one byte more');
    assertRefused(A1, blob.subarray(0, 559), STATUS.INVALID_PARAMETER, 'shorter than the header');
    const noText = blob.slice();
    noText[512] = 0;
    noText[528] = AAD.length;
    assertRefused(A1, noText.subarray(0, 560 + AAD.length), STATUS.INVALID_PARAMETER, 'no text');
  });
});

/** ecall_unseal_probe: sgx_unseal_data into 0xAA-filled enclave buffers; flags 1: NULL MAC-text buffer, 2: NULL MAC-text length. */
function unsealProbe(e: HostEnclave, blob: Uint8Array, textCap: number, aadCap: number, flags = 0): { status: number; text: Uint8Array; aad: Uint8Array; atNull: Uint8Array; lengths: [number, number] } {
  const probe = new Uint8Array(48), lengths = new Uint8Array(8);
  const status = e.ecall('ecall_unseal_probe', [blob, blob.length, textCap, aadCap, flags, probe, lengths]) as number;
  return { status, text: probe.slice(0, 16), aad: probe.slice(16, 32), atNull: probe.slice(32, 48), lengths: [u32le(lengths, 0), u32le(lengths, 4)] };
}
const AA16 = new Uint8Array(16).fill(0xaa);

describe('sgx_unseal_data\'s parameters (sdk/tseal/tSeal.cpp: every buffer checked against the header\'s lengths before any key is derived)', () => {
  test('MAC text in the blob but a NULL buffer or a NULL length for it: INVALID_PARAMETER, and nothing written at NULL or anywhere', () => {
    const blob = seal(A1, MRENCLAVE);
    for (const flags of [1, 2, 3]) {
      const r = unsealProbe(A1, blob, 256, 256, flags);
      assert.equal(r.status, STATUS.INVALID_PARAMETER, `flags ${flags}: ${statusName(r.status)}`);
      assert.deepEqual(r.atNull, new Uint8Array(16), 'nothing at address 0');
      assert.deepEqual(r.text, AA16, 'the text buffer untouched');
      assert.deepEqual(r.lengths, [256, 256], 'the lengths untouched');
    }
  });

  test('no MAC text in the blob: NULL for its buffer and its length is fine', () => {
    const blob = seal(A1, MRENCLAVE, TEXT, new Uint8Array(0));
    const r = unsealProbe(A1, blob, 256, 0, 3);
    assert.equal(r.status, STATUS.SUCCESS, statusName(r.status));
    assert.deepEqual(r.text, TEXT.subarray(0, 16));
    assert.equal(r.lengths[0], TEXT.length);
  });

  test('a text or MAC-text buffer shorter than the blob says: INVALID_PARAMETER even for a blob that would fail later (higher ISVSVN, tampered)', () => {
    const good = seal(A1, MRENCLAVE), newer = seal(A2, MRENCLAVE), tampered = good.slice();
    tampered[560] ^= 1;
    for (const [what, blob, later] of [['good', good, STATUS.SUCCESS], ['ISVSVN 2', newer, STATUS.INVALID_ISVSVN], ['tampered', tampered, STATUS.MAC_MISMATCH]] as const) {
      assert.equal(unsealProbe(A1, blob, 256, 256).status, later, `${what}: with room`);
      for (const [textCap, aadCap] of [[TEXT.length - 1, 256], [256, AAD.length - 1], [0, 0]]) {
        const r = unsealProbe(A1, blob, textCap, aadCap);
        assert.equal(r.status, STATUS.INVALID_PARAMETER, `${what}, capacities ${textCap}/${aadCap}: ${statusName(r.status)}`);
        assert.deepEqual(r.text, AA16, 'nothing written');
      }
    }
    const exact = unsealProbe(A1, good, TEXT.length, AAD.length);
    assert.equal(exact.status, STATUS.SUCCESS, 'buffers of exactly the lengths');
    assert.deepEqual(exact.lengths, [TEXT.length, AAD.length]);
  });

  test('an unseal that fails after its checks leaves both buffers zeroed up to the blob\'s lengths (sgx_unseal_data_helper), not their old contents', () => {
    const tampered = seal(A1, MRENCLAVE);
    tampered[560] ^= 1;
    const newer = seal(A2, MRENCLAVE);
    for (const [blob, status] of [[tampered, STATUS.MAC_MISMATCH], [newer, STATUS.INVALID_ISVSVN]] as const) {
      const r = unsealProbe(A1, blob, 256, 256);
      assert.equal(r.status, status);
      assert.deepEqual(r.text, new Uint8Array(16), 'the text\'s 20 bytes zeroed');
      assert.deepEqual(r.aad, Uint8Array.from([...new Uint8Array(AAD.length), ...new Uint8Array(16 - AAD.length).fill(0xaa)]), 'the MAC text\'s 10 bytes zeroed, the rest untouched');
      assert.deepEqual(r.lengths, [256, 256], 'the lengths are written only on success');
    }
    const ok = unsealProbe(A1, seal(A1, MRENCLAVE), 256, 256);
    assert.equal(ok.status, STATUS.SUCCESS);
    assert.deepEqual(ok.text, TEXT.subarray(0, 16));
    assert.deepEqual(ok.aad, Uint8Array.from([...AAD, ...new Uint8Array(16 - AAD.length).fill(0xaa)]));
    assert.deepEqual(ok.lengths, [TEXT.length, AAD.length]);
  });
});

describe('sgx_seal_data_ex and sgx_get_key failures', () => {
  test('a KSS policy bit on an enclave without KSS: the seal fails with UNEXPECTED (sgx_seal_data_iv maps every key failure but OUT_OF_MEMORY to it); sgx_get_key says INVALID_PARAMETER', () => {
    const blob = new Uint8Array(sealedDataSize(AAD.length, TEXT.length));
    for (const bit of [KEYPOLICY.CONFIGID, KEYPOLICY.ISVFAMILYID, KEYPOLICY.ISVEXTPRODID]) {
      const st = A1.ecall('ecall_seal', [MRSIGNER | bit, AAD, AAD.length, TEXT, TEXT.length, blob, blob.length]) as number;
      assert.equal(st, STATUS.UNEXPECTED, `policy 0x${(MRSIGNER | bit).toString(16)}: ${statusName(st)}`);
    }
    const req = seal(A1, MRSIGNER).slice(0, 512);
    req[2] |= KEYPOLICY.CONFIGID;
    assert.equal(A1.ecall('ecall_get_key', [req, new Uint8Array(16)]), STATUS.INVALID_PARAMETER);
  });

  test('sgx_get_key: every failure leaves random bytes in the key buffer, never a key (a NULL request included)', () => {
    const good = seal(A1, MRSIGNER).slice(0, 512);
    const key = new Uint8Array(16);
    assert.equal(A1.ecall('ecall_get_key', [good, key]), STATUS.SUCCESS);
    const bad = good.slice();
    bad[100] = 1; // a reserved byte
    const outs: string[] = [];
    for (const req of [bad, null, bad]) {
      const out = new Uint8Array(16);
      assert.equal(A1.ecall('ecall_get_key', [req, out]), STATUS.INVALID_PARAMETER);
      assert.ok(!isZero(out, 0, 16), 'random bytes, not the zeros the [out] buffer arrived with');
      assert.notDeepEqual(out, key);
      outs.push(toHex(out));
    }
    assert.equal(new Set(outs).size, 3, 'fresh random bytes each time');
  });
});

describe('sgx_calc_sealed_data_size', () => {
  test('header + MAC text + text; UINT32_MAX when that overflows 32 bits; a length that is no uint32 is a typed error', () => {
    assert.equal(sealedDataSize(0, 1), 561);
    assert.equal(sealedDataSize(10, 20), 590);
    assert.equal(sealedDataSize(0, 0xffffffff - 561), 0xfffffffe);
    assert.equal(sealedDataSize(0, 0xffffffff - 560), SEALED_SIZE_OVERFLOW);
    assert.equal(sealedDataSize(0xffffffff, 1), SEALED_SIZE_OVERFLOW);
    assert.equal(SEALED_SIZE_OVERFLOW, 0xffffffff);
    for (const [a, t] of [[-1, 1], [1.5, 2], [0, 2 ** 32], [Number.NaN, 1]]) {
      assert.throws(() => sealedDataSize(a!, t!), (e: unknown) => e instanceof SdkError && e.code === 'BAD_LENGTH', `${a}, ${t}`);
    }
  });
});

describe('restarts', () => {
  test('the same seed (a new platform, or a saved one restored) unseals; another seed does not', () => {
    const byEnclave = seal(A1, MRENCLAVE), bySigner = seal(A1, MRSIGNER);
    const saved = p.save();
    const again = createPlatform({ seed: SEED, epcSize: 16 << 20 });
    const restored = createPlatform({ saved, epcSize: 16 << 20 });
    const other = createPlatform({ seed: SEED.map((x) => x ^ 0xff), epcSize: 16 << 20 });
    for (const [q, ok] of [[again, true], [restored, true], [other, false]] as const) {
      const e = loadFixture(q, 'identity', { config: { isvProdId: ISVPRODID, isvSvn: 1 } });
      try {
        for (const blob of [byEnclave, bySigner]) {
          if (ok) assertUnseals(e, blob);
          else assertRefused(e, blob, STATUS.MAC_MISMATCH, 'another seed');
        }
      } finally {
        e.destroy();
      }
    }
  });
});

describe('sealData (the trusted runtime\'s sgx_seal_data)', () => {
  test('an output blob that overlaps the text or the AAD is INVALID_PARAMETER, refused before any key is derived', () => {
    const heap = new Uint8Array(4096);
    const noCtx = new Proxy({}, { get: () => { throw new Error('the enclave context must not be used'); } }) as unknown as EnclaveContext;
    const text = heap.subarray(1000, 1100), aad = heap.subarray(0, 8);
    const size = sealedDataSize(aad.length, text.length);
    assert.equal(sealData(noCtx, defaultCrypto(), KEYPOLICY.MRSIGNER, aad, text, heap.subarray(600, 600 + size)), STATUS.INVALID_PARAMETER, 'over the text');
    assert.equal(sealData(noCtx, defaultCrypto(), KEYPOLICY.MRSIGNER, heap.subarray(2000 + size - 4, 2000 + size + 4), text, heap.subarray(2000, 2000 + size)), STATUS.INVALID_PARAMETER, 'over the AAD');
  });

  test('an output blob of the wrong size is INVALID_PARAMETER (not a RangeError), refused before any key is derived', () => {
    const noCtx = new Proxy({}, { get: () => { throw new Error('the enclave context must not be used'); } }) as unknown as EnclaveContext;
    const size = sealedDataSize(AAD.length, TEXT.length);
    for (const n of [0, SEALED_HEADER_SIZE, size - 1, size + 1]) {
      assert.equal(sealData(noCtx, defaultCrypto(), KEYPOLICY.MRSIGNER, AAD, TEXT, new Uint8Array(n)), STATUS.INVALID_PARAMETER, `${n} bytes`);
    }
  });

  test('through the enclave: a blob length that is not the sealed size is INVALID_PARAMETER, and nothing is written into the blob', () => {
    for (const n of [sealedDataSize(AAD.length, TEXT.length) - 1, sealedDataSize(AAD.length, TEXT.length) + 16]) {
      const blob = new Uint8Array(n).fill(0x77);
      assert.equal(A1.ecall('ecall_seal', [MRENCLAVE, AAD, AAD.length, TEXT, TEXT.length, blob, blob.length]), STATUS.INVALID_PARAMETER);
      assert.ok(blob.every((x) => x === 0), 'the [out] blob comes back as the enclave got it: zeroed');
    }
  });
});
