/**
 * The server of the web view (`witness web`): it serves the compiled layers to a browser as ES
 * modules, unbundled, with a handful of module specifiers rewritten so that the same compiled files
 * run there (a module worker has no import maps):
 *  - `node:fs`, `node:path`, `node:url` → the web layer's shims (src/web/shims);
 *  - `lib/crypto/default.js` → `lib/crypto/default.browser.js` (the portable crypto provider, so
 *    that node:crypto is never reached);
 *  - `@noble/*` → the installed packages' own files;
 * each as a path relative to the importing module, so that the files work under any path prefix
 * (`webViewFiles` gives them for a static site). Any other `node:` module left in a served file fails to load in the browser, which the tests
 * check cannot happen from the web view's entry points. Only the package's own folders that a
 * browser needs are served, read-only, never a path outside them.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { readFile, realpath, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, extname, join, posix, sep } from 'node:path';
import { CliError } from './io.js';

/** The package's root folder (dist/src/cli/ is three levels below it). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The packages the browser build imports by name; served from wherever Node resolves them. */
const BARE_PACKAGES = ['@noble/hashes', '@noble/ciphers', '@noble/curves'] as const;

/** The node: modules the web layer stands in for. */
const SHIMS: Readonly<Record<string, string>> = { 'node:fs': '/dist/src/web/shims/fs.js', 'node:path': '/dist/src/web/shims/path.js', 'node:url': '/dist/src/web/shims/url.js' };

/** Compiled modules served in another's place. */
const SUBSTITUTES: Readonly<Record<string, string>> = { '/dist/src/lib/crypto/default.js': '/dist/src/lib/crypto/default.browser.js' };

/** Where each served URL prefix comes from (package folders; the bare packages are added at start). */
const PACKAGE_FOLDERS = ['/web/', '/dist/src/', '/ae/', '/examples/'] as const;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm',
  '.edl': 'text/plain; charset=utf-8', '.pem': 'text/plain; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.c': 'text/plain; charset=utf-8', '.h': 'text/plain; charset=utf-8',
};

/** `to` (a URL path) relative to the module at `from`, so that the build runs under any path prefix. */
function relativeTo(from: string, to: string): string {
  const r = posix.relative(posix.dirname(from), to);
  return r.startsWith('../') ? r : `./${r}`;
}

/**
 * The specifier a browser should load for `specifier`, imported by the module served at `from` (a
 * URL path): always relative, so that the served or exported build works under any path prefix.
 * Relative specifiers stay as they are unless they name a substituted module.
 */
export function browserSpecifier(specifier: string, from: string): string {
  const shim = SHIMS[specifier];
  if (shim !== undefined) return relativeTo(from, shim);
  for (const p of BARE_PACKAGES) if (specifier.startsWith(p + '/')) return relativeTo(from, `/node_modules/${specifier}`);
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    const target = SUBSTITUTES[posix.join(posix.dirname(from), specifier)];
    return target === undefined ? specifier : relativeTo(from, target);
  }
  return specifier;
}

/** The static imports, re-exports and dynamic imports of a compiled module (tsc's output). */
const IMPORT = /(\b(?:import|export)\s(?:[^'"`;]*?\sfrom\s)?|\bimport\(\s*)(['"])([^'"\n]+)\2/g;

/** A compiled module's source with its specifiers rewritten for the browser. */
export function rewriteModule(source: string, from: string): string {
  return source.replace(IMPORT, (_m, head: string, quote: string, spec: string) => `${head}${quote}${browserSpecifier(spec, from)}${quote}`);
}

/** Every module specifier `source` imports (for the tests' walk of the browser's module graph). */
export function moduleSpecifiers(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[3]!);
}

/** The URL prefixes served and the folders behind them. */
export function servedFolders(): Map<string, string> {
  const folders = new Map<string, string>();
  for (const p of PACKAGE_FOLDERS) folders.set(p, join(PACKAGE_ROOT, ...p.split('/').filter(Boolean)) + sep);
  // require.resolve, not import.meta.resolve (unflagged only from Node 20.6; the package says >= 20).
  const require = createRequire(import.meta.url);
  for (const name of BARE_PACKAGES) {
    // The package's own folder, wherever it was installed (hoisted or not): its utils.js's.
    const entry = require.resolve(`${name}/utils.js`);
    folders.set(`/node_modules/${name}/`, dirname(entry) + sep);
  }
  return folders;
}

/**
 * The file behind a URL path, or null when none is served there: a path outside the served
 * folders, a dot segment, a backslash or a NUL is never resolved, and a link leading outside its
 * folder is not followed.
 */
export async function resolveServed(urlPath: string, folders: ReadonlyMap<string, string>): Promise<string | null> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (path === '/web/') path = '/web/index.html';
  if (path.includes('\\') || path.includes('\0') || path.split('/').some((s) => s === '..' || s === '.')) return null;
  for (const [prefix, folder] of folders) {
    if (!path.startsWith(prefix)) continue;
    const file = join(folder, ...path.slice(prefix.length).split('/').filter(Boolean));
    try {
      const real = await realpath(file);
      const realFolder = await realpath(folder);
      if (!real.startsWith(realFolder + sep)) return null;
      if (!(await stat(real)).isFile()) return null;
      if (TYPES[extname(real)] === undefined) return null;
      return real;
    } catch {
      return null;
    }
  }
  return null;
}

export interface WebServer {
  /** http://host:port/ */
  readonly url: string;
  close(): Promise<void>;
}

/** The bytes served for `file` at `urlPath`: a module with its specifiers rewritten, any other file as it is. */
async function servedBytes(urlPath: string, file: string): Promise<Uint8Array> {
  const body = await readFile(file);
  return extname(file) === '.js' ? Buffer.from(rewriteModule(body.toString('utf8'), urlPath)) : body;
}

/** The names a loopback server answers to (any port): a page on another name is DNS rebinding. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A request's Host header names this machine's loopback (or is absent, as in HTTP/1.0). */
function loopbackHost(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (host === undefined) return true;
  const name = host.toLowerCase().replace(/:\d*$/, '');
  return LOOPBACK_NAMES.has(name);
}

async function answer(req: IncomingMessage, res: ServerResponse, folders: ReadonlyMap<string, string>, loopbackOnly: boolean): Promise<void> {
  const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  if (loopbackOnly && !loopbackHost(req)) {
    res.writeHead(403, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end('this server answers only to localhost\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
    return;
  }
  const urlPath = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (urlPath === '/') {
    res.writeHead(302, { ...headers, location: 'web/' }).end();
    return;
  }
  const file = await resolveServed(urlPath, folders);
  if (file === null) {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : 'not found\n');
    return;
  }
  const body = await servedBytes(urlPath, file);
  res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)]!, 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The files the machine reads while it runs (through the fs shim), which no import names. */
export const RUNTIME_FILES = [
  '/examples/hello/enclave.wasm', '/examples/hello/hello.edl', '/examples/shield/program.wasm',
  '/ae/signer.pem', '/ae/qe/qe.wasm', '/ae/qe/qe.edl', '/ae/pce/pce.wasm', '/ae/pce/pce.edl',
] as const;

/** A static host's landing page: the web view is one folder down. */
const LANDING = '<!doctype html>\n<meta charset="utf-8">\n<meta http-equiv="refresh" content="0; url=web/">\n<title>Witness</title>\n<a href="web/">Witness: the web view</a>\n';

/**
 * Every file of the web view as the server serves it (modules rewritten), by URL path: the page,
 * the modules the page and the worker import (walked from both), the files the machine reads, and
 * a landing page. Written to a folder, they are a static site that runs under any path prefix.
 * @throws {CliError} CLI_WEB_MISSING when a file is missing (an unbuilt package).
 */
export async function webViewFiles(): Promise<{ readonly path: string; readonly data: Uint8Array }[]> {
  const folders = servedFolders();
  const out = new Map<string, Uint8Array>([['/index.html', new TextEncoder().encode(LANDING)]]);
  const queue: string[] = ['/web/index.html', '/web/witness.css', '/dist/src/web/page.js', '/dist/src/web/worker.js', ...RUNTIME_FILES];
  while (queue.length) {
    const path = queue.shift()!;
    if (out.has(path)) continue;
    const file = await resolveServed(path, folders);
    if (file === null) throw new CliError('CLI_WEB_MISSING', `the web view needs ${path}, which the package does not have (is it built?)`, 1, { path });
    const data = await servedBytes(path, file);
    out.set(path, data);
    if (path.endsWith('.js')) {
      for (const spec of moduleSpecifiers(new TextDecoder().decode(data))) if (spec.startsWith('./') || spec.startsWith('../')) queue.push(posix.join(posix.dirname(path), spec));
    }
  }
  return [...out].map(([path, data]) => ({ path, data }));
}

/**
 * Serve the web view on `host`:`port` (port 0: any free one).
 * @throws {CliError} CLI_HOST for an empty host (which Node would take as every interface),
 *   CLI_WEB_LISTEN when the address cannot be listened on.
 */
export async function startWebServer(options: { readonly port?: number; readonly host?: string } = {}): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  // Listening on loopback only, it answers only to loopback names, so that a web page whose name
  // was rebound to 127.0.0.1 cannot read it from the browser (whatever is served is public anyway).
  const loopbackOnly = host === 'localhost' || host === '::1' || host.startsWith('127.');
  if (host === '') throw new CliError('CLI_HOST', '--host takes an address to listen on, got an empty one (0.0.0.0 or :: for every interface)');
  const folders = servedFolders();
  const server = createServer((req, res) => {
    answer(req, res, folders, loopbackOnly).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new CliError('CLI_WEB_LISTEN', `cannot listen on ${host}:${options.port ?? 0}: ${(e as Error).message}`, 1, {}, { cause: e })));
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port ?? 0;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
