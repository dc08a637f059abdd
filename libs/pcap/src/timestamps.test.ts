import { describe, expect, it } from 'vitest';
import { ticksToTime, timeToTicks, tsResolution } from './timestamps.js';
import { prng } from './test-util.js';

// BigInt is fine here: it is the reference the exact double arithmetic is checked against.
function reference(ticks: bigint, raw: number): [number, number] {
  const exp = BigInt(raw & 0x7f);
  const perSec = raw & 0x80 ? 1n << exp : 10n ** exp;
  const sec = ticks / perSec;
  const nsec = ((ticks % perSec) * 1_000_000_000n) / perSec;
  return [Number(sec), Number(nsec)];
}

function convert(ticks: bigint, raw: number): [number, number] {
  const out = new Float64Array(2);
  ticksToTime(Number(ticks >> 32n), Number(ticks & 0xffffffffn), tsResolution(raw), out);
  return [out[0], out[1]];
}

const resolutions = [
  0, 1, 3, 6, 9, 10, 12, 15, 18, 19, 25, 0x80, 0x8a, 0x94, 0x9e, 0xa0, 0xa4, 0xa5, 0xb0, 0xbf, 0xc0,
  0xc8,
];

describe('ticksToTime', () => {
  it('splits nanosecond timestamps near 2026 exactly (beyond 2^53)', () => {
    // 2026-05-28T20:26:40.123456789Z in ns = 1780000000123456789 > 2^53
    expect(convert(1780000000123456789n, 9)).toEqual([1780000000, 123456789]);
    expect(convert(1780000000999999999n, 9)).toEqual([1780000000, 999999999]);
    expect(convert(1780000001000000000n, 9)).toEqual([1780000001, 0]);
    expect(convert(1767225599999999999n, 9)).toEqual([1767225599, 999999999]); // 2025-12-31T23:59:59.999999999Z
    expect(convert(1780000000123456n, 6)).toEqual([1780000000, 123456000]);
  });

  it('matches a BigInt reference for every resolution, at the edges and at random', () => {
    const rnd = prng(7);
    const samples: bigint[] = [
      0n,
      1n,
      999_999_999n,
      1_000_000_000n,
      (1n << 32n) - 1n,
      1n << 32n,
      (1n << 53n) - 1n,
      1n << 53n,
      (1n << 53n) + 1n,
      (1n << 64n) - 1n,
      1780000000123456789n,
    ];
    for (let i = 0; i < 2000; i++) {
      samples.push(
        (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32)),
      );
      samples.push(1780000000000000000n + BigInt(Math.floor(rnd() * 1e15)));
    }
    for (const raw of resolutions) {
      for (const t of samples) {
        const got = convert(t, raw);
        const want = reference(t, raw);
        if (want[0] <= Number.MAX_SAFE_INTEGER) {
          if (got[0] !== want[0] || got[1] !== want[1])
            expect([raw, t, got]).toEqual([raw, t, want]);
        } else {
          expect(got[1]).toBe(want[1]); // seconds beyond 2^53 cannot be exact doubles
        }
      }
    }
  });
});

describe('timeToTicks', () => {
  it('encodes ns and µs exactly as hi/lo halves', () => {
    const rnd = prng(3);
    const out = new Float64Array(2);
    for (let i = 0; i < 5000; i++) {
      const sec = i < 3 ? [0, 4294967295, 1780000000][i] : Math.floor(rnd() * 2 ** 32);
      const nsec = Math.floor(rnd() * 1e9);
      timeToTicks(sec, nsec, true, out);
      const ns = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
      expect([out[0], out[1]]).toEqual([Number(ns >> 32n), Number(ns & 0xffffffffn)]);
      timeToTicks(sec, nsec, false, out);
      const us = BigInt(sec) * 1_000_000n + BigInt(Math.floor(nsec / 1000));
      expect([out[0], out[1]]).toEqual([Number(us >> 32n), Number(us & 0xffffffffn)]);
    }
  });
});
