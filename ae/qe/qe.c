/*
 * The Witness Quoting Enclave (C, compiled to wasm32; see ../build.sh). The quote it writes has the
 * layout of Intel's sgx_quote_3_t with ECDSA-256-with-P-256 signature data (sgx_quote_3.h;
 * src/attest/quote.ts declares the same layout for the verifier).
 *
 * Model choices: the attestation key is sealed with the MRSIGNER policy (as QE3 seals it); the
 * QE ID in the header's user data is SHA-256 of a SEAL key (MRSIGNER policy, ISVSVN 0, CPUSVN 0,
 * KEYID "WITNESS QE ID"), its first 16 bytes: one value per platform, owner epoch and QE signer.
 */
#include <string.h>
#include "qe_t.h"

#define KEYNAME_SEAL_KEY 4
#define QUOTE_HEADER_SIZE 48
#define QUOTE_SIGNED_SIZE (QUOTE_HEADER_SIZE + 384)
#define ATT_KEY_TYPE_ECDSA_P256 2
#define MAX_AUTH 256
#define MAX_CERT (64 * 1024)

/* The QE vendor ID of Intel's quoting enclaves (sgx_quote_3.h), which this QE stands in for. */
static const uint8_t QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

static void wipe(void *p, size_t n) {
  volatile uint8_t *b = p;
  while (n--) *b++ = 0;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* SHA-256(public key ‖ auth data) ‖ 32 zero bytes: the QE report's REPORTDATA. */
static sgx_status_t key_binding(const uint8_t pub[64], const uint8_t *auth, uint32_t auth_len, uint8_t out[64]) {
  static uint8_t buf[64 + MAX_AUTH];
  memcpy(buf, pub, 64);
  if (auth_len) memcpy(buf + 64, auth, auth_len);
  memset(out, 0, 64);
  return witness_sha256(buf, 64 + auth_len, out);
}

static sgx_status_t qe_id(uint8_t id[16]) {
  static uint8_t req[512] __attribute__((aligned(512)));
  uint8_t key[16], digest[32];
  memset(req, 0, sizeof req);
  req[0] = KEYNAME_SEAL_KEY;
  req[2] = SGX_KEYPOLICY_MRSIGNER;
  memcpy(req + 40, "WITNESS QE ID", 13); /* KEYID */
  sgx_status_t st = witness_get_key(req, key);
  if (st == SGX_SUCCESS) st = witness_sha256(key, 16, digest);
  wipe(key, sizeof key);
  if (st == SGX_SUCCESS) memcpy(id, digest, 16);
  return st;
}

int qe_get_target_info(uint8_t *target_info) {
  sgx_status_t st = witness_get_target_info(target_info);
  return st == SGX_SUCCESS ? QE_OK : -st;
}

int qe_init(const uint8_t *pce_target_info, const uint8_t *auth, uint32_t auth_len, uint8_t *sealed_key, uint32_t sealed_cap, uint8_t *attest_public, uint8_t *qe_report) {
  uint8_t priv[32], reportdata[64];
  uint32_t need = witness_sealed_size(64, 32);
  if (auth_len > MAX_AUTH) return QE_INVALID_PARAMETER;
  if (sealed_cap < need) return QE_BUFFER_TOO_SMALL;
  sgx_status_t st;
  do {
    st = witness_read_rand(priv, sizeof priv);
    if (st != SGX_SUCCESS) return -st;
    st = witness_ecdsa_public(priv, attest_public);
  } while (st == SGX_ERROR_INVALID_PARAMETER);
  if (st == SGX_SUCCESS) st = witness_seal(SGX_KEYPOLICY_MRSIGNER, attest_public, 64, priv, 32, sealed_key, need);
  wipe(priv, sizeof priv);
  if (st == SGX_SUCCESS) st = key_binding(attest_public, auth, auth_len, reportdata);
  if (st == SGX_SUCCESS) st = witness_create_report(pce_target_info, reportdata, qe_report);
  return st == SGX_SUCCESS ? QE_OK : -st;
}

int qe_quote(const uint8_t *app_report, const uint8_t *sealed_key, uint32_t sealed_len, const uint8_t *qe_report_body, const uint8_t *qe_report_signature,
             const uint8_t *auth, uint32_t auth_len, uint16_t pce_svn, uint16_t cert_type, const uint8_t *cert_data, uint32_t cert_len,
             uint8_t *quote, uint32_t quote_cap, uint32_t *quote_len) {
  uint8_t priv[32], pub[64], self[SGX_REPORT_SIZE], binding[64];
  uint32_t priv_len = sizeof priv, pub_len = sizeof pub;
  if (auth_len > MAX_AUTH || cert_len > MAX_CERT) return QE_INVALID_PARAMETER;
  uint32_t sig_len = 64 + 64 + 384 + 64 + 2 + auth_len + 2 + 4 + cert_len;
  uint32_t total = QUOTE_SIGNED_SIZE + 4 + sig_len;
  *quote_len = total;
  sgx_status_t st = witness_verify_report(app_report);
  if (st == SGX_ERROR_MAC_MISMATCH) return QE_INVALID_REPORT;
  if (st != SGX_SUCCESS) return -st;
  st = witness_unseal(sealed_key, sealed_len, pub, &pub_len, priv, &priv_len);
  if (st != SGX_SUCCESS || pub_len != 64 || priv_len != 32) {
    wipe(priv, sizeof priv);
    return QE_INVALID_KEY_BLOB;
  }
  /* The certified report must be this QE's and bind this key and auth data. */
  st = witness_create_report(NULL, NULL, self);
  if (st == SGX_SUCCESS) st = key_binding(pub, auth, auth_len, binding);
  if (st != SGX_SUCCESS) {
    wipe(priv, sizeof priv);
    return -st;
  }
  if (memcmp(qe_report_body + SGX_REPORT_MRENCLAVE, self + SGX_REPORT_MRENCLAVE, 32) != 0 || memcmp(qe_report_body + SGX_REPORT_REPORTDATA, binding, 64) != 0) {
    wipe(priv, sizeof priv);
    return QE_CERTIFICATION_MISMATCH;
  }
  if (quote_cap < total) {
    wipe(priv, sizeof priv);
    return QE_BUFFER_TOO_SMALL;
  }
  /* Header (sgx_quote_header_t). */
  memset(quote, 0, QUOTE_HEADER_SIZE);
  put16(quote + 0, 3);
  put16(quote + 2, ATT_KEY_TYPE_ECDSA_P256);
  put16(quote + 8, (uint32_t)(self[SGX_REPORT_ISVSVN] | self[SGX_REPORT_ISVSVN + 1] << 8));
  put16(quote + 10, pce_svn);
  memcpy(quote + 12, QE_VENDOR_ID, 16);
  st = qe_id(quote + 28);
  if (st != SGX_SUCCESS) {
    wipe(priv, sizeof priv);
    return -st;
  }
  /* The application's REPORT body, then the signature data. */
  memcpy(quote + QUOTE_HEADER_SIZE, app_report, 384);
  put32(quote + QUOTE_SIGNED_SIZE, sig_len);
  uint8_t *sig = quote + QUOTE_SIGNED_SIZE + 4;
  st = witness_ecdsa_sign(quote, QUOTE_SIGNED_SIZE, priv, sig);
  wipe(priv, sizeof priv);
  if (st != SGX_SUCCESS) return -st;
  memcpy(sig + 64, pub, 64);
  memcpy(sig + 128, qe_report_body, 384);
  memcpy(sig + 512, qe_report_signature, 64);
  put16(sig + 576, auth_len);
  if (auth_len) memcpy(sig + 578, auth, auth_len);
  uint8_t *cert = sig + 578 + auth_len;
  put16(cert, cert_type);
  put32(cert + 2, cert_len);
  if (cert_len) memcpy(cert + 6, cert_data, cert_len);
  return QE_OK;
}
