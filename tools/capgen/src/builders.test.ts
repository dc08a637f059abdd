import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hex } from '@netmirror/packet';
import { parseIPv4, parseIPv6, parseMac } from './addr.js';
import { buildFrame, type FrameSpec } from './frame.js';
import { writeIPv4 } from './ip.js';
import { ArpOp, writeEthernet, writeMplsStack } from './l2.js';
import { TcpFlag, writeL4Checksum, writeTcp } from './transport.js';
import {
  BAD_CHECKSUM,
  CHECKSUM_PREFS,
  run,
  tsharkCount,
  withTmpDir,
  writeFrames,
} from './test-util.js';

const macA = parseMac('00:1b:21:0a:0b:0c');
const macB = parseMac('3c:fd:fe:01:02:03');
const gw = parseMac('00:00:5e:00:01:01');

// Checksums below were computed independently (Python, RFC 1071) and agree with tshark.
const tcpSyn: FrameSpec = {
  dst: macA,
  src: macB,
  tags: [
    { tpid: 0x88a8, vid: 100 },
    { vid: 10, pcp: 5 },
  ],
  net: {
    kind: 'ipv4',
    src: parseIPv4('172.16.10.99'),
    dst: parseIPv4('172.16.10.12'),
    id: 0x1c46,
    df: true,
  },
  transport: {
    kind: 'tcp',
    srcPort: 48434,
    dstPort: 443,
    seq: 0x12345678,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 64240,
    options: hex`02 04 05 b4  04 02  08 0a 00 00 00 01 00 00 00 00  01  03 03 07`,
  },
};
const tcpSynBytes = hex`
  00 1b 21 0a 0b 0c  3c fd fe 01 02 03      // dst, src
  88 a8 00 64                               // 802.1ad S-tag vid 100
  81 00 a0 0a                               // 802.1Q C-tag pcp 5 vid 10
  08 00                                     // IPv4
  45 00 00 3c  1c 46 40 00  40 06 b1 e6     // v4 ihl=5 len=60 id=0x1c46 DF ttl=64 tcp cksum=b1e6
  ac 10 0a 63  ac 10 0a 0c                  // 172.16.10.99 -> 172.16.10.12
  bd 32 01 bb  12 34 56 78  00 00 00 00     // 48434 -> 443 seq ack
  a0 02 fa f0  b8 e4 00 00                  // doff=10 SYN win=64240 cksum=b8e4 urg=0
  02 04 05 b4  04 02  08 0a 00 00 00 01 00 00 00 00  01  03 03 07  // MSS SACK_PERM TS NOP WS
`;

const udp6Dns: FrameSpec = {
  dst: gw,
  src: macA,
  net: { kind: 'ipv6', src: parseIPv6('2001:db8:1:1::10'), dst: parseIPv6('2001:db8:f000::53') },
  transport: { kind: 'udp', srcPort: 40000, dstPort: 53 },
  payload: hex`12 34 01 00 00 01 00 00 00 00 00 00  07 65 78 61 6d 70 6c 65 03 63 6f 6d 00  00 01 00 01`,
};
const udp6DnsBytes = hex`
  00 00 5e 00 01 01  00 1b 21 0a 0b 0c  86 dd
  60 00 00 00  00 25 11 40                  // v6, payload 37, udp, hop limit 64
  20 01 0d b8 00 01 00 01 00 00 00 00 00 00 00 10   // 2001:db8:1:1::10
  20 01 0d b8 f0 00 00 00 00 00 00 00 00 00 00 53   // 2001:db8:f000::53
  9c 40 00 35  00 25 35 b5                  // 40000 -> 53 len=37 cksum=35b5
  12 34 01 00 00 01 00 00 00 00 00 00       // DNS id=0x1234 RD, 1 question
  07 65 78 61 6d 70 6c 65 03 63 6f 6d 00  00 01 00 01   // example.com A IN
`;

const icmp6Ext: FrameSpec = {
  dst: gw,
  src: macA,
  net: {
    kind: 'ipv6',
    src: parseIPv6('fe80::21b:21ff:fe0a:b0c'),
    dst: parseIPv6('2001:db8:1:1::1'),
    hopLimit: 255,
    extensions: [
      { type: 'hop-by-hop', options: hex`05 02 00 00` },
      { type: 'fragment', offset: 0, more: false, id: 0xdeadbeef },
    ],
  },
  transport: { kind: 'icmpv6-echo', id: 0x0102, seq: 1 },
  payload: Buffer.from('abcd'),
};
const icmp6ExtBytes = hex`
  00 00 5e 00 01 01  00 1b 21 0a 0b 0c  86 dd
  60 00 00 00  00 1c 00 ff                  // payload 28 (16 ext + 12), next=hop-by-hop, hlim 255
  fe 80 00 00 00 00 00 00 02 1b 21 ff fe 0a 0b 0c
  20 01 0d b8 00 01 00 01 00 00 00 00 00 00 00 01
  2c 00  05 02 00 00  01 00                 // HBH: next=fragment, router alert, PadN(0)
  3a 00  00 00  de ad be ef                 // fragment: next=icmpv6, offset 0 M=0, id
  80 00 60 81  01 02 00 01  61 62 63 64     // echo request cksum=6081 id=0x0102 seq=1 "abcd"
`;

const mplsIcmp: FrameSpec = {
  dst: gw,
  src: macA,
  mpls: [{ label: 1000, ttl: 255 }, { label: 16 }],
  net: { kind: 'ipv4', src: parseIPv4('10.1.1.10'), dst: parseIPv4('8.8.8.8'), id: 0x100 },
  transport: { kind: 'icmp-echo', id: 1234, seq: 7 },
  payload: 16,
};
const mplsIcmpBytes = hex`
  00 00 5e 00 01 01  00 1b 21 0a 0b 0c  88 47
  00 3e 80 ff                               // label 1000, S=0, ttl 255
  00 01 01 40                               // label 16, S=1 (bottom), ttl 64
  45 00 00 2c  01 00 00 00  40 01 5e b7  0a 01 01 0a  08 08 08 08   // len 44 icmp cksum=5eb7
  08 00 ba e6  04 d2 00 07                  // echo request cksum=bae6 id=1234 seq=7
  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f
`;

const arpRequest: FrameSpec = {
  dst: parseMac('ff:ff:ff:ff:ff:ff'),
  src: macA,
  tags: [{ vid: 4094 }],
  net: {
    kind: 'arp',
    op: ArpOp.REQUEST,
    senderMac: macA,
    senderIp: parseIPv4('10.1.1.10'),
    targetMac: new Uint8Array(6),
    targetIp: parseIPv4('10.1.1.1'),
  },
};
const arpRequestBytes = hex`
  ff ff ff ff ff ff  00 1b 21 0a 0b 0c  81 00 0f fe  08 06   // vid 4094, ARP
  00 01 08 00 06 04 00 01                   // Ethernet/IPv4 request
  00 1b 21 0a 0b 0c  0a 01 01 0a            // sender
  00 00 00 00 00 00  0a 01 01 01            // target 10.1.1.1
  00 00 00 00 00 00 00 00 00 00 00 00 00 00 // padding to 60
`;

const innerTcp: FrameSpec = {
  dst: macA,
  src: macB,
  net: { kind: 'ipv4', src: parseIPv4('192.168.1.20'), dst: parseIPv4('93.184.216.34'), df: true },
  transport: {
    kind: 'tcp',
    srcPort: 51000,
    dstPort: 80,
    seq: 1,
    ack: 1,
    flags: TcpFlag.ACK | TcpFlag.PSH,
  },
  payload: Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'),
};

const vxlan: FrameSpec = {
  dst: gw,
  src: macB,
  net: { kind: 'ipv4', src: parseIPv4('10.255.0.11'), dst: parseIPv4('10.255.0.12'), df: true },
  transport: { kind: 'vxlan', vni: 5001, srcPort: 49200, inner: innerTcp },
};

const gre: FrameSpec = {
  dst: gw,
  src: macB,
  net: { kind: 'ipv4', src: parseIPv4('10.254.0.1'), dst: parseIPv4('10.254.0.2') },
  transport: { kind: 'gre', key: 42, checksum: true, inner: innerTcp },
};

function build(spec: FrameSpec, at = 0): Buffer {
  const buf = Buffer.alloc(2048, 0xee);
  const len = buildFrame(buf, at, spec);
  return buf.subarray(at, at + len);
}

describe('frame builders', { timeout: 60_000 }, () => {
  it('builds QinQ + IPv4 + TCP SYN with options and checksums', () => {
    expect(build(tcpSyn).toString('hex')).toBe(tcpSynBytes.toString('hex'));
  });
  it('writes at an offset without touching bytes around it', () => {
    const buf = Buffer.alloc(200, 0xee);
    const len = buildFrame(buf, 50, tcpSyn);
    expect(buf.subarray(50, 50 + len).toString('hex')).toBe(tcpSynBytes.toString('hex'));
    expect(buf[49]).toBe(0xee);
    expect(buf[50 + len]).toBe(0xee);
  });
  it('builds IPv6 + UDP (DNS) with the v6 pseudo-header checksum', () => {
    expect(build(udp6Dns).toString('hex')).toBe(udp6DnsBytes.toString('hex'));
  });
  it('builds IPv6 extension headers (hop-by-hop, fragment) before ICMPv6', () => {
    expect(build(icmp6Ext).toString('hex')).toBe(icmp6ExtBytes.toString('hex'));
  });
  it('builds an MPLS label stack over IPv4 ICMP echo', () => {
    expect(build(mplsIcmp).toString('hex')).toBe(mplsIcmpBytes.toString('hex'));
  });
  it('builds a tagged ARP request padded to 60 bytes', () => {
    expect(build(arpRequest).toString('hex')).toBe(arpRequestBytes.toString('hex'));
  });
  it('low-level builders compose: Ethernet, IPv4 with options, TCP, checksum last', () => {
    const buf = Buffer.alloc(128);
    let at = writeEthernet(buf, 0, macA, macB, 0x0800);
    const ipAt = at;
    const opts = hex`94 04 00 00`; // router alert
    at += writeIPv4(buf, at, {
      src: 1,
      dst: 2,
      protocol: 6,
      payloadLength: 20,
      options: opts,
      mf: true,
      fragmentOffset: 0,
    });
    expect(buf[ipAt]).toBe(0x46);
    expect(buf.readUInt16BE(ipAt + 6)).toBe(0x2000);
    const th = writeTcp(buf, at, { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TcpFlag.ACK });
    expect(writeL4Checksum(buf, ipAt, at, th, 6)).toBe(buf.readUInt16BE(at + 16));
    expect(writeMplsStack(buf, 0, [{ label: 1 }, { label: 2 }, { label: 3 }])).toBe(12);
    expect(buf[6] & 1).toBe(0);
    expect(buf[10] & 1).toBe(1);
  });
  it('tshark decodes every fixture with good checksums, and the tunnels as VXLAN and GRE', () => {
    withTmpDir((dir) => {
      const file = join(dir, 'fixtures.pcap');
      writeFrames(
        file,
        [tcpSyn, udp6Dns, icmp6Ext, mplsIcmp, arpRequest, vxlan, gre].map((s) => build(s)),
      );
      expect(tsharkCount(file, BAD_CHECKSUM, CHECKSUM_PREFS)).toBe(0);
      expect(tsharkCount(file, '_ws.malformed || _ws.expert.severity >= "error"')).toBe(0);
      const good =
        'tcp.checksum.status == 1 || udp.checksum.status == 1 || icmp.checksum.status == 1 || icmpv6.checksum.status == 1';
      expect(tsharkCount(file, good, CHECKSUM_PREFS)).toBe(6); // every frame but the ARP one
      const fields = run('tshark', [
        '-n',
        '-r',
        file,
        '-Y',
        'vxlan || gre',
        '-T',
        'fields',
        '-E',
        'separator=|',
        '-e',
        'vxlan.vni',
        '-e',
        'gre.proto',
        '-e',
        'gre.key',
        '-e',
        'gre.checksum.status',
        '-e',
        'ip.dst',
        '-e',
        'tcp.dstport',
      ]);
      expect(fields.trim().split('\n')).toEqual([
        '5001||||10.255.0.12,93.184.216.34|80',
        '|0x6558|0x0000002a|1|10.254.0.2,93.184.216.34|80',
      ]);
    });
  });
});
