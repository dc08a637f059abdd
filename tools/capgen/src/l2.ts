/**
 * Link-layer builders: Ethernet II with 802.1Q/802.1ad tags, MPLS label
 * stacks and ARP. Each writes into `buf` at `off` and returns the bytes
 * written.
 */
import { EtherType } from '@netmirror/packet';
import { copyBytes, type Mac } from './addr.js';
import { put16, put32 } from './checksum.js';

/** One VLAN tag. `tpid` defaults to 0x8100 (802.1Q C-tag); use 0x88a8 for an 802.1ad S-tag. */
export interface VlanTag {
  vid: number;
  tpid?: number;
  pcp?: number;
  dei?: boolean;
}

/**
 * Ethernet II header with `tags` (outermost first) ahead of `etherType`.
 * Returns 14 + 4 * tags.length.
 */
export function writeEthernet(
  buf: Uint8Array,
  off: number,
  dst: Mac,
  src: Mac,
  etherType: number,
  tags?: readonly VlanTag[],
): number {
  copyBytes(buf, off, dst, 6);
  copyBytes(buf, off + 6, src, 6);
  let at = off + 12;
  if (tags !== undefined) {
    for (let i = 0; i < tags.length; i++) {
      const t = tags[i];
      put16(buf, at, t.tpid ?? EtherType.VLAN);
      put16(buf, at + 2, ((t.pcp ?? 0) << 13) | (t.dei === true ? 0x1000 : 0) | (t.vid & 0x0fff));
      at += 4;
    }
  }
  put16(buf, at, etherType);
  return at + 2 - off;
}

/**
 * Same as `writeEthernet` with tags given as parallel numbers, for hot
 * paths that keep no tag objects: `tpids[i]`, `tcis[i]` for i < count.
 */
export function writeEthernetRaw(
  buf: Uint8Array,
  off: number,
  dst: Mac,
  src: Mac,
  etherType: number,
  tpids: ArrayLike<number>,
  tcis: ArrayLike<number>,
  count: number,
): number {
  copyBytes(buf, off, dst, 6);
  copyBytes(buf, off + 6, src, 6);
  let at = off + 12;
  for (let i = 0; i < count; i++) {
    put16(buf, at, tpids[i]);
    put16(buf, at + 2, tcis[i]);
    at += 4;
  }
  put16(buf, at, etherType);
  return at + 2 - off;
}

/** One MPLS label stack entry; the bottom-of-stack bit is set on the last entry written. */
export interface MplsLabel {
  label: number;
  tc?: number;
  ttl?: number;
}

/** An MPLS label stack (EtherType 0x8847 precedes it). Returns 4 * labels.length. */
export function writeMplsStack(buf: Uint8Array, off: number, labels: readonly MplsLabel[]): number {
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    const bos = i === labels.length - 1 ? 1 : 0;
    const word =
      ((l.label & 0xfffff) * 4096 +
        ((l.tc ?? 0) & 7) * 512 +
        bos * 256 +
        ((l.ttl ?? 64) & 0xff)) >>>
      0;
    put32(buf, off + i * 4, word);
  }
  return labels.length * 4;
}

export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

/** ARP for IPv4 over Ethernet. For a request, `targetMac` is usually all zeros. */
export interface ArpSpec {
  op: number;
  senderMac: Mac;
  senderIp: number;
  targetMac: Mac;
  targetIp: number;
}

/** ARP body (28 bytes), after an Ethernet header with EtherType 0x0806. */
export function writeArp(buf: Uint8Array, off: number, a: ArpSpec): number {
  put16(buf, off, 1); // hardware: Ethernet
  put16(buf, off + 2, EtherType.IPV4);
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  put16(buf, off + 6, a.op);
  copyBytes(buf, off + 8, a.senderMac, 6);
  put32(buf, off + 14, a.senderIp);
  copyBytes(buf, off + 18, a.targetMac, 6);
  put32(buf, off + 24, a.targetIp);
  return 28;
}

/** Zero-pads a frame to the 60-byte Ethernet minimum (without FCS); returns the padded length. */
export function padFrame(buf: Uint8Array, off: number, len: number, min = 60): number {
  if (len >= min) return len;
  buf.fill(0, off + len, off + min);
  return min;
}
