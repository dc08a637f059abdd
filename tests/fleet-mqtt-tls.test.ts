// mqttTls end to end: a real `netmirror agent` enrolls with a token (CA
// pinned), is told an mqtts:// broker, connects to the fleet manager's
// embedded broker with the certificate it got at enrollment, and applies a
// deployed policy. The broker refusing strangers and confining devices is
// covered in apps/fleet-manager (mqtt-tls.test.ts, mosquitto-tls.test.ts).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { startFleetManager, type FleetManagerHandle } from '@netmirror/fleet-manager';
import { TopicTree } from '@netmirror/protocol';
import { startAgent, type AgentProcess } from './support/agent-process.js';
import { until } from './support/until.js';
import { fleetApi, type Json } from './support/fleet-api.js';

const WEB = {
  destinations: { lake: 'record:recordings' },
  rules: [
    { name: 'web', priority: 10, match: { protocol: 'tcp', port: 443 }, destinations: ['lake'] },
  ],
};

describe('a real agent over mqtts:// (mqttTls)', { timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'nm-tls-e2e-'));
  const id = `tls-e2e-${randomBytes(3).toString('hex')}`;
  const topics = new TopicTree(`nmtest/tls-e2e-${randomBytes(5).toString('hex')}/v1`);
  let fm: FleetManagerHandle;
  let agent: AgentProcess | null = null;

  const api = fleetApi(() => fm.url);

  beforeAll(async () => {
    fm = await startFleetManager({
      databaseUrl: `sqlite:${join(work, 'fleet.db')}`,
      httpPort: 0,
      embeddedBrokerPort: 0,
      mqttTls: true,
      logger: ['error'],
      topicRoot: topics.root,
    });
  });
  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await fm?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('enrolls with a token, connects with its certificate and reaches "policy applied"', async () => {
    expect(fm.broker.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const capture = join(work, 'replay.pcap');
    writeCaptureFile({ path: capture, frames: 2_000, seed: 11 });
    const pin = (await fetch(`${fm.url}/ca.pem`)).headers.get('x-netmirror-ca-fingerprint');
    const { token } = await api('POST', '/enrollment-tokens', {
      ttlSeconds: 600,
      labels: { tier: 'tls' },
    });
    const dir = join(work, id);
    mkdirSync(dir, { recursive: true });
    agent = startAgent(
      join(dir, 'agent.json'),
      {
        deviceId: id,
        stateDir: join(dir, 'state'),
        fleet: { url: fm.url, enrollmentToken: token, caFingerprint: pin },
        topicRoot: topics.root,
        tap: { uri: `pcap:${capture}?loop`, pps: 500 },
        httpPort: 0,
      },
      { cwd: dir },
    );
    await agent.waitFor(new RegExp(`enrolled as ${id}`));
    await agent.waitFor(new RegExp(`${id} connected to mqtts://127\\.0\\.0\\.1:\\d+`));
    await until(`${id} online`, async () => (await api('GET', `/devices/${id}`)).online === true);

    await api('POST', '/policies', {
      name: 'tls',
      domain: 'policy',
      targetLabels: { tier: 'tls' },
      spec: WEB,
    });
    const v1 = await api('GET', '/policies/tls/versions/1');
    await api('POST', '/policies/tls/deploy', { version: 1 });
    const s = await until('policy applied', async () => {
      const st = (await api('GET', `/devices/${id}/state`)).domains.find(
        (d: Json) => d.domain === 'policy',
      );
      return st.inSync && st.reported?.status === 'applied' ? st : null;
    });
    expect(s.reported.hash).toBe(v1.hash);
    // Applied means in effect: the record destination now exists.
    await until('recordings written', async () => existsSync(join(dir, 'recordings')));
    expect(agent.stderr()).not.toMatch(/control channel: .*retrying/);
  });
});
