// Opening an MQTT session with protocol negotiation. 'auto' tries MQTT 5 and,
// if no v5 session comes up (the broker refuses the version, as aedes does,
// or drops the connection), tries 3.1.1. The version chosen sticks for
// reconnects.
import type {
  MqttTransport,
  ProtocolVersion,
  TransportFactory,
  TransportOptions,
} from './transport.js';

export type ProtocolChoice = 'auto' | ProtocolVersion;

export async function openSession(
  factory: TransportFactory,
  url: string,
  options: Omit<TransportOptions, 'protocolVersion'>,
  choice: ProtocolChoice,
  log: (msg: string) => void,
): Promise<{ transport: MqttTransport; version: ProtocolVersion }> {
  const versions: ProtocolVersion[] = choice === 'auto' ? [5, 4] : [choice];
  const failures: string[] = [];
  for (const version of versions) {
    const transport = factory(url, { ...options, protocolVersion: version });
    try {
      await firstConnect(transport, options.connectTimeout);
      return { transport, version };
    } catch (err) {
      failures.push(`MQTT ${version === 5 ? '5' : '3.1.1'}: ${(err as Error).message}`);
      await transport.endAsync(true).catch(() => undefined);
      if (version === 5 && choice === 'auto')
        log(`${url}: no MQTT 5 session (${(err as Error).message}); trying MQTT 3.1.1`);
    }
  }
  throw new Error(`cannot connect to ${url}: ${failures.join('; ')}`);
}

function firstConnect(transport: MqttTransport, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`no session within ${timeoutMs} ms`)),
      timeoutMs,
    );
    transport.on('connect', () => finish());
    transport.on('error', (err) => finish(err));
    transport.on('close', () => finish(new Error('connection closed before CONNACK')));
  });
}
