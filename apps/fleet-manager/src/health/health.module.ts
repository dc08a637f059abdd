import { Module } from '@nestjs/common';
import { ControlModule } from '../control/control.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { HealthController } from './health.controller.js';
import { HealthService } from './health.service.js';
import { MetricsService } from './metrics.service.js';

@Module({
  imports: [DevicesModule, ControlModule],
  providers: [HealthService, MetricsService],
  controllers: [HealthController],
  exports: [HealthService, MetricsService],
})
export class HealthModule {}
