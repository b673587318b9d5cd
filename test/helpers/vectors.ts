/**
 * The shared SGX known-answer vectors (<repo>/../shared/vectors/sgx, see its README.md). They are
 * read at run time and never copied into the repository. Tests that need them pass `NO_VECTORS` as
 * their `skip` option: false when the directory exists, otherwise a visible reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('test helpers: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The directory that holds package.json. */
export const REPO_ROOT = findRepoRoot();
/** <repo>/../shared/vectors/sgx */
export const VECTORS_DIR = resolve(REPO_ROOT, '..', 'shared', 'vectors', 'sgx');
export const HAVE_VECTORS = existsSync(join(VECTORS_DIR, 'README.md'));
/** `skip` option for tests that need the vectors: false, or the reason they are skipped. */
export const NO_VECTORS: string | false = HAVE_VECTORS ? false : `SGX known-answer vectors not found at ${VECTORS_DIR}`;

/** The bytes of a vector file (only call from tests guarded by NO_VECTORS). */
export function vector(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(VECTORS_DIR, name)));
}
export function vectorText(name: string): string {
  return readFileSync(join(VECTORS_DIR, name), 'utf8');
}

/** Values stated in the vectors README. */
export const VEC = {
  testEnclaveMrenclave: '784acfd7d5096a8f0fbd3265760bff21b120f62407a9a9e5ba31aa3c8ed198fc',
  testEnclaveMrsigner: 'fb4bab3d6036ac1d730fa83d7366df1dd2dfeac194ef335d6854d8a6c6475542',
  sig1Mrsigner: '83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e',
  sig1EnclaveHash: 'c50673624a6cb17c1c6c2a4e6906f47a170c4629b8723781d1017ef376f1a75d',
} as const;
