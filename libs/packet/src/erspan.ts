import { Tunnel } from './packet-view.js';
import type { PacketView } from './packet-view.js';
import { u16 } from './packet-view.js';

/** ERSPAN type II header (8 bytes): Ver=1, VLAN, COS, En, T, session id, index. */
export function decodeErspan2(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 8) return out.fail(at, 'erspan2: header truncated');
  const version = b[at] >>> 4;
  if (version !== 1) return out.fail(at, `erspan2: version ${version}, expected 1`);
  out.tunnel = Tunnel.ERSPAN2;
  out.tunnelId = u16(b, at + 2) & 0x03ff;
  out.inner = at + 8;
  out.innerLinkType = 1;
  return -1;
}

/**
 * ERSPAN type III header (12 bytes, plus an 8-byte platform sub-header when
 * the O flag is set): Ver=2, VLAN, COS, BSO, T, session id, timestamp, SGT,
 * P, FT, HW id, D, Gra, O. Only frame type 0 (Ethernet) has an inner frame.
 */
export function decodeErspan3(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 12) return out.fail(at, 'erspan3: header truncated');
  const version = b[at] >>> 4;
  if (version !== 2) return out.fail(at, `erspan3: version ${version}, expected 2`);
  const optional = (b[at + 11] & 0x01) !== 0;
  const frameType = (b[at + 10] >>> 2) & 0x1f;
  const len = optional ? 20 : 12;
  if (out.avail(at) < len) return out.fail(at, 'erspan3: platform sub-header truncated');
  out.tunnel = Tunnel.ERSPAN3;
  out.tunnelId = u16(b, at + 2) & 0x03ff;
  if (frameType !== 0) return -1;
  out.inner = at + len;
  out.innerLinkType = 1;
  return -1;
}
