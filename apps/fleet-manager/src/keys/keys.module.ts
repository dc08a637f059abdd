import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ControlModule } from '../control/control.module.js';
import { DeviceStateModule } from '../device-state/device-state.module.js';
import { KeysController } from './keys.controller.js';
import { KeysService } from './keys.service.js';

@Module({
  imports: [AuditModule, ControlModule, DeviceStateModule],
  providers: [KeysService],
  controllers: [KeysController],
  exports: [KeysService],
})
export class KeysModule {}
