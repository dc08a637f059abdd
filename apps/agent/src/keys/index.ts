export { DeviceKeySet, HELD_UNTIL_REPLACED } from './device-key-set.js';
export type { KeyOwner, KeyRingView, KeySetSummary } from './device-key-set.js';
export { KeySetStore } from './key-set-store.js';
export type { LoadedKeySet, StoredKeySet } from './key-set-store.js';
