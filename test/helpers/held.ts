/**
 * What a function's closure holds, read through node:inspector (test-only): every byte array
 * reachable from `fn`'s scopes through own and private properties, as hex, so that a test can
 * assert that a secret (a derived key, random bytes handed out) is not kept where ordinary code
 * cannot look.
 */
import { Session } from 'node:inspector/promises';

interface RemoteObject {
  readonly type: string;
  readonly subtype?: string;
  readonly objectId?: string;
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

/** Hex of every byte array (typed array of bytes) reachable from `fn`'s closure, up to `depth` steps. */
export async function heldBytes(fn: (...a: never[]) => unknown, depth = 6): Promise<string[]> {
  const g = globalThis as Record<string, unknown>;
  const name = `__held_${process.pid}_${Date.now()}`;
  g[name] = fn;
  const s = new Session();
  s.connect();
  try {
    const { result } = (await s.post('Runtime.evaluate', { expression: name })) as { result: RemoteObject };
    const props = (id: string): Promise<Properties> => s.post('Runtime.getProperties', { objectId: id, ownProperties: true }) as Promise<Properties>;
    const out: string[] = [];
    let budget = 20_000;
    const visit = async (o: RemoteObject | undefined, d: number): Promise<void> => {
      if (o?.objectId === undefined || d < 0 || --budget < 0) return;
      if (o.subtype === 'typedarray') {
        const r = (await s.post('Runtime.callFunctionOn', {
          objectId: o.objectId, returnByValue: true,
          functionDeclaration: 'function () { return this.BYTES_PER_ELEMENT === 1 ? Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString("hex") : null; }',
        })) as { result: { value: string | null } };
        if (r.result.value !== null) out.push(r.result.value);
        return;
      }
      if (o.type !== 'object' && o.type !== 'function') return;
      const p = await props(o.objectId);
      const scopes = o.type === 'function' ? (p.internalProperties ?? []).find((x) => x.name === '[[Scopes]]') : undefined;
      if (scopes !== undefined) {
        for (const sc of (await props(scopes.value!.objectId!)).result) {
          // Each scope object: its variables (not the global scope's).
          const vars = sc.value?.objectId ? (await props(sc.value.objectId)).result : [];
          if (vars.length > 200) continue;
          for (const v of vars) await visit(v.value, d - 1);
        }
        return;
      }
      for (const x of [...p.result, ...(p.privateProperties ?? [])]) {
        if (x.name === '__proto__' || x.name === 'constructor') continue;
        await visit(x.value, d - 1);
      }
    };
    await visit(result, depth);
    return out;
  } finally {
    s.disconnect();
    delete g[name];
  }
}
