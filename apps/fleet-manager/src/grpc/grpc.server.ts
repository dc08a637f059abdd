// The gRPC server: a @grpc/grpc-js Server carrying FleetService, started
// once the application (database, CA, broker) is up and stopped first on
// shutdown, letting calls in flight finish while the database is still open.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { FleetServiceService, type FleetServiceServer } from '@netmirror/fleet-api';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import { MAX_IMAGE_BYTES } from '../firmware/firmware-images.service.js';
import { AlertsGrpc } from './alerts.grpc.js';
import { AuditGrpc } from './audit.grpc.js';
import { DeviceStateGrpc } from './device-state.grpc.js';
import { DevicesGrpc } from './devices.grpc.js';
import { EnrollmentGrpc } from './enrollment.grpc.js';
import { FirmwareGrpc } from './firmware.grpc.js';
import { HealthGrpc } from './health.grpc.js';
import { KeysGrpc } from './keys.grpc.js';
import { PoliciesGrpc } from './policies.grpc.js';
import { RolloutsGrpc } from './rollouts.grpc.js';
import { TelemetryGrpc } from './telemetry.grpc.js';

/** How long shutdown waits for calls in flight before cutting them off. */
const DRAIN_MS = 5000;
/**
 * The largest request taken (grpc-js's default is 4 MiB): an UploadFirmware
 * of the largest image REST takes, plus room for its envelope. A larger one
 * is refused by grpc-js with RESOURCE_EXHAUSTED before it is read whole; one
 * just over MAX_IMAGE_BYTES by the handler, with RESOURCE_EXHAUSTED too.
 */
const MAX_REQUEST_BYTES = MAX_IMAGE_BYTES + 64 * 1024;

@Injectable()
export class GrpcServer
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly log = new Logger('Grpc');
  private server: Server | null = null;
  private boundUrl: string | null = null;

  constructor(
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
    @Inject(DevicesGrpc) private readonly devices: DevicesGrpc,
    @Inject(EnrollmentGrpc) private readonly enrollment: EnrollmentGrpc,
    @Inject(AuditGrpc) private readonly audit: AuditGrpc,
    @Inject(HealthGrpc) private readonly health: HealthGrpc,
    @Inject(PoliciesGrpc) private readonly policies: PoliciesGrpc,
    @Inject(RolloutsGrpc) private readonly rollouts: RolloutsGrpc,
    @Inject(DeviceStateGrpc) private readonly state: DeviceStateGrpc,
    @Inject(TelemetryGrpc) private readonly telemetry: TelemetryGrpc,
    @Inject(AlertsGrpc) private readonly alerts: AlertsGrpc,
    @Inject(KeysGrpc) private readonly keys: KeysGrpc,
    @Inject(FirmwareGrpc) private readonly firmware: FirmwareGrpc,
  ) {}

  /** Every RPC of FleetService (tsc checks none is missing). */
  implementation(): FleetServiceServer {
    return {
      ...this.devices.handlers(),
      ...this.state.handlers(),
      ...this.enrollment.handlers(),
      ...this.audit.handlers(),
      ...this.health.handlers(),
      ...this.policies.handlers(),
      ...this.rollouts.handlers(),
      ...this.telemetry.handlers(),
      ...this.alerts.handlers(),
      ...this.keys.handlers(),
      ...this.firmware.handlers(),
    };
  }

  /** host:port the server listens on (e.g. 127.0.0.1:50051), or null when gRPC is off. */
  url(): string | null {
    return this.boundUrl;
  }

  async onApplicationBootstrap(): Promise<void> {
    const cfg = this.config.grpc;
    if (!cfg) return;
    const server = new Server({ 'grpc.max_receive_message_length': MAX_REQUEST_BYTES });
    server.addService(FleetServiceService, this.implementation());
    const host = cfg.host.includes(':') && !cfg.host.startsWith('[') ? `[${cfg.host}]` : cfg.host;
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${host}:${cfg.port}`, ServerCredentials.createInsecure(), (err, p) =>
        err
          ? reject(new Error(`gRPC: cannot listen on ${host}:${cfg.port}: ${err.message}`))
          : resolve(p),
      ),
    );
    this.server = server;
    this.boundUrl = `${host}:${port}`;
    this.log.log(`gRPC listening on ${this.boundUrl}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, DRAIN_MS);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.server = null;
  }

  onApplicationShutdown(): void {
    this.server?.forceShutdown(); // only if beforeApplicationShutdown did not run
    this.server = null;
  }
}
