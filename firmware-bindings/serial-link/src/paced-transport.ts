// Models a UART's speed: bytes go through no faster than the baud rate
// allows (8N1: 10 bit times a byte), each direction on its own, as on a
// real full-duplex line. A pty pair, which has no baud rate, plus this is a
// serial line for the board emulator.
import { CloseSignal, Listeners, type ByteTransport } from './transport.js';

export interface PacedOptions {
  /** How often queued bytes are let through, at the least (default 2 ms). */
  sliceMs?: number;
}

/** Bit times per byte on an 8N1 line: start, 8 data, stop. */
export const BITS_PER_BYTE = 10;

/**
 * One direction of the line. Time is virtual: a byte is due `byteMs` after
 * the one before it, counted from when the line last went busy, so late
 * timers deliver more bytes at once rather than slowing the line down.
 */
class Pacer {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  /** When the current busy period began, and how many bytes it has let through. */
  private since = 0;
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly byteMs: number,
    private readonly sliceMs: number,
    private readonly deliver: (data: Buffer) => void,
  ) {}

  push(data: Buffer): void {
    if (data.length === 0) return;
    if (this.queued === 0) {
      // The line was idle: its clock restarts now.
      this.since = performance.now();
      this.sent = 0;
    }
    this.queue.push(data);
    this.queued += data.length;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queued = 0;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queued === 0) return;
    const nextDue = this.since + (this.sent + 1) * this.byteMs;
    const wait = Math.max(this.sliceMs, nextDue - performance.now());
    this.timer = setTimeout(() => this.tick(), wait);
  }

  private tick(): void {
    this.timer = undefined;
    const due = Math.floor((performance.now() - this.since) / this.byteMs) - this.sent;
    const n = Math.min(due, this.queued);
    if (n > 0) {
      this.sent += n;
      this.deliver(this.take(n));
    }
    this.schedule();
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const head = this.queue[0];
      const k = Math.min(head.length, n - at);
      head.copy(out, at, 0, k);
      at += k;
      if (k === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(k);
    }
    this.queued -= n;
    return out;
  }
}

/** Wraps a ByteTransport so both directions run at `baudRate`. */
export class PacedTransport implements ByteTransport {
  private readonly data = new Listeners<[Buffer]>();
  private readonly closed = new CloseSignal();
  private readonly out: Pacer;
  private readonly in: Pacer;

  constructor(
    private readonly inner: ByteTransport,
    baudRate: number,
    options: PacedOptions = {},
  ) {
    if (!(baudRate > 0)) throw new RangeError(`baud rate must be positive, not ${baudRate}`);
    const byteMs = (BITS_PER_BYTE * 1000) / baudRate;
    const sliceMs = options.sliceMs ?? 2;
    this.out = new Pacer(byteMs, sliceMs, (d) => inner.write(d));
    this.in = new Pacer(byteMs, sliceMs, (d) => this.data.emit(d));
    inner.onData((chunk) => this.in.push(chunk));
    inner.onClose((err) => {
      this.stopPacers();
      this.closed.fire(err);
    });
  }

  write(data: Buffer): void {
    if (!this.closed.closed) this.out.push(data);
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.data.add(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    this.closed.add(cb);
  }

  /** Closes at once: bytes still queued for either direction are dropped. */
  async close(): Promise<void> {
    this.stopPacers();
    await this.inner.close();
    this.closed.fire();
  }

  private stopPacers(): void {
    this.out.stop();
    this.in.stop();
  }
}
