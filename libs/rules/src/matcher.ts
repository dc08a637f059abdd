import { EtherType } from '@netmirror/packet';
import type { FrameBatch, PacketView } from '@netmirror/packet';
import type { Prefix } from './address.js';
import { parsePrefix, prefixContains } from './address.js';
import { BpfFilter } from './bpf-filter.js';
import { parsePorts } from './ports.js';
import { PROTO_ARP, protocolNumber } from './protocols.js';
import type { MirrorRule, PortRange, RuleSet } from './types.js';

/** A rule turned into flat data the per-frame matcher reads without allocating. */
export interface CompiledRule {
  readonly rule: MirrorRule;
  readonly protocol: number;
  readonly src: Prefix[] | null;
  readonly dst: Prefix[] | null;
  readonly host: Prefix[] | null;
  readonly srcPorts: PortRange[] | null;
  readonly dstPorts: PortRange[] | null;
  readonly ports: PortRange[] | null;
  readonly vlans: Int32Array | null;
  readonly bpf: BpfFilter | null;
}

/**
 * First-match-by-priority evaluation of a rule set in user space. Structured
 * fields read the decoded view, so they see through 802.1Q/802.1ad tags; a
 * rule's BPF expression is run over the whole batch first (`prepareBatch`)
 * and means exactly what it means to tcpdump (it does not look inside tags
 * unless it says `vlan`). Rules match the outer headers of tunnels.
 */
export class RuleMatcher {
  readonly rules: readonly CompiledRule[];
  private readonly bpfRules: BpfFilter[];

  constructor(ruleSet: RuleSet, batchCapacity: number) {
    this.rules = ruleSet.rules.map((r) => compileRule(r, batchCapacity));
    this.bpfRules = this.rules.flatMap((r) => (r.bpf ? [r.bpf] : []));
  }

  /** Runs every rule's BPF over the batch; call once per batch before `firstMatch`. */
  prepareBatch(batch: FrameBatch, linkTypes: ArrayLike<number>): void {
    for (const f of this.bpfRules) f.run(batch, linkTypes);
  }

  /** Index of the first rule matching frame `i` (decoded into `v`), or -1. */
  firstMatch(v: PacketView, i: number): number {
    const rules = this.rules;
    for (let r = 0; r < rules.length; r++) {
      if (ruleMatches(rules[r], v, i)) return r;
    }
    return -1;
  }
}

/** A rule's structured match fields, parsed: what the matcher and the BPF compiler both read. */
export interface MatchFields {
  /** IP protocol number, PROTO_ARP, or -1 for any. */
  readonly protocol: number;
  readonly src: Prefix[] | null;
  readonly dst: Prefix[] | null;
  readonly host: Prefix[] | null;
  readonly srcPorts: PortRange[] | null;
  readonly dstPorts: PortRange[] | null;
  readonly ports: PortRange[] | null;
  readonly vlans: number[] | null;
}

/**
 * Parses `rule.match`'s structured fields (not `bpf`). Throws an Error
 * `${context} match.FIELD: why` for a field that does not parse (a rule set
 * that passed validateRuleSet never has one).
 */
export function parseMatchFields(rule: MirrorRule, context: string): MatchFields {
  const m = rule.match;
  const where = (field: string): string => `${context} match.${field}`;
  const prefixes = (field: 'src' | 'dst' | 'host'): Prefix[] | null => {
    const v = m[field];
    if (v === undefined) return null;
    return (Array.isArray(v) ? v : [v]).map((s) => {
      const p = parsePrefix(s);
      if (typeof p === 'string') throw new Error(`${where(field)}: ${p}`);
      return p;
    });
  };
  const ports = (field: 'srcPort' | 'dstPort' | 'port'): PortRange[] | null => {
    if (m[field] === undefined) return null;
    const p = parsePorts(m[field]);
    if (typeof p === 'string') throw new Error(`${where(field)}: ${p}`);
    return p;
  };
  let protocol = -1;
  if (m.protocol !== undefined) {
    const p = protocolNumber(m.protocol);
    if (p === undefined)
      throw new Error(`${where('protocol')}: "${String(m.protocol)}" is unknown`);
    protocol = p;
  }
  let vlans: number[] | null = null;
  if (m.vlan !== undefined) {
    vlans = Array.isArray(m.vlan) ? [...m.vlan] : [m.vlan];
    if (!vlans.every((v) => Number.isInteger(v) && v >= 0 && v <= 4095))
      throw new Error(`${where('vlan')}: expected VLAN ids 0-4095`);
  }
  return {
    protocol,
    src: prefixes('src'),
    dst: prefixes('dst'),
    host: prefixes('host'),
    srcPorts: ports('srcPort'),
    dstPorts: ports('dstPort'),
    ports: ports('port'),
    vlans,
  };
}

function compileRule(rule: MirrorRule, capacity: number): CompiledRule {
  const f = parseMatchFields(rule, `rule "${rule.name}"`);
  return {
    ...f,
    rule,
    vlans: f.vlans === null ? null : Int32Array.from(f.vlans),
    bpf: rule.match.bpf === undefined ? null : new BpfFilter(rule.match.bpf, capacity),
  };
}

function ruleMatches(c: CompiledRule, v: PacketView, i: number): boolean {
  if (c.bpf !== null && c.bpf.bits[i] === 0) return false;
  if (c.protocol >= 0) {
    if (
      c.protocol === PROTO_ARP
        ? v.etherType !== EtherType.ARP
        : v.ipProto !== c.protocol || v.ipVersion === 0
    ) {
      return false;
    }
  }
  if (c.src !== null && !anyPrefix(c.src, v, v.srcAddr)) return false;
  if (c.dst !== null && !anyPrefix(c.dst, v, v.dstAddr)) return false;
  if (c.host !== null && !anyPrefix(c.host, v, v.srcAddr) && !anyPrefix(c.host, v, v.dstAddr))
    return false;
  if (c.srcPorts !== null && !inRanges(c.srcPorts, v.srcPort)) return false;
  if (c.dstPorts !== null && !inRanges(c.dstPorts, v.dstPort)) return false;
  if (c.ports !== null && !inRanges(c.ports, v.srcPort) && !inRanges(c.ports, v.dstPort))
    return false;
  if (c.vlans !== null && !anyVlan(c.vlans, v)) return false;
  return true;
}

function anyPrefix(list: Prefix[], v: PacketView, at: number): boolean {
  if (v.ipVersion === 0 || at < 0) return false;
  for (let k = 0; k < list.length; k++)
    if (prefixContains(list[k], v.ipVersion, v.buf, at)) return true;
  return false;
}

function inRanges(list: PortRange[], port: number): boolean {
  if (port < 0) return false;
  for (let k = 0; k < list.length; k++) if (port >= list[k].from && port <= list[k].to) return true;
  return false;
}

function anyVlan(ids: Int32Array, v: PacketView): boolean {
  for (let k = 0; k < ids.length; k++) if (v.hasVlan(ids[k])) return true;
  return false;
}
