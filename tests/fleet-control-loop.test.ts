// The control loop with real agents: the fleet manager and two `netmirror
// agent` processes that enroll with tokens and replay a capture in a loop,
// on SQLite + the embedded aedes and on PostgreSQL + Mosquitto. What the
// agents mirror is checked on the recorded frames with tshark, not only on
// their reports.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import {
  startFleetManager,
  type FleetManagerHandle,
  type FleetManagerOptions,
} from '@netmirror/fleet-manager';
import { ControlClient, TopicTree, buildDesired } from '@netmirror/protocol';
import { startAgent, type AgentProcess } from './support/agent-process.js';
import { until } from './support/until.js';
import { fleetApi, type Json } from './support/fleet-api.js';

const setups: Array<{
  name: string;
  db: () => Promise<{ url: string; drop(): Promise<void> }>;
  broker: Partial<FleetManagerOptions>;
}> = [
  {
    name: 'SQLite + embedded aedes',
    db: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nm-cl-db-'));
      return {
        url: `sqlite:${join(dir, 'fleet.db')}`,
        drop: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
    broker: { embeddedBrokerPort: 0 },
  },
  {
    name: 'PostgreSQL + Mosquitto',
    db: postgresDatabase,
    broker: { brokerUrl: 'mqtt://127.0.0.1:1883' },
  },
];

async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `nm_e2e_${randomBytes(5).toString('hex')}`;
  const psql = (sql: string) =>
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-qc', sql], {
      stdio: 'pipe',
    });
  psql(`CREATE DATABASE ${name}`);
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: async () => void psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

const rule = (name: string, match: Json) => ({ name, priority: 10, match, destinations: ['lake'] });
const WEB = {
  destinations: { lake: 'record:recordings' },
  rules: [rule('web', { protocol: 'tcp', port: 443 })],
};
const DNS = {
  destinations: { lake: 'record:recordings' },
  rules: [rule('dns', { protocol: 'udp', port: 53 })],
};

/** Each recorded frame's class, in order, by tshark. */
function recordedClasses(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith('.pcapng'))
    .sort()) {
    const text = execFileSync(
      'tshark',
      ['-r', join(dir, f), '-T', 'fields', '-e', 'tcp.port', '-e', 'udp.port'],
      { encoding: 'utf8' },
    );
    for (const line of text.split('\n').filter(Boolean)) {
      const [tcp, udp] = line.split('\t');
      out.push(
        tcp.split(',').includes('443')
          ? 'web'
          : udp.split(',').includes('53')
            ? 'dns'
            : `other(${line})`,
      );
    }
  }
  return out;
}

describe.each(setups)(
  'fleet and real agents on $name',
  { timeout: 90_000 },
  ({ db: makeDb, broker }) => {
    let db: { url: string; drop(): Promise<void> };
    let fm: FleetManagerHandle;
    const work = mkdtempSync(join(tmpdir(), 'nm-cl-'));
    const topics = new TopicTree(`nmtest/e2e-${randomBytes(5).toString('hex')}/v1`);
    const suffix = randomBytes(3).toString('hex');
    const ids = [`e2e-a-${suffix}`, `e2e-b-${suffix}`];
    const agents = new Map<string, AgentProcess>();
    const configs = new Map<string, Json>();
    const capture = join(work, 'replay.pcap');

    const api = fleetApi(() => fm.url);
    const policyState = async (id: string): Promise<Json> =>
      (await api('GET', `/devices/${id}/state`)).domains.find((d: Json) => d.domain === 'policy');
    /** False until the device has enrolled (404) and while it is offline. */
    const online = async (id: string): Promise<boolean> =>
      (await api('GET', `/devices/${id}`).catch(() => ({ online: false }))).online;
    const onVersion = (id: string, v: number) => async () => {
      const s = await policyState(id);
      return s.inSync && s.desired?.policyVersion === v ? s : null;
    };
    const launch = (id: string) => {
      const dir = join(work, id);
      agents.set(id, startAgent(join(dir, 'agent.json'), configs.get(id)!, { cwd: dir }));
    };

    beforeAll(async () => {
      writeCaptureFile({ path: capture, frames: 20_000, seed: 2027 });
      db = await makeDb();
      fm = await startFleetManager({
        databaseUrl: db.url,
        httpPort: 0,
        logger: ['error'],
        topicRoot: topics.root,
        ...broker,
      });
      for (const id of ids) {
        const { token } = await api('POST', '/enrollment-tokens', {
          ttlSeconds: 600,
          labels: { tier: 'e2e' },
        });
        const dir = join(work, id);
        mkdirSync(dir, { recursive: true });
        configs.set(id, {
          deviceId: id,
          stateDir: join(dir, 'state'),
          fleet: { url: fm.url, enrollmentToken: token },
          topicRoot: topics.root,
          tap: { uri: `pcap:${capture}?loop`, pps: 3000 },
          httpPort: 0,
          telemetrySeconds: 1,
        });
        launch(id);
      }
      for (const id of ids) await until(`${id} online`, () => online(id));
    });
    afterEach(async (ctx) => {
      if (ctx.task.result?.state !== 'fail') return;
      for (const [id, a] of agents)
        process.stderr.write(`--- ${id} stderr (tail) ---\n${a.stderr().slice(-3000)}\n`);
      for (const id of ids) {
        const health = agents
          .get(id)!
          .stderr()
          .match(/metrics on (http:\S+)/g)
          ?.at(-1)
          ?.split(' ')[2];
        await fetch(`${fm.url}/devices/${id}/state`)
          .then((r) => r.text())
          .then((t) => process.stderr.write(`--- ${id} state ${t}\n`))
          .catch(() => undefined);
        if (health)
          await fetch(`${health}/health`)
            .then((r) => r.text())
            .then((t) => process.stderr.write(`--- ${id} health ${t}\n`))
            .catch(() => undefined);
      }
    });
    afterAll(async () => {
      for (const a of agents.values()) await a.stop().catch(() => undefined);
      await fm?.close();
      await db?.drop();
      rmSync(work, { recursive: true, force: true });
    });

    it('v1 then v2: both agents report each applied with the policy hash, and what they record follows', async () => {
      await api('POST', '/policies', {
        name: 'e2e',
        domain: 'policy',
        targetLabels: { tier: 'e2e' },
        spec: WEB,
      });
      const v1 = await api('GET', '/policies/e2e/versions/1');
      await api('POST', '/policies/e2e/deploy', { version: 1 });
      for (const id of ids)
        expect((await until(`${id} on v1`, onVersion(id, 1))).reported.hash).toBe(v1.hash);
      await new Promise((r) => setTimeout(r, 1500)); // let some HTTPS be recorded
      const v2 = await api('POST', '/policies/e2e/versions', { spec: DNS });
      await api('POST', '/policies/e2e/deploy', { version: v2.version });
      for (const id of ids)
        expect((await until(`${id} on v2`, onVersion(id, v2.version))).reported.hash).toBe(v2.hash);
      await new Promise((r) => setTimeout(r, 1500));
      // A clean stop closes the recording; the restart below resumes from the state on disk.
      for (const id of ids) expect(await agents.get(id)!.stop()).toBe(0);
      for (const id of ids) {
        const classes = recordedClasses(join(work, id, 'recordings'));
        const firstDns = classes.indexOf('dns');
        expect(classes.filter((c) => c.startsWith('other'))).toEqual([]);
        expect(firstDns).toBeGreaterThan(0); // web first …
        expect(classes.slice(firstDns).every((c) => c === 'dns')).toBe(true); // … then only DNS
        expect(classes.length - firstDns).toBeGreaterThan(0);
      }
      for (const id of ids) launch(id);
      for (const id of ids) await until(`${id} back online`, () => online(id));
      for (const id of ids) expect((await policyState(id)).inSync).toBe(true);
    });

    it('rejects malformed, oversized and stale desired messages with a report; the running state goes on', async () => {
      const id = ids[0];
      const before = await policyState(id);
      const spy = await ControlClient.connect({
        url: fm.broker.url,
        clientId: `e2e-spy-${suffix}`,
        topics,
        logger: { info: () => undefined, warn: () => undefined },
      });
      const topic = topics.desired(id, 'policy');
      const errorAfter = async (send: () => Promise<void>, pattern: RegExp): Promise<void> => {
        const t0 = Date.now();
        await send();
        await until(`error report matching ${pattern}`, async () => {
          const s = await policyState(id);
          return s.reported.status === 'error' &&
            new Date(s.reported.at).getTime() >= t0 - 1000 &&
            pattern.test(s.reported.error)
            ? s
            : null;
        });
      };
      try {
        await errorAfter(
          () =>
            spy.transport.publishAsync(topic, Buffer.from('{"v":1,"type":"desired",'), { qos: 1 }),
          /JSON|malformed|parse/i,
        );
        await errorAfter(
          () => spy.transport.publishAsync(topic, Buffer.alloc(300 * 1024, 0x20), { qos: 1 }),
          /large|bytes|size/i,
        );
        const stale = buildDesired('policy', 1, WEB as never);
        await errorAfter(
          () => spy.transport.publishAsync(topic, Buffer.from(JSON.stringify(stale)), { qos: 1 }),
          /not newer|stale|older/i,
        );
      } finally {
        await spy.close();
      }
      const after = await policyState(id);
      expect(after.reported.version).toBe(before.reported.version);
      expect(after.reported.hash).toBe(before.reported.hash);
      // Still mirroring DNS by the running version: the agent's own counter for the recorder keeps growing.
      const metricsUrl = agents
        .get(id)!
        .stderr()
        .match(/metrics on (http:\S+)/g)!
        .at(-1)!
        .split(' ')[2];
      const sent = async (): Promise<number> => {
        const text = await (await fetch(`${metricsUrl}/metrics`)).text();
        return Number(
          text.match(/^netmirror_destination_sent_total\{destination="lake"\} (\d+)/m)?.[1] ?? 0,
        );
      };
      const n0 = await sent();
      await until('more frames recorded after the bad messages', async () => (await sent()) > n0);
    });

    it('an agent killed during a change shows offline in seconds and catches up on restart', async () => {
      const id = ids[1];
      agents.get(id)!.child.kill('SIGKILL');
      const t0 = Date.now();
      await until(`${id} offline`, async () => !(await online(id)));
      expect(Date.now() - t0).toBeLessThan(5000);
      const v3 = await api('POST', '/policies/e2e/versions', {
        spec: WEB,
        comment: 'back to HTTPS',
      });
      await api('POST', '/policies/e2e/deploy', { version: v3.version });
      await until(`${ids[0]} on v3`, onVersion(ids[0], v3.version));
      expect((await policyState(id)).inSync).toBe(false); // it was away
      launch(id);
      await until(`${id} online again`, () => online(id));
      await until(`${id} caught up on v3`, onVersion(id, v3.version));
    });

    it('a staged rollout stops when the canary cannot apply the rule; the other agent keeps its version', async () => {
      const bad = await api('POST', '/policies/e2e/versions', {
        spec: {
          destinations: { lake: 'record:/proc/netmirror-cannot-write-here' },
          rules: [rule('web', { protocol: 'tcp', port: 443 })],
        },
      });
      const r = await api('POST', '/rollouts', {
        policy: 'e2e',
        version: bad.version,
        strategy: { canary: 1, waves: [100], maxFailuresPerStage: 0, successRatio: 1 },
      });
      const done = await until('rollout failed', async () => {
        const x = await api('GET', `/rollouts/${r.id}`);
        return x.status === 'failed' ? x : null;
      });
      const canary = done.stages[0].devices[0];
      expect(canary).toMatchObject({ deviceId: ids[0], outcome: 'error' });
      expect(canary.error).toMatch(/netmirror-cannot-write-here/);
      expect(done.stages[1].devices[0]).toMatchObject({ deviceId: ids[1], outcome: 'waiting' });
      const other = await policyState(ids[1]);
      expect(other.desired.policyVersion).toBe(bad.version - 1);
      expect(other.inSync).toBe(true);
      const c = await policyState(ids[0]);
      expect(c.reported).toMatchObject({ status: 'error', rejectedVersion: c.desired.version });
    });

    it('retention from the fleet manager drives the recorder: files rotate by size, the oldest go past the total', async () => {
      const id = ids[1];
      const dir = join(work, id, 'recordings');
      const maxTotalBytes = 400_000;
      await api('POST', '/policies', {
        name: 'e2e-keep',
        domain: 'retention',
        targetLabels: { tier: 'e2e' },
        spec: { fileBytes: 65_536, maxTotalBytes },
      });
      await api('POST', '/policies/e2e-keep/deploy', { version: 1 });
      await until(`${id} applies the retention`, async () => {
        const s = (await api('GET', `/devices/${id}/state`)).domains.find(
          (d: Json) => d.domain === 'retention',
        );
        return s.inSync && s.reported?.status === 'applied';
      });
      const before = readdirSync(dir)
        .filter((f) => f.endsWith('.pcapng'))
        .sort();
      const [first, current] = [before[0], before.at(-1)];
      await until(
        'old files deleted and the total bounded',
        async () => {
          const names = readdirSync(dir)
            .filter((f) => f.endsWith('.pcapng'))
            .sort();
          return names.length >= 3 && names[0] !== first;
        },
        40_000,
      );
      const names = readdirSync(dir)
        .filter((f) => f.endsWith('.pcapng'))
        .sort();
      const sizes = names.map((f) => statSync(join(dir, f)).size);
      // Files begun after the change rotate at 64 KiB (one frame may overshoot); the one open when it came may be
      // larger. All together stay within the limit.
      const since = names.findIndex((f) => f > current!);
      for (const size of sizes.slice(since, -1)) expect(size).toBeLessThanOrEqual(65_536 + 2048);
      expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(maxTotalBytes + 65_536 + 2048);
    });
  },
);
