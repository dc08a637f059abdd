import { IpProto } from './link-type.js';
import type { PacketView } from './packet-view.js';
import { MAX_IPV6_EXTENSIONS, u16 } from './packet-view.js';

/**
 * IPv6 (RFC 8200) and its extension headers: hop-by-hop, routing, fragment,
 * destination options and AH are walked to find the transport protocol, as
 * tcpdump's `ip6 proto`/`tcp` primitives do not (they look only at the fixed
 * header's next-header). Returns the transport header's offset, or -1.
 */
export function decodeIPv6(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 40) return out.short(at, 'ipv6', 40);
  const version = b[at] >>> 4;
  if (version !== 6) return out.fail(at, `ipv6: version ${version}`);
  const payloadLen = u16(b, at + 4);
  let next = b[at + 6];
  // A zero payload length is legal only with a jumbo payload option (RFC 2675).
  if (payloadLen === 0 && next !== IpProto.HOPOPTS) return out.fail(at, 'ipv6: payload length 0');
  if (40 + payloadLen > out.wireAvail(at)) {
    return out.fail(
      at,
      `ipv6: payload length ${payloadLen} exceeds the ${out.wireAvail(at) - 40} bytes on the wire`,
    );
  }
  out.l3 = at;
  out.ipVersion = 6;
  out.srcAddr = at + 8;
  out.dstAddr = at + 24;
  out.ipEnd = payloadLen === 0 ? out.start + out.wireLen : at + 40 + payloadLen;
  let p = at + 40;
  for (let n = 0; n <= MAX_IPV6_EXTENSIONS; n++) {
    switch (next) {
      case IpProto.HOPOPTS:
      case IpProto.ROUTING:
      case IpProto.DSTOPTS: {
        if (out.avail(p) < 8) return out.fail(p, `ipv6: extension header ${next} truncated`);
        next = b[p];
        p += (b[p + 1] + 1) * 8;
        break;
      }
      case IpProto.AH: {
        if (out.avail(p) < 8) return out.fail(p, 'ipv6: AH header truncated');
        next = b[p];
        p += (b[p + 1] + 2) * 4;
        break;
      }
      case IpProto.FRAGMENT: {
        if (out.avail(p) < 8) return out.fail(p, 'ipv6: fragment header truncated');
        const fo = u16(b, p + 2);
        out.isFragment = true;
        out.fragOffset = fo & 0xfff8;
        out.moreFragments = (fo & 1) !== 0;
        next = b[p];
        p += 8;
        if (out.fragOffset !== 0) {
          out.ipProto = next;
          return -1;
        }
        break;
      }
      default:
        out.ipProto = next;
        if (p > out.ipEnd) return out.fail(p, 'ipv6: extension headers overrun the payload');
        return next === IpProto.NONE ? -1 : p;
    }
    if (p > out.ipEnd) return out.fail(p, 'ipv6: extension header runs past the payload');
  }
  return out.fail(p, `ipv6: more than ${MAX_IPV6_EXTENSIONS} extension headers`);
}
