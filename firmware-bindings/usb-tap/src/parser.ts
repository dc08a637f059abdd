// The host's reader of the bulk stream: records out of transfers of any
// size, a record split across transfers put back together, damage skipped
// (PROTOCOL.md, "Resynchronisation") and counted. Nothing is allocated per
// record: the callback gets one reused view, pointing into the transfer or,
// for a record that spanned transfers, into the parser's own buffer.
import { Verdict, judgeHeader } from './record.js';
import type { RecordHeader } from './record.js';
import {
  Field,
  HEADER_LENGTH,
  MAX_CAPLEN,
  MAX_RECORD_LENGTH,
  SYNC0,
  SYNC1,
  recordLength,
} from './protocol.js';

/** One record as the parser hands it out: its header's fields and its frame; valid only during the callback. */
export interface RecordView extends RecordHeader {
  /** Holds the frame: `buf[offset, offset + caplen)`. */
  buf: Buffer;
  offset: number;
}

export interface ParserStats {
  records: number;
  /** Times the parser lost the record boundary and had to look for the next header. */
  resyncs: number;
  /** Bytes skipped while looking (garbage, damaged headers, cut records). */
  bytesSkipped: number;
  /** Headers that failed their check, had another version, or impossible fields, where a record was due. */
  badChecks: number;
  badVersions: number;
  badFields: number;
  /** Records cut off by a discontinuity (lost transfer) or the end of a stream (unplug). */
  truncated: number;
}

export interface ParserOptions {
  /** Largest captured length accepted (the device's max snaplen); default 65535. */
  maxCaplen?: number;
}

export class RecordParser {
  readonly stats: ParserStats = {
    records: 0,
    resyncs: 0,
    bytesSkipped: 0,
    badChecks: 0,
    badVersions: 0,
    badFields: 0,
    truncated: 0,
  };
  /** Largest captured length accepted; the driver lowers it to the device's max snaplen. */
  maxCaplen: number;
  /** A record (or header) that started in an earlier transfer. */
  private readonly carry = Buffer.alloc(MAX_RECORD_LENGTH);
  private carryLen = 0;
  /** True between losing the record boundary and finding a good header again. */
  private scanning = false;
  private readonly view: RecordView = {
    buf: this.carry,
    offset: 0,
    caplen: 0,
    origlen: 0,
    seq: 0,
    sec: 0,
    nsec: 0,
    drops: 0,
    port: 0,
    flags: 0,
  };

  constructor(
    private readonly onRecord: (record: RecordView) => void,
    options: ParserOptions = {},
  ) {
    this.maxCaplen = options.maxCaplen ?? MAX_CAPLEN;
  }

  /** Bytes held from earlier transfers (part of a record). */
  get pending(): number {
    return this.carryLen;
  }

  /** Takes the next piece of the stream. Never throws on bad data. */
  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (this.carryLen > 0) {
      if (pos >= end) return;
      pos = this.feedCarry(chunk, pos);
    }
    while (pos < end) {
      if (this.scanning) {
        const at = findSync(chunk, pos, end);
        this.stats.bytesSkipped += at - pos;
        pos = at;
        if (pos >= end) return;
      }
      const left = end - pos;
      if (left < HEADER_LENGTH) {
        this.keep(chunk, pos, left); // judged once the rest arrives
        return;
      }
      const verdict = judgeHeader(chunk, pos, this.maxCaplen);
      if (verdict !== Verdict.OK) {
        this.reject(verdict);
        this.stats.bytesSkipped++;
        pos++;
        continue;
      }
      this.scanning = false;
      const length = recordLength(chunk.readUInt16LE(pos + Field.CAPLEN));
      if (left < length) {
        this.keep(chunk, pos, left);
        return;
      }
      this.emit(chunk, pos);
      pos += length;
    }
  }

  /** Bytes are missing here (a transfer failed): the partial record is dropped, the next header looked for. */
  discontinuity(): void {
    this.dropCarry();
    if (!this.scanning) this.stats.resyncs++;
    this.scanning = true;
  }

  /** A new stream starts (a new device session): the partial record is dropped. */
  reset(): void {
    this.dropCarry();
    this.scanning = false;
  }

  private dropCarry(): void {
    if (this.carryLen >= HEADER_LENGTH) this.stats.truncated++;
    else this.stats.bytesSkipped += this.carryLen;
    this.carryLen = 0;
  }

  /** Adds bytes to the carried record; emits it once whole. Returns the new position in `chunk`. */
  private feedCarry(chunk: Buffer, pos: number): number {
    const c = this.carry;
    if (this.carryLen < HEADER_LENGTH) {
      pos = this.fill(chunk, pos, HEADER_LENGTH);
      if (this.carryLen < HEADER_LENGTH) return pos;
      const verdict = judgeHeader(c, 0, this.maxCaplen);
      if (verdict !== Verdict.OK) {
        this.reject(verdict);
        this.shiftCarry();
        return pos;
      }
      this.scanning = false;
    }
    const length = recordLength(c.readUInt16LE(Field.CAPLEN));
    pos = this.fill(chunk, pos, length);
    if (this.carryLen === length) {
      this.carryLen = 0;
      this.emit(c, 0);
    }
    return pos;
  }

  /** Copies from `chunk` until the carry holds `upTo` bytes or the chunk ends. */
  private fill(chunk: Buffer, pos: number, upTo: number): number {
    const take = Math.min(upTo - this.carryLen, chunk.length - pos);
    chunk.copy(this.carry, this.carryLen, pos, pos + take);
    this.carryLen += take;
    return pos + take;
  }

  /** A rejected header in the carry: drop a byte and move up to the next sync candidate in it. */
  private shiftCarry(): void {
    const at = findSync(this.carry, 1, this.carryLen);
    this.stats.bytesSkipped += at;
    this.carry.copyWithin(0, at, this.carryLen);
    this.carryLen -= at;
  }

  private keep(chunk: Buffer, pos: number, n: number): void {
    chunk.copy(this.carry, 0, pos, pos + n);
    this.carryLen = n;
  }

  private reject(verdict: Verdict): void {
    if (this.scanning) return; // one resync per run of damage; candidates in it are just skipped
    this.scanning = true;
    this.stats.resyncs++;
    if (verdict === Verdict.BAD_CHECK) this.stats.badChecks++;
    else if (verdict === Verdict.BAD_VERSION) this.stats.badVersions++;
    else if (verdict === Verdict.BAD_FIELDS) this.stats.badFields++;
  }

  private emit(buf: Buffer, at: number): void {
    const v = this.view;
    v.buf = buf;
    v.offset = at + HEADER_LENGTH;
    v.caplen = buf.readUInt16LE(at + Field.CAPLEN);
    v.origlen = buf.readUInt16LE(at + Field.ORIGLEN);
    v.seq = buf.readUInt32LE(at + Field.SEQ);
    v.sec = buf.readUInt32LE(at + Field.SEC);
    v.nsec = buf.readUInt32LE(at + Field.NSEC);
    v.drops = buf.readUInt32LE(at + Field.DROPS);
    v.port = buf[at + Field.PORT];
    v.flags = buf[at + Field.FLAGS];
    this.stats.records++;
    this.onRecord(v);
  }
}

/** First position in `buf[from, end)` that may start a header (`D5 9A`, or `D5` as the last byte); `end` if none. */
function findSync(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    i = buf.indexOf(SYNC0, i);
    if (i < 0 || i >= end) return end;
    if (i + 1 === end || buf[i + 1] === SYNC1) return i;
  }
  return end;
}
