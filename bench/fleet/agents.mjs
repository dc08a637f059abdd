// bench/fleet: one process holding many simulated agents. Each is the
// fleet manager's SimulatedDevice (apps/fleet-manager/src/testing): a real
// ControlClient (mqtt.js, MQTT 5) with presence, the real DesiredStateGate
// and key unwrapping, its own X25519 + P-256 key pair; no data path.
// Driven by run.mjs over IPC:
//   { op: 'init', ids, brokerUrl, topicRoot, fmUrl, labels, concurrency }
//       → generates the keys, enrolls every agent through the REST API
//   { op: 'connect', concurrency }    → connects them all
//   { op: 'timings', hash }           → when each agent got desired state `hash`
//                                       and sent its applied report (ms epoch)
//   { op: 'telemetry', perAgent, at } → each agent publishes perAgent messages, flat out
//   { op: 'close' }                   → exits (without DISCONNECT: run.mjs kills the broker anyway)
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const { SimulatedDevice } = await import(
  resolve(root, 'apps/fleet-manager/dist/testing/simulated-device.js')
);
const { ControlClient, TopicTree } = await import(resolve(root, 'libs/protocol/dist/index.js'));

// The one departure from a real agent: its MQTT keepalive (ControlClient's
// default is 10 s; run.mjs passes --agent-keepalive, default 60). mqtt.js
// gives the broker keepalive/2 to answer a PINGREQ; with 10,000 agents, the
// broker and the fleet manager on two cores, Mosquitto answers late during
// the telemetry flood, agents drop their connections and reconnect, and
// whatever sat in their socket buffers is lost: a bench artefact, not the
// fleet manager's doing. (Same module instance as SimulatedDevice's import.)
const keepaliveSeconds = Number(process.env.NM_BENCH_AGENT_KEEPALIVE ?? 10);
const connect = ControlClient.connect.bind(ControlClient);
ControlClient.connect = (options) => connect({ keepaliveSeconds, ...options });

/** @type {InstanceType<typeof SimulatedDevice>[]} */
let agents = [];
/** deviceId → { hash → ms epoch } */
const desiredAt = new Map();
const reportedAt = new Map();

const reply = (m) => process.send(m);
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  handle(m).catch((err) => reply({ op: 'error', message: err.stack ?? String(err) }));
});

async function handle(m) {
  switch (m.op) {
    case 'init':
      return init(m);
    case 'connect':
      return connectAll(m.concurrency);
    case 'timings':
      return reply({
        op: 'timings',
        desired: agents.map((a) => desiredAt.get(a.id)?.[m.hash] ?? null),
        reported: agents.map((a) => reportedAt.get(a.id)?.[m.hash] ?? null),
      });
    case 'telemetry':
      return telemetry(m.perAgent, m.at);
    case 'close':
      process.exit(0);
  }
}

async function init({ ids, brokerUrl, topicRoot, fmUrl, labels, concurrency }) {
  const topics = new TopicTree(topicRoot);
  let t = performance.now();
  agents = ids.map((id) => new SimulatedDevice({ id, brokerUrl, topics })); // generates the keys
  const keysMs = performance.now() - t;
  t = performance.now();
  await pool(agents, concurrency, async (a) => {
    const token = await call(fmUrl, 'POST', '/enrollment-tokens', { ttlSeconds: 3600, labels });
    await call(fmUrl, 'POST', '/enroll', {
      token: token.token,
      deviceId: a.id,
      publicKeys: a.publicKeys(),
    });
  });
  reply({ op: 'enrolled', keysMs, enrollMs: performance.now() - t });
}

async function connectAll(concurrency) {
  const t = performance.now();
  await pool(agents, concurrency, async (a) => {
    await a.connect();
    const c = a.client;
    c.onMessage(({ message }) => {
      if (message.type === 'desired') stamp(desiredAt, a.id, message.hash);
    });
    const publishReported = c.publishReported.bind(c);
    c.publishReported = (deviceId, r) => {
      if (r.status === 'applied' && r.hash) stamp(reportedAt, deviceId, r.hash);
      return publishReported(deviceId, r);
    };
  });
  reply({ op: 'connected', ms: performance.now() - t });
}

async function telemetry(perAgent, at) {
  const first = Date.now();
  let sent = 0;
  let failed = 0;
  // Each agent sends its messages back to back (mqtt.js corks the writes of
  // one tick: a burst is one writev per agent, not one per message), a slice
  // of agents at a time so the sockets flush in between.
  const SLICE = 100;
  for (let i = 0; i < agents.length; i += SLICE) {
    const sends = [];
    for (const a of agents.slice(i, i + SLICE))
      for (let k = 0; k < perAgent; k++)
        sends.push(
          a.client
            .publishTelemetry(a.id, sample(at + k, k))
            .then(() => sent++)
            .catch(() => failed++),
        );
    await Promise.all(sends);
  }
  reply({ op: 'telemetryDone', first, last: Date.now(), sent, failed });
}

function sample(at, i) {
  return {
    v: 1,
    type: 'telemetry',
    at,
    taps: [
      {
        name: 'tap0',
        packetsSeen: 1_000_000 + i * 1000,
        bytesSeen: 900_000_000 + i,
        packetsDropped: i,
      },
    ],
    destinations: [
      {
        name: 'ids',
        packetsSent: 400_000 + i * 400,
        bytesSent: 360_000_000 + i,
        packetsDropped: 0,
        queueDepth: 3,
      },
      {
        name: 'lake',
        packetsSent: 600_000 + i * 600,
        bytesSent: 540_000_000 + i,
        packetsDropped: 1,
        queueDepth: 0,
      },
    ],
    cpuPercent: 12.5,
    memoryBytes: 180_000_000,
  };
}

function stamp(map, id, hash) {
  let m = map.get(id);
  if (!m) map.set(id, (m = {}));
  m[hash] ??= Date.now();
}

async function call(base, method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', 'x-netmirror-actor': 'bench' },
      body: JSON.stringify(body),
    }).catch((err) => ({ ok: false, status: 0, text: async () => String(err) }));
    if (res.ok) return res.json();
    const text = await res.text();
    // Connection resets under load are retried; a refusal is not.
    if (res.status !== 0 || attempt >= 5)
      throw new Error(`${method} ${path}: ${res.status} ${text}`);
    await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
  }
}

async function pool(items, concurrency, fn) {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, run));
}
