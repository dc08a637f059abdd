import { Module } from '@nestjs/common';
import { ControlModule } from '../control/control.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { PoliciesModule } from '../policies/policies.module.js';
import { DeviceStateController } from './device-state.controller.js';
import { DeviceStateService } from './device-state.service.js';

@Module({
  imports: [ControlModule, PoliciesModule, DevicesModule],
  providers: [DeviceStateService],
  controllers: [DeviceStateController],
  exports: [DeviceStateService],
})
export class DeviceStateModule {}
