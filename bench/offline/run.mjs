#!/usr/bin/env node
// bench/offline: netmirror against tcpdump on the same ~1,000,000-frame
// capture and the same filter, interleaved, median of N runs.
//
//   node bench/offline/run.mjs [--frames N] [--reps N] [--filter EXPR]
//
// Prints packets per second (input frames / wall time of the whole process)
// for: tcpdump -r IN -w OUT EXPR; netmirror ... --to pcap:OUT; netmirror ...
// --to vxlan://127.0.0.1 (a local socket that never reads takes the copies),
// the ratios, whether netmirror's pcap equals tcpdump's record for record,
// and how many garbage collections netmirror's run needed (per-packet
// allocation would show as thousands).
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000000' },
    reps: { type: 'string', default: '3' },
    filter: { type: 'string', default: 'tcp port 443 or udp port 53' },
    seed: { type: 'string', default: '42' },
  },
});
const frames = Number(values.frames);
const reps = Number(values.reps);
const filter = values.filter;
const dataDir = join(root, 'bench/.data');
mkdirSync(dataDir, { recursive: true });
const input = join(dataDir, `offline-${frames}-${values.seed}.pcap`);
const out = (name) => join(dataDir, `out-${name}.pcap`);
const netmirror = join(root, 'apps/agent/bin/netmirror.js');

if (!existsSync(input)) {
  console.log(`generating ${frames} frames into ${input} ...`);
  run('node', [
    join(root, 'tools/capgen/bin/capgen.js'),
    '--frames',
    String(frames),
    '--seed',
    values.seed,
    '--out',
    input,
  ]);
}
console.log(
  `input: ${input} (${frames} frames, ${(statSync(input).size / 1e6).toFixed(0)} MB), filter '${filter}', ${reps} runs each, interleaved`,
);

// A UDP socket that never reads: the VXLAN copies have a real receiver on loopback.
const sink = createSocket('udp4');
await new Promise((r) => sink.bind(0, '127.0.0.1', r));
const vxlanPort = sink.address().port;

const results = { tcpdump: [], pcap: [], vxlan: [] };
let gcCounts = [];
for (let i = 0; i < reps; i++) {
  results.tcpdump.push(
    timed('tcpdump', ['--time-stamp-precision=nano', '-r', input, '-w', out('tcpdump'), filter]),
  );
  const pcapRun = timedNode([
    '--trace-gc',
    netmirror,
    'mirror',
    '--from',
    `pcap:${input}`,
    '--filter',
    filter,
    '--to',
    `pcap:${out('netmirror')}`,
    '--quiet',
  ]);
  results.pcap.push(pcapRun.seconds);
  gcCounts.push(
    pcapRun.stdout.split('\n').filter((l) => /Scavenge|Mark-Compact|Mark-sweep/.test(l)).length,
  );
  results.vxlan.push(
    timedNode([
      netmirror,
      'mirror',
      '--from',
      `pcap:${input}`,
      '--filter',
      filter,
      '--to',
      `vxlan://127.0.0.1:${vxlanPort}?vni=1`,
      '--quiet',
    ]).seconds,
  );
}
sink.close();

const same = sameRecords(out('tcpdump'), out('netmirror'));
const row = (name, list) => {
  const m = median(list);
  return `${name.padEnd(44)} ${(frames / m / 1e6).toFixed(3)} Mpps   median ${m.toFixed(3)} s   runs ${list.map((s) => s.toFixed(2)).join(' ')}`;
};
console.log(row(`tcpdump -r IN -w OUT '${filter}'`, results.tcpdump));
console.log(row('netmirror mirror --filter ... --to pcap:OUT', results.pcap));
console.log(row('netmirror mirror --filter ... --to vxlan://127.0.0.1', results.vxlan));
console.log(
  `ratio pcap  (netmirror / tcpdump): ${(median(results.tcpdump) / median(results.pcap)).toFixed(2)}`,
);
console.log(
  `ratio vxlan (netmirror / tcpdump -w): ${(median(results.tcpdump) / median(results.vxlan)).toFixed(2)}`,
);
console.log(`pcap output equals tcpdump's, record for record: ${same ? 'yes' : 'NO'}`);
console.log(`garbage collections in a netmirror run of ${frames} frames: ${gcCounts.join(', ')}`);
for (const name of ['tcpdump', 'netmirror']) rmSync(out(name), { force: true });

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}
function timed(cmd, args) {
  const t = process.hrtime.bigint();
  run(cmd, args);
  return Number(process.hrtime.bigint() - t) / 1e9;
}
function timedNode(args) {
  const t = process.hrtime.bigint();
  const r = run(process.execPath, args);
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, stdout: String(r.stdout) };
}
function median(list) {
  const s = [...list].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
/** Same records after the 24-byte file header (snaplen may differ). */
function sameRecords(a, b) {
  return readFileSync(a).subarray(24).equals(readFileSync(b).subarray(24));
}
