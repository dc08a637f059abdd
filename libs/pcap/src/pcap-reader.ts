import type { FrameBatch } from '@netmirror/packet';
import type { CaptureInterface, CaptureReader, CaptureReaderOptions } from './capture-reader.js';
import { DEFAULT_MAX_CAPLEN } from './capture-reader.js';
import { ChunkedInput } from './chunked-input.js';
import { CaptureFileError } from './errors.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** Bits of the pcap link-type field (libpcap's LT_FCS_LENGTH_PRESENT / LT_FCS_LENGTH). */
const FCS_PRESENT = 0x04000000;

function pcapError(offset: number, reason: string): CaptureFileError {
  return new CaptureFileError(offset, reason, `pcap: ${reason.replace('%@', `at byte ${offset}`)}`);
}

/**
 * Reader of classic libpcap files (µs and ns magic, either byte order).
 * Use openCaptureReader(); this class takes an input whose first bytes are
 * the file header.
 */
export class PcapReader implements CaptureReader {
  readonly format = 'pcap' as const;
  readonly interfaces: readonly CaptureInterface[];
  readonly nanosecond: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly littleEndian: boolean;
  private readonly input: ChunkedInput;
  private readonly maxCaplen: number;
  private readonly fracToNs: number;
  private readonly fracPerSec: number;
  private pending: CaptureFileError | null = null;

  constructor(input: ChunkedInput, options: CaptureReaderOptions = {}) {
    this.input = input;
    this.maxCaplen = options.maxCaplen ?? DEFAULT_MAX_CAPLEN;
    if (!input.fill(PCAP_FILE_HEADER_LEN)) {
      throw pcapError(0, `file header truncated: ${input.end - input.pos} of 24 bytes %@`);
    }
    const dv = input.dv;
    const p = input.pos;
    const magicBE = dv.getUint32(p, false);
    const magicLE = dv.getUint32(p, true);
    let le: boolean;
    if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) le = true;
    else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) le = false;
    else throw pcapError(0, `unknown magic 0x${magicBE.toString(16).padStart(8, '0')} %@`);
    this.littleEndian = le;
    this.nanosecond = (le ? magicLE : magicBE) === PCAP_MAGIC_NS;
    this.fracToNs = this.nanosecond ? 1 : 1000;
    this.fracPerSec = this.nanosecond ? 1e9 : 1e6;
    this.versionMajor = dv.getUint16(p + 4, le);
    this.versionMinor = dv.getUint16(p + 6, le);
    if (this.versionMajor !== 2) {
      throw pcapError(4, `unsupported version ${this.versionMajor}.${this.versionMinor} %@`);
    }
    const snapLen = dv.getUint32(p + 16, le);
    const lt = dv.getUint32(p + 20, le);
    const iface: CaptureInterface = {
      linkType: lt & 0xffff,
      snapLen,
      section: 0,
      localId: 0,
      tsResol: this.nanosecond ? 9 : 6,
      tsOffsetSec: 0,
    };
    if (lt & FCS_PRESENT) iface.fcsLen = ((lt >>> 28) & 0xf) * 2;
    this.interfaces = [iface];
    input.pos += PCAP_FILE_HEADER_LEN;
  }

  get bytesRead(): number {
    return this.input.offset;
  }

  next(batch: FrameBatch): number {
    if (this.pending) throw this.pending;
    const input = this.input;
    let dv = input.dv;
    const le = this.littleEndian;
    const max = this.maxCaplen;
    const fracToNs = this.fracToNs;
    const fracPerSec = this.fracPerSec;
    const offsets = batch.offset;
    const caplens = batch.caplen;
    const wirelens = batch.wirelen;
    const secs = batch.tsSec;
    const nsecs = batch.tsNsec;
    const ifs = batch.ifIndex;
    const flags = batch.flags;
    const cap = batch.capacity;
    let n = 0;
    let pos = input.pos;
    let end = input.end;
    while (n < cap) {
      if (end - pos < PCAP_RECORD_HEADER_LEN) {
        if (n > 0) break;
        const ok = input.fill(PCAP_RECORD_HEADER_LEN);
        pos = input.pos;
        end = input.end;
        if (!ok) {
          if (end === pos) break; // clean end
          this.pending = pcapError(
            input.offset,
            `record header truncated at end of file: ${input.end - input.pos} of 16 bytes %@`,
          );
          throw this.pending;
        }
        pos = input.pos;
        end = input.end;
        dv = input.dv;
      }
      const caplen = dv.getUint32(pos + 8, le);
      if (caplen > max) {
        input.pos = pos;
        this.pending = pcapError(
          input.at(pos),
          `record %@ claims caplen ${caplen} > ${max} (snaplen/max)`,
        );
        break;
      }
      const total = PCAP_RECORD_HEADER_LEN + caplen;
      if (end - pos < total) {
        if (n > 0) break;
        input.pos = pos;
        const ok = input.fill(total);
        if (!ok) {
          this.pending = pcapError(
            input.offset,
            `record %@ truncated at end of file: ${input.end - input.pos - 16} of ${caplen} bytes of data`,
          );
          throw this.pending;
        }
        pos = input.pos;
        end = input.end;
        dv = input.dv;
      }
      let sec = dv.getUint32(pos, le);
      let frac = dv.getUint32(pos + 4, le);
      if (frac >= fracPerSec) {
        const carry = Math.floor(frac / fracPerSec);
        sec += carry;
        frac -= carry * fracPerSec;
      }
      offsets[n] = pos + PCAP_RECORD_HEADER_LEN;
      caplens[n] = caplen;
      wirelens[n] = dv.getUint32(pos + 12, le);
      secs[n] = sec;
      nsecs[n] = frac * fracToNs;
      ifs[n] = 0;
      flags[n] = 0;
      n++;
      pos += total;
    }
    input.pos = pos;
    batch.buf = input.buf; // after any refill: it may have switched buffers
    batch.count = n;
    if (n === 0 && this.pending) throw this.pending;
    return n;
  }

  ready(): Promise<void> | null {
    return this.input.ready();
  }

  close(): void {
    this.input.close();
  }
}
