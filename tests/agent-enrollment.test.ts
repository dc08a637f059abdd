// The agent enrolls with a real fleet manager (SQLite in a temp folder,
// embedded aedes broker), as a function and as the `netmirror agent` command:
// keys made on the device and stored 0600, a certificate `openssl verify`
// accepts against the fleet CA, the device listed by the fleet manager, a
// refused token or CA leaving the state directory untouched, and a fleet
// manager that is down at first start.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  enrollDevice,
  EnrollmentError,
  IdentityStore,
  newEnrollmentCandidate,
} from '@netmirror/agent';
import { writeCaptureFile } from '@netmirror/capgen';
import { devicePublicKeysPem } from '@netmirror/crypto';
import { startFleetManager } from '@netmirror/fleet-manager';
import type { FleetManagerHandle } from '@netmirror/fleet-manager';
import { ControlClient } from '@netmirror/protocol';
import type { Status } from '@netmirror/protocol';
import { startAgent } from './support/agent-process.js';

type Json = Record<string, unknown>;

async function api(base: string, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as Json;
}

async function newToken(fm: FleetManagerHandle, body: Json = {}): Promise<string> {
  return (await api(fm.url, 'POST', '/enrollment-tokens', { ttlSeconds: 600, ...body }))
    .token as string;
}

async function tokenState(fm: FleetManagerHandle, deviceName: string): Promise<unknown> {
  const tokens = (await api(fm.url, 'GET', '/enrollment-tokens')) as unknown as Json[];
  return tokens.find((t) => t.deviceName === deviceName)?.state;
}

async function caFingerprintOf(fm: FleetManagerHandle): Promise<string> {
  const res = await fetch(`${fm.url}/ca.pem`, { signal: AbortSignal.timeout(10_000) });
  const header = res.headers.get('x-netmirror-ca-fingerprint');
  if (!header) throw new Error('GET /ca.pem sent no fingerprint');
  return header;
}

/** Every file under `dir` with its bytes and mode, to show nothing changed. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  return Object.fromEntries(
    readdirSync(dir).map((f) => {
      const p = join(dir, f);
      return [f, `${(statSync(p).mode & 0o777).toString(8)} ${readFileSync(p, 'base64')}`];
    }),
  );
}

const mode = (path: string): number => statSync(path).mode & 0o777;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Collects the status messages the agents publish on `brokerUrl`. */
async function watchStatus(
  brokerUrl: string,
): Promise<{ online: (deviceId: string) => boolean; close(): Promise<void> }> {
  const client = await ControlClient.connect({
    url: brokerUrl,
    clientId: `e2e-${randomBytes(4).toString('hex')}`,
    logger: { info: () => undefined, warn: () => undefined },
  });
  const latest = new Map<string, Status>();
  client.onMessage((m) => {
    if (m.message.type === 'status') latest.set(m.route.deviceId, m.message);
  });
  await client.subscribeFleet(['status']);
  return {
    online: (deviceId) => latest.get(deviceId)?.state === 'online',
    close: () => client.close(),
  };
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('agent enrollment with a real fleet manager', () => {
  let dir: string;
  let input: string;
  let fm: FleetManagerHandle;
  let pin: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-enroll-e2e-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: 200, seed: 5 });
    fm = await startFleetManager({
      databaseUrl: `sqlite:${join(dir, 'fleet.db')}`,
      embeddedBrokerPort: 0,
      httpPort: 0,
      logger: false,
    });
    pin = await caFingerprintOf(fm);
  });
  afterAll(async () => {
    await fm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enrolls: keys made on the device and kept 0600, a certificate openssl verifies, the device listed', async () => {
    const stateDir = join(dir, 'tap-e1');
    const identity = await enrollDevice(
      { fleetUrl: fm.url, token: await newToken(fm), caFingerprint: pin, agentVersion: '0.1.0' },
      new IdentityStore(stateDir),
      newEnrollmentCandidate('tap-e1'),
    );
    expect(identity).toMatchObject({
      deviceId: 'tap-e1',
      brokerUrl: fm.broker.url,
      caFingerprint: pin,
    });
    expect(readdirSync(stateDir).sort()).toEqual([
      'ca.pem',
      'device-tls.key',
      'device-x25519.key',
      'device.pem',
      'identity.json',
    ]);
    expect(mode(join(stateDir, 'device-tls.key'))).toBe(0o600);
    expect(mode(join(stateDir, 'device-x25519.key'))).toBe(0o600);
    const verified = execFileSync(
      'openssl',
      ['verify', '-purpose', 'sslclient', '-CAfile', 'ca.pem', 'device.pem'],
      { cwd: stateDir, encoding: 'utf8' },
    );
    expect(verified).toMatch(/device\.pem: OK/);
    expect(JSON.parse(readFileSync(join(stateDir, 'identity.json'), 'utf8'))).toMatchObject({
      deviceId: 'tap-e1',
      brokerUrl: fm.broker.url,
      fleetUrl: fm.url,
      caFingerprint: pin,
    });

    const devices = await api(fm.url, 'GET', '/devices');
    const listed = (devices.items as Json[]).find((d) => d.id === 'tap-e1');
    expect(listed).toMatchObject({
      agentVersion: '0.1.0',
      certificatePem: readFileSync(join(stateDir, 'device.pem'), 'utf8'),
      publicKeys: devicePublicKeysPem(identity.keys),
    });
    // What POST /enroll answers besides the device: the broker and the CA to pin.
    const raw = await api(fm.url, 'POST', '/enroll', {
      token: await newToken(fm),
      deviceId: 'tap-raw',
      publicKeys: devicePublicKeysPem(newEnrollmentCandidate().keys),
    });
    expect(raw).toMatchObject({ id: 'tap-raw', brokerUrl: fm.broker.url });
    expect(raw.caPem).toBe(readFileSync(join(stateDir, 'ca.pem'), 'utf8'));

    // The next start reads back the same identity.
    const loaded = new IdentityStore(stateDir).load();
    expect(loaded?.deviceId).toBe('tap-e1');
    expect(devicePublicKeysPem(loaded!.keys)).toEqual(devicePublicKeysPem(identity.keys));
  });

  it('refuses a used token with its HTTP status and the server message, and leaves stateDir unchanged', async () => {
    const token = await newToken(fm);
    await enrollDevice(
      { fleetUrl: fm.url, token, agentVersion: '0.1.0' },
      new IdentityStore(join(dir, 'tap-e2')),
    );
    const stateDir = join(dir, 'tap-e3');
    mkdirSync(stateDir);
    writeFileSync(join(stateDir, 'applied.json'), '{}\n');
    const before = snapshot(stateDir);

    const err = await enrollDevice(
      { fleetUrl: fm.url, token, agentVersion: '0.1.0' },
      new IdentityStore(stateDir),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrollmentError);
    expect(err).toMatchObject({ retryable: false, status: 410 });
    expect((err as Error).message).toBe(
      `POST ${fm.url}/enroll: HTTP 410 Gone: enrollment token has already been used`,
    );
    expect(snapshot(stateDir)).toEqual(before);

    // The command: exit code 2, the same message, nothing written.
    const agent = startAgent(join(dir, 'tap-e3.json'), {
      stateDir,
      fleet: { url: fm.url, enrollmentToken: token },
      tap: { uri: `pcap:${input}?loop`, pps: 100 },
      httpPort: 0,
    });
    expect(await agent.exited()).toBe(2);
    expect(agent.stderr()).toMatch(
      /enrollment refused.*HTTP 410 Gone: enrollment token has already been used/,
    );
    expect(snapshot(stateDir)).toEqual(before);

    const unknown = await enrollDevice(
      { fleetUrl: fm.url, token: 'nmt_nope', agentVersion: '0.1.0' },
      new IdentityStore(stateDir),
    ).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(
      /HTTP 401 Unauthorized: enrollment token is not valid/,
    );
    expect(snapshot(stateDir)).toEqual(before);
  });

  it('refuses a CA other than the pinned one before the token is spent', async () => {
    const token = await newToken(fm, { deviceName: 'pinned' });
    const stateDir = join(dir, 'tap-e4');
    const wrongPin = pin.replace(/^../, pin.startsWith('00') ? '01' : '00');
    const err = await enrollDevice(
      { fleetUrl: fm.url, token, caFingerprint: wrongPin, agentVersion: '0.1.0' },
      new IdentityStore(stateDir),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrollmentError);
    expect((err as EnrollmentError).retryable).toBe(false);
    expect((err as Error).message).toBe(
      `CA fingerprint mismatch: fleet.caFingerprint is ${wrongPin}, but ${fm.url}/ca.pem serves ` +
        `a CA whose fingerprint is ${pin}; refusing to enroll with it`,
    );
    expect(existsSync(stateDir)).toBe(false);
    expect(await tokenState(fm, 'pinned')).toBe('unused');
    // With the right pin the same token still works.
    await enrollDevice(
      { fleetUrl: fm.url, token, caFingerprint: pin, agentVersion: '0.1.0' },
      new IdentityStore(stateDir),
    );
    expect(await tokenState(fm, 'pinned')).toBe('used');
  });

  it('the agent command enrolls on first start, comes online on the broker it was given, and keeps its identity', async () => {
    const stateDir = join(dir, 'tap-e5');
    const config = {
      deviceId: 'tap-e5',
      stateDir,
      fleet: { url: fm.url, enrollmentToken: await newToken(fm), caFingerprint: pin },
      tap: { uri: `pcap:${input}?loop`, pps: 100 },
      httpPort: 0,
    };
    const status = await watchStatus(fm.broker.url);
    try {
      const first = startAgent(join(dir, 'tap-e5.json'), config);
      try {
        await first.waitFor(/enrolled as tap-e5/);
        const [, port] = await first.waitFor(/health and metrics on http:\/\/127\.0\.0\.1:(\d+)/);
        await until('tap-e5 online', () => status.online('tap-e5'));
        await first.waitFor(/tap-e5 connected to mqtt:/);
        const health = await api(`http://127.0.0.1:${port}`, 'GET', '/health');
        expect(health).toMatchObject({
          deviceId: 'tap-e5',
          enrolled: true,
          controlConnected: true,
        });
      } finally {
        expect(await first.stop()).toBe(0);
      }
      await until('tap-e5 offline', () => !status.online('tap-e5'));
      const identity = snapshot(stateDir);
      // The token is spent: a second start must not need it.
      const second = startAgent(join(dir, 'tap-e5.json'), config);
      try {
        await second.waitFor(/tap-e5 connected to/);
        await until('tap-e5 online again', () => status.online('tap-e5'));
        expect(second.stderr()).not.toMatch(/agent: enrol/);
      } finally {
        expect(await second.stop()).toBe(0);
      }
      const after = snapshot(stateDir);
      for (const f of Object.keys(identity)) expect(after[f], f).toBe(identity[f]);
    } finally {
      await status.close();
    }
  });

  it('mirrors while the fleet manager is unreachable, retries, and enrolls once it is back', async () => {
    const port = await freePort();
    const db = `sqlite:${join(dir, 'late-fleet.db')}`;
    const options = {
      databaseUrl: db,
      embeddedBrokerPort: 0,
      httpPort: port,
      logger: false as const,
    };
    let late = await startFleetManager(options);
    const token = await newToken(late);
    await late.close(); // down when the appliance first starts

    const stateDir = join(dir, 'tap-e6');
    const agent = startAgent(join(dir, 'tap-e6.json'), {
      deviceId: 'tap-e6',
      stateDir,
      fleet: { url: `http://127.0.0.1:${port}`, enrollmentToken: token },
      tap: { uri: `pcap:${input}?loop`, pps: 100 },
      httpPort: 0,
    });
    try {
      const [, httpPort] = await agent.waitFor(/health and metrics on http:\/\/127\.0\.0\.1:(\d+)/);
      await agent.waitFor(/enrollment: GET .*\/ca\.pem: ECONNREFUSED; retrying in/);
      const health = await api(`http://127.0.0.1:${httpPort}`, 'GET', '/health');
      expect(health).toMatchObject({ ok: true, enrolled: false, controlConnected: false });
      expect(existsSync(join(stateDir, 'identity.json'))).toBe(false);

      late = await startFleetManager(options); // back, same database: same CA, same token
      const status = await watchStatus(late.broker.url);
      try {
        await agent.waitFor(/enrolled as tap-e6/, 30_000);
        await until('tap-e6 online', () => status.online('tap-e6'));
        await agent.waitFor(/tap-e6 connected to mqtt:/);
        expect(new IdentityStore(stateDir).load()?.brokerUrl).toBe(late.broker.url);
        const after = await api(`http://127.0.0.1:${httpPort}`, 'GET', '/health');
        expect(after).toMatchObject({ enrolled: true, deviceId: 'tap-e6', controlConnected: true });
        // Bounded log noise: one line per distinct failure, not one per attempt.
        expect(agent.stderr().match(/enrollment: .*ECONNREFUSED/g)?.length).toBe(1);
      } finally {
        await status.close();
      }
    } finally {
      expect(await agent.stop()).toBe(0);
      await late.close();
    }
  });
});
