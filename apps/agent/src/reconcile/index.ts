export { Reconciler } from './reconciler.js';
export type { ApplyResult, PolicySpec } from './reconciler.js';
export { StateStore } from './state-store.js';
export type { AppliedStates, VersionedState } from './state-store.js';
