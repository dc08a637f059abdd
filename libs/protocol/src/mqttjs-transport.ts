// The MQTT session over mqtt.js: MqttTransport is the subset of its client
// that ControlClient uses, so this is a thin adapter. mqtt.js reconnects at a
// fixed period; the adapter doubles it after each failed attempt up to
// `reconnectPeriodMax` and starts again from the first period on success.
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Duplex } from 'node:stream';
import type { MqttTransport, TransportFactory } from './transport.js';

export const connectMqttJs: TransportFactory = (url, o) => {
  const options: IClientOptions = {
    clientId: o.clientId,
    protocolVersion: o.protocolVersion,
    keepalive: o.keepalive,
    reconnectPeriod: o.reconnectPeriod,
    connectTimeout: o.connectTimeout,
    clean: o.clean,
    username: o.username,
    password: o.password,
    resubscribe: true,
    will: o.will && {
      topic: o.will.topic,
      payload: o.will.payload,
      qos: o.will.qos,
      retain: o.will.retain,
    },
    properties:
      o.protocolVersion === 5 && o.maximumPacketSize
        ? { maximumPacketSize: o.maximumPacketSize }
        : undefined,
  };
  if (o.tls) {
    if (!/^(mqtts|ssl|tls|wss):/i.test(url))
      throw new TypeError(`TLS credentials need an mqtts:// URL, not ${url}`);
    Object.assign(options, {
      ca: o.tls.ca,
      cert: o.tls.cert,
      key: o.tls.key,
      rejectUnauthorized: true,
      ...(o.tls.servername !== undefined ? { servername: o.tls.servername } : {}),
    });
  }
  const client: MqttClient = mqtt.connect(url, options);
  client.on('reconnect', () => {
    const next = Math.min(
      (client.options.reconnectPeriod ?? o.reconnectPeriod) * 2,
      o.reconnectPeriodMax,
    );
    client.options.reconnectPeriod = Math.round(next * (0.8 + Math.random() * 0.4));
  });
  client.on('connect', () => {
    client.options.reconnectPeriod = o.reconnectPeriod;
  });
  const transport: MqttTransport = {
    get connected() {
      return client.connected;
    },
    get stream() {
      return (client.stream as Duplex | undefined) ?? null;
    },
    async publishAsync(topic, payload, opts) {
      await client.publishAsync(topic, payload, opts);
    },
    async subscribeAsync(filters, opts) {
      const granted = await client.subscribeAsync(filters, opts);
      return granted.map((g) => ({ topic: g.topic, qos: g.qos }));
    },
    async unsubscribeAsync(filters) {
      await client.unsubscribeAsync(filters);
    },
    async endAsync(force) {
      await client.endAsync(force === true);
    },
    on(event: string, cb: (...args: never[]) => void) {
      client.on(event as 'connect', cb as () => void);
      return transport;
    },
  };
  return transport;
};
