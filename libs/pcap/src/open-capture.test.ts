import { closeSync, fstatSync, openSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from './open-capture.js';
import { PcapngWriter } from './pcapng-writer.js';
import { pcapFileHeader, writePcapRecord } from './pcap-writer.js';
import { tempDir } from './test-util.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('openCaptureReader', () => {
  it('reads from a caller fd and leaves it open', () => {
    const p = tmp.path('fd.pcap');
    const rec = Buffer.alloc(16 + 4);
    writePcapRecord(rec, 0, Buffer.from([1, 2, 3, 4]), 0, 4, 4, 1780000000, 5, true);
    writeFileSync(p, Buffer.concat([pcapFileHeader({ linkType: 101, nanosecond: true }), rec]));
    const fd = openSync(p, 'r');
    const r = openCaptureReader(fd);
    expect(r.format).toBe('pcap');
    expect(r.interfaces[0].linkType).toBe(101);
    const b = new FrameBatch(8);
    expect(r.next(b)).toBe(1);
    expect([b.tsSec[0], b.tsNsec[0], b.caplen[0]]).toEqual([1780000000, 5, 4]);
    expect(r.next(b)).toBe(0);
    expect(r.bytesRead).toBe(44);
    r.close();
    expect(fstatSync(fd).size).toBe(44); // still open
    closeSync(fd);
  });

  it('knows the pcapng interfaces before the first frame', () => {
    const p = tmp.path('ifs.pcapng');
    const w = new PcapngWriter(p, {
      interfaces: [
        { linkType: 1, name: 'x' },
        { linkType: 113, name: 'y' },
      ],
    });
    w.writeFrame(1, Buffer.alloc(10), 0, 10, 10, 1, 2);
    w.close();
    const r = openCaptureReader(p);
    expect(r.interfaces.map((i) => [i.name, i.linkType])).toEqual([
      ['x', 1],
      ['y', 113],
    ]);
    const b = new FrameBatch(8);
    expect(r.next(b)).toBe(1);
    expect(b.ifIndex[0]).toBe(1);
    r.close();
  });
});
