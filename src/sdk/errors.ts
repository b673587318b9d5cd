/** Software errors of src/sdk. */
import { WitnessError } from '../lib/errors.js';

export class SdkError extends WitnessError {}
