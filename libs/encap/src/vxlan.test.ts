import { hex } from '@netmirror/packet';
import { describe, expect, it } from 'vitest';
import { decodeVxlan, encodeVxlan, vxlanSourcePort } from './vxlan.js';
import { TCP_SYN } from './testing/inner.js';

// A VXLAN datagram's UDP payload as Wireshark shows it: VNI 123 around TCP_SYN.
const VXLAN_SYN = Buffer.concat([
  hex`
    08 00 00 00          // flags: I=1, reserved 0
    00 00 7b  00         // VNI 123, reserved
  `,
  TCP_SYN,
]);

describe('encodeVxlan', () => {
  it('writes flags I=1, the VNI and the inner frame', () => {
    const out = Buffer.alloc(200, 0xee);
    expect(encodeVxlan(out, 0, TCP_SYN, 0, TCP_SYN.length, 123)).toBe(8 + TCP_SYN.length);
    expect(out.subarray(0, VXLAN_SYN.length)).toEqual(VXLAN_SYN);
    expect(out[VXLAN_SYN.length]).toBe(0xee); // nothing written past the end
  });

  it('writes at an offset from a slice of a larger buffer', () => {
    const src = Buffer.concat([Buffer.alloc(10, 0xaa), TCP_SYN, Buffer.alloc(10, 0xbb)]);
    const out = Buffer.alloc(300);
    expect(encodeVxlan(out, 42, src, 10, TCP_SYN.length, 0xabcdef)).toBe(66);
    expect(out.subarray(42, 50)).toEqual(hex`08 000000  ab cd ef 00`);
    expect(out.subarray(50, 50 + TCP_SYN.length)).toEqual(TCP_SYN);
  });

  it('returns -1 when the output does not fit, writing nothing', () => {
    const out = Buffer.alloc(8 + TCP_SYN.length - 1);
    expect(encodeVxlan(out, 0, TCP_SYN, 0, TCP_SYN.length, 1)).toBe(-1);
    expect(out.every((b) => b === 0)).toBe(true);
    expect(encodeVxlan(Buffer.alloc(8 + TCP_SYN.length), 0, TCP_SYN, 0, TCP_SYN.length, 1)).toBe(
      66,
    );
  });

  it('rejects a VNI beyond 24 bits and a source range outside the buffer', () => {
    const out = Buffer.alloc(200);
    expect(() => encodeVxlan(out, 0, TCP_SYN, 0, 58, 0x1000000)).toThrow(RangeError);
    expect(() => encodeVxlan(out, 0, TCP_SYN, 0, 58, -1)).toThrow(/vni/);
    expect(() => encodeVxlan(out, 0, TCP_SYN, 10, 58, 1)).toThrow(/source range/);
    expect(() => encodeVxlan(out, -1, TCP_SYN, 0, 58, 1)).toThrow(/offset/);
  });
});

describe('decodeVxlan', () => {
  it('decodes the Wireshark-style fixture', () => {
    const d = decodeVxlan(VXLAN_SYN);
    expect(d).toEqual({ ok: true, flags: 0x08, vni: 123, innerOffset: 8, innerLength: 58 });
  });

  it('round-trips every VNI edge', () => {
    const out = Buffer.alloc(100);
    for (const vni of [0, 1, 0xff, 0x100, 0xffff, 0x10000, 0xffffff]) {
      const n = encodeVxlan(out, 4, TCP_SYN, 0, TCP_SYN.length, vni);
      const d = decodeVxlan(out, 4, 4 + n);
      expect(d.ok && d.vni).toBe(vni);
      if (d.ok) expect(out.subarray(d.innerOffset, d.innerOffset + d.innerLength)).toEqual(TCP_SYN);
    }
  });

  it('ignores reserved bits on receipt (RFC 7348 §5)', () => {
    const b = Buffer.from(VXLAN_SYN);
    b[0] = 0xff;
    b[7] = 0xff;
    expect(decodeVxlan(b)).toMatchObject({ ok: true, vni: 123 });
  });

  it('rejects malformed input with a reason', () => {
    expect(decodeVxlan(VXLAN_SYN.subarray(0, 7))).toEqual({
      ok: false,
      at: 0,
      error: 'vxlan: 7 bytes, shorter than the 8-byte header',
    });
    const noI = Buffer.from(VXLAN_SYN);
    noI[0] = 0;
    expect(decodeVxlan(noI)).toMatchObject({ ok: false, error: /I flag clear/ });
    expect(decodeVxlan(VXLAN_SYN.subarray(0, 8 + 13))).toMatchObject({
      ok: false,
      at: 8,
      error: /shorter than an Ethernet header/,
    });
  });
});

describe('vxlanSourcePort', () => {
  it('stays in 49152..65535 and is deterministic', () => {
    let seed = 1;
    for (let i = 0; i < 2000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const p = vxlanSourcePort(seed);
      expect(p).toBeGreaterThanOrEqual(49152);
      expect(p).toBeLessThanOrEqual(65535);
      expect(vxlanSourcePort(seed)).toBe(p);
    }
  });

  it('matches Linux udp_flow_src_port(min=49152, max=65536)', () => {
    const linux = (hash: number): number => {
      const h = BigInt((hash ^ (hash << 16)) >>> 0);
      return Number(((h * 16384n) >> 32n) + 49152n);
    };
    for (const h of [0, 1, 0xffff, 0x10000, 0x12345678, 0x80000000, 0xffffffff, 0xdeadbeef]) {
      expect(vxlanSourcePort(h)).toBe(linux(h));
    }
    expect(vxlanSourcePort(0)).toBe(49152);
  });

  it('spreads small hashes too (low bits are folded in)', () => {
    const ports = new Set<number>();
    for (let h = 0; h < 4096; h++) ports.add(vxlanSourcePort(h));
    expect(ports.size).toBeGreaterThan(1000);
  });
});
