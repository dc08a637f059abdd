import { describe, expect, it } from 'vitest';
import { Deduplicator } from './dedup.js';

describe('Deduplicator', () => {
  const frame = Buffer.from('00112233445566778899aabb08004500001c0000', 'hex');
  const other = Buffer.from(frame);
  other[19] = 1;

  it('drops an identical frame within the window and keeps it after', () => {
    const d = new Deduplicator(50);
    expect(d.isDuplicate(frame, 0, frame.length, 100, 0)).toBe(false);
    expect(d.isDuplicate(frame, 0, frame.length, 100, 49_000_000)).toBe(true);
    expect(d.isDuplicate(other, 0, other.length, 100, 49_000_001)).toBe(false);
    // 50 ms after the last sighting (which refreshed the entry) it is new again.
    expect(d.isDuplicate(frame, 0, frame.length, 100, 99_000_001)).toBe(false);
  });

  it('tells frames apart by every byte and by length', () => {
    const d = new Deduplicator(1000);
    d.isDuplicate(frame, 0, frame.length, 1, 0);
    expect(d.isDuplicate(frame, 0, frame.length - 1, 1, 1)).toBe(false);
    for (let i = 0; i < frame.length; i++) {
      const f = Buffer.from(frame);
      f[i] ^= 0x80;
      expect(d.isDuplicate(f, 0, f.length, 1, 2)).toBe(false);
    }
  });

  it('remembers many flows at once', () => {
    const d = new Deduplicator(1000);
    const f = Buffer.alloc(64);
    for (let i = 0; i < 20_000; i++) {
      f.writeUInt32BE(i, 0);
      expect(d.isDuplicate(f, 0, 64, 5, i)).toBe(false);
    }
    let again = 0;
    for (let i = 0; i < 20_000; i++) {
      f.writeUInt32BE(i, 0);
      if (d.isDuplicate(f, 0, 64, 5, 30_000 + i)) again++;
    }
    expect(again).toBeGreaterThan(19_000); // a few may have been evicted from a full bucket
  });

  it('finds a live entry behind an expired one in the same run of slots', () => {
    // 16 slots: frames that share a home slot probe the same run.
    const d = new Deduplicator(50, 16);
    const frames: Buffer[] = [];
    for (let i = 0; frames.length < 2; i++) {
      const f = Buffer.alloc(20, i);
      let h = 0x811c9dc5 ^ 20;
      for (const byte of f) h = Math.imul(h ^ byte, 0x01000193);
      if (((h ^ (h >>> 16)) & 15) === 3) frames.push(f);
    }
    const [x, a] = frames;
    expect(d.isDuplicate(x, 0, 20, 1, 0)).toBe(false); // home slot
    expect(d.isDuplicate(a, 0, 20, 1, 10_000_000)).toBe(false); // next slot
    // X has expired, A (40 ms old) has not.
    expect(d.isDuplicate(a, 0, 20, 1, 50_000_001)).toBe(true);
  });
});
