// Fixtures shared by the decoder tests: real frames as annotated hex dumps.
import { hex } from './hex.js';

/** Ethernet / IPv4 / TCP SYN 192.168.1.10:51000 -> 10.0.0.5:443, 60 bytes. */
export const tcpSyn = hex`
  00 11 22 33 44 55  66 77 88 99 aa bb  08 00        // dst, src, IPv4
  45 00 00 2c  12 34 40 00  40 06 00 00              // v4 ihl=5 len=44 DF ttl=64 tcp (csum 0)
  c0 a8 01 0a  0a 00 00 05                           // 192.168.1.10 -> 10.0.0.5
  c7 38 01 bb  00 00 00 01  00 00 00 00              // 51000 -> 443 seq=1 ack=0
  60 02 ff ff  00 00 00 00                           // doff=6 SYN win=65535
  02 04 05 b4                                        // MSS 1460
  00 00                                              // Ethernet padding
`;

/** 802.1ad S-tag 100 / 802.1Q C-tag 200 / IPv4 / UDP 53, 64 bytes. */
export const qinqDns = hex`
  00 11 22 33 44 55  66 77 88 99 aa bb               // dst, src
  88 a8 a0 64                                        // S-tag: pcp=5 vid=100
  81 00 00 c8                                        // C-tag: pcp=0 vid=200
  08 00                                              // IPv4
  45 00 00 2e  00 01 00 00  40 11 00 00              // len=46 udp
  0a 01 01 01  08 08 08 08                           // 10.1.1.1 -> 8.8.8.8
  d4 31 00 35  00 1a 00 00                           // 54321 -> 53 len=26
  ab cd 01 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 // DNS query bytes
`;

/** IPv6 / hop-by-hop / fragment (first) / UDP 2001:db8::1:5000 -> 2001:db8::2:53. */
export const ipv6FragUdp = hex`
  00 11 22 33 44 55  66 77 88 99 aa bb  86 dd        // IPv6
  60 00 00 00  00 20 00 40                           // payload=32 next=hop-by-hop hlim=64
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01    // 2001:db8::1
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02    // 2001:db8::2
  2c 00 01 04 00 00 00 00                            // hop-by-hop: next=fragment len=0 PadN
  11 00 00 01  ab cd ef 01                           // fragment: next=udp off=0 M=1 id
  13 88 00 35  00 10 00 00                           // 5000 -> 53 len=16
  00 00 00 00 00 00 00 00                            // data
`;
