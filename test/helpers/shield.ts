/**
 * Helpers for the shield's tests: the WASI fixture programs (test/fixtures/wasi, ordinary
 * wasm32-wasi commands built by scripts/build-fixtures.sh), built into shielded images, signed
 * with a test key, and run on a platform.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildShieldImage, runShielded, HostFsError, type MemoryFileSystem, type HostFileSystem, type ShieldManifest, type ShieldRun, type ShieldRunOptions, type ShieldImage } from '../../src/shield/index.js';
import { createPlatform } from '../../src/platform/index.js';
import type { EnclaveConfigJson, HostPlatform } from '../../src/sdk/index.js';
import { FIXTURES_DIR, signFixture } from './sdk.js';
import { testKey, type SigningKey } from './signing.js';

const programs = new Map<string, Uint8Array>();

/** The committed WASI program `name` (test/fixtures/wasi/<name>.wasm). */
export function wasiProgram(name = 'shieldtest'): Uint8Array {
  let p = programs.get(name);
  if (!p) {
    p = new Uint8Array(readFileSync(join(FIXTURES_DIR, 'wasi', `${name}.wasm`)));
    programs.set(name, p);
  }
  return p;
}

/** The heap the tests give a shielded program (the fixture needs little). */
export const TEST_HEAP = 4 << 20;

export interface ShieldedTest {
  readonly built: ShieldImage;
  readonly sigstruct: Uint8Array;
}

const builds = new Map<string, ShieldedTest>();
/** Build and sign the fixture with `manifest` (cached per manifest, configuration and key). */
export function shielded(manifest: ShieldManifest, config: EnclaveConfigJson = {}, key: SigningKey = testKey(0), program = 'shieldtest'): ShieldedTest {
  const id = JSON.stringify([manifest, config, key.pem.length, key.n.toString(36).slice(0, 16), program]);
  let t = builds.get(id);
  if (!t) {
    const built = buildShieldImage({ program: wasiProgram(program), manifest, config: { heapSize: TEST_HEAP, ...config } });
    t = { built, sigstruct: signFixture(built, key) };
    builds.set(id, t);
  }
  return t;
}

/** Run the fixture with `manifest` on `platform`. */
export function runFixture(platform: HostPlatform, manifest: ShieldManifest, options: ShieldRunOptions = {}, key?: SigningKey): ShieldRun {
  const t = shielded(manifest, {}, key);
  return runShielded(platform, t.built.image, { ...options, load: { ...(options.load ?? {}), sigstruct: t.sigstruct } });
}

const dec = new TextDecoder();
export const text = (b: Uint8Array): string => dec.decode(b);

/**
 * Run test/fixtures/wasi/review3.c (a script of raw WASI calls: `open DIRFD PATH OFLAGS RIGHTS
 * FDFLAGS`, `write FD TEXT`, `pread FD OFF N`, `close FD`, `rename`, `stat`, `fstat`, `ls FD`, …; fd
 * 3 is the first mount) on a platform made from `seed`.
 */
export function runScript(seed: Uint8Array, script: string[], manifest: Omit<ShieldManifest, 'args'>, options: ShieldRunOptions = {}): ShieldRun {
  const t = shielded({ ...manifest, args: ['review3', ...script] }, {}, undefined, 'review3');
  return runShielded(createPlatform({ seed }), t.built.image, { ...options, load: { sigstruct: t.sigstruct } });
}
/** A run's standard output, by line. */
export const outputLines = (r: ShieldRun): string[] => text(r.stdout).split('\n');
/** The `nth` line of a run's standard output that starts with `prefix`. */
export const outputLine = (r: ShieldRun, prefix: string, nth = 0): string | undefined => outputLines(r).filter((l) => l.startsWith(prefix))[nth];

/**
 * An honest host whose disk fills up: between a STAT of 'FULL' and one of 'FREE', every write
 * fails with NOSPC and writes nothing (a real disk does the same; ftruncate still works).
 */
export function diskThatFills(store: MemoryFileSystem): HostFileSystem {
  let full = false;
  return {
    stat: (r) => {
      if (r === 'FULL') full = true;
      if (r === 'FREE') full = false;
      return store.stat(r);
    },
    read: (r, o, l) => store.read(r, o, l),
    write: (r, o, d) => {
      if (full) throw new HostFsError('NOSPC', 'no space left on device');
      return store.write(r, o, d);
    },
    truncate: (r, s) => store.truncate(r, s), create: (r, x) => store.create(r, x), list: (r) => store.list(r),
    unlink: (r) => store.unlink(r), mkdir: (r) => store.mkdir(r), rmdir: (r) => store.rmdir(r), rename: (a, b) => store.rename(a, b),
  };
}
