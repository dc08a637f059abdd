import { describe, expect, it } from 'vitest';
import { parseRuleSet, RuleSetError } from './validate.js';

const good = `
destinations:
  ids: vxlan://127.0.0.1:4789?vni=7
rules:
  - name: no-ssh
    priority: 5
    action: skip
    match: { protocol: tcp, port: 22 }
  - name: dns
    priority: 10
    match: { protocol: udp, dstPort: [53, "5353-5355"], vlan: [100, 200] }
    transforms: { slice: 128, sample: 2, dedup: { windowMs: 20 }, stripVlan: true }
    destinations: [ids, to1]
  - name: web
    priority: 1
    match: { host: ["10.0.0.0/8", "2001:db8::/32"], bpf: "tcp port 443" }
`;

function errorsOf(text: string): string[] {
  try {
    parseRuleSet(text);
  } catch (err) {
    expect(err).toBeInstanceOf(RuleSetError);
    return (err as RuleSetError).errors.map((e) => `${e.where} ${e.field}: ${e.message}`);
  }
  throw new Error('expected the rules to be rejected');
}

describe('parseRuleSet', () => {
  it('accepts a valid YAML file and orders rules by priority', () => {
    const rs = parseRuleSet(good);
    expect(rs.rules.map((r) => r.name)).toEqual(['web', 'no-ssh', 'dns']);
    expect(rs.rules[0].action).toBe('mirror');
    expect(rs.destinations).toEqual({ ids: 'vxlan://127.0.0.1:4789?vni=7' });
  });

  it('accepts JSON', () => {
    const rs = parseRuleSet(
      JSON.stringify({ rules: [{ priority: 1, match: { protocol: 'icmp' } }] }),
    );
    expect(rs.rules[0].name).toBe('rule-1');
  });

  it('names the rule and field of every problem', () => {
    const errors = errorsOf(`
rules:
  - name: a
    priority: 1
    action: copy
    match: { protocol: tcpp, src: 10.0.0.0/33, dstPort: "70000", vlan: 5000, bpf: "tcp prot 80", colour: red }
    transforms: { slice: 4, sample: 0 }
    destinations: [nowhere]
  - name: b
    priority: 1
`);
    expect(errors).toEqual(
      expect.arrayContaining([
        'rules[0] "a" action: "copy" is not mirror or skip',
        'rules[0] "a" match.colour: unknown field',
        'rules[0] "a" match.protocol: "tcpp" is not a protocol name or number 0-255',
        'rules[0] "a" match.src: prefix length "33" must be 0-32',
        'rules[0] "a" match.dstPort: "70000" is not a port or a range lo-hi within 0-65535',
        'rules[0] "a" match.vlan: expected VLAN ids 0-4095',
        'rules[0] "a" transforms.slice: expected bytes to keep, 14-65535',
        'rules[0] "a" transforms.sample: expected N >= 1 (copy one frame in N)',
        'rule "a" destinations: unknown destination "nowhere"',
        expect.stringMatching(/^rule "b" priority: 1 is also the priority of "a"/),
        expect.stringMatching(/^rules\[0\] "a" match.bpf: .*syntax error/),
      ]),
    );
  });

  it('reports YAML syntax errors and a missing rules list', () => {
    expect(errorsOf('rules: [')[0]).toMatch(/^rules \(file\): /);
    expect(errorsOf('destinations: {}')).toEqual(['(top level) rules: expected a list of rules']);
  });
});
