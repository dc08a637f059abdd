// The stream parser on annotated byte fixtures: fields, padding, records
// split at every byte, several per transfer, and each kind of damage.
import { describe, expect, it } from 'vitest';
import { crc16 } from './crc16.js';
import { RecordParser } from './parser.js';
import type { RecordView } from './parser.js';
import { MAX_RECORD_LENGTH } from './protocol.js';
import { record } from './testdata/streams.js';

/** Bytes from an annotated dump: hex pairs; anything after `#` on a line is a comment. */
function dump(text: string): Buffer {
  const hex = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hex, 'hex');
}

// Port 2's record 7: a broadcast ARP frame of 60 bytes, cut to 14 by the snaplen.
const RECORD_A = dump(`
  d5 9a                # sync
  01                   # version 1
  04                   # flags: CLOCK_SYNCED
  0e 00                # captured length 14
  3c 00                # original length 60 (cut by the snaplen)
  07 00 00 00          # sequence number 7 (port 2)
  00 b9 55 69          # seconds 1767225600 (2026-01-01T00:00:00Z)
  00 65 cd 1d          # nanoseconds 500,000,000
  03 00 00 00          # drops: port 2 dropped 3 frames since its record 6
  02                   # ingress port 2
  00                   # reserved
  9d 0e                # header check: CRC-16/CCITT-FALSE of the 26 bytes above
  ff ff ff ff ff ff    # frame: destination MAC (broadcast)
  02 00 00 00 00 01    #        source MAC
  08 06                #        EtherType 0x0806 (ARP); the rest was cut
  00 00                # padding: 14 -> 16
`);

// Port 0's first record of the session: a 5-byte frame (3 bytes of padding).
const RECORD_B = dump(`
  d5 9a 01             # sync, version 1
  05                   # flags: FIRST | CLOCK_SYNCED
  05 00 05 00          # captured 5, original 5
  00 00 00 00          # sequence number 0
  01 b9 55 69          # seconds 1767225601
  01 00 00 00          # nanoseconds 1
  00 00 00 00          # drops 0
  00 00                # port 0, reserved
  7c f5                # header check
  01 02 03 04 05       # frame
  00 00 00             # padding: 5 -> 8
`);

interface Seen {
  port: number;
  seq: number;
  flags: number;
  caplen: number;
  origlen: number;
  sec: number;
  nsec: number;
  drops: number;
  frame: string;
}

function parse(chunks: Buffer[], maxCaplen?: number): { seen: Seen[]; parser: RecordParser } {
  const seen: Seen[] = [];
  const parser = new RecordParser(
    (r: RecordView) =>
      seen.push({
        port: r.port,
        seq: r.seq,
        flags: r.flags,
        caplen: r.caplen,
        origlen: r.origlen,
        sec: r.sec,
        nsec: r.nsec,
        drops: r.drops,
        frame: r.buf.toString('hex', r.offset, r.offset + r.caplen),
      }),
    { maxCaplen },
  );
  for (const c of chunks) parser.push(c);
  return { seen, parser };
}

const A = {
  port: 2,
  seq: 7,
  flags: 4,
  caplen: 14,
  origlen: 60,
  sec: 1767225600,
  nsec: 500_000_000,
  drops: 3,
  frame: 'ffffffffffff0200000000010806',
};
const B = {
  port: 0,
  seq: 0,
  flags: 5,
  caplen: 5,
  origlen: 5,
  sec: 1767225601,
  nsec: 1,
  drops: 0,
  frame: '0102030405',
};

describe('RecordParser', () => {
  it('checks headers with CRC-16/CCITT-FALSE (check value 0x29B1)', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x29b1);
    expect(crc16(RECORD_A, 0, 26)).toBe(0x0e9d);
  });

  it('reads every field, and skips the padding', () => {
    expect(RECORD_A.length).toBe(44);
    expect(RECORD_B.length).toBe(36);
    const { seen, parser } = parse([Buffer.concat([RECORD_A, RECORD_B])]);
    expect(seen).toEqual([A, B]);
    expect(parser.stats).toMatchObject({ records: 2, resyncs: 0, bytesSkipped: 0, truncated: 0 });
    expect(parser.pending).toBe(0);
  });

  it('puts a record split at any byte back together', () => {
    const stream = Buffer.concat([RECORD_A, RECORD_B, RECORD_A]);
    for (let cut = 1; cut < stream.length; cut++) {
      const { seen, parser } = parse([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(seen, `cut at ${cut}`).toEqual([A, B, A]);
      expect(parser.stats.resyncs).toBe(0);
    }
    const { seen } = parse([...stream].map((b) => Buffer.of(b))); // one byte per transfer
    expect(seen).toEqual([A, B, A]);
  });

  it('takes the largest record across many transfers', () => {
    const big = record(15, 4, 65535);
    expect(big.length).toBe(MAX_RECORD_LENGTH);
    const chunks: Buffer[] = [];
    for (let at = 0; at < big.length; at += 16384) chunks.push(big.subarray(at, at + 16384));
    const { seen } = parse(chunks);
    expect(seen.map((s) => [s.port, s.seq, s.caplen])).toEqual([[15, 4, 65535]]);
  });

  it('is not fooled by a record inside a frame', () => {
    const inner = record(1, 1, 40);
    const outer = record(3, 9, 200);
    inner.copy(outer, 28 + 50); // a whole valid record in the outer frame's bytes
    const { seen } = parse([outer, RECORD_B]);
    expect(seen.map((s) => `${s.port}:${s.seq}`)).toEqual(['3:9', '0:0']);
  });

  it('skips garbage before a record, counting one resync and every byte', () => {
    const garbage = dump(`
      00 11 22             # noise
      d5 9a 01 ff ff       # a false start: sync, then a header that fails its check
      33 d5                # more noise, a lone first sync byte
    `);
    const { seen, parser } = parse([garbage, RECORD_A]);
    expect(seen).toEqual([A]);
    expect(parser.stats).toMatchObject({ records: 1, resyncs: 1, bytesSkipped: garbage.length });
  });

  it('drops a record whose header fails its check, and finds the next', () => {
    const bad = Buffer.from(RECORD_A);
    bad[8] ^= 0x01; // sequence number 7 -> 6: the check no longer matches
    const { seen, parser } = parse([bad, RECORD_B]);
    expect(seen).toEqual([B]);
    expect(parser.stats).toMatchObject({ resyncs: 1, badChecks: 1, bytesSkipped: bad.length });
  });

  it('drops records of another version and with impossible fields, even with a right check', () => {
    const v2 = Buffer.from(RECORD_A);
    v2[2] = 2;
    v2.writeUInt16LE(crc16(v2, 0, 26), 26);
    const longer = Buffer.from(RECORD_A);
    longer.writeUInt16LE(10, 6); // original length 10 < captured 14
    longer.writeUInt16LE(crc16(longer, 0, 26), 26);
    const { seen, parser } = parse([v2, RECORD_B, longer, RECORD_B]);
    expect(seen).toEqual([B, B]);
    expect(parser.stats).toMatchObject({ badVersions: 1, badFields: 1, resyncs: 2 });
  });

  it('drops records longer than its limit', () => {
    const { seen, parser } = parse([record(1, 1, 2000), RECORD_B], 1514);
    expect(seen).toEqual([B]);
    expect(parser.stats.badFields).toBe(1);
  });

  it('drops the partial record at a discontinuity and resyncs on what follows', () => {
    const { seen, parser } = parse([RECORD_A.subarray(0, 30)]);
    parser.discontinuity(); // the transfer with the rest failed
    parser.push(RECORD_A.subarray(40)); // the tail of A arrives in the next transfer
    parser.push(RECORD_B);
    expect(seen).toEqual([B]);
    expect(parser.stats).toMatchObject({ truncated: 1, resyncs: 1, bytesSkipped: 4 });
  });

  it('starts a new stream aligned after reset', () => {
    const { seen, parser } = parse([RECORD_A.subarray(0, 10)]);
    parser.reset();
    parser.push(RECORD_B);
    expect(seen).toEqual([B]);
    expect(parser.stats).toMatchObject({ truncated: 0, bytesSkipped: 10, resyncs: 0 });
  });
});
