import { hex } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import {
  decodeErspan,
  encodeErspan2,
  encodeErspan3,
  erspan3Timestamp,
  erspan3TimestampHigh,
  ErspanEncap,
  ErspanGranularity,
} from './erspan.js';
import { QINQ_ICMP, TCP_SYN, VLAN_UDP } from './testing/inner.js';

describe('encodeErspan2', () => {
  it('writes GRE with S, then ver=1 VLAN COS En T session, index', () => {
    const out = Buffer.alloc(200);
    const n = encodeErspan2(
      out,
      0,
      TCP_SYN,
      0,
      TCP_SYN.length,
      { sessionId: 0x155, vlan: 0xabc, cos: 5, index: 0x12345 },
      0x0a0b0c0d,
    );
    expect(n).toBe(16 + 58);
    expect(out.subarray(0, 16)).toEqual(hex`
      10 00  88 be     // GRE: S=1, version 0, protocol ERSPAN (type II)
      0a 0b 0c 0d      // sequence number
      1a bc            // ver=1, VLAN=0xabc
      a1 55            // COS=5 (101) En=00 (untagged, derived) T=0 session=0x155
      00 01 23 45      // reserved=0, index=0x12345
    `);
    expect(out.subarray(16, n)).toEqual(TCP_SYN);
  });

  it('derives En=3 (tag preserved) from a tagged inner frame, honours an explicit En and T', () => {
    const out = Buffer.alloc(200);
    encodeErspan2(out, 0, VLAN_UDP, 0, VLAN_UDP.length, { sessionId: 1 }, 0);
    expect(out.subarray(8, 12)).toEqual(hex`10 00  18 01`); // En=11
    encodeErspan2(out, 0, QINQ_ICMP, 0, QINQ_ICMP.length, { sessionId: 1 }, 0);
    expect(out.subarray(8, 12)).toEqual(hex`10 00  18 01`);
    encodeErspan2(
      out,
      0,
      TCP_SYN,
      0,
      58,
      { sessionId: 0x3ff, encap: ErspanEncap.DOT1Q, truncated: true, vlan: 7 },
      0,
    );
    expect(out.subarray(8, 12)).toEqual(hex`10 07  17 ff`); // En=10 T=1 session=1023
  });

  it('returns -1 when it does not fit and rejects out-of-range fields', () => {
    expect(encodeErspan2(Buffer.alloc(16 + 57), 0, TCP_SYN, 0, 58, { sessionId: 1 }, 0)).toBe(-1);
    const out = Buffer.alloc(200);
    expect(() => encodeErspan2(out, 0, TCP_SYN, 0, 58, { sessionId: 1024 }, 0)).toThrow(
      /session id/,
    );
    expect(() => encodeErspan2(out, 0, TCP_SYN, 0, 58, { sessionId: 1, vlan: 4096 }, 0)).toThrow(
      /vlan/,
    );
    expect(() => encodeErspan2(out, 0, TCP_SYN, 0, 58, { sessionId: 1, cos: 8 }, 0)).toThrow(/cos/);
    expect(() =>
      encodeErspan2(out, 0, TCP_SYN, 0, 58, { sessionId: 1, index: 1 << 20 }, 0),
    ).toThrow(/index/);
    expect(() => encodeErspan2(out, 0, TCP_SYN, 0, 58, { sessionId: 1 }, 2 ** 32)).toThrow(
      /sequence/,
    );
  });
});

describe('encodeErspan3', () => {
  it('writes ver=2, timestamp, SGT, P FT HwID D Gra O', () => {
    const out = Buffer.alloc(200);
    const h = {
      sessionId: 0x2aa,
      vlan: 100,
      cos: 3,
      bso: 2,
      truncated: true,
      sgt: 0xbeef,
      hwId: 0x2d,
      egress: true,
    };
    const n = encodeErspan3(out, 0, TCP_SYN, 0, 58, h, 9, 0x11223344);
    expect(n).toBe(20 + 58);
    expect(out.subarray(0, 20)).toEqual(hex`
      10 00  22 eb     // GRE: S=1, protocol ERSPAN type III
      00 00 00 09      // sequence number
      20 64            // ver=2, VLAN=100
      76 aa            // COS=3 (011) BSO=10 T=1 session=0x2aa
      11 22 33 44      // timestamp
      be ef            // SGT
      82 d8            // P=1 FT=00000 HwID=101101 D=1 Gra=00 (100 us) O=0
    `);
    expect(out.subarray(20, n)).toEqual(TCP_SYN);
  });

  it('writes the platform ID 3 subheader with the upper timestamp when asked', () => {
    const out = Buffer.alloc(200);
    const h = {
      sessionId: 5,
      granularity: ErspanGranularity.IEEE_1588,
      subheaderPortIndex: 0x1234,
    };
    const n = encodeErspan3(out, 0, TCP_SYN, 0, 58, h, 1, 123_456_789, 1_700_000_000);
    expect(n).toBe(28 + 58);
    expect(out.subarray(8, 28)).toEqual(hex`
      20 00  00 05     // ver=2 VLAN=0, COS=0 BSO=0 T=0 session=5
      07 5b cd 15      // timestamp: 123456789 ns
      00 00            // SGT
      80 05            // P=1 FT=0 HwID=0 D=0 Gra=10 (IEEE 1588) O=1
      0c 00 12 34      // platform ID 3 (000011), reserved, port index 0x1234
      65 53 f1 00      // upper timestamp: 1700000000 s
    `);
    expect(out.subarray(28, n)).toEqual(TCP_SYN);
  });

  it('rejects out-of-range fields', () => {
    const out = Buffer.alloc(200);
    expect(() => encodeErspan3(out, 0, TCP_SYN, 0, 58, { sessionId: 1, hwId: 64 }, 0, 0)).toThrow(
      /hw id/,
    );
    expect(() => encodeErspan3(out, 0, TCP_SYN, 0, 58, { sessionId: 1, bso: 4 }, 0, 0)).toThrow(
      /bso/,
    );
    expect(() => encodeErspan3(out, 0, TCP_SYN, 0, 58, { sessionId: 1 }, 0, 2 ** 32)).toThrow(
      /timestamp/,
    );
    expect(encodeErspan3(Buffer.alloc(20 + 57), 0, TCP_SYN, 0, 58, { sessionId: 1 }, 0, 0)).toBe(
      -1,
    );
  });
});

describe('erspan3Timestamp', () => {
  const exact = (sec: number, nsec: number, ns: bigint): [number, number] => {
    const t = BigInt(sec) * (1_000_000_000n / ns) + BigInt(nsec) / ns;
    return [Number(t & 0xffffffffn), Number((t >> 32n) & 0xffffffffn)];
  };
  it('counts 100 us and 100 ns ticks exactly, low and high words', () => {
    for (const [sec, nsec] of [
      [0, 0],
      [1, 99_999],
      [1_700_000_000, 123_456_789],
      [0xffffffff, 999_999_999],
      [4_294_967, 296_000_000],
    ] as const) {
      const us = exact(sec, nsec, 100_000n);
      expect([erspan3Timestamp(sec, nsec), erspan3TimestampHigh(sec, nsec)]).toEqual(us);
      const ns = exact(sec, nsec, 100n);
      expect([
        erspan3Timestamp(sec, nsec, ErspanGranularity.NS_100),
        erspan3TimestampHigh(sec, nsec, ErspanGranularity.NS_100),
      ]).toEqual(ns);
    }
  });
  it('splits IEEE 1588 into nanoseconds (low) and seconds (high), and refuses CUSTOM', () => {
    expect(erspan3Timestamp(1_700_000_000, 5, ErspanGranularity.IEEE_1588)).toBe(5);
    expect(erspan3TimestampHigh(1_700_000_000, 5, ErspanGranularity.IEEE_1588)).toBe(1_700_000_000);
    expect(() => erspan3Timestamp(1, 0, ErspanGranularity.CUSTOM)).toThrow(/granularity 3/);
    expect(() => erspan3Timestamp(1, 1e9)).toThrow(/nanoseconds/);
  });
});

describe('decodeErspan', () => {
  // An ERSPAN type II packet after the outer IPv4 header, as a Cisco switch or
  // Linux ip_gre sends it: session 100, VLAN 10, COS 0, En=3, index 7.
  const TYPE2 = Buffer.concat([
    hex`
      10 00 88 be      // GRE S=1, ERSPAN
      00 00 00 2a      // seq 42
      10 0a            // ver=1 VLAN=10
      18 64            // COS=0 En=11 T=0 session=100
      00 00 00 07      // index 7
    `,
    VLAN_UDP,
  ]);

  it('decodes type II', () => {
    const d = decodeErspan(TYPE2);
    expect(d).toMatchObject({
      ok: true,
      type: 2,
      sessionId: 100,
      vlan: 10,
      cos: 0,
      encap: 3,
      truncated: false,
      index: 7,
    });
    if (d.ok) {
      expect(d.gre.sequence).toBe(42);
      expect(TYPE2.subarray(d.innerOffset, d.innerOffset + d.innerLength)).toEqual(VLAN_UDP);
    }
  });

  it('decodes type I (0x88BE without S): the frame follows GRE', () => {
    const d = decodeErspan(Buffer.concat([hex`00 00 88 be`, TCP_SYN]));
    expect(d).toMatchObject({ ok: true, type: 1, innerOffset: 4, innerLength: 58 });
  });

  it('round-trips type II and III with all fields', () => {
    const out = Buffer.alloc(300);
    const h2 = {
      sessionId: 1023,
      vlan: 4095,
      cos: 7,
      encap: ErspanEncap.ISL,
      truncated: true,
      index: 0xfffff,
    };
    let n = encodeErspan2(out, 5, QINQ_ICMP, 0, QINQ_ICMP.length, h2, 0xffffffff);
    let d = decodeErspan(out, 5, 5 + n);
    expect(d).toMatchObject({ ok: true, type: 2, ...h2 });
    if (d.ok) expect(out.subarray(d.innerOffset, d.innerOffset + d.innerLength)).toEqual(QINQ_ICMP);

    const h3 = {
      sessionId: 513,
      vlan: 1,
      cos: 6,
      bso: 3,
      truncated: false,
      sgt: 65535,
      hwId: 63,
      egress: true,
      granularity: ErspanGranularity.NS_100,
      subheaderPortIndex: 0x3fff,
    };
    n = encodeErspan3(out, 5, QINQ_ICMP, 0, QINQ_ICMP.length, h3, 77, 0xfedcba98, 0x01234567);
    d = decodeErspan(out, 5, 5 + n);
    const { subheaderPortIndex: _omit, ...fields } = h3;
    expect(d).toMatchObject({
      ok: true,
      type: 3,
      ...fields,
      p: true,
      frameType: 0,
      timestamp: 0xfedcba98,
      subheader: { platformId: 3, word0: 0x3fff, word1: 0x01234567 },
    });
    if (d.ok) {
      expect(d.gre.sequence).toBe(77);
      expect(out.subarray(d.innerOffset, d.innerOffset + d.innerLength)).toEqual(QINQ_ICMP);
    }
  });

  it('rejects malformed input with a reason', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [hex`10 00 88 be  00 00 00 01  10 0a 18`, /shorter than the 8-byte type II header/],
      [
        Buffer.concat([hex`10 00 88 be  00 00 00 01  20 0a 18 64 00 00 00 07`, TCP_SYN]),
        /version 2 under GRE 0x88BE, expected 1/,
      ],
      [
        Buffer.concat([
          hex`10 00 22 eb  00 00 00 01  10 0a 18 64 00 00 00 07 00 00 80 00`,
          TCP_SYN,
        ]),
        /version 1 under GRE 0x22EB, expected 2/,
      ],
      [
        hex`10 00 22 eb  00 00 00 01  20 0a 18 64 00 00`,
        /shorter than the 12-byte type III header/,
      ],
      [
        Buffer.concat([
          hex`10 00 22 eb  00 00 00 01  20 0a 18 64 00 00 00 07 00 00 88 00`,
          TCP_SYN,
        ]),
        /frame type 2/,
      ],
      [
        hex`10 00 22 eb  00 00 00 01  20 0a 18 64 00 00 00 07 00 00 80 01  0c 00 00 01`,
        /O bit set/,
      ],
      [hex`10 00 88 be  00 00 00 01  10 0a 18 64 00 00 00 07  00 11 22`, /inner frame of 3 bytes/],
      [Buffer.concat([hex`00 00 65 58`, TCP_SYN]), /GRE protocol 0x6558, expected/],
      [hex`10 00 88`, /gre: 3 bytes/],
    ];
    for (const [buf, reason] of cases) {
      const d = decodeErspan(buf);
      expect(d.ok, String(reason)).toBe(false);
      if (!d.ok) expect(d.error).toMatch(reason);
    }
  });
});
