#!/usr/bin/env node
// bench/fleet: the fleet manager under a fleet of simulated agents, on the
// production stack (PostgreSQL + Mosquitto), everything on this machine.
//
//   node bench/fleet/run.mjs [--agents 1000,10000] [--workers 4] [--telemetry 20]
//                            [--agent-keepalive 60] [--cpu-prof DIR] [--fleet-manager DIST] [--verbose]
//
// For each fleet size, from scratch: a private Mosquitto on a free port, a
// fresh PostgreSQL database (nm_bench_<random>, dropped at the end), the
// fleet manager in a child process of its own (fleet-manager.mjs) and the
// agents spread over worker processes (agents.mjs), each agent with its own
// keys, enrolled through the REST API. Then:
//   1. apply latency: every agent online on policy v1; POST a v2 and deploy it
//      to all at once; per agent, the time from the deploy POST until the
//      fleet manager has stored its applied report (device_reported.received_at),
//      p50 / p99 / all;
//   2. telemetry ingest: every agent publishes --telemetry messages flat out;
//      rows stored per second, from the first publish to the last row visible
//      in the telemetry table;
//   3. the fleet manager's peak memory (VmHWM of its process).
// Targets (issue): 10,000 agents all applied within 10 s, >= 20,000 telemetry
// messages/s ingested, < 1 GiB.
import { fork, spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000,10000' },
    workers: { type: 'string', default: '4' },
    telemetry: { type: 'string', default: '20' },
    'agent-keepalive': { type: 'string', default: '60' },
    'pg-url': {
      type: 'string',
      default: process.env.NM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
    'cpu-prof': { type: 'string' }, // directory: profile the fleet manager (node --cpu-prof)
    'fleet-manager': { type: 'string' }, // another build of it (a dist directory), for A/B runs
    verbose: { type: 'boolean', default: false },
  },
});
const sizes = values.agents.split(',').map(Number);
const workerCount = Number(values.workers);
const perAgentTelemetry = Number(values.telemetry);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const TARGET = { applySeconds: 10, telemetryPerSecond: 20_000, memoryBytes: 1024 ** 3 };
const SPEC_V1 = { destinations: { lake: 'record:/var/lib/netmirror/rec' }, rules: [] };
const SPEC_V2 = {
  destinations: { lake: 'record:/var/lib/netmirror/rec', ids: 'vxlan://10.0.0.9?vni=7' },
  rules: [
    { name: 'dns', priority: 10, match: { port: 53 }, destinations: ['ids'] },
    { name: 'web', priority: 20, match: { port: 443 }, destinations: ['lake'] },
  ],
};

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Everything to undo, newest first; run on success, failure and signals. */
const cleanups = [];
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const c = cleanups.pop();
      await Promise.race([
        c.fn().catch((e) => log(`cleanup ${c.what}: ${e.message}`)),
        sleep(15_000),
      ]);
    }
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    log(`${sig}: cleaning up`);
    void cleanup().then(() => process.exit(130));
  });

const hardFdLimit = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim());
console.log(
  `bench/fleet: ${cpus().length} × ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, fd limit ${hardFdLimit}`,
);

const results = [];
try {
  for (const n of sizes) {
    if (hardFdLimit !== Infinity && hardFdLimit < n + 1000)
      throw new Error(
        `${n} agents need more than ${n + 1000} file descriptors in the broker; ulimit -Hn is ${hardFdLimit}`,
      );
    results.push(await runSize(n));
    await cleanup();
    cleaning = null;
  }
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
if (results.length > 0) report(results);

// ---------------------------------------------------------------------------

async function runSize(n) {
  log(`=== ${n} agents ===`);
  const db = await createDatabase();
  const broker = await startMosquitto();
  const topicRoot = `nmbench/${randomBytes(4).toString('hex')}/v1`;
  const fm = await startFleetManager(db.url, broker.url, topicRoot);
  const api = client(fm.url);
  const sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  cleanups.push({ what: 'sql client', fn: () => sql.end() });
  const count = async (q, params = []) => Number((await sql.query(q, params)).rows[0].n);

  await api('POST', '/policies', {
    name: 'bench',
    domain: 'policy',
    targetLabels: { fleet: 'bench' },
    spec: SPEC_V1,
  });
  const v1 = (await api('GET', '/policies/bench/versions/1')).hash;

  // Agents: keys, enrollment, connection.
  const ids = Array.from({ length: n }, (_, i) => `sim-${String(i).padStart(6, '0')}`);
  const workers = startWorkers(Math.min(workerCount, n), ids);
  // Our PostgreSQL backends (the pool grows and shrinks: read at each mark).
  const pgPids = async () =>
    (
      await sql.query(`select pid from pg_stat_activity where datname = current_database()`)
    ).rows.map((r) => r.pid);
  const cpu = cpuMeter({
    fmPid: fm.pid,
    brokerPid: broker.pid,
    workerPids: workers.map((w) => w.pid),
    pgPids,
  });
  await cpu.start();
  let t = performance.now();
  const enrolled = await Promise.all(
    workers.map((w) =>
      w.ask(
        {
          op: 'init',
          ids: w.ids,
          brokerUrl: broker.url,
          topicRoot,
          fmUrl: fm.url,
          labels: { fleet: 'bench' },
          concurrency: 16,
        },
        'enrolled',
        60_000 + n * 30,
      ),
    ),
  );
  const enrollSeconds = (performance.now() - t) / 1000;
  const keysSeconds = Math.max(...enrolled.map((e) => e.keysMs)) / 1000;
  await cpu.mark('enroll');
  log(
    `keys generated (per worker, in parallel) in ${keysSeconds.toFixed(1)} s; ${n} enrolled over REST in ${enrollSeconds.toFixed(1)} s`,
  );
  t = performance.now();
  const connectStarted = Date.now();
  await Promise.all(
    workers.map((w) => w.ask({ op: 'connect', concurrency: 100 }, 'connected', 60_000 + n * 20)),
  );
  const connectSeconds = (performance.now() - t) / 1000;
  log(`${n} agents connected in ${connectSeconds.toFixed(1)} s`);
  // Online, and the fleet data keys delivered (wrapped per agent) and applied.
  await until(
    `${n} online`,
    () => count(`select count(*) n from devices where online`).then((c) => c === n),
    60_000 + n * 20,
  );
  // A key delivery is not retained: one published in the moment between an
  // agent's "online" and its SUBSCRIBE is lost (ControlClient.connect announces
  // online before the caller subscribes; the real agent does the same). Such
  // agents stay without keys until they reconnect: counted, not waited for.
  const keysCount = () =>
    count(`select count(*) n from device_reported where domain = 'keys' and status = 'applied'`);
  let keysHeld = 0;
  let keysChanged = Date.now();
  await until(
    `keys applied by ${n}`,
    async () => {
      const c = await keysCount();
      if (c !== keysHeld) [keysHeld, keysChanged] = [c, Date.now()];
      return c === n || (c > 0 && Date.now() - keysChanged > 10_000);
    },
    60_000 + n * 20,
  );
  const keysMissing = n - keysHeld;
  if (keysMissing > 0)
    log(
      `${keysMissing} agents never got their key delivery (lost between their "online" and their SUBSCRIBE)`,
    );
  const readySeconds = (keysChanged - connectStarted) / 1000; // when the last agent got its keys
  await cpu.mark('connect+keys');
  log(`all online and holding the fleet keys ${readySeconds.toFixed(1)} s after connecting began`);

  // Policy v1 everywhere (not measured: the fleet gets to its steady state).
  t = performance.now();
  await api('POST', '/policies/bench/deploy', { version: 1 });
  await untilApplied(sql, v1, 120_000);
  await until(
    'v1 rollout completed',
    async () => (await api('GET', '/rollouts?policy=bench'))[0]?.status === 'completed',
    30_000,
  );
  log(`v1 applied by all in ${((performance.now() - t) / 1000).toFixed(2)} s`);
  const rssSteady = fm.rss();
  await cpu.mark('deploy v1');

  // Phase 1: v2, deployed to all at once.
  await sleep(1000);
  const v2 = (await api('POST', '/policies/bench/versions', { spec: SPEC_V2 })).hash;
  await cpu.start();
  const t0 = Date.now();
  const deployed = await api('POST', '/policies/bench/deploy', { version: 2 });
  const deployReturned = Date.now() - t0;
  if (values.verbose) log(`t0 (deploy POST) = ${t0}`);
  const observedAll = await untilApplied(sql, v2, 120_000);
  await cpu.mark('apply v2');
  const stored = (
    await sql.query(
      `select (extract(epoch from received_at) * 1000)::float8 as ms from device_reported where domain = 'policy' and hash = $1`,
      [v2],
    )
  ).rows.map((r) => r.ms - t0);
  const timings = await Promise.all(
    workers.map((w) => w.ask({ op: 'timings', hash: v2 }, 'timings', 30_000)),
  );
  const arrived = timings
    .flatMap((x) => x.desired)
    .filter((v) => v !== null)
    .map((v) => v - t0);
  const reported = timings
    .flatMap((x) => x.reported)
    .filter((v) => v !== null)
    .map((v) => v - t0);
  const apply = {
    deployReturnedMs: deployReturned,
    rollout: deployed.status,
    stored: stats(stored),
    arrived: stats(arrived),
    reported: stats(reported),
    observedAllMs: observedAll - t0,
  };
  log(
    `v2: deploy POST returned after ${ms(deployReturned)}; desired at agents p50 ${ms(apply.arrived.p50)} max ${ms(apply.arrived.max)}; ` +
      `reports stored p50 ${ms(apply.stored.p50)} p99 ${ms(apply.stored.p99)} max ${ms(apply.stored.max)} (${apply.stored.count}/${n}); seen complete at ${ms(apply.observedAllMs)}`,
  );
  const rssAfterApply = fm.rss();

  // Phase 2: telemetry, flat out.
  await sleep(1000);
  const total = n * perAgentTelemetry;
  const receivedBefore = await fmReceived(fm.url, 'telemetry');
  await cpu.start();
  const at = Date.now() - 3_600_000;
  const published = Promise.all(
    workers.map((w) =>
      w.ask({ op: 'telemetry', perAgent: perAgentTelemetry, at }, 'telemetryDone', 120_000 + total),
    ),
  );
  let lastRows = 0;
  let lastChange = Date.now();
  const samples = []; // [ms epoch, rows visible]
  const maxId = () => count(`select coalesce(max(id), 0) n from telemetry`);
  for (;;) {
    const rows = await maxId();
    const now = Date.now();
    samples.push([now, rows]);
    if (rows !== lastRows) {
      lastRows = rows;
      lastChange = now;
    }
    if (rows >= total) break;
    if (now - lastChange > 15_000) break; // stalled: messages were lost
    await sleep(50);
  }
  await cpu.mark('telemetry');
  const pubs = await published;
  const firstPublish = Math.min(...pubs.map((p) => p.first));
  const lastPublish = Math.max(...pubs.map((p) => p.last));
  const sent = pubs.reduce((s, p) => s + p.sent, 0);
  const storedRows = await count(`select count(*) n from telemetry`);
  const ingestSeconds = (lastChange - firstPublish) / 1000;
  // The same rows seen two ways that leave the agents out: the rate after the
  // last agent finished publishing (the backlog drained by broker, fleet
  // manager and PostgreSQL alone), and the best second.
  const atLastPublish = [...samples].reverse().find(([t]) => t <= lastPublish) ?? [firstPublish, 0];
  const drainSeconds = (lastChange - atLastPublish[0]) / 1000;
  let bestSecond = 0;
  for (let i = 0, j = 0; i < samples.length; i++) {
    while (samples[i][0] - samples[j][0] > 1000) j++;
    if (samples[i][0] - samples[j][0] >= 900)
      bestSecond = Math.max(
        bestSecond,
        ((samples[i][1] - samples[j][1]) * 1000) / (samples[i][0] - samples[j][0]),
      );
  }
  const telemetry = {
    published: sent,
    publishFailed: pubs.reduce((s, p) => s + p.failed, 0),
    publishSeconds: (lastPublish - firstPublish) / 1000,
    stored: storedRows,
    ingestSeconds,
    perSecond: storedRows / ingestSeconds,
    drain:
      drainSeconds >= 1
        ? {
            rows: storedRows - atLastPublish[1],
            seconds: drainSeconds,
            perSecond: (storedRows - atLastPublish[1]) / drainSeconds,
          }
        : null,
    bestSecond,
    received: (await fmReceived(fm.url, 'telemetry')) - receivedBefore,
  };
  log(
    `telemetry: ${sent} published in ${telemetry.publishSeconds.toFixed(2)} s; ${storedRows} stored in ${ingestSeconds.toFixed(2)} s = ${Math.round(telemetry.perSecond)}/s; fleet manager received ${telemetry.received}; ` +
      `${drainLine(telemetry)}`,
  );

  const memory = {
    steady: rssSteady,
    afterApply: rssAfterApply,
    afterTelemetry: fm.rss(),
    peak: fm.peak(),
  };
  log(
    `fleet manager memory: RSS ${mib(memory.steady)} steady, ${mib(memory.afterTelemetry)} after telemetry, peak (VmHWM) ${mib(memory.peak)}`,
  );
  log('CPU seconds by phase (2 cores = 2 CPU-s per wall second):');
  for (const p of cpu.phases) log('  ' + cpuLine(p));
  return {
    n,
    keysSeconds,
    enrollSeconds,
    connectSeconds,
    readySeconds,
    keysMissing,
    apply,
    telemetry,
    memory,
    cpu: cpu.phases,
  };
}

// ---- the pieces ------------------------------------------------------------

async function createDatabase() {
  const name = `nm_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: values['pg-url'] });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  cleanups.push({
    what: `database ${name}`,
    fn: async () => {
      const c = new pg.Client({ connectionString: values['pg-url'] });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  });
  const url = new URL(values['pg-url']);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

async function startMosquitto() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nm-bench-mosq-'));
  cleanups.push({
    what: 'broker dir',
    fn: async () => rmSync(dir, { recursive: true, force: true }),
  });
  const conf = join(dir, 'mosquitto.conf');
  // max_queued_messages: Mosquitto drops QoS 0 messages to a client with more
  // than this many packets waiting (default 1000); the telemetry flood would
  // otherwise be cut at the broker, not measured at the fleet manager.
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_connections -1',
      'max_queued_messages 1000000',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const proc = spawn(
    'sh',
    ['-c', `ulimit -n "$(ulimit -Hn)" && exec /usr/sbin/mosquitto -c "$1"`, 'sh', conf],
    {
      stdio: ['ignore', 'ignore', values.verbose ? 'inherit' : 'ignore'],
    },
  );
  cleanups.push({ what: 'mosquitto', fn: () => kill(proc, 'SIGKILL') });
  await listening(port, 5000);
  return { url: `mqtt://127.0.0.1:${port}`, pid: proc.pid };
}

async function startFleetManager(databaseUrl, brokerUrl, topicRoot) {
  const execArgv = ['--max-old-space-size=2048'];
  if (values['cpu-prof'])
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`);
  const proc = fork(
    join(import.meta.dirname, 'fleet-manager.mjs'),
    [
      JSON.stringify({ databaseUrl, brokerUrl, topicRoot }),
      ...(values['fleet-manager'] ? [values['fleet-manager']] : []),
    ],
    {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  cleanups.push({
    what: 'fleet manager',
    fn: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.send({ op: 'close' });
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(12_000)]);
      await kill(proc, 'SIGKILL');
    },
  });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('fleet manager did not start in 60 s')),
      60_000,
    );
    proc.once('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    proc.once('exit', (code) => reject(new Error(`fleet manager exited with ${code}`)));
  });
  const status = (field) => {
    try {
      const m = readFileSync(`/proc/${proc.pid}/status`, 'utf8').match(
        new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'),
      );
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, status('VmHWM'))), 200);
  cleanups.push({ what: 'memory sampler', fn: async () => clearInterval(sampler) });
  return {
    url: ready.url,
    pid: proc.pid,
    rss: () => status('VmRSS'),
    peak: () => (peak = Math.max(peak, status('VmHWM'))),
  };
}

function startWorkers(count, ids) {
  const per = Math.ceil(ids.length / count);
  return Array.from({ length: count }, (_, i) => {
    const proc = fork(join(import.meta.dirname, 'agents.mjs'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NM_BENCH_AGENT_KEEPALIVE: values['agent-keepalive'] },
      execArgv: ['--max-old-space-size=4096'],
    });
    cleanups.push({ what: `agents worker ${i}`, fn: () => kill(proc, 'SIGKILL') });
    const waiting = new Map();
    proc.on('message', (m) => {
      if (m.op === 'error') {
        for (const w of waiting.values()) w.reject(new Error(`agents worker ${i}: ${m.message}`));
        waiting.clear();
        return;
      }
      waiting.get(m.op)?.resolve(m);
      waiting.delete(m.op);
    });
    proc.on('exit', (code, signal) => {
      for (const w of waiting.values())
        w.reject(new Error(`agents worker ${i} exited (${code ?? signal})`));
      waiting.clear();
    });
    return {
      pid: proc.pid,
      ids: ids.slice(i * per, (i + 1) * per),
      ask(message, answer, timeoutMs) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`agents worker ${i}: no ${answer} in ${timeoutMs} ms`)),
            timeoutMs,
          );
          waiting.set(answer, {
            resolve: (m) => (clearTimeout(timer), resolve(m)),
            reject: (e) => (clearTimeout(timer), reject(e)),
          });
          proc.send(message);
        });
      },
    };
  });
}

async function untilApplied(sql, hash, timeoutMs) {
  return until(
    `policy ${hash.slice(0, 12)} applied everywhere`,
    async () => {
      const { rows } = await sql.query(
        `select (select count(*) from device_reported where domain = 'policy' and hash = $1 and status = 'applied') = (select count(*) from devices) as done`,
        [hash],
      );
      return rows[0].done ? Date.now() : null;
    },
    timeoutMs,
    20,
  );
}

async function until(what, fn, timeoutMs, everyMs = 100) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function client(base) {
  return async (method, path, body) => {
    const res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', 'x-netmirror-actor': 'bench' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

async function fmReceived(url, type) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = text.match(
    new RegExp(`^netmirror_fleet_messages_received_total\\{type="${type}"\\} (\\d+)`, 'm'),
  );
  return m ? Number(m[1]) : 0;
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function listening(port, timeoutMs) {
  const start = Date.now();
  for (;;) {
    const ok = await new Promise((r) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), r(true)));
      sock.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() - start > timeoutMs) throw new Error(`mosquitto did not listen on ${port}`);
    await sleep(50);
  }
}

async function kill(proc, signal) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await Promise.race([exited, sleep(5000)]);
}

// ---- CPU accounting ----------------------------------------------------------

/** CPU seconds (user + system) a process has used; 0 once it is gone. */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}
/** CPU seconds the whole machine has been busy (every process, ours or not), and of that in interrupts (loopback TCP is mostly softirq). */
function machineBusy() {
  const f = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = f[3] + f[4];
  return {
    busy: (f.slice(0, 7).reduce((a, b) => a + b, 0) - idle) / CLK_TCK,
    irq: (f[5] + f[6]) / CLK_TCK,
  };
}
/**
 * Per phase: wall seconds and CPU seconds of the fleet manager, its
 * PostgreSQL backends, the broker, the agent workers, and everything else
 * on the machine (other people's jobs included).
 */
/** CPU seconds of every process now, by pid, with a short name. */
function allProcesses() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const label = (
        cmd.length
          ? cmd
              .slice(0, 4)
              .map((a) => a.replace(/^.*\/(?=[^/]+$)/, ''))
              .join(' ')
          : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      ).slice(0, 60);
      out.set(Number(name), { cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK, label });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function cpuMeter({ fmPid, brokerPid, workerPids, pgPids }) {
  // Backends come and go with the pool: count each one's CPU since we last saw
  // it (one that exits between two marks loses its last moments).
  const pgSeen = new Map();
  let pgTotal = 0;
  const read = async () => {
    const m = machineBusy();
    for (const pid of await pgPids()) {
      const c = cpuOf(pid);
      pgTotal += c - (pgSeen.get(pid) ?? 0);
      pgSeen.set(pid, c);
    }
    return {
      wall: performance.now() / 1000,
      fm: cpuOf(fmPid),
      pg: pgTotal,
      broker: cpuOf(brokerPid),
      agents: workerPids.reduce((s, pid) => s + cpuOf(pid), 0),
      machine: m.busy,
      irq: m.irq,
    };
  };
  let last = null;
  let procs = null;
  const phases = [];
  return {
    async start() {
      last = await read();
      procs = allProcesses();
    },
    async mark(name) {
      const now = await read();
      const d = Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - last[k]]));
      d.others = Math.max(0, d.machine - d.irq - d.fm - d.pg - d.broker - d.agents);
      // The biggest CPU users that are not part of this bench (other people's jobs, PostgreSQL's own background processes).
      const ours = new Set([process.pid, fmPid, brokerPid, ...workerPids, ...pgSeen.keys()]);
      const procsNow = allProcesses();
      d.top = [...procsNow]
        .filter(([pid]) => !ours.has(pid))
        .map(([pid, p]) => ({ label: p.label, cpu: p.cpu - (procs.get(pid)?.cpu ?? 0) }))
        .filter((p) => p.cpu >= 0.5)
        .sort((a, b) => b.cpu - a.cpu)
        .slice(0, 3);
      phases.push({ name, ...d });
      last = now;
      procs = procsNow;
    },
    phases,
  };
}

// ---- figures ---------------------------------------------------------------

function drainLine(t) {
  const drain = t.drain
    ? `after the agents stopped: ${t.drain.rows} rows in ${t.drain.seconds.toFixed(2)} s = ${Math.round(t.drain.perSecond)}/s`
    : 'no backlog left when the agents stopped';
  return `${drain}; best second ${Math.round(t.bestSecond)} rows`;
}

function cpuLine(p) {
  const f = (v) => v.toFixed(1).padStart(5);
  const top = p.top?.length
    ? ` (${p.top.map((t) => `${t.label}: ${t.cpu.toFixed(1)}`).join('; ')})`
    : '';
  return `${p.name.padEnd(13)} wall ${f(p.wall)}  fleet manager ${f(p.fm)}  postgres ${f(p.pg)}  mosquitto ${f(p.broker)}  agents ${f(p.agents)}  interrupts ${f(p.irq)}  others ${f(p.others)}${top}`;
}

function stats(list) {
  const s = [...list].sort((a, b) => a - b);
  const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] : NaN);
  return { count: s.length, p50: q(0.5), p99: q(0.99), max: s.length ? s[s.length - 1] : NaN };
}
function ms(v) {
  return Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : 'n/a';
}
function mib(b) {
  return `${(b / 2 ** 20).toFixed(0)} MiB`;
}

function report(list) {
  console.log('\nbench/fleet results (PostgreSQL + Mosquitto, everything on this machine)\n');
  const head = [
    'agents',
    'apply p50',
    'apply p99',
    'all applied',
    'telemetry msg/s',
    'FM peak RSS',
    'enroll',
    'connect+keys',
  ];
  const rows = list.map((r) => [
    r.n.toLocaleString('en'),
    ms(r.apply.stored.p50),
    ms(r.apply.stored.p99),
    ms(r.apply.stored.max),
    Math.round(r.telemetry.perSecond).toLocaleString('en'),
    mib(r.memory.peak),
    `${r.enrollSeconds.toFixed(1)} s`,
    `${r.readySeconds.toFixed(1)} s`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(
    "\napply = from the deploy POST until the fleet manager stored the agent's applied report (device_reported.received_at)",
  );
  for (const r of list) {
    console.log(
      `  ${r.n}: desired reached agents p50 ${ms(r.apply.arrived.p50)} p99 ${ms(r.apply.arrived.p99)} max ${ms(r.apply.arrived.max)}; ` +
        `reports sent max ${ms(r.apply.reported.max)}; deploy POST returned ${ms(r.apply.deployReturnedMs)}; ` +
        `telemetry ${r.telemetry.stored}/${r.telemetry.published} stored (${r.telemetry.received} received) in ${r.telemetry.ingestSeconds.toFixed(2)} s (${drainLine(r.telemetry)}), ` +
        `published in ${r.telemetry.publishSeconds.toFixed(2)} s; FM RSS steady ${mib(r.memory.steady)}; key pairs generated in ${r.keysSeconds.toFixed(1)} s; agents without their key delivery: ${r.keysMissing}`,
    );
  }
  console.log(
    '\nCPU seconds by phase (2 cores: at most 2 CPU-s per wall second; "others" = processes not in this bench):',
  );
  for (const r of list)
    for (const p of r.cpu) console.log(`  ${String(r.n).padStart(6)}  ${cpuLine(p)}`);
  console.log('\ntargets:');
  for (const r of list) {
    const checks = [
      [
        `all applied within ${TARGET.applySeconds} s`,
        r.apply.stored.max <= TARGET.applySeconds * 1000 && r.apply.stored.count === r.n,
        ms(r.apply.stored.max),
      ],
      [
        `>= ${TARGET.telemetryPerSecond.toLocaleString('en')} telemetry msg/s`,
        r.telemetry.perSecond >= TARGET.telemetryPerSecond &&
          r.telemetry.stored === r.telemetry.published,
        `${Math.round(r.telemetry.perSecond)}/s`,
      ],
      ['< 1 GiB', r.memory.peak < TARGET.memoryBytes, mib(r.memory.peak)],
    ];
    for (const [what, ok, got] of checks)
      console.log(
        `  ${String(r.n).padStart(6)} agents: ${what.padEnd(32)} ${ok ? 'PASS' : 'FAIL'} (${got})`,
      );
  }
  console.log(
    '\nevery agent has its own X25519 + P-256 key pair (generated in the worker processes).',
  );
}
