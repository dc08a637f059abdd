import { Tunnel } from './packet-view.js';
import type { PacketView } from './packet-view.js';

export const VXLAN_PORT = 4789;

/**
 * VXLAN (RFC 7348): 8 bytes (flags with I set, 24-bit VNI) and an inner
 * Ethernet frame. The inner frame is located, not decoded: decode it with a
 * second view when a rule looks inside tunnels.
 */
export function decodeVxlan(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 8) return out.fail(at, 'vxlan: header truncated');
  if ((b[at] & 0x08) === 0) return out.fail(at, 'vxlan: I flag not set');
  out.tunnel = Tunnel.VXLAN;
  out.tunnelId = (b[at + 4] << 16) | (b[at + 5] << 8) | b[at + 6];
  out.inner = at + 8;
  out.innerLinkType = 1;
  return -1;
}
