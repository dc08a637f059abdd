/**
 * Test-only: builds complete outer frames around an encapsulation, the way a
 * sink's socket would put them on the wire (Ethernet + IPv4 [+ UDP]), with
 * correct IPv4 header and UDP checksums.
 */
import { EtherType, IpProto } from '@netmirror/packet';
import {
  ETH_HEADER_LEN,
  fillUdpChecksumIPv4,
  IPV4_HEADER_LEN,
  parseIPv4,
  parseMac,
  UDP_HEADER_LEN,
  writeEthernetHeader,
  writeIPv4Header,
  writeUdpHeader,
} from '../headers.js';

export const OUTER_SRC_MAC = parseMac('02:00:00:00:00:01');
export const OUTER_DST_MAC = parseMac('02:00:00:00:00:02');
export const OUTER_SRC_IP = parseIPv4('192.0.2.1');
export const OUTER_DST_IP = parseIPv4('192.0.2.2');

/** Where an encoder should write inside a frame from `udpFrame`. */
export const UDP_PAYLOAD_OFFSET = ETH_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN;
/** Where an encoder should write inside a frame from `ipFrame`. */
export const IP_PAYLOAD_OFFSET = ETH_HEADER_LEN + IPV4_HEADER_LEN;

/**
 * Calls `encode(buf, offset)` to write the payload into a scratch buffer after
 * room for the outer headers, then fills Ethernet, IPv4 (protocol 17) and UDP.
 */
export function udpFrame(
  srcPort: number,
  dstPort: number,
  encode: (buf: Buffer, off: number) => number,
): Buffer {
  const buf = Buffer.alloc(16384);
  const n = encode(buf, UDP_PAYLOAD_OFFSET);
  if (n < 0) throw new Error('encoder did not fit');
  const udpLen = UDP_HEADER_LEN + n;
  writeEthernetHeader(buf, 0, OUTER_DST_MAC, OUTER_SRC_MAC, EtherType.IPV4);
  writeIPv4Header(buf, ETH_HEADER_LEN, {
    src: OUTER_SRC_IP,
    dst: OUTER_DST_IP,
    protocol: IpProto.UDP,
    totalLength: IPV4_HEADER_LEN + udpLen,
    id: 0x1234,
  });
  writeUdpHeader(buf, ETH_HEADER_LEN + IPV4_HEADER_LEN, srcPort, dstPort, udpLen);
  fillUdpChecksumIPv4(buf, ETH_HEADER_LEN, ETH_HEADER_LEN + IPV4_HEADER_LEN);
  return buf.subarray(0, UDP_PAYLOAD_OFFSET + n);
}

/** Same for a raw IP payload of `protocol` (GRE: 47), as the kernel adds IPv4 on a raw socket. */
export function ipFrame(protocol: number, encode: (buf: Buffer, off: number) => number): Buffer {
  const buf = Buffer.alloc(16384);
  const n = encode(buf, IP_PAYLOAD_OFFSET);
  if (n < 0) throw new Error('encoder did not fit');
  writeEthernetHeader(buf, 0, OUTER_DST_MAC, OUTER_SRC_MAC, EtherType.IPV4);
  writeIPv4Header(buf, ETH_HEADER_LEN, {
    src: OUTER_SRC_IP,
    dst: OUTER_DST_IP,
    protocol,
    totalLength: IPV4_HEADER_LEN + n,
    id: 0x1234,
  });
  return buf.subarray(0, IP_PAYLOAD_OFFSET + n);
}
