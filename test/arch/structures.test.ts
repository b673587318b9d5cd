import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, type AnyLayout } from '../../src/lib/index.js';
import {
  STRUCTURES, SECS, TCS, SIGSTRUCT, EINITTOKEN, REPORT, REPORTBODY, TARGETINFO, KEYREQUEST, SECINFO, PAGEINFO, PCMD, GPRSGX, EXINFO, ATTRIBUTES,
  sigstructSignedBytes, reportMacedBytes, einittokenMacedBytes, gprsgxOffset, exinfoOffset, exitInfo, GPR_NAMES, TCS_OFF,
  EXIT_TYPE, VECTOR, mrsignerOf,
} from '../../src/arch/index.js';
import { defaultCrypto } from '../../src/lib/index.js';
import { NO_VECTORS, VEC, vector } from '../helpers/vectors.js';

describe('architectural sizes', () => {
  const sizes: [AnyLayout, number][] = [
    [SECS, 4096], [TCS, 4096], [SIGSTRUCT, 1808], [EINITTOKEN, 304], [REPORT, 432], [REPORTBODY, 384], [TARGETINFO, 512],
    [KEYREQUEST, 512], [SECINFO, 64], [PAGEINFO, 32], [PCMD, 128], [GPRSGX, 184], [EXINFO, 16], [ATTRIBUTES, 16],
  ];
  for (const [L, n] of sizes) {
    test(`${L.name} is ${n} bytes`, () => {
      assert.equal(L.size, n);
      assert.equal(L.encode({}).length, n);
      assert.equal(STRUCTURES[L.name], L);
    });
  }
});

// [structure, field, offset, size] from specs/sgx.md §2.
const OFFSETS: [AnyLayout, string, number, number][] = [
  [ATTRIBUTES, 'FLAGS', 0, 8], [ATTRIBUTES, 'XFRM', 8, 8],
  [SECS, 'SIZE', 0, 8], [SECS, 'BASEADDR', 8, 8], [SECS, 'SSAFRAMESIZE', 16, 4], [SECS, 'MISCSELECT', 20, 4],
  [SECS, 'CET_LEG_BITMAP_OFFSET', 24, 8], [SECS, 'CET_ATTRIBUTES', 32, 1], [SECS, 'reserved@33', 33, 15], [SECS, 'ATTRIBUTES', 48, 16],
  [SECS, 'MRENCLAVE', 64, 32], [SECS, 'reserved@96', 96, 32], [SECS, 'MRSIGNER', 128, 32], [SECS, 'reserved@160', 160, 32],
  [SECS, 'CONFIGID', 192, 64], [SECS, 'ISVPRODID', 256, 2], [SECS, 'ISVSVN', 258, 2], [SECS, 'CONFIGSVN', 260, 2], [SECS, 'reserved@262', 262, 3834],
  [TCS, 'STATE', 0, 8], [TCS, 'FLAGS', 8, 8], [TCS, 'OSSA', 16, 8], [TCS, 'CSSA', 24, 4], [TCS, 'NSSA', 28, 4], [TCS, 'OENTRY', 32, 8],
  [TCS, 'AEP', 40, 8], [TCS, 'OFSBASE', 48, 8], [TCS, 'OGSBASE', 56, 8], [TCS, 'FSLIMIT', 64, 4], [TCS, 'GSLIMIT', 68, 4], [TCS, 'reserved@72', 72, 4024],
  [GPRSGX, 'RAX', 0, 8], [GPRSGX, 'RCX', 8, 8], [GPRSGX, 'RDX', 16, 8], [GPRSGX, 'RBX', 24, 8], [GPRSGX, 'RSP', 32, 8], [GPRSGX, 'RBP', 40, 8],
  [GPRSGX, 'RSI', 48, 8], [GPRSGX, 'RDI', 56, 8], [GPRSGX, 'R8', 64, 8], [GPRSGX, 'R11', 88, 8], [GPRSGX, 'R12', 96, 8], [GPRSGX, 'R15', 120, 8],
  [GPRSGX, 'RFLAGS', 128, 8], [GPRSGX, 'RIP', 136, 8], [GPRSGX, 'URSP', 144, 8], [GPRSGX, 'URBP', 152, 8], [GPRSGX, 'EXITINFO', 160, 4],
  [GPRSGX, 'reserved@164', 164, 3], [GPRSGX, 'AEXNOTIFY', 167, 1], [GPRSGX, 'FSBASE', 168, 8], [GPRSGX, 'GSBASE', 176, 8],
  [EXINFO, 'MADDR', 0, 8], [EXINFO, 'ERRCD', 8, 4], [EXINFO, 'reserved@12', 12, 4],
  [PAGEINFO, 'LINADDR', 0, 8], [PAGEINFO, 'SRCPGE', 8, 8], [PAGEINFO, 'SECINFO', 16, 8], [PAGEINFO, 'SECS', 24, 8],
  [SECINFO, 'FLAGS', 0, 8], [SECINFO, 'reserved@8', 8, 56],
  [PCMD, 'SECINFO', 0, 64], [PCMD, 'ENCLAVEID', 64, 8], [PCMD, 'reserved@72', 72, 40], [PCMD, 'MAC', 112, 16],
  [SIGSTRUCT, 'HEADER', 0, 16], [SIGSTRUCT, 'VENDOR', 16, 4], [SIGSTRUCT, 'DATE', 20, 4], [SIGSTRUCT, 'HEADER2', 24, 16],
  [SIGSTRUCT, 'SWDEFINED', 40, 4], [SIGSTRUCT, 'reserved@44', 44, 84], [SIGSTRUCT, 'MODULUS', 128, 384], [SIGSTRUCT, 'EXPONENT', 512, 4],
  [SIGSTRUCT, 'SIGNATURE', 516, 384], [SIGSTRUCT, 'MISCSELECT', 900, 4], [SIGSTRUCT, 'MISCMASK', 904, 4], [SIGSTRUCT, 'CET_ATTRIBUTES', 908, 1],
  [SIGSTRUCT, 'CET_ATTRIBUTES_MASK', 909, 1], [SIGSTRUCT, 'reserved@910', 910, 2], [SIGSTRUCT, 'ISVFAMILYID', 912, 16],
  [SIGSTRUCT, 'ATTRIBUTES', 928, 16], [SIGSTRUCT, 'ATTRIBUTEMASK', 944, 16], [SIGSTRUCT, 'ENCLAVEHASH', 960, 32], [SIGSTRUCT, 'reserved@992', 992, 16],
  [SIGSTRUCT, 'ISVEXTPRODID', 1008, 16], [SIGSTRUCT, 'ISVPRODID', 1024, 2], [SIGSTRUCT, 'ISVSVN', 1026, 2], [SIGSTRUCT, 'reserved@1028', 1028, 12],
  [SIGSTRUCT, 'Q1', 1040, 384], [SIGSTRUCT, 'Q2', 1424, 384],
  [EINITTOKEN, 'VALID', 0, 4], [EINITTOKEN, 'reserved@4', 4, 44], [EINITTOKEN, 'ATTRIBUTES', 48, 16], [EINITTOKEN, 'MRENCLAVE', 64, 32],
  [EINITTOKEN, 'reserved@96', 96, 32], [EINITTOKEN, 'MRSIGNER', 128, 32], [EINITTOKEN, 'reserved@160', 160, 32], [EINITTOKEN, 'CPUSVNLE', 192, 16],
  [EINITTOKEN, 'ISVPRODIDLE', 208, 2], [EINITTOKEN, 'ISVSVNLE', 210, 2], [EINITTOKEN, 'reserved@212', 212, 24], [EINITTOKEN, 'MASKEDMISCSELECTLE', 236, 4],
  [EINITTOKEN, 'MASKEDATTRIBUTESLE', 240, 16], [EINITTOKEN, 'KEYID', 256, 32], [EINITTOKEN, 'MAC', 288, 16],
  [REPORT, 'CPUSVN', 0, 16], [REPORT, 'MISCSELECT', 16, 4], [REPORT, 'CET_ATTRIBUTES', 20, 1], [REPORT, 'reserved@21', 21, 11],
  [REPORT, 'ISVEXTPRODID', 32, 16], [REPORT, 'ATTRIBUTES', 48, 16], [REPORT, 'MRENCLAVE', 64, 32], [REPORT, 'reserved@96', 96, 32],
  [REPORT, 'MRSIGNER', 128, 32], [REPORT, 'reserved@160', 160, 32], [REPORT, 'CONFIGID', 192, 64], [REPORT, 'ISVPRODID', 256, 2],
  [REPORT, 'ISVSVN', 258, 2], [REPORT, 'CONFIGSVN', 260, 2], [REPORT, 'reserved@262', 262, 42], [REPORT, 'ISVFAMILYID', 304, 16],
  [REPORT, 'REPORTDATA', 320, 64], [REPORT, 'KEYID', 384, 32], [REPORT, 'MAC', 416, 16],
  [REPORTBODY, 'REPORTDATA', 320, 64],
  [TARGETINFO, 'MEASUREMENT', 0, 32], [TARGETINFO, 'ATTRIBUTES', 32, 16], [TARGETINFO, 'CET_ATTRIBUTES', 48, 1], [TARGETINFO, 'reserved@49', 49, 1],
  [TARGETINFO, 'CONFIGSVN', 50, 2], [TARGETINFO, 'MISCSELECT', 52, 4], [TARGETINFO, 'reserved@56', 56, 8], [TARGETINFO, 'CONFIGID', 64, 64],
  [TARGETINFO, 'reserved@128', 128, 384],
  [KEYREQUEST, 'KEYNAME', 0, 2], [KEYREQUEST, 'KEYPOLICY', 2, 2], [KEYREQUEST, 'ISVSVN', 4, 2], [KEYREQUEST, 'reserved@6', 6, 2],
  [KEYREQUEST, 'CPUSVN', 8, 16], [KEYREQUEST, 'ATTRIBUTEMASK', 24, 16], [KEYREQUEST, 'KEYID', 40, 32], [KEYREQUEST, 'MISCMASK', 72, 4],
  [KEYREQUEST, 'CONFIGSVN', 76, 2], [KEYREQUEST, 'reserved@78', 78, 434],
];

describe('field offsets (specs/sgx.md §2)', () => {
  for (const [L, name, off, size] of OFFSETS) {
    test(`${L.name}.${name} @ ${off} (${size})`, () => {
      const f = L.field(name);
      assert.equal(f.offset, off);
      assert.equal(f.size, size);
    });
  }

  test('the tables above list every field of every structure they cover', () => {
    for (const L of [SECS, TCS, GPRSGX, EXINFO, PAGEINFO, SECINFO, PCMD, SIGSTRUCT, EINITTOKEN, REPORT, TARGETINFO, KEYREQUEST, ATTRIBUTES]) {
      const listed = OFFSETS.filter(([x]) => x === L).map(([, n]) => n).sort();
      const declared = L.fields.map((f) => f.name).filter((n) => L !== GPRSGX || !/^R(9|10|13|14)$/.test(n)).sort();
      assert.deepEqual(listed, declared, L.name);
    }
  });

  test('reserved ranges are must-be-zero except GPRSGX bytes 164..166', () => {
    for (const L of Object.values(STRUCTURES)) {
      for (const f of L.fields) if (f.kind === 'reserved') assert.equal(f.mustBeZero, !(L === GPRSGX && f.offset === 164), `${L.name}.${f.name}`);
    }
  });

  test('nested structures: ATTRIBUTES inside SECS, SIGSTRUCT, REPORT, TARGETINFO, KEYREQUEST, EINITTOKEN; SECINFO inside PCMD', () => {
    const secs = SECS.encode({ ATTRIBUTES: { FLAGS: 0x0102030405060708n, XFRM: 0x1112131415161718n } });
    assert.equal(toHex(secs.subarray(48, 64)), '0807060504030201' + '1817161514131211');
    const sig = SIGSTRUCT.encode({ ATTRIBUTEMASK: { FLAGS: 0xfdn, XFRM: 0x1bn } });
    assert.equal(sig[944], 0xfd);
    assert.equal(sig[952], 0x1b);
    const ti = TARGETINFO.encode({ ATTRIBUTES: { FLAGS: 7n, XFRM: 3n } });
    assert.equal(ti[32], 7);
    assert.equal(ti[40], 3);
    const kr = KEYREQUEST.encode({ ATTRIBUTEMASK: { FLAGS: 0xffn, XFRM: 0n } });
    assert.equal(kr[24], 0xff);
    const tok = EINITTOKEN.encode({ MASKEDATTRIBUTESLE: { FLAGS: 0x33n, XFRM: 0n } });
    assert.equal(tok[240], 0x33);
    const pc = PCMD.encode({ SECINFO: { FLAGS: 0x201n } });
    assert.equal(toHex(pc.subarray(0, 2)), '0102');
  });

  test('GPR_NAMES follow the GPRSGX order, and TCS_OFF matches the TCS layout', () => {
    GPR_NAMES.forEach((n, i) => assert.equal(GPRSGX.field(n).offset, i * 8));
    for (const [k, v] of Object.entries(TCS_OFF)) assert.equal(v, k === 'RESERVED' ? 72 : TCS.field(k).offset, k);
  });
});

describe('SSA helpers', () => {
  test('GPRSGX and EXINFO offsets in a frame (enarx: GPR at 3912, EXINFO at 3896 for one page)', () => {
    assert.equal(gprsgxOffset(1), 3912);
    assert.equal(exinfoOffset(1), 3896);
    assert.equal(gprsgxOffset(2), 8192 - 184);
  });
  test('EXITINFO encoding (§2.5)', () => {
    assert.equal(exitInfo(VECTOR.PF, EXIT_TYPE.HARDWARE, true), 0x8000030e);
    assert.equal(exitInfo(VECTOR.BP, EXIT_TYPE.SOFTWARE, true), 0x80000603);
    assert.equal(exitInfo(VECTOR.UD, EXIT_TYPE.HARDWARE, false), 0x306);
  });
  test('MAC-covered byte ranges', () => {
    const rep = new Uint8Array(432).map((_, i) => i & 0xff);
    assert.deepEqual(reportMacedBytes(rep), rep.slice(0, 384));
    const tok = new Uint8Array(304).map((_, i) => i & 0xff);
    assert.deepEqual(einittokenMacedBytes(tok), tok.slice(0, 192));
    const sig = new Uint8Array(1808).map((_, i) => (i * 13) & 0xff);
    const signed = sigstructSignedBytes(sig);
    assert.equal(signed.length, 256);
    assert.deepEqual(signed.subarray(0, 128), sig.subarray(0, 128));
    assert.deepEqual(signed.subarray(128), sig.subarray(900, 1028));
  });
});

describe('known SIGSTRUCTs decode to the README values', () => {
  test('test_enclave.sig', { skip: NO_VECTORS }, () => {
    const b = vector('test_enclave.sig');
    const s = SIGSTRUCT.decode(b);
    assert.equal(toHex(s.ENCLAVEHASH), VEC.testEnclaveMrenclave);
    assert.equal(toHex(mrsignerOf(b, defaultCrypto())), VEC.testEnclaveMrsigner);
    assert.equal(s.ISVPRODID, 65535);
    assert.equal(s.ISVSVN, 0);
    assert.equal(s.ATTRIBUTES.FLAGS, 0x4n);
    assert.equal(s.ATTRIBUTES.XFRM, 0x3n);
    assert.equal(s.DATE, 0x20161214);
    assert.equal(s.EXPONENT, 3);
    assert.equal(s.MISCMASK, 0xffffffff);
    assert.equal(toHex(b.subarray(944, 960)), 'fdffffffffffffff1bffffffffffffff');
    assert.equal(s.ATTRIBUTEMASK.FLAGS, 0xfffffffffffffffdn);
    assert.equal(s.ATTRIBUTEMASK.XFRM, 0xffffffffffffff1bn);
    assert.equal(toHex(s.HEADER.subarray(0, 12)), '06000000e100000000000100');
    assert.equal(toHex(s.HEADER2), '01010000600000006000000001000000');
  });
  test('sig1.sigstruct.bin', { skip: NO_VECTORS }, () => {
    const b = vector('sig1.sigstruct.bin');
    const s = SIGSTRUCT.decode(b);
    assert.equal(toHex(s.ENCLAVEHASH), VEC.sig1EnclaveHash);
    assert.equal(s.DATE, 0x20160109);
    assert.equal(s.VENDOR, 0);
    assert.equal(s.MISCSELECT, 0);
    assert.equal(s.MISCMASK, 0xffffffff);
    assert.deepEqual(s.ATTRIBUTES, { FLAGS: 4n, XFRM: 3n });
    assert.deepEqual(s.ATTRIBUTEMASK, { FLAGS: 0xfffffffffffffffdn, XFRM: 0xffffffffffffff1bn });
    assert.equal(s.ISVPRODID, 0);
    assert.equal(s.ISVSVN, 0);
    assert.equal(toHex(mrsignerOf(b, defaultCrypto())), VEC.sig1Mrsigner);
  });
});
