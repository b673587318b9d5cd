/**
 * A minimal WebDriver BiDi client for the browser tests of engines playwright-core cannot drive
 * (Debian's Firefox ESR): a WebSocket client over node:http (RFC 6455: the upgrade handshake, masked
 * text frames out, unmasked frames in, fragments, ping and close) and the BiDi command/response
 * exchange (https://w3c.github.io/webdriver-bidi/). Node 20 has no WebSocket without a flag.
 */
import { request } from 'node:http';
import { randomBytes, createHash } from 'node:crypto';
import type { Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One WebSocket connection: text messages in and out. */
class TextSocket {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  /** Why the connection ended, once it did (nothing is sent then, nothing more is read). */
  #closed: string | null = null;
  onMessage: (text: string) => void = () => undefined;
  onClose: (why: string) => void = () => undefined;

  constructor(socket: Socket, head: Buffer) {
    this.#socket = socket;
    socket.on('data', (d: Buffer) => this.#read(d));
    socket.on('close', () => this.#ended('the connection closed'));
    socket.on('error', (e) => this.#ended(String(e)));
    if (head.length > 0) this.#read(head);
  }

  get closed(): string | null {
    return this.#closed;
  }

  /** The connection is over: said once (a socket that errs also closes); `ending`: a close frame went out, the socket ends after it. */
  #ended(why: string, ending = false): void {
    if (this.#closed !== null) return;
    this.#closed = why;
    if (ending) this.#socket.end();
    else this.#socket.destroy();
    this.onClose(why);
  }

  static connect(url: string): Promise<TextSocket> {
    const u = new URL(url);
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' } });
      req.on('upgrade', (res, socket: Socket, head: Buffer) => {
        const accept = createHash('sha1').update(key + GUID).digest('base64');
        if (res.headers['sec-websocket-accept'] !== accept) {
          socket.destroy();
          reject(new Error('the WebSocket handshake answered with the wrong Sec-WebSocket-Accept'));
          return;
        }
        resolve(new TextSocket(socket, head));
      });
      req.on('response', (res) => reject(new Error(`the WebSocket upgrade was refused: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  #frame(opcode: number, payload: Buffer): void {
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
    const mask = randomBytes(4);
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.#socket.write(Buffer.concat([head, mask, masked]));
  }

  /** @throws {Error} when the connection is over (a write then would be lost without a word). */
  send(text: string): void {
    if (this.#closed !== null) throw new Error(`the connection is closed (${this.#closed})`);
    this.#frame(0x1, Buffer.from(text, 'utf8'));
  }

  #read(d: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, d]);
    while (this.#closed === null) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      const maskAt = at;
      if (masked) at += 4;
      if (b.length < at + len) return;
      let payload = b.subarray(at, at + len);
      if (masked) payload = Buffer.from(payload.map((x, i) => x ^ b[maskAt + (i & 3)]!));
      this.#buffer = b.subarray(at + len);
      if (opcode === 0x9) this.#frame(0xa, Buffer.from(payload));
      else if (opcode === 0x8) {
        // (answered with a close frame of the same status, RFC 6455 §5.5.1)
        this.#frame(0x8, Buffer.from(payload.subarray(0, 2)));
        this.#ended('the browser closed the connection', true);
      } else if (opcode === 0x1 || opcode === 0x0) {
        this.#fragments.push(Buffer.from(payload));
        if (fin) {
          const text = Buffer.concat(this.#fragments).toString('utf8');
          this.#fragments = [];
          this.onMessage(text);
        }
      }
    }
  }

  close(): void {
    if (this.#closed !== null) return;
    this.#frame(0x8, Buffer.alloc(0));
    this.#ended('closed by the client', true);
  }
}

export interface BidiOptions {
  /** How long a command may go unanswered before it is refused, ms. Default 120 000. */
  readonly commandMs?: number;
}

/** A BiDi session: `send` a command, get its result (or an Error with the browser's error and message). */
export class BidiSession {
  readonly #socket: TextSocket;
  readonly #commandMs: number;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; method: string; timer: NodeJS.Timeout }>();

  private constructor(socket: TextSocket, options: BidiOptions) {
    this.#socket = socket;
    this.#commandMs = options.commandMs ?? 120_000;
    socket.onMessage = (text) => {
      const m = JSON.parse(text) as { id?: number; type?: string; result?: unknown; error?: string; message?: string };
      if (m.id === undefined) return; // (events: none subscribed)
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.type === 'error') p.reject(new Error(`${p.method}: ${m.error ?? '?'}: ${m.message ?? ''}`));
      else p.resolve(m.result);
    };
    socket.onClose = (why) => {
      for (const p of this.#pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${p.method}: ${why}`));
      }
      this.#pending.clear();
    };
  }

  /** Connect to a BiDi endpoint (`ws://host:port`) and start a session. */
  static async start(endpoint: string, options: BidiOptions = {}): Promise<BidiSession> {
    const socket = await TextSocket.connect(`${endpoint}/session`);
    const s = new BidiSession(socket, options);
    try {
      await s.send('session.new', { capabilities: {} });
    } catch (e) {
      socket.close();
      throw e;
    }
    return s;
  }

  /**
   * Send a command; its result, or an Error: the browser's, no answer in `timeoutMs` (default the
   * session's commandMs), or the connection over (at once, when it already is).
   */
  send(method: string, params: Record<string, unknown>, timeoutMs = this.#commandMs): Promise<unknown> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      const closed = this.#socket.closed;
      if (closed !== null) {
        reject(new Error(`${method}: the connection is closed (${closed})`));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, method, timer });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** The first top-level browsing context. */
  async context(): Promise<string> {
    const tree = (await this.send('browsingContext.getTree', {})) as { contexts: { context: string }[] };
    return tree.contexts[0]!.context;
  }

  /**
   * Evaluate `expression` in `context` (promises awaited) and return its value as JSON gives it:
   * the expression should produce a string, number or boolean (JSON.stringify anything larger).
   */
  async evaluate(context: string, expression: string): Promise<unknown> {
    const r = (await this.send('script.evaluate', { expression, target: { context }, awaitPromise: true })) as { type: string; result?: { value?: unknown }; exceptionDetails?: { text?: string } };
    if (r.type === 'exception') throw new Error(`in the page: ${r.exceptionDetails?.text ?? 'an exception'}`);
    return r.result?.value;
  }

  /** End the session (waiting 5 s at most for the browser's answer) and close the connection. */
  async end(): Promise<void> {
    await this.send('session.end', {}, 5_000).catch(() => undefined);
    this.#socket.close();
  }
}
