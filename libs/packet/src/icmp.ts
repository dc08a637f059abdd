import type { PacketView } from './packet-view.js';

/** ICMP (RFC 792) and ICMPv6 (RFC 4443) share the type/code/checksum start. */
export function decodeIcmp(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 4) return out.short(at, 'icmp', 4);
  if (at + 4 > out.ipEnd) return out.fail(at, 'icmp: header runs past the IP packet');
  out.l4 = at;
  out.icmpType = b[at];
  out.icmpCode = b[at + 1];
  out.payload = at + 4;
  return -1;
}
