/** Windows enclave structures (winnt.h), x64 layout (specs/os-api.md §2.4). */
import { defineLayout, bytes, ignored } from '../../lib/layout.js';
import { ENCLAVE_CREATE_INFO_SGX_SIZE, ENCLAVE_INIT_INFO_SGX_SIZE } from './constants.js';

/** ENCLAVE_CREATE_INFO_SGX: the SECS image given to ECREATE. */
export const ENCLAVE_CREATE_INFO_SGX = defineLayout('ENCLAVE_CREATE_INFO_SGX', ENCLAVE_CREATE_INFO_SGX_SIZE, [
  bytes('Secs', 0, 4096, 'the SECS image passed to ECREATE'),
] as const);

/** ENCLAVE_INIT_INFO_SGX: SIGSTRUCT + EINITTOKEN for EINIT; reserved areas are unused. */
export const ENCLAVE_INIT_INFO_SGX = defineLayout('ENCLAVE_INIT_INFO_SGX', ENCLAVE_INIT_INFO_SGX_SIZE, [
  bytes('SigStruct', 0, 1808, 'SIGSTRUCT for EINIT'),
  ignored(1808, 240, 'Reserved1'),
  bytes('EInitToken', 2048, 304, 'EINITTOKEN for EINIT (zeros when no token is used)'),
  ignored(2352, 1744, 'Reserved2'),
] as const);
