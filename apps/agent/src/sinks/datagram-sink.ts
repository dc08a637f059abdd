import { closeSocket, errnoName, makeSockaddr, sendBatchAsync } from '@netmirror/native';
import { lookup } from 'node:dns/promises';
import type { SinkQueueOptions, SourceInterface } from './sink.js';
import { Sink } from './sink.js';

/** Copies handed to one background send. */
const MESSAGES_PER_SEND = 4096;

/** Where a network destination sends, after name resolution. */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * A destination reached by datagrams (UDP, raw IP, or whole frames out of an
 * interface). The queue is drained by sendmmsg() on a worker thread (up to
 * 1,024 copies a system call, straight from the queue's buffer, one run in
 * flight), so the kernel's send path never runs on the capture thread; the
 * queue filling up is what drops. `open` sets `fd` and `sockaddr`.
 */
export abstract class DatagramSink extends Sink {
  protected fd = -1;
  protected sockaddr: Buffer = Buffer.alloc(0);
  private sending = false;

  protected drain(): void {
    const q = this.queue;
    if (this.sending || q.count === 0 || this.fd < 0) return;
    const n = Math.min(q.contiguousMessages(), MESSAGES_PER_SEND);
    const first = q.head;
    this.sending = true;
    sendBatchAsync(this.fd, this.sockaddr, q.buf, q.msgOff, q.msgLen, first, n, (sent, errno) => {
      this.sending = false;
      if (sent > 0) {
        let bytes = 0;
        for (let i = 0; i < sent; i++) bytes += q.msgLen[first + i];
        this.sent(sent, bytes);
      }
      // The copy the kernel refused (e.g. EMSGSIZE over the path MTU) is counted; the rest go on.
      if (errno !== 0) this.failed(1, `${this.uri}: ${errnoName(errno)}`);
      this.drain();
    });
  }

  protected async release(): Promise<void> {
    if (this.fd >= 0) closeSocket(this.fd);
    this.fd = -1;
  }
}

/** A datagram destination at an IP address or host name (resolved once, at open). */
export abstract class IpDatagramSink extends DatagramSink {
  protected family: 4 | 6 = 4;

  constructor(
    name: string,
    uri: string,
    protected readonly endpoint: Endpoint,
    options: SinkQueueOptions = {},
  ) {
    super(name, uri, options);
  }

  /** Opens the socket for the resolved address family. */
  protected abstract openSocket(family: 4 | 6): number;

  async open(_interfaces: readonly SourceInterface[]): Promise<void> {
    const { address, family } = await lookup(this.endpoint.host);
    this.family = family === 6 ? 6 : 4;
    // Raw IP sockets take no port: the kernel ignores it, so pass 0.
    this.sockaddr = makeSockaddr(address, this.endpoint.port);
    this.fd = this.openSocket(this.family);
  }
}
