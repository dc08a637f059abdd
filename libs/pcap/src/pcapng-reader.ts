import type { FrameBatch } from '@netmirror/packet';
import type {
  CaptureInterface,
  CaptureReader,
  CaptureReaderOptions,
  InterfaceStats,
} from './capture-reader.js';
import { DEFAULT_MAX_CAPLEN } from './capture-reader.js';
import type { ChunkedInput } from './chunked-input.js';
import { CaptureFileError } from './errors.js';
import type { TsResolution } from './timestamps.js';
import { ticksToTime, tsResolution, TSRESOL_US } from './timestamps.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_PB = 0x00000002; // obsolete Packet Block
export const BT_SPB = 0x00000003;
export const BT_ISB = 0x00000005;
export const BT_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const blockNames: Record<number, string> = {
  [BT_SHB]: 'SHB',
  [BT_IDB]: 'IDB',
  [BT_PB]: 'PB',
  [BT_SPB]: 'SPB',
  [BT_ISB]: 'ISB',
  [BT_EPB]: 'EPB',
};

function blockName(type: number): string {
  return blockNames[type] ?? `block type 0x${type.toString(16).padStart(8, '0')}`;
}

function ngError(offset: number, reason: string): CaptureFileError {
  return new CaptureFileError(
    offset,
    reason,
    `pcapng: ${reason.replace('%@', `at byte ${offset}`)}`,
  );
}

/** What a Section Header Block says about the capture that wrote it. */
export interface PcapngSection {
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  hardware?: string;
  os?: string;
  userAppl?: string;
  /** Global index of this section's interface 0. */
  firstInterface: number;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * Reader of pcapng files: several sections of either byte order, IDB, EPB,
 * SPB, the obsolete PB, ISB; other blocks are skipped. Use
 * openCaptureReader(); this class takes an input positioned on the first SHB.
 */
export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng' as const;
  readonly interfaces: CaptureInterface[] = [];
  readonly sections: PcapngSection[] = [];
  private readonly input: ChunkedInput;
  private readonly maxCaplen: number;
  private le = true;
  private ifBase = 0;
  private ifCount = 0;
  private readonly ifRes: TsResolution[] = [];
  private readonly ifOffset: number[] = [];
  private readonly ts = new Float64Array(2);
  private pending: CaptureFileError | null = null;

  constructor(input: ChunkedInput, options: CaptureReaderOptions = {}) {
    this.input = input;
    this.maxCaplen = options.maxCaplen ?? DEFAULT_MAX_CAPLEN;
    if (!input.fill(12) || input.dv.getUint32(input.pos, true) !== BT_SHB) {
      throw ngError(input.offset, 'file does not start with a Section Header Block %@');
    }
    // read the header blocks (SHB, IDBs, ...) up to the first packet
    this.run(null);
  }

  get nanosecond(): boolean {
    return this.interfaces.some((i) =>
      i.tsResol & 0x80 ? (i.tsResol & 0x7f) > 19 : i.tsResol > 6,
    );
  }

  get bytesRead(): number {
    return this.input.offset;
  }

  next(batch: FrameBatch): number {
    return this.run(batch);
  }

  ready(): Promise<void> | null {
    return this.input.ready();
  }

  close(): void {
    this.input.close();
  }

  /**
   * The block loop. With a batch it fills frames; without one (at open) it
   * stops before the first packet block.
   */
  private run(batch: FrameBatch | null): number {
    if (this.pending) throw this.pending;
    const input = this.input;
    let dv = input.dv;
    const max = this.maxCaplen;
    const maxBlock = input.chunkSize;
    const cap = batch ? batch.capacity : 0;
    let n = 0;
    let pos = input.pos;
    let end = input.end;
    let le = this.le;
    let err: CaptureFileError | null = null;
    for (;;) {
      if (batch && n >= cap) break;
      if (end - pos < 12) {
        if (n > 0) break;
        input.pos = pos;
        const ok = input.fill(12);
        pos = input.pos;
        end = input.end;
        if (!ok) {
          if (end === pos) break; // clean end
          err = ngError(
            input.offset,
            `block header truncated at end of file: ${input.end - input.pos} of 12 bytes %@`,
          );
          break;
        }
        pos = input.pos;
        end = input.end;
        dv = input.dv;
      }
      const type = dv.getUint32(pos, le);
      if (type === BT_SHB) {
        const bom = dv.getUint32(pos + 8, true);
        if (bom === BYTE_ORDER_MAGIC) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else {
          err = ngError(input.at(pos), `SHB %@ has bad byte-order magic 0x${bom.toString(16)}`);
          break;
        }
      } else if (batch === null && (type === BT_EPB || type === BT_SPB || type === BT_PB)) {
        break;
      }
      const len = dv.getUint32(pos + 4, le);
      if (len < 12 || (len & 3) !== 0) {
        err = ngError(input.at(pos), `${blockName(type)} %@ has bad block length ${len}`);
        break;
      }
      const known =
        type === BT_EPB ||
        type === BT_SHB ||
        type === BT_IDB ||
        type === BT_SPB ||
        type === BT_ISB ||
        type === BT_PB;
      if (!known) {
        // skip, checking the trailer
        if (end - pos >= len) {
          if (dv.getUint32(pos + len - 4, le) !== len) {
            err = this.trailerError(pos, type, len, le);
            break;
          }
          pos += len;
          continue;
        }
        if (n > 0) break;
        const at = input.at(pos);
        input.pos = pos;
        const ok = input.skip(len - 4) && input.fill(4);
        pos = input.pos;
        end = input.end;
        dv = input.dv;
        if (!ok) {
          err = ngError(at, `${blockName(type)} %@ truncated at end of file (block length ${len})`);
          pos = end; // nothing left to read
          break;
        }
        if (dv.getUint32(input.pos, le) !== len) {
          err = ngError(
            at,
            `${blockName(type)} %@: trailing length ${dv.getUint32(input.pos, le)} != block length ${len}`,
          );
          break;
        }
        pos = input.pos + 4;
        end = input.end;
        continue;
      }
      if (len > maxBlock) {
        err = ngError(
          input.at(pos),
          `${blockName(type)} %@ has block length ${len} > ${maxBlock} (reader maximum)`,
        );
        break;
      }
      if (end - pos < len) {
        if (n > 0) break;
        input.pos = pos;
        const ok = input.fill(len);
        if (!ok) {
          err = ngError(
            input.offset,
            `${blockName(type)} %@ truncated at end of file: ${input.end - input.pos} of ${len} bytes`,
          );
          break;
        }
        pos = input.pos;
        end = input.end;
        dv = input.dv;
      }
      if (dv.getUint32(pos + len - 4, le) !== len) {
        err = this.trailerError(pos, type, len, le);
        break;
      }
      if (type === BT_EPB || type === BT_PB) {
        // EPB: if_id(4) ts_hi ts_lo caplen wirelen data options; PB: if_id(2) drops(2) ...
        if (len < 32) {
          err = ngError(input.at(pos), `${blockName(type)} %@ has block length ${len} < 32`);
          break;
        }
        const id = type === BT_EPB ? dv.getUint32(pos + 8, le) : dv.getUint16(pos + 8, le);
        if (id >= this.ifCount) {
          err = ngError(
            input.at(pos),
            `${blockName(type)} %@ names interface ${id}, the section has ${this.ifCount}`,
          );
          break;
        }
        const caplen = dv.getUint32(pos + 20, le);
        if (caplen > max) {
          err = ngError(
            input.at(pos),
            `${blockName(type)} %@ claims caplen ${caplen} > ${max} (snaplen/max)`,
          );
          break;
        }
        const optStart = pos + 28 + pad4(caplen);
        const optEnd = pos + len - 4;
        if (optStart > optEnd) {
          err = ngError(
            input.at(pos),
            `${blockName(type)} %@ claims caplen ${caplen}, more than its block length ${len} holds`,
          );
          break;
        }
        let f = 0;
        let o = optStart;
        while (o + 4 <= optEnd) {
          const code = dv.getUint16(o, le);
          const olen = dv.getUint16(o + 2, le);
          if (code === 0) break;
          if (o + 4 + olen > optEnd) {
            err = ngError(
              input.at(pos),
              `${blockName(type)} %@: option ${code} at byte ${input.at(o)} overruns the block`,
            );
            break;
          }
          if (code === 2 && olen === 4) f = dv.getUint32(o + 4, le);
          o += 4 + pad4(olen);
        }
        if (err) break;
        if (batch) {
          const g = this.ifBase + id;
          const ts = this.ts;
          ticksToTime(dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le), this.ifRes[g], ts);
          batch.offset[n] = pos + 28;
          batch.caplen[n] = caplen;
          batch.wirelen[n] = dv.getUint32(pos + 24, le);
          batch.tsSec[n] = ts[0] + this.ifOffset[g];
          batch.tsNsec[n] = ts[1];
          batch.ifIndex[n] = g;
          batch.flags[n] = f;
          n++;
        }
        pos += len;
        continue;
      }
      if (type === BT_SPB) {
        if (len < 16) {
          err = ngError(input.at(pos), `SPB %@ has block length ${len} < 16`);
          break;
        }
        if (this.ifCount === 0) {
          err = ngError(input.at(pos), 'SPB %@ comes before any interface in its section');
          break;
        }
        const g = this.ifBase;
        const wirelen = dv.getUint32(pos + 8, le);
        let caplen = Math.min(wirelen, len - 16);
        const snap = this.interfaces[g].snapLen;
        if (snap > 0 && caplen > snap) caplen = snap;
        if (caplen > max) {
          err = ngError(input.at(pos), `SPB %@ claims caplen ${caplen} > ${max} (snaplen/max)`);
          break;
        }
        if (batch) {
          batch.offset[n] = pos + 12;
          batch.caplen[n] = caplen;
          batch.wirelen[n] = wirelen;
          batch.tsSec[n] = 0;
          batch.tsNsec[n] = 0;
          batch.ifIndex[n] = g;
          batch.flags[n] = 0;
          n++;
        }
        pos += len;
        continue;
      }
      // SHB, IDB, ISB: not hot
      err = this.headerBlock(type, pos, len, le);
      if (err) break;
      le = this.le;
      pos += len;
    }
    input.pos = pos;
    this.le = le;
    if (err) this.pending = err;
    if (batch) {
      batch.buf = input.buf; // after any refill: it may have switched buffers
      batch.count = n;
    }
    if (n === 0 && this.pending) throw this.pending;
    return n;
  }

  private trailerError(pos: number, type: number, len: number, le: boolean): CaptureFileError {
    const trailer = this.input.dv.getUint32(pos + len - 4, le);
    return ngError(
      this.input.at(pos),
      `${blockName(type)} %@: trailing length ${trailer} != block length ${len}`,
    );
  }

  /** Walks the options in [start, stop); returns an error or null. */
  private options(
    pos: number,
    type: number,
    start: number,
    stop: number,
    le: boolean,
    each: (code: number, at: number, len: number) => void,
  ): CaptureFileError | null {
    const dv = this.input.dv;
    let o = start;
    while (o + 4 <= stop) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === 0) break;
      if (o + 4 + olen > stop) {
        return ngError(
          this.input.at(pos),
          `${blockName(type)} %@: option ${code} at byte ${this.input.at(o)} overruns the block`,
        );
      }
      each(code, o + 4, olen);
      o += 4 + pad4(olen);
    }
    return null;
  }

  private str(at: number, len: number): string {
    return this.input.buf.toString('utf8', at, at + len).replace(/\0+$/, '');
  }

  private headerBlock(
    type: number,
    pos: number,
    len: number,
    le: boolean,
  ): CaptureFileError | null {
    const dv = this.input.dv;
    const u64 = (at: number): number => {
      const hi = dv.getUint32(at + (le ? 4 : 0), le);
      const lo = dv.getUint32(at + (le ? 0 : 4), le);
      return hi * 4294967296 + lo;
    };
    if (type === BT_SHB) {
      if (len < 28) return ngError(this.input.at(pos), `SHB %@ has block length ${len} < 28`);
      const major = dv.getUint16(pos + 12, le);
      const minor = dv.getUint16(pos + 14, le);
      if (major !== 1)
        return ngError(this.input.at(pos), `SHB %@ has unsupported version ${major}.${minor}`);
      const section: PcapngSection = {
        littleEndian: le,
        versionMajor: major,
        versionMinor: minor,
        firstInterface: this.interfaces.length,
      };
      const e = this.options(pos, type, pos + 24, pos + len - 4, le, (code, at, olen) => {
        if (code === 2) section.hardware = this.str(at, olen);
        else if (code === 3) section.os = this.str(at, olen);
        else if (code === 4) section.userAppl = this.str(at, olen);
      });
      if (e) return e;
      this.sections.push(section);
      this.le = le;
      this.ifBase = this.interfaces.length;
      this.ifCount = 0;
      return null;
    }
    if (this.sections.length === 0) {
      return ngError(
        this.input.at(pos),
        `${blockName(type)} %@ comes before any Section Header Block`,
      );
    }
    if (type === BT_IDB) {
      if (len < 20) return ngError(this.input.at(pos), `IDB %@ has block length ${len} < 20`);
      const iface: CaptureInterface = {
        linkType: dv.getUint16(pos + 8, le),
        snapLen: dv.getUint32(pos + 12, le),
        section: this.sections.length - 1,
        localId: this.ifCount,
        tsResol: TSRESOL_US,
        tsOffsetSec: 0,
      };
      const e = this.options(pos, type, pos + 16, pos + len - 4, le, (code, at, olen) => {
        if (code === 2) iface.name = this.str(at, olen);
        else if (code === 3) iface.description = this.str(at, olen);
        else if (code === 9 && olen >= 1) iface.tsResol = dv.getUint8(at);
        else if (code === 13 && olen >= 1) iface.fcsLen = dv.getUint8(at);
        else if (code === 14 && olen >= 8) {
          const hi = dv.getInt32(at + (le ? 4 : 0), le);
          const lo = dv.getUint32(at + (le ? 0 : 4), le);
          iface.tsOffsetSec = hi * 4294967296 + lo;
        }
      });
      if (e) return e;
      this.interfaces.push(iface);
      this.ifRes.push(tsResolution(iface.tsResol));
      this.ifOffset.push(iface.tsOffsetSec);
      this.ifCount++;
      return null;
    }
    if (type === BT_ISB) {
      if (len < 24) return ngError(this.input.at(pos), `ISB %@ has block length ${len} < 24`);
      const id = dv.getUint32(pos + 8, le);
      if (id >= this.ifCount) {
        return ngError(
          this.input.at(pos),
          `ISB %@ names interface ${id}, the section has ${this.ifCount}`,
        );
      }
      const g = this.ifBase + id;
      const res = this.ifRes[g];
      const off = this.ifOffset[g];
      const ts = this.ts;
      ticksToTime(dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le), res, ts);
      const stats: InterfaceStats = { tsSec: ts[0] + off, tsNsec: ts[1] };
      const e = this.options(pos, type, pos + 20, pos + len - 4, le, (code, at, olen) => {
        if (olen < 8) return;
        if (code === 2 || code === 3) {
          ticksToTime(dv.getUint32(at, le), dv.getUint32(at + 4, le), res, ts);
          if (code === 2) {
            stats.startSec = ts[0] + off;
            stats.startNsec = ts[1];
          } else {
            stats.endSec = ts[0] + off;
            stats.endNsec = ts[1];
          }
        } else if (code === 4) stats.ifRecv = u64(at);
        else if (code === 5) stats.ifDrop = u64(at);
        else if (code === 6) stats.filterAccept = u64(at);
        else if (code === 7) stats.osDrop = u64(at);
        else if (code === 8) stats.usrDeliv = u64(at);
      });
      if (e) return e;
      this.interfaces[g].stats = stats;
      return null;
    }
    return null;
  }
}
