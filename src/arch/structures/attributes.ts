/** ATTRIBUTES (SDM 37.7.1): FLAGS (u64) ‖ XFRM (u64). */
import { defineLayout, u64 } from '../../lib/layout.js';

export const ATTRIBUTES = defineLayout('ATTRIBUTES', 16, [
  u64('FLAGS', 0, 'INIT(0) DEBUG(1) MODE64BIT(2) PROVISIONKEY(4) EINITTOKEN_KEY(5) CET(6) KSS(7) AEXNOTIFY(10)'),
  u64('XFRM', 8, 'XSAVE feature request mask (XCR0 layout)'),
] as const);
export type Attributes = ReturnType<typeof ATTRIBUTES.decode>;
