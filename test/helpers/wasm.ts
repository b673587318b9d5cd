/**
 * A few lines of WebAssembly binary encoding (Core spec §5) for modules assembled byte by byte in
 * tests: what clang and wasi-libc cannot produce (exception handling) or what a test must place at
 * a known byte. Every module made here is checked with WebAssembly.validate by the tests using it.
 */

/** Unsigned LEB128 (§5.2.2). */
export function leb(n: number): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (§5.2.2). */
export function sleb(n: bigint | number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

export function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...leb(b.length), ...b];
}

export function vec(items: readonly number[][]): number[] {
  return [...leb(items.length), ...items.flat()];
}

export function section(id: number, body: readonly number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

/** A function body: local declarations ([count, valtype]) and instructions (without the final `end`). */
export function body(locals: readonly (readonly [number, number])[], code: readonly number[]): number[] {
  const b = [...vec(locals.map(([n, t]) => [...leb(n), t])), ...code, 0x0b];
  return [...leb(b.length), ...b];
}

export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b, FUNCREF = 0x70, EXTERNREF = 0x6f;

export function functype(params: readonly number[], results: readonly number[]): number[] {
  return [0x60, ...leb(params.length), ...params, ...leb(results.length), ...results];
}

export function wasmModule(sections: readonly number[][]): Uint8Array {
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);
}

/**
 * The module of test/fixtures/eh/eh.edl: ecall_catch() calls ocall_ping inside try/catch_all
 * (legacy exception-handling encoding, which V8 in Node ≥ 20 accepts by default) and returns 1
 * when the OCALL returned, 2 when the catch_all caught an exception thrown through it.
 */
export function catchAllModule(): Uint8Array {
  return wasmModule([
    section(1, vec([functype([], [I32])])), // OCALL imports return their sgx_status_t
    section(2, vec([[...name('ocall'), ...name('ocall_ping'), 0x00, 0x00], [...name('env'), ...name('memory'), 0x02, 0x00, ...leb(1)]])),
    section(3, vec([[0]])),
    section(7, vec([[...name('ecall_catch'), 0x00, 1]])),
    // try (result i32) call 0; drop; i32.const 1 catch_all i32.const 2 end
    section(10, vec([body([], [0x06, I32, 0x10, 0x00, 0x1a, 0x41, 0x01, 0x19, 0x41, 0x02, 0x0b])])),
  ]);
}
