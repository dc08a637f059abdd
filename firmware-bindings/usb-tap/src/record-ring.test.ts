import { describe, expect, it } from 'vitest';
import type { RecordView } from './parser.js';
import { RecordRing } from './record-ring.js';

function view(n: number, length: number, port = 0): RecordView {
  const buf = Buffer.alloc(length + 10, n & 0xff);
  return {
    buf,
    offset: 10,
    caplen: length,
    origlen: length + 4,
    seq: n,
    sec: n,
    nsec: 7,
    drops: 0,
    port,
    flags: 4,
  };
}

function takeAll(ring: RecordRing, max = 1000): number[] {
  const n = ring.take(max);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const s = ring.slotOf(k);
    const bytes = ring.buf.subarray(ring.offset[s], ring.offset[s] + ring.caplen[s]);
    expect(bytes.every((b) => b === (ring.sec[s] & 0xff))).toBe(true);
    out.push(ring.sec[s]);
  }
  return out;
}

describe('RecordRing', () => {
  it('hands records out in order with their fields', () => {
    const ring = new RecordRing(1000, 8);
    expect(ring.push(view(1, 100, 3))).toBe(true);
    expect(ring.push(view(2, 50))).toBe(true);
    expect(ring.waiting).toBe(2);
    expect(ring.take(1)).toBe(1);
    const s = ring.slotOf(0);
    expect([
      ring.caplen[s],
      ring.origlen[s],
      ring.sec[s],
      ring.nsec[s],
      ring.port[s],
      ring.flags[s],
    ]).toEqual([100, 104, 1, 7, 3, 4]);
    expect(ring.waiting).toBe(1);
    expect(takeAll(ring)).toEqual([2]); // continues after the first
    ring.release();
    expect(ring.waiting).toBe(0);
    expect(ring.fill()).toBe(0);
  });

  it('refuses what does not fit, keeps what is handed out until released, and wraps', () => {
    const ring = new RecordRing(1000, 100);
    for (let i = 0; i < 3; i++) expect(ring.push(view(i, 300))).toBe(true);
    expect(ring.push(view(3, 300))).toBe(false); // 900 used, 100 free
    expect(ring.fill()).toBeCloseTo(0.9);
    expect(takeAll(ring, 2)).toEqual([0, 1]);
    expect(ring.push(view(4, 300))).toBe(false); // handed out: still in use
    ring.release();
    expect(ring.push(view(5, 300))).toBe(true); // wraps to the start
    expect(ring.push(view(6, 300))).toBe(true);
    expect(ring.push(view(7, 100))).toBe(false); // only [600, 600) between the new and the oldest
    expect(takeAll(ring)).toEqual([2, 5, 6]);
    ring.release();
    expect(ring.push(view(8, 1000))).toBe(true);
    expect(ring.push(view(9, 1))).toBe(false);
  });

  it('refuses when its slots are used up', () => {
    const ring = new RecordRing(1 << 16, 4);
    for (let i = 0; i < 4; i++) expect(ring.push(view(i, 10))).toBe(true);
    expect(ring.push(view(4, 10))).toBe(false);
    expect(ring.fill()).toBe(1);
    for (let round = 0; round < 50; round++) {
      const got = takeAll(ring);
      ring.release();
      expect(got.length).toBeGreaterThan(0);
      for (let i = 0; i < got.length; i++)
        expect(ring.push(view(5 + round * 4 + i, 10 + i * 100))).toBe(true);
    }
  });
});
