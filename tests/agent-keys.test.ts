// The keys domain end to end over a real MQTT broker: the fleet side wraps a
// data key to device A's X25519 key exactly as libs/crypto prescribes and
// delivers it on A's `keys` topic; agent A opens it and reports it applied
// with the delivery's hash; the same delivery sent to agent B is refused and
// B's key ring stays as it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentDaemon, checkAgentConfig, MqttControlChannel } from '@netmirror/agent';
import { writeCaptureFile } from '@netmirror/capgen';
import {
  encodeWrappedKey,
  generateDataKey,
  generateDeviceKeys,
  WRAP_ALG,
  wrapKey,
} from '@netmirror/crypto';
import type { DataKey, DeviceKeys } from '@netmirror/crypto';
import { buildKeyDelivery, ControlClient } from '@netmirror/protocol';
import type { KeyDelivery, ReportedState, TopicTree } from '@netmirror/protocol';
import {
  MOSQUITTO_URL,
  startAedes,
  uniqueId,
  uniqueTree,
  waitFor,
} from '../libs/protocol/src/test-support/brokers.js';
import type { EmbeddedBroker } from '../libs/protocol/src/test-support/brokers.js';

const quiet = { info: () => undefined, warn: () => undefined };

/** What the fleet manager sends: each key wrapped to the device's public key, bound to its id. */
function deliveryFor(
  version: number,
  deviceId: string,
  device: DeviceKeys,
  keys: DataKey[],
): KeyDelivery {
  return buildKeyDelivery(
    version,
    keys.map((dk) => ({
      keyId: dk.keyId,
      alg: WRAP_ALG,
      wrapped: encodeWrappedKey(
        wrapKey(dk.key, device.x25519.publicKey, { deviceId, keyId: dk.keyId }),
      ),
    })),
  );
}

interface RunningAgent {
  daemon: AgentDaemon;
  stop(): Promise<void>;
}

async function startAgentAs(
  deviceId: string,
  device: DeviceKeys,
  stateDir: string,
  input: string,
  brokerUrl: string,
  topics: TopicTree,
): Promise<RunningAgent> {
  const daemon = await AgentDaemon.start(
    checkAgentConfig({
      deviceId,
      stateDir,
      tap: { uri: `pcap:${input}?loop`, pps: 500 },
      telemetrySeconds: 60,
      httpPort: 0,
    }),
    { identity: { deviceId, keys: device }, log: () => undefined },
  );
  const channel = await MqttControlChannel.connect({
    url: brokerUrl,
    deviceId,
    topics,
    applied: () => daemon.applied,
    logger: quiet,
  });
  daemon.attach(channel);
  return { daemon, stop: async () => void (await daemon.stop()) };
}

async function httpGet(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

const brokers: [string, () => Promise<EmbeddedBroker>][] = [
  ['in-process aedes (MQTT 3.1.1)', startAedes],
  ['Mosquitto (MQTT 5)', async () => ({ url: MOSQUITTO_URL, close: async () => undefined })],
];

describe.each(brokers)('key deliveries over %s', (_name, startBroker) => {
  let dir: string;
  let input: string;
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-keys-e2e-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 100, seed: 9 });
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('device A applies a key wrapped to it and reports the hash; device B refuses the same delivery and keeps its ring', async () => {
    const topics = uniqueTree('keys');
    const idA = uniqueId('tap-a');
    const idB = uniqueId('tap-b');
    const keysA = generateDeviceKeys();
    const keysB = generateDeviceKeys();
    const fleet = await ControlClient.connect({
      url: broker.url,
      clientId: uniqueId('fleet'),
      topics,
      logger: quiet,
    });
    const reports: { deviceId: string; report: ReportedState }[] = [];
    fleet.onMessage((m) => {
      if (m.message.type === 'reported' && m.message.domain === 'keys')
        reports.push({ deviceId: m.route.deviceId, report: m.message });
    });
    await fleet.subscribeFleet(['reported']);
    const a = await startAgentAs(idA, keysA, join(dir, 'a'), input, broker.url, topics);
    const b = await startAgentAs(idB, keysB, join(dir, 'b'), input, broker.url, topics);
    const reportOf = (deviceId: string, match: (r: ReportedState) => boolean) =>
      reports.find((r) => r.deviceId === deviceId && match(r.report))?.report;
    try {
      // B holds a key set of its own already: a refusal must leave it exactly as it is.
      const bOwn = generateDataKey();
      const bV1 = deliveryFor(1, idB, keysB, [bOwn]);
      await fleet.publishKeys(idB, bV1);
      await waitFor(() => b.daemon.keys.size === 1, 10_000, 'B applies its own set');

      const dk = generateDataKey();
      const delivery = deliveryFor(2, idA, keysA, [dk]);
      await fleet.publishKeys(idA, delivery);
      await waitFor(
        () => reportOf(idA, (r) => r.status === 'applied' && r.version === 2) !== undefined,
        10_000,
        'A reports keys v2 applied',
      );
      expect(reportOf(idA, (r) => r.version === 2)).toMatchObject({
        domain: 'keys',
        status: 'applied',
        hash: delivery.hash,
      });
      expect(Buffer.from(a.daemon.keys.current().key)).toEqual(dk.key);
      const health = JSON.parse(await httpGet(a.daemon.httpPort, '/health')) as Record<
        string,
        unknown
      >;
      expect(health).toMatchObject({
        applied: { keys: { version: 2, hash: delivery.hash } },
        keys: { version: 2, count: 1 },
      });
      expect(await httpGet(a.daemon.httpPort, '/metrics')).toMatch(
        /^netmirror_applied_version\{domain="keys"\} 2$/m,
      );

      // The very same bytes on B's topic: wrapped to A, for A. B cannot open them.
      await fleet.publishKeys(idB, delivery);
      await waitFor(
        () => reportOf(idB, (r) => r.status === 'error') !== undefined,
        10_000,
        'B reports an error',
      );
      expect(reportOf(idB, (r) => r.status === 'error')).toMatchObject({
        domain: 'keys',
        version: 1,
        hash: bV1.hash,
        rejectedVersion: 2,
        error: expect.stringMatching(
          new RegExp(
            `keys\\[0\\] \\(${dk.keyId}\\): cannot unwrap key ${dk.keyId} for device ${idB}: authentication failed`,
          ),
        ),
      });
      expect(b.daemon.keys.size).toBe(1);
      expect(b.daemon.keys.has(dk.keyId)).toBe(false);
      expect(Buffer.from(b.daemon.keys.current().key)).toEqual(bOwn.key);
      expect(b.daemon.applied.keys).toMatchObject({ version: 1, hash: bV1.hash });

      // A stale set to A: refused with the reason, v2 stays.
      await fleet.publishKeys(idA, deliveryFor(1, idA, keysA, [generateDataKey()]));
      await waitFor(
        () => reportOf(idA, (r) => r.status === 'error' && r.rejectedVersion === 1) !== undefined,
        10_000,
        'A refuses the stale set',
      );
      expect(reportOf(idA, (r) => r.rejectedVersion === 1)?.error).toMatch(
        /keys version 1 is older than version 2 in effect/,
      );
      expect(Buffer.from(a.daemon.keys.current().key)).toEqual(dk.key);
    } finally {
      await a.stop();
      await b.stop();
      await fleet.close();
    }
  });
});
