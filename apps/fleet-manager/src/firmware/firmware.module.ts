import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ControlModule } from '../control/control.module.js';
import { FirmwareController } from './firmware.controller.js';
import { FirmwareImagesService } from './firmware-images.service.js';
import { FirmwareUpdatesController } from './firmware-updates.controller.js';
import { FirmwareUpdatesService } from './firmware-updates.service.js';

@Module({
  imports: [AuditModule, ControlModule],
  providers: [FirmwareImagesService, FirmwareUpdatesService],
  controllers: [FirmwareController, FirmwareUpdatesController],
  exports: [FirmwareImagesService, FirmwareUpdatesService],
})
export class FirmwareModule {}
