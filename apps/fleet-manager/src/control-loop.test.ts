// The control loop at the fleet manager's edge: simulated devices running the
// real protocol code against a real broker and database, on SQLite + the
// embedded aedes and on PostgreSQL + Mosquitto. (Real agents with real
// mirrored traffic: tests/fleet-control-loop.test.ts.)
import { randomBytes } from 'node:crypto';
import { decodeWrappedKey, unwrapKey } from '@netmirror/crypto';
import { ControlClient, TopicTree, type KeyDelivery } from '@netmirror/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleetManager, type FleetManagerHandle } from './main.js';
import { TEST_STACKS, type TestDatabase } from './testing/databases.js';
import { client } from './testing/http.js';
import { SimulatedDevice } from './testing/simulated-device.js';
import { sampleTelemetry } from './testing/telemetry.js';
import { until } from './testing/until.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const POLICY_V1 = {
  destinations: { lake: 'record:/var/lib/netmirror/rec' },
  rules: [{ name: 'web', priority: 10, match: { port: 443 }, destinations: ['lake'] }],
};
const POLICY_V2 = {
  destinations: { lake: 'record:/var/lib/netmirror/rec' },
  rules: [
    { name: 'dns', priority: 10, match: { protocol: 'udp', port: 53 }, destinations: ['lake'] },
  ],
};

describe.each(TEST_STACKS)(
  'control loop on $name',
  { timeout: 30_000 },
  ({ db: makeDb, broker }) => {
    let db: TestDatabase;
    let fm: FleetManagerHandle;
    let api: ReturnType<typeof client>;
    const topics = new TopicTree(`nmtest/cl-${randomBytes(5).toString('hex')}/v1`);
    const devices: SimulatedDevice[] = [];
    let brokerUrl = '';

    const start = async (): Promise<void> => {
      fm = await startFleetManager({
        databaseUrl: db.url,
        httpPort: 0,
        logger: ['error', 'warn'],
        topicRoot: topics.root,
        ...broker,
        ...(broker.embeddedBrokerPort !== undefined && brokerUrl
          ? { embeddedBrokerPort: Number(new URL(brokerUrl).port) }
          : {}),
      });
      brokerUrl = fm.broker.url;
      api = client(fm.url);
    };

    const enroll = async (
      id: string,
      labels: Record<string, string>,
      refuse?: SimulatedDevice['options']['refuse'],
    ) => {
      const t = await api('POST', '/enrollment-tokens', { ttlSeconds: 600, labels });
      const device = new SimulatedDevice({ id, brokerUrl, topics, refuse });
      const r = await api('POST', '/enroll', {
        token: (t.body as Json).token,
        deviceId: id,
        publicKeys: device.publicKeys(),
      });
      expect(r.status).toBe(201);
      devices.push(device);
      await device.connect();
      return device;
    };

    const state = async (id: string, domain: string): Promise<Json> =>
      ((await api('GET', `/devices/${id}/state`)).body as Json).domains.find(
        (d: Json) => d.domain === domain,
      );

    beforeAll(async () => {
      db = await makeDb();
      await start();
    });
    afterAll(async () => {
      for (const d of devices) await d.close().catch(() => undefined);
      await fm?.close();
      await db?.drop();
    });

    it('pushes v1 then v2 to two devices; both report each applied with the same hash', async () => {
      const a = await enroll('cl-a', { role: 'core' });
      const b = await enroll('cl-b', { role: 'core' });
      await until('both online', async () => {
        const l = (await api('GET', '/devices?online=true')).body as Json;
        return l.total === 2;
      });

      const created = await api('POST', '/policies', {
        name: 'core',
        domain: 'policy',
        targetLabels: { role: 'core' },
        spec: POLICY_V1,
      });
      expect(created.status).toBe(201);
      const v1 = (await api('GET', '/policies/core/versions/1')).body as Json;
      const deployed = await api('POST', '/policies/core/deploy', { version: 1 });
      expect(deployed.status).toBe(201);

      for (const d of [a, b]) {
        const s = await until(`${d.id} in sync on v1`, async () => {
          const s = await state(d.id, 'policy');
          return s.inSync && s.reported ? s : null;
        });
        expect(s.reported).toMatchObject({ status: 'applied', hash: v1.hash });
        expect(s.desired).toMatchObject({ policy: 'core', policyVersion: 1, hash: v1.hash });
        expect(d.applied.get('policy')?.spec).toEqual(POLICY_V1);
      }

      const pushed = await api('POST', '/policies/core/versions', {
        spec: POLICY_V2,
        comment: 'dns only',
      });
      expect(pushed.status).toBe(201);
      const v2 = pushed.body as Json;
      expect(v2.hash).not.toBe(v1.hash);
      await api('POST', '/policies/core/deploy', { version: 2 });
      for (const d of [a, b]) {
        const s = await until(`${d.id} on v2`, async () => {
          const s = await state(d.id, 'policy');
          return s.inSync && s.desired.policyVersion === 2 ? s : null;
        });
        expect(s.reported.hash).toBe(v2.hash);
        expect(d.applied.get('policy')?.spec).toEqual(POLICY_V2);
      }
      expect(((await api('GET', '/drift')).body as Json).items).toEqual([]);
      expect(((await api('GET', '/policies/core')).body as Json).deployedVersion).toBe(2);
    });

    it('refuses bad policies with the field named, before any device sees them', async () => {
      const bad = await api('POST', '/policies/core/versions', {
        spec: { destinations: { x: 'vxlan://' }, rules: [] },
      });
      expect(bad.status).toBe(400);
      expect((bad.body as Json).field).toBe('spec');
      const badFilter = await api('POST', '/policies', {
        name: 'bad-filter',
        domain: 'policy',
        targetLabels: {},
        spec: { ...POLICY_V1, filter: 'tcp port banana' },
      });
      expect(badFilter.status).toBe(400);
      expect((badFilter.body as Json).field).toBe('spec.filter');
      const retention = await api('POST', '/policies', {
        name: 'keep',
        domain: 'retention',
        targetLabels: {},
        spec: { maxAgeSeconds: -1 },
      });
      expect(retention.status).toBe(400);
      expect((retention.body as Json).message).toMatch(/retention.maxAgeSeconds/);
    });

    it('stops a staged rollout at the canary failure; the rest keep the previous version', async () => {
      const refuseV2 = (d: { spec: Json }) =>
        JSON.stringify(d.spec).includes('"icmp"')
          ? 'record: cannot create /var/lib/netmirror/rec: read-only file system'
          : null;
      // Ids sort the canary first: st-0 refuses.
      const fleet = [await enroll('st-0', { role: 'edge' }, refuseV2)];
      for (let i = 1; i < 5; i++) fleet.push(await enroll(`st-${i}`, { role: 'edge' }));
      await api('POST', '/policies', {
        name: 'edge',
        domain: 'policy',
        targetLabels: { role: 'edge' },
        spec: POLICY_V1,
      });
      await api('POST', '/policies/edge/deploy', { version: 1 });
      for (const d of fleet)
        await until(`${d.id} on v1`, async () => (await state(d.id, 'policy')).inSync || null);

      const v2 = await api('POST', '/policies/edge/versions', {
        spec: {
          ...POLICY_V1,
          rules: [
            { name: 'ping', priority: 1, match: { protocol: 'icmp' }, destinations: ['lake'] },
          ],
        },
      });
      const started = await api('POST', '/rollouts', {
        policy: 'edge',
        version: (v2.body as Json).version,
        strategy: { canary: 1, waves: [50, 100], maxFailuresPerStage: 0, successRatio: 1 },
      });
      expect(started.status).toBe(201);
      const id = (started.body as Json).id;
      const done = await until('rollout failed', async () => {
        const r = (await api('GET', `/rollouts/${id}`)).body as Json;
        return r.status === 'failed' ? r : null;
      });
      expect(done.stages[0].devices).toEqual([
        { deviceId: 'st-0', outcome: 'error', error: expect.stringMatching(/read-only/) },
      ]);
      expect(done.reason).toMatch(/stage 0: 1 of 1 devices failed/);
      for (const d of fleet.slice(1)) {
        const s = await state(d.id, 'policy');
        expect(s.desired.policyVersion).toBe(1);
        expect(s.inSync).toBe(true);
      }
      const canary = await state('st-0', 'policy');
      expect(canary.reported).toMatchObject({ status: 'error', version: canary.reported.version });
      expect(canary.reported.rejectedVersion).toBe(canary.desired.version);
      expect(canary.inSync).toBe(false);
      expect(((await api('GET', '/policies/edge')).body as Json).deployedVersion).toBe(1);

      // Roll back the canary: it gets v1's content as a new version, and applies it.
      const back = await api('POST', `/rollouts/${id}/rollback`);
      expect(back.status).toBe(200);
      expect((back.body as Json).status).toBe('rolled-back');
      await until(
        'canary back in sync',
        async () => (await state('st-0', 'policy')).inSync || null,
      );
      const audit = ((await api('GET', '/audit?limit=200')).body as Json).items.map(
        (e: Json) => e.action,
      );
      expect(audit).toEqual(
        expect.arrayContaining(['rollout.start', 'rollout.rollback', 'policy.version.create']),
      );
    });

    it('delivers data keys wrapped to each device: A’s key cannot be unwrapped by B', async () => {
      const a = devices.find((d) => d.id === 'cl-a')!;
      const b = devices.find((d) => d.id === 'cl-b')!;
      await until('keys applied on A and B', async () => a.keysVersion > 0 && b.keysVersion > 0);
      const spy = await ControlClient.connect({
        url: brokerUrl,
        clientId: `spy-${randomBytes(3).toString('hex')}`,
        topics,
        logger: { info: () => undefined, warn: () => undefined },
      });
      const seen: KeyDelivery[] = [];
      spy.onMessage(({ message, route }) => {
        if (message.type === 'keys' && route.deviceId === 'cl-a') seen.push(message);
      });
      await spy.transport.subscribeAsync([topics.keys('cl-a')], { qos: 1 });
      const rotated = await api('POST', '/keys/rotate');
      expect(rotated.status).toBe(200);
      const set = rotated.body as Json;
      expect(set.keys.filter((k: Json) => k.active)).toHaveLength(2);
      expect(JSON.stringify(set)).not.toMatch(/material/);
      await until(
        'rotation delivered to A',
        async () => seen.length > 0 && a.keysVersion === set.version,
      );
      await spy.close();

      const delivery = seen[0];
      const newest = set.keys[0].keyId as string;
      const forA = delivery.keys.find((k) => k.keyId === newest)!;
      expect(a.dataKeys.get(newest)).toHaveLength(32);
      // B's private key, or A's wrap relabelled for B: both fail authentication.
      expect(() =>
        unwrapKey(decodeWrappedKey(forA.wrapped), b.keys.x25519.privateKey, {
          deviceId: 'cl-a',
          keyId: newest,
        }),
      ).toThrow();
      expect(() =>
        unwrapKey(decodeWrappedKey(forA.wrapped), b.keys.x25519.privateKey, {
          deviceId: 'cl-b',
          keyId: newest,
        }),
      ).toThrow();
      // And B's own copy of the same key opens only with B's key.
      expect(b.dataKeys.get(newest)).toEqual(a.dataKeys.get(newest));
      await until(
        'B reports the new key set',
        async () =>
          (await state('cl-b', 'keys')).inSync &&
          (await state('cl-b', 'keys')).reported?.version === set.version,
      );
    });

    it('stores telemetry and alerts, queryable by device and time range', async () => {
      const a = devices.find((d) => d.id === 'cl-a')!;
      const t0 = Date.now() - 60_000;
      for (let i = 0; i < 5; i++) {
        await a.client!.publishTelemetry('cl-a', sampleTelemetry(t0 + i * 1000, i));
      }
      await a.client!.publishAlert('cl-a', {
        v: 1,
        type: 'alert',
        at: t0,
        severity: 'warning',
        code: 'queue.full',
        message: 'lake dropped copies',
      });
      const from = new Date(t0 + 1000).toISOString();
      const to = new Date(t0 + 3000).toISOString();
      const page = await until('telemetry stored', async () => {
        const p = (await api('GET', `/devices/cl-a/telemetry?from=${from}&to=${to}`)).body as Json;
        return p.items.length === 3 ? p : null;
      });
      expect(page.items[0]).toMatchObject({
        taps: [{ packetsSeen: 100 }],
        destinations: [{ packetsSent: 90, packetsDropped: 1 }],
      });
      const alerts = await until('alert stored', async () => {
        const p = (await api('GET', '/alerts?deviceId=cl-a')).body as Json;
        return p.items.length === 1 ? p : null;
      });
      const ack = await api('POST', `/alerts/${alerts.items[0].id}/acknowledge`);
      expect(ack.body).toMatchObject({ code: 'queue.full', acknowledgedBy: 'operator:alice' });
      expect((await api('GET', '/devices/cl-a/telemetry?from=yesterday')).status).toBe(400);
    });

    it('shows a killed device offline within seconds, and catches it up on reconnect', async () => {
      const b = devices.find((d) => d.id === 'cl-b')!;
      await b.crash();
      const t0 = Date.now();
      await until(
        'cl-b offline',
        async () => ((await api('GET', '/devices/cl-b')).body as Json).online === false,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
      const v3 = await api('POST', '/policies/core/versions', {
        spec: POLICY_V1,
        comment: 'back to web',
      });
      await api('POST', '/policies/core/deploy', { version: (v3.body as Json).version });
      await b.connect();
      await until(
        'cl-b online again',
        async () => ((await api('GET', '/devices/cl-b')).body as Json).online === true,
      );
      await until('cl-b caught up on v3', async () => {
        const s = await state('cl-b', 'policy');
        return s.inSync && s.desired.policyVersion === (v3.body as Json).version;
      });
    });

    it('restarting the fleet manager loses no device, policy, key, telemetry or audit record', async () => {
      const snapshot = async () => ({
        devices: ((await api('GET', '/devices')).body as Json).total,
        policies: (await api('GET', '/policies')).body,
        keys: (await api('GET', '/keys')).body,
        telemetry: (
          (
            await api(
              'GET',
              `/devices/cl-a/telemetry?from=${new Date(Date.now() - 600_000).toISOString()}`,
            )
          ).body as Json
        ).items.length,
        audit: ((await api('GET', '/audit?limit=500')).body as Json).items.length,
        rollouts: ((await api('GET', '/rollouts')).body as Json[]).map((r) => [r.id, r.status]),
      });
      const before = await snapshot();
      await fm.close();
      await start();
      expect(await snapshot()).toEqual(before);
      // And the loop still works: the restarted manager sees devices report.
      const v = await api('POST', '/policies/core/versions', { spec: POLICY_V2 });
      await api('POST', '/policies/core/deploy', { version: (v.body as Json).version });
      await until('cl-a applies after the restart', async () => {
        const s = await state('cl-a', 'policy');
        return s.inSync && s.desired.policyVersion === (v.body as Json).version;
      });
    });
  },
);
