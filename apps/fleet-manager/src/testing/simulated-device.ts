// A simulated appliance for tests and bench/fleet: the real protocol code
// (ControlClient, DesiredStateGate, key unwrapping) without a data path. It
// applies whatever desired state passes the gate, unless `refuse` says no,
// and reports like the agent does. Many run in one process.
import {
  generateDeviceKeys,
  devicePublicKeysPem,
  decodeWrappedKey,
  unwrapKey,
  type DeviceKeys,
} from '@netmirror/crypto';
import {
  buildAppliedReport,
  buildErrorReport,
  ControlClient,
  DesiredStateGate,
  type DesiredState,
  type KeyDelivery,
  type ReportedState,
  type TlsClientCredentials,
  type TopicTree,
} from '@netmirror/protocol';

export interface SimulatedDeviceOptions {
  id: string;
  brokerUrl: string;
  topics?: TopicTree;
  /** Return an error message to refuse a desired state (as a device that cannot apply it). */
  refuse?: (d: DesiredState) => string | null;
  keys?: DeviceKeys;
  /** mqtts:// brokers (mqttTls): the device certificate, its key and the fleet CA. */
  tls?: TlsClientCredentials;
  /** The MQTT client id; default the device id (tests impersonating another device). */
  clientId?: string;
}

export class SimulatedDevice {
  readonly keys: DeviceKeys;
  readonly applied = new Map<string, DesiredState>();
  readonly reports: ReportedState[] = [];
  /** Data keys unwrapped from the last accepted delivery, by key id. */
  readonly dataKeys = new Map<string, Buffer>();
  keysVersion = 0;
  client: ControlClient | null = null;
  private readonly gate = new DesiredStateGate();

  constructor(readonly options: SimulatedDeviceOptions) {
    this.keys = options.keys ?? generateDeviceKeys();
  }

  get id(): string {
    return this.options.id;
  }

  publicKeys(): { tls: string; x25519: string } {
    return devicePublicKeysPem(this.keys);
  }

  async connect(): Promise<void> {
    const client = await ControlClient.connect({
      url: this.options.brokerUrl,
      clientId: this.options.clientId ?? this.id,
      presence: { deviceId: this.id, agentVersion: 'sim-1' },
      topics: this.options.topics,
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      logger: { info: () => undefined, warn: () => undefined },
    });
    this.client = client;
    client.onMessage(({ message }) => {
      if (message.type === 'desired') void this.onDesired(message);
      else if (message.type === 'keys') void this.onKeys(message);
    });
    await client.subscribeDevice(this.id);
  }

  /** Drops the connection without DISCONNECT: the broker publishes the Last Will. */
  async crash(): Promise<void> {
    const c = this.client;
    this.client = null;
    c?.transport.stream?.destroy();
    await c?.transport.endAsync(true);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.close();
  }

  private async onDesired(d: DesiredState): Promise<void> {
    const verdict = this.gate.check(d);
    if (!verdict.ok) {
      if (verdict.kind !== 'duplicate') await this.report(d.domain, d, verdict.reason);
      return;
    }
    const refusal = this.options.refuse?.(d) ?? null;
    if (refusal) return this.report(d.domain, d, refusal);
    this.applied.set(d.domain, d);
    this.gate.markApplied(d.domain, { version: d.version, hash: d.hash });
    await this.report(d.domain, d, null);
  }

  private async onKeys(k: KeyDelivery): Promise<void> {
    if (k.version <= this.keysVersion) return;
    const unwrapped = new Map<string, Buffer>();
    try {
      for (const w of k.keys)
        unwrapped.set(
          w.keyId,
          unwrapKey(decodeWrappedKey(w.wrapped), this.keys.x25519.privateKey, {
            deviceId: this.id,
            keyId: w.keyId,
          }),
        );
    } catch (err) {
      const running = { version: this.keysVersion, hash: null };
      await this.send(buildErrorReport('keys', running, (err as Error).message, k.version));
      return;
    }
    this.dataKeys.clear();
    for (const [id, key] of unwrapped) this.dataKeys.set(id, key);
    this.keysVersion = k.version;
    await this.send(buildAppliedReport('keys', k));
  }

  private async report(
    domain: DesiredState['domain'],
    d: DesiredState,
    error: string | null,
  ): Promise<void> {
    const running = this.applied.get(domain);
    await this.send(
      error === null
        ? buildAppliedReport(domain, d)
        : buildErrorReport(domain, running, error, d.version),
    );
  }

  private async send(r: ReportedState): Promise<void> {
    this.reports.push(r);
    await this.client?.publishReported(this.id, r).catch(() => undefined);
  }
}
