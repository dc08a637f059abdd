/**
 * Transport builders: TCP, UDP, ICMP echo, ICMPv6 echo and neighbour
 * discovery. Headers are written first, the caller writes the payload, then
 * `writeL4Checksum` fills the checksum over the pseudo-header and the bytes.
 */
import { IpProto } from '@netmirror/packet';
import { copyBytes, type Ip6, type Mac } from './addr.js';
import { fold, fold16, put16, put32, sum16 } from './checksum.js';

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export interface TcpSpec {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** OR of `TcpFlag` values. */
  flags: number;
  window?: number;
  urgent?: number;
  /** Raw option bytes; padded with End-of-Options to a 4-byte multiple (at most 40). */
  options?: Uint8Array;
  /** Overrides the Data Offset field, in 32-bit words (for deliberately broken segments). */
  dataOffsetWords?: number;
}

/** TCP header with checksum zero. Returns the header length (20-60). */
export function writeTcp(buf: Uint8Array, off: number, s: TcpSpec): number {
  const optLen = s.options === undefined ? 0 : s.options.length;
  if (optLen > 40) throw new Error(`tcp: ${optLen} option bytes > 40`);
  const hlen = 20 + ((optLen + 3) & ~3);
  put16(buf, off, s.srcPort);
  put16(buf, off + 2, s.dstPort);
  put32(buf, off + 4, s.seq >>> 0);
  put32(buf, off + 8, s.ack >>> 0);
  buf[off + 12] = ((s.dataOffsetWords ?? hlen / 4) & 0x0f) << 4;
  buf[off + 13] = s.flags & 0xff;
  put16(buf, off + 14, s.window ?? 64240);
  put16(buf, off + 16, 0);
  put16(buf, off + 18, s.urgent ?? 0);
  if (s.options !== undefined) {
    copyBytes(buf, off + 20, s.options);
    buf.fill(0, off + 20 + optLen, off + hlen);
  }
  return hlen;
}

export interface UdpSpec {
  srcPort: number;
  dstPort: number;
  /** Bytes after the UDP header. */
  payloadLength: number;
  /** Overrides the Length field. */
  lengthField?: number;
}

/** UDP header with checksum zero. Returns 8. */
export function writeUdp(buf: Uint8Array, off: number, s: UdpSpec): number {
  put16(buf, off, s.srcPort);
  put16(buf, off + 2, s.dstPort);
  put16(buf, off + 4, s.lengthField ?? 8 + s.payloadLength);
  put16(buf, off + 6, 0);
  return 8;
}

export const IcmpType = { ECHO_REPLY: 0, ECHO_REQUEST: 8 } as const;
export const Icmp6Type = {
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  NEIGHBOR_SOLICITATION: 135,
  NEIGHBOR_ADVERTISEMENT: 136,
} as const;

/** ICMP or ICMPv6 echo header (type, code 0, checksum zero, id, seq). Returns 8. */
export function writeIcmpEcho(
  buf: Uint8Array,
  off: number,
  type: number,
  id: number,
  seq: number,
): number {
  buf[off] = type;
  buf[off + 1] = 0;
  put16(buf, off + 2, 0);
  put16(buf, off + 4, id);
  put16(buf, off + 6, seq);
  return 8;
}

/**
 * ICMPv6 neighbour solicitation (type 135) or advertisement (136, with the
 * Solicited and Override flags) for `target`, with a source/target
 * link-layer address option carrying `mac`. Returns 32; checksum zero.
 */
export function writeNeighborDiscovery(
  buf: Uint8Array,
  off: number,
  type: number,
  target: Ip6,
  mac: Mac,
): number {
  buf[off] = type;
  buf[off + 1] = 0;
  put16(buf, off + 2, 0);
  put32(buf, off + 4, type === Icmp6Type.NEIGHBOR_ADVERTISEMENT ? 0x60000000 : 0);
  copyBytes(buf, off + 8, target, 16);
  buf[off + 24] = type === Icmp6Type.NEIGHBOR_ADVERTISEMENT ? 2 : 1;
  buf[off + 25] = 1; // 8 bytes
  copyBytes(buf, off + 26, mac, 6);
  return 32;
}

/**
 * The unfolded sum of the pseudo-header for the IP header at `ipOff`
 * (IPv4 or IPv6 by its version nibble). For IPv6 the destination is the
 * header's (a routing header with segments left is not followed).
 */
export function pseudoHeaderSum(
  buf: Uint8Array,
  ipOff: number,
  protocol: number,
  l4Len: number,
): number {
  if (buf[ipOff] >> 4 === 4) {
    return sum16(buf, ipOff + 12, ipOff + 20, protocol + l4Len);
  }
  return sum16(
    buf,
    ipOff + 8,
    ipOff + 40,
    protocol + Math.floor(l4Len / 0x10000) + (l4Len & 0xffff),
  );
}

/** Offset of the checksum field within a transport header, or -1. */
export function checksumFieldOffset(protocol: number): number {
  switch (protocol) {
    case IpProto.TCP:
      return 16;
    case IpProto.UDP:
      return 6;
    case IpProto.ICMP:
    case IpProto.ICMPV6:
      return 2;
    default:
      return -1;
  }
}

/**
 * Fills the checksum of the transport segment `buf[l4Off, l4Off + l4Len)`
 * carried by the IP header at `ipOff`: TCP, UDP (0 becomes 0xffff), ICMPv6
 * over the pseudo-header, ICMPv4 over the message alone. Returns the value.
 */
export function writeL4Checksum(
  buf: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  protocol: number,
): number {
  return writeL4ChecksumWithTail(buf, ipOff, l4Off, l4Len, protocol, l4Off + l4Len, 0);
}

/**
 * Same as `writeL4Checksum` when the sum of the segment's last bytes,
 * `buf[tailOff, l4Off + l4Len)`, is already known: `tailSum` is their
 * unfolded word sum taken as if they started at an even offset (the
 * function corrects for an odd position by byte-swapping, RFC 1071 2(B)).
 */
export function writeL4ChecksumWithTail(
  buf: Uint8Array,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  protocol: number,
  tailOff: number,
  tailSum: number,
): number {
  const field = l4Off + checksumFieldOffset(protocol);
  buf[field] = 0;
  buf[field + 1] = 0;
  const start = protocol === IpProto.ICMP ? 0 : pseudoHeaderSum(buf, ipOff, protocol, l4Len);
  let tail = tailSum;
  if (((tailOff - l4Off) & 1) !== 0) {
    tail = fold16(tail);
    tail = ((tail & 0xff) << 8) | (tail >>> 8);
  }
  let c = fold(sum16(buf, l4Off, tailOff, start) + tail);
  if (c === 0 && protocol === IpProto.UDP) c = 0xffff;
  put16(buf, field, c);
  return c;
}
