import { encodeVxlan, VXLAN_HEADER_LEN, vxlanSourcePort } from '@netmirror/encap';
import {
  attachSocketFilter,
  DROP_ALL_FILTER,
  openRawIpSocket,
  setSocketOption,
  SocketOption,
} from '@netmirror/native';
import { flowHash, LinkType } from '@netmirror/packet';
import type { Endpoint } from './datagram-sink.js';
import { IpDatagramSink } from './datagram-sink.js';
import type { FrameCopy, SinkQueueOptions } from './sink.js';
import { innerLimit } from './mtu.js';

const UDP_HEADER_LEN = 8;
const IPPROTO_UDP = 17;

export interface VxlanOptions extends SinkQueueOptions {
  vni: number;
  /** Largest outer IP packet; larger copies are cut to fit (0 = no limit). */
  mtu: number;
}

/**
 * `vxlan://HOST[:PORT]?vni=N`: RFC 7348 over UDP, as AWS Traffic Mirroring
 * sends it: the outer UDP source port comes from the inner flow's hash, so
 * each flow's copies keep one ECMP path. Per-copy source ports need our own
 * UDP header, so this sends over a raw IP socket of protocol UDP (the kernel
 * adds the IP header). The UDP checksum is 0 over IPv4 (RFC 7348 §5); over
 * IPv6 the kernel fills it in (IPV6_CHECKSUM).
 */
export class VxlanSink extends IpDatagramSink {
  constructor(
    name: string,
    uri: string,
    endpoint: Endpoint,
    private readonly options: VxlanOptions,
  ) {
    super(name, uri, { ...endpoint, port: 0 }, options);
    this.dstPort = endpoint.port;
  }

  private readonly dstPort: number;

  protected openSocket(family: 4 | 6): number {
    const fd = openRawIpSocket(family, IPPROTO_UDP);
    // A raw UDP socket would also receive a copy of every UDP packet the host gets.
    attachSocketFilter(fd, DROP_ALL_FILTER);
    if (family === 6) setSocketOption(fd, SocketOption.IPV6_CHECKSUM, 6);
    return fd;
  }

  protected maxEncodedLength(f: FrameCopy): number {
    return f.linkType === LinkType.ETHERNET ? UDP_HEADER_LEN + VXLAN_HEADER_LEN + f.caplen : -1;
  }

  protected encode(f: FrameCopy, dst: Buffer, at: number): number {
    const caplen = innerLimit(
      this,
      f.caplen,
      this.options.mtu,
      this.family,
      UDP_HEADER_LEN + VXLAN_HEADER_LEN,
    );
    const n = encodeVxlan(
      dst,
      at + UDP_HEADER_LEN,
      f.src,
      f.offset,
      caplen,
      this.options.vni,
      false,
    );
    this.copyFrame(f, at + UDP_HEADER_LEN + VXLAN_HEADER_LEN, caplen);
    const len = UDP_HEADER_LEN + n;
    const sport = vxlanSourcePort(flowHash(f.view));
    dst[at] = sport >>> 8;
    dst[at + 1] = sport & 0xff;
    dst[at + 2] = this.dstPort >>> 8;
    dst[at + 3] = this.dstPort & 0xff;
    dst[at + 4] = len >>> 8;
    dst[at + 5] = len & 0xff;
    dst[at + 6] = 0;
    dst[at + 7] = 0;
    return len;
  }
}
