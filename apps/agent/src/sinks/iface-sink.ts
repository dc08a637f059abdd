import { openPacketSendSocket } from '@netmirror/native';
import { LinkType } from '@netmirror/packet';
import { DatagramSink } from './datagram-sink.js';
import type { FrameCopy, SinkQueueOptions, SourceInterface } from './sink.js';

/**
 * `iface:IFNAME`: each copy goes out of a monitor port exactly as it was
 * captured (a soft tap, like daemonlogger -o or tc mirred), sent in batches
 * by sendmmsg() on an AF_PACKET socket. A copy larger than the port's MTU is
 * refused by the kernel and counted as failed (EMSGSIZE): give monitor ports
 * the largest MTU the traffic has.
 */
export class IfaceSink extends DatagramSink {
  constructor(
    name: string,
    uri: string,
    readonly ifname: string,
    options: SinkQueueOptions = {},
  ) {
    super(name, uri, options);
  }

  async open(_interfaces: readonly SourceInterface[]): Promise<void> {
    const { fd, sockaddr } = openPacketSendSocket(this.ifname, { sndbuf: 4 << 20 });
    this.fd = fd;
    this.sockaddr = sockaddr;
  }

  protected maxEncodedLength(f: FrameCopy): number {
    return f.linkType === LinkType.ETHERNET ? f.caplen : -1;
  }

  protected encode(f: FrameCopy, _dst: Buffer, at: number): number {
    this.copyFrame(f, at, f.caplen);
    return f.caplen;
  }
}
