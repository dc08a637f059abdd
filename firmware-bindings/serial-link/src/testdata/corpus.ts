// The fuzz corpus of malformed input for FrameDecoder: each entry is a byte
// stream that must yield no frame. fuzz.test.ts writes them to fuzz/*.bin
// (when missing, or with UPDATE_CORPUS=1) and checks the files still match.
import { cobsEncode } from '../cobs.js';
import { crc32 } from '../crc32.js';
import { EventOp, Kind, Op, encodeFrame } from '../frame.js';

/** A deterministic byte generator (LCG), so the corpus never changes by itself. */
function bytes(n: number, seed: number, nonZero = false): Buffer {
  const out = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = nonZero ? ((s >>> 24) % 255) + 1 : s >>> 24;
  }
  return out;
}

/** A COBS-encoded, delimited frame around `plain` with a valid CRC. */
function withCrc(plain: Buffer): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(plain));
  return Buffer.concat([cobsEncode(Buffer.concat([plain, crc])), Buffer.of(0)]);
}

const Z = Buffer.of(0);
const good = (): Buffer => encodeFrame(Kind.REQUEST, 0x0102, Op.TABLE_WRITE, bytes(300, 9));

function badCrc(): Buffer {
  const plain = Buffer.concat([Buffer.of(Kind.RESPONSE, 5, 0, Op.PING, 0), bytes(40, 3)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE((crc32(plain) ^ 0x00010000) >>> 0);
  return Buffer.concat([cobsEncode(Buffer.concat([plain, crc])), Z]);
}

function withoutByte(frame: Buffer, at: number): Buffer {
  return Buffer.concat([frame.subarray(0, at), frame.subarray(at + 1)]);
}

export function corpus(): [name: string, data: Buffer][] {
  const frame = good();
  const event = encodeFrame(Kind.EVENT, 7, EventOp.LINK, Buffer.of(1, 1, 0x10, 0x27, 0, 0));
  return [
    ['garbage-no-zero', bytes(300, 1, true)],
    ['garbage-with-zeros', bytes(500, 2)],
    ['zeros', Buffer.alloc(64)],
    ['truncated-frame', Buffer.concat([frame.subarray(0, frame.length - 6), Z])],
    ['bad-crc', badCrc()],
    ['short-frames', Buffer.concat([Buffer.of(1, 0, 1, 1, 0), withCrc(Buffer.of(1, 0, 0))])],
    [
      'oversize-decoded',
      withCrc(Buffer.concat([Buffer.of(Kind.RESPONSE, 1, 0, Op.PING), bytes(1021, 4)])),
    ],
    ['overlong-run', Buffer.concat([Buffer.alloc(3000, 0xff), Z])],
    ['max-encoded-ff', Buffer.concat([Buffer.alloc(1029, 0xff), Z])],
    ['unterminated-run', bytes(1030, 5, true)],
    [
      'unknown-kinds',
      Buffer.concat([0, 4, 255].map((k) => withCrc(Buffer.of(k, 1, 0, Op.PING, 0xaa)))),
    ],
    ['cobs-past-end', Buffer.concat([Buffer.of(0xff), bytes(10, 6, true), Z])],
    ['dropped-byte', withoutByte(frame, 100)],
    ['merged-frames', Buffer.concat([event.subarray(0, event.length - 1), event])],
    ['duplicated-code-byte', Buffer.concat([Buffer.of(frame[0]), frame])],
  ];
}
