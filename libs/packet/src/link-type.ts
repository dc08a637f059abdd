/** Link-layer header types (tcpdump.org/linktypes), the ones NetMirror decodes. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
} as const;
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

/** EtherType values seen by the decoders. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // 802.1Q C-tag
  QINQ: 0x88a8, // 802.1ad S-tag
  QINQ_OLD: 0x9100, // pre-standard S-tag, still common on brokers
  IPV6: 0x86dd,
  MPLS: 0x8847,
  MPLS_MC: 0x8848,
  TEB: 0x6558, // transparent Ethernet bridging (GRE payload)
  ERSPAN2: 0x88be,
  ERSPAN3: 0x22eb,
} as const;

/** IP protocol numbers. */
export const IpProto = {
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  SCTP: 132,
} as const;
