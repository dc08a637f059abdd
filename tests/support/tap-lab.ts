/**
 * A tapped link to mirror from, built fresh per run:
 *
 *   ns A (pa 10.71.0.1) ── veth ── [root: tapIf]─┐
 *                                               bridge (root)
 *   ns B (pb 10.71.0.2) ── veth ── [root: <p>b]──┘
 *   ns C (pc, IP)   ── veth ── [root: tunnelIf, IP]   tunnels (VXLAN, ERSPAN) go here, MTU 9000
 *   ns C (pr)       ── veth ── [root: rawIf]          raw copies go out here, MTU 9000
 *
 * The agent runs in the root namespace (where the fleet's broker is) and taps
 * `tapIf`, the bridge port of A's link: every frame between A and B crosses it
 * once. Interface names carry a per-run prefix; `remove()` deletes all of it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createNetns } from './netns.js';
import type { Netns } from './netns.js';
import { run, waitForExit, waitForStderr } from './run.js';

export interface TapLab {
  a: Netns;
  b: Netns;
  c: Netns;
  /** Root-namespace end of A's link: the interface to tap. */
  tapIf: string;
  /** Root-namespace end of the raw monitor link (C sees it as `pr`). */
  rawIf: string;
  /** The collector's address on the tunnel link (C's `pc`). */
  collectorIp: string;
  remove(): Promise<void>;
}

async function must(cmd: string, args: string[], netns?: string): Promise<void> {
  const r = await run(cmd, args, { timeoutMs: 10_000, netns });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
}

export async function createTapLab(): Promise<TapLab> {
  const p = `nm${randomBytes(3).toString('hex')}`; // + 3 characters <= 15
  // Root-side addresses: a random /30 in 10.200-249.x, so parallel runs do not collide.
  const r = randomBytes(2);
  const net = `10.${200 + (r[0] % 50)}.${r[1]}`;
  const removers: (() => Promise<void>)[] = [];
  const remove = async (): Promise<void> => {
    for (const f of removers.reverse()) await f().catch(() => undefined);
  };
  try {
    const a = await createNetns('nm-lab-a');
    removers.push(a.remove);
    const b = await createNetns('nm-lab-b');
    removers.push(b.remove);
    const c = await createNetns('nm-lab-c');
    removers.push(c.remove);
    const bridge = `${p}br`;
    await must('ip', ['link', 'add', bridge, 'type', 'bridge']);
    removers.push(() => must('ip', ['link', 'del', bridge]));
    const veth = async (root: string, ns: Netns, inner: string, mtu: number): Promise<void> => {
      await must('ip', [
        'link',
        'add',
        root,
        'mtu',
        `${mtu}`,
        'type',
        'veth',
        'peer',
        'name',
        inner,
        'mtu',
        `${mtu}`,
        'netns',
        ns.name,
      ]);
      removers.push(() => must('ip', ['link', 'del', root]));
      await must('sysctl', ['-q', '-w', `net.ipv6.conf.${root}.disable_ipv6=1`]);
      await must('ip', ['link', 'set', root, 'up']);
      await must('ip', ['link', 'set', inner, 'up'], ns.name);
    };
    await must('sysctl', ['-q', '-w', `net.ipv6.conf.${bridge}.disable_ipv6=1`]);
    await veth(`${p}a`, a, 'pa', 1500);
    await veth(`${p}b`, b, 'pb', 1500);
    await veth(`${p}t`, c, 'pc', 9000);
    await veth(`${p}r`, c, 'pr', 9000);
    await must('ip', ['link', 'set', `${p}a`, 'master', bridge]);
    await must('ip', ['link', 'set', `${p}b`, 'master', bridge]);
    await must('ip', ['link', 'set', bridge, 'up']);
    // One segment per skb: frames captured at A, at the tap and at B are the frames on the wire.
    await must('ip', ['link', 'set', 'pa', 'gso_max_segs', '1'], a.name);
    await must('ip', ['link', 'set', 'pb', 'gso_max_segs', '1'], b.name);
    await must('ip', ['addr', 'add', '10.71.0.1/24', 'dev', 'pa'], a.name);
    await must('ip', ['addr', 'add', '10.71.0.2/24', 'dev', 'pb'], b.name);
    await must('ip', ['addr', 'add', `${net}.1/30`, 'dev', `${p}t`]);
    await must('ip', ['addr', 'add', `${net}.2/30`, 'dev', 'pc'], c.name);
    // The collector's MAC known up front: copies sent while ARP is still unresolved would be
    // queued a few at a time and the rest dropped by the neighbour layer, uncounted.
    const link = await run('ip', ['-j', 'link', 'show', 'pc'], { netns: c.name });
    const mac = (JSON.parse(link.stdout) as { address: string }[])[0].address;
    await must('ip', [
      'neigh',
      'replace',
      `${net}.2`,
      'lladdr',
      mac,
      'dev',
      `${p}t`,
      'nud',
      'permanent',
    ]);
    return { a, b, c, tapIf: `${p}a`, rawIf: `${p}r`, collectorIp: `${net}.2`, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

// --- probes ---------------------------------------------------------------

const MAGIC = 0x4e4d5052; // "NMPR"
const DST = Buffer.from('02005e00f001', 'hex'); // locally administered: nobody owns it, nobody answers
const SRC = Buffer.from('02005e00f002', 'hex');
export type ProbeKind = 'untagged' | 'dot1q' | 'qinq' | 'large';
export const PROBE_KINDS: readonly ProbeKind[] = ['untagged', 'dot1q', 'qinq', 'large'];

/**
 * Probe `i` as it goes on the wire: Ethernet (tags by i % 4) / IPv4 / UDP
 * 10.71.0.1:40000 -> 10.71.0.99:(5000 + port) with the magic and `i` in the
 * payload. Addressed to a MAC nobody owns, so B drops it without a reply.
 */
export function probeFrame(i: number, port = 0): Buffer {
  const kind = PROBE_KINDS[i % 4];
  const tags: number[] = [];
  if (kind === 'dot1q') tags.push(0x8100, (3 << 13) | (10 + (i % 100)));
  if (kind === 'qinq') tags.push(0x88a8, 100, 0x8100, 200 + (i % 50));
  const payloadLen = kind === 'large' ? 1400 : 18 + (i % 64);
  const f = Buffer.alloc(14 + tags.length * 2 + 28 + payloadLen);
  DST.copy(f, 0);
  SRC.copy(f, 6);
  let at = 12;
  for (const t of tags) {
    f.writeUInt16BE(t, at);
    at += 2;
  }
  f.writeUInt16BE(0x0800, at);
  at += 2;
  const ip = at;
  f.writeUInt8(0x45, ip);
  f.writeUInt16BE(28 + payloadLen, ip + 2);
  f.writeUInt16BE(i & 0xffff, ip + 4);
  f.writeUInt8(64, ip + 8);
  f.writeUInt8(17, ip + 9);
  Buffer.from([10, 71, 0, 1, 10, 71, 0, 99]).copy(f, ip + 12);
  let sum = 0;
  for (let k = 0; k < 20; k += 2) sum += f.readUInt16BE(ip + k);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f.writeUInt16BE(~sum & 0xffff, ip + 10);
  const udp = ip + 20;
  f.writeUInt16BE(40000, udp);
  f.writeUInt16BE(5000 + port, udp + 2);
  f.writeUInt16BE(8 + payloadLen, udp + 4);
  const pay = udp + 8;
  f.writeUInt32BE(MAGIC, pay);
  f.writeUInt32BE(i, pay + 4);
  for (let k = 8; k < payloadLen; k++) f[pay + k] = (i * 7 + k) & 0xff;
  return f;
}

/** The probe number inside `data` (a probe, or a tunnel packet carrying one), or -1. */
export function probeSeq(data: Buffer): number {
  for (let at = data.indexOf(SRC); at >= 0; at = data.indexOf(SRC, at + 1)) {
    const m = data.indexOf(Buffer.from([0x4e, 0x4d, 0x50, 0x52]), at);
    if (m >= 0 && m + 8 <= data.length) return data.readUInt32BE(m + 4);
  }
  return -1;
}

// Sends every frame of a file (u16 BE length, bytes)* out of argv[1], paced
// at argv[3] frames per second (0: as fast as it can), then prints the count.
const SENDER = `
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
data = open(sys.argv[2], 'rb').read()
pps = float(sys.argv[3])
start = time.monotonic()
at = n = 0
while at < len(data):
    (l,) = struct.unpack_from('>H', data, at)
    if pps > 0:
        due = start + n / pps
        while time.monotonic() < due: pass
    s.send(data[at + 2:at + 2 + l])
    at += 2 + l
    n += 1
print(n)
`;

/** Sends frames from A out of `pa` (one send() each); resolves with how many went. */
export async function sendFromA(
  lab: TapLab,
  dir: string,
  frames: readonly Buffer[],
  pps = 0,
): Promise<number> {
  const file = join(dir, `frames-${randomBytes(4).toString('hex')}.bin`);
  writeFileSync(
    file,
    Buffer.concat(frames.flatMap((f) => [Buffer.from([f.length >> 8, f.length & 0xff]), f])),
  );
  const r = await run('python3', ['-c', SENDER, 'pa', file, `${pps}`], {
    netns: lab.a.name,
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`probe sender: exit ${r.code}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** Resolves once a packet socket is bound to `ifname` in the root namespace (the agent's ring is open). */
export async function waitForPacketSocket(ifname: string, timeoutMs = 15_000): Promise<void> {
  const index = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // /proc/net/packet: sk RefCnt Type Proto Iface R Rmem User Inode
    const rows = readFileSync('/proc/net/packet', 'utf8').trim().split('\n').slice(1);
    if (rows.some((row) => Number(row.trim().split(/\s+/)[4]) === index)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no packet socket on ${ifname} after ${timeoutMs} ms`);
}

/** tcpdump writing every frame of `ifname` in `ns` to `file` (packet-buffered), started and listening. */
export async function startTcpdump(
  ns: Netns,
  ifname: string,
  file: string,
  filter: string[] = [],
): Promise<{ stop(): Promise<{ dropped: number }> }> {
  // Niced up and with a 64 MiB buffer: the oracle must keep up with bursts of copies.
  const args = ['-n', '-U', '--immediate-mode', '-B', '65536', '-i', ifname, '-w', file, ...filter];
  const child: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', ns.name, 'nice', '-n', '-10', 'tcpdump', ...args],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  await waitForStderr(child, /listening on/);
  return {
    /** Stops it; `dropped` is what tcpdump itself says the kernel dropped on its socket. */
    stop: async () => {
      child.kill('SIGINT');
      await waitForExit(child, 10_000);
      const m = /(\d+) packets? dropped by kernel/.exec(err);
      if (!m) throw new Error(`tcpdump on ${ifname} said no statistics: ${err}`);
      return { dropped: Number(m[1]) };
    },
  };
}

/**
 * Blasts `count` 64-byte UDP frames (to port 5002, nobody's MAC) from A with
 * trafgen as fast as it goes (about 1.7 Mpps here, more than a tap keeps up
 * with on a small ring). One process, socket memory and IRQs left alone.
 */
export async function blastFromA(lab: TapLab, dir: string, count: number): Promise<void> {
  const conf = join(dir, `blast-${randomBytes(4).toString('hex')}.cfg`);
  const bytes = [...DST, ...SRC, 0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0];
  bytes.push(10, 71, 0, 1, 10, 71, 0, 99, 0x9c, 0x40, 0x13, 0x8a, 0, 26, 0, 0);
  writeFileSync(
    conf,
    `{ ${bytes.map((b) => `0x${b.toString(16)}`).join(', ')}, fill(0x00, 18) }\n`,
  );
  const args = [
    '-o',
    'pa',
    '-i',
    conf,
    '-n',
    `${count}`,
    '-P',
    '1',
    '--no-sock-mem',
    '--notouch-irq',
    '--no-cpu-stats',
  ];
  const r = await run('trafgen', args, { netns: lab.a.name, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`trafgen: exit ${r.code}: ${r.stderr}`);
}

/** Frames that crossed `ifname` either way (what a tap on it sees). */
export async function framesCrossing(ifname: string): Promise<number> {
  return (await linkCounter(ifname, 'rx_packets')) + (await linkCounter(ifname, 'tx_packets'));
}

/** An interface counter (`rx_packets`, `tx_packets`, ...) from sysfs, in `ns` or the root namespace. */
export async function linkCounter(ifname: string, counter: string, ns?: Netns): Promise<number> {
  const path = `/sys/class/net/${ifname}/statistics/${counter}`;
  if (!ns) return Number(readFileSync(path, 'utf8'));
  const r = await run('cat', [path], { netns: ns.name, timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`cat ${path} in ${ns.name}: ${r.stderr}`);
  return Number(r.stdout);
}

// --- the original flow between A and B -------------------------------------

// B: a TCP sink that prints the bytes and SHA-256 of what it received, and a
// UDP echo; each serves one client, bounded by a timeout.
const SERVER = `
import hashlib, socket, sys, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.71.0.2', 9001)); u.settimeout(30)
def echo():
    try:
        while True:
            d, a = u.recvfrom(2048)
            if d == b'stop': break
            u.sendto(d, a)
    except socket.timeout:
        pass
threading.Thread(target=echo, daemon=True).start()
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(('10.71.0.2', 9000)); t.listen(1); t.settimeout(30)
print('ready', flush=True)
c, _ = t.accept(); c.settimeout(30)
h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
`;

// A: argv[2] UDP pings one after another, then argv[1] MiB of deterministic
// bytes over TCP; prints "bytes seconds sha256" and the RTTs in microseconds.
const CLIENT = `
import hashlib, socket, sys, time
size = int(sys.argv[1]) << 20; pings = int(sys.argv[2])
block = bytes((i * 7) & 0xff for i in range(1 << 16)); h = hashlib.sha256()
for _ in range(0, size, len(block)): h.update(block)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
rtts = []
for i in range(pings):
    t0 = time.perf_counter_ns(); u.sendto(b'ping %d' % i, ('10.71.0.2', 9001)); u.recvfrom(2048)
    rtts.append((time.perf_counter_ns() - t0) // 1000)
u.sendto(b'stop', ('10.71.0.2', 9001))
t = socket.create_connection(('10.71.0.2', 9000), timeout=30)
start = time.perf_counter()
for _ in range(0, size, len(block)): t.sendall(block)
t.shutdown(socket.SHUT_WR); t.recv(1); t.close()
print(size, time.perf_counter() - start, h.hexdigest())
print(' '.join(map(str, rtts)))
`;

export interface FlowResult {
  /** Megabits per second of the TCP transfer from A to B. */
  mbps: number;
  /** Median and 99th percentile of the UDP echo round trip, microseconds. */
  rttP50: number;
  rttP99: number;
  /** B received exactly what A sent (byte count and SHA-256). */
  intact: boolean;
}

/** Runs the original flow A -> B once: `pings` UDP echoes, then a `mib` MiB TCP transfer. */
export async function measureFlow(lab: TapLab, mib = 64, pings = 300): Promise<FlowResult> {
  const server = spawn('ip', ['netns', 'exec', lab.b.name, 'python3', '-c', SERVER], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  server.stdout.on('data', (b: Buffer) => (out += b.toString()));
  try {
    const deadline = Date.now() + 10_000;
    while (!out.includes('ready') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const r = await run('python3', ['-c', CLIENT, `${mib}`, `${pings}`], {
      netns: lab.a.name,
      timeoutMs: 60_000,
    });
    if (r.code !== 0) throw new Error(`flow client: exit ${r.code}: ${r.stderr}`);
    const [[bytes, seconds, sha], rttLine] = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    await waitForExit(server, 10_000);
    const [gotBytes, gotSha] = out.trim().split('\n').at(-1)!.split(' ');
    const rtts = rttLine.map(Number).sort((x, y) => x - y);
    return {
      mbps: (Number(bytes) * 8) / Number(seconds) / 1e6,
      rttP50: rtts[Math.floor(rtts.length / 2)],
      rttP99: rtts[Math.floor(rtts.length * 0.99)],
      intact: gotBytes === bytes && gotSha === sha,
    };
  } finally {
    server.kill('SIGKILL');
  }
}

/** Resolves once a tc filter carrying an action cookie (the agent's mark) sits on `ifname` ingress. */
export async function waitForTcFilter(ifname: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await run('tc', ['-j', 'filter', 'show', 'dev', ifname, 'ingress'], {
      timeoutMs: 10_000,
    });
    if (r.code === 0 && r.stdout.includes('"cookie"')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no tc filter of ours on ${ifname} after ${timeoutMs} ms`);
}

/** Waits until the agent's tap on `uri` (afpacket:IF or tc:IF) is in place. */
export async function waitForTap(uri: string): Promise<void> {
  const ifname = uri.replace(/^[a-z]+:/, '').split('?')[0];
  if (uri.startsWith('tc:')) await waitForTcFilter(ifname);
  else await waitForPacketSocket(ifname);
}
