// Byte-string helpers over raw enclave memory: no managed allocation (nothing here calls `new`),
// so every byte the enclave handles is in its imported memory at an address it chose.

/** Append the ASCII of `s` (other characters become '?') at dst[at..cap-1); returns the new position. */
export function putText(dst: usize, cap: usize, at: usize, s: string): usize {
  for (let i = 0; i < s.length && at + 1 < cap; i++) {
    const c = s.charCodeAt(i);
    store<u8>(dst + at++, c < 0x80 ? <u8>c : 0x3f);
  }
  return at;
}

/** Append the NUL-terminated bytes at `src` (copied as they are: UTF-8 passes through). */
export function putCString(dst: usize, cap: usize, at: usize, src: usize): usize {
  for (let c = load<u8>(src); c != 0 && at + 1 < cap; c = load<u8>(++src)) store<u8>(dst + at++, c);
  return at;
}

/** Append `n` in decimal. */
export function putUint(dst: usize, cap: usize, at: usize, n: u32): usize {
  const digits = memory.data(10);
  let k = 0;
  do {
    store<u8>(digits + k++, <u8>(0x30 + n % 10));
    n /= 10;
  } while (n != 0);
  while (k > 0 && at + 1 < cap) store<u8>(dst + at++, load<u8>(digits + --k));
  return at;
}
