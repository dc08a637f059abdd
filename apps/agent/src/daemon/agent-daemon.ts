import type { Server } from 'node:http';
import { KeyRing } from '@netmirror/crypto';
import type { DeviceKeys } from '@netmirror/crypto';
import { FIRMWARE_INSTALL, REPORTED_DOMAINS } from '@netmirror/protocol';
import type { CommandHandler, KeyDelivery } from '@netmirror/protocol';
import { DeviceKeySet, KeySetStore } from '../keys/index.js';
import type { KeyRingView } from '../keys/index.js';
import type { CaptureSession, MirrorSummary } from '../pipeline/index.js';
import { openCaptureSession } from '../capture-session.js';
import { firmwareInstallHandler } from '../hardware/index.js';
import { Reconciler, StateStore } from '../reconcile/index.js';
import type { AppliedStates, ApplyResult, VersionedState } from '../reconcile/index.js';
import { mirrorFamilies } from './agent-metrics.js';
import type { AgentConfig } from './config.js';
import { tapUris } from './config.js';
import { startHttpServer } from './http-server.js';
import type { MetricFamily } from '@netmirror/metrics';

/**
 * The link to the fleet manager, kept apart from the data path (balena's
 * split): it delivers desired state and carries reports and telemetry out.
 */
export interface ControlChannel {
  /** Registers the handler for desired state; the channel validates messages first. */
  onDesired(handler: (domain: string, desired: VersionedState) => void): void;
  /** Registers the handler for key deliveries to this device (validated, version-checked). */
  onKeys(handler: (delivery: KeyDelivery) => void): void;
  report(domain: string, result: ApplyResult): Promise<void>;
  /** Registers the handler of one command (e.g. firmware.install); the channel refuses the others. */
  onCommand?(name: string, handler: CommandHandler): void;
  telemetry(snapshot: MirrorSummary): void;
  readonly connected: boolean;
  close(): Promise<void>;
}

/** What the daemon needs of the device identity: its id and the key data keys are wrapped to. */
export type DaemonIdentity = { deviceId: string; keys: DeviceKeys };

export interface DaemonOptions {
  /** The enrolled identity, if the device has one yet (else see adoptIdentity). */
  identity?: DaemonIdentity | null;
  /** Where the daemon's own lines go (default stderr). */
  log?: (line: string) => void;
}

/**
 * `netmirror agent`: the capture session, the reconciler that is the only
 * writer of "applied" for policy and retention, the device's key set (the
 * keys domain), the state on disk, health and metrics over HTTP, and (when
 * configured) the control channel. It starts mirroring with the last
 * applied state before the fleet manager has answered.
 */
export class AgentDaemon {
  private http: Server | null = null;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private control: ControlChannel | null = null;
  private keySet: DeviceKeySet | null = null;
  private identity: DaemonIdentity | null = null;
  private readonly noKeys: KeyRingView = new KeyRing();
  private readonly running: Promise<MirrorSummary>;
  private readonly log: (line: string) => void;
  httpPort = 0;

  private constructor(
    readonly config: AgentConfig,
    readonly session: CaptureSession,
    readonly reconciler: Reconciler,
    options: DaemonOptions,
  ) {
    this.log = options.log ?? ((line) => process.stderr.write(`netmirror agent: ${line}\n`));
    this.running = session.run();
  }

  static async start(config: AgentConfig, options: DaemonOptions = {}): Promise<AgentDaemon> {
    const session = openCaptureSession(tapUris(config), {
      ruleSet: { destinations: {}, rules: [] },
      sinks: new Map(),
      defaultSinks: [],
      pace: config.tap?.pps ? { pps: config.tap.pps } : undefined,
    });
    const daemon = new AgentDaemon(
      config,
      session,
      new Reconciler(session, new StateStore(config.stateDir)),
      options,
    );
    await daemon.reconciler.restore();
    if (options.identity) daemon.adoptIdentity(options.identity);
    const { server, port } = await startHttpServer(config.httpPort ?? 0, daemon);
    daemon.http = server;
    daemon.httpPort = port;
    return daemon;
  }

  /**
   * Takes on the device identity (at start, or once enrollment completes):
   * from then on key deliveries can be opened, and the key set saved before
   * a restart is loaded back.
   */
  adoptIdentity(identity: DaemonIdentity): void {
    if (this.identity) throw new Error(`the daemon already runs as ${this.identity.deviceId}`);
    this.identity = identity;
    this.keySet = new DeviceKeySet(
      { deviceId: identity.deviceId, x25519PrivateKey: identity.keys.x25519.privateKey },
      new KeySetStore(this.config.stateDir),
    );
    const restored = this.keySet.restore();
    if (restored?.status === 'applied')
      this.log(`keys: restored version ${restored.version} (${this.keySet.ring.size} keys)`);
    else if (restored?.status === 'error')
      this.log(
        `keys: the saved key set was dropped (${restored.error}); waiting for a new delivery`,
      );
  }

  /** The device's data keys in effect, read-only (empty until a key set is applied). */
  get keys(): KeyRingView {
    return this.keySet?.ring ?? this.noKeys;
  }

  /** The device id in use: the enrolled one, else the configured one. */
  get deviceId(): string | null {
    return this.identity?.deviceId ?? this.config.deviceId ?? null;
  }

  /** What is in effect, per domain: policy and retention (reconciler) and keys (key set). */
  get applied(): AppliedStates {
    const keys = this.keySet?.applied;
    return keys ? { ...this.reconciler.applied, keys } : this.reconciler.applied;
  }

  /** Applies a key delivery; the result is what to report. */
  applyKeys(delivery: KeyDelivery): ApplyResult {
    if (!this.keySet) {
      return {
        status: 'error',
        version: delivery.version,
        hash: delivery.hash,
        error: 'the device has no identity yet (not enrolled): it cannot open key deliveries',
      };
    }
    const result = this.keySet.apply(delivery);
    if (result.status === 'applied')
      this.log(`keys: version ${result.version} in effect (${this.keySet.ring.size} keys)`);
    else this.log(`keys: version ${delivery.version} refused: ${result.error}`);
    return result;
  }

  /** Connects the control channel: desired state and keys in, reports and telemetry out. */
  attach(control: ControlChannel): void {
    this.control = control;
    // A report that cannot be sent (the channel closing) is logged, never an unhandled rejection.
    const report = (domain: string, result: ApplyResult): void =>
      void control
        .report(domain, result)
        .catch((err: Error) => this.log(`reported/${domain} not sent: ${err.message}`));
    control.onDesired((domain, desired) => {
      void this.reconciler.apply(domain, desired).then((result) => report(domain, result));
    });
    control.onKeys((delivery) => report('keys', this.applyKeys(delivery)));
    // The handler itself refuses when the session is not a hardware tap board.
    control.onCommand?.(FIRMWARE_INSTALL, firmwareInstallHandler(this.session, { log: this.log }));
    const every = (this.config.telemetrySeconds ?? 10) * 1000;
    this.telemetryTimer = setInterval(() => control.telemetry(this.session.snapshot()), every);
  }

  health(): { ok: boolean } & Record<string, unknown> {
    const applied = Object.fromEntries(
      Object.entries(this.applied).map(([d, s]) => [d, { version: s?.version, hash: s?.hash }]),
    );
    return {
      ok: true,
      deviceId: this.deviceId,
      enrolled: this.identity !== null,
      controlConnected: this.control?.connected ?? false,
      applied,
      keys: { version: this.keySet?.applied?.version ?? 0, count: this.keys.size },
    };
  }

  metrics(): MetricFamily[] {
    return [
      ...mirrorFamilies(this.session.snapshot()),
      {
        name: 'netmirror_applied_version',
        help: 'Version of the desired state in effect, per domain.',
        type: 'gauge',
        // Every domain, 0 before anything was applied, so a dashboard sees the series from the start.
        samples: REPORTED_DOMAINS.map((domain) => ({
          labels: { domain },
          value: this.applied[domain]?.version ?? 0,
        })),
      },
      {
        name: 'netmirror_process_resident_memory_bytes',
        help: 'Resident memory of the agent.',
        type: 'gauge',
        samples: [{ value: process.memoryUsage.rss() }],
      },
    ];
  }

  async stop(): Promise<MirrorSummary> {
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    await this.control?.close();
    this.session.stop();
    const summary = await this.running;
    await new Promise<void>((resolve) =>
      this.http ? this.http.close(() => resolve()) : resolve(),
    );
    return summary;
  }
}
