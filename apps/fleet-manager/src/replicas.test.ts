// Scale-out and broker failure on the production stack (PostgreSQL +
// Mosquitto): two replicas split the device traffic through MQTT 5 shared
// subscriptions, each message handled once; a broker that dies and comes
// back (losing its retained messages) costs nothing.
import { randomBytes } from 'node:crypto';
import { ControlClient, TopicTree } from '@netmirror/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleetManager, type FleetManagerHandle } from './main.js';
import { postgresTestDatabase, type TestDatabase } from './testing/databases.js';
import { client } from './testing/http.js';
import { startPrivateMosquitto, type PrivateMosquitto } from './testing/private-mosquitto.js';
import { SimulatedDevice } from './testing/simulated-device.js';
import { until } from './testing/until.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** netmirror_fleet_messages_received_total{type="…"} from a replica's /metrics. */
async function received(fm: FleetManagerHandle, type: string): Promise<number> {
  const text = await (await fetch(`${fm.url}/metrics`)).text();
  const m = text.match(
    new RegExp(`^netmirror_fleet_messages_received_total\\{type="${type}"\\} (\\d+)`, 'm'),
  );
  return m ? Number(m[1]) : 0;
}

const SPEC = { destinations: { lake: 'record:/var/lib/netmirror/rec' }, rules: [] };

describe(
  'fleet-manager replicas and broker restarts (PostgreSQL + Mosquitto)',
  { timeout: 60_000 },
  () => {
    let db: TestDatabase;
    let broker: PrivateMosquitto;
    const replicas: FleetManagerHandle[] = [];
    const devices: SimulatedDevice[] = [];
    const topics = new TopicTree(`nmtest/rep-${randomBytes(5).toString('hex')}/v1`);

    beforeAll(async () => {
      db = await postgresTestDatabase();
      broker = await startPrivateMosquitto();
      for (const replicaId of ['r1', 'r2'])
        replicas.push(
          await startFleetManager({
            databaseUrl: db.url,
            brokerUrl: broker.url,
            httpPort: 0,
            logger: ['error'],
            topicRoot: topics.root,
            replicaId,
          }),
        );
      const api = client(replicas[0].url);
      for (let i = 0; i < 10; i++) {
        const id = `rep-${String(i).padStart(2, '0')}`;
        const t = await api('POST', '/enrollment-tokens', {
          ttlSeconds: 600,
          labels: { site: 'lab' },
        });
        const d = new SimulatedDevice({ id, brokerUrl: broker.url, topics });
        expect(
          (
            await api('POST', '/enroll', {
              token: (t.body as Json).token,
              deviceId: id,
              publicKeys: d.publicKeys(),
            })
          ).status,
        ).toBe(201);
        await d.connect();
        devices.push(d);
      }
    });
    afterAll(async () => {
      for (const d of devices) await d.close().catch(() => undefined);
      for (const r of replicas) await r.close().catch(() => undefined);
      await broker?.close();
      await db?.drop();
    });

    it('two replicas share the device traffic and handle each report once', async () => {
      const api = client(replicas[0].url);
      const before = await Promise.all(replicas.map((r) => received(r, 'telemetry')));
      const perDevice = 20;
      const t0 = Date.now() - 100_000;
      for (const d of devices)
        for (let i = 0; i < perDevice; i++)
          await d.client!.publishTelemetry(d.id, {
            v: 1,
            type: 'telemetry',
            at: t0 + i,
            taps: [],
            destinations: [],
            cpuPercent: 0,
            memoryBytes: 1,
          });
      const total = devices.length * perDevice;
      const split = await until('every telemetry message handled', async () => {
        const now = await Promise.all(replicas.map((r) => received(r, 'telemetry')));
        const delta = now.map((n, i) => n - before[i]);
        return delta[0] + delta[1] >= total ? delta : null;
      });
      // Exactly once in sum, and both replicas took a share.
      expect(split[0] + split[1]).toBe(total);
      expect(split[0]).toBeGreaterThan(0);
      expect(split[1]).toBeGreaterThan(0);
      const storedCount = async (): Promise<number> => {
        let n = 0;
        for (const d of devices) {
          const page = (
            await api(
              'GET',
              `/devices/${d.id}/telemetry?from=${new Date(t0 - 1).toISOString()}&limit=10000`,
            )
          ).body as Json;
          n += page.items.length;
        }
        return n;
      };
      await until('telemetry stored', async () => (await storedCount()) >= total);
      expect(await storedCount()).toBe(total);

      // Reports too: a deploy's reports are split, counted once, and the rollout (advanced by whichever replica) completes.
      const reportsBefore = await Promise.all(replicas.map((r) => received(r, 'reported')));
      await api('POST', '/policies', {
        name: 'lab',
        domain: 'policy',
        targetLabels: { site: 'lab' },
        spec: SPEC,
      });
      await api('POST', '/policies/lab/deploy', { version: 1 });
      await until(
        'all devices in sync',
        async () =>
          ((await api('GET', '/drift')).body as Json).items.length === 0 &&
          devices.every((d) => d.applied.has('policy')),
      );
      const reports = devices.reduce(
        (n, d) => n + d.reports.filter((r) => r.domain === 'policy').length,
        0,
      );
      const reportsNow = await Promise.all(replicas.map((r) => received(r, 'reported')));
      expect(reportsNow[0] - reportsBefore[0] + (reportsNow[1] - reportsBefore[1])).toBe(reports);
    });

    it('a broker restart (retained messages lost) loses no state; devices come back and catch up', async () => {
      const api = client(replicas[1].url);
      const connected = async (fm: FleetManagerHandle): Promise<boolean> =>
        /^netmirror_fleet_mqtt_connected\{[^}]*\} 1$/m.test(
          await (await fetch(`${fm.url}/metrics`)).text(),
        );
      await broker.stop();
      await until(
        'replicas see the broker gone',
        async () => !(await connected(replicas[0])) && !(await connected(replicas[1])),
      );
      await broker.start();
      await until(
        'replicas reconnected',
        async () => (await connected(replicas[0])) && (await connected(replicas[1])),
        20_000,
      );
      await until(
        'devices reconnected',
        async () => devices.every((d) => d.client?.transport.connected),
        20_000,
      );
      await until(
        'all devices online again',
        async () =>
          ((await api('GET', '/devices?online=true')).body as Json).total === devices.length,
        30_000,
      );
      // The restarted broker lost its retained desired states: the replicas published them again.
      const spy = await ControlClient.connect({
        url: broker.url,
        clientId: 'rep-spy',
        topics,
        logger: { info: () => undefined, warn: () => undefined },
      });
      const retained: string[] = [];
      spy.onMessage((m) => {
        if (m.retained && m.message.type === 'desired') retained.push(m.route.deviceId);
      });
      await spy.transport.subscribeAsync([`${topics.root}/+/desired/policy`], { qos: 1 });
      await until(
        'retained desired state back on the broker',
        async () => retained.length === devices.length,
      );
      await spy.close();
      // And a new version still reaches everyone.
      const v2 = await api('POST', '/policies/lab/versions', {
        spec: {
          ...SPEC,
          rules: [{ name: 'dns', priority: 1, match: { port: 53 }, destinations: ['lake'] }],
        },
      });
      await api('POST', '/policies/lab/deploy', { version: (v2.body as Json).version });
      await until(
        'v2 everywhere',
        async () => devices.every((d) => d.applied.get('policy')?.hash === (v2.body as Json).hash),
        20_000,
      );
      expect(((await api('GET', '/devices')).body as Json).total).toBe(devices.length);
    });
  },
);
