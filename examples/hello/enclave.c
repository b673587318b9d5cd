/* The hello enclave (C, compiled to wasm32 with clang; see build.sh). */
#include <string.h>
#include "hello_t.h"

static uint8_t secret[64];
static size_t secret_len;

static size_t copy_str(char *dst, size_t cap, size_t at, const char *s) {
  while (*s && at + 1 < cap) dst[at++] = *s++;
  return at;
}

int ecall_hello(const char *name, char *greeting, size_t len) {
  if (len == 0) return -1;
  size_t at = copy_str(greeting, len, 0, "Hello, ");
  at = copy_str(greeting, len, at, name);
  at = copy_str(greeting, len, at, ", from inside the enclave!");
  greeting[at] = 0;
  ocall_print("the enclave wrote a greeting");
  return (int)at;
}

int ecall_store_secret(const uint8_t *s, size_t len) {
  if (len > sizeof secret) return -1;
  memcpy(secret, s, len);
  secret_len = len;
  return (int)(uintptr_t)secret;
}

int ecall_read_secret(uint8_t *out, size_t len) {
  if (len < secret_len) return -1;
  memcpy(out, secret, secret_len);
  return (int)secret_len;
}

int ecall_seal_secret(uint32_t policy, uint8_t *blob, size_t len) {
  uint32_t need = witness_sealed_size(0, (uint32_t)secret_len);
  if (len < need) return -(int)need;
  sgx_status_t st = witness_seal(policy, 0, 0, secret, (uint32_t)secret_len, blob, need);
  return st == SGX_SUCCESS ? (int)need : -st;
}

int ecall_unseal_secret(const uint8_t *blob, size_t len) {
  uint32_t add_len = 0, text_len = sizeof secret;
  sgx_status_t st = witness_unseal(blob, (uint32_t)len, 0, &add_len, secret, &text_len);
  if (st != SGX_SUCCESS) return -st;
  secret_len = text_len;
  return (int)text_len;
}

int ecall_make_report(const uint8_t *target_info, const uint8_t *data, size_t len, uint8_t *report) {
  uint8_t report_data[64] = {0};
  witness_sha256(data, len, report_data);
  return -witness_create_report(target_info, report_data, report);
}

int ecall_verify_report(const uint8_t *report) {
  return -witness_verify_report(report);
}
