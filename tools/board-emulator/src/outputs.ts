/**
 * Where the emulated board's monitor ports send their copies: a pcap file,
 * or frames out of a (veth) interface.
 */
import { closeSocket, openPacketSendSocket, sendBatch } from '@netmirror/native';
import { LinkType } from '@netmirror/packet';
import { PcapWriter } from '@netmirror/pcap';

export interface PortOutput {
  write(frame: Buffer, tsSec: number, tsNsec: number): void;
  /** Copies written, or refused by the interface. */
  readonly frames: number;
  readonly failed: number;
  flush(): void;
  close(): void;
}

/** `pcap:PATH` (nanosecond pcap) or `iface:NAME`. */
export function openPortOutput(spec: string): PortOutput {
  if (spec.startsWith('pcap:')) return new PcapOutput(spec.slice(5));
  if (spec.startsWith('iface:')) return new InterfaceOutput(spec.slice(6));
  throw new Error(`output "${spec}": use pcap:PATH or iface:NAME`);
}

class PcapOutput implements PortOutput {
  private readonly writer: PcapWriter;
  failed = 0;

  constructor(path: string) {
    this.writer = new PcapWriter(path, { linkType: LinkType.ETHERNET, nanosecond: true });
    this.writer.flush(); // a readable (empty) capture from the start
  }

  get frames(): number {
    return this.writer.frames;
  }

  write(frame: Buffer, tsSec: number, tsNsec: number): void {
    this.writer.writeFrame(frame, 0, frame.length, frame.length, tsSec, tsNsec);
  }

  flush(): void {
    this.writer.flush();
  }

  close(): void {
    this.writer.close();
  }
}

class InterfaceOutput implements PortOutput {
  private readonly fd: number;
  private readonly sockaddr: Buffer;
  private readonly off = new Int32Array(1);
  private readonly len = new Int32Array(1);
  frames = 0;
  failed = 0;

  constructor(ifname: string) {
    ({ fd: this.fd, sockaddr: this.sockaddr } = openPacketSendSocket(ifname, { sndbuf: 4 << 20 }));
  }

  write(frame: Buffer): void {
    this.len[0] = frame.length;
    const sent = sendBatch(this.fd, this.sockaddr, frame, this.off, this.len, 0, 1);
    if (sent === 1) this.frames++;
    else this.failed++;
  }

  flush(): void {}

  close(): void {
    closeSocket(this.fd);
  }
}
