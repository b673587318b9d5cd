/**
 * Enclave configuration (what Intel's SDK keeps in Enclave.config.xml): identity, attributes,
 * memory and threads. Everything that affects MRENCLAVE or the SIGSTRUCT is here.
 */
import { SdkError } from '../errors.js';

export interface EnclaveConfig {
  /** ISVPRODID (u16). Default 0. */
  readonly isvProdId: number;
  /** ISVSVN (u16). Default 0. */
  readonly isvSvn: number;
  /** ATTRIBUTES.DEBUG: EDBGRD/EDBGWR allowed. Default false (production). */
  readonly debug: boolean;
  /** ATTRIBUTES.PROVISIONKEY. Default false. */
  readonly provisionKey: boolean;
  /** MISCSELECT. Default 0. */
  readonly miscSelect: number;
  /** XFRM. Default 3 (x87 + SSE). */
  readonly xfrm: bigint;
  /**
   * Linear memory of the module (the enclave heap) at load, bytes, a multiple of 64 KiB: EADDed on
   * every platform (Intel's HeapInitSize). Default 1 MiB.
   */
  readonly heapSize: number;
  /**
   * The most the heap may grow to, bytes (Intel's HeapMaxSize): ELRANGE reserves it, and on an
   * SGX2 platform the module's memory.grow commits pages up to it (EAUG by the OS, EACCEPT by the
   * runtime); elsewhere the memory stays at heapSize. Default: heapSize (a heap that never grows).
   */
  readonly heapMaxSize: number;
  /** Thread control structures: concurrent entries. Default 2. */
  readonly tcsCount: number;
  /** SSA frames per TCS (NSSA). Default 2 (one for the exception handler). */
  readonly ssaFrames: number;
}

export const DEFAULT_ENCLAVE_CONFIG: EnclaveConfig = {
  isvProdId: 0, isvSvn: 0, debug: false, provisionKey: false, miscSelect: 0, xfrm: 3n, heapSize: 1 << 20, heapMaxSize: 1 << 20, tcsCount: 2, ssaFrames: 2,
};

/** A JSON-friendly form of the configuration (xfrm as a hex string). */
export interface EnclaveConfigJson {
  isvProdId?: number;
  isvSvn?: number;
  debug?: boolean;
  provisionKey?: boolean;
  miscSelect?: number;
  xfrm?: string | number;
  heapSize?: number;
  heapMaxSize?: number;
  tcsCount?: number;
  ssaFrames?: number;
}

/**
 * Complete and check a configuration.
 * @throws {SdkError} `CONFIG_INVALID` naming the field.
 */
export function resolveEnclaveConfig(partial: Partial<EnclaveConfig> | EnclaveConfigJson = {}): EnclaveConfig {
  const bad = (field: string, why: string): never => {
    throw new SdkError('CONFIG_INVALID', `enclave configuration: ${field} ${why}`, { field });
  };
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) return bad('(the whole configuration)', 'must be an object');
  const p = partial as Record<string, unknown>;
  const known = new Set(Object.keys(DEFAULT_ENCLAVE_CONFIG));
  for (const k of Object.keys(p)) if (!known.has(k)) throw new SdkError('CONFIG_INVALID', `unknown enclave configuration field '${k}'`, { field: k });
  const xfrm = p.xfrm === undefined ? DEFAULT_ENCLAVE_CONFIG.xfrm : xfrmValue(p.xfrm) ?? bad('xfrm', 'must be a u64: a bigint, a non-negative integer or a decimal or 0x-hex string');
  const given = p as Partial<EnclaveConfig>;
  const c: EnclaveConfig = { ...DEFAULT_ENCLAVE_CONFIG, ...given, xfrm, heapMaxSize: given.heapMaxSize ?? given.heapSize ?? DEFAULT_ENCLAVE_CONFIG.heapSize };
  const u16 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff;
  if (!u16(c.isvProdId)) bad('isvProdId', 'must be an integer 0..65535');
  if (!u16(c.isvSvn)) bad('isvSvn', 'must be an integer 0..65535');
  if (typeof c.debug !== 'boolean') bad('debug', 'must be true or false');
  if (typeof c.provisionKey !== 'boolean') bad('provisionKey', 'must be true or false');
  if (!Number.isInteger(c.miscSelect) || c.miscSelect < 0 || c.miscSelect > 0xffffffff) bad('miscSelect', 'must be a u32');
  if ((c.xfrm & 3n) !== 3n) bad('xfrm', 'must include x87 and SSE (bits 0 and 1)');
  if (!Number.isSafeInteger(c.heapSize) || c.heapSize < 65536 || c.heapSize % 65536 !== 0) bad('heapSize', 'must be a positive multiple of 64 KiB');
  if (c.heapSize > 2 ** 32) bad('heapSize', 'exceeds the 4 GiB of a wasm32 memory');
  if (!Number.isSafeInteger(c.heapMaxSize) || c.heapMaxSize % 65536 !== 0 || c.heapMaxSize < c.heapSize) bad('heapMaxSize', 'must be a multiple of 64 KiB, at least heapSize');
  if (c.heapMaxSize > 2 ** 32) bad('heapMaxSize', 'exceeds the 4 GiB of a wasm32 memory');
  if (!Number.isInteger(c.tcsCount) || c.tcsCount < 1 || c.tcsCount > 256) bad('tcsCount', 'must be 1..256');
  if (!Number.isInteger(c.ssaFrames) || c.ssaFrames < 1 || c.ssaFrames > 16) bad('ssaFrames', 'must be 1..16');
  return c;
}

/** XFRM from a bigint, a safe non-negative integer or a decimal / 0x-hex string; null when it is none of those or not a u64. */
function xfrmValue(v: unknown): bigint | null {
  let x: bigint;
  if (typeof v === 'bigint') x = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) x = BigInt(v);
  else if (typeof v === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) x = BigInt(v);
  else return null;
  return x >= 0n && x <= 0xffff_ffff_ffff_ffffn ? x : null;
}

export function configToJson(c: EnclaveConfig): Required<EnclaveConfigJson> {
  return { isvProdId: c.isvProdId, isvSvn: c.isvSvn, debug: c.debug, provisionKey: c.provisionKey, miscSelect: c.miscSelect, xfrm: '0x' + c.xfrm.toString(16), heapSize: c.heapSize, heapMaxSize: c.heapMaxSize, tcsCount: c.tcsCount, ssaFrames: c.ssaFrames };
}

/** ATTRIBUTES.FLAGS of an enclave built with this configuration (MODE64BIT always: the model's host runs in 64-bit mode). */
export function attributesFlagsOf(c: EnclaveConfig): bigint {
  return 0x4n | (c.debug ? 0x2n : 0n) | (c.provisionKey ? 0x10n : 0n);
}
