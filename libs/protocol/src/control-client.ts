// ControlClient: the MQTT session both sides use. Every message it hands out
// has been validated and checked against its topic; everything else goes to
// onInvalid with the reason. Correctness never depends on MQTT 5: versions,
// correlation ids and expiry live in the payload, and the v5 properties
// (message expiry, response topic, correlation data, user properties) are
// added only as hints when the session is v5.
import { randomUUID } from 'node:crypto';
import type { IPublishPacket, QoS } from 'mqtt-packet';
import type { JsonValue } from './canonical.js';
import { CommandTimeoutError, commandRefusal, RecentIds } from './commands.js';
import type {
  Alert,
  CommandProgress,
  CommandRequest,
  CommandResponse,
  DesiredState,
  JsonObject,
  KeyDelivery,
  MessageType,
  ProtocolMessage,
  ReportedState,
  Status,
  Telemetry,
} from './messages.js';
import { connectMqttJs } from './mqttjs-transport.js';
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES } from './schemas.js';
import { openSession, type ProtocolChoice } from './session.js';
import {
  isValidSegment,
  sharedFilter,
  TopicTree,
  type FleetStream,
  type ParsedTopic,
  type TopicKind,
} from './topics.js';
import type {
  MqttTransport,
  PublishProperties,
  TlsClientCredentials,
  TransportFactory,
} from './transport.js';

export interface ControlLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface ControlClientOptions {
  /** mqtt://host:port */
  url: string;
  /** Also this client's requester id in response topics: `[A-Za-z0-9_.-]{1,64}`. */
  clientId: string;
  /** Default 'auto': MQTT 5, else 3.1.1. */
  protocol?: ProtocolChoice;
  /** Default: rooted at netmirror/v1. Tests use their own root. */
  topics?: TopicTree;
  /**
   * The device side: a retained `offline` status as Last Will, a retained
   * `online` on every (re)connect, and `offline` on a clean close.
   */
  presence?: { deviceId: string; agentVersion?: string };
  keepaliveSeconds?: number;
  /** Exponential reconnect backoff with jitter, from minMs up to maxMs. */
  reconnect?: { minMs?: number; maxMs?: number };
  connectTimeoutMs?: number;
  username?: string;
  password?: string;
  /**
   * mqtts:// with a client certificate (mutual TLS). The broker's certificate
   * must chain to `ca`; verification cannot be disabled.
   */
  tls?: TlsClientCredentials;
  logger?: ControlLogger;
  /** Default: mqtt.js (mqttjs-transport.ts). */
  transport?: TransportFactory;
}

export interface Inbound<M extends ProtocolMessage = ProtocolMessage> {
  topic: string;
  route: ParsedTopic;
  message: M;
  /** Delivered from the broker's retained store (a late subscriber catching up). */
  retained: boolean;
}

export type ConnectionEvent = 'connect' | 'offline' | 'reconnect' | 'close';

/** What a command handler can do besides returning its result. */
export interface CommandContext {
  /**
   * Sends a `command-progress` on the command's response topic (QoS 1, so in
   * order and before the response). Never throws: progress is a hint, and a
   * lost one must not fail the command. Throttling is the caller's.
   */
  progress(p: { phase: string; bytes?: number; total?: number; message?: string }): Promise<void>;
}

export type CommandHandler = (
  cmd: CommandRequest,
  ctx: CommandContext,
) => Promise<JsonValue | void> | JsonValue | void;

export interface RequestOptions {
  /** How long to wait for the response. Default 10 s. */
  timeoutMs?: number;
  /** How long the command may still be executed. Default: timeoutMs. */
  ttlMs?: number;
}

const TYPE_FOR_KIND: { [K in TopicKind]: MessageType } = {
  desired: 'desired',
  keys: 'keys',
  reported: 'reported',
  status: 'status',
  telemetry: 'telemetry',
  alerts: 'alert',
  cmd: 'command',
  response: 'response',
};
/** A response topic carries a command's progress too (no topic, subscription or ACL of its own). */
const PROGRESS_KINDS: ReadonlySet<TopicKind> = new Set(['response']);
const MAX_HELD = 1000;
const RETAINED_KINDS: ReadonlySet<TopicKind> = new Set(['desired', 'reported', 'status']);

const consoleLogger: ControlLogger = {
  info: (m) => console.info(`[protocol] ${m}`),
  warn: (m) => console.warn(`[protocol] ${m}`),
};

interface Pending {
  deviceId: string;
  resolve: (r: CommandResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ControlClient {
  readonly topics: TopicTree;
  private readonly log: ControlLogger;
  private readonly messageHandlers = new Set<(m: Inbound) => void>();
  private readonly invalidHandlers = new Set<(topic: string, reason: string) => void>();
  private readonly connectionHandlers = new Set<(e: ConnectionEvent) => void>();
  private readonly commandHandlers = new Map<string, CommandHandler>();
  private readonly pending = new Map<string, Pending>();
  private readonly recentCommands = new RecentIds();
  private responsesSubscribed: Promise<void> | null = null;
  private readonly inboxes = new Set<string>();
  /** Messages that arrived before the first onMessage handler (null once there is one). */
  private held: Inbound[] | null = [];
  private closed = false;

  private constructor(
    readonly transport: MqttTransport,
    /** True when the session is MQTT 5. */
    readonly mqtt5: boolean,
    private readonly options: ControlClientOptions,
  ) {
    this.topics = options.topics ?? new TopicTree();
    this.log = options.logger ?? consoleLogger;
    transport.on('message', (topic, payload, packet) => this.dispatch(topic, payload, packet));
    transport.on('error', (err) => this.log.warn(`mqtt: ${err.message}`));
    transport.on('connect', () => {
      this.notify('connect');
      void this.announceOnline();
    });
    transport.on('offline', () => this.notify('offline'));
    transport.on('reconnect', () => this.notify('reconnect'));
    transport.on('close', () => this.notify('close'));
  }

  static async connect(options: ControlClientOptions): Promise<ControlClient> {
    if (!isValidSegment(options.clientId)) {
      throw new TypeError(
        `invalid clientId ${JSON.stringify(options.clientId)}: expected [A-Za-z0-9_.-]{1,64}`,
      );
    }
    const tree = options.topics ?? new TopicTree();
    const p = options.presence;
    const { transport, version } = await openSession(
      options.transport ?? connectMqttJs,
      options.url,
      {
        clientId: options.clientId,
        clean: true,
        keepalive: options.keepaliveSeconds ?? 10,
        reconnectPeriod: options.reconnect?.minMs ?? 500,
        reconnectPeriodMax: options.reconnect?.maxMs ?? 30_000,
        connectTimeout: options.connectTimeoutMs ?? 5_000,
        maximumPacketSize: MAX_MESSAGE_BYTES + 64 * 1024,
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.password !== undefined ? { password: Buffer.from(options.password) } : {}),
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
        ...(p
          ? {
              will: {
                topic: tree.status(p.deviceId),
                payload: encodeMessage(statusMessage('offline', p.agentVersion)),
                qos: 1 as QoS,
                retain: true,
              },
            }
          : {}),
      },
      options.protocol ?? 'auto',
      (msg) => (options.logger ?? consoleLogger).info(msg),
    );
    const client = new ControlClient(transport, version === 5, options);
    // A device's inbox is subscribed before it says it is online: the fleet
    // manager answers "online" with non-retained key deliveries, which would
    // otherwise be lost in between. What arrives before the caller registers
    // a handler is held for it.
    if (p) await client.subscribeDevice(p.deviceId);
    await client.announceOnline();
    return client;
  }

  onMessage(handler: (m: Inbound) => void): () => void {
    this.messageHandlers.add(handler);
    const held = this.held;
    this.held = null;
    for (const m of held ?? []) {
      try {
        handler(m);
      } catch (err) {
        this.log.warn(`message handler failed on ${m.topic}: ${(err as Error).message}`);
      }
    }
    return () => this.messageHandlers.delete(handler);
  }
  onInvalid(handler: (topic: string, reason: string) => void): () => void {
    this.invalidHandlers.add(handler);
    return () => this.invalidHandlers.delete(handler);
  }
  onConnection(handler: (e: ConnectionEvent) => void): () => void {
    this.connectionHandlers.add(handler);
    return () => this.connectionHandlers.delete(handler);
  }

  // ---- device side ----

  /** Desired state for every domain and key deliveries for `deviceId` (once; later calls are no-ops). */
  async subscribeDevice(deviceId: string): Promise<void> {
    if (this.inboxes.has(deviceId)) return;
    this.inboxes.add(deviceId);
    try {
      await this.subscribe(this.topics.deviceInboxFilters(deviceId), 1);
    } catch (err) {
      this.inboxes.delete(deviceId);
      throw err;
    }
  }

  /** Run `handler` for commands to `deviceId`; expired, duplicate or misaddressed ones are refused with a log line. */
  async handleCommands(deviceId: string, handler: CommandHandler): Promise<void> {
    this.commandHandlers.set(deviceId, handler);
    await this.subscribe([this.topics.deviceCommandFilter(deviceId)], 1);
  }

  publishReported(deviceId: string, report: ReportedState): Promise<void> {
    return this.send(
      this.topics.reported(deviceId, report.domain),
      report,
      1,
      true,
      this.versionProps(report),
    );
  }
  publishStatus(deviceId: string, status: Status): Promise<void> {
    return this.send(this.topics.status(deviceId), status, 1, true);
  }
  publishTelemetry(deviceId: string, telemetry: Telemetry): Promise<void> {
    return this.send(this.topics.telemetry(deviceId), telemetry, 0, false, {
      messageExpiryInterval: 60,
    });
  }
  publishAlert(deviceId: string, alert: Alert): Promise<void> {
    return this.send(this.topics.alerts(deviceId), alert, 1, false);
  }

  // ---- fleet side ----

  /**
   * Subscribe to fleet streams over all devices. With `shareGroup` on an MQTT 5
   * session the filters are `$share/{group}/...`, so replicas in the group split
   * the traffic; on 3.1.1 they are plain filters (every replica sees everything).
   * Note: brokers do not send retained messages to a new shared subscription.
   */
  async subscribeFleet(
    streams: FleetStream[] = ['reported', 'status', 'telemetry', 'alerts'],
    opts: { shareGroup?: string } = {},
  ): Promise<string[]> {
    const filters = streams.map((s) => {
      const f = this.topics.fleetFilter(s);
      return this.mqtt5 && opts.shareGroup ? sharedFilter(opts.shareGroup, f) : f;
    });
    await this.subscribe(filters, 1);
    return filters;
  }

  publishDesired(deviceId: string, desired: DesiredState): Promise<void> {
    return this.send(
      this.topics.desired(deviceId, desired.domain),
      desired,
      1,
      true,
      this.versionProps(desired),
    );
  }
  /** Never retained: a device that was away gets a new delivery when it reports an older key version. */
  publishKeys(deviceId: string, delivery: KeyDelivery): Promise<void> {
    return this.send(this.topics.keys(deviceId), delivery, 1, false, this.versionProps(delivery));
  }
  /** Delete a retained desired state (decommissioning a device). */
  async clearDesired(deviceId: string, domain: DesiredState['domain']): Promise<void> {
    await this.transport.publishAsync(this.topics.desired(deviceId, domain), Buffer.alloc(0), {
      qos: 1,
      retain: true,
    });
  }

  /**
   * Responses from devices to this client's commands, from now on (request()
   * subscribes on first use; a requester that keeps long commands in a
   * database subscribes at start, so answers to commands sent before a
   * restart still arrive).
   */
  subscribeResponses(): Promise<void> {
    this.responsesSubscribed ??= this.subscribe(
      [this.topics.responseFilter(this.options.clientId)],
      1,
    ).catch((err: unknown) => {
      this.responsesSubscribed = null; // let the next call try again
      throw err;
    });
    return this.responsesSubscribed;
  }

  /**
   * Sends a command without waiting for it, for long commands whose state
   * the caller keeps (a firmware update in the fleet manager's database):
   * its `command-progress` messages and its response come to onMessage
   * handlers (route kind 'response'), matched by correlationId — which the
   * caller may choose, to store it before anything can come back.
   */
  async sendCommand(
    deviceId: string,
    name: string,
    args: JsonObject,
    opts: { ttlMs: number; correlationId?: string },
  ): Promise<CommandRequest> {
    await this.subscribeResponses();
    const cmd = this.commandMessage(deviceId, name, args, opts.ttlMs, opts.correlationId);
    await this.send(this.topics.command(deviceId, name), cmd, 1, false, {
      messageExpiryInterval: Math.max(1, Math.ceil(opts.ttlMs / 1000)),
      responseTopic: cmd.responseTopic,
      correlationData: Buffer.from(cmd.correlationId),
    });
    return cmd;
  }

  /** Send a command and wait for its response. Rejects with CommandTimeoutError. */
  async request(
    deviceId: string,
    name: string,
    args: JsonObject = {},
    opts: RequestOptions = {},
  ): Promise<CommandResponse> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const ttlMs = opts.ttlMs ?? timeoutMs;
    await this.subscribeResponses();
    const cmd = this.commandMessage(deviceId, name, args, ttlMs);
    const response = new Promise<CommandResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cmd.correlationId);
        reject(new CommandTimeoutError(deviceId, name, timeoutMs));
      }, timeoutMs);
      this.pending.set(cmd.correlationId, { deviceId, resolve, reject, timer });
    });
    await this.send(this.topics.command(deviceId, name), cmd, 1, false, {
      messageExpiryInterval: Math.max(1, Math.ceil(ttlMs / 1000)),
      responseTopic: cmd.responseTopic,
      correlationData: Buffer.from(cmd.correlationId),
    });
    return response;
  }

  /** Clean shutdown: `offline` (if presence), DISCONNECT, pending requests rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const p = this.options.presence;
    if (p && this.transport.connected) {
      await this.publishStatus(p.deviceId, statusMessage('offline', p.agentVersion)).catch(
        () => undefined,
      );
    }
    for (const [id, q] of this.pending) {
      clearTimeout(q.timer);
      q.reject(new Error('ControlClient closed'));
      this.pending.delete(id);
    }
    await this.transport.endAsync(false);
  }

  // ---- internals ----

  private commandMessage(
    deviceId: string,
    name: string,
    args: JsonObject,
    ttlMs: number,
    correlationId: string = randomUUID(),
  ): CommandRequest {
    return {
      v: 1,
      type: 'command',
      name,
      correlationId,
      responseTopic: this.topics.response(deviceId, this.options.clientId),
      expiresAt: Date.now() + ttlMs,
      args,
    };
  }

  private async subscribe(filters: string[], qos: QoS): Promise<void> {
    const granted = await this.transport.subscribeAsync(filters, { qos });
    const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`broker refused subscription to ${refused.join(', ')}`);
  }

  private async send(
    topic: string,
    message: ProtocolMessage,
    qos: QoS,
    retain: boolean,
    props: PublishProperties = {},
  ): Promise<void> {
    const payload = encodeMessage(message);
    const properties: PublishProperties = {
      contentType: 'application/json',
      ...props,
      userProperties: { 'nm-v': '1', 'nm-type': message.type, ...props.userProperties },
    };
    await this.transport.publishAsync(topic, payload, {
      qos,
      retain,
      ...(this.mqtt5 ? { properties } : {}),
    });
  }

  private versionProps(m: { version: number; hash: string | null }): PublishProperties {
    return {
      userProperties: { 'nm-version': String(m.version), ...(m.hash ? { 'nm-hash': m.hash } : {}) },
    };
  }

  private async announceOnline(): Promise<void> {
    const p = this.options.presence;
    if (!p || this.closed) return;
    try {
      await this.publishStatus(p.deviceId, statusMessage('online', p.agentVersion));
    } catch (err) {
      this.log.warn(`status online for ${p.deviceId} not sent: ${(err as Error).message}`);
    }
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const route = this.topics.parse(topic);
    if (!route) return this.invalid(topic, 'not a NetMirror topic');
    if (payload.byteLength === 0 && RETAINED_KINDS.has(route.kind)) {
      this.log.info(`${topic}: retained message cleared`);
      return;
    }
    const expected = TYPE_FOR_KIND[route.kind];
    const decoded = PROGRESS_KINDS.has(route.kind)
      ? decodeMessage(payload)
      : decodeMessage(payload, expected);
    if (!decoded.ok) return this.invalid(topic, decoded.reason);
    const m = decoded.message;
    if (m.type !== expected && !(m.type === 'command-progress' && PROGRESS_KINDS.has(route.kind)))
      return this.invalid(
        topic,
        `type: expected ${JSON.stringify(expected)} or "command-progress", got ${JSON.stringify(m.type)}`,
      );
    if (
      (m.type === 'desired' || m.type === 'reported') &&
      'domain' in route &&
      m.domain !== route.domain
    ) {
      return this.invalid(
        topic,
        `${m.type}.domain: ${m.domain} does not match the topic's ${route.domain}`,
      );
    }
    if (m.type === 'command' && route.kind === 'cmd') {
      if (m.name !== route.name)
        return this.invalid(
          topic,
          `command.name: ${m.name} does not match the topic's ${route.name}`,
        );
      void this.runCommand(route.deviceId, m, packet);
      return;
    }
    // A response to a request() settles it; any other (a sendCommand's, or one
    // that outlived its request) goes to the handlers like progress does.
    if (m.type === 'response' && route.kind === 'response') {
      const q = this.pending.get(m.correlationId);
      if (q && q.deviceId !== route.deviceId)
        return this.invalid(
          topic,
          `response ${m.correlationId} came from ${route.deviceId}, not ${q.deviceId}`,
        );
      if (q) return this.settleResponse(m.correlationId, q, m);
    }
    const inbound: Inbound = { topic, route, message: m, retained: packet.retain };
    if (this.held !== null) {
      if (this.held.length < MAX_HELD) this.held.push(inbound);
      else this.log.warn(`${topic}: no handler yet and ${MAX_HELD} messages held; dropped`);
      return;
    }
    for (const h of this.messageHandlers) {
      try {
        h(inbound);
      } catch (err) {
        this.log.warn(`message handler failed on ${topic}: ${(err as Error).message}`);
      }
    }
  }

  private invalid(topic: string, reason: string): void {
    this.log.warn(`rejected message on ${topic}: ${reason}`);
    for (const h of this.invalidHandlers) {
      try {
        h(topic, reason);
      } catch (err) {
        this.log.warn(`invalid handler failed: ${(err as Error).message}`);
      }
    }
  }

  private settleResponse(id: string, q: Pending, r: CommandResponse): void {
    this.pending.delete(id);
    clearTimeout(q.timer);
    q.resolve(r);
  }

  private async runCommand(
    deviceId: string,
    cmd: CommandRequest,
    packet: IPublishPacket,
  ): Promise<void> {
    const handler = this.commandHandlers.get(deviceId);
    if (!handler) return;
    const refusal = commandRefusal(cmd, deviceId, this.topics, Date.now());
    if (refusal) {
      this.log.warn(refusal);
      return;
    }
    if (this.recentCommands.seen(cmd.correlationId)) {
      this.log.warn(
        `command ${cmd.name} (${cmd.correlationId}) already handled; duplicate ignored`,
      );
      return;
    }
    const correlationData = packet.properties?.correlationData;
    let seq = 0;
    const context: CommandContext = {
      progress: async (p) => {
        const progress: CommandProgress = {
          v: 1,
          type: 'command-progress',
          correlationId: cmd.correlationId,
          seq: ++seq,
          phase: p.phase,
          ...(p.bytes !== undefined ? { bytes: p.bytes } : {}),
          ...(p.total !== undefined ? { total: p.total } : {}),
          ...(p.message !== undefined ? { message: p.message.slice(0, 4096) } : {}),
          at: Date.now(),
        };
        try {
          await this.send(cmd.responseTopic, progress, 1, false, {
            messageExpiryInterval: 60,
            ...(correlationData ? { correlationData } : {}),
          });
        } catch (err) {
          this.log.warn(
            `progress of ${cmd.name} (${cmd.correlationId}) not sent: ${(err as Error).message}`,
          );
        }
      },
    };
    let response: CommandResponse;
    try {
      const result = await handler(cmd, context);
      response = {
        v: 1,
        type: 'response',
        correlationId: cmd.correlationId,
        ok: true,
        ...(result !== undefined ? { result } : {}),
      };
    } catch (err) {
      response = {
        v: 1,
        type: 'response',
        correlationId: cmd.correlationId,
        ok: false,
        error: String((err as Error).message ?? err),
      };
    }
    try {
      await this.send(
        cmd.responseTopic,
        response,
        1,
        false,
        correlationData ? { correlationData } : {},
      );
    } catch (err) {
      this.log.warn(
        `response to ${cmd.name} (${cmd.correlationId}) not sent: ${(err as Error).message}`,
      );
    }
  }

  private notify(e: ConnectionEvent): void {
    for (const h of this.connectionHandlers) h(e);
  }
}

export function statusMessage(
  state: Status['state'],
  agentVersion?: string,
  at: number = Date.now(),
): Status {
  return {
    v: 1,
    type: 'status',
    state,
    ...(agentVersion !== undefined ? { agentVersion } : {}),
    at,
  };
}
