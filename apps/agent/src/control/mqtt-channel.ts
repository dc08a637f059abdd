import { ControlClient, DesiredStateGate } from '@netmirror/protocol';
import type {
  ControlClientOptions,
  DesiredState,
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
  /** What is in effect now, per domain (the reconciler's view). */
  applied: () => AppliedStates;
  /** Test and multi-tenant brokers: a topic tree under another root. */
  topics?: ControlClientOptions['topics'];
  logger?: ControlClientOptions['logger'];
}

/**
 * The agent's side of the control protocol over MQTT: presence (Last Will),
 * desired state in (checked by the gate: a retained message seen again is
 * ignored, a stale, conflicting or corrupted one is reported as an error
 * without touching the data path), reports and telemetry out.
 */
export class MqttControlChannel implements ControlChannel {
  private readonly gate: DesiredStateGate;
  private handler: ((domain: string, desired: VersionedState) => void) | null = null;
  private lastCpu = process.cpuUsage();
  private lastAt = Date.now();

  private constructor(
    private readonly client: ControlClient,
    private readonly options: MqttChannelOptions,
  ) {
    const applied = options.applied();
    this.gate = new DesiredStateGate({
      policy: applied.policy && { version: applied.policy.version, hash: applied.policy.hash },
      retention: applied.retention && {
        version: applied.retention.version,
        hash: applied.retention.hash,
      },
    });
    client.onMessage(({ message, route }) => {
      if (message.type === 'desired' && route.deviceId === options.deviceId) this.receive(message);
    });
  }

  static async connect(options: MqttChannelOptions): Promise<MqttControlChannel> {
    const client = await ControlClient.connect({
      url: options.url,
      clientId: options.deviceId,
      presence: { deviceId: options.deviceId, agentVersion: options.agentVersion },
      topics: options.topics,
      logger: options.logger,
    });
    const channel = new MqttControlChannel(client, options);
    await client.subscribeDevice(options.deviceId);
    return channel;
  }

  get connected(): boolean {
    return this.client.transport.connected;
  }

  get mqtt5(): boolean {
    return this.client.mqtt5;
  }

  onDesired(handler: (domain: string, desired: VersionedState) => void): void {
    this.handler = handler;
  }

  private receive(message: DesiredState): void {
    const verdict = this.gate.check(message);
    if (!verdict.ok) {
      if (verdict.kind !== 'duplicate') {
        void this.report(message.domain, {
          status: 'error',
          version: message.version,
          hash: message.hash,
          error: verdict.reason,
        });
      }
      return;
    }
    this.handler?.(message.domain, {
      version: message.version,
      hash: message.hash,
      spec: message.spec,
    });
  }

  /** Reports what is in effect; on an error, what was refused and why (the running state is unchanged). */
  async report(domain: string, result: ApplyResult): Promise<void> {
    if (domain !== 'policy' && domain !== 'retention') return;
    const running = this.options.applied()[domain];
    if (result.status === 'applied' && (this.gate.current(domain)?.version ?? 0) < result.version) {
      this.gate.markApplied(domain, { version: result.version, hash: result.hash });
    }
    const report: ReportedState =
      result.status === 'applied'
        ? {
            v: 1,
            type: 'reported',
            domain,
            version: result.version,
            hash: result.hash,
            status: 'applied',
            appliedAt: Date.now(),
          }
        : {
            v: 1,
            type: 'reported',
            domain,
            version: running?.version ?? 0,
            hash: running?.hash ?? null,
            status: 'error',
            error: result.error,
            rejectedVersion: result.version,
            appliedAt: Date.now(),
          };
    await this.client.publishReported(this.options.deviceId, report);
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
      taps: [
        {
          name: s.source,
          packetsSeen: s.counters.read,
          bytesSeen: s.counters.bytesRead,
          packetsDropped: 0,
        },
      ],
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
