/**
 * Test-only: the classic pcap file format, written inline (24-byte global
 * header, 16-byte record headers, microsecond timestamps, little endian,
 * linktype 1 Ethernet), so encapsulation tests do not depend on libs/pcap.
 */
import { LinkType } from '@netmirror/packet';

export function pcapFile(frames: readonly Buffer[], linkType: number = LinkType.ETHERNET): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0); // magic, microsecond timestamps
  header.writeUInt16LE(2, 4); // version 2.4
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8); // thiszone
  header.writeUInt32LE(0, 12); // sigfigs
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [header];
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0); // ts_sec
    rec.writeUInt32LE(0, 4); // ts_usec
    rec.writeUInt32LE(f.length, 8); // incl_len
    rec.writeUInt32LE(f.length, 12); // orig_len
    parts.push(rec, f);
  });
  return Buffer.concat(parts);
}
