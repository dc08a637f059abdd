import { Erspan2Sink, Erspan3Sink, GreSink } from './gre-sink.js';
import { PcapSink } from './pcap-sink.js';
import { DEFAULT_RETENTION, RecorderSink } from './recorder-sink.js';
import { PcapngSink } from './pcapng-sink.js';
import type { Sink } from './sink.js';
import { TzspSink } from './tzsp-sink.js';
import { VxlanSink } from './vxlan-sink.js';

/** Thrown for a destination URI that cannot be used, naming it and why. */
export class DestinationError extends Error {
  constructor(uri: string, reason: string) {
    super(`destination ${uri}: ${reason}`);
    this.name = 'DestinationError';
  }
}

/**
 * Creates the destination a URI names:
 *   pcap:PATH  pcapng:PATH
 *   vxlan://HOST[:PORT]?vni=N      (port 4789)
 *   gre://HOST[?key=N]
 *   erspan2://HOST?session=N       erspan3://HOST?session=N
 *   tzsp://HOST[:PORT]             (port 37008)
 *   record:DIR[?fileBytes=N&fileSeconds=N&maxAgeSeconds=N&maxTotalBytes=N]
 * Network destinations also take `mtu=N` (cut copies to fit an outer packet
 * of N bytes, counted as truncated) and `queue=BYTES`.
 */
export function openSink(name: string, uri: string): Sink {
  const recorder = /^record:([^?]+)(?:\?(.*))?$/.exec(uri);
  if (recorder) return openRecorder(name, uri, recorder[1], new URLSearchParams(recorder[2] ?? ''));
  const file = /^(pcap|pcapng):(.+)$/.exec(uri);
  if (file && !file[2].startsWith('//')) {
    return file[1] === 'pcap'
      ? new PcapSink(name, uri, file[2])
      : new PcapngSink(name, uri, file[2]);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new DestinationError(
      uri,
      'not a destination URI (pcap:PATH, pcapng:PATH, vxlan://, gre://, erspan2://, erspan3://, tzsp://)',
    );
  }
  const params = new Params(uri, url.searchParams);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new DestinationError(uri, 'missing host');
  const queueBytes = params.int('queue', 16 << 20, 64 << 10, 1 << 30);
  const mtu = params.int('mtu', 0, 576, 65535);
  const port = (fallback: number): number => (url.port === '' ? fallback : Number(url.port));
  const noPort = (): void => {
    if (url.port !== '')
      throw new DestinationError(uri, `${url.protocol}// takes no port (it is not UDP)`);
  };
  let sink: Sink;
  switch (url.protocol) {
    case 'vxlan:':
      sink = new VxlanSink(
        name,
        uri,
        { host, port: port(4789) },
        { vni: params.int('vni', 0, 0, 0xffffff), mtu, queueBytes },
      );
      break;
    case 'tzsp:':
      sink = new TzspSink(name, uri, { host, port: port(37008) }, { mtu, queueBytes });
      break;
    case 'gre:':
      noPort();
      sink = new GreSink(name, uri, host, params.optionalInt('key', 0, 0xffffffff), {
        mtu,
        queueBytes,
      });
      break;
    case 'erspan2:':
    case 'erspan3:': {
      noPort();
      const session = params.required('session', 0, 1023);
      const Kind = url.protocol === 'erspan2:' ? Erspan2Sink : Erspan3Sink;
      sink = new Kind(name, uri, host, session, { mtu, queueBytes });
      break;
    }
    default:
      throw new DestinationError(uri, `unknown kind "${url.protocol.slice(0, -1)}"`);
  }
  params.rejectUnknown();
  return sink;
}

/** `record:DIR?fileBytes=N&fileSeconds=N&maxAgeSeconds=N&maxTotalBytes=N` */
function openRecorder(name: string, uri: string, dir: string, query: URLSearchParams): Sink {
  const params = new Params(uri, query);
  const sink = new RecorderSink(name, uri, dir, {
    fileBytes: params.int('fileBytes', DEFAULT_RETENTION.fileBytes, 64 << 10, 2 ** 40),
    fileSeconds: params.int('fileSeconds', 0, 0, 86400 * 365),
    maxAgeSeconds: params.int('maxAgeSeconds', 0, 0, 86400 * 3650),
    maxTotalBytes: params.int('maxTotalBytes', 0, 0, 2 ** 50),
  });
  params.rejectUnknown();
  return sink;
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
