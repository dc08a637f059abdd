import { closeSync, openSync, readSync } from 'node:fs';

/** Default size of the reused read buffer. */
export const DEFAULT_CHUNK_SIZE = 4 << 20;

/**
 * A file read sequentially in big chunks into one reused buffer.
 *
 * Bytes `buf[pos .. end)` are loaded and not yet consumed; `base` is the file
 * offset of `buf[0]`. `fill()` and `skip()` may move the unconsumed bytes to
 * the start of the buffer, which invalidates offsets handed out earlier: the
 * readers call them only while their batch is still empty.
 */
export class ChunkedInput {
  readonly buf: Buffer;
  readonly dv: DataView;
  pos = 0;
  end = 0;
  base = 0;
  eof = false;
  private readonly fd: number;
  private readonly ownsFd: boolean;

  constructor(pathOrFd: string | number, chunkSize = DEFAULT_CHUNK_SIZE) {
    if (typeof pathOrFd === 'number') {
      this.fd = pathOrFd;
      this.ownsFd = false;
    } else {
      this.fd = openSync(pathOrFd, 'r');
      this.ownsFd = true;
    }
    // own ArrayBuffer, so DataView offsets equal buffer offsets
    this.buf = Buffer.from(new ArrayBuffer(chunkSize));
    this.dv = new DataView(this.buf.buffer, 0, chunkSize);
  }

  /** File offset of buffer position p. */
  at(p: number): number {
    return this.base + p;
  }

  /** File offset of the next unconsumed byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /**
   * Makes at least n (<= buf.length) bytes available at `pos`, compacting and
   * reading as much as fits. Returns false when the file ends first.
   */
  fill(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end < n && !this.eof) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (got === 0) this.eof = true;
      else this.end += got;
    }
    return this.end >= n;
  }

  /** Consumes n bytes, reading through them if they are not loaded. Returns false at EOF. */
  skip(n: number): boolean {
    const avail = this.end - this.pos;
    if (avail >= n) {
      this.pos += n;
      return true;
    }
    let remaining = n - avail;
    this.base += this.end;
    this.pos = this.end = 0;
    while (remaining > 0) {
      if (this.eof) return false;
      const got = readSync(this.fd, this.buf, 0, this.buf.length, null);
      if (got === 0) {
        this.eof = true;
        return false;
      }
      if (got > remaining) {
        this.pos = remaining;
        this.end = got;
        return true;
      }
      this.base += got;
      remaining -= got;
    }
    return true;
  }

  close(): void {
    if (this.ownsFd) closeSync(this.fd);
  }
}
