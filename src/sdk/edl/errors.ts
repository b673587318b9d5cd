/**
 * The EDL parser's error class. Every problem in an EDL file, from an invalid character to an
 * `allow()` naming an unknown ECALL, is an `EdlError` whose message starts with
 * `FILE:LINE:COLUMN: ` (1-based line and column of the offending token), as compilers print them.
 */
import { WitnessError } from '../../lib/errors.js';

/** A position in an EDL file. `line` and `column` are 1-based; 0/0 means "the whole file". */
export interface EdlLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * A syntax or validation error in an EDL file (or an unreadable EDL file).
 *
 * `code` is stable (e.g. `EDL_SYNTAX`, `EDL_UNKNOWN_ATTRIBUTE`, `EDL_IMPORT_CYCLE`); `data` holds
 * `{ file, line, column }` and `detail`, the message without its location prefix.
 *
 * @example
 * try { parseEdl('enclave { trusted { public void f([bogus] int *p); }; };', 'a.edl'); }
 * catch (e) { if (e instanceof EdlError) console.log(e.code, e.data.line); } // EDL_UNKNOWN_ATTRIBUTE 1
 */
export class EdlError extends WitnessError {
  readonly location: EdlLocation;

  constructor(code: string, location: EdlLocation, detail: string, options?: { cause?: unknown }) {
    super(code, `${formatLocation(location)}: ${detail}`, { file: location.file, line: location.line, column: location.column, detail }, options);
    this.location = location;
  }
}

/** `FILE:LINE:COLUMN`. */
export function formatLocation(at: EdlLocation): string {
  return `${at.file}:${at.line}:${at.column}`;
}
