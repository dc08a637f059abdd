// One enrolled appliance. Column types are chosen to map on both databases:
// `Date` becomes datetime (SQLite, UTC text) or timestamptz (PostgreSQL, by
// the migration); 'jsonb' is jsonb on PostgreSQL and JSON text on SQLite.
import { Column, Entity, PrimaryColumn } from 'typeorm';

export type Labels = Record<string, string>;

export interface DevicePublicKeys {
  /** SPKI PEM of the key in the device's TLS client certificate. */
  tls: string;
  /** SPKI PEM of the device's X25519 key; data keys are wrapped to it. */
  x25519: string;
}

@Entity({ name: 'devices' })
export class Device {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'jsonb' })
  labels!: Labels;

  @Column({ type: 'varchar', length: 200, nullable: true })
  site!: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  model!: string | null;

  @Column({ name: 'firmware_version', type: 'varchar', length: 100, nullable: true })
  firmwareVersion!: string | null;

  @Column({ name: 'agent_version', type: 'varchar', length: 100, nullable: true })
  agentVersion!: string | null;

  @Column({ name: 'public_keys', type: 'jsonb' })
  publicKeys!: DevicePublicKeys;

  @Column({ name: 'certificate_pem', type: 'text', nullable: true })
  certificatePem!: string | null;

  @Column({ name: 'last_seen_at', type: Date, nullable: true })
  lastSeenAt!: Date | null;

  @Column({ type: 'boolean', default: false })
  online!: boolean;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;
}
