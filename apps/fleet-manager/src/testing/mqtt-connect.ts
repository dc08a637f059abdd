// One MQTT connection attempt with mqtt.js for the mqttTls tests: the
// client, or why it did not get a session (TLS refused, CONNACK refused, closed).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export async function tryConnect(url: string, opts: IClientOptions): Promise<MqttClient | string> {
  const c = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    protocolVersion: 4,
    ...opts,
  });
  const outcome = await new Promise<string | null>((resolve) => {
    c.once('connect', () => resolve(null));
    c.once('error', (e) => resolve(`error: ${e.message}`));
    c.once('close', () => resolve('closed before CONNACK'));
  });
  if (outcome === null) return c;
  await c.endAsync(true).catch(() => undefined);
  return outcome;
}
