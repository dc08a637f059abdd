import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from './audit/audit.module.js';
import { BrokerModule } from './broker/broker.module.js';
import { FLEET_CONFIG, type FleetConfig } from './config.js';
import { DatabaseModule } from './database/database.module.js';
import { DevicesModule } from './devices/devices.module.js';
import { EnrollmentModule } from './enrollment/enrollment.module.js';
import { HealthModule } from './health/health.module.js';
import { AlertsModule } from './alerts/alerts.module.js';
import { ControlModule } from './control/control.module.js';
import { DeviceStateModule } from './device-state/device-state.module.js';
import { KeysModule } from './keys/keys.module.js';
import { PoliciesModule } from './policies/policies.module.js';
import { RolloutsModule } from './rollouts/rollouts.module.js';
import { TelemetryModule } from './telemetry/telemetry.module.js';
import { GrpcModule } from './grpc/grpc.module.js';
import { FirmwareModule } from './firmware/firmware.module.js';

@Global()
@Module({})
class ConfigModule {
  static forRoot(config: FleetConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: FLEET_CONFIG, useValue: config }],
      exports: [FLEET_CONFIG],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: FleetConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        BrokerModule,
        AuditModule,
        DevicesModule,
        EnrollmentModule,
        HealthModule,
        ControlModule,
        PoliciesModule,
        DeviceStateModule,
        RolloutsModule,
        KeysModule,
        TelemetryModule,
        AlertsModule,
        FirmwareModule,
        GrpcModule,
      ],
    };
  }
}
