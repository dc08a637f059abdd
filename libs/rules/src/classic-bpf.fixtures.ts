// Frames and rule sets shared by the classic BPF compiler's tests (file
// semantics in classic-bpf.test.ts, a real kernel in
// classic-bpf.live.test.ts), and the oracle they are judged by: the
// user-space RuleMatcher. Test-only (excluded from the build).
import {
  buildFrame,
  parseIPv4,
  parseIPv6,
  parseMac,
  Prng,
  TcpFlag,
  type FrameSpec,
  type NetworkSpec,
  type TransportSpec,
  type VlanTag,
} from '@netmirror/capgen';
import { decodeFrame, FrameBatch, hex, PacketView } from '@netmirror/packet';
import { RuleMatcher } from './matcher.js';
import type { MirrorRule, RuleSet } from './types.js';
import { validateRuleSet } from './validate.js';

export interface TestFrame {
  name: string;
  bytes: Buffer;
}

const DST = parseMac('02:00:5e:00:0a:01');
const SRC = parseMac('02:00:5e:00:0a:02');
const scratch = Buffer.alloc(4096);

function frame(net: NetworkSpec, transport?: TransportSpec, more: Partial<FrameSpec> = {}): Buffer {
  const len = buildFrame(scratch, 0, { dst: DST, src: SRC, net, transport, ...more });
  return Buffer.from(scratch.subarray(0, len));
}

const v4 = (src: string, dst: string, extra: object = {}): NetworkSpec => ({
  kind: 'ipv4',
  src: parseIPv4(src),
  dst: parseIPv4(dst),
  ...extra,
});
const v6 = (src: string, dst: string, extra: object = {}): NetworkSpec => ({
  kind: 'ipv6',
  src: parseIPv6(src),
  dst: parseIPv6(dst),
  ...extra,
});
const tcp = (srcPort: number, dstPort: number, flags: number = TcpFlag.SYN): TransportSpec => ({
  kind: 'tcp',
  srcPort,
  dstPort,
  seq: 1,
  ack: 0,
  flags,
});
const udp = (srcPort: number, dstPort: number): TransportSpec => ({
  kind: 'udp',
  srcPort,
  dstPort,
});
const tag = (vid: number, tpid = 0x8100, pcp = 0, dei = false): VlanTag => ({
  vid,
  tpid,
  pcp,
  dei,
});
const ports = (s: number, d: number): Uint8Array =>
  Uint8Array.from([s >> 8, s & 0xff, d >> 8, d & 0xff]);
const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

/** Frames that walk every branch of the decoder the matcher reads. */
export function handcraftedFrames(): TestFrame[] {
  const out: TestFrame[] = [];
  const add = (name: string, bytes: Buffer): void => {
    out.push({ name, bytes });
  };
  const tcp4 = frame(v4('10.1.1.5', '192.168.1.20'), tcp(51000, 443));
  const udp4 = frame(v4('10.1.2.7', '8.8.8.8'), udp(5353, 53), { payload: 12 });
  const tcp6 = frame(v6('2001:db8::1', '2001:db8:f100::5'), tcp(40000, 443));
  const udp6 = frame(v6('2001:db8::7', 'fe80::1'), udp(546, 547), { payload: 8 });
  add('tcp4 10.1.1.5:51000 -> 192.168.1.20:443', tcp4);
  add('udp4 10.1.2.7:5353 -> 8.8.8.8:53', udp4);
  add(
    'icmp4 echo 172.16.10.1 -> 10.1.1.1',
    frame(v4('172.16.10.1', '10.1.1.1'), { kind: 'icmp-echo', id: 1, seq: 2 }),
  );
  add(
    'tcp4 with 8 bytes of IP options 10.1.1.5:22 -> 10.20.0.9:40000',
    frame(
      v4('10.1.1.5', '10.20.0.9', { options: Uint8Array.from([0x94, 4, 0, 0, 1, 1, 1, 0]) }),
      tcp(22, 40000, TcpFlag.ACK),
    ),
  );
  add(
    'udp4 first fragment 10.1.1.5:1000 -> 10.1.1.6:2000',
    frame(v4('10.1.1.5', '10.1.1.6', { mf: true, id: 7 }), udp(1000, 2000), { payload: 24 }),
  );
  add(
    'udp4 later fragment (offset 1480), port-like bytes 53/53',
    frame(v4('10.1.1.5', '10.1.1.6', { fragmentOffset: 1480, id: 7, protocol: 17 }), undefined, {
      payload: concat(ports(53, 53), new Uint8Array(20)),
    }),
  );
  add(
    'sctp4 10.1.2.3:2905 -> 10.1.2.4:2906',
    frame(v4('10.1.2.3', '10.1.2.4', { protocol: 132 }), undefined, {
      payload: concat(ports(2905, 2906), new Uint8Array(16)),
    }),
  );
  add(
    'sctp4 cut after 8 bytes within the IP packet',
    frame(v4('10.1.2.3', '10.1.2.4', { protocol: 132 }), undefined, {
      payload: concat(ports(2905, 2906), new Uint8Array(4)),
      pad: false,
    }),
  );
  add(
    'gre4 TEB carrying tcp 10.9.9.9:80',
    frame(v4('172.16.20.1', '172.16.20.2'), {
      kind: 'gre',
      key: 5,
      inner: { dst: DST, src: SRC, net: v4('10.9.9.8', '10.9.9.9'), transport: tcp(1234, 80) },
    }),
  );
  add(
    'vxlan4 udp 4789 carrying udp 53',
    frame(v4('172.16.20.1', '172.16.20.3'), {
      kind: 'vxlan',
      vni: 5001,
      inner: {
        dst: DST,
        src: SRC,
        tags: [tag(20)],
        net: v4('10.9.9.8', '10.9.9.9'),
        transport: udp(999, 53),
      },
    }),
  );
  add('esp4', frame(v4('10.1.1.5', '10.1.1.7', { protocol: 50 }), undefined, { payload: 16 }));
  // Hand-laid bytes where the builders would fix what is meant to be broken.
  const eth = '02 00 5e 00 0a 01  02 00 5e 00 0a 02';
  add(
    'tcp4 data offset 4: ports not decoded',
    hex`${eth} 08 00
      45 00 00 28  00 00 00 00  40 06 00 00  0a 01 01 05  0a 01 01 06
      00 16 01 bb  00 00 00 01  00 00 00 00  40 02 ff ff  00 00 00 00   // doff=4`,
  );
  add(
    'tcp4 cut after 10 bytes within the IP packet: ports decoded',
    hex`${eth} 08 00
      45 00 00 1e  00 00 00 00  40 06 00 00  0a 01 01 05  0a 01 01 06
      00 16 01 bb  00 00 00 01  00 00`,
  );
  add(
    'tcp4 cut at 10 bytes by the IP length, 16 bytes of Ethernet padding (doff 0)',
    hex`${eth} 08 00
      45 00 00 1e  00 00 00 00  40 06 00 00  0a 01 01 05  0a 01 01 06
      00 16 01 bb  00 00 00 01  00 00  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`,
  );
  add(
    'udp4 cut after 6 bytes: ports decoded',
    hex`${eth} 08 00
      45 00 00 1a  00 00 00 00  40 11 00 00  0a 01 01 05  08 08 08 08
      13 89 00 35  00 08`,
  );
  add(
    'udp4 header past the IP packet (padding follows): no ports',
    hex`${eth} 08 00
      45 00 00 1a  00 00 00 00  40 11 00 00  0a 01 01 05  08 08 08 08
      13 89 00 35  00 08  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`,
  );
  add(
    'ipv4 header length 16',
    hex`${eth} 08 00
      44 00 00 28  00 00 00 00  40 06 00 00  0a 01 01 05  0a 01 01 06
      00 16 01 bb  00 00 00 01  00 00 00 00  50 02 ff ff  00 00 00 00`,
  );
  add(
    'ipv4 total length beyond the frame',
    hex`${eth} 08 00
      45 00 01 28  00 00 00 00  40 06 00 00  0a 01 01 05  0a 01 01 06
      00 16 01 bb  00 00 00 01  00 00 00 00  50 02 ff ff  00 00 00 00`,
  );
  add(
    'ipv4 total length below the header length',
    hex`${eth} 08 00
      46 00 00 14  00 00 00 00  40 06 00 00  0a 01 01 05  0a 01 01 06
      00 00 00 00  00 16 01 bb  00 00 00 01  00 00 00 00  50 02 ff ff`,
  );
  add(
    'ipv4 version 5 under EtherType IPv4',
    hex`${eth} 08 00
      55 00 00 28  00 00 00 00  40 06 00 00  0a 01 01 05  0a 01 01 06
      00 16 01 bb  00 00 00 01  00 00 00 00  50 02 ff ff  00 00 00 00`,
  );
  add('tcp6 2001:db8::1:40000 -> 2001:db8:f100::5:443', tcp6);
  add('udp6 2001:db8::7:546 -> fe80::1:547', udp6);
  add(
    'udp6 behind hop-by-hop and destination options',
    frame(
      v6('2001:db8::9', '2001:db8::a', {
        extensions: [{ type: 'hop-by-hop' }, { type: 'destination', options: new Uint8Array(10) }],
      }),
      udp(7000, 53),
      { payload: 4 },
    ),
  );
  add(
    'udp6 first fragment',
    frame(
      v6('2001:db8::9', '2001:db8::b', {
        extensions: [{ type: 'fragment', offset: 0, more: true, id: 9 }],
      }),
      udp(7001, 4789),
      { payload: 16 },
    ),
  );
  add(
    'udp6 later fragment (offset 1232), port-like bytes 53/53',
    frame(
      v6('2001:db8::9', '2001:db8::b', {
        nextHeader: 17,
        extensions: [{ type: 'fragment', offset: 1232, more: false, id: 9 }],
      }),
      undefined,
      { payload: concat(ports(53, 53), new Uint8Array(12)) },
    ),
  );
  add(
    'ipv6 later fragment whose next header is hop-by-hop',
    frame(
      v6('2001:db8::9', '2001:db8::b', {
        nextHeader: 0,
        extensions: [{ type: 'fragment', offset: 8, more: true, id: 9 }],
      }),
      undefined,
      { payload: 16 },
    ),
  );
  add(
    'tcp6 behind a routing header (SRH)',
    frame(
      v6('2001:db8::1', '2001:db8::2', {
        extensions: [{ type: 'routing', addresses: [parseIPv6('2001:db8::3')] }],
      }),
      tcp(22, 50022, TcpFlag.ACK),
    ),
  );
  add(
    'tcp6 behind 8 destination-options headers',
    frame(
      v6('2001:db8::1', '2001:db8::2', {
        extensions: Array.from({ length: 8 }, () => ({ type: 'destination' as const })),
      }),
      tcp(80, 50080),
    ),
  );
  add(
    'tcp6 behind 9 extension headers (more than the decoder walks)',
    frame(
      v6('2001:db8::1', '2001:db8::2', {
        extensions: Array.from({ length: 9 }, () => ({ type: 'hop-by-hop' as const })),
      }),
      tcp(80, 50080),
    ),
  );
  const v6hdr = (payloadLen: string, next: string): string =>
    `60 00 00 00 ${payloadLen} ${next} 40
     20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
     20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02`;
  add(
    'tcp6 behind AH',
    hex`${eth} 86 dd ${v6hdr('00 24', '33')}
      06 02 00 00  00 00 01 00  00 00 00 01  00 00 00 00   // AH next=tcp len=2 (16 bytes)
      01 bb c3 50  00 00 00 01  00 00 00 00  50 10 ff ff  00 00 00 00`,
  );
  add('ipv6 no next header', hex`${eth} 86 dd ${v6hdr('00 08', '3b')} 00 35 00 35 00 00 00 00`);
  add(
    'ipv6 jumbogram: payload length 0, hop-by-hop, udp',
    hex`${eth} 86 dd ${v6hdr('00 00', '00')}
      11 00 c2 04 00 00 00 00   // hop-by-hop: jumbo payload option
      00 35 00 35 00 08 00 00`,
  );
  add(
    'ipv6 payload length 0 without hop-by-hop',
    hex`${eth} 86 dd ${v6hdr('00 00', '11')} 00 35 00 35 00 08 00 00`,
  );
  add(
    'ipv6 extension header running past the payload',
    hex`${eth} 86 dd ${v6hdr('00 10', '3c')}
      11 04 00 00 00 00 00 00  00 35 00 35 00 08 00 00   // dstopts len=(4+1)*8`,
  );
  add(
    'icmp6 echo',
    frame(v6('2001:db8::1', '2001:db8::2'), { kind: 'icmpv6-echo', id: 3, seq: 4 }),
  );
  add(
    'icmp6 neighbour solicitation behind hop-by-hop',
    frame(v6('fe80::1', 'ff02::1:ff00:2', { extensions: [{ type: 'hop-by-hop' }] }), {
      kind: 'icmpv6-ns',
      target: parseIPv6('fe80::2'),
      mac: SRC,
    }),
  );
  const arp: NetworkSpec = {
    kind: 'arp',
    op: 1,
    senderMac: SRC,
    senderIp: parseIPv4('10.1.1.1'),
    targetMac: new Uint8Array(6),
    targetIp: parseIPv4('10.1.1.2'),
  };
  add('arp request 10.1.1.1 -> 10.1.1.2', frame(arp));
  add('arp cut after 6 bytes', hex`${eth} 08 06 00 01 08 00 06 04`);
  add('802.1Q 10 tcp4', frame(v4('10.1.1.5', '10.20.0.9'), tcp(40000, 80), { tags: [tag(10)] }));
  add(
    '802.1ad 100 + 802.1Q 200 udp4 dns',
    frame(v4('10.1.1.5', '8.8.8.8'), udp(54321, 53), {
      tags: [tag(100, 0x88a8, 5), tag(200)],
      payload: 8,
    }),
  );
  add(
    '0x9100 300 + 802.1Q 20 tcp6',
    frame(v6('2001:db8::1', '2001:db8::2'), tcp(22, 40022), { tags: [tag(300, 0x9100), tag(20)] }),
  );
  add(
    '3 tags 10/20/30 udp4',
    frame(v4('10.1.1.5', '10.1.1.6'), udp(1, 2), { tags: [tag(10), tag(20, 0x88a8), tag(30)] }),
  );
  const deep = (n: number): VlanTag[] =>
    Array.from({ length: n }, (_, i) => tag(i + 1, i % 2 === 0 ? 0x88a8 : 0x8100));
  add('8 tags 1..8 tcp4', frame(v4('10.1.1.5', '10.1.1.6'), tcp(5, 6), { tags: deep(8) }));
  add(
    '9 tags 1..9 tcp4 (too deep)',
    frame(v4('10.1.1.5', '10.1.1.6'), tcp(5, 6), { tags: deep(9) }),
  );
  add('7 tags 1..7 tcp4', frame(v4('10.1.1.5', '10.1.1.6'), tcp(5, 6), { tags: deep(7) }));
  add(
    '802.1Q 10 + 802.1Q 4095 tcp4',
    frame(v4('10.1.1.5', '10.1.1.6'), tcp(7, 8), { tags: [tag(10), tag(4095)] }),
  );
  add(
    '802.1Q pcp 7 dei vid 0 (priority tag) icmp4',
    frame(
      v4('10.1.1.5', '10.1.1.6'),
      { kind: 'icmp-echo', id: 1, seq: 1 },
      {
        tags: [tag(0, 0x8100, 7, true)],
      },
    ),
  );
  add('802.1Q 20 arp', frame(arp, undefined, { tags: [tag(20)] }));
  add(
    'mpls 1 label tcp4',
    frame(v4('10.1.1.5', '10.1.1.6'), tcp(443, 50443), { mpls: [{ label: 100 }] }),
  );
  add(
    'mpls 3 labels udp6',
    frame(v6('2001:db8::1', '2001:db8::2'), udp(53, 53), {
      mpls: [{ label: 1 }, { label: 2 }, { label: 3 }],
    }),
  );
  add(
    'mpls 8 labels tcp4',
    frame(v4('10.1.1.5', '10.1.1.6'), tcp(443, 1), {
      mpls: Array.from({ length: 8 }, (_, i) => ({ label: i + 16 })),
    }),
  );
  add(
    'mpls 9 labels tcp4 (too deep)',
    frame(v4('10.1.1.5', '10.1.1.6'), tcp(443, 1), {
      mpls: Array.from({ length: 9 }, (_, i) => ({ label: i + 16 })),
    }),
  );
  add(
    '802.1Q 100 + mpls 2 labels udp4',
    frame(v4('10.1.1.5', '10.1.1.6'), udp(53, 5353), {
      tags: [tag(100)],
      mpls: [{ label: 5 }, { label: 6 }],
    }),
  );
  add('mpls then version 5', hex`${eth} 88 47  00 06 41 40  55 00 00 00 00 00 00 00`);
  add('802.3 length field', hex`${eth} 00 2e  aa aa 03 00 00 00 08 00 45 00 00 14`);
  add('unknown EtherType 0x88b5', hex`${eth} 88 b5  4e 4d 41 46 00 00 00 01`);
  add('802.1Q 10 then 802.3 length', hex`${eth} 81 00 00 0a  00 2e  aa aa 03 00 00 00`);
  add('802.1Q 10 cut inside the next type', hex`${eth} 81 00 00 0a  08`);
  add('802.1ad 100 + 802.1Q cut in its TCI', hex`${eth} 88 a8 00 64  81 00 00`);
  add('10 bytes', hex`02 00 5e 00 0a 01 02 00 5e 00`);
  add('13 bytes', hex`${eth} 08`);
  add('14 bytes, IPv4 type', hex`${eth} 08 00`);
  add('empty', Buffer.alloc(0));
  return out;
}

/** Every frame cut at every length (caplen = wire length: a truncated frame, not a sliced one). */
export function truncations(frames: readonly TestFrame[]): TestFrame[] {
  return frames.flatMap((f) =>
    Array.from({ length: f.bytes.length }, (_, n) => ({
      name: `${f.name} [cut to ${n}]`,
      bytes: f.bytes.subarray(0, n),
    })),
  );
}

const INTERESTING = [
  0x00, 0x01, 0x04, 0x05, 0x06, 0x08, 0x11, 0x2b, 0x2c, 0x33, 0x3a, 0x3b, 0x3c, 0x40, 0x44, 0x45,
  0x46, 0x4f, 0x50, 0x60, 0x81, 0x84, 0x86, 0x88, 0x91, 0xa8, 0xdd, 0xff,
];
const TPIDS = [0x8100, 0x88a8, 0x9100];

/** `count` frames, each `base` frame with 1-3 random changes to its headers, a tag added, or a cut. */
export function mutations(base: readonly TestFrame[], count: number, seed: number): TestFrame[] {
  const rng = new Prng(seed);
  const out: TestFrame[] = [];
  for (let n = 0; n < count; n++) {
    const from = base[rng.int(base.length)];
    let b = Buffer.from(from.bytes);
    const steps: string[] = [];
    for (let m = rng.range(1, 3); m > 0; m--) {
      const what = rng.int(10);
      if (what < 6 && b.length > 12) {
        const at = 12 + rng.int(Math.min(b.length, 110) - 12);
        b[at] = rng.chance(0.6) ? INTERESTING[rng.int(INTERESTING.length)] : rng.int(256);
        steps.push(`[${at}]=${b[at]}`);
      } else if (what < 8 && b.length >= 12) {
        const t = Buffer.alloc(4);
        t.writeUInt16BE(TPIDS[rng.int(3)], 0);
        t.writeUInt16BE(rng.chance(0.5) ? rng.int(16) : rng.int(0x10000), 2);
        b = Buffer.concat([b.subarray(0, 12), t, b.subarray(12)]);
        steps.push(`tag ${t.toString('hex')}`);
      } else {
        const len = rng.int(b.length + 1);
        b = b.subarray(0, len);
        steps.push(`cut ${len}`);
      }
    }
    out.push({ name: `${from.name} {${steps.join(' ')}}`, bytes: b });
  }
  return out;
}

/** A rule set to compile, with the rules as a rules file would give them. */
export interface RuleCase {
  name: string;
  destinations?: Record<string, string>;
  rules: Record<string, unknown>[];
}

const only = (name: string, match: Record<string, unknown>): RuleCase => ({
  name,
  rules: [{ name: 'r', priority: 1, match }],
});

/** Each field alone, lists, ranges, combinations and first-match orders. */
export const RULE_CASES: RuleCase[] = [
  ...['tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'gre', 'esp', 'ah', 'arp', 0, 59, 17, 4].map((p) =>
    only(`protocol ${p}`, { protocol: p }),
  ),
  only('src 10.0.0.0/8', { src: '10.0.0.0/8' }),
  only('dst 192.168.1.20', { dst: '192.168.1.20' }),
  only('host 2001:db8::/32', { host: '2001:db8::/32' }),
  only('src list v4 + v6', { src: ['10.1.1.0/24', '2001:db8::1/128'] }),
  only('dst 0.0.0.0/0', { dst: '0.0.0.0/0' }),
  only('host ::/0', { host: '::/0' }),
  only('src 10.1.1.4/31', { src: '10.1.1.4/31' }),
  only('dst 2001:db8:f100::/36 (not byte aligned)', { dst: '2001:db8:f100::/36' }),
  only('host fe80::/10', { host: 'fe80::/10' }),
  only('host 8.8.8.8', { host: '8.8.8.8' }),
  only('host 10.1.1.1 (an ARP address: never, as the matcher reads ARP)', { host: '10.1.1.1' }),
  only('srcPort 53', { srcPort: 53 }),
  only('dstPort 1024-65535', { dstPort: '1024-65535' }),
  only('port 22, 8000-8999, 443', { port: [22, '8000-8999', 443] }),
  only('port 0-65535', { port: '0-65535' }),
  only('dstPort 0', { dstPort: 0 }),
  only('srcPort 0-10', { srcPort: '0-10' }),
  only('port 53 (also later fragments?)', { port: 53 }),
  only('port 4789', { port: 4789 }),
  only('port 2905 (sctp)', { port: 2905 }),
  only('vlan 10', { vlan: 10 }),
  only('vlan 100, 200', { vlan: [100, 200] }),
  only('vlan 0', { vlan: 0 }),
  only('vlan 4095', { vlan: 4095 }),
  only('vlan 8 (deepest tag kept)', { vlan: 8 }),
  only('vlan 9 (beyond the deepest)', { vlan: 9 }),
  only('vlan 7', { vlan: 7 }),
  only('vlan 300 (0x9100 outer)', { vlan: 300 }),
  only('vlan 20', { vlan: 20 }),
  only('bpf tcp port 443', { bpf: 'tcp port 443' }),
  only('bpf vlan and udp', { bpf: 'vlan and udp' }),
  only('bpf vlan 100 and vlan 200', { bpf: 'vlan 100 and vlan 200' }),
  only('bpf vlan and tcp port 80', { bpf: 'vlan and tcp port 80' }),
  only('bpf ip6 and tcp', { bpf: 'ip6 and tcp' }),
  only('bpf arp', { bpf: 'arp' }),
  only('bpf ether[12:2] = 0x88a8', { bpf: 'ether[12:2] = 0x88a8' }),
  only('bpf ether[10:4] & 0xffff = 0x8100', { bpf: 'ether[10:4] & 0xffff = 0x8100' }),
  only('bpf ether[13:2] = 0x0000 or ether[14] & 0xe0 = 0xa0', {
    bpf: 'ether[13:2] = 0x0000 or ether[14] & 0xe0 = 0xa0',
  }),
  only('bpf len > 100', { bpf: 'len > 100' }),
  only('bpf ip[9] = 17 or ip6[6] = 17', { bpf: 'ip[9] = 17 or ip6[6] = 17' }),
  only('bpf ip[0] / ip[1] = 0 (division by X)', { bpf: 'ip[0] / ip[1] = 0' }),
  only('bpf ip[1] % ip[2] = 1 (modulo by X)', { bpf: 'ip[1] % ip[2] = 1' }),
  only('bpf tcp[tcpflags] & tcp-syn != 0', { bpf: 'tcp[tcpflags] & tcp-syn != 0' }),
  only('bpf variable offset: ether[(ether[5] & 0xf) + 2 : 2] & 1 = 1', {
    bpf: 'ether[(ether[5] & 0xf) + 2 : 2] & 1 = 1',
  }),
  only('bpf variable offset: ether[ether[5] & 0xf : 4] & 0x10001 != 0', {
    bpf: 'ether[ether[5] & 0xf : 4] & 0x10001 != 0',
  }),
  only('bpf variable offset: ether[(ether[5] & 0xf) + 4] & 3 = 1', {
    bpf: 'ether[(ether[5] & 0xf) + 4] & 3 = 1',
  }),
  only('bpf ip[40] = 0 (loads past short frames)', { bpf: 'ip[40] = 0' }),
  only('bpf icmp or mpls', { bpf: 'icmp or mpls' }),
  only('bpf not ip', { bpf: 'not ip' }),
  only('bpf ether[0] & 1 = 0 (true for all our frames)', { bpf: 'ether[0] & 1 = 0' }),
  only('empty match', {}),
  only('tcp to 443 from 10/8', { protocol: 'tcp', dstPort: 443, src: '10.0.0.0/8' }),
  only('vlan 100 udp port 53', { vlan: 100, protocol: 'udp', port: 53 }),
  only('host v4 or v6, port 22-443', { host: ['10.1.1.5', '2001:db8::1'], port: '22-443' }),
  only('vlan 20 and bpf ip6', { vlan: 20, bpf: 'ip6' }),
  only('udp and bpf vlan', { protocol: 'udp', bpf: 'vlan' }),
  only('all fields', {
    protocol: 'tcp',
    src: '10.0.0.0/8',
    dst: ['10.0.0.0/8', '192.168.0.0/16'],
    host: '10.1.1.5',
    srcPort: '1-65535',
    dstPort: [80, 443, '8000-9000'],
    port: [80, 443, 22, 5, 6],
    vlan: [10, 1, 2, 3],
    bpf: 'tcp',
  }),
  {
    name: 'skip ssh, then mirror tcp',
    rules: [
      { name: 'ssh', priority: 1, action: 'skip', match: { port: 22 } },
      { name: 'tcp', priority: 2, match: { protocol: 'tcp' } },
    ],
  },
  {
    name: 'skip vlan 10, mirror the rest',
    rules: [
      { name: 'v10', priority: 5, action: 'skip', match: { vlan: 10 } },
      { name: 'all', priority: 9, match: {} },
    ],
  },
  {
    name: 'skip a bpf that loads past short frames, mirror the rest',
    rules: [
      { name: 'deep', priority: 1, action: 'skip', match: { bpf: 'ip[40] = 0' } },
      { name: 'all', priority: 2, match: {} },
    ],
  },
  {
    name: 'skip on a division by X (0 in many frames), mirror the rest',
    rules: [
      { name: 'div', priority: 1, action: 'skip', match: { bpf: 'ip[0] / ip[1] = 0' } },
      { name: 'mod', priority: 2, action: 'skip', match: { bpf: 'ip[1] % ip[2] = 1' } },
      { name: 'all', priority: 3, match: {} },
    ],
  },
  {
    name: 'skip on variable-offset loads, mirror the rest',
    rules: [
      {
        name: 'at',
        priority: 1,
        action: 'skip',
        match: { bpf: 'ether[(ether[5] & 0xf) + 60 : 4] = 1' },
      },
      { name: 'at-ip', priority: 2, action: 'skip', match: { bpf: 'tcp[20:4] = 0' } },
      { name: 'all', priority: 3, match: {} },
    ],
  },
  {
    name: 'skip everything first',
    rules: [
      { name: 'none', priority: 1, action: 'skip', match: {} },
      { name: 'tcp', priority: 2, match: { protocol: 'tcp' } },
    ],
  },
  {
    name: 'priorities out of file order',
    rules: [
      { name: 'late-all', priority: 50, match: {} },
      { name: 'early-skip-v6', priority: 10, action: 'skip', match: { host: '::/0' } },
      { name: 'early-udp', priority: 20, match: { protocol: 'udp' } },
    ],
  },
  {
    name: 'three destinations',
    destinations: { ids: 'pcap:/tmp/ids.pcap', dns: 'pcap:/tmp/dns.pcap', lab: 'pcap:/tmp/l.pcap' },
    rules: [
      { name: 'dns', priority: 1, match: { port: 53 }, destinations: ['dns', 'ids'] },
      { name: 'no-mgmt', priority: 2, action: 'skip', match: { src: '10.20.0.0/24' } },
      {
        name: 'web',
        priority: 3,
        match: { protocol: 'tcp', port: [80, 443] },
        destinations: ['ids'],
      },
      { name: 'tagged', priority: 4, match: { vlan: [10, 20, 100] }, destinations: ['lab'] },
      { name: 'v6', priority: 5, match: { bpf: 'ip6' }, destinations: ['lab', 'ids'] },
      { name: 'rest', priority: 6, match: { protocol: 'icmp' }, destinations: [] },
    ],
  },
];

/** Random rule sets over values the frames carry. */
export function randomRuleCases(count: number, seed: number): RuleCase[] {
  const rng = new Prng(seed);
  const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)];
  const some = <T>(list: readonly T[]): T | T[] =>
    rng.chance(0.5) ? pick(list) : Array.from({ length: rng.range(1, 3) }, () => pick(list));
  const protocols = ['tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'gre', 'arp', 50, 0, 59];
  const addrs = [
    '10.0.0.0/8',
    '10.1.1.5',
    '10.1.1.0/25',
    '192.168.1.20/32',
    '8.8.8.8',
    '172.16.0.0/12',
    '0.0.0.0/0',
    '10.1.2.7/31',
    '2001:db8::/32',
    '2001:db8::1',
    'fe80::/10',
    '::/0',
    '2001:db8:f100::5/127',
    '2001:db8::/33',
    'ff02::/16',
  ];
  const portValues = [
    53,
    443,
    80,
    22,
    0,
    65535,
    '1-1023',
    '1024-65535',
    '50000-52000',
    2905,
    4789,
    5353,
  ];
  const vlanIds = [10, 20, 30, 100, 200, 300, 4095, 0, 1, 7, 8, 9];
  const exprs = [
    'tcp',
    'udp port 53',
    'vlan',
    'vlan 20',
    'ip6',
    'ip[6:2] & 0x1fff != 0',
    'ether[12:2] = 0x8100',
    'ether[14:2] & 0xfff = 100',
    'greater 80',
    'ip6[40] = 0x11',
    'vlan and vlan',
    'mpls',
    'ether[(ether[5] & 0xf) + 1 : 4] & 0x1001 = 0x1000',
  ];
  const cases: RuleCase[] = [];
  for (let c = 0; c < count; c++) {
    const rules: Record<string, unknown>[] = [];
    const n = rng.range(1, 6);
    for (let i = 0; i < n; i++) {
      const match: Record<string, unknown> = {};
      const fields = rng.range(0, 3);
      for (let f = 0; f < fields; f++) {
        switch (rng.int(9)) {
          case 0:
            match.protocol = pick(protocols);
            break;
          case 1:
            match.src = some(addrs);
            break;
          case 2:
            match.dst = some(addrs);
            break;
          case 3:
            match.host = some(addrs);
            break;
          case 4:
            match.srcPort = some(portValues);
            break;
          case 5:
            match.dstPort = some(portValues);
            break;
          case 6:
            match.port = some(portValues);
            break;
          case 7:
            match.vlan = some(vlanIds);
            break;
          default:
            match.bpf = pick(exprs);
        }
      }
      rules.push({
        name: `r${i}`,
        priority: 10 * (i + 1),
        action: rng.chance(0.3) ? 'skip' : 'mirror',
        match,
        destinations: rng.chance(0.5) ? ['to1'] : ['to2', 'to1'].slice(rng.int(2)),
      });
    }
    cases.push({ name: `random #${c}`, rules });
  }
  return cases;
}

export interface Selector {
  name: string;
  select: (rule: MirrorRule) => boolean;
}

/** What the agent would compile for: the prefilter (any mirror rule), and each destination. */
export function selectorsFor(ruleSet: RuleSet): Selector[] {
  const names = new Set<string>();
  for (const r of ruleSet.rules) for (const d of r.destinations) names.add(d);
  return [
    { name: 'mirror', select: (r) => r.action === 'mirror' },
    ...[...names].map((d) => ({
      name: `mirror to ${d}`,
      select: (r: MirrorRule) =>
        r.action === 'mirror' && (r.destinations.length === 0 || r.destinations.includes(d)),
    })),
    { name: 'skip rules (to exercise select)', select: (r) => r.action === 'skip' },
  ];
}

export function ruleSetOf(c: RuleCase): RuleSet {
  return validateRuleSet({ destinations: c.destinations, rules: c.rules });
}

/** Frames in one batch, each whole (caplen = wire length). */
export function batchOf(frames: readonly Uint8Array[]): FrameBatch {
  const buf = Buffer.concat(frames);
  const batch = new FrameBatch(Math.max(frames.length, 1), buf);
  let at = 0;
  for (const f of frames) {
    batch.push(at, f.length, f.length, 0, 0);
    at += f.length;
  }
  return batch;
}

/** The user-space matcher's first-match rule for each frame of `batch` (null: none). */
export function firstMatches(ruleSet: RuleSet, batch: FrameBatch): (MirrorRule | null)[] {
  const matcher = new RuleMatcher(ruleSet, batch.count);
  matcher.prepareBatch(batch, [1]);
  const view = new PacketView();
  const out: (MirrorRule | null)[] = [];
  for (let i = 0; i < batch.count; i++) {
    decodeFrame(batch.buf, batch.offset[i], batch.caplen[i], batch.wirelen[i], 1, view);
    const r = matcher.firstMatch(view, i);
    out.push(r < 0 ? null : matcher.rules[r].rule);
  }
  return out;
}
