export * from './attributes.js';
export * from './secs.js';
export * from './tcs.js';
export * from './ssa.js';
export * from './secinfo.js';
export * from './sigstruct.js';
export * from './einittoken.js';
export * from './report.js';
export * from './keyrequest.js';

import { ATTRIBUTES } from './attributes.js';
import { SECS } from './secs.js';
import { TCS } from './tcs.js';
import { GPRSGX, EXINFO } from './ssa.js';
import { SECINFO, PAGEINFO, PCMD } from './secinfo.js';
import { SIGSTRUCT } from './sigstruct.js';
import { EINITTOKEN } from './einittoken.js';
import { REPORT, REPORTBODY, TARGETINFO } from './report.js';
import { KEYREQUEST } from './keyrequest.js';
import type { AnyLayout } from '../../lib/layout.js';

/** Every architectural structure, by name (used by `witness inspect` and the tests). */
export const STRUCTURES: Readonly<Record<string, AnyLayout>> = {
  ATTRIBUTES, SECS, TCS, GPRSGX, EXINFO, SECINFO, PAGEINFO, PCMD, SIGSTRUCT, EINITTOKEN, REPORT, REPORTBODY, TARGETINFO, KEYREQUEST,
};
