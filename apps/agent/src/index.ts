export { main } from './cli/main.js';
export * from './pipeline/index.js';
export * from './sinks/index.js';
export * from './taps/index.js';
export * from './reconcile/index.js';
export * from './daemon/index.js';
export * from './control/index.js';
