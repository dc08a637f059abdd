/**
 * `--filter EXPR` selects exactly the frames tcpdump selects from the same
 * file with the same expression: same bytes, same nanosecond timestamps, same
 * order, so the pcap record sections are byte-identical. 100,000 mixed frames
 * (IPv4/IPv6, TCP/UDP/ICMP, VLAN and QinQ, MPLS, fragments, ARP, VXLAN, GRE).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import type { CaptureStats } from '@netmirror/capgen';
import { pcapRecordSection, readFrames, tempDir } from './support/frames.js';
import { mirror, tcpdumpFilter } from './support/run.js';

const FRAMES = 100_000;
const tmp = tempDir('filter');
const input = tmp.path('mixed.pcap');
let stats: CaptureStats;

beforeAll(() => {
  stats = writeCaptureFile({ path: input, frames: FRAMES, seed: 20260101 });
});
afterAll(() => tmp.remove());

const EXPRESSIONS = [
  'tcp port 443 or udp port 53',
  'vlan',
  'vlan 100',
  'vlan and udp',
  'vlan and vlan', // QinQ: a second tag
  'ip6 and tcp',
  'icmp or icmp6',
  'arp',
  'ip[6:2] & 0x1fff != 0', // IPv4 fragments (not inside tags: plain BPF offsets)
  'ip6 and ip6[6] == 44', // IPv6 fragments
  'net 10.0.0.0/8',
  'greater 1000',
  'less 100',
  'tcp[tcpflags] & tcp-syn != 0',
  'mpls',
  'udp port 4789',
  'ip proto 47',
  'not ip and not ip6',
];

describe('--filter means what it means to tcpdump', () => {
  it('the capture has every kind of traffic the expressions test', () => {
    expect(stats.frames).toBe(FRAMES);
    expect(stats.malformed).toBe(0);
    expect(stats.vlanTagged).toBeGreaterThan(0);
    expect(stats.qinq).toBeGreaterThan(0);
    expect(stats.mpls).toBeGreaterThan(0);
    for (const kind of [
      'tcp4',
      'tcp6',
      'udp4',
      'udp6',
      'icmp4',
      'icmp6',
      'arp',
      'frag4',
      'frag6',
      'vxlan',
      'gre',
    ] as const) {
      expect(stats.byKind[kind], kind).toBeGreaterThan(0);
    }
  });

  for (const expr of EXPRESSIONS) {
    it(`selects the same frames as tcpdump: ${expr}`, async () => {
      const ours = tmp.path('ours.pcap');
      const theirs = tmp.path('tcpdump.pcap');
      const statsJson = tmp.path('stats.json');
      const [r] = await Promise.all([
        mirror(['--from', `pcap:${input}`, '--filter', expr, '--to', `pcap:${ours}`], statsJson),
        tcpdumpFilter(input, theirs, expr),
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);

      const expected = readFrames(theirs);
      // Not vacuous: every expression selects something here, and not everything.
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(FRAMES);

      // Same link type and nanosecond magic in the file header, identical records.
      const a = readFileSync(ours);
      const b = readFileSync(theirs);
      expect(a.readUInt32LE(0).toString(16)).toBe('a1b23c4d');
      expect(a.readUInt32LE(20)).toBe(b.readUInt32LE(20));
      const recordsEqual = pcapRecordSection(ours).equals(pcapRecordSection(theirs));
      if (!recordsEqual) {
        // Say which frame differs first rather than "buffers differ".
        const got = readFrames(ours);
        const n = Math.min(got.length, expected.length);
        let i = 0;
        while (
          i < n &&
          got[i].data.equals(expected[i].data) &&
          got[i].sec === expected[i].sec &&
          got[i].nsec === expected[i].nsec
        )
          i++;
        expect.fail(
          `${expr}: ours has ${got.length} frames, tcpdump ${expected.length}; first difference at output frame ${i + 1}`,
        );
      }

      const c = r.summary!.counters;
      expect(c.read).toBe(FRAMES);
      expect(c.malformed).toBe(0);
      expect(c.matched).toBe(expected.length);
      expect(c.mirrored).toBe(expected.length);
      expect(c.filteredOut).toBe(FRAMES - expected.length);
      expect(c.unmatched + c.skipped + c.sampledOut + c.deduplicated).toBe(0);
      const d = r.summary!.destinations[0];
      expect(d).toMatchObject({
        offered: expected.length,
        sent: expected.length,
        dropped: 0,
        failed: 0,
        unsupported: 0,
      });
      expect(r.summary!.sourceError).toBeNull();
    });
  }
});
