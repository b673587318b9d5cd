/** Software errors of src/arch: misuse of the model's own API (bad configuration, bad arguments). */
import { WitnessError } from '../lib/errors.js';

export class ArchError extends WitnessError {}
