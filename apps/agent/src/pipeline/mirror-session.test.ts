import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { validateRuleSet } from '@netmirror/rules';
import { PcapSink } from '../sinks/index.js';
import { PcapFileTap } from '../taps/index.js';
import { MirrorSession } from './mirror-session.js';

/** A capture file replayed as if it were live: the session never waits for destinations. */
class LiveReplayTap extends PcapFileTap {
  override readonly live = true;
}

/** Reads a FIFO 4 KiB at a time with a pause, into a file: a destination far slower than capture. */
const SLOW_READER = `
const fs = require('fs');
const [fifo, out] = process.argv.slice(1);
const fd = fs.openSync(fifo, 'r'), o = fs.openSync(out, 'w'), b = Buffer.alloc(4096);
const nap = new Int32Array(new SharedArrayBuffer(4));
for (let n; (n = fs.readSync(fd, b)) > 0; ) { fs.writeSync(o, b, 0, n); Atomics.wait(nap, 0, 0, 2); }
`;

function countFrames(path: string): Buffer[] {
  const r = openCaptureReader(path);
  const batch = new FrameBatch(512);
  const frames: Buffer[] = [];
  for (let n; (n = r.next(batch)) > 0;) {
    for (let i = 0; i < n; i++)
      frames.push(
        Buffer.from(batch.buf.subarray(batch.offset[i], batch.offset[i] + batch.caplen[i])),
      );
  }
  r.close();
  return frames;
}

describe('MirrorSession', () => {
  let dir: string;
  let input: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-session-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 20_000, seed: 3 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a slow destination drops and counts its own copies; the others lose nothing', async () => {
    const fifo = join(dir, 'slow.fifo');
    const slowOut = join(dir, 'slow.pcap');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn(process.execPath, ['-e', SLOW_READER, fifo, slowOut], {
      stdio: 'inherit',
    });
    const readerDone = new Promise((r) => reader.on('exit', r));

    const fast = new PcapSink('fast', 'pcap:fast', join(dir, 'fast.pcap'));
    const slow = new PcapSink('slow', 'pcap:slow', fifo, { queueBytes: 256 << 10 });
    const session = new MirrorSession({
      tap: new LiveReplayTap('pcap:in', input),
      ruleSet: validateRuleSet({ rules: [{ name: 'all', priority: 1, match: {} }] }),
      sinks: new Map([
        ['fast', fast],
        ['slow', slow],
      ]),
      defaultSinks: [fast, slow],
    });
    const summary = await session.run();
    await readerDone;

    const [f, s] = summary.destinations;
    expect(summary.counters.read).toBe(20_000);
    expect([f.offered, f.sent, f.dropped, f.failed]).toEqual([20_000, 20_000, 0, 0]);
    expect(s.offered).toBe(20_000);
    expect(s.dropped).toBeGreaterThan(1_000);
    expect(s.sent + s.dropped).toBe(20_000);
    // What the slow destination did deliver is exactly what it counted as sent,
    // in order, each a frame the fast one also has.
    const fastFrames = countFrames(join(dir, 'fast.pcap'));
    const slowFrames = countFrames(slowOut);
    expect(slowFrames.length).toBe(s.sent);
    let j = 0;
    for (const frame of slowFrames) {
      while (j < fastFrames.length && !fastFrames[j].equals(frame)) j++;
      expect(j).toBeLessThan(fastFrames.length);
      j++;
    }
  });

  it('an offline source waits for a slow destination and loses nothing', async () => {
    const fifo = join(dir, 'slow2.fifo');
    const slowOut = join(dir, 'slow2.pcap');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn(
      process.execPath,
      ['-e', SLOW_READER.replace('0, 2)', '0, 0)'), fifo, slowOut],
      { stdio: 'inherit' },
    );
    const readerDone = new Promise((r) => reader.on('exit', r));
    const slow = new PcapSink('slow', 'pcap:slow', fifo, { queueBytes: 256 << 10 });
    const summary = await new MirrorSession({
      tap: new PcapFileTap('pcap:in', input),
      ruleSet: validateRuleSet({ rules: [{ name: 'all', priority: 1, match: {} }] }),
      sinks: new Map([['slow', slow]]),
      defaultSinks: [slow],
    }).run();
    await readerDone;
    expect(summary.destinations[0]).toMatchObject({ offered: 20_000, sent: 20_000, dropped: 0 });
    expect(countFrames(slowOut).length).toBe(20_000);
  });

  it('paces a replay at a fixed rate or at a multiple of the recorded pace', async () => {
    const small = join(dir, 'small.pcap');
    writeCaptureFile({ path: small, frames: 600, seed: 9 });
    const run = async (pace: { pps: number } | { speed: number }): Promise<number> => {
      const sink = new PcapSink('out', 'pcap:out', join(dir, 'paced.pcap'));
      const t = performance.now();
      const summary = await new MirrorSession({
        tap: new PcapFileTap('pcap:small', small),
        ruleSet: validateRuleSet({ rules: [{ name: 'all', priority: 1, match: {} }] }),
        sinks: new Map([['out', sink]]),
        defaultSinks: [sink],
        pace,
      }).run();
      expect(summary.destinations[0].sent).toBe(600);
      return performance.now() - t;
    };
    const atRate = await run({ pps: 2000 }); // 600 frames: 0.3 s
    expect(atRate).toBeGreaterThan(290);
    expect(atRate).toBeLessThan(1500);
    const reader = openCaptureReader(small);
    const batch = new FrameBatch(1000);
    reader.next(batch);
    reader.close();
    const recordedMs =
      ((batch.tsSec[599] - batch.tsSec[0]) * 1e9 + (batch.tsNsec[599] - batch.tsNsec[0])) / 1e6;
    const fast = await run({ speed: recordedMs / 250 }); // squeezed into 250 ms
    expect(fast).toBeGreaterThan(240);
    expect(fast).toBeLessThan(1500);
  });

  it('changes rules and destinations while capturing, losing and repeating no frame', async () => {
    const input2 = join(dir, 'live.pcap');
    writeCaptureFile({ path: input2, frames: 3000, seed: 21 });
    const a = new PcapSink('a', 'pcap:a', join(dir, 'a.pcap'));
    const b = new PcapSink('b', 'pcap:b', join(dir, 'b.pcap'));
    const all = validateRuleSet({ rules: [{ name: 'all', priority: 1, match: {} }] });
    const session = new MirrorSession({
      tap: new PcapFileTap('pcap:live', input2),
      ruleSet: all,
      sinks: new Map([['a', a]]),
      defaultSinks: [a],
      pace: { pps: 6000 }, // 0.5 s of live traffic
    });
    const running = session.run();
    await new Promise((r) => setTimeout(r, 150));
    // A destination that cannot open: refused, and the running configuration stays.
    const broken = new PcapSink('x', 'pcap:x', join(dir, 'no-such-dir', 'x.pcap'));
    await expect(
      session.reconfigure({
        ruleSet: all,
        sinks: new Map([['x', broken]]),
        defaultSinks: [broken],
      }),
    ).rejects.toThrow(/ENOENT/);
    await new Promise((r) => setTimeout(r, 100));
    await session.reconfigure({ ruleSet: all, sinks: new Map([['b', b]]), defaultSinks: [b] });
    const summary = await running;

    const input = countFrames(input2);
    const before = countFrames(join(dir, 'a.pcap'));
    const after = countFrames(join(dir, 'b.pcap'));
    expect(before.length).toBeGreaterThan(300);
    expect(after.length).toBeGreaterThan(300);
    expect(before.length + after.length).toBe(3000);
    [...before, ...after].forEach((f, i) => expect(f.equals(input[i]), `frame ${i}`).toBe(true));
    expect(summary.destinations.map((d) => [d.name, d.sent])).toEqual([
      ['a', before.length],
      ['b', after.length],
    ]);
  });
});
