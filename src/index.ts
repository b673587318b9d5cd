export * as lib from './lib/index.js';
export * from './arch/index.js';
