/** Software errors of src/web (the browser build). */
import { WitnessError } from '../lib/errors.js';

export class WebError extends WitnessError {}
