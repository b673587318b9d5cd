/**
 * OCALLs and a host that lies in them (the marshal fixture's ecall_ocall_lie, ecall_ocall_big,
 * ecall_stack_ocall). After an OCALL the enclave must copy back only what it declared, from where
 * it put it, with the width it declared: it may not trust the ms it wrote (the host can rewrite its
 * pointers), the bytes past a declared buffer, a return value wider than its type, RSI on ORET, or
 * the ECALL's own ms (re-read after the OCALL). The enclave's memory around its buffers is checked
 * afterwards (a 64-byte zone and a 16-byte return area filled with 0xC3, and the 256-byte secret).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { u64le, writeU64le, toHex } from '../../src/lib/index.js';
import { ENCLU, newRegisters, type ExitInfo, type Registers } from '../../src/arch/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_ECALL_RETURN, ECMD_ORET, loadEnclave, buildImage, resolveEdl, SdkError, EnclaveCallError, type HostEnclave } from '../../src/sdk/index.js';
import { REPO_ROOT } from '../helpers/vectors.js';
import { helloEnclave } from '../helpers/hello.js';
import type { Platform } from '../../src/platform/index.js';
import { newPlatform, loadFixture, readLog, untrusted, ecallPlan, writeMs, rawEnter, linearOf, signFixture, RAW_AEP, STATUS } from '../helpers/sdk.js';

const C3 = 0xc3;
const dec = new TextDecoder();

/** What ecall_ocall_lie's zone must hold when the OCALL wrote `out` (16 bytes) and `io` (8 bytes). */
function expectedZone(out: Uint8Array | null, io: Uint8Array): Uint8Array {
  const z = new Uint8Array(64).fill(C3);
  if (out) z.set(out, 16);
  z.set(io, 40);
  return z;
}
const IO_IN = Uint8Array.from({ length: 8 }, (_, i) => 0x10 + i);
const OUT_HOST = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const IO_HOST = Uint8Array.from({ length: 8 }, (_, i) => 0xd0 + i);

let p: Platform;
let e: HostEnclave;
let ocallImpl: (...a: (number | bigint | Uint8Array | string | null)[]) => number | bigint | void = () => 0;
let bigImpl: (...a: (number | bigint | Uint8Array | string | null)[]) => number | bigint | void = () => 0;

before(() => {
  p = newPlatform();
  e = loadFixture(p, 'marshal', { ocalls: { ocall_lie: (...a) => ocallImpl(...a), ocall_big: (...a) => bigImpl(...a) } });
});

describe('an honest host (HostEnclave)', () => {
  test('the OCALL sees the [in, out] bytes, a zeroed [out] buffer, the string and the value; its results come back exactly', () => {
    const seen: unknown[] = [];
    ocallImpl = (out, io, note, tag) => {
      seen.push(toHex(out as Uint8Array), toHex(io as Uint8Array), note, tag);
      (out as Uint8Array).set(OUT_HOST);
      (io as Uint8Array).set(IO_HOST);
      return -2;
    };
    const zone = new Uint8Array(64), ret = new Uint8Array(16);
    assert.equal(e.ecall('ecall_ocall_lie', [zone, ret]), STATUS.SUCCESS);
    assert.deepEqual(seen, ['00'.repeat(16), toHex(IO_IN), 'a note from the enclave', 0xc0ffee]);
    assert.deepEqual(zone, expectedZone(OUT_HOST, IO_HOST));
    assert.equal(toHex(ret), 'c3c3c3c3' + 'feff' + 'c3'.repeat(10));
  });

  test('a result wider than the declared int16_t is narrowed to 16 bits', () => {
    ocallImpl = () => 0x12345;
    const ret = new Uint8Array(16);
    e.ecall('ecall_ocall_lie', [new Uint8Array(64), ret]);
    assert.equal(toHex(ret), 'c3c3c3c3' + '4523' + 'c3'.repeat(10));
  });

  test('an OCALL whose [out] buffer the enclave places past the end of its memory is refused inside (INVALID_PARAMETER), the host never called', () => {
    let called = 0;
    ocallImpl = () => {
      called++;
      return 0;
    };
    const ocallsBefore = e.stats.ocalls;
    assert.equal(e.ecall('ecall_ocall_bad_pointer', []), STATUS.INVALID_PARAMETER);
    assert.equal(called, 0);
    assert.equal(e.stats.ocalls, ocallsBefore);
    assert.equal(new DataView(readLog(e)[0]!.bytes.buffer).getInt16(0, true), 0x7777, 'the result is not written');
  });

  test('a big [in] buffer reaches the host intact', () => {
    bigImpl = (buf, len) => {
      const b = buf as Uint8Array;
      assert.equal(b.length, len);
      for (let i = 0; i < b.length; i++) if (b[i] !== (i & 0xff)) assert.fail(`byte ${i}`);
      return b.length;
    };
    assert.equal(e.ecall('ecall_ocall_big', [4096]), 0x10000 + 4096);
  });

  test('an [in, wstring] argument reaches the host as a string; a code unit that is no Unicode scalar value (the enclave wrote what it liked) is U+FFFD, not a RangeError', () => {
    const got: unknown[] = [];
    const own = loadFixture(p, 'marshal', { ocalls: { ocall_wide: (s) => void got.push(s) } });
    for (const unit of [0x42, 0x1f600, 0x110000, 0xffffffff, 0xd800, 0xdfff]) assert.equal(own.ecall('ecall_ocall_wide', [unit]), STATUS.SUCCESS, `unit 0x${unit.toString(16)}`);
    assert.deepEqual(got, ['AB', 'A\u{1f600}', 'A\ufffd', 'A\ufffd', 'A\ufffd', 'A\ufffd']);
    own.destroy();
  });
});

describe("ocallBuffers 'lent': an OCALL's buffers are views the loader reuses (the untrusted stack's pointers)", () => {
  test('the implementation sees the same bytes and its results come back; each call gets the same memory again, where "copied" gives every call bytes of its own', () => {
    for (const mode of ['lent', 'copied'] as const) {
      const kept: Uint8Array[] = [];
      let firstSeen = '';
      const own = loadFixture(p, 'marshal', {
        ocallBuffers: mode,
        ocalls: {
          ocall_lie: (out, io, note, tag) => {
            assert.equal(toHex(out as Uint8Array), '00'.repeat(16), 'the [out] buffer arrives zeroed');
            assert.equal(toHex(io as Uint8Array), toHex(IO_IN));
            assert.equal(note, 'a note from the enclave');
            assert.equal(tag, 0xc0ffee);
            if (kept.length === 1) firstSeen = toHex(kept[0]!); // the first call's view, as the second call begins
            kept.push(io as Uint8Array);
            (out as Uint8Array).set(OUT_HOST);
            (io as Uint8Array).set(IO_HOST);
            return 7;
          },
        },
      });
      for (let i = 0; i < 2; i++) {
        const zone = new Uint8Array(64), ret = new Uint8Array(16);
        assert.equal(own.ecall('ecall_ocall_lie', [zone, ret]), STATUS.SUCCESS);
        assert.deepEqual(zone, expectedZone(OUT_HOST, IO_HOST), `${mode}, call ${i}`);
        assert.equal(toHex(ret), 'c3c3c3c3' + '0700' + 'c3'.repeat(10));
      }
      if (mode === 'lent') {
        assert.equal(kept[0]!.buffer, kept[1]!.buffer, 'both calls were lent the same memory');
        assert.equal(kept[0]!.byteOffset, kept[1]!.byteOffset);
        assert.equal(firstSeen, toHex(IO_IN), 'a view kept from the first call holds what the second call was given');
      } else {
        assert.notEqual(kept[0]!.buffer, kept[1]!.buffer);
        assert.equal(firstSeen, toHex(IO_HOST), 'a copy kept from the first call holds what its implementation wrote');
      }
      own.destroy();
    }
  });

  test("a nested ECALL's OCALL, made from an implementation, is lent other memory: the outer implementation's view keeps its bytes", () => {
    // ecall_ocall_big(len) sends bytes 0, 1, 2, … (len of them) to ocall_big, whose allow list admits ecall_ocall_big.
    let depth = 0;
    const views: Uint8Array[] = [];
    const own: HostEnclave = loadFixture(p, 'marshal', {
      ocallBuffers: 'lent',
      ocalls: {
        ocall_big: (buf, len) => {
          const b = buf as Uint8Array;
          views.push(b);
          if (depth++ === 0) {
            assert.equal(own.ecall('ecall_ocall_big', [300]), 0x10000 + 300);
            const inner = views[1]!;
            assert.ok(inner.buffer !== b.buffer || inner.byteOffset >= b.byteOffset + b.length || b.byteOffset >= inner.byteOffset + inner.length, 'the nested OCALL was lent other bytes');
            for (let i = 0; i < b.length; i++) if (b[i] !== (i & 0xff)) assert.fail(`the outer view's byte ${i} changed during the nested call`);
          } else b.fill(0xee); // the host may scribble on an [in] buffer: in another OCALL's view it would show
          return len as number;
        },
      },
    });
    assert.equal(own.ecall('ecall_ocall_big', [4000]), 0x10000 + 4000);
    assert.equal(views.length, 2);
    own.destroy();
  });

  test('any other value is refused at load (BAD_OPTIONS), before anything is created', () => {
    const free = p.processor.inspect.freeEpcPages;
    for (const bad of ['borrowed', true, 1]) {
      assert.throws(() => loadFixture(p, 'marshal', { ocallBuffers: bad as never }), (x: unknown) => x instanceof SdkError && x.code === 'BAD_OPTIONS' && /ocallBuffers/.test(x.message));
    }
    assert.equal(p.processor.inspect.freeEpcPages, free);
  });
});

describe('a lying host (entering with the processor directly)', () => {
  let U: number; // ms at +0, the ECALL's zone at +0x1000 and return area at +0x1100, scratch at +0x8000
  const MS = 0, ZONE = 0x1000, RET = 0x1100, SCRATCH = 0x8000, SCRATCH_SIZE = 0x1000;
  let secret: number;
  before(() => {
    U = untrusted(p, 0x10000, 0x4400_0000);
    secret = linearOf(e, e.ecall('ecall_secret_addr') as number);
  });

  interface OcallExit {
    readonly index: number;
    readonly ms: number;
    readonly regs: Registers;
  }

  /** Run `name` with a handler that gets each OCALL exit and returns (the handler then ORETs unless it says otherwise). */
  function run(name: string, slots: (number | bigint)[], onOcall: (o: OcallExit) => number | void, scratchSize = SCRATCH_SIZE): { status: number; ret: bigint; exits: ExitInfo[] } {
    writeMs(p, U + MS, slots);
    p.process.write(U + SCRATCH, new Uint8Array(SCRATCH_SIZE).fill(0xee));
    const exits: ExitInfo[] = [];
    const tcs = e.tcs[0]!;
    const { exit, regs } = rawEnter(p, e, {
      index: ecallPlan(e, name).index, ms: U + MS, scratch: U + SCRATCH, scratchSize,
      handler: (x, r) => {
        if (x.reason === 'eexit' && r.rdi === EXIT_ECALL_RETURN) return 0;
        exits.push(x);
        assert.equal(x.reason, 'eexit', `unexpected ${x.reason}: ${x.detail ?? ''}`);
        const ms = r.rsi;
        r.rsi = STATUS.SUCCESS; // the OCALL's status at the ORET, unless onOcall says otherwise
        const leaf = onOcall({ index: r.rdi, ms, regs: r });
        if (typeof leaf === 'number') return leaf;
        r.rbx = tcs;
        r.rcx = RAW_AEP;
        r.rdi = ECMD_ORET;
        return ENCLU.EENTER;
      },
    });
    assert.equal(exit.reason, 'eexit', `${exit.reason}: ${exit.detail ?? ''}`);
    assert.equal(regs.rdi, EXIT_ECALL_RETURN);
    return { status: regs.rax, ret: u64le(p.process.read(U + MS + 8 * slots.length, 8), 0), exits };
  }

  const slot = (ms: number, i: number): number => Number(u64le(p.process.read(ms + 8 * i, 8), 0));
  const setSlot = (ms: number, i: number, v: bigint | number): void => {
    const b = new Uint8Array(8);
    writeU64le(b, 0, BigInt.asUintN(64, BigInt(v)));
    p.process.write(ms + 8 * i, b);
  };
  const inScratch = (a: number, n: number): boolean => a >= U + SCRATCH && a + n <= U + SCRATCH + SCRATCH_SIZE;

  test('the OCALL ms and its buffers lie in the scratch area; the [out] buffer reaches the host zeroed; nothing else is written', () => {
    let checked = false;
    const r = run('ecall_ocall_lie', [U + ZONE, U + RET], ({ index, ms }) => {
      assert.equal(index, e.plan.ocalls.findIndex((f) => f.name === 'ocall_lie'));
      assert.ok(inScratch(ms, 40), `ms at 0x${ms.toString(16)}`);
      const out = slot(ms, 0), io = slot(ms, 1), note = slot(ms, 2);
      assert.ok(inScratch(out, 16) && inScratch(io, 8) && inScratch(note, 24));
      assert.equal(slot(ms, 3), 0xc0ffee);
      assert.equal(toHex(p.process.read(out, 16)), '00'.repeat(16), 'the enclave\'s zone (0xC3) must not reach the host');
      assert.deepEqual(p.process.read(io, 8), IO_IN);
      assert.equal(dec.decode(p.process.read(note, 24)), 'a note from the enclave\0');
      // Everything the enclave wrote is within [ms, end of its last buffer]; the rest of the scratch is untouched.
      const end = Math.max(ms + 40, out + 16, io + 8, note + 24);
      const rest = p.process.read(end, U + SCRATCH + SCRATCH_SIZE - end);
      assert.ok(rest.every((x) => x === 0xee), 'the enclave wrote past its OCALL data');
      checked = true;
      p.process.write(out, OUT_HOST);
      p.process.write(io, IO_HOST);
    });
    assert.ok(checked);
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(r.ret, 0n, 'the OCALL succeeded');
    assert.deepEqual(p.process.read(U + ZONE, 64), expectedZone(OUT_HOST, IO_HOST));
  });

  test('rewritten ms pointers, bytes past the declared buffers, an out-of-range result and bits of RSI above the status: only the declared bytes, from the enclave\'s own addresses', () => {
    const r = run('ecall_ocall_lie', [U + ZONE, U + RET], ({ ms, regs }) => {
      const out = slot(ms, 0), io = slot(ms, 1);
      // Honest results where the enclave put the buffers…
      p.process.write(out, OUT_HOST);
      p.process.write(out + 16, new Uint8Array(48).fill(0xbb)); // …and 48 bytes past [out]
      p.process.write(io, IO_HOST);
      p.process.write(io + 8, new Uint8Array(40).fill(0xbc)); // …and past [in, out]
      // Decoys elsewhere, and the ms pointed at them and at the enclave itself.
      p.process.write(U + 0x2000, new Uint8Array(64).fill(0x66));
      setSlot(ms, 0, U + 0x2000);
      setSlot(ms, 1, secret);
      setSlot(ms, 2, secret + 64);
      setSlot(ms, 3, 0xffffffffffffn);
      setSlot(ms, 4, 0x7fff_1234_5678_9abcn); // int16_t result: only 0x9abc may be taken
      regs.rsi = 2 ** 40; // the status is RSI's low 32 bits (SUCCESS here)
    });
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(r.ret, 0n);
    assert.deepEqual(p.process.read(U + ZONE, 64), expectedZone(OUT_HOST, IO_HOST));
    assert.equal(toHex(p.process.read(U + RET, 16)), 'c3c3c3c3' + 'bc9a' + 'c3'.repeat(10));
    assert.equal(e.ecall('ecall_secret_check'), 0);
  });

  test('an ORET whose RSI holds a status other than SUCCESS: the OCALL fails with it, and the enclave takes nothing back (no [out] bytes, no result)', () => {
    // A value no register can hold (NaN, a fraction, a negative number) is UNEXPECTED.
    for (const [rsi, status] of [[STATUS.UNEXPECTED, STATUS.UNEXPECTED], [STATUS.INVALID_FUNCTION, STATUS.INVALID_FUNCTION], [0x7fff_ffff, 0x7fff_ffff], [2 ** 32 + STATUS.INVALID_PARAMETER, STATUS.INVALID_PARAMETER], [NaN, STATUS.UNEXPECTED], [0.5, STATUS.UNEXPECTED], [-1, STATUS.UNEXPECTED]] as const) {
      const r = run('ecall_ocall_lie', [U + ZONE, U + RET], ({ ms, regs }) => {
        p.process.write(slot(ms, 0), OUT_HOST);
        p.process.write(slot(ms, 1), IO_HOST);
        setSlot(ms, 4, 0x1234n);
        regs.rsi = rsi;
      });
      assert.equal(r.status, STATUS.SUCCESS, 'the ECALL itself returns');
      assert.equal(r.ret, BigInt(status), `ocall_lie returned the ORET's status (RSI ${rsi})`);
      assert.deepEqual(p.process.read(U + ZONE, 64), expectedZone(null, IO_IN), 'neither [out] nor [in, out] was copied back');
      assert.equal(toHex(p.process.read(U + RET, 16)), 'c3'.repeat(16), 'the result was not taken');
    }
    assert.equal(e.ecall('ecall_secret_check'), 0);
  });

  test('an int32_t result with the upper half of its slot set', () => {
    const r = run('ecall_ocall_big', [64], ({ ms }) => {
      setSlot(ms, 2, 0xffff_ffff_0000_0005n);
    });
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(r.ret & 0xffffffffn, 0x10005n);
  });

  test('the ECALL\'s own ms rewritten during the OCALL: results still go to the buffers the ECALL was given', () => {
    const r = run('ecall_ocall_lie', [U + ZONE, U + RET], ({ ms }) => {
      p.process.write(slot(ms, 0), OUT_HOST);
      p.process.write(slot(ms, 1), IO_HOST);
      setSlot(U + MS, 0, secret); // the ECALL's [out] zone
      setSlot(U + MS, 1, secret + 128); // the ECALL's [out] return area
    });
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(e.ecall('ecall_secret_check'), 0, 'the ECALL\'s results were written into the enclave');
    assert.deepEqual(p.process.read(U + ZONE, 64), expectedZone(OUT_HOST, IO_HOST));
    assert.equal(slot(U + MS, 0), secret, 'the runtime does not rewrite the ms argument slots');
  });

  test('re-entering with an ECALL index instead of ORET fails the OCALL (UNEXPECTED) without copying its results', () => {
    const r = run('ecall_ocall_lie', [U + ZONE, U + RET], ({ ms, regs }) => {
      p.process.write(slot(ms, 0), OUT_HOST);
      p.process.write(slot(ms, 1), IO_HOST);
      setSlot(ms, 4, 0x1111);
      regs.rbx = e.tcs[0]!;
      regs.rcx = RAW_AEP;
      regs.rdi = ecallPlan(e, 'ecall_void').index;
      return ENCLU.EENTER;
    });
    assert.equal(r.status, STATUS.SUCCESS);
    assert.equal(r.ret, BigInt(STATUS.UNEXPECTED), 'the OCALL\'s status as the enclave saw it');
    assert.deepEqual(p.process.read(U + ZONE, 64), expectedZone(null, IO_IN), 'nothing copied back from a failed OCALL');
    assert.equal(toHex(p.process.read(U + RET, 16)), 'c3'.repeat(16));
  });

  test('a scratch area too small for the OCALL: the OCALL fails inside with OUT_OF_MEMORY, the host sees no exit', () => {
    for (const size of [0, 8, 64]) {
      const r = run('ecall_ocall_big', [100], () => assert.fail('no OCALL exit expected'), size);
      assert.equal(r.status, STATUS.SUCCESS);
      assert.equal(r.ret, BigInt(STATUS.OUT_OF_MEMORY), `scratch of ${size} bytes`);
      assert.equal(r.exits.length, 0);
    }
    const ok = run('ecall_ocall_big', [100], ({ ms }) => setSlot(ms, 2, 7), 4096);
    assert.equal(ok.ret, 0x10007n);
  });

  test('the enclave is intact after all of it', () => {
    assert.equal(e.ecall('ecall_secret_check'), 0);
    assert.equal(e.ecall('ecall_ret_i32', [42]), 42);
  });
});

describe('an OCALL implementation that throws', () => {
  test('the ECALL rejects with the same error; the enclave stays usable', () => {
    const boom = new Error('the host failed');
    let calls = 0;
    ocallImpl = () => {
      calls++;
      throw boom;
    };
    const before = { ...e.stats };
    assert.throws(() => e.ecall('ecall_ocall_lie', [new Uint8Array(64), new Uint8Array(16)]), (x: unknown) => x === boom);
    assert.equal(calls, 1, 'the implementation ran once (the exit it failed in is not served again)');
    assert.equal(e.stats.ocalls - before.ocalls, 1);
    ocallImpl = () => 3;
    const ret = new Uint8Array(16);
    assert.equal(e.ecall('ecall_ocall_lie', [new Uint8Array(64), ret]), STATUS.SUCCESS);
    assert.equal(toHex(ret.subarray(4, 6)), '0300');
  });

  test('a nested ECALL refused during an OCALL restores the C stack pointer to where the outer ECALL left it, not to the top: the next nested ECALL\'s frame lies below the outer one\'s 8 KiB frame', () => {
    let own: HostEnclave | null = null;
    const probes: number[] = [];
    let refused: unknown = null;
    own = loadFixture(p, 'marshal', { ocalls: { ocall_big: () => {
      try {
        own!.ecall('ecall_stack_probe'); // public, not in ocall_big's allow list: refused inside the enclave
      } catch (x) {
        refused = x;
      }
      probes.push(own!.ecall('ecall_private_probe') as number);
      return 0;
    } } });
    try {
      const top = own.ecall('ecall_stack_probe') as number;
      assert.equal(own.ecall('ecall_stack_ocall', [16]), 0x10000);
      assert.ok(refused instanceof EnclaveCallError && refused.data.status === STATUS.ECALL_NOT_ALLOWED, String(refused));
      assert.equal(probes.length, 1);
      assert.ok(probes[0]! <= top - 8192, `the nested frame at 0x${probes[0]!.toString(16)} overlaps the outer ECALL's frame below 0x${top.toString(16)}`);
      assert.equal(own.ecall('ecall_stack_probe'), top);
    } finally {
      own.destroy();
    }
  });

  test('abandoning an OCALL gives back the enclave\'s C stack (no leak per abandoned call)', () => {
    const own = loadFixture(p, 'marshal', { ocalls: { ocall_big: () => { throw new Error('no'); } } });
    try {
      const sp = own.ecall('ecall_stack_probe') as number;
      for (let i = 0; i < 3; i++) assert.throws(() => own.ecall('ecall_stack_ocall', [16]), /no/);
      assert.equal(own.ecall('ecall_stack_probe'), sp, 'the C stack pointer moved');
      for (let i = 0; i < 12; i++) assert.throws(() => own.ecall('ecall_stack_ocall', [16]), /no/);
      assert.equal(own.ecall('ecall_secret_check'), 0, 'the C stack overran the enclave\'s data');
      assert.equal(own.ecall('ecall_stack_probe'), sp);
    } finally {
      own.destroy();
    }
  });
});

describe('an OCALL implementation that returns what its type cannot hold', () => {
  // ocall_lie returns an int16_t (an i32 in Wasm).
  for (const [what, v] of [['1.5', 1.5], ['NaN', NaN], ['2^32', 2 ** 32], ['1e300', 1e300], ['a string', '3'], ['2^40 as a bigint', 2n ** 40n], ['bytes', new Uint8Array(2)]] as const) {
    test(`${what}: the ECALL fails with SdkError BAD_OCALL_RETURN naming the OCALL; the enclave stays usable`, () => {
      ocallImpl = () => v as unknown as number;
      assert.throws(() => e.ecall('ecall_ocall_lie', [new Uint8Array(64), new Uint8Array(16)]), (x: unknown) => {
        assert.ok(x instanceof SdkError && x.code === 'BAD_OCALL_RETURN', String(x));
        assert.match(x.message, /ocall_lie/);
        return true;
      });
      ocallImpl = () => -7;
      const ret = new Uint8Array(16);
      assert.equal(e.ecall('ecall_ocall_lie', [new Uint8Array(64), ret]), STATUS.SUCCESS);
      assert.equal(toHex(ret.subarray(4, 6)), 'f9ff');
    });
  }

  test('values the type can hold: a bigint, -2^31, 2^32 - 1 (narrowed to 16 bits), and nothing (0)', () => {
    for (const [v, want] of [[5n, '0500'], [-(2 ** 31), '0000'], [2 ** 32 - 1, 'ffff'], [undefined, '0000']] as const) {
      ocallImpl = () => v;
      const ret = new Uint8Array(16);
      assert.equal(e.ecall('ecall_ocall_lie', [new Uint8Array(64), ret]), STATUS.SUCCESS);
      assert.equal(toHex(ret.subarray(4, 6)), want, String(v));
    }
  });
});

describe('strings at the very end of the marshalling arena (the page after it is not mapped)', () => {
  test('an OCALL string whose terminator is within 4 bytes of the arena\'s end reaches the host', () => {
    // hello's ecall_hello: ms (32) + name (8) + greeting (len, rounded to 8); its ocall_print then
    // takes ms (16) + "the enclave wrote a greeting\0" (29, rounded to 32): 4096 bytes in all.
    const hello = helloEnclave();
    const q = newPlatform();
    const printed: unknown[] = [];
    const h = loadEnclave(q, hello.built.image, { sigstruct: hello.sigstruct, arenaSize: 4096, ocalls: { ocall_print: (m) => void printed.push(m) } });
    try {
      const len = 4096 - 32 - 8 - 48;
      const greeting = new Uint8Array(len);
      const n = h.ecall('ecall_hello', ['x', greeting, len]) as number;
      assert.equal(dec.decode(greeting.subarray(0, n)), 'Hello, x, from inside the enclave!');
      assert.deepEqual(printed, ['the enclave wrote a greeting']);
      // With 8 more bytes for the greeting the OCALL no longer fits (it fails inside, unseen by the
      // host): so the string above did end within 4 bytes of the arena's end.
      h.ecall('ecall_hello', ['x', new Uint8Array(len + 8), len + 8]);
      assert.equal(printed.length, 1);
    } finally {
      h.destroy();
    }
  });

  test('an ECALL string whose terminator is the arena\'s last byte reaches the enclave', () => {
    const own = loadFixture(p, 'marshal', { arenaSize: 4096 });
    try {
      const s = 'y'.repeat(4096 - 16 - 1); // after the 16-byte ms
      assert.equal(own.ecall('ecall_in_string', [s]), s.length);
      assert.throws(() => own.ecall('ecall_in_string', [s + 'y']), /arena is exhausted/);
    } finally {
      own.destroy();
    }
  });
});

describe('registers across OCALLs (the benchmark enclave: ecall_ocall_loop makes n OCALLs in one ECALL)', () => {
  /** The benchmark enclave, and untrusted memory U with the ms of ecall_ocall_loop(3) at U. */
  function benchEnclave() {
    const platform = newPlatform();
    const b = buildImage({ module: new Uint8Array(readFileSync(join(REPO_ROOT, 'bench/fixtures/bench.wasm'))), interface: resolveEdl(join(REPO_ROOT, 'bench/fixtures/bench.edl')), config: { heapSize: 1 << 20 } });
    const enc = loadEnclave(platform, b.image, { sigstruct: signFixture(b), ocalls: { ocall_empty: () => undefined } });
    const U = untrusted(platform, 0x10000, 0x4500_0000);
    writeMs(platform, U, [3]);
    return { platform, enc, U };
  }

  test('every OCALL exits to the ECALL\'s own return address with RDI = index, RSI = ms, RAX = 0; the rest are the host\'s own values', () => {
    const { platform, enc, U } = benchEnclave();
    const oIndex = enc.plan.ocalls.findIndex((f) => f.name === 'ocall_empty');
    const seen: Registers[] = [];
    const { exit, regs } = rawEnter(platform, enc, {
      index: ecallPlan(enc, 'ecall_ocall_loop').index, ms: U, scratch: U + 0x8000, scratchSize: 0x1000,
      handler: (x, r) => {
        if (x.reason === 'eexit' && r.rdi === EXIT_ECALL_RETURN) return 0;
        assert.equal(x.reason, 'eexit');
        seen.push({ ...r });
        // ORET from somewhere else, with other values in the registers the ABI does not use.
        r.rbx = enc.tcs[0]!;
        r.rcx = RAW_AEP;
        r.rdi = ECMD_ORET;
        r.rsi = STATUS.SUCCESS; // the OCALL's status
        r.rip = 0x7ffe_0000_2000 + 0x10 * seen.length;
        r.r12 = 0x1200 + seen.length;
        r.r13 = 0x1300 + seen.length;
        r.rsp = 0x7ffe_aa00_0000; // the host's stack at the ORET: the enclave keeps its entry's
        return ENCLU.EENTER;
      },
    });
    assert.equal(exit.reason, 'eexit');
    assert.equal(regs.rdi, EXIT_ECALL_RETURN);
    assert.equal(regs.rax, STATUS.SUCCESS);
    assert.equal(regs.rip, 0x7ffe_0000_0ff0 + 3, 'the ECALL returns where its EENTER was');
    assert.equal(seen.length, 3, 'three OCALLs reached the host');
    seen.forEach((s, k) => {
      assert.equal(s.rip, 0x7ffe_0000_0ff0 + 3, `OCALL ${k}: EEXIT to the ECALL's return address, not to where an ORET came from`);
      assert.equal(s.rcx, RAW_AEP, `OCALL ${k}: RCX = AEP`);
      assert.equal(s.rdi, oIndex);
      assert.ok(s.rsi >= U + 0x8000 && s.rsi + 8 <= U + 0x9000, `OCALL ${k}: the ms in the scratch area`);
      assert.equal(s.rax, 0);
      // Everything else: the host's own values (as its EENTER brought them, or its last ORET left
      // them), the stack pointers those of the ECALL's EENTER.
      assert.deepEqual(
        { rbx: s.rbx, rdx: s.rdx, rsp: s.rsp, rbp: s.rbp, r8: s.r8, r9: s.r9, r10: s.r10, r11: s.r11, r12: s.r12, r13: s.r13, r14: s.r14, r15: s.r15 },
        { rbx: enc.tcs[0]!, rdx: 0, rsp: 0x7ffe_ff00_0000, rbp: 0x7ffe_ff00_0000, r8: U + 0x8000, r9: 0x1000, r10: 0, r11: 0, r12: k === 0 ? 0 : 0x1200 + k, r13: k === 0 ? 0 : 0x1300 + k, r14: 0, r15: 0 },
        `OCALL ${k}`,
      );
    });
    enc.destroy();
  });

  test('a thread lost after an OCALL hands back the stack of its ECALL\'s EENTER when ERESUMEd (not the ORET\'s)', () => {
    const { platform, enc, U } = benchEnclave();
    const seen: string[] = [];
    const { exit } = rawEnter(platform, enc, {
      index: ecallPlan(enc, 'ecall_ocall_loop').index, ms: U, scratch: U + 0x8000, scratchSize: 0x1000,
      handler: (x, r) => {
        seen.push(x.reason);
        if (x.reason === 'aex') return 0; // the interrupt after the ORET: give up, the frame is lost
        // ORET with another stack, and an interrupt pending at the next window.
        r.rbx = enc.tcs[0]!;
        r.rcx = RAW_AEP;
        r.rdi = ECMD_ORET;
        r.rsi = STATUS.SUCCESS; // the OCALL's status
        r.rsp = 0x7ffe_aa00_0000;
        r.rbp = 0x7ffe_aa00_0100;
        platform.kernel.user(platform.process, (lp) => lp.injectInterrupt(0x20));
        return ENCLU.EENTER;
      },
    });
    assert.equal(exit.reason, 'aex');
    assert.deepEqual(seen, ['eexit', 'aex'], 'each exit reaches the handler once');
    const r2 = newRegisters({ rbx: enc.tcs[0]!, rcx: RAW_AEP, rip: 0x7ffe_0000_5000, rsp: 0x7ffe_bb00_0000, rbp: 0x7ffe_bb00_0000 });
    const x2 = platform.kernel.user(platform.process, (lp) => lp.enclu(ENCLU.ERESUME, r2, null));
    assert.equal(x2.reason, 'eexit');
    assert.equal(r2.rdi, EXIT_ECALL_RETURN);
    assert.equal(r2.rax, STATUS.ENCLAVE_CRASHED);
    assert.equal(r2.rsp, 0x7ffe_ff00_0000);
    assert.equal(r2.rbp, 0x7ffe_ff00_0000);
    enc.destroy();
  });
});
