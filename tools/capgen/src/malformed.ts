/**
 * Deliberately broken frames, one way each, for parser robustness tests.
 * Everything but the named defect is well formed (checksums included), so
 * a decoder that rejects the frame can only be rejecting that defect.
 */
import { EtherType, IpProto } from '@netmirror/packet';
import { put16 } from './checksum.js';
import type { Topology } from './hosts.js';
import { refreshIPv4Checksum, writeIPv4, writeIPv6Raw, type Ipv4Spec } from './ip.js';
import { padFrame, writeEthernetRaw } from './l2.js';
import type { Prng } from './prng.js';
import { RND_SIZE } from './random-block.js';
import {
  TcpFlag,
  writeL4Checksum,
  writeTcp,
  writeUdp,
  type TcpSpec,
  type UdpSpec,
} from './transport.js';

export const M_TRUNCATED = 0;
export const M_V4_TOTAL_LENGTH = 1;
export const M_V4_IHL = 2;
export const M_TCP_DATA_OFFSET = 3;
export const M_VLAN_STACK = 4;
export const M_ZERO_LENGTH = 5;
export const M_V6_PAYLOAD_LENGTH = 6;

export class MalformedWriter {
  private readonly tpids = new Uint16Array(16).fill(EtherType.VLAN);
  private readonly tcis = new Uint16Array(16);
  private readonly v4: Ipv4Spec = { src: 0, dst: 0, protocol: 0, payloadLength: 0 };
  private readonly tcp: TcpSpec = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0 };
  private readonly udp: UdpSpec = { srcPort: 0, dstPort: 0, payloadLength: 0 };

  constructor(
    private readonly rng: Prng,
    private readonly topo: Topology,
    private readonly rnd: Buffer,
  ) {}

  /** Writes a frame broken in the way `kind` (an M_* value) names; returns its length (0 for zero-length). */
  write(kind: number, buf: Buffer, off: number): number {
    const rng = this.rng;
    switch (kind) {
      case M_ZERO_LENGTH:
        return 0;
      case M_TRUNCATED: {
        const v6 = rng.chance(0.3);
        const tcp = rng.chance(0.6);
        const tags = rng.chance(0.2) ? 1 : 0;
        if (v6) this.v6Segment(buf, off, tags, tcp);
        else this.v4Segment(buf, off, tags, tcp, 0);
        const headers = 14 + 4 * tags + (v6 ? 40 : 20) + (tcp ? 20 : 8);
        return rng.range(1, headers - 1);
      }
      case M_V4_TOTAL_LENGTH: {
        const len = this.v4Segment(buf, off, 0, true, rng.range(0, 200));
        const ip = off + 14;
        const real = len - 14;
        put16(
          buf,
          ip + 2,
          rng.chance(0.5) ? Math.min(real + rng.range(1, 4000), 65535) : rng.range(0, 19),
        );
        refreshIPv4Checksum(buf, ip);
        return padFrame(buf, off, len);
      }
      case M_V4_IHL: {
        const tags = rng.chance(0.2) ? 1 : 0;
        const len = this.v4Segment(buf, off, tags, true, rng.range(0, 200));
        const ip = off + 14 + 4 * tags;
        buf[ip] = 0x40 | rng.range(0, 4);
        refreshIPv4Checksum(buf, ip);
        return padFrame(buf, off, len);
      }
      case M_TCP_DATA_OFFSET: {
        const small = rng.chance(0.5);
        const plen = small ? rng.range(0, 200) : rng.range(0, 30);
        const len = this.v4Segment(buf, off, 0, true, plen);
        const l4 = off + 34;
        // < 5 words, or more words than the segment holds (20 + plen < 4 * words).
        buf[l4 + 12] =
          (small ? rng.range(0, 4) : rng.range(Math.max(6, Math.ceil((21 + plen) / 4)), 15)) << 4;
        writeL4Checksum(buf, off + 14, l4, 20 + plen, IpProto.TCP);
        return padFrame(buf, off, len);
      }
      case M_VLAN_STACK: {
        const n = rng.range(10, 16);
        for (let i = 0; i < n; i++) this.tcis[i] = rng.range(1, 4094);
        const l2 = writeEthernetRaw(
          buf,
          off,
          this.topo.mac[this.host()],
          this.topo.mac[this.host()],
          EtherType.IPV4,
          this.tpids,
          this.tcis,
          n,
        );
        return padFrame(buf, off, l2 + this.v4Body(buf, off + l2, false, rng.range(0, 100)));
      }
      default: {
        const len = this.v6Segment(buf, off, 0, false);
        const ip = off + 14;
        const real = len - 54;
        const r = rng.float();
        put16(
          buf,
          ip + 4,
          r < 0.5 ? real + 8 + rng.range(1, 1000) : r < 0.75 ? 0 : rng.range(1, 7),
        );
        return padFrame(buf, off, len);
      }
    }
  }

  private host(): number {
    return this.rng.int(this.topo.count - 10);
  }

  /** Ethernet (optionally one tag) + IPv4 + TCP or UDP with `plen` payload bytes; returns the length. */
  private v4Segment(buf: Buffer, off: number, tags: number, tcp: boolean, plen: number): number {
    this.tcis[0] = 100;
    const l2 = writeEthernetRaw(
      buf,
      off,
      this.topo.mac[this.host()],
      this.topo.mac[this.host()],
      EtherType.IPV4,
      this.tpids,
      this.tcis,
      tags,
    );
    return l2 + this.v4Body(buf, off + l2, tcp, plen);
  }

  private v4Body(buf: Buffer, ip: number, tcp: boolean, plen: number): number {
    const rng = this.rng;
    const s = this.v4;
    s.src = this.topo.ip4[this.host()];
    s.dst = this.topo.ip4[this.host()];
    s.protocol = tcp ? IpProto.TCP : IpProto.UDP;
    s.id = rng.int(65536);
    s.ttl = 64;
    const l4 = tcp ? 20 : 8;
    s.payloadLength = l4 + plen;
    const h = writeIPv4(buf, ip, s);
    this.l4(buf, ip + h, tcp, plen);
    writeL4Checksum(buf, ip, ip + h, l4 + plen, s.protocol);
    return h + l4 + plen;
  }

  private l4(buf: Buffer, at: number, tcp: boolean, plen: number): void {
    const rng = this.rng;
    if (tcp) {
      const t = this.tcp;
      t.srcPort = rng.range(32768, 60999);
      t.dstPort = 443;
      t.seq = rng.u32();
      t.ack = rng.u32();
      t.flags = TcpFlag.ACK | TcpFlag.PSH;
      writeTcp(buf, at, t);
    } else {
      const u = this.udp;
      u.srcPort = rng.range(49152, 65535);
      u.dstPort = rng.range(49152, 65535);
      u.payloadLength = plen;
      writeUdp(buf, at, u);
    }
    const o = rng.int(RND_SIZE - plen);
    this.rnd.copy(buf, at + (tcp ? 20 : 8), o, o + plen);
  }

  private v6Segment(buf: Buffer, off: number, tags: number, tcp: boolean): number {
    this.tcis[0] = 200;
    const a = this.host();
    const b = this.host();
    const l2 = writeEthernetRaw(
      buf,
      off,
      this.topo.mac[a],
      this.topo.mac[b],
      EtherType.IPV6,
      this.tpids,
      this.tcis,
      tags,
    );
    const plen = this.rng.range(0, 200);
    const l4 = tcp ? 20 : 8;
    const proto = tcp ? IpProto.TCP : IpProto.UDP;
    writeIPv6Raw(buf, off + l2, this.topo.ip6[a], this.topo.ip6[b], proto, l4 + plen, 64, 0);
    this.l4(buf, off + l2 + 40, tcp, plen);
    writeL4Checksum(buf, off + l2, off + l2 + 40, l4 + plen, proto);
    return l2 + 40 + l4 + plen;
  }
}
