/**
 * What a function keeps, read through node:inspector (test-only): the bytes of every ArrayBuffer
 * (whole, also behind a view or a typed array of any element type), plain array of byte values,
 * string (as it is, and its bytes when it is binary) and BigInt reachable from `fn` through
 * its closure scopes (not the global scope), own and private properties, Map and Set entries and
 * bound functions' targets and arguments, as hex, so that a test can assert that a secret (a
 * derived key, a message, random bytes handed out) is not kept where ordinary code cannot look.
 * Closures are followed within the script `fn` comes from (its module's state, its classes'
 * instances); imported modules' namespaces and functions are not walked into. Each object is
 * visited once; a walk that exceeds its budget throws rather than answer short.
 */
import { Session } from 'node:inspector/promises';

interface RemoteObject {
  readonly type: string;
  readonly subtype?: string;
  readonly objectId?: string;
  readonly description?: string;
  readonly value?: unknown;
  readonly unserializableValue?: string;
}
interface PropertyDescriptor {
  readonly name: string;
  readonly value?: RemoteObject;
}
interface Properties {
  readonly result: readonly PropertyDescriptor[];
  readonly privateProperties?: readonly PropertyDescriptor[];
  readonly internalProperties?: readonly PropertyDescriptor[];
}

let calls = 0;

/** Marks `this` seen (in a WeakSet on the inspected side) and answers what it is: seen before, bytes (hex of the whole buffer), or an object to walk. */
const CLASSIFY = `function (seenName) {
  const seen = globalThis[seenName];
  if (seen.has(this)) return { seen: true };
  seen.add(this);
  const hex = (b) => Buffer.from(b).toString('hex');
  if (Object.prototype.toString.call(this) === '[object Module]') return { seen: true }; // an imported module's namespace
  if (this instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && this instanceof SharedArrayBuffer)) return { bytes: hex(new Uint8Array(this)) };
  if (ArrayBuffer.isView(this)) return { bytes: hex(new Uint8Array(this.buffer)) };
  if (Array.isArray(this) && this.length >= 8 && this.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) return { bytes: hex(this) }; // bytes as a plain array
  if (typeof this === 'function' && /\\{\\s*\\[native code\\]\\s*\\}\\s*$/.test(Function.prototype.toString.call(this))) return { seen: true };
  return {};
}`;

export async function heldBytes(fn: (...a: never[]) => unknown, budget = 50_000): Promise<string[]> {
  const g = globalThis as Record<string, unknown>;
  const n = ++calls;
  const fnName = `__heldFn_${n}`, seenName = `__heldSeen_${n}`;
  g[fnName] = fn;
  g[seenName] = new WeakSet();
  const s = new Session();
  s.connect();
  try {
    const ev = (await s.post('Runtime.evaluate', { expression: fnName })) as { result: RemoteObject; exceptionDetails?: unknown };
    if (ev.exceptionDetails !== undefined) throw new Error(`heldBytes: cannot reach the function (${JSON.stringify(ev.exceptionDetails)})`);
    const props = (id: string): Promise<Properties> => s.post('Runtime.getProperties', { objectId: id, ownProperties: true }) as Promise<Properties>;
    const out: string[] = [];
    let left = budget;
    let rootScript: string | undefined;
    const visit = async (o: RemoteObject | undefined): Promise<void> => {
      // Bytes kept as a string (hex or binary) or a BigInt count too.
      if (o?.type === 'string' && typeof o.value === 'string') {
        out.push(o.value.toLowerCase());
        if (/^[\x00-\xff]*$/.test(o.value)) out.push(Buffer.from(o.value, 'latin1').toString('hex'));
        return;
      }
      if (o?.type === 'bigint' && typeof o.unserializableValue === 'string') {
        const h = BigInt(o.unserializableValue.slice(0, -1)).toString(16);
        out.push(h.length % 2 === 0 ? h : `0${h}`);
        return;
      }
      if (o?.objectId === undefined || (o.type !== 'object' && o.type !== 'function')) return;
      if (--left < 0) throw new Error(`heldBytes: the walk exceeded its budget of ${budget} objects`);
      const c = (await s.post('Runtime.callFunctionOn', { objectId: o.objectId, functionDeclaration: CLASSIFY, arguments: [{ value: seenName }], returnByValue: true })) as { result: { value?: { seen?: boolean; bytes?: string } }; exceptionDetails?: unknown };
      if (c.exceptionDetails !== undefined) throw new Error(`heldBytes: cannot classify an object (${JSON.stringify(c.exceptionDetails)})`);
      const v = c.result.value ?? {};
      if (v.seen) return;
      if (v.bytes !== undefined) {
        out.push(v.bytes);
        return;
      }
      const p = await props(o.objectId);
      const internal = p.internalProperties ?? [];
      // A function's scopes are walked when it comes from the script `fn` comes from (imported
      // functions and classes are another module's: their closures are not the code under test's).
      const location = internal.find((x) => x.name === '[[FunctionLocation]]')?.value as { value?: { scriptId?: string } } | undefined;
      const script = location?.value?.scriptId;
      if (rootScript === undefined) rootScript = script;
      const ours = script !== undefined && script === rootScript;
      for (const x of internal) {
        if (x.name === '[[Scopes]]') {
          if (!ours) continue;
          for (const sc of (await props(x.value!.objectId!)).result) {
            if (sc.value?.objectId === undefined || sc.value.description === 'Global') continue;
            for (const variable of (await props(sc.value.objectId)).result) await visit(variable.value);
          }
        } else if (x.name === '[[Entries]]' || x.name === '[[TargetFunction]]' || x.name === '[[BoundThis]]' || x.name === '[[BoundArgs]]') {
          await visit(x.value);
        }
      }
      for (const x of [...p.result, ...(p.privateProperties ?? [])]) await visit(x.value);
    };
    await visit(ev.result);
    return out;
  } finally {
    s.disconnect();
    delete g[fnName];
    delete g[seenName];
  }
}

/** Whether any 8-byte window of `secret` (hex of bytes) appears in what is held. */
export function holdsAnyWindow(held: readonly string[], secret: Uint8Array): boolean {
  for (let i = 0; i + 8 <= secret.length; i++) {
    const w = Buffer.from(secret.buffer, secret.byteOffset + i, 8).toString('hex');
    // Byte-aligned matches only (a hex string matched at an odd offset would straddle two bytes).
    for (const h of held) {
      for (let at = h.indexOf(w); at >= 0; at = h.indexOf(w, at + 1)) if (at % 2 === 0) return true;
    }
  }
  return false;
}
