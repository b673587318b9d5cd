/**
 * The machine of the web view, in a dedicated Web Worker (a worker may compile WebAssembly
 * synchronously, as the trusted runtime does, and may read the package's files synchronously: see
 * shims/fs.ts). It runs what the page asks (the tour of `witness demo`, or the hostile driver's
 * catalogue of `witness attack`) and posts each step with a snapshot of the machine's metadata:
 * the EPCM map, the enclaves, the leaf counters. Never page contents.
 */
import type { Processor } from '../arch/index.js';
import { ATTR, estimateCost } from '../arch/index.js';
import { toHex, fromHex } from '../lib/bytes.js';
import { runCatalogue, ATTACKS } from '../os/adversary/index.js';
import { tour, tourText, type TourStep } from '../platform/tour.js';
import { makeHelloVictim } from '../platform/victim.js';
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

function isRequest(d: unknown): d is PageRequest {
  if (typeof d !== 'object' || d === null) return false;
  const r = d as { run?: unknown; seedHex?: unknown; only?: unknown };
  if (r.run === 'tour') return r.seedHex === undefined || typeof r.seedHex === 'string';
  if (r.run === 'attacks') return r.only === undefined || (Array.isArray(r.only) && r.only.every((x) => typeof x === 'string'));
  return false;
}

/** Run one request, reporting through `post`. */
export function serve(request: PageRequest, post: (e: WorkerEvent) => void): void {
  const t0 = performance.now();
  if (request.run === 'tour') {
    let seed: Uint8Array | undefined;
    if (request.seedHex !== undefined && request.seedHex !== '') {
      seed = /^([0-9a-fA-F]{2}){16,}$/.test(request.seedHex) ? fromHex(request.seedHex) : undefined;
      if (seed === undefined) throw new WebError('BAD_SEED', 'a seed is at least 16 bytes of hex');
    }
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
    if (e.kind === 'step') scope.postMessage!(e, [e.machine.types.buffer as ArrayBuffer, e.machine.owners.buffer as ArrayBuffer]);
    else scope.postMessage!(e);
  };
  scope.addEventListener('message', (event) => {
    try {
      if (!isRequest(event.data)) throw new WebError('BAD_REQUEST', 'the worker runs { run: "tour", seedHex? } or { run: "attacks", only? }');
      serve(event.data, post);
    } catch (e) {
      post(errorEvent(e));
    }
  });
  post({ kind: 'ready' });
}
