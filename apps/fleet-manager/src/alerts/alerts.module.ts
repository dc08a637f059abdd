import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ControlModule } from '../control/control.module.js';
import { AlertsController } from './alerts.controller.js';
import { AlertsService } from './alerts.service.js';

@Module({
  imports: [AuditModule, ControlModule],
  providers: [AlertsService],
  controllers: [AlertsController],
  exports: [AlertsService],
})
export class AlertsModule {}
