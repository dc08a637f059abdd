import { hex } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import { parseMac } from './headers.js';
import { decodeTzsp, encodeTzsp, TzspType, tzspHeaderLength } from './tzsp.js';
import { TCP_SYN, VLAN_UDP } from './testing/inner.js';

describe('encodeTzsp', () => {
  it('writes version 1, type received, encapsulation Ethernet, TAG_END, frame', () => {
    const out = Buffer.alloc(100);
    expect(encodeTzsp(out, 0, TCP_SYN, 0, 58, {})).toBe(5 + 58);
    expect(out.subarray(0, 5)).toEqual(hex`
      01          // version 1
      00          // type 0: received packet
      00 01       // encapsulation 1: Ethernet
      01          // TAG_END
    `);
    expect(out.subarray(5, 63)).toEqual(TCP_SYN);
  });

  it('adds ORIGINAL_LENGTH when sliced and SENSOR_MAC when configured', () => {
    const out = Buffer.alloc(100);
    const opts = { type: TzspType.TRANSMIT, sensorMac: parseMac('02:aa:bb:cc:dd:ee') };
    expect(tzspHeaderLength(opts, true)).toBe(17);
    expect(encodeTzsp(out, 0, VLAN_UDP, 0, 40, opts, 64)).toBe(17 + 40);
    expect(out.subarray(0, 17)).toEqual(hex`
      01 01 00 01           // version 1, type 1: packet for transmit, Ethernet
      29 02 00 40           // tag 41 ORIGINAL_LENGTH, len 2, 64
      3c 06 02 aa bb cc dd ee   // tag 60 SENSOR_MAC, len 6
      01                    // TAG_END
    `);
    expect(out.subarray(17, 57)).toEqual(VLAN_UDP.subarray(0, 40));
  });

  it('returns -1 when it does not fit and rejects bad options', () => {
    expect(encodeTzsp(Buffer.alloc(62), 0, TCP_SYN, 0, 58, {})).toBe(-1);
    expect(() =>
      encodeTzsp(Buffer.alloc(99), 0, TCP_SYN, 0, 58, { sensorMac: Buffer.alloc(5) }),
    ).toThrow(/6 bytes/);
    expect(() => encodeTzsp(Buffer.alloc(99), 0, TCP_SYN, 0, 58, {}, 40000)).toThrow(
      /original length/,
    );
  });
});

describe('decodeTzsp', () => {
  it('decodes a frame with padding and tags', () => {
    const pkt = Buffer.concat([
      hex`
        01 00 00 01           // v1, received, Ethernet
        00 00                 // TAG_PADDING x2
        28 04 00 00 00 09     // tag 40 PACKET_ID = 9
        29 02 05 dc           // ORIGINAL_LENGTH 1500
        3c 06 02 aa bb cc dd ee   // SENSOR_MAC
        01                    // TAG_END
      `,
      TCP_SYN,
    ]);
    const d = decodeTzsp(pkt);
    expect(d).toMatchObject({
      ok: true,
      version: 1,
      type: 0,
      encapsulation: 1,
      originalLength: 1500,
      sensorMac: '02:aa:bb:cc:dd:ee',
      innerOffset: 25,
      innerLength: 58,
      tags: [
        { tag: 40, offset: 8, length: 4 },
        { tag: 41, offset: 14, length: 2 },
        { tag: 60, offset: 18, length: 6 },
      ],
    });
  });

  it('round-trips', () => {
    const out = Buffer.alloc(200);
    const n = encodeTzsp(out, 9, VLAN_UDP, 0, VLAN_UDP.length, {
      sensorMac: parseMac('00:00:5e:00:53:01'),
    });
    const d = decodeTzsp(out, 9, 9 + n);
    expect(d).toMatchObject({
      ok: true,
      type: 0,
      sensorMac: '00:00:5e:00:53:01',
      originalLength: undefined,
    });
    if (d.ok) expect(out.subarray(d.innerOffset, d.innerOffset + d.innerLength)).toEqual(VLAN_UDP);
  });

  it('rejects malformed input with a reason', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [hex`01 00 00 01`, /shorter than header \+ TAG_END/],
      [Buffer.concat([hex`02 00 00 01 01`, TCP_SYN]), /version 2/],
      [hex`01 04 00 00 01`, /type 4 carries no frame/],
      [Buffer.concat([hex`01 00 00 12 01`, TCP_SYN]), /encapsulation 18/],
      [hex`01 00 00 01  00 00 00`, /without TAG_END/],
      [hex`01 00 00 01  29`, /no length byte/],
      [hex`01 00 00 01  3c 06 02 aa`, /runs past the end/],
      [Buffer.concat([hex`01 00 00 01 29 01 05 01`, TCP_SYN]), /ORIGINAL_LENGTH tag of 1 bytes/],
      [hex`01 00 00 01 01  00 11 22`, /inner frame of 3 bytes/],
    ];
    for (const [buf, reason] of cases) {
      const d = decodeTzsp(buf);
      expect(d.ok, String(reason)).toBe(false);
      if (!d.ok) expect(d.error).toMatch(reason);
    }
  });
});
