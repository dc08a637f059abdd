import type { PacketView } from './packet-view.js';
import { decodeIcmp } from './icmp.js';

/** ICMPv6 (RFC 4443): the same first four bytes as ICMP. */
export function decodeIcmpv6(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 4) return out.short(at, 'icmpv6', 4);
  return decodeIcmp(b, at, out);
}
