/** UDP services (DNS, NTP, SNMP, random-port streams), ICMP echo, and fragmented datagrams. */
import { EtherType, IpProto } from '@netmirror/packet';
import { DNS_NAMES, writeDnsQuery, writeDnsResponse, writeNtp, writeSnmp } from './apps.js';
import { put16, put32 } from './checksum.js';
import { writeIPv4, writeIPv6 } from './ip.js';
import { K_FRAG6, K_ICMP6, K_UDP6 } from './kinds.js';
import { Icmp6Type, IcmpType, writeIcmpEcho, writeUdp } from './transport.js';
import { U_DNS, U_NTP, U_SNMP, U_STREAM, PAYLOAD_MAGIC, AUX } from './flow-consts.js';
import type { Flows } from './flows.js';

/** The next datagram of a DNS/NTP/SNMP exchange or a random-port stream. */
export function emitUdp(fl: Flows, f: number, buf: Buffer, off: number): number {
  const rng = fl.rng;
  const topo = fl.topo;
  const v6 = fl.kind[f] === K_UDP6;
  const a = f * AUX;
  const ph = fl.phase[f];
  const service = fl.aux[a];
  let fromClient = (ph & 1) === 0;
  if (service === U_STREAM) fromClient = rng.chance(0.7);
  fl.fromClient = fromClient;
  const from = fromClient ? fl.c[f] : fl.s[f];
  const to = fromClient ? fl.s[f] : fl.c[f];
  const l2 = fl.l2(f, buf, off, from, to, v6 ? EtherType.IPV6 : EtherType.IPV4);
  const ipHdr = v6 ? fl.ip6HdrLen(f) : 20;
  const l4 = off + l2 + ipHdr;
  const p = l4 + 8;
  let plen: number;
  switch (service) {
    case U_DNS: {
      const name = DNS_NAMES[fl.aux[a + 1]];
      plen = fromClient
        ? writeDnsQuery(buf, p, fl.aux[a + 3], name, fl.aux[a + 2])
        : writeDnsResponse(
            buf,
            p,
            fl.aux[a + 3],
            name,
            fl.aux[a + 2],
            topo.ip4[fl.s[f]] ^ 0x5a5a,
            topo.ip6[fl.s[f]],
            300,
            fl.aux[a + 4] === 1,
          );
      break;
    }
    case U_NTP:
      plen = writeNtp(buf, p, !fromClient, fl.nowSec, fl.aux[a + 3]);
      break;
    case U_SNMP:
      plen = writeSnmp(buf, p, !fromClient, fl.aux[a + 1], 0x01000000 + (fl.nowSec & 0x3fffffff));
      break;
    default: {
      const room = fl.maxFrame[f] - l2 - ipHdr - 8;
      plen = Math.min(room, fl.aux[a + 1] > 0 ? fl.aux[a + 1] : rng.range(20, 1300));
      put32(buf, p, PAYLOAD_MAGIC);
      fl.payload(buf, p + 4, plen - 4);
    }
  }
  const u = fl.udpSpec;
  u.srcPort = fromClient ? fl.sport[f] : fl.dport[f];
  u.dstPort = fromClient ? fl.dport[f] : fl.sport[f];
  u.payloadLength = plen;
  writeUdp(buf, l4, u);
  const len = l2 + fl.finishIp(buf, off + l2, f, v6, from, to, IpProto.UDP, 8 + plen, false);
  fl.phase[f] = ph + 1;
  if (--fl.count[f] <= 0) fl.done(f);
  return len;
}

/** Echo request or reply (ICMP or ICMPv6); both carry the same payload. */
export function emitIcmp(fl: Flows, f: number, buf: Buffer, off: number): number {
  const v6 = fl.kind[f] === K_ICMP6;
  const a = f * AUX;
  const ph = fl.phase[f];
  const request = (ph & 1) === 0;
  fl.fromClient = request;
  const from = request ? fl.c[f] : fl.s[f];
  const to = request ? fl.s[f] : fl.c[f];
  const l2 = fl.l2(f, buf, off, from, to, v6 ? EtherType.IPV6 : EtherType.IPV4);
  const ipHdr = v6 ? fl.ip6HdrLen(f) : 20;
  const l4 = off + l2 + ipHdr;
  const seq = (ph >> 1) + 1;
  const type = v6
    ? request
      ? Icmp6Type.ECHO_REQUEST
      : Icmp6Type.ECHO_REPLY
    : request
      ? IcmpType.ECHO_REQUEST
      : IcmpType.ECHO_REPLY;
  writeIcmpEcho(buf, l4, type, fl.aux[a], seq);
  const plen = Math.min(fl.aux[a + 1], fl.maxFrame[f] - l2 - ipHdr - 8);
  // Same payload in request and reply: a timestamp-like word, then 0x10, 0x11, ...
  put32(buf, l4 + 8, (fl.aux[a] * 65536 + seq) >>> 0);
  put32(buf, l4 + 12, (fl.aux[a] ^ 0x5bd1e995) >>> 0);
  for (let i = 8; i < plen; i++) buf[l4 + 8 + i] = (i + 8) & 0xff;
  const len =
    l2 +
    fl.finishIp(buf, off + l2, f, v6, from, to, v6 ? IpProto.ICMPV6 : IpProto.ICMP, 8 + plen, !v6);
  fl.phase[f] = ph + 1;
  if (--fl.count[f] <= 0) fl.done(f);
  return len;
}

/** One fragment of the flow's datagram; the first carries the UDP/ICMP header. */
export function emitFragment(fl: Flows, f: number, buf: Buffer, off: number): number {
  const v6 = fl.kind[f] === K_FRAG6;
  const a = f * AUX;
  const total = fl.aux[a];
  const per = fl.aux[a + 1];
  const rOff = fl.aux[a + 2];
  const icmp = fl.aux[a + 4] === 1;
  const n = fl.count[f];
  const i = fl.aux[a + 5] === 1 ? (fl.phase[f] === 0 ? n - 1 : fl.phase[f] - 1) : fl.phase[f];
  const start = i * per;
  const fragLen = Math.min(per, total - start);
  const more = start + fragLen < total;
  fl.fromClient = true;
  const from = fl.c[f];
  const to = fl.s[f];
  const proto = icmp ? IpProto.ICMP : IpProto.UDP;
  const l2 = fl.l2(f, buf, off, from, to, v6 ? EtherType.IPV6 : EtherType.IPV4);
  const ip = off + l2;
  let h: number;
  const id = fl.segs[f] >>> 0;
  if (v6) {
    const s = fl.v6Spec;
    s.src = fl.topo.ip6[from];
    s.dst = fl.topo.ip6[to];
    s.nextHeader = proto;
    s.payloadLength = fragLen;
    s.hopLimit = fl.topo.ttlSeen(from);
    fl.fragExt.offset = start;
    fl.fragExt.more = more;
    fl.fragExt.id = id;
    s.extensions = fl.extFrag;
    h = writeIPv6(buf, ip, s);
  } else {
    const s = fl.v4Spec;
    s.src = fl.topo.ip4[from];
    s.dst = fl.topo.ip4[to];
    s.protocol = proto;
    s.payloadLength = fragLen;
    s.ttl = fl.topo.ttlSeen(from);
    s.id = id & 0xffff;
    s.df = false;
    s.mf = more;
    s.fragmentOffset = start;
    h = writeIPv4(buf, ip, s);
  }
  const p = ip + h;
  if (i === 0) {
    if (icmp) {
      writeIcmpEcho(buf, p, IcmpType.ECHO_REQUEST, fl.sport[f], 1);
      put16(buf, p + 2, fl.aux[a + 3]);
    } else {
      const u = fl.udpSpec;
      u.srcPort = fl.sport[f];
      u.dstPort = fl.dport[f];
      u.payloadLength = total - 8;
      writeUdp(buf, p, u);
      put16(buf, p + 6, fl.aux[a + 3]);
    }
    put32(buf, p + 8, PAYLOAD_MAGIC);
    fl.rnd.copy(buf, p + 12, rOff + 4, rOff + fragLen - 8);
  } else {
    fl.rnd.copy(buf, p, rOff + start - 8, rOff + start - 8 + fragLen);
  }
  fl.phase[f]++;
  if (fl.phase[f] >= n) fl.done(f);
  return l2 + h + fragLen;
}
