/** Traffic kinds of the mix, and the default share of frames each gets. */
export const TRAFFIC_KINDS = [
  'tcp4',
  'tcp6',
  'udp4',
  'udp6',
  'icmp4',
  'icmp6',
  'nd6',
  'arp',
  'frag4',
  'frag6',
  'vxlan',
  'gre',
] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

export const K_TCP4 = 0;
export const K_TCP6 = 1;
export const K_UDP4 = 2;
export const K_UDP6 = 3;
export const K_ICMP4 = 4;
export const K_ICMP6 = 5;
export const K_ND6 = 6;
export const K_ARP = 7;
export const K_FRAG4 = 8;
export const K_FRAG6 = 9;
export const K_VXLAN = 10;
export const K_GRE = 11;

/** Percent of (well-formed) frames per kind. VLAN/QinQ/MPLS wrapping is orthogonal (per flow). */
export const DEFAULT_MIX: Readonly<Record<TrafficKind, number>> = {
  tcp4: 57,
  tcp6: 11,
  udp4: 11,
  udp6: 4,
  icmp4: 2.5,
  icmp6: 1.5,
  nd6: 1.5,
  arp: 2,
  frag4: 3,
  frag6: 1.5,
  vxlan: 3,
  gre: 2,
};

/** Ways a frame is deliberately broken when `malformedRate > 0`. */
export const MALFORMED_KINDS = [
  'truncated-headers',
  'ipv4-total-length',
  'ipv4-ihl',
  'tcp-data-offset',
  'vlan-stack',
  'zero-length',
  'ipv6-payload-length',
] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];
