/** Output helpers and the CLI's error class. */
import { WitnessError } from '../lib/errors.js';

/** A command-line usage or input error: printed as one line, exit code `exitCode`. */
export class CliError extends WitnessError {
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode = 2, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, data, options);
    this.exitCode = exitCode;
  }
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Bytes exactly as they are (a program's output), where the Io can take them. */
  outBytes?(bytes: Uint8Array): void;
  errBytes?(bytes: Uint8Array): void;
  readonly isTty: boolean;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
  outBytes: (b) => process.stdout.write(b),
  errBytes: (b) => process.stderr.write(b),
  isTty: Boolean(process.stdout.isTTY),
};

/** JSON with bigint as decimal strings and Uint8Array as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
      return v;
    },
    2,
  );
}
