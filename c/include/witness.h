/*
 * witness.h: the enclave-side C interface of the Witness trusted runtime (module "witness").
 * Status values are the Intel SGX SDK's sgx_status_t values.
 */
#ifndef WITNESS_H
#define WITNESS_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t sgx_status_t;

#define SGX_SUCCESS                 0x0000
#define SGX_ERROR_UNEXPECTED        0x0001
#define SGX_ERROR_INVALID_PARAMETER 0x0002
#define SGX_ERROR_OUT_OF_MEMORY     0x0003
#define SGX_ERROR_MAC_MISMATCH      0x3001
#define SGX_ERROR_INVALID_ATTRIBUTE 0x3002
#define SGX_ERROR_INVALID_CPUSVN    0x3003
#define SGX_ERROR_INVALID_ISVSVN    0x3004
#define SGX_ERROR_INVALID_KEYNAME   0x3005

#define SGX_KEYPOLICY_MRENCLAVE   0x0001
#define SGX_KEYPOLICY_MRSIGNER    0x0002
#define SGX_KEYPOLICY_NOISVPRODID 0x0004

#define SGX_REPORT_SIZE     432
#define SGX_TARGETINFO_SIZE 512
#define SGX_SEALED_HEADER   560

/* REPORT offsets (Intel SDM 37.18). */
#define SGX_REPORT_CPUSVN      0
#define SGX_REPORT_MISCSELECT  16
#define SGX_REPORT_ATTRIBUTES  48
#define SGX_REPORT_MRENCLAVE   64
#define SGX_REPORT_MRSIGNER    128
#define SGX_REPORT_ISVPRODID   256
#define SGX_REPORT_ISVSVN      258
#define SGX_REPORT_REPORTDATA  320
/* TARGETINFO offsets (SDM 37.17). */
#define SGX_TARGETINFO_MEASUREMENT 0
#define SGX_TARGETINFO_ATTRIBUTES  32
#define SGX_TARGETINFO_MISCSELECT  52

#define WITNESS_IMPORT(n) __attribute__((import_module("witness"), import_name(#n)))

/* sgx_read_rand */
WITNESS_IMPORT(read_rand) sgx_status_t witness_read_rand(void *buf, size_t len);
/* sgx_create_report: target_info (512 bytes) and report_data (64 bytes) may be NULL (zeros). */
WITNESS_IMPORT(ereport) sgx_status_t witness_create_report(const void *target_info, const void *report_data, void *report);
/* sgx_verify_report: a REPORT addressed to this enclave, unmodified. */
WITNESS_IMPORT(verify_report) sgx_status_t witness_verify_report(const void *report);
/* sgx_get_key with a 512-byte KEYREQUEST. */
WITNESS_IMPORT(get_key) sgx_status_t witness_get_key(const void *key_request, void *key);
/* sgx_calc_sealed_data_size */
WITNESS_IMPORT(sealed_size) uint32_t witness_sealed_size(uint32_t add_len, uint32_t text_len);
/* sgx_seal_data_ex with a key policy (SGX_KEYPOLICY_MRENCLAVE or SGX_KEYPOLICY_MRSIGNER). */
WITNESS_IMPORT(seal) sgx_status_t witness_seal(uint32_t policy, const void *add, uint32_t add_len, const void *text, uint32_t text_len, void *sealed, uint32_t sealed_len);
/* sgx_unseal_data: *add_len and *text_len hold the capacities on input and the lengths on output. */
WITNESS_IMPORT(unseal) sgx_status_t witness_unseal(const void *sealed, uint32_t sealed_len, void *add, uint32_t *add_len, void *text, uint32_t *text_len);
/* Access to untrusted memory (for [user_check] pointers, which are host addresses). */
WITNESS_IMPORT(copy_from_outside) sgx_status_t witness_copy_from_outside(void *dst, uint64_t src, size_t len);
WITNESS_IMPORT(copy_to_outside) sgx_status_t witness_copy_to_outside(uint64_t dst, const void *src, size_t len);
WITNESS_IMPORT(is_outside_enclave) int witness_is_outside_enclave(uint64_t addr, size_t len);
/* Crypto helpers. */
WITNESS_IMPORT(sha256) sgx_status_t witness_sha256(const void *data, size_t len, void *digest32);
WITNESS_IMPORT(ecdh_keypair) sgx_status_t witness_ecdh_keypair(void *private32, void *public64);
WITNESS_IMPORT(ecdh_shared) sgx_status_t witness_ecdh_shared(const void *private32, const void *peer_public64, void *secret32);
/* ECDSA P-256 (sgx_ecc256_calculate_pub_from_priv, sgx_ecdsa_sign): big-endian 32-byte scalar,
 * public point x||y (64 bytes), signature r||s (64 bytes) over SHA-256(data). A scalar outside
 * [1, n-1] is SGX_ERROR_INVALID_PARAMETER. */
WITNESS_IMPORT(ecdsa_public) sgx_status_t witness_ecdsa_public(const void *private32, void *public64);
WITNESS_IMPORT(ecdsa_sign) sgx_status_t witness_ecdsa_sign(const void *data, size_t len, const void *private32, void *signature64);
/* Abort the enclave (an exception: the current ECALL fails, the enclave is marked crashed). */
WITNESS_IMPORT(abort) __attribute__((noreturn)) void witness_abort(const char *msg, size_t len);

/* Fill a TARGETINFO for the enclave that produced `report` (as sgx_get_target_info does for itself). */
static inline void witness_target_info_from_report(const uint8_t *report, uint8_t *target_info) {
  for (int i = 0; i < SGX_TARGETINFO_SIZE; i++) target_info[i] = 0;
  for (int i = 0; i < 32; i++) target_info[SGX_TARGETINFO_MEASUREMENT + i] = report[SGX_REPORT_MRENCLAVE + i];
  for (int i = 0; i < 16; i++) target_info[SGX_TARGETINFO_ATTRIBUTES + i] = report[SGX_REPORT_ATTRIBUTES + i];
  for (int i = 0; i < 4; i++) target_info[SGX_TARGETINFO_MISCSELECT + i] = report[SGX_REPORT_MISCSELECT + i];
}

/* sgx_get_target_info: this enclave's own TARGETINFO, from a REPORT to itself. */
static inline sgx_status_t witness_get_target_info(uint8_t *target_info) {
  uint8_t report[SGX_REPORT_SIZE];
  sgx_status_t st = witness_create_report(NULL, NULL, report);
  if (st == SGX_SUCCESS) witness_target_info_from_report(report, target_info);
  return st;
}

#endif /* WITNESS_H */
