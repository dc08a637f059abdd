import {
  enhancedPacketBlockLength,
  pcapngInterfaceDescription,
  pcapngInterfaceStatistics,
  pcapngSectionHeader,
  writeEnhancedPacketBlock,
} from '@netmirror/pcap';
import { FileSink } from './file-sink.js';

/** Where an enhanced packet block's frame bytes start. */
const EPB_DATA_OFFSET = 28;
import type { FrameCopy, SourceInterface } from './sink.js';

/** What the pipeline knows about each source interface when a recording closes. */
export interface InterfaceTotals {
  /** Frames the pipeline read from the interface. */
  received: number;
  /** Frames the capture itself lost (kernel or source file statistics). */
  sourceDropped: number;
}

/**
 * `pcapng:PATH`: one section, an interface description per source interface
 * (name, link type, nanosecond `if_tsresol`), enhanced packet blocks with the
 * source's flags, and at close an interface statistics block per interface:
 * frames received, frames accepted for this recording, frames delivered, and
 * as drops both the source's own and the copies this recording lost.
 */
export class PcapngSink extends FileSink {
  private interfaces: readonly SourceInterface[] = [];
  private offeredPerIf = new Float64Array(0);
  private lostPerIf = new Float64Array(0);
  private totals: InterfaceTotals[] = [];
  private startSec = 0;
  private startNsec = 0;
  private endSec = 0;
  private endNsec = 0;

  async open(interfaces: readonly SourceInterface[]): Promise<void> {
    this.interfaces = interfaces.length > 0 ? interfaces : [{ linkType: 1, snapLen: 262144 }];
    this.offeredPerIf = new Float64Array(this.interfaces.length);
    this.lostPerIf = new Float64Array(this.interfaces.length);
    this.openFile(this.fileHeader());
  }

  /** Section header and one interface description per source interface. */
  protected fileHeader(): Buffer {
    const blocks = [pcapngSectionHeader({ userAppl: 'NetMirror' })];
    for (const i of this.interfaces) {
      blocks.push(
        pcapngInterfaceDescription({
          linkType: i.linkType,
          snapLen: i.snapLen,
          name: i.name,
          description: i.description,
          tsResol: 9,
        }),
      );
    }
    const header = Buffer.concat(blocks);
    this.headerLength = header.length;
    return header;
  }

  /** Bytes of the file header (a file holding only that has no frames). */
  protected headerLength = 0;

  override offer(f: FrameCopy): boolean {
    const ok = super.offer(f);
    if (f.ifIndex < this.offeredPerIf.length) {
      this.offeredPerIf[f.ifIndex]++;
      if (!ok) this.lostPerIf[f.ifIndex]++;
    }
    if (this.startSec === 0 && this.startNsec === 0) {
      this.startSec = f.tsSec;
      this.startNsec = f.tsNsec;
    }
    this.endSec = f.tsSec;
    this.endNsec = f.tsNsec;
    return ok;
  }

  /** Per-interface totals from the pipeline, written into the statistics blocks at close. */
  setInterfaceTotals(totals: InterfaceTotals[]): void {
    this.totals = totals;
  }

  protected maxEncodedLength(f: FrameCopy): number {
    return f.ifIndex < this.interfaces.length ? enhancedPacketBlockLength(f.caplen, f.flags) : -1;
  }

  protected encode(f: FrameCopy, dst: Buffer, at: number): number {
    this.copyFrame(f, at + EPB_DATA_OFFSET, f.caplen);
    return writeEnhancedPacketBlock(
      dst,
      at,
      f.ifIndex,
      f.src,
      f.offset,
      f.caplen,
      f.wirelen,
      f.tsSec,
      f.tsNsec,
      f.flags,
      true,
      false,
    );
  }

  /** One interface statistics block per interface: counts since the recording started. */
  protected statisticsBlocks(): Buffer {
    return Buffer.concat(
      this.interfaces.map((_, id) =>
        pcapngInterfaceStatistics({
          interfaceId: id,
          tsSec: this.endSec,
          tsNsec: this.endNsec,
          startSec: this.startSec,
          startNsec: this.startNsec,
          endSec: this.endSec,
          endNsec: this.endNsec,
          ifRecv: this.totals[id]?.received ?? this.offeredPerIf[id],
          ifDrop: (this.totals[id]?.sourceDropped ?? 0) + this.lostPerIf[id],
          filterAccept: this.offeredPerIf[id],
          usrDeliv: this.offeredPerIf[id] - this.lostPerIf[id],
        }),
      ),
    );
  }

  override async close(): Promise<void> {
    await this.waitForRoom(0);
    if (this.fd >= 0) this.appendSync(this.statisticsBlocks());
    await this.release();
  }
}
