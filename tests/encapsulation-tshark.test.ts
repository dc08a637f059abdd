/**
 * One run sends different rule selections to VXLAN, GRE (with key), ERSPAN
 * II, ERSPAN III and TZSP destinations on 127.0.0.1 inside a throwaway
 * network namespace, where tshark captures them on lo. tshark must decode
 * every copy as its encapsulation, with the configured VNI, key and session,
 * per-destination GRE sequence numbers 0, 1, 2, ..., and the inner frames must
 * be, byte for byte and in order, the input frames the rules selected (cut to
 * 96 bytes where the rule slices). Each selected frame arrives exactly once
 * per destination. Selections come from tcpdump on the same file.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import type { Frame } from './support/frames.js';
import { indexesInInput, readFrames, tempDir } from './support/frames.js';
import { createNetns } from './support/netns.js';
import type { Netns } from './support/netns.js';
import { mirror, run, tcpdumpFilter, waitForExit, waitForStderr } from './support/run.js';
import type { MirrorResult } from './support/run.js';

const SLICE = 96;
const VNI = 4242;
const GRE_KEY = 77;
const SESSION2 = 100;
const SESSION3 = 200;

const tmp = tempDir('encap');
const input = tmp.path('in.pcap');
const captured = tmp.path('lo.pcapng');
let ns: Netns | null = null;
let tshark: ChildProcess | null = null;
let inputFrames: Frame[];
let result: MirrorResult;
/** Input indexes each rule selects (tcpdump), in input order. */
const sel: Record<'web' | 'tagged' | 'udp', number[]> = { web: [], tagged: [], udp: [] };

interface Copy {
  /** Outer fields (first occurrence). */
  protocols: string;
  udpDst: number;
  greProto: number;
  vni: number;
  greKey: number;
  greSeq: number;
  spanId: number;
  erspanVersion: number;
  erspanVlan: number;
  erspanTruncated: number;
  erspanTimestamp: number;
  /** The frame as captured on lo, and where tshark found the encapsulated Ethernet frame. */
  bytes: Buffer;
  innerAt: number;
}
const copies: Record<string, Copy[]> = { vx: [], gr: [], e2: [], e3: [], tz: [] };

const RULES = `
destinations:
  vx: vxlan://127.0.0.1?vni=${VNI}
  gr: gre://127.0.0.1?key=${GRE_KEY}
  e2: erspan2://127.0.0.1?session=${SESSION2}
  e3: erspan3://127.0.0.1?session=${SESSION3}
  tz: tzsp://127.0.0.1
rules:
  - { name: web, priority: 10, match: { bpf: "tcp dst port 443" }, transforms: { slice: ${SLICE} }, destinations: [vx, e3] }
  - { name: tagged, priority: 20, match: { bpf: vlan }, destinations: [gr, e2, tz] }
  - { name: udp, priority: 30, match: { bpf: udp }, destinations: [vx, gr, e2, e3, tz] }
`;

function field(v: string | undefined): number {
  return v === undefined || v === '' ? -1 : Number(v);
}

beforeAll(async () => {
  writeCaptureFile({ path: input, frames: 2000, seed: 99 });
  inputFrames = readFrames(input);
  for (const [name, expr] of [
    ['web', 'tcp dst port 443'],
    ['tagged', 'vlan'],
    ['udp', 'udp'],
  ] as const) {
    const out = tmp.path(`${name}.pcap`);
    await tcpdumpFilter(input, out, expr);
    sel[name] = indexesInInput(inputFrames, readFrames(out));
  }
  const rulesPath = tmp.path('rules.yaml');
  writeFileSync(rulesPath, RULES);

  // tshark stops by itself once every expected copy is in (a loaded machine
  // can leave it seconds behind the sender); the time limit below is the fallback.
  const expectedTotal = Object.keys(copies).reduce((n, dest) => n + expectedFor(dest).length, 0);
  ns = await createNetns('nm-encap');
  tshark = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      'tshark',
      '-n',
      '-i',
      'lo',
      '-B',
      '64',
      '-f',
      'udp port 4789 or udp port 37008 or ip proto 47',
      '-c',
      String(expectedTotal),
      '-w',
      captured,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  await waitForStderr(tshark, /Capturing on/);
  // tshark says "Capturing on" a moment before its capture is live: sending
  // at once lost the first copies in about one run in ten; after 1 s, none in
  // tens of runs.
  await new Promise((r) => setTimeout(r, 1000));
  result = await mirror(['--from', `pcap:${input}`, '--rules', rulesPath], tmp.path('stats.json'), {
    netns: ns.name,
  });
  const capturing = tshark;
  const exited = await new Promise<boolean>((resolve) => {
    if (capturing.exitCode !== null || capturing.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), 20_000);
    capturing.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!exited) {
    tshark.kill('SIGINT');
    await waitForExit(tshark, 10_000);
  }
  tshark = null;

  const fields = [
    'frame.number',
    'frame.protocols',
    'udp.dstport',
    'gre.proto',
    'vxlan.vni',
    'gre.key',
    'gre.sequence_number',
    'erspan.spanid',
    'erspan.version',
    'erspan.vlan',
    'erspan.truncated',
    'erspan.timestamp',
  ];
  const [f, j] = await Promise.all([
    run(
      'tshark',
      [
        '-n',
        '-r',
        captured,
        '-T',
        'fields',
        '-E',
        'occurrence=f',
        '-E',
        'separator=/t',
        ...fields.flatMap((x) => ['-e', x]),
      ],
      { timeoutMs: 60_000 },
    ),
    run('tshark', ['-n', '-r', captured, '-T', 'json', '-x', '--no-duplicate-keys', '-j', 'eth'], {
      timeoutMs: 60_000,
    }),
  ]);
  if (f.code !== 0 || j.code !== 0) throw new Error(`tshark: ${f.stderr} ${j.stderr}`);
  const packets = JSON.parse(j.stdout) as {
    _source: { layers: { frame_raw: [string]; eth_raw: unknown } };
  }[];
  const rows = f.stdout.split('\n').filter((l) => l !== '');
  if (rows.length !== packets.length)
    throw new Error(`tshark fields ${rows.length} rows, json ${packets.length} packets`);
  rows.forEach((line, k) => {
    const c = line.split('\t');
    const layers = packets[k]._source.layers;
    // eth_raw: [hex, pos, len, ...] for one Ethernet header, or a list of them; the second is the first encapsulated frame.
    const eths = (
      Array.isArray((layers.eth_raw as unknown[])[0]) ? layers.eth_raw : [layers.eth_raw]
    ) as [string, number][];
    const copy: Copy = {
      protocols: c[1],
      udpDst: field(c[2]),
      greProto: field(c[3]),
      vni: field(c[4]),
      greKey: field(c[5]),
      greSeq: field(c[6]),
      spanId: field(c[7]),
      erspanVersion: field(c[8]),
      erspanVlan: field(c[9]),
      erspanTruncated: field(c[10]),
      erspanTimestamp: field(c[11]),
      bytes: Buffer.from(layers.frame_raw[0], 'hex'),
      innerAt: eths.length > 1 ? eths[1][1] : -1,
    };
    // Which destination sent it, by its outer headers (tshark's own reading of them).
    const p = copy.protocols;
    const dest = p.startsWith('eth:ethertype:ip:udp:vxlan:')
      ? 'vx'
      : p.startsWith('eth:ethertype:ip:udp:tzsp:')
        ? 'tz'
        : p.startsWith('eth:ethertype:ip:gre:eth:')
          ? 'gr'
          : p.startsWith('eth:ethertype:ip:gre:erspan:') && copy.greProto === 0x88be
            ? 'e2'
            : p.startsWith('eth:ethertype:ip:gre:erspan:') && copy.greProto === 0x22eb
              ? 'e3'
              : 'unknown';
    (copies[dest] ??= []).push(copy);
  });
}, 90_000);

afterAll(async () => {
  if (tshark) {
    tshark.kill('SIGKILL');
    await waitForExit(tshark, 5000);
  }
  await ns?.remove();
  tmp.remove();
});

/** What each destination should have received: input indexes in order, and whether the rule sliced them. */
function expectedFor(dest: string): { index: number; sliced: boolean }[] {
  const web = new Set(sel.web);
  const tagged = new Set(sel.tagged.filter((i) => !web.has(i)));
  const udp = new Set(sel.udp.filter((i) => !web.has(i) && !tagged.has(i)));
  const use = {
    vx: [web, udp],
    e3: [web, udp],
    gr: [tagged, udp],
    e2: [tagged, udp],
    tz: [tagged, udp],
  }[dest]!;
  const out: { index: number; sliced: boolean }[] = [];
  for (let i = 0; i < inputFrames.length; i++) {
    if (use.some((s) => s.has(i))) out.push({ index: i, sliced: web.has(i) });
  }
  return out;
}

function innerOf(c: Copy): Buffer {
  return c.bytes.subarray(c.innerAt);
}

const hasTags = (f: Buffer, n: number): boolean => {
  const tpid = (at: number): boolean => [0x8100, 0x88a8, 0x9100].includes(f.readUInt16BE(at));
  return n === 1 ? tpid(12) : tpid(12) && tpid(16);
};

describe('encapsulated copies, decoded by tshark', () => {
  it('the run succeeds and every destination sends what it was offered', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sel.web.length).toBeGreaterThan(50);
    expect(sel.tagged.length).toBeGreaterThan(50);
    expect(sel.udp.length).toBeGreaterThan(50);
    // VLAN and QinQ frames are among the selections.
    expect(sel.tagged.filter((i) => hasTags(inputFrames[i].data, 2)).length).toBeGreaterThan(5);
    const s = result.summary!;
    expect(s.rules.map((r) => [r.name, r.matched])).toEqual([
      ['web', sel.web.length],
      ['tagged', sel.tagged.length],
      ['udp', sel.udp.length],
    ]);
    for (const d of s.destinations) {
      const n = expectedFor(d.name).length;
      expect({
        name: d.name,
        offered: d.offered,
        sent: d.sent,
        dropped: d.dropped,
        failed: d.failed,
        unsupported: d.unsupported,
        lastError: d.lastError,
      }).toEqual({
        name: d.name,
        offered: n,
        sent: n,
        dropped: 0,
        failed: 0,
        unsupported: 0,
        lastError: null,
      });
    }
    expect(copies.unknown ?? []).toEqual([]);
  });

  const DESTS = [
    { dest: 'vx', protocols: 'udp:vxlan:eth', check: (c: Copy) => expect(c.vni).toBe(VNI) },
    { dest: 'gr', protocols: 'gre:eth', check: (c: Copy) => expect(c.greKey).toBe(GRE_KEY) },
    {
      dest: 'e2',
      protocols: 'gre:erspan:eth',
      check: (c: Copy) => {
        expect(c.spanId).toBe(SESSION2);
        expect(c.erspanVersion).toBe(1); // type II
      },
    },
    {
      dest: 'e3',
      protocols: 'gre:erspan:eth',
      check: (c: Copy) => {
        expect(c.spanId).toBe(SESSION3);
        expect(c.erspanVersion).toBe(2); // type III
      },
    },
    { dest: 'tz', protocols: 'udp:tzsp:eth', check: () => undefined },
  ];

  for (const { dest, protocols, check } of DESTS) {
    it(`${dest}: tshark decodes ${protocols}, and the inner frames are the selected input frames, once each, in order`, () => {
      const got = copies[dest] ?? [];
      const want = expectedFor(dest);
      expect(got.length).toBe(want.length);
      got.forEach((c, k) => {
        expect(
          c.protocols.startsWith(`eth:ethertype:ip:${protocols}`),
          `copy ${k + 1}: ${c.protocols}`,
        ).toBe(true);
        expect(c.innerAt).toBeGreaterThan(0);
        check(c);
        const w = want[k];
        const original = inputFrames[w.index].data;
        const expected = w.sliced ? original.subarray(0, SLICE) : original;
        const inner = innerOf(c);
        if (!inner.equals(expected)) {
          expect.fail(
            `${dest} copy ${k + 1} (input frame ${w.index + 1}${w.sliced ? `, sliced to ${SLICE}` : ''}):\n  want ${expected.toString('hex')}\n  got  ${inner.toString('hex')}`,
          );
        }
      });
    });
  }

  for (const dest of ['gr', 'e2', 'e3']) {
    it(`${dest}: GRE sequence numbers run 0, 1, 2, ... without gaps`, () => {
      const seqs = (copies[dest] ?? []).map((c) => c.greSeq);
      expect(seqs.length).toBeGreaterThan(0);
      expect(seqs).toEqual(seqs.map((_, k) => k));
    });
  }

  it('ERSPAN headers carry the outer VLAN id, the truncated bit of sliced copies, and (III) the 100 µs timestamp', () => {
    let tagged = 0;
    let truncated = 0;
    for (const dest of ['e2', 'e3']) {
      const want = expectedFor(dest);
      (copies[dest] ?? []).forEach((c, k) => {
        const f = inputFrames[want[k].index];
        const vlan = hasTags(f.data, 1) ? f.data.readUInt16BE(14) & 0x0fff : 0;
        if (vlan !== 0) tagged++;
        expect(c.erspanVlan, `${dest} copy ${k + 1}`).toBe(vlan);
        const cut = want[k].sliced && f.data.length > SLICE;
        if (cut) truncated++;
        expect(c.erspanTruncated, `${dest} copy ${k + 1} truncated bit`).toBe(cut ? 1 : 0);
        if (dest === 'e3') {
          const ts = Number(
            ((BigInt(f.sec) * 1_000_000_000n + BigInt(f.nsec)) / 100_000n) % 4294967296n,
          );
          expect(c.erspanTimestamp, `e3 copy ${k + 1} timestamp`).toBe(ts);
        }
      });
    }
    expect(tagged).toBeGreaterThan(0);
    expect(truncated).toBeGreaterThan(0);
  });
});
