/**
 * Helpers for the shield's tests: the WASI fixture programs (test/fixtures/wasi, ordinary
 * wasm32-wasi commands built by scripts/build-fixtures.sh), built into shielded images, signed
 * with a test key, and run on a platform.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildShieldImage, runShielded, type ShieldManifest, type ShieldRun, type ShieldRunOptions, type ShieldImage } from '../../src/shield/index.js';
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
