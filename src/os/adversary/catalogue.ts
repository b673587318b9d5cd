/**
 * The attack catalogue: what a malicious kernel or driver tries against an enclave, each with the
 * defence expected to stop it. Every attack runs against a fresh victim (some attacks lock the
 * machine) that holds a known secret, and reports whether the secret was leaked (seen anywhere by
 * the attacker) or modified (the enclave later read something else).
 *
 * The victim is supplied by the caller (the platform layer builds it with the SDK), so that this
 * layer stays below the SDK.
 */
import { ArchFault, ENCLS, PT, SECS, sgxStatusName, VECTOR, mrsignerOf } from '../../arch/index.js';
import { bytesEqual, writeU64le } from '../../lib/bytes.js';
import { ENCLAVE_TYPE_SGX } from '../windows/constants.js';
import type { Kernel, KernelEnclave } from '../kernel.js';
import type { EvictedPage } from '../pager.js';
import { OsError } from '../errors.js';
import type { Process } from '../process.js';
import { HostileDriver } from './driver.js';

/** A page of the victim's image, as its loader added it. */
export interface VictimPage {
  readonly offset: number;
  readonly secinfoFlags: number;
  readonly measured: boolean;
  readonly data: Uint8Array;
}

/** A freshly built enclave with a known secret inside. */
export interface Victim {
  readonly kernel: Kernel;
  readonly process: Process;
  readonly base: number;
  readonly size: number;
  readonly tcs: readonly number[];
  /** The known secret and the enclave linear address where it lives. */
  readonly secret: Uint8Array;
  readonly secretAddress: number;
  /** Ask the enclave for its secret (an ECALL); throws when the enclave cannot be entered. */
  readSecret(): Uint8Array;
  /** Ask the enclave to replace its secret. */
  writeSecret(value: Uint8Array): void;
  /** Run `during` while a thread of the victim is inside the enclave (at its interrupt windows). */
  whileInside(during: () => void): void;
  /** The image as loaded: SECS, pages and SIGSTRUCT (for replays with changes). */
  readonly image: { readonly secs: Uint8Array; readonly pages: readonly VictimPage[]; readonly sigstruct: Uint8Array };
  /** A valid SIGSTRUCT of a different enclave by the same signer. */
  readonly otherSigstruct: Uint8Array;
  /** A second enclave on the same platform (another signer), with its own secret page. */
  readonly other: { readonly base: number; readonly secretAddress: number; readonly tcs: readonly number[] };
  /** Re-sign the victim's measurement with the attacker's own key; return whether an enclave so signed could unseal the victim's MRSIGNER-sealed secret. */
  resignAndUnseal(): { einitStatus: number; unsealed: Uint8Array | null; status: number };
}

export interface AttackOutcome {
  readonly name: string;
  /** What the attacker did. */
  readonly attempted: string;
  /** What stopped it. */
  readonly blockedBy: string;
  readonly leaked: boolean;
  readonly modified: boolean;
  /** Observations (status codes, faults) for people. */
  readonly detail: string;
}

export interface Attack {
  readonly name: string;
  readonly attempted: string;
  /** The defence expected to stop it. */
  readonly defence: string;
  run(v: Victim, d: HostileDriver): { blockedBy: string; observed: Uint8Array[]; detail: string };
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return false;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function faultText(e: unknown): string {
  if (e instanceof ArchFault) return `${e.mnemonic}${e.vector === VECTOR.PF ? ` (PFEC 0x${e.errorCode.toString(16)})` : ''}: ${e.reason}`;
  return e instanceof Error ? e.message : String(e);
}

/** Try `fn`; return the fault it raised (or null when it did not fault). */
function tryFault(fn: () => unknown): ArchFault | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof ArchFault) return e;
    throw e;
  }
}

/** What `fn` threw, as text for people ('no fault' when it returned). */
function faultOf(fn: () => unknown): string {
  try {
    fn();
    return 'no fault';
  } catch (e) {
    return faultText(e);
  }
}

/**
 * Run `during` with the victim process's page at `la` pointed at frame `pa`; afterwards, whatever
 * happened, the page-table entry is put back exactly as it was (frame and flags), or removed if
 * there was none.
 */
function remapped<T>(v: Victim, d: HostileDriver, la: number, pa: number, during: () => T): T {
  const pt = v.process.pageTable;
  const vpn = Math.floor(la / 4096);
  const saved = pt.lookup(vpn);
  d.remap(v.process, la, pa);
  try {
    return during();
  } finally {
    if (saved) pt.map(vpn, saved.pfn, saved.flags);
    else pt.unmap(vpn);
  }
}

const frameOf = (v: Victim, d: HostileDriver, la: number) => d.frameOf(v.process, la - (la % 4096)) + (la % 4096);
const allOnes = (b: Uint8Array) => b.every((x) => x === 0xff);
/** Round down (addresses exceed 32 bits: never use bitwise operators on them). */
const down = (a: number, to: number) => a - (a % to);

export const ATTACKS: readonly Attack[] = [
  {
    name: 'kernel-read-epc',
    attempted: "read the physical frame holding the secret from kernel mode",
    defence: 'abort-page semantics: non-enclave reads of the PRM return all-ones',
    run(v, d) {
      const b = d.readPhysical(frameOf(v, d, v.secretAddress), v.secret.length);
      return { blockedBy: this.defence, observed: [b], detail: `read ${allOnes(b) ? 'all-ones' : 'data!'}` };
    },
  },
  {
    name: 'host-read-enclave',
    attempted: "read the enclave's linear address from the host process (user mode)",
    defence: 'abort-page semantics through the MMU',
    run(v) {
      const b = v.process.read(v.secretAddress, v.secret.length);
      return { blockedBy: this.defence, observed: [b], detail: `read ${allOnes(b) ? 'all-ones' : 'data!'}` };
    },
  },
  {
    name: 'kernel-write-epc',
    attempted: "overwrite the secret's frame from kernel mode",
    defence: 'abort-page semantics: non-enclave writes to the PRM are dropped',
    run(v, d) {
      d.writePhysical(frameOf(v, d, v.secretAddress), new Uint8Array(v.secret.length).fill(0x41));
      return { blockedBy: this.defence, observed: [], detail: 'write dropped' };
    },
  },
  {
    name: 'dma-read',
    attempted: "read the secret's frame from DRAM with a DMA device",
    defence: 'memory encryption: DRAM holds AES ciphertext of EPC pages',
    run(v, d) {
      const b = d.dmaRead(down(frameOf(v, d, v.secretAddress), 4096), 4096);
      return { blockedBy: this.defence, observed: [b], detail: 'ciphertext' };
    },
  },
  {
    name: 'cold-boot-dump',
    attempted: 'dump the whole EPC from DRAM (cold boot)',
    defence: 'memory encryption under a per-boot key',
    run(v, d) {
      const p = v.kernel.processor;
      const b = d.dmaRead(p.epcBase, Math.min(p.epcPages, 2048) * 4096);
      return { blockedBy: this.defence, observed: [b], detail: `${b.length} bytes of ciphertext` };
    },
  },
  {
    name: 'dma-write',
    attempted: "write garbage into the secret's frame in DRAM behind the memory encryption engine",
    defence: 'MEE integrity check: the next enclave access locks the machine (drop-and-lock)',
    run(v, d) {
      const pa = frameOf(v, d, v.secretAddress);
      d.dmaWrite(pa, new Uint8Array(64).fill(0x41));
      let detail = 'tampered page never consumed';
      try {
        v.readSecret();
      } catch (e) {
        detail = `enclave entry: ${faultText(e)}; machine locked: ${v.kernel.processor.locked !== null}`;
      }
      return { blockedBy: this.defence, observed: [], detail };
    },
  },
  {
    name: 'dma-replay',
    attempted: 'save the ciphertext of the secret page, let the enclave change it, write the old ciphertext back',
    defence: 'MEE versions: an old ciphertext fails the integrity check (drop-and-lock)',
    run(v, d) {
      const pa = down(frameOf(v, d, v.secretAddress), 4096);
      const old = d.dmaRead(pa, 4096);
      v.writeSecret(v.secret);
      const tampered = d.dmaWrite(pa, old);
      let detail = `replayed ciphertext flagged on ${tampered} page(s)`;
      try {
        v.readSecret();
      } catch (e) {
        detail += `; enclave entry: ${faultText(e)}`;
      }
      return { blockedBy: this.defence, observed: [old], detail };
    },
  },
  {
    name: 'remap-within-enclave',
    attempted: "remap the secret's linear page to another frame of the same enclave",
    defence: 'EPCM linear-address check (#PF with PFEC.SGX)',
    run(v, d) {
      const la = down(v.secretAddress, 4096);
      const detail = remapped(v, d, la, d.frameOf(v.process, la + 4096), () => faultOf(() => v.readSecret()));
      return { blockedBy: this.defence, observed: [], detail };
    },
  },
  {
    name: 'remap-cross-enclave',
    attempted: "map the victim's secret page to the other enclave's secret frame",
    defence: 'EPCM owner check (#PF with PFEC.SGX)',
    run(v, d) {
      const la = down(v.secretAddress, 4096);
      const detail = remapped(v, d, la, d.frameOf(v.process, down(v.other.secretAddress, 4096)), () => faultOf(() => v.readSecret()));
      return { blockedBy: this.defence, observed: [], detail };
    },
  },
  {
    name: 'eadd-after-einit',
    attempted: 'EADD a page of attacker code into the initialized enclave',
    defence: 'EADD refuses an initialized SECS (#GP): MRENCLAVE is final',
    run(v, d) {
      const epc = v.kernel.epc.alloc(false);
      const secs = findSecs(v);
      const f = tryFault(() => d.eadd(secs, epc, v.base + v.size - 4096, (PT.REG << 8) | 7, new Uint8Array(4096).fill(0xcc)));
      v.kernel.epc.free(epc);
      return { blockedBy: this.defence, observed: [], detail: f ? faultText(f) : 'EADD succeeded!' };
    },
  },
  {
    name: 'einit-modified-image',
    attempted: 'load the image with one byte of its code changed and the original SIGSTRUCT',
    defence: 'EINIT compares MRENCLAVE with SIGSTRUCT.ENCLAVEHASH (SGX_INVALID_MEASUREMENT)',
    run(v) {
      const st = replay(v, (pages) => pages.map((p, i) => (i === 1 ? { ...p, data: flip(p.data, 100) } : p)), v.image.sigstruct);
      return { blockedBy: this.defence, observed: [], detail: `EINIT returned ${sgxStatusName(st)}` };
    },
  },
  {
    name: 'forged-sigstruct',
    attempted: 'load the image with a SIGSTRUCT whose signed bytes were edited (ISVSVN raised)',
    defence: 'EINIT verifies the RSA-3072 signature (SGX_INVALID_SIGNATURE)',
    run(v) {
      const sig = v.image.sigstruct.slice();
      sig[1026] = (sig[1026]! + 1) & 0xff;
      const st = replay(v, (p) => p, sig);
      return { blockedBy: this.defence, observed: [], detail: `EINIT returned ${sgxStatusName(st)}` };
    },
  },
  {
    name: 'sigstruct-for-other-enclave',
    attempted: "initialize the victim's pages with another enclave's valid SIGSTRUCT",
    defence: 'EINIT: ENCLAVEHASH must equal MRENCLAVE (SGX_INVALID_MEASUREMENT)',
    run(v) {
      const st = replay(v, (p) => p, v.otherSigstruct);
      return { blockedBy: this.defence, observed: [], detail: `EINIT returned ${sgxStatusName(st)}` };
    },
  },
  {
    name: 'resigned-sigstruct',
    attempted: "re-sign the victim's measurement with the attacker's own key and unseal the victim's MRSIGNER-sealed secret",
    defence: 'identity: MRSIGNER is the hash of the signing key, so the seal key differs (SGX_ERROR_MAC_MISMATCH)',
    run(v) {
      const r = v.resignAndUnseal();
      return { blockedBy: this.defence, observed: r.unsealed ? [r.unsealed] : [], detail: `EINIT ${sgxStatusName(r.einitStatus)}; unseal status 0x${r.status.toString(16)}` };
    },
  },
  {
    name: 'edbgrd-production',
    attempted: 'read the secret with EDBGRD (production enclave)',
    defence: 'EDBGRD requires ATTRIBUTES.DEBUG (#GP)',
    run(v, d) {
      const pa = down(frameOf(v, d, v.secretAddress), 8);
      const observed: Uint8Array[] = [];
      const f = tryFault(() => {
        const r = d.edbgrd(pa);
        const b = new Uint8Array(8);
        writeU64le(b, 0, r.value);
        observed.push(b);
      });
      return { blockedBy: this.defence, observed, detail: f ? faultText(f) : 'EDBGRD succeeded!' };
    },
  },
  {
    name: 'edbgwr-production',
    attempted: 'overwrite the secret with EDBGWR (production enclave)',
    defence: 'EDBGWR requires ATTRIBUTES.DEBUG (#GP)',
    run(v, d) {
      const f = tryFault(() => d.edbgwr(down(frameOf(v, d, v.secretAddress), 8), 0x4141414141414141n));
      return { blockedBy: this.defence, observed: [], detail: f ? faultText(f) : 'EDBGWR succeeded!' };
    },
  },
  {
    name: 'interrupt-read-ssa',
    attempted: "interrupt the enclave mid-call, then read its SSA frames and the registers the host gets",
    defence: 'AEX saves state into the SSA (EPC, abort page) and loads synthetic registers',
    run(v, d) {
      const observed: Uint8Array[] = [];
      const ssaFrame = d.frameOf(v.process, v.tcs[0]! + 4096);
      let interrupts = 0;
      v.whileInside(() => {
        const lp = v.kernel.processor.lps.find((l) => l.inEnclaveMode);
        if (lp && interrupts++ < 4) lp.injectInterrupt();
        observed.push(d.readPhysical(ssaFrame, 4096), d.dmaRead(ssaFrame, 4096));
      });
      return { blockedBy: this.defence, observed, detail: `${interrupts} interrupt(s) taken; SSA read as all-ones and as ciphertext` };
    },
  },
  {
    name: 'enter-busy-tcs',
    attempted: "enter the victim's TCS from another logical processor while a thread is inside",
    defence: 'EENTER refuses a TCS whose STATE is active (#GP)',
    run(v, d) {
      let detail = 'never inside';
      v.whileInside(() => {
        if (detail !== 'never inside') return;
        const f = tryFault(() => d.enter(v.process, v.tcs[0]!, { rdi: 0 }));
        detail = f ? faultText(f) : 'entered!';
      });
      return { blockedBy: this.defence, observed: [], detail };
    },
  },
  {
    name: 'enter-foreign-tcs',
    attempted: "alias the victim's TCS frame at another linear address and enter there",
    defence: 'EENTER checks EPCM.ENCLAVEADDRESS of the TCS (#PF with PFEC.SGX)',
    run(v, d) {
      const alias = v.other.base + 0x1000_0000; // any free address
      const f = remapped(v, d, alias, d.frameOf(v.process, v.tcs[0]!), () => tryFault(() => d.enter(v.process, alias, { rdi: 0 })));
      return { blockedBy: this.defence, observed: [], detail: f ? faultText(f) : 'entered!' };
    },
  },
  {
    name: 'eremove-while-inside',
    attempted: "EREMOVE the secret's page while a thread is inside the enclave",
    defence: 'EREMOVE refuses pages of an enclave with active threads (SGX_ENCLAVE_ACT)',
    run(v, d) {
      let detail = 'never inside';
      const pa = down(frameOf(v, d, v.secretAddress), 4096);
      v.whileInside(() => {
        if (detail !== 'never inside') return;
        const f = tryFault(() => {
          detail = `EREMOVE returned ${sgxStatusName(d.encls(ENCLS.EREMOVE, 0, pa))}`;
        });
        if (f) detail = faultText(f);
      });
      return { blockedBy: this.defence, observed: [], detail };
    },
  },
  {
    name: 'evict-read-backing',
    attempted: "evict the secret's page (EWB) and read what the kernel holds for it: the written-out page and its PCMD",
    defence: 'EWB encrypts the page under the per-boot paging key (CR_BASE_PK)',
    run(v, d) {
      const { ev } = evictSecret(v, d);
      const page = d.readPhysical(ev.src, 4096), pcmd = d.readPhysical(ev.pcmd, 128);
      return { blockedBy: this.defence, observed: [page, pcmd], detail: 'evicted: the kernel holds ciphertext and a MAC' };
    },
  },
  {
    name: 'evict-tamper',
    attempted: "evict the secret's page, change a byte of its encrypted copy, and let the enclave load it back",
    defence: 'ELDU checks the MAC over the page and its metadata (SGX_MAC_COMPARE_FAIL): a changed page is never loaded',
    run(v, d) {
      const { enc, la, ev } = evictSecret(v, d);
      d.writePhysical(ev.src + 7, flip(d.readPhysical(ev.src + 7, 1), 0));
      const st = d.kernel.pager.load(enc, la);
      return { blockedBy: this.defence, observed: [], detail: `ELDU returned ${sgxStatusName(st)}; the enclave's access: ${faultOf(() => v.readSecret())}` };
    },
  },
  {
    name: 'evict-replay',
    attempted: "evict the secret's page and keep its encrypted copy, let the enclave change the page, evict it again, and load the old copy",
    defence: 'the version in the VA slot: ELDU of the older copy fails its MAC (SGX_MAC_COMPARE_FAIL), and each copy loads at most once',
    run(v, d) {
      const { enc, la, ev: first } = evictSecret(v, d);
      const oldPage = d.readPhysical(first.src, 4096), oldPcmd = d.readPhysical(first.pcmd, 128);
      v.writeSecret(v.secret); // (the page is loaded back, written, and gets a new version at its next eviction)
      const second = evictSecret(v, d).ev;
      d.writePhysical(second.src, oldPage);
      d.writePhysical(second.pcmd, oldPcmd);
      const st = d.kernel.pager.load(enc, la);
      return { blockedBy: this.defence, observed: [oldPage], detail: `ELDU of the older copy returned ${sgxStatusName(st)}` };
    },
  },
  {
    name: 'evict-swap-pages',
    attempted: "evict the secret's page and the page after it, and load each one's encrypted copy in the other's place",
    defence: "the page's linear address is under the MAC: ELDU at another address fails (SGX_MAC_COMPARE_FAIL)",
    run(v, d) {
      const { enc, la } = secretPage(v);
      const next = la + 4096;
      d.kernel.pager.evict(enc, la);
      d.kernel.pager.evict(enc, next);
      const a = enc.evicted.get(la)!, b = enc.evicted.get(next)!;
      const pa = d.readPhysical(a.src, 4096), pcmdA = d.readPhysical(a.pcmd, 128);
      d.writePhysical(a.src, d.readPhysical(b.src, 4096));
      d.writePhysical(a.pcmd, d.readPhysical(b.pcmd, 128));
      d.writePhysical(b.src, pa);
      d.writePhysical(b.pcmd, pcmdA);
      const st = [d.kernel.pager.load(enc, la), d.kernel.pager.load(enc, next)].map(sgxStatusName);
      return { blockedBy: this.defence, observed: [], detail: `ELDU of the swapped copies returned ${st.join(', ')}` };
    },
  },
];

/** Evict the victim's secret page (the kernel's pager): its enclave, page address and what the kernel holds for it. */
function evictSecret(v: Victim, d: HostileDriver): { enc: KernelEnclave; la: number; ev: EvictedPage } {
  const { enc, la } = secretPage(v);
  if (d.kernel.pager.evict(enc, la) !== 'evicted') throw new OsError('VICTIM_BUSY', 'the victim\'s secret page could not be evicted');
  return { enc, la, ev: enc.evicted.get(la)! };
}

/** The victim's kernel enclave object and the linear page holding its secret. */
function secretPage(v: Victim): { enc: KernelEnclave; la: number } {
  const enc = v.kernel.enclaves.find((x) => x.base === v.base);
  if (!enc) throw new OsError('VICTIM_GONE', 'the victim enclave is gone');
  return { enc, la: down(v.secretAddress, 4096) };
}

function flip(b: Uint8Array, i: number): Uint8Array {
  const c = b.slice();
  c[i] = c[i]! ^ 1;
  return c;
}

function findSecs(v: Victim): number {
  const e = v.kernel.enclaves.find((x) => x.base === v.base);
  if (!e) throw new OsError('VICTIM_GONE', 'the victim enclave is gone');
  // (A SECS the pager evicted is loaded back: the attacks name it by its EPC page.)
  if (e.secsEvicted !== null && v.kernel.pager.loadSecs(e) !== 0) throw new OsError('VICTIM_GONE', 'the victim\'s SECS cannot be loaded back');
  return e.secs;
}

/** Rebuild the victim's enclave at a new address with modified pages / SIGSTRUCT; return EINIT's status. */
function replay(v: Victim, edit: (p: readonly VictimPage[]) => readonly VictimPage[], sigstruct: Uint8Array): number {
  const k = v.kernel;
  const secs = v.image.secs;
  const size = v.size;
  const base = v.process.findFree(size, Math.max(size, 2 << 20), 0x1_0000_0000);
  const s = secs.slice();
  writeU64le(s, SECS.field('BASEADDR').offset, base);
  const enc = k.createEnclave(v.process, base, size, ENCLAVE_TYPE_SGX, s, 0);
  if ('error' in enc) throw new OsError('REPLAY_CREATE', `replay: cannot create an enclave (${enc.error})`, { error: enc.error });
  let status: number;
  try {
    const src = k.sgx.sourcePage;
    for (const p of edit(v.image.pages)) {
      k.processor.memory.writePhysical(src, p.data);
      if (k.addPage(enc, base + p.offset, src, p.secinfoFlags, p.measured) < 0) throw new OsError('OUT_OF_EPC', 'replay: the EPC is full');
    }
    k.sgx.setLePubKeyHash(mrsignerOf(sigstruct, k.processor.crypto));
    status = k.sgx.einit(sigstruct, new Uint8Array(304), enc.secs);
  } catch (e) {
    k.destroyEnclave(enc); // best effort: the first error is the one to report
    throw e;
  }
  // A replay enclave that cannot be torn down (a locked machine) would keep its EPC and address
  // range: say so rather than leave it behind silently.
  const st = k.destroyEnclave(enc);
  if (st !== 0) throw new OsError('REPLAY_TEARDOWN', `replay: the enclave could not be removed (${typeof st === 'number' ? `status ${st}` : st.error})`, { status: st });
  return status;
}

/** Run one attack against a fresh victim and judge it. */
export function runAttack(a: Attack, makeVictim: () => Victim): AttackOutcome {
  const v = makeVictim();
  const d = new HostileDriver(v.kernel);
  let r: { blockedBy: string; observed: Uint8Array[]; detail: string };
  try {
    r = a.run(v, d);
  } finally {
    d.onEnclaveStep(null);
  }
  const leaked = r.observed.some((b) => contains(b, v.secret));
  let modified = false;
  let after = '';
  if (v.kernel.processor.locked === null) {
    try {
      const s = v.readSecret();
      modified = !bytesEqual(s, v.secret);
    } catch (e) {
      after = `; afterwards the enclave refuses to run (${faultText(e)})`;
    }
  } else after = '; the machine is locked (no tampered data was ever consumed)';
  return { name: a.name, attempted: a.attempted, blockedBy: r.blockedBy, leaked, modified, detail: r.detail + after };
}

export function runCatalogue(makeVictim: () => Victim, attacks: readonly Attack[] = ATTACKS): AttackOutcome[] {
  return attacks.map((a) => runAttack(a, makeVictim));
}

