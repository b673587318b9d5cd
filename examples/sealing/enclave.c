/* The sealing enclave (C, compiled to wasm32 with clang; see build.sh). */
#include <string.h>
#include "sealing_t.h"

/* "what: sgx_status_t 0x3001" to the host (no stdio: it would import WASI). */
static void log_status(const char *what, sgx_status_t st) {
  static const char hex[] = "0123456789abcdef";
  char line[96];
  size_t n = strlen(what);
  if (n > sizeof line - 32) n = sizeof line - 32;
  memcpy(line, what, n);
  memcpy(line + n, ": sgx_status_t 0x", 17);
  n += 17;
  for (int shift = 12; shift >= 0; shift -= 4) line[n++] = hex[((uint32_t)st >> shift) & 0xf];
  line[n] = 0;
  ocall_print(line);
}

uint32_t ecall_sealed_size(uint32_t aad_len, uint32_t text_len) {
  return witness_sealed_size(aad_len, text_len);
}

int ecall_seal(uint32_t policy, const uint8_t *aad, uint32_t aad_len, const uint8_t *text, uint32_t text_len, uint8_t *blob, uint32_t blob_len) {
  uint32_t need = witness_sealed_size(aad_len, text_len);
  if (need == UINT32_MAX || blob_len != need) return -SGX_ERROR_INVALID_PARAMETER;
  sgx_status_t st = witness_seal(policy, aad, aad_len, text, text_len, blob, blob_len);
  if (st != SGX_SUCCESS) {
    log_status("seal failed", st);
    return -st;
  }
  return (int)need;
}

int ecall_unseal(const uint8_t *blob, uint32_t blob_len, uint8_t *text, uint32_t text_cap, uint8_t *aad, uint32_t aad_cap, uint32_t *lengths) {
  uint32_t text_len = text_cap, aad_len = aad_cap;
  sgx_status_t st = witness_unseal(blob, blob_len, aad, &aad_len, text, &text_len);
  if (st != SGX_SUCCESS) {
    log_status("unseal refused", st);
    return -st;
  }
  lengths[0] = text_len;
  lengths[1] = aad_len;
  return 0;
}

int ecall_identity(uint8_t *report) {
  return -witness_create_report(NULL, NULL, report);
}
