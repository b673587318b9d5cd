/**
 * An ECALL from text, as `witness run` and the web view's call form take it: each argument parsed
 * and checked against its EDL parameter (integers in decimal or 0x hexadecimal within the type's
 * range, floating-point numbers in decimal, untrusted addresses as non-negative integers, buffers as
 * text, `hex:…` or `@FILE`), and what the call gave back (its `out` and `in, out` buffers, an
 * OCALL's arguments) as text. Bad text is a `PlatformError` (`ECALL_ARG`, `ECALL_ARGS`) that names
 * the parameter; nothing is called. Also a count or address typed into a form (`parseCount`,
 * `NUMBER_TEXT`), and what a piece of work cost (`costReport`, `--stats`).
 */
import { estimateCost, countersSince, type SgxCounters } from '../arch/index.js';
import { MAX_BUFFER, type CanonicalParam, type EcallArg, type FunctionPlan, type ParamPlan } from '../sdk/index.js';
import { bufferLength, encodeWide, decodeWide } from '../sdk/marshal.js';
import { toHex } from '../lib/bytes.js';
import { PlatformError } from './errors.js';
import { printable, type CostReport, type OutputText } from './results.js';

export { printable, type CostReport, type OutputText } from './results.js';

const INTEGER = /^([+-]?)(0[xX][0-9a-fA-F]+|[0-9]+)$/;
const DECIMAL = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const HEX = /^([0-9a-fA-F]{2})*$/;

/** The inclusive range of an integer of `width` bytes. */
function integerRange(width: number, signed: boolean): { min: bigint; max: bigint } {
  const bits = BigInt(width * 8);
  return signed ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n } : { min: 0n, max: (1n << bits) - 1n };
}

function parseInteger(text: string): bigint | null {
  const m = INTEGER.exec(text);
  if (!m) return null;
  const magnitude = BigInt(m[2]!); // BigInt reads both decimal and 0x forms
  return m[1] === '-' ? -magnitude : magnitude;
}

function bad(p: ParamPlan, text: string, expected: string): PlatformError {
  return new PlatformError('ECALL_ARG', `${p.name}: ${JSON.stringify(text)} is not ${expected}`, { param: p.name, text });
}

/** What a by-value or [user_check] parameter takes, in words (the error messages' and the form's). */
function expectedValue(p: ParamPlan): string {
  if (p.kind === 'user_check') return 'an address (an integer from 0 to 2^53-1, decimal or 0x…)';
  if (p.float) return `a ${p.width === 4 ? 'float' : 'double'} (a decimal number such as -1.5 or 2e3)`;
  const { min, max } = integerRange(p.width, p.signed);
  return `a${p.signed ? ' signed' : 'n unsigned'} ${p.width * 8}-bit integer (${min} to ${max}, decimal or 0x…)`;
}

/**
 * The value of a by-value or [user_check] parameter from its text: a bigint for 64-bit integers, a
 * number otherwise.
 * @throws {PlatformError} `ECALL_ARG` for text that is not a number of the parameter's type or lies
 * outside its range (e.g. `abc`, `1.5` or `256` for a uint8_t), or for a buffer parameter.
 * @example parseValue('0xff', uint8Param) // 255
 */
export function parseValue(text: string, p: ParamPlan): number | bigint {
  if (p.kind === 'user_check') {
    const v = parseInteger(text);
    if (v === null || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(p, text, expectedValue(p));
    return Number(v);
  }
  if (p.kind !== 'value') throw new PlatformError('ECALL_ARG', `${p.name} is a buffer, not a value`, { param: p.name });
  if (p.float) {
    const what = expectedValue(p);
    if (!DECIMAL.test(text)) throw bad(p, text, what);
    const v = Number(text);
    // A finite decimal beyond the type's range would become an infinity.
    if (!Number.isFinite(v) || (p.width === 4 && !Number.isFinite(Math.fround(v)))) throw bad(p, text, `${what}: out of range`);
    return v;
  }
  const { min, max } = integerRange(p.width, p.signed);
  const v = parseInteger(text);
  if (v === null || v < min || v > max) throw bad(p, text, expectedValue(p));
  return p.wasm === 'i64' ? v : Number(v);
}

/**
 * A non-negative integer from text (decimal or 0x…, up to 2^53-1), such as an address or a length
 * typed into a form; `what` names it in the error.
 * @throws {PlatformError} `NUMBER_TEXT` for anything else.
 * @example parseCount('0x40', 'length') // 64
 */
export function parseCount(text: string, what: string): number {
  const v = parseInteger(text.trim());
  if (v === null || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PlatformError('NUMBER_TEXT', `${what}: ${JSON.stringify(text)} is not an integer from 0 to 2^53-1 (decimal or 0x…)`, { what, text });
  return Number(v);
}

export interface TextArgumentOptions {
  /** Reads `@FILE` for an [in] buffer; without it `@FILE` is refused (`ECALL_ARG`). */
  readonly readFile?: (path: string) => Uint8Array;
  /**
   * The most bytes one buffer may take (`ECALL_ARG` beyond, before anything is allocated): e.g. the
   * host's marshalling arena, which could not hold more. Default MAX_BUFFER (the SDK's own bound).
   */
  readonly maxBuffer?: number;
}

/** The bytes an [in] or [in, out] buffer's text stands for: `hex:…`, `@FILE`, or the text in UTF-8. */
function bufferBytes(p: ParamPlan, text: string, options: TextArgumentOptions): Uint8Array {
  if (text.startsWith('hex:')) {
    // (with or without 0x, as lib's fromHex reads it and as `witness run` always took it)
    const digits = text.slice(4).replace(/^0[xX]/, '');
    if (!HEX.test(digits)) throw bad(p, text, 'hex (hex: and an even number of hex digits, 0x optional)');
    return Uint8Array.from(digits.match(/../g) ?? [], (h) => parseInt(h, 16));
  }
  if (text.startsWith('@')) {
    if (options.readFile === undefined) throw new PlatformError('ECALL_ARG', `${p.name}: ${JSON.stringify(text)} names a file, and no file can be read here (give text or hex:…)`, { param: p.name, text });
    return options.readFile(text.slice(1));
  }
  return new TextEncoder().encode(text);
}

/**
 * The arguments of ECALL `f` from one text each, in parameter order: by-value and [user_check]
 * parameters as `parseValue` reads them; [string] parameters as text (an [in, out] one as its bytes,
 * terminator included, which the call writes back into); [in] and [in, out] buffers as text,
 * `hex:…` or `@FILE`, at least as long as size=/count= make them; [out] buffers as zeros of that
 * length (their text is ignored).
 * @throws {PlatformError} `ECALL_ARGS` when the count is wrong; `ECALL_ARG` for a bad argument.
 * @example ecallArguments(plan('ecall_hello'), ['world', '-', '64']) // ['world', Uint8Array(64), 64]
 */
export function ecallArguments(f: FunctionPlan, texts: readonly string[], options: TextArgumentOptions = {}): EcallArg[] {
  if (texts.length !== f.params.length) throw new PlatformError('ECALL_ARGS', `${f.name} takes ${f.params.length} argument${f.params.length === 1 ? '' : 's'} (${f.params.map((p) => p.name).join(', ')}), got ${texts.length}`, { ecall: f.name, expected: f.params.length, got: texts.length });
  // Each by-value (and [user_check]) argument is parsed once, checked against its type; buffer
  // sizes named by size=/count= are read from these values.
  const vals = f.params.map((p, i) => (p.kind === 'value' || p.kind === 'user_check' ? parseValue(texts[i]!, p) : undefined));
  return f.params.map((p, i) => {
    const v = vals[i];
    if (v !== undefined) return v;
    const a = texts[i]!;
    if (p.string) return p.direction === 'inout' ? (p.string === 'wstring' ? encodeWide(a) : new TextEncoder().encode(`${a}\0`)) : a;
    const len = Math.max(0, bufferLength(p, vals));
    const max = options.maxBuffer ?? MAX_BUFFER;
    if (len > max) throw new PlatformError('ECALL_ARG', `${p.name}: its size=/count= make ${len} bytes, more than the ${max} this host can pass`, { param: p.name, length: len, max });
    if (p.direction === 'out') return new Uint8Array(len);
    const bytes = bufferBytes(p, a, options);
    if (bytes.length > max) throw new PlatformError('ECALL_ARG', `${p.name}: ${bytes.length} bytes, more than the ${max} this host can pass`, { param: p.name, length: bytes.length, max });
    const buf = new Uint8Array(Math.max(len, bytes.length));
    buf.set(bytes);
    return buf;
  });
}

/** The [out] and [in, out] buffers of a call of `f` with `args` (after it returned), in parameter order. */
export function ecallOutputs(f: FunctionPlan, args: readonly EcallArg[]): OutputText[] {
  const out: OutputText[] = [];
  f.params.forEach((p, i) => {
    const b = args[i];
    if (p.kind !== 'buffer' || (p.direction !== 'out' && p.direction !== 'inout') || !(b instanceof Uint8Array)) return;
    out.push({ name: p.name, hex: toHex(b), text: p.string === 'wstring' ? decodeWide(b) : printable(b) });
  });
  return out;
}

/** An argument an OCALL received, or a value a call returned, as one line: numbers as String gives them, JSON for text, hex for other bytes. */
export function valueText(x: unknown): string {
  if (x instanceof Uint8Array) {
    const t = printable(x);
    return t !== null ? JSON.stringify(t) : toHex(x);
  }
  if (x === undefined) return '(void)';
  // Numbers as `witness run` prints a result: JSON would make NaN and the infinities (a float or
  // double an enclave may well return) `null`.
  return typeof x === 'bigint' || typeof x === 'number' ? String(x) : JSON.stringify(x);
}

/** A parameter's EDL attributes as the EDL writes them: `in, size=len`, `out, count=4`, `user_check`. */
function attributeText(p: ParamPlan, c: CanonicalParam | undefined): string {
  if (c === undefined) {
    const dir = p.direction === 'inout' ? 'in, out' : p.direction;
    return [dir, p.string, p.kind === 'user_check' ? 'user_check' : null].filter((x) => x !== null).join(', ');
  }
  const a = c.attributes;
  const dir = a.direction === undefined ? null : String(a.direction).replace(/^in,?\s*out$/, 'in, out');
  return [dir, a.size !== undefined ? `size=${a.size}` : null, a.count !== undefined ? `count=${a.count}` : null, a.string ? 'string' : null, a.wstring ? 'wstring' : null, a.userCheck ? 'user_check' : null, a.isptr ? 'isptr' : null, a.isary ? 'isary' : null, a.readonly ? 'readonly' : null].filter((x) => x !== null).join(', ');
}

/**
 * A parameter for a form: its EDL attributes and C declaration (from the interface, where given),
 * and what its text may be.
 * @example parameterHint(p, c) // '[in, string] const char *name: text'
 */
export function parameterHint(p: ParamPlan, c?: CanonicalParam): string {
  // As C declares it, the pointer's stars against the name: `const char *name`, `int32_t a[4]`.
  const spelling = c?.type.spelling.replace(/\s*\[.*$/, '').replace(/\s*(\*+)$/, ' $1') ?? '';
  const decl = c !== undefined ? `${spelling}${spelling.endsWith('*') ? '' : ' '}${p.name}${c.type.dims.map((d) => `[${d}]`).join('')}` : p.name;
  const attrs = attributeText(p, c);
  const head = `${attrs !== '' ? `[${attrs}] ` : ''}${decl}`;
  if (p.kind === 'value' || p.kind === 'user_check') return `${head}: ${expectedValue(p)}`;
  if (p.string) return `${head}: text`;
  if (p.direction === 'out') return `${head}: written by the enclave (its length from size=/count=; the text is not used)`;
  return `${head}: text or hex:… (padded with zeros to its size=/count= length)`;
}

/** The events between two counter snapshots (the later first) and their price. */
export function costReport(now: SgxCounters, since: SgxCounters): CostReport {
  const counts = countersSince(now, since);
  const e = estimateCost(counts);
  return { counts: Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0)), cycles: e.cycles, seconds: e.seconds, unpriced: e.unpriced };
}
