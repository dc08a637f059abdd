import {
  BlockCursor,
  closeRing,
  compileBpfLive,
  encodeBpf,
  nextBlock,
  openPacketRing,
  PACKET_OUTGOING,
  pollRing,
  releaseBlock,
  ringFill,
  setRingFilter,
  stats,
} from '@netmirror/native';
import type { PacketRing } from '@netmirror/native';
import { bpfAnd, compileRulesBpf } from '@netmirror/rules';
import type { MirrorRule } from '@netmirror/rules';
import type { FrameBatch } from '@netmirror/packet';
import { LinkType } from '@netmirror/packet';
import type { SourceInterface } from '../sinks/index.js';
import { Waker } from './waker.js';
import type { KernelPrefilter, Tap } from './tap.js';

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
  private readonly acceptAll: Buffer;
  private readonly cursor = new BlockCursor();
  private holding = false;
  private readonly waker = new Waker((cb) => pollRing(this.ring, cb));
  private closed = false;
  private openedAt = 0;
  /** When the ring was last seen empty, and the capture time of the last frame handed out (ms). */
  private idleAt = 0;
  private lastFrameMs = 0;

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
    // `ret #snapLen`: every frame, cut to the snap length.
    this.acceptAll = encodeBpf([{ code: 0x06, jt: 0, jf: 0, k: options.snapLen }]);
    try {
      this.attach(null);
    } catch (err) {
      closeRing(this.ring);
      throw err;
    }
  }

  readonly prefilter: KernelPrefilter = {
    set: (filter, rules) => this.attach(this.prefilterProgram(filter, rules)),
    open: () => {
      this.attach(null);
      this.openedAt = Date.now();
      this.idleAt = 0;
    },
    // Frames captured at t reach user space by t + the block timeout: an empty ring seen after
    // that, or a frame stamped after it, means every frame captured before open() was delivered.
    caughtUp: () => {
      const after = this.openedAt + this.options.blockTimeoutMs + 5;
      return this.idleAt >= after || this.lastFrameMs >= after;
    },
  };

  /**
   * The capture filter (compiled by libpcap for this live socket) and the
   * mirror rules (compiled by libs/rules; a superset where classic BPF cannot
   * be exact), both required; frames that match no mirror rule stay in the
   * kernel. A program that cannot be built leaves that part out (the
   * pipeline filters anyway).
   */
  private prefilterProgram(
    filter: string | undefined,
    rules: readonly MirrorRule[],
  ): Buffer | null {
    const snap = this.options.snapLen;
    let program: Buffer | null = null;
    try {
      program = compileRulesBpf(rules, (r) => r.action === 'mirror', {
        vlanInMetadata: true,
        snapLen: snap,
        allowSuperset: true,
      });
    } catch {
      // too large for the kernel: no rules prefilter
    }
    if (filter === undefined) return program;
    const f = compileBpfLive(filter, this.ifname, snap);
    try {
      return program ? bpfAnd(f, program) : f;
    } catch {
      return f;
    }
  }

  /** Replaces the socket's filter in one step; null: every frame, cut to the snap length. */
  private attach(program: Buffer | null): void {
    setRingFilter(this.ring, program ?? this.acceptAll);
  }

  backlog(): number {
    return this.closed ? 0 : ringFill(this.ring);
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
      if (block === null) {
        this.idleAt = Date.now();
        break;
      }
      this.holding = true;
      this.cursor.reset(block);
      if (this.cursor.remaining > 0) return null;
    }
    return this.waker.wait();
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
    if (batch.count > 0) this.lastFrameMs = c.sec * 1000 + c.nsec / 1e6;
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
