// The hello enclave in AssemblyScript (compiled with asc; see ../build.sh).
//
// Memory: the module imports its memory (env.memory), which the trusted runtime backs with the
// enclave's heap pages; it never grows (SGX1 commits the heap when the enclave is built). Static
// data (string literals, memory.data buffers) sits at the bottom; the runtime's TLSF allocator
// (asc --runtime minimal) manages the rest from __heap_base to the end of the memory. The code
// below allocates nothing itself: the only heap blocks are the trusted runtime's copies of [in] and
// [out] buffers, placed with witness_alloc and released with witness_free.
import { ocall_print } from "./hello_t"; // generated from hello.edl by build.sh (witness edl --as)
import { putText, putCString, putUint } from "./text";
import "./abort"; // the abort handler (asc --use abort=assembly/abort/enclaveAbort)

// @ts-ignore: decorator
@external("witness", "sha256")
declare function witness_sha256(data: usize, length: usize, digest32: usize): i32;

const SGX_SUCCESS: i32 = 0;

const MESSAGE_SIZE: usize = 128;
const message = memory.data(<i32>MESSAGE_SIZE);
// Mutable state lives in the enclave's memory too (a module-level `let` would be a Wasm global,
// held by the engine rather than in the enclave's pages).
const greetings = memory.data(4);

export function ecall_hello(name: usize, greeting: usize, len: usize): i32 {
  if (len == 0) return -1;
  let at = putText(greeting, len, 0, "Hello, ");
  at = putCString(greeting, len, at, name);
  at = putText(greeting, len, at, ", from inside an AssemblyScript enclave!");
  store<u8>(greeting + at, 0);
  const n = load<u32>(greetings) + 1;
  store<u32>(greetings, n);
  let m = putText(message, MESSAGE_SIZE, 0, "greeting #");
  m = putUint(message, MESSAGE_SIZE, m, n);
  m = putText(message, MESSAGE_SIZE, m, " written by the AssemblyScript enclave");
  store<u8>(message + m, 0);
  const st = ocall_print(message);
  if (st != SGX_SUCCESS) return -st;
  return <i32>at;
}

export function ecall_digest(data: usize, len: usize, digest: usize): i32 {
  return -witness_sha256(data, len, digest);
}

// ---- the allocator the trusted runtime uses for marshalled buffers ----------------------------

/**
 * Memory for the runtime's copy of an [in]/[out] buffer: a TLSF block (16-byte aligned, at least
 * `size` bytes) inside the enclave's memory, or 0, which the runtime reports as
 * SGX_ERROR_OUT_OF_MEMORY. TLSF would try memory.grow for a request it cannot place, which fails
 * here and traps, so a request larger than the whole heap is refused up front.
 */
export function witness_alloc(size: usize): usize {
  if (size == 0) size = 1;
  const end = <usize>memory.size() << 16;
  if (size > end - __heap_base) return 0;
  return heap.alloc(size);
}

/**
 * Release a block from witness_alloc. The runtime puts an ECALL's buffers in one block, or, when
 * the heap has no hole that large, in one block each, freed in reverse order; TLSF handles both
 * (the stub runtime's heap.free only releases the most recent block, which would leak whenever
 * blocks are not freed last-in first-out).
 */
export function witness_free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}
