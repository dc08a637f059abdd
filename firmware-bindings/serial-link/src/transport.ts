// The byte pipe the link runs over. A serial port is one; the wrappers
// (faults, pacing) and the tests' in-memory pair are others.

/** A full-duplex byte stream. Writes are ordered; chunk boundaries mean nothing. */
export interface ByteTransport {
  /** Queues bytes for sending; never blocks. Ignored once closed. */
  write(data: Buffer): void;
  /** Registers a listener for received bytes. */
  onData(cb: (chunk: Buffer) => void): void;
  /** Registers a listener for the end of the stream (`err` when it broke rather than closed). */
  onClose(cb: (err?: Error) => void): void;
  /** Closes the stream; resolves once closed. Idempotent. */
  close(): Promise<void>;
}

/** The listeners of one transport event, called in registration order. */
export class Listeners<T extends unknown[]> {
  private readonly list: ((...args: T) => void)[] = [];

  add(cb: (...args: T) => void): void {
    this.list.push(cb);
  }

  emit(...args: T): void {
    for (const cb of this.list) cb(...args);
  }
}

/**
 * Close listeners that run once: whichever of a close(), an error or the
 * far end going away comes first reports; the rest are quiet.
 */
export class CloseSignal {
  private readonly listeners = new Listeners<[Error | undefined]>();
  private done = false;

  get closed(): boolean {
    return this.done;
  }

  add(cb: (err?: Error) => void): void {
    this.listeners.add(cb);
  }

  fire(err?: Error): void {
    if (this.done) return;
    this.done = true;
    this.listeners.emit(err);
  }
}
