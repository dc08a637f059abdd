import type { FrameBatch } from '@netmirror/packet';
import { BufferedFileOutput, copyBytes, u16le, u32le } from './buffered-output.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PCAP_RECORD_HEADER_LEN } from './pcap-reader.js';

export interface PcapHeaderOptions {
  /** LINKTYPE_* value. */
  linkType: number;
  /** Default 262144. */
  snapLen?: number;
  /** Nanosecond magic (a1b23c4d) instead of microseconds. Default false. */
  nanosecond?: boolean;
  /** Bytes of FCS per frame, recorded in the link-type field's FCS bits (even, <= 30). */
  fcsLen?: number;
}

/** The 24-byte file header, little-endian. */
export function pcapFileHeader(o: PcapHeaderOptions): Buffer {
  const b = Buffer.alloc(24);
  u32le(b, 0, o.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
  u16le(b, 4, 2);
  u16le(b, 6, 4);
  // thiszone = 0, sigfigs = 0
  u32le(b, 16, o.snapLen ?? 262144);
  let lt = o.linkType & 0xffff;
  if (o.fcsLen !== undefined) lt = (lt | 0x04000000 | (((o.fcsLen >>> 1) & 0xf) << 28)) >>> 0;
  u32le(b, 20, lt);
  return b;
}

/** Bytes a record of caplen bytes takes. */
export function pcapRecordLength(caplen: number): number {
  return PCAP_RECORD_HEADER_LEN + caplen;
}

/**
 * Encodes one record (little-endian) into dst at `at`: header plus
 * `src[srcOff .. srcOff+caplen)`. Returns the bytes written (16 + caplen). With
 * `copyPayload` false only the header is written and the caller places the
 * frame at `at + 16` (the agent batches those copies).
 * The caller makes room; too small a dst throws RangeError. No allocation.
 */
export function writePcapRecord(
  dst: Buffer,
  at: number,
  src: Uint8Array,
  srcOff: number,
  caplen: number,
  wirelen: number,
  tsSec: number,
  tsNsec: number,
  nanosecond: boolean,
  copyPayload = true,
): number {
  const total = PCAP_RECORD_HEADER_LEN + caplen;
  if (at < 0 || at + total > dst.length) {
    throw new RangeError(`pcap: record of ${total} bytes does not fit at ${at} in ${dst.length}`);
  }
  u32le(dst, at, tsSec);
  u32le(dst, at + 4, nanosecond ? tsNsec : Math.floor(tsNsec / 1000));
  u32le(dst, at + 8, caplen);
  u32le(dst, at + 12, wirelen);
  if (copyPayload) copyBytes(src, srcOff, dst, at + PCAP_RECORD_HEADER_LEN, caplen);
  return total;
}

export interface PcapWriterOptions extends PcapHeaderOptions {
  /** Staging buffer size, default 1 MiB. */
  bufferSize?: number;
}

/** Buffered pcap file writer over a path (created/truncated) or an fd. */
export class PcapWriter {
  readonly nanosecond: boolean;
  frames = 0;
  private readonly out: BufferedFileOutput;
  private readonly hdr = Buffer.alloc(PCAP_RECORD_HEADER_LEN);

  constructor(pathOrFd: string | number, options: PcapWriterOptions) {
    this.nanosecond = options.nanosecond ?? false;
    this.out = new BufferedFileOutput(pathOrFd, options.bufferSize);
    this.out.writeRaw(pcapFileHeader(options));
  }

  /** Bytes written so far, header included. */
  get bytesWritten(): number {
    return this.out.written;
  }

  writeFrame(
    src: Uint8Array,
    srcOff: number,
    caplen: number,
    wirelen: number,
    tsSec: number,
    tsNsec: number,
  ): void {
    const out = this.out;
    const at = out.reserve(PCAP_RECORD_HEADER_LEN + caplen);
    if (at >= 0) {
      out.commit(
        writePcapRecord(out.buf, at, src, srcOff, caplen, wirelen, tsSec, tsNsec, this.nanosecond),
      );
    } else {
      // bigger than the staging buffer: header, then the bytes straight through
      writePcapRecord(this.hdr, 0, src, srcOff, 0, wirelen, tsSec, tsNsec, this.nanosecond);
      u32le(this.hdr, 8, caplen);
      out.writeRaw(this.hdr);
      out.writeRaw(src, srcOff, caplen);
    }
    this.frames++;
  }

  /** Writes every frame of a batch. */
  writeBatch(batch: FrameBatch): void {
    const buf = batch.buf;
    for (let i = 0; i < batch.count; i++) {
      this.writeFrame(
        buf,
        batch.offset[i],
        batch.caplen[i],
        batch.wirelen[i],
        batch.tsSec[i],
        batch.tsNsec[i],
      );
    }
  }

  flush(): void {
    this.out.flush();
  }

  close(sync = false): void {
    this.out.close(sync);
  }
}
