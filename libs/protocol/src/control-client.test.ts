// ControlClient against real brokers: the in-process aedes (MQTT 3.1.1 only)
// and the Mosquitto running on 127.0.0.1:1883 (MQTT 5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDesired } from './build.js';
import { ControlClient, type ControlClientOptions, type Inbound } from './control-client.js';
import type { CommandRequest } from './messages.js';
import { encodeMessage } from './schemas.js';
import {
  captureLogger,
  MOSQUITTO_URL,
  startAedes,
  uniqueId,
  uniqueTree,
  waitFor,
  type EmbeddedBroker,
} from './test-support/brokers.js';
import type { TopicTree } from './topics.js';

interface Target {
  name: string;
  url: () => string;
  v5: boolean;
}

let aedes: EmbeddedBroker;
beforeAll(async () => {
  aedes = await startAedes();
});
afterAll(async () => {
  await aedes.close();
});

const targets: Target[] = [
  { name: 'aedes (MQTT 3.1.1)', url: () => aedes.url, v5: false },
  { name: 'Mosquitto (MQTT 5)', url: () => MOSQUITTO_URL, v5: true },
];

describe.each(targets)('ControlClient on $name', (target) => {
  let tree: TopicTree;
  const clients: ControlClient[] = [];
  const logger = captureLogger();

  async function client(
    label: string,
    extra: Partial<ControlClientOptions> = {},
  ): Promise<ControlClient> {
    const c = await ControlClient.connect({
      url: target.url(),
      clientId: uniqueId(label),
      topics: tree,
      logger,
      reconnect: { minMs: 200, maxMs: 2000 },
      ...extra,
    });
    clients.push(c);
    return c;
  }
  function collect(c: ControlClient): Inbound[] {
    const got: Inbound[] = [];
    c.onMessage((m) => got.push(m));
    return got;
  }

  beforeAll(() => {
    tree = uniqueTree(target.v5 ? 'mosq' : 'aedes');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it(`protocol 'auto' settles on MQTT ${target.v5 ? '5' : '3.1.1'}`, async () => {
    const c = await client('auto');
    expect(c.mqtt5).toBe(target.v5);
    const pinned = await client('v4', { protocol: 4 });
    expect(pinned.mqtt5).toBe(false);
  });

  it('delivers a retained desired state to a late subscriber', async () => {
    const fleet = await client('fleet');
    const desired = buildDesired('policy', 3, { rules: [{ name: 'dns', priority: 10 }] });
    await fleet.publishDesired('dev-late', desired);

    const agent = await client('agent');
    const got = collect(agent);
    await agent.subscribeDevice('dev-late');
    await waitFor(() => got.length > 0, 3000, 'the retained desired state');
    expect(got[0]).toMatchObject({
      route: { deviceId: 'dev-late', kind: 'desired', domain: 'policy' },
      retained: true,
    });
    expect(got[0].message).toEqual(desired);
  });

  it('marks a device offline by its Last Will, and online again after it reconnects', async () => {
    const fleet = await client('fleet');
    const seen = collect(fleet);
    await fleet.subscribeFleet(['status']);
    const device = await client('agent', {
      presence: { deviceId: 'dev-will', agentVersion: '0.1.0' },
    });
    const states = (): string[] =>
      seen
        .filter((m) => m.route.deviceId === 'dev-will' && m.message.type === 'status')
        .map((m) => (m.message.type === 'status' ? m.message.state : ''));
    await waitFor(() => states().includes('online'), 3000, 'online');

    const killedAt = Date.now();
    device.transport.stream?.destroy(); // a crash: no DISCONNECT
    await waitFor(() => states().includes('offline'), 5000, 'the Last Will');
    expect(Date.now() - killedAt).toBeLessThan(3000);
    await waitFor(
      () => states().lastIndexOf('online') > states().indexOf('offline'),
      5000,
      'online after reconnect',
    );

    const late = await client('late');
    const retained = collect(late);
    await late.subscribeFleet(['status']);
    await waitFor(
      () => retained.some((m) => m.route.deviceId === 'dev-will'),
      3000,
      'the retained status',
    );
    expect(retained.find((m) => m.route.deviceId === 'dev-will')?.message).toMatchObject({
      state: 'online',
      agentVersion: '0.1.0',
    });
  });

  it('runs a command and returns its response', async () => {
    const device = await client('agent');
    await device.handleCommands('dev-cmd', (cmd) => {
      if (cmd.name === 'fail') throw new Error('no such tap');
      return { echo: cmd.args, name: cmd.name };
    });
    const fleet = await client('fleet');
    const ok = await fleet.request(
      'dev-cmd',
      'capture.stats',
      { tap: 'eth1' },
      { timeoutMs: 3000 },
    );
    expect(ok).toMatchObject({
      ok: true,
      result: { echo: { tap: 'eth1' }, name: 'capture.stats' },
    });
    const failed = await fleet.request('dev-cmd', 'fail', {}, { timeoutMs: 3000 });
    expect(failed).toMatchObject({ ok: false, error: 'no such tap' });
    await expect(fleet.request('dev-nobody', 'ping', {}, { timeoutMs: 300 })).rejects.toThrow(
      'command ping to dev-nobody: no response within 300 ms',
    );
  });

  it('sends a long command: its progress in order on the response topic, then the response, to onMessage', async () => {
    const device = await client('agent');
    await device.handleCommands('dev-long', async (_cmd, ctx) => {
      for (const [phase, bytes] of [
        ['upload', 0],
        ['upload', 512],
        ['verify', 1024],
      ] as const)
        await ctx.progress({ phase, bytes, total: 1024 });
      return { outcome: 'installed' };
    });
    const fleet = await client('fleet');
    const got = collect(fleet);
    const cmd = await fleet.sendCommand(
      'dev-long',
      'firmware.install',
      { imageId: 'img-1' },
      { ttlMs: 5000 },
    );
    const mine = (): Inbound[] =>
      got.filter(
        (m) => 'correlationId' in m.message && m.message.correlationId === cmd.correlationId,
      );
    await waitFor(() => mine().some((m) => m.message.type === 'response'), 3000, 'the response');
    expect(mine().map((m) => m.route)).toEqual(
      Array(4).fill({
        deviceId: 'dev-long',
        kind: 'response',
        requester: cmd.responseTopic.split('/').pop(),
      }),
    );
    expect(
      mine().map((m) =>
        m.message.type === 'command-progress'
          ? [m.message.seq, m.message.phase, m.message.bytes, m.message.total]
          : m.message,
      ),
    ).toEqual([
      [1, 'upload', 0, 1024],
      [2, 'upload', 512, 1024],
      [3, 'verify', 1024, 1024],
      {
        v: 1,
        type: 'response',
        correlationId: cmd.correlationId,
        ok: true,
        result: { outcome: 'installed' },
      },
    ]);
  });

  it('refuses a command-progress anywhere but on a response topic', async () => {
    const fleet = await client('fleet');
    const invalid: string[] = [];
    fleet.onInvalid((_t, reason) => invalid.push(reason));
    await fleet.subscribeFleet(['alerts']);
    const device = await client('agent');
    await device.transport.publishAsync(
      tree.alerts('dev-prog'),
      encodeMessage({
        v: 1,
        type: 'command-progress',
        correlationId: 'c-1',
        seq: 1,
        phase: 'upload',
        at: Date.now(),
      }),
      { qos: 1 },
    );
    await waitFor(() => invalid.length > 0, 3000, 'the refusal');
    expect(invalid[0]).toBe('type: expected "alert", got "command-progress"');
  });

  it('does not execute an expired command', async () => {
    const ran: CommandRequest[] = [];
    const device = await client('agent');
    await device.handleCommands('dev-exp', (cmd) => {
      ran.push(cmd);
      return null;
    });
    const fleet = await client('fleet');
    const stale: CommandRequest = {
      v: 1,
      type: 'command',
      name: 'reboot',
      correlationId: 'stale-1',
      responseTopic: tree.response('dev-exp', 'fm'),
      expiresAt: Date.now() - 1000,
      args: {},
    };
    await fleet.transport.publishAsync(tree.command('dev-exp', 'reboot'), encodeMessage(stale), {
      qos: 1,
    });
    const fresh = await fleet.request('dev-exp', 'status', {}, { timeoutMs: 3000 }); // sent after, so handled after
    expect(fresh.ok).toBe(true);
    expect(ran.map((c) => c.name)).toEqual(['status']);
    expect(
      logger.lines.some((l) =>
        /command reboot \(stale-1\) expired \d+ ms ago; not executed/.test(l),
      ),
    ).toBe(true);
  });

  it(`${target.v5 ? 'adds' : 'omits'} MQTT 5 properties, and the payload carries everything either way`, async () => {
    const observer = await client('observer');
    const props: unknown[] = [];
    observer.transport.on('message', (_t, _p, packet) => props.push(packet.properties));
    await observer.subscribeDevice('dev-props');
    const fleet = await client('fleet');
    const desired = buildDesired('retention', 2, { maxAgeDays: 30 });
    await fleet.publishDesired('dev-props', desired);
    await waitFor(() => props.length > 0, 3000, 'the desired state');
    if (target.v5) {
      expect(props[0]).toMatchObject({
        contentType: 'application/json',
        userProperties: {
          'nm-v': '1',
          'nm-type': 'desired',
          'nm-version': '2',
          'nm-hash': desired.hash,
        },
      });
    } else {
      expect(props[0]).toBeUndefined();
    }
    const fallbacks = logger.lines.filter((l) => l.includes('no MQTT 5 session'));
    if (target.v5) expect(fallbacks).toEqual([]);
    else
      expect(fallbacks[0]).toBe(
        `info ${target.url()}: no MQTT 5 session (Connection refused: Unacceptable protocol version); trying MQTT 3.1.1`,
      );
  });

  it('hands malformed messages to onInvalid with the reason', async () => {
    const fleet = await client('fleet');
    const invalid: [string, string][] = [];
    fleet.onInvalid((topic, reason) => invalid.push([topic, reason]));
    const valid = collect(fleet);
    await fleet.subscribeFleet(['reported', 'alerts']);
    const device = await client('agent');
    const t = tree.reported('dev-bad', 'policy');
    await device.transport.publishAsync(t, Buffer.from('{"v":1,"type":"reported"'), { qos: 1 });
    await device.transport.publishAsync(
      tree.alerts('dev-bad'),
      encodeMessage({ v: 1, type: 'status', state: 'online', at: 1 }),
      { qos: 1 },
    );
    await device.publishReported('dev-bad', {
      v: 1,
      type: 'reported',
      domain: 'retention',
      version: 0,
      hash: null,
      status: 'applied',
      appliedAt: Date.now(),
    });
    await waitFor(() => valid.length > 0 && invalid.length >= 2, 3000, 'messages');
    expect(invalid[0][0]).toBe(t);
    expect(invalid[0][1]).toMatch(/^malformed JSON/);
    expect(invalid[1][1]).toBe('type: expected "alert", got "status"');
    expect(valid[0].message).toMatchObject({ type: 'reported', domain: 'retention' });
  });
});

describe('shared subscriptions on Mosquitto (MQTT 5)', () => {
  const clients: ControlClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('splits 200 messages between two replicas, none twice, none lost', async () => {
    const tree = uniqueTree('share');
    const group = uniqueId('fleet');
    const connect = async (label: string): Promise<ControlClient> => {
      const c = await ControlClient.connect({
        url: MOSQUITTO_URL,
        clientId: uniqueId(label),
        topics: tree,
        logger: captureLogger(),
      });
      clients.push(c);
      return c;
    };
    const replicas = [await connect('fm-a'), await connect('fm-b')];
    const received: string[][] = [[], []];
    for (const [i, r] of replicas.entries()) {
      r.onMessage((m) => m.message.type === 'alert' && received[i].push(m.message.message));
      const filters = await r.subscribeFleet(['alerts'], { shareGroup: group });
      expect(filters).toEqual([`$share/${group}/${tree.root}/+/alerts`]);
    }
    const device = await connect('agent');
    for (let i = 0; i < 200; i++) {
      await device.publishAlert(`dev-${i % 7}`, {
        v: 1,
        type: 'alert',
        at: Date.now(),
        severity: 'info',
        code: 'test.seq',
        message: `m${i}`,
      });
    }
    await waitFor(() => received[0].length + received[1].length >= 200, 5000, '200 messages');
    await new Promise((r) => setTimeout(r, 200)); // anything extra would show up now
    const [a, b] = received.map((r) => new Set(r));
    expect(a.size).toBe(received[0].length);
    expect(b.size).toBe(received[1].length);
    expect(received[0].length).toBeGreaterThan(0);
    expect(received[1].length).toBeGreaterThan(0);
    expect([...a].filter((m) => b.has(m))).toEqual([]);
    expect(new Set([...a, ...b]).size).toBe(200);
  });

  it('uses plain filters on MQTT 3.1.1', async () => {
    const c = await ControlClient.connect({
      url: MOSQUITTO_URL,
      clientId: uniqueId('fm-v4'),
      protocol: 4,
      logger: captureLogger(),
    });
    clients.push(c);
    expect(await c.subscribeFleet(['status'], { shareGroup: 'fleet' })).toEqual([
      'netmirror/v1/+/status',
    ]);
    await c.transport.unsubscribeAsync(['netmirror/v1/+/status']);
  });
});
