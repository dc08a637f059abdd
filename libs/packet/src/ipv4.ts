import type { PacketView } from './packet-view.js';
import { u16 } from './packet-view.js';

/**
 * IPv4 (RFC 791), options included. Checks version, header length and total
 * length against what the frame had on the wire; a non-first fragment stops
 * at the network layer (it carries no transport header). Returns the
 * transport header's offset, or -1.
 */
export function decodeIPv4(b: Uint8Array, at: number, out: PacketView): number {
  if (out.avail(at) < 20) return out.short(at, 'ipv4', 20);
  const version = b[at] >>> 4;
  if (version !== 4) return out.fail(at, `ipv4: version ${version}`);
  const ihl = (b[at] & 0x0f) * 4;
  if (ihl < 20) return out.fail(at, `ipv4: header length ${ihl} < 20`);
  const total = u16(b, at + 2);
  if (total < ihl) return out.fail(at, `ipv4: total length ${total} < header length ${ihl}`);
  if (total > out.wireAvail(at)) {
    return out.fail(
      at,
      `ipv4: total length ${total} exceeds the ${out.wireAvail(at)} bytes on the wire`,
    );
  }
  out.l3 = at;
  out.ipVersion = 4;
  out.srcAddr = at + 12;
  out.dstAddr = at + 16;
  out.ipProto = b[at + 9];
  out.ipEnd = at + total;
  const frag = u16(b, at + 6);
  out.fragOffset = (frag & 0x1fff) * 8;
  out.moreFragments = (frag & 0x2000) !== 0;
  out.isFragment = out.moreFragments || out.fragOffset !== 0;
  if (out.avail(at) < ihl) return out.fail(at, `ipv4: options truncated (header length ${ihl})`);
  return out.fragOffset === 0 ? at + ihl : -1;
}
