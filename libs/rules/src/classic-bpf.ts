// Mirror rules compiled to one classic BPF program (struct sock_filter), for
// an AF_PACKET socket filter or `tc ... bpf bytecode ... action mirred`.
import { decodeBpf, encodeBpf, validateBpf } from '@netmirror/native';
import type { BpfInsn } from '@netmirror/native';
import { LinkType, MAX_VLAN_DEPTH } from '@netmirror/packet';
import type { Prefix } from './address.js';
import { compileOrRejectAll } from './bpf-filter.js';
import { BpfBuilder, MAX_INSNS, Op, SCRATCH_WORDS } from './classic-bpf-asm.js';
import type { Label } from './classic-bpf-asm.js';
import { emitDecoder, Level, resultSlots, Slot } from './classic-bpf-decoder.js';
import { checkExpressionProgram, spliceExpression, spliceProblem } from './classic-bpf-splice.js';
import { parseMatchFields } from './matcher.js';
import type { MatchFields } from './matcher.js';
import type { MirrorRule, PortRange } from './types.js';

export interface ClassicBpfOptions {
  /**
   * true: compile for a live Linux socket or tc, where the kernel has moved
   * the outermost 802.1Q/802.1ad tag of a received frame into skb metadata
   * (read with the ancillary loads SKF_AD_VLAN_TAG_PRESENT/SKF_AD_VLAN_TAG/
   * SKF_AD_VLAN_TPID); that tag counts as the first of the stack, inner tags
   * (and an outer 0x9100 tag, which the kernel leaves) stay inline.
   * false: every tag inline, as in a capture file.
   */
  vlanInMetadata: boolean;
  /**
   * What the program returns for an accepted frame: the bytes a socket keeps
   * (1..0xffffffff). For cls_bpf (non-direct-action) any non-zero value is a
   * match; 0xffffffff (-1) keeps the filter's own classid.
   */
  snapLen: number;
  /**
   * Compiles a rule's `match.bpf` for Ethernet frames with their tags
   * inline, as tcpdump -r does; default `compileBpf(expression,
   * LinkType.ETHERNET)`, an expression libpcap finds can never match
   * becoming `ret #0` (as the matcher runs it). Do not pass a program
   * compiled for a live socket (`compileBpfLive`): with `vlanInMetadata` the
   * compiler already shows the expression the frame as it was on the wire.
   */
  compileExpression?: (expression: string) => Buffer;
  /**
   * Where classic BPF cannot state a rule exactly (see `spliceProblem`: a
   * `match.bpf` whose program loops, as libpcap's `protochain` does, or that
   * needs more scratch memory than is left), accept a superset instead of
   * throwing: such a rule's `bpf` is taken to hold when `select` picks the
   * rule and never to hold otherwise, so the program accepts every frame
   * the matcher's decision selects, and maybe more. Right for a prefilter
   * whose survivors the user-space matcher judges again; wrong for tc
   * mirroring. Default false.
   */
  allowSuperset?: boolean;
}

/** A compiled program and what it took. */
export interface ClassicBpfProgram {
  /** struct sock_filter bytes, host order (as compileBpf returns them). */
  program: Buffer;
  instructions: number;
  /** Rules compiled as a superset (allowSuperset), with the reason. */
  superset: { rule: string; reason: string }[];
}

/**
 * Accepts a frame iff the first rule (by priority) whose match holds for it
 * satisfies `select` (e.g. it mirrors, or mirrors to destination D): the
 * decision `RuleMatcher.firstMatch` makes in user space, exactly, for
 * Ethernet frames captured whole (the kernel always shows a filter the whole
 * frame; in a file, a frame cut by the capture's snap length may be
 * rejected where the matcher reads only what was captured, because a
 * classic BPF load past the captured bytes ends the program).
 *
 * Throws an Error when the program would exceed the kernel's 4096
 * instructions, or (unless `allowSuperset`) when a rule cannot be stated
 * exactly.
 */
export function compileRulesBpf(
  rules: readonly MirrorRule[],
  select: (rule: MirrorRule) => boolean,
  options: ClassicBpfOptions,
): Buffer {
  return compileRulesBpfProgram(rules, select, options).program;
}

/** `compileRulesBpf`, also telling the size and any superset rules. */
export function compileRulesBpfProgram(
  rules: readonly MirrorRule[],
  select: (rule: MirrorRule) => boolean,
  options: ClassicBpfOptions,
): ClassicBpfProgram {
  const { snapLen } = options;
  if (!Number.isInteger(snapLen) || snapLen < 1 || snapLen > 0xffffffff) {
    throw new RangeError(`classic bpf: snapLen must be an integer 1..4294967295, got ${snapLen}`);
  }
  const live = options.vlanInMetadata;
  const compile =
    options.compileExpression ??
    ((expression: string): Buffer => compileOrRejectAll(expression, LinkType.ETHERNET));
  const ordered = [...rules].sort((a, b) => a.priority - b.priority);
  const lowered = ordered.map((r) => lowerRule(r, select(r), compile));

  // The decoder's depth follows the rules that can decide; the expressions
  // get the scratch words it does not keep.
  let candidates = decidingRules(lowered);
  const level = candidates.reduce<Level>((l, r) => (r.level > l ? r.level : l), Level.NONE);
  const kept = new Set(resultSlots(level, live));
  const free = Array.from({ length: SCRATCH_WORDS }, (_, i) => i).filter((i) => !kept.has(i));
  const superset: { rule: string; reason: string }[] = [];
  for (const r of candidates) {
    if (r.bpf === null) continue;
    const problem = spliceProblem(r.bpf, live, free.length);
    if (problem === null) continue;
    const what = `rule "${r.rule.name}" match.bpf "${r.rule.match.bpf}"`;
    if (options.allowSuperset !== true) {
      throw new Error(`classic bpf: ${what} cannot be compiled exactly: ${problem}`);
    }
    superset.push({ rule: r.rule.name, reason: problem });
    r.bpf = null;
    if (!r.selected) r.never = true;
  }
  candidates = decidingRules(lowered);

  const b = new BpfBuilder();
  const accept = b.label();
  const reject = b.label();
  if (candidates.length > 0) {
    emitDecoder(b, level, live);
    for (const r of candidates) {
      const next = b.label();
      emitRule(b, r, next, r.selected ? accept : reject, live, free);
      b.place(next);
    }
  }
  b.place(reject);
  b.op(Op.RET | Op.K, 0);
  b.place(accept);
  b.op(Op.RET | Op.K, snapLen);
  const insns = b.assemble();
  if (insns.length > MAX_INSNS) {
    throw new Error(
      `classic bpf: the rule set (${rules.length} rules, ${candidates.length} deciding) ` +
        `compiles to ${insns.length} instructions, more than the kernel's limit of ${MAX_INSNS}`,
    );
  }
  const program = encodeBpf(insns);
  if (!validateBpf(program)) throw new Error('classic bpf: internal error: invalid program');
  return { program, instructions: insns.length, superset };
}

/** A rule as flat data: its parsed match fields (as the matcher reads them) and its expression. */
interface LoweredRule extends MatchFields {
  readonly rule: MirrorRule;
  readonly selected: boolean;
  /** The expression's program; null when there is none or it always holds. */
  bpf: BpfInsn[] | null;
  /** The rule can match no frame. */
  never: boolean;
  readonly level: Level;
}

function lowerRule(
  rule: MirrorRule,
  selected: boolean,
  compile: (expression: string) => Buffer,
): LoweredRule {
  const m = rule.match;
  const context = `classic bpf: rule "${rule.name}"`;
  const where = (field: string): string => `${context} match.${field}`;
  const fields = parseMatchFields(rule, context);
  let bpf: BpfInsn[] | null = null;
  let never = false;
  if (m.bpf !== undefined) {
    let program: Buffer;
    try {
      program = compile(m.bpf);
    } catch (err) {
      throw new Error(`${where('bpf')}: ${(err as Error).message}`, { cause: err });
    }
    if (!validateBpf(program)) throw new Error(`${where('bpf')}: the compiled program is invalid`);
    const insns = decodeBpf(program);
    try {
      checkExpressionProgram(insns);
    } catch (err) {
      throw new Error(`${where('bpf')}: ${(err as Error).message}`, { cause: err });
    }
    // A program that returns at once is a constant.
    if (insns[0].code === (Op.RET | Op.K)) never = insns[0].k === 0;
    else bpf = insns;
  }
  const lowered = { ...fields, rule, selected, bpf, never };
  let level: Level = Level.NONE;
  if (lowered.vlans !== null) level = Level.VLAN;
  if (lowered.src !== null || lowered.dst !== null || lowered.host !== null) level = Level.ADDRESS;
  if (lowered.protocol >= 0) level = Level.PROTOCOL;
  if (lowered.srcPorts !== null || lowered.dstPorts !== null || lowered.ports !== null)
    level = Level.PORTS;
  return { ...lowered, level };
}

function alwaysMatches(r: LoweredRule): boolean {
  return (
    !r.never &&
    r.bpf === null &&
    r.protocol < 0 &&
    r.src === null &&
    r.dst === null &&
    r.host === null &&
    r.srcPorts === null &&
    r.dstPorts === null &&
    r.ports === null &&
    r.vlans === null
  );
}

/**
 * The rules that can decide a frame: none that never matches, none after one
 * that always does, and none after the last selected one (a frame they
 * match is rejected, as one no rule matches is).
 */
function decidingRules(rules: readonly LoweredRule[]): LoweredRule[] {
  const out: LoweredRule[] = [];
  for (const r of rules) {
    if (r.never) continue;
    out.push(r);
    if (alwaysMatches(r)) break;
  }
  while (out.length > 0 && !out[out.length - 1].selected) out.pop();
  return out;
}

// ---------------------------------------------------------------------------
// One rule: each field is a test that falls through when it holds and jumps
// to `fail` (the next rule) when it does not, in the matcher's terms.

function emitRule(
  b: BpfBuilder,
  r: LoweredRule,
  fail: Label,
  onMatch: Label,
  live: boolean,
  free: readonly number[],
): void {
  if (r.protocol >= 0) {
    // v.ipProto === protocol with ipVersion != 0, or ARP (Slot.PROTO says both).
    b.op(Op.LD | Op.MEM, Slot.PROTO);
    b.jump(Op.JEQ | Op.K, r.protocol, null, fail);
  }
  if (r.srcPorts !== null) emitPorts(b, [Slot.SPORT], r.srcPorts, fail);
  if (r.dstPorts !== null) emitPorts(b, [Slot.DPORT], r.dstPorts, fail);
  if (r.ports !== null) emitPorts(b, [Slot.SPORT, Slot.DPORT], r.ports, fail);
  if (r.vlans !== null) emitVlans(b, r.vlans, fail, live);
  if (r.src !== null) emitPrefixes(b, ['src'], r.src, fail);
  if (r.dst !== null) emitPrefixes(b, ['dst'], r.dst, fail);
  if (r.host !== null) emitPrefixes(b, ['src', 'dst'], r.host, fail);
  if (r.bpf !== null) {
    const holds = b.label();
    spliceExpression(b, r.bpf, { match: holds, noMatch: fail, live, freeWords: free });
    b.place(holds);
  }
  b.ja(onMatch);
}

/** Any of `slots` (a port, or NONE) in any range. */
function emitPorts(b: BpfBuilder, slots: number[], ranges: PortRange[], fail: Label): void {
  const ok = b.label();
  for (const slot of slots) {
    b.op(Op.LD | Op.MEM, slot);
    for (const { from, to } of ranges) {
      if (from === to) {
        b.jump(Op.JEQ | Op.K, from, ok, null);
        continue;
      }
      const next = b.label();
      if (from > 0) b.jump(Op.JGE | Op.K, from, null, next);
      b.jump(Op.JGT | Op.K, to, next, ok); // NONE is above every port
      b.place(next);
    }
  }
  b.ja(fail);
  b.place(ok);
}

/** Any tag of the stack carries one of `ids`. */
function emitVlans(b: BpfBuilder, ids: number[], fail: Label, live: boolean): void {
  const ok = b.label();
  if (live) {
    b.op(Op.LD | Op.MEM, Slot.VMETA);
    for (const id of ids) b.jump(Op.JEQ | Op.K, id, ok, null);
  }
  for (let k = 0; k < MAX_VLAN_DEPTH; k++) {
    b.op(Op.LD | Op.MEM, Slot.VDEPTH);
    b.jump(Op.JGT | Op.K, k, null, fail);
    b.op(Op.LD | Op.H | Op.ABS, 14 + 4 * k); // TCI of inline tag k
    b.op(Op.ALU | Op.AND | Op.K, 0x0fff);
    for (const id of ids) b.jump(Op.JEQ | Op.K, id, ok, null);
  }
  b.ja(fail);
  b.place(ok);
}

/** Address offsets from the network header, per version. */
const ADDRESS_AT = { 4: { src: 12, dst: 16 }, 6: { src: 8, dst: 24 } } as const;

/** An address on any of `sides` in any prefix (prefixContains; IP frames only). */
function emitPrefixes(b: BpfBuilder, sides: ('src' | 'dst')[], list: Prefix[], fail: Label): void {
  const ok = b.label();
  const byFamily = { 4: list.filter((p) => p.family === 4), 6: list.filter((p) => p.family === 6) };
  const at = { 4: b.label(), 6: b.label() };
  b.op(Op.LD | Op.MEM, Slot.IPV);
  for (const family of [4, 6] as const) {
    if (byFamily[family].length > 0) b.jump(Op.JEQ | Op.K, family, at[family], null);
  }
  b.ja(fail);
  for (const family of [4, 6] as const) {
    if (byFamily[family].length === 0) continue;
    b.place(at[family]);
    b.op(Op.LDX | Op.MEM, Slot.L3);
    for (const side of sides) {
      for (const p of byFamily[family]) emitPrefix(b, ADDRESS_AT[family][side], p, ok);
    }
    b.ja(fail);
  }
  b.place(ok);
}

/** Jumps to `ok` when the address at X + `at` lies in `p`; falls through otherwise. */
function emitPrefix(b: BpfBuilder, at: number, p: Prefix, ok: Label): void {
  const words = Math.ceil(p.bits / 32);
  if (words === 0) {
    b.ja(ok);
    return;
  }
  const miss = b.label();
  for (let w = 0; w < words; w++) {
    const bits = Math.min(32, p.bits - 32 * w);
    const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
    const value =
      (((p.bytes[4 * w] << 24) |
        (p.bytes[4 * w + 1] << 16) |
        (p.bytes[4 * w + 2] << 8) |
        p.bytes[4 * w + 3]) &
        mask) >>>
      0;
    b.op(Op.LD | Op.W | Op.IND, at + 4 * w);
    if (bits < 32) b.op(Op.ALU | Op.AND | Op.K, mask);
    b.jump(Op.JEQ | Op.K, value, w === words - 1 ? ok : null, miss);
  }
  b.place(miss);
}
