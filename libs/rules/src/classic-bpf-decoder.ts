// The frame decoder of libs/packet (decodeFrame for Ethernet), as far as the
// rule matcher reads it, in classic BPF: one prologue shared by every rule,
// leaving its results in scratch memory. Each step mirrors a decoder file:
// ethernet.ts + vlan.ts, mpls.ts, arp.ts, ipv4.ts, ipv6.ts, tcp.ts, udp.ts,
// sctp.ts. Every load is preceded by a length check, so the prologue itself
// never ends the program.
import {
  EtherType,
  IpProto,
  MAX_IPV6_EXTENSIONS,
  MAX_MPLS_DEPTH,
  MAX_VLAN_DEPTH,
} from '@netmirror/packet';
import { PROTO_ARP } from './protocols.js';
import type { BpfBuilder, Label } from './classic-bpf-asm.js';
import { Op, SKF_AD_OFF, SKF_AD_VLAN_TAG, SKF_AD_VLAN_TAG_PRESENT } from './classic-bpf-asm.js';

/** "Absent" in a scratch word: no port, protocol or tag compares equal to it or lies in a range. */
export const NONE = 0xffffffff;

/** Scratch words the prologue fills. */
export const Slot = {
  /** 4 or 6 when the IP header is valid (PacketView.ipVersion), else 0. */
  IPV: 0,
  /** Offset of the network header (PacketView.l3). */
  L3: 1,
  /** PacketView.ipProto when ipVersion != 0, PROTO_ARP for ARP, else NONE. */
  PROTO: 2,
  /** PacketView.srcPort / dstPort, NONE when -1. */
  SPORT: 3,
  DPORT: 4,
  /** Tags left inline in the frame (all of them, unless one is in metadata). */
  VDEPTH: 5,
  /** VLAN id of the tag the kernel moved into metadata, or NONE (live only). */
  VMETA: 6,
  // Working words, dead once the prologue is done.
  TYPE: 7,
  Q: 8,
  NEXT: 9,
  IPEND: 10,
  IHL: 11,
} as const;

/** How much of the frame the rules read: each level includes the ones before. */
export const Level = {
  NONE: 0,
  /** The 802.1Q/802.1ad stack (vlan). */
  VLAN: 1,
  /** A valid IPv4/IPv6 header and its addresses (src, dst, host). */
  ADDRESS: 2,
  /** The transport protocol: ARP, IPv4 protocol, IPv6 after extension headers (protocol). */
  PROTOCOL: 3,
  /** TCP/UDP/SCTP ports (srcPort, dstPort, port). */
  PORTS: 4,
} as const;
export type Level = (typeof Level)[keyof typeof Level];

/** Scratch words still read by rules after a prologue of `level`. */
export function resultSlots(level: Level, live: boolean): number[] {
  const slots: number[] = [];
  if (level >= Level.VLAN) slots.push(Slot.VDEPTH, ...(live ? [Slot.VMETA] : []));
  if (level >= Level.ADDRESS) slots.push(Slot.IPV, Slot.L3);
  if (level >= Level.PROTOCOL) slots.push(Slot.PROTO);
  if (level >= Level.PORTS) slots.push(Slot.SPORT, Slot.DPORT);
  return slots;
}

const ZERO_INIT: ReadonlySet<number> = new Set([Slot.IPV, Slot.L3, Slot.VDEPTH]);

const ld = (b: BpfBuilder, slot: number): void => b.op(Op.LD | Op.MEM, slot);
const ldx = (b: BpfBuilder, slot: number): void => b.op(Op.LDX | Op.MEM, slot);
const st = (b: BpfBuilder, slot: number): void => b.op(Op.ST, slot);
const imm = (b: BpfBuilder, k: number): void => b.op(Op.LD | Op.IMM, k);
const ldLen = (b: BpfBuilder): void => b.op(Op.LD | Op.W | Op.LEN);
const ldxLen = (b: BpfBuilder): void => b.op(Op.LDX | Op.W | Op.LEN);
const ldbX = (b: BpfBuilder, k: number): void => b.op(Op.LD | Op.B | Op.IND, k);
const ldhX = (b: BpfBuilder, k: number): void => b.op(Op.LD | Op.H | Op.IND, k);
const alu = (b: BpfBuilder, op: number, k: number): void => b.op(Op.ALU | op | Op.K, k);
const ancillary = (b: BpfBuilder, what: number): void =>
  b.op(Op.LD | Op.W | Op.ABS, SKF_AD_OFF + what);

/**
 * `len - X >= need`, with X an offset known to be <= len: the frame has
 * `need` bytes from X (PacketView.avail(X) >= need). Falls through if so.
 */
function availX(b: BpfBuilder, need: number, otherwise: Label): void {
  ldLen(b);
  b.op(Op.ALU | Op.SUB | Op.X);
  b.jump(Op.JGE | Op.K, need, null, otherwise);
}

/**
 * Emits the prologue. `live`: the outermost 802.1Q/802.1ad tag may be in skb
 * metadata (SKF_AD_VLAN_TAG_PRESENT); it then counts as the first tag of the
 * stack and the frame the program reads lacks its 4 bytes.
 *
 * Exact for frames whose whole length was captured: `len` (the wire length
 * in libpcap, skb->len in the kernel) bounds every load, as the decoder's
 * `avail` does with the captured length.
 */
export function emitDecoder(b: BpfBuilder, level: Level, live: boolean): void {
  if (level === Level.NONE) return;
  const done = b.label();

  // Every result is written first (the kernel checks that no scratch word is
  // read before it is written, on every path).
  imm(b, NONE);
  for (const s of resultSlots(level, live)) if (!ZERO_INIT.has(s)) st(b, s);
  imm(b, 0);
  for (const s of resultSlots(level, live)) if (ZERO_INIT.has(s)) st(b, s);

  // ethernet.ts: 14 bytes or nothing at all (not even a metadata tag: the
  // frame on the wire would be too short to hold it).
  ldLen(b);
  b.jump(Op.JGE | Op.K, 14, null, done);
  if (live) {
    const inline = b.label();
    ancillary(b, SKF_AD_VLAN_TAG_PRESENT);
    b.jump(Op.JEQ | Op.K, 0, inline, null);
    ancillary(b, SKF_AD_VLAN_TAG);
    alu(b, Op.AND, 0x0fff);
    st(b, Slot.VMETA);
    b.place(inline);
  }

  // vlan.ts: tag k of those inline has its TPID at 12 + 4k. The stack holds at
  // most MAX_VLAN_DEPTH tags (the metadata one included); a deeper or cut
  // stack keeps the tags read so far and has no network layer.
  const network = b.label();
  for (let k = 0; k <= MAX_VLAN_DEPTH; k++) {
    const tag = b.label();
    const notTag = b.label();
    b.op(Op.LD | Op.H | Op.ABS, 12 + 4 * k);
    b.jump(Op.JEQ | Op.K, EtherType.VLAN, tag, null);
    b.jump(Op.JEQ | Op.K, EtherType.QINQ, tag, null);
    b.jump(Op.JEQ | Op.K, EtherType.QINQ_OLD, tag, notTag);
    b.place(notTag);
    if (level >= Level.ADDRESS) {
      st(b, Slot.TYPE);
      imm(b, 14 + 4 * k);
      st(b, Slot.L3);
      b.ja(network);
    } else b.ja(done);
    b.place(tag);
    if (k === MAX_VLAN_DEPTH) {
      b.ja(done);
      break;
    }
    if (live && k === MAX_VLAN_DEPTH - 1) {
      // With a tag in metadata this inline one would be the ninth.
      ld(b, Slot.VMETA);
      b.jump(Op.JEQ | Op.K, NONE, null, done);
    }
    ldLen(b);
    b.jump(Op.JGE | Op.K, 18 + 4 * k, null, done); // TPID, TCI and the next type
    imm(b, k + 1);
    st(b, Slot.VDEPTH);
  }
  if (level < Level.ADDRESS) {
    b.place(done);
    return;
  }

  // decode.ts decodeNetwork.
  const v4 = b.label();
  const v6 = b.label();
  const arp = b.label();
  const mpls = b.label();
  b.place(network);
  ld(b, Slot.TYPE);
  b.jump(Op.JEQ | Op.K, EtherType.IPV4, v4, null);
  b.jump(Op.JEQ | Op.K, EtherType.IPV6, v6, null);
  b.jump(Op.JEQ | Op.K, EtherType.ARP, arp, null);
  b.jump(Op.JEQ | Op.K, EtherType.MPLS, mpls, null);
  b.jump(Op.JEQ | Op.K, EtherType.MPLS_MC, mpls, done);

  // arp.ts: the EtherType alone makes `protocol: arp`; the matcher reads no
  // ARP address (its address fields need ipVersion != 0).
  b.place(arp);
  if (level >= Level.PROTOCOL) {
    imm(b, PROTO_ARP);
    st(b, Slot.PROTO);
  }
  b.ja(done);

  // mpls.ts: up to MAX_MPLS_DEPTH labels, the bottom-of-stack bit ends the
  // stack, then the IP version nibble names the payload.
  b.place(mpls);
  const payload = b.label();
  for (let i = 0; i < MAX_MPLS_DEPTH; i++) {
    ldx(b, Slot.L3);
    availX(b, 4, done);
    b.op(Op.MISC | Op.TXA);
    alu(b, Op.ADD, 4);
    st(b, Slot.L3);
    ldbX(b, 2); // X is still the label's offset
    b.jump(Op.JSET | Op.K, 0x01, payload, null);
  }
  b.ja(done); // a ninth label: more than MAX_MPLS_DEPTH, or cut
  b.place(payload);
  ldx(b, Slot.L3);
  availX(b, 1, done);
  ldbX(b, 0);
  alu(b, Op.RSH, 4);
  b.jump(Op.JEQ | Op.K, 4, v4, null);
  b.jump(Op.JEQ | Op.K, 6, v6, done);

  const transport = b.label();
  emitIPv4(b, level, v4, done, transport);
  emitIPv6(b, level, v6, done, transport);
  if (level >= Level.PORTS) emitTransport(b, transport, done);
  b.place(done);
}

/** ipv4.ts. */
function emitIPv4(b: BpfBuilder, level: Level, at: Label, done: Label, transport: Label): void {
  b.place(at);
  ldx(b, Slot.L3);
  availX(b, 20, done);
  ldbX(b, 0);
  alu(b, Op.RSH, 4);
  b.jump(Op.JEQ | Op.K, 4, null, done);
  ldbX(b, 0);
  alu(b, Op.AND, 0x0f);
  alu(b, Op.LSH, 2);
  b.jump(Op.JGE | Op.K, 20, null, done); // header length >= 20
  st(b, Slot.IHL);
  ldhX(b, 2); // total length
  ldx(b, Slot.IHL);
  b.jump(Op.JGE | Op.X, 0, null, done); // total >= header length
  ldx(b, Slot.L3);
  b.op(Op.ALU | Op.ADD | Op.X);
  st(b, Slot.IPEND);
  ldxLen(b);
  b.jump(Op.JGT | Op.X, 0, done, null); // total within the frame
  imm(b, 4);
  st(b, Slot.IPV);
  if (level < Level.PROTOCOL) {
    b.ja(done);
    return;
  }
  ldx(b, Slot.L3);
  ldbX(b, 9);
  st(b, Slot.PROTO);
  if (level < Level.PORTS) {
    b.ja(done);
    return;
  }
  // A fragment other than the first carries no transport header. (With the
  // whole frame captured, the options always fit: total <= len.)
  ldhX(b, 6);
  b.jump(Op.JSET | Op.K, 0x1fff, done, null);
  ld(b, Slot.IHL);
  b.op(Op.ALU | Op.ADD | Op.X);
  st(b, Slot.Q);
  b.ja(transport);
}

/** ipv6.ts, extension headers included. */
function emitIPv6(b: BpfBuilder, level: Level, at: Label, done: Label, transport: Label): void {
  b.place(at);
  ldx(b, Slot.L3);
  availX(b, 40, done);
  ldbX(b, 0);
  alu(b, Op.RSH, 4);
  b.jump(Op.JEQ | Op.K, 6, null, done);
  ldbX(b, 6);
  st(b, Slot.NEXT);
  const jumbo = b.label();
  const valid = b.label();
  ldhX(b, 4); // payload length
  b.jump(Op.JEQ | Op.K, 0, jumbo, null);
  alu(b, Op.ADD, 40);
  b.op(Op.ALU | Op.ADD | Op.X);
  st(b, Slot.IPEND);
  ldxLen(b);
  b.jump(Op.JGT | Op.X, 0, done, valid);
  // Payload length 0 is legal only ahead of a hop-by-hop header (jumbogram):
  // the packet then ends with the frame.
  b.place(jumbo);
  ld(b, Slot.NEXT);
  b.jump(Op.JEQ | Op.K, IpProto.HOPOPTS, null, done);
  ldLen(b);
  st(b, Slot.IPEND);
  b.place(valid);
  imm(b, 6);
  st(b, Slot.IPV);
  if (level < Level.PROTOCOL) {
    b.ja(done);
    return;
  }
  ld(b, Slot.L3);
  alu(b, Op.ADD, 40);
  st(b, Slot.Q);
  // The walk, unrolled: at most MAX_IPV6_EXTENSIONS headers, then the
  // upper-layer protocol; one more extension header is malformed.
  const final = b.label();
  for (let n = 0; n <= MAX_IPV6_EXTENSIONS; n++) {
    const ext = b.label();
    const frag = b.label();
    const ah = b.label();
    const advance = b.label();
    ld(b, Slot.NEXT);
    b.jump(Op.JEQ | Op.K, IpProto.HOPOPTS, ext, null);
    b.jump(Op.JEQ | Op.K, IpProto.ROUTING, ext, null);
    b.jump(Op.JEQ | Op.K, IpProto.DSTOPTS, ext, null);
    b.jump(Op.JEQ | Op.K, IpProto.AH, ext, null);
    b.jump(Op.JEQ | Op.K, IpProto.FRAGMENT, ext, final);
    b.place(ext);
    ldx(b, Slot.Q);
    availX(b, 8, done); // every extension header needs 8 bytes
    ld(b, Slot.NEXT);
    b.jump(Op.JEQ | Op.K, IpProto.FRAGMENT, frag, null);
    b.jump(Op.JEQ | Op.K, IpProto.AH, ah, null);
    ldbX(b, 1); // options, routing: (len + 1) * 8
    alu(b, Op.ADD, 1);
    alu(b, Op.LSH, 3);
    b.ja(advance);
    b.place(ah); // AH: (len + 2) * 4
    ldbX(b, 1);
    alu(b, Op.ADD, 2);
    alu(b, Op.LSH, 2);
    b.ja(advance);
    b.place(frag);
    const first = b.label();
    ldhX(b, 2);
    b.jump(Op.JSET | Op.K, 0xfff8, null, first);
    // Not the first fragment: the protocol is known, the transport header is not here.
    ldbX(b, 0);
    st(b, Slot.PROTO);
    b.ja(done);
    b.place(first);
    imm(b, 8);
    b.place(advance);
    b.op(Op.ALU | Op.ADD | Op.X);
    st(b, Slot.Q);
    ldbX(b, 0);
    st(b, Slot.NEXT);
    ld(b, Slot.Q);
    ldx(b, Slot.IPEND);
    b.jump(Op.JGT | Op.X, 0, done, null); // past the payload: malformed
  }
  b.ja(done); // more than MAX_IPV6_EXTENSIONS extension headers
  // The upper-layer header is at Q (<= IPEND, checked after every step).
  b.place(final);
  ld(b, Slot.NEXT);
  st(b, Slot.PROTO);
  b.ja(level >= Level.PORTS ? transport : done);
}

/** tcp.ts, udp.ts, sctp.ts: where the decoder sets srcPort/dstPort. */
function emitTransport(b: BpfBuilder, at: Label, done: Label): void {
  const tcp = b.label();
  const udp = b.label();
  const sctp = b.label();
  const ports = b.label();
  b.place(at);
  ld(b, Slot.PROTO);
  b.jump(Op.JEQ | Op.K, IpProto.TCP, tcp, null);
  b.jump(Op.JEQ | Op.K, IpProto.UDP, udp, null);
  b.jump(Op.JEQ | Op.K, IpProto.SCTP, sctp, done);

  // TCP: a header cut after the ports still shows them; a whole header shows
  // them only with a data offset of at least 5 words.
  b.place(tcp);
  ldx(b, Slot.Q);
  availX(b, 4, done);
  b.jump(Op.JGE | Op.K, 20, null, ports);
  ldbX(b, 12);
  b.jump(Op.JGE | Op.K, 0x50, ports, done);

  // UDP: cut after the ports shows them; a whole header must fit the IP packet.
  b.place(udp);
  ldx(b, Slot.Q);
  availX(b, 4, done);
  b.jump(Op.JGE | Op.K, 8, null, ports);
  b.op(Op.MISC | Op.TXA);
  alu(b, Op.ADD, 8);
  ldx(b, Slot.IPEND);
  b.jump(Op.JGT | Op.X, 0, done, ports);

  // SCTP: the 12-byte common header, within the IP packet.
  b.place(sctp);
  ldx(b, Slot.Q);
  availX(b, 12, done);
  b.op(Op.MISC | Op.TXA);
  alu(b, Op.ADD, 12);
  ldx(b, Slot.IPEND);
  b.jump(Op.JGT | Op.X, 0, done, ports);

  b.place(ports);
  ldx(b, Slot.Q);
  ldhX(b, 0);
  st(b, Slot.SPORT);
  ldhX(b, 2);
  st(b, Slot.DPORT);
}
