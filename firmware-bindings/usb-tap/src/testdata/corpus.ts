// The fuzz corpus: damaged bulk streams. fuzz.test.ts writes them to
// fuzz/*.bin (when missing, or with UPDATE_CORPUS=1), checks the files
// still match, and feeds each to the parser followed by good records.
// `cut`: the damage ends inside a record because bytes were lost, which the
// driver knows (a failed transfer, an unplug) and tells the parser.
import { crc16 } from '../crc16.js';
import { Field, HEADER_CHECKED } from '../protocol.js';
import { bytes, record, tamper } from './streams.js';

export interface CorpusEntry {
  name: string;
  data: Buffer;
  cut: boolean;
  /** The records ("port:seq") the parser must find in it, in order; nothing else. */
  found: string[];
}

/** Re-computes the header check (so only the field under test is wrong). */
function recheck(h: Buffer): void {
  h.writeUInt16LE(crc16(h, 0, HEADER_CHECKED), Field.CHECK);
}

/** Random bytes with `D5 9A` planted every 37 bytes: false starts everywhere. */
function syncStorm(): Buffer {
  const b = bytes(4000, 11);
  for (let at = 5; at + 1 < b.length; at += 37) {
    b[at] = 0xd5;
    b[at + 1] = 0x9a;
  }
  return b;
}

export function corpus(): CorpusEntry[] {
  const r1 = record(1, 10, 300);
  const r2 = record(2, 20, 64);
  const r3 = record(3, 30, 1514);
  const entry = (name: string, data: Buffer, found: string[] = [], cut = false): CorpusEntry => ({
    name,
    data,
    cut,
    found,
  });
  return [
    entry('garbage-random', bytes(3000, 1)),
    entry('garbage-sync-storm', syncStorm()),
    entry('zeros', Buffer.alloc(512)),
    entry('ff-run', Buffer.alloc(512, 0xff)),
    entry('bad-check', Buffer.concat([tamper(r1, (h) => (h[Field.CHECK] ^= 0x01)), r2]), ['2:20']),
    entry(
      'bad-version',
      Buffer.concat([tamper(r1, (h) => ((h[Field.VERSION] = 2), recheck(h))), r2]),
      ['2:20'],
    ),
    entry(
      'caplen-over-origlen',
      tamper(r2, (h) => (h.writeUInt16LE(63, Field.ORIGLEN), recheck(h))),
    ),
    entry(
      'caplen-over-limit',
      // Claims 20000 bytes (the test's limit is 16384): refused at once, not waited for.
      tamper(record(1, 11, 20000), (h) => recheck(h)).subarray(0, 300),
    ),
    entry(
      'nsec-out-of-range',
      tamper(r2, (h) => (h.writeUInt32LE(1e9, Field.NSEC), recheck(h))),
    ),
    entry(
      'port-16',
      tamper(r2, (h) => ((h[Field.PORT] = 16), recheck(h))),
    ),
    entry('truncated-record', r3.subarray(0, 700), [], true),
    entry('cut-mid-header', r3.subarray(0, 13), [], true),
    entry(
      'dropped-byte',
      Buffer.concat([r1.subarray(0, 100), r1.subarray(101), r2, r3]),
      ['1:10', '3:30'], // r1 takes r2's first byte as its last: r2 is lost
    ),
    entry('duplicated-header-byte', Buffer.concat([r1.subarray(0, 9), r1.subarray(8), r2]), [
      '2:20',
    ]),
    entry('spliced-streams', Buffer.concat([r3.subarray(0, 900), record(1, 0, 128)]), [], true),
    entry(
      'max-length-bad-check',
      // Claims the longest record, but fails its check: refused at once, not waited for.
      tamper(record(4, 40, 65535), (h) => (h[Field.CHECK + 1] ^= 0x80)).subarray(0, 300),
    ),
  ];
}
