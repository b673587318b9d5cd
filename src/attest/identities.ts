/**
 * The identities of the Witness architectural enclaves, in one place: what ae.ts builds and signs
 * (test/attest/ae.test.ts checks the two agree) and what the simulated PCS publishes by default
 * (its QE Identity, and TCB Info levels that put a default Witness platform at UpToDate).
 */
import { fromHex } from '../lib/bytes.js';

/** MRSIGNER of ae/signer.pem: the Witness AE signing key (public; see ae.ts). */
export const WITNESS_AE_MRSIGNER = fromHex('3db80d1e5a01286ed833763069869081fe1c51a171a06e20eb8e5b7124b2ea4c');
/** The QE: ISVPRODID 1 (Intel's QE3 has 1), ISVSVN 2. */
export const QE_ISVPRODID = 1;
export const QE_ISVSVN = 2;
/** The PCE: ISVPRODID 2, ISVSVN (= PCESVN) 1. */
export const PCE_ISVPRODID = 2;
export const PCE_ISVSVN = 1;
