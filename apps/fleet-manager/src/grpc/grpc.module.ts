// The gRPC API (FleetService from @netmirror/fleet-api) over the same
// services the REST controllers use. The server starts only when the
// configuration has `grpc` (startFleetManager's grpcPort).
import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { DeviceStateModule } from '../device-state/device-state.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { FirmwareModule } from '../firmware/firmware.module.js';
import { HealthModule } from '../health/health.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { PoliciesModule } from '../policies/policies.module.js';
import { RolloutsModule } from '../rollouts/rollouts.module.js';
import { TelemetryModule } from '../telemetry/telemetry.module.js';
import { AlertsGrpc } from './alerts.grpc.js';
import { AuditGrpc } from './audit.grpc.js';
import { DeviceStateGrpc } from './device-state.grpc.js';
import { DevicesGrpc } from './devices.grpc.js';
import { EnrollmentGrpc } from './enrollment.grpc.js';
import { FirmwareGrpc } from './firmware.grpc.js';
import { GrpcServer } from './grpc.server.js';
import { HealthGrpc } from './health.grpc.js';
import { KeysGrpc } from './keys.grpc.js';
import { PoliciesGrpc } from './policies.grpc.js';
import { RolloutsGrpc } from './rollouts.grpc.js';
import { TelemetryGrpc } from './telemetry.grpc.js';

@Module({
  imports: [
    DevicesModule,
    EnrollmentModule,
    AuditModule,
    HealthModule,
    PoliciesModule,
    RolloutsModule,
    DeviceStateModule,
    TelemetryModule,
    AlertsModule,
    KeysModule,
    FirmwareModule,
  ],
  providers: [
    DevicesGrpc,
    EnrollmentGrpc,
    AuditGrpc,
    HealthGrpc,
    PoliciesGrpc,
    RolloutsGrpc,
    DeviceStateGrpc,
    TelemetryGrpc,
    AlertsGrpc,
    KeysGrpc,
    FirmwareGrpc,
    GrpcServer,
  ],
  exports: [GrpcServer],
})
export class GrpcModule {}
