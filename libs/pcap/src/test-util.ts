// Helpers shared by the tests (excluded from the build).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameBatch } from '@netmirror/packet';
import { CaptureFileError } from './errors.js';
import type { CaptureReader, CaptureReaderOptions } from './capture-reader.js';
import { openCaptureReader } from './open-capture.js';

export interface Frame {
  data: Buffer;
  caplen: number;
  wirelen: number;
  tsSec: number;
  tsNsec: number;
  ifIndex: number;
  flags: number;
}

/** A temp folder (mkdtemp) and its cleanup. */
export function tempDir(): { dir: string; path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'netmirror-pcap-'));
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ReadResult {
  frames: Frame[];
  error: CaptureFileError | null;
  reader: CaptureReader | null;
}

/**
 * Reads a whole file, copying the frames out. Any exception other than a
 * CaptureFileError propagates (and fails the test); a loop bound catches hangs.
 */
export function readAll(
  path: string,
  options: CaptureReaderOptions = {},
  batchSize = 64,
): ReadResult {
  const frames: Frame[] = [];
  let reader: CaptureReader | null = null;
  try {
    reader = openCaptureReader(path, options);
    const batch = new FrameBatch(batchSize);
    for (let guard = 0; ; guard++) {
      if (guard > 1e7) throw new Error('reader does not terminate');
      const n = reader.next(batch);
      if (n !== batch.count) throw new Error(`next() returned ${n}, batch.count ${batch.count}`);
      if (n === 0) {
        if (reader.next(batch) !== 0) throw new Error('next() after the end returned frames');
        break;
      }
      for (let i = 0; i < n; i++) {
        const o = batch.offset[i];
        frames.push({
          data: Buffer.from(batch.buf.subarray(o, o + batch.caplen[i])),
          caplen: batch.caplen[i],
          wirelen: batch.wirelen[i],
          tsSec: batch.tsSec[i],
          tsNsec: batch.tsNsec[i],
          ifIndex: batch.ifIndex[i],
          flags: batch.flags[i],
        });
      }
    }
    return { frames, error: null, reader };
  } catch (e) {
    if (!(e instanceof CaptureFileError)) throw e;
    // the error is sticky
    if (reader) {
      let again: unknown = null;
      try {
        reader.next(new FrameBatch(4));
      } catch (err) {
        again = err;
      }
      if (again !== e) throw new Error('the error was not sticky', { cause: e });
    }
    return { frames, error: e, reader };
  } finally {
    reader?.close();
  }
}

/** Writes bytes to a file and reads it back with readAll(). */
export function readBytes(
  dir: { path(name: string): string },
  bytes: Uint8Array,
  options: CaptureReaderOptions = {},
  batchSize = 64,
): ReadResult {
  const p = dir.path(`bytes-${Math.random().toString(36).slice(2)}.cap`);
  writeFileSync(p, bytes);
  try {
    return readAll(p, options, batchSize);
  } finally {
    rmSync(p, { force: true });
  }
}

/** Runs a tool, returning stdout; stderr lines other than tshark's root warning fail. */
export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 << 20,
  });
}

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 2026-05-28T20:26:40Z, a realistic "now". */
export const T2026 = 1780000000;

/**
 * n frames with increasing nanosecond timestamps around 2026, lengths from 0
 * to maxLen (some sliced: wirelen > caplen), interfaces 0..ifCount-1.
 */
export function makeFrames(n: number, seed = 1, maxLen = 1514, ifCount = 1): Frame[] {
  const rnd = prng(seed);
  const frames: Frame[] = [];
  let sec = T2026;
  let nsec = 0;
  for (let i = 0; i < n; i++) {
    nsec += Math.floor(rnd() * 3e8);
    if (nsec >= 1e9) {
      sec += Math.floor(nsec / 1e9);
      nsec %= 1e9;
    }
    const caplen = i % 17 === 5 ? 0 : Math.floor(rnd() * (maxLen + 1));
    const data = Buffer.alloc(caplen);
    for (let j = 0; j < caplen; j++) data[j] = (rnd() * 256) | 0;
    const wirelen = i % 5 === 3 ? caplen + Math.floor(rnd() * 100) : caplen;
    frames.push({
      data,
      caplen,
      wirelen,
      tsSec: sec,
      tsNsec: nsec,
      ifIndex: i % ifCount,
      flags: i % 3 === 0 ? 1 + (i % 2) : 0,
    });
  }
  return frames;
}

/** The frame.time_epoch tshark prints for (sec, nsec). */
export function epoch(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/**
 * First difference between two frame lists, or null. (vitest's deep
 * equality is slow on thousands of Buffers.) `fields` picks what to compare.
 */
export function diffFrames(
  got: Frame[],
  want: Frame[],
  fields: (keyof Frame)[] = ['data', 'caplen', 'wirelen', 'tsSec', 'tsNsec', 'ifIndex', 'flags'],
): string | null {
  if (got.length !== want.length) return `${got.length} frames, want ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    for (const k of fields) {
      const a = got[i][k];
      const b = want[i][k];
      const same = Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
      if (!same)
        return `frame ${i}: ${k} ${String(Buffer.isBuffer(a) ? a.toString('hex') : a)}, want ${String(Buffer.isBuffer(b) ? b.toString('hex') : b)}`;
    }
  }
  return null;
}

/** Frames with timestamps cut to microseconds. */
export function toMicro(frames: Frame[]): Frame[] {
  return frames.map((f) => ({ ...f, tsNsec: Math.floor(f.tsNsec / 1000) * 1000 }));
}
