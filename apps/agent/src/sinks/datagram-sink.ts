import {
  closeSocket,
  Errno,
  errnoName,
  makeSockaddr,
  SEND_BATCH_MAX,
  sendBatch,
} from '@netmirror/native';
import { lookup } from 'node:dns/promises';
import type { SinkQueueOptions, SourceInterface } from './sink.js';
import { Sink } from './sink.js';

/** Where a network destination sends, after name resolution. */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * A destination reached by datagrams (UDP or raw IP). The queue is drained
 * with sendmmsg(): up to SEND_BATCH_MAX copies a system call, straight from
 * the queue's buffer. A full socket buffer (EAGAIN) leaves the copies queued
 * and retries shortly; the queue filling up is what drops.
 */
export abstract class DatagramSink extends Sink {
  protected fd = -1;
  protected family: 4 | 6 = 4;
  private sockaddr: Buffer = Buffer.alloc(0);
  private retry: NodeJS.Timeout | null = null;

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

  protected drain(): void {
    const q = this.queue;
    while (q.count > 0 && this.fd >= 0) {
      const n = Math.min(q.contiguousMessages(), SEND_BATCH_MAX);
      const r = sendBatch(this.fd, this.sockaddr, q.buf, q.msgOff, q.msgLen, q.head, n);
      if (r > 0) {
        let bytes = 0;
        for (let i = 0; i < r; i++) bytes += q.msgLen[q.head + i];
        this.sent(r, bytes);
      } else if (r === -Errno.EAGAIN || r === -Errno.ENOBUFS) {
        this.scheduleRetry();
        return;
      } else {
        // This copy cannot be sent (e.g. EMSGSIZE over the path MTU): count it, go on.
        this.failed(1, `${this.uri}: ${errnoName(r)}`);
      }
    }
  }

  private scheduleRetry(): void {
    if (this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.drain();
    }, 1);
  }

  protected async release(): Promise<void> {
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    if (this.fd >= 0) closeSocket(this.fd);
    this.fd = -1;
  }
}
