import { close, openSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import type { SinkQueueOptions } from './sink.js';
import { Sink } from './sink.js';

const closeAsync = promisify(close);

/** Largest write(): big enough to be few calls, small enough to keep the page cache streaming. */
const WRITE_RUN_BYTES = 1 << 20;

/**
 * A destination that appends records to a file: the queue's contiguous runs
 * go out in single asynchronous write() calls, one in flight at a time, so a
 * slow disk fills this queue and no other.
 */
export abstract class FileSink extends Sink {
  protected fd = -1;
  /** Bytes in the current file so far (header included). */
  protected fileBytes = 0;
  private writing = false;
  private headerBytes = 0;

  constructor(
    name: string,
    uri: string,
    public path: string,
    options: SinkQueueOptions = {},
  ) {
    super(name, uri, options);
  }

  /** Creates (truncates) the file at `path` and writes its header synchronously. */
  protected openFile(header: Buffer): void {
    this.fd = openSync(this.path, 'w');
    writeSync(this.fd, header);
    this.headerBytes = header.length;
    this.fileBytes = header.length;
  }

  /**
   * Bytes the current file may still take before the sink moves on to a new
   * one; 0 asks for `rotate()` before the next write. Plain files never rotate.
   */
  protected roomInFile(): number {
    return Infinity;
  }

  /** Closes the current file and opens the next; only rotating sinks override it. */
  protected rotate(): void {
    throw new Error(`${this.uri}: this destination does not rotate files`);
  }

  /**
   * Messages starting over at the queue's front go where the kernel's copy
   * into the page cache runs half a page away from the file offset: copies
   * whose source and destination nearly coincide modulo 4 KiB (4K aliasing)
   * were measured 4-5x slower here. Large buffers start 16 bytes into a page.
   */
  protected override queueStartOffset(): number {
    const fileOffset = this.headerBytes + this.queuedBytes;
    return (((2048 - 16 + fileOffset) % 4096) + 4096) % 4096;
  }

  /** Appends bytes outside the queue (trailers at close); the queue must be empty. */
  protected appendSync(bytes: Buffer): void {
    writeSync(this.fd, bytes);
  }

  protected drain(): void {
    if (this.writing || this.queue.count === 0 || this.fd < 0) return;
    let room = this.roomInFile();
    if (room <= 0) {
      this.rotate();
      room = this.roomInFile();
    }
    const q = this.queue;
    const start = q.msgOff[q.head];
    // A run ends where the file is full (its first message always goes: a
    // message larger than a whole file still has to be written somewhere).
    const { messages, end } = q.contiguousRun(Math.min(WRITE_RUN_BYTES, room));
    this.writing = true;
    this.writeRun(start, end, messages, end - start);
  }

  private writeRun(from: number, end: number, messages: number, total: number): void {
    write(this.fd, this.queue.buf, from, end - from, null, (err, written) => {
      if (err) {
        this.writing = false;
        this.failed(messages, `${this.path}: ${err.message}`);
      } else if (from + written < end) {
        this.writeRun(from + written, end, messages, total); // short write: finish the run
        return;
      } else {
        this.writing = false;
        this.fileBytes += total;
        this.sent(messages, total);
      }
      this.drain();
    });
  }

  protected async release(): Promise<void> {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      await closeAsync(fd);
    }
  }
}
