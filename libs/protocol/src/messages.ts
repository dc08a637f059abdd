// The message types of schema version 1. Every message is a JSON object with
// `v: 1` and a `type`; all times are milliseconds since the Unix epoch.
import type { JsonValue } from './canonical.js';
import type { DesiredDomain, ReportedDomain } from './topics.js';

export const SCHEMA_VERSION = 1;
export type JsonObject = { [key: string]: JsonValue };

/** Fleet → device, retained: what a domain should be. `hash` = contentHash(spec). */
export interface DesiredState {
  v: 1;
  type: 'desired';
  domain: DesiredDomain;
  /** Positive, strictly increasing per device and domain. */
  version: number;
  hash: string;
  /** Domain content (a rule set, retention settings); validated by its owner, not here. */
  spec: JsonObject;
  issuedAt: number;
}

export interface WrappedKey {
  keyId: string;
  alg: string;
  /** Base64 of the key wrapped to the device's own public key; opaque here. */
  wrapped: string;
  notBefore?: number;
}

/** Fleet → device, never retained: the device's key set. `hash` = contentHash(keys). */
export interface KeyDelivery {
  v: 1;
  type: 'keys';
  version: number;
  hash: string;
  keys: WrappedKey[];
  issuedAt: number;
}

/**
 * Device → fleet, retained: what is in effect. `version`/`hash` always describe
 * the state actually running (0/null before anything was applied); with
 * status 'error', `error` says why the latest desired message was not applied
 * and `rejectedVersion` names it when it was readable.
 */
export interface ReportedState {
  v: 1;
  type: 'reported';
  domain: ReportedDomain;
  version: number;
  hash: string | null;
  status: 'applied' | 'error';
  error?: string;
  rejectedVersion?: number;
  /** When this report's event happened: the apply, or the failure. */
  appliedAt: number;
}

/** Device → fleet, retained. The Last Will carries `offline` (its `at` is the connect time). */
export interface Status {
  v: 1;
  type: 'status';
  state: 'online' | 'offline';
  agentVersion?: string;
  at: number;
}

export interface TapCounters {
  name: string;
  packetsSeen: number;
  bytesSeen: number;
  packetsDropped: number;
}

export interface DestinationCounters {
  name: string;
  packetsSent: number;
  bytesSent: number;
  packetsDropped: number;
  queueDepth: number;
}

/** Device → fleet, QoS 0. Counters are cumulative since the agent started. */
export interface Telemetry {
  v: 1;
  type: 'telemetry';
  at: number;
  taps: TapCounters[];
  destinations: DestinationCounters[];
  cpuPercent: number;
  memoryBytes: number;
}

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface Alert {
  v: 1;
  type: 'alert';
  at: number;
  severity: AlertSeverity;
  /** Machine-readable, `[a-z0-9_.-]{1,64}`, e.g. `analyzer.syn-flood`. */
  code: string;
  message: string;
}

/** Fleet → device. Not executed once `expiresAt` has passed. */
export interface CommandRequest {
  v: 1;
  type: 'command';
  name: string;
  correlationId: string;
  responseTopic: string;
  expiresAt: number;
  args: JsonObject;
}

export interface CommandResponse {
  v: 1;
  type: 'response';
  correlationId: string;
  ok: boolean;
  result?: JsonValue;
  /** Present exactly when ok is false. */
  error?: string;
}

/**
 * Device → fleet, on the command's response topic (QoS 1, before the
 * response): how a long command (a firmware install) is going. `seq` counts
 * 1, 2, 3… per command so a receiver keeps only the newest (QoS 1 may
 * deliver one twice); progress is a hint, the response is the outcome.
 */
export interface CommandProgress {
  v: 1;
  type: 'command-progress';
  correlationId: string;
  seq: number;
  /** `[a-z0-9_.-]{1,64}`, the command's own vocabulary (firmware: download, upload, verify, …). */
  phase: string;
  bytes?: number;
  total?: number;
  message?: string;
  at: number;
}

export type ProtocolMessage =
  | DesiredState
  | KeyDelivery
  | ReportedState
  | Status
  | Telemetry
  | Alert
  | CommandRequest
  | CommandResponse
  | CommandProgress;

export type MessageType = ProtocolMessage['type'];
export type MessageOf<T extends MessageType> = Extract<ProtocolMessage, { type: T }>;

export const MESSAGE_TYPES: readonly MessageType[] = [
  'desired',
  'keys',
  'reported',
  'status',
  'telemetry',
  'alert',
  'command',
  'response',
  'command-progress',
];
