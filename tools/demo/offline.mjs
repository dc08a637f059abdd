#!/usr/bin/env node
// The main job, offline slice: generate a realistic capture, mirror it by the
// example rules to a pcapng recording and to a VXLAN collector on loopback,
// and show what each received (the collector decodes every VXLAN packet).
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const work = join(root, '.netmirror/demo');
mkdirSync(work, { recursive: true });
const capture = join(work, 'traffic.pcap');
const rules = join(work, 'rules.yaml');
const netmirror = join(root, 'apps/agent/bin/netmirror.js');

step(
  '1. A capture of 200,000 mixed frames (IPv4/IPv6, TCP/UDP/ICMP, VLAN/QinQ, tunnels, fragments)',
);
sh('node', [
  join(root, 'tools/capgen/bin/capgen.js'),
  '--frames',
  '200000',
  '--seed',
  '2026',
  '--out',
  capture,
]);

step('2. A VXLAN collector on 127.0.0.1:4789 (an IDS stand-in that decodes what it gets)');
const perVni = new Map();
let innerBad = 0;
const collector = createSocket({ type: 'udp4', recvBufferSize: 64 << 20 });
collector.on('message', (msg) => {
  const ok = msg.length >= 8 + 14 && (msg[0] & 0x08) !== 0;
  if (!ok) innerBad++;
  const vni = msg.readUIntBE(4, 3);
  perVni.set(vni, (perVni.get(vni) ?? 0) + 1);
});
await new Promise((r) => collector.bind(4789, '127.0.0.1', r));

step(`3. netmirror mirror --rules (apps/agent/examples/mirror-rules.yaml)`);
writeFileSync(
  rules,
  readFileSync(join(root, 'apps/agent/examples/mirror-rules.yaml'), 'utf8').replace(
    'pcapng:mirror-archive.pcapng',
    `pcapng:${join(work, 'archive.pcapng')}`,
  ),
);
const stats = join(work, 'stats.json');
await shAsync('node', [
  netmirror,
  'mirror',
  '--from',
  `pcap:${capture}`,
  '--rules',
  rules,
  '--stats-json',
  stats,
]);
await new Promise((r) => setTimeout(r, 500));
collector.close();

step('4. What arrived');
const summary = JSON.parse(readFileSync(stats, 'utf8'));
const sent = summary.destinations.find((d) => d.name === 'ids').sent;
const got = [...perVni.values()].reduce((a, b) => a + b, 0);
console.log(
  `VXLAN collector: ${got} packets (VNI ${[...perVni.keys()].join(', ')}), ${innerBad} undecodable; netmirror sent ${sent}`,
);
console.log('(a loopback UDP socket may drop under a burst; the recording below has every copy)');
sh('capinfos', ['-c', '-a', '-e', '-I', join(work, 'archive.pcapng')]);
console.log(`\nFiles are in ${work}. Try, for example:`);
console.log(
  `  npx netmirror mirror --from pcap:${capture} --filter 'tcp port 443 or udp port 53' --to pcap:/tmp/web-dns.pcap`,
);
console.log(`  tshark -r ${join(work, 'archive.pcapng')} -q -z io,phs`);

function step(text) {
  console.log(`\n== ${text}`);
}
function sh(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} failed`);
}
function shAsync(cmd, args) {
  return new Promise((res, rej) => {
    import('node:child_process').then(({ spawn }) => {
      const p = spawn(cmd, args, { stdio: 'inherit' });
      p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`${cmd} exited ${code}`))));
    });
  });
}
