/**
 * Small writers for the outer headers the kernel normally adds (Ethernet,
 * IPv4, UDP), for tests that build complete frames and for a raw-frame sink
 * that emits encapsulated copies out of a monitor interface itself.
 */
import { IpProto } from '@netmirror/packet';

export const ETH_HEADER_LEN = 14;
export const IPV4_HEADER_LEN = 20;
export const UDP_HEADER_LEN = 8;

/**
 * RFC 1071 Internet checksum of `buf[off .. off+len)`, folded and inverted.
 * `initial` is a partial (unfolded) sum, e.g. a pseudo-header's. A region
 * that includes a correct checksum field yields 0.
 */
export function internetChecksum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i < end) sum += buf[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Parses dotted-quad IPv4 text into a uint32; throws on anything else. */
export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new RangeError(`not an IPv4 address: ${text}`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Parses `aa:bb:cc:dd:ee:ff` into 6 bytes; throws on anything else. */
export function parseMac(text: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text))
    throw new RangeError(`not a MAC address: ${text}`);
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}

/** Writes dst MAC, src MAC and EtherType; returns 14. */
export function writeEthernetHeader(
  dst: Buffer,
  off: number,
  dstMac: Uint8Array,
  srcMac: Uint8Array,
  etherType: number,
): number {
  dst.set(dstMac.subarray(0, 6), off);
  dst.set(srcMac.subarray(0, 6), off + 6);
  dst.writeUInt16BE(etherType, off + 12);
  return ETH_HEADER_LEN;
}

export interface IPv4HeaderFields {
  /** Source address as a uint32 (see `parseIPv4`). */
  src: number;
  dst: number;
  protocol: number;
  /** Header plus payload, bytes. */
  totalLength: number;
  ttl?: number;
  id?: number;
  /** Sets DF; default true (mirror copies should not be fragmented silently). */
  dontFragment?: boolean;
  /** DSCP (6 bits); default 0. */
  dscp?: number;
}

/** Writes a 20-byte IPv4 header (no options) with a correct header checksum; returns 20. */
export function writeIPv4Header(dst: Buffer, off: number, h: IPv4HeaderFields): number {
  dst[off] = 0x45;
  dst[off + 1] = ((h.dscp ?? 0) & 0x3f) << 2;
  dst.writeUInt16BE(h.totalLength, off + 2);
  dst.writeUInt16BE(h.id ?? 0, off + 4);
  dst.writeUInt16BE(h.dontFragment === false ? 0 : 0x4000, off + 6);
  dst[off + 8] = h.ttl ?? 64;
  dst[off + 9] = h.protocol;
  dst.writeUInt16BE(0, off + 10);
  dst.writeUInt32BE(h.src >>> 0, off + 12);
  dst.writeUInt32BE(h.dst >>> 0, off + 16);
  dst.writeUInt16BE(internetChecksum(dst, off, IPV4_HEADER_LEN), off + 10);
  return IPV4_HEADER_LEN;
}

/** Writes an 8-byte UDP header with checksum 0 ("none", allowed over IPv4); returns 8. */
export function writeUdpHeader(
  dst: Buffer,
  off: number,
  srcPort: number,
  dstPort: number,
  udpLength: number,
): number {
  dst.writeUInt16BE(srcPort, off);
  dst.writeUInt16BE(dstPort, off + 2);
  dst.writeUInt16BE(udpLength, off + 4);
  dst.writeUInt16BE(0, off + 6);
  return UDP_HEADER_LEN;
}

/**
 * Computes the UDP checksum over the IPv4 pseudo-header, the UDP header at
 * `udpOff` and its payload (length from the UDP header), and stores it.
 * (RFC 7348 lets VXLAN senders leave it 0; tests fill it to check the whole frame.)
 */
export function fillUdpChecksumIPv4(buf: Buffer, ipOff: number, udpOff: number): number {
  const udpLength = buf.readUInt16BE(udpOff + 4);
  buf.writeUInt16BE(0, udpOff + 6);
  let pseudo = 0;
  for (let i = 12; i < 20; i += 2) pseudo += buf.readUInt16BE(ipOff + i);
  pseudo += IpProto.UDP + udpLength;
  let c = internetChecksum(buf, udpOff, udpLength, pseudo);
  if (c === 0) c = 0xffff; // 0 means "no checksum" in UDP over IPv4
  buf.writeUInt16BE(c, udpOff + 6);
  return c;
}
