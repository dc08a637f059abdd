// Records waiting for a consumer that takes them in batches (the agent's
// tap): each frame copied once out of its transfer into one buffer, so a
// batch's frames share a buffer whatever transfers they came in. Bounded
// like a kernel capture ring: when it is full a record is refused (the
// caller counts it), and what was handed out stays put until released.
import type { RecordView } from './parser.js';

export class RecordRing {
  /** Every frame's bytes: record slot s is `buf[offset[s], offset[s] + caplen[s])`. */
  readonly buf: Buffer;
  readonly offset: Int32Array;
  readonly caplen: Int32Array;
  readonly origlen: Int32Array;
  readonly sec: Float64Array;
  readonly nsec: Int32Array;
  readonly port: Uint8Array;
  /** The record's flags (RecordFlag). */
  readonly flags: Uint8Array;
  private readonly slots: number;
  /** Oldest slot in use, slots in use, and how many of those (from the oldest) are handed out. */
  private first = 0;
  private used = 0;
  private taken = 0;
  /** Where the last `take` started, counted from the oldest slot. */
  private lastTake = 0;
  /** Where the next frame's bytes go. */
  private wr = 0;

  constructor(bytes: number, slots: number) {
    this.buf = Buffer.alloc(bytes);
    this.slots = slots;
    this.offset = new Int32Array(slots);
    this.caplen = new Int32Array(slots);
    this.origlen = new Int32Array(slots);
    this.sec = new Float64Array(slots);
    this.nsec = new Int32Array(slots);
    this.port = new Uint8Array(slots);
    this.flags = new Uint8Array(slots);
  }

  /** Records not handed out yet. */
  get waiting(): number {
    return this.used - this.taken;
  }

  /** How full it is, 0..1 (bytes or slots, whichever is fuller). */
  fill(): number {
    if (this.used === 0) return 0;
    const start = this.offset[this.first];
    const bytes = this.wrapped() ? this.buf.length - start + this.wr : this.wr - start;
    return Math.max(bytes / this.buf.length, this.used / this.slots);
  }

  /** Copies the record in; false when there is no room for it. */
  push(r: RecordView): boolean {
    if (this.used === this.slots) return false;
    const at = this.place(r.caplen);
    if (at < 0) return false;
    const s = (this.first + this.used) % this.slots;
    r.buf.copy(this.buf, at, r.offset, r.offset + r.caplen);
    this.offset[s] = at;
    this.caplen[s] = r.caplen;
    this.origlen[s] = r.origlen;
    this.sec[s] = r.sec;
    this.nsec[s] = r.nsec;
    this.port[s] = r.port;
    this.flags[s] = r.flags;
    this.used++;
    this.wr = at + r.caplen;
    return true;
  }

  /** Hands out up to `max` waiting records; `slotOf(k)` is the slot of the k-th of them. */
  take(max: number): number {
    const n = Math.min(max, this.waiting);
    this.lastTake = this.taken;
    this.taken += n;
    return n;
  }

  /** Slot of the k-th record handed out by the last `take`. */
  slotOf(k: number): number {
    return (this.first + this.lastTake + k) % this.slots;
  }

  /** Frees everything handed out. */
  release(): void {
    this.first = (this.first + this.taken) % this.slots;
    this.used -= this.taken;
    this.taken = 0;
    this.lastTake = 0;
    if (this.used === 0) this.wr = 0;
  }

  /** True when the newest bytes sit before the oldest (the writer went round). */
  private wrapped(): boolean {
    const newest = (this.first + this.used - 1) % this.slots;
    return this.offset[newest] < this.offset[this.first];
  }

  /** Where `len` bytes fit, or −1. */
  private place(len: number): number {
    const size = this.buf.length;
    if (this.used === 0) return len <= size ? 0 : -1;
    const start = this.offset[this.first];
    if (this.wrapped()) return start - this.wr >= len ? this.wr : -1;
    if (size - this.wr >= len) return this.wr;
    return start >= len ? 0 : -1;
  }
}
