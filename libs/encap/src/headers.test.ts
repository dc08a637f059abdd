import { hex } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import {
  fillUdpChecksumIPv4,
  internetChecksum,
  parseIPv4,
  parseMac,
  writeIPv4Header,
  writeUdpHeader,
} from './headers.js';

describe('outer header writers', () => {
  it('writes an IPv4 header with the checksum Wireshark expects', () => {
    const out = Buffer.alloc(20);
    writeIPv4Header(out, 0, {
      src: parseIPv4('172.16.10.99'),
      dst: parseIPv4('172.16.10.12'),
      protocol: 6,
      totalLength: 60,
      id: 0x1c46,
    });
    expect(out).toEqual(hex`
      45 00 00 3c  1c 46 40 00  40 06 b1 e6      // v4 ihl=5 len=60 DF ttl=64 tcp csum=b1e6
      ac 10 0a 63  ac 10 0a 0c                   // 172.16.10.99 -> 172.16.10.12
    `);
    expect(internetChecksum(out, 0, 20)).toBe(0);
  });

  it('checksums odd lengths and fills the UDP checksum over the pseudo-header', () => {
    expect(internetChecksum(hex`01`, 0, 1)).toBe(0xfeff);
    const b = Buffer.alloc(20 + 8 + 3);
    writeIPv4Header(b, 0, {
      src: parseIPv4('10.0.0.1'),
      dst: parseIPv4('10.0.0.2'),
      protocol: 17,
      totalLength: 31,
    });
    writeUdpHeader(b, 20, 1234, 4789, 11);
    b.write('abc', 28);
    const c = fillUdpChecksumIPv4(b, 0, 20);
    expect(c).toBe(b.readUInt16BE(26));
    // Verifying: pseudo-header + UDP with the checksum in place sums to 0.
    const pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 11;
    expect(internetChecksum(b, 20, 11, pseudo)).toBe(0);
  });

  it('parses addresses and rejects junk', () => {
    expect(parseIPv4('255.0.1.2')).toBe(0xff000102);
    expect(() => parseIPv4('1.2.3.256')).toThrow(RangeError);
    expect(() => parseIPv4('1.2.3')).toThrow(RangeError);
    expect(parseMac('02:AA:bb:cc:dd:ee')).toEqual(hex`02 aa bb cc dd ee`);
    expect(() => parseMac('02:aa:bb:cc:dd')).toThrow(RangeError);
  });
});
