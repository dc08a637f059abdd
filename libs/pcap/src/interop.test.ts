// Files written by editcap and tcpdump from captures we made must read back
// byte for byte as what we wrote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapWriter } from './pcap-writer.js';
import { PcapngWriter } from './pcapng-writer.js';
import type { PcapngReader } from './pcapng-reader.js';
import type { Frame } from './test-util.js';
import { diffFrames, makeFrames, readAll, run, tempDir, toMicro } from './test-util.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const frames = makeFrames(1000, 31, 1514, 2);
const oneIf: Frame[] = frames.map((f) => ({ ...f, ifIndex: 0, flags: 0 }));
const ourPcap = tmp.path('ours.pcap');
const ourPcapng = tmp.path('ours.pcapng');

beforeAll(() => {
  const w = new PcapWriter(ourPcap, { linkType: 1, nanosecond: true });
  for (const f of frames) w.writeFrame(f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec);
  w.close();
  const g = new PcapngWriter(ourPcapng, {
    interfaces: [
      { linkType: 1, name: 'a' },
      { linkType: 1, name: 'b' },
    ],
  });
  for (const f of frames)
    g.writeFrame(f.ifIndex, f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec, f.flags);
  g.close();
});

function converted(tool: string, args: string[], name: string): string {
  const out = tmp.path(name);
  run(tool, [...args.map((a) => (a === 'OUT' ? out : a))]);
  return out;
}

describe('reading what editcap writes', () => {
  it('editcap -F nsecpcap', () => {
    const r = readAll(converted('editcap', ['-F', 'nsecpcap', ourPcap, 'OUT'], 'e.nsec.pcap'));
    expect(r.error).toBeNull();
    expect(r.reader!.nanosecond).toBe(true);
    expect(diffFrames(r.frames, oneIf)).toBeNull();
  });

  it('editcap -F pcap (microseconds, truncated)', () => {
    const r = readAll(converted('editcap', ['-F', 'pcap', ourPcap, 'OUT'], 'e.us.pcap'));
    expect(r.error).toBeNull();
    expect(r.reader!.nanosecond).toBe(false);
    expect(diffFrames(r.frames, toMicro(oneIf))).toBeNull();
  });

  it('editcap -F pcapng', () => {
    const r = readAll(converted('editcap', ['-F', 'pcapng', ourPcap, 'OUT'], 'e.pcapng'));
    expect(r.error).toBeNull();
    expect(r.reader!.format).toBe('pcapng');
    expect(diffFrames(r.frames, oneIf)).toBeNull();
  });

  it('editcap -F pcapng from our pcapng keeps interfaces and flags', () => {
    const r = readAll(
      converted('editcap', ['-F', 'pcapng', ourPcapng, 'OUT'], 'e2.pcapng'),
      {},
      100,
    );
    expect(r.error).toBeNull();
    expect((r.reader as PcapngReader).interfaces.map((i) => i.name)).toEqual(['a', 'b']);
    expect(diffFrames(r.frames, frames)).toBeNull();
  });
});

describe('reading what tcpdump writes', () => {
  it('tcpdump -r ours.pcap -w (µs)', () => {
    const r = readAll(converted('tcpdump', ['-n', '-r', ourPcap, '-w', 'OUT'], 't.us.pcap'));
    expect(r.error).toBeNull();
    expect(diffFrames(r.frames, toMicro(oneIf))).toBeNull();
  });

  it('tcpdump --time-stamp-precision=nano -r ours.pcapng -w', () => {
    const r = readAll(
      converted(
        'tcpdump',
        ['-n', '--time-stamp-precision=nano', '-r', ourPcapng, '-w', 'OUT'],
        't.ns.pcap',
      ),
    );
    expect(r.error).toBeNull();
    expect(r.reader!.nanosecond).toBe(true);
    expect(diffFrames(r.frames, oneIf)).toBeNull();
  });

  it('tcpdump -n prints every frame of our files', () => {
    for (const p of [ourPcap, ourPcapng]) {
      const out = run('tcpdump', ['-n', '-r', p]);
      // one line per frame starts with its time (some decoders add continuation
      // lines); an empty frame prints as "[Invalid header: caplen==0...]"
      const lines = out.split('\n');
      const empty = frames.filter((f) => f.caplen === 0).length;
      expect(lines.filter((l) => /^\d\d:\d\d:\d\d\.\d{6} /.test(l))).toHaveLength(
        frames.length - empty,
      );
      expect(lines.filter((l) => l.startsWith('[Invalid header: caplen==0'))).toHaveLength(empty);
    }
  });
});
