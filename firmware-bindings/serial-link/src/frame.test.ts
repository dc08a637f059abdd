import { hex } from '@netmirror/packet';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Portable } from './crc32.js';
import { parseEvent } from './events.js';
import {
  EventOp,
  FrameDecoder,
  Kind,
  MAX_FRAME,
  Op,
  encodeFrame,
  opName,
  parseFrame,
  statusName,
  wireLength,
  type Frame,
} from './frame.js';
import { cobsEncode } from './cobs.js';

// READ_REGS seq 0x1234, address 0x10, count 2.
const readRegsPlain = hex`
  01        // kind: request
  34 12     // seq 0x1234
  02        // op: READ_REGS
  10 00 00 00 02 00  // address 0x10, count 2
  f0 d5 74 e7        // CRC-32 e774d5f0, little-endian
`;
const readRegsWire = hex`
  06 01 34 12 02 10  // code 6: five bytes, then a zero
  01                 // zero
  01                 // zero
  02 02              // 02, then a zero
  05 f0 d5 74 e7     // CRC, last block: no zero after it
  00                 // delimiter
`;

/** A frame with a valid CRC around any kind/op/body, COBS-encoded with its delimiter. */
function raw(plain: Buffer): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(plain));
  return Buffer.concat([cobsEncode(Buffer.concat([plain, crc])), hex`00`]);
}

function collect(maxFrame?: number): { decoder: FrameDecoder; frames: Frame[] } {
  const frames: Frame[] = [];
  return { decoder: new FrameDecoder((f) => frames.push(f), { maxFrame }), frames };
}

describe('CRC-32', () => {
  it('is IEEE 802.3 (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('the portable table agrees with zlib, also when continued', () => {
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff));
    expect(crc32Portable(data)).toBe(zlibCrc32(data));
    expect(crc32Portable(data.subarray(1000), crc32Portable(data.subarray(0, 1000)))).toBe(
      zlibCrc32(data),
    );
  });
});

describe('encodeFrame / parseFrame', () => {
  it('encodes the fixture byte for byte', () => {
    expect(
      encodeFrame(Kind.REQUEST, 0x1234, Op.READ_REGS, hex`10 00 00 00 02 00`).toString('hex'),
    ).toBe(readRegsWire.toString('hex'));
  });

  it('parses the decoded fixture', () => {
    const f = parseFrame(readRegsPlain) as Frame;
    expect({ ...f, body: f.body.toString('hex') }).toEqual({
      kind: Kind.REQUEST,
      seq: 0x1234,
      op: Op.READ_REGS,
      body: '100000000200',
    });
  });

  it('says why it rejects a frame', () => {
    const bad = Buffer.from(readRegsPlain);
    bad[5] ^= 0x40;
    expect(parseFrame(bad)).toBe('CRC mismatch');
    expect(parseFrame(hex`01 00 00 07 00 00 00`)).toBe('frame of 7 bytes is shorter than 8');
    expect(parseFrame(Buffer.alloc(MAX_FRAME + 1))).toBe('frame of 1025 bytes exceeds 1024');
    const kind9 = hex`09 00 00 07 00 00 00 00`;
    kind9.writeUInt32LE(crc32(kind9.subarray(0, 4)), 4);
    expect(parseFrame(kind9)).toBe('unknown kind 9');
  });

  it('refuses out-of-range fields and bodies', () => {
    expect(() => encodeFrame(Kind.REQUEST, 0x10000, Op.PING, hex``)).toThrow(RangeError);
    expect(() => encodeFrame(Kind.REQUEST, 0, Op.PING, Buffer.alloc(1017))).toThrow(RangeError);
    expect(wireLength(1016)).toBe(1024 + 5 + 1);
    expect(
      encodeFrame(Kind.REQUEST, 0x0101, Op.PING, Buffer.alloc(1016, 0x55)).length,
    ).toBeLessThanOrEqual(wireLength(1016));
  });

  it('names ops and statuses', () => {
    expect(opName(Op.TABLE_WRITE)).toBe('TABLE_WRITE');
    expect(opName(EventOp.OVERFLOW)).toBe('OVERFLOW');
    expect(opName(0x42)).toBe('0x42');
    expect(statusName(4)).toBe('BAD_TABLE');
  });
});

describe('FrameDecoder', () => {
  it('delivers frames from any chunking, delimiters included', () => {
    const stream = Buffer.concat([
      hex`00`,
      readRegsWire,
      encodeFrame(Kind.RESPONSE, 1, Op.PING, Buffer.alloc(1016, 0)),
      encodeFrame(Kind.EVENT, 2, EventOp.LINK, hex`01 01 10 27 00 00`),
    ]);
    for (const size of [1, 2, 3, 7, 254, 255, 1000, stream.length]) {
      const { decoder, frames } = collect();
      for (let at = 0; at < stream.length; at += size) decoder.push(stream.subarray(at, at + size));
      expect(frames.map((f) => [f.kind, f.seq, f.op, f.body.length])).toEqual([
        [Kind.REQUEST, 0x1234, Op.READ_REGS, 6],
        [Kind.RESPONSE, 1, Op.PING, 1016],
        [Kind.EVENT, 2, EventOp.LINK, 6],
      ]);
      expect(decoder.stats).toEqual({
        frames: 3,
        crcErrors: 0,
        malformed: 0,
        oversize: 0,
        bytesDiscarded: 0,
      });
    }
  });

  it('gives each frame its own body (the decoder reuses its buffers)', () => {
    const { decoder, frames } = collect();
    decoder.push(encodeFrame(Kind.RESPONSE, 1, Op.PING, hex`aa bb`));
    decoder.push(encodeFrame(Kind.RESPONSE, 2, Op.PING, hex`cc dd`));
    expect(frames.map((f) => f.body.toString('hex'))).toEqual(['aabb', 'ccdd']);
  });

  it('counts what it throws away and carries on', () => {
    const { decoder, frames } = collect();
    const corrupt = Buffer.from(readRegsWire);
    corrupt[3] ^= 0x01;
    const short = raw(hex`01 00 00`); // 7 bytes decoded
    const kind7 = raw(hex`07 00 00 01`);
    const big = raw(Buffer.concat([hex`02 00 00 07`, Buffer.alloc(1020, 1)])); // 1028 decoded
    decoder.push(hex`00 00 00`); // flushes: not errors
    decoder.push(corrupt); // CRC
    decoder.push(hex`03 11 00`); // COBS block cut short by a zero
    decoder.push(short);
    decoder.push(kind7);
    decoder.push(Buffer.alloc(5000, 0x55)); // no delimiter yet: dropped as it comes
    decoder.push(hex`00`);
    decoder.push(big);
    decoder.push(readRegsWire);
    expect(frames).toHaveLength(1);
    expect(decoder.stats).toEqual({
      frames: 1,
      crcErrors: 1,
      malformed: 3,
      oversize: 2,
      bytesDiscarded:
        corrupt.length - 1 + 2 + short.length - 1 + kind7.length - 1 + 5000 + big.length - 1,
    });
  });

  it('never holds more than one encoded frame', () => {
    const { decoder } = collect();
    for (let i = 0; i < 100; i++) decoder.push(Buffer.alloc(10_000, 0x42));
    expect(decoder.stats.bytesDiscarded).toBe(1_000_000);
    expect((decoder as unknown as { encoded: Buffer }).encoded.length).toBe(1029);
  });

  it('honours a smaller maxFrame', () => {
    const { decoder, frames } = collect(64);
    decoder.push(encodeFrame(Kind.RESPONSE, 1, Op.PING, Buffer.alloc(56)));
    decoder.push(encodeFrame(Kind.RESPONSE, 2, Op.PING, Buffer.alloc(57)));
    expect(frames.map((f) => f.seq)).toEqual([1]);
    expect(decoder.stats.oversize).toBe(1);
  });

  it('keeps decoding the chunk when a listener throws, then rethrows', () => {
    const seen: number[] = [];
    const decoder = new FrameDecoder((f) => {
      seen.push(f.seq);
      if (f.seq === 1) throw new Error('listener bug');
    });
    const two = Buffer.concat([
      encodeFrame(Kind.EVENT, 1, 0x82, hex`00 00 00 00 00 00`),
      encodeFrame(Kind.EVENT, 2, 0x82, hex`00 00 00 00 00 00`),
    ]);
    expect(() => decoder.push(two)).toThrow('listener bug');
    expect(seen).toEqual([1, 2]);
  });
});

describe('events', () => {
  it('parses each event body', () => {
    expect(parseEvent(EventOp.RESET, 0, hex`78 56 34 12 02`)).toEqual({
      type: 'reset',
      seq: 0,
      bootId: 0x12345678,
      reason: 2,
      reasonName: 'COMMANDED',
    });
    expect(parseEvent(EventOp.LINK, 5, hex`03 01 10 27 00 00`)).toEqual({
      type: 'link',
      seq: 5,
      port: 3,
      up: true,
      speedMbps: 10000,
    });
    expect(parseEvent(EventOp.OVERFLOW, 6, hex`01 e8 03 00 00`)).toEqual({
      type: 'overflow',
      seq: 6,
      port: 1,
      framesLost: 1000,
    });
    expect(parseEvent(EventOp.FIRMWARE, 7, hex`04 ff 00 00 00`)).toEqual({
      type: 'firmware',
      seq: 7,
      state: 4,
      detail: 255,
    });
    expect(parseEvent(EventOp.LINK, 8, hex`03 01`)).toBe('event 0x82 body of 2 bytes');
    expect(parseEvent(0x99, 9, hex`00 00 00 00 00`)).toBe('unknown event 0x99');
  });
});
