/** Software errors of src/attest. */
import { WitnessError } from '../lib/errors.js';

export class AttestError extends WitnessError {}
