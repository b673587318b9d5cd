/**
 * `witness build`: a WebAssembly module + its EDL interface + a configuration → an (unsigned)
 * enclave image, with the module checked against the interface first.
 */
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import { defaultCrypto } from '../../lib/crypto/node.js';
import { toHex } from '../../lib/bytes.js';
import { SdkError } from '../errors.js';
import type { EdlInterface } from '../edl/index.js';
import { canonicalInterface, interfaceBytes, planInterface, type CanonicalInterface } from '../interface.js';
import { checkModuleImports } from '../enclave/imports.js';
import { resolveEnclaveConfig, configToJson, type EnclaveConfig, type EnclaveConfigJson } from './config.js';
import { computeLayout, layoutMrenclave, layoutSgxs, RUNTIME_ID, type EnclaveLayout } from './layout.js';
import type { EnclaveImage, ImageManifest } from './format.js';

export interface BuildInput {
  readonly module: Uint8Array;
  /** A resolved EDL interface, or its canonical form. */
  readonly interface: EdlInterface | CanonicalInterface;
  readonly config?: Partial<EnclaveConfig> | EnclaveConfigJson;
  readonly crypto?: CryptoProvider;
}

export interface BuiltImage {
  readonly image: EnclaveImage;
  readonly layout: EnclaveLayout;
  readonly mrenclave: Uint8Array;
  readonly config: EnclaveConfig;
}

function isCanonical(i: EdlInterface | CanonicalInterface): i is CanonicalInterface {
  return !('files' in i);
}

/**
 * @throws {SdkError} `MODULE_INVALID` (not WebAssembly, or it does not match its interface),
 * `CONFIG_INVALID`, `INTERFACE_UNSUPPORTED`.
 */
export function buildImage(input: BuildInput): BuiltImage {
  const crypto = input.crypto ?? defaultCrypto();
  const config = resolveEnclaveConfig(input.config ?? {});
  const canonical = isCanonical(input.interface) ? input.interface : canonicalInterface(input.interface);
  const plan = planInterface(canonical);
  if (!WebAssembly.validate(input.module)) throw new SdkError('MODULE_INVALID', 'the module is not valid WebAssembly');
  const problems = checkModuleImports(input.module, plan, config.heapSize);
  if (problems.length) throw new SdkError('MODULE_INVALID', `the module does not fit its interface: ${problems.join('; ')}`, { problems });
  const iface = interfaceBytes(canonical);
  const moduleHash = crypto.sha256(input.module);
  const layout = computeLayout(input.module, iface, moduleHash, config);
  const mrenclave = layoutMrenclave(layout, crypto);
  const manifest: ImageManifest = {
    format: 'witness-image',
    version: 1,
    runtime: RUNTIME_ID,
    config: configToJson(config),
    mrenclave: toHex(mrenclave),
    layout: {
      size: layout.size, ssaFrameSize: layout.ssaFrameSize, heap: layout.heap, module: { ...layout.module, sha256: toHex(moduleHash) },
      interface: layout.interface, tcs: layout.tcs, nssa: layout.nssa, pages: layout.pages.length,
    },
    interface: canonical,
  };
  return { image: { manifest, sgxs: layoutSgxs(layout), sigstruct: null }, layout, mrenclave, config };
}
