export type { KernelPrefilter, Tap } from './tap.js';
export { PcapFileTap } from './pcap-tap.js';
export { openTap, openTaps } from './open-tap.js';
export { MergedTap } from './merged-tap.js';
export { XdpTap, xdpTapOptions } from './xdp-tap.js';
export type { XdpTapOptions } from './xdp-tap.js';
export { AfPacketTap } from './afpacket-tap.js';
export type { AfPacketTapOptions } from './afpacket-tap.js';
