/**
 * A bounded queue of encoded messages (pcap records, VXLAN payloads, ...) in
 * one byte ring. The pipeline encodes each copy straight into it; the sink
 * drains it asynchronously. A message never wraps: it is contiguous in `buf`,
 * and `msgOff`/`msgLen` describe it, so a drain can hand whole runs to one
 * write() or sendmmsg(). When the ring is full an offer is refused and the
 * caller counts a drop: a slow destination loses its own copies only.
 */
/** Largest offset `startAt` may return. */
export const MAX_START_OFFSET = 4096;

export class FrameQueue {
  readonly buf: Buffer;
  readonly msgOff: Int32Array;
  readonly msgLen: Int32Array;
  /** Index of the oldest message in the descriptor ring. */
  head = 0;
  /** Messages queued. */
  count = 0;
  private writeAt = 0;
  /** Where the byte run of the newest messages ends before a wrap to 0 (-1: not wrapped). */
  private wrapAt = -1;

  /**
   * `startAt()` says where in the buffer to begin whenever the queue starts
   * over at the front (empty, or wrapping): a value below MAX_START_OFFSET a
   * file destination uses to keep its writes clear of 4K aliasing.
   */
  constructor(
    readonly byteCapacity: number,
    readonly msgCapacity: number,
    private readonly startAt: () => number = () => 0,
  ) {
    this.buf = Buffer.allocUnsafe(byteCapacity);
    this.msgOff = new Int32Array(msgCapacity);
    this.msgLen = new Int32Array(msgCapacity);
  }

  /** Offset where up to `n` bytes may be written, or -1 when the queue is full. */
  reserve(n: number): number {
    if (this.count >= this.msgCapacity || n > this.byteCapacity) return -1;
    if (this.count === 0) {
      const front = this.startAt();
      this.writeAt = front;
      this.wrapAt = -1;
      return front + n <= this.byteCapacity ? front : 0;
    }
    const start = this.msgOff[this.head];
    if (this.wrapAt < 0) {
      if (this.writeAt + n <= this.byteCapacity) return this.writeAt;
      // Wrap to the front, if the oldest message left room there.
      const front = this.startAt();
      return front + n < start ? front : n < start ? 0 : -1;
    }
    return this.writeAt + n < start ? this.writeAt : -1;
  }

  /** Records a message of `len` bytes written at `off` (from `reserve`). */
  commit(off: number, len: number): void {
    if (off < this.writeAt && this.count > 0 && this.wrapAt < 0) this.wrapAt = this.writeAt;
    const tail = (this.head + this.count) % this.msgCapacity;
    this.msgOff[tail] = off;
    this.msgLen[tail] = len;
    this.count++;
    this.writeAt = off + len;
  }

  /** Messages from the head that are contiguous in the descriptor ring. */
  contiguousMessages(): number {
    return Math.min(this.count, this.msgCapacity - this.head);
  }

  /** Messages from the head whose bytes form one run (of at most `maxBytes` after the first), and its end. */
  contiguousRun(maxBytes = Infinity): { messages: number; end: number } {
    const max = this.contiguousMessages();
    const start = this.msgOff[this.head];
    let end = start;
    let n = 0;
    while (n < max) {
      const i = this.head + n;
      if (this.msgOff[i] !== end || (n > 0 && end + this.msgLen[i] - start > maxBytes)) break;
      end += this.msgLen[i];
      n++;
    }
    return { messages: n, end };
  }

  /** Drops the `n` oldest messages (sent or given up on). */
  release(n: number): void {
    this.head = (this.head + n) % this.msgCapacity;
    this.count -= n;
    if (this.count === 0) {
      this.writeAt = 0;
      this.wrapAt = -1;
    } else if (this.wrapAt >= 0 && this.msgOff[this.head] < this.writeAt) {
      // The head has reached the messages written after the wrap: one run again.
      this.wrapAt = -1;
    }
  }

  /**
   * Bytes that messages can certainly take, however they wrap: the larger free
   * region alone (a message never straddles the end of the ring).
   */
  freeBytes(): number {
    if (this.count === 0) return this.byteCapacity;
    const start = this.msgOff[this.head];
    return this.wrapAt < 0
      ? Math.max(this.byteCapacity - this.writeAt, start - 1)
      : start - this.writeAt - 1;
  }

  /** Messages that can still be queued. */
  freeMessages(): number {
    return this.msgCapacity - this.count;
  }

  /** How full the queue is, 0..1, by bytes or by messages, whichever is fuller. */
  fill(): number {
    if (this.count === 0) return 0;
    const start = this.msgOff[this.head];
    const used = this.wrapAt < 0 ? this.writeAt - start : this.wrapAt - start + this.writeAt;
    return Math.max(used / this.byteCapacity, this.count / this.msgCapacity);
  }
}
