// Storage chosen by a URL:
//   sqlite:/var/lib/netmirror/fleet.db   better-sqlite3, a file (created if missing)
//   sqlite::memory:                      better-sqlite3, in memory (lost on close)
//   postgres://user@host:5432/db         PostgreSQL (postgresql:// too)
// The schema comes only from migrations, run at start; never `synchronize`.
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AuditEntry } from '../audit/audit-entry.entity.js';
import { Device } from '../devices/device.entity.js';
import { CertificateAuthorityRecord } from '../enrollment/certificate-authority.entity.js';
import { EnrollmentToken } from '../enrollment/enrollment-token.entity.js';
import { migrations } from './migrations/index.js';
import { AlertRecord } from '../alerts/alert-record.entity.js';
import { DeviceDesired } from '../device-state/device-desired.entity.js';
import { DeviceReported } from '../device-state/device-reported.entity.js';
import { DataKeyRecord } from '../keys/data-key.entity.js';
import { Policy } from '../policies/policy.entity.js';
import { PolicyVersion } from '../policies/policy-version.entity.js';
import { RolloutRecord } from '../rollouts/rollout.entity.js';
import { TelemetryRecord } from '../telemetry/telemetry-record.entity.js';
import { FirmwareImage } from '../firmware/firmware-image.entity.js';
import { FirmwareUpdate } from '../firmware/firmware-update.entity.js';

export const entities = [
  Device,
  EnrollmentToken,
  AuditEntry,
  CertificateAuthorityRecord,
  Policy,
  PolicyVersion,
  DeviceDesired,
  DeviceReported,
  RolloutRecord,
  DataKeyRecord,
  TelemetryRecord,
  AlertRecord,
  FirmwareImage,
  FirmwareUpdate,
];

export function dataSourceOptionsFromUrl(url: string): DataSourceOptions {
  const common = {
    entities,
    migrations,
    synchronize: false,
    migrationsRun: true,
    logging: false,
  } as const;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '')
      throw new Error(`database URL "${url}": expected sqlite:PATH or sqlite::memory:`);
    return path === ':memory:'
      ? { ...common, type: 'better-sqlite3', database: ':memory:' }
      : { ...common, type: 'better-sqlite3', database: path, enableWAL: true };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    return { ...common, type: 'postgres', url };
  }
  throw new Error(
    `database URL "${redactUrl(url)}": unsupported scheme (use sqlite:PATH or postgres://...)`,
  );
}

/** For logs and errors: never print a password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export async function openDataSource(url: string): Promise<DataSource> {
  const ds = new DataSource(dataSourceOptionsFromUrl(url));
  await ds.initialize(); // runs pending migrations (migrationsRun)
  if (ds.options.type === 'better-sqlite3') {
    await ds.query('PRAGMA foreign_keys = ON');
    await ds.query('PRAGMA busy_timeout = 5000');
  }
  return ds;
}
