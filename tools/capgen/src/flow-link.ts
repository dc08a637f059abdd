/** Link-local exchanges: IPv6 neighbour discovery (and MLDv2 reports), ARP. */
import { EtherType, IpProto } from '@netmirror/packet';
import { copyBytes, type Ip6, type Mac } from './addr.js';
import { put16, put32 } from './checksum.js';
import { writeIPv6, writeIPv6Raw } from './ip.js';
import { ArpOp, writeArp } from './l2.js';
import { Icmp6Type, writeL4Checksum, writeNeighborDiscovery } from './transport.js';
import { ZERO_MAC, BROADCAST, AUX } from './flow-consts.js';
import type { Flows } from './flows.js';

/** Neighbour solicitation then advertisement, or a single MLDv2 report. */
export function emitNd(fl: Flows, f: number, buf: Buffer, off: number): number {
  const topo = fl.topo;
  const ph = fl.phase[f];
  const asker = fl.c[f];
  const target = fl.s[f];
  const tgt = topo.ip6[target];
  let len: number;
  if (fl.count[f] === 1) {
    // MLDv2 report for the solicited-node group, with a hop-by-hop router alert.
    fl.fromClient = true;
    solicitedNode(fl, tgt);
    const l2 = fl.writeL2(f, buf, off, topo.mac[asker], fl.mldMac, EtherType.IPV6);
    const ip = off + l2;
    const s = fl.v6Spec;
    s.src = topo.ll6[asker];
    s.dst = fl.mldDst;
    s.nextHeader = IpProto.ICMPV6;
    s.payloadLength = 28;
    s.hopLimit = 1;
    s.extensions = fl.extHbh;
    const h = writeIPv6(buf, ip, s);
    const m = ip + h;
    buf[m] = 143;
    buf[m + 1] = 0;
    put32(buf, m + 2, 0);
    put16(buf, m + 6, 1);
    put32(buf, m + 8, 0x04000000); // CHANGE_TO_EXCLUDE, no sources
    copyBytes(buf, m + 12, fl.solicited, 16);
    writeL4Checksum(buf, ip, m, 28, IpProto.ICMPV6);
    len = l2 + h + 28;
    fl.done(f);
    return len;
  }
  const solicit = ph === 0;
  fl.fromClient = solicit;
  const from = solicit ? asker : target;
  let dstMac: Mac;
  let dstIp: Ip6;
  if (solicit) {
    solicitedNode(fl, tgt);
    fl.mcastMac[3] = tgt[13];
    fl.mcastMac[4] = tgt[14];
    fl.mcastMac[5] = tgt[15];
    dstMac = fl.mcastMac;
    dstIp = fl.solicited;
  } else {
    dstMac = topo.mac[asker];
    dstIp = topo.ll6[asker];
  }
  const l2 = fl.writeL2(f, buf, off, topo.mac[from], dstMac, EtherType.IPV6);
  const ip = off + l2;
  writeIPv6Raw(buf, ip, topo.ll6[from], dstIp, IpProto.ICMPV6, 32, 255, 0);
  writeNeighborDiscovery(
    buf,
    ip + 40,
    solicit ? Icmp6Type.NEIGHBOR_SOLICITATION : Icmp6Type.NEIGHBOR_ADVERTISEMENT,
    tgt,
    topo.mac[from],
  );
  writeL4Checksum(buf, ip, ip + 40, 32, IpProto.ICMPV6);
  len = l2 + 72;
  fl.phase[f] = ph + 1;
  if (ph >= 1) fl.done(f);
  return len;
}

/** Sets `fl.solicited` to the solicited-node multicast address of `target`. */
export function solicitedNode(fl: Flows, target: Ip6): void {
  const s = fl.solicited;
  s.fill(0);
  s[0] = 0xff;
  s[1] = 0x02;
  s[11] = 0x01;
  s[12] = 0xff;
  s[13] = target[13];
  s[14] = target[14];
  s[15] = target[15];
}

/** ARP request (broadcast) then reply. */
export function emitArp(fl: Flows, f: number, buf: Buffer, off: number): number {
  const topo = fl.topo;
  const ph = fl.phase[f];
  const asker = fl.c[f];
  const gw = fl.aux[f * AUX] === 1;
  const subnet = topo.subnet[asker];
  const tMac = gw ? topo.gatewayMac[subnet] : topo.mac[fl.s[f]];
  const tIp = gw ? topo.gatewayIp4[subnet] : topo.ip4[fl.s[f]];
  const a = fl.arpSpec;
  const request = ph === 0;
  fl.fromClient = request;
  let l2: number;
  if (request) {
    l2 = fl.writeL2(f, buf, off, topo.mac[asker], BROADCAST, EtherType.ARP);
    a.op = ArpOp.REQUEST;
    a.senderMac = topo.mac[asker];
    a.senderIp = topo.ip4[asker];
    a.targetMac = ZERO_MAC;
    a.targetIp = tIp;
  } else {
    l2 = fl.writeL2(f, buf, off, tMac, topo.mac[asker], EtherType.ARP);
    a.op = ArpOp.REPLY;
    a.senderMac = tMac;
    a.senderIp = tIp;
    a.targetMac = topo.mac[asker];
    a.targetIp = topo.ip4[asker];
  }
  const len = l2 + writeArp(buf, off + l2, a);
  fl.phase[f] = ph + 1;
  if (ph >= 1) fl.done(f);
  return len;
}
