import { until } from '../testing/until.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import {
  encodeWrappedKey,
  generateDataKey,
  generateDeviceKeys,
  WRAP_ALG,
  wrapKey,
} from '@netmirror/crypto';
import {
  buildDesired,
  buildKeyDelivery,
  contentHash,
  ControlClient,
  TopicTree,
} from '@netmirror/protocol';
import type { ReportedState } from '@netmirror/protocol';
import { AgentDaemon, checkAgentConfig } from '../daemon/index.js';
import { StateStore } from '../reconcile/index.js';
import { MqttControlChannel } from './mqtt-channel.js';

const quiet = { info: () => undefined, warn: () => undefined };

interface Broker {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** An in-process aedes (retained messages in memory only) on `port` (0: any free one). */
async function startAedesOn(port: number): Promise<Broker> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    aedes.handle(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `mqtt://127.0.0.1:${bound}`,
    close: async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A fleet-side client that collects the device's reports. */
async function watchReports(
  url: string,
  topics: TopicTree,
): Promise<{ reports: ReportedState[]; client: ControlClient }> {
  const client = await ControlClient.connect({
    url,
    clientId: `fleet-${randomBytes(4).toString('hex')}`,
    topics,
    logger: quiet,
  });
  const reports: ReportedState[] = [];
  client.onMessage((m) => {
    if (m.message.type === 'reported') reports.push(m.message);
  });
  await client.subscribeFleet(['reported']);
  return { reports, client };
}

const latest = (reports: ReportedState[], domain: string): ReportedState | undefined =>
  reports.filter((r) => r.domain === domain).at(-1);

describe('MqttControlChannel across a broker restart', () => {
  let dir: string;
  let input: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-republish-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 200, seed: 41 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes every applied domain again, retained, when it reconnects to a broker that lost everything', async () => {
    const topics = new TopicTree(`nmtest/republish-${randomBytes(5).toString('hex')}/v1`);
    const deviceId = 'tap-r1';
    const device = generateDeviceKeys();
    const stateDir = join(dir, 'state');
    // A policy applied before this start: restored from disk, reported on the first connect.
    const policy = { destinations: {}, rules: [] };
    new StateStore(stateDir).save({
      policy: { version: 3, hash: contentHash(policy), spec: policy },
    });
    let broker = await startAedesOn(0);
    const daemon = await AgentDaemon.start(
      checkAgentConfig({
        deviceId,
        stateDir,
        tap: { uri: `pcap:${input}?loop`, pps: 1000 },
        telemetrySeconds: 60,
      }),
      { identity: { deviceId, keys: device }, log: () => undefined },
    );
    const channel = await MqttControlChannel.connect({
      url: broker.url,
      deviceId,
      topics,
      applied: () => daemon.applied,
      logger: quiet,
      reconnect: { minMs: 100, maxMs: 400 },
    });
    daemon.attach(channel);
    let fleet = await watchReports(broker.url, topics);
    try {
      await until('restored policy reported', () =>
        latest(fleet.reports, 'policy')?.version === 3 ? true : undefined,
      );
      const retention = buildDesired('retention', 2, { maxAgeSeconds: 3600 });
      await fleet.client.publishDesired(deviceId, retention);
      const dk = generateDataKey();
      const keys = buildKeyDelivery(5, [
        {
          keyId: dk.keyId,
          alg: WRAP_ALG,
          wrapped: encodeWrappedKey(
            wrapKey(dk.key, device.x25519.publicKey, { deviceId, keyId: dk.keyId }),
          ),
        },
      ]);
      await fleet.client.publishKeys(deviceId, keys);
      await until('retention and keys applied', () =>
        latest(fleet.reports, 'retention')?.status === 'applied' &&
        latest(fleet.reports, 'keys')?.status === 'applied'
          ? true
          : undefined,
      );
      const before = {
        policy: latest(fleet.reports, 'policy')!,
        retention: latest(fleet.reports, 'retention')!,
        keys: latest(fleet.reports, 'keys')!,
      };
      expect(before.keys).toMatchObject({ version: 5, hash: keys.hash });

      // The broker restarts on the same port with an empty retained store.
      await fleet.client.close();
      await broker.close();
      broker = await startAedesOn(broker.port);
      await until('the channel reconnected', () => (channel.connected ? true : undefined));
      fleet = await watchReports(broker.url, topics);
      await until('all three reports again', () =>
        ['policy', 'retention', 'keys'].every((d) => latest(fleet.reports, d)) ? true : undefined,
      );
      // The same reports as before the restart (same apply times: the events, not the re-sends).
      expect(latest(fleet.reports, 'policy')).toEqual(before.policy);
      expect(latest(fleet.reports, 'retention')).toEqual(before.retention);
      expect(latest(fleet.reports, 'keys')).toEqual(before.keys);
      expect(before.retention).toMatchObject({
        status: 'applied',
        version: 2,
        hash: retention.hash,
      });
      expect(before.policy).toMatchObject({
        status: 'applied',
        version: 3,
        hash: contentHash(policy),
      });
    } finally {
      await fleet.client.close();
      await daemon.stop();
      await broker.close();
    }
  }, 30_000);
});
