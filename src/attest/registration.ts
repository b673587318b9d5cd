/**
 * The manufacturer's side of provisioning. When a part is made, the manufacturer records its
 * provisioning root; when a platform asks for its PCK certificate (the PCS API's query: PPID,
 * CPUSVN, PCESVN, PCE-ID), it finds the part by PPID and computes the PCE's key at that TCB from
 * the record (provisioning.ts), then has the PCS issue the certificate. The platform's word about
 * its own key is never taken: a PCE that is not the Witness PCE, or a platform that was never
 * enrolled, gets no certificate that matches its key.
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { defaultCrypto } from '../lib/crypto/default.js';
import { fromHex, toHex } from '../lib/bytes.js';
import { derivePlatformSecrets, ATTR } from '../arch/index.js';
import { architecturalEnclaves, PCE_CONFIG } from './ae.js';
import { AttestError } from './errors.js';
import { ppidFor, pckPublicKeyFor, type PceIdentity } from './provisioning.js';
import type { PckCertificateRequest, PckCertificateSource } from './quoting.js';
import type { ProvisioningCertificationService } from './pki.js';

/** A platform as the manufacturer knows it: what `save()` gives (its seed), or the save itself. */
export type EnrolledPlatform = { save(): { readonly secrets: { readonly seed: string } } } | { readonly secrets: { readonly seed: string } };

/** The Witness PCE as it runs (ae.ts), signed with `aeSigner` (default ae/signer.pem): INIT | MODE64BIT | PROVISIONKEY, MISCSELECT 0. */
export function witnessPceIdentity(aeSigner?: string): PceIdentity {
  return { mrsigner: architecturalEnclaves(aeSigner).mrsigner, isvProdId: PCE_CONFIG.isvProdId, attributesFlags: ATTR.INIT | ATTR.MODE64BIT | ATTR.PROVISIONKEY, miscSelect: 0 };
}

export interface PckCertificateService extends PckCertificateSource {
  /** Record a platform's provisioning root (at "manufacture"); returns its PPID. */
  enroll(platform: EnrolledPlatform): Uint8Array;
}

/**
 * A PCK certificate service over a PCS: `enroll` platforms, then hand it to createQuotingService.
 * @throws {AttestError} PLATFORM_NOT_ENROLLED from pckCertChain for a PPID it has no record of.
 */
export function createPckCertificateService(pcs: ProvisioningCertificationService, options: { pce?: PceIdentity; aeSigner?: string; crypto?: CryptoProvider } = {}): PckCertificateService {
  const crypto = options.crypto ?? defaultCrypto();
  const pce = options.pce ?? witnessPceIdentity(options.aeSigner);
  const roots = new Map<string, Uint8Array>();
  return {
    enroll(platform) {
      const given: unknown = platform;
      const saved: unknown = typeof given === 'object' && given !== null && typeof (given as { save?: unknown }).save === 'function' ? (given as { save(): unknown }).save() : given;
      const seed = typeof saved === 'object' && saved !== null ? (saved as { secrets?: { seed?: unknown } }).secrets?.seed : undefined;
      if (typeof seed !== 'string') throw new AttestError('ENROLL_INVALID', 'a platform, or a platform\'s save(), is needed to enroll it');
      const root = derivePlatformSecrets(crypto, fromHex(seed)).provisioningRoot;
      const ppid = ppidFor(crypto, root, pce);
      roots.set(toHex(ppid), root);
      return ppid;
    },
    pckCertChain(request: PckCertificateRequest): string {
      const root = roots.get(toHex(request.ppid));
      if (!root) throw new AttestError('PLATFORM_NOT_ENROLLED', `no platform with PPID ${toHex(request.ppid)} was enrolled`, { ppid: toHex(request.ppid) });
      const publicKey = pckPublicKeyFor(crypto, root, pce, request.cpusvn, request.pceSvn);
      const cert = pcs.issuePckCertificate({ publicKey, ppid: request.ppid, cpusvn: request.cpusvn, pcesvn: request.pceSvn, pceId: request.pceId });
      return pcs.pckCertChainPem(cert);
    },
  };
}
