/**
 * The PCK certificate's SGX Extensions (OID 1.2.840.113741.1.13.1), as the "Intel SGX PCK
 * Certificate and Certificate Revocation List Profile Specification" (§ "Intel SGX PCK Certificate",
 * SGX Extensions) lays them out:
 *
 *   SEQUENCE {
 *     SEQUENCE { .1 PPID,   OCTET STRING (16) }
 *     SEQUENCE { .2 TCB,    SEQUENCE { SEQUENCE { .2.1 … .2.16 SGX TCB CompNN SVN, INTEGER } ×16,
 *                                      SEQUENCE { .2.17 PCESVN, INTEGER },
 *                                      SEQUENCE { .2.18 CPUSVN, OCTET STRING (16) } } }
 *     SEQUENCE { .3 PCE-ID, OCTET STRING (2) }
 *     SEQUENCE { .4 FMSPC,  OCTET STRING (6) }
 *     SEQUENCE { .5 SGX Type, ENUMERATED }   -- 0 Standard, 1 Scalable, 2 Scalable with Integrity
 *   }
 *
 * The model supports SGX Type Standard (0) only: Scalable platforms add PlatformInstanceID (.6)
 * and Configuration (.7), which the model's single-package platform does not have.
 */
import { LayoutError } from '../lib/errors.js';
import { derDecode, derEnumerated, derInteger, derOctetString, derOid, derReadEnumerated, derReadOctetString, derReadOid, derReadSmallInteger, derSequence, derSequenceOf, type DerNode } from '../lib/der.js';
import { AttestError } from './errors.js';
import { parseCertificate, type Certificate } from './x509.js';

/** SGX Extensions OID arcs (PCK Certificate profile). */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';
const ARC = { ppid: 1, tcb: 2, pceId: 3, fmspc: 4, sgxType: 5 } as const;
/** SGX Type values (ENUMERATED). */
export const SGX_TYPE = { Standard: 0, Scalable: 1, ScalableWithIntegrity: 2 } as const;

/** The TCB the PCK certifies: 16 component SVNs, PCESVN, and the raw CPUSVN. */
export interface PckTcb {
  /** SGX TCB Comp01 … Comp16 SVN (0–255 each). */
  readonly components: readonly number[];
  readonly pcesvn: number;
  readonly cpusvn: Uint8Array;
}

export interface SgxExtensions {
  readonly ppid: Uint8Array;
  readonly tcb: PckTcb;
  /** 2 bytes, as in the certificate (PCE-ID). */
  readonly pceId: Uint8Array;
  /** 6 bytes. */
  readonly fmspc: Uint8Array;
  readonly sgxType: number;
}

const bad = (message: string, field: string, cause?: unknown): never => {
  throw new AttestError('PCK_SGX_EXTENSION_MALFORMED', `SGX Extensions: ${message}`, { field, ...(cause instanceof LayoutError ? { derCode: cause.code } : {}) }, cause === undefined ? undefined : { cause });
};
const entry = (arc: string, value: Uint8Array): Uint8Array => derSequence(derOid(`${SGX_EXTENSION_OID}.${arc}`), value);

function checkBytes(v: Uint8Array, n: number, field: string): void {
  if (!(v instanceof Uint8Array) || v.length !== n) throw new AttestError('PCK_PARAMS', `${field}: expected ${n} bytes`, { field });
}

/** The extnValue DER of the SGX Extensions. @throws {AttestError} PCK_PARAMS for a wrong size or range. */
export function encodeSgxExtensions(x: SgxExtensions): Uint8Array {
  checkBytes(x.ppid, 16, 'ppid');
  checkBytes(x.tcb.cpusvn, 16, 'cpusvn');
  checkBytes(x.pceId, 2, 'pceId');
  checkBytes(x.fmspc, 6, 'fmspc');
  if (x.tcb.components.length !== 16 || x.tcb.components.some((c) => !Number.isInteger(c) || c < 0 || c > 255)) throw new AttestError('PCK_PARAMS', 'tcb.components: 16 SVNs in 0–255', { field: 'components' });
  if (!Number.isInteger(x.tcb.pcesvn) || x.tcb.pcesvn < 0 || x.tcb.pcesvn > 0xffff) throw new AttestError('PCK_PARAMS', 'pcesvn: 0–65535', { field: 'pcesvn' });
  if (x.sgxType !== SGX_TYPE.Standard) throw new AttestError('PCK_PARAMS', 'sgxType: the model issues Standard (0) PCK certificates only', { field: 'sgxType' });
  const tcb = derSequence(
    ...x.tcb.components.map((c, i) => entry(`${ARC.tcb}.${i + 1}`, derInteger(c))),
    entry(`${ARC.tcb}.17`, derInteger(x.tcb.pcesvn)),
    entry(`${ARC.tcb}.18`, derOctetString(x.tcb.cpusvn)),
  );
  return derSequence(
    entry(`${ARC.ppid}`, derOctetString(x.ppid)),
    entry(`${ARC.tcb}`, tcb),
    entry(`${ARC.pceId}`, derOctetString(x.pceId)),
    entry(`${ARC.fmspc}`, derOctetString(x.fmspc)),
    entry(`${ARC.sgxType}`, derEnumerated(x.sgxType)),
  );
}

function readEntry(node: DerNode | undefined, arc: string, name: string): DerNode {
  const [oid, value] = derSequenceOf(node, name, 2);
  const got = derReadOid(oid, `${name}.oid`);
  if (got !== `${SGX_EXTENSION_OID}.${arc}`) bad(`${name}: OID ${got}, expected ${SGX_EXTENSION_OID}.${arc}`, name);
  return value!;
}

/**
 * Parse the SGX Extensions' extnValue strictly: the entries in the profile's order, exact sizes.
 * @throws {AttestError} PCK_SGX_EXTENSION_MALFORMED (data.field names the entry), PCK_UNSUPPORTED_SGX_TYPE.
 */
export function parseSgxExtensions(value: Uint8Array): SgxExtensions {
  try {
    const top = derSequenceOf(derDecode(value), 'SgxExtensions');
    if (top.length < 5) bad(`${top.length} entries, expected 5`, 'SgxExtensions');
    const ppid = derReadOctetString(readEntry(top[0], `${ARC.ppid}`, 'PPID'), 'PPID', 16);
    const t = derSequenceOf(readEntry(top[1], `${ARC.tcb}`, 'TCB'), 'TCB', 18);
    const components = t.slice(0, 16).map((n, i) => derReadSmallInteger(readEntry(n, `${ARC.tcb}.${i + 1}`, `TCB.Comp${String(i + 1).padStart(2, '0')}`), `TCB.Comp${String(i + 1).padStart(2, '0')}`, 0, 255));
    const pcesvn = derReadSmallInteger(readEntry(t[16], `${ARC.tcb}.17`, 'TCB.PCESVN'), 'TCB.PCESVN', 0, 0xffff);
    const cpusvn = derReadOctetString(readEntry(t[17], `${ARC.tcb}.18`, 'TCB.CPUSVN'), 'TCB.CPUSVN', 16);
    const pceId = derReadOctetString(readEntry(top[2], `${ARC.pceId}`, 'PCE-ID'), 'PCE-ID', 2);
    const fmspc = derReadOctetString(readEntry(top[3], `${ARC.fmspc}`, 'FMSPC'), 'FMSPC', 6);
    const sgxType = derReadEnumerated(readEntry(top[4], `${ARC.sgxType}`, 'SGX Type'), 'SGX Type');
    if (sgxType !== SGX_TYPE.Standard) throw new AttestError('PCK_UNSUPPORTED_SGX_TYPE', `SGX Type ${sgxType}: the model supports Standard (0) only`, { field: 'SGX Type', value: sgxType });
    if (top.length !== 5) bad(`${top.length} entries; a Standard PCK certificate has 5`, 'SgxExtensions');
    return { ppid, tcb: { components, pcesvn, cpusvn }, pceId, fmspc, sgxType };
  } catch (e) {
    if (e instanceof LayoutError) return bad(e.message, typeof e.data.field === 'string' ? e.data.field : 'SgxExtensions', e);
    throw e;
  }
}

/** A parsed PCK certificate: the certificate, its key and its SGX Extensions. */
export interface PckCertificate extends SgxExtensions {
  readonly certificate: Certificate;
  /** The PCK public key, x ‖ y. */
  readonly publicKey: Uint8Array;
}

/**
 * Parse a PCK certificate (DER) and its SGX Extensions.
 * @throws {AttestError} parseCertificate's codes, PCK_SGX_EXTENSION_MISSING, PCK_SGX_EXTENSION_CRITICAL,
 * PCK_SGX_EXTENSION_MALFORMED, PCK_UNSUPPORTED_SGX_TYPE, PCK_IS_CA.
 */
export function parsePckCertificate(der: Uint8Array): PckCertificate {
  const certificate = parseCertificate(der);
  const ext = certificate.extensions.get(SGX_EXTENSION_OID);
  if (!ext) throw new AttestError('PCK_SGX_EXTENSION_MISSING', `"${certificate.subject.text}" has no SGX Extensions (${SGX_EXTENSION_OID})`, { subject: certificate.subject.text });
  if (ext.critical) throw new AttestError('PCK_SGX_EXTENSION_CRITICAL', 'the SGX Extensions are non-critical in the PCK profile', {});
  if (certificate.basicConstraints?.ca) throw new AttestError('PCK_IS_CA', 'a PCK certificate is not a CA', {});
  return { certificate, publicKey: certificate.publicKey, ...parseSgxExtensions(ext.value) };
}
