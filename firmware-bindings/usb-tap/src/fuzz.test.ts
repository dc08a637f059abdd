// The parser against the corpus of damaged streams (testdata/fuzz/*.bin)
// and random damage to good ones: it never throws, finds no record that
// was not sent, and finds the good records that follow the damage.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordParser } from './parser.js';
import type { RecordView } from './parser.js';
import { corpus } from './testdata/corpus.js';
import { goodTail, prng, record } from './testdata/streams.js';

const dir = join(import.meta.dirname, 'testdata', 'fuzz');
const entries = corpus();
const TAIL = ['9:100', '9:101', '9:102', '9:103', '9:104'];

/** Feeds `data` in random-sized transfers (1..2048 bytes). */
function feed(parser: RecordParser, data: Buffer, random: () => number): void {
  for (let at = 0; at < data.length;) {
    const n = 1 + Math.floor(random() * 2048);
    parser.push(data.subarray(at, at + n));
    at += n;
  }
}

function collector(): { ids: string[]; parser: RecordParser } {
  const ids: string[] = [];
  const parser = new RecordParser((r: RecordView) => ids.push(`${r.port}:${r.seq}`), {
    maxCaplen: 16384,
  });
  return { ids, parser };
}

describe('fuzz corpus', () => {
  it('is on disk as the generator makes it', () => {
    mkdirSync(dir, { recursive: true });
    for (const { name, data } of entries) {
      const file = join(dir, `${name}.bin`);
      if (process.env.UPDATE_CORPUS === '1' || !existsSync(file)) writeFileSync(file, data);
      expect(readFileSync(file).equals(data), name).toBe(true);
    }
  });

  it.each(entries.map((e) => [e.name, e]))(
    '%s: no throw, only what was sent, then the good records',
    (name, entry) => {
      const data = readFileSync(join(dir, `${name}.bin`));
      for (const seed of [1, 2, 3]) {
        const { ids, parser } = collector();
        const random = prng(seed);
        feed(parser, data, random);
        if (entry.cut) parser.discontinuity(); // the driver knows when bytes were lost
        expect(ids, 'records in the damage').toEqual(entry.found);
        feed(parser, goodTail(), random);
        expect(ids.slice(entry.found.length), 'records after it').toEqual(TAIL);
        const s = parser.stats;
        expect(s.resyncs + s.truncated, 'damage counted').toBeGreaterThan(0);
        expect(parser.pending).toBe(0);
      }
    },
  );
});

describe('random damage', () => {
  /** Flips bits, zeroes, deletes or duplicates bytes in `data[0, end)`. */
  function damage(data: Buffer, end: number, random: () => number): Buffer {
    let out = Buffer.from(data);
    const hits = 1 + Math.floor(random() * 4);
    for (let h = 0; h < hits; h++) {
      const at = Math.floor(random() * (end - 1));
      const how = Math.floor(random() * 4);
      if (how === 0) out[at] ^= 1 << Math.floor(random() * 8);
      else if (how === 1) out[at] = 0;
      else if (how === 2) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
      else out = Buffer.concat([out.subarray(0, at + 1), out.subarray(at)]);
    }
    return out;
  }

  it('never throws, invents nothing, and loses at most the record after the damage', () => {
    const random = prng(42);
    let resyncs = 0;
    for (let i = 0; i < 1500; i++) {
      // Ten records; damage confined to the first five.
      const sizes = Array.from({ length: 10 }, () => 14 + Math.floor(random() * 1600));
      const recs = sizes.map((len, k) => record(k % 4, i * 10 + k, len));
      const damagedEnd = recs.slice(0, 5).reduce((n, r) => n + r.length, 0);
      const stream = damage(Buffer.concat(recs), damagedEnd, random);
      const { ids, parser } = collector();
      feed(parser, stream, random);
      const sent = new Set(recs.map((_, k) => `${k % 4}:${i * 10 + k}`));
      for (const id of ids) expect(sent.has(id), `invented ${id}`).toBe(true);
      for (let k = 6; k < 10; k++) expect(ids).toContain(`${k % 4}:${i * 10 + k}`);
      resyncs += parser.stats.resyncs;
    }
    expect(resyncs).toBeGreaterThan(500);
  });
});
