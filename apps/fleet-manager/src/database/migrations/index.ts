// Every migration, in order. Add new ones at the end; never edit a released one.
import type { MigrationInterface } from 'typeorm';
import { InitialSchema1751400000000 } from './1751400000000-initial-schema.js';
import { CertificateAuthority1751500000000 } from './1751500000000-certificate-authority.js';
import { ControlLoop1751600000000 } from './1751600000000-control-loop.js';
import { TelemetryJson1751700000000 } from './1751700000000-telemetry-json.js';
import { Firmware1751800000000 } from './1751800000000-firmware.js';

export const migrations: Array<new () => MigrationInterface> = [
  InitialSchema1751400000000,
  CertificateAuthority1751500000000,
  ControlLoop1751600000000,
  TelemetryJson1751700000000,
  Firmware1751800000000,
];
