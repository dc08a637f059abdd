import { EtherType } from './link-type.js';
import type { PacketView } from './packet-view.js';
import { MAX_MPLS_DEPTH } from './packet-view.js';

/**
 * MPLS label stack (RFC 3032): 4 bytes a label, bottom-of-stack bit ends it.
 * The payload type is not signalled; like tcpdump we look at the IP version
 * nibble after the last label. Returns the payload offset, or -1.
 */
export function decodeMpls(b: Uint8Array, at: number, out: PacketView): number {
  for (;;) {
    if (out.avail(at) < 4) return out.fail(at, 'mpls: label truncated');
    if (out.mplsDepth >= MAX_MPLS_DEPTH) {
      return out.fail(at, `mpls: more than ${MAX_MPLS_DEPTH} labels`);
    }
    out.mplsDepth++;
    const bottom = (b[at + 2] & 0x01) !== 0;
    at += 4;
    if (bottom) break;
  }
  if (out.avail(at) < 1) {
    out.etherType = -1;
    return -1;
  }
  const version = b[at] >>> 4;
  out.etherType = version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : -1;
  return out.etherType === -1 ? -1 : at;
}
