// @netmirror/native/testing: helpers for tests and benches that capture real
// traffic. Not part of the addon's API.
export { VethLab, sh, quiet } from './veth-lab.js';
export type { VethPairOptions } from './veth-lab.js';
export { probeKit, probeKind } from './probes.js';
export type { ProbeKit, ProbeKind } from './probes.js';
