import { openCaptureReader } from '@netmirror/pcap';
import type { CaptureReader } from '@netmirror/pcap';
import type { FrameBatch } from '@netmirror/packet';
import type { SourceInterface } from '../sinks/index.js';
import type { Tap } from './tap.js';

/** Largest snap length we write into headers when a file says "unlimited". */
const DEFAULT_SNAPLEN = 262144;

/**
 * `pcap:PATH`: a pcap or pcapng file (format sniffed from its magic), for
 * offline work, tests and replays.
 */
export class PcapFileTap implements Tap {
  readonly live: boolean = false;
  private reader: CaptureReader;
  private linkTypeCache: number[] = [];

  /** With `loop`, the file starts over at its end (replaying a capture forever, e.g. at a fixed rate). */
  constructor(
    readonly uri: string,
    private readonly path: string,
    private readonly options: { loop?: boolean } = {},
  ) {
    this.reader = openCaptureReader(path, { readAhead: true });
  }

  get interfaces(): readonly SourceInterface[] {
    return this.reader.interfaces.map((i) => ({
      linkType: i.linkType,
      snapLen: i.snapLen > 0 ? i.snapLen : DEFAULT_SNAPLEN,
      name: i.name,
      description: i.description,
    }));
  }

  get linkTypes(): ArrayLike<number> {
    const ifs = this.reader.interfaces;
    if (this.linkTypeCache.length !== ifs.length) this.linkTypeCache = ifs.map((i) => i.linkType);
    return this.linkTypeCache;
  }

  ready(): Promise<void> | null {
    return this.reader.ready();
  }

  next(batch: FrameBatch): number {
    const n = this.reader.next(batch);
    if (n > 0 || !this.options.loop) return n;
    this.reader.close();
    this.reader = openCaptureReader(this.path, { readAhead: true });
    return this.reader.next(batch); // 0 again only for a file without frames
  }

  sourceDrops(): number[] {
    return this.reader.interfaces.map((i) => (i.stats?.ifDrop ?? 0) + (i.stats?.osDrop ?? 0));
  }

  close(): void {
    this.reader.close();
  }
}
