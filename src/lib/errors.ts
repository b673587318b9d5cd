/**
 * The base of every software error Witness throws.
 *
 * Witness keeps three failure channels apart (see docs/ARCHITECTURE.md):
 * SGX status codes are return values, architectural faults are `ArchFault`
 * (src/arch/faults.ts), and software errors are one `WitnessError` subclass per
 * layer, each with a stable `code` and structured `data`. Layers translate
 * errors only at their boundaries and keep the inner error as `cause`.
 */
export class WitnessError extends Error {
  /** A stable, machine-readable code, e.g. `LAYOUT_RESERVED_NONZERO`. */
  readonly code: string;
  /** Structured details (field names, addresses, values). */
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.data = Object.freeze({ ...data });
  }
}

/** Software errors of src/lib: bad arguments to byte helpers, layouts, crypto. */
export class LibError extends WitnessError {}

/** A malformed binary structure: wrong length, non-zero reserved bytes, bad field value. */
export class LayoutError extends LibError {}
