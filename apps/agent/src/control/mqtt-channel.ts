import {
  buildAppliedReport,
  buildErrorReport,
  ControlClient,
  DesiredStateGate,
  REPORTED_DOMAINS,
} from '@netmirror/protocol';
import type {
  AppliedVersion,
  CommandContext,
  CommandHandler,
  CommandRequest,
  ControlClientOptions,
  DesiredState,
  KeyDelivery,
  ReportedDomain,
  ReportedState,
  Telemetry,
} from '@netmirror/protocol';
import type { ControlChannel } from '../daemon/index.js';
import type { MirrorSummary } from '../pipeline/index.js';
import type { AppliedStates, ApplyResult, VersionedState } from '../reconcile/index.js';

export interface MqttChannelOptions {
  url: string;
  deviceId: string;
  agentVersion?: string;
  /** What is in effect now, per domain (policy, retention, keys): the daemon's view. */
  applied: () => AppliedStates;
  /** Test and multi-tenant brokers: a topic tree under another root. */
  topics?: ControlClientOptions['topics'];
  logger?: ControlClientOptions['logger'];
  /** Reconnect backoff (default 0.5 s doubling to 30 s). */
  reconnect?: ControlClientOptions['reconnect'];
  /** mqtts:// brokers: the device certificate, its key and the fleet CA (mutual TLS). */
  tls?: ControlClientOptions['tls'];
}

/**
 * The agent's side of the control protocol over MQTT: presence (Last Will),
 * desired state and key deliveries in (checked by the gate: a retained
 * message seen again is ignored, a stale, conflicting or corrupted one is
 * reported as an error without touching the data path), reports and
 * telemetry out. On every (re)connect it publishes again what is in effect
 * per domain, so a broker that lost its retained messages (the embedded
 * aedes keeps them in memory) shows the device's state again.
 */
export class MqttControlChannel implements ControlChannel {
  private readonly gate: DesiredStateGate;
  private desiredHandler: ((domain: string, desired: VersionedState) => void) | null = null;
  private keysHandler: ((delivery: KeyDelivery) => void) | null = null;
  private early: Array<DesiredState | KeyDelivery> = [];
  /** Command handlers by name (firmware.install, …); a command without one is answered with an error. */
  private readonly commands = new Map<string, CommandHandler>();
  /** The last report sent per domain: what the broker should hold retained. */
  private readonly lastReports = new Map<ReportedDomain, ReportedState>();
  private lastCpu = process.cpuUsage();
  private lastAt = Date.now();

  private constructor(
    private readonly client: ControlClient,
    private readonly options: MqttChannelOptions,
  ) {
    this.gate = new DesiredStateGate(appliedVersions(options.applied()));
    client.onMessage(({ message, route }) => {
      if (route.deviceId !== options.deviceId) return;
      if (message.type === 'desired' || message.type === 'keys') this.receive(message);
    });
    client.onConnection((event) => {
      if (event === 'connect') void this.republish();
    });
    client.onInvalid((topic, reason) => this.refuseUnreadable(topic, reason));
  }

  /**
   * A desired message that could not be read at all (not JSON, too large, a
   * wrong shape) is reported as an error for its domain, so the fleet
   * manager sees it was refused; what runs is untouched.
   */
  private refuseUnreadable(topic: string, reason: string): void {
    const route = this.client.topics.parse(topic);
    if (!route || route.deviceId !== this.options.deviceId) return;
    let domain: ReportedDomain;
    if (route.kind === 'desired') domain = route.domain;
    else if (route.kind === 'keys') domain = 'keys';
    else return;
    const report = buildErrorReport(
      domain,
      this.options.applied()[domain],
      `unreadable ${route.kind} message refused: ${reason}`,
    );
    this.lastReports.set(domain, report);
    void this.publish(report);
  }

  static async connect(options: MqttChannelOptions): Promise<MqttControlChannel> {
    const client = await ControlClient.connect({
      url: options.url,
      clientId: options.deviceId,
      presence: { deviceId: options.deviceId, agentVersion: options.agentVersion },
      topics: options.topics,
      logger: options.logger,
      reconnect: options.reconnect,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    const channel = new MqttControlChannel(client, options);
    await client.subscribeDevice(options.deviceId);
    await client.handleCommands(options.deviceId, (cmd, ctx) => channel.runCommand(cmd, ctx));
    await channel.republish(); // the first connect happened before the channel could listen
    return channel;
  }

  get connected(): boolean {
    return this.client.transport.connected;
  }

  get mqtt5(): boolean {
    return this.client.mqtt5;
  }

  onDesired(handler: (domain: string, desired: VersionedState) => void): void {
    this.desiredHandler = handler;
    this.replayEarly();
  }

  onKeys(handler: (delivery: KeyDelivery) => void): void {
    this.keysHandler = handler;
    this.replayEarly();
  }

  onCommand(name: string, handler: CommandHandler): void {
    this.commands.set(name, handler);
  }

  /** Expired, duplicate and misaddressed commands never get here (ControlClient refuses them). */
  private async runCommand(
    cmd: CommandRequest,
    ctx: CommandContext,
  ): Promise<Awaited<ReturnType<CommandHandler>>> {
    const handler = this.commands.get(cmd.name);
    if (!handler)
      throw new Error(
        `unknown command ${cmd.name} (this agent takes ${[...this.commands.keys()].join(', ') || 'none yet'})`,
      );
    return handler(cmd, ctx);
  }

  /**
   * Retained desired state arrives right after the subscription, before the
   * daemon has attached its handlers: it is held until they are there, or a
   * change made while the agent was away would be missed.
   */
  private replayEarly(): void {
    const early = this.early;
    this.early = [];
    for (const m of early) this.receive(m);
  }

  private receive(message: DesiredState | KeyDelivery): void {
    if ((message.type === 'keys' ? this.keysHandler : this.desiredHandler) === null) {
      this.early.push(message);
      return;
    }
    const verdict = this.gate.check(message);
    if (!verdict.ok) {
      if (verdict.kind !== 'duplicate') {
        this.report(verdict.domain, {
          status: 'error',
          version: message.version,
          hash: message.hash,
          error: verdict.reason,
        }).catch((err: Error) =>
          this.options.logger?.warn(`reported/${verdict.domain} not sent: ${err.message}`),
        );
      } else if (message.type === 'keys') {
        // Keys are never retained: a duplicate delivery means the fleet manager
        // re-sent the set, so it has not seen our report. Say it again.
        void this.publish(this.currentReport('keys', this.options.applied().keys));
      }
      return;
    }
    if (message.type === 'keys') this.keysHandler?.(message);
    else
      this.desiredHandler?.(message.domain, {
        version: message.version,
        hash: message.hash,
        spec: message.spec,
      });
  }

  /** Reports what is in effect; on an error, what was refused and why (the running state is unchanged). */
  async report(domain: string, result: ApplyResult): Promise<void> {
    if (!isReportedDomain(domain)) return;
    const running = this.options.applied()[domain];
    if (result.status === 'applied' && (this.gate.current(domain)?.version ?? 0) < result.version) {
      this.gate.markApplied(domain, { version: result.version, hash: result.hash });
    }
    const report: ReportedState =
      result.status === 'applied'
        ? buildAppliedReport(domain, result, Date.now())
        : buildErrorReport(domain, running, result.error, result.version);
    this.lastReports.set(domain, report);
    await this.client.publishReported(this.options.deviceId, report);
  }

  /**
   * Publishes again, retained, the report of every domain that has one: the
   * last report sent while it still describes what runs, else "applied"
   * for the state in effect (e.g. restored from disk before this connection).
   */
  private async republish(): Promise<void> {
    const applied = this.options.applied();
    for (const domain of REPORTED_DOMAINS) {
      const report = this.currentReport(domain, applied[domain]);
      if (report) await this.publish(report);
    }
  }

  private currentReport(
    domain: ReportedDomain,
    running: VersionedState | undefined,
  ): ReportedState | null {
    const last = this.lastReports.get(domain);
    if (last && last.version === (running?.version ?? 0) && last.hash === (running?.hash ?? null))
      return last;
    if (!running) return null;
    const report = buildAppliedReport(domain, running, Date.now());
    this.lastReports.set(domain, report);
    return report;
  }

  private async publish(report: ReportedState | null): Promise<void> {
    if (!report) return;
    try {
      await this.client.publishReported(this.options.deviceId, report);
    } catch (err) {
      this.options.logger?.warn(`reported/${report.domain} not sent: ${(err as Error).message}`);
    }
  }

  telemetry(s: MirrorSummary): void {
    const now = Date.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const cpuPercent =
      Math.round(((cpu.user + cpu.system) / 1000 / Math.max(1, now - this.lastAt)) * 1000) / 10;
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const message: Telemetry = {
      v: 1,
      type: 'telemetry',
      at: now,
      // One row per tapped interface (a file source: its interfaces).
      taps: s.interfaces.map((f) => ({
        name: f.name,
        packetsSeen: f.read,
        bytesSeen: f.bytes,
        packetsDropped: f.dropped,
      })),
      destinations: s.destinations.map((d) => ({
        name: d.name,
        packetsSent: d.sent,
        bytesSent: d.bytes,
        packetsDropped: d.dropped + d.failed,
        queueDepth: d.queued ?? 0,
      })),
      cpuPercent,
      memoryBytes: process.memoryUsage.rss(),
    };
    void this.client.publishTelemetry(this.options.deviceId, message).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function isReportedDomain(domain: string): domain is ReportedDomain {
  return (REPORTED_DOMAINS as readonly string[]).includes(domain);
}

function appliedVersions(applied: AppliedStates): Partial<Record<ReportedDomain, AppliedVersion>> {
  const out: Partial<Record<ReportedDomain, AppliedVersion>> = {};
  for (const domain of REPORTED_DOMAINS) {
    const s = applied[domain];
    if (s) out[domain] = { version: s.version, hash: s.hash };
  }
  return out;
}
