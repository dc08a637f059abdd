// FrameDecoder against the malformed-input corpus (testdata/fuzz/*.bin) and
// random mutations of good frames: it must never throw, must deliver no
// frame out of garbage, and must deliver the good frames that follow.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventOp, FrameDecoder, Kind, Op, encodeFrame, type Frame } from './frame.js';
import { corpus } from './testdata/corpus.js';

const dir = join(import.meta.dirname, 'testdata', 'fuzz');
const entries = corpus();

const goodTail = (): Buffer =>
  Buffer.concat([
    Buffer.of(0), // the flush a sender puts before a frame after trouble
    encodeFrame(Kind.RESPONSE, 1, Op.READ_REGS, Buffer.of(0, 1, 2, 3, 4)),
    encodeFrame(Kind.EVENT, 2, EventOp.OVERFLOW, Buffer.of(1, 0, 0, 1, 0)),
    encodeFrame(Kind.REQUEST, 3, Op.PING, Buffer.alloc(1016, 0x5a)),
  ]);

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Feeds `data` in random-sized chunks; returns what came out. */
function feed(decoder: FrameDecoder, data: Buffer, random: () => number): void {
  for (let at = 0; at < data.length;) {
    const n = 1 + Math.floor(random() * 64);
    decoder.push(data.subarray(at, at + n));
    at += n;
  }
}

describe('fuzz corpus', () => {
  it('is on disk as the generator makes it', () => {
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of entries) {
      const file = join(dir, `${name}.bin`);
      if (process.env.UPDATE_CORPUS === '1' || !existsSync(file)) writeFileSync(file, data);
      expect(readFileSync(file).equals(data), name).toBe(true);
    }
  });

  it.each(entries.map(([name]) => [name]))(
    '%s: no frame, no throw, then the good frames',
    (name) => {
      const data = readFileSync(join(dir, `${name}.bin`));
      for (const seed of [1, 2, 3]) {
        const frames: Frame[] = [];
        const decoder = new FrameDecoder((f) => frames.push(f));
        const random = prng(seed);
        feed(decoder, data, random);
        expect(frames, 'frames out of garbage').toEqual([]);
        feed(decoder, goodTail(), random);
        expect(frames.map((f) => f.seq)).toEqual([1, 2, 3]);
        // Everything but lone 0x00s (flushes) is counted as rejected.
        const { crcErrors, malformed, oversize } = decoder.stats;
        expect(crcErrors + malformed + oversize > 0).toBe(name !== 'zeros');
      }
    },
  );
});

describe('random mutations', () => {
  it('never throw and never stop the good frames that follow', () => {
    const random = prng(42);
    const originals = [
      encodeFrame(Kind.RESPONSE, 0x1234, Op.TABLE_READ, Buffer.from('status and some table bytes')),
      encodeFrame(Kind.EVENT, 0xffff, EventOp.RESET, Buffer.of(1, 2, 3, 4, 0)),
      encodeFrame(Kind.REQUEST, 0, Op.TABLE_WRITE, Buffer.alloc(600, 0)),
    ];
    const frames: Frame[] = [];
    const decoder = new FrameDecoder((f) => frames.push(f));
    for (let i = 0; i < 2000; i++) {
      const data = Buffer.from(originals[i % originals.length]);
      mutate(data, random);
      feed(decoder, data, random);
      frames.length = 0;
      feed(decoder, goodTail(), random);
      expect(frames.map((f) => f.seq)).toEqual([1, 2, 3]);
    }
    expect(decoder.stats.crcErrors + decoder.stats.malformed).toBeGreaterThan(1000);
  });
});

/** Flips bits, zeroes or deletes bytes in place (deletion leaves a shorter frame's worth). */
function mutate(data: Buffer, random: () => number): Buffer {
  const hits = 1 + Math.floor(random() * 4);
  for (let h = 0; h < hits; h++) {
    const at = Math.floor(random() * (data.length - 1));
    const how = Math.floor(random() * 3);
    if (how === 0) data[at] ^= 1 << Math.floor(random() * 8);
    else if (how === 1) data[at] = 0;
    else data.copyWithin(at, at + 1);
  }
  return data;
}
