/**
 * Flow state machines of the mix. Every flow lives in a slot of parallel
 * typed arrays (no per-frame objects); `emit(slot)` writes the flow's next
 * frame into the shared buffer and advances it, and a finished flow is
 * re-drawn in place with fresh endpoints.
 */
import { EtherType, IpProto } from '@netmirror/packet';
import { copyBytes, type Ip6, type Mac } from './addr.js';
import { DnsType, DNS_NAMES } from './apps.js';
import { fold, put16, put32, sum16 } from './checksum.js';
import {
  writeIPv4,
  writeIPv6,
  writeIPv6Raw,
  type Ipv4Spec,
  type Ipv6Extension,
  type Ipv6Spec,
} from './ip.js';
import { padFrame, type ArpSpec } from './l2.js';
import {
  K_ARP,
  K_FRAG4,
  K_FRAG6,
  K_GRE,
  K_ICMP4,
  K_ICMP6,
  K_ND6,
  K_TCP4,
  K_TCP6,
  K_UDP4,
  K_UDP6,
  K_VXLAN,
} from './kinds.js';
import { cumulative, type Prng } from './prng.js';
import {
  ZERO_MAC,
  W_NONE,
  W_VLAN,
  W_QINQ,
  W_MPLS,
  VLAN_IDS,
  S_VLAN_IDS,
  C_VLAN_IDS,
  X_NONE,
  X_HBH,
  X_DST,
  X_RT,
  U_DNS,
  U_NTP,
  U_SNMP,
  TCP_PORTS,
  DISSECTED_HIGH_PORTS,
  MAGIC_SUM,
  TCP_PORT_WEIGHTS,
  AUX,
} from './flow-consts.js';
import { emitTcp } from './flow-tcp.js';
import { emitFragment, emitIcmp, emitUdp } from './flow-udp.js';
import { emitArp, emitNd } from './flow-link.js';
import { emitTunnel } from './flow-tunnel.js';
import { RND_SIZE, type RandomBlock } from './random-block.js';
import type { Topology } from './hosts.js';
import {
  IcmpType,
  writeL4Checksum,
  writeL4ChecksumWithTail,
  type TcpSpec,
  type UdpSpec,
} from './transport.js';
import { type GreSpec } from './tunnel.js';

/** Counters of what was emitted, for stats. */
export interface WrapCounters {
  vlan: number;
  qinq: number;
  mpls: number;
}

export class Flows {
  readonly size: number;
  readonly kind: Uint8Array;
  readonly c: Int32Array;
  readonly s: Int32Array;
  readonly sport: Uint16Array;
  readonly dport: Uint16Array;
  readonly phase: Uint8Array;
  readonly count: Int32Array;
  readonly bulk: Int32Array;
  readonly segs: Int32Array;
  readonly seqC: Uint32Array;
  readonly seqS: Uint32Array;
  readonly ipIdC: Uint16Array;
  readonly ipIdS: Uint16Array;
  readonly tsOn: Uint8Array;
  readonly tsC: Uint32Array;
  readonly tsS: Uint32Array;
  readonly maxFrame: Int16Array;
  readonly wrap: Uint8Array;
  readonly tagCount: Uint8Array;
  readonly tpid: Uint16Array;
  readonly tci: Uint16Array;
  readonly mplsCount: Uint8Array;
  readonly mpls: Uint32Array;
  readonly ext6: Uint8Array;
  readonly aux: Int32Array;
  readonly inner: Int32Array;
  readonly isInner: Uint8Array;

  readonly rnd: Buffer;
  /** Where this frame's random payload starts (-1: none) and its precomputed word sum. */
  pAt = -1;
  pSum = 0;

  /** True when the frame just emitted went from client to server. */
  fromClient = true;
  /** Current frame time (set by the generator before each emit). */
  nowSec = 0;
  nowNsec = 0;

  readonly udpSpec: UdpSpec = { srcPort: 0, dstPort: 0, payloadLength: 0 };
  readonly greKey: GreSpec = { key: 0 };
  readonly greNoKey: GreSpec = {};
  readonly tcpSpec: TcpSpec = {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
  };
  readonly v4Spec: Ipv4Spec = { src: 0, dst: 0, protocol: 0, payloadLength: 0 };
  readonly fragExt: { type: 'fragment'; offset: number; more: boolean; id: number } = {
    type: 'fragment',
    offset: 0,
    more: false,
    id: 0,
  };
  readonly v6Spec: Ipv6Spec;
  readonly extHbh: readonly Ipv6Extension[];
  readonly extDst: readonly Ipv6Extension[];
  readonly extRt: readonly Ipv6Extension[];
  readonly extFrag: readonly Ipv6Extension[];
  readonly synOptsLinux = Uint8Array.from([
    2, 4, 0, 0, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7,
  ]);
  readonly synOptsWin = Uint8Array.from([2, 4, 0, 0, 1, 3, 3, 8, 1, 1, 4, 2]);
  readonly tsOpts = Uint8Array.from([1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
  readonly arpSpec: ArpSpec = {
    op: 1,
    senderMac: ZERO_MAC,
    senderIp: 0,
    targetMac: ZERO_MAC,
    targetIp: 0,
  };
  readonly mcastMac: Mac = Uint8Array.from([0x33, 0x33, 0xff, 0, 0, 0]);
  readonly mldMac: Mac = Uint8Array.from([0x33, 0x33, 0, 0, 0, 0x16]);
  readonly solicited: Ip6 = new Uint8Array(16);
  readonly mldDst: Ip6 = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16]);

  constructor(
    size: number,
    readonly rng: Prng,
    readonly topo: Topology,
    readonly block: RandomBlock,
    readonly wraps: WrapCounters,
  ) {
    this.rnd = block.bytes;
    this.size = size;
    this.kind = new Uint8Array(size);
    this.c = new Int32Array(size);
    this.s = new Int32Array(size);
    this.sport = new Uint16Array(size);
    this.dport = new Uint16Array(size);
    this.phase = new Uint8Array(size);
    this.count = new Int32Array(size);
    this.bulk = new Int32Array(size);
    this.segs = new Int32Array(size);
    this.seqC = new Uint32Array(size);
    this.seqS = new Uint32Array(size);
    this.ipIdC = new Uint16Array(size);
    this.ipIdS = new Uint16Array(size);
    this.tsOn = new Uint8Array(size);
    this.tsC = new Uint32Array(size);
    this.tsS = new Uint32Array(size);
    this.maxFrame = new Int16Array(size);
    this.wrap = new Uint8Array(size);
    this.tagCount = new Uint8Array(size);
    this.tpid = new Uint16Array(size * 2);
    this.tci = new Uint16Array(size * 2);
    this.mplsCount = new Uint8Array(size);
    this.mpls = new Uint32Array(size * 3);
    this.ext6 = new Uint8Array(size);
    this.aux = new Int32Array(size * AUX);
    this.inner = new Int32Array(size).fill(-1);
    this.isInner = new Uint8Array(size);
    this.v6Spec = { src: ZERO_MAC, dst: ZERO_MAC, nextHeader: 0, payloadLength: 0 };
    this.extHbh = [{ type: 'hop-by-hop', options: Uint8Array.from([5, 2, 0, 0]) }]; // router alert (MLD)
    this.extDst = [{ type: 'destination' }];
    this.extRt = [
      { type: 'routing', routingType: 4, segmentsLeft: 0, addresses: [topo.ip6[0], topo.ip6[1]] },
    ];
    this.extFrag = [this.fragExt];
  }

  // ---------------------------------------------------------------- set-up

  /** Draws a fresh flow of `kind` into `f`. Tunnel kinds also redraw their inner flow (slot `inner[f]`). */
  init(f: number, kind: number, maxFrame: number, inner: boolean): void {
    const rng = this.rng;
    const topo = this.topo;
    this.kind[f] = kind;
    this.isInner[f] = inner ? 1 : 0;
    this.phase[f] = 0;
    this.segs[f] = 0;
    this.ext6[f] = X_NONE;
    this.maxFrame[f] = maxFrame;
    this.ipIdC[f] = rng.int(65536);
    this.ipIdS[f] = rng.int(65536);
    this.drawWrap(f, kind, inner);
    const a = f * AUX;
    const local = topo.local;
    const client = local[rng.int(local.length)];
    this.c[f] = client;
    switch (kind) {
      case K_TCP4:
      case K_TCP6:
        this.initTcp(f, client);
        if (kind === K_TCP6 && rng.chance(0.03)) this.ext6[f] = X_RT;
        break;
      case K_UDP4:
      case K_UDP6:
        this.initUdp(f, kind === K_UDP6);
        if (kind === K_UDP6 && rng.chance(0.08)) this.ext6[f] = X_DST;
        break;
      case K_ICMP4:
      case K_ICMP6: {
        this.s[f] = rng.chance(0.6) ? this.anyPublic() : this.otherLocal(client);
        this.count[f] = 2 * rng.range(3, 12);
        this.aux[a] = rng.int(65536); // echo id
        this.aux[a + 1] = rng.chance(0.06) ? rng.range(900, 1400) : rng.chance(0.7) ? 56 : 32;
        break;
      }
      case K_ND6:
      case K_ARP: {
        this.s[f] = this.sameSubnet(client);
        this.count[f] = kind === K_ND6 && rng.chance(0.2) ? 1 : 2; // 1: an MLDv2 report instead
        this.aux[a] = rng.chance(0.3) ? 1 : 0; // ARP: ask for the gateway
        break;
      }
      case K_FRAG4:
      case K_FRAG6:
        this.initFragments(f, kind === K_FRAG6, client);
        break;
      case K_VXLAN:
      case K_GRE: {
        const ends = kind === K_VXLAN ? topo.vteps : topo.greEndpoints;
        const i = rng.int(ends.length);
        this.c[f] = ends[i];
        this.s[f] = ends[(i + 1 + rng.int(ends.length - 1)) % ends.length];
        this.aux[a] = kind === K_VXLAN ? [5001, 5002, 10010, 7340033][rng.int(4)] : rng.u32() | 0;
        this.aux[a + 1] = kind === K_GRE && rng.chance(0.4) ? 1 : 0; // GRE key present
        const outer = this.l2Len(f) + 20 + (kind === K_VXLAN ? 16 : this.aux[a + 1] === 1 ? 8 : 4);
        const g = this.inner[f];
        if (g < 0) throw new Error('capgen: tunnel slot without an inner slot');
        this.init(g, rng.chance(0.75) ? K_TCP4 : K_UDP4, maxFrame - outer, true);
        break;
      }
    }
  }

  drawWrap(f: number, kind: number, inner: boolean): void {
    const rng = this.rng;
    this.tagCount[f] = 0;
    this.mplsCount[f] = 0;
    const r = rng.float();
    const ip = kind !== K_ARP && kind !== K_ND6;
    let w = W_NONE;
    if (inner) w = r < 0.1 ? W_VLAN : W_NONE;
    else if (r < 0.105) w = W_VLAN;
    else if (r < 0.13) w = W_QINQ;
    else if (r < 0.142 && ip) w = W_MPLS;
    this.wrap[f] = w;
    const pcp = kind === K_UDP4 && rng.chance(0.3) ? 5 : 0;
    if (w === W_VLAN) {
      this.tagCount[f] = 1;
      this.tpid[f * 2] = EtherType.VLAN;
      this.tci[f * 2] = (pcp << 13) | VLAN_IDS[rng.int(VLAN_IDS.length)];
    } else if (w === W_QINQ) {
      this.tagCount[f] = 2;
      const v = rng.float();
      this.tpid[f * 2] = v < 0.7 ? EtherType.QINQ : v < 0.9 ? EtherType.VLAN : EtherType.QINQ_OLD;
      this.tci[f * 2] = S_VLAN_IDS[rng.int(S_VLAN_IDS.length)];
      this.tpid[f * 2 + 1] = EtherType.VLAN;
      this.tci[f * 2 + 1] = (pcp << 13) | C_VLAN_IDS[rng.int(C_VLAN_IDS.length)];
    } else if (w === W_MPLS) {
      const n = rng.range(1, 3);
      this.mplsCount[f] = n;
      for (let i = 0; i < n; i++) this.mpls[f * 3 + i] = rng.range(16, 1048575);
    }
  }

  anyPublic(): number {
    const p = this.topo.publicHosts;
    return p[this.rng.int(p.length)];
  }

  otherLocal(client: number): number {
    const l = this.topo.local;
    let h = l[this.rng.int(l.length)];
    if (h === client) h = l[(h + 1) % l.length];
    return h;
  }

  sameSubnet(client: number): number {
    const topo = this.topo;
    const base = topo.subnet[client] * (topo.local.length / topo.subnetCount);
    let h = base + this.rng.int(topo.local.length / topo.subnetCount);
    if (h === client) h = h === base ? h + 1 : h - 1;
    return h;
  }

  pickFrom(list: Int32Array): number {
    return list[this.rng.int(list.length)];
  }

  /** A port in 49152..65535 that no tshark 4.0 dissector claims (random bytes stay "data"). */
  randomPort(): number {
    let p = this.rng.range(49152, 65535);
    while (DISSECTED_HIGH_PORTS.has(p)) p++;
    return p;
  }

  initTcp(f: number, client: number): void {
    const rng = this.rng;
    const topo = this.topo;
    let port = TCP_PORTS[rng.pick(this.tcpPortCum)];
    let server: number;
    switch (port) {
      case 443:
      case 80:
        server = rng.chance(0.8) ? this.anyPublic() : this.pickFrom(topo.dataCentre);
        break;
      case 22:
        server = rng.chance(0.5) ? this.pickFrom(topo.dataCentre) : this.otherLocal(client);
        break;
      case 25:
        server = this.pickFrom(topo.smtp);
        break;
      case 8080:
        server = this.pickFrom(topo.dataCentre);
        break;
      default:
        port = this.randomPort();
        server = rng.chance(0.5) ? this.otherLocal(client) : this.anyPublic();
    }
    this.s[f] = server;
    this.sport[f] = rng.range(32768, 60999);
    this.dport[f] = port;
    this.seqC[f] = rng.u32();
    this.seqS[f] = rng.u32();
    this.tsOn[f] = topo.ttl[client] === 64 ? 1 : 0;
    this.tsC[f] = rng.u32();
    this.tsS[f] = rng.u32();
    // Rounds of request/response, and what ends the connection.
    this.count[f] = port === 22 ? rng.range(5, 40) : rng.range(1, 6);
    const end = rng.float();
    this.aux[f * AUX] = end < 0.02 ? 2 : end < 0.05 ? 1 : 0; // 2 refused, 1 reset, 0 FIN
  }

  readonly tcpPortCum = cumulative(TCP_PORT_WEIGHTS);
  // DNS, NTP, SNMP (IPv4 only), random-port streams.
  readonly udpCum4 = cumulative([50, 15, 10, 25]);
  readonly udpCum6 = cumulative([70, 10, 0, 20]);

  initUdp(f: number, v6: boolean): void {
    const rng = this.rng;
    const topo = this.topo;
    const a = f * AUX;
    const service = rng.pick(v6 ? this.udpCum6 : this.udpCum4);
    this.aux[a] = service;
    this.count[f] = 2;
    switch (service) {
      case U_DNS:
        this.s[f] = this.pickFrom(topo.dns);
        this.sport[f] = rng.range(32768, 60999);
        this.dport[f] = 53;
        this.aux[a + 1] = rng.int(DNS_NAMES.length);
        this.aux[a + 2] = v6 || rng.chance(0.3) ? DnsType.AAAA : DnsType.A;
        this.aux[a + 3] = rng.int(65536);
        this.aux[a + 4] = rng.chance(0.05) ? 1 : 0; // NXDOMAIN
        break;
      case U_NTP:
        this.s[f] = this.pickFrom(topo.ntp);
        this.sport[f] = rng.chance(0.5) ? 123 : rng.range(32768, 60999);
        this.dport[f] = 123;
        break;
      case U_SNMP:
        this.c[f] = topo.snmpManager;
        this.s[f] = this.pickFrom(topo.snmpAgents);
        this.sport[f] = rng.range(32768, 60999);
        this.dport[f] = 161;
        this.aux[a + 1] = rng.range(0x01000000, 0x7fffffff);
        break;
      default:
        this.s[f] = rng.chance(0.5) ? this.otherLocal(this.c[f]) : this.anyPublic();
        this.sport[f] = this.randomPort();
        this.dport[f] = this.randomPort();
        this.count[f] = rng.range(4, 60);
        this.aux[a + 1] = rng.chance(0.5) ? 172 : 0; // fixed RTP-like size, or random sizes
    }
  }

  initFragments(f: number, v6: boolean, client: number): void {
    const rng = this.rng;
    const a = f * AUX;
    this.s[f] = rng.chance(0.5) ? this.otherLocal(client) : this.anyPublic();
    const icmp = !v6 && rng.chance(0.3);
    this.aux[a + 4] = icmp ? 1 : 0;
    this.sport[f] = this.randomPort();
    this.dport[f] = this.randomPort();
    const ipHdr = v6 ? 48 : 20;
    const per = ((this.maxFrame[f] - this.l2Len(f) - ipHdr) & ~7) >>> 0;
    const total = 8 + rng.range(per - 7, Math.max(per, Math.min(3 * per, 30000))); // 2-4 fragments
    const rOff = rng.int(RND_SIZE - total);
    this.aux[a] = total;
    this.aux[a + 1] = per;
    this.aux[a + 2] = rOff;
    this.aux[a + 5] = rng.chance(0.15) ? 1 : 0; // sent last fragment first
    this.count[f] = Math.ceil(total / per);
    this.segs[f] = rng.u32() | 0; // fragment id
    // The L4 checksum covers the whole datagram: header words + pseudo-header + payload
    // (the magic, then random bytes: datagram byte k >= 12 is rnd[rOff + k - 8]).
    let sum = this.block.sum(rOff + 4, total - 12) + MAGIC_SUM;
    if (icmp) {
      sum += (IcmpType.ECHO_REQUEST << 8) + (this.sport[f] + 1);
    } else {
      const src = this.topo;
      if (v6) {
        sum = sum16(src.ip6[client], 0, 16, sum);
        sum = sum16(src.ip6[this.s[f]], 0, 16, sum);
      } else {
        const s4 = src.ip4[client];
        const d4 = src.ip4[this.s[f]];
        sum += (s4 >>> 16) + (s4 & 0xffff) + (d4 >>> 16) + (d4 & 0xffff);
      }
      sum += IpProto.UDP + total; // pseudo-header
      sum += this.sport[f] + this.dport[f] + total; // UDP header, checksum 0
    }
    let c = fold(sum);
    if (c === 0 && !icmp) c = 0xffff;
    this.aux[a + 3] = c;
  }

  // ------------------------------------------------------------ frame parts

  l2Len(f: number): number {
    return 14 + 4 * this.tagCount[f] + 4 * this.mplsCount[f];
  }

  writeL2(f: number, buf: Buffer, off: number, src: Mac, dst: Mac, etherType: number): number {
    copyBytes(buf, off, dst, 6);
    copyBytes(buf, off + 6, src, 6);
    let at = off + 12;
    const n = this.tagCount[f];
    const outer = this.isInner[f] === 0;
    if (n > 0 && outer) {
      this.wraps.vlan++;
      if (n > 1) this.wraps.qinq++;
    }
    for (let i = 0; i < n; i++) {
      put16(buf, at, this.tpid[f * 2 + i]);
      put16(buf, at + 2, this.tci[f * 2 + i]);
      at += 4;
    }
    const m = this.mplsCount[f];
    if (m > 0) {
      if (outer) this.wraps.mpls++;
      put16(buf, at, EtherType.MPLS);
      at += 2;
      for (let i = 0; i < m; i++) {
        put32(buf, at, (this.mpls[f * 3 + i] * 4096 + (i === m - 1 ? 0x100 : 0) + 60) >>> 0);
        at += 4;
      }
      return at - off;
    }
    put16(buf, at, etherType);
    return at + 2 - off;
  }

  /** Ethernet (+ tags/MPLS) for a unicast frame between hosts `from` and `to`. */
  l2(f: number, buf: Buffer, off: number, from: number, to: number, etherType: number): number {
    return this.writeL2(
      f,
      buf,
      off,
      this.topo.l2Src(from, to),
      this.topo.l2Dst(from, to),
      etherType,
    );
  }

  ip4(
    buf: Buffer,
    at: number,
    f: number,
    from: number,
    to: number,
    proto: number,
    plen: number,
    df: boolean,
  ): number {
    const s = this.v4Spec;
    s.src = this.topo.ip4[from];
    s.dst = this.topo.ip4[to];
    s.protocol = proto;
    s.payloadLength = plen;
    s.ttl = this.topo.ttlSeen(from);
    s.df = df;
    s.mf = false;
    s.fragmentOffset = 0;
    if (this.fromClient) s.id = this.ipIdC[f]++;
    else s.id = this.ipIdS[f]++;
    return writeIPv4(buf, at, s);
  }

  ip6(
    buf: Buffer,
    at: number,
    f: number,
    from: number,
    to: number,
    nh: number,
    plen: number,
  ): number {
    const x = this.ext6[f];
    const topo = this.topo;
    if (x === X_NONE) {
      return writeIPv6Raw(
        buf,
        at,
        topo.ip6[from],
        topo.ip6[to],
        nh,
        plen,
        topo.ttlSeen(from),
        (this.sport[f] * 31 + this.dport[f]) & 0xfffff,
      );
    }
    const s = this.v6Spec;
    s.src = topo.ip6[from];
    s.dst = topo.ip6[to];
    s.nextHeader = nh;
    s.payloadLength = plen;
    s.hopLimit = topo.ttlSeen(from);
    s.extensions = x === X_HBH ? this.extHbh : x === X_DST ? this.extDst : this.extRt;
    return writeIPv6(buf, at, s);
  }

  ip6HdrLen(f: number): number {
    const x = this.ext6[f];
    return x === X_NONE ? 40 : x === X_RT ? 80 : 48;
  }

  /**
   * Copies `len` random bytes to `buf[at]`; they must end the transport
   * segment (their checksum sum is taken from the block, not recomputed).
   */
  payload(buf: Buffer, at: number, len: number): void {
    if (len <= 0) return;
    const o = this.rng.int(RND_SIZE - len);
    this.rnd.copy(buf, at, o, o + len);
    this.pAt = at;
    this.pSum = this.block.sum(o, len);
  }

  /** Writes IP + L4 given a transport already at `l4` of length `l4len`, for either family. */
  finishIp(
    buf: Buffer,
    ipAt: number,
    f: number,
    v6: boolean,
    from: number,
    to: number,
    proto: number,
    l4len: number,
    df: boolean,
  ): number {
    const h = v6
      ? this.ip6(buf, ipAt, f, from, to, proto, l4len)
      : this.ip4(buf, ipAt, f, from, to, proto, l4len, df);
    if (this.pAt >= 0)
      writeL4ChecksumWithTail(buf, ipAt, ipAt + h, l4len, proto, this.pAt, this.pSum);
    else writeL4Checksum(buf, ipAt, ipAt + h, l4len, proto);
    this.pAt = -1;
    return h + l4len;
  }

  // ------------------------------------------------------------ emitters

  /** Writes flow `f`'s next frame at `buf[off]`; returns its length (60..maxFrame). */
  emit(f: number, buf: Buffer, off: number): number {
    let len: number;
    this.pAt = -1;
    switch (this.kind[f]) {
      case K_TCP4:
      case K_TCP6:
        len = emitTcp(this, f, buf, off);
        break;
      case K_UDP4:
      case K_UDP6:
        len = emitUdp(this, f, buf, off);
        break;
      case K_ICMP4:
      case K_ICMP6:
        len = emitIcmp(this, f, buf, off);
        break;
      case K_ND6:
        len = emitNd(this, f, buf, off);
        break;
      case K_ARP:
        len = emitArp(this, f, buf, off);
        break;
      case K_FRAG4:
      case K_FRAG6:
        len = emitFragment(this, f, buf, off);
        break;
      default:
        len = emitTunnel(this, f, buf, off);
    }
    return this.isInner[f] === 1 ? len : padFrame(buf, off, len);
  }

  done(f: number): void {
    this.init(f, this.kind[f], this.maxFrame[f], this.isInner[f] === 1);
  }
}
