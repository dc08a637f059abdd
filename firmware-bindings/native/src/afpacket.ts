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
  /** Put the interface in promiscuous mode while the ring is open (default true; the kernel undoes it on close). */
  promiscuous?: boolean;
}

/** An open ring. Use only from the thread that opened it. */
export interface PacketRing {
  /** The addon's handle (the socket's fd). */
  readonly handle: number;
  readonly ifname: string;
  readonly blockCount: number;
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
    options.promiscuous ?? true,
  );
  return {
    handle,
    ifname,
    blockCount: options.blockCount,
    totals: { packets: 0, drops: 0, freezeQueueCount: 0 },
  };
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

/**
 * Calls `callback` once, from the event loop, when the ring has a block for
 * user space (then `nextBlock(ring, 0)` returns it) or the socket has an
 * error. Arming again before it fires replaces the callback.
 */
export function pollRing(ring: PacketRing, callback: () => void): void {
  native.pollRing(ring.handle, callback);
}

/** How full the ring is, 0..1: the share of its blocks waiting in user space (the held one included). */
export function ringFill(ring: PacketRing): number {
  return native.ringBacklog(ring.handle) / ring.blockCount;
}

/**
 * Attaches a classic BPF socket filter (`compileBpfLive` output, or any
 * `struct sock_filter` program), replacing the previous one atomically: each
 * packet meets either the old or the new program. null removes it. A
 * program's return value is also the snap length the ring keeps.
 */
export function setRingFilter(ring: PacketRing, program: Uint8Array | null): void {
  native.setRingFilter(ring.handle, program);
}

/** Closes the socket and unmaps the ring (a held block's view becomes empty). */
export function closeRing(ring: PacketRing): void {
  native.closeRing(ring.handle);
}

// struct tpacket3_hdr (linux/if_packet.h), host byte order, then the
// sockaddr_ll at TPACKET_ALIGN(sizeof(tpacket3_hdr)).
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
const SLL_PKTTYPE = H_SIZE + 10;
/** End of the sockaddr_ll: the frame's headroom starts here (the addon reserves 4 bytes of it). */
const SLL_END = H_SIZE + 20;
export const TP_STATUS_VLAN_VALID = 1 << 4;
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
/** sll_pkttype of a frame this host sent (the others were received). */
export const PACKET_OUTGOING = 4;
const LE = endianness() === 'LE';
const EMPTY = Buffer.alloc(0);

/**
 * Reads a block's records in place, one frame at a time, allocating nothing
 * per frame: the fields describe the current frame until `next()` moves on.
 * Every record and frame is checked to lie inside the block; a malformed
 * block throws a RangeError.
 */
export class BlockCursor {
  /** The block's bytes (a view over the ring). */
  view: Buffer = EMPTY;
  /** Offset of the frame's first byte (the MAC header) in `view`. */
  offset = 0;
  /** Bytes captured (tp_snaplen). */
  caplen = 0;
  /** Length on the wire without the tag the kernel took out (tp_len). */
  len = 0;
  sec = 0;
  nsec = 0;
  status = 0;
  /** sll_pkttype: PACKET_HOST 0, BROADCAST 1, MULTICAST 2, OTHERHOST 3, OUTGOING 4. */
  packetType = 0;
  /** The outer tag the kernel moved into metadata, or -1. */
  vlanTci = -1;
  vlanTpid = 0;
  private dv: DataView = new DataView(new ArrayBuffer(0));
  private record = 0;
  private nextRecord = 0;
  private left = 0;

  /** Starts on a block; the first `next()` moves to its first frame. */
  reset(block: PacketBlock): void {
    this.view = block.view;
    this.dv = new DataView(block.view.buffer, block.view.byteOffset, block.view.byteLength);
    this.nextRecord = block.firstOffset;
    this.left = block.packets;
  }

  /** Frames after the current one. */
  get remaining(): number {
    return this.left;
  }

  /** Moves to the next frame; false when the block has none left. */
  next(): boolean {
    if (this.left === 0) return false;
    const v = this.view;
    const dv = this.dv;
    const at = this.nextRecord;
    if (at < 0 || at + SLL_END > v.length)
      throw new RangeError(`BlockCursor: record at ${at} is outside the block (${v.length} bytes)`);
    const caplen = dv.getUint32(at + H_SNAPLEN, LE);
    const mac = dv.getUint16(at + H_MAC, LE);
    if (mac < SLL_END || at + mac + caplen > v.length)
      throw new RangeError(`BlockCursor: frame [${at + mac}, +${caplen}] is outside the block`);
    const status = dv.getUint32(at + H_STATUS, LE);
    this.record = at;
    this.offset = at + mac;
    this.caplen = caplen;
    this.len = dv.getUint32(at + H_LEN, LE);
    this.sec = dv.getUint32(at + H_SEC, LE);
    this.nsec = dv.getUint32(at + H_NSEC, LE);
    this.status = status;
    this.packetType = v[at + SLL_PKTTYPE];
    if (status & TP_STATUS_VLAN_VALID) {
      this.vlanTci = dv.getUint32(at + H_VLAN_TCI, LE) & 0xffff;
      this.vlanTpid =
        status & TP_STATUS_VLAN_TPID_VALID ? dv.getUint16(at + H_VLAN_TPID, LE) : 0x8100;
    } else {
      this.vlanTci = -1;
      this.vlanTpid = 0;
    }
    const next = dv.getUint32(at + H_NEXT, LE);
    this.left = next === 0 ? 0 : this.left - 1; // tp_next_offset 0: the last record
    this.nextRecord = at + next;
    return true;
  }

  /**
   * Puts the metadata tag back into the frame, in the ring: the two MAC
   * addresses move 4 bytes into the headroom and TPID + TCI go where they
   * were, so `offset`/`caplen`/`len` then describe the frame as it crossed
   * the wire. Nothing happens when the frame carries no metadata tag.
   */
  restoreVlanTag(): void {
    if (this.vlanTci < 0) return;
    const v = this.view;
    const o = this.offset;
    if (o - 4 < this.record + SLL_END || this.caplen < 12)
      throw new RangeError(`BlockCursor: no room to put the VLAN tag back at ${o}`);
    v.copyWithin(o - 4, o, o + 12);
    v.writeUInt16BE(this.vlanTpid, o + 8);
    v.writeUInt16BE(this.vlanTci, o + 10);
    this.offset = o - 4;
    this.caplen += 4;
    this.len += 4;
    this.vlanTci = -1;
  }
}

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

/** The frames of a block, in order, as objects (for tests and tools; BlockCursor allocates nothing). */
export function* walkBlock(block: PacketBlock): Generator<RingFrame> {
  const c = new BlockCursor();
  c.reset(block);
  while (c.next()) {
    yield {
      offset: c.offset,
      caplen: c.caplen,
      len: c.len,
      sec: c.sec,
      nsec: c.nsec,
      status: c.status,
      vlan: c.vlanTci >= 0 ? { tci: c.vlanTci, tpid: c.vlanTpid } : null,
    };
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
