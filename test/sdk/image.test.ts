/**
 * Images, measurement and signing: buildImage is deterministic; the MRENCLAVE an image states is
 * the SHA-256 of its SGXS stream (recomputed here with node:crypto and with the processor model's
 * measureSgxs) and what EINIT measures; the signer reproduces the shared SIGSTRUCT vector byte for
 * byte; two-step signing (the signing data signed with node:crypto, then assembled) equals
 * one-step signing; decodeImage rejects every malformed container.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { defaultCrypto, fromHex, toHex, writeU32le, writeU64le, u32le } from '../../src/lib/index.js';
import { measureSgxs, parseSgxs, verifySigstructSignature, SIGSTRUCT, type SgxsRecord } from '../../src/arch/index.js';
import {
  buildImage, encodeImage, decodeImage, resolveEnclaveConfig, withSigstruct, signSigstruct, sigstructSigningData, assembleSigstruct, unsignedSigstruct, loadEnclave, sigstructFieldsFor, measureImage, EnclaveLoadError, IMAGE_MAGIC,
  SdkError, type SigstructFields, type EnclaveImage,
} from '../../src/sdk/index.js';
import { newPlatform, fixtureModule, fixtureInterface, buildFixture, sigFieldsFor, signFixture, isSdkError, testKey } from '../helpers/sdk.js';
import { NO_VECTORS, HAVE_VECTORS, VEC, vector, vectorText } from '../helpers/vectors.js';

const crypto = defaultCrypto();

describe('buildImage', () => {
  test('is deterministic: the same inputs give the same MRENCLAVE and identical image bytes', () => {
    const a = buildImage({ module: fixtureModule('crash'), interface: fixtureInterface('crash'), config: { isvProdId: 5, heapSize: 512 << 10 } });
    const b = buildImage({ module: fixtureModule('crash').slice(), interface: fixtureInterface('crash'), config: { heapSize: 512 << 10, isvProdId: 5 } });
    assert.equal(toHex(a.mrenclave), toHex(b.mrenclave));
    assert.equal(toHex(crypto.sha256(encodeImage(a.image))), toHex(crypto.sha256(encodeImage(b.image))));
    assert.deepEqual(encodeImage(a.image), encodeImage(b.image));
  });

  test('what is measured changes MRENCLAVE (module, heap, threads, SSA frames, debug); what is signed does not (ISVSVN, ISVPRODID)', () => {
    const base = buildFixture('crash').mrenclave;
    const m = (config: Parameters<typeof buildFixture>[1], module = 'crash') => toHex(buildFixture(module, config).mrenclave);
    for (const c of [{ heapSize: 512 << 10 }, { tcsCount: 3 }, { ssaFrames: 3 }]) assert.notEqual(m(c), toHex(base), JSON.stringify(c));
    assert.notEqual(m({}, 'calls'), toHex(base));
    assert.equal(m({ isvSvn: 9, isvProdId: 9 }), toHex(base));
    assert.equal(m({ debug: true }), toHex(base), 'DEBUG is an attribute (SECS, SIGSTRUCT), not part of the measurement');
  });

  test('the MRENCLAVE is SHA-256 of the SGXS stream (node:crypto), measureSgxs of it, the manifest\'s, and what EINIT measured', () => {
    const b = buildFixture('crash');
    const records: SgxsRecord[] = parseSgxs(b.image.sgxs);
    assert.ok(records.every((r) => r.kind !== 'UNMEASURED'), 'no unmeasured records: the stream is exactly what is hashed');
    const independent = createHash('sha256').update(b.image.sgxs).digest('hex');
    assert.equal(toHex(b.mrenclave), independent);
    assert.equal(toHex(measureSgxs(b.image.sgxs, crypto).mrenclave), independent);
    assert.equal(b.image.manifest.mrenclave, independent);
    const p = newPlatform();
    const e = loadEnclave(p, b.image, { sigstruct: signFixture(b) });
    const info = p.processor.inspect.enclaves().find((x) => x.baseAddr === e.base);
    assert.ok(info?.mrenclave);
    assert.equal(toHex(info.mrenclave), independent);
    e.destroy();
  });

  test('the SGXS: ECREATE of the manifest\'s size, then page-aligned EADDs; heap pages added unmeasured, everything else measured in full', () => {
    const b = buildFixture('crash');
    const records = parseSgxs(b.image.sgxs);
    const first = records[0]!;
    assert.equal(first.kind, 'ECREATE');
    assert.equal(first.kind === 'ECREATE' ? first.size : -1, b.image.manifest.layout.size);
    const { heap } = b.image.manifest.layout;
    const eadds = records.filter((r) => r.kind === 'EADD');
    assert.equal(eadds.length, b.image.manifest.layout.pages);
    let i = 1;
    while (i < records.length) {
      const r = records[i]!;
      assert.equal(r.kind, 'EADD');
      const offset = r.kind === 'EADD' ? r.offset : -1;
      let chunks = 0;
      for (i++; i < records.length && records[i]!.kind === 'EEXTEND'; i++) chunks++;
      const inHeap = offset >= heap.offset && offset < heap.offset + heap.size;
      assert.equal(chunks, inHeap ? 0 : 16, `page 0x${offset.toString(16)}`);
    }
  });
});

describe('signing', () => {
  /** The fields of sig1.sigstruct.bin, as its README states them. */
  const SIG1: SigstructFields = {
    enclaveHash: fromHex(VEC.sig1EnclaveHash), isvProdId: 0, isvSvn: 0,
    attributesFlags: 0x4n, attributesXfrm: 0x3n, attributeMaskFlags: 0xfffffffffffffffdn, attributeMaskXfrm: 0xffffffffffffff1bn,
    miscSelect: 0, miscMask: 0xffffffff, date: 0x20160109, vendor: 0,
  };

  test('the signer reproduces sig1.sigstruct.bin byte for byte from sig1.key.pem and the README\'s fields', { skip: NO_VECTORS }, () => {
    const want = vector('sig1.sigstruct.bin');
    const got = signSigstruct(SIG1, vectorText('sig1.key.pem'), crypto);
    assert.equal(toHex(got), toHex(want));
    assert.equal(toHex(crypto.sha256(got.subarray(128, 512))), VEC.sig1Mrsigner);
  });

  /** The modulus (big-endian) of a PEM key, read by node:crypto. */
  function modulusOf(pem: string): Uint8Array {
    const jwk = createPublicKey(pem).export({ format: 'jwk' });
    return new Uint8Array(Buffer.from(jwk.n ?? '', 'base64url'));
  }

  test('two-step signing (signing data → node:crypto RSA-SHA256 → assembleSigstruct) equals one-step signing', () => {
    const pem = HAVE_VECTORS ? vectorText('sig1.key.pem') : testKey(0).pem;
    const b = buildFixture('crash', { isvProdId: 77, isvSvn: 3 });
    for (const fields of [sigFieldsFor(b), SIG1]) {
      const data = sigstructSigningData(fields);
      assert.equal(data.length, 256);
      const signature = new Uint8Array(nodeSign('sha256', data, pem));
      const two = assembleSigstruct(fields, modulusOf(pem), 3n, signature, crypto);
      const one = signSigstruct(fields, pem, crypto);
      assert.equal(toHex(two), toHex(one));
      assert.deepEqual(data, new Uint8Array([...one.subarray(0, 128), ...one.subarray(900, 1028)]), 'the signed bytes are SIGSTRUCT[0,128) ‖ [900,1028)');
      assert.ok(verifySigstructSignature(one, crypto).valid);
    }
  });

  test('the SIGSTRUCT carries the fields it was given', () => {
    const b = buildFixture('crash', { isvProdId: 77, isvSvn: 3 });
    const s = SIGSTRUCT.decode(signFixture(b));
    assert.equal(toHex(s.ENCLAVEHASH), toHex(b.mrenclave));
    assert.equal(s.ISVPRODID, 77);
    assert.equal(s.ISVSVN, 3);
    assert.equal(s.ATTRIBUTES.FLAGS, 0x4n);
    assert.equal(s.ATTRIBUTES.XFRM, 0x3n);
    assert.equal(s.EXPONENT, 3);
  });

  test('measureImage measures the SGXS pages: the manifest\'s MRENCLAVE must be the measured one (sgx_sign measure_enclave)', () => {
    const b = buildFixture('crash');
    assert.deepEqual(measureImage(b.image, crypto), b.mrenclave);
    const sgxs = b.image.sgxs.slice();
    sgxs[Buffer.from(sgxs).indexOf('EEXTEND\0') + 64]! ^= 1;
    const measured = toHex(measureSgxs(sgxs, crypto).mrenclave);
    assert.throws(() => measureImage({ ...b.image, sgxs }, crypto), (e: unknown) => {
      assert.ok(isSdkError('MANIFEST_MISMATCH')(e));
      assert.deepEqual((e as SdkError).data, { manifest: toHex(b.mrenclave), measured });
      return true;
    });
    assert.throws(() => measureImage({ ...b.image, sgxs: b.image.sgxs.subarray(0, 100) }, crypto), isSdkError('IMAGE_INVALID'));
  });

  test('assembleSigstruct refuses a signature that does not verify, or a key that is not RSA-3072 with e = 3', () => {
    const pem = testKey(0).pem;
    const fields = sigFieldsFor(buildFixture('crash'));
    const good = new Uint8Array(nodeSign('sha256', sigstructSigningData(fields), pem));
    const bad = good.slice();
    bad[100] ^= 1;
    assert.throws(() => assembleSigstruct(fields, modulusOf(pem), 3n, bad, crypto), isSdkError('SIGN_BAD_SIGNATURE'));
    const otherFields = { ...fields, isvSvn: fields.isvSvn + 1 };
    assert.throws(() => assembleSigstruct(otherFields, modulusOf(pem), 3n, good, crypto), isSdkError('SIGN_BAD_SIGNATURE'), 'a signature over other fields');
    // Not a residue mod n (the modulus itself, all-ones): SIGN_BAD_SIGNATURE, not a layout error.
    assert.throws(() => assembleSigstruct(fields, modulusOf(pem), 3n, modulusOf(pem), crypto), isSdkError('SIGN_BAD_SIGNATURE'), 's = n');
    assert.throws(() => assembleSigstruct(fields, modulusOf(pem), 3n, new Uint8Array(384).fill(0xff), crypto), isSdkError('SIGN_BAD_SIGNATURE'), 's > n');
    assert.throws(() => assembleSigstruct(fields, modulusOf(pem), 65537n, good, crypto), isSdkError('SIGN_BAD_KEY'));
    const small = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    assert.throws(() => signSigstruct(fields, small, crypto), isSdkError('SIGN_BAD_KEY'));
    assert.throws(() => assembleSigstruct(fields, modulusOf(small), 3n, good, crypto), isSdkError('SIGN_BAD_KEY'));
  });
});

describe('SIGSTRUCT fields out of their range', () => {
  const fields = sigFieldsFor(buildFixture('crash'));
  const cases: [string, Partial<SigstructFields>, string][] = [
    ['isvProdId 70000 (a u16)', { isvProdId: 70000 }, 'ISVPRODID'],
    ['isvSvn -1', { isvSvn: -1 }, 'ISVSVN'],
    ['isvSvn 1.5', { isvSvn: 1.5 }, 'ISVSVN'],
    ['miscSelect -1 (a u32)', { miscSelect: -1 }, 'MISCSELECT'],
    ['miscMask 2^32', { miscMask: 2 ** 32 }, 'MISCMASK'],
    ['date 2^32', { date: 2 ** 32 }, 'DATE'],
    ['vendor 0x8086.5', { vendor: 0x8086 + 0.5 }, 'VENDOR'],
    ['swDefined NaN', { swDefined: NaN }, 'SWDEFINED'],
    ['attributesFlags -1n (a u64)', { attributesFlags: -1n }, 'FLAGS'],
    ['attributeMaskXfrm 2^64', { attributeMaskXfrm: 2n ** 64n }, 'XFRM'],
    ['an enclave hash of 31 bytes', { enclaveHash: new Uint8Array(31) }, 'enclaveHash'],
    ['a HEADER TYPE of 2^32', { type: 2 ** 32 }, 'type'],
  ];
  for (const [what, over, field] of cases) {
    test(`${what}: SdkError SIGN_FIELDS naming ${field}, from signSigstruct, sigstructSigningData and assembleSigstruct`, () => {
      const f = { ...fields, ...over };
      const check = (e: unknown): boolean => {
        isSdkError('SIGN_FIELDS')(e);
        assert.equal((e as SdkError).data.field, field);
        return true;
      };
      assert.throws(() => signSigstruct(f, testKey(0).pem, crypto), check);
      assert.throws(() => sigstructSigningData(f), check);
      assert.throws(() => unsignedSigstruct(f), check);
    });
  }

  test('the largest values that fit are written as given', () => {
    const f = { ...fields, isvProdId: 0xffff, isvSvn: 0xffff, miscSelect: 0xffffffff, miscMask: 0xffffffff, type: 0x80000000, vendor: 0x8086, swDefined: 0xffffffff };
    const s = SIGSTRUCT.decode(unsignedSigstruct(f));
    assert.deepEqual([s.ISVPRODID, s.ISVSVN, s.MISCSELECT, s.MISCMASK, s.VENDOR, s.SWDEFINED, s.EXPONENT], [0xffff, 0xffff, 0xffffffff, 0xffffffff, 0x8086, 0xffffffff, 3]);
    assert.equal(toHex(s.HEADER), '06000000e10000000000010000000080');
  });
});

describe('the image container', () => {
  const img = (): EnclaveImage => withSigstruct(buildFixture('crash').image, signFixture(buildFixture('crash')));

  test('encode → decode round-trips, signed or not', () => {
    const signed = img();
    assert.deepEqual(decodeImage(encodeImage(signed)), signed);
    const unsigned = buildFixture('crash').image;
    assert.deepEqual(decodeImage(encodeImage(unsigned)), unsigned);
  });

  /** The encoded image's sections: [offset of the tag, tag, length]. */
  function sections(b: Uint8Array): { at: number; tag: string; len: number }[] {
    const out: { at: number; tag: string; len: number }[] = [];
    let o = 20;
    for (let i = 0; i < u32le(b, 16); i++) {
      const len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(o + 8, true));
      out.push({ at: o, tag: new TextDecoder().decode(b.subarray(o, o + 8)), len });
      o += 16 + len;
    }
    return out;
  }
  function container(parts: [string, Uint8Array][], count = parts.length): Uint8Array {
    const total = 20 + parts.reduce((n, [, d]) => n + 16 + d.length, 0);
    const b = new Uint8Array(total);
    b.set(IMAGE_MAGIC, 0);
    writeU32le(b, 16, count);
    let o = 20;
    for (const [tag, d] of parts) {
      b.set(new TextEncoder().encode(tag.padEnd(8, '\0')).subarray(0, 8), o);
      writeU64le(b, o + 8, d.length);
      b.set(d, o + 16);
      o += 16 + d.length;
    }
    return b;
  }
  const manifestBytes = () => new TextEncoder().encode(JSON.stringify(img().manifest));
  const sgxs = () => img().sgxs;

  test('the container layout is as documented: magic, count, tagged sections', () => {
    const b = encodeImage(img());
    assert.equal(new TextDecoder().decode(b.subarray(0, 16)), 'WITNESS IMAGE v1');
    assert.deepEqual(sections(b).map((s) => [s.tag, s.len]), [['MANIFEST', manifestBytes().length], ['SGXS\0\0\0\0', sgxs().length], ['SIGSTRCT', 1808]]);
    assert.deepEqual(decodeImage(container([['MANIFEST', manifestBytes()], ['SGXS', sgxs()]])).sgxs, sgxs());
  });

  /** The image with its manifest (as JSON) changed by `edit`. */
  const withManifest = (edit: (m: Record<string, unknown>) => Record<string, unknown>): Uint8Array =>
    container([['MANIFEST', new TextEncoder().encode(JSON.stringify(edit(JSON.parse(JSON.stringify(img().manifest)) as Record<string, unknown>)))], ['SGXS', sgxs()]]);
  /** One case per field the host relies on, left out. */
  const manifestWithout = (): [string, () => Uint8Array][] => ['runtime', 'mrenclave', 'config', 'layout', 'interface', 'layout.tcs', 'layout.size', 'layout.nssa', 'layout.module', 'layout.module.sha256'].map((path) => [
    `a manifest without ${path}`,
    () => withManifest((m) => {
      const keys = path.split('.');
      let o = m;
      for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
      delete o[keys.at(-1)!];
      return m;
    }),
  ]);

  const bad: [string, () => Uint8Array][] = [
    ['an empty file', () => new Uint8Array(0)],
    ['wrong magic', () => {
      const b = encodeImage(img());
      b[0] ^= 0x20;
      return b;
    }],
    ['the magic of another version', () => {
      const b = encodeImage(img());
      b[15] = '2'.charCodeAt(0);
      return b;
    }],
    ['only the magic', () => IMAGE_MAGIC.slice()],
    ['more than 16 sections', () => container([['MANIFEST', manifestBytes()], ['SGXS', sgxs()]], 17)],
    ['a section count beyond the sections present (truncated header)', () => container([['MANIFEST', manifestBytes()], ['SGXS', sgxs()]], 3)],
    ['the last section cut short', () => encodeImage(img()).slice(0, -1)],
    ['a section header cut short', () => {
      const b = encodeImage(img());
      const last = sections(b).at(-1)!;
      return b.slice(0, last.at + 10);
    }],
    ['a section length of 2^63', () => {
      const b = encodeImage(img());
      writeU64le(b, sections(b)[0]!.at + 8, 2n ** 63n);
      return b;
    }],
    ['a section length one past the end', () => {
      const b = encodeImage(img());
      const s = sections(b)[1]!;
      writeU64le(b, s.at + 8, s.len + 1);
      return b;
    }],
    ['a duplicate MANIFEST', () => container([['MANIFEST', manifestBytes()], ['SGXS', sgxs()], ['MANIFEST', manifestBytes()]])],
    ['a duplicate SGXS', () => container([['MANIFEST', manifestBytes()], ['SGXS', sgxs()], ['SGXS', sgxs()]])],
    ['trailing bytes', () => new Uint8Array([...encodeImage(img()), 0])],
    ['no SGXS section', () => container([['MANIFEST', manifestBytes()]])],
    ['no MANIFEST section', () => container([['SGXS', sgxs()]])],
    ['a manifest that is not JSON', () => container([['MANIFEST', new TextEncoder().encode('{"format": "witness-image",')], ['SGXS', sgxs()]])],
    ['a manifest that is not UTF-8', () => container([['MANIFEST', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])], ['SGXS', sgxs()]])],
    ['a manifest that is JSON null', () => container([['MANIFEST', new TextEncoder().encode('null')], ['SGXS', sgxs()]])],
    ['a manifest that is a JSON array', () => container([['MANIFEST', new TextEncoder().encode('[]')], ['SGXS', sgxs()]])],
    ['a manifest of another format', () => container([['MANIFEST', new TextEncoder().encode(JSON.stringify({ ...img().manifest, format: 'other' }))], ['SGXS', sgxs()]])],
    ['a manifest of another version', () => container([['MANIFEST', new TextEncoder().encode(JSON.stringify({ ...img().manifest, version: 2 }))], ['SGXS', sgxs()]])],
    ...manifestWithout(),
    ['a manifest whose layout.tcs is not a list', () => withManifest((m) => ({ ...m, layout: { ...(m.layout as object), tcs: 0x1000 } }))],
    ['a manifest whose layout.size is a string', () => withManifest((m) => ({ ...m, layout: { ...(m.layout as object), size: '0x100000' } }))],
    ['a manifest whose layout.heap has no offset', () => withManifest((m) => ({ ...m, layout: { ...(m.layout as object), heap: { size: 65536 } } }))],
    ['a manifest whose interface is null', () => withManifest((m) => ({ ...m, interface: null }))],
    ['a manifest whose config is a string', () => withManifest((m) => ({ ...m, config: 'debug' }))],
    ['a manifest whose MRENCLAVE is not hex', () => withManifest((m) => ({ ...m, mrenclave: 'zz'.repeat(32) }))],
    ['a manifest with a key the format does not define', () => withManifest((m) => ({ ...m, extra: 1 }))],
    ['a manifest whose layout has a key the format does not define', () => withManifest((m) => ({ ...m, layout: { ...(m.layout as object), extra: 1 } }))],
    ['a manifest whose layout.module has a key the format does not define', () => withManifest((m) => ({ ...m, layout: { ...(m.layout as object), module: { ...((m.layout as Record<string, object>).module), extra: 1 } } }))],
    ['a manifest one level deeper than the format (a struct member\'s dims holding a list)', () => withManifest((m) => ({ ...m, interface: { ...(m.interface as object), structs: [{ members: [{ type: { dims: [[2]] } }] }] } }))],
    ['a manifest nested 20,000 levels deep (JSON.stringify overflows its stack on it)', () => container([['MANIFEST', new TextEncoder().encode(JSON.stringify(img().manifest).replace(/}$/, `,"x":${'['.repeat(20000)}${']'.repeat(20000)}}`))], ['SGXS', sgxs()]])],
    ['a SIGSTRUCT section of 1807 bytes', () => container([['MANIFEST', manifestBytes()], ['SGXS', sgxs()], ['SIGSTRCT', new Uint8Array(1807)]])],
  ];
  for (const [what, make] of bad) {
    test(`decodeImage rejects ${what} (IMAGE_INVALID)`, () => {
      assert.throws(() => decodeImage(make()), isSdkError('IMAGE_INVALID'));
    });
  }

  test('the deepest value the format holds (a struct member\'s dims) decodes', () => {
    const b = withManifest((m) => ({ ...m, interface: { ...(m.interface as object), structs: [{ members: [{ type: { dims: [2] } }] }] } }));
    assert.deepEqual((decodeImage(b).manifest.interface as { structs: unknown }).structs, [{ members: [{ type: { dims: [2] } }] }]);
  });

  test('checkManifest refuses an image built in memory with a key or nesting the format does not define', () => {
    const deep: unknown[] = [];
    let inner = deep;
    for (let i = 0; i < 20000; i++) inner.push((inner = []));
    for (const manifest of [{ ...img().manifest, x: deep }, { ...img().manifest, x: 1 }]) {
      assert.throws(() => loadEnclave(newPlatform(), { ...img(), manifest: manifest as EnclaveImage['manifest'] }), isSdkError('IMAGE_INVALID'));
    }
  });

  test('loadEnclave checks the manifest against the SGXS it carries (format.ts: "checked against the SGXS when loading")', () => {
    const b = buildFixture('crash');
    const sig = signFixture(b);
    const p = newPlatform();
    const lies: EnclaveImage[] = [
      { ...b.image, manifest: { ...b.image.manifest, mrenclave: '00'.repeat(32) } },
      { ...b.image, manifest: { ...b.image.manifest, layout: { ...b.image.manifest.layout, tcs: [0x1000] } } },
    ];
    for (const image of lies) {
      let loaded: ReturnType<typeof loadEnclave> | null = null;
      assert.throws(() => {
        loaded = loadEnclave(p, image, { sigstruct: sig });
      }, (e: unknown) => e instanceof Error && 'code' in e);
      (loaded as ReturnType<typeof loadEnclave> | null)?.destroy();
    }
  });
});

describe('resolveEnclaveConfig', () => {
  const bad: [string, unknown][] = [
    ['xfrm "zz" (not a number)', { xfrm: 'zz' }],
    ['xfrm 1.5', { xfrm: 1.5 }],
    ['xfrm null', { xfrm: null }],
    ['xfrm -1', { xfrm: -1 }],
    ['xfrm -1n', { xfrm: -1n }],
    ['xfrm 2^64', { xfrm: 2n ** 64n }],
    ['xfrm "0x1_0000_0000_0000_0003" (above 64 bits)', { xfrm: '0x10000000000000003' }],
    ['xfrm " 3" (not a plain number)', { xfrm: ' 3' }],
    ['xfrm 1 (no SSE)', { xfrm: 1 }],
    ['a null configuration', null],
    ['an array', []],
    ['a number', 5],
    ['isvProdId 70000', { isvProdId: 70000 }],
    ['an unknown field', { heap: 1 << 20 }],
  ];
  for (const [what, config] of bad) {
    test(`${what} → SdkError CONFIG_INVALID`, () => {
      assert.throws(() => resolveEnclaveConfig(config as Parameters<typeof resolveEnclaveConfig>[0]), isSdkError('CONFIG_INVALID'));
    });
  }

  test('xfrm as a bigint, a number, a decimal or a hex string', () => {
    for (const xfrm of [7n, 7, '7', '0x7', '0X7']) assert.equal(resolveEnclaveConfig({ xfrm } as Parameters<typeof resolveEnclaveConfig>[0]).xfrm, 7n, String(xfrm));
    assert.equal(resolveEnclaveConfig({ xfrm: '0xffffffffffffffff' }).xfrm, 2n ** 64n - 1n);
    assert.equal(resolveEnclaveConfig({}).xfrm, 3n);
  });
});


describe('sigstructFieldsFor', () => {
  test('the fields follow the configuration (a DEBUG enclave is signed as DEBUG and loads), every attribute enforced', () => {
    for (const debug of [false, true]) {
      const b = buildFixture('crash', { debug, isvProdId: 9, isvSvn: 4, miscSelect: 0 });
      const f = sigstructFieldsFor(b.config, b.mrenclave, { date: 0x20261126 });
      assert.equal(f.isvProdId, 9);
      assert.equal(f.isvSvn, 4);
      assert.equal((f.attributesFlags & 2n) !== 0n, debug, 'ATTRIBUTES.DEBUG');
      assert.equal(f.attributeMaskFlags, 0xffffffffffffffffn);
      assert.equal(f.date, 0x20261126);
      const p = newPlatform();
      const e = loadEnclave(p, b.image, { sigstruct: signSigstruct(f, testKey(0).pem, defaultCrypto()) });
      e.destroy();
      // Signed for the other DEBUG setting, EINIT refuses it.
      const wrong = { ...f, attributesFlags: f.attributesFlags ^ 2n };
      assert.throws(() => loadEnclave(p, b.image, { sigstruct: signSigstruct(wrong, testKey(0).pem, defaultCrypto()) }), (e: unknown) => e instanceof EnclaveLoadError && e.code === 'INIT_FAILED');
    }
  });
});
