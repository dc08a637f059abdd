import { EtherType } from './link-type.js';
import { decodeVlanTags } from './vlan.js';
import type { PacketView } from './packet-view.js';
import { u16 } from './packet-view.js';

/**
 * Ethernet II: destination, source, EtherType, then any 802.1Q/802.1ad tags.
 * Returns the offset of the network layer with `out.etherType` set, or -1.
 */
export function decodeEthernet(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 14) return out.short(at, 'ethernet', 14);
  out.l2 = at;
  const type = u16(b, at + 12);
  if (type < 0x0600) {
    // 802.3 length field (LLC/SNAP follows): nothing above it is decoded.
    out.etherType = -1;
    return -1;
  }
  out.etherType = type;
  if (type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD) {
    return decodeVlanTags(b, at + 12, out);
  }
  return at + 14;
}
