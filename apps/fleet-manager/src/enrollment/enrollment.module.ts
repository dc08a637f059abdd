import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { EnrollmentController } from './enrollment.controller.js';
import { EnrollmentService } from './enrollment.service.js';

@Module({ imports: [AuditModule, DevicesModule], providers: [EnrollmentService], controllers: [EnrollmentController] })
export class EnrollmentModule {}
