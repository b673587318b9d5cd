/** src/sdk: WebAssembly enclaves — EDL, images, signing, the host runtime and the trusted runtime. */
export { SdkError } from './errors.js';
export * as edl from './edl/index.js';
export { resolveEdl, parseEdl, EdlError, type EdlInterface } from './edl/index.js';
export { STATUS, statusName, ECMD_ORET, EXIT_ECALL_RETURN, EXIT_EXCEPTION_HANDLED, MAX_BUFFER, MAX_STRING, type InterfacePlan, type FunctionPlan, type ParamPlan, type WasmType } from './abi.js';
export { canonicalInterface, interfaceBytes, planInterface, checkCanonicalInterface, ecallSignature, ocallSignature, type CanonicalInterface, type CanonicalParam } from './interface.js';
export { generateCHeader, generateTsBindings, generateAsDeclarations } from './codegen.js';
export { readWasmModule, type WasmModuleInfo, type WasmImport, type WasmExport, type FuncType } from './wasm.js';
export { resolveEnclaveConfig, configToJson, attributesFlagsOf, DEFAULT_ENCLAVE_CONFIG, type EnclaveConfig, type EnclaveConfigJson } from './image/config.js';
export { computeLayout, measureLayout, layoutMrenclave, layoutSgxs, layoutLog, RUNTIME_ID, RUNTIME_ABI, RUNTIME_HEADER, type EnclaveLayout, type LayoutPage } from './image/layout.js';
export { encodeImage, decodeImage, checkManifest, isImage, withSigstruct, describeImage, IMAGE_MAGIC, type EnclaveImage, type ImageManifest } from './image/format.js';
export { buildImage, type BuildInput, type BuiltImage } from './image/build.js';
export { signSigstruct, measureImage, sigstructFieldsFor, assembleSigstruct, sigstructSigningData, unsignedSigstruct, generateSigningKey, bcdDate, type SigstructFields } from './image/sign.js';
export { createTrustedRuntime, type TrustedRuntimeOptions, type TrustedRuntimeEngine } from './enclave/runtime.js';
export { checkModuleImports } from './enclave/imports.js';
export { EXTENSION_SECTION, extensionRequest, extensionPayload, type RuntimeExtension, type RuntimeExtensionDescriptor, type ExtensionHost, type ExtensionInstance, type ExtensionRequest } from './enclave/extension.js';
export { RUNTIME_IMPORTS } from './enclave/services.js';
export { SEALED_HEADER_SIZE, SEALED_DATA_HEADER, SEAL_FLAGS_MASK, SEAL_MISC_MASK, SEALED_SIZE_OVERFLOW, sealedDataSize, parseSealedData } from './sealing.js';
export { loadEnclave, HostEnclave, EnclaveLoadError, EnclaveCallError, MAX_NESTED_ECALLS, type HostPlatform, type WindowsHostPlatform, type LinuxHostPlatform, type LoadOptions, type EcallArg, type OcallImpl } from './host/enclave.js';
