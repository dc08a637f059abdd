#!/usr/bin/env node
// The main job on embedded defaults: the fleet manager (SQLite + in-process
// MQTT broker) and two agents that enroll with one-time tokens, replay a
// capture in a loop, mirror to a local VXLAN collector and record to pcapng.
// A policy is deployed (v1: HTTPS), then changed (v2: DNS), and the
// collector shows the mirrored traffic follow each change. Then a third,
// hardware appliance (an emulated FPGA tap board) is provisioned over its
// serial console and programmed from a policy. On a terminal it then keeps
// running for you to try the CLI; otherwise it stops there.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startFleetManager } from '@netmirror/fleet-manager';
import { formatCounts, startVxlanCollector } from './vxlan-collector.mjs';
import { hardwareAppliance } from './hardware.mjs';

const root = resolve(import.meta.dirname, '../..');
const work = join(root, '.netmirror/fleet-demo');
const netmirror = join(root, 'apps/agent/bin/netmirror.js');
const interactive = process.stdout.isTTY && !process.argv.includes('--exit');
const children = [];
let fm = null;
let collector = null;

const web = (dest) => ({
  destinations: dest,
  rules: [
    {
      name: 'web',
      priority: 10,
      match: { protocol: 'tcp', port: 443 },
      destinations: ['ids', 'lake'],
    },
  ],
});
const dns = (dest) => ({
  destinations: dest,
  rules: [
    {
      name: 'dns',
      priority: 10,
      match: { protocol: 'udp', port: 53 },
      destinations: ['ids', 'lake'],
    },
  ],
});

try {
  await main();
  if (interactive) {
    await new Promise((r) => {
      process.once('SIGINT', r);
      process.once('SIGTERM', r);
    });
  }
} catch (err) {
  console.error(`\ndemo failed: ${err.message}`);
  process.exitCode = 1;
} finally {
  await shutdown();
}

async function main() {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });

  step('1. A capture to replay: 20,000 mixed frames (web, DNS, ICMP, VLANs, tunnels)');
  const capture = join(work, 'replay.pcap');
  sh('node', [
    join(root, 'tools/capgen/bin/capgen.js'),
    '--frames',
    '20000',
    '--seed',
    '7',
    '--out',
    capture,
  ]);

  step('2. The fleet manager: SQLite + in-process MQTT broker (mqtts, mutual TLS)');
  fm = await startFleetManager({
    databaseUrl: `sqlite:${join(work, 'fleet.db')}`,
    httpPort: (await isFree(8080)) ? 8080 : 0,
    grpcPort: (await isFree(50051)) ? 50051 : 0,
    logger: ['error', 'warn'],
    // MQTT with mutual TLS: the agents connect with the certificate they get at enrollment.
    mqttTls: true,
  });
  console.log(`REST API     ${fm.url}`);
  console.log(`Swagger UI   ${fm.url}/docs`);
  console.log(
    `MQTT broker  ${fm.broker.url} (embedded, MQTT 3.1.1, mutual TLS: fleet CA certificates only)`,
  );
  if (fm.grpcUrl) console.log(`gRPC         ${fm.grpcUrl}`);

  collector = await startVxlanCollector((await isFree(4789)) ? 4789 : 0);
  console.log(`VXLAN collector on udp://127.0.0.1:${collector.port}`);

  step('3. Two agents enroll with one-time tokens (key pairs generated on the "appliance")');
  const fingerprint = (await fetch(`${fm.url}/ca.pem`)).headers.get('x-netmirror-ca-fingerprint');
  for (const n of [1, 2]) {
    const token = await api('POST', '/enrollment-tokens', {
      deviceName: `demo tap ${n}`,
      labels: { site: 'demo', rack: `r${n}` },
      ttlSeconds: 600,
    });
    const dir = join(work, `agent-${n}`);
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify(
        {
          deviceId: `demo-tap-${n}`,
          stateDir: join(dir, 'state'),
          fleet: { url: fm.url, enrollmentToken: token.token, caFingerprint: fingerprint },
          tap: { uri: `pcap:${capture}?loop`, pps: 4000 },
          httpPort: 0,
          telemetrySeconds: 2,
        },
        null,
        2,
      ),
    );
    const child = spawn(process.execPath, [netmirror, 'agent', '--config', config], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d) => process.stderr.write(`  [agent ${n}] ${d}`));
    children.push(child);
  }
  await until(
    'both agents online',
    async () => (await api('GET', '/devices?online=true')).total === 2,
    30_000,
  );
  for (const d of (await api('GET', '/devices')).items)
    console.log(`  ${d.id}  online  labels ${JSON.stringify(d.labels)}  agent ${d.agentVersion}`);

  const dest = { ids: `vxlan://127.0.0.1:${collector.port}?vni=100`, lake: 'record:recordings' };
  step('4. Policy "demo" v1 (mirror HTTPS to the IDS and the recorder), deployed to site=demo');
  await api('POST', '/policies', {
    name: 'demo',
    domain: 'policy',
    targetLabels: { site: 'demo' },
    spec: web(dest),
  });
  await api('POST', '/policies', {
    name: 'keep-1h',
    domain: 'retention',
    targetLabels: { site: 'demo' },
    spec: { fileSeconds: 60, maxAgeSeconds: 3600, maxTotalBytes: 256 << 20 },
  });
  await api('POST', '/policies/keep-1h/deploy', { version: 1 });
  await api('POST', '/policies/demo/deploy', { version: 1 });
  await waitApplied(1);
  collector.take();
  await sleep(2000);
  console.log(`  collector, last 2 s: ${formatCounts(collector.take())}`);

  step('5. Change the rule: v2 mirrors DNS instead, rolled out canary first');
  const v2 = await api('POST', '/policies/demo/versions', { spec: dns(dest), comment: 'DNS only' });
  const rollout = await api('POST', '/rollouts', {
    policy: 'demo',
    version: v2.version,
    strategy: { canary: 1, waves: [100], maxFailuresPerStage: 0, successRatio: 1 },
  });
  await until(
    'rollout completed',
    async () => (await api('GET', `/rollouts/${rollout.id}`)).status === 'completed',
    30_000,
  );
  await waitApplied(2);
  collector.take();
  await sleep(2000);
  console.log(`  collector, last 2 s: ${formatCounts(collector.take())}`);

  step('6. What the fleet manager knows');
  for (const id of ['demo-tap-1', 'demo-tap-2']) {
    const s = await api('GET', `/devices/${id}/state`);
    for (const d of s.domains)
      console.log(
        `  ${id}  ${d.domain.padEnd(9)} desired v${d.desired?.version ?? '-'}  reported v${d.reported?.version ?? '-'} ${d.reported?.status ?? ''}  ${d.inSync ? 'in sync' : 'DRIFT'}`,
      );
    const t = (await api('GET', `/devices/${id}/telemetry?limit=10000`)).items.at(-1);
    if (t)
      console.log(
        `  ${id}  telemetry: seen ${t.taps[0]?.packetsSeen ?? 0} frames; ${t.destinations.map((x) => `${x.name} sent ${x.packetsSent}`).join(', ')}`,
      );
  }
  const recordings = join(work, 'agent-1/recordings');
  const files = existsSync(recordings)
    ? readdirSync(recordings).filter((f) => f.endsWith('.pcapng'))
    : [];
  console.log(`  agent 1 recorder: ${files.length} pcapng file(s) in ${recordings}`);
  if (files.length > 0) sh('capinfos', ['-c', '-M', join(recordings, files[0])]);

  step('7. A hardware tap appliance brought up in the field over its serial console');
  await hardwareAppliance({ work, capture, netmirror, fm, api, fingerprint, children, until });

  const v3 = join(work, 'policy-v3-icmp.json');
  writeFileSync(
    v3,
    JSON.stringify(
      {
        destinations: dest,
        rules: [
          {
            name: 'icmp',
            priority: 10,
            match: { protocol: 'icmp' },
            destinations: ['ids', 'lake'],
          },
        ],
      },
      null,
      2,
    ),
  );
  console.log(`\nThe fleet is up. Try (in another terminal):
  export NETMIRROR_FLEET_URL=${fm.url}
  npx netmirror fleet devices list
  npx netmirror fleet policies push demo --file ${v3}
  npx netmirror fleet deploy demo 3
  npx netmirror fleet devices state demo-tap-1
  npx netmirror fleet telemetry demo-tap-1 --since 1m
  npx netmirror fleet devices state demo-hw-tap
  npx netmirror provision --port ${join(work, 'hw-appliance/console-b')}
Swagger UI: ${fm.url}/docs   Files: ${work}`);
  if (interactive) console.log('\nCtrl-C stops the fleet manager and the agents.');
}

async function waitApplied(policyVersion) {
  await until(
    `both agents on policy v${policyVersion}`,
    async () => {
      for (const id of ['demo-tap-1', 'demo-tap-2']) {
        const s = (await api('GET', `/devices/${id}/state`)).domains.find(
          (d) => d.domain === 'policy',
        );
        if (!s.inSync || s.desired?.policyVersion !== policyVersion) return false;
      }
      return true;
    },
    30_000,
  );
  console.log(`  both agents report v${policyVersion} applied (same hash as the fleet manager's)`);
}

async function shutdown() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
  );
  await collector?.close();
  await fm?.close();
}

async function api(method, path, body) {
  const res = await fetch(fm.url + path, {
    method,
    headers: { 'content-type': 'application/json', 'x-netmirror-actor': 'demo' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function until(what, fn, ms) {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > ms)
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

function isFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function step(text) {
  console.log(`\n== ${text}`);
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status}`);
}
