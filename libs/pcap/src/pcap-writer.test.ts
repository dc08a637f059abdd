import { afterAll, describe, expect, it } from 'vitest';
import { hex } from '@netmirror/packet';
import { pcapFileHeader, PcapWriter, writePcapRecord } from './pcap-writer.js';
import { diffFrames, epoch, makeFrames, readAll, run, tempDir, toMicro } from './test-util.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('pcap writer encoding', () => {
  it('writes the file header', () => {
    expect(pcapFileHeader({ linkType: 1, nanosecond: true })).toEqual(hex`
      4d 3c b2 a1   // magic a1b23c4d (ns), little-endian
      02 00 04 00   // version 2.4
      00 00 00 00   // thiszone
      00 00 00 00   // sigfigs
      00 00 04 00   // snaplen 262144
      01 00 00 00   // linktype 1
    `);
    expect(pcapFileHeader({ linkType: 1, snapLen: 65535, fcsLen: 4 })).toEqual(hex`
      d4 c3 b2 a1   // magic a1b2c3d4 (µs)
      02 00 04 00  00 00 00 00  00 00 00 00
      ff ff 00 00   // snaplen 65535
      01 00 00 24   // linktype 1 | F bit | FCS 2 words
    `);
  });

  it('encodes a record into a caller buffer at an offset', () => {
    const dst = Buffer.alloc(40, 0xee);
    const src = Buffer.from('xxdeadbeef', 'latin1');
    const n = writePcapRecord(
      dst,
      3,
      hex`00 11 de ad be ef`,
      2,
      4,
      60,
      1780000000,
      123456789,
      true,
    );
    expect(n).toBe(20);
    expect(dst.subarray(3, 23)).toEqual(hex`
      00 a5 18 6a   // ts_sec 1780000000
      15 cd 5b 07   // ts_nsec 123456789
      04 00 00 00   // caplen 4
      3c 00 00 00   // wirelen 60
      de ad be ef
    `);
    expect(dst[2]).toBe(0xee);
    expect(dst[23]).toBe(0xee);
    writePcapRecord(dst, 0, src, 0, 0, 0, 1780000000, 123456789, false);
    expect(dst.subarray(0, 8)).toEqual(hex`00 a5 18 6a  40 e2 01 00`); // µs 123456
    expect(() => writePcapRecord(dst, 30, src, 0, 10, 10, 0, 0, true)).toThrow(RangeError);
  });
});

describe('pcap writer round trip through capinfos and tshark', () => {
  for (const nanosecond of [true, false]) {
    it(`${nanosecond ? 'ns' : 'µs'}: 3000 frames`, () => {
      const frames = makeFrames(3000, nanosecond ? 11 : 12);
      const p = tmp.path(`rt-${nanosecond}.pcap`);
      const w = new PcapWriter(p, { linkType: 1, nanosecond, bufferSize: 64 << 10 });
      for (const f of frames) w.writeFrame(f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec);
      w.close();
      const ns = (n: number) => (nanosecond ? n : Math.floor(n / 1000) * 1000);
      const first = frames[0];
      const last = frames[frames.length - 1];
      // capinfos prints as many decimals as the file has
      const t = (sec: number, nsec: number) =>
        nanosecond ? epoch(sec, nsec) : epoch(sec, nsec).slice(0, -3);
      expect(run('capinfos', ['-c', '-a', '-e', '-S', '-T', '-r', p])).toBe(
        `${p}\t3000\t${t(first.tsSec, first.tsNsec)}\t${t(last.tsSec, last.tsNsec)}\n`,
      );
      const lines = run('tshark', [
        '-r',
        p,
        '-T',
        'fields',
        '-e',
        'frame.time_epoch',
        '-e',
        'frame.len',
        '-e',
        'frame.cap_len',
      ]);
      expect(lines).toBe(
        frames.map((f) => `${epoch(f.tsSec, ns(f.tsNsec))}\t${f.wirelen}\t${f.caplen}\n`).join(''),
      );
      const back = readAll(p, {}, 100);
      expect(back.error).toBeNull();
      expect(
        diffFrames(back.frames, nanosecond ? frames : toMicro(frames), [
          'data',
          'caplen',
          'wirelen',
          'tsSec',
          'tsNsec',
        ]),
      ).toBeNull();
    }, 60_000);
  }

  it('writes frames bigger than its staging buffer', () => {
    const frames = makeFrames(50, 5, 9000);
    const p = tmp.path('big.pcap');
    const w = new PcapWriter(p, { linkType: 1, nanosecond: true, bufferSize: 4096 });
    for (const f of frames) w.writeFrame(f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec);
    w.close();
    expect(w.bytesWritten).toBe(24 + frames.reduce((a, f) => a + 16 + f.caplen, 0));
    expect(
      diffFrames(readAll(p).frames, frames, ['data', 'wirelen', 'tsSec', 'tsNsec']),
    ).toBeNull();
  });
});
