// mqttTls on the embedded broker: devices enrolled with a CSR connect with the
// certificate the fleet CA signed and run the control loop over mqtts://; the
// broker refuses clients without a certificate, with another CA's, with
// another device's client id, and confines each device to its own topics.
import { randomBytes } from 'node:crypto';
import {
  createCa,
  createCsr,
  generateDeviceKeys,
  signDeviceCertificate,
  type DeviceKeys,
} from '@netmirror/crypto';
import {
  encodeMessage,
  statusMessage,
  TopicTree,
  type TlsClientCredentials,
} from '@netmirror/protocol';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_MANAGER_IDENTITY, MqttAcl } from './broker/mqtt-acl.js';
import { startFleetManager, type FleetManagerHandle } from './main.js';
import { sqliteTestDatabase, type TestDatabase } from './testing/databases.js';
import { enrollWithCsr } from './testing/enroll.js';
import { client } from './testing/http.js';
import { tryConnect } from './testing/mqtt-connect.js';
import { SimulatedDevice } from './testing/simulated-device.js';
import { until } from './testing/until.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const POLICY = {
  destinations: { lake: 'record:/var/lib/netmirror/rec' },
  rules: [{ name: 'web', priority: 10, match: { port: 443 }, destinations: ['lake'] }],
};
const FORGED_HASH = `sha256:${'ab'.repeat(32)}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MqttAcl', () => {
  const acl = new MqttAcl('nm/v1');
  const a = { kind: 'device', deviceId: 'a' } as const;
  const fm = { kind: 'fleet-manager' } as const;
  it('gives a device its own publish topics only', () => {
    for (const t of [
      'nm/v1/a/reported/policy',
      'nm/v1/a/status',
      'nm/v1/a/telemetry',
      'nm/v1/a/alerts',
      'nm/v1/a/response/fleet-1',
    ])
      expect(acl.mayPublish(a, t), t).toBe(true);
    for (const t of [
      'nm/v1/b/reported/policy',
      'nm/v1/a/desired/policy',
      'nm/v1/a/keys',
      'nm/v1/a/cmd/x',
      'nm/v1/a/status/x',
      'nm/v1/a',
      'other/a/status',
      'nm/v1/a/reported/x/y',
    ])
      expect(acl.mayPublish(a, t), t).toBe(false);
  });
  it('gives a device its own inbox subscriptions only', () => {
    for (const f of [
      'nm/v1/a/desired/+',
      'nm/v1/a/desired/policy',
      'nm/v1/a/keys',
      'nm/v1/a/cmd/+',
    ])
      expect(acl.maySubscribe(a, f), f).toBe(true);
    for (const f of [
      'nm/v1/b/desired/+',
      'nm/v1/+/desired/+',
      'nm/v1/#',
      'nm/v1/a/#',
      'nm/v1/a/desired/#',
      '#',
      '$share/g/nm/v1/a/keys',
      'nm/v1/a/reported/+',
    ])
      expect(acl.maySubscribe(a, f), f).toBe(false);
  });
  it('gives the fleet manager the whole root, and no one anything without an identity', () => {
    expect(acl.mayPublish(fm, 'nm/v1/b/desired/policy')).toBe(true);
    expect(acl.maySubscribe(fm, '$share/fleet/nm/v1/+/reported/+')).toBe(true);
    expect(acl.maySubscribe(fm, 'nm/v1/+/status')).toBe(true);
    expect(acl.maySubscribe(fm, '#')).toBe(false);
    expect(acl.mayPublish(null, 'nm/v1/a/status')).toBe(false);
    expect(acl.connectRefusal(a, 'b')).toMatch(/not the certificate's device id/);
    expect(acl.connectRefusal(fm, 'fleet-x')).toBeNull();
    expect(FLEET_MANAGER_IDENTITY).toContain(':');
  });
});

describe(
  'mqttTls: the embedded broker with mutual TLS and a per-device ACL',
  { timeout: 30_000 },
  () => {
    let db: TestDatabase;
    let fm: FleetManagerHandle;
    let api: ReturnType<typeof client>;
    let caPem = '';
    const topics = new TopicTree(`nmtest/tls-${randomBytes(5).toString('hex')}/v1`);
    const devices: SimulatedDevice[] = [];
    const raw: MqttClient[] = [];
    const creds = new Map<string, TlsClientCredentials & { keys: DeviceKeys }>();

    /** Enrolls `id` with a CSR; returns what the device stores: its key, its certificate, the CA. */
    const enroll = async (id: string, labels: Record<string, string>) => {
      const c = await enrollWithCsr(api, id, labels);
      expect(c.reply.brokerUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
      caPem = c.ca;
      creds.set(id, c);
      return c;
    };

    const connectDevice = async (id: string) => {
      const c = creds.get(id)!;
      const d = new SimulatedDevice({ id, brokerUrl: fm.broker.url, topics, keys: c.keys, tls: c });
      devices.push(d);
      await d.connect();
      return d;
    };

    const state = async (id: string, domain: string): Promise<Json> =>
      ((await api('GET', `/devices/${id}/state`)).body as Json).domains.find(
        (d: Json) => d.domain === domain,
      );

    beforeAll(async () => {
      db = sqliteTestDatabase();
      fm = await startFleetManager({
        databaseUrl: db.url,
        httpPort: 0,
        embeddedBrokerPort: 0,
        mqttTls: true,
        logger: ['error'],
        topicRoot: topics.root,
      });
      api = client(fm.url);
      expect(fm.broker.url).toMatch(/^mqtts:/);
    });
    afterAll(async () => {
      for (const c of raw) await c.endAsync(true).catch(() => undefined);
      for (const d of devices) await d.close().catch(() => undefined);
      await fm?.close();
      await db?.drop();
    });

    it('an enrolled device connects with its certificate; a deployed policy is applied', async () => {
      await enroll('tls-a', { role: 'tls' });
      await enroll('tls-b', { role: 'tls' });
      const a = await connectDevice('tls-a');
      const b = await connectDevice('tls-b');
      await until(
        'both online',
        async () => ((await api('GET', '/devices?online=true')).body as Json).total === 2,
      );
      expect(
        (
          await api('POST', '/policies', {
            name: 'tls',
            domain: 'policy',
            targetLabels: { role: 'tls' },
            spec: POLICY,
          })
        ).status,
      ).toBe(201);
      expect((await api('POST', '/policies/tls/deploy', { version: 1 })).status).toBe(201);
      for (const d of [a, b]) {
        const s = await until(`${d.id} in sync`, async () => {
          const s = await state(d.id, 'policy');
          return s.inSync && s.reported ? s : null;
        });
        expect(s.reported).toMatchObject({ status: 'applied', version: s.desired.version });
        expect(d.applied.get('policy')?.spec).toEqual(POLICY);
      }
    });

    it('refuses a client without a certificate', async () => {
      const r = await tryConnect(fm.broker.url, {
        clientId: 'tls-a',
        ca: caPem,
        rejectUnauthorized: true,
      });
      expect(typeof r).toBe('string');
    });

    it('refuses a certificate from another CA, even one naming an enrolled device', async () => {
      const other = await createCa({ commonName: 'Not The Fleet CA', validDays: 30 });
      const keys = generateDeviceKeys();
      const cert = await signDeviceCertificate(other, await createCsr(keys, 'tls-a'), {
        deviceId: 'tls-a',
        validDays: 1,
      });
      const r = await tryConnect(fm.broker.url, {
        clientId: 'tls-a',
        ca: caPem,
        cert: cert.certificatePem,
        key: keys.tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        rejectUnauthorized: true,
      });
      expect(typeof r).toBe('string');
      expect(devices[0].client?.transport.connected).toBe(true); // the real tls-a is undisturbed
    });

    it("A cannot use B's client id", async () => {
      const a = creds.get('tls-a')!;
      const r = await tryConnect(fm.broker.url, {
        clientId: 'tls-b',
        ca: a.ca,
        cert: a.cert,
        key: a.key,
        rejectUnauthorized: true,
      });
      expect(r).toMatch(/Identifier rejected|identifier/i);
      await sleep(200);
      expect(devices[1].client?.transport.connected).toBe(true);
      expect(((await api('GET', '/devices/tls-b')).body as Json).online).toBe(true);
    });

    it("A cannot publish a report into B's subtree; the fleet manager never stores it", async () => {
      await devices[0].close(); // the raw sessions below use tls-a's client id
      const before = await state('tls-b', 'policy');
      const a = creds.get('tls-a')!;
      const c = await tryConnect(fm.broker.url, {
        clientId: 'tls-a',
        ca: a.ca,
        cert: a.cert,
        key: a.key,
        rejectUnauthorized: true,
      });
      if (typeof c === 'string') throw new Error(c);
      raw.push(c);
      const forged = encodeMessage({
        v: 1,
        type: 'reported',
        domain: 'policy',
        version: 999,
        hash: FORGED_HASH,
        status: 'applied',
        appliedAt: Date.now(),
      });
      await Promise.race([
        c
          .publishAsync(topics.reported('tls-b', 'policy'), forged, { qos: 1 })
          .catch(() => undefined),
        sleep(1_000),
      ]);
      await sleep(1_000);
      const after = await state('tls-b', 'policy');
      expect(after.reported).toEqual(before.reported);
      expect(after.reported.version).not.toBe(999);
      expect(after.inSync).toBe(true);
    });

    it("A cannot subscribe to B's desired state (SUBACK refused, nothing delivered)", async () => {
      const a = creds.get('tls-a')!;
      const c = await tryConnect(fm.broker.url, {
        clientId: 'tls-a',
        ca: a.ca,
        cert: a.cert,
        key: a.key,
        rejectUnauthorized: true,
      });
      if (typeof c === 'string') throw new Error(c);
      raw.push(c);
      const got: string[] = [];
      c.on('message', (t) => got.push(t));
      // mqtt.js rejects a SUBACK that refuses: its packet says which filter got 0x80.
      const refused = await c
        .subscribeAsync([topics.desired('tls-b', 'policy'), topics.fleetFilter('status')], {
          qos: 1,
        })
        .then(
          () => null,
          (e: Error & { packet?: { granted?: number[] } }) => e,
        );
      expect(refused?.message).toMatch(/Subscribe error/);
      expect(refused?.packet?.granted).toEqual([128, 128]);
      // Its own desired state (retained) still arrives: the session is fine, only B's is refused.
      await c.subscribeAsync([topics.desired('tls-a', 'policy')], { qos: 1 });
      await until('own retained desired', async () =>
        got.includes(topics.desired('tls-a', 'policy')),
      );
      await sleep(300);
      expect(got).toEqual([topics.desired('tls-a', 'policy')]);
    });

    it("A's Last Will cannot claim B went offline", async () => {
      const a = creds.get('tls-a')!;
      const c = await tryConnect(fm.broker.url, {
        clientId: 'tls-a',
        ca: a.ca,
        cert: a.cert,
        key: a.key,
        rejectUnauthorized: true,
        will: {
          topic: topics.status('tls-b'),
          payload: encodeMessage(statusMessage('offline')),
          qos: 1,
          retain: true,
        },
      });
      if (typeof c === 'string') throw new Error(c);
      c.stream.destroy();
      await c.endAsync(true).catch(() => undefined);
      await sleep(1_000);
      expect(((await api('GET', '/devices/tls-b')).body as Json).online).toBe(true);
    });
  },
);
