import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** Default size of a writer's staging buffer. */
export const DEFAULT_WRITE_BUFFER = 1 << 20;

/** Stores v as 32-bit little-endian at dst[at]. */
export function u32le(dst: Uint8Array, at: number, v: number): void {
  dst[at] = v;
  dst[at + 1] = v >>> 8;
  dst[at + 2] = v >>> 16;
  dst[at + 3] = v >>> 24;
}

/** Stores v as 16-bit little-endian at dst[at]. */
export function u16le(dst: Uint8Array, at: number, v: number): void {
  dst[at] = v;
  dst[at + 1] = v >>> 8;
}

/** Copies n bytes without allocating a view for the common (Buffer) case. */
export function copyBytes(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  at: number,
  n: number,
): void {
  if (n <= 32) {
    for (let i = 0; i < n; i++) dst[at + i] = src[srcOff + i];
  } else if (Buffer.isBuffer(src)) {
    src.copy(dst, at, srcOff, srcOff + n);
  } else {
    dst.set(src.subarray(srcOff, srcOff + n), at);
  }
}

/**
 * A staging buffer in front of a file descriptor: encoders write into
 * `buf` at `reserve(n)` and `commit(n)`; full buffers go out in one
 * `fs.writeSync` each.
 */
export class BufferedFileOutput {
  readonly buf: Buffer;
  len = 0;
  /** Bytes handed to the file so far (plus what is staged). */
  written = 0;
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private closed = false;

  constructor(pathOrFd: string | number, size = DEFAULT_WRITE_BUFFER) {
    if (typeof pathOrFd === 'number') {
      this.fd = pathOrFd;
      this.ownsFd = false;
    } else {
      this.fd = openSync(pathOrFd, 'w');
      this.ownsFd = true;
    }
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  /** Room for n bytes at the returned offset, or -1 when n exceeds the buffer. */
  reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) return -1;
    }
    return this.len;
  }

  commit(n: number): void {
    this.len += n;
    this.written += n;
  }

  /** Writes bytes straight through (after what is staged). */
  writeRaw(src: Uint8Array, off = 0, n = src.length - off): void {
    if (this.len + n <= this.buf.length) {
      copyBytes(src, off, this.buf, this.len, n);
      this.commit(n);
      return;
    }
    this.flush();
    this.writeAll(src, off, n);
    this.written += n;
  }

  flush(): void {
    if (this.len > 0) this.writeAll(this.buf, 0, this.len);
    this.len = 0;
  }

  private writeAll(src: Uint8Array, off: number, n: number): void {
    while (n > 0) {
      const w = writeSync(this.fd, src, off, n);
      off += w;
      n -= w;
    }
  }

  /** Flushes; closes the file if this opened it. `sync` also fsyncs. */
  close(sync = false): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (sync) fsyncSync(this.fd);
    if (this.ownsFd) closeSync(this.fd);
  }
}
