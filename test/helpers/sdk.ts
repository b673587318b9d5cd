/**
 * Helpers for the SDK suite (test/sdk): the C test enclaves of test/fixtures (built by
 * scripts/build-fixtures.sh, committed as .wasm), building and signing their images, loading them
 * on a platform, reading the marshal fixture's log, and entering an enclave with the processor
 * directly (bypassing HostEnclave) with a hand-written marshalling structure.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPlatform, type Platform, type PlatformOptions } from '../../src/platform/index.js';
import {
  resolveEdl, buildImage, signSigstruct, sigstructFieldsFor, loadEnclave, EnclaveCallError, SdkError, STATUS, statusName,
  type BuiltImage, type EdlInterface, type EnclaveConfig, type HostEnclave, type HostPlatform, type LoadOptions, type SigstructFields, type FunctionPlan,
} from '../../src/sdk/index.js';
import { ENCLU, newRegisters, type ExitHandler, type ExitInfo, type Registers } from '../../src/arch/index.js';
import { defaultCrypto, u32le, writeU64le } from '../../src/lib/index.js';
import * as W from '../../src/os/windows/constants.js';
import { REPO_ROOT } from './vectors.js';
import { testKey, type SigningKey } from './signing.js';

export const FIXTURES_DIR = join(REPO_ROOT, 'test', 'fixtures');

const modules = new Map<string, Uint8Array>();
const interfaces = new Map<string, EdlInterface>();

/** The committed module of fixture `name` (test/fixtures/<name>/enclave.wasm). */
export function fixtureModule(name: string): Uint8Array {
  let m = modules.get(name);
  if (!m) {
    m = new Uint8Array(readFileSync(join(FIXTURES_DIR, name, 'enclave.wasm')));
    modules.set(name, m);
  }
  return m;
}

/** The resolved EDL of fixture `name` (test/fixtures/<name>/<name>.edl). */
export function fixtureInterface(name: string): EdlInterface {
  let i = interfaces.get(name);
  if (!i) {
    i = resolveEdl(join(FIXTURES_DIR, name, `${name}.edl`));
    interfaces.set(name, i);
  }
  return i;
}

const builds = new Map<string, BuiltImage>();
/** buildImage for a fixture (cached per configuration). */
export function buildFixture(name: string, config: Partial<EnclaveConfig> = {}): BuiltImage {
  const key = `${name} ${JSON.stringify(config, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
  let b = builds.get(key);
  if (!b) {
    b = buildImage({ module: fixtureModule(name), interface: fixtureInterface(name), config });
    builds.set(key, b);
  }
  return b;
}

export const SIGN_DATE = 0x20261126;

/** The SIGSTRUCT fields for a built image: its identity, every attribute enforced. */
export function sigFieldsFor(b: BuiltImage, over: Partial<SigstructFields> = {}): SigstructFields {
  return sigstructFieldsFor(b.config, b.mrenclave, { date: SIGN_DATE, ...over });
}

/** Sign a built image with `key` (default: this process's test key 0). */
export function signFixture(b: BuiltImage, key: SigningKey = testKey(0), over: Partial<SigstructFields> = {}): Uint8Array {
  return signSigstruct(sigFieldsFor(b, over), key.pem, defaultCrypto());
}

/** A platform for SDK tests: 16 MiB of EPC (enough for a few 1 MiB-heap enclaves). */
export function newPlatform(options: PlatformOptions = {}): Platform {
  return createPlatform({ epcSize: 16 << 20, ...options });
}

export interface FixtureLoad {
  readonly config?: Partial<EnclaveConfig>;
  readonly key?: SigningKey;
  readonly sig?: Partial<SigstructFields>;
  readonly ocalls?: LoadOptions['ocalls'];
  readonly arenaSize?: number;
  readonly ocallBuffers?: LoadOptions['ocallBuffers'];
}

/** Build, sign and load a fixture enclave on `platform`. */
export function loadFixture(platform: HostPlatform, name: string, o: FixtureLoad = {}): HostEnclave {
  const b = buildFixture(name, o.config ?? {});
  return loadEnclave(platform, b.image, {
    sigstruct: signFixture(b, o.key, o.sig ?? {}),
    ...(o.ocalls ? { ocalls: o.ocalls } : {}),
    ...(o.arenaSize ? { arenaSize: o.arenaSize } : {}),
    ...(o.ocallBuffers ? { ocallBuffers: o.ocallBuffers } : {}),
  });
}

/** The sgx_status_t of an ECALL that must fail with EnclaveCallError. */
export function callStatus(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof EnclaveCallError) return (e.data as { status: number }).status;
    throw e;
  }
  return assert.fail('the ECALL succeeded');
}

/** Assert that `fn` fails with EnclaveCallError carrying `status`. */
export function assertStatus(fn: () => unknown, status: number, message?: string): void {
  const got = callStatus(fn);
  assert.equal(got, status, `${message ? message + ': ' : ''}expected ${statusName(status)}, got ${statusName(got)}`);
}

export function isSdkError(code: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof SdkError, `expected an SdkError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  };
}

// ---- the marshal fixture's log -------------------------------------------------------------

export interface LogRecord {
  /** 0 = a NULL pointer, 1 = a buffer's bytes, 2 = a value's bytes. */
  readonly kind: number;
  readonly bytes: Uint8Array;
}

/** What the last logging ECALL of the marshal fixture received. */
export function readLog(e: HostEnclave): LogRecord[] {
  const out = new Uint8Array(16384);
  const n = e.ecall('ecall_log', [out, out.length]) as number;
  assert.ok(n >= 0, `ecall_log: ${n}`);
  const recs: LogRecord[] = [];
  for (let o = 0; o < n;) {
    const kind = out[o]!;
    const len = u32le(out, o + 1);
    recs.push({ kind, bytes: out.slice(o + 5, o + 5 + len) });
    o += 5 + len;
  }
  return recs;
}

export function calls(e: HostEnclave): number {
  return e.ecall('ecall_calls') as number;
}

/** The linear address of a wasm address of a fixture enclave (its heap backs the module's memory). */
export function linearOf(e: HostEnclave, wasmAddr: number): number {
  return e.base + e.image.manifest.layout.heap.offset + wasmAddr;
}

// ---- entering directly ---------------------------------------------------------------------

/** A host address where exits land (the model's AEP / EEXIT target); any canonical user address. */
export const RAW_AEP = 0x7ffe_0000_2000;

/** Commit untrusted RW memory in the host process (at `at`, or where the kernel chooses). */
export function untrusted(p: Platform, size: number, at = 0): number {
  const a = p.kernel32.VirtualAlloc(at, size, W.MEM_RESERVE | W.MEM_COMMIT, W.PAGE_READWRITE);
  assert.notEqual(a, 0, `VirtualAlloc(0x${at.toString(16)}, 0x${size.toString(16)}) failed: ${p.kernel32.GetLastError()}`);
  return a;
}

export function ecallPlan(e: HostEnclave, name: string): FunctionPlan {
  const f = e.plan.ecalls.find((x) => x.name === name);
  assert.ok(f, `no ECALL ${name}`);
  return f;
}

/** Write a marshalling structure: one u64 per slot, then a zero return slot. */
export function writeMs(p: Platform, at: number, slots: readonly (bigint | number)[]): void {
  const b = new Uint8Array(8 * (slots.length + 1));
  slots.forEach((s, i) => writeU64le(b, 8 * i, BigInt.asUintN(64, BigInt(s))));
  p.process.write(at, b);
}

export interface RawEntry {
  /** RDI: the ECALL index. */
  readonly index: number;
  /** RSI: the ms address. */
  readonly ms: number;
  /** R8/R9: the untrusted scratch area. */
  readonly scratch: number;
  readonly scratchSize: number;
  /** RBX: the TCS (default the enclave's first). */
  readonly tcs?: number;
  readonly handler?: ExitHandler | null;
}

/** EENTER with hand-made registers, as a host that does not use HostEnclave would. */
export function rawEnter(p: Platform, e: HostEnclave, r: RawEntry): { exit: ExitInfo; regs: Registers } {
  const regs = newRegisters({
    rbx: r.tcs ?? e.tcs[0]!, rcx: RAW_AEP, rdi: r.index, rsi: r.ms, r8: r.scratch, r9: r.scratchSize,
    rip: 0x7ffe_0000_0ff0, rsp: 0x7ffe_ff00_0000, rbp: 0x7ffe_ff00_0000,
  });
  const exit = p.kernel.user(p.process, (lp) => lp.enclu(ENCLU.EENTER, regs, r.handler ?? null));
  return { exit, regs };
}

export { STATUS, statusName, testKey };
