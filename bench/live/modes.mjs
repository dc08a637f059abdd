// What bench/live measures: the anchor tools and NetMirror, each as the
// command it runs in the tap namespace and where its delivered frames are
// counted. Every capture process reads in0 of the tap namespace.
import { COLLECTOR_IP, VNI } from './topology.mjs';

/**
 * kind: 'none' (no tap: the sender's baseline), 'process' (a capture
 * program, stopped with SIGINT) or 'tc' (kernel mirred, no process).
 * file: frames are counted in the recording. delivered: a collector
 * counter instead ('colMon0': rx of the collector's monitor veth, raw
 * copies; 'colRt0': rx of the collector's routed veth, VXLAN copies).
 */
export function modes({ node, netmirror, afpacketQuery }) {
  const afpacket = `afpacket:in0${afpacketQuery ? `?${afpacketQuery}` : ''}`;
  const nm = (to, json, from = afpacket) => [
    node,
    netmirror,
    'mirror',
    '--from',
    from,
    '--to',
    to,
    '--stats-json',
    json,
    '--quiet',
  ];
  return {
    none: { label: 'no tap (sender baseline)', kind: 'none' },
    tcpdump: {
      label: 'tcpdump -w (-B 64 MiB)',
      kind: 'process',
      file: 'pcap',
      // -Z root: write as root (tcpdump would drop to user tcpdump, who cannot write the run directory).
      argv: (c) => [
        'tcpdump',
        '-n',
        '-i',
        'in0',
        '-s',
        '262144',
        '-B',
        '65536',
        '-Z',
        'root',
        '-w',
        c.file,
      ],
    },
    netsniff: {
      label: 'netsniff-ng -S 64MiB',
      kind: 'process',
      file: 'pcap',
      // -S 64MiB: it would size its ring from veth's 10 Gb/s (2.4 GiB, 2-3 s to start).
      argv: (c) => ['netsniff-ng', '-i', 'in0', '-o', c.file, '-S', '64MiB', '-s', '-A', '-Q'],
    },
    daemonlogger: {
      label: 'daemonlogger -i in0 -o mon0',
      kind: 'process',
      delivered: 'colMon0',
      // -P/-p: its pid file goes to the run directory, not /var/run.
      argv: (c) => [
        'daemonlogger',
        '-i',
        'in0',
        '-o',
        'mon0',
        '-P',
        c.dir,
        '-p',
        'daemonlogger.pid',
      ],
    },
    // The XDP hook alone: xdp-filter's program (policy deny, no rules: every
    // frame dropped in XDP, no socket, nothing copied), generic mode like
    // `xdp:`. It shows what attaching XDP costs the receiving (= sending, on
    // veth) core before AF_XDP copies anything. xdp-filter wants a bpffs; the
    // bench mounts one in the shell's own mount namespace (ip netns exec makes
    // one), and detaches the program when stopped.
    'xdp-hook': {
      label: 'XDP hook only (xdp-filter, skb)',
      kind: 'process',
      ready: 'xdp',
      argv: () => [
        'sh',
        '-c',
        'mount -t bpf bpf /sys/fs/bpf && xdp-filter load -m skb -p deny in0 || exit 1; ' +
          'trap "ip link set dev in0 xdpgeneric off; exit 0" INT TERM; while :; do sleep 0.1; done',
      ],
    },
    'tc-veth': { label: 'tc mirred → veth', kind: 'tc', mirredTo: 'mon0', delivered: 'colMon0' },
    'tc-vxlan': {
      label: 'tc mirred → VXLAN dev',
      kind: 'tc',
      mirredTo: 'vx0',
      delivered: 'colRt0',
    },
    'nm-pcapng': {
      label: 'netmirror → pcapng:FILE',
      kind: 'process',
      netmirror: true,
      file: 'pcapng',
      argv: (c) => nm(`pcapng:${c.file}`, c.statsJson),
    },
    'nm-iface': {
      label: 'netmirror → iface:mon0',
      kind: 'process',
      netmirror: true,
      delivered: 'colMon0',
      argv: (c) => nm('iface:mon0', c.statsJson),
    },
    'nm-vxlan': {
      label: 'netmirror → vxlan://',
      kind: 'process',
      netmirror: true,
      delivered: 'colRt0',
      argv: (c) => nm(`vxlan://${COLLECTOR_IP}?vni=${VNI}`, c.statsJson),
    },
    // ready: how the bench knows the tap is in place ('packet' by default: a packet socket on in0).
    'nm-xdp-pcapng': {
      label: 'netmirror xdp: → pcapng:FILE',
      kind: 'process',
      netmirror: true,
      ready: 'xdp',
      file: 'pcapng',
      // in0 ends the link here (the frames go to nobody), so XDP taking them disturbs nothing.
      argv: (c) => nm(`pcapng:${c.file}`, c.statsJson, 'xdp:in0'),
    },
    'nm-xdp-drv-pcapng': {
      label: 'netmirror xdp:?mode=drv → pcapng:FILE',
      kind: 'process',
      netmirror: true,
      ready: 'xdp',
      file: 'pcapng',
      argv: (c) => nm(`pcapng:${c.file}`, c.statsJson, 'xdp:in0?mode=drv'),
    },
    'nm-tc-iface': {
      label: 'netmirror tc: → iface:mon0',
      kind: 'process',
      netmirror: true,
      ready: 'tc',
      delivered: 'colMon0',
      argv: (c) => nm('iface:mon0', c.statsJson, 'tc:in0'),
    },
    'nm-tc-vxlan': {
      label: 'netmirror tc: → vxlan://',
      kind: 'process',
      netmirror: true,
      ready: 'tc',
      delivered: 'colRt0',
      // Its own VXLAN device may not share the plain tc mode's VNI and port (the kernel refuses).
      argv: (c) => nm(`vxlan://${COLLECTOR_IP}?vni=${VNI + 1}`, c.statsJson, 'tc:in0'),
    },
  };
}

export const DEFAULT_MODES = [
  'none',
  'tcpdump',
  'netsniff',
  'daemonlogger',
  'tc-veth',
  'tc-vxlan',
  'nm-pcapng',
  'nm-iface',
  'nm-vxlan',
  'nm-xdp-pcapng',
  'xdp-hook',
  'nm-xdp-drv-pcapng',
  'nm-tc-iface',
  'nm-tc-vxlan',
];
