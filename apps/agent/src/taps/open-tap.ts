import { FanoutMode } from '@netmirror/native';
import { AfPacketTap } from './afpacket-tap.js';
import type { AfPacketTapOptions } from './afpacket-tap.js';
import { MergedTap } from './merged-tap.js';
import { PcapFileTap } from './pcap-tap.js';
import { XdpTap, xdpTapOptions } from './xdp-tap.js';
import { openUsbTap } from './usb-tap.js';
import type { Tap } from './tap.js';

const SOURCES =
  'pcap:PATH[?loop], afpacket:IFACE[?ring=SIZE&block=SIZE&snaplen=N&fanout=GROUP[:MODE]&promisc=0], xdp:IFACE[?queue=N&frames=N&mode=skb|drv&zc=0|1|auto], usb:[VID:PID][?serial=S&snaplen=N&ports=MASK], tc:IFACE or fpga:SERIALPORT?board=PROFILE';

/** Opens one source, or several as one (`MergedTap`); a failure closes those already open. */
export function openTaps(uris: readonly string[]): Tap {
  if (uris.length === 1) return openTap(uris[0]);
  const taps: Tap[] = [];
  try {
    for (const uri of uris) taps.push(openTap(uri));
    return new MergedTap(taps);
  } catch (err) {
    for (const t of taps) t.close();
    throw err;
  }
}

/**
 * Opens a capture source from its URI: `pcap:PATH` (`?loop` replays it
 * forever), `afpacket:IFACE` or `xdp:IFACE` for live frames from an
 * interface.
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
    case 'afpacket':
    case 'xdp': {
      if (!/^[^\s/:?]{1,15}$/.test(rest))
        throw new Error(`--from ${uri}: missing or invalid interface name (${kind}:IFACE)`);
      return openLive(uri, rest, () =>
        kind === 'afpacket'
          ? new AfPacketTap(uri, rest, afPacketOptions(uri, query))
          : new XdpTap(uri, rest, xdpTapOptions(uri, query)),
      );
    }
    case 'usb':
      return openUsbTap(uri, rest, query);
    default:
      throw new Error(`--from ${uri}: unknown source; use ${SOURCES}`);
  }
}

/** Opens a live tap, saying plainly what a missing interface or missing privilege means. */
function openLive(uri: string, ifname: string, open: () => Tap): Tap {
  try {
    return open();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENODEV')
      throw new Error(`--from ${uri}: there is no interface ${ifname}`, { cause: err });
    if (code === 'EPERM' || code === 'EACCES')
      throw new Error(`--from ${uri}: capturing needs CAP_NET_RAW (run as root)`, { cause: err });
    throw err;
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
  /** N with a K or M suffix, or a bare N in the option's own unit (1 << shift bytes). */
  const size = (v: string, name: string, shift: number, min: number, max: number): number => {
    const m = /^(\d+)([KkMm]?)$/.exec(v);
    const n = m ? Number(m[1]) * 2 ** (m[2] === '' ? shift : /k/i.test(m[2]) ? 10 : 20) : NaN;
    if (!(n >= min && n <= max))
      throw bad(`${name}=${v}: give a size from ${min / 1024}K to ${max / 2 ** 20}M`);
    return n;
  };
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    switch (key) {
      case 'ring':
        o.ringBytes = size(value, 'ring', 20, 64 << 10, 4 * 2 ** 30);
        break;
      case 'block':
        o.blockBytes = size(value, 'block', 10, 4 << 10, 64 << 20);
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
