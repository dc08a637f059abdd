/**
 * Drops frames identical, byte for byte, to one seen within a time window
 * (the duplicates a SPAN of both directions or two overlapping taps produce).
 * Frames are remembered by length and two independent 32-bit hashes of their
 * bytes (a false match needs a 64-bit collision within the window) in a
 * fixed-size open-addressing table; time is the frames' own timestamps, so a
 * replayed file deduplicates exactly as the live traffic did.
 */
export class Deduplicator {
  private readonly h1: Int32Array;
  private readonly h2: Int32Array;
  private readonly len: Int32Array;
  private readonly seen: Float64Array;
  private readonly mask: number;
  private readonly windowNs: number;

  constructor(windowMs: number, slots = 1 << 16) {
    this.h1 = new Int32Array(slots);
    this.h2 = new Int32Array(slots);
    this.len = new Int32Array(slots);
    this.seen = new Float64Array(slots).fill(-Infinity);
    this.mask = slots - 1;
    this.windowNs = windowMs * 1e6;
  }

  /** True when the frame repeats one seen within the window; remembers it either way. */
  isDuplicate(b: Uint8Array, at: number, caplen: number, tsSec: number, tsNsec: number): boolean {
    let a = 0x811c9dc5 ^ caplen;
    let c = 0x2545f491;
    const end = at + caplen;
    for (let i = at; i < end; i++) {
      a = Math.imul(a ^ b[i], 0x01000193);
      c = Math.imul(c + b[i], 0x5bd1e995) ^ (c >>> 15);
    }
    // Nanosecond time relative to an epoch second keeps doubles exact for ~104 days.
    const now = (tsSec % 9_000_000) * 1e9 + tsNsec;
    let slot = (a ^ (a >>> 16)) & this.mask;
    let victim = slot;
    for (let probe = 0; probe < 4; probe++, slot = (slot + 1) & this.mask) {
      const fresh = now - this.seen[slot] <= this.windowNs && now >= this.seen[slot];
      if (fresh && this.h1[slot] === a && this.h2[slot] === c && this.len[slot] === caplen) {
        this.seen[slot] = now;
        return true;
      }
      if (!fresh || this.seen[slot] < this.seen[victim]) victim = slot;
      if (!fresh) break;
    }
    this.h1[victim] = a;
    this.h2[victim] = c;
    this.len[victim] = caplen;
    this.seen[victim] = now;
    return false;
  }
}
