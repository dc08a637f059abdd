/** Actions a rule can take on the frames it matches (AWS Traffic Mirroring: accept/reject). */
export type RuleAction = 'mirror' | 'skip';

/** A port, or an inclusive range. */
export interface PortRange {
  from: number;
  to: number;
}

/** What a rule matches. Every field present must match (AND); lists match any element (OR). */
export interface RuleMatch {
  /** IP protocol by name (tcp, udp, icmp, icmp6, sctp, gre, esp, ah) or number; 'arp' matches ARP frames. */
  protocol?: string | number;
  /** Source, destination or either-side address: IPv4/IPv6 addresses or CIDR blocks. */
  src?: string | string[];
  dst?: string | string[];
  host?: string | string[];
  /** Source, destination or either-side port: a number, "lo-hi", or a list of them. */
  srcPort?: number | string | (number | string)[];
  dstPort?: number | string | (number | string)[];
  port?: number | string | (number | string)[];
  /** VLAN id carried by any tag of the 802.1Q/802.1ad stack. */
  vlan?: number | number[];
  /** A pcap-filter(7) expression, meaning exactly what it means to tcpdump. */
  bpf?: string;
}

/** Per-rule changes to the copies (never to the original traffic). */
export interface RuleTransforms {
  /** Keep only the first N bytes of each copy (wire length is kept in records). */
  slice?: number;
  /** Copy one in N matching frames (deterministic: the 1st, N+1th, ...). */
  sample?: number;
  /** Drop a copy identical, byte for byte, to one sent within the window (ms). */
  dedup?: boolean | { windowMs: number };
  /** Remove all 802.1Q/802.1ad tags from the copies. */
  stripVlan?: boolean;
}

export interface MirrorRule {
  name: string;
  /** Lower number = evaluated first; the first matching rule decides. */
  priority: number;
  action: RuleAction;
  match: RuleMatch;
  transforms: RuleTransforms;
  /** Names of the destinations copies go to; empty = every default destination. */
  destinations: string[];
}

export interface RuleSet {
  /** Named destinations (name -> URI) declared by the rules file. */
  destinations: Record<string, string>;
  rules: MirrorRule[];
}

/** A validation problem, naming the rule and the field. */
export interface RuleError {
  /** e.g. `rules[2] "web"` or `destinations.ids`. */
  where: string;
  field: string;
  message: string;
}
