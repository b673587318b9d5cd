/**
 * The visualizer page (web/index.html loads it): it starts the machine in a Web Worker
 * (worker.ts), asks it for the tour or the attacks, and draws what the worker reports: each step's
 * text (as `witness demo` prints it), the EPC as a map of pages coloured by EPCM page type and
 * owning enclave, the enclaves, and the SGX leaves counted with their estimated cost; and your own
 * enclaves (the worker's workbench): loaded from files, with a form for each ECALL. It holds no
 * reference into the model: only the worker's messages. Compiled with DOM types
 * (tsconfig.web.json).
 */
import { WebError } from './errors.js';
import { outcomeLines, memoryViewLines } from '../platform/results.js';
import type { CostReport, LoadedEnclave, MachineSnapshot, PageRequest, WorkerEvent } from './protocol.js';

/** Every event the worker sent, in order (for a test or a curious console). */
const events: WorkerEvent[] = [];
(globalThis as { witnessEvents?: WorkerEvent[] }).witnessEvents = events;

const PAGE_TYPE = ['PT_SECS', 'PT_TCS', 'PT_REG', 'PT_VA', 'PT_TRIM', 'PT_SS_FIRST', 'PT_SS_REST'];
const FREE = 0xff;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<'className' | 'textContent' | 'title', string>> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className !== undefined) e.className = props.className;
  if (props.textContent !== undefined) e.textContent = props.textContent;
  if (props.title !== undefined) e.title = props.title;
  e.append(...children);
  return e;
}

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new TypeError(`the page has no #${id}`);
  return e as T;
}

/** The enclaves whose details are open (by base address), kept across steps. */
const openEnclaves = new Set<number>();
/** The machine the EPC panel shows (for the map's tooltips). */
let shownMachine: MachineSnapshot | null = null;
const COLUMNS = 256;
const CELL = 3;

/** What the map's cell under the pointer holds: its page, its EPCM type and its enclave. */
function describeCell(m: MachineSnapshot, i: number): string {
  if (i < 0 || i >= m.types.length) return '';
  const pa = `0x${(m.epcBase + i * 4096).toString(16)}`;
  const t = m.types[i]!;
  if (t === FREE) return `EPC page ${i} (${pa}): free`;
  const secs = t === 0 ? i : m.owners[i]!;
  const e = m.enclaves.find((x) => x.secsIndex === secs);
  return `EPC page ${i} (${pa}): ${PAGE_TYPE[t] ?? `type ${t}`}${e ? `, enclave at 0x${e.base.toString(16)}` : secs >= 0 ? `, SECS at page ${secs}` : ''}`;
}

/** An enclave's colour: its SECS index spread around the hue circle. */
function hue(secsIndex: number): number {
  return (secsIndex * 137.508) % 360;
}

function pageColour(type: number, owner: number, index: number): string {
  if (type === FREE) return '#1d2229';
  const h = hue(type === 0 ? index : owner);
  switch (type) {
    case 0: return `hsl(${h} 90% 70%)`; // SECS: the enclave's colour, lightest
    case 1: return `hsl(${h} 80% 55%)`; // TCS
    case 3: return '#b48ead'; // VA (version arrays belong to no enclave)
    case 4: return '#5c4a3d'; // TRIM
    default: return `hsl(${h} 55% 38%)`; // REG and the rest
  }
}

function drawEpc(m: MachineSnapshot): void {
  const canvas = byId<HTMLCanvasElement>('epc');
  const n = m.types.length;
  const cols = COLUMNS;
  const cell = CELL;
  const rows = Math.ceil(n / cols);
  canvas.width = cols * cell;
  canvas.height = rows * cell;
  const ctx = canvas.getContext('2d');
  if (ctx === null) return;
  ctx.fillStyle = '#0d1117';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < n; i++) {
    ctx.fillStyle = pageColour(m.types[i]!, m.owners[i]!, i);
    ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell, cell);
  }
  const used = n - m.freePages;
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) if (m.types[i] !== FREE) counts.set(PAGE_TYPE[m.types[i]!] ?? '?', (counts.get(PAGE_TYPE[m.types[i]!] ?? '?') ?? 0) + 1);
  byId('epc-summary').textContent = `${n} EPC pages (${((n * 4096) / 2 ** 20).toFixed(1)} MiB) from 0x${m.epcBase.toString(16)}: ${used} in use (${[...counts].map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}), ${m.freePages} free`;

  const table = byId<HTMLTableSectionElement>('enclaves');
  table.replaceChildren(...m.enclaves.flatMap((e) => {
    const swatch = el('span', { className: 'swatch' });
    swatch.style.background = `hsl(${hue(e.secsIndex)} 55% 38%)`;
    const row = el('tr', { className: 'enclave', title: 'show its SECS and TCSs' },
      el('td', {}, swatch, `0x${e.base.toString(16)}`),
      el('td', { textContent: `${e.size / 1024} KiB` }),
      el('td', { textContent: String(e.pages) }),
      el('td', { textContent: e.state }),
      el('td', { className: 'mono', textContent: e.mrenclave === null ? '—' : `${e.mrenclave.slice(0, 16)}…`, title: e.mrenclave ?? 'measured at EINIT' }),
      el('td', { textContent: `${e.isvProdId} / ${e.isvSvn}` }));
    const tcs = e.tcs.map((t) => `TCS 0x${t.linAddr.toString(16)}: ${t.state}, CSSA ${t.cssa} of NSSA ${t.nssa}, ${t.aexCount} AEX${t.aexCount === 1 ? '' : 's'}`);
    const details = el('tr', { className: 'details' }, el('td', {}, el('pre', {
      textContent: [
        `SECS at EPC page ${e.secsIndex}: ATTRIBUTES ${e.attributes.join(' | ') || '0'}, XFRM 0x${e.xfrm}, MISCSELECT 0x${e.miscSelect.toString(16)}, SSAFRAMESIZE ${e.ssaFrameSize}`,
        `MRENCLAVE ${e.mrenclave ?? '(until EINIT)'}`, `MRSIGNER  ${e.mrsigner ?? '(until EINIT)'}`, `${e.activeThreads} thread${e.activeThreads === 1 ? '' : 's'} inside`, ...tcs,
      ].join('\n'),
    })));
    const cell = details.firstElementChild as HTMLTableCellElement;
    cell.colSpan = 6;
    details.hidden = !openEnclaves.has(e.base);
    row.addEventListener('click', () => {
      details.hidden = !details.hidden;
      if (details.hidden) openEnclaves.delete(e.base);
      else openEnclaves.add(e.base);
    });
    return [row, details];
  }));
  if (m.enclaves.length === 0) table.replaceChildren(el('tr', {}, el('td', { textContent: 'no enclave on this machine now' })));
  shownMachine = m;

  const counters = byId<HTMLTableSectionElement>('counters');
  counters.replaceChildren(...Object.entries(m.counters).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => el('tr', {}, el('td', { className: 'mono', textContent: k }), el('td', { className: 'num', textContent: v.toLocaleString('en') }))));
  byId('cost').textContent = `≈ ${Math.round(m.estimatedCycles).toLocaleString('en')} cycles of SGX hardware for the priced leaves (${((m.estimatedCycles / 2.5e9) * 1e3).toFixed(2)} ms at 2.5 GHz; events without a published price are not counted)`;
}

/** The steps shown, each with its snapshot; the one whose machine the EPC panel draws. */
const shown: { readonly item: HTMLElement; readonly machine: MachineSnapshot }[] = [];

function select(k: number): void {
  shown.forEach((s, i) => s.item.classList.toggle('selected', i === k));
  const s = shown[k];
  if (s === undefined) return;
  byId('epc-step').textContent = `after step ${k + 1}`;
  drawEpc(s.machine);
}

/** The workbench's machine after `what` (no tour step selected then). */
function showMachine(m: MachineSnapshot, what: string): void {
  for (const s of shown) s.item.classList.remove('selected');
  byId('epc-step').textContent = `after ${what}, on your enclaves' machine`;
  drawEpc(m);
}

function showStep(e: Extract<WorkerEvent, { kind: 'step' }>): void {
  const [title, ...rest] = e.lines.filter((l) => !l.startsWith('   [OCALL'));
  const ocalls = e.lines.filter((l) => l.startsWith('   [OCALL'));
  const item = el('li', { className: 'step', title: 'show the machine after this step' },
    el('div', { className: 'title', textContent: (title ?? e.step).trim() }),
    el('pre', { textContent: [...ocalls, ...rest].map((l) => l.replace(/\n$/, '')).join('\n') }),
    el('div', { className: 'timing', textContent: `${e.ms.toFixed(0)} ms` }));
  const k = shown.length;
  item.addEventListener('click', () => select(k));
  shown.push({ item, machine: e.machine });
  byId('steps').append(item);
  select(k);
}

/** A new tour: the EPC panel forgets the last run's machine until the first step comes. */
function clearMachine(): void {
  shownMachine = null;
  const canvas = byId<HTMLCanvasElement>('epc');
  canvas.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
  canvas.title = '';
  for (const id of ['epc-summary', 'cost']) byId(id).textContent = '';
  byId('epc-step').textContent = 'after the last step';
  for (const id of ['enclaves', 'counters']) byId(id).replaceChildren();
}

/** At the end of the tour: the last step whose machine still had an enclave. */
function selectBusiest(): void {
  for (let k = shown.length - 1; k >= 0; k--) {
    if (shown[k]!.machine.enclaves.length > 0) {
      select(k);
      return;
    }
  }
}

function showAttack(e: Extract<WorkerEvent, { kind: 'attack' }>): void {
  const breach = e.leaked || e.modified;
  byId('attacks').append(el('tr', { className: breach ? 'breach' : 'blocked' },
    el('td', { textContent: breach ? 'BREACH' : 'blocked' }),
    el('td', { className: 'mono', textContent: e.name, title: e.attempted }),
    el('td', { textContent: e.blockedBy, title: e.detail }),
    el('td', { className: 'num', textContent: `${e.ms.toFixed(0)} ms` })));
}

/** What the status line says when a request is done. */
const DONE: Record<PageRequest['run'], string> = { tour: 'the tour ran', attacks: 'the attacks ran', load: 'loaded', call: 'called', unload: 'unloaded', peek: 'read' };

/** The buttons that ask the worker for something (disabled while it works). */
const BUTTONS = ['run-tour', 'run-attacks', 'load-files', 'load-hello'];

/** A line of leaves and their price: `EENTER 2, EEXIT 2 ≈ 17,200 cycles`. */
function costText(c: CostReport): string {
  const leaves = Object.entries(c.counts).map(([k, n]) => `${k} ${n}`).join(', ') || 'no SGX leaves';
  const unpriced = Object.keys(c.unpriced);
  return `${leaves} ≈ ${Math.round(c.cycles).toLocaleString('en')} cycles of SGX hardware${unpriced.length ? ` (unpriced: ${unpriced.join(', ')})` : ''}`;
}

/** Your enclaves' cards, by workbench id. */
const cards = new Map<number, { readonly card: HTMLElement; readonly log: HTMLElement }>();

function logLine(log: HTMLElement, text: string, failed = false): void {
  log.append(el('span', failed ? { className: 'failed', textContent: `${text}\n` } : { textContent: `${text}\n` }));
  log.scrollTop = log.scrollHeight;
}

function showLoaded(e: Extract<WorkerEvent, { kind: 'loaded' }>, ask: (r: PageRequest, what: string) => void): void {
  const x: LoadedEnclave = e.enclave;
  const unload = el('button', { textContent: 'Unload', title: 'EREMOVE its pages' });
  unload.addEventListener('click', () => ask({ run: 'unload', enclave: x.id }, `unloading ${x.name}`));
  const log = el('pre', { className: 'log' });
  const forms = x.ecalls.map((f) => {
    const inputs = f.params.map((p) => {
      const input = el('input', { title: p.hint });
      input.name = p.name;
      input.placeholder = p.takesText ? p.name : `${p.name} (out)`;
      input.disabled = !p.takesText;
      return input;
    });
    const call = el('button', { textContent: 'Call' });
    call.type = 'submit';
    // Its controls are appended last: a form's named controls shadow its own properties, and a
    // parameter may be named `dataset` or `addEventListener`.
    const form = el('form', { title: f.public ? '' : 'private: only an OCALL whose allow() names it may call it' });
    form.dataset.ecall = f.name;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const args = inputs.map((i) => (i.disabled ? '' : i.value));
      logLine(log, `> ${f.name}(${inputs.map((i, k) => (i.disabled ? '—' : JSON.stringify(args[k]))).join(', ')})`);
      ask({ run: 'call', enclave: x.id, ecall: f.name, args }, `calling ${f.name}`);
    });
    form.append(el('span', { className: 'name', textContent: `${f.returns ?? 'void'} ${f.name}${f.public ? '' : ' (private)'}` }), ...inputs, call);
    return form;
  });
  // The memory form: bytes of the enclave as the kernel, DRAM and a debugger see them.
  const space = el('select', { title: 'a pointer as the enclave\'s code holds it (an offset in its WebAssembly memory, e.g. what ecall_store_secret returns), or a linear address in ELRANGE' });
  space.name = 'space';
  for (const [value, label] of [['pointer', 'pointer'], ['linear', 'linear address']] as const) {
    const o = el('option', { textContent: label });
    o.value = value;
    space.append(o);
  }
  const address = el('input', { title: 'decimal or 0x…' });
  address.name = 'address';
  address.placeholder = 'address';
  const length = el('input', { title: 'bytes (1 to 256, within one page)' });
  length.name = 'length';
  length.value = '32';
  const view = el('button', { textContent: 'View' });
  view.type = 'submit';
  const peek = el('form', { className: 'peek', title: 'the same bytes as ring 0, DRAM and a debugger see them' }, el('span', { className: 'name', textContent: 'memory' }), space, address, length, view);
  peek.addEventListener('submit', (ev) => {
    ev.preventDefault();
    logLine(log, `> memory at ${space.value === 'pointer' ? 'pointer' : 'linear address'} ${address.value}, ${length.value} bytes`);
    ask({ run: 'peek', enclave: x.id, space: space.value === 'linear' ? 'linear' : 'pointer', address: address.value, length: length.value }, 'reading the enclave\'s memory');
  });
  const card = el('div', { className: 'mine' },
    el('div', { className: 'title' }, el('span', { textContent: `${x.name}: ${x.origin}, on ${e.profile}` }), unload),
    el('pre', { textContent: [
      `MRENCLAVE ${x.mrenclave}`, `MRSIGNER  ${x.mrsigner}`,
      `ELRANGE 0x${x.size.toString(16)} bytes at 0x${x.base.toString(16)}; ISVPRODID ${x.isvProdId}, ISVSVN ${x.isvSvn}; ${x.debug ? 'DEBUG' : 'production (not DEBUG)'}; OCALLs: ${x.ocalls.join(', ') || 'none'}`,
      `loaded in ${e.ms.toFixed(0)} ms: ${costText(x.cost)}`,
    ].join('\n') }),
    ...forms, peek, log);
  card.dataset.enclave = String(x.id);
  cards.set(x.id, { card, log });
  byId('mine').append(card);
  showMachine(e.machine, `loading ${x.name}`);
}

function showCalled(e: Extract<WorkerEvent, { kind: 'called' }>): void {
  const c = cards.get(e.outcome.id);
  if (c === undefined) return;
  const o = e.outcome;
  for (const l of outcomeLines(o)) logLine(c.log, `  ${l}`);
  logLine(c.log, `  ${costText(o.cost)} (${e.ms.toFixed(1)} ms here)`);
  showMachine(e.machine, `${o.ecall}`);
}

function showPeeked(e: Extract<WorkerEvent, { kind: 'peeked' }>): void {
  const v = e.views;
  const c = cards.get(v.id);
  if (c === undefined) return;
  for (const l of memoryViewLines(v)) logLine(c.log, `  ${l}`);
}

function showUnloaded(e: Extract<WorkerEvent, { kind: 'unloaded' }>): void {
  for (const id of e.enclaves) {
    cards.get(id)?.card.remove();
    cards.delete(id);
  }
  if (e.machine !== null) showMachine(e.machine, 'unloading');
}

function setState(state: 'starting' | 'idle' | 'running' | 'done' | 'error', text: string): void {
  document.body.dataset.state = state;
  byId('status').textContent = text;
  for (const id of BUTTONS) byId<HTMLButtonElement>(id).disabled = state === 'running' || state === 'starting';
  byId<HTMLButtonElement>('stop').disabled = state !== 'running';
  for (const b of document.querySelectorAll<HTMLButtonElement>('.mine button')) b.disabled = state === 'running' || state === 'starting';
}

function start(): void {
  let worker: Worker;
  /** The request the worker is on (one at a time), to tell a failed call's card. */
  let pending: PageRequest | null = null;
  const ask = (r: PageRequest, what: string) => {
    pending = r;
    setState('running', `${what}…`);
    worker.postMessage(r);
  };
  (globalThis as { witnessAsk?: (r: PageRequest) => void }).witnessAsk = (r) => ask(r, r.run === 'tour' ? 'running the tour' : 'running the attacks');
  let ready = false;
  /** Whether a ready worker is the first (which runs the tour) or one started after Stop. */
  let restarted = false;
  /** How many times Stop was pressed: what was begun before (a fetch, a file read) asks nothing of the new machine. */
  let stops = 0;
  const listen = (worker: Worker) => {
    worker.addEventListener('error', (e) => {
      setState('error', `the worker failed${ready ? '' : ' to start'}: ${e.message || 'see the console'}`);
      // A worker that never started answers nothing: a run asked of it would stay 'running' for good.
      if (!ready) for (const id of BUTTONS) byId<HTMLButtonElement>(id).disabled = true;
    });
    worker.addEventListener('message', (m: MessageEvent<WorkerEvent>) => {
      const e = m.data;
      events.push(e);
      switch (e.kind) {
        case 'ready':
          ready = true;
          // (a worker started after Stop keeps the profile chosen)
          const chosen = byId<HTMLSelectElement>('profile').value || 'win-x64-sgx1';
          byId<HTMLSelectElement>('profile').replaceChildren(...e.profiles.map((p) => {
            const o = el('option', { textContent: p });
            o.value = p;
            o.selected = p === chosen;
            return o;
          }));
          if (restarted) setState('idle', 'stopped: the machine was discarded with your enclaves, and a new one is ready');
          else {
            setState('idle', 'the machine is ready');
            ask({ run: 'tour' }, 'running the tour');
          }
          break;
        case 'step':
          showStep(e);
          break;
        case 'attack':
          showAttack(e);
          break;
        case 'loaded':
          showLoaded(e, ask);
          break;
        case 'called':
          showCalled(e);
          break;
        case 'unloaded':
          showUnloaded(e);
          break;
        case 'peeked':
          showPeeked(e);
          break;
        case 'done':
          pending = null;
          setState('done', `${DONE[e.run]} in ${e.ms < 1000 ? `${e.ms.toFixed(0)} ms` : `${(e.ms / 1000).toFixed(1)} s`}`);
          if (e.run === 'tour') selectBusiest();
          break;
        case 'error': {
          const text = `${e.name}${e.code ? ` ${e.code}` : ''}: ${e.message}`;
          const p: PageRequest | null = pending;
          if (p !== null && (p.run === 'call' || p.run === 'peek')) {
            const c = cards.get(p.enclave);
            if (c !== undefined) logLine(c.log, `  failed: ${text}`, true);
          }
          pending = null;
          setState('error', text);
          break;
        }
      }
    });
  };
  // (once, not per worker: `ask` posts to the worker of the moment)
  byId('run-tour').addEventListener('click', () => {
    byId('steps').replaceChildren();
    shown.length = 0;
    clearMachine();
    const seed = byId<HTMLInputElement>('seed').value.trim();
    ask(seed === '' ? { run: 'tour' } : { run: 'tour', seedHex: seed }, 'running the tour');
  });
  const spawn = () => {
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    listen(worker);
  };
  spawn();
  // Stop: whatever runs (an enclave that never returns, a long tour) ends with the worker; a new
  // worker starts, with a new machine (the workbench's enclaves are gone with the old one).
  byId('stop').addEventListener('click', () => {
    worker.terminate();
    pending = null;
    for (const c of cards.values()) c.card.remove();
    cards.clear();
    clearMachine();
    ready = false;
    restarted = true;
    stops++;
    setState('starting', 'stopping: starting a new machine…');
    spawn();
  });
  const seed = () => byId<HTMLInputElement>('seed').value.trim();
  const load = (files: { name: string; bytes: Uint8Array }[], what: string) => {
    const profile = byId<HTMLSelectElement>('profile').value;
    ask({ run: 'load', files, ...(profile !== '' ? { profile } : {}), ...(seed() !== '' ? { seedHex: seed() } : {}) }, what);
  };
  byId('load-files').addEventListener('click', () => {
    const chosen = [...(byId<HTMLInputElement>('enclave-files').files ?? [])];
    if (chosen.length === 0) {
      setState('error', 'choose your enclave\'s files first (one .wimg, or a .wasm with its .edl)');
      return;
    }
    setState('running', 'reading the files…');
    const at = stops;
    Promise.all(chosen.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })))
      .then((files) => {
        if (at === stops) load(files, `loading ${chosen.map((f) => f.name).join(', ')}`);
      })
      .catch((err: unknown) => {
        if (at === stops) setState('error', `the files could not be read: ${String(err)}`);
      });
  });
  byId('load-hello').addEventListener('click', () => {
    setState('running', 'fetching the hello example…');
    const fetchBytes = async (name: string) => {
      const r = await fetch(new URL(`../examples/hello/${name}`, document.baseURI));
      if (!r.ok) throw new WebError('FETCH_FAILED', `${name}: HTTP ${r.status}`, { status: r.status });
      return { name, bytes: new Uint8Array(await r.arrayBuffer()) };
    };
    const at = stops;
    Promise.all([fetchBytes('enclave.wasm'), fetchBytes('hello.edl')])
      .then((files) => {
        if (at === stops) load(files, 'building, signing and loading the hello example');
      })
      .catch((err: unknown) => {
        if (at === stops) setState('error', `the hello example could not be fetched: ${String(err)}`);
      });
  });
  byId('run-attacks').addEventListener('click', () => {
    byId('attacks').replaceChildren();
    ask({ run: 'attacks' }, 'running the hostile driver\'s attacks');
  });
}

byId<HTMLCanvasElement>('epc').addEventListener('mousemove', (ev) => {
  const canvas = ev.currentTarget as HTMLCanvasElement;
  const r = canvas.getBoundingClientRect();
  const x = Math.floor(((ev.clientX - r.left) * (canvas.width / r.width)) / CELL);
  const y = Math.floor(((ev.clientY - r.top) * (canvas.height / r.height)) / CELL);
  canvas.title = shownMachine === null || x >= COLUMNS ? '' : describeCell(shownMachine, y * COLUMNS + x);
});

setState('starting', 'starting the machine in a worker…');
start();
