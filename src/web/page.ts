/**
 * The visualizer page (web/index.html loads it): it starts the machine in a Web Worker
 * (worker.ts), asks it for the tour or the attacks, and draws what the worker reports: each step's
 * text (as `witness demo` prints it), the EPC as a map of pages coloured by EPCM page type and
 * owning enclave, the enclaves, and the SGX leaves counted with their estimated cost. It holds no
 * reference into the model: only the worker's messages. Compiled with DOM types
 * (tsconfig.web.json).
 */
import type { MachineSnapshot, PageRequest, WorkerEvent } from './protocol.js';

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

function setState(state: 'starting' | 'idle' | 'running' | 'done' | 'error', text: string): void {
  document.body.dataset.state = state;
  byId('status').textContent = text;
  for (const id of ['run-tour', 'run-attacks']) byId<HTMLButtonElement>(id).disabled = state === 'running' || state === 'starting';
}

function start(): void {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const ask = (r: PageRequest, what: string) => {
    setState('running', `${what}…`);
    worker.postMessage(r);
  };
  (globalThis as { witnessAsk?: (r: PageRequest) => void }).witnessAsk = (r) => ask(r, r.run === 'tour' ? 'running the tour' : 'running the attacks');
  let ready = false;
  worker.addEventListener('error', (e) => {
    setState('error', `the worker failed${ready ? '' : ' to start'}: ${e.message || 'see the console'}`);
    // A worker that never started answers nothing: a run asked of it would stay 'running' for good.
    if (!ready) for (const id of ['run-tour', 'run-attacks']) byId<HTMLButtonElement>(id).disabled = true;
  });
  worker.addEventListener('message', (m: MessageEvent<WorkerEvent>) => {
    const e = m.data;
    events.push(e);
    switch (e.kind) {
      case 'ready':
        ready = true;
        setState('idle', 'the machine is ready');
        ask({ run: 'tour' }, 'running the tour');
        break;
      case 'step':
        showStep(e);
        break;
      case 'attack':
        showAttack(e);
        break;
      case 'done':
        setState('done', `${e.run === 'tour' ? 'the tour' : 'the attacks'} ran in ${(e.ms / 1000).toFixed(1)} s`);
        if (e.run === 'tour') selectBusiest();
        break;
      case 'error':
        setState('error', `${e.name}${e.code ? ` ${e.code}` : ''}: ${e.message}`);
        break;
    }
  });
  byId('run-tour').addEventListener('click', () => {
    byId('steps').replaceChildren();
    shown.length = 0;
    clearMachine();
    const seed = byId<HTMLInputElement>('seed').value.trim();
    ask(seed === '' ? { run: 'tour' } : { run: 'tour', seedHex: seed }, 'running the tour');
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
