/**
 * The WebDriver BiDi client of the Firefox tests (test/helpers/bidi.ts) against a BiDi endpoint of
 * the test's own on node:http: frames however they arrive (split, 16- and 64-bit lengths, fragments,
 * a ping between them), and a connection that closes or never answers ending what waits on it; and
 * launchFirefox (test/helpers/firefox.ts) with stand-ins for Firefox: nothing left behind, however
 * the browser fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { BidiSession } from '../helpers/bidi.js';
import { launchFirefox } from '../helpers/firefox.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A server frame (unmasked) with `payload`, its length in the 7-, 16- or 64-bit form it needs. */
function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, n]) : n < 65536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 126, n >> 8, n & 0xff]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** What the endpoint saw of one connection: the client's frames (unmasked), by opcode. */
interface Seen {
  readonly frames: { opcode: number; payload: Buffer }[];
}

/**
 * A BiDi endpoint: `session.new`, `session.end`, `browsingContext.getTree` and `echo` answered (echo's answer as `params.how` says: whole,
 * byte by byte, or in three fragments with a ping between), `silent` never, `hangup` by closing
 * the connection, `goodbye` by a close frame.
 */
function endpoint(): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer();
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}${GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const s: Seen = { frames: [] };
    seen.push(s);
    let buffer = Buffer.alloc(0);
    let onPong = () => undefined as void;
    const answer = async (bytes: Buffer, how: string, id: number) => {
      if (how === 'whole') socket.write(frame(0x1, bytes));
      else if (how === 'bytes') {
        for (const b of frame(0x1, bytes)) {
          socket.write(Buffer.from([b]));
          await new Promise((r) => setImmediate(r));
        }
      } else {
        const third = Math.ceil(bytes.length / 3);
        // (the rest once the ping is answered: the answer arriving says the pong did)
        const pong = new Promise<void>((r) => (onPong = r));
        socket.write(Buffer.concat([frame(0x1, bytes.subarray(0, third), false), frame(0x9, Buffer.from(`ping ${id}`)), frame(0x0, bytes.subarray(third, 2 * third), false)]));
        await pong;
        socket.write(frame(0x0, bytes.subarray(2 * third), true));
      }
    };
    socket.on('data', (d: Buffer) => {
      buffer = Buffer.concat([buffer, d]);
      for (;;) {
        if (buffer.length < 2) return;
        let len = buffer[1]! & 0x7f;
        let at = 2;
        if (len === 126) [len, at] = [buffer.readUInt16BE(2), 4];
        else if (len === 127) [len, at] = [Number(buffer.readBigUInt64BE(2)), 10];
        if (buffer.length < at + 4 + len) return;
        const mask = buffer.subarray(at, at + 4);
        const payload = Buffer.from(buffer.subarray(at + 4, at + 4 + len).map((x, i) => x ^ mask[i & 3]!));
        const opcode = buffer[0]! & 0x0f;
        buffer = buffer.subarray(at + 4 + len);
        s.frames.push({ opcode, payload });
        if (opcode === 0xa) onPong();
        if (opcode !== 0x1) continue;
        const m = JSON.parse(payload.toString()) as { id: number; method: string; params: { text?: string; how?: string } };
        if (m.method === 'session.new' || m.method === 'session.end') socket.write(frame(0x1, Buffer.from(JSON.stringify({ type: 'success', id: m.id, result: {} }))));
        else if (m.method === 'browsingContext.getTree') socket.write(frame(0x1, Buffer.from(JSON.stringify({ type: 'success', id: m.id, result: { contexts: [{ context: 'top' }] } }))));
        else if (m.method === 'echo') void answer(Buffer.from(JSON.stringify({ type: 'success', id: m.id, result: { text: m.params.text } })), m.params.how ?? 'whole', m.id);
        else if (m.method === 'hangup') socket.destroy();
        else if (m.method === 'goodbye') socket.write(frame(0x8, Buffer.from([0x03, 0xe8])));
      }
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  })));
}

const servers: { close: () => Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

test('the BiDi client reads answers however they arrive: byte by byte, 7-, 16- and 64-bit lengths, in fragments with a ping between (answered)', { timeout: 30_000 }, async () => {
  const e = await endpoint();
  servers.push(e);
  const bidi = await BidiSession.start(e.url);
  for (const how of ['whole', 'bytes', 'fragments']) {
    for (const size of [5, 200, 70_000]) {
      if (how === 'bytes' && size > 200) continue;
      const text = 'x'.repeat(size - 1) + how[0];
      assert.deepEqual(await bidi.send('echo', { text, how }), { text }, `${how}, ${size}`);
    }
  }
  // Each ping was answered with a pong carrying its payload.
  const pongs = e.seen[0]!.frames.filter((f) => f.opcode === 0xa).map((f) => f.payload.toString());
  assert.equal(pongs.length, 3);
  assert.ok(pongs.every((p) => /^ping \d+$/.test(p)), pongs.join());
  // A larger command goes out with a 16- and a 64-bit length, masked, and arrives whole.
  assert.deepEqual(await bidi.send('echo', { text: 'y'.repeat(70_000) }), { text: 'y'.repeat(70_000) });
  await bidi.end();
});

test('a connection that closes or never answers ends what waits on it: the command waiting, the next one, and end()', { timeout: 30_000 }, async () => {
  const e = await endpoint();
  servers.push(e);
  // The endpoint hangs up: the command waiting is refused, and so is the next one (at once).
  const a = await BidiSession.start(e.url);
  await assert.rejects(a.send('hangup', {}), /hangup: /);
  await assert.rejects(a.send('echo', { text: 'anyone?' }), /echo: the connection (closed|is closed)/);
  await a.end();
  // It says goodbye with a close frame: answered with one, then as closed.
  const b = await BidiSession.start(e.url);
  await assert.rejects(b.send('goodbye', {}), /goodbye: /);
  await assert.rejects(b.send('echo', { text: 'anyone?' }), /echo: /);
  for (let i = 0; i < 100 && !e.seen[1]!.frames.some((f) => f.opcode === 0x8); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(e.seen[1]!.frames.find((f) => f.opcode === 0x8)?.payload, Buffer.from([0x03, 0xe8]), 'the client answered the close frame with its status');
  await b.end();
  // It never answers: the command times out, and end() returns.
  const c = await BidiSession.start(e.url, { commandMs: 300 });
  await assert.rejects(c.send('silent', {}), /silent: no answer in 300 ms/);
  assert.equal(await c.send('echo', { text: 'still here' }).then((r) => (r as { text: string }).text), 'still here');
  const t0 = Date.now();
  await c.end();
  assert.ok(Date.now() - t0 < 5_000);
});

test('launchFirefox leaves nothing behind when the browser does not start, does not listen, cannot be reached, or dies', { timeout: 60_000 }, async () => {
  const e = await endpoint();
  servers.push(e);
  const work = mkdtempSync(join(tmpdir(), 'witness-bidi-test-'));
  const profiles = join(work, 'profiles');
  mkdirSync(profiles);
  /** A stand-in for Firefox: a shell script that notes its pid, says `says` on stderr, then waits. */
  const fake = (name: string, says: string) => {
    const path = join(work, name);
    writeFileSync(path, `#!/bin/sh\necho $$ > "${join(work, `${name}.pid`)}"\n${says ? `echo "${says}" >&2\n` : ''}exec sleep 600\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const pidOf = (name: string) => Number(readFileSync(join(work, `${name}.pid`), 'utf8'));
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    // It never says where it listens: refused after startMs, killed, its profile removed.
    await assert.rejects(launchFirefox(fake('silent', ''), { dir: profiles, startMs: 500 }), /gave no BiDi endpoint in 500 ms/);
    assert.equal(alive(pidOf('silent')), false, 'the silent browser was killed');
    assert.deepEqual(readdirSync(profiles), []);
    // It names an endpoint no one listens on.
    await assert.rejects(launchFirefox(fake('refused', 'WebDriver BiDi listening on ws://127.0.0.1:1'), { dir: profiles }), /ECONNREFUSED/);
    assert.equal(alive(pidOf('refused')), false, 'the unreachable browser was killed');
    assert.deepEqual(readdirSync(profiles), []);
    // No such program.
    await assert.rejects(launchFirefox(join(work, 'no-such-firefox'), { dir: profiles }), /did not start: spawn .* ENOENT/);
    assert.deepEqual(readdirSync(profiles), []);
    // It starts (the endpoint is the test's), then dies by a signal: close() still returns, and cleans up.
    const f = await launchFirefox(fake('dies', `WebDriver BiDi listening on ${e.url}`), { dir: profiles });
    assert.equal(f.pid, pidOf('dies'));
    assert.equal(readdirSync(profiles).length, 1);
    process.kill(f.pid, 'SIGKILL');
    await f.close();
    assert.deepEqual(readdirSync(profiles), []);
    // And one closed as the tests close it: the session ended, the browser gone.
    const g = await launchFirefox(fake('lives', `WebDriver BiDi listening on ${e.url}`), { dir: profiles });
    assert.equal(g.context, 'top');
    await g.close();
    assert.equal(alive(g.pid), false);
    assert.ok(e.seen.at(-1)!.frames.some((x) => x.opcode === 0x1 && /"session\.end"/.test(x.payload.toString())), 'the session was ended');
    assert.deepEqual(readdirSync(profiles), []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
