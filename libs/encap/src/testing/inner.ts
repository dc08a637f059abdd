/**
 * Test-only: known inner frames to encapsulate, as annotated dumps checkable
 * by eye against Wireshark. IPv4, TCP, UDP and ICMP checksums are correct.
 */
import { hex } from '@netmirror/packet';

/** Untagged TCP SYN, 58 bytes. */
export const TCP_SYN = hex`
  00 11 22 33 44 55  66 77 88 99 aa bb  08 00        // eth dst, src, IPv4
  45 00 00 2c  1c 46 40 00  40 06 0a 84              // v4 ihl=5 len=44 id=0x1c46 DF ttl=64 tcp csum=0a84
  0a 00 00 01  0a 00 00 02                           // 10.0.0.1 -> 10.0.0.2
  9c 40 00 50  01 02 03 04  00 00 00 00              // tcp 40000 -> 80 seq=0x01020304 ack=0
  60 02 fa f0  e8 9c 00 00                           // off=6 SYN win=64240 csum=e89c urg=0
  02 04 05 b4                                        // MSS 1460
`;

/** 802.1Q VLAN 100 (PCP 5) UDP datagram, 64 bytes. */
export const VLAN_UDP = hex`
  00 11 22 33 44 55  66 77 88 99 aa bb               // eth dst, src
  81 00  a0 64  08 00                                // 802.1Q, PCP=5 DEI=0 VID=100, IPv4
  45 00 00 2e  00 01 40 00  40 11 26 ba              // v4 len=46 id=1 DF ttl=64 udp csum=26ba
  0a 01 00 01  0a 01 00 02                           // 10.1.0.1 -> 10.1.0.2
  9c 41 9c 42  00 1a 5a 20                           // udp 40001 -> 40002 len=26 csum=5a20
  6e 65 74 6d 69 72 72 6f 72 20 76 6c 61 6e 20 31 30 30   // "netmirror vlan 100"
`;

/** QinQ: 802.1ad S-tag 200, 802.1Q C-tag 300, ICMP echo request, 70 bytes. */
export const QINQ_ICMP = hex`
  00 11 22 33 44 55  66 77 88 99 aa bb               // eth dst, src
  88 a8  00 c8                                       // 802.1ad S-tag, VID=200
  81 00  01 2c  08 00                                // 802.1Q C-tag, VID=300, IPv4
  45 00 00 30  00 02 40 00  40 01 26 c5              // v4 len=48 id=2 DF ttl=64 icmp csum=26c5
  0a 02 00 01  0a 02 00 02                           // 10.2.0.1 -> 10.2.0.2
  08 00 f9 63  42 42 00 01                           // echo request csum=f963 id=0x4242 seq=1
  71 69 6e 71 2d 70 69 6e 67 2d 70 61 79 6c 6f 61 64 21 21 21   // "qinq-ping-payload!!!"
`;

/** A 1400-byte frame: TCP_SYN's headers, no options, 1346 bytes of payload. */
export function bigFrame(size = 1400): Buffer {
  const f = Buffer.alloc(size);
  TCP_SYN.copy(f, 0, 0, 54);
  f.writeUInt16BE(size - 14, 16); // IPv4 total length
  f.writeUInt16BE(0, 24);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += f.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f.writeUInt16BE(~sum & 0xffff, 24);
  f.writeUInt16BE(40003, 34); // ports with no dissector, so tshark stops at tcp:data
  f.writeUInt16BE(40004, 36);
  f[46] = 0x50; // data offset 5, no options
  f[47] = 0x18; // PSH ACK
  for (let i = 54; i < size; i++) f[i] = i & 0xff;
  return f;
}

export const INNER_FRAMES: ReadonlyArray<{ name: string; frame: Buffer; protocols: string }> = [
  { name: 'untagged TCP SYN', frame: TCP_SYN, protocols: 'eth:ethertype:ip:tcp' },
  { name: '802.1Q UDP', frame: VLAN_UDP, protocols: 'eth:ethertype:vlan:ethertype:ip:udp:data' },
  {
    name: 'QinQ ICMP',
    frame: QINQ_ICMP,
    protocols: 'eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:icmp:data',
  },
  { name: '1400-byte TCP', frame: bigFrame(), protocols: 'eth:ethertype:ip:tcp:data' },
];
