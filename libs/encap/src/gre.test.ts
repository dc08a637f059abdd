import { hex } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import { decodeGre, decodeGreHeader, encodeGre, greHeaderLength } from './gre.js';
import { internetChecksum } from './headers.js';
import { TCP_SYN, VLAN_UDP } from './testing/inner.js';

describe('encodeGre', () => {
  it('writes the 4-byte base header with no options', () => {
    const out = Buffer.alloc(100);
    expect(encodeGre(out, 0, TCP_SYN, 0, TCP_SYN.length, {})).toBe(4 + 58);
    expect(out.subarray(0, 4)).toEqual(hex`
      00 00        // C=0 K=0 S=0, version 0
      65 58        // protocol: transparent Ethernet bridging
    `);
    expect(out.subarray(4, 62)).toEqual(TCP_SYN);
  });

  it('writes key then sequence number (RFC 2890 order)', () => {
    const out = Buffer.alloc(100);
    const opts = { key: 0x01020304, sequence: true };
    expect(greHeaderLength(opts)).toBe(12);
    expect(encodeGre(out, 0, VLAN_UDP, 0, VLAN_UDP.length, opts, 0xfffffffe)).toBe(12 + 64);
    expect(out.subarray(0, 12)).toEqual(hex`
      30 00  65 58     // K=1 S=1 version 0, TEB
      01 02 03 04      // key
      ff ff ff fe      // sequence number
    `);
    expect(out.subarray(12, 76)).toEqual(VLAN_UDP);
  });

  it('writes a sequence number alone, and key 0 is still a key', () => {
    const out = Buffer.alloc(100);
    encodeGre(out, 0, TCP_SYN, 0, 58, { sequence: true }, 7);
    expect(out.subarray(0, 8)).toEqual(hex`10 00 65 58  00 00 00 07`);
    encodeGre(out, 0, TCP_SYN, 0, 58, { key: 0 });
    expect(out.subarray(0, 8)).toEqual(hex`20 00 65 58  00 00 00 00`);
  });

  it('returns -1 when it does not fit and rejects bad fields', () => {
    expect(encodeGre(Buffer.alloc(61), 0, TCP_SYN, 0, 58, {})).toBe(-1);
    expect(encodeGre(Buffer.alloc(62), 0, TCP_SYN, 0, 58, {})).toBe(62);
    expect(() => encodeGre(Buffer.alloc(99), 0, TCP_SYN, 0, 58, { key: 2 ** 32 })).toThrow(
      /gre key/,
    );
    expect(() => encodeGre(Buffer.alloc(99), 0, TCP_SYN, 0, 58, { sequence: true }, -1)).toThrow(
      /sequence/,
    );
  });
});

describe('decodeGre', () => {
  it('round-trips every option combination', () => {
    const out = Buffer.alloc(200);
    for (const key of [undefined, 0, 0xdeadbeef]) {
      for (const sequence of [false, true]) {
        const n = encodeGre(out, 3, VLAN_UDP, 0, VLAN_UDP.length, { key, sequence }, 0x80000001);
        const d = decodeGre(out, 3, 3 + n);
        expect(d.ok).toBe(true);
        if (!d.ok) continue;
        expect(d.gre.key).toBe(key);
        expect(d.gre.sequence).toBe(sequence ? 0x80000001 : undefined);
        expect(d.gre.protocol).toBe(0x6558);
        expect(out.subarray(d.innerOffset, d.innerOffset + d.innerLength)).toEqual(VLAN_UDP);
      }
    }
  });

  it('accepts and verifies a checksum (C bit) written by someone else', () => {
    const pkt = Buffer.concat([
      hex`
        b0 00  65 58     // C=1 K=1 S=1, TEB
        00 00  00 00     // checksum (filled below), reserved1
        00 00 00 2a      // key 42
        00 00 00 05      // sequence 5
      `,
      TCP_SYN,
    ]);
    pkt.writeUInt16BE(internetChecksum(pkt, 0, pkt.length), 4);
    const d = decodeGre(pkt);
    expect(d).toMatchObject({ ok: true, innerOffset: 16, innerLength: 58 });
    if (d.ok)
      expect(d.gre).toMatchObject({ checksumOk: true, key: 42, sequence: 5, headerLength: 16 });
    pkt[pkt.length - 1] ^= 1;
    const bad = decodeGre(pkt);
    expect(bad.ok && bad.gre.checksumOk).toBe(false);
  });

  it('rejects malformed input with a reason', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [hex`00 00 65`, /shorter than the 4-byte header/],
      [hex`30 00 65 58  00 00 00 01`, /shorter than the 12-byte header its flags announce/],
      [Buffer.concat([hex`00 01 65 58`, TCP_SYN]), /version 1/],
      [Buffer.concat([hex`40 00 65 58`, TCP_SYN]), /routing \(R\) bit/],
      [Buffer.concat([hex`08 00 65 58`, TCP_SYN]), /reserved flag bits/],
      [Buffer.concat([hex`00 00 08 00`, TCP_SYN]), /protocol 0x0800, expected 0x6558/],
      [hex`00 00 65 58  00 11 22 33 44 55 66 77 88 99 aa bb 08`, /inner frame of 13 bytes/],
    ];
    for (const [buf, reason] of cases) {
      const d = decodeGre(buf);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.error).toMatch(reason);
    }
  });

  it('decodeGreHeader accepts any protocol', () => {
    expect(decodeGreHeader(hex`00 00 08 00  45`)).toMatchObject({
      ok: true,
      protocol: 0x0800,
      payloadOffset: 4,
      payloadLength: 1,
    });
  });
});
