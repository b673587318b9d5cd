/**
 * The workbench: your own enclaves on one machine. An enclave comes as files — a signed image (what
 * `witness build` and `witness sign` write), or a WebAssembly module with its EDL (and, optionally,
 * its configuration as JSON), which the workbench builds and signs with a key it makes for the
 * purpose, as `witness build` + `witness keygen` + `witness sign` would — and is then called ECALL
 * by ECALL from text (platform/call.ts), as `witness run` calls it, each call reporting its results,
 * its OCALLs and the SGX leaves it cost. The web view's "Your enclave" panel runs one in its worker;
 * it works the same under Node.
 */
import { ATTR, ArchFault, VECTOR, mrsignerOf, sgxStatusName, type Processor, type SgxCounters } from '../arch/index.js';
import { WINDOWS_PROFILES, type WindowsProfileId } from '../os/windows/index.js';
import { LINUX_PROFILES, isLinuxProfile, errnoName, type LinuxProfileId } from '../os/linux/index.js';
import { decodeImage, isImage, buildImage, resolveEdl, parseEdl, planInterface, loadEnclave, signSigstruct, sigstructFieldsFor, measureImage, resolveEnclaveConfig, generateSigningKey, bcdDate, withSigstruct, type CanonicalInterface, type CanonicalParam, type EnclaveConfigJson, type EnclaveImage, type FunctionPlan, type HostEnclave, type OcallImpl } from '../sdk/index.js';
import { toHex } from '../lib/bytes.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { ecallArguments, ecallOutputs, valueText, parameterHint, costReport } from './call.js';
import type { CostReport, EcallForm, LoadedEnclave, CallOutcome, MemoryViews } from './results.js';
import { PlatformError } from './errors.js';
import { createPlatform, createLinuxPlatform, type Platform, type LinuxPlatform } from './index.js';

export type { ParamForm, EcallForm, LoadedEnclave, CallOutcome, MemoryViews } from './results.js';

export type WorkbenchProfile = WindowsProfileId | LinuxProfileId;
/** The profiles a workbench machine may run: every Windows and Linux one. */
export const WORKBENCH_PROFILES: readonly WorkbenchProfile[] = [...WINDOWS_PROFILES, ...LINUX_PROFILES];

/** A file given to the workbench: its name (its extension says what it is; an EDL file is known by its name without folders, as its importers name it) and its bytes. */
export interface WorkbenchFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface WorkbenchOptions {
  /** The machine's profile. Default 'win-x64-sgx1'. */
  readonly profile?: WorkbenchProfile;
  /** The platform seed (≥ 16 bytes). Default: random. */
  readonly seed?: Uint8Array;
  readonly crypto?: CryptoProvider;
}

const PAGE = 4096;

/** The most bytes one `peek` shows. */
export const PEEK_MAX = 256;

/** Where `peek` looks: a pointer of the enclave's code (an offset in its WebAssembly memory), or a linear address in ELRANGE. */
export type PeekAt = { readonly pointer: number } | { readonly linear: number };

interface Entry {
  readonly enclave: HostEnclave;
  readonly ecalls: ReadonlyMap<string, FunctionPlan>;
  /** Where the OCALLs of the call in progress are written. */
  log: string[];
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** A file's name without its folders (`/` or `\\`): how EDL files are told apart and imports found. */
function baseName(path: string): string {
  return path.replace(/^.*[\\/]/, '');
}

/**
 * The EDL files' texts by name (without folders: a browser gives none, and imports are found by
 * name); the root is the one no other imports (it must be exactly one).
 */
function rootEdl(edls: readonly WorkbenchFile[]): { root: string; files: Map<string, string> } {
  const files = new Map(edls.map((f) => [baseName(f.name), new TextDecoder('utf-8', { fatal: false }).decode(f.bytes)]));
  if (files.size !== edls.length) throw new PlatformError('WORKBENCH_FILES', 'two EDL files have the same name');
  if (edls.length === 1) return { root: [...files.keys()][0]!, files };
  const imported = new Set<string>();
  for (const [name, text] of files) for (const imp of parseEdl(text, name).imports) imported.add(baseName(imp.path));
  const roots = [...files.keys()].filter((n) => !imported.has(n));
  if (roots.length !== 1) throw new PlatformError('WORKBENCH_FILES', `of the EDL files ${[...files.keys()].join(', ')}, ${roots.length === 0 ? 'each is imported by another' : `${roots.join(', ')} are imported by none`}: give the enclave's EDL and the ones it imports`, { roots });
  return { root: roots[0]!, files };
}

function configOf(file: WorkbenchFile | undefined): EnclaveConfigJson {
  if (file === undefined) return {};
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder().decode(file.bytes));
  } catch (e) {
    throw new PlatformError('WORKBENCH_CONFIG', `${file.name} is not JSON`, { file: file.name }, { cause: e });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new PlatformError('WORKBENCH_CONFIG', `${file.name} does not hold a JSON object (an enclave configuration)`, { file: file.name });
  return config as EnclaveConfigJson;
}

/** The return type of an ECALL as its EDL spells it. */
function returnSpelling(iface: CanonicalInterface, name: string): string | null {
  const t = iface.trusted.find((f) => f.name === name)?.returns.spelling ?? 'void';
  return t === 'void' ? null : t;
}

/** The untrusted marshalling arena of each enclave (the SDK's default): no one buffer of a call may be larger. */
export const WORKBENCH_ARENA = 1 << 20;

/** Enclave ids, unique across the workbenches of one program (a page replacing its machine never sees an id again). */
let nextId = 1;

export class Workbench {
  readonly profile: WorkbenchProfile;
  readonly #platform: Platform | LinuxPlatform;
  readonly #enclaves = new Map<number, Entry>();
  /** The signing key made for enclaves that come unsigned, once per workbench (RSA-3072 takes a while). */
  #key: string | null = null;
  #disposed = false;

  /**
   * A machine for your enclaves.
   * @throws {PlatformError} `WORKBENCH_PROFILE` for a profile no machine runs; as createPlatform for a bad seed.
   */
  constructor(options: WorkbenchOptions = {}) {
    const profile = options.profile ?? 'win-x64-sgx1';
    if (!WORKBENCH_PROFILES.includes(profile)) throw new PlatformError('WORKBENCH_PROFILE', `unknown profile ${String(profile)} (one of ${WORKBENCH_PROFILES.join(', ')})`, { profile });
    this.profile = profile;
    const common = { ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(options.crypto !== undefined ? { crypto: options.crypto } : {}) };
    this.#platform = isLinuxProfile(profile) ? createLinuxPlatform({ profile, ...common }) : createPlatform({ profile: profile as WindowsProfileId, ...common });
  }

  get processor(): Processor {
    return this.#platform.processor;
  }

  /** The ids of the enclaves loaded now, oldest first. */
  get loaded(): number[] {
    return [...this.#enclaves.keys()];
  }

  #check(): void {
    if (this.#disposed) throw new PlatformError('WORKBENCH_DISPOSED', 'this workbench was disposed of: its machine is gone');
  }

  #cost(since: SgxCounters): CostReport {
    return costReport(this.processor.inspect.counters, since);
  }

  #signingKey(): string {
    this.#key ??= generateSigningKey(this.processor.crypto).privateKeyPem;
    return this.#key;
  }

  /** The image the files describe, signed (here, if it came unsigned), and how it came. */
  #imageOf(files: readonly WorkbenchFile[]): { image: EnclaveImage; name: string; origin: LoadedEnclave['origin'] } {
    const crypto = this.processor.crypto;
    const sign = (image: EnclaveImage) => withSigstruct(image, signSigstruct(sigstructFieldsFor(resolveEnclaveConfig(image.manifest.config), measureImage(image, crypto), { date: bcdDate() }), this.#signingKey(), crypto));
    const images = files.filter((f) => isImage(f.bytes));
    const rest = files.filter((f) => !isImage(f.bytes));
    if (images.length === 1 && rest.length === 0) {
      const image = decodeImage(images[0]!.bytes);
      return image.sigstruct !== null ? { image, name: images[0]!.name, origin: 'signed image' } : { image: sign(image), name: images[0]!.name, origin: 'image signed here' };
    }
    const modules = rest.filter((f) => extension(f.name) === 'wasm');
    const edls = rest.filter((f) => extension(f.name) === 'edl');
    const configs = rest.filter((f) => extension(f.name) === 'json');
    const other = rest.filter((f) => !['wasm', 'edl', 'json'].includes(extension(f.name)));
    if (images.length > 0 || modules.length !== 1 || edls.length === 0 || configs.length > 1 || other.length > 0) {
      throw new PlatformError('WORKBENCH_FILES', `give one enclave image (.wimg), or one module (.wasm) with its EDL (.edl, and the EDL files it imports) and at most one configuration (.json); got ${files.map((f) => f.name).join(', ') || 'no file'}`, { files: files.map((f) => f.name) });
    }
    const { root, files: texts } = rootEdl(edls);
    // Imports are looked up by name among the files given (a browser gives no directories).
    const iface = resolveEdl(root, { readFile: (p) => texts.get(baseName(p)) ?? null });
    const built = buildImage({ module: modules[0]!.bytes, interface: iface, config: configOf(configs[0]), crypto });
    return { image: sign(built.image), name: modules[0]!.name, origin: 'built and signed here' };
  }

  /**
   * Load an enclave from `files`: one image (.wimg: signed, or signed here), or one module (.wasm)
   * with its EDL files and at most one configuration (.json), built and signed here.
   * @throws {PlatformError} `WORKBENCH_FILES` for files that are none of these, `WORKBENCH_CONFIG` for
   * a configuration that is not a JSON object; EdlError, SdkError (`IMAGE_INVALID`, `CONFIG_INVALID`,
   * a module the SDK refuses…) and EnclaveLoadError (the platform refusing it) as the SDK throws them.
   * Nothing is loaded then.
   */
  load(files: readonly WorkbenchFile[]): LoadedEnclave {
    this.#check();
    const { image, name, origin } = this.#imageOf(files);
    const iface = image.manifest.interface as CanonicalInterface;
    const plan = planInterface(iface);
    const params = (f: FunctionPlan): readonly CanonicalParam[] => iface.trusted.find((t) => t.name === f.name)?.params ?? [];
    const entry: { log: string[] } = { log: [] };
    const ocalls: Record<string, OcallImpl> = {};
    for (const o of plan.ocalls) ocalls[o.name] = (...xs) => {
      entry.log.push(`${o.name}(${xs.map(valueText).join(', ')})`);
      return 0;
    };
    // Everything the answer says that the image alone decides, before the irreversible step.
    const mrsigner = toHex(mrsignerOf(image.sigstruct!, this.processor.crypto));
    const ecalls = plan.ecalls.map((f): EcallForm => {
      const cs = params(f);
      return { name: f.name, public: f.public, returns: returnSpelling(iface, f.name), params: f.params.map((p, i) => ({ name: p.name, hint: parameterHint(p, cs[i]), takesText: !(p.kind === 'buffer' && p.direction === 'out' && p.string === null) })) };
    });
    const before = this.processor.inspect.counters;
    const enclave = loadEnclave(this.#platform, image, { ocalls, arenaSize: WORKBENCH_ARENA });
    const cost = this.#cost(before);
    const id = nextId++;
    this.#enclaves.set(id, Object.assign(entry, { enclave, ecalls: new Map(plan.ecalls.map((f) => [f.name, f])) }));
    const info = this.processor.inspect.enclaves().find((e) => e.baseAddr === enclave.base);
    return {
      id, name, origin,
      mrenclave: info?.mrenclave ? toHex(info.mrenclave) : image.manifest.mrenclave,
      mrsigner, base: enclave.base, size: enclave.size,
      isvProdId: info?.isvProdId ?? 0, isvSvn: info?.isvSvn ?? 0, debug: info !== undefined && (info.attributesFlags & ATTR.DEBUG) !== 0n,
      ecalls, ocalls: plan.ocalls.map((o) => o.name), cost,
    };
  }

  #entry(id: number): Entry {
    this.#check();
    const e = this.#enclaves.get(id);
    if (e === undefined) throw new PlatformError('WORKBENCH_NO_ENCLAVE', `no enclave ${id} is loaded (loaded: ${this.loaded.join(', ') || 'none'})`, { id });
    return e;
  }

  /**
   * Call ECALL `name` of enclave `id` with one text per parameter (as `witness run` takes them).
   * @throws {PlatformError} `WORKBENCH_NO_ENCLAVE`, `WORKBENCH_NO_ECALL`, and `ECALL_ARGS` / `ECALL_ARG`
   * for bad text or a buffer larger than WORKBENCH_ARENA (nothing is allocated or called then);
   * EnclaveCallError when the call fails.
   */
  call(id: number, name: string, texts: readonly string[]): CallOutcome {
    const e = this.#entry(id);
    const f = e.ecalls.get(name);
    if (f === undefined) throw new PlatformError('WORKBENCH_NO_ECALL', `enclave ${id} has no ECALL ${name} (it has ${[...e.ecalls.keys()].join(', ')})`, { id, ecall: name });
    const args = ecallArguments(f, texts, { maxBuffer: WORKBENCH_ARENA });
    const before = this.processor.inspect.counters;
    e.log = [];
    const result = e.enclave.ecall(name, args);
    return { id, ecall: name, result: valueText(result), outputs: ecallOutputs(f, args), ocalls: e.log, cost: this.#cost(before) };
  }

  /**
   * `length` bytes (1 to PEEK_MAX, within one page) of enclave `id` at `at`, as the kernel, DRAM and
   * a debugger see them; the enclave's own view is what its ECALLs give back.
   * @throws {PlatformError} `WORKBENCH_NO_ENCLAVE`; `WORKBENCH_PEEK` for a length or an address
   * outside those bounds (a pointer past the enclave's memory, a linear address outside ELRANGE), or
   * an `at` that is neither (from a caller without the types).
   */
  peek(id: number, at: PeekAt, length: number): MemoryViews {
    const { enclave } = this.#entry(id);
    const heap = enclave.image.manifest.layout.heap;
    const bad = (why: string) => new PlatformError('WORKBENCH_PEEK', why, { id, length });
    if (!Number.isSafeInteger(length) || length < 1 || length > PEEK_MAX) throw bad(`a view is 1 to ${PEEK_MAX} bytes, not ${String(length)}`);
    // (a caller without the types may give anything: said as given, not a TypeError)
    if (typeof at !== 'object' || at === null || !('pointer' in at || 'linear' in at)) throw bad(`where to look is { pointer } or { linear }, not ${at === null || typeof at !== 'object' ? String(at) : Object.keys(at).length > 0 ? `{ ${Object.keys(at).join(', ')} }` : '{}'}`);
    let linear: number;
    if ('pointer' in at) {
      const memory = Math.max(heap.size, heap.max ?? 0);
      if (!Number.isSafeInteger(at.pointer) || at.pointer < 0 || at.pointer + length > memory) throw bad(`a pointer of the enclave's memory is 0 to 0x${(memory - length).toString(16)} for ${length} bytes, not ${String(at.pointer)}`);
      linear = enclave.base + heap.offset + at.pointer;
    } else {
      linear = at.linear;
      if (!Number.isSafeInteger(linear) || linear < enclave.base || linear + length > enclave.base + enclave.size) throw bad(`${typeof linear === 'number' ? `0x${linear.toString(16)}` : typeof linear === 'string' ? JSON.stringify(linear) : String(linear)} for ${length} bytes is not within ELRANGE [0x${enclave.base.toString(16)}, 0x${(enclave.base + enclave.size).toString(16)})`);
    }
    if (Math.floor(linear / PAGE) !== Math.floor((linear + length - 1) / PAGE)) throw bad(`a view stays within one 4 KiB page: 0x${linear.toString(16)} + ${length} crosses one`);
    const pte = this.#platform.process.pageTable.lookup(Math.floor(linear / PAGE));
    const physical = pte === undefined || pte === null ? null : pte.pfn * PAGE + (linear % PAGE);
    const processor = this.processor;
    const kernel = physical === null ? null : toHex(this.#platform.kernel.ring0(() => processor.memory.readPhysical(physical, length)));
    const dram = physical === null ? null : toHex(processor.memory.dramRead(physical, length));
    return { id, linear, length, physical, kernel, dram, debugger: this.#debuggerRead(linear, physical, length) };
  }

  /** A debugger's read: /proc/self/mem on Linux; EDBGRD from ring 0 (8-byte words) on Windows. */
  #debuggerRead(linear: number, physical: number | null, length: number): MemoryViews['debugger'] {
    const p = this.#platform;
    if ('libc' in p) {
      const via = 'pread(/proc/self/mem)';
      const fd = p.libc.open('/proc/self/mem');
      if (fd < 0) return { via, refused: `open: ${errnoName(p.libc.errno)}` };
      try {
        const buf = new Uint8Array(length);
        const n = p.libc.pread(fd, buf, linear);
        return n < 0 ? { via, refused: errnoName(p.libc.errno) } : { via, hex: toHex(buf.subarray(0, n)) };
      } finally {
        p.libc.close(fd);
      }
    }
    const via = 'EDBGRD from ring 0';
    if (physical === null) return { via, refused: 'the page is not mapped' };
    const first = physical - (physical % 8);
    const words = new Uint8Array(Math.ceil((physical + length - first) / 8) * 8);
    for (let o = 0; o < words.length; o += 8) {
      let r: { status: number; value: bigint };
      try {
        r = p.kernel.sgx.edbgrd(first + o);
      } catch (e) {
        // EDBGRD's own refusals (#GP: not a DEBUG enclave; #PF) are the debugger's answer; a #MC
        // (the platform locked) is not a refusal and goes on, as everywhere in the model.
        if (e instanceof ArchFault && e.vector !== VECTOR.MC) return { via, refused: e.message };
        throw e;
      }
      if (r.status !== 0) return { via, refused: `${sgxStatusName(r.status)} (${r.status})` };
      for (let i = 0; i < 8; i++) words[o + i] = Number((r.value >> BigInt(8 * i)) & 0xffn);
    }
    return { via, hex: toHex(words.subarray(physical - first, physical - first + length)) };
  }

  /** Unload enclave `id` (its pages go back to the EPC). @throws {PlatformError} `WORKBENCH_NO_ENCLAVE`. */
  unload(id: number): void {
    const e = this.#entry(id);
    this.#enclaves.delete(id);
    e.enclave.destroy();
  }

  /** Unload every enclave; the workbench refuses everything afterwards (`WORKBENCH_DISPOSED`). */
  dispose(): void {
    if (this.#disposed) return;
    for (const id of this.loaded) this.unload(id);
    this.#disposed = true;
  }
}
