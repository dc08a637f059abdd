import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { DeviceStateModule } from '../device-state/device-state.module.js';
import { PoliciesModule } from '../policies/policies.module.js';
import { RolloutsController } from './rollouts.controller.js';
import { RolloutsService } from './rollouts.service.js';

@Module({
  imports: [AuditModule, PoliciesModule, DeviceStateModule],
  providers: [RolloutsService],
  controllers: [RolloutsController],
  exports: [RolloutsService],
})
export class RolloutsModule {}
