import { encodeTzsp, tzspHeaderLength } from '@netmirror/encap';
import type { TzspOptions } from '@netmirror/encap';
import { openUdpSocket } from '@netmirror/native';
import { LinkType } from '@netmirror/packet';
import type { Endpoint } from './datagram-sink.js';
import { IpDatagramSink } from './datagram-sink.js';
import { innerLimit } from './mtu.js';
import type { FrameCopy, SinkQueueOptions } from './sink.js';

const UDP_HEADER_LEN = 8;

export interface TzspSinkOptions extends SinkQueueOptions {
  mtu: number;
}

/**
 * `tzsp://HOST[:PORT]`: TZSP over UDP (port 37008), as MikroTik's packet
 * sniffer streams it; a sliced copy carries its original length in a tag.
 */
export class TzspSink extends IpDatagramSink {
  private readonly tzsp: TzspOptions = {};

  constructor(
    name: string,
    uri: string,
    endpoint: Endpoint,
    private readonly options: TzspSinkOptions,
  ) {
    super(name, uri, endpoint, options);
  }

  protected openSocket(family: 4 | 6): number {
    return openUdpSocket(family, { sndbuf: 4 << 20 });
  }

  protected maxEncodedLength(f: FrameCopy): number {
    return f.linkType === LinkType.ETHERNET ? tzspHeaderLength(this.tzsp, true) + f.caplen : -1;
  }

  protected encode(f: FrameCopy, dst: Buffer, at: number): number {
    const overhead = UDP_HEADER_LEN + tzspHeaderLength(this.tzsp, true);
    const len = innerLimit(this, f.caplen, this.options.mtu, this.family, overhead);
    const total = encodeTzsp(
      dst,
      at,
      f.src,
      f.offset,
      len,
      this.tzsp,
      Math.min(f.wirelen, 0x7fff),
      false,
    );
    this.copyFrame(f, at + total - len, len);
    return total;
  }
}
