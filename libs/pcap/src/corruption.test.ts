// Damaged files: every complete record before the damage comes out, then a
// CaptureFileError naming the offset of the damaged record; never another
// kind of exception, never a hang.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapWriter } from './pcap-writer.js';
import { PcapngWriter } from './pcapng-writer.js';
import type { Frame, ReadResult } from './test-util.js';
import { diffFrames, makeFrames, prng, readBytes, tempDir } from './test-util.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

interface Layout {
  bytes: Buffer;
  /** [start, end) of every record/block; `frame` = index of the frame it carries. */
  units: { start: number; end: number; frame: number }[];
  frames: Frame[];
}

function pcapFile(frames: Frame[]): Layout {
  const p = tmp.path(`c-${Math.random()}.pcap`);
  const w = new PcapWriter(p, { linkType: 1, nanosecond: true });
  for (const f of frames) w.writeFrame(f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec);
  w.close();
  const bytes = readFileSync(p);
  const units = [{ start: 0, end: 24, frame: -1 }];
  let at = 24;
  frames.forEach((f, i) => {
    units.push({ start: at, end: at + 16 + f.caplen, frame: i });
    at += 16 + f.caplen;
  });
  return { bytes, units, frames: frames.map((f) => ({ ...f, ifIndex: 0, flags: 0 })) };
}

/** Two sections (two files back to back), two interfaces each, ISBs in between. */
function pcapngFile(frames: Frame[]): Layout {
  const half = Math.ceil(frames.length / 2);
  const parts: Buffer[] = [];
  for (const [s, chunk] of [frames.slice(0, half), frames.slice(half)].entries()) {
    const p = tmp.path(`c-${Math.random()}.pcapng`);
    const w = new PcapngWriter(p, {
      interfaces: [
        { linkType: 1, name: `s${s}a` },
        { linkType: 1, name: `s${s}b`, tsResol: 6 },
      ],
    });
    chunk.forEach((f, i) => {
      w.writeFrame(f.ifIndex, f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec, f.flags);
      if (i === 2)
        w.writeStatistics({ interfaceId: 0, tsSec: f.tsSec, tsNsec: 0, ifRecv: 10, ifDrop: 1 });
    });
    w.close();
    parts.push(readFileSync(p));
  }
  const bytes = Buffer.concat(parts);
  const units: Layout['units'] = [];
  let frame = 0;
  for (let at = 0; at < bytes.length;) {
    const len = bytes.readUInt32LE(at + 4);
    units.push({ start: at, end: at + len, frame: bytes.readUInt32LE(at) === 6 ? frame++ : -1 });
    at += len;
  }
  const expected = frames.map((f, i) => ({
    ...f,
    ifIndex: f.ifIndex + (i < half ? 0 : 2),
    tsNsec: f.ifIndex === 1 ? Math.floor(f.tsNsec / 1000) * 1000 : f.tsNsec,
  }));
  return { bytes, units, frames: expected };
}

/** Checks a read damaged in unit `badUnit` (null: intact up to `cut`). */
function expectDamage(
  r: ReadResult,
  layout: Layout,
  badUnit: number | null,
  what: string,
  cut = Infinity,
): void {
  const good = layout.units.filter(
    (u, i) => (badUnit === null ? u.end <= cut : i < badUnit) && u.frame >= 0,
  ).length;
  const diff = diffFrames(r.frames, layout.frames.slice(0, good));
  if (diff) expect.fail(`${what}: ${diff}`);
  if (badUnit === null) {
    if (r.error) expect.fail(`${what}: unexpected ${r.error.message}`);
    return;
  }
  if (!r.error) expect.fail(`${what}: no error`);
  const start = layout.units[badUnit].start;
  if (r.error.offset !== start || !r.error.message.includes(`at byte ${start}`)) {
    expect.fail(
      `${what}: error "${r.error.message}" (offset ${r.error.offset}), want offset ${start}`,
    );
  }
}

function truncationSweep(
  layout: Layout,
  lengths: Iterable<number>,
  options = {},
  batch = 3,
): number {
  let n = 0;
  for (const L of lengths) {
    const r = readBytes(tmp, layout.bytes.subarray(0, L), options, batch);
    const inside = layout.units.findIndex((u) => u.start < L && L < u.end);
    const boundary = L === 0 ? false : layout.units.some((u) => u.end === L);
    expectDamage(r, layout, boundary ? null : inside === -1 ? 0 : inside, `cut at ${L}`, L);
    n++;
  }
  return n;
}

const range = (a: number, b: number): number[] =>
  Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

describe('truncated files', () => {
  let small: Layout;
  let smallNg: Layout;
  let big: Layout;
  let bigNg: Layout;
  beforeAll(() => {
    const few = makeFrames(8, 41, 40, 2);
    small = pcapFile(few);
    smallNg = pcapngFile(few);
    const many = makeFrames(3000, 42, 1500, 2);
    big = pcapFile(many);
    bigNg = pcapngFile(many);
  });

  it('pcap: cut at every byte of a small file', () => {
    expect(truncationSweep(small, range(0, small.bytes.length + 1))).toBe(small.bytes.length + 1);
  });

  it('pcapng: cut at every byte of a small two-section file', () => {
    truncationSweep(smallNg, range(0, smallNg.bytes.length + 1));
  });

  it('cut across chunk boundaries and near the end of big files, small read buffer', () => {
    // maxCaplen 1500 shrinks the read buffer to ~2.5 KiB: records straddle it constantly
    for (const layout of [big, bigNg]) {
      const size = layout.bytes.length;
      const cuts = [...range(0, 300), ...range(size - 300, size + 1)];
      const rnd = prng(size);
      for (let i = 0; i < 40; i++) cuts.push(Math.floor(rnd() * size));
      truncationSweep(layout, cuts, { maxCaplen: 1500, chunkSize: 0 }, 7);
    }
  }, 120_000);

  it('reads the big files whole with a small buffer and odd batch sizes', () => {
    for (const layout of [big, bigNg]) {
      for (const batch of [1, 5, 1024]) {
        const r = readBytes(tmp, layout.bytes, { maxCaplen: 1500, chunkSize: 0 }, batch);
        expect(r.error).toBeNull();
        expect(diffFrames(r.frames, layout.frames)).toBeNull();
      }
    }
  }, 60_000);
});

describe('damaged length fields', () => {
  it('pcap: an impossible caplen in any record', () => {
    const layout = pcapFile(makeFrames(30, 43, 200));
    for (let u = 1; u < layout.units.length; u++) {
      for (const bad of [0xffffffff, 262145, 0x80000000]) {
        const b = Buffer.from(layout.bytes);
        b.writeUInt32LE(bad, layout.units[u].start + 8);
        const r = readBytes(tmp, b, {}, 4);
        expectDamage(r, layout, u, `record ${u} caplen ${bad}`);
        expect(r.error!.message).toMatch(
          new RegExp(`^pcap: record at byte \\d+ claims caplen ${bad} > 262144`),
        );
      }
    }
  });

  it('pcapng: bad block lengths and trailers in any block', () => {
    const layout = pcapngFile(makeFrames(20, 44, 200, 2));
    for (let u = 0; u < layout.units.length; u++) {
      const { start, end } = layout.units[u];
      const len = end - start;
      const damages: [string, (b: Buffer) => void][] = [
        ['length 0', (b) => b.writeUInt32LE(0, start + 4)],
        ['length 8', (b) => b.writeUInt32LE(8, start + 4)],
        ['length +4', (b) => b.writeUInt32LE(len + 4, start + 4)],
        ['length -4', (b) => b.writeUInt32LE(len - 4, start + 4)],
        ['length huge', (b) => b.writeUInt32LE(0xfffffffc, start + 4)],
        ['trailer', (b) => b.writeUInt32LE(len ^ 0x100, end - 4)],
      ];
      for (const [what, damage] of damages) {
        const b = Buffer.from(layout.bytes);
        damage(b);
        expectDamage(readBytes(tmp, b, {}, 4), layout, u, `block ${u} at ${start}: ${what}`);
      }
    }
  });
});

describe('random damage', () => {
  it('flipped bytes never cause another exception or a hang', () => {
    const layouts = [pcapFile(makeFrames(40, 45, 300)), pcapngFile(makeFrames(40, 46, 300, 2))];
    const rnd = prng(47);
    let errors = 0;
    for (let i = 0; i < 600; i++) {
      const layout = layouts[i % 2];
      const b = Buffer.from(layout.bytes);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
      const r = readBytes(tmp, b, {}, 8);
      if (r.error) {
        errors++;
        expect(r.error.offset).toBeGreaterThanOrEqual(0);
        expect(r.error.offset).toBeLessThanOrEqual(b.length);
        expect(r.error.message).toMatch(/^(pcap|pcapng|capture): .*at byte \d+/);
      }
    }
    expect(errors).toBeGreaterThan(0);
  }, 60_000);
});
