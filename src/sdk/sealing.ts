/**
 * The sealed-data format of the Intel SGX SDK (sgx_tseal.h): sgx_sealed_data_t = KEYREQUEST (512)
 * ‖ plain_text_offset (u32) ‖ 12 reserved ‖ sgx_aes_gcm_data_t { payload_size (u32), 12 reserved,
 * payload_tag (16), payload[] }, with the payload = AES-128-GCM ciphertext of the text, then the
 * additional MAC text in the clear; zero IV; the MAC text is the GCM AAD.
 */
import { defineLayout, bytes, u32, ignored, struct } from '../lib/layout.js';
import { KEYREQUEST } from '../arch/index.js';
import { u32le } from '../lib/bytes.js';
import { SdkError } from './errors.js';

export const SEALED_HEADER_SIZE = 560;
/** TSEAL_DEFAULT_FLAGSMASK: every ATTRIBUTES.FLAGS bit except the non-security ones (tseal_migration_attr.h). */
export const SEAL_FLAGS_MASK = 0xff0000000000000bn;
/** TSEAL_DEFAULT_MISCMASK. */
export const SEAL_MISC_MASK = 0xf0000000;

export const SEALED_DATA_HEADER = defineLayout('sgx_sealed_data_t', SEALED_HEADER_SIZE, [
  struct('key_request', 0, KEYREQUEST),
  u32('plain_text_offset', 512, 'length of the encrypted text; the MAC text follows it in the payload'),
  ignored(516, 12),
  u32('payload_size', 528, 'encrypted text + additional MAC text'),
  ignored(532, 12),
  bytes('payload_tag', 544, 16, 'AES-GCM tag'),
] as const);

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** What sgx_calc_sealed_data_size returns when the size does not fit in 32 bits (UINT32_MAX). */
export const SEALED_SIZE_OVERFLOW = 0xffffffff;

/**
 * sgx_calc_sealed_data_size (sdk/tseal/tSeal_util.cpp): header + MAC text + text, or
 * SEALED_SIZE_OVERFLOW (UINT32_MAX) when that does not fit in a uint32_t.
 * @throws {SdkError} `BAD_LENGTH` for a length that is not a uint32_t (the C function takes two).
 */
export function sealedDataSize(aadLength: number, textLength: number): number {
  if (!isU32(aadLength) || !isU32(textLength)) throw new SdkError('BAD_LENGTH', `sealedDataSize takes two uint32 lengths, got ${String(aadLength)} and ${String(textLength)}`);
  const size = SEALED_HEADER_SIZE + aadLength + textLength;
  return size >= SEALED_SIZE_OVERFLOW ? SEALED_SIZE_OVERFLOW : size;
}

const TEXT_LENGTH = SEALED_DATA_HEADER.field('plain_text_offset').offset;
const PAYLOAD_SIZE = SEALED_DATA_HEADER.field('payload_size').offset;

/**
 * The text and MAC-text lengths a sealed blob's header states (plain_text_offset, payload_size),
 * or null when the blob is shorter than the header or its length is not header + payload_size
 * with payload_size ≥ plain_text_offset. Shared by parseSealedData and the enclave's unseal.
 */
export function sealedLengths(blob: Uint8Array): { readonly textLength: number; readonly aadLength: number } | null {
  if (blob.length < SEALED_HEADER_SIZE) return null;
  const text = u32le(blob, TEXT_LENGTH), payload = u32le(blob, PAYLOAD_SIZE);
  if (payload < text || SEALED_HEADER_SIZE + payload !== blob.length) return null;
  return { textLength: text, aadLength: payload - text };
}

/**
 * Parse a sealed blob's header (host side, for inspection): no decryption.
 * @throws {SdkError} `SEALED_INVALID` for a blob shorter than the header or with inconsistent lengths.
 */
export function parseSealedData(blob: Uint8Array): { header: ReturnType<typeof SEALED_DATA_HEADER.decode>; textLength: number; aadLength: number; aad: Uint8Array } {
  if (blob.length < SEALED_HEADER_SIZE) throw new SdkError('SEALED_INVALID', `a sealed blob has at least ${SEALED_HEADER_SIZE} bytes, got ${blob.length}`);
  const lengths = sealedLengths(blob);
  if (!lengths) throw new SdkError('SEALED_INVALID', 'the sealed blob lengths are inconsistent');
  const header = SEALED_DATA_HEADER.decode(blob.subarray(0, SEALED_HEADER_SIZE), { allowReserved: true });
  return { header, textLength: lengths.textLength, aadLength: lengths.aadLength, aad: blob.slice(SEALED_HEADER_SIZE + lengths.textLength) };
}
