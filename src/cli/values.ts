/** Command-line text → values the commands share (ECALL arguments are platform/call.ts's). */
import { CliError } from './io.js';

/**
 * A platform seed from `--seed HEX`: at least 16 bytes (32 hex digits), as the processor requires.
 * @throws {CliError} `CLI_SEED` (exit 2) for anything else.
 */
export function parseSeed(text: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2}){16,}$/.test(text)) {
    throw new CliError('CLI_SEED', `--seed takes at least 16 bytes of hex (32 or more hex digits, an even number), got ${JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)}`, 2);
  }
  return Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));
}
