import { describe, expect, it } from 'vitest';
import { compileRulesTcam, rangePrefixes } from './tcam.js';
import type { TcamTarget } from './tcam.js';
import { validateRuleSet } from './validate.js';

/** "value/mask" in hex, for reading prefixes at a glance. */
const show = (bits: number) => (t: { value: bigint; mask: bigint }) =>
  `${t.value.toString(16).padStart(bits / 4, '0')}/${t.mask.toString(16).padStart(bits / 4, '0')}`;

describe('rangePrefixes', () => {
  it('splits a range into the fewest aligned blocks', () => {
    expect(rangePrefixes(8000, 8100, 16).map(show(16))).toEqual([
      '1f40/ffc0', // 8000-8063
      '1f80/ffe0', // 8064-8095
      '1fa0/fffc', // 8096-8099
      '1fa4/ffff', // 8100
    ]);
    expect(rangePrefixes(443, 443, 16).map(show(16))).toEqual(['01bb/ffff']);
    expect(rangePrefixes(0, 65535, 16).map(show(16))).toEqual(['0000/0000']);
  });

  it('takes 2w-2 blocks in the worst case and covers exactly the range', () => {
    expect(rangePrefixes(1, 65534, 16)).toHaveLength(30);
    expect(rangePrefixes(1024, 65535, 16)).toHaveLength(6);
    for (const [from, to] of [
      [1, 65534],
      [1000, 2000],
      [5, 6],
      [32767, 32768],
    ]) {
      const blocks = rangePrefixes(from, to, 16);
      for (let p = Math.max(0, from - 3); p <= Math.min(65535, to + 3); p++) {
        const hits = blocks.filter((b) => (BigInt(p) & b.mask) === b.value).length;
        expect(hits, `port ${p} in ${from}-${to}`).toBe(p >= from && p <= to ? 1 : 0);
      }
    }
  });
});

describe('compileRulesTcam', () => {
  const target: TcamTarget = {
    name: 'the test board',
    entries: 64,
    fields: { l3: 2, ip_proto: 8, l4_valid: 1, src_ip: 32, dst_ip: 32, l4_src: 16, l4_dst: 16 },
    slicing: { supported: true, minBytes: 64, maxBytes: 9216 },
    outPorts: (_rule, i) => 1 << i,
  };
  const compile = (rules: object[]) =>
    compileRulesTcam(
      validateRuleSet({
        rules: rules.map((r, i) => ({ name: `r${i}`, priority: i + 1, action: 'mirror', ...r })),
      }),
      target,
    );

  it('expands either-side fields and drops impossible combinations', () => {
    const p = compile([
      { match: { host: ['10.0.0.0/8', '192.168.1.1'], port: 443 } }, // 2 hosts x 2 sides x 2 port sides
      // host as dst conflicts with dst 10.1/16; as src it narrows src 10/8 to 10.2/16.
      { match: { src: '10.0.0.0/8', dst: '10.1.0.0/16', host: '10.2.0.0/16' } },
      { action: 'skip', match: { protocol: 'udp' } },
    ]);
    expect(p.perRule).toEqual([8, 1, 1]);
    expect(p.entries[8]).toMatchObject({ rule: 1, copy: true, outPorts: 2 });
    expect(p.entries[9]).toMatchObject({ rule: 2, copy: false, outPorts: 0 });
    // r1: src 10/8 AND (src 10.2/16 OR dst 10.2/16) AND dst 10.1/16 -> only src 10.2/16, dst 10.1/16
    expect(show(32)(p.entries[8].match.src_ip!)).toBe('0a020000/ffff0000');
    expect(show(32)(p.entries[8].match.dst_ip!)).toBe('0a010000/ffff0000');
  });

  it('names a field the board does not have', () => {
    expect(() => compile([{ match: { vlan: 5 } }])).toThrow(
      'rule "r0": the test board\'s filter key has no outer VLAN id (vlan_outer)',
    );
  });
});
