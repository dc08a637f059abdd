import { closeSync, fstatSync, openSync, read, readSync } from 'node:fs';

/** Default size of the reused read buffer. */
export const DEFAULT_CHUNK_SIZE = 4 << 20;

/**
 * Reads land where their destination is half a page away from the file
 * offset, modulo 4 KiB. The kernel copies page-cache data into our buffer
 * with `rep movsb`, which runs several times slower when source and
 * destination nearly coincide modulo 4 KiB ("4K aliasing"): measured here, a
 * 4 MiB readSync into offset 0 of a large Buffer took 5x longer than into
 * offset 48. Large ArrayBuffers come from malloc, 16 bytes into a page; that
 * is the bias assumed (any other just makes the placement arbitrary).
 */
const PAGE = 4096;
const BUFFER_ADDRESS_BIAS = 16;

/** Offset in a buffer at which bytes from file offset `filePos` should land. */
function landing(filePos: number, atLeast: number): number {
  const want = (((PAGE / 2 - BUFFER_ADDRESS_BIAS + filePos - atLeast) % PAGE) + PAGE) % PAGE;
  return atLeast + want;
}

/** A read of the next chunk in flight (read-ahead), into the spare buffer. */
interface Ahead {
  /** File offset it reads from; stale once a synchronous read moved past it. */
  readonly at: number;
  /** Where in the spare buffer the data lands. */
  readonly dataAt: number;
  done: boolean;
  bytes: number;
  error: Error | null;
  readonly promise: Promise<void>;
}

/**
 * A file read sequentially in big chunks into one reused buffer.
 *
 * Bytes `buf[pos .. end)` are loaded and not yet consumed; `base` is the file
 * offset of `buf[0]`. `fill()` and `skip()` may move the unconsumed bytes or
 * switch buffers, which invalidates offsets handed out earlier: the readers
 * call them only while their batch is still empty.
 *
 * With read-ahead (regular files only), the next chunk is read in the
 * background into a second buffer while the caller works on this one; the
 * caller awaits `ready()` before a read that may need it, and `fill()` then
 * switches buffers, carrying over only the unconsumed tail. A `fill()` that
 * cannot wait simply reads synchronously: read-ahead never changes results.
 */
export class ChunkedInput {
  buf: Buffer;
  dv: DataView;
  pos = 0;
  end = 0;
  base = 0;
  eof = false;
  private readonly fd: number;
  private readonly ownsFd: boolean;
  /** Invariant: file offset just after the last loaded byte (base + end). */
  private filePos = 0;
  private spare: Buffer | null = null;
  private readonly chunk: number;
  /** Room kept before read-ahead data for the carried-over tail. */
  private readonly head: number;
  private ahead: Ahead | null = null;

  constructor(pathOrFd: string | number, chunkSize = DEFAULT_CHUNK_SIZE, readAhead = false) {
    if (typeof pathOrFd === 'number') {
      this.fd = pathOrFd;
      this.ownsFd = false;
    } else {
      this.fd = openSync(pathOrFd, 'r');
      this.ownsFd = true;
    }
    this.chunk = chunkSize;
    // Positional background reads need a regular file we opened (not a pipe or a caller's fd).
    const ahead = readAhead && this.ownsFd && fstatSync(this.fd).isFile();
    this.head = ahead ? chunkSize >>> 1 : 0;
    this.buf = newBuffer(this.head + PAGE + chunkSize);
    this.dv = viewOf(this.buf);
    if (ahead) this.spare = newBuffer(this.head + PAGE + chunkSize);
  }

  /** Bytes one read brings in; the largest block a reader accepts. */
  get chunkSize(): number {
    return this.chunk;
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
   * A promise to await before the next read when a background read is in
   * flight and the loaded bytes are running low; null when reading can go on.
   */
  ready(): Promise<void> | null {
    const a = this.ahead;
    return a !== null && !a.done && this.end - this.pos < this.head ? a.promise : null;
  }

  /**
   * Makes at least n (<= chunk size) bytes available at `pos`, compacting and
   * reading as much as fits. Returns false when the file ends first.
   */
  fill(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.takeAhead() && this.end - this.pos >= n) {
      this.startAhead();
      return true;
    }
    // Move what is left to where the next read lands well (see `landing`).
    const tail = this.end - this.pos;
    const start = landing(this.filePos, tail) - tail;
    if (start !== this.pos && tail > 0) this.buf.copyWithin(start, this.pos, this.end);
    this.base = this.filePos - tail - start;
    this.pos = start;
    this.end = start + tail;
    while (this.end - this.pos < n && !this.eof) {
      const got = readSync(
        this.fd,
        this.buf,
        this.end,
        this.buf.length - this.end,
        this.spare ? this.filePos : null,
      );
      if (got === 0) this.eof = true;
      else {
        this.end += got;
        this.filePos += got;
      }
    }
    this.startAhead();
    return this.end - this.pos >= n;
  }

  /** Consumes n bytes, reading through them if they are not loaded. Returns false at EOF. */
  skip(n: number): boolean {
    for (;;) {
      const avail = this.end - this.pos;
      if (avail >= n) {
        this.pos += n;
        return true;
      }
      n -= avail;
      this.pos = this.end;
      if (!this.fill(Math.min(n, this.chunk))) return false;
    }
  }

  close(): void {
    if (this.ownsFd) closeSync(this.fd);
  }

  /** Switches to the read-ahead buffer if its read is done and still current. */
  private takeAhead(): boolean {
    const a = this.ahead;
    if (a === null || !a.done || this.spare === null) return false;
    this.ahead = null;
    if (a.at !== this.filePos) return false; // a synchronous read overtook it
    if (a.error) throw a.error;
    const tail = this.end - this.pos;
    if (tail > a.dataAt) return false; // rare: an unusually large record; read synchronously
    const next = this.spare;
    this.buf.copy(next, a.dataAt - tail, this.pos, this.end);
    this.spare = this.buf;
    this.buf = next;
    this.dv = viewOf(next);
    this.base = this.filePos - a.dataAt;
    this.pos = a.dataAt - tail;
    this.end = a.dataAt + a.bytes;
    this.filePos += a.bytes;
    if (a.bytes === 0) this.eof = true;
    return true;
  }

  /** Starts reading the next chunk into the spare buffer, if there is one and it is free. */
  private startAhead(): void {
    if (this.spare === null || this.eof || (this.ahead !== null && !this.ahead.done)) return;
    const target = this.spare;
    let finish: () => void = () => {};
    const ahead: Ahead = {
      at: this.filePos,
      dataAt: landing(this.filePos, this.head),
      done: false,
      bytes: 0,
      error: null,
      promise: new Promise<void>((resolve) => (finish = resolve)),
    };
    this.ahead = ahead;
    read(this.fd, target, ahead.dataAt, this.chunk, ahead.at, (err, bytes) => {
      ahead.done = true;
      ahead.bytes = bytes ?? 0;
      ahead.error = err;
      finish();
    });
  }
}

function newBuffer(size: number): Buffer {
  // own ArrayBuffer, so DataView offsets equal buffer offsets
  return Buffer.from(new ArrayBuffer(size));
}

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, 0, buf.length);
}
