import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { HealthController } from './health.controller.js';
import { MetricsService } from './metrics.service.js';

@Module({
  imports: [DevicesModule],
  providers: [MetricsService],
  controllers: [HealthController],
  exports: [MetricsService],
})
export class HealthModule {}
