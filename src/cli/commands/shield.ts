import { costReport, costLines, COST_SOURCE, type CostReport } from '../stats.js';
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createPlatform, createLinuxPlatform } from '../../platform/index.js';
import { WINDOWS_PROFILES, type WindowsProfileId } from '../../os/windows/index.js';
import { LINUX_PROFILES, isLinuxProfile } from '../../os/linux/index.js';
import { signSigstruct, sigstructFieldsFor, generateSigningKey, withSigstruct, encodeImage } from '../../sdk/index.js';
import { buildShieldImage, runShielded, resolveManifest, type ShieldManifest, type ShieldMount, type HostFileSystem } from '../../shield/index.js';
import { NodeFileSystem } from '../../shield/nodefs.js';
import { defaultCrypto, toHex, concatBytes } from '../../lib/index.js';
import { createProvisioningCertificationService, createPckCertificateService, createQuotingService, collateralToJson } from '../../attest/index.js';
import { CliError, toJson, type Io } from '../io.js';
import { readInput, readText, writeOutput, writeOutputs, ensureDirectory, checkOutputs } from '../files.js';
import { parseSeed } from '../values.js';
import type { Command } from '../main.js';

const KINDS = ['encrypted', 'host', 'host-ro', 'trusted'] as const;

/** SHA-256 of every regular file under `dir`, by its path relative to it. */
function hashTree(dir: string, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  const crypto = defaultCrypto();
  for (const d of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? d.name : `${prefix}/${d.name}`;
    if (d.isDirectory()) hashTree(dir, rel, out);
    else if (d.isFile()) out[rel] = toHex(crypto.sha256(readFileSync(join(dir, rel))));
  }
  return out;
}

export const command: Command = {
  name: 'shield',
  usage: 'witness shield PROGRAM.wasm [ARGS...] [--manifest M.json] [--mount PATH=DIR[:KIND]]... [--env NAME=VALUE]...\n' +
    '                      [--stdin] [--key KEY.pem] [--profile P] [--seed HEX] [--heap BYTES]\n' +
    '                      [--heap-max BYTES] [--image-out FILE] [--attest DIR] [--stats] [--json]\n\n' +
    '  Runs an unmodified WASI command (wasm32-wasi) inside an enclave, behind the shield: its argv and\n' +
    '  environment come from the manifest (measured into MRENCLAVE), never from the host. ARGS become\n' +
    '  argv[1..] of the manifest (argv[0] is the program\'s file name).\n' +
    `  KIND: ${KINDS.join(', ')} (default host). A trusted mount lists the SHA-256 of every file under DIR\n` +
    '  now (the manifest measures them); encrypted files are sealed to the enclave (--seed keeps the\n' +
    '  platform, and so its keys, from one run to the next; --key keeps MRSIGNER).\n' +
    '  --attest DIR: the program gets /dev/attestation (report data in, a REPORT and a DCAP quote out); the\n' +
    '  platform is enrolled with a simulated PCS (its keys from the platform seed), whose root.pem and\n' +
    '  collateral.json are written to DIR for `witness verify-quote` (files there are not replaced).\n' +
    '  --heap: the enclave heap at load (16 MiB); --heap-max: what it may grow to with SGX2 (the program\'s\n' +
    '  malloc grows its memory: the OS adds pages, the enclave accepts them), default --heap.\n' +
    '  --stats: the SGX leaves and AEXs of the run (load, program, removal) and what a cost model of SGX\n' +
    '  hardware prices them at, on stderr after the program\'s output (in the JSON with --json).\n' +
    '  --stdin: the program reads this process\'s standard input. The command exits with the program\'s\n' +
    '  exit status, with --json too (an enclave that crashes: 1); refused host answers are printed on stderr.\n' +
    `  P: ${[...WINDOWS_PROFILES, ...LINUX_PROFILES].join(', ')}.`,
  example: 'witness shield hello.wasm --mount /data=./data:encrypted --seed 000102030405060708090a0b0c0d0e0f',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        manifest: { type: 'string' }, mount: { type: 'string', multiple: true }, env: { type: 'string', multiple: true }, stdin: { type: 'boolean' },
        key: { type: 'string' }, profile: { type: 'string' }, seed: { type: 'string' }, heap: { type: 'string' }, 'heap-max': { type: 'string' }, 'image-out': { type: 'string' }, attest: { type: 'string' }, stats: { type: 'boolean' }, json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length < 1) throw new CliError('CLI_USAGE', 'expected PROGRAM.wasm (see --help)');
    const [programPath, ...rest] = positionals as [string, ...string[]];
    const program = readInput(programPath);
    const profile = values.profile;
    if (profile !== undefined && !WINDOWS_PROFILES.includes(profile as WindowsProfileId) && !isLinuxProfile(profile)) throw new CliError('CLI_PROFILE', `unknown profile ${profile} (one of ${[...WINDOWS_PROFILES, ...LINUX_PROFILES].join(', ')})`);
    const seed = values.seed !== undefined ? parseSeed(values.seed) : undefined;
    const bytesOption = (name: 'heap' | 'heap-max'): number | undefined => {
      const v = values[name];
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(n)) throw new CliError('CLI_USAGE', `--${name} takes a number of bytes, got ${v}`);
      return n;
    };
    const heapSize = bytesOption('heap'), heapMaxSize = bytesOption('heap-max');

    let manifest: ShieldManifest = {};
    if (values.manifest !== undefined) {
      try {
        manifest = JSON.parse(readText(values.manifest)) as ShieldManifest;
      } catch (e) {
        if (e instanceof SyntaxError) throw new CliError('CLI_MANIFEST', `${values.manifest}: not JSON (${e.message})`);
        throw e;
      }
      resolveManifest(manifest); // its shape checked before anything is read from it (MANIFEST_INVALID)
    }
    if (rest.length > 0) {
      if (manifest.args !== undefined) throw new CliError('CLI_ARGS', 'the manifest gives args: give ARGS there or on the command line, not both');
      manifest = { ...manifest, args: [basename(programPath), ...rest] };
    } else if (manifest.args === undefined) manifest = { ...manifest, args: [basename(programPath)] };
    const env: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, manifest.env ?? {}); // __proto__ is a name too
    for (const e of values.env ?? []) {
      const eq = e.indexOf('=');
      if (eq <= 0) throw new CliError('CLI_ENV', `--env takes NAME=VALUE, got ${e}`);
      if (Object.hasOwn(env, e.slice(0, eq))) throw new CliError('CLI_ENV', `${e.slice(0, eq)} is set twice`);
      env[e.slice(0, eq)] = e.slice(eq + 1);
    }
    if (values.env !== undefined) manifest = { ...manifest, env };
    if (values.stdin) manifest = { ...manifest, stdin: 'host' };
    if (values.attest !== undefined) manifest = { ...manifest, attestation: true };

    const mounts: ShieldMount[] = [...(manifest.mounts ?? [])];
    const storage: Record<string, HostFileSystem> = {};
    for (const m of values.mount ?? []) {
      const match = /^(\/[^=]*)=(.+?)(?::(encrypted|host|host-ro|trusted))?$/.exec(m);
      if (!match) throw new CliError('CLI_MOUNT', `--mount takes PATH=DIR[:KIND] with KIND one of ${KINDS.join(', ')}, got ${m}`);
      const [, path, dir, kind] = match as unknown as [string, string, string, (typeof KINDS)[number] | undefined];
      if (Object.hasOwn(storage, path)) throw new CliError('CLI_MOUNT', `${path} is mounted twice`);
      try {
        if (!statSync(dir).isDirectory()) throw new CliError('CLI_MOUNT', `${dir} is not a directory`);
      } catch (e) {
        if (e instanceof CliError) throw e;
        const odd = /:([A-Za-z-]+)$/.exec(dir);
        throw new CliError('CLI_MOUNT', odd ? `--mount ${m}: ${odd[1]} is not a KIND (${KINDS.join(', ')}), and ${dir} is no directory` : `${dir}: no such directory`);
      }
      storage[path] = new NodeFileSystem(dir);
      const declared = mounts.find((x) => x.path === path);
      if (declared !== undefined) {
        const declaredKind = declared.kind === 'host' && declared.readOnly === true ? 'host-ro' : declared.kind;
        if (kind !== undefined && kind !== declaredKind) throw new CliError('CLI_MOUNT', `the manifest mounts ${path} as ${declaredKind}, not ${kind}`);
        continue;
      }
      const k = kind ?? 'host';
      mounts.push(k === 'trusted' ? { path, kind: 'trusted', files: hashTree(dir) } : k === 'host-ro' ? { path, kind: 'host', readOnly: true } : { path, kind: k });
    }
    if (mounts.length > 0) manifest = { ...manifest, mounts };
    // Every mount needs its host directory: an in-memory store would lose what the program writes.
    for (const m of mounts) if (!Object.hasOwn(storage, m.path)) throw new CliError('CLI_MOUNT', `the manifest mounts ${m.path}: give its directory with --mount ${m.path}=DIR`);
    // Every output checked before anything is built, written or started (an existing root.pem is refused, not replaced).
    const attestOutputs = values.attest === undefined ? [] : [{ path: join(values.attest, 'root.pem'), options: { exclusive: true } }, { path: join(values.attest, 'collateral.json'), options: { exclusive: true } }];
    checkOutputs([...(values['image-out'] !== undefined ? [{ path: values['image-out'] }] : []), ...attestOutputs]);

    const crypto = defaultCrypto();
    const built = buildShieldImage({ program, manifest, config: { ...(heapSize !== undefined ? { heapSize } : {}), ...(heapMaxSize !== undefined ? { heapMaxSize } : {}) } });
    let pem: string;
    if (values.key !== undefined) pem = readText(values.key);
    else {
      pem = generateSigningKey(crypto).privateKeyPem;
      if (!values.json) io.err('witness shield: signed with a throwaway key (its MRSIGNER is new every run; --key keeps it)');
    }
    if (seed === undefined && mounts.some((m) => m.kind === 'encrypted') && !values.json) io.err('witness shield: a new platform without --seed: files sealed in this run cannot be opened in another');
    const image = withSigstruct(built.image, signSigstruct(sigstructFieldsFor(built.config, built.mrenclave), pem, crypto));
    if (values['image-out'] !== undefined) writeOutput(values['image-out'], encodeImage(image));
    const platform = isLinuxProfile(profile)
      ? createLinuxPlatform({ profile, ...(seed !== undefined ? { seed } : {}) })
      : createPlatform({ ...(profile !== undefined ? { profile: profile as WindowsProfileId } : {}), ...(seed !== undefined ? { seed } : {}) });
    const stdin = values.stdin ? new Uint8Array(readFileSync(0)) : undefined;
    // --attest: a simulated PCS (keys from the platform seed, so one seed gives one root), the
    // manufacturer's enrolment of this platform, and its quoting service (the Witness PCE and QE).
    let quoting: ReturnType<typeof createQuotingService> | undefined;
    let r: ReturnType<typeof runShielded>;
    let stats: CostReport | null = null;
    try {
      if (values.attest !== undefined) {
        const pcsSeed = crypto.sha256(concatBytes(new TextEncoder().encode('witness shield PCS/'), seed ?? crypto.randomBytes(32)));
        const pcs = createProvisioningCertificationService({ seed: pcsSeed });
        const manufacturer = createPckCertificateService(pcs);
        manufacturer.enroll(platform);
        quoting = createQuotingService(platform, { pcs: manufacturer });
        ensureDirectory(values.attest);
        writeOutputs([{ ...attestOutputs[0]!, data: pcs.rootCertificate.pem }, { ...attestOutputs[1]!, data: collateralToJson(pcs.collateral()) }]);
      }
      const c0 = platform.processor.inspect.counters;
      r = runShielded(platform, image, { mounts: storage, ...(stdin !== undefined ? { stdin } : {}), ...(quoting !== undefined ? { quoting } : {}) });
      if (values.stats) stats = costReport(platform.processor.inspect.counters, c0);
    } finally {
      quoting?.close();
    }
    const dec = new TextDecoder();
    if (values.json) {
      io.out(toJson({ exitCode: r.exitCode, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr), violations: r.violations, mrenclave: r.mrenclave, hostOperations: r.counts, ...(stats !== null ? { stats: { ...stats, model: COST_SOURCE } } : {}) }));
      return r.exitCode;
    }
    // The program's bytes as they are (where the Io takes bytes; a capturing Io gets text).
    if (r.stdout.length > 0) (io.outBytes ? io.outBytes(r.stdout) : io.out(dec.decode(r.stdout).replace(/\n$/, '')));
    if (r.stderr.length > 0) (io.errBytes ? io.errBytes(r.stderr) : io.err(dec.decode(r.stderr).replace(/\n$/, '')));
    for (const v of r.violations) io.err(`witness shield: refused the host's answer (${v.op}): ${v.what}`);
    if (stats !== null) for (const line of [...costLines('witness shield: the run', stats), `  (prices: ${COST_SOURCE})`]) io.err(line);
    return r.exitCode;
  },
};
