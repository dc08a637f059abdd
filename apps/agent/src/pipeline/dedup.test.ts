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
});
