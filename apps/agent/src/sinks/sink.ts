import type { PacketView } from '@netmirror/packet';
import { DeferredCopies } from './deferred-copies.js';
import { FrameQueue } from './frame-queue.js';

/** Most bytes any destination adds around a frame (pcapng EPB with flags: 48). */
export const MAX_ENCAP_OVERHEAD = 64;

/** Counters every destination keeps; what the summary and telemetry report. */
export interface SinkStats {
  /** Copies handed to the destination's queue. */
  offered: number;
  /** Copies written or sent. */
  sent: number;
  /** Bytes written or sent, including encapsulation. */
  bytes: number;
  /** Copies lost because the queue was full (a slow destination). */
  dropped: number;
  /** Copies lost to I/O errors (the last one is in `lastError`). */
  failed: number;
  /** Copies cut to fit the destination's MTU. */
  truncated: number;
  /** Copies this destination cannot carry (e.g. a non-Ethernet frame over VXLAN). */
  unsupported: number;
}

/** A frame the pipeline hands to destinations; the view is the decoded original. */
export interface FrameCopy {
  src: Buffer;
  offset: number;
  caplen: number;
  wirelen: number;
  tsSec: number;
  tsNsec: number;
  ifIndex: number;
  /** pcapng epb_flags of the original (direction, reception type), 0 if unknown. */
  flags: number;
  linkType: number;
  view: PacketView;
  /** True when `src` stays valid until the batch ends (so its copy may be deferred). */
  stable: boolean;
}

/** Interface descriptions a destination may record (pcapng IDBs). */
export interface SourceInterface {
  linkType: number;
  snapLen: number;
  name?: string;
  description?: string;
}

export interface SinkQueueOptions {
  /** Bytes of the destination's queue. */
  queueBytes?: number;
  /** Messages of the destination's queue. */
  queueMessages?: number;
}

/**
 * A destination: a bounded queue the pipeline encodes copies into, drained
 * asynchronously by the concrete sink. `offer` never blocks; when the queue is
 * full the copy is dropped and counted here.
 */
export abstract class Sink {
  readonly stats: SinkStats = {
    offered: 0,
    sent: 0,
    bytes: 0,
    dropped: 0,
    failed: 0,
    truncated: 0,
    unsupported: 0,
  };
  lastError: string | null = null;
  /** Bytes of every message ever queued. */
  protected queuedBytes = 0;
  protected readonly queue: FrameQueue;
  private readonly copies: DeferredCopies;
  private roomWaiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly uri: string,
    options: SinkQueueOptions = {},
  ) {
    this.queue = new FrameQueue(
      options.queueBytes ?? 16 << 20,
      options.queueMessages ?? 32768,
      () => this.queueStartOffset(),
    );
    this.copies = new DeferredCopies(this.queue.buf);
  }

  /** Opens files or sockets; called once with the source's interfaces. */
  abstract open(interfaces: readonly SourceInterface[]): Promise<void>;

  /** Encodes a copy into the queue; false when it was dropped (counted). */
  offer(f: FrameCopy): boolean {
    this.stats.offered++;
    const max = this.maxEncodedLength(f);
    if (max < 0) {
      this.stats.unsupported++;
      return false;
    }
    const at = this.queue.reserve(max);
    if (at < 0) {
      this.stats.dropped++;
      return false;
    }
    const len = this.encode(f, this.queue.buf, at);
    this.queue.commit(at, len);
    this.queuedBytes += len;
    return true;
  }

  /** Where the queue starts over at its front (see FrameQueue); 0 unless a sink cares. */
  protected queueStartOffset(): number {
    return 0;
  }

  /** Upper bound of the bytes `encode` writes for `f`, or -1 if it cannot carry it. */
  protected abstract maxEncodedLength(f: FrameCopy): number;

  /**
   * Writes the message for `f` at `at` and returns its length. The frame's
   * bytes go in with `copyFrame`, which batches them.
   */
  protected abstract encode(f: FrameCopy, dst: Buffer, at: number): number;

  /** Places `len` bytes of the frame at `dst[at]` (deferred to the end of the batch when possible). */
  protected copyFrame(f: FrameCopy, at: number, len: number): void {
    this.copies.add(f.src, f.offset, at, len, f.stable);
  }

  /** Completes the batch's frame copies; the pipeline calls it at the end of every batch. */
  completeBatch(): void {
    this.copies.flush();
  }

  /** Starts sending what is queued (after completing the batch's copies); never blocks. */
  flush(): void {
    this.copies.flush();
    this.drain();
  }

  /** Starts writing or sending queued messages; never blocks. */
  protected abstract drain(): void;

  /** Most bytes of frames (plus MAX_ENCAP_OVERHEAD each) and frames the queue can take now. */
  room(): { bytes: number; messages: number } {
    return { bytes: this.queue.freeBytes(), messages: this.queue.freeMessages() };
  }

  /** Whether the queue could take a copy of `len` frame bytes even if it were empty. */
  canEverHold(len: number): boolean {
    return len + MAX_ENCAP_OVERHEAD <= this.queue.byteCapacity;
  }

  /** How full the queue is, 0..1. */
  fill(): number {
    return this.queue.fill();
  }

  /** Messages still queued. */
  get pending(): number {
    return this.queue.count;
  }

  /** Resolves once the queue is at most `level` full (default: a quarter). */
  waitForRoom(level = 0.25): Promise<void> {
    this.flush();
    if (this.queue.fill() <= level) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.queue.fill() <= level) resolve();
        else this.roomWaiters.push(check);
      };
      this.roomWaiters.push(check);
    });
  }

  /** Sends everything queued, then releases files and sockets. */
  async close(): Promise<void> {
    await this.waitForRoom(0);
    await this.release();
  }

  protected abstract release(): Promise<void>;

  /** Concrete sinks call this after messages left the queue. */
  protected sent(messages: number, bytes: number): void {
    this.queue.release(messages);
    this.stats.sent += messages;
    this.stats.bytes += bytes;
    this.wakeWaiters();
  }

  /** Concrete sinks call this when messages could not be delivered. */
  protected failed(messages: number, error: string): void {
    this.queue.release(messages);
    this.stats.failed += messages;
    this.lastError = error;
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    if (this.roomWaiters.length === 0) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }
}
