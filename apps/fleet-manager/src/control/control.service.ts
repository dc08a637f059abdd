// The fleet manager's MQTT session. It only moves messages: features register
// handlers for inbound streams and publish through it; what a message means
// is decided by the feature that owns it (device-state, telemetry, alerts).
// Replicas on an MQTT 5 broker share the device streams ($share/{group}/...),
// so each report reaches exactly one replica; on 3.1.1 (the embedded broker)
// there is one replica and plain subscriptions.
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  ControlClient,
  TopicTree,
  type CommandRequest,
  type DesiredState,
  type Inbound,
  type JsonObject,
  type KeyDelivery,
  type MessageType,
} from '@netmirror/protocol';
import { BrokerService } from '../broker/broker.service.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';

export type InboundHandler = (m: Inbound) => void;

/**
 * MQTT keepalive of the fleet manager's own session. mqtt.js counts only a
 * PINGRESP (or an ack) as a sign of life, and a PINGRESP queues behind every
 * device message the broker has for us: with 10 s, a backlog of ~5 s (a
 * telemetry burst from 10,000 devices, bench/fleet) ended the session, and the
 * broker discarded everything queued for it. A crashed fleet manager closes
 * its socket and is noticed at once; the keepalive only matters for a hung
 * one, which the broker now drops after 90 s instead of 15 s.
 */
const FLEET_KEEPALIVE_SECONDS = 60;

@Injectable()
export class ControlService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Control');
  private client: ControlClient | null = null;
  private readonly handlers = new Map<MessageType, InboundHandler[]>();
  private readonly connectHandlers: Array<() => Promise<void> | void> = [];
  /** Messages handed to a feature, by type: summed over replicas, each report counts once. */
  readonly received = new Map<MessageType, number>();
  readonly rejected = { count: 0 };
  readonly topics: TopicTree;
  readonly replicaId: string;

  constructor(
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
    @Inject(BrokerService) private readonly broker: BrokerService,
  ) {
    this.topics = new TopicTree(config.topicRoot);
    this.replicaId = config.replicaId;
  }

  /** Registers a handler for one inbound message type (status, reported, telemetry, alert). */
  on(type: MessageType, handler: InboundHandler): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
  }

  /** Runs on every (re)connect, e.g. to republish retained desired state a restarted broker lost. */
  onConnect(handler: () => Promise<void> | void): void {
    this.connectHandlers.push(handler);
  }

  get connected(): boolean {
    return this.client?.transport.connected ?? false;
  }

  get mqtt5(): boolean {
    return this.client?.mqtt5 ?? false;
  }

  async onApplicationBootstrap(): Promise<void> {
    const client = await ControlClient.connect({
      url: this.broker.info().url,
      clientId: `fleet-${this.replicaId}`,
      topics: this.topics,
      tls: this.broker.clientTls(), // mqttTls: our fleet-CA client certificate
      keepaliveSeconds: FLEET_KEEPALIVE_SECONDS,
      reconnect: { minMs: 250, maxMs: 5_000 },
      logger: { info: (m) => this.log.debug(m), warn: (m) => this.log.warn(m) },
    });
    this.client = client;
    client.onMessage((m) => this.dispatch(m));
    client.onInvalid(() => this.rejected.count++);
    client.onConnection((e) => {
      if (e === 'connect') void this.runConnectHandlers();
    });
    const filters = await client.subscribeFleet(undefined, { shareGroup: this.config.shareGroup });
    // Answers to long commands sent before a restart come here too (same replicaId, same topic).
    await client.subscribeResponses();
    this.log.log(
      `control loop on ${this.broker.info().url} (MQTT ${client.mqtt5 ? '5' : '3.1.1'}): ${filters.join(', ')}`,
    );
    if (client.mqtt5) await this.catchUpRetained();
    await this.runConnectHandlers();
  }

  publishDesired(deviceId: string, desired: DesiredState): Promise<void> {
    return this.need().publishDesired(deviceId, desired);
  }

  publishKeys(deviceId: string, delivery: KeyDelivery): Promise<void> {
    return this.need().publishKeys(deviceId, delivery);
  }

  /**
   * Sends a long command (firmware.install) without waiting: its progress
   * and response arrive as 'command-progress' and 'response' messages to
   * the handlers registered with on(). They come back to this replica only
   * (its response topic), and to it again after a restart.
   */
  sendCommand(
    deviceId: string,
    name: string,
    args: JsonObject,
    opts: { ttlMs: number; correlationId?: string },
  ): Promise<CommandRequest> {
    return this.need().sendCommand(deviceId, name, args, opts);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.close();
  }

  private need(): ControlClient {
    if (!this.client) throw new Error('control loop not connected');
    return this.client;
  }

  private dispatch(m: Inbound): void {
    const type = m.message.type;
    this.received.set(type, (this.received.get(type) ?? 0) + 1);
    for (const h of this.handlers.get(type) ?? []) h(m);
  }

  /**
   * Brokers do not hand retained messages to a new shared subscription, so a
   * replica that was down would not learn of status and reports retained
   * meanwhile. A short-lived plain subscription fetches them; the handlers are
   * idempotent (latest state wins), so a replica seeing one twice is harmless.
   */
  private async catchUpRetained(): Promise<void> {
    const sync = await ControlClient.connect({
      url: this.broker.info().url,
      clientId: `fleet-${this.config.replicaId}-sync`,
      topics: this.topics,
      tls: this.broker.clientTls(),
      protocol: 5,
      logger: { info: () => undefined, warn: (m) => this.log.warn(m) },
    });
    let last = Date.now();
    sync.onMessage((m) => {
      last = Date.now();
      if (m.retained) for (const h of this.handlers.get(m.message.type) ?? []) h(m);
    });
    await sync.subscribeFleet(['status', 'reported']);
    // Retained messages arrive right after SUBACK; stop once they have stopped coming.
    while (Date.now() - last < 300) await new Promise((r) => setTimeout(r, 100));
    await sync.close();
  }

  private async runConnectHandlers(): Promise<void> {
    for (const h of this.connectHandlers) {
      try {
        await h();
      } catch (err) {
        this.log.warn(`on-connect task failed: ${(err as Error).message}`);
      }
    }
  }
}
