import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { validateRuleSet } from '@netmirror/rules';
import { MirrorSession } from '../pipeline/index.js';
import { PcapFileTap } from '../taps/index.js';
import { RecorderSink } from './recorder-sink.js';

function frames(path: string): string[] {
  const r = openCaptureReader(path);
  const batch = new FrameBatch(512);
  const out: string[] = [];
  for (let n; (n = r.next(batch)) > 0;) {
    for (let i = 0; i < n; i++) out.push(`${batch.tsSec[i]}.${batch.tsNsec[i]}/${batch.caplen[i]}`);
  }
  r.close();
  return out;
}

async function record(input: string, sink: RecorderSink, pace?: { pps: number }): Promise<void> {
  await new MirrorSession({
    tap: new PcapFileTap('pcap:in', input),
    ruleSet: validateRuleSet({ rules: [{ name: 'all', priority: 1, match: {} }] }),
    sinks: new Map([['rec', sink]]),
    defaultSinks: [sink],
    pace,
  }).run();
}

describe('RecorderSink', () => {
  let dir: string;
  let input: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-recorder-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 20_000, seed: 5 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rotates by size: every file is a whole pcapng and together they hold every frame in order', async () => {
    const rec = new RecorderSink('rec', 'record:x', join(dir, 'size'), { fileBytes: 2 << 20 });
    await record(input, rec);
    const files = rec.files();
    expect(files.length).toBeGreaterThan(3);
    for (const f of files.slice(0, -1)) expect(statSync(f).size).toBeLessThan((2 << 20) + 2000);
    const all = files.flatMap((f) => {
      // capinfos reads each file on its own: a complete capture, statistics block included.
      expect(execFileSync('capinfos', ['-c', '-M', f]).toString()).toMatch(
        /Number of packets:\s+\d+/,
      );
      return frames(f);
    });
    expect(all).toEqual(frames(input));
  });

  it('deletes the oldest files beyond the total size, and files past the age limit', async () => {
    const where = join(dir, 'retained');
    mkdirSync(where);
    const stale = join(where, 'netmirror-20200101T000000Z-000001.pcapng');
    writeFileSync(stale, Buffer.alloc(1000));
    const old = new Date(Date.now() - 3 * 86400_000);
    utimesSync(stale, old, old);
    const unrelated = join(where, 'notes.txt');
    writeFileSync(unrelated, 'kept: not a recording');
    const rec = new RecorderSink('rec', 'record:x', where, {
      fileBytes: 1 << 20,
      maxTotalBytes: 4 << 20,
      maxAgeSeconds: 86400,
    });
    await record(input, rec);
    const files = rec.files();
    expect(files).not.toContain(stale);
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    expect(total).toBeLessThanOrEqual(4 << 20);
    expect(total).toBeGreaterThan(2 << 20);
    expect(statSync(unrelated).isFile()).toBe(true);
    // The newest frames are the ones kept.
    const kept = files.flatMap(frames);
    expect(kept).toEqual(frames(input).slice(-kept.length));
    // Tighter settings take effect at once.
    rec.setRetention({ maxTotalBytes: 1 });
    expect(rec.files().length).toBe(1); // only the file being written (here: the last one) survives
  });

  it('rotates by time', async () => {
    const small = join(dir, 'small.pcap');
    writeCaptureFile({ path: small, frames: 500, seed: 6 });
    const rec = new RecorderSink('rec', 'record:x', join(dir, 'time'), { fileSeconds: 1 });
    await record(small, rec, { pps: 200 }); // 2.5 s
    expect(rec.files().length).toBeGreaterThanOrEqual(2);
    expect(rec.files().flatMap(frames)).toEqual(frames(small));
  });
});
