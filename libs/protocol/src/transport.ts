// The MQTT session ControlClient runs over: the subset of mqtt.js's MqttClient
// (v5) that ControlClient uses, with the same names (mqttjs-transport.ts).
import type { IConnackPacket, IPublishPacket, QoS, UserProperties } from 'mqtt-packet';
import type { Duplex } from 'node:stream';

export type ProtocolVersion = 4 | 5;

export interface PublishProperties {
  messageExpiryInterval?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserProperties;
  contentType?: string;
}

export interface PublishOptions {
  qos: QoS;
  retain?: boolean;
  /** Ignored on MQTT 3.1.1. */
  properties?: PublishProperties;
}

export interface WillOptions {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
}

export interface TransportOptions {
  clientId: string;
  protocolVersion: ProtocolVersion;
  /** Seconds; 0 disables. */
  keepalive: number;
  /** First reconnect delay (ms); 0 disables reconnecting. */
  reconnectPeriod: number;
  /** Cap of the exponential reconnect backoff (ms). */
  reconnectPeriodMax: number;
  /** Give up on a CONNACK after this long (ms). */
  connectTimeout: number;
  clean: boolean;
  will?: WillOptions;
  username?: string;
  password?: Buffer;
  /** MQTT 5: the largest packet we accept; the broker drops larger ones for us. */
  maximumPacketSize?: number;
  /** mqtts:// only: mutual TLS (see TlsClientCredentials). */
  tls?: TlsClientCredentials;
}

/**
 * The client side of mutual TLS: the CA the broker's certificate must chain
 * to, and this client's certificate and private key (PEM). The broker's
 * certificate is always verified (chain and host name); there is no way to
 * turn that off.
 */
export interface TlsClientCredentials {
  /** CA certificate(s), PEM: the only roots the broker's certificate may chain to. */
  ca: string;
  /** This client's certificate, PEM. */
  cert: string;
  /** Its private key, PEM. */
  key: string;
  /** The name checked against the broker's certificate; default the URL's host. */
  servername?: string;
}

export interface SubscriptionGrant {
  topic: string;
  /** 0-2 granted, 128 (or any >= 0x80 on MQTT 5) refused. */
  qos: number;
}

export interface MqttTransport {
  readonly connected: boolean;
  /** The socket of the current connection, if any (tests destroy it to simulate a crash). */
  readonly stream: Duplex | null;
  publishAsync(topic: string, payload: Buffer, opts: PublishOptions): Promise<void>;
  subscribeAsync(filters: string[], opts: { qos: QoS }): Promise<SubscriptionGrant[]>;
  unsubscribeAsync(filters: string[]): Promise<void>;
  /** force: drop the connection without DISCONNECT, so the broker publishes the Will. */
  endAsync(force?: boolean): Promise<void>;
  on(event: 'connect', cb: (connack: IConnackPacket) => void): this;
  on(event: 'message', cb: (topic: string, payload: Buffer, packet: IPublishPacket) => void): this;
  on(event: 'reconnect' | 'close' | 'offline' | 'end', cb: () => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
}

export type TransportFactory = (url: string, options: TransportOptions) => MqttTransport;
