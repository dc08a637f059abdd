import { afterAll, describe, expect, it } from 'vitest';
import { hex } from '@netmirror/packet';
import {
  enhancedPacketBlockLength,
  pcapngInterfaceDescription,
  pcapngInterfaceStatistics,
  pcapngSectionHeader,
  PcapngWriter,
  writeEnhancedPacketBlock,
} from './pcapng-writer.js';
import type { PcapngReader } from './pcapng-reader.js';
import { diffFrames, epoch, makeFrames, readAll, run, tempDir } from './test-util.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('pcapng writer encoding', () => {
  it('writes SHB, IDB and ISB', () => {
    expect(pcapngSectionHeader()).toEqual(hex`
      0a 0d 0d 0a  30 00 00 00   // SHB, length 48
      4d 3c 2b 1a                // byte-order magic
      01 00 00 00                // version 1.0
      ff ff ff ff ff ff ff ff    // section length -1
      04 00 09 00  4e 65 74 4d 69 72 72 6f 72 00 00 00   // shb_userappl "NetMirror"
      00 00 00 00                // opt_endofopt
      30 00 00 00
    `);
    expect(pcapngInterfaceDescription({ linkType: 1, name: 'eth0', description: 'tap A' }))
      .toEqual(hex`
      01 00 00 00  34 00 00 00   // IDB, length 52
      01 00 00 00                // linktype 1, reserved
      00 00 04 00                // snaplen 262144
      02 00 04 00  65 74 68 30   // if_name "eth0"
      03 00 05 00  74 61 70 20 41 00 00 00   // if_description "tap A"
      09 00 01 00  09 00 00 00   // if_tsresol 9 (ns)
      00 00 00 00                // opt_endofopt
      34 00 00 00
    `);
    expect(
      pcapngInterfaceStatistics({
        interfaceId: 1,
        tsSec: 1780000002,
        tsNsec: 0,
        ifRecv: 100,
        ifDrop: 7,
        osDrop: 3,
        startSec: 1780000000,
        startNsec: 123456789,
      }),
    ).toEqual(hex`
      05 00 00 00  4c 00 00 00   // ISB, length 76
      01 00 00 00                // interface 1
      92 d4 b3 18  00 94 67 2b   // ts 1780000002.000000000
      02 00 08 00  91 d4 b3 18 15 cd 8d bb   // isb_starttime 1780000000.123456789
      04 00 08 00  64 00 00 00 00 00 00 00   // isb_ifrecv 100
      05 00 08 00  07 00 00 00 00 00 00 00   // isb_ifdrop 7
      07 00 08 00  03 00 00 00 00 00 00 00   // isb_osdrop 3
      00 00 00 00
      4c 00 00 00
    `);
  });

  it('encodes an EPB into a caller buffer at an offset', () => {
    const dst = Buffer.alloc(64, 0xee);
    const n = writeEnhancedPacketBlock(
      dst,
      4,
      1,
      hex`99 de ad be ef 01`,
      1,
      5,
      60,
      1780000000,
      123456789,
      1,
    );
    expect(n).toBe(52);
    expect(enhancedPacketBlockLength(5, 1)).toBe(52);
    expect(dst.subarray(4, 56)).toEqual(hex`
      06 00 00 00  34 00 00 00   // EPB, length 52
      01 00 00 00                // interface 1
      91 d4 b3 18  15 cd 8d bb   // ts 1780000000123456789 ns
      05 00 00 00  3c 00 00 00   // caplen 5, wirelen 60
      de ad be ef 01 00 00 00    // data + pad
      02 00 04 00  01 00 00 00   // epb_flags inbound
      00 00 00 00                // opt_endofopt
      34 00 00 00
    `);
    expect(dst[3]).toBe(0xee);
    expect(dst[56]).toBe(0xee);
    expect(
      writeEnhancedPacketBlock(
        dst,
        0,
        0,
        hex`01 02 03 04`,
        0,
        4,
        4,
        1780000000,
        123456789,
        0,
        false,
      ),
    ).toBe(36);
    expect(dst.subarray(0, 36)).toEqual(hex`
      06 00 00 00  24 00 00 00  00 00 00 00
      e6 52 06 00  40 22 b5 8b   // ts 1780000000123456 µs
      04 00 00 00  04 00 00 00  01 02 03 04
      24 00 00 00
    `);
    expect(() => writeEnhancedPacketBlock(dst, 40, 0, dst, 0, 4, 4, 0, 0)).toThrow(RangeError);
  });
});

describe('pcapng writer round trip through capinfos and tshark', () => {
  it('two interfaces, flags, statistics', () => {
    const frames = makeFrames(2000, 21, 1514, 2);
    const p = tmp.path('rt.pcapng');
    const w = new PcapngWriter(p, {
      interfaces: [
        { linkType: 1, name: 'tap0', description: 'span port A' },
        { linkType: 1, name: 'tap1' },
      ],
      bufferSize: 32 << 10,
    });
    for (const f of frames)
      w.writeFrame(f.ifIndex, f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec, f.flags);
    const first = frames[0];
    const last = frames[frames.length - 1];
    w.writeStatistics({
      interfaceId: 0,
      tsSec: last.tsSec,
      tsNsec: last.tsNsec,
      startSec: first.tsSec,
      startNsec: first.tsNsec,
      endSec: last.tsSec,
      endNsec: last.tsNsec,
      ifRecv: 1234,
      ifDrop: 56,
      osDrop: 7,
    });
    w.writeStatistics({
      interfaceId: 1,
      tsSec: last.tsSec,
      tsNsec: last.tsNsec,
      ifRecv: 1000,
      ifDrop: 0,
      osDrop: 3,
    });
    w.close();

    expect(run('capinfos', ['-c', '-a', '-e', '-S', '-T', '-r', p])).toBe(
      `${p}\t2000\t${epoch(first.tsSec, first.tsNsec)}\t${epoch(last.tsSec, last.tsNsec)}\n`,
    );
    const info = run('capinfos', [p]);
    expect(info).toMatch(/Capture application: NetMirror/);
    expect(info).toMatch(/Number of interfaces in file: 2/);
    expect(info).toMatch(/Name = tap0\s+Description = span port A/);
    expect(info).toMatch(/Time precision = nanoseconds \(9\)/);

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
      '-e',
      'frame.interface_id',
      '-e',
      'frame.interface_name',
      '-e',
      'frame.packet_flags',
    ]);
    expect(lines).toBe(
      frames
        .map(
          (f) =>
            `${epoch(f.tsSec, f.tsNsec)}\t${f.wirelen}\t${f.caplen}\t${f.ifIndex}\ttap${f.ifIndex}\t${f.flags ? '0x0000000' + f.flags : ''}\n`,
        )
        .join(''),
    );

    // the ISB counters, as Wireshark's own pcapng file-format dissector decodes them
    const isb = run('tshark', [
      '-X',
      'read_format:MIME Files Format',
      '-r',
      p,
      '-T',
      'fields',
      '-e',
      'pcapng.options.option.data.interface.received',
      '-e',
      'pcapng.options.option.data.interface.dropped',
      '-e',
      'pcapng.options.option.data.interface.dropped_by_os',
    ]);
    expect(isb).toBe('1234,1000\t56,0\t7,3\n');

    const back = readAll(p, {}, 256);
    expect(back.error).toBeNull();
    expect(diffFrames(back.frames, frames)).toBeNull();
    const ifs = (back.reader as PcapngReader).interfaces;
    expect(
      ifs.map((i) => [i.name, i.tsResol, i.stats?.ifRecv, i.stats?.ifDrop, i.stats?.osDrop]),
    ).toEqual([
      ['tap0', 9, 1234, 56, 7],
      ['tap1', 9, 1000, 0, 3],
    ]);
    expect(ifs[0].stats).toMatchObject({
      startSec: first.tsSec,
      startNsec: first.tsNsec,
      endSec: last.tsSec,
      endNsec: last.tsNsec,
    });
  }, 60_000);

  it('µs interfaces', () => {
    const frames = makeFrames(100, 22);
    const p = tmp.path('us.pcapng');
    const w = new PcapngWriter(p, { interfaces: [{ linkType: 1, tsResol: 6 }] });
    for (const f of frames) w.writeFrame(0, f.data, 0, f.caplen, f.wirelen, f.tsSec, f.tsNsec);
    w.close();
    const lines = run('tshark', ['-r', p, '-T', 'fields', '-e', 'frame.time_epoch']);
    expect(lines).toBe(
      frames.map((f) => epoch(f.tsSec, Math.floor(f.tsNsec / 1000) * 1000) + '\n').join(''),
    );
  }, 60_000);
});
