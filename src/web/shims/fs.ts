/**
 * node:fs in the browser build, as far as the layers below use it: `readFileSync` of the package's
 * own files (the example enclaves, the architectural enclaves, EDL files), fetched synchronously
 * from the server that serves the build (a synchronous XMLHttpRequest, which a Web Worker may
 * make). A missing file throws a WebError whose code is ENOENT, as node:fs's error has that code.
 * The served build maps `node:fs` here (src/cli/webserver.ts); nothing under Node imports it.
 */
import { WebError } from '../errors.js';

/** The part of XMLHttpRequest a synchronous read uses (the Node build has no DOM types). */
interface SyncRequest {
  open(method: 'GET', url: string, async: false): void;
  responseType: string;
  send(): void;
  readonly status: number;
  readonly response: unknown;
}

function get(path: string | URL): ArrayBuffer {
  const Request = (globalThis as { XMLHttpRequest?: new () => SyncRequest }).XMLHttpRequest;
  if (Request === undefined) throw new WebError('NO_FILES', 'this runtime has neither node:fs nor XMLHttpRequest to read the package files with');
  const url = String(path);
  const r = new Request();
  r.open('GET', url, false);
  r.responseType = 'arraybuffer';
  r.send();
  if (r.status === 404) throw new WebError('ENOENT', `no such file: ${url}`, { path: url });
  if (r.status !== 200 || !(r.response instanceof ArrayBuffer)) throw new WebError('EIO', `reading ${url} failed (HTTP ${r.status})`, { path: url, status: r.status });
  return r.response;
}

/** A file's bytes, or its text when `encoding` is 'utf8' (the only encoding the layers ask for). */
export function readFileSync(path: string | URL): Uint8Array;
export function readFileSync(path: string | URL, encoding: 'utf8'): string;
export function readFileSync(path: string | URL, encoding?: 'utf8'): Uint8Array | string {
  const bytes = new Uint8Array(get(path));
  return encoding === 'utf8' ? new TextDecoder().decode(bytes) : bytes;
}
