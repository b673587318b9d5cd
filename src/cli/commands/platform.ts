import { parseArgs } from 'node:util';
import { createPlatform, createLinuxPlatform } from '../../platform/index.js';
import { WINDOWS_PROFILES, ENCLAVE_TYPE_SGX, ENCLAVE_TYPE_SGX2, type WindowsProfileId } from '../../os/windows/index.js';
import { LINUX_PROFILES, isLinuxProfile, O_RDWR, errnoName } from '../../os/linux/index.js';
import type { Processor } from '../../arch/index.js';
import { toHex } from '../../lib/index.js';
import { CliError, toJson, type Io } from '../io.js';
import type { Command } from '../main.js';

export const command: Command = {
  name: 'platform',
  usage: `witness platform info [--profile P] [--json]   (P: ${[...WINDOWS_PROFILES, ...LINUX_PROFILES].join(', ')})`,
  example: 'witness platform info --profile win-x64-sgx2 --json',
  run(argv: string[], io: Io): number {
    const { values, positionals } = parseArgs({ args: argv, options: { profile: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (positionals[0] !== 'info' || positionals.length !== 1) throw new CliError('CLI_USAGE', 'usage: witness platform info [--profile P] [--json]');
    const profile = values.profile ?? 'win-x64-sgx1';
    if (!WINDOWS_PROFILES.includes(profile as WindowsProfileId) && !isLinuxProfile(profile)) throw new CliError('CLI_PROFILE', `unknown profile ${profile} (one of ${[...WINDOWS_PROFILES, ...LINUX_PROFILES].join(', ')})`);
    let os: Record<string, unknown>, osLine: string, processor: Processor, description: string;
    if (isLinuxProfile(profile)) {
      const p = createLinuxPlatform({ profile });
      processor = p.processor;
      description = p.profile.description;
      const fd = p.libc.open('/dev/sgx_enclave', O_RDWR);
      const device = fd >= 0 ? true : `absent (${errnoName(p.libc.errno)})`;
      if (fd >= 0) p.libc.close(fd);
      const vdso = p.libc.vdsoSym('__vdso_sgx_enter_enclave') !== null;
      os = { linux: { devSgxEnclave: device, vdsoSgxEnterEnclave: vdso, sgx2Ioctls: p.libc.sys.sgx2 } };
      osLine = `linux                /dev/sgx_enclave ${device === true ? 'present' : String(device)}; __vdso_sgx_enter_enclave ${vdso ? 'present' : 'absent'}; SGX2 ioctls and EAUG on fault ${p.libc.sys.sgx2 ? 'yes' : 'no (ENODEV)'}`;
    } else {
      const p = createPlatform({ profile: profile as WindowsProfileId });
      processor = p.processor;
      description = p.profile.description;
      const k = p.kernel32;
      const sgx = k.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX);
      const sgxErr = sgx ? 0 : k.GetLastError();
      const sgx2 = k.IsEnclaveTypeSupported(ENCLAVE_TYPE_SGX2);
      os = { windows: { exports: p.profile.exports, IsEnclaveTypeSupported_SGX: sgx ? true : `FALSE (error ${sgxErr})`, IsEnclaveTypeSupported_SGX2: sgx2 } };
      osLine = `kernel32             enclave exports: ${p.profile.exports}; IsEnclaveTypeSupported(SGX) = ${sgx ? 'true' : `FALSE (error ${sgxErr})`}, (SGX2) = ${sgx2}`;
    }
    const c = processor.inspect.cpuid;
    const info = {
      profile, description,
      cpu: { sgx1: c.sgx1, sgx2: c.sgx2, enabledInBios: c.enabled, flexibleLaunchControl: c.flc, kss: c.kss, maxEnclaveSize: `2^${c.maxEnclaveSizeLog2}`, miscselectMask: c.miscselectMask, attributesMask: '0x' + c.attributesFlagsMask.toString(16), xfrmMask: '0x' + c.xfrmMask.toString(16) },
      epc: { size: processor.epcPages * 4096, pages: processor.epcPages, base: '0x' + processor.epcBase.toString(16), prmSize: processor.prm.size },
      launchControl: c.flc ? 'flexible (the OS writes IA32_SGXLEPUBKEYHASH)' : 'legacy (EINITTOKEN from a launch enclave)',
      cpusvn: toHex(processor.inspect.cpusvn),
      logicalProcessors: processor.lps.length,
      ...os,
    };
    if (values.json) {
      io.out(toJson(info));
      return 0;
    }
    io.out(`profile              ${profile}: ${info.description}`);
    io.out(`SGX1 / SGX2          ${c.sgx1 ? 'yes' : 'no'} / ${c.sgx2 ? 'yes' : 'no'}${c.sgx1 && !c.enabled ? ' (disabled in the BIOS)' : ''}`);
    io.out(`EPC                  ${c.sgx1 && c.enabled ? `${(info.epc.size / 2 ** 20).toFixed(1)} MiB (${info.epc.pages} pages) in a ${info.epc.prmSize / 2 ** 20} MiB PRM at ${info.epc.base}` : 'none usable'}`);
    io.out(`launch control       ${info.launchControl}`);
    io.out(`CPUSVN               ${info.cpusvn}`);
    io.out(`logical processors   ${info.logicalProcessors}`);
    io.out(`max enclave size     ${info.cpu.maxEnclaveSize} bytes; ATTRIBUTES mask ${info.cpu.attributesMask}, XFRM mask ${info.cpu.xfrmMask}, MISCSELECT mask ${c.miscselectMask}`);
    io.out(osLine);
    return 0;
  },
};
