import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { TopicTree } from '@netmirror/protocol';

const require = createRequire(import.meta.url);

/** `netmirror agent --config FILE`: YAML or JSON. */
export interface AgentConfig {
  /** The device's id; after enrollment it comes from the state directory. */
  deviceId?: string;
  /** Where keys, certificates and the last applied state live. */
  stateDir: string;
  fleet?: {
    /** The fleet manager's REST base URL, for enrollment. */
    url: string;
    /** One-time enrollment token (first start only). */
    enrollmentToken?: string;
    /**
     * The fleet CA's public-key fingerprint (SHA-256 of its SPKI DER,
     * `AB:CD:…`, as `GET /ca.pem` sends in X-NetMirror-CA-Fingerprint), got
     * out of band with the token. Enrollment refuses any other CA.
     */
    caFingerprint?: string;
  };
  /** The MQTT broker (`mqtt://HOST:PORT`); enrollment can provide it. */
  brokerUrl?: string;
  /** Root of the MQTT topic tree (default `netmirror/v1`): several fleets on one broker. */
  topicRoot?: string;
  /** The capture source, e.g. `pcap:/data/replay.pcap?loop` paced at `pps`, or `afpacket:eth1`. */
  tap?: { uri: string; pps?: number };
  /** Several live sources at once instead of `tap`, e.g. `[afpacket:eth1, afpacket:eth2]`. */
  taps?: string[];
  /** Health and Prometheus metrics: `GET /health`, `GET /metrics` (0 = any free port). */
  httpPort?: number;
  /** Seconds between telemetry messages (default 10). */
  telemetrySeconds?: number;
  /** The provisioning console on a serial port (`netmirror provision` talks to it). */
  console?: { port: string; baud?: number };
}

/** Reads and checks an agent configuration, naming the field at fault. */
export function loadAgentConfig(path: string): AgentConfig {
  let doc: unknown;
  try {
    doc = (require('yaml') as typeof import('yaml')).parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
  return checkAgentConfig(doc, path);
}

export function checkAgentConfig(doc: unknown, origin = 'config'): AgentConfig {
  const bad = (field: string, message: string): never => {
    throw new Error(`${origin}: ${field}: ${message}`);
  };
  if (!isObject(doc)) return bad('(top level)', 'expected a mapping');
  const known = [
    'deviceId',
    'stateDir',
    'fleet',
    'brokerUrl',
    'topicRoot',
    'tap',
    'taps',
    'httpPort',
    'telemetrySeconds',
    'console',
  ];
  for (const key of Object.keys(doc)) if (!known.includes(key)) bad(key, 'unknown field');
  if (typeof doc.stateDir !== 'string' || doc.stateDir === '')
    bad('stateDir', 'expected a directory path');
  if (
    doc.deviceId !== undefined &&
    (typeof doc.deviceId !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(doc.deviceId))
  ) {
    bad('deviceId', 'letters, digits, _ . - (1-64)');
  }
  if (doc.fleet !== undefined) {
    if (!isObject(doc.fleet) || typeof doc.fleet.url !== 'string' || !isHttpUrl(doc.fleet.url))
      bad('fleet.url', 'expected the fleet manager URL (http:// or https://)');
    const f = doc.fleet as Record<string, unknown>;
    for (const key of Object.keys(f))
      if (!['url', 'enrollmentToken', 'caFingerprint'].includes(key))
        bad(`fleet.${key}`, 'unknown field');
    if (f.enrollmentToken !== undefined && typeof f.enrollmentToken !== 'string')
      bad('fleet.enrollmentToken', 'expected a string');
    if (f.caFingerprint !== undefined) {
      if (typeof f.caFingerprint !== 'string' || !CA_FINGERPRINT.test(f.caFingerprint))
        bad('fleet.caFingerprint', 'expected a SHA-256 fingerprint, 32 hex bytes as AB:CD:…');
      // One spelling from here on: upper case, as fingerprint() and the fleet manager write it.
      f.caFingerprint = (f.caFingerprint as string).toUpperCase();
    }
  }
  if (
    doc.brokerUrl !== undefined &&
    (typeof doc.brokerUrl !== 'string' || !/^mqtts?:\/\//.test(doc.brokerUrl))
  ) {
    bad('brokerUrl', 'expected mqtt://HOST:PORT or mqtts://HOST:PORT');
  }
  if (doc.topicRoot !== undefined) {
    try {
      if (typeof doc.topicRoot !== 'string') throw new Error();
      new TopicTree(doc.topicRoot);
    } catch {
      bad('topicRoot', 'expected segments of [A-Za-z0-9_.-] separated by /, e.g. netmirror/v1');
    }
  }
  if ((doc.tap === undefined) === (doc.taps === undefined))
    bad('tap', 'give either tap (one source) or taps (a list of sources)');
  if (doc.tap !== undefined) {
    if (!isObject(doc.tap) || typeof doc.tap.uri !== 'string')
      bad('tap.uri', 'expected a capture source URI');
    const tap = doc.tap as Record<string, unknown>;
    if (tap.pps !== undefined && !(typeof tap.pps === 'number' && tap.pps > 0))
      bad('tap.pps', 'expected a rate > 0');
  } else if (
    !Array.isArray(doc.taps) ||
    doc.taps.length === 0 ||
    !doc.taps.every((t) => typeof t === 'string' && t !== '')
  ) {
    bad('taps', 'expected a non-empty list of capture source URIs');
  }
  if (
    doc.httpPort !== undefined &&
    !(
      Number.isInteger(doc.httpPort) &&
      (doc.httpPort as number) >= 0 &&
      (doc.httpPort as number) < 65536
    )
  ) {
    bad('httpPort', 'expected a port 0-65535');
  }
  if (
    doc.telemetrySeconds !== undefined &&
    !(typeof doc.telemetrySeconds === 'number' && doc.telemetrySeconds > 0)
  ) {
    bad('telemetrySeconds', 'expected seconds > 0');
  }
  if (doc.console !== undefined) {
    const c = doc.console;
    if (!isObject(c) || typeof c.port !== 'string' || c.port === '')
      bad('console.port', 'expected the serial port of the console (e.g. /dev/ttyS0)');
    const con = c as Record<string, unknown>;
    if (con.baud !== undefined && !(Number.isInteger(con.baud) && (con.baud as number) >= 300))
      bad('console.baud', 'expected a baud rate, e.g. 115200');
  }
  return doc as unknown as AgentConfig;
}

/** SHA-256 as 32 colon-separated hex bytes (`openssl … -fingerprint` style). */
const CA_FINGERPRINT = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}$/;

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The configured capture sources, in order. */
export function tapUris(config: AgentConfig): string[] {
  return config.taps ?? (config.tap ? [config.tap.uri] : []);
}
