// AF_PACKET capture through a TPACKET_V3 memory-mapped ring.
//
// The addon (csrc/afpacket.cc) opens the socket, maps the ring and hands out
// whole retired blocks as Buffer views over the mapping; this module walks a
// block's tpacket3_hdr records and puts back the VLAN tag the kernel moved
// into metadata. No packet is copied until the caller decides to.
import { endianness } from 'node:os';
import { native } from './native.js';

/** PACKET_FANOUT modes (linux/if_packet.h); OR in a FanoutFlag if wanted. */
export const FanoutMode = {
  HASH: 0,
  LB: 1,
  CPU: 2,
  ROLLOVER: 3,
  RND: 4,
  QM: 5,
} as const;

/** PACKET_FANOUT flags, OR'ed into the mode. */
export const FanoutFlag = {
  ROLLOVER: 0x1000,
  UNIQUEID: 0x2000,
  IGNORE_OUTGOING: 0x4000,
  DEFRAG: 0x8000,
} as const;

export interface PacketRingOptions {
  /** Bytes per block: a multiple of the page size (and of frameSize). */
  blockSize: number;
  blockCount: number;
  /** tp_frame_size; V3 frames are variable-size, this only has to divide blockSize. Default 2048. */
  frameSize?: number;
  /** tp_retire_blk_tov: a block that is not full is handed over after this many ms. */
  timeoutMs: number;
  /** Join PACKET_FANOUT group `group` (0..65535) with `mode` (FanoutMode | FanoutFlag...). */
  fanout?: { group: number; mode: number };
}

/** An open ring. Use only from the thread that opened it. */
export interface PacketRing {
  /** The addon's handle (the socket's fd). */
  readonly handle: number;
  readonly ifname: string;
  /** Counters accumulated over every stats() call (the kernel resets on read). */
  readonly totals: PacketRingStats;
}

export interface PacketRingStats {
  /** Packets the socket saw, including the dropped ones (kernel's tp_packets). */
  packets: number;
  /** Packets lost because the ring had no free block (tp_drops). */
  drops: number;
  /** Times the queue was frozen because every block was in user space (tp_freeze_q_cnt). */
  freezeQueueCount: number;
}

export interface PacketBlock {
  /**
   * The retired block, a view over the ring (valid until releaseBlock, after
   * which it reads as empty). Record offsets are from its start.
   */
  view: Buffer;
  /** num_pkts. */
  packets: number;
  /** seq_num, increasing by one per block the kernel retires. */
  seq: number;
  /** offset_to_first_pkt. */
  firstOffset: number;
}

/**
 * Opens SOCK_RAW/ETH_P_ALL on `ifname` with a TPACKET_V3 RX ring of
 * blockSize × blockCount bytes. Needs CAP_NET_RAW. Throws an Error with
 * Node-style `code` on a system call failure (ENODEV: no such interface).
 */
export function openPacketRing(ifname: string, options: PacketRingOptions): PacketRing {
  const { fanout } = options;
  const handle = native.openPacketRing(
    ifname,
    options.blockSize,
    options.blockCount,
    options.frameSize ?? 2048,
    options.timeoutMs,
    fanout ? fanout.group : -1,
    fanout ? fanout.mode : 0,
  );
  return { handle, ifname, totals: { packets: 0, drops: 0, freezeQueueCount: 0 } };
}

/**
 * The next retired block in ring order, waiting up to `timeoutMs` (blocks
 * this thread), or null. The previous block must have been released.
 */
export function nextBlock(ring: PacketRing, timeoutMs: number): PacketBlock | null {
  return native.nextBlock(ring.handle, timeoutMs);
}

/** Hands the held block back to the kernel; its view becomes empty. */
export function releaseBlock(ring: PacketRing): void {
  native.releaseBlock(ring.handle);
}

/** Reads PACKET_STATISTICS, adds it to `ring.totals` and returns the totals. */
export function stats(ring: PacketRing): PacketRingStats {
  const d = native.packetStats(ring.handle);
  const t = ring.totals;
  t.packets += d.packets;
  t.drops += d.drops;
  t.freezeQueueCount += d.freezeQueueCount;
  return { ...t };
}

/** Closes the socket and unmaps the ring (a held block's view becomes empty). */
export function closeRing(ring: PacketRing): void {
  native.closeRing(ring.handle);
}

// struct tpacket3_hdr (linux/if_packet.h), host byte order.
const H_NEXT = 0;
const H_SEC = 4;
const H_NSEC = 8;
const H_SNAPLEN = 12;
const H_LEN = 16;
const H_STATUS = 20;
const H_MAC = 24;
const H_VLAN_TCI = 32; // hv1.tp_vlan_tci (after hv1.tp_rxhash at 28)
const H_VLAN_TPID = 36; // hv1.tp_vlan_tpid
const H_SIZE = 48;
export const TP_STATUS_VLAN_VALID = 1 << 4;
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
const LE = endianness() === 'LE';

export interface RingFrame {
  /** Offset of the frame's first byte (the MAC header) in the block view. */
  offset: number;
  /** Bytes captured (tp_snaplen). */
  caplen: number;
  /** Length on the wire without the tag the kernel took out (tp_len). */
  len: number;
  sec: number;
  nsec: number;
  status: number;
  /** The outer tag the kernel moved into metadata, or null. */
  vlan: { tci: number; tpid: number } | null;
}

/**
 * The frames of a block, in order. Every record and frame is checked to lie
 * inside the view; a malformed block throws a RangeError.
 */
export function* walkBlock(block: PacketBlock): Generator<RingFrame> {
  const v = block.view;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  let at = block.firstOffset;
  for (let i = 0; i < block.packets; i++) {
    if (at < 0 || at + H_SIZE > v.length) {
      throw new RangeError(
        `walkBlock: record ${i} at ${at} is outside the block (${v.length} bytes)`,
      );
    }
    const caplen = dv.getUint32(at + H_SNAPLEN, LE);
    const mac = dv.getUint16(at + H_MAC, LE);
    if (at + mac + caplen > v.length) {
      throw new RangeError(`walkBlock: frame ${i} [${at + mac}, +${caplen}] is outside the block`);
    }
    const status = dv.getUint32(at + H_STATUS, LE);
    yield {
      offset: at + mac,
      caplen,
      len: dv.getUint32(at + H_LEN, LE),
      sec: dv.getUint32(at + H_SEC, LE),
      nsec: dv.getUint32(at + H_NSEC, LE),
      status,
      vlan:
        status & TP_STATUS_VLAN_VALID
          ? {
              tci: dv.getUint32(at + H_VLAN_TCI, LE) & 0xffff,
              tpid:
                status & TP_STATUS_VLAN_TPID_VALID ? dv.getUint16(at + H_VLAN_TPID, LE) : 0x8100,
            }
          : null,
    };
    const next = dv.getUint32(at + H_NEXT, LE);
    if (next === 0) break; // last record
    at += next;
  }
}

/**
 * The frame as it crossed the wire: `frame` (as captured, tag removed) with
 * TPID + TCI inserted after the two MAC addresses. A new Buffer; `frame` is
 * not modified. Throws a RangeError when the frame has no room for the MACs.
 */
export function restoreVlanTag(frame: Uint8Array, tci: number, tpid = 0x8100): Buffer {
  if (frame.length < 12)
    throw new RangeError(`restoreVlanTag: frame of ${frame.length} bytes has no MAC header`);
  const out = Buffer.allocUnsafe(frame.length + 4);
  out.set(frame.subarray(0, 12), 0);
  out.writeUInt16BE(tpid & 0xffff, 12);
  out.writeUInt16BE(tci & 0xffff, 14);
  out.set(frame.subarray(12), 16);
  return out;
}

/** The frame's bytes with any metadata tag put back (a copy either way). */
export function frameBytes(block: PacketBlock, f: RingFrame): Buffer {
  const raw = block.view.subarray(f.offset, f.offset + f.caplen);
  return f.vlan ? restoreVlanTag(raw, f.vlan.tci, f.vlan.tpid) : Buffer.from(raw);
}
