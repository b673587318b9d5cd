/**
 * src/arch: the processor. Only what the Intel SDM defines lives here.
 * The machine's private state (machine.ts) is deliberately not exported.
 */
export * from './constants.js';
export * from './structures/index.js';
export { ArchFault, gp, pf, ud } from './faults.js';
export { ArchError } from './errors.js';
export { PageTable, PTE, USER_ADDRESS_LIMIT, type Translation } from './mmu.js';
export { Measurement, MeasurementLog, measuredSecinfoFlags, type MeasurementSink, type MeasurementRecord } from './measurement.js';
export { parseSgxs, forEachSgxsRecord, forEachSgxsPage, measureSgxs, replaySgxs, sgxsPages, SgxsWriter, SgxsError, SGXS_TAG_UNMEASURED, SGXS_TAG_UNSIZED, type SgxsRecord, type SgxsPage } from './sgxs.js';
export { verifySigstructSignature, describeSigstructFormat, SIGSTRUCT_FLAGS_DEFINED, computeQ1Q2, mrsignerOf, mrsignerOfModulus, pkcs1v15Sha256Em, rsaIntToSigstructBytes, type SignatureCheck } from './signature.js';
export { deriveKey, serializeKeyDependencies, cpusvnAtMost, provisionKeyDependencies, type KeyDependencies, type FuseRoots, type ProvisionKeyInputs } from './keys.js';
export { derivePlatformSecrets, saveSecrets, loadSecrets, type PlatformSecrets, type SavedSecrets, type BootSecrets } from './secrets.js';
export { resolveProcessorConfig, computeXsaveSize, isLegalXcr0, DEFAULT_CPUSVN, DEFAULT_EPC_SIZE, type ProcessorConfig, type ProcessorFeatures } from './config.js';
export { Processor, LogicalProcessor, ProcessorMemory, ProcessorInspector, type ProcessorOptions, type SavedProcessor, type EpcmEntry, type EnclaveInfo, type EnclaveLifecycle, type EpcMap, EPC_PAGE_FREE } from './processor.js';
export { newRegisters, copyRegisters, EnclaveRedirect, isProcessorSignal, REGISTER_NAMES, type Registers, type ExitInfo, type ExitReason, type ExitHandler, type EnclaveContext, type EnclaveEngine } from './engine.js';
export { DEFAULT_COST_MODEL, estimateCost, countersSince, ENCLS_EVENTS, ENCLU_EVENTS, SGX_EVENTS, type CostModel, type CostEstimate, type SgxCounters, type SgxEvent } from './costs.js';
