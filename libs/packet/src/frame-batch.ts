/**
 * A batch of captured frames that all live in one backing buffer.
 *
 * Every tap fills batches and every consumer reads them; a frame is described
 * by parallel typed arrays (structure of arrays) so a batch of thousands of
 * frames costs no per-frame object. A frame's bytes are
 * `buf[offset[i] .. offset[i] + caplen[i])` and stay valid until the producer
 * refills the batch.
 */
export class FrameBatch {
  /** Backing bytes; producers may swap in their own buffer for each fill. */
  buf: Buffer;
  /** Number of valid frames. */
  count = 0;
  readonly capacity: number;
  /** Start of frame i in `buf`. */
  readonly offset: Int32Array;
  /** Bytes of frame i present in `buf`. */
  readonly caplen: Int32Array;
  /** Length of frame i on the wire (>= caplen when the capture was sliced). */
  readonly wirelen: Int32Array;
  /** Timestamp, whole seconds since the Unix epoch. */
  readonly tsSec: Float64Array;
  /** Timestamp, nanoseconds within the second (0..999,999,999). */
  readonly tsNsec: Int32Array;
  /** Index of the interface the frame came from, within its source. */
  readonly ifIndex: Int32Array;
  /** pcapng `epb_flags` (direction, reception type), 0 when unknown. */
  readonly flags: Int32Array;

  constructor(capacity = 1024, buf: Buffer = Buffer.alloc(0)) {
    this.capacity = capacity;
    this.buf = buf;
    this.offset = new Int32Array(capacity);
    this.caplen = new Int32Array(capacity);
    this.wirelen = new Int32Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Int32Array(capacity);
    this.ifIndex = new Int32Array(capacity);
    this.flags = new Int32Array(capacity);
  }

  clear(): void {
    this.count = 0;
  }

  /** Appends a frame descriptor; returns its index, or -1 when full. */
  push(
    offset: number,
    caplen: number,
    wirelen: number,
    tsSec: number,
    tsNsec: number,
    ifIndex = 0,
    flags = 0,
  ): number {
    const i = this.count;
    if (i >= this.capacity) return -1;
    this.offset[i] = offset;
    this.caplen[i] = caplen;
    this.wirelen[i] = wirelen;
    this.tsSec[i] = tsSec;
    this.tsNsec[i] = tsNsec;
    this.ifIndex[i] = ifIndex;
    this.flags[i] = flags;
    this.count = i + 1;
    return i;
  }
}
