import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeCaptureFile } from './output.js';
import type { CaptureStats } from './generate.js';
import { BAD_CHECKSUM, CHECKSUM_PREFS, run, tsharkCount, tsharkCounts } from './test-util.js';
import { spawnSync } from 'node:child_process';

const FRAMES = 20_000;
let dir = '';
let file = '';
let stats: CaptureStats;

beforeAll(() => {
  // One 20,000-frame capture shared by the tests below.
  dir = mkdtempSync(join(tmpdir(), 'capgen-'));
  file = join(dir, 'mix.pcap');
  stats = writeCaptureFile({ path: file, frames: FRAMES, seed: 1 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Protocol names of `tshark -z io,phs`, with frame counts, summed over every place they appear. */
function protocolHierarchy(path: string): Map<string, number> {
  const out = run('tshark', ['-n', '-r', path, '-q', '-z', 'io,phs']);
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    const hit = /^\s*(\S+)\s+frames:(\d+)/.exec(line);
    if (hit !== null) m.set(hit[1], (m.get(hit[1]) ?? 0) + Number(hit[2]));
  }
  return m;
}

describe('capture file', { timeout: 60_000 }, () => {
  it('capinfos reads a nanosecond pcap with the right frame count', () => {
    const out = run('capinfos', ['-M', '-c', '-t', file]);
    expect(out).toMatch(/File type:\s+(nsecpcap|Wireshark\/tcpdump\/\.\.\. - nanosecond pcap)/);
    expect(out).toMatch(new RegExp(`Number of packets:\\s+${FRAMES}\\b`));
    expect(statSync(file).size).toBe(24 + 16 * FRAMES + stats.bytes);
    const first = run('tshark', [
      '-n',
      '-r',
      file,
      '-c',
      '1',
      '-T',
      'fields',
      '-e',
      'frame.time_epoch',
    ]).trim();
    expect(first).toBe('1767225600.000000000');
  });

  it('tshark io,phs shows the expected protocol mix', () => {
    const phs = protocolHierarchy(file);
    for (const p of [
      'eth',
      'vlan',
      'ieee8021ad',
      'mpls',
      'ip',
      'ipv6',
      'arp',
      'tcp',
      'udp',
      'icmp',
      'icmpv6',
      'vxlan',
      'gre',
      'dns',
      'ntp',
      'snmp',
      'tls',
      'http',
    ]) {
      expect(phs.get(p) ?? 0, p).toBeGreaterThan(0);
    }
    expect(phs.get('_ws.malformed') ?? 0).toBe(0);
    // ~13% tagged at the outer layer (tunnelled inner frames may carry tags of their own, not counted).
    const tagged = tsharkCount(
      file,
      'frame[12:2] == 81:00 || frame[12:2] == 88:a8 || frame[12:2] == 91:00',
    );
    expect(tagged).toBe(stats.vlanTagged);
    expect(tagged / FRAMES).toBeGreaterThan(0.1);
    expect(tagged / FRAMES).toBeLessThan(0.16);
  });

  it('has the VLAN ids, QinQ variants, fragments and extension headers filters need', () => {
    const vids = new Set(
      run('tshark', ['-n', '-r', file, '-Y', 'vlan', '-T', 'fields', '-e', 'vlan.id'])
        .split(/[\s,]+/)
        .filter((v) => v !== ''),
    );
    for (const v of ['10', '20', '100', '200', '4094']) expect(vids.has(v), `vlan ${v}`).toBe(true);
    const checks: [string, string][] = [
      ['frame[12:2] == 88:a8 && frame[16:2] == 81:00', '802.1ad S-tag + 802.1Q C-tag'],
      ['frame[12:2] == 81:00 && frame[16:2] == 81:00', 'double 802.1Q'],
      ['frame[12:2] == 91:00 && frame[16:2] == 81:00', 'pre-standard 0x9100 S-tag'],
      ['ip.flags.mf == 1 && ip.frag_offset == 0 && udp', 'first IPv4 fragments (ports visible)'],
      ['ip.frag_offset > 0', 'later IPv4 fragments'],
      ['ip.frag_offset > 0 && ip.flags.mf == 0 && udp', 'reassembled IPv4 datagrams'],
      ['ipv6.fraghdr', 'IPv6 fragments'],
      ['ipv6.hopopts', 'IPv6 hop-by-hop'],
      ['ipv6.routing', 'IPv6 routing header'],
      ['ipv6.dstopts', 'IPv6 destination options'],
      ['icmpv6.type == 135', 'neighbour solicitation'],
      ['icmpv6.type == 128', 'ICMPv6 echo'],
      ['icmp.type == 8', 'ICMP echo'],
      ['ipv6.src == fe80::/10', 'link-local'],
      ['ip.addr == 10.0.0.0/8', '10/8'],
      ['ip.addr == 172.16.0.0/12', '172.16/12'],
      ['ip.addr == 192.168.0.0/16', '192.168/16'],
      ['ip.addr == 142.250.0.0/16 || ip.addr == 8.8.8.8', 'public'],
      ['ipv6.addr == 2001:db8::/32', 'documentation v6'],
      ['arp.opcode == 1', 'ARP request'],
      ['arp.opcode == 2', 'ARP reply'],
      ...[443, 80, 22, 25, 8080].map((p): [string, string] => [`tcp.port == ${p}`, `tcp ${p}`]),
      ['tcp.srcport >= 49152 && tcp.dstport >= 49152', 'tcp high ports'],
      ...[53, 123, 161, 4789].map((p): [string, string] => [`udp.port == ${p}`, `udp ${p}`]),
      ['udp.srcport >= 49152 && udp.dstport >= 49152 && !vxlan', 'udp high ports'],
      ['tcp.flags.syn == 1 && tcp.flags.ack == 0', 'SYN'],
      ['tcp.flags.fin == 1', 'FIN'],
      ['tcp.flags.reset == 1', 'RST'],
    ];
    const counts = tsharkCounts(
      file,
      checks.map(([f]) => f),
    );
    checks.forEach(([, what], i) => expect(counts[i], what).toBeGreaterThan(0));
  });

  it('has no bad IPv4, TCP, UDP, ICMP or ICMPv6 checksum', () => {
    const [bad, goodTcp, goodUdp] = tsharkCounts(
      file,
      [BAD_CHECKSUM, 'tcp.checksum.status == 1', 'udp.checksum.status == 1'],
      CHECKSUM_PREFS,
    );
    expect(bad).toBe(0);
    expect(goodTcp).toBeGreaterThan(FRAMES / 2);
    expect(goodUdp).toBeGreaterThan(FRAMES / 20);
  });

  it('the same seed writes identical bytes; pcapng too', () => {
    const again = join(dir, 'again.pcap');
    writeCaptureFile({ path: again, frames: FRAMES, seed: 1 });
    expect(readFileSync(again).equals(readFileSync(file))).toBe(true);
    const ng1 = join(dir, 'a.pcapng');
    const ng2 = join(dir, 'b.pcapng');
    writeCaptureFile({ path: ng1, frames: 2000, seed: 5, format: 'pcapng' });
    writeCaptureFile({ path: ng2, frames: 2000, seed: 5, format: 'pcapng' });
    expect(readFileSync(ng1).equals(readFileSync(ng2))).toBe(true);
    const out = run('capinfos', ['-M', '-c', '-t', ng1]);
    expect(out).toMatch(/pcapng/);
    expect(out).toMatch(/Number of packets:\s+2000\b/);
  });

  it('tcpdump reads the malformed-frames file without error and counts every frame', () => {
    const bad = join(dir, 'malformed.pcap');
    const s = writeCaptureFile({ path: bad, frames: 5000, seed: 3, malformedRate: 0.2 });
    expect(s.malformed).toBeGreaterThan(800);
    const r = spawnSync('tcpdump', ['-n', '-#', '-r', bad], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    expect(r.status).toBe(0);
    expect(r.stderr.trim()).toBe(
      'reading from file ' + bad + ', link-type EN10MB (Ethernet), snapshot length 262144',
    );
    // With -#, each frame's first line starts with its number; tunnels add lines without one.
    const numbered = r.stdout.split('\n').filter((l) => /^\s*\d+ {2}/.test(l));
    expect(numbered.length).toBe(5000);
    expect(numbered.filter((l) => l.includes('caplen==0')).length).toBe(
      s.malformedByKind['zero-length'],
    );
    expect(run('capinfos', ['-M', '-c', bad])).toMatch(/Number of packets:\s+5000\b/);
  });
});
