import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

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
  };
  /** The MQTT broker (`mqtt://HOST:PORT`); enrollment can provide it. */
  brokerUrl?: string;
  /** The capture source, e.g. `pcap:/data/replay.pcap?loop` paced at `pps`. */
  tap: { uri: string; pps?: number };
  /** Health and Prometheus metrics: `GET /health`, `GET /metrics` (0 = any free port). */
  httpPort?: number;
  /** Seconds between telemetry messages (default 10). */
  telemetrySeconds?: number;
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
    'tap',
    'httpPort',
    'telemetrySeconds',
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
    if (!isObject(doc.fleet) || typeof doc.fleet.url !== 'string')
      bad('fleet.url', 'expected the fleet manager URL');
    const f = doc.fleet as Record<string, unknown>;
    if (f.enrollmentToken !== undefined && typeof f.enrollmentToken !== 'string')
      bad('fleet.enrollmentToken', 'expected a string');
  }
  if (
    doc.brokerUrl !== undefined &&
    (typeof doc.brokerUrl !== 'string' || !/^mqtts?:\/\//.test(doc.brokerUrl))
  ) {
    bad('brokerUrl', 'expected mqtt://HOST:PORT or mqtts://HOST:PORT');
  }
  if (!isObject(doc.tap) || typeof doc.tap.uri !== 'string')
    bad('tap.uri', 'expected a capture source URI');
  const tap = doc.tap as Record<string, unknown>;
  if (tap.pps !== undefined && !(typeof tap.pps === 'number' && tap.pps > 0))
    bad('tap.pps', 'expected a rate > 0');
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
  return doc as unknown as AgentConfig;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
