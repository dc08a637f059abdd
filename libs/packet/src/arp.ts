import type { PacketView } from './packet-view.js';
import { u16 } from './packet-view.js';

/**
 * ARP (RFC 826) for IPv4 over Ethernet: the sender and target protocol
 * addresses become the view's source and destination addresses, as tcpdump's
 * `arp host X` sees them.
 */
export function decodeArp(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 8) return out.fail(at, 'arp: header truncated');
  out.l3 = at;
  const hlen = b[at + 4];
  const plen = b[at + 5];
  const need = 8 + 2 * hlen + 2 * plen;
  if (out.avail(at) < need) return out.fail(at, `arp: ${out.avail(at)} bytes, needs ${need}`);
  if (u16(b, at + 2) === 0x0800 && plen === 4) {
    out.srcAddr = at + 8 + hlen;
    out.dstAddr = at + 8 + 2 * hlen + plen;
  }
  return -1;
}
