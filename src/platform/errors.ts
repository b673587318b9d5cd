/** Software errors of src/platform. */
import { WitnessError } from '../lib/errors.js';

export class PlatformError extends WitnessError {}
