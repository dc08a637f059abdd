/**
 * Bad input never crashes the run. Malformed frames (truncated headers,
 * impossible lengths, bad IHL, bad TCP data offset, deep tag stacks,
 * zero-length records) are counted, still copied, and filters treat them as
 * tcpdump does. A damaged file (cut mid-record, a record claiming caplen
 * 0xFFFFFFFF, garbage after the last record, a pcapng block with a bad
 * length) ends the run with exit 1 and an error naming the byte offset, after
 * every good frame before the damage was written: exactly the frames tcpdump
 * gets out of the same file. Bad destinations and rules exit 2 naming the
 * problem.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import type { CaptureStats } from '@netmirror/capgen';
import { pcapRecordSection, readFrames, tempDir } from './support/frames.js';
import { mirror, run, tcpdumpFilter, NETMIRROR } from './support/run.js';

const tmp = tempDir('damage');
afterAll(() => tmp.remove());

const noStackTrace = (stderr: string): void => {
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(stderr).not.toMatch(/TypeError|RangeError|ReferenceError/);
};

describe('malformed frames', () => {
  const input = tmp.path('malformed.pcap');
  let stats: CaptureStats;

  beforeAll(() => {
    stats = writeCaptureFile({ path: input, frames: 30_000, seed: 31337, malformedRate: 0.05 });
  });

  it('capgen injected every kind', () => {
    for (const [kind, n] of Object.entries(stats.malformedByKind))
      expect(n, kind).toBeGreaterThan(100);
  });

  it('every frame is read and copied unchanged, and malformed frames are counted exactly', async () => {
    const out = tmp.path('all.pcap');
    const r = await mirror(
      ['--from', `pcap:${input}`, '--to', `pcap:${out}`],
      tmp.path('all.json'),
    );
    noStackTrace(r.stderr);
    expect(r.code).toBe(0);
    const c = r.summary!.counters;
    expect(c.read).toBe(30_000);
    expect(c.mirrored).toBe(30_000);
    expect(pcapRecordSection(out).equals(pcapRecordSection(input))).toBe(true);
    // capgen reports how many frames it broke (each in exactly one way).
    expect(c.malformed, `capgen injected ${JSON.stringify(stats.malformedByKind)}`).toBe(
      stats.malformed,
    );
  });

  for (const expr of ['tcp port 443 or udp', 'vlan', 'ip6', 'ip and len <= 60']) {
    it(`--filter "${expr}" still selects exactly what tcpdump selects`, async () => {
      const ours = tmp.path('f-ours.pcap');
      const theirs = tmp.path('f-tcpdump.pcap');
      const [r] = await Promise.all([
        mirror(
          ['--from', `pcap:${input}`, '--filter', expr, '--to', `pcap:${ours}`],
          tmp.path('f.json'),
        ),
        tcpdumpFilter(input, theirs, expr),
      ]);
      noStackTrace(r.stderr);
      expect(r.code).toBe(0);
      const n = readFrames(theirs).length;
      expect(n).toBeGreaterThan(0);
      expect(r.summary!.counters.matched).toBe(n);
      expect(pcapRecordSection(ours).equals(pcapRecordSection(theirs))).toBe(true);
    });
  }

  it('structured rules and every transform run over malformed frames without failing', async () => {
    const rules = tmp.path('malformed-rules.json');
    writeFileSync(
      rules,
      JSON.stringify({
        rules: [
          {
            name: 'web',
            priority: 1,
            match: { protocol: 'tcp', port: 443 },
            transforms: { slice: 64, dedup: true },
          },
          {
            name: 'tagged',
            priority: 2,
            match: { vlan: [100, 200] },
            transforms: { stripVlan: true },
          },
          { name: 'v6', priority: 3, match: { host: '2001:db8::/32' }, transforms: { sample: 3 } },
          { name: 'rest', priority: 4, match: {}, transforms: { stripVlan: true, slice: 128 } },
        ],
      }),
    );
    const out = tmp.path('rules.pcapng');
    const r = await mirror(
      ['--from', `pcap:${input}`, '--rules', rules, '--to', `pcapng:${out}`],
      tmp.path('rules.json'),
    );
    noStackTrace(r.stderr);
    expect(r.code).toBe(0);
    const c = r.summary!.counters;
    expect(c.read).toBe(30_000);
    expect(c.matched + c.unmatched + c.skipped).toBe(30_000);
    expect(c.unmatched).toBe(0); // the last rule matches everything
    expect(readFrames(out).length).toBe(c.mirrored);
    const t = await run('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.number']);
    expect(t.code).toBe(0);
    expect(t.stdout.trim().split('\n').length).toBe(c.mirrored);
  });
});

/** Byte offset of each record header of a classic pcap file. */
function pcapRecordOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let at = 24; at + 16 <= buf.length; at += 16 + buf.readUInt32LE(at + 8)) out.push(at);
  return out;
}

/** Byte offset of each Enhanced Packet Block of a (little-endian) pcapng file. */
function epbOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 12 <= buf.length; at += buf.readUInt32LE(at + 4))
    if (buf.readUInt32LE(at) === 6) out.push(at);
  return out;
}

describe('damaged capture files', () => {
  const goodPcap = tmp.path('good.pcap');
  const goodPcapng = tmp.path('good.pcapng');
  const FRAMES = 2000;
  const CUT = 1200; // the damaged record's index

  beforeAll(() => {
    writeCaptureFile({ path: goodPcap, frames: FRAMES, seed: 4711 });
    writeCaptureFile({ path: goodPcapng, frames: FRAMES, seed: 4711, format: 'pcapng' });
  });

  interface Damage {
    name: string;
    make: () => { path: string; offset: number; good: number };
  }
  const DAMAGES: Damage[] = [
    {
      name: 'pcap cut in the middle of a record',
      make: () => {
        const b = readFileSync(goodPcap);
        const at = pcapRecordOffsets(b)[CUT];
        const path = tmp.path('cut.pcap');
        writeFileSync(path, b.subarray(0, at + 16 + 10));
        return { path, offset: at, good: CUT };
      },
    },
    {
      name: 'pcap record with caplen 0xFFFFFFFF',
      make: () => {
        const b = Buffer.from(readFileSync(goodPcap));
        const at = pcapRecordOffsets(b)[CUT];
        b.writeUInt32LE(0xffffffff, at + 8);
        const path = tmp.path('caplen.pcap');
        writeFileSync(path, b);
        return { path, offset: at, good: CUT };
      },
    },
    {
      name: 'pcap with garbage after the last record',
      make: () => {
        const b = readFileSync(goodPcap);
        const path = tmp.path('garbage.pcap');
        writeFileSync(path, Buffer.concat([b, Buffer.alloc(37, 0xab)]));
        return { path, offset: b.length, good: FRAMES };
      },
    },
    {
      name: 'pcapng block with a bad block length',
      make: () => {
        const b = Buffer.from(readFileSync(goodPcapng));
        const at = epbOffsets(b)[CUT];
        b.writeUInt32LE(0x0fffff0d, at + 4); // not a multiple of 4, past the end of the file
        const path = tmp.path('badlen.pcapng');
        writeFileSync(path, b);
        return { path, offset: at, good: CUT };
      },
    },
  ];

  for (const d of DAMAGES) {
    it(`${d.name}: exit 1 naming the byte offset, every good frame before it written (as tcpdump)`, async () => {
      const { path, offset, good } = d.make();
      const out = tmp.path('damaged-out.pcap');
      const theirs = tmp.path('damaged-tcpdump.pcap');
      const [r, t] = await Promise.all([
        mirror(['--from', `pcap:${path}`, '--to', `pcap:${out}`], tmp.path('damaged.json')),
        tcpdumpFilter(path, theirs, '', true),
      ]);
      noStackTrace(r.stderr);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`byte ${offset}\\b`));
      expect(r.summary!.sourceError).toMatch(new RegExp(`byte ${offset}\\b`));
      expect(r.summary!.counters.read).toBe(good);

      const frames = readFrames(out);
      expect(frames.length).toBe(good);
      const originals = readFrames(d.name.startsWith('pcapng') ? goodPcapng : goodPcap).slice(
        0,
        good,
      );
      frames.forEach((f, k) => {
        if (
          !f.data.equals(originals[k].data) ||
          f.sec !== originals[k].sec ||
          f.nsec !== originals[k].nsec
        )
          expect.fail(`frame ${k + 1} differs`);
      });
      // tcpdump also stops there (with an error) and has written the same good prefix.
      expect(t.code).toBe(1);
      expect(pcapRecordSection(out).equals(pcapRecordSection(theirs))).toBe(true);
    });
  }

  it('a file that is not a capture: exit 1, naming the file problem', async () => {
    const path = tmp.path('not-a-capture.pcap');
    writeFileSync(path, 'hello, this is not a capture file\n');
    const r = await mirror(
      ['--from', `pcap:${path}`, '--to', `pcap:${tmp.path('x.pcap')}`],
      tmp.path('x.json'),
    );
    noStackTrace(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/magic/);
  });

  it('a missing file: exit 1, naming the path', async () => {
    const path = tmp.path('does-not-exist.pcap');
    const r = await mirror(
      ['--from', `pcap:${path}`, '--to', `pcap:${tmp.path('x.pcap')}`],
      tmp.path('x.json'),
    );
    noStackTrace(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path);
  });
});

describe('usage errors exit 2 with a message naming the problem', () => {
  const input = tmp.path('small.pcap');
  beforeAll(() => {
    writeCaptureFile({ path: input, frames: 100, seed: 1 });
  });

  const usage = async (args: string[], rules?: unknown): Promise<string> => {
    const extra: string[] = [];
    if (rules !== undefined) {
      const p = tmp.path('bad-rules.yaml');
      writeFileSync(p, typeof rules === 'string' ? rules : JSON.stringify(rules));
      extra.push('--rules', p);
    }
    const r = await run('node', [
      NETMIRROR,
      'mirror',
      '--from',
      `pcap:${input}`,
      ...extra,
      ...args,
      '--quiet',
    ]);
    noStackTrace(r.stderr);
    expect(r.code, r.stderr).toBe(2);
    return r.stderr.split('\n\n')[0];
  };

  it('destination URIs', async () => {
    expect(await usage(['--to', 'vxlan://127.0.0.1?vni=abc'])).toMatch(
      /vxlan:\/\/127\.0\.0\.1\?vni=abc.*vni=abc must be an integer 0-16777215/,
    );
    expect(await usage(['--to', 'vxlan://127.0.0.1?vni=1&mtu=10'])).toMatch(
      /mtu=10 must be an integer 576-65535/,
    );
    expect(await usage(['--to', 'erspan2://127.0.0.1'])).toMatch(
      /erspan2:\/\/127\.0\.0\.1.*needs session=N/,
    );
    expect(await usage(['--to', 'gre://127.0.0.1:99'])).toMatch(/takes no port/);
    expect(await usage(['--to', 'foo://127.0.0.1'])).toMatch(/unknown kind "foo"/);
    expect(await usage(['--to', 'tzsp://127.0.0.1?colour=red'])).toMatch(
      /unknown parameter "colour"/,
    );
    expect(await usage(['--to', 'not a uri'])).toMatch(/not a uri.*not a destination URI/);
    expect(await usage([])).toMatch(/no destination/);
  });

  it('rules files: the rule and the field are named', async () => {
    const rule = (r: Record<string, unknown>): unknown => ({
      rules: [{ name: 'web', priority: 1, ...r }],
    });
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], rule({ match: { dstPort: 70000 } })),
    ).toMatch(/rules\[0\] "web" match\.dstPort: 70000 is not a port/);
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], rule({ match: { src: '10.0.0.0/33' } })),
    ).toMatch(/rules\[0\] "web" match\.src: prefix length "33"/);
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], rule({ match: { colour: 'red' } })),
    ).toMatch(/rules\[0\] "web" match\.colour: unknown field/);
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], rule({ match: { bpf: 'tcp port' } })),
    ).toMatch(/rules\[0\] "web" match\.bpf: /);
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], rule({ transforms: { slice: 4 } })),
    ).toMatch(/rules\[0\] "web" transforms\.slice: expected bytes to keep, 14-65535/);
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], rule({ destinations: ['nowhere'] })),
    ).toMatch(/rule "web" destinations: unknown destination "nowhere"/);
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], 'rules: [ {name: web, priority: 1,\n'),
    ).toMatch(/bad-rules\.yaml/);
    expect(
      await usage(['--to', `pcap:${tmp.path('o.pcap')}`], {
        destinations: { ids: 'vxlan://127.0.0.1?vni=x' },
        rules: [{ name: 'a', priority: 1, destinations: ['ids'] }],
      }),
    ).toMatch(/vni=x must be an integer/);
  });

  it('a --filter that does not compile', async () => {
    expect(await usage(['--filter', 'tcp port', '--to', `pcap:${tmp.path('o.pcap')}`])).toMatch(
      /--filter/,
    );
  });
});
