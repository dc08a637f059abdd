// The board's memory of its last answers (PROTOCOL.md, Retries and
// idempotence): per seq, the request's op and body CRC and the response frame, for
// the last `capacity` distinct seqs. A retransmitted request is answered
// from here instead of being executed again.

interface Entry {
  op: number;
  bodyCrc: number;
  frame: Buffer;
}

export class ReplayCache {
  // A Map iterates in insertion order: the first key is the oldest.
  private readonly entries = new Map<number, Entry>();

  constructor(readonly capacity = 64) {}

  get size(): number {
    return this.entries.size;
  }

  /** The response frame remembered for this seq, op and body, if any. */
  get(seq: number, op: number, bodyCrc: number): Buffer | undefined {
    const e = this.entries.get(seq);
    return e && e.op === op && e.bodyCrc === bodyCrc ? e.frame : undefined;
  }

  remember(seq: number, op: number, bodyCrc: number, frame: Buffer): void {
    // A reused seq (the counter wrapped, the host restarted) replaces the old entry.
    this.entries.delete(seq);
    this.entries.set(seq, { op, bodyCrc, frame });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
