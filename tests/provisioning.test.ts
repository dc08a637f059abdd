// Field provisioning over a serial line (a socat pty pair): a fresh
// appliance (the agent daemon with a console and no fleet settings) is set
// up and enrolled by the technician's tool, `netmirror provision`; wrong,
// expired and reused tokens, a wrong CA pin and garbage on the line give
// clear errors and change nothing; afterwards the appliance is online in the
// fleet manager and applies its policy; a factory reset takes it back.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import type { FleetManagerHandle } from '@netmirror/fleet-manager';
import { TopicTree } from '@netmirror/protocol';
import { openSerialTransport } from '@netmirror/serial-link';
import { createPtyPair, type PtyPair } from '@netmirror/serial-link/testing';
import { startAgent, type AgentProcess } from './support/agent-process.js';
import {
  deployPolicy,
  fleetApi,
  startEmbeddedFleetManager,
  type Json,
} from './support/fleet-api.js';
import { tempDir } from './support/frames.js';
import { NETMIRROR, run } from './support/run.js';
import { until } from './support/until.js';

describe('provisioning a fresh appliance over its serial console', { timeout: 120_000 }, () => {
  let fm: FleetManagerHandle;
  let agent: AgentProcess;
  let pty: PtyPair;
  let fingerprint: string;
  let usedToken = '';
  const tmp = tempDir('provision');
  const topics = new TopicTree(`nmtest/prov-${randomBytes(5).toString('hex')}/v1`);
  const name = `tap-${randomBytes(3).toString('hex')}`;
  const stateDir = tmp.path('appliance/state');
  const api = fleetApi(() => fm.url);
  const token = async (): Promise<string> =>
    (await api('POST', '/enrollment-tokens', { ttlSeconds: 600, labels: { tier: 'prov' } })).token;

  /** `netmirror provision --port <the technician's end> ARGS`. */
  const provision = (...args: string[]) =>
    run('node', [NETMIRROR, 'provision', '--port', pty.b, '--timeout', '15', ...args]);
  const show = async (): Promise<Json> => {
    const r = await provision('--json');
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Json;
  };
  const enrollArgs = (t: string, pin = fingerprint) => [
    '--token',
    t,
    '--fleet-url',
    fm.url,
    '--ca-fingerprint',
    pin,
    '--name',
    name,
    '--site',
    'lab-rack-4',
    '--address',
    '192.0.2.10/24',
    '--gateway',
    '192.0.2.1',
    '--dns',
    '192.0.2.53',
  ];
  const startAppliance = (): AgentProcess =>
    startAgent(
      tmp.path('appliance/agent.json'),
      {
        stateDir,
        topicRoot: topics.root,
        tap: { uri: `pcap:${tmp.path('mix.pcap')}?loop`, pps: 500 },
        httpPort: 0,
        telemetrySeconds: 1,
        console: { port: pty.a },
      },
      { cwd: tmp.path('appliance') },
    );

  beforeAll(async () => {
    writeCaptureFile({ path: tmp.path('mix.pcap'), frames: 500, seed: 9 });
    fm = await startEmbeddedFleetManager(tmp.path('fleet.db'), topics.root);
    const res = await fetch(`${fm.url}/ca.pem`, { signal: AbortSignal.timeout(10_000) });
    fingerprint = res.headers.get('x-netmirror-ca-fingerprint') ?? '';
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    pty = await createPtyPair();
    mkdirSync(tmp.path('appliance'), { recursive: true });
    agent = startAppliance();
    await agent.waitFor(/console on /);
  }, 60_000);
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail')
      process.stderr.write(`--- appliance stderr ---\n${agent?.stderr().slice(-3000)}\n`);
  });
  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await fm?.close();
    await pty?.close();
    tmp.remove();
  });

  it('a fresh appliance shows itself unprovisioned', async () => {
    expect(await show()).toMatchObject({
      state: 'unprovisioned',
      deviceId: null,
      sources: [expect.stringMatching(/^pcap:/)],
    });
  });

  it('a wrong CA pin, a wrong, an expired token, and garbage on the line: clear errors, nothing changed', async () => {
    const wrongPin = fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00');
    let r = await provision(...enrollArgs(await token(), wrongPin));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`CA fingerprint mismatch`);
    r = await provision(...enrollArgs('not-a-token'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the appliance refused: .*(token|401|403|404)/i);
    const expired = await api('POST', '/enrollment-tokens', { ttlSeconds: 600, labels: {} });
    const db = new Database(tmp.path('fleet.db'));
    db.prepare('UPDATE enrollment_tokens SET expires_at = ? WHERE id = ?').run(
      '2000-01-01 00:00:00.000',
      expired.id,
    );
    db.close();
    r = await provision(...enrollArgs(expired.token));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expired/);
    // Line noise, a half line, and a request with a broken CRC.
    const line = await openSerialTransport(pty.b, 115200);
    line.write(randomBytes(300));
    line.write(
      Buffer.from('\r\n@{"id":5,"cmd":"factory-reset","confirm":"unprovisioned"}*00000000\r\nsho'),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await line.close();
    expect(await show()).toMatchObject({ state: 'unprovisioned', deviceId: null, site: null });
    expect(
      existsSync(stateDir) ? readdirSync(stateDir).filter((f) => !f.startsWith('applied')) : [],
    ).toEqual([]);
    expect((await api('GET', '/devices')).items.filter((d: Json) => d.id === name)).toEqual([]);
  });

  it('enrolls end to end: online in the fleet manager with its site, and applying its policy', async () => {
    usedToken = await token();
    const r = await provision(...enrollArgs(usedToken));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`enrolled as ${name}`);
    const device = await until('the appliance online', async () => {
      const d = await api('GET', `/devices/${name}`).catch(() => null);
      return d?.online ? d : null;
    });
    expect(device).toMatchObject({ site: 'lab-rack-4', labels: { tier: 'prov' } });
    expect(await show()).toMatchObject({
      state: 'online',
      deviceId: name,
      site: 'lab-rack-4',
      network: { address: '192.0.2.10/24', gateway: '192.0.2.1', dns: ['192.0.2.53'] },
      caFingerprint: fingerprint,
    });
    const spec = {
      destinations: { rec: `pcap:${tmp.path('appliance/out.pcap')}` },
      rules: [
        {
          name: 'dns',
          priority: 10,
          match: { protocol: 'udp', dstPort: 53 },
          destinations: ['rec'],
        },
      ],
    };
    await deployPolicy(api, 'prov', { tier: 'prov' }, spec);
    await until('policy applied', async () => {
      const s = (await api('GET', `/devices/${name}/state`)).domains.find(
        (d: Json) => d.domain === 'policy',
      );
      return s?.inSync && s.reported?.status === 'applied';
    });
  });

  it('a reused token and a second enrollment are refused; a factory reset takes it back to unprovisioned', async () => {
    const r = await provision(...enrollArgs(await token()));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`already enrolled as ${name}; factory-reset first`);
    const wrong = await provision('--factory-reset', 'some-other-tap');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`confirm with the appliance's name (${name})`);
    const reset = await provision('--factory-reset', name);
    expect(reset.code, reset.stderr).toBe(0);
    expect(await agent.exited(10_000)).toBe(3);
    agent = startAppliance();
    await agent.waitFor(/console on /);
    expect(await show()).toMatchObject({ state: 'unprovisioned', deviceId: null });
    // The token it enrolled with is spent: the wiped appliance cannot use it again.
    const again = await provision(...enrollArgs(usedToken));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('enrollment token has already been used');
    expect(await show()).toMatchObject({ state: 'unprovisioned', deviceId: null });
  });
});
