/*
 * The C support library linked into every Witness enclave module:
 *  - sbrk over the enclave heap: the module's linear memory is the enclave's heap pages; the
 *    allocator takes memory between __heap_base and the end of the memory, and grows the memory
 *    when that is used up. The memory grows only where the enclave's heapMaxSize is above its
 *    heapSize and the platform has SGX2: the trusted runtime commits the pages (EAUG by the OS,
 *    EACCEPT by the runtime). Elsewhere memory.grow fails and so does sbrk (ENOMEM);
 *  - witness_alloc / witness_free, which the trusted runtime calls to place copies of [in]/[out]
 *    buffers inside the enclave, as edger8r's bridges call malloc.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

extern unsigned char __heap_base;
static uintptr_t brk_now;

void *sbrk(intptr_t increment) {
  if (brk_now == 0) brk_now = (uintptr_t)&__heap_base;
  if (increment == 0) return (void *)brk_now;
  uintptr_t end = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  if (increment < 0) {
    errno = ENOMEM;
    return (void *)-1;
  }
  if ((uintptr_t)increment > end - brk_now) {
    uintptr_t short_by = (uintptr_t)increment - (end - brk_now);
    uintptr_t pages = short_by / 65536u + (short_by % 65536u != 0);
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) {
      errno = ENOMEM;
      return (void *)-1;
    }
  }
  uintptr_t old = brk_now;
  brk_now += (uintptr_t)increment;
  return (void *)old;
}

/* Weak: an enclave may bring its own (e.g. an allocator that tracks or limits what it hands out). */
__attribute__((weak, export_name("witness_alloc"))) void *witness_alloc(size_t n) { return malloc(n); }
__attribute__((weak, export_name("witness_free"))) void witness_free(void *p) { free(p); }
