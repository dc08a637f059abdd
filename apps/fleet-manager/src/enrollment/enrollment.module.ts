import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import { DevicesModule } from '../devices/devices.module.js';
import { CaController } from './ca.controller.js';
import { CaStore } from './ca-store.js';
import { CERTIFICATE_AUTHORITY, type CertificateAuthority } from './certificate-authority.js';
import { EnrollmentController } from './enrollment.controller.js';
import { EnrollmentService } from './enrollment.service.js';

@Module({
  imports: [AuditModule, DevicesModule],
  providers: [
    CaStore,
    {
      // The configured CA, else the fleet CA from the database (created on first start).
      provide: CERTIFICATE_AUTHORITY,
      inject: [FLEET_CONFIG, CaStore],
      useFactory: (
        config: FleetConfig,
        store: CaStore,
      ): CertificateAuthority | Promise<CertificateAuthority> =>
        config.certificateAuthority ?? store.loadOrCreate(),
    },
    EnrollmentService,
  ],
  controllers: [EnrollmentController, CaController],
  exports: [EnrollmentService, CERTIFICATE_AUTHORITY], // the gRPC API (grpc/) serves enrollment too
})
export class EnrollmentModule {}
