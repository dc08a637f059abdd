/**
 * IPv4 and IPv6 header builders. Both write the header only; the caller
 * writes `payloadLength` bytes of upper layer right after it.
 */
import { IpProto } from '@netmirror/packet';
import { copyBytes, type Ip6 } from './addr.js';
import { inetChecksum, put16, put32 } from './checksum.js';

export interface Ipv4Spec {
  src: number;
  dst: number;
  protocol: number;
  /** Bytes after the IPv4 header (sets Total Length unless `totalLength` is given). */
  payloadLength: number;
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset?: number;
  /** Raw option bytes; padded with End-of-Options to a 4-byte multiple (at most 40). */
  options?: Uint8Array;
  /** Overrides Total Length (for deliberately broken packets). */
  totalLength?: number;
}

/** IPv4 header with a correct header checksum. Returns the header length (20-60). */
export function writeIPv4(buf: Uint8Array, off: number, s: Ipv4Spec): number {
  const optLen = s.options === undefined ? 0 : s.options.length;
  if (optLen > 40) throw new Error(`ipv4: ${optLen} option bytes > 40`);
  const hlen = 20 + ((optLen + 3) & ~3);
  buf[off] = 0x40 | (hlen >> 2);
  buf[off + 1] = s.tos ?? 0;
  put16(buf, off + 2, s.totalLength ?? hlen + s.payloadLength);
  put16(buf, off + 4, s.id ?? 0);
  const frag =
    ((s.fragmentOffset ?? 0) >>> 3) | (s.df === true ? 0x4000 : 0) | (s.mf === true ? 0x2000 : 0);
  put16(buf, off + 6, frag);
  buf[off + 8] = s.ttl ?? 64;
  buf[off + 9] = s.protocol;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  put32(buf, off + 12, s.src);
  put32(buf, off + 16, s.dst);
  if (s.options !== undefined) {
    copyBytes(buf, off + 20, s.options);
    buf.fill(0, off + 20 + optLen, off + hlen);
  }
  put16(buf, off + 10, inetChecksum(buf, off, off + hlen));
  return hlen;
}

/** Recomputes the IPv4 header checksum in place (after editing a header). */
export function refreshIPv4Checksum(buf: Uint8Array, off: number): void {
  const hlen = (buf[off] & 0x0f) * 4;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  put16(buf, off + 10, inetChecksum(buf, off, off + Math.max(hlen, 20)));
}

/** An IPv6 extension header, written in the order given. */
export type Ipv6Extension =
  | { type: 'hop-by-hop' | 'destination'; options?: Uint8Array }
  | { type: 'routing'; routingType?: number; segmentsLeft?: number; addresses?: readonly Ip6[] }
  | { type: 'fragment'; offset: number; more: boolean; id: number };

export interface Ipv6Spec {
  src: Ip6;
  dst: Ip6;
  /** Upper-layer protocol, after any extension headers. */
  nextHeader: number;
  /** Upper-layer bytes after the last extension header. */
  payloadLength: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  extensions?: readonly Ipv6Extension[];
  /** Overrides the Payload Length field (for deliberately broken packets). */
  payloadLengthField?: number;
}

function extProto(e: Ipv6Extension): number {
  switch (e.type) {
    case 'hop-by-hop':
      return IpProto.HOPOPTS;
    case 'destination':
      return IpProto.DSTOPTS;
    case 'routing':
      return IpProto.ROUTING;
    case 'fragment':
      return IpProto.FRAGMENT;
  }
}

/** Writes one extension header; returns its length (a multiple of 8). */
function writeExtension(buf: Uint8Array, off: number, e: Ipv6Extension, next: number): number {
  buf[off] = next;
  switch (e.type) {
    case 'hop-by-hop':
    case 'destination': {
      const optLen = e.options === undefined ? 0 : e.options.length;
      const len = (2 + optLen + 7) & ~7;
      buf[off + 1] = len / 8 - 1;
      if (e.options !== undefined) copyBytes(buf, off + 2, e.options);
      const pad = len - 2 - optLen;
      if (pad === 1)
        buf[off + len - 1] = 0; // Pad1
      else if (pad >= 2) {
        buf[off + 2 + optLen] = 1; // PadN
        buf[off + 3 + optLen] = pad - 2;
        buf.fill(0, off + 4 + optLen, off + len);
      }
      return len;
    }
    case 'routing': {
      const addrs = e.addresses ?? [];
      const routingType = e.routingType ?? 4;
      buf[off + 1] = addrs.length * 2;
      buf[off + 2] = routingType;
      buf[off + 3] = e.segmentsLeft ?? 0;
      put32(buf, off + 4, 0);
      if (routingType === 4) buf[off + 4] = Math.max(addrs.length - 1, 0); // SRH Last Entry
      for (let i = 0; i < addrs.length; i++) copyBytes(buf, off + 8 + i * 16, addrs[i], 16);
      return 8 + addrs.length * 16;
    }
    case 'fragment':
      buf[off + 1] = 0;
      put16(buf, off + 2, (e.offset & 0xfff8) | (e.more ? 1 : 0));
      put32(buf, off + 4, e.id);
      return 8;
  }
}

/** IPv6 header plus extension headers. Returns the bytes written (40 + extensions). */
export function writeIPv6(buf: Uint8Array, off: number, s: Ipv6Spec): number {
  const tc = s.trafficClass ?? 0;
  const fl = s.flowLabel ?? 0;
  put32(buf, off, ((6 << 28) | (tc << 20) | (fl & 0xfffff)) >>> 0);
  const ext = s.extensions ?? [];
  buf[off + 6] = ext.length > 0 ? extProto(ext[0]) : s.nextHeader;
  buf[off + 7] = s.hopLimit ?? 64;
  copyBytes(buf, off + 8, s.src, 16);
  copyBytes(buf, off + 24, s.dst, 16);
  let at = off + 40;
  for (let i = 0; i < ext.length; i++) {
    at += writeExtension(buf, at, ext[i], i + 1 < ext.length ? extProto(ext[i + 1]) : s.nextHeader);
  }
  const extLen = at - off - 40;
  put16(buf, off + 4, s.payloadLengthField ?? extLen + s.payloadLength);
  return at - off;
}

/**
 * Writes a bare IPv6 header (no extensions) from numbers, for hot paths.
 * `payloadLength` is the Payload Length field.
 */
export function writeIPv6Raw(
  buf: Uint8Array,
  off: number,
  src: Ip6,
  dst: Ip6,
  nextHeader: number,
  payloadLength: number,
  hopLimit: number,
  flowLabel: number,
): number {
  put32(buf, off, ((6 << 28) | (flowLabel & 0xfffff)) >>> 0);
  put16(buf, off + 4, payloadLength);
  buf[off + 6] = nextHeader;
  buf[off + 7] = hopLimit;
  copyBytes(buf, off + 8, src, 16);
  copyBytes(buf, off + 24, dst, 16);
  return 40;
}
