/** Software errors of src/os (misuse of the kernel's API; not Win32 or NTSTATUS results, which are values). */
import { WitnessError } from '../lib/errors.js';

export class OsError extends WitnessError {}
