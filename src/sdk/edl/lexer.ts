/**
 * The EDL tokenizer, after edger8r's Lexer.mll: identifiers, decimal numbers, double-quoted
 * strings without escapes, `//` and non-nesting `/* *\/` comments, the punctuation
 * `{ } ( ) [ ] * . , ; =`, and a fixed set of reserved words (type names and EDL keywords).
 *
 * Additions, all confined to enum initializers: hexadecimal numbers and the operators
 * `+ - ~ / % << >> & | ^` (edger8r accepts only a number or a name there).
 *
 * A line whose first non-blank character is `#` is refused: edger8r hands the file to `gcc -E`
 * when gcc is installed (and fails on `#` otherwise); Witness runs no C preprocessor, so it says so
 * instead of guessing what the directive would have done.
 */
import { EdlError, type EdlLocation } from './errors.js';

export type TokenKind = 'ident' | 'keyword' | 'number' | 'string' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier, keyword or punctuation text; a string's contents without quotes; a number's digits. */
  readonly text: string;
  /** Numeric value of a number token. */
  readonly value: number;
  readonly line: number;
  readonly column: number;
}

/** Reserved words: edger8r's keywords (Lexer.mll) plus `bool`, which Witness treats as a base type. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'char', 'short', 'unsigned', 'int', 'float', 'double', 'long', 'void', 'bool',
  'int8_t', 'int16_t', 'int32_t', 'int64_t', 'uint8_t', 'uint16_t', 'uint32_t', 'uint64_t',
  'size_t', 'wchar_t', 'struct', 'union', 'enum',
  'enclave', 'trusted', 'untrusted', 'from', 'import', 'allow', 'public',
  'transition_using_threads', 'include', 'propagate_errno', 'const',
]);

const PUNCT2 = ['<<', '>>'];
const PUNCT1 = '{}()[]*.,;=+-~/%&|^';

const isIdentStart = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentPart = (c: string): boolean => isIdentStart(c) || isDigit(c);
const isHexDigit = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

/**
 * Splits EDL source into tokens, ending with one `eof` token.
 * @throws EdlError `EDL_SYNTAX` (invalid character, unterminated string or comment, bad number),
 *   `EDL_PREPROCESSOR` (a `#` directive).
 */
export function tokenize(source: string, file: string): Token[] {
  const src = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let lineHasToken = false;
  const at = (pos: number): EdlLocation => ({ file, line, column: pos - lineStart + 1 });
  const push = (kind: TokenKind, text: string, start: number, value = 0): void => {
    tokens.push({ kind, text, value, line, column: start - lineStart + 1 });
    lineHasToken = true;
  };
  const newline = (pos: number): void => {
    line++;
    lineStart = pos + 1;
    lineHasToken = false;
  };

  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      newline(i);
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const start = at(i);
      i += 2;
      for (;;) {
        if (i >= src.length) throw new EdlError('EDL_SYNTAX', start, 'unterminated comment');
        if (src[i] === '*' && src[i + 1] === '/') {
          i += 2;
          break;
        }
        if (src[i] === '\n') newline(i);
        i++;
      }
      continue;
    }
    if (c === '#') {
      const where = at(i);
      if (!lineHasToken) {
        let j = i + 1;
        while (src[j] === ' ' || src[j] === '\t') j++;
        let k = j;
        while (k < src.length && isIdentPart(src[k]!)) k++;
        const directive = src.slice(j, k);
        const hint = directive === 'include' ? '; to name a C header for the generated code, write `include "file.h"` without `#`' : '';
        throw new EdlError('EDL_PREPROCESSOR', where, `preprocessor directive \`#${directive}' is not supported: Witness does not run the C preprocessor${hint}`);
      }
      throw new EdlError('EDL_SYNTAX', where, 'invalid character `#\'');
    }
    if (isIdentStart(c)) {
      const start = i;
      while (i < src.length && isIdentPart(src[i]!)) i++;
      const text = src.slice(start, i);
      push(KEYWORDS.has(text) ? 'keyword' : 'ident', text, start);
      continue;
    }
    if (isDigit(c)) {
      const start = i;
      let value: number;
      if (c === '0' && (src[i + 1] === 'x' || src[i + 1] === 'X')) {
        i += 2;
        const digitsStart = i;
        while (i < src.length && isHexDigit(src[i]!)) i++;
        if (i === digitsStart) throw new EdlError('EDL_SYNTAX', at(start), `invalid number \`${src.slice(start, i)}'`);
        value = Number.parseInt(src.slice(digitsStart, i), 16);
      } else {
        while (i < src.length && isDigit(src[i]!)) i++;
        // Decimal, as edger8r reads it (OCaml int_of_string): `010` is ten.
        value = Number.parseInt(src.slice(start, i), 10);
      }
      if (i < src.length && isIdentPart(src[i]!)) {
        let j = i;
        while (j < src.length && isIdentPart(src[j]!)) j++;
        throw new EdlError('EDL_SYNTAX', at(start), `invalid number \`${src.slice(start, j)}'`);
      }
      if (!Number.isSafeInteger(value)) throw new EdlError('EDL_SYNTAX', at(start), `number \`${src.slice(start, i)}' is too large`);
      push('number', src.slice(start, i), start, value);
      continue;
    }
    if (c === '"') {
      const start = i;
      i++;
      while (i < src.length && src[i] !== '"' && src[i] !== '\n') i++;
      if (src[i] !== '"') throw new EdlError('EDL_SYNTAX', at(start), 'unterminated string');
      push('string', src.slice(start + 1, i), start);
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.includes(two)) {
      push('punct', two, i);
      i += 2;
      continue;
    }
    if (PUNCT1.includes(c)) {
      push('punct', c, i);
      i++;
      continue;
    }
    const printable = c >= ' ' && c <= '~' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    throw new EdlError('EDL_SYNTAX', at(i), `invalid character \`${printable}'`);
  }
  tokens.push({ kind: 'eof', text: '', value: 0, line, column: i - lineStart + 1 });
  return tokens;
}

/** How a token is named in an error message. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'string':
      return `"${t.text}"`;
    default:
      return `\`${t.text}'`;
  }
}
