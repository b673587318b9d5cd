/**
 * The architectural enclaves of the model's attestation: the PCE and the QE (C sources, EDL and the
 * committed modules in ae/, rebuilt and compared in CI by ae/build.sh), signed with the Witness
 * architectural-enclave key ae/signer.pem.
 *
 * That key is public: it stands in for Intel's AE signing key, which a verifier pins through the QE
 * identity (MRSIGNER, ISVPRODID, ISVSVN). Anyone can sign a "QE" with it, so a quote from the model
 * proves what the model's rules prove, never that real hardware was involved.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CryptoProvider } from '../lib/crypto/provider.js';
import { defaultCrypto } from '../lib/crypto/default.js';
import { resolveEdl, buildImage, signSigstruct, sigstructFieldsFor, type EnclaveImage, type EnclaveConfigJson } from '../sdk/index.js';
import { mrsignerOfModulus } from '../arch/index.js';
import { QE_ISVPRODID, QE_ISVSVN, PCE_ISVPRODID, PCE_ISVSVN } from './identities.js';

/** Where the committed sources and modules are (the package's ae/ folder). */
export const AE_DIRECTORY = fileURLToPath(new URL('../../../ae/', import.meta.url));

/** QE: ISVPRODID 1 as Intel's QE3 (its QE identity), PROVISIONKEY as QE3 has it (ATTRIBUTES 0x11 with INIT). */
export const QE_CONFIG = { isvProdId: QE_ISVPRODID, isvSvn: QE_ISVSVN, provisionKey: true, debug: false, heapSize: 1 << 20, tcsCount: 2 } as const satisfies EnclaveConfigJson;
/** PCE: ISVPRODID 2, PROVISIONKEY (it derives the PCK from PROVISION_KEY). */
export const PCE_CONFIG = { isvProdId: PCE_ISVPRODID, isvSvn: PCE_ISVSVN, provisionKey: true, debug: false, heapSize: 1 << 20, tcsCount: 1 } as const satisfies EnclaveConfigJson;
/** The SIGSTRUCT DATE of both (fixed, so the SIGSTRUCTs are reproducible). */
export const AE_DATE = 0x20261128;

export interface ArchitecturalEnclave {
  readonly image: EnclaveImage;
  readonly sigstruct: Uint8Array;
  readonly mrenclave: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
}

export interface ArchitecturalEnclaves {
  readonly qe: ArchitecturalEnclave;
  readonly pce: ArchitecturalEnclave;
  /** MRSIGNER of both: SHA-256 of the signer's modulus. */
  readonly mrsigner: Uint8Array;
}

function build(name: 'qe' | 'pce', config: EnclaveConfigJson & { isvProdId: number; isvSvn: number }, pem: string, crypto: CryptoProvider): ArchitecturalEnclave {
  const module = new Uint8Array(readFileSync(AE_DIRECTORY + `${name}/${name}.wasm`));
  const built = buildImage({ module, interface: resolveEdl(AE_DIRECTORY + `${name}/${name}.edl`), config, crypto });
  const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave, { date: AE_DATE }), pem, crypto);
  return { image: built.image, sigstruct, mrenclave: built.mrenclave, isvProdId: config.isvProdId, isvSvn: config.isvSvn };
}

const cache = new Map<string, ArchitecturalEnclaves>();

/**
 * The QE and the PCE, built and signed with `signerPem` (default ae/signer.pem), once per process and key.
 * @throws {LibError} RSA_KEY_INVALID, {SdkError} SIGN_BAD_KEY when the key is not an RSA-3072, e = 3 private key.
 */
export function architecturalEnclaves(signerPem?: string): ArchitecturalEnclaves {
  const pem = signerPem ?? readFileSync(AE_DIRECTORY + 'signer.pem', 'utf8');
  const hit = cache.get(pem);
  if (hit) return hit;
  const crypto = defaultCrypto();
  const { modulus } = crypto.rsaPublicNumbers(pem);
  const mrsigner = mrsignerOfModulus(modulus, crypto);
  const built: ArchitecturalEnclaves = { qe: build('qe', QE_CONFIG, pem, crypto), pce: build('pce', PCE_CONFIG, pem, crypto), mrsigner };
  cache.set(pem, built);
  return built;
}
