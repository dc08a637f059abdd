import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  generateCapture,
  DEFAULT_START_SEC,
  type CaptureOptions,
  type CaptureStats,
} from './generate.js';
import { DEFAULT_MIX, MALFORMED_KINDS, TRAFFIC_KINDS } from './kinds.js';

interface Run {
  stats: CaptureStats;
  digest: string;
  lengths: number[];
  ts: number[]; // ns since start (exact below 2^53)
}

function runGen(o: CaptureOptions): Run {
  const h = createHash('sha256');
  const lengths: number[] = [];
  const ts: number[] = [];
  const start = o.startSec ?? DEFAULT_START_SEC;
  const meta = Buffer.alloc(12);
  const stats = generateCapture(o, (buf, off, len, sec, nsec) => {
    meta.writeUInt32BE(len, 0);
    meta.writeUInt32BE(sec, 4);
    meta.writeUInt32BE(nsec, 8);
    h.update(meta);
    h.update(buf.subarray(off, off + len));
    lengths.push(len);
    ts.push((sec - start) * 1e9 + nsec);
  });
  return { stats, digest: h.digest('hex'), lengths, ts };
}

describe('generateCapture', () => {
  const base = runGen({ frames: 50_000, seed: 42 });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(runGen({ frames: 50_000, seed: 42 }).digest).toBe(base.digest);
    expect(runGen({ frames: 50_000, seed: 43 }).digest).not.toBe(base.digest);
    // A shorter run is a prefix of a longer one.
    expect(runGen({ frames: 1000, seed: 42 }).lengths).toEqual(base.lengths.slice(0, 1000));
  });

  it('emits frames of 60..1514 bytes with a bimodal size mix', () => {
    const { lengths, stats } = base;
    expect(stats.frames).toBe(50_000);
    expect(lengths.length).toBe(50_000);
    expect(Math.min(...lengths)).toBe(60);
    expect(Math.max(...lengths)).toBe(1514);
    expect(stats.bytes).toBe(lengths.reduce((a, b) => a + b, 0));
    const share = (p: (l: number) => boolean): number => lengths.filter(p).length / lengths.length;
    expect(share((l) => l <= 66)).toBeGreaterThan(0.12); // bare ACKs, ARP, small requests
    expect(share((l) => l === 1514)).toBeGreaterThan(0.3); // full-size segments
    expect(share((l) => l > 66 && l < 1514)).toBeGreaterThan(0.25);
  });

  it('timestamps start at 2026-01-01T00:00:00Z and strictly increase', () => {
    const { ts, stats } = base;
    expect(ts[0]).toBe(0);
    expect(stats.firstTs).toEqual({ sec: 1767225600, nsec: 0 });
    for (let i = 1; i < ts.length; i++)
      if (!(ts[i] > ts[i - 1])) throw new Error(`frame ${i}: time does not increase`);
    const meanGap = ts[ts.length - 1] / (ts.length - 1);
    expect(meanGap).toBeGreaterThan(5_000);
    expect(meanGap).toBeLessThan(100_000);
  });

  it('follows the default mix by kind, with ~13% VLAN-tagged, some QinQ and MPLS', () => {
    const { stats } = base;
    const total = Object.values(DEFAULT_MIX).reduce((a, b) => a + b, 0);
    for (const k of TRAFFIC_KINDS) {
      const want = DEFAULT_MIX[k] / total;
      expect(Math.abs(stats.byKind[k] / stats.frames - want), k).toBeLessThan(0.015);
    }
    expect(stats.vlanTagged / stats.frames).toBeGreaterThan(0.1);
    expect(stats.vlanTagged / stats.frames).toBeLessThan(0.16);
    expect(stats.qinq / stats.frames).toBeGreaterThan(0.01);
    expect(stats.mpls / stats.frames).toBeGreaterThan(0.004);
    expect(stats.malformed).toBe(0);
  });

  it('breaks the requested fraction of frames, every way', () => {
    const r = runGen({ frames: 20_000, seed: 9, malformedRate: 0.1 });
    expect(r.stats.malformed / 20_000).toBeGreaterThan(0.09);
    expect(r.stats.malformed / 20_000).toBeLessThan(0.11);
    for (const k of MALFORMED_KINDS) expect(r.stats.malformedByKind[k], k).toBeGreaterThan(100);
    expect(r.lengths.filter((l) => l === 0).length).toBe(r.stats.malformedByKind['zero-length']);
    expect(r.stats.minLength).toBe(0);
  });

  it('honours a custom mix (ARP only)', () => {
    let arp = 0;
    generateCapture(
      {
        frames: 500,
        seed: 1,
        mix: Object.fromEntries(TRAFFIC_KINDS.map((k) => [k, k === 'arp' ? 1 : 0])),
      },
      (buf, off, len) => {
        let at = off + 12;
        while (
          buf.readUInt16BE(at) === 0x8100 ||
          buf.readUInt16BE(at) === 0x88a8 ||
          buf.readUInt16BE(at) === 0x9100
        )
          at += 4;
        if (buf.readUInt16BE(at) === 0x0806 && len === 60) arp++;
      },
    );
    expect(arp).toBe(500);
  });

  it('rejects bad options', () => {
    const none = (): void => {};
    expect(() => generateCapture({ frames: -1, seed: 1 }, none)).toThrow(RangeError);
    expect(() => generateCapture({ frames: 1.5, seed: 1 }, none)).toThrow(RangeError);
    expect(() => generateCapture({ frames: 1, seed: 1, malformedRate: 2 }, none)).toThrow(
      RangeError,
    );
    expect(() => generateCapture({ frames: 1, seed: 1, maxFrameLength: 100 }, none)).toThrow(
      RangeError,
    );
    expect(() => generateCapture({ frames: 1, seed: 1, mix: { tcp4: -1 } }, none)).toThrow(
      RangeError,
    );
  });

  it('generates a few hundred thousand frames per second at least', () => {
    const n = 300_000;
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    generateCapture({ frames: n, seed: 7 }, (_b, _o, len) => {
      bytes += len;
    });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(
      `capgen: ${n} frames, ${(bytes / 1e6).toFixed(0)} MB in ${s.toFixed(2)} s = ${Math.round(n / s / 1000)} kframes/s`,
    );
    expect(n / s).toBeGreaterThan(50_000); // generous: the machine is shared; typical is 500k-900k
  });
});
