// Two ByteTransports wired to each other in memory, for tests that need no
// real device. Bytes arrive asynchronously, as from a real port.
import { CloseSignal, Listeners, type ByteTransport } from '../transport.js';

class MemoryEnd implements ByteTransport {
  peer: MemoryEnd | undefined;
  readonly data = new Listeners<[Buffer]>();
  readonly closed = new CloseSignal();

  write(data: Buffer): void {
    const peer = this.peer;
    if (this.closed.closed || !peer) return;
    const copy = Buffer.from(data);
    setImmediate(() => {
      if (!peer.closed.closed) peer.data.emit(copy);
    });
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.data.add(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    this.closed.add(cb);
  }

  async close(): Promise<void> {
    this.closed.fire();
    this.peer?.closed.fire();
  }
}

/** A connected pair: what one end writes, the other receives. */
export function createMemoryPair(): [ByteTransport, ByteTransport] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
