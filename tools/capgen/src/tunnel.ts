/**
 * Tunnel headers carrying an inner Ethernet frame: VXLAN (RFC 7348, over
 * UDP 4789) and GRE with transparent Ethernet bridging (proto 0x6558).
 *
 * Kept local on purpose: these are the 8- and 4-to-16-byte headers a test
 * frame needs, written byte by byte so a fixture can be checked against
 * tshark independently of `@netmirror/encap` (the product's encoders).
 */
import { EtherType } from '@netmirror/packet';
import { inetChecksum, put16, put32 } from './checksum.js';

export const VXLAN_PORT = 4789;

/** VXLAN header with the I flag and `vni`. Returns 8. */
export function writeVxlan(buf: Uint8Array, off: number, vni: number): number {
  put32(buf, off, 0x08000000);
  put32(buf, off + 4, ((vni & 0xffffff) * 256) >>> 0);
  return 8;
}

export interface GreSpec {
  /** Payload protocol; default 0x6558 (transparent Ethernet bridging). */
  protocol?: number;
  /** Sets the K bit and a 4-byte key. */
  key?: number;
  /** Sets the S bit and a 4-byte sequence number. */
  sequence?: number;
  /** Sets the C bit; fill the value with `writeGreChecksum` after the payload. */
  checksum?: boolean;
}

/** GRE header (version 0). Returns 4 + 4 per optional field (4-16). */
export function writeGre(buf: Uint8Array, off: number, s: GreSpec): number {
  const c = s.checksum === true;
  const k = s.key !== undefined;
  const sq = s.sequence !== undefined;
  put16(buf, off, (c ? 0x8000 : 0) | (k ? 0x2000 : 0) | (sq ? 0x1000 : 0));
  put16(buf, off + 2, s.protocol ?? EtherType.TEB);
  let at = off + 4;
  if (c) {
    put32(buf, at, 0);
    at += 4;
  }
  if (s.key !== undefined) {
    put32(buf, at, s.key >>> 0);
    at += 4;
  }
  if (s.sequence !== undefined) {
    put32(buf, at, s.sequence >>> 0);
    at += 4;
  }
  return at - off;
}

/** Fills the GRE checksum (C bit set) over the GRE header and payload `buf[off, off + len)`. */
export function writeGreChecksum(buf: Uint8Array, off: number, len: number): void {
  put16(buf, off + 4, 0);
  put16(buf, off + 4, inetChecksum(buf, off, off + len));
}
