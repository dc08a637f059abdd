/**
 * Drops frames identical, byte for byte, to one seen within a time window
 * (the duplicates a SPAN of both directions or two overlapping taps produce).
 * Frames are remembered by length and two independent 32-bit hashes of their
 * bytes (a false match needs a 64-bit collision within the window) in a
 * fixed-size open-addressing table; time is the frames' own timestamps, so a
 * replayed file deduplicates exactly as the live traffic did.
 */
/** Slots looked at for one frame: its home slot and the next three. */
const PROBES = 4;

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
    const home = (a ^ (a >>> 16)) & this.mask;
    let free = -1;
    let oldest = home;
    for (let probe = 0; probe < PROBES; probe++) {
      const slot = (home + probe) & this.mask;
      const age = now - this.seen[slot];
      if (age >= 0 && age <= this.windowNs) {
        if (this.h1[slot] === a && this.h2[slot] === c && this.len[slot] === caplen) {
          this.seen[slot] = now;
          return true;
        }
        if (this.seen[slot] < this.seen[oldest]) oldest = slot;
      } else if (free < 0) {
        free = slot;
      }
    }
    // Every probe is checked before reuse: an expired slot early in the run must
    // not hide a live entry after it.
    const victim = free >= 0 ? free : oldest;
    this.h1[victim] = a;
    this.h2[victim] = c;
    this.len[victim] = caplen;
    this.seen[victim] = now;
    return false;
  }
}
