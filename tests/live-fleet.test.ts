// The agent daemon on a live tap, driven by the fleet manager (SQLite + the
// embedded broker): a rule change lands between two frames of a running
// capture, and under overload the kernel's drops reach the fleet manager's
// telemetry and add up with what was delivered to what was offered.
import { randomBytes } from 'node:crypto';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FleetManagerHandle } from '@netmirror/fleet-manager';
import { TopicTree } from '@netmirror/protocol';
import { startEnrolledAgent, type AgentProcess } from './support/agent-process.js';
import { readFrames, tempDir } from './support/frames.js';
import {
  blastFromA,
  createTapLab,
  framesCrossing,
  linkCounter,
  probeFrame,
  probeSeq,
  sendFromA,
  startTcpdump,
} from './support/tap-lab.js';
import type { TapLab } from './support/tap-lab.js';
import { until } from './support/until.js';
import {
  deployPolicy,
  fleetApi,
  startEmbeddedFleetManager,
  type Json,
} from './support/fleet-api.js';

describe.each([
  // A tiny ring (16 blocks of 4 KiB), so a burst overruns it.
  { kind: 'afpacket', tap: (ifname: string) => `afpacket:${ifname}?ring=64K&block=4K` },
  { kind: 'tc', tap: (ifname: string) => `tc:${ifname}` },
])('live $kind tap under the fleet manager', { timeout: 120_000 }, ({ kind, tap }) => {
  let lab: TapLab;
  let fm: FleetManagerHandle;
  let agent: AgentProcess;
  const tmp = tempDir('nm-live-fleet-');
  const topics = new TopicTree(`nmtest/live-${randomBytes(5).toString('hex')}/v1`);
  const id = `live-${randomBytes(3).toString('hex')}`;

  const api = fleetApi(() => fm.url);
  const applied = (version: number) => async () => {
    const s = (await api('GET', `/devices/${id}/state`)).domains.find(
      (d: Json) => d.domain === 'policy',
    );
    return s.inSync && s.desired?.policyVersion === version && s.reported?.status === 'applied';
  };
  const deploy = async (dstPort: number | null): Promise<number> => {
    const spec = {
      destinations: { mon: `iface:${lab.rawIf}` },
      rules: [
        {
          name: 'probes',
          priority: 10,
          match: dstPort === null ? {} : { protocol: 'udp', dstPort },
          destinations: ['mon'],
        },
      ],
    };
    const v = await deployPolicy(api, 'live', { tier: 'live' }, spec);
    await until(`version ${v} applied`, applied(v));
    return v;
  };

  beforeAll(async () => {
    lab = await createTapLab();
    fm = await startEmbeddedFleetManager(tmp.path('fleet.db'), topics.root);
    agent = await startEnrolledAgent({
      api,
      fleetUrl: fm.url,
      dir: tmp.path('agent'),
      deviceId: id,
      labels: { tier: 'live' },
      topicRoot: topics.root,
      taps: [tap(lab.tapIf)],
    });
  }, 60_000);
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail')
      process.stderr.write(`--- agent stderr ---\n${agent?.stderr().slice(-3000)}\n`);
  });
  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await fm?.close();
    await lab?.remove();
    tmp.remove();
  });

  it('a rule change lands between two frames of the running capture: no probe lost or doubled across it', async () => {
    await deploy(5000);
    const file = tmp.path('switch.pcap');
    const dump = await startTcpdump(lab.c, 'pr', file);
    const N = 12_000;
    // Even probes go to port 5000 (v1 mirrors them), odd ones to 5001 (v2 does), 4,000 a second.
    const probes = Array.from({ length: N }, (_, i) => probeFrame(i, i % 2));
    const sending = sendFromA(lab, tmp.dir, probes, 4000);
    await new Promise((r) => setTimeout(r, 1000));
    await deploy(5001);
    expect(await sending).toBe(N);
    await new Promise((r) => setTimeout(r, 500));
    await dump.stop();

    const counts = new Array<number>(N).fill(0);
    for (const f of readFrames(file)) {
      const seq = probeSeq(f.data);
      if (seq >= 0 && seq < N) {
        counts[seq]++;
        expect(f.data.equals(probes[seq]), `probe ${seq}`).toBe(true);
      }
    }
    const even = counts.flatMap((c, i) => (c > 0 && i % 2 === 0 ? [i] : []));
    const odd = counts.flatMap((c, i) => (c > 0 && i % 2 === 1 ? [i] : []));
    expect(counts.filter((c) => c > 1).length, 'probes copied twice').toBe(0);
    expect(even.length).toBeGreaterThan(100); // v1 ran a while …
    expect(odd.length).toBeGreaterThan(100); // … and so did v2
    // Under v1 every even probe, under v2 every odd one, and nothing else:
    // the first frame v2 handled is max(even)+1 or +2, so no probe is missed.
    const lastEven = even.at(-1)!;
    const firstOdd = odd[0];
    expect(even).toEqual(Array.from({ length: lastEven / 2 + 1 }, (_, k) => 2 * k));
    expect(odd).toEqual(Array.from({ length: (N - firstOdd + 1) / 2 }, (_, k) => firstOdd + 2 * k));
    expect([1, 3]).toContain(firstOdd - lastEven);
  });

  // Only where there is a ring to overrun: tc copies in the kernel, with nothing to drop before the copy.
  const itWithRing = kind === 'afpacket' ? it : (): void => undefined;
  itWithRing(
    'under overload, frames seen plus frames the kernel dropped equal frames offered, in the telemetry, and copies are accounted for to the last',
    async () => {
      await deploy(null); // mirror everything
      await new Promise((r) => setTimeout(r, 1500)); // a telemetry message from after the change
      const offered0 = await framesCrossing(lab.tapIf);
      const delivered0 = await linkCounter('pr', 'rx_packets', lab.c);
      const latest = async (): Promise<Json> => {
        const { items } = await api('GET', `/devices/${id}/telemetry?limit=1000`);
        return items.reduce((a: Json, b: Json) => (new Date(b.at) > new Date(a.at) ? b : a));
      };
      const before = await latest();
      const seen0 = before.taps[0].packetsSeen + before.taps[0].packetsDropped;
      await blastFromA(lab, tmp.dir, 400_000);
      // The burst, and whatever else crossed the link meanwhile (the lab's bridge is not quite silent).
      const offered = (await framesCrossing(lab.tapIf)) - offered0;
      expect(offered).toBeGreaterThanOrEqual(400_000);
      // Telemetry is cumulative: wait until it has taken in the whole burst.
      const t = await until(
        'telemetry accounts for the burst',
        async () => {
          const now = await latest();
          const tap = now.taps[0];
          return tap.packetsSeen + tap.packetsDropped - seen0 === offered ? now : null;
        },
        20_000,
      );
      const tap = t.taps[0];
      const dropped = tap.packetsDropped - before.taps[0].packetsDropped;
      const seen = tap.packetsSeen - before.taps[0].packetsSeen;
      process.stdout.write(
        `overload: offered ${offered}, read ${seen}, dropped by the kernel ${dropped}\n`,
      );
      expect(dropped).toBeGreaterThan(0); // it really was an overload
      // Every copy the agent made was sent or counted as dropped, and the collector got the sent ones.
      const mon = await until(
        'copies drained',
        async () => {
          const now = await latest();
          const d = now.destinations.find((x: Json) => x.name === 'mon');
          return d && d.queueDepth === 0 ? d : null;
        },
        20_000,
      );
      const before0 = before.destinations.find((x: Json) => x.name === 'mon') ?? {
        packetsSent: 0,
        packetsDropped: 0,
      };
      const sent = mon.packetsSent - before0.packetsSent;
      const lost = mon.packetsDropped - before0.packetsDropped;
      expect(sent + lost).toBe(seen);
      const delivered = (await linkCounter('pr', 'rx_packets', lab.c)) - delivered0;
      expect(delivered).toBe(sent);
      expect(offered - delivered).toBe(dropped + lost);
    },
  );
});
