/**
 * What the workbench (workbench.ts) and ECALLs from text (call.ts) give back: plain data, and the
 * lines people read it as. Declared here with no import at all, so that the web view's page,
 * compiled without Node's types, can use them (and its worker's messages name them) without
 * reaching the model; `witness session` prints the same lines.
 */

/** The SGX events of a piece of work (only those that happened) and what the default cost model prices them at. */
export interface CostReport {
  readonly counts: Record<string, number>;
  /** Cycles of SGX hardware for the priced events. */
  readonly cycles: number;
  readonly seconds: number;
  /** The events the model has no price for, with their counts (not in `cycles`). */
  readonly unpriced: Record<string, number>;
}

/** A buffer the call wrote back: its parameter, its bytes in hex, and as text where they read as text. */
export interface OutputText {
  readonly name: string;
  readonly hex: string;
  readonly text: string | null;
}

/** A parameter of an ECALL, for a form: its name, its declaration and what its text may be. */
export interface ParamForm {
  readonly name: string;
  readonly hint: string;
  /** An [out] buffer takes no text (its length comes from size=/count=). */
  readonly takesText: boolean;
}

export interface EcallForm {
  readonly name: string;
  readonly public: boolean;
  /** The return type as the EDL spells it, or null for void. */
  readonly returns: string | null;
  readonly params: readonly ParamForm[];
}

export interface LoadedEnclave {
  readonly id: number;
  /** The file it came from (the image, or the module). */
  readonly name: string;
  /** How it came: a signed image, an unsigned image signed here, or a module built and signed here. */
  readonly origin: 'signed image' | 'image signed here' | 'built and signed here';
  readonly mrenclave: string;
  readonly mrsigner: string;
  readonly base: number;
  readonly size: number;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly debug: boolean;
  readonly ecalls: readonly EcallForm[];
  readonly ocalls: readonly string[];
  /** What loading it cost. */
  readonly cost: CostReport;
}

export interface CallOutcome {
  readonly id: number;
  readonly ecall: string;
  /** The return value as text ('(void)' for none). */
  readonly result: string;
  readonly outputs: readonly OutputText[];
  /** Each OCALL the enclave made, with its arguments (each answered with 0 and nothing written). */
  readonly ocalls: readonly string[];
  readonly cost: CostReport;
}

/** The same bytes of an enclave as three outsiders see them. */
export interface MemoryViews {
  readonly id: number;
  readonly linear: number;
  readonly length: number;
  /** The physical address they map to now, or null when the page is not mapped (then kernel and dram are null too). */
  readonly physical: number | null;
  /** Ring 0 reading that physical memory: an EPC page reads as the abort page (all ones). Hex. */
  readonly kernel: string | null;
  /** What DRAM holds there: memory encryption's ciphertext. Hex. */
  readonly dram: string | null;
  /**
   * What a debugger reads, and how (`via`): on Linux pread(2) of /proc/self/mem (the driver's
   * EDBGRD for a DEBUG enclave, EIO for any other); on Windows EDBGRD from ring 0 (what a kernel
   * debugger or a debug driver runs: Windows's ReadProcessMemory reads enclave pages as the abort page), which
   * faults (#GP) for a production enclave. The plaintext in hex, or why it was refused.
   */
  readonly debugger: { readonly via: string; readonly hex: string } | { readonly via: string; readonly refused: string };
}

/** Bytes up to their first NUL as text, when that is printable ASCII (tabs and newlines too) and not empty; null otherwise. */
export function printable(b: Uint8Array): string | null {
  const end = b.indexOf(0) >= 0 ? b.indexOf(0) : b.length;
  const t = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, end));
  return /^[\x20-\x7e\n\t]*$/.test(t) && end > 0 ? t : null;
}

/** A call's outcome as lines (unindented): `returned 38`, each buffer written back (text where it reads as text, else hex), each OCALL. */
export function outcomeLines(o: CallOutcome): string[] {
  return [`returned ${o.result}`, ...o.outputs.map((b) => `${b.name}: ${b.text !== null ? JSON.stringify(b.text) : b.hex}`), ...o.ocalls.map((c) => `ocall ${c}`)];
}

/** Memory views as lines (unindented): where, then ring 0, DRAM and the debugger (its plaintext also as text where it reads so). */
export function memoryViewLines(v: MemoryViews): string[] {
  const d = v.debugger;
  let debug: string;
  if ('hex' in d) {
    const text = printable(Uint8Array.from(d.hex.match(/../g) ?? [], (h) => parseInt(h, 16)));
    debug = `${d.hex}${text !== null ? `  ${JSON.stringify(text)}` : ''}`;
  } else debug = `refused: ${d.refused}`;
  return [
    `linear 0x${v.linear.toString(16)}${v.physical === null ? ' (not mapped now)' : `, physical 0x${v.physical.toString(16)}`}`,
    `kernel (ring 0): ${v.kernel ?? '—'}`,
    `DRAM:            ${v.dram ?? '—'}`,
    `debugger:        ${debug}  (${d.via})`,
  ];
}
