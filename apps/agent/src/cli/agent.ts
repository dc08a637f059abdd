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
  if (config.brokerUrl && config.deviceId) {
    // Mirroring goes on with the restored state while the broker is away; the channel reconnects.
    try {
      const channel = await MqttControlChannel.connect({
        url: config.brokerUrl,
        deviceId: config.deviceId,
        applied: () => daemon.reconciler.applied,
      });
      daemon.attach(channel);
      process.stderr.write(`netmirror agent: ${config.deviceId} connected to ${config.brokerUrl}\n`);
    } catch (err) {
      process.stderr.write(`netmirror agent: control channel: ${(err as Error).message}\n`);
    }
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await daemon.stop();
  return 0;
}
