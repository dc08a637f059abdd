/**
 * The random bytes payloads are copied from, with stride-2 suffix sums of
 * its big-endian 16-bit words so the checksum contribution of any copied
 * range costs O(1) instead of a pass over the bytes.
 */
import type { Prng } from './prng.js';

export const RND_SIZE = 1 << 16;

export class RandomBlock {
  readonly bytes: Buffer;
  /** suffix[i] = word(i) + word(i + 2) + ... where word(i) = bytes[i] << 8 | bytes[i + 1]. */
  private readonly suffix: Float64Array;

  constructor(rng: Prng) {
    this.bytes = Buffer.alloc(RND_SIZE);
    for (let i = 0; i < RND_SIZE; i += 4) this.bytes.writeUInt32BE(rng.u32(), i);
    const b = this.bytes;
    this.suffix = new Float64Array(RND_SIZE + 2);
    for (let i = RND_SIZE - 1; i >= 0; i--) {
      this.suffix[i] = ((b[i] << 8) | (i + 1 < RND_SIZE ? b[i + 1] : 0)) + this.suffix[i + 2];
    }
  }

  /**
   * The unfolded checksum sum of `bytes[o, o + len)` as if the range began at
   * an even offset of the checksummed data (an odd last byte is the high byte).
   */
  sum(o: number, len: number): number {
    const even = len & ~1;
    let s = this.suffix[o] - this.suffix[o + even];
    if ((len & 1) !== 0) s += this.bytes[o + len - 1] << 8;
    return s;
  }
}
