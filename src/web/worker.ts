/**
 * The machine of the web view, in a dedicated Web Worker (a worker may compile WebAssembly
 * synchronously, as the trusted runtime does, and may read the package's files synchronously: see
 * shims/fs.ts). It runs what the page asks (the tour of `witness demo`, or the hostile driver's
 * catalogue of `witness attack`) and posts each step with a snapshot of the machine's metadata:
 * the EPCM map, the enclaves, the leaf counters. Never page contents. It also keeps a workbench
 * (platform/workbench.ts): your own enclaves, loaded from the files the page gives it and called
 * ECALL by ECALL.
 */
import type { Processor } from '../arch/index.js';
import { ATTR, estimateCost } from '../arch/index.js';
import { toHex, fromHex } from '../lib/bytes.js';
import { runCatalogue, ATTACKS } from '../os/adversary/index.js';
import { tour, tourText, type TourStep } from '../platform/tour.js';
import { makeHelloVictim } from '../platform/victim.js';
import { parseCount } from '../platform/call.js';
import { Workbench, WORKBENCH_PROFILES, type WorkbenchProfile, type LoadedEnclave } from '../platform/workbench.js';
import { WebError } from './errors.js';
import type { Fact, MachineSnapshot, PageRequest, WorkerEvent } from './protocol.js';

/** The part of a dedicated worker's global scope this module uses (the build has no DOM types). */
interface WorkerScope {
  postMessage(message: WorkerEvent, transfer?: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
}

/** ATTRIBUTES.FLAGS as the names of its bits (SDM 37.7.1), unnamed bits in hex. */
export function attributeNames(flags: bigint): string[] {
  const names: string[] = [];
  let rest = flags;
  for (const [name, bit] of Object.entries(ATTR)) {
    if ((flags & bit) === 0n) continue;
    names.push(name);
    rest &= ~bit;
  }
  if (rest !== 0n) names.push(`0x${rest.toString(16)}`);
  return names;
}

/** The metadata of `processor` now. */
export function snapshot(processor: Processor): MachineSnapshot {
  const inspect = processor.inspect;
  const map = inspect.epcMap();
  const counters: Record<string, number> = {};
  const all = inspect.counters;
  for (const [k, v] of Object.entries(all)) if (v > 0) counters[k] = v;
  const index = (pa: number) => (pa - map.base) / 4096;
  return {
    epcBase: map.base, types: map.types, owners: map.owners, freePages: inspect.freeEpcPages,
    enclaves: inspect.enclaves().map((e) => ({
      secsIndex: index(e.secs), base: e.baseAddr, size: e.size, state: e.state, mrenclave: e.mrenclave ? toHex(e.mrenclave) : null,
      mrsigner: e.mrsigner ? toHex(e.mrsigner) : null, isvProdId: e.isvProdId, isvSvn: e.isvSvn, pages: e.pages,
      attributes: attributeNames(e.attributesFlags), xfrm: e.xfrm.toString(16), miscSelect: e.miscSelect, ssaFrameSize: e.ssaFrameSize, activeThreads: e.activeThreads,
      tcs: e.tcs.map((t) => ({ ...t })),
    })),
    counters, estimatedCycles: estimateCost(all).cycles,
  };
}

/** The facts of a step a page (or a test) reads: its fields as plain values, bytes as hex. */
export function stepFacts(s: TourStep): Record<string, Fact> {
  const out: Record<string, Fact> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'processor' || k === 'collateral' || k === 'rootPem') continue;
    if (v instanceof Uint8Array) out[k] = k === 'quote' ? v.length : toHex(v);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) out[k] = v;
    else if (k === 'verdict' || k === 'flippedVerdict') {
      const q = v as { resultName: string; tcbStatus: string | null; reportBody: { MRENCLAVE: Uint8Array } };
      out[k] = q.resultName;
      out[`${k}Tcb`] = q.tcbStatus;
      if (k === 'verdict') out.attestedMrenclave = toHex(q.reportBody.MRENCLAVE);
    } else if (k === 'refused') out.refusedExit = (v as { exitCode: number }).exitCode;
    else if (k === 'runs') out.runs = (v as readonly { stdout: string }[]).map((r) => r.stdout).join('');
    else if (k === 'ocalls') out.ocalls = (v as readonly string[]).join('\n');
  }
  return out;
}

function errorEvent(e: unknown): WorkerEvent {
  const err = e instanceof Error ? e : new WebError('THROWN', String(e));
  const code = (err as { code?: unknown }).code;
  return { kind: 'error', name: err.name, code: typeof code === 'string' ? code : null, message: err.message };
}

const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((y) => typeof y === 'string');
const isId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);

function isRequest(d: unknown): d is PageRequest {
  if (typeof d !== 'object' || d === null) return false;
  const r = d as { run?: unknown; seedHex?: unknown; only?: unknown; files?: unknown; profile?: unknown; enclave?: unknown; ecall?: unknown; args?: unknown };
  const seedOk = r.seedHex === undefined || typeof r.seedHex === 'string';
  switch (r.run) {
    case 'tour': return seedOk;
    case 'attacks': return r.only === undefined || isStrings(r.only);
    case 'load': return seedOk && (r.profile === undefined || typeof r.profile === 'string') && Array.isArray(r.files)
      && r.files.every((f: unknown) => typeof f === 'object' && f !== null && typeof (f as { name?: unknown }).name === 'string' && (f as { bytes?: unknown }).bytes instanceof Uint8Array);
    case 'call': return isId(r.enclave) && typeof r.ecall === 'string' && isStrings(r.args);
    case 'unload': return isId(r.enclave);
    case 'peek': {
      const q = d as { space?: unknown; address?: unknown; length?: unknown };
      return isId(r.enclave) && (q.space === 'pointer' || q.space === 'linear') && typeof q.address === 'string' && typeof q.length === 'string';
    }
    default: return false;
  }
}

/** A platform seed from the page: none, or at least 16 bytes of hex. */
function seedOf(seedHex: string | undefined): Uint8Array | undefined {
  if (seedHex === undefined || seedHex === '') return undefined;
  if (!/^([0-9a-fA-F]{2}){16,}$/.test(seedHex)) throw new WebError('BAD_SEED', 'a seed is at least 16 bytes of hex');
  return fromHex(seedHex);
}

/** The workbench machine (your enclaves) and the seed it was made with ('' for random). */
let bench: { readonly workbench: Workbench; readonly seedHex: string } | null = null;

/**
 * Load `files` on the workbench of `profile` and `seedHex`: the one there, or a new one, which
 * replaces it (its enclaves unloaded and reported) only once the load succeeded.
 */
function loadOnBench(request: Extract<PageRequest, { run: 'load' }>, post: (e: WorkerEvent) => void, t0: number): void {
  const profile = request.profile ?? 'win-x64-sgx1';
  const seedHex = request.seedHex ?? '';
  if (!WORKBENCH_PROFILES.includes(profile as WorkbenchProfile)) throw new WebError('UNKNOWN_PROFILE', `unknown profile ${profile} (one of ${WORKBENCH_PROFILES.join(', ')})`, { profile });
  const old = bench;
  const same = old !== null && old.workbench.profile === profile && old.seedHex === seedHex;
  let w: Workbench;
  if (same) w = old.workbench;
  else {
    const seed = seedOf(seedHex);
    w = new Workbench({ profile: profile as WorkbenchProfile, ...(seed !== undefined ? { seed } : {}) });
  }
  let enclave: LoadedEnclave;
  try {
    enclave = w.load(request.files);
  } catch (e) {
    if (!same) w.dispose();
    throw e;
  }
  if (!same) {
    if (old !== null) {
      const gone = old.workbench.loaded;
      old.workbench.dispose();
      if (gone.length > 0) post({ kind: 'unloaded', enclaves: gone, machine: null });
    }
    bench = { workbench: w, seedHex };
  }
  post({ kind: 'loaded', profile: w.profile, enclave, machine: snapshot(w.processor), ms: performance.now() - t0 });
}

function loadedBench(): Workbench {
  if (bench === null) throw new WebError('NO_WORKBENCH', 'no enclave of yours is loaded');
  return bench.workbench;
}

/** Run one request, reporting through `post`. */
export function serve(request: PageRequest, post: (e: WorkerEvent) => void): void {
  const t0 = performance.now();
  if (request.run === 'load') {
    loadOnBench(request, post, t0);
  } else if (request.run === 'call') {
    const w = loadedBench();
    const outcome = w.call(request.enclave, request.ecall, request.args);
    post({ kind: 'called', outcome, machine: snapshot(w.processor), ms: performance.now() - t0 });
  } else if (request.run === 'unload') {
    const w = loadedBench();
    w.unload(request.enclave);
    post({ kind: 'unloaded', enclaves: [request.enclave], machine: snapshot(w.processor) });
  } else if (request.run === 'peek') {
    const w = loadedBench();
    const address = parseCount(request.address, 'address');
    const length = parseCount(request.length, 'length');
    post({ kind: 'peeked', views: w.peek(request.enclave, request.space === 'pointer' ? { pointer: address } : { linear: address }, length) });
  } else if (request.run === 'tour') {
    const seed = seedOf(request.seedHex);
    let index = 0;
    let last = t0;
    for (const s of tour(seed ? { seed } : {})) {
      const now = performance.now();
      post({ kind: 'step', step: s.step, index: index++, lines: tourText(s), facts: stepFacts(s), machine: snapshot(s.processor), ms: now - last });
      last = performance.now();
    }
  } else {
    const only = request.only ?? [];
    const unknown = only.filter((n) => !ATTACKS.some((a) => a.name === n));
    if (unknown.length) throw new WebError('UNKNOWN_ATTACK', `unknown attack ${unknown.join(', ')}`, { unknown });
    for (const a of only.length ? ATTACKS.filter((x) => only.includes(x.name)) : ATTACKS) {
      const t = performance.now();
      const [r] = runCatalogue(() => makeHelloVictim(), [a]);
      post({ kind: 'attack', name: r!.name, attempted: r!.attempted, blockedBy: r!.blockedBy, detail: r!.detail, leaked: r!.leaked, modified: r!.modified, ms: performance.now() - t });
    }
  }
  post({ kind: 'done', run: request.run, ms: performance.now() - t0 });
}

/** Inside a worker: answer the page's requests, one at a time. */
const scope = globalThis as unknown as Partial<WorkerScope>;
if ((globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== undefined && typeof scope.postMessage === 'function' && typeof scope.addEventListener === 'function') {
  const post = (e: WorkerEvent) => {
    const m = e.kind === 'step' || e.kind === 'loaded' || e.kind === 'called' ? e.machine : null;
    if (m !== null) scope.postMessage!(e, [m.types.buffer as ArrayBuffer, m.owners.buffer as ArrayBuffer]);
    else scope.postMessage!(e);
  };
  scope.addEventListener('message', (event) => {
    try {
      if (!isRequest(event.data)) throw new WebError('BAD_REQUEST', 'the worker runs { run: "tour", seedHex? }, { run: "attacks", only? }, { run: "load", files, profile?, seedHex? }, { run: "call", enclave, ecall, args }, { run: "peek", enclave, space, address, length } or { run: "unload", enclave }');
      serve(event.data, post);
    } catch (e) {
      post(errorEvent(e));
    }
  });
  post({ kind: 'ready', profiles: WORKBENCH_PROFILES });
}
