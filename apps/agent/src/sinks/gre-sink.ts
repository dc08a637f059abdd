import {
  encodeErspan2,
  encodeErspan3,
  encodeGre,
  erspan3Timestamp,
  ErspanGranularity,
  ERSPAN2_HEADER_LEN,
  ERSPAN3_HEADER_LEN,
  ERSPAN_GRE_LEN,
  greHeaderLength,
} from '@netmirror/encap';
import type { Erspan2Options, Erspan3Options, GreOptions } from '@netmirror/encap';
import { attachSocketFilter, DROP_ALL_FILTER, openRawIpSocket } from '@netmirror/native';
import { LinkType } from '@netmirror/packet';
import { IpDatagramSink } from './datagram-sink.js';
import { innerLimit } from './mtu.js';
import type { FrameCopy, SinkQueueOptions } from './sink.js';

const IPPROTO_GRE = 47;
/** pcapng epb_flags bits 0-1: 1 inbound, 2 outbound (ERSPAN III's D bit). */
const EPB_DIRECTION_MASK = 0x3;
const EPB_OUTBOUND = 2;

export interface TunnelOptions extends SinkQueueOptions {
  /** Largest outer IP packet; larger copies are cut to fit (0 = no limit). */
  mtu: number;
}

/**
 * GRE-family destinations share a raw IP socket of protocol 47 (the kernel
 * adds the IPv4/IPv6 header; there is no GRE device here or needed) and a
 * per-destination sequence number.
 */
abstract class GreFamilySink extends IpDatagramSink {
  protected seq = 0;

  constructor(
    name: string,
    uri: string,
    host: string,
    protected readonly options: TunnelOptions,
    private readonly headerLength: number,
  ) {
    super(name, uri, { host, port: 0 }, options);
  }

  protected openSocket(family: 4 | 6): number {
    const fd = openRawIpSocket(family, IPPROTO_GRE);
    // Never read: keep the kernel from queueing every GRE packet the host receives.
    attachSocketFilter(fd, DROP_ALL_FILTER);
    return fd;
  }

  protected maxEncodedLength(f: FrameCopy): number {
    return f.linkType === LinkType.ETHERNET ? this.headerLength + f.caplen : -1;
  }

  /** The copy's length after the MTU cut. */
  protected fit(f: FrameCopy): number {
    return innerLimit(this, f.caplen, this.options.mtu, this.family, this.headerLength);
  }

  /** Copies the frame behind a header-only encoding of `total` bytes; returns `total`. */
  protected withFrame(f: FrameCopy, at: number, len: number, total: number): number {
    this.copyFrame(f, at + total - len, len);
    return total;
  }

  /** Next sequence number (uint32, wrapping). */
  protected nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    return s;
  }
}

/** `gre://HOST[?key=N]`: GRE with transparent Ethernet bridging (0x6558), with sequence numbers. */
export class GreSink extends GreFamilySink {
  private readonly gre: GreOptions;

  constructor(
    name: string,
    uri: string,
    host: string,
    key: number | undefined,
    options: TunnelOptions,
  ) {
    const gre: GreOptions = { key, sequence: true };
    super(name, uri, host, options, greHeaderLength(gre));
    this.gre = gre;
  }

  protected encode(f: FrameCopy, dst: Buffer, at: number): number {
    const len = this.fit(f);
    return this.withFrame(
      f,
      at,
      len,
      encodeGre(dst, at, f.src, f.offset, len, this.gre, this.nextSeq(), false),
    );
  }
}

/** `erspan2://HOST?session=N`: ERSPAN type II (GRE 0x88BE, sequence numbers). */
export class Erspan2Sink extends GreFamilySink {
  private readonly header: Erspan2Options;

  constructor(name: string, uri: string, host: string, session: number, options: TunnelOptions) {
    super(name, uri, host, options, ERSPAN_GRE_LEN + ERSPAN2_HEADER_LEN);
    this.header = { sessionId: session, vlan: 0, cos: 0, truncated: false };
  }

  protected encode(f: FrameCopy, dst: Buffer, at: number): number {
    const len = this.fit(f);
    const h = this.header;
    const v = f.view;
    h.vlan = v.vlanDepth > 0 ? v.vlanIds[0] : 0;
    h.cos = v.vlanDepth > 0 ? v.vlanPcps[0] : 0;
    h.truncated = len < f.wirelen;
    return this.withFrame(
      f,
      at,
      len,
      encodeErspan2(dst, at, f.src, f.offset, len, h, this.nextSeq(), false),
    );
  }
}

/**
 * `erspan3://HOST?session=N`: ERSPAN type III (GRE 0x22EB) with the frame's
 * capture timestamp in 100 µs units since the epoch, modulo 2^32 (the
 * granularity Wireshark and Cisco default to).
 */
export class Erspan3Sink extends GreFamilySink {
  private readonly header: Erspan3Options;

  constructor(name: string, uri: string, host: string, session: number, options: TunnelOptions) {
    super(name, uri, host, options, ERSPAN_GRE_LEN + ERSPAN3_HEADER_LEN);
    this.header = {
      sessionId: session,
      vlan: 0,
      cos: 0,
      truncated: false,
      granularity: ErspanGranularity.US_100,
    };
  }

  protected encode(f: FrameCopy, dst: Buffer, at: number): number {
    const len = this.fit(f);
    const h = this.header;
    const v = f.view;
    h.vlan = v.vlanDepth > 0 ? v.vlanIds[0] : 0;
    h.cos = v.vlanDepth > 0 ? v.vlanPcps[0] : 0;
    h.truncated = len < f.wirelen;
    h.egress = (f.flags & EPB_DIRECTION_MASK) === EPB_OUTBOUND;
    const ts = erspan3Timestamp(f.tsSec, f.tsNsec, ErspanGranularity.US_100);
    return this.withFrame(
      f,
      at,
      len,
      encodeErspan3(dst, at, f.src, f.offset, len, h, this.nextSeq(), ts, 0, false),
    );
  }
}
