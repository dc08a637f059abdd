/**
 * Structured rules (no BPF) select exactly the frames their fields describe,
 * through 802.1Q/802.1ad/MPLS tags. The oracle is tshark's display filters,
 * frame by frame (frame numbers), with reassembly off so each frame is judged
 * on its own headers. Our rules match a tunnel's outer headers while tshark's
 * fields also see the inner ones, so field cases run on a copy of the capture
 * without VXLAN/GRE frames (tshark picks those out), and the tunnel cases run
 * on the full capture with tshark's layer operator (`#1`, the outer layer).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { LinkType } from '@netmirror/packet';
import { PcapWriter } from '@netmirror/pcap';
import type { Frame } from './support/frames.js';
import { indexesInInput, readFrames, setDifference, tempDir } from './support/frames.js';
import { mirror, tsharkFrameNumbers } from './support/run.js';
import type { Summary } from './support/run.js';

const tmp = tempDir('rules');
const full = tmp.path('full.pcap');
const plain = tmp.path('no-tunnels.pcap');
let fullFrames: Frame[];
let plainFrames: Frame[];
let tunnelCount = 0;

beforeAll(async () => {
  writeCaptureFile({ path: full, frames: 15_000, seed: 424242 });
  fullFrames = readFrames(full);
  const tunnels = new Set(await tsharkFrameNumbers(full, 'vxlan or gre'));
  tunnelCount = tunnels.size;
  const w = new PcapWriter(plain, {
    linkType: LinkType.ETHERNET,
    nanosecond: true,
    snapLen: 262144,
  });
  fullFrames.forEach((f, i) => {
    if (!tunnels.has(i + 1)) w.writeFrame(f.data, 0, f.data.length, f.wirelen, f.sec, f.nsec);
  });
  w.close();
  plainFrames = readFrames(plain);
});
afterAll(() => tmp.remove());

/** Runs one rules file over `input`; returns the 1-based input frame numbers it mirrored, and the summary. */
async function select(
  input: string,
  inputFrames: Frame[],
  rules: unknown,
  tag: string,
): Promise<{ numbers: number[]; summary: Summary }> {
  const rulesPath = tmp.path(`${tag}.json`);
  const out = tmp.path(`${tag}.pcap`);
  writeFileSync(rulesPath, JSON.stringify(rules));
  const r = await mirror(
    ['--from', `pcap:${input}`, '--rules', rulesPath, '--to', `pcap:${out}`],
    tmp.path(`${tag}.stats.json`),
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const numbers = indexesInInput(inputFrames, readFrames(out)).map((i) => i + 1);
  return { numbers, summary: r.summary! };
}

const one = (match: Record<string, unknown>): unknown => ({
  rules: [{ name: 'r', priority: 10, match }],
});

interface Case {
  name: string;
  match: Record<string, unknown>;
  /** tshark display filter with the same meaning. */
  tshark: string;
}

const FIELD_CASES: Case[] = [
  { name: 'udp to port 53', match: { protocol: 'udp', dstPort: 53 }, tshark: 'udp.dstport == 53' },
  // tshark calls an 802.1ad S-tag (0x88a8) ieee8021ad, an 802.1Q or 0x9100 tag vlan.
  {
    name: 'vlan 100 (any tag of the stack)',
    match: { vlan: 100 },
    tshark: 'vlan.id == 100 or ieee8021ad.id == 100',
  },
  {
    name: 'vlan 20 (also the inner C-tag of QinQ)',
    match: { vlan: 20 },
    tshark: 'vlan.id == 20 or ieee8021ad.id == 20',
  },
  { name: 'vlan 300', match: { vlan: 300 }, tshark: 'vlan.id == 300 or ieee8021ad.id == 300' },
  {
    name: 'vlan list',
    match: { vlan: [10, 4094] },
    tshark: 'vlan.id == 10 or vlan.id == 4094 or ieee8021ad.id == 10 or ieee8021ad.id == 4094',
  },
  {
    name: 'tcp from 10.0.0.0/8',
    match: { src: '10.0.0.0/8', protocol: 'tcp' },
    tshark: 'ip.src == 10.0.0.0/8 and tcp',
  },
  {
    name: 'dst in a list of IPv4 blocks',
    match: { dst: ['192.168.0.0/16', '172.16.0.0/12'] },
    tshark: 'ip.dst == 192.168.0.0/16 or ip.dst == 172.16.0.0/12',
  },
  {
    name: 'host in 2001:db8::/32',
    match: { host: '2001:db8::/32' },
    tshark: 'ipv6.addr == 2001:db8::/32',
  },
  {
    name: 'tcp dst port range 1-1023',
    match: { protocol: 'tcp', dstPort: '1-1023' },
    tshark: 'tcp.dstport >= 1 and tcp.dstport <= 1023',
  },
  {
    name: 'either port, number and range',
    match: { port: [22, '8000-8999'] },
    tshark:
      'tcp.port == 22 or udp.port == 22 or tcp.port in {8000..8999} or udp.port in {8000..8999}',
  },
  {
    name: 'udp src port range',
    match: { protocol: 'udp', srcPort: '49152-65535' },
    tshark: 'udp.srcport >= 49152',
  },
  // IP protocol, as the IP header says: non-first fragments included (no ICMP header there).
  {
    name: 'protocol icmp, fragments included',
    match: { protocol: 'icmp' },
    tshark: 'ip.proto == 1',
  },
  { name: 'arp', match: { protocol: 'arp' }, tshark: 'arp' },
  {
    name: 'ipv6 tcp to 443 from 2001:db8::/32',
    match: { src: '2001:db8::/32', protocol: 6, dstPort: 443 },
    tshark: 'ipv6.src == 2001:db8::/32 and tcp.dstport == 443',
  },
];

describe('structured rules select what tshark selects', () => {
  it('the tunnel-free copy keeps everything but the VXLAN and GRE frames', () => {
    expect(tunnelCount).toBeGreaterThan(100);
    expect(plainFrames.length).toBe(fullFrames.length - tunnelCount);
  });

  for (const c of FIELD_CASES) {
    it(c.name, async () => {
      const [ours, expected] = await Promise.all([
        select(plain, plainFrames, one(c.match), 'case'),
        tsharkFrameNumbers(plain, c.tshark),
      ]);
      expect(expected.length, `tshark "${c.tshark}" selects something`).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(plainFrames.length);
      expect(setDifference(ours.numbers, expected)).toBe('');
      expect(ours.summary.counters).toMatchObject({
        read: plainFrames.length,
        matched: expected.length,
        mirrored: expected.length,
        unmatched: plainFrames.length - expected.length,
        malformed: 0,
      });
    });
  }

  it('first match by priority: a skip rule ahead of a mirror rule', async () => {
    const rules = {
      rules: [
        // Listed out of order on purpose: priority decides, not position.
        { name: 'web', priority: 20, action: 'mirror', match: { protocol: 'tcp', dstPort: 443 } },
        { name: 'not-vlan-100', priority: 10, action: 'skip', match: { vlan: 100 } },
        { name: 'dns', priority: 30, action: 'mirror', match: { protocol: 'udp', port: 53 } },
      ],
    };
    const [ours, skipped, web, dns] = await Promise.all([
      select(plain, plainFrames, rules, 'first-match'),
      tsharkFrameNumbers(plain, 'vlan.id == 100 or ieee8021ad.id == 100'),
      tsharkFrameNumbers(
        plain,
        'tcp.dstport == 443 and not (vlan.id == 100 or ieee8021ad.id == 100)',
      ),
      tsharkFrameNumbers(
        plain,
        'udp.port == 53 and not (vlan.id == 100 or ieee8021ad.id == 100) and not tcp.dstport == 443',
      ),
    ]);
    const expected = [...web, ...dns].sort((a, b) => a - b);
    expect(setDifference(ours.numbers, expected)).toBe('');
    const c = ours.summary.counters;
    expect(c.skipped).toBe(skipped.length);
    expect(c.matched).toBe(expected.length);
    expect(c.unmatched).toBe(plainFrames.length - skipped.length - expected.length);
    expect(ours.summary.rules.map((r) => [r.name, r.matched])).toEqual([
      ['not-vlan-100', 0],
      ['web', web.length],
      ['dns', dns.length],
    ]);
  });

  describe('tunnels are matched on their outer headers', () => {
    const TUNNEL_CASES: Case[] = [
      {
        name: 'udp 4789 is the VXLAN frames',
        match: { protocol: 'udp', dstPort: 4789 },
        tshark: 'vxlan',
      },
      { name: 'protocol gre is the GRE frames', match: { protocol: 'gre' }, tshark: 'gre' },
      // Inner TCP of VXLAN/GRE does not count: only frames whose own transport is TCP.
      {
        name: 'tcp leaves tunnelled TCP out',
        match: { protocol: 'tcp' },
        tshark: 'tcp and not vxlan and not gre',
      },
      {
        name: 'src 10.0.0.0/8 means the outer source',
        match: { src: '10.0.0.0/8' },
        tshark: 'ip.src#1 == 10.0.0.0/8',
      },
    ];
    for (const c of TUNNEL_CASES) {
      it(c.name, async () => {
        const [ours, expected] = await Promise.all([
          select(full, fullFrames, one(c.match), 'tunnel'),
          tsharkFrameNumbers(full, c.tshark),
        ]);
        expect(expected.length).toBeGreaterThan(0);
        expect(setDifference(ours.numbers, expected)).toBe('');
      });
    }
  });
});
