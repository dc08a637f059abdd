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
    await must('ip', ['addr', 'add', '10.71.0.1/24', 'dev', 'pa'], a.name);
    await must('ip', ['addr', 'add', '10.71.0.2/24', 'dev', 'pb'], b.name);
    await must('ip', ['addr', 'add', `${net}.1/30`, 'dev', `${p}t`]);
    await must('ip', ['addr', 'add', `${net}.2/30`, 'dev', 'pc'], c.name);
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
): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', ns.name, 'tcpdump', '-n', '-U', '-i', ifname, '-w', file, ...filter],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await waitForStderr(child, /listening on/);
  return {
    stop: async () => {
      child.kill('SIGINT');
      await waitForExit(child, 10_000);
    },
  };
}
