import {
  BlockCursor,
  closeRing,
  compileBpfLive,
  nextBlock,
  openPacketRing,
  PACKET_OUTGOING,
  pollRing,
  releaseBlock,
  setRingFilter,
  stats,
} from '@netmirror/native';
import type { PacketRing } from '@netmirror/native';
import type { FrameBatch } from '@netmirror/packet';
import { LinkType } from '@netmirror/packet';
import type { SourceInterface } from '../sinks/index.js';
import type { Tap } from './tap.js';

export interface AfPacketTapOptions {
  /** Ring size in bytes (blockBytes × blocks). */
  ringBytes: number;
  blockBytes: number;
  /** A block that is not full is handed over after this long, so quiet links are not held back. */
  blockTimeoutMs: number;
  /** Join this PACKET_FANOUT group: taps (processes) with the same group share the interface's load. */
  fanout?: { group: number; mode: number };
  /** Bytes kept of each frame (the kernel cuts the rest; the wire length is kept). */
  snapLen: number;
  promiscuous: boolean;
}

/** The longest `ready()` waits before the session gets a turn to notice a stop. */
const WAKE_MS = 100;

// pcapng epb_flags: direction in bits 0-1, reception type in bits 2-4.
const INBOUND = 1;
const OUTBOUND = 2;
/** sll_pkttype (HOST, BROADCAST, MULTICAST, OTHERHOST) to the reception type (unicast 1, broadcast 3, multicast 2, promiscuous 4). */
const RECEPTION = [1, 3, 2, 4];

/**
 * `afpacket:IFACE`: live frames from an AF_PACKET TPACKET_V3 ring. Batches
 * point straight into the ring's blocks (nothing is copied): a block is
 * handed back to the kernel once every frame in it has been through the
 * pipeline. The VLAN tag the kernel moves into metadata is written back in
 * place, so each frame is the one that crossed the wire. Frames sent and
 * received on the interface are both captured, with their direction.
 */
export class AfPacketTap implements Tap {
  readonly live = true;
  readonly interfaces: readonly SourceInterface[];
  readonly linkTypes: ArrayLike<number> = [LinkType.ETHERNET];
  private readonly ring: PacketRing;
  private readonly cursor = new BlockCursor();
  private holding = false;
  private wake: Promise<void> | null = null;
  private closed = false;

  constructor(
    readonly uri: string,
    readonly ifname: string,
    private readonly options: AfPacketTapOptions,
  ) {
    this.ring = openPacketRing(ifname, {
      blockSize: options.blockBytes,
      blockCount: Math.max(2, Math.floor(options.ringBytes / options.blockBytes)),
      timeoutMs: options.blockTimeoutMs,
      fanout: options.fanout,
      promiscuous: options.promiscuous,
    });
    this.interfaces = [{ linkType: LinkType.ETHERNET, snapLen: options.snapLen, name: ifname }];
    try {
      this.setFilter(null);
    } catch (err) {
      closeRing(this.ring);
      throw err;
    }
  }

  /**
   * Filters in the kernel from now on (null: every frame), replacing the
   * previous filter in one step. The expression is compiled by libpcap for
   * this live socket, so `vlan` tests the tag the kernel keeps in metadata.
   */
  setFilter(expression: string | null): void {
    const snap = this.options.snapLen;
    // Without an expression, a one-instruction program still cuts frames to the snap length.
    const program =
      expression === null
        ? Buffer.from([
            0x06,
            0,
            0,
            0,
            snap & 0xff,
            (snap >> 8) & 0xff,
            (snap >> 16) & 0xff,
            snap >>> 24,
          ])
        : compileBpfLive(expression, this.ifname, snap);
    setRingFilter(this.ring, program);
  }

  ready(): Promise<void> | null {
    if (this.closed) return null;
    if (this.holding && this.cursor.remaining > 0) return null;
    for (;;) {
      if (this.holding) {
        releaseBlock(this.ring);
        this.holding = false;
      }
      const block = nextBlock(this.ring, 0);
      if (block === null) break;
      this.holding = true;
      this.cursor.reset(block);
      if (this.cursor.remaining > 0) return null;
    }
    if (this.wake === null) {
      const wake: Promise<void> = new Promise<void>((resolve) => {
        let finished = false;
        const finish = (): void => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          if (this.wake === wake) this.wake = null;
          resolve();
        };
        const timer = setTimeout(finish, WAKE_MS);
        pollRing(this.ring, finish);
      });
      this.wake = wake;
    }
    return this.wake;
  }

  next(batch: FrameBatch): number {
    batch.clear();
    if (!this.holding) return 0;
    const c = this.cursor;
    batch.buf = c.view;
    while (batch.count < batch.capacity && c.next()) {
      c.restoreVlanTag();
      const direction = c.packetType === PACKET_OUTGOING ? OUTBOUND : INBOUND;
      const reception = RECEPTION[c.packetType] ?? 0;
      batch.push(c.offset, c.caplen, c.len, c.sec, c.nsec, 0, direction | (reception << 2));
    }
    return batch.count;
  }

  sourceDrops(): number[] {
    return [this.closed ? this.ring.totals.drops : stats(this.ring).drops];
  }

  close(): void {
    if (this.closed) return;
    stats(this.ring); // the last counts, before the socket goes
    this.closed = true;
    closeRing(this.ring);
  }
}
