/*
 * The local attestation enclave (C, compiled to wasm32 with clang; see build.sh).
 *
 * Each side makes an ephemeral ECDH P-256 key pair and a REPORT for its peer whose REPORTDATA is
 * SHA-256 of its public key. The peer's REPORT proves, through the processor's report key, that the
 * public key comes from an enclave with the peer's MRENCLAVE on this platform; only then is the
 * shared secret used. The session key protects messages (a SHA-256 keystream and HMAC-SHA256,
 * built on the runtime's witness_sha256, as the runtime offers no AES to modules).
 */
#include <string.h>
#include "attest_t.h"

#define MAX_MESSAGE 256
#define RECORD_OVERHEAD (4 + 32) /* sequence number, tag */

static uint8_t my_private[32], my_public[64], peer_public[64];
static uint8_t enc_key[32], mac_key[32];
static int have_keypair, established;
static uint32_t send_seq, recv_seq;

static void wipe(void *p, size_t n) {
  volatile uint8_t *b = p;
  while (n--) *b++ = 0;
}

static void end_session(void) {
  wipe(my_private, sizeof my_private);
  wipe(enc_key, sizeof enc_key);
  wipe(mac_key, sizeof mac_key);
  have_keypair = established = 0;
}

/* "<what> <first 8 bytes of id in hex>…" to the host. */
static void log_id(const char *what, const uint8_t *id) {
  static const char hex[] = "0123456789abcdef";
  char line[128];
  size_t n = strlen(what);
  if (n > sizeof line - 24) n = sizeof line - 24;
  memcpy(line, what, n);
  line[n++] = ' ';
  for (int i = 0; i < 8; i++) {
    line[n++] = hex[id[i] >> 4];
    line[n++] = hex[id[i] & 15];
  }
  memcpy(line + n, "\xe2\x80\xa6", 4); /* "…" and the terminator */
  ocall_print(line);
}

/* SHA-256 over label ‖ a ‖ b ‖ c (any of them may be empty). */
static sgx_status_t hash4(const char *label, const uint8_t *a, size_t an, const uint8_t *b, size_t bn, const uint8_t *c, size_t cn, uint8_t out[32]) {
  uint8_t buf[32 + 64 + 64 + 64];
  size_t ln = strlen(label), n = 0;
  if (ln + an + bn + cn > sizeof buf) return SGX_ERROR_INVALID_PARAMETER;
  memcpy(buf + n, label, ln); n += ln;
  if (an) { memcpy(buf + n, a, an); n += an; }
  if (bn) { memcpy(buf + n, b, bn); n += bn; }
  if (cn) { memcpy(buf + n, c, cn); n += cn; }
  sgx_status_t st = witness_sha256(buf, n, out);
  wipe(buf, sizeof buf);
  return st;
}

/* HMAC-SHA256 (RFC 2104) of sender public key ‖ seq ‖ data under mac_key. */
static sgx_status_t record_mac(const uint8_t *sender, uint32_t seq, const uint8_t *data, size_t len, uint8_t tag[32]) {
  static uint8_t buf[64 + 64 + 4 + MAX_MESSAGE];
  uint8_t inner[64 + 32];
  if (len > MAX_MESSAGE) return SGX_ERROR_INVALID_PARAMETER;
  for (int i = 0; i < 64; i++) buf[i] = (i < 32 ? mac_key[i] : 0) ^ 0x36;
  memcpy(buf + 64, sender, 64);
  for (int i = 0; i < 4; i++) buf[128 + i] = (uint8_t)(seq >> (8 * i));
  memcpy(buf + 132, data, len);
  sgx_status_t st = witness_sha256(buf, 132 + len, inner + 64);
  for (int i = 0; i < 64; i++) inner[i] = (i < 32 ? mac_key[i] : 0) ^ 0x5c;
  if (st == SGX_SUCCESS) st = witness_sha256(inner, sizeof inner, tag);
  wipe(buf, sizeof buf);
  wipe(inner, sizeof inner);
  return st;
}

/* XOR `data` with the keystream SHA-256(enc_key ‖ sender ‖ seq ‖ block) of one direction. */
static sgx_status_t keystream_xor(const uint8_t *sender, uint32_t seq, uint8_t *data, size_t len) {
  uint8_t in[32 + 64 + 8], block[32];
  memcpy(in, enc_key, 32);
  memcpy(in + 32, sender, 64);
  for (int i = 0; i < 4; i++) in[96 + i] = (uint8_t)(seq >> (8 * i));
  for (uint32_t k = 0; 32 * k < len; k++) {
    for (int i = 0; i < 4; i++) in[100 + i] = (uint8_t)(k >> (8 * i));
    sgx_status_t st = witness_sha256(in, sizeof in, block);
    if (st != SGX_SUCCESS) return st;
    for (size_t i = 0; i < 32 && 32 * k + i < len; i++) data[32 * k + i] ^= block[i];
  }
  wipe(in, sizeof in);
  wipe(block, sizeof block);
  return SGX_SUCCESS;
}

int ecall_target_info(uint8_t *target_info) {
  sgx_status_t st = witness_get_target_info(target_info);
  return st == SGX_SUCCESS ? 0 : -st;
}

int ecall_begin(const uint8_t *peer_target_info, uint8_t *public_key, uint8_t *report) {
  uint8_t report_data[64] = {0};
  end_session();
  sgx_status_t st = witness_ecdh_keypair(my_private, my_public);
  if (st == SGX_SUCCESS) st = witness_sha256(my_public, sizeof my_public, report_data);
  if (st == SGX_SUCCESS) st = witness_create_report(peer_target_info, report_data, report);
  if (st != SGX_SUCCESS) {
    end_session();
    return -st;
  }
  have_keypair = 1;
  memcpy(public_key, my_public, sizeof my_public);
  return 0;
}

static int refuse(int why, const char *message) {
  ocall_print(message);
  end_session();
  return why;
}

int ecall_finish(const uint8_t *peer_report, const uint8_t *peer_public_key, const uint8_t *expected_mrenclave, uint8_t *confirmation) {
  uint8_t digest[32], shared[32], key[32];
  if (!have_keypair || established) return refuse(LA_NO_SESSION, "refused: no session in progress");
  /* Nothing in the REPORT means anything before its MAC is checked. */
  sgx_status_t st = witness_verify_report(peer_report);
  if (st != SGX_SUCCESS) {
    end_session();
    ocall_print(st == SGX_ERROR_MAC_MISMATCH ? "refused: the peer's REPORT does not verify (forged, modified, or addressed to another enclave)"
                                             : "refused: the peer's REPORT cannot be verified");
    return -st;
  }
  if (memcmp(peer_report + SGX_REPORT_MRENCLAVE, expected_mrenclave, 32) != 0) {
    log_id("the peer's MRENCLAVE is", peer_report + SGX_REPORT_MRENCLAVE);
    return refuse(LA_WRONG_MRENCLAVE, "refused: the peer is not the expected enclave");
  }
  if (peer_report[SGX_REPORT_ATTRIBUTES] & 0x02) return refuse(LA_DEBUG_PEER, "refused: the peer is a debug enclave");
  st = witness_sha256(peer_public_key, 64, digest);
  if (st != SGX_SUCCESS) {
    end_session();
    return -st;
  }
  int bound = memcmp(peer_report + SGX_REPORT_REPORTDATA, digest, 32) == 0;
  for (int i = 32; i < 64; i++) bound &= peer_report[SGX_REPORT_REPORTDATA + i] == 0;
  if (!bound) return refuse(LA_KEY_NOT_BOUND, "refused: the public key offered is not the one the peer's REPORT binds");

  st = witness_ecdh_shared(my_private, peer_public_key, shared);
  /* Both sides order the two public keys the same way. */
  int mine_first = memcmp(my_public, peer_public_key, 64) < 0;
  if (st == SGX_SUCCESS) st = hash4("witness-la/session", shared, 32, mine_first ? my_public : peer_public_key, 64, mine_first ? peer_public_key : my_public, 64, key);
  if (st == SGX_SUCCESS) st = hash4("witness-la/encrypt", key, 32, 0, 0, 0, 0, enc_key);
  if (st == SGX_SUCCESS) st = hash4("witness-la/mac", key, 32, 0, 0, 0, 0, mac_key);
  if (st == SGX_SUCCESS) st = hash4("witness-la/confirm", key, 32, 0, 0, 0, 0, confirmation);
  wipe(shared, sizeof shared);
  wipe(key, sizeof key);
  wipe(my_private, sizeof my_private); /* ephemeral: the secret is derived, the private key is no longer needed */
  if (st != SGX_SUCCESS) {
    end_session();
    return -st;
  }
  memcpy(peer_public, peer_public_key, 64);
  established = 1;
  send_seq = recv_seq = 0;
  log_id("session established with MRENCLAVE", peer_report + SGX_REPORT_MRENCLAVE);
  return LA_OK;
}

int ecall_seal_message(const char *message, uint8_t *record, uint32_t cap, uint32_t *record_len) {
  if (!established) return LA_NO_SESSION;
  size_t len = strlen(message);
  if (len > MAX_MESSAGE || cap < len + RECORD_OVERHEAD) return LA_BAD_MESSAGE;
  uint32_t seq = send_seq++;
  for (int i = 0; i < 4; i++) record[i] = (uint8_t)(seq >> (8 * i));
  memcpy(record + 4, message, len);
  sgx_status_t st = keystream_xor(my_public, seq, record + 4, len);
  if (st == SGX_SUCCESS) st = record_mac(my_public, seq, record + 4, len, record + 4 + len);
  if (st != SGX_SUCCESS) return -st;
  *record_len = (uint32_t)(len + RECORD_OVERHEAD);
  return LA_OK;
}

int ecall_open_message(const uint8_t *record, uint32_t len, char *message, uint32_t cap) {
  uint8_t tag[32];
  if (!established) return LA_NO_SESSION;
  if (len < RECORD_OVERHEAD || len - RECORD_OVERHEAD > MAX_MESSAGE || cap < len - RECORD_OVERHEAD + 1) return LA_BAD_MESSAGE;
  size_t n = len - RECORD_OVERHEAD;
  uint32_t seq = (uint32_t)record[0] | (uint32_t)record[1] << 8 | (uint32_t)record[2] << 16 | (uint32_t)record[3] << 24;
  sgx_status_t st = record_mac(peer_public, seq, record + 4, n, tag);
  if (st != SGX_SUCCESS) return -st;
  uint8_t diff = 0;
  for (int i = 0; i < 32; i++) diff |= tag[i] ^ record[4 + n + i];
  if (diff != 0) {
    ocall_print("refused: a message failed its MAC");
    return LA_BAD_MESSAGE;
  }
  if (seq != recv_seq) {
    ocall_print("refused: a message out of sequence (replayed or dropped)");
    return LA_BAD_MESSAGE;
  }
  recv_seq++;
  memcpy(message, record + 4, n);
  st = keystream_xor(peer_public, seq, (uint8_t *)message, n);
  if (st != SGX_SUCCESS) return -st;
  message[n] = 0;
  return LA_OK;
}
