/**
 * Building, signing and running small enclaves on the processor model for the arch tests.
 *
 * - `ScriptEngine`: an `EnclaveEngine` whose `enter()` dispatches on `ctx.regs.rdi` to closures the
 *   test registers (`engine.on(fn)` returns the RDI value that selects `fn`). RDI 0 is a "ping" that
 *   EEXITs straight back to RCX (the return address EENTER put there).
 * - `EnclaveBuilder`: a configurable page list (TCSs with their SSA frames, data pages, one code
 *   page, extra pages), ECREATE/EADD/EEXTEND through the test kernel, the expected MRENCLAVE from
 *   the layout alone (a `MeasurementLog`, not the processor), a SIGSTRUCT signed with a test key,
 *   and EINIT (writing the LE hash MSRs to the signer first, as Linux does with FLC).
 * - in-enclave helpers for EREPORT / EGETKEY that stage their operands in an enclave page.
 */
import { defaultCrypto, toHex } from '../../src/lib/index.js';
import {
  Processor, ENCLU, type LogicalProcessor, ATTR, PT, SECS, TCS, TARGETINFO, KEYREQUEST, REPORT, MeasurementLog, measuredSecinfoFlags,
  type EnclaveContext, type EnclaveEngine, type ExitHandler, type ExitInfo, type Registers, type ProcessorOptions,
  type Keyrequest, type Secs,
} from '../../src/arch/index.js';
import { TestKernel } from './kernel.js';
import { signSigstruct, testKey, type SigFields, type SigningKey } from './signing.js';

/** Where EEXIT-style exits and AEXs land in the test process (canonical user addresses). */
export const AEP = 0x7fff_f000;
export const HOST_RIP = 0x7ffe_0000;

export type EnclaveFn = (ctx: EnclaveContext) => number;

export class ScriptEngine implements EnclaveEngine {
  readonly #fns = new Map<number, EnclaveFn>();
  #next = 0x100;
  /** What ERESUME of a thread whose frame is gone (exception AEX) runs; default: EEXIT to RCX. */
  resumeFn: EnclaveFn | null = null;
  readonly destroyedKeys: object[] = [];
  enters = 0;
  resumes = 0;

  /** Register enclave code; returns the RDI value that selects it at EENTER. */
  on(fn: EnclaveFn, rdi = this.#next++): number {
    this.#fns.set(rdi, fn);
    return rdi;
  }

  enter(ctx: EnclaveContext): number {
    this.enters++;
    const rdi = ctx.regs.rdi;
    if (rdi === 0) return ctx.regs.rcx;
    const fn = this.#fns.get(rdi);
    if (!fn) throw new Error(`ScriptEngine: no enclave function for RDI ${rdi}`);
    return fn(ctx);
  }

  resume(ctx: EnclaveContext): number {
    this.resumes++;
    return this.resumeFn ? this.resumeFn(ctx) : ctx.regs.rcx;
  }

  destroyed(enclaveKey: object): void {
    this.destroyedKeys.push(enclaveKey);
  }
}

/** A test kernel on an existing processor (e.g. `Processor.restore(saved, { engine })`). */
export function kernelOn(proc: Processor, engine: ScriptEngine): { k: TestKernel; engine: ScriptEngine } {
  return { k: new TestKernel(proc), engine };
}

/** A test kernel on a processor with a small EPC and a `ScriptEngine`. */
export function newKernel(options: ProcessorOptions = {}): { k: TestKernel; engine: ScriptEngine } {
  const engine = (options.engine as ScriptEngine | undefined) ?? new ScriptEngine();
  const k = new TestKernel({ epcSize: 0x200000, ...options, engine });
  return { k, engine };
}

export interface PageSpec {
  /** Offset from BASEADDR (page-aligned). */
  readonly offset: number;
  /** SECINFO.FLAGS as given to EADD (permissions | page type << 8). */
  readonly flags: number;
  readonly data: Uint8Array;
  /** EEXTEND all 16 chunks (default true). */
  readonly measure?: boolean;
}

export const SECINFO_REG_RW = (PT.REG << 8) | 3;
export const SECINFO_REG_RX = (PT.REG << 8) | 5;
export const SECINFO_REG_R = (PT.REG << 8) | 1;
export const SECINFO_TCS = PT.TCS << 8;

export interface EnclaveSpec {
  base?: number;
  size?: number;
  ssaFrameSize?: number;
  nssa?: number;
  tcsCount?: number;
  dataPages?: number;
  /** ECREATE ATTRIBUTES.FLAGS (default MODE64BIT | DEBUG). */
  flags?: bigint;
  xfrm?: bigint;
  miscSelect?: number;
  /** Further SECS fields for ECREATE (CONFIGID, CONFIGSVN, …). */
  secs?: Partial<Secs>;
  /** Text placed in the data and code pages: different markers give different MRENCLAVEs. */
  marker?: string;
  /** TCS fields to override (e.g. OFSBASE, FLAGS). */
  tcs?: { OFSBASE?: bigint; OGSBASE?: bigint; FLAGS?: bigint; OENTRY?: bigint };
  extraPages?: PageSpec[];
  signer?: SigningKey;
  sig?: Partial<SigFields>;
  /** 'signer' (default): write the LE hash MSRs to the signer before EINIT when FLC allows it. */
  leHash?: 'signer' | 'keep';
}

function nextPow2(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

const bases = new WeakMap<TestKernel, number>();
function nextBase(k: TestKernel): number {
  const n = bases.get(k) ?? 0;
  bases.set(k, n + 1);
  return 0x1_0000_0000 + n * 0x1000_0000;
}

const enc = new TextEncoder();
function markedPage(text: string): Uint8Array {
  const p = new Uint8Array(4096);
  p.set(enc.encode(text));
  for (let i = 2048; i < 4096; i++) p[i] = (i * 7 + text.length) & 0xff;
  return p;
}

export class EnclaveBuilder {
  readonly k: TestKernel;
  readonly base: number;
  readonly size: number;
  readonly ssaFrameSize: number;
  readonly nssa: number;
  readonly flags: bigint;
  readonly xfrm: bigint;
  readonly miscSelect: number;
  readonly signer: SigningKey;
  readonly pages: PageSpec[] = [];
  /** Offsets of the TCS pages, of frame 0 of each TCS's SSA, of the data pages and of the code page. */
  readonly tcsOffsets: number[] = [];
  readonly ssaOffsets: number[] = [];
  readonly dataOffsets: number[] = [];
  readonly codeOffset: number;
  /** First offset after the backed pages (inside ELRANGE, not EPC-backed). */
  readonly spareOffset: number;
  readonly log = new MeasurementLog();
  /** The MRENCLAVE of the layout, computed from the records alone. */
  readonly mrenclave: Uint8Array;
  secs = -1;
  readonly frames = new Map<number, number>();
  readonly #spec: EnclaveSpec;

  constructor(k: TestKernel, spec: EnclaveSpec = {}) {
    this.k = k;
    this.#spec = spec;
    this.ssaFrameSize = spec.ssaFrameSize ?? 1;
    this.nssa = spec.nssa ?? 2;
    this.flags = spec.flags ?? (ATTR.MODE64BIT | ATTR.DEBUG);
    this.xfrm = spec.xfrm ?? 3n;
    this.miscSelect = spec.miscSelect ?? 0;
    this.signer = spec.signer ?? testKey(0);
    const T = spec.tcsCount ?? 1;
    const D = spec.dataPages ?? 2;
    const marker = spec.marker ?? 'witness test enclave';
    const perTcs = this.nssa * this.ssaFrameSize;
    let p = T + T * perTcs;
    for (let j = 0; j < D; j++) this.dataOffsets.push((p + j) * 4096);
    p += D;
    this.codeOffset = p * 4096;
    p += 1;
    for (let i = 0; i < T; i++) {
      this.tcsOffsets.push(i * 4096);
      this.ssaOffsets.push((T + i * perTcs) * 4096);
      const t = spec.tcs ?? {};
      this.pages.push({
        offset: i * 4096, flags: SECINFO_TCS,
        data: TCS.encode({
          OSSA: BigInt((T + i * perTcs) * 4096), NSSA: this.nssa, OENTRY: t.OENTRY ?? BigInt(this.codeOffset), OFSBASE: t.OFSBASE ?? 0n, OGSBASE: t.OGSBASE ?? 0n, FLAGS: t.FLAGS ?? 0n,
          // a 32-bit enclave needs FSLIMIT/GSLIMIT with the low 12 bits set (EADD)
          ...((this.flags & ATTR.MODE64BIT) === 0n ? { FSLIMIT: 0xffffffff, GSLIMIT: 0xffffffff } : {}),
        }),
      });
    }
    for (let i = 0; i < T * perTcs; i++) this.pages.push({ offset: (T + i) * 4096, flags: SECINFO_REG_RW, data: new Uint8Array(4096) });
    this.dataOffsets.forEach((o, j) => this.pages.push({ offset: o, flags: SECINFO_REG_RW, data: markedPage(`${marker}: data ${j}`) }));
    this.pages.push({ offset: this.codeOffset, flags: SECINFO_REG_RX, data: markedPage(`${marker}: code`) });
    for (const x of spec.extraPages ?? []) {
      this.pages.push(x);
      p = Math.max(p, x.offset / 4096 + 1);
    }
    this.pages.sort((a, b) => a.offset - b.offset);
    this.spareOffset = p * 4096;
    this.size = spec.size ?? Math.max(0x2000, nextPow2((p + 4) * 4096));
    this.base = spec.base ?? nextBase(k);
    this.log.ecreate(this.ssaFrameSize, this.size);
    for (const pg of this.pages) {
      this.log.eadd(pg.offset, measuredSecinfoFlags(pg.flags));
      if (pg.measure !== false) for (let c = 0; c < 4096; c += 256) this.log.eextend(pg.offset + c, pg.data.subarray(c, c + 256));
    }
    this.mrenclave = this.log.mrenclave(defaultCrypto());
  }

  secsBytes(extra: Partial<Secs> = {}): Uint8Array {
    return SECS.encode({
      SIZE: BigInt(this.size), BASEADDR: BigInt(this.base), SSAFRAMESIZE: this.ssaFrameSize, MISCSELECT: this.miscSelect,
      ATTRIBUTES: { FLAGS: this.flags, XFRM: this.xfrm }, ...(this.#spec.secs ?? {}), ...extra,
    });
  }

  /** ECREATE into a fresh EPC page (throws the ArchFault if it faults). */
  create(): number {
    const { status, secs } = this.k.ecreate(this.secsBytes());
    this.secs = secs;
    return status;
  }

  /** EADD (+ EEXTEND) one page and map it into the test process. Returns its EPC address. */
  addPage(pg: PageSpec): number {
    const k = this.k;
    const epc = k.eadd(this.secs, this.base + pg.offset, pg.flags, pg.data);
    this.frames.set(pg.offset, epc);
    if (pg.measure !== false) k.eextendPage(this.secs, epc);
    const pt = (pg.flags >> 8) & 0xff;
    k.mapUser(this.base + pg.offset, epc, pt === PT.TCS || (pg.flags & 2) !== 0, (pg.flags & 4) === 0);
    return epc;
  }

  addPages(): void {
    for (const pg of this.pages) this.addPage(pg);
  }

  sigFields(over: Partial<SigFields> = {}): SigFields {
    return { enclaveHash: this.mrenclave, flags: this.flags & ~ATTR.DEBUG, xfrm: this.xfrm, miscSelect: this.miscSelect, ...(this.#spec.sig ?? {}), ...over };
  }

  sigstruct(over: Partial<SigFields> = {}, key: SigningKey = this.signer): Uint8Array {
    return signSigstruct(key, this.sigFields(over));
  }

  /** EINIT with `sig` (default: a correct SIGSTRUCT) and `token` (default all zero). */
  einit(sig: Uint8Array = this.sigstruct(), token?: Uint8Array): number {
    const k = this.k;
    if ((this.#spec.leHash ?? 'signer') === 'signer' && k.proc.inspect.flexibleLaunchControl) k.setLeHash(defaultCrypto().sha256(sig.subarray(128, 512)));
    return k.einit(this.secs, sig, token);
  }

  /** ECREATE, EADD/EEXTEND every page, EINIT; throws unless every step succeeds. */
  build(token?: Uint8Array): BuiltEnclave {
    const st = this.create();
    if (st !== 0) throw new Error(`ECREATE status ${st}`);
    this.addPages();
    const sig = this.sigstruct();
    const e = this.einit(sig, token);
    if (e !== 0) throw new Error(`EINIT status ${e}`);
    return new BuiltEnclave(this, sig);
  }
}

export class BuiltEnclave {
  readonly b: EnclaveBuilder;
  readonly sigstruct: Uint8Array;
  constructor(b: EnclaveBuilder, sigstruct: Uint8Array) {
    this.b = b;
    this.sigstruct = sigstruct;
  }
  get k(): TestKernel { return this.b.k; }
  get secs(): number { return this.b.secs; }
  get base(): number { return this.b.base; }
  get mrenclave(): Uint8Array { return this.b.mrenclave; }
  get mrsigner(): Uint8Array { return this.b.signer.mrsigner; }
  /** Linear address of TCS `i`. */
  tcs(i = 0): number { return this.b.base + this.b.tcsOffsets[i]!; }
  /** Linear address of SSA frame `frame` of TCS `i`. */
  ssa(i = 0, frame = 0): number { return this.b.base + this.b.ssaOffsets[i]! + frame * this.b.ssaFrameSize * 4096; }
  data(j = 0): number { return this.b.base + this.b.dataOffsets[j]!; }
  get code(): number { return this.b.base + this.b.codeOffset; }
  /** An address inside ELRANGE that no EPC page backs. */
  get spare(): number { return this.b.base + this.b.spareOffset; }
  /** The EPC frame behind enclave linear page `la`. */
  frame(la: number): number {
    const f = this.b.frames.get(la - this.b.base);
    if (f === undefined) throw new Error(`no page at 0x${la.toString(16)}`);
    return f;
  }
  /** EPC address of GPRSGX in SSA frame `frame` of TCS `i`. */
  gprsgx(i = 0, frame = 0): number {
    const last = this.ssa(i, frame) + (this.b.ssaFrameSize - 1) * 4096;
    return this.frame(last) + 4096 - 184;
  }

  /** EENTER on TCS `tcs` with RDI = `rdi`, AEP = `AEP`, on LP1 (or ERESUME with `leaf`). */
  enter(rdi: number, opts: { tcs?: number; handler?: ExitHandler | null; regs?: Partial<Registers>; lp?: number; leaf?: number } = {}): { exit: ExitInfo; regs: Registers } {
    return this.k.enclu(opts.leaf ?? ENCLU.EENTER, { rbx: this.tcs(opts.tcs ?? 0), rcx: AEP, rip: HOST_RIP, rdi, ...(opts.regs ?? {}) }, opts.handler ?? null, opts.lp ?? 1);
  }
  resume(opts: { tcs?: number; handler?: ExitHandler | null; regs?: Partial<Registers>; lp?: number } = {}): { exit: ExitInfo; regs: Registers } {
    return this.enter(0, { ...opts, leaf: ENCLU.ERESUME });
  }
}

export function buildEnclave(k: TestKernel, spec: EnclaveSpec = {}, token?: Uint8Array): BuiltEnclave {
  return new EnclaveBuilder(k, spec).build(token);
}

// ---- in-enclave helpers (run from enclave code; `scratch` is a page-aligned RW enclave page) ----

/** EREPORT with its operands staged in `scratch`: TARGETINFO at +0, REPORTDATA at +512, REPORT at +1024. */
export function ereportIn(ctx: EnclaveContext, scratch: number, targetinfo: Uint8Array, reportData: Uint8Array = new Uint8Array(64)): Uint8Array {
  ctx.write(scratch, targetinfo);
  ctx.write(scratch + 512, reportData);
  ctx.ereport(scratch, scratch + 512, scratch + 1024);
  return ctx.read(scratch + 1024, 432);
}

/** The sentinel placed in the EGETKEY output before the leaf runs (an error must leave it). */
export const KEY_SENTINEL = new Uint8Array(16).fill(0xa5);

/** EGETKEY with the KEYREQUEST at `scratch + 2048` and the key at `scratch + 3072`. */
export function egetkeyIn(ctx: EnclaveContext, scratch: number, keyrequest: Uint8Array): { status: number; key: Uint8Array } {
  ctx.write(scratch + 2048, keyrequest);
  ctx.write(scratch + 3072, KEY_SENTINEL);
  const status = ctx.egetkey(scratch + 2048, scratch + 3072);
  return { status, key: ctx.read(scratch + 3072, 16) };
}

export function keyRequest(f: Partial<Keyrequest>): Uint8Array {
  return KEYREQUEST.encode(f);
}

/** The TARGETINFO that lets the enclave that produced `report` verify reports made for it. */
export function targetInfoOf(report: Uint8Array): Uint8Array {
  const r = REPORT.decode(report);
  return TARGETINFO.encode({ MEASUREMENT: r.MRENCLAVE, ATTRIBUTES: r.ATTRIBUTES, MISCSELECT: r.MISCSELECT, CONFIGID: r.CONFIGID, CONFIGSVN: r.CONFIGSVN });
}

export { toHex };

/** Run `fn` with `hook` called at every interrupt window of `k`'s processor; the hook is removed afterwards, also when `fn` throws. */
export function withStepHook<T>(k: TestKernel, hook: (lp: LogicalProcessor) => void, fn: () => T): T {
  k.proc.setStepHook(hook);
  try {
    return fn();
  } finally {
    k.proc.setStepHook(null);
  }
}

/**
 * Enter `e` on LP1 with enclave code that takes one interrupt window, and run `kernelWork` once
 * there (kernel work on another logical processor while the thread is inside). Returns the exit.
 */
export function duringEntry(k: TestKernel, engine: ScriptEngine, e: BuiltEnclave, kernelWork: () => void): ExitInfo {
  const op = engine.on((ctx) => {
    ctx.step();
    return ctx.regs.rcx;
  });
  let done = false;
  return withStepHook(k, (lp) => {
    if (lp.index !== 1 || done) return;
    done = true;
    kernelWork();
  }, () => e.enter(op)).exit;
}
