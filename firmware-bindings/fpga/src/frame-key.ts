/**
 * The board parser's contract: the filter key a frame presents, and the
 * lookup of that key in a bank image. The rules compiler (libs/rules
 * tcam.ts) relies on exactly these values; the board emulator runs them as
 * its data path, and tests hold the compiler to the user-space matcher
 * through them.
 *
 * Non-IP frames: l3, ip_proto, addresses, l4_valid and ports are 0. IP
 * without ports (ICMP, non-first fragments): l4_valid and ports 0. IPv4 in
 * a 128-bit address field: ::ffff:a.b.c.d. The first two VLAN tags are
 * outer and inner; deeper ones are not seen.
 */
import type { PacketView } from '@netmirror/packet';
import type { BoardProfile } from './profiles.js';
import type { KeyFieldSlot } from './tcam-bank.js';
import { keyLayout, setBits } from './tcam-bank.js';
import { tcamGeometry } from './profiles.js';

/** Reusable key buffer and layout for one profile (no allocation per frame beyond BigInt math). */
export class FrameKeyBuilder {
  readonly key: Buffer;
  private readonly layout: KeyFieldSlot[];

  constructor(profile: BoardProfile) {
    this.key = Buffer.alloc(tcamGeometry(profile).keyBytes);
    this.layout = keyLayout(profile);
  }

  /** Fills `key` for a decoded frame that arrived on ingress port `inPort`. */
  build(v: PacketView, inPort: number): Buffer {
    const key = this.key;
    key.fill(0);
    const ip = v.ipVersion === 4 || v.ipVersion === 6;
    const ports = ip && v.srcPort >= 0 && v.dstPort >= 0;
    for (const s of this.layout) {
      let value = 0n;
      switch (s.field) {
        case 'in_port':
          value = BigInt(inPort);
          break;
        case 'vlan_outer_valid':
          value = v.vlanDepth >= 1 ? 1n : 0n;
          break;
        case 'vlan_outer':
          value = v.vlanDepth >= 1 ? BigInt(v.vlanIds[0]) : 0n;
          break;
        case 'vlan_inner_valid':
          value = v.vlanDepth >= 2 ? 1n : 0n;
          break;
        case 'vlan_inner':
          value = v.vlanDepth >= 2 ? BigInt(v.vlanIds[1]) : 0n;
          break;
        case 'ether_type':
          value = v.etherType >= 0 ? BigInt(v.etherType) : 0n;
          break;
        case 'l3':
          value = v.ipVersion === 4 ? 1n : v.ipVersion === 6 ? 2n : 0n;
          break;
        case 'ip_proto':
          value = ip && v.ipProto >= 0 ? BigInt(v.ipProto) : 0n;
          break;
        case 'l4_valid':
          value = ports ? 1n : 0n;
          break;
        case 'src_ip':
          value = ip ? address(v, v.srcAddr, s.bits) : 0n;
          break;
        case 'dst_ip':
          value = ip ? address(v, v.dstAddr, s.bits) : 0n;
          break;
        case 'l4_src':
          value = ports ? BigInt(v.srcPort) : 0n;
          break;
        case 'l4_dst':
          value = ports ? BigInt(v.dstPort) : 0n;
          break;
      }
      if (value !== 0n) setBits(key, 0, s.offset, s.bits, value);
    }
    return key;
  }
}

/** An address as the board's field holds it; 0 when the field cannot hold it (IPv6 in 32 bits). */
function address(v: PacketView, at: number, bits: number): bigint {
  if (at < 0) return 0n;
  const n = v.ipVersion === 4 ? 4 : 16;
  if (n * 8 > bits) return 0n;
  let value = 0n;
  for (let i = 0; i < n; i++) value = (value << 8n) | BigInt(v.buf[at + i]);
  return n === 4 && bits === 128 ? (0xffffn << 32n) | value : value;
}

/**
 * Index of the first valid entry of `bank` whose key matches `key` under its
 * mask, or -1.
 */
export function lookupTcam(bank: Uint8Array, key: Uint8Array, profile: BoardProfile): number {
  const g = tcamGeometry(profile);
  const actionAt = 2 * g.keyBytes;
  for (let i = 0, at = 0; i < profile.tcam.entries; i++, at += g.entryBytes) {
    if ((bank[at + actionAt] & 1) === 0) continue; // TCAM_ACTION.VALID
    let hit = true;
    for (let b = 0; b < g.keyBytes; b++) {
      if (((key[b] ^ bank[at + b]) & bank[at + g.keyBytes + b]) !== 0) {
        hit = false;
        break;
      }
    }
    if (hit) return i;
  }
  return -1;
}
