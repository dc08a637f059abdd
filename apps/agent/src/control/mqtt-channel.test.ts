import { until as untilWithin } from '../testing/until.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { buildDesired, ControlClient, TopicTree } from '@netmirror/protocol';
import type { Inbound, ReportedState, Status } from '@netmirror/protocol';
import { AgentDaemon, checkAgentConfig } from '../daemon/index.js';
import { MqttControlChannel } from './mqtt-channel.js';

const quiet = { info: () => undefined, warn: () => undefined };

function frames(path: string): number {
  try {
    const r = openCaptureReader(path);
    const b = new FrameBatch(512);
    let n = 0;
    for (let k; (k = r.next(b)) > 0;) n += k;
    r.close();
    return n;
  } catch {
    return 0;
  }
}

async function startAedes(): Promise<{ url: string; close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const brokers: [string, () => Promise<{ url: string; close(): Promise<void> }>][] = [
  ['in-process aedes (MQTT 3.1.1)', startAedes],
  [
    'Mosquitto (MQTT 5)',
    async () => ({ url: 'mqtt://127.0.0.1:1883', close: async () => undefined }),
  ],
];

describe.each(brokers)('agent control loop over %s', (_name, startBroker) => {
  let dir: string;
  let input: string;
  let broker: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-control-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 400, seed: 30 });
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies desired state, reports it only once in effect, refuses stale and broken messages, and shows presence', async () => {
    const topics = new TopicTree(`nmtest/agent-${randomBytes(5).toString('hex')}/v1`);
    const deviceId = 'tap-01';
    const fleet = await ControlClient.connect({
      url: broker.url,
      clientId: `fleet-${randomBytes(4).toString('hex')}`,
      topics,
      logger: quiet,
    });
    const reports: ReportedState[] = [];
    const statuses: Status[] = [];
    fleet.onMessage((m: Inbound) => {
      if (m.message.type === 'reported') reports.push(m.message);
      if (m.message.type === 'status') statuses.push(m.message);
    });
    await fleet.subscribeFleet(['reported', 'status']);

    const daemon = await AgentDaemon.start(
      checkAgentConfig({
        deviceId,
        stateDir: join(dir, 'state'),
        tap: { uri: `pcap:${input}?loop`, pps: 4000 },
        telemetrySeconds: 60,
      }),
    );
    const channel = await MqttControlChannel.connect({
      url: broker.url,
      deviceId,
      topics,
      applied: () => daemon.reconciler.applied,
      logger: quiet,
    });
    daemon.attach(channel);
    try {
      await until('online', () => statuses.find((s) => s.state === 'online'));
      const a = join(dir, 'a.pcap');
      const b = join(dir, 'b.pcap');
      const v1 = buildDesired('policy', 1, {
        destinations: { a: `pcap:${a}` },
        rules: [{ priority: 1, match: {} }],
      });
      await fleet.publishDesired(deviceId, v1);
      const r1 = await until('v1 applied', () =>
        reports.find((r) => r.version === 1 && r.status === 'applied'),
      );
      expect(r1.hash).toBe(v1.hash);
      await until('frames in a', () => (frames(a) > 100 ? true : undefined));

      const v2 = buildDesired('policy', 2, {
        destinations: { b: `pcap:${b}` },
        rules: [{ priority: 1, match: { protocol: 'tcp' } }],
      });
      await fleet.publishDesired(deviceId, v2);
      await until('v2 applied', () =>
        reports.find((r) => r.version === 2 && r.status === 'applied'),
      );
      await until('frames in b', () => (frames(b) > 50 ? true : undefined));

      // A stale version: refused with the reason, v2 keeps running.
      await fleet.publishDesired(
        deviceId,
        buildDesired('policy', 1, { destinations: {}, rules: [] }),
      );
      const stale = await until('stale refused', () =>
        reports.find((r) => r.status === 'error' && r.rejectedVersion === 1),
      );
      expect(stale).toMatchObject({
        version: 2,
        hash: v2.hash,
        error: expect.stringMatching(/older than version 2/),
      });
      // A version the device cannot apply: refused, v2 keeps running.
      await fleet.publishDesired(
        deviceId,
        buildDesired('policy', 3, {
          destinations: { x: 'pcap:/no/such/dir/x.pcap' },
          rules: [{ priority: 1, match: {} }],
        }),
      );
      const broken = await until('v3 refused', () =>
        reports.find((r) => r.status === 'error' && r.rejectedVersion === 3),
      );
      expect(broken).toMatchObject({ version: 2, error: expect.stringMatching(/ENOENT/) });
      // Garbage on the desired topic: dropped before it reaches the data path.
      await fleet.transport.publishAsync(
        topics.desired(deviceId, 'policy'),
        Buffer.from('{"v":1,"type":"desired"'),
        { qos: 1 },
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(daemon.reconciler.applied.policy?.version).toBe(2);
      const before = frames(b);
      await until('b still growing', () => (frames(b) > before ? true : undefined));

      // The connection dies without a goodbye: the Last Will says offline.
      (channel as unknown as { client: ControlClient }).client.transport.stream?.destroy();
      await until('offline', () => statuses.find((s) => s.state === 'offline'), 10_000);
    } finally {
      await fleet.clearDesired(deviceId, 'policy').catch(() => undefined);
      await daemon.stop();
      await fleet.close();
    }
  });
});

function until<T>(what: string, probe: () => T | undefined, ms = 8000): Promise<T> {
  return untilWithin(what, probe, ms);
}
