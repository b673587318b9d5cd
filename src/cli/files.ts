import { readFileSync } from 'node:fs';
import { CliError } from './io.js';

export function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliError('CLI_READ', `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`, 2, {}, { cause: e });
  }
}
