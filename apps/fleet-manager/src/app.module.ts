import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from './audit/audit.module.js';
import { BrokerModule } from './broker/broker.module.js';
import { FLEET_CONFIG, type FleetConfig } from './config.js';
import { DatabaseModule } from './database/database.module.js';
import { DevicesModule } from './devices/devices.module.js';
import { EnrollmentModule } from './enrollment/enrollment.module.js';
import { HealthModule } from './health/health.module.js';

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
      ],
    };
  }
}
