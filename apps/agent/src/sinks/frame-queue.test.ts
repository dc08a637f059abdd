import { describe, expect, it } from 'vitest';
import { FrameQueue } from './frame-queue.js';

/** Pushes a message of `len` bytes filled with `tag`; returns its offset or -1. */
function push(q: FrameQueue, len: number, tag: number): number {
  const at = q.reserve(len);
  if (at < 0) return -1;
  q.buf.fill(tag, at, at + len);
  q.commit(at, len);
  return at;
}

/** Pops every message in order, checking each holds its tag. */
function drain(q: FrameQueue): number[] {
  const tags: number[] = [];
  while (q.count > 0) {
    const off = q.msgOff[q.head];
    const len = q.msgLen[q.head];
    const tag = q.buf[off];
    for (let i = off; i < off + len; i++) expect(q.buf[i]).toBe(tag);
    tags.push(tag);
    q.release(1);
  }
  return tags;
}

describe('FrameQueue', () => {
  it('refuses messages once full, by bytes or by count', () => {
    const q = new FrameQueue(100, 4);
    expect(push(q, 40, 1)).toBe(0);
    expect(push(q, 40, 2)).toBe(40);
    expect(push(q, 40, 3)).toBe(-1); // bytes
    expect(push(q, 10, 3)).toBe(80);
    expect(push(q, 5, 4)).toBe(90);
    expect(push(q, 1, 5)).toBe(-1); // count
    expect(drain(q)).toEqual([1, 2, 3, 4]);
  });

  it('wraps to the front without overwriting unsent messages', () => {
    const q = new FrameQueue(100, 16);
    push(q, 40, 1);
    push(q, 40, 2);
    q.release(1); // 40 bytes free at the front
    expect(push(q, 30, 3)).toBe(0); // does not fit at 80: wraps
    expect(push(q, 10, 4)).toBe(-1); // would reach the oldest message at 40
    expect(push(q, 9, 4)).toBe(30);
    expect(q.contiguousRun()).toEqual({ messages: 1, end: 80 });
    expect(drain(q)).toEqual([2, 3, 4]);
    expect(q.fill()).toBe(0);
  });

  it('keeps order and content under a long random workload', () => {
    const q = new FrameQueue(4096, 64);
    let next = 0;
    let expected = 0;
    let seed = 7;
    const rnd = (n: number): number => (seed = (Math.imul(seed, 48271) + 1) >>> 0) % n;
    for (let round = 0; round < 20_000; round++) {
      if (rnd(3) > 0) {
        if (push(q, 1 + rnd(300), next & 0xff) >= 0) next++;
      } else {
        const n = rnd(q.count + 1);
        for (let i = 0; i < n; i++) {
          expect(q.buf[q.msgOff[q.head]]).toBe(expected & 0xff);
          q.release(1);
          expected++;
        }
      }
      expect(q.fill()).toBeLessThanOrEqual(1);
    }
    expect(drain(q).length).toBe(next - expected);
  });

  it('always takes what freeBytes() promises', () => {
    const q = new FrameQueue(10_000, 1000);
    let seed = 11;
    const rnd = (n: number): number => (seed = (Math.imul(seed, 48271) + 1) >>> 0) % n;
    for (let round = 0; round < 2_000; round++) {
      for (let k = rnd(q.count + 1); k > 0; k--) q.release(1);
      let free = q.freeBytes();
      for (let len = 1 + rnd(800); len <= free && q.freeMessages() > 0; len = 1 + rnd(800)) {
        expect(push(q, len, round & 0xff)).toBeGreaterThanOrEqual(0);
        free -= len;
      }
    }
  });

  it('starts over at the offset the destination asks for', () => {
    const q = new FrameQueue(1000, 16, () => 100);
    expect(push(q, 300, 1)).toBe(100);
    expect(push(q, 500, 2)).toBe(400);
    q.release(1); // 300 bytes free from 100
    expect(push(q, 150, 3)).toBe(100); // wraps to 100, not 0
    expect(push(q, 200, 4)).toBe(-1); // would reach the oldest message at 400
    expect(drain(q)).toEqual([2, 3]);
    expect(push(q, 10, 5)).toBe(100); // empty: starts at 100 again
  });
});
