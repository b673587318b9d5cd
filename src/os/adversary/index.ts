/** The adversary: a hostile ring-0 driver and the catalogue of attacks it runs against enclaves. */
export { HostileDriver } from './driver.js';
export { ATTACKS, runAttack, runCatalogue, type Attack, type AttackOutcome, type Victim, type VictimPage } from './catalogue.js';
