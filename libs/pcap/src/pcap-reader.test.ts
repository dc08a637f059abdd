import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { hex } from '@netmirror/packet';
import { CaptureFileError } from './errors.js';
import { readBytes, run, tempDir } from './test-util.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

// Classic pcap, microseconds, little-endian: three records, one of them empty.
const pcapUsLE = hex`
  d4 c3 b2 a1                 // magic a1b2c3d4 (µs) written little-endian
  02 00 04 00                 // version 2.4
  00 00 00 00                 // thiszone 0
  00 00 00 00                 // sigfigs 0
  ff ff 00 00                 // snaplen 65535
  01 00 00 00                 // linktype 1 (Ethernet), no FCS bits
  // record 0, file offset 24
  00 a5 18 6a                 // ts_sec  1780000000 (2026-05-28T20:26:40Z)
  3f 42 0f 00                 // ts_usec 999999
  0e 00 00 00                 // caplen 14
  3c 00 00 00                 // wirelen 60 (sliced)
  ff ff ff ff ff ff           //   eth dst broadcast
  02 00 00 00 00 01           //   eth src
  08 06                       //   ethertype ARP
  // record 1, file offset 54
  01 a5 18 6a                 // ts_sec  1780000001
  00 00 00 00                 // ts_usec 0
  00 00 00 00                 // caplen 0: a valid, empty record
  00 00 00 00                 // wirelen 0
  // record 2, file offset 70
  01 a5 18 6a                 // ts_sec  1780000001
  01 00 00 00                 // ts_usec 1
  04 00 00 00                 // caplen 4
  04 00 00 00                 // wirelen 4
  de ad be ef                 //   data
`;

// Classic pcap, nanoseconds, big-endian, FCS bits in the link-type field.
const pcapNsBE = hex`
  a1 b2 3c 4d                 // magic a1b23c4d (ns) written big-endian
  00 02 00 04                 // version 2.4
  00 00 00 00                 // thiszone
  00 00 00 00                 // sigfigs
  00 04 00 00                 // snaplen 262144
  24 00 00 01                 // FCS len 2 words (0x2......), F bit 0x04000000, linktype 1
  // record 0, file offset 24
  6a 18 a5 00                 // ts_sec  1780000000
  07 5b cd 15                 // ts_nsec 123456789
  00 00 00 12                 // caplen 18
  00 00 00 12                 // wirelen 18
  01 02 03 04 05 06  0a 0b 0c 0d 0e 0f  88 b5   // eth, local experimental ethertype
  aa bb cc dd                 //   FCS
`;

describe('pcap reader', () => {
  it('reads µs little-endian records, including an empty one', () => {
    const { frames, error, reader } = readBytes(tmp, pcapUsLE);
    expect(error).toBeNull();
    expect(reader!.format).toBe('pcap');
    expect(reader!.nanosecond).toBe(false);
    expect(reader!.interfaces).toEqual([
      { linkType: 1, snapLen: 65535, section: 0, localId: 0, tsResol: 6, tsOffsetSec: 0 },
    ]);
    expect(
      frames.map((f) => [f.tsSec, f.tsNsec, f.caplen, f.wirelen, f.data.toString('hex')]),
    ).toEqual([
      [1780000000, 999999000, 14, 60, 'ffffffffffff0200000000010806'],
      [1780000001, 0, 0, 0, ''],
      [1780000001, 1000, 4, 4, 'deadbeef'],
    ]);
  });

  it('reads ns big-endian records and the FCS bits of the link-type field', () => {
    const { frames, error, reader } = readBytes(tmp, pcapNsBE);
    expect(error).toBeNull();
    expect(reader!.nanosecond).toBe(true);
    expect(reader!.interfaces[0]).toMatchObject({
      linkType: 1,
      snapLen: 262144,
      tsResol: 9,
      fcsLen: 4,
    });
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({
      tsSec: 1780000000,
      tsNsec: 123456789,
      caplen: 18,
      wirelen: 18,
    });
  });

  it('agrees with tshark on both fixtures', () => {
    const a = tmp.path('us-le.pcap');
    const b = tmp.path('ns-be.pcap');
    writeFileSync(a, pcapUsLE);
    writeFileSync(b, pcapNsBE);
    const fields = (p: string) =>
      run('tshark', [
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
    expect(fields(a)).toBe(
      '1780000000.999999000\t60\t14\n1780000001.000000000\t0\t0\n1780000001.000001000\t4\t4\n',
    );
    expect(fields(b)).toBe('1780000000.123456789\t18\t18\n');
  });

  it('carries an out-of-range fraction into the seconds', () => {
    const b = Buffer.from(pcapUsLE);
    b.writeUInt32LE(2_500_000, 28); // record 0 ts_usec 2.5 s
    const { frames } = readBytes(tmp, b);
    expect([frames[0].tsSec, frames[0].tsNsec]).toEqual([1780000002, 500000000]);
  });

  it('names the damage and its offset', () => {
    const huge = Buffer.from(pcapUsLE);
    huge.writeUInt32LE(0xffffffff, 70 + 8); // record 2 caplen
    let r = readBytes(tmp, huge);
    expect(r.frames).toHaveLength(2);
    expect(r.error).toBeInstanceOf(CaptureFileError);
    expect(r.error!.offset).toBe(70);
    expect(r.error!.message).toBe(
      'pcap: record at byte 70 claims caplen 4294967295 > 262144 (snaplen/max)',
    );

    r = readBytes(tmp, pcapUsLE.subarray(0, 70 + 10));
    expect(r.frames).toHaveLength(2);
    expect(r.error!.message).toBe(
      'pcap: record header truncated at end of file: 10 of 16 bytes at byte 70',
    );

    r = readBytes(tmp, pcapUsLE.subarray(0, 70 + 18));
    expect(r.error!.message).toBe(
      'pcap: record at byte 70 truncated at end of file: 2 of 4 bytes of data',
    );

    r = readBytes(tmp, pcapUsLE.subarray(0, 20));
    expect(r.error!.message).toBe('pcap: file header truncated: 20 of 24 bytes at byte 0');

    const bad = Buffer.from(pcapUsLE);
    bad.writeUInt32BE(0x0badf00d, 0);
    r = readBytes(tmp, bad);
    expect(r.error!.message).toBe(
      'capture: unknown magic 0x0badf00d at byte 0 (not pcap or pcapng)',
    );

    r = readBytes(tmp, Buffer.alloc(0));
    expect(r.error).toBeInstanceOf(CaptureFileError);
    expect(r.error!.offset).toBe(0);
  });

  it('honours a lower maxCaplen', () => {
    const r = readBytes(tmp, pcapUsLE, { maxCaplen: 10 });
    expect(r.frames).toHaveLength(0);
    expect(r.error!.message).toBe('pcap: record at byte 24 claims caplen 14 > 10 (snaplen/max)');
  });
});
