/**
 * Per-rule transforms on the copies: stripVlan removes every 802.1Q/802.1ad
 * tag and changes nothing else; sample N keeps exactly the 1st, N+1th, ...
 * matching frame; dedup drops exact duplicates within the window, frame for
 * frame as editcap -w does, and the counters say how many.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCapture, writeCaptureFile } from '@netmirror/capgen';
import { LinkType } from '@netmirror/packet';
import { PcapWriter } from '@netmirror/pcap';
import type { Frame } from './support/frames.js';
import { indexesInInput, pcapRecordSection, readFrames, tempDir, tsKey } from './support/frames.js';
import { mirror, run, tcpdumpFilter, tsharkFrameNumbers } from './support/run.js';

const tmp = tempDir('transforms');
afterAll(() => tmp.remove());

const TPIDS = new Set([0x8100, 0x88a8, 0x9100]);

/** The frame without its outer tag stack (written independently of the product). */
function untagged(f: Frame): Buffer {
  let b = f.data;
  while (b.length >= 18 && TPIDS.has(b.readUInt16BE(12)))
    b = Buffer.concat([b.subarray(0, 12), b.subarray(16)]);
  return b;
}

function rulesFile(name: string, rules: unknown[]): string {
  const p = tmp.path(`${name}.json`);
  writeFileSync(p, JSON.stringify({ rules }));
  return p;
}

describe('stripVlan', () => {
  const input = tmp.path('tagged.pcap');
  let frames: Frame[];
  beforeAll(() => {
    writeCaptureFile({ path: input, frames: 20_000, seed: 8021 });
    frames = readFrames(input);
  });

  it('copies have no 802.1Q/802.1ad tags and are otherwise the input frames', async () => {
    const out = tmp.path('stripped.pcap');
    const r = await mirror(
      [
        '--from',
        `pcap:${input}`,
        '--rules',
        rulesFile('strip', [{ name: 'all', priority: 1, transforms: { stripVlan: true } }]),
        '--to',
        `pcap:${out}`,
      ],
      tmp.path('strip.json'),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const tagged = frames.filter((f) => TPIDS.has(f.data.readUInt16BE(12)));
    const qinq = tagged.filter((f) => TPIDS.has(f.data.readUInt16BE(16)));
    expect(tagged.length).toBeGreaterThan(1000);
    expect(qinq.length).toBeGreaterThan(50);

    // tshark: a tag right after the (outer) Ethernet addresses before, none after.
    const TAGS = 'eth.type#1 == 0x8100 or eth.type#1 == 0x88a8 or eth.type#1 == 0x9100';
    const [before, after] = await Promise.all([
      tsharkFrameNumbers(input, TAGS),
      tsharkFrameNumbers(out, TAGS),
    ]);
    expect(before.length).toBe(tagged.length);
    expect(after).toEqual([]);

    const copies = readFrames(out);
    expect(copies.length).toBe(frames.length);
    copies.forEach((c, k) => {
      const want = untagged(frames[k]);
      if (!c.data.equals(want))
        expect.fail(
          `copy ${k + 1}:\n  want ${want.toString('hex')}\n  got  ${c.data.toString('hex')}`,
        );
      expect(c.wirelen).toBe(frames[k].wirelen - (frames[k].data.length - want.length));
      expect(tsKey(c)).toBe(tsKey(frames[k]));
    });
  });

  it('a rule that strips and slices: tags go first, then the copy is cut', async () => {
    const out = tmp.path('strip-slice.pcap');
    const r = await mirror(
      [
        '--from',
        `pcap:${input}`,
        '--rules',
        rulesFile('strip-slice', [
          {
            name: 'tagged',
            priority: 1,
            match: { bpf: 'vlan' },
            transforms: { stripVlan: true, slice: 64 },
          },
        ]),
        '--to',
        `pcap:${out}`,
      ],
      tmp.path('strip-slice.json'),
    );
    expect(r.code).toBe(0);
    const tagged = frames.filter((f) => TPIDS.has(f.data.readUInt16BE(12)));
    const copies = readFrames(out);
    expect(copies.length).toBe(tagged.length);
    copies.forEach((c, k) => {
      const whole = untagged(tagged[k]);
      expect(c.data.equals(whole.subarray(0, 64)), `copy ${k + 1}`).toBe(true);
      expect(c.wirelen).toBe(whole.length);
    });
  });
});

describe('sample', () => {
  const input = tmp.path('sample.pcap');
  beforeAll(() => {
    writeCaptureFile({ path: input, frames: 20_000, seed: 1010 });
  });

  it('sample: 10 keeps the 1st, 11th, 21st, ... matching frame; sample: 3 per rule, independently', async () => {
    const out = tmp.path('sampled.pcap');
    const rules = rulesFile('sample', [
      { name: 'tcp', priority: 1, match: { bpf: 'tcp' }, transforms: { sample: 10 } },
      { name: 'udp', priority: 2, match: { bpf: 'udp' }, transforms: { sample: 3 } },
    ]);
    const tcpOut = tmp.path('tcp.pcap');
    const udpOut = tmp.path('udp.pcap');
    const [r] = await Promise.all([
      mirror(
        ['--from', `pcap:${input}`, '--rules', rules, '--to', `pcap:${out}`],
        tmp.path('sample.json'),
      ),
      tcpdumpFilter(input, tcpOut, 'tcp'),
      tcpdumpFilter(input, udpOut, 'udp'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const all = readFrames(input);
    const tcp = indexesInInput(all, readFrames(tcpOut));
    const udp = indexesInInput(all, readFrames(udpOut));
    const keep = new Set([
      ...tcp.filter((_, k) => k % 10 === 0),
      ...udp.filter((_, k) => k % 3 === 0),
    ]);
    const want = [...keep].sort((a, b) => a - b);
    expect(indexesInInput(all, readFrames(out))).toEqual(want);

    const kept = (n: number, every: number): number => Math.ceil(n / every);
    const s = r.summary!;
    expect(s.rules.map((x) => [x.name, x.matched, x.sampledOut, x.mirrored])).toEqual([
      ['tcp', tcp.length, tcp.length - kept(tcp.length, 10), kept(tcp.length, 10)],
      ['udp', udp.length, udp.length - kept(udp.length, 3), kept(udp.length, 3)],
    ]);
    expect(s.counters.sampledOut).toBe(tcp.length + udp.length - want.length);
    expect(s.counters.mirrored).toBe(want.length);
  });
});

describe('dedup', () => {
  const input = tmp.path('dups.pcap');
  let total = 0;
  let injected = 0;

  beforeAll(() => {
    // 3,000 generated frames plus repeats at chosen delays (one-off repeats, and chains
    // of repeats 40 ms apart, each within the window of the one before).
    const base: { data: Buffer; t: bigint }[] = [];
    generateCapture({ frames: 3000, seed: 2024 }, (buf, off, len, sec, nsec) => {
      base.push({
        data: Buffer.from(buf.subarray(off, off + len)),
        t: BigInt(sec) * 1_000_000_000n + BigInt(nsec),
      });
    });
    const ms = 1_000_000n;
    const DELAYS = [1_000n, 3n * ms, 10n * ms, 49n * ms, 51n * ms, 70n * ms, 200n * ms];
    const all = [...base];
    base.forEach((f, i) => {
      if (i % 7 === 0) all.push({ data: f.data, t: f.t + DELAYS[(i / 7) % DELAYS.length] + 17n });
      if (i % 97 === 5)
        for (let k = 1n; k <= 4n; k++) all.push({ data: f.data, t: f.t + k * 40n * ms + 29n });
    });
    injected = all.length - base.length;
    all.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    for (let k = 1; k < all.length; k++) if (all[k].t <= all[k - 1].t) all[k].t = all[k - 1].t + 1n; // unique times
    const w = new PcapWriter(input, {
      linkType: LinkType.ETHERNET,
      nanosecond: true,
      snapLen: 262144,
    });
    for (const f of all)
      w.writeFrame(
        f.data,
        0,
        f.data.length,
        f.data.length,
        Number(f.t / 1_000_000_000n),
        Number(f.t % 1_000_000_000n),
      );
    w.close();
    total = all.length;
  });

  for (const [label, dedup, window] of [
    ['dedup: true (50 ms)', true, '0.05'],
    ['dedup: { windowMs: 5 }', { windowMs: 5 }, '0.005'],
  ] as const) {
    it(`${label} drops the frames editcap -w ${window} drops`, async () => {
      const out = tmp.path('dedup.pcap');
      const theirs = tmp.path('editcap.pcap');
      const [r, e] = await Promise.all([
        mirror(
          [
            '--from',
            `pcap:${input}`,
            '--rules',
            rulesFile('dedup', [{ name: 'all', priority: 1, transforms: { dedup } }]),
            '--to',
            `pcap:${out}`,
          ],
          tmp.path('dedup.json'),
        ),
        run('editcap', ['-F', 'nsecpcap', '-w', window, input, theirs]),
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(e.code).toBe(0);
      const kept = readFrames(theirs).length;
      expect(injected).toBeGreaterThan(400);
      expect(total - kept).toBeGreaterThan(100);
      const a = readFrames(out).map(tsKey);
      const b = readFrames(theirs).map(tsKey);
      const onlyOurs = a.filter((k) => !b.includes(k));
      const onlyEditcap = b.filter((k) => !a.includes(k));
      expect({ onlyOurs, onlyEditcap }).toEqual({ onlyOurs: [], onlyEditcap: [] });
      expect(r.summary!.counters.mirrored).toBe(kept);
      expect(r.summary!.rules[0].deduplicated).toBe(total - kept);
      expect(r.summary!.counters.deduplicated).toBe(total - kept);
      expect(pcapRecordSection(out).equals(pcapRecordSection(theirs))).toBe(true);
    });
  }
});
