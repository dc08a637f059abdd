import type { PacketView } from './packet-view.js';
import { u16 } from './packet-view.js';

/** SCTP common header (RFC 9260): ports, which tcpdump's `port` also matches. */
export function decodeSctp(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 12) return out.short(at, 'sctp', 12);
  if (at + 12 > out.ipEnd) return out.fail(at, 'sctp: header runs past the IP packet');
  out.l4 = at;
  out.srcPort = u16(b, at);
  out.dstPort = u16(b, at + 2);
  out.payload = at + 12;
  return -1;
}
