// The rules → TCAM compiler held to the user-space matcher: for every frame
// of a generated capture, the rule the board's table picks (through the
// parser contract, FrameKeyBuilder + lookupTcam over the encoded bank) is
// the rule RuleMatcher picks. Hand-written rule sets cover each field, and
// seeded random ones their combinations.
import { generateCapture } from '@netmirror/capgen';
import { decodeFrame, LinkType, PacketView } from '@netmirror/packet';
import type { RuleSet } from '@netmirror/rules';
import { compileRulesTcam, RuleMatcher, TcamCompileError, validateRuleSet } from '@netmirror/rules';
import { describe, expect, it } from 'vitest';
import { FrameKeyBuilder, lookupTcam } from './frame-key.js';
import type { BoardProfile } from './profiles.js';
import { loadBoardProfile } from './profiles.js';
import { encodeTcamBank, tcamTarget } from './tcam-bank.js';

const FRAMES = 6000;

interface Frame {
  buf: Buffer;
  inPort: number;
}

const frames: Frame[] = [];
generateCapture({ frames: FRAMES, seed: 11 }, (buf, off, len) => {
  frames.push({ buf: Buffer.from(buf.subarray(off, off + len)), inPort: frames.length % 2 });
});

/** Keys of every frame for a profile (they do not depend on the rules). */
function keysFor(profile: BoardProfile): { keys: Buffer[]; deepVlan: boolean[] } {
  const builder = new FrameKeyBuilder(profile);
  const view = new PacketView();
  const keys: Buffer[] = [];
  const deepVlan: boolean[] = [];
  const ports = profile.ports.filter((p) => p.role === 'ingress').length;
  for (const f of frames) {
    decodeFrame(f.buf, 0, f.buf.length, f.buf.length, LinkType.ETHERNET, view);
    keys.push(Buffer.from(builder.build(view, f.inPort % ports)));
    deepVlan.push(view.vlanDepth > 2);
  }
  return { keys, deepVlan };
}

const profiles = {
  small: loadBoardProfile('nm-tap-4x10g'),
  wide: loadBoardProfile('nm-tap-2x100g'),
};
const keys = { small: keysFor(profiles.small), wide: keysFor(profiles.wide) };

/** Frames where board and software disagree on the deciding rule (none expected). */
function disagreements(ruleSet: RuleSet, which: 'small' | 'wide'): string[] {
  const profile = profiles[which];
  const program = compileRulesTcam(
    ruleSet,
    tcamTarget(profile, () => 1),
  );
  const bank = encodeTcamBank(program.entries, profile);
  const matcher = new RuleMatcher(ruleSet, 1);
  const view = new PacketView();
  const out: string[] = [];
  frames.forEach((f, i) => {
    if (keys[which].deepVlan[i]) return; // the board parses two tags; see frame-key.ts
    decodeFrame(f.buf, 0, f.buf.length, f.buf.length, LinkType.ETHERNET, view);
    const software = matcher.firstMatch(view, 0);
    const entry = lookupTcam(bank, keys[which].keys[i], profile);
    const board = entry < 0 ? -1 : program.entries[entry].rule;
    if (software !== board && out.length < 5)
      out.push(`frame ${i}: software rule ${software}, board rule ${board} (entry ${entry})`);
  });
  return out;
}

const rules = (list: object[]): RuleSet =>
  validateRuleSet({
    rules: list.map((r, i) => ({ name: `r${i}`, priority: i + 1, action: 'mirror', ...r })),
  });

const HAND_WRITTEN: Record<string, object[]> = {
  'protocol and either-side port': [{ match: { protocol: 'tcp', port: [443, 80] } }],
  'skip before mirror': [
    { action: 'skip', match: { src: '10.1.2.0/24' } },
    { match: { protocol: 'udp', dstPort: 53 } },
    { match: { protocol: 'tcp' } },
  ],
  'port ranges split into prefixes': [
    { match: { protocol: 'tcp', srcPort: '1024-49151' } },
    { match: { dstPort: ['1-1023', '8000-8100'] } },
  ],
  'either-side host with a list': [{ match: { host: ['10.20.0.0/24', '10.1.1.7'] } }],
  'outer or inner VLAN': [{ match: { vlan: [20, 100, 4094] } }, { match: { vlan: 10 } }],
  'ARP and ICMP': [{ match: { protocol: 'arp' } }, { match: { protocol: 'icmp' } }],
  'source and destination prefixes together': [
    { match: { src: ['10.1.0.0/16'], dst: '0.0.0.0/1', protocol: 'udp' } },
  ],
  'everything (empty match)': [{ match: {} }],
};

describe('rules compiled to the board filter table pick what the software matcher picks', () => {
  for (const [name, list] of Object.entries(HAND_WRITTEN)) {
    it(name, () => {
      expect(disagreements(rules(list), 'small')).toEqual([]);
      expect(disagreements(rules(list), 'wide')).toEqual([]);
    });
  }

  it('IPv6 prefixes on the IPv6-wide board', () => {
    const set = rules([
      { match: { src: 'fe80::/10' } },
      { match: { dst: ['2001:db8::/32', '10.1.1.0/24'], protocol: 'tcp' } },
      { match: { host: '::/0', protocol: 'icmp6' } },
    ]);
    expect(disagreements(set, 'wide')).toEqual([]);
    expect(() => disagreements(set, 'small')).toThrow(
      'rule "r0": the nm-tap-4x10g board\'s filter key holds IPv4 addresses only (an IPv6 prefix needs a software tap)',
    );
  });

  it('seeded random rule sets', () => {
    let seed = 20261127;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)];
    const prefixes = ['10.1.1.0/24', '10.1.2.0/25', '10.20.0.0/24', '10.0.0.0/8', '192.168.0.0/16'];
    const portSpecs = [443, 53, '1-1023', '49152-65535', '8000-8100', [80, 8080]];
    const field = (): object => {
      switch (rand(7)) {
        case 0:
          return { protocol: pick(['tcp', 'udp', 'icmp', 'arp', 'gre']) };
        case 1:
          return { src: pick(prefixes) };
        case 2:
          return { dst: [pick(prefixes), pick(prefixes)] };
        case 3:
          return { host: pick(prefixes) };
        case 4:
          return {
            [pick(['srcPort', 'dstPort', 'port'])]: pick(portSpecs),
            protocol: pick(['tcp', 'udp']),
          };
        case 5:
          return { vlan: pick([10, 20, 100, 200, 4094]) };
        default:
          return {};
      }
    };
    let compared = 0;
    for (let s = 0; s < 40; s++) {
      const list = Array.from({ length: 1 + rand(5) }, () => ({
        action: rand(4) === 0 ? 'skip' : 'mirror',
        match: { ...field(), ...field() },
      }));
      const set = rules(list);
      try {
        expect(disagreements(set, 'small'), JSON.stringify(list)).toEqual([]);
        compared++;
      } catch (e) {
        if (!(e instanceof TcamCompileError)) throw e;
      }
    }
    expect(compared).toBeGreaterThan(30);
  });
});

describe('what does not fit is refused with the numbers', () => {
  it('a rule set larger than the table', () => {
    const wide = rules([
      { match: { port: '1-65534', protocol: 'tcp' } }, // 2 sides x 30 prefixes
      { match: { src: Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) } },
      { match: { dst: Array.from({ length: 200 }, (_, i) => `172.16.${i}.0/24`) } },
    ]);
    expect(() =>
      compileRulesTcam(
        wide,
        tcamTarget(profiles.small, () => 1),
      ),
    ).toThrow(
      'the rules need 560 filter entries, the nm-tap-4x10g board has 512 (largest: "r1" 300, "r2" 200, "r0" 60)',
    );
  });

  it('transforms the board cannot do, and slices outside its range', () => {
    const target = tcamTarget(profiles.small, () => 1);
    expect(() =>
      compileRulesTcam(rules([{ match: {}, transforms: { sample: 10 } }]), target),
    ).toThrow(
      'rule "r0": the nm-tap-4x10g board cannot sample (transforms.sample); mirror it with a software tap (afpacket:)',
    );
    expect(() =>
      compileRulesTcam(rules([{ match: {}, transforms: { slice: 32 } }]), target),
    ).toThrow('rule "r0": slice 32 is outside 64..9216, what the nm-tap-4x10g board can cut to');
    expect(() => compileRulesTcam(rules([{ match: { bpf: 'tcp' } }]), target)).toThrow(
      /rule "r0": match.bpf cannot be written to the nm-tap-4x10g board's filter table/,
    );
  });
});
