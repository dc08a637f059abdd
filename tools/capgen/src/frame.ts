/**
 * `buildFrame`: a whole frame from a declarative spec, for tests that craft
 * frames. Convenient, not for hot paths (the generator calls the layer
 * builders directly). Lengths and checksums are filled in unless a field
 * overrides them.
 */
import { EtherType, IpProto } from '@netmirror/packet';
import { copyBytes, type Ip6, type Mac } from './addr.js';
import {
  writeArp,
  writeEthernet,
  writeMplsStack,
  padFrame,
  type ArpSpec,
  type MplsLabel,
  type VlanTag,
} from './l2.js';
import { writeIPv4, writeIPv6, type Ipv4Spec, type Ipv6Spec } from './ip.js';
import {
  Icmp6Type,
  IcmpType,
  writeIcmpEcho,
  writeL4Checksum,
  writeNeighborDiscovery,
  writeTcp,
  writeUdp,
  type TcpSpec,
} from './transport.js';
import { VXLAN_PORT, writeGre, writeGreChecksum, writeVxlan, type GreSpec } from './tunnel.js';

export type NetworkSpec =
  | ({ kind: 'arp' } & ArpSpec)
  | ({ kind: 'ipv4' } & Omit<Ipv4Spec, 'protocol' | 'payloadLength'> & { protocol?: number })
  | ({ kind: 'ipv6' } & Omit<Ipv6Spec, 'nextHeader' | 'payloadLength'> & { nextHeader?: number });

export type TransportSpec =
  | ({ kind: 'tcp' } & TcpSpec)
  | { kind: 'udp'; srcPort: number; dstPort: number; lengthField?: number }
  | { kind: 'icmp-echo' | 'icmpv6-echo'; reply?: boolean; id: number; seq: number }
  | { kind: 'icmpv6-ns' | 'icmpv6-na'; target: Ip6; mac: Mac }
  | { kind: 'vxlan'; vni: number; srcPort?: number; dstPort?: number; inner: FrameSpec }
  | ({ kind: 'gre'; inner: FrameSpec } & GreSpec);

export interface FrameSpec {
  dst: Mac;
  src: Mac;
  /** VLAN tags, outermost first. */
  tags?: readonly VlanTag[];
  /** MPLS labels (outermost first) between the Ethernet header and the IP header. */
  mpls?: readonly MplsLabel[];
  net: NetworkSpec;
  /** Absent: the IP payload is `payload` alone, with `net.protocol`/`nextHeader` as given. */
  transport?: TransportSpec;
  /** Payload bytes, or a length filled with the pattern 00 01 02 ... */
  payload?: Uint8Array | number;
  /** Pad to the 60-byte minimum; default true (inner tunnelled frames: false). */
  pad?: boolean;
  /** Leave transport checksums zero (default false). */
  noChecksum?: boolean;
}

function writePayload(buf: Uint8Array, at: number, p: Uint8Array | number | undefined): number {
  if (p === undefined) return 0;
  if (typeof p === 'number') {
    for (let i = 0; i < p; i++) buf[at + i] = i & 0xff;
    return p;
  }
  copyBytes(buf, at, p);
  return p.length;
}

function transportProto(t: TransportSpec | undefined, fallback: number | undefined): number {
  if (t === undefined) return fallback ?? IpProto.NONE;
  switch (t.kind) {
    case 'tcp':
      return IpProto.TCP;
    case 'udp':
    case 'vxlan':
      return IpProto.UDP;
    case 'icmp-echo':
      return IpProto.ICMP;
    case 'icmpv6-echo':
    case 'icmpv6-ns':
    case 'icmpv6-na':
      return IpProto.ICMPV6;
    case 'gre':
      return IpProto.GRE;
  }
}

/** Writes the transport segment and payload at `at`; returns its length. */
function writeTransport(buf: Uint8Array, at: number, spec: FrameSpec, ipOff: number): number {
  const t = spec.transport;
  if (t === undefined) return writePayload(buf, at, spec.payload);
  let len: number;
  switch (t.kind) {
    case 'tcp':
      len = writeTcp(buf, at, t);
      len += writePayload(buf, at + len, spec.payload);
      break;
    case 'udp': {
      const plen = writePayload(buf, at + 8, spec.payload);
      len = 8 + plen;
      writeUdp(buf, at, {
        srcPort: t.srcPort,
        dstPort: t.dstPort,
        payloadLength: plen,
        lengthField: t.lengthField,
      });
      break;
    }
    case 'icmp-echo':
    case 'icmpv6-echo': {
      const v6 = t.kind === 'icmpv6-echo';
      const type = v6
        ? t.reply === true
          ? Icmp6Type.ECHO_REPLY
          : Icmp6Type.ECHO_REQUEST
        : t.reply === true
          ? IcmpType.ECHO_REPLY
          : IcmpType.ECHO_REQUEST;
      len = writeIcmpEcho(buf, at, type, t.id, t.seq);
      len += writePayload(buf, at + len, spec.payload);
      break;
    }
    case 'icmpv6-ns':
    case 'icmpv6-na': {
      const type =
        t.kind === 'icmpv6-ns' ? Icmp6Type.NEIGHBOR_SOLICITATION : Icmp6Type.NEIGHBOR_ADVERTISEMENT;
      len = writeNeighborDiscovery(buf, at, type, t.target, t.mac);
      len += writePayload(buf, at + len, spec.payload);
      break;
    }
    case 'vxlan': {
      writeVxlan(buf, at + 8, t.vni);
      const inner = buildFrame(buf, at + 16, { ...t.inner, pad: t.inner.pad ?? false });
      len = 16 + inner;
      writeUdp(buf, at, {
        srcPort: t.srcPort ?? 49152,
        dstPort: t.dstPort ?? VXLAN_PORT,
        payloadLength: len - 8,
      });
      break;
    }
    case 'gre': {
      const hlen = writeGre(buf, at, t);
      len = hlen + buildFrame(buf, at + hlen, { ...t.inner, pad: t.inner.pad ?? false });
      if (t.checksum === true) writeGreChecksum(buf, at, len);
      return len;
    }
  }
  const proto = transportProto(t, undefined);
  if (spec.noChecksum !== true) writeL4Checksum(buf, ipOff, at, len, proto);
  return len;
}

/** Builds the frame described by `spec` at `buf[off]`; returns its length. */
export function buildFrame(buf: Uint8Array, off: number, spec: FrameSpec): number {
  const n = spec.net;
  const etherType =
    spec.mpls !== undefined && spec.mpls.length > 0
      ? EtherType.MPLS
      : n.kind === 'arp'
        ? EtherType.ARP
        : n.kind === 'ipv4'
          ? EtherType.IPV4
          : EtherType.IPV6;
  let at = off + writeEthernet(buf, off, spec.dst, spec.src, etherType, spec.tags);
  if (spec.mpls !== undefined) at += writeMplsStack(buf, at, spec.mpls);
  const ipOff = at;
  switch (n.kind) {
    case 'arp':
      at += writeArp(buf, at, n);
      break;
    case 'ipv4': {
      const ip: Ipv4Spec = {
        ...n,
        protocol: transportProto(spec.transport, n.protocol),
        payloadLength: 0,
      };
      // Provisional header: the pseudo-header needs the addresses; Total Length is known after the payload.
      const hlen = writeIPv4(buf, at, ip);
      const l4 = writeTransport(buf, at + hlen, spec, ipOff);
      at += writeIPv4(buf, at, { ...ip, payloadLength: l4 }) + l4;
      break;
    }
    case 'ipv6': {
      const ip: Ipv6Spec = {
        ...n,
        nextHeader: transportProto(spec.transport, n.nextHeader),
        payloadLength: 0,
      };
      const hlen = writeIPv6(buf, at, ip);
      const l4 = writeTransport(buf, at + hlen, spec, ipOff);
      at += writeIPv6(buf, at, { ...ip, payloadLength: l4 }) + l4;
      break;
    }
  }
  const len = at - off;
  return spec.pad === false ? len : padFrame(buf, off, len);
}
