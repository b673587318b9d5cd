/*
 * The Witness Provisioning Certification Enclave (C, compiled to wasm32; see ../build.sh).
 *
 * Model choices (mirrored by src/attest/provisioning.ts, which the simulated PCS uses to certify
 * this enclave's key from the platform's provisioning root, as Intel certifies its PCE's):
 *   - PROVISION_KEY is requested as Intel's PCE requests it (psw/ae/pce/pce_helper.cpp):
 *     ATTRIBUTEMASK.FLAGS = ~MODE64BIT, XFRM mask 0, MISCMASK all ones.
 *   - PPID = SHA-256("WITNESS PPID" ‖ PROVISION_KEY at ISVSVN 0 and CPUSVN 0)[0, 16): one value per
 *     platform and PCE signer, whatever the TCB. (Intel's PCE uses AES-CMAC of that key; the model's
 *     runtime offers modules SHA-256, so the derivation differs while its inputs are Intel's.)
 *   - PCK private scalar = the first SHA-256("WITNESS PCK" ‖ counter (u32 LE) ‖ PROVISION_KEY at the
 *     TCB) for counter = 0, 1, … that is in [1, n−1]. (Intel's uses a CMAC-based KDF of that key.)
 *   - certify refuses, as Intel's certify_enclave does (psw/ae/pce/pce.cpp), a REPORT of an enclave
 *     without PROVISIONKEY or with DEBUG (PCE_INVALID_PRIVILEGE): a debug QE's key is never certified.
 */
#include <string.h>
#include "pce_t.h"

#define SGX_FLAGS_DEBUG        0x02
#define SGX_FLAGS_PROVISIONKEY 0x10
#define KEYNAME_PROVISION_KEY  1
#define SGX_FLAGS_MODE64BIT    0x04

static void wipe(void *p, size_t n) {
  volatile uint8_t *b = p;
  while (n--) *b++ = 0;
}

static uint16_t u16_at(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* PROVISION_KEY for (isvsvn, cpusvn) with the mask above. */
static sgx_status_t provision_key(uint16_t isvsvn, const uint8_t cpusvn[16], uint8_t key[16]) {
  static uint8_t req[512] __attribute__((aligned(512)));
  memset(req, 0, sizeof req);
  req[0] = KEYNAME_PROVISION_KEY;
  req[4] = (uint8_t)isvsvn;
  req[5] = (uint8_t)(isvsvn >> 8);
  memcpy(req + 8, cpusvn, 16);
  memset(req + 24, 0xff, 8); /* ATTRIBUTEMASK.FLAGS = ~MODE64BIT; XFRM mask (32..40) 0 */
  req[24] = (uint8_t)~SGX_FLAGS_MODE64BIT;
  req[72] = req[73] = req[74] = req[75] = 0xff; /* MISCMASK */
  return witness_get_key(req, key);
}

/* SHA-256(label ‖ [counter] ‖ key) */
static sgx_status_t derive(const char *label, int with_counter, uint32_t counter, const uint8_t key[16], uint8_t out[32]) {
  uint8_t buf[32];
  size_t n = strlen(label);
  memcpy(buf, label, n);
  if (with_counter) {
    for (int i = 0; i < 4; i++) buf[n + i] = (uint8_t)(counter >> (8 * i));
    n += 4;
  }
  memcpy(buf + n, key, 16);
  sgx_status_t st = witness_sha256(buf, n + 16, out);
  wipe(buf, sizeof buf);
  return st;
}

/* The PCK of TCB (cpusvn, isvsvn): its private scalar and public point. */
static sgx_status_t pck(uint16_t isvsvn, const uint8_t cpusvn[16], uint8_t priv[32], uint8_t pub[64]) {
  uint8_t key[16];
  sgx_status_t st = provision_key(isvsvn, cpusvn, key);
  for (uint32_t ctr = 0; st == SGX_SUCCESS; ctr++) {
    st = derive("WITNESS PCK", 1, ctr, key, priv);
    if (st != SGX_SUCCESS) break;
    st = witness_ecdsa_public(priv, pub);
    if (st == SGX_SUCCESS) break;
    if (st != SGX_ERROR_INVALID_PARAMETER) break;
    st = SGX_SUCCESS; /* not in [1, n-1]: the next counter (probability about 2^-32) */
  }
  wipe(key, sizeof key);
  return st;
}

int pce_get_target_info(uint8_t *target_info) {
  sgx_status_t st = witness_get_target_info(target_info);
  return st == SGX_SUCCESS ? PCE_OK : -st;
}

int pce_get_pc_info(uint8_t *ppid, uint8_t *pck_public, uint8_t *report) {
  uint8_t key[16], digest[32], priv[32];
  static const uint8_t zero_cpusvn[16];
  sgx_status_t st = witness_create_report(NULL, NULL, report);
  if (st != SGX_SUCCESS) return -st;
  st = provision_key(0, zero_cpusvn, key);
  if (st == SGX_SUCCESS) st = derive("WITNESS PPID", 0, 0, key, digest);
  wipe(key, sizeof key);
  if (st == SGX_SUCCESS) memcpy(ppid, digest, 16);
  wipe(digest, sizeof digest);
  if (st != SGX_SUCCESS) return -st;
  st = pck(u16_at(report + SGX_REPORT_ISVSVN), report + SGX_REPORT_CPUSVN, priv, pck_public);
  wipe(priv, sizeof priv);
  return st == SGX_SUCCESS ? PCE_OK : -st;
}

int pce_certify(const uint8_t *report, const uint8_t *cpusvn, uint16_t pce_isvsvn, uint8_t *signature) {
  uint8_t self[SGX_REPORT_SIZE], priv[32], pub[64];
  memset(signature, 0, 64); /* nothing but a signature ever leaves in it */
  sgx_status_t st = witness_verify_report(report);
  if (st == SGX_ERROR_MAC_MISMATCH) return PCE_INVALID_REPORT;
  if (st != SGX_SUCCESS) return -st;
  if (!(report[SGX_REPORT_ATTRIBUTES] & SGX_FLAGS_PROVISIONKEY) || (report[SGX_REPORT_ATTRIBUTES] & SGX_FLAGS_DEBUG)) return PCE_INVALID_PRIVILEGE;
  st = witness_create_report(NULL, NULL, self);
  if (st != SGX_SUCCESS) return -st;
  if (pce_isvsvn > u16_at(self + SGX_REPORT_ISVSVN)) return PCE_INVALID_SVN;
  st = pck(pce_isvsvn, cpusvn, priv, pub);
  if (st == SGX_ERROR_INVALID_CPUSVN || st == SGX_ERROR_INVALID_ISVSVN) return PCE_INVALID_SVN;
  if (st == SGX_SUCCESS) st = witness_ecdsa_sign(report, 384, priv, signature);
  wipe(priv, sizeof priv);
  if (st != SGX_SUCCESS) memset(signature, 0, 64);
  return st == SGX_SUCCESS ? PCE_OK : -st;
}
