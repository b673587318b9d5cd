/**
 * Extensions of the trusted runtime: code that is part of the runtime (as `witness.*` services
 * are) and that a module asks for by name. A module selects one with a custom section named
 * `witness.extension` whose payload is the extension's identity (NUL-terminated ASCII, e.g.
 * "witness-shield/0.1") followed by its configuration bytes. The section is part of the module, so
 * the identity, its version and the configuration are measured into MRENCLAVE with it; a runtime
 * that does not have that extension, at that version, refuses the enclave (INVALID_ENCLAVE).
 *
 * An extension offers the module imports beyond the SDK's (the shield: `wasi_snapshot_preview1`)
 * and implements ECALLs of the interface itself (the module need not export them). It runs inside
 * the enclave, in enclave mode, and reaches the host only through the interface's OCALLs
 * (`ExtensionHost.hostCall`), with the runtime's copy semantics.
 */
import type { EnclaveContext } from '../../arch/index.js';
import type { CryptoProvider } from '../../lib/crypto/provider.js';
import type { InterfacePlan } from '../abi.js';
import { SdkError } from '../errors.js';
import type { FuncType, WasmModuleInfo } from '../wasm.js';

/** Name of the custom section that selects an extension. */
export const EXTENSION_SECTION = 'witness.extension';

/** What an extension is, without its code: enough to check a module against it when an image is built. */
export interface RuntimeExtensionDescriptor {
  /** Identity and version, printable ASCII without NUL (e.g. 'witness-shield/0.1'). */
  readonly id: string;
  /** Import modules the extension supplies: each function's signature, by module and name. */
  readonly imports: Readonly<Record<string, Readonly<Record<string, FuncType>>>>;
  /** ECALLs of the interface the extension implements (the module need not export them). */
  readonly ecalls: readonly string[];
  /** Further problems with a module for this extension and configuration (empty = acceptable). */
  check(info: WasmModuleInfo, plan: InterfacePlan, config: Uint8Array): string[];
}

/** Whether `x` has a descriptor's shape (and, with `withCode`, an extension's `attach`): what the runtime and buildImage check before using one. */
export function isExtensionShaped(x: unknown, withCode: boolean): x is RuntimeExtensionDescriptor {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Partial<RuntimeExtension>;
  return typeof d.id === 'string' && typeof d.check === 'function' && typeof d.imports === 'object' && d.imports !== null && Array.isArray(d.ecalls) && (!withCode || typeof d.attach === 'function');
}

/** What the runtime gives an extension attached to one enclave. */
export interface ExtensionHost {
  /** The configuration bytes from the module's section (a copy). */
  readonly config: Uint8Array;
  /** The trusted runtime's crypto provider (its randomness is the enclave's RDRAND). */
  readonly crypto: CryptoProvider;
  /** The module's memory (a fresh view whenever the module replaced its buffer). */
  readonly memory: Uint8Array;
  /** The context of the entry under way (throws outside an entry). */
  ctx(): EnclaveContext;
  /** The module's exports, once it is instantiated. */
  exports(): WebAssembly.Exports;
  /**
   * OCALL `name` of the interface, whose parameters are given in order: a number or bigint for a
   * value, bytes for a buffer (an [in] buffer's bytes are copied out; an [out] buffer is filled
   * with what the host wrote, as much as the enclave sent, when the OCALL succeeds). A buffer's
   * length must be what its size parameter says. Returns the OCALL's status (sgx_status_t) and its
   * return value (0 without one). Never throws for what the host does; throws only for a call that
   * does not fit the OCALL's declaration (an error in the extension).
   */
  hostCall(name: string, args: readonly (number | bigint | Uint8Array)[]): { readonly status: number; readonly result: number | bigint };
  /** End the current ECALL with an sgx_status_t (thrown through the module's frames). */
  fail(status: number, message: string): never;
}

/** An extension attached to one enclave: its imports and ECALL bodies. */
export interface ExtensionInstance {
  /** Import objects by module name (only the modules of the descriptor). */
  readonly imports: Readonly<Record<string, Readonly<Record<string, (...a: never[]) => unknown>>>>;
  /** ECALL bodies by name (each of the descriptor's ECALLs), called as the module's export would be. */
  readonly ecalls: Readonly<Record<string, (...a: never[]) => unknown>>;
}

/** An extension with its code, to install into a trusted runtime (createTrustedRuntime's `extensions`). */
export interface RuntimeExtension extends RuntimeExtensionDescriptor {
  /** Called once per enclave at its first entry, after every check, before the module is instantiated. */
  attach(host: ExtensionHost): ExtensionInstance;
}

/** The extension a module asks for: its identity and configuration, or null for none. */
export interface ExtensionRequest {
  readonly id: string;
  readonly config: Uint8Array;
}

/**
 * The `witness.extension` section of a module (read with readWasmModule), or null.
 * @throws {SdkError} `MODULE_INVALID` for two such sections or a payload without a NUL-terminated printable identity.
 */
export function extensionRequest(code: Uint8Array, info: WasmModuleInfo): ExtensionRequest | null {
  const sections = info.customSections.filter((s) => s.name === EXTENSION_SECTION);
  if (sections.length === 0) return null;
  if (sections.length > 1) throw new SdkError('MODULE_INVALID', `the module has ${sections.length} ${EXTENSION_SECTION} sections (one at most)`);
  const s = sections[0]!;
  const payload = code.subarray(s.offset, s.offset + s.length);
  const nul = payload.indexOf(0);
  if (nul <= 0 || nul > 64) throw new SdkError('MODULE_INVALID', `the ${EXTENSION_SECTION} section does not start with a NUL-terminated identity of 1 to 64 characters`);
  let id = '';
  for (let i = 0; i < nul; i++) {
    const c = payload[i]!;
    if (c < 0x21 || c > 0x7e) throw new SdkError('MODULE_INVALID', `the ${EXTENSION_SECTION} identity is not printable ASCII`);
    id += String.fromCharCode(c);
  }
  return { id, config: payload.slice(nul + 1) };
}

/** The payload of a `witness.extension` section: identity, NUL, configuration. */
export function extensionPayload(id: string, config: Uint8Array): Uint8Array {
  if (!/^[\x21-\x7e]{1,64}$/.test(id)) throw new SdkError('BAD_OPTIONS', `an extension identity is 1 to 64 printable ASCII characters without spaces, got '${id}'`);
  const out = new Uint8Array(id.length + 1 + config.length);
  for (let i = 0; i < id.length; i++) out[i] = id.charCodeAt(i);
  out.set(config, id.length + 1);
  return out;
}
