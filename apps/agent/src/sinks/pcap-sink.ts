import { pcapFileHeader, PCAP_RECORD_HEADER_LEN, writePcapRecord } from '@netmirror/pcap';
import { FileSink } from './file-sink.js';
import type { FrameCopy, SourceInterface } from './sink.js';

/**
 * `pcap:PATH`: a classic pcap file with nanosecond timestamps. pcap has one
 * link type per file; frames from an interface of another link type are
 * counted as unsupported (use pcapng for mixed sources).
 */
export class PcapSink extends FileSink {
  private linkType = 1;

  async open(interfaces: readonly SourceInterface[]): Promise<void> {
    const first = interfaces[0] ?? { linkType: 1, snapLen: 262144 };
    this.linkType = first.linkType;
    const snapLen = Math.max(...interfaces.map((i) => i.snapLen), first.snapLen);
    this.openFile(pcapFileHeader({ linkType: this.linkType, snapLen, nanosecond: true }));
  }

  protected maxEncodedLength(f: FrameCopy): number {
    return f.linkType === this.linkType ? PCAP_RECORD_HEADER_LEN + f.caplen : -1;
  }

  protected encode(f: FrameCopy, dst: Buffer, at: number): number {
    this.copyFrame(f, at + PCAP_RECORD_HEADER_LEN, f.caplen);
    return writePcapRecord(
      dst,
      at,
      f.src,
      f.offset,
      f.caplen,
      f.wirelen,
      f.tsSec,
      f.tsNsec,
      true,
      false,
    );
  }
}
