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

function compileRule(rule: MirrorRule, capacity: number): CompiledRule {
  const m = rule.match;
  const prefixes = (v: string | string[] | undefined): Prefix[] | null =>
    v === undefined ? null : (Array.isArray(v) ? v : [v]).map((s) => parsePrefix(s) as Prefix);
  const ports = (v: unknown): PortRange[] | null =>
    v === undefined ? null : (parsePorts(v) as PortRange[]);
  return {
    rule,
    protocol: m.protocol === undefined ? -1 : (protocolNumber(m.protocol) ?? -1),
    src: prefixes(m.src),
    dst: prefixes(m.dst),
    host: prefixes(m.host),
    srcPorts: ports(m.srcPort),
    dstPorts: ports(m.dstPort),
    ports: ports(m.port),
    vlans: m.vlan === undefined ? null : Int32Array.from(Array.isArray(m.vlan) ? m.vlan : [m.vlan]),
    bpf: m.bpf === undefined ? null : new BpfFilter(m.bpf, capacity),
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
