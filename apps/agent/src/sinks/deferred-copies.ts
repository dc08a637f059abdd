import { copyBatch } from '@netmirror/native';

/**
 * Frame copies into a queue buffer, collected while a batch is processed and
 * done together in one native call (`flush`) before the queue is written.
 * The source must stay valid until then: the batch's buffer does; a scratch
 * buffer reused per frame does not, and is copied at once instead.
 */
export class DeferredCopies {
  private src: Uint8Array | null = null;
  private readonly srcOff: Int32Array;
  private readonly dstOff: Int32Array;
  private readonly len: Int32Array;
  private count = 0;

  constructor(
    private readonly dst: Buffer,
    private readonly capacity = 4096,
  ) {
    this.srcOff = new Int32Array(capacity);
    this.dstOff = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
  }

  /** Copies `src[srcOff .. +len)` to `dst[dstOff ..]`, now or at the next flush. */
  add(src: Uint8Array, srcOff: number, dstOff: number, len: number, stable: boolean): void {
    if (!stable) {
      copyBatchOne(src, srcOff, this.dst, dstOff, len);
      return;
    }
    if (src !== this.src || this.count === this.capacity) {
      this.flush();
      this.src = src;
    }
    const i = this.count++;
    this.srcOff[i] = srcOff;
    this.dstOff[i] = dstOff;
    this.len[i] = len;
  }

  /** Performs every pending copy. */
  flush(): void {
    if (this.count > 0 && this.src !== null) {
      copyBatch(this.src, this.srcOff, this.dst, this.dstOff, this.len, this.count);
    }
    this.count = 0;
    this.src = null;
  }
}

const one = { s: new Int32Array(1), d: new Int32Array(1), l: new Int32Array(1) };

function copyBatchOne(
  src: Uint8Array,
  srcOff: number,
  dst: Buffer,
  dstOff: number,
  len: number,
): void {
  one.s[0] = srcOff;
  one.d[0] = dstOff;
  one.l[0] = len;
  copyBatch(src, one.s, dst, one.d, one.l, 1);
}
