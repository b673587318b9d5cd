/**
 * The Witness enclave image file: a small container of tagged sections.
 *
 *   bytes 0..15   magic "WITNESS IMAGE v1"
 *   u32           section count
 *   per section   8-byte ASCII tag, u64 length, the bytes
 *
 * Sections: MANIFEST (JSON: configuration, layout summary, the interface for the host, MRENCLAVE),
 * SGXS (the measurement stream: every page and how it is added and measured) and, once signed,
 * SIGSTRCT (the 1808-byte SIGSTRUCT). The SGXS section is the authority for what is loaded; the
 * manifest only helps the host (and is checked against the SGXS when loading).
 */
import { u32le, u64leNumberOrNeg, writeU32le, writeU64le } from '../../lib/bytes.js';
import { SdkError } from '../errors.js';
import type { EnclaveConfigJson } from './config.js';

export const IMAGE_MAGIC = new TextEncoder().encode('WITNESS IMAGE v1');

export interface ImageManifest {
  readonly format: 'witness-image';
  readonly version: 1;
  readonly runtime: string;
  readonly config: Required<EnclaveConfigJson>;
  readonly mrenclave: string;
  readonly layout: {
    readonly size: number;
    readonly ssaFrameSize: number;
    /** `max`: the most the heap may grow to (absent in images built before heaps could grow: `size`). */
    readonly heap: { readonly offset: number; readonly size: number; readonly max?: number };
    readonly module: { readonly offset: number; readonly length: number; readonly sha256: string };
    readonly interface: { readonly offset: number; readonly length: number };
    readonly tcs: readonly number[];
    readonly nssa: number;
    readonly pages: number;
  };
  /** The resolved EDL interface (JSON), as the enclave holds it in its interface pages. */
  readonly interface: unknown;
}

export interface EnclaveImage {
  readonly manifest: ImageManifest;
  readonly sgxs: Uint8Array;
  readonly sigstruct: Uint8Array | null;
}

const TAGS = { MANIFEST: 'MANIFEST', SGXS: 'SGXS\0\0\0\0', SIGSTRUCT: 'SIGSTRCT' } as const;

function tagBytes(t: string): Uint8Array {
  const b = new Uint8Array(8);
  b.set(new TextEncoder().encode(t).subarray(0, 8));
  return b;
}

export function encodeImage(img: EnclaveImage): Uint8Array {
  const sections: [string, Uint8Array][] = [
    [TAGS.MANIFEST, new TextEncoder().encode(JSON.stringify(img.manifest))],
    [TAGS.SGXS, img.sgxs],
  ];
  if (img.sigstruct) sections.push([TAGS.SIGSTRUCT, img.sigstruct]);
  let total = 20;
  for (const [, d] of sections) total += 16 + d.length;
  const out = new Uint8Array(total);
  out.set(IMAGE_MAGIC, 0);
  writeU32le(out, 16, sections.length);
  let o = 20;
  for (const [t, d] of sections) {
    out.set(tagBytes(t), o);
    writeU64le(out, o + 8, d.length);
    out.set(d, o + 16);
    o += 16 + d.length;
  }
  return out;
}

export function isImage(b: Uint8Array): boolean {
  if (b.length < 20) return false;
  for (let i = 0; i < 16; i++) if (b[i] !== IMAGE_MAGIC[i]) return false;
  return true;
}

/**
 * @throws {SdkError} `IMAGE_INVALID` (with the reason) for anything that is not a well-formed image.
 */
export function decodeImage(b: Uint8Array): EnclaveImage {
  const bad = (why: string): never => {
    throw new SdkError('IMAGE_INVALID', `not a Witness enclave image: ${why}`);
  };
  if (!isImage(b)) bad('wrong magic');
  const n = u32le(b, 16);
  if (n > 16) bad(`${n} sections`);
  let o = 20;
  const found = new Map<string, Uint8Array>();
  for (let i = 0; i < n; i++) {
    if (o + 16 > b.length) bad('truncated section header');
    const tag = new TextDecoder().decode(b.subarray(o, o + 8));
    const len = u64leNumberOrNeg(b, o + 8);
    if (len < 0 || o + 16 + len > b.length) bad(`section ${JSON.stringify(tag)} runs past the end`);
    if (found.has(tag)) bad(`duplicate section ${JSON.stringify(tag)}`);
    found.set(tag, b.subarray(o + 16, o + 16 + len));
    o += 16 + len;
  }
  if (o !== b.length) bad('trailing bytes after the last section');
  const m = found.get(TAGS.MANIFEST);
  const sgxs = found.get(TAGS.SGXS);
  if (!m || !sgxs) return bad('missing MANIFEST or SGXS section');
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(m));
  } catch (e) {
    throw new SdkError('IMAGE_INVALID', 'not a Witness enclave image: the manifest is not JSON', {}, { cause: e });
  }
  checkManifest(manifest);
  const sig = found.get(TAGS.SIGSTRUCT) ?? null;
  if (sig && sig.length !== 1808) bad(`the SIGSTRUCT section has ${sig.length} bytes`);
  return { manifest, sgxs: sgxs.slice(), sigstruct: sig ? sig.slice() : null };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * The deepest value the format holds: manifest › interface › structs › a struct › members › a member ›
 * type › dims. Deeper nesting is refused: recursive code (JSON.stringify) would overflow the stack on it.
 */
const MANIFEST_DEPTH = 8;

/** Whether `v` nests arrays and objects deeper than `limit` levels (walked without recursion). */
function nestsDeeper(v: unknown, limit: number): boolean {
  const todo: [unknown, number][] = [[v, 1]];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [x, depth] = next;
    if (typeof x !== 'object' || x === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(x)) todo.push([child, depth + 1]);
  }
  return false;
}

/** The manifest's keys, and its layout's, as the format defines them. */
const MANIFEST_KEYS = ['format', 'version', 'runtime', 'config', 'mrenclave', 'layout', 'interface'];
const LAYOUT_KEYS = ['size', 'ssaFrameSize', 'heap', 'module', 'interface', 'tcs', 'nssa', 'pages'];

/**
 * Check that a decoded manifest has the shape the host relies on (the loader then checks it
 * against the SGXS; the configuration and the interface are checked when they are used).
 * @throws {SdkError} `IMAGE_INVALID` naming the first field that is missing or of the wrong type,
 * a key the format does not define, or nesting deeper than the format's.
 */
export function checkManifest(m: unknown): asserts m is ImageManifest {
  const bad = (field: string, why: string): never => {
    throw new SdkError('IMAGE_INVALID', `not a Witness enclave image: the manifest's ${field} ${why}`, { field });
  };
  if (!isObject(m)) return bad('top level', 'is not an object');
  if (nestsDeeper(m, MANIFEST_DEPTH)) bad('top level', `nests deeper than the format's ${MANIFEST_DEPTH} levels`);
  const onlyKeys = (o: Record<string, unknown>, keys: readonly string[], where: string): void => {
    const extra = Object.keys(o).find((k) => !keys.includes(k));
    if (extra !== undefined) bad(where, `has a key the format does not define: ${JSON.stringify(extra)}`);
  };
  onlyKeys(m, MANIFEST_KEYS, 'top level');
  if (m.format !== 'witness-image' || m.version !== 1) bad('format', 'is unknown (expected witness-image version 1)');
  if (typeof m.runtime !== 'string') bad('runtime', 'is not a string');
  if (typeof m.mrenclave !== 'string' || !/^[0-9a-f]{64}$/.test(m.mrenclave)) bad('mrenclave', 'is not 64 lower-case hex digits');
  if (!isObject(m.config)) bad('config', 'is not an object');
  if (!isObject(m.interface)) bad('interface', 'is not an object');
  const l = m.layout;
  if (!isObject(l)) return bad('layout', 'is not an object');
  onlyKeys(l, LAYOUT_KEYS, 'layout');
  for (const k of ['size', 'ssaFrameSize', 'nssa', 'pages'] as const) if (!isCount(l[k])) bad(`layout.${k}`, 'is not a non-negative integer');
  const region = (name: string, fields: readonly string[], optional: readonly string[] = []): void => {
    const r = l[name];
    if (!isObject(r)) return bad(`layout.${name}`, 'is not an object');
    onlyKeys(r, name === 'module' ? [...fields, 'sha256'] : [...fields, ...optional], `layout.${name}`);
    for (const k of fields) if (!isCount(r[k])) bad(`layout.${name}.${k}`, 'is not a non-negative integer');
    for (const k of optional) if (r[k] !== undefined && !isCount(r[k])) bad(`layout.${name}.${k}`, 'is not a non-negative integer');
  };
  region('heap', ['offset', 'size'], ['max']);
  region('module', ['offset', 'length']);
  region('interface', ['offset', 'length']);
  if (typeof (l.module as Record<string, unknown>).sha256 !== 'string') bad('layout.module.sha256', 'is not a string');
  if (!Array.isArray(l.tcs) || !l.tcs.every(isCount)) bad('layout.tcs', 'is not a list of offsets');
}

export function withSigstruct(img: EnclaveImage, sigstruct: Uint8Array): EnclaveImage {
  return { ...img, sigstruct };
}

export function describeImage(img: EnclaveImage): string[] {
  const m = img.manifest;
  return [
    `runtime        ${m.runtime}`,
    `MRENCLAVE      ${m.mrenclave}`,
    `signed         ${img.sigstruct ? 'yes' : 'no'}`,
    `ELRANGE size   0x${m.layout.size.toString(16)}`,
    `pages          ${m.layout.pages}`,
    `module         offset 0x${m.layout.module.offset.toString(16)}, ${m.layout.module.length} bytes, sha256 ${m.layout.module.sha256}`,
    `interface      offset 0x${m.layout.interface.offset.toString(16)}, ${m.layout.interface.length} bytes`,
    `heap           offset 0x${m.layout.heap.offset.toString(16)}, ${m.layout.heap.size} bytes (not measured)${(m.layout.heap.max ?? m.layout.heap.size) > m.layout.heap.size ? `, grows to ${m.layout.heap.max} bytes with SGX2` : ''}`,
    `threads        ${m.layout.tcs.length} TCS at ${m.layout.tcs.map((t) => '0x' + t.toString(16)).join(', ')}, NSSA ${m.layout.nssa}`,
    `config         ${JSON.stringify(m.config)}`,
  ];
}

