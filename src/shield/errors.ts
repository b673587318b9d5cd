/** Software errors of src/shield: manifests, programs that cannot be shielded, a host that misbehaves at the API. */
import { WitnessError } from '../lib/errors.js';

export class ShieldError extends WitnessError {}
