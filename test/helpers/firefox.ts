/**
 * Firefox for the browser tests: headless on a fresh profile, its WebDriver BiDi session started
 * (test/helpers/bidi.ts), and everything given back by `close()` — the session, the process (killed
 * if it does not end) and the profile — also when the launch fails half-way.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BidiSession, type BidiOptions } from './bidi.js';

export interface Firefox {
  readonly bidi: BidiSession;
  /** The first top-level browsing context. */
  readonly context: string;
  /** The browser's process id. */
  readonly pid: number;
  /** End the session and the browser (SIGKILL if it has not exited 10 s after SIGTERM) and remove its profile. */
  close(): Promise<void>;
}

export interface FirefoxOptions extends BidiOptions {
  /** How long Firefox may take to say where its BiDi endpoint listens, ms. Default 60 000. */
  readonly startMs?: number;
  /** Where its temporary profile is made. Default the system's temporary directory. */
  readonly dir?: string;
}

/** Launch `binary` (a Firefox) and start a BiDi session. @throws {Error} when it does not start; nothing is left running then. */
export async function launchFirefox(binary: string, options: FirefoxOptions = {}): Promise<Firefox> {
  const profile = mkdtempSync(join(options.dir ?? tmpdir(), 'witness-firefox-'));
  const child = spawn(binary, ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // (a process that failed to start has an exit code too: the spawn's negative errno)
  const running = () => child.exitCode === null && child.signalCode === null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  // A test run that ends some other way (an uncaught error) takes the browser with it.
  const onExit = () => {
    if (running()) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  let bidi: BidiSession | null = null;
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= (async () => {
    try {
      if (bidi !== null) await bidi.end();
    } finally {
      if (running()) {
        child.kill();
        const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(hard);
      }
      process.removeListener('exit', onExit);
      rmSync(profile, { recursive: true, force: true });
    }
  })());
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let seen = '';
      let found = false;
      const startMs = options.startMs ?? 60_000;
      const timer = setTimeout(() => reject(new Error(`Firefox gave no BiDi endpoint in ${startMs} ms: ${seen.slice(-500)}`)), startMs);
      // (its output is read to the end, so that a full pipe never stops it, and kept until the endpoint is found)
      const read = (d: Buffer) => {
        if (found) return;
        seen += d.toString();
        const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(seen);
        if (m) {
          found = true;
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`Firefox (${binary}) did not start: ${e.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Firefox exited (${String(code ?? signal)}) before it listened: ${seen.slice(-500)}`));
      });
    });
    bidi = await BidiSession.start(endpoint, options);
    const context = await bidi.context();
    return { bidi, context, pid: child.pid!, close };
  } catch (e) {
    await close();
    throw e;
  }
}
