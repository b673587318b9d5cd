/**
 * The web view's server (`witness web`): what it serves, what it refuses, and the module graph a
 * browser loads from it — every import found, no node: module but the web layer's shims, and the
 * portable crypto provider in the default's place.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserSpecifier, rewriteModule, moduleSpecifiers, servedFolders, startWebServer, webViewFiles, RUNTIME_FILES, type WebServer } from '../../src/cli/webserver.js';
import * as nodeDefault from '../../src/lib/crypto/default.js';
import * as browserDefault from '../../src/lib/crypto/default.browser.js';
import { createNodeCrypto } from '../../src/lib/crypto/node.js';
import { CliError } from '../../src/cli/io.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
let server: WebServer;

before(async () => {
  server = await startWebServer({ port: 0 });
});
after(() => server.close());

const get = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init);

test('browserSpecifier: node:fs/path/url go to the shims, @noble to its files, the default crypto to the browser one, all relative; the rest unchanged', () => {
  const cases: [specifier: string, from: string, expected: string][] = [
    ['node:fs', '/dist/src/attest/ae.js', '../web/shims/fs.js'],
    ['node:path', '/dist/src/platform/victim.js', '../web/shims/path.js'],
    ['node:url', '/dist/src/sdk/edl/paths.js', '../../web/shims/url.js'],
    ['node:fs', '/dist/src/web/x.js', './shims/fs.js'],
    ['node:crypto', '/dist/src/lib/crypto/node.js', 'node:crypto'],
    ['@noble/hashes/sha2.js', '/dist/src/lib/crypto/portable.js', '../../../../node_modules/@noble/hashes/sha2.js'],
    ['@noble/hashes/utils.js', '/node_modules/@noble/curves/abstract/weierstrass.js', '../../hashes/utils.js'],
    ['@noble/curvesque/x.js', '/a.js', '@noble/curvesque/x.js'],
    ['../lib/crypto/default.js', '/dist/src/arch/processor.js', '../lib/crypto/default.browser.js'],
    ['../../lib/crypto/default.js', '/dist/src/sdk/image/build.js', '../../lib/crypto/default.browser.js'],
    ['./default.js', '/dist/src/lib/crypto/x.js', './default.browser.js'],
    ['../lib/bytes.js', '/dist/src/arch/processor.js', '../lib/bytes.js'],
    ['./utils.js', '/node_modules/@noble/hashes/sha2.js', './utils.js'],
    // tsc writes no absolute specifier; none is rewritten.
    ['/dist/src/lib/crypto/default.js', '/a.js', '/dist/src/lib/crypto/default.js'],
  ];
  for (const [specifier, from, expected] of cases) assert.equal(browserSpecifier(specifier, from), expected, `${specifier} from ${from}`);
});

test('rewriteModule: static imports, re-exports, side-effect imports and dynamic imports; nothing else', () => {
  const src = [
    "import { readFileSync } from 'node:fs';",
    "import * as p from \"node:path\";",
    "export { defaultCrypto } from '../lib/crypto/default.js';",
    "export * from './x.js';",
    "import './side.js';",
    "const m = await import('node:url');",
    "const s = 'import nothing from here';",
    "const t = `from '${'node:fs'}'`;",
  ].join('\n');
  const out = rewriteModule(src, '/dist/src/arch/a.js');
  assert.deepEqual(out.split('\n'), [
    "import { readFileSync } from '../web/shims/fs.js';",
    'import * as p from "../web/shims/path.js";',
    "export { defaultCrypto } from '../lib/crypto/default.browser.js';",
    "export * from './x.js';",
    "import './side.js';",
    "const m = await import('../web/shims/url.js');",
    "const s = 'import nothing from here';",
    "const t = `from '${'node:fs'}'`;",
  ]);
  assert.deepEqual(moduleSpecifiers(src), ['node:fs', 'node:path', '../lib/crypto/default.js', './x.js', './side.js', 'node:url']);
});

test('the browser default provider has the exports of the Node one, and gives the same answers', () => {
  assert.deepEqual(Object.keys(browserDefault).sort(), Object.keys(nodeDefault).sort());
  const data = new TextEncoder().encode('witness');
  assert.deepEqual(browserDefault.defaultCrypto().sha256(data), createNodeCrypto().sha256(data));
  assert.notEqual(browserDefault.defaultCrypto(), nodeDefault.defaultCrypto());
  assert.equal(browserDefault.defaultCrypto(), browserDefault.defaultCrypto());
});

/** Walk the module graph a browser loads from `entries`, as it would: through the server. */
async function walk(entries: string[]): Promise<{ modules: Set<string>; bare: Map<string, string> }> {
  const modules = new Set<string>();
  const bare = new Map<string, string>();
  const queue = [...entries];
  while (queue.length) {
    const path = queue.shift()!;
    if (modules.has(path)) continue;
    modules.add(path);
    const r = await get(path);
    assert.equal(r.status, 200, `${path} is not served`);
    assert.match(r.headers.get('content-type') ?? '', /^text\/javascript/, path);
    for (const spec of moduleSpecifiers(await r.text())) {
      if (spec.startsWith('./') || spec.startsWith('../')) queue.push(new URL(spec, `http://x${path}`).pathname);
      else bare.set(spec, path);
    }
  }
  return { modules, bare };
}

test('the page and the worker load: every import is served, no node: module is left, node:crypto is never reached', async () => {
  const { modules, bare } = await walk(['/dist/src/web/page.js', '/dist/src/web/worker.js']);
  // codegen.ts writes `from '${importFrom}'` into generated sources: a string, not an import of its own.
  bare.delete('${importFrom}');
  assert.deepEqual([...bare], [], 'bare specifiers a browser cannot resolve');
  for (const m of ['/dist/src/lib/crypto/default.js', '/dist/src/lib/crypto/node.js', '/dist/src/lib/crypto/pipeline.js']) assert.ok(!modules.has(m), `${m} is loaded`);
  for (const m of ['/dist/src/lib/crypto/default.browser.js', '/dist/src/lib/crypto/portable.js', '/dist/src/web/shims/fs.js', '/dist/src/platform/tour.js']) assert.ok(modules.has(m), `${m} is not loaded`);
  assert.ok([...modules].some((m) => m.startsWith('/node_modules/@noble/curves/')));
});

test('the page and the files the machine reads are served with their types', async () => {
  const landing = await get('/', { redirect: 'manual' });
  assert.equal(landing.status, 302);
  assert.equal(landing.headers.get('location'), 'web/');
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.equal(index.url, server.url + 'web/');
  assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await index.text(), /<script type="module" src="\.\.\/dist\/src\/web\/page\.js">/);
  assert.equal(index.headers.get('cache-control'), 'no-store');
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  const wasm = await get('/examples/hello/enclave.wasm');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.deepEqual([...new Uint8Array(await wasm.arrayBuffer()).subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
  for (const p of [...RUNTIME_FILES, '/web/witness.css', '/web/index.html']) assert.equal((await get(p)).status, 200, p);
  const head = await get('/dist/src/web/worker.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('nothing outside the served folders, no dot segment, no other method', async () => {
  const refused = [
    '/package.json', '/dist/test/web/serve.test.js', '/src/web/page.ts', '/node_modules/fast-check/package.json', '/node_modules/@noble/hashes/../../fast-check/lib/fast-check.js',
    '/dist/src/%2e%2e/%2e%2e/package.json', '/web/..%2f..%2fpackage.json', '/web/%5c..%5cpackage.json', '/web/index.html%00.css', '/dist/src/web/', '/dist/src', '/index.html', '/web', '/web/%E0%A4%A', '/examples/hello/Makefile',
  ];
  for (const p of refused) {
    const r = await fetch(server.url.replace(/\/$/, '') + p);
    assert.equal(r.status, 404, p);
    await r.arrayBuffer();
  }
  const post = await get('/', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

test('witness web: serves until interrupted, then exits 0; a bad port is one line, exit 2', async () => {
  const bin = join(root, 'bin/witness.js');
  const child = spawn(process.execPath, [bin, 'web', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving the web view at (http:\/\/\S+) /.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new assert.AssertionError({ message: `exited ${code} before serving: ${out}` })));
  });
  assert.equal((await fetch(url)).status, 200);
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.kill('SIGINT');
  });
  assert.equal(code, 0);
  for (const bad of ['65536', '-1', 'http', '8o']) {
    const r = spawn(process.execPath, [bin, 'web', `--port=${bad}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    r.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const c = await new Promise<number | null>((resolve) => r.once('exit', resolve));
    assert.equal(c, 2, bad);
    assert.match(err, /^witness web: --port takes a port number \(0 to 65535\)/m);
  }
});

test('webViewFiles: the served files a static site needs, modules rewritten, the machine\'s files, nothing from Node', async () => {
  const files = await webViewFiles();
  const paths = files.map((f) => f.path);
  assert.equal(new Set(paths).size, paths.length);
  for (const p of ['/index.html', '/web/index.html', '/web/witness.css', '/dist/src/web/page.js', '/dist/src/web/worker.js', '/dist/src/lib/crypto/default.browser.js', ...RUNTIME_FILES]) assert.ok(paths.includes(p), p);
  for (const p of ['/dist/src/lib/crypto/default.js', '/dist/src/lib/crypto/node.js', '/dist/src/cli/webserver.js']) assert.ok(!paths.includes(p), p);
  // The same bytes the server serves.
  for (const f of files.filter((x) => x.path !== '/index.html').slice(0, 40)) assert.deepEqual(new Uint8Array(await (await get(f.path)).arrayBuffer()), new Uint8Array(f.data), f.path);
  for (const f of files.filter((x) => x.path.endsWith('.js'))) {
    const specs = moduleSpecifiers(new TextDecoder().decode(f.data)).filter((s) => s !== '${importFrom}');
    for (const s of specs) assert.match(s, /^\.\.?\//, `${f.path} imports ${s}`);
    for (const s of specs) assert.ok(paths.includes(new URL(s, `http://x${f.path}`).pathname), `${f.path} imports ${s}, which is not written`);
  }
  assert.match(new TextDecoder().decode(files.find((f) => f.path === '/index.html')!.data), /url=web\//);
});

test('witness web --out DIR: writes the static site, refuses to replace it without --force, refuses --out with --port', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'witness-web-'));
  try {
    const out = join(dir, 'site');
    const first = spawnSync(process.execPath, [join(root, 'bin/witness.js'), 'web', '--out', out], { encoding: 'utf8' });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /wrote the web view \(\d+ files\) to /);
    assert.deepEqual(readFileSync(join(out, 'examples/hello/enclave.wasm')), readFileSync(join(root, 'examples/hello/enclave.wasm')));
    writeFileSync(join(out, 'web/witness.css'), 'changed');
    const again = spawnSync(process.execPath, [join(root, 'bin/witness.js'), 'web', '--out', out], { encoding: 'utf8' });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists; --force replaces it/);
    assert.equal(readFileSync(join(out, 'web/witness.css'), 'utf8'), 'changed', 'nothing written');
    const forced = spawnSync(process.execPath, [join(root, 'bin/witness.js'), 'web', '--out', out, '--force'], { encoding: 'utf8' });
    assert.equal(forced.status, 0, forced.stderr);
    assert.deepEqual(readFileSync(join(out, 'web/witness.css')), readFileSync(join(root, 'web/witness.css')));
    for (const args of [['--out', out, '--port', '1'], ['--force']]) {
      const r = spawnSync(process.execPath, [join(root, 'bin/witness.js'), 'web', ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /^witness web: /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty host is refused, not taken as every interface (Node listens on all of them for \'\')', async () => {
  const started = await startWebServer({ port: 0, host: '' }).catch((e: unknown) => e);
  if (!(started instanceof CliError)) {
    if (typeof started === 'object' && started !== null && 'close' in started) await (started as WebServer).close();
    assert.fail(`listened: ${String((started as { url?: string }).url)}`);
  }
  assert.equal(started.code, 'CLI_HOST');
  assert.equal(started.exitCode, 2);
  const r = spawn(process.execPath, [join(root, 'bin/witness.js'), 'web', '--port=0', '--host='], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  r.stdout.on('data', (d: Buffer) => (out += d.toString()));
  r.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => r.kill('SIGINT'), 5000);
  const code = await new Promise<number | null>((resolve) => r.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(out, '', 'it served');
  assert.equal(code, 2);
  assert.match(err, /^witness web: --host takes an address to listen on, got an empty one/m);
});

test('the server runs on every Node the package accepts (engines >= 20): no import.meta.resolve, which Node 20.0-20.5 lacks', async () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, '>=20');
  assert.doesNotMatch(readFileSync(join(root, 'src/cli/webserver.ts'), 'utf8').replace(/\/\/.*$/gm, ''), /import\.meta\.resolve\(/);
  // The folders are still where Node resolves the packages.
  const folders = servedFolders();
  for (const name of ['@noble/hashes', '@noble/ciphers', '@noble/curves']) assert.equal(folders.get(`/node_modules/${name}/`), dirname(fileURLToPath(import.meta.resolve(`${name}/utils.js`))) + sep);
});

test('on loopback the server answers only to loopback names (DNS rebinding); a request without Host (HTTP/1.0) is served', async () => {
  const { request } = await import('node:http');
  const port = Number(new URL(server.url).port);
  const status = (host: string | null) => new Promise<number>((resolve, reject) => {
    const headers: Record<string, string> = host === null ? {} : { host };
    const r = request({ host: '127.0.0.1', port, path: '/web/witness.css', headers, setHost: host !== null }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', reject);
    r.end();
  });
  for (const ok of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, 'localhost']) assert.equal(await status(ok), 200, ok);
  for (const bad of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost.evil:${port}`, '0.0.0.0']) assert.equal(await status(bad), 403, bad);
});
