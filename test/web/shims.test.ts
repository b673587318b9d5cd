/** The web layer's stand-ins for node:path and node:url, against Node's own on the package's kind of paths. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { fileURLToPath as nodeFileURLToPath } from 'node:url';
import { dirname, join } from '../../src/web/shims/path.js';
import { fileURLToPath } from '../../src/web/shims/url.js';

test('path shim: dirname and join as node:path (POSIX) gives them', () => {
  for (const p of ['/a/b/c.js', '/a/b/', '/a', '/', 'a', 'a/b', '/a//b', '', '/examples/hello/enclave.wasm']) assert.equal(dirname(p), posix.dirname(p), JSON.stringify(p));
  for (const parts of [['/dist/src/platform', '../../../examples'], ['/examples', 'hello', 'enclave.wasm'], ['a', '', 'b'], ['/a/', './b/../c']]) assert.equal(join(...parts), posix.join(...parts).replace(/\/$/, ''), parts.join(' + '));
});

test('url shim: fileURLToPath of a file: URL as Node gives it, of an http: URL its decoded path', () => {
  assert.equal(fileURLToPath('file:///work/ae/qe%20x/'), nodeFileURLToPath('file:///work/ae/qe%20x/'));
  assert.equal(fileURLToPath(new URL('http://127.0.0.1:8080/some/prefix/ae/')), '/some/prefix/ae/');
});
