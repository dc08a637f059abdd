// One stream record (PROTOCOL.md, "The bulk stream"): writing a header (the
// device's side; the model and the fixtures use it) and judging one (the
// host's side; the parser uses it).
import { crc16 } from './crc16.js';
import {
  Field,
  HEADER_CHECKED,
  HEADER_LENGTH,
  MAX_CAPLEN,
  MAX_PORTS,
  RECORD_VERSION,
  SYNC0,
  SYNC1,
  recordLength,
} from './protocol.js';

/** The fields of a record header. */
export interface RecordHeader {
  flags: number;
  caplen: number;
  origlen: number;
  seq: number;
  sec: number;
  nsec: number;
  drops: number;
  port: number;
}

/** Writes a 28-byte header, its check included, at `dst[at]`. */
export function writeRecordHeader(dst: Buffer, at: number, h: RecordHeader): void {
  dst[at] = SYNC0;
  dst[at + 1] = SYNC1;
  dst[at + Field.VERSION] = RECORD_VERSION;
  dst[at + Field.FLAGS] = h.flags;
  dst.writeUInt16LE(h.caplen, at + Field.CAPLEN);
  dst.writeUInt16LE(h.origlen, at + Field.ORIGLEN);
  dst.writeUInt32LE(h.seq >>> 0, at + Field.SEQ);
  dst.writeUInt32LE(h.sec >>> 0, at + Field.SEC);
  dst.writeUInt32LE(h.nsec, at + Field.NSEC);
  dst.writeUInt32LE(Math.min(h.drops, 0xffffffff), at + Field.DROPS);
  dst[at + Field.PORT] = h.port;
  dst[at + Field.RESERVED] = 0;
  dst.writeUInt16LE(crc16(dst, at, at + HEADER_CHECKED), at + Field.CHECK);
}

/** A whole record: the header, the first `h.caplen` bytes of `frame`, zero padding. */
export function encodeRecord(h: RecordHeader, frame: Uint8Array): Buffer {
  const out = Buffer.alloc(recordLength(h.caplen));
  writeRecordHeader(out, 0, h);
  out.set(frame.subarray(0, h.caplen), HEADER_LENGTH);
  return out;
}

/** What a receiver makes of 28 bytes that should be a header. */
export const Verdict = {
  OK: 0,
  /** Not `D5 9A`. */
  NO_SYNC: 1,
  /** The header check is wrong. */
  BAD_CHECK: 2,
  /** Checked, but a version this receiver does not speak. */
  BAD_VERSION: 3,
  /** Checked, but the lengths, nanoseconds or port cannot be right. */
  BAD_FIELDS: 4,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Judges the header at `buf[at, at + 28)`; `maxCaplen` is the receiver's own limit. */
export function judgeHeader(buf: Buffer, at: number, maxCaplen: number = MAX_CAPLEN): Verdict {
  if (buf[at] !== SYNC0 || buf[at + 1] !== SYNC1) return Verdict.NO_SYNC;
  if (buf.readUInt16LE(at + Field.CHECK) !== crc16(buf, at, at + HEADER_CHECKED))
    return Verdict.BAD_CHECK;
  if (buf[at + Field.VERSION] !== RECORD_VERSION) return Verdict.BAD_VERSION;
  const caplen = buf.readUInt16LE(at + Field.CAPLEN);
  if (
    caplen > buf.readUInt16LE(at + Field.ORIGLEN) ||
    caplen > maxCaplen ||
    buf.readUInt32LE(at + Field.NSEC) >= 1e9 ||
    buf[at + Field.PORT] >= MAX_PORTS
  )
    return Verdict.BAD_FIELDS;
  return Verdict.OK;
}
