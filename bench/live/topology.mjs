// The bench's own network: three namespaces with a per-run prefix, nothing
// in the root namespace. Traffic is sent only inside them.
//
//   PREFIX-snd                 PREFIX-tap                       PREFIX-col
//   snd0 (trafgen) ───veth─── in0  (the tapped interface)
//                             mon0 ──────────veth────────────── mon0  (raw copies)
//                             rt0 10.201.0.1/30 ─────veth────── rt0 10.201.0.2/30
//                             vx0 VXLAN 42 → 10.201.0.2         vx0 VXLAN 42 (decapsulates, counts)
//
// IPv6 is off in every namespace before any interface exists (no router
// solicitations, MLD or DAD to count). The mirror links (mon0, rt0) have a
// 9000-byte MTU and the VXLAN devices 8950, so a 1514-byte frame's VXLAN
// copy (1564 bytes) is neither cut nor fragmented. rt0's neighbour is
// static, so not even ARP crosses it. The frames and their copies go to
// MACs nobody owns, so nothing answers: each receiving stack drops them
// after its veth has counted them (see setVxlanNextHop).
import { sh } from './proc.mjs';

export const TAP_IP = '10.201.0.1';
export const COLLECTOR_IP = '10.201.0.2';
export const VNI = 42;
/** Where the VXLAN copies go on the wire while measuring: no interface has this MAC. */
const UNOWNED_MAC = '02:00:00:00:00:c0';
const MIRROR_MTU = 9000;
/** The tapped link: 1500, so native XDP (which veth refuses above a peer MTU of 3506) can attach to in0. */
const TAPPED_MTU = 1500;

export class Topology {
  constructor(prefix) {
    this.prefix = prefix;
    this.snd = `${prefix}-snd`;
    this.tap = `${prefix}-tap`;
    this.col = `${prefix}-col`;
    this.created = [];
  }

  create() {
    for (const ns of [this.snd, this.tap, this.col]) {
      sh('ip', ['netns', 'add', ns]);
      this.created.push(ns);
      sh('ip', [
        'netns',
        'exec',
        ns,
        'sysctl',
        '-qw',
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
      ]);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const veth = (ns, a, peerNs, b, mtu = MIRROR_MTU) =>
      sh('ip', [
        '-n',
        ns,
        'link',
        'add',
        a,
        'mtu',
        String(mtu),
        'type',
        'veth',
        'peer',
        'name',
        b,
        'mtu',
        String(mtu),
        'netns',
        peerNs,
      ]);
    veth(this.snd, 'snd0', this.tap, 'in0', TAPPED_MTU);
    veth(this.tap, 'mon0', this.col, 'mon0');
    veth(this.tap, 'rt0', this.col, 'rt0');
    sh('ip', ['-n', this.tap, 'addr', 'add', `${TAP_IP}/30`, 'dev', 'rt0']);
    sh('ip', ['-n', this.col, 'addr', 'add', `${COLLECTOR_IP}/30`, 'dev', 'rt0']);
    const vxlan = (ns, local, extra) =>
      sh('ip', [
        '-n',
        ns,
        'link',
        'add',
        'vx0',
        'mtu',
        String(MIRROR_MTU - 50),
        'type',
        'vxlan',
        'id',
        String(VNI),
        'local',
        local,
        ...extra,
        'dstport',
        '4789',
        'dev',
        'rt0',
        'nolearning',
      ]);
    vxlan(this.tap, TAP_IP, ['remote', COLLECTOR_IP]);
    vxlan(this.col, COLLECTOR_IP, []);
    for (const [ns, dev] of [
      [this.snd, 'snd0'],
      [this.tap, 'in0'],
      [this.tap, 'mon0'],
      [this.tap, 'rt0'],
      [this.tap, 'vx0'],
      [this.col, 'mon0'],
      [this.col, 'rt0'],
      [this.col, 'vx0'],
    ])
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    this.colRt0Mac = this.links(this.col).get('rt0').address;
    this.setVxlanNextHop(false);
    this.in0Index = this.links(this.tap).get('in0').ifindex;
    this.checkNoIpv6();
  }

  /**
   * The tap namespace's (static) neighbour entry for the collector's
   * address. decapsulate=true: the collector's own MAC, so its VXLAN device
   * takes the copies apart (a check that they are real VXLAN). false, while
   * measuring: a MAC nobody owns, so the collector's veth counts each copy
   * and its stack drops it at once, as it drops the raw copies on mon0. On
   * veth the receiving side's work runs on the sending thread; a real
   * collector is another machine, and decapsulating there (IP, UDP, VXLAN
   * receive: about as much again as sending) would be charged to the
   * sender here.
   */
  setVxlanNextHop(decapsulate) {
    sh('ip', [
      '-n',
      this.tap,
      'neigh',
      'replace',
      COLLECTOR_IP,
      'lladdr',
      decapsulate ? this.colRt0Mac : UNOWNED_MAC,
      'dev',
      'rt0',
      'nud',
      'permanent',
    ]);
  }

  /** Every link of a namespace with its counters (`ip -j -s link`), by name. */
  links(ns) {
    const list = JSON.parse(sh('ip', ['-n', ns, '-j', '-s', 'link', 'show']).stdout);
    return new Map(list.map((l) => [l.ifname, l]));
  }

  /** The counters the bench reads before and after each run. */
  counters() {
    const tap = this.links(this.tap);
    const col = this.links(this.col);
    const s = (l) => l.stats64;
    return {
      in0: s(tap.get('in0')).rx,
      tapMon0: s(tap.get('mon0')).tx,
      colMon0: s(col.get('mon0')).rx,
      colRt0: s(col.get('rt0')).rx,
      colVx0: s(col.get('vx0')).rx,
      snd0: s(this.links(this.snd).get('snd0')).tx,
    };
  }

  /** tc: clsact on in0 and a classic-BPF "every frame" filter mirroring to `dev` (mon0 or vx0). */
  addMirred(dev, bytecode) {
    sh('tc', ['-n', this.tap, 'qdisc', 'add', 'dev', 'in0', 'clsact']);
    sh('tc', [
      '-n',
      this.tap,
      'filter',
      'add',
      'dev',
      'in0',
      'ingress',
      'bpf',
      'bytecode',
      bytecode,
      'action',
      'mirred',
      'egress',
      'mirror',
      'dev',
      dev,
    ]);
  }

  removeMirred() {
    sh('tc', ['-n', this.tap, 'qdisc', 'del', 'dev', 'in0', 'clsact'], { allowFail: true });
  }

  checkNoIpv6() {
    for (const ns of [this.snd, this.tap, this.col]) {
      const out = sh('ip', ['-n', ns, '-6', 'addr', 'show']).stdout.trim();
      if (out !== '') throw new Error(`IPv6 still on in ${ns}: ${out}`);
    }
  }

  /** Deletes the namespaces (their veths and VXLAN devices go with them). Never throws. */
  destroy() {
    for (const ns of this.created.reverse()) sh('ip', ['netns', 'del', ns], { allowFail: true });
    this.created = [];
  }
}

/**
 * Namespaces left by an earlier run of this bench that was killed outright
 * (its pid, in the prefix, is gone): the processes still in them were
 * started by that run; they are ended and the namespaces deleted.
 */
export function removeStale(base) {
  const re = new RegExp(`^(${base}-(\\d+))-(snd|tap|col)\\b`);
  const names = sh('ip', ['netns', 'list']).stdout.split('\n');
  for (const line of names) {
    const m = re.exec(line);
    if (!m) continue;
    const ownerPid = Number(m[2]);
    let alive = true;
    try {
      process.kill(ownerPid, 0);
    } catch {
      alive = false;
    }
    if (alive) continue;
    const ns = line.split(' ')[0];
    const pids = sh('ip', ['netns', 'pids', ns], { allowFail: true }).stdout.split(/\s+/);
    for (const pid of pids.filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    sh('ip', ['netns', 'del', ns], { allowFail: true });
    console.log(`removed ${ns}, left by an earlier run (pid ${ownerPid}) that did not clean up`);
  }
}
