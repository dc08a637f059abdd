import { FanoutMode } from '@netmirror/native';
import { AfPacketTap } from './afpacket-tap.js';
import type { AfPacketTapOptions } from './afpacket-tap.js';
import { PcapFileTap } from './pcap-tap.js';
import type { Tap } from './tap.js';

const SOURCES =
  'pcap:PATH[?loop] or afpacket:IFACE[?ring=MiB&block=KiB&snaplen=N&fanout=GROUP[:MODE]&promisc=0]';

/**
 * Opens a capture source from its URI: `pcap:PATH` (`?loop` replays it
 * forever), or `afpacket:IFACE` for live frames from an interface.
 */
export function openTap(uri: string): Tap {
  const colon = uri.indexOf(':');
  const kind = colon < 0 ? '' : uri.slice(0, colon);
  const [rest, query] = splitQuery(uri.slice(colon + 1));
  switch (kind) {
    case 'pcap':
    case 'pcapng':
    case 'file': {
      if (rest === '') throw new Error(`--from ${uri}: missing file path (pcap:PATH)`);
      if (query !== undefined && query !== 'loop')
        throw new Error(`--from ${uri}: the only option is ?loop`);
      return new PcapFileTap(uri, rest, { loop: query === 'loop' });
    }
    case 'afpacket': {
      if (!/^[^\s/:?]{1,15}$/.test(rest))
        throw new Error(`--from ${uri}: missing or invalid interface name (afpacket:IFACE)`);
      return new AfPacketTap(uri, rest, afPacketOptions(uri, query));
    }
    default:
      throw new Error(`--from ${uri}: unknown source; use ${SOURCES}`);
  }
}

function splitQuery(s: string): [string, string | undefined] {
  const q = s.indexOf('?');
  return q < 0 ? [s, undefined] : [s.slice(0, q), s.slice(q + 1)];
}

const FANOUT_MODES: Record<string, number> = {
  hash: FanoutMode.HASH,
  lb: FanoutMode.LB,
  cpu: FanoutMode.CPU,
  rnd: FanoutMode.RND,
  qm: FanoutMode.QM,
};

/**
 * Defaults: a 64 MiB ring of 1 MiB blocks handed over at least every 10 ms
 * (netsniff-ng's and tcpdump's order of size), whole frames, promiscuous.
 */
function afPacketOptions(uri: string, query: string | undefined): AfPacketTapOptions {
  const o: AfPacketTapOptions = {
    ringBytes: 64 << 20,
    blockBytes: 1 << 20,
    blockTimeoutMs: 10,
    snapLen: 262144,
    promiscuous: true,
  };
  const bad = (what: string): Error => new Error(`--from ${uri}: ${what}`);
  const int = (v: string, name: string, min: number, max: number): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw bad(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    switch (key) {
      case 'ring':
        o.ringBytes = int(value, 'ring (MiB)', 1, 4096) << 20;
        break;
      case 'block':
        o.blockBytes = int(value, 'block (KiB)', 4, 65536) << 10;
        break;
      case 'snaplen':
        o.snapLen = int(value, 'snaplen', 64, 262144);
        break;
      case 'promisc':
        if (value !== '0' && value !== '1') throw bad('promisc must be 0 or 1');
        o.promiscuous = value === '1';
        break;
      case 'fanout': {
        const [group, mode = 'hash'] = value.split(':');
        if (!(mode in FANOUT_MODES))
          throw bad(`fanout mode must be one of ${Object.keys(FANOUT_MODES).join(', ')}`);
        o.fanout = { group: int(group, 'fanout group', 0, 65535), mode: FANOUT_MODES[mode] };
        break;
      }
      default:
        throw bad(`unknown option ${key}; afpacket takes ring, block, snaplen, fanout, promisc`);
    }
  }
  if (o.blockBytes > o.ringBytes) throw bad('block is larger than the ring');
  return o;
}
