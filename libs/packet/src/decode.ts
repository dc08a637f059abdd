import { decodeArp } from './arp.js';
import { decodeEthernet } from './ethernet.js';
import { decodeGre } from './gre.js';
import { decodeIcmp } from './icmp.js';
import { decodeIcmpv6 } from './icmpv6.js';
import { decodeIPv4 } from './ipv4.js';
import { decodeIPv6 } from './ipv6.js';
import { EtherType, IpProto, LinkType } from './link-type.js';
import { decodeMpls } from './mpls.js';
import type { PacketView } from './packet-view.js';
import { decodeSctp } from './sctp.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';

/**
 * Decodes one frame in place into `out` (reset first) and returns it.
 * Never throws on frame contents: a frame that cannot be decoded is flagged
 * with `out.malformed`.
 */
export function decodeFrame(
  buf: Uint8Array,
  start: number,
  caplen: number,
  wirelen: number,
  linkType: number,
  out: PacketView,
): PacketView {
  out.reset(buf, start, caplen, wirelen < caplen ? caplen : wirelen, linkType);
  if (caplen === 0) {
    out.fail(start, 'frame: zero length');
    return out;
  }
  const l3 = decodeLink(buf, start, linkType, out);
  if (l3 < 0) return out;
  const l4 = decodeNetwork(buf, l3, out);
  if (l4 < 0) return out;
  decodeTransport(buf, l4, out);
  return out;
}

/** Decodes the frame the tunnel in `outer` carries into `out`. */
export function decodeInner(outer: PacketView, out: PacketView): PacketView {
  const consumed = outer.inner - outer.start;
  return decodeFrame(
    outer.buf,
    outer.inner,
    outer.end - outer.inner,
    outer.wireLen - consumed,
    outer.innerLinkType,
    out,
  );
}

function decodeLink(b: Uint8Array, at: number, linkType: number, out: PacketView): number {
  switch (linkType) {
    case LinkType.ETHERNET:
      return decodeEthernet(b, at, out);
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return rawIp(b, at, out);
    case LinkType.LINUX_SLL:
      if (out.avail(at) < 16) return out.fail(at, 'sll: header truncated');
      out.etherType = (b[at + 14] << 8) | b[at + 15];
      return at + 16;
    case LinkType.NULL: {
      if (out.avail(at) < 4) return out.fail(at, 'null: header truncated');
      // Host byte order of the capturing machine; AF_INET is 2 either way.
      const family = b[at] | b[at + 3];
      out.etherType = family === 2 ? EtherType.IPV4 : family >= 24 ? EtherType.IPV6 : -1;
      return out.etherType === -1 ? -1 : at + 4;
    }
    default:
      return -1;
  }
}

function rawIp(b: Uint8Array, at: number, out: PacketView): number {
  const version = b[at] >>> 4;
  out.etherType = version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : -1;
  return out.etherType === -1 ? out.fail(at, `ip: version ${version}`) : at;
}

function decodeNetwork(b: Uint8Array, at: number, out: PacketView): number {
  switch (out.etherType) {
    case EtherType.IPV4:
      return decodeIPv4(b, at, out);
    case EtherType.IPV6:
      return decodeIPv6(b, at, out);
    case EtherType.ARP:
      return decodeArp(b, at, out);
    case EtherType.MPLS:
    case EtherType.MPLS_MC: {
      const payload = decodeMpls(b, at, out);
      return payload < 0 ? -1 : decodeNetwork(b, payload, out);
    }
    default:
      return -1;
  }
}

function decodeTransport(b: Uint8Array, at: number, out: PacketView): number {
  switch (out.ipProto) {
    case IpProto.TCP:
      return decodeTcp(b, at, out);
    case IpProto.UDP:
      return decodeUdp(b, at, out);
    case IpProto.ICMP:
      return decodeIcmp(b, at, out);
    case IpProto.ICMPV6:
      return decodeIcmpv6(b, at, out);
    case IpProto.GRE:
      return decodeGre(b, at, out);
    case IpProto.SCTP:
      return decodeSctp(b, at, out);
    default:
      return -1;
  }
}
