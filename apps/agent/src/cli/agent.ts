import { parseArgs } from 'node:util';
import { MqttControlChannel } from '../control/index.js';
import { AgentDaemon, loadAgentConfig } from '../daemon/index.js';

const HELP = `Usage: netmirror agent --config FILE

Runs the appliance agent: captures from the configured tap, mirrors by the
last applied state (kept in stateDir, so it resumes after a reboot), takes
desired state from the fleet manager over MQTT (brokerUrl, deviceId) and
reports what is in effect, and serves GET /health and GET /metrics on httpPort.
`;

/** `netmirror agent`: runs until SIGINT/SIGTERM; returns the exit code. */
export async function runAgent(argv: string[]): Promise<number> {
  let config;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (!values.config) throw new Error('--config is required');
    config = loadAgentConfig(values.config);
  } catch (err) {
    process.stderr.write(`netmirror agent: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const daemon = await AgentDaemon.start(config);
  process.stderr.write(
    `netmirror agent: mirroring from ${config.tap.uri}; health and metrics on http://127.0.0.1:${daemon.httpPort}\n`,
  );
  let stopping = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = (delayMs: number): void => {
    const { brokerUrl, deviceId } = config;
    if (!brokerUrl || !deviceId || stopping) return;
    // Mirroring goes on with the restored state while the broker is away: keep trying, backing off.
    MqttControlChannel.connect({
      url: brokerUrl,
      deviceId,
      applied: () => daemon.reconciler.applied,
    })
      .then((channel) => {
        if (stopping) return void channel.close();
        daemon.attach(channel);
        process.stderr.write(`netmirror agent: ${deviceId} connected to ${brokerUrl}\n`);
      })
      .catch((err: Error) => {
        process.stderr.write(
          `netmirror agent: control channel: ${err.message}; retrying in ${delayMs / 1000} s\n`,
        );
        retry = setTimeout(() => connect(Math.min(delayMs * 2, 30_000)), delayMs);
      });
  };
  connect(1000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  stopping = true;
  if (retry) clearTimeout(retry);
  await daemon.stop();
  return 0;
}
