import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameBatch } from '@netmirror/packet';
import { CaptureFileError } from './errors.js';
import { openCaptureReader } from './open-capture.js';
import { PcapWriter } from './pcap-writer.js';
import { PcapngWriter } from './pcapng-writer.js';

/** Every frame as hex + timestamp, reading with or without read-ahead; the error, if any. */
async function readAll(
  path: string,
  readAhead: boolean,
): Promise<{ frames: string[]; error: string | null }> {
  const r = openCaptureReader(path, { readAhead, chunkSize: 300_000 });
  const batch = new FrameBatch(97);
  const frames: string[] = [];
  let error: string | null = null;
  try {
    for (;;) {
      const wait = r.ready();
      if (wait) await wait;
      const n = r.next(batch);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const o = batch.offset[i];
        frames.push(
          `${batch.tsSec[i]}.${batch.tsNsec[i]}:${batch.buf.toString('hex', o, o + batch.caplen[i])}`,
        );
      }
    }
  } catch (err) {
    if (!(err instanceof CaptureFileError)) throw err;
    error = err.message;
  } finally {
    r.close();
  }
  return { frames, error };
}

describe('read-ahead', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-readahead-'));
    const frame = Buffer.alloc(1600);
    for (const format of ['pcap', 'pcapng'] as const) {
      const path = join(dir, `in.${format}`);
      const w =
        format === 'pcap'
          ? new PcapWriter(path, { linkType: 1, nanosecond: true })
          : new PcapngWriter(path, { interfaces: [{ linkType: 1 }] });
      for (let i = 0; i < 5000; i++) {
        const len = 60 + ((i * 7919) % 1500);
        frame.writeUInt32BE(i, 0);
        frame.fill(i & 0xff, 4, len);
        if (w instanceof PcapWriter) w.writeFrame(frame, 0, len, len, 1_700_000_000 + i, i * 1000);
        else w.writeFrame(0, frame, 0, len, len, 1_700_000_000 + i, i * 1000);
      }
      w.close();
      files[format] = path;
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['pcap', 'pcapng']) {
    it(`yields the same frames as plain reads (${format}, records across chunk boundaries)`, async () => {
      const plain = await readAll(files[format], false);
      const ahead = await readAll(files[format], true);
      expect(plain.frames.length).toBe(5000);
      expect(ahead).toEqual(plain);
    });

    it(`reports damage at the same byte (${format})`, async () => {
      const damaged = join(dir, `damaged.${format}`);
      const bytes = readFileSync(files[format]);
      for (const cut of [1_000_003, 2_500_017, bytes.length - 5]) {
        writeFileSync(damaged, bytes);
        truncateSync(damaged, cut);
        const plain = await readAll(damaged, false);
        const ahead = await readAll(damaged, true);
        expect(plain.error).toMatch(/byte \d+/);
        expect(ahead).toEqual(plain);
      }
    });
  }

  it('still works for a caller that never waits (falls back to plain reads)', async () => {
    const r = openCaptureReader(files.pcap, { readAhead: true, chunkSize: 300_000 });
    const batch = new FrameBatch(1000);
    let total = 0;
    for (let n; (n = r.next(batch)) > 0;) total += n;
    r.close();
    expect(total).toBe(5000);
    await new Promise((res) => setTimeout(res, 50)); // let a stray background read finish
  });
});
