/*
 * The C support library linked into every Witness enclave module:
 *  - sbrk over the enclave heap: the module's linear memory is the enclave's heap pages and never
 *    grows (SGX1: the heap is committed at build time), so the allocator takes memory between
 *    __heap_base and the end of the memory instead of growing it;
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
  uintptr_t end = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  if (increment == 0) return (void *)brk_now;
  if (increment < 0 || (uintptr_t)increment > end - brk_now) {
    errno = ENOMEM;
    return (void *)-1;
  }
  uintptr_t old = brk_now;
  brk_now += (uintptr_t)increment;
  return (void *)old;
}

/* Weak: an enclave may bring its own (e.g. an allocator that tracks or limits what it hands out). */
__attribute__((weak, export_name("witness_alloc"))) void *witness_alloc(size_t n) { return malloc(n); }
__attribute__((weak, export_name("witness_free"))) void witness_free(void *p) { free(p); }
