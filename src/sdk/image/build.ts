/**
 * `witness build`: a WebAssembly module + its EDL interface + a configuration → an (unsigned)
 * enclave image, with the module checked against the interface first.
 */
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import { defaultCrypto } from '../../lib/crypto/default.js';
import { toHex } from '../../lib/bytes.js';
import { SdkError } from '../errors.js';
import type { EdlInterface } from '../edl/index.js';
import { canonicalInterface, interfaceBytes, planInterface, type CanonicalInterface } from '../interface.js';
import { checkModuleInfo } from '../enclave/imports.js';
import { extensionRequest, isExtensionShaped, EXTENSION_SECTION, type RuntimeExtensionDescriptor } from '../enclave/extension.js';
import { readWasmModule } from '../wasm.js';
import { resolveEnclaveConfig, configToJson, type EnclaveConfig, type EnclaveConfigJson } from './config.js';
import { computeLayout, layoutMrenclave, layoutSgxs, RUNTIME_ID, type EnclaveLayout } from './layout.js';
import type { EnclaveImage, ImageManifest } from './format.js';

export interface BuildInput {
  readonly module: Uint8Array;
  /** A resolved EDL interface, or its canonical form. */
  readonly interface: EdlInterface | CanonicalInterface;
  readonly config?: Partial<EnclaveConfig> | EnclaveConfigJson;
  readonly crypto?: CryptoProvider;
  /**
   * The runtime extension the module asks for in its `witness.extension` section (see
   * enclave/extension.ts), checked here as the runtime will check it. Required exactly when the
   * module has that section, and its identity must be the one the section names.
   */
  readonly extension?: RuntimeExtensionDescriptor;
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
  const info = readWasmModule(input.module);
  const request = extensionRequest(input.module, info);
  const ext = input.extension;
  if (ext !== undefined && !isExtensionShaped(ext, false)) throw new SdkError('BAD_OPTIONS', 'extension must be a descriptor: id, imports, ecalls, check');
  if (request !== null && (ext === undefined || ext.id !== request.id)) throw new SdkError('MODULE_INVALID', `the module asks for runtime extension ${request.id}${ext === undefined ? '' : `, not ${ext.id}`}: build it with that extension`, { extension: request.id });
  if (request === null && ext !== undefined) throw new SdkError('MODULE_INVALID', `the module has no ${EXTENSION_SECTION} section asking for extension ${ext.id}`, { extension: ext.id });
  const problems = checkModuleInfo(info, plan, config.heapSize, request !== null && ext !== undefined ? { descriptor: ext, config: request.config } : null, config.heapMaxSize);
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
