// @netmirror/serial-link/testing: helpers for tests and emulators. Not part
// of the link's API.
export { createPtyPair } from './pty-pair.js';
export type { PtyPair } from './pty-pair.js';
export { createMemoryPair } from './memory-pair.js';
