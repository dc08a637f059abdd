/**
 * Capture files as plain arrays of frames (bytes copied out of the reader's
 * buffer), temp directories, and frame identity by timestamp + bytes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import type { CaptureInterface } from '@netmirror/pcap';

export interface Frame {
  data: Buffer;
  wirelen: number;
  sec: number;
  nsec: number;
  ifIndex: number;
  flags: number;
}

export interface CaptureContents {
  format: 'pcap' | 'pcapng';
  frames: Frame[];
  interfaces: readonly CaptureInterface[];
  /** The reader's error after the last good frame (damaged file), or null. */
  error: Error | null;
}

/** Every frame of a pcap or pcapng file; stops (recording the error) at damage. */
export function readCapture(path: string): CaptureContents {
  const reader = openCaptureReader(path);
  const batch = new FrameBatch(4096);
  const frames: Frame[] = [];
  let error: Error | null = null;
  try {
    for (;;) {
      let n: number;
      try {
        n = reader.next(batch);
      } catch (e) {
        error = e as Error;
        break;
      }
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const off = batch.offset[i];
        frames.push({
          data: Buffer.from(batch.buf.subarray(off, off + batch.caplen[i])),
          wirelen: batch.wirelen[i],
          sec: batch.tsSec[i],
          nsec: batch.tsNsec[i],
          ifIndex: batch.ifIndex[i],
          flags: batch.flags[i],
        });
      }
    }
    return { format: reader.format, frames, interfaces: [...reader.interfaces], error };
  } finally {
    reader.close();
  }
}

export function readFrames(path: string): Frame[] {
  const c = readCapture(path);
  if (c.error) throw c.error;
  return c.frames;
}

/** A classic pcap file's records (everything after the 24-byte file header). */
export function pcapRecordSection(path: string): Buffer {
  return readFileSync(path).subarray(24);
}

export const tsKey = (f: { sec: number; nsec: number }): string =>
  `${f.sec}.${String(f.nsec).padStart(9, '0')}`;

/**
 * Maps each output frame to the index of the input frame it copies, by
 * timestamp (the inputs here have strictly increasing timestamps), checking
 * the bytes too. `transform` turns an input frame into what the copy should
 * hold (e.g. VLAN tags stripped). Throws on any output frame with no source.
 */
export function indexesInInput(
  input: readonly Frame[],
  output: readonly Frame[],
  transform?: (f: Frame) => Buffer,
): number[] {
  const byTs = new Map<string, number>();
  input.forEach((f, i) => {
    const k = tsKey(f);
    if (byTs.has(k)) throw new Error(`input has two frames at ${k}; timestamps must be unique`);
    byTs.set(k, i);
  });
  return output.map((f, j) => {
    const i = byTs.get(tsKey(f));
    if (i === undefined)
      throw new Error(
        `output frame ${j + 1} at ${tsKey(f)} has no input frame with that timestamp`,
      );
    const want = transform ? transform(input[i]) : input[i].data;
    if (!want.equals(f.data)) {
      throw new Error(
        `output frame ${j + 1} differs from input frame ${i + 1}:\n  in  ${want.toString('hex')}\n  out ${f.data.toString('hex')}`,
      );
    }
    return i;
  });
}

/** A fresh temporary directory and its remover. */
export function tempDir(prefix: string): {
  dir: string;
  path: (name: string) => string;
  remove: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), `netmirror-e2e-${prefix}-`));
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Compares two sorted frame-number lists; '' when equal, else what each alone has (first 10). */
export function setDifference(ours: readonly number[], expected: readonly number[]): string {
  const a = new Set(ours);
  const b = new Set(expected);
  const onlyOurs = ours.filter((n) => !b.has(n));
  const onlyExpected = expected.filter((n) => !a.has(n));
  if (onlyOurs.length === 0 && onlyExpected.length === 0 && ours.length === expected.length)
    return '';
  return `ours ${ours.length}, expected ${expected.length}; only ours (${onlyOurs.length}): ${onlyOurs.slice(0, 10).join(' ')}; only expected (${onlyExpected.length}): ${onlyExpected.slice(0, 10).join(' ')}`;
}
