import { parseArgs } from 'node:util';
import { exportDeviceKeys } from '@netmirror/crypto';
import { TopicTree, type TlsClientCredentials } from '@netmirror/protocol';
import { MqttControlChannel } from '../control/index.js';
import { AgentDaemon, loadAgentConfig, tapUris } from '../daemon/index.js';
import type { AgentConfig } from '../daemon/index.js';
import {
  enrollDevice,
  EnrollmentAborted,
  EnrollmentError,
  enrollWithRetry,
  IdentityStore,
  newEnrollmentCandidate,
} from '../enroll/index.js';
import type { DeviceIdentity, EnrollmentCandidate, EnrollmentRequest } from '../enroll/index.js';
import { AGENT_VERSION } from '../version.js';
import { openSerialTransport } from '@netmirror/serial-link';
import { AgentAppliance, ConsoleService } from '../console/index.js';
import type { AgentApplianceHooks } from '../console/index.js';

const HELP = `Usage: netmirror agent --config FILE

Runs the appliance agent: captures from the configured tap, mirrors by the
last applied state (kept in stateDir, so it resumes after a reboot), takes
desired state and data keys from the fleet manager over MQTT (brokerUrl,
deviceId) and reports what is in effect, and serves GET /health and
GET /metrics on httpPort.

On first start with fleet: { url, enrollmentToken [, caFingerprint] } it
enrolls: makes its keys, gets its certificate, and keeps its identity
(deviceId, brokerUrl, keys, certificates) in stateDir for every later start.
With console: { port } it also serves the provisioning console on that serial
port (see netmirror provision). Exit code 2: a bad configuration, or an
enrollment the fleet manager refused; 3: a factory reset from the console
(start it again: it comes up unprovisioned).
`;

const log = (line: string): void => void process.stderr.write(`netmirror agent: ${line}\n`);

/** `netmirror agent`: runs until SIGINT/SIGTERM; returns the exit code. */
export async function runAgent(argv: string[]): Promise<number> {
  let config: AgentConfig;
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
  let identity: DeviceIdentity | null;
  try {
    identity = new IdentityStore(config.stateDir).load();
  } catch (err) {
    log((err as Error).message);
    return 2;
  }

  // First start: one attempt before the data path starts, so a refused token
  // exits at once with nothing written. If the fleet manager is unreachable,
  // mirroring starts (with whatever state was restored) and enrollment goes on
  // retrying in the background.
  const enrollment = pendingEnrollment(config, identity);
  let firstFailure: EnrollmentError | null = null;
  if (enrollment) {
    try {
      identity = await enrollDevice(enrollment.request, enrollment.store, enrollment.candidate);
      log(`enrolled as ${identity.deviceId} with ${enrollment.request.fleetUrl}`);
    } catch (err) {
      if (!(err instanceof EnrollmentError && err.retryable)) return refused(err);
      firstFailure = err;
    }
  }

  const stop = new AbortController();
  const stopped = untilSignal(stop.signal);
  let daemon: AgentDaemon;
  try {
    daemon = await AgentDaemon.start(withIdentity(config, identity), { identity, log });
  } catch (err) {
    // A tap that cannot open (no such interface, bad options, no permission) stops here, plainly.
    log(`cannot start: ${(err as Error).message}`);
    return 1;
  }
  log(
    `mirroring from ${tapUris(config).join(' + ')}; health and metrics on http://127.0.0.1:${daemon.httpPort}`,
  );
  const control = new ControlConnector(daemon);
  let current = identity;
  let wiped: (code: number) => void = () => undefined;
  const factoryReset = new Promise<number>((resolve) => (wiped = resolve));
  let serialConsole: ConsoleService | null = null;
  if (config.console) {
    try {
      serialConsole = await openConsole(config, {
        identity: () => current,
        enrolled: (id) => {
          current = id;
          log(`enrolled as ${id.deviceId} with ${id.fleetUrl} (console)`);
          daemon.adoptIdentity(id);
          control.start(withIdentity(config, id), id);
        },
        connected: () => daemon.health().controlConnected === true,
        wiped: () => {
          log(
            `factory reset: state wiped; exiting with ${RESTART_EXIT} so the supervisor starts it empty`,
          );
          wiped(RESTART_EXIT);
        },
      });
      log(`console on ${config.console.port}`);
    } catch (err) {
      log(`console: ${(err as Error).message}`);
    }
  }
  let exitCode: Promise<number> = Promise.race([stopped, factoryReset]);
  if (enrollment && firstFailure) {
    const outcome = enrollWithRetry(enrollment.request, enrollment.store, {
      candidate: enrollment.candidate,
      previousFailure: firstFailure,
      signal: stop.signal,
      log,
    }).then(
      (id) => {
        current = id;
        log(`enrolled as ${id.deviceId} with ${id.fleetUrl}`);
        daemon.adoptIdentity(id);
        control.start(withIdentity(config, id), id);
        return null;
      },
      (err: unknown) => (err instanceof EnrollmentAborted ? null : refused(err)),
    );
    // A refusal that comes later (the token expired while we waited) ends the agent too.
    exitCode = Promise.race([exitCode, outcome.then((code) => code ?? exitCode)]);
  } else {
    control.start(withIdentity(config, identity), identity);
  }
  const code = await exitCode;
  stop.abort();
  await serialConsole?.close().catch(() => undefined);
  control.stop();
  await daemon.stop();
  return code;
}

/** Exit code after a factory reset: the supervisor (systemd Restart=always) starts the agent again, empty. */
const RESTART_EXIT = 3;

async function openConsole(
  config: AgentConfig,
  hooks: AgentApplianceHooks,
): Promise<ConsoleService> {
  const c = config.console!;
  const transport = await openSerialTransport(c.port, c.baud ?? 115200);
  return new ConsoleService(transport, new AgentAppliance(config, hooks), log);
}

/** Resolves with exit code 0 on SIGINT or SIGTERM; the handlers go when `done` aborts. */
function untilSignal(done: AbortSignal): Promise<number> {
  return new Promise<number>((resolve) => {
    const onSignal = (): void => resolve(0);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    done.addEventListener('abort', () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  });
}

/** What first-start enrollment needs, or null when the device has an identity or no token. */
function pendingEnrollment(
  config: AgentConfig,
  identity: DeviceIdentity | null,
): {
  request: EnrollmentRequest;
  store: IdentityStore;
  candidate: EnrollmentCandidate;
} | null {
  const fleet = config.fleet;
  if (identity || !fleet?.enrollmentToken) return null;
  return {
    request: {
      fleetUrl: fleet.url,
      token: fleet.enrollmentToken,
      caFingerprint: fleet.caFingerprint,
      agentVersion: AGENT_VERSION,
    },
    store: new IdentityStore(config.stateDir),
    candidate: newEnrollmentCandidate(config.deviceId),
  };
}

/**
 * The identity completes and overrides the configuration: its deviceId is
 * the one the certificate names, so it wins over a configured one; its
 * brokerUrl is used when the configuration names none (an operator may
 * point the agent at another broker, e.g. through NAT).
 */
export function withIdentity(config: AgentConfig, identity: DeviceIdentity | null): AgentConfig {
  if (!identity) return config;
  if (config.deviceId && config.deviceId !== identity.deviceId)
    log(
      `deviceId ${config.deviceId} in the configuration is ignored: enrolled as ${identity.deviceId}`,
    );
  return {
    ...config,
    deviceId: identity.deviceId,
    brokerUrl: config.brokerUrl ?? identity.brokerUrl,
  };
}

function refused(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  log(`enrollment refused, nothing was stored: ${message}`);
  return 2;
}

/**
 * Connects the control channel, retrying with backoff while the broker is
 * away; mirroring goes on with the restored state meanwhile.
 */
class ControlConnector {
  private stopping = false;
  private retry: NodeJS.Timeout | null = null;
  private topics: TopicTree | undefined;
  private tls: TlsClientCredentials | undefined;

  constructor(private readonly daemon: AgentDaemon) {}

  start(config: AgentConfig, identity: DeviceIdentity | null): void {
    const { brokerUrl, deviceId } = config;
    if (!brokerUrl || !deviceId) return;
    this.topics = config.topicRoot ? new TopicTree(config.topicRoot) : undefined;
    if (brokerTls(brokerUrl)) {
      if (!identity) {
        log(
          `control channel: ${brokerUrl} needs a client certificate; enroll first (fleet.enrollmentToken)`,
        );
        return;
      }
      this.tls = mqttTlsCredentials(identity);
    }
    this.connect(brokerUrl, deviceId, 1000);
  }

  stop(): void {
    this.stopping = true;
    if (this.retry) clearTimeout(this.retry);
  }

  private connect(url: string, deviceId: string, delayMs: number): void {
    if (this.stopping) return;
    MqttControlChannel.connect({
      url,
      deviceId,
      agentVersion: AGENT_VERSION,
      applied: () => this.daemon.applied,
      topics: this.topics,
      ...(this.tls ? { tls: this.tls } : {}),
    })
      .then((channel) => {
        if (this.stopping) return void channel.close();
        this.daemon.attach(channel);
        log(`${deviceId} connected to ${url}`);
      })
      .catch((err: Error) => {
        log(`control channel: ${err.message}; retrying in ${delayMs / 1000} s`);
        this.retry = setTimeout(
          () => this.connect(url, deviceId, Math.min(delayMs * 2, 30_000)),
          delayMs,
        );
      });
  }
}

/** mqtts:// (and its aliases): the broker wants mutual TLS. */
function brokerTls(url: string): boolean {
  return /^(mqtts|ssl|tls):/i.test(url);
}

/**
 * Mutual TLS with the enrolled identity: the device certificate and its TLS
 * key, and the pinned fleet CA as the only root the broker's certificate may
 * chain to.
 */
export function mqttTlsCredentials(identity: DeviceIdentity): TlsClientCredentials {
  return {
    ca: identity.caPem,
    cert: identity.certificatePem,
    key: exportDeviceKeys(identity.keys).tls,
  };
}
