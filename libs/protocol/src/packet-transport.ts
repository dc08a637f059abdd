// A small MQTT 3.1.1 / 5 client over mqtt-packet's encoder and parser, standing
// in for mqtt.js (not installed in this workspace) behind MqttTransport. It does
// what ControlClient needs and no more: CONNECT with a Will, QoS 0/1 publish
// (QoS 1 kept until PUBACK and resent after a reconnect), subscribe with
// re-subscription on reconnect, keepalive pings, and reconnecting with
// exponential backoff and jitter. Plain TCP only (mqtt://); TLS is left to mqtt.js.
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import type { IConnackPacket, IPublishPacket, Packet, QoS } from 'mqtt-packet';
import {
  ConnackError,
  type MqttTransport,
  type PublishOptions,
  type SubscriptionGrant,
  type TransportOptions,
} from './transport.js';

interface Inflight {
  packet: Packet & { messageId: number };
  resolve: (granted: SubscriptionGrant[]) => void;
  reject: (err: Error) => void;
}

export class PacketTransport extends EventEmitter implements MqttTransport {
  connected = false;
  stream: Socket | null = null;
  private readonly host: string;
  private readonly port: number;
  private nextId = 0;
  private readonly inflight = new Map<number, Inflight>();
  private readonly queuedQos0: Packet[] = [];
  private readonly subscribed = new Map<string, QoS>();
  private ending = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingOutstanding = false;

  constructor(
    url: string,
    private readonly options: TransportOptions,
  ) {
    super();
    const u = new URL(url);
    if (u.protocol !== 'mqtt:' && u.protocol !== 'tcp:') {
      throw new TypeError(`unsupported broker URL ${url}: only mqtt:// here (TLS needs mqtt.js)`);
    }
    this.host = u.hostname;
    this.port = u.port ? Number(u.port) : 1883;
    this.open();
  }

  publishAsync(topic: string, payload: Buffer, opts: PublishOptions): Promise<void> {
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic,
      payload,
      qos: opts.qos,
      retain: opts.retain ?? false,
      dup: false,
      ...(this.v5 && opts.properties ? { properties: opts.properties } : {}),
    };
    if (opts.qos === 0) {
      if (this.connected) this.write(packet);
      else this.queuedQos0.push(packet);
      return Promise.resolve();
    }
    return this.send(packet).then(() => undefined);
  }

  async subscribeAsync(filters: string[], opts: { qos: QoS }): Promise<SubscriptionGrant[]> {
    const granted = await this.send({
      cmd: 'subscribe',
      subscriptions: filters.map((topic) => ({ topic, qos: opts.qos })),
    });
    granted.forEach((g) => {
      if (g.qos < 0x80) this.subscribed.set(g.topic, opts.qos);
    });
    return granted;
  }

  async unsubscribeAsync(filters: string[]): Promise<void> {
    filters.forEach((f) => this.subscribed.delete(f));
    await this.send({ cmd: 'unsubscribe', unsubscriptions: filters });
  }

  endAsync(force = false): Promise<void> {
    this.ending = true;
    this.clearTimers();
    const sock = this.stream;
    const done = new Promise<void>((resolve) => {
      if (!sock || sock.destroyed) resolve();
      else sock.once('close', () => resolve());
    });
    if (sock && !sock.destroyed) {
      if (this.connected && !force) {
        this.write({ cmd: 'disconnect' });
        sock.end();
      } else {
        sock.destroy();
      }
    }
    for (const f of this.inflight.values()) f.reject(new Error('MQTT client ended'));
    this.inflight.clear();
    return done.then(() => {
      this.emit('end');
    });
  }

  private get v5(): boolean {
    return this.options.protocolVersion === 5;
  }

  private open(): void {
    const sock = tcpConnect({ host: this.host, port: this.port });
    this.stream = sock;
    const parser = mqttPacket.parser({ protocolVersion: this.options.protocolVersion });
    parser.on('packet', (p: Packet) => this.onPacket(p));
    parser.on('error', (err: Error) => {
      this.emit('error', err);
      sock.destroy();
    });
    sock.setNoDelay(true);
    sock.on('connect', () => {
      this.write(this.connectPacket());
      this.connectTimer = setTimeout(() => {
        this.emit('error', new Error(`no CONNACK within ${this.options.connectTimeout} ms`));
        sock.destroy();
      }, this.options.connectTimeout);
    });
    sock.on('data', (buf: Buffer) => parser.parse(buf));
    sock.on('error', (err: Error) => this.emit('error', err));
    sock.on('close', () => this.onClose(sock));
  }

  private connectPacket(): Packet {
    const o = this.options;
    return {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: o.protocolVersion,
      clientId: o.clientId,
      clean: o.clean,
      keepalive: o.keepalive,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.will ? { will: { ...o.will } } : {}),
      ...(this.v5 && o.maximumPacketSize
        ? { properties: { maximumPacketSize: o.maximumPacketSize } }
        : {}),
    };
  }

  private onPacket(p: Packet): void {
    switch (p.cmd) {
      case 'connack':
        return this.onConnack(p);
      case 'publish':
        if (p.qos === 1 && p.messageId !== undefined)
          this.write({ cmd: 'puback', messageId: p.messageId });
        if (p.qos === 2 && p.messageId !== undefined)
          this.write({ cmd: 'pubrec', messageId: p.messageId });
        this.emit(
          'message',
          p.topic,
          Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload),
          p,
        );
        return;
      case 'pubrel':
        if (p.messageId !== undefined) this.write({ cmd: 'pubcomp', messageId: p.messageId });
        return;
      case 'puback':
      case 'unsuback':
        return this.settle(p.messageId, []);
      case 'suback': {
        const sent = p.messageId !== undefined ? this.inflight.get(p.messageId) : undefined;
        const topics =
          sent?.packet.cmd === 'subscribe' ? sent.packet.subscriptions.map((s) => s.topic) : [];
        const granted = (p.granted as unknown[]).map((g, i) => ({
          topic: topics[i] ?? '',
          qos: typeof g === 'number' ? g : 0x80,
        }));
        return this.settle(p.messageId, granted);
      }
      case 'pingresp':
        this.pingOutstanding = false;
        return;
      default:
        return;
    }
  }

  private onConnack(p: IConnackPacket): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const code = p.reasonCode ?? p.returnCode ?? 0;
    if (code !== 0) {
      this.emit('error', new ConnackError(code));
      this.stream?.destroy();
      return;
    }
    this.connected = true;
    this.attempts = 0;
    this.startPing();
    if (this.subscribed.size > 0) {
      const pending = new Set(
        [...this.inflight.values()].flatMap((f) =>
          f.packet.cmd === 'subscribe' ? f.packet.subscriptions.map((s) => s.topic) : [],
        ),
      );
      const again = [...this.subscribed].filter(([t]) => !pending.has(t));
      if (again.length > 0) {
        this.write({
          cmd: 'subscribe',
          messageId: this.allocId(),
          subscriptions: again.map(([topic, qos]) => ({ topic, qos })),
        });
      }
    }
    for (const f of this.inflight.values()) {
      if (f.packet.cmd === 'publish') f.packet.dup = true;
      this.write(f.packet);
    }
    for (const p0 of this.queuedQos0.splice(0)) this.write(p0);
    this.emit('connect', p);
  }

  private onClose(sock: Socket): void {
    if (this.stream !== sock) return;
    const wasConnected = this.connected;
    this.connected = false;
    this.stream = null;
    this.clearTimers();
    this.emit('close');
    if (this.ending || this.options.reconnectPeriod <= 0) return;
    if (wasConnected) this.emit('offline');
    const base = Math.min(
      this.options.reconnectPeriodMax,
      this.options.reconnectPeriod * 2 ** this.attempts,
    );
    this.attempts = Math.min(this.attempts + 1, 16);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.ending) return;
      this.emit('reconnect');
      this.open();
    }, delay);
  }

  private send(packet: Packet): Promise<SubscriptionGrant[]> {
    return new Promise((resolve, reject) => {
      if (this.ending) {
        reject(new Error('MQTT client ended'));
        return;
      }
      const withId = { ...packet, messageId: this.allocId() } as Packet & { messageId: number };
      this.inflight.set(withId.messageId, { packet: withId, resolve, reject });
      if (this.connected) this.write(withId);
    });
  }

  private settle(messageId: number | undefined, granted: SubscriptionGrant[]): void {
    if (messageId === undefined) return;
    const f = this.inflight.get(messageId);
    if (!f) return;
    this.inflight.delete(messageId);
    f.resolve(granted);
  }

  private allocId(): number {
    do {
      this.nextId = (this.nextId % 65535) + 1;
    } while (this.inflight.has(this.nextId));
    return this.nextId;
  }

  private write(packet: Packet): void {
    const sock = this.stream;
    if (!sock || sock.destroyed) return;
    sock.write(mqttPacket.generate(packet, { protocolVersion: this.options.protocolVersion }));
  }

  private startPing(): void {
    const ms = this.options.keepalive * 1000;
    if (ms <= 0) return;
    this.pingOutstanding = false;
    this.pingTimer = setInterval(() => {
      if (this.pingOutstanding) {
        this.emit('error', new Error('keepalive timeout: no PINGRESP'));
        this.stream?.destroy();
        return;
      }
      this.pingOutstanding = true;
      this.write({ cmd: 'pingreq' });
    }, ms);
  }

  private clearTimers(): void {
    for (const t of [this.reconnectTimer, this.connectTimer]) if (t) clearTimeout(t);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.reconnectTimer = this.connectTimer = this.pingTimer = null;
  }
}

export function connectPacketTransport(url: string, options: TransportOptions): MqttTransport {
  return new PacketTransport(url, options);
}
