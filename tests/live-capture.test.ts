// Live capture from a tapped veth (AF_PACKET ring) to a collector namespace:
// raw copies out of a monitor port, VXLAN and ERSPAN III tunnels, and a
// pcapng recording of the same run. tcpdump in the collector namespace
// captures what arrives; tshark decodes the tunnels. Every probe (untagged,
// 802.1Q, QinQ, large) must arrive exactly once, byte for byte.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFrames, tempDir } from './support/frames.js';
import type { Frame } from './support/frames.js';
import { capinfos, run, startMirror as startMirrorProcess, tsharkFields } from './support/run.js';
import type { Summary } from './support/run.js';
import {
  blastFromA,
  createTapLab,
  framesCrossing,
  linkCounter,
  measureFlow,
  PROBE_KINDS,
  probeFrame,
  probeSeq,
  sendFromA,
  startTcpdump,
  waitForPacketSocket,
  waitForTap,
} from './support/tap-lab.js';
import type { FlowResult, TapLab } from './support/tap-lab.js';
import { until } from './support/until.js';

const N = 2000;

/** How often each probe occurs in `frames`, checking each against the original (the last bytes of a tunnel packet). */
function tally(
  frames: readonly Frame[],
  probes: readonly Buffer[],
): { counts: number[]; strangers: number; mismatched: number[] } {
  const counts = new Array<number>(probes.length).fill(0);
  let strangers = 0;
  const mismatched: number[] = [];
  for (const f of frames) {
    const seq = probeSeq(f.data);
    if (seq < 0 || seq >= probes.length) {
      strangers++;
      continue;
    }
    counts[seq]++;
    const p = probes[seq];
    if (!f.data.subarray(f.data.length - p.length).equals(p)) mismatched.push(seq);
  }
  return { counts, strangers, mismatched };
}

function exactlyOnce(counts: readonly number[]): string {
  const off = counts.flatMap((c, i) => (c === 1 ? [] : [`${i}×${c}`]));
  return off.length === 0
    ? 'ok'
    : `${off.length} probes not seen exactly once: ${off.slice(0, 10).join(' ')}`;
}

/** `netmirror mirror ARGS` in the background; `stop()` checks it exited cleanly and returns its summary. */
function startMirror(args: string[], stats: string): { stop(): Promise<Summary> } {
  const m = startMirrorProcess([...args, '--stats-json', stats]);
  return {
    stop: async () => {
      expect(await m.stop(), m.stderr()).toBe(0);
      return JSON.parse(readFileSync(stats, 'utf8')) as Summary;
    },
  };
}

describe('live capture from a tapped veth (afpacket)', () => {
  let lab: TapLab;
  const tmp = tempDir('nm-live-');

  beforeAll(async () => {
    lab = await createTapLab();
  }, 60_000);
  afterAll(async () => {
    await lab?.remove();
    tmp.remove();
  });

  it('every probe reaches the collector exactly once, byte for byte, raw, in VXLAN and in ERSPAN, and the recording holds the same frames', async () => {
    const probes = Array.from({ length: N }, (_, i) => probeFrame(i));
    const raw = join(tmp.dir, 'raw.pcap');
    const tunnels = join(tmp.dir, 'tunnels.pcap');
    const recording = join(tmp.dir, 'recording.pcapng');
    const stats = join(tmp.dir, 'stats.json');
    const rawDump = await startTcpdump(lab.c, 'pr', raw);
    const tunnelDump = await startTcpdump(lab.c, 'pc', tunnels, ['udp port 4789 or ip proto 47']);
    const agent = startMirrorProcess([
      '--from', `afpacket:${lab.tapIf}`,
      '--to', `iface:${lab.rawIf}`,
      '--to', `vxlan://${lab.collectorIp}?vni=42`,
      '--to', `erspan3://${lab.collectorIp}?session=7`,
      '--to', `pcapng:${recording}`,
      '--stats-json', stats,
    ]); // prettier-ignore
    try {
      await waitForPacketSocket(lab.tapIf);
      expect(await sendFromA(lab, tmp.dir, probes, 20_000)).toBe(N);
      // Bounded wait for the last copies to cross (block retire timeout is 10 ms).
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        try {
          if (readFrames(raw).length >= N && readFrames(tunnels).length >= 2 * N) break;
        } catch {
          // tcpdump is mid-write: look again
        }
      }
    } finally {
      expect(await agent.stop(), agent.stderr()).toBe(0);
      // The oracles lost nothing themselves, and neither did the monitor link.
      expect(await rawDump.stop(), 'tcpdump on the monitor port').toEqual({ dropped: 0 });
      expect(await tunnelDump.stop(), 'tcpdump on the tunnel link').toEqual({ dropped: 0 });
      expect(await linkCounter(lab.rawIf, 'tx_dropped'), 'monitor link drops').toBe(0);
    }

    const summary = JSON.parse(readFileSync(stats, 'utf8')) as Summary;
    expect(summary.sourceDropped).toBe(0);
    for (const d of summary.destinations) {
      expect(d, d.uri).toMatchObject({ dropped: 0, failed: 0, truncated: 0, unsupported: 0 });
      expect(d.sent, d.uri).toBe(summary.counters.read);
    }

    // Raw copies out of the monitor port: the frames themselves (tcpdump puts the tags back).
    const rawTally = tally(readFrames(raw), probes);
    expect(exactlyOnce(rawTally.counts), 'raw').toBe('ok');
    expect(rawTally.mismatched, 'raw').toEqual([]);
    for (const f of readFrames(raw))
      if (probeSeq(f.data) >= 0) expect(f.data.length).toBe(probes[probeSeq(f.data)].length);

    // Tunnels: tshark decodes each, and the inner frame is the probe.
    const tunnelFrames = readFrames(tunnels);
    const fields = await tsharkFields(tunnels, ['vxlan.vni', 'erspan.spanid', 'eth.dst']);
    const vxlanRows = fields.filter((r) => r[0] !== '');
    const erspanRows = fields.filter((r) => r[1] !== '');
    // One tunnel packet per frame the tap read: the probes (each exactly once, below), and any
    // other frame that crossed the link meanwhile (the lab's bridge is not quite silent).
    expect(summary.counters.read).toBeGreaterThanOrEqual(N);
    expect(vxlanRows.length).toBe(summary.counters.read);
    expect(erspanRows.length).toBe(summary.counters.read);
    expect(new Set(vxlanRows.map((r) => r[0]))).toEqual(new Set(['42']));
    expect(new Set(erspanRows.map((r) => r[1]))).toEqual(new Set(['7']));
    // The inner Ethernet destination as tshark reads it is the probes' own, in every tunnel packet carrying one.
    const probeRows = fields.filter((_, i) => probeSeq(tunnelFrames[i].data) >= 0);
    expect(probeRows.length).toBe(2 * N);
    for (const r of probeRows) expect(r[2].split(',').at(-1)).toBe('02:00:5e:00:f0:01');
    const vxlan = tally(
      tunnelFrames.filter((_, i) => fields[i][0] !== ''),
      probes,
    );
    const erspan = tally(
      tunnelFrames.filter((_, i) => fields[i][1] !== ''),
      probes,
    );
    expect(exactlyOnce(vxlan.counts), 'vxlan').toBe('ok');
    expect(exactlyOnce(erspan.counts), 'erspan').toBe('ok');
    expect([...vxlan.mismatched, ...erspan.mismatched]).toEqual([]);

    // The recording: the same frames, captured inbound on the tapped port.
    const recorded = readFrames(recording);
    const rec = tally(recorded, probes);
    expect(exactlyOnce(rec.counts), 'recording').toBe('ok');
    expect(rec.mismatched).toEqual([]);
    for (const f of recorded) if (probeSeq(f.data) >= 0) expect(f.data.length).toBe(f.wirelen);
    const tagged = recorded.filter((f) => f.data.readUInt16BE(12) !== 0x0800).length;
    expect(tagged).toBe(PROBE_KINDS.filter((k) => k === 'dot1q' || k === 'qinq').length * (N / 4));
  }, 120_000);

  it("under overload, frames read plus the kernel's drops in the summary equal the frames offered", async () => {
    const stats = join(tmp.dir, 'overload.json');
    const offered0 = await framesCrossing(lab.tapIf);
    const mirror = startMirror(
      [
        '--from',
        `afpacket:${lab.tapIf}?ring=64K&block=4K`,
        '--to',
        `pcapng:${join(tmp.dir, 'overload.pcapng')}`,
      ],
      stats,
    );
    await waitForPacketSocket(lab.tapIf);
    await blastFromA(lab, tmp.dir, 300_000);
    await new Promise((r) => setTimeout(r, 500));
    const s = await mirror.stop();
    const offered = (await framesCrossing(lab.tapIf)) - offered0;
    expect(offered).toBeGreaterThanOrEqual(300_000);
    expect(s.sourceDropped).toBeGreaterThan(0);
    expect(s.counters.read + s.sourceDropped).toBe(offered);
    expect(s.interfaces).toEqual([
      {
        name: lab.tapIf,
        read: s.counters.read,
        bytes: s.counters.bytesRead,
        dropped: s.sourceDropped,
      },
    ]);
    // The recording holds every frame read, and its statistics block the kernel's drops (tshark reads both).
    const rows = await tsharkFields(join(tmp.dir, 'overload.pcapng'), ['frame.number']);
    expect(rows.length).toBe(s.counters.read);
  }, 60_000);

  it('rides out a stall: frames wait in the ring instead of being dropped at a full destination queue', async () => {
    const stats = join(tmp.dir, 'stall.json');
    const recording = join(tmp.dir, 'stall.pcapng');
    // A ring that holds the whole burst well under the 3/4 mark where the hold-back gives way
    // (a fast sender puts all of it in the ring during the freeze).
    const m = startMirrorProcess([
      '--from',
      `afpacket:${lab.tapIf}?ring=256M`,
      '--to',
      `pcapng:${recording}`,
      '--stats-json',
      stats,
    ]);
    await waitForPacketSocket(lab.tapIf);
    const offered0 = await framesCrossing(lab.tapIf);
    // The agent frozen for 300 ms in the middle of a burst: on waking it has a full ring
    // behind it and a destination queue far smaller than that.
    const burst = blastFromA(lab, tmp.dir, 300_000);
    await new Promise((r) => setTimeout(r, 50));
    m.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 300));
    m.child.kill('SIGCONT');
    await burst;
    await new Promise((r) => setTimeout(r, 500));
    expect(await m.stop(), m.stderr()).toBe(0);
    const s = JSON.parse(readFileSync(stats, 'utf8')) as Summary;
    const offered = (await framesCrossing(lab.tapIf)) - offered0;
    expect({
      read: s.counters.read,
      sourceDropped: s.sourceDropped,
      destinationDropped: s.destinations[0].dropped,
    }).toEqual({
      read: offered,
      sourceDropped: 0,
      destinationDropped: 0,
    });
    expect((await capinfos(recording, ['-c'])).get('Number of packets')).toBe(String(offered));
  }, 60_000);

  it('the rules and the filter are applied in the kernel too: frames nothing wants are never read', async () => {
    const stats = join(tmp.dir, 'prefilter.json');
    const rules = join(tmp.dir, 'prefilter-rules.json');
    writeFileSync(
      rules,
      JSON.stringify({
        rules: [{ name: 'odd', priority: 1, match: { protocol: 'udp', dstPort: 5001 } }],
      }),
    );
    const recording = join(tmp.dir, 'prefilter.pcapng');
    const mirror = startMirror(
      [
        '--from',
        `afpacket:${lab.tapIf}`,
        '--rules',
        rules,
        '--filter',
        'not vlan',
        '--to',
        `pcapng:${recording}`,
      ],
      stats,
    );
    await waitForPacketSocket(lab.tapIf);
    const probes = Array.from({ length: 1000 }, (_, i) => probeFrame(i, i % 2));
    expect(await sendFromA(lab, tmp.dir, probes, 20_000)).toBe(1000);
    await new Promise((r) => setTimeout(r, 300));
    const s = await mirror.stop();
    // Odd probes (port 5001) that carry no tag: i % 4 is 1 (802.1Q) or 3 (large, untagged), so the 250 large ones.
    const wanted = probes.flatMap((p, i) =>
      i % 2 === 1 && p.readUInt16BE(12) === 0x0800 ? [i] : [],
    );
    expect(wanted.length).toBe(250);
    expect(s.counters.read, 'frames the kernel let through').toBe(wanted.length);
    expect(s.counters.filteredOut + s.counters.unmatched).toBe(0);
    const got = readFrames(recording).map((f) => probeSeq(f.data));
    expect(got).toEqual(wanted);
  }, 60_000);

  it('two agents in one fanout group share the link: every probe is recorded by exactly one of them', async () => {
    const group = 1000 + (process.pid % 60000);
    const files = [0, 1].map((k) => join(tmp.dir, `fanout-${k}.pcapng`));
    const mirrors = files.map((f, k) =>
      startMirror(
        ['--from', `afpacket:${lab.tapIf}?fanout=${group}:hash`, '--to', `pcapng:${f}`],
        join(tmp.dir, `fanout-${k}.json`),
      ),
    );
    // Both sockets joined: two packet sockets on the interface.
    const index = Number(readFileSync(`/sys/class/net/${lab.tapIf}/ifindex`, 'utf8'));
    await until(
      'both in the group',
      async () =>
        readFileSync('/proc/net/packet', 'utf8')
          .split('\n')
          .filter((r) => Number(r.trim().split(/\s+/)[4]) === index).length === 2,
    );
    // Flows differ by UDP destination port, so the hash spreads them over both.
    const probes = Array.from({ length: 2000 }, (_, i) => probeFrame(i, i % 16));
    expect(await sendFromA(lab, tmp.dir, probes, 20_000)).toBe(2000);
    await new Promise((r) => setTimeout(r, 300));
    const [a, b] = await Promise.all(mirrors.map((m) => m.stop()));
    const seen = files.map((f) =>
      readFrames(f)
        .map((x) => probeSeq(x.data))
        .filter((q) => q >= 0),
    );
    expect(seen[0].length).toBeGreaterThan(0);
    expect(seen[1].length).toBeGreaterThan(0);
    expect([...seen[0], ...seen[1]].sort((x, y) => x - y)).toEqual(probes.map((_, i) => i));
    expect(a.sourceDropped + b.sourceDropped).toBe(0);
  }, 60_000);

  it('xdp: the copies a SPAN port carries are recorded exactly once, byte for byte, tags inline', async () => {
    // A SPAN port: everything crossing the tapped link is copied, tags inline as on a wire, out of
    // one end of a veth pair (by a first agent, afpacket -> iface:); AF_XDP captures on the other end
    // (XDP takes the frames it redirects, so it belongs on a port that carries only copies). (A tc
    // mirred copy would carry the outer tag in skb metadata, which generic XDP does not see.)
    const span = `${lab.tapIf.slice(0, -1)}s`;
    const port = `${lab.tapIf.slice(0, -1)}x`;
    const sh = async (cmd: string, args: string[]): Promise<void> => {
      const r = await run(cmd, args, { timeoutMs: 10_000 });
      if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    };
    await sh('ip', ['link', 'add', span, 'type', 'veth', 'peer', 'name', port]);
    const spanAgent = startMirror(
      ['--from', `afpacket:${lab.tapIf}`, '--to', `iface:${span}`],
      join(tmp.dir, 'span.json'),
    );
    try {
      for (const dev of [span, port]) {
        await sh('sysctl', ['-q', '-w', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
        await sh('ip', ['link', 'set', dev, 'up']);
      }
      await waitForPacketSocket(lab.tapIf);
      const stats = join(tmp.dir, 'xdp.json');
      const recording = join(tmp.dir, 'xdp.pcapng');
      const m = startMirror(['--from', `xdp:${port}`, '--to', `pcapng:${recording}`], stats);
      await until('the XSK program attached', async () =>
        (await run('ip', ['-j', 'link', 'show', port])).stdout.includes('xdp'),
      );
      const probes = Array.from({ length: N }, (_, i) => probeFrame(i));
      expect(await sendFromA(lab, tmp.dir, probes, 20_000)).toBe(N);
      await new Promise((r) => setTimeout(r, 300));
      const s = await m.stop();
      expect(s.sourceDropped).toBe(0);
      const rec = tally(readFrames(recording), probes);
      expect(exactlyOnce(rec.counts)).toBe('ok');
      expect(rec.mismatched).toEqual([]);
      expect(
        (await run('ip', ['-j', 'link', 'show', port])).stdout,
        'the program is gone after stop',
      ).not.toMatch(/"xdp"/);
    } finally {
      await spanAgent.stop();
      await run('ip', ['link', 'del', span]);
    }
  }, 60_000);

  it('leaves the original traffic alone: throughput and latency between A and B with and without a tap, and every frame the same at both ends', async () => {
    const modes: { name: string; from: string; to: string }[] = [
      { name: 'no tap', from: '', to: '' },
      {
        name: 'afpacket -> pcapng',
        from: `afpacket:${lab.tapIf}`,
        to: `pcapng:${join(tmp.dir, 'flow.pcapng')}`,
      },
      {
        name: 'afpacket -> vxlan',
        from: `afpacket:${lab.tapIf}`,
        to: `vxlan://${lab.collectorIp}?vni=9`,
      },
      { name: 'afpacket -> iface', from: `afpacket:${lab.tapIf}`, to: `iface:${lab.rawIf}` },
      { name: 'tc -> vxlan', from: `tc:${lab.tapIf}`, to: `vxlan://${lab.collectorIp}?vni=9` },
      { name: 'tc -> iface', from: `tc:${lab.tapIf}`, to: `iface:${lab.rawIf}` },
    ];
    const probes = Array.from({ length: 2000 }, (_, i) => probeFrame(i));
    const report: string[] = [];
    for (const [m, mode] of modes.entries()) {
      const mirror = mode.from
        ? startMirror(['--from', mode.from, '--to', mode.to], join(tmp.dir, 'flow.json'))
        : null;
      let flow: FlowResult;
      let tapped = '';
      const atA = join(tmp.dir, `at-a-${m}.pcap`);
      const atB = join(tmp.dir, `at-b-${m}.pcap`);
      try {
        if (mirror) await waitForTap(mode.from);
        // Full speed, with nothing else watching: what the tap costs the flow.
        flow = await measureFlow(lab, 32, 300);
        // Then frames captured leaving A and arriving at B (at a pace tcpdump keeps up with).
        const dumpA = await startTcpdump(lab.a, 'pa', atA);
        const dumpB = await startTcpdump(lab.b, 'pb', atB);
        expect(await sendFromA(lab, tmp.dir, probes, 20_000)).toBe(probes.length);
        await new Promise((r) => setTimeout(r, 300));
        expect(await dumpA.stop(), `${mode.name}: tcpdump at A`).toEqual({ dropped: 0 });
        expect(await dumpB.stop(), `${mode.name}: tcpdump at B`).toEqual({ dropped: 0 });
      } finally {
        if (mirror) {
          const s = await mirror.stop();
          tapped = `tap read ${s.counters.read}, dropped ${s.sourceDropped}`;
          expect(s.sourceDropped, mode.name).toBe(0);
          expect(s.counters.read, mode.name).toBeGreaterThan(probes.length);
        }
      }
      expect(flow.intact, `${mode.name}: B received what A sent`).toBe(true);
      const [sent, received] = [atA, atB].map((f) => readFrames(f).map((x) => x.data));
      for (const [where, frames] of [
        ['A', sent],
        ['B', received],
      ] as const) {
        const t = tally(
          frames.map((data) => ({ data }) as Frame),
          probes,
        );
        expect(exactlyOnce(t.counts), `${mode.name}: probes at ${where}`).toBe('ok');
        expect(t.mismatched, `${mode.name}: probes changed at ${where}`).toEqual([]);
      }
      report.push(
        `${mode.name.padEnd(20)} ${flow.mbps.toFixed(0).padStart(6)} Mbit/s  rtt p50 ${flow.rttP50} µs, p99 ${flow.rttP99} µs  ${tapped}`,
      );
    }
    process.stdout.write(
      `original flow A -> B (32 MiB TCP, one segment per frame; 300 UDP echoes):\n${report.join('\n')}\n`,
    );
  }, 120_000);
});
