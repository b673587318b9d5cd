/**
 * The web view in a second engine: Debian's Firefox ESR, driven over WebDriver BiDi (test/helpers/
 * firefox.ts and bidi.ts; playwright-core's Firefox support needs a newer Firefox than Debian ships). The tour
 * finds what Node finds, attacks are blocked, and your enclave loads and answers from its form.
 * Skipped, saying so, where no Firefox is installed (CI installs firefox-esr); WITNESS_FIREFOX
 * names another binary.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startWebServer, type WebServer } from '../../src/cli/webserver.js';
import { helloArtifacts } from '../../src/platform/victim.js';
import { buildImage, resolveEdl } from '../../src/sdk/index.js';
import { toHex } from '../../src/lib/index.js';
import type { WorkerEvent } from '../../src/web/protocol.js';
import type { BidiSession } from '../helpers/bidi.js';
import { launchFirefox, type Firefox } from '../helpers/firefox.js';

const binary = process.env.WITNESS_FIREFOX ?? ['/usr/lib/firefox-esr/firefox-esr', '/usr/bin/firefox-esr', '/usr/bin/firefox'].find((p) => existsSync(p));
const skip = binary === undefined ? 'no Firefox found: apt-get install firefox-esr (CI does), or set WITNESS_FIREFOX' : false;
if (skip) console.log(`# SKIPPED Firefox tests: ${skip}`);

let server: WebServer | undefined;
let firefox: Firefox | undefined;
let bidi: BidiSession;
let context: string;

before(async () => {
  if (skip) return;
  server = await startWebServer({ port: 0 });
  firefox = await launchFirefox(binary!);
  ({ bidi, context } = firefox);
});
// (whatever `before` got to: a launch that failed has given back its browser and profile itself)
after(async () => {
  try {
    await firefox?.close();
  } finally {
    await server?.close();
  }
});

const evaluate = (expression: string) => bidi.evaluate(context, expression);
const state = async () => String(await evaluate('document.body.dataset.state'));
const events = async () => JSON.parse(String(await evaluate('JSON.stringify(witnessEvents)'))) as WorkerEvent[];
/** Wait until the page is done or in error (it polls: BiDi has no waitForFunction). */
async function settled(timeoutMs = 600_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const s = await state();
    if (s === 'done' || s === 'error') return s;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the page is still ${s} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const status = async () => String(await evaluate("document.getElementById('status').textContent"));

test('Firefox: the tour runs and finds what Node finds', { skip, timeout: 660_000 }, async () => {
  await bidi.send('browsingContext.navigate', { context, url: server!.url, wait: 'complete' });
  assert.equal(await settled(), 'done', await status());
  const steps = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'step' }> => e.kind === 'step');
  assert.deepEqual(steps.map((s) => s.step), ['platform', 'build', 'load', 'ecall', 'views', 'seal', 'local-attestation', 'remote-attestation', 'shield', 'identity']);
  const f = Object.fromEntries(steps.map((s) => [s.step, s.facts]));
  const hello = helloArtifacts();
  const node = buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: { isvProdId: 1, isvSvn: 1 } });
  assert.equal(f.build!.mrenclave, toHex(node.mrenclave), 'MRENCLAVE measured in Firefox');
  assert.equal(f.ecall!.greeting, 'Hello, Witness, from inside the enclave!');
  assert.equal(f.views!.kernelView, 'ff'.repeat(32));
  assert.equal(f.seal!.unsealed, f.views!.secret);
  assert.equal(f['local-attestation']!.valid, true);
  assert.equal(f['remote-attestation']!.verdict, 'SGX_QL_QV_RESULT_OK');
  assert.equal(f['remote-attestation']!.attestedMrenclave, toHex(node.mrenclave));
  assert.match(String(f.shield!.runs), /meet at noon/);
  assert.equal(Number(await evaluate("document.querySelectorAll('#steps > li').length")), 10);
});

test('Firefox: attacks are blocked; your enclave loads, answers from its form, and a debugger is refused its memory', { skip, timeout: 660_000 }, async () => {
  await evaluate("witnessAsk({ run: 'attacks', only: ['kernel-read-epc', 'edbgrd-production'] })");
  assert.equal(await settled(), 'done', await status());
  const attacks = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'attack' }> => e.kind === 'attack');
  assert.deepEqual(attacks.map((a) => [a.name, a.leaked, a.modified]), [['kernel-read-epc', false, false], ['edbgrd-production', false, false]]);
  // The hello example: fetched by the page, built and signed in Firefox.
  await evaluate("document.getElementById('load-hello').click()");
  assert.equal(await settled(), 'done', await status());
  const loaded = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'loaded' }> => e.kind === 'loaded').at(-1)!;
  const hello = helloArtifacts();
  assert.equal(loaded.enclave.mrenclave, toHex(buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: {} }).mrenclave));
  const card = `document.querySelector('.mine[data-enclave="${loaded.enclave.id}"]')`;
  const submit = async (form: string, values: Record<string, string>) => {
    await evaluate(`(() => { const f = ${card}.querySelector('${form}'); for (const [k, v] of Object.entries(${JSON.stringify(values)})) f.querySelector('input[name="' + k + '"]').value = v; f.requestSubmit(); return true; })()`);
    assert.equal(await settled(), 'done', await status());
  };
  await submit('form[data-ecall="ecall_hello"]', { name: 'Firefox', len: '64' });
  await submit('form[data-ecall="ecall_store_secret"]', { secret: 'not for you', len: '11' });
  const pointer = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'called' }> => e.kind === 'called').at(-1)!.outcome.result;
  await submit('form.peek', { address: pointer, length: '11' });
  const log = String(await evaluate(`${card}.querySelector('pre.log').textContent`));
  assert.match(log, /greeting: "Hello, Firefox, from inside the enclave!"\n  ocall ocall_print\("the enclave wrote a greeting"\)/);
  assert.match(log, /kernel \(ring 0\): (ff){11}\n/);
  assert.match(log, /debugger: +refused: #GP\(0\): EDBGRD/);
});
