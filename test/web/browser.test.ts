/**
 * The web view in a real browser (Debian's chromium, driven by playwright-core): the page starts
 * the machine in a Web Worker with the portable crypto provider, runs the tour and some of the
 * hostile driver's attacks, and the results are the model's: the hello enclave's MRENCLAVE as Node
 * computes it, the secret sealed and unsealed, a DCAP quote that verifies, the attacks blocked, and
 * an EPC map that shows the enclaves; your own enclave loaded from a file and called from its forms. Skipped, saying so, where no chromium is installed (CI installs
 * it); WITNESS_CHROMIUM names another binary.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWebServer, webViewFiles, type WebServer } from '../../src/cli/webserver.js';
import { helloArtifacts } from '../../src/platform/victim.js';
import { buildImage, resolveEdl, generateSigningKey, signSigstruct, sigstructFieldsFor, encodeImage, withSigstruct } from '../../src/sdk/index.js';
import { mrsignerOf } from '../../src/arch/index.js';
import { toHex, defaultCrypto } from '../../src/lib/index.js';
import type { PageRequest, WorkerEvent } from '../../src/web/protocol.js';

const binary = process.env.WITNESS_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const skip = binary === undefined ? 'no chromium found: apt-get install chromium (CI does), or set WITNESS_CHROMIUM' : false;
if (skip) console.log(`# SKIPPED browser tests: ${skip}`);

let server: WebServer;
let browser: Browser;
let page: Page;
const errors: string[] = [];

before(async () => {
  if (skip) return;
  server = await startWebServer({ port: 0 });
  browser = await chromium.launch({ executablePath: binary!, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(String(e)));
});
after(async () => {
  if (skip) return;
  await browser.close();
  await server.close();
});

type Win = { witnessEvents: WorkerEvent[]; witnessAsk: (r: PageRequest) => void };
const events = () => page.evaluate(() => (globalThis as unknown as Win).witnessEvents);
/** The page's state (an expression: the test's own build has no DOM types). */
const state = () => page.evaluate<string>('document.body.dataset.state');
const settled = () => page.waitForFunction("['done', 'error'].includes(document.body.dataset.state)", undefined, { timeout: 600_000 });

test('the tour runs in the browser and finds what Node finds', { skip, timeout: 660_000 }, async () => {
  await page.goto(server.url);
  await settled();
  assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
  assert.deepEqual(errors, []);
  const all = await events();
  const steps = all.filter((e): e is Extract<WorkerEvent, { kind: 'step' }> => e.kind === 'step');
  assert.deepEqual(steps.map((s) => s.step), ['platform', 'build', 'load', 'ecall', 'views', 'seal', 'local-attestation', 'remote-attestation', 'shield', 'identity']);
  const f = Object.fromEntries(steps.map((s) => [s.step, s.facts]));
  const hello = helloArtifacts();
  const node = buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: { isvProdId: 1, isvSvn: 1 } });
  assert.equal(f.build!.mrenclave, toHex(node.mrenclave), 'MRENCLAVE measured in the browser');
  assert.equal(f.ecall!.greeting, 'Hello, Witness, from inside the enclave!');
  assert.equal(f.views!.enclaveView, f.views!.secret);
  assert.equal(f.views!.kernelView, 'ff'.repeat(32));
  assert.notEqual(f.views!.dramView, f.views!.dramAgain);
  assert.equal(f.seal!.unsealed, f.views!.secret);
  assert.equal(f.seal!.epcRestored, true);
  assert.equal(f.seal!.otherMachineStatus, 0x3001);
  assert.equal(f['local-attestation']!.valid, true);
  assert.equal(f['remote-attestation']!.verdict, 'SGX_QL_QV_RESULT_OK');
  assert.equal(f['remote-attestation']!.attestedMrenclave, toHex(node.mrenclave));
  assert.equal(f['remote-attestation']!.flippedVerdict, 'SGX_QL_QV_RESULT_INVALID_SIGNATURE');
  assert.match(String(f.shield!.runs), /meet at noon/);
  assert.equal(f.shield!.plaintextFound, false);
  assert.notEqual(f.shield!.violation, null);
  // The machine's metadata: the loaded hello enclave's pages in the EPC map, and its leaves counted.
  const load = steps.find((s) => s.step === 'load')!;
  const owned = [...load.machine.types].filter((t) => t !== 0xff).length;
  assert.equal(owned, load.machine.types.length - load.machine.freePages);
  assert.equal(load.machine.enclaves.length, 1);
  assert.equal(load.machine.enclaves[0]!.mrenclave, toHex(node.mrenclave));
  assert.equal(load.machine.counters.EINIT, 1);
  assert.ok(load.machine.estimatedCycles > 0);
  // The page drew it: each step, and for the machine after the load, the enclave's SECS and TCSs
  // and a tooltip for the map's SECS cell.
  assert.equal(await page.locator('#steps > li').count(), 10);
  await page.locator('#steps > li').nth(2).click();
  await page.locator('#enclaves tr.enclave').first().click();
  const details = (await page.locator('#enclaves tr.details').first().textContent()) ?? '';
  assert.match(details, /ATTRIBUTES INIT \| MODE64BIT/);
  assert.equal([...details.matchAll(/TCS 0x[0-9a-f]+: idle, CSSA 0 of NSSA \d+, 0 AEXs/g)].length, 2);
  const secs = load.machine.enclaves[0]!.secsIndex;
  const box = (await page.locator('#epc').boundingBox())!;
  const scale = box.width / 768;
  await page.mouse.move(box.x + ((secs % 256) * 3 + 1.5) * scale, box.y + (Math.floor(secs / 256) * 3 + 1.5) * scale);
  assert.match((await page.locator('#epc').getAttribute('title')) ?? '', /^EPC page \d+ \(0x[0-9a-f]+\): PT_SECS, enclave at 0x[0-9a-f]+$/);
  assert.match(await page.locator('#epc-summary').textContent() ?? '', /EPC pages .* in use/);
});

test('the hostile driver\'s attacks run in the browser and are blocked', { skip, timeout: 660_000 }, async () => {
  const before = (await events()).length;
  const only = ['kernel-read-epc', 'dma-write', 'evict-replay'];
  await page.evaluate((o) => (globalThis as unknown as Win).witnessAsk({ run: 'attacks', only: o }), only);
  await settled();
  const attacks = (await events()).slice(before).filter((e): e is Extract<WorkerEvent, { kind: 'attack' }> => e.kind === 'attack');
  assert.deepEqual(attacks.map((a) => a.name), only);
  for (const a of attacks) assert.ok(!a.leaked && !a.modified, `${a.name}: ${a.detail}`);
  assert.equal(await page.locator('#attacks tr.blocked').count(), only.length);
  // A tour with a bad seed: refused before it runs, and the last run's machine is no longer shown.
  await page.fill('#seed', 'not hex');
  await page.click('#run-tour');
  await settled();
  assert.equal(await state(), 'error');
  assert.match(await page.locator('#status').textContent() ?? '', /BAD_SEED/);
  assert.equal(await page.locator('#steps > li').count(), 0);
  assert.equal(await page.locator('#epc-summary').textContent(), '');
  assert.equal(await page.locator('#enclaves tr').count(), 0);
  await page.fill('#seed', '');
  await page.evaluate(() => (globalThis as unknown as Win).witnessAsk({ run: 'attacks', only: ['no-such-attack'] }));
  await settled();
  assert.equal(await state(), 'error');
  assert.match(await page.locator('#status').textContent() ?? '', /UNKNOWN_ATTACK/);
  assert.deepEqual(errors, []);
});

test('your enclave: a signed image chosen in the file input loads, its ECALLs run from their forms; the hello example is built and signed in the browser', { skip, timeout: 660_000 }, async () => {
  // An image signed in Node, as `witness build` + `witness sign` write it.
  const hello = helloArtifacts();
  const built = buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: { isvProdId: 5, isvSvn: 2 } });
  const crypto = defaultCrypto();
  const key = generateSigningKey(crypto);
  const sigstruct = signSigstruct(sigstructFieldsFor(built.config, built.mrenclave, { date: 0x20261128 }), key.privateKeyPem, crypto);
  const dir = mkdtempSync(join(tmpdir(), 'witness-web-'));
  const imagePath = join(dir, 'hello.signed.wimg');
  writeFileSync(imagePath, encodeImage(withSigstruct(built.image, sigstruct)));
  try {
    const first = (await events()).length;
    await page.setInputFiles('#enclave-files', imagePath);
    await page.selectOption('#profile', 'linux-sgx2');
    await page.click('#load-files');
    await settled();
    assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
    const loaded = (await events()).slice(first).find((e): e is Extract<WorkerEvent, { kind: 'loaded' }> => e.kind === 'loaded')!;
    assert.equal(loaded.profile, 'linux-sgx2');
    assert.equal(loaded.enclave.origin, 'signed image');
    assert.equal(loaded.enclave.mrenclave, toHex(built.mrenclave));
    assert.equal(loaded.enclave.mrsigner, toHex(mrsignerOf(sigstruct, crypto)));
    assert.deepEqual([loaded.enclave.isvProdId, loaded.enclave.isvSvn], [5, 2]);
    const card = page.locator(`.mine[data-enclave="${loaded.enclave.id}"]`);
    assert.match((await card.locator('pre').first().textContent()) ?? '', new RegExp(`MRENCLAVE ${toHex(built.mrenclave)}`));
    assert.match((await page.locator('#epc-step').textContent()) ?? '', /after loading hello\.signed\.wimg, on your enclaves' machine/);
    // Call it from its form; then seal a secret and unseal the blob through the forms.
    const form = (name: string) => card.locator(`form[data-ecall="${name}"]`);
    const call = async (name: string, values: Record<string, string>) => {
      for (const [k, v] of Object.entries(values)) await form(name).locator(`input[name="${k}"]`).fill(v);
      await form(name).locator('button').click();
      await settled();
    };
    await call('ecall_hello', { name: 'browser', len: '64' });
    const log = card.locator('pre.log');
    assert.match((await log.textContent()) ?? '', /> ecall_hello\("browser", —, "64"\)\n  returned 40\n  greeting: "Hello, browser, from inside the enclave!"\n  ocall ocall_print\("the enclave wrote a greeting"\)\n  EENTER 2, EEXIT 2 ≈ [\d,]+ cycles/);
    await call('ecall_store_secret', { secret: 'from the page', len: '13' });
    await call('ecall_seal_secret', { policy: '1', len: '1024' });
    const sealed = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'called' }> => e.kind === 'called').at(-1)!.outcome;
    const size = Number(sealed.result);
    await call('ecall_store_secret', { secret: 'overwritten!!', len: '13' });
    await call('ecall_unseal_secret', { blob: `hex:${sealed.outputs[0]!.hex.slice(0, 2 * size)}`, len: String(size) });
    await call('ecall_read_secret', { len: '13' });
    assert.match((await log.textContent()) ?? '', /> ecall_read_secret\(—, "13"\)\n  returned 13\n  out: "from the page"/);
    // Bad text: the error in the card's log and the status line; the enclave still answers.
    await call('ecall_hello', { name: 'x', len: 'lots' });
    assert.equal(await state(), 'error');
    assert.match((await log.locator('.failed').last().textContent()) ?? '', /failed: PlatformError ECALL_ARG: len: "lots" is not an unsigned 32-bit integer/);
    // The hello example, built and signed in the browser with a key made there, on the same machine.
    await page.click('#load-hello');
    await settled();
    assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
    const built2 = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'loaded' }> => e.kind === 'loaded').at(-1)!;
    const plain = buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: {} });
    assert.equal(built2.enclave.origin, 'built and signed here');
    assert.equal(built2.enclave.mrenclave, toHex(plain.mrenclave));
    assert.notEqual(built2.enclave.mrsigner, loaded.enclave.mrsigner);
    assert.equal(await page.locator('.mine').count(), 2);
    assert.equal(await page.locator('#enclaves tr.enclave').count(), 2);
    // A DEBUG build from a module, its EDL and a configuration chosen together: the memory form
    // shows the stored secret as ring 0 (all ones), DRAM (ciphertext) and a debugger (plaintext) see it.
    const config = join(dir, 'enclave.json');
    writeFileSync(config, '{ "debug": true }');
    await page.setInputFiles('#enclave-files', [join(hello.edlPath, '../enclave.wasm'), hello.edlPath, config]);
    await page.click('#load-files');
    await settled();
    assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
    const debugLoad = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'loaded' }> => e.kind === 'loaded').at(-1)!;
    assert.equal(debugLoad.enclave.debug, true);
    const debugCard = page.locator(`.mine[data-enclave="${debugLoad.enclave.id}"]`);
    await debugCard.locator('form[data-ecall="ecall_store_secret"] input[name="secret"]').fill('debug me');
    await debugCard.locator('form[data-ecall="ecall_store_secret"] input[name="len"]').fill('8');
    await debugCard.locator('form[data-ecall="ecall_store_secret"] button').click();
    await settled();
    const pointer = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'called' }> => e.kind === 'called').at(-1)!.outcome.result;
    await debugCard.locator('form.peek input[name="address"]').fill(pointer);
    await debugCard.locator('form.peek input[name="length"]').fill('8');
    await debugCard.locator('form.peek button').click();
    await settled();
    const debugLog = (await debugCard.locator('pre.log').textContent()) ?? '';
    assert.match(debugLog, new RegExp(`> memory at pointer ${pointer}, 8 bytes\\n  linear 0x[0-9a-f]+, physical 0x[0-9a-f]+\\n  kernel \\(ring 0\\): ffffffffffffffff\\n  DRAM: +[0-9a-f]{16}\\n  debugger: +${toHex(new TextEncoder().encode('debug me'))}  "debug me"  \\(pread\\(/proc/self/mem\\)\\)`));
    // The production enclave's memory: the debugger is refused.
    await card.locator('form.peek input[name="address"]').fill(pointer);
    await card.locator('form.peek button').click();
    await settled();
    assert.match((await log.textContent()) ?? '', /debugger: +refused: EIO \(5\)  \(pread\(\/proc\/self\/mem\)\)/);
    await page.locator(`.mine[data-enclave="${debugLoad.enclave.id}"] .title button`).click();
    await settled();
    // Unload the first: its card goes, and the machine has one enclave left.
    await card.locator('.title button').click();
    await settled();
    assert.equal(await page.locator('.mine').count(), 1);
    assert.equal(await page.locator('#enclaves tr.enclave').count(), 1);
    // Files that are no enclave: refused, the cards unchanged.
    await page.setInputFiles('#enclave-files', hello.edlPath);
    await page.click('#load-files');
    await settled();
    assert.equal(await state(), 'error');
    assert.match((await page.locator('#status').textContent()) ?? '', /WORKBENCH_FILES/);
    assert.equal(await page.locator('.mine').count(), 1);
    // Another profile: a new machine, whose load replaces the old one's enclaves.
    await page.selectOption('#profile', 'win-x64-sgx2');
    await page.click('#load-hello');
    await settled();
    assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
    assert.equal(await page.locator('.mine').count(), 1);
    assert.match((await page.locator('.mine .title').textContent()) ?? '', /on win-x64-sgx2/);
    assert.deepEqual(errors, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an ECALL whose parameters are named as a form\'s own properties (addEventListener, dataset) still gets its card and its form', { skip, timeout: 660_000 }, async () => {
  // A form's named controls shadow its properties (HTMLFormElement is [LegacyOverrideBuiltIns]).
  const hello = helloArtifacts();
  const edl = readFileSync(hello.edlPath, 'utf8').replace('const char *name', 'const char *addEventListener').replace('char *greeting', 'char *dataset');
  const dir = mkdtempSync(join(tmpdir(), 'witness-web-'));
  try {
    writeFileSync(join(dir, 'hello.edl'), edl);
    writeFileSync(join(dir, 'enclave.wasm'), hello.module);
    const cards = await page.locator('.mine').count();
    await page.setInputFiles('#enclave-files', [join(dir, 'enclave.wasm'), join(dir, 'hello.edl')]);
    await page.click('#load-files');
    await settled();
    assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
    assert.equal(await page.locator('.mine').count(), cards + 1);
    const form = page.locator('.mine').last().locator('form[data-ecall="ecall_hello"]');
    await form.locator('input[name="addEventListener"]').fill('names');
    await form.locator('input[name="len"]').fill('64');
    await form.locator('button').click();
    await settled();
    assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
    assert.match((await page.locator('.mine').last().locator('pre.log').textContent()) ?? '', /dataset: "Hello, names, from inside the enclave!"/);
    assert.deepEqual(errors, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Stop ends what runs with its worker and starts a new machine, which loads and calls as before', { skip, timeout: 660_000 }, async () => {
  assert.equal(await page.locator('#stop').isDisabled(), true, 'nothing runs: nothing to stop');
  await page.click('#run-tour');
  assert.equal(await state(), 'running');
  await page.click('#stop');
  await page.waitForFunction("document.body.dataset.state === 'idle'", undefined, { timeout: 120_000 });
  assert.match((await page.locator('#status').textContent()) ?? '', /^stopped: the machine was discarded/);
  assert.equal(await page.locator('.mine').count(), 0, 'the enclaves went with the machine');
  assert.equal(await page.locator('#stop').isDisabled(), true);
  assert.equal(await page.locator('#profile').inputValue(), 'win-x64-sgx2', 'the profile chosen is kept');
  await page.click('#load-hello');
  await settled();
  assert.equal(await state(), 'done', (await page.locator('#status').textContent()) ?? '');
  const loaded = (await events()).filter((e): e is Extract<WorkerEvent, { kind: 'loaded' }> => e.kind === 'loaded').at(-1)!;
  assert.equal(loaded.profile, 'win-x64-sgx2');
  const form = page.locator(`.mine[data-enclave="${loaded.enclave.id}"] form[data-ecall="ecall_hello"]`);
  await form.locator('input[name="name"]').fill('again');
  await form.locator('input[name="len"]').fill('64');
  await form.locator('button').click();
  await settled();
  assert.match((await page.locator('.mine pre.log').textContent()) ?? '', /greeting: "Hello, again, from inside the enclave!"/);
  assert.deepEqual(errors, []);
});

/**
 * A page of its own (a new context) whose first tour was stopped: `asked` is what the page asked of
 * its workers, in order; `stop` clicks Stop and waits for the new machine; `prepare` runs first.
 */
async function stoppedPage(prepare: (c: BrowserContext) => Promise<void>, body: (p: Page, asked: () => Promise<string[]>, stop: () => Promise<void>) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  try {
    // (a script as text: the test's own build has no DOM types)
    await context.addInitScript(`{
      const post = Worker.prototype.postMessage;
      const asked = globalThis.witnessAsked = [];
      Worker.prototype.postMessage = function (m, ...rest) { asked.push(m.run); return post.call(this, m, ...rest); };
    }`);
    await prepare(context);
    const p = await context.newPage();
    const pageErrors: string[] = [];
    p.on('pageerror', (e) => pageErrors.push(String(e)));
    const stop = async () => {
      await p.click('#stop');
      await p.waitForFunction("document.body.dataset.state === 'idle'", undefined, { timeout: 120_000 });
    };
    await p.goto(server.url);
    await p.waitForFunction("document.body.dataset.state === 'running'", undefined, { timeout: 120_000 });
    await stop();
    await body(p, () => p.evaluate<string[]>('witnessAsked'), stop);
    assert.deepEqual(pageErrors, []);
  } finally {
    await context.close();
  }
}

test('after Stop, Run the tour asks one tour, not one per worker started', { skip, timeout: 300_000 }, async () => {
  await stoppedPage(async () => undefined, async (p, asked, stop) => {
    for (let round = 0; round < 2; round++) {
      const before = (await asked()).length;
      await p.click('#run-tour');
      assert.deepEqual((await asked()).slice(before), ['tour'], `one click, one tour (after ${round + 1} Stop)`);
      await stop();
    }
  });
});

test('a Stop while the hello example is fetched loads nothing into the new machine', { skip, timeout: 300_000 }, async () => {
  // The hello example's module answers only when the test says so.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await stoppedPage(async (c) => {
    await c.route('**/examples/hello/enclave.wasm', async (r) => {
      await held;
      await r.continue();
    });
  }, async (p, asked, stop) => {
    await p.click('#load-hello');
    assert.match((await p.locator('#status').textContent()) ?? '', /^fetching the hello example/);
    await stop();
    const finished = p.waitForEvent('requestfinished', (q) => q.url().endsWith('/examples/hello/enclave.wasm'));
    release();
    await finished;
    await p.evaluate('new Promise((r) => setTimeout(r, 500))');
    assert.equal(await p.evaluate<string>('document.body.dataset.state'), 'idle', (await p.locator('#status').textContent()) ?? '');
    assert.match((await p.locator('#status').textContent()) ?? '', /^stopped/);
    assert.ok(!(await asked()).includes('load'), 'nothing was loaded after Stop');
    assert.equal(await p.locator('.mine').count(), 0);
  });
});

test('the web view written as a static site (witness web --out) runs from a plain file server, under a path prefix', { skip, timeout: 660_000 }, async () => {
  const files = new Map((await webViewFiles()).map((f) => [`/some/prefix${f.path}`, f.data]));
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };
  // A file server that knows nothing of Witness: paths to bytes, a type by extension.
  const plain = createServer((req, res) => {
    let path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.endsWith('/')) path += 'index.html';
    const data = files.get(path);
    if (data === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': types[/\.[a-z]+$/.exec(path)?.[0] ?? ''] ?? 'application/octet-stream' }).end(data);
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const { port } = plain.address() as AddressInfo;
  const site = await browser.newPage();
  const siteErrors: string[] = [];
  site.on('pageerror', (e) => siteErrors.push(String(e)));
  try {
    await site.goto(`http://127.0.0.1:${port}/some/prefix/`);
    await site.waitForURL(/\/some\/prefix\/web\/$/);
    await site.waitForFunction("['done', 'error'].includes(document.body.dataset.state)", undefined, { timeout: 600_000 });
    assert.equal(await site.evaluate<string>('document.body.dataset.state'), 'done', (await site.locator('#status').textContent()) ?? '');
    const steps = (await site.evaluate(() => (globalThis as unknown as Win).witnessEvents)).filter((e): e is Extract<WorkerEvent, { kind: 'step' }> => e.kind === 'step');
    const hello = helloArtifacts();
    const node = buildImage({ module: hello.module, interface: resolveEdl(hello.edlPath), config: { isvProdId: 1, isvSvn: 1 } });
    assert.equal(steps.find((s) => s.step === 'build')!.facts.mrenclave, toHex(node.mrenclave));
    assert.equal(steps.find((s) => s.step === 'remote-attestation')!.facts.verdict, 'SGX_QL_QV_RESULT_OK');
    assert.deepEqual(siteErrors, []);
  } finally {
    await site.close();
    plain.closeAllConnections();
    await new Promise<void>((resolve) => plain.close(() => resolve()));
  }
});

test('a worker that cannot start leaves the page in error with its buttons disabled, not running forever after a click', { skip, timeout: 120_000 }, async () => {
  const context = await browser.newContext();
  try {
    // One module of the worker's graph missing: the worker never starts.
    await context.route('**/dist/src/platform/tour.js', (r) => r.fulfill({ status: 404, body: 'not found' }));
    const p = await context.newPage();
    await p.goto(server.url);
    await p.waitForFunction("['done', 'error'].includes(document.body.dataset.state)", undefined, { timeout: 60_000 });
    assert.equal(await p.evaluate<string>('document.body.dataset.state'), 'error');
    assert.match(await p.locator('#status').textContent() ?? '', /the worker failed to start/);
    // Enabled, a click would post to a worker that never answers: 'running…' for good.
    assert.deepEqual(await p.evaluate<boolean[]>('[...document.querySelectorAll("button")].map((b) => b.disabled)'), [true, true, true, true, true]);
  } finally {
    await context.close();
  }
});
