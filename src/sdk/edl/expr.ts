/**
 * Enum initializers. edger8r accepts a number or a name; Witness also accepts constant
 * expressions over numbers (decimal or 0x hex) and enumerator names, with C's operators and
 * precedence: unary `- + ~`, then `* / %`, `+ -`, `<< >>`, `&`, `^`, `|`, and parentheses.
 */
import { EdlError, type EdlLocation } from './errors.js';
import { tokenize, describeToken, type Token } from './lexer.js';

export type Expr =
  | { readonly kind: 'num'; readonly value: number; readonly text: string }
  | { readonly kind: 'ref'; readonly name: string }
  | { readonly kind: 'paren'; readonly arg: Expr }
  | { readonly kind: 'unary'; readonly op: string; readonly arg: Expr }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr };

/** Binary operators by precedence level, loosest first. */
const LEVELS: readonly (readonly string[])[] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

/** A cursor over tokens, shared with the parser. */
export interface Cursor {
  peek(): Token;
  next(): Token;
  at(t: Token): EdlLocation;
}

/**
 * Parses one constant expression at the cursor.
 * @throws EdlError `EDL_SYNTAX`
 */
export function parseExpr(c: Cursor): Expr {
  const level = (n: number): Expr => {
    if (n === LEVELS.length) return unary();
    let left = level(n + 1);
    for (;;) {
      const t = c.peek();
      if (t.kind !== 'punct' || !LEVELS[n]!.includes(t.text)) return left;
      c.next();
      left = { kind: 'binary', op: t.text, left, right: level(n + 1) };
    }
  };
  const unary = (): Expr => {
    const t = c.next();
    if (t.kind === 'punct' && (t.text === '-' || t.text === '+' || t.text === '~')) return { kind: 'unary', op: t.text, arg: unary() };
    if (t.kind === 'number') return { kind: 'num', value: t.value, text: t.text };
    if (t.kind === 'ident') return { kind: 'ref', name: t.text };
    if (t.kind === 'punct' && t.text === '(') {
      const arg = level(0);
      const close = c.next();
      if (close.kind !== 'punct' || close.text !== ')') throw new EdlError('EDL_SYNTAX', c.at(close), `unexpected ${describeToken(close)}; expected \`)'`);
      return { kind: 'paren', arg };
    }
    throw new EdlError('EDL_SYNTAX', c.at(t), `unexpected ${describeToken(t)}; expected a number or an enumerator name`);
  };
  return level(0);
}

/** The expression as text (re-parsable by {@link parseExprText}). */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case 'num':
      return e.text;
    case 'ref':
      return e.name;
    case 'paren':
      return `(${formatExpr(e.arg)})`;
    case 'unary':
      return `${e.op}${formatExpr(e.arg)}`;
    case 'binary':
      return `${formatExpr(e.left)} ${e.op} ${formatExpr(e.right)}`;
  }
}

/** Parses the text produced by {@link formatExpr}. */
export function parseExprText(text: string, file: string): Expr {
  const tokens = tokenize(text, file);
  let i = 0;
  return parseExpr({ peek: () => tokens[i]!, next: () => tokens[i++]!, at: (t) => ({ file, line: t.line, column: t.column }) });
}

/** Evaluation failure, reported by the caller at the enumerator. */
export class ExprProblem {
  constructor(readonly message: string) {}
}

/**
 * Evaluates with C integer semantics (exact integers; `/` and `%` truncate toward zero).
 * `lookup` gives a name's value, `null` when unknown (then the result is `null`).
 * Returns an {@link ExprProblem} for division by zero, a bad shift or an unsafe result.
 */
export function evalExpr(e: Expr, lookup: (name: string) => number | null): number | null | ExprProblem {
  const ev = (x: Expr): bigint | null => {
    switch (x.kind) {
      case 'num':
        return BigInt(x.value);
      case 'ref': {
        const v = lookup(x.name);
        return v === null ? null : BigInt(v);
      }
      case 'paren':
        return ev(x.arg);
      case 'unary': {
        const a = ev(x.arg);
        if (a === null) return null;
        return x.op === '-' ? -a : x.op === '~' ? ~a : a;
      }
      case 'binary':
        break;
    }
    const l = ev(x.left);
    const r = ev(x.right);
    if (l === null || r === null) return null;
    switch (x.op) {
      case '+':
        return l + r;
      case '-':
        return l - r;
      case '*':
        return l * r;
      case '/':
      case '%':
        if (r === 0n) throw new ExprProblem('division by zero');
        return x.op === '/' ? l / r : l % r;
      case '<<':
      case '>>':
        if (r < 0n || r > 63n) throw new ExprProblem(`shift count ${r} out of range`);
        return x.op === '<<' ? l << r : l >> r;
      case '&':
        return l & r;
      case '|':
        return l | r;
      default:
        return l ^ r;
    }
  };
  try {
    const v = ev(e);
    if (v === null) return null;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return new ExprProblem('value too large');
    return Number(v);
  } catch (p) {
    if (p instanceof ExprProblem) return p;
    throw p;
  }
}
