import { EtherType } from './link-type.js';
import { decodeErspan2, decodeErspan3 } from './erspan.js';
import { Tunnel } from './packet-view.js';
import type { PacketView } from './packet-view.js';
import { u16, u32 } from './packet-view.js';

/**
 * GRE (RFC 2784, key and sequence from RFC 2890). Transparent Ethernet
 * bridging and ERSPAN carry an Ethernet frame; IPv4/IPv6 payloads are raw IP.
 * ERSPAN type I is GRE 0x88BE without a sequence number and without an
 * ERSPAN header, as Cisco sends it.
 */
export function decodeGre(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 4) return out.short(at, 'gre', 4);
  out.l4 = at;
  const flags = b[at];
  const version = b[at + 1] & 0x07;
  if (version !== 0) return out.fail(at, `gre: version ${version}`);
  const checksum = (flags & 0x80) !== 0;
  const key = (flags & 0x20) !== 0;
  const seq = (flags & 0x10) !== 0;
  const len = 4 + (checksum ? 4 : 0) + (key ? 4 : 0) + (seq ? 4 : 0);
  if (out.avail(at) < len) return out.fail(at, `gre: header truncated (${len} bytes)`);
  if (at + len > out.ipEnd) return out.fail(at, 'gre: header runs past the IP packet');
  const proto = u16(b, at + 2);
  if (key) out.tunnelId = u32(b, at + 4 + (checksum ? 4 : 0));
  const body = at + len;
  out.payload = body;
  switch (proto) {
    case EtherType.TEB:
      return innerAt(out, Tunnel.GRE, body, 1);
    case EtherType.IPV4:
    case EtherType.IPV6:
      return innerAt(out, Tunnel.GRE, body, 101);
    case EtherType.ERSPAN2:
      return seq ? decodeErspan2(b, body, out) : innerAt(out, Tunnel.ERSPAN1, body, 1);
    case EtherType.ERSPAN3:
      return decodeErspan3(b, body, out);
    default:
      return -1;
  }
}

function innerAt(out: PacketView, tunnel: Tunnel, at: number, linkType: number): number {
  out.tunnel = tunnel;
  out.inner = at;
  out.innerLinkType = linkType;
  return -1;
}
