// `netmirror fleet` end to end: a real fleet manager (SQLite file, embedded
// aedes broker) driven through the built CLI as a subprocess, exactly as an
// operator would. One appliance takes part over real MQTT with libs/protocol's
// ControlClient (the client the agent and the fleet manager use): it enrolls
// by POST /enroll, reports what it applies, rejects retention it cannot
// honour, and sends telemetry and an alert.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetClient } from '@netmirror/fleet-client';
import type {
  AlertList,
  DeviceList,
  KeySet,
  Rollout,
  TelemetryList,
} from '@netmirror/fleet-client';
import { startFleetManager, type FleetManagerHandle } from '@netmirror/fleet-manager';
import {
  ControlClient,
  statusMessage,
  type ProtocolMessage,
  type ReportedState,
} from '@netmirror/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NETMIRROR, ROOT, run, type RunResult } from './support/run.js';

const DEVICE = 'tap-e2e-01';

/** Newest mtime of the non-test TypeScript under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * bin/netmirror.js runs the rolldown bundle if there is one, else the tsc
 * output. `npm test` builds both first; a plain `npx vitest run` after editing
 * the CLI would run a stale one, so rebuild what the binary will load when
 * the agent's or a library's sources are newer.
 */
function ensureBuiltCli(): void {
  const bundle = join(ROOT, 'apps/agent/dist/netmirror.mjs');
  const artifact = existsSync(bundle) ? bundle : join(ROOT, 'apps/agent/dist/cli/main.js');
  const sources = Math.max(
    newestSource(join(ROOT, 'apps/agent/src')),
    ...readdirSync(join(ROOT, 'libs')).map((l) =>
      existsSync(join(ROOT, 'libs', l, 'src')) ? newestSource(join(ROOT, 'libs', l, 'src')) : 0,
    ),
  );
  if (existsSync(artifact) && statSync(artifact).mtimeMs >= sources) return;
  const build = (args: string[], cwd: string): void => {
    try {
      execFileSync('npx', ['--no-install', ...args], { cwd, stdio: 'pipe', timeout: 280_000 });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`npx ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, {
        cause: err,
      });
    }
  };
  build(['tsc', '-b', 'apps/agent'], ROOT);
  if (existsSync(bundle))
    build(['rolldown', '-c', 'rolldown.config.mjs'], join(ROOT, 'apps/agent'));
}

function deviceKeys(): { tls: string; x25519: string } {
  const pem = (k: { export(o: { type: 'spki'; format: 'pem' }): string | Buffer }): string =>
    k.export({ type: 'spki', format: 'pem' }).toString();
  return {
    tls: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey),
    x25519: pem(generateKeyPairSync('x25519').publicKey),
  };
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The appliance's side of the control protocol: applies what it is sent and
 * reports it, except retention, which it rejects (its disk is read-only).
 */
class Appliance {
  readonly applied = new Map<string, { version: number; hash: string | null }>();
  /** Ignore policy updates (as a device that is busy or unreachable would). */
  holdPolicy = false;
  private constructor(readonly client: ControlClient) {}

  static async connect(url: string): Promise<Appliance> {
    const client = await ControlClient.connect({
      url,
      clientId: DEVICE,
      presence: { deviceId: DEVICE, agentVersion: '0.1.0' },
    });
    const a = new Appliance(client);
    client.onMessage((m) => void a.receive(m.message));
    await client.subscribeDevice(DEVICE);
    await client.publishStatus(DEVICE, statusMessage('online', '0.1.0'));
    return a;
  }

  private async receive(msg: ProtocolMessage): Promise<void> {
    if (msg.type !== 'keys' && msg.type !== 'desired') return;
    const domain = msg.type === 'keys' ? 'keys' : msg.domain;
    if (domain === 'policy' && this.holdPolicy) return;
    const now = this.applied.get(domain) ?? { version: 0, hash: null };
    let report: ReportedState;
    if (domain === 'retention') {
      report = {
        v: 1,
        type: 'reported',
        domain: 'retention',
        version: now.version,
        hash: now.hash,
        status: 'error',
        error: 'cannot write /var/lib/netmirror/rec: read-only file system',
        rejectedVersion: msg.version,
        appliedAt: Date.now(),
      };
    } else {
      this.applied.set(domain, { version: msg.version, hash: msg.hash });
      report = {
        v: 1,
        type: 'reported',
        domain: domain as 'policy' | 'keys',
        version: msg.version,
        hash: msg.hash,
        status: 'applied',
        appliedAt: Date.now(),
      };
    }
    await this.client.publishReported(DEVICE, report);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

describe('netmirror fleet against a real fleet manager', () => {
  let dir: string;
  let fm: FleetManagerHandle;
  let appliance: Appliance | undefined;

  /** `netmirror fleet --url FM --actor alice ARGS`. */
  const fleet = (args: string[], actor = 'alice'): Promise<RunResult> =>
    run('node', [NETMIRROR, 'fleet', '--url', fm.url, '--actor', actor, ...args]);
  /** The same with --json, exit 0 expected, stdout parsed. */
  const fleetJson = async <T>(args: string[]): Promise<T> => {
    const r = await fleet([...args, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const ok = async (args: string[]): Promise<string> => {
    const r = await fleet(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };
  const spec = (name: string, content: unknown): string => {
    const p = join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return p;
  };

  beforeAll(async () => {
    ensureBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'nm-fleet-cli-'));
    fm = await startFleetManager({
      databaseUrl: `sqlite:${join(dir, 'fleet.db')}`,
      embeddedBrokerPort: 0,
      httpPort: 0,
      logger: false,
    });
  }, 300_000);

  afterAll(async () => {
    await appliance?.close();
    await fm?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('health', async () => {
    const out = await ok(['health']);
    expect(out).toMatch(/^status: +ok$/m);
    expect(out).toMatch(/^database: +ok, better-sqlite3$/m);
    expect(out).toMatch(/^broker: +ok, embedded mqtt:\/\/127\.0\.0\.1:\d+$/m);
  });

  let token = '';

  it('tokens create prints the token once, clearly; tokens list shows it unused, by the actor', async () => {
    const out = await ok([
      'tokens',
      'create',
      '--name',
      'Edge tap 1',
      '--label',
      'role=core',
      '--label',
      'rack=r12',
      '--ttl',
      '600',
    ]);
    const m = /shown only this once.*\n\n {4}(\S+)\n\n/.exec(out);
    expect(m, out).not.toBeNull();
    token = m![1];
    expect(out).toMatch(/^device name: +Edge tap 1$/m);
    expect(out).toMatch(/^labels: +role=core,rack=r12$/m);

    const list = await ok(['tokens', 'list']);
    expect(list.split('\n')[0]).toMatch(
      /^ID +STATE +DEVICE NAME +LABELS +CREATED BY +EXPIRES +USED BY$/,
    );
    expect(list).toMatch(/ unused +Edge tap 1 +role=core,rack=r12 +operator:alice /);
    expect(list).not.toContain(token); // the secret is never listed
  });

  it('devices list/set/show, after a device enrolls with the token', async () => {
    expect(await ok(['devices', 'list'])).toBe('no devices\n');
    const enrolled = await new FleetClient({ url: fm.url }).enroll({
      token,
      deviceId: DEVICE,
      publicKeys: deviceKeys(),
      model: 'NM-1000',
      agentVersion: '0.1.0',
    });
    expect(enrolled.labels).toEqual({ role: 'core', rack: 'r12' });

    const list = await ok(['devices', 'list']);
    expect(list.split('\n')[0]).toMatch(/^ID +NAME +SITE +ONLINE +LAST SEEN +LABELS$/);
    expect(list).toMatch(new RegExp(`^${DEVICE} +Edge tap 1 +- +no +- +role=core,rack=r12$`, 'm'));
    expect(list).toMatch(/^1 device$/m);
    expect((await fleetJson<DeviceList>(['devices', 'list', '--label', 'role=core'])).total).toBe(
      1,
    );
    expect(await ok(['devices', 'list', '--label', 'role=edge'])).toBe('no devices\n');
    expect((await fleetJson<DeviceList>(['devices', 'list', '--online', 'true'])).total).toBe(0);

    const set = await ok([
      'devices',
      'set',
      DEVICE,
      '--name',
      'Core tap',
      '--site',
      'lon-1',
      '--label',
      'zone=a',
      '--unlabel',
      'rack',
    ]);
    expect(set).toMatch(/^name: +Core tap$/m);
    const show = await ok(['devices', 'show', DEVICE]);
    expect(show).toMatch(/^site: +lon-1$/m);
    expect(show).toMatch(/^labels: +role=core,zone=a$/m);
    expect(show).toMatch(/^model: +NM-1000$/m);
    const json = await fleetJson<{ labels: Record<string, string>; site: string | null }>([
      'devices',
      'show',
      DEVICE,
    ]);
    expect(json.labels).toEqual({ role: 'core', zone: 'a' });
    expect(json.site).toBe('lon-1');
    await ok(['devices', 'set', DEVICE, '--site', '']);
    expect((await fleetJson<{ site: string | null }>(['devices', 'show', DEVICE])).site).toBeNull();
  });

  it("audit shows the CLI's changes under --actor", async () => {
    await ok(['devices', 'set', DEVICE, '--label', 'owner=netops']);
    const r = await fleet(['devices', 'set', DEVICE, '--label', 'shift=night'], 'bob');
    expect(r.code, r.stderr).toBe(0);
    const out = await ok(['audit', '--limit', '20']);
    expect(out.split('\n')[0]).toMatch(/^ID +AT +ACTOR +ACTION +TARGET +DETAILS$/);
    expect(out).toMatch(new RegExp(`operator:bob +device\\.update +device:${DEVICE} `));
    expect(out).toMatch(new RegExp(`operator:alice +device\\.update +device:${DEVICE} `));
    expect(out).toMatch(/operator:alice +enrollment\.token\.create /);
    expect(out).toMatch(new RegExp(`device\\.enroll +device:${DEVICE}`));
    const page = await fleetJson<{ items: Array<{ actor: string; action: string }> }>([
      'audit',
      '--limit',
      '1',
    ]);
    expect(page.items).toEqual([
      expect.objectContaining({ actor: 'operator:bob', action: 'device.update' }),
    ]);
  });

  it('error paths: 404 and a refused field exit 1 naming the status; bad flags exit 2; no server exits 1', async () => {
    const missing = await fleet(['devices', 'show', 'no-such-tap']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'netmirror fleet: devices show: HTTP 404 Not Found: device "no-such-tap" not found\n',
    );
    expect(missing.stdout).toBe('');

    const refused = await fleet(['devices', 'set', DEVICE, '--label', 'bad!=x']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^netmirror fleet: devices set: HTTP 400 Bad Request: labels\.bad!: label key must be/,
    );

    const flag = await fleet(['devices', 'list', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^netmirror fleet: devices list: Unknown option '--bogus'/);

    const unknown = await fleet(['devices', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "devices frobnicate"');

    const closed = await startFleetManager({
      databaseUrl: `sqlite:${join(dir, 'other.db')}`,
      embeddedBrokerPort: 0,
      httpPort: 0,
      logger: false,
    });
    const gone = closed.url;
    await closed.close();
    const unreachable = await run('node', [NETMIRROR, 'fleet', '--url', gone, 'devices', 'list']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`netmirror fleet: cannot reach ${gone} (ECONNREFUSED)\n`);
  });

  describe('policies, rollouts, state and drift', () => {
    const rulesV1 = `# mirror DNS to the IDS
destinations:
  ids: vxlan://127.0.0.1:4789?vni=100
rules:
  - name: dns
    priority: 20
    match: { protocol: udp, port: 53 }
    destinations: [ids]
`;
    const rulesV2 = {
      destinations: { ids: 'vxlan://127.0.0.1:4789?vni=100' },
      rules: [
        { name: 'dns', priority: 20, match: { protocol: 'udp', port: 53 }, destinations: ['ids'] },
        { name: 'web', priority: 30, match: { protocol: 'tcp', port: 443 }, destinations: ['ids'] },
      ],
    };
    const rolloutId = (out: string): string => /^rollout: +(\S+)$/m.exec(out)![1];

    beforeAll(async () => {
      appliance = await Appliance.connect(fm.broker.url);
      await eventually('the appliance online', async () =>
        (await fleetJson<{ online: boolean }>(['devices', 'show', DEVICE])).online
          ? true
          : undefined,
      );
    });

    it('policies create/list/show/update/push/versions', async () => {
      const created = await ok([
        'policies',
        'create',
        'core-dns',
        '--domain',
        'policy',
        '--file',
        spec('rules-v1.yaml', rulesV1),
        '--target',
        'role=core',
        '--priority',
        '10',
        '--comment',
        'first cut',
      ]);
      expect(created).toBe(
        'created policy core-dns (policy) version 1, not deployed\n' +
          'deploy it with: netmirror fleet deploy core-dns 1\n',
      );
      const list = await ok(['policies', 'list']);
      expect(list).toMatch(/^core-dns +policy +10 +role=core +1 +- +\S+ \S+$/m);

      const show = await ok(['policies', 'show', 'core-dns']);
      expect(show).toMatch(/^latest: +v1 sha256:[0-9a-f]{12} by operator:alice at /m);
      expect(show).toMatch(/^comment: +first cut$/m);
      expect(show).toContain(
        'spec (v1):\n  destinations:\n    ids: vxlan://127.0.0.1:4789?vni=100\n',
      );

      expect(await ok(['policies', 'update', 'core-dns', '--priority', '5'])).toMatch(
        /^priority: +5$/m,
      );

      const pushed = await ok([
        'policies',
        'push',
        'core-dns',
        '--file',
        spec('rules-v2.json', rulesV2),
        '--comment',
        'add web',
      ]);
      expect(pushed).toMatch(/^pushed core-dns version 2 \(sha256:[0-9a-f]{12}\), not deployed$/m);
      const versions = await ok(['policies', 'versions', 'core-dns']);
      expect(versions).toMatch(/^1 +sha256:[0-9a-f]{12} +operator:alice +.* first cut$/m);
      expect(versions).toMatch(/^2 +sha256:[0-9a-f]{12} +operator:alice +.* add web$/m);

      // The server checks the spec with the agent's own rules code.
      const bad = await fleet([
        'policies',
        'push',
        'core-dns',
        '--file',
        spec('bad.yaml', 'rules:\n  - name: x\n    match: { port: 99999 }\n'),
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/HTTP 400 Bad Request: spec: /);
    });

    it('deploy, then watch until completed; the device is IN SYNC', async () => {
      const out = await ok(['deploy', 'core-dns', '1']);
      const id = rolloutId(out);
      expect(out).toMatch(/^policy: +core-dns v1, policy domain$/m);
      const watch = await fleet(['rollouts', 'watch', id, '--timeout', '30']);
      expect(watch.code, watch.stderr).toBe(0);
      expect(watch.stdout).toMatch(/completed +stage 1\/1 +applied 1\/1 +errors 0/);

      const state = await ok(['devices', 'state', DEVICE]);
      expect(state).toMatch(new RegExp(`^${DEVICE}  online  last seen `));
      expect(state).toMatch(
        /^policy +v\d+ core-dns@1 sha256:[0-9a-f]{12} +v\d+ applied sha256:[0-9a-f]{12} +IN SYNC$/m,
      );
      expect(await ok(['policies', 'list'])).toMatch(/^core-dns +policy +5 +role=core +2 +1 /m);
    });

    it('rollouts start with a strategy, list, show, rollback', async () => {
      const out = await ok([
        'rollouts',
        'start',
        'core-dns',
        '2',
        '--canary',
        '1',
        '--waves',
        '100',
      ]);
      const id = rolloutId(out);
      expect(out).toMatch(
        /^strategy: +canary 1, waves 100 %, at most 0 failures per stage, success ratio 1$/m,
      );
      expect(out).toMatch(/^policy: +core-dns v2 \(was v1\), policy domain$/m);
      const watch = await fleet(['rollouts', 'watch', id, '--timeout', '30']);
      expect(watch.code, watch.stderr).toBe(0);

      const list = await ok(['rollouts', 'list', '--policy', 'core-dns']);
      expect(list.trim().split('\n')).toHaveLength(3); // header + two rollouts
      expect(list).toMatch(
        new RegExp(`^${id} +core-dns +2 +completed +1/1 +0 +operator:alice `, 'm'),
      );
      const show = await fleetJson<Rollout>(['rollouts', 'show', id]);
      expect(show.stages).toEqual([
        { index: 0, devices: [{ deviceId: DEVICE, outcome: 'applied', error: null }] },
      ]);

      const back = await fleetJson<Rollout>(['rollouts', 'rollback', id]);
      expect(back.status).toBe('rolled-back');
      expect(back.reason).toBe('rolled back to version 1 by operator:alice');
      await eventually('the device back on v1 and in sync', async () => {
        const s = await ok(['devices', 'state', DEVICE]);
        return /^policy +v\d+ core-dns@1 .* IN SYNC$/m.test(s) ? true : undefined;
      });
      const again = await fleet(['rollouts', 'rollback', id]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('HTTP 409 Conflict: already rolled back');
    });

    it('pause, resume, abort; watch gives up on a paused rollout and reports an aborted one', async () => {
      appliance!.holdPolicy = true; // the canary never reports: the rollout waits on it
      const id = rolloutId(await ok(['rollouts', 'start', 'core-dns', '2']));
      expect(await ok(['rollouts', 'pause', id])).toMatch(/^status: +paused$/m);
      const w = await fleet(['rollouts', 'watch', id, '--timeout', '2']);
      expect(w.code).toBe(1);
      expect(w.stdout).toMatch(/paused +stage 1\/1 +applied 0\/1 +errors 0/);
      expect(w.stderr).toBe(
        `netmirror fleet: rollout ${id} is still paused after 2 s (--timeout)\n`,
      );
      expect(await ok(['rollouts', 'resume', id])).toMatch(/^status: +running$/m);
      const twice = await fleet(['rollouts', 'resume', id]);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain('HTTP 409 Conflict: cannot resume a rollout that is running');
      expect(await ok(['rollouts', 'abort', id])).toMatch(
        /^status: +aborted: aborted by operator:alice$/m,
      );
      const done = await fleet(['rollouts', 'watch', id]);
      expect(done.code).toBe(1);
      expect(done.stderr).toBe(
        `netmirror fleet: rollout ${id} aborted: aborted by operator:alice\n`,
      );
      // What the aborted canary was sent and never applied is drift.
      expect(await ok(['devices', 'state', DEVICE])).toMatch(/^policy +v\d+ core-dns@2 .* DRIFT$/m);
    });

    it('a rollout the device rejects fails; drift shows the domain and the error', async () => {
      await ok([
        'policies',
        'create',
        'keep-week',
        '--domain',
        'retention',
        '--file',
        spec('retention.yaml', 'maxAgeSeconds: 604800\nfileBytes: 67108864\n'),
        '--target',
        'role=core',
      ]);
      const id = rolloutId(await ok(['rollouts', 'start', 'keep-week', '1']));
      const watch = await fleet(['rollouts', 'watch', id, '--timeout', '30']);
      expect(watch.code).toBe(1);
      expect(watch.stderr).toMatch(new RegExp(`^netmirror fleet: rollout ${id} failed`));
      const show = await ok(['rollouts', 'show', id]);
      expect(show).toMatch(
        new RegExp(
          `^0 +${DEVICE} +error +cannot write /var/lib/netmirror/rec: read-only file system$`,
          'm',
        ),
      );

      const drift = await ok(['drift']);
      expect(drift).toMatch(
        new RegExp(
          `^${DEVICE} +retention +v\\d+ keep-week@1 sha256:[0-9a-f]{12} +v0 error \\(rejected v\\d+\\) +DRIFT$`,
          'm',
        ),
      );
      expect(drift).toContain(
        `${DEVICE} retention: cannot write /var/lib/netmirror/rec: read-only file system\n`,
      );
      expect(await ok(['devices', 'state', DEVICE])).toMatch(/^retention +.* +DRIFT$/m);

      await ok(['policies', 'remove', 'keep-week']);
      const gone = await fleet(['policies', 'show', 'keep-week']);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toContain('HTTP 404 Not Found');
    });

    it('telemetry and alerts from the device; alerts ack', async () => {
      await appliance!.client.publishTelemetry(DEVICE, {
        v: 1,
        type: 'telemetry',
        at: Date.now(),
        taps: [{ name: 'pcap:in.pcap', packetsSeen: 1500, bytesSeen: 960_000, packetsDropped: 2 }],
        destinations: [
          { name: 'ids', packetsSent: 1400, bytesSent: 900_000, packetsDropped: 3, queueDepth: 7 },
        ],
        cpuPercent: 12.5,
        memoryBytes: 64 * 1024 * 1024,
      });
      const t = await eventually('telemetry stored', async () => {
        const l = await fleetJson<TelemetryList>(['telemetry', DEVICE, '--since', '10m']);
        return l.items.length > 0 ? l : undefined;
      });
      expect(t.items[0].taps[0].packetsSeen).toBe(1500);
      const table = await ok(['telemetry', DEVICE, '--since', '1h', '--limit', '10']);
      expect(table).toMatch(/^\S+ \S+ +12\.5% +64\.0 MiB +1500 +2 +1400 +878\.9 KiB +3 +7$/m);
      expect(
        await ok(['telemetry', DEVICE, '--since', '2000-01-01', '--until', '2000-01-02']),
      ).toBe('no telemetry in that window\n');

      await appliance!.client.publishAlert(DEVICE, {
        v: 1,
        type: 'alert',
        at: Date.now(),
        severity: 'warning',
        code: 'destination.drops',
        message: 'ids dropped 3 copies: queue full',
      });
      const alerts = await eventually('the alert stored', async () => {
        const l = await fleetJson<AlertList>(['alerts', 'list', '--device', DEVICE]);
        return l.items.length > 0 ? l : undefined;
      });
      const alertId = alerts.items[0].id;
      const list = await ok(['alerts', 'list', '--severity', 'warning']);
      expect(list).toMatch(
        new RegExp(
          `^${alertId} +\\S+ \\S+ +${DEVICE} +warning +destination\\.drops +- +ids dropped 3 copies: queue full$`,
          'm',
        ),
      );
      expect(await ok(['alerts', 'list', '--severity', 'critical'])).toBe('no alerts\n');
      expect(await ok(['alerts', 'ack', String(alertId)])).toMatch(
        new RegExp(
          `^acknowledged alert ${alertId} \\(warning destination\\.drops on ${DEVICE}\\) by operator:alice at `,
        ),
      );
      const twice = await fleet(['alerts', 'ack', String(alertId)]);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain('HTTP 409 Conflict');
    });

    it('keys list and rotate (metadata only)', async () => {
      const before = await fleetJson<KeySet>(['keys', 'list']);
      const out = await ok(['keys', 'rotate']);
      expect(out).toMatch(new RegExp(`^key set version ${before.version + 1}$`, 'm'));
      expect(out).toMatch(/^KEY ID +ACTIVE +CREATED +RETIRED$/m);
      const after = await fleetJson<KeySet>(['keys', 'list']);
      expect(after.version).toBe(before.version + 1);
      expect(after.keys.filter((k) => k.active).length).toBeGreaterThan(0);
      expect(JSON.stringify(after)).not.toMatch(/material|wrapped|BEGIN/);
      expect(await ok(['audit', '--limit', '5'])).toMatch(/operator:alice +keys\.(rotate|create) /);
    });
  });

  it('devices remove decommissions; the device is gone', async () => {
    expect(await ok(['devices', 'remove', DEVICE])).toBe(`decommissioned device ${DEVICE}\n`);
    const r = await fleet(['devices', 'show', DEVICE]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HTTP 404 Not Found');
  });
});
