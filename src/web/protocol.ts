/**
 * The messages between the visualizer page (page.ts) and the Web Worker that runs the machine
 * (worker.ts). Plain data only: structured clone carries them, and the page never holds a
 * reference into the model.
 */
import type { LoadedEnclave, CallOutcome, MemoryViews } from '../platform/results.js';

/** What the page asks the worker to run. */
export type PageRequest =
  | { readonly run: 'tour'; readonly seedHex?: string }
  | { readonly run: 'attacks'; readonly only?: readonly string[] }
  /**
   * Load your enclave from files (platform/workbench.ts: a .wimg, or a .wasm with its .edl files
   * and a .json configuration) on the workbench machine of `profile` (default win-x64-sgx1). A
   * machine of another profile or seed replaces the one there once the load succeeded (its
   * enclaves are reported unloaded first).
   */
  | { readonly run: 'load'; readonly files: readonly { readonly name: string; readonly bytes: Uint8Array }[]; readonly profile?: string; readonly seedHex?: string }
  | { readonly run: 'call'; readonly enclave: number; readonly ecall: string; readonly args: readonly string[] }
  | { readonly run: 'unload'; readonly enclave: number }
  /** `length` bytes at `address` (text: decimal or 0x…), a pointer of the enclave's code or a linear address, as outsiders see them. */
  | { readonly run: 'peek'; readonly enclave: number; readonly space: 'pointer' | 'linear'; readonly address: string; readonly length: string };

/** What the workbench's loads, calls and memory views report (platform/results.ts: plain data with no import). */
export type { CostReport, EcallForm, LoadedEnclave, CallOutcome, MemoryViews } from '../platform/results.js';

/** One enclave of a machine, as `Processor.inspect.enclaves()` describes it (hex for bytes). */
export interface EnclaveView {
  /** The EPC index of its SECS (the owner index in `MachineSnapshot.owners`). */
  readonly secsIndex: number;
  readonly base: number;
  readonly size: number;
  readonly state: string;
  readonly mrenclave: string | null;
  readonly mrsigner: string | null;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly pages: number;
  /** SECS.ATTRIBUTES.FLAGS by name (INIT, DEBUG, MODE64BIT, …), and XFRM in hex. */
  readonly attributes: readonly string[];
  readonly xfrm: string;
  readonly miscSelect: number;
  /** SECS.SSAFRAMESIZE, in pages. */
  readonly ssaFrameSize: number;
  readonly activeThreads: number;
  /** Its TCSs: linear address, idle or active, CSSA of NSSA, AEXs taken. */
  readonly tcs: readonly { readonly linAddr: number; readonly state: string; readonly cssa: number; readonly nssa: number; readonly aexCount: number }[];
}

/** A machine's metadata after a step: the EPCM map, its enclaves and its leaf counters. */
export interface MachineSnapshot {
  readonly epcBase: number;
  /** Per EPC page: its PT_* type, or 0xff when free. */
  readonly types: Uint8Array;
  /** Per EPC page: the EPC index of its owning SECS, or −1. */
  readonly owners: Int32Array;
  readonly freePages: number;
  readonly enclaves: readonly EnclaveView[];
  /** ENCLS/ENCLU leaves and AEXs since the machine was made (only those that happened). */
  readonly counters: Readonly<Record<string, number>>;
  /** What the counters would cost on SGX hardware, in cycles, by the default cost model. */
  readonly estimatedCycles: number;
}

export type Fact = string | number | boolean | null;

/** What the worker reports. */
export type WorkerEvent =
  /** The worker started; `profiles` are those a load may name. */
  | { readonly kind: 'ready'; readonly profiles: readonly string[] }
  | { readonly kind: 'step'; readonly step: string; readonly index: number; readonly lines: readonly string[]; readonly facts: Readonly<Record<string, Fact>>; readonly machine: MachineSnapshot; readonly ms: number }
  | { readonly kind: 'attack'; readonly name: string; readonly attempted: string; readonly blockedBy: string; readonly detail: string; readonly leaked: boolean; readonly modified: boolean; readonly ms: number }
  | { readonly kind: 'loaded'; readonly profile: string; readonly enclave: LoadedEnclave; readonly machine: MachineSnapshot; readonly ms: number }
  | { readonly kind: 'called'; readonly outcome: CallOutcome; readonly machine: MachineSnapshot; readonly ms: number }
  | { readonly kind: 'peeked'; readonly views: MemoryViews }
  /** Enclaves unloaded: asked for, or with the machine a load of another profile or seed replaced. */
  | { readonly kind: 'unloaded'; readonly enclaves: readonly number[]; readonly machine: MachineSnapshot | null }
  | { readonly kind: 'done'; readonly run: PageRequest['run']; readonly ms: number }
  | { readonly kind: 'error'; readonly name: string; readonly code: string | null; readonly message: string };
