import { parseArgs } from 'node:util';
import { runCatalogue, ATTACKS } from '../../os/adversary/index.js';
import { makeHelloVictim } from '../../platform/victim.js';
import { WINDOWS_PROFILES, type WindowsProfileId } from '../../os/windows/index.js';
import { LINUX_PROFILES, isLinuxProfile } from '../../os/linux/index.js';
import { CliError, toJson, type Io } from '../io.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'attack',
  usage: `witness attack [--json] [--only NAME]... [--profile P]   (exit 0 only when no attack leaked or modified anything; P: win-x64-sgx1 (default), win-x64-sgx2, ${LINUX_PROFILES.filter((x) => x !== 'linux-nosgx').join(', ')})`,
  example: 'witness attack --json',
  run(argv: string[], io: Io): number {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, only: { type: 'string', multiple: true }, profile: { type: 'string' } }, strict: true });
    const profile = values.profile ?? 'win-x64-sgx1';
    const usable: string[] = [...WINDOWS_PROFILES.filter((x) => x === 'win-x64-sgx1' || x === 'win-x64-sgx2'), ...LINUX_PROFILES.filter((x) => x !== 'linux-nosgx')];
    if (!usable.includes(profile)) throw new CliError('CLI_PROFILE', `the attacks need a profile that runs enclaves: one of ${usable.join(', ')}`);
    const only = values.only ?? [];
    const unknown = only.filter((n) => !ATTACKS.some((a) => a.name === n));
    if (unknown.length) {
      throw new CliError('CLI_ATTACK', `unknown attack${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the attacks: ${ATTACKS.map((a) => a.name).join(', ')})`, 2, { unknown });
    }
    const chosen = only.length ? ATTACKS.filter((a) => only.includes(a.name)) : ATTACKS;
    const results = runCatalogue(() => makeHelloVictim(undefined, isLinuxProfile(profile) ? profile : (profile as WindowsProfileId)), chosen);
    const failed = results.filter((r) => r.leaked || r.modified);
    if (values.json) io.out(toJson(results.map((r) => ({ name: r.name, attempted: r.attempted, blockedBy: r.blockedBy, leaked: r.leaked, modified: r.modified, detail: r.detail }))));
    else {
      io.out(`The hostile driver ran ${results.length} attacks against a production enclave holding a known secret (${profile}):\n`);
      for (const r of results) {
        io.out(`${r.leaked || r.modified ? 'BREACH' : 'blocked'}  ${r.name}`);
        io.out(`         tried:       ${r.attempted}`);
        io.out(`         stopped by:  ${r.blockedBy}`);
        io.out(`         observed:    ${r.detail}`);
        io.out(`         leaked: ${r.leaked}, modified: ${r.modified}\n`);
      }
      io.out(failed.length ? `${failed.length} attack(s) succeeded.` : 'No attack leaked or modified the secret.');
    }
    return failed.length ? 1 : 0;
  },
};
