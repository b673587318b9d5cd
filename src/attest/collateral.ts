/**
 * Verification collateral in the Provisioning Certification Service's JSON formats (Intel PCS API
 * v4: "Get TCB Info" → TCB Info v3; "Get Quoting Enclave Identity" → Enclave Identity v2):
 *
 *   {"tcbInfo":{…},"signature":"<hex r ‖ s>"}          {"enclaveIdentity":{…},"signature":"<hex>"}
 *
 * The signature is ECDSA P-256 / SHA-256 over the exact bytes of the body object as it appears
 * in the response (the TCB-Info-Issuer-Chain / SGX-Enclave-Identity-Issuer-Chain certificate
 * signs it); the parser therefore keeps the raw text of the body next to its decoded value.
 * Decoding is strict: unknown keys, missing keys, wrong types, wrong hex lengths and unknown
 * status strings are `AttestError` COLLATERAL_MALFORMED naming the field.
 */
import { fromHex, toHex } from '../lib/bytes.js';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { AttestError } from './errors.js';

/** TCB level statuses of TCB Info (PCS API v4). */
export const TCB_STATUSES = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];
/** TCB level statuses of an enclave identity. */
export const QE_TCB_STATUSES = ['UpToDate', 'OutOfDate', 'Revoked'] as const;
export type QeTcbStatus = (typeof QE_TCB_STATUSES)[number];

export interface TcbLevel {
  /** SGX TCB Comp01 … Comp16 SVN. */
  readonly components: readonly number[];
  readonly pcesvn: number;
  readonly tcbDate: string;
  readonly tcbStatus: TcbStatus;
  readonly advisoryIDs?: readonly string[];
}

/** TCB Info v3 for SGX (id "SGX", tcbType 0). */
export interface TcbInfo {
  readonly version: 3;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  /** 6 bytes. */
  readonly fmspc: Uint8Array;
  /** 2 bytes. */
  readonly pceId: Uint8Array;
  readonly tcbEvaluationDataNumber: number;
  /** In the order given (the PCS lists the highest first). */
  readonly tcbLevels: readonly TcbLevel[];
}

export interface QeTcbLevel {
  readonly isvsvn: number;
  readonly tcbDate: string;
  readonly tcbStatus: QeTcbStatus;
  readonly advisoryIDs?: readonly string[];
}

/** Enclave Identity v2 of the QE (id "QE"). */
export interface QeIdentity {
  readonly version: 2;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly tcbEvaluationDataNumber: number;
  readonly miscselect: number;
  readonly miscselectMask: number;
  /** 16 bytes, the REPORT's ATTRIBUTES as they lie in memory (flags LE ‖ xfrm LE). */
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly mrsigner: Uint8Array;
  readonly isvprodid: number;
  readonly tcbLevels: readonly QeTcbLevel[];
}

/** A signed collateral document as parsed: the value, the exact signed bytes, the signature (r ‖ s). */
export interface SignedCollateral<T> {
  readonly value: T;
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** ISO 8601 UTC without milliseconds, as the PCS writes dates ("2024-03-13T10:10:44Z"). */
export function pcsDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function tcbInfoBody(t: TcbInfo): unknown {
  return {
    id: 'SGX',
    version: 3,
    issueDate: pcsDate(t.issueDate),
    nextUpdate: pcsDate(t.nextUpdate),
    fmspc: toHex(t.fmspc),
    pceId: toHex(t.pceId),
    tcbType: 0,
    tcbEvaluationDataNumber: t.tcbEvaluationDataNumber,
    tcbLevels: t.tcbLevels.map((l) => ({
      tcb: { sgxtcbcomponents: l.components.map((svn) => ({ svn })), pcesvn: l.pcesvn },
      tcbDate: l.tcbDate,
      tcbStatus: l.tcbStatus,
      ...(l.advisoryIDs ? { advisoryIDs: [...l.advisoryIDs] } : {}),
    })),
  };
}

const hexU32 = (n: number): string => n.toString(16).padStart(8, '0').toUpperCase();

function qeIdentityBody(q: QeIdentity): unknown {
  return {
    id: 'QE',
    version: 2,
    issueDate: pcsDate(q.issueDate),
    nextUpdate: pcsDate(q.nextUpdate),
    tcbEvaluationDataNumber: q.tcbEvaluationDataNumber,
    miscselect: hexU32(q.miscselect),
    miscselectMask: hexU32(q.miscselectMask),
    attributes: toHex(q.attributes).toUpperCase(),
    attributesMask: toHex(q.attributesMask).toUpperCase(),
    mrsigner: toHex(q.mrsigner).toUpperCase(),
    isvprodid: q.isvprodid,
    tcbLevels: q.tcbLevels.map((l) => ({ tcb: { isvsvn: l.isvsvn }, tcbDate: l.tcbDate, tcbStatus: l.tcbStatus, ...(l.advisoryIDs ? { advisoryIDs: [...l.advisoryIDs] } : {}) })),
  };
}

function signedDocument(key: string, body: unknown, signingKey: Uint8Array, crypto: CryptoProvider): string {
  const text = JSON.stringify(body);
  const sig = crypto.ecdsaP256Sign(signingKey, new TextEncoder().encode(text));
  return `{"${key}":${text},"signature":"${toHex(sig)}"}`;
}

/** The signed TCB Info v3 JSON document. */
export function encodeTcbInfo(t: TcbInfo, signingKey: Uint8Array, crypto: CryptoProvider): string {
  return signedDocument('tcbInfo', tcbInfoBody(t), signingKey, crypto);
}

/** The signed QE Identity (Enclave Identity v2) JSON document. */
export function encodeQeIdentity(q: QeIdentity, signingKey: Uint8Array, crypto: CryptoProvider): string {
  return signedDocument('enclaveIdentity', qeIdentityBody(q), signingKey, crypto);
}

// ---------------------------------------------------------------------------------------------
// Decoding

const bad = (message: string, field: string): never => {
  throw new AttestError('COLLATERAL_MALFORMED', message, { field });
};

/** The raw text of each top-level member of a JSON object (JSON.parse has already validated the text). */
function topLevelRaw(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const skipString = (): void => {
    i++; // opening quote
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  ws();
  i++; // '{'
  ws();
  while (text[i] !== '}') {
    const ks = i;
    skipString();
    const key = JSON.parse(text.slice(ks, i)) as string;
    ws();
    i++; // ':'
    ws();
    const vs = i;
    let depth = 0;
    for (;;) {
      const c = text[i]!;
      if (c === '"') {
        skipString();
        if (depth === 0) break;
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0 && (c === ',' || ' \t\r\n'.includes(c))) break;
      i++;
    }
    if (out.has(key)) bad(`duplicate member ${JSON.stringify(key)}`, key);
    out.set(key, text.slice(vs, i));
    ws();
    if (text[i] === ',') {
      i++;
      ws();
    }
  }
  return out;
}

type Obj = Record<string, unknown>;
function object(v: unknown, field: string, keys: readonly string[], optional: readonly string[] = []): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(`${field}: not an object`, field);
  for (const k of Object.keys(v)) if (!keys.includes(k) && !optional.includes(k)) bad(`${field}: unknown member ${JSON.stringify(k)}`, `${field}.${k}`);
  for (const k of keys) if (!(k in v)) bad(`${field}: missing member ${JSON.stringify(k)}`, `${field}.${k}`);
  return v as Obj;
}
function int(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) return bad(`${field}: not an integer in 0–${max}`, field);
  return v;
}
function hex(v: unknown, field: string, bytes: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) return bad(`${field}: not ${bytes} bytes of hex`, field);
  return fromHex(v.toLowerCase());
}
function date(v: unknown, field: string): Date {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v) || Number.isNaN(Date.parse(v))) return bad(`${field}: not an ISO 8601 UTC date`, field);
  return new Date(v);
}
function status<S extends string>(v: unknown, field: string, allowed: readonly S[]): S {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) return bad(`${field}: unknown status ${JSON.stringify(v)}`, field);
  return v as S;
}
function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v) || v.length === 0) return bad(`${field}: not a non-empty array`, field);
  return v;
}
function advisories(o: Obj, field: string): { advisoryIDs?: string[] } {
  if (!('advisoryIDs' in o)) return {};
  const a = o.advisoryIDs;
  if (!Array.isArray(a) || a.some((x) => typeof x !== 'string')) return bad(`${field}.advisoryIDs: not a list of strings`, `${field}.advisoryIDs`);
  return { advisoryIDs: a as string[] };
}

function parseSigned(text: string, key: string): { body: unknown; signedBytes: Uint8Array; signature: Uint8Array } {
  if (typeof text !== 'string') return bad('collateral is not a string', key);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad(`${key} document: not JSON`, key);
  }
  const top = object(doc, 'document', [key, 'signature']);
  const raw = topLevelRaw(text).get(key)!;
  const sig = top.signature;
  if (typeof sig !== 'string' || !/^[0-9a-fA-F]{128}$/.test(sig)) bad('signature: not 64 bytes of hex (r ‖ s)', 'signature');
  return { body: top[key], signedBytes: new TextEncoder().encode(raw), signature: fromHex((sig as string).toLowerCase()) };
}

/**
 * Parse a TCB Info v3 document (SGX). @throws {AttestError} COLLATERAL_MALFORMED (data.field),
 * COLLATERAL_UNSUPPORTED (id other than "SGX", version other than 3, tcbType other than 0).
 */
export function parseTcbInfo(text: string): SignedCollateral<TcbInfo> {
  const { body, signedBytes, signature } = parseSigned(text, 'tcbInfo');
  const o = object(body, 'tcbInfo', ['id', 'version', 'issueDate', 'nextUpdate', 'fmspc', 'pceId', 'tcbType', 'tcbEvaluationDataNumber', 'tcbLevels']);
  if (o.id !== 'SGX' || o.version !== 3 || o.tcbType !== 0) throw new AttestError('COLLATERAL_UNSUPPORTED', `tcbInfo: id ${JSON.stringify(o.id)} version ${JSON.stringify(o.version)} tcbType ${JSON.stringify(o.tcbType)}; the model reads SGX TCB Info v3, tcbType 0`, { field: 'tcbInfo' });
  const tcbLevels = list(o.tcbLevels, 'tcbInfo.tcbLevels').map((lv, i): TcbLevel => {
    const f = `tcbInfo.tcbLevels[${i}]`;
    const l = object(lv, f, ['tcb', 'tcbDate', 'tcbStatus'], ['advisoryIDs']);
    const t = object(l.tcb, `${f}.tcb`, ['sgxtcbcomponents', 'pcesvn']);
    const comps = list(t.sgxtcbcomponents, `${f}.tcb.sgxtcbcomponents`);
    if (comps.length !== 16) bad(`${f}.tcb.sgxtcbcomponents: ${comps.length} entries, expected 16`, `${f}.tcb.sgxtcbcomponents`);
    const components = comps.map((c, j) => {
      const co = object(c, `${f}.tcb.sgxtcbcomponents[${j}]`, ['svn'], ['category', 'type']);
      for (const k of ['category', 'type']) if (k in co && typeof co[k] !== 'string') bad(`${f}.tcb.sgxtcbcomponents[${j}].${k}: not a string`, `${f}.tcb.sgxtcbcomponents[${j}].${k}`);
      return int(co.svn, `${f}.tcb.sgxtcbcomponents[${j}].svn`, 255);
    });
    date(l.tcbDate, `${f}.tcbDate`);
    return { components, pcesvn: int(t.pcesvn, `${f}.tcb.pcesvn`, 0xffff), tcbDate: l.tcbDate as string, tcbStatus: status(l.tcbStatus, `${f}.tcbStatus`, TCB_STATUSES), ...advisories(l, f) };
  });
  return {
    value: {
      version: 3,
      issueDate: date(o.issueDate, 'tcbInfo.issueDate'),
      nextUpdate: date(o.nextUpdate, 'tcbInfo.nextUpdate'),
      fmspc: hex(o.fmspc, 'tcbInfo.fmspc', 6),
      pceId: hex(o.pceId, 'tcbInfo.pceId', 2),
      tcbEvaluationDataNumber: int(o.tcbEvaluationDataNumber, 'tcbInfo.tcbEvaluationDataNumber', 0xffffffff),
      tcbLevels,
    },
    signedBytes,
    signature,
  };
}

/**
 * Parse a QE Identity (Enclave Identity v2, id "QE") document.
 * @throws {AttestError} COLLATERAL_MALFORMED (data.field), COLLATERAL_UNSUPPORTED.
 */
export function parseQeIdentity(text: string): SignedCollateral<QeIdentity> {
  const { body, signedBytes, signature } = parseSigned(text, 'enclaveIdentity');
  const o = object(body, 'enclaveIdentity', ['id', 'version', 'issueDate', 'nextUpdate', 'tcbEvaluationDataNumber', 'miscselect', 'miscselectMask', 'attributes', 'attributesMask', 'mrsigner', 'isvprodid', 'tcbLevels']);
  if (o.id !== 'QE' || o.version !== 2) throw new AttestError('COLLATERAL_UNSUPPORTED', `enclaveIdentity: id ${JSON.stringify(o.id)} version ${JSON.stringify(o.version)}; the model reads QE identity v2`, { field: 'enclaveIdentity' });
  const u32 = (v: unknown, f: string): number => {
    const b = hex(v, f, 4);
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  };
  const tcbLevels = list(o.tcbLevels, 'enclaveIdentity.tcbLevels').map((lv, i): QeTcbLevel => {
    const f = `enclaveIdentity.tcbLevels[${i}]`;
    const l = object(lv, f, ['tcb', 'tcbDate', 'tcbStatus'], ['advisoryIDs']);
    const t = object(l.tcb, `${f}.tcb`, ['isvsvn']);
    date(l.tcbDate, `${f}.tcbDate`);
    return { isvsvn: int(t.isvsvn, `${f}.tcb.isvsvn`, 0xffff), tcbDate: l.tcbDate as string, tcbStatus: status(l.tcbStatus, `${f}.tcbStatus`, QE_TCB_STATUSES), ...advisories(l, f) };
  });
  return {
    value: {
      version: 2,
      issueDate: date(o.issueDate, 'enclaveIdentity.issueDate'),
      nextUpdate: date(o.nextUpdate, 'enclaveIdentity.nextUpdate'),
      tcbEvaluationDataNumber: int(o.tcbEvaluationDataNumber, 'enclaveIdentity.tcbEvaluationDataNumber', 0xffffffff),
      miscselect: u32(o.miscselect, 'enclaveIdentity.miscselect'),
      miscselectMask: u32(o.miscselectMask, 'enclaveIdentity.miscselectMask'),
      attributes: hex(o.attributes, 'enclaveIdentity.attributes', 16),
      attributesMask: hex(o.attributesMask, 'enclaveIdentity.attributesMask', 16),
      mrsigner: hex(o.mrsigner, 'enclaveIdentity.mrsigner', 32),
      isvprodid: int(o.isvprodid, 'enclaveIdentity.isvprodid', 0xffff),
      tcbLevels,
    },
    signedBytes,
    signature,
  };
}
