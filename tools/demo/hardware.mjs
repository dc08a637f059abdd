// Step 7 of the demo: a hardware appliance brought up in the field. An FPGA
// tap board (the board emulator, a software model, behind a pty pair) is
// driven by a third agent that starts unprovisioned; the technician's tool
// provisions it over its serial console (another pty pair); the fleet
// manager then pushes it a policy, and the board's mirrored output for the
// replayed capture is compared with what the software pipeline selects.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '../..');
const BOARD = 'nm-tap-4x10g';
const BAUD = 921600;

/** Runs the hardware step; every process it starts is pushed onto `children`. */
export async function hardwareAppliance({
  work,
  capture,
  netmirror,
  fm,
  api,
  fingerprint,
  children,
  until,
}) {
  const dir = join(work, 'hw-appliance');
  mkdirSync(dir, { recursive: true });
  const [boardPort, agentPort] = await ptyPair(join(dir, 'board-line'), children);
  const [consolePort, technicianPort] = await ptyPair(join(dir, 'console'), children);

  const boardOut = join(dir, 'board-mon0.pcap');
  const board = spawn(
    process.execPath,
    [
      join(root, 'tools/board-emulator/bin/board-emulator.js'),
      '--board',
      BOARD,
      '--port',
      boardPort,
      '--baud',
      String(BAUD),
      '--out',
      `mon0=pcap:${boardOut}`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(board);
  const answers = createInterface({ input: board.stdout });
  const next = () => new Promise((r) => answers.once('line', (l) => r(JSON.parse(l))));
  await next(); // {"ready":true}
  console.log(`  board emulator (a model of the ${BOARD}) on ${boardPort}, ${BAUD} baud`);

  const config = join(dir, 'agent.json');
  writeFileSync(
    config,
    JSON.stringify(
      {
        stateDir: join(dir, 'state'),
        taps: [`fpga:${agentPort}?board=${BOARD}&baud=${BAUD}`],
        console: { port: consolePort },
        httpPort: 0,
        telemetrySeconds: 2,
      },
      null,
      2,
    ),
  );
  const agent = spawn(process.execPath, [netmirror, 'agent', '--config', config], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let agentLog = '';
  agent.stderr.on('data', (d) => {
    agentLog += d;
    process.stderr.write(`  [hw agent] ${d}`);
  });
  children.push(agent);
  await until("the hardware agent's console", async () => agentLog.includes('console on'), 20_000);

  // Not spawnSync: the fleet manager runs in this process and must keep answering.
  const provision = (...args) =>
    run(process.execPath, [netmirror, 'provision', '--port', technicianPort, ...args]);
  console.log(`  technician: netmirror provision --port ${technicianPort}`);
  console.log(indent((await provision()).out));
  const token = await api('POST', '/enrollment-tokens', {
    labels: { site: 'field', tier: 'hardware' },
    ttlSeconds: 600,
  });
  const enrolled = await provision(
    '--token',
    token.token,
    '--fleet-url',
    fm.url,
    '--ca-fingerprint',
    fingerprint,
    '--name',
    'demo-hw-tap',
    '--site',
    'field lab, rack 7',
    '--address',
    '192.0.2.10/24',
    '--gateway',
    '192.0.2.1',
  );
  if (enrolled.code !== 0) throw new Error(`provisioning failed: ${enrolled.out}`);
  console.log(indent(enrolled.out));
  await until(
    'the hardware appliance online',
    async () => (await api('GET', '/devices/demo-hw-tap').catch(() => null))?.online,
    30_000,
  );
  console.log('  demo-hw-tap  online in the fleet manager');

  const spec = {
    destinations: { mon: 'board:mon0' },
    rules: [
      {
        name: 'web',
        priority: 10,
        match: { protocol: 'tcp', port: [443, 80] },
        destinations: ['mon'],
      },
      { name: 'dns', priority: 20, match: { protocol: 'udp', dstPort: 53 }, destinations: ['mon'] },
    ],
  };
  await api('POST', '/policies', {
    name: 'hw',
    domain: 'policy',
    targetLabels: { tier: 'hardware' },
    spec,
  });
  await api('POST', '/policies/hw/deploy', { version: 1 });
  await until(
    'policy hw applied on the board',
    async () => {
      const s = (await api('GET', '/devices/demo-hw-tap/state')).domains.find(
        (d) => d.domain === 'policy',
      );
      return s?.inSync && s.reported?.status === 'applied';
    },
    30_000,
  );
  console.log(
    '  policy "hw" v1 (web + DNS to board:mon0) compiled to the board\'s filter table and applied',
  );

  board.stdin.write(`feed ${capture} p0\n`);
  const fed = (await next()).fed;
  const rules = join(dir, 'hw-rules.json');
  writeFileSync(
    rules,
    JSON.stringify({ ...spec, destinations: { mon: `pcap:${join(dir, 'software.pcap')}` } }),
  );
  await run(process.execPath, [
    netmirror,
    'mirror',
    '--from',
    `pcap:${capture}`,
    '--rules',
    rules,
    '--quiet',
  ]);
  const count = (file) =>
    Number(
      /(\d+)\s*$/.exec(
        spawnSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' }).stdout,
      )?.[1] ?? -1,
    );
  const software = count(join(dir, 'software.pcap'));
  console.log(
    `  ${fed.frames} frames fed to the board's p0: it mirrored ${fed.copies} to mon0; the software pipeline selects ${software} for the same rules`,
  );
  if (fed.copies !== software || count(boardOut) !== software)
    throw new Error('the board and the software pipeline disagree');
}

async function ptyPair(base, children) {
  const a = `${base}-a`;
  const b = `${base}-b`;
  const socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: 'ignore',
  });
  children.push(socat);
  for (let i = 0; i < 100 && !(existsSync(a) && existsSync(b)); i++)
    await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(a) || !existsSync(b)) throw new Error('socat did not make its pty pair');
  return [a, b];
}

/** A child process's exit code and output, without blocking this process's event loop. */
function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out: out.trim() }));
  });
}

function indent(text) {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
