/** Pseudo protocol number for ARP (not an IP protocol). */
export const PROTO_ARP = 0x10000;

const NAMES: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  icmp6: 58,
  icmpv6: 58,
  sctp: 132,
  arp: PROTO_ARP,
};

/** A protocol name or number as an IP protocol number (ARP as PROTO_ARP), or undefined. */
export function protocolNumber(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= 0 && value <= 255 ? value : undefined;
  if (typeof value === 'string') return NAMES[value.toLowerCase()];
  return undefined;
}
