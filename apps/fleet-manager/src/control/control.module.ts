import { Module } from '@nestjs/common';
import { BrokerModule } from '../broker/broker.module.js';
import { ControlService } from './control.service.js';

@Module({
  imports: [BrokerModule],
  providers: [ControlService],
  exports: [ControlService],
})
export class ControlModule {}
