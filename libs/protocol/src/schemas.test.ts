import { describe, expect, it } from 'vitest';
import { buildDesired, buildKeyDelivery } from './build.js';
import type { ProtocolMessage } from './messages.js';
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, validateMessage } from './schemas.js';

const T = 1_760_000_000_000;
const H = `sha256:${'ab'.repeat(32)}`;

const valid: Record<ProtocolMessage['type'], ProtocolMessage> = {
  desired: buildDesired('policy', 7, { rules: [{ name: 'dns', priority: 10 }] }, T),
  keys: buildKeyDelivery(
    3,
    [{ keyId: 'k-2026-01', alg: 'x25519-hkdf-aes256gcm', wrapped: 'q83vEjRWeJA=', notBefore: T }],
    T,
  ),
  reported: {
    v: 1,
    type: 'reported',
    domain: 'retention',
    version: 4,
    hash: H,
    status: 'applied',
    appliedAt: T,
  },
  status: { v: 1, type: 'status', state: 'online', agentVersion: '0.1.0', at: T },
  telemetry: {
    v: 1,
    type: 'telemetry',
    at: T,
    taps: [{ name: 'eth1', packetsSeen: 10, bytesSeen: 1500, packetsDropped: 0 }],
    destinations: [
      { name: 'ids', packetsSent: 9, bytesSent: 1400, packetsDropped: 1, queueDepth: 3 },
    ],
    cpuPercent: 12.5,
    memoryBytes: 104857600,
  },
  alert: {
    v: 1,
    type: 'alert',
    at: T,
    severity: 'warning',
    code: 'analyzer.syn-flood',
    message: 'SYN flood towards 10.0.0.5',
  },
  command: {
    v: 1,
    type: 'command',
    name: 'capture.stats',
    correlationId: '9b2f0c1e-1',
    responseTopic: 'netmirror/v1/a/response/fm-1',
    expiresAt: T + 5000,
    args: { tap: 'eth1' },
  },
  response: {
    v: 1,
    type: 'response',
    correlationId: '9b2f0c1e-1',
    ok: true,
    result: { packets: 10 },
  },
  'command-progress': {
    v: 1,
    type: 'command-progress',
    correlationId: '9b2f0c1e-1',
    seq: 3,
    phase: 'upload',
    bytes: 4096,
    total: 65600,
    message: 'resumed at 2048',
    at: T,
  },
};

function withField(m: ProtocolMessage, patch: Record<string, unknown>): string {
  return JSON.stringify({ ...m, ...patch });
}
function reason(payload: string): string {
  const r = decodeMessage(payload);
  return r.ok ? 'accepted' : r.reason;
}

describe('message schemas', () => {
  it.each(Object.entries(valid))('accepts a valid %s message and round-trips it', (_type, m) => {
    const r = decodeMessage(encodeMessage(m));
    expect(r).toEqual({ ok: true, message: m });
  });

  it('accepts the other legal shapes', () => {
    const none = {
      v: 1,
      type: 'reported',
      domain: 'policy',
      version: 0,
      hash: null,
      status: 'error',
      error: 'rule 3: unknown destination',
      rejectedVersion: 2,
      appliedAt: T,
    };
    expect(decodeMessage(JSON.stringify(none)).ok).toBe(true);
    expect(
      decodeMessage(
        withField(valid.response, { ok: false, result: undefined, error: 'no such tap' }),
      ).ok,
    ).toBe(true);
    expect(
      decodeMessage(withField(valid.status, { agentVersion: undefined, state: 'offline' })).ok,
    ).toBe(true);
    expect(decodeMessage(JSON.stringify(buildKeyDelivery(1, [], T))).ok).toBe(true);
    expect(
      decodeMessage(
        withField(valid['command-progress'], {
          bytes: undefined,
          total: undefined,
          message: undefined,
        }),
      ).ok,
    ).toBe(true);
  });

  it('drops unknown extra fields', () => {
    const r = decodeMessage(withField(valid.alert, { extra: 1 }));
    expect(r.ok && 'extra' in r.message).toBe(false);
  });

  it('checks the expected type', () => {
    expect(decodeMessage(JSON.stringify(valid.status), 'desired')).toEqual({
      ok: false,
      reason: 'type: expected "desired", got "status"',
    });
  });

  it.each([
    ['not JSON', '{"v":1,', /^malformed JSON: /],
    ['an array', '[1,2]', 'expected a JSON object, got an array'],
    ['a number', '42', 'expected a JSON object, got 42'],
    ['empty', '', 'empty payload'],
    ['no v', '{"type":"status"}', 'v: expected schema version 1, got nothing'],
    ['v 2', withField(valid.status, { v: 2 }), 'v: expected schema version 1, got 2'],
    ['v "1"', withField(valid.status, { v: '1' }), 'v: expected schema version 1, got "1"'],
    [
      'unknown type',
      withField(valid.status, { type: 'hello' }),
      'type: unknown message type "hello"',
    ],
    [
      'desired: version 0',
      withField(valid.desired, { version: 0 }),
      'desired.version: expected a positive integer, got 0',
    ],
    [
      'desired: version 1.5',
      withField(valid.desired, { version: 1.5 }),
      'desired.version: expected a positive integer, got 1.5',
    ],
    [
      'desired: domain',
      withField(valid.desired, { domain: 'keys' }),
      'desired.domain: expected one of policy, retention, got "keys"',
    ],
    [
      'desired: hash',
      withField(valid.desired, { hash: 'md5:00' }),
      `desired.hash: expected 'sha256:' and 64 lowercase hex digits, got "md5:00"`,
    ],
    [
      'desired: spec',
      withField(valid.desired, { spec: [1] }),
      'desired.spec: expected an object, got an array',
    ],
    [
      'desired: issuedAt',
      withField(valid.desired, { issuedAt: '2026-01-01' }),
      'desired.issuedAt: expected a non-negative integer, got "2026-01-01"',
    ],
    [
      'keys: wrapped',
      withField(valid.keys, { keys: [{ keyId: 'k', alg: 'a', wrapped: 'not base64!' }] }),
      'keys.keys[0].wrapped: expected a base64 string, got "not base64!"',
    ],
    [
      'keys: item',
      withField(valid.keys, { keys: ['k'] }),
      'keys.keys[0]: expected an object, got "k"',
    ],
    [
      'keys: list',
      withField(valid.keys, { keys: {} }),
      'keys.keys: expected an array of at most 256 items, got an object',
    ],
    [
      'reported: status',
      withField(valid.reported, { status: 'done' }),
      'reported.status: expected one of applied, error, got "done"',
    ],
    [
      'reported: error missing',
      withField(valid.reported, { status: 'error' }),
      'reported.error: expected a string of 1-4096 characters, got nothing',
    ],
    [
      'reported: error on applied',
      withField(valid.reported, { error: 'x' }),
      "reported.error: not allowed when status is 'applied'",
    ],
    [
      'reported: hash at version 0',
      withField(valid.reported, { version: 0 }),
      `reported.hash: expected null when version is 0, got "${H.slice(0, 40)}…"`,
    ],
    [
      'status: state',
      withField(valid.status, { state: 'up' }),
      'status.state: expected one of online, offline, got "up"',
    ],
    [
      'telemetry: counter',
      withField(valid.telemetry, {
        taps: [{ name: 'eth1', packetsSeen: -1, bytesSeen: 0, packetsDropped: 0 }],
      }),
      'telemetry.taps[0].packetsSeen: expected a non-negative integer, got -1',
    ],
    [
      'telemetry: queue',
      withField(valid.telemetry, {
        destinations: [{ name: 'd', packetsSent: 0, bytesSent: 0, packetsDropped: 0 }],
      }),
      'telemetry.destinations[0].queueDepth: expected a non-negative integer, got nothing',
    ],
    [
      'telemetry: cpu',
      withField(valid.telemetry, { cpuPercent: null }),
      'telemetry.cpuPercent: expected a finite number >= 0, got null',
    ],
    [
      'alert: severity',
      withField(valid.alert, { severity: 'fatal' }),
      'alert.severity: expected one of info, warning, critical, got "fatal"',
    ],
    [
      'alert: code',
      withField(valid.alert, { code: 'Bad Code' }),
      'alert.code: expected [a-z0-9_.-]{1,64}, got "Bad Code"',
    ],
    [
      'command: expiresAt',
      withField(valid.command, { expiresAt: -5 }),
      'command.expiresAt: expected a non-negative integer, got -5',
    ],
    [
      'command: name',
      withField(valid.command, { name: 'a/b' }),
      'command.name: expected [A-Za-z0-9_.-]{1,64}, got "a/b"',
    ],
    [
      'command: args',
      withField(valid.command, { args: null }),
      'command.args: expected an object, got null',
    ],
    [
      'response: ok',
      withField(valid.response, { ok: 'yes' }),
      'response.ok: expected true or false, got "yes"',
    ],
    [
      'response: error missing',
      withField(valid.response, { ok: false }),
      'response.error: expected a string of 1-4096 characters, got nothing',
    ],
    [
      'response: error with ok',
      withField(valid.response, { error: 'x' }),
      'response.error: not allowed when ok is true',
    ],
    [
      'command-progress: seq 0',
      withField(valid['command-progress'], { seq: 0 }),
      'command-progress.seq: expected a positive integer, got 0',
    ],
    [
      'command-progress: phase',
      withField(valid['command-progress'], { phase: 'Upload!' }),
      'command-progress.phase: expected [a-z0-9_.-]{1,64}, got "Upload!"',
    ],
    [
      'command-progress: bytes',
      withField(valid['command-progress'], { bytes: -1 }),
      'command-progress.bytes: expected a non-negative integer, got -1',
    ],
  ])('rejects %s', (_what, payload, expected) => {
    if (expected instanceof RegExp) expect(reason(payload)).toMatch(expected);
    else expect(reason(payload)).toBe(expected);
  });

  it('rejects a message over 256 KiB before parsing it', () => {
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20);
    expect(decodeMessage(big)).toEqual({
      ok: false,
      reason: 'message is 262145 bytes, over the 262144-byte limit',
    });
    const spec = { blob: 'x'.repeat(MAX_MESSAGE_BYTES) };
    expect(() => encodeMessage(buildDesired('policy', 1, spec, T))).toThrow(
      /over the 262144-byte limit/,
    );
  });

  it('rejects invalid UTF-8 and deep nesting', () => {
    expect(decodeMessage(Buffer.from([0x7b, 0xff, 0x7d]))).toEqual({
      ok: false,
      reason: 'payload is not valid UTF-8',
    });
    const deep = '['.repeat(10000) + ']'.repeat(10000);
    expect(
      reason(
        withField(valid.command, { args: { x: 'PLACEHOLDER' } }).replace('"PLACEHOLDER"', deep),
      ),
    ).toBe('command.args: nested deeper than 32 levels');
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encodeMessage({ ...valid.alert, code: '' } as ProtocolMessage)).toThrow(
      'refusing to send an invalid message: alert.code: expected a string of 1-64 characters, got ""',
    );
  });

  it('never throws on random or garbled input', () => {
    let seed = 0x9e3779b9;
    const rand = (n: number): number => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return seed % n;
    };
    const samples = Object.values(valid).map((m) => Buffer.from(JSON.stringify(m)));
    const tokens = [
      'null',
      '1e309',
      '-0',
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"__proto__"',
      '\\u0000',
      'true',
      '99999999999999999999',
    ];
    let rejected = 0;
    for (let i = 0; i < 5000; i++) {
      const base = Buffer.from(samples[rand(samples.length)]);
      let input: Buffer;
      switch (i % 4) {
        case 0: // flip bytes
          for (let k = 0; k < 1 + rand(4); k++) base[rand(base.length)] = rand(256);
          input = base;
          break;
        case 1: // truncate
          input = base.subarray(0, rand(base.length));
          break;
        case 2: // splice in JSON tokens
          input = Buffer.from(
            base.toString().slice(0, rand(base.length)) +
              tokens[rand(tokens.length)] +
              base.toString().slice(rand(base.length)),
          );
          break;
        default: // pure noise
          input = Buffer.from(Array.from({ length: rand(300) }, () => rand(256)));
      }
      const r = decodeMessage(input);
      if (!r.ok) {
        expect(typeof r.reason).toBe('string');
        rejected++;
      }
      expect(validateMessage(r.ok ? r.message : null).ok).toBe(r.ok);
    }
    expect(rejected).toBeGreaterThan(4000);
  });
});
