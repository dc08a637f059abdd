import type { LinkType } from './link-type.js';

/** Deepest 802.1Q/802.1ad stack decoded; deeper stacks are flagged malformed. */
export const MAX_VLAN_DEPTH = 8;
/** Deepest MPLS label stack decoded. */
export const MAX_MPLS_DEPTH = 8;
/** Most IPv6 extension headers walked before giving up. */
export const MAX_IPV6_EXTENSIONS = 8;

/** Tunnel a frame carries, when the decoder recognised one. */
export const Tunnel = {
  NONE: 0,
  VXLAN: 1,
  GRE: 2, // GRE with transparent Ethernet bridging, or GRE carrying IP
  ERSPAN1: 3,
  ERSPAN2: 4,
  ERSPAN3: 5,
} as const;
export type Tunnel = (typeof Tunnel)[keyof typeof Tunnel];

const EMPTY = new Uint8Array(0);

/**
 * The decoded layers of one frame, as offsets into the frame's buffer.
 *
 * One view is reused for every frame (no per-packet allocation): `decodeFrame`
 * resets it and fills what it finds. An offset of -1 means "absent". A frame
 * that cannot be decoded further is flagged with `malformed` (a reason) and
 * `malformedAt` (its byte offset); whatever was decoded before stays valid.
 */
export class PacketView {
  buf: Uint8Array = EMPTY;
  /** First byte of the frame in `buf`. */
  start = 0;
  /** One past the last captured byte. */
  end = 0;
  /** Length of the frame on the wire (may exceed end - start when sliced). */
  wireLen = 0;
  linkType: LinkType | number = 1;

  /** Ethernet header, or -1 for link types without one. */
  l2 = -1;
  /** Number of 802.1Q/802.1ad tags, outermost first in the arrays below. */
  vlanDepth = 0;
  readonly vlanIds = new Int32Array(MAX_VLAN_DEPTH);
  readonly vlanTpids = new Int32Array(MAX_VLAN_DEPTH);
  /** Priority code point of each tag. */
  readonly vlanPcps = new Int32Array(MAX_VLAN_DEPTH);
  mplsDepth = 0;
  /** Type of the network layer after tags and labels (EtherType), -1 if unknown. */
  etherType = -1;

  /** Network header (IPv4, IPv6, ARP), or -1. */
  l3 = -1;
  /** 4 or 6 for IP frames, 0 otherwise. */
  ipVersion = 0;
  /** Offsets of the source and destination addresses (4 or 16 bytes). */
  srcAddr = -1;
  dstAddr = -1;
  /** Transport protocol after IPv6 extension headers, -1 if not IP. */
  ipProto = -1;
  /** End of the IP packet as its header states (may lie past a sliced capture). */
  ipEnd = -1;
  isFragment = false;
  /** Fragment offset in bytes (0 for first fragments and whole packets). */
  fragOffset = 0;
  moreFragments = false;

  /** Transport header, or -1 (absent, or not the first fragment). */
  l4 = -1;
  srcPort = -1;
  dstPort = -1;
  tcpFlags = 0;
  icmpType = -1;
  icmpCode = -1;
  /** First byte after the transport header, or -1. */
  payload = -1;

  tunnel: Tunnel = Tunnel.NONE;
  /** First byte of the encapsulated frame or packet, or -1. */
  inner = -1;
  /** Link type of the encapsulated data (Ethernet, or raw IP for GRE/IP). */
  innerLinkType = 1;
  /** VXLAN VNI, GRE key or ERSPAN session id, -1 when absent. */
  tunnelId = -1;

  malformed: string | null = null;
  malformedAt = -1;
  /** Decoding stopped where the capture's snap length cut the frame (not malformed). */
  snapped = false;

  reset(buf: Uint8Array, start: number, caplen: number, wireLen: number, linkType: number): void {
    this.buf = buf;
    this.start = start;
    this.end = start + caplen;
    this.wireLen = wireLen;
    this.linkType = linkType;
    this.l2 = -1;
    this.vlanDepth = 0;
    this.mplsDepth = 0;
    this.etherType = -1;
    this.l3 = -1;
    this.ipVersion = 0;
    this.srcAddr = -1;
    this.dstAddr = -1;
    this.ipProto = -1;
    this.ipEnd = -1;
    this.isFragment = false;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.l4 = -1;
    this.srcPort = -1;
    this.dstPort = -1;
    this.tcpFlags = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.payload = -1;
    this.tunnel = Tunnel.NONE;
    this.inner = -1;
    this.innerLinkType = 1;
    this.tunnelId = -1;
    this.malformed = null;
    this.malformedAt = -1;
    this.snapped = false;
  }

  /** Flags the frame malformed at `at` and stops decoding (returns -1). */
  fail(at: number, reason: string): -1 {
    this.malformed = reason;
    this.malformedAt = at - this.start;
    return -1;
  }

  /**
   * Fewer than `need` captured bytes for `layer` at `at`: malformed, unless
   * the capture was sliced (the bytes existed on the wire but were not kept).
   */
  short(at: number, layer: string, need: number): -1 {
    if (this.end - this.start < this.wireLen && this.wireAvail(at) >= need) {
      this.snapped = true;
      return -1;
    }
    return this.fail(at, `${layer}: ${this.avail(at)} bytes, header needs ${need}`);
  }

  /** Captured bytes available from `at` to the end of the capture. */
  avail(at: number): number {
    return this.end - at;
  }

  /** Bytes the original frame had from `at` on, counting what slicing cut. */
  wireAvail(at: number): number {
    return this.wireLen - (at - this.start);
  }

  /** The outer VLAN id, or -1 when untagged. */
  get outerVlan(): number {
    return this.vlanDepth > 0 ? this.vlanIds[0] : -1;
  }

  /** True when any tag in the stack carries VLAN id `id`. */
  hasVlan(id: number): boolean {
    for (let i = 0; i < this.vlanDepth; i++) if (this.vlanIds[i] === id) return true;
    return false;
  }
}

export function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

export function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
