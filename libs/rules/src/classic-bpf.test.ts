// The classic BPF rule compiler against the user-space matcher, frame by
// frame: libpcap's interpreter (bpfFilterBatch) runs each compiled program
// over ~35,000 frames (capgen's mix with malformed frames, handcrafted edge
// cases, every cut of them, and random mutations of their headers), and the
// program must accept exactly the frames whose first matching rule `select`
// picks. Live programs (tags in skb metadata) run in a real kernel in
// classic-bpf.live.test.ts; here they are only checked as the kernel would.
import { describe, expect, it } from 'vitest';
import { generateCapture } from '@netmirror/capgen';
import {
  bpfFilterBatch,
  bpfToText,
  compileBpf,
  decodeBpf,
  encodeBpf,
  validateBpf,
  type BpfInsn,
} from '@netmirror/native';
import type { FrameBatch } from '@netmirror/packet';
import {
  batchOf,
  firstMatches,
  handcraftedFrames,
  mutations,
  randomRuleCases,
  RULE_CASES,
  ruleSetOf,
  selectorsFor,
  truncations,
  type RuleCase,
  type Selector,
  type TestFrame,
} from './classic-bpf.fixtures.js';
import { compileRulesBpf, compileRulesBpfProgram } from './classic-bpf.js';
import type { ClassicBpfOptions } from './classic-bpf.js';
import type { MirrorRule, RuleSet } from './types.js';

const FILE: ClassicBpfOptions = { vlanInMetadata: false, snapLen: 262144 };
const LIVE: ClassicBpfOptions = { vlanInMetadata: true, snapLen: 262144 };

const hand = handcraftedFrames();
const mixed: TestFrame[] = [];
generateCapture({ frames: 6000, seed: 20260101, malformedRate: 0.2 }, (buf, off, len) => {
  mixed.push({ name: `capgen #${mixed.length}`, bytes: Buffer.from(buf.subarray(off, off + len)) });
});
const corpus: TestFrame[] = [
  ...hand,
  ...truncations(hand),
  ...mixed,
  ...mutations([...hand, ...mixed.slice(0, 1500)], 22_000, 7),
];
const batch = batchOf(corpus.map((f) => f.bytes));

/**
 * Kernel checks a program must pass (net/core/filter.c bpf_check_classic and
 * check_load_and_stores): size, last instruction, opcodes, jumps forward and
 * inside the program, constant shifts and divisors, known ancillary loads
 * (only when `live`), no scratch word read before it is written on any path.
 */
function kernelProblems(insns: readonly BpfInsn[], live: boolean): string[] {
  const problems: string[] = [];
  const n = insns.length;
  if (n === 0 || n > 4096) problems.push(`${n} instructions`);
  if ((insns[n - 1].code & 7) !== 6) problems.push('last instruction is not ret');
  const masks = new Array<number>(n).fill(0xffff);
  let valid = 0;
  insns.forEach((insn, pc) => {
    const { code, k, jt, jf } = insn;
    const cls = code & 7;
    const mode = code & 0xe0;
    valid &= masks[pc];
    if ((cls === 0 || cls === 1) && mode === 0x60 && !(valid & (1 << k)))
      problems.push(`${pc}: M[${k}] read before written`);
    if ((cls === 0 || cls === 1) && mode === 0x60 && k >= 16) problems.push(`${pc}: M[${k}]`);
    if (cls === 2 || cls === 3) {
      if (k >= 16) problems.push(`${pc}: M[${k}]`);
      valid |= 1 << k;
    }
    if (cls === 0 && mode === 0x20 && k >= 0xfffff000) {
      if (!live) problems.push(`${pc}: ancillary load in a file program`);
      if (![44, 48, 60].includes(k - 0xfffff000)) problems.push(`${pc}: ancillary ${k}`);
    }
    if (cls === 4) {
      const op = code & 0xf0;
      if ((op === 0x30 || op === 0x90) && (code & 8) === 0 && k === 0) problems.push(`${pc}: /0`);
      if ((op === 0x60 || op === 0x70) && (code & 8) === 0 && k >= 32)
        problems.push(`${pc}: <<${k}`);
    }
    if (cls === 5) {
      if ((code & 0xf0) === 0) {
        if (k >= n - pc - 1) problems.push(`${pc}: ja out of the program`);
        else masks[pc + 1 + k] &= valid;
      } else {
        if (pc + 1 + jt >= n || pc + 1 + jf >= n) problems.push(`${pc}: jump out of the program`);
        else {
          masks[pc + 1 + jt] &= valid;
          masks[pc + 1 + jf] &= valid;
        }
      }
      valid = 0xffff;
    }
  });
  return problems;
}

interface Mismatch {
  frame: string;
  hex: string;
  expected: string;
  got: number;
}

/** Runs `program` over the corpus; the frames where it disagrees with the matcher's first match. */
function disagreements(
  program: Buffer,
  decisions: readonly (MirrorRule | null)[],
  select: (r: MirrorRule) => boolean,
  frames: FrameBatch = batch,
  names: readonly TestFrame[] = corpus,
): Mismatch[] {
  const bits = new Uint8Array(frames.count);
  bpfFilterBatch(
    program,
    frames.buf,
    frames.offset,
    frames.caplen,
    frames.wirelen,
    frames.count,
    bits,
  );
  const out: Mismatch[] = [];
  for (let i = 0; i < frames.count; i++) {
    const r = decisions[i];
    const want = r !== null && select(r) ? 1 : 0;
    if (bits[i] !== want) {
      out.push({
        frame: names[i].name,
        hex: names[i].bytes.subarray(0, 80).toString('hex'),
        expected: r === null ? 'no rule' : `rule ${r.name} (${want ? 'accept' : 'reject'})`,
        got: bits[i],
      });
    }
  }
  return out;
}

/** Compiles `c` for every selector and checks the programs, file and live. */
function checkCase(c: RuleCase): { selectors: number; accepted: number; instructions: number } {
  const ruleSet: RuleSet = ruleSetOf(c);
  const decisions = firstMatches(ruleSet, batch);
  let accepted = 0;
  let instructions = 0;
  const selectors: Selector[] = selectorsFor(ruleSet);
  for (const s of selectors) {
    const program = compileRulesBpf(ruleSet.rules, s.select, FILE);
    expect(validateBpf(program)).toBe(true);
    const insns = decodeBpf(program);
    instructions = Math.max(instructions, insns.length);
    expect(kernelProblems(insns, false), `${c.name} / ${s.name}`).toEqual([]);
    const wrong = disagreements(program, decisions, s.select);
    expect(
      wrong.slice(0, 5),
      `${c.name} / ${s.name}: ${wrong.length} frames\n${bpfToText(program)}`,
    ).toEqual([]);
    accepted += decisions.filter((r) => r !== null && s.select(r)).length;
    const live = decodeBpf(compileRulesBpf(ruleSet.rules, s.select, LIVE));
    expect(kernelProblems(live, true), `${c.name} / ${s.name} (live)`).toEqual([]);
  }
  return { selectors: selectors.length, accepted, instructions };
}

describe('compileRulesBpf: file semantics, against RuleMatcher', () => {
  it('has a corpus that reaches every layer', () => {
    expect(corpus.length).toBeGreaterThan(30_000);
    const decisions = firstMatches(
      ruleSetOf({
        name: 'layers',
        rules: [
          { name: 'tcp', priority: 1, match: { protocol: 'tcp', port: '0-65535' } },
          { name: 'udp', priority: 2, match: { protocol: 'udp', port: '0-65535' } },
          { name: 'sctp', priority: 3, match: { protocol: 'sctp', port: '0-65535' } },
          { name: 'v6', priority: 4, match: { host: '::/0' } },
          { name: 'arp', priority: 5, match: { protocol: 'arp' } },
          { name: 'deep', priority: 6, match: { vlan: 8 } },
        ],
      }),
      batch,
    );
    const count = (name: string): number => decisions.filter((r) => r?.name === name).length;
    for (const name of ['tcp', 'udp', 'sctp', 'v6', 'arp', 'deep'])
      expect(count(name)).toBeGreaterThan(10);
  });

  it.each(RULE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = checkCase(c);
    expect(r.selectors).toBeGreaterThan(1);
  });

  it('random rule sets, every selector', () => {
    let accepted = 0;
    for (const c of randomRuleCases(120, 99)) accepted += checkCase(c).accepted;
    expect(accepted).toBeGreaterThan(50_000); // the random sets do select frames
  });

  it('emits ja trampolines when a conditional jump reaches past 255 instructions, and stays exact', () => {
    const ids = Array.from({ length: 120 }, (_, i) => 3000 + i).concat([10, 20]);
    const c: RuleCase = {
      name: 'long vlan list',
      rules: [
        { name: 'skip-many', priority: 1, action: 'skip', match: { vlan: ids, protocol: 'udp' } },
        { name: 'tcp', priority: 2, match: { protocol: 'tcp', port: [...ids, 443] } },
        { name: 'v6', priority: 3, match: { host: '2001:db8::/32' } },
      ],
    };
    const { instructions } = checkCase(c);
    expect(instructions).toBeGreaterThan(1000);
    const insns = decodeBpf(
      compileRulesBpf(ruleSetOf(c).rules, (r) => r.action === 'mirror', FILE),
    );
    // A conditional whose far side goes through a ja right after it.
    const trampolines = insns.filter(
      (insn, i) =>
        (insn.code & 7) === 5 &&
        (insn.code & 0xf0) !== 0 &&
        [insn.jt, insn.jf].some(
          (o) => o <= 1 && insns[i + 1 + o].code === 0x05 && insns[i + 1 + o].k > 255,
        ),
    );
    expect(trampolines.length).toBeGreaterThan(0);
  });

  it('names the rule set when the program would pass 4096 instructions', () => {
    const rules = Array.from({ length: 300 }, (_, i) => ({
      name: `r${i}`,
      priority: i,
      match: { vlan: [i, i + 1000], src: '2001:db8::/33' },
    }));
    const ruleSet = ruleSetOf({ name: 'big', rules });
    expect(() => compileRulesBpf(ruleSet.rules, () => true, FILE)).toThrow(
      /the rule set \(300 rules, 300 deciding\) compiles to \d+ instructions, more than the kernel's limit of 4096/,
    );
  });

  it('returns snapLen for an accepted frame and prunes what cannot decide', () => {
    // As validateRuleSet would pass them, but for the first expression, which
    // libpcap finds can never match (validation refuses it; the matcher
    // treats it as never matching).
    const rule = (name: string, priority: number, match: object, action = 'mirror'): MirrorRule =>
      ({ name, priority, action, match, transforms: {}, destinations: [] }) as MirrorRule;
    const rules = [
      rule('never', 1, { bpf: 'ip and ip6' }, 'skip'),
      rule('all', 2, {}),
      rule('unreachable', 3, { protocol: 'tcp' }),
    ];
    const all = decodeBpf(compileRulesBpf(rules, () => true, { ...FILE, snapLen: 96 }));
    expect(all).toEqual([{ code: 0x06, jt: 0, jf: 0, k: 96 }]);
    const none = decodeBpf(compileRulesBpf(rules, (r) => r.name === 'unreachable', FILE));
    expect(none).toEqual([{ code: 0x06, jt: 0, jf: 0, k: 0 }]);
    const tc = decodeBpf(
      compileRulesBpf(rules, (r) => r.name !== 'never', { ...FILE, snapLen: 0xffffffff }),
    );
    expect(tc).toEqual([{ code: 0x06, jt: 0, jf: 0, k: 0xffffffff }]);
    const some = decodeBpf(
      compileRulesBpf([rule('udp', 1, { protocol: 'udp' })], () => true, {
        ...FILE,
        snapLen: 1500,
      }),
    );
    expect(
      some
        .filter((i) => i.code === 0x06)
        .map((i) => i.k)
        .sort(),
    ).toEqual([0, 1500]);
    expect(() => compileRulesBpf(rules, () => true, { ...FILE, snapLen: 0 })).toThrow(RangeError);
    expect(() =>
      compileRulesBpf([rule('bad', 1, { src: '10.0.0.0/33' })], () => true, FILE),
    ).toThrow(/rule "bad" match\.src: prefix length "33" must be 0-32/);
  });

  it('uses compileExpression, and refuses a program compiled for a live socket', () => {
    const ruleSet = ruleSetOf({
      name: 'expr',
      rules: [{ name: 'b', priority: 1, match: { bpf: 'udp' } }],
    });
    const seen: string[] = [];
    const program = compileRulesBpf(ruleSet.rules, () => true, {
      ...FILE,
      compileExpression: (e) => {
        seen.push(e);
        return compileBpf(`vlan and ${e}`, 1);
      },
    });
    expect(seen).toEqual(['udp']);
    const decisions = firstMatches(
      ruleSetOf({
        name: 'same',
        rules: [{ name: 'b', priority: 1, match: { bpf: 'vlan and udp' } }],
      }),
      batch,
    );
    expect(disagreements(program, decisions, () => true)).toEqual([]);
    // `ldb [vlanp]` (SKF_AD_VLAN_TAG_PRESENT), as compileBpfLive emits it.
    const liveProgram = encodeBpf([
      { code: 0x30, jt: 0, jf: 0, k: 0xfffff030 },
      { code: 0x15, jt: 0, jf: 1, k: 1 },
      { code: 0x06, jt: 0, jf: 0, k: 262144 },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ]);
    expect(() =>
      compileRulesBpf(ruleSet.rules, () => true, { ...FILE, compileExpression: () => liveProgram }),
    ).toThrow(/rule "b" match\.bpf: .*ancillary or negative offset.*compileBpf/);
    expect(() =>
      compileRulesBpf(ruleSet.rules, () => true, {
        ...FILE,
        compileExpression: (e) => compileBpf(e, 1),
      }),
    ).not.toThrow();
  });

  it('throws where it cannot be exact (protochain loops), or accepts a documented superset', () => {
    const c: RuleCase = {
      name: 'protochain',
      rules: [
        {
          name: 'skip-chain',
          priority: 1,
          action: 'skip',
          match: { bpf: 'ip6 protochain 17', port: 53 },
        },
        { name: 'chain', priority: 2, match: { bpf: 'ip6 protochain 6' } },
        { name: 'v4', priority: 3, match: { protocol: 'udp' } },
      ],
    };
    const ruleSet = ruleSetOf(c);
    const select = (r: MirrorRule): boolean => r.action === 'mirror';
    expect(() => compileRulesBpf(ruleSet.rules, select, FILE)).toThrow(
      /rule "skip-chain" match\.bpf "ip6 protochain 17" cannot be compiled exactly: it jumps backwards/,
    );
    const out = compileRulesBpfProgram(ruleSet.rules, select, { ...FILE, allowSuperset: true });
    expect(out.superset.map((s) => s.rule)).toEqual(['skip-chain', 'chain']);
    const decisions = firstMatches(ruleSet, batch);
    const wrong = disagreements(out.program, decisions, select);
    // Every disagreement is an extra frame, never a missing one.
    expect(wrong.filter((w) => w.got === 0)).toEqual([]);
    expect(wrong.length).toBeGreaterThan(0);
  });
});
