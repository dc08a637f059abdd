import type { PacketView } from './packet-view.js';

/**
 * Symmetric flow key: both directions of a conversation give the same key and
 * hash. The key is the endpoints in a canonical order (lower address/port
 * first), the transport protocol and the VLAN ids (outer, inner).
 *
 * Layout (FLOW_KEY_BYTES = 44): [0] IP version, [1] protocol, [2..3] outer VLAN + 1,
 * [4..5] inner VLAN + 1, [6..7] low port, [8..23] low address,
 * [24..39] high address, [40..41] high port, [42..43] zero.
 */
export const FLOW_KEY_BYTES = 44;

/** 32-bit symmetric hash of a decoded frame's flow; 0 for frames without IP. */
export function flowHash(v: PacketView): number {
  if (v.ipVersion === 0) return vlanOnlyHash(v);
  const b = v.buf;
  const n = v.ipVersion === 4 ? 4 : 16;
  const sp = v.srcPort < 0 ? 0 : v.srcPort;
  const dp = v.dstPort < 0 ? 0 : v.dstPort;
  const order = compareEndpoints(b, v.srcAddr, sp, v.dstAddr, dp, n);
  const loA = order <= 0 ? v.srcAddr : v.dstAddr;
  const hiA = order <= 0 ? v.dstAddr : v.srcAddr;
  const loP = order <= 0 ? sp : dp;
  const hiP = order <= 0 ? dp : sp;
  let h = 0x9747b28c ^ (v.ipProto & 0xff);
  for (let i = 0; i < n; i += 4) h = mix(h, word(b, loA + i));
  for (let i = 0; i < n; i += 4) h = mix(h, word(b, hiA + i));
  h = mix(h, ((loP << 16) | hiP) >>> 0);
  h = mix(h, vlanWord(v));
  return fmix(h ^ n);
}

/** Writes the canonical key of `v` into `out[at .. at+FLOW_KEY_BYTES)`. */
export function writeFlowKey(v: PacketView, out: Uint8Array, at: number): void {
  out.fill(0, at, at + FLOW_KEY_BYTES);
  out[at] = v.ipVersion;
  out[at + 1] = v.ipProto < 0 ? 0 : v.ipProto;
  const vw = vlanWord(v);
  out[at + 2] = vw >>> 24;
  out[at + 3] = vw >>> 16;
  out[at + 4] = vw >>> 8;
  out[at + 5] = vw;
  if (v.ipVersion === 0) return;
  const b = v.buf;
  const n = v.ipVersion === 4 ? 4 : 16;
  const sp = v.srcPort < 0 ? 0 : v.srcPort;
  const dp = v.dstPort < 0 ? 0 : v.dstPort;
  const swap = compareEndpoints(b, v.srcAddr, sp, v.dstAddr, dp, n) > 0;
  const loA = swap ? v.dstAddr : v.srcAddr;
  const hiA = swap ? v.srcAddr : v.dstAddr;
  const loP = swap ? dp : sp;
  const hiP = swap ? sp : dp;
  out[at + 6] = loP >>> 8;
  out[at + 7] = loP;
  for (let i = 0; i < n; i++) out[at + 8 + i] = b[loA + i];
  for (let i = 0; i < n; i++) out[at + 24 + i] = b[hiA + i];
  out[at + 40] = hiP >>> 8;
  out[at + 41] = hiP;
}

/** Human-readable flow, for logs and tests (allocates; not for the hot path). */
export function formatFlow(v: PacketView): string {
  if (v.ipVersion === 0) return 'non-ip';
  const n = v.ipVersion === 4 ? 4 : 16;
  const addr = (at: number): string => formatAddress(v.buf, at, n);
  const port = (p: number): string => (p < 0 ? '' : `:${p}`);
  return `${addr(v.srcAddr)}${port(v.srcPort)} > ${addr(v.dstAddr)}${port(v.dstPort)} proto ${v.ipProto}`;
}

export function formatAddress(b: Uint8Array, at: number, len: number): string {
  if (len === 4) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[at + i] << 8) | b[at + i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function compareEndpoints(
  b: Uint8Array,
  a: number,
  ap: number,
  c: number,
  cp: number,
  n: number,
): number {
  for (let i = 0; i < n; i++) {
    const d = b[a + i] - b[c + i];
    if (d !== 0) return d;
  }
  return ap - cp;
}

function vlanWord(v: PacketView): number {
  if (v.vlanDepth === 0) return 0;
  const outer = v.vlanIds[0] + 1;
  const inner = v.vlanDepth > 1 ? v.vlanIds[v.vlanDepth - 1] + 1 : 0;
  return ((outer << 16) | inner) >>> 0;
}

function vlanOnlyHash(v: PacketView): number {
  return v.vlanDepth === 0 ? 0 : fmix(mix(0x9747b28c, vlanWord(v)));
}

function word(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

// MurmurHash3's block mix and finaliser: cheap, and spreads small differences.
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
