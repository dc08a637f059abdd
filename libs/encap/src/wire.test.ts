/**
 * The real check: complete frames (Ethernet + IPv4 [+ UDP]) around our
 * encapsulations of known inner frames, written to a pcap and decoded by
 * tshark. Every layer must be recognised, every header field must read back
 * as written, outer checksums must verify, and the inner frame tshark
 * dissects must be byte-for-byte the original.
 *
 * Needs tshark on PATH (Wireshark 4.0 here; the set-up script installs it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex, IpProto } from '@netmirror/packet';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeErspan,
  encodeErspan2,
  encodeErspan3,
  erspan3Timestamp,
  ErspanGranularity,
} from './erspan.js';
import { decodeGre, encodeGre } from './gre.js';
import { ETH_HEADER_LEN, IPV4_HEADER_LEN, parseMac, UDP_HEADER_LEN } from './headers.js';
import { decodeTzsp, encodeTzsp, TZSP_PORT } from './tzsp.js';
import { decodeVxlan, encodeVxlan, VXLAN_PORT, vxlanSourcePort } from './vxlan.js';
import { INNER_FRAMES, TCP_SYN } from './testing/inner.js';
import { ipFrame, IP_PAYLOAD_OFFSET, udpFrame, UDP_PAYLOAD_OFFSET } from './testing/frames.js';
import { pcapFile } from './testing/pcap.js';
import { field, tshark } from './testing/tshark.js';
import type { TsharkRow } from './testing/tshark.js';

interface Case {
  name: string;
  frame: Buffer;
  inner: Buffer;
  innerProtocols: string;
  /** Outer protocol chain up to and including the encapsulation. */
  outer: string;
  /** Expected tshark field values (udp.*: first occurrence, others: last). */
  expect: Record<string, string>;
  /** Our own decoder applied to the frame, returning the inner offset. */
  decode: (frame: Buffer) => number;
}

const FIELDS = [
  'ip.checksum.status',
  'udp.checksum.status',
  'udp.srcport',
  'udp.dstport',
  'vxlan.vni',
  'vxlan.flag_i',
  'gre.proto',
  'gre.flags.key',
  'gre.key',
  'gre.flags.sequence_number',
  'gre.sequence_number',
  'erspan.version',
  'erspan.vlan',
  'erspan.cos',
  'erspan.encap',
  'erspan.bso',
  'erspan.truncated',
  'erspan.spanid',
  'erspan.index',
  'erspan.timestamp',
  'erspan.sgt',
  'erspan.p',
  'erspan.ft',
  'erspan.hw',
  'erspan.direction',
  'erspan.gra',
  'erspan.o',
  'erspan.platid',
  'erspan.pid3.port_index',
  'erspan.pid3.timestamp',
  'tzsp.version',
  'tzsp.type',
  'tzsp.encap',
  'tzsp.original_length',
  'tzsp.sensormac',
];

const UDP_AT = ETH_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN;
const IP_AT = ETH_HEADER_LEN + IPV4_HEADER_LEN;

function innerAt(d: { ok: boolean; innerOffset?: number; error?: string }): number {
  if (!d.ok || d.innerOffset === undefined) throw new Error(`our decoder rejected: ${d.error}`);
  return d.innerOffset;
}

function buildCases(): Case[] {
  const cases: Case[] = [];
  INNER_FRAMES.forEach(({ name, frame: inner, protocols }, i) => {
    const len = inner.length;
    const vni = 100 + i;
    const sport = vxlanSourcePort(0x9e3779b9 * (i + 1));
    cases.push({
      name: `VXLAN ${name}`,
      inner,
      innerProtocols: protocols,
      frame: udpFrame(sport, VXLAN_PORT, (b, o) => encodeVxlan(b, o, inner, 0, len, vni)),
      outer: 'eth:ethertype:ip:udp:vxlan',
      expect: {
        'vxlan.vni': String(vni),
        'vxlan.flag_i': '1',
        'udp.dstport': '4789',
        'udp.srcport': String(sport),
      },
      decode: (f) => innerAt(decodeVxlan(f, UDP_AT)),
    });
    cases.push({
      name: `GRE key+seq ${name}`,
      inner,
      innerProtocols: protocols,
      frame: ipFrame(IpProto.GRE, (b, o) =>
        encodeGre(b, o, inner, 0, len, { key: 0xc0ffee00 + i, sequence: true }, 1000 + i),
      ),
      outer: 'eth:ethertype:ip:gre',
      expect: {
        'gre.proto': '0x6558',
        'gre.key': `0x${(0xc0ffee00 + i).toString(16)}`,
        'gre.sequence_number': String(1000 + i),
      },
      decode: (f) => innerAt(decodeGre(f, IP_AT)),
    });
    const h2 = { sessionId: 300 + i, vlan: 10 + i, cos: i % 8, index: 0xabcde };
    cases.push({
      name: `ERSPAN II ${name}`,
      inner,
      innerProtocols: protocols,
      frame: ipFrame(IpProto.GRE, (b, o) => encodeErspan2(b, o, inner, 0, len, h2, 5000 + i)),
      outer: 'eth:ethertype:ip:gre:erspan',
      expect: {
        'gre.proto': '0x88be',
        'gre.sequence_number': String(5000 + i),
        'erspan.version': '1',
        'erspan.spanid': String(300 + i),
        'erspan.vlan': String(10 + i),
        'erspan.cos': String(i % 8),
        // En derived from the inner frame: 3 (tag preserved) for tagged frames.
        'erspan.encap': protocols.includes('vlan') ? '3' : '0',
        'erspan.truncated': '0',
        'erspan.index': String(0xabcde),
      },
      decode: (f) => innerAt(decodeErspan(f, IP_AT)),
    });
    const ts = erspan3Timestamp(1_700_000_000 + i, 250_000_000);
    const h3 = {
      sessionId: 900 + i,
      vlan: 4000,
      cos: 5,
      sgt: 4242,
      hwId: 17,
      egress: i % 2 === 1,
      bso: 0,
    };
    cases.push({
      name: `ERSPAN III ${name}`,
      inner,
      innerProtocols: protocols,
      frame: ipFrame(IpProto.GRE, (b, o) => encodeErspan3(b, o, inner, 0, len, h3, 7000 + i, ts)),
      outer: 'eth:ethertype:ip:gre:erspan',
      expect: {
        'gre.proto': '0x22eb',
        'gre.sequence_number': String(7000 + i),
        'erspan.version': '2',
        'erspan.spanid': String(900 + i),
        'erspan.vlan': '4000',
        'erspan.cos': '5',
        'erspan.timestamp': String(ts),
        'erspan.sgt': '4242',
        'erspan.p': '1',
        'erspan.ft': '0',
        'erspan.hw': '17',
        'erspan.direction': i % 2 === 1 ? '1' : '0',
        'erspan.gra': '0',
        'erspan.o': '0',
      },
      decode: (f) => innerAt(decodeErspan(f, IP_AT)),
    });
    cases.push({
      name: `TZSP ${name}`,
      inner,
      innerProtocols: protocols,
      frame: udpFrame(40000 + i, TZSP_PORT, (b, o) => encodeTzsp(b, o, inner, 0, len, {})),
      outer: 'eth:ethertype:ip:udp:tzsp',
      expect: { 'tzsp.version': '1', 'tzsp.type': '0', 'tzsp.encap': '1', 'udp.dstport': '37008' },
      decode: (f) => innerAt(decodeTzsp(f, UDP_AT)),
    });
  });

  const syn = TCP_SYN;
  cases.push({
    name: 'GRE without options',
    inner: syn,
    innerProtocols: 'eth:ethertype:ip:tcp',
    frame: ipFrame(IpProto.GRE, (b, o) => encodeGre(b, o, syn, 0, syn.length, {})),
    outer: 'eth:ethertype:ip:gre',
    expect: { 'gre.proto': '0x6558', 'gre.flags.key': '0', 'gre.flags.sequence_number': '0' },
    decode: (f) => innerAt(decodeGre(f, IP_AT)),
  });
  const h3sub = {
    sessionId: 1,
    granularity: ErspanGranularity.IEEE_1588,
    subheaderPortIndex: 0x2345,
    truncated: true,
    bso: 1,
  };
  cases.push({
    name: 'ERSPAN III with IEEE 1588 timestamp and platform subheader',
    inner: syn,
    innerProtocols: 'eth:ethertype:ip:tcp',
    frame: ipFrame(IpProto.GRE, (b, o) =>
      encodeErspan3(b, o, syn, 0, syn.length, h3sub, 1, 999_999_999, 1_700_000_123),
    ),
    outer: 'eth:ethertype:ip:gre:erspan',
    expect: {
      'erspan.version': '2',
      'erspan.gra': '2',
      'erspan.o': '1',
      'erspan.truncated': '1',
      'erspan.bso': '1',
      'erspan.timestamp': '999999999',
      'erspan.platid': '3',
      'erspan.pid3.port_index': String(0x2345),
      'erspan.pid3.timestamp': '1700000123',
    },
    decode: (f) => innerAt(decodeErspan(f, IP_AT)),
  });
  const mac = parseMac('02:aa:bb:cc:dd:ee');
  cases.push({
    name: 'TZSP sliced, with sensor MAC, type transmit',
    // A 40-byte slice of the 58-byte SYN: tshark sees the truncated inner frame.
    inner: syn.subarray(0, 40),
    innerProtocols: 'eth:ethertype:ip:tcp',
    frame: udpFrame(40100, TZSP_PORT, (b, o) =>
      encodeTzsp(b, o, syn, 0, 40, { type: 1, sensorMac: mac }, syn.length),
    ),
    outer: 'eth:ethertype:ip:udp:tzsp',
    expect: {
      'tzsp.type': '1',
      'tzsp.original_length': '58',
      'tzsp.sensormac': '02:aa:bb:cc:dd:ee',
    },
    decode: (f) => innerAt(decodeTzsp(f, UDP_AT)),
  });
  return cases;
}

describe('tshark decodes our encapsulations', () => {
  const cases = buildCases();
  let rows: TsharkRow[] = [];
  beforeAll(() => {
    rows = tshark(
      cases.map((c) => c.frame),
      FIELDS,
      // The same inner frames recur in several encapsulations; without this
      // tshark calls the repeats TCP retransmissions and stops before tcp:data.
      ['-o', 'tcp.analyze_sequence_numbers:FALSE'],
    );
  }, 60_000);

  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_name, i) => {
    const c = cases[i];
    const row = rows[i];
    const protocols = field(row, 'frame.protocols')[0];
    expect(protocols).toBe(`${c.outer}:${c.innerProtocols}`);
    // Checksum status 1 = good (0 bad, 2 unverified).
    expect(field(row, 'ip.checksum.status')[0]).toBe('1'); // outer IPv4
    if (c.outer.includes(':udp:')) expect(field(row, 'udp.checksum.status')[0]).toBe('1');
    for (const [name, value] of Object.entries(c.expect)) {
      const got = field(row, name);
      expect(got.length, `${name} present`).toBeGreaterThan(0);
      // Outer UDP fields are the first occurrence; encapsulation fields the last.
      expect(name.startsWith('udp.') ? got[0] : got[got.length - 1], name).toBe(value);
    }
    // Inner frame: the second eth layer tshark found starts where our decoder
    // says, and from there to the end of the frame is the original, byte for byte.
    expect(row.ethOffsets.length).toBe(2);
    const at = row.ethOffsets[1];
    expect(at).toBe(c.decode(c.frame));
    expect(c.frame.subarray(at)).toEqual(c.inner);
    if (!c.name.includes('sliced')) expect(row.malformed).toBe(false);
  });
});

/**
 * A complete VXLAN frame as Wireshark shows it (written by hand from the
 * RFC 7348 layout, not by our encoder), decoded by our decoder.
 */
const VXLAN_FRAME = Buffer.concat([
  hex`
    02 00 00 00 00 02  02 00 00 00 00 01  08 00     // outer eth: dst, src, IPv4
    45 00 00 5e  be ef 40 00  40 11 f8 30            // v4 len=94 id=0xbeef DF ttl=64 udp csum=f830
    c0 a8 01 0a  c0 a8 01 14                         // 192.168.1.10 -> 192.168.1.20
    c8 22 12 b5  00 4a 00 00                         // udp 51234 -> 4789 len=74 csum=0 (none)
    08 00 00 00  00 13 89 00                         // vxlan I=1, VNI 5001
  `,
  TCP_SYN,
]);

describe('hand-written VXLAN frame', () => {
  it('decodes with our decoder', () => {
    expect(decodeVxlan(VXLAN_FRAME, UDP_PAYLOAD_OFFSET)).toEqual({
      ok: true,
      flags: 8,
      vni: 5001,
      innerOffset: 50,
      innerLength: 58,
    });
    expect(UDP_PAYLOAD_OFFSET).toBe(42);
    expect(IP_PAYLOAD_OFFSET).toBe(34);
  });

  it('is what tshark decodes too', () => {
    const [row] = tshark([VXLAN_FRAME], ['vxlan.vni', 'ip.checksum.status']);
    expect(field(row, 'frame.protocols')).toEqual([
      'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp',
    ]);
    expect(field(row, 'vxlan.vni')).toEqual(['5001']);
    expect(field(row, 'ip.checksum.status')[0]).toBe('1');
    expect(row.ethOffsets).toEqual([0, 50]);
  });
});

describe('tcpdump and capinfos read the same file', () => {
  it('counts every frame and names each encapsulation', () => {
    const cases = buildCases();
    const dir = mkdtempSync(join(tmpdir(), 'encap-tcpdump-'));
    try {
      const file = join(dir, 'frames.pcap');
      writeFileSync(file, pcapFile(cases.map((c) => c.frame)));
      const info = execFileSync('capinfos', ['-c', '-E', '-M', file], { encoding: 'utf8' });
      expect(info).toMatch(new RegExp(`Number of packets:\\s+${cases.length}\\b`));
      expect(info).toMatch(/File encapsulation:\s+ether\b/);
      const out = execFileSync('tcpdump', ['-n', '-r', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // One record per frame: a line starting with the timestamp plus its continuation lines.
      const lines = out
        .split(/\n(?=\d\d:\d\d:\d\d\.)/)
        .map((r) => r.replace(/\s*\n\s*/g, ' ').trim());
      expect(lines).toHaveLength(cases.length);
      lines.forEach((line, i) => {
        const c = cases[i];
        const want = c.outer.endsWith('vxlan')
          ? /VXLAN, flags \[I\] \(0x08\), vni \d+/
          : c.outer.endsWith('erspan')
            ? // tcpdump 4.99 here has no ERSPAN printer: it stops at the GRE protocol.
              /GREv0, seq \d+, length \d+: gre-proto-0x(88be|22eb)/
            : c.outer.endsWith('gre')
              ? /GREv0, .*length \d+: .* > /
              : /UDP|37008/;
        expect(line, c.name).toMatch(want);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
