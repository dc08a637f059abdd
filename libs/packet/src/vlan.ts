import { EtherType } from './link-type.js';
import type { PacketView } from './packet-view.js';
import { MAX_VLAN_DEPTH, u16 } from './packet-view.js';

export function isVlanTpid(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD;
}

/**
 * 802.1Q / 802.1ad tag stack. `at` points at the first TPID (byte 12 of the
 * Ethernet header). Each tag is TPID(2) TCI(2); the EtherType after the last
 * tag names the network layer. Returns the network layer's offset, or -1.
 */
export function decodeVlanTags(b: Uint8Array, at: number, out: PacketView): number {
  let tpid = u16(b, at);
  while (isVlanTpid(tpid)) {
    if (out.vlanDepth >= MAX_VLAN_DEPTH) {
      return out.fail(at, `vlan: more than ${MAX_VLAN_DEPTH} stacked tags`);
    }
    if (out.avail(at) < 6) return out.fail(at, 'vlan: tag truncated');
    const tci = u16(b, at + 2);
    const depth = out.vlanDepth++;
    out.vlanTpids[depth] = tpid;
    out.vlanIds[depth] = tci & 0x0fff;
    out.vlanPcps[depth] = tci >>> 13;
    at += 4;
    tpid = u16(b, at);
  }
  out.etherType = tpid;
  return at + 2;
}
