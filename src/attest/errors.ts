/** Software errors of src/attest: malformed quotes, certificates and collateral, untrusted chains. */
import { WitnessError } from '../lib/errors.js';

export class AttestError extends WitnessError {}
