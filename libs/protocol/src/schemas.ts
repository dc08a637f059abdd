// Validation on receipt. decodeMessage never throws: anything from the network
// comes back as { ok: true, message } or { ok: false, reason }.
import { HASH_PATTERN } from './canonical.js';
import { describe, Fields, isPlainObject } from './fields.js';
import {
  ALERT_SEVERITIES,
  MESSAGE_TYPES,
  type MessageOf,
  type MessageType,
  type ProtocolMessage,
} from './messages.js';
import { DESIRED_DOMAINS, REPORTED_DOMAINS } from './topics.js';

/** Payloads over 256 KiB are rejected before they are parsed. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export type DecodeResult<T> = { ok: true; message: T } | { ok: false; reason: string };

const HASH_NAME = "'sha256:' and 64 lowercase hex digits";
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const CODE = /^[a-z0-9_.-]{1,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_KEYS = 256;
const MAX_COUNTER_ROWS = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes (or a string) off the wire → a validated message, optionally of one expected type. */
export function decodeMessage<T extends MessageType = MessageType>(
  payload: Uint8Array | string,
  expected?: T,
): DecodeResult<MessageOf<T>> {
  try {
    const size =
      typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
    if (size > MAX_MESSAGE_BYTES) {
      return {
        ok: false,
        reason: `message is ${size} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`,
      };
    }
    if (size === 0) return { ok: false, reason: 'empty payload' };
    let text: string;
    try {
      text = typeof payload === 'string' ? payload : utf8.decode(payload);
    } catch {
      return { ok: false, reason: 'payload is not valid UTF-8' };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, reason: `malformed JSON: ${(err as Error).message}` };
    }
    return validateMessage(value, expected);
  } catch (err) {
    // Belt and braces: a validator bug must not become a crash on hostile input.
    return { ok: false, reason: `internal validation error: ${String(err)}` };
  }
}

/** An already-parsed value → a validated message. Unknown extra fields are dropped. */
export function validateMessage<T extends MessageType = MessageType>(
  value: unknown,
  expected?: T,
): DecodeResult<MessageOf<T>> {
  if (!isPlainObject(value))
    return { ok: false, reason: `expected a JSON object, got ${describe(value)}` };
  if (value.v !== 1)
    return { ok: false, reason: `v: expected schema version 1, got ${describe(value.v)}` };
  const type = value.type;
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: `type: unknown message type ${describe(type)}` };
  }
  if (expected !== undefined && type !== expected) {
    return {
      ok: false,
      reason: `type: expected ${JSON.stringify(expected)}, got ${JSON.stringify(type)}`,
    };
  }
  const f = new Fields(type, value);
  const message = readers[type as MessageType](f);
  return f.reason === null
    ? { ok: true, message: message as MessageOf<T> }
    : { ok: false, reason: f.reason };
}

/** A message → bytes. Throws TypeError if the message is invalid: that is the sender's bug. */
export function encodeMessage(message: ProtocolMessage): Buffer {
  const checked = validateMessage(message, message.type);
  if (!checked.ok) throw new TypeError(`refusing to send an invalid message: ${checked.reason}`);
  const bytes = Buffer.from(JSON.stringify(checked.message), 'utf8');
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    throw new TypeError(
      `refusing to send ${bytes.byteLength} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`,
    );
  }
  return bytes;
}

const readers: { [T in MessageType]: (f: Fields) => MessageOf<T> } = {
  desired: (f) => ({
    v: 1,
    type: 'desired',
    domain: f.oneOf('domain', DESIRED_DOMAINS),
    version: f.int('version', 1),
    hash: f.str('hash', 71, HASH_PATTERN, HASH_NAME),
    spec: f.object('spec'),
    issuedAt: f.time('issuedAt'),
  }),

  keys: (f) => ({
    v: 1,
    type: 'keys',
    version: f.int('version', 1),
    hash: f.str('hash', 71, HASH_PATTERN, HASH_NAME),
    keys: f.list('keys', MAX_KEYS, (k) => ({
      keyId: k.str('keyId', 128),
      alg: k.str('alg', 64),
      wrapped: k.str('wrapped', 16384, BASE64, 'a base64 string'),
      ...(k.has('notBefore') ? { notBefore: k.time('notBefore') } : {}),
    })),
    issuedAt: f.time('issuedAt'),
  }),

  reported: (f) => {
    const version = f.int('version', 0);
    const m: MessageOf<'reported'> = {
      v: 1,
      type: 'reported',
      domain: f.oneOf('domain', REPORTED_DOMAINS),
      version,
      hash: null,
      status: f.oneOf('status', ['applied', 'error'] as const),
      appliedAt: f.time('appliedAt'),
    };
    if (version === 0) {
      if (f.raw('hash') != null)
        f.fail('hash', `expected null when version is 0, got ${describe(f.raw('hash'))}`);
    } else {
      m.hash = f.str('hash', 71, HASH_PATTERN, HASH_NAME);
    }
    if (m.status === 'error') {
      m.error = f.str('error', 4096);
      if (f.has('rejectedVersion')) m.rejectedVersion = f.int('rejectedVersion', 1);
    } else if (f.has('error') || f.has('rejectedVersion')) {
      f.fail(f.has('error') ? 'error' : 'rejectedVersion', "not allowed when status is 'applied'");
    }
    return m;
  },

  status: (f) => ({
    v: 1,
    type: 'status',
    state: f.oneOf('state', ['online', 'offline'] as const),
    ...(f.has('agentVersion') ? { agentVersion: f.str('agentVersion', 64) } : {}),
    at: f.time('at'),
  }),

  telemetry: (f) => ({
    v: 1,
    type: 'telemetry',
    at: f.time('at'),
    taps: f.list('taps', MAX_COUNTER_ROWS, (t) => ({
      name: t.str('name', 64),
      packetsSeen: t.int('packetsSeen', 0),
      bytesSeen: t.int('bytesSeen', 0),
      packetsDropped: t.int('packetsDropped', 0),
    })),
    destinations: f.list('destinations', MAX_COUNTER_ROWS, (d) => ({
      name: d.str('name', 64),
      packetsSent: d.int('packetsSent', 0),
      bytesSent: d.int('bytesSent', 0),
      packetsDropped: d.int('packetsDropped', 0),
      queueDepth: d.int('queueDepth', 0),
    })),
    cpuPercent: f.num('cpuPercent', 0),
    memoryBytes: f.int('memoryBytes', 0),
  }),

  alert: (f) => ({
    v: 1,
    type: 'alert',
    at: f.time('at'),
    severity: f.oneOf('severity', ALERT_SEVERITIES),
    code: f.str('code', 64, CODE, '[a-z0-9_.-]{1,64}'),
    message: f.str('message', 4096),
  }),

  command: (f) => ({
    v: 1,
    type: 'command',
    name: f.str('name', 64, NAME, '[A-Za-z0-9_.-]{1,64}'),
    correlationId: f.str('correlationId', 128),
    responseTopic: f.str('responseTopic', 512),
    expiresAt: f.time('expiresAt'),
    args: f.object('args'),
  }),

  response: (f) => {
    const m: MessageOf<'response'> = {
      v: 1,
      type: 'response',
      correlationId: f.str('correlationId', 128),
      ok: f.bool('ok'),
    };
    if (f.has('result')) m.result = f.json('result');
    if (!m.ok) m.error = f.str('error', 4096);
    else if (f.has('error')) f.fail('error', 'not allowed when ok is true');
    return m;
  },

  'command-progress': (f) => {
    const m: MessageOf<'command-progress'> = {
      v: 1,
      type: 'command-progress',
      correlationId: f.str('correlationId', 128),
      seq: f.int('seq', 1),
      phase: f.str('phase', 64, CODE, '[a-z0-9_.-]{1,64}'),
      at: f.time('at'),
    };
    if (f.has('bytes')) m.bytes = f.int('bytes', 0);
    if (f.has('total')) m.total = f.int('total', 0);
    if (f.has('message')) m.message = f.str('message', 4096);
    return m;
  },
};
