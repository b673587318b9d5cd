/**
 * Platform secrets. On real parts the seal fuses and the provisioning root are burned into each
 * CPU and unknown (seal) or known only to Intel (provisioning); OWNEREPOCH is set by the BIOS.
 * Witness derives all three from a 32-byte platform seed with HKDF-SHA256 (the one place where
 * this choice is made): every platform created without a seed is distinct, and a given seed
 * reproduces a platform exactly, so sealed data survives a "restart".
 *
 * Per-boot secrets (the REPORT KEYID, the memory-encryption key, the paging key) are drawn from the
 * provider's randomness at each boot, like the hardware's; inject a deterministic provider to
 * reproduce a boot.
 */
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { toHex, fromHex } from '../lib/bytes.js';
import { ArchError } from './errors.js';

export interface PlatformSecrets {
  /** The seed everything below is derived from (keep it secret: it is the platform). */
  readonly seed: Uint8Array;
  /** CR_SEAL_FUSES: root of every key except PROVISION_KEY. */
  readonly sealFuses: Uint8Array;
  /** The root provisioning key (PROVISION_KEY). */
  readonly provisioningRoot: Uint8Array;
  /** CR_SGXOWNEREPOCH. */
  readonly ownerEpoch: Uint8Array;
}

const enc = new TextEncoder();

export function derivePlatformSecrets(crypto: CryptoProvider, seed: Uint8Array, ownerEpoch?: Uint8Array): PlatformSecrets {
  if (seed.length < 16) throw new ArchError('SEED_TOO_SHORT', `a platform seed needs at least 16 bytes, got ${seed.length}`);
  if (ownerEpoch !== undefined && ownerEpoch.length !== 16) throw new ArchError('OWNEREPOCH_LENGTH', 'OWNEREPOCH is 16 bytes');
  const salt = enc.encode('witness platform v1');
  const k = (label: string) => crypto.hkdfSha256(seed, salt, enc.encode(label), 16);
  return {
    seed: seed.slice(),
    sealFuses: k('CR_SEAL_FUSES'),
    provisioningRoot: k('ROOT_PROVISIONING_KEY'),
    ownerEpoch: ownerEpoch ? ownerEpoch.slice() : k('CR_SGXOWNEREPOCH'),
  };
}

/** Per-boot secrets, fresh at every boot. */
export interface BootSecrets {
  /** CR_REPORT_KEYID (32 bytes), placed in every REPORT. */
  readonly reportKeyId: Uint8Array;
  /** The memory-encryption key (AES-128) for the DRAM view of the EPC. */
  readonly meeKey: Uint8Array;
  /** CR_BASE_PK, the paging key (EWB/ELDU). */
  readonly pagingKey: Uint8Array;
}

export function drawBootSecrets(crypto: CryptoProvider): BootSecrets {
  return { reportKeyId: crypto.randomBytes(32), meeKey: crypto.randomBytes(16), pagingKey: crypto.randomBytes(16) };
}

/** The serialized form of a platform's identity (what `savePlatform` writes). */
export interface SavedSecrets {
  readonly seed: string;
  readonly ownerEpoch: string;
}

export function saveSecrets(s: PlatformSecrets): SavedSecrets {
  return { seed: toHex(s.seed), ownerEpoch: toHex(s.ownerEpoch) };
}

export function loadSecrets(crypto: CryptoProvider, saved: SavedSecrets): PlatformSecrets {
  if (typeof saved?.seed !== 'string' || typeof saved?.ownerEpoch !== 'string') throw new ArchError('SAVED_SECRETS_INVALID', 'saved platform secrets need hex `seed` and `ownerEpoch`');
  return derivePlatformSecrets(crypto, fromHex(saved.seed), fromHex(saved.ownerEpoch));
}
