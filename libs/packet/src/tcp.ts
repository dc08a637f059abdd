import type { PacketView } from './packet-view.js';
import { u16 } from './packet-view.js';

/** TCP (RFC 9293): ports, flags, and a data offset checked against the packet. */
export function decodeTcp(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 20) {
    // A snap length may cut the header after the ports, which filters still see.
    if (out.avail(at) >= 4) {
      out.srcPort = u16(b, at);
      out.dstPort = u16(b, at + 2);
    }
    return out.short(at, 'tcp', 20);
  }
  const dataOffset = (b[at + 12] >>> 4) * 4;
  if (dataOffset < 20) return out.fail(at, `tcp: data offset ${dataOffset} < 20`);
  out.l4 = at;
  out.srcPort = u16(b, at);
  out.dstPort = u16(b, at + 2);
  out.tcpFlags = ((b[at + 12] & 0x01) << 8) | b[at + 13];
  if (at + dataOffset > out.ipEnd) {
    return out.fail(at, `tcp: data offset ${dataOffset} runs past the IP packet`);
  }
  out.payload = at + dataOffset;
  return -1;
}
