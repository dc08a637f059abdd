import { describe, expect, it } from 'vitest';
import { decodeFrame, FrameBatch, hex, PacketView } from '@netmirror/packet';
import { RuleMatcher } from './matcher.js';
import { validateRuleSet } from './validate.js';

// Three frames: untagged TCP 443, QinQ-tagged UDP 53, IPv6 TCP 22.
const frames = [
  hex`00 11 22 33 44 55 66 77 88 99 aa bb 08 00
      45 00 00 28 00 00 40 00 40 06 00 00  c0 a8 01 0a  0a 00 00 05   // 192.168.1.10 -> 10.0.0.5 tcp
      c7 38 01 bb 00 00 00 00 00 00 00 00 50 02 ff ff 00 00 00 00     // 51000 -> 443 SYN
      00 00 00 00 00 00`,
  hex`00 11 22 33 44 55 66 77 88 99 aa bb 88 a8 00 64 81 00 00 c8 08 00   // S-tag 100, C-tag 200
      45 00 00 1c 00 00 00 00 40 11 00 00  0a 01 01 01  08 08 08 08   // 10.1.1.1 -> 8.8.8.8 udp
      d4 31 00 35 00 08 00 00                                          // 54321 -> 53
      00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`,
  hex`00 11 22 33 44 55 66 77 88 99 aa bb 86 dd
      60 00 00 00 00 14 06 40
      20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01                  // 2001:db8::1
      20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02                  // 2001:db8::2
      c0 00 00 16 00 00 00 00 00 00 00 00 50 02 ff ff 00 00 00 00`, // 49152 -> 22
];

function batchOf(list: Buffer[]): FrameBatch {
  const buf = Buffer.concat(list);
  const batch = new FrameBatch(16, buf);
  let at = 0;
  for (const f of list) {
    batch.push(at, f.length, f.length, 0, 0);
    at += f.length;
  }
  return batch;
}

/** Which rule (by name) each frame goes to under `rules`. */
function decide(rules: unknown[]): (string | null)[] {
  const matcher = new RuleMatcher(validateRuleSet({ rules }), 16);
  const batch = batchOf(frames);
  matcher.prepareBatch(batch, [1]);
  const view = new PacketView();
  return frames.map((f, i) => {
    decodeFrame(batch.buf, batch.offset[i], batch.caplen[i], batch.wirelen[i], 1, view);
    const r = matcher.firstMatch(view, i);
    return r < 0 ? null : matcher.rules[r].rule.name;
  });
}

describe('RuleMatcher', () => {
  it('matches protocol and ports, first rule by priority wins', () => {
    expect(
      decide([
        { name: 'any-tcp', priority: 20, match: { protocol: 'tcp' } },
        { name: 'https', priority: 10, match: { protocol: 'tcp', dstPort: 443 } },
        { name: 'dns', priority: 30, match: { port: '50-60' } },
      ]),
    ).toEqual(['https', 'dns', 'any-tcp']);
  });

  it('matches addresses and CIDR blocks on either side, IPv4 and IPv6', () => {
    expect(
      decide([
        { name: 'src', priority: 1, match: { src: '192.168.0.0/16' } },
        { name: 'dst', priority: 2, match: { dst: ['8.8.8.0/24'] } },
        { name: 'v6', priority: 3, match: { host: '2001:db8::2' } },
      ]),
    ).toEqual(['src', 'dst', 'v6']);
    expect(decide([{ name: 'h', priority: 1, match: { host: '10.0.0.5/32' } }])).toEqual([
      'h',
      null,
      null,
    ]);
  });

  it('sees VLAN ids anywhere in a QinQ stack', () => {
    expect(decide([{ name: 'c-tag', priority: 1, match: { vlan: 200 } }])).toEqual([
      null,
      'c-tag',
      null,
    ]);
    expect(
      decide([
        { name: 's-tag', priority: 1, match: { vlan: [7, 100], protocol: 'udp', dstPort: 53 } },
      ]),
    ).toEqual([null, 's-tag', null]);
  });

  it('skip rules stop later rules from mirroring', () => {
    expect(
      decide([
        { name: 'skip-v6', priority: 1, action: 'skip', match: { host: '2001:db8::/32' } },
        { name: 'all', priority: 2, match: {} },
      ]),
    ).toEqual(['all', 'all', 'skip-v6']);
  });

  it('runs BPF exactly as tcpdump: `udp port 53` does not look inside tags', () => {
    expect(decide([{ name: 'b', priority: 1, match: { bpf: 'udp port 53' } }])).toEqual([
      null,
      null,
      null,
    ]);
    expect(
      decide([{ name: 'b', priority: 1, match: { bpf: 'vlan and vlan and udp port 53' } }]),
    ).toEqual([null, 'b', null]);
    expect(
      decide([{ name: 'b', priority: 1, match: { bpf: 'ip6 or tcp', protocol: 'tcp' } }]),
    ).toEqual(['b', null, 'b']);
  });
});
