import type { Server } from 'node:http';
import { MirrorSession } from '../pipeline/index.js';
import type { MirrorSummary } from '../pipeline/index.js';
import { Reconciler, StateStore } from '../reconcile/index.js';
import type { ApplyResult, VersionedState } from '../reconcile/index.js';
import { openTap } from '../taps/index.js';
import { mirrorFamilies } from './agent-metrics.js';
import type { AgentConfig } from './config.js';
import { startHttpServer } from './http-server.js';
import type { MetricFamily } from '@netmirror/metrics';

/**
 * The link to the fleet manager, kept apart from the data path (balena's
 * split): it delivers desired state and carries reports and telemetry out.
 */
export interface ControlChannel {
  /** Registers the handler for desired state; the channel validates messages first. */
  onDesired(handler: (domain: string, desired: VersionedState) => void): void;
  report(domain: string, result: ApplyResult): Promise<void>;
  telemetry(snapshot: MirrorSummary): void;
  readonly connected: boolean;
  close(): Promise<void>;
}

/**
 * `netmirror agent`: the capture session, the reconciler that is the only
 * writer of "applied", the state on disk, health and metrics over HTTP, and
 * (when configured) the control channel. It starts mirroring with the last
 * applied state before the fleet manager has answered.
 */
export class AgentDaemon {
  private http: Server | null = null;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private control: ControlChannel | null = null;
  private readonly running: Promise<MirrorSummary>;
  httpPort = 0;

  private constructor(
    readonly config: AgentConfig,
    readonly session: MirrorSession,
    readonly reconciler: Reconciler,
  ) {
    this.running = session.run();
  }

  static async start(config: AgentConfig): Promise<AgentDaemon> {
    const session = new MirrorSession({
      tap: openTap(config.tap.uri),
      ruleSet: { destinations: {}, rules: [] },
      sinks: new Map(),
      defaultSinks: [],
      pace: config.tap.pps ? { pps: config.tap.pps } : undefined,
    });
    const daemon = new AgentDaemon(
      config,
      session,
      new Reconciler(session, new StateStore(config.stateDir)),
    );
    await daemon.reconciler.restore();
    const { server, port } = await startHttpServer(config.httpPort ?? 0, daemon);
    daemon.http = server;
    daemon.httpPort = port;
    return daemon;
  }

  /** Connects the control channel: desired state in, reports and telemetry out. */
  attach(control: ControlChannel): void {
    this.control = control;
    control.onDesired((domain, desired) => {
      void this.reconciler.apply(domain, desired).then((result) => control.report(domain, result));
    });
    const every = (this.config.telemetrySeconds ?? 10) * 1000;
    this.telemetryTimer = setInterval(() => control.telemetry(this.session.snapshot()), every);
  }

  health(): { ok: boolean } & Record<string, unknown> {
    const applied = Object.fromEntries(
      Object.entries(this.reconciler.applied).map(([d, s]) => [
        d,
        { version: s?.version, hash: s?.hash },
      ]),
    );
    return {
      ok: true,
      deviceId: this.config.deviceId ?? null,
      controlConnected: this.control?.connected ?? false,
      applied,
    };
  }

  metrics(): MetricFamily[] {
    return [
      ...mirrorFamilies(this.session.snapshot()),
      {
        name: 'netmirror_applied_version',
        help: 'Version of the desired state in effect, per domain.',
        type: 'gauge',
        samples: Object.entries(this.reconciler.applied).map(([domain, st]) => ({
          labels: { domain },
          value: st?.version ?? 0,
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
