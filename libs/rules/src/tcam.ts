/**
 * Mirror rules → ternary filter-table (TCAM) entries for a hardware tap.
 *
 * A TCAM entry matches a frame when every key field equals its value under
 * its mask; the lowest-index entry that matches decides. A rule becomes the
 * cross product of its alternatives (lists of prefixes, port ranges split
 * into aligned prefixes, either-side host and port, outer or inner VLAN
 * tag), in rule order, so first-match-by-priority holds across rules.
 * Combinations that cannot both hold (an IPv4 source with an IPv6
 * destination) are dropped, not written.
 *
 * The key fields are what the board's parser extracts (see
 * firmware-bindings/fpga's profiles): for a frame that is not IP, l3,
 * ip_proto, addresses, ports and l4_valid are 0; for IP without ports
 * (non-first fragment, ICMP) l4_valid and the ports are 0. The parser sees
 * two VLAN tags (outer, inner); a rule's `vlan` matches either of them.
 */
import type { Prefix } from './address.js';
import { parseMatchFields } from './matcher.js';
import { PROTO_ARP } from './protocols.js';
import type { MirrorRule, PortRange, RuleSet } from './types.js';

export type TcamField =
  | 'in_port'
  | 'vlan_outer_valid'
  | 'vlan_outer'
  | 'vlan_inner_valid'
  | 'vlan_inner'
  | 'ether_type'
  | 'l3'
  | 'ip_proto'
  | 'l4_valid'
  | 'src_ip'
  | 'dst_ip'
  | 'l4_src'
  | 'l4_dst';

/** One field's ternary match: bits where mask is 1 must equal value. */
export interface Ternary {
  value: bigint;
  mask: bigint;
}

export interface TcamEntry {
  /** Index of the rule in the rule set. */
  rule: number;
  match: Partial<Record<TcamField, Ternary>>;
  /** false: a skip rule (the frame is not copied, and later entries are not consulted). */
  copy: boolean;
  /** Monitor ports to copy to (bit n = monitor port n). */
  outPorts: number;
  /** Bytes kept of each copy; 0 = whole frame. */
  slice: number;
}

/** What the target board can do. */
export interface TcamTarget {
  /** For messages ("the nm-tap-4x10g board"). */
  name: string;
  entries: number;
  /** Key fields the board has, with their widths. */
  fields: Partial<Record<TcamField, number>>;
  slicing: { supported: boolean; minBytes: number; maxBytes: number };
  /** Monitor ports of each rule's copies (bitmask), by rule index; the caller resolves destinations. */
  outPorts: (rule: MirrorRule, index: number) => number;
}

export interface TcamProgram {
  entries: TcamEntry[];
  /** Entries each rule takes, by rule index. */
  perRule: number[];
}

/** A rule set that cannot be written to the board; nothing was changed. */
export class TcamCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TcamCompileError';
  }
}

const L3_IPV4 = 1n;
const L3_IPV6 = 2n;
const ETHERTYPE_ARP = 0x0806n;

type Alternative = Partial<Record<TcamField, Ternary>>;

/** Compiles `ruleSet` for `target`; throws TcamCompileError with a reason a person can act on. */
export function compileRulesTcam(ruleSet: RuleSet, target: TcamTarget): TcamProgram {
  const entries: TcamEntry[] = [];
  const perRule: number[] = [];
  ruleSet.rules.forEach((rule, index) => {
    const alternatives = ruleAlternatives(rule, target);
    const action = ruleAction(rule, index, target);
    for (const match of alternatives) entries.push({ rule: index, match, ...action });
    perRule.push(alternatives.length);
  });
  if (entries.length > target.entries) {
    const biggest = ruleSet.rules
      .map((r, i) => ({ name: r.name, n: perRule[i] }))
      .sort((a, b) => b.n - a.n)
      .slice(0, 3)
      .map((r) => `"${r.name}" ${r.n}`)
      .join(', ');
    throw new TcamCompileError(
      `the rules need ${entries.length} filter entries, ${target.name} has ${target.entries} (largest: ${biggest})`,
    );
  }
  return { entries, perRule };
}

function ruleAction(
  rule: MirrorRule,
  index: number,
  target: TcamTarget,
): Pick<TcamEntry, 'copy' | 'outPorts' | 'slice'> {
  const where = `rule "${rule.name}"`;
  const t = rule.transforms;
  for (const [key, what] of [
    ['sample', 'sample'],
    ['dedup', 'deduplicate'],
    ['stripVlan', 'strip VLAN tags'],
  ] as const)
    if (t[key] !== undefined && t[key] !== false)
      throw new TcamCompileError(
        `${where}: ${target.name} cannot ${what} (transforms.${key}); mirror it with a software tap (afpacket:)`,
      );
  if (rule.action === 'skip') return { copy: false, outPorts: 0, slice: 0 };
  let slice = 0;
  if (t.slice !== undefined) {
    const s = target.slicing;
    if (!s.supported) throw new TcamCompileError(`${where}: ${target.name} cannot slice copies`);
    if (t.slice < s.minBytes || t.slice > s.maxBytes)
      throw new TcamCompileError(
        `${where}: slice ${t.slice} is outside ${s.minBytes}..${s.maxBytes}, what ${target.name} can cut to`,
      );
    slice = t.slice;
  }
  return { copy: true, outPorts: target.outPorts(rule, index), slice };
}

/** The rule's match as a list of alternative field sets (an OR of ANDs). */
function ruleAlternatives(rule: MirrorRule, target: TcamTarget): Alternative[] {
  const where = `rule "${rule.name}"`;
  if (rule.match.bpf !== undefined)
    throw new TcamCompileError(
      `${where}: match.bpf cannot be written to ${target.name}'s filter table; use the structured fields (protocol, src, dst, ports, vlan)`,
    );
  const f = parseMatchFields(rule, where);
  const field = (name: TcamField, what: string): number => {
    const bits = target.fields[name];
    if (bits === undefined)
      throw new TcamCompileError(`${where}: ${target.name}'s filter key has no ${what} (${name})`);
    return bits;
  };
  const dims: Alternative[][] = [];
  if (f.protocol === PROTO_ARP) {
    dims.push([{ ether_type: exact(ETHERTYPE_ARP, field('ether_type', 'EtherType')) }]);
  } else if (f.protocol > 0) {
    // The parser sets ip_proto 0 on non-IP frames, so a non-zero protocol needs no l3 term.
    dims.push([{ ip_proto: exact(BigInt(f.protocol), field('ip_proto', 'IP protocol')) }]);
  } else if (f.protocol === 0) {
    const p = exact(0n, field('ip_proto', 'IP protocol'));
    const l3 = field('l3', 'network-layer type');
    dims.push([
      { ip_proto: p, l3: exact(L3_IPV4, l3) },
      { ip_proto: p, l3: exact(L3_IPV6, l3) },
    ]);
  }
  const addresses = (side: 'src_ip' | 'dst_ip', list: Prefix[]): Alternative[] =>
    list.map((p) =>
      addressTerm(
        side,
        p,
        field(side, `${side.slice(0, 3)} address`),
        field('l3', 'network-layer type'),
        where,
        target,
      ),
    );
  if (f.src) dims.push(addresses('src_ip', f.src));
  if (f.dst) dims.push(addresses('dst_ip', f.dst));
  if (f.host) dims.push([...addresses('src_ip', f.host), ...addresses('dst_ip', f.host)]);
  const ports = (side: 'l4_src' | 'l4_dst', list: PortRange[]): Alternative[] => {
    const bits = field(side, `${side === 'l4_src' ? 'source' : 'destination'} port`);
    const valid = exact(1n, field('l4_valid', 'L4-present flag'));
    return list.flatMap((r) =>
      rangePrefixes(r.from, r.to, bits).map((t) => ({ [side]: t, l4_valid: valid })),
    );
  };
  if (f.srcPorts) dims.push(ports('l4_src', f.srcPorts));
  if (f.dstPorts) dims.push(ports('l4_dst', f.dstPorts));
  if (f.ports) dims.push([...ports('l4_src', f.ports), ...ports('l4_dst', f.ports)]);
  if (f.vlans) {
    const outer = field('vlan_outer', 'outer VLAN id');
    const inner = field('vlan_inner', 'inner VLAN id');
    const outerValid = field('vlan_outer_valid', 'outer-tag flag');
    const innerValid = field('vlan_inner_valid', 'inner-tag flag');
    dims.push(
      f.vlans.flatMap((id) => [
        { vlan_outer: exact(BigInt(id), outer), vlan_outer_valid: exact(1n, outerValid) },
        { vlan_inner: exact(BigInt(id), inner), vlan_inner_valid: exact(1n, innerValid) },
      ]),
    );
  }
  return crossProduct(dims, where);
}

function addressTerm(
  side: 'src_ip' | 'dst_ip',
  p: Prefix,
  bits: number,
  l3Bits: number,
  where: string,
  target: TcamTarget,
): Alternative {
  if (p.family === 6 && bits < 128)
    throw new TcamCompileError(
      `${where}: ${target.name}'s filter key holds IPv4 addresses only (an IPv6 prefix needs a software tap)`,
    );
  let value = 0n;
  for (const b of p.bytes) value = (value << 8n) | BigInt(b);
  const width = p.family === 4 ? 32 : 128;
  let mask = p.bits === 0 ? 0n : ((1n << BigInt(p.bits)) - 1n) << BigInt(width - p.bits);
  if (p.family === 4 && bits === 128) {
    // IPv4 in a 128-bit field: ::ffff:a.b.c.d, the ffff part matched exactly.
    value |= 0xffffn << 32n;
    mask |= ((1n << 96n) - 1n) << 32n;
  }
  return {
    [side]: { value: value & mask, mask },
    l3: exact(p.family === 4 ? L3_IPV4 : L3_IPV6, l3Bits),
  };
}

/** Aligned power-of-two blocks covering [from, to], as ternary prefixes of a `bits`-wide field. */
export function rangePrefixes(from: number, to: number, bits: number): Ternary[] {
  const all = (1n << BigInt(bits)) - 1n;
  const out: Ternary[] = [];
  let lo = from;
  while (lo <= to) {
    let size = 1;
    while (lo % (size * 2) === 0 && lo + size * 2 - 1 <= to) size *= 2;
    out.push({ value: BigInt(lo), mask: all & ~BigInt(size - 1) });
    lo += size;
  }
  return out;
}

function exact(value: bigint, bits: number): Ternary {
  return { value, mask: (1n << BigInt(bits)) - 1n };
}

/** Beyond any board's table: stop expanding rather than exhaust memory. */
const MAX_EXPANSION = 1_000_000;

/** Every consistent combination of one alternative per dimension. */
function crossProduct(dims: Alternative[][], where: string): Alternative[] {
  let acc: Alternative[] = [{}];
  for (const dim of dims) {
    const next: Alternative[] = [];
    for (const a of acc) {
      for (const b of dim) {
        const merged = intersect(a, b);
        if (merged) next.push(merged);
      }
      if (next.length > MAX_EXPANSION)
        throw new TcamCompileError(
          `${where}: expands to more than ${MAX_EXPANSION} filter entries`,
        );
    }
    acc = next;
  }
  return acc;
}

/** The field-wise intersection of two alternatives, or null when no frame can satisfy both. */
function intersect(a: Alternative, b: Alternative): Alternative | null {
  const out: Alternative = { ...a };
  for (const [name, t] of Object.entries(b) as [TcamField, Ternary][]) {
    const s = out[name];
    if (!s) {
      out[name] = t;
      continue;
    }
    if (((s.value ^ t.value) & s.mask & t.mask) !== 0n) return null;
    out[name] = { value: (s.value & s.mask) | (t.value & t.mask), mask: s.mask | t.mask };
  }
  return out;
}
