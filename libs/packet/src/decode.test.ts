import { describe, expect, it } from 'vitest';
import { decodeFrame } from './decode.js';
import { hex } from './hex.js';
import { EtherType, IpProto, LinkType } from './link-type.js';
import { PacketView, Tunnel } from './packet-view.js';
import { ipv6FragUdp, qinqDns, tcpSyn } from './test-frames.js';

function decode(
  frame: Uint8Array,
  linkType: number = LinkType.ETHERNET,
  wirelen = frame.length,
): PacketView {
  return decodeFrame(frame, 0, frame.length, wirelen, linkType, new PacketView());
}

describe('decodeFrame', () => {
  it('walks Ethernet / IPv4 / TCP', () => {
    const v = decode(tcpSyn);
    expect(v.malformed).toBeNull();
    expect([v.l2, v.l3, v.l4, v.payload]).toEqual([0, 14, 34, 58]);
    expect(v.etherType).toBe(EtherType.IPV4);
    expect([v.ipVersion, v.ipProto, v.srcPort, v.dstPort]).toEqual([4, IpProto.TCP, 51000, 443]);
    expect(v.tcpFlags).toBe(0x002);
    expect(Array.from(tcpSyn.subarray(v.srcAddr, v.srcAddr + 4))).toEqual([192, 168, 1, 10]);
    expect(v.isFragment).toBe(false);
  });

  it('sees through an 802.1ad + 802.1Q stack', () => {
    const v = decode(qinqDns);
    expect(v.malformed).toBeNull();
    expect(v.vlanDepth).toBe(2);
    expect([v.vlanTpids[0], v.vlanIds[0], v.vlanPcps[0]]).toEqual([0x88a8, 100, 5]);
    expect([v.vlanTpids[1], v.vlanIds[1]]).toEqual([0x8100, 200]);
    expect([v.l3, v.ipProto, v.dstPort]).toEqual([22, IpProto.UDP, 53]);
    expect(v.hasVlan(200)).toBe(true);
  });

  it('walks IPv6 extension headers to a first fragment', () => {
    const v = decode(ipv6FragUdp);
    expect(v.malformed).toBeNull();
    expect([v.ipVersion, v.ipProto, v.isFragment, v.moreFragments, v.fragOffset]).toEqual([
      6,
      17,
      true,
      true,
      0,
    ]);
    expect([v.l4, v.srcPort, v.dstPort]).toEqual([14 + 40 + 16, 5000, 53]);
  });

  it('stops a non-first IPv6 fragment at the network layer', () => {
    const f = Buffer.from(ipv6FragUdp);
    f[14 + 40 + 8 + 2] = 0x00;
    f[14 + 40 + 8 + 3] = 0xb0; // offset 176 bytes (22 * 8), M=0
    const v = decode(f);
    expect([v.isFragment, v.fragOffset, v.l4, v.ipProto, v.malformed]).toEqual([
      true,
      176,
      -1,
      17,
      null,
    ]);
  });

  it('stops a non-first IPv4 fragment at the network layer', () => {
    const f = Buffer.from(tcpSyn);
    f[14 + 6] = 0x00;
    f[14 + 7] = 0x10; // offset 16 * 8 = 128
    const v = decode(f);
    expect([v.isFragment, v.fragOffset, v.l4, v.srcPort]).toEqual([true, 128, -1, -1]);
  });

  it('decodes ICMPv6 and SCTP', () => {
    const ns = hex`
      33 33 ff 00 00 02  66 77 88 99 aa bb  86 dd    // IPv6 multicast
      60 00 00 00  00 08 3a ff                       // payload=8 next=ICMPv6 hlim=255
      fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01  // fe80::1
      ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 00 02  // ff02::1:ff00:2
      87 00 00 00  00 00 00 00                       // neighbour solicitation (135), code 0
    `;
    const v = decode(ns);
    expect([v.malformed, v.ipProto, v.icmpType, v.icmpCode, v.srcPort]).toEqual([
      null,
      58,
      135,
      0,
      -1,
    ]);
    const sctp = hex`
      00 11 22 33 44 55  66 77 88 99 aa bb  08 00
      45 00 00 20  00 00 40 00  40 84 00 00          // len=32 proto=132 (SCTP)
      0a 00 00 01  0a 00 00 02
      0b 59 0b 59  00 00 00 01  00 00 00 00          // 2905 -> 2905, vtag 1, checksum
    `;
    const w = decode(sctp);
    expect([w.malformed, w.ipProto, w.srcPort, w.dstPort, w.payload]).toEqual([
      null,
      132,
      2905,
      2905,
      46,
    ]);
  });

  it('decodes raw IP and Linux cooked captures', () => {
    const raw = decode(tcpSyn.subarray(14, 58), LinkType.RAW);
    expect([raw.l2, raw.l3, raw.dstPort]).toEqual([-1, 0, 443]);
    const sll = Buffer.concat([
      hex`00 00 00 01 00 06 66 77 88 99 aa bb 00 00 08 00`,
      tcpSyn.subarray(14, 58),
    ]);
    const s = decode(sll, LinkType.LINUX_SLL);
    expect([s.l3, s.dstPort]).toEqual([16, 443]);
  });

  it('decodes MPLS down to IPv4', () => {
    const f = hex`
      00 11 22 33 44 55  66 77 88 99 aa bb  88 47    // MPLS unicast
      00 01 00 40  00 02 01 40                       // label 16, label 32 bottom-of-stack, ttl 64
      45 00 00 1c  00 00 00 00  40 01 00 00  0a 00 00 01  0a 00 00 02  // ICMP
      08 00 00 00  00 00 00 00                       // echo request
    `;
    const v = decode(f);
    expect([v.mplsDepth, v.etherType, v.ipProto, v.icmpType]).toEqual([2, EtherType.IPV4, 1, 8]);
  });

  it('decodes ARP addresses', () => {
    const f = hex`
      ff ff ff ff ff ff  66 77 88 99 aa bb  08 06    // broadcast ARP
      00 01 08 00 06 04 00 01                        // Ethernet/IPv4 request
      66 77 88 99 aa bb  c0 a8 01 0a                 // sender 192.168.1.10
      00 00 00 00 00 00  c0 a8 01 01                 // target 192.168.1.1
    `;
    const v = decode(f);
    expect([v.etherType, v.l3, v.srcAddr, v.dstAddr, v.ipVersion]).toEqual([
      EtherType.ARP,
      14,
      28,
      38,
      0,
    ]);
  });

  it('finds the inner frame of VXLAN, GRE/TEB, ERSPAN II and III', () => {
    const inner = tcpSyn;
    const outerUdp = (payload: Buffer): Buffer =>
      Buffer.concat([
        hex`00 11 22 33 44 55 66 77 88 99 aa bb 08 00`,
        ipv4Header(20 + 8 + payload.length, 17),
        hex`c0 00 12 b5`, // 49152 -> 4789
        Buffer.from([(8 + payload.length) >> 8, (8 + payload.length) & 0xff, 0, 0]),
        payload,
      ]);
    const vx = decode(outerUdp(Buffer.concat([hex`08 00 00 00 00 00 7b 00`, inner]))); // VNI 123
    expect([vx.tunnel, vx.tunnelId, vx.inner]).toEqual([Tunnel.VXLAN, 123, 50]);

    const overGre = (gre: Buffer): PacketView =>
      decode(
        Buffer.concat([
          hex`00 11 22 33 44 55 66 77 88 99 aa bb 08 00`,
          ipv4Header(20 + gre.length, 47),
          gre,
        ]),
      );
    const teb = overGre(Buffer.concat([hex`20 00 65 58  00 00 00 2a`, inner])); // K, TEB, key 42
    expect([teb.tunnel, teb.tunnelId, teb.inner]).toEqual([Tunnel.GRE, 42, 42]);
    const e2 = overGre(
      Buffer.concat([
        hex`10 00 88 be  00 00 00 07`, // S, ERSPAN II, seq 7
        hex`10 64 00 09  00 00 00 00`, // ver=1 vlan=100, cos 0 en 0 t 0 session 9
        inner,
      ]),
    );
    expect([e2.tunnel, e2.tunnelId, e2.inner]).toEqual([Tunnel.ERSPAN2, 9, 50]);
    const e3 = overGre(
      Buffer.concat([
        hex`10 00 22 eb  00 00 00 08`, // S, ERSPAN III, seq 8
        hex`20 00 00 0c  00 00 00 00  00 00 00 00`, // ver=2 session 12, ts 0, FT=0, O=0
        inner,
      ]),
    );
    expect([e3.tunnel, e3.tunnelId, e3.inner]).toEqual([Tunnel.ERSPAN3, 12, 54]);
    const e1 = overGre(Buffer.concat([hex`00 00 88 be`, inner])); // ERSPAN I: no seq, no header
    expect([e1.tunnel, e1.inner]).toEqual([Tunnel.ERSPAN1, 38]);
  });
});

describe('malformed frames are flagged, never thrown', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['zero length', Buffer.alloc(0), /zero length/],
    ['short ethernet', hex`00 11 22 33 44`, /ethernet: 5 bytes/],
    ['bad IHL', patch(tcpSyn, 14, 0x43), /header length 12 < 20/],
    ['impossible total length', patch(tcpSyn, 16, 0xff), /total length 65324 exceeds/],
    ['total < ihl', patch(patch(tcpSyn, 16, 0), 17, 10), /total length 10 < header length 20/],
    ['tcp data offset < 5', patch(tcpSyn, 14 + 20 + 12, 0x30), /data offset 12 < 20/],
    ['tcp data offset beyond packet', patch(tcpSyn, 14 + 20 + 12, 0xf0), /runs past the IP packet/],
    ['truncated tcp', tcpSyn.subarray(0, 40), /ipv4: total length 44 exceeds/],
    ['ipv6 bad payload length', patch(ipv6FragUdp, 18, 0x7f), /ipv6: payload length/],
    [
      'udp header past the IPv4 packet',
      patch(patch(qinqDns, 22 + 3, 25), 22 + 2, 0),
      /udp: header runs past the IP packet/,
    ],
    ['udp header past the IPv6 payload', ipv6Udp(5), /udp: header runs past the IP packet/],
  ];
  for (const [name, frame, reason] of cases) {
    it(name, () => {
      const v = decode(frame);
      expect(v.malformed).toMatch(reason);
      expect(v.malformedAt).toBeGreaterThanOrEqual(0);
    });
  }

  it('deep tag stacks', () => {
    const tags = Buffer.alloc(4 * 12);
    for (let i = 0; i < 12; i++) tags.writeUInt32BE((0x81000000 | i) >>> 0, i * 4);
    const v = decode(Buffer.concat([tcpSyn.subarray(0, 12), tags, tcpSyn.subarray(12)]));
    expect(v.malformed).toMatch(/more than 8 stacked tags/);
  });

  it('sliced captures are not malformed', () => {
    const v = decodeFrame(tcpSyn, 0, 40, 60, LinkType.ETHERNET, new PacketView());
    expect([v.malformed, v.snapped, v.dstPort]).toEqual([null, true, 443]); // ports survive the cut
    const w = decodeFrame(tcpSyn, 0, 36, 60, LinkType.ETHERNET, new PacketView());
    expect([w.malformed, w.snapped, w.dstPort]).toEqual([null, true, -1]);
  });

  it('survives random mutations of valid frames', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const view = new PacketView();
    const seeds = [tcpSyn, qinqDns, ipv6FragUdp];
    let outOfBounds = 0;
    for (let i = 0; i < 50_000; i++) {
      const f = Buffer.from(seeds[i % seeds.length]);
      for (let k = rnd(6); k >= 0; k--) f[rnd(f.length)] = rnd(256);
      const len = rnd(f.length + 1);
      decodeFrame(f, 0, len, rnd(2) ? len : f.length, LinkType.ETHERNET, view); // throws = test fails
      if (view.l4 > len) outOfBounds++;
    }
    expect(outOfBounds).toBe(0);
  });
});

function patch(frame: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(frame);
  copy[at] = value;
  return copy;
}

function ipv4Header(total: number, proto: number): Buffer {
  const h = hex`45 00 00 00 00 00 00 00 40 00 00 00 c0 a8 00 01 c0 a8 00 02`;
  h.writeUInt16BE(total, 2);
  h[9] = proto;
  return h;
}

/** IPv6 + UDP with `payloadLen` in the header (the frame itself holds a whole UDP header). */
function ipv6Udp(payloadLen: number): Buffer {
  const f = Buffer.concat([
    ipv6FragUdp.subarray(0, 14 + 40),
    hex`13 88 00 35 00 08 00 00`, // 5000 -> 53 len=8
  ]);
  f[14 + 4] = 0;
  f[14 + 5] = payloadLen;
  f[14 + 6] = 17; // next header: UDP directly
  return f;
}
