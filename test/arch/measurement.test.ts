import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { defaultCrypto, toHex, fromHex, type CryptoProvider } from '../../src/lib/index.js';
import {
  Measurement, MeasurementLog, measuredSecinfoFlags, parseSgxs, forEachSgxsRecord, forEachSgxsPage, measureSgxs, replaySgxs, sgxsPages, SgxsWriter, SgxsError, ArchError,
  SGXS_TAG_UNSIZED, SGXS_TAG_UNMEASURED, MEAS_TAG, MEAS_TAG_WORDS, SECS, TCS, PT, ENCLS, SGX, type SgxsRecord,
} from '../../src/arch/index.js';
import { NO_VECTORS, VEC, vector } from '../helpers/vectors.js';
import { TestKernel } from '../helpers/kernel.js';
import { signSigstruct, testKey } from '../helpers/signing.js';
import { startSha256Pipeline } from '../../src/lib/crypto/pipeline.js';

const crypto = defaultCrypto();
/** The default provider without a hashing thread: every stream is hashed in the calling thread. */
const IN_THREAD: CryptoProvider = { ...crypto, openSha256Pipeline: undefined };
/** The default provider, recording what each request for a hashing-thread stream got (true: a stream). */
function countingPipelines(): { provider: CryptoProvider; asked: boolean[] } {
  const asked: boolean[] = [];
  const provider: CryptoProvider = { ...crypto, openSha256Pipeline: () => {
    const p = crypto.openSha256Pipeline!();
    asked.push(p !== null);
    return p;
  } };
  return { provider, asked };
}
const granted = (asked: readonly boolean[]) => asked.filter(Boolean).length;

// ---- the independent oracle: the whole record stream built by hand, hashed once ----------------

interface OraclePage {
  offset: number;
  /** SECINFO.FLAGS as given to EADD. */
  flags: number;
  data: Uint8Array;
  /** Bit i: chunk i (bytes [256 i, 256 i + 256)) is EEXTENDed. */
  chunks: number;
}

function ascii8(s: string): Uint8Array {
  const b = new Uint8Array(8);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** specs/sgx.md §4.1, written independently of src/arch/measurement.ts. */
function oracleStream(ssaFrameSize: number, size: number, pages: readonly OraclePage[]): Buffer {
  const parts: Buffer[] = [];
  const rec = () => {
    const b = Buffer.alloc(64);
    parts.push(b);
    return new DataView(b.buffer, b.byteOffset, 64);
  };
  const ec = rec();
  new Uint8Array(ec.buffer, ec.byteOffset, 8).set(ascii8('ECREATE'));
  ec.setUint32(8, ssaFrameSize, true);
  ec.setBigUint64(12, BigInt(size), true);
  for (const p of pages) {
    const ea = rec();
    new Uint8Array(ea.buffer, ea.byteOffset, 8).set(ascii8('EADD'));
    ea.setBigUint64(8, BigInt(p.offset), true);
    const isTcs = ((p.flags >> 8) & 0xff) === 1;
    ea.setBigUint64(16, BigInt(isTcs ? p.flags & ~7 : p.flags), true);
    for (let c = 0; c < 16; c++) {
      if (!(p.chunks & (1 << c))) continue;
      const ex = rec();
      new Uint8Array(ex.buffer, ex.byteOffset, 8).set(ascii8('EEXTEND'));
      ex.setBigUint64(8, BigInt(p.offset + c * 256), true);
      parts.push(Buffer.from(p.data.subarray(c * 256, c * 256 + 256)));
    }
  }
  return Buffer.concat(parts);
}

function oracle(ssaFrameSize: number, size: number, pages: readonly OraclePage[]): string {
  return createHash('sha256').update(oracleStream(ssaFrameSize, size, pages)).digest('hex');
}

function viaMeasurement(ssaFrameSize: number, size: number, pages: readonly OraclePage[], sink?: MeasurementLog | SgxsWriter): Measurement {
  const m = new Measurement(crypto, sink ?? null);
  m.ecreate(ssaFrameSize, size);
  for (const p of pages) {
    m.eadd(p.offset, measuredSecinfoFlags(p.flags));
    for (let c = 0; c < 16; c++) if (p.chunks & (1 << c)) m.eextend(p.offset + c * 256, p.data.subarray(c * 256, c * 256 + 256));
  }
  return m;
}

/** The §4.3 worked example. */
const EXAMPLE: OraclePage[] = [
  { offset: 0, flags: PT.TCS << 8, data: new Uint8Array(4096), chunks: 0 },
  { offset: 0x1000, flags: 0x203, data: new Uint8Array(4096), chunks: 0xffff },
];

describe('§4.3 worked example', () => {
  test('MRENCLAVE 2e1025dd…, ECREATE alone 9e197c88…, 83 blocks', () => {
    const m = viaMeasurement(1, 0x2000, EXAMPLE);
    assert.equal(m.updateCount, 83);
    assert.equal(toHex(m.finalize()), '2e1025dddd5bfdbc1c085d15feb88f775ea90701d6038dae1aad0f7f66d7b151');
    const e = new Measurement(crypto);
    e.ecreate(1, 0x2000);
    assert.equal(e.updateCount, 1);
    assert.equal(toHex(e.finalize()), '9e197c8837c6d65632dbdd59cd7df4f1a25b68d8e4e5eb6ca3b20b05311fecb8');
    assert.equal(oracle(1, 0x2000, EXAMPLE), '2e1025dddd5bfdbc1c085d15feb88f775ea90701d6038dae1aad0f7f66d7b151');
    assert.equal(oracle(1, 0x2000, []), '9e197c8837c6d65632dbdd59cd7df4f1a25b68d8e4e5eb6ca3b20b05311fecb8');
  });

  test('the record bytes printed in §4.3', () => {
    const w = new SgxsWriter();
    viaMeasurement(1, 0x2000, EXAMPLE, w);
    const b = w.bytes();
    assert.equal(b.length, 5312);
    assert.equal(toHex(b.subarray(0, 64)), '4543524541544500' + '01000000' + '0020000000000000' + '00'.repeat(44));
    assert.equal(toHex(b.subarray(64, 128)), '4541444400000000' + '0000000000000000' + '0001000000000000' + '00'.repeat(40));
    assert.equal(toHex(b.subarray(128, 192)), '4541444400000000' + '0010000000000000' + '0302000000000000' + '00'.repeat(40));
    assert.equal(toHex(b.subarray(192, 256)), '45455854454e4400' + '0010000000000000' + '00'.repeat(48));
    assert.equal(toHex(b.subarray(512, 528)), '45455854454e4400' + '0011000000000000');
    assert.deepEqual(b, new Uint8Array(oracleStream(1, 0x2000, EXAMPLE)));
  });

  test('the processor measures it the same way (ECREATE, EADD, 16 × EEXTEND, EINIT)', () => {
    const k = new TestKernel({ epcSize: 0x100000 });
    const base = 0x200000;
    const { status, secs } = k.ecreate(SECS.encode({ SIZE: 0x2000n, BASEADDR: BigInt(base), SSAFRAMESIZE: 1, ATTRIBUTES: { FLAGS: 4n, XFRM: 3n } }));
    assert.equal(status, 0);
    k.eadd(secs, base, (PT.TCS << 8) | 3, new Uint8Array(4096)); // R/W bits on a TCS are dropped from the measurement
    k.eextendPage(secs, k.eadd(secs, base + 0x1000, 0x203, new Uint8Array(4096)));
    const sig = signSigstruct(testKey(0), { enclaveHash: fromHex('2e1025dddd5bfdbc1c085d15feb88f775ea90701d6038dae1aad0f7f66d7b151') });
    k.setLeHash(testKey(0).mrsigner);
    assert.equal(k.einit(secs, sig), SGX.SUCCESS);
    assert.equal(toHex(k.proc.inspect.enclaves()[0]!.mrenclave!), '2e1025dddd5bfdbc1c085d15feb88f775ea90701d6038dae1aad0f7f66d7b151');
  });
});

describe('test_enclave.sgxs (specs §16.1)', () => {
  test('measureSgxs gives the README MRENCLAVE, which is also SHA-256 of the file', { skip: NO_VECTORS }, () => {
    const s = vector('test_enclave.sgxs');
    const r = measureSgxs(s, crypto);
    assert.equal(toHex(r.mrenclave), VEC.testEnclaveMrenclave);
    assert.equal(r.pages, 9);
    assert.equal(r.size, 0x40000);
    assert.equal(r.ssaFrameSize, 1);
    assert.equal(createHash('sha256').update(s).digest('hex'), VEC.testEnclaveMrenclave);
  });

  test('the records: 9 EADDs with the §16.1 flags, 144 EEXTENDs', { skip: NO_VECTORS }, () => {
    const recs = parseSgxs(vector('test_enclave.sgxs'));
    assert.equal(recs.filter((r) => r.kind === 'EEXTEND').length, 144);
    const flags = recs.flatMap((r) => (r.kind === 'EADD' ? [r.secinfoFlags] : [])).sort();
    assert.deepEqual(flags, [0x100, 0x201, 0x201, 0x203, 0x203, 0x203, 0x203, 0x203, 0x205].sort());
    // The independent oracle over the reassembled pages agrees.
    const pages = sgxsPages(recs).map((p) => ({ offset: p.offset, flags: p.secinfoFlags, data: p.data, chunks: p.measuredChunks }));
    assert.equal(oracle(1, 0x40000, pages), VEC.testEnclaveMrenclave);
  });

  test('loaded into the processor and EINITed with test_enclave.sig', { skip: NO_VECTORS }, () => {
    const k = new TestKernel({ epcSize: 0x100000 });
    const { secs } = k.loadSgxs(vector('test_enclave.sgxs'), 0x40000000, { flags: 4n, xfrm: 3n });
    k.setLeHash(fromHex(VEC.testEnclaveMrsigner));
    assert.equal(k.einit(secs, vector('test_enclave.sig')), SGX.SUCCESS);
    const e = k.proc.inspect.enclaves()[0]!;
    assert.equal(toHex(e.mrenclave!), VEC.testEnclaveMrenclave);
    assert.equal(toHex(e.mrsigner!), VEC.testEnclaveMrsigner);
    assert.equal(e.isvProdId, 65535);
    assert.equal(e.pages, 9);
  });
});

// ---- random page lists ----------------------------------------------------------------------

const pageListArb = fc.record({
  log2Size: fc.integer({ min: 13, max: 22 }),
  ssaFrameSize: fc.integer({ min: 1, max: 4 }),
  pages: fc.uniqueArray(
    fc.record({
      index: fc.nat(1023),
      tcs: fc.boolean(),
      perms: fc.constantFrom(1, 3, 5, 7),
      chunks: fc.integer({ min: 0, max: 0xffff }),
      fill: fc.uint8Array({ minLength: 72, maxLength: 72 }),
      seed: fc.nat(255),
    }),
    { selector: (p) => p.index, maxLength: 6 },
  ),
}).map(({ log2Size, ssaFrameSize, pages }) => {
  const size = 2 ** log2Size;
  const list: OraclePage[] = pages.map((p) => {
    const offset = (p.index % (size / 4096)) * 4096;
    const data = new Uint8Array(4096);
    data.set(p.fill);
    if (!p.tcs) for (let i = 72; i < 4096; i += 97) data[i] = (i + p.seed) & 0xff;
    return { offset, flags: ((p.tcs ? PT.TCS : PT.REG) << 8) | p.perms, data, chunks: p.chunks };
  });
  // distinct offsets after the modulo, in increasing order (the order EADD uses below)
  const uniq = [...new Map(list.map((p) => [p.offset, p])).values()].sort((a, b) => a.offset - b.offset);
  return { size, ssaFrameSize, pages: uniq };
});

/** What EADD leaves in a TCS page before EEXTEND measures it: STATE, DBGOPTIN, CSSA and AEP forced to 0. */
function asAdded(p: OraclePage): OraclePage {
  if (((p.flags >> 8) & 0xff) !== PT.TCS) return p;
  const d = p.data.slice();
  d.fill(0, 0, 8);
  d[8]! &= ~1;
  d.fill(0, 24, 28);
  d.fill(0, 40, 48);
  return { ...p, data: d };
}

describe('Measurement against the independent oracle', () => {
  before(() => {
    // The hashing thread starts asynchronously; the tests below that expect streams to move to it need it running.
    assert.equal(startSha256Pipeline(10_000), true);
  });

  test('random page lists (property)', () => {
    fc.assert(fc.property(pageListArb, ({ size, ssaFrameSize, pages }) => {
      const expect = oracle(ssaFrameSize, size, pages);
      const m = viaMeasurement(ssaFrameSize, size, pages);
      assert.equal(toHex(m.peek()), expect);
      assert.equal(toHex(m.finalize()), expect);
      assert.equal(m.updateCount, oracleStream(ssaFrameSize, size, pages).length / 64);
    }), { numRuns: 150 });
  });

  test('random page lists built with ENCLS and EINITed (property)', () => {
    const key = testKey(0);
    fc.assert(fc.property(pageListArb, ({ size, ssaFrameSize, pages }) => {
      const k = new TestKernel({ epcSize: 0x100000 });
      const base = size * 8;
      const { status, secs } = k.ecreate(SECS.encode({ SIZE: BigInt(size), BASEADDR: BigInt(base), SSAFRAMESIZE: ssaFrameSize, ATTRIBUTES: { FLAGS: 4n, XFRM: 3n } }));
      assert.equal(status, 0);
      for (const p of pages) {
        const epc = k.eadd(secs, base + p.offset, p.flags, p.data);
        for (let c = 0; c < 16; c++) if (p.chunks & (1 << c)) k.encls(ENCLS.EEXTEND, secs, epc + c * 256);
      }
      const expect = oracle(ssaFrameSize, size, pages.map(asAdded));
      k.setLeHash(key.mrsigner);
      assert.equal(k.einit(secs, signSigstruct(key, { enclaveHash: fromHex(expect) })), SGX.SUCCESS);
      assert.equal(toHex(k.proc.inspect.enclaves()[0]!.mrenclave!), expect);
    }), { numRuns: 12 });
  });

  test('a large enclave (its records hashed on the hashing thread) EINITs with the oracle\'s MRENCLAVE', () => {
    const key = testKey(0);
    const size = 0x200000, base = 0x4000000;
    const pages: OraclePage[] = [];
    for (let i = 0; i < 300; i++) {
      const data = new Uint8Array(4096);
      for (let j = 0; j < 4096; j += 61) data[j] = (i * 31 + j) & 0xff;
      pages.push({ offset: i * 4096, flags: 0x203, data, chunks: i % 5 === 0 ? 0x00ff : 0xffff });
    }
    const k = new TestKernel({ epcSize: 0x200000 });
    const { secs } = k.ecreate(SECS.encode({ SIZE: BigInt(size), BASEADDR: BigInt(base), SSAFRAMESIZE: 1, ATTRIBUTES: { FLAGS: 4n, XFRM: 3n } }));
    for (const p of pages) {
      const epc = k.eadd(secs, base + p.offset, p.flags, p.data);
      for (let c = 0; c < 16; c++) if (p.chunks & (1 << c)) k.encls(ENCLS.EEXTEND, secs, epc + c * 256);
    }
    const expect = oracle(1, size, pages);
    k.setLeHash(key.mrsigner);
    assert.equal(k.einit(secs, signSigstruct(key, { enclaveHash: fromHex(expect) })), SGX.SUCCESS);
    assert.equal(toHex(k.proc.inspect.enclaves()[0]!.mrenclave!), expect);
  });

  test('a TCS is measured with zero permission bits, other pages with theirs', () => {
    assert.equal(measuredSecinfoFlags(0x107), 0x100);
    assert.equal(measuredSecinfoFlags(0x100), 0x100);
    assert.equal(measuredSecinfoFlags(0x207), 0x207);
    assert.equal(measuredSecinfoFlags(0x201), 0x201);
    const a = viaMeasurement(1, 0x2000, [{ offset: 0, flags: 0x107, data: new Uint8Array(4096), chunks: 0 }]).finalize();
    const b = viaMeasurement(1, 0x2000, [{ offset: 0, flags: 0x100, data: new Uint8Array(4096), chunks: 0 }]).finalize();
    const c = viaMeasurement(1, 0x2000, [{ offset: 0, flags: 0x207, data: new Uint8Array(4096), chunks: 0 }]).finalize();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('EADD of a TCS measures the page with STATE/DBGOPTIN/CSSA/AEP forced to zero', () => {
    const tcs = TCS.encode({ STATE: 1n, FLAGS: 1n, CSSA: 3, NSSA: 2, AEP: 0x1234n, OSSA: 0x1000n });
    const k = new TestKernel({ epcSize: 0x100000 });
    const { secs } = k.ecreate(SECS.encode({ SIZE: 0x2000n, BASEADDR: 0x2000n, SSAFRAMESIZE: 1, ATTRIBUTES: { FLAGS: 4n, XFRM: 3n } }));
    k.eextendPage(secs, k.eadd(secs, 0x2000, 0x100, tcs));
    const clean = TCS.encode({ NSSA: 2, OSSA: 0x1000n });
    const expect = oracle(1, 0x2000, [{ offset: 0, flags: 0x100, data: clean, chunks: 0xffff }]);
    assert.notEqual(expect, oracle(1, 0x2000, [{ offset: 0, flags: 0x100, data: tcs, chunks: 0xffff }]));
    k.setLeHash(testKey(0).mrsigner);
    assert.equal(k.einit(secs, signSigstruct(testKey(0), { enclaveHash: fromHex(expect) })), SGX.SUCCESS);
  });

  test('peek does not finalize; finalize is idempotent', () => {
    const m = new Measurement(crypto);
    m.ecreate(1, 0x2000);
    const early = m.peek();
    assert.equal(m.finalized, false);
    m.eadd(0, 0x203);
    assert.notDeepEqual(m.peek(), early);
    const f = m.finalize();
    assert.equal(m.finalized, true);
    assert.deepEqual(m.finalize(), f);
    assert.deepEqual(m.peek(), f);
    assert.equal(toHex(f), oracle(1, 0x2000, [{ offset: 0, flags: 0x203, data: new Uint8Array(4096), chunks: 0 }]));
  });

  test('long streams cross the internal buffer (2000 EEXTENDs)', () => {
    const pages: OraclePage[] = [];
    for (let i = 0; i < 125; i++) pages.push({ offset: i * 4096, flags: 0x203, data: new Uint8Array(4096).fill(i), chunks: 0xffff });
    assert.equal(toHex(viaMeasurement(1, 0x100000, pages).finalize()), oracle(1, 0x100000, pages));
  });

  test('a stream that moves to the hashing thread: the same MRENCLAVE and peeks as one hashed here', () => {
    const { provider: counting, asked: opened } = countingPipelines();
    // a: moves to the hashing thread; b: hashed here; c: peeked before its first buffer filled,
    // so its stream had begun here and stays here.
    const a = new Measurement(counting), b = new Measurement(IN_THREAD), c = new Measurement(counting);
    for (const m of [a, b, c]) m.ecreate(1, 0x1000000);
    assert.equal(toHex(c.peek()), toHex(b.peek()));
    const peeks: [string, string][] = [];
    for (let i = 0; i < 300; i++) {
      const page = new Uint8Array(4096).fill(i * 7);
      for (const m of [a, b, c]) {
        m.eadd(i * 4096, 0x203);
        for (let k = 0; k < 4096; k += 256) m.eextendAt(i * 4096 + k, page, k);
      }
      if (i % 97 === 96) peeks.push([toHex(a.peek()), toHex(b.peek())]);
    }
    assert.deepEqual(opened, [true], 'a moved to the hashing thread once, when it outgrew its first buffer; c never tried');
    for (const [x, y] of peeks) assert.equal(x, y);
    const pages: OraclePage[] = [];
    for (let i = 0; i < 300; i++) pages.push({ offset: i * 4096, flags: 0x203, data: new Uint8Array(4096).fill(i * 7), chunks: 0xffff });
    assert.equal(toHex(a.finalize()), oracle(1, 0x1000000, pages));
    assert.equal(toHex(b.finalize()), oracle(1, 0x1000000, pages));
    assert.equal(toHex(c.finalize()), oracle(1, 0x1000000, pages));
  });

  test('EADD records across the hashing thread\'s buffers (measured pages, then a large heap: EADDs only)', () => {
    const { provider: counting, asked } = countingPipelines();
    const code = new Uint8Array(4096).fill(9);
    for (const n of [5119, 5120, 5121, 12000]) {
      const a = new Measurement(counting), b = new Measurement(IN_THREAD);
      const pages: OraclePage[] = [];
      for (let i = 0; i < 70; i++) pages.push({ offset: i * 4096, flags: 0x205, data: code, chunks: 0xffff });
      for (let i = 70; i < 70 + n; i++) pages.push({ offset: i * 4096, flags: 0x203, data: new Uint8Array(4096), chunks: 0 });
      for (const m of [a, b]) {
        m.ecreate(1, 2 ** 30);
        for (const p of pages) {
          m.eadd(p.offset, p.flags);
          if (p.chunks) for (let c = 0; c < 4096; c += 256) m.eextendAt(p.offset + c, p.data, c);
        }
      }
      const expect = oracle(1, 2 ** 30, pages);
      assert.equal(toHex(a.finalize()), expect, `${n} EADDs`);
      assert.equal(toHex(b.finalize()), expect, `${n} EADDs`);
    }
    assert.equal(granted(asked), 4, 'every stream moved to the hashing thread');
  });

  test('a stream of EADD records alone (a heap) stays in this thread', () => {
    const { provider: counting, asked } = countingPipelines();
    const m = new Measurement(counting);
    m.ecreate(1, 2 ** 30);
    for (let i = 0; i < 20000; i++) m.eadd(i * 4096, 0x203);
    const pages: OraclePage[] = Array.from({ length: 20000 }, (_, i) => ({ offset: i * 4096, flags: 0x203, data: new Uint8Array(4096), chunks: 0 }));
    assert.equal(toHex(m.finalize()), oracle(1, 2 ** 30, pages));
    assert.equal(asked.length, 0);
  });

  test('a disposed measurement takes no more records and has no digest; others are unaffected', () => {
    const page = new Uint8Array(4096).fill(3);
    const a = new Measurement(crypto), b = new Measurement(crypto);
    for (const m of [a, b]) {
      m.ecreate(1, 0x1000000);
      for (let i = 0; i < 100; i++) for (let c = 0; c < 4096; c += 256) m.eextendAt(i * 4096 + c, page, c);
    }
    a.dispose();
    const disposed = (e: unknown) => e instanceof ArchError && e.code === 'MEASUREMENT_DISPOSED';
    assert.throws(() => a.eadd(0, 0x203), disposed);
    assert.throws(() => a.eextendAt(0, page, 0), disposed);
    assert.throws(() => a.finalize(), disposed);
    assert.throws(() => a.peek(), disposed);
    for (let i = 100; i < 200; i++) for (let c = 0; c < 4096; c += 256) b.eextendAt(i * 4096 + c, page, c);
    const pages: OraclePage[] = Array.from({ length: 200 }, (_, i) => ({ offset: i * 4096, flags: 0, data: page, chunks: 0xffff }));
    // The oracle with EADD records left out: build it from the records b received.
    const log = new MeasurementLog();
    log.ecreate(1, 0x1000000);
    for (const p of pages) for (let c = 0; c < 4096; c += 256) log.eextend(p.offset + c, page.subarray(c, c + 256));
    const ref = new Measurement(IN_THREAD);
    log.replay(ref);
    assert.equal(toHex(b.finalize()), toHex(ref.finalize()));
  });

  test('measuring a malformed SGXS stream gives its hashing-thread stream back', () => {
    const { provider: counting, asked } = countingPipelines();
    const page = new Uint8Array(4096).fill(5);
    const w = new SgxsWriter();
    w.ecreate(1, 0x1000000);
    for (let i = 0; i < 100; i++) {
      w.eadd(i * 4096, 0x203);
      for (let c = 0; c < 4096; c += 256) w.eextend(i * 4096 + c, page.subarray(c, c + 256));
    }
    const truncated = w.bytes().subarray(0, w.bytes().length - 100);
    for (let k = 0; k < 12; k++) assert.throws(() => measureSgxs(truncated, counting), (e: unknown) => e instanceof SgxsError);
    assert.equal(granted(asked), 12, 'each of the 12 got a stream: the earlier ones were given back');
  });

  test('measurements dropped before EINIT give their hashing-thread stream back', () => {
    const { provider: counting, asked } = countingPipelines();
    const page = new Uint8Array(4096).fill(1);
    for (let k = 0; k < 20; k++) {
      const m = new Measurement(counting);
      m.ecreate(1, 0x1000000);
      for (let i = 0; i < 80; i++) for (let c = 0; c < 4096; c += 256) m.eextendAt(i * 4096 + c, page, c);
      m.dispose();
    }
    assert.equal(granted(asked), 20);
  });

  test('a hashing thread that fails ends the measurement (MEASUREMENT_FAILED for every later record and digest) and gives its stream back', () => {
    const page = new Uint8Array(4096).fill(5);
    for (const failAt of ['submit', 'peek', 'final'] as const) {
      let closed = 0, submits = 0;
      const provider: CryptoProvider = { ...crypto, openSha256Pipeline: () => {
        const real = crypto.openSha256Pipeline!();
        if (real === null) return null;
        const dead = () => new Error('the worker died');
        return {
          get buffer() { return real.buffer; },
          submit(n: number) {
            if (failAt === 'submit' && ++submits === 2) { real.close(); throw dead(); }
            real.submit(n);
          },
          digest(n: number, final: boolean) {
            if (failAt === (final ? 'final' : 'peek')) { real.close(); throw dead(); }
            return real.digest(n, final);
          },
          close() { closed++; real.close(); },
        };
      } };
      const m = new Measurement(provider);
      const failed = (e: unknown) => e instanceof ArchError && e.code === 'MEASUREMENT_FAILED';
      m.ecreate(1, 0x10000000);
      let threw = false;
      try {
        for (let i = 0; i < 400; i++) for (let c = 0; c < 4096; c += 256) m.eextendAt(i * 4096 + c, page, c);
        if (failAt === 'peek') m.peek();
        if (failAt === 'final') m.finalize();
      } catch (e) {
        assert.ok(failed(e), `${failAt}: ${String(e)}`);
        threw = true;
      }
      assert.equal(threw, true, `${failAt}: the failure is reported`);
      assert.throws(() => m.eadd(0, 0x203), failed, `${failAt}: no record after it`);
      assert.throws(() => m.eextendAt(0, page, 0), failed);
      assert.throws(() => m.peek(), failed);
      assert.throws(() => m.finalize(), failed);
      assert.equal(closed, 1, `${failAt}: the stream was given back once`);
    }
    // The hashing thread still serves other measurements (these failures were the stream's, not the worker's).
    const { provider: counting, asked } = countingPipelines();
    const ok = new Measurement(counting);
    ok.ecreate(1, 0x1000000);
    for (let i = 0; i < 80; i++) for (let c = 0; c < 4096; c += 256) ok.eextendAt(i * 4096 + c, page, c);
    assert.equal(ok.finalize().length, 32);
    assert.equal(granted(asked), 1);
  });
});

// ---- SGXS -----------------------------------------------------------------------------------

function rec64(tag: bigint, a = 0n, b = 0n): Uint8Array {
  const r = new Uint8Array(64);
  const dv = new DataView(r.buffer);
  dv.setBigUint64(0, tag, true);
  dv.setBigUint64(8, a, true);
  dv.setBigUint64(16, b, true);
  return r;
}
const TAG = { ECREATE: 0x0045544145524345n, EADD: 0x0000000044444145n, EEXTEND: 0x00444e4554584545n };
function ecreateRec(ssa = 1, size = 0x10000): Uint8Array {
  const r = new Uint8Array(64);
  const dv = new DataView(r.buffer);
  dv.setBigUint64(0, TAG.ECREATE, true);
  dv.setUint32(8, ssa, true);
  dv.setBigUint64(12, BigInt(size), true);
  return r;
}
const eaddRec = (offset: number, flags: number) => rec64(TAG.EADD, BigInt(offset), BigInt(flags));
const eextRec = (offset: number, fill = 0) => {
  const r = new Uint8Array(320).fill(fill);
  r.set(rec64(TAG.EEXTEND, BigInt(offset)));
  return r;
};
function cat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function sgxsError(code: string): (e: unknown) => boolean {
  return (e) => e instanceof SgxsError && e instanceof ArchError && e.code === code;
}

describe('parseSgxs errors', () => {
  const good = cat(ecreateRec(), eaddRec(0, 0x203), eextRec(0), eextRec(0x100), eaddRec(0x1000, 0x100));
  test('a well-formed stream parses', () => {
    const r = parseSgxs(good);
    assert.deepEqual(r.map((x) => x.kind), ['ECREATE', 'EADD', 'EEXTEND', 'EEXTEND', 'EADD']);
    assert.deepEqual(r[0], { kind: 'ECREATE', ssaFrameSize: 1, size: 0x10000 });
  });
  const cases: [string, Uint8Array, string][] = [
    ['empty stream', new Uint8Array(0), 'SGXS_NOT_CANONICAL'],
    ['truncated record', good.subarray(0, good.length - 10), 'SGXS_TRUNCATED'],
    ['truncated ECREATE', ecreateRec().subarray(0, 63), 'SGXS_TRUNCATED'],
    ['truncated EEXTEND data', cat(ecreateRec(), eaddRec(0, 0x203), eextRec(0).subarray(0, 200)), 'SGXS_TRUNCATED'],
    ['bad tag', cat(ecreateRec(), rec64(0x4741544755474f42n)), 'SGXS_BAD_TAG'],
    ['unsized', cat(rec64(SGXS_TAG_UNSIZED), eaddRec(0, 0x203)), 'SGXS_UNSIZED'],
    ['EADD before ECREATE', cat(eaddRec(0, 0x203), ecreateRec()), 'SGXS_NOT_CANONICAL'],
    ['two ECREATEs', cat(ecreateRec(), ecreateRec()), 'SGXS_NOT_CANONICAL'],
    ['EADD offset not page-aligned', cat(ecreateRec(), eaddRec(0x800, 0x203)), 'SGXS_NOT_CANONICAL'],
    ['EADD offsets decreasing', cat(ecreateRec(), eaddRec(0x2000, 0x203), eaddRec(0x1000, 0x203)), 'SGXS_NOT_CANONICAL'],
    ['EADD offset repeated', cat(ecreateRec(), eaddRec(0x1000, 0x203), eaddRec(0x1000, 0x203)), 'SGXS_NOT_CANONICAL'],
    ['TCS measured with permissions', cat(ecreateRec(), eaddRec(0, 0x103)), 'SGXS_NOT_CANONICAL'],
    ['EEXTEND before any EADD', cat(ecreateRec(), eextRec(0)), 'SGXS_NOT_CANONICAL'],
    ['EEXTEND outside the preceding page', cat(ecreateRec(), eaddRec(0, 0x203), eextRec(0x1000)), 'SGXS_NOT_CANONICAL'],
    ['EEXTEND below the preceding page', cat(ecreateRec(), eaddRec(0x1000, 0x203), eextRec(0xf00)), 'SGXS_NOT_CANONICAL'],
    ['EEXTEND not 256-aligned', cat(ecreateRec(), eaddRec(0, 0x203), eextRec(0x80)), 'SGXS_NOT_CANONICAL'],
    ['EEXTEND chunk twice', cat(ecreateRec(), eaddRec(0, 0x203), eextRec(0x200), eextRec(0x200)), 'SGXS_NOT_CANONICAL'],
    ['EADD flags beyond 32 bits', cat(ecreateRec(), rec64(TAG.EADD, 0n, 1n << 40n)), 'SGXS_RANGE'],
    ['ECREATE size beyond 2^53', cat(rec64(TAG.ECREATE, 1n << 32n, 0xffffffffn)), 'SGXS_RANGE'],
  ];
  for (const [name, stream, code] of cases) {
    test(`${name} → ${code}`, () => {
      assert.throws(() => parseSgxs(stream), sgxsError(code));
      assert.throws(() => measureSgxs(stream, crypto), sgxsError(code));
    });
  }
  test('the offset of a bad record is reported', () => {
    assert.throws(() => parseSgxs(cat(ecreateRec(), eaddRec(0, 0x203), rec64(0x4141414141414141n))), (e: unknown) => e instanceof SgxsError && e.data.offset === 128);
  });
  test('canonical: false accepts orderings the canonical reader refuses (but not a bad tag)', () => {
    const unordered = cat(ecreateRec(), eaddRec(0x2000, 0x203), eaddRec(0x1000, 0x103), eextRec(0x80), eextRec(0x80));
    assert.throws(() => parseSgxs(unordered), sgxsError('SGXS_NOT_CANONICAL'));
    assert.equal(parseSgxs(unordered, { canonical: false }).length, 5);
    assert.throws(() => parseSgxs(cat(ecreateRec(), rec64(1n)), { canonical: false }), sgxsError('SGXS_BAD_TAG'));
    assert.throws(() => parseSgxs(cat(eaddRec(0, 0x203)), { canonical: false }), sgxsError('SGXS_NOT_CANONICAL'));
  });
});

const writerPagesArb = fc.uniqueArray(
  fc.record({ index: fc.nat(30), flags: fc.constantFrom(0x100, 0x201, 0x203, 0x205, 0x207), measured: fc.integer({ min: 0, max: 0xffff }), unmeasured: fc.integer({ min: 0, max: 0xffff }), fill: fc.integer({ min: 1, max: 255 }) }),
  { selector: (p) => p.index, maxLength: 6 },
).map((ps) => ps.sort((a, b) => a.index - b.index));

describe('SgxsWriter, sgxsPages, MeasurementLog', () => {
  test('writer → parseSgxs round trip, pages reassembled, MRENCLAVE = oracle (property)', () => {
    fc.assert(fc.property(writerPagesArb, (ps) => {
      const w = new SgxsWriter();
      const m = new Measurement(crypto, w);
      m.ecreate(2, 0x20000);
      const expected: SgxsRecord[] = [{ kind: 'ECREATE', ssaFrameSize: 2, size: 0x20000 }];
      const oraclePages: OraclePage[] = [];
      for (const p of ps) {
        const offset = p.index * 4096;
        const data = new Uint8Array(4096);
        for (let c = 0; c < 16; c++) if ((p.measured | p.unmeasured) & (1 << c)) data.fill((p.fill + c) & 0xff || 1, c * 256, c * 256 + 256);
        m.eadd(offset, p.flags);
        expected.push({ kind: 'EADD', offset, secinfoFlags: p.flags });
        for (let c = 0; c < 16; c++) {
          const chunk = data.subarray(c * 256, c * 256 + 256);
          if (p.measured & (1 << c)) {
            m.eextend(offset + c * 256, chunk);
            expected.push({ kind: 'EEXTEND', offset: offset + c * 256, data: chunk.slice() });
          } else if (p.unmeasured & (1 << c)) {
            w.unmeasured(offset + c * 256, chunk);
            expected.push({ kind: 'UNMEASURED', offset: offset + c * 256, data: chunk.slice() });
          }
        }
        oraclePages.push({ offset, flags: p.flags, data, chunks: p.measured });
      }
      const stream = w.bytes();
      const recs = parseSgxs(stream);
      assert.deepEqual(recs, expected);
      const mr = m.finalize();
      assert.equal(toHex(mr), oracle(2, 0x20000, oraclePages));
      assert.deepEqual(measureSgxs(stream, crypto).mrenclave, mr);
      const pages = sgxsPages(recs);
      assert.equal(pages.length, ps.length);
      pages.forEach((pg, i) => {
        assert.equal(pg.offset, oraclePages[i]!.offset);
        assert.equal(pg.secinfoFlags, oraclePages[i]!.flags);
        assert.equal(pg.measuredChunks, ps[i]!.measured);
        assert.deepEqual(pg.data, oraclePages[i]!.data);
      });
      // The streaming readers (the loader's path) see the same records and pages, one at a time.
      const streamed: SgxsRecord[] = [];
      forEachSgxsRecord(stream, (r) => streamed.push(r.kind === 'EEXTEND' || r.kind === 'UNMEASURED' ? { ...r, data: r.data.slice() } : r));
      assert.deepEqual(streamed, expected);
      const visited: { offset: number; secinfoFlags: number; measuredChunks: number; data: Uint8Array }[] = [];
      assert.deepEqual(forEachSgxsPage(stream, (pg) => visited.push({ ...pg, data: pg.data.slice() })), { kind: 'ECREATE', ssaFrameSize: 2, size: 0x20000 });
      assert.deepEqual(visited, pages.map((pg) => ({ ...pg, data: pg.data.slice() })));
    }), { numRuns: 60 });
  });

  test('MEAS_TAG_WORDS are the halves of MEAS_TAG', () => {
    for (const k of ['ECREATE', 'EADD', 'EEXTEND'] as const) assert.deepEqual([...MEAS_TAG_WORDS[k]], [Number(MEAS_TAG[k] & 0xffffffffn), Number(MEAS_TAG[k] >> 32n)], k);
  });

  test('a finalized measurement takes no more records (ArchError MEASUREMENT_FINALIZED)', () => {
    const m = new Measurement(crypto);
    m.ecreate(1, 0x2000);
    const mr = m.finalize();
    for (const add of [() => m.eadd(0, 0x203), () => m.eextend(0, new Uint8Array(256)), () => m.ecreate(1, 0x2000), () => m.eextendAt(0, new Uint8Array(10), 0)]) {
      assert.throws(add, (e: unknown) => e instanceof ArchError && e.code === 'MEASUREMENT_FINALIZED');
    }
    assert.deepEqual(m.finalize(), mr);
  });

  test('EEXTEND records at offsets at and above 2^32 hash as the oracle says (the word-wise writer\'s high word)', () => {
    const data = new Uint8Array(4096).fill(0x5a);
    for (const offset of [2 ** 32, 2 ** 32 + 0x3000, 2 ** 36 - 4096]) {
      const m = new Measurement(crypto);
      m.ecreate(1, 2 ** 36);
      m.eadd(offset, 0x203);
      m.eextendPage(offset, data);
      assert.equal(toHex(m.finalize()), oracle(1, 2 ** 36, [{ offset, flags: 0x203, data, chunks: 0xffff }]), `offset 0x${offset.toString(16)}`);
    }
  });

  test('EEXTEND hashes each chunk as its page holds it then, whichever buffer the page views', () => {
    // Bytes that repeat nowhere (a page or a chunk taken from the wrong place hashes differently).
    let x = 0x9e3779b9;
    const noise = (n: number) => Uint8Array.from({ length: n }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24));
    const shared = noise(3 * 4096), other = noise(4096), odd = noise(4097);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    type Growable = ArrayBuffer & { resize(n: number): void };
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Growable)(4096, { maxByteLength: 3 * 4096 });
    type GrowableShared = SharedArrayBuffer & { grow(n: number): void };
    const growable = new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => GrowableShared)(4096, { maxByteLength: 2 * 4096 });
    const m = new Measurement(crypto);
    const expected: OraclePage[] = [];
    const measure = (offset: number, page: Uint8Array, chunks: number) => {
      m.eadd(offset, 0x203);
      for (let k = 0; k < 16; k++) if ((chunks >> k) & 1) m.eextendAt(offset + k * 256, page, k * 256);
      expected.push({ offset, flags: 0x203, data: page.slice(0, 4096), chunks });
    };
    m.ecreate(1, 1 << 20);
    const a = shared.subarray(0, 4096);
    measure(0x0000, a, 0xffff);
    measure(0x1000, shared.subarray(4096, 8192), 0x80f1); // another page of the same buffer
    measure(0x2000, other, 0xffff); // another buffer
    measure(0x3000, odd.subarray(1, 4097), 0x8001); // bytes not 4-aligned in their buffer
    a.fill(0x77, 100, 300); // the same view again, its bytes changed since
    measure(0x4000, a, 0x0003);
    const first = new Uint8Array(memory.buffer, 0, 4096);
    first.set(noise(4096));
    measure(0x5000, first, 0xffff);
    memory.grow(1); // a new buffer under the memory (the old one is detached)
    for (const [page, at] of [[first, 0], [other, 3841], [other, -256], [other, 0.5]] as const) {
      assert.throws(() => m.eextendAt(0x5000, page, at), (e: unknown) => e instanceof ArchError && e.code === 'MEASUREMENT_CHUNK', `${page.length} bytes at ${at}: refused, nothing written`);
    }
    const second = new Uint8Array(memory.buffer, 4096, 4096);
    second.set(noise(4096));
    measure(0x6000, second, 0xffff);
    measure(0x7000, shared.subarray(8192), 0xffff); // back to the first buffer
    // Buffers whose length changes under their views: read as they are at each EEXTEND.
    new Uint8Array(resizable).set(noise(4096));
    measure(0x8000, new Uint8Array(resizable, 0, 4096), 0xffff);
    resizable.resize(3 * 4096);
    const grown = new Uint8Array(resizable, 2 * 4096, 4096);
    grown.set(noise(4096));
    measure(0x9000, grown, 0xffff);
    resizable.resize(4096);
    measure(0xa000, new Uint8Array(resizable, 0, 4096), 0xffff);
    new Uint8Array(growable).set(noise(4096));
    measure(0xb000, new Uint8Array(growable, 0, 4096), 0x00ff);
    growable.grow(2 * 4096);
    const tail = new Uint8Array(growable, 4096, 4096);
    tail.set(noise(4096));
    measure(0xc000, tail, 0xffff);
    m.eadd(0xd000, 0x203);
    m.eextend(0xd000, other.subarray(256, 512)); // a 256-byte chunk on its own
    const chunkPage = new Uint8Array(4096);
    chunkPage.set(other.subarray(256, 512));
    expected.push({ offset: 0xd000, flags: 0x203, data: chunkPage, chunks: 1 });
    assert.equal(toHex(m.finalize()), oracle(1, 1 << 20, expected));
  });

  test('EADD records carry SECINFO.FLAGS as 64 bits, high bits included (the word-wise writer)', () => {
    for (const flags of [0x203, 0x1_0203, 0x7fff_ff07, 0xffff_ffff, 2 ** 32 + 0x203, 2 ** 53 - 1]) {
      for (const offset of [0x1000, 2 ** 32 + 0x3000]) {
        const m = new Measurement(crypto);
        m.ecreate(1, 2 ** 36);
        m.eadd(offset, flags);
        const expected = Buffer.alloc(128);
        const v = new DataView(expected.buffer, expected.byteOffset, 128);
        expected.set(ascii8('ECREATE'), 0);
        v.setUint32(8, 1, true);
        v.setBigUint64(12, 2n ** 36n, true);
        expected.set(ascii8('EADD'), 64);
        v.setBigUint64(72, BigInt(offset), true);
        v.setBigUint64(80, BigInt(flags), true);
        assert.equal(toHex(m.finalize()), createHash('sha256').update(expected).digest('hex'), `flags 0x${flags.toString(16)} at 0x${offset.toString(16)}`);
      }
    }
  });

  test('a record with a field out of range is refused before any of it is written (MEASUREMENT_RECORD)', () => {
    const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 29 + 3) & 255);
    const m = new Measurement(crypto);
    m.ecreate(1, 1 << 20);
    const refused = (fn: () => void, what: string) => assert.throws(fn, (e: unknown) => e instanceof ArchError && e.code === 'MEASUREMENT_RECORD', what);
    for (const offset of [-4096, 0.5, 2 ** 53, NaN]) {
      refused(() => m.eadd(offset, 0x203), `EADD offset ${offset}`);
      refused(() => m.eextendAt(offset, data, 0), `EEXTEND offset ${offset}`);
    }
    for (const flags of [-1, 2 ** 53, 0.5]) refused(() => m.eadd(0x1000, flags), `flags ${flags}`);
    m.eadd(0x1000, 0x203);
    m.eextendPage(0x1000, data);
    assert.equal(toHex(m.finalize()), oracle(1, 1 << 20, [{ offset: 0x1000, flags: 0x203, data, chunks: 0xffff }]));
  });

  test('parseSgxs copies chunk data out of the stream; pages without chunks share one zero buffer', () => {
    const w = new SgxsWriter();
    w.ecreate(1, 0x4000);
    w.eadd(0, 0x203);
    w.eextend(0, new Uint8Array(256).fill(5));
    w.eadd(0x1000, 0x203);
    w.eadd(0x2000, 0x203);
    const stream = w.bytes();
    const recs = parseSgxs(stream);
    stream.fill(0, 128, 128 + 320); // overwrite the EEXTEND record in the stream
    assert.equal((recs[2] as { data: Uint8Array }).data[0], 5);
    const pages = sgxsPages(recs);
    assert.equal(pages[0]!.data[0], 5);
    assert.equal(pages[1]!.data, pages[2]!.data);
    assert.ok(pages[1]!.data.every((b) => b === 0));
    // Streaming errors are the same as parsing errors.
    assert.throws(() => forEachSgxsPage(stream.subarray(0, 100), () => undefined), sgxsError('SGXS_TRUNCATED'));
    assert.throws(() => forEachSgxsRecord(stream.subarray(64), () => undefined), sgxsError('SGXS_NOT_CANONICAL'));
  });

  test('all-zero unmeasured chunks are omitted; non-zero ones are tagged UNMEASRD', () => {
    const w = new SgxsWriter();
    w.ecreate(1, 0x2000);
    w.eadd(0, 0x203);
    w.unmeasured(0, new Uint8Array(256));
    assert.equal(w.bytes().length, 128);
    w.unmeasured(0x100, new Uint8Array(256).fill(1));
    const b = w.bytes();
    assert.equal(b.length, 128 + 320);
    assert.equal(new DataView(b.buffer).getBigUint64(128, true), SGXS_TAG_UNMEASURED);
    assert.equal(new TextDecoder().decode(b.subarray(128, 136)), 'UNMEASRD');
  });

  test('MeasurementLog: replay into a fresh Measurement equals the original; chunks are copied', () => {
    const log = new MeasurementLog();
    const chunk = new Uint8Array(256).fill(7);
    const m = new Measurement(crypto, log);
    m.ecreate(1, 0x4000);
    m.eadd(0x1000, 0x205);
    m.eextend(0x1000, chunk);
    chunk.fill(9); // must not change the logged record
    m.eadd(0x2000, 0x203);
    m.eextendPage(0x2000, new Uint8Array(4096).fill(3));
    const mr = m.finalize();
    assert.equal(log.records.length, 1 + 1 + 1 + 1 + 16);
    const again = new Measurement(crypto);
    log.replay(again);
    assert.deepEqual(again.finalize(), mr);
    assert.deepEqual(log.mrenclave(crypto), mr);
    assert.deepEqual((log.records[2] as { data: Uint8Array }).data, new Uint8Array(256).fill(7));
    // a log replayed into an SGXS writer is an SGXS stream of the same enclave
    const w = new SgxsWriter();
    log.replay(w);
    assert.deepEqual(measureSgxs(w.bytes(), crypto).mrenclave, mr);
    const fromRecords = new Measurement(crypto);
    replaySgxs(parseSgxs(w.bytes()), fromRecords);
    assert.deepEqual(fromRecords.finalize(), mr);
  });

  test('UNMEASRD records are not replayed into the measurement', () => {
    const w = new SgxsWriter();
    w.ecreate(1, 0x2000);
    w.eadd(0, 0x203);
    const plain = measureSgxs(w.bytes(), crypto).mrenclave;
    w.unmeasured(0, new Uint8Array(256).fill(0x55));
    assert.deepEqual(measureSgxs(w.bytes(), crypto).mrenclave, plain);
    assert.equal(toHex(plain), oracle(1, 0x2000, [{ offset: 0, flags: 0x203, data: new Uint8Array(4096), chunks: 0 }]));
  });
});
