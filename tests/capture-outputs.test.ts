/**
 * Our pcap and pcapng recordings, as Wireshark's and tcpdump's readers see
 * them: packet counts, first/last and every timestamp to the nanosecond,
 * identical frame bytes, and in pcapng the source's interfaces (name,
 * description, per-packet interface and direction flags) plus one Interface
 * Statistics Block per interface with the counts the run saw. tshark 4.0 shows
 * ISB options through its file-format dissector (`-X read_format:"MIME Files Format"`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCapture, writeCaptureFile } from '@netmirror/capgen';
import { LinkType } from '@netmirror/packet';
import { PcapngWriter } from '@netmirror/pcap';
import type { Frame } from './support/frames.js';
import { pcapRecordSection, readCapture, readFrames, tempDir, tsKey } from './support/frames.js';
import { capinfos, mirror, run, tcpdumpFilter, tsharkFields } from './support/run.js';
import type { MirrorResult } from './support/run.js';

const tmp = tempDir('outputs');
afterAll(() => tmp.remove());

/** ISB options of a pcapng file, per block in file order, as tshark's file-format dissector reads them. */
async function isbs(
  file: string,
): Promise<
  { interfaceId: number; received: number; dropped: number; accepted: number; delivered: number }[]
> {
  const r = await run('tshark', [
    '-r',
    file,
    '-X',
    'read_format:MIME Files Format',
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-e',
    'pcapng.block.type',
    '-e',
    'pcapng.interface_id',
    '-e',
    'pcapng.options.option.data.interface.received',
    '-e',
    'pcapng.options.option.data.interface.dropped',
    '-e',
    'pcapng.options.option.data.interface.accepted_by_filter',
    '-e',
    'pcapng.options.option.data.interface.delivered_to_user',
  ]);
  if (r.code !== 0) throw new Error(`tshark (file format) ${file}: ${r.stderr}`);
  const [types, ids, recv, drop, acc, deliv] = r.stdout
    .trim()
    .split('\t')
    .map((s) => (s === '' ? [] : s.split(',').map(Number)));
  const n = types.filter((t) => t === 5).length; // block type 5: ISB
  // pcapng.interface_id also lists every EPB's interface; the ISBs come last in our files.
  const isbIds = ids.slice(ids.length - n);
  return Array.from({ length: n }, (_, k) => ({
    interfaceId: isbIds[k],
    received: recv[k],
    dropped: drop[k],
    accepted: acc[k],
    delivered: deliv[k],
  }));
}

describe('pcap and pcapng recordings of a pcap source', () => {
  const input = tmp.path('in.pcap');
  const outPcap = tmp.path('out.pcap');
  const outPcapng = tmp.path('out.pcapng');
  const tcpdumpOut = tmp.path('tcpdump.pcap');
  let expected: Frame[];
  let total = 0;
  let r: MirrorResult;

  beforeAll(async () => {
    total = writeCaptureFile({ path: input, frames: 5000, seed: 5150 }).frames;
    [r] = await Promise.all([
      mirror(
        [
          '--from',
          `pcap:${input}`,
          '--filter',
          'tcp',
          '--to',
          `pcap:${outPcap}`,
          '--to',
          `pcapng:${outPcapng}`,
        ],
        tmp.path('a.json'),
      ),
      tcpdumpFilter(input, tcpdumpOut, 'tcp'),
    ]);
    expected = readFrames(tcpdumpOut);
  });

  it('runs cleanly', () => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(expected.length).toBeGreaterThan(1000);
    expect(r.summary!.destinations.map((d) => d.sent)).toEqual([expected.length, expected.length]);
  });

  for (const [kind, file] of [
    ['pcap', outPcap],
    ['pcapng', outPcapng],
  ] as const) {
    it(`${kind}: capinfos counts and first/last times to the nanosecond`, async () => {
      const info = await capinfos(file, ['-c', '-a', '-e', '-S', '-t']);
      expect(info.get('Number of packets')).toBe(String(expected.length));
      expect(info.get('First packet time')).toBe(tsKey(expected[0]));
      expect(info.get('Last packet time')).toBe(tsKey(expected[expected.length - 1]));
      expect(info.get('File type')).toMatch(
        kind === 'pcap' ? /nsecpcap|nanosecond pcap/ : /pcapng/,
      );
    });

    it(`${kind}: tshark sees every frame with its nanosecond time and lengths`, async () => {
      const rows = await tsharkFields(file, ['frame.time_epoch', 'frame.len', 'frame.cap_len']);
      expect(rows.length).toBe(expected.length);
      const want = expected.map((f) => [tsKey(f), String(f.wirelen), String(f.data.length)]);
      expect(rows).toEqual(want);
    });

    it(`${kind}: tcpdump reads back exactly the frames tcpdump selected`, async () => {
      const back = tmp.path(`${kind}-back.pcap`);
      await tcpdumpFilter(file, back, '');
      expect(pcapRecordSection(back).equals(pcapRecordSection(tcpdumpOut))).toBe(true);
    });
  }

  it('pcapng: one statistics block: received = frames read, accepted = delivered = frames recorded, no drops', async () => {
    const info = await capinfos(outPcapng, ['-I']);
    expect(info.get('Number of interfaces in file')).toBe('1');
    expect(await isbs(outPcapng)).toEqual([
      {
        interfaceId: 0,
        received: total,
        dropped: 0,
        accepted: expected.length,
        delivered: expected.length,
      },
    ]);
    // Our own reader agrees with tshark.
    const c = readCapture(outPcapng);
    expect(c.interfaces[0].stats).toMatchObject({
      ifRecv: total,
      ifDrop: 0,
      filterAccept: expected.length,
      usrDeliv: expected.length,
    });
  });
});

describe('pcapng recording of a two-interface pcapng source', () => {
  const input = tmp.path('two.pcapng');
  const output = tmp.path('two-out.pcapng');
  const perIf = [0, 0];
  const SOURCE_DROPS = { ifDrop: 5, osDrop: 2 };
  let r: MirrorResult;

  beforeAll(async () => {
    // eth0 at nanosecond resolution, eth1 at microseconds; directions in epb_flags.
    const w = new PcapngWriter(input, {
      interfaces: [
        { linkType: LinkType.ETHERNET, tsResol: 9, name: 'eth0', description: 'uplink A (ns)' },
        { linkType: LinkType.ETHERNET, tsResol: 6, name: 'eth1', description: 'uplink B (us)' },
      ],
    });
    let n = 0;
    let last = { sec: 0, nsec: 0 };
    generateCapture({ frames: 3000, seed: 77 }, (buf, off, len, sec, nsec) => {
      const ifId = n % 3 === 2 ? 1 : 0;
      const flags = n % 4 === 0 ? 0 : n % 4 === 1 ? 1 : 2; // none, inbound, outbound
      w.writeFrame(ifId, buf, off, len, len, sec, nsec, flags);
      perIf[ifId]++;
      last = { sec, nsec };
      n++;
    });
    w.writeStatistics({
      interfaceId: 0,
      tsSec: last.sec,
      tsNsec: last.nsec,
      ifRecv: perIf[0] + 7,
      ...SOURCE_DROPS,
    });
    w.writeStatistics({ interfaceId: 1, tsSec: last.sec, tsNsec: 0, ifRecv: perIf[1], ifDrop: 0 });
    w.close();
    r = await mirror(['--from', `pcap:${input}`, '--to', `pcapng:${output}`], tmp.path('b.json'));
  });

  it('runs cleanly', () => {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.summary!.counters.read).toBe(3000);
  });

  it('keeps both interfaces (capinfos)', async () => {
    const rr = await run('capinfos', ['-I', output]);
    expect(rr.stdout).toMatch(/Number of interfaces in file: 2/);
    expect(rr.stdout).toMatch(/Name = eth0/);
    expect(rr.stdout).toMatch(/Description = uplink A \(ns\)/);
    expect(rr.stdout).toMatch(/Name = eth1/);
    expect(rr.stdout).toMatch(/Description = uplink B \(us\)/);
  });

  it('every frame keeps its interface, direction, time and bytes (tshark, input vs output)', async () => {
    const fields = [
      'frame.interface_id',
      'frame.interface_name',
      'frame.interface_description',
      'frame.packet_flags_direction',
      'frame.time_epoch',
      'frame.len',
    ];
    const [a, b] = await Promise.all([tsharkFields(input, fields), tsharkFields(output, fields)]);
    expect(a.length).toBe(3000);
    expect(b).toEqual(a);
    expect(b.filter((row) => row[1] === 'eth1').length).toBe(perIf[1]);
    const [fi, fo] = [readFrames(input), readFrames(output)];
    expect(fo.length).toBe(fi.length);
    fo.forEach((f, k) => {
      expect(f.data.equals(fi[k].data), `frame ${k + 1} bytes`).toBe(true);
      expect([f.ifIndex, f.flags, f.sec, f.nsec]).toEqual([
        fi[k].ifIndex,
        fi[k].flags,
        fi[k].sec,
        fi[k].nsec,
      ]);
    });
  });

  it('writes one statistics block per interface, with the source file’s own drops carried over', async () => {
    expect(await isbs(output)).toEqual([
      {
        interfaceId: 0,
        received: perIf[0],
        dropped: SOURCE_DROPS.ifDrop + SOURCE_DROPS.osDrop,
        accepted: perIf[0],
        delivered: perIf[0],
      },
      { interfaceId: 1, received: perIf[1], dropped: 0, accepted: perIf[1], delivered: perIf[1] },
    ]);
  });
});
