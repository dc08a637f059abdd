import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex, LinkType } from '@netmirror/packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bpfFilterBatch,
  bpfFromDdd,
  bpfToDdd,
  bpfToText,
  compileBpf,
  decodeBpf,
  encodeBpf,
  validateBpf,
} from './index.js';

// ---------------------------------------------------------------------------
// tcpdump as the oracle

function tcpdumpDdd(expr: string, dlt = 'EN10MB', extra: string[] = []): Buffer {
  return bpfFromDdd(
    execFileSync('tcpdump', ['-n', '-ddd', '-y', dlt, ...extra, expr], { encoding: 'utf8' }),
  );
}

function tcpdumpError(expr: string): string {
  const r = spawnSync('tcpdump', ['-n', '-d', '-y', 'EN10MB', expr], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  return r.stderr.trim().replace(/^tcpdump: /, '');
}

// ---------------------------------------------------------------------------
// Frames. wirelen is the frame length unless a fixture says otherwise.

interface Fixture {
  name: string;
  bytes: Buffer;
  wirelen?: number;
}

const ETH_V4 = '02 00 00 00 00 01  02 00 00 00 00 02  08 00'; // dst, src, IPv4

const fixtures: Fixture[] = [
  {
    name: 'F0 tcp syn 10.1.2.3:40000 -> 93.184.216.34:443',
    bytes: hex`
      ${ETH_V4}
      45 00 00 28  00 01 40 00  40 06 00 00       // v4 ihl=5 len=40 DF ttl=64 tcp
      0a 01 02 03  5d b8 d8 22                    // 10.1.2.3 -> 93.184.216.34
      9c 40 01 bb  00 00 00 01  00 00 00 00       // 40000 -> 443 seq=1
      50 02 ff ff  00 00 00 00                    // off=5 SYN win=65535`,
  },
  {
    name: 'F1 udp dns 192.168.1.10:5353 -> 8.8.8.8:53',
    bytes: hex`
      ${ETH_V4}
      45 00 00 20  00 02 00 00  40 11 00 00       // v4 len=32 udp
      c0 a8 01 0a  08 08 08 08                    // 192.168.1.10 -> 8.8.8.8
      14 e9 00 35  00 0c 00 00                    // 5353 -> 53 len=12
      de ad be ef                                 // payload`,
  },
  {
    name: 'F2 vlan 100 tcp 10.0.0.1:50000 -> 10.0.0.2:22',
    bytes: hex`
      02 00 00 00 00 01  02 00 00 00 00 02  81 00 // 802.1Q
      00 64  08 00                                // pcp=0 vid=100, IPv4
      45 00 00 28  00 03 40 00  40 06 00 00       // v4 len=40 DF tcp
      0a 00 00 01  0a 00 00 02                    // 10.0.0.1 -> 10.0.0.2
      c3 50 00 16  00 00 00 01  00 00 00 01       // 50000 -> 22
      50 10 ff ff  00 00 00 00                    // ACK`,
  },
  {
    name: 'F3 vlan 200 udp 10.0.0.3:1024 -> 10.0.0.53:53',
    bytes: hex`
      02 00 00 00 00 01  02 00 00 00 00 02  81 00 // 802.1Q
      00 c8  08 00                                // vid=200, IPv4
      45 00 00 1c  00 04 00 00  40 11 00 00       // v4 len=28 udp
      0a 00 00 03  0a 00 00 35                    // 10.0.0.3 -> 10.0.0.53
      04 00 00 35  00 08 00 00                    // 1024 -> 53 len=8`,
  },
  {
    name: 'F4 ipv6 icmp6 echo 2001:db8::1 -> 2001:db8::2',
    bytes: hex`
      02 00 00 00 00 01  02 00 00 00 00 02  86 dd // IPv6
      60 00 00 00  00 08 3a 40                    // v6 plen=8 nh=58 hlim=64
      20 01 0d b8 00 00 00 00  00 00 00 00 00 00 00 01  // 2001:db8::1
      20 01 0d b8 00 00 00 00  00 00 00 00 00 00 00 02  // 2001:db8::2
      80 00 00 00  00 01 00 01                    // echo request id=1 seq=1`,
  },
  {
    name: 'F5 arp who-has 10.0.0.2 tell 10.0.0.1',
    bytes: hex`
      ff ff ff ff ff ff  02 00 00 00 00 01  08 06 // broadcast, ARP
      00 01 08 00  06 04 00 01                    // eth/ipv4 request
      02 00 00 00 00 01  0a 00 00 01              // sender 10.0.0.1
      00 00 00 00 00 00  0a 00 00 02              // target 10.0.0.2`,
  },
  {
    name: 'F6 ipv4 non-first fragment of udp 10.9.9.9 -> 10.8.8.8',
    bytes: hex`
      ${ETH_V4}
      45 00 00 1c  00 05 00 b9  40 11 00 00       // v4 len=28 frag off=185*8 udp
      0a 09 09 09  0a 08 08 08                    // 10.9.9.9 -> 10.8.8.8
      00 35 00 35  00 08 00 00                    // data that looks like ports 53 -> 53`,
  },
  {
    name: 'F7 mpls 16 icmp echo 10.0.0.1 -> 10.0.0.2',
    bytes: hex`
      02 00 00 00 00 01  02 00 00 00 00 02  88 47 // MPLS unicast
      00 01 01 40                                 // label=16 tc=0 S=1 ttl=64
      45 00 00 1c  00 06 00 00  40 01 00 00       // v4 len=28 icmp
      0a 00 00 01  0a 00 00 02                    // 10.0.0.1 -> 10.0.0.2
      08 00 00 00  00 01 00 01                    // echo request`,
  },
  {
    name: 'F8 1514-byte tcp 10.1.2.3:443 -> 10.1.2.4:51000 sliced to 54',
    wirelen: 1514,
    bytes: hex`
      ${ETH_V4}
      45 00 05 dc  00 07 40 00  40 06 00 00       // v4 len=1500 DF tcp
      0a 01 02 03  0a 01 02 04                    // 10.1.2.3 -> 10.1.2.4
      01 bb c7 38  00 00 10 00  00 00 20 00       // 443 -> 51000
      50 18 ff ff  00 00 00 00                    // PSH ACK`,
  },
  {
    name: 'F9 udp 10.0.0.1:53 -> 10.0.0.2 cut inside the destination address',
    wirelen: 60,
    bytes: hex`
      ${ETH_V4}
      45 00 00 2e  00 08 00 00  40 11 00 00       // v4 len=46 udp
      0a 00 00 01  0a 00                          // 10.0.0.1 -> 10.0.(cut)`,
  },
];

// QinQ (802.1ad outer, 802.1Q inner): only for the tcpdump agreement test.
const qinq: Fixture = {
  name: 'F10 qinq 10/100 udp 53',
  bytes: hex`
    02 00 00 00 00 01  02 00 00 00 00 02  88 a8   // 802.1ad S-tag
    00 0a  81 00  00 64  08 00                    // S vid=10, C-tag vid=100, IPv4
    45 00 00 1c  00 09 00 00  40 11 00 00         // v4 len=28 udp
    0a 00 00 03  0a 00 00 35                      // 10.0.0.3 -> 10.0.0.53
    04 00 00 35  00 08 00 00                      // 1024 -> 53`,
};

interface Frames {
  buf: Buffer;
  offsets: Int32Array;
  caplens: Int32Array;
  wirelens: Int32Array;
  count: number;
}

function pack(list: { bytes: Buffer; wirelen: number }[]): Frames {
  const buf = Buffer.concat(list.map((f) => f.bytes));
  const offsets = new Int32Array(list.length);
  const caplens = new Int32Array(list.length);
  const wirelens = new Int32Array(list.length);
  let at = 0;
  list.forEach((f, i) => {
    offsets[i] = at;
    caplens[i] = f.bytes.length;
    wirelens[i] = f.wirelen;
    at += f.bytes.length;
  });
  return { buf, offsets, caplens, wirelens, count: list.length };
}

function filter(program: Buffer, f: Frames): number[] {
  const out = new Uint8Array(f.count);
  const n = bpfFilterBatch(program, f.buf, f.offsets, f.caplens, f.wirelens, f.count, out);
  expect(n).toBe(out.reduce((a, b) => a + b, 0));
  return Array.from(out);
}

// ---------------------------------------------------------------------------
// A pcap file written by hand: 24-byte global header, 16-byte record headers.
// ts_sec carries the frame's index so tcpdump's output names its frames.

function writePcap(path: string, list: { bytes: Buffer; wirelen: number }[]): void {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0); // magic, microseconds
  header.writeUInt16LE(2, 4); // version 2.4
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16); // snaplen
  header.writeUInt32LE(LinkType.ETHERNET, 20);
  const parts: Buffer[] = [header];
  list.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(i, 0); // ts_sec = index
    rec.writeUInt32LE(0, 4);
    rec.writeUInt32LE(f.bytes.length, 8); // incl_len
    rec.writeUInt32LE(f.wirelen, 12); // orig_len
    parts.push(rec, f.bytes);
  });
  writeFileSync(path, Buffer.concat(parts));
}

function readPcapIndices(path: string): number[] {
  const data = readFileSync(path);
  expect(data.readUInt32LE(0)).toBe(0xa1b2c3d4);
  const indices: number[] = [];
  for (let at = 24; at < data.length;) {
    indices.push(data.readUInt32LE(at));
    at += 16 + data.readUInt32LE(at + 8);
  }
  return indices;
}

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------

const EXPRESSIONS = [
  'tcp port 443 or udp port 53',
  'vlan and udp',
  'vlan 100 and tcp',
  'ip6 and icmp6',
  'ip[6:2] & 0x1fff != 0',
  'arp',
  'net 10.0.0.0/8',
  'mpls',
  'greater 1000',
  'tcp[tcpflags] & tcp-syn != 0',
  'mpls 16 and icmp',
  'udp',
  'less 60',
  'vlan and vlan and udp port 53',
  'ip and not net 192.168.0.0/16',
  'ether host 02:00:00:00:00:01',
  'ip6 net 2001:db8::/32',
  'portrange 1000-2000',
  'icmp[icmptype] == icmp-echo',
  'ip proto 47',
  'ether[12:2] = 0x88be',
  'ether broadcast',
];

describe('compileBpf', () => {
  it.each(EXPRESSIONS)('compiles %s to the bytes tcpdump -ddd prints', (expr) => {
    const ours = compileBpf(expr, LinkType.ETHERNET);
    expect(ours.length % 8).toBe(0);
    expect(bpfToDdd(ours)).toBe(bpfToDdd(tcpdumpDdd(expr)));
    expect(ours.equals(tcpdumpDdd(expr))).toBe(true);
  });

  it('matches tcpdump -O without the optimizer', () => {
    for (const expr of ['tcp port 443 or udp port 53', 'vlan 100 and tcp', 'ip6 and icmp6']) {
      expect(
        compileBpf(expr, LinkType.ETHERNET, 262144, false).equals(
          tcpdumpDdd(expr, 'EN10MB', ['-O']),
        ),
      ).toBe(true);
    }
  });

  it('honours the link type (LINKTYPE_ numbers) and the snap length', () => {
    expect(compileBpf('udp port 53', LinkType.RAW).equals(tcpdumpDdd('udp port 53', 'RAW'))).toBe(
      true,
    );
    expect(compileBpf('tcp', LinkType.LINUX_SLL).equals(tcpdumpDdd('tcp', 'LINUX_SLL'))).toBe(true);
    expect(
      compileBpf('tcp', LinkType.ETHERNET, 128).equals(tcpdumpDdd('tcp', 'EN10MB', ['-s', '128'])),
    ).toBe(true);
  });

  it.each(['tcp port', 'port 99999', 'ether proto \\ip and', 'vlan and (', 'tcp[0:3] = 1'])(
    'throws libpcap’s own message for %j',
    (expr) => {
      let caught: unknown;
      try {
        compileBpf(expr, LinkType.ETHERNET);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(Error);
      expect((caught as Error).message).toBe(tcpdumpError(expr));
      expect((caught as Error & { expression: string }).expression).toBe(expr);
    },
  );

  it('rejects bad arguments with TypeError/RangeError', () => {
    const call = compileBpf as unknown as (...a: unknown[]) => Buffer;
    expect(() => call(42, 1)).toThrow(TypeError);
    expect(() => call('tcp', '1')).toThrow(/linkType must be a number/);
    expect(() => call('tcp', 1.5)).toThrow(/linkType must be an integer/);
    expect(() => call('tcp', -1)).toThrow(RangeError);
    expect(() => call('tcp', 1, 0)).toThrow(/snapLen = 0 is outside/);
    expect(() => call('tcp', 1, 262144, 'yes')).toThrow(/optimize must be a boolean/);
    expect(() => call('tcp\0 or udp', 1)).toThrow(/NUL/);
    expect(() => compileBpf('tcp', 99999)).toThrow(/unknown data link type/);
  });
});

describe('bpfToText / ddd round trip', () => {
  it('prints what tcpdump -d prints', () => {
    for (const expr of [
      'tcp port 443 or udp port 53',
      'vlan 100 and tcp',
      'ip[6:2] & 0x1fff != 0',
    ]) {
      const text = execFileSync('tcpdump', ['-n', '-d', '-y', 'EN10MB', expr], {
        encoding: 'utf8',
      });
      expect(bpfToText(compileBpf(expr, LinkType.ETHERNET))).toBe(text);
    }
  });

  it('decodes, encodes and reparses the same bytes, also from an unaligned subarray', () => {
    const prog = compileBpf('vlan and udp', LinkType.ETHERNET);
    expect(encodeBpf(decodeBpf(prog)).equals(prog)).toBe(true);
    expect(bpfFromDdd(bpfToDdd(prog)).equals(prog)).toBe(true);
    expect(bpfFromDdd(bpfToDdd(prog).trim().split('\n').join(',')).equals(prog)).toBe(true); // tc form
    const odd = Buffer.alloc(prog.length + 1);
    prog.copy(odd, 1);
    const unaligned = odd.subarray(1);
    expect(bpfToText(unaligned)).toBe(bpfToText(prog));
    expect(validateBpf(unaligned)).toBe(true);
  });
});

describe('bpfFilterBatch', () => {
  const frames = pack(
    fixtures.map((f) => ({ bytes: f.bytes, wirelen: f.wirelen ?? f.bytes.length })),
  );

  // One column per fixture F0..F9, worked out by hand from the annotations.
  const expected: [string, number[]][] = [
    //                               F0 F1 F2 F3 F4 F5 F6 F7 F8 F9
    ['tcp port 443 or udp port 53', [1, 1, 0, 0, 0, 0, 0, 0, 1, 0]], // no look inside tags or fragments
    ['vlan and udp', /*           */ [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['vlan 100 and tcp', /*       */ [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]],
    ['ip6 and icmp6', /*          */ [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]],
    ['ip[6:2] & 0x1fff != 0', /*  */ [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]],
    ['arp', /*                    */ [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]],
    ['net 10.0.0.0/8', /*         */ [1, 0, 0, 0, 0, 1, 1, 0, 1, 1]], // arp counts; F9's src is present
    ['mpls', /*                   */ [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]],
    ['mpls 16 and icmp', /*       */ [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]],
    ['greater 1000', /*           */ [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]], // wirelen, not caplen
    ['less 60', /*                */ [1, 1, 1, 1, 0, 1, 1, 1, 0, 1]],
    ['tcp[tcpflags] & tcp-syn != 0', [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    ['udp', /*                    */ [0, 1, 0, 0, 0, 0, 1, 0, 0, 1]],
  ];

  it.each(expected)('%s selects the expected frames', (expr, bits) => {
    expect(filter(compileBpf(expr, LinkType.ETHERNET), frames)).toEqual(bits);
  });

  it('accepts a frame of length 0 and a count of 0', () => {
    const prog = compileBpf('greater 0', LinkType.ETHERNET);
    const out = new Uint8Array([7, 7]);
    const n = bpfFilterBatch(
      prog,
      Buffer.alloc(0),
      new Int32Array([0]),
      new Int32Array([0]),
      new Int32Array([0]),
      1,
      out,
    );
    expect([n, out[0], out[1]]).toEqual([1, 1, 7]);
    expect(
      bpfFilterBatch(
        prog,
        Buffer.alloc(0),
        new Int32Array(0),
        new Int32Array(0),
        new Int32Array(0),
        0,
        out,
      ),
    ).toBe(0);
  });

  it('rejects out-of-bounds frames and bad programs without touching out', () => {
    const prog = compileBpf('udp', LinkType.ETHERNET);
    const { buf, offsets, caplens, wirelens } = frames;
    const out = new Uint8Array(frames.count).fill(9);
    const run = (
      o: Int32Array,
      c: Int32Array,
      w: Int32Array,
      n: number,
      b: Uint8Array = buf,
      p: Uint8Array = prog,
    ) => bpfFilterBatch(p, b, o, c, w, n, out);
    const bad = (arr: Int32Array, i: number, v: number) => {
      const copy = arr.slice();
      copy[i] = v;
      return copy;
    };
    expect(() => run(bad(offsets, 9, buf.length), caplens, wirelens, 10)).toThrow(
      /frame 9 .* outside buf/,
    );
    expect(() => run(bad(offsets, 3, -1), caplens, wirelens, 10)).toThrow(RangeError);
    expect(() => run(offsets, bad(caplens, 0, 0x7fffffff), wirelens, 10)).toThrow(/outside buf/);
    expect(() => run(offsets, bad(caplens, 0, -5), wirelens, 10)).toThrow(RangeError);
    expect(() => run(offsets, caplens, bad(wirelens, 2, 3), 10)).toThrow(/wirelen 3 < caplen/);
    expect(() => run(offsets, caplens, wirelens, 11)).toThrow(/count 11 exceeds/);
    expect(() => run(offsets, caplens, wirelens, -1)).toThrow(RangeError);
    expect(() => run(offsets, caplens, wirelens, 10, buf.subarray(0, 100))).toThrow(
      /outside buf \(length 100\)/,
    );
    expect(() => run(offsets, caplens, wirelens, 10, buf, prog.subarray(0, 7))).toThrow(
      /multiple of 8/,
    );
    expect(() => run(offsets, caplens, wirelens, 10, buf, Buffer.alloc(0))).toThrow(
      /multiple of 8/,
    );
    // A jump past the end, and a program without a final ret.
    const jumpOut = encodeBpf([
      { code: 0x15, jt: 200, jf: 0, k: 0 },
      { code: 0x06, jt: 0, jf: 0, k: 0 },
    ]);
    expect(validateBpf(jumpOut)).toBe(false);
    expect(() => run(offsets, caplens, wirelens, 10, buf, jumpOut)).toThrow(/bpf_validate/);
    const noRet = encodeBpf([{ code: 0x28, jt: 0, jf: 0, k: 12 }]);
    expect(() => run(offsets, caplens, wirelens, 10, buf, noRet)).toThrow(/bpf_validate/);
    const call = bpfFilterBatch as unknown as (...a: unknown[]) => number;
    expect(() => call(prog, buf, Array.from(offsets), caplens, wirelens, 10, out)).toThrow(
      /offsets must be an Int32Array/,
    );
    expect(() => call(prog, 'x', offsets, caplens, wirelens, 10, out)).toThrow(
      /buf must be a Buffer/,
    );
    expect(() => call(prog, buf, offsets, caplens, wirelens, 10, new Int8Array(10))).toThrow(
      /out must be/,
    );
    expect(() => call(prog, buf)).toThrow(/offsets must be an Int32Array/); // wrapper passes undefined
    expect(Array.from(out)).toEqual(new Array<number>(frames.count).fill(9));
  });

  it('survives random programs that pass bpf_validate', () => {
    const rand = rng(7);
    const codes = [
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x14, 0x15, 0x16, 0x20, 0x24, 0x25, 0x28,
      0x30,
    ];
    const more = [
      0x35, 0x3c, 0x40, 0x45, 0x48, 0x50, 0x54, 0x60, 0x61, 0x64, 0x74, 0x84, 0x87, 0x94, 0xa4,
      0xb1,
    ];
    const all = [...codes, ...more];
    const out = new Uint8Array(frames.count);
    let valid = 0;
    for (let p = 0; p < 3000; p++) {
      const n = 1 + Math.floor(rand() * 12);
      const insns = Array.from({ length: n }, () => ({
        code: all[Math.floor(rand() * all.length)],
        jt: Math.floor(rand() * 4),
        jf: Math.floor(rand() * 4),
        k: rand() < 0.5 ? Math.floor(rand() * 80) : Math.floor(rand() * 0x100000000),
      }));
      insns.push({ code: 0x16, jt: 0, jf: 0, k: 0 }); // ret a
      const prog = encodeBpf(insns);
      if (!validateBpf(prog)) continue;
      valid++;
      bpfFilterBatch(
        prog,
        frames.buf,
        frames.offsets,
        frames.caplens,
        frames.wirelens,
        frames.count,
        out,
      );
    }
    expect(valid).toBeGreaterThan(100);
  });

  describe('agrees with tcpdump -r FILE -w OUT EXPR', () => {
    let dir = '';
    let input = '';
    let all: Frames;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'nm-native-bpf-'));
      input = join(dir, 'in.pcap');
      // Every fixture whole and cut at header boundaries, then 600 mutated copies.
      const list: { bytes: Buffer; wirelen: number }[] = [];
      for (const f of [...fixtures, qinq]) {
        const wirelen = f.wirelen ?? f.bytes.length;
        for (const cut of [f.bytes.length, 0, 1, 13, 14, 17, 18, 23, 26, 30, 34, 38, 40, 46, 54]) {
          if (cut <= f.bytes.length) list.push({ bytes: f.bytes.subarray(0, cut), wirelen });
        }
      }
      const rand = rng(42);
      const sources = [...fixtures, qinq];
      for (let i = 0; i < 600; i++) {
        const f = sources[Math.floor(rand() * sources.length)];
        const bytes = Buffer.from(f.bytes);
        const flips = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < flips; j++)
          bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        const cap = rand() < 0.2 ? Math.floor(rand() * bytes.length) : bytes.length;
        list.push({ bytes: bytes.subarray(0, cap), wirelen: rand() < 0.1 ? 1514 : bytes.length });
      }
      writePcap(input, list);
      all = pack(list);
    });

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.each(EXPRESSIONS)('%s', (expr) => {
      const output = join(dir, 'out.pcap');
      execFileSync('tcpdump', ['-n', '-r', input, '-w', output, expr], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const theirs = readPcapIndices(output);
      const bits = filter(compileBpf(expr, LinkType.ETHERNET), all);
      const ours = bits.flatMap((b, i) => (b ? [i] : []));
      expect(ours).toEqual(theirs);
    });
  });
});
