import type { PacketView } from './packet-view.js';
import { u16 } from './packet-view.js';
import { decodeVxlan, VXLAN_PORT } from './vxlan.js';

/** UDP (RFC 768): ports and length; port 4789 carries VXLAN. */
export function decodeUdp(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 8) {
    // A snap length may cut the header after the ports, which filters still see.
    if (out.avail(at) >= 4) {
      out.srcPort = u16(b, at);
      out.dstPort = u16(b, at + 2);
    }
    return out.short(at, 'udp', 8);
  }
  if (at + 8 > out.ipEnd) return out.fail(at, 'udp: header runs past the IP packet');
  out.l4 = at;
  out.srcPort = u16(b, at);
  out.dstPort = u16(b, at + 2);
  const len = u16(b, at + 4);
  // Length 0 is legal only for IPv6 jumbograms; the IP layer bounds the rest.
  if (len !== 0 && len < 8) return out.fail(at, `udp: length ${len} < 8`);
  out.payload = at + 8;
  if (out.dstPort === VXLAN_PORT && !out.isFragment) return decodeVxlan(b, at + 8, out);
  return -1;
}
