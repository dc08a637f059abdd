/** Thrown for a destination URI that cannot be used, naming it and why. */
export class DestinationError extends Error {
  constructor(uri: string, reason: string) {
    super(`destination ${uri}: ${reason}`);
    this.name = 'DestinationError';
  }
}

/** Queue and MTU options every network destination takes. */
export interface NetworkOptions {
  /** Largest outer IP packet; larger copies are cut to fit (0 = no limit). */
  mtu: number;
  /** Bytes of the destination's queue. */
  queueBytes: number;
}

/** A destination URI, parsed and range-checked (what it names, not an open file or socket). */
export type Destination =
  | { kind: 'pcap' | 'pcapng'; path: string }
  | {
      kind: 'record';
      dir: string;
      fileBytes: number;
      fileSeconds: number;
      maxAgeSeconds: number;
      maxTotalBytes: number;
    }
  | ({ kind: 'vxlan'; host: string; port: number; vni: number } & NetworkOptions)
  | ({ kind: 'tzsp'; host: string; port: number } & NetworkOptions)
  | ({ kind: 'gre'; host: string; key: number | undefined } & NetworkOptions)
  | ({ kind: 'erspan2' | 'erspan3'; host: string; session: number } & NetworkOptions)
  | { kind: 'iface'; ifname: string; queueBytes: number }
  | { kind: 'board'; port: string };

/** A recorder's file size when the URI gives none. */
export const DEFAULT_RECORD_FILE_BYTES = 256 << 20;

/**
 * Parses a destination URI:
 *   pcap:PATH  pcapng:PATH
 *   record:DIR[?fileBytes=N&fileSeconds=N&maxAgeSeconds=N&maxTotalBytes=N]
 *   vxlan://HOST[:PORT]?vni=N      (port 4789)
 *   gre://HOST[?key=N]
 *   erspan2://HOST?session=N       erspan3://HOST?session=N
 *   tzsp://HOST[:PORT]             (port 37008)
 *   iface:IFNAME[?queue=BYTES]     (the frames as they are, out of a monitor port)
 *   board:PORT                     (a monitor port of an FPGA tap board: copies made in hardware)
 * Network destinations also take `mtu=N` and `queue=BYTES`. Throws a
 * DestinationError naming the parameter at fault.
 */
export function parseDestination(uri: string): Destination {
  const recorder = /^record:([^?]+)(?:\?(.*))?$/.exec(uri);
  if (recorder) {
    const params = new Params(uri, new URLSearchParams(recorder[2] ?? ''));
    const d: Destination = {
      kind: 'record',
      dir: recorder[1],
      fileBytes: params.int('fileBytes', DEFAULT_RECORD_FILE_BYTES, 64 << 10, 2 ** 40),
      fileSeconds: params.int('fileSeconds', 0, 0, 86400 * 365),
      maxAgeSeconds: params.int('maxAgeSeconds', 0, 0, 86400 * 3650),
      maxTotalBytes: params.int('maxTotalBytes', 0, 0, 2 ** 50),
    };
    params.rejectUnknown();
    return d;
  }
  const iface = /^iface:([^?]*)(?:\?(.*))?$/.exec(uri);
  if (iface) {
    if (!/^[^\s/:?]{1,15}$/.test(iface[1]))
      throw new DestinationError(uri, 'needs an interface name of 1-15 characters (iface:IFNAME)');
    const params = new Params(uri, new URLSearchParams(iface[2] ?? ''));
    const d: Destination = {
      kind: 'iface',
      ifname: iface[1],
      queueBytes: params.int('queue', 16 << 20, 64 << 10, 1 << 30),
    };
    params.rejectUnknown();
    return d;
  }
  const board = /^board:(.*)$/.exec(uri);
  if (board) {
    if (!/^[a-z][a-z0-9]{0,15}$/.test(board[1]))
      throw new DestinationError(uri, 'needs a monitor port name of the board (board:mon0)');
    return { kind: 'board', port: board[1] };
  }
  const file = /^(pcap|pcapng):(.+)$/.exec(uri);
  if (file && !file[2].startsWith('//'))
    return { kind: file[1] as 'pcap' | 'pcapng', path: file[2] };
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new DestinationError(
      uri,
      'not a destination URI (pcap:PATH, pcapng:PATH, record:DIR, iface:IFNAME, board:PORT, vxlan://, gre://, erspan2://, erspan3://, tzsp://)',
    );
  }
  const params = new Params(uri, url.searchParams);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new DestinationError(uri, 'missing host');
  const net: NetworkOptions = {
    queueBytes: params.int('queue', 16 << 20, 64 << 10, 1 << 30),
    mtu: params.int('mtu', 0, 576, 65535),
  };
  const port = (fallback: number): number => (url.port === '' ? fallback : Number(url.port));
  const noPort = (): void => {
    if (url.port !== '')
      throw new DestinationError(uri, `${url.protocol}// takes no port (it is not UDP)`);
  };
  let d: Destination;
  switch (url.protocol) {
    case 'vxlan:':
      d = { kind: 'vxlan', host, port: port(4789), vni: params.int('vni', 0, 0, 0xffffff), ...net };
      break;
    case 'tzsp:':
      d = { kind: 'tzsp', host, port: port(37008), ...net };
      break;
    case 'gre:':
      noPort();
      d = { kind: 'gre', host, key: params.optionalInt('key', 0, 0xffffffff), ...net };
      break;
    case 'erspan2:':
    case 'erspan3:':
      noPort();
      d = {
        kind: url.protocol === 'erspan2:' ? 'erspan2' : 'erspan3',
        host,
        session: params.required('session', 0, 1023),
        ...net,
      };
      break;
    default:
      throw new DestinationError(uri, `unknown kind "${url.protocol.slice(0, -1)}"`);
  }
  params.rejectUnknown();
  return d;
}

/** Query parameters with range checks and errors that name the parameter. */
class Params {
  private readonly used = new Set<string>();

  constructor(
    private readonly uri: string,
    private readonly params: URLSearchParams,
  ) {}

  optionalInt(name: string, min: number, max: number): number | undefined {
    this.used.add(name);
    const raw = this.params.get(name);
    if (raw === null) return undefined;
    const v = Number(raw);
    if (!/^\d+$/.test(raw) || v < min || v > max) {
      throw new DestinationError(this.uri, `${name}=${raw} must be an integer ${min}-${max}`);
    }
    return v;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.optionalInt(name, min, max);
    return v === undefined ? fallback : v;
  }

  required(name: string, min: number, max: number): number {
    const v = this.optionalInt(name, min, max);
    if (v === undefined) throw new DestinationError(this.uri, `needs ${name}=N (${min}-${max})`);
    return v;
  }

  rejectUnknown(): void {
    for (const key of this.params.keys()) {
      if (!this.used.has(key)) throw new DestinationError(this.uri, `unknown parameter "${key}"`);
    }
  }
}
